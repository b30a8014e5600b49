/* sfu/producer.c: one published track: what the node received of it (for
 * receiver reports), the publisher's clock mapping (for consumers' sender
 * reports), throttled keyframe requests, and the fan-out to its consumers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/room_internal.h"

static void producer_release(sfu_producer_t *pr)
{
    for (int i = 0; i < pr->nstreams; i++) {
        sfu_stream_t *s = &pr->streams[i];
        if (s->cache)
            rtp_packet_cache_free(s->cache);
        free(s->cache);
        free(s->nack);
    }
    free(pr);
}

/* Video: NACK state for a stream (its cache comes with sfu_producer__want_cache). */
static int stream_init(sfu_producer_t *pr, sfu_stream_t *s, uint32_t ssrc)
{
    s->ssrc = ssrc;
    rtp_rx_stats_init(&s->rx);
    s->temporal_layers = 1;
    if (!pr->p.video)
        return 0;
    if (!(s->nack = malloc(sizeof *s->nack)))
        return -ENOMEM;
    rtp_nack_gen_init(s->nack);
    return 0;
}

int sfu_producer_new(sfu_room_t *r, sfu_leg_t *owner, const sfu_producer_params_t *params,
                     sfu_producer_t **out)
{
    if (!params->id || params->id > INT64_MAX || !params->clock_hz || owner->room != r)
        return -EINVAL;
    int layers = params->layers > 1 ? params->layers : 1;
    if (layers > SFU_MAX_LAYERS || (layers > 1 && !params->video))
        return -EINVAL;
    uint32_t ssrcs[SFU_MAX_LAYERS] = {params->ssrc};
    for (int i = 0; layers > 1 && i < layers; i++) {
        ssrcs[i] = params->layer_ssrcs[i];
        if (!ssrcs[i] && !params->rids[i][0])
            return -EINVAL; /* a layer by neither SSRC nor RID */
    }
    if (layers == 1 && !params->ssrc)
        return -EINVAL;
    for (int i = 0; i < layers; i++) {
        for (int k = 0; k < i; k++) {
            if (ssrcs[i] && ssrcs[i] == ssrcs[k])
                return -EINVAL;
        }
        if (ssrcs[i] && sfu_room_producer_by_ssrc(r, ssrcs[i]))
            return -EEXIST;
    }
    if (sfu_room_producer(r, params->id))
        return -EEXIST;
    sfu_producer_t *pr = calloc(1, sizeof *pr);
    if (!pr)
        return -ENOMEM;
    pr->room = r;
    pr->owner = owner;
    pr->p = *params;
    pr->p.layers = layers;
    pr->p.mid[sizeof pr->p.mid - 1] = '\0';
    for (int i = 0; i < SFU_MAX_LAYERS; i++)
        pr->p.rids[i][sizeof pr->p.rids[i] - 1] = '\0';
    pr->nstreams = layers;
    for (int i = 0; i < layers; i++) {
        if (stream_init(pr, &pr->streams[i], 0)) {
            producer_release(pr);
            return -ENOMEM;
        }
    }
    sfu_producer__want_cache(pr);
    if (idmap_add(&r->producers_by_id, (int64_t)params->id, pr)) {
        producer_release(pr);
        return -ENOMEM;
    }
    for (int i = 0; i < layers; i++) {
        if (ssrcs[i] && sfu_producer__bind(pr, i, ssrcs[i])) {
            for (int k = 0; k < i; k++)
                idmap_remove(&r->producers_by_ssrc, (int64_t)ssrcs[k] + 1, pr);
            idmap_remove(&r->producers_by_id, (int64_t)params->id, pr);
            producer_release(pr);
            return -ENOMEM;
        }
    }
    /* The single stream's RTX partner; without it (taken already) the
     * retransmissions are not told apart and the RTX type is dropped. */
    if (params->rtx_pt && params->rtx_ssrc && layers == 1 &&
        sfu_producer__bind_rtx(pr, 0, params->rtx_ssrc))
        pr->p.rtx_ssrc = 0;
    pr->next_in_leg = owner->producers;
    owner->producers = pr;
    if (!params->video)
        sfu_speaker_add(&r->speaker, params->id);
    if (out)
        *out = pr;
    return 0;
}

