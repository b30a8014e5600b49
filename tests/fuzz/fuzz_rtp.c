/* Fuzz target: RTP, header extensions, RTCP and the rewriter on untrusted bytes.
 *   make build/fuzz/fuzz_rtp; build/fuzz/fuzz_rtp -max_total_time=60
 * Byte 0 picks the mode: 0 = the rest as an RTP packet (parse, extensions, remap,
 * rebuild, the payload as VP8 and H.264); 1 = as an RTCP compound (every parser,
 * then build and parse back); 2 = as records (ssrc pick, drop or send, seq, ts,
 * time step) fed to one rewriter, checking that no outgoing sequence number is
 * ever produced twice, left-out packets or not. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtp.h"
#include "rtp/rtp_codec.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define MAX_ELEMS 32

static void fuzz_rtp_packet(const uint8_t *data, size_t size)
{
    /* Exactly size bytes, so that the sanitizer sees a read past the end. */
    uint8_t *pkt = malloc(size ? size : 1);
    if (!pkt)
        return;
    if (size)
        memcpy(pkt, data, size);
    rtp_packet_t p;
    if (rtp_packet_parse(&p, pkt, size) != 0) {
        free(pkt);
        return;
    }
    CHECK(p.header_len + p.payload_len + p.padding_len == size);
    CHECK(p.payload == pkt + p.header_len);

    /* The payload as VP8: the descriptor lies inside it, and writing ids back
     * leaves it parsing the same. */
    rtp_vp8_desc_t d, d2;
    if (rtp_vp8_parse(p.payload, p.payload_len, &d) == 0) {
        CHECK(d.header_len <= p.payload_len);
        rtp_vp8_write(p.payload, &d, (uint16_t)(d.picture_id + 1), (uint8_t)(d.tl0picidx + 1));
        CHECK(rtp_vp8_parse(p.payload, p.payload_len, &d2) == 0 && d2.header_len == d.header_len);
        CHECK(!d.has_tl0 || d2.tl0picidx == (uint8_t)(d.tl0picidx + 1));
    }
    rtp_h264_is_keyframe(p.payload, p.payload_len);

    /* Every element lies inside the block; typed reads never fail hard. */
    rtp_ext_t elems[MAX_ELEMS];
    int count = 0, rc;
    rtp_ext_iter_t it;
    rtp_ext_iter_init(&it, &p);
    rtp_ext_t e;
    while ((rc = rtp_ext_next(&it, &e)) == 1) {
        CHECK(e.data >= p.ext && e.data + e.len <= p.ext + p.ext_len);
        bool voice;
        uint8_t level;
        uint32_t ast;
        uint16_t tseq;
        char mid[300];
        rtp_ext_read_audio_level(&e, &voice, &level);
        rtp_ext_read_abs_send_time(&e, &ast);
        rtp_ext_read_twcc_seq(&e, &tseq);
        rtp_ext_read_mid(&e, mid, sizeof mid);
        if (count < MAX_ELEMS)
            elems[count++] = e;
    }
    bool well_formed = rc == 0;

    /* Rebuild the block from what was read, in a bigger buffer, and read it back. */
    size_t cap = size + 4 + RTP_EXT_MAX_BLOCK_LEN;
    uint8_t *big = malloc(cap);
    if (big) {
        memcpy(big, pkt, size);
        rtp_packet_t q;
        CHECK(rtp_packet_parse(&q, big, size) == 0);
        /* elems point into pkt, which stays intact: the rebuild copies them first. */
        rc = rtp_packet_set_extensions(&q, cap, elems, count);
        if (rc == 0) {
            rtp_packet_t r;
            CHECK(rtp_packet_parse(&r, big, q.len) == 0);
            CHECK(r.payload_len == p.payload_len && r.padding_len == p.padding_len);
            CHECK(memcmp(r.payload, p.payload, p.payload_len) == 0);
            rtp_ext_iter_init(&it, &r);
            for (int i = 0; i < count; i++) {
                CHECK(rtp_ext_next(&it, &e) == 1);
                CHECK(e.id == elems[i].id && e.len == elems[i].len);
                CHECK(memcmp(e.data, elems[i].data, e.len) == 0);
            }
            CHECK(rtp_ext_next(&it, &e) == 0);
        } else {
            CHECK(rc == -ENOSPC);
        }
        free(big);
    }

    /* Remap with a map drawn from the packet's own first bytes. */
    rtp_ext_map_t map;
    rtp_ext_map_init(&map);
    for (size_t i = 0; i + 1 < size && i < 32; i += 2) {
        if (data[i] && data[i + 1])
            rtp_ext_map_set(&map, data[i], data[i + 1]);
    }
    rc = rtp_ext_remap(&p, &map);
    CHECK(well_formed ? rc >= 0 : rc == -EINVAL);
    rtp_packet_t after;
    CHECK(rtp_packet_parse(&after, pkt, size) == 0);
    CHECK(after.header_len == p.header_len && after.payload_len == p.payload_len);

    /* Typed writes into whatever is there. */
    rtp_ext_iter_init(&it, &after);
    while (rtp_ext_next(&it, &e) == 1) {
        rtp_ext_write_audio_level(&e, true, 42);
        rtp_ext_write_abs_send_time(&e, 0x123456);
        rtp_ext_write_twcc_seq(&e, 0xbeef);
        if (e.id & 1)
            rtp_ext_write_mid(&e, "m1");
    }
    CHECK(rtp_packet_parse(&after, pkt, size) == 0);
    free(pkt);
}

