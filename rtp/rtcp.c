/* rtp/rtcp.c: RTCP compound packets, reports and feedback, as views; builders. */
#include "rtp/rtp.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

void rtcp_iter_init(rtcp_iter_t *it, uint8_t *data, size_t len)
{
    it->pos = data;
    it->end = data ? data + len : NULL;
}

int rtcp_iter_next(rtcp_iter_t *it, rtcp_packet_t *pkt)
{
    if (it->pos == it->end)
        return 0;
    uint8_t *p = it->pos;
    size_t left = (size_t)(it->end - p);
    /* RFC 3550 6.4.1: V=2, P, count (5), PT (8), length in 32-bit words minus one. */
    if (left < RTCP_HEADER_LEN || p[0] >> 6 != 2)
        goto bad;
    size_t len = ((size_t)rd_be16(p + 2) + 1) * 4;
    if (len > left)
        goto bad;
    size_t body_len = len - RTCP_HEADER_LEN;
    if (p[0] & 0x20) {
        /* The last byte counts the padding, itself included. */
        size_t padding = p[len - 1];
        if (padding == 0 || padding > body_len)
            goto bad;
        body_len -= padding;
    }
    pkt->data = p;
    pkt->len = len;
    pkt->pt = p[1];
    pkt->count = p[0] & 0x1f;
    pkt->body = p + RTCP_HEADER_LEN;
    pkt->body_len = body_len;
    it->pos = p + len;
    return 1;
bad:
    it->pos = it->end;
    return -EINVAL;
}

int rtcp_parse_sr(const rtcp_packet_t *pkt, rtcp_sr_t *sr)
{
    /* RFC 3550 6.4.1: SSRC, NTP (64), RTP ts, packets, octets, then the blocks. */
    if (pkt->pt != RTCP_PT_SR || pkt->body_len < 24 ||
        (pkt->body_len - 24) / RTCP_REPORT_BLOCK_LEN < pkt->count)
        return -EINVAL;
    const uint8_t *b = pkt->body;
    sr->ssrc = rd_be32(b);
    sr->ntp = (uint64_t)rd_be32(b + 4) << 32 | rd_be32(b + 8);
    sr->rtp_ts = rd_be32(b + 12);
    sr->packet_count = rd_be32(b + 16);
    sr->octet_count = rd_be32(b + 20);
    sr->report_count = pkt->count;
    sr->reports = b + 24;
    return 0;
}

int rtcp_parse_rr(const rtcp_packet_t *pkt, rtcp_rr_t *rr)
{
    /* RFC 3550 6.4.2 */
    if (pkt->pt != RTCP_PT_RR || pkt->body_len < 4 ||
        (pkt->body_len - 4) / RTCP_REPORT_BLOCK_LEN < pkt->count)
        return -EINVAL;
    rr->ssrc = rd_be32(pkt->body);
    rr->report_count = pkt->count;
    rr->reports = pkt->body + 4;
    return 0;
}

void rtcp_report_block_read(const uint8_t *reports, int i, rtcp_report_block_t *out)
{
    const uint8_t *b = reports + (size_t)i * RTCP_REPORT_BLOCK_LEN;
    out->ssrc = rd_be32(b);
    out->fraction_lost = b[4];
    uint32_t lost = rd_be24(b + 5);
    /* 24-bit two's complement */
    out->cumulative_lost = (int32_t)(lost & 0x800000 ? lost | 0xff000000u : lost);
    out->highest_seq = rd_be32(b + 8);
    out->jitter = rd_be32(b + 12);
    out->lsr = rd_be32(b + 16);
    out->dlsr = rd_be32(b + 20);
}

int rtcp_parse_fb(const rtcp_packet_t *pkt, rtcp_fb_t *fb)
{
    /* RFC 4585 6.1: sender SSRC, media SSRC, then the FCI. */
    if ((pkt->pt != RTCP_PT_RTPFB && pkt->pt != RTCP_PT_PSFB) || pkt->body_len < 8)
        return -EINVAL;
    fb->pt = pkt->pt;
    fb->fmt = pkt->count;
    fb->sender_ssrc = rd_be32(pkt->body);
    fb->media_ssrc = rd_be32(pkt->body + 4);
    fb->fci = pkt->body + 8;
    fb->fci_len = pkt->body_len - 8;
    return 0;
}

bool rtcp_fb_is_pli(const rtcp_fb_t *fb)
{
    return fb->pt == RTCP_PT_PSFB && fb->fmt == RTCP_FMT_PLI;
}

