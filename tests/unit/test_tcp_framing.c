/* Unit tests: RFC 4571 framing of ICE-TCP streams. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ice/tcp_framing.h"

typedef struct got {
    int count;
    size_t lens[8];
    uint8_t data[8][64];
    int stop_after;
} got_t;

static int collect(void *ctx, uint8_t *pkt, size_t len)
{
    got_t *g = ctx;
    if (g->count < 8) {
        g->lens[g->count] = len;
        memcpy(g->data[g->count], pkt, len < 64 ? len : 64);
    }
    g->count++;
    return g->stop_after && g->count == g->stop_after ? -ECANCELED : 0;
}

static void test_whole_split_and_joined_frames(void **state)
{
    (void)state;
    static ice_tcp_framer_t f;
    got_t g = {0};
    const uint8_t stream[] = {0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'x', 'y', 0, 1, 'z'};
    ice_tcp_framer_init(&f);
    /* All at once: three frames, the empty one skipped. */
    assert_int_equal(ice_tcp_framer_feed(&f, stream, sizeof stream, collect, &g), 0);
    assert_int_equal(g.count, 3);
    assert_int_equal(g.lens[0], 3);
    assert_memory_equal(g.data[0], "abc", 3);
    assert_memory_equal(g.data[1], "xy", 2);
    assert_memory_equal(g.data[2], "z", 1);
    /* A byte at a time: the same three. */
    memset(&g, 0, sizeof g);
    for (size_t i = 0; i < sizeof stream; i++)
        assert_int_equal(ice_tcp_framer_feed(&f, stream + i, 1, collect, &g), 0);
    assert_int_equal(g.count, 3);
    assert_memory_equal(g.data[1], "xy", 2);
}

static void test_oversized_frame_is_refused(void **state)
{
    (void)state;
    static ice_tcp_framer_t f;
    got_t g = {0};
    uint8_t hdr[2];
    assert_int_equal(ice_tcp_frame_header(hdr, ICE_TCP_MAX_FRAME + 1), 0);
    ice_tcp_framer_init(&f);
    assert_int_equal(ice_tcp_framer_feed(&f, hdr, 2, collect, &g), -EMSGSIZE);
    assert_int_equal(g.count, 0);
    /* The largest frame taken passes. */
    static uint8_t big[2 + ICE_TCP_MAX_FRAME];
    assert_int_equal(ice_tcp_frame_header(big, ICE_TCP_MAX_FRAME), 0);
    ice_tcp_framer_init(&f);
    assert_int_equal(ice_tcp_framer_feed(&f, big, sizeof big, collect, &g), 0);
    assert_int_equal(g.count, 1);
    assert_int_equal(g.lens[0], ICE_TCP_MAX_FRAME);
    assert_int_equal(ice_tcp_frame_header(hdr, 65536), -EMSGSIZE);
}

static void test_callback_stops_the_feed(void **state)
{
    (void)state;
    static ice_tcp_framer_t f;
    got_t g = {.stop_after = 1};
    const uint8_t stream[] = {0, 1, 'a', 0, 1, 'b'};
    ice_tcp_framer_init(&f);
    assert_int_equal(ice_tcp_framer_feed(&f, stream, sizeof stream, collect, &g), -ECANCELED);
    assert_int_equal(g.count, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_split_and_joined_frames),
        cmocka_unit_test(test_oversized_frame_is_refused),
        cmocka_unit_test(test_callback_stops_the_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
