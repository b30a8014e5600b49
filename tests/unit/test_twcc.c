/* Unit tests: transport-wide congestion control feedback (rtp/rtp_twcc.h):
 * build -> parse round trips, a message written by hand from the draft's wire
 * format, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "rtp/rtp.h"
#include "rtp/rtp_twcc.h"

/* ---- helpers ---- */

#define MAX_SEEN 4096

/* What the parse callback saw, in order. */
typedef struct seen {
    int n;
    rtp_twcc_status_t st[MAX_SEEN];
} seen_t;

static void collect(void *ctx, const rtp_twcc_status_t *st)
{
    seen_t *s = ctx;
    assert_true(s->n < MAX_SEEN);
    s->st[s->n++] = *st;
}

/* The one RTCP packet in buf, through the common parsers, as a feedback view. */
static void fb_of(uint8_t *buf, size_t len, rtcp_fb_t *fb)
{
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_iter_init(&it, buf, len);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(pkt.len, len);
    assert_int_equal(rtcp_parse_fb(&pkt, fb), 0);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
}

/* Builds one feedback packet from rec and parses it into *s (appending). */
static int build_and_parse(rtp_twcc_recorder_t *rec, size_t cap, seen_t *s, rtp_twcc_header_t *h)
{
    uint8_t buf[2048];
    assert_true(cap <= sizeof buf);
    int len = rtp_twcc_recorder_build(rec, 0x11111111, 0x22222222, buf, cap);
    if (len <= 0)
        return len;
    assert_true((size_t)len <= cap);
    assert_int_equal(len % 4, 0);
    rtcp_fb_t fb;
    fb_of(buf, (size_t)len, &fb);
    assert_int_equal(fb.pt, RTCP_PT_RTPFB);
    assert_int_equal(fb.fmt, RTCP_FMT_TWCC);
    assert_int_equal(fb.sender_ssrc, 0x11111111);
    assert_int_equal(fb.media_ssrc, 0x22222222);
    assert_int_equal(rtp_twcc_parse_header(&fb, h), 0);
    int before = s->n;
    assert_int_equal(rtp_twcc_parse(&fb, collect, s), h->status_count);
    assert_int_equal(s->n - before, h->status_count);
    return len;
}

static rtp_twcc_recorder_t *recorder_new(void)
{
    rtp_twcc_recorder_t *rec = malloc(sizeof *rec);
    assert_non_null(rec);
    rtp_twcc_recorder_init(rec);
    return rec;
}

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* ---- round trips ---- */

static void test_all_received(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    uint8_t buf[256];
    assert_int_equal(rtp_twcc_recorder_build(rec, 1, 2, buf, sizeof buf), 0); /* nothing yet */
    for (uint16_t i = 0; i < 50; i++)
        rtp_twcc_recorder_add(rec, (uint16_t)(100 + i), 5000000 + (uint64_t)i * 1000);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    int len = build_and_parse(rec, 1500, s, &h);
    /* 50 small: one run length chunk, 50 one-byte deltas: 20 + 2 + 50 -> 72. */
    assert_int_equal(len, 72);
    assert_int_equal(h.base_seq, 100);
    assert_int_equal(h.status_count, 50);
    assert_int_equal(h.reference_time, 5000000 / 64000); /* 78: 4,992,000 us */
    assert_int_equal(h.fb_count, 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(s->st[i].seq, 100 + i);
        assert_true(s->st[i].received);
        assert_int_equal(s->st[i].recv_us, 5000000 + i * 1000); /* multiples of 250 us: exact */
    }
    /* Nothing new, then the count goes on. */
    assert_int_equal(rtp_twcc_recorder_build(rec, 1, 2, buf, sizeof buf), 0);
    rtp_twcc_recorder_add(rec, 150, 5100000);
    s->n = 0;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.base_seq, 150);
    assert_int_equal(h.status_count, 1);
    assert_int_equal(h.fb_count, 1);
    assert_int_equal(s->st[0].recv_us, 5100000);
    free(s);
    free(rec);
}

