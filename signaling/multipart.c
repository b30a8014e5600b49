/* signaling/multipart.c: multipart/form-data (RFC 7578) bodies of uploads,
 * split without copying. */
#define _GNU_SOURCE
#include "signaling/multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool multipart_boundary(const char *ct, char *out, size_t cap)
{
    if (strncasecmp(ct, "multipart/form-data", 19) != 0)
        return false;
    const char *b = strcasestr(ct, "boundary=");
    if (!b)
        return false;
    b += 9;
    bool quoted = *b == '"';
    b += quoted;
    size_t n = 0;
    while (b[n] && b[n] != (quoted ? '"' : ';') && !(!quoted && b[n] == ' '))
        n++;
    if (n == 0 || n > 70 || n + 1 > cap)
        return false;
    memcpy(out, b, n);
    out[n] = '\0';
    return true;
}

static const uint8_t *find(const uint8_t *hay, size_t hay_len, const char *needle, size_t n)
{
    return memmem(hay, hay_len, needle, n);
}

/* Copies the value of `key="..."` from a Content-Disposition line. */
static void disposition_param(const char *line, size_t len, const char *key, char *out, size_t cap,
                              bool *present)
{
    char pat[32];
    snprintf(pat, sizeof pat, "%s=\"", key);
    const char *p = memmem(line, len, pat, strlen(pat));
    *present = false;
    out[0] = '\0';
    if (!p || (p > line && p[-1] != ' ' && p[-1] != ';'))
        return;
    p += strlen(pat);
    const char *end = memchr(p, '"', (size_t)(line + len - p));
    if (!end)
        return;
    *present = true;
    size_t n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

int multipart_parse(const uint8_t *body, size_t len, const char *boundary, multipart_part_t *parts,
                    int max)
{
    char delim[80];
    int dn = snprintf(delim, sizeof delim, "--%s", boundary);
    const uint8_t *p = find(body, len, delim, (size_t)dn), *end = body + len;
    int count = 0;
    if (!p)
        return -1;
    for (;;) {
        p += dn;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return count; /* closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return -1;
        p += 2;
        const uint8_t *hdr_end = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hdr_end)
            return -1;
        multipart_part_t part;
        memset(&part, 0, sizeof part);
        for (const uint8_t *line = p; line < hdr_end;) {
            const uint8_t *eol = find(line, (size_t)(hdr_end + 2 - line), "\r\n", 2);
            size_t ll = (size_t)(eol - line);
            if (ll > 20 && !strncasecmp((const char *)line, "content-disposition:", 20)) {
                bool has_name, has_file;
                char fname[8];
                disposition_param((const char *)line, ll, "name", part.name, sizeof part.name,
                                  &has_name);
                disposition_param((const char *)line, ll, "filename", fname, sizeof fname,
                                  &has_file);
                part.is_file = has_file;
            } else if (ll > 13 && !strncasecmp((const char *)line, "content-type:", 13)) {
                const uint8_t *v = line + 13;
                while (v < eol && *v == ' ')
                    v++;
                size_t n = (size_t)(eol - v) < sizeof part.declared_type - 1
                               ? (size_t)(eol - v)
                               : sizeof part.declared_type - 1;
                memcpy(part.declared_type, v, n);
            }
            line = eol + 2;
        }
        const uint8_t *data = hdr_end + 4;
        char next[84];
        int nn = snprintf(next, sizeof next, "\r\n--%s", boundary);
        const uint8_t *stop = find(data, (size_t)(end - data), next, (size_t)nn);
        if (!stop)
            return -1;
        part.data = data;
        part.len = (size_t)(stop - data);
        if (count < max)
            parts[count] = part;
        count++;
        p = stop + 2;
    }
}
