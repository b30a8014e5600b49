/* rtp/rtp_codec.c: keyframes and the VP8 payload descriptor. */
#include "rtp/rtp_codec.h"

#include <errno.h>
#include <strings.h>

rtp_codec_kind_t rtp_codec_kind_of(const char *name)
{
    if (!strcasecmp(name, "VP8"))
        return RTP_CODEC_VP8;
    if (!strcasecmp(name, "H264"))
        return RTP_CODEC_H264;
    return RTP_CODEC_OTHER;
}

int rtp_vp8_parse(const uint8_t *payload, size_t len, rtp_vp8_desc_t *d)
{
    *d = (rtp_vp8_desc_t){0};
    if (len < 1)
        return -EINVAL;
    size_t off = 1;
    bool x = payload[0] & 0x80;
    d->start = payload[0] & 0x10;
    d->partition = payload[0] & 0x07;
    if (x) {
        if (len < 2)
            return -EINVAL;
        uint8_t ext = payload[1];
        off = 2;
        if (ext & 0x80) { /* I */
            if (len < off + 1)
                return -EINVAL;
            d->has_picture_id = true;
            d->picture_id_off = off;
            if (payload[off] & 0x80) {
                if (len < off + 2)
                    return -EINVAL;
                d->picture_id_long = true;
                d->picture_id = (uint16_t)((payload[off] & 0x7f) << 8 | payload[off + 1]);
                off += 2;
            } else {
                d->picture_id = payload[off] & 0x7f;
                off += 1;
            }
        }
        if (ext & 0x40) { /* L */
            if (len < off + 1)
                return -EINVAL;
            d->has_tl0 = true;
            d->tl0_off = off;
            d->tl0picidx = payload[off];
            off += 1;
        }
        if (ext & 0x30) { /* T or K: one byte for both */
            if (len < off + 1)
                return -EINVAL;
            if (ext & 0x20) {
                d->has_tid = true;
                d->tid = payload[off] >> 6;
                d->layer_sync = payload[off] & 0x20;
            }
            off += 1;
        }
    }
    d->header_len = off;
    /* RFC 7741 4.3: the VP8 frame header's P bit is 0 on key frames. */
    d->keyframe = d->start && d->partition == 0 && len > off && !(payload[off] & 0x01);
    return 0;
}

void rtp_vp8_write(uint8_t *payload, const rtp_vp8_desc_t *d, uint16_t picture_id,
                   uint8_t tl0picidx)
{
    if (d->has_picture_id) {
        if (d->picture_id_long) {
            payload[d->picture_id_off] = (uint8_t)(0x80 | ((picture_id >> 8) & 0x7f));
            payload[d->picture_id_off + 1] = (uint8_t)picture_id;
        } else {
            payload[d->picture_id_off] = picture_id & 0x7f;
        }
    }
    if (d->has_tl0)
        payload[d->tl0_off] = tl0picidx;
}

static bool h264_nal_is_key(uint8_t nal)
{
    uint8_t type = nal & 0x1f;
    return type == 5 || type == 7; /* IDR slice, SPS */
}

bool rtp_h264_is_keyframe(const uint8_t *payload, size_t len)
{
    if (len < 1)
        return false;
    uint8_t type = payload[0] & 0x1f;
    if (type >= 1 && type <= 23)
        return h264_nal_is_key(payload[0]);
    if (type == 24) { /* STAP-A: 16-bit size, NAL unit, ... */
        size_t off = 1;
        while (off + 2 < len) {
            size_t n = (size_t)payload[off] << 8 | payload[off + 1];
            off += 2;
            if (n == 0 || off + n > len)
                return false;
            if (h264_nal_is_key(payload[off]))
                return true;
            off += n;
        }
        return false;
    }
    if (type == 28) /* FU-A: the start fragment carries the NAL type */
        return len >= 2 && (payload[1] & 0x80) && h264_nal_is_key(payload[1]);
    return false;
}

bool rtp_is_keyframe(rtp_codec_kind_t kind, const uint8_t *payload, size_t len)
{
    if (kind == RTP_CODEC_VP8) {
        rtp_vp8_desc_t d;
        return rtp_vp8_parse(payload, len, &d) == 0 && d.keyframe;
    }
    if (kind == RTP_CODEC_H264)
        return rtp_h264_is_keyframe(payload, len);
    return false;
}
