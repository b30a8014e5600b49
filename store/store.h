/* store/store.h: the SQLite store. One connection, owned by the main thread.
 *
 * Every function returns 0 on success or a negative errno-style code:
 *   -ENOENT  the row does not exist
 *   -EEXIST  a unique key is taken
 *   -EIO     SQLite failed (logged once, with the statement's name)
 * Lists are delivered through callbacks; the pointers a callback receives are
 * valid only during the call. A callback returning non-zero stops the walk. */
#ifndef SFU_STORE_H
#define SFU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

#define STORE_SCHEMA_VERSION 5

typedef struct store_user {
    int64_t id;
    char email[256];
    char username[64];
    char password_hash[256];
    int64_t created_at_ms;
    int64_t last_seen_ms; /* 0 = never */
} store_user_t;

typedef struct store_room {
    int64_t id;
    char code[16]; /* abcd-efgh-ijkl */
    char name[512];
    bool is_private;
    int64_t host_id;
    int64_t created_at_ms;
    int64_t ended_at_ms; /* 0 while the room is live */
    int member_count;
    bool is_direct; /* the private room of a direct call: never listed, never joined by code */
} store_room_t;

typedef struct store_member {
    int64_t user_id;
    const char *username;
    const char *role; /* "host" or "member" */
    int64_t joined_at_ms;
    int64_t last_seen_ms; /* 0 = never */
} store_member_t;

typedef struct store_message {
    int64_t id;
    int64_t room_id;
    int64_t sender_id;
    const char *sender_name;
    const char *content;
    const char *file_id; /* NULL when the message carries no file */
    int64_t created_at_ms;
} store_message_t;

typedef int (*store_room_cb)(void *ctx, const store_room_t *room);
typedef int (*store_member_cb)(void *ctx, const store_member_t *member);
typedef int (*store_message_cb)(void *ctx, const store_message_t *message);

/* Opens (creating if needed) the database at path: WAL, foreign keys on,
 * migrations applied up to STORE_SCHEMA_VERSION. On failure writes a one-line
 * reason into err. */
int store_open(const char *path, store_t **out, char *err, size_t err_cap);
/* Checkpoints and closes; store_close(NULL) is a no-op. */
void store_close(store_t *st);
/* PRAGMA user_version of the open database. */
int store_schema_version(store_t *st);
/* 0 when a trivial query succeeds (health check). */
int store_ping(store_t *st);

/* ---- users ---- */
/* -EEXIST with *conflict_field set to "email" or "username" when taken
 * (case-insensitive). out may be NULL. */
int store_user_create(store_t *st, const char *email, const char *username,
                      const char *password_hash, int64_t now_ms, store_user_t *out,
                      const char **conflict_field);
int store_user_by_email(store_t *st, const char *email, store_user_t *out);
int store_user_by_id(store_t *st, int64_t id, store_user_t *out);
int store_user_count(store_t *st, int64_t *out);

/* ---- refresh tokens (stored as SHA-256 hashes) and revoked access tokens ---- */
int store_refresh_insert(store_t *st, int64_t user_id, const uint8_t hash[32], const char *family,
                         int64_t now_ms, int64_t expires_at_ms);
/* Rotates old -> new in one transaction, the new token in the old one's family.
 * 0 and *user_id set: rotated. -ENOENT: unknown token. -ETIMEDOUT: expired or
 * revoked. -EKEYREVOKED: the token was already rotated (reuse): the whole family
 * is revoked before returning. */
int store_refresh_rotate(store_t *st, const uint8_t old_hash[32], const uint8_t new_hash[32],
                         int64_t now_ms, int64_t new_expires_at_ms, int64_t *user_id);
/* Revokes the family of the token; -ENOENT when the token is unknown or belongs
 * to another user. */
int store_refresh_revoke_family(store_t *st, const uint8_t hash[32], int64_t user_id,
                                int64_t now_ms);
int store_access_revoke(store_t *st, const char *jti, int64_t expires_at_ms);
/* 1 revoked, 0 not, negative on error. Also purges expired entries now and then. */
int store_access_is_revoked(store_t *st, const char *jti, int64_t now_ms);

