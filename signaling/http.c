/* signaling/http.c: libwebsockets glue: the listener, request intake and
 * response writing for the REST API. Handlers live in api_*.c. */
#include "signaling/signaling_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/listener.h"
#include "signaling/ws.h"
#include "signaling/ws_call.h"
#include "signaling/ws_direct.h"
#include "signaling/ws_internal.h"

#define WRITE_CHUNK         16384
#define HTTP_HEAD_TIMEOUT_S 5                   /* seconds a request head may take to arrive */
#define HTTP_DRAIN_MAX      (16u * 1024 * 1024) /* larger bodies: answer 413 at once and close */

struct http_pss {
    http_req_t *req;
};

static const char *const method_names[HTTP_METHOD_COUNT] = {"GET",    "POST", "PUT",     "PATCH",
                                                            "DELETE", "HEAD", "OPTIONS", "OTHER"};

const char *http_method_name(http_method_t m)
{
    return m < HTTP_METHOD_COUNT ? method_names[m] : "OTHER";
}

static bool ip_is_loopback(const char *ip)
{
    return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncmp(ip, "::ffff:127.", 11);
}

/* "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) compares as "10.0.0.1". */
static const char *ip_plain(const char *ip)
{
    return strncmp(ip, "::ffff:", 7) || !strchr(ip + 7, '.') ? ip : ip + 7;
}

void http_client_ip(signaling_t *sig, struct lws *wsi, char *out, size_t cap, bool *loopback)
{
    out[0] = '\0';
    lws_get_peer_simple(wsi, out, cap);
    int xff_len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if (loopback)
        *loopback = ip_is_loopback(out) && xff_len <= 0;
    if (!sig->trusted_proxy[0] || xff_len <= 0 || strcmp(ip_plain(out), sig->trusted_proxy))
        return;
    char xff[512];
    if (lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return;
    /* The proxy appends the address it saw: the last entry is the one to trust. */
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    last += strspn(last, " \t");
    char ip[64];
    size_t n = strcspn(last, " \t");
    if (n == 0 || n >= sizeof ip)
        return;
    memcpy(ip, last, n);
    ip[n] = '\0';
    unsigned char bin[16];
    if (inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1)
        snprintf(out, cap, "%s", ip);
}

static void req_free(http_req_t *req)
{
    if (!req)
        return;
    req->sig->body_bytes_reserved -= req->body_reserved;
    free(req->body);
    free(req->resp);
    free(req);
}

static void req_set_response(http_req_t *req, int status, const char *type, char *body, size_t len)
{
    if (req->responded) { /* a handler bug: keep the first answer */
        free(body);
        return;
    }
    req->status = status;
    req->content_type = type;
    req->resp = body;
    req->resp_len = len;
    req->responded = true;
    if (!req->counted) {
        router_count(req->sig, req->route, req->method, status);
        if (req->sig->access_log)
            log_info("access", "%s %s %.*s %d %zu %lldms", req->peer_ip,
                     http_method_name(req->method), (int)strcspn(req->path, "?"), req->path, status,
                     len, (long long)(now_unix_ms() - req->started_ms));
    }
    req->counted = true;
}

void http_reply_text_take(http_req_t *req, int status, const char *content_type, char *text,
                          size_t len)
{
    req_set_response(req, status, content_type, text, len);
}

void http_reply_header(http_req_t *req, const char *name, const char *value)
{
    if (req->resp_header_count == HTTP_MAX_RESP_HEADERS ||
        strlen(name) + 2 > sizeof req->resp_headers[0].name ||
        strlen(value) + 1 > sizeof req->resp_headers[0].value)
        return;
    int i = req->resp_header_count++;
    snprintf(req->resp_headers[i].name, sizeof req->resp_headers[i].name, "%s:", name);
    snprintf(req->resp_headers[i].value, sizeof req->resp_headers[i].value, "%s", value);
}

/* The handler's own headers (http_reply_header); non-zero when they do not fit. */
static int add_resp_headers(struct lws *wsi, http_req_t *req, uint8_t **p, uint8_t *end)
{
    for (int i = 0; i < req->resp_header_count; i++) {
        const char *v = req->resp_headers[i].value;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)req->resp_headers[i].name,
                                        (const unsigned char *)v, (int)strlen(v), p, end))
            return -1;
    }
    return 0;
}

