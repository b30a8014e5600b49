/* Shared by the fuzz targets that run the signaling node above its sockets
 * (fuzz_ws, fuzz_http): a data directory that goes with the process, a real
 * store with two users and their rooms, and the signaling state around it
 * with every rate limit off, so each input reaches its handler. */
#ifndef FUZZ_NODE_H
#define FUZZ_NODE_H

#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "signaling/login_throttle.h"
#include "signaling/signaling_internal.h"
#include "signaling/ws.h"
#include "store/store.h"

static char fuzz_dir[64];

static int fuzz_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz_remove_dir(void)
{
    nftw(fuzz_dir, fuzz_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Makes /tmp/NAME.XXXXXX, removed when the process exits. */
static void fuzz_make_dir(const char *name)
{
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(fuzz_dir))
        abort();
    atexit(fuzz_remove_dir);
}

/* Opens the store at fuzz_dir/sfu.db with alice and bob, room 1 ("shared",
 * alice's, bob a member) and room 2 (bob's, private). */
static store_t *fuzz_open_store(store_user_t *alice, store_user_t *bob)
{
    char path[96], err[256];
    snprintf(path, sizeof path, "%s/sfu.db", fuzz_dir);
    store_t *st;
    if (store_open(path, &st, err, sizeof err)) {
        fprintf(stderr, "store: %s\n", err);
        abort();
    }
    int64_t now = now_unix_ms();
    store_room_t room;
    if (store_user_create(st, "alice@example.com", "alice", "x", now, alice, NULL) ||
        store_user_create(st, "bob@example.com", "bob", "x", now, bob, NULL) ||
        store_room_create(st, "shared", false, alice->id, "aaaa-bbbb-cccc", now, &room) ||
        store_member_add(st, room.id, bob->id, "member", now) ||
        store_room_create(st, "bob only", true, bob->id, "dddd-eeee-ffff", now, &room))
        abort();
    return st;
}

/* The signaling state on st, on the default loop. */
static signaling_t *fuzz_signaling(store_t *st)
{
    signaling_t *sig = calloc(1, sizeof *sig);
    if (!sig)
        abort();
    sig->loop = uv_default_loop();
    sig->store = st;
    sig->ring_timeout_s = 30;
    memset(sig->secret, 7, sizeof sig->secret);
    snprintf(sig->www_dir, sizeof sig->www_dir, "%s", SFU_WWW_DIR);
    snprintf(sig->files_dir, sizeof sig->files_dir, "%s/files", fuzz_dir);
    ratelimit_init(&sig->limit_auth, 0, 0);
    ratelimit_init(&sig->limit_api, 0, 0);
    ratelimit_init(&sig->limit_ws, 0, 0);
    ratelimit_init(&sig->limit_upload, 0, 0);
    login_throttle_init(&sig->login_throttle);
    if (ws_hub_init(sig))
        abort();
    return sig;
}

#endif
