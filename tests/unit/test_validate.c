/* Unit tests: field rules for user input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signaling/validate.h"

/* n copies of unit (a UTF-8 sequence) in a fresh string; the caller frees it. */
static char *repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

/* ---- email ---- */

static void test_email_accepts_good(void **state)
{
    (void)state;
    const char *good[] = {
        "a@b.co",
        "alice@example.com",
        "Alice.Smith+tag@mail.example.org",
        "x_y-z@sub-domain.example.io",
        "!#$%&'*+/=?^_`{|}~-@example.com",
        "user@123.example.com",
        "a.b.c@x-1.y-2.museum",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_null(validate_email(good[i]));
}

static void test_email_rejects_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "plain",
        "@example.com",
        "alice@",
        "alice@@example.com",
        "al@ice@example.com",
        ".alice@example.com",
        "alice.@example.com",
        "al..ice@example.com",
        "al ice@example.com",
        "alice@example",
        "alice@example.c",
        "alice@example.c0m",
        "alice@example.123",
        "alice@-example.com",
        "alice@example-.com",
        "alice@exa_mple.com",
        "alice@example..com",
        "alice@.example.com",
        "alice@example.com.",
        "alice@ex ample.com",
        "alice\t@example.com",
        "alice\n@example.com",
        "al\"ice@example.com",
        "al(ice)@example.com",
        "al,ice@example.com",
        "\xc3\xa9lise@example.com",
        "alice@\xc3\xa9xample.com",
        "alice@[127.0.0.1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = validate_email(bad[i]);
        assert_non_null(why);
        assert_string_equal(why, "must be a valid email address");
    }
    assert_non_null(validate_email(NULL));
}

static void test_email_length_limits(void **state)
{
    (void)state;
    char s[400];
    /* 64-byte local part is the most RFC 5321 allows. */
    char *local = repeat("a", 64);
    snprintf(s, sizeof s, "%s@example.com", local);
    assert_null(validate_email(s));
    snprintf(s, sizeof s, "%sa@example.com", local);
    assert_non_null(validate_email(s));
    free(local);
    /* 254 bytes in all is accepted, 255 is not: labels of 63 make up the domain. */
    char *label = repeat("b", 63);
    char *local58 = repeat("a", 58), *local59 = repeat("a", 59);
    snprintf(s, sizeof s, "%s@%s.%s.%s.com", local58, label, label, label);
    assert_int_equal(strlen(s), 254);
    assert_null(validate_email(s));
    snprintf(s, sizeof s, "%s@%s.%s.%s.com", local59, label, label, label);
    assert_int_equal(strlen(s), 255);
    assert_string_equal(validate_email(s), "must be at most 254 characters");
    free(local58);
    free(local59);
    /* A 64-byte label is too long. */
    snprintf(s, sizeof s, "a@%sb.com", label);
    assert_non_null(validate_email(s));
    free(label);
}

/* ---- username ---- */

static void test_username_accepts_good(void **state)
{
    (void)state;
    char *fifty = repeat("x", 50);
    assert_null(validate_username("bob"));
    assert_null(validate_username("Alice_99"));
    assert_null(validate_username("___"));
    assert_null(validate_username(fifty));
    free(fifty);
}

static void test_username_rejects_length(void **state)
{
    (void)state;
    char *fiftyone = repeat("x", 51);
    assert_string_equal(validate_username("ab"), "must be 3-50 letters, digits or _");
    assert_non_null(validate_username(""));
    assert_non_null(validate_username(fiftyone));
    free(fiftyone);
}

