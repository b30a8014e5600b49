/* Unit tests: loss recovery in rtp/: the packet cache behind retransmissions
 * (rtp_packet_cache.h) and the missing-packet tracker behind upstream NACKs
 * (rtp_nack_gen.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "rtp/rtp_nack_gen.h"
#include "rtp/rtp_packet_cache.h"

static void fill(uint8_t *p, size_t len, uint16_t seq)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq + i);
}

static void test_cache_stores_and_returns_by_sequence(void **state)
{
    (void)state;
    rtp_packet_cache_t *c = malloc(sizeof *c);
    assert_int_equal(rtp_packet_cache_init(c, 64 * 1024, 100000), 0);
    uint8_t pkt[1200], want[1200];
    for (uint16_t s = 65530; s != 10; s++) { /* across the wrap */
        fill(pkt, 100 + s % 50, s);
        rtp_packet_cache_put(c, s, pkt, 100 + s % 50, 1000);
    }
    const uint8_t *got;
    size_t len;
    assert_int_equal(rtp_packet_cache_get(c, 65533, 1100, 1000, &got, &len), 0);
    fill(want, 100 + 65533 % 50, 65533);
    assert_int_equal(len, 100 + 65533 % 50);
    assert_memory_equal(got, want, len);
    assert_int_equal(rtp_packet_cache_get(c, 5, 1100, 1000, &got, &len), 0);
    assert_int_equal(rtp_packet_cache_get(c, 10, 1100, 1000, &got, &len), -ENOENT);
    /* Too old. */
    assert_int_equal(rtp_packet_cache_get(c, 5, 2001, 1000, &got, &len), -ENOENT);
    rtp_packet_cache_free(c);
    rtp_packet_cache_free(NULL);
    free(c);
}

static void test_cache_evicts_what_the_ring_overwrote(void **state)
{
    (void)state;
    rtp_packet_cache_t *c = malloc(sizeof *c);
    assert_int_equal(rtp_packet_cache_init(c, 10000, 100000), 0);
    uint8_t pkt[1000];
    /* 30 packets of 1,000 bytes through a 10,000-byte ring: the last 10 at most live. */
    for (uint16_t s = 0; s < 30; s++) {
        fill(pkt, sizeof pkt, s);
        rtp_packet_cache_put(c, s, pkt, sizeof pkt, 5);
    }
    const uint8_t *got;
    size_t len;
    int live = 0;
    for (uint16_t s = 0; s < 30; s++) {
        if (rtp_packet_cache_get(c, s, 5, 1000, &got, &len) == 0) {
            uint8_t want[1000];
            fill(want, sizeof want, s);
            assert_memory_equal(got, want, len); /* never torn by a later write */
            assert_true(s >= 20);
            live++;
        }
    }
    assert_true(live >= 9 && live <= 10);
    /* Slot reuse: seq + RTP_CACHE_SLOTS replaces seq. */
    fill(pkt, 10, 99);
    rtp_packet_cache_put(c, (uint16_t)(29 + RTP_CACHE_SLOTS), pkt, 10, 6);
    assert_int_equal(rtp_packet_cache_get(c, 29, 6, 1000, &got, &len), -ENOENT);
    assert_int_equal(rtp_packet_cache_get(c, (uint16_t)(29 + RTP_CACHE_SLOTS), 6, 1000, &got, &len),
                     0);
    assert_int_equal(len, 10);
    /* A packet larger than half the ring is not kept. */
    uint8_t big[6000] = {0};
    rtp_packet_cache_put(c, 500, big, sizeof big, 7);
    assert_int_equal(rtp_packet_cache_get(c, 500, 7, 1000, &got, &len), -ENOENT);
    rtp_packet_cache_free(c);
    free(c);
}

