/* signaling/multipart.h: the multipart/form-data parser behind /api/upload. */
#ifndef SFU_SIGNALING_MULTIPART_H
#define SFU_SIGNALING_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One part: a view into the body. */
typedef struct multipart_part {
    const uint8_t *data;
    size_t len;
    char name[64];
    char declared_type[64];
    bool is_file;
} multipart_part_t;

/* The boundary parameter of a multipart/form-data Content-Type (1-70
 * characters) into out; false when there is none. */
bool multipart_boundary(const char *ct, char *out, size_t cap);
/* Splits the body into parts. Returns the number found (at most max are
 * filled), or -1 when the body is not well-formed multipart. */
int multipart_parse(const uint8_t *body, size_t len, const char *boundary, multipart_part_t *parts,
                    int max);

#endif
