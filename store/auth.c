/* store/auth.c: scrypt password hashes, HS256 JWTs, refresh tokens, the signing secret. */
#include "store/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "common/log.h"
#include "common/util.h"

#define SCRYPT_N        32768
#define SCRYPT_R        8
#define SCRYPT_P        1
#define SCRYPT_SALT_LEN 16
#define SCRYPT_HASH_LEN 32
/* Bounds for parameters read back from a stored hash: at most 256 MiB of work memory. */
#define SCRYPT_N_MIN   1024
#define SCRYPT_N_MAX   (1u << 20)
#define SCRYPT_R_MAX   32
#define SCRYPT_P_MAX   16
#define SCRYPT_MEM_MAX (256ull << 20)

#define JWT_SIG_LEN     32
#define JWT_MAX_LEN     4096
#define JWT_PART_MAX    2048
#define REFRESH_RAW_LEN 32
#define REFRESH_B64_LEN (AUTH_REFRESH_TOKEN_LEN - 1)

/* scrypt (RFC 7914) of password into out[out_len]. Returns 0 or -EIO. */
static int auth__scrypt(const char *password, const uint8_t *salt, size_t salt_len, uint64_t n,
                        uint32_t r, uint32_t p, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx) {
        log_error("auth", "scrypt is not available in this OpenSSL");
        return -EIO;
    }
    uint64_t maxmem = SCRYPT_MEM_MAX + (1u << 20);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password,
                                          strlen(password)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    if (!ok) {
        log_error("auth", "scrypt derivation failed (N=%" PRIu64 " r=%u p=%u)", n, r, p);
        return -EIO;
    }
    return 0;
}

int password_hash(const char *password, char *out, size_t out_cap)
{
    uint8_t salt[SCRYPT_SALT_LEN], hash[SCRYPT_HASH_LEN];
    char salt_b64[32], hash_b64[48];
    if (!password || !out || out_cap == 0)
        return -EIO;
    out[0] = '\0';
    if (random_bytes(salt, sizeof salt)) {
        log_error("auth", "no random bytes for a salt");
        return -EIO;
    }
    int rc =
        auth__scrypt(password, salt, sizeof salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, hash, sizeof hash);
    if (rc == 0 && (b64url_encode(salt, sizeof salt, salt_b64, sizeof salt_b64) < 0 ||
                    b64url_encode(hash, sizeof hash, hash_b64, sizeof hash_b64) < 0))
        rc = -EIO;
    if (rc == 0) {
        int n = snprintf(out, out_cap, "scrypt$%d$%d$%d$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P,
                         salt_b64, hash_b64);
        if (n < 0 || (size_t)n >= out_cap) {
            out[0] = '\0';
            rc = -EIO;
        }
    }
    OPENSSL_cleanse(hash, sizeof hash);
    return rc;
}

/* Parses a decimal number without sign or leading zeros, at most max. */
static bool auth__parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* Splits s at sep into exactly n fields (pointers into s with lengths). */
static bool auth__split(const char *s, char sep, size_t n, const char **field, size_t *len)
{
    size_t k = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == sep || *p == '\0') {
            if (k == n)
                return false;
            field[k] = start;
            len[k] = (size_t)(p - start);
            k++;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return k == n;
}

int password_verify(const char *password, const char *stored)
{
    if (!password || !stored || strnlen(stored, 256) >= 256)
        return -EINVAL;
    const char *f[6];
    size_t len[6];
    uint64_t n, r, p;
    uint8_t salt[SCRYPT_SALT_LEN], want[SCRYPT_HASH_LEN], got[SCRYPT_HASH_LEN];
    if (!auth__split(stored, '$', 6, f, len) || len[0] != 6 || memcmp(f[0], "scrypt", 6) != 0)
        return -EINVAL;
    if (!auth__parse_uint(f[1], len[1], SCRYPT_N_MAX, &n) || n < SCRYPT_N_MIN || (n & (n - 1)) ||
        !auth__parse_uint(f[2], len[2], SCRYPT_R_MAX, &r) || r == 0 ||
        !auth__parse_uint(f[3], len[3], SCRYPT_P_MAX, &p) || p == 0)
        return -EINVAL;
    /* OpenSSL allocates 128*r*(N+2) bytes for V and 128*r*p for B (RFC 7914 5). */
    if (128 * r * (n + 2 + p) > SCRYPT_MEM_MAX)
        return -EINVAL;
    if (b64url_decode(f[4], len[4], salt, sizeof salt) != SCRYPT_SALT_LEN ||
        b64url_decode(f[5], len[5], want, sizeof want) != SCRYPT_HASH_LEN)
        return -EINVAL;
    if (auth__scrypt(password, salt, sizeof salt, n, (uint32_t)r, (uint32_t)p, got, sizeof got))
        return -EIO;
    int match = CRYPTO_memcmp(got, want, sizeof got) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return match;
}

