/* sfu/consumer.c: one producer sent to one subscribe leg. Each packet is
 * copied once into the worker's scratch buffer and rewritten there: SSRC,
 * sequence number and timestamp (rtp_rewriter_t), extension ids remapped to
 * the subscriber's, mid / abs-send-time / transport-wide sequence rewritten
 * with this leg's values; then the leg protects and sends it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/util.h"
#include "sfu/simulcast.h"
#include "sfu/room_internal.h"

/* Room for a rebuilt extension block when a mid grows. */
#define CONSUMER_MAX_EXT_ELEMS 16

int sfu_consumer_new(sfu_room_t *r, uint64_t producer_id, sfu_leg_t *sub,
                     const sfu_consumer_params_t *params, uint64_t now_ms, sfu_consumer_t **out)
{
    if (!params->id || params->id > INT64_MAX || !params->ssrc || sub->room != r)
        return -EINVAL;
    sfu_producer_t *pr = sfu_room_producer(r, producer_id);
    if (!pr)
        return -ENOENT;
    if (pr->owner == sub)
        return -EINVAL;
    if (sfu_room_consumer(r, params->id) ||
        idmap_get(&sub->consumers_by_ssrc, (int64_t)params->ssrc + 1))
        return -EEXIST;
    sfu_consumer_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->room = r;
    c->producer = pr;
    c->leg = sub;
    c->p = *params;
    c->p.mid[sizeof c->p.mid - 1] = '\0';
    /* RFC 3550 5.1: random initial sequence number and timestamp. */
    uint16_t first_seq;
    uint32_t first_ts;
    random_bytes((uint8_t *)&first_seq, sizeof first_seq);
    random_bytes((uint8_t *)&first_ts, sizeof first_ts);
    random_bytes((uint8_t *)&c->rtx_seq, sizeof c->rtx_seq);
    rtp_rewriter_init(&c->rw, pr->nstreams > 1 ? 0 : pr->p.ssrc, params->ssrc, pr->p.clock_hz,
                      first_seq, first_ts);
    for (int i = 0; i < SFU_LEG_RETIRED; i++) {
        if (sub->retired[i].ssrc != params->ssrc)
            continue;
        /* The SSRC's numbering carries on, as when a consumer switches producer. */
        c->rw = sub->retired[i].rw;
        rtp_rewriter_switch(&c->rw, pr->nstreams > 1 ? 0 : pr->p.ssrc);
        c->rw.clock_hz = pr->p.clock_hz;
        sub->retired[i].ssrc = 0;
    }
    c->layer = c->target_layer = pr->nstreams > 1 ? -1 : 0;
    c->tl = c->target_tl = SFU_MAX_TEMPORAL;
    sfu_consumer__rebuild_ext_map(c);
    if (idmap_add(&r->consumers_by_id, (int64_t)params->id, c)) {
        free(c);
        return -ENOMEM;
    }
    if (idmap_add(&sub->consumers_by_ssrc, (int64_t)params->ssrc + 1, c)) {
        idmap_remove(&r->consumers_by_id, (int64_t)params->id, c);
        free(c);
        return -ENOMEM;
    }
    c->next_of_producer = pr->consumers;
    pr->consumers = c;
    c->next_in_leg = sub->consumers;
    sub->consumers = c;
    /* Simulcast: the layer is chosen with the first packets, then asked for. */
    if (sub->connected && !c->p.paused && pr->nstreams == 1)
        sfu_producer_request_keyframe(pr, now_ms);
    if (out)
        *out = c;
    return 0;
}

static void unlink_from_producer(sfu_consumer_t *c)
{
    for (sfu_consumer_t **pp = &c->producer->consumers; *pp; pp = &(*pp)->next_of_producer) {
        if (*pp == c) {
            *pp = c->next_of_producer;
            break;
        }
    }
    c->next_of_producer = NULL;
}

