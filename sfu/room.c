/* sfu/room.c: rooms and legs, and the two entry points of the packet path:
 * RTP and RTCP that a leg's transport decrypted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/room_internal.h"

sfu_room_t *sfu_room_new(int64_t id, const sfu_room_env_t *env)
{
    sfu_room_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = id;
    r->env = *env;
    sfu_speaker_init(&r->speaker);
    idmap_init(&r->legs);
    idmap_init(&r->producers_by_id);
    idmap_init(&r->producers_by_ssrc);
    idmap_init(&r->consumers_by_id);
    return r;
}

void sfu_room_free(sfu_room_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->legs.cap; i++) {
        idmap_set_t *s = &r->legs.slots[i];
        while (s->len)
            sfu_leg_free(s->items[0]);
    }
    idmap_free(&r->legs);
    idmap_free(&r->producers_by_id);
    idmap_free(&r->producers_by_ssrc);
    idmap_free(&r->consumers_by_id);
    free(r);
}

int64_t sfu_room_id(const sfu_room_t *r)
{
    return r->id;
}

size_t sfu_room_leg_count(const sfu_room_t *r)
{
    return r->leg_count;
}

sfu_leg_t *sfu_leg_new(sfu_room_t *r, uint64_t id, const sfu_leg_io_t *io, void *io_ctx)
{
    if (id == 0 || id > INT64_MAX || sfu_room_leg(r, id))
        return NULL;
    sfu_leg_t *leg = calloc(1, sizeof *leg);
    if (!leg)
        return NULL;
    leg->room = r;
    leg->id = id;
    leg->io = *io;
    leg->io_ctx = io_ctx;
    idmap_init(&leg->consumers_by_ssrc);
    if (idmap_add(&r->legs, (int64_t)id, leg)) {
        idmap_free(&leg->consumers_by_ssrc);
        free(leg);
        return NULL;
    }
    r->leg_count++;
    return leg;
}

void sfu_leg_free(sfu_leg_t *leg)
{
    if (!leg)
        return;
    while (leg->producers)
        sfu_producer__free(leg->producers);
    while (leg->consumers)
        sfu_consumer__free(leg->consumers);
    idmap_remove(&leg->room->legs, (int64_t)leg->id, leg);
    leg->room->leg_count--;
    idmap_free(&leg->consumers_by_ssrc);
    free(leg->bwe);
    free(leg->twcc);
    free(leg);
}

sfu_leg_t *sfu_room_leg(const sfu_room_t *r, uint64_t leg_id)
{
    const idmap_set_t *s =
        leg_id && leg_id <= INT64_MAX ? idmap_get(&r->legs, (int64_t)leg_id) : NULL;
    return s ? s->items[0] : NULL;
}

sfu_room_t *sfu_leg_room(const sfu_leg_t *leg)
{
    return leg->room;
}

void sfu_leg_set_connected(sfu_leg_t *leg, bool connected, uint64_t now_ms)
{
    leg->connected = connected;
    if (!connected)
        return;
    /* Consumers attached before the transport was up get a keyframe now. */
    for (sfu_consumer_t *c = leg->consumers; c; c = c->next_in_leg) {
        if (!c->p.paused)
            sfu_producer_request_keyframe(c->producer, now_ms);
    }
}

void sfu_leg_set_ext_ids(sfu_leg_t *leg, const rtp_ext_ids_t *ids)
{
    leg->ext = *ids;
    /* transport-wide-cc accepted: what this leg sends is measured. */
    if (ids->id[RTP_EXT_TWCC] && !leg->bwe && (leg->bwe = malloc(sizeof *leg->bwe)))
        rtp_bwe_init(leg->bwe, 1000000, 50000, 20000000);
    for (sfu_consumer_t *c = leg->consumers; c; c = c->next_in_leg)
        sfu_consumer__rebuild_ext_map(c);
}

void sfu_leg_set_rtx(sfu_leg_t *leg, bool rtx)
{
    leg->rtx = rtx;
}

/* A probe raises what the leg sends for a second with padding (RTX copies
 * of recent packets, which the subscriber discards): by half the estimate,
 * by all of it after a probe that raised the estimate. When the link carries
 * it, the estimate follows the acknowledged rate up and a higher layer fits.
 * Probes that raised nothing come less often, at least every 4 s, so a link
 * that got faster is found within seconds. */
#define PROBE_MS             1000
#define PROBE_MIN_BACKOFF_MS 2000
#define PROBE_MAX_BACKOFF_MS 4000

