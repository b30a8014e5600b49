/* Unit tests: certificate, DTLS handshake between two in-process transports (datagrams
 * pumped through the callbacks), DTLS-SRTP key export and libsrtp2 sessions. */
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
#include "dtls/dtls_cert.h"
#include "dtls/dtls_transport.h"
#include "dtls/srtp_session.h"

#define QUEUE_MAX 64
#define DGRAM_MAX 1500

typedef struct endpoint {
    const char *name;
    dtls_transport_t *t;
    struct endpoint *peer;
    uint8_t queue[QUEUE_MAX][DGRAM_MAX]; /* sent by this side, not yet delivered */
    size_t queue_len[QUEUE_MAX];
    int queued;
    bool dropping; /* discard what this side sends while set */
    int sent, dropped;
    int connected, closed;
    char reason[160];
    dtls_srtp_keys_t keys;
    uint8_t data[256];
    size_t data_len;
} endpoint_t;

typedef struct pair {
    dtls_cert_t *server_cert, *client_cert;
    endpoint_t server, client;
} pair_t;

static void ep_send(void *ctx, const uint8_t *data, size_t len)
{
    endpoint_t *ep = ctx;
    ep->sent++;
    assert_true(len <= DTLS_TRANSPORT_MTU);
    if (ep->dropping) {
        ep->dropped++;
        return;
    }
    assert_true(ep->queued < QUEUE_MAX);
    memcpy(ep->queue[ep->queued], data, len);
    ep->queue_len[ep->queued++] = len;
}

static void ep_connected(void *ctx, const dtls_srtp_keys_t *keys)
{
    endpoint_t *ep = ctx;
    ep->connected++;
    ep->keys = *keys;
}

static void ep_closed(void *ctx, const char *reason)
{
    endpoint_t *ep = ctx;
    ep->closed++;
    snprintf(ep->reason, sizeof ep->reason, "%s", reason);
}

static void ep_data(void *ctx, const uint8_t *data, size_t len)
{
    endpoint_t *ep = ctx;
    assert_true(len <= sizeof ep->data);
    memcpy(ep->data, data, len);
    ep->data_len = len;
}

static const dtls_transport_callbacks_t ep_callbacks = {
    .send_datagram = ep_send,
    .on_connected = ep_connected,
    .on_closed = ep_closed,
    .on_data = ep_data,
};

/* Delivers everything queued on both sides, in order, until both queues are empty.
 * Each batch is detached first, so what a feed sends lands in a fresh queue. */
static void pump(pair_t *p)
{
    static uint8_t batch[QUEUE_MAX][DGRAM_MAX];
    static size_t batch_len[QUEUE_MAX];
    for (int rounds = 0; rounds < 100 && (p->server.queued || p->client.queued); rounds++) {
        endpoint_t *sides[2] = {&p->client, &p->server};
        for (int s = 0; s < 2; s++) {
            endpoint_t *from = sides[s];
            int n = from->queued;
            memcpy(batch, from->queue, sizeof batch);
            memcpy(batch_len, from->queue_len, sizeof batch_len);
            from->queued = 0;
            for (int i = 0; i < n; i++)
                dtls_transport_feed(from->peer->t, batch[i], batch_len[i]);
        }
    }
}

static void pair_init(pair_t *p, const char *client_profiles, bool wrong_server_expectation,
                      bool wrong_client_expectation)
{
    memset(p, 0, sizeof *p);
    p->server_cert = dtls_cert_new();
    p->client_cert = dtls_cert_new();
    assert_non_null(p->server_cert);
    assert_non_null(p->client_cert);
    p->server.name = "server";
    p->client.name = "client";
    p->server.peer = &p->client;
    p->client.peer = &p->server;
    /* A third certificate's fingerprint stands for a peer that lied in its SDP. */
    dtls_cert_t *other = dtls_cert_new();
    const char *client_fp = dtls_cert_fingerprint(p->client_cert);
    const char *server_fp = dtls_cert_fingerprint(p->server_cert);
    p->server.t =
        dtls_transport_new(DTLS_ROLE_SERVER, p->server_cert,
                           wrong_server_expectation ? dtls_cert_fingerprint(other) : client_fp,
                           NULL, &ep_callbacks, &p->server);
    p->client.t =
        dtls_transport_new(DTLS_ROLE_CLIENT, p->client_cert,
                           wrong_client_expectation ? dtls_cert_fingerprint(other) : server_fp,
                           client_profiles, &ep_callbacks, &p->client);
    dtls_cert_free(other);
    assert_non_null(p->server.t);
    assert_non_null(p->client.t);
}