void sfu_consumer__free(sfu_consumer_t *c)
{
    if (c->rw.started) {
        sfu_leg_t *leg = c->leg;
        int i = leg->retired_next;
        for (int k = 0; k < SFU_LEG_RETIRED; k++) {
            if (leg->retired[k].ssrc == c->p.ssrc)
                i = k; /* replaces its own older entry */
        }
        leg->retired[i].ssrc = c->p.ssrc;
        leg->retired[i].rw = c->rw;
        if (i == leg->retired_next)
            leg->retired_next = (i + 1) % SFU_LEG_RETIRED;
    }
    unlink_from_producer(c);
    for (sfu_consumer_t **pp = &c->leg->consumers; *pp; pp = &(*pp)->next_in_leg) {
        if (*pp == c) {
            *pp = c->next_in_leg;
            break;
        }
    }
    idmap_remove(&c->room->consumers_by_id, (int64_t)c->p.id, c);
    idmap_remove(&c->leg->consumers_by_ssrc, (int64_t)c->p.ssrc + 1, c);
    free(c);
}

int sfu_room_consumer_close(sfu_room_t *r, uint64_t consumer_id)
{
    sfu_consumer_t *c = sfu_room_consumer(r, consumer_id);
    if (!c)
        return -ENOENT;
    sfu_consumer__free(c);
    return 0;
}

sfu_consumer_t *sfu_room_consumer(const sfu_room_t *r, uint64_t consumer_id)
{
    if (!consumer_id || consumer_id > INT64_MAX)
        return NULL;
    const idmap_set_t *s = idmap_get(&r->consumers_by_id, (int64_t)consumer_id);
    return s ? s->items[0] : NULL;
}

/* What was skipped is no loss: numbering carries on from the last sent.
 * A simulcast consumer chooses its layer again and waits for its keyframe. */
static void consumer_restart(sfu_consumer_t *c, uint64_t now_ms)
{
    sfu_producer_t *pr = c->producer;
    if (pr->nstreams > 1) {
        rtp_rewriter_switch(&c->rw, 0);
        c->layer = c->target_layer = -1;
        c->layer_checked_ms = 0;
        c->vp8_resync = true;
        return;
    }
    rtp_rewriter_switch(&c->rw, pr->p.ssrc);
    c->rw.clock_hz = pr->p.clock_hz;
    c->layer = c->target_layer = 0; /* after a simulcast producer: its one stream */
    c->vp8_resync = true;
    if (c->leg->connected && !c->p.paused)
        sfu_producer_request_keyframe(pr, now_ms);
}

int sfu_room_consumer_pause(sfu_room_t *r, uint64_t consumer_id, bool paused, uint64_t now_ms)
{
    sfu_consumer_t *c = sfu_room_consumer(r, consumer_id);
    if (!c)
        return -ENOENT;
    if (c->p.paused == paused)
        return 0;
    c->p.paused = paused;
    if (!paused)
        consumer_restart(c, now_ms);
    return 0;
}

int sfu_room_consumer_set_layers(sfu_room_t *r, uint64_t consumer_id, int layer_limit,
                                 int temporal_limit, uint64_t now_ms)
{
    sfu_consumer_t *c = sfu_room_consumer(r, consumer_id);
    if (!c)
        return -ENOENT;
    c->p.layer_limit = layer_limit > 0 ? layer_limit : 0;
    c->p.temporal_limit = temporal_limit > 0 ? temporal_limit : 0;
    c->layer_checked_ms = 0; /* reconsidered with the next packet */
    (void)now_ms;
    return 0;
}

int sfu_consumer_switch_producer(sfu_consumer_t *c, sfu_producer_t *pr, uint64_t now_ms)
{
    if (pr->room != c->room || pr->p.video != c->producer->p.video || pr->owner == c->leg)
        return -EINVAL;
    if (pr != c->producer) {
        unlink_from_producer(c);
        c->producer = pr;
        c->next_of_producer = pr->consumers;
        pr->consumers = c;
    }
    sfu_consumer__rebuild_ext_map(c);
    consumer_restart(c, now_ms);
    return 0;
}

