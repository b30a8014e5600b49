#include "common/ratelimit.h"

#include <stdlib.h>
#include <string.h>

void ratelimit_init(ratelimit_t *rl, double rate_per_s, double burst)
{
    memset(rl, 0, sizeof *rl);
    rl->rate_per_s = rate_per_s;
    rl->burst = burst < 1 ? 1 : burst;
}

void ratelimit_free(ratelimit_t *rl)
{
    free(rl->slots);
    rl->slots = NULL;
    rl->cap = rl->used = 0;
}

uint64_t ratelimit_key_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h ? h : 1;
}

static size_t slot_of(size_t cap, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static double refilled(const ratelimit_t *rl, const ratelimit_bucket_t *b, uint64_t now_ms)
{
    double t = b->tokens + (double)(now_ms - b->updated_ms) * rl->rate_per_s / 1000.0;
    return t > rl->burst ? rl->burst : t;
}

/* Rebuilds the table, forgetting buckets that have refilled completely. */
static int rebuild(ratelimit_t *rl, uint64_t now_ms)
{
    size_t live = 0;
    for (size_t i = 0; i < rl->cap; i++)
        live += rl->slots[i].key && refilled(rl, &rl->slots[i], now_ms) < rl->burst;
    size_t cap = 64;
    while (cap < (live + 1) * 4)
        cap *= 2;
    ratelimit_bucket_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    size_t used = 0;
    for (size_t i = 0; i < rl->cap; i++) {
        ratelimit_bucket_t *b = &rl->slots[i];
        if (!b->key || refilled(rl, b, now_ms) >= rl->burst)
            continue;
        size_t j = slot_of(cap, b->key);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *b;
        used++;
    }
    free(rl->slots);
    rl->slots = slots;
    rl->cap = cap;
    rl->used = used;
    return 0;
}

bool ratelimit_take(ratelimit_t *rl, uint64_t key, uint64_t now_ms, uint64_t *retry_after_ms)
{
    if (rl->rate_per_s <= 0)
        return true;
    if (!key)
        key = 1;
    ratelimit_bucket_t *b = NULL;
    for (size_t i = rl->cap ? slot_of(rl->cap, key) : 0; rl->cap; i = (i + 1) & (rl->cap - 1)) {
        if (rl->slots[i].key == key) {
            b = &rl->slots[i];
            break;
        }
        if (!rl->slots[i].key)
            break;
    }
    if (!b) {
        if ((rl->used + 1) * 4 > rl->cap * 3 && rebuild(rl, now_ms))
            return true;
        size_t i = slot_of(rl->cap, key);
        while (rl->slots[i].key)
            i = (i + 1) & (rl->cap - 1);
        b = &rl->slots[i];
        b->key = key;
        b->tokens = rl->burst;
        b->updated_ms = now_ms;
        rl->used++;
    }
    b->tokens = refilled(rl, b, now_ms);
    b->updated_ms = now_ms;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    if (retry_after_ms)
        *retry_after_ms = (uint64_t)((1.0 - b->tokens) * 1000.0 / rl->rate_per_s) + 1;
    return false;
}
