/* sfu/rtc_transport.h: one ICE-lite + DTLS-SRTP leg of a participant, living
 * on a media worker. Created, used and freed on that worker's thread only. */
#ifndef SFU_RTC_TRANSPORT_H
#define SFU_RTC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dtls/srtp_session.h"

typedef struct sfu_worker sfu_worker_t;
typedef struct rtc_transport rtc_transport_t;

/* Upward calls, on the worker thread. Packets are decrypted in the worker's
 * receive buffer; a listener may rewrite them in place before returning. */
typedef struct rtc_transport_listener {
    void (*on_connected)(void *ctx, rtc_transport_t *t);
    void (*on_rtp)(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len);
    void (*on_rtcp)(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len);
    /* Optional: DTLS application data (SCTP, for data channels). */
    void (*on_app_data)(void *ctx, rtc_transport_t *t, const uint8_t *data, size_t len);
    /* ICE consent lapsed or DTLS ended; the transport stays until freed. */
    void (*on_closed)(void *ctx, rtc_transport_t *t, const char *reason);
} rtc_transport_listener_t;

typedef struct rtc_transport_stats {
    uint64_t rx_rtp, rx_rtcp, tx_rtp, tx_rtcp;
    uint64_t srtp_auth_fail, srtp_replay, tx_dropped;
} rtc_transport_stats_t;

/* local_ufrag must be unique on the worker (4-32 ICE characters); remote_fp is
 * the peer's a=fingerprint:sha-256 value. */
rtc_transport_t *rtc_transport_new(sfu_worker_t *w, const char *local_ufrag, const char *local_pwd,
                                   const char *remote_fp, const rtc_transport_listener_t *listener,
                                   void *ctx);
/* Closes DTLS (close_notify), forgets the 5-tuple; the memory goes once the
 * timer handle closed. NULL is a no-op. */
void rtc_transport_free(rtc_transport_t *t);

/* Protects pkt in place (cap must leave SRTP_SESSION_TRAILER_LEN spare) and
 * sends it on the selected 5-tuple. 0, or negative when not connected/failed. */
int rtc_transport_send_rtp(rtc_transport_t *t, uint8_t *pkt, size_t len, size_t cap);
int rtc_transport_send_rtcp(rtc_transport_t *t, uint8_t *pkt, size_t len, size_t cap);

/* DTLS application data to the peer (an SCTP packet). 0 or negative. */
int rtc_transport_send_app(rtc_transport_t *t, const uint8_t *data, size_t len);
/* ICE restart (RFC 8445 9): checks must use the new local credentials from
 * now on; DTLS, SRTP and the selected 5-tuple stay until a new pair is
 * nominated. local_ufrag unique on the worker. 0 or -EINVAL. */
int rtc_transport_restart_ice(rtc_transport_t *t, const char *local_ufrag, const char *local_pwd);

bool rtc_transport_connected(const rtc_transport_t *t);
const char *rtc_transport_ufrag(const rtc_transport_t *t);
const char *rtc_transport_srtp_profile(const rtc_transport_t *t);
void rtc_transport_get_stats(const rtc_transport_t *t, rtc_transport_stats_t *out);

/* For the worker's packet path (sfu/worker.c). */
const char *rtc_transport__password(const rtc_transport_t *t);
/* A check passed from `from`, over UDP (path NULL) or an ICE-TCP connection,
 * with the peer's PRIORITY attribute. */
void rtc_transport__ice_checked(rtc_transport_t *t, const struct sockaddr *from, socklen_t len,
                                bool nominated, void *path, uint32_t peer_priority);
/* A nominated pair of lower priority than the selected one takes over only
 * when no check came on the selected pair for this long (browsers check the
 * selected pair at least every 2.5 s). */
#define RTC_SELECTED_SILENT_MS 6000
/* That ICE-TCP connection closed. */
void rtc_transport__path_closed(rtc_transport_t *t, void *path);
/* Whether the selected pair is UDP from `from`. */
bool rtc_transport__matches(const rtc_transport_t *t, const struct sockaddr *from);
void rtc_transport__on_dtls(rtc_transport_t *t, const uint8_t *data, size_t len);
void rtc_transport__on_srtp(rtc_transport_t *t, uint8_t *data, size_t len, bool is_rtcp);
/* No valid STUN check within this many ms: consent lapsed (RFC 7675). */
#define RTC_CONSENT_TIMEOUT_MS 30000
void rtc_transport__check_consent(rtc_transport_t *t, uint64_t now_ms);

#endif
