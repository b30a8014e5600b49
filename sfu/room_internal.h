/* sfu/room_internal.h: the model's structs, shared by room.c, producer.c and
 * consumer.c only. */
#ifndef SFU_ROOM_INTERNAL_H
#define SFU_ROOM_INTERNAL_H

#include "common/idmap.h"
#include "rtp/rtp_nack_gen.h"
#include "rtp/rtp_packet_cache.h"
#include "rtp/rtp_bwe.h"
#include "rtp/rtp_codec.h"
#include "rtp/rtp_rx_stats.h"
#include "rtp/rtp_twcc.h"
#include "sfu/room.h"

struct sfu_room {
    int64_t id;
    sfu_room_env_t env;
    idmap_t legs;              /* leg id -> leg */
    idmap_t producers_by_id;   /* producer id -> producer */
    idmap_t producers_by_ssrc; /* ssrc + 1 -> producer: the room's one SSRC space */
    idmap_t consumers_by_id;   /* consumer id -> consumer */
    sfu_speaker_t speaker;     /* over its audio producers */
    size_t leg_count;
};

#define SFU_LEG_RETIRED 4

struct sfu_leg {
    sfu_room_t *room;
    uint64_t id;
    sfu_leg_io_t io;
    void *io_ctx;
    bool connected;
    rtp_ext_ids_t ext;         /* ids the subscriber accepted for what we send */
    bool rtx;                  /* the subscriber takes RTX */
    rtp_bwe_t *bwe;            /* subscribe leg with transport-cc: its downlink estimate */
    rtp_twcc_recorder_t *twcc; /* publish leg with transport-cc: arrivals to report */
    uint64_t last_twcc_ms;     /* when feedback last went */
    uint64_t last_remb_ms, last_remb_bps, remb_checked_ms;
    uint16_t twcc_seq; /* transport-wide sequence of what this leg sends */
    /* Probing the downlink with padding (RTX copies of recent packets) when
     * a simulcast consumer is held below what its subscriber wants. */
    uint64_t probe_until_ms, probe_start_ms, next_probe_ms, probe_backoff_ms;
    uint64_t probe_bps, probe_bytes, probe_from_bps;
    sfu_producer_t *producers; /* published on this leg: owned */
    sfu_consumer_t *consumers; /* sent on this leg: owned */
    idmap_t consumers_by_ssrc; /* outgoing ssrc + 1 -> consumer, for feedback */
    /* Where the last consumers removed from the leg left their numbering, by
     * SSRC: one made again under that SSRC carries on from there (the
     * subscriber's SRTP refuses a sequence number that jumps back). */
    struct {
        uint32_t ssrc; /* 0: empty */
        rtp_rewriter_t rw;
    } retired[SFU_LEG_RETIRED];
    int retired_next;
};

/* One encoding of a producer: a stream with its own SSRC. */
typedef struct sfu_stream {
    uint32_t ssrc;     /* 0: a RID layer not bound yet */
    uint32_t rtx_ssrc; /* its RTX stream (RFC 4588); 0: none (yet) */
    rtp_rx_stats_t rx;
    uint64_t last_rr_ms;
    bool has_sr;               /* the publisher's clock mapping is known */
    uint32_t sr_rtp_ts;        /* its last SR's RTP time */
    uint64_t sr_at_ms;         /* and when it arrived */
    uint64_t last_pli_ms;      /* 0: never */
    bool keyframe_pending;     /* asked for within the throttle interval */
    rtp_packet_cache_t *cache; /* video: recent packets, for subscribers' NACKs */
    rtp_nack_gen_t *nack;      /* video: what the publisher is asked for again */
    uint64_t last_packet_ms;   /* 0: none yet */
    /* Bitrate by VP8 temporal layer: bytes of the current window, and the
     * rate of the last (bps[t]: temporal layers 0..t together). */
    uint64_t win_start_ms;
    uint64_t win_bytes[SFU_MAX_TEMPORAL];
    uint64_t bps[SFU_MAX_TEMPORAL];
    int temporal_layers; /* seen in the window: 1 without VP8 TIDs */
    int tl_seen;         /* max TID + 1 seen in the current window */
} sfu_stream_t;

struct sfu_producer {
    sfu_room_t *room;
    sfu_leg_t *owner;
    sfu_producer_params_t p;
    sfu_producer_t *next_in_leg;
    sfu_consumer_t *consumers; /* linked by next_of_producer */
    int nstreams;              /* 1, or the simulcast layers */
    sfu_stream_t streams[SFU_MAX_LAYERS];
    sfu_producer_stats_t stats;
};

