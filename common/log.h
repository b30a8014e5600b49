/* common/log.h: structured log lines to stderr, one event per line. */
#ifndef SFU_COMMON_LOG_H
#define SFU_COMMON_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level_t;

/* Returns 0 and sets *out, or -1 when name is not a level name. */
int log_level_parse(const char *name, log_level_t *out);
void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* Writes `ts=... level=... mod=... msg="..."`; the message is quoted and escaped. */
void log_write(log_level_t level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(mod, ...) log_write(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_write(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_write(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_write(LOG_ERROR, mod, __VA_ARGS__)

#endif
