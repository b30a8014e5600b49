/* store/db_core.c: opening, migrating and closing the SQLite store; users,
 * refresh tokens and revoked access tokens. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/db_internal.h"

#define USER_COLS "id, email, username, password_hash, created_at, last_seen"
#define ROOM_COLS                                                                                  \
    "r.id, r.code, r.name, r.is_private, r.host_id, r.created_at, r.ended_at, "                    \
    "(SELECT count(*) FROM room_members m WHERE m.room_id = r.id), r.direct"
#define DM_COLS                                                                                    \
    "d.id, d.sender_id, d.recipient_id, u.username, d.content, d.file_id, d.created_at, d.read_at"

const db_query_def_t db_queries[Q_COUNT] = {
    [Q_USER_INSERT] = {"user_insert", "INSERT INTO users (email, username, password_hash, "
                                      "created_at) VALUES (?1, ?2, ?3, ?4)"},
    [Q_USER_BY_EMAIL] = {"user_by_email", "SELECT " USER_COLS " FROM users WHERE email = ?1"},
    [Q_USER_BY_USERNAME] = {"user_by_username",
                            "SELECT " USER_COLS " FROM users WHERE username = ?1"},
    [Q_USER_BY_ID] = {"user_by_id", "SELECT " USER_COLS " FROM users WHERE id = ?1"},
    [Q_USER_COUNT] = {"user_count", "SELECT count(*) FROM users"},
    [Q_USER_SET_LAST_SEEN] = {"user_set_last_seen",
                              "UPDATE users SET last_seen = ?2 WHERE id = ?1"},
    [Q_USER_SEARCH] = {"user_search", "SELECT " USER_COLS " FROM users WHERE username >= ?1 AND "
                                      "username < ?2 ORDER BY username LIMIT ?3"},
    [Q_REFRESH_INSERT] = {"refresh_insert",
                          "INSERT INTO refresh_tokens (user_id, family, token_hash, created_at, "
                          "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
    [Q_REFRESH_BY_HASH] = {"refresh_by_hash",
                           "SELECT id, user_id, family, expires_at, used_at, revoked_at FROM "
                           "refresh_tokens WHERE token_hash = ?1"},
    [Q_REFRESH_MARK_USED] = {"refresh_mark_used", "UPDATE refresh_tokens SET used_at = ?2 WHERE "
                                                  "id = ?1 AND used_at IS NULL"},
    [Q_REFRESH_REVOKE_FAMILY] = {"refresh_revoke_family",
                                 "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = ?1 "
                                 "AND revoked_at IS NULL"},
    [Q_ACCESS_REVOKE] = {"access_revoke", "INSERT OR IGNORE INTO revoked_access_tokens (jti, "
                                          "expires_at) VALUES (?1, ?2)"},
    [Q_ACCESS_IS_REVOKED] = {"access_is_revoked",
                             "SELECT 1 FROM revoked_access_tokens WHERE jti = ?1"},
    [Q_ACCESS_PURGE] = {"access_purge", "DELETE FROM revoked_access_tokens WHERE expires_at < ?1"},
    [Q_ROOM_INSERT] = {"room_insert", "INSERT INTO rooms (code, name, is_private, host_id, "
                                      "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
    [Q_ROOM_BY_ID] = {"room_by_id", "SELECT " ROOM_COLS " FROM rooms r WHERE r.id = ?1"},
    [Q_ROOM_BY_CODE] = {"room_by_code", "SELECT " ROOM_COLS " FROM rooms r WHERE r.code = ?1"},
    [Q_ROOMS_VISIBLE] =
        {"rooms_visible",
         "SELECT " ROOM_COLS " FROM rooms r WHERE r.ended_at IS NULL AND "
         "r.direct = 0 AND (r.is_private = 0 OR EXISTS (SELECT 1 FROM room_members m WHERE "
         "m.room_id = r.id AND m.user_id = ?1)) AND r.id < ?2 ORDER BY r.id DESC LIMIT ?3"},
    [Q_ROOM_END] = {"room_end",
                    "UPDATE rooms SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL"},
    [Q_ROOM_COUNT] = {"room_count", "SELECT count(*) FROM rooms WHERE ended_at IS NULL"},
    [Q_ROOM_SET_HOST] = {"room_set_host", "UPDATE rooms SET host_id = ?2 WHERE id = ?1"},
    [Q_ROOMS_HOSTED_COUNT] = {"rooms_hosted_count",
                              "SELECT count(*) FROM room_members m JOIN rooms r ON r.id = "
                              "m.room_id WHERE m.user_id = ?1 AND m.role = 'host' AND "
                              "r.ended_at IS NULL"},
    [Q_MEMBER_ROLE] = {"member_role",
                       "SELECT role FROM room_members WHERE room_id = ?1 AND user_id = ?2"},
    [Q_MEMBER_INSERT] = {"member_insert",
                         "INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES "
                         "(?1, ?2, CASE WHEN NOT EXISTS (SELECT 1 FROM room_members WHERE room_id "
                         "= ?1 AND role = 'host') THEN 'host' ELSE ?3 END, ?4)"},
    [Q_MEMBER_DELETE] = {"member_delete",
                         "DELETE FROM room_members WHERE room_id = ?1 AND user_id = ?2"},
    [Q_MEMBER_OLDEST] = {"member_oldest", "SELECT user_id FROM room_members WHERE room_id = ?1 "
                                          "ORDER BY joined_at, user_id LIMIT 1"},
    [Q_MEMBER_SET_ROLE] = {"member_set_role", "UPDATE room_members SET role = ?3 WHERE room_id "
                                              "= ?1 AND user_id = ?2"},
    [Q_MEMBERS_LIST] = {"members_list",
                        "SELECT m.user_id, u.username, m.role, m.joined_at, u.last_seen FROM "
                        "room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = ?1 "
                        "ORDER BY m.joined_at, m.user_id"},
    [Q_USER_ROOM_IDS] = {"user_room_ids",
                         "SELECT m.room_id FROM room_members m JOIN rooms r ON r.id = m.room_id "
                         "WHERE m.user_id = ?1 AND r.ended_at IS NULL"},
    [Q_MESSAGE_INSERT] = {"message_insert", "INSERT INTO messages (room_id, sender_id, content, "
                                            "file_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
    [Q_MESSAGES_PAGE] = {"messages_page",
                         "SELECT m.id, m.room_id, m.sender_id, u.username, m.content, m.file_id, "
                         "m.created_at FROM messages m JOIN users u ON u.id = m.sender_id WHERE "
                         "m.room_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3"},
    [Q_DM_INSERT] = {"dm_insert", "INSERT INTO direct_messages (sender_id, recipient_id, content, "
                                  "file_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
    [Q_DM_HISTORY] = {"dm_history",
                      "SELECT " DM_COLS " FROM direct_messages d JOIN users u ON u.id = "
                      "d.sender_id WHERE ((d.sender_id = ?1 AND d.recipient_id = ?2) OR "
                      "(d.sender_id = ?2 AND d.recipient_id = ?1)) AND d.id < ?3 ORDER BY d.id "
                      "DESC LIMIT ?4"},
    [Q_DM_MARK_READ] = {"dm_mark_read",
                        "UPDATE direct_messages SET read_at = ?4 WHERE recipient_id = ?1 AND "
                        "sender_id = ?2 AND read_at IS NULL AND id <= ?3 RETURNING id"},
    [Q_DM_UNREAD_COUNTS] = {"dm_unread_counts",
                            "SELECT d.sender_id, u.username, count(*), max(d.id) FROM "
                            "direct_messages d JOIN users u ON u.id = d.sender_id WHERE "
                            "d.recipient_id = ?1 AND d.read_at IS NULL GROUP BY d.sender_id "
                            "ORDER BY max(d.id) DESC"},
    [Q_DM_UNREAD_LIST] = {"dm_unread_list",
                          "SELECT " DM_COLS " FROM direct_messages d JOIN users u ON u.id = "
                          "d.sender_id WHERE d.recipient_id = ?1 AND d.read_at IS NULL ORDER BY "
                          "d.id LIMIT ?2"},
    [Q_CONTACT_INSERT] = {"contact_insert", "INSERT INTO contacts (user_id, contact_id, "
                                            "created_at) VALUES (?1, ?2, ?3)"},
    [Q_CONTACT_DELETE] = {"contact_delete",
                          "DELETE FROM contacts WHERE user_id = ?1 AND contact_id = ?2"},
    [Q_CONTACTS_LIST] = {"contacts_list",
                         "SELECT u.id, u.email, u.username, '', u.created_at, u.last_seen FROM "
                         "contacts c JOIN users u ON u.id = c.contact_id WHERE c.user_id = ?1 "
                         "ORDER BY u.username"},
    [Q_BLOCK_INSERT] = {"block_insert", "INSERT OR IGNORE INTO blocks (user_id, blocked_id, "
                                        "created_at) VALUES (?1, ?2, ?3)"},
    [Q_BLOCK_DELETE] = {"block_delete",
                        "DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2"},
    [Q_BLOCK_EXISTS] = {"block_exists",
                        "SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = ?2"},
    [Q_SETTING_GET] = {"setting_get", "SELECT value FROM settings WHERE key = ?1"},
    [Q_INVITE_CLAIM] = {"invite_claim", "UPDATE invites SET used_at = ?2 WHERE code = ?1 AND "
                                        "used_at IS NULL"},
    [Q_INVITE_RELEASE] = {"invite_release", "UPDATE invites SET used_at = NULL WHERE code = ?1 "
                                            "AND used_by IS NULL"},
    [Q_INVITE_BIND] = {"invite_bind", "UPDATE invites SET used_by = ?2 WHERE code = ?1"},
    [Q_REPORT_INSERT] = {"report_insert", "INSERT INTO reports (reporter_id, user_id, reason, "
                                          "created_at) VALUES (?1, ?2, ?3, ?4)"},
    [Q_FILE_INSERT] = {"file_insert", "INSERT INTO files (id, owner_id, mime, size, created_at) "
                                      "VALUES (?1, ?2, ?3, ?4, ?5)"},
    [Q_FILE_GET] = {"file_get",
                    "SELECT id, owner_id, mime, size, created_at FROM files WHERE id = ?1"},
    [Q_FILE_CAN_READ] = {"file_can_read",
                         "SELECT 1 FROM files f WHERE f.id = ?1 AND (f.owner_id = ?2 OR EXISTS "
                         "(SELECT 1 FROM messages m JOIN room_members rm ON rm.room_id = "
                         "m.room_id AND rm.user_id = ?2 JOIN rooms r ON r.id = m.room_id AND "
                         "r.ended_at IS NULL WHERE m.file_id = f.id) OR EXISTS (SELECT 1 FROM "
                         "direct_messages d WHERE d.file_id = f.id AND (d.sender_id = ?2 OR "
                         "d.recipient_id = ?2)))"},
    [Q_CALL_INSERT] = {"call_insert", "INSERT INTO calls (room_id, started_at) VALUES (?1, ?2)"},
    [Q_CALL_END] = {"call_end", "UPDATE calls SET ended_at = ?2, end_reason = ?3 WHERE id = ?1 AND "
                                "ended_at IS NULL"},
    [Q_CALL_PART_INSERT] = {"call_part_insert", "INSERT INTO call_participants (call_id, user_id, "
                                                "joined_at) VALUES (?1, ?2, ?3)"},
    [Q_CALL_PART_LEAVE] = {"call_part_leave",
                           "UPDATE call_participants SET left_at = ?3, leave_reason = ?4 WHERE "
                           "call_id = ?1 AND user_id = ?2 AND left_at IS NULL"},
    [Q_CALL_PART_LEAVE_ALL] = {"call_part_leave_all",
                               "UPDATE call_participants SET left_at = ?2, leave_reason = ?3 "
                               "WHERE call_id = ?1 AND left_at IS NULL"},
    [Q_CALLS_CLOSE_OPEN] = {"calls_close_open", "UPDATE calls SET ended_at = ?1, end_reason = "
                                                "'node_stopped' WHERE ended_at IS NULL"},
    [Q_CALL_PARTS_CLOSE_OPEN] = {"call_parts_close_open",
                                 "UPDATE call_participants SET left_at = ?1, leave_reason = "
                                 "'node stopped' WHERE left_at IS NULL"},
    [Q_CALLS_FOR_USER] = {"calls_for_user",
                          "SELECT c.id, c.room_id, r.name, c.started_at, c.ended_at, c.end_reason, "
                          "d.caller_id, d.callee_id, d.video, d.status, d.answered_at, d.seen_at, "
                          "ur.username, ue.username FROM calls c JOIN rooms r ON r.id = c.room_id "
                          "LEFT JOIN direct_calls d ON d.call_id = c.id LEFT JOIN users ur ON "
                          "ur.id = d.caller_id LEFT JOIN users ue ON ue.id = d.callee_id WHERE "
                          "c.id IN (SELECT call_id FROM call_participants WHERE user_id = ?1 AND "
                          "call_id < ?2 UNION ALL SELECT call_id FROM direct_calls WHERE "
                          "caller_id = ?1 AND call_id < ?2 UNION ALL SELECT call_id FROM "
                          "direct_calls WHERE callee_id = ?1 AND call_id < ?2) ORDER BY c.id DESC "
                          "LIMIT ?3"},
    [Q_CALL_PARTS_LIST] = {"call_parts_list",
                           "SELECT p.user_id, u.username, p.joined_at, p.left_at, p.leave_reason "
                           "FROM call_participants p JOIN users u ON u.id = p.user_id WHERE "
                           "p.call_id = ?1 ORDER BY p.joined_at, p.rowid"},
    [Q_DIRECT_ROOM_INSERT] = {"direct_room_insert",
                              "INSERT INTO rooms (code, name, is_private, host_id, created_at, "
                              "direct) VALUES (?1, ?2, 1, ?3, ?4, 1)"},
    [Q_DIRECT_CALL_INSERT] = {"direct_call_insert",
                              "INSERT INTO direct_calls (call_id, caller_id, callee_id, video, "
                              "status) VALUES (?1, ?2, ?3, ?4, 'ringing')"},
    [Q_DIRECT_CALL_ANSWER] = {"direct_call_answer",
                              "UPDATE direct_calls SET status = 'accepted', answered_at = ?2 "
                              "WHERE call_id = ?1 AND status = 'ringing'"},
    [Q_DIRECT_CALL_FINISH] = {"direct_call_finish",
                              "UPDATE direct_calls SET status = ?2 WHERE call_id = ?1 AND status "
                              "IN ('ringing', 'accepted')"},
    [Q_DIRECT_CALL_END_RECORD] = {"direct_call_end_record",
                                  "UPDATE calls SET ended_at = coalesce(ended_at, ?2), end_reason "
                                  "= ?3 WHERE id = ?1"},
    [Q_DIRECT_CALL_END_ROOM] = {"direct_call_end_room",
                                "UPDATE rooms SET ended_at = ?2 WHERE id = (SELECT room_id FROM "
                                "calls WHERE id = ?1) AND ended_at IS NULL"},
    [Q_DIRECT_CALL_GET] = {"direct_call_get",
                           "SELECT d.call_id, c.room_id, d.caller_id, d.callee_id, d.video, "
                           "d.status, c.started_at, d.answered_at, c.ended_at FROM direct_calls d "
                           "JOIN calls c ON c.id = d.call_id WHERE d.call_id = ?1"},
    [Q_MISSED_UNSEEN_LIST] = {"missed_unseen_list",
                              "SELECT d.call_id, d.caller_id, u.username, d.video, c.started_at, "
                              "c.ended_at FROM direct_calls d JOIN calls c ON c.id = d.call_id "
                              "JOIN users u ON u.id = d.caller_id WHERE d.callee_id = ?1 AND "
                              "d.status = 'missed' AND d.seen_at IS NULL ORDER BY d.call_id DESC "
                              "LIMIT ?2"},
    [Q_MISSED_UNSEEN_COUNT] = {"missed_unseen_count",
                               "SELECT count(*) FROM direct_calls WHERE callee_id = ?1 AND status "
                               "= 'missed' AND seen_at IS NULL"},
    [Q_MISSED_MARK_SEEN] = {"missed_mark_seen",
                            "UPDATE direct_calls SET seen_at = ?2 WHERE callee_id = ?1 AND status "
                            "= 'missed' AND seen_at IS NULL"},
    [Q_DIRECT_CALLS_CLOSE_OPEN] = {"direct_calls_close_open",
                                   "UPDATE direct_calls SET status = CASE status WHEN 'ringing' "
                                   "THEN 'missed' ELSE 'ended' END WHERE status IN ('ringing', "
                                   "'accepted')"},
    [Q_DIRECT_ROOMS_CLOSE_OPEN] = {"direct_rooms_close_open",
                                   "UPDATE rooms SET ended_at = ?1 WHERE direct = 1 AND ended_at "
                                   "IS NULL"},
    [Q_INGEST_INSERT] = {"ingest_insert",
                         "INSERT INTO ingest_keys (room_id, name, key_hash, created_by, "
                         "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
    [Q_INGEST_BY_HASH] = {"ingest_by_hash",
                          "SELECT id, room_id, name, created_at, revoked_at FROM ingest_keys "
                          "WHERE key_hash = ?1"},
    [Q_INGEST_LIST] = {"ingest_list",
                       "SELECT id, room_id, name, created_at, revoked_at FROM ingest_keys WHERE "
                       "room_id = ?1 ORDER BY id"},
    [Q_INGEST_REVOKE] = {"ingest_revoke",
                         "UPDATE ingest_keys SET revoked_at = ?3 WHERE id = ?1 AND room_id = ?2 "
                         "AND revoked_at IS NULL"},
};

/* Step i moves the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  password_hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen INTEGER);"
    "CREATE TABLE refresh_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  family TEXT NOT NULL,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  revoked_at INTEGER);"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);"
    "CREATE TABLE revoked_access_tokens ("
    "  jti TEXT PRIMARY KEY,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens(expires_at);"
    "CREATE TABLE rooms ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  is_private INTEGER NOT NULL DEFAULT 0,"
    "  host_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  ended_at INTEGER);"
    "CREATE INDEX rooms_live ON rooms(id) WHERE ended_at IS NULL;"
    "CREATE TABLE room_members ("
    "  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('host', 'member')),"
    "  joined_at INTEGER NOT NULL,"
    "  PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX room_members_user ON room_members(user_id);"
    "CREATE INDEX room_members_order ON room_members(room_id, joined_at, user_id);"
    "CREATE TABLE files ("
    "  id TEXT PRIMARY KEY,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  mime TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    "  sender_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  content TEXT NOT NULL,"
    "  file_id TEXT REFERENCES files(id),"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX messages_room ON messages(room_id, id);"
    "CREATE INDEX messages_file ON messages(file_id) WHERE file_id IS NOT NULL;"
    "CREATE TABLE direct_messages ("
    "  id INTEGER PRIMARY KEY,"
    "  sender_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  recipient_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  content TEXT NOT NULL,"
    "  file_id TEXT REFERENCES files(id),"
    "  created_at INTEGER NOT NULL,"
    "  read_at INTEGER);"
    "CREATE INDEX dm_inbox ON direct_messages(recipient_id, sender_id, id);"
    "CREATE INDEX dm_unread ON direct_messages(recipient_id, id) WHERE read_at IS NULL;"
    "CREATE INDEX dm_file ON direct_messages(file_id) WHERE file_id IS NOT NULL;"
    "CREATE TABLE calls ("
    "  id INTEGER PRIMARY KEY,"
    "  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  end_reason TEXT);"
    "CREATE INDEX calls_room ON calls(room_id, id);"
    "CREATE TABLE call_participants ("
    "  call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  joined_at INTEGER NOT NULL,"
    "  left_at INTEGER,"
    "  leave_reason TEXT);"
    "CREATE INDEX call_participants_call ON call_participants(call_id);"
    "CREATE INDEX call_participants_user ON call_participants(user_id, call_id);"
    "CREATE TABLE contacts ("
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  contact_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, contact_id)) WITHOUT ROWID;"
    "CREATE TABLE blocks ("
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, blocked_id)) WITHOUT ROWID;"
    "CREATE TABLE reports ("
    "  id INTEGER PRIMARY KEY,"
    "  reporter_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  reason TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX reports_user ON reports(user_id);",
    /* 1 -> 2: direct calls. Each has a call record, and a private two-person
     * room (rooms.direct = 1, never listed) that carries its media once accepted. */
    "ALTER TABLE rooms ADD COLUMN direct INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE direct_calls ("
    "  call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,"
    "  caller_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  callee_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  video INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('ringing', 'accepted', 'declined', 'missed',"
    "    'cancelled', 'busy', 'ended')),"
    "  answered_at INTEGER,"
    "  seen_at INTEGER);"
    "CREATE INDEX direct_calls_caller ON direct_calls(caller_id, call_id);"
    "CREATE INDEX direct_calls_callee ON direct_calls(callee_id, call_id);"
    "CREATE INDEX direct_calls_missed ON direct_calls(callee_id, call_id)"
    "  WHERE status = 'missed' AND seen_at IS NULL;"
    "CREATE INDEX direct_calls_open ON direct_calls(status) WHERE status IN ('ringing', "
    "'accepted');"
    "CREATE INDEX rooms_direct_live ON rooms(id) WHERE direct = 1 AND ended_at IS NULL;",
    /* 2 -> 3: WHIP ingest keys, per room; only the key's SHA-256 is kept. */
    "CREATE TABLE ingest_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  key_hash BLOB NOT NULL UNIQUE,"
    "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER);"
    "CREATE INDEX ingest_keys_room ON ingest_keys(room_id, id);",
    /* 3 -> 4: registration mode (sfu admin registration) and invite codes. */
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE invites ("
    "  code TEXT PRIMARY KEY,"
    "  created_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  used_by INTEGER REFERENCES users(id) ON DELETE SET NULL) WITHOUT ROWID;",
    /* 4 -> 5: the room list (GET /api/rooms) walks only listed rooms, newest
     * first, and sees which are private without reading the row. */
    "CREATE INDEX rooms_listed ON rooms(id, is_private) WHERE ended_at IS NULL AND direct = 0;",
};
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(MIGRATION_COUNT == STORE_SCHEMA_VERSION, "one migration step per schema version");

