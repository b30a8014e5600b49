/* sfu/media.c: the main thread's handle on the media plane. Each call posts
 * one command to the worker that owns the room (common/mq); there the
 * command acts on the room's model (sfu/room.h). Legs report their state back
 * to the main loop through the same kind of queue. */
#include "sfu/media.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/idmap.h"
#include "common/log.h"
#include "common/mq.h"
#include "dtls/dtls_transport.h"
#include "dtls/srtp_session.h"
#include "sfu/datachannel.h"
#include "sfu/room.h"
#include "sfu/rtc_transport.h"

#define SCRATCH_CAP (1500 + SRTP_SESSION_TRAILER_LEN)

typedef struct media_worker media_worker_t;

/* A leg on the worker: its transport and its place in the room's model. */
typedef struct media_leg {
    uint64_t id;
    media_worker_t *mw;
    rtc_transport_t *transport;
    sfu_leg_t *leg;
    sfu_dc_leg_t *dc; /* data channels, when the leg carries them */
} media_leg_t;

/* Per-worker state: touched only on that worker's thread (but stats). */
struct media_worker {
    sfu_media_t *media;
    int index;
    sfu_worker_t *worker;
    idmap_t rooms; /* room id -> sfu_room_t */
    idmap_t legs;  /* leg id -> media_leg_t */
    sfu_media_stats_t stats;
    sfu_dc_hub_t *dc_hub; /* while any leg has data channels */
    sfu_dc_stats_t dc_stats;
    uint8_t scratch[SCRATCH_CAP];
};

typedef struct media_event {
    uint64_t leg_id; /* 0: a speaker report */
    bool connected;
    char reason[96];
    int64_t room_id;
    uint64_t active;
    bool changed;
    int n;
    uint64_t producer_ids[SFU_SPEAKER_MAX];
    uint8_t loudness[SFU_SPEAKER_MAX];
} media_event_t;

struct sfu_media {
    uv_loop_t *loop;
    mq_t events; /* worker -> main */
    sfu_media_events_t cb;
    void *ctx;
    char fingerprint[128];
    media_worker_t *workers;
    int count;
    int max_video_kbps; /* set before any room exists */
};

/* ---- events: worker -> main ---- */

static void deliver_event(void *ctx, void *arg)
{
    sfu_media_t *m = ctx;
    media_event_t *e = arg;
    if (e->leg_id && m->cb.on_leg_state)
        m->cb.on_leg_state(m->ctx, e->leg_id, e->connected, e->connected ? NULL : e->reason);
    else if (!e->leg_id && m->cb.on_speaker)
        m->cb.on_speaker(m->ctx, e->room_id, e->active, e->changed, e->n, e->producer_ids,
                         e->loudness);
    free(e);
}

static void post_event(sfu_media_t *m, uint64_t leg_id, bool connected, const char *reason)
{
    media_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->leg_id = leg_id;
    e->connected = connected;
    snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
    if (mq_post(&m->events, deliver_event, e))
        free(e);
}

static void on_room_speaker(void *ctx, sfu_room_t *r, const sfu_speaker_t *s, bool changed)
{
    media_worker_t *mw = ctx;
    media_event_t *e = malloc(sizeof *e);
    if (!e)
        return;
    e->leg_id = 0;
    e->room_id = sfu_room_id(r);
    e->active = s->active;
    e->changed = changed;
    e->n = s->count;
    for (int i = 0; i < s->count; i++) {
        e->producer_ids[i] = s->entries[i].producer_id;
        e->loudness[i] = s->entries[i].loudness;
    }
    if (mq_post(&mw->media->events, deliver_event, e))
        free(e);
}

/* ---- the transport under a leg (worker thread) ---- */

static uint64_t now_ms_of(const media_leg_t *ml)
{
    return uv_now(sfu_worker__loop(ml->mw->worker));
}

static uint64_t wall_clock_ntp(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* RFC 3550 4: seconds since 1900 in the high word, the fraction below. */
    uint64_t secs = (uint64_t)ts.tv_sec + 2208988800ull;
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000ull;
    return secs << 32 | frac;
}

static uint64_t monotonic_us(void)
{
    return uv_hrtime() / 1000;
}

