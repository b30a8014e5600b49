/* signaling/api_calls.c: the user's call history: room calls and direct calls. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#include "signaling/api.h"
#include "signaling/signaling_internal.h"

#define CALLS_DEFAULT_LIMIT 20
#define CALLS_MAX_LIMIT     100

typedef struct calls_ctx {
    store_t *store;
    int64_t user_id;
    json_t *list;
    int limit;
    bool has_more;
    int rc;
} calls_ctx_t;

static json_t *time_or_null(int64_t ms)
{
    return ms ? api_time_json(ms) : json_null();
}

static int collect_participant(void *ctx, const store_call_participant_t *p)
{
    json_t *list = ctx;
    return json_array_append_new(
        list, json_pack("{s:I,s:s,s:o,s:o,s:o}", "userId", (json_int_t)p->user_id, "username",
                        p->username ? p->username : "", "joinedAt", api_time_json(p->joined_at_ms),
                        "leftAt", time_or_null(p->left_at_ms), "leftReason",
                        p->leave_reason ? json_string(p->leave_reason) : json_null()));
}

/* Who rang whom as the user sees it, how it went, and how long it lasted
 * from the answer. */
static void direct_fields(json_t *call, const store_call_t *c, int64_t user_id)
{
    bool outgoing = c->caller_id == user_id;
    int64_t end = c->ended_at_ms ? c->ended_at_ms : now_unix_ms();
    json_object_set_new(call, "direction", json_string(outgoing ? "outgoing" : "incoming"));
    json_object_set_new(call, "status", json_string(c->direct_status));
    json_object_set_new(call, "media", json_string(c->video ? "video" : "audio"));
    json_object_set_new(call, "peer",
                        json_pack("{s:I,s:s}", "userId",
                                  (json_int_t)(outgoing ? c->callee_id : c->caller_id), "username",
                                  (outgoing ? c->callee_name : c->caller_name)
                                      ? (outgoing ? c->callee_name : c->caller_name)
                                      : ""));
    json_object_set_new(call, "answeredAt", time_or_null(c->answered_at_ms));
    json_object_set_new(
        call, "durationMs",
        json_integer(c->answered_at_ms ? (json_int_t)(end - c->answered_at_ms) : 0));
    if (!outgoing && !strcmp(c->direct_status, "missed"))
        json_object_set_new(call, "seen", json_boolean(c->seen_at_ms != 0));
}

static int collect_call(void *ctx, const store_call_t *c)
{
    calls_ctx_t *cc = ctx;
    if ((int)json_array_size(cc->list) == cc->limit) {
        cc->has_more = true;
        return 1;
    }
    json_t *people = json_array();
    if ((cc->rc = store_call_participants(cc->store, c->id, collect_participant, people))) {
        json_decref(people);
        return 1;
    }
    json_t *call = json_pack(
        "{s:I,s:s,s:I,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)c->id, "kind",
        c->direct_status ? "direct" : "room", "roomId", (json_int_t)c->room_id, "roomName",
        c->room_name ? c->room_name : "", "startedAt", api_time_json(c->started_at_ms), "endedAt",
        time_or_null(c->ended_at_ms), "endReason",
        c->end_reason ? json_string(c->end_reason) : json_null(), "participants", people);
    if (c->direct_status)
        direct_fields(call, c, cc->user_id);
    return json_array_append_new(cc->list, call);
}

void api_calls_list(http_req_t *req)
{
    int64_t limit = CALLS_DEFAULT_LIMIT, before = 0;
    if (!api_query_positive(req, "limit", &limit) || !api_query_positive(req, "before", &before))
        return;
    if (limit > CALLS_MAX_LIMIT)
        limit = CALLS_MAX_LIMIT;
    calls_ctx_t cc = {.store = req->sig->store,
                      .user_id = req->user.id,
                      .list = json_array(),
                      .limit = (int)limit};
    int rc = store_calls_for_user(req->sig->store, req->user.id, before, (int)limit + 1,
                                  collect_call, &cc);
    int64_t missed = 0;
    if (!rc && !cc.rc)
        rc = store_missed_calls_count(req->sig->store, req->user.id, &missed);
    if (rc || cc.rc) {
        json_decref(cc.list);
        api_reply_store_error(req, rc ? rc : cc.rc);
        return;
    }
    http_reply_json(req, 200,
                    json_pack("{s:o,s:b,s:I}", "calls", cc.list, "hasMore", cc.has_more,
                              "missedUnseen", (json_int_t)missed));
}

void api_calls_seen(http_req_t *req)
{
    int marked = 0;
    int rc = store_missed_calls_mark_seen(req->sig->store, req->user.id, now_unix_ms(), &marked);
    if (rc) {
        api_reply_store_error(req, rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:i,s:i}", "marked", marked, "missedUnseen", 0));
}
