/* signaling/api_whip.c: WHIP ingest (RFC 9725) and the rooms' ingest keys.
 *
 * POST /whip/:room with an SDP offer and a Bearer credential (a member's
 * access token, or one of the room's ingest keys) makes a session: a
 * participant of the room's call that only publishes (ws_call_ingest_open),
 * so everyone in the call receives its tracks over the ordinary subscribe
 * path. The session is a resource at /whip/:room/:session: DELETE ends it,
 * PATCH takes trickled candidates (nothing to do for an ICE-lite node) and
 * refuses ICE restarts with 422. */
#include "signaling/signaling_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/ws_call.h"
#include "store/room_code.h"
#include "store/store_ingest.h"

#define WHIP_SDP_MAX          16384
#define WHIP_SESSIONS_PER_KEY 2 /* per ingest key, and per member publishing with a token */
#define WHIP_KEY_NAME_MAX     48
#define WHIP_KEYS_PER_ROOM    32

struct whip_session {
    char id[33]; /* 128 random bits, hex: the resource's name */
    int64_t room_id;
    char room[64];   /* as the client named it, for Location */
    int64_t key_id;  /* the ingest key; 0 for a member's token */
    int64_t user_id; /* the member; 0 for an ingest key */
    char remote_ufrag[64];
    call_peer_t *peer;
    struct whip_session *next;
};

void api_whip_cors(http_req_t *req)
{
    http_reply_header(req, "access-control-allow-origin", "*");
    http_reply_header(req, "access-control-expose-headers", "Location, ETag, Accept-Patch");
}

static whip_session_t *session_find(signaling_t *sig, const char *id)
{
    for (whip_session_t *s = sig->whip_sessions; s; s = s->next) {
        if (!strcmp(s->id, id))
            return s;
    }
    return NULL;
}

static void session_unlink_free(signaling_t *sig, whip_session_t *s)
{
    whip_session_t **pp = &sig->whip_sessions;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    free(s);
}

void api_whip_session_gone(signaling_t *sig, void *ingest, const char *reason)
{
    whip_session_t *s = ingest;
    log_info("whip", "session %.8s in room %lld ended: %s", s->id, (long long)s->room_id, reason);
    session_unlink_free(sig, s);
}

static whip_session_t *session_of_key(signaling_t *sig, int64_t key_id)
{
    for (whip_session_t *s = sig->whip_sessions; s; s = s->next) {
        if (s->key_id == key_id)
            return s;
    }
    return NULL;
}

static int session_count(signaling_t *sig, int64_t key_id, int64_t user_id)
{
    int n = 0;
    for (whip_session_t *s = sig->whip_sessions; s; s = s->next)
        n += key_id ? s->key_id == key_id : s->user_id == user_id;
    return n;
}

bool api_whip_room(http_req_t *req, const char *name, store_room_t *room)
{
    int64_t id = api_parse_id(name);
    int rc = -ENOENT;
    if (id > 0)
        rc = store_room_get(req->sig->store, id, room);
    else if (room_code_is_valid(name))
        rc = store_room_by_code(req->sig->store, name, room);
    if (rc == 0 && room->ended_at_ms == 0)
        return true;
    if (rc == 0 || rc == -ENOENT)
        http_reply_error(req, 404, "not_found", NULL, "no such room: %s", name);
    else
        api_reply_store_error(req, rc);
    return false;
}