static int io_send_rtp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    media_leg_t *ml = ctx;
    return rtc_transport_send_rtp(ml->transport, pkt, len, cap);
}

static int io_send_rtcp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    media_leg_t *ml = ctx;
    return rtc_transport_send_rtcp(ml->transport, pkt, len, cap);
}

static const sfu_leg_io_t leg_io = {.send_rtp = io_send_rtp, .send_rtcp = io_send_rtcp};

static void on_transport_rtp(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len)
{
    media_leg_t *ml = ctx;
    (void)t;
    sfu_leg_receive_rtp(ml->leg, pkt, len, now_ms_of(ml));
}

static void on_transport_rtcp(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len)
{
    media_leg_t *ml = ctx;
    (void)t;
    sfu_leg_receive_rtcp(ml->leg, pkt, len, now_ms_of(ml));
}

static void on_transport_app_data(void *ctx, rtc_transport_t *t, const uint8_t *data, size_t len)
{
    media_leg_t *ml = ctx;
    (void)t;
    if (ml->dc)
        sfu_dc_leg_input(ml->dc, data, len);
}

static int dc_send(void *ctx, const uint8_t *data, size_t len)
{
    media_leg_t *ml = ctx;
    return rtc_transport_send_app(ml->transport, data, len);
}

static void on_transport_connected(void *ctx, rtc_transport_t *t)
{
    media_leg_t *ml = ctx;
    (void)t;
    if (ml->dc)
        sfu_dc_leg_start(ml->dc);
    sfu_leg_set_connected(ml->leg, true, now_ms_of(ml));
    post_event(ml->mw->media, ml->id, true, NULL);
}

static void on_transport_closed(void *ctx, rtc_transport_t *t, const char *reason)
{
    media_leg_t *ml = ctx;
    (void)t;
    sfu_leg_set_connected(ml->leg, false, now_ms_of(ml));
    post_event(ml->mw->media, ml->id, false, reason);
}

static const rtc_transport_listener_t transport_listener = {
    .on_connected = on_transport_connected,
    .on_rtp = on_transport_rtp,
    .on_rtcp = on_transport_rtcp,
    .on_app_data = on_transport_app_data,
    .on_closed = on_transport_closed,
};

/* ---- commands (worker thread) ---- */

typedef enum {
    CMD_LEG_OPEN,
    CMD_LEG_CLOSE,
    CMD_LEG_RESTART_ICE,
    CMD_LEG_CAPS,
    CMD_PRODUCER_ADD,
    CMD_PRODUCER_REMOVE,
    CMD_CONSUMER_ADD,
    CMD_CONSUMER_REMOVE,
    CMD_CONSUMER_PAUSE,
    CMD_CONSUMER_LAYERS,
    CMD_LEG_DATACHANNEL,
    CMD_CONSUMER_SWITCH,
} media_cmd_kind_t;

typedef struct media_cmd {
    media_cmd_kind_t kind;
    media_worker_t *mw;
    int64_t room_id;
    uint64_t leg_id;
    uint64_t producer_id, consumer_id;
    int64_t user_id;
    bool paused, rtx;
    int layer_limit;
    rtp_ext_ids_t ext;
    sfu_producer_params_t producer;
    sfu_consumer_params_t consumer;
    char ufrag[40];
    char pwd[64];
    char fingerprint[128];
} media_cmd_t;

static sfu_room_t *room_of(media_worker_t *mw, int64_t room_id)
{
    const idmap_set_t *s = room_id > 0 ? idmap_get(&mw->rooms, room_id) : NULL;
    return s ? s->items[0] : NULL;
}

static media_leg_t *leg_of(media_worker_t *mw, uint64_t id)
{
    const idmap_set_t *s = id && id <= INT64_MAX ? idmap_get(&mw->legs, (int64_t)id) : NULL;
    return s ? s->items[0] : NULL;
}

