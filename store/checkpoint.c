/* store/checkpoint.c: WAL checkpoints off the main loop. A second connection
 * to the same file, used from the libuv threadpool, copies the WAL back into
 * the database; the main connection then never stalls in the fdatasync an
 * automatic checkpoint would do inside an insert. */
#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "store/db_internal.h"

struct store_checkpointer {
    sqlite3 *db;
    store_t *st;
    void (*on_commit)(void *ctx);
    void *ctx;
};

store_checkpointer_t *store_checkpointer_open(store_t *st, const char *path)
{
    store_checkpointer_t *cp = calloc(1, sizeof *cp);
    if (!cp)
        return NULL;
    if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        log_warn("store", "checkpoint connection: %s", sqlite3_errmsg(cp->db));
        sqlite3_close(cp->db);
        free(cp);
        return NULL;
    }
    sqlite3_busy_timeout(cp->db, 1000);
    /* A connection learns the file is in WAL mode only by reading it; until
     * then every wal_checkpoint on it silently does nothing. */
    if (sqlite3_exec(cp->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) {
        log_warn("store", "checkpoint connection cannot read the database: %s",
                 sqlite3_errmsg(cp->db));
        sqlite3_close(cp->db);
        free(cp);
        return NULL;
    }
    sqlite3_wal_autocheckpoint(st->db, 0); /* from now on only this one checkpoints */
    cp->st = st;
    return cp;
}

static int checkpointer_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    store_checkpointer_t *cp = arg;
    (void)db, (void)name, (void)pages;
    cp->on_commit(cp->ctx);
    return SQLITE_OK;
}

void store_checkpointer_on_commit(store_checkpointer_t *cp, void (*on_commit)(void *ctx), void *ctx)
{
    cp->on_commit = on_commit;
    cp->ctx = ctx;
    /* Replaces the automatic checkpoint's hook, which open already turned off. */
    sqlite3_wal_hook(cp->st->db, on_commit ? checkpointer_wal_hook : NULL, cp);
}

int store_checkpointer_run(store_checkpointer_t *cp)
{
    int log_frames = 0, done = 0;
    /* PASSIVE copies what is there without holding up the writer. */
    int rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
    if (rc == SQLITE_BUSY)
        return 0; /* another checkpoint was running; the next tick continues */
    if (rc != SQLITE_OK)
        return -EIO;
    if (log_frames < STORE_WAL_RESTART_FRAMES)
        return 0;
    /* Under steady writes a passive pass never ends level with the writer (it
     * copies up to where the WAL ended when it started), so the WAL would
     * never start over. Once it is long: a second passive pass copies what
     * came in during the first, then RESTART copies the little left while the
     * writer waits (that copy and two syncs) and makes the next commit rewind
     * the WAL (and cut its file to journal_size_limit). */
    rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
    if (rc == SQLITE_OK)
        rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_RESTART, &log_frames, &done);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : -EIO;
}

void store_checkpointer_close(store_checkpointer_t *cp)
{
    if (!cp)
        return;
    if (cp->on_commit)
        sqlite3_wal_hook(cp->st->db, NULL, NULL);
    sqlite3_close(cp->db);
    free(cp);
}
