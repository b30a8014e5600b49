/* Unit tests: scrypt password hashes, HS256 JWTs, refresh tokens, the signing secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util.h"
#include "store/auth.h"

static const uint8_t key[AUTH_SECRET_LEN] = "0123456789abcdef0123456789abcde";

/* ---- passwords ---- */

static void test_password_hash_then_verify(void **state)
{
    (void)state;
    char stored[256];
    assert_int_equal(password_hash("correct horse", stored, sizeof stored), 0);
    assert_true(strncmp(stored, "scrypt$32768$8$1$", 17) == 0);
    assert_int_equal(password_verify("correct horse", stored), 1);
}

static void test_password_verify_wrong_password(void **state)
{
    (void)state;
    char stored[256];
    assert_int_equal(password_hash("correct horse", stored, sizeof stored), 0);
    assert_int_equal(password_verify("correct horsf", stored), 0);
    assert_int_equal(password_verify("", stored), 0);
}

static void test_password_hashes_are_salted(void **state)
{
    (void)state;
    char a[256], b[256];
    assert_int_equal(password_hash("same password", a, sizeof a), 0);
    assert_int_equal(password_hash("same password", b, sizeof b), 0);
    assert_string_not_equal(a, b);
}

static void test_password_hash_small_output(void **state)
{
    (void)state;
    char stored[40];
    assert_int_equal(password_hash("pw", stored, sizeof stored), -EIO);
}

static void test_password_verify_malformed_stored(void **state)
{
    (void)state;
    char good[256], edited[300];
    assert_int_equal(password_hash("pw", good, sizeof good), 0);
    const char *tail = good + strlen("scrypt$32768$8$1$");
    const char *bad[] = {
        "",
        "scrypt",
        "plain-text-password",
        "scrypt$32768$8$1$$",
        "bcrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(password_verify("pw", bad[i]), -EINVAL);
    assert_int_equal(password_verify("pw", NULL), -EINVAL);
    assert_int_equal(password_verify(NULL, good), -EINVAL);
    /* Parameters out of bounds or not in canonical form, with a well-formed salt and hash. */
    const char *params[] = {"0$8$1",        "1000$8$1",   "32769$8$1",      "2097152$8$1",
                            "1048576$32$1", "32768$0$1",  "32768$33$1",     "32768$8$0",
                            "32768$8$17",   "032768$8$1", "+32768$8$1",     "32768$8$-1",
                            "$8$1",         "32768$8",    "99999999999$8$1"};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        snprintf(edited, sizeof edited, "scrypt$%s$%s", params[i], tail);
        assert_int_equal(password_verify("pw", edited), -EINVAL);
    }
}

static void test_password_verify_reads_params_from_stored(void **state)
{
    (void)state;
    char good[256], edited[300];
    assert_int_equal(password_hash("pw", good, sizeof good), 0);
    /* Same salt and hash under other parameters: well-formed, but does not match. */
    snprintf(edited, sizeof edited, "scrypt$16384$8$1$%s", good + strlen("scrypt$32768$8$1$"));
    assert_int_equal(password_verify("pw", edited), 0);
}

/* ---- JWT ---- */

/* Builds header.payload.signature over arbitrary JSON, signed with k. */
static void forge(const char *header, const char *payload, const uint8_t *k, size_t k_len,
                  char *out, size_t cap)
{
    char h[256], p[512], s[64];
    uint8_t mac[32];
    unsigned int mac_len = 0;
    assert_true(b64url_encode((const uint8_t *)header, strlen(header), h, sizeof h) >= 0);
    assert_true(b64url_encode((const uint8_t *)payload, strlen(payload), p, sizeof p) >= 0);
    snprintf(out, cap, "%s.%s", h, p);
    assert_non_null(
        HMAC(EVP_sha256(), k, (int)k_len, (const uint8_t *)out, strlen(out), mac, &mac_len));
    assert_true(b64url_encode(mac, mac_len, s, sizeof s) >= 0);
    strncat(out, ".", cap - strlen(out) - 1);
    strncat(out, s, cap - strlen(out) - 1);
}

