/* Unit tests: RFC 7983 demux, the ICE-lite responder and the controlling client,
 * against the RFC 5769 test vectors and against each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "ice/demux.h"
#include "ice/stun_client.h"
#include "ice/stun_server.h"

/* RFC 5769 2.1: USERNAME "evtj:h6vY", ICE-CONTROLLED, PRIORITY 0x6e0001ff. */
static const uint8_t rfc5769_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t rfc5769_response_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_response_v6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const char rfc5769_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t rfc5769_txid[ICE_CLIENT_TXID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                                          0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* The one transport our fake lookup knows. */
typedef struct fake_transport {
    const char *ufrag;
    const char *password;
    int lookups;
} fake_transport_t;

static const char *fake_lookup(void *ctx, const char *local_ufrag, void **transport)
{
    fake_transport_t *t = ctx;
    t->lookups++;
    if (strcmp(local_ufrag, t->ufrag) != 0)
        return NULL;
    *transport = t;
    return t->password;
}

static struct sockaddr_in v4_addr(const char *ip, uint16_t port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sin.sin_addr);
    return sin;
}

/* RFC 5389 15.5: CRC-32 of everything before FINGERPRINT, XOR 0x5354554e. Lets a
 * test change a byte and still reach the integrity check. */
static void fix_fingerprint(uint8_t *msg, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len - 8; i++) {
        crc ^= msg[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc = ~crc ^ 0x5354554eu;
    msg[len - 4] = (uint8_t)(crc >> 24);
    msg[len - 3] = (uint8_t)(crc >> 16);
    msg[len - 2] = (uint8_t)(crc >> 8);
    msg[len - 1] = (uint8_t)crc;
}

static int handle(ice_lite_t *lite, fake_transport_t *t, const uint8_t *req, size_t len,
                  const struct sockaddr *from, socklen_t fromlen, uint8_t *resp, size_t *resp_len,
                  ice_lite_result_t *res)
{
    *resp_len = ICE_STUN_MAX_LEN;
    return ice_lite_handle(lite, req, len, from, fromlen, fake_lookup, t, resp, resp_len, res);
}

static void test_demux_classifies_first_byte(void **state)
{
    (void)state;
    uint8_t b[2] = {0, 0};
    assert_int_equal(ice_demux_kind(b, 0), ICE_DEMUX_OTHER);
    for (int v = 0; v < 256; v++) {
        b[0] = (uint8_t)v;
        ice_demux_kind_t want = v <= 3                 ? ICE_DEMUX_STUN
                                : v >= 20 && v <= 63   ? ICE_DEMUX_DTLS
                                : v >= 128 && v <= 191 ? ICE_DEMUX_RTP
                                                       : ICE_DEMUX_OTHER;
        assert_int_equal(ice_demux_kind(b, 1), want);
    }
    uint8_t rtcp_rr[2] = {0x81, 201}, rtp_pt111[2] = {0x80, 111}, rtp_marker[2] = {0x80, 0xe0};
    assert_true(ice_demux_is_rtcp(rtcp_rr, 2));
    assert_false(ice_demux_is_rtcp(rtp_pt111, 2));
    assert_false(ice_demux_is_rtcp(rtp_marker, 2));
}

static void test_rfc5769_request_validates(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", rfc5769_password, 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len;
    ice_lite_result_t res;
    int rc = handle(&lite, &t, rfc5769_request, sizeof rfc5769_request, (struct sockaddr *)&from,
                    sizeof from, resp, &resp_len, &res);
    assert_true(res.authenticated);
    assert_ptr_equal(res.transport, &t);
    assert_int_equal(res.priority, 0x6e0001ff);
    assert_false(res.use_candidate);
    /* The vector's sender claims ICE-CONTROLLED; an ICE-lite agent stays controlled
     * and answers 487 (RFC 8445 7.3.1.1), with integrity, as an error response. */
    assert_int_equal(rc, -EPROTO);
    assert_true(res.role_conflict);
    assert_false(res.binding_ok);
    assert_true(resp_len > 20);
    assert_int_equal(resp[0], 0x01);
    assert_int_equal(resp[1], 0x11);
    assert_memory_equal(resp + 8, rfc5769_request + 8, 12);
}

static void test_rfc5769_request_wrong_password_gets_401(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", "not-the-password-at-all", 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len;
    ice_lite_result_t res;
    int rc = handle(&lite, &t, rfc5769_request, sizeof rfc5769_request, (struct sockaddr *)&from,
                    sizeof from, resp, &resp_len, &res);
    assert_int_equal(rc, -EACCES);
    assert_false(res.authenticated);
    assert_false(res.binding_ok);
    /* 401 error response (class 0x0110), no longer than the request. */
    assert_true(resp_len > 20 && resp_len <= sizeof rfc5769_request);
    assert_int_equal(resp[0], 0x01);
    assert_int_equal(resp[1], 0x11);
}

static void test_rfc5769_request_flipped_byte_fails_integrity(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", rfc5769_password, 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t req[sizeof rfc5769_request];
    memcpy(req, rfc5769_request, sizeof req);
    req[25] ^= 0x01; /* inside SOFTWARE, covered by MESSAGE-INTEGRITY */
    fix_fingerprint(req, sizeof req);
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len;
    ice_lite_result_t res;
    int rc = handle(&lite, &t, req, sizeof req, (struct sockaddr *)&from, sizeof from, resp,
                    &resp_len, &res);
    assert_int_equal(rc, -EACCES);
    assert_false(res.authenticated);
}

static void test_rfc5769_request_bad_fingerprint_dropped(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", rfc5769_password, 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t req[sizeof rfc5769_request];
    memcpy(req, rfc5769_request, sizeof req);
    req[25] ^= 0x01;
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len;
    ice_lite_result_t res;
    int rc = handle(&lite, &t, req, sizeof req, (struct sockaddr *)&from, sizeof from, resp,
                    &resp_len, &res);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(resp_len, 0);
    assert_int_equal(t.lookups, 0);
}

static int rfc5769_response(const uint8_t *vector, size_t len, const char *password,
                            struct sockaddr_storage *mapped)
{
    ice_client_t *c = ice_client_new("h6vY", "evtj", password, 1);
    assert_non_null(c);
    uint8_t req[ICE_STUN_MAX_LEN];
    /* Open the vector's transaction, as if we had sent it. */
    assert_true(ice_client_conncheck_build(c, 1, false, rfc5769_txid, req, sizeof req) > 0);
    socklen_t mapped_len = 0;
    int rc = ice_client_conncheck_response(c, vector, len, mapped, &mapped_len, NULL);
    ice_client_free(c);
    return rc;
}

static void test_rfc5769_ipv4_response_decodes(void **state)
{
    (void)state;
    struct sockaddr_storage mapped;
    assert_int_equal(rfc5769_response(rfc5769_response_v4, sizeof rfc5769_response_v4,
                                      rfc5769_password, &mapped),
                     0);
    struct sockaddr_in *sin = (struct sockaddr_in *)&mapped;
    char ip[INET_ADDRSTRLEN];
    assert_int_equal(sin->sin_family, AF_INET);
    assert_string_equal(inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip), "192.0.2.1");
    assert_int_equal(ntohs(sin->sin_port), 32853);
}