int rtcp_fir_count(const rtcp_fb_t *fb)
{
    if (fb->pt != RTCP_PT_PSFB || fb->fmt != RTCP_FMT_FIR || fb->fci_len < 8)
        return -EINVAL;
    return (int)(fb->fci_len / 8);
}

void rtcp_fir_entry(const rtcp_fb_t *fb, int i, uint32_t *ssrc, uint8_t *seq_nr)
{
    /* RFC 5104 4.3.1.1: SSRC, seq nr (8), reserved (24). */
    const uint8_t *e = fb->fci + (size_t)i * 8;
    *ssrc = rd_be32(e);
    *seq_nr = e[4];
}

int rtcp_nack_count(const rtcp_fb_t *fb)
{
    if (fb->pt != RTCP_PT_RTPFB || fb->fmt != RTCP_FMT_NACK || fb->fci_len < 4)
        return -EINVAL;
    return (int)(fb->fci_len / 4);
}

void rtcp_nack_entry(const rtcp_fb_t *fb, int i, uint16_t *pid, uint16_t *blp)
{
    const uint8_t *e = fb->fci + (size_t)i * 4;
    *pid = rd_be16(e);
    *blp = rd_be16(e + 2);
}

int rtcp_nack_seqs(const rtcp_fb_t *fb, uint16_t *seqs, int cap)
{
    int entries = rtcp_nack_count(fb);
    if (entries < 0)
        return entries;
    int n = 0;
    for (int i = 0; i < entries && n < cap; i++) {
        uint16_t pid, blp;
        rtcp_nack_entry(fb, i, &pid, &blp);
        seqs[n++] = pid;
        /* RFC 4585 6.2.1: bit k of BLP asks for PID + k + 1. */
        for (int k = 0; k < 16 && n < cap; k++) {
            if (blp & (1u << k))
                seqs[n++] = (uint16_t)(pid + k + 1);
        }
    }
    return n;
}

int rtcp_parse_remb(const rtcp_packet_t *pkt, rtcp_remb_t *remb)
{
    rtcp_fb_t fb;
    if (rtcp_parse_fb(pkt, &fb) || fb.pt != RTCP_PT_PSFB || fb.fmt != RTCP_FMT_REMB)
        return -EINVAL;
    /* "REMB", num SSRC (8), BR exp (6), BR mantissa (18), SSRCs. */
    if (fb.fci_len < 8 || memcmp(fb.fci, "REMB", 4) != 0)
        return -EINVAL;
    size_t count = fb.fci[4];
    if ((fb.fci_len - 8) / 4 < count)
        return -EINVAL;
    unsigned exp = fb.fci[5] >> 2;
    uint64_t mantissa = (uint64_t)(fb.fci[5] & 0x03) << 16 | rd_be16(fb.fci + 6);
    remb->sender_ssrc = fb.sender_ssrc;
    remb->bitrate_bps = mantissa > (UINT64_MAX >> exp) ? UINT64_MAX : mantissa << exp;
    remb->ssrc_count = (int)count;
    remb->ssrcs = fb.fci + 8;
    return 0;
}

uint32_t rtcp_remb_ssrc(const rtcp_remb_t *remb, int i)
{
    return rd_be32(remb->ssrcs + (size_t)i * 4);
}

/* ---- Builders ---- */

static void rtcp_header_write(uint8_t *buf, uint8_t count, uint8_t pt, size_t len)
{
    buf[0] = (uint8_t)(0x80 | count);
    buf[1] = pt;
    wr_be16(buf + 2, (uint16_t)(len / 4 - 1));
}

static void report_block_write(uint8_t *b, const rtcp_report_block_t *r)
{
    int32_t lost = r->cumulative_lost;
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    else if (lost < -0x800000)
        lost = -0x800000;
    wr_be32(b, r->ssrc);
    b[4] = r->fraction_lost;
    wr_be24(b + 5, (uint32_t)lost & 0xffffff);
    wr_be32(b + 8, r->highest_seq);
    wr_be32(b + 12, r->jitter);
    wr_be32(b + 16, r->lsr);
    wr_be32(b + 20, r->dlsr);
}

