/* Unit tests: DCEP messages (dtls/dcep.h), and data channels over SCTP over
 * DTLS between two in-process endpoints (dtls/sctp_transport.h on
 * dtls/dtls_transport.h): association, DCEP open/ack, ordered delivery both
 * ways, text, binary and empty messages, unordered channels, size limits,
 * stream reset, and garbage fed to SCTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errno.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "dtls/dcep.h"
#include "dtls/dtls_cert.h"
#include "dtls/dtls_transport.h"
#include "dtls/sctp_transport.h"

/* ---- DCEP ---- */

static void test_dcep_round_trip(void **state)
{
    (void)state;
    dcep_open_t in = {.channel_type = DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT | DCEP_CHANNEL_UNORDERED,
                      .priority = 256,
                      .reliability = 3};
    strcpy(in.label, "state");
    strcpy(in.protocol, "json");
    uint8_t buf[64];
    int n = dcep_write_open(&in, buf, sizeof buf);
    assert_int_equal(n, 12 + 5 + 4);
    /* RFC 8832 5.1, byte by byte. */
    static const uint8_t want[] = {0x03, 0x81, 0x01, 0x00, 0,   0,   0,   3,   0,   5,  0,
                                   4,    's',  't',  'a',  't', 'e', 'j', 's', 'o', 'n'};
    assert_memory_equal(buf, want, sizeof want);
    dcep_open_t out;
    assert_int_equal(dcep_parse_open(buf, (size_t)n, &out), 0);
    assert_int_equal(out.channel_type, in.channel_type);
    assert_int_equal(out.priority, 256);
    assert_int_equal(out.reliability, 3);
    assert_string_equal(out.label, "state");
    assert_string_equal(out.protocol, "json");
    assert_false(dcep_ordered(out.channel_type));
    assert_int_equal(dcep_write_open(&in, buf, (size_t)n - 1), -ENOSPC);
    static const uint8_t ack[] = {0x02};
    assert_true(dcep_is_ack(ack, 1));
    assert_false(dcep_is_ack(buf, (size_t)n));
    assert_int_equal(dcep_message_type(buf, (size_t)n), DCEP_MSG_OPEN);
    assert_int_equal(dcep_message_type(buf, 0), -1);
}

static void test_dcep_refuses_malformed(void **state)
{
    (void)state;
    dcep_open_t in = {.channel_type = DCEP_CHANNEL_RELIABLE};
    strcpy(in.label, "app");
    uint8_t buf[64], bad[64];
    int n = dcep_write_open(&in, buf, sizeof buf);
    dcep_open_t out;
    assert_int_equal(dcep_parse_open(buf, (size_t)n, &out), 0);
    assert_string_equal(out.label, "app");
    assert_string_equal(out.protocol, "");
    for (int cut = 0; cut < n; cut++) /* truncated anywhere */
        assert_int_equal(dcep_parse_open(buf, (size_t)cut, &out), -EINVAL);
    memcpy(bad, buf, (size_t)n);
    bad[n] = 'x'; /* a byte past the declared lengths */
    assert_int_equal(dcep_parse_open(bad, (size_t)n + 1, &out), -EINVAL);
    memcpy(bad, buf, (size_t)n);
    bad[0] = DCEP_MSG_ACK;
    assert_int_equal(dcep_parse_open(bad, (size_t)n, &out), -EINVAL);
    memcpy(bad, buf, (size_t)n);
    bad[1] = 0x05; /* no such channel type */
    assert_int_equal(dcep_parse_open(bad, (size_t)n, &out), -EINVAL);
    memcpy(bad, buf, (size_t)n);
    bad[12 + 1] = '\0'; /* a NUL inside the label */
    assert_int_equal(dcep_parse_open(bad, (size_t)n, &out), -EINVAL);
    memcpy(bad, buf, (size_t)n);
    bad[9] = 0xff; /* a label length past the message */
    assert_int_equal(dcep_parse_open(bad, (size_t)n, &out), -EINVAL);
    /* A 300-byte label is well formed but longer than we keep. */
    static uint8_t big[12 + 300];
    memset(big, 'a', sizeof big);
    memcpy(big, buf, 12);
    big[8] = 300 >> 8;
    big[9] = 300 & 0xff;
    big[10] = big[11] = 0;
    assert_int_equal(dcep_parse_open(big, sizeof big, &out), -E2BIG);
    assert_int_equal(dcep_parse_open(NULL, 0, &out), -EINVAL);
}

/* ---- SCTP over DTLS, two endpoints in one process ---- */

