/* Unit tests: simulcast. Keyframes and the VP8 payload descriptor
 * (rtp/rtp_codec.h), numbering that closes up behind left-out packets
 * (rtp_rewriter_drop), the layer choice (sfu/simulcast.h), and a simulcast
 * producer in a room: RID binding, switching only on a keyframe of the
 * target layer, sequence numbers, timestamps and VP8 picture ids continuous
 * across switches, temporal layers left out without a gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "rtp/rtp.h"
#include "rtp/rtp_codec.h"
#include "sfu/room.h"
#include "sfu/simulcast.h"

/* ---- payloads ---- */

/* A VP8 payload: descriptor with a 15-bit picture id, TL0PICIDX and TID,
 * then a frame header byte (P bit clear on keyframes). */
static size_t vp8_payload(uint8_t *out, bool start, bool key, uint16_t pic, uint8_t tl0,
                          uint8_t tid)
{
    out[0] = (uint8_t)(0x80 | (start ? 0x10 : 0)); /* X, S, PID 0 */
    out[1] = 0x80 | 0x40 | 0x20;                   /* I, L, T */
    out[2] = (uint8_t)(0x80 | (pic >> 8));
    out[3] = (uint8_t)pic;
    out[4] = tl0;
    out[5] = (uint8_t)(tid << 6);
    out[6] = key ? 0x00 : 0x01;
    memset(out + 7, 0x5a, 9);
    return 16;
}

static void test_vp8_descriptor_parse_and_write(void **state)
{
    (void)state;
    uint8_t b[32];
    size_t n = vp8_payload(b, true, true, 0x1234, 77, 2);
    rtp_vp8_desc_t d;
    assert_int_equal(rtp_vp8_parse(b, n, &d), 0);
    assert_true(d.start && d.keyframe && d.has_picture_id && d.picture_id_long);
    assert_int_equal(d.picture_id, 0x1234);
    assert_true(d.has_tl0 && d.tl0picidx == 77);
    assert_true(d.has_tid && d.tid == 2);
    assert_int_equal(d.header_len, 6);
    rtp_vp8_write(b, &d, 0x7ffe, 200);
    assert_int_equal(rtp_vp8_parse(b, n, &d), 0);
    assert_int_equal(d.picture_id, 0x7ffe);
    assert_int_equal(d.tl0picidx, 200);
    assert_int_equal(b[6], 0x00); /* the frame is untouched */
    /* Not a keyframe: P set, or not the start. */
    n = vp8_payload(b, true, false, 1, 1, 0);
    assert_int_equal(rtp_vp8_parse(b, n, &d), 0);
    assert_false(d.keyframe);
    n = vp8_payload(b, false, true, 1, 1, 0);
    assert_false(rtp_is_keyframe(RTP_CODEC_VP8, b, n));
    /* A descriptor announcing more than there is. */
    assert_int_equal(rtp_vp8_parse(b, 3, &d), -EINVAL);
    assert_int_equal(rtp_vp8_parse(b, 0, &d), -EINVAL);
    /* 7-bit picture ids stay 7-bit. */
    uint8_t s[4] = {0x90, 0x80, 0x05, 0x00};
    assert_int_equal(rtp_vp8_parse(s, 4, &d), 0);
    assert_false(d.picture_id_long);
    assert_true(d.keyframe);
    rtp_vp8_write(s, &d, 0x1ff, 0);
    assert_int_equal(s[2], 0x7f);
}

static void test_h264_keyframes(void **state)
{
    (void)state;
    uint8_t idr[] = {0x65, 0x88, 0x80};
    uint8_t slice[] = {0x41, 0x9a, 0x00};
    uint8_t stap[] = {0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce};
    uint8_t fu_start[] = {0x7c, 0x85, 0x00};
    uint8_t fu_mid[] = {0x7c, 0x05, 0x00};
    uint8_t stap_bad[] = {0x18, 0x00, 0x09, 0x67};
    assert_true(rtp_h264_is_keyframe(idr, sizeof idr));
    assert_false(rtp_h264_is_keyframe(slice, sizeof slice));
    assert_true(rtp_h264_is_keyframe(stap, sizeof stap));
    assert_true(rtp_h264_is_keyframe(fu_start, sizeof fu_start));
    assert_false(rtp_h264_is_keyframe(fu_mid, sizeof fu_mid));
    assert_false(rtp_h264_is_keyframe(stap_bad, sizeof stap_bad));
    assert_false(rtp_h264_is_keyframe(idr, 0));
    assert_true(rtp_is_keyframe(RTP_CODEC_H264, idr, sizeof idr));
    assert_int_equal(rtp_codec_kind_of("vp8"), RTP_CODEC_VP8);
    assert_int_equal(rtp_codec_kind_of("H264"), RTP_CODEC_H264);
    assert_int_equal(rtp_codec_kind_of("opus"), RTP_CODEC_OTHER);
}

