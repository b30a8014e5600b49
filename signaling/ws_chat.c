/* signaling/ws_chat.c: rooms, room chat, typing, direct messages and presence
 * over the WebSocket. Every write is committed before anyone is told. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/validate.h"
#include "signaling/ws.h"
#include "signaling/ws_call.h"
#include "signaling/ws_direct.h"
#include "signaling/ws_internal.h"
#include "store/room_code.h"
#include "store/store_social.h"

#define UNREAD_ON_CONNECT 100

static json_t *with_id(json_t *obj, json_t *id)
{
    if (id)
        json_object_set(obj, "id", id);
    return obj;
}

static void reply(ws_conn_t *c, json_t *obj, json_t *id)
{
    ws_send(c, with_id(obj, id));
    json_decref(obj);
}

/* Reads a positive integer field; sends invalid_field and returns false otherwise. */
static bool field_id(ws_conn_t *c, json_t *msg, json_t *id, const char *name, int64_t *out)
{
    json_t *v = json_object_get(msg, name);
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = json_integer_value(v);
        return true;
    }
    ws_send_error(c, id, "invalid_field", "%s must be a positive integer", name);
    return false;
}

/* Optional fileId: a file the sender uploaded. */
static bool field_file(ws_conn_t *c, json_t *msg, json_t *id, const char **out)
{
    json_t *v = json_object_get(msg, "fileId");
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    store_file_t f;
    if (!json_is_string(v) || store_file_get(c->sig->store, json_string_value(v), &f) ||
        f.owner_id != c->user_id) {
        ws_send_error(c, id, "invalid_field", "fileId must name a file you uploaded");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool field_content(ws_conn_t *c, json_t *msg, json_t *id, const char **out)
{
    json_t *v = json_object_get(msg, "content");
    const char *why =
        json_is_string(v) ? validate_message_content(json_string_value(v)) : "must be a string";
    if (why) {
        ws_send_error(c, id, "invalid_field", "content %s", why);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* The live room named by roomId (a number or a share code). */
static bool resolve_room(ws_conn_t *c, json_t *msg, json_t *id, store_room_t *room, bool *by_code)
{
    json_t *v = json_object_get(msg, "roomId");
    int rc = -ENOENT;
    *by_code = false;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        rc = store_room_get(c->sig->store, json_integer_value(v), room);
    } else if (json_is_string(v) && room_code_is_valid(json_string_value(v))) {
        *by_code = true;
        rc = store_room_by_code(c->sig->store, json_string_value(v), room);
    } else {
        ws_send_error(c, id, "invalid_field", "roomId must be a room id or a room code");
        return false;
    }
    if (rc == 0 && room->ended_at_ms == 0)
        return true;
    if (rc == 0 || rc == -ENOENT)
        ws_send_error(c, id, "not_found", "no such room");
    else
        ws_send_error(c, id, "internal", "the store failed; try again");
    return false;
}

static bool is_member(ws_conn_t *c, int64_t room_id)
{
    char role[8];
    return store_member_role(c->sig->store, room_id, c->user_id, role) == 0;
}

/* Sockets of user_id subscribed to room_id. */
static int user_socks_in_room(ws_hub_t *hub, int64_t room_id, int64_t user_id)
{
    const idmap_set_t *set = idmap_get(&hub->room_socks, room_id);
    int n = 0;
    for (size_t i = 0; set && i < set->len; i++)
        n += ((ws_conn_t *)set->items[i])->user_id == user_id;
    return n;
}

typedef struct history_ctx {
    json_t *list;
    int limit;
    bool has_more;
} history_ctx_t;

static int collect_message(void *ctx, const store_message_t *m)
{
    history_ctx_t *hc = ctx;
    if ((int)json_array_size(hc->list) == hc->limit) {
        hc->has_more = true;
        return 1;
    }
    /* Newest first from the store; the client gets them oldest first. */
    return json_array_insert_new(hc->list, 0, api_message_json(m));
}

void ws_chat_join_room(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_hub_t *hub = c->sig->hub;
    store_room_t room;
    bool by_code;
    if (!ws_account_live(c) || !resolve_room(c, msg, id, &room, &by_code))
        return;
    bool member = is_member(c, room.id);
    if (!member && room.is_direct) {
        ws_send_error(c, id, "forbidden", "this is the room of a direct call");
        return;
    }
    if (!member && room.is_private && !by_code) {
        ws_send_error(c, id, "forbidden", "this room is private; join it with its code");
        return;
    }
    if (!ws_conn_in_room(c, room.id) && c->room_count == WS_MAX_ROOMS) {
        ws_send_error(c, id, "too_many_rooms", "a socket can be in at most %d rooms", WS_MAX_ROOMS);
        return;
    }
    if (!member) {
        int rc = store_member_add(c->sig->store, room.id, c->user_id, "member", now_unix_ms());
        if (rc && rc != -EEXIST) {
            ws_send_error(c, id, "internal", "the store failed; try again");
            return;
        }
        store_room_get(c->sig->store, room.id, &room);
    }
    api_members_ctx_t mc = {.list = json_array(), .sig = c->sig};
    history_ctx_t hc = {.list = json_array(), .limit = WS_HISTORY_ON_JOIN};
    if (!ws_conn_in_room(c, room.id)) {
        c->rooms[c->room_count++] = room.id;
        idmap_add(&hub->room_socks, room.id, c);
        if (user_socks_in_room(hub, room.id, c->user_id) == 1)
            ws_broadcast_room(hub, room.id,
                              json_pack("{s:s,s:I,s:I,s:s}", "type", "user_joined", "roomId",
                                        (json_int_t)room.id, "userId", (json_int_t)c->user_id,
                                        "username", c->username),
                              c);
    }
    if (store_members_list(c->sig->store, room.id, api_collect_member, &mc) ||
        store_messages_page(c->sig->store, room.id, 0, hc.limit + 1, collect_message, &hc)) {
        json_decref(mc.list);
        json_decref(hc.list);
        ws_send_error(c, id, "internal", "the store failed; try again");
        return;
    }
    reply(c,
          json_pack("{s:s,s:I,s:o,s:o,s:o,s:b}", "type", "room_joined", "roomId",
                    (json_int_t)room.id, "room", api_room_json(&room), "members", mc.list,
                    "messages", hc.list, "hasMore", hc.has_more),
          id);
}

static void typing_remove(ws_hub_t *hub, int64_t room_id, int64_t user_id, bool announce)
{
    for (size_t i = 0; i < hub->typing_len; i++) {
        ws_typing_t *t = &hub->typing[i];
        if (t->room_id != room_id || t->user_id != user_id)
            continue;
        if (announce)
            ws_broadcast_room_others(hub, room_id,
                                     json_pack("{s:s,s:I,s:I,s:s,s:b}", "type", "typing", "roomId",
                                               (json_int_t)room_id, "userId", (json_int_t)user_id,
                                               "username", t->username, "typing", 0),
                                     user_id);
        hub->typing[i] = hub->typing[--hub->typing_len];
        return;
    }
}

void ws_chat_unsubscribe(ws_conn_t *c, int64_t room_id)
{
    ws_hub_t *hub = c->sig->hub;
    for (int i = 0; i < c->room_count; i++) {
        if (c->rooms[i] == room_id) {
            c->rooms[i] = c->rooms[--c->room_count];
            break;
        }
    }
    idmap_remove(&hub->room_socks, room_id, c);
    if (user_socks_in_room(hub, room_id, c->user_id) > 0)
        return;
    typing_remove(hub, room_id, c->user_id, true);
    ws_broadcast_room(hub, room_id,
                      json_pack("{s:s,s:I,s:I,s:s}", "type", "user_left", "roomId",
                                (json_int_t)room_id, "userId", (json_int_t)c->user_id, "username",
                                c->username),
                      NULL);
}

void ws_chat_leave_room(ws_conn_t *c, json_t *msg, json_t *id)
{
    int64_t room_id;
    if (!field_id(c, msg, id, "roomId", &room_id))
        return;
    if (!ws_conn_in_room(c, room_id)) {
        ws_send_error(c, id, "not_in_room", "this socket has not joined that room");
        return;
    }
    ws_chat_unsubscribe(c, room_id);
    reply(c, json_pack("{s:s,s:I}", "type", "left_room", "roomId", (json_int_t)room_id), id);
}

void ws_chat_send_message(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_hub_t *hub = c->sig->hub;
    int64_t room_id;
    const char *content, *file_id;
    if (!field_id(c, msg, id, "roomId", &room_id) || !field_content(c, msg, id, &content) ||
        !field_file(c, msg, id, &file_id))
        return;
    store_room_t room;
    if (store_room_get(c->sig->store, room_id, &room) || room.ended_at_ms) {
        ws_send_error(c, id, "not_found", "no such room");
        return;
    }
    if (!is_member(c, room_id)) {
        ws_send_error(c, id, "forbidden", "you are not a member of this room");
        return;
    }
    store_message_t m;
    if (store_message_add(c->sig->store, room_id, c->user_id, content, file_id, now_unix_ms(),
                          &m)) {
        ws_send_error(c, id, "internal", "the message was not stored; send it again");
        return;
    }
    typing_remove(hub, room_id, c->user_id, true);
    json_t *out = json_pack("{s:s,s:o}", "type", "new_message", "message", api_message_json(&m));
    ws_broadcast_room(hub, room_id, json_incref(out), c);
    reply(c, out, id); /* the sender's copy is its acknowledgement */
}

void ws_chat_typing(ws_conn_t *c, json_t *msg, json_t *id, bool typing)
{
    ws_hub_t *hub = c->sig->hub;
    int64_t room_id;
    if (!field_id(c, msg, id, "roomId", &room_id))
        return;
    if (!ws_conn_in_room(c, room_id)) {
        ws_send_error(c, id, "not_in_room", "join_room first");
        return;
    }
    if (!typing) {
        typing_remove(hub, room_id, c->user_id, true);
        return;
    }
    uint64_t expires = uv_now(c->sig->loop) + WS_TYPING_EXPIRE_MS;
    for (size_t i = 0; i < hub->typing_len; i++) {
        if (hub->typing[i].room_id == room_id && hub->typing[i].user_id == c->user_id) {
            hub->typing[i].expires_ms = expires;
            return;
        }
    }
    if (hub->typing_len == hub->typing_cap) {
        size_t cap = hub->typing_cap ? hub->typing_cap * 2 : 16;
        ws_typing_t *grown = realloc(hub->typing, cap * sizeof *grown);
        if (!grown)
            return;
        hub->typing = grown;
        hub->typing_cap = cap;
    }
    ws_typing_t *t = &hub->typing[hub->typing_len++];
    t->room_id = room_id;
    t->user_id = c->user_id;
    t->expires_ms = expires;
    snprintf(t->username, sizeof t->username, "%s", c->username);
    ws_broadcast_room(hub, room_id,
                      json_pack("{s:s,s:I,s:I,s:s,s:b}", "type", "typing", "roomId",
                                (json_int_t)room_id, "userId", (json_int_t)c->user_id, "username",
                                c->username, "typing", 1),
                      c);
}

void ws_chat_typing_tick(uv_timer_t *timer)
{
    ws_hub_t *hub = timer->data;
    uint64_t now = uv_now(hub->sig->loop);
    for (size_t i = 0; i < hub->typing_len;) {
        ws_typing_t t = hub->typing[i];
        if (t.expires_ms <= now)
            typing_remove(hub, t.room_id, t.user_id, true); /* moves the last entry to i */
        else
            i++;
    }
    ws_call_tick(hub->sig);
    ws_direct_tick(hub->sig);
}

void ws_chat_send_dm(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_hub_t *hub = c->sig->hub;
    int64_t to;
    const char *content, *file_id;
    if (!field_id(c, msg, id, "recipientId", &to) || !field_content(c, msg, id, &content) ||
        !field_file(c, msg, id, &file_id))
        return;
    store_user_t recipient;
    if (to == c->user_id) {
        ws_send_error(c, id, "invalid_field", "recipientId cannot be yourself");
        return;
    }
    if (store_user_by_id(c->sig->store, to, &recipient)) {
        ws_send_error(c, id, "not_found", "no such user");
        return;
    }
    int blocked = store_is_blocked(c->sig->store, to, c->user_id);
    if (blocked != 0) {
        ws_send_error(c, id, blocked > 0 ? "blocked" : "internal",
                      blocked > 0 ? "this user does not accept messages from you"
                                  : "the store failed; try again");
        return;
    }
    store_dm_t d;
    if (store_dm_add(c->sig->store, c->user_id, to, content, file_id, now_unix_ms(), &d)) {
        ws_send_error(c, id, "internal", "the message was not stored; send it again");
        return;
    }
    json_t *out = json_pack("{s:s,s:o}", "type", "new_dm", "message", api_dm_json(&d));
    ws_broadcast_user(hub, to, json_incref(out), NULL);
    ws_broadcast_user(hub, c->user_id, json_incref(out), c);
    reply(c, out, id);
}

void ws_chat_mark_read(ws_conn_t *c, json_t *msg, json_t *id)
{
    int64_t sender, up_to = 0, last_id = 0;
    int marked = 0;
    if (!field_id(c, msg, id, "senderId", &sender))
        return;
    json_t *u = json_object_get(msg, "upToId");
    if (u && !json_is_null(u) && !field_id(c, msg, id, "upToId", &up_to))
        return;
    int64_t now = now_unix_ms();
    if (store_dm_mark_read(c->sig->store, c->user_id, sender, up_to, now, &marked, &last_id)) {
        ws_send_error(c, id, "internal", "the store failed; try again");
        return;
    }
    if (marked > 0)
        ws_broadcast_user(c->sig->hub, sender,
                          json_pack("{s:s,s:I,s:I,s:o}", "type", "read_receipt", "readerId",
                                    (json_int_t)c->user_id, "upToId", (json_int_t)last_id, "readAt",
                                    api_time_json(now)),
                          NULL);
    reply(c,
          json_pack("{s:s,s:I,s:i,s:I}", "type", "marked_read", "senderId", (json_int_t)sender,
                    "count", marked, "upToId", (json_int_t)last_id),
          id);
}

static int collect_unread_count(void *ctx, const store_unread_t *u)
{
    return json_array_append_new(
        ctx, json_pack("{s:I,s:s,s:i,s:I}", "senderId", (json_int_t)u->sender_id, "senderName",
                       u->sender_name, "count", u->count, "lastId", (json_int_t)u->last_id));
}

static int collect_dm(void *ctx, const store_dm_t *d)
{
    return json_array_append_new(ctx, api_dm_json(d));
}

void ws_chat_send_unread(ws_conn_t *c)
{
    json_t *counts = json_array(), *messages = json_array();
    if (store_dm_unread_counts(c->sig->store, c->user_id, collect_unread_count, counts) ||
        store_dm_unread_list(c->sig->store, c->user_id, UNREAD_ON_CONNECT, collect_dm, messages)) {
        json_decref(counts);
        json_decref(messages);
        ws_send_error(c, NULL, "internal", "could not load unread messages");
        return;
    }
    reply(c,
          json_pack("{s:s,s:o,s:o}", "type", "unread_dms", "counts", counts, "messages", messages),
          NULL);
}

typedef struct presence_ctx {
    ws_hub_t *hub;
    json_t *event;
    uint64_t mark;
} presence_ctx_t;

static int presence_room(void *ctx, int64_t room_id)
{
    presence_ctx_t *pc = ctx;
    const idmap_set_t *set = idmap_get(&pc->hub->room_socks, room_id);
    for (size_t i = 0; set && i < set->len; i++) {
        ws_conn_t *c = set->items[i];
        if (c->mark == pc->mark)
            continue;
        c->mark = pc->mark;
        ws_send(c, pc->event);
    }
    return 0;
}

void ws_chat_presence(ws_hub_t *hub, int64_t user_id, const char *username, bool online)
{
    store_user_t u;
    int64_t last_seen = online ? 0 : now_unix_ms();
    if (!online && store_user_by_id(hub->sig->store, user_id, &u) == 0)
        last_seen = u.last_seen_ms;
    presence_ctx_t pc = {.hub = hub, .mark = ++hub->mark};
    pc.event = json_pack("{s:s,s:I,s:s,s:s,s:o}", "type", "presence", "userId", (json_int_t)user_id,
                         "username", username, "status", online ? "online" : "offline", "lastSeen",
                         api_time_json(last_seen));
    /* Everyone who shares a room with the user and has it open hears of it. */
    store_user_room_ids(hub->sig->store, user_id, presence_room, &pc);
    json_decref(pc.event);
}

void ws_user_left_room(signaling_t *sig, int64_t user_id, int64_t room_id)
{
    ws_call_remove_user(sig, room_id, user_id, "left_room");
    ws_hub_t *hub = sig->hub;
    const idmap_set_t *set = hub ? idmap_get(&hub->user_socks, user_id) : NULL;
    for (size_t i = 0; set && i < set->len; i++) {
        ws_conn_t *c = set->items[i];
        if (!ws_conn_in_room(c, room_id))
            continue;
        ws_chat_unsubscribe(c, room_id);
        reply(c, json_pack("{s:s,s:I}", "type", "left_room", "roomId", (json_int_t)room_id), NULL);
    }
}

void ws_room_message(signaling_t *sig, json_t *message, int64_t room_id)
{
    if (!sig->hub)
        return;
    ws_broadcast_room(sig->hub, room_id,
                      json_pack("{s:s,s:O}", "type", "new_message", "message", message), NULL);
}

void ws_room_ended(signaling_t *sig, int64_t room_id, int64_t by)
{
    ws_hub_t *hub = sig->hub;
    if (!hub)
        return;
    ws_call_end_room(sig, room_id, by, NULL, NULL);
    ws_broadcast_room(hub, room_id,
                      json_pack("{s:s,s:I,s:I}", "type", "room_ended", "roomId",
                                (json_int_t)room_id, "by", (json_int_t)by),
                      NULL);
    const idmap_set_t *set;
    while ((set = idmap_get(&hub->room_socks, room_id)) && set->len > 0) {
        ws_conn_t *c = set->items[set->len - 1];
        for (int i = 0; i < c->room_count; i++) {
            if (c->rooms[i] == room_id) {
                c->rooms[i] = c->rooms[--c->room_count];
                break;
            }
        }
        idmap_remove(&hub->room_socks, room_id, c);
    }
    for (size_t i = 0; i < hub->typing_len;) {
        if (hub->typing[i].room_id == room_id)
            hub->typing[i] = hub->typing[--hub->typing_len];
        else
            i++;
    }
}
