/* Fuzz target: the live RTCP and RTP path of the media model (sfu/room.h), the
 * code a subscriber's or publisher's decrypted packets reach on a worker.
 *   make fuzz-build     (build/fuzz/fuzz_rtcp_path, clang -fsanitize=fuzzer,...)
 *   build/fuzz/fuzz_rtcp_path -max_total_time=60
 * One room: publisher legs A and B (a video and an audio producer each,
 * with extension ids), subscriber legs C and D consuming all of them. The
 * input is a sequence of records: [leg 0-3][kind: even RTCP, odd RTP]
 * [len hi][len lo][bytes...]; each is fed to that leg at a growing time.
 * Invariants: nothing crashes or reads out of bounds, and no packet that a
 * leg sends carries a publisher's SSRC (or RTX SSRC) to a subscriber. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtp.h"
#include "sfu/room.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define SCRATCH_CAP 1600

static const uint32_t publisher_ssrcs[4] = {0x1000, 0x1001, 0x2000, 0x2001};
static const uint32_t publisher_rtx_ssrcs[2] = {0x1002, 0x2002};

static int sink_rtp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    (void)ctx;
    CHECK(len <= cap);
    rtp_packet_t p;
    CHECK(rtp_packet_parse(&p, pkt, len) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(p.ssrc != publisher_ssrcs[i]);
    for (int i = 0; i < 2; i++)
        CHECK(p.ssrc != publisher_rtx_ssrcs[i]);
    return 0;
}

static int sink_rtcp(void *ctx, uint8_t *pkt, size_t len, size_t cap)
{
    (void)ctx;
    CHECK(len <= cap);
    rtcp_iter_t it;
    rtcp_packet_t p;
    rtcp_iter_init(&it, pkt, len);
    while (rtcp_iter_next(&it, &p) == 1)
        ;
    return 0;
}

static const sfu_leg_io_t sink_io = {.send_rtp = sink_rtp, .send_rtcp = sink_rtcp};

static uint64_t fixed_ntp(void)
{
    return 0xe000000000000000ull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfu_media_stats_t stats;
    static uint8_t scratch[SCRATCH_CAP];
    sfu_room_env_t env = {
        .stats = &stats, .scratch = scratch, .scratch_cap = sizeof scratch, .now_ntp = fixed_ntp};
    sfu_room_t *r = sfu_room_new(1, &env);
    sfu_leg_t *legs[4];
    for (int i = 0; i < 4; i++) {
        legs[i] = sfu_leg_new(r, (uint64_t)i + 1, &sink_io, NULL);
        sfu_leg_set_connected(legs[i], true, 1);
    }
    rtp_ext_ids_t sub_ext = {.id = {[RTP_EXT_AUDIO_LEVEL] = 1,
                                    [RTP_EXT_ABS_SEND_TIME] = 2,
                                    [RTP_EXT_TWCC] = 3,
                                    [RTP_EXT_MID] = 4}};
    sfu_leg_set_ext_ids(legs[2], &sub_ext);
    for (int i = 0; i < 4; i++) {
        sfu_producer_params_t pp = {.id = 10 + (uint64_t)i,
                                    .ssrc = publisher_ssrcs[i],
                                    .video = i % 2 == 0,
                                    .pt = i % 2 ? 111 : 96,
                                    .clock_hz = i % 2 ? 48000 : 90000,
                                    .ext = {.id = {[RTP_EXT_AUDIO_LEVEL] = 9,
                                                   [RTP_EXT_ABS_SEND_TIME] = 3,
                                                   [RTP_EXT_TWCC] = 5,
                                                   [RTP_EXT_MID] = 14}},
                                    /* Video: RTX (RFC 4588) on its own SSRC. */
                                    .rtx_pt = i % 2 ? 0 : 97,
                                    .rtx_ssrc = i % 2 ? 0 : publisher_rtx_ssrcs[i / 2]};
        CHECK(sfu_producer_new(r, legs[i / 2], &pp, NULL) == 0);
        for (int s = 0; s < 2; s++) {
            sfu_consumer_params_t cp = {.id = 100 + (uint64_t)(i * 2 + s),
                                        .ssrc = 0x9000u + (uint32_t)(i * 2 + s)};
            memcpy(cp.mid, s ? "12345" : "7", s ? 6 : 2);
            CHECK(sfu_consumer_new(r, pp.id, legs[2 + s], &cp, 1, NULL) == 0);
        }
    }
    uint64_t now = 1000;
    uint8_t *pkt = NULL;
    for (size_t off = 0; off + 4 <= size;) {
        int leg = data[off] % 4;
        bool rtp = data[off + 1] & 1;
        size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        if (len > size - off)
            len = size - off;
        if (len > 1500)
            len = 1500;
        /* Exactly len bytes, so that the sanitizer sees a read past the end. */
        pkt = malloc(len ? len : 1);
        if (!pkt)
            break;
        memcpy(pkt, data + off, len);
        off += len;
        now += len % 200;
        if (rtp)
            sfu_leg_receive_rtp(legs[leg], pkt, len, now);
        else
            sfu_leg_receive_rtcp(legs[leg], pkt, len, now);
        free(pkt);
        if (data[off - 1] == 0xEE) /* now and then a subscriber pauses or resumes */
            sfu_room_consumer_pause(r, 100 + (uint64_t)(now % 8), now % 2, now);
    }
    sfu_room_free(r);
    return 0;
}