#define QMAX   4096
#define DGRAM  1500
#define MSGMAX 8192

typedef struct msg {
    uint16_t stream;
    bool binary;
    size_t len;
    uint8_t data[MSGMAX];
} msg_t;

typedef struct ep {
    const char *name;
    dtls_transport_t *dtls;
    sctp_transport_t *sctp;
    struct ep *peer;
    uint8_t (*q)[DGRAM]; /* DTLS datagrams sent, not yet delivered */
    size_t *q_len;
    int queued;
    bool dtls_up, sctp_up, sctp_closed;
    int opened_remote, opened_local;
    uint16_t last_open_stream;
    dcep_open_t last_open;
    int closed_channels;
    char closed_reason[96];
    msg_t *got;
    int got_count;
} ep_t;

static void ep_dgram(void *ctx, const uint8_t *data, size_t len)
{
    ep_t *e = ctx;
    assert_true(len <= DTLS_TRANSPORT_MTU);
    assert_true(e->queued < QMAX);
    memcpy(e->q[e->queued], data, len);
    e->q_len[e->queued++] = len;
}

static void ep_dtls_up(void *ctx, const dtls_srtp_keys_t *keys)
{
    (void)keys;
    ((ep_t *)ctx)->dtls_up = true;
}

static void ep_dtls_closed(void *ctx, const char *reason)
{
    fail_msg("%s: DTLS closed: %s", ((ep_t *)ctx)->name, reason);
}

static void ep_dtls_data(void *ctx, const uint8_t *data, size_t len)
{
    ep_t *e = ctx;
    sctp_transport_input(e->sctp, data, len);
}

static void ep_sctp_packet(void *ctx, const uint8_t *data, size_t len)
{
    ep_t *e = ctx;
    assert_int_equal(dtls_transport_send(e->dtls, data, len), 0);
}

static void ep_sctp_up(void *ctx)
{
    ((ep_t *)ctx)->sctp_up = true;
}

static void ep_open(void *ctx, uint16_t stream, const dcep_open_t *open, bool remote)
{
    ep_t *e = ctx;
    if (remote)
        e->opened_remote++;
    else
        e->opened_local++;
    e->last_open_stream = stream;
    e->last_open = *open;
}

static void ep_message(void *ctx, uint16_t stream, bool binary, const uint8_t *data, size_t len)
{
    ep_t *e = ctx;
    assert_true(e->got_count < 4096);
    assert_true(len <= MSGMAX);
    msg_t *m = &e->got[e->got_count++];
    m->stream = stream;
    m->binary = binary;
    m->len = len;
    memcpy(m->data, data, len);
}

static void ep_channel_closed(void *ctx, uint16_t stream, const char *reason)
{
    ep_t *e = ctx;
    (void)stream;
    e->closed_channels++;
    snprintf(e->closed_reason, sizeof e->closed_reason, "%s", reason);
}

static void ep_sctp_closed(void *ctx, const char *reason)
{
    (void)reason;
    ((ep_t *)ctx)->sctp_closed = true;
}

static const dtls_transport_callbacks_t dtls_cb = {
    .send_datagram = ep_dgram,
    .on_connected = ep_dtls_up,
    .on_closed = ep_dtls_closed,
    .on_data = ep_dtls_data,
};

static const sctp_transport_callbacks_t sctp_cb = {
    .send_packet = ep_sctp_packet,
    .on_connected = ep_sctp_up,
    .on_channel_open = ep_open,
    .on_message = ep_message,
    .on_channel_closed = ep_channel_closed,
    .on_closed = ep_sctp_closed,
};

typedef struct pair {
    dtls_cert_t *ccert, *scert;
    ep_t client, server;
} pair_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Delivers queued datagrams both ways until nothing moves; drives timers. */
static void pump(pair_t *p)
{
    static uint8_t batch[QMAX][DGRAM];
    static size_t batch_len[QMAX];
    static double last;
    for (int round = 0; round < 10000 && (p->client.queued || p->server.queued); round++) {
        ep_t *sides[2] = {&p->client, &p->server};
        for (int s = 0; s < 2; s++) {
            ep_t *from = sides[s];
            int n = from->queued;
            memcpy(batch, from->q, (size_t)n * DGRAM);
            memcpy(batch_len, from->q_len, (size_t)n * sizeof batch_len[0]);
            from->queued = 0;
            for (int i = 0; i < n; i++)
                dtls_transport_feed(from->peer->dtls, batch[i], batch_len[i]);
        }
    }
    double now = now_ms();
    if (last == 0)
        last = now;
    sctp_transport_handle_timers((uint32_t)(now - last));
    last = now;
    if (p->client.sctp)
        sctp_transport_flush(p->client.sctp);
    if (p->server.sctp)
        sctp_transport_flush(p->server.sctp);
}

