/* sfu/tcp_server.c: ICE-TCP passive connections on a worker's loop. */
#include "sfu/tcp_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ice/tcp_framing.h"

#define TCP_READ_BUF      65536
#define TCP_SWEEP_MS      1000
#define TCP_BACKLOG       128
#define TCP_SEND_HALF_CAP (SFU_TCP_SEND_QUEUE_MAX / 2)

struct sfu_tcp_conn {
    uv_tcp_t handle;
    sfu_tcp_server_t *srv; /* NULL once closing */
    sfu_tcp_conn_t *prev, *next;
    void *owner;
    uint64_t accepted_ms;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    bool closing;
    /* Send queue: one buffer on the wire (uv_write in flight), one filling;
     * allocated the first time the kernel refuses bytes. */
    uv_write_t wreq;
    bool writing;
    uint8_t *wire, *fill;
    size_t wire_len, fill_len;
    ice_tcp_framer_t framer;
};

struct sfu_tcp_server {
    uv_tcp_t listen;
    uv_timer_t sweep;
    int handles_open; /* listen + sweep: freed when both closed */
    sfu_tcp_listener_t listener;
    void *ctx;
    sfu_tcp_conn_t *conns;
    uint32_t conn_count, unowned_count;
    sfu_tcp_stats_t *stats;
    uint8_t read_buf[TCP_READ_BUF];
};

static void on_conn_closed(uv_handle_t *h)
{
    sfu_tcp_conn_t *c = h->data;
    free(c->wire);
    free(c->fill);
    free(c);
}

/* Unlinks c and closes its handle; notify: tell the listener when owned. */
static void conn_close(sfu_tcp_conn_t *c, bool notify)
{
    sfu_tcp_server_t *s = c->srv;
    if (c->closing)
        return;
    c->closing = true;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->conn_count--;
    if (!c->owner)
        s->unowned_count--;
    c->srv = NULL;
    if (notify && c->owner && s->listener.on_close)
        s->listener.on_close(s->ctx, c, c->owner);
    uv_close((uv_handle_t *)&c->handle, on_conn_closed);
}

static void start_write(sfu_tcp_conn_t *c);

static void on_write(uv_write_t *req, int status)
{
    sfu_tcp_conn_t *c = req->data;
    c->writing = false;
    c->wire_len = 0;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c, true);
        return;
    }
    start_write(c);
}

static void start_write(sfu_tcp_conn_t *c)
{
    if (c->writing || c->fill_len == 0)
        return;
    uint8_t *b = c->wire;
    c->wire = c->fill;
    c->wire_len = c->fill_len;
    c->fill = b;
    c->fill_len = 0;
    uv_buf_t buf = uv_buf_init((char *)c->wire, (unsigned)c->wire_len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->handle, &buf, 1, on_write) == 0)
        c->writing = true;
    else
        c->wire_len = 0;
}

/* Appends n bytes (a frame, or the unsent rest of one) to the filling buffer. */
static int queue_bytes(sfu_tcp_conn_t *c, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (!c->fill && !(c->fill = malloc(TCP_SEND_HALF_CAP)))
        return -ENOBUFS;
    if (!c->wire && !(c->wire = malloc(TCP_SEND_HALF_CAP)))
        return -ENOBUFS;
    if (c->fill_len + an + bn > TCP_SEND_HALF_CAP)
        return -ENOBUFS;
    memcpy(c->fill + c->fill_len, a, an);
    memcpy(c->fill + c->fill_len + an, b, bn);
    c->fill_len += an + bn;
    return 0;
}

int sfu_tcp_conn_send(sfu_tcp_conn_t *c, const uint8_t *pkt, size_t len)
{
    uint8_t hdr[2];
    if (c->closing)
        return -ENOTCONN;
    if (len == 0 || ice_tcp_frame_header(hdr, len))
        return -EMSGSIZE;
    sfu_tcp_server_t *s = c->srv;
    int rc;
    if (!c->writing && c->fill_len == 0) {
        uv_buf_t bufs[2] = {uv_buf_init((char *)hdr, 2), uv_buf_init((char *)pkt, (unsigned)len)};
        int n = uv_try_write((uv_stream_t *)&c->handle, bufs, 2);
        if (n == (int)(len + 2))
            return 0;
        if (n < 0 && n != UV_EAGAIN) {
            counter_inc(&s->stats->tx_dropped);
            return -ENOTCONN; /* the read side sees the error and closes */
        }
        size_t sent = n > 0 ? (size_t)n : 0;
        /* The rest of a frame the stream has started must follow it. */
        rc = sent < 2 ? queue_bytes(c, hdr + sent, 2 - sent, pkt, len)
                      : queue_bytes(c, pkt + (sent - 2), len - (sent - 2), NULL, 0);
    } else {
        rc = queue_bytes(c, hdr, 2, pkt, len);
    }
    if (rc) {
        counter_inc(&s->stats->tx_dropped);
        return rc;
    }
    start_write(c);
    return 0;
}

