/* store/db_rooms.c: rooms, memberships and room messages. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "store/db_internal.h"

static void read_room(sqlite3_stmt *s, store_room_t *r)
{
    r->id = sqlite3_column_int64(s, 0);
    db_col_text(s, 1, r->code, sizeof r->code);
    db_col_text(s, 2, r->name, sizeof r->name);
    r->is_private = sqlite3_column_int(s, 3) != 0;
    r->host_id = db_col_i64_or0(s, 4);
    r->created_at_ms = sqlite3_column_int64(s, 5);
    r->ended_at_ms = db_col_i64_or0(s, 6);
    r->member_count = sqlite3_column_int(s, 7);
    r->is_direct = sqlite3_column_int(s, 8) != 0;
}

static int room_lookup(store_t *st, db_query_t q, const char *code, int64_t id, store_room_t *out)
{
    sqlite3_stmt *s = db_stmt(st, q);
    if (!s)
        return -EIO;
    if (code)
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_room(s, out);
        sqlite3_reset(s);
        return 0;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    return db_fail(st, q);
}

int store_room_get(store_t *st, int64_t id, store_room_t *out)
{
    return room_lookup(st, Q_ROOM_BY_ID, NULL, id, out);
}

int store_room_by_code(store_t *st, const char *code, store_room_t *out)
{
    return room_lookup(st, Q_ROOM_BY_CODE, code, 0, out);
}

int store_room_create(store_t *st, const char *name, bool is_private, int64_t host_id,
                      const char *code, int64_t now_ms, store_room_t *out)
{
    if (db_begin(st))
        return -EIO;
    sqlite3_stmt *s = db_stmt(st, Q_ROOM_INSERT);
    int rc = -EIO;
    if (!s)
        goto fail;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, is_private ? 1 : 0);
    sqlite3_bind_int64(s, 4, host_id);
    sqlite3_bind_int64(s, 5, now_ms);
    if ((rc = db_exec_stmt(st, Q_ROOM_INSERT, s)))
        goto fail;
    int64_t room_id = sqlite3_last_insert_rowid(st->db);
    if ((rc = store_member_add(st, room_id, host_id, "host", now_ms)) || (rc = db_commit(st)))
        goto fail;
    return out ? store_room_get(st, room_id, out) : 0;
fail:
    db_rollback(st);
    return rc;
}

int store_rooms_visible(store_t *st, int64_t user_id, store_room_cb cb, void *ctx)
{
    return store_rooms_visible_page(st, user_id, 0, 500, cb, ctx);
}

int store_rooms_visible_page(store_t *st, int64_t user_id, int64_t before_id, int limit,
                             store_room_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_ROOMS_VISIBLE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(s, 3, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_room_t r;
        read_room(s, &r);
        if (cb(ctx, &r))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_ROOMS_VISIBLE);
    sqlite3_reset(s);
    return 0;
}

int store_room_end(store_t *st, int64_t room_id, int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_ROOM_END);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_int64(s, 2, now_ms);
    int rc = db_exec_stmt(st, Q_ROOM_END, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return -ENOENT;
    return rc;
}

int store_member_role(store_t *st, int64_t room_id, int64_t user_id, char role[8])
{
    sqlite3_stmt *s = db_stmt(st, Q_MEMBER_ROLE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_int64(s, 2, user_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        db_col_text(s, 0, role, 8);
        sqlite3_reset(s);
        return 0;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    return db_fail(st, Q_MEMBER_ROLE);
}

static int exec_ids(store_t *st, db_query_t q, int64_t a, int64_t b, const char *text)
{
    sqlite3_stmt *s = db_stmt(st, q);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    if (text)
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    return db_exec_stmt(st, q, s);
}

int store_member_add(store_t *st, int64_t room_id, int64_t user_id, const char *role,
                     int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_MEMBER_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_text(s, 3, role, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    int rc = db_exec_stmt(st, Q_MEMBER_INSERT, s);
    /* The insert makes the joiner host of a room nobody hosts (its host left
     * it empty); the room's host_id follows. */
    char got[8];
    if (rc == 0 && strcmp(role, "host") && store_member_role(st, room_id, user_id, got) == 0 &&
        !strcmp(got, "host"))
        rc = exec_ids(st, Q_ROOM_SET_HOST, room_id, user_id, NULL);
    return rc;
}

