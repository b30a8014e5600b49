/* tools/loadgen/sock.c: a UDP socket on 127.0.0.1 (--media-ip) watched by a uv_poll handle,
 * read with recvmmsg batches; each datagram carries the kernel's receive time
 * (SO_TIMESTAMPNS), so latency excludes the generator's own queueing. */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/loadgen/lg.h"

#define RECV_BATCH  16
#define RECV_ROUNDS 8 /* batches per wake-up, so one busy socket cannot starve the loop */

static uint8_t bufs[RECV_BATCH][2048];

char lg_media_ip[INET_ADDRSTRLEN] = "127.0.0.1";

uint64_t lg_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    lg_sock_t *s = h->data;
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_in from[RECV_BATCH];
    char ctrl[RECV_BATCH][64];
    if (status < 0 || !(events & UV_READABLE))
        return;
    for (int round = 0; round < RECV_ROUNDS; round++) {
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                   .msg_namelen = sizeof from[i],
                                                   .msg_iov = &iov[i],
                                                   .msg_iovlen = 1,
                                                   .msg_control = ctrl[i],
                                                   .msg_controllen = sizeof ctrl[i]}};
        }
        int n = recvmmsg(s->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        uint64_t fallback = lg_now_ns();
        for (int i = 0; i < n && s->fd >= 0; i++) {
            uint64_t rx_ns = fallback;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    rx_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
                }
            }
            s->on_recv(s->ctx, bufs[i], msgs[i].msg_len, &from[i], rx_ns);
        }
        if (n < RECV_BATCH)
            return;
    }
}

int lg_sock_open(lg_sock_t *s, uv_loop_t *loop, lg_sock_recv_fn on_recv, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->on_recv = on_recv;
    s->ctx = ctx;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, lg_media_ip, &a.sin_addr) != 1) {
        close(s->fd);
        s->fd = -1;
        return -EINVAL;
    }
    int on = 1, rcv = 2 << 20, snd = 1 << 20;
    setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    socklen_t len = sizeof a;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(s->fd, (struct sockaddr *)&a, &len)) {
        int rc = -errno;
        close(s->fd);
        s->fd = -1;
        return rc;
    }
    s->addr = a;
    int rc = uv_poll_init(loop, &s->poll, s->fd);
    if (rc) {
        close(s->fd);
        s->fd = -1;
        return rc;
    }
    s->live = true;
    s->poll.data = s;
    return uv_poll_start(&s->poll, UV_READABLE, on_poll);
}

int lg_sock_send(lg_sock_t *s, const struct sockaddr_in *to, const uint8_t *data, size_t len)
{
    if (s->fd < 0)
        return -EBADF;
    ssize_t n = sendto(s->fd, data, len, 0, (const struct sockaddr *)to, sizeof *to);
    return n < 0 ? -errno : 0;
}

static void on_closed(uv_handle_t *h)
{
    lg_sock_t *s = h->data;
    close(s->fd);
    s->fd = -1;
    s->live = false;
}

void lg_sock_close(lg_sock_t *s)
{
    if (s->live && !uv_is_closing((uv_handle_t *)&s->poll))
        uv_close((uv_handle_t *)&s->poll, on_closed);
}
