/* Unit tests: the node's SDP (rtp/rtc_sdp.h) against a Chromium publish offer:
 * parse, codec choice, the publish answer and the subscribe offer read back,
 * and the inputs it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "rtp/rtc_sdp.h"

#define FP_CHROME                                                                                  \
    "4E:29:F1:0C:8B:3A:71:D2:55:60:AF:19:E4:07:C8:3B:92:DE:11:6A:7F:40:B5:CC:38:E1:09:52:AD:F6:"   \
    "1B:84"
#define FP_NODE                                                                                    \
    "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:9A:AB:BC:CD:DE:"   \
    "EF:F0"

/* What Chromium sends for addTransceiver(audio/video, {direction: 'sendonly'}):
 * Unified Plan, BUNDLE, opus + RED, VP8/VP9/H264/AV1 each with rtx, an FID group. */
static const char chrome_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hm3r\r\n"
    "a=ice-pwd:qO8gZr1HjBNl0BhxfEuN6Cyl\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP_CHROME "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendonly\r\n"
    "a=msid:5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11 0c2b8a9e-7d41-4f0e-a6b3-2f9d8c1e5a70\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3735928559 cname:Yq7n2Lx0aF3kP9dE\r\n"
    "a=ssrc:3735928559 msid:5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11 "
    "0c2b8a9e-7d41-4f0e-a6b3-2f9d8c1e5a70\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 "
    "100 101 112 113 116 117 118\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hm3r\r\n"
    "a=ice-pwd:qO8gZr1HjBNl0BhxfEuN6Cyl\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP_CHROME "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:13 urn:3gpp:video-orientation\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"
    "a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type\r\n"
    "a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing\r\n"
    "a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"
    "a=sendonly\r\n"
    "a=msid:5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11 9e7c3d21-08b4-4c6f-b2a5-71e0f4d8c3b9\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 goog-remb\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 nack\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:104 H264/90000\r\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n"
    "a=rtpmap:105 rtx/90000\r\n"
    "a=fmtp:105 apt=104\r\n"
    "a=rtpmap:106 H264/90000\r\n"
    "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:107 rtx/90000\r\n"
    "a=fmtp:107 apt=106\r\n"
    "a=rtpmap:108 H264/90000\r\n"
    "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
    "a=rtpmap:109 rtx/90000\r\n"
    "a=fmtp:109 apt=108\r\n"
    "a=rtpmap:127 H264/90000\r\n"
    "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
    "a=rtpmap:125 rtx/90000\r\n"
    "a=fmtp:125 apt=127\r\n"
    "a=rtpmap:39 H264/90000\r\n"
    "a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f\r\n"
    "a=rtpmap:40 rtx/90000\r\n"
    "a=fmtp:40 apt=39\r\n"
    "a=rtpmap:45 AV1/90000\r\n"
    "a=fmtp:45 level-idx=5;profile=0;tier=0\r\n"
    "a=rtpmap:46 rtx/90000\r\n"
    "a=fmtp:46 apt=45\r\n"
    "a=rtpmap:98 VP9/90000\r\n"
    "a=fmtp:98 profile-id=0\r\n"
    "a=rtpmap:99 rtx/90000\r\n"
    "a=fmtp:99 apt=98\r\n"
    "a=rtpmap:100 VP9/90000\r\n"
    "a=fmtp:100 profile-id=2\r\n"
    "a=rtpmap:101 rtx/90000\r\n"
    "a=fmtp:101 apt=100\r\n"
    "a=rtpmap:112 H264/90000\r\n"
    "a=fmtp:112 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f\r\n"
    "a=rtpmap:113 rtx/90000\r\n"
    "a=fmtp:113 apt=112\r\n"
    "a=rtpmap:116 red/90000\r\n"
    "a=rtpmap:117 rtx/90000\r\n"
    "a=fmtp:117 apt=116\r\n"
    "a=rtpmap:118 ulpfec/90000\r\n"
    "a=ssrc-group:FID 2882400001 2882400002\r\n"
    "a=ssrc:2882400001 cname:Yq7n2Lx0aF3kP9dE\r\n"
    "a=ssrc:2882400001 msid:5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11 "
    "9e7c3d21-08b4-4c6f-b2a5-71e0f4d8c3b9\r\n"
    "a=ssrc:2882400002 cname:Yq7n2Lx0aF3kP9dE\r\n"
    "a=ssrc:2882400002 msid:5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11 "
    "9e7c3d21-08b4-4c6f-b2a5-71e0f4d8c3b9\r\n";

/* A data channel section Chromium appends when the page opened one. */
static const char chrome_datachannel[] = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                         "c=IN IP4 0.0.0.0\r\n"
                                         "a=ice-ufrag:Hm3r\r\n"
                                         "a=ice-pwd:qO8gZr1HjBNl0BhxfEuN6Cyl\r\n"
                                         "a=ice-options:trickle\r\n"
                                         "a=fingerprint:sha-256 " FP_CHROME "\r\n"
                                         "a=setup:actpass\r\n"
                                         "a=mid:2\r\n"
                                         "a=sctp-port:5000\r\n"
                                         "a=max-message-size:262144\r\n";

static const rtc_sdp_local_t node_local = {.ice_ufrag = "srvU",
                                           .ice_pwd = "node-ice-password-0123456789",
                                           .fingerprint = FP_NODE,
                                           .ip = "192.0.2.10",
                                           .port = 40000,
                                           .session_id = 4242,
                                           .version = 1};

