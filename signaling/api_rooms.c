/* signaling/api_rooms.c: rooms, memberships and room chat history over REST. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/signaling_internal.h"
#include "signaling/validate.h"
#include "signaling/ws.h"
#include "store/room_code.h"

#define MESSAGES_DEFAULT_LIMIT 50
#define MESSAGES_MAX_LIMIT     100
#define ROOMS_MAX_LIMIT        500 /* the default page of GET /api/rooms, and its largest */
#define ROOM_CODE_ATTEMPTS     8
#define ROOMS_HOSTED_MAX       100 /* live rooms one user hosts */

json_t *api_room_json(const store_room_t *r)
{
    return json_pack("{s:I,s:s,s:s,s:b,s:b,s:I,s:i,s:o}", "id", (json_int_t)r->id, "code", r->code,
                     "name", r->name, "private", r->is_private, "direct", r->is_direct, "hostId",
                     (json_int_t)r->host_id, "memberCount", r->member_count, "createdAt",
                     api_time_json(r->created_at_ms));
}

json_t *api_message_json(const store_message_t *m)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)m->id, "roomId",
                          (json_int_t)m->room_id, "senderId", (json_int_t)m->sender_id,
                          "senderName", m->sender_name ? m->sender_name : "", "content", m->content,
                          "createdAt", api_time_json(m->created_at_ms));
    if (o && m->file_id)
        json_object_set_new(o, "fileId", json_string(m->file_id));
    return o;
}

int64_t api_parse_id(const char *s)
{
    int64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 18)
            return 0;
        v = v * 10 + (s[n] - '0');
    }
    return v;
}

/* Finds the live room named by the path (numeric id or share code). Replies 404
 * and returns false when there is none. */
static bool room_resolve(http_req_t *req, store_room_t *room, bool *by_code)
{
    const char *p = req->param[0];
    int64_t id = api_parse_id(p);
    int rc = -ENOENT;
    *by_code = false;
    if (id > 0) {
        rc = store_room_get(req->sig->store, id, room);
    } else if (room_code_is_valid(p)) {
        *by_code = true;
        rc = store_room_by_code(req->sig->store, p, room);
    }
    if (rc == 0 && room->ended_at_ms == 0)
        return true;
    if (rc == 0 || rc == -ENOENT)
        http_reply_error(req, 404, "not_found", NULL, "no such room: %s", p);
    else
        api_reply_store_error(req, rc);
    return false;
}

