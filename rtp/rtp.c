/* rtp/rtp.c: the RTP header and its RFC 8285 extensions, as views. */
#include "rtp/rtp.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

int rtp_packet_parse(rtp_packet_t *p, uint8_t *data, size_t len)
{
    memset(p, 0, sizeof *p);
    /* RFC 3550 5.1: version 2 in the top two bits. */
    if (!data || len < RTP_HEADER_LEN || data[0] >> 6 != 2)
        return -EINVAL;
    size_t csrc_count = data[0] & 0x0f;
    size_t off = RTP_HEADER_LEN + csrc_count * 4;
    if (off > len)
        return -EINVAL;
    uint8_t *ext = NULL;
    size_t ext_len = 0;
    uint16_t ext_profile = 0;
    /* RFC 3550 5.3.1: profile (16), length in 32-bit words (16), elements. */
    if (data[0] & 0x10) {
        if (len - off < 4)
            return -EINVAL;
        ext_profile = rd_be16(data + off);
        ext_len = (size_t)rd_be16(data + off + 2) * 4;
        if (ext_len > len - off - 4)
            return -EINVAL;
        ext = data + off + 4;
        off += 4 + ext_len;
    }
    /* RFC 3550 5.1: the last byte counts the padding, itself included. */
    size_t padding = 0;
    if (data[0] & 0x20) {
        if (len == off)
            return -EINVAL;
        padding = data[len - 1];
        if (padding == 0 || padding > len - off)
            return -EINVAL;
    }
    p->data = data;
    p->len = len;
    p->header_len = off;
    p->payload = data + off;
    p->payload_len = len - off - padding;
    p->padding_len = (uint8_t)padding;
    p->csrc_count = (uint8_t)csrc_count;
    p->marker = data[1] >> 7;
    p->pt = data[1] & 0x7f;
    p->seq = rd_be16(data + 2);
    p->ts = rd_be32(data + 4);
    p->ssrc = rd_be32(data + 8);
    p->ext_profile = ext_profile;
    p->ext = ext;
    p->ext_len = ext_len;
    return 0;
}

void rtp_packet_set_ssrc(rtp_packet_t *p, uint32_t ssrc)
{
    wr_be32(p->data + 8, ssrc);
    p->ssrc = ssrc;
}

void rtp_packet_set_seq(rtp_packet_t *p, uint16_t seq)
{
    wr_be16(p->data + 2, seq);
    p->seq = seq;
}

void rtp_packet_set_ts(rtp_packet_t *p, uint32_t ts)
{
    wr_be32(p->data + 4, ts);
    p->ts = ts;
}

void rtp_packet_set_pt(rtp_packet_t *p, uint8_t pt)
{
    p->data[1] = (uint8_t)((p->data[1] & 0x80) | (pt & 0x7f));
    p->pt = pt & 0x7f;
}

void rtp_packet_set_marker(rtp_packet_t *p, bool marker)
{
    p->data[1] = (uint8_t)((p->data[1] & 0x7f) | (marker ? 0x80 : 0));
    p->marker = marker;
}

int rtp_header_write(uint8_t *buf, size_t cap, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
                     uint32_t ssrc)
{
    if (cap < RTP_HEADER_LEN)
        return -ENOSPC;
    buf[0] = 0x80;
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    wr_be16(buf + 2, seq);
    wr_be32(buf + 4, ts);
    wr_be32(buf + 8, ssrc);
    return RTP_HEADER_LEN;
}

/* ---- Header extensions ---- */

void rtp_ext_iter_init(rtp_ext_iter_t *it, const rtp_packet_t *p)
{
    it->pos = it->end = NULL;
    it->two_byte = false;
    if (!p->ext)
        return;
    if (p->ext_profile == RTP_EXT_PROFILE_ONE_BYTE)
        it->two_byte = false;
    else if ((p->ext_profile & 0xfff0) == RTP_EXT_PROFILE_TWO_BYTE)
        it->two_byte = true;
    else
        return;
    it->pos = p->ext;
    it->end = p->ext + p->ext_len;
}