/* ---- the rewriter ---- */

/* The sequence number as written in the packet. */
static uint16_t rtp_packet_seq(const rtp_packet_t *p)
{
    return (uint16_t)(p->data[2] << 8 | p->data[3]);
}

static rtp_packet_t pkt_of(uint8_t *buf, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    rtp_header_write(buf, 64, 96, false, seq, ts, ssrc);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, 12), 0);
    return p;
}

static void test_dropped_packets_close_up_the_numbering(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 42, 9000, 90000, 500, 0);
    uint8_t b[64];
    uint16_t out[8];
    /* 100 sent, 101 dropped, 102 sent, 103 dropped, 104 sent. */
    for (uint16_t s = 100; s <= 104; s++) {
        rtp_packet_t p = pkt_of(b, s, 1000u * s, 42);
        if (s % 2) {
            assert_int_equal(rtp_rewriter_drop(&rw, &p, s), 0);
            continue;
        }
        assert_int_equal(rtp_rewriter_rewrite(&rw, &p, s), 0);
        out[s - 100] = rtp_packet_seq(&p);
    }
    assert_int_equal(out[0], 500);
    assert_int_equal(out[2], 501);
    assert_int_equal(out[4], 502);
    /* A late packet between sent ones keeps the number it would have had:
     * 99 (before everything) is older than the source's first. */
    rtp_packet_t late = pkt_of(b, 99, 0, 42);
    assert_int_equal(rtp_rewriter_rewrite(&rw, &late, 110), -EALREADY);
    /* Each sent number maps back to its packet, for NACKs. */
    uint16_t in;
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 500, &in), 0);
    assert_int_equal(in, 100);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 501, &in), 0);
    assert_int_equal(in, 102);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 502, &in), 0);
    assert_int_equal(in, 104);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 503, &in), -ENOENT);
    /* A retransmission of 102 goes out as it did before. */
    rtp_packet_t again = pkt_of(b, 102, 102000, 42);
    rtp_rewriter_apply(&rw, &again);
    assert_int_equal(rtp_packet_seq(&again), 501);
    /* A dropped one does not come again. */
    rtp_packet_t dup = pkt_of(b, 103, 0, 42);
    assert_int_equal(rtp_rewriter_drop(&rw, &dup, 120), -EALREADY);
}

static void test_a_lost_packet_keeps_its_gap_among_drops(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 42, 9000, 90000, 10, 0);
    uint8_t b[64];
    rtp_packet_t p = pkt_of(b, 1, 0, 42);
    assert_int_equal(rtp_rewriter_rewrite(&rw, &p, 1), 0); /* 1 -> 10 */
    p = pkt_of(b, 2, 0, 42);
    assert_int_equal(rtp_rewriter_drop(&rw, &p, 2), 0); /* 2 left out */
    /* 3 is lost for now; 4 arrives: it leaves room for 3. */
    p = pkt_of(b, 4, 0, 42);
    assert_int_equal(rtp_rewriter_rewrite(&rw, &p, 3), 0);
    assert_int_equal(rtp_packet_seq(&p), 12);
    /* What went out can be sent again; what was left out or is still
     * missing cannot (it has no number of its own). */
    assert_true(rtp_rewriter_was_sent(&rw, 1));
    assert_false(rtp_rewriter_was_sent(&rw, 2));
    assert_false(rtp_rewriter_was_sent(&rw, 3));
    assert_true(rtp_rewriter_was_sent(&rw, 4));
    assert_false(rtp_rewriter_was_sent(&rw, 5));
    p = pkt_of(b, 3, 0, 42); /* recovered */
    assert_int_equal(rtp_rewriter_rewrite(&rw, &p, 4), 0);
    assert_int_equal(rtp_packet_seq(&p), 11);
    assert_true(rtp_rewriter_was_sent(&rw, 3));
}

static void test_a_new_source_after_drops_starts_past_late_packets(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 42, 9000, 90000, 100, 0);
    uint8_t b[64];
    rtp_packet_t p = pkt_of(b, 1000, 0, 42);
    assert_int_equal(rtp_rewriter_rewrite(&rw, &p, 1), 0); /* -> 100 */
    p = pkt_of(b, 1010, 0, 42);
    assert_int_equal(rtp_rewriter_drop(&rw, &p, 2), 0); /* 1001-1009 may come late */
    p = pkt_of(b, 1009, 0, 42);
    assert_int_equal(rtp_rewriter_rewrite(&rw, &p, 3), 0);
    assert_int_equal(rtp_packet_seq(&p), 109);
    /* Another source: after 109, never on top of it. */
    rtp_rewriter_switch(&rw, 43);
    p = pkt_of(b, 5, 0, 43);
    assert_int_equal(rtp_rewriter_rewrite(&rw, &p, 4), 0);
    assert_int_equal(rtp_packet_seq(&p), 110);
}