/* 1 member, 0 not, negative on a store error; role filled when a member. */
static int member_role(http_req_t *req, int64_t room_id, char role[8])
{
    int rc = store_member_role(req->sig->store, room_id, req->user.id, role);
    return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/* A room the user may see: public, a member, or named by its share code. */
static bool room_visible(http_req_t *req, store_room_t *room)
{
    bool by_code;
    if (!room_resolve(req, room, &by_code))
        return false;
    char role[8];
    int m = member_role(req, room->id, role);
    if (m < 0) {
        api_reply_store_error(req, m);
        return false;
    }
    if (m == 1 || (!room->is_direct && (!room->is_private || by_code)))
        return true;
    if (room->is_direct) {
        http_reply_error(req, 403, "forbidden", NULL, "this is the room of a direct call");
        return false;
    }
    http_reply_error(req, 403, "forbidden", NULL, "this room is private; join it with its code");
    return false;
}

/* The room of a direct call: its members neither leave nor end it; it ends
 * with the call. Replies 403 and returns true for one. */
static bool refuse_direct(http_req_t *req, const store_room_t *room)
{
    if (!room->is_direct)
        return false;
    http_reply_error(req, 403, "forbidden", NULL,
                     "this is the room of a direct call; it ends when the call does");
    return true;
}

/* A live room the user is a member of; replies 403/404 otherwise. */
static bool room_as_member(http_req_t *req, store_room_t *room, char role[8])
{
    bool by_code;
    if (!room_resolve(req, room, &by_code))
        return false;
    int m = member_role(req, room->id, role);
    if (m == 1)
        return true;
    if (m < 0)
        api_reply_store_error(req, m);
    else
        http_reply_error(req, 403, "forbidden", NULL, "you are not a member of this room");
    return false;
}

typedef struct page_ctx {
    json_t *list;
    int limit;
    bool has_more;
} page_ctx_t;

static int collect_room(void *ctx, const store_room_t *room)
{
    page_ctx_t *pc = ctx;
    if ((int)json_array_size(pc->list) == pc->limit) {
        pc->has_more = true;
        return 1;
    }
    return json_array_append_new(pc->list, api_room_json(room));
}

void api_rooms_list(http_req_t *req)
{
    int64_t limit = ROOMS_MAX_LIMIT, before = 0;
    if (!api_query_positive(req, "limit", &limit) || !api_query_positive(req, "before", &before))
        return;
    if (limit > ROOMS_MAX_LIMIT)
        limit = ROOMS_MAX_LIMIT;
    page_ctx_t pc = {.list = json_array(), .limit = (int)limit};
    /* One row beyond the page tells whether there is more. */
    int rc = store_rooms_visible_page(req->sig->store, req->user.id, before, (int)limit + 1,
                                      collect_room, &pc);
    if (rc) {
        json_decref(pc.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o,s:b}", "rooms", pc.list, "hasMore", pc.has_more));
}

void api_rooms_create(http_req_t *req)
{
    json_t *body = http_req_json(req);
    if (!body)
        return;
    const char *name, *why;
    json_t *priv = json_object_get(body, "private");
    if (!api_field_string(req, body, "name", true, &name))
        goto out;
    if ((why = validate_room_name(name))) {
        http_reply_error(req, 400, "invalid_field", "name", "name %s", why);
        goto out;
    }
    if (priv && !json_is_boolean(priv) && !json_is_null(priv)) {
        http_reply_error(req, 400, "invalid_field", "private", "private must be true or false");
        goto out;
    }
    /* Stored as shown: surrounding spaces trimmed (validation counted without them). */
    char trimmed[sizeof((store_room_t *)0)->name];
    while (*name == ' ' || *name == '\t')
        name++;
    size_t n = strlen(name);
    while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    if (n >= sizeof trimmed)
        n = sizeof trimmed - 1;
    memcpy(trimmed, name, n);
    trimmed[n] = '\0';
    name = trimmed;
    int64_t hosted = 0;
    if (store_rooms_hosted_count(req->sig->store, req->user.id, &hosted) == 0 &&
        hosted >= ROOMS_HOSTED_MAX) {
        http_reply_error(req, 403, "room_limit", NULL,
                         "you host %d live rooms; end one before creating another",
                         ROOMS_HOSTED_MAX);
        goto out;
    }
    store_room_t room;
    int rc = -EEXIST;
    for (int attempt = 0; rc == -EEXIST && attempt < ROOM_CODE_ATTEMPTS; attempt++) {
        char code[ROOM_CODE_LEN];
        if (room_code_generate(code)) {
            rc = -EIO;
            break;
        }
        rc = store_room_create(req->sig->store, name, json_is_true(priv), req->user.id, code,
                               now_unix_ms(), &room);
    }
    if (rc) {
        api_reply_store_error(req, rc == -EEXIST ? -EIO : rc);
        goto out;
    }
    log_info("rooms", "room %lld created by user %lld", (long long)room.id,
             (long long)req->user.id);
    http_reply_json(req, 201, json_pack("{s:o}", "room", api_room_json(&room)));
out:
    json_decref(body);
}

void api_room_get(http_req_t *req)
{
    store_room_t room;
    if (room_visible(req, &room))
        http_reply_json(req, 200, json_pack("{s:o}", "room", api_room_json(&room)));
}

void api_room_join(http_req_t *req)
{
    store_room_t room;
    if (!room_visible(req, &room))
        return;
    int rc = store_member_add(req->sig->store, room.id, req->user.id, "member", now_unix_ms());
    if (rc && rc != -EEXIST) {
        api_reply_store_error(req, rc);
        return;
    }
    if ((rc = store_room_get(req->sig->store, room.id, &room))) {
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "room", api_room_json(&room)));
}

void api_room_leave(http_req_t *req)
{
    store_room_t room;
    char role[8];
    if (!room_as_member(req, &room, role) || refuse_direct(req, &room))
        return;
    int64_t new_host = 0;
    int rc = store_member_remove(req->sig->store, room.id, req->user.id, &new_host);
    if (rc) {
        api_reply_store_error(req, rc);
        return;
    }
    ws_user_left_room(req->sig, req->user.id, room.id);
    if (new_host)
        log_info("rooms", "room %lld: host passed to user %lld", (long long)room.id,
                 (long long)new_host);
    http_reply_json(req, 204, NULL);
}

json_t *api_member_json(signaling_t *sig, const store_member_t *m)
{
    return json_pack("{s:I,s:s,s:s,s:b,s:o,s:o}", "userId", (json_int_t)m->user_id, "username",
                     m->username, "role", m->role, "online", ws_user_online(sig, m->user_id),
                     "joinedAt", api_time_json(m->joined_at_ms), "lastSeen",
                     api_time_json(m->last_seen_ms));
}

int api_collect_member(void *ctx, const store_member_t *m)
{
    api_members_ctx_t *mc = ctx;
    return json_array_append_new(mc->list, api_member_json(mc->sig, m));
}

void api_room_members(http_req_t *req)
{
    store_room_t room;
    char role[8];
    if (!room_as_member(req, &room, role))
        return;
    api_members_ctx_t mc = {.list = json_array(), .sig = req->sig};
    int rc = store_members_list(req->sig->store, room.id, api_collect_member, &mc);
    if (rc) {
        json_decref(mc.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "members", mc.list));
}

void api_room_end(http_req_t *req)
{
    store_room_t room;
    char role[8];
    if (!room_as_member(req, &room, role) || refuse_direct(req, &room))
        return;
    if (strcmp(role, "host") != 0) {
        http_reply_error(req, 403, "forbidden", NULL, "only the host can end the room");
        return;
    }
    int rc = store_room_end(req->sig->store, room.id, now_unix_ms());
    if (rc) {
        api_reply_store_error(req, rc);
        return;
    }
    ws_room_ended(req->sig, room.id, req->user.id);
    log_info("rooms", "room %lld ended by its host %lld", (long long)room.id,
             (long long)req->user.id);
    http_reply_json(req, 204, NULL);
}

/* Reads an optional positive integer query argument; false after replying 400. */
bool api_query_positive(http_req_t *req, const char *name, int64_t *out)
{
    char buf[32];
    if (!http_req_query(req, name, buf, sizeof buf))
        return true;
    int64_t v = api_parse_id(buf);
    if (v <= 0) {
        http_reply_error(req, 400, "invalid_field", name, "%s must be a positive integer", name);
        return false;
    }
    *out = v;
    return true;
}

static int collect_message(void *ctx, const store_message_t *m)
{
    page_ctx_t *pc = ctx;
    if ((int)json_array_size(pc->list) == pc->limit) {
        pc->has_more = true;
        return 1;
    }
    return json_array_append_new(pc->list, api_message_json(m));
}

void api_room_messages(http_req_t *req)
{
    store_room_t room;
    char role[8];
    if (!room_as_member(req, &room, role))
        return;
    int64_t limit = MESSAGES_DEFAULT_LIMIT, before = 0;
    if (!api_query_positive(req, "limit", &limit) || !api_query_positive(req, "before", &before))
        return;
    if (limit > MESSAGES_MAX_LIMIT)
        limit = MESSAGES_MAX_LIMIT;
    page_ctx_t pc = {.list = json_array(), .limit = (int)limit};
    /* One row beyond the page tells whether there is more. */
    int rc =
        store_messages_page(req->sig->store, room.id, before, (int)limit + 1, collect_message, &pc);
    if (rc) {
        json_decref(pc.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o,s:b}", "messages", pc.list, "hasMore", pc.has_more));
}

void api_room_post_message(http_req_t *req)
{
    store_room_t room;
    char role[8];
    if (!room_as_member(req, &room, role))
        return;
    json_t *body = http_req_json(req);
    if (!body)
        return;
    const char *content, *why;
    if (!api_field_string(req, body, "content", true, &content))
        goto out;
    if ((why = validate_message_content(content))) {
        http_reply_error(req, 400, "invalid_field", "content", "content %s", why);
        goto out;
    }
    store_message_t msg;
    int rc = store_message_add(req->sig->store, room.id, req->user.id, content, NULL, now_unix_ms(),
                               &msg);
    if (rc) {
        api_reply_store_error(req, rc);
        goto out;
    }
    json_t *m = api_message_json(&msg);
    ws_room_message(req->sig, m, room.id);
    http_reply_json(req, 201, json_pack("{s:o}", "message", m));
out:
    json_decref(body);
}
