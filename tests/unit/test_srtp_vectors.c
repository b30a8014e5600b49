/* tests/unit/test_srtp_vectors.c: the linked libsrtp2 against published vectors,
 * through dtls/srtp_session. Master keys go in; what comes out is checked against
 * an SRTP transform computed here with OpenSSL from the session keys the RFCs
 * print (RFC 3711 B.3 for AES_CM_128_HMAC_SHA1_80, RFC 7714 / RFC 9335 A.2 for
 * AEAD_AES_128_GCM), and against the known ciphertext of libsrtp's own suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dtls/srtp_session.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        assert_true(n < cap);
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* RFC 3711 B.3: master key and salt, and the session keys they derive. */
static const char CM_MASTER[] = "E1F97A0D3E018BE0D64FA32C06DE4139"
                                "0EC675AD498AFEEBB6960B3AABE6";
static const char CM_SESSION_KEY[] = "C61E7A93744F39EE10734AFE3FF7A087";
static const char CM_SESSION_SALT[] = "30CBBC08863D8C85D49DB34A9AE1";
static const char CM_AUTH_KEY[] = "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4";

/* RFC 7714 (key derivation with a 96-bit salt, printed again in RFC 9335 A.2). */
static const char GCM_MASTER[] = "000102030405060708090a0b0c0d0e0f"
                                 "a0a1a2a3a4a5a6a7a8a9aaab";
static const char GCM_SESSION_KEY[] = "077c6143cb221bc355ff23d5f984a16e";
static const char GCM_SESSION_SALT[] = "9af3e95364ebac9c99c5a7c4";

/* The RTP packet of libsrtp's srtp_validate: seq 0x1234, SSRC 0xcafebabe. */
static const char PLAIN_RTP[] = "800f1234decafbadcafebabe"
                                "abababababababababababababababab";
/* Its SRTP form under the RFC 3711 B.3 master key (libsrtp's reference). */
static const char CM_KNOWN_SRTP[] = "800f1234decafbadcafebabe"
                                    "4e55dc4ce79978d88ca4d215949d2402"
                                    "b78d6acc99ea179b8dbb";

/* RFC 3711 4.1.1 / 4.2: AES-CM with IV = salt ^ SSRC<<64 ^ index<<16, then
 * HMAC-SHA1 over the packet and the ROC, 80 bits of it appended. */
static size_t reference_cm(const uint8_t *pkt, size_t len, uint32_t roc, uint8_t *out)
{
    uint8_t key[16], salt[14], auth[20], iv[16] = {0};
    unhex(CM_SESSION_KEY, key, sizeof key);
    unhex(CM_SESSION_SALT, salt, sizeof salt);
    unhex(CM_AUTH_KEY, auth, sizeof auth);
    memcpy(iv, salt, sizeof salt);
    for (int i = 0; i < 4; i++)
        iv[4 + i] ^= pkt[8 + i];
    uint8_t index[6] = {roc >> 24, roc >> 16, roc >> 8, roc, pkt[2], pkt[3]};
    for (int i = 0; i < 6; i++)
        iv[8 + i] ^= index[i];
    memcpy(out, pkt, 12);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out + 12, &n, pkt + 12, (int)len - 12), 1);
    EVP_CIPHER_CTX_free(c);
    uint8_t mac_in[1600], mac[20];
    unsigned mac_len = 0;
    memcpy(mac_in, out, len);
    uint8_t roc_be[4] = {roc >> 24, roc >> 16, roc >> 8, roc};
    memcpy(mac_in + len, roc_be, 4);
    HMAC(EVP_sha1(), auth, sizeof auth, mac_in, len + 4, mac, &mac_len);
    memcpy(out + len, mac, 10);
    return len + 10;
}

/* RFC 7714 8.1: IV = (00 00 SSRC ROC SEQ) ^ salt; the header is the AAD; 16-byte tag. */
static size_t reference_gcm(const uint8_t *pkt, size_t len, uint32_t roc, uint8_t *out)
{
    uint8_t key[16], salt[12], iv[12] = {0};
    unhex(GCM_SESSION_KEY, key, sizeof key);
    unhex(GCM_SESSION_SALT, salt, sizeof salt);
    memcpy(iv + 2, pkt + 8, 4);
    uint8_t roc_be[4] = {roc >> 24, roc >> 16, roc >> 8, roc};
    memcpy(iv + 6, roc_be, 4);
    memcpy(iv + 10, pkt + 2, 2);
    for (int i = 0; i < 12; i++)
        iv[i] ^= salt[i];
    memcpy(out, pkt, 12);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(c, NULL, NULL, key, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, pkt, 12), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out + 12, &n, pkt + 12, (int)len - 12), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + 12 + n, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len), 1);
    EVP_CIPHER_CTX_free(c);
    return len + 16;
}

typedef size_t (*reference_fn)(const uint8_t *pkt, size_t len, uint32_t roc, uint8_t *out);

