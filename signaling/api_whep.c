/* signaling/api_whep.c: WHEP playback. POST /whep/:room with a
 * receive-only SDP offer and the same credentials as WHIP gives a session:
 * one subscribe leg on the room's worker whose sections carry one
 * participant's audio and video, the one named by ?participant=USERID or
 * else the room's active speaker (the first participant publishing until
 * anyone has spoken). It is not a participant of the call: nobody sees it,
 * and it follows the call from outside, re-pointing its consumers
 * (sfu/media.h) when the call or its active speaker changes. The SSRC, mid
 * and RTP numbering of each section stay, so the viewer renegotiates
 * nothing and sees one stream whose source changed. */
#include "signaling/signaling_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "rtp/rtc_sdp.h"
#include "sfu/call.h"
#include "sfu/media.h"
#include "signaling/api.h"
#include "signaling/ws_call.h"

#define WHEP_SDP_MAX          16384
#define WHEP_SESSIONS_PER_KEY 4 /* per ingest key, and per member */

typedef struct whep_section {
    rtc_sdp_track_t t;                 /* what the answer promised: kind, mid, codec, SSRC */
    uint64_t producer_id, consumer_id; /* what it carries now; 0: nothing */
} whep_section_t;

struct whep_session {
    char id[33];
    int64_t room_id;
    char room[64];
    int64_t key_id, user_id;
    int64_t follow_user_id; /* 0: the active speaker */
    uint64_t leg;
    char ufrag[16], pwd[40], remote_ufrag[64];
    whep_section_t sec[RTC_SDP_MAX_MEDIA];
    int sec_count;
    struct whep_session *next;
};

static whep_session_t *session_find(signaling_t *sig, const char *id)
{
    for (whep_session_t *s = sig->whep_sessions; s; s = s->next) {
        if (!strcmp(s->id, id))
            return s;
    }
    return NULL;
}

/* Closes the leg (its consumers go with it) and forgets the session. */
static void session_end(signaling_t *sig, whep_session_t *s, const char *reason)
{
    whep_session_t **pp = &sig->whep_sessions;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    if (sig->media)
        sfu_media_leg_close(sig->media, s->room_id, s->leg);
    log_info("whep", "session %.8s in room %lld ended: %s", s->id, (long long)s->room_id, reason);
    free(s);
}

/* The participant the session shows: the chosen one, else the active
 * speaker, else the first one publishing video. NULL: nobody. */
static sfu_participant_t *session_target(signaling_t *sig, const whep_session_t *s)
{
    sfu_call_t *call = ws_call_of_room(sig, s->room_id);
    if (!call)
        return NULL;
    if (s->follow_user_id)
        return sfu_call_find_user(call, s->follow_user_id);
    int64_t speaker = ws_call_active_speaker(sig, s->room_id);
    sfu_participant_t *p = speaker ? sfu_call_find_user(call, speaker) : NULL;
    for (int i = 0; !p && i < sfu_call_participant_count(call); i++) {
        int n;
        const sfu_call_track_t *t = sfu_participant_tracks(sfu_call_participant(call, i), &n);
        for (int k = 0; k < n && !p; k++) {
            if (t[k].kind == RTC_MEDIA_VIDEO)
                p = sfu_call_participant(call, i);
        }
    }
    return p;
}

/* A track of p a section can carry: same kind, same codec and payload type. */
static const sfu_call_track_t *track_for(const sfu_participant_t *p, const rtc_sdp_track_t *t)
{
    int n;
    const sfu_call_track_t *tracks = p ? sfu_participant_tracks(p, &n) : NULL;
    for (int k = 0; tracks && k < n; k++) {
        if (tracks[k].kind == t->kind && tracks[k].codec.pt == t->codec.pt &&
            !strcasecmp(tracks[k].codec.name, t->codec.name))
            return &tracks[k];
    }
    return NULL;
}

/* Points every section at what the session should show now. */
static void session_follow(signaling_t *sig, whep_session_t *s)
{
    sfu_participant_t *p = session_target(sig, s);
    for (int i = 0; i < s->sec_count; i++) {
        whep_section_t *x = &s->sec[i];
        if (!x->t.active)
            continue;
        const sfu_call_track_t *t = track_for(p, &x->t);
        uint64_t want = t ? t->producer_id : 0;
        if (want == x->producer_id)
            continue;
        x->producer_id = want;
        if (!want) {
            if (x->consumer_id)
                sfu_media_consumer_remove(sig->media, s->room_id, x->consumer_id);
            x->consumer_id = 0;
            continue;
        }
        /* Another source on the same stream: the consumer carries on its
         * numbering, or the viewer's SRTP would refuse a jump back. */
        bool fresh = !x->consumer_id;
        if (fresh)
            x->consumer_id = ++sig->next_leg_id;
        sfu_consumer_params_t cp = {.id = x->consumer_id, .ssrc = x->t.ssrc};
        snprintf(cp.mid, sizeof cp.mid, "%s", x->t.mid);
        if (fresh)
            sfu_media_consumer_add(sig->media, s->room_id, want, s->leg, &cp);
        else
            sfu_media_consumer_switch(sig->media, s->room_id, want, s->leg, &cp);
    }
}

