/* signaling/ws_direct.h: direct calls over the WebSocket: one user rings
 * another, who accepts, declines or misses it (see docs/PROTOCOL.md). An
 * accepted call is a two-person call in its own private room, on the same
 * media path as room calls (signaling/ws_call.c). */
#ifndef SFU_SIGNALING_WS_DIRECT_H
#define SFU_SIGNALING_WS_DIRECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ws_conn ws_conn_t;
typedef struct signaling signaling_t;

#define DIRECT_RING_TIMEOUT_S 30 /* default; --ring-timeout */

/* The messages: call_invite, call_accept, call_decline, call_cancel,
 * call_hangup, call_waiting. */
void ws_direct_invite(ws_conn_t *c, json_t *msg, json_t *id);
void ws_direct_accept(ws_conn_t *c, json_t *msg, json_t *id);
void ws_direct_decline(ws_conn_t *c, json_t *msg, json_t *id);
void ws_direct_cancel(ws_conn_t *c, json_t *msg, json_t *id);
void ws_direct_hangup(ws_conn_t *c, json_t *msg, json_t *id);
void ws_direct_call_waiting(ws_conn_t *c, json_t *msg, json_t *id);
/* A socket's first authenticate: missed_calls when the user has unseen ones,
 * then call_ringing for each call ringing for them now. */
void ws_direct_authenticated(ws_conn_t *c);
/* The socket closed: a call it is ringing out from is cancelled; calls stop
 * pointing at it. */
void ws_direct_socket_closed(ws_conn_t *c);
/* Once a second: ringing calls past their timeout are missed; answered calls
 * whose media never started within the same time end. */
void ws_direct_tick(signaling_t *sig);
/* For ws_call.c when a room's call starts: the call record of the answered
 * direct call whose room it is (the media call reuses it), or 0. */
int64_t ws_direct_record_for_room(signaling_t *sig, int64_t room_id);
/* For ws_call.c before a call_join: whether room_id is the room of an
 * answered direct call (its media may start). */
bool ws_direct_room_answered(signaling_t *sig, int64_t room_id);
/* For ws_call.c after a participant left a room's call (reason as in
 * participant_left): in a direct call's room, anyone leaving ends the call
 * for both. */
void ws_direct_participant_left(signaling_t *sig, int64_t room_id, int64_t user_id,
                                const char *reason);
/* At shutdown: every direct call ends (ringing ones missed) and is freed. */
void ws_direct_close_all(signaling_t *sig);

#endif
