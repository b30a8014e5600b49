/* sfu/media.c: legs, producers and consumers on the workers, and the
 * forwarding loop: a producer's packet is copied per consumer, protected with
 * that consumer's SRTP context and sent. SSRC, sequence numbers and payload
 * types pass through unchanged: each subscribe offer announces the
 * publisher's SSRC and payload type. */
#include "sfu/media.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/idmap.h"
#include "common/log.h"
#include "dtls/srtp_session.h"
#include "rtp/rtp.h"
#include "sfu/rtc_transport.h"

#define PLI_MIN_INTERVAL_MS 500
#define RR_INTERVAL_MS      1000
#define SEND_BUF            (1500 + SRTP_SESSION_TRAILER_LEN)

typedef struct media_worker media_worker_t;

typedef struct media_leg {
    uint64_t id;
    media_worker_t *mw;
    rtc_transport_t *transport;
} media_leg_t;

/* What the node received of a producer's stream, for its receiver reports
 * (RFC 3550 6.4.1, A.1, A.8). */
typedef struct media_rx_stats {
    bool started;
    uint16_t max_seq;
    uint32_t cycles; /* sequence wraps, times 65536 */
    uint32_t base_seq;
    uint64_t received, expected_prior, received_prior;
    double jitter; /* in timestamp units */
    uint32_t last_transit;
    uint32_t last_sr;       /* middle 32 bits of the last sender report's NTP time */
    uint64_t last_sr_at_ms; /* when it arrived */
    uint64_t last_rr_ms;
} media_rx_stats_t;

typedef struct media_producer {
    uint32_t ssrc;
    bool video;
    uint32_t clock_hz;
    media_leg_t *from;
    media_leg_t **consumers;
    size_t consumer_count, consumer_cap;
    uint64_t last_pli_ms;
    media_rx_stats_t rx;
} media_producer_t;

/* Per-worker state: touched only on that worker's thread. */
struct media_worker {
    sfu_media_t *media;
    int index;
    sfu_worker_t *worker;
    idmap_t legs;      /* leg id (as int64) -> media_leg_t */
    idmap_t producers; /* ssrc + 1 -> media_producer_t */
    uint8_t send_buf[SEND_BUF];
    volatile uint64_t rtp_forwarded, rtcp_forwarded, pli_sent, rr_sent, unknown_ssrc, send_failed;
    volatile uint64_t rtp_malformed;
};

typedef struct media_event {
    uint64_t leg_id;
    bool connected;
    char reason[96];
    struct media_event *next;
} media_event_t;

struct sfu_media {
    uv_loop_t *loop;
    uv_async_t events_async;
    pthread_mutex_t events_lock;
    media_event_t *events_head, *events_tail;
    sfu_media_events_t events;
    void *ctx;
    char fingerprint[128];
    media_worker_t *workers;
    int count;
};

/* ---- events: worker -> main ---- */

static void post_event(sfu_media_t *m, uint64_t leg_id, bool connected, const char *reason)
{
    media_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->leg_id = leg_id;
    e->connected = connected;
    snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
    pthread_mutex_lock(&m->events_lock);
    if (m->events_tail)
        m->events_tail->next = e;
    else
        m->events_head = e;
    m->events_tail = e;
    pthread_mutex_unlock(&m->events_lock);
    uv_async_send(&m->events_async);
}

static void on_events(uv_async_t *a)
{
    sfu_media_t *m = a->data;
    pthread_mutex_lock(&m->events_lock);
    media_event_t *e = m->events_head;
    m->events_head = m->events_tail = NULL;
    pthread_mutex_unlock(&m->events_lock);
    while (e) {
        media_event_t *next = e->next;
        if (m->events.on_leg_state)
            m->events.on_leg_state(m->ctx, e->leg_id, e->connected,
                                   e->connected ? NULL : e->reason);
        free(e);
        e = next;
    }
}

/* ---- the packet path (worker thread) ---- */