uint32_t sfu_consumer_ssrc(const sfu_consumer_t *c)
{
    return c->p.ssrc;
}

sfu_producer_t *sfu_consumer_producer(const sfu_consumer_t *c)
{
    return c->producer;
}

void sfu_consumer_get_stats(const sfu_consumer_t *c, sfu_consumer_stats_t *out)
{
    *out = c->stats;
}

void sfu_consumer__rebuild_ext_map(sfu_consumer_t *c)
{
    rtp_ext_map_init(&c->ext_map);
    for (int k = 0; k < RTP_EXT_KIND_COUNT; k++) {
        uint8_t from = c->producer->p.ext.id[k], to = c->leg->ext.id[k];
        if (from && to)
            rtp_ext_map_set(&c->ext_map, from, to);
    }
}

/* After the remap, the elements carry the subscriber's ids: stamp this hop's
 * values. A mid longer than the publisher's rebuilds the block. Returns 0, or
 * negative when the packet must be dropped. */
static int stamp_extensions(sfu_consumer_t *c, rtp_packet_t *p, size_t cap, uint64_t now_ms)
{
    const rtp_ext_ids_t *ids = &c->leg->ext;
    rtp_ext_iter_t it;
    rtp_ext_t e, elems[CONSUMER_MAX_EXT_ELEMS];
    int n = 0, rc;
    bool rebuild = false;
    rtp_ext_iter_init(&it, p);
    while ((rc = rtp_ext_next(&it, &e)) == 1) {
        if (e.id == ids->id[RTP_EXT_TWCC]) {
            rtp_ext_write_twcc_seq(&e, c->leg->twcc_seq);
            if (c->leg->bwe && c->room->env.now_us)
                rtp_bwe_on_sent(c->leg->bwe, c->leg->twcc_seq, p->len, c->room->env.now_us());
            c->leg->twcc_seq++;
        } else if (e.id == ids->id[RTP_EXT_ABS_SEND_TIME])
            rtp_ext_write_abs_send_time(&e, rtp_abs_send_time_from_us(now_ms * 1000));
        else if (e.id == ids->id[RTP_EXT_MID] && rtp_ext_write_mid(&e, c->p.mid) == -ENOSPC) {
            rebuild = true;
            e.data = (uint8_t *)c->p.mid;
            e.len = (uint8_t)strlen(c->p.mid);
        }
        if (n < CONSUMER_MAX_EXT_ELEMS)
            elems[n++] = e;
    }
    if (rc < 0)
        return rc;
    return rebuild ? rtp_packet_set_extensions(p, cap, elems, n) : 0;
}

/* RFC 4588 4: the RTX packet carries the original sequence number (OSN)
 * before the original payload, on the consumer's RTX SSRC and payload type,
 * with its own sequence numbers; padding is not carried over. */
static int rtx_wrap(sfu_consumer_t *c, rtp_packet_t *p, size_t cap)
{
    size_t len = p->header_len + 2 + p->payload_len;
    if (len > cap)
        return -ENOSPC;
    memmove(p->payload + 2, p->payload, p->payload_len);
    wr_be16(p->payload, p->seq);
    p->data[0] &= (uint8_t)~0x20; /* P */
    p->len = len;
    p->payload_len += 2;
    p->padding_len = 0;
    rtp_packet_set_pt(p, c->p.rtx_pt);
    rtp_packet_set_ssrc(p, c->p.rtx_ssrc);
    rtp_packet_set_seq(p, c->rtx_seq++);
    return 0;
}

/* The history's entry for picture id in, or NULL. */
static const sfu_vp8_pic_t *vp8_known(const sfu_consumer_t *c, uint16_t in)
{
    const sfu_vp8_pic_t *h = &c->pics[in % SFU_VP8_PIC_HISTORY];
    return h->valid && h->in == in ? h : NULL;
}

