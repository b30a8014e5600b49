/* common/counter.h: counters one thread writes and any thread reads (for
 * /metrics). C11 atomics with relaxed order: the writer adds without a locked
 * instruction (it is the only writer), readers never see a torn value. */
#ifndef SFU_COMMON_COUNTER_H
#define SFU_COMMON_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t counter_t;

/* Only from the counter's one writing thread. */
static inline void counter_add(counter_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void counter_inc(counter_t *c)
{
    counter_add(c, 1);
}

/* Any thread. */
static inline uint64_t counter_get(const counter_t *c)
{
    return atomic_load_explicit((counter_t *)c, memory_order_relaxed);
}

#endif
