/* rtp/rtp_bwe.c: downlink bandwidth estimation from transport-cc feedback
 * (the design is in rtp_bwe.h). */
#include "rtp/rtp_bwe.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "rtp/rtp_twcc.h"

enum { SENT_UNREPORTED = 0, SENT_LOST = 1, SENT_RECEIVED = 2 };

#define BWE_SEQ_ORIGIN ((int64_t)1 << 32) /* a multiple of 2^16 */
/* 3.1 of the transport-cc draft: 24-bit reference time in 64 ms units. */
#define BWE_RECV_WRAP_US ((int64_t)64000 << 24)

#define BWE_GROUP_US         5000
#define BWE_SMOOTHING        0.9
#define BWE_TREND_GAIN       4.0
#define BWE_MAX_DELTAS       60
#define BWE_OVERUSE_TIME_MS  10.0
#define BWE_THRESHOLD_START  12.5
#define BWE_THRESHOLD_MIN    6.0
#define BWE_THRESHOLD_MAX    600.0
#define BWE_K_UP             0.0087
#define BWE_K_DOWN           0.039
#define BWE_MAX_ADAPT_MS     100.0
#define BWE_OUTLIER          15.0
#define BWE_BETA             0.85
#define BWE_DECREASE_US      200000
#define BWE_MULT_PER_S       1.08
#define BWE_NEAR_CAPACITY    0.8
#define BWE_BEYOND_CAPACITY  1.25
#define BWE_RESPONSE_S       0.2
#define BWE_MIN_ADDITIVE_BPS 4000.0
#define BWE_MAX_UPDATE_US    500000
#define BWE_LOSS_WINDOW_US   200000
#define BWE_LOSS_MIN_PACKETS 10
#define BWE_LOSS_WEIGHT      0.2 /* of each window in the moving average */
#define BWE_LOSS_HEAVY       0.25
#define BWE_LOSS_HIGH        0.10
#define BWE_LOSS_LOW         0.02
#define BWE_LOSS_BOUND       1.25 /* x the acknowledged rate, over BWE_LOSS_HIGH */
#define BWE_ACKED_FACTOR     1.5
#define BWE_ACKED_MARGIN_BPS 10000.0
#define BWE_BUCKET_US        50000
#define BWE_RATE_BUCKETS     10 /* 500 ms */
#define BWE_RATE_MIN_SPAN_US 300000

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void rtp_bwe_init(rtp_bwe_t *bwe, uint64_t start_bps, uint64_t min_bps, uint64_t max_bps)
{
    memset(bwe, 0, sizeof *bwe);
    if (max_bps < min_bps)
        max_bps = min_bps;
    bwe->min_bps = min_bps;
    bwe->max_bps = max_bps;
    bwe->estimate_bps = (double)(start_bps < min_bps   ? min_bps
                                 : start_bps > max_bps ? max_bps
                                                       : start_bps);
    for (size_t i = 0; i < RTP_BWE_HISTORY; i++)
        bwe->sent[i].seq = -1;
    for (size_t i = 0; i < RTP_BWE_RATE_BUCKETS; i++)
        bwe->bucket_id[i] = -1;
    bwe->threshold = BWE_THRESHOLD_START;
    bwe->threshold_updated_us = -1;
    bwe->overuse_time_ms = -1;
    bwe->hypothesis = RTP_BWE_NORMAL;
}

static int64_t sent_unwrap(const rtp_bwe_t *bwe, uint16_t seq)
{
    if (!bwe->sent_started)
        return BWE_SEQ_ORIGIN + seq;
    return bwe->sent_max_seq + (int16_t)(uint16_t)(seq - (uint16_t)bwe->sent_max_seq);
}