static void test_losses_and_rounding(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    /* Every third lost; arrivals not on the 250 us grid. */
    for (int i = 0; i < 300; i++)
        if (i % 3 != 1)
            rtp_twcc_recorder_add(rec, (uint16_t)i, 1000000 + (uint64_t)i * 3337);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    int len = build_and_parse(rec, 1500, s, &h);
    assert_int_equal(h.status_count, 300);
    /* 300 symbols: 21 1-bit vectors and a 2-bit one for the last 6; 200 one-byte deltas. */
    assert_int_equal(len, 20 + 22 * 2 + 200);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(s->st[i].seq, i);
        assert_int_equal(s->st[i].received, i % 3 != 1);
        if (s->st[i].received) {
            int64_t err = s->st[i].recv_us - (1000000 + (int64_t)i * 3337);
            assert_true(err >= -125 && err <= 125); /* no drift across 200 deltas */
        }
    }
    free(s);
    free(rec);
}

static void test_long_loss_runs(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    for (int i = 0; i < 10; i++)
        rtp_twcc_recorder_add(rec, (uint16_t)i, 2000000 + (uint64_t)i * 500);
    for (int i = 1000; i < 1010; i++) /* 990 lost in between */
        rtp_twcc_recorder_add(rec, (uint16_t)i, 2500000 + (uint64_t)i * 500);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    int len = build_and_parse(rec, 1500, s, &h);
    assert_int_equal(h.status_count, 1010);
    /* 10 small and 4 lost in a 1-bit vector, a run of 986 lost, a 2-bit vector (the
     * large delta of 995.5 ms, 6 small), a run of 3 small; 10 + 2 + 9 delta bytes:
     * 20 + 8 + 21 = 49 -> 52. */
    assert_int_equal(len, 52);
    for (int i = 0; i < 1010; i++)
        assert_int_equal(s->st[i].received, i < 10 || i >= 1000);
    assert_int_equal(s->st[1000].recv_us, 2500000 + 1000 * 500);
    free(s);
    free(rec);
}

static void test_large_and_negative_deltas(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    /* 0 at t, 1 at t + 100 ms (large), 3 before 2 (2's delta negative), 4 at +8 s. */
    uint64_t t = 10000000;
    rtp_twcc_recorder_add(rec, 0, t);
    rtp_twcc_recorder_add(rec, 1, t + 100000);
    rtp_twcc_recorder_add(rec, 3, t + 101000);
    rtp_twcc_recorder_add(rec, 2, t + 102000);
    rtp_twcc_recorder_add(rec, 4, t + 8101000);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    int len = build_and_parse(rec, 1500, s, &h);
    assert_int_equal(h.status_count, 5);
    /* One 2-bit vector (small, large, small, large, large), deltas 1+2+1+2+2. */
    assert_int_equal(len, (20 + 2 + 8 + 3) / 4 * 4);
    const int64_t want[] = {t, t + 100000, t + 102000, t + 101000, t + 8101000};
    for (int i = 0; i < 5; i++) {
        assert_true(s->st[i].received);
        assert_int_equal(s->st[i].recv_us, want[i]);
    }
    free(s);
    free(rec);
}

static void test_delta_beyond_16_bits_splits(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    /* 8.2 s between two packets does not fit a signed 16-bit delta (8.19 s). */
    rtp_twcc_recorder_add(rec, 7, 1000000);
    rtp_twcc_recorder_add(rec, 8, 1000000 + 8200000);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.base_seq, 7);
    assert_int_equal(h.status_count, 1);
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.base_seq, 8);
    assert_int_equal(h.status_count, 1);
    assert_int_equal(h.reference_time, 9200000 / 64000);
    assert_int_equal(s->st[1].recv_us, 9200000);
    uint8_t buf[64];
    assert_int_equal(rtp_twcc_recorder_build(rec, 1, 2, buf, sizeof buf), 0);
    free(s);
    free(rec);
}