static void test_rfc5769_ipv6_response_decodes(void **state)
{
    (void)state;
    struct sockaddr_storage mapped;
    assert_int_equal(rfc5769_response(rfc5769_response_v6, sizeof rfc5769_response_v6,
                                      rfc5769_password, &mapped),
                     0);
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&mapped;
    char ip[INET6_ADDRSTRLEN];
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip),
                        "2001:db8:1234:5678:11:2233:4455:6677");
    assert_int_equal(ntohs(sin6->sin6_port), 32853);
}

static void test_rfc5769_response_wrong_password_refused(void **state)
{
    (void)state;
    struct sockaddr_storage mapped;
    assert_int_equal(rfc5769_response(rfc5769_response_v4, sizeof rfc5769_response_v4,
                                      "VOkJxbRl1RmTxUk/WvJxBu", &mapped),
                     -EACCES);
}

static void test_rfc5769_response_flipped_byte_fails_integrity(void **state)
{
    (void)state;
    uint8_t resp[sizeof rfc5769_response_v6];
    memcpy(resp, rfc5769_response_v6, sizeof resp);
    resp[45] ^= 0x80; /* in the XOR-MAPPED-ADDRESS */
    fix_fingerprint(resp, sizeof resp);
    struct sockaddr_storage mapped;
    assert_int_equal(rfc5769_response(resp, sizeof resp, rfc5769_password, &mapped), -EACCES);
}