static void fuzz_rtcp_packet(const rtcp_packet_t *pkt)
{
    uint8_t out[2048];
    rtcp_report_block_t blocks[RTCP_MAX_REPORTS];
    rtcp_sr_t sr;
    rtcp_rr_t rr;
    rtcp_fb_t fb;
    rtcp_remb_t remb;
    if (rtcp_parse_sr(pkt, &sr) == 0) {
        for (int i = 0; i < sr.report_count; i++)
            rtcp_report_block_read(sr.reports, i, &blocks[i]);
        int n = rtcp_write_sr(out, sizeof out, &sr, blocks, sr.report_count);
        CHECK(n > 0);
        rtcp_iter_t it;
        rtcp_packet_t back;
        rtcp_sr_t sr2;
        rtcp_iter_init(&it, out, (size_t)n);
        CHECK(rtcp_iter_next(&it, &back) == 1 && rtcp_parse_sr(&back, &sr2) == 0);
        CHECK(sr2.ntp == sr.ntp && sr2.rtp_ts == sr.rtp_ts && sr2.report_count == sr.report_count);
        CHECK(memcmp(sr2.reports, sr.reports, (size_t)sr.report_count * RTCP_REPORT_BLOCK_LEN) ==
              0);
    }
    if (rtcp_parse_rr(pkt, &rr) == 0) {
        for (int i = 0; i < rr.report_count; i++)
            rtcp_report_block_read(rr.reports, i, &blocks[i]);
        CHECK(rtcp_write_rr(out, sizeof out, rr.ssrc, blocks, rr.report_count) > 0);
    }
    if (rtcp_parse_fb(pkt, &fb) == 0) {
        (void)rtcp_fb_is_pli(&fb);
        int firs = rtcp_fir_count(&fb);
        for (int i = 0; i < firs; i++) {
            uint32_t ssrc;
            uint8_t seq_nr;
            rtcp_fir_entry(&fb, i, &ssrc, &seq_nr);
        }
        static uint16_t seqs[65536 / 4 * 17];
        int n = rtcp_nack_seqs(&fb, seqs, (int)(sizeof seqs / sizeof seqs[0]));
        if (n > 0) {
            /* Written back, the same set of sequence numbers comes out. */
            static uint8_t nack[12 + 4 * 65536];
            static uint64_t want[1024], got[1024];
            static uint16_t again[sizeof seqs / sizeof seqs[0]];
            int len = rtcp_write_nack(nack, sizeof nack, fb.sender_ssrc, fb.media_ssrc, seqs, n);
            if (len > 0) {
                rtcp_iter_t it;
                rtcp_packet_t back;
                rtcp_fb_t fb2;
                rtcp_iter_init(&it, nack, (size_t)len);
                CHECK(rtcp_iter_next(&it, &back) == 1 && rtcp_parse_fb(&back, &fb2) == 0);
                int m = rtcp_nack_seqs(&fb2, again, (int)(sizeof again / sizeof again[0]));
                CHECK(m > 0 && m <= n);
                memset(want, 0, sizeof want);
                memset(got, 0, sizeof got);
                for (int i = 0; i < n; i++)
                    want[seqs[i] / 64] |= 1ull << (seqs[i] % 64);
                for (int i = 0; i < m; i++)
                    got[again[i] / 64] |= 1ull << (again[i] % 64);
                CHECK(memcmp(want, got, sizeof want) == 0);
            }
        }
    }
    if (rtcp_parse_remb(pkt, &remb) == 0) {
        uint32_t ssrcs[255];
        for (int i = 0; i < remb.ssrc_count; i++)
            ssrcs[i] = rtcp_remb_ssrc(&remb, i);
        int n = rtcp_write_remb(out, sizeof out, remb.sender_ssrc, remb.bitrate_bps, ssrcs,
                                remb.ssrc_count);
        CHECK(n > 0);
        rtcp_iter_t it;
        rtcp_packet_t back;
        rtcp_remb_t remb2;
        rtcp_iter_init(&it, out, (size_t)n);
        CHECK(rtcp_iter_next(&it, &back) == 1 && rtcp_parse_remb(&back, &remb2) == 0);
        CHECK(remb2.bitrate_bps <= remb.bitrate_bps && remb2.ssrc_count == remb.ssrc_count);
    }
}

