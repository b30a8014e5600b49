/* signaling/api_misc.c: health check and Prometheus metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfu/media.h"
#include "signaling/api.h"
#include "signaling/signaling_internal.h"
#include "signaling/ws.h"

#ifndef SFU_VERSION
#define SFU_VERSION "0.0.0"
#endif

static double uptime_s(signaling_t *sig)
{
    return (double)(uv_now(sig->loop) - sig->started_ms) / 1000.0;
}

void api_health(http_req_t *req)
{
    bool ok = store_ping(req->sig->store) == 0;
    http_reply_json(req, ok ? 200 : 503,
                    json_pack("{s:s,s:s,s:f,s:s}", "status", ok ? "ok" : "degraded", "store",
                              ok ? "ok" : "unreachable", "uptimeSeconds", uptime_s(req->sig),
                              "version", SFU_VERSION));
}

typedef struct text_buf {
    char *data;
    size_t len, cap;
    bool failed;
} text_buf_t;

static void tb_printf(text_buf_t *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(text_buf_t *tb, const char *fmt, ...)
{
    if (tb->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tb->data + tb->len, tb->cap - tb->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            tb->failed = true;
            return;
        }
        if ((size_t)n < tb->cap - tb->len) {
            tb->len += (size_t)n;
            return;
        }
        size_t cap = (tb->cap + (size_t)n + 1) * 2;
        char *grown = realloc(tb->data, cap);
        if (!grown) {
            tb->failed = true;
            return;
        }
        tb->data = grown;
        tb->cap = cap;
    }
}

typedef struct ws_emit {
    text_buf_t *tb;
    const char *last; /* the series whose HELP was written last */
} ws_emit_t;

static void emit_ws(void *ctx, const char *name, const char *label, uint64_t value)
{
    ws_emit_t *we = ctx;
    text_buf_t *tb = we->tb;
    static const struct {
        const char *name, *type, *help;
    } help[] = {
        {"sfu_ws_connections", "gauge", "Open WebSocket connections."},
        {"sfu_ws_frames_in_total", "counter", "WebSocket messages received."},
        {"sfu_ws_frames_out_total", "counter", "WebSocket messages sent."},
        {"sfu_ws_frames_rejected_total", "counter",
         "WebSocket messages refused: oversized, binary, malformed, unknown."},
        {"sfu_ws_errors_total", "counter", "error messages sent on the WebSocket, by code."},
        {"sfu_ws_queue_overflows_total", "counter",
         "WebSocket connections closed (4008) because their outgoing queue overflowed."},
    };
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++) {
        if (!strcmp(help[i].name, name) && we->last != help[i].name) {
            tb_printf(tb, "# HELP %s %s\n# TYPE %s %s\n", name, help[i].help, name, help[i].type);
            we->last = help[i].name;
        }
    }
    if (label)
        tb_printf(tb, "%s{code=\"%s\"} %llu\n", name, label, (unsigned long long)value);
    else
        tb_printf(tb, "%s %llu\n", name, (unsigned long long)value);
}

/* /metrics: loopback clients (not forwarded by a proxy), or the bearer token. */
static bool metrics_allowed(const http_req_t *req)
{
    const char *tok = req->sig->metrics_token;
    const char *auth = req->authorization;
    if (req->peer_loopback)
        return true;
    if (!tok[0] || strncasecmp(auth, "Bearer ", 7))
        return false;
    size_t n = strlen(tok);
    if (strlen(auth + 7) != n)
        return false;
    unsigned char diff = 0; /* constant time */
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(auth[7 + i] ^ tok[i]);
    return diff == 0;
}

