/* signaling/ws_call.c: calls over the WebSocket. Each participant has a
 * publish session (the client offers, we answer) and a subscribe session (we
 * offer whenever the room's tracks change, the client answers). The media
 * itself lives on the room's worker (sfu/media.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "rtp/rtc_sdp.h"
#include "sfu/media.h"
#include "signaling/api.h"
#include "signaling/ws_call.h"
#include "signaling/ws_internal.h"

#define CALL_MAX_PEERS  256  /* participants in one call */
#define PEER_MAX_SUBS   1024 /* subscribe sections over a session's life */
#define PEER_MAX_TRACKS 8
#define SDP_MAX         16384
#define SUB_SDP_MAX     (512 * 1024) /* a subscribe offer: a section per track */
#define CALL_RESUME_MS  15000

typedef struct call_track {
    char mid[32];
    char source[8]; /* mic, camera, screen */
    rtc_media_kind_t kind;
    rtc_sdp_codec_t codec;
    uint32_t ssrc;
    uint64_t producer_id; /* on the room's worker */
    rtp_ext_ids_t ext;    /* the publisher's extension ids */
    char cname[64];
} call_track_t;

struct call_peer {
    call_room_t *room;
    ws_conn_t *conn;
    int64_t user_id;
    char username[64];
    int64_t joined_ms;
    uint64_t pub_leg, sub_leg;
    bool pub_open, sub_open;
    char pub_ufrag[16], pub_pwd[40], sub_ufrag[16], sub_pwd[40];
    char resume_token[40];
    int64_t detached_ms; /* when its socket dropped; 0 while attached */
    call_track_t tracks[PEER_MAX_TRACKS];
    int track_count;
    rtc_sdp_track_t *sub; /* grows; ended tracks stay as inactive sections */
    int sub_count, sub_cap, sub_mid_seq;
    unsigned sub_version;
    bool sub_pending, sub_dirty;
    bool audio_muted, video_muted, hand_raised;
};

struct call_room {
    int64_t room_id;
    int64_t call_id; /* its record in the store; 0 when it could not be written */
    int worker;
    call_peer_t **peers;
    int peer_count, peer_cap;
    bool ending; /* the call is ending: no renegotiation for those still in it */
    struct call_room *next;
};

static void random_token(char *out, size_t bytes)
{
    uint8_t raw[24];
    random_bytes(raw, bytes);
    hex_encode(raw, bytes, out);
}

static call_room_t *room_find(signaling_t *sig, int64_t room_id)
{
    for (call_room_t *r = sig->calls; r; r = r->next) {
        if (r->room_id == room_id)
            return r;
    }
    return NULL;
}

static void room_send_all(call_room_t *r, json_t *obj, const call_peer_t *except)
{
    for (int i = 0; i < r->peer_count; i++) {
        if (r->peers[i] != except && r->peers[i]->conn)
            ws_send(r->peers[i]->conn, obj);
    }
    json_decref(obj);
}

/* As room_send_all; the requester's copy carries its request id, as its reply. */
static void room_send_reply(call_room_t *r, json_t *obj, const ws_conn_t *requester, json_t *id)
{
    for (int i = 0; i < r->peer_count; i++) {
        ws_conn_t *c = r->peers[i]->conn;
        if (!c)
            continue;
        if (c == requester && id) {
            json_t *copy = json_copy(obj);
            json_object_set(copy, "id", id);
            ws_send(c, copy);
            json_decref(copy);
        } else {
            ws_send(c, obj);
        }
    }
    json_decref(obj);
}

static json_t *peer_json(const call_peer_t *p)
{
    json_t *tracks = json_array();
    for (int i = 0; i < p->track_count; i++)
        json_array_append_new(
            tracks, json_pack("{s:s,s:s,s:s}", "kind",
                              p->tracks[i].kind == RTC_MEDIA_AUDIO ? "audio" : "video", "source",
                              p->tracks[i].source, "streamId",
                              strcmp(p->tracks[i].source, "screen") ? "camera" : "screen"));
    return json_pack("{s:I,s:s,s:o,s:b,s:b,s:b}", "userId", (json_int_t)p->user_id, "username",
                     p->username, "tracks", tracks, "audioMuted", p->audio_muted, "videoMuted",
                     p->video_muted, "handRaised", p->hand_raised);
}

