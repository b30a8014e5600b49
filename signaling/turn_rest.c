/* signaling/turn_rest.c: TURN REST credentials, checked by a TURN server that
 * shares the secret (coturn's use-auth-secret), so no static password. */
#include "signaling/turn_rest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int turn_rest_credentials(const char *secret, int64_t user_id, int64_t expiry_unix, char *username,
                          size_t username_cap, char *credential, size_t credential_cap)
{
    int n =
        snprintf(username, username_cap, "%lld:%lld", (long long)expiry_unix, (long long)user_id);
    if (n < 0 || (size_t)n >= username_cap)
        return -EINVAL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)username, (size_t)n,
              mac, &mac_len))
        return -EINVAL;
    /* Standard base64 with padding: 4 characters per 3 bytes, plus the NUL. */
    if (credential_cap < 4 * ((mac_len + 2) / 3) + 1)
        return -EINVAL;
    EVP_EncodeBlock((unsigned char *)credential, mac, (int)mac_len);
    return 0;
}
