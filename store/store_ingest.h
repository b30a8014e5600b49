/* store/store_ingest.h: per-room ingest keys (WHIP publishers that are not
 * members). The key itself is shown once, when created; only its SHA-256 is
 * kept. Return codes as in store.h. */
#ifndef SFU_STORE_INGEST_H
#define SFU_STORE_INGEST_H

#include <stdint.h>

#include "store/store.h"

typedef struct store_ingest_key {
    int64_t id;
    int64_t room_id;
    char name[64];
    int64_t created_at_ms;
    int64_t revoked_at_ms; /* 0 while the key works */
} store_ingest_key_t;

typedef int (*store_ingest_key_cb)(void *ctx, const store_ingest_key_t *key);

int store_ingest_key_create(store_t *st, int64_t room_id, const char *name,
                            const uint8_t key_hash[32], int64_t created_by, int64_t now_ms,
                            store_ingest_key_t *out);
/* -ENOENT when no key has that hash (revoked keys are found, with revoked_at_ms). */
int store_ingest_key_by_hash(store_t *st, const uint8_t key_hash[32], store_ingest_key_t *out);
int store_ingest_keys_list(store_t *st, int64_t room_id, store_ingest_key_cb cb, void *ctx);
/* -ENOENT when the room has no such key, or it was revoked already. */
int store_ingest_key_revoke(store_t *st, int64_t room_id, int64_t key_id, int64_t now_ms);

#endif