void http_reply_json(http_req_t *req, int status, json_t *body)
{
    char *text = NULL;
    size_t len = 0;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text) {
            req_set_response(req, 500, "application/json",
                             strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of "
                                    "memory\"}}"),
                             0);
            req->resp_len = req->resp ? strlen(req->resp) : 0;
            return;
        }
        len = strlen(text);
    }
    req_set_response(req, status, "application/json", text, len);
}

void http_reply_error(http_req_t *req, int status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message);
    if (field)
        json_object_set_new(err, "field", json_string(field));
    http_reply_json(req, status, json_pack("{s:o}", "error", err));
}

void http_req_defer(http_req_t *req)
{
    req->deferred = true;
}

bool http_req_orphaned(const http_req_t *req)
{
    return req->wsi == NULL;
}

bool http_req_resume(http_req_t *req)
{
    req->deferred = false;
    if (!req->wsi) {
        req_free(req);
        return false;
    }
    lws_callback_on_writable(req->wsi);
    return true;
}

json_t *http_req_json(http_req_t *req)
{
    json_error_t jerr;
    json_t *root = NULL;
    if (req->body_len)
        root = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        http_reply_error(req, 400, "invalid_json", NULL, "request body is not valid JSON%s%s",
                         req->body_len ? ": " : "", req->body_len ? jerr.text : "");
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        http_reply_error(req, 400, "invalid_json", NULL, "request body must be a JSON object");
        return NULL;
    }
    return root;
}

bool http_req_query(http_req_t *req, const char *name, char *out, size_t out_cap)
{
    if (!req->wsi)
        return false;
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    /* lws fills out with "name=value" and returns a pointer to the value. */
    const char *v = lws_get_urlarg_by_name(req->wsi, key, out, (int)out_cap);
    if (!v)
        return false;
    memmove(out, v, strlen(v) + 1);
    return true;
}

/* The method, and the full request path (lws hands callbacks a path relative
 * to the mount for some methods, so read it from the request line). */
