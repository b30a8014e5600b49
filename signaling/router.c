/* signaling/router.c: the route table, path matching, authentication and
 * the per-route request counters behind /metrics. */
#include "signaling/signaling_internal.h"

#include <string.h>

#include "signaling/api.h"

typedef enum { LIMIT_API = 0, LIMIT_AUTH, LIMIT_UPLOAD, LIMIT_NONE } route_limit_t;

typedef struct route {
    http_method_t method;
    const char *pattern; /* segments; ":x" captures one */
    void (*handler)(http_req_t *req);
    bool needs_auth;
    route_limit_t limit;
} route_t;

static const route_t routes[] = {
    {HTTP_POST, "/api/auth/register", api_auth_register, false, LIMIT_AUTH},
    {HTTP_POST, "/api/auth/login", api_auth_login, false, LIMIT_AUTH},
    {HTTP_POST, "/api/auth/refresh", api_auth_refresh, false, LIMIT_AUTH},
    {HTTP_POST, "/api/auth/logout", api_auth_logout, true, LIMIT_API},
    {HTTP_GET, "/api/auth/me", api_auth_me, true, LIMIT_API},
    {HTTP_GET, "/api/rooms", api_rooms_list, true, LIMIT_API},
    {HTTP_POST, "/api/rooms", api_rooms_create, true, LIMIT_API},
    {HTTP_GET, "/api/rooms/:id", api_room_get, true, LIMIT_API},
    {HTTP_DELETE, "/api/rooms/:id", api_room_end, true, LIMIT_API},
    {HTTP_POST, "/api/rooms/:id/join", api_room_join, true, LIMIT_API},
    {HTTP_POST, "/api/rooms/:id/leave", api_room_leave, true, LIMIT_API},
    {HTTP_GET, "/api/rooms/:id/members", api_room_members, true, LIMIT_API},
    {HTTP_GET, "/api/rooms/:id/messages", api_room_messages, true, LIMIT_API},
    {HTTP_POST, "/api/rooms/:id/messages", api_room_post_message, true, LIMIT_API},
    {HTTP_GET, "/api/direct-messages/unread", api_dm_unread, true, LIMIT_API},
    {HTTP_GET, "/api/direct-messages/:id", api_dm_history, true, LIMIT_API},
    {HTTP_POST, "/api/direct-messages/:id/read", api_dm_read, true, LIMIT_API},
    {HTTP_GET, "/api/contacts", api_contacts_list, true, LIMIT_API},
    {HTTP_POST, "/api/contacts", api_contacts_add, true, LIMIT_API},
    {HTTP_DELETE, "/api/contacts", api_contacts_remove, true, LIMIT_API},
    {HTTP_DELETE, "/api/contacts/:id", api_contacts_remove, true, LIMIT_API},
    {HTTP_GET, "/api/users", api_users_search, true, LIMIT_API},
    {HTTP_POST, "/api/users/:id/block", api_user_block, true, LIMIT_API},
    {HTTP_DELETE, "/api/users/:id/block", api_user_unblock, true, LIMIT_API},
    {HTTP_POST, "/api/users/:id/report", api_user_report, true, LIMIT_API},
    {HTTP_GET, "/api/calls", api_calls_list, true, LIMIT_API},
    {HTTP_POST, "/api/calls/seen", api_calls_seen, true, LIMIT_API},
    {HTTP_POST, "/api/upload", api_upload, true, LIMIT_UPLOAD},
    {HTTP_GET, "/api/files/:id", api_file_get, true, LIMIT_API},
    {HTTP_GET, "/api/rooms/:id/ingest-keys", api_ingest_keys_list, true, LIMIT_API},
    {HTTP_POST, "/api/rooms/:id/ingest-keys", api_ingest_key_create, true, LIMIT_API},
    {HTTP_DELETE, "/api/rooms/:id/ingest-keys/:key", api_ingest_key_revoke, true, LIMIT_API},
    /* WHIP: credentials checked by the handler (a member's token or an ingest key). */
    {HTTP_POST, "/whip/:room", api_whip_post, false, LIMIT_API},
    {HTTP_OPTIONS, "/whip/:room", api_whip_options, false, LIMIT_NONE},
    {HTTP_PATCH, "/whip/:room/:session", api_whip_patch, false, LIMIT_API},
    {HTTP_DELETE, "/whip/:room/:session", api_whip_delete, false, LIMIT_API},
    {HTTP_OPTIONS, "/whip/:room/:session", api_whip_options, false, LIMIT_NONE},
    {HTTP_POST, "/whep/:room", api_whep_post, false, LIMIT_API},
    {HTTP_OPTIONS, "/whep/:room", api_whip_options, false, LIMIT_NONE},
    {HTTP_PATCH, "/whep/:room/:session", api_whep_patch, false, LIMIT_API},
    {HTTP_DELETE, "/whep/:room/:session", api_whep_delete, false, LIMIT_API},
    {HTTP_OPTIONS, "/whep/:room/:session", api_whip_options, false, LIMIT_NONE},
    {HTTP_GET, "/api/health", api_health, false, LIMIT_NONE},
    {HTTP_GET, "/metrics", api_metrics, false, LIMIT_NONE},
};
#define ROUTE_COUNT ((int)(sizeof routes / sizeof routes[0]))