void sfu_leg__want_probe(sfu_leg_t *leg, uint64_t now_ms)
{
    if (!leg->bwe || !leg->rtx || now_ms < leg->next_probe_ms || now_ms < leg->probe_until_ms)
        return;
    uint64_t est = rtp_bwe_estimate_bps(leg->bwe);
    bool raised = false;
    if (leg->probe_from_bps) {
        raised = est >= leg->probe_from_bps * 6 / 5;
        leg->probe_backoff_ms = raised ? PROBE_MIN_BACKOFF_MS : leg->probe_backoff_ms * 2;
    }
    if (leg->probe_backoff_ms < PROBE_MIN_BACKOFF_MS)
        leg->probe_backoff_ms = PROBE_MIN_BACKOFF_MS;
    if (leg->probe_backoff_ms > PROBE_MAX_BACKOFF_MS)
        leg->probe_backoff_ms = PROBE_MAX_BACKOFF_MS;
    leg->probe_from_bps = est;
    leg->probe_bps = raised ? est * 2 : est * 3 / 2;
    leg->probe_start_ms = now_ms;
    leg->probe_until_ms = now_ms + PROBE_MS;
    leg->probe_bytes = 0;
    leg->next_probe_ms = now_ms + PROBE_MS + leg->probe_backoff_ms;
    counter_inc(&leg->room->env.stats->probes);
}

uint64_t sfu_leg_estimate_bps(const sfu_leg_t *leg)
{
    return leg->bwe ? rtp_bwe_estimate_bps(leg->bwe) : 0;
}

/* The transport-wide sequence number of a publisher's packet, recorded for
 * the transport-cc feedback that lets its browser adapt its uplink. */
static void record_arrival(sfu_leg_t *leg, const sfu_producer_t *pr, const rtp_packet_t *rtp)
{
    rtp_ext_t e;
    uint16_t seq;
    uint8_t id = pr->p.ext.id[RTP_EXT_TWCC];
    if (!id || !leg->room->env.now_us || rtp_ext_find(rtp, id, &e) ||
        rtp_ext_read_twcc_seq(&e, &seq))
        return;
    if (!leg->twcc) {
        if (!(leg->twcc = malloc(sizeof *leg->twcc)))
            return;
        rtp_twcc_recorder_init(leg->twcc);
    }
    rtp_twcc_recorder_add(leg->twcc, seq, leg->room->env.now_us());
}

static void send_twcc_feedback(sfu_leg_t *leg, uint32_t media_ssrc, uint64_t now_ms)
{
    sfu_room_t *r = leg->room;
    leg->last_twcc_ms = now_ms;
    for (int i = 0; i < 4; i++) { /* more than one when much is pending */
        int n = rtp_twcc_recorder_build(leg->twcc, SFU_RTCP_SENDER_SSRC, media_ssrc, r->env.scratch,
                                        r->env.scratch_cap < 1200 ? r->env.scratch_cap : 1200);
        if (n <= 0 || sfu_leg__send_rtcp(leg, r->env.scratch, (size_t)n))
            return;
        counter_inc(&r->env.stats->twcc_sent);
    }
}

int sfu_leg__send_rtcp(sfu_leg_t *leg, uint8_t *pkt, size_t len)
{
    sfu_media_stats_t *st = leg->room->env.stats;
    if (!leg->connected)
        return -ENOTCONN;
    int rc = leg->io.send_rtcp(leg->io_ctx, pkt, len, leg->room->env.scratch_cap);
    if (rc)
        counter_inc(&st->send_failed);
    return rc;
}

/* RFC 8852: a simulcast layer's first packet names its RID (and mid): its
 * SSRC is that layer's from now on. Its RTX stream's first packet names the
 * layer it repairs (repaired-rtp-stream-id) likewise. */
static sfu_producer_t *bind_by_rid(sfu_leg_t *leg, const rtp_packet_t *rtp)
{
    for (sfu_producer_t *pr = leg->producers; pr; pr = pr->next_in_leg) {
        bool rtx = pr->p.rtx_pt && rtp->pt == pr->p.rtx_pt;
        uint8_t rid_id = pr->p.ext.id[rtx ? RTP_EXT_RRID : RTP_EXT_RID];
        uint8_t mid_id = pr->p.ext.id[RTP_EXT_MID];
        char rid[16], mid[32];
        rtp_ext_t e;
        if (pr->nstreams < 2 || !rid_id || rtp_ext_find(rtp, rid_id, &e) ||
            rtp_ext_read_mid(&e, rid, sizeof rid))
            continue;
        if (mid_id && rtp_ext_find(rtp, mid_id, &e) == 0 &&
            (rtp_ext_read_mid(&e, mid, sizeof mid) || strcmp(mid, pr->p.mid)))
            continue;
        for (int i = 0; i < pr->nstreams; i++) {
            if (strcmp(pr->p.rids[i], rid))
                continue;
            if (rtx)
                return !pr->streams[i].rtx_ssrc && sfu_producer__bind_rtx(pr, i, rtp->ssrc) == 0
                           ? pr
                           : NULL;
            if (!pr->streams[i].ssrc)
                return sfu_producer__bind(pr, i, rtp->ssrc) == 0 ? pr : NULL;
        }
    }
    return NULL;
}

