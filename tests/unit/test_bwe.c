/* Unit tests: the downlink bandwidth estimator (rtp/rtp_bwe.h) on synthetic
 * traces. A simulated link (a bottleneck of fixed capacity with a FIFO queue,
 * propagation delay, random loss) carries paced packets sent at the current
 * estimate; the receiver's side is the real rtp_twcc recorder, its feedback goes
 * back through the RTCP parsers. */
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
#include "rtp/rtp_bwe.h"
#include "rtp/rtp_twcc.h"

/* ---- the simulator ---- */

#define SIM_FLIGHT   8192
#define SIM_FEEDBACK 64
#define PACKET_BYTES 1200

typedef struct sim_fb {
    uint64_t deliver_us;
    size_t len;
    uint8_t buf[1200];
} sim_fb_t;

typedef struct sim {
    /* the path */
    double capacity_bps;
    uint64_t one_way_us;
    double loss;             /* random, before the bottleneck */
    uint64_t max_queue_us;   /* tail drop beyond this queueing delay */
    uint64_t feedback_every; /* us */
    double police_bps;       /* a token-bucket policer before the bottleneck; 0: none */
    double police_burst_bytes;
    /* the sender: 0 fills the estimate; else media at this rate, plus the
     * node's probes (sfu_leg__want_probe): for 1 s every 3 s, padding of
     * half the estimate, all of it after a probe that raised it */
    double media_bps;
    /* state */
    double tokens;
    uint64_t tokens_us, probe_end_us, next_probe_us;
    double probe_pad_bps, probe_from_bps;
    /* state */
    uint64_t now_us, next_send_us, next_feedback_us;
    double link_free_us;
    uint16_t seq;
    uint32_t rnd;
    struct {
        uint16_t seq;
        uint64_t arrival_us;
    } flight[SIM_FLIGHT];
    size_t flight_head, flight_len;
    sim_fb_t fb[SIM_FEEDBACK];
    size_t fb_head, fb_len;
    rtp_twcc_recorder_t rec;
    rtp_bwe_t bwe;
    uint64_t sent, lost, dropped, feedbacks;
} sim_t;

static double rnd01(sim_t *s)
{
    s->rnd = s->rnd * 1664525u + 1013904223u;
    return (double)(s->rnd >> 8) / (double)(1u << 24);
}

static sim_t *sim_new(double capacity_bps, double loss, uint16_t first_seq, uint64_t start_bps,
                      uint64_t min_bps, uint64_t max_bps)
{
    sim_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->capacity_bps = capacity_bps;
    s->one_way_us = 25000;
    s->loss = loss;
    s->max_queue_us = 400000;
    s->feedback_every = 50000;
    s->now_us = 1000000;
    s->next_send_us = s->now_us;
    s->next_feedback_us = s->now_us + s->feedback_every;
    s->link_free_us = (double)s->now_us;
    s->seq = first_seq;
    s->rnd = 12345;
    rtp_twcc_recorder_init(&s->rec);
    rtp_bwe_init(&s->bwe, start_bps, min_bps, max_bps);
    return s;
}

static void sim_send(sim_t *s)
{
    uint16_t seq = s->seq++;
    rtp_bwe_on_sent(&s->bwe, seq, PACKET_BYTES, s->now_us);
    s->sent++;
    if (rnd01(s) < s->loss) {
        s->lost++;
        return;
    }
    if (s->police_bps > 0) {
        s->tokens += (double)(s->now_us - s->tokens_us) * s->police_bps / 8e6;
        s->tokens = s->tokens > s->police_burst_bytes ? s->police_burst_bytes : s->tokens;
        s->tokens_us = s->now_us;
        if (s->tokens < PACKET_BYTES) {
            s->lost++;
            return;
        }
        s->tokens -= PACKET_BYTES;
    }
    double start = s->link_free_us > (double)s->now_us ? s->link_free_us : (double)s->now_us;
    if (start - (double)s->now_us > (double)s->max_queue_us) {
        s->dropped++;
        return;
    }
    s->link_free_us = start + PACKET_BYTES * 8 * 1e6 / s->capacity_bps;
    assert_true(s->flight_len < SIM_FLIGHT);
    size_t i = (s->flight_head + s->flight_len++) % SIM_FLIGHT;
    s->flight[i].seq = seq;
    s->flight[i].arrival_us = (uint64_t)s->link_free_us + s->one_way_us;
}

