#include "common/idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(const idmap_t *m, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (m->cap - 1);
}

void idmap_init(idmap_t *m)
{
    memset(m, 0, sizeof *m);
}

void idmap_free(idmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].items);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static idmap_set_t *find(const idmap_t *m, int64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (m->slots[i].key == 0)
            return NULL;
    }
}

/* Rebuilds the table sized for its live sets, dropping emptied ones. */
static int grow(idmap_t *m)
{
    size_t live = 0;
    for (size_t i = 0; i < m->cap; i++)
        live += m->slots[i].key && m->slots[i].len;
    size_t cap = 16;
    while (cap < (live + 1) * 4)
        cap *= 2;
    idmap_set_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < m->cap; i++) {
        idmap_set_t *s = &m->slots[i];
        if (!s->key)
            continue;
        if (!s->len) {
            free(s->items);
            continue;
        }
        size_t j = (size_t)((uint64_t)s->key * 0x9E3779B97F4A7C15ull >> 32) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
        used++;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = used;
    return 0;
}

int idmap_add(idmap_t *m, int64_t key, void *item)
{
    idmap_set_t *s = find(m, key);
    if (!s) {
        if ((m->used + 1) * 4 > m->cap * 3 && grow(m))
            return -ENOMEM;
        size_t i = slot_of(m, key);
        while (m->slots[i].key)
            i = (i + 1) & (m->cap - 1);
        s = &m->slots[i];
        s->key = key;
        m->used++;
    }
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        void **items = realloc(s->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        s->items = items;
        s->cap = cap;
    }
    s->items[s->len++] = item;
    return 0;
}

int idmap_remove(idmap_t *m, int64_t key, void *item)
{
    idmap_set_t *s = find(m, key);
    if (!s)
        return -ENOENT;
    for (size_t i = 0; i < s->len; i++) {
        if (s->items[i] == item) {
            s->items[i] = s->items[--s->len];
            return 0;
        }
    }
    return -ENOENT;
}

const idmap_set_t *idmap_get(const idmap_t *m, int64_t key)
{
    const idmap_set_t *s = find(m, key);
    return s && s->len ? s : NULL;
}

size_t idmap_count(const idmap_t *m, int64_t key)
{
    const idmap_set_t *s = find(m, key);
    return s ? s->len : 0;
}
