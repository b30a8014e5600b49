/* sfu/worker.h: media worker threads, each with its own uv loop and UDP port.
 * Rooms are pinned to one worker; the main thread talks to it by messages. */
#ifndef SFU_WORKER_H
#define SFU_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/mq.h"
#include "dtls/dtls_cert.h"

typedef struct sfu_worker sfu_worker_t;
typedef struct rtc_transport rtc_transport_t;

typedef struct sfu_worker_stats {
    uint64_t rx_packets;
    uint64_t rx_dropped; /* garbage, or from a 5-tuple that did not pass ICE */
    uint64_t stun_rejected;
    uint64_t tx_packets;
    uint64_t tx_failed;
    uint64_t srtp_auth_failed; /* SRTP/SRTCP that failed authentication */
    uint64_t srtp_replayed;    /* replayed SRTP/SRTCP */
    uint64_t dtls_failed;      /* transports closed by a DTLS failure or alert */
    uint32_t transports;
    /* ICE-TCP connections: taken, refused over a limit, closed unchecked
     * after the deadline, closed for bad framing or a bad first packet. */
    uint64_t tcp_accepted, tcp_refused, tcp_timed_out, tcp_bad;
} sfu_worker_stats_t;

/* Binds bind_ip:port on a new loop and starts the thread. cert (owned by the
 * caller, shared read-only) is the DTLS identity. On failure writes one line
 * naming the problem into err. */
int sfu_worker_start(int index, const char *bind_ip, int port, const dtls_cert_t *cert,
                     sfu_worker_t **out, char *err, size_t err_cap);
/* The same, with ICE-TCP (RFC 6544 passive) on bind_ip:tcp_port as well;
 * tcp_port 0: none. */
int sfu_worker_start_tcp(int index, const char *bind_ip, int port, int tcp_port,
                         const dtls_cert_t *cert, sfu_worker_t **out, char *err, size_t err_cap);
/* Asks the worker to stop, joins its thread and frees it; NULL is a no-op. */
void sfu_worker_stop(sfu_worker_t *w);
/* A snapshot of the worker's counters (each one word, read without locks). */
void sfu_worker_stats(const sfu_worker_t *w, sfu_worker_stats_t *out);

/* Runs fn(w, arg) on the worker's thread, soon (ctx is the worker). Callable
 * from any thread; 0 or a negative code (fn then never runs). */
int sfu_worker_call(sfu_worker_t *w, mq_fn fn, void *arg);

/* For rtc_transport.c, on the worker thread. */
uv_loop_t *sfu_worker__loop(sfu_worker_t *w);
const dtls_cert_t *sfu_worker__cert(sfu_worker_t *w);
int sfu_worker__send(sfu_worker_t *w, const struct sockaddr *to, socklen_t to_len,
                     const uint8_t *data, size_t len);
/* On path (an ICE-TCP connection) when not NULL, else as sfu_worker__send. */
int sfu_worker__send_via(sfu_worker_t *w, void *path, const struct sockaddr *to, socklen_t to_len,
                         const uint8_t *data, size_t len);
int sfu_worker__register(sfu_worker_t *w, rtc_transport_t *t);
void sfu_worker__unregister(sfu_worker_t *w, rtc_transport_t *t);
void sfu_worker__tuple_learn(sfu_worker_t *w, rtc_transport_t *t, const struct sockaddr *from);
void sfu_worker__tuple_forget(sfu_worker_t *w, rtc_transport_t *t, const struct sockaddr *from);
typedef enum {
    SFU_WORKER_SRTP_AUTH,
    SFU_WORKER_SRTP_REPLAY,
    SFU_WORKER_DTLS_FAIL
} sfu_worker_event_t;
void sfu_worker__count(sfu_worker_t *w, sfu_worker_event_t what);

#endif
