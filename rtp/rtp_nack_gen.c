/* rtp/rtp_nack_gen.c: missing sequence numbers of one stream and their retries. */
#include "rtp/rtp_nack_gen.h"

#include <string.h>

void rtp_nack_gen_init(rtp_nack_gen_t *g)
{
    memset(g, 0, sizeof *g);
}

static void remove_at(rtp_nack_gen_t *g, int i)
{
    memmove(&g->missing[i], &g->missing[i + 1], (size_t)(g->count - i - 1) * sizeof g->missing[0]);
    g->count--;
}

bool rtp_nack_gen_on_packet(rtp_nack_gen_t *g, uint16_t seq, uint64_t now_ms)
{
    if (!g->started) {
        g->started = true;
        g->max_seq = seq;
        return false;
    }
    uint16_t ahead = (uint16_t)(seq - g->max_seq);
    if (ahead == 0)
        return false;
    if (ahead < 0x8000) {
        if (ahead > RTP_NACK_MAX_MISSING) {
            g->count = 0; /* a jump (a restarted source): nothing to repair */
        } else {
            for (uint16_t s = (uint16_t)(g->max_seq + 1); s != seq; s++) {
                if (g->count == RTP_NACK_MAX_MISSING) {
                    remove_at(g, 0); /* the oldest is the least useful */
                    g->given_up++;
                }
                g->missing[g->count++] = (rtp_nack_entry_t){.seq = s, .missing_since_ms = now_ms};
            }
        }
        g->max_seq = seq;
        return false;
    }
    for (int i = 0; i < g->count; i++) {
        if (g->missing[i].seq == seq) {
            const rtp_nack_entry_t *e = &g->missing[i];
            if (e->retries == 1 && e->asked_ms && now_ms >= e->asked_ms) {
                uint64_t sample = now_ms - e->asked_ms;
                if (sample > RTP_NACK_MAX_AGE_MS)
                    sample = RTP_NACK_MAX_AGE_MS;
                g->rtt_ms = g->rtt_ms ? (uint32_t)((7 * (uint64_t)g->rtt_ms + sample) / 8)
                                      : (uint32_t)(sample ? sample : 1);
            }
            remove_at(g, i);
            g->recovered++;
            return true;
        }
    }
    return false;
}

bool rtp_nack_gen_wants(const rtp_nack_gen_t *g, uint16_t seq)
{
    uint16_t ahead = (uint16_t)(seq - g->max_seq);
    if (!g->started || (ahead != 0 && ahead < 0x8000))
        return true;
    for (int i = 0; i < g->count; i++) {
        if (g->missing[i].seq == seq)
            return true;
    }
    return false;
}

int rtp_nack_gen_due(rtp_nack_gen_t *g, uint64_t now_ms, uint32_t rtt_ms, uint16_t *seqs, int cap)
{
    int n = 0;
    for (int i = 0; i < g->count;) {
        rtp_nack_entry_t *e = &g->missing[i];
        if (e->retries >= RTP_NACK_MAX_RETRIES ||
            now_ms - e->missing_since_ms > RTP_NACK_MAX_AGE_MS) {
            remove_at(g, i);
            g->given_up++;
            continue;
        }
        bool due = e->asked_ms ? now_ms - e->asked_ms >= rtt_ms
                               : now_ms - e->missing_since_ms >= RTP_NACK_REORDER_MS;
        if (due && n < cap) {
            seqs[n++] = e->seq;
            e->asked_ms = now_ms ? now_ms : 1;
            e->retries++;
        }
        i++;
    }
    return n;
}

uint32_t rtp_nack_gen_retry_ms(const rtp_nack_gen_t *g, uint32_t unknown_ms)
{
    if (!g->rtt_ms)
        return unknown_ms;
    uint32_t ms = 2 * g->rtt_ms;
    return ms < RTP_NACK_MIN_RETRY_MS ? RTP_NACK_MIN_RETRY_MS : ms;
}
