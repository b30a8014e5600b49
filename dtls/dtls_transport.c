#include "dtls/dtls_transport.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* RFC 5705 / RFC 5764 4.2. */
#define DTLS_SRTP_EXPORTER_LABEL "EXTRACTOR-dtls_srtp"
#define DTLS_SRTP_MASTER_KEY_LEN 16
/* Retransmission timer: 100 ms first (OpenSSL's 1 s is slow on a lossy first
 * flight), doubling, capped at 4 s; OpenSSL gives up after 12 expiries. */
#define DTLS_TIMER_INITIAL_US 100000u
#define DTLS_TIMER_MAX_US     4000000u
/* One record's plaintext at most (RFC 6347 4.1). */
#define DTLS_MAX_RECORD_PLAINTEXT 16384

struct dtls_transport {
    SSL *ssl;
    BIO *rbio; /* memory BIO: holds the one datagram being fed */
    dtls_role_t role;
    dtls_state_t state;
    dtls_transport_callbacks_t cb;
    void *ctx;
    uint8_t expected_fp[32];
    bool fp_checked; /* the verify callback saw the leaf and it matched */
    char reason[160];
};

static BIO_METHOD *dtls_bio_method;
static pthread_once_t dtls_bio_once = PTHREAD_ONCE_INIT;

/* The write BIO: each BIO_write from OpenSSL's DTLS layer is one whole record,
 * sent as one datagram (a memory BIO would merge them). */
static int dtls_bio_write(BIO *b, const char *data, int len)
{
    dtls_transport_t *t = BIO_get_data(b);
    if (len <= 0)
        return 0;
    if (t && t->cb.send_datagram)
        t->cb.send_datagram(t->ctx, (const uint8_t *)data, (size_t)len);
    return len;
}

static long dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* OpenSSL flushes after every flight and fails on <= 0 */
    case BIO_CTRL_DGRAM_QUERY_MTU:
        return DTLS_TRANSPORT_MTU;
    default:
        return 0; /* no pending bytes, no MTU overhead, nothing else to report */
    }
}

static int dtls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int dtls_bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static void dtls_bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sfu dtls datagram");
    if (m && BIO_meth_set_write(m, dtls_bio_write) && BIO_meth_set_ctrl(m, dtls_bio_ctrl) &&
        BIO_meth_set_create(m, dtls_bio_create) && BIO_meth_set_destroy(m, dtls_bio_destroy)) {
        dtls_bio_method = m;
        return;
    }
    BIO_meth_free(m);
}

static unsigned int dtls_timer_cb(SSL *ssl, unsigned int timer_us)
{
    (void)ssl;
    if (timer_us == 0)
        return DTLS_TIMER_INITIAL_US;
    return timer_us >= DTLS_TIMER_MAX_US / 2 ? DTLS_TIMER_MAX_US : 2 * timer_us;
}

static bool dtls_cert_matches(const dtls_transport_t *t, X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return cert && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32 &&
           CRYPTO_memcmp(md, t->expected_fp, 32) == 0;
}

/* WebRTC certificates are self-signed: trust comes from the fingerprint in the
 * signaled SDP (RFC 8122 5), so chain errors are ignored and only the leaf's
 * SHA-256 digest decides. Returning 0 fails the handshake with an alert. */
static int dtls_verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    dtls_transport_t *t = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!t)
        return 0;
    if (X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    if (!dtls_cert_matches(t, X509_STORE_CTX_get_current_cert(store))) {
        snprintf(t->reason, sizeof t->reason, "peer certificate does not match the fingerprint");
        return 0;
    }
    t->fp_checked = true;
    return 1;
}