void rtp_bwe_on_sent(rtp_bwe_t *bwe, uint16_t transport_seq, size_t size_bytes,
                     uint64_t send_time_us)
{
    int64_t s = sent_unwrap(bwe, transport_seq);
    if (!bwe->sent_started || s > bwe->sent_max_seq)
        bwe->sent_max_seq = s;
    bwe->sent_started = true;
    rtp_bwe_sent_t *p = &bwe->sent[s % RTP_BWE_HISTORY];
    p->seq = s;
    p->send_us = send_time_us;
    p->size_bytes = size_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)size_bytes;
    p->state = SENT_UNREPORTED;
}

/* ---- (d) acknowledged receive rate ---- */

static void rate_add(rtp_bwe_t *bwe, int64_t recv_us, uint32_t bytes)
{
    int64_t id = floor_div(recv_us, BWE_BUCKET_US);
    if (!bwe->rate_started) {
        bwe->rate_started = true;
        bwe->rate_first_bucket = bwe->rate_newest_bucket = id;
        bwe->rate_latest_recv_us = recv_us;
    }
    if (id <= bwe->rate_newest_bucket - RTP_BWE_RATE_BUCKETS)
        return; /* older than the ring */
    if (id > bwe->rate_newest_bucket)
        bwe->rate_newest_bucket = id;
    if (recv_us > bwe->rate_latest_recv_us)
        bwe->rate_latest_recv_us = recv_us;
    size_t i = (size_t)(id % RTP_BWE_RATE_BUCKETS);
    if (bwe->bucket_id[i] != id) {
        bwe->bucket_id[i] = id;
        bwe->bucket_bytes[i] = 0;
    }
    bwe->bucket_bytes[i] += bytes;
}

uint64_t rtp_bwe_acked_bps(const rtp_bwe_t *bwe)
{
    if (!bwe->rate_started)
        return 0;
    int64_t oldest = bwe->rate_newest_bucket - (BWE_RATE_BUCKETS - 1);
    if (oldest < bwe->rate_first_bucket)
        oldest = bwe->rate_first_bucket;
    int64_t span_us = bwe->rate_latest_recv_us - oldest * BWE_BUCKET_US;
    if (span_us < BWE_RATE_MIN_SPAN_US)
        return 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < RTP_BWE_RATE_BUCKETS; i++)
        if (bwe->bucket_id[i] >= oldest && bwe->bucket_id[i] <= bwe->rate_newest_bucket)
            bytes += bwe->bucket_bytes[i];
    return bytes * 8 * 1000000 / (uint64_t)span_us;
}

/* ---- (a) delay-based detection ---- */

static void threshold_update(rtp_bwe_t *bwe, double modified_trend, int64_t now_us)
{
    if (bwe->threshold_updated_us < 0)
        bwe->threshold_updated_us = now_us;
    double abs_trend = fabs(modified_trend);
    if (abs_trend > bwe->threshold + BWE_OUTLIER) {
        bwe->threshold_updated_us = now_us; /* a spike: do not chase it */
        return;
    }
    double k = abs_trend < bwe->threshold ? BWE_K_DOWN : BWE_K_UP;
    double dt_ms = (double)(now_us - bwe->threshold_updated_us) / 1000.0;
    if (dt_ms > BWE_MAX_ADAPT_MS)
        dt_ms = BWE_MAX_ADAPT_MS;
    if (dt_ms < 0)
        dt_ms = 0;
    bwe->threshold += k * (abs_trend - bwe->threshold) * dt_ms;
    bwe->threshold = fmin(fmax(bwe->threshold, BWE_THRESHOLD_MIN), BWE_THRESHOLD_MAX);
    bwe->threshold_updated_us = now_us;
}

