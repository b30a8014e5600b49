/* store/db_internal.h: the store's connection and its prepared statements,
 * shared by the store's files (and its unit tests). */
#ifndef SFU_STORE_DB_INTERNAL_H
#define SFU_STORE_DB_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

typedef enum {
    Q_USER_INSERT,
    Q_USER_BY_EMAIL,
    Q_USER_BY_USERNAME,
    Q_USER_BY_ID,
    Q_USER_COUNT,
    Q_USER_SET_LAST_SEEN,
    Q_USER_SEARCH,
    Q_REFRESH_INSERT,
    Q_REFRESH_BY_HASH,
    Q_REFRESH_MARK_USED,
    Q_REFRESH_REVOKE_FAMILY,
    Q_ACCESS_REVOKE,
    Q_ACCESS_IS_REVOKED,
    Q_ACCESS_PURGE,
    Q_ROOM_INSERT,
    Q_ROOM_BY_ID,
    Q_ROOM_BY_CODE,
    Q_ROOMS_VISIBLE,
    Q_ROOM_END,
    Q_ROOM_COUNT,
    Q_ROOM_SET_HOST,
    Q_ROOMS_HOSTED_COUNT,
    Q_MEMBER_ROLE,
    Q_MEMBER_INSERT,
    Q_MEMBER_DELETE,
    Q_MEMBER_OLDEST,
    Q_MEMBER_SET_ROLE,
    Q_MEMBERS_LIST,
    Q_USER_ROOM_IDS,
    Q_MESSAGE_INSERT,
    Q_MESSAGES_PAGE,
    Q_DM_INSERT,
    Q_DM_HISTORY,
    Q_DM_MARK_READ,
    Q_DM_UNREAD_COUNTS,
    Q_DM_UNREAD_LIST,
    Q_CONTACT_INSERT,
    Q_CONTACT_DELETE,
    Q_CONTACTS_LIST,
    Q_BLOCK_INSERT,
    Q_BLOCK_DELETE,
    Q_BLOCK_EXISTS,
    Q_REPORT_INSERT,
    Q_SETTING_GET,
    Q_INVITE_CLAIM,
    Q_INVITE_RELEASE,
    Q_INVITE_BIND,
    Q_FILE_INSERT,
    Q_FILE_GET,
    Q_FILE_CAN_READ,
    Q_CALL_INSERT,
    Q_CALL_END,
    Q_CALL_PART_INSERT,
    Q_CALL_PART_LEAVE,
    Q_CALL_PART_LEAVE_ALL,
    Q_CALLS_CLOSE_OPEN,
    Q_CALL_PARTS_CLOSE_OPEN,
    Q_CALLS_FOR_USER,
    Q_CALL_PARTS_LIST,
    Q_DIRECT_ROOM_INSERT,
    Q_DIRECT_CALL_INSERT,
    Q_DIRECT_CALL_ANSWER,
    Q_DIRECT_CALL_FINISH,
    Q_DIRECT_CALL_END_RECORD,
    Q_DIRECT_CALL_END_ROOM,
    Q_DIRECT_CALL_GET,
    Q_MISSED_UNSEEN_LIST,
    Q_MISSED_UNSEEN_COUNT,
    Q_MISSED_MARK_SEEN,
    Q_DIRECT_CALLS_CLOSE_OPEN,
    Q_DIRECT_ROOMS_CLOSE_OPEN,
    Q_INGEST_INSERT,
    Q_INGEST_BY_HASH,
    Q_INGEST_LIST,
    Q_INGEST_REVOKE,
    Q_COUNT
} db_query_t;

typedef struct db_query_def {
    const char *name;
    const char *sql;
} db_query_def_t;

/* The SQL of every statement, by id (for EXPLAIN QUERY PLAN in tests). */
extern const db_query_def_t db_queries[Q_COUNT];

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmts[Q_COUNT];
    uint64_t calls;       /* for occasional housekeeping */
    char sender_name[64]; /* backs store_message_t/store_dm_t.sender_name of an insert */
};

/* The prepared statement for q, reset and unbound; NULL on failure (logged). */
sqlite3_stmt *db_stmt(store_t *st, db_query_t q);
/* Logs the current SQLite error for q and returns -EIO. */
int db_fail(store_t *st, db_query_t q);
/* Runs q to completion (no rows expected); 0, -EEXIST on a constraint, -EIO. */
int db_exec_stmt(store_t *st, db_query_t q, sqlite3_stmt *s);
int db_begin(store_t *st);
int db_commit(store_t *st);
void db_rollback(store_t *st);
/* Copies column i as text into dst (cap bytes, always terminated). */
void db_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap);
int64_t db_col_i64_or0(sqlite3_stmt *s, int i);

#endif
