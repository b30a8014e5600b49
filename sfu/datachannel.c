/* sfu/datachannel.c: relaying participants' data channel messages within
 * a room, on the room's worker. */
#include "sfu/datachannel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "dtls/sctp_transport.h"

#define TICK_MS  10
#define UID_TEXT 24 /* "-9223372036854775808:" */

struct sfu_dc_leg {
    sfu_dc_hub_t *hub;
    sctp_transport_t *sctp;
    int64_t room_id, user_id;
    sfu_dc_send_fn send;
    void *ctx;
    int app, state; /* the streams of its channels "app" and "state"; -1: none */
    double tokens;  /* rate limit */
    uint64_t tokens_ms;
};

struct sfu_dc_hub {
    sfu_dc_hub_t **slot; /* the worker's pointer to us, cleared when we go */
    uv_timer_t timer;
    uv_loop_t *loop;
    sfu_dc_stats_t *stats;
    sfu_dc_leg_t **legs;
    int count, cap;
    uint8_t frame[SFU_DC_MAX_MESSAGE + UID_TEXT];
};

static void on_tick(uv_timer_t *timer)
{
    sfu_dc_hub_t *h = timer->data;
    sctp_transport_tick(uv_now(h->loop));
    for (int i = 0; i < h->count; i++)
        sctp_transport_poll(h->legs[i]->sctp);
}

static void hub_closed(uv_handle_t *handle)
{
    sfu_dc_hub_t *h = handle->data;
    free(h->legs);
    free(h);
}

static void dc_send_packet(void *ctx, const uint8_t *data, size_t len)
{
    sfu_dc_leg_t *l = ctx;
    l->send(l->ctx, data, len);
}

static void dc_open(void *ctx, uint16_t stream, const dcep_open_t *open, bool remote)
{
    sfu_dc_leg_t *l = ctx;
    if (!remote)
        return;
    log_debug("dc", "room %lld: user %lld opened channel %s on stream %u (type %u)",
              (long long)l->room_id, (long long)l->user_id, open->label, stream,
              (unsigned)open->channel_type);
    if (!strcmp(open->label, "app"))
        l->app = stream;
    else if (!strcmp(open->label, "state"))
        l->state = stream;
}

static void dc_channel_closed(void *ctx, uint16_t stream, const char *reason)
{
    sfu_dc_leg_t *l = ctx;
    log_debug("dc", "room %lld: user %lld's channel on stream %u closed: %s", (long long)l->room_id,
              (long long)l->user_id, stream, reason ? reason : "");
    if (l->app == stream)
        l->app = -1;
    if (l->state == stream)
        l->state = -1;
}

/* Token bucket: false when the participant sends faster than allowed. */
static bool rate_ok(sfu_dc_leg_t *l)
{
    uint64_t now = uv_now(l->hub->loop);
    l->tokens += (double)(now - l->tokens_ms) * SFU_DC_RATE / 1000.0;
    if (l->tokens > SFU_DC_BURST)
        l->tokens = SFU_DC_BURST;
    l->tokens_ms = now;
    if (l->tokens < 1)
        return false;
    l->tokens -= 1;
    return true;
}

/* The relayed form: text "<userId>:<text>", binary the user id (8 bytes,
 * big-endian, two's complement) then the bytes. */
static size_t frame(sfu_dc_hub_t *h, int64_t user_id, bool binary, const uint8_t *data, size_t len)
{
    size_t n;
    if (binary) {
        wr_be32(h->frame, (uint32_t)((uint64_t)user_id >> 32));
        wr_be32(h->frame + 4, (uint32_t)(uint64_t)user_id);
        n = 8;
    } else {
        n = (size_t)snprintf((char *)h->frame, UID_TEXT, "%lld:", (long long)user_id);
    }
    memcpy(h->frame + n, data, len);
    return n + len;
}

