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
#include "sfu/call.h"
#include "signaling/api.h"
#include "signaling/turn_rest.h"
#include "signaling/ws_call.h"
#include "signaling/ws_direct.h"
#include "signaling/ws_internal.h"

#define SDP_MAX        16384
#define CALL_RESUME_MS 15000

/* The session side of a participant: its socket and what the client said
 * about itself. The media side is its sfu_participant_t (sfu/call.h). */
struct call_peer {
    call_room_t *room;
    sfu_participant_t *part;
    ws_conn_t *conn;
    char resume_token[40];
    int64_t detached_ms; /* when its socket dropped; 0 while attached */
    bool audio_muted, video_muted, hand_raised;
    void *ingest;      /* a WHIP session (api_whip.c) instead of a socket; NULL otherwise */
    bool datachannels; /* its publish leg terminates data channels */
};

struct call_room {
    int64_t room_id;
    int64_t call_id; /* its record in the store; 0 when it could not be written */
    sfu_call_t *call;
    bool levels_heard;       /* the last audio_levels named someone */
    int64_t speaker_user_id; /* the last active_speaker; 0: nobody yet */
    struct call_room *next;
};

static call_peer_t *peer_at(const call_room_t *r, int i)
{
    return sfu_participant_owner(sfu_call_participant(r->call, i));
}

static int peer_count(const call_room_t *r)
{
    return sfu_call_participant_count(r->call);
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
    for (int i = 0; i < peer_count(r); i++) {
        call_peer_t *p = peer_at(r, i);
        if (p != except && p->conn)
            ws_send(p->conn, obj);
    }
    json_decref(obj);
}

/* As room_send_all; the requester's copy carries its request id, as its reply. */
static void room_send_reply(call_room_t *r, json_t *obj, const ws_conn_t *requester, json_t *id)
{
    for (int i = 0; i < peer_count(r); i++) {
        ws_conn_t *c = peer_at(r, i)->conn;
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
    int n;
    const sfu_call_track_t *tracks = sfu_participant_tracks(p->part, &n);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:s}", "kind",
                                        tracks[i].kind == RTC_MEDIA_AUDIO ? "audio" : "video",
                                        "source", tracks[i].source, "streamId",
                                        strcmp(tracks[i].source, "screen") ? "camera" : "screen"));
    json_t *o = json_pack(
        "{s:I,s:s,s:o,s:b,s:b,s:b}", "userId", (json_int_t)sfu_participant_user_id(p->part),
        "username", sfu_participant_username(p->part), "tracks", list, "audioMuted", p->audio_muted,
        "videoMuted", p->video_muted, "handRaised", p->hand_raised);
    if (p->ingest)
        json_object_set_new(o, "ingest", json_true());
    return o;
}

/* ---- from the call (sfu/call.h) ---- */

static void on_subscribe_offer(void *ctx, sfu_participant_t *part, const char *sdp,
                               unsigned version)
{
    call_peer_t *p = sfu_participant_owner(part);
    (void)ctx;
    if (!p->conn)
        return; /* offered again when a socket resumes the place */
    json_t *o = json_pack("{s:s,s:I,s:s,s:i}", "type", "call_subscribe_offer", "roomId",
                          (json_int_t)p->room->room_id, "sdp", sdp, "version", version);
    ws_send(p->conn, o);
    json_decref(o);
}

