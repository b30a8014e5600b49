/* Fuzz target: the SDP parser on untrusted text, and what we write from it.
 *   make build/fuzz/fuzz_sdp; build/fuzz/fuzz_sdp -max_total_time=60
 * The bytes are the SDP (up to the first NUL). When it parses, the publish answer
 * and a subscribe offer built from it must be written and must parse back. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtc_sdp.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static const rtc_sdp_local_t fuzz_local = {
    .ice_ufrag = "srvU",
    .ice_pwd = "node-ice-password-0123456789",
    .fingerprint = "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:"
                   "9A:AB:BC:CD:DE:EF:F0",
    .ip = "192.0.2.10",
    .port = 40000,
    .session_id = 1,
    .version = 1,
};

/* The structs are large: kept off the stack. */
static rtc_sdp_t offer, back;
static char out[1 << 17];

static void check_err(const char *err, size_t cap)
{
    CHECK(memchr(err, '\0', cap) != NULL);
    CHECK(err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly the text and its NUL, so that the sanitizer sees a read past the end. */
    char *sdp = malloc(size + 1);
    if (!sdp)
        return 0;
    memcpy(sdp, data, size);
    sdp[size] = '\0';
    char err[160];
    memset(err, 0, sizeof err);
    int rc = rtc_sdp_parse(sdp, &offer, err, sizeof err);
    free(sdp);
    if (rc != 0) {
        CHECK(rc == -EINVAL);
        check_err(err, sizeof err);
        return 0;
    }
    CHECK(offer.media_count > 0 && offer.media_count <= RTC_SDP_MAX_MEDIA);

    int n = rtc_sdp_write_publish_answer(&offer, &fuzz_local, out, sizeof out, err, sizeof err);
    if (n == -EINVAL)
        check_err(err, sizeof err);
    else
        CHECK(n > 0 && (size_t)n == strlen(out));
    if (n > 0) {
        memset(err, 0, sizeof err);
        CHECK(rtc_sdp_parse(out, &back, err, sizeof err) == 0);
        CHECK(back.media_count == offer.media_count);
        CHECK(!strcmp(back.ice_ufrag, fuzz_local.ice_ufrag));
        for (int i = 0; i < offer.media_count; i++)
            CHECK(!strcmp(back.media[i].mid, offer.media[i].mid));
    }

    /* Read as a WHEP offer: each section with a codec we would pick is answered
     * sendonly, the others rejected; the answer parses back section for section. */
    static rtc_sdp_track_t play[RTC_SDP_MAX_MEDIA];
    int playing = 0;
    for (int i = 0; i < offer.media_count; i++) {
        const rtc_sdp_media_t *m = &offer.media[i];
        const rtc_sdp_codec_t *c = rtc_sdp_pick_codec(m);
        rtc_sdp_track_t *t = &play[i];
        memset(t, 0, sizeof *t);
        t->kind = m->kind;
        memcpy(t->mid, m->mid, sizeof t->mid);
        t->active = c != NULL;
        playing += t->active;
        if (c)
            t->codec = *c;
        t->ssrc = m->ssrc | 1;
        memcpy(t->cname, "whep", 5);
        memcpy(t->stream_id, "whep-s", 7);
        memcpy(t->track_id, "v-0", 4);
    }
    n = rtc_sdp_write_play_answer(&offer, play, &offer.media[0].ext, &fuzz_local, out, sizeof out);
    CHECK(n > 0 && (size_t)n == strlen(out));
    memset(err, 0, sizeof err);
    /* With nothing to play there is no transport to describe (WHEP refuses such offers). */
    if (playing) {
        CHECK(rtc_sdp_parse(out, &back, err, sizeof err) == 0);
        CHECK(back.media_count == offer.media_count);
        for (int i = 0; i < offer.media_count; i++) {
            CHECK(!strcmp(back.media[i].mid, offer.media[i].mid));
            if (play[i].active)
                CHECK(back.media[i].ssrc == play[i].ssrc &&
                      !strcmp(back.media[i].direction, "sendonly"));
        }
    }

    /* Every section with a codec we would pick becomes a track of a subscribe offer. */
    static rtc_sdp_track_t tracks[RTC_SDP_MAX_MEDIA];
    int count = 0;
    for (int i = 0; i < offer.media_count; i++) {
        const rtc_sdp_media_t *m = &offer.media[i];
        const rtc_sdp_codec_t *c = rtc_sdp_pick_codec(m);
        if (!c)
            continue;
        rtc_sdp_track_t *t = &tracks[count++];
        memset(t, 0, sizeof *t);
        t->kind = m->kind;
        memcpy(t->mid, m->mid, sizeof t->mid);
        t->active = m->ssrc & 1;
        t->codec = *c;
        t->ssrc = m->ssrc;
        memcpy(t->cname, m->cname, sizeof t->cname);
        memcpy(t->stream_id, m->msid_stream, sizeof t->stream_id);
        memcpy(t->track_id, m->msid_track, sizeof t->track_id);
    }
    if (count > 0) {
        n = rtc_sdp_write_subscribe_offer(tracks, count, &fuzz_local, out, sizeof out);
        CHECK(n > 0 && (size_t)n == strlen(out));
        memset(err, 0, sizeof err);
        CHECK(rtc_sdp_parse(out, &back, err, sizeof err) == 0);
        CHECK(back.media_count == count);
        for (int i = 0; i < count; i++) {
            CHECK(!strcmp(back.media[i].mid, tracks[i].mid));
            CHECK(back.media[i].codec_count == 1 &&
                  back.media[i].codecs[0].pt == tracks[i].codec.pt);
            if (tracks[i].active)
                CHECK(back.media[i].ssrc == tracks[i].ssrc);
        }
    }
    return 0;
}
