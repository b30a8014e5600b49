/* tools/loadgen/leg.c: one media leg of a synthetic participant: a UDP socket on
 * 127.0.0.1, ICE connectivity checks as the controlling agent (RFC 8445 7.2),
 * the DTLS client handshake (RFC 5763 5), SRTP both ways, consent refreshes
 * (RFC 7675) every 5 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "ice/demux.h"
#include "tools/loadgen/lg.h"
#include "tools/loadgen/null_proto.h"

#define ICE_RTO_NS        (100 * 1000000ull)
#define ICE_MAX_TRIES     100
#define DTLS_TIMEOUT_NS   (15 * 1000000000ull)
#define CONSENT_PERIOD_NS (5 * 1000000000ull)
#define ICE_PRIORITY      0x7e7f00ffu /* host candidate, RFC 8445 5.1.2.1 */

static void leg_send_raw(lg_leg_t *leg, const uint8_t *data, size_t len)
{
    if (lg_sock_send(&leg->sock, &leg->remote, data, len))
        leg->tx_failed++;
}

static void dtls_send(void *ctx, const uint8_t *data, size_t len)
{
    leg_send_raw(ctx, data, len);
}

static void leg_fail(lg_leg_t *leg, const char *why)
{
    char msg[160];
    leg->state = LEG_FAILED;
    if (leg->peer->left)
        return;
    snprintf(msg, sizeof msg, "%s leg: %s", leg->is_pub ? "publish" : "subscribe", why);
    lg_peer_fail(leg->peer, msg);
}

static void dtls_connected(void *ctx, const dtls_srtp_keys_t *keys)
{
    lg_leg_t *leg = ctx;
    leg->srtp = srtp_session_new(keys->profile, keys->local_key, keys->remote_key, keys->key_len);
    if (!leg->srtp) {
        leg_fail(leg, "no SRTP session");
        return;
    }
    leg->profile = keys->profile;
    leg->peer->lg->profile = keys->profile;
    leg->state = LEG_UP;
    leg->connected_ns = uv_hrtime();
    leg->next_check_ns = leg->connected_ns + CONSENT_PERIOD_NS;
}

static void dtls_closed(void *ctx, const char *reason)
{
    lg_leg_t *leg = ctx;
    char why[128];
    snprintf(why, sizeof why, "DTLS closed: %s", reason);
    if (leg->state != LEG_FAILED)
        leg_fail(leg, why);
}

static void send_check(lg_leg_t *leg, bool use_candidate)
{
    uint8_t msg[512];
    int n =
        ice_client_conncheck_build(leg->ice, ICE_PRIORITY, use_candidate, NULL, msg, sizeof msg);
    if (n > 0)
        leg_send_raw(leg, msg, (size_t)n);
}

static void null_connected(lg_leg_t *leg)
{
    uint8_t up[SRTP_SESSION_MAX_KEY_LEN], down[SRTP_SESSION_MAX_KEY_LEN];
    uint8_t which = leg->is_pub ? NULL_LEG_PUB : NULL_LEG_SUB;
    if (leg->peer->lg->o.null_bare) {
        null_bare_key(up);
        memcpy(down, up, sizeof down);
    } else {
        null_key((uint32_t)leg->peer->index, which, NULL_DIR_UP, up);
        null_key((uint32_t)leg->peer->index, which, NULL_DIR_DOWN, down);
    }
    dtls_srtp_keys_t keys = {.profile = NULL_PROFILE,
                             .key_len = srtp_session_key_len(NULL_PROFILE)};
    memcpy(keys.local_key, up, sizeof up);
    memcpy(keys.remote_key, down, sizeof down);
    dtls_connected(leg, &keys);
}

static void send_hello(lg_leg_t *leg)
{
    uint8_t hello[NULL_HELLO_LEN];
    null_hello_write(hello, (uint32_t)leg->peer->index, leg->is_pub ? NULL_LEG_PUB : NULL_LEG_SUB);
    leg_send_raw(leg, hello, sizeof hello);
}

/* The pair works: the DTLS handshake starts, in the role the SDP gave us. */
static void ice_done(lg_leg_t *leg)
{
    static const dtls_transport_callbacks_t cb = {
        .send_datagram = dtls_send, .on_connected = dtls_connected, .on_closed = dtls_closed};
    leg->dtls =
        dtls_transport_new(leg->dtls_role, leg->peer->lg->cert, leg->remote_fp, NULL, &cb, leg);
    leg->state = LEG_DTLS;
    leg->dtls_started_ns = uv_hrtime();
    if (!leg->dtls || dtls_transport_start(leg->dtls))
        leg_fail(leg, "DTLS could not start");
}

