#include "ice/stun_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "ice/stun_server.h"

static const uint16_t ice_client_known_attributes[] = {
    STUN_ATTRIBUTE_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_USERNAME,
    STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,
    STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE,
    0,
};

struct ice_client {
    /* Keeps each open request's id and a pointer to remote_pwd, to check the answer. */
    StunAgent agent;
    char username[2 * ICE_UFRAG_MAX_LEN + 2];
    size_t username_len;
    uint8_t remote_pwd[ICE_UFRAG_MAX_LEN + 1];
    size_t remote_pwd_len;
    uint64_t tie_breaker;
    /* Our ring of open transactions, so libnice's table of 200 never fills. */
    StunTransactionId pending[ICE_CLIENT_PENDING_MAX];
    bool pending_used[ICE_CLIENT_PENDING_MAX];
    unsigned pending_next;
    uint8_t last_txid[ICE_CLIENT_TXID_LEN];
};

static bool ice_client_valid_str(const char *s)
{
    return s && s[0] && strlen(s) <= ICE_UFRAG_MAX_LEN;
}

ice_client_t *ice_client_new(const char *local_ufrag, const char *remote_ufrag,
                             const char *remote_pwd, uint64_t tie_breaker)
{
    if (!ice_client_valid_str(local_ufrag) || !ice_client_valid_str(remote_ufrag) ||
        !ice_client_valid_str(remote_pwd))
        return NULL;
    ice_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    stun_agent_init(&c->agent, ice_client_known_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    /* RFC 8445 7.2.2: the receiver's ufrag first. */
    int n = snprintf(c->username, sizeof c->username, "%s:%s", remote_ufrag, local_ufrag);
    c->username_len = (size_t)n;
    c->remote_pwd_len = strlen(remote_pwd);
    memcpy(c->remote_pwd, remote_pwd, c->remote_pwd_len);
    while (tie_breaker == 0) {
        if (getrandom(&tie_breaker, sizeof tie_breaker, 0) != (ssize_t)sizeof tie_breaker) {
            free(c);
            return NULL;
        }
    }
    c->tie_breaker = tie_breaker;
    return c;
}

void ice_client_free(ice_client_t *c)
{
    free(c);
}

int ice_client_conncheck_build(ice_client_t *c, uint32_t priority, bool use_candidate,
                               const uint8_t txid[ICE_CLIENT_TXID_LEN], uint8_t *out, size_t cap)
{
    StunMessage msg;
    if (!stun_agent_init_request(&c->agent, &msg, out, cap, STUN_BINDING))
        return -ENOSPC;
    /* The 96-bit transaction id follows the magic cookie (RFC 5389 6). */
    if (txid)
        memcpy(out + 8, txid, ICE_CLIENT_TXID_LEN);

    unsigned slot = c->pending_next;
    if (c->pending_used[slot]) {
        stun_agent_forget_transaction(&c->agent, c->pending[slot]);
        c->pending_used[slot] = false;
    }
    if (use_candidate &&
        stun_message_append_flag(&msg, STUN_ATTRIBUTE_USE_CANDIDATE) != STUN_MESSAGE_RETURN_SUCCESS)
        return -ENOSPC;
    if (stun_message_append32(&msg, STUN_ATTRIBUTE_PRIORITY, priority) !=
            STUN_MESSAGE_RETURN_SUCCESS ||
        stun_message_append64(&msg, STUN_ATTRIBUTE_ICE_CONTROLLING, c->tie_breaker) !=
            STUN_MESSAGE_RETURN_SUCCESS ||
        stun_message_append_bytes(&msg, STUN_ATTRIBUTE_USERNAME, c->username, c->username_len) !=
            STUN_MESSAGE_RETURN_SUCCESS)
        return -ENOSPC;
    size_t len = stun_agent_finish_message(&c->agent, &msg, c->remote_pwd, c->remote_pwd_len);
    if (len == 0)
        return -ENOSPC;

    stun_message_id(&msg, c->pending[slot]);
    c->pending_used[slot] = true;
    c->pending_next = (slot + 1) % ICE_CLIENT_PENDING_MAX;
    memcpy(c->last_txid, out + 8, ICE_CLIENT_TXID_LEN);
    return (int)len;
}

void ice_client_last_txid(const ice_client_t *c, uint8_t txid[ICE_CLIENT_TXID_LEN])
{
    memcpy(txid, c->last_txid, ICE_CLIENT_TXID_LEN);
}

static int ice_client_refused(StunValidationStatus v)
{
    switch (v) {
    case STUN_VALIDATION_UNMATCHED_RESPONSE:
        return -ENOENT;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
        return -EACCES;
    case STUN_VALIDATION_UNKNOWN_ATTRIBUTE:
        /* RFC 5389 7.3.3: unknown comprehension-required attribute: the check failed. */
        return -EPROTO;
    default:
        return -EINVAL;
    }
}

int ice_client_conncheck_response(ice_client_t *c, const uint8_t *data, size_t len,
                                  struct sockaddr_storage *mapped, socklen_t *mapped_len,
                                  int *stun_error)
{
    if (stun_error)
        *stun_error = 0;
    if (!data || len < 20 || len > UINT16_MAX + 20u)
        return -EINVAL;
    /* A request or indication is never an answer (RFC 5389 6: class bits C1 C0). */
    uint16_t type = (uint16_t)(data[0] << 8 | data[1]);
    if ((type & 0x0110) == 0x0000 || (type & 0x0110) == 0x0010)
        return -EINVAL;

    StunMessage msg;
    StunValidationStatus v = stun_agent_validate(&c->agent, &msg, data, len, NULL, NULL);
    if (v != STUN_VALIDATION_SUCCESS)
        return ice_client_refused(v);

    if (stun_message_get_class(&msg) == STUN_ERROR) {
        int code = 0;
        if (stun_message_find_error(&msg, &code) != STUN_MESSAGE_RETURN_SUCCESS)
            return -EINVAL;
        if (stun_error)
            *stun_error = code;
        return -EPROTO;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    if (stun_usage_ice_conncheck_process(&msg, &ss, &sslen, STUN_USAGE_ICE_COMPATIBILITY_RFC5245) !=
        STUN_USAGE_ICE_RETURN_SUCCESS)
        return -EINVAL;
    if (mapped)
        *mapped = ss;
    if (mapped_len)
        *mapped_len = sslen;
    return 0;
}