/* HMAC-SHA256 of data into mac[JWT_SIG_LEN]. Returns 0 or -EIO. */
static int auth__hs256(const uint8_t *key, size_t key_len, const char *data, size_t len,
                       uint8_t mac[JWT_SIG_LEN])
{
    unsigned int mac_len = 0;
    if (key_len > INT_MAX ||
        !HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, len, mac, &mac_len) ||
        mac_len != JWT_SIG_LEN)
        return -EIO;
    return 0;
}

int jwt_sign(const uint8_t *key, size_t key_len, int64_t sub, int64_t iat_s, int64_t ttl_s,
             char *out, size_t out_cap, jwt_claims_t *claims)
{
    if (!key || key_len == 0 || !out || sub <= 0 || iat_s < 0 || ttl_s <= 0 ||
        iat_s > INT64_MAX - ttl_s)
        return -EINVAL;
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    jwt_claims_t c = {.sub = sub, .iat = iat_s, .exp = iat_s + ttl_s};
    uint8_t jti_raw[16], mac[JWT_SIG_LEN];
    if (random_bytes(jti_raw, sizeof jti_raw))
        return -EIO;
    hex_encode(jti_raw, sizeof jti_raw, c.jti);
    char payload[160];
    int plen =
        snprintf(payload, sizeof payload,
                 "{\"sub\":\"%" PRId64 "\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 ",\"jti\":\"%s\"}",
                 c.sub, c.iat, c.exp, c.jti);
    if (plen < 0 || (size_t)plen >= sizeof payload)
        return -EIO;

    char buf[512];
    int h = b64url_encode((const uint8_t *)header, sizeof header - 1, buf, sizeof buf);
    if (h < 0 || (size_t)h + 1 >= sizeof buf)
        return -EIO;
    buf[h] = '.';
    int pl = b64url_encode((const uint8_t *)payload, (size_t)plen, buf + h + 1,
                           sizeof buf - (size_t)h - 1);
    if (pl < 0)
        return -EIO;
    size_t signed_len = (size_t)h + 1 + (size_t)pl;
    if (auth__hs256(key, key_len, buf, signed_len, mac))
        return -EIO;
    if (signed_len + 1 >= sizeof buf)
        return -EIO;
    buf[signed_len] = '.';
    int sl = b64url_encode(mac, sizeof mac, buf + signed_len + 1, sizeof buf - signed_len - 1);
    if (sl < 0)
        return -EIO;
    size_t total = signed_len + 1 + (size_t)sl;
    if (total >= out_cap)
        return -ENOSPC;
    memcpy(out, buf, total + 1);
    if (claims)
        *claims = c;
    return 0;
}

/* Decodes one base64url part and parses it as a JSON object. NULL when it is not one. */
static json_t *auth__json_part(const char *part, size_t len)
{
    uint8_t raw[JWT_PART_MAX];
    int n = b64url_decode(part, len, raw, sizeof raw);
    if (n <= 0)
        return NULL;
    json_t *obj = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static bool auth__header_ok(json_t *header)
{
    json_t *alg = json_object_get(header, "alg");
    json_t *typ = json_object_get(header, "typ");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0 ||
        json_string_length(alg) != 5)
        return false;
    return !typ || (json_is_string(typ) && strcmp(json_string_value(typ), "JWT") == 0 &&
                    json_string_length(typ) == 3);
}

