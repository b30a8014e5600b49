/* signaling/listener.c: the HTTP port's listening socket, accepted here and
 * handed to libwebsockets (lws_adopt_socket_vhost).
 *
 * lws's own listener retries accept() on every poll when it fails with
 * EMFILE: the socket stays readable and the node spins on one core, logging
 * a line per attempt. Here a spare descriptor is kept open; when accept()
 * runs out of descriptors the spare is closed, the waiting connections are
 * accepted and closed at once (the clients see the connection closed, not a
 * hang), the spare is opened again and the listener rests for a moment. The
 * first time this happens it is logged, and again when accepting works.
 *
 * On a plain-text port each connection's request head is looked at here
 * first (the gate) before the socket goes to lws: lws 4.1 closes without an
 * answer on empty lines before the request line (RFC 9112 2.2 says to ignore
 * them) and on heads past its header storage (RFC 6585 5 and RFC 9110
 * 15.5.15 want 431 and 414). The gate reads the empty lines away, answers 414
 * and 431 itself, and gives up on a head that does not complete within
 * HTTP_GATE_TIMEOUT_MS. It only peeks at the head (MSG_PEEK), so lws reads
 * the request as it arrived (lws 4.1 mishandles a body handed over with
 * lws_adopt_socket_vhost_readbuf); SO_RCVLOWAT keeps a partial head from
 * waking the gate again until more of it arrives. */
#define _GNU_SOURCE /* accept4 */
#include "signaling/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

#define LISTEN_BACKLOG     511
#define ACCEPTS_PER_WAKEUP 64
#define EXHAUSTED_PAUSE_MS 250
/* lws keeps a request's header data in HTTP_GATE_HEAD_MAX bytes (its default
 * max_http_header_data); a raw head of that size always fits. */
#define HTTP_GATE_HEAD_MAX    4096
#define HTTP_GATE_LINES_MAX   64 /* header lines a head may have */
#define HTTP_GATE_TIMEOUT_MS  5000
#define HTTP_GATE_PENDING_MAX 1024 /* heads being read at once; past it, straight to lws */

typedef struct http_gate_conn http_gate_conn_t;

struct http_listener {
    uv_poll_t poll;
    uv_timer_t rest;
    int fd, spare_fd;
    bool exhausted; /* out of descriptors since the last successful accept */
    int handles_open;
    struct lws_vhost *vhost;
    uint64_t refused;
    bool gate;               /* plain text: request heads are read here first */
    int pending;             /* gate connections not yet freed */
    http_gate_conn_t *heads; /* gate connections still reading */
    bool closing;
};

/* A connection whose request head is being read. */
struct http_gate_conn {
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    int handles_open;
    http_listener_t *l;
    http_gate_conn_t *prev, *next; /* in l->heads while reading */
    size_t len;
    char buf[HTTP_GATE_HEAD_MAX];
};

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_handle_closed(uv_handle_t *h)
{
    http_listener_t *l = h->data;
    if (--l->handles_open == 0 && l->pending == 0)
        free(l);
}

static void on_readable(uv_poll_t *p, int status, int events);
static void gate_start(http_listener_t *l, int fd);

static void on_rest_over(uv_timer_t *t)
{
    http_listener_t *l = t->data;
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

/* Out of descriptors: close what waits in the backlog (with the spare's
 * slot), then rest so a flood of connections cannot keep the loop busy. */
static void on_exhausted(http_listener_t *l, int err)
{
    if (!l->exhausted)
        log_warn("http",
                 "out of file descriptors (%s): new connections are closed until some "
                 "are free; raise the limit (LimitNOFILE / ulimit -n)",
                 strerror(err));
    l->exhausted = true;
    if (l->spare_fd >= 0) {
        close(l->spare_fd);
        l->spare_fd = -1;
    }
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        close(fd);
        l->refused++;
    }
    l->spare_fd = open_spare();
    uv_poll_stop(&l->poll);
    uv_timer_start(&l->rest, on_rest_over, EXHAUSTED_PAUSE_MS, 0);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    http_listener_t *l = p->data;
    if (status < 0)
        return;
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                on_exhausted(l, errno);
            /* EAGAIN: nothing more waits; anything else: try again on the next wakeup */
            return;
        }
        if (l->exhausted) {
            l->exhausted = false;
            log_info("http", "accepting connections again (%llu closed while out of descriptors)",
                     (unsigned long long)l->refused);
        }
        if (l->spare_fd < 0)
            l->spare_fd = open_spare();
        /* As lws's own listener does: small answers go out without waiting. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (l->gate && l->pending < HTTP_GATE_PENDING_MAX)
            gate_start(l, fd);
        else /* lws closes the socket itself when it cannot take it. */
            lws_adopt_socket_vhost(l->vhost, fd);
    }
}

int http_listener_bind(const char *host, int port, int *out_fd, char *err, size_t err_cap)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        sl = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        sl = sizeof *v6;
    } else {
        snprintf(err, err_cap, "cannot listen on %s:%d: not an IP address", host, port);
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_cap, "cannot listen on %s:%d: %s", host, port, strerror(e));
        return -e;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* "::" takes IPv4 clients too, as a dual-stack socket. */
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, LISTEN_BACKLOG)) {
        int e = errno;
        close(fd);
        snprintf(err, err_cap, "cannot listen on %s:%d: %s", host, port,
                 e == EADDRINUSE ? "port already in use" : strerror(e));
        return -e;
    }
    *out_fd = fd;
    return 0;
}

/* ---- the request-head gate ---- */

