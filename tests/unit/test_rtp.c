/* Unit tests: RTP parse and header extensions, RTCP parse and build, the
 * per-consumer rewriter (rtp/rtp.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "rtp/rtp.h"

/* ---- helpers ---- */

/* V=2, P=0, X=0, CC=0, M=1, PT=111, seq 0x1234, ts 0xdeadbeef, SSRC 0x01020304, "abcd". */
static const uint8_t plain_packet[] = {0x80, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
                                       0x01, 0x02, 0x03, 0x04, 'a',  'b',  'c',  'd'};

/* V=2, P=1, X=1, CC=2; one-byte block of 3 words: audio level (id 1), abs-send-time
 * (id 3), a padding byte, twcc (id 5), mid "0" (id 9); payload "xyz", 3 padding. */
static const uint8_t full_packet[] = {0xb2, 0x6f, 0xff, 0xff, 0x00, 0x00, 0x10, 0x00,
                                      0xaa, 0xbb, 0xcc, 0xdd,                         /* fixed */
                                      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* CSRCs */
                                      0xbe, 0xde, 0x00, 0x04,                         /* block */
                                      0x10, 0x85,             /* id 1 L 0: voice, 5 dBov */
                                      0x32, 0x12, 0x34, 0x56, /* id 3 L 2: abs-send-time 0x123456 */
                                      0x00,                   /* padding */
                                      0x51, 0x01, 0x02,       /* id 5 L 1: twcc 0x0102 */
                                      0x90, '0',              /* id 9 L 0: mid "0" */
                                      0x00, 0x00, 0x00, 0x00, /* padding to the word */
                                      'x',  'y',  'z',  0x00, 0x00, 0x03};

/* A fresh heap copy of exactly len bytes, so that AddressSanitizer sees any read past it. */
static uint8_t *dup_exact(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len)
        memcpy(p, src, len);
    return p;
}

/* A packet with a one-byte or two-byte block holding elems, payload "PAYLOAD". */
static size_t build_with_exts(uint8_t *buf, size_t cap, const rtp_ext_t *elems, int count)
{
    int n = rtp_header_write(buf, cap, 96, false, 7, 9000, 0x11223344);
    assert_int_equal(n, RTP_HEADER_LEN);
    memcpy(buf + n, "PAYLOAD", 7);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, (size_t)n + 7), 0);
    assert_int_equal(rtp_packet_set_extensions(&p, cap, elems, count), 0);
    return p.len;
}

/* ---- RTP ---- */

static void test_parse_plain_packet(void **state)
{
    (void)state;
    uint8_t buf[sizeof plain_packet];
    memcpy(buf, plain_packet, sizeof buf);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    assert_int_equal(p.pt, 111);
    assert_true(p.marker);
    assert_int_equal(p.seq, 0x1234);
    assert_int_equal(p.ts, 0xdeadbeef);
    assert_int_equal(p.ssrc, 0x01020304);
    assert_int_equal(p.header_len, 12);
    assert_int_equal(p.payload_len, 4);
    assert_ptr_equal(p.payload, buf + 12);
    assert_memory_equal(p.payload, "abcd", 4);
    assert_null(p.ext);
    assert_int_equal(p.padding_len, 0);
}

static void test_parse_full_packet(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    assert_int_equal(p.csrc_count, 2);
    assert_false(p.marker);
    assert_int_equal(p.pt, 111);
    assert_int_equal(p.seq, 0xffff);
    assert_int_equal(p.ssrc, 0xaabbccdd);
    assert_int_equal(p.ext_profile, RTP_EXT_PROFILE_ONE_BYTE);
    assert_int_equal(p.ext_len, 16);
    assert_ptr_equal(p.ext, buf + 24);
    assert_int_equal(p.header_len, 40);
    assert_int_equal(p.padding_len, 3);
    assert_int_equal(p.payload_len, 3);
    assert_memory_equal(p.payload, "xyz", 3);
}

static void test_parse_every_truncation(void **state)
{
    (void)state;
    /* Without padding every prefix that covers the header parses; shorter ones do not. */
    for (size_t len = 0; len <= sizeof full_packet; len++) {
        uint8_t *b = dup_exact(full_packet, len);
        b[0] = len ? (uint8_t)(b[0] & ~0x20) : b[0];
        rtp_packet_t p;
        int rc = rtp_packet_parse(&p, b, len);
        if (len < 40) {
            assert_int_equal(rc, -EINVAL);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(p.payload_len, len - 40);
        }
        free(b);
    }
    /* With padding: never a read past the end; the header must still fit. */
    for (size_t len = 0; len < sizeof full_packet; len++) {
        uint8_t *b = dup_exact(full_packet, len);
        rtp_packet_t p;
        int rc = rtp_packet_parse(&p, b, len);
        if (len <= 40)
            assert_int_equal(rc, -EINVAL);
        else if (rc == 0)
            assert_true(p.header_len + p.payload_len + p.padding_len == len);
        free(b);
    }
}

static void test_parse_rejects_bad_version(void **state)
{
    (void)state;
    uint8_t buf[sizeof plain_packet];
    for (int v = 0; v < 4; v++) {
        memcpy(buf, plain_packet, sizeof buf);
        buf[0] = (uint8_t)(v << 6);
        rtp_packet_t p;
        assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), v == 2 ? 0 : -EINVAL);
    }
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, NULL, 0), -EINVAL);
}

static void test_parse_rejects_csrc_past_end(void **state)
{
    (void)state;
    uint8_t buf[sizeof plain_packet];
    memcpy(buf, plain_packet, sizeof buf);
    rtp_packet_t p;
    buf[0] = 0x81; /* one CSRC: the 4 payload bytes */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    assert_int_equal(p.payload_len, 0);
    buf[0] = 0x82; /* two: 4 bytes short */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), -EINVAL);
    buf[0] = 0x8f; /* fifteen */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), -EINVAL);
}

static void test_parse_rejects_bad_padding(void **state)
{
    (void)state;
    uint8_t buf[sizeof plain_packet];
    memcpy(buf, plain_packet, sizeof buf);
    buf[0] |= 0x20;
    rtp_packet_t p;
    buf[15] = 5; /* more than the 4 bytes after the header */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), -EINVAL);
    buf[15] = 0; /* the count includes itself: 0 is not a count */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), -EINVAL);
    buf[15] = 4; /* all of it padding: a padding-only packet */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(p.padding_len, 4);
    /* Padding flag with nothing after the header. */
    assert_int_equal(rtp_packet_parse(&p, buf, 12), -EINVAL);
}

