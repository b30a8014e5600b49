/* signaling/ws_internal.h: WebSocket connections, the hub that finds them by
 * room and by user, and the chat handlers (ws_chat.c). */
#ifndef SFU_SIGNALING_WS_INTERNAL_H
#define SFU_SIGNALING_WS_INTERNAL_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/idmap.h"
#include "signaling/signaling_internal.h"

#define WS_MAX_FRAME (64 * 1024)
/* lws 4.1 keeps its close opcode private (LWS_WRITE_CLOSE = 4). */
#define WS_WRITE_CLOSE    ((enum lws_write_protocol)4)
#define WS_MAX_ROOMS      32 /* rooms one socket can be in at once */
#define WS_AUTH_TIMEOUT_S 5
#define WS_MAX_BAD_FRAMES 10 /* invalid messages in a row before the socket is closed */
/* Bytes queued and not yet sent; past it the socket is closed. The largest
 * frame the node builds (unread_dms: 100 DMs of 4000 4-byte characters) is
 * some 1.6 MB and always fits. */
#define WS_MAX_QUEUED       (2 * 1024 * 1024)
#define WS_OVERFLOW_CLOSE_S 2 /* then dropped, if even the Close cannot be sent */
#define WS_TYPING_EXPIRE_MS 5000
#define WS_HISTORY_ON_JOIN  50

/* Close codes (RFC 6455 7.4: 4000-4999 are ours). */
#define WS_CLOSE_AUTH_FAILED   4001
#define WS_CLOSE_TOKEN_EXPIRED 4002
#define WS_CLOSE_POLICY        1008
#define WS_CLOSE_QUEUE_FULL    4008 /* the client does not read what it is sent */
#define WS_CLOSE_GOING_AWAY    1001

/* A frame shared by every socket it is sent to; lws_write needs LWS_PRE
 * bytes before the payload, written in place per send. */
typedef struct ws_frame {
    int refs;
    size_t len;
    uint8_t data[]; /* LWS_PRE + len */
} ws_frame_t;

typedef struct ws_out {
    ws_frame_t *frame;
    struct ws_out *next;
} ws_out_t;

typedef struct ws_conn {
    struct lws *wsi;
    signaling_t *sig;
    bool authed;
    int64_t user_id;
    char username[64];
    int64_t token_exp_s;
    char peer_ip[64];

    char *rx; /* the message being reassembled */
    size_t rx_len;
    bool rx_oversize, rx_binary;
    int bad_frames;

    ws_out_t *out_head, *out_tail;
    size_t out_bytes;

    int64_t rooms[WS_MAX_ROOMS];
    int room_count;

    call_peer_t *call_peer; /* this socket's place in a call, if any */
    bool call_waiting;      /* direct calls may ring while the user is busy */

    bool closing;
    bool peer_closed; /* the client sent a Close frame: it left on purpose */
    uint16_t close_code;
    char close_reason[96];
    uint64_t mark; /* for de-duplicating a fan-out */
} ws_conn_t;

#define WS_ERROR_CODES 48

typedef struct ws_typing {
    int64_t room_id;
    int64_t user_id;
    char username[64];
    uint64_t expires_ms;
} ws_typing_t;

typedef struct ws_hub {
    signaling_t *sig;
    idmap_t room_socks; /* room id -> ws_conn_t* */
    idmap_t user_socks; /* user id -> ws_conn_t* (authenticated sockets) */
    ws_typing_t *typing;
    size_t typing_len, typing_cap;
    uv_timer_t typing_timer;
    uint64_t mark;
    uint64_t frames_in, frames_out, frames_rejected;
    uint64_t connections;     /* open sockets */
    uint64_t queue_overflows; /* sockets closed because their queue overflowed */
    struct {
        const char *code; /* a string literal passed to ws_send_error */
        uint64_t count;
    } errors[WS_ERROR_CODES];
} ws_hub_t;

/* ws.c */
/* Queues obj (not stolen) for c. */
void ws_send(ws_conn_t *c, json_t *obj);
/* Sends {"type":"error","code","message"[,"id"]} to c. */
void ws_send_error(ws_conn_t *c, json_t *req_id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends obj (stolen) to every socket subscribed to room, except `except`. */
void ws_broadcast_room(ws_hub_t *hub, int64_t room_id, json_t *obj, const ws_conn_t *except);
/* Sends obj (stolen) to the room's sockets of every user but except_user. */
void ws_broadcast_room_others(ws_hub_t *hub, int64_t room_id, json_t *obj, int64_t except_user);
/* Sends obj (stolen) to every socket of user, except `except`. */
void ws_broadcast_user(ws_hub_t *hub, int64_t user_id, json_t *obj, const ws_conn_t *except);
/* Queues a close with code/reason after what is already queued. */
/* False (and the socket closing with 4001) when c's user was deleted since it
 * authenticated. */
bool ws_account_live(ws_conn_t *c);
void ws_close(ws_conn_t *c, uint16_t code, const char *reason);
bool ws_conn_in_room(const ws_conn_t *c, int64_t room_id);
/* One whole text message from c, handled as one received from its socket
 * (the seam tests/fuzz/fuzz_ws.c drives the message table through). */
void ws_conn_text(ws_conn_t *c, const char *text, size_t len);
/* What the close of c's socket does: rooms, call, presence, queue. */
void ws_conn_gone(ws_conn_t *c);

/* ws_chat.c: each handler gets the parsed message and its "id" (may be NULL). */
void ws_chat_join_room(ws_conn_t *c, json_t *msg, json_t *id);
void ws_chat_leave_room(ws_conn_t *c, json_t *msg, json_t *id);
void ws_chat_send_message(ws_conn_t *c, json_t *msg, json_t *id);
void ws_chat_typing(ws_conn_t *c, json_t *msg, json_t *id, bool typing);
void ws_chat_send_dm(ws_conn_t *c, json_t *msg, json_t *id);
void ws_chat_mark_read(ws_conn_t *c, json_t *msg, json_t *id);
/* Sent right after authentication: DMs that arrived while offline. */
void ws_chat_send_unread(ws_conn_t *c);
/* A socket leaves a room (explicitly or on close): user_left when it was the
 * user's last socket there, typing cleared. */
void ws_chat_unsubscribe(ws_conn_t *c, int64_t room_id);
/* The user's first socket came up / last socket went away. */
void ws_chat_presence(ws_hub_t *hub, int64_t user_id, const char *username, bool online);
void ws_chat_typing_tick(uv_timer_t *t);

#endif