static void detect(rtp_bwe_t *bwe, double trend, double send_delta_ms, int64_t now_us)
{
    if (bwe->num_deltas < 2) {
        bwe->hypothesis = RTP_BWE_NORMAL;
        return;
    }
    int n = bwe->num_deltas < BWE_MAX_DELTAS ? bwe->num_deltas : BWE_MAX_DELTAS;
    double modified = n * trend * BWE_TREND_GAIN;
    if (modified > bwe->threshold) {
        /* Over the threshold for long enough, and still rising: overuse. */
        if (bwe->overuse_time_ms < 0)
            bwe->overuse_time_ms = send_delta_ms / 2;
        else
            bwe->overuse_time_ms += send_delta_ms;
        bwe->overuse_count++;
        if (bwe->overuse_time_ms > BWE_OVERUSE_TIME_MS && bwe->overuse_count > 1 &&
            trend >= bwe->prev_trend) {
            bwe->overuse_time_ms = 0;
            bwe->overuse_count = 0;
            bwe->hypothesis = RTP_BWE_OVERUSE;
            bwe->overuse_seen = true;
        }
    } else if (modified < -bwe->threshold) {
        bwe->overuse_time_ms = -1;
        bwe->overuse_count = 0;
        bwe->hypothesis = RTP_BWE_UNDERUSE;
    } else {
        bwe->overuse_time_ms = -1;
        bwe->overuse_count = 0;
        bwe->hypothesis = RTP_BWE_NORMAL;
    }
    bwe->prev_trend = trend;
    threshold_update(bwe, modified, now_us);
}

/* Least-squares slope of the window, or the previous trend when it is degenerate. */
static double trendline_slope(const rtp_bwe_t *bwe)
{
    double sx = 0, sy = 0;
    int n = bwe->window_len;
    for (int i = 0; i < n; i++) {
        sx += bwe->window_x_ms[i];
        sy += bwe->window_y_ms[i];
    }
    double mx = sx / n, my = sy / n, num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        double dx = bwe->window_x_ms[i] - mx;
        num += dx * (bwe->window_y_ms[i] - my);
        den += dx * dx;
    }
    return den == 0 ? bwe->prev_trend : num / den;
}

/* One inter-group delay variation d (ms), the later group ending at arrival_us. */
static void trendline_update(rtp_bwe_t *bwe, double delay_ms, double send_delta_ms,
                             int64_t arrival_us)
{
    if (bwe->num_deltas == 0)
        bwe->first_arrival_us = arrival_us;
    if (bwe->num_deltas < 1000)
        bwe->num_deltas++;
    bwe->accumulated_delay_ms += delay_ms;
    bwe->smoothed_delay_ms =
        BWE_SMOOTHING * bwe->smoothed_delay_ms + (1 - BWE_SMOOTHING) * bwe->accumulated_delay_ms;
    bwe->window_x_ms[bwe->window_pos] = (double)(arrival_us - bwe->first_arrival_us) / 1000.0;
    bwe->window_y_ms[bwe->window_pos] = bwe->smoothed_delay_ms;
    bwe->window_pos = (bwe->window_pos + 1) % RTP_BWE_TRENDLINE_WINDOW;
    if (bwe->window_len < RTP_BWE_TRENDLINE_WINDOW)
        bwe->window_len++;
    double trend = bwe->prev_trend;
    if (bwe->window_len == RTP_BWE_TRENDLINE_WINDOW)
        trend = trendline_slope(bwe);
    detect(bwe, trend, send_delta_ms, arrival_us);
}

/* A packet acknowledged as received, in transport sequence (= send) order. */
static void group_add(rtp_bwe_t *bwe, int64_t send_us, int64_t recv_us)
{
    rtp_bwe_group_t *g = &bwe->group;
    if (!g->valid) {
        *g = (rtp_bwe_group_t){true, send_us, send_us, recv_us};
        return;
    }
    if (send_us < g->first_send_us)
        return; /* sent before the current group: too late to place */
    if (send_us - g->first_send_us <= BWE_GROUP_US) {
        if (send_us > g->last_send_us)
            g->last_send_us = send_us;
        if (recv_us > g->last_recv_us)
            g->last_recv_us = recv_us;
        return;
    }
    /* g is complete. */
    const rtp_bwe_group_t *p = &bwe->prev_group;
    if (p->valid) {
        double send_delta_ms = (double)(g->last_send_us - p->last_send_us) / 1000.0;
        double recv_delta_ms = (double)(g->last_recv_us - p->last_recv_us) / 1000.0;
        trendline_update(bwe, recv_delta_ms - send_delta_ms, send_delta_ms, g->last_recv_us);
    }
    bwe->prev_group = *g;
    *g = (rtp_bwe_group_t){true, send_us, send_us, recv_us};
}