/* The room's SSRC index: ssrc is pr's from now on. */
static int index_ssrc(sfu_producer_t *pr, uint32_t ssrc)
{
    sfu_room_t *r = pr->room;
    if (sfu_room_producer_by_ssrc(r, ssrc))
        return -EEXIST;
    return idmap_add(&r->producers_by_ssrc, (int64_t)ssrc + 1, pr) ? -ENOMEM : 0;
}

int sfu_producer__bind(sfu_producer_t *pr, int layer, uint32_t ssrc)
{
    if (layer < 0 || layer >= pr->nstreams || !ssrc || pr->streams[layer].ssrc)
        return -EINVAL;
    int rc = index_ssrc(pr, ssrc);
    if (rc)
        return rc;
    pr->streams[layer].ssrc = ssrc;
    if (layer == 0)
        pr->p.ssrc = ssrc;
    return 0;
}

int sfu_producer__bind_rtx(sfu_producer_t *pr, int layer, uint32_t ssrc)
{
    if (layer < 0 || layer >= pr->nstreams || !ssrc || !pr->p.rtx_pt || pr->streams[layer].rtx_ssrc)
        return -EINVAL;
    int rc = index_ssrc(pr, ssrc);
    if (rc)
        return rc;
    pr->streams[layer].rtx_ssrc = ssrc;
    return 0;
}

void sfu_producer__on_rtx(sfu_producer_t *pr, rtp_packet_t *pkt, uint64_t now_ms)
{
    int layer = -1;
    for (int i = 0; i < pr->nstreams; i++) {
        if (pkt->ssrc && pr->streams[i].rtx_ssrc == pkt->ssrc)
            layer = i;
    }
    if (layer < 0 || !pr->streams[layer].ssrc)
        return;
    sfu_media_stats_t *st = pr->room->env.stats;
    pr->stats.rtx_packets++;
    counter_inc(&st->upstream_rtx);
    if (pkt->payload_len < 2) { /* padding: a bandwidth probe */
        pr->stats.rtx_padding++;
        counter_inc(&st->upstream_rtx_padding);
        return;
    }
    /* RFC 4588 4: the original sequence number, then the original payload.
     * libwebrtc also probes with copies of packets that did arrive: only a
     * number still missing is news (an old keyframe packet must not look
     * like a fresh one to the layer switch). */
    uint16_t osn = (uint16_t)(pkt->payload[0] << 8 | pkt->payload[1]);
    sfu_stream_t *s = &pr->streams[layer];
    if (s->nack && !rtp_nack_gen_wants(s->nack, osn)) {
        pr->stats.rtx_padding++;
        counter_inc(&st->upstream_rtx_padding);
        return;
    }
    memmove(pkt->payload, pkt->payload + 2, pkt->payload_len - 2);
    size_t len = (size_t)(pkt->payload - pkt->data) + pkt->payload_len - 2;
    pkt->data[0] &= (uint8_t)~0x20; /* the padding goes */
    rtp_packet_set_pt(pkt, pr->p.pt);
    rtp_packet_set_ssrc(pkt, pr->streams[layer].ssrc);
    rtp_packet_set_seq(pkt, osn);
    rtp_packet_t orig;
    if (rtp_packet_parse(&orig, pkt->data, len))
        return;
    /* The repaired-stream id names the RTX stream: not the packet's any more. */
    rtp_ext_t e;
    uint8_t rrid = pr->p.ext.id[RTP_EXT_RRID];
    if (rrid && orig.ext && rtp_ext_find(&orig, rrid, &e) == 0)
        memset(e.data - (e.two_byte ? 2 : 1), 0, (size_t)(e.two_byte ? 2 : 1) + e.len);
    sfu_producer__on_rtp(pr, &orig, now_ms);
}

sfu_stream_t *sfu_producer__stream(sfu_producer_t *pr, uint32_t ssrc)
{
    int i = sfu_producer__layer_of(pr, ssrc);
    return i < 0 ? NULL : &pr->streams[i];
}