static sfu_room_t *room_open(media_worker_t *mw, int64_t room_id)
{
    sfu_room_t *r = room_of(mw, room_id);
    if (r)
        return r;
    sfu_room_env_t env = {.stats = &mw->stats,
                          .scratch = mw->scratch,
                          .scratch_cap = sizeof mw->scratch,
                          .now_ntp = wall_clock_ntp,
                          .on_speaker = on_room_speaker,
                          .ctx = mw,
                          .now_us = monotonic_us,
                          .max_video_bps = (uint64_t)mw->media->max_video_kbps * 1000};
    r = sfu_room_new(room_id, &env);
    if (r && idmap_add(&mw->rooms, room_id, r)) {
        sfu_room_free(r);
        r = NULL;
    }
    return r;
}

static void leg_destroy(media_worker_t *mw, media_leg_t *ml)
{
    sfu_room_t *r = sfu_leg_room(ml->leg);
    sfu_dc_leg_free(ml->dc);
    sfu_leg_free(ml->leg);
    idmap_remove(&mw->legs, (int64_t)ml->id, ml);
    rtc_transport_free(ml->transport);
    free(ml);
    if (sfu_room_leg_count(r) == 0) {
        idmap_remove(&mw->rooms, sfu_room_id(r), r);
        sfu_room_free(r);
    }
}

static void cmd_leg_open(media_worker_t *mw, const media_cmd_t *c)
{
    sfu_room_t *r = room_open(mw, c->room_id);
    media_leg_t *ml =
        r && c->leg_id <= INT64_MAX && !leg_of(mw, c->leg_id) ? calloc(1, sizeof *ml) : NULL;
    if (ml) {
        ml->id = c->leg_id;
        ml->mw = mw;
        ml->leg = sfu_leg_new(r, c->leg_id, &leg_io, ml);
        ml->transport = ml->leg ? rtc_transport_new(mw->worker, c->ufrag, c->pwd, c->fingerprint,
                                                    &transport_listener, ml)
                                : NULL;
    }
    if (ml && ml->transport && idmap_add(&mw->legs, (int64_t)c->leg_id, ml) == 0)
        return;
    if (ml) {
        rtc_transport_free(ml->transport);
        sfu_leg_free(ml->leg);
        free(ml);
    }
    if (r && sfu_room_leg_count(r) == 0) {
        idmap_remove(&mw->rooms, c->room_id, r);
        sfu_room_free(r);
    }
    post_event(mw->media, c->leg_id, false, "could not create the transport");
}

static void run_cmd(void *worker, void *arg)
{
    media_cmd_t *c = arg;
    media_worker_t *mw = c->mw;
    sfu_room_t *r = room_of(mw, c->room_id);
    media_leg_t *ml = leg_of(mw, c->leg_id);
    uint64_t now = uv_now(sfu_worker__loop(worker));
    int rc = 0;
    switch (c->kind) {
    case CMD_LEG_OPEN:
        cmd_leg_open(mw, c);
        break;
    case CMD_LEG_CLOSE:
        if (ml)
            leg_destroy(mw, ml);
        break;
    case CMD_LEG_RESTART_ICE:
        rc = ml ? rtc_transport_restart_ice(ml->transport, c->ufrag, c->pwd) : -ENOENT;
        break;
    case CMD_LEG_CAPS:
        if (ml) {
            sfu_leg_set_ext_ids(ml->leg, &c->ext);
            sfu_leg_set_rtx(ml->leg, c->rtx);
        }
        break;
    case CMD_PRODUCER_ADD:
        rc = r && ml ? sfu_producer_new(r, ml->leg, &c->producer, NULL) : -ENOENT;
        break;
    case CMD_PRODUCER_REMOVE:
        rc = r ? sfu_room_producer_close(r, c->producer_id, c->leg_id) : -ENOENT;
        break;
    case CMD_CONSUMER_ADD:
        rc = r && ml ? sfu_consumer_new(r, c->producer_id, ml->leg, &c->consumer, now, NULL)
                     : -ENOENT;
        if (rc == -EEXIST)
            rc = 0; /* attached again once the leg opened: already there */
        break;
    case CMD_CONSUMER_REMOVE:
        rc = r ? sfu_room_consumer_close(r, c->consumer_id) : -ENOENT;
        break;
    case CMD_CONSUMER_PAUSE:
        rc = r ? sfu_room_consumer_pause(r, c->consumer_id, c->paused, now) : -ENOENT;
        break;
    case CMD_CONSUMER_LAYERS:
        rc = r ? sfu_room_consumer_set_layers(r, c->consumer_id, c->layer_limit, 0, now) : -ENOENT;
        break;
    case CMD_CONSUMER_SWITCH: {
        sfu_consumer_t *con = r ? sfu_room_consumer(r, c->consumer.id) : NULL;
        sfu_producer_t *pr = r ? sfu_room_producer(r, c->producer_id) : NULL;
        if (con && pr)
            rc = sfu_consumer_switch_producer(con, pr, now);
        else if (!con) /* its producer went, and the consumer with it */
            rc = r && ml ? sfu_consumer_new(r, c->producer_id, ml->leg, &c->consumer, now, NULL)
                         : -ENOENT;
        else
            rc = -ENOENT;
        break;
    }
    case CMD_LEG_DATACHANNEL:
        if (ml && !ml->dc) {
            ml->dc = sfu_dc_leg_new(&mw->dc_hub, sfu_worker__loop(worker), &mw->dc_stats,
                                    c->room_id, c->user_id, dc_send, ml);
            if (ml->dc && rtc_transport_connected(ml->transport))
                sfu_dc_leg_start(ml->dc);
        }
        break;
    }
    if (rc && rc != -ENOENT)
        log_warn("media", "room %lld: command %d failed: %s", (long long)c->room_id, (int)c->kind,
                 strerror(-rc));
    free(c);
}

