/* A media worker on loopback UDP driven by a client made of the project's own
 * ICE, DTLS and SRTP pieces: connectivity check, handshake, SRTP both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dtls/dtls_transport.h"
#include "ice/stun_client.h"
#include "sfu/rtc_transport.h"
#include "sfu/worker.h"

#define SERVER_UFRAG "srvu"
#define SERVER_PWD   "server-password-0123456789"

typedef struct harness {
    dtls_cert_t *server_cert, *client_cert;
    sfu_worker_t *worker;
    struct sockaddr_in server;
    int fd;
    rtc_transport_t *transport; /* owned by the worker thread */
    volatile int connected, echoed, closed;
    dtls_transport_t *client_dtls;
    srtp_session_t *client_srtp;
    volatile int client_connected;
} harness_t;

static harness_t H;

/* Worker side: echo every RTP packet back to its sender. */
static void on_connected(void *ctx, rtc_transport_t *t)
{
    (void)t;
    ((harness_t *)ctx)->connected = 1;
}

static void on_rtp(void *ctx, rtc_transport_t *t, uint8_t *pkt, size_t len)
{
    if (rtc_transport_send_rtp(t, pkt, len, len + SRTP_SESSION_TRAILER_LEN) == 0)
        ((harness_t *)ctx)->echoed++;
}

static void on_closed(void *ctx, rtc_transport_t *t, const char *reason)
{
    (void)t;
    (void)reason;
    ((harness_t *)ctx)->closed = 1;
}

static void create_transport(void *w, void *arg)
{
    harness_t *h = arg;
    static const rtc_transport_listener_t listener = {
        .on_connected = on_connected, .on_rtp = on_rtp, .on_closed = on_closed};
    h->transport = rtc_transport_new(w, SERVER_UFRAG, SERVER_PWD,
                                     dtls_cert_fingerprint(h->client_cert), &listener, h);
}

static void free_transport(void *w, void *arg)
{
    harness_t *h = arg;
    (void)w;
    rtc_transport_free(h->transport);
    h->transport = NULL;
}

/* Client side. */
static void client_send(void *ctx, const uint8_t *data, size_t len)
{
    harness_t *h = ctx;
    sendto(h->fd, data, len, 0, (struct sockaddr *)&h->server, sizeof h->server);
}

static void client_connected(void *ctx, const dtls_srtp_keys_t *keys)
{
    harness_t *h = ctx;
    h->client_srtp =
        srtp_session_new(keys->profile, keys->local_key, keys->remote_key, keys->key_len);
    h->client_connected = 1;
}

static void client_closed(void *ctx, const char *reason)
{
    (void)ctx;
    (void)reason;
}

static ssize_t recv_timeout(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    return recv(fd, buf, cap, 0);
}

static int wait_flag(volatile int *flag, int timeout_ms)
{
    for (int i = 0; i < timeout_ms && !*flag; i += 5)
        usleep(5000);
    return *flag;
}

static int setup(void **state)
{
    (void)state;
    memset(&H, 0, sizeof H);
    log_set_level(LOG_ERROR);
    H.server_cert = dtls_cert_new();
    H.client_cert = dtls_cert_new();
    char err[256];
    /* A free port: let the kernel pick, then give it to the worker. */
    for (int attempt = 0; attempt < 20 && !H.worker; attempt++) {
        int port =
            20000 + (int)((unsigned)time(NULL) * 7919u + (unsigned)attempt * 104729u) % 30000;
        if (sfu_worker_start(0, "127.0.0.1", port, H.server_cert, &H.worker, err, sizeof err) ==
            0) {
            H.server.sin_family = AF_INET;
            H.server.sin_port = htons((uint16_t)port);
            inet_pton(AF_INET, "127.0.0.1", &H.server.sin_addr);
        }
    }
    if (!H.worker)
        return -1;
    H.fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    if (bind(H.fd, (struct sockaddr *)&local, sizeof local))
        return -1;
    sfu_worker_call(H.worker, create_transport, &H);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sfu_worker_call(H.worker, free_transport, &H);
    sfu_worker_stop(H.worker);
    dtls_transport_free(H.client_dtls);
    srtp_session_free(H.client_srtp);
    close(H.fd);
    dtls_cert_free(H.server_cert);
    dtls_cert_free(H.client_cert);
    return 0;
}