/* ---- feedback ---- */

/* The feedback's receive time on one continuous line: the 24-bit reference time
 * wraps every 2^24 x 64 ms; we take the turn closest to the last time seen. */
static int64_t recv_unwrap(rtp_bwe_t *bwe, int64_t recv_us)
{
    int64_t t = recv_us + BWE_RECV_WRAP_US; /* the wire value is >= -2^23 x 64 ms */
    if (bwe->recv_started)
        t += BWE_RECV_WRAP_US *
             floor_div(bwe->last_recv_us - t + BWE_RECV_WRAP_US / 2, BWE_RECV_WRAP_US);
    bwe->recv_started = true;
    bwe->last_recv_us = t;
    return t;
}

static void on_status(void *ctx, const rtp_twcc_status_t *st)
{
    rtp_bwe_t *bwe = ctx;
    if (!bwe->sent_started)
        return;
    int64_t s = sent_unwrap(bwe, st->seq);
    rtp_bwe_sent_t *p = &bwe->sent[s % RTP_BWE_HISTORY];
    if (p->seq != s)
        return; /* not sent, or forgotten */
    if (!st->received) {
        if (p->state == SENT_UNREPORTED) {
            p->state = SENT_LOST;
            bwe->loss_lost++;
            bwe->loss_total++;
        }
        return;
    }
    int64_t recv_us = recv_unwrap(bwe, st->recv_us);
    if (p->state == SENT_RECEIVED)
        return; /* reported again */
    if (p->state == SENT_UNREPORTED)
        bwe->loss_total++;
    else if (bwe->loss_lost > 0)
        bwe->loss_lost--; /* late, not lost */
    bool in_order = p->state == SENT_UNREPORTED;
    p->state = SENT_RECEIVED;
    rate_add(bwe, recv_us, p->size_bytes);
    if (in_order)
        group_add(bwe, (int64_t)p->send_us, recv_us);
}

/* (c): once the window holds enough, its loss fraction into the average, and
 * judge that. */
static void loss_update(rtp_bwe_t *bwe, uint64_t now_us, double acked)
{
    if (!bwe->loss_window_started) {
        bwe->loss_window_started = true;
        bwe->loss_window_start_us = now_us;
    }
    if (now_us - bwe->loss_window_start_us < BWE_LOSS_WINDOW_US ||
        bwe->loss_total < BWE_LOSS_MIN_PACKETS)
        return;
    double window = (double)bwe->loss_lost / bwe->loss_total;
    bwe->loss_fraction += BWE_LOSS_WEIGHT * (window - bwe->loss_fraction);
    /* A window this lossy is congestion, not chance: it counts at once. */
    double p = window > BWE_LOSS_HEAVY ? window : bwe->loss_fraction;
    if (p > BWE_LOSS_HIGH) {
        bwe->estimate_bps *= 1 - 0.5 * p;
        /* Losing that much, the link carries not much more than arrived. */
        if (acked > 0 && bwe->estimate_bps > BWE_LOSS_BOUND * acked)
            bwe->estimate_bps = BWE_LOSS_BOUND * acked;
    }
    bwe->loss_lost = bwe->loss_total = 0;
    bwe->loss_window_start_us = now_us;
}

/* About one packet per frame (30 fps, packets up to 1200 bytes) per response time. */
static double additive_bps_per_s(double estimate_bps)
{
    double bits_per_frame = estimate_bps / 30;
    double packets_per_frame = ceil(bits_per_frame / (1200 * 8));
    double packet_bits = bits_per_frame / (packets_per_frame > 0 ? packets_per_frame : 1);
    return fmax(BWE_MIN_ADDITIVE_BPS, packet_bits / BWE_RESPONSE_S);
}

