/* sfu/room.h: the media model on a worker, in the spirit of mediasoup's
 * Router/Producer/Consumer. A room (one per call) holds legs (one per
 * participant's publish or subscribe transport); a producer is one published
 * track, owned by its publish leg and keyed by SSRC within its room; a
 * consumer is one (producer, subscribe leg) pair with its own outgoing SSRC,
 * sequence/timestamp rewriter, header-extension map, paused state and stats.
 *
 * Everything here runs on the room's worker thread and does no I/O of its
 * own: a leg sends through the sfu_leg_io_t it was given (the worker's
 * rtc_transport, or a test's capture), so the model is testable without
 * sockets. No allocation on the packet path. */
#ifndef SFU_ROOM_H
#define SFU_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/counter.h"
#include "rtp/rtp.h"
#include "sfu/speaker.h"

typedef struct sfu_room sfu_room_t;
typedef struct sfu_leg sfu_leg_t;
typedef struct sfu_producer sfu_producer_t;
typedef struct sfu_consumer sfu_consumer_t;

/* Keyframe requests to one producer go at most this often (PLI/FIR from
 * many subscribers collapse into one); one asked for meanwhile goes when the
 * interval ends, with the producer's next packet. */
#define SFU_PLI_MIN_INTERVAL_MS 500
/* Receiver reports to publishers and sender reports to subscribers, per stream. */
#define SFU_RR_INTERVAL_MS 1000
#define SFU_SR_INTERVAL_MS 1000
/* The sender SSRC of the node's own RTCP (RR, PLI, NACK) on publish legs. */
#define SFU_RTCP_SENDER_SSRC 1
/* Each video producer keeps its recent packets for NACKs in a ring of this
 * many bytes (about a second at 1 Mbit/s), allocated with the producer. */
#define SFU_CACHE_BYTES (128 * 1024)
/* Transport-cc feedback to publishers goes this often (RFC 8888 suggests
 * 50-200 ms; browsers send theirs every 50-100 ms). */
#define SFU_TWCC_FEEDBACK_MS 50
/* REMB to a publisher at least this often, sooner when its target falls. */
#define SFU_REMB_INTERVAL_MS 1000
/* Each audio track a publisher sends is given this much in its REMB. */
#define SFU_REMB_AUDIO_BPS 64000
/* Retransmissions answer NACKs for packets at most this old. */
#define SFU_CACHE_MAX_AGE_MS 1000
/* The pace of NACK retries upstream when no round-trip time is known. */
#define SFU_NACK_DEFAULT_RTT_MS 100

/* Per worker; written on the worker thread only, read by /metrics. */
typedef struct sfu_media_stats {
    counter_t rtp_forwarded;     /* RTP packets sent to consumers */
    counter_t rtp_malformed;     /* decrypted, yet not well-formed RTP */
    counter_t unknown_ssrc;      /* RTP of no producer of the leg that sent it */
    counter_t rtp_not_placed;    /* duplicates and stale packets a consumer's rewriter refused */
    counter_t send_failed;       /* a consumer's or an RTCP send that failed */
    counter_t rtcp_malformed;    /* compound RTCP that did not parse to its end */
    counter_t rtcp_unknown_ssrc; /* feedback naming no consumer of the leg */
    counter_t rr_sent, sr_sent, pli_sent, nack_sent;
    counter_t keyframe_requests;    /* PLI/FIR received from subscribers */
    counter_t nack_received;        /* NACK packets received from subscribers */
    counter_t retransmitted;        /* packets sent again from a producer's cache (RTX or plain) */
    counter_t nack_miss;            /* NACKed packets no longer (or never) in the cache */
    counter_t upstream_recovered;   /* packets a publisher sent again after the node's NACK */
    counter_t upstream_given_up;    /* missing packets the node stopped asking for */
    counter_t upstream_rtx;         /* packets on publishers' RTX streams (RFC 4588) */
    counter_t upstream_rtx_padding; /* of them, padding only (bandwidth probes) */
    counter_t twcc_sent;            /* transport-cc feedback sent to publishers */
    counter_t twcc_received;        /* transport-cc feedback received from subscribers */
    counter_t remb_sent;            /* REMB sent to publishers */
    counter_t layer_switches;       /* simulcast consumers that changed spatial layer */
    counter_t probes;               /* downlink probes started (padding as RTX) */
} sfu_media_stats_t;

