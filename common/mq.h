/* common/mq.h: the one cross-thread message queue. Any thread posts a
 * function and its argument; the queue's own loop runs them in order, from a
 * uv_async callback. Main -> worker commands and worker -> main events both
 * travel on it. The lock guards the list only and is never taken on the
 * packet path. */
#ifndef SFU_COMMON_MQ_H
#define SFU_COMMON_MQ_H

#include <pthread.h>
#include <uv.h>

/* Runs on the queue's loop thread; ctx is the queue's, arg the poster's. */
typedef void (*mq_fn)(void *ctx, void *arg);

typedef struct mq_item mq_item_t;

typedef struct mq {
    uv_async_t async;
    pthread_mutex_t lock;
    mq_item_t *head, *tail;
    void *ctx;
} mq_t;

/* On the thread that owns loop (or before that loop runs). 0 or a UV error. */
int mq_init(mq_t *q, uv_loop_t *loop, void *ctx);
/* Any thread. 0, -ENOMEM, or a UV error (the item is then not queued). */
int mq_post(mq_t *q, mq_fn fn, void *arg);
/* Runs what is queued now, on the loop's thread (or after it stopped). */
void mq_drain(mq_t *q);
/* Drains, then closes the async handle; cb runs from the loop when it closed
 * (its handle's data is q). The caller frees q's memory only from cb (or after
 * the loop ran it). */
void mq_close(mq_t *q, uv_close_cb cb);
/* After the handle closed: the lock goes. */
void mq_destroy(mq_t *q);

#endif
