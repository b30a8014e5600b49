/* sfu/worker.h: media worker threads, each with its own uv loop and UDP port.
 * Rooms are pinned to one worker; the main thread talks to it by messages. */
#ifndef SFU_WORKER_H
#define SFU_WORKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sfu_worker sfu_worker_t;

typedef struct sfu_worker_stats {
    uint64_t rx_packets;
    uint64_t rx_dropped; /* from no known transport, or not a media packet */
} sfu_worker_stats_t;

/* Binds bind_ip:port on a new loop and starts the thread. On failure writes one
 * line naming the problem into err. */
int sfu_worker_start(int index, const char *bind_ip, int port, sfu_worker_t **out, char *err,
                     size_t err_cap);
/* Asks the worker to stop, joins its thread and frees it; NULL is a no-op. */
void sfu_worker_stop(sfu_worker_t *w);
/* A snapshot of the worker's counters (read without locks: each is one word). */
void sfu_worker_stats(const sfu_worker_t *w, sfu_worker_stats_t *out);

#endif