/* How a leg sends. pkt has cap bytes of room (the SRTP trailer must fit). 0 or
 * a negative code. */
typedef struct sfu_leg_io {
    int (*send_rtp)(void *ctx, uint8_t *pkt, size_t len, size_t cap);
    int (*send_rtcp)(void *ctx, uint8_t *pkt, size_t len, size_t cap);
} sfu_leg_io_t;

/* What every room of a worker shares: its counters, one scratch buffer for
 * the packet being sent (one copy per consumer), and the wall clock. */
typedef struct sfu_room_env {
    sfu_media_stats_t *stats;
    uint8_t *scratch;
    size_t scratch_cap;
    /* Now as a 64-bit NTP time (RFC 3550 4), for sender reports. */
    uint64_t (*now_ntp)(void);
    /* Every SFU_SPEAKER_INTERVAL_MS while audio flows: each audio producer's
     * loudness and the active speaker (changed: it just changed). NULL: none. */
    void (*on_speaker)(void *ctx, sfu_room_t *r, const sfu_speaker_t *s, bool changed);
    void *ctx;
    /* A monotonic clock in microseconds, for congestion control. */
    uint64_t (*now_us)(void);
    /* The most a publisher is asked to send per video track (REMB), bit/s. */
    uint64_t max_video_bps;
} sfu_room_env_t;

/* Simulcast encodings of one producer, at most. */
#define SFU_MAX_LAYERS 3
/* VP8 temporal layers told apart (TID 0-3). */
#define SFU_MAX_TEMPORAL 4
/* How often a simulcast consumer reconsiders its layer. */
#define SFU_LAYER_CHECK_MS 250
/* A higher layer is taken once it has fitted the estimate this long. */
#define SFU_LAYER_UP_HOLD_MS 1500
/* A layer that sent nothing for this long is not chosen. */
#define SFU_LAYER_IDLE_MS 1500

typedef struct sfu_producer_params {
    uint64_t id;   /* unique on the node, > 0 */
    uint32_t ssrc; /* the stream's (simulcast: the lowest layer's); 0 when
                    * every layer is told by RID */
    bool video;
    uint8_t pt;
    uint32_t clock_hz;
    rtp_ext_ids_t ext; /* the publisher's extension ids */
    uint8_t codec;     /* rtp_codec_kind_t: where keyframes and VP8 layers are read */
    /* Simulcast (0 or 1: none): the encodings, lowest first, each by SSRC
     * (a=ssrc-group:SIM) or by RID, whose SSRC the first packet carrying
     * that RID (and this mid, when the publisher sends mids) binds. */
    int layers;
    uint32_t layer_ssrcs[SFU_MAX_LAYERS];
    char rids[SFU_MAX_LAYERS][16];
    char mid[32];
    /* Video: the publisher's retransmissions and padding (RFC 4588) on their
     * own stream, of this payload type (0: it sends none). The single
     * stream's RTX SSRC comes from a=ssrc-group:FID; a RID layer's binds with
     * the first RTX packet naming its RID in repaired-rtp-stream-id. */
    uint8_t rtx_pt;
    uint32_t rtx_ssrc;
} sfu_producer_params_t;

