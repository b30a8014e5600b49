/* signaling/api_auth.c: register, login, refresh, logout, me.
 * Password hashing runs on the libuv thread pool; the loop never waits on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/signaling_internal.h"
#include "signaling/validate.h"

typedef struct auth_work {
    uv_work_t work;
    http_req_t *req;
    bool is_register;
    bool user_found;
    uint64_t throttle_key; /* login: the account's failed-login record */
    store_user_t user;
    char email[256];
    char username[64];
    char password[520]; /* 128 code points of up to 4 bytes, NUL */
    char hash[256];
    char invite[64]; /* the claimed invite code, or "" */
    int rc;
} auth_work_t;

json_t *api_user_json(const store_user_t *u)
{
    return json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)u->id, "email", u->email, "username",
                     u->username, "createdAt", api_time_json(u->created_at_ms));
}

/* Issues an access token and, unless refresh_token is given, a new refresh token
 * in a new family; replies {user, accessToken, refreshToken, expiresIn}. */
static void reply_session(http_req_t *req, const store_user_t *u, int status,
                          const char *refresh_token)
{
    signaling_t *sig = req->sig;
    int64_t now_ms = now_unix_ms();
    char fresh[AUTH_REFRESH_TOKEN_LEN];
    if (!refresh_token) {
        uint8_t hash[32], family_raw[16];
        char family[33];
        if (refresh_token_new(fresh, hash) || random_bytes(family_raw, sizeof family_raw)) {
            http_reply_error(req, 500, "internal", NULL, "could not create a token");
            return;
        }
        hex_encode(family_raw, sizeof family_raw, family);
        int rc = store_refresh_insert(sig->store, u->id, hash, family, now_ms,
                                      now_ms + (int64_t)AUTH_REFRESH_TTL_S * 1000);
        if (rc) {
            api_reply_store_error(req, rc);
            return;
        }
        refresh_token = fresh;
    }
    char access[1024];
    if (jwt_sign(sig->secret, sizeof sig->secret, u->id, now_ms / 1000, AUTH_ACCESS_TTL_S, access,
                 sizeof access, NULL)) {
        http_reply_error(req, 500, "internal", NULL, "could not sign a token");
        return;
    }
    http_reply_json(req, status,
                    json_pack("{s:o,s:s,s:s,s:i}", "user", api_user_json(u), "accessToken", access,
                              "refreshToken", refresh_token, "expiresIn", AUTH_ACCESS_TTL_S));
}

static void auth_work_run(uv_work_t *w)
{
    auth_work_t *aw = w->data;
    if (aw->is_register) {
        aw->rc = password_hash(aw->password, aw->hash, sizeof aw->hash);
    } else if (aw->user_found) {
        aw->rc = password_verify(aw->password, aw->user.password_hash);
    } else {
        /* Same cost for an unknown email as for a wrong password. */
        password_hash(aw->password, aw->hash, sizeof aw->hash);
        aw->rc = 0;
    }
}

