/* tools/loadgen/peer.c: one synthetic participant: the call protocol on its
 * WebSocket (authenticate, call_join, call_publish, answering every
 * call_subscribe_offer, call_leave), its synthetic streams, and what it
 * measures of every packet it receives. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "tools/loadgen/lg.h"

static uint8_t tx_buf[LG_BUF_CAP];

void lg_peer_fail(lg_peer_t *p, const char *why)
{
    if (!p->failed && !p->lg->o.quiet)
        fprintf(stderr, "loadgen: participant %d (%s): %s\n", p->index, p->username, why);
    p->failed = true;
}

void lg_peer_send_json(lg_peer_t *p, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text || lg_ws_send_text(&p->ws, text, strlen(text)))
        lg_peer_fail(p, "could not send on the WebSocket");
    free(text);
}

lg_sdp_local_t lg_peer_local_desc(lg_peer_t *p, lg_leg_t *leg)
{
    lg_sdp_local_t l = {.ufrag = leg->ufrag,
                        .pwd = leg->pwd,
                        .fingerprint = dtls_cert_fingerprint(p->lg->cert),
                        .port = leg->local_port,
                        .cname_id = (unsigned)p->index,
                        .max_sections = p->lg->o.janus ? LG_SUB_SECTIONS : 0};
    for (int i = 0; i < p->stream_count; i++) {
        const lg_stream_t *s = &p->streams[i];
        if (!s->video || s->layer == 0)
            l.ssrc[s->video ? 1 : 0] = s->ssrc;
        if (s->video && p->video_layers > 1) {
            l.layer_ssrc[s->layer] = s->ssrc;
            l.video_layers = p->video_layers;
        }
    }
    return l;
}

const char *lg_peer_publish_offer(lg_peer_t *p, lg_sdp_local_t *l)
{
    static char sdp[LG_SDP_MAX];
    *l = lg_peer_local_desc(p, &p->pub);
    if (lg_sdp_write_publish_offer(l, sdp, sizeof sdp) < 0) {
        lg_peer_fail(p, "publish offer too large");
        return NULL;
    }
    return sdp;
}

static void publish(lg_peer_t *p)
{
    lg_sdp_local_t l;
    const char *sdp = lg_peer_publish_offer(p, &l);
    if (!sdp)
        return;
    json_t *tracks = json_array();
    int mid = 0;
    for (int t = 0; t < LG_MAX_TRACKS; t++) {
        char m[8];
        if (!l.ssrc[t])
            continue;
        snprintf(m, sizeof m, "%d", mid++);
        json_array_append_new(tracks,
                              json_pack("{s:s,s:s}", "mid", m, "source", t ? "camera" : "mic"));
    }
    lg_peer_send_json(p, json_pack("{s:s,s:I,s:s,s:o,s:i}", "type", "call_publish", "roomId",
                                   (json_int_t)p->room_id, "sdp", sdp, "tracks", tracks, "id",
                                   ++p->next_id));
}

static void on_publish_answer(lg_peer_t *p, json_t *msg)
{
    static lg_sdp_remote_t remote;
    const char *sdp = json_string_value(json_object_get(msg, "sdp"));
    if (!sdp || lg_sdp_parse(sdp, &remote)) {
        lg_peer_fail(p, "unusable call_publish_answer SDP");
        return;
    }
    if (lg_leg_start(&p->pub, &remote))
        lg_peer_fail(p, "could not start the publish leg");
}

/* What the offer announces: every SSRC of its active sections joins the leg's
 * set; a section under a publisher's own SSRC is counted (the node should
 * announce per-subscriber SSRCs of its own). */
void lg_peer_note_offer(lg_peer_t *p, const lg_sdp_remote_t *offer)
{
    lg_t *lg = p->lg;
    uint64_t now_ns = lg_now_ns();
    for (int i = 0; i < offer->section_count; i++) {
        const lg_sdp_section_t *m = &offer->sections[i];
        bool publisher_ssrc = false;
        for (int k = 0; k < m->ssrc_count; k++) {
            publisher_ssrc |= lg_ssrc_sorted_has(lg->pub_ssrcs, lg->pub_ssrc_count, m->ssrcs[k]);
            if (m->active && lg_ssrc_set_announce(&p->announced, m->ssrcs[k], now_ns))
                lg_peer_fail(p, "out of memory for announced SSRCs");
        }
        lg->publisher_ssrc_sections += publisher_ssrc;
    }
}