typedef struct sfu_consumer_params {
    uint64_t id;   /* unique on the node, > 0 */
    uint32_t ssrc; /* outgoing, never a publisher's */
    char mid[32];  /* the subscribe section, for the mid extension */
    bool paused;
    uint32_t rtx_ssrc; /* video: retransmissions (RFC 4588) when the leg takes RTX */
    uint8_t rtx_pt;
    /* Simulcast: how many spatial layers, and VP8 temporal layers, the
     * subscriber takes at most (0: all); the estimate may give it less. */
    int layer_limit, temporal_limit;
} sfu_consumer_params_t;

typedef struct sfu_consumer_stats {
    uint64_t packets, bytes, payload_bytes;
    uint64_t not_placed; /* duplicates or stale packets refused by the rewriter */
    uint64_t keyframe_requests, nack_packets, srs;
    uint64_t retransmitted, nack_miss;
    uint8_t fraction_lost; /* from the subscriber's last receiver report */
    uint32_t jitter;
    int layer, temporal; /* simulcast: what is sent now (-1: nothing yet) */
    int target_layer;    /* and what it is switching to */
    uint64_t layer_switches;
    uint64_t dropped_temporal; /* packets of temporal layers left out */
    uint64_t dropped_padding;  /* the publisher's padding-only packets left out */
} sfu_consumer_stats_t;

typedef struct sfu_producer_stats {
    uint64_t packets, bytes;
    uint64_t keyframe_requests; /* asked for by consumers */
    uint64_t plis_sent;
    uint64_t nack_seqs_sent; /* sequence numbers asked for again, retries included */
    uint64_t recovered, given_up;
    uint64_t rtx_packets; /* received on the RTX stream */
    uint64_t rtx_padding; /* of them, padding or copies of packets that did arrive */
} sfu_producer_stats_t;

/* ---- rooms and legs ---- */

sfu_room_t *sfu_room_new(int64_t id, const sfu_room_env_t *env);
/* Frees every leg, producer and consumer of the room; NULL is a no-op. */
void sfu_room_free(sfu_room_t *r);
int64_t sfu_room_id(const sfu_room_t *r);
size_t sfu_room_leg_count(const sfu_room_t *r);

/* NULL on -ENOMEM or a leg id already in the room. */
sfu_leg_t *sfu_leg_new(sfu_room_t *r, uint64_t id, const sfu_leg_io_t *io, void *io_ctx);
/* The leg's producers (and their consumers) and its consumers go with it. */
void sfu_leg_free(sfu_leg_t *leg);
sfu_leg_t *sfu_room_leg(const sfu_room_t *r, uint64_t leg_id);
sfu_room_t *sfu_leg_room(const sfu_leg_t *leg);
/* The transport under the leg connected: consumers on it ask for keyframes. */
void sfu_leg_set_connected(sfu_leg_t *leg, bool connected, uint64_t now_ms);
/* The extension ids the subscriber accepted for what this leg sends. */
void sfu_leg_set_ext_ids(sfu_leg_t *leg, const rtp_ext_ids_t *ids);
/* Whether the subscriber takes retransmissions as RTX (RFC 4588); without,
 * a NACKed packet is sent again as it was. */
void sfu_leg_set_rtx(sfu_leg_t *leg, bool rtx);
/* The leg's downlink estimate from its subscriber's transport-cc feedback,
 * in bit/s; 0 when it has none (no transport-cc, no feedback yet). */
uint64_t sfu_leg_estimate_bps(const sfu_leg_t *leg);

/* ---- the packet path ---- */

/* Decrypted RTP from the leg's transport: to the producer of its SSRC (when
 * this leg owns it) and on to each of its consumers. */
void sfu_leg_receive_rtp(sfu_leg_t *leg, uint8_t *pkt, size_t len, uint64_t now_ms);
/* Decrypted compound RTCP. Terminated here: a publisher's SR feeds its
 * producer's clock mapping; a subscriber's PLI/FIR/NACK is mapped through the
 * consumer it names to that consumer's producer; reports are read. */
void sfu_leg_receive_rtcp(sfu_leg_t *leg, uint8_t *pkt, size_t len, uint64_t now_ms);

/* ---- producers ---- */