static void until(pair_t *p, bool *flag1, bool *flag2, const char *what)
{
    double deadline = now_ms() + 5000;
    while (!(*flag1 && *flag2)) {
        pump(p);
        if (*flag1 && *flag2)
            break;
        if (now_ms() > deadline)
            fail_msg("timed out waiting for %s", what);
        struct timespec sl = {0, 2000000};
        nanosleep(&sl, NULL);
        dtls_transport_handle_timeout(p->client.dtls);
        dtls_transport_handle_timeout(p->server.dtls);
    }
}

static void ep_init(ep_t *e, const char *name, ep_t *peer)
{
    e->name = name;
    e->peer = peer;
    e->q = malloc(sizeof(*e->q) * QMAX);
    e->q_len = calloc(QMAX, sizeof *e->q_len);
    e->got = calloc(4096, sizeof *e->got);
    assert_non_null(e->q);
    assert_non_null(e->got);
}

/* DTLS up, then the SCTP association; server_max: the server's message limit. */
static void pair_up(pair_t *p, size_t server_max)
{
    memset(p, 0, sizeof *p);
    ep_init(&p->client, "client", &p->server);
    ep_init(&p->server, "server", &p->client);
    p->ccert = dtls_cert_new();
    p->scert = dtls_cert_new();
    p->client.dtls = dtls_transport_new(DTLS_ROLE_CLIENT, p->ccert, dtls_cert_fingerprint(p->scert),
                                        NULL, &dtls_cb, &p->client);
    p->server.dtls = dtls_transport_new(DTLS_ROLE_SERVER, p->scert, dtls_cert_fingerprint(p->ccert),
                                        NULL, &dtls_cb, &p->server);
    assert_non_null(p->client.dtls);
    assert_non_null(p->server.dtls);
    p->client.sctp = sctp_transport_new(true, 0, 0, &sctp_cb, &p->client);
    p->server.sctp = sctp_transport_new(false, server_max, 0, &sctp_cb, &p->server);
    assert_non_null(p->client.sctp);
    assert_non_null(p->server.sctp);
    assert_int_equal(dtls_transport_start(p->client.dtls), 0);
    until(p, &p->client.dtls_up, &p->server.dtls_up, "DTLS");
    /* Both sides INIT (RFC 8841: the SCTP association is opened by both). */
    assert_int_equal(sctp_transport_start(p->client.sctp), 0);
    assert_int_equal(sctp_transport_start(p->server.sctp), 0);
    until(p, &p->client.sctp_up, &p->server.sctp_up, "the SCTP association");
    assert_true(sctp_transport_connected(p->client.sctp));
}

static void pair_free(pair_t *p)
{
    sctp_transport_free(p->client.sctp);
    sctp_transport_free(p->server.sctp);
    dtls_transport_free(p->client.dtls);
    dtls_transport_free(p->server.dtls);
    dtls_cert_free(p->ccert);
    dtls_cert_free(p->scert);
    ep_t *eps[2] = {&p->client, &p->server};
    for (int i = 0; i < 2; i++) {
        free(eps[i]->q);
        free(eps[i]->q_len);
        free(eps[i]->got);
    }
}

/* The client opens a channel; the server sees the DCEP OPEN, acks, and the client learns. */
static uint16_t open_channel(pair_t *p, const char *label, uint8_t type)
{
    dcep_open_t o = {.channel_type = type, .reliability = type ? 0 : 0};
    snprintf(o.label, sizeof o.label, "%s", label);
    uint16_t stream = 999;
    int before_r = p->server.opened_remote, before_l = p->client.opened_local;
    assert_int_equal(sctp_transport_open_channel(p->client.sctp, &o, &stream), 0);
    assert_int_equal(stream % 2, 0); /* the DTLS client opens even streams */
    bool got_r = false, got_l = false;
    double deadline = now_ms() + 3000;
    while (!(got_r && got_l) && now_ms() < deadline) {
        pump(p);
        got_r = p->server.opened_remote > before_r;
        got_l = p->client.opened_local > before_l;
    }
    assert_true(got_r);
    assert_true(got_l);
    assert_int_equal(p->server.last_open_stream, stream);
    assert_string_equal(p->server.last_open.label, label);
    assert_int_equal(p->server.last_open.channel_type, type);
    assert_true(sctp_transport_channel_is_open(p->server.sctp, stream));
    return stream;
}

