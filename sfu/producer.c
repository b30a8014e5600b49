/* sfu/producer.c: one published track: what the node received of it (for
 * receiver reports), the publisher's clock mapping (for consumers' sender
 * reports), throttled keyframe requests, and the fan-out to its consumers. */
#include <errno.h>
#include <stdlib.h>

#include "sfu/room_internal.h"

static void producer_release(sfu_producer_t *pr)
{
    if (pr->cache)
        rtp_packet_cache_free(pr->cache);
    free(pr->cache);
    free(pr->nack);
    free(pr);
}

int sfu_producer_new(sfu_room_t *r, sfu_leg_t *owner, const sfu_producer_params_t *params,
                     sfu_producer_t **out)
{
    if (!params->id || params->id > INT64_MAX || !params->clock_hz || owner->room != r)
        return -EINVAL;
    if (sfu_room_producer_by_ssrc(r, params->ssrc) || sfu_room_producer(r, params->id))
        return -EEXIST;
    sfu_producer_t *pr = calloc(1, sizeof *pr);
    if (!pr)
        return -ENOMEM;
    pr->room = r;
    pr->owner = owner;
    pr->p = *params;
    rtp_rx_stats_init(&pr->rx);
    if (params->video) {
        pr->nack = malloc(sizeof *pr->nack);
        if (!pr->nack) {
            free(pr);
            return -ENOMEM;
        }
        rtp_nack_gen_init(pr->nack);
        sfu_producer__want_cache(pr);
    }
    if (idmap_add(&r->producers_by_id, (int64_t)params->id, pr)) {
        producer_release(pr);
        return -ENOMEM;
    }
    if (idmap_add(&r->producers_by_ssrc, (int64_t)params->ssrc + 1, pr)) {
        idmap_remove(&r->producers_by_id, (int64_t)params->id, pr);
        producer_release(pr);
        return -ENOMEM;
    }
    pr->next_in_leg = owner->producers;
    owner->producers = pr;
    if (!params->video)
        sfu_speaker_add(&r->speaker, params->id);
    if (out)
        *out = pr;
    return 0;
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
    idmap_remove(&pr->room->producers_by_ssrc, (int64_t)pr->p.ssrc + 1, pr);
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
    if (pr->cache || !pr->p.video)
        return;
    /* From the first packet: the first loss is the one that freezes the
     * picture. Slow streams keep only a second of it resident (the ring
     * starts over), fast ones at most SFU_CACHE_BYTES. */
    rtp_packet_cache_t *c = malloc(sizeof *c);
    if (c && rtp_packet_cache_init(c, SFU_CACHE_BYTES, SFU_CACHE_MAX_AGE_MS) == 0) {
        pr->cache = c;
        return;
    }
    free(c);
}

static void send_pli(sfu_producer_t *pr, uint64_t now_ms)
{
    sfu_room_t *r = pr->room;
    pr->last_pli_ms = now_ms ? now_ms : 1;
    pr->keyframe_pending = false;
    int n = rtcp_write_pli(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, pr->p.ssrc);
    if (n > 0 && sfu_leg__send_rtcp(pr->owner, r->env.scratch, (size_t)n) == 0) {
        pr->stats.plis_sent++;
        counter_inc(&r->env.stats->pli_sent);
    }
}

void sfu_producer_request_keyframe(sfu_producer_t *pr, uint64_t now_ms)
{
    if (!pr->p.video)
        return;
    pr->stats.keyframe_requests++;
    if (pr->last_pli_ms && now_ms - pr->last_pli_ms < SFU_PLI_MIN_INTERVAL_MS) {
        pr->keyframe_pending = true; /* goes with a packet once the interval ended */
        return;
    }
    send_pli(pr, now_ms);
}

/* RFC 3550 6.4.2: one report block about this stream, at most once a second. */
static void send_rr(sfu_producer_t *pr, uint64_t now_ms)
{
    sfu_room_t *r = pr->room;
    pr->last_rr_ms = now_ms;
    rtcp_report_block_t rb;
    rtp_rx_stats_report(&pr->rx, pr->p.ssrc, now_ms, &rb);
    int n = rtcp_write_rr(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, &rb, 1);
    if (n > 0 && sfu_leg__send_rtcp(pr->owner, r->env.scratch, (size_t)n) == 0)
        counter_inc(&r->env.stats->rr_sent);
}