/* ---- the choice ---- */

static sfu_layer_state_t layer(uint64_t t0, uint64_t t1, uint64_t t2)
{
    sfu_layer_state_t l = {.active = true, .temporal = 3, .bps = {t0, t1, t2, t2}};
    return l;
}

static void test_layer_choice_against_estimate_and_preference(void **state)
{
    (void)state;
    sfu_layer_state_t ls[3] = {layer(50000, 80000, 100000), layer(150000, 250000, 300000),
                               layer(400000, 600000, 800000)};
    /* No estimate: the top the subscriber wants. */
    sfu_layer_choice_t c = sfu_simulcast_choose(ls, 3, 2, 3, 0, -1, 0);
    assert_int_equal(c.spatial, 2);
    assert_int_equal(c.temporal, 3);
    assert_false(c.limited);
    /* A small tile: layer 0 whatever the estimate. */
    c = sfu_simulcast_choose(ls, 3, 0, 3, 5000000, -1, 0);
    assert_int_equal(c.spatial, 0);
    assert_int_equal(c.temporal, 3);
    assert_false(c.limited);
    /* 650 kbit/s, on layer 2 already: temporal layers go first (2 at TL0-1). */
    c = sfu_simulcast_choose(ls, 3, 2, 3, 650000, 2, 3);
    assert_int_equal(c.spatial, 2);
    assert_int_equal(c.temporal, 2);
    assert_true(c.limited);
    /* 450 kbit/s: layer 2 only at a quarter of its frame rate (TL0 alone):
     * layer 1 whole instead. */
    c = sfu_simulcast_choose(ls, 3, 2, 3, 450000, 2, 2);
    assert_int_equal(c.spatial, 1);
    assert_int_equal(c.temporal, 3);
    /* 350 kbit/s: layer 1 whole. */
    c = sfu_simulcast_choose(ls, 3, 2, 3, 350000, 2, 2);
    assert_int_equal(c.spatial, 1);
    assert_int_equal(c.temporal, 3);
    /* 90 kbit/s: layer 0 at TL0-1. */
    c = sfu_simulcast_choose(ls, 3, 2, 3, 90000, 1, 3);
    assert_int_equal(c.spatial, 0);
    assert_int_equal(c.temporal, 2);
    /* Nothing fits: the lowest active layer's base. */
    c = sfu_simulcast_choose(ls, 3, 2, 3, 10000, 0, 1);
    assert_int_equal(c.spatial, 0);
    assert_int_equal(c.temporal, 1);
    assert_true(c.limited);
    /* Going up needs a margin: 320 kbit/s keeps layer 1 at TL0-1 from
     * taking TL2 (300 > 85 % of 320), and already at TL2 it stays. */
    c = sfu_simulcast_choose(ls, 3, 2, 3, 320000, 1, 2);
    assert_int_equal(c.spatial, 1);
    assert_int_equal(c.temporal, 2);
    c = sfu_simulcast_choose(ls, 3, 2, 3, 320000, 1, 3);
    assert_int_equal(c.temporal, 3);
    /* An inactive top layer is not chosen. */
    ls[2].active = false;
    c = sfu_simulcast_choose(ls, 3, 2, 3, 0, -1, 0);
    assert_int_equal(c.spatial, 1);
    ls[0].active = ls[1].active = false;
    c = sfu_simulcast_choose(ls, 3, 2, 3, 0, -1, 0);
    assert_int_equal(c.spatial, -1);
}

/* ---- in a room ---- */

#define CAP_MAX 256
typedef struct capture {
    int rtp_count, rtcp_count;
    uint8_t rtp[CAP_MAX][200];
    size_t rtp_len[CAP_MAX];
    uint32_t pli_ssrc[CAP_MAX];
    int pli_count;
} capture_t;

static int cap_rtp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    capture_t *c = ctx;
    (void)cap;
    if (c->rtp_count < CAP_MAX && len <= sizeof c->rtp[0]) {
        memcpy(c->rtp[c->rtp_count], pkt, len);
        c->rtp_len[c->rtp_count] = len;
    }
    c->rtp_count++;
    return 0;
}

