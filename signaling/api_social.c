/* signaling/api_social.c: direct messages, contacts, user search, blocks and
 * reports over REST. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/signaling_internal.h"
#include "signaling/ws.h"
#include "signaling/ws_internal.h"
#include "store/store_social.h"

#define DM_DEFAULT_LIMIT 50
#define DM_MAX_LIMIT     100
#define SEARCH_LIMIT     20
#define REPORT_MAX_CHARS 1000

json_t *api_dm_json(const store_dm_t *d)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:s,s:s,s:o,s:o}", "id", (json_int_t)d->id, "senderId",
                          (json_int_t)d->sender_id, "recipientId", (json_int_t)d->recipient_id,
                          "senderName", d->sender_name ? d->sender_name : "", "content", d->content,
                          "createdAt", api_time_json(d->created_at_ms), "readAt",
                          api_time_json(d->read_at_ms));
    if (o && d->file_id)
        json_object_set_new(o, "fileId", json_string(d->file_id));
    return o;
}

static json_t *user_public_json(signaling_t *sig, const store_user_t *u)
{
    return json_pack("{s:I,s:s,s:b,s:o}", "id", (json_int_t)u->id, "username", u->username,
                     "online", ws_user_online(sig, u->id), "lastSeen",
                     api_time_json(u->last_seen_ms));
}

/* The other user named by the path; replies 404 when there is none. */
static bool path_user(http_req_t *req, store_user_t *u)
{
    int64_t id = api_parse_id(req->param[0]);
    int rc = id > 0 ? store_user_by_id(req->sig->store, id, u) : -ENOENT;
    if (rc == 0)
        return true;
    if (rc == -ENOENT)
        http_reply_error(req, 404, "not_found", NULL, "no such user: %s", req->param[0]);
    else
        api_reply_store_error(req, rc);
    return false;
}

static int collect_unread(void *ctx, const store_unread_t *u)
{
    return json_array_append_new(
        ctx, json_pack("{s:I,s:s,s:i,s:I}", "senderId", (json_int_t)u->sender_id, "senderName",
                       u->sender_name, "count", u->count, "lastId", (json_int_t)u->last_id));
}

void api_dm_unread(http_req_t *req)
{
    json_t *list = json_array();
    int rc = store_dm_unread_counts(req->sig->store, req->user.id, collect_unread, list);
    if (rc) {
        json_decref(list);
        api_reply_store_error(req, rc);
        return;
    }
    json_int_t total = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) total += json_integer_value(json_object_get(v, "count"));
    http_reply_json(req, 200, json_pack("{s:o,s:I}", "unread", list, "total", total));
}

typedef struct dm_page {
    json_t *list;
    int limit;
    bool has_more;
} dm_page_t;

static int collect_dm(void *ctx, const store_dm_t *d)
{
    dm_page_t *pg = ctx;
    if ((int)json_array_size(pg->list) == pg->limit) {
        pg->has_more = true;
        return 1;
    }
    return json_array_append_new(pg->list, api_dm_json(d));
}

void api_dm_history(http_req_t *req)
{
    store_user_t other;
    if (!path_user(req, &other))
        return;
    int64_t limit = DM_DEFAULT_LIMIT, before = 0;
    if (!api_query_positive(req, "limit", &limit) || !api_query_positive(req, "before", &before))
        return;
    if (limit > DM_MAX_LIMIT)
        limit = DM_MAX_LIMIT;
    dm_page_t pg = {.list = json_array(), .limit = (int)limit};
    int rc = store_dm_history(req->sig->store, req->user.id, other.id, before, (int)limit + 1,
                              collect_dm, &pg);
    if (rc) {
        json_decref(pg.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o,s:b}", "messages", pg.list, "hasMore", pg.has_more));
}

void api_dm_read(http_req_t *req)
{
    store_user_t other;
    if (!path_user(req, &other))
        return;
    int64_t up_to = 0, last_id = 0;
    json_t *body = NULL;
    if (req->body_len) {
        if (!(body = http_req_json(req)))
            return;
        json_t *v = json_object_get(body, "upToId");
        if (v && !json_is_null(v)) {
            if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                json_decref(body);
                http_reply_error(req, 400, "invalid_field", "upToId",
                                 "upToId must be a positive integer");
                return;
            }
            up_to = json_integer_value(v);
        }
        json_decref(body);
    }
    int marked = 0;
    int64_t now = now_unix_ms();
    int rc =
        store_dm_mark_read(req->sig->store, req->user.id, other.id, up_to, now, &marked, &last_id);
    if (rc) {
        api_reply_store_error(req, rc);
        return;
    }
    if (marked > 0 && req->sig->hub)
        ws_broadcast_user(req->sig->hub, other.id,
                          json_pack("{s:s,s:I,s:I,s:o}", "type", "read_receipt", "readerId",
                                    (json_int_t)req->user.id, "upToId", (json_int_t)last_id,
                                    "readAt", api_time_json(now)),
                          NULL);
    http_reply_json(req, 200,
                    json_pack("{s:i,s:I}", "count", marked, "upToId", (json_int_t)last_id));
}

