/* Unit tests: the media model (sfu/room.h) without sockets. Each leg sends
 * into a capture; tests feed RTP and RTCP as the transports would. */
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
#include "rtp/rtp_rx_stats.h"
#include "sfu/room.h"

#define CAP_MAX 64
#define BUF_CAP 1600

/* What one leg sent. */
typedef struct capture {
    int rtp_count, rtcp_count;
    uint8_t rtp[CAP_MAX][BUF_CAP];
    size_t rtp_len[CAP_MAX];
    uint8_t rtcp[CAP_MAX][BUF_CAP];
    size_t rtcp_len[CAP_MAX];
} capture_t;

static int cap_rtp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    capture_t *c = ctx;
    (void)cap;
    if (c->rtp_count < CAP_MAX) {
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
    if (c->rtcp_count < CAP_MAX) {
        memcpy(c->rtcp[c->rtcp_count], pkt, len);
        c->rtcp_len[c->rtcp_count] = len;
    }
    c->rtcp_count++;
    return 0;
}

static const sfu_leg_io_t cap_io = {.send_rtp = cap_rtp, .send_rtcp = cap_rtcp};

static uint64_t fixed_ntp(void)
{
    return 0xe5a1b2c300000000ull;
}

/* One room with a publisher (A: pub leg 1), a second publisher (B: pub leg 3)
 * and two subscribers (sub legs 2 and 4). */
typedef struct fixture {
    sfu_media_stats_t stats;
    uint8_t scratch[BUF_CAP];
    sfu_room_t *room;
    sfu_leg_t *pub_a, *sub_a, *pub_b, *sub_b;
    capture_t cap_pub_a, cap_sub_a, cap_pub_b, cap_sub_b;
} fixture_t;

static sfu_room_t *room_new(fixture_t *f, int64_t id)
{
    sfu_room_env_t env = {.stats = &f->stats,
                          .scratch = f->scratch,
                          .scratch_cap = sizeof f->scratch,
                          .now_ntp = fixed_ntp};
    return sfu_room_new(id, &env);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->room = room_new(f, 7);
    f->pub_a = sfu_leg_new(f->room, 1, &cap_io, &f->cap_pub_a);
    f->sub_a = sfu_leg_new(f->room, 2, &cap_io, &f->cap_sub_a);
    f->pub_b = sfu_leg_new(f->room, 3, &cap_io, &f->cap_pub_b);
    f->sub_b = sfu_leg_new(f->room, 4, &cap_io, &f->cap_sub_b);
    sfu_leg_set_connected(f->pub_a, true, 1);
    sfu_leg_set_connected(f->sub_a, true, 1);
    sfu_leg_set_connected(f->pub_b, true, 1);
    sfu_leg_set_connected(f->sub_b, true, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    sfu_room_free(f->room);
    free(f);
    return 0;
}

static sfu_producer_params_t video_params(uint64_t id, uint32_t ssrc)
{
    return (sfu_producer_params_t){
        .id = id, .ssrc = ssrc, .video = true, .pt = 96, .clock_hz = 90000};
}

static sfu_consumer_params_t consumer_params(uint64_t id, uint32_t ssrc)
{
    sfu_consumer_params_t p = {.id = id, .ssrc = ssrc};
    snprintf(p.mid, sizeof p.mid, "%llu", (unsigned long long)id);
    return p;
}

/* Sends one RTP packet on leg, as its transport would after SRTP. */
static void feed_rtp(sfu_leg_t *leg, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now_ms)
{
    uint8_t pkt[64];
    rtp_header_write(pkt, sizeof pkt, 96, false, seq, ts, ssrc);
    memset(pkt + 12, 0xab, 20);
    sfu_leg_receive_rtp(leg, pkt, 32, now_ms);
}

static rtp_packet_t last_rtp(capture_t *c)
{
    rtp_packet_t p;
    assert_true(c->rtp_count > 0 && c->rtp_count <= CAP_MAX);
    assert_int_equal(rtp_packet_parse(&p, c->rtp[c->rtp_count - 1], c->rtp_len[c->rtp_count - 1]),
                     0);
    return p;
}

/* Calls fn for each feedback message of (pt, fmt) captured in c, in order;
 * returns how many there were. */
static int walk_fb(capture_t *c, uint8_t pt, uint8_t fmt, void (*fn)(const rtcp_fb_t *, void *),
                   void *ctx)
{
    int n = 0;
    for (int i = 0; i < c->rtcp_count && i < CAP_MAX; i++) {
        rtcp_iter_t it;
        rtcp_packet_t p;
        rtcp_iter_init(&it, c->rtcp[i], c->rtcp_len[i]);
        while (rtcp_iter_next(&it, &p) == 1) {
            rtcp_fb_t fb;
            if (p.pt == pt && rtcp_parse_fb(&p, &fb) == 0 && fb.fmt == fmt) {
                n++;
                fn(&fb, ctx);
            }
        }
    }
    return n;
}

static void keep_media_ssrc(const rtcp_fb_t *fb, void *ctx)
{
    if (ctx)
        *(uint32_t *)ctx = fb->media_ssrc;
}

/* The number of feedback messages of (pt, fmt) captured, and the last one's media SSRC. */
static int count_fb(capture_t *c, uint8_t pt, uint8_t fmt, uint32_t *media_ssrc)
{
    return walk_fb(c, pt, fmt, keep_media_ssrc, media_ssrc);
}

/* ---- ownership ---- */

static void test_ssrc_is_unique_within_a_room(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    /* B publishing A's SSRC is refused, whatever its producer id. */
    sfu_producer_params_t pb = video_params(11, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_b, &pb, NULL), -EEXIST);
    /* The same id twice is refused too. */
    pb = video_params(10, 2222);
    assert_int_equal(sfu_producer_new(f->room, f->pub_b, &pb, NULL), -EEXIST);
    assert_ptr_equal(sfu_producer_owner(sfu_room_producer_by_ssrc(f->room, 1111)), f->pub_a);
}