static void close_all(void *worker, void *arg)
{
    media_worker_t *mw = arg;
    (void)worker;
    for (size_t i = 0; i < mw->legs.cap; i++) {
        idmap_set_t *s = &mw->legs.slots[i];
        while (s->len)
            leg_destroy(mw, s->items[0]);
    }
    idmap_free(&mw->legs);
    idmap_free(&mw->rooms);
}

/* ---- the main-thread API ---- */

static media_cmd_t *cmd_new(media_cmd_kind_t kind, int64_t room_id, uint64_t leg_id)
{
    media_cmd_t *c = calloc(1, sizeof *c);
    if (c) {
        c->kind = kind;
        c->room_id = room_id;
        c->leg_id = leg_id;
    }
    return c;
}

static int post(sfu_media_t *m, media_cmd_t *c)
{
    if (!c)
        return -ENOMEM;
    int w = sfu_media_worker_of_room(m, c->room_id);
    c->mw = &m->workers[w];
    int rc = sfu_worker_call(m->workers[w].worker, run_cmd, c);
    if (rc)
        free(c);
    return rc;
}

sfu_media_t *sfu_media_new(uv_loop_t *main_loop, sfu_worker_t *const *workers, int count,
                           const char *fingerprint, const sfu_media_events_t *events, void *ctx)
{
    sfu_media_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->workers = calloc((size_t)count, sizeof *m->workers);
    if (!m->workers || mq_init(&m->events, main_loop, m)) {
        free(m->workers);
        free(m);
        return NULL;
    }
    m->loop = main_loop;
    m->cb = *events;
    m->ctx = ctx;
    m->count = count;
    m->max_video_kbps = 2500;
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fingerprint);
    for (int i = 0; i < count; i++) {
        m->workers[i].media = m;
        m->workers[i].index = i;
        m->workers[i].worker = workers[i];
        idmap_init(&m->workers[i].rooms);
        idmap_init(&m->workers[i].legs);
    }
    return m;
}

static void on_events_closed(uv_handle_t *h)
{
    mq_t *q = h->data;
    sfu_media_t *m = q->ctx;
    m->cb.on_leg_state = NULL; /* what raced the close is freed, not delivered */
    mq_destroy(&m->events);
    free(m->workers);
    free(m);
}

void sfu_media_free(sfu_media_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->count; i++)
        sfu_worker_call(m->workers[i].worker, close_all, &m->workers[i]);
    /* Events still queued are delivered; later ones are dropped at close. */
    mq_close(&m->events, on_events_closed);
}

void sfu_media_set_max_video_bitrate(sfu_media_t *m, int kbps)
{
    m->max_video_kbps = kbps;
}

