/* tools/loadgen/null_proto.h: what sfu-loadgen --null and bench/null-forwarder
 * agree on instead of signaling, ICE and DTLS: a hello datagram that registers
 * a leg's address, and SRTP keys derived from (participant, leg, direction). */
#ifndef SFU_TOOLS_NULL_PROTO_H
#define SFU_TOOLS_NULL_PROTO_H

#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#include "dtls/srtp_session.h"

/* "LGNH" | participant (u32) | leg (u8): the first byte, 'L', is no STUN, DTLS
 * or RTP (RFC 7983), so it never mixes with media. The forwarder echoes it. */
#define NULL_HELLO_LEN 9
#define NULL_LEG_PUB   0
#define NULL_LEG_SUB   1
#define NULL_DIR_UP    'u' /* participant -> forwarder */
#define NULL_DIR_DOWN  'd' /* forwarder -> participant */
#define NULL_PROFILE   SRTP_SESSION_AEAD_AES_128_GCM

static inline void null_hello_write(uint8_t *p, uint32_t participant, uint8_t leg)
{
    memcpy(p, "LGNH", 4);
    p[4] = (uint8_t)(participant >> 24);
    p[5] = (uint8_t)(participant >> 16);
    p[6] = (uint8_t)(participant >> 8);
    p[7] = (uint8_t)participant;
    p[8] = leg;
}

/* 0 and the fields, or -1 when p is not a hello. */
static inline int null_hello_read(const uint8_t *p, size_t len, uint32_t *participant, uint8_t *leg)
{
    if (len != NULL_HELLO_LEN || memcmp(p, "LGNH", 4))
        return -1;
    *participant = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    *leg = p[8];
    return 0;
}

/* key || salt for one direction of one leg (a bench key, not a secret). */
static inline void null_key(uint32_t participant, uint8_t leg, char dir,
                            uint8_t out[SRTP_SESSION_MAX_KEY_LEN])
{
    uint8_t in[16], digest[SHA256_DIGEST_LENGTH];
    memcpy(in, "lg-null-", 8);
    in[8] = (uint8_t)(participant >> 24);
    in[9] = (uint8_t)(participant >> 16);
    in[10] = (uint8_t)(participant >> 8);
    in[11] = (uint8_t)participant;
    in[12] = leg;
    in[13] = (uint8_t)dir;
    in[14] = in[15] = 0;
    SHA256(in, sizeof in, digest);
    memcpy(out, digest, SRTP_SESSION_MAX_KEY_LEN);
}

/* The bare ceiling (null-forwarder --bare, sfu-loadgen --null-bare): every leg
 * keys both directions with this one key, so the forwarder can pass each SRTP
 * packet on untouched and the machine's socket work is measured alone. */
static inline void null_bare_key(uint8_t out[SRTP_SESSION_MAX_KEY_LEN])
{
    null_key(UINT32_MAX, NULL_LEG_PUB, 'b', out);
}

#endif
