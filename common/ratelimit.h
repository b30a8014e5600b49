/* common/ratelimit.h: token buckets keyed by a 64-bit key (a user id, a hashed
 * IP address). Idle buckets are forgotten, so the table stays small. */
#ifndef SFU_COMMON_RATELIMIT_H
#define SFU_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit_bucket {
    uint64_t key; /* 0 = empty */
    double tokens;
    uint64_t updated_ms;
} ratelimit_bucket_t;

typedef struct ratelimit {
    double rate_per_s; /* refill rate; <= 0 disables the limit */
    double burst;      /* bucket size */
    ratelimit_bucket_t *slots;
    size_t cap, used;
} ratelimit_t;

void ratelimit_init(ratelimit_t *rl, double rate_per_s, double burst);
void ratelimit_free(ratelimit_t *rl);
/* Takes one token for key. true when allowed; else *retry_after_ms says when
 * the next token arrives. Fails open (allows) when out of memory. */
bool ratelimit_take(ratelimit_t *rl, uint64_t key, uint64_t now_ms, uint64_t *retry_after_ms);
/* FNV-1a of a string, never 0: a key for an IP address. */
uint64_t ratelimit_key_str(const char *s);

#endif
