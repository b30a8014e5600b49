/* rtp/rtp_twcc.h: transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01, RTCP RTPFB PT 205 FMT 15).
 *
 * Receiver side: rtp_twcc_recorder_t remembers when each transport-wide sequence
 * number arrived and builds the feedback packets that report them. Sender side:
 * rtp_twcc_parse() walks a received feedback message and reports, per packet,
 * whether and when it arrived. Pure state over the caller's bytes: no I/O, no
 * allocation.
 *
 * Wire format (3.1): base sequence number (16), packet status count (16),
 * reference time (24, signed, 64 ms units), feedback packet count (8), then
 * 16-bit packet chunks covering status count packets, then one receive delta per
 * received packet (1 byte unsigned for the "small" symbol, 2 bytes signed for
 * "large", both in 250 us units; the first relative to the reference time, each
 * next one to the previous received packet), then zero padding to 32 bits.
 * Chunks are run length (T=0, 2-bit symbol, 13-bit run) or status vector (T=1;
 * S=0: 14 one-bit symbols, 0 not received / 1 small; S=1: 7 two-bit symbols,
 * 00 not received, 01 small, 10 large or negative, 11 reserved). */
#ifndef SFU_RTP_RTP_TWCC_H
#define SFU_RTP_RTP_TWCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

#define RTCP_FMT_TWCC 15 /* RTPFB */

/* Arrivals the recorder remembers; an arrival older than the newest by this
 * many or more is ignored, and one not reported by then never is. */
#define RTP_TWCC_WINDOW 1024
/* Header (4) + SSRCs (8) + base seq, count, reference time, fb count (8). */
#define RTP_TWCC_HEADER_LEN 20
/* The smallest feedback packet: header, one chunk, a 2-byte delta. */
#define RTP_TWCC_MIN_PACKET_LEN 24

/* ---- Receiver side ---- */

typedef struct rtp_twcc_arrival {
    int64_t seq; /* unwrapped; -1: empty */
    uint64_t arrival_us;
} rtp_twcc_arrival_t;

/* Embed by value; one thread. About 16 KB. */
typedef struct rtp_twcc_recorder {
    bool started;
    int64_t max_seq;                          /* newest unwrapped sequence number recorded */
    int64_t next_seq;                         /* first one the next feedback reports */
    uint8_t fb_count;                         /* feedback packet count of the next packet built */
    rtp_twcc_arrival_t ring[RTP_TWCC_WINDOW]; /* by unwrapped seq modulo the window */
} rtp_twcc_recorder_t;

void rtp_twcc_recorder_init(rtp_twcc_recorder_t *rec);
/* A packet carrying transport-wide sequence number seq arrived at arrival_us
 * (a monotonic clock). Numbers unwrap around the newest one (a jump of more
 * than 32767 ahead reads as behind, so is ignored as older than the window).
 * A duplicate keeps its first arrival. A late packet whose
 * number was already reported as lost rewinds the next feedback to it, so that
 * feedback reports it received (and repeats the statuses after it). */
void rtp_twcc_recorder_add(rtp_twcc_recorder_t *rec, uint16_t seq, uint64_t arrival_us);
/* Writes one feedback packet covering the packets recorded since the last
 * build, oldest first: as many as fit in cap (and whose receive deltas fit the
 * 16-bit form); the rest go in the next one. Returns its length, 0 when there
 * is nothing new, or -ENOSPC when cap cannot hold even the first packet (see
 * RTP_TWCC_MIN_PACKET_LEN). */
int rtp_twcc_recorder_build(rtp_twcc_recorder_t *rec, uint32_t sender_ssrc, uint32_t media_ssrc,
                            uint8_t *buf, size_t cap);

/* ---- Sender side ---- */

/* The fixed fields of a feedback message. */
typedef struct rtp_twcc_header {
    uint16_t base_seq;
    uint16_t status_count;
    int32_t reference_time; /* 24-bit signed, 64 ms units */
    uint8_t fb_count;
} rtp_twcc_header_t;

/* One packet's status. */
typedef struct rtp_twcc_status {
    uint16_t seq;
    bool received;
    /* When received: reference time x 64 ms + the deltas so far, in the feedback
     * sender's clock, modulo 2^24 x 64 ms (about 12.4 days). */
    int64_t recv_us;
} rtp_twcc_status_t;

typedef void (*rtp_twcc_cb)(void *ctx, const rtp_twcc_status_t *st);

/* 0 with the fixed fields in *h, or -EINVAL when fb is not a transport-cc
 * feedback message or is shorter than its fixed fields. */
int rtp_twcc_parse_header(const rtcp_fb_t *fb, rtp_twcc_header_t *h);
/* Checks the whole message first, then calls cb once per packet in sequence
 * order (status count times). Returns the status count, or -EINVAL, without
 * calling cb, when the message is malformed: not RTPFB FMT 15, a status count
 * of 0, chunks or receive deltas past the end, a reserved symbol. Bytes after
 * the last delta (zero padding) are ignored. */
int rtp_twcc_parse(const rtcp_fb_t *fb, rtp_twcc_cb cb, void *ctx);

#endif