bool api_whip_credential(http_req_t *req, const store_room_t *room, int64_t *key_id,
                         int64_t *user_id, char name[64])
{
    *key_id = *user_id = 0;
    const char *h = req->authorization;
    if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        http_reply_header(req, "www-authenticate", "Bearer");
        http_reply_error(req, 401, "unauthorized", NULL,
                         "send a room member's access token or an ingest key as "
                         "Authorization: Bearer <token>");
        return false;
    }
    const char *token = h + 7;
    if (strchr(token, '.')) { /* a JWT */
        store_user_t user;
        jwt_claims_t claims;
        const char *code, *message;
        char role[8];
        if (api_verify_token(req->sig, token, &user, &claims, &code, &message)) {
            http_reply_error(req, strcmp(code, "internal") ? 401 : 500, code, NULL, "%s", message);
            return false;
        }
        if (store_member_role(req->sig->store, room->id, user.id, role)) {
            http_reply_error(req, 403, "forbidden", NULL, "you are not a member of this room");
            return false;
        }
        *user_id = user.id;
        snprintf(name, 64, "%s", user.username);
        return true;
    }
    uint8_t hash[32];
    store_ingest_key_t key;
    int rc = refresh_token_hash(token, hash);
    if (rc == 0)
        rc = store_ingest_key_by_hash(req->sig->store, hash, &key);
    if (rc == -EIO) {
        api_reply_store_error(req, rc);
        return false;
    }
    if (rc || key.room_id != room->id) {
        http_reply_header(req, "www-authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(req, 401, "unauthorized", NULL, "not an ingest key of this room");
        return false;
    }
    if (key.revoked_at_ms) {
        http_reply_error(req, 403, "key_revoked", NULL, "this ingest key was revoked");
        return false;
    }
    *key_id = key.id;
    snprintf(name, 64, "%s", key.name);
    return true;
}