static const char hs256_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static void test_jwt_sign_verify_round_trip(void **state)
{
    (void)state;
    char token[1024];
    jwt_claims_t signed_claims, got;
    assert_int_equal(jwt_sign(key, sizeof key, 42, 1000, 900, token, sizeof token, &signed_claims),
                     0);
    assert_int_equal(jwt_verify(key, sizeof key, token, 1000, &got), 0);
    assert_int_equal(got.sub, 42);
    assert_int_equal(got.iat, 1000);
    assert_int_equal(got.exp, 1900);
    assert_int_equal(strlen(got.jti), 32);
    assert_string_equal(got.jti, signed_claims.jti);
    assert_true(strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
}

static void test_jwt_payload_shape(void **state)
{
    (void)state;
    char token[1024], want[256];
    uint8_t payload[256];
    jwt_claims_t c;
    assert_int_equal(jwt_sign(key, sizeof key, 7, 1700000000, 60, token, sizeof token, &c), 0);
    char *p = strchr(token, '.') + 1, *end = strchr(p, '.');
    int n = b64url_decode(p, (size_t)(end - p), payload, sizeof payload - 1);
    assert_true(n > 0);
    payload[n] = '\0';
    snprintf(want, sizeof want,
             "{\"sub\":\"7\",\"iat\":1700000000,\"exp\":1700000060,\"jti\":\"%s\"}", c.jti);
    assert_string_equal((char *)payload, want);
}

static void test_jwt_jti_is_unique(void **state)
{
    (void)state;
    char a[1024], b[1024];
    assert_int_equal(jwt_sign(key, sizeof key, 1, 1000, 60, a, sizeof a, NULL), 0);
    assert_int_equal(jwt_sign(key, sizeof key, 1, 1000, 60, b, sizeof b, NULL), 0);
    assert_string_not_equal(a, b);
}

static void test_jwt_sign_small_output(void **state)
{
    (void)state;
    char token[64];
    assert_int_equal(jwt_sign(key, sizeof key, 1, 1000, 60, token, sizeof token, NULL), -ENOSPC);
}

static void test_jwt_expiry(void **state)
{
    (void)state;
    char token[1024];
    jwt_claims_t c;
    assert_int_equal(jwt_sign(key, sizeof key, 1, 1000, 60, token, sizeof token, NULL), 0);
    assert_int_equal(jwt_verify(key, sizeof key, token, 1059, &c), 0);
    assert_int_equal(jwt_verify(key, sizeof key, token, 1060, &c), -ETIMEDOUT);
    assert_int_equal(jwt_verify(key, sizeof key, token, 99999, &c), -ETIMEDOUT);
}

static void test_jwt_tampered_payload(void **state)
{
    (void)state;
    char token[1024], forged[1024], p64[512];
    uint8_t payload[512];
    assert_int_equal(jwt_sign(key, sizeof key, 5, 1000, 60, token, sizeof token, NULL), 0);
    char *p = strchr(token, '.') + 1, *sig = strchr(p, '.');
    int n = b64url_decode(p, (size_t)(sig - p), payload, sizeof payload - 1);
    assert_true(n > 0);
    payload[n] = '\0';
    char *sub = strstr((char *)payload, "\"5\"");
    assert_non_null(sub);
    sub[1] = '1'; /* user 5 becomes user 1 */
    assert_true(b64url_encode(payload, (size_t)n, p64, sizeof p64) > 0);
    snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(p - token - 1), token, p64, sig);
    assert_int_equal(jwt_verify(key, sizeof key, forged, 1000, NULL), -EBADMSG);
}

static void test_jwt_tampered_signature(void **state)
{
    (void)state;
    char token[1024];
    assert_int_equal(jwt_sign(key, sizeof key, 5, 1000, 60, token, sizeof token, NULL), 0);
    size_t len = strlen(token);
    /* Every other value of the last character: it carries only 4 signature bits. */
    for (const char *c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"; *c;
         c++) {
        char copy[1024];
        memcpy(copy, token, len + 1);
        if (copy[len - 1] == *c)
            continue;
        copy[len - 1] = *c;
        assert_int_equal(jwt_verify(key, sizeof key, copy, 1000, NULL), -EBADMSG);
    }
    token[len - 1] = '\0';
    assert_int_equal(jwt_verify(key, sizeof key, token, 1000, NULL), -EBADMSG);
}

static void test_jwt_wrong_key(void **state)
{
    (void)state;
    char token[1024];
    uint8_t other[AUTH_SECRET_LEN];
    memcpy(other, key, sizeof other);
    other[0] ^= 1;
    assert_int_equal(jwt_sign(key, sizeof key, 5, 1000, 60, token, sizeof token, NULL), 0);
    assert_int_equal(jwt_verify(other, sizeof other, token, 1000, NULL), -EBADMSG);
}

