/* Fuzz target: the ICE-lite responder and the client's response check on untrusted bytes.
 *   make build/fuzz/fuzz_stun; build/fuzz/fuzz_stun -max_total_time=60
 * Byte 0 picks the mode: even = the rest as a raw datagram; odd = the rest as
 * attributes (type16, len8, value) of a request we sign with the right password,
 * so the paths behind MESSAGE-INTEGRITY are fuzzed too. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stun/stunagent.h>

#include "ice/stun_client.h"
#include "ice/stun_server.h"

static const char fuzz_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static int fuzz_transport;

static const char *fuzz_lookup(void *ctx, const char *local_ufrag, void **transport)
{
    (void)ctx;
    if (strcmp(local_ufrag, "evtj") != 0)
        return NULL;
    *transport = &fuzz_transport;
    return fuzz_password;
}

/* Signs fuzz-chosen attributes as an authenticated Binding request. Returns its length. */
static size_t fuzz_signed_request(StunAgent *agent, const uint8_t *data, size_t size, uint8_t *out,
                                  size_t cap)
{
    StunMessage msg;
    if (!stun_agent_init_request(agent, &msg, out, cap, STUN_BINDING))
        return 0;
    if (size >= 2) {
        out[0] = data[0] & 0x3f; /* fuzz the type; the top two bits stay zero */
        out[1] = data[1];
    }
    size_t i = 2;
    while (i + 3 <= size) {
        uint16_t type = (uint16_t)(data[i] << 8 | data[i + 1]);
        size_t alen = data[i + 2];
        i += 3;
        if (alen > size - i)
            alen = size - i;
        /* The signer adds these itself; a copy would end the message early. */
        if (type != STUN_ATTRIBUTE_MESSAGE_INTEGRITY && type != STUN_ATTRIBUTE_FINGERPRINT)
            stun_message_append_bytes(&msg, type, data + i, alen);
        i += alen;
    }
    stun_message_append_bytes(&msg, STUN_ATTRIBUTE_USERNAME, "evtj:h6vY", 9);
    size_t len = stun_agent_finish_message(agent, &msg, (const uint8_t *)fuzz_password,
                                           strlen(fuzz_password));
    stun_agent_forget_transaction(agent, (uint8_t *)out + 4);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ice_lite_t lite;
    static StunAgent signer;
    static int ready;
    static const uint16_t signer_known[] = {0};
    if (!ready) {
        ice_lite_init(&lite);
        stun_agent_init(&signer, signer_known, STUN_COMPATIBILITY_RFC5389,
                        STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
        ready = 1;
    }
    if (size < 1)
        return 0;

    struct sockaddr_in6 from = {.sin6_family = AF_INET6, .sin6_port = htons(5000)};
    from.sin6_addr.s6_addr[15] = 1;
    static uint8_t signed_req[2048];
    const uint8_t *req = data + 1;
    size_t req_len = size - 1;
    if (data[0] & 1) {
        req_len = fuzz_signed_request(&signer, data + 1, size - 1, signed_req, sizeof signed_req);
        req = signed_req;
        if (req_len == 0)
            return 0;
    }

    uint8_t resp[ICE_STUN_MAX_LEN];
    size_t resp_len = sizeof resp;
    ice_lite_result_t res;
    ice_lite_handle(&lite, req, req_len, (struct sockaddr *)&from, sizeof from, fuzz_lookup, NULL,
                    resp, &resp_len, &res);
    if (resp_len > sizeof resp)
        __builtin_trap();

    /* The client side: open the transaction the bytes claim to answer, then check them. */
    if (req_len >= 20) {
        ice_client_t *c = ice_client_new("h6vY", "evtj", fuzz_password, 1);
        uint8_t txreq[ICE_STUN_MAX_LEN];
        if (c && ice_client_conncheck_build(c, 1, true, req + 8, txreq, sizeof txreq) > 0) {
            struct sockaddr_storage mapped;
            socklen_t mapped_len;
            int code;
            ice_client_conncheck_response(c, req, req_len, &mapped, &mapped_len, &code);
        }
        ice_client_free(c);
    }
    return 0;
}
