/* ice/tcp_framing.h: RFC 4571 framing for ICE over TCP (RFC 6544): each
 * STUN, DTLS or SRTP packet on the stream is preceded by its length in two
 * bytes, big-endian. No sockets and no allocation: the caller feeds what the
 * stream delivered and gets whole packets back. */
#ifndef SFU_ICE_TCP_FRAMING_H
#define SFU_ICE_TCP_FRAMING_H

#include <stddef.h>
#include <stdint.h>

/* The largest packet taken; a longer length field ends the stream (nothing
 * of ours is that large, and it bounds the per-connection buffer). */
#define ICE_TCP_MAX_FRAME 2048

/* One per connection, embedded by value (about 2 KiB). */
typedef struct ice_tcp_framer {
    size_t have; /* bytes of the current frame, its 2-byte length included */
    uint8_t buf[2 + ICE_TCP_MAX_FRAME];
} ice_tcp_framer_t;

/* Called with each complete packet (len 1..ICE_TCP_MAX_FRAME), in order;
 * the bytes are valid until it returns and may be rewritten in place. A
 * non-zero return stops the feed, which returns that value. */
typedef int (*ice_tcp_frame_fn)(void *ctx, uint8_t *pkt, size_t len);

void ice_tcp_framer_init(ice_tcp_framer_t *f);

/* Feeds len bytes of the stream. Returns 0 once all were consumed, -EMSGSIZE
 * when a frame announces more than ICE_TCP_MAX_FRAME bytes (the stream is
 * unusable: close it), or what on_frame returned. Empty frames are skipped. */
int ice_tcp_framer_feed(ice_tcp_framer_t *f, const uint8_t *data, size_t len,
                        ice_tcp_frame_fn on_frame, void *ctx);

/* Writes the 2-byte length of a len-byte packet into hdr. -EMSGSIZE when len
 * does not fit the field. */
int ice_tcp_frame_header(uint8_t hdr[2], size_t len);

#endif