/* The subscriber's preferred layer for every video the offer sends it
 * (call_set_layers; the node keeps it per track, so asking again is harmless). */
static void ask_layers(lg_peer_t *p, const lg_sdp_remote_t *offer)
{
    if (p->prefer_layer < 0)
        return;
    json_t *tracks = json_array();
    for (int i = 0; i < offer->section_count; i++) {
        const lg_sdp_section_t *m = &offer->sections[i];
        if (m->video && m->active && m->producer_id)
            json_array_append_new(tracks,
                                  json_pack("{s:I,s:i}", "producerId", (json_int_t)m->producer_id,
                                            "maxLayer", p->prefer_layer));
    }
    if (!json_array_size(tracks)) {
        json_decref(tracks);
        return;
    }
    p->layers_asked++;
    lg_peer_send_json(p, json_pack("{s:s,s:I,s:o,s:i}", "type", "call_set_layers", "roomId",
                                   (json_int_t)p->room_id, "tracks", tracks, "id", ++p->next_id));
}

static void on_subscribe_offer(lg_peer_t *p, json_t *msg)
{
    static lg_sdp_remote_t offer;
    static char answer[LG_SDP_MAX];
    const char *sdp = json_string_value(json_object_get(msg, "sdp"));
    json_int_t version = json_integer_value(json_object_get(msg, "version"));
    if (!sdp || lg_sdp_parse(sdp, &offer)) {
        lg_peer_fail(p, "unusable call_subscribe_offer SDP");
        return;
    }
    lg_sdp_local_t l = lg_peer_local_desc(p, &p->sub);
    if (lg_sdp_write_subscribe_answer(&offer, &l, answer, sizeof answer) < 0) {
        lg_peer_fail(p, "subscribe answer too large");
        return;
    }
    p->sub_version = (unsigned)version;
    lg_peer_note_offer(p, &offer);
    lg_peer_send_json(p, json_pack("{s:s,s:I,s:s,s:I,s:i}", "type", "call_subscribe_answer",
                                   "roomId", (json_int_t)p->room_id, "sdp", answer, "version",
                                   version, "id", ++p->next_id));
    ask_layers(p, &offer);
    if (lg_leg_start(&p->sub, &offer))
        lg_peer_fail(p, "could not start the subscribe leg");
}

static void on_text(lg_ws_t *ws, const char *text, size_t len)
{
    lg_peer_t *p = ws->ctx;
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, 0, &jerr);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        json_decref(msg);
        return;
    }
    if (!strcmp(type, "authenticated")) {
        p->authed = true;
        p->join_ns = lg_now_ns();
        lg_peer_send_json(p, json_pack("{s:s,s:I,s:i}", "type", "call_join", "roomId",
                                       (json_int_t)p->room_id, "id", ++p->next_id));
    } else if (!strcmp(type, "call_joined")) {
        p->joined = true;
        if (p->publishes && p->stream_count)
            publish(p);
    } else if (!strcmp(type, "call_publish_answer")) {
        on_publish_answer(p, msg);
    } else if (!strcmp(type, "call_subscribe_offer")) {
        on_subscribe_offer(p, msg);
    } else if (!strcmp(type, "call_layers_set")) {
        p->layers_set++;
    } else if (!strcmp(type, "error") || !strcmp(type, "auth_error")) {
        const char *code = json_string_value(json_object_get(msg, "code"));
        const char *m = json_string_value(json_object_get(msg, "message"));
        p->ws_errors++;
        snprintf(p->last_error, sizeof p->last_error, "%s: %s", code ? code : "?", m ? m : "");
        if (!p->lg->o.quiet)
            fprintf(stderr, "loadgen: participant %d: node error %s\n", p->index, p->last_error);
        if (!strcmp(type, "auth_error") ||
            (code && (!strcmp(code, "call_full") || !strcmp(code, "forbidden") ||
                      !strcmp(code, "not_found"))))
            lg_peer_fail(p, p->last_error);
    }
    json_decref(msg);
}

static void on_open(lg_ws_t *ws)
{
    lg_peer_t *p = ws->ctx;
    lg_peer_send_json(p, json_pack("{s:s,s:s,s:i}", "type", "authenticate", "token", p->token, "id",
                                   ++p->next_id));
}

static void on_closed(lg_ws_t *ws, const char *reason)
{
    lg_peer_t *p = ws->ctx;
    if (!p->left)
        lg_peer_fail(p, reason);
}