static void test_late_packet_is_reported_again(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    for (int i = 0; i < 10; i++)
        if (i != 5)
            rtp_twcc_recorder_add(rec, (uint16_t)i, 1000000 + (uint64_t)i * 1000);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.status_count, 10);
    assert_false(s->st[5].received);
    /* 5 turns up late, with 10: the next feedback starts at 5 again. */
    rtp_twcc_recorder_add(rec, 5, 1020000);
    rtp_twcc_recorder_add(rec, 10, 1021000);
    s->n = 0;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.base_seq, 5);
    assert_int_equal(h.status_count, 6);
    assert_true(s->st[0].received);
    assert_int_equal(s->st[0].recv_us, 1020000);
    assert_int_equal(s->st[1].recv_us, 1006000); /* 6, reported again: a negative delta */
    assert_int_equal(s->st[5].recv_us, 1021000);
    /* A duplicate changes nothing; one older than the window is ignored. */
    rtp_twcc_recorder_add(rec, 10, 2000000);
    uint8_t buf[64];
    assert_int_equal(rtp_twcc_recorder_build(rec, 1, 2, buf, sizeof buf), 0);
    rtp_twcc_recorder_add(rec, 2000, 3000000);
    rtp_twcc_recorder_add(rec, 100, 3001000); /* 1900 behind */
    s->n = 0;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    /* 11..2000 is more than the window: the oldest are forgotten, not reported. */
    assert_int_equal(h.base_seq, 2000 - RTP_TWCC_WINDOW + 1);
    assert_int_equal(h.status_count, RTP_TWCC_WINDOW);
    for (int i = 0; i < RTP_TWCC_WINDOW - 1; i++)
        assert_false(s->st[i].received);
    assert_true(s->st[RTP_TWCC_WINDOW - 1].received);
    free(s);
    free(rec);
}

static void test_sequence_wrap(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    uint16_t seq = 65530;
    for (int i = 0; i < 12; i++, seq++)
        if (i != 6) /* 0 is lost */
            rtp_twcc_recorder_add(rec, seq, 1000000 + (uint64_t)i * 2000);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.base_seq, 65530);
    assert_int_equal(h.status_count, 12);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(s->st[i].seq, (uint16_t)(65530 + i));
        assert_int_equal(s->st[i].received, i != 6);
    }
    /* 0, late after 6, is placed after 65535, not 64 K behind. */
    rtp_twcc_recorder_add(rec, 6, 1030000);
    rtp_twcc_recorder_add(rec, 0, 1031000);
    s->n = 0;
    assert_true(build_and_parse(rec, 1500, s, &h) > 0);
    assert_int_equal(h.base_seq, 0);
    assert_int_equal(h.status_count, 7);
    assert_true(s->st[0].received);
    assert_int_equal(s->st[0].recv_us, 1031000);
    free(s);
    free(rec);
}

static void test_split_when_too_much_is_pending(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    uint32_t rnd = 1;
    bool got[RTP_TWCC_WINDOW];
    uint64_t at[RTP_TWCC_WINDOW];
    uint64_t t = 1000000;
    for (int i = 0; i < RTP_TWCC_WINDOW; i++) {
        got[i] = lcg(&rnd) % 4 != 0;
        t += lcg(&rnd) % 30000; /* some deltas large */
        at[i] = t;
        if (got[i])
            rtp_twcc_recorder_add(rec, (uint16_t)(60000 + i), t);
    }
    got[RTP_TWCC_WINDOW - 1] = true; /* the last must be there for the count to reach it */
    rtp_twcc_recorder_add(rec, (uint16_t)(60000 + RTP_TWCC_WINDOW - 1), at[RTP_TWCC_WINDOW - 1]);
    uint8_t small[RTP_TWCC_MIN_PACKET_LEN - 1];
    assert_int_equal(rtp_twcc_recorder_build(rec, 1, 2, small, sizeof small), -ENOSPC);
    seen_t *s = calloc(1, sizeof *s);
    rtp_twcc_header_t h;
    int packets = 0, len;
    while ((len = build_and_parse(rec, 120, s, &h)) > 0) {
        assert_int_equal(h.fb_count, packets);
        packets++;
    }
    assert_int_equal(len, 0);
    assert_true(packets > 5);
    /* Every packet exactly once, in order. */
    assert_int_equal(s->n, RTP_TWCC_WINDOW);
    for (int i = 0; i < RTP_TWCC_WINDOW; i++) {
        assert_int_equal(s->st[i].seq, (uint16_t)(60000 + i));
        assert_int_equal(s->st[i].received, got[i]);
        if (got[i]) {
            int64_t err = s->st[i].recv_us - (int64_t)at[i];
            assert_true(err >= -125 && err <= 125);
        }
    }
    free(s);
    free(rec);
}

/* Random loss, jitter and reordering, built at random moments into random caps:
 * the last report of each packet matches what arrived. */