static void pair_free(pair_t *p)
{
    dtls_transport_free(p->server.t);
    dtls_transport_free(p->client.t);
    dtls_cert_free(p->server_cert);
    dtls_cert_free(p->client_cert);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs the handshake to its end, firing retransmission timers when nothing moves. */
static void handshake(pair_t *p)
{
    assert_int_equal(dtls_transport_start(p->client.t), 0);
    double deadline = now_ms() + 5000;
    for (;;) {
        pump(p);
        bool done =
            (p->server.connected || p->server.closed) && (p->client.connected || p->client.closed);
        if (done || now_ms() > deadline)
            break;
        long ts = dtls_transport_timeout_ms(p->server.t);
        long tc = dtls_transport_timeout_ms(p->client.t);
        long wait = ts < 0 ? tc : tc < 0 ? ts : ts < tc ? ts : tc;
        if (wait < 0)
            break; /* no timer and nothing in flight: stuck */
        struct timespec sl = {wait / 1000, (wait % 1000) * 1000000L};
        nanosleep(&sl, NULL);
        dtls_transport_handle_timeout(p->server.t);
        dtls_transport_handle_timeout(p->client.t);
    }
}

static void assert_connected_with(pair_t *p, srtp_session_profile_t profile)
{
    assert_int_equal(p->server.connected, 1);
    assert_int_equal(p->client.connected, 1);
    assert_int_equal(p->server.closed, 0);
    assert_int_equal(p->client.closed, 0);
    assert_int_equal(dtls_transport_state(p->server.t), DTLS_STATE_CONNECTED);
    assert_int_equal(p->server.keys.profile, profile);
    assert_int_equal(p->client.keys.profile, profile);
    size_t n = srtp_session_key_len(profile);
    assert_int_equal(p->server.keys.key_len, n);
    assert_int_equal(p->client.keys.key_len, n);
    assert_memory_equal(p->client.keys.local_key, p->server.keys.remote_key, n);
    assert_memory_equal(p->client.keys.remote_key, p->server.keys.local_key, n);
    assert_memory_not_equal(p->client.keys.local_key, p->client.keys.remote_key, n);
}

static void test_cert_fingerprint_is_upper_hex_pairs(void **state)
{
    (void)state;
    dtls_cert_t *a = dtls_cert_new(), *b = dtls_cert_new();
    assert_non_null(a);
    const char *fp = dtls_cert_fingerprint(a);
    assert_int_equal(strlen(fp), 95);
    for (int i = 0; i < 95; i++) {
        if (i % 3 == 2)
            assert_int_equal(fp[i], ':');
        else
            assert_non_null(strchr("0123456789ABCDEF", fp[i]));
    }
    assert_string_not_equal(fp, dtls_cert_fingerprint(b));
    uint8_t raw[32];
    assert_int_equal(dtls_fingerprint_parse(fp, raw), 0);
    dtls_cert_free(a);
    dtls_cert_free(b);
    dtls_cert_free(NULL);
}

static void test_fingerprint_parse_rejects_malformed(void **state)
{
    (void)state;
    uint8_t raw[32];
    char fp[96];
    memset(fp, 0, sizeof fp);
    for (int i = 0; i < 32; i++)
        memcpy(fp + 3 * i, i < 31 ? "ab:" : "ab", i < 31 ? 3 : 2);
    assert_int_equal(dtls_fingerprint_parse(fp, raw), 0);
    assert_int_equal(raw[0], 0xab);
    fp[4] = 'g';
    assert_int_equal(dtls_fingerprint_parse(fp, raw), -EINVAL);
    fp[4] = 'b';
    fp[5] = '-';
    assert_int_equal(dtls_fingerprint_parse(fp, raw), -EINVAL);
    assert_int_equal(dtls_fingerprint_parse("AB:CD", raw), -EINVAL);
    assert_int_equal(dtls_fingerprint_parse(NULL, raw), -EINVAL);
}

static void test_transport_refuses_bad_fingerprint_text(void **state)
{
    (void)state;
    dtls_cert_t *c = dtls_cert_new();
    endpoint_t ep;
    memset(&ep, 0, sizeof ep);
    assert_null(
        dtls_transport_new(DTLS_ROLE_SERVER, c, "not a fingerprint", NULL, &ep_callbacks, &ep));
    dtls_cert_free(c);
}

static void test_handshake_negotiates_gcm(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, false);
    assert_int_equal(dtls_transport_timeout_ms(p.server.t), -1);
    double t0 = now_ms();
    handshake(&p);
    double took = now_ms() - t0;
    assert_connected_with(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    printf("# DTLS 1.2 handshake in-process (ECDSA P-256, both sides, one thread): %.2f ms, "
           "%d + %d datagrams\n",
           took, p.client.sent, p.server.sent);
    /* Neither side keeps a timer once connected. */
    assert_int_equal(dtls_transport_timeout_ms(p.server.t), -1);
    assert_int_equal(dtls_transport_timeout_ms(p.client.t), -1);
    pair_free(&p);
}

static void test_handshake_falls_back_to_cm(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, "SRTP_AES128_CM_SHA1_80", false, false);
    handshake(&p);
    assert_connected_with(&p, SRTP_SESSION_AES128_CM_SHA1_80);
    pair_free(&p);
}

