/* rtp/rtp_rewriter.c: one consumer's SSRC, sequence number and timestamp
 * rewriting, continuous across changes of the incoming stream. */
#include "rtp/rtp.h"

#include <errno.h>
#include <string.h>

_Static_assert(RTP_REWRITER_WINDOW == 128, "seen[] is shifted as two 64-bit words");

/* a - b as a signed distance on the 16-bit circle, in [-32768, 32767]. */
static int seq_diff(uint16_t a, uint16_t b)
{
    uint16_t d = (uint16_t)(a - b);
    return d < 0x8000 ? (int)d : (int)d - 0x10000;
}

/* The window as one 128-bit number shifted left by d: bit k moves to k + d. */
static void seen_shift(uint64_t seen[2], unsigned d)
{
    if (d >= 128) {
        seen[0] = seen[1] = 0;
    } else if (d >= 64) {
        seen[1] = seen[0] << (d - 64);
        seen[0] = 0;
    } else if (d > 0) {
        seen[1] = seen[1] << d | seen[0] >> (64 - d);
        seen[0] <<= d;
    }
}

/* Dropped packets among the k newest positions (0 .. k-1). */
static unsigned dropped_below(const uint64_t dropped[2], unsigned k)
{
    if (k >= 128)
        return (unsigned)(__builtin_popcountll(dropped[0]) + __builtin_popcountll(dropped[1]));
    if (k >= 64) {
        uint64_t hi = k == 64 ? 0 : dropped[1] & ((1ull << (k - 64)) - 1);
        return (unsigned)(__builtin_popcountll(dropped[0]) + __builtin_popcountll(hi));
    }
    return k ? (unsigned)__builtin_popcountll(dropped[0] & ((1ull << k) - 1)) : 0;
}

static bool seen_test_set(uint64_t seen[2], unsigned k)
{
    uint64_t bit = 1ull << (k % 64);
    bool was = seen[k / 64] & bit;
    seen[k / 64] |= bit;
    return was;
}

void rtp_rewriter_init(rtp_rewriter_t *rw, uint32_t in_ssrc, uint32_t out_ssrc, uint32_t clock_hz,
                       uint16_t first_seq, uint32_t first_ts)
{
    memset(rw, 0, sizeof *rw);
    rw->in_ssrc = in_ssrc;
    rw->out_ssrc = out_ssrc;
    rw->clock_hz = clock_hz;
    /* The first source starts right after these. */
    rw->max_out_seq = (uint16_t)(first_seq - 1);
    rw->max_out_ts = first_ts;
    rw->resync = true;
}

void rtp_rewriter_switch(rtp_rewriter_t *rw, uint32_t in_ssrc)
{
    rw->in_ssrc = in_ssrc;
    rw->resync = true;
    rw->jump_pending = false;
}

/* p is the first packet of a new source: it goes out right after the last one
 * placed, its timestamp advanced by the time elapsed (at least one tick). */
static void rewriter_start_source(rtp_rewriter_t *rw, const rtp_packet_t *p, uint64_t now_ms)
{
    uint16_t out_seq = (uint16_t)(rw->max_out_seq + 1);
    uint32_t out_ts = rw->max_out_ts;
    if (rw->started) {
        uint64_t elapsed_ms = now_ms > rw->max_out_ms ? now_ms - rw->max_out_ms : 0;
        if (elapsed_ms > 100000000) /* a day is plenty; keeps the product in 64 bits */
            elapsed_ms = 100000000;
        uint64_t ticks = elapsed_ms * rw->clock_hz / 1000;
        out_ts += ticks ? (uint32_t)ticks : 1;
    }
    rw->seq_offset = (uint16_t)(out_seq - p->seq);
    rw->ts_offset = out_ts - p->ts;
    /* Everything before the first packet counts as taken: a late one would
     * collide with the previous source's numbers. */
    rw->max_in_seq = (uint16_t)(p->seq - 1);
    rw->max_out_seq = (uint16_t)(out_seq - 1);
    rw->seen[0] = rw->seen[1] = ~0ull;
    rw->dropped[0] = rw->dropped[1] = 0;
    rw->source_span = 0;
    rw->started = true;
    rw->resync = false;
    rw->jump_pending = false;
}

