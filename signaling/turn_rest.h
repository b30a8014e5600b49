/* signaling/turn_rest.h: time-limited TURN credentials (the "TURN REST API"
 * scheme coturn implements as use-auth-secret / static-auth-secret). */
#ifndef SFU_TURN_REST_H
#define SFU_TURN_REST_H

#include <stddef.h>
#include <stdint.h>

/* How long handed-out credentials stay valid. */
#define TURN_REST_TTL_S 86400

/* username = "<expiry_unix>:<user_id>", credential = base64(HMAC-SHA1(secret,
 * username)). Returns 0, or -EINVAL when a buffer is too small or HMAC fails. */
int turn_rest_credentials(const char *secret, int64_t user_id, int64_t expiry_unix, char *username,
                          size_t username_cap, char *credential, size_t credential_cap);

#endif