static media_producer_t *producer_of(media_worker_t *mw, uint32_t ssrc)
{
    const idmap_set_t *s = idmap_get(&mw->producers, (int64_t)ssrc + 1);
    return s ? s->items[0] : NULL;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void send_pli(media_worker_t *mw, media_producer_t *pr, uint64_t now_ms)
{
    if (!pr->video || !pr->from || now_ms - pr->last_pli_ms < PLI_MIN_INTERVAL_MS)
        return;
    pr->last_pli_ms = now_ms;
    /* RFC 4585 6.3.1: PLI, FMT 1, PT 206, length 2; sender SSRC 1. */
    uint8_t *p = mw->send_buf;
    static const uint8_t head[8] = {0x81, 206, 0, 2, 0, 0, 0, 1};
    memcpy(p, head, 8);
    p[8] = (uint8_t)(pr->ssrc >> 24);
    p[9] = (uint8_t)(pr->ssrc >> 16);
    p[10] = (uint8_t)(pr->ssrc >> 8);
    p[11] = (uint8_t)pr->ssrc;
    if (rtc_transport_send_rtcp(pr->from->transport, p, 12, sizeof mw->send_buf) == 0)
        mw->pli_sent++;
}

static void fan_out(media_worker_t *mw, media_producer_t *pr, const uint8_t *pkt, size_t len,
                    bool rtcp)
{
    if (len > SEND_BUF - SRTP_SESSION_TRAILER_LEN)
        return;
    for (size_t i = 0; i < pr->consumer_count; i++) {
        rtc_transport_t *t = pr->consumers[i]->transport;
        if (!rtc_transport_connected(t))
            continue;
        memcpy(mw->send_buf, pkt, len);
        int rc = rtcp ? rtc_transport_send_rtcp(t, mw->send_buf, len, sizeof mw->send_buf)
                      : rtc_transport_send_rtp(t, mw->send_buf, len, sizeof mw->send_buf);
        if (rc)
            mw->send_failed++;
        else if (rtcp)
            mw->rtcp_forwarded++;
        else
            mw->rtp_forwarded++;
    }
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void rx_update(media_rx_stats_t *rx, uint16_t seq, uint32_t ts, uint32_t clock_hz,
                      uint64_t now_ms)
{
    if (!rx->started) {
        rx->started = true;
        rx->base_seq = rx->max_seq = seq;
    } else if ((uint16_t)(seq - rx->max_seq) < 0x8000) { /* in order, maybe after a gap */
        if (seq < rx->max_seq)
            rx->cycles += 65536;
        rx->max_seq = seq;
    }
    rx->received++;
    uint32_t arrival = (uint32_t)(now_ms * clock_hz / 1000);
    uint32_t transit = arrival - ts;
    if (rx->received > 1) {
        int32_t d = (int32_t)(transit - rx->last_transit);
        rx->jitter += ((d < 0 ? -(double)d : (double)d) - rx->jitter) / 16.0;
    }
    rx->last_transit = transit;
}

/* One receiver report block about pr to its publisher, at most once a second. */
static void send_rr(media_worker_t *mw, media_producer_t *pr, uint64_t now_ms)
{
    media_rx_stats_t *rx = &pr->rx;
    if (now_ms - rx->last_rr_ms < RR_INTERVAL_MS || !pr->from)
        return;
    rx->last_rr_ms = now_ms;
    uint32_t ext_max = rx->cycles + rx->max_seq;
    uint64_t expected = (uint64_t)ext_max - rx->base_seq + 1;
    int64_t lost = (int64_t)expected - (int64_t)rx->received;
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    else if (lost < -0x800000)
        lost = -0x800000;
    uint64_t exp_int = expected - rx->expected_prior;
    uint64_t rec_int = rx->received - rx->received_prior;
    rx->expected_prior = expected;
    rx->received_prior = rx->received;
    int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;
    uint8_t fraction =
        exp_int == 0 || lost_int <= 0 ? 0 : (uint8_t)((lost_int << 8) / (int64_t)exp_int);
    uint32_t dlsr = rx->last_sr_at_ms ? (uint32_t)((now_ms - rx->last_sr_at_ms) * 65536 / 1000) : 0;
    uint8_t *p = mw->send_buf;
    static const uint8_t head[8] = {0x81, 201, 0, 7, 0, 0, 0, 1}; /* RR, RC 1; sender SSRC 1 */
    memcpy(p, head, 8);
    wr32(p + 8, pr->ssrc);
    wr32(p + 12, (uint32_t)fraction << 24 | ((uint32_t)lost & 0xffffff));
    wr32(p + 16, ext_max);
    wr32(p + 20, (uint32_t)rx->jitter);
    wr32(p + 24, rx->last_sr);
    wr32(p + 28, dlsr);
    if (rtc_transport_send_rtcp(pr->from->transport, p, 32, sizeof mw->send_buf) == 0)
        mw->rr_sent++;
}

static void leg_on_rtp(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len)
{
    media_leg_t *leg = ctx;
    (void)t;
    rtp_packet_t rtp;
    if (rtp_packet_parse(&rtp, pkt, len)) {
        leg->mw->rtp_malformed++;
        return;
    }
    media_producer_t *pr = producer_of(leg->mw, rtp.ssrc);
    if (!pr || pr->from != leg) {
        leg->mw->unknown_ssrc++;
        return;
    }
    uint64_t now = uv_now(sfu_worker__loop(leg->mw->worker));
    rx_update(&pr->rx, rtp.seq, rtp.ts, pr->clock_hz, now);
    fan_out(leg->mw, pr, pkt, len, false);
    send_rr(leg->mw, pr, now);
}

/* RTCP is terminated per leg: a publisher's sender reports go on to the
 * consumers of that SSRC (lip sync); PLI and FIR from a subscriber become a
 * throttled PLI to the publisher. Receiver reports stop here. */
static void leg_on_rtcp(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len)
{
    media_leg_t *leg = ctx;
    media_worker_t *mw = leg->mw;
    (void)t;
    uint64_t now = uv_now(sfu_worker__loop(mw->worker));
    for (size_t off = 0; off + 8 <= len;) {
        const uint8_t *p = pkt + off;
        size_t plen = ((size_t)(p[2] << 8 | p[3]) + 1) * 4;
        if ((p[0] >> 6) != 2 || off + plen > len)
            break;
        uint8_t pt = p[1], fmt = p[0] & 0x1f;
        if (pt == 200 && plen >= 28) { /* SR */
            media_producer_t *pr = producer_of(mw, rd32(p + 4));
            if (pr && pr->from == leg) {
                pr->rx.last_sr = rd32(p + 8) << 16 | rd32(p + 12) >> 16;
                pr->rx.last_sr_at_ms = now;
                fan_out(mw, pr, p, plen, true);
            }
        } else if (pt == 206 && (fmt == 1 || fmt == 4) && plen >= 12) {
            uint32_t media_ssrc = fmt == 1 ? rd32(p + 8) : (plen >= 20 ? rd32(p + 12) : 0);
            media_producer_t *pr = producer_of(mw, media_ssrc);
            if (pr)
                send_pli(mw, pr, now);
        }
        off += plen;
    }
}

static void leg_on_connected(void *ctx, rtc_transport_t *t)
{
    media_leg_t *leg = ctx;
    (void)t;
    /* Consumers already attached get a keyframe now that they can receive. */
    uint64_t now = uv_now(sfu_worker__loop(leg->mw->worker));
    for (size_t i = 0; i < leg->mw->producers.cap; i++) {
        idmap_set_t *s = &leg->mw->producers.slots[i];
        for (size_t j = 0; j < s->len; j++) {
            media_producer_t *pr = s->items[j];
            for (size_t k = 0; k < pr->consumer_count; k++) {
                if (pr->consumers[k] == leg) {
                    pr->last_pli_ms = 0;
                    send_pli(leg->mw, pr, now);
                }
            }
        }
    }
    post_event(leg->mw->media, leg->id, true, NULL);
}

static void leg_on_closed(void *ctx, rtc_transport_t *t, const char *reason)
{
    media_leg_t *leg = ctx;
    (void)t;
    post_event(leg->mw->media, leg->id, false, reason);
}

static const rtc_transport_listener_t leg_listener = {
    .on_connected = leg_on_connected,
    .on_rtp = leg_on_rtp,
    .on_rtcp = leg_on_rtcp,
    .on_closed = leg_on_closed,
};

/* ---- commands (worker thread) ---- */

typedef struct media_cmd {
    media_worker_t *mw;
    uint64_t leg_id;
    uint32_t ssrc;
    bool video;
    char ufrag[40];
    char pwd[64];
    char fingerprint[128];
} media_cmd_t;

static media_leg_t *leg_of(media_worker_t *mw, uint64_t id)
{
    const idmap_set_t *s = idmap_get(&mw->legs, (int64_t)id);
    return s ? s->items[0] : NULL;
}

static void detach_consumer(media_producer_t *pr, media_leg_t *leg)
{
    for (size_t i = 0; i < pr->consumer_count; i++) {
        if (pr->consumers[i] == leg) {
            pr->consumers[i] = pr->consumers[--pr->consumer_count];
            return;
        }
    }
}

static void producer_free(media_worker_t *mw, media_producer_t *pr)
{
    idmap_remove(&mw->producers, (int64_t)pr->ssrc + 1, pr);
    free(pr->consumers);
    free(pr);
}

static void cmd_leg_open(sfu_worker_t *w, void *arg)
{
    media_cmd_t *c = arg;
    media_leg_t *leg = calloc(1, sizeof *leg);
    if (leg) {
        leg->id = c->leg_id;
        leg->mw = c->mw;
        leg->transport = rtc_transport_new(w, c->ufrag, c->pwd, c->fingerprint, &leg_listener, leg);
    }
    if (!leg || !leg->transport || idmap_add(&c->mw->legs, (int64_t)c->leg_id, leg)) {
        if (leg)
            rtc_transport_free(leg->transport);
        free(leg);
        post_event(c->mw->media, c->leg_id, false, "could not create the transport");
    }
    free(c);
}

static void leg_destroy(media_worker_t *mw, media_leg_t *leg)
{
    /* Producers it published go, and it stops consuming everything else. */
    for (size_t i = 0; i < mw->producers.cap; i++) {
        idmap_set_t *s = &mw->producers.slots[i];
        for (size_t j = 0; j < s->len;) {
            media_producer_t *pr = s->items[j];
            if (pr->from == leg) {
                producer_free(mw, pr); /* shrinks s */
                continue;
            }
            detach_consumer(pr, leg);
            j++;
        }
    }
    idmap_remove(&mw->legs, (int64_t)leg->id, leg);
    rtc_transport_free(leg->transport);
    free(leg);
}

static void cmd_leg_close(sfu_worker_t *w, void *arg)
{
    media_cmd_t *c = arg;
    (void)w;
    media_leg_t *leg = leg_of(c->mw, c->leg_id);
    if (leg)
        leg_destroy(c->mw, leg);
    free(c);
}

static void cmd_producer_add(sfu_worker_t *w, void *arg)
{
    media_cmd_t *c = arg;
    (void)w;
    media_leg_t *leg = leg_of(c->mw, c->leg_id);
    if (leg && !producer_of(c->mw, c->ssrc)) {
        media_producer_t *pr = calloc(1, sizeof *pr);
        if (pr) {
            pr->ssrc = c->ssrc;
            pr->video = c->video;
            pr->clock_hz = c->video ? 90000 : 48000; /* VP8/H264, opus */
            pr->from = leg;
            if (idmap_add(&c->mw->producers, (int64_t)c->ssrc + 1, pr))
                free(pr);
        }
    }
    free(c);
}

static void cmd_producer_remove(sfu_worker_t *w, void *arg)
{
    media_cmd_t *c = arg;
    (void)w;
    media_producer_t *pr = producer_of(c->mw, c->ssrc);
    if (pr)
        producer_free(c->mw, pr);
    free(c);
}

static void cmd_consumer_add(sfu_worker_t *w, void *arg)
{
    media_cmd_t *c = arg;
    media_producer_t *pr = producer_of(c->mw, c->ssrc);
    media_leg_t *leg = leg_of(c->mw, c->leg_id);
    if (pr && leg) {
        detach_consumer(pr, leg); /* no duplicates */
        if (pr->consumer_count == pr->consumer_cap) {
            size_t cap = pr->consumer_cap ? pr->consumer_cap * 2 : 4;
            media_leg_t **grown = realloc(pr->consumers, cap * sizeof *grown);
            if (!grown) {
                free(c);
                return;
            }
            pr->consumers = grown;
            pr->consumer_cap = cap;
        }
        pr->consumers[pr->consumer_count++] = leg;
        if (rtc_transport_connected(leg->transport)) {
            pr->last_pli_ms = 0;
            send_pli(c->mw, pr, uv_now(sfu_worker__loop(w)));
        }
    }
    free(c);
}

static void cmd_consumer_remove(sfu_worker_t *w, void *arg)
{
    media_cmd_t *c = arg;
    (void)w;
    media_producer_t *pr = producer_of(c->mw, c->ssrc);
    media_leg_t *leg = leg_of(c->mw, c->leg_id);
    if (pr && leg)
        detach_consumer(pr, leg);
    free(c);
}

static void cmd_close_all(sfu_worker_t *w, void *arg)
{
    media_worker_t *mw = arg;
    (void)w;
    for (size_t i = 0; i < mw->legs.cap; i++) {
        idmap_set_t *s = &mw->legs.slots[i];
        while (s->len)
            leg_destroy(mw, s->items[0]);
    }
    idmap_free(&mw->legs);
    idmap_free(&mw->producers);
}

/* ---- the main-thread API ---- */

static int post(sfu_media_t *m, int worker, sfu_worker_fn fn, media_cmd_t *c)
{
    if (worker < 0 || worker >= m->count) {
        free(c);
        return -EINVAL;
    }
    c->mw = &m->workers[worker];
    int rc = sfu_worker_call(m->workers[worker].worker, fn, c);
    if (rc)
        free(c);
    return rc;
}

static media_cmd_t *cmd_new(uint64_t leg_id, uint32_t ssrc, bool video)
{
    media_cmd_t *c = calloc(1, sizeof *c);
    if (c) {
        c->leg_id = leg_id;
        c->ssrc = ssrc;
        c->video = video;
    }
    return c;
}

sfu_media_t *sfu_media_new(uv_loop_t *main_loop, sfu_worker_t *const *workers, int count,
                           const char *fingerprint, const sfu_media_events_t *events, void *ctx)
{
    sfu_media_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->workers = calloc((size_t)count, sizeof *m->workers);
    if (!m->workers) {
        free(m);
        return NULL;
    }
    m->loop = main_loop;
    m->events = *events;
    m->ctx = ctx;
    m->count = count;
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fingerprint);
    for (int i = 0; i < count; i++) {
        m->workers[i].media = m;
        m->workers[i].index = i;
        m->workers[i].worker = workers[i];
        idmap_init(&m->workers[i].legs);
        idmap_init(&m->workers[i].producers);
    }
    pthread_mutex_init(&m->events_lock, NULL);
    uv_async_init(main_loop, &m->events_async, on_events);
    m->events_async.data = m;
    return m;
}

static void on_async_closed(uv_handle_t *h)
{
    sfu_media_t *m = h->data;
    media_event_t *e = m->events_head;
    while (e) {
        media_event_t *next = e->next;
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&m->events_lock);
    free(m->workers);
    free(m);
}

void sfu_media_free(sfu_media_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->count; i++)
        sfu_worker_call(m->workers[i].worker, cmd_close_all, &m->workers[i]);
    uv_close((uv_handle_t *)&m->events_async, on_async_closed);
}