static void test_parse_rejects_extension_past_end(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    buf[0] &= (uint8_t)~0x20;
    rtp_packet_t p;
    buf[23] = 10; /* 40 bytes of elements in a 26-byte rest */
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), -EINVAL);
    buf[23] = 0xff;
    buf[22] = 0xff;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), -EINVAL);
    /* X set but not even the 4-byte block header fits. */
    assert_int_equal(rtp_packet_parse(&p, buf, 22), -EINVAL);
}

static void test_setters_and_header_write(void **state)
{
    (void)state;
    uint8_t buf[32];
    assert_int_equal(rtp_header_write(buf, 11, 96, true, 1, 2, 3), -ENOSPC);
    assert_int_equal(rtp_header_write(buf, sizeof buf, 96, true, 65535, 0xffffffff, 42), 12);
    memcpy(buf + 12, "pl", 2);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, 14), 0);
    assert_int_equal(p.pt, 96);
    assert_true(p.marker);
    assert_int_equal(p.seq, 65535);
    assert_int_equal(p.ts, 0xffffffff);
    assert_int_equal(p.ssrc, 42);
    rtp_packet_set_ssrc(&p, 0xcafebabe);
    rtp_packet_set_seq(&p, 7);
    rtp_packet_set_ts(&p, 123456);
    rtp_packet_set_pt(&p, 100);
    rtp_packet_set_marker(&p, false);
    rtp_packet_t q;
    assert_int_equal(rtp_packet_parse(&q, buf, 14), 0);
    assert_int_equal(q.ssrc, 0xcafebabe);
    assert_int_equal(q.seq, 7);
    assert_int_equal(q.ts, 123456);
    assert_int_equal(q.pt, 100);
    assert_false(q.marker);
    assert_memory_equal(q.payload, "pl", 2);
}

/* ---- header extensions ---- */

static void test_one_byte_extensions(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);

    rtp_ext_iter_t it;
    rtp_ext_t e;
    uint8_t ids[8], lens[8];
    int n = 0;
    rtp_ext_iter_init(&it, &p);
    while (rtp_ext_next(&it, &e) == 1 && n < 8) {
        assert_false(e.two_byte);
        ids[n] = e.id;
        lens[n++] = e.len;
    }
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 1);
    assert_int_equal(lens[0], 1);
    assert_int_equal(ids[1], 3);
    assert_int_equal(lens[1], 3);
    assert_int_equal(ids[2], 5);
    assert_int_equal(lens[2], 2);
    assert_int_equal(ids[3], 9);
    assert_int_equal(lens[3], 1);

    bool voice;
    uint8_t level;
    assert_int_equal(rtp_ext_find(&p, 1, &e), 0);
    assert_int_equal(rtp_ext_read_audio_level(&e, &voice, &level), 0);
    assert_true(voice);
    assert_int_equal(level, 5);
    uint32_t ast;
    assert_int_equal(rtp_ext_find(&p, 3, &e), 0);
    assert_int_equal(rtp_ext_read_abs_send_time(&e, &ast), 0);
    assert_int_equal(ast, 0x123456);
    uint16_t tseq;
    assert_int_equal(rtp_ext_find(&p, 5, &e), 0);
    assert_int_equal(rtp_ext_read_twcc_seq(&e, &tseq), 0);
    assert_int_equal(tseq, 0x0102);
    char mid[17];
    assert_int_equal(rtp_ext_find(&p, 9, &e), 0);
    assert_int_equal(rtp_ext_read_mid(&e, mid, sizeof mid), 0);
    assert_string_equal(mid, "0");
    assert_int_equal(rtp_ext_read_mid(&e, mid, 1), -ENOSPC);
    assert_int_equal(rtp_ext_find(&p, 2, &e), -ENOENT);
    /* Wrong sizes for the type. */
    assert_int_equal(rtp_ext_find(&p, 1, &e), 0);
    assert_int_equal(rtp_ext_read_abs_send_time(&e, &ast), -EINVAL);
    assert_int_equal(rtp_ext_read_twcc_seq(&e, &tseq), -EINVAL);
}

static void test_one_byte_id15_ends_block(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    buf[30] = 0xf0; /* the padding byte before twcc becomes ID 15 */
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    rtp_ext_t e;
    assert_int_equal(rtp_ext_find(&p, 3, &e), 0);
    assert_int_equal(rtp_ext_find(&p, 5, &e), -ENOENT);
    assert_int_equal(rtp_ext_find(&p, 9, &e), -ENOENT);
}

static void test_malformed_extension_element(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    buf[34] = 0x9f; /* mid claims 16 bytes, 5 are left in the block */
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    rtp_ext_t e;
    assert_int_equal(rtp_ext_find(&p, 9, &e), -EINVAL);
    assert_int_equal(rtp_ext_find(&p, 1, &e), 0);
    rtp_ext_map_t map;
    rtp_ext_map_init(&map);
    assert_int_equal(rtp_ext_remap(&p, &map), -EINVAL);

    /* Two-byte: a length past the block, and a lone id byte at its end. */
    uint8_t tb[] = {0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x10, 0x00, 0x00, 0x01, 200, 9, 1, 2};
    assert_int_equal(rtp_packet_parse(&p, tb, sizeof tb), 0);
    assert_int_equal(rtp_ext_find(&p, 200, &e), -EINVAL);
    tb[16] = 0;
    tb[17] = 0;
    tb[18] = 0;
    tb[19] = 7;
    assert_int_equal(rtp_ext_find(&p, 7, &e), -EINVAL);
}

static void test_other_profile_yields_nothing(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    buf[20] = 0x12; /* profile 0x12de */
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    rtp_ext_t e;
    assert_int_equal(rtp_ext_find(&p, 1, &e), -ENOENT);
}

