/* signaling/ws_direct.c: direct calls. A call rings every socket of its
 * callee until one answers, the caller cancels, or the ring timeout passes;
 * every outcome goes to every socket of both sides. Each call has, from its
 * first ring, a call record and a private two-person room (store); once
 * accepted, both sides join that room's call with call_join, as for any
 * room. The calls in progress are kept here, in a short list: a node has
 * few ringing at once and each is looked at a few times in its life. */
#include "signaling/ws_direct.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/ws.h"
#include "signaling/ws_call.h"
#include "signaling/ws_internal.h"
#include "store/room_code.h"

#define DIRECT_CODE_ATTEMPTS 8
#define DIRECT_MISSED_LIST   50 /* missed calls listed at sign-in */

typedef enum { DIRECT_RINGING, DIRECT_ACCEPTED } direct_state_t;

struct direct_call {
    int64_t call_id; /* its record in the store */
    int64_t room_id; /* its private room */
    int64_t caller_id, callee_id;
    char caller_name[64], callee_name[64];
    bool video;
    direct_state_t state;
    ws_conn_t *caller_conn; /* the socket that rang; NULL once it closed */
    ws_conn_t *answer_conn; /* the callee's socket that answered */
    int64_t deadline_ms;    /* ringing: missed then; accepted: ended then unless media started */
    int64_t answered_ms;
    bool media_started; /* the room's call started */
    struct direct_call *next;
};

static int64_t ring_timeout_ms(const signaling_t *sig)
{
    return (int64_t)(sig->ring_timeout_s > 0 ? sig->ring_timeout_s : DIRECT_RING_TIMEOUT_S) * 1000;
}

static direct_call_t *find_call(signaling_t *sig, int64_t call_id)
{
    for (direct_call_t *d = sig->direct_calls; d; d = d->next)
        if (d->call_id == call_id)
            return d;
    return NULL;
}

static direct_call_t *find_room(signaling_t *sig, int64_t room_id)
{
    for (direct_call_t *d = sig->direct_calls; d; d = d->next)
        if (d->room_id == room_id)
            return d;
    return NULL;
}

static void unlink_call(signaling_t *sig, direct_call_t *dc)
{
    for (direct_call_t **pp = &sig->direct_calls; *pp; pp = &(*pp)->next) {
        if (*pp == dc) {
            *pp = dc->next;
            return;
        }
    }
}

static const char *media_name(bool video)
{
    return video ? "video" : "audio";
}

static json_t *user_json(int64_t user_id, const char *username)
{
    return json_pack("{s:I,s:s}", "userId", (json_int_t)user_id, "username", username);
}

/* The other side, as seen by user_id. */
static json_t *peer_json(const direct_call_t *dc, int64_t user_id)
{
    return user_id == dc->caller_id ? user_json(dc->callee_id, dc->callee_name)
                                    : user_json(dc->caller_id, dc->caller_name);
}

/* obj (not stolen) with callId, peer and direction as user_id sees them, to
 * each of user_id's sockets; the requester's copy carries its request id.
 * With home set (call_accepted), each copy says whether it went to the
 * socket taking part ("elsewhere": false) or to another device. */
static void send_side(signaling_t *sig, const direct_call_t *dc, int64_t user_id, json_t *obj,
                      const ws_conn_t *requester, json_t *id, const ws_conn_t *home)
{
    const idmap_set_t *set = idmap_get(&sig->hub->user_socks, user_id);
    for (size_t i = 0; set && i < set->len; i++) {
        ws_conn_t *s = set->items[i];
        json_t *copy = json_copy(obj);
        json_object_set_new(copy, "callId", json_integer((json_int_t)dc->call_id));
        json_object_set_new(copy, "direction",
                            json_string(user_id == dc->caller_id ? "outgoing" : "incoming"));
        json_object_set_new(copy, "peer", peer_json(dc, user_id));
        json_object_set_new(copy, "media", json_string(media_name(dc->video)));
        if (home)
            json_object_set_new(copy, "elsewhere", json_boolean(s != home));
        if (s == requester && id)
            json_object_set(copy, "id", id);
        ws_send(s, copy);
        json_decref(copy);
    }
}

/* obj (stolen) to both sides. */
static void send_both(signaling_t *sig, const direct_call_t *dc, json_t *obj,
                      const ws_conn_t *requester, json_t *id)
{
    send_side(sig, dc, dc->caller_id, obj, requester, id, NULL);
    send_side(sig, dc, dc->callee_id, obj, requester, id, NULL);
    json_decref(obj);
}