/* A session whose outbound key is the vector's master key (inbound: the same). */
static srtp_session_t *vector_session(srtp_session_profile_t profile, const char *master_hex)
{
    uint8_t master[SRTP_SESSION_MAX_KEY_LEN];
    size_t n = unhex(master_hex, master, sizeof master);
    assert_int_equal(n, srtp_session_key_len(profile));
    srtp_session_t *s = srtp_session_new(profile, master, master, n);
    assert_non_null(s);
    return s;
}

/* Protects packets of several sizes and sequence numbers and compares each
 * with the reference transform; the receiving side then restores the packet. */
static void check_against_reference(srtp_session_profile_t profile, const char *master_hex,
                                    reference_fn reference)
{
    srtp_session_t *tx = vector_session(profile, master_hex);
    srtp_session_t *rx = vector_session(profile, master_hex);
    static const size_t payloads[] = {16, 160, 1188};
    for (size_t k = 0; k < sizeof payloads / sizeof payloads[0]; k++) {
        uint8_t plain[1300], buf[1300 + SRTP_SESSION_TRAILER_LEN], want[1400];
        size_t len = 12 + payloads[k];
        unhex("800f1234decafbadcafebabe", plain, 12);
        plain[3] = (uint8_t)(0x34 + k); /* seq 0x1234, 0x1235, ... */
        for (size_t i = 12; i < len; i++)
            plain[i] = (uint8_t)(i * 7 + k);
        size_t want_len = reference(plain, len, 0, want);
        memcpy(buf, plain, len);
        size_t out_len = len;
        assert_int_equal(srtp_session_protect_rtp(tx, buf, &out_len, sizeof buf), 0);
        assert_int_equal(out_len, want_len);
        assert_memory_equal(buf, want, want_len);
        assert_int_equal(srtp_session_unprotect_rtp(rx, buf, &out_len), 0);
        assert_int_equal(out_len, len);
        assert_memory_equal(buf, plain, len);
    }
    srtp_session_free(tx);
    srtp_session_free(rx);
}

static void test_cm_matches_rfc3711_session_keys(void **state)
{
    (void)state;
    check_against_reference(SRTP_SESSION_AES128_CM_SHA1_80, CM_MASTER, reference_cm);
}

static void test_gcm_matches_rfc7714_session_keys(void **state)
{
    (void)state;
    check_against_reference(SRTP_SESSION_AEAD_AES_128_GCM, GCM_MASTER, reference_gcm);
}

/* The literal bytes, so a wrong reference transform here cannot agree with a
 * wrong library by accident. */
static void test_cm_known_ciphertext(void **state)
{
    (void)state;
    uint8_t buf[64 + SRTP_SESSION_TRAILER_LEN], want[64];
    size_t len = unhex(PLAIN_RTP, buf, sizeof buf);
    size_t want_len = unhex(CM_KNOWN_SRTP, want, sizeof want);
    srtp_session_t *s = vector_session(SRTP_SESSION_AES128_CM_SHA1_80, CM_MASTER);
    assert_int_equal(srtp_session_protect_rtp(s, buf, &len, sizeof buf), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, want_len);
    srtp_session_free(s);

    uint8_t ref[64];
    unhex(PLAIN_RTP, buf, sizeof buf);
    assert_int_equal(reference_cm(buf, 28, 0, ref), want_len);
    assert_memory_equal(ref, want, want_len);
}

/* One flipped bit in the GCM tag or the header (the AAD) fails authentication. */
static void test_gcm_vector_tampered(void **state)
{
    (void)state;
    for (int where = 0; where < 2; where++) {
        uint8_t buf[64 + SRTP_SESSION_TRAILER_LEN];
        size_t len = unhex(PLAIN_RTP, buf, sizeof buf);
        srtp_session_t *tx = vector_session(SRTP_SESSION_AEAD_AES_128_GCM, GCM_MASTER);
        srtp_session_t *rx = vector_session(SRTP_SESSION_AEAD_AES_128_GCM, GCM_MASTER);
        assert_int_equal(srtp_session_protect_rtp(tx, buf, &len, sizeof buf), 0);
        buf[where ? len - 1 : 5] ^= 0x01;
        assert_int_equal(srtp_session_unprotect_rtp(rx, buf, &len), SRTP_SESSION_E_AUTH);
        srtp_session_free(tx);
        srtp_session_free(rx);
    }
}

/* The build links the OpenSSL back end it built (SFU_SRTP_OPENSSL comes from
 * build/third_party/libsrtp2.mk); after a fallback it says which one is linked
 * (the Makefile has warned already). */
static void test_crypto_back_end(void **state)
{
    (void)state;
    const char *name = srtp_session_crypto_name();
    assert_non_null(name);
#ifdef SFU_SRTP_OPENSSL
    assert_non_null(strstr(name, "openssl"));
#else
    print_message("# system libsrtp2 linked: %s\n", name);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cm_matches_rfc3711_session_keys),
        cmocka_unit_test(test_gcm_matches_rfc7714_session_keys),
        cmocka_unit_test(test_cm_known_ciphertext),
        cmocka_unit_test(test_gcm_vector_tampered),
        cmocka_unit_test(test_crypto_back_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