void api_whep_room_changed(signaling_t *sig, int64_t room_id)
{
    for (whep_session_t *s = sig->whep_sessions; s; s = s->next) {
        if (s->room_id == room_id)
            session_follow(sig, s);
    }
}

void api_whep_leg_state(signaling_t *sig, uint64_t leg_id, bool connected)
{
    for (whep_session_t *s = sig->whep_sessions; s; s = s->next) {
        if (s->leg != leg_id)
            continue;
        if (!connected)
            session_end(sig, s, "connection lost");
        return;
    }
}

void api_whep_close_all(signaling_t *sig)
{
    while (sig->whep_sessions)
        session_end(sig, sig->whep_sessions, "node stopping");
}

static int session_count(signaling_t *sig, int64_t key_id, int64_t user_id)
{
    int n = 0;
    for (whep_session_t *s = sig->whep_sessions; s; s = s->next)
        n += key_id ? s->key_id == key_id : s->user_id == user_id;
    return n;
}

/* Each section of the offer the client receives audio or video on gets a
 * track; codec: the one the shown participant sends, if offered with the
 * same payload type, else the node's choice. 0, or -1 when none can. */
static int plan_sections(whep_session_t *s, const rtc_sdp_t *offer, const sfu_participant_t *p)
{
    int usable = 0;
    s->sec_count = offer->media_count;
    for (int i = 0; i < offer->media_count; i++) {
        const rtc_sdp_media_t *m = &offer->media[i];
        rtc_sdp_track_t *t = &s->sec[i].t;
        memset(&s->sec[i], 0, sizeof s->sec[i]);
        t->kind = m->kind;
        snprintf(t->mid, sizeof t->mid, "%s", m->mid);
        bool receives = !strcmp(m->direction, "recvonly") || !strcmp(m->direction, "sendrecv");
        if (m->kind == RTC_MEDIA_OTHER || m->port == 0 || !receives)
            continue;
        const rtc_sdp_codec_t *codec = NULL;
        int n;
        const sfu_call_track_t *tracks = p ? sfu_participant_tracks(p, &n) : NULL;
        for (int k = 0; tracks && k < n && !codec; k++) {
            for (int c = 0; tracks[k].kind == m->kind && c < m->codec_count && !codec; c++) {
                if (m->codecs[c].pt == tracks[k].codec.pt &&
                    !strcasecmp(m->codecs[c].name, tracks[k].codec.name))
                    codec = &m->codecs[c];
            }
        }
        if (!codec)
            codec = rtc_sdp_pick_codec(m);
        if (!codec)
            continue;
        t->active = true;
        t->codec = *codec;
        random_bytes((uint8_t *)&t->ssrc, sizeof t->ssrc);
        t->ssrc |= 1; /* never 0 */
        char name[16];
        snprintf(name, sizeof name, "whep-%.8s", s->id);
        snprintf(t->cname, sizeof t->cname, "%s", name);
        snprintf(t->stream_id, sizeof t->stream_id, "%s", name);
        snprintf(t->track_id, sizeof t->track_id, "%s-%s", m->kind == RTC_MEDIA_AUDIO ? "a" : "v",
                 m->mid);
        usable++;
    }
    return usable ? 0 : -1;
}

/* The extension ids the offer gives, of those the node writes (BUNDLE: one
 * id space for every section). */
static void offer_ext_ids(const rtc_sdp_t *offer, rtp_ext_ids_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < offer->media_count; i++) {
        for (int k = 0; k < RTP_EXT_KIND_COUNT; k++) {
            if (offer->media[i].ext.id[k] && !out->id[k] && k != RTP_EXT_RRID)
                out->id[k] = offer->media[i].ext.id[k];
        }
    }
}

