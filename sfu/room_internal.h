/* sfu/room_internal.h: the model's structs, shared by room.c, producer.c and
 * consumer.c only. */
#ifndef SFU_ROOM_INTERNAL_H
#define SFU_ROOM_INTERNAL_H

#include "common/idmap.h"
#include "rtp/rtp_nack_gen.h"
#include "rtp/rtp_packet_cache.h"
#include "rtp/rtp_bwe.h"
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
    uint16_t twcc_seq;         /* transport-wide sequence of what this leg sends */
    sfu_producer_t *producers; /* published on this leg: owned */
    sfu_consumer_t *consumers; /* sent on this leg: owned */
    idmap_t consumers_by_ssrc; /* outgoing ssrc + 1 -> consumer, for feedback */
};

struct sfu_producer {
    sfu_room_t *room;
    sfu_leg_t *owner;
    sfu_producer_params_t p;
    sfu_producer_t *next_in_leg;
    sfu_consumer_t *consumers; /* linked by next_of_producer */
    rtp_rx_stats_t rx;
    uint64_t last_rr_ms;
    bool has_sr;               /* the publisher's clock mapping is known */
    uint32_t sr_rtp_ts;        /* its last SR's RTP time */
    uint64_t sr_at_ms;         /* and when it arrived */
    uint64_t last_pli_ms;      /* 0: never */
    bool keyframe_pending;     /* asked for within the throttle interval */
    rtp_packet_cache_t *cache; /* video: recent packets, for subscribers' NACKs */
    rtp_nack_gen_t *nack;      /* video: what the publisher is asked for again */
    sfu_producer_stats_t stats;
};

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
};

/* producer.c */
void sfu_producer__free(sfu_producer_t *pr);
void sfu_producer__on_rtp(sfu_producer_t *pr, const rtp_packet_t *pkt, uint64_t now_ms);
void sfu_producer__on_sr(sfu_producer_t *pr, const rtcp_sr_t *sr, uint64_t now_ms);
/* Starts keeping the producer's recent packets (video; no-op once it does). */
void sfu_producer__want_cache(sfu_producer_t *pr);
/* Translates subscriber sequence numbers and asks the publisher again. */
void sfu_producer__nack(sfu_producer_t *pr, const uint16_t *seqs, int count);

/* consumer.c */
void sfu_consumer__free(sfu_consumer_t *c);
void sfu_consumer__send_rtp(sfu_consumer_t *c, const rtp_packet_t *pkt, uint64_t now_ms);
void sfu_consumer__rebuild_ext_map(sfu_consumer_t *c);
void sfu_consumer__on_feedback(sfu_consumer_t *c, const rtcp_fb_t *fb, uint64_t now_ms);
void sfu_consumer__on_report(sfu_consumer_t *c, const rtcp_report_block_t *rb);

/* room.c: send on a leg, counted. */
int sfu_leg__send_rtcp(sfu_leg_t *leg, uint8_t *pkt, size_t len);

#endif
