#include "rtp/rtc_sdp.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"

/* Copies at most cap-1 bytes of [s, s+n) and terminates. */
static void copy_n(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Copies an identifier whole: cut short it would name something else. */
static int copy_whole(char *dst, size_t cap, const char *v, const char *what, char *err,
                      size_t err_cap)
{
    size_t n = strlen(v);
    if (n >= cap) {
        snprintf(err, err_cap, "%s longer than %zu characters", what, cap - 1);
        return -EINVAL;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

static rtc_sdp_codec_t *codec_by_pt(rtc_sdp_media_t *m, unsigned pt)
{
    for (int i = 0; i < m->codec_count; i++) {
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    }
    return NULL;
}

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* One "a=" attribute (without the "a="), for the session or a media section. */
/* RFC 8851 10: rid-id = 1*(alpha-numeric / "-" / "_"); ours are shorter. */
static bool rid_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= sizeof((rtc_sdp_media_t *)0)->rids[0])
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
            return false;
    }
    return true;
}

static void rid_add(rtc_sdp_media_t *m, const char *id)
{
    for (int i = 0; i < m->rid_count; i++) {
        if (!strcmp(m->rids[i], id))
            return;
    }
    if (m->rid_count < RTC_SDP_MAX_LAYERS)
        copy_n(m->rids[m->rid_count++], sizeof m->rids[0], id, strlen(id));
}

