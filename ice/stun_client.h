/* ice/stun_client.h: the controlling side of ICE connectivity checks, for the load
 * generator (tools/): builds Binding requests and validates their responses. */
#ifndef SFU_ICE_STUN_CLIENT_H
#define SFU_ICE_STUN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Transactions kept open for responses; building one more forgets the oldest. */
#define ICE_CLIENT_PENDING_MAX 8
#define ICE_CLIENT_TXID_LEN    12

typedef struct ice_client ice_client_t;

/* One per checked pair of ufrags. Copies the strings. tie_breaker 0 picks a random
 * one (RFC 8445 16.1). Returns NULL on bad arguments (empty or > 256 chars) or no memory. */
ice_client_t *ice_client_new(const char *local_ufrag, const char *remote_ufrag,
                             const char *remote_pwd, uint64_t tie_breaker);
void ice_client_free(ice_client_t *c);

/* Writes a Binding request into out (cap bytes; ICE_STUN_MAX_LEN suffices):
 * USE-CANDIDATE when asked, PRIORITY, ICE-CONTROLLING with our tie-breaker, USERNAME
 * "remote:local", MESSAGE-INTEGRITY with the remote password, FINGERPRINT.
 * txid NULL picks a fresh transaction id; pass the id of an earlier request to
 * retransmit it (RFC 5389 7.2.1) and receive either answer. Returns the length, or
 * -ENOSPC when out is too small. */
int ice_client_conncheck_build(ice_client_t *c, uint32_t priority, bool use_candidate,
                               const uint8_t txid[ICE_CLIENT_TXID_LEN], uint8_t *out, size_t cap);

/* The transaction id of the last request built (for retransmissions). */
void ice_client_last_txid(const ice_client_t *c, uint8_t txid[ICE_CLIENT_TXID_LEN]);

/* Validates a datagram that answers one of our open requests: FINGERPRINT,
 * MESSAGE-INTEGRITY with the remote password. On a success response, fills
 * *mapped with XOR-MAPPED-ADDRESS (our address as the peer saw it) and returns 0.
 * Otherwise returns
 *   -EINVAL   not STUN, truncated, bad FINGERPRINT, no address in a success response;
 *   -ENOENT   not an answer to an open request of ours;
 *   -EACCES   MESSAGE-INTEGRITY missing or wrong;
 *   -EPROTO   an error response: its code (401, 487, ...) is in *stun_error, if given. */
int ice_client_conncheck_response(ice_client_t *c, const uint8_t *msg, size_t len,
                                  struct sockaddr_storage *mapped, socklen_t *mapped_len,
                                  int *stun_error);

#endif
