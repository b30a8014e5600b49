/* Unit tests: active speaker detection (sfu/speaker.h) on synthetic level
 * sequences: 50 packets a second per producer, levels in -dBov. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sfu/speaker.h"

#define A 11
#define B 12
#define C 13

/* ms of audio at 20 ms a packet with these levels; returns the times (ms
 * from start) at which the speaker changed, up to 8, and their producers. */
typedef struct run {
    sfu_speaker_t s;
    uint64_t now_ms;
    int changes;
    uint64_t change_at[8], change_to[8];
    int evaluations;
} run_t;

static void play(run_t *r, int ms, int level_a, int level_b, int level_c)
{
    for (int t = 0; t < ms; t += 20) {
        r->now_ms += 20;
        int levels[3] = {level_a, level_b, level_c};
        uint64_t ids[3] = {A, B, C};
        for (int i = 0; i < 3; i++) {
            if (levels[i] >= 0)
                sfu_speaker_level(&r->s, ids[i], (uint8_t)levels[i]);
        }
        bool changed;
        if (sfu_speaker_evaluate(&r->s, r->now_ms, &changed)) {
            r->evaluations++;
            if (changed && r->changes < 8) {
                r->change_at[r->changes] = r->now_ms;
                r->change_to[r->changes++] = r->s.active;
            }
        }
    }
}

static void setup_run(run_t *r)
{
    *r = (run_t){.now_ms = 1000};
    sfu_speaker_init(&r->s);
    sfu_speaker_add(&r->s, A);
    sfu_speaker_add(&r->s, B);
    sfu_speaker_add(&r->s, C);
}

static void test_one_speaker_is_found_within_a_second(void **state)
{
    (void)state;
    run_t r;
    setup_run(&r);
    play(&r, 3000, 30, 127, 120); /* A talks, B silent, C background hum */
    assert_int_equal(r.changes, 1);
    assert_int_equal(r.change_to[0], A);
    assert_true(r.change_at[0] - 1000 <= 1000);
    /* Four reports a second. */
    assert_true(r.evaluations >= 11 && r.evaluations <= 13);
}

static void test_the_switch_follows_and_does_not_flap(void **state)
{
    (void)state;
    run_t r;
    setup_run(&r);
    play(&r, 2000, 30, 127, 127);
    play(&r, 3000, 127, 35, 127); /* A stops, B starts */
    assert_int_equal(r.changes, 2);
    assert_int_equal(r.change_to[1], B);
    assert_true(r.change_at[1] - 3000 <= 1000);
    /* A cough from C (one interval) while B talks moves nothing. */
    play(&r, 260, 127, 35, 10);
    play(&r, 2000, 127, 35, 127);
    assert_int_equal(r.changes, 2);
    /* Two talking at once: the louder holds; similar loudness does not steal it. */
    play(&r, 3000, 37, 35, 127);
    assert_int_equal(r.changes, 2);
    assert_int_equal(r.s.active, B);
}

static void test_silence_keeps_the_last_speaker(void **state)
{
    (void)state;
    run_t r;
    setup_run(&r);
    play(&r, 2000, 127, 30, 127);
    play(&r, 5000, 127, 127, 127);
    assert_int_equal(r.changes, 1);
    assert_int_equal(r.s.active, B);
    /* Muted (no packets at all) is silence too: A takes over. */
    play(&r, 2000, 40, -1, -1);
    assert_int_equal(r.changes, 2);
    assert_int_equal(r.s.active, A);
}

static void test_a_removed_producer_is_forgotten(void **state)
{
    (void)state;
    run_t r;
    setup_run(&r);
    play(&r, 2000, 127, 127, 30);
    assert_int_equal(r.s.active, C);
    sfu_speaker_remove(&r.s, C);
    assert_int_equal(r.s.count, 2);
    play(&r, 2000, 50, 127, 20); /* C's packets no longer count */
    assert_int_equal(r.s.active, A);
    /* Adding the same producer twice keeps one entry. */
    sfu_speaker_add(&r.s, A);
    assert_int_equal(r.s.count, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_speaker_is_found_within_a_second),
        cmocka_unit_test(test_the_switch_follows_and_does_not_flap),
        cmocka_unit_test(test_silence_keeps_the_last_speaker),
        cmocka_unit_test(test_a_removed_producer_is_forgotten),
    };
    return cmocka_run_group_tests_name("speaker", tests, NULL, NULL);
}