static void auth_work_done(uv_work_t *w, int status)
{
    auth_work_t *aw = w->data;
    http_req_t *req = aw->req;
    OPENSSL_cleanse(aw->password, sizeof aw->password);
    if (http_req_orphaned(req) || status == UV_ECANCELED) {
        if (aw->invite[0])
            store_invite_release(req->sig->store, aw->invite);
        http_req_resume(req);
        free(aw);
        return;
    }
    if (aw->is_register) {
        const char *conflict = NULL;
        store_user_t u;
        int rc = aw->rc ? aw->rc
                        : store_user_create(req->sig->store, aw->email, aw->username, aw->hash,
                                            now_unix_ms(), &u, &conflict);
        if (rc == -EEXIST)
            http_reply_error(req, 409, "conflict", conflict ? conflict : "email",
                             "that %s is already registered", conflict ? conflict : "email");
        else if (rc)
            api_reply_store_error(req, rc);
        if (rc && aw->invite[0])
            store_invite_release(req->sig->store, aw->invite);
        else if (aw->invite[0])
            store_invite_bind(req->sig->store, aw->invite, u.id);
        if (!rc) {
            log_info("auth", "registered user %lld (%s)", (long long)u.id, u.username);
            reply_session(req, &u, 201, NULL);
        }
    } else if (aw->user_found && aw->rc == 1) {
        login_throttle_success(&req->sig->login_throttle, aw->throttle_key);
        reply_session(req, &aw->user, 200, NULL);
    } else {
        login_throttle_failed(&req->sig->login_throttle, aw->throttle_key, uv_now(req->sig->loop));
        if (aw->user_found)
            log_warn("auth", "failed login for user %lld from %s", (long long)aw->user.id,
                     req->peer_ip);
        else
            log_warn("auth", "failed login for an unknown email from %s", req->peer_ip);
        http_reply_error(req, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    http_req_resume(req);
    free(aw);
}

static void auth_queue(http_req_t *req, auth_work_t *aw)
{
    aw->req = req;
    aw->work.data = aw;
    if (uv_queue_work(req->sig->loop, &aw->work, auth_work_run, auth_work_done)) {
        OPENSSL_cleanse(aw->password, sizeof aw->password);
        free(aw);
        http_reply_error(req, 500, "internal", NULL, "could not schedule the request");
        return;
    }
    http_req_defer(req);
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* The node's registration mode (sfu admin registration): open, closed, or
 * invite (an unused code from sfu admin invites create, claimed into aw).
 * false after replying 403. */
static bool registration_allowed(http_req_t *req, json_t *body, auth_work_t *aw)
{
    char mode[16];
    store_registration_mode(req->sig->store, mode);
    if (!strcmp(mode, "closed")) {
        http_reply_error(req, 403, "registration_closed", NULL,
                         "this node does not take new accounts");
        return false;
    }
    if (strcmp(mode, "invite"))
        return true;
    json_t *inv = json_object_get(body, "invite");
    const char *code = json_is_string(inv) ? json_string_value(inv) : "";
    if (strlen(code) >= sizeof aw->invite ||
        store_invite_claim(req->sig->store, code, now_unix_ms())) {
        http_reply_error(req, 403, "invite_required", "invite",
                         "this node takes new accounts by invitation: an unused invite code");
        return false;
    }
    snprintf(aw->invite, sizeof aw->invite, "%s", code);
    return true;
}

void api_auth_register(http_req_t *req)
{
    json_t *body = http_req_json(req);
    if (!body)
        return;
    const char *email, *username, *password, *why;
    if (!api_field_string(req, body, "email", true, &email) ||
        !api_field_string(req, body, "username", true, &username) ||
        !api_field_string(req, body, "password", true, &password))
        goto out;
    if ((why = validate_email(email))) {
        http_reply_error(req, 400, "invalid_field", "email", "email %s", why);
        goto out;
    }
    if ((why = validate_username(username))) {
        http_reply_error(req, 400, "invalid_field", "username", "username %s", why);
        goto out;
    }
    if ((why = validate_password(password)) ||
        (why = validate_password_strength(password, username, email))) {
        http_reply_error(req, 400, "invalid_field", "password", "password %s", why);
        goto out;
    }
    store_user_t existing;
    if (store_user_by_email(req->sig->store, email, &existing) == 0) {
        http_reply_error(req, 409, "conflict", "email", "that email is already registered");
        goto out;
    }
    auth_work_t *aw = calloc(1, sizeof *aw);
    if (!aw || !copy_field(aw->email, sizeof aw->email, email) ||
        !copy_field(aw->username, sizeof aw->username, username) ||
        !copy_field(aw->password, sizeof aw->password, password)) {
        free(aw);
        http_reply_error(req, 500, "internal", NULL, "out of memory");
        goto out;
    }
    aw->is_register = true;
    if (!registration_allowed(req, body, aw)) {
        free(aw);
        goto out;
    }
    auth_queue(req, aw);
out:
    json_decref(body);
}

void api_auth_login(http_req_t *req)
{
    json_t *body = http_req_json(req);
    if (!body)
        return;
    const char *email, *password;
    if (!api_field_string(req, body, "email", true, &email) ||
        !api_field_string(req, body, "password", true, &password))
        goto out;
    /* Per account, before any hash: many addresses against one account
     * cannot keep the threadpool busy in scrypt. */
    uint64_t key = login_throttle_key(email), retry_ms = 0;
    if (!login_throttle_begin(&req->sig->login_throttle, key, uv_now(req->sig->loop), &retry_ms)) {
        snprintf(req->extra_header, sizeof req->extra_header, "%llu",
                 (unsigned long long)((retry_ms + 999) / 1000));
        log_warn("auth", "login throttled from %s: too many failures for that account",
                 req->peer_ip);
        json_t *err = json_pack("{s:s,s:s,s:I}", "code", "login_throttled", "message",
                                "too many failed logins for this account; retry later",
                                "retryAfter", (json_int_t)retry_ms);
        http_reply_json(req, 429, json_pack("{s:o}", "error", err));
        goto out;
    }
    auth_work_t *aw = calloc(1, sizeof *aw);
    if (!aw) {
        http_reply_error(req, 500, "internal", NULL, "out of memory");
        goto out;
    }
    aw->throttle_key = key;
    if (!copy_field(aw->password, sizeof aw->password, password)) {
        free(aw);
        http_reply_error(req, 401, "invalid_credentials", NULL, "invalid email or password");
        goto out;
    }
    int rc = store_user_by_email(req->sig->store, email, &aw->user);
    if (rc && rc != -ENOENT) {
        free(aw);
        api_reply_store_error(req, rc);
        goto out;
    }
    aw->user_found = rc == 0;
    auth_queue(req, aw);
out:
    json_decref(body);
}

void api_auth_refresh(http_req_t *req)
{
    json_t *body = http_req_json(req);
    if (!body)
        return;
    const char *token;
    uint8_t old_hash[32], new_hash[32];
    char fresh[AUTH_REFRESH_TOKEN_LEN];
    if (!api_field_string(req, body, "refreshToken", true, &token))
        goto out;
    if (refresh_token_hash(token, old_hash)) {
        http_reply_error(req, 401, "invalid_refresh_token", NULL,
                         "refresh token is invalid or expired");
        goto out;
    }
    if (refresh_token_new(fresh, new_hash)) {
        http_reply_error(req, 500, "internal", NULL, "could not create a token");
        goto out;
    }
    int64_t now_ms = now_unix_ms(), user_id = 0;
    int rc = store_refresh_rotate(req->sig->store, old_hash, new_hash, now_ms,
                                  now_ms + (int64_t)AUTH_REFRESH_TTL_S * 1000, &user_id);
    store_user_t u;
    if (rc == -EKEYREVOKED) {
        log_warn("auth", "refresh token reuse for user %lld: its sessions were revoked",
                 (long long)user_id);
        http_reply_error(req, 401, "refresh_token_reused", NULL,
                         "refresh token was already used; the session was revoked, sign in again");
    } else if (rc == -ENOENT || rc == -ETIMEDOUT) {
        http_reply_error(req, 401, "invalid_refresh_token", NULL,
                         "refresh token is invalid or expired");
    } else if (rc) {
        api_reply_store_error(req, rc);
    } else if ((rc = store_user_by_id(req->sig->store, user_id, &u))) {
        http_reply_error(req, 401, "invalid_refresh_token", NULL, "the account no longer exists");
    } else {
        reply_session(req, &u, 200, fresh);
    }
out:
    json_decref(body);
}

void api_auth_logout(http_req_t *req)
{
    json_t *body = NULL;
    const char *token = NULL;
    if (req->body_len) {
        if (!(body = http_req_json(req)))
            return;
        if (!api_field_string(req, body, "refreshToken", false, &token))
            goto out;
    }
    int64_t now_ms = now_unix_ms();
    int rc = store_access_revoke(req->sig->store, req->token_jti, req->token_exp * 1000);
    uint8_t hash[32];
    if (!rc && token && refresh_token_hash(token, hash) == 0) {
        rc = store_refresh_revoke_family(req->sig->store, hash, req->user.id, now_ms);
        if (rc == -ENOENT)
            rc = 0; /* unknown or not this user's: nothing to revoke */
    }
    if (rc)
        api_reply_store_error(req, rc);
    else
        http_reply_json(req, 204, NULL);
out:
    json_decref(body);
}

void api_auth_me(http_req_t *req)
{
    http_reply_json(req, 200, json_pack("{s:o}", "user", api_user_json(&req->user)));
}

int api_verify_token(signaling_t *sig, const char *token, store_user_t *user, jwt_claims_t *claims,
                     const char **code, const char **message)
{
    int64_t now_ms = now_unix_ms();
    int rc = jwt_verify(sig->secret, sizeof sig->secret, token, now_ms / 1000, claims);
    if (rc == -ETIMEDOUT) {
        *code = "token_expired";
        *message = "access token expired; get a new one from /api/auth/refresh";
        return rc;
    }
    *code = "unauthorized";
    if (rc) {
        *message = "invalid access token";
        return rc;
    }
    rc = store_access_is_revoked(sig->store, claims->jti, now_ms);
    if (rc) {
        *code = rc < 0 ? "internal" : "unauthorized";
        *message = rc < 0 ? "the store failed; try again" : "access token was revoked (logged out)";
        return rc < 0 ? rc : -EACCES;
    }
    rc = store_user_by_id(sig->store, claims->sub, user);
    if (rc) {
        *code = rc == -ENOENT ? "unauthorized" : "internal";
        *message = rc == -ENOENT ? "the account no longer exists" : "the store failed; try again";
        return rc;
    }
    return 0;
}

bool api_authenticate(http_req_t *req)
{
    const char *h = req->authorization;
    if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        http_reply_error(req, 401, "unauthorized", NULL,
                         "send an access token as Authorization: Bearer <token>");
        return false;
    }
    jwt_claims_t claims;
    const char *code, *message;
    if (api_verify_token(req->sig, h + 7, &req->user, &claims, &code, &message)) {
        http_reply_error(req, strcmp(code, "internal") ? 401 : 500, code, NULL, "%s", message);
        return false;
    }
    snprintf(req->token_jti, sizeof req->token_jti, "%s", claims.jti);
    req->token_exp = claims.exp;
    return true;
}