/* A picture older than the newest placed and never seen: lost whole
 * upstream and repaired late (RTX). It takes the number its gap kept,
 * counted back from the nearest later picture placed, if that number lies
 * past the nearest earlier one's (left-out pictures close gaps up). */
static bool vp8_place_late(const sfu_consumer_t *c, uint16_t in, uint16_t mod, uint16_t *out)
{
    uint16_t behind = (uint16_t)((c->max_in_pic - in + mod) % mod);
    if (behind == 0 || behind >= SFU_VP8_PIC_HISTORY || behind >= mod / 2)
        return false;
    const sfu_vp8_pic_t *later = NULL;
    uint16_t k = 1;
    for (; k <= behind && !later; k++)
        later = vp8_known(c, (uint16_t)((in + k) % mod));
    if (!later)
        return false;
    uint16_t cand = (uint16_t)((later->out + mod - (k - 1)) % mod);
    for (uint16_t j = 1; j < SFU_VP8_PIC_HISTORY - behind; j++) {
        const sfu_vp8_pic_t *earlier = vp8_known(c, (uint16_t)((in + mod - j) % mod));
        if (!earlier)
            continue;
        /* A left-out picture's number went to the picture after it. */
        uint16_t floor =
            earlier->dropped ? (uint16_t)((earlier->out + mod - 1) % mod) : earlier->out;
        uint16_t ahead = (uint16_t)((cand - floor + mod) % mod);
        if (ahead == 0 || ahead >= mod / 2)
            return false;
        break;
    }
    *out = cand;
    return true;
}

/* RFC 7741: a simulcast consumer's picture ids and TL0PICIDX run on
 * across layer switches and left-out temporal layers, so the decoder sees
 * one stream: a new picture's id follows the last one sent (or keeps the
 * publisher's gap, a picture lost upstream, which takes that number if it is repaired
 * late); a picture left out closes up.
 * fresh: a packet on its way through (not a retransmission). Returns 1 when
 * the packet belongs to a picture left out, else 0 (rewritten or nothing to
 * do), or -EINVAL. */
static int vp8_map(sfu_consumer_t *c, const rtp_vp8_desc_t *d, bool fresh, bool drop,
                   uint16_t *out_pic, uint8_t *out_tl0)
{
    uint16_t mod = d->picture_id_long ? 0x8000 : 0x80;
    uint16_t in = d->picture_id;
    sfu_vp8_pic_t *h = &c->pics[in % SFU_VP8_PIC_HISTORY];
    if (fresh && (c->vp8_resync || !c->vp8_started || c->pic_mod != mod)) {
        /* A new source: its first picture follows the last one sent. */
        uint16_t next = c->vp8_started ? (uint16_t)((c->last_out_pic + 1) % mod) : in;
        c->tl0_offset =
            c->vp8_started && d->has_tl0 ? (uint8_t)(c->last_out_tl0 + 1 - d->tl0picidx) : 0;
        memset(c->pics, 0, sizeof c->pics);
        c->pic_mod = mod;
        c->max_in_pic = (uint16_t)((in + mod - 1) % mod);
        c->last_out_pic = (uint16_t)((next + mod - 1) % mod);
        c->vp8_started = true;
        c->vp8_resync = false;
    }
    if (!c->vp8_started)
        return 0;
    uint16_t diff = (uint16_t)((in - c->max_in_pic + mod) % mod);
    bool newer = diff != 0 && diff < mod / 2;
    if (newer && fresh) {
        /* Pictures skipped upstream keep their gap. */
        uint16_t out = (uint16_t)((c->last_out_pic + diff) % mod);
        c->max_in_pic = in;
        *h = (sfu_vp8_pic_t){.in = in, .out = out, .valid = true, .dropped = drop};
        if (!drop)
            c->last_out_pic = out;
        else
            c->last_out_pic = (uint16_t)((out + mod - 1) % mod);
    } else if (!h->valid || h->in != in) {
        uint16_t out;
        if (drop || !fresh || !vp8_place_late(c, in, mod, &out))
            return drop ? 1 : -EINVAL; /* too old to place */
        *h = (sfu_vp8_pic_t){.in = in, .out = out, .valid = true};
    }
    if (h->dropped || drop)
        return 1;
    *out_pic = h->out;
    *out_tl0 = (uint8_t)(d->tl0picidx + c->tl0_offset);
    if (fresh && newer && d->has_tl0)
        c->last_out_tl0 = *out_tl0;
    return 0;
}

