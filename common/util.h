/* common/util.h: small helpers every layer needs. */
#ifndef SFU_COMMON_UTIL_H
#define SFU_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Unpadded base64url (RFC 4648 5). Returns the length written (without the
 * terminating NUL), or -1 when out is too small. out_cap must leave room for NUL. */
int b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
/* Decodes unpadded base64url. Returns the byte count, or -1 on a bad character,
 * a bad length or when out is too small. */
int b64url_decode(const char *in, size_t len, uint8_t *out, size_t out_cap);

/* Fills buf with len cryptographically random bytes. Returns 0 or -1. */
int random_bytes(uint8_t *buf, size_t len);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* bytes (at most 32) random bytes as lower-case hex into out (2*bytes+1):
 * ICE credentials, tokens. */
void random_hex(char *out, size_t bytes);

/* Milliseconds since the Unix epoch, wall clock. */
int64_t now_unix_ms(void);

/* ISO 8601 UTC with milliseconds, e.g. 2026-11-22T20:48:00.123Z; out holds 25+ bytes. */
void iso8601_from_ms(int64_t unix_ms, char *out, size_t out_cap);

/* Number of Unicode code points in a valid UTF-8 string; -1 when not valid UTF-8. */
long utf8_length(const char *s, size_t len);

#endif