static void local_desc(signaling_t *sig, call_room_t *r, const char *ufrag, const char *pwd,
                       unsigned version, rtc_sdp_local_t *l)
{
    *l = (rtc_sdp_local_t){.ice_ufrag = ufrag,
                           .ice_pwd = pwd,
                           .fingerprint = sfu_media_fingerprint(sig->media),
                           .ip = sig->announce_ip,
                           .port = sig->rtc_port + r->worker,
                           .session_id = 4242,
                           .version = version};
}

/* Sends p a fresh subscribe offer, or marks one due when an answer is pending. */
static void sub_renegotiate(signaling_t *sig, call_peer_t *p)
{
    if (p->sub_pending) {
        p->sub_dirty = true;
        return;
    }
    if (p->sub_count == 0 || !p->conn)
        return;
    static char sdp[SUB_SDP_MAX];
    rtc_sdp_local_t l;
    local_desc(sig, p->room, p->sub_ufrag, p->sub_pwd, ++p->sub_version, &l);
    int n = rtc_sdp_write_subscribe_offer(p->sub, p->sub_count, &l, sdp, sizeof sdp);
    if (n < 0) {
        ws_send_error(p->conn, NULL, "internal", "subscribe offer too large");
        return;
    }
    p->sub_pending = true;
    p->sub_dirty = false;
    json_t *o = json_pack("{s:s,s:I,s:s,s:i}", "type", "call_subscribe_offer", "roomId",
                          (json_int_t)p->room->room_id, "sdp", sdp, "version", p->sub_version);
    ws_send(p->conn, o);
    json_decref(o);
}

/* True when ssrc is published in the room, or sent to anyone in it. */
static bool room_ssrc_taken(const call_room_t *r, uint32_t ssrc)
{
    for (int i = 0; i < r->peer_count; i++) {
        const call_peer_t *o = r->peers[i];
        for (int t = 0; t < o->track_count; t++)
            if (o->tracks[t].ssrc == ssrc)
                return true;
        for (int k = 0; k < o->sub_count; k++)
            if (o->sub[k].ssrc == ssrc)
                return true;
    }
    return false;
}

/* A consumer's outgoing SSRC: random (RFC 3550 8.1), never one in the room. */
static uint32_t consumer_ssrc_new(const call_room_t *r)
{
    uint32_t ssrc = 0;
    while (ssrc == 0 || ssrc == SFU_RTCP_SENDER_SSRC || room_ssrc_taken(r, ssrc))
        random_bytes((uint8_t *)&ssrc, sizeof ssrc);
    return ssrc;
}

static void consumer_attach(signaling_t *sig, call_peer_t *p, const rtc_sdp_track_t *s)
{
    sfu_consumer_params_t cp = {.id = s->consumer_id, .ssrc = s->ssrc};
    snprintf(cp.mid, sizeof cp.mid, "%s", s->mid);
    sfu_media_consumer_add(sig->media, p->room->room_id, s->producer_id, p->sub_leg, &cp);
}

