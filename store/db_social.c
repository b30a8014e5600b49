/* store/db_social.c: direct messages, presence, contacts, blocks, reports, files. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "store/db_internal.h"
#include "store/store_social.h"

static void read_dm(sqlite3_stmt *s, store_dm_t *d)
{
    *d = (store_dm_t){
        .id = sqlite3_column_int64(s, 0),
        .sender_id = sqlite3_column_int64(s, 1),
        .recipient_id = sqlite3_column_int64(s, 2),
        .sender_name = (const char *)sqlite3_column_text(s, 3),
        .content = (const char *)sqlite3_column_text(s, 4),
        .file_id = (const char *)sqlite3_column_text(s, 5),
        .created_at_ms = sqlite3_column_int64(s, 6),
        .read_at_ms = db_col_i64_or0(s, 7),
    };
}

/* Steps s, handing each row to each_row until it returns non-zero. */
static int walk(store_t *st, db_query_t q, sqlite3_stmt *s, int (*each_row)(sqlite3_stmt *, void *),
                void *arg)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (each_row(s, arg))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, q);
    sqlite3_reset(s);
    return 0;
}

typedef struct dm_walk {
    store_dm_cb cb;
    void *ctx;
} dm_walk_t;

static int dm_row(sqlite3_stmt *s, void *arg)
{
    dm_walk_t *w = arg;
    store_dm_t d;
    read_dm(s, &d);
    return w->cb(w->ctx, &d);
}

int store_dm_add(store_t *st, int64_t sender_id, int64_t recipient_id, const char *content,
                 const char *file_id, int64_t now_ms, store_dm_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_DM_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, sender_id);
    sqlite3_bind_int64(s, 2, recipient_id);
    sqlite3_bind_text(s, 3, content, -1, SQLITE_STATIC);
    if (file_id)
        sqlite3_bind_text(s, 4, file_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now_ms);
    int rc = db_exec_stmt(st, Q_DM_INSERT, s);
    if (rc)
        return rc == -EEXIST ? -ENOENT : rc;
    if (out) {
        store_user_t u;
        st->sender_name[0] = '\0';
        if (store_user_by_id(st, sender_id, &u) == 0)
            memcpy(st->sender_name, u.username, sizeof st->sender_name);
        *out = (store_dm_t){.id = sqlite3_last_insert_rowid(st->db),
                            .sender_id = sender_id,
                            .recipient_id = recipient_id,
                            .sender_name = st->sender_name,
                            .content = content,
                            .file_id = file_id,
                            .created_at_ms = now_ms};
    }
    return 0;
}

int store_dm_history(store_t *st, int64_t a, int64_t b, int64_t before_id, int limit,
                     store_dm_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_DM_HISTORY);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    sqlite3_bind_int64(s, 3, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(s, 4, limit);
    dm_walk_t w = {cb, ctx};
    return walk(st, Q_DM_HISTORY, s, dm_row, &w);
}

int store_dm_mark_read(store_t *st, int64_t reader_id, int64_t sender_id, int64_t up_to_id,
                       int64_t now_ms, int *marked, int64_t *last_id)
{
    *marked = 0;
    *last_id = 0;
    sqlite3_stmt *s = db_stmt(st, Q_DM_MARK_READ);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, reader_id);
    sqlite3_bind_int64(s, 2, sender_id);
    sqlite3_bind_int64(s, 3, up_to_id > 0 ? up_to_id : INT64_MAX);
    sqlite3_bind_int64(s, 4, now_ms);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        (*marked)++;
        if (id > *last_id)
            *last_id = id;
    }
    if (rc != SQLITE_DONE)
        return db_fail(st, Q_DM_MARK_READ);
    sqlite3_reset(s);
    return 0;
}

typedef struct unread_walk {
    store_unread_cb cb;
    void *ctx;
} unread_walk_t;

static int unread_row(sqlite3_stmt *s, void *arg)
{
    unread_walk_t *w = arg;
    store_unread_t u = {
        .sender_id = sqlite3_column_int64(s, 0),
        .sender_name = (const char *)sqlite3_column_text(s, 1),
        .count = sqlite3_column_int(s, 2),
        .last_id = sqlite3_column_int64(s, 3),
    };
    return w->cb(w->ctx, &u);
}

int store_dm_unread_counts(store_t *st, int64_t recipient_id, store_unread_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_DM_UNREAD_COUNTS);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, recipient_id);
    unread_walk_t w = {cb, ctx};
    return walk(st, Q_DM_UNREAD_COUNTS, s, unread_row, &w);
}

int store_dm_unread_list(store_t *st, int64_t recipient_id, int limit, store_dm_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_DM_UNREAD_LIST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, recipient_id);
    sqlite3_bind_int(s, 2, limit);
    dm_walk_t w = {cb, ctx};
    return walk(st, Q_DM_UNREAD_LIST, s, dm_row, &w);
}

static int exec_ids(store_t *st, db_query_t q, int64_t a, int64_t b, int64_t c, bool bind_c)
{
    sqlite3_stmt *s = db_stmt(st, q);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    if (bind_c)
        sqlite3_bind_int64(s, 3, c);
    return db_exec_stmt(st, q, s);
}

