/* rtp/rtp_rx_stats.c: receiver statistics of one stream (RFC 3550 A.1, A.3, A.8). */
#include "rtp/rtp_rx_stats.h"

#include <string.h>

void rtp_rx_stats_init(rtp_rx_stats_t *rx)
{
    memset(rx, 0, sizeof *rx);
}

void rtp_rx_stats_update(rtp_rx_stats_t *rx, uint16_t seq, uint32_t ts, uint32_t arrival)
{
    if (!rx->started) {
        rx->started = true;
        rx->base_seq = rx->max_seq = seq;
    } else if ((uint16_t)(seq - rx->max_seq) < 0x8000) { /* in order, maybe after a gap */
        if (seq < rx->max_seq)
            rx->cycles += 65536;
        rx->max_seq = seq;
    }
    rx->received++;
    /* RFC 3550 A.8: interarrival jitter, in timestamp units. */
    uint32_t transit = arrival - ts;
    if (rx->received > 1) {
        int32_t d = (int32_t)(transit - rx->last_transit);
        rx->jitter += ((d < 0 ? -(double)d : (double)d) - rx->jitter) / 16.0;
    }
    rx->last_transit = transit;
}

void rtp_rx_stats_on_sr(rtp_rx_stats_t *rx, uint64_t ntp, uint64_t now_ms)
{
    rx->last_sr = (uint32_t)(ntp >> 16);
    rx->last_sr_at_ms = now_ms ? now_ms : 1;
}

uint32_t rtp_rx_stats_ext_max(const rtp_rx_stats_t *rx)
{
    return rx->cycles + rx->max_seq;
}

void rtp_rx_stats_report(rtp_rx_stats_t *rx, uint32_t ssrc, uint64_t now_ms,
                         rtcp_report_block_t *out)
{
    uint32_t ext_max = rtp_rx_stats_ext_max(rx);
    uint64_t expected = rx->started ? (uint64_t)ext_max - rx->base_seq + 1 : 0;
    int64_t lost = (int64_t)expected - (int64_t)rx->received;
    /* RFC 3550 6.4.1: cumulative lost is a 24-bit signed count, clamped. */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    else if (lost < -0x800000)
        lost = -0x800000;
    uint64_t exp_int = expected - rx->expected_prior;
    uint64_t rec_int = rx->received - rx->received_prior;
    rx->expected_prior = expected;
    rx->received_prior = rx->received;
    int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;
    memset(out, 0, sizeof *out);
    out->ssrc = ssrc;
    out->fraction_lost =
        exp_int == 0 || lost_int <= 0 ? 0 : (uint8_t)((lost_int << 8) / (int64_t)exp_int);
    out->cumulative_lost = (int32_t)lost;
    out->highest_seq = ext_max;
    out->jitter = (uint32_t)rx->jitter;
    out->lsr = rx->last_sr_at_ms ? rx->last_sr : 0;
    /* DLSR in 1/65536 s since that SR arrived. */
    out->dlsr = rx->last_sr_at_ms && now_ms >= rx->last_sr_at_ms
                    ? (uint32_t)((now_ms - rx->last_sr_at_ms) * 65536 / 1000)
                    : 0;
}