/* ICE check with USE-CANDIDATE, then the DTLS handshake; returns 1 when both sides connected. */
static int client_connect(void)
{
    uint8_t buf[2048];
    ice_client_t *ice = ice_client_new("cliu", SERVER_UFRAG, SERVER_PWD, 0x1234);
    int n = ice_client_conncheck_build(ice, 0x7e7f00ff, true, NULL, buf, sizeof buf);
    assert_true(n > 0);
    sendto(H.fd, buf, (size_t)n, 0, (struct sockaddr *)&H.server, sizeof H.server);
    ssize_t r = recv_timeout(H.fd, buf, sizeof buf, 2000);
    assert_true(r > 0);
    struct sockaddr_storage mapped;
    socklen_t mapped_len = sizeof mapped;
    int stun_error = 0;
    assert_int_equal(
        ice_client_conncheck_response(ice, buf, (size_t)r, &mapped, &mapped_len, &stun_error), 0);
    ice_client_free(ice);

    static const dtls_transport_callbacks_t cb = {
        .send_datagram = client_send, .on_connected = client_connected, .on_closed = client_closed};
    H.client_dtls = dtls_transport_new(DTLS_ROLE_CLIENT, H.client_cert,
                                       dtls_cert_fingerprint(H.server_cert), NULL, &cb, &H);
    assert_non_null(H.client_dtls);
    assert_int_equal(dtls_transport_start(H.client_dtls), 0);
    for (int i = 0; i < 100 && !H.client_connected; i++) {
        r = recv_timeout(H.fd, buf, sizeof buf, 50);
        if (r > 0)
            dtls_transport_feed(H.client_dtls, buf, (size_t)r);
        else if (dtls_transport_timeout_ms(H.client_dtls) == 0)
            dtls_transport_handle_timeout(H.client_dtls);
    }
    return H.client_connected && wait_flag(&H.connected, 2000);
}

static size_t make_rtp(uint8_t *pkt, uint16_t seq, const char *payload)
{
    memset(pkt, 0, 12);
    pkt[0] = 0x80;
    pkt[1] = 96;
    pkt[2] = (uint8_t)(seq >> 8);
    pkt[3] = (uint8_t)seq;
    pkt[8] = 0x11; /* ssrc 0x11223344 */
    pkt[9] = 0x22;
    pkt[10] = 0x33;
    pkt[11] = 0x44;
    size_t n = strlen(payload);
    memcpy(pkt + 12, payload, n);
    return 12 + n;
}

static void test_ice_dtls_srtp_round_trip(void **state)
{
    (void)state;
    assert_true(client_connect());
    for (uint16_t seq = 1; seq <= 20; seq++) {
        uint8_t pkt[1500], back[1500];
        char payload[32];
        snprintf(payload, sizeof payload, "frame %u", seq);
        size_t len = make_rtp(pkt, seq, payload);
        assert_int_equal(srtp_session_protect_rtp(H.client_srtp, pkt, &len, sizeof pkt), 0);
        sendto(H.fd, pkt, len, 0, (struct sockaddr *)&H.server, sizeof H.server);
        ssize_t r = recv_timeout(H.fd, back, sizeof back, 2000);
        /* A slow handshake (sanitizers) makes the client resend its last
         * flight, which the server answers with its own again: DTLS. */
        while (r > 0 && back[0] >= 20 && back[0] <= 63) {
            dtls_transport_feed(H.client_dtls, back, (size_t)r);
            r = recv_timeout(H.fd, back, sizeof back, 2000);
        }
        assert_true(r > 12);
        size_t blen = (size_t)r;
        assert_int_equal(srtp_session_unprotect_rtp(H.client_srtp, back, &blen), 0);
        assert_int_equal(blen, 12 + strlen(payload));
        assert_memory_equal(back + 12, payload, strlen(payload));
    }
    assert_int_equal(H.echoed, 20);
}

static void test_garbage_and_unchecked_tuples_are_dropped(void **state)
{
    (void)state;
    assert_true(client_connect());
    sfu_worker_stats_t before, after;
    sfu_worker_stats(H.worker, &before);
    /* Garbage from the checked tuple, and SRTP from a socket that never passed ICE. */
    static const uint8_t junk[] = {0xff, 0x00, 0x13, 0x37};
    sendto(H.fd, junk, sizeof junk, 0, (struct sockaddr *)&H.server, sizeof H.server);
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    uint8_t pkt[1500];
    size_t len = make_rtp(pkt, 1, "sneaky");
    sendto(other, pkt, len, 0, (struct sockaddr *)&H.server, sizeof H.server);
    close(other);
    /* A forged SRTP packet on the right tuple fails authentication. */
    len = make_rtp(pkt, 2, "forged-without-a-tag");
    sendto(H.fd, pkt, len, 0, (struct sockaddr *)&H.server, sizeof H.server);
    for (int i = 0; i < 200; i++) {
        sfu_worker_stats(H.worker, &after);
        if (after.rx_packets >= before.rx_packets + 3)
            break;
        usleep(5000);
    }
    assert_int_equal(after.rx_dropped - before.rx_dropped, 2);
    assert_int_equal(H.echoed, 0);
    uint8_t back[64];
    assert_true(recv_timeout(H.fd, back, sizeof back, 100) < 0); /* nothing echoed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ice_dtls_srtp_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_unchecked_tuples_are_dropped, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
