#include "sfu/rtc_transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/log.h"
#include "dtls/dtls_transport.h"
#include "sfu/worker.h"

struct rtc_transport {
    sfu_worker_t *worker;
    char ufrag[40];
    char pwd[64];
    rtc_transport_listener_t listener;
    void *ctx;
    dtls_transport_t *dtls;
    srtp_session_t *srtp;
    srtp_session_profile_t profile;
    uv_timer_t dtls_timer;
    struct sockaddr_storage peer; /* the selected 5-tuple's remote side */
    socklen_t peer_len;
    void *path;                /* the ICE-TCP connection of the selected pair; NULL: UDP */
    uint64_t pair_priority;    /* of the selected pair */
    uint64_t last_selected_ms; /* the last check on the selected pair */
    bool has_peer, nominated, connected, closed;
    uint64_t last_check_ms;
    rtc_transport_stats_t stats;
};

static void closed(rtc_transport_t *t, const char *reason)
{
    if (t->closed)
        return;
    t->closed = true;
    t->connected = false;
    if (t->listener.on_closed)
        t->listener.on_closed(t->ctx, t, reason);
}

static void dtls_send(void *ctx, const uint8_t *data, size_t len)
{
    rtc_transport_t *t = ctx;
    if (t->has_peer && sfu_worker__send_via(t->worker, t->path, (struct sockaddr *)&t->peer,
                                            t->peer_len, data, len))
        t->stats.tx_dropped++;
}

static void dtls_connected(void *ctx, const dtls_srtp_keys_t *keys)
{
    rtc_transport_t *t = ctx;
    t->srtp = srtp_session_new(keys->profile, keys->local_key, keys->remote_key, keys->key_len);
    if (!t->srtp) {
        closed(t, "SRTP session could not be created");
        return;
    }
    t->profile = keys->profile;
    t->connected = true;
    log_debug("rtc", "transport %s connected (%s)", t->ufrag,
              srtp_session_profile_name(keys->profile));
    if (t->listener.on_connected)
        t->listener.on_connected(t->ctx, t);
}

static void dtls_closed(void *ctx, const char *reason)
{
    rtc_transport_t *t = ctx;
    if (!t->connected)
        sfu_worker__count(t->worker, SFU_WORKER_DTLS_FAIL);
    closed(ctx, reason);
}

/* SCTP for data channels (sfu/datachannel.c), not SRTP. */
static void dtls_data(void *ctx, const uint8_t *data, size_t len)
{
    rtc_transport_t *t = ctx;
    if (t->listener.on_app_data)
        t->listener.on_app_data(t->ctx, t, data, len);
}

int rtc_transport_send_app(rtc_transport_t *t, const uint8_t *data, size_t len)
{
    return t->closed ? -ENOTCONN : dtls_transport_send(t->dtls, data, len);
}

static void rearm_dtls_timer(rtc_transport_t *t);

static void on_dtls_timer(uv_timer_t *timer)
{
    rtc_transport_t *t = timer->data;
    dtls_transport_handle_timeout(t->dtls);
    rearm_dtls_timer(t);
}

static void rearm_dtls_timer(rtc_transport_t *t)
{
    long ms = t->dtls ? dtls_transport_timeout_ms(t->dtls) : -1;
    if (ms < 0)
        uv_timer_stop(&t->dtls_timer);
    else
        uv_timer_start(&t->dtls_timer, on_dtls_timer, (uint64_t)ms, 0);
}

