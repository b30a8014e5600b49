/* store/db_ingest.c: ingest keys (ingest_keys). */
#include "store/store_ingest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/db_internal.h"

int store_ingest_key_create(store_t *st, int64_t room_id, const char *name,
                            const uint8_t key_hash[32], int64_t created_by, int64_t now_ms,
                            store_ingest_key_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_INGEST_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, key_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, created_by);
    sqlite3_bind_int64(s, 5, now_ms);
    int rc = db_exec_stmt(st, Q_INGEST_INSERT, s);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_last_insert_rowid(st->db);
    out->room_id = room_id;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_at_ms = now_ms;
    return 0;
}

static void key_from_row(sqlite3_stmt *s, store_ingest_key_t *k)
{
    memset(k, 0, sizeof *k);
    k->id = sqlite3_column_int64(s, 0);
    k->room_id = sqlite3_column_int64(s, 1);
    db_col_text(s, 2, k->name, sizeof k->name);
    k->created_at_ms = sqlite3_column_int64(s, 3);
    k->revoked_at_ms = db_col_i64_or0(s, 4);
}

int store_ingest_key_by_hash(store_t *st, const uint8_t key_hash[32], store_ingest_key_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_INGEST_BY_HASH);
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, key_hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        key_from_row(s, out);
        sqlite3_reset(s);
        return 0;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    return db_fail(st, Q_INGEST_BY_HASH);
}

int store_ingest_keys_list(store_t *st, int64_t room_id, store_ingest_key_cb cb, void *ctx)
{
    sqlite3_stmt *s = db_stmt(st, Q_INGEST_LIST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, room_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_ingest_key_t k;
        key_from_row(s, &k);
        if (cb(ctx, &k))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, Q_INGEST_LIST);
    sqlite3_reset(s);
    return 0;
}

int store_ingest_key_revoke(store_t *st, int64_t room_id, int64_t key_id, int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_INGEST_REVOKE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, key_id);
    sqlite3_bind_int64(s, 2, room_id);
    sqlite3_bind_int64(s, 3, now_ms);
    int rc = db_exec_stmt(st, Q_INGEST_REVOKE, s);
    if (rc)
        return rc;
    return sqlite3_changes(st->db) ? 0 : -ENOENT;
}