dtls_transport_t *dtls_transport_new(dtls_role_t role, const dtls_cert_t *cert,
                                     const char *expected_peer_fingerprint,
                                     const char *srtp_profiles,
                                     const dtls_transport_callbacks_t *cb, void *ctx)
{
    pthread_once(&dtls_bio_once, dtls_bio_method_init);
    if (!dtls_bio_method || !cert || !cb || !cb->send_datagram || !cb->on_connected ||
        !cb->on_closed || (role != DTLS_ROLE_SERVER && role != DTLS_ROLE_CLIENT))
        return NULL;
    dtls_transport_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (dtls_fingerprint_parse(expected_peer_fingerprint, t->expected_fp) < 0)
        goto fail;
    t->role = role;
    t->cb = *cb;
    t->ctx = ctx;

    t->ssl = SSL_new(dtls_cert_ssl_ctx(cert));
    t->rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(dtls_bio_method);
    if (!t->ssl || !t->rbio || !wbio) {
        BIO_free(wbio);
        goto fail;
    }
    /* An empty read BIO means "wait for the next datagram", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_data(wbio, t);
    BIO_up_ref(t->rbio); /* SSL_set_bio takes one reference; we keep ours */
    SSL_set_bio(t->ssl, t->rbio, wbio);
    SSL_set_app_data(t->ssl, t);

    SSL_set_verify(t->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, dtls_verify_cb);
    SSL_set_options(t->ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_timer_cb(t->ssl, dtls_timer_cb);
    if (!SSL_set_mtu(t->ssl, DTLS_TRANSPORT_MTU) ||
        (srtp_profiles && SSL_set_tlsext_use_srtp(t->ssl, srtp_profiles) != 0))
        goto fail;
    if (role == DTLS_ROLE_SERVER)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    ERR_clear_error();
    return t;
fail:
    ERR_clear_error();
    dtls_transport_free(t);
    return NULL;
}

void dtls_transport_free(dtls_transport_t *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* frees the write BIO and one reference of rbio */
    BIO_free(t->rbio);
    free(t);
}

dtls_state_t dtls_transport_state(const dtls_transport_t *t)
{
    return t->state;
}

/* Moves to CLOSED and tells the owner, once. Returns -EIO for the caller to pass up. */
static int dtls_fail(dtls_transport_t *t, const char *reason)
{
    if (t->state == DTLS_STATE_CLOSED)
        return -EIO;
    t->state = DTLS_STATE_CLOSED;
    if (reason != t->reason)
        snprintf(t->reason, sizeof t->reason, "%s", reason);
    t->cb.on_closed(t->ctx, t->reason);
    return -EIO;
}

/* A reason from OpenSSL's error queue, unless the verify callback left a better one. */
static int dtls_fail_openssl(dtls_transport_t *t, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    if (!t->reason[0]) {
        const char *r = e ? ERR_reason_error_string(e) : NULL;
        snprintf(t->reason, sizeof t->reason, "%s: %s", what, r ? r : "unknown error");
    }
    ERR_clear_error();
    return dtls_fail(t, t->reason);
}

static int dtls_profile_from_openssl(unsigned long id, srtp_session_profile_t *out)
{
    if (id == SRTP_AEAD_AES_128_GCM)
        *out = SRTP_SESSION_AEAD_AES_128_GCM;
    else if (id == SRTP_AES128_CM_SHA1_80)
        *out = SRTP_SESSION_AES128_CM_SHA1_80;
    else
        return -1;
    return 0;
}

/* RFC 5764 4.2: client key | server key | client salt | server salt. */
static int dtls_export_keys(dtls_transport_t *t, dtls_srtp_keys_t *keys)
{
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(t->ssl);
    if (!p || dtls_profile_from_openssl(p->id, &keys->profile) < 0)
        return -1;
    size_t klen = DTLS_SRTP_MASTER_KEY_LEN;
    size_t slen = srtp_session_key_len(keys->profile) - klen;
    uint8_t mat[2 * SRTP_SESSION_MAX_KEY_LEN];
    if (SSL_export_keying_material(t->ssl, mat, 2 * (klen + slen), DTLS_SRTP_EXPORTER_LABEL,
                                   strlen(DTLS_SRTP_EXPORTER_LABEL), NULL, 0, 0) != 1)
        return -1;
    const uint8_t *client_key = mat, *server_key = mat + klen;
    const uint8_t *client_salt = mat + 2 * klen, *server_salt = mat + 2 * klen + slen;
    bool server = t->role == DTLS_ROLE_SERVER;
    memcpy(keys->local_key, server ? server_key : client_key, klen);
    memcpy(keys->local_key + klen, server ? server_salt : client_salt, slen);
    memcpy(keys->remote_key, server ? client_key : server_key, klen);
    memcpy(keys->remote_key + klen, server ? client_salt : server_salt, slen);
    keys->key_len = klen + slen;
    OPENSSL_cleanse(mat, sizeof mat);
    return 0;
}

static int dtls_handshake_done(dtls_transport_t *t)
{
    /* The verify callback already decided; check the leaf again in case a path
     * of OpenSSL's never showed it to us. */
    if (!t->fp_checked || !dtls_cert_matches(t, SSL_get0_peer_certificate(t->ssl))) {
        SSL_shutdown(t->ssl);
        return dtls_fail(t, "peer certificate does not match the fingerprint");
    }
    dtls_srtp_keys_t keys;
    memset(&keys, 0, sizeof keys);
    if (dtls_export_keys(t, &keys) < 0) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        return dtls_fail(t, "no DTLS-SRTP profile negotiated");
    }
    t->state = DTLS_STATE_CONNECTED;
    t->cb.on_connected(t->ctx, &keys);
    OPENSSL_cleanse(&keys, sizeof keys);
    return 0;
}