int store_user_set_last_seen(store_t *st, int64_t user_id, int64_t when_ms)
{
    return exec_ids(st, Q_USER_SET_LAST_SEEN, user_id, when_ms, 0, false);
}

typedef struct user_walk {
    store_user_cb cb;
    void *ctx;
} user_walk_t;

static int user_row(sqlite3_stmt *s, void *arg)
{
    user_walk_t *w = arg;
    store_user_t u;
    u.id = sqlite3_column_int64(s, 0);
    db_col_text(s, 1, u.email, sizeof u.email);
    db_col_text(s, 2, u.username, sizeof u.username);
    u.password_hash[0] = '\0'; /* never handed out by a listing */
    u.created_at_ms = sqlite3_column_int64(s, 4);
    u.last_seen_ms = db_col_i64_or0(s, 5);
    return w->cb(w->ctx, &u);
}

int store_user_search(store_t *st, const char *prefix, int limit, store_user_cb cb, void *ctx)
{
    /* A range on the NOCASE index: [prefix, prefix + DEL) holds every name
     * starting with prefix, since names use only letters, digits and '_'. */
    char hi[128];
    size_t n = strlen(prefix);
    if (n == 0 || n + 2 > sizeof hi)
        return 0;
    memcpy(hi, prefix, n);
    hi[n] = 0x7f;
    hi[n + 1] = '\0';
    sqlite3_stmt *s = db_stmt(st, Q_USER_SEARCH);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, limit);
    user_walk_t w = {cb, ctx};
    return walk(st, Q_USER_SEARCH, s, user_row, &w);
}

typedef struct id_walk {
    store_id_cb cb;
    void *ctx;
} id_walk_t;

static int id_row(sqlite3_stmt *s, void *arg)
{
    id_walk_t *w = arg;
    return w->cb(w->ctx, sqlite3_column_int64(s, 0));
}

int store_user_room_ids(store_t *st, int64_t user_id, store_id_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_USER_ROOM_IDS);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    id_walk_t w = {cb, ctx};
    return walk(st, Q_USER_ROOM_IDS, s, id_row, &w);
}

int store_contact_add(store_t *st, int64_t user_id, int64_t contact_id, int64_t now_ms)
{
    return exec_ids(st, Q_CONTACT_INSERT, user_id, contact_id, now_ms, true);
}

int store_contact_remove(store_t *st, int64_t user_id, int64_t contact_id)
{
    int rc = exec_ids(st, Q_CONTACT_DELETE, user_id, contact_id, 0, false);
    return rc == 0 && sqlite3_changes(st->db) == 0 ? -ENOENT : rc;
}

int store_contacts_list(store_t *st, int64_t user_id, store_user_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_CONTACTS_LIST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    user_walk_t w = {cb, ctx};
    return walk(st, Q_CONTACTS_LIST, s, user_row, &w);
}

int store_block_add(store_t *st, int64_t user_id, int64_t blocked_id, int64_t now_ms)
{
    return exec_ids(st, Q_BLOCK_INSERT, user_id, blocked_id, now_ms, true);
}

int store_block_remove(store_t *st, int64_t user_id, int64_t blocked_id)
{
    return exec_ids(st, Q_BLOCK_DELETE, user_id, blocked_id, 0, false);
}

static int exists(store_t *st, db_query_t q, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return rc == SQLITE_ROW;
    }
    return db_fail(st, q);
}

int store_is_blocked(store_t *st, int64_t blocker_id, int64_t blocked_id)
{
    sqlite3_stmt *s = db_stmt(st, Q_BLOCK_EXISTS);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, blocker_id);
    sqlite3_bind_int64(s, 2, blocked_id);
    return exists(st, Q_BLOCK_EXISTS, s);
}

int store_report_add(store_t *st, int64_t reporter_id, int64_t user_id, const char *reason,
                     int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_REPORT_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, reporter_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    return db_exec_stmt(st, Q_REPORT_INSERT, s);
}

int store_file_add(store_t *st, const char *id, int64_t owner_id, const char *mime, int64_t size,
                   int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_FILE_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, owner_id);
    sqlite3_bind_text(s, 3, mime, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, size);
    sqlite3_bind_int64(s, 5, now_ms);
    return db_exec_stmt(st, Q_FILE_INSERT, s);
}

int store_file_get(store_t *st, const char *id, store_file_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_FILE_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return db_fail(st, Q_FILE_GET);
    db_col_text(s, 0, out->id, sizeof out->id);
    out->owner_id = sqlite3_column_int64(s, 1);
    db_col_text(s, 2, out->mime, sizeof out->mime);
    out->size = sqlite3_column_int64(s, 3);
    out->created_at_ms = sqlite3_column_int64(s, 4);
    sqlite3_reset(s);
    return 0;
}

int store_file_can_read(store_t *st, const char *id, int64_t user_id)
{
    sqlite3_stmt *s = db_stmt(st, Q_FILE_CAN_READ);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, user_id);
    return exists(st, Q_FILE_CAN_READ, s);
}
