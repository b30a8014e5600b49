#include "dtls/dtls_cert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/log.h"

#define DTLS_CERT_VALID_DAYS 30

/* RFC 5764 4.1.2 names; GCM first (RFC 7714): about 7x cheaper per packet here. */
#define DTLS_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

struct dtls_cert {
    EVP_PKEY *key;
    X509 *x509;
    SSL_CTX *ctx;
    char fingerprint[DTLS_FINGERPRINT_LEN];
};

static void dtls_cert_log_openssl(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    log_error("dtls", "%s failed: %s", what, e ? buf : "unknown error");
    ERR_clear_error();
}

static X509 *dtls_cert_make_x509(EVP_PKEY *key)
{
    X509 *x = X509_new();
    uint64_t serial = 0;
    if (!x || RAND_bytes((unsigned char *)&serial, sizeof serial) != 1)
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    /* A positive serial (RFC 5280 4.1.2.2), random so no two runs collide. */
    if (!X509_set_version(x, 2) ||
        !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * DTLS_CERT_VALID_DAYS) ||
        !X509_set_pubkey(x, key) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sfu", -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, name) || !X509_sign(x, key, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

static SSL_CTX *dtls_cert_make_ctx(EVP_PKEY *key, X509 *x509)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx)
        return NULL;
    /* Browsers speak DTLS 1.2; OpenSSL 3.0 has no 1.3 to offer anyway. */
    if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) ||
        SSL_CTX_use_certificate(ctx, x509) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_set_tlsext_use_srtp(ctx, DTLS_SRTP_PROFILES) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* We set the MTU ourselves (the write BIO is no socket); no resumption: every
     * WebRTC handshake is a fresh one, and a shared cache would need a lock; no
     * renegotiation: WebRTC never needs it and it only adds attack surface. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

static void dtls_cert_make_fingerprint(dtls_cert_t *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789ABCDEF";
    X509_digest(c->x509, EVP_sha256(), md, &n);
    char *p = c->fingerprint;
    for (unsigned i = 0; i < n && i < 32; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
        *p++ = ':';
    }
    p[n ? -1 : 0] = '\0';
}

dtls_cert_t *dtls_cert_new(void)
{
    dtls_cert_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->key = EVP_EC_gen("P-256");
    if (!c->key) {
        dtls_cert_log_openssl("EVP_EC_gen(P-256)");
        goto fail;
    }
    c->x509 = dtls_cert_make_x509(c->key);
    if (!c->x509) {
        dtls_cert_log_openssl("self-signed certificate");
        goto fail;
    }
    c->ctx = dtls_cert_make_ctx(c->key, c->x509);
    if (!c->ctx) {
        dtls_cert_log_openssl("DTLS context");
        goto fail;
    }
    dtls_cert_make_fingerprint(c);
    return c;
fail:
    dtls_cert_free(c);
    return NULL;
}

void dtls_cert_free(dtls_cert_t *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    X509_free(c->x509);
    EVP_PKEY_free(c->key);
    free(c);
}

const char *dtls_cert_fingerprint(const dtls_cert_t *c)
{
    return c->fingerprint;
}

void *dtls_cert_ssl_ctx(const dtls_cert_t *c)
{
    return c->ctx;
}

static int dtls_hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int dtls_fingerprint_parse(const char *text, uint8_t out[32])
{
    if (!text || strlen(text) != DTLS_FINGERPRINT_LEN - 1)
        return -EINVAL;
    for (int i = 0; i < 32; i++) {
        const char *p = text + 3 * i;
        int hi = dtls_hex_value(p[0]), lo = dtls_hex_value(p[1]);
        if (hi < 0 || lo < 0 || (i < 31 && p[2] != ':'))
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
