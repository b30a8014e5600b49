/* signaling/ws.c: the JSON WebSocket at /ws: connection lifecycle,
 * authentication, framing limits, outgoing queues and fan-out. */
#include "signaling/ws_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/ws.h"
#include "signaling/ws_call.h"
#include "signaling/ws_direct.h"
#include "store/store_social.h"

static ws_frame_t *frame_new(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    ws_frame_t *f = malloc(sizeof *f + LWS_PRE + len);
    if (f) {
        f->refs = 0;
        f->len = len;
        memcpy(f->data + LWS_PRE, text, len);
    }
    free(text);
    return f;
}

static void frame_release(ws_frame_t *f)
{
    if (f && --f->refs <= 0)
        free(f);
}

static void conn_drop_queue(ws_conn_t *c)
{
    while (c->out_head) {
        ws_out_t *o = c->out_head;
        c->out_head = o->next;
        frame_release(o->frame);
        free(o);
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
}

/* A client that does not read: what it was sent is dropped now (queued
 * behind it, a Close would never be read either), the Close goes next, and
 * if even that cannot be written the connection is dropped soon after. */
static void conn_overflow(ws_conn_t *c)
{
    conn_drop_queue(c);
    c->sig->hub->queue_overflows++;
    log_info("ws", "user %lld (%s): outgoing queue over %d bytes; closing", (long long)c->user_id,
             c->peer_ip, WS_MAX_QUEUED);
    ws_close(c, WS_CLOSE_QUEUE_FULL, "outgoing queue full: the client does not read");
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, WS_OVERFLOW_CLOSE_S);
}

static void conn_enqueue(ws_conn_t *c, ws_frame_t *f)
{
    if (c->closing)
        return;
    /* Bytes and the list node: what the queue costs, not only the text. A
     * frame onto an empty queue always goes, however large. */
    if (c->out_head && c->out_bytes + f->len + sizeof(ws_out_t) > WS_MAX_QUEUED) {
        conn_overflow(c);
        return;
    }
    ws_out_t *o = malloc(sizeof *o);
    if (!o)
        return;
    o->frame = f;
    o->next = NULL;
    f->refs++;
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += f->len + sizeof(ws_out_t);
    c->sig->hub->frames_out++;
    lws_callback_on_writable(c->wsi);
}

void ws_send(ws_conn_t *c, json_t *obj)
{
    ws_frame_t *f = frame_new(obj);
    if (!f)
        return;
    conn_enqueue(c, f);
    if (f->refs == 0)
        free(f);
}

void ws_send_error(ws_conn_t *c, json_t *req_id, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    ws_hub_t *hub = c->sig->hub;
    for (int i = 0; i < WS_ERROR_CODES; i++) {
        if (!hub->errors[i].code)
            hub->errors[i].code = code;
        if (hub->errors[i].code == code || !strcmp(hub->errors[i].code, code)) {
            hub->errors[i].count++;
            break;
        }
    }
    json_t *e = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
    if (req_id)
        json_object_set(e, "id", req_id);
    ws_send(c, e);
    json_decref(e);
}

void ws_close(ws_conn_t *c, uint16_t code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    lws_callback_on_writable(c->wsi);
}

bool ws_account_live(ws_conn_t *c)
{
    store_user_t u;
    if (store_user_by_id(c->sig->store, c->user_id, &u) != -ENOENT)
        return true;
    log_info("ws", "user %lld no longer exists: socket closed", (long long)c->user_id);
    ws_close(c, WS_CLOSE_AUTH_FAILED, "this account no longer exists");
    return false;
}

static void broadcast_set(ws_hub_t *hub, const idmap_set_t *set, json_t *obj,
                          const ws_conn_t *except, int64_t except_user)
{
    if (!set) {
        json_decref(obj);
        return;
    }
    ws_frame_t *f = frame_new(obj);
    json_decref(obj);
    if (!f)
        return;
    f->refs = 1; /* held while fanning out */
    for (size_t i = 0; i < set->len; i++) {
        ws_conn_t *c = set->items[i];
        if (c != except && (!except_user || c->user_id != except_user))
            conn_enqueue(c, f);
    }
    (void)hub;
    frame_release(f);
}

void ws_broadcast_room(ws_hub_t *hub, int64_t room_id, json_t *obj, const ws_conn_t *except)
{
    broadcast_set(hub, idmap_get(&hub->room_socks, room_id), obj, except, 0);
}

void ws_broadcast_room_others(ws_hub_t *hub, int64_t room_id, json_t *obj, int64_t except_user)
{
    broadcast_set(hub, idmap_get(&hub->room_socks, room_id), obj, NULL, except_user);
}

void ws_broadcast_user(ws_hub_t *hub, int64_t user_id, json_t *obj, const ws_conn_t *except)
{
    broadcast_set(hub, idmap_get(&hub->user_socks, user_id), obj, except, 0);
}