static void test_no_common_srtp_profile_fails(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, "SRTP_AES128_CM_SHA1_32", false, false);
    handshake(&p);
    assert_int_equal(p.server.connected + p.client.connected, 0);
    assert_int_equal(p.server.closed, 1);
    assert_non_null(strstr(p.server.reason, "SRTP"));
    pair_free(&p);
}

static void test_fingerprint_mismatch_fails_handshake(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, true, false);
    handshake(&p);
    assert_int_equal(p.server.connected, 0);
    assert_int_equal(p.client.connected, 0);
    assert_int_equal(p.server.closed, 1);
    assert_int_equal(p.client.closed, 1);
    assert_non_null(strstr(p.server.reason, "fingerprint"));
    assert_int_equal(dtls_transport_state(p.server.t), DTLS_STATE_CLOSED);
    /* Closed means closed: more input is refused, no second on_closed. */
    uint8_t junk[13] = {22, 0xfe, 0xfd};
    assert_int_equal(dtls_transport_feed(p.server.t, junk, sizeof junk), -ENOTCONN);
    assert_int_equal(p.server.closed, 1);
    pair_free(&p);
}

static void test_client_checks_server_fingerprint(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, true);
    handshake(&p);
    assert_int_equal(p.client.connected, 0);
    assert_int_equal(p.client.closed, 1);
    assert_non_null(strstr(p.client.reason, "fingerprint"));
    assert_int_equal(p.server.connected, 0);
    pair_free(&p);
}

static void test_dropped_first_flight_recovers_by_timer(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, false);
    /* The server's whole first flight (ServerHello .. ServerHelloDone) is lost. */
    assert_int_equal(dtls_transport_start(p.client.t), 0);
    long t = dtls_transport_timeout_ms(p.client.t);
    assert_true(t > 0 && t <= 100);
    p.server.dropping = true;
    pump(&p);
    p.server.dropping = false;
    assert_true(p.server.dropped >= 1);
    assert_int_equal(p.client.connected, 0);
    double t0 = now_ms();
    handshake(&p);
    printf("# handshake after a lost first flight: %.1f ms more\n", now_ms() - t0);
    assert_connected_with(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    pair_free(&p);
}

static void test_dropped_last_flight_recovers_by_timer(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, false);
    assert_int_equal(dtls_transport_start(p.client.t), 0);
    /* Flight 1 -> server, flight 2 -> client, flight 3 -> server (which completes
     * and answers with its last flight: dropped). */
    endpoint_t *c = &p.client, *s = &p.server;
    for (int round = 0; round < 3; round++) {
        endpoint_t *from = round % 2 ? s : c;
        int n = from->queued;
        from->queued = 0;
        if (round == 2)
            s->dropping = true;
        for (int i = 0; i < n; i++)
            dtls_transport_feed(from->peer->t, from->queue[i], from->queue_len[i]);
    }
    s->dropping = false;
    assert_int_equal(s->connected, 1);
    assert_int_equal(c->connected, 0);
    assert_true(s->dropped >= 1);
    assert_true(dtls_transport_timeout_ms(c->t) >= 0);
    handshake(&p);
    assert_connected_with(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    pair_free(&p);
}