static int on_frame(void *ctx, uint8_t *pkt, size_t len)
{
    sfu_tcp_conn_t *c = ctx;
    sfu_tcp_server_t *s = c->srv;
    int rc = s->listener.on_packet(s->ctx, c, pkt, len, (struct sockaddr *)&c->peer, c->peer_len);
    if (rc)
        return rc;
    return c->closing ? -ECANCELED : 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sfu_tcp_conn_t *c = h->data;
    (void)suggested;
    if (c->closing || !c->srv) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->srv->read_buf, sizeof c->srv->read_buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    sfu_tcp_conn_t *c = stream->data;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        conn_close(c, true); /* EOF or reset */
        return;
    }
    sfu_tcp_server_t *s = c->srv;
    int rc =
        ice_tcp_framer_feed(&c->framer, (const uint8_t *)buf->base, (size_t)nread, on_frame, c);
    if (rc && !c->closing) {
        counter_inc(&s->stats->bad);
        conn_close(c, true);
    }
}

static void on_connection(uv_stream_t *listen, int status)
{
    sfu_tcp_server_t *s = listen->data;
    if (status < 0)
        return;
    sfu_tcp_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(listen->loop, &c->handle);
    c->handle.data = c;
    if (uv_accept(listen, (uv_stream_t *)&c->handle)) {
        uv_close((uv_handle_t *)&c->handle, on_conn_closed);
        return;
    }
    int len = sizeof c->peer;
    if (s->conn_count >= SFU_TCP_MAX_CONNS || s->unowned_count >= SFU_TCP_MAX_UNOWNED ||
        uv_tcp_getpeername(&c->handle, (struct sockaddr *)&c->peer, &len)) {
        counter_inc(&s->stats->refused);
        c->closing = true;
        uv_close((uv_handle_t *)&c->handle, on_conn_closed);
        return;
    }
    c->peer_len = (socklen_t)len;
    c->srv = s;
    c->accepted_ms = uv_now(listen->loop);
    ice_tcp_framer_init(&c->framer);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->conn_count++;
    s->unowned_count++;
    counter_inc(&s->stats->accepted);
    uv_tcp_nodelay(&c->handle, 1);
    if (uv_read_start((uv_stream_t *)&c->handle, on_alloc, on_read))
        conn_close(c, false);
}

/* Connections no transport claimed within the deadline go. */
static void on_sweep(uv_timer_t *t)
{
    sfu_tcp_server_t *s = t->data;
    uint64_t now = uv_now(t->loop);
    for (sfu_tcp_conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->owner && now - c->accepted_ms >= SFU_TCP_UNOWNED_TIMEOUT_MS) {
            counter_inc(&s->stats->timed_out);
            conn_close(c, false);
        }
    }
}

static void on_server_handle_closed(uv_handle_t *h)
{
    sfu_tcp_server_t *s = h->data;
    if (--s->handles_open == 0)
        free(s);
}

int sfu_tcp_server_start(uv_loop_t *loop, const struct sockaddr *addr,
                         const sfu_tcp_listener_t *listener, void *ctx, sfu_tcp_stats_t *stats,
                         sfu_tcp_server_t **out)
{
    sfu_tcp_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return UV_ENOMEM;
    s->listener = *listener;
    s->ctx = ctx;
    s->stats = stats;
    uv_tcp_init(loop, &s->listen);
    uv_timer_init(loop, &s->sweep);
    s->listen.data = s->sweep.data = s;
    s->handles_open = 2;
    int rc = uv_tcp_bind(&s->listen, addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listen, TCP_BACKLOG, on_connection);
    if (rc == 0)
        rc = uv_timer_start(&s->sweep, on_sweep, TCP_SWEEP_MS, TCP_SWEEP_MS);
    if (rc) {
        uv_close((uv_handle_t *)&s->listen, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->sweep, on_server_handle_closed);
        return rc;
    }
    *out = s;
    return 0;
}

void sfu_tcp_server_stop(sfu_tcp_server_t *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_close(s->conns, true);
    uv_close((uv_handle_t *)&s->listen, on_server_handle_closed);
    uv_close((uv_handle_t *)&s->sweep, on_server_handle_closed);
}

uint32_t sfu_tcp_server_conn_count(const sfu_tcp_server_t *s)
{
    return s->conn_count;
}

void sfu_tcp_conn_set_owner(sfu_tcp_conn_t *c, void *owner)
{
    if (c->closing || c->owner == owner)
        return;
    if (!c->owner)
        c->srv->unowned_count--;
    else if (!owner)
        c->srv->unowned_count++;
    c->owner = owner;
}

void *sfu_tcp_conn_owner(const sfu_tcp_conn_t *c)
{
    return c->owner;
}

void sfu_tcp_server_disown(sfu_tcp_server_t *s, void *owner)
{
    if (!s || !owner)
        return;
    for (sfu_tcp_conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->owner == owner)
            conn_close(c, false);
    }
}
