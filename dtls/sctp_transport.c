/* dtls/sctp_transport.c: usrsctp over AF_CONN (one "address" per
 * transport), data channels with DCEP.
 *
 * usrsctp is process-wide: it is initialised once, without threads, and
 * names each association's lower layer by an opaque pointer. We give it a
 * number, not the transport's address, and look numbers up in a registry:
 * usrsctp may still emit packets (an ABORT, a timer) for an association
 * whose transport is gone. Packets it emits are queued and handed to
 * send_packet only after usrsctp returned (STACK_NOTES: never re-enter it
 * from its output callback); its receive callback only collects, and
 * callbacks run once usrsctp returned. */
#include "dtls/sctp_transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <usrsctp.h>

#include "common/log.h"

#define SEND_BUFFER_DEFAULT (1024 * 1024)
#define QUEUE_MAX_PACKETS   4096 /* emitted, not yet flushed; past it they drop (SCTP resends) */
/* SCTP packets fit one DTLS record in a 1,200-byte datagram (DTLS_TRANSPORT_MTU
 * less the record header, explicit IV, MAC and padding of any suite). */
#define SCTP_MTU 1100

typedef struct packet {
    struct packet *next;
    size_t len;
    uint8_t data[];
} packet_t;

/* Delivered by usrsctp during a call, handed to the callbacks after it. */
typedef struct event {
    struct event *next;
    int kind; /* EV_* */
    uint16_t stream;
    uint32_t ppid;
    size_t len;
    uint8_t data[];
} event_t;

enum { EV_DATA, EV_UP, EV_DOWN, EV_RESET_IN };

typedef enum { CH_NONE = 0, CH_OPENING, CH_OPEN } channel_state_t;

typedef struct channel {
    uint8_t state;
    uint8_t type; /* DCEP channel type */
    uint32_t reliability;
} channel_t;

struct sctp_transport {
    uintptr_t id;
    struct socket *sock;
    bool dtls_client, connected, closed, in_usrsctp;
    size_t max_message;
    sctp_transport_callbacks_t cb;
    void *ctx;
    packet_t *out_head, **out_tail; /* guarded by registry_lock */
    int out_count;
    event_t *ev_head, **ev_tail; /* owner thread only */
    uint8_t *partial;            /* a message arriving in pieces */
    size_t partial_len;
    bool partial_drop; /* the message being assembled is over max_message */
    channel_t ch[SCTP_TRANSPORT_STREAMS];
    sctp_transport_stats_t stats;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static sctp_transport_t **registry;
static size_t registry_len, registry_cap;
static uintptr_t next_id = 1;

static sctp_transport_t *registry_find(uintptr_t id)
{
    for (size_t i = 0; i < registry_len; i++) {
        if (registry[i]->id == id)
            return registry[i];
    }
    return NULL;
}

/* usrsctp's lower layer: queue the packet for its transport. */
static int conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    pthread_mutex_lock(&registry_lock);
    sctp_transport_t *t = registry_find((uintptr_t)addr);
    packet_t *p = t && t->out_count < QUEUE_MAX_PACKETS ? malloc(sizeof *p + length) : NULL;
    if (p) {
        p->next = NULL;
        p->len = length;
        memcpy(p->data, buffer, length);
        *t->out_tail = p;
        t->out_tail = &p->next;
        t->out_count++;
    }
    pthread_mutex_unlock(&registry_lock);
    return 0;
}