static void test_only_the_owner_removes_its_producer(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    /* B's leg may not close A's producer. */
    assert_int_equal(sfu_room_producer_close(f->room, 10, 3), -EPERM);
    assert_int_equal(sfu_room_producer_close(f->room, 99, 1), -ENOENT);
    assert_non_null(sfu_room_producer(f->room, 10));
    /* A second subscriber on another leg; B's publish leg leaving takes only
     * what it published: A's stream still reaches both. */
    sfu_consumer_params_t cp2 = consumer_params(21, 6666);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_a, &cp2, 1, NULL), 0);
    sfu_leg_free(f->pub_b);
    f->pub_b = NULL;
    assert_non_null(sfu_room_producer(f->room, 10));
    int before_b = f->cap_sub_b.rtp_count, before_a = f->cap_sub_a.rtp_count;
    feed_rtp(f->pub_a, 1111, 100, 9000, 10);
    assert_int_equal(f->cap_sub_b.rtp_count, before_b + 1);
    assert_int_equal(f->cap_sub_a.rtp_count, before_a + 1);
    /* The owner closes it: its consumers go with it. */
    assert_int_equal(sfu_room_producer_close(f->room, 10, 1), 0);
    assert_null(sfu_room_consumer(f->room, 20));
    assert_null(sfu_room_producer_by_ssrc(f->room, 1111));
}

static void test_leaving_removes_only_own_producers(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111), pb = video_params(11, 2222);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    assert_int_equal(sfu_producer_new(f->room, f->pub_b, &pb, NULL), 0);
    sfu_consumer_params_t ca = consumer_params(20, 7001), cb = consumer_params(21, 7002);
    assert_int_equal(sfu_consumer_new(f->room, 11, f->sub_a, &ca, 1, NULL), 0); /* A gets B */
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cb, 1, NULL), 0); /* B gets A */
    /* A leaves (both legs): B's producer stays, A's producer and both consumers
     * that touched A go. */
    sfu_leg_free(f->pub_a);
    sfu_leg_free(f->sub_a);
    f->pub_a = f->sub_a = NULL;
    assert_null(sfu_room_producer(f->room, 10));
    assert_non_null(sfu_room_producer(f->room, 11));
    assert_null(sfu_room_consumer(f->room, 20));
    assert_null(sfu_room_consumer(f->room, 21));
    assert_int_equal(sfu_room_leg_count(f->room), 2);
}

static void test_rtp_from_a_leg_that_does_not_own_the_ssrc_is_dropped(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    feed_rtp(f->pub_b, 1111, 1, 1, 5); /* B sends with A's SSRC */
    assert_int_equal(f->cap_sub_b.rtp_count, 0);
    assert_int_equal(counter_get(&f->stats.unknown_ssrc), 1);
}

static void test_two_rooms_with_the_same_ssrc_stay_apart(void **state)
{
    fixture_t *f = *state;
    sfu_room_t *other = room_new(f, 8);
    capture_t cap_pub, cap_sub;
    memset(&cap_pub, 0, sizeof cap_pub);
    memset(&cap_sub, 0, sizeof cap_sub);
    sfu_leg_t *opub = sfu_leg_new(other, 101, &cap_io, &cap_pub);
    sfu_leg_t *osub = sfu_leg_new(other, 102, &cap_io, &cap_sub);
    sfu_leg_set_connected(opub, true, 1);
    sfu_leg_set_connected(osub, true, 1);
    sfu_producer_params_t p1 = video_params(10, 1111), p2 = video_params(110, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &p1, NULL), 0);
    assert_int_equal(sfu_producer_new(other, opub, &p2, NULL), 0);
    sfu_consumer_params_t c1 = consumer_params(20, 5555), c2 = consumer_params(120, 5556);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &c1, 1, NULL), 0);
    assert_int_equal(sfu_consumer_new(other, 110, osub, &c2, 1, NULL), 0);
    /* A leg of one room cannot consume a producer of the other. */
    sfu_consumer_params_t c3 = consumer_params(121, 5557);
    assert_int_equal(sfu_consumer_new(other, 10, osub, &c3, 1, NULL), -ENOENT);
    for (uint16_t s = 0; s < 5; s++)
        feed_rtp(f->pub_a, 1111, s, s * 3000u, 10 + s);
    feed_rtp(opub, 1111, 500, 1, 20);
    assert_int_equal(f->cap_sub_b.rtp_count, 5);
    assert_int_equal(cap_sub.rtp_count, 1);
    assert_int_equal(last_rtp(&cap_sub).ssrc, 5556);
    assert_int_equal(last_rtp(&f->cap_sub_b).ssrc, 5555);
    sfu_room_free(other);
}

