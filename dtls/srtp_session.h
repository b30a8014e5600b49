/* dtls/srtp_session.h: one transport's SRTP/SRTCP contexts on libsrtp2, keyed from
 * DTLS-SRTP: inbound (any SSRC, the peer's key) and outbound (any SSRC, our key).
 * In-place, no allocation per packet (libsrtp allocates once per new SSRC). One
 * thread at a time per session: the worker that owns the transport. */
#ifndef SFU_DTLS_SRTP_SESSION_H
#define SFU_DTLS_SRTP_SESSION_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* DTLS-SRTP protection profiles, by their RFC 5764 / RFC 7714 ids. */
typedef enum {
    SRTP_SESSION_AES128_CM_SHA1_80 = 0x0001,
    SRTP_SESSION_AEAD_AES_128_GCM = 0x0007,
} srtp_session_profile_t;

/* Master key || master salt: 16 + 14 (CM), 16 + 12 (GCM). */
#define SRTP_SESSION_MAX_KEY_LEN 30
/* Room to leave after every packet you protect: libsrtp's contract is
 * SRTP_MAX_TRAILER_LEN (tag 16 + MKI 128) plus, for SRTCP, the 4-byte index. It
 * writes only the tag (16 GCM, 10 CM) and the index, but promises no more. */
#define SRTP_SESSION_TRAILER_LEN (16 + 128 + 4)
/* RFC 3711 3.3.2: how far back an out-of-order packet is still accepted. */
#define SRTP_SESSION_REPLAY_WINDOW 1024

/* Distinct failures of unprotect, so the caller can count them apart. */
#define SRTP_SESSION_E_AUTH   (-EBADMSG)  /* authentication tag did not verify */
#define SRTP_SESSION_E_REPLAY (-EALREADY) /* seen already, or older than the window */

typedef struct srtp_session_stats {
    uint64_t rtp_auth_fail, rtp_replay;
    uint64_t rtcp_auth_fail, rtcp_replay;
    uint64_t other_fail; /* malformed, too short, no room, libsrtp errors */
} srtp_session_stats_t;

typedef struct srtp_session srtp_session_t;

/* Key+salt length of a profile, 0 for an unknown one. */
size_t srtp_session_key_len(srtp_session_profile_t profile);
/* "AEAD_AES_128_GCM" / "AES_CM_128_HMAC_SHA1_80" (the names browsers' stats use). */
const char *srtp_session_profile_name(srtp_session_profile_t profile);

/* local_key protects what we send, remote_key checks what we receive; both are
 * key||salt of srtp_session_key_len(profile) bytes (dtls_transport hands them over
 * in that form). Calls srtp_init once per process. Returns NULL on failure. */
srtp_session_t *srtp_session_new(srtp_session_profile_t profile, const uint8_t *local_key,
                                 const uint8_t *remote_key, size_t key_len);
void srtp_session_free(srtp_session_t *s);

/* In place. *len is the packet length in and out; cap is the room in buf, which
 * must be at least *len + SRTP_SESSION_TRAILER_LEN for protect.
 * Return 0, or SRTP_SESSION_E_AUTH, SRTP_SESSION_E_REPLAY, -ENOSPC, -EINVAL, -EIO. */
int srtp_session_protect_rtp(srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap);
int srtp_session_protect_rtcp(srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap);
int srtp_session_unprotect_rtp(srtp_session_t *s, uint8_t *buf, size_t *len);
int srtp_session_unprotect_rtcp(srtp_session_t *s, uint8_t *buf, size_t *len);

const srtp_session_stats_t *srtp_session_stats(const srtp_session_t *s);

/* The crypto the linked libsrtp2 runs AES-CM on, in libsrtp's words: "AES-128
 * counter mode using openssl" (the static build, tools/build-libsrtp.sh) or
 * "... using NSS" (Debian's shared library). */
const char *srtp_session_crypto_name(void);

#endif