/* Rewrites a VP8 packet's descriptor in place (simulcast consumers only);
 * d: the descriptor as the producer read it, NULL to read it here. */
static int vp8_rewrite(sfu_consumer_t *c, rtp_packet_t *p, bool fresh, const rtp_vp8_desc_t *d)
{
    rtp_vp8_desc_t own;
    if (c->producer->nstreams < 2 || c->producer->p.codec != RTP_CODEC_VP8)
        return 0;
    if (!d) {
        if (rtp_vp8_parse(p->payload, p->payload_len, &own))
            return 0;
        d = &own;
    }
    if (!d->has_picture_id)
        return 0;
    uint16_t pic;
    uint8_t tl0;
    int rc = vp8_map(c, d, fresh, false, &pic, &tl0);
    if (rc)
        return rc > 0 ? -EINVAL : rc;
    rtp_vp8_write(p->payload, d, pic, tl0);
    return 0;
}

/* Sends a cached packet of the producer again, as this consumer sent it. */
static int consumer_retransmit(sfu_consumer_t *c, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
    sfu_room_t *r = c->room;
    sfu_media_stats_t *st = r->env.stats;
    uint8_t *buf = r->env.scratch;
    rtp_packet_t p;
    if (c->p.paused || !c->leg->connected || len > r->env.scratch_cap)
        return -EAGAIN;
    memcpy(buf, pkt, len);
    if (rtp_packet_parse(&p, buf, len) || p.ssrc != c->rw.in_ssrc)
        return -EINVAL;
    if (!rtp_rewriter_was_sent(&c->rw, p.seq))
        return -ENOENT; /* left out (padding, a temporal layer): it has no number here */
    rtp_rewriter_apply(&c->rw, &p);
    if (vp8_rewrite(c, &p, false, NULL) < 0)
        return -EINVAL;
    if (p.ext && (rtp_ext_remap(&p, &c->ext_map) < 0 ||
                  stamp_extensions(c, &p, r->env.scratch_cap, now_ms) < 0))
        return -EINVAL;
    if (c->leg->rtx && c->p.rtx_ssrc && c->p.rtx_pt && rtx_wrap(c, &p, r->env.scratch_cap))
        return -ENOSPC;
    if (c->leg->io.send_rtp(c->leg->io_ctx, buf, p.len, r->env.scratch_cap)) {
        counter_inc(&st->send_failed);
        return -EIO;
    }
    c->stats.retransmitted++;
    counter_inc(&st->retransmitted);
    return 0;
}

static void send_sr(sfu_consumer_t *c, uint64_t now_ms)
{
    sfu_room_t *r = c->room;
    c->last_sr_ms = now_ms;
    int n = sfu_consumer_write_sr(c, now_ms, r->env.now_ntp(), r->env.scratch, r->env.scratch_cap);
    if (n > 0 && sfu_leg__send_rtcp(c->leg, r->env.scratch, (size_t)n) == 0) {
        c->stats.srs++;
        counter_inc(&r->env.stats->sr_sent);
    }
}

/* The layer (and VP8 temporal layers) this consumer should receive: the
 * highest the subscriber wants whose bitrate fits its share of the
 * downlink estimate; the lowest active one when none does. Moving up needs
 * a margin, so a layer near the limit does not flap. */
