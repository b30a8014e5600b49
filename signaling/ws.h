/* signaling/ws.h: the WebSocket protocol as the rest of signaling sees it. */
#ifndef SFU_SIGNALING_WS_H
#define SFU_SIGNALING_WS_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct signaling signaling_t;

/* The lws protocol callback for /ws. */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);
int ws_hub_init(signaling_t *sig);
/* Stops the hub's timer (after lws closed every socket); the loop then runs
 * until the handle is closed, and ws_hub_free releases the rest. */
void ws_hub_stop(signaling_t *sig);
void ws_hub_free(signaling_t *sig);
/* The user stopped being a member of room_id (REST leave): their place in
 * its call goes (call_left to them, participant_left to the call), and their
 * sockets leave the room (left_room to each, user_left to the room). */
void ws_user_left_room(signaling_t *sig, int64_t user_id, int64_t room_id);
/* A message stored through REST: new_message to the room's sockets. */
void ws_room_message(signaling_t *sig, json_t *message, int64_t room_id);
/* The host ended the room: its call ends, room_ended to its sockets, which
 * then leave it. */
void ws_room_ended(signaling_t *sig, int64_t room_id, int64_t by);
/* The WebSocket counters, one emit per series; label is the error code of
 * sfu_ws_errors_total, NULL for the others. */
typedef void (*ws_metrics_fn)(void *ctx, const char *name, const char *label, uint64_t value);
void ws_metrics(signaling_t *sig, ws_metrics_fn emit, void *ctx);
/* true while the user has at least one authenticated socket. */
bool ws_user_online(signaling_t *sig, int64_t user_id);

#endif
