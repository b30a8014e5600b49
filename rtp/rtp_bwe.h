/* rtp/rtp_bwe.h: a downlink bandwidth estimator for one subscriber, fed by that
 * subscriber's transport-wide congestion control feedback (rtp_twcc.h) about the
 * packets this node sent it. GCC (draft-ietf-rmcat-gcc-02), simplified, with
 * libwebrtc's trendline filter in place of the draft's Kalman filter. Pure
 * state: no I/O, no allocation, one thread.
 *
 * The caller records every packet it sends with a transport-wide sequence
 * number (rtp_bwe_on_sent), hands over every feedback message
 * (rtp_bwe_on_feedback) and reads the estimate (rtp_bwe_estimate_bps).
 *
 * (a) Delay-based detection. Packets acknowledged as received are grouped by
 *     send time into bursts of 5 ms (a group closes when a packet is sent more
 *     than 5 ms after the group's first). Between two consecutive groups,
 *     d = (arrival delta) - (send delta) of their last packets is the change in
 *     queueing delay. The trendline filter accumulates d, smooths it
 *     (exponential, 0.9) and fits a least-squares line through the last 20
 *     (arrival time, smoothed delay) points; its slope times min(groups, 60)
 *     times 4 is compared with an adaptive threshold gamma (initially 12.5,
 *     kept in [6, 600]; it moves toward |trend| at 0.039/ms when below it and
 *     0.0087/ms when above, and ignores outliers 15 beyond it). Above gamma for
 *     more than 10 ms and two groups, with the trend not falling: overuse;
 *     below -gamma: underuse; otherwise normal.
 * (b) Rate control, once per feedback. Overuse: estimate = 0.85 x the
 *     acknowledged receive rate (or 0.85 x the estimate while that rate is not
 *     known yet), at most once per 200 ms, and never upward; that rate also
 *     feeds the link capacity (exponential average of the rates at overuse).
 *     Normal: increase by 8 %/s while far from the link capacity (unknown, or
 *     the estimate below 0.8 x it), additively near it (about one packet per
 *     frame interval per 200 ms response time, at least 4 kbit/s per second); a
 *     receive rate 1.25 x beyond the capacity forgets the capacity. Underuse:
 *     hold (the queue drains).
 * (c) Loss-based. Losses and receipts first reported in the feedback of the
 *     last 200 ms or more (at least 10 packets) give that window's loss
 *     fraction; p is its moving average (each window weighs 0.2, so p spans
 *     about a second: a window of a few dozen packets that sees 10 % of a 5 %
 *     loss by chance does not count as congestion), except that a window
 *     over 25 % counts at once (p is then that window's): p > 10 %:
 *     estimate *= 1 - 0.5 p, and no higher than 1.25 x the acknowledged
 *     receive rate (losing that much, the link carries not much more than
 *     arrived: a policer builds no queue, and a probe its bucket let through
 *     for a moment must not hold the estimate above it; the margin keeps a
 *     sender below its estimate from being cut to its own rate by random
 *     loss);
 *     2 % <= p <= 10 %: no increase; p < 2 %: increases allowed.
 *     A packet reported lost then received counts as received.
 * (d) The estimate stays in [min, max], and once the acknowledged receive
 *     rate is known (500 ms of receive-time history, 50 ms buckets, at least
 *     300 ms seen) it rises no higher than 1.5 x that rate + 10 kbit/s; it is
 *     never lowered to that bound (a sender that sends less than the estimate,
 *     application limited or capped by this estimate's own REMB, does not drag
 *     it down).
 * (e) In the normal state with loss under 2 %, an acknowledged receive rate
 *     above the estimate raises the estimate to it: the link carried that much
 *     (the result of a padding probe, or of a sender that outran the
 *     estimate).
 *
 * Receive times are in the feedback sender's clock and only their differences
 * are used; the 24-bit reference time's wrap (about 12.4 days) is undone here. */