static void choose_layer(sfu_consumer_t *c, uint64_t now_ms)
{
    sfu_producer_t *pr = c->producer;
    c->layer_checked_ms = now_ms ? now_ms : 1;
    sfu_layer_state_t ls[SFU_MAX_LAYERS];
    for (int s = 0; s < pr->nstreams; s++) {
        const sfu_stream_t *st = &pr->streams[s];
        ls[s].active =
            st->ssrc && st->last_packet_ms && now_ms - st->last_packet_ms <= SFU_LAYER_IDLE_MS;
        ls[s].temporal = st->temporal_layers;
        for (int t = 0; t < SFU_MAX_TEMPORAL; t++)
            ls[s].bps[t] = st->bps[t];
    }
    int max_s = c->p.layer_limit ? c->p.layer_limit - 1 : SFU_MAX_LAYERS - 1;
    int max_t = c->p.temporal_limit ? c->p.temporal_limit - 1 : SFU_MAX_TEMPORAL - 1;
    int cur_t = c->layer < 0 ? 0 : c->tl >= SFU_MAX_TEMPORAL ? SFU_MAX_TEMPORAL : c->tl;
    uint64_t budget = sfu_leg__share_bps(c->leg);
    sfu_layer_choice_t ch =
        sfu_simulcast_choose(ls, pr->nstreams, max_s, max_t, budget, c->layer, cur_t);
    if (ch.spatial < 0)
        return; /* nothing flows */
    /* Up only once the higher layer has fitted for a while: a probe that
     * fills a policer's bucket looks like room for a moment. */
    bool up =
        c->layer >= 0 && (ch.spatial > c->layer || (ch.spatial == c->layer && ch.temporal > cur_t));
    if (!up) {
        c->up_since_ms = 0;
    } else if (budget && (!c->up_since_ms || now_ms - c->up_since_ms < SFU_LAYER_UP_HOLD_MS)) {
        if (!c->up_since_ms)
            c->up_since_ms = now_ms ? now_ms : 1;
        ch.spatial = c->layer;
        ch.temporal = cur_t;
    }
    c->budget_limited = ch.limited;
    if (ch.spatial != c->target_layer)
        c->target_asked_ms = 0;
    c->target_layer = ch.spatial;
    c->target_tl = pr->streams[ch.spatial].temporal_layers > 1 && ch.temporal < SFU_MAX_TEMPORAL
                       ? ch.temporal
                       : SFU_MAX_TEMPORAL;
    c->stats.target_layer = ch.spatial;
    if (c->target_layer != c->layer && c->leg->connected &&
        (!c->target_asked_ms || now_ms - c->target_asked_ms >= 1000)) {
        c->target_asked_ms = now_ms ? now_ms : 1;
        sfu_producer__request_layer_keyframe(pr, c->target_layer, now_ms);
    }
    if (ch.limited)
        sfu_leg__want_probe(c->leg, now_ms);
}

/* Simulcast: whether a packet of layer goes to this consumer, switching
 * layers on the target's keyframe and temporal layers where the decoder can
 * follow. 1: send it; 0: not this consumer's; -1: left out (numbering
 * closes up behind it). */
static int simulcast_gate(sfu_consumer_t *c, const rtp_packet_t *pkt, const sfu_rtp_info_t *info,
                          uint64_t now_ms)
{
    if (!c->layer_checked_ms || now_ms - c->layer_checked_ms >= SFU_LAYER_CHECK_MS)
        choose_layer(c, now_ms);
    int layer = info->layer;
    if (layer == c->target_layer && layer != c->layer && info->keyframe) {
        if (c->layer >= 0) {
            c->stats.layer_switches++;
            counter_inc(&c->room->env.stats->layer_switches);
        }
        rtp_rewriter_switch(&c->rw, pkt->ssrc);
        c->layer = layer;
        c->tl = c->target_tl;
        c->vp8_resync = true;
        c->stats.layer = layer;
    }
    if (layer != c->layer)
        return 0;
    const rtp_vp8_desc_t *d = &info->vp8_desc;
    if (!info->vp8 || !d->has_tid)
        return 1;
    /* A new picture may change the temporal layers let through: fewer at
     * once, more where a frame depends on TL0 only. */
    if (d->start && d->partition == 0 && c->tl != c->target_tl &&
        (c->target_tl < c->tl || d->tid == 0 || d->layer_sync))
        c->tl = c->target_tl;
    c->stats.temporal = c->tl;
    return d->tid < c->tl ? 1 : -1;
}