/* p starts receiving track t of publisher pub. */
static void sub_add(signaling_t *sig, call_peer_t *p, const call_peer_t *pub, const call_track_t *t)
{
    if (p->sub_count == p->sub_cap) {
        int cap = p->sub_cap ? p->sub_cap * 2 : 8;
        rtc_sdp_track_t *grown =
            cap <= PEER_MAX_SUBS ? realloc(p->sub, (size_t)cap * sizeof *grown) : NULL;
        if (!grown) {
            if (p->conn)
                ws_send_error(p->conn, NULL, "too_many_tracks",
                              "this session cannot receive more tracks; join the call again");
            return;
        }
        p->sub = grown;
        p->sub_cap = cap;
    }
    rtc_sdp_track_t *s = &p->sub[p->sub_count++];
    memset(s, 0, sizeof *s);
    s->kind = t->kind;
    snprintf(s->mid, sizeof s->mid, "%d", p->sub_mid_seq++);
    s->active = true;
    s->codec = t->codec;
    s->producer_id = t->producer_id;
    s->consumer_id = ++sig->next_leg_id;
    s->ssrc = consumer_ssrc_new(p->room);
    snprintf(s->cname, sizeof s->cname, "%s", t->cname[0] ? t->cname : "sfu");
    snprintf(s->stream_id, sizeof s->stream_id, "u%lld-%s", (long long)pub->user_id,
             strcmp(t->source, "screen") ? "camera" : "screen");
    snprintf(s->track_id, sizeof s->track_id, "t%llu", (unsigned long long)t->producer_id);
    if (p->sub_open)
        consumer_attach(sig, p, s);
}

static void sub_remove(signaling_t *sig, call_peer_t *p, uint64_t producer_id)
{
    for (int i = 0; i < p->sub_count; i++) {
        if (p->sub[i].active && p->sub[i].producer_id == producer_id) {
            p->sub[i].active = false;
            if (p->sub_open)
                sfu_media_consumer_remove(sig->media, p->room->room_id, p->sub[i].consumer_id);
        }
    }
}

static call_peer_t *peer_of(ws_conn_t *c, json_t *msg, json_t *id)
{
    json_t *rid = json_object_get(msg, "roomId");
    call_peer_t *p = c->call_peer;
    if (!p || (rid && (!json_is_integer(rid) || json_integer_value(rid) != p->room->room_id))) {
        ws_send_error(c, id, "not_in_call", "join the call first (call_join)");
        return NULL;
    }
    return p;
}

/* Everything a participant had goes; everyone else is told and renegotiated. */
static void peer_remove(signaling_t *sig, call_peer_t *p, const char *reason)
{
    call_room_t *r = p->room;
    for (int i = 0; i < r->peer_count; i++) {
        if (r->peers[i] == p)
            r->peers[i] = r->peers[--r->peer_count];
    }
    for (int t = 0; t < p->track_count; t++) {
        for (int i = 0; i < r->peer_count; i++)
            sub_remove(sig, r->peers[i], p->tracks[t].producer_id);
    }
    /* Closing a leg closes what it published and what it consumed. */
    if (p->pub_open)
        sfu_media_leg_close(sig->media, r->room_id, p->pub_leg);
    if (p->sub_open)
        sfu_media_leg_close(sig->media, r->room_id, p->sub_leg);
    if (p->conn)
        p->conn->call_peer = NULL;
    room_send_all(r,
                  json_pack("{s:s,s:I,s:I,s:s,s:s}", "type", "participant_left", "roomId",
                            (json_int_t)r->room_id, "userId", (json_int_t)p->user_id, "username",
                            p->username, "reason", reason),
                  NULL);
    for (int i = 0; i < r->peer_count && !r->ending; i++)
        if (p->track_count)
            sub_renegotiate(sig, r->peers[i]);
    log_info("call", "room %lld: %s left the call (%s)", (long long)r->room_id, p->username,
             reason);
    int64_t now = now_unix_ms();
    if (r->call_id && store_call_leave(sig->store, r->call_id, p->user_id, now, reason))
        log_warn("call", "call %lld: the leave of user %lld was not recorded",
                 (long long)r->call_id, (long long)p->user_id);
    free(p->sub);
    free(p);
    if (r->peer_count == 0) {
        const char *how = r->ending           ? "ended_by_host"
                          : sig->lws_stopping ? "node_stopped"
                                              : "empty";
        if (r->call_id && store_call_end(sig->store, r->call_id, now, how))
            log_warn("call", "call %lld: its end was not recorded", (long long)r->call_id);
        call_room_t **pp = &sig->calls;
        while (*pp != r)
            pp = &(*pp)->next;
        *pp = r->next;
        free(r->peers);
        free(r);
    }
}