static void test_garbage_during_handshake_is_ignored(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, false);
    uint8_t junk[200];
    srand(6347);
    for (int i = 0; i < 50; i++) {
        size_t n = 1 + (size_t)(rand() % (int)sizeof junk);
        for (size_t k = 0; k < n; k++)
            junk[k] = (uint8_t)rand();
        junk[0] = (uint8_t)(20 + i % 4); /* DTLS content types 20-23 */
        if (n > 2) {
            junk[1] = 0xfe;
            junk[2] = 0xfd;
        }
        dtls_transport_feed(p.server.t, junk, n);
    }
    assert_int_equal(p.server.closed, 0);
    p.server.queued = 0;
    handshake(&p);
    assert_connected_with(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    pair_free(&p);
}

static void test_close_notify_reaches_peer(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, false);
    handshake(&p);
    dtls_transport_close(p.client.t);
    assert_int_equal(dtls_transport_state(p.client.t), DTLS_STATE_CLOSED);
    pump(&p);
    assert_int_equal(p.server.closed, 1);
    assert_non_null(strstr(p.server.reason, "close_notify"));
    assert_int_equal(p.client.closed, 0); /* close() does not call back */
    pair_free(&p);
}

static void test_application_data_round_trip(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p, NULL, false, false);
    assert_int_equal(dtls_transport_send(p.client.t, (const uint8_t *)"x", 1), -ENOTCONN);
    handshake(&p);
    assert_int_equal(dtls_transport_send(p.client.t, (const uint8_t *)"sctp?", 5), 0);
    pump(&p);
    assert_int_equal(p.server.data_len, 5);
    assert_memory_equal(p.server.data, "sctp?", 5);
    pair_free(&p);
}

/* A 12-byte RTP header and a 160-byte payload in a buffer with trailer room. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc)
{
    memset(buf, 0, 12 + 160);
    buf[0] = 0x80;
    buf[1] = 111;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    buf[7] = (uint8_t)seq; /* timestamp */
    buf[8] = (uint8_t)(ssrc >> 24);
    buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    for (int i = 0; i < 160; i++)
        buf[12 + i] = (uint8_t)(i * 7 + seq);
    return 12 + 160;
}

typedef struct sessions {
    pair_t p;
    srtp_session_t *server, *client;
} sessions_t;

static void sessions_init(sessions_t *s, const char *client_profiles, srtp_session_profile_t want)
{
    pair_init(&s->p, client_profiles, false, false);
    handshake(&s->p);
    assert_connected_with(&s->p, want);
    const dtls_srtp_keys_t *ks = &s->p.server.keys, *kc = &s->p.client.keys;
    s->server = srtp_session_new(ks->profile, ks->local_key, ks->remote_key, ks->key_len);
    s->client = srtp_session_new(kc->profile, kc->local_key, kc->remote_key, kc->key_len);
    assert_non_null(s->server);
    assert_non_null(s->client);
}

static void sessions_free(sessions_t *s)
{
    srtp_session_free(s->server);
    srtp_session_free(s->client);
    pair_free(&s->p);
}

static void rtp_both_ways(srtp_session_profile_t profile, const char *client_profiles)
{
    sessions_t s;
    sessions_init(&s, client_profiles, profile);
    srtp_session_t *from[2] = {s.client, s.server}, *to[2] = {s.server, s.client};
    for (int dir = 0; dir < 2; dir++) {
        for (uint16_t seq = 1000; seq < 1010; seq++) {
            uint8_t buf[12 + 160 + SRTP_SESSION_TRAILER_LEN], plain[12 + 160];
            size_t len = make_rtp(buf, seq, 0x1234 + (uint32_t)dir);
            memcpy(plain, buf, len);
            assert_int_equal(srtp_session_protect_rtp(from[dir], buf, &len, sizeof buf), 0);
            assert_int_equal(len, 172 + (profile == SRTP_SESSION_AEAD_AES_128_GCM ? 16 : 10));
            assert_memory_not_equal(buf + 12, plain + 12, 160);
            assert_int_equal(srtp_session_unprotect_rtp(to[dir], buf, &len), 0);
            assert_int_equal(len, sizeof plain);
            assert_memory_equal(buf, plain, len);
        }
    }
    sessions_free(&s);
}