/* ---- rewriting ---- */

static void test_consumer_sends_its_own_ssrc_and_numbering(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    feed_rtp(f->pub_a, 1111, 65534, 1000, 10);
    rtp_packet_t first = last_rtp(&f->cap_sub_b);
    feed_rtp(f->pub_a, 1111, 65535, 4000, 43);
    feed_rtp(f->pub_a, 1111, 0, 7000, 76);
    rtp_packet_t third = last_rtp(&f->cap_sub_b);
    assert_int_equal(first.ssrc, 5555);
    assert_int_equal(third.ssrc, 5555);
    assert_int_equal((uint16_t)(third.seq - first.seq), 2);
    assert_int_equal(third.ts - first.ts, 6000);
    /* A duplicate goes nowhere. */
    feed_rtp(f->pub_a, 1111, 0, 7000, 80);
    assert_int_equal(f->cap_sub_b.rtp_count, 3);
    assert_int_equal(counter_get(&f->stats.rtp_not_placed), 1);
}

static void test_switching_source_keeps_sequence_and_timestamps_continuous(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111), pb = video_params(11, 2222);
    sfu_producer_t *prb;
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    assert_int_equal(sfu_producer_new(f->room, f->pub_b, &pb, &prb), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    sfu_consumer_t *c;
    assert_int_equal(sfu_consumer_new(f->room, 10, f->pub_a, &cp, 1, &c), -EINVAL); /* own leg */
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, &c), 0);
    for (uint16_t s = 0; s < 3; s++)
        feed_rtp(f->pub_a, 1111, (uint16_t)(40000 + s), 100000u + s * 3000u, 1000 + s * 33);
    rtp_packet_t before = last_rtp(&f->cap_sub_b);
    int plis = count_fb(&f->cap_pub_b, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL);
    /* Switch to B's producer (wholly different seq and ts) 40 ms later. */
    assert_int_equal(sfu_consumer_switch_producer(c, prb, 1106), 0);
    assert_int_equal(count_fb(&f->cap_pub_b, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), plis + 1);
    feed_rtp(f->pub_a, 1111, 40003, 109000, 1100); /* the old source: not sent any more */
    feed_rtp(f->pub_b, 2222, 7, 555, 1106);
    rtp_packet_t after = last_rtp(&f->cap_sub_b);
    assert_int_equal(after.ssrc, 5555);
    assert_int_equal((uint16_t)(after.seq - before.seq), 1);
    /* 40 ms at 90 kHz after the last one placed. */
    assert_int_equal(after.ts - before.ts, 3600);
    feed_rtp(f->pub_b, 2222, 8, 3555, 1139);
    rtp_packet_t next = last_rtp(&f->cap_sub_b);
    assert_int_equal((uint16_t)(next.seq - after.seq), 1);
    assert_int_equal(next.ts - after.ts, 3000);
    assert_ptr_equal(sfu_consumer_producer(c), prb);
}

/* A subscriber's stream whose producer left and that is given another
 * producer under the same SSRC (a WHEP section following the speaker): its
 * numbering carries on, or the subscriber's SRTP would refuse the jump back. */
static void test_consumer_made_again_under_its_ssrc_carries_numbering_on(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111), pb = video_params(11, 2222);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    assert_int_equal(sfu_producer_new(f->room, f->pub_b, &pb, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    for (uint16_t s = 0; s < 3; s++)
        feed_rtp(f->pub_a, 1111, (uint16_t)(40000 + s), 100000u + s * 3000u, 1000 + s * 33);
    rtp_packet_t before = last_rtp(&f->cap_sub_b);
    /* A leaves: its consumers go with its producer. */
    assert_int_equal(sfu_room_producer_close(f->room, 10, 1), 0);
    assert_null(sfu_room_consumer(f->room, 20));
    cp = consumer_params(21, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 11, f->sub_b, &cp, 1100, NULL), 0);
    feed_rtp(f->pub_b, 2222, 7, 555, 1106);
    rtp_packet_t after = last_rtp(&f->cap_sub_b);
    assert_int_equal(after.ssrc, 5555);
    assert_int_equal((uint16_t)(after.seq - before.seq), 1);
    assert_int_equal(after.ts - before.ts, 3600); /* 40 ms at 90 kHz */
    /* Removed and made again on the same producer: the same. */
    assert_int_equal(sfu_room_consumer_close(f->room, 21), 0);
    cp = consumer_params(22, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 11, f->sub_b, &cp, 1140, NULL), 0);
    feed_rtp(f->pub_b, 2222, 8, 3555, 1139);
    rtp_packet_t again = last_rtp(&f->cap_sub_b);
    assert_int_equal((uint16_t)(again.seq - after.seq), 1);
    assert_int_equal(again.ts - after.ts, 2970); /* 33 ms later */
}

static void test_pause_sends_nothing_and_resumes_without_a_gap(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    feed_rtp(f->pub_a, 1111, 10, 0, 1000);
    rtp_packet_t before = last_rtp(&f->cap_sub_b);
    assert_int_equal(sfu_room_consumer_pause(f->room, 20, true, 1001), 0);
    for (uint16_t s = 11; s < 50; s++)
        feed_rtp(f->pub_a, 1111, s, s * 3000u, 1000 + s);
    assert_int_equal(f->cap_sub_b.rtp_count, 1);
    assert_int_equal(sfu_room_consumer_pause(f->room, 20, false, 5000), 0);
    feed_rtp(f->pub_a, 1111, 50, 150000, 5000);
    rtp_packet_t after = last_rtp(&f->cap_sub_b);
    assert_int_equal((uint16_t)(after.seq - before.seq), 1);
    assert_int_equal(sfu_room_consumer_pause(f->room, 99, true, 1), -ENOENT);
}