static void test_username_rejects_characters(void **state)
{
    (void)state;
    const char *bad[] = {"bob smith",
                         " bob",
                         "bob ",
                         "bob-smith",
                         "bob.smith",
                         "bob@x",
                         "bob\t",
                         "b\xc3\xb6\xc3\xb6",
                         "\xc3\xa9t\xc3\xa9",
                         "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(validate_username(bad[i]));
    assert_non_null(validate_username(NULL));
}

/* ---- password ---- */

static void test_password_length_in_code_points(void **state)
{
    (void)state;
    assert_string_equal(validate_password("1234567"), "must be at least 8 characters");
    assert_null(validate_password("12345678"));
    /* 7 two-byte letters are 14 bytes but 7 characters. */
    char *seven = repeat("\xc3\xa9", 7), *eight = repeat("\xc3\xa9", 8);
    assert_string_equal(validate_password(seven), "must be at least 8 characters");
    assert_null(validate_password(eight));
    free(seven);
    free(eight);
}

static void test_password_upper_bound(void **state)
{
    (void)state;
    char *ok = repeat("\xf0\x9f\x94\x91", 128), *long_pw = repeat("a", 129);
    assert_null(validate_password(ok));
    assert_string_equal(validate_password(long_pw), "must be at most 128 characters");
    free(ok);
    free(long_pw);
}

static void test_password_rejects_invalid_utf8(void **state)
{
    (void)state;
    assert_non_null(validate_password("abcdefgh\xff"));
    assert_non_null(validate_password("abcdefgh\xc0\xaf"));
    assert_non_null(validate_password("abcdefgh\xed\xa0\x80"));
    assert_non_null(validate_password(NULL));
}

/* ---- room name ---- */

static void test_room_name_accepts_good(void **state)
{
    (void)state;
    char *hundred = repeat("\xe6\x97\xa5", 100);
    assert_null(validate_room_name("x"));
    assert_null(validate_room_name("Weekly sync"));
    assert_null(validate_room_name("  padded  "));
    assert_null(validate_room_name("Caf\xc3\xa9 \xf0\x9f\x8e\x89"));
    assert_null(validate_room_name(hundred));
    free(hundred);
}

static void test_room_name_length_after_trimming(void **state)
{
    (void)state;
    char *hundred = repeat("a", 100), *long_name = repeat("\xe6\x97\xa5", 101);
    char padded[200];
    snprintf(padded, sizeof padded, "   %s   ", hundred);
    assert_null(validate_room_name(padded));
    assert_string_equal(validate_room_name(long_name), "must be at most 100 characters");
    assert_non_null(validate_room_name(""));
    assert_non_null(validate_room_name("    "));
    assert_non_null(
        validate_room_name("\xe3\x80\x80\xc2\xa0")); /* ideographic and no-break space */
    free(hundred);
    free(long_name);
}

static void test_room_name_rejects_control_and_bad_utf8(void **state)
{
    (void)state;
    assert_non_null(validate_room_name("line\nbreak"));
    assert_non_null(validate_room_name("tab\there"));
    assert_non_null(validate_room_name("bell\x07"));
    assert_non_null(validate_room_name("del\x7f"));
    assert_non_null(validate_room_name("c1\xc2\x85"));
    assert_non_null(validate_room_name("bad\xff"));
    assert_non_null(validate_room_name("cut\xe2\x82"));
    assert_non_null(validate_room_name(NULL));
}

/* ---- message content ---- */

static void test_message_length_in_code_points(void **state)
{
    (void)state;
    char *ok = repeat("\xe2\x82\xac", 4000), *too_long = repeat("\xe2\x82\xac", 4001);
    char *ascii_ok = repeat("a", 4000), *ascii_long = repeat("a", 4001);
    assert_null(validate_message_content(ok));
    assert_null(validate_message_content(ascii_ok));
    assert_string_equal(validate_message_content(too_long), "must be at most 4000 characters");
    assert_non_null(validate_message_content(ascii_long));
    free(ok);
    free(too_long);
    free(ascii_ok);
    free(ascii_long);
}

static void test_message_rejects_empty_and_whitespace(void **state)
{
    (void)state;
    assert_non_null(validate_message_content(""));
    assert_non_null(validate_message_content(" "));
    assert_non_null(validate_message_content(" \t\r\n "));
    assert_non_null(
        validate_message_content("\xe2\x80\x83\xe3\x80\x80")); /* em space, ideographic space */
    assert_null(validate_message_content(" hi "));
    assert_null(validate_message_content("line one\nline two"));
    assert_null(validate_message_content("."));
}

static void test_message_rejects_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(validate_message_content("hi\xff"), "must be valid UTF-8");
    assert_non_null(validate_message_content("\xc0\x80"));
    assert_non_null(validate_message_content("\xed\xb0\x80"));
    assert_non_null(validate_message_content("\xf4\x90\x80\x80"));
    assert_non_null(validate_message_content("\xe2\x82"));
    assert_non_null(validate_message_content(NULL));
}

static void test_password_strength(void **state)
{
    (void)state;
    assert_non_null(validate_password_strength("password", "alice", "alice@example.test"));
    assert_non_null(validate_password_strength("PassWord123", "alice", "alice@example.test"));
    assert_non_null(validate_password_strength("Alice_Smith", "alice_smith", "x@example.test"));
    assert_non_null(
        validate_password_strength("alice.w@example.test", "bob", "alice.w@example.test"));
    assert_non_null(validate_password_strength("alice.w1", "bob", "alice.w1@example.test"));
    assert_non_null(validate_password_strength("........", "bob", "b@example.test"));
    assert_null(validate_password_strength("plum quartz ladder", "alice", "alice@example.test"));
    assert_null(validate_password_strength("alice.w1x", "bob", "alice.w1@example.test"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_accepts_good),
        cmocka_unit_test(test_email_rejects_bad),
        cmocka_unit_test(test_email_length_limits),
        cmocka_unit_test(test_username_accepts_good),
        cmocka_unit_test(test_username_rejects_length),
        cmocka_unit_test(test_username_rejects_characters),
        cmocka_unit_test(test_password_length_in_code_points),
        cmocka_unit_test(test_password_upper_bound),
        cmocka_unit_test(test_password_rejects_invalid_utf8),
        cmocka_unit_test(test_room_name_accepts_good),
        cmocka_unit_test(test_room_name_length_after_trimming),
        cmocka_unit_test(test_room_name_rejects_control_and_bad_utf8),
        cmocka_unit_test(test_message_length_in_code_points),
        cmocka_unit_test(test_message_rejects_empty_and_whitespace),
        cmocka_unit_test(test_message_rejects_invalid_utf8),
        cmocka_unit_test(test_password_strength),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