int rtp_ext_next(rtp_ext_iter_t *it, rtp_ext_t *e)
{
    while (it->pos < it->end) {
        size_t left = (size_t)(it->end - it->pos);
        uint8_t b = it->pos[0];
        /* RFC 8285 4.1: a zero byte is padding in both forms. */
        if (b == 0) {
            it->pos++;
            continue;
        }
        size_t hdr, len;
        uint8_t id;
        if (!it->two_byte) {
            /* RFC 8285 4.2: ID (4) and length - 1 (4); ID 0 pads, 15 ends the block. */
            id = b >> 4;
            if (id == 0) {
                it->pos++;
                continue;
            }
            if (id == 15) {
                it->pos = it->end;
                return 0;
            }
            hdr = 1;
            len = (size_t)(b & 0x0f) + 1;
        } else {
            /* RFC 8285 4.3: ID (8), length (8), 0-255 bytes of data. */
            if (left < 2) {
                it->pos = it->end;
                return -EINVAL;
            }
            id = b;
            hdr = 2;
            len = it->pos[1];
        }
        if (len > left - hdr) {
            it->pos = it->end;
            return -EINVAL;
        }
        e->id = id;
        e->len = (uint8_t)len;
        e->two_byte = it->two_byte;
        e->data = it->pos + hdr;
        it->pos += hdr + len;
        return 1;
    }
    return 0;
}

int rtp_ext_find(const rtp_packet_t *p, uint8_t id, rtp_ext_t *e)
{
    rtp_ext_iter_t it;
    rtp_ext_iter_init(&it, p);
    int rc;
    while ((rc = rtp_ext_next(&it, e)) == 1) {
        if (e->id == id)
            return 0;
    }
    return rc < 0 ? rc : -ENOENT;
}

const char *const rtp_ext_kind_uri[RTP_EXT_KIND_COUNT] = {
    [RTP_EXT_MID] = "urn:ietf:params:rtp-hdrext:sdes:mid",
    [RTP_EXT_ABS_SEND_TIME] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    [RTP_EXT_AUDIO_LEVEL] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    [RTP_EXT_TWCC] = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    [RTP_EXT_RID] = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    [RTP_EXT_RRID] = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
};

int rtp_ext_kind_of_uri(const char *uri)
{
    for (int k = 0; k < RTP_EXT_KIND_COUNT; k++) {
        if (!strcmp(uri, rtp_ext_kind_uri[k]))
            return k;
    }
    return -ENOENT;
}

void rtp_ext_map_init(rtp_ext_map_t *map)
{
    memset(map, 0, sizeof *map);
}

int rtp_ext_map_set(rtp_ext_map_t *map, uint8_t from_id, uint8_t to_id)
{
    if (from_id == 0 || to_id == 0)
        return -EINVAL;
    map->to[from_id] = to_id;
    return 0;
}

int rtp_ext_remap(rtp_packet_t *p, const rtp_ext_map_t *map)
{
    rtp_ext_iter_t it;
    rtp_ext_iter_init(&it, p);
    rtp_ext_t e;
    int kept = 0, rc;
    while ((rc = rtp_ext_next(&it, &e)) == 1) {
        uint8_t to = map->to[e.id];
        uint8_t *hdr = e.data - (e.two_byte ? 2 : 1);
        if (to == 0 || (!e.two_byte && to > RTP_EXT_ONE_BYTE_MAX_ID)) {
            /* Zero bytes are padding to every reader (RFC 8285 4.1). */
            memset(hdr, 0, (size_t)(e.data - hdr) + e.len);
            continue;
        }
        if (e.two_byte)
            hdr[0] = to;
        else
            hdr[0] = (uint8_t)(to << 4 | (e.len - 1));
        kept++;
    }
    return rc < 0 ? rc : kept;
}

/* Builds the block header and elements into block; returns its length or -ENOSPC. */
static int ext_block_build(uint8_t *block, size_t cap, const rtp_ext_t *elems, int count,
                           bool one_byte)
{
    size_t n = 4;
    for (int i = 0; i < count; i++) {
        const rtp_ext_t *e = &elems[i];
        size_t need = (one_byte ? 1 : 2) + (size_t)e->len;
        if (need > cap - n)
            return -ENOSPC;
        if (one_byte) {
            block[n++] = (uint8_t)(e->id << 4 | (e->len - 1));
        } else {
            block[n++] = e->id;
            block[n++] = e->len;
        }
        if (e->len)
            memcpy(block + n, e->data, e->len);
        n += e->len;
    }
    while ((n - 4) % 4) {
        if (n == cap)
            return -ENOSPC;
        block[n++] = 0;
    }
    wr_be16(block, one_byte ? RTP_EXT_PROFILE_ONE_BYTE : RTP_EXT_PROFILE_TWO_BYTE);
    wr_be16(block + 2, (uint16_t)((n - 4) / 4));
    return (int)n;
}

