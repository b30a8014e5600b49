/* common/util.c: base64url, randomness, hex, wall-clock time, UTF-8 length. */
#include "common/util.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

#include <openssl/rand.h>

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, or -1. */
static int b64url__value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    if (!out || (!in && len) || len > (size_t)INT_MAX / 4 * 3)
        return -1;
    size_t enc_len = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    if (enc_len >= out_cap)
        return -1;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return (int)o;
}

/* Rejects a final character whose unused low bits are not zero, so that each
 * byte string has exactly one encoding (a signature cannot be re-spelled). */
int b64url_decode(const char *in, size_t len, uint8_t *out, size_t out_cap)
{
    if ((!in && len) || (!out && out_cap) || len % 4 == 1 || len > (size_t)INT_MAX)
        return -1;
    size_t dec_len = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (dec_len > out_cap)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url__value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    return (int)o;
}

int random_bytes(uint8_t *buf, size_t len)
{
    if (!buf && len)
        return -1;
    while (len) {
        int chunk = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(buf, chunk) != 1)
            return -1;
        buf += chunk;
        len -= (size_t)chunk;
    }
    return 0;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void random_hex(char *out, size_t bytes)
{
    uint8_t raw[32];
    if (bytes > sizeof raw)
        bytes = sizeof raw;
    random_bytes(raw, bytes);
    hex_encode(raw, bytes, out);
}

int64_t now_unix_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes an empty string when the time cannot be represented. */
void iso8601_from_ms(int64_t unix_ms, char *out, size_t out_cap)
{
    if (!out || out_cap == 0)
        return;
    out[0] = '\0';
    /* Floor division so that times before 1970 keep a positive millisecond part. */
    int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if ((int64_t)t != secs || !gmtime_r(&t, &tm))
        return;
    int n = snprintf(out, out_cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)ms);
    if (n < 0 || (size_t)n >= out_cap)
        out[0] = '\0';
}

/* RFC 3629 4: the well-formed byte sequences, checked byte by byte. */
long utf8_length(const char *s, size_t len)
{
    if (!s)
        return len ? -1 : 0;
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c < 0x80) {
            need = 0;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates U+D800..U+DFFF */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return -1; /* continuation byte, 0xc0/0xc1 overlong or 0xf5..0xff */
        }
        if (need > len - i - 1)
            return -1;
        for (size_t k = 1; k <= need; k++) {
            unsigned char b = p[i + k];
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
                return -1;
        }
        i += need + 1;
        count++;
    }
    return count;
}
