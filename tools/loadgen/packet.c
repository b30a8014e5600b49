/* tools/loadgen/packet.c: the latency histogram and the synthetic payload every
 * generated packet carries (its RTP header is rtp/'s business). */
#include <errno.h>
#include <string.h>

#include "tools/loadgen/lg.h"

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Buckets of 1 us below LG_HIST_LINEAR, then LG_HIST_SUB per power of two. */
static size_t hist_index(uint64_t us)
{
    if (us < LG_HIST_LINEAR)
        return (size_t)us;
    int e = 63 - __builtin_clzll(us); /* >= 10 */
    size_t sub = (size_t)(us >> (e - 7)) & (LG_HIST_SUB - 1);
    size_t i = LG_HIST_LINEAR + (size_t)(e - 10) * LG_HIST_SUB + sub;
    return i < LG_HIST_BUCKETS ? i : LG_HIST_BUCKETS - 1;
}

uint64_t lg_hist_bucket_floor(size_t i)
{
    if (i < LG_HIST_LINEAR)
        return i;
    size_t e = (i - LG_HIST_LINEAR) / LG_HIST_SUB + 10;
    size_t sub = (i - LG_HIST_LINEAR) % LG_HIST_SUB;
    return ((uint64_t)1 << e) + ((uint64_t)sub << (e - 7));
}

void lg_hist_add(lg_hist_t *h, uint64_t us)
{
    h->buckets[hist_index(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

uint64_t lg_hist_quantile(const lg_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if (want >= h->count)
        want = h->count - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen > want)
            return lg_hist_bucket_floor(i);
    }
    return h->max_us;
}

void lg_payload_write(uint8_t *p, const lg_payload_t *pl)
{
    /* RFC 7741 4.2: X=0, S=1, PID 0; RFC 6386 9.1: frame tag bit 0 is 0 on keyframes. */
    p[0] = 0x10;
    p[1] = pl->keyframe ? 0x00 : 0x01;
    wr32(p + 2, LG_MAGIC);
    wr32(p + 6, pl->publisher);
    p[10] = pl->track;
    p[11] = pl->keyframe ? 1 : 0;
    p[12] = pl->layer;
    p[13] = 0;
    wr32(p + 14, pl->seq);
    wr32(p + 18, (uint32_t)(pl->sent_ns >> 32));
    wr32(p + 22, (uint32_t)pl->sent_ns);
}

int lg_payload_read(const rtp_packet_t *pkt, lg_payload_t *out)
{
    if (pkt->payload_len < LG_PAYLOAD_HDR)
        return -EINVAL;
    const uint8_t *p = pkt->payload;
    if (rd32(p + 2) != LG_MAGIC)
        return -EINVAL;
    out->publisher = rd32(p + 6);
    out->track = p[10];
    out->keyframe = p[11] & 1;
    out->layer = p[12];
    out->seq = rd32(p + 14);
    out->sent_ns = (uint64_t)rd32(p + 18) << 32 | rd32(p + 22);
    return 0;
}
