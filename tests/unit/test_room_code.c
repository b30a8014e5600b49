/* Unit tests: room codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "store/room_code.h"

/* ^[a-z]{4}-[a-z]{4}-[a-z]{4}$, written out so the test does not share the code's logic. */
static bool matches_shape(const char *s)
{
    if (strlen(s) != 14)
        return false;
    for (int i = 0; i < 14; i++) {
        bool want_dash = i == 4 || i == 9;
        if (want_dash != (s[i] == '-'))
            return false;
        if (!want_dash && !(s[i] >= 'a' && s[i] <= 'z'))
            return false;
    }
    return true;
}

static void test_generate_has_the_shape(void **state)
{
    (void)state;
    char code[ROOM_CODE_LEN];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(room_code_generate(code), 0);
        assert_true(matches_shape(code));
        assert_true(room_code_is_valid(code));
    }
}

static void test_generate_varies(void **state)
{
    (void)state;
    char first[ROOM_CODE_LEN], code[ROOM_CODE_LEN];
    bool all_same = true;
    assert_int_equal(room_code_generate(first), 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(room_code_generate(code), 0);
        if (strcmp(code, first) != 0)
            all_same = false;
    }
    assert_false(all_same);
}

static void test_generate_uses_every_letter(void **state)
{
    (void)state;
    char code[ROOM_CODE_LEN];
    int seen[26] = {0};
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(room_code_generate(code), 0);
        for (int k = 0; k < 14; k++)
            if (code[k] != '-')
                seen[code[k] - 'a']++;
    }
    /* 12000 letters, about 460 each; a letter below 300 would point at bias. */
    for (int l = 0; l < 26; l++)
        assert_true(seen[l] > 300);
}

static void test_is_valid_rejects_wrong_shapes(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "abcd",
        "abcd-efgh",
        "abcd-efgh-ijk",
        "abcd-efgh-ijklm",
        "abcd-efgh-ijkl-",
        " abcd-efgh-ijkl",
        "abcdefghijklmn",
        "abcd_efgh_ijkl",
        "Abcd-efgh-ijkl",
        "abcd-efgh-ijk1",
        "abcd--efg-ijkl",
        "abc-defgh-ijkl",
        "abcd-efgh-ijk\xc3\xa9",
        "abcd-efgh-ijkl\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(room_code_is_valid(bad[i]));
    assert_false(room_code_is_valid(NULL));
    assert_true(room_code_is_valid("abcd-efgh-ijkl"));
    assert_true(room_code_is_valid("zzzz-aaaa-mmmm"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_has_the_shape),
        cmocka_unit_test(test_generate_varies),
        cmocka_unit_test(test_generate_uses_every_letter),
        cmocka_unit_test(test_is_valid_rejects_wrong_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
