/* common/idmap.h: int64 key -> small set of pointers (room -> sockets,
 * user -> sockets). Open addressing; sets grow by doubling. */
#ifndef SFU_COMMON_IDMAP_H
#define SFU_COMMON_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct idmap_set {
    int64_t key; /* 0 = empty slot; keys are positive ids */
    void **items;
    size_t len, cap;
} idmap_set_t;

typedef struct idmap {
    idmap_set_t *slots;
    size_t cap;  /* power of two */
    size_t used; /* slots holding a key (live or emptied sets) */
} idmap_t;

void idmap_init(idmap_t *m);
void idmap_free(idmap_t *m);
/* Adds item under key (no duplicate check). 0 or -ENOMEM. */
int idmap_add(idmap_t *m, int64_t key, void *item);
/* Removes one occurrence; 0, or -ENOENT when absent. */
int idmap_remove(idmap_t *m, int64_t key, void *item);
/* The set for key, or NULL when it has no items. */
const idmap_set_t *idmap_get(const idmap_t *m, int64_t key);
size_t idmap_count(const idmap_t *m, int64_t key);

#endif