static void test_two_byte_extensions(void **state)
{
    (void)state;
    uint8_t big[40];
    memset(big, 0x5a, sizeof big);
    uint8_t one = 0x7f;
    rtp_ext_t in[] = {
        {.id = 1, .len = 1, .data = &one},
        {.id = 20, .len = 0, .data = NULL},
        {.id = 255, .len = sizeof big, .data = big},
    };
    uint8_t buf[256];
    size_t len = build_with_exts(buf, sizeof buf, in, 3);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, len), 0);
    assert_int_equal(p.ext_profile, RTP_EXT_PROFILE_TWO_BYTE);
    assert_int_equal(p.payload_len, 7);
    assert_memory_equal(p.payload, "PAYLOAD", 7);
    rtp_ext_t e;
    assert_int_equal(rtp_ext_find(&p, 1, &e), 0);
    assert_true(e.two_byte);
    assert_int_equal(e.len, 1);
    assert_int_equal(e.data[0], 0x7f);
    assert_int_equal(rtp_ext_find(&p, 20, &e), 0);
    assert_int_equal(e.len, 0);
    assert_int_equal(rtp_ext_find(&p, 255, &e), 0);
    assert_int_equal(e.len, sizeof big);
    assert_memory_equal(e.data, big, sizeof big);
    /* The appbits nibble does not change the form. */
    buf[13] = 0x0f;
    assert_int_equal(rtp_packet_parse(&p, buf, len), 0);
    assert_int_equal(rtp_ext_find(&p, 255, &e), 0);
}

static void test_remap_one_byte(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    rtp_ext_map_t map;
    rtp_ext_map_init(&map);
    assert_int_equal(rtp_ext_map_set(&map, 1, 3), 0);   /* audio level 1 -> 3 */
    assert_int_equal(rtp_ext_map_set(&map, 3, 2), 0);   /* abs-send-time 3 -> 2 */
    assert_int_equal(rtp_ext_map_set(&map, 9, 200), 0); /* too big for one byte: dropped */
    assert_int_equal(rtp_ext_map_set(&map, 0, 1), -EINVAL);
    assert_int_equal(rtp_ext_map_set(&map, 1, 0), -EINVAL);
    /* 5 (twcc) is not mapped: dropped. */
    assert_int_equal(rtp_ext_remap(&p, &map), 2);

    rtp_packet_t q;
    assert_int_equal(rtp_packet_parse(&q, buf, sizeof buf), 0);
    assert_int_equal(q.len, sizeof full_packet);
    assert_memory_equal(q.payload, "xyz", 3);
    rtp_ext_t e;
    bool voice;
    uint8_t level;
    uint32_t ast;
    assert_int_equal(rtp_ext_find(&q, 3, &e), 0);
    assert_int_equal(rtp_ext_read_audio_level(&e, &voice, &level), 0);
    assert_int_equal(level, 5);
    assert_int_equal(rtp_ext_find(&q, 2, &e), 0);
    assert_int_equal(rtp_ext_read_abs_send_time(&e, &ast), 0);
    assert_int_equal(ast, 0x123456);
    assert_int_equal(rtp_ext_find(&q, 5, &e), -ENOENT);
    assert_int_equal(rtp_ext_find(&q, 9, &e), -ENOENT);
    assert_int_equal(rtp_ext_find(&q, 1, &e), -ENOENT);
    /* Dropped elements are zero bytes now. */
    assert_memory_equal(buf + 31, "\0\0\0\0\0", 5);
}

static void test_remap_two_byte(void **state)
{
    (void)state;
    uint8_t v1 = 1, v2[3] = {2, 2, 2};
    rtp_ext_t in[] = {{.id = 30, .len = 1, .data = &v1}, {.id = 40, .len = 3, .data = v2}};
    uint8_t buf[128];
    size_t len = build_with_exts(buf, sizeof buf, in, 2);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, len), 0);
    rtp_ext_map_t map;
    rtp_ext_map_init(&map);
    rtp_ext_map_set(&map, 30, 250);
    assert_int_equal(rtp_ext_remap(&p, &map), 1);
    rtp_ext_t e;
    assert_int_equal(rtp_ext_find(&p, 250, &e), 0);
    assert_int_equal(e.data[0], 1);
    assert_int_equal(rtp_ext_find(&p, 40, &e), -ENOENT);
    assert_int_equal(rtp_ext_find(&p, 30, &e), -ENOENT);
}

static void test_set_extensions_grows_and_shrinks(void **state)
{
    (void)state;
    uint8_t buf[128];
    memcpy(buf, full_packet, sizeof full_packet);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof full_packet), 0);

    /* Keep audio level (pointing into the packet itself) and add a longer mid. */
    rtp_ext_t level;
    assert_int_equal(rtp_ext_find(&p, 1, &level), 0);
    rtp_ext_t out[] = {level, {.id = 4, .len = 12, .data = (uint8_t *)"subscriber-7"}};
    assert_int_equal(rtp_packet_set_extensions(&p, sizeof buf, out, 2), 0);
    assert_int_equal(p.ext_len, 16);
    rtp_packet_t q;
    assert_int_equal(rtp_packet_parse(&q, buf, p.len), 0);
    assert_int_equal(q.csrc_count, 2);
    assert_int_equal(q.padding_len, 3);
    assert_int_equal(q.payload_len, 3);
    assert_memory_equal(q.payload, "xyz", 3);
    rtp_ext_t e;
    char mid[32];
    bool voice;
    uint8_t db;
    assert_int_equal(rtp_ext_find(&q, 4, &e), 0);
    assert_int_equal(rtp_ext_read_mid(&e, mid, sizeof mid), 0);
    assert_string_equal(mid, "subscriber-7");
    assert_int_equal(rtp_ext_find(&q, 1, &e), 0);
    assert_int_equal(rtp_ext_read_audio_level(&e, &voice, &db), 0);
    assert_int_equal(db, 5);

    /* Too little room: nothing changes. */
    static uint8_t bytes200[200];
    rtp_ext_t huge = {.id = 7, .len = 200, .data = bytes200};
    assert_int_equal(rtp_packet_set_extensions(&q, q.len + 8, &huge, 1), -ENOSPC);
    assert_int_equal(rtp_packet_parse(&q, buf, p.len), 0);
    rtp_ext_t zero_id = {.id = 0, .len = 1, .data = buf};
    assert_int_equal(rtp_packet_set_extensions(&q, sizeof buf, &zero_id, 1), -EINVAL);

    /* Remove the block. */
    assert_int_equal(rtp_packet_set_extensions(&q, sizeof buf, NULL, 0), 0);
    assert_int_equal(rtp_packet_parse(&q, buf, q.len), 0);
    assert_null(q.ext);
    assert_int_equal(q.header_len, 20);
    assert_int_equal(q.len, 26);
    assert_memory_equal(q.payload, "xyz", 3);
    assert_int_equal(q.padding_len, 3);
}