void sfu_consumer__send_rtp(sfu_consumer_t *c, const rtp_packet_t *pkt, const sfu_rtp_info_t *info,
                            uint64_t now_ms)
{
    sfu_room_t *r = c->room;
    sfu_media_stats_t *st = r->env.stats;
    if (c->p.paused || !c->leg->connected)
        return;
    /* A publisher's padding (its bandwidth probes, sent on the media SSRC
     * when it has no RTX) is for the node's estimate of its uplink, not for
     * every subscriber's downlink: left out, and the numbering closes up. */
    if (!pkt->payload_len && pkt->padding_len) {
        if (c->rw.started && !c->rw.resync && rtp_rewriter_drop(&c->rw, pkt, now_ms) == 0)
            c->stats.dropped_padding++;
        return;
    }
    if (c->producer->nstreams > 1) {
        int gate = simulcast_gate(c, pkt, info, now_ms);
        if (gate == 0)
            return;
        if (gate < 0) {
            uint16_t pic;
            uint8_t tl0;
            if (rtp_rewriter_drop(&c->rw, pkt, now_ms) == 0 && info->vp8_desc.has_picture_id)
                vp8_map(c, &info->vp8_desc, true, true, &pic, &tl0);
            c->stats.dropped_temporal++;
            return;
        }
    }
    if (pkt->len > r->env.scratch_cap) {
        counter_inc(&st->send_failed);
        return;
    }
    /* The one copy: the view moves with it. */
    uint8_t *buf = r->env.scratch;
    memcpy(buf, pkt->data, pkt->len);
    rtp_packet_t p = *pkt;
    p.data = buf;
    p.payload = buf + (pkt->payload - pkt->data);
    p.ext = pkt->ext ? buf + (pkt->ext - pkt->data) : NULL;
    if (rtp_rewriter_rewrite(&c->rw, &p, now_ms)) {
        c->stats.not_placed++;
        counter_inc(&st->rtp_not_placed);
        return;
    }
    if (vp8_rewrite(c, &p, true, info->vp8 ? &info->vp8_desc : NULL) < 0) {
        c->stats.not_placed++;
        counter_inc(&st->rtp_not_placed);
        return;
    }
    if (p.ext && (rtp_ext_remap(&p, &c->ext_map) < 0 ||
                  stamp_extensions(c, &p, r->env.scratch_cap, now_ms) < 0)) {
        counter_inc(&st->rtp_malformed);
        return;
    }
    size_t len = p.len, payload_len = p.payload_len;
    if (c->leg->io.send_rtp(c->leg->io_ctx, buf, len, r->env.scratch_cap)) {
        counter_inc(&st->send_failed);
        return;
    }
    c->stats.packets++;
    c->stats.bytes += len;
    c->stats.payload_bytes += payload_len;
    counter_inc(&st->rtp_forwarded);
    if (now_ms - c->last_sr_ms >= SFU_SR_INTERVAL_MS)
        send_sr(c, now_ms);
    if (c->leg->probe_until_ms > now_ms && c->producer->p.video)
        sfu_consumer__pad(c, now_ms);
}

