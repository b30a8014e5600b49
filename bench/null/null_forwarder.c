/* bench/null/null_forwarder.c: the ceiling for the bench. The socket work and
 * the SRTP work of the node's forwarding path (recvmmsg batches, unprotect once,
 * protect per subscriber, sendmmsg batches) with nothing else: no signaling, no
 * ICE or DTLS (keys come from tools/loadgen/null_proto.h), no RTCP, no rooms
 * beyond a fixed fan-out table: each publisher of a room goes to every other
 * participant of that room. Runs until SIGTERM/SIGINT or --max-seconds.
 * --bare 1: no SRTP either (the load generator then keys every leg alike,
 * sfu-loadgen --null-bare): each packet is copied on as it came, the machine's
 * bare socket ceiling. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dtls/srtp_session.h"
#include "ice/demux.h"
#include "tools/loadgen/null_proto.h"

#define RECV_BATCH 16
#define SEND_BATCH 64
#define SLOT       (1500 + SRTP_SESSION_TRAILER_LEN)

typedef struct null_leg {
    struct sockaddr_in addr;
    bool known;
    srtp_session_t *srtp;
} null_leg_t;

typedef struct null_fwd {
    int fd;
    int participants, per_room, publishers;
    int bare;         /* --bare 1: forward the SRTP packets untouched */
    null_leg_t *legs; /* [participant * 2 + leg] */
    /* Open addressing: remote address -> leg index + 1. */
    uint32_t *table;
    size_t table_cap;
    uint8_t (*send_buf)[SLOT];
    struct sockaddr_in send_to[SEND_BATCH];
    size_t send_len[SEND_BATCH];
    int send_n;
    uint64_t rx, tx, tx_failed, unprotect_failed, unknown;
} null_fwd_t;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static size_t addr_hash(const struct sockaddr_in *a, size_t cap)
{
    uint64_t k = (uint64_t)a->sin_addr.s_addr << 16 | a->sin_port;
    k *= 0x9e3779b97f4a7c15ull;
    return (size_t)(k >> 32) & (cap - 1);
}

static bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

static int leg_of(const null_fwd_t *f, const struct sockaddr_in *a)
{
    for (size_t i = addr_hash(a, f->table_cap), n = 0; n < f->table_cap;
         i = (i + 1) & (f->table_cap - 1), n++) {
        uint32_t v = f->table[i];
        if (!v)
            return -1;
        if (same_addr(&f->legs[v - 1].addr, a))
            return (int)v - 1;
    }
    return -1;
}

static void learn(null_fwd_t *f, int leg, const struct sockaddr_in *a)
{
    if (f->legs[leg].known)
        return;
    f->legs[leg].addr = *a;
    f->legs[leg].known = true;
    size_t i = addr_hash(a, f->table_cap);
    while (f->table[i])
        i = (i + 1) & (f->table_cap - 1);
    f->table[i] = (uint32_t)leg + 1;
}

static void flush(null_fwd_t *f)
{
    struct mmsghdr msgs[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    for (int i = 0; i < f->send_n; i++) {
        iov[i] = (struct iovec){.iov_base = f->send_buf[i], .iov_len = f->send_len[i]};
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &f->send_to[i],
                                               .msg_namelen = sizeof f->send_to[i],
                                               .msg_iov = &iov[i],
                                               .msg_iovlen = 1}};
    }
    for (int off = 0; off < f->send_n;) {
        int rc = sendmmsg(f->fd, msgs + off, (unsigned)(f->send_n - off), 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            f->tx_failed++;
            off++;
            continue;
        }
        f->tx += (uint64_t)rc;
        off += rc;
    }
    f->send_n = 0;
}

static void send_raw(null_fwd_t *f, const struct sockaddr_in *to, const uint8_t *data, size_t len)
{
    sendto(f->fd, data, len, 0, (const struct sockaddr *)to, sizeof *to);
}

/* One publisher's packet to every other participant of its room. */
static void forward(null_fwd_t *f, int from, uint8_t *pkt, size_t len)
{
    int participant = from / 2;
    if (!f->bare && srtp_session_unprotect_rtp(f->legs[from].srtp, pkt, &len)) {
        f->unprotect_failed++;
        return;
    }
    int room = participant / f->per_room;
    for (int j = room * f->per_room; j < (room + 1) * f->per_room && j < f->participants; j++) {
        null_leg_t *sub = &f->legs[j * 2 + NULL_LEG_SUB];
        if (j == participant || !sub->known)
            continue;
        if (f->send_n == SEND_BATCH)
            flush(f);
        uint8_t *out = f->send_buf[f->send_n];
        size_t out_len = len;
        memcpy(out, pkt, len);
        if (!f->bare && srtp_session_protect_rtp(sub->srtp, out, &out_len, SLOT))
            continue;
        f->send_to[f->send_n] = sub->addr;
        f->send_len[f->send_n] = out_len;
        f->send_n++;
    }
}

