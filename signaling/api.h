/* signaling/api.h: REST handlers, one per route (see router.c for the table). */
#ifndef SFU_SIGNALING_API_H
#define SFU_SIGNALING_API_H

#include "signaling/http.h"
#include "store/auth.h"
#include "store/store_social.h"

/* api_auth.c */
void api_auth_register(http_req_t *req);
void api_auth_login(http_req_t *req);
void api_auth_refresh(http_req_t *req);
void api_auth_logout(http_req_t *req);
void api_auth_me(http_req_t *req);
/* Validates the Bearer token; on failure replies 401 and returns false. */
bool api_authenticate(http_req_t *req);
/* Checks an access token (signature, expiry, revocation, user exists). 0 with
 * user and claims filled, or negative with *code and *message for the client. */
int api_verify_token(signaling_t *sig, const char *token, store_user_t *user, jwt_claims_t *claims,
                     const char **code, const char **message);
json_t *api_user_json(const store_user_t *u);

/* api_rooms.c */
json_t *api_room_json(const store_room_t *r);
json_t *api_message_json(const store_message_t *m);
/* A room member as clients see it (with online state), for REST and the WebSocket. */
json_t *api_member_json(signaling_t *sig, const store_member_t *m);
typedef struct api_members_ctx {
    json_t *list;
    signaling_t *sig;
} api_members_ctx_t;
/* A store_members_list callback appending api_member_json to ctx->list. */
int api_collect_member(void *ctx, const store_member_t *m);
/* An optional positive integer query argument into *out; false after
 * replying 400 naming it. */
bool api_query_positive(http_req_t *req, const char *name, int64_t *out);
void api_rooms_list(http_req_t *req);
void api_rooms_create(http_req_t *req);
void api_room_get(http_req_t *req);
void api_room_join(http_req_t *req);
void api_room_leave(http_req_t *req);
void api_room_members(http_req_t *req);
void api_room_end(http_req_t *req);
void api_room_messages(http_req_t *req);
void api_room_post_message(http_req_t *req);

/* api_social.c */
void api_dm_unread(http_req_t *req);
void api_dm_history(http_req_t *req);
void api_dm_read(http_req_t *req);
void api_contacts_list(http_req_t *req);
void api_contacts_add(http_req_t *req);
void api_contacts_remove(http_req_t *req);
void api_users_search(http_req_t *req);
void api_user_block(http_req_t *req);
void api_user_unblock(http_req_t *req);
void api_user_report(http_req_t *req);
/* A direct message as clients see it. */
json_t *api_dm_json(const store_dm_t *d);
/* A positive decimal id of at most 18 digits; 0 when s is not one. */
int64_t api_parse_id(const char *s);

/* api_calls.c */
void api_calls_list(http_req_t *req);
/* POST /api/calls/seen: every missed direct call counts as seen. */
void api_calls_seen(http_req_t *req);

/* api_whip.c: WHIP ingest (RFC 9725) and the rooms' ingest keys. */
void api_whip_options(http_req_t *req);
void api_whip_post(http_req_t *req);
void api_whip_patch(http_req_t *req);
void api_whip_delete(http_req_t *req);
void api_ingest_keys_list(http_req_t *req);
void api_ingest_key_create(http_req_t *req);
void api_ingest_key_revoke(http_req_t *req);
/* Shared with api_whep.c. CORS headers of every WHIP/WHEP answer. */
void api_whip_cors(http_req_t *req);
/* 201 Created for a WHIP or WHEP session (kind "whip" or "whep"): Location
 * /kind/room/id, ETag, Accept-Patch, and the SDP answer. */
void api_whip_reply_created(http_req_t *req, const char *kind, const char *room, const char *id,
                            const char *answer);
/* The live room named by id or share code; false after replying 404. */
bool api_whip_room(http_req_t *req, const char *name, store_room_t *room);
/* A member's access token (*user_id set) or an ingest key of room (*key_id
 * set), and the name it goes by; false after replying 401/403. */
bool api_whip_credential(http_req_t *req, const store_room_t *room, int64_t *key_id,
                         int64_t *user_id, char name[64]);
/* The request's Content-Type without parameters, case-insensitively. */
bool api_content_type_is(const http_req_t *req, const char *type);
/* Answers a PATCH of a session whose offer had remote_ufrag: 204 for
 * trickled candidates, 422 for an ICE restart, 415 for another body. */
void api_whip_trickle(http_req_t *req, const char *remote_ufrag);
/* A session's call place went for reason (call ended, media lost, node
 * stopping): the session is forgotten. ingest is the whip_session_t. */
void api_whip_session_gone(signaling_t *sig, void *ingest, const char *reason);

/* api_whep.c: WHEP playback (receive-only sessions). */
void api_whep_post(http_req_t *req);
void api_whep_patch(http_req_t *req);
void api_whep_delete(http_req_t *req);
/* The room's call changed (tracks published or withdrawn, someone left) or
 * its active speaker did: sessions re-pick what they show. */
void api_whep_room_changed(signaling_t *sig, int64_t room_id);
/* A media leg's state; sessions whose leg closed end. */
void api_whep_leg_state(signaling_t *sig, uint64_t leg_id, bool connected);
/* The node is stopping: every session's leg closes. */
void api_whep_close_all(signaling_t *sig);

/* api_files.c */
void api_upload(http_req_t *req);
void api_file_get(http_req_t *req);

/* static.c: the web client's files (GET/HEAD outside /api). */
void static_serve(http_req_t *req);

/* api_misc.c */
void api_health(http_req_t *req);
void api_metrics(http_req_t *req);

/* Helpers shared by the handlers (api_util.c). */
/* ISO 8601 string, or JSON null for 0. */
json_t *api_time_json(int64_t unix_ms);
/* Reads a string field; on a missing (when required) or non-string value replies
 * 400 invalid_field and returns false. *out is NULL when absent and optional. */
bool api_field_string(http_req_t *req, json_t *obj, const char *name, bool required,
                      const char **out);
/* Replies 500 for a store failure (logged by the store) or the mapped status. */
void api_reply_store_error(http_req_t *req, int rc);

#endif
