/* sfu/tcp_server.h: the passive side of ICE over TCP (RFC 6544) for one media
 * worker: a listening socket beside its UDP port, and the connections
 * browsers open to it, each carrying RFC 4571 framed STUN, DTLS and SRTP.
 * Runs on the worker's loop only. Every connection is bounded: a 2 KiB frame
 * buffer, a capped send queue, and until ICE owns it (a connectivity check
 * passed), a deadline and a cap on how many may wait. */
#ifndef SFU_TCP_SERVER_H
#define SFU_TCP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/counter.h"

/* At most this many connections per worker, and of them at most
 * SFU_TCP_MAX_UNOWNED that no transport owns yet; further ones are closed at
 * once. An unowned connection is closed after SFU_TCP_UNOWNED_TIMEOUT_MS. */
#define SFU_TCP_MAX_CONNS          1024
#define SFU_TCP_MAX_UNOWNED        64
#define SFU_TCP_UNOWNED_TIMEOUT_MS 10000
/* Bytes queued for a connection the kernel will not take yet; packets past
 * it are dropped whole (media over TCP must not build seconds of delay). */
#define SFU_TCP_SEND_QUEUE_MAX (256 * 1024)

typedef struct sfu_tcp_server sfu_tcp_server_t;
typedef struct sfu_tcp_conn sfu_tcp_conn_t;

typedef struct sfu_tcp_listener {
    /* One whole packet from c, which the caller may rewrite in place. A
     * non-zero return closes c. */
    int (*on_packet)(void *ctx, sfu_tcp_conn_t *c, uint8_t *pkt, size_t len,
                     const struct sockaddr *from, socklen_t from_len);
    /* c is closing (peer gone, a limit broken, the server stopping) while
     * owned by owner; after this no call names c again. */
    void (*on_close)(void *ctx, sfu_tcp_conn_t *c, void *owner);
} sfu_tcp_listener_t;

typedef struct sfu_tcp_stats {
    counter_t accepted;  /* connections taken */
    counter_t refused;   /* closed at once: over SFU_TCP_MAX_CONNS or _UNOWNED */
    counter_t timed_out; /* closed unowned after SFU_TCP_UNOWNED_TIMEOUT_MS */
    counter_t bad;       /* closed for bad framing or a refused first packet */
    counter_t tx_dropped;
} sfu_tcp_stats_t;

/* Listens on addr on loop, counting into stats (the caller's, read from any
 * thread). 0, or a negative uv error (UV_EADDRINUSE, ...). */
int sfu_tcp_server_start(uv_loop_t *loop, const struct sockaddr *addr,
                         const sfu_tcp_listener_t *listener, void *ctx, sfu_tcp_stats_t *stats,
                         sfu_tcp_server_t **out);
/* Closes the listener and every connection (on_close for owned ones); the
 * memory goes once the loop has run the handles' close callbacks. NULL is a
 * no-op. */
void sfu_tcp_server_stop(sfu_tcp_server_t *s);
/* Connections open now. */
uint32_t sfu_tcp_server_conn_count(const sfu_tcp_server_t *s);

/* Frames and sends one packet: written now if the kernel takes it, else
 * queued up to SFU_TCP_SEND_QUEUE_MAX. 0, -ENOBUFS (dropped: queue full),
 * -ENOTCONN (closing) or -EMSGSIZE. */
int sfu_tcp_conn_send(sfu_tcp_conn_t *c, const uint8_t *pkt, size_t len);
/* ICE passed on c for owner (a transport): no deadline from now on. */
void sfu_tcp_conn_set_owner(sfu_tcp_conn_t *c, void *owner);
void *sfu_tcp_conn_owner(const sfu_tcp_conn_t *c);
/* owner is going away: every connection it owns closes (without on_close). */
void sfu_tcp_server_disown(sfu_tcp_server_t *s, void *owner);

#endif