static void on_datagram(null_fwd_t *f, uint8_t *data, size_t len, const struct sockaddr_in *from)
{
    f->rx++;
    uint32_t participant;
    uint8_t leg;
    if (null_hello_read(data, len, &participant, &leg) == 0) {
        if (participant < (uint32_t)f->participants && leg <= NULL_LEG_SUB) {
            learn(f, (int)participant * 2 + leg, from);
            send_raw(f, from, data, len);
        }
        return;
    }
    if (ice_demux_kind(data, len) != ICE_DEMUX_RTP || ice_demux_is_rtcp(data, len))
        return;
    int l = leg_of(f, from);
    if (l < 0 || l % 2 != NULL_LEG_PUB || (l / 2) % f->per_room >= f->publishers) {
        f->unknown++;
        return;
    }
    forward(f, l, data, len);
}

static int setup(null_fwd_t *f, int port)
{
    size_t legs = (size_t)f->participants * 2;
    f->legs = calloc(legs, sizeof *f->legs);
    f->table_cap = 16;
    while (f->table_cap < legs * 2)
        f->table_cap *= 2;
    f->table = calloc(f->table_cap, sizeof *f->table);
    f->send_buf = malloc(SEND_BATCH * sizeof *f->send_buf);
    if (!f->legs || !f->table || !f->send_buf)
        return -1;
    for (size_t i = 0; i < legs; i++) {
        uint8_t up[SRTP_SESSION_MAX_KEY_LEN], down[SRTP_SESSION_MAX_KEY_LEN];
        null_key((uint32_t)(i / 2), (uint8_t)(i % 2), NULL_DIR_UP, up);
        null_key((uint32_t)(i / 2), (uint8_t)(i % 2), NULL_DIR_DOWN, down);
        f->legs[i].srtp =
            srtp_session_new(NULL_PROFILE, down, up, srtp_session_key_len(NULL_PROFILE));
        if (!f->legs[i].srtp)
            return -1;
    }
    f->fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int size = 4 << 20;
    setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof a)) {
        fprintf(stderr, "null-forwarder: cannot bind 127.0.0.1:%d: %s\n", port, strerror(errno));
        return -1;
    }
    return 0;
}

static void run(null_fwd_t *f, double max_s)
{
    static uint8_t bufs[RECV_BATCH][2048];
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_in from[RECV_BATCH];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!stopping) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) > max_s)
            break;
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                   .msg_namelen = sizeof from[i],
                                                   .msg_iov = &iov[i],
                                                   .msg_iovlen = 1}};
        }
        int n = recvmmsg(f->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < n; i++)
            on_datagram(f, bufs[i], msgs[i].msg_len, &from[i]);
        flush(f);
    }
}

int main(int argc, char **argv)
{
    null_fwd_t f = {.fd = -1, .participants = 0, .per_room = 0, .publishers = -1};
    int port = 0;
    double max_s = 3600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--participants"))
            f.participants = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--per-room"))
            f.per_room = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--publishers"))
            f.publishers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-seconds"))
            max_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--bare"))
            f.bare = atoi(argv[i + 1]);
    }
    if (port <= 0 || f.participants <= 0 || f.per_room <= 0) {
        fprintf(stderr, "Usage: null-forwarder --port P --participants N --per-room K "
                        "[--publishers M] [--max-seconds S] [--bare 1]\n");
        return 1;
    }
    if (f.publishers < 0)
        f.publishers = f.per_room;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (setup(&f, port))
        return 1;
    run(&f, max_s);
    fprintf(stderr, "null-forwarder: rx %llu tx %llu tx_failed %llu unprotect_failed %llu\n",
            (unsigned long long)f.rx, (unsigned long long)f.tx, (unsigned long long)f.tx_failed,
            (unsigned long long)f.unprotect_failed);
    for (int i = 0; i < f.participants * 2; i++)
        srtp_session_free(f.legs[i].srtp);
    free(f.legs);
    free(f.table);
    free(f.send_buf);
    close(f.fd);
    return 0;
}
