/* sfu/worker.c: a media worker: its thread, loop and UDP socket, the demux of
 * every datagram (RFC 7983) and the transports that live on it. */
#define _GNU_SOURCE /* sendmmsg */
#include "sfu/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/idmap.h"
#include "common/counter.h"
#include "common/log.h"
#include "common/mq.h"
#include "ice/demux.h"
#include "ice/stun_server.h"
#include "sfu/rtc_transport.h"
#include "sfu/tcp_server.h"

/* recvmmsg: libuv hands out one 64 KiB slot per datagram of the buffer. */
#define WORKER_RECV_BATCH 16
#define WORKER_RECV_BUF   (WORKER_RECV_BATCH * 65536)
#define WORKER_MAX_DGRAM  2048 /* larger datagrams are none of ours: dropped */
#define CONSENT_CHECK_MS  1000
#define WORKER_SOCKET_BUF (4 << 20)
/* Sends made while handling a batch go out together with sendmmsg after it. */
#define WORKER_SEND_BATCH 64
#define WORKER_SEND_SLOT  1536

typedef struct send_slot {
    struct sockaddr_storage to;
    socklen_t to_len;
    uint16_t len;
    uint8_t data[WORKER_SEND_SLOT];
} send_slot_t;

struct sfu_worker {
    int index;
    int port;
    const dtls_cert_t *cert;
    uv_loop_t loop;
    uv_udp_t udp;
    mq_t calls; /* commands from the main thread */
    uv_timer_t consent_timer;
    uv_check_t flush_check; /* after each poll: the queued sends go */
    send_slot_t *send_q;
    int send_n;
    uv_thread_t thread;
    ice_lite_t ice;
    rtc_transport_t **transports;
    size_t transport_count, transport_cap;
    idmap_t tuples;        /* hash of the remote address -> transports */
    sfu_tcp_server_t *tcp; /* ICE-TCP beside the UDP port; NULL: none */
    sfu_tcp_stats_t tcp_stats;
    uint8_t recv_buf[WORKER_RECV_BUF];
    uint8_t stun_resp[ICE_STUN_MAX_LEN];
    counter_t rx_packets, rx_dropped, stun_rejected, tx_packets, tx_failed;
    counter_t srtp_auth_failed, srtp_replayed, dtls_failed;
    _Atomic uint32_t transports_live;
};

static int64_t tuple_key(const struct sockaddr *sa)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint8_t *p;
    size_t n;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        p = (const uint8_t *)&in->sin_addr;
        n = 4;
        h = (h ^ in->sin_port) * 0x100000001b3ull;
    } else {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        p = (const uint8_t *)&in6->sin6_addr;
        n = 16;
        h = (h ^ in6->sin6_port) * 0x100000001b3ull;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return (int64_t)(h & INT64_MAX) | 1; /* positive, never 0 */
}

static rtc_transport_t *by_tuple(sfu_worker_t *w, const struct sockaddr *from)
{
    const idmap_set_t *set = idmap_get(&w->tuples, tuple_key(from));
    for (size_t i = 0; set && i < set->len; i++) {
        if (rtc_transport__matches(set->items[i], from))
            return set->items[i];
    }
    return NULL;
}

static const char *lookup_ufrag(void *ctx, const char *ufrag, void **transport)
{
    sfu_worker_t *w = ctx;
    for (size_t i = 0; i < w->transport_count; i++) {
        if (!strcmp(rtc_transport_ufrag(w->transports[i]), ufrag)) {
            *transport = w->transports[i];
            return rtc_transport__password(w->transports[i]);
        }
    }
    return NULL;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sfu_worker_t *w = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)w->recv_buf, sizeof w->recv_buf);
}

/* A STUN message from `from`, over UDP (conn NULL) or an ICE-TCP connection,
 * answered on the same path. Returns what ice_lite_handle returned. */