/* A positive decimal integer without sign or leading zeros that fits int64_t. */
static bool auth__parse_sub(json_t *v, int64_t *out)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > 19 || s[0] == '0')
        return false;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int d = s[i] - '0';
        if (n > (INT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

/* Our jti: 32 lower-case hex digits. */
static bool auth__jti_ok(json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) != AUTH_JTI_LEN - 1)
        return false;
    const char *s = json_string_value(v);
    for (size_t i = 0; i < AUTH_JTI_LEN - 1; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool auth__claims_ok(json_t *payload, jwt_claims_t *c)
{
    json_t *iat = json_object_get(payload, "iat");
    json_t *exp = json_object_get(payload, "exp");
    json_t *jti = json_object_get(payload, "jti");
    if (!auth__parse_sub(json_object_get(payload, "sub"), &c->sub) || !json_is_integer(iat) ||
        !json_is_integer(exp) || !auth__jti_ok(jti))
        return false;
    c->iat = json_integer_value(iat);
    c->exp = json_integer_value(exp);
    memcpy(c->jti, json_string_value(jti), AUTH_JTI_LEN);
    return true;
}

int jwt_verify(const uint8_t *key, size_t key_len, const char *token, int64_t now_s,
               jwt_claims_t *claims)
{
    if (claims)
        memset(claims, 0, sizeof *claims);
    if (!key || key_len == 0)
        return -EINVAL;
    if (!token || strnlen(token, JWT_MAX_LEN + 1) > JWT_MAX_LEN)
        return -EBADMSG;
    const char *part[3];
    size_t len[3];
    uint8_t sig[JWT_SIG_LEN], mac[JWT_SIG_LEN];
    if (!auth__split(token, '.', 3, part, len) || len[0] == 0 || len[1] == 0)
        return -EBADMSG;
    /* RFC 7515 5.2: check the signature before looking at anything it covers. */
    if (b64url_decode(part[2], len[2], sig, sizeof sig) != JWT_SIG_LEN)
        return -EBADMSG;
    if (auth__hs256(key, key_len, token, len[0] + 1 + len[1], mac))
        return -EIO;
    if (CRYPTO_memcmp(sig, mac, sizeof mac) != 0)
        return -EBADMSG;

    json_t *header = auth__json_part(part[0], len[0]);
    json_t *payload = auth__json_part(part[1], len[1]);
    jwt_claims_t c;
    int rc = -EBADMSG;
    if (header && payload && auth__header_ok(header) && auth__claims_ok(payload, &c))
        rc = now_s < c.exp ? 0 : -ETIMEDOUT;
    json_decref(header);
    json_decref(payload);
    if (rc == 0 && claims)
        *claims = c;
    return rc;
}

int refresh_token_new(char token[AUTH_REFRESH_TOKEN_LEN], uint8_t hash[32])
{
    uint8_t raw[REFRESH_RAW_LEN];
    if (!token || !hash)
        return -EINVAL;
    int rc = -EIO;
    if (random_bytes(raw, sizeof raw) == 0 &&
        b64url_encode(raw, sizeof raw, token, AUTH_REFRESH_TOKEN_LEN) == REFRESH_B64_LEN)
        rc = refresh_token_hash(token, hash) == 0 ? 0 : -EIO;
    OPENSSL_cleanse(raw, sizeof raw);
    return rc;
}

int refresh_token_hash(const char *token, uint8_t hash[32])
{
    uint8_t raw[REFRESH_RAW_LEN];
    unsigned int hash_len = 0;
    if (!token || !hash || strnlen(token, REFRESH_B64_LEN + 1) != REFRESH_B64_LEN)
        return -EINVAL;
    /* Alphabet and canonical form: exactly the strings refresh_token_new writes. */
    if (b64url_decode(token, REFRESH_B64_LEN, raw, sizeof raw) != REFRESH_RAW_LEN)
        return -EINVAL;
    OPENSSL_cleanse(raw, sizeof raw);
    if (EVP_Digest(token, REFRESH_B64_LEN, hash, &hash_len, EVP_sha256(), NULL) != 1 ||
        hash_len != 32)
        return -EIO;
    return 0;
}

/* Reads exactly len bytes. Returns 0, or a negative errno (-EIO on a short file). */
static int auth__read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        got += (size_t)n;
    }
    return 0;
}

