#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>

void strbuf_printf(strbuf_t *w, const char *fmt, ...)
{
    if (w->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->out + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len)
        w->full = true;
    else
        w->len += (size_t)n;
}
