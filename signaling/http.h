/* signaling/http.h: one HTTP request/response, as the API handlers see it. */
#ifndef SFU_SIGNALING_HTTP_H
#define SFU_SIGNALING_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define HTTP_MAX_BODY    (64 * 1024)
#define HTTP_MAX_UPLOAD  (5 * 1024 * 1024) /* the file itself; multipart framing adds a little */
#define HTTP_UPLOAD_PATH "/api/upload"
/* Request bodies being received, all connections together: past this a new
 * request with a body is answered 503 before any of it is read. */
#define HTTP_BODIES_MAX (32u * 1024 * 1024)
/* Headers a handler may add to its response (http_reply_header). */
#define HTTP_MAX_RESP_HEADERS 8

typedef enum {
    HTTP_GET,
    HTTP_POST,
    HTTP_PUT,
    HTTP_PATCH,
    HTTP_DELETE,
    HTTP_HEAD,
    HTTP_OPTIONS,
    HTTP_OTHER,
    HTTP_METHOD_COUNT
} http_method_t;

struct lws;
typedef struct signaling signaling_t;

typedef struct http_req {
    signaling_t *sig;
    struct lws *wsi; /* NULL once the connection closed under a deferred request */
    http_method_t method;
    char path[512];
    char authorization[2048];
    char peer_ip[64];   /* the client: the TCP peer, or X-Forwarded-For from the trusted proxy */
    bool peer_loopback; /* the TCP peer is loopback and nothing was forwarded for another */
    int64_t started_ms; /* for the access log */
    char req_content_type[256];
    size_t body_max;
    uint8_t *body;
    size_t body_len;
    bool body_expected;
    bool body_discard;    /* over the limit: read and dropped, then 413 */
    size_t body_reserved; /* counted in the node's HTTP_BODIES_MAX until freed */
    bool admitted;        /* route, limits and token checked (router_admit) */
    bool dispatched;      /* handed to its handler (then a new request here is pipelined) */
    bool body_completed;  /* lws said the body is complete (it does for body-less POSTs too) */

    /* Set by the router. */
    int route;         /* index in the route table, -1 when none matched */
    char param[2][64]; /* path parameters in order */
    store_user_t user; /* the authenticated user, when the route needs one */
    char token_jti[40];
    int64_t token_exp;

    /* The response. */
    int status;
    const char *content_type;
    char *resp;
    size_t resp_len, resp_off;
    bool responded, headers_sent, deferred, close_after;
    bool counted;          /* already in the request metrics */
    char extra_header[96]; /* e.g. "retry-after: 3" */
    bool body_is_file;     /* resp is raw file bytes (for the content type) */
    struct {
        char name[40]; /* with the colon: "location:" */
        char value[256];
    } resp_headers[HTTP_MAX_RESP_HEADERS]; /* http_reply_header */
    int resp_header_count;
} http_req_t;

const char *http_method_name(http_method_t m);
/* The client's address into out: the TCP peer, or the last X-Forwarded-For
 * entry when the peer is the --trusted-proxy. *loopback (may be NULL): the
 * peer is loopback and no X-Forwarded-For came with the request. */
void http_client_ip(signaling_t *sig, struct lws *wsi, char *out, size_t cap, bool *loopback);

/* Replies with body (stolen; NULL for an empty body). */
void http_reply_json(http_req_t *req, int status, json_t *body);
/* {"error":{"code":..,"message":..[,"field":..]}} */
void http_reply_error(http_req_t *req, int status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Adds a response header (name without the colon); past HTTP_MAX_RESP_HEADERS
 * or an over-long value it is dropped. Call before or after the reply. */
void http_reply_header(http_req_t *req, const char *name, const char *value);
/* Takes ownership of text (malloc'd). */
void http_reply_text_take(http_req_t *req, int status, const char *content_type, char *text,
                          size_t len);

/* Marks the request as answered later (after thread-pool work); the handler
 * returns, and the completion calls http_req_resume. */
void http_req_defer(http_req_t *req);
/* After a deferred request got its reply, or found its connection gone:
 * sends the reply, or frees the orphaned request. Returns false when orphaned
 * (the caller must not touch req afterwards either way). */
bool http_req_resume(http_req_t *req);
/* true when the client went away while the request was deferred. */
bool http_req_orphaned(const http_req_t *req);

/* The request body as a JSON object, or NULL after replying 400 invalid_json. */
json_t *http_req_json(http_req_t *req);
/* Query argument "name" (URL-decoded) into out; false when absent. */
bool http_req_query(http_req_t *req, const char *name, char *out, size_t out_cap);

#endif
