/* signaling/api_calls.c: the user's call history. */
#include <stdlib.h>

#include "signaling/api.h"
#include "signaling/signaling_internal.h"

#define CALLS_DEFAULT_LIMIT 20
#define CALLS_MAX_LIMIT     100

typedef struct calls_ctx {
    store_t *store;
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
    return json_array_append_new(
        cc->list,
        json_pack("{s:I,s:I,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)c->id, "roomId",
                  (json_int_t)c->room_id, "roomName", c->room_name ? c->room_name : "", "startedAt",
                  api_time_json(c->started_at_ms), "endedAt", time_or_null(c->ended_at_ms),
                  "endReason", c->end_reason ? json_string(c->end_reason) : json_null(),
                  "participants", people));
}

void api_calls_list(http_req_t *req)
{
    int64_t limit = CALLS_DEFAULT_LIMIT, before = 0;
    if (!api_query_positive(req, "limit", &limit) || !api_query_positive(req, "before", &before))
        return;
    if (limit > CALLS_MAX_LIMIT)
        limit = CALLS_MAX_LIMIT;
    calls_ctx_t cc = {.store = req->sig->store, .list = json_array(), .limit = (int)limit};
    int rc = store_calls_for_user(req->sig->store, req->user.id, before, (int)limit + 1,
                                  collect_call, &cc);
    if (rc || cc.rc) {
        json_decref(cc.list);
        api_reply_store_error(req, rc ? rc : cc.rc);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o,s:b}", "calls", cc.list, "hasMore", cc.has_more));
}