static void test_typed_writes(void **state)
{
    (void)state;
    uint8_t buf[sizeof full_packet];
    memcpy(buf, full_packet, sizeof buf);
    rtp_packet_t p;
    assert_int_equal(rtp_packet_parse(&p, buf, sizeof buf), 0);
    rtp_ext_t e;
    assert_int_equal(rtp_ext_find(&p, 1, &e), 0);
    assert_int_equal(rtp_ext_write_audio_level(&e, false, 127), 0);
    assert_int_equal(rtp_ext_write_audio_level(&e, false, 128), -EINVAL);
    assert_int_equal(rtp_ext_find(&p, 3, &e), 0);
    assert_int_equal(rtp_ext_write_abs_send_time(&e, 0xabcdef), 0);
    assert_int_equal(rtp_ext_find(&p, 5, &e), 0);
    assert_int_equal(rtp_ext_write_twcc_seq(&e, 0xfffe), 0);
    assert_int_equal(rtp_ext_find(&p, 9, &e), 0);
    assert_int_equal(rtp_ext_write_mid(&e, "10"), -ENOSPC);
    assert_int_equal(rtp_ext_write_mid(&e, ""), -EINVAL);
    assert_int_equal(rtp_ext_write_mid(&e, "7"), 0);

    bool voice;
    uint8_t level;
    uint32_t ast;
    uint16_t tseq;
    char mid[4];
    assert_int_equal(rtp_ext_find(&p, 1, &e), 0);
    assert_int_equal(rtp_ext_read_audio_level(&e, &voice, &level), 0);
    assert_false(voice);
    assert_int_equal(level, 127);
    assert_int_equal(rtp_ext_find(&p, 3, &e), 0);
    assert_int_equal(rtp_ext_read_abs_send_time(&e, &ast), 0);
    assert_int_equal(ast, 0xabcdef);
    assert_int_equal(rtp_ext_find(&p, 5, &e), 0);
    assert_int_equal(rtp_ext_read_twcc_seq(&e, &tseq), 0);
    assert_int_equal(tseq, 0xfffe);
    assert_int_equal(rtp_ext_find(&p, 9, &e), 0);
    assert_int_equal(rtp_ext_read_mid(&e, mid, sizeof mid), 0);
    assert_string_equal(mid, "7");

    /* A longer mid shrinks in place: the rest becomes padding. */
    uint8_t b2[64];
    rtp_ext_t m = {.id = 9, .len = 4, .data = (uint8_t *)"abcd"};
    size_t len = build_with_exts(b2, sizeof b2, &m, 1);
    assert_int_equal(rtp_packet_parse(&p, b2, len), 0);
    assert_int_equal(rtp_ext_find(&p, 9, &e), 0);
    assert_int_equal(rtp_ext_write_mid(&e, "xy"), 0);
    assert_int_equal(rtp_ext_find(&p, 9, &e), 0);
    assert_int_equal(rtp_ext_read_mid(&e, mid, sizeof mid), 0);
    assert_string_equal(mid, "xy");
    rtp_ext_iter_t it;
    int count = 0;
    rtp_ext_iter_init(&it, &p);
    while (rtp_ext_next(&it, &e) == 1)
        count++;
    assert_int_equal(count, 1);
}

static void test_abs_send_time_from_us(void **state)
{
    (void)state;
    assert_int_equal(rtp_abs_send_time_from_us(0), 0);
    assert_int_equal(rtp_abs_send_time_from_us(1000000), 1 << 18);
    assert_int_equal(rtp_abs_send_time_from_us(1500000), 0x60000);
    assert_int_equal(rtp_abs_send_time_from_us(64000000), 0);
    assert_int_equal(rtp_abs_send_time_from_us(63999999), 0xffffff);
    assert_true(rtp_abs_send_time_from_us(UINT64_MAX) <= 0xffffff);
}

/* ---- RTCP ---- */

static const rtcp_report_block_t block_a = {.ssrc = 0x11111111,
                                            .fraction_lost = 25,
                                            .cumulative_lost = -3,
                                            .highest_seq = 0x0001fffe,
                                            .jitter = 120,
                                            .lsr = 0xabcd1234,
                                            .dlsr = 65536};
static const rtcp_report_block_t block_b = {.ssrc = 0x22222222,
                                            .fraction_lost = 0,
                                            .cumulative_lost = 0x7fffff,
                                            .highest_seq = 1,
                                            .jitter = 0,
                                            .lsr = 0,
                                            .dlsr = 0};

static void assert_block_equal(const rtcp_report_block_t *a, const rtcp_report_block_t *b)
{
    assert_int_equal(a->ssrc, b->ssrc);
    assert_int_equal(a->fraction_lost, b->fraction_lost);
    assert_int_equal(a->cumulative_lost, b->cumulative_lost);
    assert_int_equal(a->highest_seq, b->highest_seq);
    assert_int_equal(a->jitter, b->jitter);
    assert_int_equal(a->lsr, b->lsr);
    assert_int_equal(a->dlsr, b->dlsr);
}

/* SR with two blocks, an SDES, a PLI, a NACK and a padded REMB, in one compound. */
static size_t build_compound(uint8_t *buf, size_t cap)
{
    size_t n = 0;
    rtcp_sr_t sr = {.ssrc = 0xaaaa0001,
                    .ntp = 0xe1234567890abcdeull,
                    .rtp_ts = 0xfffffff0,
                    .packet_count = 1000,
                    .octet_count = 1200000};
    rtcp_report_block_t blocks[] = {block_a, block_b};
    int rc = rtcp_write_sr(buf, cap, &sr, blocks, 2);
    assert_int_equal(rc, 4 + 24 + 48);
    n += (size_t)rc;
    /* SDES: one chunk, CNAME "ab", END, padded to the word. */
    static const uint8_t sdes[] = {0x81, 202,  0x00, 0x03, 0xaa, 0xaa, 0x00, 0x01,
                                   0x01, 0x02, 'a',  'b',  0x00, 0x00, 0x00, 0x00};
    memcpy(buf + n, sdes, sizeof sdes);
    n += sizeof sdes;
    rc = rtcp_write_pli(buf + n, cap - n, 0xaaaa0001, 0xbbbb0002);
    assert_int_equal(rc, 12);
    n += (size_t)rc;
    uint16_t seqs[] = {100, 101, 117};
    rc = rtcp_write_nack(buf + n, cap - n, 0xaaaa0001, 0xbbbb0002, seqs, 3);
    assert_int_equal(rc, 20);
    n += (size_t)rc;
    uint32_t ssrcs[] = {0xbbbb0002};
    rc = rtcp_write_remb(buf + n, cap - n, 0xaaaa0001, 1500000, ssrcs, 1);
    assert_int_equal(rc, 24);
    /* Pad the last packet by 4 bytes (RFC 3550 6.4.1: P on the last packet). */
    buf[n] |= 0x20;
    buf[n + 3] += 1;
    memcpy(buf + n + 24, "\0\0\0\x04", 4);
    n += 28;
    return n;
}