static int handle_stun(sfu_worker_t *w, const uint8_t *p, size_t n, const struct sockaddr *from,
                       sfu_tcp_conn_t *conn)
{
    ice_lite_result_t res;
    size_t resp_len = sizeof w->stun_resp;
    socklen_t from_len =
        from->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    /* On a dual-stack socket (--rtc-bind ::) an IPv4 peer arrives as
     * ::ffff:a.b.c.d; its XOR-MAPPED-ADDRESS must be the IPv4 address it sent from. */
    struct sockaddr_in v4;
    const struct sockaddr *mapped = from;
    socklen_t mapped_len = from_len;
    const struct sockaddr_in6 *in6 = (const void *)from;
    if (from->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        v4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = in6->sin6_port};
        memcpy(&v4.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
        mapped = (const struct sockaddr *)&v4;
        mapped_len = sizeof v4;
    }
    int rc = ice_lite_handle(&w->ice, p, n, mapped, mapped_len, lookup_ufrag, w, w->stun_resp,
                             &resp_len, &res);
    if (resp_len > 0)
        sfu_worker__send_via(w, conn, from, from_len, w->stun_resp, resp_len);
    if (rc == 0 && res.binding_ok && res.transport) {
        rtc_transport__ice_checked(res.transport, from, from_len, res.use_candidate, conn,
                                   res.priority);
        if (conn)
            sfu_tcp_conn_set_owner(conn, res.transport);
    } else if (rc) {
        counter_inc(&w->stun_rejected);
    }
    return rc;
}

/* One RFC 4571 frame from an ICE-TCP connection: the same demux as UDP, with
 * the connection standing for the 5-tuple. Until a connectivity check passed
 * on it, anything but a good check closes it (non-zero return). */
static int on_tcp_packet(void *ctx, sfu_tcp_conn_t *c, uint8_t *p, size_t n,
                         const struct sockaddr *from, socklen_t from_len)
{
    sfu_worker_t *w = ctx;
    rtc_transport_t *t = sfu_tcp_conn_owner(c);
    (void)from_len;
    counter_inc(&w->rx_packets);
    switch (ice_demux_kind(p, n)) {
    case ICE_DEMUX_STUN: {
        int rc = handle_stun(w, p, n, from, c);
        return rc && !sfu_tcp_conn_owner(c) ? rc : 0;
    }
    case ICE_DEMUX_DTLS:
        if (t) {
            rtc_transport__on_dtls(t, p, n);
            return 0;
        }
        break;
    case ICE_DEMUX_RTP:
        if (t) {
            rtc_transport__on_srtp(t, p, n, ice_demux_is_rtcp(p, n));
            return 0;
        }
        break;
    default:
        break;
    }
    counter_inc(&w->rx_dropped);
    return t ? 0 : -EPROTO;
}

static void on_tcp_close(void *ctx, sfu_tcp_conn_t *c, void *owner)
{
    (void)ctx;
    rtc_transport__path_closed(owner, c);
}

static const sfu_tcp_listener_t tcp_listener = {.on_packet = on_tcp_packet,
                                                .on_close = on_tcp_close};

static void flush_sends(sfu_worker_t *w);

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    sfu_worker_t *w = udp->data;
    if (nread < 0 || !addr)
        return; /* nread 0 without addr: nothing more to read */
    counter_inc(&w->rx_packets);
    if (nread == 0 || nread > WORKER_MAX_DGRAM || (flags & UV_UDP_PARTIAL)) {
        counter_inc(&w->rx_dropped); /* empty, or larger than any packet we take */
        return;
    }
    uint8_t *p = (uint8_t *)buf->base;
    size_t n = (size_t)nread;
    rtc_transport_t *t;
    switch (ice_demux_kind(p, n)) {
    case ICE_DEMUX_STUN:
        handle_stun(w, p, n, addr, NULL);
        return;
    case ICE_DEMUX_DTLS:
        if ((t = by_tuple(w, addr))) {
            rtc_transport__on_dtls(t, p, n);
            return;
        }
        break;
    case ICE_DEMUX_RTP:
        if ((t = by_tuple(w, addr))) {
            rtc_transport__on_srtp(t, p, n, ice_demux_is_rtcp(p, n));
            /* One packet's copies leave together, before the next datagram of
             * the batch is read: a batch of 16 would otherwise hold the first
             * one's copies back while the other 15 are decrypted and rewritten. */
            flush_sends(w);
            return;
        }
        break;
    default:
        break;
    }
    /* Garbage, or a 5-tuple that never passed a connectivity check. */
    counter_inc(&w->rx_dropped);
}