static int parse_attr(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *a, size_t n, char *err,
                      size_t err_cap)
{
    char line[512];
    copy_n(line, sizeof line, a, n);
    char *v = strchr(line, ':');
    const char *name = line;
    if (v)
        *v++ = '\0';
    else
        v = line + strlen(line);

    if (!strcmp(name, "ice-ufrag")) {
        return copy_whole(s->ice_ufrag, sizeof s->ice_ufrag, v, "a=ice-ufrag", err, err_cap);
    } else if (!strcmp(name, "ice-pwd")) {
        return copy_whole(s->ice_pwd, sizeof s->ice_pwd, v, "a=ice-pwd", err, err_cap);
    } else if (!strcmp(name, "fingerprint")) {
        if (!strncasecmp(v, "sha-256 ", 8))
            return copy_whole(s->fingerprint, sizeof s->fingerprint, v + 8, "a=fingerprint", err,
                              err_cap);
    } else if (!strcmp(name, "setup")) {
        copy_n(s->setup, sizeof s->setup, v, strlen(v));
    } else if (!strcmp(name, "group")) {
        if (!strncmp(v, "BUNDLE", 6))
            s->bundle = true;
    } else if (!m) {
        return 0; /* other session attributes do not matter to us */
    } else if (!strcmp(name, "mid")) {
        return copy_whole(m->mid, sizeof m->mid, v, "a=mid", err, err_cap);
    } else if (!strcmp(name, "sendrecv") || !strcmp(name, "sendonly") ||
               !strcmp(name, "recvonly") || !strcmp(name, "inactive")) {
        copy_n(m->direction, sizeof m->direction, name, strlen(name));
    } else if (!strcmp(name, "rtcp-mux")) {
        m->rtcp_mux = true;
    } else if (!strcmp(name, "bundle-only")) {
        /* RFC 8843 6, 7.2: a bundle-only section (Firefox's max-bundle offer)
         * has port 0 and takes its transport from the BUNDLE group: it is
         * part of the bundle, not rejected. */
        if (m->port == 0)
            m->port = 9;
        m->rtcp_mux = true;
    } else if (!strcmp(name, "rtpmap")) {
        unsigned pt, clock, ch = 1;
        char enc[32];
        if (sscanf(v, "%u %31[^/]/%u/%u", &pt, enc, &clock, &ch) < 3 || pt > 127)
            return fail(err, err_cap, "bad rtpmap line: %.80s", v);
        rtc_sdp_codec_t *c = codec_by_pt(m, pt);
        if (!c) {
            if (m->codec_count == RTC_SDP_MAX_CODECS)
                return 0; /* more codecs than we would ever pick from */
            c = &m->codecs[m->codec_count++];
            memset(c, 0, sizeof *c);
            c->pt = (uint8_t)pt;
        }
        copy_n(c->name, sizeof c->name, enc, strlen(enc));
        c->clock_hz = clock;
        c->channels = (uint8_t)ch;
    } else if (!strcmp(name, "fmtp")) {
        unsigned pt;
        int off = 0;
        if (sscanf(v, "%u %n", &pt, &off) < 1 || off == 0)
            return fail(err, err_cap, "bad fmtp line: %.80s", v);
        rtc_sdp_codec_t *c = codec_by_pt(m, pt);
        if (c)
            copy_n(c->fmtp, sizeof c->fmtp, v + off, strlen(v + off));
    } else if (!strcmp(name, "rid")) {
        /* RFC 8851: a=rid:<id> send|recv [restrictions] */
        char id[32], dir[8];
        if (sscanf(v, "%31s %7s", id, dir) != 2 || !rid_valid(id))
            return fail(err, err_cap, "bad rid line: %.80s", v);
        if (!strcmp(dir, "send"))
            rid_add(m, id);
    } else if (!strcmp(name, "simulcast")) {
        /* RFC 8853: a=simulcast:send <rid>[,<alt>];<rid>... ("~": paused). The
         * list's order is the layers' order; the first alternative counts. */
        if (strncmp(v, "send ", 5))
            return 0;
        char list[160];
        copy_n(list, sizeof list, v + 5, strcspn(v + 5, " "));
        m->rid_count = 0;
        for (char *save = NULL, *tok = strtok_r(list, ";", &save); tok;
             tok = strtok_r(NULL, ";", &save)) {
            tok[strcspn(tok, ",")] = '\0';
            if (*tok == '~')
                tok++;
            if (!rid_valid(tok))
                return fail(err, err_cap, "bad simulcast line: %.80s", v);
            rid_add(m, tok);
        }
    } else if (!strcmp(name, "ssrc-group")) {
        unsigned a1, a2, a3 = 0;
        int n = sscanf(v, "SIM %u %u %u", &a1, &a2, &a3);
        if (n >= 2) {
            m->sim_ssrcs[0] = a1;
            m->sim_ssrcs[1] = a2;
            m->sim_ssrcs[2] = a3;
            m->sim_count = n;
            m->ssrc = a1;
        } else if (sscanf(v, "FID %u %u", &a1, &a2) == 2 && (!m->sim_count || a1 == m->ssrc)) {
            m->ssrc = a1;
            m->rtx_ssrc = a2;
        }
    } else if (!strcmp(name, "ssrc")) {
        unsigned ssrc;
        int off = 0;
        if (sscanf(v, "%u %n", &ssrc, &off) < 1)
            return fail(err, err_cap, "bad ssrc line: %.80s", v);
        if (!m->ssrc)
            m->ssrc = ssrc;
        if (ssrc == m->ssrc && off && !strncmp(v + off, "cname:", 6))
            copy_n(m->cname, sizeof m->cname, v + off + 6, strlen(v + off + 6));
    } else if (!strcmp(name, "extmap")) {
        /* RFC 8285 8: a=extmap:<id>[/<direction>] <uri> [<attributes>] */
        unsigned id;
        char uri[128];
        if (sscanf(v, "%u%*[^ ] %127s", &id, uri) < 2 && sscanf(v, "%u %127s", &id, uri) < 2)
            return fail(err, err_cap, "bad extmap line: %.80s", v);
        if (id < 1 || id > 255)
            return fail(err, err_cap, "extmap id out of range: %.80s", v);
        int kind = rtp_ext_kind_of_uri(uri);
        /* Ours go in the one-byte form (RFC 8285 4.2): ids 1-14 only. */
        if (kind >= 0 && id <= RTP_EXT_ONE_BYTE_MAX_ID)
            m->ext.id[kind] = (uint8_t)id;
    } else if (!strcmp(name, "msid")) {
        char *sp = strchr(v, ' ');
        copy_n(m->msid_stream, sizeof m->msid_stream, v, sp ? (size_t)(sp - v) : strlen(v));
        if (sp)
            copy_n(m->msid_track, sizeof m->msid_track, sp + 1, strlen(sp + 1));
    }
    return 0;
}