static int cap_rtcp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    capture_t *c = ctx;
    (void)cap;
    /* PLI: PSFB (206) FMT 1, media SSRC at offset 8. */
    if (len >= 12 && pkt[1] == 206 && (pkt[0] & 0x1f) == 1 && c->pli_count < CAP_MAX)
        c->pli_ssrc[c->pli_count++] =
            (uint32_t)pkt[8] << 24 | pkt[9] << 16 | pkt[10] << 8 | pkt[11];
    c->rtcp_count++;
    return 0;
}

static const sfu_leg_io_t cap_io = {.send_rtp = cap_rtp, .send_rtcp = cap_rtcp};

static uint64_t fixed_ntp(void)
{
    return 0xe5a1b2c300000000ull;
}

typedef struct fixture {
    sfu_media_stats_t stats;
    uint8_t scratch[1600];
    sfu_room_t *room;
    sfu_leg_t *pub, *sub;
    capture_t cap_pub, cap_sub;
} fixture_t;

#define RID_ID  10
#define MID_ID  4
#define RRID_ID 11
#define RTX_PT  97
static const char *const rids[3] = {"q", "h", "f"};
static const uint32_t layer_ssrc[3] = {1001, 1002, 1003};

static int setup_with(void **state, bool rtx)
{
    fixture_t *f = calloc(1, sizeof *f);
    sfu_room_env_t env = {.stats = &f->stats,
                          .scratch = f->scratch,
                          .scratch_cap = sizeof f->scratch,
                          .now_ntp = fixed_ntp};
    f->room = sfu_room_new(1, &env);
    f->pub = sfu_leg_new(f->room, 1, &cap_io, &f->cap_pub);
    f->sub = sfu_leg_new(f->room, 2, &cap_io, &f->cap_sub);
    sfu_leg_set_connected(f->pub, true, 1);
    sfu_leg_set_connected(f->sub, true, 1);
    sfu_producer_params_t pp = {
        .id = 10, .video = true, .pt = 96, .clock_hz = 90000, .codec = RTP_CODEC_VP8, .layers = 3};
    pp.ext.id[RTP_EXT_RID] = RID_ID;
    pp.ext.id[RTP_EXT_MID] = MID_ID;
    snprintf(pp.mid, sizeof pp.mid, "1");
    for (int i = 0; i < 3; i++)
        snprintf(pp.rids[i], sizeof pp.rids[i], "%s", rids[i]);
    if (rtx) { /* RFC 4588 per layer, told apart by repaired-rtp-stream-id */
        pp.rtx_pt = RTX_PT;
        pp.ext.id[RTP_EXT_RRID] = RRID_ID;
    }
    assert_int_equal(sfu_producer_new(f->room, f->pub, &pp, NULL), 0);
    sfu_consumer_params_t cp = {.id = 20, .ssrc = 7777};
    snprintf(cp.mid, sizeof cp.mid, "0");
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub, &cp, 1, NULL), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_rtx(void **state)
{
    return setup_with(state, true);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    sfu_room_free(f->room);
    free(f);
    return 0;
}

/* One VP8 packet of layer l, its RID and mid in the header extension. */
static void feed(fixture_t *f, int l, uint16_t seq, uint32_t ts, bool start, bool key, uint16_t pic,
                 uint8_t tl0, uint8_t tid, uint64_t now_ms)
{
    uint8_t pkt[128];
    rtp_header_write(pkt, sizeof pkt, 96, false, seq, ts, layer_ssrc[l]);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, pkt, 12), 0);
    uint8_t mid = '1';
    rtp_ext_t elems[2] = {{.id = RID_ID, .len = 1, .data = (uint8_t *)rids[l]},
                          {.id = MID_ID, .len = 1, .data = &mid}};
    assert_int_equal(rtp_packet_set_extensions(&p, sizeof pkt - 32, elems, 2), 0);
    size_t n = vp8_payload(pkt + p.header_len, start, key, pic, tl0, tid);
    sfu_leg_receive_rtp(f->pub, pkt, p.header_len + n, now_ms);
}

/* A retransmission on an RTX stream: its repaired-rtp-stream-id and mid in
 * the header extension, then the original sequence number and payload (a
 * VP8 packet of picture pic). */
static void feed_rtx(fixture_t *f, const char *rrid, uint32_t ssrc, uint16_t seq, uint16_t osn,
                     uint32_t ts, uint16_t pic, uint8_t tl0, uint64_t now_ms)
{
    uint8_t pkt[128];
    rtp_header_write(pkt, sizeof pkt, RTX_PT, false, seq, ts, ssrc);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, pkt, 12), 0);
    uint8_t mid = '1';
    rtp_ext_t elems[2] = {{.id = RRID_ID, .len = (uint8_t)strlen(rrid), .data = (uint8_t *)rrid},
                          {.id = MID_ID, .len = 1, .data = &mid}};
    assert_int_equal(rtp_packet_set_extensions(&p, sizeof pkt - 32, elems, 2), 0);
    uint8_t *payload = pkt + p.header_len;
    payload[0] = (uint8_t)(osn >> 8);
    payload[1] = (uint8_t)osn;
    size_t n = vp8_payload(payload + 2, true, false, pic, tl0, 0);
    sfu_leg_receive_rtp(f->pub, pkt, p.header_len + 2 + n, now_ms);
}