static void fuzz_rtcp(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return;
    if (size)
        memcpy(buf, data, size);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    size_t covered = 0;
    int rc;
    rtcp_iter_init(&it, buf, size);
    while ((rc = rtcp_iter_next(&it, &pkt)) == 1) {
        CHECK(pkt.data == buf + covered && pkt.len >= 4 && pkt.body_len <= pkt.len - 4);
        covered += pkt.len;
        fuzz_rtcp_packet(&pkt);
    }
    CHECK(covered <= size);
    CHECK(rc == (covered == size ? 0 : -EINVAL));
    free(buf);
}

/* Output sequence numbers, extended to 64 bits, that were produced. */
static int64_t emitted[4096];
static int emitted_count;

static bool emitted_add(int64_t ext)
{
    for (int i = 0; i < emitted_count; i++) {
        if (emitted[i] == ext)
            return false;
    }
    if (emitted_count < (int)(sizeof emitted / sizeof emitted[0]))
        emitted[emitted_count++] = ext;
    return true;
}

static void fuzz_rewriter(const uint8_t *data, size_t size)
{
    static const uint32_t ssrcs[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, ssrcs[0], 0xabcdef, 90000, 65500, 0xfffff000);
    emitted_count = 0;
    int64_t ext_max = 65499;    /* the one before the first */
    int64_t ext_virt = ext_max; /* the newest position, left-out packets included */
    uint64_t now_ms = 1000;
    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *r = data + i;
        uint32_t ssrc = ssrcs[r[0] & 3];
        if (r[0] & 0x80) {
            rtp_rewriter_switch(&rw, ssrc); /* the next source starts after ext_virt */
            continue;
        }
        uint16_t seq = (uint16_t)(r[1] << 8 | r[2]);
        uint32_t ts = (uint32_t)r[3] << 24 | (uint32_t)r[4] << 16 | (uint32_t)r[5] << 8 | r[6];
        now_ms += r[7];
        uint8_t buf[16];
        rtp_header_write(buf, sizeof buf, 96, false, seq, ts, ssrc);
        memset(buf + 12, 0xee, 4);
        rtp_packet_t p;
        CHECK(rtp_packet_parse(&p, buf, sizeof buf) == 0);
        if (r[0] & 0x40) {
            int rc = rtp_rewriter_drop(&rw, &p, now_ms);
            CHECK(rc == 0 || rc == -ENOENT || rc == -EALREADY || rc == -ESTALE);
            if (rc == 0) {
                /* A left-out newest packet moves the newest position (the
                 * number it would have had) without sending anything. */
                uint16_t v = (uint16_t)(rw.max_in_seq + rw.seq_offset);
                uint16_t dv = (uint16_t)(v - (uint16_t)ext_virt);
                int step = dv < 0x8000 ? dv : (int)dv - 0x10000;
                CHECK(step >= 0 && step <= RTP_REWRITER_MAX_DROPOUT);
                ext_virt += step;
            }
            continue;
        }
        int rc = rtp_rewriter_rewrite(&rw, &p, now_ms);
        CHECK(rc == 0 || rc == -ENOENT || rc == -EALREADY || rc == -ESTALE);
        if (rc != 0)
            continue;
        CHECK(p.ssrc == 0xabcdef);
        uint16_t in_seq;
        CHECK(rtp_rewriter_seq_to_input(&rw, p.seq, &in_seq) == 0 && in_seq == seq);
        /* Every step stays well within half the circle of the newest number. */
        uint16_t d16 = (uint16_t)(p.seq - (uint16_t)ext_max);
        int d = d16 < 0x8000 ? d16 : (int)d16 - 0x10000;
        CHECK(d > -RTP_REWRITER_WINDOW && d <= RTP_REWRITER_MAX_DROPOUT + (ext_virt - ext_max));
        int64_t ext = ext_max + d;
        CHECK(emitted_add(ext));
        if (ext > ext_max)
            ext_max = ext;
        /* The newest position now (a new source starts after the last sent). */
        if (rw.max_in_seq == seq)
            ext_virt = ext;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_rtp_packet(data + 1, size - 1);
        break;
    case 1:
        fuzz_rtcp(data + 1, size - 1);
        break;
    default:
        fuzz_rewriter(data + 1, size - 1);
        break;
    }
    return 0;
}
