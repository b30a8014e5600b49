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
    sqlite3_wal_autocheckpoint(st->db, 0); /* from now on only this one checkpoints */
    return cp;
}

int store_checkpointer_run(store_checkpointer_t *cp)
{
    int log_frames = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : -EIO;
}

void store_checkpointer_close(store_checkpointer_t *cp)
{
    if (!cp)
        return;
    sqlite3_close(cp->db);
    free(cp);
}