/* ---- rooms and members ---- */
/* Creates the room and makes host_id its host member. -EEXIST when the code is taken. */
int store_room_create(store_t *st, const char *name, bool is_private, int64_t host_id,
                      const char *code, int64_t now_ms, store_room_t *out);
int store_room_get(store_t *st, int64_t id, store_room_t *out);
int store_room_by_code(store_t *st, const char *code, store_room_t *out);
/* Live rooms that are public or have user_id as a member, newest first. */
int store_rooms_visible(store_t *st, int64_t user_id, store_room_cb cb, void *ctx);
/* The same, one page: ids below before_id (0: from the newest), at most limit. */
int store_rooms_visible_page(store_t *st, int64_t user_id, int64_t before_id, int limit,
                             store_room_cb cb, void *ctx);
int store_room_end(store_t *st, int64_t room_id, int64_t now_ms);
int store_room_count(store_t *st, int64_t *live_out);
/* Registration: "open" (the default), "closed" or "invite" (set by sfu admin). */
void store_registration_mode(store_t *st, char mode[16]);
/* Takes an unused invite code for a registration in progress: 0 or -ENOENT.
 * Release gives it back (the registration failed); bind records the user. */
int store_invite_claim(store_t *st, const char *code, int64_t now_ms);
void store_invite_release(store_t *st, const char *code);
void store_invite_bind(store_t *st, const char *code, int64_t user_id);
/* Live rooms user_id is host of. */
int store_rooms_hosted_count(store_t *st, int64_t user_id, int64_t *out);

/* 0 with role ("host"/"member", 8 bytes) filled when a member, -ENOENT otherwise. */
int store_member_role(store_t *st, int64_t room_id, int64_t user_id, char role[8]);
/* -EEXIST when already a member. */
int store_member_add(store_t *st, int64_t room_id, int64_t user_id, const char *role,
                     int64_t now_ms);
/* Removes the member. When the host leaves, the longest-present remaining member
 * becomes host: *new_host_id is that user, or 0 when nobody is left or the
 * leaver was not host. -ENOENT when not a member. */
int store_member_remove(store_t *st, int64_t room_id, int64_t user_id, int64_t *new_host_id);
/* Members in joining order. */
int store_members_list(store_t *st, int64_t room_id, store_member_cb cb, void *ctx);

/* ---- room messages ---- */
/* Stores the message and fills out (out->content/sender_name point into the
 * arguments / a buffer in the store valid until the next call). */
int store_message_add(store_t *st, int64_t room_id, int64_t sender_id, const char *content,
                      const char *file_id, int64_t now_ms, store_message_t *out);
/* Newest first; before_id 0 means from the newest; at most limit rows. */
int store_messages_page(store_t *st, int64_t room_id, int64_t before_id, int limit,
                        store_message_cb cb, void *ctx);

/* WAL checkpoints on another thread. open (main thread) makes a second
 * connection to path and turns the store's automatic checkpoints off; run
 * may then be called from one other thread at a time; close after the last
 * run returned, before store_close. NULL when it could not be opened (the
 * store then keeps checkpointing by itself). */
typedef struct store_checkpointer store_checkpointer_t;
/* A WAL this long (pages) after a passive checkpoint is restarted, which
 * holds up the main connection's commits for a moment (see checkpoint.c);
 * when the WAL rewinds, its file is cut back to STORE_WAL_SIZE_LIMIT bytes. */
#define STORE_WAL_RESTART_FRAMES 4096
#define STORE_WAL_SIZE_LIMIT     (16 * 1024 * 1024)
store_checkpointer_t *store_checkpointer_open(store_t *st, const char *path);
/* on_commit(ctx) runs on the main thread after each commit of st that added
 * to the WAL, so checkpoints can be scheduled when there is something to copy
 * rather than on a fixed tick. NULL removes it. */
void store_checkpointer_on_commit(store_checkpointer_t *cp, void (*on_commit)(void *ctx),
                                  void *ctx);
int store_checkpointer_run(store_checkpointer_t *cp);
void store_checkpointer_close(store_checkpointer_t *cp);

