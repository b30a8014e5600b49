/* signaling/validate.c: field rules for user input; lengths are counted in code points. */
#include "signaling/validate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

#define EMAIL_MAX_LEN       254 /* RFC 5321 4.5.3.1.3, less the angle brackets */
#define EMAIL_LOCAL_MAX_LEN 64  /* RFC 5321 4.5.3.1.1 */
#define EMAIL_LABEL_MAX_LEN 63  /* RFC 1035 2.3.4 */
#define USERNAME_MIN_LEN    3
#define USERNAME_MAX_LEN    50
#define PASSWORD_MIN_LEN    8
#define PASSWORD_MAX_LEN    128
#define ROOM_NAME_MAX_LEN   100
#define MESSAGE_MAX_LEN     4000

/* Decodes the code point at *p and advances; the bytes are valid UTF-8 already. */
static uint32_t validate__next(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t cp;
    size_t n;
    if (s[0] < 0x80) {
        cp = s[0];
        n = 1;
    } else if (s[0] < 0xe0) {
        cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
        n = 2;
    } else if (s[0] < 0xf0) {
        cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        n = 3;
    } else {
        cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
             (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
        n = 4;
    }
    *p = s + n;
    return cp;
}

/* Unicode White_Space property. */
static bool validate__is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

/* General category Cc: C0 controls, DEL and C1 controls. */
static bool validate__is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static bool validate__is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 3.2.3 atext, plus '.' handled by the caller. */
static bool validate__is_atext(char c)
{
    return validate__is_alnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static bool validate__email_local(const char *s, size_t len)
{
    if (len == 0 || len > EMAIL_LOCAL_MAX_LEN || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!validate__is_atext(s[i])) {
            return false;
        }
    }
    return true;
}

/* Labels of letters, digits and '-' joined by '.', at least two, the last all letters. */
static bool validate__email_domain(const char *s, size_t len)
{
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!validate__is_alnum(s[i]) && s[i] != '-')
                return false;
            continue;
        }
        size_t label_len = i - start;
        if (label_len == 0 || label_len > EMAIL_LABEL_MAX_LEN || s[start] == '-' || s[i - 1] == '-')
            return false;
        labels++;
        if (i == len) {
            if (label_len < 2)
                return false;
            for (size_t k = start; k < i; k++)
                if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')))
                    return false;
        }
        start = i + 1;
    }
    return labels >= 2;
}

const char *validate_email(const char *s)
{
    if (!s)
        return "is required";
    size_t len = strnlen(s, EMAIL_MAX_LEN + 1);
    if (len > EMAIL_MAX_LEN)
        return "must be at most 254 characters";
    const char *at = memchr(s, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return "must be a valid email address";
    size_t local_len = (size_t)(at - s);
    if (!validate__email_local(s, local_len) ||
        !validate__email_domain(at + 1, len - local_len - 1))
        return "must be a valid email address";
    return NULL;
}

const char *validate_username(const char *s)
{
    if (!s)
        return "is required";
    size_t len = strnlen(s, USERNAME_MAX_LEN + 1);
    if (len < USERNAME_MIN_LEN || len > USERNAME_MAX_LEN)
        return "must be 3-50 letters, digits or _";
    for (size_t i = 0; i < len; i++)
        if (!validate__is_alnum(s[i]) && s[i] != '_')
            return "must be 3-50 letters, digits or _";
    return NULL;
}

const char *validate_password(const char *s)
{
    if (!s)
        return "is required";
    long n = utf8_length(s, strlen(s));
    if (n < 0)
        return "must be valid UTF-8";
    if (n < PASSWORD_MIN_LEN)
        return "must be at least 8 characters";
    if (n > PASSWORD_MAX_LEN)
        return "must be at most 128 characters";
    return NULL;
}

/* The most used passwords of eight characters or more (leaked-list
 * frequency order); compared without regard to ASCII case. */
static const char *const common_passwords[] = {
    "password",  "12345678",  "123456789",     "1234567890", "qwertyuiop",  "11111111",
    "00000000",  "87654321",  "password1",     "password12", "password123", "passw0rd",
    "iloveyou",  "sunshine",  "princess",      "football",   "baseball",    "superman",
    "trustno1",  "welcome1",  "qwerty123",     "1q2w3e4r",   "1qaz2wsx",    "zaq12wsx",
    "letmein1",  "abc12345",  "12341234",      "qwertyui",   "asdfghjk",    "asdfasdf",
    "changeme",  "computer",  "michelle",      "jennifer",   "starwars",    "whatever",
    "dragon12",  "internet",  "administrator", "admin123",   "welcome123",  "monkey12",
    "123123123", "123qweasd", "q1w2e3r4",      "1234qwer",   "qwer1234",    "aa123456",
};

const char *validate_password_strength(const char *password, const char *username,
                                       const char *email)
{
    size_t n = strlen(password);
    for (size_t i = 0; i < sizeof common_passwords / sizeof common_passwords[0]; i++)
        if (!strcasecmp(password, common_passwords[i]))
            return "is too common; choose another";
    if (username && !strcasecmp(password, username))
        return "must not be the username";
    if (email) {
        size_t local = strcspn(email, "@");
        if (!strcasecmp(password, email) || (local == n && !strncasecmp(password, email, n)))
            return "must not be the email address";
    }
    bool one_char = true;
    for (size_t i = 1; i < n; i++)
        one_char &= password[i] == password[0];
    if (one_char)
        return "must not be one character repeated";
    return NULL;
}

const char *validate_room_name(const char *s)
{
    if (!s)
        return "is required";
    size_t len = strlen(s);
    if (utf8_length(s, len) < 0)
        return "must be valid UTF-8";
    /* Count the code points between the first and the last non-space. */
    long count = 0, count_to_last = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        uint32_t cp = validate__next(&p);
        if (validate__is_control(cp))
            return "must not contain control characters";
        if (validate__is_space(cp) && count == 0)
            continue;
        count++;
        if (!validate__is_space(cp))
            count_to_last = count;
    }
    if (count_to_last == 0)
        return "must not be empty";
    if (count_to_last > ROOM_NAME_MAX_LEN)
        return "must be at most 100 characters";
    return NULL;
}

const char *validate_message_content(const char *s)
{
    if (!s)
        return "is required";
    size_t len = strlen(s);
    long n = utf8_length(s, len);
    if (n < 0)
        return "must be valid UTF-8";
    if (n == 0)
        return "must not be empty";
    if (n > MESSAGE_MAX_LEN)
        return "must be at most 4000 characters";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end)
        if (!validate__is_space(validate__next(&p)))
            return NULL;
    return "must not be only whitespace";
}