static void test_cache_of_a_slow_stream_starts_over_after_max_age(void **state)
{
    (void)state;
    rtp_packet_cache_t *c = malloc(sizeof *c);
    assert_int_equal(rtp_packet_cache_init(c, 100000, 1000), 0);
    uint8_t pkt[500];
    /* 10 packets a second of 500 bytes: a lap of a second is 5,000 bytes, so
     * writing starts over long before the 100,000-byte ring is used up. */
    uint64_t t = 0;
    for (uint16_t s = 0; s < 30; s++, t += 100) {
        fill(pkt, sizeof pkt, s);
        rtp_packet_cache_put(c, s, pkt, sizeof pkt, t);
        assert_true(c->wpos % c->ring_cap <= 6000);
    }
    const uint8_t *got;
    size_t len;
    /* The last second is there and intact; older packets are gone. */
    for (uint16_t s = 20; s < 30; s++) {
        uint8_t want[500];
        fill(want, sizeof want, s);
        assert_int_equal(rtp_packet_cache_get(c, s, t, 1000, &got, &len), 0);
        assert_memory_equal(got, want, len);
    }
    assert_int_equal(rtp_packet_cache_get(c, 5, t, 100000, &got, &len), -ENOENT);
    rtp_packet_cache_free(c);
    free(c);
}

static void test_nack_gen_asks_for_gaps_and_paces_retries(void **state)
{
    (void)state;
    rtp_nack_gen_t g;
    rtp_nack_gen_init(&g);
    uint16_t seqs[16];
    assert_false(rtp_nack_gen_on_packet(&g, 65533, 0));
    assert_false(rtp_nack_gen_on_packet(&g, 65534, 10));
    assert_false(rtp_nack_gen_on_packet(&g, 1, 20)); /* 65535 and 0 missing */
    /* Not before the reordering allowance. */
    assert_int_equal(rtp_nack_gen_due(&g, 22, 100, seqs, 16), 0);
    assert_int_equal(rtp_nack_gen_due(&g, 25, 100, seqs, 16), 2);
    assert_int_equal(seqs[0], 65535);
    assert_int_equal(seqs[1], 0);
    /* Asked: again only a round trip later. */
    assert_int_equal(rtp_nack_gen_due(&g, 100, 100, seqs, 16), 0);
    assert_int_equal(rtp_nack_gen_due(&g, 125, 100, seqs, 16), 2);
    /* One comes back: it is recovered and no longer asked for. */
    assert_true(rtp_nack_gen_on_packet(&g, 0, 130));
    assert_int_equal(g.recovered, 1);
    assert_int_equal(rtp_nack_gen_due(&g, 300, 100, seqs, 16), 1);
    assert_int_equal(seqs[0], 65535);
    /* A duplicate of something never missing is not a recovery. */
    assert_false(rtp_nack_gen_on_packet(&g, 65534, 310));
    /* What would be news: the one still missing, and what is beyond the
     * highest seen; not what arrived or came back. */
    assert_true(rtp_nack_gen_wants(&g, 65535));
    assert_true(rtp_nack_gen_wants(&g, 2));
    assert_false(rtp_nack_gen_wants(&g, 0));
    assert_false(rtp_nack_gen_wants(&g, 1));
    assert_false(rtp_nack_gen_wants(&g, 65534));
}

static void test_nack_gen_gives_up(void **state)
{
    (void)state;
    rtp_nack_gen_t g;
    rtp_nack_gen_init(&g);
    uint16_t seqs[16];
    rtp_nack_gen_on_packet(&g, 10, 0);
    rtp_nack_gen_on_packet(&g, 12, 0);
    int asked = 0;
    for (uint64_t t = 10; t < 5000; t += 50)
        asked += rtp_nack_gen_due(&g, t, 50, seqs, 16);
    assert_int_equal(asked, RTP_NACK_MAX_RETRIES);
    assert_int_equal(g.count, 0);
    assert_int_equal(g.given_up, 1);
    /* By age, with a long round trip. */
    rtp_nack_gen_on_packet(&g, 14, 6000);
    assert_int_equal(rtp_nack_gen_due(&g, 6010, 5000, seqs, 16), 1);
    assert_int_equal(rtp_nack_gen_due(&g, 6000 + RTP_NACK_MAX_AGE_MS + 1, 5000, seqs, 16), 0);
    assert_int_equal(g.given_up, 2);
}

