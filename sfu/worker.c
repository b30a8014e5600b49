#include "sfu/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/log.h"

#define WORKER_RECV_BUF 2048

struct sfu_worker {
    int index;
    int port;
    uv_loop_t loop;
    uv_udp_t udp;
    uv_async_t wake; /* stop requests (later: the command queue) */
    uv_thread_t thread;
    volatile int stopping;
    uint8_t recv_buf[WORKER_RECV_BUF];
    volatile uint64_t rx_packets, rx_dropped;
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sfu_worker_t *w = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)w->recv_buf, sizeof w->recv_buf);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    sfu_worker_t *w = udp->data;
    (void)buf;
    (void)flags;
    if (nread <= 0 || !addr)
        return;
    w->rx_packets++;
    /* No transports exist yet: every datagram is from an unknown 5-tuple. */
    w->rx_dropped++;
}

static void on_close(uv_handle_t *h)
{
    (void)h;
}

static void on_wake(uv_async_t *a)
{
    sfu_worker_t *w = a->data;
    if (!w->stopping)
        return;
    uv_close((uv_handle_t *)&w->udp, on_close);
    uv_close((uv_handle_t *)&w->wake, on_close);
}

static void worker_main(void *arg)
{
    sfu_worker_t *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int sfu_worker_start(int index, const char *bind_ip, int port, sfu_worker_t **out, char *err,
                     size_t err_cap)
{
    sfu_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_cap, "out of memory");
        return -ENOMEM;
    }
    w->index = index;
    w->port = port;
    struct sockaddr_storage ss;
    int rc = strchr(bind_ip, ':') ? uv_ip6_addr(bind_ip, port, (struct sockaddr_in6 *)&ss)
                                  : uv_ip4_addr(bind_ip, port, (struct sockaddr_in *)&ss);
    if (rc == 0)
        rc = uv_loop_init(&w->loop);
    if (rc) {
        snprintf(err, err_cap, "media worker %d: bad address %s:%d", index, bind_ip, port);
        free(w);
        return rc;
    }
    uv_udp_init(&w->loop, &w->udp);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->udp.data = w;
    w->wake.data = w;
    rc = uv_udp_bind(&w->udp, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&w->udp, on_alloc, on_recv);
    if (rc == 0)
        rc = uv_thread_create(&w->thread, worker_main, w);
    if (rc) {
        snprintf(err, err_cap, "cannot bind media port %s:%d (worker %d): %s", bind_ip, port, index,
                 rc == UV_EADDRINUSE ? "port already in use" : uv_strerror(rc));
        uv_close((uv_handle_t *)&w->udp, on_close);
        uv_close((uv_handle_t *)&w->wake, on_close);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        free(w);
        return rc;
    }
    log_debug("worker", "media worker %d on udp %s:%d", index, bind_ip, port);
    *out = w;
    return 0;
}

void sfu_worker_stop(sfu_worker_t *w)
{
    if (!w)
        return;
    w->stopping = 1;
    uv_async_send(&w->wake);
    uv_thread_join(&w->thread);
    uv_loop_close(&w->loop);
    free(w);
}

void sfu_worker_stats(const sfu_worker_t *w, sfu_worker_stats_t *out)
{
    out->rx_packets = w->rx_packets;
    out->rx_dropped = w->rx_dropped;
}