/* Where a push notification to the callee's devices would go: no push
 * service is configured (docs/PUSH.md says how one would hook in here). */
static void push_ring(signaling_t *sig, const direct_call_t *dc)
{
    (void)sig;
    log_info("direct", "call %lld: %s has no open socket; it rings nowhere until one opens",
             (long long)dc->call_id, dc->callee_name);
}

static const char *outcome_type(const char *status)
{
    if (!strcmp(status, "declined"))
        return "call_declined";
    if (!strcmp(status, "cancelled"))
        return "call_cancelled";
    if (!strcmp(status, "missed"))
        return "call_missed";
    if (!strcmp(status, "busy"))
        return "call_busy";
    return "call_hangup";
}

/* The call is over with status: recorded, both sides told, forgotten; an
 * answered call's room call ends with it. by: the user who ended it, 0 for
 * the node (a timeout). */
static void direct_finish(signaling_t *sig, direct_call_t *dc, const char *status, int64_t by,
                          const ws_conn_t *requester, json_t *id)
{
    int64_t now = now_unix_ms();
    unlink_call(sig, dc); /* first: ending the room's call below calls back here */
    if (store_direct_call_finish(sig->store, dc->call_id, status, now))
        log_warn("direct", "call %lld: its end (%s) was not recorded", (long long)dc->call_id,
                 status);
    json_t *o = json_pack("{s:s,s:s}", "type", outcome_type(status), "status", status);
    if (by)
        json_object_set_new(o, "by", json_integer((json_int_t)by));
    if (dc->answered_ms)
        json_object_set_new(o, "durationMs", json_integer((json_int_t)(now - dc->answered_ms)));
    send_both(sig, dc, o, requester, id);
    log_info("direct", "call %lld: %s -> %s: %s", (long long)dc->call_id, dc->caller_name,
             dc->callee_name, status);
    if (dc->state == DIRECT_ACCEPTED)
        ws_call_end_room(sig, dc->room_id, by, NULL, NULL);
    free(dc);
}

/* ---- who is free ---- */

static bool user_in_direct_call(signaling_t *sig, int64_t user_id)
{
    for (direct_call_t *d = sig->direct_calls; d; d = d->next)
        if (d->caller_id == user_id || d->callee_id == user_id)
            return true;
    return false;
}

/* In a room's call on one of their sockets, or part of a direct call. */
static bool user_busy(signaling_t *sig, int64_t user_id)
{
    const idmap_set_t *set = idmap_get(&sig->hub->user_socks, user_id);
    for (size_t i = 0; set && i < set->len; i++)
        if (((ws_conn_t *)set->items[i])->call_peer)
            return true;
    return user_in_direct_call(sig, user_id);
}

static bool user_allows_waiting(signaling_t *sig, int64_t user_id)
{
    const idmap_set_t *set = idmap_get(&sig->hub->user_socks, user_id);
    for (size_t i = 0; set && i < set->len; i++)
        if (((ws_conn_t *)set->items[i])->call_waiting)
            return true;
    return false;
}

/* ---- messages ---- */

static json_t *ringing_json(const direct_call_t *dc, bool waiting)
{
    int64_t left_ms = dc->deadline_ms - now_unix_ms();
    return json_pack("{s:s,s:I,s:o,s:s,s:b,s:I}", "type", "call_ringing", "callId",
                     (json_int_t)dc->call_id, "caller", user_json(dc->caller_id, dc->caller_name),
                     "media", media_name(dc->video), "waiting", waiting, "expiresInMs",
                     (json_int_t)(left_ms > 0 ? left_ms : 0));
}

/* The callee of an invite: an existing user who has not blocked the caller
 * (and whom the caller has not blocked). Replies with the error otherwise. */
static bool callee_ok(ws_conn_t *c, json_t *id, int64_t callee_id, store_user_t *callee)
{
    store_t *st = c->sig->store;
    int rc = store_user_by_id(st, callee_id, callee);
    int blocked_me = rc == 0 ? store_is_blocked(st, callee_id, c->user_id) : 0;
    int i_blocked = rc == 0 && blocked_me == 0 ? store_is_blocked(st, c->user_id, callee_id) : 0;
    if ((rc && rc != -ENOENT) || blocked_me < 0 || i_blocked < 0) {
        ws_send_error(c, id, "internal", "the store failed; try again");
        return false;
    }
    /* Unknown and blocked look the same: the caller learns only that. */
    if (rc == -ENOENT || blocked_me > 0) {
        ws_send_error(c, id, "unavailable", "this user cannot be called");
        return false;
    }
    if (i_blocked > 0) {
        ws_send_error(c, id, "blocked", "you blocked this user; unblock them to call");
        return false;
    }
    return true;
}

