/* signaling/ws_call.h: call messages on the WebSocket (see docs/PROTOCOL.md). */
#ifndef SFU_SIGNALING_WS_CALL_H
#define SFU_SIGNALING_WS_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "rtp/rtc_sdp.h"
#include "sfu/call.h"

typedef struct ws_conn ws_conn_t;
typedef struct signaling signaling_t;
typedef struct call_peer call_peer_t;

void ws_call_join(ws_conn_t *c, json_t *msg, json_t *id);
void ws_call_publish(ws_conn_t *c, json_t *msg, json_t *id);
/* call_set_layers: per received track, paused and the simulcast layer wanted. */
void ws_call_set_layers(ws_conn_t *c, json_t *msg, json_t *id);
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

/* A participant with no socket that only publishes (a WHIP session, see
 * api_whip.c): joins room_id's call as user_id (negative: not an account)
 * named name, and publishes offer. 0 with the SDP answer in answer and the
 * place in *out; -1 with *err filled and nothing left behind. When the place
 * goes for another reason (call ended, media lost, node stopping),
 * api_whip_session_gone(sig, ingest, reason) is called first. */
int ws_call_ingest_open(signaling_t *sig, int64_t room_id, int64_t user_id, const char *name,
                        void *ingest, const rtc_sdp_t *offer, char *answer, size_t answer_cap,
                        sfu_call_error_t *err, call_peer_t **out);
/* The room's call (NULL when none) and its active speaker's user id (0:
 * nobody yet), for WHEP sessions (api_whep.c). */
sfu_call_t *ws_call_of_room(signaling_t *sig, int64_t room_id);
int64_t ws_call_active_speaker(signaling_t *sig, int64_t room_id);
/* The session ends its place (no api_whip_session_gone for it). */
void ws_call_ingest_close(signaling_t *sig, call_peer_t *p, const char *reason);

#endif
