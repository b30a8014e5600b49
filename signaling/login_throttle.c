/* signaling/login_throttle.c: failed logins per account (see the header). An
 * open-addressing table like common/ratelimit.c; accounts idle for
 * LOGIN_FORGET_MS are dropped when it is rebuilt. */
#include "signaling/login_throttle.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void login_throttle_init(login_throttle_t *lt)
{
    memset(lt, 0, sizeof *lt);
}

void login_throttle_free(login_throttle_t *lt)
{
    free(lt->slots);
    memset(lt, 0, sizeof *lt);
}

uint64_t login_throttle_key(const char *email)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *email; email++)
        h = (h ^ (uint8_t)tolower((unsigned char)*email)) * 0x100000001b3ull;
    return h ? h : 1;
}

static size_t slot_of(size_t cap, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static login_attempts_t *find(login_throttle_t *lt, uint64_t key)
{
    for (size_t i = lt->cap ? slot_of(lt->cap, key) : 0; lt->cap; i = (i + 1) & (lt->cap - 1)) {
        if (lt->slots[i].key == key)
            return &lt->slots[i];
        if (!lt->slots[i].key)
            break;
    }
    return NULL;
}

static bool live(const login_attempts_t *a, uint64_t now_ms)
{
    return a->key && a->failures && now_ms - a->last_ms < LOGIN_FORGET_MS;
}

/* Rebuilds the table with room to grow, keeping only live accounts. */
static int rebuild(login_throttle_t *lt, uint64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < lt->cap; i++)
        n += live(&lt->slots[i], now_ms);
    size_t cap = 64;
    while (cap < (n + 1) * 4)
        cap *= 2;
    login_attempts_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < lt->cap; i++) {
        if (!live(&lt->slots[i], now_ms))
            continue;
        size_t j = slot_of(cap, lt->slots[i].key);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = lt->slots[i];
    }
    free(lt->slots);
    lt->slots = slots;
    lt->cap = cap;
    lt->used = n;
    return 0;
}

/* The wait after the last attempt before the next: none for the first
 * LOGIN_FREE_FAILURES, then 1 s, 2 s, 4 s, ... up to LOGIN_MAX_BACKOFF_MS. */
static uint64_t backoff_ms(uint32_t failures)
{
    if (failures < LOGIN_FREE_FAILURES)
        return 0;
    uint32_t doublings = failures - LOGIN_FREE_FAILURES;
    if (doublings > 20)
        return LOGIN_MAX_BACKOFF_MS;
    uint64_t ms = 1000ull << doublings;
    return ms < LOGIN_MAX_BACKOFF_MS ? ms : LOGIN_MAX_BACKOFF_MS;
}

bool login_throttle_begin(login_throttle_t *lt, uint64_t key, uint64_t now_ms,
                          uint64_t *retry_after_ms)
{
    login_attempts_t *a = find(lt, key);
    if (a && !live(a, now_ms))
        a->failures = 0;
    if (!a) {
        if ((lt->used + 1) * 4 > lt->cap * 3 && rebuild(lt, now_ms))
            return true;
        size_t i = slot_of(lt->cap, key);
        while (lt->slots[i].key)
            i = (i + 1) & (lt->cap - 1);
        a = &lt->slots[i];
        *a = (login_attempts_t){.key = key};
        lt->used++;
    }
    uint64_t wait = backoff_ms(a->failures);
    if (a->failures && now_ms - a->last_ms < wait) {
        *retry_after_ms = wait - (now_ms - a->last_ms);
        return false;
    }
    a->failures++;
    a->last_ms = now_ms;
    return true;
}

void login_throttle_success(login_throttle_t *lt, uint64_t key)
{
    login_attempts_t *a = find(lt, key);
    if (a)
        a->failures = 0; /* the slot stays until the next rebuild drops it */
}

void login_throttle_failed(login_throttle_t *lt, uint64_t key, uint64_t now_ms)
{
    login_attempts_t *a = find(lt, key);
    if (a && a->failures)
        a->last_ms = now_ms;
}