rtc_transport_t *rtc_transport_new(sfu_worker_t *w, const char *local_ufrag, const char *local_pwd,
                                   const char *remote_fp, const rtc_transport_listener_t *listener,
                                   void *ctx)
{
    if (strlen(local_ufrag) >= sizeof((rtc_transport_t *)0)->ufrag ||
        strlen(local_pwd) >= sizeof((rtc_transport_t *)0)->pwd)
        return NULL;
    rtc_transport_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->worker = w;
    strcpy(t->ufrag, local_ufrag);
    strcpy(t->pwd, local_pwd);
    t->listener = *listener;
    t->ctx = ctx;
    static const dtls_transport_callbacks_t cb = {.send_datagram = dtls_send,
                                                  .on_connected = dtls_connected,
                                                  .on_closed = dtls_closed,
                                                  .on_data = dtls_data};
    t->dtls = dtls_transport_new(DTLS_ROLE_SERVER, sfu_worker__cert(w), remote_fp, NULL, &cb, t);
    if (!t->dtls) {
        free(t);
        return NULL;
    }
    uv_timer_init(sfu_worker__loop(w), &t->dtls_timer);
    t->dtls_timer.data = t;
    t->last_check_ms = uv_now(sfu_worker__loop(w));
    if (sfu_worker__register(w, t)) {
        rtc_transport_free(t);
        return NULL;
    }
    return t;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void rtc_transport_free(rtc_transport_t *t)
{
    if (!t)
        return;
    sfu_worker__unregister(t->worker, t);
    if (t->dtls) {
        t->closed = true; /* no upward call from our own close */
        dtls_transport_close(t->dtls);
        dtls_transport_free(t->dtls);
        t->dtls = NULL;
    }
    srtp_session_free(t->srtp);
    t->srtp = NULL;
    uv_close((uv_handle_t *)&t->dtls_timer, on_timer_closed);
}

static int send_protected(rtc_transport_t *t, uint8_t *pkt, size_t len, size_t cap, bool rtcp)
{
    if (!t->connected || !t->has_peer)
        return -ENOTCONN;
    int rc = rtcp ? srtp_session_protect_rtcp(t->srtp, pkt, &len, cap)
                  : srtp_session_protect_rtp(t->srtp, pkt, &len, cap);
    if (rc)
        return rc;
    rc = sfu_worker__send_via(t->worker, t->path, (struct sockaddr *)&t->peer, t->peer_len, pkt,
                              len);
    if (rc) {
        t->stats.tx_dropped++;
        return rc;
    }
    if (rtcp)
        t->stats.tx_rtcp++;
    else
        t->stats.tx_rtp++;
    return 0;
}

int rtc_transport_send_rtp(rtc_transport_t *t, uint8_t *pkt, size_t len, size_t cap)
{
    return send_protected(t, pkt, len, cap, false);
}

int rtc_transport_send_rtcp(rtc_transport_t *t, uint8_t *pkt, size_t len, size_t cap)
{
    return send_protected(t, pkt, len, cap, true);
}

int rtc_transport_restart_ice(rtc_transport_t *t, const char *local_ufrag, const char *local_pwd)
{
    if (strlen(local_ufrag) >= sizeof t->ufrag || strlen(local_pwd) >= sizeof t->pwd)
        return -EINVAL;
    strcpy(t->ufrag, local_ufrag);
    strcpy(t->pwd, local_pwd);
    /* The peer nominates a pair again; until then media keeps the old one. */
    t->nominated = false;
    t->pair_priority = 0;
    return 0;
}

bool rtc_transport_connected(const rtc_transport_t *t)
{
    return t->connected;
}

const char *rtc_transport_ufrag(const rtc_transport_t *t)
{
    return t->ufrag;
}

const char *rtc_transport_srtp_profile(const rtc_transport_t *t)
{
    return t->srtp ? srtp_session_profile_name(t->profile) : "";
}

void rtc_transport_get_stats(const rtc_transport_t *t, rtc_transport_stats_t *out)
{
    *out = t->stats;
}

const char *rtc_transport__password(const rtc_transport_t *t)
{
    return t->closed ? NULL : t->pwd;
}

/* RFC 8445 6.1.2.3: G is the controlling agent's (the peer's) priority. */
static uint64_t pair_priority(uint32_t g, uint32_t d)
{
    uint64_t lo = g < d ? g : d, hi = g < d ? d : g;
    return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

/* Our host candidates' priorities as rtp/rtc_sdp.c writes them (first address). */
#define LOCAL_PRIORITY_UDP ((126u << 24) | (65535u << 8) | 255u)
#define LOCAL_PRIORITY_TCP ((86u << 24) | (65535u << 8) | 255u)

void rtc_transport__ice_checked(rtc_transport_t *t, const struct sockaddr *from, socklen_t len,
                                bool nominated, void *path, uint32_t peer_priority)
{
    uint64_t now = uv_now(sfu_worker__loop(t->worker));
    t->last_check_ms = now;
    bool same = path ? t->has_peer && t->path == path : rtc_transport__matches(t, from);
    uint64_t prio = pair_priority(peer_priority, path ? LOCAL_PRIORITY_TCP : LOCAL_PRIORITY_UDP);
    if (same)
        t->last_selected_ms = now;
    /* The first checked pair carries media until the peer nominates one.
     * Browsers nominate every pair that works (UDP and TCP): the highest
     * priority nominated pair carries media (RFC 8445 8.1.1), a lower one
     * only once the selected pair went silent (the peer's path changed). */
    bool better = prio > t->pair_priority || now - t->last_selected_ms > RTC_SELECTED_SILENT_MS;
    if (!t->has_peer || (nominated && !t->nominated) || (nominated && !same && better)) {
        t->pair_priority = prio;
        t->last_selected_ms = now;
        if (t->has_peer && !t->path)
            sfu_worker__tuple_forget(t->worker, t, (struct sockaddr *)&t->peer);
        memcpy(&t->peer, from, len);
        t->peer_len = len;
        t->has_peer = true;
        t->path = path;
        if (!path)
            sfu_worker__tuple_learn(t->worker, t, from);
    }
    t->nominated |= nominated;
}

void rtc_transport__path_closed(rtc_transport_t *t, void *path)
{
    /* No route until the next check; consent runs out if none comes. */
    if (path && t->path == path) {
        t->path = NULL;
        t->has_peer = false;
        t->nominated = false;
        t->pair_priority = 0;
    }
}

bool rtc_transport__matches(const rtc_transport_t *t, const struct sockaddr *from)
{
    if (!t->has_peer || t->path || from->sa_family != t->peer.ss_family)
        return false;
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)from, *b = (const void *)&t->peer;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&t->peer;
    return a->sin6_port == b->sin6_port && !memcmp(&a->sin6_addr, &b->sin6_addr, 16);
}

void rtc_transport__on_dtls(rtc_transport_t *t, const uint8_t *data, size_t len)
{
    if (!t->dtls || t->closed)
        return;
    dtls_transport_feed(t->dtls, data, len);
    rearm_dtls_timer(t);
}

void rtc_transport__on_srtp(rtc_transport_t *t, uint8_t *data, size_t len, bool is_rtcp)
{
    if (!t->connected)
        return;
    int rc = is_rtcp ? srtp_session_unprotect_rtcp(t->srtp, data, &len)
                     : srtp_session_unprotect_rtp(t->srtp, data, &len);
    if (rc) {
        if (rc == SRTP_SESSION_E_REPLAY) {
            t->stats.srtp_replay++;
            sfu_worker__count(t->worker, SFU_WORKER_SRTP_REPLAY);
        } else {
            t->stats.srtp_auth_fail++;
            sfu_worker__count(t->worker, SFU_WORKER_SRTP_AUTH);
        }
        return;
    }
    if (is_rtcp) {
        t->stats.rx_rtcp++;
        if (t->listener.on_rtcp)
            t->listener.on_rtcp(t->ctx, t, data, len);
    } else {
        t->stats.rx_rtp++;
        if (t->listener.on_rtp)
            t->listener.on_rtp(t->ctx, t, data, len);
    }
}

void rtc_transport__check_consent(rtc_transport_t *t, uint64_t now_ms)
{
    if (!t->closed && now_ms - t->last_check_ms > RTC_CONSENT_TIMEOUT_MS)
        closed(t, "ICE consent expired: no connectivity check for 30 s");
}