typedef struct users_ctx {
    json_t *list;
    signaling_t *sig;
} users_ctx_t;

static int collect_user(void *ctx, const store_user_t *u)
{
    users_ctx_t *uc = ctx;
    return json_array_append_new(uc->list, user_public_json(uc->sig, u));
}

void api_contacts_list(http_req_t *req)
{
    users_ctx_t uc = {.list = json_array(), .sig = req->sig};
    int rc = store_contacts_list(req->sig->store, req->user.id, collect_user, &uc);
    if (rc) {
        json_decref(uc.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "contacts", uc.list));
}

/* The userId of a JSON body; replies 400 and returns 0 when missing or wrong. */
static int64_t body_user_id(http_req_t *req, json_t *body)
{
    json_t *v = json_object_get(body, "userId");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        return json_integer_value(v);
    http_reply_error(req, 400, "invalid_field", "userId", "userId must be a positive integer");
    return 0;
}

void api_contacts_add(http_req_t *req)
{
    json_t *body = http_req_json(req);
    if (!body)
        return;
    int64_t id = body_user_id(req, body);
    json_decref(body);
    if (!id)
        return;
    store_user_t u;
    if (id == req->user.id) {
        http_reply_error(req, 400, "invalid_field", "userId", "you cannot add yourself");
        return;
    }
    int rc = store_user_by_id(req->sig->store, id, &u);
    if (rc == 0)
        rc = store_contact_add(req->sig->store, req->user.id, id, now_unix_ms());
    if (rc == -EEXIST)
        http_reply_error(req, 409, "conflict", "userId", "already a contact");
    else if (rc == -ENOENT)
        http_reply_error(req, 404, "not_found", NULL, "no such user");
    else if (rc)
        api_reply_store_error(req, rc);
    else
        http_reply_json(req, 201, json_pack("{s:o}", "contact", user_public_json(req->sig, &u)));
}

void api_contacts_remove(http_req_t *req)
{
    int64_t id;
    if (req->param[0][0]) {
        id = api_parse_id(req->param[0]);
    } else {
        json_t *body = http_req_json(req);
        if (!body)
            return;
        id = body_user_id(req, body);
        json_decref(body);
        if (!id)
            return;
    }
    int rc = id > 0 ? store_contact_remove(req->sig->store, req->user.id, id) : -ENOENT;
    if (rc == -ENOENT)
        http_reply_error(req, 404, "not_found", NULL, "not a contact");
    else if (rc)
        api_reply_store_error(req, rc);
    else
        http_reply_json(req, 204, NULL);
}

void api_users_search(http_req_t *req)
{
    char q[256];
    if (!http_req_query(req, "q", q, sizeof q) || !q[0] || strlen(q) > 50) {
        http_reply_error(req, 400, "invalid_field", "q",
                         "q must be 1-50 characters: the start of a username");
        return;
    }
    users_ctx_t uc = {.list = json_array(), .sig = req->sig};
    int rc = store_user_search(req->sig->store, q, SEARCH_LIMIT, collect_user, &uc);
    if (rc) {
        json_decref(uc.list);
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "users", uc.list));
}

static void block_set(http_req_t *req, bool block)
{
    store_user_t u;
    if (!path_user(req, &u))
        return;
    if (u.id == req->user.id) {
        http_reply_error(req, 400, "invalid_field", "id", "you cannot block yourself");
        return;
    }
    int rc = block ? store_block_add(req->sig->store, req->user.id, u.id, now_unix_ms())
                   : store_block_remove(req->sig->store, req->user.id, u.id);
    if (rc && rc != -ENOENT)
        api_reply_store_error(req, rc);
    else
        http_reply_json(req, 204, NULL);
}

void api_user_block(http_req_t *req)
{
    block_set(req, true);
}

void api_user_unblock(http_req_t *req)
{
    block_set(req, false);
}

void api_user_report(http_req_t *req)
{
    store_user_t u;
    if (!path_user(req, &u))
        return;
    if (u.id == req->user.id) {
        http_reply_error(req, 400, "invalid_field", "id", "you cannot report yourself");
        return;
    }
    json_t *body = http_req_json(req);
    if (!body)
        return;
    const char *reason;
    if (api_field_string(req, body, "reason", true, &reason)) {
        long n = utf8_length(reason, strlen(reason));
        if (n < 1 || n > REPORT_MAX_CHARS) {
            http_reply_error(req, 400, "invalid_field", "reason", "reason must be 1-%d characters",
                             REPORT_MAX_CHARS);
        } else {
            int rc = store_report_add(req->sig->store, req->user.id, u.id, reason, now_unix_ms());
            if (rc) {
                api_reply_store_error(req, rc);
            } else {
                log_info("users", "user %lld reported user %lld", (long long)req->user.id,
                         (long long)u.id);
                http_reply_json(req, 201, json_pack("{s:b}", "reported", 1));
            }
        }
    }
    json_decref(body);
}
