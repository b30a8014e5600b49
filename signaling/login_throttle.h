/* signaling/login_throttle.h: failed logins per account, with backoff. An
 * account (keyed by its email, known or not) gets LOGIN_FREE_FAILURES
 * attempts; each attempt after that must wait twice as long as the one
 * before, up to LOGIN_MAX_BACKOFF_MS. A successful login clears it. An
 * attempt counts as failed from the moment it starts, so attempts in flight
 * are counted too. Checked before any password hash is computed. */
#ifndef SFU_SIGNALING_LOGIN_THROTTLE_H
#define SFU_SIGNALING_LOGIN_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGIN_FREE_FAILURES  5
#define LOGIN_MAX_BACKOFF_MS (5 * 60 * 1000)
#define LOGIN_FORGET_MS      (60 * 60 * 1000) /* an account idle this long starts afresh */

typedef struct login_attempts {
    uint64_t key; /* 0 = empty slot */
    uint32_t failures;
    uint64_t last_ms; /* when the last attempt started, or failed */
} login_attempts_t;

typedef struct login_throttle {
    login_attempts_t *slots;
    size_t cap, used;
} login_throttle_t;

void login_throttle_init(login_throttle_t *lt);
void login_throttle_free(login_throttle_t *lt);
/* The key of an account's email (case-insensitive), never 0. */
uint64_t login_throttle_key(const char *email);
/* Starts an attempt: true (and counted as a failure until login_throttle_success),
 * or false with *retry_after_ms until the next attempt is allowed. Fails open
 * when out of memory. */
bool login_throttle_begin(login_throttle_t *lt, uint64_t key, uint64_t now_ms,
                          uint64_t *retry_after_ms);
/* The password was wrong: the wait for the next attempt runs from now. */
void login_throttle_failed(login_throttle_t *lt, uint64_t key, uint64_t now_ms);
/* The password was right: the account's failures are forgotten. */
void login_throttle_success(login_throttle_t *lt, uint64_t key);

#endif