static json_t *ice_servers_json(signaling_t *sig)
{
    json_t *list = json_array();
    for (const char *u = sig->ice_servers; *u;) {
        size_t n = strcspn(u, ",");
        json_t *s = json_pack("{s:[s%]}", "urls", u, n);
        if (!strncmp(u, "turn", 4)) {
            json_object_set_new(s, "username", json_string(sig->turn_username));
            json_object_set_new(s, "credential", json_string(sig->turn_credential));
        }
        json_array_append_new(list, s);
        u += n + (u[n] == ',');
    }
    return list;
}

/* A socket takes back a place held since its previous socket dropped. The
 * media legs never stopped; the client gets the current subscribe offer. */
static void call_resume(ws_conn_t *c, call_peer_t *p, json_t *id)
{
    signaling_t *sig = c->sig;
    call_room_t *r = p->room;
    if (c->call_peer && c->call_peer != p) {
        ws_send_error(c, id, "already_in_call", "this socket is already in a call");
        return;
    }
    if (p->conn && p->conn != c)
        p->conn->call_peer = NULL; /* the old socket is still open: this one replaces it */
    p->conn = c;
    p->detached_ms = 0;
    c->call_peer = p;
    json_t *others = json_array();
    for (int i = 0; i < r->peer_count; i++)
        if (r->peers[i] != p)
            json_array_append_new(others, peer_json(r->peers[i]));
    json_t *ok = json_pack("{s:s,s:I,s:o,s:o,s:s,s:b}", "type", "call_joined", "roomId",
                           (json_int_t)r->room_id, "participants", others, "iceServers",
                           ice_servers_json(sig), "resumeToken", p->resume_token, "resumed", 1);
    if (id)
        json_object_set(ok, "id", id);
    ws_send(c, ok);
    json_decref(ok);
    /* An offer sent while detached was lost: offer the current state again. */
    p->sub_pending = false;
    sub_renegotiate(sig, p);
    log_info("call", "room %lld: %s resumed its place", (long long)r->room_id, p->username);
}