static void test_random_round_trips(void **state)
{
    (void)state;
    enum { N = 5000 };
    rtp_twcc_recorder_t *rec = recorder_new();
    seen_t *s = calloc(1, sizeof *s);
    static bool sent_got[N];
    static int64_t sent_at[N];
    static int report[N]; /* 0 none, 1 lost, 2 received */
    static int64_t report_at[N];
    memset(report, 0, sizeof report);
    uint32_t rnd = 7;
    uint64_t t = 123456789;
    const int start = 65000;
    for (int i = 0; i < N; i++) {
        t += lcg(&rnd) % 3000;
        sent_got[i] = lcg(&rnd) % 10 != 0;
        sent_at[i] = (int64_t)t;
    }
    sent_got[N - 1] = true;
    int next = 0, held = -1;
    while (next < N) {
        /* One held back over the last build arrives now: reported lost, then received. */
        if (held >= 0)
            rtp_twcc_recorder_add(rec, (uint16_t)(start + held), (uint64_t)sent_at[held]);
        held = -1;
        /* Add a few, swapping neighbours now and then. */
        int batch = 1 + (int)(lcg(&rnd) % 40);
        for (int k = 0; k < batch && next < N; k++, next++) {
            int i = next;
            if (held < 0 && sent_got[i] && lcg(&rnd) % 16 == 0) {
                held = i;
                continue;
            }
            if (lcg(&rnd) % 8 == 0 && next + 1 < N) {
                if (sent_got[i + 1])
                    rtp_twcc_recorder_add(rec, (uint16_t)(start + i + 1), (uint64_t)sent_at[i + 1]);
                if (sent_got[i])
                    rtp_twcc_recorder_add(rec, (uint16_t)(start + i), (uint64_t)sent_at[i]);
                next++;
                k++;
                continue;
            }
            if (sent_got[i])
                rtp_twcc_recorder_add(rec, (uint16_t)(start + i), (uint64_t)sent_at[i]);
        }
        size_t cap = 100 + lcg(&rnd) % 400;
        rtp_twcc_header_t h;
        s->n = 0;
        int len = build_and_parse(rec, cap, s, &h);
        assert_true(len >= 0);
        for (int k = 0; k < s->n; k++) {
            int i = (uint16_t)(s->st[k].seq - (uint16_t)start);
            assert_true(i < N);
            report[i] = s->st[k].received ? 2 : 1;
            report_at[i] = s->st[k].recv_us;
        }
    }
    if (held >= 0)
        rtp_twcc_recorder_add(rec, (uint16_t)(start + held), (uint64_t)sent_at[held]);
    rtp_twcc_header_t h;
    for (;;) {
        s->n = 0;
        if (build_and_parse(rec, 1500, s, &h) <= 0)
            break;
        for (int k = 0; k < s->n; k++) {
            int i = (uint16_t)(s->st[k].seq - (uint16_t)start);
            report[i] = s->st[k].received ? 2 : 1;
            report_at[i] = s->st[k].recv_us;
        }
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(report[i], sent_got[i] ? 2 : 1);
        if (sent_got[i]) {
            int64_t err = report_at[i] - sent_at[i];
            assert_true(err >= -125 && err <= 125);
        }
    }
    free(s);
    free(rec);
}

/* ---- A message written by hand (draft-holmer-...-01 3.1) ---- */

static uint8_t hand[] = {
    /* V=2, P=0, FMT=15: 0x8f; PT=205: 0xcd; length = 44/4 - 1 = 10. */
    0x8f, 0xcd, 0x00, 0x0a,
    /* SSRC of packet sender, SSRC of media source. */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    /* base sequence number 0xfffe (wraps after two); packet status count 24. */
    0xff, 0xfe, 0x00, 0x18,
    /* reference time 16 (x 64 ms = 1,024,000 us), 24 bits; fb pkt. count 42. */
    0x00, 0x00, 0x10, 0x2a,
    /* Chunk 1, the draft's 3.1.4 example: T=1, S=0, then 14 one-bit symbols
     * 0 11111 000 111 00: 1 lost, 5 received, 3 lost, 3 received, 2 lost.
     * 1 0 0 1 | 1 1 1 1 | 0 0 0 1 | 1 1 0 0 = 0x9f1c. Packets 0-13. */
    0x9f, 0x1c,
    /* Chunk 2: T=1, S=1, seven 2-bit symbols 01 10 00 10 01 00 00: small, large,
     * lost, large, small, lost, lost. 1 1 0 1 | 1 0 0 0 | 1 0 0 1 | 0 0 0 0 = 0xd890.
     * Packets 14-20. */
    0xd8, 0x90,
    /* Chunk 3: T=0, S=01 (small), run length 3: 0 01 0000000000011 = 0x2003.
     * Packets 21-23. */
    0x20, 0x03,
    /* Receive deltas, 250 us units. Chunk 1's eight: +1 ms x 5 (packets 1-5),
     * then +2 ms, +0, +63.75 ms (the largest small delta) (packets 9-11). */
    0x04, 0x04, 0x04, 0x04, 0x04, 0x08, 0x00, 0xff,
    /* Chunk 2: small +0.25 ms (14); large -1 ms = -4 = 0xfffc (15); large
     * +100 ms = 400 = 0x0190 (17); small +0.5 ms (18). */
    0x01, 0xff, 0xfc, 0x01, 0x90, 0x02,
    /* Chunk 3: +1 ms x 3 (21-23). 17 delta bytes: 20 + 6 + 17 = 43, one byte of
     * zero padding to 44. */
    0x04, 0x04, 0x04, 0x00};