bool ws_conn_in_room(const ws_conn_t *c, int64_t room_id)
{
    for (int i = 0; i < c->room_count; i++) {
        if (c->rooms[i] == room_id)
            return true;
    }
    return false;
}

void ws_metrics(signaling_t *sig, ws_metrics_fn emit, void *ctx)
{
    ws_hub_t *hub = sig->hub;
    if (!hub)
        return;
    emit(ctx, "sfu_ws_connections", NULL, hub->connections);
    emit(ctx, "sfu_ws_frames_in_total", NULL, hub->frames_in);
    emit(ctx, "sfu_ws_frames_out_total", NULL, hub->frames_out);
    emit(ctx, "sfu_ws_frames_rejected_total", NULL, hub->frames_rejected);
    emit(ctx, "sfu_ws_queue_overflows_total", NULL, hub->queue_overflows);
    for (int i = 0; i < WS_ERROR_CODES && hub->errors[i].code; i++)
        emit(ctx, "sfu_ws_errors_total", hub->errors[i].code, hub->errors[i].count);
}

bool ws_user_online(signaling_t *sig, int64_t user_id)
{
    return sig->hub && idmap_count(&sig->hub->user_socks, user_id) > 0;
}

/* Messages are limited per user once signed in, per IP before. */
static bool conn_take_token(ws_conn_t *c, uint64_t *retry_after_ms)
{
    uint64_t key = c->authed ? (uint64_t)c->user_id : ratelimit_key_str(c->peer_ip) | (1ull << 63);
    return ratelimit_take(&c->sig->limit_ws, key, uv_now(c->sig->loop), retry_after_ms);
}

static void arm_token_timer(ws_conn_t *c)
{
    int64_t left_s = c->token_exp_s - now_unix_ms() / 1000;
    if (left_s < 0)
        left_s = 0;
    lws_set_timer_usecs(c->wsi, (lws_usec_t)left_s * LWS_USEC_PER_SEC + 200000);
}

static void handle_authenticate(ws_conn_t *c, json_t *msg, json_t *id)
{
    json_t *tok = json_object_get(msg, "token");
    store_user_t user;
    jwt_claims_t claims;
    const char *code = "invalid_field", *why = "token must be a string";
    if (json_is_string(tok) &&
        api_verify_token(c->sig, json_string_value(tok), &user, &claims, &code, &why) == 0) {
        if (c->authed && user.id != c->user_id) {
            code = "user_mismatch";
            why = "a socket cannot switch users; open a new one";
        } else {
            bool first = !c->authed;
            c->authed = true;
            c->user_id = user.id;
            snprintf(c->username, sizeof c->username, "%s", user.username);
            c->token_exp_s = claims.exp;
            arm_token_timer(c);
            json_t *ok = json_pack("{s:s,s:I,s:s}", "type", "authenticated", "userId",
                                   (json_int_t)user.id, "username", user.username);
            if (id)
                json_object_set(ok, "id", id);
            ws_send(c, ok);
            json_decref(ok);
            if (first) {
                ws_hub_t *hub = c->sig->hub;
                idmap_add(&hub->user_socks, user.id, c);
                if (idmap_count(&hub->user_socks, user.id) == 1)
                    ws_chat_presence(hub, user.id, user.username, true);
                ws_chat_send_unread(c);
                ws_direct_authenticated(c);
            }
            return;
        }
    }
    json_t *err = json_pack("{s:s,s:s,s:s}", "type", "auth_error", "code", code, "message", why);
    if (id)
        json_object_set(err, "id", id);
    ws_send(c, err);
    json_decref(err);
    ws_close(c, WS_CLOSE_AUTH_FAILED, why);
}

static void handle_ping(ws_conn_t *c, json_t *msg, json_t *id)
{
    (void)msg;
    json_t *pong = json_pack("{s:s,s:I}", "type", "pong", "ts", (json_int_t)now_unix_ms());
    if (id)
        json_object_set(pong, "id", id);
    ws_send(c, pong);
    json_decref(pong);
}

static void handle_typing_start(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_chat_typing(c, msg, id, true);
}

static void handle_typing_stop(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_chat_typing(c, msg, id, false);
}

typedef struct ws_handler {
    const char *type;
    void (*fn)(ws_conn_t *c, json_t *msg, json_t *id);
} ws_handler_t;

static void handle_call_mute(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_call_state(c, msg, id, "mute", true);
}

static void handle_call_unmute(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_call_state(c, msg, id, "mute", false);
}

static void handle_raise_hand(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_call_state(c, msg, id, "hand", true);
}

static void handle_lower_hand(ws_conn_t *c, json_t *msg, json_t *id)
{
    ws_call_state(c, msg, id, "hand", false);
}