static void dc_message(void *ctx, uint16_t stream, bool binary, const uint8_t *data, size_t len)
{
    sfu_dc_leg_t *from = ctx;
    sfu_dc_hub_t *h = from->hub;
    bool app = stream == from->app;
    if (!app && stream != from->state)
        return; /* a channel of another name: nothing to do with it */
    if (len > SFU_DC_MAX_MESSAGE) {
        counter_inc(&h->stats->dropped_size);
        return;
    }
    if (!rate_ok(from)) {
        counter_inc(&h->stats->dropped_rate);
        return;
    }
    size_t n = frame(h, from->user_id, binary, data, len);
    for (int i = 0; i < h->count; i++) {
        sfu_dc_leg_t *to = h->legs[i];
        int s = app ? to->app : to->state;
        if (to == from || to->room_id != from->room_id || s < 0)
            continue;
        int rc = sctp_transport_send(to->sctp, (uint16_t)s, binary, h->frame, n);
        if (rc == 0) {
            counter_inc(app ? &h->stats->relayed_reliable : &h->stats->relayed_unreliable);
            counter_add(app ? &h->stats->bytes_reliable : &h->stats->bytes_unreliable, len);
        } else if (rc == -EAGAIN && app) {
            /* Its buffer is full: it does not read. It loses the channel, not the others. */
            counter_inc(&h->stats->closed_not_reading);
            log_info("dc", "room %lld: user %lld's channel app closed: not reading",
                     (long long)to->room_id, (long long)to->user_id);
            sctp_transport_close_channel(to->sctp, (uint16_t)s, "not reading");
        } else if (rc == -EAGAIN) {
            counter_inc(&h->stats->dropped_full); /* "state" just loses the message */
        }
    }
}

static void dc_closed(void *ctx, const char *reason)
{
    sfu_dc_leg_t *l = ctx;
    log_debug("dc", "room %lld: user %lld's data channels ended: %s", (long long)l->room_id,
              (long long)l->user_id, reason);
    l->app = l->state = -1;
}

static const sctp_transport_callbacks_t dc_callbacks = {
    .send_packet = dc_send_packet,
    .on_channel_open = dc_open,
    .on_message = dc_message,
    .on_channel_closed = dc_channel_closed,
    .on_closed = dc_closed,
};

sfu_dc_leg_t *sfu_dc_leg_new(sfu_dc_hub_t **hub, uv_loop_t *loop, sfu_dc_stats_t *stats,
                             int64_t room_id, int64_t user_id, sfu_dc_send_fn send, void *ctx)
{
    sfu_dc_hub_t *h = *hub;
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h)
            return NULL;
        h->slot = hub;
        h->loop = loop;
        h->stats = stats;
        uv_timer_init(loop, &h->timer);
        h->timer.data = h;
        uv_timer_start(&h->timer, on_tick, TICK_MS, TICK_MS);
        *hub = h;
    }
    if (h->count == h->cap) {
        int cap = h->cap ? h->cap * 2 : 8;
        sfu_dc_leg_t **grown = realloc(h->legs, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        h->legs = grown;
        h->cap = cap;
    }
    sfu_dc_leg_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->hub = h;
    l->room_id = room_id;
    l->user_id = user_id;
    l->send = send;
    l->ctx = ctx;
    l->app = l->state = -1;
    l->tokens = SFU_DC_BURST;
    l->tokens_ms = uv_now(loop);
    /* We are the DTLS server: our streams would be odd (we open none). */
    l->sctp = sctp_transport_new(false, SFU_DC_MAX_MESSAGE + UID_TEXT, SFU_DC_SEND_BUFFER,
                                 &dc_callbacks, l);
    if (!l->sctp) {
        free(l);
        return NULL;
    }
    h->legs[h->count++] = l;
    return l;
}

void sfu_dc_leg_free(sfu_dc_leg_t *l)
{
    if (!l)
        return;
    sfu_dc_hub_t *h = l->hub;
    for (int i = 0; i < h->count; i++) {
        if (h->legs[i] == l)
            h->legs[i] = h->legs[--h->count];
    }
    sctp_transport_free(l->sctp);
    free(l);
    if (h->count == 0) {
        *h->slot = NULL;
        uv_timer_stop(&h->timer);
        uv_close((uv_handle_t *)&h->timer, hub_closed);
    }
}

void sfu_dc_leg_start(sfu_dc_leg_t *l)
{
    if (sctp_transport_start(l->sctp))
        log_warn("dc", "room %lld: user %lld: SCTP did not start", (long long)l->room_id,
                 (long long)l->user_id);
}

void sfu_dc_leg_input(sfu_dc_leg_t *l, const uint8_t *data, size_t len)
{
    sctp_transport_input(l->sctp, data, len);
}
