/* Unit tests: command-line and environment configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfu/config.h"

static config_result_t parse(sfu_config_t *cfg, char *err, int argc, char **argv)
{
    return config_parse(cfg, argc, argv, err, 256);
}

static void test_defaults_are_loopback(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    char *argv[] = {"sfu"};
    assert_int_equal(parse(&cfg, err, 1, argv), CONFIG_RUN);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.rtc_port, 40000);
    assert_true(cfg.workers >= 1);
    assert_string_equal(cfg.data_dir, "./data");
    assert_string_equal(cfg.announce_ip, "127.0.0.1");
    assert_int_equal(cfg.log_level, LOG_INFO);
}

static void test_flags_override_environment(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    setenv("SFU_LISTEN", "127.0.0.1:9000", 1);
    setenv("SFU_WORKERS", "3", 1);
    char *argv[] = {"sfu", "--listen", "[::1]:9001", "--log-level=debug"};
    assert_int_equal(parse(&cfg, err, 4, argv), CONFIG_RUN);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 9001);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    unsetenv("SFU_LISTEN");
    unsetenv("SFU_WORKERS");
}

static void test_bad_values_name_the_flag(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    char *bad_port[] = {"sfu", "--rtc-port", "70000"};
    assert_int_equal(parse(&cfg, err, 3, bad_port), CONFIG_ERROR);
    assert_non_null(strstr(err, "--rtc-port"));
    char *bad_listen[] = {"sfu", "--listen", "localhost"};
    assert_int_equal(parse(&cfg, err, 3, bad_listen), CONFIG_ERROR);
    assert_non_null(strstr(err, "--listen"));
    char *unknown[] = {"sfu", "--frobnicate"};
    assert_int_equal(parse(&cfg, err, 2, unknown), CONFIG_ERROR);
    assert_non_null(strstr(err, "--frobnicate"));
    char *missing[] = {"sfu", "--data"};
    assert_int_equal(parse(&cfg, err, 2, missing), CONFIG_ERROR);
    assert_non_null(strstr(err, "--data"));
}

static void test_wildcard_bind_needs_announce_ip(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    char *v4[] = {"sfu", "--rtc-bind", "0.0.0.0"};
    assert_int_equal(parse(&cfg, err, 3, v4), CONFIG_ERROR);
    assert_non_null(strstr(err, "--announce-ip"));
    char *v6[] = {"sfu", "--rtc-bind", "::"};
    assert_int_equal(parse(&cfg, err, 3, v6), CONFIG_ERROR);
    assert_non_null(strstr(err, "--announce-ip"));
    char *wild_announce[] = {"sfu", "--announce-ip", "::"};
    assert_int_equal(parse(&cfg, err, 3, wild_announce), CONFIG_ERROR);
    assert_non_null(strstr(err, "--announce-ip"));
    char *ok[] = {"sfu", "--rtc-bind", "0.0.0.0", "--announce-ip", "192.0.2.7"};
    assert_int_equal(parse(&cfg, err, 5, ok), CONFIG_RUN);
    assert_string_equal(cfg.announce_ip, "192.0.2.7");
}

static void test_announce_ip_repeats(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    char *two[] = {"sfu",       "--rtc-bind",    "::",         "--announce-ip",
                   "192.0.2.7", "--announce-ip", "2001:db8::7"};
    assert_int_equal(parse(&cfg, err, 7, two), CONFIG_RUN);
    assert_string_equal(cfg.announce_ip, "192.0.2.7,2001:db8::7");
    /* The environment lists them; a flag replaces the list. */
    setenv("SFU_ANNOUNCE_IP", "192.0.2.8,10.0.0.8", 1);
    char *none[] = {"sfu"};
    assert_int_equal(parse(&cfg, err, 1, none), CONFIG_RUN);
    assert_string_equal(cfg.announce_ip, "192.0.2.8,10.0.0.8");
    char *flag[] = {"sfu", "--announce-ip", "192.0.2.9"};
    assert_int_equal(parse(&cfg, err, 3, flag), CONFIG_RUN);
    assert_string_equal(cfg.announce_ip, "192.0.2.9");
    setenv("SFU_ANNOUNCE_IP", "192.0.2.8,not-an-ip", 1);
    assert_int_equal(parse(&cfg, err, 1, none), CONFIG_ERROR);
    assert_non_null(strstr(err, "not-an-ip"));
    unsetenv("SFU_ANNOUNCE_IP");
    char *wild[] = {"sfu", "--announce-ip", "192.0.2.7", "--announce-ip", "::"};
    assert_int_equal(parse(&cfg, err, 5, wild), CONFIG_ERROR);
    char *many[] = {"sfu",      "--announce-ip", "10.0.0.1", "--announce-ip",
                    "10.0.0.2", "--announce-ip", "10.0.0.3", "--announce-ip",
                    "10.0.0.4", "--announce-ip", "10.0.0.5", "--announce-ip",
                    "10.0.0.6", "--announce-ip", "10.0.0.7", "--announce-ip",
                    "10.0.0.8", "--announce-ip", "10.0.0.9"};
    assert_int_equal(parse(&cfg, err, 19, many), CONFIG_ERROR);
    assert_non_null(strstr(err, "at most 8"));
}

static void test_bad_environment_names_the_variable(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    setenv("SFU_LOG_LEVEL", "loud", 1);
    char *argv[] = {"sfu"};
    assert_int_equal(parse(&cfg, err, 1, argv), CONFIG_ERROR);
    assert_non_null(strstr(err, "SFU_LOG_LEVEL"));
    unsetenv("SFU_LOG_LEVEL");
}

static void test_tls_needs_both_files(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    char *argv[] = {"sfu", "--tls-cert", "/tmp/cert.pem"};
    assert_int_equal(parse(&cfg, err, 3, argv), CONFIG_ERROR);
    assert_non_null(strstr(err, "--tls-key"));
}

static void test_worker_ports_must_fit(void **state)
{
    (void)state;
    sfu_config_t cfg;
    char err[256];
    char *argv[] = {"sfu", "--rtc-port", "65535", "--workers", "2"};
    assert_int_equal(parse(&cfg, err, 5, argv), CONFIG_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_loopback),
        cmocka_unit_test(test_flags_override_environment),
        cmocka_unit_test(test_bad_values_name_the_flag),
        cmocka_unit_test(test_wildcard_bind_needs_announce_ip),
        cmocka_unit_test(test_announce_ip_repeats),
        cmocka_unit_test(test_bad_environment_names_the_variable),
        cmocka_unit_test(test_tls_needs_both_files),
        cmocka_unit_test(test_worker_ports_must_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
