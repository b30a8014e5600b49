/* sfu/call.h: call control on the main thread. A call is one room's
 * participants; each has a publish session (the client offers, the node
 * answers) and a subscribe session (the node offers whenever the tracks it
 * should receive change, the client answers). This module keeps the tracks,
 * the subscriptions and the offer/answer state, and drives the media plane
 * on the room's worker (sfu/media.h). It knows nothing of JSON, sockets or
 * the store: signaling/ translates messages into these calls and reports
 * back to clients from the listener. */
#ifndef SFU_CALL_H
#define SFU_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtc_sdp.h"
#include "sfu/media.h"

#define SFU_CALL_MAX_PARTICIPANTS 256
#define SFU_CALL_MAX_TRACKS       8    /* published by one participant */
#define SFU_CALL_MAX_SUBS         1024 /* subscribe sections over a session's life */

typedef struct sfu_call sfu_call_t;
typedef struct sfu_participant sfu_participant_t;

/* One published track. */
typedef struct sfu_call_track {
    char mid[32];
    char source[8]; /* mic, camera, screen */
    rtc_media_kind_t kind;
    rtc_sdp_codec_t codec;
    uint32_t ssrc;
    uint64_t producer_id;  /* on the room's worker */
    rtp_ext_ids_t ext;     /* the publisher's extension ids */
    uint8_t rtx_pt;        /* video: the RTX payload type subscribers are offered */
    uint8_t pub_rtx_pt;    /* video: the publisher's own RTX, taken by the answer (0: none) */
    uint32_t pub_rtx_ssrc; /* and its SSRC, for a single stream (a=ssrc-group:FID) */
    char cname[64];
    /* Simulcast: the encodings, lowest first (layers 0 or 1: none), by RID
     * or by SSRC, and the top one's height when the publisher said (0: not
     * said; 720 assumed). */
    int layers;
    char rids[RTC_SDP_MAX_LAYERS][16];
    uint32_t layer_ssrcs[RTC_SDP_MAX_LAYERS];
    int height;
} sfu_call_track_t;

/* Upward calls, on the main thread. p's owner (sfu_participant_owner) is the
 * caller's session record. */
typedef struct sfu_call_listener {
    /* p's subscribe session needs this offer (version) answered. */
    void (*on_subscribe_offer)(void *ctx, sfu_participant_t *p, const char *sdp, unsigned version);
    /* Something p should hear about: code and a one-line message. */
    void (*on_error)(void *ctx, sfu_participant_t *p, const char *code, const char *message);
} sfu_call_listener_t;

typedef struct sfu_call_env {
    sfu_media_t *media;
    const char *announce_ip; /* the host candidates: one address or several, comma-separated */
    int rtc_port;            /* of worker 0; worker i listens on rtc_port + i */
    int rtc_tcp_port;        /* ICE-TCP likewise; 0: none */
    uint64_t *next_id;       /* the node's id counter for legs, producers, consumers */
    sfu_call_listener_t listener;
    void *ctx;
} sfu_call_env_t;

/* The reason a publish or a subscribe answer was refused: a protocol error
 * code and a one-line message. */
typedef struct sfu_call_error {
    const char *code; /* invalid_sdp, ssrc_in_use, no_offer, stale_answer */
    char message[192];
} sfu_call_error_t;

/* env is copied; the strings it points to must outlive the call. */
sfu_call_t *sfu_call_new(const sfu_call_env_t *env, int64_t room_id);
/* Closes every participant's legs and frees the call; NULL is a no-op. */
void sfu_call_free(sfu_call_t *call);
int64_t sfu_call_room_id(const sfu_call_t *call);
int sfu_call_worker(const sfu_call_t *call);
int sfu_call_participant_count(const sfu_call_t *call);
sfu_participant_t *sfu_call_participant(const sfu_call_t *call, int i);
sfu_participant_t *sfu_call_find_user(const sfu_call_t *call, int64_t user_id);
/* The participant who publishes that producer, or NULL. */
sfu_participant_t *sfu_call_find_producer(const sfu_call_t *call, uint64_t producer_id);
/* The participant one of whose legs is leg_id, or NULL. */
sfu_participant_t *sfu_call_find_leg(const sfu_call_t *call, uint64_t leg_id);
/* The call is ending: removals no longer renegotiate the others. */
void sfu_call_set_ending(sfu_call_t *call);
bool sfu_call_ending(const sfu_call_t *call);