int dtls_transport_start(dtls_transport_t *t)
{
    if (t->state != DTLS_STATE_NEW)
        return t->state == DTLS_STATE_CLOSED ? -ENOTCONN : 0;
    t->state = DTLS_STATE_CONNECTING;
    if (t->role == DTLS_ROLE_SERVER)
        return 0;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r <= 0 && SSL_get_error(t->ssl, r) != SSL_ERROR_WANT_READ)
        return dtls_fail_openssl(t, "DTLS handshake");
    return 0;
}

/* After the handshake: application data, alerts, and the peer's retransmitted
 * Finished (OpenSSL answers it with our last flight from inside SSL_read). */
static int dtls_read_records(dtls_transport_t *t)
{
    uint8_t buf[DTLS_MAX_RECORD_PLAINTEXT];
    while (t->state == DTLS_STATE_CONNECTED) {
        ERR_clear_error();
        int n = SSL_read(t->ssl, buf, sizeof buf);
        if (n > 0) {
            if (t->cb.on_data)
                t->cb.on_data(t->ctx, buf, (size_t)n);
            continue;
        }
        int err = SSL_get_error(t->ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            return 0;
        if (err == SSL_ERROR_ZERO_RETURN)
            return dtls_fail(t, DTLS_REASON_CLOSE_NOTIFY);
        return dtls_fail_openssl(t, "DTLS read");
    }
    return 0;
}

int dtls_transport_feed(dtls_transport_t *t, const uint8_t *data, size_t len)
{
    if (t->state == DTLS_STATE_CLOSED)
        return -ENOTCONN;
    if (!data || len == 0 || len > INT_MAX)
        return -EINVAL;
    if (t->state == DTLS_STATE_NEW)
        t->state = DTLS_STATE_CONNECTING;
    /* Whatever a previous call left unread must not merge with this datagram. */
    if (BIO_ctrl_pending(t->rbio) > 0)
        (void)BIO_reset(t->rbio);
    if (BIO_write(t->rbio, data, (int)len) != (int)len)
        return dtls_fail(t, "out of memory");

    if (t->state == DTLS_STATE_CONNECTING) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        if (r == 1) {
            if (dtls_handshake_done(t) < 0)
                return -EIO;
        } else {
            int err = SSL_get_error(t->ssl, r);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                return dtls_fail_openssl(t, "DTLS handshake");
            return 0;
        }
    }
    return dtls_read_records(t);
}

long dtls_transport_timeout_ms(dtls_transport_t *t)
{
    struct timeval tv;
    if (t->state != DTLS_STATE_CONNECTING || DTLSv1_get_timeout(t->ssl, &tv) != 1)
        return -1;
    return (long)tv.tv_sec * 1000 + (long)(tv.tv_usec + 999) / 1000;
}

int dtls_transport_handle_timeout(dtls_transport_t *t)
{
    if (t->state != DTLS_STATE_CONNECTING)
        return 0;
    ERR_clear_error();
    if (DTLSv1_handle_timeout(t->ssl) < 0)
        return dtls_fail(t, "DTLS handshake timed out");
    return 0;
}

int dtls_transport_send(dtls_transport_t *t, const uint8_t *data, size_t len)
{
    if (t->state != DTLS_STATE_CONNECTED)
        return -ENOTCONN;
    if (len == 0 || len > DTLS_MAX_RECORD_PLAINTEXT)
        return -EINVAL;
    ERR_clear_error();
    int n = SSL_write(t->ssl, data, (int)len);
    if (n <= 0)
        return dtls_fail_openssl(t, "DTLS write");
    return 0;
}

void dtls_transport_close(dtls_transport_t *t)
{
    if (t->state == DTLS_STATE_CLOSED)
        return;
    if (t->state == DTLS_STATE_CONNECTED) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    t->state = DTLS_STATE_CLOSED;
}