int rtp_rewriter_rewrite(rtp_rewriter_t *rw, rtp_packet_t *p, uint64_t now_ms)
{
    if (p->ssrc != rw->in_ssrc)
        return -ENOENT;
    if (rw->resync)
        rewriter_start_source(rw, p, now_ms);
    int d = seq_diff(p->seq, rw->max_in_seq);
    if (d > RTP_REWRITER_MAX_DROPOUT || d < -RTP_REWRITER_MAX_MISORDER) {
        /* RFC 3550 A.1: a restart only when the next packet follows the jump. */
        if (!rw->jump_pending || p->seq != rw->jump_next_seq) {
            rw->jump_pending = true;
            rw->jump_next_seq = (uint16_t)(p->seq + 1);
            return -ESTALE;
        }
        rewriter_start_source(rw, p, now_ms);
        d = 1;
    } else if (d <= -RTP_REWRITER_WINDOW) {
        return -ESTALE;
    }
    if (d > 0) {
        seen_shift(rw->seen, (unsigned)d);
        seen_shift(rw->dropped, (unsigned)d);
        rw->seen[0] |= 1;
        rw->max_in_seq = p->seq;
        rw->max_out_seq = (uint16_t)(p->seq + rw->seq_offset);
        rw->max_out_ts = p->ts + rw->ts_offset;
        rw->max_out_ms = now_ms;
        rw->source_span += (uint32_t)d;
        if (rw->source_span > 0x10000)
            rw->source_span = 0x10000;
    } else if (seen_test_set(rw->seen, (unsigned)-d)) {
        return -EALREADY;
    }
    /* Older packets keep the numbers they had before newer drops closed up. */
    unsigned back = d > 0 ? 0 : (unsigned)-d;
    rtp_packet_set_ssrc(p, rw->out_ssrc);
    rtp_packet_set_seq(p, (uint16_t)(p->seq + rw->seq_offset + dropped_below(rw->dropped, back)));
    rtp_packet_set_ts(p, p->ts + rw->ts_offset);
    return 0;
}

int rtp_rewriter_drop(rtp_rewriter_t *rw, const rtp_packet_t *p, uint64_t now_ms)
{
    if (p->ssrc != rw->in_ssrc)
        return -ENOENT;
    if (rw->resync)
        rewriter_start_source(rw, p, now_ms);
    int d = seq_diff(p->seq, rw->max_in_seq);
    if (d > RTP_REWRITER_MAX_DROPOUT || d < -RTP_REWRITER_MAX_MISORDER || d <= -RTP_REWRITER_WINDOW)
        return -ESTALE;
    if (d <= 0) /* its number is given already: a gap stays */
        return seen_test_set(rw->seen, (unsigned)-d) ? -EALREADY : 0;
    seen_shift(rw->seen, (unsigned)d);
    seen_shift(rw->dropped, (unsigned)d);
    rw->seen[0] |= 1;
    rw->dropped[0] |= 1;
    rw->max_in_seq = p->seq;
    rw->seq_offset--; /* the next packet takes the number this one would have had */
    /* Late packets before it may still take numbers up to here: a new source
     * starts after them. */
    rw->max_out_seq = (uint16_t)(p->seq + rw->seq_offset);
    rw->max_out_ms = now_ms;
    rw->source_span += (uint32_t)d;
    if (rw->source_span > 0x10000)
        rw->source_span = 0x10000;
    return 0;
}

int rtp_rewriter_seq_to_input(const rtp_rewriter_t *rw, uint16_t out_seq, uint16_t *in_seq)
{
    if (!rw->started)
        return -ENOENT;
    if (!rw->dropped[0] && !rw->dropped[1]) {
        int back = seq_diff(rw->max_out_seq, out_seq);
        if (back < 0 || (uint32_t)back >= rw->source_span)
            return -ENOENT;
        *in_seq = (uint16_t)(out_seq - rw->seq_offset);
        return 0;
    }
    /* With drops in the window, search it: each sent position's number. */
    for (unsigned k = 0; k < RTP_REWRITER_WINDOW && k <= rw->source_span; k++) {
        if (rw->dropped[k / 64] >> (k % 64) & 1)
            continue;
        uint16_t in = (uint16_t)(rw->max_in_seq - k);
        if ((uint16_t)(in + rw->seq_offset + dropped_below(rw->dropped, k)) == out_seq) {
            *in_seq = in;
            return 0;
        }
    }
    return -ENOENT;
}

bool rtp_rewriter_was_sent(const rtp_rewriter_t *rw, uint16_t in_seq)
{
    int back = seq_diff(rw->max_in_seq, in_seq);
    if (!rw->started || back < 0 || back >= RTP_REWRITER_WINDOW)
        return false;
    uint64_t bit = 1ull << (back % 64);
    return (rw->seen[back / 64] & bit) && !(rw->dropped[back / 64] & bit);
}

void rtp_rewriter_apply(const rtp_rewriter_t *rw, rtp_packet_t *p)
{
    int back = seq_diff(rw->max_in_seq, p->seq);
    unsigned closed = back > 0 ? dropped_below(rw->dropped, (unsigned)back) : 0;
    rtp_packet_set_ssrc(p, rw->out_ssrc);
    rtp_packet_set_seq(p, (uint16_t)(p->seq + rw->seq_offset + closed));
    rtp_packet_set_ts(p, p->ts + rw->ts_offset);
}