/* 0; -EEXIST when the SSRC is published in the room already or the id is
 * taken; -ENOMEM. */
int sfu_producer_new(sfu_room_t *r, sfu_leg_t *owner, const sfu_producer_params_t *params,
                     sfu_producer_t **out);
/* Only the owning leg may close its producer: 0, -ENOENT, or -EPERM. Its
 * consumers go too. */
int sfu_room_producer_close(sfu_room_t *r, uint64_t producer_id, uint64_t owner_leg_id);
sfu_producer_t *sfu_room_producer(const sfu_room_t *r, uint64_t producer_id);
sfu_producer_t *sfu_room_producer_by_ssrc(const sfu_room_t *r, uint32_t ssrc);
uint32_t sfu_producer_ssrc(const sfu_producer_t *pr);
/* Simulcast: the SSRC of a layer (0: not bound yet) and its bitrate over the
 * last second, all temporal layers. */
uint32_t sfu_producer_layer_ssrc(const sfu_producer_t *pr, int layer);
uint64_t sfu_producer_layer_bps(const sfu_producer_t *pr, int layer);
int sfu_producer_layer_count(const sfu_producer_t *pr);
sfu_leg_t *sfu_producer_owner(const sfu_producer_t *pr);
void sfu_producer_get_stats(const sfu_producer_t *pr, sfu_producer_stats_t *out);
/* A keyframe for the producer, throttled (SFU_PLI_MIN_INTERVAL_MS). */
void sfu_producer_request_keyframe(sfu_producer_t *pr, uint64_t now_ms);

/* ---- consumers ---- */

/* 0; -ENOENT (no such producer), -EEXIST (id taken, or the SSRC already sent
 * on that leg), -EINVAL (a consumer of one's own producer, or SSRC 0),
 * -ENOMEM. */
int sfu_consumer_new(sfu_room_t *r, uint64_t producer_id, sfu_leg_t *sub,
                     const sfu_consumer_params_t *params, uint64_t now_ms, sfu_consumer_t **out);
int sfu_room_consumer_close(sfu_room_t *r, uint64_t consumer_id);
sfu_consumer_t *sfu_room_consumer(const sfu_room_t *r, uint64_t consumer_id);
/* A paused consumer sends nothing; resuming asks for a keyframe and carries
 * on the outgoing numbering without a gap. 0 or -ENOENT. */
int sfu_room_consumer_pause(sfu_room_t *r, uint64_t consumer_id, bool paused, uint64_t now_ms);
/* Consumes another producer from now on (a replaced track, later a simulcast
 * layer): the outgoing SSRC stays and sequence numbers and timestamps carry
 * on without a gap. 0 or -EINVAL (another room, or of a different kind). */
int sfu_consumer_switch_producer(sfu_consumer_t *c, sfu_producer_t *pr, uint64_t now_ms);
/* Simulcast: how many layers the subscriber takes at most (0: all); a
 * smaller layer is chosen when its downlink estimate cannot carry that one.
 * 0 or -ENOENT. */
int sfu_room_consumer_set_layers(sfu_room_t *r, uint64_t consumer_id, int layer_limit,
                                 int temporal_limit, uint64_t now_ms);
uint32_t sfu_consumer_ssrc(const sfu_consumer_t *c);
sfu_producer_t *sfu_consumer_producer(const sfu_consumer_t *c);
void sfu_consumer_get_stats(const sfu_consumer_t *c, sfu_consumer_stats_t *out);
/* The consumer's sender report at now (ntp: the same instant as a 64-bit NTP
 * time): the producer's last SR mapping carried forward to now and through
 * the consumer's timestamp offset. Length, -EAGAIN when the producer has sent
 * no SR yet or nothing was forwarded, -ENOSPC. */
int sfu_consumer_write_sr(const sfu_consumer_t *c, uint64_t now_ms, uint64_t ntp, uint8_t *buf,
                          size_t cap);

#endif