static const ws_handler_t handlers[] = {
    {"authenticate", handle_authenticate},
    {"ping", handle_ping},
    {"join_room", ws_chat_join_room},
    {"leave_room", ws_chat_leave_room},
    {"send_message", ws_chat_send_message},
    {"typing_start", handle_typing_start},
    {"typing_stop", handle_typing_stop},
    {"send_dm", ws_chat_send_dm},
    {"mark_read", ws_chat_mark_read},
    {"call_join", ws_call_join},
    {"call_publish", ws_call_publish},
    {"call_set_layers", ws_call_set_layers},
    {"call_subscribe_answer", ws_call_subscribe_answer},
    {"call_leave", ws_call_leave},
    {"call_restart_ice", ws_call_restart_ice},
    {"call_candidate", ws_call_candidate},
    {"call_end", ws_call_end},
    {"mute", handle_call_mute},
    {"unmute", handle_call_unmute},
    {"raise_hand", handle_raise_hand},
    {"lower_hand", handle_lower_hand},
    {"call_invite", ws_direct_invite},
    {"call_accept", ws_direct_accept},
    {"call_decline", ws_direct_decline},
    {"call_cancel", ws_direct_cancel},
    {"call_hangup", ws_direct_hangup},
    {"call_waiting", ws_direct_call_waiting},
};

/* An invalid message: answered, counted, and after too many in a row the
 * socket is closed. */
static void conn_reject(ws_conn_t *c, json_t *id, const char *code, const char *why)
{
    c->sig->hub->frames_rejected++;
    ws_send_error(c, id, code, "%s", why);
    if (++c->bad_frames >= WS_MAX_BAD_FRAMES)
        ws_close(c, WS_CLOSE_POLICY, "too many invalid messages");
}

static void conn_message(ws_conn_t *c)
{
    ws_hub_t *hub = c->sig->hub;
    hub->frames_in++;
    uint64_t retry_ms;
    if (!conn_take_token(c, &retry_ms)) {
        json_t *e =
            json_pack("{s:s,s:s,s:s,s:I}", "type", "error", "code", "rate_limited", "message",
                      "too many messages; slow down", "retryAfter", (json_int_t)retry_ms);
        ws_send(c, e);
        json_decref(e);
        return;
    }
    if (c->rx_binary)
        return conn_reject(c, NULL, "binary_not_supported", "send JSON text frames only");
    if (c->rx_oversize)
        return conn_reject(c, NULL, "frame_too_large", "messages are limited to 65536 bytes");
    json_error_t jerr;
    json_t *msg = json_loadb(c->rx ? c->rx : "", c->rx_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg)
        return conn_reject(c, NULL, "invalid_json", "message is not valid JSON");
    json_t *id = json_object_get(msg, "id");
    if (id && !json_is_string(id) && !json_is_integer(id))
        id = NULL;
    json_t *type = json_object_get(msg, "type");
    if (!json_is_object(msg) || !json_is_string(type)) {
        conn_reject(c, id, "invalid_message", "a message is a JSON object with a string type");
        json_decref(msg);
        return;
    }
    const char *t = json_string_value(type);
    const ws_handler_t *h = NULL;
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (!strcmp(handlers[i].type, t))
            h = &handlers[i];
    }
    if (!h) {
        char why[160];
        snprintf(why, sizeof why, "unknown message type '%.64s'", t);
        conn_reject(c, id, "unknown_type", why);
    } else if (!c->authed && h->fn != handle_authenticate) {
        json_t *err = json_pack("{s:s,s:s,s:s}", "type", "auth_error", "code", "not_authenticated",
                                "message", "the first message must be authenticate");
        ws_send(c, err);
        json_decref(err);
        ws_close(c, WS_CLOSE_AUTH_FAILED, "not authenticated");
    } else {
        c->bad_frames = 0;
        h->fn(c, msg, id);
    }
    json_decref(msg);
}

static int conn_receive(ws_conn_t *c, const void *in, size_t len)
{
    if (lws_is_first_fragment(c->wsi)) {
        c->rx_len = 0;
        c->rx_oversize = false;
        c->rx_binary = lws_frame_is_binary(c->wsi);
    }
    if (!c->rx_oversize && !c->rx_binary) {
        if (c->rx_len + len > WS_MAX_FRAME) {
            c->rx_oversize = true;
        } else if (len) {
            char *grown = realloc(c->rx, c->rx_len + len);
            if (!grown)
                return -1;
            c->rx = grown;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi)) {
        if (!c->closing)
            conn_message(c);
        if (c->rx_len > 4096) { /* keep idle sockets small */
            free(c->rx);
            c->rx = NULL;
        }
        c->rx_len = 0;
    }
    return 0;
}