void api_metrics(http_req_t *req)
{
    signaling_t *sig = req->sig;
    if (!metrics_allowed(req)) {
        http_reply_error(req, 403, "forbidden", NULL, "metrics are served to loopback clients%s",
                         sig->metrics_token[0] ? " or with the metrics token" : "");
        return;
    }
    text_buf_t tb = {.data = malloc(4096), .cap = 4096};
    if (!tb.data) {
        http_reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    tb.data[0] = '\0';
    /* Count this request before rendering so the scrape sees itself. */
    tb_printf(&tb, "# HELP sfu_http_requests_total HTTP requests answered, by route and status.\n"
                   "# TYPE sfu_http_requests_total counter\n");
    router_count(sig, req->route, req->method, 200);
    req->counted = true;
    for (int i = 0; i < sig->series_count; i++) {
        const metric_series_t *s = &sig->series[i];
        tb_printf(&tb, "sfu_http_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %llu\n",
                  http_method_name((http_method_t)s->method), router_route_pattern(s->route),
                  s->status, (unsigned long long)s->count);
    }
    int64_t users = 0, rooms = 0;
    bool store_ok =
        store_user_count(sig->store, &users) == 0 && store_room_count(sig->store, &rooms) == 0;
    tb_printf(&tb,
              "# HELP sfu_users Registered users.\n# TYPE sfu_users gauge\nsfu_users %lld\n"
              "# HELP sfu_rooms Live (not ended) rooms.\n# TYPE sfu_rooms gauge\nsfu_rooms %lld\n"
              "# HELP sfu_store_up 1 when the store answered this scrape.\n"
              "# TYPE sfu_store_up gauge\nsfu_store_up %d\n"
              "# HELP sfu_uptime_seconds Seconds since the node started.\n"
              "# TYPE sfu_uptime_seconds gauge\nsfu_uptime_seconds %.3f\n",
              (long long)users, (long long)rooms, store_ok ? 1 : 0, uptime_s(sig));
    ws_emit_t we = {.tb = &tb};
    ws_metrics(sig, emit_ws, &we);
    if (sig->media) {
        sfu_media_counters_t mc;
        sfu_media_counters(sig->media, &mc);
        static const struct {
            const char *name, *type, *help;
            size_t off;
        } series[] = {
#define MC(n, t, h, f) {n, t, h, offsetof(sfu_media_counters_t, f)}
            MC("sfu_rtp_forwarded_total", "counter", "RTP packets sent to consumers.",
               rtp_forwarded),
            MC("sfu_rtcp_sr_sent_total", "counter", "Sender reports sent to subscribers.", sr_sent),
            MC("sfu_pli_sent_total", "counter", "Keyframe requests sent to publishers.", pli_sent),
            MC("sfu_rtcp_rr_sent_total", "counter", "Receiver reports sent to publishers.",
               rr_sent),
            MC("sfu_nack_sent_total", "counter",
               "NACKs the node sent to publishers for packets it did not receive.", nack_sent),
            MC("sfu_nack_received_total", "counter", "NACKs received from subscribers.",
               nack_received),
            MC("sfu_retransmitted_total", "counter",
               "Packets sent again from a producer's cache to answer a NACK (RTX or plain).",
               retransmitted),
            MC("sfu_nack_miss_total", "counter",
               "NACKed packets no longer (or never) in the producer's cache.", nack_miss),
            MC("sfu_upstream_recovered_total", "counter",
               "Packets a publisher sent again after the node's NACK.", upstream_recovered),
            MC("sfu_upstream_given_up_total", "counter",
               "Missing packets from publishers the node stopped asking for.", upstream_given_up),
            MC("sfu_upstream_rtx_total", "counter", "Packets received on publishers' RTX streams.",
               upstream_rtx),
            MC("sfu_upstream_rtx_padding_total", "counter",
               "Bandwidth probes on publishers' RTX streams (padding, copies of packets received).",
               upstream_rtx_padding),
            MC("sfu_twcc_feedback_sent_total", "counter",
               "Transport-cc feedback packets sent to publishers.", twcc_sent),
            MC("sfu_twcc_feedback_received_total", "counter",
               "Transport-cc feedback packets from subscribers used for their estimates.",
               twcc_received),
            MC("sfu_remb_sent_total", "counter", "REMB packets sent to publishers.", remb_sent),
            MC("sfu_layer_switches_total", "counter",
               "Simulcast consumers that changed spatial layer.", layer_switches),
            MC("sfu_probes_total", "counter", "Downlink probes started (padding as RTX).", probes),
            MC("sfu_keyframe_requests_total", "counter", "PLI and FIR received from subscribers.",
               keyframe_requests),
            MC("sfu_media_send_failed_total", "counter", "Media or RTCP sends that failed.",
               send_failed),
            MC("sfu_rtp_not_placed_total", "counter",
               "Duplicate or stale packets a consumer did not send.", rtp_not_placed),
            MC("sfu_rtcp_malformed_total", "counter", "RTCP that did not parse.", rtcp_malformed),
            MC("sfu_rtcp_unknown_ssrc_total", "counter",
               "Feedback naming no consumer of the leg it came on.", rtcp_unknown_ssrc),
            MC("sfu_rtp_malformed_total", "counter", "Decrypted packets that are not valid RTP.",
               rtp_malformed),
            MC("sfu_rtp_unknown_ssrc_total", "counter",
               "RTP with an SSRC the sending leg does not publish.", unknown_ssrc),
            MC("sfu_udp_rx_packets_total", "counter", "UDP datagrams received by the workers.",
               udp_rx),
            MC("sfu_udp_rx_dropped_total", "counter",
               "Datagrams dropped: garbage, or from a 5-tuple that did not pass ICE.",
               udp_rx_dropped),
            MC("sfu_stun_rejected_total", "counter", "STUN requests refused (bad credentials).",
               stun_rejected),
            MC("sfu_udp_tx_packets_total", "counter", "UDP datagrams sent by the workers.", udp_tx),
            MC("sfu_udp_tx_failed_total", "counter", "UDP sends that failed.", udp_tx_failed),
            MC("sfu_srtp_auth_failed_total", "counter", "SRTP/SRTCP failing authentication.",
               srtp_auth_failed),
            MC("sfu_srtp_replayed_total", "counter", "Replayed SRTP/SRTCP.", srtp_replayed),
            MC("sfu_dtls_failed_total", "counter", "DTLS handshakes that failed.", dtls_failed),
            MC("sfu_transports", "gauge", "Open ICE/DTLS transports.", transports),
            MC("sfu_tcp_accepted_total", "counter", "ICE-TCP connections accepted.", tcp_accepted),
            MC("sfu_tcp_refused_total", "counter",
               "ICE-TCP connections closed at once: over the connection limits.", tcp_refused),
            MC("sfu_tcp_timed_out_total", "counter",
               "ICE-TCP connections closed for passing no connectivity check in time.",
               tcp_timed_out),
            MC("sfu_tcp_bad_total", "counter",
               "ICE-TCP connections closed for bad framing or a bad first packet.", tcp_bad),
            MC("sfu_dc_relayed_reliable_total", "counter",
               "Data channel messages relayed on app channels (one per receiver).",
               dc_relayed_reliable),
            MC("sfu_dc_relayed_reliable_bytes_total", "counter",
               "Payload bytes of the messages relayed on app channels.", dc_bytes_reliable),
            MC("sfu_dc_relayed_unreliable_total", "counter",
               "Data channel messages relayed on state channels (one per receiver).",
               dc_relayed_unreliable),
            MC("sfu_dc_relayed_unreliable_bytes_total", "counter",
               "Payload bytes of the messages relayed on state channels.", dc_bytes_unreliable),
            MC("sfu_dc_dropped_size_total", "counter",
               "Data channel messages dropped: over the size limit.", dc_dropped_size),
            MC("sfu_dc_dropped_rate_total", "counter",
               "Data channel messages dropped: over the sender's rate limit.", dc_dropped_rate),
            MC("sfu_dc_dropped_full_total", "counter",
               "State channel messages a receiver lost: its send buffer was full.",
               dc_dropped_full),
            MC("sfu_dc_closed_not_reading_total", "counter",
               "App channels closed because the receiver's send buffer was full.",
               dc_closed_not_reading),
#undef MC
        };
        for (size_t i = 0; i < sizeof series / sizeof series[0]; i++)
            tb_printf(&tb, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", series[i].name, series[i].help,
                      series[i].name, series[i].type, series[i].name,
                      (unsigned long long)*(const uint64_t *)((const char *)&mc + series[i].off));
    }
    if (tb.failed) {
        free(tb.data);
        http_reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    http_reply_text_take(req, 200, "text/plain; version=0.0.4", tb.data, tb.len);
}
