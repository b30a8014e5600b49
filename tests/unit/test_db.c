/* Unit tests: the SQLite store on a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "store/db_internal.h"
#include "store/store_ingest.h"
#include "store/store_social.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    store_t *st;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfu-db-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/sfu.db", f->dir);
    char err[256];
    log_set_level(LOG_ERROR);
    if (store_open(f->path, &f->st, err, sizeof err))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[160];
    store_close(f->st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int64_t add_user(store_t *st, const char *name)
{
    char email[80];
    store_user_t u;
    snprintf(email, sizeof email, "%s@example.com", name);
    assert_int_equal(store_user_create(st, email, name, "scrypt$x", 1000, &u, NULL), 0);
    return u.id;
}

static void test_migrates_empty_file(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
    static const char *const tables[] = {"users",        "refresh_tokens", "rooms",
                                         "room_members", "messages",       "direct_messages",
                                         "files",        "calls",          "call_participants",
                                         "contacts",     "blocks"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        assert_int_equal(sqlite3_exec(f->st->db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
}

static void test_reopen_keeps_data(void **state)
{
    fixture_t *f = *state;
    int64_t id = add_user(f->st, "keeper");
    store_close(f->st);
    char err[256];
    assert_int_equal(store_open(f->path, &f->st, err, sizeof err), 0);
    assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
    store_user_t u;
    assert_int_equal(store_user_by_id(f->st, id, &u), 0);
    assert_string_equal(u.username, "keeper");
}

static void test_newer_schema_refused(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(sqlite3_exec(f->st->db, "PRAGMA user_version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    store_close(f->st);
    f->st = NULL;
    char err[256] = "";
    assert_int_not_equal(store_open(f->path, &f->st, err, sizeof err), 0);
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(store_open(f->path, &f->st, err, sizeof err) != 0, 1);
    /* Leave a usable store for teardown. */
    unlink(f->path);
    assert_int_equal(store_open(f->path, &f->st, err, sizeof err), 0);
}

static void test_user_conflicts_ignore_case(void **state)
{
    fixture_t *f = *state;
    add_user(f->st, "alice");
    const char *field = NULL;
    assert_int_equal(store_user_create(f->st, "ALICE@example.com", "other", "h", 1, NULL, &field),
                     -EEXIST);
    assert_string_equal(field, "email");
    assert_int_equal(store_user_create(f->st, "new@example.com", "ALICE", "h", 1, NULL, &field),
                     -EEXIST);
    assert_string_equal(field, "username");
    store_user_t u;
    assert_int_equal(store_user_by_email(f->st, "Alice@Example.com", &u), 0);
    assert_int_equal(store_user_by_email(f->st, "nobody@example.com", &u), -ENOENT);
}

static void test_refresh_rotation_and_reuse(void **state)
{
    fixture_t *f = *state;
    int64_t uid = add_user(f->st, "rot");
    uint8_t a[32] = {1}, b[32] = {2}, c[32] = {3}, d[32] = {4};
    int64_t who = 0;
    assert_int_equal(store_refresh_insert(f->st, uid, a, "fam", 10, 100000), 0);
    assert_int_equal(store_refresh_rotate(f->st, a, b, 20, 100000, &who), 0);
    assert_int_equal(who, uid);
    /* a was rotated: presenting it again revokes the family, b included. */
    assert_int_equal(store_refresh_rotate(f->st, a, c, 30, 100000, &who), -EKEYREVOKED);
    assert_int_equal(store_refresh_rotate(f->st, b, c, 40, 100000, &who), -ETIMEDOUT);
    assert_int_equal(store_refresh_rotate(f->st, d, c, 40, 100000, &who), -ENOENT);
    /* Expiry. */
    assert_int_equal(store_refresh_insert(f->st, uid, d, "fam2", 10, 50), 0);
    assert_int_equal(store_refresh_rotate(f->st, d, c, 60, 100000, &who), -ETIMEDOUT);
}

static void test_access_revocation(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(store_access_is_revoked(f->st, "abc", 1), 0);
    assert_int_equal(store_access_revoke(f->st, "abc", 5000), 0);
    assert_int_equal(store_access_is_revoked(f->st, "abc", 1), 1);
}