static void test_response_to_unknown_transaction_refused(void **state)
{
    (void)state;
    ice_client_t *c = ice_client_new("h6vY", "evtj", rfc5769_password, 1);
    struct sockaddr_storage mapped;
    socklen_t mapped_len;
    assert_int_equal(ice_client_conncheck_response(c, rfc5769_response_v4,
                                                   sizeof rfc5769_response_v4, &mapped, &mapped_len,
                                                   NULL),
                     -ENOENT);
    ice_client_free(c);
}

/* Our client's request, answered by our responder, read back by the client. */
static void round_trip(const struct sockaddr *from, socklen_t fromlen, bool use_candidate)
{
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"srvUfrag", "server-password-0123456789", 0};
    ice_client_t *c = ice_client_new("cliUfrag", t.ufrag, t.password, 0);
    assert_non_null(c);

    uint8_t req[ICE_STUN_MAX_LEN], resp[ICE_STUN_MAX_LEN];
    int req_len = ice_client_conncheck_build(c, 0x7e7f1eff, use_candidate, NULL, req, sizeof req);
    assert_true(req_len > 0);
    size_t resp_len;
    ice_lite_result_t res;
    assert_int_equal(handle(&lite, &t, req, (size_t)req_len, from, fromlen, resp, &resp_len, &res),
                     0);
    assert_true(res.binding_ok);
    assert_true(res.authenticated);
    assert_false(res.role_conflict);
    assert_ptr_equal(res.transport, &t);
    assert_int_equal(res.priority, 0x7e7f1eff);
    assert_int_equal(res.use_candidate, use_candidate);

    struct sockaddr_storage mapped;
    socklen_t mapped_len;
    assert_int_equal(ice_client_conncheck_response(c, resp, resp_len, &mapped, &mapped_len, NULL),
                     0);
    assert_int_equal(mapped.ss_family, from->sa_family);
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)from, *b = (const void *)&mapped;
        assert_int_equal(a->sin_port, b->sin_port);
        assert_memory_equal(&a->sin_addr, &b->sin_addr, sizeof a->sin_addr);
    } else {
        const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&mapped;
        assert_int_equal(a->sin6_port, b->sin6_port);
        assert_memory_equal(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr);
    }
    /* The same answer twice is a replay of a closed transaction. */
    assert_int_equal(ice_client_conncheck_response(c, resp, resp_len, &mapped, &mapped_len, NULL),
                     -ENOENT);
    ice_client_free(c);
}

static void test_client_and_responder_round_trip_ipv4(void **state)
{
    (void)state;
    struct sockaddr_in from = v4_addr("10.1.2.3", 50123);
    round_trip((struct sockaddr *)&from, sizeof from, false);
}

static void test_client_and_responder_round_trip_ipv6(void **state)
{
    (void)state;
    struct sockaddr_in6 from = {.sin6_family = AF_INET6, .sin6_port = htons(61000)};
    inet_pton(AF_INET6, "2001:db8::42", &from.sin6_addr);
    round_trip((struct sockaddr *)&from, sizeof from, false);
}

static void test_use_candidate_reported(void **state)
{
    (void)state;
    struct sockaddr_in from = v4_addr("127.0.0.1", 40000);
    round_trip((struct sockaddr *)&from, sizeof from, true);
}

static void test_unknown_ufrag_dropped(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"srvUfrag", "server-password-0123456789", 0};
    ice_client_t *c = ice_client_new("cliUfrag", "otherUfrag", t.password, 0);
    uint8_t req[ICE_STUN_MAX_LEN], resp[ICE_STUN_MAX_LEN];
    int req_len = ice_client_conncheck_build(c, 1, true, NULL, req, sizeof req);
    struct sockaddr_in from = v4_addr("127.0.0.1", 40000);
    size_t resp_len;
    ice_lite_result_t res;
    assert_int_equal(handle(&lite, &t, req, (size_t)req_len, (struct sockaddr *)&from, sizeof from,
                            resp, &resp_len, &res),
                     -ENOENT);
    assert_int_equal(t.lookups, 1);
    assert_int_equal(resp_len, 0);
    assert_null(res.transport);
    assert_false(res.binding_ok);
    ice_client_free(c);
}