int sfu_producer__layer_of(const sfu_producer_t *pr, uint32_t ssrc)
{
    for (int i = 0; i < pr->nstreams; i++) {
        if (ssrc && pr->streams[i].ssrc == ssrc)
            return i;
    }
    return -1;
}

void sfu_producer__free(sfu_producer_t *pr)
{
    while (pr->consumers)
        sfu_consumer__free(pr->consumers);
    for (sfu_producer_t **pp = &pr->owner->producers; *pp; pp = &(*pp)->next_in_leg) {
        if (*pp == pr) {
            *pp = pr->next_in_leg;
            break;
        }
    }
    idmap_remove(&pr->room->producers_by_id, (int64_t)pr->p.id, pr);
    for (int i = 0; i < pr->nstreams; i++) {
        if (pr->streams[i].ssrc)
            idmap_remove(&pr->room->producers_by_ssrc, (int64_t)pr->streams[i].ssrc + 1, pr);
        if (pr->streams[i].rtx_ssrc)
            idmap_remove(&pr->room->producers_by_ssrc, (int64_t)pr->streams[i].rtx_ssrc + 1, pr);
    }
    sfu_speaker_remove(&pr->room->speaker, pr->p.id);
    producer_release(pr);
}

int sfu_room_producer_close(sfu_room_t *r, uint64_t producer_id, uint64_t owner_leg_id)
{
    sfu_producer_t *pr = sfu_room_producer(r, producer_id);
    if (!pr)
        return -ENOENT;
    if (pr->owner->id != owner_leg_id)
        return -EPERM;
    sfu_producer__free(pr);
    return 0;
}

sfu_producer_t *sfu_room_producer(const sfu_room_t *r, uint64_t producer_id)
{
    if (!producer_id || producer_id > INT64_MAX)
        return NULL;
    const idmap_set_t *s = idmap_get(&r->producers_by_id, (int64_t)producer_id);
    return s ? s->items[0] : NULL;
}

sfu_producer_t *sfu_room_producer_by_ssrc(const sfu_room_t *r, uint32_t ssrc)
{
    const idmap_set_t *s = idmap_get(&r->producers_by_ssrc, (int64_t)ssrc + 1);
    return s ? s->items[0] : NULL;
}

uint32_t sfu_producer_ssrc(const sfu_producer_t *pr)
{
    return pr->p.ssrc;
}

uint32_t sfu_producer_layer_ssrc(const sfu_producer_t *pr, int layer)
{
    return layer >= 0 && layer < pr->nstreams ? pr->streams[layer].ssrc : 0;
}

uint64_t sfu_producer_layer_bps(const sfu_producer_t *pr, int layer)
{
    if (layer < 0 || layer >= pr->nstreams)
        return 0;
    const sfu_stream_t *s = &pr->streams[layer];
    return s->bps[s->temporal_layers - 1];
}

int sfu_producer_layer_count(const sfu_producer_t *pr)
{
    return pr->nstreams;
}

sfu_leg_t *sfu_producer_owner(const sfu_producer_t *pr)
{
    return pr->owner;
}

void sfu_producer_get_stats(const sfu_producer_t *pr, sfu_producer_stats_t *out)
{
    *out = pr->stats;
}

void sfu_producer__want_cache(sfu_producer_t *pr)
{
    if (!pr->p.video)
        return;
    /* From the first packet: the first loss is the one that freezes the
     * picture. Slow streams keep only a second of it resident (the ring
     * starts over), fast ones at most SFU_CACHE_BYTES. */
    for (int i = 0; i < pr->nstreams; i++) {
        sfu_stream_t *s = &pr->streams[i];
        if (s->cache)
            continue;
        rtp_packet_cache_t *c = malloc(sizeof *c);
        if (c && rtp_packet_cache_init(c, SFU_CACHE_BYTES, SFU_CACHE_MAX_AGE_MS) == 0) {
            s->cache = c;
            continue;
        }
        free(c);
    }
}

