/* dtls/dtls_cert.h: the process's DTLS identity (RFC 8827 6.5): an ECDSA P-256 key,
 * a self-signed certificate and its SHA-256 fingerprint for SDP, plus the OpenSSL
 * context every transport is made from. */
#ifndef SFU_DTLS_CERT_H
#define SFU_DTLS_CERT_H

#include <stddef.h>
#include <stdint.h>

/* "XX:" per byte of a SHA-256 digest, without the last colon, plus NUL. */
#define DTLS_FINGERPRINT_LEN 96

typedef struct dtls_cert dtls_cert_t;

/* Makes a fresh key and certificate (random 64-bit serial, valid from one day ago
 * for 30 days). Owned by the caller: make one at start-up, share it with every
 * worker (read-only after this returns, so no lock), free it at exit. Transports
 * take their own OpenSSL references, so freeing it while some still live is safe.
 * Returns NULL on failure (logged). */
dtls_cert_t *dtls_cert_new(void);
void dtls_cert_free(dtls_cert_t *cert);

/* "AB:CD:..." upper-case hex, for `a=fingerprint:sha-256 <this>`. */
const char *dtls_cert_fingerprint(const dtls_cert_t *cert);

/* Parses "ab:CD:..." (either case) into 32 bytes. Returns 0 or -EINVAL. */
int dtls_fingerprint_parse(const char *text, uint8_t out[32]);

/* The SSL_CTX (as void *, to keep OpenSSL out of this header) for dtls_transport. */
void *dtls_cert_ssl_ctx(const dtls_cert_t *cert);

#endif