static void test_truncated_input_dropped(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", rfc5769_password, 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len;
    ice_lite_result_t res;
    for (size_t n = 0; n < sizeof rfc5769_request; n++) {
        /* A heap copy of exactly n bytes, so ASan sees any read past the end. */
        uint8_t *req = malloc(n ? n : 1);
        memcpy(req, rfc5769_request, n);
        assert_int_equal(
            handle(&lite, &t, req, n, (struct sockaddr *)&from, sizeof from, resp, &resp_len, &res),
            -EINVAL);
        assert_int_equal(resp_len, 0);
        free(req);
    }
}

static void test_garbage_input_dropped(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", rfc5769_password, 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t resp[ICE_STUN_MAX_LEN], junk[600];
    size_t resp_len;
    ice_lite_result_t res;
    srand(5769);
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)(rand() % (int)sizeof junk);
        for (size_t k = 0; k < n; k++)
            junk[k] = (uint8_t)rand();
        /* Half of them look like STUN headers, so parsing goes deeper. */
        if (i % 2 && n >= 20) {
            junk[0] = 0x00;
            junk[1] = 0x01;
            junk[2] = (uint8_t)((n - 20) >> 8);
            junk[3] = (uint8_t)((n - 20) & 0xfc);
            memcpy(junk + 4, "\x21\x12\xa4\x42", 4);
        }
        int rc = handle(&lite, &t, junk, n, (struct sockaddr *)&from, sizeof from, resp, &resp_len,
                        &res);
        assert_true(rc < 0);
        assert_false(res.binding_ok);
    }
}

static void test_missing_source_address_dropped(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"evtj", rfc5769_password, 0};
    struct sockaddr_in from = v4_addr("192.0.2.1", 32853);
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len;
    ice_lite_result_t res;
    assert_int_equal(
        handle(&lite, &t, rfc5769_request, sizeof rfc5769_request, NULL, 0, resp, &resp_len, &res),
        -EINVAL);
    assert_int_equal(handle(&lite, &t, rfc5769_request, sizeof rfc5769_request,
                            (struct sockaddr *)&from, 4, resp, &resp_len, &res),
                     -EINVAL);
}

static void test_small_response_buffer_refused(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"srvUfrag", "server-password-0123456789", 0};
    ice_client_t *c = ice_client_new("cliUfrag", t.ufrag, t.password, 0);
    uint8_t req[ICE_STUN_MAX_LEN], resp[40];
    int req_len = ice_client_conncheck_build(c, 1, false, NULL, req, sizeof req);
    struct sockaddr_in from = v4_addr("127.0.0.1", 40000);
    size_t resp_len = sizeof resp;
    ice_lite_result_t res;
    assert_int_equal(ice_lite_handle(&lite, req, (size_t)req_len, (struct sockaddr *)&from,
                                     sizeof from, fake_lookup, &t, resp, &resp_len, &res),
                     -ENOSPC);
    assert_int_equal(resp_len, 0);
    assert_int_equal(ice_client_conncheck_build(c, 1, false, NULL, req, 30), -ENOSPC);
    ice_client_free(c);
}

static void test_retransmission_reuses_transaction(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"srvUfrag", "server-password-0123456789", 0};
    ice_client_t *c = ice_client_new("cliUfrag", t.ufrag, t.password, 0);
    uint8_t first[ICE_STUN_MAX_LEN], again[ICE_STUN_MAX_LEN], resp[ICE_STUN_MAX_LEN];
    uint8_t txid[ICE_CLIENT_TXID_LEN];
    int n1 = ice_client_conncheck_build(c, 1, false, NULL, first, sizeof first);
    ice_client_last_txid(c, txid);
    int n2 = ice_client_conncheck_build(c, 1, false, txid, again, sizeof again);
    assert_int_equal(n1, n2);
    assert_memory_equal(first, again, (size_t)n1);

    struct sockaddr_in from = v4_addr("127.0.0.1", 40000);
    size_t resp_len;
    ice_lite_result_t res;
    assert_int_equal(handle(&lite, &t, again, (size_t)n2, (struct sockaddr *)&from, sizeof from,
                            resp, &resp_len, &res),
                     0);
    assert_int_equal(ice_client_conncheck_response(c, resp, resp_len, NULL, NULL, NULL), 0);
    ice_client_free(c);
}

