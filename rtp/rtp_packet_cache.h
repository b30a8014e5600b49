/* rtp/rtp_packet_cache.h: the recent packets of one stream, by sequence
 * number, to answer NACKs (RFC 4585 6.2.1). One byte ring allocated once:
 * packets are copied in back to back and the oldest are overwritten, so memory
 * is bounded and nothing is allocated per packet. */
#ifndef SFU_RTP_RTP_PACKET_CACHE_H
#define SFU_RTP_RTP_PACKET_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sequence numbers remembered (a power of two): at most this many packets. */
#define RTP_CACHE_SLOTS 512

typedef struct rtp_cache_slot {
    uint64_t pos;   /* where its bytes start, counted from the first byte ever written */
    uint64_t at_ms; /* when it was stored */
    uint16_t len;
    uint16_t seq;
    bool used;
} rtp_cache_slot_t;

typedef struct rtp_packet_cache {
    uint8_t *ring;
    size_t ring_cap;
    uint64_t wpos;         /* bytes written (and skipped at the end of the ring) so far */
    uint64_t max_age_ms;   /* older packets are of no use: the ring starts over */
    uint64_t lap_start_ms; /* when writing last started at the ring's beginning */
    rtp_cache_slot_t slots[RTP_CACHE_SLOTS];
} rtp_packet_cache_t;

/* Allocates ring_bytes (at least 2,048). Writing starts over at the ring's
 * beginning once the lap is max_age_ms old, so a slow stream keeps only
 * about max_age_ms of packets resident, not ring_bytes. 0 or -ENOMEM. */
int rtp_packet_cache_init(rtp_packet_cache_t *c, size_t ring_bytes, uint64_t max_age_ms);
/* NULL-safe; the cache can be initialised again afterwards. */
void rtp_packet_cache_free(rtp_packet_cache_t *c);
/* Stores a copy of pkt under seq (a later packet of the same sequence number
 * replaces it). Packets longer than 1/2 of the ring are not kept. */
void rtp_packet_cache_put(rtp_packet_cache_t *c, uint16_t seq, const uint8_t *pkt, size_t len,
                          uint64_t now_ms);
/* The packet stored under seq if its bytes are still in the ring and it is at
 * most max_age_ms old: 0 with *pkt and *len (valid until the next put), else
 * -ENOENT. */
int rtp_packet_cache_get(const rtp_packet_cache_t *c, uint16_t seq, uint64_t now_ms,
                         uint64_t max_age_ms, const uint8_t **pkt, size_t *len);

#endif