int sfu_media_worker_of_room(const sfu_media_t *m, int64_t room_id)
{
    return (int)((uint64_t)room_id % (uint64_t)m->count);
}

const char *sfu_media_fingerprint(const sfu_media_t *m)
{
    return m->fingerprint;
}

int sfu_media_leg_open(sfu_media_t *m, int64_t room_id, uint64_t leg_id, const char *ufrag,
                       const char *pwd, const char *remote_fingerprint)
{
    media_cmd_t *c = cmd_new(CMD_LEG_OPEN, room_id, leg_id);
    if (!c)
        return -ENOMEM;
    snprintf(c->ufrag, sizeof c->ufrag, "%s", ufrag);
    snprintf(c->pwd, sizeof c->pwd, "%s", pwd);
    snprintf(c->fingerprint, sizeof c->fingerprint, "%s", remote_fingerprint);
    return post(m, c);
}

int sfu_media_leg_close(sfu_media_t *m, int64_t room_id, uint64_t leg_id)
{
    return post(m, cmd_new(CMD_LEG_CLOSE, room_id, leg_id));
}

int sfu_media_leg_restart_ice(sfu_media_t *m, int64_t room_id, uint64_t leg_id, const char *ufrag,
                              const char *pwd)
{
    media_cmd_t *c = cmd_new(CMD_LEG_RESTART_ICE, room_id, leg_id);
    if (!c)
        return -ENOMEM;
    snprintf(c->ufrag, sizeof c->ufrag, "%s", ufrag);
    snprintf(c->pwd, sizeof c->pwd, "%s", pwd);
    return post(m, c);
}

int sfu_media_leg_set_caps(sfu_media_t *m, int64_t room_id, uint64_t leg_id,
                           const rtp_ext_ids_t *ids, bool rtx)
{
    media_cmd_t *c = cmd_new(CMD_LEG_CAPS, room_id, leg_id);
    if (c) {
        c->ext = *ids;
        c->rtx = rtx;
    }
    return post(m, c);
}

int sfu_media_producer_add(sfu_media_t *m, int64_t room_id, uint64_t leg_id,
                           const sfu_producer_params_t *params)
{
    media_cmd_t *c = cmd_new(CMD_PRODUCER_ADD, room_id, leg_id);
    if (c)
        c->producer = *params;
    return post(m, c);
}

int sfu_media_producer_remove(sfu_media_t *m, int64_t room_id, uint64_t owner_leg_id,
                              uint64_t producer_id)
{
    media_cmd_t *c = cmd_new(CMD_PRODUCER_REMOVE, room_id, owner_leg_id);
    if (c)
        c->producer_id = producer_id;
    return post(m, c);
}

int sfu_media_consumer_add(sfu_media_t *m, int64_t room_id, uint64_t producer_id, uint64_t leg_id,
                           const sfu_consumer_params_t *params)
{
    media_cmd_t *c = cmd_new(CMD_CONSUMER_ADD, room_id, leg_id);
    if (c) {
        c->producer_id = producer_id;
        c->consumer = *params;
    }
    return post(m, c);
}

int sfu_media_consumer_switch(sfu_media_t *m, int64_t room_id, uint64_t producer_id,
                              uint64_t leg_id, const sfu_consumer_params_t *params)
{
    media_cmd_t *c = cmd_new(CMD_CONSUMER_SWITCH, room_id, leg_id);
    if (c) {
        c->producer_id = producer_id;
        c->consumer = *params;
    }
    return post(m, c);
}

int sfu_media_consumer_remove(sfu_media_t *m, int64_t room_id, uint64_t consumer_id)
{
    media_cmd_t *c = cmd_new(CMD_CONSUMER_REMOVE, room_id, 0);
    if (c)
        c->consumer_id = consumer_id;
    return post(m, c);
}

int sfu_media_leg_datachannel(sfu_media_t *m, int64_t room_id, uint64_t leg_id, int64_t user_id)
{
    media_cmd_t *c = cmd_new(CMD_LEG_DATACHANNEL, room_id, leg_id);
    if (c)
        c->user_id = user_id;
    return post(m, c);
}

