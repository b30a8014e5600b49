/* Unit tests: TURN REST credentials (coturn use-auth-secret). */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "signaling/turn_rest.h"

static void test_known_vector(void **state)
{
    (void)state;
    char user[64], cred[64];
    assert_int_equal(
        turn_rest_credentials("north-wind", 42, 1700000000, user, sizeof user, cred, sizeof cred),
        0);
    assert_string_equal(user, "1700000000:42");
    /* base64(HMAC-SHA1("north-wind", "1700000000:42")), computed independently. */
    assert_string_equal(cred, "6hwnrZiUDHkxY5CYq4XHhx2DHas=");
}

static void test_small_buffers_are_refused(void **state)
{
    (void)state;
    char user[64], cred[64];
    assert_int_equal(turn_rest_credentials("s", 42, 1700000000, user, 8, cred, sizeof cred),
                     -EINVAL);
    assert_int_equal(turn_rest_credentials("s", 42, 1700000000, user, sizeof user, cred, 28),
                     -EINVAL);
    assert_int_equal(turn_rest_credentials("s", 42, 1700000000, user, sizeof user, cred, 29), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_small_buffers_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