static void send_pli(sfu_producer_t *pr, sfu_stream_t *s, uint64_t now_ms)
{
    sfu_room_t *r = pr->room;
    s->last_pli_ms = now_ms ? now_ms : 1;
    s->keyframe_pending = false;
    int n = rtcp_write_pli(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, s->ssrc);
    if (n > 0 && sfu_leg__send_rtcp(pr->owner, r->env.scratch, (size_t)n) == 0) {
        pr->stats.plis_sent++;
        counter_inc(&r->env.stats->pli_sent);
    }
}

void sfu_producer__request_layer_keyframe(sfu_producer_t *pr, int layer, uint64_t now_ms)
{
    if (!pr->p.video || layer < 0 || layer >= pr->nstreams)
        return;
    sfu_stream_t *s = &pr->streams[layer];
    pr->stats.keyframe_requests++;
    if (!s->ssrc || (s->last_pli_ms && now_ms - s->last_pli_ms < SFU_PLI_MIN_INTERVAL_MS)) {
        s->keyframe_pending = true; /* goes with a packet once the interval ended */
        return;
    }
    send_pli(pr, s, now_ms);
}

void sfu_producer_request_keyframe(sfu_producer_t *pr, uint64_t now_ms)
{
    for (int i = 0; i < pr->nstreams; i++)
        sfu_producer__request_layer_keyframe(pr, i, now_ms);
}

/* RFC 3550 6.4.2: one report block about this stream, at most once a second. */
static void send_rr(sfu_producer_t *pr, sfu_stream_t *s, uint64_t now_ms)
{
    sfu_room_t *r = pr->room;
    s->last_rr_ms = now_ms;
    rtcp_report_block_t rb;
    rtp_rx_stats_report(&s->rx, s->ssrc, now_ms, &rb);
    int n = rtcp_write_rr(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, &rb, 1);
    if (n > 0 && sfu_leg__send_rtcp(pr->owner, r->env.scratch, (size_t)n) == 0)
        counter_inc(&r->env.stats->rr_sent);
}

/* What one subscribe leg can take for one video track: its estimate, less
 * what its audio takes, shared among the video it receives. 0: unknown. */
uint64_t sfu_leg__share_bps(const sfu_leg_t *leg)
{
    uint64_t est = sfu_leg_estimate_bps(leg);
    if (!est)
        return 0;
    uint64_t audio = 0, video = 0;
    for (const sfu_consumer_t *c = leg->consumers; c; c = c->next_in_leg) {
        if (c->p.paused)
            continue;
        if (c->producer->p.video)
            video++;
        else
            audio++;
    }
    uint64_t for_video = est > audio * SFU_REMB_AUDIO_BPS ? est - audio * SFU_REMB_AUDIO_BPS : 0;
    /* A tenth kept back for RTCP, retransmissions and the estimate's error:
     * a policed link has no queue to absorb an overshoot. */
    uint64_t share = (video ? for_video / video : for_video) * 9 / 10;
    return share < 30000 ? 30000 : share;
}

/* A video track's target: the lowest share among its subscribers, at most
 * the room's maximum (without simulcast, everyone gets the same stream). */
static uint64_t producer_target_bps(const sfu_producer_t *pr, uint64_t now_ms)
{
    uint64_t target = pr->room->env.max_video_bps;
    /* Simulcast: subscribers take the layer that fits them; the publisher
     * keeps sending every layer. With one layer flowing, it is one stream. */
    int flowing = 0;
    for (int i = 0; i < pr->nstreams; i++) {
        const sfu_stream_t *s = &pr->streams[i];
        flowing += s->last_packet_ms && now_ms - s->last_packet_ms <= SFU_LAYER_IDLE_MS;
    }
    if (flowing > 1)
        return target;
    for (const sfu_consumer_t *c = pr->consumers; c; c = c->next_of_producer) {
        uint64_t share = c->p.paused ? 0 : sfu_leg__share_bps(c->leg);
        if (share && share < target)
            target = share;
    }
    return target;
}

/* draft-alvestrand-rmcat-remb: the most the publisher on leg should send,
 * all its tracks together: each video track's target plus room for audio.
 * Once a second, or at once when it fell by a sixth. */
