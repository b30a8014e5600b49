/* signaling/listener.c: the HTTP port's listening socket, accepted here and
 * handed to libwebsockets (lws_adopt_socket_vhost).
 *
 * lws's own listener retries accept() on every poll when it fails with
 * EMFILE: the socket stays readable and the node spins on one core, logging
 * a line per attempt. Here a spare descriptor is kept open; when accept()
 * runs out of descriptors the spare is closed, the waiting connections are
 * accepted and closed at once (the clients see the connection closed, not a
 * hang), the spare is opened again and the listener rests for a moment. The
 * first time this happens it is logged, and again when accepting works. */
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

struct http_listener {
    uv_poll_t poll;
    uv_timer_t rest;
    int fd, spare_fd;
    bool exhausted; /* out of descriptors since the last successful accept */
    int handles_open;
    struct lws_vhost *vhost;
    uint64_t refused;
};

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_handle_closed(uv_handle_t *h)
{
    http_listener_t *l = h->data;
    if (--l->handles_open == 0)
        free(l);
}

static void on_readable(uv_poll_t *p, int status, int events);

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
        /* lws closes the socket itself when it cannot take it. */
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

http_listener_t *http_listener_start(uv_loop_t *loop, int fd, struct lws_vhost *vhost)
{
    http_listener_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->fd = fd;
    l->vhost = vhost;
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
    uv_poll_stop(&l->poll);
    uv_timer_stop(&l->rest);
    close(l->fd);
    if (l->spare_fd >= 0)
        close(l->spare_fd);
    l->fd = l->spare_fd = -1;
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
    uv_close((uv_handle_t *)&l->rest, on_handle_closed);
}