/* What a simulcast producer read of one packet, once for all its consumers. */
typedef struct sfu_rtp_info {
    int layer;     /* the stream it came on (0 without simulcast) */
    bool keyframe; /* simulcast only: it starts a keyframe */
    bool vp8;      /* simulcast VP8: vp8_desc was read */
    rtp_vp8_desc_t vp8_desc;
} sfu_rtp_info_t;

/* A VP8 picture id's fate, for the consumer's picture id continuity. */
typedef struct sfu_vp8_pic {
    uint16_t in, out;
    bool valid, dropped;
} sfu_vp8_pic_t;
#define SFU_VP8_PIC_HISTORY 64

struct sfu_consumer {
    sfu_room_t *room;
    sfu_producer_t *producer;
    sfu_leg_t *leg;
    sfu_consumer_params_t p;
    sfu_consumer_t *next_of_producer, *next_in_leg;
    rtp_rewriter_t rw;
    rtp_ext_map_t ext_map; /* publisher ids -> subscriber ids */
    uint64_t last_sr_ms;
    uint16_t rtx_seq; /* the RTX stream's own sequence numbers */
    sfu_consumer_stats_t stats;
    /* Simulcast: the layer sent (-1: none yet), the one switched to on its
     * next keyframe, and the VP8 temporal layers let through (TID < tl). */
    int layer, target_layer, tl, target_tl;
    uint64_t layer_checked_ms, target_asked_ms, up_since_ms;
    bool budget_limited; /* the estimate, not the subscriber, holds it down */
    /* VP8: picture ids and TL0PICIDX continuous across layers and drops. */
    bool vp8_started, vp8_resync;
    uint16_t pic_mod; /* 0x8000 or 0x80 */
    uint16_t max_in_pic, last_out_pic;
    uint8_t tl0_offset, last_out_tl0;
    sfu_vp8_pic_t pics[SFU_VP8_PIC_HISTORY];
};

/* producer.c */
void sfu_producer__free(sfu_producer_t *pr);
void sfu_producer__on_rtp(sfu_producer_t *pr, const rtp_packet_t *pkt, uint64_t now_ms);
void sfu_producer__on_sr(sfu_producer_t *pr, const rtcp_sr_t *sr, uint64_t now_ms);
/* Starts keeping the producer's recent packets (video; no-op once it does). */
void sfu_producer__want_cache(sfu_producer_t *pr);
/* Asks the publisher again for these sequence numbers of stream s. */
void sfu_producer__nack(sfu_producer_t *pr, sfu_stream_t *s, const uint16_t *seqs, int count);
/* The stream of that SSRC, or NULL. */
sfu_stream_t *sfu_producer__stream(sfu_producer_t *pr, uint32_t ssrc);
int sfu_producer__layer_of(const sfu_producer_t *pr, uint32_t ssrc);
/* A keyframe on one layer, throttled per stream. */
void sfu_producer__request_layer_keyframe(sfu_producer_t *pr, int layer, uint64_t now_ms);
/* A RID layer's SSRC, learnt from its first packet on the owner's leg. 0 or
 * -EEXIST (the SSRC is the room's already). */
int sfu_producer__bind(sfu_producer_t *pr, int layer, uint32_t ssrc);
/* The same for a layer's RTX stream. */
int sfu_producer__bind_rtx(sfu_producer_t *pr, int layer, uint32_t ssrc);
/* A packet of the producer's RTX payload type: padding is left there; a
 * retransmission goes on as the packet it repairs. pkt is rewritten in place. */
void sfu_producer__on_rtx(sfu_producer_t *pr, rtp_packet_t *pkt, uint64_t now_ms);

/* consumer.c */
void sfu_consumer__free(sfu_consumer_t *c);
/* A packet of the producer, with what the producer read of it. */
void sfu_consumer__send_rtp(sfu_consumer_t *c, const rtp_packet_t *pkt, const sfu_rtp_info_t *info,
                            uint64_t now_ms);
void sfu_consumer__rebuild_ext_map(sfu_consumer_t *c);
void sfu_consumer__on_feedback(sfu_consumer_t *c, const rtcp_fb_t *fb, uint64_t now_ms);
void sfu_consumer__on_report(sfu_consumer_t *c, const rtcp_report_block_t *rb);

/* Padding for a probe of the leg's downlink, after a packet went out. */
void sfu_consumer__pad(sfu_consumer_t *c, uint64_t now_ms);

/* room.c: send on a leg, counted. */
int sfu_leg__send_rtcp(sfu_leg_t *leg, uint8_t *pkt, size_t len);
/* What one subscribe leg can take for one video track (0: unknown). */
uint64_t sfu_leg__share_bps(const sfu_leg_t *leg);
/* A consumer on leg is held below what it wants: probe when due. */
void sfu_leg__want_probe(sfu_leg_t *leg, uint64_t now_ms);

#endif