static void maybe_send_remb(sfu_leg_t *leg, uint64_t now_ms)
{
    sfu_room_t *r = leg->room;
    /* At most 5 times a second (the fast decrease), whatever the packet rate. */
    if (!r->env.max_video_bps || now_ms - leg->remb_checked_ms < 200)
        return;
    leg->remb_checked_ms = now_ms;
    uint64_t total = 0;
    uint32_t ssrcs[16];
    int n = 0;
    for (const sfu_producer_t *p = leg->producers; p; p = p->next_in_leg) {
        total += p->p.video ? producer_target_bps(p, now_ms) : SFU_REMB_AUDIO_BPS;
        for (int i = 0; i < p->nstreams; i++) {
            if (n < 16 && p->streams[i].ssrc)
                ssrcs[n++] = p->streams[i].ssrc;
        }
    }
    bool due =
        now_ms - leg->last_remb_ms >= SFU_REMB_INTERVAL_MS || total < leg->last_remb_bps * 5 / 6;
    if (!due)
        return;
    leg->last_remb_ms = now_ms;
    leg->last_remb_bps = total;
    int len =
        rtcp_write_remb(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, total, ssrcs, n);
    if (len > 0 && sfu_leg__send_rtcp(leg, r->env.scratch, (size_t)len) == 0)
        counter_inc(&r->env.stats->remb_sent);
}

/* RFC 6464: the level the publisher measured, for the active speaker. */
static void producer_audio_level(sfu_producer_t *pr, const rtp_packet_t *pkt, uint64_t now_ms)
{
    sfu_room_t *r = pr->room;
    rtp_ext_t e;
    bool voice, changed;
    uint8_t level;
    uint8_t id = pr->p.ext.id[RTP_EXT_AUDIO_LEVEL];
    if (id && rtp_ext_find(pkt, id, &e) == 0 && rtp_ext_read_audio_level(&e, &voice, &level) == 0)
        sfu_speaker_level(&r->speaker, pr->p.id, level);
    if (sfu_speaker_evaluate(&r->speaker, now_ms, &changed) && r->env.on_speaker)
        r->env.on_speaker(r->env.ctx, r, &r->speaker, changed);
}

/* The stream's bitrate by temporal layer, in windows of a second. */
static void stream_meter(sfu_stream_t *s, const rtp_packet_t *pkt, const sfu_rtp_info_t *info,
                         uint64_t now_ms)
{
    int tid = 0;
    if (info->vp8 && info->vp8_desc.has_tid)
        tid = info->vp8_desc.tid < SFU_MAX_TEMPORAL ? info->vp8_desc.tid : SFU_MAX_TEMPORAL - 1;
    if (now_ms - s->win_start_ms >= 1000) {
        uint64_t span = now_ms - s->win_start_ms;
        uint64_t sum = 0;
        bool fresh = span < 2000;
        s->temporal_layers = s->tl_seen ? s->tl_seen : 1;
        for (int t = 0; t < SFU_MAX_TEMPORAL; t++) {
            sum += s->win_bytes[t];
            s->bps[t] = fresh ? sum * 8000 / span : 0;
            s->win_bytes[t] = 0;
        }
        s->win_start_ms = now_ms;
        s->tl_seen = 0;
    }
    s->win_bytes[tid] += pkt->len;
    if (tid + 1 > s->tl_seen)
        s->tl_seen = tid + 1;
}

/* Simulcast: the payload read once, for the meter and every consumer. */
static void read_payload(const sfu_producer_t *pr, const rtp_packet_t *pkt, sfu_rtp_info_t *info)
{
    if (pr->nstreams < 2)
        return;
    if (pr->p.codec == RTP_CODEC_VP8) {
        info->vp8 = rtp_vp8_parse(pkt->payload, pkt->payload_len, &info->vp8_desc) == 0;
        info->keyframe = info->vp8 && info->vp8_desc.keyframe;
    } else {
        info->keyframe = rtp_is_keyframe(pr->p.codec, pkt->payload, pkt->payload_len);
    }
}

