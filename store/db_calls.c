/* store/db_calls.c: call records (calls, call_participants). */
#include <errno.h>
#include <stdint.h>

#include "store/db_internal.h"

int store_call_start(store_t *st, int64_t room_id, int64_t now_ms, int64_t *call_id)
{
    sqlite3_stmt *s = db_stmt(st, Q_CALL_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_int64(s, 2, now_ms);
    int rc = db_exec_stmt(st, Q_CALL_INSERT, s);
    if (rc == 0)
        *call_id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_call_join(store_t *st, int64_t call_id, int64_t user_id, int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_CALL_PART_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, call_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, now_ms);
    return db_exec_stmt(st, Q_CALL_PART_INSERT, s);
}

int store_call_leave(store_t *st, int64_t call_id, int64_t user_id, int64_t now_ms,
                     const char *reason)
{
    sqlite3_stmt *s = db_stmt(st, Q_CALL_PART_LEAVE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, call_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, now_ms);
    sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
    return db_exec_stmt(st, Q_CALL_PART_LEAVE, s);
}

int store_call_end(store_t *st, int64_t call_id, int64_t now_ms, const char *reason)
{
    if (db_begin(st))
        return -EIO;
    sqlite3_stmt *s = db_stmt(st, Q_CALL_PART_LEAVE_ALL);
    int rc = -EIO;
    if (s) {
        sqlite3_bind_int64(s, 1, call_id);
        sqlite3_bind_int64(s, 2, now_ms);
        sqlite3_bind_text(s, 3, "ended", -1, SQLITE_STATIC);
        rc = db_exec_stmt(st, Q_CALL_PART_LEAVE_ALL, s);
    }
    if (rc == 0 && (s = db_stmt(st, Q_CALL_END))) {
        sqlite3_bind_int64(s, 1, call_id);
        sqlite3_bind_int64(s, 2, now_ms);
        sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
        rc = db_exec_stmt(st, Q_CALL_END, s);
    }
    if (rc == 0)
        return db_commit(st);
    db_rollback(st);
    return rc;
}

int store_calls_close_open(store_t *st, int64_t now_ms)
{
    if (db_begin(st))
        return -EIO;
    int rc = -EIO;
    sqlite3_stmt *s = db_stmt(st, Q_CALL_PARTS_CLOSE_OPEN);
    if (s) {
        sqlite3_bind_int64(s, 1, now_ms);
        rc = db_exec_stmt(st, Q_CALL_PARTS_CLOSE_OPEN, s);
    }
    if (rc == 0 && (s = db_stmt(st, Q_CALLS_CLOSE_OPEN))) {
        sqlite3_bind_int64(s, 1, now_ms);
        rc = db_exec_stmt(st, Q_CALLS_CLOSE_OPEN, s);
    }
    if (rc == 0)
        return db_commit(st);
    db_rollback(st);
    return rc;
}

int store_calls_for_user(store_t *st, int64_t user_id, int64_t before_id, int limit,
                         store_call_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_CALLS_FOR_USER);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(s, 3, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_call_t c = {
            .id = sqlite3_column_int64(s, 0),
            .room_id = sqlite3_column_int64(s, 1),
            .room_name = (const char *)sqlite3_column_text(s, 2),
            .started_at_ms = sqlite3_column_int64(s, 3),
            .ended_at_ms = db_col_i64_or0(s, 4),
            .end_reason = (const char *)sqlite3_column_text(s, 5),
        };
        if (cb(ctx, &c))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_CALLS_FOR_USER);
    sqlite3_reset(s);
    return 0;
}

int store_call_participants(store_t *st, int64_t call_id, store_call_participant_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_CALL_PARTS_LIST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, call_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_call_participant_t p = {
            .user_id = sqlite3_column_int64(s, 0),
            .username = (const char *)sqlite3_column_text(s, 1),
            .joined_at_ms = sqlite3_column_int64(s, 2),
            .left_at_ms = db_col_i64_or0(s, 3),
            .leave_reason = (const char *)sqlite3_column_text(s, 4),
        };
        if (cb(ctx, &p))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_CALL_PARTS_LIST);
    sqlite3_reset(s);
    return 0;
}
