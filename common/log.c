#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static log_level_t current_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = LOG_DEBUG; i <= LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(log_level_t level)
{
    current_level = level;
}

log_level_t log_get_level(void)
{
    return current_level;
}

void log_write(log_level_t level, const char *mod, const char *fmt, ...)
{
    if (level < current_level || level >= LOG_OFF)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    /* Quote the message so one event stays one parseable line. */
    char quoted[2100];
    size_t q = 0;
    for (const char *s = msg; *s && q < sizeof quoted - 3; s++) {
        if (*s == '"' || *s == '\\') {
            quoted[q++] = '\\';
            quoted[q++] = *s;
        } else if (*s == '\n' || *s == '\r') {
            quoted[q++] = ' ';
        } else {
            quoted[q++] = *s;
        }
    }
    quoted[q] = '\0';

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ts=%s.%03ldZ level=%s mod=%s msg=\"%s\"\n", ts, (long)(tv.tv_usec / 1000),
            level_names[level], mod, quoted);
}