int rtc_sdp_parse(const char *sdp, rtc_sdp_t *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    rtc_sdp_t session_level; /* credentials may sit at session level or per section */
    memset(&session_level, 0, sizeof session_level);
    rtc_sdp_media_t *m = NULL, ignored;
    const char *p = sdp;
    bool saw_version = false;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (n >= 2 && p[1] == '=') {
            if (p[0] == 'v')
                saw_version = true;
            if (p[0] == 'm') {
                if (out->media_count == RTC_SDP_MAX_MEDIA) {
                    out->media_ignored++;
                    m = &ignored;
                } else {
                    m = &out->media[out->media_count++];
                }
                memset(m, 0, sizeof *m);
                strcpy(m->direction, "sendrecv");
                char kind[16];
                if (sscanf(p + 2, "%15s %d", kind, &m->port) != 2)
                    return fail(err, err_cap, "bad m= line");
                m->kind = !strcmp(kind, "audio")   ? RTC_MEDIA_AUDIO
                          : !strcmp(kind, "video") ? RTC_MEDIA_VIDEO
                                                   : RTC_MEDIA_OTHER;
                /* RFC 8841 4: m=application <port> UDP/DTLS/SCTP webrtc-datachannel */
                char proto[32], fmt[32];
                m->datachannel = m->kind == RTC_MEDIA_OTHER && !strcmp(kind, "application") &&
                                 sscanf(p + 2, "%*15s %*d %31s %31s", proto, fmt) == 2 &&
                                 !strcmp(proto, "UDP/DTLS/SCTP") &&
                                 !strcmp(fmt, "webrtc-datachannel");
            } else if (p[0] == 'a') {
                rtc_sdp_t *target = m ? out : &session_level;
                int rc = parse_attr(target, m, p + 2, n - 2, err, err_cap);
                if (rc)
                    return rc;
            }
        } else if (n > 0) {
            return fail(err, err_cap, "malformed line: %.40s", p);
        }
        p += n;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    if (!saw_version)
        return fail(err, err_cap, "not an SDP (no v= line)");
    /* Session-level values apply where a section gave none. */
    if (!out->ice_ufrag[0])
        strcpy(out->ice_ufrag, session_level.ice_ufrag);
    if (!out->ice_pwd[0])
        strcpy(out->ice_pwd, session_level.ice_pwd);
    if (!out->fingerprint[0])
        strcpy(out->fingerprint, session_level.fingerprint);
    if (!out->setup[0])
        strcpy(out->setup, session_level.setup);
    out->bundle |= session_level.bundle;
    if (!out->ice_ufrag[0] || !out->ice_pwd[0])
        return fail(err, err_cap, "no ICE credentials (a=ice-ufrag, a=ice-pwd)");
    if (!out->fingerprint[0])
        return fail(err, err_cap, "no a=fingerprint:sha-256");
    if (out->media_count == 0)
        return fail(err, err_cap, "no media sections");
    if (!out->bundle)
        return fail(err, err_cap, "BUNDLE is required (a=group:BUNDLE)");
    for (int i = 0; i < out->media_count; i++) {
        rtc_sdp_media_t *mm = &out->media[i];
        if (!mm->mid[0])
            return fail(err, err_cap, "media section %d has no a=mid", i);
        if (mm->kind != RTC_MEDIA_OTHER && mm->port != 0 && !mm->rtcp_mux)
            return fail(err, err_cap, "media section %s lacks a=rtcp-mux", mm->mid);
    }
    return 0;
}

static bool fmtp_has(const char *fmtp, const char *kv)
{
    return strstr(fmtp, kv) != NULL;
}