void ws_call_join(ws_conn_t *c, json_t *msg, json_t *id)
{
    signaling_t *sig = c->sig;
    json_t *rid = json_object_get(msg, "roomId");
    store_room_t room;
    char role[8];
    if (!sig->media) {
        ws_send_error(c, id, "unavailable", "this node runs no media workers");
        return;
    }
    if (!json_is_integer(rid) || store_room_get(sig->store, json_integer_value(rid), &room) ||
        room.ended_at_ms) {
        ws_send_error(c, id, "not_found", "no such room");
        return;
    }
    if (store_member_role(sig->store, room.id, c->user_id, role)) {
        ws_send_error(c, id, "forbidden", "join the room first");
        return;
    }
    if (c->call_peer) {
        ws_send_error(c, id, "already_in_call", "this socket is already in a call");
        return;
    }
    call_room_t *r = room_find(sig, room.id);
    json_t *resume = json_object_get(msg, "resumeToken");
    if (resume && !json_is_string(resume)) {
        ws_send_error(c, id, "invalid_field", "resumeToken must be a string");
        return;
    }
    if (resume) {
        call_peer_t *held = NULL;
        for (int i = 0; r && i < r->peer_count; i++) {
            if (r->peers[i]->user_id == c->user_id &&
                !strcmp(r->peers[i]->resume_token, json_string_value(resume)))
                held = r->peers[i];
        }
        if (!held) {
            ws_send_error(c, id, "resume_failed",
                          "that place in the call is gone; join again without resumeToken");
            return;
        }
        call_resume(c, held, id);
        return;
    }
    /* The same user joining again (a new tab, a reconnect) replaces the old place. */
    for (int i = 0; r && i < r->peer_count; i++) {
        if (r->peers[i]->user_id == c->user_id) {
            peer_remove(sig, r->peers[i], "replaced");
            r = room_find(sig, room.id); /* gone when that was the last one */
            break;
        }
    }
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return;
        r->room_id = room.id;
        r->worker = sfu_media_worker_of_room(sig->media, room.id);
        if (store_call_start(sig->store, room.id, now_unix_ms(), &r->call_id))
            log_warn("call", "room %lld: the call was not recorded", (long long)room.id);
        r->next = sig->calls;
        sig->calls = r;
    }
    if (r->peer_count == CALL_MAX_PEERS) {
        ws_send_error(c, id, "call_full", "the call has %d participants already", CALL_MAX_PEERS);
        return;
    }
    call_peer_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->room = r;
    p->conn = c;
    p->user_id = c->user_id;
    snprintf(p->username, sizeof p->username, "%s", c->username);
    p->joined_ms = now_unix_ms();
    p->pub_leg = ++sig->next_leg_id;
    p->sub_leg = ++sig->next_leg_id;
    random_token(p->pub_ufrag, 4);
    random_token(p->pub_pwd, 16);
    random_token(p->sub_ufrag, 4);
    random_token(p->sub_pwd, 16);
    random_token(p->resume_token, 18);
    json_t *others = json_array();
    for (int i = 0; i < r->peer_count; i++)
        json_array_append_new(others, peer_json(r->peers[i]));
    if (r->peer_count == r->peer_cap) {
        int cap = r->peer_cap ? r->peer_cap * 2 : 8;
        call_peer_t **grown = realloc(r->peers, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(p);
            json_decref(others);
            ws_send_error(c, id, "internal", "out of memory");
            return;
        }
        r->peers = grown;
        r->peer_cap = cap;
    }
    r->peers[r->peer_count++] = p;
    c->call_peer = p;
    if (r->call_id && store_call_join(sig->store, r->call_id, p->user_id, p->joined_ms))
        log_warn("call", "call %lld: the join of user %lld was not recorded", (long long)r->call_id,
                 (long long)p->user_id);
    json_t *ok = json_pack("{s:s,s:I,s:o,s:o,s:s,s:b}", "type", "call_joined", "roomId",
                           (json_int_t)room.id, "participants", others, "iceServers",
                           ice_servers_json(sig), "resumeToken", p->resume_token, "resumed", 0);
    if (id)
        json_object_set(ok, "id", id);
    ws_send(c, ok);
    json_decref(ok);
    room_send_all(r,
                  json_pack("{s:s,s:I,s:o}", "type", "participant_joined", "roomId",
                            (json_int_t)room.id, "participant", peer_json(p)),
                  p);
    /* Everything already published comes to the newcomer. */
    for (int i = 0; i < r->peer_count; i++) {
        if (r->peers[i] == p)
            continue;
        for (int t = 0; t < r->peers[i]->track_count; t++)
            sub_add(sig, p, r->peers[i], &r->peers[i]->tracks[t]);
    }
    sub_renegotiate(sig, p);
    log_info("call", "room %lld: %s joined the call", (long long)room.id, p->username);
}

static const char *track_source(json_t *msg, const char *mid, rtc_media_kind_t kind)
{
    json_t *list = json_object_get(msg, "tracks"), *t;
    size_t i;
    json_array_foreach(list, i, t)
    {
        json_t *m = json_object_get(t, "mid"), *s = json_object_get(t, "source");
        if (json_is_string(m) && json_is_string(s) && !strcmp(json_string_value(m), mid)) {
            const char *v = json_string_value(s);
            if (!strcmp(v, "screen"))
                return "screen";
        }
    }
    return kind == RTC_MEDIA_AUDIO ? "mic" : "camera";
}