static const char *responder_lookup(void *ctx, const char *local_ufrag, void **transport)
{
    lg_leg_t *leg = ctx;
    *transport = leg;
    return strcmp(local_ufrag, leg->ufrag) ? NULL : leg->pwd;
}

/* A full-ICE peer's connectivity check (RFC 8445 7.3): answered; a controlled
 * leg's pair works once the peer checked it. */
static void on_stun_request(lg_leg_t *leg, const uint8_t *data, size_t len,
                            const struct sockaddr_in *from)
{
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len = sizeof resp;
    ice_lite_result_t r;
    ice_lite_handle(&leg->peer->lg->responder[leg->controlled ? 0 : 1], data, len,
                    (const struct sockaddr *)from, sizeof *from, responder_lookup, leg, resp,
                    &resp_len, &r);
    if (resp_len)
        leg_send_raw(leg, resp, resp_len);
    if (!r.binding_ok)
        return;
    leg->checked = true;
    if (leg->controlled && leg->state == LEG_ICE)
        ice_done(leg);
}

static void on_stun(lg_leg_t *leg, const uint8_t *data, size_t len, const struct sockaddr_in *from)
{
    /* STUN class bits (RFC 5389 6): 0b00 is a request. */
    if (leg->full_ice && len >= 2 && (data[0] & 0x01) == 0 && (data[1] & 0x10) == 0) {
        on_stun_request(leg, data, len, from);
        return;
    }
    if (!leg->ice)
        return;
    if (ice_client_conncheck_response(leg->ice, data, len, NULL, NULL, NULL) ||
        leg->state != LEG_ICE)
        return;
    ice_done(leg);
}

static void on_srtp(lg_leg_t *leg, uint8_t *data, size_t len, uint64_t now_ns)
{
    if (leg->state != LEG_UP)
        return;
    if (ice_demux_is_rtcp(data, len)) {
        if (srtp_session_unprotect_rtcp(leg->srtp, data, &len))
            return;
        leg->rx_rtcp++;
        lg_peer_on_rtcp(leg->peer, leg, data, len, now_ns);
        return;
    }
    if (srtp_session_unprotect_rtp(leg->srtp, data, &len))
        return;
    leg->rx_rtp++;
    leg->rx_bytes += len;
    if (!leg->is_pub)
        lg_peer_on_media(leg->peer, data, len, now_ns);
}

static bool from_remote(const lg_leg_t *leg, const struct sockaddr_in *a)
{
    return a->sin_family == AF_INET && a->sin_port == leg->remote.sin_port &&
           a->sin_addr.s_addr == leg->remote.sin_addr.s_addr;
}

static void on_recv(void *ctx, uint8_t *data, size_t n, const struct sockaddr_in *from,
                    uint64_t rx_ns)
{
    lg_leg_t *leg = ctx;
    if (n == 0 || leg->state == LEG_IDLE)
        return;
    if (!from_remote(leg, from)) {
        leg->peer->lg->foreign_pkts++;
        return;
    }
    switch (ice_demux_kind(data, n)) {
    case ICE_DEMUX_STUN:
        on_stun(leg, data, n, from);
        break;
    case ICE_DEMUX_DTLS:
        /* The peer's DTLS client may start as soon as its own check passed. */
        if (!leg->dtls && leg->full_ice && leg->state == LEG_ICE && leg->checked)
            ice_done(leg);
        if (leg->dtls)
            dtls_transport_feed(leg->dtls, data, n);
        break;
    case ICE_DEMUX_RTP:
        on_srtp(leg, data, n, rx_ns);
        break;
    default:
        if (leg->null_mode && leg->state == LEG_ICE) {
            uint32_t index;
            uint8_t which;
            if (!null_hello_read(data, n, &index, &which) && index == (uint32_t)leg->peer->index)
                null_connected(leg);
        }
        break;
    }
}

int lg_leg_init(lg_leg_t *leg, lg_peer_t *peer, bool is_pub)
{
    memset(leg, 0, sizeof *leg);
    leg->peer = peer;
    leg->is_pub = is_pub;
    random_hex(leg->ufrag, 4);
    random_hex(leg->pwd, 16);
    int rc = lg_sock_open(&leg->sock, peer->lg->loop, on_recv, leg);
    leg->local_port = ntohs(leg->sock.addr.sin_port);
    return rc;
}