const rtc_sdp_codec_t *rtc_sdp_pick_codec(const rtc_sdp_media_t *m)
{
    const rtc_sdp_codec_t *h264 = NULL;
    for (int i = 0; i < m->codec_count; i++) {
        const rtc_sdp_codec_t *c = &m->codecs[i];
        if (m->kind == RTC_MEDIA_AUDIO && !strcasecmp(c->name, "opus") && c->clock_hz == 48000)
            return c;
        if (m->kind == RTC_MEDIA_VIDEO && !strcasecmp(c->name, "VP8"))
            return c;
        if (m->kind == RTC_MEDIA_VIDEO && !h264 && !strcasecmp(c->name, "H264") &&
            fmtp_has(c->fmtp, "packetization-mode=1") && fmtp_has(c->fmtp, "profile-level-id=42"))
            h264 = c;
    }
    return h264;
}

/* The BUNDLE group lists mids, or the tracks' mids when mids is NULL. */
static void write_session(strbuf_t *w, const rtc_sdp_local_t *l, const char *const *mids, int n,
                          const rtc_sdp_track_t *tracks, int track_count)
{
    strbuf_printf(w, "v=0\r\no=- %llu %u IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
                  (unsigned long long)l->session_id, l->version);
    strbuf_printf(w, "a=group:BUNDLE");
    for (int i = 0; mids && i < n; i++)
        strbuf_printf(w, " %s", mids[i]);
    for (int i = 0; !mids && i < track_count; i++)
        strbuf_printf(w, " %s", tracks[i].mid);
    strbuf_printf(w, "\r\na=ice-lite\r\na=msid-semantic: WMS *\r\n");
}

/* RFC 8445 5.1.2.1: type preference 126 (host) for UDP, 86 for TCP so that
 * UDP wins where both work; local preference falls with each further
 * address; component 1. */
#define CAND_PRIORITY(type_pref, k) (((uint32_t)(type_pref) << 24) | ((65535u - (k)) << 8) | 255u)

static void write_transport(strbuf_t *w, const rtc_sdp_local_t *l, const char *setup, bool cand)
{
    /* l->ip: one address or several, comma-separated; the first is c=. */
    int first_len = (int)strcspn(l->ip, ",");
    const char *fam = memchr(l->ip, ':', (size_t)first_len) ? "IP6" : "IP4";
    strbuf_printf(w, "c=IN %s %.*s\r\na=rtcp:%d IN %s %.*s\r\n", fam, first_len, l->ip, l->port,
                  fam, first_len, l->ip);
    strbuf_printf(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
                  l->ice_ufrag, l->ice_pwd, l->fingerprint, setup);
    if (!cand)
        return;
    unsigned k = 0;
    for (const char *ip = l->ip; *ip; k++) {
        int n = (int)strcspn(ip, ",");
        strbuf_printf(w, "a=candidate:%u 1 udp %u %.*s %d typ host\r\n", 2 * k + 1,
                      CAND_PRIORITY(126, k), n, ip, l->port);
        /* RFC 6544 4.5: a passive TCP candidate; the peer connects to it. */
        if (l->tcp_port > 0)
            strbuf_printf(w, "a=candidate:%u 1 tcp %u %.*s %d typ host tcptype passive\r\n",
                          2 * k + 2, CAND_PRIORITY(86, k), n, ip, l->tcp_port);
        ip += n + (ip[n] == ',');
    }
    strbuf_printf(w, "a=end-of-candidates\r\n");
}

/* twcc: the section carries transport-wide-cc, so its feedback is used;
 * remb: the node may cap the sender with REMB (publish answers). */
