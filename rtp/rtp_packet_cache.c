/* rtp/rtp_packet_cache.c: a byte ring plus a slot per sequence number. */
#include "rtp/rtp_packet_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((RTP_CACHE_SLOTS & (RTP_CACHE_SLOTS - 1)) == 0, "slots: a power of two");

int rtp_packet_cache_init(rtp_packet_cache_t *c, size_t ring_bytes, uint64_t max_age_ms)
{
    memset(c, 0, sizeof *c);
    if (ring_bytes < 2048)
        ring_bytes = 2048;
    c->ring = malloc(ring_bytes);
    if (!c->ring)
        return -ENOMEM;
    c->ring_cap = ring_bytes;
    c->max_age_ms = max_age_ms;
    return 0;
}

void rtp_packet_cache_free(rtp_packet_cache_t *c)
{
    if (!c)
        return;
    free(c->ring);
    memset(c, 0, sizeof *c);
}

void rtp_packet_cache_put(rtp_packet_cache_t *c, uint16_t seq, const uint8_t *pkt, size_t len,
                          uint64_t now_ms)
{
    if (!c->ring || len == 0 || len > c->ring_cap / 2 || len > UINT16_MAX)
        return;
    /* A packet never straddles the end: the tail is skipped instead. A lap
     * older than max_age_ms starts over too: everything it would overwrite is
     * older than that (the skipped tail, older still, reads as overwritten). */
    size_t at = (size_t)(c->wpos % c->ring_cap);
    if (at + len > c->ring_cap || (at > 0 && now_ms - c->lap_start_ms >= c->max_age_ms)) {
        c->wpos += c->ring_cap - at;
        at = 0;
    }
    if (at == 0)
        c->lap_start_ms = now_ms;
    memcpy(c->ring + at, pkt, len);
    rtp_cache_slot_t *s = &c->slots[seq & (RTP_CACHE_SLOTS - 1)];
    s->pos = c->wpos;
    s->at_ms = now_ms;
    s->len = (uint16_t)len;
    s->seq = seq;
    s->used = true;
    c->wpos += len;
}

int rtp_packet_cache_get(const rtp_packet_cache_t *c, uint16_t seq, uint64_t now_ms,
                         uint64_t max_age_ms, const uint8_t **pkt, size_t *len)
{
    const rtp_cache_slot_t *s = &c->slots[seq & (RTP_CACHE_SLOTS - 1)];
    if (!c->ring || !s->used || s->seq != seq)
        return -ENOENT;
    /* Bytes from wpos - ring_cap on are intact; older ones were overwritten. */
    if (c->wpos - s->pos > c->ring_cap || (now_ms > s->at_ms && now_ms - s->at_ms > max_age_ms))
        return -ENOENT;
    *pkt = c->ring + (size_t)(s->pos % c->ring_cap);
    *len = s->len;
    return 0;
}