static void test_srtp_round_trip_gcm_both_ways(void **state)
{
    (void)state;
    rtp_both_ways(SRTP_SESSION_AEAD_AES_128_GCM, NULL);
}

static void test_srtp_round_trip_cm_both_ways(void **state)
{
    (void)state;
    rtp_both_ways(SRTP_SESSION_AES128_CM_SHA1_80, "SRTP_AES128_CM_SHA1_80");
}

static void test_srtcp_round_trip(void **state)
{
    (void)state;
    sessions_t s;
    sessions_init(&s, NULL, SRTP_SESSION_AEAD_AES_128_GCM);
    /* RTCP RR with one report block (RFC 3550 6.4.2). */
    uint8_t buf[32 + SRTP_SESSION_TRAILER_LEN], plain[32];
    memset(plain, 0x5a, sizeof plain);
    plain[0] = 0x81;
    plain[1] = 201;
    plain[2] = 0;
    plain[3] = 7;
    memcpy(buf, plain, sizeof plain);
    size_t len = sizeof plain;
    assert_int_equal(srtp_session_protect_rtcp(s.server, buf, &len, sizeof buf), 0);
    assert_true(len > sizeof plain);
    assert_int_equal(srtp_session_unprotect_rtcp(s.client, buf, &len), 0);
    assert_int_equal(len, sizeof plain);
    assert_memory_equal(buf, plain, len);
    /* A second report, changed on the way: its tag no longer verifies. */
    memcpy(buf, plain, sizeof plain);
    len = sizeof plain;
    assert_int_equal(srtp_session_protect_rtcp(s.server, buf, &len, sizeof buf), 0);
    buf[10] ^= 0x01;
    assert_int_equal(srtp_session_unprotect_rtcp(s.client, buf, &len), SRTP_SESSION_E_AUTH);
    assert_int_equal(srtp_session_stats(s.client)->rtcp_auth_fail, 1);
    sessions_free(&s);
}

static void tampered_fails_auth(srtp_session_profile_t profile, const char *client_profiles)
{
    sessions_t s;
    sessions_init(&s, client_profiles, profile);
    uint8_t buf[12 + 160 + SRTP_SESSION_TRAILER_LEN];
    size_t len = make_rtp(buf, 7, 0xabcdef);
    assert_int_equal(srtp_session_protect_rtp(s.client, buf, &len, sizeof buf), 0);
    buf[40] ^= 0x10;
    assert_int_equal(srtp_session_unprotect_rtp(s.server, buf, &len), SRTP_SESSION_E_AUTH);
    assert_int_equal(srtp_session_stats(s.server)->rtp_auth_fail, 1);
    assert_int_equal(srtp_session_stats(s.server)->rtp_replay, 0);
    sessions_free(&s);
}

static void test_tampered_srtp_fails_auth_gcm(void **state)
{
    (void)state;
    tampered_fails_auth(SRTP_SESSION_AEAD_AES_128_GCM, NULL);
}

static void test_tampered_srtp_fails_auth_cm(void **state)
{
    (void)state;
    tampered_fails_auth(SRTP_SESSION_AES128_CM_SHA1_80, "SRTP_AES128_CM_SHA1_80");
}

static void test_replayed_srtp_fails_replay(void **state)
{
    (void)state;
    sessions_t s;
    sessions_init(&s, NULL, SRTP_SESSION_AEAD_AES_128_GCM);
    uint8_t buf[12 + 160 + SRTP_SESSION_TRAILER_LEN], copy[sizeof buf];
    size_t len = make_rtp(buf, 4242, 0x77);
    assert_int_equal(srtp_session_protect_rtp(s.client, buf, &len, sizeof buf), 0);
    memcpy(copy, buf, len);
    size_t copy_len = len;
    assert_int_equal(srtp_session_unprotect_rtp(s.server, buf, &len), 0);
    assert_int_equal(srtp_session_unprotect_rtp(s.server, copy, &copy_len), SRTP_SESSION_E_REPLAY);
    assert_int_equal(srtp_session_stats(s.server)->rtp_replay, 1);
    assert_int_equal(srtp_session_stats(s.server)->rtp_auth_fail, 0);
    sessions_free(&s);
}