void api_whep_post(http_req_t *req)
{
    signaling_t *sig = req->sig;
    static rtc_sdp_t offer;
    static char answer[WHEP_SDP_MAX];
    api_whip_cors(req);
    if (!api_content_type_is(req, "application/sdp")) {
        http_reply_error(req, 415, "unsupported_media_type", NULL,
                         "send the SDP offer as Content-Type: application/sdp");
        return;
    }
    if (!sig->media) {
        http_reply_error(req, 503, "unavailable", NULL, "this node runs no media workers");
        return;
    }
    store_room_t room;
    char name[64], err[160], who[32];
    whep_session_t *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (!api_whip_room(req, req->param[0], &room) ||
        !api_whip_credential(req, &room, &s->key_id, &s->user_id, name))
        goto fail;
    if (http_req_query(req, "participant", who, sizeof who)) {
        char *end;
        long long v = strtoll(who, &end, 10);
        if (!who[0] || *end || v == 0) {
            http_reply_error(req, 400, "invalid_field", "participant",
                             "participant must be a user id of the call");
            goto fail;
        }
        s->follow_user_id = v;
    }
    if (session_count(sig, s->key_id, s->user_id) >= WHEP_SESSIONS_PER_KEY) {
        http_reply_error(req, 409, "too_many_sessions", NULL,
                         "this %s plays %d sessions already; DELETE one first",
                         s->key_id ? "ingest key" : "member", WHEP_SESSIONS_PER_KEY);
        goto fail;
    }
    if (!req->body_len || rtc_sdp_parse((const char *)req->body, &offer, err, sizeof err)) {
        http_reply_error(req, 400, "invalid_sdp", NULL, "%s",
                         req->body_len ? err : "the body must be an SDP offer");
        goto fail;
    }
    random_hex(s->id, 16);
    s->room_id = room.id;
    snprintf(s->room, sizeof s->room, "%s", req->param[0]);
    if (s->follow_user_id && !session_target(sig, s)) {
        http_reply_error(req, 404, "not_found", "participant", "user %lld is not in the call",
                         (long long)s->follow_user_id);
        goto fail;
    }
    if (plan_sections(s, &offer, session_target(sig, s))) {
        http_reply_error(req, 422, "no_usable_codec", NULL,
                         "no section receives opus, VP8 or H264 baseline");
        goto fail;
    }
    snprintf(s->remote_ufrag, sizeof s->remote_ufrag, "%s", offer.ice_ufrag);
    random_hex(s->ufrag, 4);
    random_hex(s->pwd, 16);
    s->leg = ++sig->next_leg_id;
    rtp_ext_ids_t ext;
    offer_ext_ids(&offer, &ext);
    int worker = sfu_media_worker_of_room(sig->media, room.id);
    rtc_sdp_track_t tracks[RTC_SDP_MAX_MEDIA];
    for (int i = 0; i < s->sec_count; i++)
        tracks[i] = s->sec[i].t;
    rtc_sdp_local_t l = {.ice_ufrag = s->ufrag,
                         .ice_pwd = s->pwd,
                         .fingerprint = sfu_media_fingerprint(sig->media),
                         .ip = sig->announce_ip,
                         .port = sig->rtc_port + worker,
                         .session_id = 4343,
                         .version = 1};
    if (rtc_sdp_write_play_answer(&offer, tracks, &ext, &l, answer, sizeof answer) < 0) {
        http_reply_error(req, 500, "internal", NULL, "answer too large");
        goto fail;
    }
    sfu_media_leg_open(sig->media, room.id, s->leg, s->ufrag, s->pwd, offer.fingerprint);
    sfu_media_leg_set_caps(sig->media, room.id, s->leg, &ext, false);
    s->next = sig->whep_sessions;
    sig->whep_sessions = s;
    session_follow(sig, s);
    log_info("whep", "session %.8s: %s plays room %lld", s->id, name, (long long)room.id);
    api_whip_reply_created(req, "whep", s->room, s->id, answer);
    return;
fail:
    free(s);
}

static whep_session_t *session_of(http_req_t *req)
{
    whep_session_t *s = session_find(req->sig, req->param[1]);
    if (!s || strcmp(s->room, req->param[0])) {
        http_reply_error(req, 404, "not_found", NULL, "no such WHEP session");
        return NULL;
    }
    return s;
}

void api_whep_delete(http_req_t *req)
{
    api_whip_cors(req);
    whep_session_t *s = session_of(req);
    if (!s)
        return;
    session_end(req->sig, s, "deleted");
    http_reply_json(req, 200, NULL);
}

void api_whep_patch(http_req_t *req)
{
    api_whip_cors(req);
    whep_session_t *s = session_of(req);
    if (s)
        api_whip_trickle(req, s->remote_ufrag);
}
