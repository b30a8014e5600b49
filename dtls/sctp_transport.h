/* dtls/sctp_transport.h: SCTP over DTLS (RFC 8261) with usrsctp, and data
 * channels on it (RFC 8831, DCEP RFC 8832). One association per DTLS
 * transport: feed it the DTLS application data, hand what send_packet gives
 * to dtls_transport_send. usrsctp runs without threads of its own: the
 * caller drives its timers (sctp_transport_handle_timers) and flushes what
 * they queued (sctp_transport_flush). Every call and callback runs on the
 * thread that owns the transport; callbacks never run inside usrsctp, so
 * they may call back into this module. */
#ifndef SFU_DTLS_SCTP_TRANSPORT_H
#define SFU_DTLS_SCTP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtls/dcep.h"

#define SCTP_TRANSPORT_PORT        5000        /* a=sctp-port, both sides */
#define SCTP_TRANSPORT_STREAMS     1024        /* channels: stream ids 0-1023 */
#define SCTP_TRANSPORT_MAX_MESSAGE (64 * 1024) /* a=max-message-size default */

typedef struct sctp_transport sctp_transport_t;

typedef struct sctp_transport_callbacks {
    /* One SCTP packet for the DTLS transport to send (copy it). */
    void (*send_packet)(void *ctx, const uint8_t *data, size_t len);
    /* The association is up. */
    void (*on_connected)(void *ctx);
    /* A channel opened: by the peer (remote, we acknowledged it) or by us
     * (the peer acknowledged). */
    void (*on_channel_open)(void *ctx, uint16_t stream, const dcep_open_t *open, bool remote);
    /* One whole message; binary false: UTF-8 text (PPID 51/56). */
    void (*on_message)(void *ctx, uint16_t stream, bool binary, const uint8_t *data, size_t len);
    /* A channel closed: the peer reset it, or we closed it (reason). */
    void (*on_channel_closed)(void *ctx, uint16_t stream, const char *reason);
    /* The association ended (peer shutdown, abort, lost). At most once. */
    void (*on_closed)(void *ctx, const char *reason);
} sctp_transport_callbacks_t;

typedef struct sctp_transport_stats {
    uint64_t messages_in, messages_out, bytes_in, bytes_out;
    uint64_t dropped_oversize;   /* incoming messages over max_message (channel closed) */
    uint64_t dropped_no_channel; /* data on a stream with no open channel */
    uint64_t dcep_invalid;       /* malformed DCEP (the stream is reset) */
} sctp_transport_stats_t;

/* dtls_client: the DTLS role, which decides the parity of the stream ids we
 * open (RFC 8832 6: client even, server odd). max_message: the largest
 * message taken or sent (0: SCTP_TRANSPORT_MAX_MESSAGE); send_buffer: bytes
 * usrsctp may hold unsent per association (0: 1 MiB). NULL on failure. */
sctp_transport_t *sctp_transport_new(bool dtls_client, size_t max_message, size_t send_buffer,
                                     const sctp_transport_callbacks_t *cb, void *ctx);
/* Aborts the association (nothing more is sent or called). NULL is a no-op. */
void sctp_transport_free(sctp_transport_t *t);

/* Starts the association (INIT): call once DTLS is connected. 0 or -EIO. */
int sctp_transport_start(sctp_transport_t *t);
/* One DTLS application record from the peer. */
void sctp_transport_input(sctp_transport_t *t, const uint8_t *data, size_t len);

/* Opens a channel (DCEP OPEN on a free stream of our parity). 0 with the
 * stream in *stream, -ENOTCONN, -ENOSPC (no free stream), -EINVAL. */
int sctp_transport_open_channel(sctp_transport_t *t, const dcep_open_t *open, uint16_t *stream);
/* Sends one message on an open channel. 0, -ENOENT (no open channel),
 * -EMSGSIZE (over max_message), -EAGAIN (the send buffer is full: try later
 * or give up), -ENOTCONN, -EIO. */
int sctp_transport_send(sctp_transport_t *t, uint16_t stream, bool binary, const uint8_t *data,
                        size_t len);
/* Closes a channel (outgoing stream reset, RFC 8831 6.7); on_channel_closed
 * runs with reason. 0 or -ENOENT. */
int sctp_transport_close_channel(sctp_transport_t *t, uint16_t stream, const char *reason);
bool sctp_transport_connected(const sctp_transport_t *t);
bool sctp_transport_channel_is_open(const sctp_transport_t *t, uint16_t stream);
void sctp_transport_get_stats(const sctp_transport_t *t, sctp_transport_stats_t *out);

/* Sends what usrsctp queued for t outside a call of ours (timer
 * retransmissions). */
void sctp_transport_flush(sctp_transport_t *t);
/* Hands the callbacks what a timer delivered (an association lost, a stream
 * reset) and sends what it queued: on the owner's thread, after ticks. */
void sctp_transport_poll(sctp_transport_t *t);
/* usrsctp's timers, for every association in the process: call every
 * ~10 ms with the milliseconds since the previous call, then flush. */
void sctp_transport_handle_timers(uint32_t elapsed_ms);
/* The same from any thread with a monotonic clock: the time since the last
 * tick of any thread is what runs, so several threads may tick. */
void sctp_transport_tick(uint64_t now_ms);

#endif
