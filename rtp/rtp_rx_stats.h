/* rtp/rtp_rx_stats.h: what a receiver knows of one incoming RTP stream, for
 * its receiver reports (RFC 3550 6.4.1, A.1, A.3, A.8). Pure arithmetic on
 * sequence numbers, timestamps and arrival times: no I/O, no allocation. */
#ifndef SFU_RTP_RTP_RX_STATS_H
#define SFU_RTP_RTP_RX_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "rtp/rtp.h"

typedef struct rtp_rx_stats {
    bool started;
    uint16_t max_seq;
    uint32_t cycles;   /* sequence wraps, times 65536 */
    uint32_t base_seq; /* the first sequence number received */
    uint64_t received;
    uint64_t expected_prior, received_prior; /* at the previous report */
    double jitter;                           /* in timestamp units */
    uint32_t last_transit;
    uint32_t last_sr;       /* middle 32 bits of the last sender report's NTP time */
    uint64_t last_sr_at_ms; /* when it arrived (0: none yet) */
} rtp_rx_stats_t;

void rtp_rx_stats_init(rtp_rx_stats_t *rx);
/* One packet received. arrival is the arrival time in the stream's timestamp
 * units (any origin, the same for every call). */
void rtp_rx_stats_update(rtp_rx_stats_t *rx, uint16_t seq, uint32_t ts, uint32_t arrival);
/* A sender report of the stream arrived at now_ms (its 64-bit NTP time). */
void rtp_rx_stats_on_sr(rtp_rx_stats_t *rx, uint64_t ntp, uint64_t now_ms);
/* The extended highest sequence number received (RFC 3550 A.1). */
uint32_t rtp_rx_stats_ext_max(const rtp_rx_stats_t *rx);
/* Fills a report block about ssrc as of now_ms, and starts a new interval for
 * the fraction lost. */
void rtp_rx_stats_report(rtp_rx_stats_t *rx, uint32_t ssrc, uint64_t now_ms,
                         rtcp_report_block_t *out);

#endif