static void test_jwt_alg_none_rejected(void **state)
{
    (void)state;
    char h[128], p[256], token[512];
    const char *header = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    const char *payload = "{\"sub\":\"1\",\"iat\":1000,\"exp\":9999999999,\"jti\":"
                          "\"00000000000000000000000000000000\"}";
    b64url_encode((const uint8_t *)header, strlen(header), h, sizeof h);
    b64url_encode((const uint8_t *)payload, strlen(payload), p, sizeof p);
    snprintf(token, sizeof token, "%s.%s.", h, p);
    assert_int_equal(jwt_verify(key, sizeof key, token, 1000, NULL), -EBADMSG);
    snprintf(token, sizeof token, "%s.%s", h, p);
    assert_int_equal(jwt_verify(key, sizeof key, token, 1000, NULL), -EBADMSG);
}

static void test_jwt_header_must_say_hs256(void **state)
{
    (void)state;
    char token[1024];
    const char *payload =
        "{\"sub\":\"1\",\"iat\":1000,\"exp\":2000,\"jti\":\"0123456789abcdef0123456789abcdef\"}";
    /* Correct HMAC over the bytes, but the header names another algorithm. */
    const char *headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
        "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":[\"HS256\"]}",
        "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
        "{\"alg\":\"HS256\\u0000x\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
        "[\"HS256\"]",
        "not json",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        forge(headers[i], payload, key, sizeof key, token, sizeof token);
        assert_int_equal(jwt_verify(key, sizeof key, token, 1000, NULL), -EBADMSG);
    }
    forge(hs256_header, payload, key, sizeof key, token, sizeof token);
    assert_int_equal(jwt_verify(key, sizeof key, token, 1000, NULL), 0);
}

static void test_jwt_claims_must_be_well_typed(void **state)
{
    (void)state;
    char token[1024];
    const char *j = "\"0123456789abcdef0123456789abcdef\"";
    char payloads[16][256];
    const char *fmt[] = {
        "{\"sub\":1,\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"0\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"-1\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"01\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"1x\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"9223372036854775808\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"1\",\"iat\":\"1000\",\"exp\":2000,\"jti\":%s}",
        "{\"sub\":\"1\",\"iat\":1000,\"exp\":2000.5,\"jti\":%s}",
        "{\"sub\":\"1\",\"iat\":1000,\"jti\":%s}",
        "{\"sub\":\"1\",\"iat\":1000,\"exp\":2000,\"jti\":5%.0s}",
        "{\"sub\":\"1\",\"iat\":1000,\"exp\":2000,\"jti\":\"abc\"%.0s}",
        "{\"sub\":\"1\",\"sub\":\"2\",\"iat\":1000,\"exp\":2000,\"jti\":%s}",
        "[\"sub\",%s]",
    };
    size_t count = sizeof fmt / sizeof fmt[0];
    for (size_t i = 0; i < count; i++) {
        snprintf(payloads[i], sizeof payloads[i], fmt[i], j);
        forge(hs256_header, payloads[i], key, sizeof key, token, sizeof token);
        assert_int_equal(jwt_verify(key, sizeof key, token, 1000, NULL), -EBADMSG);
    }
}