static void test_extensions_are_remapped_and_stamped(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    pa.video = false;
    pa.clock_hz = 48000;
    /* The publisher: audio level 1, abs-send-time 2, twcc 3, mid 4. */
    pa.ext.id[RTP_EXT_AUDIO_LEVEL] = 1;
    pa.ext.id[RTP_EXT_ABS_SEND_TIME] = 2;
    pa.ext.id[RTP_EXT_TWCC] = 3;
    pa.ext.id[RTP_EXT_MID] = 4;
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    /* The subscriber took audio level as 9, twcc as 5, mid as 6; no abs-send-time. */
    rtp_ext_ids_t sub = {0};
    sub.id[RTP_EXT_AUDIO_LEVEL] = 9;
    sub.id[RTP_EXT_TWCC] = 5;
    sub.id[RTP_EXT_MID] = 6;
    sfu_leg_set_ext_ids(f->sub_b, &sub);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    snprintf(cp.mid, sizeof cp.mid, "17"); /* longer than the publisher's "0" */
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    for (int round = 0; round < 2; round++) {
        uint8_t pkt[128];
        rtp_header_write(pkt, sizeof pkt, 111, false, (uint16_t)(10 + round), 960u * round, 1111);
        rtp_packet_t p;
        assert_int_equal(rtp_packet_parse(&p, pkt, 12), 0);
        uint8_t level = 0x85, ast[3] = {1, 2, 3}, tw[2] = {0x40, 0x00}, mid = '0';
        rtp_ext_t elems[4] = {{.id = 1, .len = 1, .data = &level},
                              {.id = 2, .len = 3, .data = ast},
                              {.id = 3, .len = 2, .data = tw},
                              {.id = 4, .len = 1, .data = &mid}};
        assert_int_equal(rtp_packet_set_extensions(&p, sizeof pkt - 20, elems, 4), 0);
        memset(p.data + p.len, 0x11, 20);
        sfu_leg_receive_rtp(f->pub_a, pkt, p.len + 20, 100 + round);
    }
    assert_int_equal(f->cap_sub_b.rtp_count, 2);
    for (int round = 0; round < 2; round++) {
        rtp_packet_t out;
        assert_int_equal(
            rtp_packet_parse(&out, f->cap_sub_b.rtp[round], f->cap_sub_b.rtp_len[round]), 0);
        rtp_ext_t e;
        bool voice;
        uint8_t lvl;
        uint16_t tseq;
        char midv[8];
        assert_int_equal(rtp_ext_find(&out, 9, &e), 0);
        assert_int_equal(rtp_ext_read_audio_level(&e, &voice, &lvl), 0);
        assert_true(voice);
        assert_int_equal(lvl, 5);
        assert_int_equal(rtp_ext_find(&out, 5, &e), 0);
        assert_int_equal(rtp_ext_read_twcc_seq(&e, &tseq), 0);
        assert_int_equal(tseq, round); /* the leg's own transport sequence */
        assert_int_equal(rtp_ext_find(&out, 6, &e), 0);
        assert_int_equal(rtp_ext_read_mid(&e, midv, sizeof midv), 0);
        assert_string_equal(midv, "17");
        /* Not negotiated by the subscriber: gone. */
        assert_int_equal(rtp_ext_find(&out, 2, &e), -ENOENT);
        assert_int_equal(rtp_ext_find(&out, 1, &e), -ENOENT);
        assert_int_equal(out.payload_len, 20);
        assert_int_equal(out.payload[19], 0x11);
    }
}

/* ---- RTCP ---- */

static void test_sender_report_translates_the_publishers_mapping(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    sfu_consumer_t *c;
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, &c), 0);
    uint8_t buf[64];
    /* No SR from the publisher yet: nothing to translate. */
    feed_rtp(f->pub_a, 1111, 1, 90000, 1000);
    assert_int_equal(sfu_consumer_write_sr(c, 1000, fixed_ntp(), buf, sizeof buf), -EAGAIN);
    rtp_packet_t out = last_rtp(&f->cap_sub_b);
    uint32_t offset = out.ts - 90000;
    /* The publisher: RTP 180000 at its NTP time, received at 2000 ms. */
    rtcp_sr_t sr = {.ssrc = 1111, .ntp = 0x1234567800000000ull, .rtp_ts = 180000};
    int n = rtcp_write_sr(buf, sizeof buf, &sr, NULL, 0);
    sfu_leg_receive_rtcp(f->pub_a, buf, (size_t)n, 2000);
    /* 500 ms later: 45,000 ticks on, in the consumer's timestamp space. */
    n = sfu_consumer_write_sr(c, 2500, 0xabcdef0100000000ull, buf, sizeof buf);
    assert_true(n > 0);
    rtcp_iter_t it;
    rtcp_packet_t p;
    rtcp_iter_init(&it, buf, (size_t)n);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    rtcp_sr_t got;
    assert_int_equal(rtcp_parse_sr(&p, &got), 0);
    assert_int_equal(got.ssrc, 5555);
    assert_true(got.ntp == 0xabcdef0100000000ull);
    assert_int_equal(got.rtp_ts, 180000u + 45000u + offset);
    assert_int_equal(got.packet_count, 1);
    assert_int_equal(got.octet_count, 20);
    /* The packet path sends one on its own, at most once a second. */
    int srs_before = f->cap_sub_b.rtcp_count;
    feed_rtp(f->pub_a, 1111, 2, 93000, 2600);
    feed_rtp(f->pub_a, 1111, 3, 96000, 2700);
    assert_int_equal(f->cap_sub_b.rtcp_count, srs_before + 1);
    assert_int_equal(counter_get(&f->stats.sr_sent), 1);
}