static int conn_writeable(ws_conn_t *c)
{
    ws_out_t *o = c->out_head;
    if (!o) {
        if (c->closing) {
            /* RFC 6455 5.5.1: code then reason. lws 4.1 drops the frame that
             * lws_close_reason() queues when the callback returns -1, so send it. */
            uint8_t frame[LWS_PRE + 2 + sizeof c->close_reason];
            size_t rn = strlen(c->close_reason);
            frame[LWS_PRE] = (uint8_t)(c->close_code >> 8);
            frame[LWS_PRE + 1] = (uint8_t)c->close_code;
            memcpy(frame + LWS_PRE + 2, c->close_reason, rn);
            lws_write(c->wsi, frame + LWS_PRE, 2 + rn, WS_WRITE_CLOSE);
            return -1;
        }
        return 0;
    }
    int n = lws_write(c->wsi, o->frame->data + LWS_PRE, o->frame->len, LWS_WRITE_TEXT);
    if (n < (int)o->frame->len)
        return -1;
    c->out_head = o->next;
    if (!c->out_head)
        c->out_tail = NULL;
    c->out_bytes -= o->frame->len + sizeof(ws_out_t);
    frame_release(o->frame);
    free(o);
    if (c->out_head || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void conn_closed(ws_conn_t *c)
{
    ws_hub_t *hub = c->sig->hub;
    hub->connections--;
    ws_call_socket_closed(c, c->peer_closed);
    while (c->room_count)
        ws_chat_unsubscribe(c, c->rooms[c->room_count - 1]);
    if (c->authed) {
        idmap_remove(&hub->user_socks, c->user_id, c);
        if (idmap_count(&hub->user_socks, c->user_id) == 0) {
            store_user_set_last_seen(c->sig->store, c->user_id, now_unix_ms());
            ws_chat_presence(hub, c->user_id, c->username, false);
        }
        ws_direct_socket_closed(c); /* no longer among the user's sockets: told nothing */
    }
    conn_drop_queue(c);
    free(c->rx);
    c->rx = NULL;
}

void ws_conn_text(ws_conn_t *c, const char *text, size_t len)
{
    if (c->closing)
        return;
    c->rx_binary = false;
    c->rx_oversize = len > WS_MAX_FRAME;
    c->rx_len = 0;
    if (!c->rx_oversize && len) {
        char *grown = realloc(c->rx, len);
        if (!grown)
            return;
        c->rx = grown;
        memcpy(c->rx, text, len);
        c->rx_len = len;
    }
    conn_message(c);
    c->rx_len = 0;
}

void ws_conn_gone(ws_conn_t *c)
{
    conn_closed(c);
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    ws_conn_t *c = user;
    signaling_t *sig = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[64];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws"))
            return 1; /* WebSocket only at /ws */
        return sig->store ? 0 : 1;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->sig = sig;
        sig->hub->connections++;
        http_client_ip(sig, wsi, c->peer_ip, sizeof c->peer_ip, NULL);
        lws_set_timer_usecs(wsi, (lws_usec_t)WS_AUTH_TIMEOUT_S * LWS_USEC_PER_SEC);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return conn_receive(c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return conn_writeable(c);
    case LWS_CALLBACK_TIMER:
        if (!c->sig)
            return 0;
        if (!c->authed)
            ws_close(c, WS_CLOSE_AUTH_FAILED, "no authenticate within 5 seconds");
        else if (now_unix_ms() / 1000 >= c->token_exp_s)
            ws_close(c, WS_CLOSE_TOKEN_EXPIRED, "access token expired; re-authenticate");
        else
            arm_token_timer(c);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && c->sig)
            c->peer_closed = true;
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (c && c->sig) /* not set when the upgrade was refused */
            conn_closed(c);
        return 0;
    default:
        return 0;
    }
}

int ws_hub_init(signaling_t *sig)
{
    ws_hub_t *hub = calloc(1, sizeof *hub);
    if (!hub)
        return -ENOMEM;
    hub->sig = sig;
    idmap_init(&hub->room_socks);
    idmap_init(&hub->user_socks);
    uv_timer_init(sig->loop, &hub->typing_timer);
    hub->typing_timer.data = hub;
    uv_timer_start(&hub->typing_timer, ws_chat_typing_tick, 1000, 1000);
    sig->hub = hub;
    return 0;
}

static void hub_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void ws_hub_stop(signaling_t *sig)
{
    if (sig->hub && !uv_is_closing((uv_handle_t *)&sig->hub->typing_timer))
        uv_close((uv_handle_t *)&sig->hub->typing_timer, hub_timer_closed);
}

void ws_hub_free(signaling_t *sig)
{
    ws_hub_t *hub = sig->hub;
    if (!hub)
        return;
    idmap_free(&hub->room_socks);
    idmap_free(&hub->user_socks);
    free(hub->typing);
    free(hub);
    sig->hub = NULL;
}