static void sim_receive_and_feed_back(sim_t *s)
{
    while (s->flight_len && s->flight[s->flight_head].arrival_us <= s->now_us) {
        rtp_twcc_recorder_add(&s->rec, s->flight[s->flight_head].seq,
                              s->flight[s->flight_head].arrival_us);
        s->flight_head = (s->flight_head + 1) % SIM_FLIGHT;
        s->flight_len--;
    }
    if (s->now_us < s->next_feedback_us)
        return;
    s->next_feedback_us += s->feedback_every;
    for (;;) {
        assert_true(s->fb_len < SIM_FEEDBACK);
        sim_fb_t *f = &s->fb[(s->fb_head + s->fb_len) % SIM_FEEDBACK];
        int len = rtp_twcc_recorder_build(&s->rec, 0xaaaa, 0xbbbb, f->buf, sizeof f->buf);
        assert_true(len >= 0);
        if (len == 0)
            break;
        f->len = (size_t)len;
        f->deliver_us = s->now_us + s->one_way_us; /* feedback is never lost here */
        s->fb_len++;
    }
}

static void sim_deliver_feedback(sim_t *s)
{
    while (s->fb_len && s->fb[s->fb_head].deliver_us <= s->now_us) {
        sim_fb_t *f = &s->fb[s->fb_head];
        rtcp_iter_t it;
        rtcp_packet_t pkt;
        rtcp_fb_t fb;
        rtcp_iter_init(&it, f->buf, f->len);
        assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
        assert_int_equal(rtcp_parse_fb(&pkt, &fb), 0);
        assert_int_equal(rtp_bwe_on_feedback(&s->bwe, &fb, s->now_us), 0);
        s->feedbacks++;
        s->fb_head = (s->fb_head + 1) % SIM_FEEDBACK;
        s->fb_len--;
    }
}

/* Runs for duration_us in 1 ms steps; the sender paces packets at the estimate
 * (an encoder plus padding that always fills it). */
static void sim_run(sim_t *s, uint64_t duration_us)
{
    uint64_t end = s->now_us + duration_us;
    for (; s->now_us < end; s->now_us += 1000) {
        if (s->media_bps > 0 && s->now_us >= s->next_probe_us) {
            double est = (double)rtp_bwe_estimate_bps(&s->bwe);
            bool raised = s->probe_from_bps > 0 && est >= 1.2 * s->probe_from_bps;
            s->probe_pad_bps = raised ? est : est / 2;
            s->probe_from_bps = est;
            s->probe_end_us = s->now_us + 1000000;
            s->next_probe_us = s->now_us + 3000000;
        }
        while (s->next_send_us <= s->now_us) {
            sim_send(s);
            double rate = s->media_bps <= 0             ? (double)rtp_bwe_estimate_bps(&s->bwe)
                          : s->now_us < s->probe_end_us ? s->media_bps + s->probe_pad_bps
                                                        : s->media_bps;
            s->next_send_us += (uint64_t)(PACKET_BYTES * 8 * 1e6 / rate);
        }
        sim_receive_and_feed_back(s);
        sim_deliver_feedback(s);
    }
}

/* The lowest estimate over samples taken every 100 ms. */
static uint64_t sim_lowest(sim_t *s, int samples)
{
    uint64_t lowest = UINT64_MAX;
    for (int i = 0; i < samples; i++) {
        sim_run(s, 100000);
        uint64_t e = rtp_bwe_estimate_bps(&s->bwe);
        lowest = e < lowest ? e : lowest;
    }
    return lowest;
}

/* ---- traces ---- */

static void test_converges_to_link_capacity(void **state)
{
    (void)state;
    const double capacity = 500000;
    sim_t *s = sim_new(capacity, 0, 0, 300000, 50000, 5000000);
    sim_run(s, 20000000); /* 20 s to find it */
    double lo = 1e12, hi = 0, sum = 0;
    int n = 0;
    for (int i = 0; i < 400; i++) { /* then 40 s, sampled every 100 ms */
        sim_run(s, 100000);
        double e = (double)rtp_bwe_estimate_bps(&s->bwe);
        lo = e < lo ? e : lo;
        hi = e > hi ? e : hi;
        sum += e;
        n++;
    }
    print_message("capacity 500 kbit/s: estimate %.0f..%.0f, mean %.0f; %llu sent, %llu tail "
                  "drops\n",
                  lo, hi, sum / n, (unsigned long long)s->sent, (unsigned long long)s->dropped);
    assert_true(lo >= 0.75 * capacity);
    assert_true(hi <= 1.25 * capacity);
    free(s);
}