static void usrsctp_setup(void)
{
    usrsctp_init_nothreads(0, conn_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    /* Data channels need stream reset (RFC 6525) and PR-SCTP (RFC 3758). */
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    /* Bound what is queued by bytes (SO_SNDBUF), not by usrsctp's default of
     * 512 chunks, which a burst of small messages fills at once. */
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(65536);
}

static void dispatch(sctp_transport_t *t);

void sctp_transport_poll(sctp_transport_t *t)
{
    dispatch(t);
}

void sctp_transport_flush(sctp_transport_t *t)
{
    for (;;) {
        pthread_mutex_lock(&registry_lock);
        packet_t *p = t->out_head;
        if (p) {
            t->out_head = p->next;
            if (!t->out_head)
                t->out_tail = &t->out_head;
            t->out_count--;
        }
        pthread_mutex_unlock(&registry_lock);
        if (!p)
            return;
        if (!t->closed && t->cb.send_packet)
            t->cb.send_packet(t->ctx, p->data, p->len);
        free(p);
    }
}

static void event_push(sctp_transport_t *t, int kind, uint16_t stream, uint32_t ppid,
                       const void *data, size_t len)
{
    event_t *e = malloc(sizeof *e + len);
    if (!e)
        return;
    e->next = NULL;
    e->kind = kind;
    e->stream = stream;
    e->ppid = ppid;
    e->len = len;
    if (len)
        memcpy(e->data, data, len);
    pthread_mutex_lock(&registry_lock); /* a timer on another thread may deliver */
    *t->ev_tail = e;
    t->ev_tail = &e->next;
    pthread_mutex_unlock(&registry_lock);
}

static event_t *event_pop(sctp_transport_t *t)
{
    pthread_mutex_lock(&registry_lock);
    event_t *e = t->ev_head;
    if (e) {
        t->ev_head = e->next;
        if (!t->ev_head)
            t->ev_tail = &t->ev_head;
    }
    pthread_mutex_unlock(&registry_lock);
    return e;
}

static void on_notification(sctp_transport_t *t, const union sctp_notification *n, size_t len)
{
    if (len < sizeof n->sn_header || n->sn_header.sn_length != len)
        return;
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        if (len < sizeof n->sn_assoc_change)
            return;
        if (n->sn_assoc_change.sac_state == SCTP_COMM_UP)
            event_push(t, EV_UP, 0, 0, NULL, 0);
        else if (n->sn_assoc_change.sac_state == SCTP_COMM_LOST ||
                 n->sn_assoc_change.sac_state == SCTP_SHUTDOWN_COMP ||
                 n->sn_assoc_change.sac_state == SCTP_CANT_STR_ASSOC)
            event_push(t, EV_DOWN, 0, 0, NULL, 0);
        break;
    case SCTP_SHUTDOWN_EVENT:
        event_push(t, EV_DOWN, 0, 0, NULL, 0);
        break;
    case SCTP_STREAM_RESET_EVENT: {
        const struct sctp_stream_reset_event *r = &n->sn_strreset_event;
        if (len < sizeof *r || !(r->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN))
            return;
        size_t count = (len - sizeof *r) / sizeof(uint16_t);
        for (size_t i = 0; i < count; i++)
            event_push(t, EV_RESET_IN, r->strreset_stream_list[i], 0, NULL, 0);
        break;
    }
    default:
        break;
    }
}

/* usrsctp's upcall, inside conninput: collect whole messages. */
static int on_receive(struct socket *sock, union sctp_sockstore addr, void *data, size_t datalen,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
    (void)sock;
    (void)addr;
    pthread_mutex_lock(&registry_lock);
    sctp_transport_t *t = registry_find((uintptr_t)ulp_info);
    pthread_mutex_unlock(&registry_lock);
    if (!t || !data) {
        free(data);
        return 1;
    }
    if (flags & MSG_NOTIFICATION) {
        on_notification(t, data, datalen);
    } else if (!t->partial_drop && t->partial_len + datalen > t->max_message) {
        t->partial_drop = true; /* RFC 8831 6.6: larger than we said we take */
    } else if (!t->partial_drop) {
        uint8_t *grown = realloc(t->partial, t->partial_len + datalen + 1);
        if (grown) {
            memcpy(grown + t->partial_len, data, datalen);
            t->partial = grown;
            t->partial_len += datalen;
        } else {
            t->partial_drop = true;
        }
    }
    if (!(flags & MSG_NOTIFICATION) && (flags & MSG_EOR)) {
        if (t->partial_drop) {
            t->stats.dropped_oversize++;
            event_push(t, EV_RESET_IN, rcv.rcv_sid, UINT32_MAX, NULL, 0);
        } else {
            event_push(t, EV_DATA, rcv.rcv_sid, ntohl(rcv.rcv_ppid), t->partial, t->partial_len);
        }
        free(t->partial);
        t->partial = NULL;
        t->partial_len = 0;
        t->partial_drop = false;
    }
    free(data);
    return 1;
}