int lg_peer_start(lg_peer_t *p)
{
    if (p->lg->o.janus)
        return lg_janus_start(p);
    if (p->lg->o.null_target) {
        p->ws_live = p->joined = true;
        p->join_ns = lg_now_ns();
        lg_leg_start_null(&p->sub, &p->lg->o.null_addr);
        return p->publishes && p->stream_count ? lg_leg_start_null(&p->pub, &p->lg->o.null_addr)
                                               : 0;
    }
    static const lg_ws_callbacks_t cb = {
        .on_open = on_open, .on_text = on_text, .on_closed = on_closed};
    p->ws_live = true;
    int rc = lg_ws_connect(&p->ws, p->lg->loop, &p->lg->http_addr, &cb, p);
    if (rc)
        lg_peer_fail(p, uv_strerror(rc));
    return rc;
}

void lg_peer_leave(lg_peer_t *p)
{
    if (p->left)
        return;
    p->left = true;
    if (p->lg->o.janus) {
        lg_janus_leave(p);
        lg_leg_close(&p->pub);
        lg_leg_close(&p->sub);
        return;
    }
    if (!p->lg->o.null_target && p->ws.open && p->joined)
        lg_peer_send_json(p, json_pack("{s:s,s:I,s:i}", "type", "call_leave", "roomId",
                                       (json_int_t)p->room_id, "id", ++p->next_id));
    if (!p->lg->o.null_target)
        lg_ws_close(&p->ws);
    lg_leg_close(&p->pub);
    lg_leg_close(&p->sub);
}

/* ---- media out ---- */

#define NS_PER_S          1000000000ull
#define NTP_UNIX_OFFSET_S 2208988800ull /* 1900-01-01 to 1970-01-01 */
#define RTCP_SDES_CNAME   1

static uint32_t stream_clock_hz(const lg_stream_t *s)
{
    return s->video ? LG_VIDEO_CLOCK_HZ : LG_AUDIO_CLOCK_HZ;
}

/* The stream's RTP time at t_ns (uv_hrtime): its clock since the first slot. */
static uint32_t stream_rtp_ts(const lg_stream_t *s, uint64_t t_ns)
{
    uint64_t since_ns = t_ns > s->origin_ns ? t_ns - s->origin_ns : 0;
    return (uint32_t)(since_ns * stream_clock_hz(s) / NS_PER_S);
}

/* RFC 3550 4: seconds since 1900 in the high word, the fraction below. */
static uint64_t ntp_from_unix_ns(uint64_t unix_ns)
{
    uint64_t secs = unix_ns / NS_PER_S + NTP_UNIX_OFFSET_S;
    uint64_t frac = (unix_ns % NS_PER_S << 32) / NS_PER_S;
    return secs << 32 | frac;
}

/* RFC 3550 6.5.1: an SDES packet with one chunk, the stream's CNAME (the one
 * in the publish offer's a=ssrc line). Length, or -ENOSPC. */
static int write_sdes_cname(uint8_t *b, size_t cap, uint32_t ssrc, const char *cname)
{
    size_t n = strlen(cname);
    /* SSRC, item type and length, the text, then at least one null octet to a 32-bit boundary. */
    size_t len = RTCP_HEADER_LEN + (4 + 2 + n + 1 + 3) / 4 * 4;
    if (n > 255 || len > cap)
        return -ENOSPC;
    memset(b, 0, len);
    b[0] = 0x80 | 1; /* V=2, one chunk */
    b[1] = RTCP_PT_SDES;
    wr_be16(b + 2, (uint16_t)(len / 4 - 1));
    wr_be32(b + 4, ssrc);
    b[8] = RTCP_SDES_CNAME;
    b[9] = (uint8_t)n;
    memcpy(b + 10, cname, n);
    return (int)len;
}

/* RFC 3550 6.4.1: the stream's sender report, NTP and RTP time of the same
 * instant, then its CNAME (6.1: a compound carries one). */
static void send_sr(lg_peer_t *p, lg_stream_t *s, uint64_t now_ns)
{
    uint8_t *b = tx_buf;
    char cname[16];
    rtcp_sr_t sr = {.ssrc = s->ssrc,
                    .ntp = ntp_from_unix_ns(lg_now_ns()),
                    .rtp_ts = stream_rtp_ts(s, now_ns),
                    .packet_count = (uint32_t)s->packets_sent,
                    .octet_count = (uint32_t)s->octets_sent};
    int n = rtcp_write_sr(b, LG_BUF_CAP, &sr, NULL, 0);
    if (n < 0)
        return;
    snprintf(cname, sizeof cname, "lg%d", p->index);
    int m = write_sdes_cname(b + n, LG_BUF_CAP - (size_t)n, s->ssrc, cname);
    if (m < 0)
        return;
    if (lg_leg_send_rtcp(&p->pub, b, (size_t)(n + m)) > 0)
        s->srs_sent++;
    else
        p->lg->tx_failed++;
}