static void on_call_error(void *ctx, sfu_participant_t *part, const char *code, const char *message)
{
    call_peer_t *p = sfu_participant_owner(part);
    (void)ctx;
    if (p->conn)
        ws_send_error(p->conn, NULL, code, "%s", message);
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

/* The call is over once nobody is left in it. */
static void room_close_if_empty(signaling_t *sig, call_room_t *r)
{
    if (peer_count(r) > 0)
        return;
    const char *how = sfu_call_ending(r->call) ? "ended_by_host"
                      : sig->lws_stopping      ? "node_stopped"
                                               : "empty";
    if (r->call_id && store_call_end(sig->store, r->call_id, now_unix_ms(), how))
        log_warn("call", "call %lld: its end was not recorded", (long long)r->call_id);
    call_room_t **pp = &sig->calls;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    sfu_call_free(r->call);
    free(r);
}

/* Everything a participant had goes; everyone else is told and renegotiated. */
static void peer_remove(signaling_t *sig, call_peer_t *p, const char *reason)
{
    call_room_t *r = p->room;
    int64_t room_id = r->room_id;
    int64_t user_id = sfu_participant_user_id(p->part);
    char username[64];
    snprintf(username, sizeof username, "%s", sfu_participant_username(p->part));
    if (p->conn)
        p->conn->call_peer = NULL;
    if (p->ingest)
        api_whip_session_gone(sig, p->ingest, reason);
    sfu_call_remove(p->part);
    free(p);
    room_send_all(r,
                  json_pack("{s:s,s:I,s:I,s:s,s:s}", "type", "participant_left", "roomId",
                            (json_int_t)r->room_id, "userId", (json_int_t)user_id, "username",
                            username, "reason", reason),
                  NULL);
    log_info("call", "room %lld: %s left the call (%s)", (long long)r->room_id, username, reason);
    int64_t now = now_unix_ms();
    if (r->call_id && user_id > 0 && store_call_leave(sig->store, r->call_id, user_id, now, reason))
        log_warn("call", "call %lld: the leave of user %lld was not recorded",
                 (long long)r->call_id, (long long)user_id);
    room_close_if_empty(sig, r);
    api_whep_room_changed(sig, room_id);
    /* Last: in a direct call's room this may end the call (and r) for everyone. */
    ws_direct_participant_left(sig, room_id, user_id, reason);
}

/* TURN URLs carry the static credentials, or with --turn-secret ones made
 * for this user that expire in a day (TURN REST, coturn use-auth-secret). */
static json_t *ice_servers_json(signaling_t *sig, int64_t user_id)
{
    char username[64], credential[64];
    const char *turn_user = sig->turn_username, *turn_cred = sig->turn_credential;
    if (sig->turn_secret[0] &&
        turn_rest_credentials(sig->turn_secret, user_id, now_unix_ms() / 1000 + TURN_REST_TTL_S,
                              username, sizeof username, credential, sizeof credential) == 0) {
        turn_user = username;
        turn_cred = credential;
    }
    json_t *list = json_array();
    for (const char *u = sig->ice_servers; *u;) {
        size_t n = strcspn(u, ",");
        json_t *s = json_pack("{s:[s%]}", "urls", u, n);
        if (!strncmp(u, "turn", 4)) {
            json_object_set_new(s, "username", json_string(turn_user));
            json_object_set_new(s, "credential", json_string(turn_cred));
        }
        json_array_append_new(list, s);
        u += n + (u[n] == ',');
    }
    return list;
}

/* A socket takes back a place held since its previous socket dropped. The
 * media legs never stopped; the client gets the current subscribe offer. */
static json_t *others_json(const call_room_t *r, const call_peer_t *except)
{
    json_t *others = json_array();
    for (int i = 0; i < peer_count(r); i++)
        if (peer_at(r, i) != except)
            json_array_append_new(others, peer_json(peer_at(r, i)));
    return others;
}

static void send_joined(ws_conn_t *c, call_peer_t *p, json_t *others, bool resumed, json_t *id)
{
    int64_t speaker = p->room->speaker_user_id;
    json_t *ok = json_pack("{s:s,s:I,s:o,s:o,s:s,s:b,s:o}", "type", "call_joined", "roomId",
                           (json_int_t)p->room->room_id, "participants", others, "iceServers",
                           ice_servers_json(c->sig, c->user_id), "resumeToken", p->resume_token,
                           "resumed", resumed, "activeSpeaker",
                           speaker ? json_integer((json_int_t)speaker) : json_null());
    if (id)
        json_object_set(ok, "id", id);
    ws_send(c, ok);
    json_decref(ok);
}

/* A socket takes back a place held since its previous socket dropped. The
 * media legs never stopped; the client gets the current subscribe offer. */
static void call_resume(ws_conn_t *c, call_peer_t *p, json_t *id)
{
    if (c->call_peer && c->call_peer != p) {
        ws_send_error(c, id, "already_in_call", "this socket is already in a call");
        return;
    }
    if (p->conn && p->conn != c)
        p->conn->call_peer = NULL; /* the old socket is still open: this one replaces it */
    p->conn = c;
    p->detached_ms = 0;
    c->call_peer = p;
    send_joined(c, p, others_json(p->room, p), true, id);
    /* An offer sent while detached was lost: offer the current state again. */
    sfu_participant_offer(p->part, true);
    log_info("call", "room %lld: %s resumed its place", (long long)p->room->room_id,
             sfu_participant_username(p->part));
}

static call_room_t *room_open(signaling_t *sig, int64_t room_id)
{
    call_room_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    sfu_call_env_t env = {
        .media = sig->media,
        .announce_ip = sig->announce_ip,
        .rtc_port = sig->rtc_port,
        .rtc_tcp_port = sig->rtc_tcp_port,
        .next_id = &sig->next_leg_id,
        .listener = {.on_subscribe_offer = on_subscribe_offer, .on_error = on_call_error},
        .ctx = sig};
    r->room_id = room_id;
    r->call = sfu_call_new(&env, room_id);
    if (!r->call) {
        free(r);
        return NULL;
    }
    /* A direct call's room: its media call is recorded as the direct call. */
    if (!(r->call_id = ws_direct_record_for_room(sig, room_id)) &&
        store_call_start(sig->store, room_id, now_unix_ms(), &r->call_id))
        log_warn("call", "room %lld: the call was not recorded", (long long)room_id);
    r->next = sig->calls;
    sig->calls = r;
    return r;
}

void ws_call_join(ws_conn_t *c, json_t *msg, json_t *id)
{
    signaling_t *sig = c->sig;
    json_t *rid = json_object_get(msg, "roomId");
    store_room_t room;
    char role[8];
    if (!ws_account_live(c))
        return;
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
    if (room.is_direct && !ws_direct_room_answered(sig, room.id)) {
        ws_send_error(c, id, "not_answered", "this direct call has not been answered");
        return;
    }
    call_room_t *r = room_find(sig, room.id);
    json_t *resume = json_object_get(msg, "resumeToken");
    if (resume && !json_is_string(resume)) {
        ws_send_error(c, id, "invalid_field", "resumeToken must be a string");
        return;
    }
    if (resume) {
        sfu_participant_t *held = r ? sfu_call_find_user(r->call, c->user_id) : NULL;
        call_peer_t *hp = held ? sfu_participant_owner(held) : NULL;
        if (!hp || strcmp(hp->resume_token, json_string_value(resume))) {
            ws_send_error(c, id, "resume_failed",
                          "that place in the call is gone; join again without resumeToken");
            return;
        }
        call_resume(c, hp, id);
        return;
    }
    /* The same user joining again (a new tab, a reconnect) replaces the old place. */
    sfu_participant_t *old = r ? sfu_call_find_user(r->call, c->user_id) : NULL;
    if (old) {
        peer_remove(sig, sfu_participant_owner(old), "replaced");
        r = room_find(sig, room.id); /* gone when that was the last one */
    }
    if (!r && !(r = room_open(sig, room.id))) {
        ws_send_error(c, id, "internal", "out of memory");
        return;
    }
    call_peer_t *p = calloc(1, sizeof *p);
    if (!p) {
        ws_send_error(c, id, "internal", "out of memory");
        return;
    }
    json_t *others = others_json(r, NULL);
    int rc = sfu_call_add(r->call, c->user_id, c->username, p, &p->part);
    if (rc) {
        free(p);
        json_decref(others);
        if (rc == -ENOSPC)
            ws_send_error(c, id, "call_full", "the call has %d participants already",
                          SFU_CALL_MAX_PARTICIPANTS);
        else
            ws_send_error(c, id, "internal", "out of memory");
        return;
    }
    p->room = r;
    p->conn = c;
    random_hex(p->resume_token, 18);
    c->call_peer = p;
    if (r->call_id &&
        store_call_join(sig->store, r->call_id, c->user_id, sfu_participant_joined_ms(p->part)))
        log_warn("call", "call %lld: the join of user %lld was not recorded", (long long)r->call_id,
                 (long long)c->user_id);
    send_joined(c, p, others, false, id);
    room_send_all(r,
                  json_pack("{s:s,s:I,s:o}", "type", "participant_joined", "roomId",
                            (json_int_t)room.id, "participant", peer_json(p)),
                  p);
    sfu_participant_offer(p->part, false);
    log_info("call", "room %lld: %s joined the call", (long long)room.id, c->username);
}

/* The source the client gave a section in the message's tracks list. */
static const char *track_source(void *ctx, const char *mid)
{
    json_t *list = json_object_get(ctx, "tracks"), *t;
    size_t i;
    json_array_foreach(list, i, t)
    {
        json_t *m = json_object_get(t, "mid"), *s = json_object_get(t, "source");
        if (json_is_string(m) && json_is_string(s) && !strcmp(json_string_value(m), mid))
            return json_string_value(s);
    }
    return NULL;
}

void ws_call_publish(ws_conn_t *c, json_t *msg, json_t *id)
{
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
    sfu_call_error_t why;
    if (sfu_participant_publish(p->part, &offer, track_source, msg, answer, sizeof answer, &why)) {
        ws_send_error(c, id, why.code, "%s", why.message);
        return;
    }
    /* The top layer's height, when the client gave it (for call_set_layers). */
    json_t *list = json_object_get(msg, "tracks"), *t;
    size_t i;
    json_array_foreach(list, i, t)
    {
        json_t *mid = json_object_get(t, "mid"), *h = json_object_get(t, "height");
        if (json_is_string(mid) && json_is_integer(h))
            sfu_participant_set_track_height(p->part, json_string_value(mid),
                                             (int)json_integer_value(h));
    }
    call_room_t *r = p->room;
    if (!p->datachannels && rtc_sdp_datachannel_index(&offer) >= 0) {
        p->datachannels = true;
        sfu_media_leg_datachannel(c->sig->media, r->room_id, sfu_participant_publish_leg(p->part),
                                  c->user_id);
    }
    json_t *reply = json_pack("{s:s,s:I,s:s}", "type", "call_publish_answer", "roomId",
                              (json_int_t)r->room_id, "sdp", answer);
    if (id)
        json_object_set(reply, "id", id);
    ws_send(c, reply);
    json_decref(reply);
    room_send_all(r,
                  json_pack("{s:s,s:I,s:o}", "type", "participant_updated", "roomId",
                            (json_int_t)r->room_id, "participant", peer_json(p)),
                  NULL);
    api_whep_room_changed(c->sig, r->room_id);
}

/* An optional integer field in [lo, hi]: 1 present, 0 absent, -1 invalid. */
static int int_field(json_t *o, const char *key, long long lo, long long hi, long long *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = json_integer_value(v);
    return 1;
}

#define SET_LAYERS_MAX_TRACKS 64

void ws_call_set_layers(ws_conn_t *c, json_t *msg, json_t *id)
{
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    json_t *list = json_object_get(msg, "tracks"), *t;
    if (!json_is_array(list) || json_array_size(list) > SET_LAYERS_MAX_TRACKS) {
        ws_send_error(c, id, "invalid_field", "tracks must be an array of at most %d entries",
                      SET_LAYERS_MAX_TRACKS);
        return;
    }
    /* Every entry is checked before any is applied. */
    size_t i;
    json_array_foreach(list, i, t)
    {
        long long v;
        json_t *paused = json_object_get(t, "paused");
        if (!json_is_object(t) || int_field(t, "producerId", 1, INT64_MAX, &v) != 1 ||
            int_field(t, "maxLayer", 0, 2, &v) < 0 || int_field(t, "height", 1, 8192, &v) < 0 ||
            (paused && !json_is_boolean(paused))) {
            ws_send_error(c, id, "invalid_field",
                          "tracks[%zu]: needs producerId (integer) and optionally maxLayer "
                          "(0-2), height (1-8192), paused (boolean)",
                          i);
            return;
        }
    }
    int missing = 0;
    long long first_missing = 0;
    json_array_foreach(list, i, t)
    {
        long long producer = 0, max_layer = -1, height = 0;
        int_field(t, "producerId", 1, INT64_MAX, &producer);
        int_field(t, "maxLayer", 0, 2, &max_layer);
        int_field(t, "height", 1, 8192, &height);
        json_t *paused = json_object_get(t, "paused");
        sfu_call_error_t why;
        if (sfu_participant_set_layers(p->part, (uint64_t)producer,
                                       paused ? json_is_true(paused) : -1, (int)max_layer,
                                       (int)height, &why) &&
            !missing++)
            first_missing = producer;
    }
    if (missing) {
        ws_send_error(c, id, "not_found",
                      "%d of the tracks (producer %lld first) are not received in this call; "
                      "the others were set",
                      missing, first_missing);
        return;
    }
    if (id) {
        json_t *reply = json_pack("{s:s,s:I,s:O}", "type", "call_layers_set", "roomId",
                                  (json_int_t)p->room->room_id, "id", id);
        ws_send(c, reply);
        json_decref(reply);
    }
}

void ws_call_subscribe_answer(ws_conn_t *c, json_t *msg, json_t *id)
{
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    json_t *sdp_in = json_object_get(msg, "sdp");
    json_t *version = json_object_get(msg, "version");
    static rtc_sdp_t answer;
    char err[160];
    sfu_call_error_t why;
    long long v = -1;
    if (version) {
        /* Any non-integer (or negative) version never matches the pending one. */
        v = json_is_integer(version) && json_integer_value(version) >= 0
                ? (long long)json_integer_value(version)
                : -2;
    }
    if (sfu_participant_answer_expected(p->part, v, &why)) {
        ws_send_error(c, id, why.code, "%s", why.message);
        return;
    }
    if (!json_is_string(sdp_in) ||
        rtc_sdp_parse(json_string_value(sdp_in), &answer, err, sizeof err)) {
        ws_send_error(c, id, "invalid_sdp", "%s",
                      json_is_string(sdp_in) ? err : "sdp must be a string");
        return;
    }
    if (sfu_participant_subscribe_answer(p->part, &answer, v, &why))
        ws_send_error(c, id, why.code, "%s", why.message);
}

/* The client's subscribe transport lost its path: new ICE credentials and a
 * new offer; everything it receives stays. */
void ws_call_restart_ice(ws_conn_t *c, json_t *msg, json_t *id)
{
    call_peer_t *p = peer_of(c, msg, id);
    if (!p)
        return;
    json_t *o = json_pack("{s:s,s:I}", "type", "call_ice_restarted", "roomId",
                          (json_int_t)p->room->room_id);
    if (id)
        json_object_set(o, "id", id);
    ws_send(c, o);
    json_decref(o);
    sfu_participant_restart_ice(p->part);
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
    sfu_call_set_ending(r->call);
    while ((r = room_find(sig, room_id)) && peer_count(r))
        peer_remove(sig, peer_at(r, peer_count(r) - 1), "ended");
}

void ws_call_remove_user(signaling_t *sig, int64_t room_id, int64_t user_id, const char *reason)
{
    call_room_t *r = room_find(sig, room_id);
    sfu_participant_t *part = r ? sfu_call_find_user(r->call, user_id) : NULL;
    if (!part)
        return;
    call_peer_t *p = sfu_participant_owner(part);
    ws_conn_t *c = p->conn;
    peer_remove(sig, p, reason);
    if (c) {
        json_t *o = json_pack("{s:s,s:I,s:s}", "type", "call_left", "roomId", (json_int_t)room_id,
                              "reason", reason);
        ws_send(c, o);
        json_decref(o);
    }
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
             (long long)p->room->room_id, sfu_participant_username(p->part), CALL_RESUME_MS / 1000);
}

