/* rtp/rtp_nack_gen.h: the receiver side of NACK (RFC 4585 6.2.1) for one
 * stream: which sequence numbers are missing, and which to ask for again
 * now. Retries are paced by the round-trip time and given up after a bound,
 * so a lost packet is asked for a few times, never forever. Pure state: the
 * caller builds and sends the NACK. */
#ifndef SFU_RTP_RTP_NACK_GEN_H
#define SFU_RTP_RTP_NACK_GEN_H

#include <stdbool.h>
#include <stdint.h>

#define RTP_NACK_MAX_MISSING 256 /* a larger gap is a restart: nothing asked for */
#define RTP_NACK_MAX_RETRIES 8
#define RTP_NACK_MAX_AGE_MS  1000 /* a packet older than this is of no use any more */
/* The first request waits this long for a reordered packet. */
#define RTP_NACK_REORDER_MS 5
/* With a measured round trip, retries come 2 round trips apart, at least
 * this far. */
#define RTP_NACK_MIN_RETRY_MS 20

typedef struct rtp_nack_entry {
    uint16_t seq;
    uint8_t retries;
    uint64_t missing_since_ms;
    uint64_t asked_ms; /* 0: not yet */
} rtp_nack_entry_t;

typedef struct rtp_nack_gen {
    bool started;
    uint16_t max_seq;
    int count; /* entries in missing[], in arrival order (ascending modulo 2^16) */
    rtp_nack_entry_t missing[RTP_NACK_MAX_MISSING];
    uint64_t recovered, given_up;
    /* Smoothed (1/8) from packets that came back after one request: the
     * time from request to packet (one asked for again could answer either
     * request, so it says nothing). 0: none yet. */
    uint32_t rtt_ms;
} rtp_nack_gen_t;

void rtp_nack_gen_init(rtp_nack_gen_t *g);
/* A packet arrived. Returns true when it was missing (a retransmission or a
 * late packet), false otherwise. */
bool rtp_nack_gen_on_packet(rtp_nack_gen_t *g, uint16_t seq, uint64_t now_ms);
/* The sequence numbers to ask for now, ascending: missing ones never asked
 * for (after RTP_NACK_REORDER_MS), or last asked for rtt_ms ago or more. At
 * most cap; entries past RTP_NACK_MAX_RETRIES or RTP_NACK_MAX_AGE_MS are
 * dropped. Returns the count written. */
/* Whether seq would be news: missing (asked for, or about to be), or beyond
 * the highest number seen. A packet seen already is not. */
bool rtp_nack_gen_wants(const rtp_nack_gen_t *g, uint16_t seq);
int rtp_nack_gen_due(rtp_nack_gen_t *g, uint64_t now_ms, uint32_t rtt_ms, uint16_t *seqs, int cap);
/* The pace of retries for rtp_nack_gen_due: twice the measured round trip,
 * at least RTP_NACK_MIN_RETRY_MS; unknown_ms until one is measured. */
uint32_t rtp_nack_gen_retry_ms(const rtp_nack_gen_t *g, uint32_t unknown_ms);

#endif