static void write_codec(strbuf_t *w, const rtc_sdp_codec_t *c, rtc_media_kind_t kind, bool twcc,
                        bool remb)
{
    if (c->channels > 1)
        strbuf_printf(w, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock_hz, c->channels);
    else
        strbuf_printf(w, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock_hz);
    if (c->fmtp[0])
        strbuf_printf(w, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
    if (kind == RTC_MEDIA_VIDEO)
        strbuf_printf(w, "a=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\na=rtcp-fb:%u ccm fir\r\n",
                      c->pt, c->pt, c->pt);
    if (twcc)
        strbuf_printf(w, "a=rtcp-fb:%u transport-cc\r\n", c->pt);
    if (remb && kind == RTC_MEDIA_VIDEO)
        strbuf_printf(w, "a=rtcp-fb:%u goog-remb\r\n", c->pt);
}

static void write_extmaps(strbuf_t *w, const rtp_ext_ids_t *ids)
{
    for (int k = 0; k < RTP_EXT_KIND_COUNT; k++) {
        if (ids->id[k])
            strbuf_printf(w, "a=extmap:%u %s\r\n", ids->id[k], rtp_ext_kind_uri[k]);
    }
}

const rtp_ext_ids_t rtc_sdp_node_ext_ids = {.id = {[RTP_EXT_AUDIO_LEVEL] = 1,
                                                   [RTP_EXT_ABS_SEND_TIME] = 2,
                                                   [RTP_EXT_TWCC] = 3,
                                                   [RTP_EXT_MID] = 4}};

void rtc_sdp_ext_ids_for(rtc_media_kind_t kind, rtp_ext_ids_t *out)
{
    *out = rtc_sdp_node_ext_ids;
    if (kind != RTC_MEDIA_AUDIO)
        out->id[RTP_EXT_AUDIO_LEVEL] = 0;
}

uint8_t rtc_sdp_rtx_pt(const rtc_sdp_media_t *m, uint8_t pt)
{
    for (int i = 0; i < m->codec_count; i++) {
        const rtc_sdp_codec_t *c = &m->codecs[i];
        unsigned apt;
        if (!strcasecmp(c->name, "rtx") && sscanf(c->fmtp, "apt=%u", &apt) == 1 && apt == pt)
            return c->pt;
    }
    return 0;
}

uint8_t rtc_sdp_publish_rtx_pt(const rtc_sdp_media_t *m, uint8_t pt)
{
    if (m->kind != RTC_MEDIA_VIDEO)
        return 0;
    bool by_rid = m->rid_count > 1 && m->ext.id[RTP_EXT_RID];
    /* Each RTX stream must be told apart: by its layer's RID, or as the one
     * stream's FID partner. SSRC-listed simulcast has no RTX here. */
    if (by_rid ? !m->ext.id[RTP_EXT_RRID] : m->sim_count > 1 || !m->rtx_ssrc)
        return 0;
    return rtc_sdp_rtx_pt(m, pt);
}

bool rtc_sdp_answer_has_rtx(const rtc_sdp_t *answer)
{
    for (int i = 0; i < answer->media_count; i++) {
        const rtc_sdp_media_t *m = &answer->media[i];
        for (int k = 0; m->kind == RTC_MEDIA_VIDEO && k < m->codec_count; k++) {
            if (!strcasecmp(m->codecs[k].name, "rtx"))
                return true;
        }
    }
    return false;
}

void rtc_sdp_answer_ext_ids(const rtc_sdp_t *answer, rtp_ext_ids_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < answer->media_count; i++) {
        for (int k = 0; k < RTP_EXT_KIND_COUNT; k++) {
            uint8_t id = answer->media[i].ext.id[k];
            if (id && id == rtc_sdp_node_ext_ids.id[k])
                out->id[k] = id;
        }
    }
}

int rtc_sdp_datachannel_index(const rtc_sdp_t *offer)
{
    for (int i = 0; i < offer->media_count; i++) {
        if (offer->media[i].datachannel && offer->media[i].port != 0)
            return i; /* one association per transport: the first section */
    }
    return -1;
}