static void test_rtcp_compound_iteration(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = build_compound(buf, sizeof buf);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    uint8_t pts[8];
    size_t lens[8];
    int n = 0;
    rtcp_iter_init(&it, buf, len);
    int rc;
    while ((rc = rtcp_iter_next(&it, &pkt)) == 1 && n < 8) {
        pts[n] = pkt.pt;
        lens[n++] = pkt.len;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 5);
    assert_int_equal(pts[0], RTCP_PT_SR);
    assert_int_equal(pts[1], RTCP_PT_SDES);
    assert_int_equal(pts[2], RTCP_PT_PSFB);
    assert_int_equal(pts[3], RTCP_PT_RTPFB);
    assert_int_equal(pts[4], RTCP_PT_PSFB);
    assert_int_equal(lens[0] + lens[1] + lens[2] + lens[3] + lens[4], len);
    /* The padded REMB still parses: padding is not FCI. */
    assert_int_equal(pkt.body_len, 20);
    rtcp_remb_t remb;
    assert_int_equal(rtcp_parse_remb(&pkt, &remb), 0);
    assert_int_equal(remb.ssrc_count, 1);

    /* Empty input: nothing, no error. */
    rtcp_iter_init(&it, NULL, 0);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
}

static void test_rtcp_truncated_and_garbage(void **state)
{
    (void)state;
    uint8_t full[256];
    size_t len = build_compound(full, sizeof full);
    /* Every truncation: whole packets come out, then an error; never a read past the end. */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = dup_exact(full, cut);
        rtcp_iter_t it;
        rtcp_packet_t pkt;
        size_t seen = 0;
        int rc;
        rtcp_iter_init(&it, b, cut);
        while ((rc = rtcp_iter_next(&it, &pkt)) == 1)
            seen += pkt.len;
        assert_true(seen <= cut);
        if (seen < cut)
            assert_int_equal(rc, -EINVAL);
        assert_int_equal(rtcp_iter_next(&it, &pkt), 0); /* stays at the end */
        free(b);
    }
    uint8_t bad[sizeof full];
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    /* Version 1 in the second packet. */
    memcpy(bad, full, len);
    bad[76] = (uint8_t)((bad[76] & 0x3f) | 0x40);
    rtcp_iter_init(&it, bad, len);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_iter_next(&it, &pkt), -EINVAL);
    /* Padding count larger than the packet; padding count 0. */
    memcpy(bad, full, len);
    bad[len - 1] = 200;
    rtcp_iter_init(&it, bad, len);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_iter_next(&it, &pkt), -EINVAL);
    bad[len - 1] = 0;
    rtcp_iter_init(&it, bad, len);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_iter_next(&it, &pkt), -EINVAL);
    /* Report count larger than the blocks present. */
    memcpy(bad, full, len);
    bad[0] = 0x83;
    rtcp_iter_init(&it, bad, len);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    rtcp_sr_t sr;
    assert_int_equal(rtcp_parse_sr(&pkt, &sr), -EINVAL);
}

static void test_rtcp_sr_round_trip(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = build_compound(buf, sizeof buf);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_iter_init(&it, buf, len);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    rtcp_sr_t sr;
    assert_int_equal(rtcp_parse_sr(&pkt, &sr), 0);
    assert_int_equal(sr.ssrc, 0xaaaa0001);
    assert_true(sr.ntp == 0xe1234567890abcdeull);
    assert_int_equal(sr.rtp_ts, 0xfffffff0);
    assert_int_equal(sr.packet_count, 1000);
    assert_int_equal(sr.octet_count, 1200000);
    assert_int_equal(sr.report_count, 2);
    rtcp_report_block_t b;
    rtcp_report_block_read(sr.reports, 0, &b);
    assert_block_equal(&b, &block_a);
    rtcp_report_block_read(sr.reports, 1, &b);
    assert_block_equal(&b, &block_b);
    rtcp_rr_t rr;
    assert_int_equal(rtcp_parse_rr(&pkt, &rr), -EINVAL);
    rtcp_fb_t fb;
    assert_int_equal(rtcp_parse_fb(&pkt, &fb), -EINVAL);

    assert_int_equal(rtcp_write_sr(buf, 4 + 24 + 23, &sr, &block_a, 1), -ENOSPC);
    assert_int_equal(rtcp_write_sr(buf, sizeof buf, &sr, &block_a, 32), -EINVAL);
    assert_int_equal(rtcp_write_sr(buf, sizeof buf, &sr, NULL, 0), 28);
}

static void test_rtcp_rr_round_trip(void **state)
{
    (void)state;
    uint8_t buf[64];
    rtcp_report_block_t clamped = block_a;
    clamped.cumulative_lost = -9000000; /* below the 24-bit range: clamped */
    assert_int_equal(rtcp_write_rr(buf, 31, 0x12345678, &clamped, 1), -ENOSPC);
    assert_int_equal(rtcp_write_rr(buf, sizeof buf, 0x12345678, &clamped, -1), -EINVAL);
    assert_int_equal(rtcp_write_rr(buf, sizeof buf, 0x12345678, &clamped, 1), 32);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_iter_init(&it, buf, 32);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(pkt.pt, RTCP_PT_RR);
    rtcp_rr_t rr;
    assert_int_equal(rtcp_parse_rr(&pkt, &rr), 0);
    assert_int_equal(rr.ssrc, 0x12345678);
    assert_int_equal(rr.report_count, 1);
    rtcp_report_block_t b;
    rtcp_report_block_read(rr.reports, 0, &b);
    clamped.cumulative_lost = -0x800000;
    assert_block_equal(&b, &clamped);
    rtcp_sr_t sr;
    assert_int_equal(rtcp_parse_sr(&pkt, &sr), -EINVAL);
    /* Empty RR (a sender with nothing to report). */
    assert_int_equal(rtcp_write_rr(buf, sizeof buf, 7, NULL, 0), 8);
    rtcp_iter_init(&it, buf, 8);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_parse_rr(&pkt, &rr), 0);
    assert_int_equal(rr.report_count, 0);
}

