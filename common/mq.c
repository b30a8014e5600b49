/* common/mq.c: a mutex-guarded FIFO of (function, argument) drained by uv_async. */
#include "common/mq.h"

#include <errno.h>
#include <stdlib.h>

struct mq_item {
    mq_fn fn;
    void *arg;
    mq_item_t *next;
};

static void on_async(uv_async_t *a)
{
    mq_drain(a->data);
}

int mq_init(mq_t *q, uv_loop_t *loop, void *ctx)
{
    q->head = q->tail = NULL;
    q->ctx = ctx;
    int rc = uv_async_init(loop, &q->async, on_async);
    if (rc)
        return rc;
    q->async.data = q;
    pthread_mutex_init(&q->lock, NULL);
    return 0;
}

int mq_post(mq_t *q, mq_fn fn, void *arg)
{
    mq_item_t *it = malloc(sizeof *it);
    if (!it)
        return -ENOMEM;
    it->fn = fn;
    it->arg = arg;
    it->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    pthread_mutex_unlock(&q->lock);
    /* Sending to a closing handle is harmless: the drain in mq_close or a
     * later mq_drain still runs the item. */
    uv_async_send(&q->async);
    return 0;
}

void mq_drain(mq_t *q)
{
    for (;;) {
        pthread_mutex_lock(&q->lock);
        mq_item_t *it = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        if (!it)
            return;
        while (it) {
            mq_item_t *next = it->next;
            it->fn(q->ctx, it->arg);
            free(it);
            it = next;
        }
    }
}

void mq_close(mq_t *q, uv_close_cb cb)
{
    mq_drain(q);
    uv_close((uv_handle_t *)&q->async, cb);
}

void mq_destroy(mq_t *q)
{
    mq_drain(q);
    pthread_mutex_destroy(&q->lock);
}