/* The structs are large (~75 KB): one of each, off the stack. */
static rtc_sdp_t parsed, reparsed;
static char text[1 << 16], text2[1 << 16];
static char err[160];

/* dst = src with the first occurrence of from replaced by to (from must occur). */
static char *replace(char *dst, size_t cap, const char *src, const char *from, const char *to)
{
    const char *at = strstr(src, from);
    assert_non_null(at);
    int n = snprintf(dst, cap, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
    assert_true(n > 0 && (size_t)n < cap);
    return dst;
}

/* dst = src with every occurrence of from removed. */
static char *remove_all(char *dst, size_t cap, const char *src, const char *from)
{
    size_t n = 0, fl = strlen(from);
    while (*src) {
        if (!strncmp(src, from, fl)) {
            src += fl;
            continue;
        }
        assert_true(n + 1 < cap);
        dst[n++] = *src++;
    }
    dst[n] = '\0';
    return dst;
}

/* Removes every line that starts with prefix. */
static char *drop_lines(char *dst, size_t cap, const char *src, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);
    while (*src) {
        const char *eol = strchr(src, '\n');
        size_t len = eol ? (size_t)(eol - src) + 1 : strlen(src);
        if (strncmp(src, prefix, pl) != 0) {
            assert_true(n + len < cap);
            memcpy(dst + n, src, len);
            n += len;
        }
        src += len;
    }
    dst[n] = '\0';
    return dst;
}

static void expect_parse_error(const char *sdp, const char *reason_part)
{
    err[0] = '\0';
    assert_int_equal(rtc_sdp_parse(sdp, &parsed, err, sizeof err), -EINVAL);
    if (!strstr(err, reason_part))
        fail_msg("reason \"%s\" lacks \"%s\"", err, reason_part);
}

static const rtc_sdp_media_t *media_by_mid(const rtc_sdp_t *s, const char *mid)
{
    for (int i = 0; i < s->media_count; i++) {
        if (!strcmp(s->media[i].mid, mid))
            return &s->media[i];
    }
    fail_msg("no media section with mid %s", mid);
    return NULL;
}

/* ---- parse ---- */

static void test_parse_chrome_offer(void **state)
{
    (void)state;
    assert_int_equal(rtc_sdp_parse(chrome_offer, &parsed, err, sizeof err), 0);
    assert_string_equal(parsed.ice_ufrag, "Hm3r");
    assert_string_equal(parsed.ice_pwd, "qO8gZr1HjBNl0BhxfEuN6Cyl");
    assert_string_equal(parsed.fingerprint, FP_CHROME);
    assert_string_equal(parsed.setup, "actpass");
    assert_true(parsed.bundle);
    assert_int_equal(parsed.media_count, 2);

    const rtc_sdp_media_t *a = &parsed.media[0];
    assert_int_equal(a->kind, RTC_MEDIA_AUDIO);
    assert_string_equal(a->mid, "0");
    assert_string_equal(a->direction, "sendonly");
    assert_int_equal(a->port, 9);
    assert_true(a->rtcp_mux);
    assert_int_equal(a->codec_count, 8);
    assert_int_equal(a->codecs[0].pt, 111);
    assert_string_equal(a->codecs[0].name, "opus");
    assert_int_equal(a->codecs[0].clock_hz, 48000);
    assert_int_equal(a->codecs[0].channels, 2);
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(a->ssrc, 3735928559u);
    assert_int_equal(a->rtx_ssrc, 0);
    assert_string_equal(a->cname, "Yq7n2Lx0aF3kP9dE");
    assert_string_equal(a->msid_stream, "5d8a2f4e-3b8c-4a53-9b1f-6c2e7f0d9a11");
    assert_string_equal(a->msid_track, "0c2b8a9e-7d41-4f0e-a6b3-2f9d8c1e5a70");

    const rtc_sdp_media_t *v = &parsed.media[1];
    assert_int_equal(v->kind, RTC_MEDIA_VIDEO);
    assert_string_equal(v->mid, "1");
    assert_string_equal(v->direction, "sendonly");
    assert_true(v->rtcp_mux);
    /* 25 payload types offered; the cap keeps the first 24. */
    assert_int_equal(v->codec_count, RTC_SDP_MAX_CODECS);
    assert_string_equal(v->codecs[0].name, "VP8");
    assert_string_equal(v->codecs[1].name, "rtx");
    assert_string_equal(v->codecs[1].fmtp, "apt=96");
    assert_int_equal(v->ssrc, 2882400001u);
    assert_int_equal(v->rtx_ssrc, 2882400002u);
    assert_string_equal(v->cname, "Yq7n2Lx0aF3kP9dE");
    assert_string_equal(v->msid_track, "9e7c3d21-08b4-4c6f-b2a5-71e0f4d8c3b9");
}

static void test_parse_lf_and_crlf_agree(void **state)
{
    (void)state;
    assert_int_equal(rtc_sdp_parse(chrome_offer, &parsed, err, sizeof err), 0);
    remove_all(text, sizeof text, chrome_offer, "\r");
    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    assert_memory_equal(&parsed, &reparsed, sizeof parsed);
    /* No newline after the last line, and blank lines, change nothing either. */
    size_t n = strlen(text);
    text[n - 1] = '\0';
    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    assert_memory_equal(&parsed, &reparsed, sizeof parsed);
    replace(text2, sizeof text2, chrome_offer, "s=-\r\n", "s=-\r\n\r\n\n");
    assert_int_equal(rtc_sdp_parse(text2, &reparsed, err, sizeof err), 0);
    assert_memory_equal(&parsed, &reparsed, sizeof parsed);
}