void ws_call_publish(ws_conn_t *c, json_t *msg, json_t *id)
{
    signaling_t *sig = c->sig;
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    json_t *sdp_in = json_object_get(msg, "sdp");
    static rtc_sdp_t offer;
    static char answer[SDP_MAX];
    char err[160];
    if (!json_is_string(sdp_in)) {
        ws_send_error(c, id, "invalid_field", "sdp must be a string");
        return;
    }
    if (rtc_sdp_parse(json_string_value(sdp_in), &offer, err, sizeof err)) {
        ws_send_error(c, id, "invalid_sdp", "%s", err);
        return;
    }
    call_room_t *r = p->room;
    rtc_sdp_local_t l;
    local_desc(sig, r, p->pub_ufrag, p->pub_pwd, 1, &l);
    int n = rtc_sdp_write_publish_answer(&offer, &l, answer, sizeof answer, err, sizeof err);
    if (n < 0) {
        ws_send_error(c, id, "invalid_sdp", "%s", n == -ENOSPC ? "answer too large" : err);
        return;
    }
    /* The tracks now published, against those before. */
    call_track_t now[PEER_MAX_TRACKS];
    int now_count = 0;
    for (int i = 0; i < offer.media_count && now_count < PEER_MAX_TRACKS; i++) {
        const rtc_sdp_media_t *m = &offer.media[i];
        const rtc_sdp_codec_t *codec = rtc_sdp_pick_codec(m);
        bool sends = !strcmp(m->direction, "sendrecv") || !strcmp(m->direction, "sendonly");
        if (!codec || !sends || !m->ssrc || m->port == 0)
            continue;
        call_track_t *t = &now[now_count++];
        memset(t, 0, sizeof *t);
        snprintf(t->mid, sizeof t->mid, "%s", m->mid);
        snprintf(t->source, sizeof t->source, "%s", track_source(msg, m->mid, m->kind));
        t->kind = m->kind;
        t->codec = *codec;
        t->ssrc = m->ssrc;
        t->ext = m->ext;
        snprintf(t->cname, sizeof t->cname, "%s", m->cname);
    }
    /* An SSRC is the room's: one already published (or sent) by anyone else
     * is refused, and nothing changes. */
    for (int j = 0; j < now_count; j++) {
        bool own = false;
        for (int i = 0; i < p->track_count; i++)
            own |= now[j].ssrc == p->tracks[i].ssrc;
        for (int k = 0; k < j; k++) {
            if (now[k].ssrc == now[j].ssrc) {
                ws_send_error(c, id, "invalid_sdp", "SSRC %u is in two media sections",
                              now[j].ssrc);
                return;
            }
        }
        if (!own && (room_ssrc_taken(r, now[j].ssrc) || now[j].ssrc == SFU_RTCP_SENDER_SSRC)) {
            ws_send_error(c, id, "ssrc_in_use", "SSRC %u is already in use in this call",
                          now[j].ssrc);
            return;
        }
    }
    if (!p->pub_open) {
        sfu_media_leg_open(sig->media, r->room_id, p->pub_leg, p->pub_ufrag, p->pub_pwd,
                           offer.fingerprint);
        p->pub_open = true;
    }
    for (int i = 0; i < p->track_count; i++) {
        bool kept = false;
        for (int j = 0; j < now_count; j++) {
            if (now[j].ssrc == p->tracks[i].ssrc) {
                kept = true;
                now[j].producer_id = p->tracks[i].producer_id;
            }
        }
        if (kept)
            continue;
        sfu_media_producer_remove(sig->media, r->room_id, p->pub_leg, p->tracks[i].producer_id);
        for (int k = 0; k < r->peer_count; k++)
            sub_remove(sig, r->peers[k], p->tracks[i].producer_id);
    }
    call_track_t added[PEER_MAX_TRACKS];
    int added_count = 0;
    for (int j = 0; j < now_count; j++) {
        if (now[j].producer_id)
            continue; /* published before */
        now[j].producer_id = ++sig->next_leg_id;
        sfu_producer_params_t pp = {.id = now[j].producer_id,
                                    .ssrc = now[j].ssrc,
                                    .video = now[j].kind == RTC_MEDIA_VIDEO,
                                    .pt = now[j].codec.pt,
                                    .clock_hz = now[j].codec.clock_hz,
                                    .ext = now[j].ext};
        sfu_media_producer_add(sig->media, r->room_id, p->pub_leg, &pp);
        added[added_count++] = now[j];
    }
    memcpy(p->tracks, now, sizeof now[0] * (size_t)now_count);
    p->track_count = now_count;

    json_t *reply = json_pack("{s:s,s:I,s:s}", "type", "call_publish_answer", "roomId",
                              (json_int_t)r->room_id, "sdp", answer);
    if (id)
        json_object_set(reply, "id", id);
    ws_send(c, reply);
    json_decref(reply);
    for (int k = 0; k < r->peer_count; k++) {
        call_peer_t *o = r->peers[k];
        if (o == p)
            continue;
        for (int a = 0; a < added_count; a++)
            sub_add(sig, o, p, &added[a]);
        sub_renegotiate(sig, o);
    }
    room_send_all(r,
                  json_pack("{s:s,s:I,s:o}", "type", "participant_updated", "roomId",
                            (json_int_t)r->room_id, "participant", peer_json(p)),
                  NULL);
}