static void test_replay_window_is_1024(void **state)
{
    (void)state;
    sessions_t s;
    sessions_init(&s, NULL, SRTP_SESSION_AEAD_AES_128_GCM);
    /* Protect seq 1 and seq 1100, deliver 1100 first: 1 is then 1099 behind, which a
     * 1024 window refuses, while 200 (900 behind) is still accepted. */
    uint8_t p1[200 + SRTP_SESSION_TRAILER_LEN], p200[sizeof p1], p1100[sizeof p1];
    size_t l1 = make_rtp(p1, 1, 9), l200, l1100;
    assert_int_equal(srtp_session_protect_rtp(s.client, p1, &l1, sizeof p1), 0);
    for (uint16_t seq = 2; seq <= 1100; seq++) {
        uint8_t tmp[sizeof p1];
        size_t l = make_rtp(tmp, seq, 9);
        assert_int_equal(srtp_session_protect_rtp(s.client, tmp, &l, sizeof tmp), 0);
        if (seq == 200) {
            memcpy(p200, tmp, l);
            l200 = l;
        }
        if (seq == 1100) {
            memcpy(p1100, tmp, l);
            l1100 = l;
        }
    }
    assert_int_equal(srtp_session_unprotect_rtp(s.server, p1100, &l1100), 0);
    assert_int_equal(srtp_session_unprotect_rtp(s.server, p200, &l200), 0);
    assert_int_equal(srtp_session_unprotect_rtp(s.server, p1, &l1), SRTP_SESSION_E_REPLAY);
    sessions_free(&s);
}

static void test_protect_needs_trailer_room(void **state)
{
    (void)state;
    uint8_t key[SRTP_SESSION_MAX_KEY_LEN] = {1, 2, 3};
    size_t n = srtp_session_key_len(SRTP_SESSION_AEAD_AES_128_GCM);
    assert_int_equal(n, 28);
    assert_null(srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, key, key, 30));
    srtp_session_t *s = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, key, key, n);
    assert_non_null(s);
    uint8_t buf[12 + 160 + SRTP_SESSION_TRAILER_LEN];
    size_t len = make_rtp(buf, 1, 1);
    assert_int_equal(srtp_session_protect_rtp(s, buf, &len, len + 10), -ENOSPC);
    size_t tiny = 5;
    assert_int_equal(srtp_session_unprotect_rtp(s, buf, &tiny), -EINVAL);
    assert_int_equal(srtp_session_stats(s)->other_fail, 2);
    srtp_session_free(s);
    srtp_session_free(NULL);
}

int main(void)
{
    log_set_level(LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_fingerprint_is_upper_hex_pairs),
        cmocka_unit_test(test_fingerprint_parse_rejects_malformed),
        cmocka_unit_test(test_transport_refuses_bad_fingerprint_text),
        cmocka_unit_test(test_handshake_negotiates_gcm),
        cmocka_unit_test(test_handshake_falls_back_to_cm),
        cmocka_unit_test(test_no_common_srtp_profile_fails),
        cmocka_unit_test(test_fingerprint_mismatch_fails_handshake),
        cmocka_unit_test(test_client_checks_server_fingerprint),
        cmocka_unit_test(test_dropped_first_flight_recovers_by_timer),
        cmocka_unit_test(test_dropped_last_flight_recovers_by_timer),
        cmocka_unit_test(test_garbage_during_handshake_is_ignored),
        cmocka_unit_test(test_close_notify_reaches_peer),
        cmocka_unit_test(test_application_data_round_trip),
        cmocka_unit_test(test_srtp_round_trip_gcm_both_ways),
        cmocka_unit_test(test_srtp_round_trip_cm_both_ways),
        cmocka_unit_test(test_srtcp_round_trip),
        cmocka_unit_test(test_tampered_srtp_fails_auth_gcm),
        cmocka_unit_test(test_tampered_srtp_fails_auth_cm),
        cmocka_unit_test(test_replayed_srtp_fails_replay),
        cmocka_unit_test(test_replay_window_is_1024),
        cmocka_unit_test(test_protect_needs_trailer_room),
    };
    return cmocka_run_group_tests_name("dtls_srtp", tests, NULL, NULL);
}