void ws_direct_invite(ws_conn_t *c, json_t *msg, json_t *id)
{
    signaling_t *sig = c->sig;
    json_t *uid = json_object_get(msg, "userId"), *media = json_object_get(msg, "media");
    if (!json_is_integer(uid) || json_integer_value(uid) <= 0) {
        ws_send_error(c, id, "invalid_field", "userId must be a positive integer");
        return;
    }
    if (media && (!json_is_string(media) || (strcmp(json_string_value(media), "video") &&
                                             strcmp(json_string_value(media), "audio")))) {
        ws_send_error(c, id, "invalid_field", "media must be \"video\" or \"audio\"");
        return;
    }
    int64_t callee_id = json_integer_value(uid);
    bool video = !media || !strcmp(json_string_value(media), "video");
    if (callee_id == c->user_id) {
        ws_send_error(c, id, "cannot_call_self", "you cannot call yourself");
        return;
    }
    if (!sig->media) {
        ws_send_error(c, id, "unavailable", "this node runs no media workers");
        return;
    }
    for (direct_call_t *d = sig->direct_calls; d; d = d->next) {
        if (d->caller_id == c->user_id && d->state == DIRECT_RINGING) {
            ws_send_error(c, id, "already_calling", "call %lld is still ringing; cancel it first",
                          (long long)d->call_id);
            return;
        }
        if ((d->caller_id == c->user_id || d->callee_id == c->user_id) &&
            d->state == DIRECT_ACCEPTED) {
            ws_send_error(c, id, "already_in_call", "hang up call %lld first",
                          (long long)d->call_id);
            return;
        }
    }
    if (c->call_peer) {
        ws_send_error(c, id, "already_in_call", "this socket is in a call; leave it first");
        return;
    }
    store_user_t callee;
    if (!callee_ok(c, id, callee_id, &callee))
        return;

    direct_call_t *dc = calloc(1, sizeof *dc);
    if (!dc) {
        ws_send_error(c, id, "internal", "out of memory");
        return;
    }
    char room_name[160];
    snprintf(room_name, sizeof room_name, "%s and %s", c->username, callee.username);
    int64_t now = now_unix_ms();
    int rc = -EEXIST;
    for (int attempt = 0; rc == -EEXIST && attempt < DIRECT_CODE_ATTEMPTS; attempt++) {
        char code[ROOM_CODE_LEN];
        if (room_code_generate(code)) {
            rc = -EIO;
            break;
        }
        rc = store_direct_call_start(sig->store, c->user_id, callee_id, video, code, room_name, now,
                                     &dc->call_id, &dc->room_id);
    }
    if (rc) {
        free(dc);
        ws_send_error(c, id, "internal", "the store failed; try again");
        return;
    }
    dc->caller_id = c->user_id;
    dc->callee_id = callee_id;
    snprintf(dc->caller_name, sizeof dc->caller_name, "%s", c->username);
    snprintf(dc->callee_name, sizeof dc->callee_name, "%s", callee.username);
    dc->video = video;
    dc->state = DIRECT_RINGING;
    dc->caller_conn = c;
    dc->deadline_ms = now + ring_timeout_ms(sig);
    /* Decided before the call is listed, which would make the callee look busy. */
    bool busy = user_busy(sig, callee_id);
    bool waiting = busy && user_allows_waiting(sig, callee_id);
    dc->next = sig->direct_calls;
    sig->direct_calls = dc;

    json_t *sent =
        json_pack("{s:s,s:I,s:o,s:s,s:I}", "type", "call_invite_sent", "callId",
                  (json_int_t)dc->call_id, "callee", user_json(callee_id, callee.username), "media",
                  media_name(video), "expiresInMs", (json_int_t)ring_timeout_ms(sig));
    if (id)
        json_object_set(sent, "id", id);
    ws_send(c, sent);
    json_decref(sent);
    log_info("direct", "call %lld: %s rings %s (%s)", (long long)dc->call_id, c->username,
             callee.username, media_name(video));

    if (busy && !waiting) {
        direct_finish(sig, dc, "busy", callee_id, NULL, NULL);
        return;
    }
    if (!ws_user_online(sig, callee_id)) {
        push_ring(sig, dc);
        return;
    }
    ws_broadcast_user(sig->hub, callee_id, ringing_json(dc, waiting), NULL);
}