static int send_raw(sctp_transport_t *t, uint16_t stream, uint32_t ppid, const channel_t *ch,
                    const uint8_t *data, size_t len)
{
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    uint8_t kind = ch ? (uint8_t)(ch->type & ~DCEP_CHANNEL_UNORDERED) : 0;
    /* DCEP messages go ordered and reliable (RFC 8832 6). */
    if (ch && ppid != DCEP_PPID_CONTROL) {
        if (!dcep_ordered(ch->type))
            spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
        if (kind == DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT ||
            kind == DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED) {
            spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
            spa.sendv_prinfo.pr_policy =
                kind == DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
            spa.sendv_prinfo.pr_value = ch->reliability;
        }
    }
    t->in_usrsctp = true;
    ssize_t n = usrsctp_sendv(t->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    int e = errno;
    t->in_usrsctp = false;
    if (n < 0)
        return e == EWOULDBLOCK || e == EAGAIN || e == ENOBUFS ? -EAGAIN : -EIO;
    return 0;
}

static void reset_stream(sctp_transport_t *t, uint16_t stream)
{
    uint8_t buf[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)];
    struct sctp_reset_streams *srs = (struct sctp_reset_streams *)buf;
    memset(buf, 0, sizeof buf);
    srs->srs_assoc_id = SCTP_ALL_ASSOC;
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = 1;
    srs->srs_stream_list[0] = stream;
    t->in_usrsctp = true;
    usrsctp_setsockopt(t->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)sizeof buf);
    t->in_usrsctp = false;
}

static void channel_closed(sctp_transport_t *t, uint16_t stream, const char *reason, bool reset)
{
    if (stream >= SCTP_TRANSPORT_STREAMS || t->ch[stream].state == CH_NONE)
        return;
    t->ch[stream].state = CH_NONE;
    if (reset)
        reset_stream(t, stream);
    if (t->cb.on_channel_closed)
        t->cb.on_channel_closed(t->ctx, stream, reason);
}

static void on_control(sctp_transport_t *t, uint16_t stream, const uint8_t *data, size_t len)
{
    channel_t *ch = &t->ch[stream];
    if (dcep_is_ack(data, len)) {
        if (ch->state != CH_OPENING) {
            t->stats.dcep_invalid++;
            return;
        }
        ch->state = CH_OPEN;
        if (t->cb.on_channel_open) {
            dcep_open_t none = {.channel_type = ch->type, .reliability = ch->reliability};
            t->cb.on_channel_open(t->ctx, stream, &none, false);
        }
        return;
    }
    dcep_open_t open;
    if (dcep_parse_open(data, len, &open) || ch->state != CH_NONE) {
        /* Garbage, or a second OPEN on a stream in use: the stream goes. */
        log_debug("sctp", "stream %u: DCEP %s refused (channel state %d)", stream,
                  dcep_parse_open(data, len, &open) ? "garbage" : "second OPEN", (int)ch->state);
        t->stats.dcep_invalid++;
        reset_stream(t, stream);
        return;
    }
    ch->state = CH_OPEN;
    ch->type = open.channel_type;
    ch->reliability = open.reliability;
    static const uint8_t ack = DCEP_MSG_ACK;
    send_raw(t, stream, DCEP_PPID_CONTROL, NULL, &ack, 1);
    if (t->cb.on_channel_open)
        t->cb.on_channel_open(t->ctx, stream, &open, true);
}

static void close_association(sctp_transport_t *t, const char *reason)
{
    if (t->closed)
        return;
    t->closed = true;
    t->connected = false;
    if (t->cb.on_closed)
        t->cb.on_closed(t->ctx, reason);
}

/* What usrsctp delivered during the last call, now that it returned. */
static void dispatch(sctp_transport_t *t)
{
    event_t *e;
    while ((e = event_pop(t))) {
        if (t->closed) {
            free(e);
            continue;
        }
        switch (e->kind) {
        case EV_UP:
            if (!t->connected) {
                t->connected = true;
                if (t->cb.on_connected)
                    t->cb.on_connected(t->ctx);
            }
            break;
        case EV_DOWN:
            close_association(t, "SCTP association ended");
            break;
        case EV_RESET_IN:
            channel_closed(
                t, e->stream,
                e->ppid == UINT32_MAX ? "message over the size limit" : "closed by the peer", true);
            break;
        case EV_DATA:
            if (e->stream >= SCTP_TRANSPORT_STREAMS) {
                t->stats.dropped_no_channel++;
            } else if (e->ppid == DCEP_PPID_CONTROL) {
                on_control(t, e->stream, e->data, e->len);
            } else if (t->ch[e->stream].state != CH_OPEN) {
                t->stats.dropped_no_channel++;
            } else if (e->ppid == DCEP_PPID_STRING || e->ppid == DCEP_PPID_BINARY ||
                       e->ppid == DCEP_PPID_STRING_EMPTY || e->ppid == DCEP_PPID_BINARY_EMPTY) {
                bool empty = e->ppid == DCEP_PPID_STRING_EMPTY || e->ppid == DCEP_PPID_BINARY_EMPTY;
                bool binary = e->ppid == DCEP_PPID_BINARY || e->ppid == DCEP_PPID_BINARY_EMPTY;
                t->stats.messages_in++;
                t->stats.bytes_in += empty ? 0 : e->len;
                if (t->cb.on_message)
                    t->cb.on_message(t->ctx, e->stream, binary, e->data, empty ? 0 : e->len);
            } else {
                t->stats.dropped_no_channel++; /* a PPID data channels do not use */
            }
            break;
        }
        free(e);
        sctp_transport_flush(t);
    }
    sctp_transport_flush(t);
}