sqlite3_stmt *db_stmt(store_t *st, db_query_t q)
{
    sqlite3_stmt *s = st->stmts[q];
    if (!s) {
        if (sqlite3_prepare_v3(st->db, db_queries[q].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               &st->stmts[q], NULL) != SQLITE_OK) {
            log_error("store", "%s: cannot prepare: %s", db_queries[q].name,
                      sqlite3_errmsg(st->db));
            return NULL;
        }
        return st->stmts[q];
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

int db_fail(store_t *st, db_query_t q)
{
    log_error("store", "%s: %s", db_queries[q].name, sqlite3_errmsg(st->db));
    if (st->stmts[q])
        sqlite3_reset(st->stmts[q]);
    return -EIO;
}

int db_exec_stmt(store_t *st, db_query_t q, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        sqlite3_reset(s);
        return 0;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        sqlite3_reset(s);
        return -EEXIST;
    }
    return db_fail(st, q);
}

static int exec_sql(store_t *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    log_error("store", "%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return -EIO;
}

int db_begin(store_t *st)
{
    return exec_sql(st, "BEGIN IMMEDIATE");
}

int db_commit(store_t *st)
{
    return exec_sql(st, "COMMIT");
}

void db_rollback(store_t *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void db_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int64_t db_col_i64_or0(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static int migrate(store_t *st, char *err, size_t err_cap)
{
    int v = user_version(st->db);
    if (v < 0 || v > STORE_SCHEMA_VERSION) {
        snprintf(err, err_cap,
                 "database schema version %d is newer than this node understands (%d): "
                 "upgrade the node",
                 v, STORE_SCHEMA_VERSION);
        return -EPROTO;
    }
    for (; v < STORE_SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (db_begin(st) || exec_sql(st, migrations[v]) || exec_sql(st, bump) || db_commit(st)) {
            db_rollback(st);
            snprintf(err, err_cap, "database migration %d -> %d failed: %s", v, v + 1,
                     sqlite3_errmsg(st->db));
            return -EIO;
        }
        log_info("store", "schema migrated to version %d", v + 1);
    }
    return 0;
}

/* Waits for a lock (the checkpointer's RESTART holds the writer for a
 * moment) in 100 us steps, not SQLite's default 1-100 ms ones, so a commit
 * goes on as soon as the lock is free; gives up after about 5 s. */
static int busy_wait(void *ctx, int attempts)
{
    (void)ctx;
    if (attempts >= 50000)
        return 0;
    usleep(100);
    return 1;
}

int store_open(const char *path, store_t **out, char *err, size_t err_cap)
{
    store_t *st = sqlite3_malloc(sizeof *st);
    if (!st) {
        snprintf(err, err_cap, "out of memory");
        return -ENOMEM;
    }
    memset(st, 0, sizeof *st);
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_cap, "cannot open database %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return -EIO;
    }
    sqlite3_busy_handler(st->db, busy_wait, NULL);
    sqlite3_extended_result_codes(st->db, 1);
    /* A WAL file that grew under a burst is cut back when the WAL rewinds. */
    char size_limit[64];
    snprintf(size_limit, sizeof size_limit, "PRAGMA journal_size_limit = %d", STORE_WAL_SIZE_LIMIT);
    if (exec_sql(st, "PRAGMA journal_mode = WAL") || exec_sql(st, "PRAGMA foreign_keys = ON") ||
        exec_sql(st, "PRAGMA synchronous = NORMAL") || exec_sql(st, size_limit)) {
        snprintf(err, err_cap, "cannot configure database %s: %s", path, sqlite3_errmsg(st->db));
        store_close(st);
        return -EIO;
    }
    if ((rc = migrate(st, err, err_cap))) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void store_close(store_t *st)
{
    if (!st)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    if (st->db) {
        sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(st->db);
    }
    sqlite3_free(st);
}

int store_schema_version(store_t *st)
{
    return user_version(st->db);
}

int store_ping(store_t *st)
{
    sqlite3_stmt *s = db_stmt(st, Q_USER_COUNT);
    if (!s || sqlite3_step(s) != SQLITE_ROW)
        return db_fail(st, Q_USER_COUNT);
    sqlite3_reset(s);
    return 0;
}

static void read_user(sqlite3_stmt *s, store_user_t *u)
{
    u->id = sqlite3_column_int64(s, 0);
    db_col_text(s, 1, u->email, sizeof u->email);
    db_col_text(s, 2, u->username, sizeof u->username);
    db_col_text(s, 3, u->password_hash, sizeof u->password_hash);
    u->created_at_ms = sqlite3_column_int64(s, 4);
    u->last_seen_ms = db_col_i64_or0(s, 5);
}

/* Runs a user query bound to one text or integer value. */
static int user_lookup(store_t *st, db_query_t q, const char *text, int64_t id, store_user_t *out)
{
    sqlite3_stmt *s = db_stmt(st, q);
    if (!s)
        return -EIO;
    if (text)
        sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (out)
            read_user(s, out);
        sqlite3_reset(s);
        return 0;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    return db_fail(st, q);
}

int store_user_by_email(store_t *st, const char *email, store_user_t *out)
{
    return user_lookup(st, Q_USER_BY_EMAIL, email, 0, out);
}

int store_user_by_id(store_t *st, int64_t id, store_user_t *out)
{
    return user_lookup(st, Q_USER_BY_ID, NULL, id, out);
}

int store_user_create(store_t *st, const char *email, const char *username,
                      const char *password_hash, int64_t now_ms, store_user_t *out,
                      const char **conflict_field)
{
    if (conflict_field)
        *conflict_field = NULL;
    sqlite3_stmt *s = db_stmt(st, Q_USER_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    int rc = db_exec_stmt(st, Q_USER_INSERT, s);
    if (rc == -EEXIST) {
        if (conflict_field)
            *conflict_field =
                user_lookup(st, Q_USER_BY_EMAIL, email, 0, NULL) == 0 ? "email" : "username";
        return rc;
    }
    if (rc)
        return rc;
    return out ? store_user_by_id(st, sqlite3_last_insert_rowid(st->db), out) : 0;
}

static int count_query(store_t *st, db_query_t q, int64_t *out)
{
    sqlite3_stmt *s = db_stmt(st, q);
    if (!s || sqlite3_step(s) != SQLITE_ROW)
        return db_fail(st, q);
    *out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int store_user_count(store_t *st, int64_t *out)
{
    return count_query(st, Q_USER_COUNT, out);
}

int store_room_count(store_t *st, int64_t *live_out)
{
    return count_query(st, Q_ROOM_COUNT, live_out);
}

int store_rooms_hosted_count(store_t *st, int64_t user_id, int64_t *out)
{
    sqlite3_stmt *s = db_stmt(st, Q_ROOMS_HOSTED_COUNT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    if (sqlite3_step(s) != SQLITE_ROW)
        return db_fail(st, Q_ROOMS_HOSTED_COUNT);
    *out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int store_refresh_insert(store_t *st, int64_t user_id, const uint8_t hash[32], const char *family,
                         int64_t now_ms, int64_t expires_at_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_REFRESH_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_text(s, 2, family, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    sqlite3_bind_int64(s, 5, expires_at_ms);
    return db_exec_stmt(st, Q_REFRESH_INSERT, s);
}

static int revoke_family(store_t *st, const char *family, int64_t now_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_REFRESH_REVOKE_FAMILY);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, family, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    return db_exec_stmt(st, Q_REFRESH_REVOKE_FAMILY, s);
}

typedef struct refresh_row {
    int64_t id, user_id, expires_at, used_at, revoked_at;
    char family[64];
} refresh_row_t;

static int refresh_find(store_t *st, const uint8_t hash[32], refresh_row_t *r)
{
    sqlite3_stmt *s = db_stmt(st, Q_REFRESH_BY_HASH);
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return db_fail(st, Q_REFRESH_BY_HASH);
    r->id = sqlite3_column_int64(s, 0);
    r->user_id = sqlite3_column_int64(s, 1);
    db_col_text(s, 2, r->family, sizeof r->family);
    r->expires_at = sqlite3_column_int64(s, 3);
    r->used_at = db_col_i64_or0(s, 4);
    r->revoked_at = db_col_i64_or0(s, 5);
    sqlite3_reset(s);
    return 0;
}

int store_refresh_rotate(store_t *st, const uint8_t old_hash[32], const uint8_t new_hash[32],
                         int64_t now_ms, int64_t new_expires_at_ms, int64_t *user_id)
{
    refresh_row_t r;
    if (db_begin(st))
        return -EIO;
    int rc = refresh_find(st, old_hash, &r);
    if (rc)
        goto fail;
    *user_id = r.user_id;
    if (r.used_at) {
        /* RFC 6819 5.2.2.3: a rotated token came back; revoke the whole family. */
        if ((rc = revoke_family(st, r.family, now_ms)) || (rc = db_commit(st)))
            goto fail;
        return -EKEYREVOKED;
    }
    if (r.revoked_at || r.expires_at <= now_ms) {
        rc = -ETIMEDOUT;
        goto fail;
    }
    sqlite3_stmt *s = db_stmt(st, Q_REFRESH_MARK_USED);
    if (!s) {
        rc = -EIO;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, r.id);
    sqlite3_bind_int64(s, 2, now_ms);
    if ((rc = db_exec_stmt(st, Q_REFRESH_MARK_USED, s)) ||
        (rc = store_refresh_insert(st, r.user_id, new_hash, r.family, now_ms, new_expires_at_ms)) ||
        (rc = db_commit(st)))
        goto fail;
    return 0;
fail:
    db_rollback(st);
    return rc;
}

int store_refresh_revoke_family(store_t *st, const uint8_t hash[32], int64_t user_id,
                                int64_t now_ms)
{
    refresh_row_t r;
    int rc = refresh_find(st, hash, &r);
    if (rc)
        return rc;
    if (r.user_id != user_id)
        return -ENOENT;
    return revoke_family(st, r.family, now_ms);
}

int store_access_revoke(store_t *st, const char *jti, int64_t expires_at_ms)
{
    sqlite3_stmt *s = db_stmt(st, Q_ACCESS_REVOKE);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, expires_at_ms);
    return db_exec_stmt(st, Q_ACCESS_REVOKE, s);
}

int store_access_is_revoked(store_t *st, const char *jti, int64_t now_ms)
{
    /* Expired entries can no longer matter: drop them now and then. */
    if (++st->calls % 1024 == 0) {
        sqlite3_stmt *p = db_stmt(st, Q_ACCESS_PURGE);
        if (p) {
            sqlite3_bind_int64(p, 1, now_ms);
            db_exec_stmt(st, Q_ACCESS_PURGE, p);
        }
    }
    sqlite3_stmt *s = db_stmt(st, Q_ACCESS_IS_REVOKED);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(st, Q_ACCESS_IS_REVOKED);
}

void store_registration_mode(store_t *st, char mode[16])
{
    snprintf(mode, 16, "open");
    sqlite3_stmt *s = db_stmt(st, Q_SETTING_GET);
    if (!s)
        return;
    sqlite3_bind_text(s, 1, "registration", -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(mode, 16, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
}

/* One invite statement on (code, n); -ENOENT when it changed no row. */
static int invite_exec(store_t *st, db_query_t q, const char *code, int64_t n)
{
    sqlite3_stmt *s = db_stmt(st, q);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_TRANSIENT);
    if (q != Q_INVITE_RELEASE)
        sqlite3_bind_int64(s, 2, n);
    int rc = db_exec_stmt(st, q, s);
    return rc ? rc : sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int store_invite_claim(store_t *st, const char *code, int64_t now_ms)
{
    return invite_exec(st, Q_INVITE_CLAIM, code, now_ms);
}

void store_invite_release(store_t *st, const char *code)
{
    invite_exec(st, Q_INVITE_RELEASE, code, 0);
}

void store_invite_bind(store_t *st, const char *code, int64_t user_id)
{
    invite_exec(st, Q_INVITE_BIND, code, user_id);
}