static void test_pli_maps_to_the_producer_and_is_throttled(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111), pb = video_params(11, 2222);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    assert_int_equal(sfu_producer_new(f->room, f->pub_b, &pb, NULL), 0);
    sfu_consumer_params_t ca = consumer_params(20, 5555), cb = consumer_params(21, 6666);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &ca, 10000, NULL), 0);
    assert_int_equal(sfu_consumer_new(f->room, 11, f->sub_a, &cb, 10000, NULL), 0);
    /* Each new consumer on a connected leg asked for one keyframe. */
    uint32_t media = 0;
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, &media), 1);
    assert_int_equal(media, 1111);
    assert_int_equal(count_fb(&f->cap_pub_b, RTCP_PT_PSFB, RTCP_FMT_PLI, &media), 1);
    assert_int_equal(media, 2222);
    /* Subscriber B asks about its consumer 5555: only A's publisher hears it,
     * once the throttle interval has passed. */
    uint8_t buf[64];
    int n = rtcp_write_pli(buf, sizeof buf, 99, 5555);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 10100); /* within 500 ms: held */
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), 1);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 10200);
    feed_rtp(f->pub_a, 1111, 1, 1, 10300); /* still within: nothing */
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), 1);
    feed_rtp(f->pub_a, 1111, 2, 2, 10600); /* the held request goes, once */
    feed_rtp(f->pub_a, 1111, 3, 3, 10700);
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, &media), 2);
    assert_int_equal(media, 1111);
    assert_int_equal(count_fb(&f->cap_pub_b, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), 1);
    /* A FIR after the interval goes at once. */
    n = rtcp_write_fir(buf, sizeof buf, 99, 5555, 1);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 11200);
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), 3);
    assert_int_equal(counter_get(&f->stats.keyframe_requests), 3);
    /* A PLI naming the publisher's SSRC (not a consumer of that leg) is dropped. */
    n = rtcp_write_pli(buf, sizeof buf, 99, 1111);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 20000);
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), 3);
    assert_int_equal(counter_get(&f->stats.rtcp_unknown_ssrc), 1);
}

/* The subscriber lost some of its packets: they come again from the cache,
 * as RTX when its leg takes RTX, else as they were sent. */
static void nack_round(fixture_t *f, bool rtx)
{
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t cp = consumer_params(20, 5555);
    cp.rtx_ssrc = 5556;
    cp.rtx_pt = 97;
    sfu_leg_set_rtx(f->sub_b, rtx);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &cp, 1, NULL), 0);
    /* A NACK before anything was sent is a miss. */
    uint8_t warm[64];
    uint16_t none[1] = {7};
    int wn = rtcp_write_nack(warm, sizeof warm, 99, 5555, none, 1);
    sfu_leg_receive_rtcp(f->sub_b, warm, (size_t)wn, 50);
    assert_int_equal(counter_get(&f->stats.nack_miss), 1);
    for (uint16_t s = 0; s < 10; s++)
        feed_rtp(f->pub_a, 1111, (uint16_t)(65530 + s), s * 3000u, 100 + s);
    rtp_packet_t sent[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(rtp_packet_parse(&sent[i], f->cap_sub_b.rtp[i], f->cap_sub_b.rtp_len[i]),
                         0);
    uint16_t lost[2] = {sent[2].seq, sent[4].seq};
    uint8_t buf[64];
    int n = rtcp_write_nack(buf, sizeof buf, 99, 5555, lost, 2);
    int before = f->cap_sub_b.rtp_count, up_before = f->cap_pub_a.rtcp_count;
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 200);
    assert_int_equal(f->cap_sub_b.rtp_count, before + 2);
    /* Answered here: nothing goes to the publisher. */
    assert_int_equal(f->cap_pub_a.rtcp_count, up_before);
    for (int k = 0; k < 2; k++) {
        rtp_packet_t re;
        int idx = k ? 4 : 2;
        assert_int_equal(
            rtp_packet_parse(&re, f->cap_sub_b.rtp[before + k], f->cap_sub_b.rtp_len[before + k]),
            0);
        assert_int_equal(re.ts, sent[idx].ts);
        if (rtx) {
            /* RFC 4588 4: RTX SSRC and type, the original sequence number first. */
            assert_int_equal(re.ssrc, 5556);
            assert_int_equal(re.pt, 97);
            assert_int_equal(re.payload_len, sent[idx].payload_len + 2);
            assert_int_equal(re.payload[0] << 8 | re.payload[1], sent[idx].seq);
            assert_memory_equal(re.payload + 2, sent[idx].payload, sent[idx].payload_len);
        } else {
            assert_int_equal(re.ssrc, 5555);
            assert_int_equal(re.seq, sent[idx].seq);
            assert_int_equal(re.len, sent[idx].len);
            assert_memory_equal(re.data, sent[idx].data, re.len);
        }
    }
    if (rtx) {
        rtp_packet_t r0, r1;
        rtp_packet_parse(&r0, f->cap_sub_b.rtp[before], f->cap_sub_b.rtp_len[before]);
        rtp_packet_parse(&r1, f->cap_sub_b.rtp[before + 1], f->cap_sub_b.rtp_len[before + 1]);
        assert_int_equal((uint16_t)(r1.seq - r0.seq), 1); /* the RTX stream's own numbering */
    }
    assert_int_equal(counter_get(&f->stats.nack_received), 2);
    assert_int_equal(counter_get(&f->stats.retransmitted), 2);
    /* Too old for the cache, or never sent: missed, counted, nothing sent. */
    uint16_t never[1] = {(uint16_t)(sent[9].seq + 5)};
    n = rtcp_write_nack(buf, sizeof buf, 99, 5555, never, 1);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 210);
    n = rtcp_write_nack(buf, sizeof buf, 99, 5555, lost, 1);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 100 + SFU_CACHE_MAX_AGE_MS + 50);
    assert_int_equal(f->cap_sub_b.rtp_count, before + 2);
    assert_int_equal(counter_get(&f->stats.nack_miss), 3);
    /* A NACK about an unknown consumer SSRC is counted and dropped. */
    n = rtcp_write_nack(buf, sizeof buf, 99, 4242, lost, 2);
    sfu_leg_receive_rtcp(f->sub_b, buf, (size_t)n, 220);
    assert_int_equal(counter_get(&f->stats.rtcp_unknown_ssrc), 1);
}

