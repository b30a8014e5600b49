/* tools/loadgen/sdp.c: the few SDP shapes a synthetic participant needs: its
 * publish offer, the node's answers and offers (RFC 8829 shapes, BUNDLE and
 * rtcp-mux only), and its answer to a subscribe offer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "tools/loadgen/lg.h"

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* One line (without "x=") of length n. */
static void parse_line(lg_sdp_remote_t *s, lg_sdp_section_t *m, char type, const char *v, size_t n)
{
    char line[512];
    copy_value(line, sizeof line, v, n);
    if (type == 'm') {
        char kind[16];
        int port = 0;
        unsigned pt = 0;
        if (sscanf(line, "%15s %d %*s %u", kind, &port, &pt) >= 2 && m) {
            m->video = !strcmp(kind, "video");
            m->pt = (uint8_t)pt;
            if (!s->port && port > 9)
                s->port = port;
        }
        return;
    }
    if (type == 'c') {
        char ip[64];
        if (sscanf(line, "IN IP4 %63s", ip) == 1 && strcmp(ip, "0.0.0.0") && !s->ip[0])
            snprintf(s->ip, sizeof s->ip, "%s", ip);
        return;
    }
    if (type != 'a')
        return;
    char *val = strchr(line, ':');
    if (val)
        *val++ = '\0';
    else
        val = line + strlen(line);
    if (!strcmp(line, "ice-ufrag")) {
        snprintf(s->ufrag, sizeof s->ufrag, "%s", val);
    } else if (!strcmp(line, "ice-pwd")) {
        snprintf(s->pwd, sizeof s->pwd, "%s", val);
    } else if (!strcmp(line, "fingerprint") && !strncasecmp(val, "sha-256 ", 8)) {
        snprintf(s->fingerprint, sizeof s->fingerprint, "%s", val + 8);
    } else if (!strcmp(line, "setup")) {
        snprintf(s->setup, sizeof s->setup, "%s", val);
    } else if (!strcmp(line, "candidate")) {
        char ip[64], proto[8];
        int port;
        /* foundation component transport priority ip port typ host */
        if (sscanf(val, "%*s %*d %7s %*u %63s %d", proto, ip, &port) == 3 &&
            !strcasecmp(proto, "udp") && strchr(ip, '.')) {
            snprintf(s->ip, sizeof s->ip, "%s", ip);
            s->port = port;
        }
    } else if (!m) {
        return;
    } else if (!strcmp(line, "mid")) {
        snprintf(m->mid, sizeof m->mid, "%s", val);
    } else if (!strcmp(line, "msid")) {
        /* The node's subscribe offers: "a=msid:<stream> t<producer id>". */
        const char *sp = strchr(val, ' ');
        unsigned long long id;
        if (sp && sscanf(sp + 1, "t%llu", &id) == 1)
            m->producer_id = id;
    } else if (!strcmp(line, "sendonly") || !strcmp(line, "sendrecv")) {
        m->active = true;
    } else if (!strcmp(line, "inactive") || !strcmp(line, "recvonly")) {
        m->active = false;
    } else if (!strcmp(line, "rtpmap")) {
        unsigned pt;
        int off = 0;
        if (sscanf(val, "%u %n", &pt, &off) == 1 && pt == m->pt && off)
            snprintf(m->rtpmap, sizeof m->rtpmap, "%s", val + off);
    } else if (!strcmp(line, "fmtp")) {
        unsigned pt;
        int off = 0;
        if (sscanf(val, "%u %n", &pt, &off) == 1 && pt == m->pt && off)
            snprintf(m->fmtp, sizeof m->fmtp, "%s", val + off);
    } else if (!strcmp(line, "ssrc")) {
        /* RFC 5576 4.1: one line per attribute, so the same SSRC comes several times. */
        unsigned ssrc;
        if (sscanf(val, "%u", &ssrc) != 1)
            return;
        for (int k = 0; k < m->ssrc_count; k++)
            if (m->ssrcs[k] == ssrc)
                return;
        if (m->ssrc_count < LG_SECTION_SSRCS)
            m->ssrcs[m->ssrc_count++] = ssrc;
    }
}

