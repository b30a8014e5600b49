/* store/db_calls.c: call records (calls, call_participants) and direct
 * calls (direct_calls, with their private rooms). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

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
    /* Direct calls still ringing were missed; answered ones ended; their rooms end. */
    if (rc == 0 && (s = db_stmt(st, Q_DIRECT_CALLS_CLOSE_OPEN)))
        rc = db_exec_stmt(st, Q_DIRECT_CALLS_CLOSE_OPEN, s);
    if (rc == 0 && (s = db_stmt(st, Q_DIRECT_ROOMS_CLOSE_OPEN))) {
        sqlite3_bind_int64(s, 1, now_ms);
        rc = db_exec_stmt(st, Q_DIRECT_ROOMS_CLOSE_OPEN, s);
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
            .caller_id = db_col_i64_or0(s, 6),
            .callee_id = db_col_i64_or0(s, 7),
            .video = sqlite3_column_int(s, 8) != 0,
            .direct_status = (const char *)sqlite3_column_text(s, 9),
            .answered_at_ms = db_col_i64_or0(s, 10),
            .seen_at_ms = db_col_i64_or0(s, 11),
            .caller_name = (const char *)sqlite3_column_text(s, 12),
            .callee_name = (const char *)sqlite3_column_text(s, 13),
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

int store_direct_call_start(store_t *st, int64_t caller_id, int64_t callee_id, bool video,
                            const char *code, const char *room_name, int64_t now_ms,
                            int64_t *call_id, int64_t *room_id)
{
    if (db_begin(st))
        return -EIO;
    int rc = -EIO;
    sqlite3_stmt *s = db_stmt(st, Q_DIRECT_ROOM_INSERT);
    if (!s)
        goto fail;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, room_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, caller_id);
    sqlite3_bind_int64(s, 4, now_ms);
    if ((rc = db_exec_stmt(st, Q_DIRECT_ROOM_INSERT, s)))
        goto fail;
    *room_id = sqlite3_last_insert_rowid(st->db);
    if ((rc = store_member_add(st, *room_id, caller_id, "host", now_ms)) ||
        (rc = store_member_add(st, *room_id, callee_id, "member", now_ms)) ||
        (rc = store_call_start(st, *room_id, now_ms, call_id)))
        goto fail;
    rc = -EIO;
    if (!(s = db_stmt(st, Q_DIRECT_CALL_INSERT)))
        goto fail;
    sqlite3_bind_int64(s, 1, *call_id);
    sqlite3_bind_int64(s, 2, caller_id);
    sqlite3_bind_int64(s, 3, callee_id);
    sqlite3_bind_int(s, 4, video ? 1 : 0);
    if ((rc = db_exec_stmt(st, Q_DIRECT_CALL_INSERT, s)) || (rc = db_commit(st)))
        goto fail;
    return 0;
fail:
    db_rollback(st);
    return rc;
}

int store_direct_call_answer(store_t *st, int64_t call_id, int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_DIRECT_CALL_ANSWER);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, call_id);
    sqlite3_bind_int64(s, 2, now_ms);
    int rc = db_exec_stmt(st, Q_DIRECT_CALL_ANSWER, s);
    return rc ? rc : sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int store_direct_call_finish(store_t *st, int64_t call_id, const char *status, int64_t now_ms)
{
    if (db_begin(st))
        return -EIO;
    int rc = -EIO;
    sqlite3_stmt *s = db_stmt(st, Q_DIRECT_CALL_FINISH);
    if (!s)
        goto fail;
    sqlite3_bind_int64(s, 1, call_id);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    if ((rc = db_exec_stmt(st, Q_DIRECT_CALL_FINISH, s)))
        goto fail;
    if (sqlite3_changes(st->db) == 0) {
        rc = -ENOENT;
        goto fail;
    }
    rc = -EIO;
    if (!(s = db_stmt(st, Q_DIRECT_CALL_END_RECORD)))
        goto fail;
    sqlite3_bind_int64(s, 1, call_id);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_text(s, 3, status, -1, SQLITE_STATIC);
    if ((rc = db_exec_stmt(st, Q_DIRECT_CALL_END_RECORD, s)))
        goto fail;
    rc = -EIO;
    if (!(s = db_stmt(st, Q_DIRECT_CALL_END_ROOM)))
        goto fail;
    sqlite3_bind_int64(s, 1, call_id);
    sqlite3_bind_int64(s, 2, now_ms);
    if ((rc = db_exec_stmt(st, Q_DIRECT_CALL_END_ROOM, s)) || (rc = db_commit(st)))
        goto fail;
    return 0;
fail:
    db_rollback(st);
    return rc;
}

int store_direct_call_get(store_t *st, int64_t call_id, store_direct_call_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_DIRECT_CALL_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, call_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return db_fail(st, Q_DIRECT_CALL_GET);
    out->call_id = sqlite3_column_int64(s, 0);
    out->room_id = sqlite3_column_int64(s, 1);
    out->caller_id = sqlite3_column_int64(s, 2);
    out->callee_id = sqlite3_column_int64(s, 3);
    out->video = sqlite3_column_int(s, 4) != 0;
    db_col_text(s, 5, out->status, sizeof out->status);
    out->started_at_ms = sqlite3_column_int64(s, 6);
    out->answered_at_ms = db_col_i64_or0(s, 7);
    out->ended_at_ms = db_col_i64_or0(s, 8);
    sqlite3_reset(s);
    return 0;
}

int store_missed_calls_unseen(store_t *st, int64_t user_id, int limit, store_missed_call_cb cb,
                              void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_MISSED_UNSEEN_LIST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int(s, 2, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_missed_call_t m = {
            .call_id = sqlite3_column_int64(s, 0),
            .caller_id = sqlite3_column_int64(s, 1),
            .caller_name = (const char *)sqlite3_column_text(s, 2),
            .video = sqlite3_column_int(s, 3) != 0,
            .started_at_ms = sqlite3_column_int64(s, 4),
            .ended_at_ms = db_col_i64_or0(s, 5),
        };
        if (cb(ctx, &m))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_MISSED_UNSEEN_LIST);
    sqlite3_reset(s);
    return 0;
}

int store_missed_calls_count(store_t *st, int64_t user_id, int64_t *count)
{
    sqlite3_stmt *s = db_stmt(st, Q_MISSED_UNSEEN_COUNT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    if (sqlite3_step(s) != SQLITE_ROW)
        return db_fail(st, Q_MISSED_UNSEEN_COUNT);
    *count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int store_missed_calls_mark_seen(store_t *st, int64_t user_id, int64_t now_ms, int *marked)
{
    sqlite3_stmt *s = db_stmt(st, Q_MISSED_MARK_SEEN);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int64(s, 2, now_ms);
    int rc = db_exec_stmt(st, Q_MISSED_MARK_SEEN, s);
    if (rc == 0)
        *marked = sqlite3_changes(st->db);
    return rc;
}