int rtp_packet_set_extensions(rtp_packet_t *p, size_t cap, const rtp_ext_t *elems, int count)
{
    if (count < 0)
        return -EINVAL;
    bool one_byte = true;
    for (int i = 0; i < count; i++) {
        if (elems[i].id == 0)
            return -EINVAL;
        if (elems[i].id > RTP_EXT_ONE_BYTE_MAX_ID || elems[i].len == 0 ||
            elems[i].len > RTP_EXT_ONE_BYTE_MAX_LEN)
            one_byte = false;
    }
    /* Built aside first: elems may point into the block it replaces. */
    uint8_t block[4 + RTP_EXT_MAX_BLOCK_LEN];
    size_t block_len = 0;
    if (count > 0) {
        int n = ext_block_build(block, sizeof block, elems, count, one_byte);
        if (n < 0)
            return n;
        block_len = (size_t)n;
    }
    size_t fixed = RTP_HEADER_LEN + (size_t)p->csrc_count * 4;
    size_t tail = p->len - p->header_len;
    if (cap < fixed || block_len > cap - fixed || tail > cap - fixed - block_len)
        return -ENOSPC;
    memmove(p->data + fixed + block_len, p->data + p->header_len, tail);
    memcpy(p->data + fixed, block, block_len);
    if (count > 0)
        p->data[0] |= 0x10;
    else
        p->data[0] &= (uint8_t)~0x10;
    p->header_len = fixed + block_len;
    p->len = p->header_len + tail;
    p->payload = p->data + p->header_len;
    p->ext_profile = count > 0 ? rd_be16(block) : 0;
    p->ext = count > 0 ? p->data + fixed + 4 : NULL;
    p->ext_len = count > 0 ? block_len - 4 : 0;
    return 0;
}

int rtp_ext_read_audio_level(const rtp_ext_t *e, bool *voice, uint8_t *level_dbov)
{
    if (e->len < 1)
        return -EINVAL;
    *voice = e->data[0] >> 7;
    *level_dbov = e->data[0] & 0x7f;
    return 0;
}

int rtp_ext_write_audio_level(rtp_ext_t *e, bool voice, uint8_t level_dbov)
{
    if (e->len < 1 || level_dbov > 127)
        return -EINVAL;
    e->data[0] = (uint8_t)((voice ? 0x80 : 0) | level_dbov);
    return 0;
}

int rtp_ext_read_abs_send_time(const rtp_ext_t *e, uint32_t *abs_send_time)
{
    if (e->len != 3)
        return -EINVAL;
    *abs_send_time = rd_be24(e->data);
    return 0;
}

int rtp_ext_write_abs_send_time(rtp_ext_t *e, uint32_t abs_send_time)
{
    if (e->len != 3)
        return -EINVAL;
    wr_be24(e->data, abs_send_time & 0xffffff);
    return 0;
}

uint32_t rtp_abs_send_time_from_us(uint64_t time_us)
{
    /* 6 bits of seconds, 18 of fraction: only the seconds modulo 64 survive. */
    uint64_t secs = time_us / 1000000, frac_us = time_us % 1000000;
    return (uint32_t)(((secs & 0x3f) << 18) | ((frac_us << 18) / 1000000));
}

int rtp_ext_read_twcc_seq(const rtp_ext_t *e, uint16_t *seq)
{
    if (e->len < 2)
        return -EINVAL;
    *seq = rd_be16(e->data);
    return 0;
}

int rtp_ext_write_twcc_seq(rtp_ext_t *e, uint16_t seq)
{
    if (e->len < 2)
        return -EINVAL;
    wr_be16(e->data, seq);
    return 0;
}

int rtp_ext_read_mid(const rtp_ext_t *e, char *out, size_t cap)
{
    if ((size_t)e->len >= cap)
        return -ENOSPC;
    memcpy(out, e->data, e->len);
    out[e->len] = '\0';
    return 0;
}

int rtp_ext_write_mid(rtp_ext_t *e, const char *mid)
{
    size_t n = strlen(mid);
    if (n == 0)
        return -EINVAL;
    if (n > e->len)
        return -ENOSPC;
    if (e->two_byte)
        e->data[-1] = (uint8_t)n;
    else
        e->data[-1] = (uint8_t)(e->id << 4 | (n - 1));
    memcpy(e->data, mid, n);
    memset(e->data + n, 0, e->len - n);
    e->len = (uint8_t)n;
    return 0;
}
