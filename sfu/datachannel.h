/* sfu/datachannel.h: data channels of a room's participants on a media
 * worker. A participant's publish leg terminates SCTP over its DTLS
 * (dtls/sctp_transport.h); a message on its channel "app" goes to every
 * other participant of the room on theirs, a message on "state" likewise on
 * theirs, each marked with the sender's user id (docs/PROTOCOL.md, "Data
 * channels"). Per participant: a message size limit, a message rate limit,
 * and a bounded send buffer past which its channel is closed ("not
 * reading"). Everything runs on the worker's thread. */
#ifndef SFU_DATACHANNEL_H
#define SFU_DATACHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/counter.h"

#define SFU_DC_MAX_MESSAGE 16384  /* a=max-message-size we announce */
#define SFU_DC_RATE        500    /* messages per second per participant ... */
#define SFU_DC_BURST       2000   /* ... with bursts of this many */
#define SFU_DC_SEND_BUFFER 262144 /* bytes held for one participant before its channel closes */

typedef struct sfu_dc_hub sfu_dc_hub_t;
typedef struct sfu_dc_leg sfu_dc_leg_t;

/* Per worker; written on the worker thread only, read by /metrics. A
 * message relayed to two participants counts twice; bytes are the senders'
 * payloads (without the user id the node puts in front). */
typedef struct sfu_dc_stats {
    counter_t relayed_reliable, relayed_unreliable; /* messages sent on "app" / "state" */
    counter_t bytes_reliable, bytes_unreliable;
    counter_t dropped_size;       /* incoming messages over SFU_DC_MAX_MESSAGE */
    counter_t dropped_rate;       /* incoming messages over the participant's rate */
    counter_t dropped_full;       /* "state" messages a receiver's full buffer lost */
    counter_t closed_not_reading; /* "app" channels closed: the receiver's buffer was full */
} sfu_dc_stats_t;

/* send: one SCTP packet to the leg's DTLS transport. */
typedef int (*sfu_dc_send_fn)(void *ctx, const uint8_t *data, size_t len);

/* The worker's hub: made with its first leg, gone with its last (*hub is
 * set and cleared). stats: the worker's counters (written here). */
sfu_dc_leg_t *sfu_dc_leg_new(sfu_dc_hub_t **hub, uv_loop_t *loop, sfu_dc_stats_t *stats,
                             int64_t room_id, int64_t user_id, sfu_dc_send_fn send, void *ctx);
void sfu_dc_leg_free(sfu_dc_leg_t *l);
/* DTLS is up: the SCTP association starts. */
void sfu_dc_leg_start(sfu_dc_leg_t *l);
/* DTLS application data from the participant. */
void sfu_dc_leg_input(sfu_dc_leg_t *l, const uint8_t *data, size_t len);

#endif