/* The packet of slot_ns (uv_hrtime of its place in the stream's schedule). */
static void send_one(lg_peer_t *p, lg_stream_t *s, uint64_t slot_ns)
{
    uint8_t *b = tx_buf;
    bool marker = true;
    uint32_t ts;
    size_t bytes = s->bytes;
    lg_payload_t pl = {.publisher = (uint32_t)p->index,
                       .track = s->video ? 1 : 0,
                       .layer = (uint8_t)s->layer,
                       .seq = s->seq,
                       .sent_ns = lg_now_ns()};
    if (s->video) {
        /* Every packet of a frame carries the time of its first. */
        if (s->in_frame == 0) {
            s->frame_ts = stream_rtp_ts(s, slot_ns);
            if (s->keyframe_due) {
                s->keyframe_due = false;
                pl.keyframe = true;
            }
        }
        marker = ++s->in_frame >= s->frame_pkts;
        ts = s->frame_ts;
        if (marker)
            s->in_frame = 0;
    } else {
        ts = stream_rtp_ts(s, slot_ns); /* 960 a packet at 50 packets/s */
    }
    int n = rtp_header_write(b, LG_BUF_CAP, s->video ? LG_VIDEO_PT : LG_AUDIO_PT, marker,
                             s->rtp_seq, ts, s->ssrc);
    if (n < 0)
        return;
    if (bytes < LG_PAYLOAD_HDR)
        bytes = LG_PAYLOAD_HDR;
    lg_payload_write(b + n, &pl);
    memset(b + n + LG_PAYLOAD_HDR, 0xa5, bytes - LG_PAYLOAD_HDR);
    int sent = lg_leg_send_rtp(&p->pub, b, (size_t)n + bytes);
    s->rtp_seq++;
    s->seq++;
    if (sent > 0) {
        s->packets_sent++;
        s->octets_sent += bytes;
        p->lg->tx_pkts++;
        p->lg->tx_bytes += (uint64_t)sent;
    } else {
        p->lg->tx_failed++;
    }
}

void lg_peer_send_due(lg_peer_t *p, uint64_t now_ns)
{
    if (p->pub.state != LEG_UP || p->left)
        return;
    for (int i = 0; i < p->stream_count; i++) {
        lg_stream_t *s = &p->streams[i];
        /* Independent clients: each stream starts at a random phase of its period,
         * and sends its first sender report within half a period of reports. */
        if (s->next_ns == 0) {
            s->next_ns = now_ns + (uint64_t)rand() % s->period_ns;
            s->origin_ns = s->next_ns;
            s->next_sr_ns = s->origin_ns + (uint64_t)rand() % (LG_SR_PERIOD_NS / 2);
        }
        /* After a stall, skip ahead rather than send a burst (RTP time skips too). */
        if (now_ns > s->next_ns + 100 * 1000000ull)
            s->next_ns = now_ns;
        for (int burst = 0; s->next_ns <= now_ns && burst < 64; burst++) {
            send_one(p, s, s->next_ns);
            s->next_ns += s->period_ns;
        }
        /* The null forwarder drops RTCP; the node needs the mapping to send its own. */
        if (s->packets_sent && now_ns >= s->next_sr_ns && !p->lg->o.null_target) {
            send_sr(p, s, now_ns);
            s->next_sr_ns = now_ns + LG_SR_PERIOD_NS;
        }
    }
}

/* ---- media in ---- */