/* (b) */
static void rate_control(rtp_bwe_t *bwe, rtp_bwe_signal_t signal, uint64_t now_us, double acked)
{
    double dt_s = 0;
    if (bwe->updated) {
        uint64_t dt_us = now_us - bwe->last_update_us;
        dt_s = (double)(dt_us > BWE_MAX_UPDATE_US ? BWE_MAX_UPDATE_US : dt_us) / 1e6;
    }
    bwe->updated = true;
    bwe->last_update_us = now_us;
    if (acked > 0 && bwe->link_capacity_bps > 0 &&
        acked > BWE_BEYOND_CAPACITY * bwe->link_capacity_bps)
        bwe->link_capacity_bps = 0; /* the link got faster */

    if (signal == RTP_BWE_OVERUSE) {
        if (bwe->decreased && now_us - bwe->last_decrease_us < BWE_DECREASE_US)
            return;
        double target = BWE_BETA * (acked > 0 ? acked : bwe->estimate_bps);
        if (target < bwe->estimate_bps)
            bwe->estimate_bps = target;
        if (acked > 0)
            bwe->link_capacity_bps =
                bwe->link_capacity_bps > 0 ? 0.75 * bwe->link_capacity_bps + 0.25 * acked : acked;
        bwe->decreased = true;
        bwe->last_decrease_us = now_us;
        return;
    }
    if (signal == RTP_BWE_UNDERUSE || bwe->loss_fraction >= BWE_LOSS_LOW)
        return; /* hold */
    /* (e) What the subscriber acknowledged receiving without loss or a
     * growing queue, the link carries: a probe's result. */
    if (acked > bwe->estimate_bps)
        bwe->estimate_bps = acked;
    if (bwe->link_capacity_bps > 0 &&
        bwe->estimate_bps >= BWE_NEAR_CAPACITY * bwe->link_capacity_bps)
        bwe->estimate_bps += additive_bps_per_s(bwe->estimate_bps) * dt_s;
    else
        bwe->estimate_bps *= pow(BWE_MULT_PER_S, dt_s);
}

/* (d) */
/* The acknowledged rate bounds increases only (as libwebrtc does): an
 * estimate is never pulled down because the sender sends less than it, or
 * a sender capped by this very estimate would drag it down with it. */
static void clamp(rtp_bwe_t *bwe, double acked, double before)
{
    double cap = BWE_ACKED_FACTOR * acked + BWE_ACKED_MARGIN_BPS;
    if (acked > 0 && bwe->estimate_bps > before && bwe->estimate_bps > cap)
        bwe->estimate_bps = before > cap ? before : cap;
    if (bwe->estimate_bps < (double)bwe->min_bps)
        bwe->estimate_bps = (double)bwe->min_bps;
    if (bwe->estimate_bps > (double)bwe->max_bps)
        bwe->estimate_bps = (double)bwe->max_bps;
}

int rtp_bwe_on_feedback(rtp_bwe_t *bwe, const rtcp_fb_t *fb, uint64_t now_us)
{
    bwe->overuse_seen = false;
    if (rtp_twcc_parse(fb, on_status, bwe) < 0)
        return -EINVAL;
    double acked = (double)rtp_bwe_acked_bps(bwe);
    double before = bwe->estimate_bps;
    loss_update(bwe, now_us, acked);
    rate_control(bwe, bwe->overuse_seen ? RTP_BWE_OVERUSE : bwe->hypothesis, now_us, acked);
    clamp(bwe, acked, before);
    return 0;
}

uint64_t rtp_bwe_estimate_bps(const rtp_bwe_t *bwe)
{
    return (uint64_t)bwe->estimate_bps;
}

rtp_bwe_signal_t rtp_bwe_signal(const rtp_bwe_t *bwe)
{
    return bwe->hypothesis;
}
