#include "dtls/srtp_session.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include "common/log.h"

_Static_assert(SRTP_SESSION_TRAILER_LEN == SRTP_MAX_TRAILER_LEN + 4,
               "SRTP_SESSION_TRAILER_LEN must follow libsrtp's SRTP_MAX_TRAILER_LEN");
_Static_assert(SRTP_SESSION_MAX_KEY_LEN == SRTP_AES_ICM_128_KEY_LEN_WSALT,
               "the longest key||salt we take is AES-CM-128's");

struct srtp_session {
    srtp_t inbound;  /* the peer's key, any SSRC it sends */
    srtp_t outbound; /* our key, any SSRC we send */
    srtp_session_profile_t profile;
    srtp_session_stats_t stats;
};

static pthread_once_t srtp_session_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t srtp_session_init_status = srtp_err_status_fail;

static void srtp_session_init_library(void)
{
    srtp_session_init_status = srtp_init();
}

/* Exported by every libsrtp2 build; its description names the crypto back end. */
extern const srtp_cipher_type_t srtp_aes_icm_128;

const char *srtp_session_crypto_name(void)
{
    return srtp_aes_icm_128.description;
}

size_t srtp_session_key_len(srtp_session_profile_t profile)
{
    switch (profile) {
    case SRTP_SESSION_AES128_CM_SHA1_80:
        return SRTP_AES_ICM_128_KEY_LEN_WSALT;
    case SRTP_SESSION_AEAD_AES_128_GCM:
        return SRTP_AES_GCM_128_KEY_LEN_WSALT;
    }
    return 0;
}

const char *srtp_session_profile_name(srtp_session_profile_t profile)
{
    switch (profile) {
    case SRTP_SESSION_AES128_CM_SHA1_80:
        return "AES_CM_128_HMAC_SHA1_80";
    case SRTP_SESSION_AEAD_AES_128_GCM:
        return "AEAD_AES_128_GCM";
    }
    return "unknown";
}

static int srtp_session_create(srtp_t *out, srtp_session_profile_t profile, srtp_ssrc_type_t dir,
                               const uint8_t *key, size_t key_len)
{
    uint8_t key_copy[SRTP_SESSION_MAX_KEY_LEN];
    memcpy(key_copy, key, key_len);
    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    if (profile == SRTP_SESSION_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    }
    pol.ssrc.type = dir;
    pol.key = key_copy;
    pol.window_size = SRTP_SESSION_REPLAY_WINDOW;
    /* Retransmissions (NACK answers without RTX) reuse a sequence number. */
    pol.allow_repeat_tx = 1;
    srtp_err_status_t e = srtp_create(out, &pol);
    explicit_bzero(key_copy, sizeof key_copy);
    if (e != srtp_err_status_ok) {
        log_error("srtp", "srtp_create failed: error %d", (int)e);
        *out = NULL;
        return -EIO;
    }
    return 0;
}

srtp_session_t *srtp_session_new(srtp_session_profile_t profile, const uint8_t *local_key,
                                 const uint8_t *remote_key, size_t key_len)
{
    if (key_len == 0 || key_len != srtp_session_key_len(profile) || !local_key || !remote_key)
        return NULL;
    pthread_once(&srtp_session_once, srtp_session_init_library);
    if (srtp_session_init_status != srtp_err_status_ok) {
        log_error("srtp", "srtp_init failed: error %d", (int)srtp_session_init_status);
        return NULL;
    }
    srtp_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->profile = profile;
    if (srtp_session_create(&s->inbound, profile, ssrc_any_inbound, remote_key, key_len) < 0 ||
        srtp_session_create(&s->outbound, profile, ssrc_any_outbound, local_key, key_len) < 0) {
        srtp_session_free(s);
        return NULL;
    }
    return s;
}

void srtp_session_free(srtp_session_t *s)
{
    if (!s)
        return;
    if (s->inbound)
        srtp_dealloc(s->inbound);
    if (s->outbound)
        srtp_dealloc(s->outbound);
    free(s);
}

const srtp_session_stats_t *srtp_session_stats(const srtp_session_t *s)
{
    return &s->stats;
}

/* Maps a libsrtp status to ours and counts the failure. */
static int srtp_session_result(srtp_session_t *s, srtp_err_status_t e, int rtcp)
{
    switch (e) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        if (rtcp)
            s->stats.rtcp_auth_fail++;
        else
            s->stats.rtp_auth_fail++;
        return SRTP_SESSION_E_AUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        if (rtcp)
            s->stats.rtcp_replay++;
        else
            s->stats.rtp_replay++;
        return SRTP_SESSION_E_REPLAY;
    case srtp_err_status_bad_param:
        s->stats.other_fail++;
        return -EINVAL;
    default:
        s->stats.other_fail++;
        return -EIO;
    }
}

typedef srtp_err_status_t (*srtp_session_op_fn)(srtp_t, void *, int *);

static int srtp_session_run(srtp_session_t *s, srtp_t ctx, srtp_session_op_fn op, uint8_t *buf,
                            size_t *len, size_t min_len, int rtcp)
{
    /* RFC 3550 5.1 / 6.4: a fixed header of 12 or 8 bytes at least. */
    if (!buf || *len < min_len || *len > INT_MAX - SRTP_SESSION_TRAILER_LEN) {
        s->stats.other_fail++;
        return -EINVAL;
    }
    int n = (int)*len;
    int rc = srtp_session_result(s, op(ctx, buf, &n), rtcp);
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

static int srtp_session_room(srtp_session_t *s, size_t len, size_t cap)
{
    if (len > SIZE_MAX - SRTP_SESSION_TRAILER_LEN || cap < len + SRTP_SESSION_TRAILER_LEN) {
        s->stats.other_fail++;
        return -ENOSPC;
    }
    return 0;
}

int srtp_session_protect_rtp(srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = srtp_session_room(s, *len, cap);
    return rc ? rc : srtp_session_run(s, s->outbound, srtp_protect, buf, len, 12, 0);
}

int srtp_session_protect_rtcp(srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = srtp_session_room(s, *len, cap);
    return rc ? rc : srtp_session_run(s, s->outbound, srtp_protect_rtcp, buf, len, 8, 1);
}

int srtp_session_unprotect_rtp(srtp_session_t *s, uint8_t *buf, size_t *len)
{
    return srtp_session_run(s, s->inbound, srtp_unprotect, buf, len, 12, 0);
}

int srtp_session_unprotect_rtcp(srtp_session_t *s, uint8_t *buf, size_t *len)
{
    return srtp_session_run(s, s->inbound, srtp_unprotect_rtcp, buf, len, 8, 1);
}
