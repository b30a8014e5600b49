/* Fuzz target: transport-cc feedback from a subscriber (untrusted) through the
 * parser and the downlink estimator, and the recorder's feedback read back.
 *   make fuzz-build; build/fuzz/fuzz_twcc -max_total_time=60
 * Byte 0 even: the rest is an RTCP compound; every transport-cc message in it
 * goes to rtp_twcc_parse and to an estimator that sent 3,000 packets. Byte 0
 * odd: the rest is (seq hi, seq lo, arrival step) records fed to a recorder;
 * every feedback it builds must parse back, statuses in order. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtp.h"
#include "rtp/rtp_bwe.h"
#include "rtp/rtp_twcc.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct walk {
    int count;
    uint16_t next;
} walk_t;

static void on_status(void *ctx, const rtp_twcc_status_t *st)
{
    walk_t *w = ctx;
    if (w->count)
        CHECK(st->seq == w->next); /* consecutive sequence numbers */
    w->next = (uint16_t)(st->seq + 1);
    w->count++;
}

static void fuzz_feedback(const uint8_t *data, size_t size)
{
    static rtp_bwe_t bwe;
    rtp_bwe_init(&bwe, 500000, 50000, 5000000);
    for (uint16_t s = 0; s < 3000; s++)
        rtp_bwe_on_sent(&bwe, s, 1000, 1000000 + (uint64_t)s * 2000);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return;
    memcpy(buf, data, size);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_iter_init(&it, buf, size);
    while (rtcp_iter_next(&it, &pkt) == 1) {
        rtcp_fb_t fb;
        if (rtcp_parse_fb(&pkt, &fb) || fb.pt != RTCP_PT_RTPFB || fb.fmt != RTCP_FMT_TWCC)
            continue;
        walk_t w = {0};
        int n = rtp_twcc_parse(&fb, on_status, &w);
        CHECK(n < 0 ? w.count == 0 : w.count == n);
        rtp_bwe_on_feedback(&bwe, &fb, 8000000);
        uint64_t est = rtp_bwe_estimate_bps(&bwe);
        CHECK(est >= 50000 && est <= 5000000);
    }
    free(buf);
}

static void fuzz_recorder(const uint8_t *data, size_t size)
{
    static rtp_twcc_recorder_t rec;
    rtp_twcc_recorder_init(&rec);
    uint64_t t = 1000000;
    uint8_t out[1200];
    for (size_t off = 0; off + 3 <= size; off += 3) {
        t += data[off + 2] * 100u;
        rtp_twcc_recorder_add(&rec, (uint16_t)(data[off] << 8 | data[off + 1]), t);
        if (data[off + 2] % 7)
            continue;
        int n = rtp_twcc_recorder_build(&rec, 1, 2, out, 24 + data[off + 2] * 4u);
        if (n <= 0)
            continue;
        rtcp_iter_t it;
        rtcp_packet_t pkt;
        rtcp_fb_t fb;
        rtcp_iter_init(&it, out, (size_t)n);
        CHECK(rtcp_iter_next(&it, &pkt) == 1);
        CHECK(rtcp_parse_fb(&pkt, &fb) == 0);
        walk_t w = {0};
        CHECK(rtp_twcc_parse(&fb, on_status, &w) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_feedback(data + 1, size - 1);
    else
        fuzz_recorder(data + 1, size - 1);
    return 0;
}
