/* signaling/signaling_internal.h: state shared by the signaling files. */
#ifndef SFU_SIGNALING_INTERNAL_H
#define SFU_SIGNALING_INTERNAL_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "common/ratelimit.h"
#include "signaling/http.h"
#include "signaling/login_throttle.h"
#include "signaling/signaling.h"
#include "store/auth.h"

#define METRICS_MAX_SERIES 256

typedef struct call_room call_room_t;
typedef struct call_peer call_peer_t;
typedef struct direct_call direct_call_t;
typedef struct whip_session whip_session_t;
typedef struct whep_session whep_session_t;

typedef struct metric_series {
    int16_t route; /* -1: no route matched */
    uint8_t method;
    uint16_t status;
    uint64_t count;
} metric_series_t;

struct signaling {
    uv_loop_t *loop;
    struct lws_context *lws;
    bool lws_stopping;
    struct lws_vhost *vhost;
    struct http_listener *listener; /* the port lws serves (listener.c) */
    struct lws_http_mount mounts[3];
    char www_dir[4096];
    store_t *store;
    struct ws_hub *hub;
    struct sfu_media *media; /* NULL when the node runs no media */
    char announce_ip[512];   /* comma-separated */
    int rtc_port, rtc_tcp_port;
    struct call_room *calls;     /* rooms with a call going on */
    direct_call_t *direct_calls; /* direct calls ringing or answered (ws_direct.c) */
    int ring_timeout_s;
    char ice_servers[1024], turn_username[128], turn_credential[128];
    char turn_secret[256];
    uint64_t next_leg_id;
    char files_dir[4096];
    ratelimit_t limit_auth, limit_api, limit_ws, limit_upload;
    login_throttle_t login_throttle; /* failed logins per account */
    uint8_t secret[AUTH_SECRET_LEN];
    uint64_t started_ms; /* uv_now at start */
    metric_series_t series[METRICS_MAX_SERIES];
    int series_count;
    uint64_t series_dropped;
    size_t body_bytes_reserved;         /* Content-Length of the request bodies being received */
    whip_session_t *whip_sessions;      /* WHIP ingest sessions (api_whip.c) */
    whep_session_t *whep_sessions;      /* WHEP playback sessions (api_whep.c) */
    char tls_cert[4096], tls_key[4096]; /* "" without TLS */
    char trusted_proxy[64];             /* "" when none */
    char metrics_token[128];            /* "" when /metrics is for loopback only */
    bool access_log;
};

/* router.c */
/* Everything a request needs before its body: the route, the store, the rate
 * limits and the bearer token. true when the handler may run; false after
 * replying (401, 429, 404, ...). Runs once; later calls return the result. */
bool router_admit(http_req_t *req);
/* router_admit, then the route's handler. */
void router_dispatch(http_req_t *req);
const char *router_route_pattern(int route);
void router_count(signaling_t *sig, int route, http_method_t method, int status);

#endif
