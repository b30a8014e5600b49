/* rtp/rtp_codec.h: what a forwarder reads from video payloads: whether a
 * packet starts a keyframe (VP8, H.264), and the VP8 payload descriptor
 * (RFC 7741 4.2) with its picture id, TL0PICIDX and temporal layer, which a
 * simulcast consumer rewrites in place so that the streams it switches
 * between reach the decoder as one. No allocation, no state. */
#ifndef SFU_RTP_RTP_CODEC_H
#define SFU_RTP_RTP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { RTP_CODEC_OTHER, RTP_CODEC_VP8, RTP_CODEC_H264 } rtp_codec_kind_t;

/* The kind of an rtpmap encoding name ("VP8", "H264", case-insensitive). */
rtp_codec_kind_t rtp_codec_kind_of(const char *name);

/* RFC 7741 4.2. Offsets are from the start of the payload. */
typedef struct rtp_vp8_desc {
    bool start;           /* S: the first packet of a partition */
    uint8_t partition;    /* PID */
    bool has_picture_id;  /* I */
    bool picture_id_long; /* M: 15 bits (else 7) */
    uint16_t picture_id;
    size_t picture_id_off;
    bool has_tl0; /* L */
    uint8_t tl0picidx;
    size_t tl0_off;
    bool has_tid; /* T */
    uint8_t tid;
    bool layer_sync;   /* Y */
    size_t header_len; /* the descriptor's length: the VP8 payload follows */
    bool keyframe;     /* the start of a key frame (S, PID 0, P bit clear) */
} rtp_vp8_desc_t;

/* 0, or -EINVAL when payload is too short for the descriptor it announces. */
int rtp_vp8_parse(const uint8_t *payload, size_t len, rtp_vp8_desc_t *d);
/* Writes a picture id (kept in the field's width: 7 or 15 bits) and a
 * TL0PICIDX where the descriptor has them. */
void rtp_vp8_write(uint8_t *payload, const rtp_vp8_desc_t *d, uint16_t picture_id,
                   uint8_t tl0picidx);

/* Whether an H.264 payload (RFC 6184: single NAL unit, STAP-A, FU-A) starts
 * an IDR picture or carries a sequence parameter set. */
bool rtp_h264_is_keyframe(const uint8_t *payload, size_t len);

/* Whether the packet begins a keyframe of a stream of that kind. */
bool rtp_is_keyframe(rtp_codec_kind_t kind, const uint8_t *payload, size_t len);

#endif
