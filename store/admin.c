/* store/admin.c: operator commands on a node's database, from a connection
 * of their own (the node may be running: WAL lets both work). */
#include "store/admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/util.h"

#define BUSY_TIMEOUT_MS 5000
#define BACKUP_PAGES    256 /* per step; the node's writers get the lock between steps */

static sqlite3 *admin_open(const char *db_path, int flags, char *err, size_t err_cap)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "cannot open '%s': %s", db_path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    return db;
}

int store_admin_backup(const char *db_path, const char *dest_path, char *err, size_t err_cap)
{
    sqlite3 *src = admin_open(db_path, SQLITE_OPEN_READONLY, err, err_cap);
    if (!src)
        return -EIO;
    sqlite3 *dst = admin_open(dest_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, err_cap);
    if (!dst) {
        sqlite3_close(src);
        return -EIO;
    }
    int rc = SQLITE_NOMEM;
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (b) {
        do {
            rc = sqlite3_backup_step(b, BACKUP_PAGES);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                sqlite3_sleep(10);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        sqlite3_backup_finish(b);
    }
    if (rc != SQLITE_DONE)
        snprintf(err, err_cap, "backup of '%s' failed: %s", db_path, sqlite3_errmsg(dst));
    /* The copy is one self-contained file, not a WAL database. */
    else if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
        rc = SQLITE_ERROR;
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static void print_time(FILE *out, sqlite3_int64 ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32] = "-";
    if (ms > 0 && gmtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, out);
}

/* Runs sql (no parameters) and prints each row tab-separated; columns named
 * *_at or last_seen (milliseconds) as ISO times. */
static int print_rows(sqlite3 *db, const char *sql, FILE *out, char *err, size_t err_cap)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "%s", sqlite3_errmsg(db));
        return -EIO;
    }
    int cols = sqlite3_column_count(s);
    for (int c = 0; c < cols; c++)
        fprintf(out, "%s%s", c ? "\t" : "", sqlite3_column_name(s, c));
    fputc('\n', out);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int c = 0; c < cols; c++) {
            const char *name = sqlite3_column_name(s, c);
            size_t n = strlen(name);
            if (c)
                fputc('\t', out);
            if ((n > 3 && !strcmp(name + n - 3, "_at")) || !strcmp(name, "last_seen")) {
                print_time(out, sqlite3_column_int64(s, c));
            } else {
                /* One line per row: tabs and newlines in text become spaces. */
                const unsigned char *v = sqlite3_column_text(s, c);
                for (; v && *v; v++)
                    fputc(*v == '\t' || *v == '\n' || *v == '\r' ? ' ' : *v, out);
            }
        }
        fputc('\n', out);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        snprintf(err, err_cap, "%s", sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

int store_admin_list(const char *db_path, store_admin_list_t what, FILE *out, char *err,
                     size_t err_cap)
{
    static const char *const sql[] = {
        [STORE_ADMIN_USERS] = "SELECT id, username, email, created_at, last_seen FROM users "
                              "ORDER BY id",
        [STORE_ADMIN_REPORTS] =
            "SELECT r.id, r.created_at, r.reporter_id, a.username AS reporter, r.user_id, "
            "b.username AS reported, r.reason FROM reports r JOIN users a ON a.id = "
            "r.reporter_id JOIN users b ON b.id = r.user_id ORDER BY r.id",
        [STORE_ADMIN_INVITES] = "SELECT code, created_at, used_at, used_by FROM invites ORDER BY "
                                "created_at, code",
    };
    sqlite3 *db = admin_open(db_path, SQLITE_OPEN_READONLY, err, err_cap);
    if (!db)
        return -EIO;
    int rc = print_rows(db, sql[what], out, err, err_cap);
    sqlite3_close(db);
    return rc;
}

int store_admin_delete(const char *db_path, store_admin_list_t what, int64_t id, char *err,
                       size_t err_cap)
{
    static const char *const sql[] = {
        [STORE_ADMIN_USERS] = "DELETE FROM users WHERE id = ?1",
        [STORE_ADMIN_REPORTS] = "DELETE FROM reports WHERE id = ?1",
    };
    if (what != STORE_ADMIN_USERS && what != STORE_ADMIN_REPORTS)
        return -EINVAL;
    sqlite3 *db = admin_open(db_path, SQLITE_OPEN_READWRITE, err, err_cap);
    if (!db)
        return -EIO;
    sqlite3_stmt *s = NULL;
    int rc = -EIO;
    if (sqlite3_prepare_v2(db, sql[what], -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, id);
        if (sqlite3_step(s) == SQLITE_DONE)
            rc = sqlite3_changes(db) ? 0 : -ENOENT;
    }
    if (rc == -EIO)
        snprintf(err, err_cap, "%s", sqlite3_errmsg(db));
    else if (rc == -ENOENT)
        snprintf(err, err_cap, "no %s with id %" PRId64,
                 what == STORE_ADMIN_USERS ? "user" : "report", id);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

/* Runs one statement with text parameters a and b (NULL: not bound). */
static int exec_text(sqlite3 *db, const char *sql, const char *a, const char *b, char *err,
                     size_t err_cap)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "%s (is the database older than this binary? start the node once)",
                 sqlite3_errmsg(db));
        return -EIO;
    }
    if (a)
        sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf(err, err_cap, "%s", sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

int store_admin_registration(const char *db_path, const char *mode, FILE *out, char *err,
                             size_t err_cap)
{
    if (mode && strcmp(mode, "open") && strcmp(mode, "closed") && strcmp(mode, "invite")) {
        snprintf(err, err_cap, "registration mode '%s' is not open, closed or invite", mode);
        return -EINVAL;
    }
    sqlite3 *db = admin_open(db_path, SQLITE_OPEN_READWRITE, err, err_cap);
    if (!db)
        return -EIO;
    int rc = mode ? exec_text(db, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                              "registration", mode, err, err_cap)
                  : 0;
    sqlite3_stmt *s = NULL;
    if (!rc && sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE key = 'registration'", -1,
                                  &s, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "%s (is the database older than this binary? start the node once)",
                 sqlite3_errmsg(db));
        rc = -EIO;
    }
    if (!rc) {
        const unsigned char *v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
        fprintf(out, "registration: %s\n", v ? (const char *)v : "open");
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

int store_admin_invites_create(const char *db_path, int n, FILE *out, char *err, size_t err_cap)
{
    sqlite3 *db = admin_open(db_path, SQLITE_OPEN_READWRITE, err, err_cap);
    if (!db)
        return -EIO;
    int rc = 0;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)now_unix_ms());
    for (int i = 0; i < n && !rc; i++) {
        char code[33];
        random_hex(code, 16);
        rc =
            exec_text(db, "INSERT INTO invites (code, created_at) VALUES (?1, CAST(?2 AS INTEGER))",
                      code, now, err, err_cap);
        if (!rc)
            fprintf(out, "%s\n", code);
    }
    sqlite3_close(db);
    return rc;
}
