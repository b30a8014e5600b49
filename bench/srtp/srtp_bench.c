/* bench/srtp/srtp_bench.c: what one srtp_session_protect_rtp costs with the
 * libsrtp2 this build links, per profile and packet size (audio 160 B, video
 * 1,200 B). build/srtp-bench [--packets N] [--json]. Each figure is the best of
 * five rounds of N packets (default 200,000), in microseconds of this thread's
 * CPU time per packet, so other load on the machine does not count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtls/srtp_session.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of five rounds of `packets` protects of `size`-byte RTP packets. */
static double protect_us(srtp_session_profile_t profile, size_t size, long packets)
{
    uint8_t key[SRTP_SESSION_MAX_KEY_LEN];
    size_t key_len = srtp_session_key_len(profile);
    for (size_t i = 0; i < key_len; i++)
        key[i] = (uint8_t)(i * 37 + 11);
    srtp_session_t *s = srtp_session_new(profile, key, key, key_len);
    if (!s)
        return -1;
    static uint8_t buf[1500 + SRTP_SESSION_TRAILER_LEN];
    double best = 1e9;
    uint32_t seq = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now_s();
        for (long n = 0; n < packets; n++, seq++) {
            memset(buf, 0xab, size);
            buf[0] = 0x80, buf[1] = 111;
            buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
            buf[8] = 0x12, buf[9] = 0x34, buf[10] = 0x56, buf[11] = 0x78;
            size_t len = size;
            if (srtp_session_protect_rtp(s, buf, &len, sizeof buf) != 0) {
                srtp_session_free(s);
                return -1;
            }
        }
        double us = (now_s() - t0) * 1e6 / (double)packets;
        if (us < best)
            best = us;
    }
    srtp_session_free(s);
    return best;
}

int main(int argc, char **argv)
{
    long packets = 200000;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--packets") && i + 1 < argc) {
            packets = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "usage: %s [--packets N] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (packets < 1 || packets > 100000000) {
        fprintf(stderr, "--packets: 1 to 100,000,000\n");
        return 2;
    }
    static const srtp_session_profile_t profiles[] = {SRTP_SESSION_AES128_CM_SHA1_80,
                                                      SRTP_SESSION_AEAD_AES_128_GCM};
    static const size_t sizes[] = {160, 1200};
    if (json)
        printf("{\"crypto\":\"%s\",\"packets\":%ld,\"protect_us\":{", srtp_session_crypto_name(),
               packets);
    else
        printf("libsrtp2 crypto: %s\n%-26s %8s %12s\n", srtp_session_crypto_name(), "profile",
               "bytes", "us/packet");
    int first = 1;
    for (size_t p = 0; p < 2; p++) {
        for (size_t z = 0; z < 2; z++) {
            double us = protect_us(profiles[p], sizes[z], packets);
            if (us < 0) {
                fprintf(stderr, "srtp-bench: protect failed\n");
                return 1;
            }
            if (json)
                printf("%s\"%s/%zu\":%.3f", first ? "" : ",",
                       srtp_session_profile_name(profiles[p]), sizes[z], us);
            else
                printf("%-26s %8zu %12.3f\n", srtp_session_profile_name(profiles[p]), sizes[z], us);
            first = 0;
        }
    }
    if (json)
        printf("}}\n");
    return 0;
}