void sfu_leg_receive_rtp(sfu_leg_t *leg, uint8_t *pkt, size_t len, uint64_t now_ms)
{
    sfu_media_stats_t *st = leg->room->env.stats;
    rtp_packet_t rtp;
    if (rtp_packet_parse(&rtp, pkt, len)) {
        counter_inc(&st->rtp_malformed);
        return;
    }
    /* Only what this leg publishes: an SSRC is the room's, never a worker's. */
    sfu_producer_t *pr = sfu_room_producer_by_ssrc(leg->room, rtp.ssrc);
    if (!pr && rtp.ext)
        pr = bind_by_rid(leg, &rtp);
    if (!pr || pr->owner != leg) {
        counter_inc(&st->unknown_ssrc);
        return;
    }
    record_arrival(leg, pr, &rtp);
    if (pr->p.rtx_pt && rtp.pt == pr->p.rtx_pt)
        sfu_producer__on_rtx(pr, &rtp, now_ms);
    else
        sfu_producer__on_rtp(pr, &rtp, now_ms);
    if (leg->twcc && now_ms - leg->last_twcc_ms >= SFU_TWCC_FEEDBACK_MS)
        send_twcc_feedback(leg, rtp.ssrc, now_ms);
}

static sfu_consumer_t *consumer_of_leg(const sfu_leg_t *leg, uint32_t ssrc)
{
    const idmap_set_t *s = idmap_get(&leg->consumers_by_ssrc, (int64_t)ssrc + 1);
    return s ? s->items[0] : NULL;
}

/* Feedback from a subscriber names one of our consumer SSRCs. */
static void on_feedback(sfu_leg_t *leg, const rtcp_packet_t *pkt, uint64_t now_ms)
{
    sfu_media_stats_t *st = leg->room->env.stats;
    rtcp_fb_t fb;
    if (rtcp_parse_fb(pkt, &fb))
        return;
    if (fb.pt == RTCP_PT_PSFB && fb.fmt == RTCP_FMT_FIR) {
        /* RFC 5104 4.3.1: the SSRCs are in the FCI entries. */
        int n = rtcp_fir_count(&fb);
        for (int i = 0; i < n; i++) {
            uint32_t ssrc;
            uint8_t seq_nr;
            rtcp_fir_entry(&fb, i, &ssrc, &seq_nr);
            sfu_consumer_t *c = consumer_of_leg(leg, ssrc);
            if (c)
                sfu_consumer__on_feedback(c, &fb, now_ms);
            else
                counter_inc(&st->rtcp_unknown_ssrc);
        }
        return;
    }
    if (fb.pt == RTCP_PT_RTPFB && fb.fmt == RTCP_FMT_TWCC) {
        /* About everything this leg sent, whatever SSRC it names. */
        if (leg->bwe && leg->room->env.now_us &&
            rtp_bwe_on_feedback(leg->bwe, &fb, leg->room->env.now_us()) == 0)
            counter_inc(&st->twcc_received);
        return;
    }
    bool wanted = (fb.pt == RTCP_PT_PSFB && fb.fmt == RTCP_FMT_PLI) ||
                  (fb.pt == RTCP_PT_RTPFB && fb.fmt == RTCP_FMT_NACK);
    if (!wanted)
        return; /* REMB, transport-cc feedback, ...: terminated here */
    sfu_consumer_t *c = consumer_of_leg(leg, fb.media_ssrc);
    if (!c) {
        counter_inc(&st->rtcp_unknown_ssrc);
        return;
    }
    sfu_consumer__on_feedback(c, &fb, now_ms);
}

static void on_report_blocks(sfu_leg_t *leg, const uint8_t *reports, int count)
{
    for (int i = 0; i < count; i++) {
        rtcp_report_block_t rb;
        rtcp_report_block_read(reports, i, &rb);
        sfu_consumer_t *c = consumer_of_leg(leg, rb.ssrc);
        if (c)
            sfu_consumer__on_report(c, &rb);
    }
}

void sfu_leg_receive_rtcp(sfu_leg_t *leg, uint8_t *pkt, size_t len, uint64_t now_ms)
{
    sfu_media_stats_t *st = leg->room->env.stats;
    rtcp_iter_t it;
    rtcp_packet_t p;
    int rc;
    rtcp_iter_init(&it, pkt, len);
    while ((rc = rtcp_iter_next(&it, &p)) == 1) {
        switch (p.pt) {
        case RTCP_PT_SR: {
            rtcp_sr_t sr;
            if (rtcp_parse_sr(&p, &sr))
                break;
            sfu_producer_t *pr = sfu_room_producer_by_ssrc(leg->room, sr.ssrc);
            if (pr && pr->owner == leg)
                sfu_producer__on_sr(pr, &sr, now_ms);
            on_report_blocks(leg, sr.reports, sr.report_count);
            break;
        }
        case RTCP_PT_RR: {
            rtcp_rr_t rr;
            if (rtcp_parse_rr(&p, &rr) == 0)
                on_report_blocks(leg, rr.reports, rr.report_count);
            break;
        }
        case RTCP_PT_RTPFB:
        case RTCP_PT_PSFB:
            on_feedback(leg, &p, now_ms);
            break;
        default:
            break; /* SDES, BYE, APP, XR: nothing to do */
        }
    }
    if (rc < 0)
        counter_inc(&st->rtcp_malformed);
}