void sfu_producer__on_rtp(sfu_producer_t *pr, const rtp_packet_t *pkt, uint64_t now_ms)
{
    sfu_media_stats_t *st = pr->room->env.stats;
    int layer = sfu_producer__layer_of(pr, pkt->ssrc);
    if (layer < 0)
        return;
    sfu_stream_t *s = &pr->streams[layer];
    pr->stats.packets++;
    pr->stats.bytes += pkt->len;
    s->last_packet_ms = now_ms ? now_ms : 1;
    sfu_rtp_info_t info = {.layer = layer};
    if (pr->p.video) {
        read_payload(pr, pkt, &info);
        stream_meter(s, pkt, &info, now_ms);
    }
    uint32_t arrival = (uint32_t)(now_ms * pr->p.clock_hz / 1000);
    rtp_rx_stats_update(&s->rx, pkt->seq, pkt->ts, arrival);
    if (s->nack && rtp_nack_gen_on_packet(s->nack, pkt->seq, now_ms)) {
        pr->stats.recovered++;
        counter_inc(&st->upstream_recovered);
    }
    if (s->cache)
        rtp_packet_cache_put(s->cache, pkt->seq, pkt->data, pkt->len, now_ms);
    for (sfu_consumer_t *c = pr->consumers; c; c = c->next_of_producer)
        sfu_consumer__send_rtp(c, pkt, &info, now_ms);
    if (!pr->p.video)
        producer_audio_level(pr, pkt, now_ms);
    /* A gap on the uplink is repaired once, for every subscriber. */
    if (s->nack && s->nack->count) {
        uint16_t seqs[64];
        int n = rtp_nack_gen_due(s->nack, now_ms,
                                 rtp_nack_gen_retry_ms(s->nack, SFU_NACK_DEFAULT_RTT_MS), seqs, 64);
        if (n > 0)
            sfu_producer__nack(pr, s, seqs, n);
    }
    if (s->nack) {
        uint64_t given_up = 0;
        for (int i = 0; i < pr->nstreams; i++)
            given_up += pr->streams[i].nack ? pr->streams[i].nack->given_up : 0;
        if (given_up != pr->stats.given_up) {
            counter_add(&st->upstream_given_up, given_up - pr->stats.given_up);
            pr->stats.given_up = given_up;
        }
    }
    /* RTCP after the media: the scratch buffer is free again. */
    if (s->keyframe_pending && now_ms - s->last_pli_ms >= SFU_PLI_MIN_INTERVAL_MS)
        send_pli(pr, s, now_ms);
    if (now_ms - s->last_rr_ms >= SFU_RR_INTERVAL_MS)
        send_rr(pr, s, now_ms);
    if (pr->p.video)
        maybe_send_remb(pr->owner, now_ms);
}

void sfu_producer__on_sr(sfu_producer_t *pr, const rtcp_sr_t *sr, uint64_t now_ms)
{
    sfu_stream_t *s = sfu_producer__stream(pr, sr->ssrc);
    if (!s)
        return;
    rtp_rx_stats_on_sr(&s->rx, sr->ntp, now_ms);
    s->has_sr = true;
    s->sr_rtp_ts = sr->rtp_ts;
    s->sr_at_ms = now_ms;
}

/* One NACK per sequence number: libwebrtc stops at the first number of a
 * NACK it cannot resend (one it never keeps, such as padding, or one resent
 * within the last round trip) and drops the rest of that NACK, so numbers
 * asked together would be lost with it. */
void sfu_producer__nack(sfu_producer_t *pr, sfu_stream_t *s, const uint16_t *seqs, int count)
{
    sfu_room_t *r = pr->room;
    for (int i = 0; i < count; i++) {
        int n = rtcp_write_nack(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, s->ssrc,
                                &seqs[i], 1);
        if (n > 0 && sfu_leg__send_rtcp(pr->owner, r->env.scratch, (size_t)n) == 0) {
            pr->stats.nack_seqs_sent++;
            counter_inc(&r->env.stats->nack_sent);
        }
    }
}