void sfu_consumer__pad(sfu_consumer_t *c, uint64_t now_ms)
{
    sfu_leg_t *leg = c->leg;
    sfu_stream_t *s = sfu_producer__stream(c->producer, c->rw.in_ssrc);
    if (!s || !s->cache || !c->rw.started)
        return;
    /* The probe's padding so far, against what it should have been by now. */
    uint64_t due = (leg->probe_bps - leg->probe_from_bps) * (now_ms - leg->probe_start_ms) / 8000;
    for (int i = 0; i < 8 && leg->probe_bytes < due; i++) {
        const uint8_t *pkt;
        size_t len;
        uint16_t in_seq = (uint16_t)(c->rw.max_in_seq - (uint16_t)i);
        if (rtp_packet_cache_get(s->cache, in_seq, now_ms, SFU_CACHE_MAX_AGE_MS, &pkt, &len))
            return;
        if (consumer_retransmit(c, pkt, len, now_ms) == 0)
            leg->probe_bytes += len;
    }
}

int sfu_consumer_write_sr(const sfu_consumer_t *c, uint64_t now_ms, uint64_t ntp, uint8_t *buf,
                          size_t cap)
{
    const sfu_producer_t *pr = c->producer;
    int layer = sfu_producer__layer_of(pr, c->rw.in_ssrc);
    const sfu_stream_t *s = layer >= 0 ? &pr->streams[layer] : NULL;
    if (!s || !s->has_sr || !c->rw.started)
        return -EAGAIN;
    /* RFC 3550 6.4.1: the RTP time of the same instant as the NTP time. The
     * publisher's last SR mapping, carried forward by the time since it
     * arrived, then into this consumer's timestamp space. */
    uint64_t elapsed_ms = now_ms > s->sr_at_ms ? now_ms - s->sr_at_ms : 0;
    uint32_t in_ts = s->sr_rtp_ts + (uint32_t)(elapsed_ms * pr->p.clock_hz / 1000);
    rtcp_sr_t sr = {.ssrc = c->p.ssrc,
                    .ntp = ntp,
                    .rtp_ts = in_ts + c->rw.ts_offset,
                    .packet_count = (uint32_t)c->stats.packets,
                    .octet_count = (uint32_t)c->stats.payload_bytes};
    return rtcp_write_sr(buf, cap, &sr, NULL, 0);
}

void sfu_consumer__on_feedback(sfu_consumer_t *c, const rtcp_fb_t *fb, uint64_t now_ms)
{
    sfu_media_stats_t *st = c->room->env.stats;
    if (fb->pt == RTCP_PT_PSFB) { /* PLI or FIR */
        c->stats.keyframe_requests++;
        counter_inc(&st->keyframe_requests);
        if (!c->p.paused)
            sfu_producer__request_layer_keyframe(
                c->producer, c->layer >= 0 ? c->layer : c->target_layer, now_ms);
        return;
    }
    /* RFC 4585 6.2.1: the subscriber's sequence numbers, mapped back to the
     * publisher's, answered from the producer's cache. Those of an earlier
     * source, or gone from the cache, are not. */
    c->stats.nack_packets++;
    counter_inc(&st->nack_received);
    sfu_producer__want_cache(c->producer);
    uint16_t seqs[256];
    int n = rtcp_nack_seqs(fb, seqs, 256);
    sfu_stream_t *s = sfu_producer__stream(c->producer, c->rw.in_ssrc);
    for (int i = 0; i < n; i++) {
        uint16_t in_seq;
        const uint8_t *pkt;
        size_t len;
        if (s && s->cache && rtp_rewriter_seq_to_input(&c->rw, seqs[i], &in_seq) == 0 &&
            rtp_packet_cache_get(s->cache, in_seq, now_ms, SFU_CACHE_MAX_AGE_MS, &pkt, &len) == 0 &&
            consumer_retransmit(c, pkt, len, now_ms) == 0)
            continue;
        c->stats.nack_miss++;
        counter_inc(&st->nack_miss);
    }
}

void sfu_consumer__on_report(sfu_consumer_t *c, const rtcp_report_block_t *rb)
{
    c->stats.fraction_lost = rb->fraction_lost;
    c->stats.jitter = rb->jitter;
}
