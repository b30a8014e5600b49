#include "ice/stun_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <stun/usages/ice.h>

/* Comprehension-required attributes (< 0x8000) we understand; any other one in an
 * authenticated request earns a 420 (RFC 5389 7.3.1). Optional ones pass anyway. */
static const uint16_t ice_lite_known_attributes[] = {
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

/* What the validater learnt, so that an unknown ufrag and a wrong password,
 * both STUN_VALIDATION_UNAUTHORIZED to libnice, can be told apart. */
typedef struct ice_lite_lookup_state {
    ice_lite_lookup_fn lookup;
    void *ctx;
    void *transport;
    bool known_ufrag;
    bool bad_username;
} ice_lite_lookup_state_t;

void ice_lite_init(ice_lite_t *lite)
{
    memset(lite, 0, sizeof *lite);
    stun_agent_init(&lite->agent, ice_lite_known_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
}

/* RFC 8445 7.2.2: USERNAME is "<receiver's ufrag>:<sender's ufrag>"; ours comes first. */
static bool ice_lite_validater(StunAgent *agent, StunMessage *msg, uint8_t *username,
                               uint16_t username_len, uint8_t **password, size_t *password_len,
                               void *user_data)
{
    ice_lite_lookup_state_t *st = user_data;
    (void)agent;
    (void)msg;
    if (!username) {
        st->bad_username = true;
        return false;
    }
    const uint8_t *colon = memchr(username, ':', username_len);
    size_t local_len = colon ? (size_t)(colon - username) : 0;
    size_t remote_len = colon ? username_len - local_len - 1 : 0;
    if (!colon || local_len == 0 || local_len > ICE_UFRAG_MAX_LEN || remote_len == 0 ||
        memchr(username, '\0', local_len)) {
        st->bad_username = true;
        return false;
    }
    char local_ufrag[ICE_UFRAG_MAX_LEN + 1];
    memcpy(local_ufrag, username, local_len);
    local_ufrag[local_len] = '\0';

    void *transport = NULL;
    const char *pwd = st->lookup(st->ctx, local_ufrag, &transport);
    if (!pwd)
        return false;
    st->known_ufrag = true;
    st->transport = transport;
    *password = (uint8_t *)pwd;
    *password_len = strlen(pwd);
    return true;
}

/* Builds an error response without MESSAGE-INTEGRITY (the request was not
 * authenticated, RFC 5389 10.1.2) into resp. Returns its length or 0. */
static size_t ice_lite_error(ice_lite_t *lite, StunMessage *req, uint8_t *resp, size_t cap,
                             StunError code)
{
    StunMessage msg;
    if (!stun_agent_init_error(&lite->agent, &msg, resp, cap, req, code))
        return 0;
    return stun_agent_finish_message(&lite->agent, &msg, NULL, 0);
}

static int ice_lite_copy_from(const struct sockaddr *from, socklen_t fromlen,
                              struct sockaddr_storage *ss)
{
    if (!from)
        return -EINVAL;
    if (from->sa_family == AF_INET && fromlen >= (socklen_t)sizeof(struct sockaddr_in)) {
        memset(ss, 0, sizeof *ss);
        memcpy(ss, from, sizeof(struct sockaddr_in));
        return (int)sizeof(struct sockaddr_in);
    }
    if (from->sa_family == AF_INET6 && fromlen >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memset(ss, 0, sizeof *ss);
        memcpy(ss, from, sizeof(struct sockaddr_in6));
        return (int)sizeof(struct sockaddr_in6);
    }
    return -EINVAL;
}

/* Maps what stun_agent_validate refused to our return code and, where the RFC
 * wants an answer, builds it. */
static int ice_lite_refused(ice_lite_t *lite, StunValidationStatus v, StunMessage *req,
                            const ice_lite_lookup_state_t *st, uint8_t *resp, size_t cap,
                            size_t *resp_len)
{
    switch (v) {
    case STUN_VALIDATION_UNAUTHORIZED:
        if (!st->known_ufrag)
            return st->bad_username ? -EINVAL : -ENOENT;
        /* RFC 5389 10.1.2: known user, bad integrity -> 401 (never larger than the request). */
        if (stun_message_get_class(req) == STUN_REQUEST)
            *resp_len = ice_lite_error(lite, req, resp, cap, STUN_ERROR_UNAUTHORIZED);
        return -EACCES;
    case STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE:
        *resp_len = stun_agent_build_unknown_attributes_error(&lite->agent, &(StunMessage){0}, resp,
                                                              cap, req);
        return -EOPNOTSUPP;
    default:
        /* Not STUN, truncated, no cookie, bad FINGERPRINT, no credentials, a
         * response to nothing we sent: silence, not an answer to a stranger. */
        return -EINVAL;
    }
}

int ice_lite_handle(ice_lite_t *lite, const uint8_t *req, size_t len, const struct sockaddr *from,
                    socklen_t fromlen, ice_lite_lookup_fn lookup, void *ctx, uint8_t *resp,
                    size_t *resp_len, ice_lite_result_t *result)
{
    size_t cap = *resp_len;
    *resp_len = 0;
    memset(result, 0, sizeof *result);

    struct sockaddr_storage src;
    int srclen = ice_lite_copy_from(from, fromlen, &src);
    if (srclen < 0 || !req || len < 20 || len > UINT16_MAX + 20u)
        return -EINVAL;

    ice_lite_lookup_state_t st = {.lookup = lookup, .ctx = ctx};
    StunMessage msg;
    StunValidationStatus v =
        stun_agent_validate(&lite->agent, &msg, req, len, ice_lite_validater, &st);
    result->transport = st.transport;
    result->authenticated = st.known_ufrag && (v == STUN_VALIDATION_SUCCESS ||
                                               v == STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE);
    if (v != STUN_VALIDATION_SUCCESS)
        return ice_lite_refused(lite, v, &msg, &st, resp, cap, resp_len);
    /* Indications (keepalives) and stray responses need no answer. */
    if (stun_message_get_class(&msg) != STUN_REQUEST || !st.known_ufrag)
        return -EINVAL;

    uint64_t peer_tie;
    result->role_conflict = stun_message_find64(&msg, STUN_ATTRIBUTE_ICE_CONTROLLED, &peer_tie) ==
                            STUN_MESSAGE_RETURN_SUCCESS;
    result->use_candidate = stun_usage_ice_conncheck_use_candidate(&msg);
    result->priority = stun_usage_ice_conncheck_priority(&msg);

    /* An ICE-lite agent is always controlled (RFC 8445 6.1.1) and cannot switch, so a
     * peer that also claims ICE-CONTROLLED gets 487, signed (RFC 8445 7.3.1.1). */
    if (lite->controlling)
        result->role_conflict = false;
    if (result->role_conflict && stun_message_get_method(&msg) == STUN_BINDING) {
        result->use_candidate = false;
        StunMessage err;
        if (!stun_agent_init_error(&lite->agent, &err, resp, cap, &msg, STUN_ERROR_ROLE_CONFLICT))
            return -ENOSPC;
        *resp_len = stun_agent_finish_message(&lite->agent, &err, NULL, 0);
        return *resp_len ? -EPROTO : -ENOSPC;
    }

    bool controlling = lite->controlling;
    StunMessage out;
    size_t out_len = cap;
    StunUsageIceReturn r = stun_usage_ice_conncheck_create_reply(
        &lite->agent, &msg, &out, resp, &out_len, &src, (socklen_t)srclen, &controlling, 0,
        STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    *resp_len = out_len;
    if (r == STUN_USAGE_ICE_RETURN_INVALID_METHOD) {
        result->role_conflict = false;
        return -EOPNOTSUPP;
    }
    if (r != STUN_USAGE_ICE_RETURN_SUCCESS || out_len == 0) {
        *resp_len = 0;
        return r == STUN_USAGE_ICE_RETURN_MEMORY_ERROR ? -ENOSPC : -EINVAL;
    }
    result->binding_ok = true;
    return 0;
}