static void test_nack_is_answered_with_rtx(void **state)
{
    nack_round(*state, true);
}

static void test_nack_is_answered_with_the_packet_again(void **state)
{
    nack_round(*state, false);
}

typedef struct seq_list {
    uint16_t *seqs;
    int n, cap;
} seq_list_t;

static void add_nacked_seq(const rtcp_fb_t *fb, void *ctx)
{
    seq_list_t *l = ctx;
    uint16_t seqs[32];
    int k = rtcp_nack_seqs(fb, seqs, 32);
    /* One number per NACK: libwebrtc drops a NACK's rest after a number it
     * cannot resend. */
    assert_int_equal(k, 1);
    if (l->n < l->cap)
        l->seqs[l->n++] = seqs[0];
}

/* The sequence numbers the NACKs captured in c ask for, in order, into out. */
static int nacked_seqs(capture_t *c, uint16_t *out, int cap)
{
    seq_list_t l = {.seqs = out, .cap = cap};
    walk_fb(c, RTCP_PT_RTPFB, RTCP_FMT_NACK, add_nacked_seq, &l);
    return l.n;
}

static void test_gaps_on_the_uplink_are_nacked_once_for_everyone(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t c1 = consumer_params(20, 5555), c2 = consumer_params(21, 6666);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &c1, 1, NULL), 0);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_a, &c2, 1, NULL), 0);
    feed_rtp(f->pub_a, 1111, 100, 0, 1000);
    feed_rtp(f->pub_a, 1111, 103, 9000, 1001); /* 101, 102 lost upstream */
    int plis = count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL);
    int nacks = count_fb(&f->cap_pub_a, RTCP_PT_RTPFB, RTCP_FMT_NACK, NULL);
    feed_rtp(f->pub_a, 1111, 104, 12000, 1010);
    uint32_t media = 0;
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_RTPFB, RTCP_FMT_NACK, &media), nacks + 2);
    assert_int_equal(media, 1111);
    uint16_t asked[8];
    assert_int_equal(nacked_seqs(&f->cap_pub_a, asked, 8), nacks + 2);
    assert_int_equal(asked[nacks], 101);
    assert_int_equal(asked[nacks + 1], 102);
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_PSFB, RTCP_FMT_PLI, NULL), plis);
    /* No retry within the round trip. */
    feed_rtp(f->pub_a, 1111, 105, 15000, 1050);
    assert_int_equal(count_fb(&f->cap_pub_a, RTCP_PT_RTPFB, RTCP_FMT_NACK, NULL), nacks + 2);
    /* The publisher sends 101 again: both subscribers get it, in place. */
    int b_before = f->cap_sub_b.rtp_count, a_before = f->cap_sub_a.rtp_count;
    feed_rtp(f->pub_a, 1111, 101, 3000, 1060);
    assert_int_equal(f->cap_sub_b.rtp_count, b_before + 1);
    assert_int_equal(f->cap_sub_a.rtp_count, a_before + 1);
    assert_int_equal(counter_get(&f->stats.upstream_recovered), 1);
    rtp_packet_t first, late;
    rtp_packet_parse(&first, f->cap_sub_b.rtp[0], f->cap_sub_b.rtp_len[0]);
    late = last_rtp(&f->cap_sub_b);
    assert_int_equal((uint16_t)(late.seq - first.seq), 1);
    /* Only 102 is asked for again, a round trip after the first NACK. */
    feed_rtp(f->pub_a, 1111, 106, 18000, 1120);
    assert_int_equal(nacked_seqs(&f->cap_pub_a, asked, 8), nacks + 3);
    assert_int_equal(asked[nacks + 2], 102);
}