int rtcp_write_sr(uint8_t *buf, size_t cap, const rtcp_sr_t *sr, const rtcp_report_block_t *blocks,
                  int count)
{
    if (count < 0 || count > RTCP_MAX_REPORTS)
        return -EINVAL;
    size_t len = RTCP_HEADER_LEN + 24 + (size_t)count * RTCP_REPORT_BLOCK_LEN;
    if (cap < len)
        return -ENOSPC;
    rtcp_header_write(buf, (uint8_t)count, RTCP_PT_SR, len);
    wr_be32(buf + 4, sr->ssrc);
    wr_be32(buf + 8, (uint32_t)(sr->ntp >> 32));
    wr_be32(buf + 12, (uint32_t)sr->ntp);
    wr_be32(buf + 16, sr->rtp_ts);
    wr_be32(buf + 20, sr->packet_count);
    wr_be32(buf + 24, sr->octet_count);
    for (int i = 0; i < count; i++)
        report_block_write(buf + 28 + (size_t)i * RTCP_REPORT_BLOCK_LEN, &blocks[i]);
    return (int)len;
}

int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const rtcp_report_block_t *blocks,
                  int count)
{
    if (count < 0 || count > RTCP_MAX_REPORTS)
        return -EINVAL;
    size_t len = RTCP_HEADER_LEN + 4 + (size_t)count * RTCP_REPORT_BLOCK_LEN;
    if (cap < len)
        return -ENOSPC;
    rtcp_header_write(buf, (uint8_t)count, RTCP_PT_RR, len);
    wr_be32(buf + 4, ssrc);
    for (int i = 0; i < count; i++)
        report_block_write(buf + 8 + (size_t)i * RTCP_REPORT_BLOCK_LEN, &blocks[i]);
    return (int)len;
}

/* The 12 bytes every feedback message starts with (RFC 4585 6.1). */
static void fb_header_write(uint8_t *buf, uint8_t fmt, uint8_t pt, size_t len, uint32_t sender,
                            uint32_t media)
{
    rtcp_header_write(buf, fmt, pt, len);
    wr_be32(buf + 4, sender);
    wr_be32(buf + 8, media);
}

int rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (cap < 12)
        return -ENOSPC;
    fb_header_write(buf, RTCP_FMT_PLI, RTCP_PT_PSFB, 12, sender_ssrc, media_ssrc);
    return 12;
}

int rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                   uint8_t seq_nr)
{
    if (cap < 20)
        return -ENOSPC;
    /* RFC 5104 4.3.1.2: the header's media SSRC is 0; the FCI names the stream. */
    fb_header_write(buf, RTCP_FMT_FIR, RTCP_PT_PSFB, 20, sender_ssrc, 0);
    wr_be32(buf + 12, media_ssrc);
    buf[16] = seq_nr;
    buf[17] = buf[18] = buf[19] = 0;
    return 20;
}

int rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, int count)
{
    if (count < 1 || count > 0xffff)
        return -EINVAL;
    /* First pass: how many (PID, BLP) entries. */
    size_t entries = 1;
    uint16_t pid = seqs[0];
    for (int i = 1; i < count; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid);
        if (d == 0 || d > 16) {
            entries++;
            pid = seqs[i];
        }
    }
    size_t len = 12 + entries * 4;
    if (len / 4 - 1 > 0xffff)
        return -EINVAL;
    if (cap < len)
        return -ENOSPC;
    fb_header_write(buf, RTCP_FMT_NACK, RTCP_PT_RTPFB, len, sender_ssrc, media_ssrc);
    uint8_t *e = buf + 12;
    pid = seqs[0];
    uint16_t blp = 0;
    for (int i = 1; i < count; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid);
        if (d == 0 || d > 16) {
            wr_be16(e, pid);
            wr_be16(e + 2, blp);
            e += 4;
            pid = seqs[i];
            blp = 0;
        } else {
            blp |= (uint16_t)(1u << (d - 1));
        }
    }
    wr_be16(e, pid);
    wr_be16(e + 2, blp);
    return (int)len;
}

int rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, int count)
{
    if (count < 0 || count > 255)
        return -EINVAL;
    size_t len = 20 + (size_t)count * 4;
    if (cap < len)
        return -ENOSPC;
    /* Mantissa of 18 bits: shift until it fits (rounds down, never over-reports). */
    unsigned exp = 0;
    while ((bitrate_bps >> exp) > 0x3ffff)
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    /* draft-alvestrand-rmcat-remb-03 2.2: the media SSRC is 0. */
    fb_header_write(buf, RTCP_FMT_REMB, RTCP_PT_PSFB, len, sender_ssrc, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)count;
    buf[17] = (uint8_t)(exp << 2 | mantissa >> 16);
    wr_be16(buf + 18, (uint16_t)mantissa);
    for (int i = 0; i < count; i++)
        wr_be32(buf + 20 + (size_t)i * 4, ssrcs[i]);
    return (int)len;
}
