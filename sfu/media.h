/* sfu/media.h: the media plane as the main thread drives it. Every call here
 * is asynchronous: it posts a command to the worker that owns the room; legs
 * report their state back on the main loop through the events callback. */
#ifndef SFU_MEDIA_H
#define SFU_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sfu/room.h"
#include "sfu/worker.h"

typedef struct sfu_media sfu_media_t;

typedef struct sfu_media_events {
    /* A leg (one participant's publish or subscribe transport) connected
     * (DTLS done) or closed (reason set: ICE consent lapsed, DTLS ended). */
    void (*on_leg_state)(void *ctx, uint64_t leg_id, bool connected, const char *reason);
    /* A room's audio, at most every SFU_SPEAKER_INTERVAL_MS while audio flows:
     * the active speaker's producer (0: nobody yet; changed: it just changed)
     * and the loudness (0 silent - 127) of each of its n audio producers. */
    void (*on_speaker)(void *ctx, int64_t room_id, uint64_t active_producer_id, bool changed, int n,
                       const uint64_t *producer_ids, const uint8_t *loudness);
} sfu_media_events_t;

typedef struct sfu_media_counters {
    uint64_t rtp_forwarded, sr_sent, pli_sent, rr_sent, nack_sent, send_failed;
    uint64_t nack_received, keyframe_requests;
    uint64_t retransmitted, nack_miss, upstream_recovered, upstream_given_up;
    uint64_t upstream_rtx, upstream_rtx_padding;
    uint64_t twcc_sent, twcc_received, remb_sent, layer_switches, probes;
    uint64_t rtp_malformed;     /* decrypted, yet not well-formed RTP */
    uint64_t unknown_ssrc;      /* RTP of no producer of the leg that sent it */
    uint64_t rtp_not_placed;    /* duplicates and stale packets refused by a consumer */
    uint64_t rtcp_malformed;    /* compound RTCP that did not parse to its end */
    uint64_t rtcp_unknown_ssrc; /* feedback naming no consumer of that leg */
    /* From the workers' sockets and transports. */
    uint64_t udp_rx, udp_rx_dropped, stun_rejected, udp_tx, udp_tx_failed;
    uint64_t srtp_auth_failed, srtp_replayed, dtls_failed;
    uint64_t transports;
    uint64_t tcp_accepted, tcp_refused, tcp_timed_out, tcp_bad; /* ICE-TCP connections */
    /* Data channels (sfu/datachannel.h, sfu_dc_stats_t). */
    uint64_t dc_relayed_reliable, dc_relayed_unreliable, dc_bytes_reliable, dc_bytes_unreliable;
    uint64_t dc_dropped_size, dc_dropped_rate, dc_dropped_full, dc_closed_not_reading;
} sfu_media_counters_t;

sfu_media_t *sfu_media_new(uv_loop_t *main_loop, sfu_worker_t *const *workers, int count,
                           const char *fingerprint, const sfu_media_events_t *events, void *ctx);
/* Closes every leg on every worker first (call before stopping the workers). */
void sfu_media_free(sfu_media_t *m);

/* The most a publisher is asked to send per video track (--max-video-bitrate),
 * for rooms opened from now on. */
void sfu_media_set_max_video_bitrate(sfu_media_t *m, int kbps);
/* The worker a room lives on (its port is rtc_port + this). */
int sfu_media_worker_of_room(const sfu_media_t *m, int64_t room_id);
const char *sfu_media_fingerprint(const sfu_media_t *m);

/* Each returns 0 once the command is queued (or a negative code); the worker
 * carries it out in order. A room exists on its worker while it has legs. */
int sfu_media_leg_open(sfu_media_t *m, int64_t room_id, uint64_t leg_id, const char *ufrag,
                       const char *pwd, const char *remote_fingerprint);
int sfu_media_leg_close(sfu_media_t *m, int64_t room_id, uint64_t leg_id);
/* ICE restart: the leg's transport answers checks with these credentials
 * from now on; its DTLS session, producers and consumers stay. */
int sfu_media_leg_restart_ice(sfu_media_t *m, int64_t room_id, uint64_t leg_id, const char *ufrag,
                              const char *pwd);
/* What a subscriber accepted for what its subscribe leg sends: extension
 * ids, and RTX for retransmissions. */
int sfu_media_leg_set_caps(sfu_media_t *m, int64_t room_id, uint64_t leg_id,
                           const rtp_ext_ids_t *ids, bool rtx);
/* RTP with params->ssrc arriving on the leg becomes a track others consume. */
int sfu_media_producer_add(sfu_media_t *m, int64_t room_id, uint64_t leg_id,
                           const sfu_producer_params_t *params);
/* Removes the producer only when owner_leg_id publishes it. */
int sfu_media_producer_remove(sfu_media_t *m, int64_t room_id, uint64_t owner_leg_id,
                              uint64_t producer_id);
/* Sends the producer's packets on the leg under params->ssrc; asks the
 * publisher for a keyframe when the track is video. */
int sfu_media_consumer_add(sfu_media_t *m, int64_t room_id, uint64_t producer_id, uint64_t leg_id,
                           const sfu_consumer_params_t *params);
/* The leg terminates data channels (SCTP over its DTLS) for user_id, whose
 * messages on "app"/"state" go to the room's other such legs. */
int sfu_media_leg_datachannel(sfu_media_t *m, int64_t room_id, uint64_t leg_id, int64_t user_id);
/* The consumer params->id sends producer_id's packets from now on, under
 * the same SSRC with its numbering and timestamps carried on (the
 * subscriber sees one stream whose source changed); made anew on the leg
 * when it is gone (its producer left). Same kind of track only. */
int sfu_media_consumer_switch(sfu_media_t *m, int64_t room_id, uint64_t producer_id,
                              uint64_t leg_id, const sfu_consumer_params_t *params);
int sfu_media_consumer_remove(sfu_media_t *m, int64_t room_id, uint64_t consumer_id);
int sfu_media_consumer_pause(sfu_media_t *m, int64_t room_id, uint64_t consumer_id, bool paused);
/* Simulcast: the most layers the consumer's subscriber takes (0: all). */
int sfu_media_consumer_set_layers(sfu_media_t *m, int64_t room_id, uint64_t consumer_id,
                                  int layer_limit);
/* Whether on_leg_state's reason says the client closed its side cleanly
 * (DTLS close_notify): it hung up; nothing failed. */
bool sfu_media_reason_is_hangup(const char *reason);
/* Sums over workers (C11 atomics, read without locks). */
void sfu_media_counters(const sfu_media_t *m, sfu_media_counters_t *out);

#endif