int sfu_media_consumer_pause(sfu_media_t *m, int64_t room_id, uint64_t consumer_id, bool paused)
{
    media_cmd_t *c = cmd_new(CMD_CONSUMER_PAUSE, room_id, 0);
    if (c) {
        c->consumer_id = consumer_id;
        c->paused = paused;
    }
    return post(m, c);
}

int sfu_media_consumer_set_layers(sfu_media_t *m, int64_t room_id, uint64_t consumer_id,
                                  int layer_limit)
{
    media_cmd_t *c = cmd_new(CMD_CONSUMER_LAYERS, room_id, 0);
    if (c) {
        c->consumer_id = consumer_id;
        c->layer_limit = layer_limit;
    }
    return post(m, c);
}

bool sfu_media_reason_is_hangup(const char *reason)
{
    return reason && !strcmp(reason, DTLS_REASON_CLOSE_NOTIFY);
}

void sfu_media_counters(const sfu_media_t *m, sfu_media_counters_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < m->count; i++) {
        const sfu_media_stats_t *s = &m->workers[i].stats;
        out->rtp_forwarded += counter_get(&s->rtp_forwarded);
        out->sr_sent += counter_get(&s->sr_sent);
        out->pli_sent += counter_get(&s->pli_sent);
        out->rr_sent += counter_get(&s->rr_sent);
        out->nack_sent += counter_get(&s->nack_sent);
        out->nack_received += counter_get(&s->nack_received);
        out->keyframe_requests += counter_get(&s->keyframe_requests);
        out->retransmitted += counter_get(&s->retransmitted);
        out->nack_miss += counter_get(&s->nack_miss);
        out->upstream_recovered += counter_get(&s->upstream_recovered);
        out->upstream_given_up += counter_get(&s->upstream_given_up);
        out->upstream_rtx += counter_get(&s->upstream_rtx);
        out->upstream_rtx_padding += counter_get(&s->upstream_rtx_padding);
        out->twcc_sent += counter_get(&s->twcc_sent);
        out->twcc_received += counter_get(&s->twcc_received);
        out->remb_sent += counter_get(&s->remb_sent);
        out->layer_switches += counter_get(&s->layer_switches);
        out->probes += counter_get(&s->probes);
        out->rtp_malformed += counter_get(&s->rtp_malformed);
        out->rtcp_malformed += counter_get(&s->rtcp_malformed);
        out->unknown_ssrc += counter_get(&s->unknown_ssrc);
        out->rtcp_unknown_ssrc += counter_get(&s->rtcp_unknown_ssrc);
        out->rtp_not_placed += counter_get(&s->rtp_not_placed);
        out->send_failed += counter_get(&s->send_failed);
        const sfu_dc_stats_t *d = &m->workers[i].dc_stats;
        out->dc_relayed_reliable += counter_get(&d->relayed_reliable);
        out->dc_relayed_unreliable += counter_get(&d->relayed_unreliable);
        out->dc_bytes_reliable += counter_get(&d->bytes_reliable);
        out->dc_bytes_unreliable += counter_get(&d->bytes_unreliable);
        out->dc_dropped_size += counter_get(&d->dropped_size);
        out->dc_dropped_rate += counter_get(&d->dropped_rate);
        out->dc_dropped_full += counter_get(&d->dropped_full);
        out->dc_closed_not_reading += counter_get(&d->closed_not_reading);
        sfu_worker_stats_t ws;
        sfu_worker_stats(m->workers[i].worker, &ws);
        out->udp_rx += ws.rx_packets;
        out->udp_rx_dropped += ws.rx_dropped;
        out->stun_rejected += ws.stun_rejected;
        out->udp_tx += ws.tx_packets;
        out->udp_tx_failed += ws.tx_failed;
        out->srtp_auth_failed += ws.srtp_auth_failed;
        out->srtp_replayed += ws.srtp_replayed;
        out->dtls_failed += ws.dtls_failed;
        out->transports += ws.transports;
        out->tcp_accepted += ws.tcp_accepted;
        out->tcp_refused += ws.tcp_refused;
        out->tcp_timed_out += ws.tcp_timed_out;
        out->tcp_bad += ws.tcp_bad;
    }
}