static void wait_messages(pair_t *p, ep_t *e, int count)
{
    double deadline = now_ms() + 5000;
    while (e->got_count < count && now_ms() < deadline)
        pump(p);
    assert_int_equal(e->got_count, count);
}

static void test_open_ack_and_ordered_messages_both_ways(void **state)
{
    (void)state;
    pair_t p;
    pair_up(&p, 0);
    uint16_t s = open_channel(&p, "app", DCEP_CHANNEL_RELIABLE);
    char text[64];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(text, sizeof text, "message %d", i);
        assert_int_equal(sctp_transport_send(p.client.sctp, s, false, (uint8_t *)text, (size_t)n),
                         0);
        assert_int_equal(sctp_transport_send(p.server.sctp, s, true, (uint8_t *)text, (size_t)n),
                         0);
        if (i % 50 == 0)
            pump(&p);
    }
    wait_messages(&p, &p.server, 500);
    wait_messages(&p, &p.client, 500);
    for (int i = 0; i < 500; i++) {
        int n = snprintf(text, sizeof text, "message %d", i);
        assert_int_equal(p.server.got[i].len, (size_t)n);
        assert_memory_equal(p.server.got[i].data, text, (size_t)n);
        assert_false(p.server.got[i].binary);
        assert_true(p.client.got[i].binary);
        assert_memory_equal(p.client.got[i].data, text, (size_t)n);
    }
    /* Empty messages and one larger than an SCTP packet. */
    static uint8_t big[6000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(sctp_transport_send(p.client.sctp, s, false, NULL, 0), 0);
    assert_int_equal(sctp_transport_send(p.client.sctp, s, true, big, sizeof big), 0);
    wait_messages(&p, &p.server, 502);
    assert_int_equal(p.server.got[500].len, 0);
    assert_false(p.server.got[500].binary);
    assert_int_equal(p.server.got[501].len, sizeof big);
    assert_memory_equal(p.server.got[501].data, big, sizeof big);
    sctp_transport_stats_t st;
    sctp_transport_get_stats(p.server.sctp, &st);
    assert_int_equal(st.messages_in, 502);
    /* Sending on a stream with no channel. */
    assert_int_equal(sctp_transport_send(p.client.sctp, 7, false, (uint8_t *)"x", 1), -ENOENT);
    pair_free(&p);
}