static int count_room(void *ctx, const store_room_t *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static void test_room_visibility_and_host_handover(void **state)
{
    fixture_t *f = *state;
    int64_t host = add_user(f->st, "host"), m1 = add_user(f->st, "m1"),
            out = add_user(f->st, "outsider");
    store_room_t pub, priv;
    assert_int_equal(store_room_create(f->st, "pub", false, host, "aaaa-bbbb-cccc", 1, &pub), 0);
    assert_int_equal(store_room_create(f->st, "priv", true, host, "dddd-eeee-ffff", 2, &priv), 0);
    assert_int_equal(store_room_create(f->st, "dup", false, host, "aaaa-bbbb-cccc", 3, NULL),
                     -EEXIST);
    int n = 0;
    assert_int_equal(store_rooms_visible(f->st, out, count_room, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_rooms_visible(f->st, host, count_room, &n), 0);
    assert_int_equal(n, 2);

    assert_int_equal(store_member_add(f->st, pub.id, m1, "member", 5), 0);
    assert_int_equal(store_member_add(f->st, pub.id, out, "member", 6), 0);
    assert_int_equal(store_member_add(f->st, pub.id, m1, "member", 7), -EEXIST);
    int64_t new_host = 0;
    assert_int_equal(store_member_remove(f->st, pub.id, host, &new_host), 0);
    assert_int_equal(new_host, m1); /* the longest present */
    char role[8];
    assert_int_equal(store_member_role(f->st, pub.id, m1, role), 0);
    assert_string_equal(role, "host");
    assert_int_equal(store_room_get(f->st, pub.id, &pub), 0);
    assert_int_equal(pub.host_id, m1);
    assert_int_equal(pub.member_count, 2);
    assert_int_equal(store_member_remove(f->st, pub.id, host, &new_host), -ENOENT);

    assert_int_equal(store_room_end(f->st, pub.id, 9), 0);
    n = 0;
    assert_int_equal(store_rooms_visible(f->st, m1, count_room, &n), 0);
    assert_int_equal(n, 0);
}

typedef struct ids {
    int64_t v[16];
    int n;
} ids_t;

static int collect_id(void *ctx, const store_message_t *m)
{
    ids_t *ids = ctx;
    ids->v[ids->n++] = m->id;
    return 0;
}

static void test_message_pages_newest_first(void **state)
{
    fixture_t *f = *state;
    int64_t u = add_user(f->st, "talker");
    store_room_t r;
    assert_int_equal(store_room_create(f->st, "chat", false, u, "gggg-hhhh-iiii", 1, &r), 0);
    int64_t ids[7];
    for (int i = 0; i < 7; i++) {
        store_message_t m;
        assert_int_equal(store_message_add(f->st, r.id, u, "hi", NULL, 10 + i, &m), 0);
        assert_string_equal(m.sender_name, "talker");
        ids[i] = m.id;
    }
    ids_t page = {0};
    assert_int_equal(store_messages_page(f->st, r.id, 0, 3, collect_id, &page), 0);
    assert_int_equal(page.n, 3);
    assert_int_equal(page.v[0], ids[6]);
    assert_int_equal(page.v[2], ids[4]);
    ids_t next = {0};
    assert_int_equal(store_messages_page(f->st, r.id, page.v[2], 10, collect_id, &next), 0);
    assert_int_equal(next.n, 4);
    assert_int_equal(next.v[0], ids[3]);
    assert_int_equal(next.v[3], ids[0]);
}

static int count_unread(void *ctx, const store_unread_t *u)
{
    *(int *)ctx += u->count;
    return 0;
}

static void test_dms_unread_and_blocks(void **state)
{
    fixture_t *f = *state;
    int64_t a = add_user(f->st, "dma"), b = add_user(f->st, "dmb");
    store_dm_t d;
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_dm_add(f->st, a, b, "yo", NULL, 100 + i, &d), 0);
    int unread = 0;
    assert_int_equal(store_dm_unread_counts(f->st, b, count_unread, &unread), 0);
    assert_int_equal(unread, 3);
    int marked = 0;
    int64_t last = 0;
    assert_int_equal(store_dm_mark_read(f->st, b, a, 0, 200, &marked, &last), 0);
    assert_int_equal(marked, 3);
    assert_int_equal(last, d.id);
    unread = 0;
    assert_int_equal(store_dm_unread_counts(f->st, b, count_unread, &unread), 0);
    assert_int_equal(unread, 0);
    assert_int_equal(store_is_blocked(f->st, b, a), 0);
    assert_int_equal(store_block_add(f->st, b, a, 1), 0);
    assert_int_equal(store_block_add(f->st, b, a, 2), 0); /* idempotent */
    assert_int_equal(store_is_blocked(f->st, b, a), 1);
    assert_int_equal(store_is_blocked(f->st, a, b), 0);
}

typedef struct calls_seen {
    int64_t ids[8];
    char reasons[8][24];
    int n;
} calls_seen_t;

static int see_call(void *ctx, const store_call_t *c)
{
    calls_seen_t *cs = ctx;
    cs->ids[cs->n] = c->id;
    snprintf(cs->reasons[cs->n++], 24, "%s", c->end_reason ? c->end_reason : "");
    return 0;
}

static int see_participant(void *ctx, const store_call_participant_t *p)
{
    calls_seen_t *cs = ctx;
    cs->ids[cs->n] = p->user_id;
    snprintf(cs->reasons[cs->n++], 24, "%s", p->leave_reason ? p->leave_reason : "-");
    return 0;
}

static void test_call_records(void **state)
{
    fixture_t *f = *state;
    int64_t a = add_user(f->st, "ca"), b = add_user(f->st, "cb"), c = add_user(f->st, "cc");
    store_room_t room;
    assert_int_equal(store_room_create(f->st, "calls", false, a, "cccc-dddd-eeee", 1, &room), 0);
    int64_t first, second, third;
    assert_int_equal(store_call_start(f->st, room.id, 10, &first), 0);
    assert_int_equal(store_call_join(f->st, first, a, 10), 0);
    assert_int_equal(store_call_join(f->st, first, b, 11), 0);
    assert_int_equal(store_call_leave(f->st, first, b, 20, "left"), 0);
    assert_int_equal(store_call_end(f->st, first, 30, "ended_by_host"), 0);
    calls_seen_t ps = {0};
    assert_int_equal(store_call_participants(f->st, first, see_participant, &ps), 0);
    assert_int_equal(ps.n, 2);
    assert_string_equal(ps.reasons[0], "ended"); /* a: still in when it ended */
    assert_string_equal(ps.reasons[1], "left");

    assert_int_equal(store_call_start(f->st, room.id, 40, &second), 0);
    assert_int_equal(store_call_join(f->st, second, a, 40), 0);
    assert_int_equal(store_call_start(f->st, room.id, 50, &third), 0);
    assert_int_equal(store_call_join(f->st, third, c, 50), 0);
    /* A crash left the second and third open: the next start closes them. */
    assert_int_equal(store_calls_close_open(f->st, 60), 0);

    calls_seen_t cs = {0};
    assert_int_equal(store_calls_for_user(f->st, a, 0, 10, see_call, &cs), 0);
    assert_int_equal(cs.n, 2); /* not the third: a was not in it */
    assert_true(cs.ids[0] == second && cs.ids[1] == first);
    assert_string_equal(cs.reasons[0], "node_stopped");
    assert_string_equal(cs.reasons[1], "ended_by_host");
    memset(&cs, 0, sizeof cs);
    assert_int_equal(store_calls_for_user(f->st, a, second, 10, see_call, &cs), 0);
    assert_true(cs.n == 1 && cs.ids[0] == first);
    memset(&ps, 0, sizeof ps);
    assert_int_equal(store_call_participants(f->st, third, see_participant, &ps), 0);
    assert_string_equal(ps.reasons[0], "node stopped");
}

typedef struct direct_seen {
    int n;
    int64_t ids[8];
    char status[8][12];
    int64_t answered[8];
} direct_seen_t;

static int see_direct(void *ctx, const store_call_t *c)
{
    direct_seen_t *d = ctx;
    d->ids[d->n] = c->id;
    snprintf(d->status[d->n], sizeof d->status[0], "%s", c->direct_status ? c->direct_status : "-");
    d->answered[d->n++] = c->answered_at_ms;
    return 0;
}

static int see_missed(void *ctx, const store_missed_call_t *m)
{
    (*(int *)ctx)++;
    assert_string_equal(m->caller_name, "da");
    return 0;
}

/* Direct calls: a private room each, answer and finish once, missed calls
 * until seen, listed for both sides, closed by the next start. */
static void test_direct_calls(void **state)
{
    fixture_t *f = *state;
    int64_t a = add_user(f->st, "da"), b = add_user(f->st, "db");
    int64_t answered, missed, open, room, room2, room3;
    assert_int_equal(store_direct_call_start(f->st, a, b, true, "dddd-aaaa-bbbb", "da and db", 100,
                                             &answered, &room),
                     0);
    /* The code is taken: nothing of the second call is left behind. */
    assert_int_equal(store_direct_call_start(f->st, a, b, true, "dddd-aaaa-bbbb", "da and db", 110,
                                             &missed, &room2),
                     -EEXIST);
    assert_int_equal(store_direct_call_start(f->st, a, b, false, "dddd-aaaa-cccc", "da and db", 120,
                                             &missed, &room2),
                     0);
    assert_int_equal(store_direct_call_start(f->st, b, a, true, "dddd-aaaa-dddd", "db and da", 130,
                                             &open, &room3),
                     0);
    store_room_t r;
    assert_int_equal(store_room_get(f->st, room, &r), 0);
    assert_true(r.is_direct && r.is_private && r.member_count == 2 && r.host_id == a);
    char role[8];
    assert_int_equal(store_member_role(f->st, room, b, role), 0);
    assert_string_equal(role, "member");
    /* Live, with both as members, and still never listed. */
    int n = 0;
    assert_int_equal(store_rooms_visible(f->st, a, count_room, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(store_direct_call_answer(f->st, answered, 150), 0);
    assert_int_equal(store_direct_call_answer(f->st, answered, 151), -ENOENT); /* twice */
    assert_int_equal(store_direct_call_finish(f->st, answered, "ended", 200), 0);
    assert_int_equal(store_direct_call_finish(f->st, answered, "ended", 201), -ENOENT);
    assert_int_equal(store_direct_call_answer(f->st, answered, 202), -ENOENT); /* over */
    assert_int_equal(store_direct_call_finish(f->st, missed, "missed", 160), 0);
    store_direct_call_t d;
    assert_int_equal(store_direct_call_get(f->st, answered, &d), 0);
    assert_string_equal(d.status, "ended");
    assert_true(d.caller_id == a && d.callee_id == b && d.video && d.room_id == room);
    assert_true(d.started_at_ms == 100 && d.answered_at_ms == 150 && d.ended_at_ms == 200);
    assert_int_equal(store_room_get(f->st, room, &r), 0);
    assert_int_equal(r.ended_at_ms, 200);
    assert_int_equal(store_direct_call_get(f->st, 999, &d), -ENOENT);

    int64_t count = 0;
    int listed = 0, marked = 0;
    assert_int_equal(store_missed_calls_count(f->st, b, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(store_missed_calls_unseen(f->st, b, 10, see_missed, &listed), 0);
    assert_int_equal(listed, 1);
    assert_int_equal(store_missed_calls_count(f->st, a, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(store_missed_calls_mark_seen(f->st, b, 300, &marked), 0);
    assert_int_equal(marked, 1);
    assert_int_equal(store_missed_calls_count(f->st, b, &count), 0);
    assert_int_equal(count, 0);

    /* A crash left the third ringing: the next start makes it missed. */
    assert_int_equal(store_calls_close_open(f->st, 400), 0);
    assert_int_equal(store_direct_call_get(f->st, open, &d), 0);
    assert_string_equal(d.status, "missed");
    assert_int_equal(store_room_get(f->st, room3, &r), 0);
    assert_int_equal(r.ended_at_ms, 400);

    direct_seen_t seen = {0};
    assert_int_equal(store_calls_for_user(f->st, a, 0, 10, see_direct, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_true(seen.ids[0] == open && seen.ids[1] == missed && seen.ids[2] == answered);
    assert_string_equal(seen.status[0], "missed");
    assert_string_equal(seen.status[1], "missed");
    assert_string_equal(seen.status[2], "ended");
    assert_int_equal(seen.answered[2], 150);
}

/* Every hot query is answered from an index, never by scanning a table. */
static void test_hot_queries_use_indexes(void **state)
{
    fixture_t *f = *state;
    static const db_query_t hot[] = {
        Q_USER_BY_EMAIL,
        Q_USER_BY_ID,
        Q_USER_SEARCH,
        Q_REFRESH_BY_HASH,
        Q_REFRESH_REVOKE_FAMILY,
        Q_ACCESS_IS_REVOKED,
        Q_ROOM_BY_CODE,
        Q_ROOMS_VISIBLE,
        Q_MEMBER_ROLE,
        Q_MEMBERS_LIST,
        Q_MEMBER_OLDEST,
        Q_USER_ROOM_IDS,
        Q_MESSAGES_PAGE,
        Q_DM_HISTORY,
        Q_DM_MARK_READ,
        Q_DM_UNREAD_COUNTS,
        Q_DM_UNREAD_LIST,
        Q_CONTACTS_LIST,
        Q_BLOCK_EXISTS,
        Q_FILE_CAN_READ,
        Q_CALLS_FOR_USER,
        Q_CALL_PARTS_LIST,
        Q_CALL_PART_LEAVE,
        Q_DIRECT_CALL_GET,
        Q_MISSED_UNSEEN_LIST,
        Q_MISSED_UNSEEN_COUNT,
        Q_MISSED_MARK_SEEN,
        Q_DIRECT_CALL_END_ROOM,
        Q_DIRECT_CALLS_CLOSE_OPEN,
        Q_DIRECT_ROOMS_CLOSE_OPEN,
    };
    for (size_t i = 0; i < sizeof hot / sizeof hot[0]; i++) {
        char sql[2048];
        snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", db_queries[hot[i]].sql);
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(f->st->db, sql, -1, &s, NULL), SQLITE_OK);
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *detail = (const char *)sqlite3_column_text(s, 3);
            printf("# %s: %s\n", db_queries[hot[i]].name, detail);
            /* "SCAN x" without an index reads the whole table. */
            if (!strncmp(detail, "SCAN ", 5) && !strstr(detail, "USING"))
                fail_msg("%s scans a table: %s", db_queries[hot[i]].name, detail);
        }
        sqlite3_finalize(s);
    }
}

/* The checkpointer on its own thread, as sfu/main.c runs it on the threadpool. */
typedef struct checkpoint_thread {
    store_checkpointer_t *cp;
    atomic_bool stop;
    int runs, failures;
} checkpoint_thread_t;

static void *checkpoint_loop(void *arg)
{
    checkpoint_thread_t *ct = arg;
    while (!atomic_load(&ct->stop)) {
        if (store_checkpointer_run(ct->cp))
            ct->failures++;
        ct->runs++;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return NULL;
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) ? 0 : (long long)sb.st_size;
}

/* Sustained inserts while the checkpointer runs beside them: the WAL starts
 * over and its file stays bounded, instead of growing with every insert. */
static void test_checkpointer_bounds_wal(void **state)
{
    fixture_t *f = *state;
    int64_t u = add_user(f->st, "writer");
    store_room_t r;
    assert_int_equal(store_room_create(f->st, "busy", false, u, "wwww-aaaa-llll", 1, &r), 0);
    checkpoint_thread_t ct = {.cp = store_checkpointer_open(f->st, f->path)};
    assert_non_null(ct.cp);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, checkpoint_loop, &ct), 0);

    char wal[160], content[1001];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    memset(content, 'x', sizeof content - 1);
    content[sizeof content - 1] = '\0';
    long long wal_max = 0;
    for (int i = 0; i < 8000; i++) {
        store_message_t m;
        assert_int_equal(store_message_add(f->st, r.id, u, content, NULL, 100 + i, &m), 0);
        /* Some 5,000 inserts a second: busier than a node's chat, never idle. */
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000}, NULL);
        if (i % 50 == 0) {
            long long sz = file_size(wal);
            wal_max = sz > wal_max ? sz : wal_max;
        }
    }
    atomic_store(&ct.stop, true);
    pthread_join(th, NULL);
    /* Settled: one more pass, then the next commit rewinds the WAL and cuts it. */
    assert_int_equal(store_checkpointer_run(ct.cp), 0);
    store_message_t m;
    assert_int_equal(store_message_add(f->st, r.id, u, "last", NULL, 99999, &m), 0);
    long long wal_end = file_size(wal);
    store_checkpointer_close(ct.cp);
    assert_int_equal(ct.failures, 0);
    /* 8000 commits of a 1 KB row are some 80 MiB of WAL when nothing checkpoints;
     * bounded, it stays near the restart threshold (16 MiB). */
    if (wal_max > 32 * 1024 * 1024 || wal_end > STORE_WAL_SIZE_LIMIT + 64 * 1024)
        fail_msg("WAL not bounded: peak %lld bytes, %lld at the end (%d checkpoint runs)", wal_max,
                 wal_end, ct.runs);
}

static void count_commit(void *ctx)
{
    (*(int *)ctx)++;
}

/* The node schedules checkpoints from commits: the hook fires once per write
 * transaction, never for reads, and not after it is removed. */
static void test_checkpointer_reports_commits(void **state)
{
    fixture_t *f = *state;
    store_checkpointer_t *cp = store_checkpointer_open(f->st, f->path);
    assert_non_null(cp);
    int commits = 0;
    store_checkpointer_on_commit(cp, count_commit, &commits);
    int64_t u = add_user(f->st, "hooked");
    assert_int_equal(commits, 1);
    store_user_t user;
    assert_int_equal(store_user_by_id(f->st, u, &user), 0);
    assert_int_equal(commits, 1);
    store_room_t r;
    assert_int_equal(store_room_create(f->st, "hooked", false, u, "hook-aaaa-llll", 1, &r), 0);
    assert_true(commits >= 2);
    int before = commits;
    store_checkpointer_on_commit(cp, NULL, NULL);
    add_user(f->st, "unhooked");
    assert_int_equal(commits, before);
    assert_int_equal(store_checkpointer_run(cp), 0);
    store_checkpointer_close(cp);
}

static int count_keys(void *ctx, const store_ingest_key_t *k)
{
    (void)k;
    (*(int *)ctx)++;
    return 0;
}

/* Ingest keys: found by hash in their room, listed, revoked once; they go with the room. */
static void test_ingest_keys(void **state)
{
    fixture_t *f = *state;
    int64_t host = add_user(f->st, "host");
    store_room_t a, b;
    assert_int_equal(store_room_create(f->st, "a", false, host, "aaaa-bbbb-cccc", 1, &a), 0);
    assert_int_equal(store_room_create(f->st, "b", false, host, "dddd-eeee-ffff", 2, &b), 0);
    uint8_t h1[32], h2[32];
    memset(h1, 1, sizeof h1);
    memset(h2, 2, sizeof h2);
    store_ingest_key_t k1, k2, got;
    assert_int_equal(store_ingest_key_create(f->st, a.id, "obs", h1, host, 10, &k1), 0);
    assert_int_equal(store_ingest_key_create(f->st, b.id, "gst", h2, host, 11, &k2), 0);
    assert_int_equal(store_ingest_key_create(f->st, b.id, "dup", h2, host, 12, &got), -EEXIST);
    assert_int_equal(store_ingest_key_by_hash(f->st, h1, &got), 0);
    assert_int_equal(got.id, k1.id);
    assert_int_equal(got.room_id, a.id);
    assert_string_equal(got.name, "obs");
    assert_int_equal(got.revoked_at_ms, 0);
    uint8_t none[32] = {0};
    assert_int_equal(store_ingest_key_by_hash(f->st, none, &got), -ENOENT);
    /* Revoking needs the key's own room, and happens once. */
    assert_int_equal(store_ingest_key_revoke(f->st, b.id, k1.id, 20), -ENOENT);
    assert_int_equal(store_ingest_key_revoke(f->st, a.id, k1.id, 20), 0);
    assert_int_equal(store_ingest_key_revoke(f->st, a.id, k1.id, 21), -ENOENT);
    assert_int_equal(store_ingest_key_by_hash(f->st, h1, &got), 0);
    assert_int_equal(got.revoked_at_ms, 20);
    int n = 0;
    assert_int_equal(store_ingest_keys_list(f->st, b.id, count_keys, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sqlite3_exec(f->st->db, "DELETE FROM rooms WHERE id = 2", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_ingest_key_by_hash(f->st, h2, &got), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrates_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_conflicts_ignore_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotation_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_visibility_and_host_handover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_pages_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dms_unread_and_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_queries_use_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_bounds_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_reports_commits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