static void test_hand_built_vector(void **state)
{
    (void)state;
    rtcp_fb_t fb;
    fb_of(hand, sizeof hand, &fb);
    rtp_twcc_header_t h;
    assert_int_equal(rtp_twcc_parse_header(&fb, &h), 0);
    assert_int_equal(h.base_seq, 0xfffe);
    assert_int_equal(h.status_count, 24);
    assert_int_equal(h.reference_time, 16);
    assert_int_equal(h.fb_count, 42);
    seen_t *s = calloc(1, sizeof *s);
    assert_int_equal(rtp_twcc_parse(&fb, collect, s), 24);
    assert_int_equal(s->n, 24);
    /* Packet index -> receive time in us, 0 for lost. */
    const int64_t want[24] = {
        0, 1025000, 1026000, 1027000, 1028000, 1029000, 0,       0, 0, 1031000, 1031000, 1094750,
        0, 0,       1095000, 1094000, 0,       1194000, 1194500, 0, 0, 1195500, 1196500, 1197500,
    };
    for (int i = 0; i < 24; i++) {
        assert_int_equal(s->st[i].seq, (uint16_t)(0xfffe + i));
        assert_int_equal(s->st[i].received, want[i] != 0);
        if (want[i])
            assert_int_equal(s->st[i].recv_us, want[i]);
    }
    free(s);
}

/* The recorder writes the same bytes for the same arrivals (its own chunking:
 * the 2-bit vector and the run come out the same, the 1-bit one as well). */
static void test_recorder_writes_the_hand_vector(void **state)
{
    (void)state;
    rtp_twcc_recorder_t *rec = recorder_new();
    /* 42 feedback packets of one packet each, up to 0xfffd: the next starts at 0xfffe. */
    uint8_t buf[64];
    for (int k = 0; k < 42; k++) {
        rtp_twcc_recorder_add(rec, (uint16_t)(0xfffe - 42 + k), 900000 + (uint64_t)k * 1000);
        assert_true(rtp_twcc_recorder_build(rec, 1, 2, buf, sizeof buf) > 0);
    }
    const int64_t at[24] = {
        0, 1025000, 1026000, 1027000, 1028000, 1029000, 0,       0, 0, 1031000, 1031000, 1094750,
        0, 0,       1095000, 1094000, 0,       1194000, 1194500, 0, 0, 1195500, 1196500, 1197500,
    };
    for (int i = 0; i < 24; i++)
        if (at[i])
            rtp_twcc_recorder_add(rec, (uint16_t)(0xfffe + i), (uint64_t)at[i]);
    int len = rtp_twcc_recorder_build(rec, 0x01020304, 0x05060708, buf, sizeof buf);
    assert_int_equal(len, sizeof hand);
    assert_memory_equal(buf, hand, sizeof hand);
    free(rec);
}

/* ---- malformed input ---- */

static int calls;

static void count_calls(void *ctx, const rtp_twcc_status_t *st)
{
    (void)ctx;
    (void)st;
    calls++;
}

static int parse_bytes(const uint8_t *fci, size_t fci_len)
{
    rtcp_fb_t fb = {.pt = RTCP_PT_RTPFB,
                    .fmt = RTCP_FMT_TWCC,
                    .sender_ssrc = 1,
                    .media_ssrc = 2,
                    .fci = fci,
                    .fci_len = fci_len};
    calls = 0;
    int rc = rtp_twcc_parse(&fb, count_calls, NULL);
    if (rc < 0)
        assert_int_equal(calls, 0); /* nothing reported from a bad message */
    return rc;
}