int lg_sdp_parse(const char *sdp, lg_sdp_remote_t *out)
{
    memset(out, 0, sizeof *out);
    lg_sdp_section_t *m = NULL;
    for (const char *p = sdp; *p;) {
        size_t n = strcspn(p, "\r\n");
        if (n >= 2 && p[1] == '=') {
            if (p[0] == 'm') {
                m = out->section_count < LG_SUB_SECTIONS ? &out->sections[out->section_count++]
                                                         : NULL;
                if (m) {
                    memset(m, 0, sizeof *m);
                    m->active = true; /* sendrecv unless a direction says otherwise */
                }
            }
            parse_line(out, m, p[0], p + 2, n - 2);
        }
        p += n;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    if (!out->ufrag[0] || !out->pwd[0] || !out->fingerprint[0] || !out->ip[0] || !out->port)
        return -EINVAL;
    return 0;
}

static void write_head(strbuf_t *w, const lg_sdp_local_t *l, const char *bundle)
{
    strbuf_printf(w, "v=0\r\no=- %u 2 IN IP4 %s\r\ns=-\r\nt=0 0\r\n", l->cname_id + 1000,
                  lg_media_ip);
    strbuf_printf(w, "a=group:BUNDLE%s\r\na=msid-semantic: WMS lg%u\r\n", bundle, l->cname_id);
}

static void write_transport(strbuf_t *w, const lg_sdp_local_t *l, const char *setup, bool cand)
{
    strbuf_printf(w, "c=IN IP4 %s\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", lg_media_ip);
    strbuf_printf(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
                  l->ufrag, l->pwd, l->fingerprint, setup);
    if (cand)
        strbuf_printf(w, "a=candidate:1 1 udp 2130706431 %s %d typ host\r\n", lg_media_ip, l->port);
}

int lg_sdp_write_publish_offer(const lg_sdp_local_t *l, char *out, size_t cap)
{
    strbuf_t w = {out, cap, 0, false};
    char bundle[32] = "";
    int mid = 0;
    for (int t = 0; t < LG_MAX_TRACKS; t++) {
        if (l->ssrc[t])
            snprintf(bundle + strlen(bundle), sizeof bundle - strlen(bundle), " %d", mid++);
    }
    write_head(&w, l, bundle);
    mid = 0;
    for (int t = 0; t < LG_MAX_TRACKS; t++) {
        if (!l->ssrc[t])
            continue;
        bool video = t == 1;
        strbuf_printf(&w, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\n", video ? "video" : "audio",
                      video ? LG_VIDEO_PT : LG_AUDIO_PT);
        write_transport(&w, l, "actpass", mid == 0);
        strbuf_printf(&w, "a=mid:%d\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", mid);
        if (video)
            strbuf_printf(&w,
                          "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n",
                          LG_VIDEO_PT, LG_VIDEO_PT, LG_VIDEO_PT);
        else
            strbuf_printf(&w,
                          "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n",
                          LG_AUDIO_PT, LG_AUDIO_PT);
        strbuf_printf(&w, "a=msid:lg%u t%d\r\n", l->cname_id, t);
        /* Simulcast the way older browsers send it (no RID extension): one
         * SSRC a layer, grouped lowest first (RFC 5576 4.2, "SIM"). */
        const uint32_t *ssrcs = &l->ssrc[t];
        int n = 1;
        if (video && l->video_layers > 1) {
            ssrcs = l->layer_ssrc;
            n = l->video_layers;
            strbuf_printf(&w, "a=ssrc-group:SIM");
            for (int k = 0; k < n; k++)
                strbuf_printf(&w, " %u", ssrcs[k]);
            strbuf_printf(&w, "\r\n");
        }
        for (int k = 0; k < n; k++)
            strbuf_printf(&w, "a=ssrc:%u cname:lg%u\r\na=ssrc:%u msid:lg%u t%d\r\n", ssrcs[k],
                          l->cname_id, ssrcs[k], l->cname_id, t);
        mid++;
    }
    return w.full ? -ENOSPC : (int)w.len;
}

int lg_sdp_write_subscribe_answer(const lg_sdp_remote_t *offer, const lg_sdp_local_t *l, char *out,
                                  size_t cap)
{
    strbuf_t w = {out, cap, 0, false};
    int count = offer->section_count;
    int max = l->max_sections > 0 ? l->max_sections : LG_NODE_MAX_MEDIA;
    /* The node parses at most LG_NODE_MAX_MEDIA sections; it needs only our ICE and
     * DTLS parameters from the answer, so the sections past that are left out. */
    if (count > max)
        count = max;
    char bundle[LG_SUB_SECTIONS * 34] = "";
    for (int i = 0; i < count; i++)
        snprintf(bundle + strlen(bundle), sizeof bundle - strlen(bundle), " %s",
                 offer->sections[i].mid);
    write_head(&w, l, bundle);
    for (int i = 0; i < count; i++) {
        const lg_sdp_section_t *m = &offer->sections[i];
        strbuf_printf(&w, "m=%s 9 UDP/TLS/RTP/SAVPF %u\r\n", m->video ? "video" : "audio", m->pt);
        write_transport(&w, l, "active", i == 0);
        strbuf_printf(&w, "a=mid:%s\r\na=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", m->mid,
                      m->active ? "recvonly" : "inactive");
        if (m->rtpmap[0])
            strbuf_printf(&w, "a=rtpmap:%u %s\r\n", m->pt, m->rtpmap);
        if (m->fmtp[0])
            strbuf_printf(&w, "a=fmtp:%u %s\r\n", m->pt, m->fmtp);
        if (m->video)
            strbuf_printf(&w, "a=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\n", m->pt, m->pt);
    }
    return w.full ? -ENOSPC : (int)w.len;
}