const char *router_route_pattern(int route)
{
    return route >= 0 && route < ROUTE_COUNT ? routes[route].pattern : "unmatched";
}

/* Matches path against pattern segment by segment, capturing ":x" segments. */
static bool route_match(const char *pattern, const char *path, char param[2][64])
{
    int captured = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return false;
        pattern++;
        path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (pattern[0] == ':') {
            if (slen == 0 || slen >= 64 || captured >= 2)
                return false;
            memcpy(param[captured], path, slen);
            param[captured++][slen] = '\0';
        } else if (plen != slen || memcmp(pattern, path, slen) != 0) {
            return false;
        }
        pattern += plen;
        path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

/* Token buckets: auth attempts per IP before anything else; REST requests
 * and uploads per user once the user is known (per IP when anonymous). */
static bool route_allowed(http_req_t *req, const route_t *r, bool authed)
{
    signaling_t *sig = req->sig;
    ratelimit_t *rl = NULL;
    uint64_t key;
    if (!authed && r->limit == LIMIT_AUTH) {
        rl = &sig->limit_auth;
        key = ratelimit_key_str(req->peer_ip);
    } else if (!authed && !r->needs_auth && r->limit == LIMIT_API) {
        rl = &sig->limit_api;
        key = ratelimit_key_str(req->peer_ip) | (1ull << 63);
    } else if (authed && r->needs_auth && r->limit != LIMIT_NONE) {
        rl = r->limit == LIMIT_UPLOAD ? &sig->limit_upload : &sig->limit_api;
        key = (uint64_t)req->user.id;
    }
    uint64_t retry_ms = 0;
    if (!rl || ratelimit_take(rl, key, uv_now(sig->loop), &retry_ms))
        return true;
    snprintf(req->extra_header, sizeof req->extra_header, "%llu",
             (unsigned long long)((retry_ms + 999) / 1000));
    json_t *err = json_pack("{s:s,s:s,s:I}", "code", "rate_limited", "message",
                            "too many requests; retry later", "retryAfter", (json_int_t)retry_ms);
    http_reply_json(req, 429, json_pack("{s:o}", "error", err));
    return false;
}

bool router_admit(http_req_t *req)
{
    if (req->admitted)
        return true;
    if (req->responded)
        return false;
    /* One trailing slash is tolerated: /api/rooms/ is /api/rooms. */
    size_t n = strlen(req->path);
    if (n > 1 && req->path[n - 1] == '/')
        req->path[n - 1] = '\0';

    bool path_known = false;
    for (int i = 0; i < ROUTE_COUNT; i++) {
        char param[2][64] = {{0}};
        if (!route_match(routes[i].pattern, req->path, param))
            continue;
        path_known = true;
        http_method_t m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
        if (routes[i].method != m)
            continue;
        req->route = i;
        memcpy(req->param, param, sizeof param);
        if (!req->sig->store) {
            http_reply_error(req, 503, "unavailable", NULL, "the node is starting");
            return false;
        }
        if (!route_allowed(req, &routes[i], false))
            return false;
        if (routes[i].needs_auth && !api_authenticate(req))
            return false;
        if (!route_allowed(req, &routes[i], true))
            return false;
        req->admitted = true;
        return true;
    }
    bool api = !strncmp(req->path, "/api/", 5) || !strcmp(req->path, "/api");
    if (path_known)
        http_reply_error(req, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
                         http_method_name(req->method), req->path);
    else if (!api && (req->method == HTTP_GET || req->method == HTTP_HEAD))
        static_serve(req);
    else
        http_reply_error(req, 404, "not_found", NULL, "no such endpoint: %s", req->path);
    return false;
}

void router_dispatch(http_req_t *req)
{
    if (router_admit(req))
        routes[req->route].handler(req);
}

void router_count(signaling_t *sig, int route, http_method_t method, int status)
{
    for (int i = 0; i < sig->series_count; i++) {
        metric_series_t *s = &sig->series[i];
        if (s->route == route && s->method == method && s->status == status) {
            s->count++;
            return;
        }
    }
    if (sig->series_count == METRICS_MAX_SERIES) {
        sig->series_dropped++;
        return;
    }
    sig->series[sig->series_count++] = (metric_series_t){
        .route = (int16_t)route, .method = (uint8_t)method, .status = (uint16_t)status, .count = 1};
}