static rtp_packet_t sent(fixture_t *f, int i, rtp_vp8_desc_t *d)
{
    rtp_packet_t p;
    assert_true(i < f->cap_sub.rtp_count && i < CAP_MAX);
    assert_int_equal(rtp_packet_parse(&p, f->cap_sub.rtp[i], f->cap_sub.rtp_len[i]), 0);
    assert_int_equal(rtp_vp8_parse(p.payload, p.payload_len, d), 0);
    return p;
}

/* A frame on every layer at t (ms): one packet each, keyframes when key. */
static void frame_all(fixture_t *f, int n, bool key, uint64_t t)
{
    for (int l = 0; l < 3; l++)
        feed(f, l, (uint16_t)(100 * (l + 1) + n), 3000u * n, true, key, (uint16_t)(1000 * l + n),
             (uint8_t)n, 0, t);
}

/* Frames 0-3 on every layer, keyframes at 1 and 3: the consumer starts on
 * the lowest layer (the only one bound when it first chose) and moves to
 * the top once it chooses again. Returns the time of the last frame. */
static uint64_t reach_top(fixture_t *f)
{
    frame_all(f, 0, false, 10);
    frame_all(f, 1, true, 40);
    frame_all(f, 2, false, 300);
    frame_all(f, 3, true, 330);
    return 330;
}

static void test_rid_layers_bind_and_the_top_is_sent(void **state)
{
    fixture_t *f = *state;
    sfu_producer_t *pr = sfu_room_producer(f->room, 10);
    assert_int_equal(sfu_producer_layer_count(pr), 3);
    assert_int_equal(sfu_producer_layer_ssrc(pr, 1), 0);
    frame_all(f, 0, false, 10);
    for (int l = 0; l < 3; l++)
        assert_int_equal(sfu_producer_layer_ssrc(pr, l), layer_ssrc[l]);
    assert_ptr_equal(sfu_room_producer_by_ssrc(f->room, 1002), pr);
    /* Nothing is sent before a keyframe of the target, which was asked for:
     * at first the lowest layer, the one flowing when the consumer chose. */
    assert_int_equal(f->cap_sub.rtp_count, 0);
    assert_true(f->cap_pub.pli_count >= 1);
    assert_int_equal(f->cap_pub.pli_ssrc[f->cap_pub.pli_count - 1], 1001);
    frame_all(f, 1, true, 40);
    assert_int_equal(f->cap_sub.rtp_count, 1);
    rtp_vp8_desc_t d;
    rtp_packet_t p = sent(f, 0, &d);
    assert_int_equal(p.ssrc, 7777);
    assert_int_equal(d.picture_id, 1);
    /* With no estimate, the top layer once it is known to flow. */
    frame_all(f, 2, false, 300);
    assert_int_equal(f->cap_pub.pli_ssrc[f->cap_pub.pli_count - 1], 1003);
    assert_int_equal(f->cap_sub.rtp_count, 2); /* layer 0 until then */
    /* Layer 0's frame 3 goes first, then layer 2's keyframe takes over. */
    frame_all(f, 3, true, 330);
    assert_int_equal(f->cap_sub.rtp_count, 4);
    p = sent(f, 3, &d);
    assert_int_equal(d.picture_id, 4);
    assert_true(d.keyframe);
    sfu_consumer_stats_t st;
    sfu_consumer_get_stats(sfu_room_consumer(f->room, 20), &st);
    assert_int_equal(st.layer, 2);
    assert_int_equal(st.layer_switches, 1);
    /* A packet of an unknown RID binds nothing. */
    uint8_t pkt[64];
    rtp_header_write(pkt, sizeof pkt, 96, false, 1, 0, 4242);
    sfu_leg_receive_rtp(f->pub, pkt, 20, 350);
    assert_null(sfu_room_producer_by_ssrc(f->room, 4242));
}

/* RID simulcast with RTX (what Chromium sends): each layer's RTX stream is
 * bound by the repaired-rtp-stream-id of its first packet, and a
 * retransmission repairs the layer it names, in place for the subscriber
 * on that layer and for no one else. */