static void test_follows_a_capacity_drop(void **state)
{
    (void)state;
    sim_t *s = sim_new(1000000, 0, 0, 300000, 50000, 5000000);
    sim_run(s, 30000000);
    uint64_t before = rtp_bwe_estimate_bps(&s->bwe);
    assert_true(before > 800000 && before < 1250000);
    s->capacity_bps = 400000;
    sim_run(s, 2000000);
    uint64_t after_2s = rtp_bwe_estimate_bps(&s->bwe);
    assert_true(after_2s < 1.25 * 400000);
    sim_run(s, 4000000);
    double lo = 1e12, hi = 0;
    for (int i = 0; i < 100; i++) { /* 6 to 16 s after the drop */
        sim_run(s, 100000);
        double e = (double)rtp_bwe_estimate_bps(&s->bwe);
        lo = e < lo ? e : lo;
        hi = e > hi ? e : hi;
    }
    print_message("1 Mbit/s -> 400 kbit/s: %llu before, %llu 2 s after, then %.0f..%.0f\n",
                  (unsigned long long)before, (unsigned long long)after_2s, lo, hi);
    assert_true(lo >= 0.75 * 400000);
    assert_true(hi <= 1.25 * 400000);
    free(s);
}

static void test_clean_fast_link_grows_to_max(void **state)
{
    (void)state;
    const uint64_t max = 2500000;
    sim_t *s = sim_new(50e6, 0, 0, 300000, 50000, max);
    uint64_t prev = rtp_bwe_estimate_bps(&s->bwe);
    for (int i = 0; i < 45; i++) {
        sim_run(s, 1000000);
        uint64_t e = rtp_bwe_estimate_bps(&s->bwe);
        assert_true(e >= prev); /* nothing on this link calls for a decrease */
        prev = e;
    }
    print_message("clean link: %llu bit/s after 45 s\n", (unsigned long long)prev);
    assert_int_equal(prev, max);
    free(s);
}

/* A downlink policed at 300 kbit/s (no queue, so no delay to see; a 9 kB
 * bucket, as nftables' "limit rate over 37 kbytes/second burst 9 kbytes"),
 * carrying 150 kbit/s of media and the node's probes. A probe that fills
 * the bucket passes whole for a moment; the estimate must not take that
 * moment for the link's rate, or a layer that cannot pass is chosen. Freed,
 * the probes still find a fast link within seconds. */
static void test_policer_is_not_overestimated(void **state)
{
    (void)state;
    sim_t *s = sim_new(50e6, 0, 0, 1000000, 50000, 5000000);
    s->police_bps = 300000;
    s->police_burst_bytes = 9 * 1024;
    s->media_bps = 150000;
    sim_run(s, 10000000);
    double hi = 0;
    int above = 0;
    for (int i = 0; i < 600; i++) { /* then 60 s, sampled every 100 ms */
        sim_run(s, 100000);
        double e = (double)rtp_bwe_estimate_bps(&s->bwe);
        hi = e > hi ? e : hi;
        above += e > 1.5 * s->police_bps;
    }
    s->police_bps = 0;
    int freed_ms = -1;
    for (int i = 0; i < 200 && freed_ms < 0; i++) {
        sim_run(s, 100000);
        if (rtp_bwe_estimate_bps(&s->bwe) >= 1000000)
            freed_ms = (i + 1) * 100;
    }

    print_message("policed at 300 kbit/s: estimate at most %.0f, over 450 kbit/s %d of 600 "
                  "samples; freed, 1 Mbit/s after %d ms\n",
                  hi, above, freed_ms);
    assert_true(above <= 30); /* 5 % of the time */
    assert_true(hi <= 1.75 * 300000);
    assert_true(freed_ms > 0 && freed_ms <= 20000);
    free(s);
}

static void test_heavy_loss_lowers_the_estimate(void **state)
{
    (void)state;
    sim_t *s = sim_new(50e6, 0.20, 0, 1000000, 50000, 5000000);
    sim_run(s, 3000000);
    uint64_t at_3s = rtp_bwe_estimate_bps(&s->bwe);
    sim_run(s, 7000000);
    uint64_t at_10s = rtp_bwe_estimate_bps(&s->bwe);
    print_message("20 %% loss: %llu bit/s at 3 s, %llu at 10 s\n", (unsigned long long)at_3s,
                  (unsigned long long)at_10s);
    assert_true(at_3s < 1000000 / 2);
    assert_true(at_10s <= at_3s);
    assert_true(at_10s < 1000000 / 4);
    free(s);
}

static void test_light_loss_does_not_lower_it(void **state)
{
    (void)state;
    sim_t *s = sim_new(50e6, 0.01, 0, 1000000, 50000, 5000000);
    uint64_t lowest = sim_lowest(s, 100);
    uint64_t end = rtp_bwe_estimate_bps(&s->bwe);
    print_message("1 %% loss: lowest %llu, %llu bit/s after 10 s (%llu of %llu lost)\n",
                  (unsigned long long)lowest, (unsigned long long)end, (unsigned long long)s->lost,
                  (unsigned long long)s->sent);
    assert_true(s->lost > 0);
    assert_true(lowest >= 1000000);
    assert_true(end > 1500000);
    free(s);
}