void ws_call_subscribe_answer(ws_conn_t *c, json_t *msg, json_t *id)
{
    signaling_t *sig = c->sig;
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    json_t *sdp_in = json_object_get(msg, "sdp");
    static rtc_sdp_t answer;
    char err[160];
    if (!p->sub_pending) {
        ws_send_error(c, id, "no_offer", "there is no subscribe offer waiting for an answer");
        return;
    }
    json_t *version = json_object_get(msg, "version");
    if (version &&
        (!json_is_integer(version) || json_integer_value(version) != (json_int_t)p->sub_version)) {
        ws_send_error(c, id, "stale_answer",
                      "this answers offer version %lld; the pending one is %u",
                      json_is_integer(version) ? (long long)json_integer_value(version) : -1LL,
                      p->sub_version);
        return;
    }
    if (!json_is_string(sdp_in) ||
        rtc_sdp_parse(json_string_value(sdp_in), &answer, err, sizeof err)) {
        ws_send_error(c, id, "invalid_sdp", "%s",
                      json_is_string(sdp_in) ? err : "sdp must be a string");
        return;
    }
    p->sub_pending = false;
    int64_t room_id = p->room->room_id;
    if (!p->sub_open) {
        sfu_media_leg_open(sig->media, room_id, p->sub_leg, p->sub_ufrag, p->sub_pwd,
                           answer.fingerprint);
        p->sub_open = true;
        /* Consumers of tracks offered before the leg existed are attached now. */
        for (int i = 0; i < p->sub_count; i++) {
            if (p->sub[i].active)
                consumer_attach(sig, p, &p->sub[i]);
        }
    }
    rtp_ext_ids_t ext;
    rtc_sdp_answer_ext_ids(&answer, &ext);
    sfu_media_leg_set_ext_ids(sig->media, room_id, p->sub_leg, &ext);
    if (p->sub_dirty)
        sub_renegotiate(sig, p);
}

void ws_call_leave(ws_conn_t *c, json_t *msg, json_t *id)
{
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    int64_t room_id = p->room->room_id;
    peer_remove(c->sig, p, "left");
    json_t *o = json_pack("{s:s,s:I}", "type", "call_left", "roomId", (json_int_t)room_id);
    if (id)
        json_object_set(o, "id", id);
    ws_send(c, o);
    json_decref(o);
}

void ws_call_end(ws_conn_t *c, json_t *msg, json_t *id)
{
    call_peer_t *p = peer_of(c, msg, id);
    char role[8];
    if (!p)
        return;
    call_room_t *r = p->room;
    if (store_member_role(c->sig->store, r->room_id, c->user_id, role) || strcmp(role, "host")) {
        ws_send_error(c, id, "forbidden", "only the host can end the call");
        return;
    }
    ws_call_end_room(c->sig, r->room_id, c->user_id, c, id);
}

void ws_call_end_room(signaling_t *sig, int64_t room_id, int64_t by, const ws_conn_t *requester,
                      json_t *id)
{
    call_room_t *r = room_find(sig, room_id);
    if (!r)
        return;
    room_send_reply(r,
                    json_pack("{s:s,s:I,s:I}", "type", "call_ended", "roomId", (json_int_t)room_id,
                              "by", (json_int_t)by),
                    requester, id);
    r->ending = true;
    while ((r = room_find(sig, room_id)) && r->peer_count)
        peer_remove(sig, r->peers[r->peer_count - 1], "ended");
}

