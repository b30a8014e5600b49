/* ice/demux.h: which protocol a datagram on the shared media port carries. */
#ifndef SFU_ICE_DEMUX_H
#define SFU_ICE_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ICE_DEMUX_OTHER = 0, /* empty, ZRTP, TURN channel or unknown: drop */
    ICE_DEMUX_STUN,
    ICE_DEMUX_DTLS,
    ICE_DEMUX_RTP, /* RTP or RTCP: see ice_demux_is_rtcp */
} ice_demux_kind_t;

/* RFC 7983 7: the first byte alone decides. */
static inline ice_demux_kind_t ice_demux_kind(const uint8_t *data, size_t len)
{
    if (len == 0)
        return ICE_DEMUX_OTHER;
    uint8_t b = data[0];
    if (b <= 3)
        return ICE_DEMUX_STUN;
    if (b >= 20 && b <= 63)
        return ICE_DEMUX_DTLS;
    if (b >= 128 && b <= 191)
        return ICE_DEMUX_RTP;
    return ICE_DEMUX_OTHER;
}

/* RFC 5761 4: with rtcp-mux, packet types 192-223 in the second byte are RTCP
 * (SR 200, RR 201, SDES 202, BYE 203, APP 204, RTPFB 205, PSFB 206, XR 207). */
static inline int ice_demux_is_rtcp(const uint8_t *data, size_t len)
{
    return len >= 2 && data[1] >= 192 && data[1] <= 223;
}

#endif