/* 5 % random loss at a video call's packet rate (about 100 packets/s) is
 * within the band where the estimate holds (2-10 %): a short window of a few
 * dozen packets sees 10 % and more by chance, and must not walk the estimate
 * down step by step. */
static void test_moderate_loss_holds_at_call_rates(void **state)
{
    (void)state;
    sim_t *s = sim_new(50e6, 0.05, 0, 1000000, 50000, 5000000);
    uint64_t lowest = sim_lowest(s, 300);
    print_message("5 %% loss: lowest %llu, %llu bit/s after 30 s (%llu of %llu lost)\n",
                  (unsigned long long)lowest, (unsigned long long)rtp_bwe_estimate_bps(&s->bwe),
                  (unsigned long long)s->lost, (unsigned long long)s->sent);
    assert_true(s->lost > s->sent / 25);
    assert_true(lowest >= 900000);
    free(s);
}

/* The same trace with the transport sequence starting at 0 and just before the
 * wrap: the estimates match at every step. */
static void test_sequence_wrap_changes_nothing(void **state)
{
    (void)state;
    sim_t *a = sim_new(500000, 0.02, 0, 300000, 50000, 5000000);
    sim_t *b = sim_new(500000, 0.02, 65000, 300000, 50000, 5000000);
    for (int i = 0; i < 300; i++) {
        sim_run(a, 100000);
        sim_run(b, 100000);
        assert_int_equal(rtp_bwe_estimate_bps(&a->bwe), rtp_bwe_estimate_bps(&b->bwe));
    }
    assert_true(b->sent > 1000); /* wrapped */
    assert_true((uint16_t)(65000 + b->sent) < 65000);
    free(a);
    free(b);
}

/* ---- the API around the traces ---- */

static void test_init_clamps_and_bad_feedback(void **state)
{
    (void)state;
    rtp_bwe_t *bwe = malloc(sizeof *bwe);
    rtp_bwe_init(bwe, 10, 100000, 1000000);
    assert_int_equal(rtp_bwe_estimate_bps(bwe), 100000);
    rtp_bwe_init(bwe, 5000000, 100000, 1000000);
    assert_int_equal(rtp_bwe_estimate_bps(bwe), 1000000);
    rtp_bwe_init(bwe, 500000, 100000, 1000000);
    assert_int_equal(rtp_bwe_acked_bps(bwe), 0);
    assert_int_equal(rtp_bwe_signal(bwe), RTP_BWE_NORMAL);

    /* Not transport-cc, or truncated: refused, nothing changes. */
    const uint8_t fci[] = {0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x10, 0x00, 0x20, 0x05};
    rtcp_fb_t fb = {.pt = RTCP_PT_RTPFB, .fmt = RTCP_FMT_NACK, .fci = fci, .fci_len = sizeof fci};
    assert_int_equal(rtp_bwe_on_feedback(bwe, &fb, 1000), -EINVAL);
    fb.fmt = RTCP_FMT_TWCC; /* 5 small received need 5 delta bytes: there are none */
    assert_int_equal(rtp_bwe_on_feedback(bwe, &fb, 1000), -EINVAL);
    assert_int_equal(rtp_bwe_estimate_bps(bwe), 500000);

    /* Well formed, about packets never sent: ignored. */
    const uint8_t ok[] = {0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x10, 0x00,
                          0x20, 0x05, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00};
    fb.fci = ok;
    fb.fci_len = sizeof ok;
    assert_int_equal(rtp_bwe_on_feedback(bwe, &fb, 1000), 0);
    assert_int_equal(rtp_bwe_estimate_bps(bwe), 500000);
    assert_int_equal(bwe->loss_total, 0);
    free(bwe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_clamps_and_bad_feedback),
        cmocka_unit_test(test_converges_to_link_capacity),
        cmocka_unit_test(test_follows_a_capacity_drop),
        cmocka_unit_test(test_clean_fast_link_grows_to_max),
        cmocka_unit_test(test_policer_is_not_overestimated),
        cmocka_unit_test(test_heavy_loss_lowers_the_estimate),
        cmocka_unit_test(test_light_loss_does_not_lower_it),
        cmocka_unit_test(test_moderate_loss_holds_at_call_rates),
        cmocka_unit_test(test_sequence_wrap_changes_nothing),
    };
    return cmocka_run_group_tests_name("bwe", tests, NULL, NULL);
}
