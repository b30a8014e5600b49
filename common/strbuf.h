/* common/strbuf.h: printf into a fixed caller buffer; once something does not
 * fit, the buffer is marked full and later writes are ignored. */
#ifndef SFU_COMMON_STRBUF_H
#define SFU_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *out;
    size_t cap, len;
    bool full;
} strbuf_t;

void strbuf_printf(strbuf_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
