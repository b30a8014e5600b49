/* signaling/ws_call.h: call messages on the WebSocket (see docs/PROTOCOL.md). */
#ifndef SFU_SIGNALING_WS_CALL_H
#define SFU_SIGNALING_WS_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ws_conn ws_conn_t;
typedef struct signaling signaling_t;

void ws_call_join(ws_conn_t *c, json_t *msg, json_t *id);
void ws_call_publish(ws_conn_t *c, json_t *msg, json_t *id);
void ws_call_subscribe_answer(ws_conn_t *c, json_t *msg, json_t *id);
void ws_call_leave(ws_conn_t *c, json_t *msg, json_t *id);
void ws_call_restart_ice(ws_conn_t *c, json_t *msg, json_t *id);
/* A trickled client candidate: checked and acknowledged (the node is ICE-lite). */
void ws_call_candidate(ws_conn_t *c, json_t *msg, json_t *id);
void ws_call_end(ws_conn_t *c, json_t *msg, json_t *id);
/* what: "mute" (msg.kind audio|video) or "hand"; value: on/off. */
void ws_call_state(ws_conn_t *c, json_t *msg, json_t *id, const char *what, bool value);
/* The socket closed. left_on_purpose (the client sent a Close frame): its
 * place goes now. Otherwise it is held for CALL_RESUME_MS for a call_join
 * with the resumeToken from call_joined, on any new socket of the user. */
void ws_call_socket_closed(ws_conn_t *c, bool left_on_purpose);
/* Once a second: places held past their resume window go. */
void ws_call_tick(signaling_t *sig);
/* Ends the room's call, if any: call_ended to every participant (the
 * requester's copy with its request id), legs closed. */
void ws_call_end_room(signaling_t *sig, int64_t room_id, int64_t by, const ws_conn_t *requester,
                      json_t *id);
/* The user is no longer a member of room_id (left it over REST): their place
 * in its call, attached or held for a resume, goes with reason; their socket
 * in the call gets call_left with that reason. Nothing when not in it. */
void ws_call_remove_user(signaling_t *sig, int64_t room_id, int64_t user_id, const char *reason);
/* From sfu/media events on the main loop. */
void ws_call_leg_state(signaling_t *sig, uint64_t leg_id, bool connected, const char *reason);
/* active_speaker when it changed, audio_levels while anyone is heard. */
void ws_call_speaker(signaling_t *sig, int64_t room_id, uint64_t active_producer_id, bool changed,
                     int n, const uint64_t *producer_ids, const uint8_t *loudness);
void ws_call_close_all(signaling_t *sig);

#endif