static void gate_handle_closed(uv_handle_t *h)
{
    http_gate_conn_t *g = h->data;
    if (--g->handles_open)
        return;
    http_listener_t *l = g->l;
    free(g);
    /* The listener waits for its gate connections before it is freed. */
    if (--l->pending == 0 && l->closing && l->handles_open == 0)
        free(l);
}

/* Ends the gate's part: the socket goes to lws (adopt) or is closed. */
static void gate_end(http_gate_conn_t *g, bool adopt)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        g->l->heads = g->next;
    if (g->next)
        g->next->prev = g->prev;
    uv_poll_stop(&g->poll);
    uv_timer_stop(&g->timer);
    if (adopt && !g->l->closing) {
        int one = 1;
        setsockopt(g->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
        /* lws takes the socket (and closes it when it cannot). */
        lws_adopt_socket_vhost(g->l->vhost, g->fd);
    } else {
        close(g->fd);
    }
    g->fd = -1;
    uv_close((uv_handle_t *)&g->poll, gate_handle_closed);
    uv_close((uv_handle_t *)&g->timer, gate_handle_closed);
}

/* A short answer that ends the connection (the head was not read whole). */
static void gate_refuse(http_gate_conn_t *g, int status, const char *reason)
{
    char out[256];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n"
                     "{\"error\":\"%s\"}",
                     status, reason, strlen(reason) + 12, reason);
    if (n > 0 && (size_t)n < sizeof out) {
        ssize_t w = send(g->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w; /* best effort: the connection ends either way */
    }
    shutdown(g->fd, SHUT_WR);
    gate_end(g, false);
}

/* Looks at what was peeked: 1 the head is whole, 0 wait for more, or
 * refused (-1). */
static int gate_check(http_gate_conn_t *g)
{
    const char *end = memmem(g->buf, g->len, "\r\n\r\n", 4);
    const char *line_end = memchr(g->buf, '\n', g->len);
    if (!end) {
        if (g->len < sizeof g->buf)
            return 0;
        if (!line_end)
            gate_refuse(g, 414, "URI Too Long");
        else
            gate_refuse(g, 431, "Request Header Fields Too Large");
        return -1;
    }
    int lines = 0;
    for (const char *p = line_end; p && p < end; p = memchr(p + 1, '\n', (size_t)(end - p)))
        lines++;
    if (lines > HTTP_GATE_LINES_MAX) {
        gate_refuse(g, 431, "Request Header Fields Too Large");
        return -1;
    }
    return 1;
}

static void gate_on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    http_gate_conn_t *g = p->data;
    if (status < 0) {
        gate_end(g, false);
        return;
    }
    for (;;) {
        ssize_t n = recv(g->fd, g->buf, sizeof g->buf, MSG_PEEK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            gate_end(g, false); /* closed before a whole head */
            return;
        }
        /* RFC 9112 2.2: empty lines before the request line are ignored. */
        size_t skip = 0;
        while (skip < (size_t)n && (g->buf[skip] == '\r' || g->buf[skip] == '\n'))
            skip++;
        if (skip) {
            char sink[sizeof g->buf];
            if (recv(g->fd, sink, skip, 0) != (ssize_t)skip) {
                gate_end(g, false);
                return;
            }
            continue;
        }
        g->len = (size_t)n;
        int rc = gate_check(g);
        if (rc > 0)
            gate_end(g, true);
        if (rc != 0)
            return;
        /* Not yet whole: wake again once more of it came. */
        int lowat = n + 1;
        setsockopt(g->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
        return;
    }
}

static void gate_on_timeout(uv_timer_t *t)
{
    gate_end(t->data, false);
}

static void gate_start(http_listener_t *l, int fd)
{
    http_gate_conn_t *g = malloc(sizeof *g);
    uv_loop_t *loop = l->poll.loop;
    if (!g || uv_poll_init_socket(loop, &g->poll, fd)) {
        free(g);
        lws_adopt_socket_vhost(l->vhost, fd);
        return;
    }
    g->fd = fd;
    g->l = l;
    g->len = 0;
    uv_timer_init(loop, &g->timer);
    g->poll.data = g->timer.data = g;
    g->handles_open = 2;
    g->prev = NULL;
    g->next = l->heads;
    if (l->heads)
        l->heads->prev = g;
    l->heads = g;
    l->pending++;
    uv_poll_start(&g->poll, UV_READABLE, gate_on_readable);
    uv_timer_start(&g->timer, gate_on_timeout, HTTP_GATE_TIMEOUT_MS, 0);
}

http_listener_t *http_listener_start(uv_loop_t *loop, int fd, struct lws_vhost *vhost, bool gate)
{
    http_listener_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->fd = fd;
    l->vhost = vhost;
    l->gate = gate;
    l->spare_fd = open_spare();
    if (uv_poll_init_socket(loop, &l->poll, fd)) {
        if (l->spare_fd >= 0)
            close(l->spare_fd);
        free(l);
        return NULL;
    }
    uv_timer_init(loop, &l->rest);
    l->poll.data = l->rest.data = l;
    l->handles_open = 2;
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
    return l;
}

uint64_t http_listener_refused(const http_listener_t *l)
{
    return l ? l->refused : 0;
}

void http_listener_close(http_listener_t *l)
{
    if (!l)
        return;
    l->closing = true;
    while (l->heads)
        gate_end(l->heads, false);
    uv_poll_stop(&l->poll);
    uv_timer_stop(&l->rest);
    close(l->fd);
    if (l->spare_fd >= 0)
        close(l->spare_fd);
    l->fd = l->spare_fd = -1;
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
    uv_close((uv_handle_t *)&l->rest, on_handle_closed);
}