void ws_call_tick(signaling_t *sig)
{
    int64_t now = now_unix_ms();
    bool again = true;
    while (again) {
        again = false;
        for (call_room_t *r = sig->calls; r && !again; r = r->next) {
            for (int i = 0; i < peer_count(r); i++) {
                call_peer_t *p = peer_at(r, i);
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
        sfu_participant_t *part = sfu_call_find_leg(r->call, leg_id);
        if (!part)
            continue;
        call_peer_t *p = sfu_participant_owner(part);
        if (connected) {
            log_debug("call", "room %lld: %s %s connected", (long long)r->room_id,
                      sfu_participant_username(part),
                      sfu_participant_leg_kind(part, leg_id) == 1 ? "publish" : "subscribe");
            return;
        }
        /* A clean DTLS close is the client hanging up (a closed tab, pc.close()). */
        if (sfu_media_reason_is_hangup(reason)) {
            log_info("call", "room %lld: %s closed its media: left", (long long)r->room_id,
                     sfu_participant_username(part));
            ws_conn_t *c = p->conn;
            peer_remove(sig, p, "left");
            if (c) {
                json_t *o = json_pack("{s:s,s:I,s:s}", "type", "call_left", "roomId",
                                      (json_int_t)r->room_id, "reason", "media_closed");
                ws_send(c, o);
                json_decref(o);
            }
            return;
        }
        if (p->conn)
            ws_send_error(p->conn, NULL, "media_failed", "%s", reason ? reason : "closed");
        peer_remove(sig, p, "connection lost");
        return;
    }
}

void ws_call_speaker(signaling_t *sig, int64_t room_id, uint64_t active_producer_id, bool changed,
                     int n, const uint64_t *producer_ids, const uint8_t *loudness)
{
    call_room_t *r = room_find(sig, room_id);
    if (!r)
        return;
    sfu_participant_t *speaker =
        active_producer_id ? sfu_call_find_producer(r->call, active_producer_id) : NULL;
    if (changed && speaker)
        r->speaker_user_id = sfu_participant_user_id(speaker);
    if (changed && speaker) {
        room_send_all(r,
                      json_pack("{s:s,s:I,s:I}", "type", "active_speaker", "roomId",
                                (json_int_t)room_id, "userId",
                                (json_int_t)sfu_participant_user_id(speaker)),
                      NULL);
        api_whep_room_changed(sig, room_id);
    }
    /* Levels for a talking indicator: those heard, while anyone is (and
     * once more, empty, when the last one falls silent). */
    json_t *levels = json_array();
    for (int i = 0; i < n; i++) {
        sfu_participant_t *p = sfu_call_find_producer(r->call, producer_ids[i]);
        if (p && loudness[i] >= SFU_SPEAKER_MIN_LOUDNESS)
            json_array_append_new(levels, json_pack("{s:I,s:f}", "userId",
                                                    (json_int_t)sfu_participant_user_id(p), "level",
                                                    (double)(loudness[i] * 100 / 127) / 100.0));
    }
    bool heard = json_array_size(levels) > 0;
    if (!heard && !r->levels_heard) {
        json_decref(levels);
        return;
    }
    r->levels_heard = heard;
    room_send_all(r,
                  json_pack("{s:s,s:I,s:o}", "type", "audio_levels", "roomId", (json_int_t)room_id,
                            "levels", levels),
                  NULL);
}

void ws_call_close_all(signaling_t *sig)
{
    while (sig->calls) {
        call_room_t *r = sig->calls;
        int64_t room_id = r->room_id;
        while ((r = room_find(sig, room_id)) && peer_count(r))
            peer_remove(sig, peer_at(r, 0), "node stopping");
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

int ws_call_ingest_open(signaling_t *sig, int64_t room_id, int64_t user_id, const char *name,
                        void *ingest, const rtc_sdp_t *offer, char *answer, size_t answer_cap,
                        sfu_call_error_t *err, call_peer_t **out)
{
    call_room_t *r = room_find(sig, room_id);
    bool opened = !r;
    if (!r && !(r = room_open(sig, room_id))) {
        *err = (sfu_call_error_t){.code = "internal", .message = "out of memory"};
        return -1;
    }
    call_peer_t *p = calloc(1, sizeof *p);
    int rc = p ? sfu_call_add(r->call, user_id, name, p, &p->part) : -ENOMEM;
    if (rc) {
        free(p);
        *err = (sfu_call_error_t){.code = rc == -ENOSPC ? "call_full" : "internal"};
        snprintf(err->message, sizeof err->message, "%s",
                 rc == -ENOSPC ? "the call is full" : "out of memory");
        if (opened)
            room_close_if_empty(sig, r);
        return -1;
    }
    p->room = r;
    sfu_participant_set_publish_only(p->part);
    if (sfu_participant_publish(p->part, offer, NULL, NULL, answer, answer_cap, err)) {
        peer_remove(sig, p, "refused"); /* no ingest yet: nobody else is told twice */
        return -1;
    }
    p->ingest = ingest;
    room_send_all(r,
                  json_pack("{s:s,s:I,s:o}", "type", "participant_joined", "roomId",
                            (json_int_t)room_id, "participant", peer_json(p)),
                  p);
    log_info("call", "room %lld: ingest %s joined the call", (long long)room_id, name);
    api_whep_room_changed(sig, room_id);
    *out = p;
    return 0;
}

void ws_call_ingest_close(signaling_t *sig, call_peer_t *p, const char *reason)
{
    p->ingest = NULL; /* the session is going already */
    peer_remove(sig, p, reason);
}

sfu_call_t *ws_call_of_room(signaling_t *sig, int64_t room_id)
{
    call_room_t *r = room_find(sig, room_id);
    return r ? r->call : NULL;
}

int64_t ws_call_active_speaker(signaling_t *sig, int64_t room_id)
{
    call_room_t *r = room_find(sig, room_id);
    return r ? r->speaker_user_id : 0;
}