static void flush_sends(sfu_worker_t *w)
{
    struct mmsghdr msgs[WORKER_SEND_BATCH];
    struct iovec iov[WORKER_SEND_BATCH];
    int n = w->send_n, fd;
    w->send_n = 0;
    if (n == 0 || uv_fileno((const uv_handle_t *)&w->udp, &fd)) {
        counter_add(&w->tx_failed, (uint64_t)n);
        return;
    }
    for (int i = 0; i < n; i++) {
        send_slot_t *s = &w->send_q[i];
        iov[i] = (struct iovec){.iov_base = s->data, .iov_len = s->len};
        msgs[i] = (struct mmsghdr){
            .msg_hdr = {
                .msg_name = &s->to, .msg_namelen = s->to_len, .msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    for (int off = 0; off < n;) {
        int rc = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            /* The socket buffer is full (or the first datagram was refused):
             * count it and move past that datagram. */
            counter_inc(&w->tx_failed);
            off++;
            continue;
        }
        counter_add(&w->tx_packets, (uint64_t)rc);
        off += rc;
    }
}

static void on_flush_check(uv_check_t *h)
{
    flush_sends(h->data);
}

int sfu_worker__send(sfu_worker_t *w, const struct sockaddr *to, socklen_t to_len,
                     const uint8_t *data, size_t len)
{
    if (len > WORKER_SEND_SLOT || to_len > sizeof(struct sockaddr_storage)) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int rc = uv_udp_try_send(&w->udp, &b, 1, to);
        if (rc < 0) {
            counter_inc(&w->tx_failed);
            return rc;
        }
        counter_inc(&w->tx_packets);
        return 0;
    }
    if (w->send_n == WORKER_SEND_BATCH)
        flush_sends(w);
    send_slot_t *s = &w->send_q[w->send_n++];
    memcpy(&s->to, to, to_len);
    s->to_len = to_len;
    s->len = (uint16_t)len;
    memcpy(s->data, data, len);
    return 0;
}

int sfu_worker__send_via(sfu_worker_t *w, void *path, const struct sockaddr *to, socklen_t to_len,
                         const uint8_t *data, size_t len)
{
    if (!path)
        return sfu_worker__send(w, to, to_len, data, len);
    int rc = sfu_tcp_conn_send(path, data, len);
    counter_inc(rc ? &w->tx_failed : &w->tx_packets);
    return rc;
}

uv_loop_t *sfu_worker__loop(sfu_worker_t *w)
{
    return &w->loop;
}

const dtls_cert_t *sfu_worker__cert(sfu_worker_t *w)
{
    return w->cert;
}

int sfu_worker__register(sfu_worker_t *w, rtc_transport_t *t)
{
    if (w->transport_count == w->transport_cap) {
        size_t cap = w->transport_cap ? w->transport_cap * 2 : 16;
        rtc_transport_t **grown = realloc(w->transports, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        w->transports = grown;
        w->transport_cap = cap;
    }
    w->transports[w->transport_count++] = t;
    atomic_store_explicit(&w->transports_live, (uint32_t)w->transport_count, memory_order_relaxed);
    return 0;
}

void sfu_worker__unregister(sfu_worker_t *w, rtc_transport_t *t)
{
    for (size_t i = 0; i < w->transport_count; i++) {
        if (w->transports[i] == t) {
            w->transports[i] = w->transports[--w->transport_count];
            atomic_store_explicit(&w->transports_live, (uint32_t)w->transport_count,
                                  memory_order_relaxed);
            break;
        }
    }
    /* Its ICE-TCP connections close; its learned 5-tuple goes too (at most
     * one is learned at a time). */
    sfu_tcp_server_disown(w->tcp, t);
    for (size_t i = 0; i < w->tuples.cap; i++) {
        idmap_set_t *s = &w->tuples.slots[i];
        for (size_t j = 0; j < s->len; j++) {
            if (s->items[j] == t)
                s->items[j--] = s->items[--s->len];
        }
    }
}

void sfu_worker__tuple_learn(sfu_worker_t *w, rtc_transport_t *t, const struct sockaddr *from)
{
    idmap_add(&w->tuples, tuple_key(from), t);
}

void sfu_worker__tuple_forget(sfu_worker_t *w, rtc_transport_t *t, const struct sockaddr *from)
{
    idmap_remove(&w->tuples, tuple_key(from), t);
}

static void on_consent_tick(uv_timer_t *timer)
{
    sfu_worker_t *w = timer->data;
    uint64_t now = uv_now(&w->loop);
    for (size_t i = 0; i < w->transport_count; i++)
        rtc_transport__check_consent(w->transports[i], now);
}

static void on_close(uv_handle_t *h)
{
    (void)h;
}

/* The last command: closes every handle so that uv_run returns. */
static void worker_stop_cmd(void *ctx, void *arg)
{
    sfu_worker_t *w = ctx;
    (void)arg;
    flush_sends(w);
    sfu_tcp_server_stop(w->tcp);
    w->tcp = NULL;
    uv_close((uv_handle_t *)&w->udp, on_close);
    mq_close(&w->calls, on_close);
    uv_close((uv_handle_t *)&w->consent_timer, on_close);
    uv_close((uv_handle_t *)&w->flush_check, on_close);
}

int sfu_worker_call(sfu_worker_t *w, mq_fn fn, void *arg)
{
    return mq_post(&w->calls, fn, arg);
}

static void worker_main(void *arg)
{
    sfu_worker_t *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int sfu_worker_start(int index, const char *bind_ip, int port, const dtls_cert_t *cert,
                     sfu_worker_t **out, char *err, size_t err_cap)
{
    return sfu_worker_start_tcp(index, bind_ip, port, 0, cert, out, err, err_cap);
}

int sfu_worker_start_tcp(int index, const char *bind_ip, int port, int tcp_port,
                         const dtls_cert_t *cert, sfu_worker_t **out, char *err, size_t err_cap)
{
    sfu_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_cap, "out of memory");
        return -ENOMEM;
    }
    w->index = index;
    w->port = port;
    w->cert = cert;
    ice_lite_init(&w->ice);
    idmap_init(&w->tuples);
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
    uv_udp_init_ex(&w->loop, &w->udp, (unsigned)ss.ss_family | UV_UDP_RECVMMSG);
    mq_init(&w->calls, &w->loop, w);
    uv_timer_init(&w->loop, &w->consent_timer);
    uv_check_init(&w->loop, &w->flush_check);
    w->udp.data = w->consent_timer.data = w->flush_check.data = w;
    w->send_q = malloc(WORKER_SEND_BATCH * sizeof *w->send_q);
    rc = w->send_q ? uv_udp_bind(&w->udp, (const struct sockaddr *)&ss, 0) : UV_ENOMEM;
    if (rc == 0)
        rc = uv_check_start(&w->flush_check, on_flush_check);
    if (rc == 0)
        rc = uv_udp_recv_start(&w->udp, on_alloc, on_recv);
    if (rc == 0) {
        /* Room for bursts (keyframes from many publishers); the kernel caps
         * it at net.core.rmem_max / wmem_max. Best effort. */
        int size = WORKER_SOCKET_BUF;
        uv_recv_buffer_size((uv_handle_t *)&w->udp, &size);
        size = WORKER_SOCKET_BUF;
        uv_send_buffer_size((uv_handle_t *)&w->udp, &size);
    }
    if (rc == 0)
        rc = uv_timer_start(&w->consent_timer, on_consent_tick, CONSENT_CHECK_MS, CONSENT_CHECK_MS);
    bool tcp_failed = false;
    if (rc == 0 && tcp_port > 0) {
        /* ICE-TCP on the same address, its own port number. */
        if (ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)tcp_port);
        else
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)tcp_port);
        rc = sfu_tcp_server_start(&w->loop, (const struct sockaddr *)&ss, &tcp_listener, w,
                                  &w->tcp_stats, &w->tcp);
        tcp_failed = rc != 0;
    }
    if (rc == 0)
        rc = uv_thread_create(&w->thread, worker_main, w);
    if (rc) {
        snprintf(err, err_cap, "cannot bind media %s port %s:%d (worker %d): %s",
                 tcp_failed ? "TCP" : "UDP", bind_ip, tcp_failed ? tcp_port : port, index,
                 rc == UV_EADDRINUSE ? "port already in use" : uv_strerror(rc));
        sfu_tcp_server_stop(w->tcp);
        uv_close((uv_handle_t *)&w->udp, on_close);
        uv_close((uv_handle_t *)&w->calls.async, on_close);
        uv_close((uv_handle_t *)&w->consent_timer, on_close);
        uv_close((uv_handle_t *)&w->flush_check, on_close);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        mq_destroy(&w->calls);
        idmap_free(&w->tuples);
        free(w->send_q);
        free(w);
        return rc;
    }
    log_debug("worker", "media worker %d on udp %s:%d, tcp %d", index, bind_ip, port, tcp_port);
    *out = w;
    return 0;
}