int sfu_media_worker_of_room(const sfu_media_t *m, int64_t room_id)
{
    return (int)((uint64_t)room_id % (uint64_t)m->count);
}

const char *sfu_media_fingerprint(const sfu_media_t *m)
{
    return m->fingerprint;
}

int sfu_media_leg_open(sfu_media_t *m, int worker, uint64_t leg_id, const char *ufrag,
                       const char *pwd, const char *remote_fingerprint)
{
    media_cmd_t *c = cmd_new(leg_id, 0, false);
    if (!c)
        return -ENOMEM;
    snprintf(c->ufrag, sizeof c->ufrag, "%s", ufrag);
    snprintf(c->pwd, sizeof c->pwd, "%s", pwd);
    snprintf(c->fingerprint, sizeof c->fingerprint, "%s", remote_fingerprint);
    return post(m, worker, cmd_leg_open, c);
}

int sfu_media_leg_close(sfu_media_t *m, int worker, uint64_t leg_id)
{
    media_cmd_t *c = cmd_new(leg_id, 0, false);
    return c ? post(m, worker, cmd_leg_close, c) : -ENOMEM;
}

int sfu_media_producer_add(sfu_media_t *m, int worker, uint64_t leg_id, uint32_t ssrc, bool video)
{
    media_cmd_t *c = cmd_new(leg_id, ssrc, video);
    return c ? post(m, worker, cmd_producer_add, c) : -ENOMEM;
}