static void test_rid_layers_bind_their_rtx_streams(void **state)
{
    fixture_t *f = *state;
    sfu_producer_t *pr = sfu_room_producer(f->room, 10);
    uint64_t t = reach_top(f);
    assert_int_equal(f->cap_sub.rtp_count, 4);
    /* Frame 4 of the top layer is lost upstream; frame 5 comes. */
    feed(f, 0, 104, 12000, true, false, 4, 4, 0, t + 30);
    feed(f, 1, 204, 12000, true, false, 1004, 4, 0, t + 30);
    feed(f, 2, 305, 15000, true, false, 2005, 5, 0, t + 60);
    assert_int_equal(f->cap_sub.rtp_count, 5);
    rtp_vp8_desc_t d;
    uint16_t seq3 = sent(f, 3, &d).seq;
    uint16_t pic3 = d.picture_id;
    assert_int_equal((uint16_t)(sent(f, 4, &d).seq - seq3), 2);
    assert_int_equal(d.picture_id, pic3 + 2); /* the lost picture's number is kept */
    /* The top layer's RTX stream repairs it: bound by its RRID, the packet
     * goes out in the gaps left for it, its sequence number and its picture
     * id. */
    feed_rtx(f, "f", 3003, 1, 304, 12000, 2004, 4, t + 70);
    assert_ptr_equal(sfu_room_producer_by_ssrc(f->room, 3003), pr);
    assert_int_equal(f->cap_sub.rtp_count, 6);
    rtp_packet_t p = sent(f, 5, &d);
    assert_int_equal((uint16_t)(p.seq - seq3), 1);
    assert_int_equal(p.ssrc, 7777);
    assert_int_equal(p.pt, 96);
    assert_int_equal(d.picture_id, pic3 + 1);
    assert_int_equal(counter_get(&f->stats.upstream_rtx), 1);
    assert_int_equal(counter_get(&f->stats.upstream_recovered), 1);
    /* The middle layer's RTX stream binds to it; its repair is not for this
     * subscriber (on the top layer). */
    feed(f, 1, 206, 18000, true, false, 1006, 6, 0, t + 90); /* 205 lost */
    int before = f->cap_sub.rtp_count;
    feed_rtx(f, "h", 3002, 1, 205, 15000, 1005, 5, t + 100);
    assert_ptr_equal(sfu_room_producer_by_ssrc(f->room, 3002), pr);
    assert_int_equal(f->cap_sub.rtp_count, before);
    assert_int_equal(counter_get(&f->stats.upstream_recovered), 2);
    /* A second RTX stream for a layer that has one, and an RRID that names
     * no layer, bind nothing. */
    feed_rtx(f, "f", 4003, 1, 305, 15000, 2005, 5, t + 110);
    feed_rtx(f, "x", 4004, 1, 305, 15000, 2005, 5, t + 110);
    assert_null(sfu_room_producer_by_ssrc(f->room, 4003));
    assert_null(sfu_room_producer_by_ssrc(f->room, 4004));
    assert_int_equal(counter_get(&f->stats.unknown_ssrc), 2);
    assert_int_equal(f->cap_sub.rtp_count, before);
    /* Closing the producer frees the RTX SSRCs with the layers'. */
    assert_int_equal(sfu_room_producer_close(f->room, 10, 1), 0);
    assert_null(sfu_room_producer_by_ssrc(f->room, 3003));
    assert_null(sfu_room_producer_by_ssrc(f->room, 3002));
    assert_null(sfu_room_producer_by_ssrc(f->room, 1003));
}