static int auth__write_all(int fd, const uint8_t *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        ssize_t n = write(fd, buf + put, len - put);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        put += (size_t)n;
    }
    return 0;
}

static int auth__secret_read(int fd, const char *path, uint8_t key[AUTH_SECRET_LEN], char *err,
                             size_t err_cap)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        snprintf(err, err_cap, "cannot stat %s: %s", path, strerror(-rc));
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_cap, "%s is not a regular file", path);
        return -EINVAL;
    }
    if (st.st_mode & 077) {
        snprintf(err, err_cap, "%s is readable by group or others (mode %04o); chmod 600 it", path,
                 (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    if (st.st_size != AUTH_SECRET_LEN) {
        snprintf(err, err_cap, "%s holds %lld bytes, expected %d", path, (long long)st.st_size,
                 AUTH_SECRET_LEN);
        return -EINVAL;
    }
    int rc = auth__read_all(fd, key, AUTH_SECRET_LEN);
    if (rc) {
        OPENSSL_cleanse(key, AUTH_SECRET_LEN);
        snprintf(err, err_cap, "cannot read %s: %s", path, strerror(-rc));
    }
    return rc;
}

/* Fills key with random bytes and writes it durably to fd; *what names the failed step. */
static int auth__secret_fill(int fd, uint8_t key[AUTH_SECRET_LEN], const char **what)
{
    *what = "generate";
    if (random_bytes(key, AUTH_SECRET_LEN))
        return -EIO;
    /* The umask may only narrow 0600, but make the mode exact anyway. */
    *what = "chmod";
    if (fchmod(fd, 0600) != 0)
        return -errno;
    *what = "write";
    int rc = auth__write_all(fd, key, AUTH_SECRET_LEN);
    if (rc)
        return rc;
    *what = "fsync";
    if (fsync(fd) != 0)
        return -errno;
    return 0;
}

/* Makes the file with O_EXCL; -EEXIST when another process got there first. */
static int auth__secret_create(const char *data_dir, const char *path, uint8_t key[AUTH_SECRET_LEN],
                               char *err, size_t err_cap)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = -errno;
        if (rc != -EEXIST)
            snprintf(err, err_cap, "cannot create %s: %s", path, strerror(-rc));
        return rc;
    }
    const char *what;
    int rc = auth__secret_fill(fd, key, &what);
    if (close(fd) != 0 && rc == 0) {
        what = "close";
        rc = -errno;
    }
    if (rc) {
        OPENSSL_cleanse(key, AUTH_SECRET_LEN);
        unlink(path); /* a partial file would be refused on the next start */
        snprintf(err, err_cap, "cannot %s %s: %s", what, path, strerror(-rc));
        return rc;
    }
    /* Make the new directory entry durable too. */
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int auth_secret_load_or_create(const char *data_dir, uint8_t key[AUTH_SECRET_LEN], char *err,
                               size_t err_cap)
{
    char scratch[1];
    if (!err || err_cap == 0) {
        err = scratch;
        err_cap = sizeof scratch;
    }
    err[0] = '\0';
    if (!data_dir || !key) {
        snprintf(err, err_cap, "no data directory for jwt.secret");
        return -EINVAL;
    }
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/jwt.secret", data_dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, err_cap, "data directory path is too long");
        return -ENAMETOOLONG;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            int rc = auth__secret_read(fd, path, key, err, err_cap);
            close(fd);
            return rc;
        }
        if (errno != ENOENT) {
            int rc = -errno;
            snprintf(err, err_cap, "cannot open %s: %s", path, strerror(-rc));
            return rc;
        }
        int rc = auth__secret_create(data_dir, path, key, err, err_cap);
        if (rc != -EEXIST)
            return rc;
    }
    snprintf(err, err_cap, "%s keeps appearing and disappearing", path);
    return -EAGAIN;
}