int sfu_media_producer_remove(sfu_media_t *m, int worker, uint32_t ssrc)
{
    media_cmd_t *c = cmd_new(0, ssrc, false);
    return c ? post(m, worker, cmd_producer_remove, c) : -ENOMEM;
}

int sfu_media_consumer_add(sfu_media_t *m, int worker, uint32_t ssrc, uint64_t leg_id)
{
    media_cmd_t *c = cmd_new(leg_id, ssrc, false);
    return c ? post(m, worker, cmd_consumer_add, c) : -ENOMEM;
}

int sfu_media_consumer_remove(sfu_media_t *m, int worker, uint32_t ssrc, uint64_t leg_id)
{
    media_cmd_t *c = cmd_new(leg_id, ssrc, false);
    return c ? post(m, worker, cmd_consumer_remove, c) : -ENOMEM;
}

void sfu_media_counters(const sfu_media_t *m, sfu_media_counters_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < m->count; i++) {
        const media_worker_t *mw = &m->workers[i];
        out->rtp_forwarded += mw->rtp_forwarded;
        out->rtcp_forwarded += mw->rtcp_forwarded;
        out->pli_sent += mw->pli_sent;
        out->rr_sent += mw->rr_sent;
        out->rtp_malformed += mw->rtp_malformed;
        out->unknown_ssrc += mw->unknown_ssrc;
        out->send_failed += mw->send_failed;
        sfu_worker_stats_t ws;
        sfu_worker_stats(mw->worker, &ws);
        out->udp_rx += ws.rx_packets;
        out->udp_rx_dropped += ws.rx_dropped;
        out->stun_rejected += ws.stun_rejected;
        out->udp_tx += ws.tx_packets;
        out->udp_tx_failed += ws.tx_failed;
        out->srtp_auth_failed += ws.srtp_auth_failed;
        out->srtp_replayed += ws.srtp_replayed;
        out->dtls_failed += ws.dtls_failed;
        out->transports += ws.transports;
    }
}
