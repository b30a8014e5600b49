/* sfu/media.h: the media plane as the main thread drives it. Every call here
 * is asynchronous: it posts a command to the worker that owns the room; legs
 * report their state back on the main loop through the events callback. */
#ifndef SFU_MEDIA_H
#define SFU_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sfu/worker.h"

typedef struct sfu_media sfu_media_t;

typedef struct sfu_media_events {
    /* A leg (one participant's publish or subscribe transport) connected
     * (DTLS done) or closed (reason set: ICE consent lapsed, DTLS ended). */
    void (*on_leg_state)(void *ctx, uint64_t leg_id, bool connected, const char *reason);
} sfu_media_events_t;

typedef struct sfu_media_counters {
    uint64_t rtp_forwarded, rtcp_forwarded, pli_sent, rr_sent, unknown_ssrc, send_failed;
    uint64_t rtp_malformed; /* decrypted, yet not well-formed RTP */
    /* From the workers' sockets and transports. */
    uint64_t udp_rx, udp_rx_dropped, stun_rejected, udp_tx, udp_tx_failed;
    uint64_t srtp_auth_failed, srtp_replayed, dtls_failed;
    uint64_t transports;
} sfu_media_counters_t;

sfu_media_t *sfu_media_new(uv_loop_t *main_loop, sfu_worker_t *const *workers, int count,
                           const char *fingerprint, const sfu_media_events_t *events, void *ctx);
/* Closes every leg on every worker first (call before stopping the workers). */
void sfu_media_free(sfu_media_t *m);

/* The worker a room lives on. */
int sfu_media_worker_of_room(const sfu_media_t *m, int64_t room_id);
const char *sfu_media_fingerprint(const sfu_media_t *m);

int sfu_media_leg_open(sfu_media_t *m, int worker, uint64_t leg_id, const char *ufrag,
                       const char *pwd, const char *remote_fingerprint);
int sfu_media_leg_close(sfu_media_t *m, int worker, uint64_t leg_id);
/* RTP with this SSRC arriving on the leg is a track others may consume. */
int sfu_media_producer_add(sfu_media_t *m, int worker, uint64_t leg_id, uint32_t ssrc, bool video);
int sfu_media_producer_remove(sfu_media_t *m, int worker, uint32_t ssrc);
/* Forwards the producer's packets to the leg; asks the publisher for a
 * keyframe when the track is video. */
int sfu_media_consumer_add(sfu_media_t *m, int worker, uint32_t ssrc, uint64_t leg_id);
int sfu_media_consumer_remove(sfu_media_t *m, int worker, uint32_t ssrc, uint64_t leg_id);
/* Sums over workers (each word read without locks). */
void sfu_media_counters(const sfu_media_t *m, sfu_media_counters_t *out);

#endif
