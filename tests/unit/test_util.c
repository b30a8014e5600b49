/* Unit tests: base64url, hex, ISO 8601 time and UTF-8 length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"

/* Encodes then decodes in, checking the encoding against want. */
static void round_trip(const char *in, const char *want)
{
    char enc[64];
    uint8_t dec[64];
    size_t len = strlen(in);
    assert_int_equal(b64url_encode((const uint8_t *)in, len, enc, sizeof enc), strlen(want));
    assert_string_equal(enc, want);
    assert_int_equal(b64url_decode(enc, strlen(enc), dec, sizeof dec), len);
    assert_memory_equal(dec, in, len);
}

/* RFC 4648 10 test vectors, with the padding removed. */
static void test_b64url_rfc4648_vectors(void **state)
{
    (void)state;
    round_trip("", "");
    round_trip("f", "Zg");
    round_trip("fo", "Zm8");
    round_trip("foo", "Zm9v");
    round_trip("foob", "Zm9vYg");
    round_trip("fooba", "Zm9vYmE");
    round_trip("foobar", "Zm9vYmFy");
}

static void test_b64url_uses_url_alphabet(void **state)
{
    (void)state;
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    char enc[8];
    uint8_t dec[8];
    assert_int_equal(b64url_encode(in, sizeof in, enc, sizeof enc), 4);
    assert_string_equal(enc, "-_-_");
    assert_int_equal(b64url_decode("-_-_", 4, dec, sizeof dec), 3);
    assert_memory_equal(dec, in, sizeof in);
}

static void test_b64url_round_trips_every_length(void **state)
{
    (void)state;
    uint8_t in[64], dec[64];
    char enc[100];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof in; len++) {
        int n = b64url_encode(in, len, enc, sizeof enc);
        assert_true(n >= 0);
        assert_int_equal(b64url_decode(enc, (size_t)n, dec, sizeof dec), len);
        assert_memory_equal(dec, in, len);
    }
}

static void test_b64url_encode_refuses_small_output(void **state)
{
    (void)state;
    char enc[4];
    /* "foo" needs 4 characters plus the NUL. */
    assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, enc, sizeof enc), -1);
    assert_int_equal(b64url_encode((const uint8_t *)"fo", 2, enc, sizeof enc), 3);
}

