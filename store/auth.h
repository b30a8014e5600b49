/* store/auth.h: password hashing (scrypt), HS256 JWT access tokens, refresh
 * tokens and the signing secret. Pure functions over OpenSSL; no SQL here. */
#ifndef SFU_STORE_AUTH_H
#define SFU_STORE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_SECRET_LEN        32
#define AUTH_ACCESS_TTL_S      (15 * 60)
#define AUTH_REFRESH_TTL_S     (30 * 24 * 3600)
#define AUTH_REFRESH_TOKEN_LEN 44 /* 256 bits, base64url, plus NUL */
#define AUTH_JTI_LEN           33 /* 128 bits, hex, plus NUL */

/* scrypt through OpenSSL EVP_KDF with a fresh 16-byte salt, written as
 * "scrypt$N$r$p$salt_b64url$hash_b64url". Returns 0 or -EIO. */
int password_hash(const char *password, char *out, size_t out_cap);
/* 1 when password matches stored (constant-time compare), 0 when not,
 * -EINVAL when stored is not a hash this module wrote. */
int password_verify(const char *password, const char *stored);

typedef struct jwt_claims {
    int64_t sub;
    int64_t iat;
    int64_t exp;
    char jti[AUTH_JTI_LEN];
} jwt_claims_t;

/* Signs {"sub":"<id>","iat":..,"exp":iat+ttl,"jti":random}. Fills claims if non-NULL.
 * Returns 0, or -ENOSPC when out is too small. */
int jwt_sign(const uint8_t *key, size_t key_len, int64_t sub, int64_t iat_s, int64_t ttl_s,
             char *out, size_t out_cap, jwt_claims_t *claims);
/* 0 and claims filled when the signature, header (alg HS256) and claims are valid
 * and now_s < exp. -ETIMEDOUT when expired, -EBADMSG when malformed, tampered or
 * signed with another key. */
int jwt_verify(const uint8_t *key, size_t key_len, const char *token, int64_t now_s,
               jwt_claims_t *claims);

/* A new refresh token (base64url of 32 random bytes) and its SHA-256. */
int refresh_token_new(char token[AUTH_REFRESH_TOKEN_LEN], uint8_t hash[32]);
/* SHA-256 of a presented token. -EINVAL when it does not have the token's form. */
int refresh_token_hash(const char *token, uint8_t hash[32]);

/* Reads DATA_DIR/jwt.secret, or creates it (mode 0600, O_EXCL) on first start.
 * Returns 0, or a negative errno with a one-line reason in err. */
int auth_secret_load_or_create(const char *data_dir, uint8_t key[AUTH_SECRET_LEN], char *err,
                               size_t err_cap);

#endif