static int setsockopt_int(struct socket *s, int level, int name, int v)
{
    return usrsctp_setsockopt(s, level, name, &v, (socklen_t)sizeof v);
}

sctp_transport_t *sctp_transport_new(bool dtls_client, size_t max_message, size_t send_buffer,
                                     const sctp_transport_callbacks_t *cb, void *ctx)
{
    pthread_once(&init_once, usrsctp_setup);
    sctp_transport_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->dtls_client = dtls_client;
    t->max_message = max_message ? max_message : SCTP_TRANSPORT_MAX_MESSAGE;
    t->cb = *cb;
    t->ctx = ctx;
    t->out_tail = &t->out_head;
    t->ev_tail = &t->ev_head;
    pthread_mutex_lock(&registry_lock);
    if (registry_len == registry_cap) {
        size_t cap = registry_cap ? registry_cap * 2 : 16;
        sctp_transport_t **grown = realloc(registry, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&registry_lock);
            free(t);
            return NULL;
        }
        registry = grown;
        registry_cap = cap;
    }
    t->id = next_id++;
    registry[registry_len++] = t;
    pthread_mutex_unlock(&registry_lock);

    usrsctp_register_address((void *)t->id);
    t->sock =
        usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, on_receive, NULL, 0, (void *)t->id);
    if (!t->sock) {
        sctp_transport_free(t);
        return NULL;
    }
    usrsctp_set_non_blocking(t->sock, 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close aborts */
    struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC,
                                     .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    struct sctp_initmsg init = {.sinit_num_ostreams = SCTP_TRANSPORT_STREAMS,
                                .sinit_max_instreams = SCTP_TRANSPORT_STREAMS};
    int sndbuf = (int)(send_buffer ? send_buffer : SEND_BUFFER_DEFAULT);
    int rc = usrsctp_setsockopt(t->sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    rc |= usrsctp_setsockopt(t->sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset);
    rc |= usrsctp_setsockopt(t->sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    rc |= setsockopt_int(t->sock, IPPROTO_SCTP, SCTP_NODELAY, 1);
    rc |= setsockopt_int(t->sock, IPPROTO_SCTP, SCTP_RECVRCVINFO, 1);
    rc |= setsockopt_int(t->sock, SOL_SOCKET, SO_SNDBUF, sndbuf);
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                      SCTP_SHUTDOWN_EVENT};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        rc |= usrsctp_setsockopt(t->sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    struct sockaddr_conn sconn = {.sconn_family = AF_CONN,
                                  .sconn_port = htons(SCTP_TRANSPORT_PORT),
                                  .sconn_addr = (void *)t->id};
    rc |= usrsctp_bind(t->sock, (struct sockaddr *)&sconn, sizeof sconn);
    if (rc) {
        log_warn("sctp", "association setup failed");
        sctp_transport_free(t);
        return NULL;
    }
    return t;
}

void sctp_transport_free(sctp_transport_t *t)
{
    if (!t)
        return;
    t->closed = true;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_len; i++) {
        if (registry[i] == t) {
            registry[i] = registry[--registry_len];
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    /* Unregistered first: the ABORT usrsctp emits now goes nowhere. */
    if (t->sock)
        usrsctp_close(t->sock);
    usrsctp_deregister_address((void *)t->id);
    for (packet_t *p = t->out_head, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    for (event_t *e = t->ev_head, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    free(t->partial);
    free(t);
}

int sctp_transport_start(sctp_transport_t *t)
{
    struct sockaddr_conn sconn = {.sconn_family = AF_CONN,
                                  .sconn_port = htons(SCTP_TRANSPORT_PORT),
                                  .sconn_addr = (void *)t->id};
    t->in_usrsctp = true;
    int rc = usrsctp_connect(t->sock, (struct sockaddr *)&sconn, sizeof sconn);
    int e = errno;
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    memcpy(&pp.spp_address, &sconn, sizeof sconn);
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = SCTP_MTU;
    if (usrsctp_setsockopt(t->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp))
        log_warn("sctp", "cannot set the path MTU");
    t->in_usrsctp = false;
    dispatch(t);
    return rc < 0 && e != EINPROGRESS ? -EIO : 0;
}

void sctp_transport_input(sctp_transport_t *t, const uint8_t *data, size_t len)
{
    if (t->closed)
        return;
    usrsctp_conninput((void *)t->id, data, len, 0);
    dispatch(t);
}

int sctp_transport_open_channel(sctp_transport_t *t, const dcep_open_t *open, uint16_t *stream)
{
    if (!t->connected)
        return -ENOTCONN;
    uint8_t msg[12 + 2 * DCEP_LABEL_MAX];
    int n = dcep_write_open(open, msg, sizeof msg);
    if (n < 0)
        return -EINVAL;
    for (uint16_t s = t->dtls_client ? 0 : 1; s < SCTP_TRANSPORT_STREAMS; s += 2) {
        if (t->ch[s].state != CH_NONE)
            continue;
        int rc = send_raw(t, s, DCEP_PPID_CONTROL, NULL, msg, (size_t)n);
        sctp_transport_flush(t);
        if (rc)
            return rc;
        t->ch[s] = (channel_t){
            .state = CH_OPENING, .type = open->channel_type, .reliability = open->reliability};
        *stream = s;
        return 0;
    }
    return -ENOSPC;
}

int sctp_transport_send(sctp_transport_t *t, uint16_t stream, bool binary, const uint8_t *data,
                        size_t len)
{
    if (!t->connected)
        return -ENOTCONN;
    if (stream >= SCTP_TRANSPORT_STREAMS || t->ch[stream].state != CH_OPEN)
        return -ENOENT;
    if (len > t->max_message)
        return -EMSGSIZE;
    static const uint8_t zero = 0;
    /* RFC 8831 6.6: an empty message is one byte with the EMPTY PPID. */
    uint32_t ppid = len ? (binary ? DCEP_PPID_BINARY : DCEP_PPID_STRING)
                        : (binary ? DCEP_PPID_BINARY_EMPTY : DCEP_PPID_STRING_EMPTY);
    int rc = send_raw(t, stream, ppid, &t->ch[stream], len ? data : &zero, len ? len : 1);
    sctp_transport_flush(t);
    if (rc == 0) {
        t->stats.messages_out++;
        t->stats.bytes_out += len;
    }
    return rc;
}

int sctp_transport_close_channel(sctp_transport_t *t, uint16_t stream, const char *reason)
{
    if (stream >= SCTP_TRANSPORT_STREAMS || t->ch[stream].state == CH_NONE)
        return -ENOENT;
    channel_closed(t, stream, reason, true);
    sctp_transport_flush(t);
    return 0;
}

bool sctp_transport_connected(const sctp_transport_t *t)
{
    return t->connected;
}

bool sctp_transport_channel_is_open(const sctp_transport_t *t, uint16_t stream)
{
    return stream < SCTP_TRANSPORT_STREAMS && t->ch[stream].state == CH_OPEN;
}

void sctp_transport_get_stats(const sctp_transport_t *t, sctp_transport_stats_t *out)
{
    *out = t->stats;
}

void sctp_transport_handle_timers(uint32_t elapsed_ms)
{
    pthread_once(&init_once, usrsctp_setup);
    usrsctp_handle_timers(elapsed_ms);
}

void sctp_transport_tick(uint64_t now_ms)
{
    static pthread_mutex_t tick_lock = PTHREAD_MUTEX_INITIALIZER;
    static uint64_t last_ms;
    pthread_mutex_lock(&tick_lock);
    uint64_t elapsed = last_ms && now_ms > last_ms ? now_ms - last_ms : 0;
    if (!last_ms || now_ms > last_ms)
        last_ms = now_ms;
    pthread_mutex_unlock(&tick_lock);
    if (elapsed)
        sctp_transport_handle_timers((uint32_t)(elapsed > 1000 ? 1000 : elapsed));
}