/* Call records: a call lasts from its first participant to its end. */
typedef struct store_call {
    int64_t id;
    int64_t room_id;
    const char *room_name;
    int64_t started_at_ms;
    int64_t ended_at_ms; /* 0 while it goes on */
    const char *end_reason;
    /* A direct call (direct_status non-NULL): who rang whom, how it went. */
    const char *direct_status; /* ringing accepted declined missed cancelled busy ended */
    int64_t caller_id, callee_id;
    const char *caller_name, *callee_name;
    bool video;
    int64_t answered_at_ms; /* 0 when never answered */
    int64_t seen_at_ms;     /* a missed call: when its callee saw it; 0 while unseen */
} store_call_t;

typedef struct store_call_participant {
    int64_t user_id;
    const char *username;
    int64_t joined_at_ms;
    int64_t left_at_ms; /* 0 while in the call */
    const char *leave_reason;
} store_call_participant_t;

typedef int (*store_call_cb)(void *ctx, const store_call_t *call);
typedef int (*store_call_participant_cb)(void *ctx, const store_call_participant_t *p);

int store_call_start(store_t *st, int64_t room_id, int64_t now_ms, int64_t *call_id);
int store_call_join(store_t *st, int64_t call_id, int64_t user_id, int64_t now_ms);
int store_call_leave(store_t *st, int64_t call_id, int64_t user_id, int64_t now_ms,
                     const char *reason);
/* Ends the call and every participation still open in it. */
int store_call_end(store_t *st, int64_t call_id, int64_t now_ms, const char *reason);
/* At start: calls a previous process left open end now, "node_stopped". */
int store_calls_close_open(store_t *st, int64_t now_ms);
/* The user's calls, newest first, room calls they joined and direct calls
 * they made or were rung for; before_id 0 means from the newest. */
int store_calls_for_user(store_t *st, int64_t user_id, int64_t before_id, int limit,
                         store_call_cb cb, void *ctx);
int store_call_participants(store_t *st, int64_t call_id, store_call_participant_cb cb, void *ctx);

/* ---- direct calls (one user rings another) ---- */
typedef struct store_direct_call {
    int64_t call_id, room_id;
    int64_t caller_id, callee_id;
    bool video;
    char status[12];
    int64_t started_at_ms, answered_at_ms, ended_at_ms; /* 0 when not (yet) */
} store_direct_call_t;

typedef struct store_missed_call {
    int64_t call_id;
    int64_t caller_id;
    const char *caller_name;
    bool video;
    int64_t started_at_ms, ended_at_ms;
} store_missed_call_t;

typedef int (*store_missed_call_cb)(void *ctx, const store_missed_call_t *m);

/* A ringing call in one transaction: its private room (code, name; the caller
 * host, the callee member), its call record (started now) and its direct
 * record. -EEXIST when the code is taken. */
int store_direct_call_start(store_t *st, int64_t caller_id, int64_t callee_id, bool video,
                            const char *code, const char *room_name, int64_t now_ms,
                            int64_t *call_id, int64_t *room_id);
/* ringing -> accepted, answered now. -ENOENT when it was not ringing. */
int store_direct_call_answer(store_t *st, int64_t call_id, int64_t now_ms);
/* The final status (declined, missed, cancelled, busy, ended) of a ringing
 * or accepted call; its record ends (if still open) with that reason and its
 * room ends. -ENOENT when it was already over. */
int store_direct_call_finish(store_t *st, int64_t call_id, const char *status, int64_t now_ms);
int store_direct_call_get(store_t *st, int64_t call_id, store_direct_call_t *out);
/* Missed calls to user_id not yet seen, newest first, at most limit. */
int store_missed_calls_unseen(store_t *st, int64_t user_id, int limit, store_missed_call_cb cb,
                              void *ctx);
int store_missed_calls_count(store_t *st, int64_t user_id, int64_t *count);
/* Marks every unseen missed call of user_id seen; *marked = how many. */
int store_missed_calls_mark_seen(store_t *st, int64_t user_id, int64_t now_ms, int *marked);

#endif