static void test_jwt_garbage_rejected(void **state)
{
    (void)state;
    const char *garbage[] = {"",
                             ".",
                             "..",
                             "...",
                             "a.b.c",
                             "a.b",
                             "a..c",
                             ".b.c",
                             "eyJ.eyJ.",
                             "a.b.c.d",
                             "\xff.\xfe.\xfd",
                             "Bearer",
                             "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..AAAA"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_int_equal(jwt_verify(key, sizeof key, garbage[i], 1000, NULL), -EBADMSG);
    assert_int_equal(jwt_verify(key, sizeof key, NULL, 1000, NULL), -EBADMSG);
    char *huge = malloc(100000);
    assert_non_null(huge);
    memset(huge, 'A', 99999);
    huge[99999] = '\0';
    huge[40] = huge[80] = '.';
    assert_int_equal(jwt_verify(key, sizeof key, huge, 1000, NULL), -EBADMSG);
    free(huge);
}

/* ---- refresh tokens ---- */

static void test_refresh_token_new_shape(void **state)
{
    (void)state;
    char token[AUTH_REFRESH_TOKEN_LEN], other[AUTH_REFRESH_TOKEN_LEN];
    uint8_t hash[32], again[32], other_hash[32];
    assert_int_equal(refresh_token_new(token, hash), 0);
    assert_int_equal(strlen(token), 43);
    assert_int_equal(
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_int_equal(refresh_token_hash(token, again), 0);
    assert_memory_equal(hash, again, 32);
    assert_int_equal(refresh_token_new(other, other_hash), 0);
    assert_string_not_equal(token, other);
    assert_memory_not_equal(hash, other_hash, 32);
}

static void test_refresh_token_hash_is_sha256(void **state)
{
    (void)state;
    const char *token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    uint8_t hash[32], want[32];
    unsigned int len = 0;
    assert_int_equal(refresh_token_hash(token, hash), 0);
    assert_int_equal(EVP_Digest(token, 43, want, &len, EVP_sha256(), NULL), 1);
    assert_memory_equal(hash, want, 32);
}

static void test_refresh_token_hash_rejects_malformed(void **state)
{
    (void)state;
    uint8_t hash[32];
    const char *bad[] = {
        "",
        "short",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* unused bits set */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(refresh_token_hash(bad[i], hash), -EINVAL);
    assert_int_equal(refresh_token_hash(NULL, hash), -EINVAL);
}

/* ---- signing secret ---- */

static char *make_dir(void)
{
    char *dir = strdup("/tmp/test_auth.XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/jwt.secret", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void write_file(const char *dir, const uint8_t *data, size_t len, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/jwt.secret", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_secret_created_with_mode_0600(void **state)
{
    (void)state;
    char *dir = make_dir(), path[256], err[256];
    uint8_t k[AUTH_SECRET_LEN];
    struct stat st;
    assert_int_equal(auth_secret_load_or_create(dir, k, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/jwt.secret", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, AUTH_SECRET_LEN);
    remove_dir(dir);
}

static void test_secret_reread_is_same(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    uint8_t first[AUTH_SECRET_LEN], second[AUTH_SECRET_LEN];
    assert_int_equal(auth_secret_load_or_create(dir, first, err, sizeof err), 0);
    assert_int_equal(auth_secret_load_or_create(dir, second, err, sizeof err), 0);
    assert_memory_equal(first, second, AUTH_SECRET_LEN);
    remove_dir(dir);
}

static void test_secret_readable_by_others_refused(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    uint8_t k[AUTH_SECRET_LEN];
    write_file(dir, key, sizeof key, 0644);
    int rc = auth_secret_load_or_create(dir, k, err, sizeof err);
    assert_true(rc < 0);
    assert_non_null(strstr(err, "group or others"));
    assert_non_null(strstr(err, "0644"));
    remove_dir(dir);
}

static void test_secret_wrong_size_refused(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    uint8_t k[AUTH_SECRET_LEN];
    write_file(dir, key, sizeof key - 1, 0600);
    assert_true(auth_secret_load_or_create(dir, k, err, sizeof err) < 0);
    assert_non_null(strstr(err, "31 bytes"));
    remove_dir(dir);
}

static void test_secret_missing_dir_reports(void **state)
{
    (void)state;
    char err[256];
    uint8_t k[AUTH_SECRET_LEN];
    assert_int_equal(auth_secret_load_or_create("/nonexistent/dir", k, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/dir/jwt.secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_then_verify),
        cmocka_unit_test(test_password_verify_wrong_password),
        cmocka_unit_test(test_password_hashes_are_salted),
        cmocka_unit_test(test_password_hash_small_output),
        cmocka_unit_test(test_password_verify_malformed_stored),
        cmocka_unit_test(test_password_verify_reads_params_from_stored),
        cmocka_unit_test(test_jwt_sign_verify_round_trip),
        cmocka_unit_test(test_jwt_payload_shape),
        cmocka_unit_test(test_jwt_jti_is_unique),
        cmocka_unit_test(test_jwt_sign_small_output),
        cmocka_unit_test(test_jwt_expiry),
        cmocka_unit_test(test_jwt_tampered_payload),
        cmocka_unit_test(test_jwt_tampered_signature),
        cmocka_unit_test(test_jwt_wrong_key),
        cmocka_unit_test(test_jwt_alg_none_rejected),
        cmocka_unit_test(test_jwt_header_must_say_hs256),
        cmocka_unit_test(test_jwt_claims_must_be_well_typed),
        cmocka_unit_test(test_jwt_garbage_rejected),
        cmocka_unit_test(test_refresh_token_new_shape),
        cmocka_unit_test(test_refresh_token_hash_is_sha256),
        cmocka_unit_test(test_refresh_token_hash_rejects_malformed),
        cmocka_unit_test(test_secret_created_with_mode_0600),
        cmocka_unit_test(test_secret_reread_is_same),
        cmocka_unit_test(test_secret_readable_by_others_refused),
        cmocka_unit_test(test_secret_wrong_size_refused),
        cmocka_unit_test(test_secret_missing_dir_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