static void test_client_forgets_oldest_transaction(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"srvUfrag", "server-password-0123456789", 0};
    ice_client_t *c = ice_client_new("cliUfrag", t.ufrag, t.password, 0);
    uint8_t first[ICE_STUN_MAX_LEN], req[ICE_STUN_MAX_LEN], resp[ICE_STUN_MAX_LEN];
    int first_len = ice_client_conncheck_build(c, 1, false, NULL, first, sizeof first);
    for (int i = 0; i < ICE_CLIENT_PENDING_MAX; i++)
        assert_true(ice_client_conncheck_build(c, 1, false, NULL, req, sizeof req) > 0);

    struct sockaddr_in from = v4_addr("127.0.0.1", 40000);
    size_t resp_len;
    ice_lite_result_t res;
    assert_int_equal(handle(&lite, &t, first, (size_t)first_len, (struct sockaddr *)&from,
                            sizeof from, resp, &resp_len, &res),
                     0);
    assert_int_equal(ice_client_conncheck_response(c, resp, resp_len, NULL, NULL, NULL), -ENOENT);
    ice_client_free(c);
}

static void test_error_response_reports_code(void **state)
{
    (void)state;
    ice_lite_t lite;
    ice_lite_init(&lite);
    fake_transport_t t = {"srvUfrag", "server-password-0123456789", 0};
    /* The client signs with a password the server does not hold: 401 back. */
    ice_client_t *c = ice_client_new("cliUfrag", t.ufrag, "a-wrong-password-xyz", 0);
    uint8_t req[ICE_STUN_MAX_LEN], resp[ICE_STUN_MAX_LEN];
    int req_len = ice_client_conncheck_build(c, 1, false, NULL, req, sizeof req);
    struct sockaddr_in from = v4_addr("127.0.0.1", 40000);
    size_t resp_len;
    ice_lite_result_t res;
    assert_int_equal(handle(&lite, &t, req, (size_t)req_len, (struct sockaddr *)&from, sizeof from,
                            resp, &resp_len, &res),
                     -EACCES);
    int code = 0;
    assert_int_equal(ice_client_conncheck_response(c, resp, resp_len, NULL, NULL, &code), -EPROTO);
    assert_int_equal(code, 401);
    ice_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_classifies_first_byte),
        cmocka_unit_test(test_rfc5769_request_validates),
        cmocka_unit_test(test_rfc5769_request_wrong_password_gets_401),
        cmocka_unit_test(test_rfc5769_request_flipped_byte_fails_integrity),
        cmocka_unit_test(test_rfc5769_request_bad_fingerprint_dropped),
        cmocka_unit_test(test_rfc5769_ipv4_response_decodes),
        cmocka_unit_test(test_rfc5769_ipv6_response_decodes),
        cmocka_unit_test(test_rfc5769_response_wrong_password_refused),
        cmocka_unit_test(test_rfc5769_response_flipped_byte_fails_integrity),
        cmocka_unit_test(test_response_to_unknown_transaction_refused),
        cmocka_unit_test(test_client_and_responder_round_trip_ipv4),
        cmocka_unit_test(test_client_and_responder_round_trip_ipv6),
        cmocka_unit_test(test_use_candidate_reported),
        cmocka_unit_test(test_unknown_ufrag_dropped),
        cmocka_unit_test(test_truncated_input_dropped),
        cmocka_unit_test(test_garbage_input_dropped),
        cmocka_unit_test(test_missing_source_address_dropped),
        cmocka_unit_test(test_small_response_buffer_refused),
        cmocka_unit_test(test_retransmission_reuses_transaction),
        cmocka_unit_test(test_client_forgets_oldest_transaction),
        cmocka_unit_test(test_error_response_reports_code),
    };
    return cmocka_run_group_tests_name("stun", tests, NULL, NULL);
}