static void test_parse_session_level_credentials(void **state)
{
    (void)state;
    /* Firefox puts credentials at session level, before the first m= line. */
    drop_lines(text, sizeof text, chrome_offer, "a=ice-");
    drop_lines(text2, sizeof text2, text, "a=fingerprint");
    replace(text, sizeof text, text2, "a=group:BUNDLE 0 1\r\n",
            "a=group:BUNDLE 0 1\r\na=ice-ufrag:ffx1\r\na=ice-pwd:firefox-password-0123456789\r\n"
            "a=fingerprint:SHA-256 " FP_CHROME "\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_string_equal(parsed.ice_ufrag, "ffx1");
    assert_string_equal(parsed.ice_pwd, "firefox-password-0123456789");
    assert_string_equal(parsed.fingerprint, FP_CHROME);
}

/* ---- codec choice ---- */

static void test_pick_codec(void **state)
{
    (void)state;
    assert_int_equal(rtc_sdp_parse(chrome_offer, &parsed, err, sizeof err), 0);
    const rtc_sdp_codec_t *c = rtc_sdp_pick_codec(&parsed.media[0]);
    assert_non_null(c);
    assert_int_equal(c->pt, 111);
    c = rtc_sdp_pick_codec(&parsed.media[1]);
    assert_non_null(c);
    assert_int_equal(c->pt, 96);

    /* Without VP8: the first H264 with packetization-mode=1 and a baseline profile. */
    replace(text, sizeof text, chrome_offer, "a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP7/90000");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    c = rtc_sdp_pick_codec(&parsed.media[1]);
    assert_non_null(c);
    assert_int_equal(c->pt, 102);
    assert_string_equal(c->fmtp,
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");

    /* Opus at another clock rate is not opus for us. */
    replace(text, sizeof text, chrome_offer, "opus/48000/2", "opus/16000/2");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_null(rtc_sdp_pick_codec(&parsed.media[0]));
}

static void test_pick_codec_none_for_unusable_video(void **state)
{
    (void)state;
    /* VP9 and H264 main / packetization-mode=0 only. */
    static const char sdp[] = "v=0\r\n"
                              "a=group:BUNDLE v\r\n"
                              "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
                              "a=fingerprint:sha-256 " FP_CHROME "\r\n"
                              "m=video 9 UDP/TLS/RTP/SAVPF 98 104 127\r\n"
                              "a=mid:v\r\na=sendonly\r\na=rtcp-mux\r\n"
                              "a=rtpmap:98 VP9/90000\r\n"
                              "a=rtpmap:104 H264/90000\r\n"
                              "a=fmtp:104 packetization-mode=0;profile-level-id=42e01f\r\n"
                              "a=rtpmap:127 H264/90000\r\n"
                              "a=fmtp:127 packetization-mode=1;profile-level-id=4d001f\r\n";
    assert_int_equal(rtc_sdp_parse(sdp, &parsed, err, sizeof err), 0);
    assert_null(rtc_sdp_pick_codec(&parsed.media[0]));
    int n = rtc_sdp_write_publish_answer(&parsed, &node_local, text, sizeof text, err, sizeof err);
    assert_int_equal(n, -EINVAL);
    assert_non_null(strstr(err, "VP8"));
}

/* ---- publish answer ---- */

static void test_publish_answer_round_trip(void **state)
{
    (void)state;
    assert_int_equal(rtc_sdp_parse(chrome_offer, &parsed, err, sizeof err), 0);
    int n = rtc_sdp_write_publish_answer(&parsed, &node_local, text, sizeof text, err, sizeof err);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(text));
    assert_non_null(strstr(text, "\r\na=ice-lite\r\n"));
    assert_non_null(strstr(text, "\r\na=group:BUNDLE 0 1\r\n"));
    assert_null(strstr(text, "a=setup:active"));
    assert_non_null(strstr(text, "a=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host"));

    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    assert_string_equal(reparsed.ice_ufrag, node_local.ice_ufrag);
    assert_string_equal(reparsed.ice_pwd, node_local.ice_pwd);
    assert_string_equal(reparsed.fingerprint, FP_NODE);
    assert_string_equal(reparsed.setup, "passive");
    assert_true(reparsed.bundle);
    assert_int_equal(reparsed.media_count, 2);
    for (int i = 0; i < 2; i++) {
        const rtc_sdp_media_t *m = &reparsed.media[i];
        assert_string_equal(m->mid, parsed.media[i].mid);
        assert_int_equal(m->kind, parsed.media[i].kind);
        assert_string_equal(m->direction, "recvonly");
        assert_int_equal(m->port, 40000);
        assert_true(m->rtcp_mux);
        /* Video also takes the publisher's RTX for the codec (its FID pair). */
        assert_int_equal(m->codec_count, m->kind == RTC_MEDIA_VIDEO ? 2 : 1);
        assert_int_equal(m->ssrc, 0);
    }
    const rtc_sdp_codec_t *opus = &reparsed.media[0].codecs[0];
    assert_int_equal(opus->pt, 111);
    assert_string_equal(opus->name, "opus");
    assert_int_equal(opus->clock_hz, 48000);
    assert_int_equal(opus->channels, 2);
    assert_string_equal(opus->fmtp, "minptime=10;useinbandfec=1");
    const rtc_sdp_codec_t *vp8 = &reparsed.media[1].codecs[0];
    assert_int_equal(vp8->pt, 96);
    assert_string_equal(vp8->name, "VP8");
    assert_int_equal(vp8->clock_hz, 90000);
    assert_non_null(strstr(text, "a=rtcp-fb:96 nack pli\r\n"));
    assert_non_null(strstr(text, "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\n"));
    assert_non_null(strstr(text, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
    assert_int_equal(rtc_sdp_rtx_pt(&reparsed.media[1], 96), 97);
    /* Without RID simulcast the repaired-stream id is not taken. */
    assert_null(strstr(text, "repaired-rtp-stream-id"));
    /* Chosen codecs come back as the ones the answer picks again. */
    assert_int_equal(rtc_sdp_pick_codec(&reparsed.media[0])->pt, 111);
    assert_int_equal(rtc_sdp_pick_codec(&reparsed.media[1])->pt, 96);
}

/* The publisher's RTX is taken only when its stream can be told apart: the
 * FID partner of one stream, or the repaired-rtp-stream-id of RID layers. */
static void test_publish_answer_takes_rtx_it_can_place(void **state)
{
    (void)state;
    /* One stream without a FID group: no RTX. */
    replace(text, sizeof text, chrome_offer, "a=ssrc-group:FID 2882400001 2882400002\r\n", "");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_int_equal(rtc_sdp_publish_rtx_pt(media_by_mid(&parsed, "1"), 96), 0);
    assert_true(rtc_sdp_write_publish_answer(&parsed, &node_local, text2, sizeof text2, err,
                                             sizeof err) > 0);
    assert_non_null(strstr(text2, "m=video 40000 UDP/TLS/RTP/SAVPF 96\r\n"));
    assert_null(strstr(text2, "rtx/90000"));
    /* RID layers with repaired-rtp-stream-id: RTX, and the extension. */
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_int_equal(rtc_sdp_publish_rtx_pt(media_by_mid(&parsed, "1"), 96), 97);
    assert_true(rtc_sdp_write_publish_answer(&parsed, &node_local, text2, sizeof text2, err,
                                             sizeof err) > 0);
    assert_non_null(strstr(text2, "a=fmtp:97 apt=96\r\n"));
    assert_non_null(
        strstr(text2, "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"));
    /* Without it: no RTX, and no extension. */
    replace(text2, sizeof text2, text,
            "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n", "");
    assert_int_equal(rtc_sdp_parse(text2, &parsed, err, sizeof err), 0);
    assert_int_equal(rtc_sdp_publish_rtx_pt(media_by_mid(&parsed, "1"), 96), 0);
    /* SSRC-listed simulcast: no RTX. */
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=ssrc-group:SIM 11 22 33\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_int_equal(rtc_sdp_publish_rtx_pt(media_by_mid(&parsed, "1"), 96), 0);
}

static void test_publish_answer_rejects_unused_sections(void **state)
{
    (void)state;
    /* Audio only received (recvonly from the client), plus a data channel:
     * the audio section is rejected, the data channel accepted (RFC 8841). */
    replace(text2, sizeof text2, chrome_offer, "a=sendonly", "a=recvonly");
    assert_true(strlen(text2) + sizeof chrome_datachannel <= sizeof text);
    strcat(strcpy(text, text2), chrome_datachannel);
    replace(text2, sizeof text2, text, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
    assert_int_equal(rtc_sdp_parse(text2, &parsed, err, sizeof err), 0);
    assert_int_equal(parsed.media_count, 3);
    assert_int_equal(parsed.media[2].kind, RTC_MEDIA_OTHER);
    int n = rtc_sdp_write_publish_answer(&parsed, &node_local, text, sizeof text, err, sizeof err);
    assert_true(n > 0);
    assert_int_equal(rtc_sdp_datachannel_index(&parsed), 2);
    assert_true(parsed.media[2].datachannel);
    assert_false(parsed.media[1].datachannel);
    assert_non_null(strstr(text, "a=group:BUNDLE 1 2\r\n"));
    assert_non_null(strstr(text, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"));
    assert_non_null(strstr(text, "m=application 40000 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert_non_null(strstr(text, "a=mid:2\r\na=sctp-port:5000\r\na=max-message-size:16384\r\n"));
    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    assert_int_equal(reparsed.media_count, 3);
    assert_int_equal(media_by_mid(&reparsed, "0")->port, 0);
    assert_string_equal(media_by_mid(&reparsed, "0")->direction, "inactive");
    assert_int_equal(media_by_mid(&reparsed, "2")->port, 40000);
    assert_true(media_by_mid(&reparsed, "2")->datachannel);
    assert_string_equal(media_by_mid(&reparsed, "1")->direction, "recvonly");
    /* The one candidate rides on the first accepted section. */
    const char *cand = strstr(text, "a=candidate:");
    assert_non_null(cand);
    assert_true(cand > strstr(text, "a=mid:0"));
}

/* GStreamer's webrtcbin (max-bundle) offers every section but the first with
 * port 0 and a=bundle-only (RFC 8843 6): those sections are live. */
static void test_bundle_only_sections_are_live(void **state)
{
    (void)state;
    replace(text, sizeof text, chrome_offer, "m=video 9 ", "m=video 0 ");
    replace(text2, sizeof text2, text, "a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n");
    assert_int_equal(rtc_sdp_parse(text2, &parsed, err, sizeof err), 0);
    assert_int_not_equal(media_by_mid(&parsed, "1")->port, 0);
    int n = rtc_sdp_write_publish_answer(&parsed, &node_local, text, sizeof text, err, sizeof err);
    assert_true(n > 0);
    assert_non_null(strstr(text, "a=group:BUNDLE 0 1\r\n"));
    assert_null(strstr(text, "m=video 0 "));
    /* Without a=bundle-only, port 0 still rejects the section. */
    replace(text2, sizeof text2, chrome_offer, "m=video 9 ", "m=video 0 ");
    assert_int_equal(rtc_sdp_parse(text2, &parsed, err, sizeof err), 0);
    assert_int_equal(media_by_mid(&parsed, "1")->port, 0);
}

static void test_publish_answer_no_room(void **state)
{
    (void)state;
    assert_int_equal(rtc_sdp_parse(chrome_offer, &parsed, err, sizeof err), 0);
    int full =
        rtc_sdp_write_publish_answer(&parsed, &node_local, text, sizeof text, err, sizeof err);
    assert_true(full > 0);
    for (size_t cap = 0; cap <= (size_t)full; cap++) {
        char *b = malloc(cap ? cap : 1);
        assert_non_null(b);
        assert_int_equal(
            rtc_sdp_write_publish_answer(&parsed, &node_local, b, cap, err, sizeof err), -ENOSPC);
        free(b);
    }
    char *b = malloc((size_t)full + 1);
    assert_int_equal(
        rtc_sdp_write_publish_answer(&parsed, &node_local, b, (size_t)full + 1, err, sizeof err),
        full);
    assert_string_equal(b, text);
    free(b);
}

/* ---- subscribe offer ---- */

static void test_subscribe_offer_round_trip(void **state)
{
    (void)state;
    rtc_sdp_track_t tracks[3];
    memset(tracks, 0, sizeof tracks);
    tracks[0] = (rtc_sdp_track_t){.kind = RTC_MEDIA_AUDIO,
                                  .mid = "0",
                                  .active = true,
                                  .codec = {.pt = 111,
                                            .name = "opus",
                                            .clock_hz = 48000,
                                            .channels = 2,
                                            .fmtp = "minptime=10;useinbandfec=1"},
                                  .ssrc = 3735928559u,
                                  .cname = "Yq7n2Lx0aF3kP9dE",
                                  .stream_id = "u7-camera",
                                  .track_id = "t3735928559"};
    tracks[1] = (rtc_sdp_track_t){.kind = RTC_MEDIA_VIDEO,
                                  .mid = "1",
                                  .active = true,
                                  .codec = {.pt = 96, .name = "VP8", .clock_hz = 90000},
                                  .ssrc = 2882400001u,
                                  .cname = "Yq7n2Lx0aF3kP9dE",
                                  .stream_id = "u7-camera",
                                  .track_id = "t2882400001"};
    tracks[2] = (rtc_sdp_track_t){.kind = RTC_MEDIA_VIDEO,
                                  .mid = "2",
                                  .active = false,
                                  .codec = {.pt = 96, .name = "VP8", .clock_hz = 90000},
                                  .ssrc = 12345};
    int n = rtc_sdp_write_subscribe_offer(tracks, 3, &node_local, text, sizeof text);
    assert_true(n > 0);
    assert_non_null(strstr(text, "\r\na=ice-lite\r\n"));
    assert_non_null(strstr(text, "\r\na=group:BUNDLE 0 1 2\r\n"));
    assert_null(strstr(text, "a=ssrc:12345"));

    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    assert_string_equal(reparsed.setup, "actpass");
    assert_string_equal(reparsed.fingerprint, FP_NODE);
    assert_int_equal(reparsed.media_count, 3);
    const rtc_sdp_media_t *a = media_by_mid(&reparsed, "0");
    assert_int_equal(a->kind, RTC_MEDIA_AUDIO);
    assert_string_equal(a->direction, "sendonly");
    assert_int_equal(a->ssrc, 3735928559u);
    assert_string_equal(a->cname, "Yq7n2Lx0aF3kP9dE");
    assert_string_equal(a->msid_stream, "u7-camera");
    assert_string_equal(a->msid_track, "t3735928559");
    assert_int_equal(a->codec_count, 1);
    assert_int_equal(a->codecs[0].channels, 2);
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    const rtc_sdp_media_t *v = media_by_mid(&reparsed, "1");
    assert_int_equal(v->kind, RTC_MEDIA_VIDEO);
    assert_string_equal(v->direction, "sendonly");
    assert_int_equal(v->ssrc, 2882400001u);
    assert_string_equal(v->msid_track, "t2882400001");
    assert_int_equal(v->codecs[0].pt, 96);
    const rtc_sdp_media_t *ended = media_by_mid(&reparsed, "2");
    assert_string_equal(ended->direction, "inactive");
    assert_int_equal(ended->ssrc, 0);
    assert_string_equal(ended->msid_stream, "");

    for (size_t cap = 0; cap <= (size_t)n; cap += 7)
        assert_int_equal(rtc_sdp_write_subscribe_offer(tracks, 3, &node_local, text2, cap),
                         -ENOSPC);
}

/* ---- refused inputs ---- */

static void test_missing_fingerprint(void **state)
{
    (void)state;
    drop_lines(text, sizeof text, chrome_offer, "a=fingerprint");
    expect_parse_error(text, "fingerprint");
    /* Only a sha-1 fingerprint is as good as none. */
    replace(text2, sizeof text2, text, "a=setup:actpass",
            "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n"
            "a=setup:actpass");
    expect_parse_error(text2, "fingerprint");
}

static void test_missing_ice_credentials(void **state)
{
    (void)state;
    drop_lines(text, sizeof text, chrome_offer, "a=ice-ufrag");
    expect_parse_error(text, "ICE credentials");
    drop_lines(text, sizeof text, chrome_offer, "a=ice-pwd");
    expect_parse_error(text, "ICE credentials");
}

static void test_other_required_attributes(void **state)
{
    (void)state;
    drop_lines(text, sizeof text, chrome_offer, "a=group:BUNDLE");
    expect_parse_error(text, "BUNDLE");
    drop_lines(text, sizeof text, chrome_offer, "a=rtcp-mux");
    expect_parse_error(text, "rtcp-mux");
    drop_lines(text, sizeof text, chrome_offer, "a=mid:");
    expect_parse_error(text, "a=mid");
    drop_lines(text, sizeof text, chrome_offer, "v=");
    expect_parse_error(text, "v=");
    drop_lines(text, sizeof text, chrome_offer, "m=");
    drop_lines(text2, sizeof text2, text, "a=mid:");
    expect_parse_error(text2, "no media");
}

static void test_malformed_lines(void **state)
{
    (void)state;
    replace(text, sizeof text, chrome_offer, "a=rtpmap:111 opus/48000/2", "a=rtpmap:opus");
    expect_parse_error(text, "rtpmap");
    replace(text, sizeof text, chrome_offer, "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:300 opus/48000/2");
    expect_parse_error(text, "rtpmap");
    replace(text, sizeof text, chrome_offer, "a=fmtp:111 ", "a=fmtp:x");
    expect_parse_error(text, "fmtp");
    replace(text, sizeof text, chrome_offer, "a=ssrc:3735928559 cname", "a=ssrc:none cname");
    expect_parse_error(text, "ssrc");
    replace(text, sizeof text, chrome_offer, "m=audio 9", "m=audio");
    expect_parse_error(text, "m=");
    replace(text, sizeof text, chrome_offer, "s=-\r\n", "s=-\r\nthis is not sdp\r\n");
    expect_parse_error(text, "malformed");
}

static void test_garbage(void **state)
{
    (void)state;
    expect_parse_error("", "v=");
    expect_parse_error("\r\n\r\n", "v=");
    expect_parse_error("hello", "malformed");
    expect_parse_error("v=0", "ICE");
    expect_parse_error("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "malformed");
    /* Pseudo-random bytes (no NUL): refused, never a crash. */
    uint32_t x = 2463534242u;
    for (int round = 0; round < 200; round++) {
        size_t len = 1 + (size_t)round * 37 % 3000;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            text[i] = (char)(x % 255 + 1);
        }
        text[len] = '\0';
        assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), -EINVAL);
        assert_true(strlen(err) < sizeof err);
    }
}

static void test_over_cap_inputs(void **state)
{
    (void)state;
    /* 17 media sections: the 17th is read for session values only, and a
     * publish answer refuses such an offer. */
    size_t n = (size_t)snprintf(text, sizeof text,
                                "v=0\r\na=group:BUNDLE x\r\na=ice-ufrag:abcd\r\n"
                                "a=ice-pwd:0123456789abcdefghijkl\r\n"
                                "a=fingerprint:sha-256 " FP_CHROME "\r\n");
    for (int i = 0; i < RTC_SDP_MAX_MEDIA + 1; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%d\r\na=rtcp-mux\r\n"
                              "a=rtpmap:111 opus/48000/2\r\n",
                              i);
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_int_equal(parsed.media_count, RTC_SDP_MAX_MEDIA);
    assert_int_equal(parsed.media_ignored, 1);
    {
        static char answer[16384];
        rtc_sdp_local_t local = {.ice_ufrag = "abcd",
                                 .ice_pwd = "0123456789abcdefghijkl",
                                 .fingerprint = FP_CHROME,
                                 .ip = "127.0.0.1",
                                 .port = 40000,
                                 .session_id = 1,
                                 .version = 1};
        assert_int_equal(
            rtc_sdp_write_publish_answer(&parsed, &local, answer, sizeof answer, err, sizeof err),
            -EINVAL);
        assert_non_null(strstr(err, "media sections"));
    }

    /* 40 payload types in one section: the first 24 are kept. */
    n = (size_t)snprintf(text, sizeof text,
                         "v=0\r\na=group:BUNDLE 0\r\na=ice-ufrag:abcd\r\n"
                         "a=ice-pwd:0123456789abcdefghijkl\r\n"
                         "a=fingerprint:sha-256 " FP_CHROME "\r\n"
                         "m=video 9 UDP/TLS/RTP/SAVPF\r\na=mid:0\r\na=rtcp-mux\r\n");
    for (int pt = 60; pt < 100; pt++)
        n += (size_t)snprintf(text + n, sizeof text - n, "a=rtpmap:%d VP9/90000\r\n", pt);
    n += (size_t)snprintf(text + n, sizeof text - n, "a=rtpmap:100 VP8/90000\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    assert_int_equal(parsed.media[0].codec_count, RTC_SDP_MAX_CODECS);
    assert_null(rtc_sdp_pick_codec(&parsed.media[0]));

    /* Values longer than their fields are refused, not cut: a cut ufrag, pwd,
     * fingerprint or mid would be a different one. */
    char longv[400];
    memset(longv, 'u', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    char line[512];
    snprintf(line, sizeof line, "a=ice-ufrag:%s", longv);
    replace(text, sizeof text, chrome_offer, "a=ice-ufrag:Hm3r", line);
    expect_parse_error(text, "ice-ufrag");
    snprintf(line, sizeof line, "a=ice-pwd:%s", longv);
    replace(text, sizeof text, chrome_offer, "a=ice-pwd:qO8gZr1HjBNl0BhxfEuN6Cyl", line);
    expect_parse_error(text, "ice-pwd");
    snprintf(line, sizeof line, "a=mid:%.40s", longv);
    replace(text, sizeof text, chrome_offer, "a=mid:1", line);
    expect_parse_error(text, "mid");
    snprintf(line, sizeof line, "a=fingerprint:sha-256 %.200s", longv);
    replace(text, sizeof text, chrome_offer, "a=fingerprint:sha-256 " FP_CHROME, line);
    expect_parse_error(text, "fingerprint");
    /* The longest the fields hold still parse. */
    snprintf(line, sizeof line, "a=ice-ufrag:%.63s", longv);
    replace(text, sizeof text, chrome_offer, "a=ice-ufrag:Hm3r", line);
    replace(text2, sizeof text2, text, "a=ice-ufrag:Hm3r", line);
    assert_int_equal(rtc_sdp_parse(text2, &parsed, err, sizeof err), 0);
    assert_int_equal(strlen(parsed.ice_ufrag), 63);

    /* A 100 KB line. */
    static char huge[1 << 17];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    memcpy(huge, "a=x-long:", 9);
    char *big = malloc(sizeof huge + sizeof chrome_offer + 8);
    assert_non_null(big);
    sprintf(big, "%s%s\r\n", chrome_offer, huge);
    assert_int_equal(rtc_sdp_parse(big, &parsed, err, sizeof err), 0);
    free(big);
}

static void test_simulcast_by_rid_and_by_ssrc(void **state)
{
    (void)state;
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
            "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\n"
            "a=simulcast:send q;h;~f\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    const rtc_sdp_media_t *v = media_by_mid(&parsed, "1");
    assert_int_equal(v->rid_count, 3);
    assert_string_equal(v->rids[0], "q");
    assert_string_equal(v->rids[2], "f");
    assert_int_equal(v->ext.id[RTP_EXT_RID], 10);
    int n =
        rtc_sdp_write_publish_answer(&parsed, &node_local, text2, sizeof text2, err, sizeof err);
    assert_true(n > 0);
    assert_non_null(strstr(text2, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\n"));
    assert_non_null(strstr(text2, "a=simulcast:recv q;h;f\r\n"));
    assert_non_null(strstr(text2, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"));
    /* The audio section says nothing of RIDs. */
    assert_int_equal(rtc_sdp_parse(text2, &reparsed, err, sizeof err), 0);
    assert_int_equal(media_by_mid(&reparsed, "0")->rid_count, 0);
    /* The order of a=simulcast wins over the a=rid lines'. */
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=rid:b send\r\na=rid:a send\r\na=simulcast:send a,x;b\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    v = media_by_mid(&parsed, "1");
    assert_int_equal(v->rid_count, 2);
    assert_string_equal(v->rids[0], "a");
    assert_string_equal(v->rids[1], "b");
    /* By SSRC: the SIM group, lowest first. */
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=ssrc-group:SIM 11 22 33\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
    v = media_by_mid(&parsed, "1");
    assert_int_equal(v->sim_count, 3);
    assert_int_equal(v->sim_ssrcs[2], 33);
    /* Malformed RIDs are refused. */
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=rid:b@d send\r\n");
    expect_parse_error(text, "rid");
    replace(text, sizeof text, chrome_offer, "a=extmap:13 urn:3gpp:video-orientation\r\n",
            "a=simulcast:send ok;;\r\n");
    assert_int_equal(rtc_sdp_parse(text, &parsed, err, sizeof err), 0);
}

/* Firefox's max-bundle offer: the second section is port 0 + a=bundle-only,
 * with no transport attributes of its own (RFC 8843 7.2). */
static const char firefox_offer[] = "v=0\r\n"
                                    "o=mozilla...THIS_IS_SDPARTA-128.0 4711 0 IN IP4 0.0.0.0\r\n"
                                    "s=-\r\n"
                                    "t=0 0\r\n"
                                    "a=fingerprint:sha-256 " FP_CHROME "\r\n"
                                    "a=group:BUNDLE 0 1\r\n"
                                    "a=ice-options:trickle\r\n"
                                    "a=msid-semantic:WMS *\r\n"
                                    "m=audio 9 UDP/TLS/RTP/SAVPF 109 0\r\n"
                                    "c=IN IP4 0.0.0.0\r\n"
                                    "a=sendonly\r\n"
                                    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
                                    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                                    "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
                                    "a=ice-pwd:1b2b6b8a4e6d0f7e0d2c4a5b6c7d8e9f\r\n"
                                    "a=ice-ufrag:ff01ab23\r\n"
                                    "a=mid:0\r\n"
                                    "a=msid:{a1} {a2}\r\n"
                                    "a=rtcp-mux\r\n"
                                    "a=rtpmap:109 opus/48000/2\r\n"
                                    "a=rtpmap:0 PCMU/8000\r\n"
                                    "a=setup:actpass\r\n"
                                    "a=ssrc:3001 cname:{ff}\r\n"
                                    "m=video 0 UDP/TLS/RTP/SAVPF 120 124\r\n"
                                    "c=IN IP4 0.0.0.0\r\n"
                                    "a=bundle-only\r\n"
                                    "a=sendonly\r\n"
                                    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                                    "a=fmtp:120 max-fs=12288;max-fr=60\r\n"
                                    "a=fmtp:124 apt=120\r\n"
                                    "a=mid:1\r\n"
                                    "a=msid:{a1} {v2}\r\n"
                                    "a=rtcp-fb:120 nack\r\n"
                                    "a=rtcp-fb:120 nack pli\r\n"
                                    "a=rtcp-fb:120 ccm fir\r\n"
                                    "a=rtpmap:120 VP8/90000\r\n"
                                    "a=rtpmap:124 rtx/90000\r\n"
                                    "a=ssrc:3002 cname:{ff}\r\n"
                                    "a=ssrc:3003 cname:{ff}\r\n"
                                    "a=ssrc-group:FID 3002 3003\r\n";

static void test_firefox_bundle_only_section_is_taken(void **state)
{
    (void)state;
    assert_int_equal(rtc_sdp_parse(firefox_offer, &parsed, err, sizeof err), 0);
    assert_int_equal(parsed.media_count, 2);
    const rtc_sdp_media_t *video = media_by_mid(&parsed, "1");
    assert_true(video->port != 0);
    assert_non_null(rtc_sdp_pick_codec(video));
    assert_int_equal(video->ssrc, 3002);
    int n = rtc_sdp_write_publish_answer(&parsed, &node_local, text, sizeof text, err, sizeof err);
    assert_true(n > 0);
    /* Both sections are answered and bundled; none is rejected. */
    assert_non_null(strstr(text, "a=group:BUNDLE 0 1\r\n"));
    assert_null(strstr(text, "m=video 0 "));
    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    assert_string_equal(media_by_mid(&reparsed, "1")->direction, "recvonly");
    assert_true(media_by_mid(&reparsed, "1")->port != 0);
    /* A section at port 0 without a=bundle-only is still a rejected one. */
    replace(text2, sizeof text2, firefox_offer, "a=bundle-only\r\n", "");
    assert_int_equal(rtc_sdp_parse(text2, &parsed, err, sizeof err), 0);
    assert_int_equal(media_by_mid(&parsed, "1")->port, 0);
}

static void test_candidates_per_address_and_tcp(void **state)
{
    (void)state;
    rtc_sdp_local_t l = node_local;
    l.ip = "2001:db8::10,192.0.2.10";
    l.tcp_port = 40100;
    assert_int_equal(rtc_sdp_parse(chrome_offer, &parsed, err, sizeof err), 0);
    int n = rtc_sdp_write_publish_answer(&parsed, &l, text, sizeof text, err, sizeof err);
    assert_true(n > 0);
    /* The first address is c=, in its family. */
    assert_non_null(strstr(text, "c=IN IP6 2001:db8::10\r\na=rtcp:40000 IN IP6 2001:db8::10\r\n"));
    /* Per address a UDP candidate and a passive TCP one, TCP below every UDP one. */
    assert_non_null(strstr(text, "a=candidate:1 1 udp 2130706431 2001:db8::10 40000 typ host\r\n"));
    assert_non_null(strstr(
        text, "a=candidate:2 1 tcp 1459617791 2001:db8::10 40100 typ host tcptype passive\r\n"));
    assert_non_null(strstr(text, "a=candidate:3 1 udp 2130706175 192.0.2.10 40000 typ host\r\n"));
    assert_non_null(strstr(
        text, "a=candidate:4 1 tcp 1459617535 192.0.2.10 40100 typ host tcptype passive\r\n"));
    assert_int_equal(rtc_sdp_parse(text, &reparsed, err, sizeof err), 0);
    /* Without a TCP port, UDP only. */
    l.tcp_port = 0;
    assert_true(rtc_sdp_write_publish_answer(&parsed, &l, text, sizeof text, err, sizeof err) > 0);
    assert_null(strstr(text, " tcp "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_chrome_offer),
        cmocka_unit_test(test_candidates_per_address_and_tcp),
        cmocka_unit_test(test_firefox_bundle_only_section_is_taken),
        cmocka_unit_test(test_simulcast_by_rid_and_by_ssrc),
        cmocka_unit_test(test_parse_lf_and_crlf_agree),
        cmocka_unit_test(test_parse_session_level_credentials),
        cmocka_unit_test(test_pick_codec),
        cmocka_unit_test(test_pick_codec_none_for_unusable_video),
        cmocka_unit_test(test_publish_answer_round_trip),
        cmocka_unit_test(test_publish_answer_takes_rtx_it_can_place),
        cmocka_unit_test(test_publish_answer_rejects_unused_sections),
        cmocka_unit_test(test_bundle_only_sections_are_live),
        cmocka_unit_test(test_publish_answer_no_room),
        cmocka_unit_test(test_subscribe_offer_round_trip),
        cmocka_unit_test(test_missing_fingerprint),
        cmocka_unit_test(test_missing_ice_credentials),
        cmocka_unit_test(test_other_required_attributes),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_over_cap_inputs),
    };
    return cmocka_run_group_tests_name("sdp", tests, NULL, NULL);
}