void lg_peer_on_media(lg_peer_t *p, uint8_t *data, size_t len, uint64_t now_ns)
{
    lg_t *lg = p->lg;
    rtp_packet_t pkt;
    lg_payload_t pl;
    if (rtp_packet_parse(&pkt, data, len)) {
        lg->foreign_pkts++;
        return;
    }
    /* The null forwarder announces nothing: it keeps the publishers' SSRCs. */
    if (!lg->o.null_target) {
        lg_ssrc_set_seen(&p->announced, pkt.ssrc, false, now_ns);
        lg_ssrc_set_rtp(&p->announced, pkt.ssrc, pkt.seq, pkt.ts);
    }
    /* Not ours, or a publisher of another room: a leak across rooms. */
    if (lg_payload_read(&pkt, &pl) || pl.publisher >= (uint32_t)lg->participants ||
        pl.track >= LG_MAX_TRACKS || pl.layer >= (pl.track ? LG_MAX_LAYERS : 1) ||
        lg->peers[pl.publisher].room != p->room) {
        lg->foreign_pkts++;
        return;
    }
    if (!p->first_rx_ns) {
        p->first_rx_ns = now_ns;
        if (p->join_ns)
            lg_hist_add(&lg->connect_ms, (now_ns - p->join_ns) / 1000000);
    }
    lg->rx_pkts++;
    lg->rx_bytes += len;
    const lg_peer_t *pub = &lg->peers[pl.publisher];
    const lg_stream_t *s = NULL;
    int slot = lg_stream_slot(pl.track, pl.layer);
    for (int i = 0; i < pub->stream_count; i++)
        if (pub->streams[i].slot == slot)
            s = &pub->streams[i];
    /* Each simulcast layer is a stream of its own: its own sequence. */
    lg_rx_t *rx = &p->rx[pl.publisher * LG_MAX_STREAMS + slot];
    rx->received++;
    if (rx->any && pl.seq <= rx->max_seq)
        rx->late_or_dup++;
    else
        rx->max_seq = pl.seq;
    rx->any = true;
    rx->last_ns = now_ns;
    if (s && lg->measure_start_ns && pl.seq >= s->seq_at_measure_start &&
        (!lg->measure_end_ns || pl.seq < s->seq_at_measure_end)) {
        if (!rx->in_window || pl.seq < rx->win_first)
            rx->win_first = pl.seq;
        if (!rx->in_window || pl.seq > rx->win_last)
            rx->win_last = pl.seq;
        rx->in_window++;
    }
    if (pl.sent_ns >= lg->measure_start_ns && lg_measuring(lg, pl.sent_ns) && now_ns > pl.sent_ns) {
        uint64_t us = (now_ns - pl.sent_ns) / 1000;
        lg_hist_add(&lg->latency, us);
        lg_hist_add(&lg->second_hist, us);
    }
}

/* RFC 4585 6.3.1 PLI, RFC 5104 4.3.1 FIR: the next frame of that stream is a keyframe. */
static void on_keyframe_request(lg_peer_t *p, uint32_t media_ssrc)
{
    for (int i = 0; i < p->stream_count; i++) {
        if (p->streams[i].ssrc == media_ssrc && p->streams[i].video) {
            p->streams[i].keyframe_due = true;
            p->streams[i].plis++;
        }
    }
}

static void on_feedback(lg_peer_t *p, const rtcp_packet_t *r)
{
    rtcp_fb_t fb;
    if (rtcp_parse_fb(r, &fb))
        return;
    if (rtcp_fb_is_pli(&fb)) {
        on_keyframe_request(p, fb.media_ssrc);
        return;
    }
    int firs = rtcp_fir_count(&fb);
    for (int i = 0; i < firs; i++) {
        uint32_t ssrc;
        uint8_t seq_nr;
        rtcp_fir_entry(&fb, i, &ssrc, &seq_nr);
        on_keyframe_request(p, ssrc);
    }
}

/* The node's own reports on the subscribe leg: each under an SSRC it announced. */
static void on_sender_report(lg_peer_t *p, const rtcp_packet_t *r, uint64_t now_ns)
{
    rtcp_sr_t sr;
    if (rtcp_parse_sr(r, &sr))
        return;
    p->srs_received++;
    if (!p->lg->o.null_target)
        lg_ssrc_set_seen(&p->announced, sr.ssrc, true, now_ns);
}

void lg_peer_on_rtcp(lg_peer_t *p, lg_leg_t *leg, uint8_t *pkt, size_t len, uint64_t now_ns)
{
    /* RFC 3550 6.1: a compound packet (or a reduced-size one, RFC 5506). */
    rtcp_iter_t it;
    rtcp_packet_t r;
    rtcp_iter_init(&it, pkt, len);
    while (rtcp_iter_next(&it, &r) == 1) {
        if (leg->is_pub && r.pt == RTCP_PT_PSFB)
            on_feedback(p, &r);
        else if (!leg->is_pub && r.pt == RTCP_PT_SR)
            on_sender_report(p, &r, now_ns);
    }
}