/* A new participant, subscribed to every track already published (its first
 * offer goes with sfu_participant_offer). 0, -ENOSPC (the call is full) or
 * -ENOMEM. */
int sfu_call_add(sfu_call_t *call, int64_t user_id, const char *username, void *owner,
                 sfu_participant_t **out);
/* p only publishes (a WHIP ingest): it gets no subscribe session, now or
 * when others publish later. */
void sfu_participant_set_publish_only(sfu_participant_t *p);
/* Everything p published leaves the others' subscribe sessions (they get new
 * offers unless the call is ending), p's legs close, p is freed. */
void sfu_call_remove(sfu_participant_t *p);

/* Answers a publish offer. source_of names each section's source ("mic",
 * "camera" or "screen"; NULL for the default by kind). Tracks new in the
 * offer become producers and every other participant is renegotiated;
 * tracks gone are withdrawn. 0 with the answer (NUL-terminated) in answer,
 * or -1 with *err filled, and nothing changed. */
int sfu_participant_publish(sfu_participant_t *p, const rtc_sdp_t *offer,
                            const char *(*source_of)(void *ctx, const char *mid), void *source_ctx,
                            char *answer, size_t answer_cap, sfu_call_error_t *err);
/* The publisher's frame height of a track's top layer (from call_publish),
 * for sfu_participant_set_layers' rendered heights. */
void sfu_participant_set_track_height(sfu_participant_t *p, const char *mid, int height);

/* What p wants of one track it receives (a producer of someone else's):
 * paused (nothing sent; -1 leaves it as it is), and for simulcast tracks
 * the most layers (max_layer: the highest layer index, -1 all) or the height
 * it is rendered at (height > 0: the smallest layer at least that tall, the
 * layers taken as halving down from the top). 0, or -1 with *err filled
 * (not_found: p does not receive that track). */
int sfu_participant_set_layers(sfu_participant_t *p, uint64_t producer_id, int paused,
                               int max_layer, int height, sfu_call_error_t *err);
/* Whether an answer of that version is awaited (version -1: the client did
 * not say which; any other negative value matches nothing). 0, or -1 with
 * *err filled (no_offer, stale_answer). */
int sfu_participant_answer_expected(const sfu_participant_t *p, long long version,
                                    sfu_call_error_t *err);
/* The client's answer to the pending subscribe offer (checked as above). 0,
 * or -1 with *err filled. */
int sfu_participant_subscribe_answer(sfu_participant_t *p, const rtc_sdp_t *answer,
                                     long long version, sfu_call_error_t *err);
/* Sends p the current subscribe offer (a first one, or again after its
 * previous one may have been lost), unless it has nothing to receive. */
void sfu_participant_offer(sfu_participant_t *p, bool forget_pending);

/* ICE restart of p's subscribe session: new local credentials on its leg
 * (its DTLS session and consumers stay) and a new offer carrying them. The
 * publish session restarts through sfu_participant_publish: an offer with a
 * new ice-ufrag. */
void sfu_participant_restart_ice(sfu_participant_t *p);

sfu_call_t *sfu_participant_call(const sfu_participant_t *p);
int64_t sfu_participant_user_id(const sfu_participant_t *p);
const char *sfu_participant_username(const sfu_participant_t *p);
int64_t sfu_participant_joined_ms(const sfu_participant_t *p);
void *sfu_participant_owner(const sfu_participant_t *p);
void sfu_participant_set_owner(sfu_participant_t *p, void *owner);
const sfu_call_track_t *sfu_participant_tracks(const sfu_participant_t *p, int *count);
/* p's publish leg (open once it published). */
uint64_t sfu_participant_publish_leg(const sfu_participant_t *p);
/* Which of p's legs leg_id is: 1 publish, 2 subscribe, 0 neither. */
int sfu_participant_leg_kind(const sfu_participant_t *p, uint64_t leg_id);

#endif