static void test_switching_waits_for_a_keyframe_and_stays_continuous(void **state)
{
    fixture_t *f = *state;
    uint64_t t = reach_top(f);
    assert_int_equal(f->cap_sub.rtp_count, 4);
    /* The subscriber's tile got small: at most layer 0. */
    assert_int_equal(sfu_room_consumer_set_layers(f->room, 20, 1, 0, t), 0);
    int plis = f->cap_pub.pli_count;
    frame_all(f, 4, false, t + 600); /* no keyframe on layer 0: still layer 2 */
    assert_int_equal(f->cap_sub.rtp_count, 5);
    assert_true(f->cap_pub.pli_count > plis);
    assert_int_equal(f->cap_pub.pli_ssrc[f->cap_pub.pli_count - 1], 1001);
    frame_all(f, 5, true, t + 630); /* layer 0's keyframe: switch */
    frame_all(f, 6, false, t + 660);
    assert_int_equal(f->cap_sub.rtp_count, 7);
    rtp_vp8_desc_t d0, d1, d2;
    rtp_packet_t before = sent(f, 4, &d0), at = sent(f, 5, &d1), after = sent(f, 6, &d2);
    /* The switch packet is layer 0's keyframe... */
    assert_true(d1.keyframe);
    /* ...numbered right after the last of layer 2, with later timestamps. */
    assert_int_equal((uint16_t)(rtp_packet_seq(&at) - rtp_packet_seq(&before)), 1);
    assert_int_equal((uint16_t)(rtp_packet_seq(&after) - rtp_packet_seq(&at)), 1);
    assert_true((int32_t)(at.ts - before.ts) > 0);
    assert_int_equal(after.ts - at.ts, 3000);
    assert_int_equal(at.ssrc, 7777);
    /* Picture ids and TL0PICIDX run on (layer 0's own are 5 and 6). */
    assert_int_equal((uint16_t)(d1.picture_id - d0.picture_id), 1);
    assert_int_equal((uint16_t)(d2.picture_id - d1.picture_id), 1);
    assert_int_equal((uint8_t)(d1.tl0picidx - d0.tl0picidx), 1);
    sfu_consumer_stats_t st;
    sfu_consumer_get_stats(sfu_room_consumer(f->room, 20), &st);
    assert_int_equal(st.layer, 0);
    assert_int_equal(st.layer_switches, 2);
    /* Back up to every layer: layer 2 again on its next keyframe only. */
    assert_int_equal(sfu_room_consumer_set_layers(f->room, 20, 0, 0, t + 700), 0);
    frame_all(f, 7, false, t + 1000);
    rtp_packet_t p = sent(f, f->cap_sub.rtp_count - 1, &d0);
    assert_int_equal(d0.picture_id, (uint16_t)(d2.picture_id + 1));
    frame_all(f, 8, true, t + 1030); /* layer 0's frame 8, then layer 2's keyframe */
    p = sent(f, f->cap_sub.rtp_count - 1, &d1);
    assert_true(d1.keyframe);
    assert_int_equal(d1.picture_id, (uint16_t)(d0.picture_id + 2));
    assert_int_equal(rtp_packet_seq(&p), (uint16_t)(rtp_packet_seq(&after) + 3));
    sfu_consumer_get_stats(sfu_room_consumer(f->room, 20), &st);
    assert_int_equal(st.layer, 2);
}

static void test_temporal_layers_are_left_out_without_a_gap(void **state)
{
    fixture_t *f = *state;
    /* Only layer 0 flows, with temporal layers 0,2,1,2,0,2,1,2 (L1T3). */
    static const uint8_t tids[8] = {0, 2, 1, 2, 0, 2, 1, 2};
    assert_int_equal(sfu_room_consumer_set_layers(f->room, 20, 1, 1, 1), 0);
    for (int n = 0; n < 16; n++)
        feed(f, 0, (uint16_t)(50 + n), 3000u * n, true, n == 0, (uint16_t)(300 + n),
             (uint8_t)(n / 4), tids[n % 8], 10 + 33 * (uint64_t)n);
    /* The layer's windows know its temporal layers after a second. */
    for (int n = 16; n < 48; n++)
        feed(f, 0, (uint16_t)(50 + n), 3000u * n, true, false, (uint16_t)(300 + n),
             (uint8_t)(n / 4), tids[n % 8], 10 + 33 * (uint64_t)n);
    int before = f->cap_sub.rtp_count;
    for (int n = 48; n < 64; n++)
        feed(f, 0, (uint16_t)(50 + n), 3000u * n, true, false, (uint16_t)(300 + n),
             (uint8_t)(n / 4), tids[n % 8], 10 + 33 * (uint64_t)n);
    int got = f->cap_sub.rtp_count - before;
    /* TL0 only: 4 of 16 pictures, numbered and picture-id'd without gaps. */
    assert_int_equal(got, 4);
    rtp_vp8_desc_t d, prev_d;
    rtp_packet_t prev = sent(f, before, &prev_d);
    for (int i = before + 1; i < f->cap_sub.rtp_count; i++) {
        rtp_packet_t p = sent(f, i, &d);
        assert_int_equal(d.tid, 0);
        assert_int_equal((uint16_t)(rtp_packet_seq(&p) - rtp_packet_seq(&prev)), 1);
        assert_int_equal((uint16_t)(d.picture_id - prev_d.picture_id), 1);
        assert_int_equal((uint8_t)(d.tl0picidx - prev_d.tl0picidx), 1);
        prev = p;
        prev_d = d;
    }
    sfu_consumer_stats_t st;
    sfu_consumer_get_stats(sfu_room_consumer(f->room, 20), &st);
    assert_true(st.dropped_temporal >= 12);
    /* The next TL0 picture (64) is lost whole upstream; the three left out
     * after it close up, and picture 68 keeps its gap. Repaired late, 64
     * takes the numbers kept for it. */
    for (int n = 65; n < 69; n++)
        feed(f, 0, (uint16_t)(50 + n), 3000u * n, true, false, (uint16_t)(300 + n),
             (uint8_t)(n / 4), tids[n % 8], 10 + 33 * (uint64_t)n);
    assert_int_equal(f->cap_sub.rtp_count, before + got + 1);
    rtp_packet_t p68 = sent(f, before + got, &d);
    assert_int_equal((uint16_t)(rtp_packet_seq(&p68) - rtp_packet_seq(&prev)), 2);
    assert_int_equal((uint16_t)(d.picture_id - prev_d.picture_id), 2);
    assert_int_equal((uint8_t)(d.tl0picidx - prev_d.tl0picidx), 2);
    feed(f, 0, 50 + 64, 3000u * 64, true, false, 300 + 64, 16, 0, 10 + 33 * 69);
    assert_int_equal(f->cap_sub.rtp_count, before + got + 2);
    rtp_packet_t p64 = sent(f, before + got + 1, &d);
    assert_int_equal((uint16_t)(rtp_packet_seq(&p64) - rtp_packet_seq(&prev)), 1);
    assert_int_equal((uint16_t)(d.picture_id - prev_d.picture_id), 1);
    assert_int_equal((uint8_t)(d.tl0picidx - prev_d.tl0picidx), 1);
}

