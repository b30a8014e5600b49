/* Fuzz target: the WebSocket message table (signaling/ws.c and its handlers in
 * ws_chat.c, ws_call.c, ws_direct.c) on untrusted text, with a real store.
 *   make build/fuzz/fuzz_ws; build/fuzz/fuzz_ws -max_total_time=60
 * The input is up to 16 text messages separated by 0xFF bytes, sent by one
 * signed-in client (alice) in a room she shares with bob, who is connected
 * too. Every frame either socket is sent must be a JSON object with a
 * string "type"; nothing may crash, leak or trip a sanitizer. The node
 * runs without media (calls are refused as on a node whose media failed).
 * Only the socket is replaced: the lws calls the handlers make (ask to
 * write, timers) are recorded here instead of going to a connection. */
#include "tests/fuzz/fuzz_node.h" /* first: it sets _XOPEN_SOURCE */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/ws_internal.h"

/* ---- the socket's side of lws, recorded ---- */
static int writable_requests;

int lws_callback_on_writable(struct lws *wsi)
{
    (void)wsi;
    writable_requests++;
    return 1;
}

void lws_set_timer_usecs(struct lws *wsi, lws_usec_t usecs)
{
    (void)wsi;
    (void)usecs;
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
    (void)wsi;
    (void)reason;
    (void)secs;
}

/* ---- the node around the sockets ---- */
static signaling_t *sig;
static store_t *st;
static store_user_t alice, bob;
static ws_conn_t bob_conn;
static char fake_wsi[64]; /* never looked into: only the stubs above get it */

static void conn_sign_in(ws_conn_t *c, const store_user_t *u)
{
    memset(c, 0, sizeof *c);
    c->wsi = (struct lws *)fake_wsi;
    c->sig = sig;
    c->authed = true;
    c->user_id = u->id;
    snprintf(c->username, sizeof c->username, "%s", u->username);
    c->token_exp_s = now_unix_ms() / 1000 + 3600;
    snprintf(c->peer_ip, sizeof c->peer_ip, "192.0.2.1");
    sig->hub->connections++;
    idmap_add(&sig->hub->user_socks, u->id, c);
}

/* Checks and frees every frame queued for c. */
static void drain(ws_conn_t *c)
{
    while (c->out_head) {
        ws_out_t *o = c->out_head;
        c->out_head = o->next;
        json_error_t jerr;
        json_t *m = json_loadb((const char *)o->frame->data + LWS_PRE, o->frame->len, 0, &jerr);
        if (!m || !json_is_object(m) || !json_is_string(json_object_get(m, "type"))) {
            fprintf(stderr, "bad frame: %.*s\n", (int)o->frame->len,
                    (const char *)o->frame->data + LWS_PRE);
            abort();
        }
        json_decref(m);
        if (--o->frame->refs <= 0)
            free(o->frame);
        free(o);
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
}

static void setup(void)
{
    fuzz_make_dir("fuzz_ws");
    st = fuzz_open_store(&alice, &bob);
    sig = fuzz_signaling(st);
    conn_sign_in(&bob_conn, &bob);
    json_t *join = json_pack("{s:s,s:I}", "type", "join_room", "roomId", (json_int_t)1);
    char *text = json_dumps(join, JSON_COMPACT);
    ws_conn_text(&bob_conn, text, strlen(text));
    free(text);
    json_decref(join);
    drain(&bob_conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sig)
        setup();
    if (size > 256 * 1024)
        return 0;
    ws_conn_t alice_conn;
    conn_sign_in(&alice_conn, &alice);
    size_t at = 0;
    for (int n = 0; n < 16 && at <= size; n++) {
        const uint8_t *sep = memchr(data + at, 0xff, size - at);
        size_t len = sep ? (size_t)(sep - (data + at)) : size - at;
        /* In a buffer of its own size, so ASan sees any overread. */
        char *msg = malloc(len ? len : 1);
        memcpy(msg, data + at, len);
        ws_conn_text(&alice_conn, msg, len);
        free(msg);
        drain(&alice_conn);
        drain(&bob_conn);
        if (!sep)
            break;
        at += len + 1;
    }
    ws_conn_gone(&alice_conn);
    drain(&bob_conn);
    uv_run(sig->loop, UV_RUN_NOWAIT);
    return 0;
}