static void test_unordered_channel_and_server_opened(void **state)
{
    (void)state;
    pair_t p;
    pair_up(&p, 0);
    open_channel(&p, "app", DCEP_CHANNEL_RELIABLE);
    uint16_t u =
        open_channel(&p, "state", DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT | DCEP_CHANNEL_UNORDERED);
    assert_int_not_equal(u, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(sctp_transport_send(p.client.sctp, u, true, (uint8_t *)&i, sizeof i), 0);
    wait_messages(&p, &p.server, 100); /* no loss here: all of them arrive */
    bool seen[100] = {false};
    for (int i = 0; i < 100; i++) {
        int v;
        memcpy(&v, p.server.got[i].data, sizeof v);
        assert_true(v >= 0 && v < 100 && !seen[v]);
        seen[v] = true;
    }
    /* The DTLS server opens odd streams. */
    dcep_open_t o = {.channel_type = DCEP_CHANNEL_RELIABLE};
    strcpy(o.label, "from-server");
    uint16_t s;
    assert_int_equal(sctp_transport_open_channel(p.server.sctp, &o, &s), 0);
    assert_int_equal(s % 2, 1);
    double deadline = now_ms() + 3000;
    while ((!p.client.opened_remote || !p.server.opened_local) && now_ms() < deadline)
        pump(&p);
    assert_int_equal(p.client.opened_remote, 1);
    assert_string_equal(p.client.last_open.label, "from-server");
    assert_int_equal(p.server.opened_local, 1);
    pair_free(&p);
}

/* Over the receiver's limit: the receiver drops it and resets the stream;
 * both sides see the channel close; the association stays up. */
static void test_oversized_message_closes_channel(void **state)
{
    (void)state;
    pair_t p;
    pair_up(&p, 1000);
    uint16_t s = open_channel(&p, "app", DCEP_CHANNEL_RELIABLE);
    static uint8_t big[5000];
    memset(big, 'z', sizeof big);
    assert_int_equal(sctp_transport_send(p.client.sctp, s, true, big, sizeof big), 0);
    assert_int_equal(sctp_transport_send(p.server.sctp, s, true, big, sizeof big), -EMSGSIZE);
    double deadline = now_ms() + 3000;
    while ((!p.server.closed_channels || !p.client.closed_channels) && now_ms() < deadline)
        pump(&p);
    assert_int_equal(p.server.got_count, 0);
    assert_int_equal(p.server.closed_channels, 1);
    assert_string_equal(p.server.closed_reason, "message over the size limit");
    assert_int_equal(p.client.closed_channels, 1);
    assert_false(sctp_transport_channel_is_open(p.client.sctp, s));
    sctp_transport_stats_t st;
    sctp_transport_get_stats(p.server.sctp, &st);
    assert_int_equal(st.dropped_oversize, 1);
    /* A new channel still works. */
    uint16_t s2 = open_channel(&p, "again", DCEP_CHANNEL_RELIABLE);
    assert_int_equal(sctp_transport_send(p.client.sctp, s2, false, (uint8_t *)"ok", 2), 0);
    wait_messages(&p, &p.server, 1);
    assert_false(p.server.sctp_closed);
    pair_free(&p);
}

static void test_close_channel_reaches_peer(void **state)
{
    (void)state;
    pair_t p;
    pair_up(&p, 0);
    uint16_t s = open_channel(&p, "app", DCEP_CHANNEL_RELIABLE);
    assert_int_equal(sctp_transport_close_channel(p.server.sctp, s, "not reading"), 0);
    assert_int_equal(p.server.closed_channels, 1);
    assert_string_equal(p.server.closed_reason, "not reading");
    double deadline = now_ms() + 3000;
    while (!p.client.closed_channels && now_ms() < deadline)
        pump(&p);
    assert_int_equal(p.client.closed_channels, 1);
    assert_string_equal(p.client.closed_reason, "closed by the peer");
    assert_int_equal(sctp_transport_close_channel(p.server.sctp, s, "again"), -ENOENT);
    pair_free(&p);
}

/* A peer that stops reading (nothing it should get reaches it, so nothing is
 * acknowledged): the sender's buffer is bounded and sends say -EAGAIN. */
static void test_send_buffer_is_bounded(void **state)
{
    (void)state;
    pair_t p;
    pair_up(&p, 0);
    uint16_t s = open_channel(&p, "app", DCEP_CHANNEL_RELIABLE);
    static uint8_t chunk[1000];
    memset(chunk, 'q', sizeof chunk);
    int sent = 0, rc = 0;
    for (int i = 0; i < 5000 && rc == 0; i++) {
        rc = sctp_transport_send(p.server.sctp, s, true, chunk, sizeof chunk);
        if (rc == 0)
            sent++;
        p.server.queued = 0; /* the client never gets them: it acknowledges nothing */
    }
    assert_int_equal(rc, -EAGAIN);
    /* About the 1 MiB default send buffer, nowhere near the 5 MB offered. */
    assert_true(sent > 100);
    assert_true(sent < 2000);
    /* Closing the channel of the peer that does not read is the caller's remedy. */
    assert_int_equal(sctp_transport_close_channel(p.server.sctp, s, "not reading"), 0);
    assert_false(sctp_transport_channel_is_open(p.server.sctp, s));
    pair_free(&p);
}

/* Random bytes and truncated packets fed as SCTP: ignored, the association lives. */
static void test_garbage_is_ignored(void **state)
{
    (void)state;
    pair_t p;
    pair_up(&p, 0);
    uint16_t s = open_channel(&p, "app", DCEP_CHANNEL_RELIABLE);
    uint8_t junk[1200];
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(i * 6) % sizeof junk;
        random_bytes(junk, n ? n : 1);
        sctp_transport_input(p.server.sctp, junk, n);
    }
    sctp_transport_input(p.server.sctp, NULL, 0);
    assert_int_equal(sctp_transport_send(p.client.sctp, s, false, (uint8_t *)"alive", 5), 0);
    wait_messages(&p, &p.server, 1);
    assert_memory_equal(p.server.got[0].data, "alive", 5);
    assert_false(p.server.sctp_closed);
    pair_free(&p);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dcep_round_trip),
        cmocka_unit_test(test_dcep_refuses_malformed),
        cmocka_unit_test(test_open_ack_and_ordered_messages_both_ways),
        cmocka_unit_test(test_unordered_channel_and_server_opened),
        cmocka_unit_test(test_oversized_message_closes_channel),
        cmocka_unit_test(test_close_channel_reaches_peer),
        cmocka_unit_test(test_send_buffer_is_bounded),
        cmocka_unit_test(test_garbage_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