/* What one subscribe leg can take for one video track: its estimate, less
 * what its audio takes, shared among the video it receives. 0: unknown. */
static uint64_t leg_share_bps(const sfu_leg_t *leg)
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
static uint64_t producer_target_bps(const sfu_producer_t *pr)
{
    uint64_t target = pr->room->env.max_video_bps;
    for (const sfu_consumer_t *c = pr->consumers; c; c = c->next_of_producer) {
        uint64_t share = c->p.paused ? 0 : leg_share_bps(c->leg);
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
        total += p->p.video ? producer_target_bps(p) : SFU_REMB_AUDIO_BPS;
        if (n < 16)
            ssrcs[n++] = p->p.ssrc;
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

void sfu_producer__on_rtp(sfu_producer_t *pr, const rtp_packet_t *pkt, uint64_t now_ms)
{
    sfu_media_stats_t *st = pr->room->env.stats;
    pr->stats.packets++;
    pr->stats.bytes += pkt->len;
    uint32_t arrival = (uint32_t)(now_ms * pr->p.clock_hz / 1000);
    rtp_rx_stats_update(&pr->rx, pkt->seq, pkt->ts, arrival);
    if (pr->nack && rtp_nack_gen_on_packet(pr->nack, pkt->seq, now_ms)) {
        pr->stats.recovered++;
        counter_inc(&st->upstream_recovered);
    }
    if (pr->cache)
        rtp_packet_cache_put(pr->cache, pkt->seq, pkt->data, pkt->len, now_ms);
    for (sfu_consumer_t *c = pr->consumers; c; c = c->next_of_producer)
        sfu_consumer__send_rtp(c, pkt, now_ms);
    if (!pr->p.video)
        producer_audio_level(pr, pkt, now_ms);
    /* A gap on the uplink is repaired once, for every subscriber. */
    if (pr->nack && pr->nack->count) {
        uint16_t seqs[64];
        int n = rtp_nack_gen_due(pr->nack, now_ms, SFU_NACK_DEFAULT_RTT_MS, seqs, 64);
        if (pr->nack->given_up != pr->stats.given_up) {
            counter_add(&st->upstream_given_up, pr->nack->given_up - pr->stats.given_up);
            pr->stats.given_up = pr->nack->given_up;
        }
        if (n > 0)
            sfu_producer__nack(pr, seqs, n);
    }
    /* RTCP after the media: the scratch buffer is free again. */
    if (pr->keyframe_pending && now_ms - pr->last_pli_ms >= SFU_PLI_MIN_INTERVAL_MS)
        send_pli(pr, now_ms);
    if (now_ms - pr->last_rr_ms >= SFU_RR_INTERVAL_MS)
        send_rr(pr, now_ms);
    if (pr->p.video)
        maybe_send_remb(pr->owner, now_ms);
}

void sfu_producer__on_sr(sfu_producer_t *pr, const rtcp_sr_t *sr, uint64_t now_ms)
{
    rtp_rx_stats_on_sr(&pr->rx, sr->ntp, now_ms);
    pr->has_sr = true;
    pr->sr_rtp_ts = sr->rtp_ts;
    pr->sr_at_ms = now_ms;
}

void sfu_producer__nack(sfu_producer_t *pr, const uint16_t *seqs, int count)
{
    sfu_room_t *r = pr->room;
    if (count <= 0)
        return;
    int n = rtcp_write_nack(r->env.scratch, r->env.scratch_cap, SFU_RTCP_SENDER_SSRC, pr->p.ssrc,
                            seqs, count);
    if (n > 0 && sfu_leg__send_rtcp(pr->owner, r->env.scratch, (size_t)n) == 0) {
        pr->stats.nack_seqs_sent += (uint64_t)count;
        counter_inc(&r->env.stats->nack_sent);
    }
}