int store_member_remove(store_t *st, int64_t room_id, int64_t user_id, int64_t *new_host_id)
{
    char role[8];
    *new_host_id = 0;
    if (db_begin(st))
        return -EIO;
    int rc = store_member_role(st, room_id, user_id, role);
    if (rc || (rc = exec_ids(st, Q_MEMBER_DELETE, room_id, user_id, NULL)))
        goto fail;
    if (!strcmp(role, "host")) {
        /* The host passes to the longest-present member. */
        sqlite3_stmt *s = db_stmt(st, Q_MEMBER_OLDEST);
        if (!s) {
            rc = -EIO;
            goto fail;
        }
        sqlite3_bind_int64(s, 1, room_id);
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            *new_host_id = sqlite3_column_int64(s, 0);
        else if (step != SQLITE_DONE) {
            rc = db_fail(st, Q_MEMBER_OLDEST);
            goto fail;
        }
        sqlite3_reset(s);
        if (*new_host_id &&
            ((rc = exec_ids(st, Q_MEMBER_SET_ROLE, room_id, *new_host_id, "host")) ||
             (rc = exec_ids(st, Q_ROOM_SET_HOST, room_id, *new_host_id, NULL))))
            goto fail;
    }
    if ((rc = db_commit(st)))
        goto fail;
    return 0;
fail:
    *new_host_id = 0;
    db_rollback(st);
    return rc;
}

int store_members_list(store_t *st, int64_t room_id, store_member_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_MEMBERS_LIST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_member_t m = {
            .user_id = sqlite3_column_int64(s, 0),
            .username = (const char *)sqlite3_column_text(s, 1),
            .role = (const char *)sqlite3_column_text(s, 2),
            .joined_at_ms = sqlite3_column_int64(s, 3),
            .last_seen_ms = db_col_i64_or0(s, 4),
        };
        if (cb(ctx, &m))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_MEMBERS_LIST);
    sqlite3_reset(s);
    return 0;
}

int store_message_add(store_t *st, int64_t room_id, int64_t sender_id, const char *content,
                      const char *file_id, int64_t now_ms, store_message_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_MESSAGE_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_int64(s, 2, sender_id);
    sqlite3_bind_text(s, 3, content, -1, SQLITE_STATIC);
    if (file_id)
        sqlite3_bind_text(s, 4, file_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now_ms);
    int rc = db_exec_stmt(st, Q_MESSAGE_INSERT, s);
    if (rc)
        return rc == -EEXIST ? -ENOENT : rc; /* a foreign key: no such room, user or file */
    if (out) {
        store_user_t u;
        st->sender_name[0] = '\0';
        if (store_user_by_id(st, sender_id, &u) == 0)
            memcpy(st->sender_name, u.username, sizeof st->sender_name);
        *out = (store_message_t){.id = sqlite3_last_insert_rowid(st->db),
                                 .room_id = room_id,
                                 .sender_id = sender_id,
                                 .sender_name = st->sender_name,
                                 .content = content,
                                 .file_id = file_id,
                                 .created_at_ms = now_ms};
    }
    return 0;
}

int store_messages_page(store_t *st, int64_t room_id, int64_t before_id, int limit,
                        store_message_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_MESSAGES_PAGE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(s, 3, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_message_t m = {
            .id = sqlite3_column_int64(s, 0),
            .room_id = sqlite3_column_int64(s, 1),
            .sender_id = sqlite3_column_int64(s, 2),
            .sender_name = (const char *)sqlite3_column_text(s, 3),
            .content = (const char *)sqlite3_column_text(s, 4),
            .file_id = (const char *)sqlite3_column_text(s, 5),
            .created_at_ms = sqlite3_column_int64(s, 6),
        };
        if (cb(ctx, &m))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_MESSAGES_PAGE);
    sqlite3_reset(s);
    return 0;
}
