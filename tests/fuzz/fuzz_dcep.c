/* Fuzz target: DCEP (dtls/dcep.c) on untrusted bytes, as a peer's stream 50
 * messages arrive. What parses is written back and must come out the same. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dtls/dcep.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dcep_open_t open, back;
    static uint8_t out[12 + 2 * DCEP_LABEL_MAX];
    (void)dcep_is_ack(data, size);
    (void)dcep_message_type(data, size);
    int rc = dcep_parse_open(data, size, &open);
    CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
    if (rc)
        return 0;
    CHECK(strlen(open.label) <= DCEP_LABEL_MAX && strlen(open.protocol) <= DCEP_LABEL_MAX);
    int n = dcep_write_open(&open, out, sizeof out);
    CHECK(n == (int)size);
    CHECK(memcmp(out, data, size) == 0);
    CHECK(dcep_parse_open(out, (size_t)n, &back) == 0);
    CHECK(memcmp(&open, &back, sizeof open) == 0);
    return 0;
}