/* The call a request names, for user c: replies with an error and returns
 * NULL when it is not in progress (saying how it went when it is over). */
static direct_call_t *request_call(ws_conn_t *c, json_t *msg, json_t *id)
{
    json_t *cid = json_object_get(msg, "callId");
    if (!json_is_integer(cid) || json_integer_value(cid) <= 0) {
        ws_send_error(c, id, "invalid_field", "callId must be a positive integer");
        return NULL;
    }
    int64_t call_id = json_integer_value(cid);
    direct_call_t *dc = find_call(c->sig, call_id);
    if (dc && (dc->caller_id == c->user_id || dc->callee_id == c->user_id))
        return dc;
    store_direct_call_t rec;
    if (!dc && store_direct_call_get(c->sig->store, call_id, &rec) == 0 &&
        (rec.caller_id == c->user_id || rec.callee_id == c->user_id)) {
        ws_send_error(c, id, "not_ringing", "the call is over (%s)", rec.status);
        return NULL;
    }
    ws_send_error(c, id, "not_found", "no such call");
    return NULL;
}

void ws_direct_accept(ws_conn_t *c, json_t *msg, json_t *id)
{
    signaling_t *sig = c->sig;
    direct_call_t *dc = request_call(c, msg, id);
    if (!dc)
        return;
    if (dc->callee_id != c->user_id) {
        ws_send_error(c, id, "forbidden", "only the callee can accept a call");
        return;
    }
    if (dc->state != DIRECT_RINGING) {
        ws_send_error(c, id, "already_answered", "the call was answered already%s",
                      dc->answer_conn == c ? "" : " on another device");
        return;
    }
    if (c->call_peer) {
        ws_send_error(c, id, "already_in_call", "this socket is in a call; leave it first");
        return;
    }
    int64_t now = now_unix_ms();
    int rc = store_direct_call_answer(sig->store, dc->call_id, now);
    if (rc) {
        ws_send_error(c, id, "internal", "the store failed; try again");
        return;
    }
    dc->state = DIRECT_ACCEPTED;
    dc->answer_conn = c;
    dc->answered_ms = now;
    dc->deadline_ms = now + ring_timeout_ms(sig);
    json_t *o = json_pack("{s:s,s:s,s:I}", "type", "call_accepted", "status", "accepted", "roomId",
                          (json_int_t)dc->room_id);
    send_side(sig, dc, dc->caller_id, o, NULL, NULL, dc->caller_conn);
    send_side(sig, dc, dc->callee_id, o, c, id, c);
    json_decref(o);
    log_info("direct", "call %lld: %s answered", (long long)dc->call_id, dc->callee_name);
}

void ws_direct_decline(ws_conn_t *c, json_t *msg, json_t *id)
{
    direct_call_t *dc = request_call(c, msg, id);
    if (!dc)
        return;
    if (dc->callee_id != c->user_id) {
        ws_send_error(c, id, "forbidden", "only the callee can decline; the caller cancels");
        return;
    }
    if (dc->state != DIRECT_RINGING) {
        ws_send_error(c, id, "already_answered", "the call was answered; hang up instead");
        return;
    }
    direct_finish(c->sig, dc, "declined", c->user_id, c, id);
}

void ws_direct_cancel(ws_conn_t *c, json_t *msg, json_t *id)
{
    direct_call_t *dc = request_call(c, msg, id);
    if (!dc)
        return;
    if (dc->caller_id != c->user_id) {
        ws_send_error(c, id, "forbidden", "only the caller can cancel; the callee declines");
        return;
    }
    if (dc->state != DIRECT_RINGING) {
        ws_send_error(c, id, "already_answered", "the call was answered; hang up instead");
        return;
    }
    direct_finish(c->sig, dc, "cancelled", c->user_id, c, id);
}

void ws_direct_hangup(ws_conn_t *c, json_t *msg, json_t *id)
{
    direct_call_t *dc = request_call(c, msg, id);
    if (!dc)
        return;
    const char *status = dc->state == DIRECT_ACCEPTED  ? "ended"
                         : dc->caller_id == c->user_id ? "cancelled"
                                                       : "declined";
    direct_finish(c->sig, dc, status, c->user_id, c, id);
}

