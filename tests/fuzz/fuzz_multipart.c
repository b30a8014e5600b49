/* Fuzz target: the upload body parser (signaling/multipart.h) on untrusted bytes.
 *   make build/fuzz/fuzz_multipart; build/fuzz/fuzz_multipart -max_total_time=60
 * Byte 0 odd: up to the first newline is the whole Content-Type header; even:
 * it is only the boundary (after "multipart/form-data; boundary="). The rest
 * is the body. Every part found must lie inside the body, and parsing is
 * deterministic. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = "multipart/form-data; boundary=";
    if (size < 1)
        return 0;
    bool whole = data[0] & 1;
    data++;
    size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ct_len = nl ? (size_t)(nl - data) : size;
    size_t pre = whole ? 0 : sizeof prefix - 1;
    char *ct = malloc(pre + ct_len + 1);
    if (!ct)
        return 0;
    memcpy(ct, prefix, pre);
    memcpy(ct + pre, data, ct_len);
    ct[pre + ct_len] = '\0';
    char boundary[80];
    if (multipart_boundary(ct, boundary, sizeof boundary)) {
        if (strlen(boundary) == 0 || strlen(boundary) > 70)
            abort();
        /* The body in a buffer of its own size, so ASan sees any overread. */
        size_t body_len = nl ? size - ct_len - 1 : 0;
        uint8_t *body = malloc(body_len ? body_len : 1);
        if (body) {
            memcpy(body, nl ? nl + 1 : data, body_len);
            multipart_part_t parts[8], again[8];
            int n = multipart_parse(body, body_len, boundary, parts, 8);
            int m = multipart_parse(body, body_len, boundary, again, 8);
            if (n != m)
                abort();
            for (int i = 0; i < n && i < 8; i++) {
                if (parts[i].data < body || parts[i].data + parts[i].len > body + body_len)
                    abort();
                if (memchr(parts[i].name, '\0', sizeof parts[i].name) == NULL ||
                    memchr(parts[i].declared_type, '\0', sizeof parts[i].declared_type) == NULL)
                    abort();
            }
            free(body);
        }
    }
    free(ct);
    return 0;
}