static void test_rtcp_pli_fir_round_trip(void **state)
{
    (void)state;
    uint8_t buf[64];
    assert_int_equal(rtcp_write_pli(buf, 11, 1, 2), -ENOSPC);
    assert_int_equal(rtcp_write_pli(buf, sizeof buf, 0x01010101, 0x02020202), 12);
    assert_int_equal(rtcp_write_fir(buf + 12, 19, 1, 2, 3), -ENOSPC);
    assert_int_equal(rtcp_write_fir(buf + 12, sizeof buf - 12, 0x01010101, 0x03030303, 9), 20);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_fb_t fb;
    rtcp_iter_init(&it, buf, 32);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_parse_fb(&pkt, &fb), 0);
    assert_true(rtcp_fb_is_pli(&fb));
    assert_int_equal(fb.sender_ssrc, 0x01010101);
    assert_int_equal(fb.media_ssrc, 0x02020202);
    assert_int_equal(fb.fci_len, 0);
    assert_int_equal(rtcp_fir_count(&fb), -EINVAL);
    assert_int_equal(rtcp_nack_count(&fb), -EINVAL);

    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_parse_fb(&pkt, &fb), 0);
    assert_false(rtcp_fb_is_pli(&fb));
    assert_int_equal(fb.fmt, RTCP_FMT_FIR);
    assert_int_equal(fb.media_ssrc, 0);
    assert_int_equal(rtcp_fir_count(&fb), 1);
    uint32_t ssrc;
    uint8_t seq_nr;
    rtcp_fir_entry(&fb, 0, &ssrc, &seq_nr);
    assert_int_equal(ssrc, 0x03030303);
    assert_int_equal(seq_nr, 9);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
    /* Feedback shorter than its two SSRCs. */
    uint8_t shortfb[] = {0x81, 206, 0x00, 0x01, 0, 0, 0, 1};
    rtcp_iter_init(&it, shortfb, sizeof shortfb);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_parse_fb(&pkt, &fb), -EINVAL);
}

static void test_rtcp_nack_round_trip(void **state)
{
    (void)state;
    /* Runs within 16 share an entry; 65535 -> 0 -> 5 wraps into one entry. */
    uint16_t seqs[] = {100, 101, 105, 116, 117, 200, 65535, 0, 5, 300, 300};
    const int n = (int)(sizeof seqs / sizeof seqs[0]);
    uint8_t buf[128];
    assert_int_equal(rtcp_write_nack(buf, sizeof buf, 1, 2, seqs, 0), -EINVAL);
    assert_int_equal(rtcp_write_nack(buf, 12 + 4 * 5 - 1, 1, 2, seqs, n), -ENOSPC);
    int len = rtcp_write_nack(buf, sizeof buf, 1, 2, seqs, n);
    /* Entries: 100 {101,105,116}, 117, 200, 65535 {0,5}, 300, 300. */
    assert_int_equal(len, 12 + 4 * 6);
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_fb_t fb;
    rtcp_iter_init(&it, buf, (size_t)len);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.pt, RTCP_PT_RTPFB);
    assert_int_equal(rtcp_nack_count(&fb), 6);
    uint16_t pid, blp;
    rtcp_nack_entry(&fb, 0, &pid, &blp);
    assert_int_equal(pid, 100);
    assert_int_equal(blp, (1 << 0) | (1 << 4) | (1 << 15));
    uint16_t out[64];
    int got = rtcp_nack_seqs(&fb, out, 64);
    assert_int_equal(got, n);
    assert_memory_equal(out, seqs, sizeof seqs);
    assert_int_equal(rtcp_nack_seqs(&fb, out, 3), 3);
    rtcp_fb_t pli = fb;
    pli.pt = RTCP_PT_PSFB;
    assert_int_equal(rtcp_nack_seqs(&pli, out, 64), -EINVAL);
}

static void test_rtcp_remb_round_trip(void **state)
{
    (void)state;
    static const uint64_t rates[] = {
        0, 1, 0x3ffff, 0x40000, 1500000, 2500000000ull, 0x3ffffull << 46};
    uint32_t ssrcs[] = {0x01020304, 0x05060708, 0x090a0b0c};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        uint8_t buf[64];
        int len = rtcp_write_remb(buf, sizeof buf, 0xfeedface, rates[i], ssrcs, 3);
        assert_int_equal(len, 32);
        rtcp_iter_t it;
        rtcp_packet_t pkt;
        rtcp_iter_init(&it, buf, (size_t)len);
        assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
        rtcp_remb_t remb;
        assert_int_equal(rtcp_parse_remb(&pkt, &remb), 0);
        assert_int_equal(remb.sender_ssrc, 0xfeedface);
        /* Rounded down to 18 significant bits, never up. */
        assert_true(remb.bitrate_bps <= rates[i]);
        assert_true(rates[i] - remb.bitrate_bps <= rates[i] / 0x20000);
        assert_int_equal(remb.ssrc_count, 3);
        for (int k = 0; k < 3; k++)
            assert_int_equal(rtcp_remb_ssrc(&remb, k), ssrcs[k]);
    }
    uint8_t buf[64];
    assert_int_equal(rtcp_write_remb(buf, 19, 1, 1000, NULL, 0), -ENOSPC);
    assert_int_equal(rtcp_write_remb(buf, sizeof buf, 1, 1000, NULL, 256), -EINVAL);
    /* Exponent 63 with a full mantissa saturates instead of overflowing. */
    assert_int_equal(rtcp_write_remb(buf, sizeof buf, 1, 1000, NULL, 0), 20);
    buf[17] = 0xff;
    buf[18] = buf[19] = 0xff;
    rtcp_iter_t it;
    rtcp_packet_t pkt;
    rtcp_remb_t remb;
    rtcp_iter_init(&it, buf, 20);
    assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(rtcp_parse_remb(&pkt, &remb), 0);
    assert_true(remb.bitrate_bps == UINT64_MAX);
    /* SSRC count beyond the packet; not "REMB". */
    buf[16] = 1;
    assert_int_equal(rtcp_parse_remb(&pkt, &remb), -EINVAL);
    buf[16] = 0;
    buf[12] = 'X';
    assert_int_equal(rtcp_parse_remb(&pkt, &remb), -EINVAL);
}