#ifndef SFU_RTP_RTP_BWE_H
#define SFU_RTP_RTP_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

/* Sent packets remembered: feedback about anything older is ignored. */
#define RTP_BWE_HISTORY          2048
#define RTP_BWE_TRENDLINE_WINDOW 20
#define RTP_BWE_RATE_BUCKETS     16

typedef enum rtp_bwe_signal {
    RTP_BWE_NORMAL,
    RTP_BWE_OVERUSE,
    RTP_BWE_UNDERUSE,
} rtp_bwe_signal_t;

typedef struct rtp_bwe_sent {
    int64_t seq; /* unwrapped; -1: empty */
    uint64_t send_us;
    uint32_t size_bytes;
    uint8_t state; /* not yet reported, reported lost, received */
} rtp_bwe_sent_t;

/* Packets sent within 5 ms of the first. */
typedef struct rtp_bwe_group {
    bool valid;
    int64_t first_send_us, last_send_us;
    int64_t last_recv_us; /* the latest arrival in the group */
} rtp_bwe_group_t;

/* Embed by value (about 50 KB); fields are internal, read them only in tests. */
typedef struct rtp_bwe {
    uint64_t min_bps, max_bps;
    double estimate_bps;

    bool sent_started;
    int64_t sent_max_seq;
    rtp_bwe_sent_t sent[RTP_BWE_HISTORY];

    bool recv_started;
    int64_t last_recv_us; /* unwrapped, shifted positive */

    /* (a) */
    rtp_bwe_group_t group, prev_group;
    int num_deltas;
    double accumulated_delay_ms, smoothed_delay_ms;
    int64_t first_arrival_us;
    double window_x_ms[RTP_BWE_TRENDLINE_WINDOW], window_y_ms[RTP_BWE_TRENDLINE_WINDOW];
    int window_len, window_pos;
    double prev_trend, threshold;
    int64_t threshold_updated_us; /* -1: never */
    double overuse_time_ms;       /* -1: not over the threshold */
    int overuse_count;
    rtp_bwe_signal_t hypothesis;
    bool overuse_seen; /* in the feedback being processed */

    /* (b) */
    uint64_t last_update_us, last_decrease_us;
    bool updated, decreased;
    double link_capacity_bps; /* 0: unknown */

    /* (d) acknowledged receive rate, by receive time */
    bool rate_started;
    int64_t rate_first_bucket, rate_newest_bucket, rate_latest_recv_us;
    int64_t bucket_id[RTP_BWE_RATE_BUCKETS];
    uint64_t bucket_bytes[RTP_BWE_RATE_BUCKETS];

    /* (c) */
    uint32_t loss_lost, loss_total;
    uint64_t loss_window_start_us;
    bool loss_window_started;
    double loss_fraction;
} rtp_bwe_t;

/* min_bps <= start_bps <= max_bps is enforced by clamping start_bps. */
void rtp_bwe_init(rtp_bwe_t *bwe, uint64_t start_bps, uint64_t min_bps, uint64_t max_bps);
/* A packet carrying transport-wide sequence number transport_seq left at
 * send_time_us (a monotonic clock; the same one as now_us below). */
void rtp_bwe_on_sent(rtp_bwe_t *bwe, uint16_t transport_seq, size_t size_bytes,
                     uint64_t send_time_us);
/* One transport-cc feedback message (RTPFB FMT 15) from the subscriber. 0, or
 * -EINVAL when it is not one or is malformed (then nothing changes). */
int rtp_bwe_on_feedback(rtp_bwe_t *bwe, const rtcp_fb_t *fb, uint64_t now_us);
uint64_t rtp_bwe_estimate_bps(const rtp_bwe_t *bwe);
/* The acknowledged receive rate, 0 while not known. */
uint64_t rtp_bwe_acked_bps(const rtp_bwe_t *bwe);
/* The delay-based detector's last state. */
rtp_bwe_signal_t rtp_bwe_signal(const rtp_bwe_t *bwe);

#endif