void ws_call_state(ws_conn_t *c, json_t *msg, json_t *id, const char *what, bool value)
{
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    if (!strcmp(what, "hand")) {
        p->hand_raised = value;
    } else {
        json_t *kind = json_object_get(msg, "kind");
        const char *k = json_is_string(kind) ? json_string_value(kind) : "";
        if (!strcmp(k, "audio"))
            p->audio_muted = value;
        else if (!strcmp(k, "video"))
            p->video_muted = value;
        else {
            ws_send_error(c, id, "invalid_field", "kind must be \"audio\" or \"video\"");
            return;
        }
    }
    room_send_reply(p->room,
                    json_pack("{s:s,s:I,s:o}", "type", "participant_updated", "roomId",
                              (json_int_t)p->room->room_id, "participant", peer_json(p)),
                    c, id);
}

void ws_call_socket_closed(ws_conn_t *c, bool left_on_purpose)
{
    call_peer_t *p = c->call_peer;
    if (!p)
        return;
    c->call_peer = NULL;
    p->conn = NULL;
    if (left_on_purpose || c->sig->lws_stopping) {
        peer_remove(c->sig, p, "left");
        return;
    }
    p->detached_ms = now_unix_ms();
    log_info("call", "room %lld: %s's socket dropped; its place is held %d s",
             (long long)p->room->room_id, p->username, CALL_RESUME_MS / 1000);
}

void ws_call_tick(signaling_t *sig)
{
    int64_t now = now_unix_ms();
    bool again = true;
    while (again) {
        again = false;
        for (call_room_t *r = sig->calls; r && !again; r = r->next) {
            for (int i = 0; i < r->peer_count; i++) {
                call_peer_t *p = r->peers[i];
                if (p->detached_ms && now - p->detached_ms >= CALL_RESUME_MS) {
                    peer_remove(sig, p, "disconnected");
                    again = true; /* the lists changed */
                    break;
                }
            }
        }
    }
}

void ws_call_leg_state(signaling_t *sig, uint64_t leg_id, bool connected, const char *reason)
{
    for (call_room_t *r = sig->calls; r; r = r->next) {
        for (int i = 0; i < r->peer_count; i++) {
            call_peer_t *p = r->peers[i];
            if (p->pub_leg != leg_id && p->sub_leg != leg_id)
                continue;
            if (connected) {
                log_debug("call", "room %lld: %s %s connected", (long long)r->room_id, p->username,
                          p->pub_leg == leg_id ? "publish" : "subscribe");
                return;
            }
            if (p->conn)
                ws_send_error(p->conn, NULL, "media_failed", "%s", reason ? reason : "closed");
            peer_remove(sig, p, "connection lost");
            return;
        }
    }
}

void ws_call_close_all(signaling_t *sig)
{
    while (sig->calls) {
        call_room_t *r = sig->calls;
        while (room_find(sig, r->room_id) == r && r->peer_count)
            peer_remove(sig, r->peers[0], "node stopping");
    }
}

void ws_call_candidate(ws_conn_t *c, json_t *msg, json_t *id)
{
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    json_t *cand = json_object_get(msg, "candidate");
    if (!cand || (!json_is_null(cand) && !json_is_string(cand)) ||
        (json_is_string(cand) && json_string_length(cand) > 1024)) {
        ws_send_error(c, id, "invalid_field",
                      "candidate must be an a=candidate string (at most 1024 characters) or null");
        return;
    }
    /* ICE-lite: the client's addresses are learned from its connectivity
     * checks, so a trickled candidate needs no action; it is acknowledged. */
    if (id) {
        json_t *ok = json_pack("{s:s,s:I,s:O}", "type", "call_candidate_ack", "roomId",
                               (json_int_t)p->room->room_id, "id", id);
        ws_send(c, ok);
        json_decref(ok);
    }
}