/* The round trip, from packets that came back after one request only:
 * retries then come two round trips apart (at least RTP_NACK_MIN_RETRY_MS),
 * not at the caller's pace for an unknown one. */
static void test_nack_gen_measures_the_round_trip(void **state)
{
    (void)state;
    rtp_nack_gen_t g;
    rtp_nack_gen_init(&g);
    uint16_t seqs[16];
    assert_int_equal(rtp_nack_gen_retry_ms(&g, 100), 100);
    rtp_nack_gen_on_packet(&g, 10, 0);
    rtp_nack_gen_on_packet(&g, 12, 0); /* 11 missing */
    assert_int_equal(rtp_nack_gen_due(&g, 10, 100, seqs, 16), 1);
    /* Asked twice before it comes: it could answer either request. */
    assert_int_equal(rtp_nack_gen_due(&g, 110, 100, seqs, 16), 1);
    assert_true(rtp_nack_gen_on_packet(&g, 11, 140));
    assert_int_equal(g.rtt_ms, 0);
    assert_int_equal(rtp_nack_gen_retry_ms(&g, 100), 100);
    /* Asked once, back 30 ms later. */
    rtp_nack_gen_on_packet(&g, 14, 200); /* 13 missing */
    assert_int_equal(rtp_nack_gen_due(&g, 210, 100, seqs, 16), 1);
    assert_true(rtp_nack_gen_on_packet(&g, 13, 240));
    assert_int_equal(g.rtt_ms, 30);
    assert_int_equal(rtp_nack_gen_retry_ms(&g, 100), 60);
    /* Smoothed: a 70 ms sample moves it an eighth of the way. */
    rtp_nack_gen_on_packet(&g, 16, 300); /* 15 missing */
    assert_int_equal(rtp_nack_gen_due(&g, 310, 60, seqs, 16), 1);
    assert_true(rtp_nack_gen_on_packet(&g, 15, 380));
    assert_int_equal(g.rtt_ms, 35);
    /* A short round trip: retries no closer than the minimum. */
    for (int i = 0; i < 40; i++) {
        uint16_t seq = (uint16_t)(18 + 2 * i);
        uint64_t t = 400 + 10 * (uint64_t)i;
        rtp_nack_gen_on_packet(&g, seq, t); /* seq - 1 missing */
        assert_int_equal(rtp_nack_gen_due(&g, t + 5, 100, seqs, 16), 1);
        assert_true(rtp_nack_gen_on_packet(&g, (uint16_t)(seq - 1), t + 6));
    }
    assert_true(g.rtt_ms <= 2);
    assert_int_equal(rtp_nack_gen_retry_ms(&g, 100), RTP_NACK_MIN_RETRY_MS);
}

static void test_nack_gen_a_jump_is_not_a_loss(void **state)
{
    (void)state;
    rtp_nack_gen_t g;
    rtp_nack_gen_init(&g);
    uint16_t seqs[16];
    rtp_nack_gen_on_packet(&g, 100, 0);
    rtp_nack_gen_on_packet(&g, 100 + RTP_NACK_MAX_MISSING + 2, 1);
    assert_int_equal(g.count, 0);
    assert_int_equal(rtp_nack_gen_due(&g, 50, 10, seqs, 16), 0);
    /* Old packets (behind max) that were never missing change nothing. */
    assert_false(rtp_nack_gen_on_packet(&g, 50, 60));
    assert_int_equal(g.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_stores_and_returns_by_sequence),
        cmocka_unit_test(test_cache_evicts_what_the_ring_overwrote),
        cmocka_unit_test(test_cache_of_a_slow_stream_starts_over_after_max_age),
        cmocka_unit_test(test_nack_gen_asks_for_gaps_and_paces_retries),
        cmocka_unit_test(test_nack_gen_gives_up),
        cmocka_unit_test(test_nack_gen_measures_the_round_trip),
        cmocka_unit_test(test_nack_gen_a_jump_is_not_a_loss),
    };
    return cmocka_run_group_tests_name("rtp_recovery", tests, NULL, NULL);
}