int lg_leg_start(lg_leg_t *leg, const lg_sdp_remote_t *remote)
{
    if (leg->state != LEG_IDLE)
        return 0;
    snprintf(leg->remote_ufrag, sizeof leg->remote_ufrag, "%s", remote->ufrag);
    snprintf(leg->remote_pwd, sizeof leg->remote_pwd, "%s", remote->pwd);
    snprintf(leg->remote_fp, sizeof leg->remote_fp, "%s", remote->fingerprint);
    if (uv_ip4_addr(remote->ip, remote->port, &leg->remote))
        return -EINVAL;
    leg->ice = ice_client_new(leg->ufrag, leg->remote_ufrag, leg->remote_pwd, 0);
    if (!leg->ice)
        return -EINVAL;
    /* Our node is ICE-lite and the DTLS server; a full-ICE peer (Janus) also
     * checks, is controlling when it offered, and takes the DTLS role its
     * a=setup says (RFC 5763 5: an answer's "active" makes us the server). */
    leg->dtls_role = DTLS_ROLE_CLIENT;
    if (leg->peer->lg->o.janus) {
        leg->full_ice = true;
        leg->controlled = !strcmp(remote->setup, "actpass");
        if (!strcmp(remote->setup, "active"))
            leg->dtls_role = DTLS_ROLE_SERVER;
    }
    leg->state = LEG_ICE;
    leg->next_check_ns = 0; /* the first check goes out on the next housekeeping pass */
    return 0;
}

int lg_leg_start_null(lg_leg_t *leg, const struct sockaddr_in *addr)
{
    leg->null_mode = true;
    leg->remote = *addr;
    leg->state = LEG_ICE;
    leg->next_check_ns = 0;
    return 0;
}

void lg_leg_housekeeping(lg_leg_t *leg, uint64_t now_ns)
{
    switch (leg->state) {
    case LEG_ICE:
        if (now_ns < leg->next_check_ns)
            break;
        if (leg->ice_tries++ >= (leg->controlled ? ICE_MAX_TRIES * 3 : ICE_MAX_TRIES)) {
            leg_fail(leg, leg->null_mode    ? "no answer to hellos"
                          : leg->controlled ? "no ICE check from the peer"
                                            : "no ICE answer");
            break;
        }
        leg->next_check_ns = now_ns + ICE_RTO_NS;
        /* A controlled leg waits for the controlling peer's checks. */
        if (leg->controlled)
            break;
        /* Aggressive nomination: every check carries USE-CANDIDATE. */
        if (leg->null_mode)
            send_hello(leg);
        else
            send_check(leg, true);
        break;
    case LEG_DTLS:
        if (dtls_transport_timeout_ms(leg->dtls) == 0)
            dtls_transport_handle_timeout(leg->dtls);
        if (leg->state == LEG_DTLS && now_ns - leg->dtls_started_ns > DTLS_TIMEOUT_NS)
            leg_fail(leg, "DTLS handshake timed out");
        break;
    case LEG_UP:
        if (!leg->null_mode && !leg->controlled && now_ns >= leg->next_check_ns) {
            send_check(leg, true);
            leg->next_check_ns = now_ns + CONSENT_PERIOD_NS;
        }
        break;
    default:
        break;
    }
}

/* Protects buf in place (SRTP or SRTCP) and sends it; the length sent or negative. */
static int leg_send(lg_leg_t *leg, uint8_t *buf, size_t len, bool rtcp)
{
    if (leg->state != LEG_UP)
        return -ENOTCONN;
    int rc = rtcp ? srtp_session_protect_rtcp(leg->srtp, buf, &len, LG_BUF_CAP)
                  : srtp_session_protect_rtp(leg->srtp, buf, &len, LG_BUF_CAP);
    if (rc)
        return rc;
    rc = lg_sock_send(&leg->sock, &leg->remote, buf, len);
    if (rc < 0) {
        leg->tx_failed++;
        return rc;
    }
    if (rtcp)
        leg->tx_rtcp++;
    else
        leg->tx_rtp++;
    return (int)len;
}

int lg_leg_send_rtp(lg_leg_t *leg, uint8_t *buf, size_t len)
{
    return leg_send(leg, buf, len, false);
}

int lg_leg_send_rtcp(lg_leg_t *leg, uint8_t *buf, size_t len)
{
    return leg_send(leg, buf, len, true);
}

uint64_t lg_leg_auth_failures(const lg_leg_t *leg)
{
    if (!leg->srtp)
        return 0;
    const srtp_session_stats_t *s = srtp_session_stats(leg->srtp);
    return s->rtp_auth_fail + s->rtcp_auth_fail;
}

void lg_leg_close(lg_leg_t *leg)
{
    if (leg->dtls) {
        if (leg->state == LEG_UP)
            dtls_transport_close(leg->dtls);
        dtls_transport_free(leg->dtls);
        leg->dtls = NULL;
    }
    leg->state = LEG_FAILED;
    ice_client_free(leg->ice);
    leg->ice = NULL;
    /* The SRTP session stays: the summary reads its counters; main.c frees it. */
    lg_sock_close(&leg->sock);
}