/* ---- rewriter ---- */

typedef struct fake_pkt {
    uint8_t buf[32];
    rtp_packet_t p;
} fake_pkt_t;

/* A packet of ssrc/seq/ts run through the rewriter; returns its result. */
static int rewrite(rtp_rewriter_t *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now_ms,
                   uint16_t *out_seq, uint32_t *out_ts)
{
    fake_pkt_t f;
    rtp_header_write(f.buf, sizeof f.buf, 96, false, seq, ts, ssrc);
    memcpy(f.buf + 12, "data", 4);
    assert_int_equal(rtp_packet_parse(&f.p, f.buf, 16), 0);
    int rc = rtp_rewriter_rewrite(rw, &f.p, now_ms);
    rtp_packet_t q;
    assert_int_equal(rtp_packet_parse(&q, f.buf, 16), 0);
    if (rc == 0) {
        assert_int_equal(q.ssrc, rw->out_ssrc);
        assert_int_equal(q.seq, f.p.seq);
        assert_int_equal(q.ts, f.p.ts);
        *out_seq = q.seq;
        *out_ts = q.ts;
    } else {
        assert_int_equal(q.ssrc, ssrc); /* untouched */
        assert_int_equal(q.seq, seq);
        assert_int_equal(q.ts, ts);
    }
    assert_memory_equal(q.payload, "data", 4);
    return rc;
}

static void test_rewriter_first_packets(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 0xaaaa, 0xbbbb, 90000, 1000, 5000);
    uint16_t s;
    uint32_t t;
    assert_int_equal(rewrite(&rw, 0xaaaa, 40000, 777777, 0, &s, &t), 0);
    assert_int_equal(s, 1000);
    assert_int_equal(t, 5000);
    assert_int_equal(rewrite(&rw, 0xaaaa, 40001, 777777 + 3000, 33, &s, &t), 0);
    assert_int_equal(s, 1001);
    assert_int_equal(t, 8000);
    /* A gap stays a gap: the receiver should NACK it. */
    assert_int_equal(rewrite(&rw, 0xaaaa, 40005, 777777 + 6000, 66, &s, &t), 0);
    assert_int_equal(s, 1005);
    assert_int_equal(t, 11000);
    assert_int_equal(rewrite(&rw, 0xcccc, 40006, 1, 70, &s, &t), -ENOENT);
}

static void test_rewriter_seq_wrap(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    /* Input wraps 65535 -> 0, output wraps on its own elsewhere. */
    rtp_rewriter_init(&rw, 1, 2, 48000, 65534, 0);
    uint16_t s;
    uint32_t t;
    const uint16_t in[] = {65533, 65534, 65535, 0, 1, 2};
    const uint16_t want[] = {65534, 65535, 0, 1, 2, 3};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(rewrite(&rw, 1, in[i], (uint32_t)i * 960, (uint64_t)i * 20, &s, &t), 0);
        assert_int_equal(s, want[i]);
        assert_int_equal(t, (uint32_t)i * 960);
    }
    /* Late and duplicate packets across the wrap. */
    assert_int_equal(rewrite(&rw, 1, 65535, 2 * 960, 200, &s, &t), -EALREADY);
    assert_int_equal(rewrite(&rw, 1, 0, 3 * 960, 200, &s, &t), -EALREADY);
    /* Many wraps later the mapping still holds. */
    uint16_t seq = 3;
    for (int i = 0; i < 200000; i++, seq++)
        assert_int_equal(rewrite(&rw, 1, seq, 0, 300, &s, &t), 0);
    assert_int_equal(s, seq); /* the last input, seq - 1, plus the offset 1 */
}

static void test_rewriter_ts_wrap(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 1, 2, 90000, 0, 0xfffff000);
    uint16_t s;
    uint32_t t;
    assert_int_equal(rewrite(&rw, 1, 10, 0xffffff00, 0, &s, &t), 0);
    assert_int_equal(t, 0xfffff000);
    assert_int_equal(rewrite(&rw, 1, 11, 0xffffffff, 1, &s, &t), 0);
    assert_int_equal(t, 0xfffff0ff);
    assert_int_equal(rewrite(&rw, 1, 12, 0x00000000, 2, &s, &t), 0); /* input wraps */
    assert_int_equal(t, 0xfffff100);
    assert_int_equal(rewrite(&rw, 1, 13, 0x00000f00, 3, &s, &t), 0); /* output wraps */
    assert_int_equal(t, 0x00000000);
    assert_int_equal(rewrite(&rw, 1, 14, 0x00001000, 4, &s, &t), 0);
    assert_int_equal(t, 0x00000100);
}

static void test_rewriter_switch_keeps_continuity(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 0xa, 0xc, 90000, 65530, 1000);
    uint16_t s;
    uint32_t t;
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            rewrite(&rw, 0xa, (uint16_t)(500 + i), 3000u * (uint32_t)i, (uint64_t)i * 33, &s, &t),
            0);
    assert_int_equal(s, 3); /* 65530 + 9, wrapped */
    assert_int_equal(t, 1000 + 27000);

    /* The producer restarts as SSRC 0xb with fresh random numbers, 100 ms later. */
    rtp_rewriter_switch(&rw, 0xb);
    assert_int_equal(rewrite(&rw, 0xb, 30000, 0xfffffff0, 397, &s, &t), 0);
    assert_int_equal(s, 4);
    assert_int_equal(t, 1000 + 27000 + 9000); /* 100 ms at 90 kHz */
    assert_int_equal(rewrite(&rw, 0xb, 30001, 0xfffffff0 + 3000, 430, &s, &t), 0);
    assert_int_equal(s, 5);
    assert_int_equal(t, 1000 + 27000 + 9000 + 3000);
    /* The old source is refused now, late or not. */
    assert_int_equal(rewrite(&rw, 0xa, 510, 30000, 431, &s, &t), -ENOENT);
    /* A late packet of the new source from before its first would collide. */
    assert_int_equal(rewrite(&rw, 0xb, 29999, 0xfffffff0 - 3000, 432, &s, &t), -EALREADY);

    /* Restart under the same SSRC, in the same millisecond: one tick on. */
    rtp_rewriter_switch(&rw, 0xb);
    assert_int_equal(rewrite(&rw, 0xb, 7, 42, 430, &s, &t), 0);
    assert_int_equal(s, 6);
    assert_int_equal(t, 1000 + 27000 + 9000 + 3000 + 1);
    uint16_t in_seq;
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 6, &in_seq), 0);
    assert_int_equal(in_seq, 7);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 5, &in_seq), -ENOENT);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 7, &in_seq), -ENOENT);
}