void ws_direct_call_waiting(ws_conn_t *c, json_t *msg, json_t *id)
{
    json_t *on = json_object_get(msg, "enabled");
    if (!json_is_boolean(on)) {
        ws_send_error(c, id, "invalid_field", "enabled must be true or false");
        return;
    }
    c->call_waiting = json_is_true(on);
    json_t *ok = json_pack("{s:s,s:b}", "type", "call_waiting", "enabled", c->call_waiting);
    if (id)
        json_object_set(ok, "id", id);
    ws_send(c, ok);
    json_decref(ok);
}

static int collect_missed(void *ctx, const store_missed_call_t *m)
{
    return json_array_append_new(
        ctx, json_pack("{s:I,s:o,s:s,s:o,s:o}", "callId", (json_int_t)m->call_id, "caller",
                       user_json(m->caller_id, m->caller_name ? m->caller_name : ""), "media",
                       media_name(m->video), "startedAt", api_time_json(m->started_at_ms),
                       "endedAt", m->ended_at_ms ? api_time_json(m->ended_at_ms) : json_null()));
}

void ws_direct_authenticated(ws_conn_t *c)
{
    signaling_t *sig = c->sig;
    int64_t count = 0;
    if (store_missed_calls_count(sig->store, c->user_id, &count) == 0 && count > 0) {
        json_t *list = json_array();
        if (store_missed_calls_unseen(sig->store, c->user_id, DIRECT_MISSED_LIST, collect_missed,
                                      list) == 0) {
            json_t *o = json_pack("{s:s,s:I,s:o}", "type", "missed_calls", "count",
                                  (json_int_t)count, "calls", list);
            ws_send(c, o);
            json_decref(o);
        } else {
            json_decref(list);
        }
    }
    for (direct_call_t *d = sig->direct_calls; d; d = d->next) {
        if (d->callee_id == c->user_id && d->state == DIRECT_RINGING) {
            json_t *o = ringing_json(d, false);
            ws_send(c, o);
            json_decref(o);
        }
    }
}

void ws_direct_socket_closed(ws_conn_t *c)
{
    signaling_t *sig = c->sig;
    bool again = true;
    while (again) {
        again = false;
        for (direct_call_t *d = sig->direct_calls; d; d = d->next) {
            if (d->answer_conn == c)
                d->answer_conn = NULL;
            if (d->caller_conn != c)
                continue;
            d->caller_conn = NULL;
            if (d->state == DIRECT_RINGING && !sig->lws_stopping) {
                direct_finish(sig, d, "cancelled", c->user_id, NULL, NULL);
                again = true; /* the list changed */
                break;
            }
        }
    }
}

void ws_direct_tick(signaling_t *sig)
{
    int64_t now = now_unix_ms();
    bool again = true;
    while (again) {
        again = false;
        for (direct_call_t *d = sig->direct_calls; d; d = d->next) {
            if (now < d->deadline_ms || (d->state == DIRECT_ACCEPTED && d->media_started))
                continue;
            direct_finish(sig, d, d->state == DIRECT_RINGING ? "missed" : "ended", 0, NULL, NULL);
            again = true;
            break;
        }
    }
}

bool ws_direct_room_answered(signaling_t *sig, int64_t room_id)
{
    direct_call_t *dc = find_room(sig, room_id);
    return dc && dc->state == DIRECT_ACCEPTED;
}

int64_t ws_direct_record_for_room(signaling_t *sig, int64_t room_id)
{
    direct_call_t *dc = find_room(sig, room_id);
    if (!dc || dc->state != DIRECT_ACCEPTED)
        return 0;
    dc->media_started = true;
    return dc->call_id;
}

void ws_direct_participant_left(signaling_t *sig, int64_t room_id, int64_t user_id,
                                const char *reason)
{
    direct_call_t *dc = find_room(sig, room_id);
    /* "replaced": the same user joined again from another socket. */
    if (!dc || dc->state != DIRECT_ACCEPTED || !strcmp(reason, "replaced"))
        return;
    direct_finish(sig, dc, "ended", user_id, NULL, NULL);
}

void ws_direct_close_all(signaling_t *sig)
{
    while (sig->direct_calls) {
        direct_call_t *d = sig->direct_calls;
        direct_finish(sig, d, d->state == DIRECT_RINGING ? "missed" : "ended", 0, NULL, NULL);
    }
}