int rtc_sdp_write_publish_answer(const rtc_sdp_t *offer, const rtc_sdp_local_t *local, char *out,
                                 size_t cap, char *err, size_t err_cap)
{
    strbuf_t w = {out, cap, 0, false};
    const char *mids[RTC_SDP_MAX_MEDIA];
    const rtc_sdp_codec_t *picked[RTC_SDP_MAX_MEDIA];
    int usable = 0, bundled = 0, dc = rtc_sdp_datachannel_index(offer);
    if (offer->media_ignored)
        return fail(err, err_cap, "more than %d media sections to publish", RTC_SDP_MAX_MEDIA);
    for (int i = 0; i < offer->media_count; i++) {
        const rtc_sdp_media_t *m = &offer->media[i];
        bool sends = !strcmp(m->direction, "sendrecv") || !strcmp(m->direction, "sendonly");
        picked[i] =
            m->kind != RTC_MEDIA_OTHER && m->port != 0 && sends ? rtc_sdp_pick_codec(m) : NULL;
        if (picked[i]) {
            usable++;
            mids[bundled++] = m->mid;
        } else if (i == dc) {
            mids[bundled++] = m->mid;
        }
    }
    usable += dc >= 0;
    if (!usable) {
        snprintf(err, err_cap, "no media section sends opus, VP8 or H264 baseline");
        return -EINVAL;
    }
    write_session(&w, local, mids, bundled, NULL, 0);
    bool first = true;
    for (int i = 0; i < offer->media_count; i++) {
        const rtc_sdp_media_t *m = &offer->media[i];
        const char *kind = m->kind == RTC_MEDIA_AUDIO   ? "audio"
                           : m->kind == RTC_MEDIA_VIDEO ? "video"
                                                        : "application";
        if (i == dc) {
            strbuf_printf(&w, "m=application %d UDP/DTLS/SCTP webrtc-datachannel\r\n", local->port);
            write_transport(&w, local, "passive", first);
            first = false;
            strbuf_printf(&w, "a=mid:%s\r\na=sctp-port:%d\r\na=max-message-size:%d\r\n", m->mid,
                          RTC_SDP_SCTP_PORT, RTC_SDP_MAX_MESSAGE);
            continue;
        }
        if (!picked[i]) {
            /* Rejected: port 0 and only what identifies the section. */
            strbuf_printf(&w, "m=%s 0 %s 0\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n", kind,
                          m->kind == RTC_MEDIA_OTHER ? "UDP/DTLS/SCTP webrtc-datachannel"
                                                     : "UDP/TLS/RTP/SAVPF",
                          m->mid);
            continue;
        }
        uint8_t rtx = rtc_sdp_publish_rtx_pt(m, picked[i]->pt);
        strbuf_printf(&w, "m=%s %d UDP/TLS/RTP/SAVPF %u", kind, local->port, picked[i]->pt);
        if (rtx)
            strbuf_printf(&w, " %u", rtx);
        strbuf_printf(&w, "\r\n");
        write_transport(&w, local, "passive", first);
        first = false;
        strbuf_printf(&w, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", m->mid);
        rtp_ext_ids_t ext = m->ext;
        if (m->kind != RTC_MEDIA_VIDEO || m->rid_count < 2)
            ext.id[RTP_EXT_RID] = 0;
        if (!rtx || !ext.id[RTP_EXT_RID])
            ext.id[RTP_EXT_RRID] = 0;
        write_extmaps(&w, &ext);
        write_codec(&w, picked[i], m->kind, m->ext.id[RTP_EXT_TWCC] != 0, true);
        /* RFC 4588: retransmissions (and padding) on their own stream. */
        if (rtx)
            strbuf_printf(&w, "a=rtpmap:%u rtx/%u\r\na=fmtp:%u apt=%u\r\n", rtx,
                          picked[i]->clock_hz, rtx, picked[i]->pt);
        if (ext.id[RTP_EXT_RID]) {
            /* RFC 8853 5.3: the same layers, received. */
            for (int k = 0; k < m->rid_count; k++)
                strbuf_printf(&w, "a=rid:%s recv\r\n", m->rids[k]);
            strbuf_printf(&w, "a=simulcast:recv ");
            for (int k = 0; k < m->rid_count; k++)
                strbuf_printf(&w, "%s%s", k ? ";" : "", m->rids[k]);
            strbuf_printf(&w, "\r\n");
        }
    }
    return w.full ? -ENOSPC : (int)w.len;
}

int rtc_sdp_write_play_answer(const rtc_sdp_t *offer, const rtc_sdp_track_t *tracks,
                              const rtp_ext_ids_t *ext, const rtc_sdp_local_t *local, char *out,
                              size_t cap)
{
    strbuf_t w = {out, cap, 0, false};
    const char *mids[RTC_SDP_MAX_MEDIA];
    int bundled = 0;
    for (int i = 0; i < offer->media_count; i++) {
        if (tracks[i].active)
            mids[bundled++] = tracks[i].mid;
    }
    write_session(&w, local, mids, bundled, NULL, 0);
    bool first = true;
    for (int i = 0; i < offer->media_count; i++) {
        const rtc_sdp_track_t *t = &tracks[i];
        const rtc_sdp_media_t *m = &offer->media[i];
        if (!t->active) {
            strbuf_printf(&w, "m=%s 0 %s 0\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n",
                          m->kind == RTC_MEDIA_AUDIO   ? "audio"
                          : m->kind == RTC_MEDIA_VIDEO ? "video"
                                                       : "application",
                          m->kind == RTC_MEDIA_OTHER ? "UDP/DTLS/SCTP webrtc-datachannel"
                                                     : "UDP/TLS/RTP/SAVPF",
                          m->mid);
            continue;
        }
        strbuf_printf(&w, "m=%s %d UDP/TLS/RTP/SAVPF %u\r\n",
                      t->kind == RTC_MEDIA_AUDIO ? "audio" : "video", local->port, t->codec.pt);
        write_transport(&w, local, "passive", first);
        first = false;
        strbuf_printf(&w, "a=mid:%s\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", t->mid);
        rtp_ext_ids_t ids = *ext;
        if (t->kind != RTC_MEDIA_AUDIO)
            ids.id[RTP_EXT_AUDIO_LEVEL] = 0;
        write_extmaps(&w, &ids);
        write_codec(&w, &t->codec, t->kind, ids.id[RTP_EXT_TWCC] != 0, false);
        strbuf_printf(&w, "a=msid:%s %s\r\na=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s\r\n",
                      t->stream_id, t->track_id, t->ssrc, t->cname, t->ssrc, t->stream_id,
                      t->track_id);
    }
    return w.full ? -ENOSPC : (int)w.len;
}

int rtc_sdp_write_subscribe_offer(const rtc_sdp_track_t *tracks, int count,
                                  const rtc_sdp_local_t *local, char *out, size_t cap)
{
    strbuf_t w = {out, cap, 0, false};
    write_session(&w, local, NULL, 0, tracks, count);
    for (int i = 0; i < count; i++) {
        const rtc_sdp_track_t *t = &tracks[i];
        bool rtx = t->kind == RTC_MEDIA_VIDEO && t->rtx_ssrc && t->rtx_pt;
        strbuf_printf(&w, "m=%s %d UDP/TLS/RTP/SAVPF %u",
                      t->kind == RTC_MEDIA_AUDIO ? "audio" : "video", local->port, t->codec.pt);
        if (rtx)
            strbuf_printf(&w, " %u", t->rtx_pt);
        strbuf_printf(&w, "\r\n");
        write_transport(&w, local, "actpass", i == 0);
        strbuf_printf(&w, "a=mid:%s\r\na=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", t->mid,
                      t->active ? "sendonly" : "inactive");
        rtp_ext_ids_t ids;
        rtc_sdp_ext_ids_for(t->kind, &ids);
        write_extmaps(&w, &ids);
        write_codec(&w, &t->codec, t->kind, ids.id[RTP_EXT_TWCC] != 0, false);
        if (rtx)
            strbuf_printf(&w, "a=rtpmap:%u rtx/%u\r\na=fmtp:%u apt=%u\r\n", t->rtx_pt,
                          t->codec.clock_hz, t->rtx_pt, t->codec.pt);
        if (t->active) {
            strbuf_printf(&w, "a=msid:%s %s\r\n", t->stream_id, t->track_id);
            if (rtx)
                strbuf_printf(&w, "a=ssrc-group:FID %u %u\r\n", t->ssrc, t->rtx_ssrc);
            strbuf_printf(&w, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s\r\n", t->ssrc, t->cname,
                          t->ssrc, t->stream_id, t->track_id);
            if (rtx)
                strbuf_printf(&w, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s\r\n", t->rtx_ssrc,
                              t->cname, t->rtx_ssrc, t->stream_id, t->track_id);
        }
    }
    return w.full ? -ENOSPC : (int)w.len;
}