static void test_rewriter_reordering(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 1, 2, 90000, 100, 0);
    uint16_t s;
    uint32_t t;
    assert_int_equal(rewrite(&rw, 1, 10, 0, 0, &s, &t), 0);
    assert_int_equal(s, 100);
    assert_int_equal(rewrite(&rw, 1, 12, 3000, 1, &s, &t), 0);
    assert_int_equal(s, 102);
    assert_int_equal(rewrite(&rw, 1, 11, 0, 2, &s, &t), 0); /* late: keeps its place */
    assert_int_equal(s, 101);
    assert_int_equal(t, 0);
    assert_int_equal(rewrite(&rw, 1, 11, 0, 3, &s, &t), -EALREADY);
    assert_int_equal(rewrite(&rw, 1, 12, 3000, 3, &s, &t), -EALREADY);
    assert_int_equal(rewrite(&rw, 1, 9, 0, 3, &s, &t), -EALREADY); /* before the first */
    /* Jump ahead within the dropout limit; fill in late within the window. */
    assert_int_equal(rewrite(&rw, 1, 12 + 127, 6000, 4, &s, &t), 0);
    assert_int_equal(s, 102 + 127);
    assert_int_equal(rewrite(&rw, 1, 13, 3000, 5, &s, &t), 0);
    assert_int_equal(s, 103);
    assert_int_equal(rewrite(&rw, 1, 12, 3000, 5, &s, &t), -EALREADY); /* 127 back: in */
    assert_int_equal(rewrite(&rw, 1, 12 + 128, 6000, 6, &s, &t), 0);
    assert_int_equal(rewrite(&rw, 1, 12, 3000, 7, &s, &t), -ESTALE); /* 128 back: out */
    assert_int_equal(rewrite(&rw, 1, 13, 3000, 7, &s, &t), -EALREADY);
    uint16_t in_seq;
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 103, &in_seq), 0);
    assert_int_equal(in_seq, 13);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 99, &in_seq), -ENOENT);
    assert_int_equal(rtp_rewriter_seq_to_input(&rw, 102 + 129, &in_seq), -ENOENT);
}

static void test_rewriter_sequence_jump_restarts(void **state)
{
    (void)state;
    rtp_rewriter_t rw;
    rtp_rewriter_init(&rw, 1, 2, 48000, 0, 0);
    uint16_t s;
    uint32_t t;
    assert_int_equal(rewrite(&rw, 1, 100, 1000, 0, &s, &t), 0);
    assert_int_equal(rewrite(&rw, 1, 101, 1960, 20, &s, &t), 0);
    assert_int_equal(s, 1);
    /* Same SSRC, far-away numbers: one packet alone is not believed ... */
    assert_int_equal(rewrite(&rw, 1, 40000, 123, 40, &s, &t), -ESTALE);
    assert_int_equal(rewrite(&rw, 1, 102, 2920, 40, &s, &t), 0);
    assert_int_equal(s, 2);
    assert_int_equal(rewrite(&rw, 1, 50000, 500, 60, &s, &t), -ESTALE);
    /* ... its successor confirms a restart, placed right after. */
    assert_int_equal(rewrite(&rw, 1, 50001, 1460, 80, &s, &t), 0);
    assert_int_equal(s, 3);
    assert_int_equal(t, 960 * 2 + 40 * 48);
    assert_int_equal(rewrite(&rw, 1, 50002, 2420, 100, &s, &t), 0);
    assert_int_equal(s, 4);
    assert_int_equal(t, 960 * 2 + 40 * 48 + 960);
    /* Backward jumps beyond the misorder limit are treated alike. */
    assert_int_equal(rewrite(&rw, 1, 50002 - 2000, 0, 120, &s, &t), -ESTALE);
    assert_int_equal(rewrite(&rw, 1, 50002 - 1999, 960, 140, &s, &t), 0);
    assert_int_equal(s, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain_packet),
        cmocka_unit_test(test_parse_full_packet),
        cmocka_unit_test(test_parse_every_truncation),
        cmocka_unit_test(test_parse_rejects_bad_version),
        cmocka_unit_test(test_parse_rejects_csrc_past_end),
        cmocka_unit_test(test_parse_rejects_bad_padding),
        cmocka_unit_test(test_parse_rejects_extension_past_end),
        cmocka_unit_test(test_setters_and_header_write),
        cmocka_unit_test(test_one_byte_extensions),
        cmocka_unit_test(test_one_byte_id15_ends_block),
        cmocka_unit_test(test_malformed_extension_element),
        cmocka_unit_test(test_other_profile_yields_nothing),
        cmocka_unit_test(test_two_byte_extensions),
        cmocka_unit_test(test_remap_one_byte),
        cmocka_unit_test(test_remap_two_byte),
        cmocka_unit_test(test_set_extensions_grows_and_shrinks),
        cmocka_unit_test(test_typed_writes),
        cmocka_unit_test(test_abs_send_time_from_us),
        cmocka_unit_test(test_rtcp_compound_iteration),
        cmocka_unit_test(test_rtcp_truncated_and_garbage),
        cmocka_unit_test(test_rtcp_sr_round_trip),
        cmocka_unit_test(test_rtcp_rr_round_trip),
        cmocka_unit_test(test_rtcp_pli_fir_round_trip),
        cmocka_unit_test(test_rtcp_nack_round_trip),
        cmocka_unit_test(test_rtcp_remb_round_trip),
        cmocka_unit_test(test_rewriter_first_packets),
        cmocka_unit_test(test_rewriter_seq_wrap),
        cmocka_unit_test(test_rewriter_ts_wrap),
        cmocka_unit_test(test_rewriter_switch_keeps_continuity),
        cmocka_unit_test(test_rewriter_reordering),
        cmocka_unit_test(test_rewriter_sequence_jump_restarts),
    };
    return cmocka_run_group_tests_name("rtp", tests, NULL, NULL);
}