/* A publisher's padding-only packet (a bandwidth probe without RTX) reaches
 * no subscriber, and the numbering closes up around it. */
static void test_publisher_padding_is_not_forwarded(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    sfu_consumer_params_t c1 = consumer_params(20, 5555);
    sfu_consumer_t *c = NULL;
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &c1, 1, &c), 0);
    feed_rtp(f->pub_a, 1111, 100, 0, 1000);
    int before = f->cap_sub_b.rtp_count;
    uint16_t first = last_rtp(&f->cap_sub_b).seq;
    uint8_t pad[32];
    rtp_header_write(pad, sizeof pad, 96, false, 101, 0, 1111);
    pad[0] |= 0x20; /* P: the last byte counts the padding */
    memset(pad + 12, 0, 19);
    pad[31] = 20;
    sfu_leg_receive_rtp(f->pub_a, pad, sizeof pad, 1001);
    assert_int_equal(f->cap_sub_b.rtp_count, before);
    feed_rtp(f->pub_a, 1111, 102, 3000, 1033);
    assert_int_equal(f->cap_sub_b.rtp_count, before + 1);
    assert_int_equal((uint16_t)(last_rtp(&f->cap_sub_b).seq - first), 1);
    sfu_consumer_stats_t cs;
    sfu_consumer_get_stats(c, &cs);
    assert_int_equal(cs.dropped_padding, 1);
}

/* RFC 4588 from the publisher: a retransmission on the RTX stream repairs
 * the packet it names (subscribers get it in place, as if it had come); RTX
 * padding reaches no one. */
static void test_publisher_rtx_repairs_and_its_padding_stays(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    pa.rtx_pt = 97;
    pa.rtx_ssrc = 2222;
    sfu_producer_t *pr = NULL;
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, &pr), 0);
    assert_ptr_equal(sfu_room_producer_by_ssrc(f->room, 2222), pr);
    sfu_consumer_params_t c1 = consumer_params(20, 5555);
    assert_int_equal(sfu_consumer_new(f->room, 10, f->sub_b, &c1, 1, NULL), 0);
    feed_rtp(f->pub_a, 1111, 100, 0, 1000);
    uint16_t first = last_rtp(&f->cap_sub_b).seq;
    feed_rtp(f->pub_a, 1111, 102, 6000, 1001); /* 101 lost upstream */
    int before = f->cap_sub_b.rtp_count;
    uint8_t rtx[64];
    rtp_header_write(rtx, sizeof rtx, 97, false, 7, 3000, 2222);
    rtx[12] = 0;
    rtx[13] = 101; /* the original sequence number */
    memset(rtx + 14, 0xcd, 20);
    sfu_leg_receive_rtp(f->pub_a, rtx, 34, 1020);
    assert_int_equal(f->cap_sub_b.rtp_count, before + 1);
    rtp_packet_t got = last_rtp(&f->cap_sub_b);
    assert_int_equal((uint16_t)(got.seq - first), 1);
    assert_int_equal(got.ssrc, 5555);
    assert_int_equal(got.pt, 96);
    assert_int_equal(got.payload_len, 20);
    assert_int_equal(got.payload[0], 0xcd);
    assert_int_equal(counter_get(&f->stats.upstream_recovered), 1);
    /* Padding on the RTX stream: nothing goes out. */
    uint8_t pad[32];
    rtp_header_write(pad, sizeof pad, 97, false, 8, 3000, 2222);
    pad[0] |= 0x20;
    memset(pad + 12, 0, 19);
    pad[31] = 20;
    sfu_leg_receive_rtp(f->pub_a, pad, sizeof pad, 1030);
    assert_int_equal(f->cap_sub_b.rtp_count, before + 1);
    /* A copy of a packet that arrived (libwebrtc probes with those) is no
     * news: nothing goes out, and it counts as padding. */
    rtp_header_write(rtx, sizeof rtx, 97, false, 9, 0, 2222);
    rtx[12] = 0;
    rtx[13] = 100;
    sfu_leg_receive_rtp(f->pub_a, rtx, 34, 1040);
    assert_int_equal(f->cap_sub_b.rtp_count, before + 1);
    sfu_producer_stats_t ps;
    sfu_producer_get_stats(pr, &ps);
    assert_int_equal(ps.rtx_packets, 3);
    assert_int_equal(ps.rtx_padding, 2);
    assert_int_equal(counter_get(&f->stats.unknown_ssrc), 0);
    /* Closing the producer frees its RTX SSRC too. */
    assert_int_equal(sfu_room_producer_close(f->room, 10, 1), 0); /* pub_a is leg 1 */
    assert_null(sfu_room_producer_by_ssrc(f->room, 2222));
}

