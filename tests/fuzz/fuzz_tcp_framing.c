/* Fuzz target: RFC 4571 deframing of an ICE-TCP stream, fed in fuzz-chosen
 * pieces; every frame handed out is then run through the ICE-lite responder,
 * as the worker does before a connection is owned.
 * clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_tcp_framing.c \
 *     ice/tcp_framing.c ice/stun_server.c $(pkg-config --cflags --libs nice) */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ice/demux.h"
#include "ice/stun_server.h"
#include "ice/tcp_framing.h"

static ice_lite_t fuzz_lite;
static int fuzz_transport;

static const char *fuzz_lookup(void *ctx, const char *local_ufrag, void **transport)
{
    (void)ctx;
    if (strcmp(local_ufrag, "evtj") != 0)
        return NULL;
    *transport = &fuzz_transport;
    return "VOkJxbRl1RmTxUk/WvJxBt";
}

static int fuzz_frame(void *ctx, uint8_t *pkt, size_t len)
{
    (void)ctx;
    if (len == 0 || len > ICE_TCP_MAX_FRAME)
        __builtin_trap();
    if (ice_demux_kind(pkt, len) != ICE_DEMUX_STUN)
        return 0;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5000)};
    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len = sizeof resp;
    ice_lite_result_t res;
    ice_lite_handle(&fuzz_lite, pkt, len, (struct sockaddr *)&from, sizeof from, fuzz_lookup, NULL,
                    resp, &resp_len, &res);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ice_tcp_framer_t f;
    static int ready;
    if (!ready) {
        ice_lite_init(&fuzz_lite);
        ready = 1;
    }
    ice_tcp_framer_init(&f);
    /* Byte 0 picks the piece size the stream arrives in (1..256). */
    size_t piece = size ? (size_t)data[0] + 1 : 1;
    for (size_t off = size ? 1 : 0; off < size;) {
        size_t n = size - off < piece ? size - off : piece;
        if (ice_tcp_framer_feed(&f, data + off, n, fuzz_frame, NULL))
            break;
        off += n;
    }
    return 0;
}