void sfu_worker_stop(sfu_worker_t *w)
{
    if (!w)
        return;
    if (mq_post(&w->calls, worker_stop_cmd, NULL)) {
        log_error("worker", "media worker %d: cannot post its stop", w->index);
        return;
    }
    uv_thread_join(&w->thread);
    mq_drain(&w->calls); /* calls that raced the stop still run (and free their args) */
    while (w->transport_count)
        rtc_transport_free(w->transports[0]);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    idmap_free(&w->tuples);
    free(w->transports);
    free(w->send_q);
    mq_destroy(&w->calls);
    free(w);
}

void sfu_worker_stats(const sfu_worker_t *w, sfu_worker_stats_t *out)
{
    out->rx_packets = counter_get(&w->rx_packets);
    out->rx_dropped = counter_get(&w->rx_dropped);
    out->stun_rejected = counter_get(&w->stun_rejected);
    out->tx_packets = counter_get(&w->tx_packets);
    out->tx_failed = counter_get(&w->tx_failed);
    out->srtp_auth_failed = counter_get(&w->srtp_auth_failed);
    out->srtp_replayed = counter_get(&w->srtp_replayed);
    out->dtls_failed = counter_get(&w->dtls_failed);
    out->transports = atomic_load_explicit(&w->transports_live, memory_order_relaxed);
    out->tcp_accepted = counter_get(&w->tcp_stats.accepted);
    out->tcp_refused = counter_get(&w->tcp_stats.refused);
    out->tcp_timed_out = counter_get(&w->tcp_stats.timed_out);
    out->tcp_bad = counter_get(&w->tcp_stats.bad);
}

void sfu_worker__count(sfu_worker_t *w, sfu_worker_event_t what)
{
    switch (what) {
    case SFU_WORKER_SRTP_AUTH:
        counter_inc(&w->srtp_auth_failed);
        break;
    case SFU_WORKER_SRTP_REPLAY:
        counter_inc(&w->srtp_replayed);
        break;
    case SFU_WORKER_DTLS_FAIL:
        counter_inc(&w->dtls_failed);
        break;
    }
}