static void test_a_paused_consumer_sends_nothing(void **state)
{
    fixture_t *f = *state;
    frame_all(f, 0, true, 10);
    assert_int_equal(f->cap_sub.rtp_count, 1);
    assert_int_equal(sfu_room_consumer_pause(f->room, 20, true, 20), 0);
    for (int n = 1; n < 10; n++)
        frame_all(f, n, n % 3 == 0, 20 + 30 * (uint64_t)n);
    assert_int_equal(f->cap_sub.rtp_count, 1);
}

/* A consumer that switches from a simulcast producer to one with a single
 * stream (a WHEP section now showing a WHIP ingest) sends that stream and
 * its subscriber's PLIs reach the new publisher. */
static void test_switching_to_a_single_stream_producer(void **state)
{
    fixture_t *f = *state;
    uint64_t t = reach_top(f);
    capture_t cap_pub2 = {0};
    sfu_leg_t *pub2 = sfu_leg_new(f->room, 3, &cap_io, &cap_pub2);
    sfu_leg_set_connected(pub2, true, t);
    sfu_producer_params_t pp = {
        .id = 11, .ssrc = 5000, .video = true, .pt = 96, .clock_hz = 90000, .codec = RTP_CODEC_VP8};
    sfu_producer_t *pr;
    assert_int_equal(sfu_producer_new(f->room, pub2, &pp, &pr), 0);
    sfu_consumer_t *c = sfu_room_consumer(f->room, 20);
    assert_int_equal(sfu_consumer_switch_producer(c, pr, t + 10), 0);
    assert_int_equal(cap_pub2.pli_count, 1); /* a keyframe for the new subscriber */
    int before = f->cap_sub.rtp_count;
    uint8_t pkt[128];
    rtp_header_write(pkt, sizeof pkt, 96, false, 9, 90000, 5000);
    size_t n = vp8_payload(pkt + 12, true, true, 77, 0, 0);
    sfu_leg_receive_rtp(pub2, pkt, 12 + n, t + 20);
    assert_int_equal(f->cap_sub.rtp_count, before + 1);
    /* The subscriber asks for a keyframe (PLI on its SSRC) a second later. */
    uint8_t pli[12] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0x1e, 0x61}; /* media SSRC 7777 */
    sfu_leg_receive_rtcp(f->sub, pli, sizeof pli, t + 1100);
    assert_int_equal(cap_pub2.pli_count, 2);
    assert_int_equal(cap_pub2.pli_ssrc[1], 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vp8_descriptor_parse_and_write),
        cmocka_unit_test(test_h264_keyframes),
        cmocka_unit_test(test_dropped_packets_close_up_the_numbering),
        cmocka_unit_test(test_a_lost_packet_keeps_its_gap_among_drops),
        cmocka_unit_test(test_a_new_source_after_drops_starts_past_late_packets),
        cmocka_unit_test(test_layer_choice_against_estimate_and_preference),
        cmocka_unit_test_setup_teardown(test_rid_layers_bind_and_the_top_is_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rid_layers_bind_their_rtx_streams, setup_rtx,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_switching_waits_for_a_keyframe_and_stays_continuous,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_temporal_layers_are_left_out_without_a_gap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_paused_consumer_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_switching_to_a_single_stream_producer, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