static void test_receiver_report_to_the_publisher(void **state)
{
    fixture_t *f = *state;
    sfu_producer_params_t pa = video_params(10, 1111);
    assert_int_equal(sfu_producer_new(f->room, f->pub_a, &pa, NULL), 0);
    /* 10 sent, 2 lost: the first RR goes with the first packet (interval from 0). */
    uint16_t seqs[] = {100, 101, 103, 104, 105, 107, 108, 109};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        feed_rtp(f->pub_a, 1111, seqs[i], seqs[i] * 3000u, 5000 + i);
    feed_rtp(f->pub_a, 1111, 110, 330000, 6100); /* a second on: the next RR */
    int rrs = 0;
    rtcp_report_block_t rb = {0};
    for (int i = 0; i < f->cap_pub_a.rtcp_count; i++) {
        rtcp_iter_t it;
        rtcp_packet_t p;
        rtcp_iter_init(&it, f->cap_pub_a.rtcp[i], f->cap_pub_a.rtcp_len[i]);
        while (rtcp_iter_next(&it, &p) == 1) {
            rtcp_rr_t rr;
            if (p.pt == RTCP_PT_RR && rtcp_parse_rr(&p, &rr) == 0 && rr.report_count == 1) {
                rrs++;
                rtcp_report_block_read(rr.reports, 0, &rb);
            }
        }
    }
    assert_int_equal(rrs, 2);
    assert_int_equal(rb.ssrc, 1111);
    assert_int_equal(rb.highest_seq, 110);
    assert_int_equal(rb.cumulative_lost, 2);
}

static void test_malformed_rtcp_is_counted(void **state)
{
    fixture_t *f = *state;
    uint8_t junk[] = {0x81, 201, 0, 40, 1, 2, 3, 4}; /* length past the end */
    sfu_leg_receive_rtcp(f->sub_b, junk, sizeof junk, 1);
    assert_int_equal(counter_get(&f->stats.rtcp_malformed), 1);
    uint8_t short_rtp[] = {0x80, 96, 0};
    sfu_leg_receive_rtp(f->pub_a, short_rtp, sizeof short_rtp, 1);
    assert_int_equal(counter_get(&f->stats.rtp_malformed), 1);
}

/* ---- receiver statistics (rtp/rtp_rx_stats.h) ---- */

static void test_rx_stats_wrap_loss_and_jitter(void **state)
{
    (void)state;
    rtp_rx_stats_t rx;
    rtp_rx_stats_init(&rx);
    /* 65534, 65535, 0, 2 (1 lost), with constant transit: no jitter. */
    uint16_t seqs[] = {65534, 65535, 0, 2};
    for (int i = 0; i < 4; i++)
        rtp_rx_stats_update(&rx, seqs[i], (uint32_t)(seqs[i] * 100u),
                            (uint32_t)(seqs[i] * 100u) + 7);
    assert_int_equal(rtp_rx_stats_ext_max(&rx), 65536 + 2);
    rtcp_report_block_t rb;
    rtp_rx_stats_report(&rx, 9, 1000, &rb);
    assert_int_equal(rb.cumulative_lost, 1);
    assert_int_equal(rb.fraction_lost, 256 / 5);
    assert_int_equal(rb.jitter, 0);
    assert_int_equal(rb.lsr, 0);
    /* A late duplicate makes the count exceed expectations: no negative fraction. */
    rtp_rx_stats_update(&rx, 3, 300, 320);
    rtp_rx_stats_update(&rx, 3, 300, 380);
    rtp_rx_stats_report(&rx, 9, 1500, &rb);
    assert_int_equal(rb.fraction_lost, 0);
    assert_true(rb.jitter > 0);
    /* LSR and DLSR after an SR. */
    rtp_rx_stats_on_sr(&rx, 0x0001234567890000ull, 2000);
    rtp_rx_stats_report(&rx, 9, 2500, &rb);
    assert_int_equal(rb.lsr, 0x23456789);
    assert_int_equal(rb.dlsr, 32768);
}

static void test_rx_stats_no_packets(void **state)
{
    (void)state;
    rtp_rx_stats_t rx;
    rtcp_report_block_t rb;
    rtp_rx_stats_init(&rx);
    rtp_rx_stats_report(&rx, 9, 1000, &rb);
    assert_int_equal(rb.cumulative_lost, 0);
    assert_int_equal(rb.fraction_lost, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ssrc_is_unique_within_a_room),
        T(test_only_the_owner_removes_its_producer),
        T(test_leaving_removes_only_own_producers),
        T(test_rtp_from_a_leg_that_does_not_own_the_ssrc_is_dropped),
        T(test_two_rooms_with_the_same_ssrc_stay_apart),
        T(test_consumer_sends_its_own_ssrc_and_numbering),
        T(test_switching_source_keeps_sequence_and_timestamps_continuous),
        T(test_consumer_made_again_under_its_ssrc_carries_numbering_on),
        T(test_pause_sends_nothing_and_resumes_without_a_gap),
        T(test_extensions_are_remapped_and_stamped),
        T(test_sender_report_translates_the_publishers_mapping),
        T(test_pli_maps_to_the_producer_and_is_throttled),
        T(test_nack_is_answered_with_rtx),
        T(test_nack_is_answered_with_the_packet_again),
        T(test_gaps_on_the_uplink_are_nacked_once_for_everyone),
        T(test_publisher_padding_is_not_forwarded),
        T(test_publisher_rtx_repairs_and_its_padding_stays),
        T(test_receiver_report_to_the_publisher),
        T(test_malformed_rtcp_is_counted),
        cmocka_unit_test(test_rx_stats_wrap_loss_and_jitter),
        cmocka_unit_test(test_rx_stats_no_packets),
    };
    return cmocka_run_group_tests_name("room", tests, NULL, NULL);
}
