/* store/store_social.h: direct messages, presence, contacts, blocks, reports
 * and files. Same conventions as store.h (0 or a negative errno; callbacks with
 * pointers valid only during the call; non-zero from a callback stops). */
#ifndef SFU_STORE_SOCIAL_H
#define SFU_STORE_SOCIAL_H

#include "store/store.h"

typedef struct store_dm {
    int64_t id;
    int64_t sender_id;
    int64_t recipient_id;
    const char *sender_name;
    const char *content;
    const char *file_id; /* NULL when none */
    int64_t created_at_ms;
    int64_t read_at_ms; /* 0 while unread */
} store_dm_t;

typedef struct store_unread {
    int64_t sender_id;
    const char *sender_name;
    int count;
    int64_t last_id;
} store_unread_t;

typedef struct store_file {
    char id[40];
    int64_t owner_id;
    char mime[64];
    int64_t size;
    int64_t created_at_ms;
} store_file_t;

typedef int (*store_dm_cb)(void *ctx, const store_dm_t *dm);
typedef int (*store_unread_cb)(void *ctx, const store_unread_t *unread);
typedef int (*store_user_cb)(void *ctx, const store_user_t *user);
typedef int (*store_id_cb)(void *ctx, int64_t id);

/* ---- direct messages ---- */
int store_dm_add(store_t *st, int64_t sender_id, int64_t recipient_id, const char *content,
                 const char *file_id, int64_t now_ms, store_dm_t *out);
/* The conversation between a and b, both directions, newest first. */
int store_dm_history(store_t *st, int64_t a, int64_t b, int64_t before_id, int limit,
                     store_dm_cb cb, void *ctx);
/* Marks unread DMs from sender_id to reader_id with id <= up_to_id (0: all) read
 * at now_ms. *marked = rows changed, *last_id = highest id marked (0 if none). */
int store_dm_mark_read(store_t *st, int64_t reader_id, int64_t sender_id, int64_t up_to_id,
                       int64_t now_ms, int *marked, int64_t *last_id);
/* Unread DMs to recipient grouped by sender, senders by newest unread first. */
int store_dm_unread_counts(store_t *st, int64_t recipient_id, store_unread_cb cb, void *ctx);
/* Unread DMs to recipient, oldest first, at most limit. */
int store_dm_unread_list(store_t *st, int64_t recipient_id, int limit, store_dm_cb cb, void *ctx);

/* ---- users, presence ---- */
int store_user_set_last_seen(store_t *st, int64_t user_id, int64_t when_ms);
/* Users whose username starts with prefix (case-insensitive; % and _ in the
 * prefix match literally), by username, at most limit. */
int store_user_search(store_t *st, const char *prefix, int limit, store_user_cb cb, void *ctx);
/* Live rooms user_id is a member of. */
int store_user_room_ids(store_t *st, int64_t user_id, store_id_cb cb, void *ctx);

/* ---- contacts, blocks, reports ---- */
/* -EEXIST when already a contact. */
int store_contact_add(store_t *st, int64_t user_id, int64_t contact_id, int64_t now_ms);
/* -ENOENT when not a contact. */
int store_contact_remove(store_t *st, int64_t user_id, int64_t contact_id);
int store_contacts_list(store_t *st, int64_t user_id, store_user_cb cb, void *ctx);
/* Idempotent. */
int store_block_add(store_t *st, int64_t user_id, int64_t blocked_id, int64_t now_ms);
int store_block_remove(store_t *st, int64_t user_id, int64_t blocked_id);
/* 1 when blocker_id blocked blocked_id, 0 when not, negative on error. */
int store_is_blocked(store_t *st, int64_t blocker_id, int64_t blocked_id);
int store_report_add(store_t *st, int64_t reporter_id, int64_t user_id, const char *reason,
                     int64_t now_ms);

/* ---- files ---- */
int store_file_add(store_t *st, const char *id, int64_t owner_id, const char *mime, int64_t size,
                   int64_t now_ms);
int store_file_get(store_t *st, const char *id, store_file_t *out);
/* 1 when user_id may read the file: its owner, a member of a live room where a
 * message carried it, or a party to a DM that carried it. 0 otherwise. */
int store_file_can_read(store_t *st, const char *id, int64_t user_id);

#endif
