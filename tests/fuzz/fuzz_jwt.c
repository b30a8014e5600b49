/* Fuzz target: access-token parsing (jwt_verify in store/auth.h) on untrusted text.
 *   make build/fuzz/fuzz_jwt; build/fuzz/fuzz_jwt -max_total_time=60
 * The bytes are the token (up to the first NUL). Nothing but a token signed
 * with the key may verify; a token the node signs always verifies, and
 * flipping any character of it makes it fail. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/auth.h"

static const uint8_t key[32] = "fuzz-key-fuzz-key-fuzz-key-0123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = malloc(size + 1);
    if (!token)
        return 0;
    memcpy(token, data, size);
    token[size] = '\0';
    jwt_claims_t c;
    int rc = jwt_verify(key, sizeof key, token, 1000, &c);
    if (rc != 0 && rc != -EBADMSG && rc != -ETIMEDOUT)
        abort();
    if (rc == 0 && (c.exp <= 1000 || c.sub <= 0))
        abort();
    free(token);

    /* Round trip: a token signed here, with one byte chosen by the input changed. */
    char signed_tok[512];
    if (jwt_sign(key, sizeof key, 42, 900, 900, signed_tok, sizeof signed_tok, NULL))
        abort();
    if (jwt_verify(key, sizeof key, signed_tok, 1000, &c) || c.sub != 42)
        abort();
    if (size >= 2) {
        size_t at = data[0] % strlen(signed_tok);
        char was = signed_tok[at];
        signed_tok[at] = (char)(data[1] ? data[1] : 1);
        if (signed_tok[at] != was && jwt_verify(key, sizeof key, signed_tok, 1000, &c) == 0) {
            /* Base64url's last character carries spare bits: only those may pass. */
            if (at != strlen(signed_tok) - 1)
                abort();
        }
    }
    return 0;
}
