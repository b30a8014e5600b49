/* Fuzz target: HTTP request handling above libwebsockets' parser: the route
 * table, authentication, rate limits, every REST handler (signaling/router.c,
 * api_*.c, static.c), with a real store and the web client's folder.
 *   make build/fuzz/fuzz_http; build/fuzz/fuzz_http -max_total_time=60
 * Input: byte 0 picks the method; then newline-separated lines: the request
 * target (path and query), the Authorization header ("@" stands for a valid
 * token of user alice, since a fuzzer cannot sign one), the Content-Type;
 * the rest is the body. Every request must be answered exactly once with a
 * status from 200 to 599, and a JSON answer must be valid JSON. Only the
 * connection is replaced: query arguments are read from the target here,
 * and "ask to write" is recorded. */
#include "tests/fuzz/fuzz_node.h" /* first: it sets _XOPEN_SOURCE */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/http.h"
#include "store/auth.h"

/* ---- the connection's side of lws ---- */
static char query[1024]; /* the request's query string, without '?' */

const char *lws_get_urlarg_by_name(struct lws *wsi, const char *name, char *buf, int len)
{
    (void)wsi;
    size_t nlen = strlen(name);
    const char *p = query;
    while (*p) {
        size_t n = strcspn(p, "&");
        if (n >= nlen && !strncmp(p, name, nlen) && len > 0) {
            size_t copy = n < (size_t)len - 1 ? n : (size_t)len - 1;
            memcpy(buf, p, copy);
            buf[copy] = '\0';
            return copy >= nlen ? buf + nlen : NULL;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return NULL;
}

int lws_callback_on_writable(struct lws *wsi)
{
    (void)wsi;
    return 1;
}

/* ---- the node ---- */
static signaling_t *sig;
static char token[512];
static char fake_wsi[64]; /* never looked into: only the stubs above get it */

static int64_t alice_id;
static unsigned runs;

/* A fresh database every few hundred inputs: what one input deletes or
 * revokes (room 1, a token) does not shut the others out for long. */
static store_t *fresh_store(store_t *old)
{
    store_close(old);
    const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char f[96];
        snprintf(f, sizeof f, "%s/sfu.db%s", fuzz_dir, suffixes[i]);
        unlink(f);
    }
    store_user_t alice, bob;
    store_t *st = fuzz_open_store(&alice, &bob);
    alice_id = alice.id;
    return st;
}

static void setup(void)
{
    fuzz_make_dir("fuzz_http");
    sig = fuzz_signaling(fresh_store(NULL));
}

/* The next line of the input (up to '\n' or the end) into out. */
static void take_line(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    size_t copy = n < cap - 1 ? n : cap - 1;
    memcpy(out, *p, copy);
    out[copy] = '\0';
    *p += nl ? n + 1 : n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sig)
        setup();
    if (size < 1 || size > 256 * 1024)
        return 0;
    if (++runs % 512 == 0)
        sig->store = fresh_store(sig->store);
    /* A token of its own for each input: one input's logout revokes only it. */
    strcpy(token, "Bearer ");
    if (jwt_sign(sig->secret, sizeof sig->secret, alice_id, now_unix_ms() / 1000, 3600, token + 7,
                 sizeof token - 7, NULL))
        abort();
    const uint8_t *p = data + 1, *end = data + size;
    http_req_t *req = calloc(1, sizeof *req);
    req->sig = sig;
    req->wsi = (struct lws *)fake_wsi;
    req->route = -1;
    req->method = (http_method_t)(data[0] % HTTP_METHOD_COUNT);
    char target[2048], auth[sizeof req->authorization];
    take_line(&p, end, target, sizeof target);
    take_line(&p, end, auth, sizeof auth);
    take_line(&p, end, req->req_content_type, sizeof req->req_content_type);
    size_t plen = strcspn(target, "?");
    snprintf(query, sizeof query, "%s", target[plen] ? target + plen + 1 : "");
    target[plen] = '\0';
    /* lws hands over paths that start with '/'. */
    snprintf(req->path, sizeof req->path, "%s%s", target[0] == '/' ? "" : "/", target);
    snprintf(req->authorization, sizeof req->authorization, "%s", strcmp(auth, "@") ? auth : token);
    snprintf(req->peer_ip, sizeof req->peer_ip, "192.0.2.1");
    req->started_ms = now_unix_ms();
    req->body_max = strcmp(req->path, HTTP_UPLOAD_PATH) ? HTTP_MAX_BODY : HTTP_MAX_UPLOAD + 16384;

    /* As http.c does: route, limits and token before the body, which is then
     * held in a buffer of its own size (NUL after it) so ASan sees overreads. */
    size_t body_len = (size_t)(end - p);
    if (body_len > req->body_max) {
        body_len = req->body_max;
    }
    if (body_len && router_admit(req)) {
        req->body = malloc(body_len + 1);
        memcpy(req->body, p, body_len);
        req->body[body_len] = '\0';
        req->body_len = req->body_reserved = body_len;
        sig->body_bytes_reserved += body_len;
    }
    if (!req->responded)
        router_dispatch(req);
    /* Deferred work (password hashing) finishes on the loop. */
    for (int i = 0; req->deferred && i < 1000; i++)
        uv_run(sig->loop, UV_RUN_ONCE);
    if (req->deferred || !req->responded || req->status < 200 || req->status > 599) {
        fprintf(stderr, "%s %s: no answer (status %d)\n", http_method_name(req->method), req->path,
                req->status);
        abort();
    }
    if (req->resp_len && req->content_type && !strcmp(req->content_type, "application/json")) {
        json_error_t jerr;
        json_t *j = json_loadb(req->resp, req->resp_len, 0, &jerr);
        if (!j) {
            fprintf(stderr, "%s %s: answer is not JSON: %.*s\n", http_method_name(req->method),
                    req->path, (int)req->resp_len, req->resp);
            abort();
        }
        json_decref(j);
    }
    if (getenv("FUZZ_HTTP_TRACE")) /* to see what seeds reach */
        fprintf(stderr, "%s %s -> %d %.*s\n", http_method_name(req->method), req->path, req->status,
                (int)(req->resp_len < 120 ? req->resp_len : 120), req->resp ? req->resp : "");
    sig->body_bytes_reserved -= req->body_reserved;
    free(req->body);
    free(req->resp);
    free(req);
    return 0;
}