static void test_b64url_decode_rejects_bad_characters(void **state)
{
    (void)state;
    uint8_t dec[16];
    assert_int_equal(b64url_decode("Zm9v+g", 6, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm9v/g", 6, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm8=", 4, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm 8", 4, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm\08", 4, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm\xc3\xa9", 4, dec, sizeof dec), -1);
}

static void test_b64url_decode_rejects_bad_length(void **state)
{
    (void)state;
    uint8_t dec[16];
    assert_int_equal(b64url_decode("Z", 1, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm9vY", 5, dec, sizeof dec), -1);
}

static void test_b64url_decode_rejects_noncanonical_bits(void **state)
{
    (void)state;
    uint8_t dec[16];
    /* "Zg" is 'f'; "Zh" sets unused low bits. */
    assert_int_equal(b64url_decode("Zh", 2, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm9", 3, dec, sizeof dec), -1);
}

static void test_b64url_decode_refuses_small_output(void **state)
{
    (void)state;
    uint8_t dec[5];
    assert_int_equal(b64url_decode("Zm9vYmFy", 8, dec, sizeof dec), -1);
    assert_int_equal(b64url_decode("Zm9vYmE", 7, dec, sizeof dec), 5);
}

static void test_hex_encode_is_lower_case(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x9f, 0xab, 0xff};
    char out[9];
    hex_encode(in, sizeof in, out);
    assert_string_equal(out, "009fabff");
}

static void test_random_bytes_differ(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    assert_int_equal(random_bytes(a, sizeof a), 0);
    assert_int_equal(random_bytes(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_now_unix_ms_is_after_2024(void **state)
{
    (void)state;
    assert_true(now_unix_ms() > 1704067200000LL);
}

static void test_iso8601_format(void **state)
{
    (void)state;
    char out[32];
    iso8601_from_ms(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    iso8601_from_ms(1795380480123LL, out, sizeof out);
    assert_string_equal(out, "2026-11-22T20:48:00.123Z");
    iso8601_from_ms(-1, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_iso8601_small_buffer_is_empty(void **state)
{
    (void)state;
    char out[10] = "xxxxxxxxx";
    iso8601_from_ms(0, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_utf8_length_counts_code_points(void **state)
{
    (void)state;
    assert_int_equal(utf8_length("", 0), 0);
    assert_int_equal(utf8_length("abc", 3), 3);
    /* é (2 bytes), € (3 bytes), U+1F600 (4 bytes), U+10FFFF */
    const char *s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
    assert_int_equal(utf8_length(s, strlen(s)), 4);
    /* Boundaries of each length: U+007F, U+0080, U+07FF, U+0800, U+FFFF, U+10000 */
    const char *b = "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80";
    assert_int_equal(utf8_length(b, strlen(b)), 6);
}

static void test_utf8_length_rejects_overlongs(void **state)
{
    (void)state;
    assert_int_equal(utf8_length("\xc0\xaf", 2), -1);
    assert_int_equal(utf8_length("\xc1\xbf", 2), -1);
    assert_int_equal(utf8_length("\xe0\x80\xaf", 3), -1);
    assert_int_equal(utf8_length("\xe0\x9f\xbf", 3), -1);
    assert_int_equal(utf8_length("\xf0\x80\x80\xaf", 4), -1);
    assert_int_equal(utf8_length("\xf0\x8f\xbf\xbf", 4), -1);
}

static void test_utf8_length_rejects_surrogates(void **state)
{
    (void)state;
    assert_int_equal(utf8_length("\xed\xa0\x80", 3), -1);
    assert_int_equal(utf8_length("\xed\xbf\xbf", 3), -1);
    assert_int_equal(utf8_length("\xed\x9f\xbf", 3), 1); /* U+D7FF */
}

static void test_utf8_length_rejects_above_max(void **state)
{
    (void)state;
    assert_int_equal(utf8_length("\xf4\x90\x80\x80", 4), -1);
    assert_int_equal(utf8_length("\xf5\x80\x80\x80", 4), -1);
    assert_int_equal(utf8_length("\xff", 1), -1);
}

static void test_utf8_length_rejects_truncated(void **state)
{
    (void)state;
    assert_int_equal(utf8_length("\xc3", 1), -1);
    assert_int_equal(utf8_length("\xe2\x82", 2), -1);
    assert_int_equal(utf8_length("\xf0\x9f\x98", 3), -1);
    /* A full sequence cut by len. */
    assert_int_equal(utf8_length("a\xe2\x82\xac", 3), -1);
    /* A lead byte followed by ASCII instead of a continuation. */
    assert_int_equal(utf8_length("\xe2\x82x", 3), -1);
}

static void test_utf8_length_rejects_lone_continuation(void **state)
{
    (void)state;
    assert_int_equal(utf8_length("\x80", 1), -1);
    assert_int_equal(utf8_length("a\xbf", 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_rfc4648_vectors),
        cmocka_unit_test(test_b64url_uses_url_alphabet),
        cmocka_unit_test(test_b64url_round_trips_every_length),
        cmocka_unit_test(test_b64url_encode_refuses_small_output),
        cmocka_unit_test(test_b64url_decode_rejects_bad_characters),
        cmocka_unit_test(test_b64url_decode_rejects_bad_length),
        cmocka_unit_test(test_b64url_decode_rejects_noncanonical_bits),
        cmocka_unit_test(test_b64url_decode_refuses_small_output),
        cmocka_unit_test(test_hex_encode_is_lower_case),
        cmocka_unit_test(test_random_bytes_differ),
        cmocka_unit_test(test_now_unix_ms_is_after_2024),
        cmocka_unit_test(test_iso8601_format),
        cmocka_unit_test(test_iso8601_small_buffer_is_empty),
        cmocka_unit_test(test_utf8_length_counts_code_points),
        cmocka_unit_test(test_utf8_length_rejects_overlongs),
        cmocka_unit_test(test_utf8_length_rejects_surrogates),
        cmocka_unit_test(test_utf8_length_rejects_above_max),
        cmocka_unit_test(test_utf8_length_rejects_truncated),
        cmocka_unit_test(test_utf8_length_rejects_lone_continuation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