static http_method_t req_method(struct lws *wsi, char *path, size_t path_cap)
{
    static const struct {
        enum lws_token_indexes tok;
        http_method_t m;
    } map[] = {
        {WSI_TOKEN_GET_URI, HTTP_GET},         {WSI_TOKEN_POST_URI, HTTP_POST},
        {WSI_TOKEN_PUT_URI, HTTP_PUT},         {WSI_TOKEN_PATCH_URI, HTTP_PATCH},
        {WSI_TOKEN_DELETE_URI, HTTP_DELETE},   {WSI_TOKEN_HEAD_URI, HTTP_HEAD},
        {WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (lws_hdr_total_length(wsi, map[i].tok) > 0) {
            if (lws_hdr_copy(wsi, path, (int)path_cap, map[i].tok) < 0)
                path[0] = '\0';
            return map[i].m;
        }
    }
#if defined(LWS_WITH_HTTP2)
    char m[16];
    if (lws_hdr_copy(wsi, path, (int)path_cap, WSI_TOKEN_HTTP_COLON_PATH) < 0)
        path[0] = '\0';
    path[strcspn(path, "?")] = '\0';
    if (lws_hdr_copy(wsi, m, sizeof m, WSI_TOKEN_HTTP_COLON_METHOD) > 0) {
        for (int i = 0; i < HTTP_OTHER; i++) {
            if (!strcmp(m, method_names[i]))
                return (http_method_t)i;
        }
    }
#endif
    return HTTP_OTHER;
}

/* Before any of the body is read: the route, limits and token (an anonymous
 * upload is refused from its headers), then room for the body among all the
 * bodies being received. A refusal is answered at once and closes. */
static void req_admit_body(http_req_t *req, size_t content_length)
{
    signaling_t *sig = req->sig;
    if (router_admit(req)) {
        if (req->body_discard)
            return; /* read and dropped, then 413 */
        if (content_length <= HTTP_BODIES_MAX - sig->body_bytes_reserved) {
            req->body_reserved = content_length;
            sig->body_bytes_reserved += content_length;
            return;
        }
        snprintf(req->extra_header, sizeof req->extra_header, "1");
        http_reply_error(req, 503, "busy", NULL,
                         "too many request bodies are being received; retry shortly");
    }
    if (req->responded) {
        req->body_expected = false;
        req->close_after = true;
    }
}

/* Reads the request line and headers; decides whether a body follows. */
static http_req_t *req_begin(signaling_t *sig, struct lws *wsi, const char *path, size_t path_len)
{
    http_req_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->sig = sig;
    req->wsi = wsi;
    req->route = -1;
    req->method = req_method(wsi, req->path, sizeof req->path);
    if (!req->path[0])
        snprintf(req->path, sizeof req->path, "%.*s", (int)path_len, path);
    if (lws_hdr_copy(wsi, req->authorization, sizeof req->authorization,
                     WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
        req->authorization[0] = '\0';
    req->started_ms = now_unix_ms();
    http_client_ip(sig, wsi, req->peer_ip, sizeof req->peer_ip, &req->peer_loopback);
    if (lws_hdr_copy(wsi, req->req_content_type, sizeof req->req_content_type,
                     WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
        req->req_content_type[0] = '\0';
    /* Uploads may be larger than JSON bodies. */
    req->body_max = strcmp(req->path, HTTP_UPLOAD_PATH) ? HTTP_MAX_BODY : HTTP_MAX_UPLOAD + 16384;

    char clen[32];
    bool chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    if (chunked && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        /* RFC 9112 6.3: a request smuggling attempt, or a broken client. */
        http_reply_error(req, 400, "bad_request", NULL,
                         "send either Content-Length or Transfer-Encoding, not both");
        req->close_after = true;
    } else if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(clen, &end, 10);
        if (errno || *end || end == clen) {
            http_reply_error(req, 400, "bad_request", NULL, "Content-Length is not a number");
            req->close_after = true;
        } else if (n > req->body_max && n <= HTTP_DRAIN_MAX) {
            /* Read and drop the body so the client is sending no more when the 413 comes. */
            req->body_discard = true;
            req->body_expected = true;
        } else if (n > req->body_max) {
            http_reply_error(req, 413, "payload_too_large", NULL,
                             "request body is %llu bytes; the limit is %zu", n, req->body_max);
            req->close_after = true;
        } else if (n > 0) {
            req->body_expected = true;
        }
        if (req->body_expected)
            req_admit_body(req, (size_t)n);
    } else if (chunked) {
        http_reply_error(req, 411, "length_required", NULL,
                         "send the request body with a Content-Length");
        req->close_after = true;
    }
    return req;
}

static int req_body_append(http_req_t *req, const void *in, size_t len)
{
    if (req->responded || req->body_discard)
        return 0;
    if (req->body_len + len > req->body_reserved) {
        http_reply_error(req, 413, "payload_too_large", NULL, "request body over %zu bytes",
                         req->body_reserved);
        req->close_after = true;
        return 0;
    }
    /* Room for the whole declared body at once: no copying as it grows. */
    if (!req->body && !(req->body = malloc(req->body_reserved + 1)))
        return -1;
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

/* Ends the transaction; returns the lws callback's return value. */
static int req_finish(struct http_pss *pss, struct lws *wsi)
{
    bool close_after = pss->req->close_after;
    req_free(pss->req);
    pss->req = NULL;
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int req_write(struct http_pss *pss, struct lws *wsi)
{
    http_req_t *req = pss->req;
    if (!req || !req->responded || req->deferred)
        return 0;
    uint8_t buf[LWS_PRE + WRITE_CHUNK];
    uint8_t *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (!req->headers_sent) {
        if (lws_add_http_common_headers(wsi, (unsigned int)req->status,
                                        req->resp_len ? req->content_type : NULL, req->resp_len, &p,
                                        end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                        (const unsigned char *)"no-store", 8, &p, end) ||
            (req->extra_header[0] &&
             lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                         (const unsigned char *)req->extra_header,
                                         (int)strlen(req->extra_header), &p, end)) ||
            add_resp_headers(wsi, req, &p, end) ||
            (req->close_after &&
             lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
                                          5, &p, end)) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        req->headers_sent = true;
        if (!req->resp_len || req->method == HTTP_HEAD)
            return req_finish(pss, wsi);
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t n = req->resp_len - req->resp_off;
    if (n > WRITE_CHUNK)
        n = WRITE_CHUNK;
    bool final = req->resp_off + n == req->resp_len;
    memcpy(start, req->resp + req->resp_off, n);
    if (lws_write(wsi, start, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    req->resp_off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return req_finish(pss, wsi);
}

/* Routes the request; a ready answer goes out once the socket is writable. */
static void req_dispatch(http_req_t *req)
{
    req->dispatched = true;
    if (!req->responded)
        router_dispatch(req);
    if (req->responded && !req->deferred)
        lws_callback_on_writable(req->wsi);
}

/* An answer that ends the connection (refused from the headers), written at
 * once: lws may close the connection over the bytes that follow (a body it
 * cannot frame) before the socket is next writable. Returns the callback's
 * return value: -1 once written. */
static int req_write_closing(struct http_pss *pss, struct lws *wsi)
{
    http_req_t *req = pss->req;
    for (;;) {
        bool last = req->headers_sent ? req->resp_len - req->resp_off <= WRITE_CHUNK
                                      : !req->resp_len || req->method == HTTP_HEAD;
        int rc = req_write(pss, wsi);
        if (rc || last)
            return rc ? rc : -1;
    }
}

/* A request that is still being answered (deferred work, or an answer not
 * yet written) when lws hands over another one on the same connection:
 * libwebsockets 4.1 cannot keep pipelined requests apart (it resets the
 * request for the next one, or feeds the next one's bytes as a body). The
 * pending work is told the connection is gone, and the connection closes. */
static int req_pipelined(struct http_pss *pss)
{
    if (pss->req->deferred)
        pss->req->wsi = NULL; /* the pending work frees it */
    else
        req_free(pss->req);
    pss->req = NULL;
    return -1;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct http_pss *pss = user;
    signaling_t *sig = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (pss->req && pss->req->dispatched)
            return req_pipelined(pss);
        req_free(pss->req);
        pss->req = req_begin(sig, wsi, in, strlen(in));
        if (!pss->req)
            return -1;
        if (pss->req->responded && pss->req->close_after) {
            pss->req->dispatched = true;
            return req_write_closing(pss, wsi);
        }
        if (!pss->req->body_expected)
            req_dispatch(pss->req);
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        if (!pss->req)
            return -1;
        if (pss->req->dispatched)
            return 0; /* bytes after an answered or pending request: dropped */
        return req_body_append(pss->req, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!pss->req)
            return -1;
        /* lws repeats the completion when requests are pipelined behind
         * this one (and would spin on it): that ends the connection. */
        if (pss->req->body_completed)
            return req_pipelined(pss);
        pss->req->body_completed = true;
        if (pss->req->dispatched)
            return 0; /* a request without a body, dispatched from its headers */
        if (pss->req->body_discard && !pss->req->responded) {
            http_reply_error(pss->req, 413, "payload_too_large", NULL,
                             "request body over %zu bytes", pss->req->body_max);
            pss->req->close_after = true;
        }
        req_dispatch(pss->req);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return req_write(pss, wsi);
    case LWS_CALLBACK_CLOSED_HTTP:
    /* Also when lws resets the connection for the next request of a
     * pipelined pair before answering this one: nothing else frees it. */
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss && pss->req) {
            if (pss->req->deferred)
                pss->req->wsi = NULL; /* the pending work frees it */
            else
                req_free(pss->req);
            pss->req = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http-api", callback_http, sizeof(struct http_pss), 0, 0, NULL, 0},
    {"sfu", ws_callback, sizeof(ws_conn_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Browsers open `new WebSocket(url)` without a subprotocol: make "sfu" the
 * vhost's default instead of protocols[0]. */
static const struct lws_protocol_vhost_options ws_default_opt = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options ws_pvo = {NULL, &ws_default_opt, "sfu", ""};

/* WebSocket heartbeat: ping after 20 s of silence, drop after 30 s. */
static const lws_retry_bo_t ws_idle_policy = {.secs_since_valid_ping = 20,
                                              .secs_since_valid_hangup = 30};

static void lws_log_emit(int level, const char *line)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", line);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_write(level == LLL_ERR ? LOG_WARN : LOG_DEBUG, "lws", "%s", msg);
}

/* lws accepts files it cannot use; load them here to name the problem. */
static int check_tls_files(const char *cert_path, const char *key_path, char *err, size_t err_cap)
{
    FILE *cf = fopen(cert_path, "r");
    if (!cf) {
        snprintf(err, err_cap, "cannot read TLS certificate '%s': %s", cert_path, strerror(errno));
        return -EINVAL;
    }
    X509 *cert = PEM_read_X509(cf, NULL, NULL, NULL);
    fclose(cf);
    if (!cert) {
        snprintf(err, err_cap, "TLS certificate '%s' is not a PEM certificate", cert_path);
        return -EINVAL;
    }
    FILE *kf = fopen(key_path, "r");
    if (!kf) {
        snprintf(err, err_cap, "cannot read TLS key '%s': %s", key_path, strerror(errno));
        X509_free(cert);
        return -EINVAL;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    fclose(kf);
    int rc = 0;
    if (!key) {
        snprintf(err, err_cap, "TLS key '%s' is not an unencrypted PEM private key", key_path);
        rc = -EINVAL;
    } else if (X509_check_private_key(cert, key) != 1) {
        snprintf(err, err_cap, "TLS key '%s' does not match certificate '%s'", key_path, cert_path);
        rc = -EINVAL;
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

int signaling_start(uv_loop_t *loop, const signaling_opts_t *opts, signaling_t **out, char *err,
                    size_t err_cap)
{
    bool tls = opts->tls_cert && opts->tls_cert[0];
    if (tls && check_tls_files(opts->tls_cert, opts->tls_key, err, err_cap))
        return -EINVAL;
    /* The node accepts on its own socket (signaling/listener.c) and hands
     * connections to lws: the vhost itself listens on nothing. */
    int listen_fd = -1;
    int rc = http_listener_bind(opts->listen_host, opts->listen_port, &listen_fd, err, err_cap);
    if (rc)
        return rc;

    signaling_t *sig = calloc(1, sizeof *sig);
    if (!sig) {
        close(listen_fd);
        snprintf(err, err_cap, "out of memory");
        return -ENOMEM;
    }
    sig->loop = loop;
    sig->started_ms = uv_now(loop);
    snprintf(sig->www_dir, sizeof sig->www_dir, "%s", opts->www_dir);
    snprintf(sig->ice_servers, sizeof sig->ice_servers, "%s",
             opts->ice_servers ? opts->ice_servers : "");
    snprintf(sig->turn_username, sizeof sig->turn_username, "%s",
             opts->turn_username ? opts->turn_username : "");
    snprintf(sig->turn_credential, sizeof sig->turn_credential, "%s",
             opts->turn_credential ? opts->turn_credential : "");
    sig->ring_timeout_s = opts->ring_timeout_s;
    snprintf(sig->turn_secret, sizeof sig->turn_secret, "%s",
             opts->turn_secret ? opts->turn_secret : "");

    /* Startup failures are reported once, by us; lws stays quiet until then. */
    lws_set_log_level(0, lws_log_emit);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *foreign_loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign_loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.user = sig;
    info.retry_and_idle_policy = &ws_idle_policy;
    snprintf(sig->files_dir, sizeof sig->files_dir, "%s/files",
             opts->data_dir ? opts->data_dir : ".");
    ratelimit_init(&sig->limit_auth, opts->limit_auth_per_min / 60.0, opts->limit_auth_per_min);
    ratelimit_init(&sig->limit_api, opts->limit_api_per_s, opts->limit_api_per_s * 2);
    ratelimit_init(&sig->limit_ws, opts->limit_ws_per_s, opts->limit_ws_per_s * 2);
    ratelimit_init(&sig->limit_upload, opts->limit_upload_per_min / 60.0,
                   opts->limit_upload_per_min);
    login_throttle_init(&sig->login_throttle);
    snprintf(sig->trusted_proxy, sizeof sig->trusted_proxy, "%s",
             opts->trusted_proxy ? opts->trusted_proxy : "");
    snprintf(sig->metrics_token, sizeof sig->metrics_token, "%s",
             opts->metrics_token ? opts->metrics_token : "");
    sig->access_log = opts->access_log;
    if (tls) {
        snprintf(sig->tls_cert, sizeof sig->tls_cert, "%s", opts->tls_cert);
        snprintf(sig->tls_key, sizeof sig->tls_key, "%s", opts->tls_key);
    }
    if (ws_hub_init(sig)) {
        close(listen_fd);
        snprintf(err, err_cap, "out of memory");
        free(sig);
        return -ENOMEM;
    }
    sig->lws = lws_create_context(&info);
    if (!sig->lws) {
        close(listen_fd);
        snprintf(err, err_cap, "cannot start the HTTP server (libwebsockets context)");
        free(sig);
        return -EIO;
    }

    struct lws_http_mount *m = sig->mounts;
    m[0] = (struct lws_http_mount){.mountpoint = "/api",
                                   .mountpoint_len = 4,
                                   .origin = "http-api",
                                   .origin_protocol = LWSMPRO_CALLBACK,
                                   .mount_next = &m[1]};
    m[1] = (struct lws_http_mount){.mountpoint = "/metrics",
                                   .mountpoint_len = 8,
                                   .origin = "http-api",
                                   .origin_protocol = LWSMPRO_CALLBACK,
                                   .mount_next = &m[2]};
    m[2] = (struct lws_http_mount){.mountpoint = "/",
                                   .mountpoint_len = 1,
                                   .origin = "http-api",
                                   .origin_protocol = LWSMPRO_CALLBACK};

    struct lws_context_creation_info vinfo;
    memset(&vinfo, 0, sizeof vinfo);
    vinfo.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    vinfo.protocols = protocols;
    vinfo.mounts = m;
    vinfo.vhost_name = "sfu";
    vinfo.pvo = &ws_pvo;
    vinfo.retry_and_idle_policy = &ws_idle_policy;
    /* A request head not complete after this long is dropped (slow senders,
     * and heads lws's parser cannot finish: docs/DEPLOY.md). */
    vinfo.timeout_secs_ah_idle = HTTP_HEAD_TIMEOUT_S;
    vinfo.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (tls) {
        /* lws turns a vhost's TLS off unless its own options ask for it too. */
        vinfo.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        vinfo.ssl_cert_filepath = opts->tls_cert;
        vinfo.ssl_private_key_filepath = opts->tls_key;
    }
    sig->vhost = lws_create_vhost(sig->lws, &vinfo);
    if (sig->vhost)
        sig->listener = http_listener_start(loop, listen_fd, sig->vhost, !tls);
    if (!sig->listener) {
        close(listen_fd);
        snprintf(err, err_cap, "cannot listen on %s:%d%s", opts->listen_host, opts->listen_port,
                 !sig->vhost && tls ? ": the TLS certificate or key was refused" : "");
        lws_context_destroy(sig->lws);
        free(sig);
        return -EIO;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    *out = sig;
    return 0;
}

void signaling_attach_store(signaling_t *sig, store_t *store, const uint8_t *secret,
                            size_t secret_len)
{
    sig->store = store;
    if (store_calls_close_open(store, now_unix_ms()))
        log_warn("calls", "calls left open by a previous run could not be closed");
    memcpy(sig->secret, secret, secret_len < sizeof sig->secret ? secret_len : sizeof sig->secret);
}

void signaling_attach_media(signaling_t *sig, struct sfu_media *media, const char *announce_ip,
                            int rtc_port, int rtc_tcp_port)
{
    sig->media = media;
    snprintf(sig->announce_ip, sizeof sig->announce_ip, "%s", announce_ip);
    sig->rtc_port = rtc_port;
    sig->rtc_tcp_port = rtc_tcp_port;
}

void signaling_media_event(signaling_t *sig, uint64_t leg_id, bool connected, const char *reason)
{
    ws_call_leg_state(sig, leg_id, connected, reason);
    api_whep_leg_state(sig, leg_id, connected);
}

void signaling_media_speaker(signaling_t *sig, int64_t room_id, uint64_t active_producer_id,
                             bool changed, int n, const uint64_t *producer_ids,
                             const uint8_t *loudness)
{
    ws_call_speaker(sig, room_id, active_producer_id, changed, n, producer_ids, loudness);
}

/* The whole of a small file, NUL-terminated; NULL when unreadable. */
static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(1024 * 1024 + 1);
    *len = buf ? fread(buf, 1, 1024 * 1024, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

int signaling_reload_tls(signaling_t *sig, char *err, size_t err_cap)
{
    if (!sig->tls_cert[0]) {
        snprintf(err, err_cap, "the node serves no TLS");
        return -EINVAL;
    }
    if (check_tls_files(sig->tls_cert, sig->tls_key, err, err_cap))
        return -EINVAL;
    size_t cert_len = 0, key_len = 0;
    char *cert = read_small_file(sig->tls_cert, &cert_len);
    char *key = read_small_file(sig->tls_key, &key_len);
    int rc = 0;
    if (!cert || !key) {
        snprintf(err, err_cap, "cannot read the TLS certificate or key");
        rc = -EIO;
    } else if (lws_tls_cert_updated(sig->lws, sig->tls_cert, sig->tls_key, cert, cert_len, key,
                                    key_len)) {
        snprintf(err, err_cap, "libwebsockets refused the new certificate");
        rc = -EIO;
    }
    if (key)
        OPENSSL_cleanse(key, key_len);
    free(cert);
    free(key);
    return rc;
}

void signaling_stop(signaling_t *sig)
{
    if (!sig || !sig->lws || sig->lws_stopping)
        return;
    sig->lws_stopping = true;
    http_listener_close(sig->listener);
    sig->listener = NULL;
    lws_context_destroy(sig->lws);
    ws_direct_close_all(sig);
    ws_call_close_all(sig);
    api_whep_close_all(sig);
    ws_hub_stop(sig);
}

void signaling_free(signaling_t *sig)
{
    if (!sig)
        return;
    signaling_stop(sig);
    /* With a foreign loop the first destroy only starts closing; once the loop
     * has run the handles down, this call frees what remains. */
    if (sig->lws)
        lws_context_destroy(sig->lws);
    sig->lws = NULL;
    ws_hub_free(sig);
    ratelimit_free(&sig->limit_auth);
    ratelimit_free(&sig->limit_api);
    ratelimit_free(&sig->limit_ws);
    ratelimit_free(&sig->limit_upload);
    login_throttle_free(&sig->login_throttle);
    free(sig);
}