bool api_content_type_is(const http_req_t *req, const char *type)
{
    size_t n = strlen(type);
    const char *ct = req->req_content_type;
    return !strncasecmp(ct, type, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Whether any section sends a codec the node forwards (opus, VP8, H264 baseline). */
static bool offer_usable(const rtc_sdp_t *offer)
{
    for (int i = 0; i < offer->media_count; i++) {
        const rtc_sdp_media_t *m = &offer->media[i];
        bool sends = !strcmp(m->direction, "sendrecv") || !strcmp(m->direction, "sendonly");
        if (m->kind != RTC_MEDIA_OTHER && m->port != 0 && sends && m->ssrc && rtc_sdp_pick_codec(m))
            return true;
    }
    return false;
}

void api_whip_reply_created(http_req_t *req, const char *kind, const char *room, const char *id,
                            const char *answer)
{
    char location[200], etag[40];
    snprintf(location, sizeof location, "/%s/%s/%s", kind, room, id);
    snprintf(etag, sizeof etag, "\"%s\"", id);
    http_reply_header(req, "location", location);
    http_reply_header(req, "etag", etag);
    http_reply_header(req, "accept-patch", "application/trickle-ice-sdpfrag");
    http_reply_text_take(req, 201, "application/sdp", strdup(answer), strlen(answer));
}

void api_whip_options(http_req_t *req)
{
    api_whip_cors(req);
    http_reply_header(req, "access-control-allow-methods", "POST, PATCH, DELETE, OPTIONS");
    http_reply_header(req, "access-control-allow-headers", "Authorization, Content-Type, If-Match");
    http_reply_header(req, "access-control-max-age", "600");
    http_reply_header(req, "accept-post", "application/sdp");
    http_reply_header(req, "accept-patch", "application/trickle-ice-sdpfrag");
    http_reply_json(req, 204, NULL);
}

void api_whip_post(http_req_t *req)
{
    signaling_t *sig = req->sig;
    static rtc_sdp_t offer;
    static char answer[WHIP_SDP_MAX];
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
    whip_session_t *s = calloc(1, sizeof *s);
    char name[64], err[160];
    if (!s) {
        http_reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (!api_whip_room(req, req->param[0], &room) ||
        !api_whip_credential(req, &room, &s->key_id, &s->user_id, name))
        goto fail;
    if (session_count(sig, s->key_id, s->user_id) >= WHIP_SESSIONS_PER_KEY) {
        http_reply_error(req, 409, "too_many_sessions", NULL,
                         "this %s publishes %d sessions already; DELETE one first",
                         s->key_id ? "ingest key" : "member", WHIP_SESSIONS_PER_KEY);
        goto fail;
    }
    if (!req->body_len || rtc_sdp_parse((const char *)req->body, &offer, err, sizeof err)) {
        http_reply_error(req, 400, "invalid_sdp", NULL, "%s",
                         req->body_len ? err : "the body must be an SDP offer");
        goto fail;
    }
    /* An ingest only publishes media: a data channel section is refused (port 0). */
    for (int i = 0; i < offer.media_count; i++)
        offer.media[i].datachannel = false;
    if (!offer_usable(&offer)) {
        http_reply_error(req, 422, "no_usable_codec", NULL,
                         "no media section sends opus, VP8 or H264 baseline with an SSRC");
        goto fail;
    }
    random_hex(s->id, 16);
    s->room_id = room.id;
    snprintf(s->room, sizeof s->room, "%s", req->param[0]);
    snprintf(s->remote_ufrag, sizeof s->remote_ufrag, "%s", offer.ice_ufrag);
    /* Not an account: a place of its own, never confused with a member's. */
    int64_t part_id = -(int64_t)++sig->next_leg_id;
    sfu_call_error_t why;
    if (ws_call_ingest_open(sig, room.id, part_id, name, s, &offer, answer, sizeof answer, &why,
                            &s->peer)) {
        int status = !strcmp(why.code, "internal")    ? 500
                     : !strcmp(why.code, "call_full") ? 409
                                                      : 400;
        http_reply_error(req, status, why.code, NULL, "%s", why.message);
        goto fail;
    }
    s->next = sig->whip_sessions;
    sig->whip_sessions = s;
    log_info("whip", "session %.8s: %s publishes into room %lld", s->id, name, (long long)room.id);
    api_whip_reply_created(req, "whip", s->room, s->id, answer);
    return;
fail:
    free(s);
}

/* The session named by the path, in the room named by it; 404 otherwise. */
static whip_session_t *session_of(http_req_t *req)
{
    whip_session_t *s = session_find(req->sig, req->param[1]);
    if (!s || strcmp(s->room, req->param[0])) {
        http_reply_error(req, 404, "not_found", NULL, "no such WHIP session");
        return NULL;
    }
    return s;
}

void api_whip_delete(http_req_t *req)
{
    api_whip_cors(req);
    whip_session_t *s = session_of(req);
    if (!s)
        return;
    call_peer_t *peer = s->peer;
    log_info("whip", "session %.8s in room %lld deleted", s->id, (long long)s->room_id);
    session_unlink_free(req->sig, s);
    ws_call_ingest_close(req->sig, peer, "left");
    http_reply_json(req, 200, NULL);
}

/* RFC 9725 4.3: trickled candidates need nothing from an ICE-lite node (it
 * learns the client's address from its checks); an ICE restart (new
 * credentials) is not supported. */
void api_whip_patch(http_req_t *req)
{
    api_whip_cors(req);
    whip_session_t *s = session_of(req);
    if (!s)
        return;
    api_whip_trickle(req, s->remote_ufrag);
}

void api_whip_trickle(http_req_t *req, const char *remote_ufrag)
{
    if (!api_content_type_is(req, "application/trickle-ice-sdpfrag")) {
        http_reply_error(req, 415, "unsupported_media_type", NULL,
                         "send Content-Type: application/trickle-ice-sdpfrag");
        return;
    }
    const char *p = req->body ? (const char *)req->body : "";
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (n > 12 && !strncmp(p, "a=ice-ufrag:", 12)) {
            size_t ulen = n - 12;
            if (ulen != strlen(remote_ufrag) || strncmp(p + 12, remote_ufrag, ulen)) {
                http_reply_error(req, 422, "ice_restart_unsupported", NULL,
                                 "this node does not restart ICE; DELETE the session and POST "
                                 "a new offer");
                return;
            }
        }
        p += n;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    http_reply_json(req, 204, NULL);
}

/* ---- ingest keys: /api/rooms/:id/ingest-keys, the host's ---- */

static bool room_as_host(http_req_t *req, store_room_t *room)
{
    char role[8];
    if (!api_whip_room(req, req->param[0], room))
        return false;
    int rc = store_member_role(req->sig->store, room->id, req->user.id, role);
    if (rc == 0 && !strcmp(role, "host"))
        return true;
    if (rc && rc != -ENOENT)
        api_reply_store_error(req, rc);
    else
        http_reply_error(req, 403, "forbidden", NULL, "only the room's host manages ingest keys");
    return false;
}

static json_t *key_json(signaling_t *sig, const store_ingest_key_t *k)
{
    return json_pack("{s:I,s:I,s:s,s:o,s:o,s:i}", "id", (json_int_t)k->id, "roomId",
                     (json_int_t)k->room_id, "name", k->name, "createdAt",
                     api_time_json(k->created_at_ms), "revokedAt",
                     k->revoked_at_ms ? api_time_json(k->revoked_at_ms) : json_null(), "sessions",
                     k->revoked_at_ms ? 0 : session_count(sig, k->id, 0));
}

typedef struct keys_ctx {
    signaling_t *sig;
    json_t *list;
} keys_ctx_t;

static int collect_key(void *ctx, const store_ingest_key_t *k)
{
    keys_ctx_t *kc = ctx;
    return json_array_append_new(kc->list, key_json(kc->sig, k));
}

void api_ingest_keys_list(http_req_t *req)
{
    store_room_t room;
    if (!room_as_host(req, &room))
        return;
    keys_ctx_t kc = {req->sig, json_array()};
    int rc = store_ingest_keys_list(req->sig->store, room.id, collect_key, &kc);
    if (rc) {
        json_decref(kc.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "keys", kc.list));
}

static int count_live(void *ctx, const store_ingest_key_t *k)
{
    *(int *)ctx += k->revoked_at_ms == 0;
    return 0;
}

void api_ingest_key_create(http_req_t *req)
{
    store_room_t room;
    if (!room_as_host(req, &room))
        return;
    json_t *body = http_req_json(req);
    const char *name;
    if (!body)
        return;
    if (!api_field_string(req, body, "name", true, &name))
        goto out;
    size_t n = strlen(name);
    if (n == 0 || n > WHIP_KEY_NAME_MAX) {
        http_reply_error(req, 400, "invalid_field", "name", "name must be 1 to %d characters",
                         WHIP_KEY_NAME_MAX);
        goto out;
    }
    int live = 0;
    int rc = store_ingest_keys_list(req->sig->store, room.id, count_live, &live);
    if (rc == 0 && live >= WHIP_KEYS_PER_ROOM) {
        http_reply_error(req, 409, "too_many_keys", NULL,
                         "the room has %d ingest keys; revoke one first", WHIP_KEYS_PER_ROOM);
        goto out;
    }
    char token[AUTH_REFRESH_TOKEN_LEN];
    uint8_t hash[32];
    store_ingest_key_t key;
    if (rc == 0)
        rc = refresh_token_new(token, hash) ? -EIO : 0;
    if (rc == 0)
        rc = store_ingest_key_create(req->sig->store, room.id, name, hash, req->user.id,
                                     now_unix_ms(), &key);
    if (rc) {
        api_reply_store_error(req, rc);
        goto out;
    }
    json_t *o = key_json(req->sig, &key);
    json_object_set_new(o, "key", json_string(token));
    char url[120];
    snprintf(url, sizeof url, "/whip/%s", room.code);
    json_object_set_new(o, "whipUrl", json_string(url));
    log_info("whip", "room %lld: ingest key %lld (%s) created", (long long)room.id,
             (long long)key.id, key.name);
    http_reply_json(req, 201, o);
out:
    json_decref(body);
}

void api_ingest_key_revoke(http_req_t *req)
{
    store_room_t room;
    if (!room_as_host(req, &room))
        return;
    int64_t key_id = api_parse_id(req->param[1]);
    int rc = key_id > 0 ? store_ingest_key_revoke(req->sig->store, room.id, key_id, now_unix_ms())
                        : -ENOENT;
    if (rc == -ENOENT) {
        http_reply_error(req, 404, "not_found", NULL, "no live ingest key %s in this room",
                         req->param[1]);
        return;
    }
    if (rc) {
        api_reply_store_error(req, rc);
        return;
    }
    /* Its sessions end with it. */
    whip_session_t *s;
    while ((s = session_of_key(req->sig, key_id))) {
        call_peer_t *peer = s->peer;
        session_unlink_free(req->sig, s);
        ws_call_ingest_close(req->sig, peer, "key revoked");
    }
    log_info("whip", "room %lld: ingest key %lld revoked", (long long)room.id, (long long)key_id);
    http_reply_json(req, 204, NULL);
}