static void test_malformed(void **state)
{
    (void)state;
    const uint8_t *fci = hand + 12;
    size_t fci_len = sizeof hand - 12;
    assert_int_equal(parse_bytes(fci, fci_len), 24);
    /* Every cut into the chunks or the deltas; the padding byte alone may go. */
    for (size_t cut = 0; cut < fci_len; cut++)
        assert_int_equal(parse_bytes(fci, cut), cut == fci_len - 1 ? 24 : -EINVAL);

    uint8_t b[64];
    /* Truncated chunks: a status count of 30 needs a fourth chunk. */
    memcpy(b, fci, fci_len);
    wr_be16(b + 2, 30);
    assert_int_equal(parse_bytes(b, fci_len), -EINVAL);
    /* Status count far beyond the data. */
    wr_be16(b + 2, 0xffff);
    assert_int_equal(parse_bytes(b, fci_len), -EINVAL);
    /* Status count 0. */
    wr_be16(b + 2, 0);
    assert_int_equal(parse_bytes(b, fci_len), -EINVAL);
    /* Deltas past the end: the run of 3 small becomes 3 large (6 bytes, 4 left). */
    memcpy(b, fci, fci_len);
    wr_be16(b + 12, 0x4003);
    assert_int_equal(parse_bytes(b, fci_len), -EINVAL);
    /* Reserved symbol 11 in a 2-bit vector, and as a run. */
    memcpy(b, fci, fci_len);
    wr_be16(b + 10, 0xf890);
    assert_int_equal(parse_bytes(b, fci_len), -EINVAL);
    memcpy(b, fci, fci_len);
    wr_be16(b + 12, 0x6003);
    assert_int_equal(parse_bytes(b, fci_len), -EINVAL);
    /* A run longer than the count is clamped; 1-bit padding past the count is fine. */
    memcpy(b, fci, fci_len);
    wr_be16(b + 12, 0x2005);
    assert_int_equal(parse_bytes(b, fci_len), 24);
    wr_be16(b + 2, 22);
    assert_int_equal(parse_bytes(b, fci_len), 22);
    /* Shorter than the fixed fields. */
    assert_int_equal(parse_bytes(fci, 7), -EINVAL);
    assert_int_equal(parse_bytes(fci, 0), -EINVAL);
    /* Not transport-cc. */
    rtcp_fb_t fb = {.pt = RTCP_PT_RTPFB, .fmt = RTCP_FMT_NACK, .fci = fci, .fci_len = fci_len};
    assert_int_equal(rtp_twcc_parse(&fb, count_calls, NULL), -EINVAL);
    fb.pt = RTCP_PT_PSFB;
    fb.fmt = RTCP_FMT_TWCC;
    assert_int_equal(rtp_twcc_parse(&fb, count_calls, NULL), -EINVAL);
    rtp_twcc_header_t h;
    assert_int_equal(rtp_twcc_parse_header(&fb, &h), -EINVAL);
}

static void test_random_garbage_never_reads_past_the_end(void **state)
{
    (void)state;
    uint32_t rnd = 99;
    for (int round = 0; round < 20000; round++) {
        size_t len = 8 + lcg(&rnd) % 40;
        /* Exactly len bytes on the heap, so a read past them is caught by ASan. */
        uint8_t *b = malloc(len);
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)lcg(&rnd);
        wr_be16(b + 2, (uint16_t)(1 + lcg(&rnd) % 64)); /* a plausible count */
        int rc = parse_bytes(b, len);
        assert_true(rc == -EINVAL || rc == rd_be16(b + 2));
        if (rc > 0)
            assert_int_equal(calls, rc);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_received),
        cmocka_unit_test(test_losses_and_rounding),
        cmocka_unit_test(test_long_loss_runs),
        cmocka_unit_test(test_large_and_negative_deltas),
        cmocka_unit_test(test_delta_beyond_16_bits_splits),
        cmocka_unit_test(test_late_packet_is_reported_again),
        cmocka_unit_test(test_sequence_wrap),
        cmocka_unit_test(test_split_when_too_much_is_pending),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_hand_built_vector),
        cmocka_unit_test(test_recorder_writes_the_hand_vector),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_random_garbage_never_reads_past_the_end),
    };
    return cmocka_run_group_tests_name("twcc", tests, NULL, NULL);
}
