/* ice/stun_server.h: the ICE-lite responder (RFC 8445 2.5), on libnice's STUN library.
 * No sockets and no allocation: a request comes in, a response goes out in the
 * caller's buffer, and the result says what the request meant. */
#ifndef SFU_ICE_STUN_SERVER_H
#define SFU_ICE_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <stun/stunagent.h>

/* A response buffer of this size always suffices (RFC 5389 7.1: the IPv6 path MTU
 * floor; our responses echo USERNAME, at most 513 bytes, plus ~80 bytes). */
#define ICE_STUN_MAX_LEN 1280
/* RFC 8839 5.4: ice-ufrag is 4 to 256 characters. */
#define ICE_UFRAG_MAX_LEN 256

/* Finds the transport that owns local_ufrag (NUL-terminated). Returns its local ICE
 * password, NUL-terminated and valid until ice_lite_handle returns, and sets
 * *transport; or returns NULL to refuse the request (it is then dropped). */
typedef const char *(*ice_lite_lookup_fn)(void *ctx, const char *local_ufrag, void **transport);

typedef struct ice_lite_result {
    void *transport;    /* from lookup when the local ufrag was known, else NULL */
    bool authenticated; /* known ufrag and correct MESSAGE-INTEGRITY */
    bool binding_ok;    /* an authenticated Binding request, answered with success */
    bool use_candidate; /* it carried USE-CANDIDATE: the peer nominates this 5-tuple */
    bool role_conflict; /* the peer claimed ICE-CONTROLLED: answered 487 */
    uint32_t priority;  /* its PRIORITY attribute, 0 when absent */
} ice_lite_result_t;

/* One per worker thread, embedded by value (about 11 KB: libnice's agent keeps a
 * table of sent transactions that a responder never fills). */
typedef struct ice_lite {
    StunAgent agent;
    /* Answer as a full agent in the controlling role (the load generator facing a
     * full-ICE peer): a request claiming ICE-CONTROLLED is then no conflict.
     * ice_lite_init clears it. */
    bool controlling;
} ice_lite_t;

/* RFC 5389 with short-term credentials, FINGERPRINT required on input and added on output. */
void ice_lite_init(ice_lite_t *lite);

/* Handles one datagram that ice_demux_kind called STUN, received from `from`.
 * *resp_len is the capacity of resp on entry (ICE_STUN_MAX_LEN suffices) and the
 * length to send back to `from` on return: send it whenever it is non-zero.
 * Returns
 *   0            an authenticated Binding request; a success response with
 *                XOR-MAPPED-ADDRESS is in resp and result->binding_ok is set;
 *   -EINVAL      not STUN, truncated, bad FINGERPRINT, not a request, no USERNAME or
 *                MESSAGE-INTEGRITY, malformed USERNAME: dropped, nothing to send;
 *   -ENOENT      lookup refused the local ufrag: dropped, nothing to send;
 *   -EACCES      known ufrag, wrong MESSAGE-INTEGRITY: a 401 without integrity in resp;
 *   -EPROTO      authenticated, but the peer claims ICE-CONTROLLED (an ICE-lite agent
 *                is always controlled): a 487 in resp, result->role_conflict set;
 *   -EOPNOTSUPP  authenticated, but a method other than Binding or an unknown
 *                comprehension-required attribute: a 400 or 420 in resp;
 *   -ENOSPC      resp too small: nothing to send.
 * Never touches more than len bytes of req. */
int ice_lite_handle(ice_lite_t *lite, const uint8_t *req, size_t len, const struct sockaddr *from,
                    socklen_t fromlen, ice_lite_lookup_fn lookup, void *ctx, uint8_t *resp,
                    size_t *resp_len, ice_lite_result_t *result);

#endif
