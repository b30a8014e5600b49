/* rtp/rtp_twcc.c: transport-wide congestion control feedback, built and parsed
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01). */
#include "rtp/rtp_twcc.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

/* 3.1.1: the packet status symbols; also the size of each one's receive delta. */
enum { SYM_LOST = 0, SYM_SMALL = 1, SYM_LARGE = 2, SYM_RESERVED = 3 };

#define TWCC_DELTA_UNIT_US 250
#define TWCC_REF_UNIT_US   64000
#define TWCC_MAX_RUN       0x1fff /* 13 bits */
#define TWCC_ONE_BIT_CAP   14
#define TWCC_TWO_BIT_CAP   7
/* Unwrapped numbers start here: a multiple of 2^16, far from 0 both ways. */
#define TWCC_SEQ_ORIGIN ((int64_t)1 << 32)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- Receiver side ---- */

void rtp_twcc_recorder_init(rtp_twcc_recorder_t *rec)
{
    memset(rec, 0, sizeof *rec);
    for (size_t i = 0; i < RTP_TWCC_WINDOW; i++)
        rec->ring[i].seq = -1;
}

void rtp_twcc_recorder_add(rtp_twcc_recorder_t *rec, uint16_t seq, uint64_t arrival_us)
{
    int64_t s;
    if (!rec->started)
        s = TWCC_SEQ_ORIGIN + seq;
    else
        s = rec->max_seq + (int16_t)(uint16_t)(seq - (uint16_t)rec->max_seq);
    if (rec->started && s <= rec->max_seq - RTP_TWCC_WINDOW)
        return; /* older than the window */
    rtp_twcc_arrival_t *a = &rec->ring[s % RTP_TWCC_WINDOW];
    if (a->seq == s)
        return; /* a duplicate keeps its first arrival */
    a->seq = s;
    a->arrival_us = arrival_us;
    if (!rec->started) {
        rec->started = true;
        rec->max_seq = rec->next_seq = s;
    } else if (s > rec->max_seq) {
        rec->max_seq = s;
    } else if (s < rec->next_seq) {
        rec->next_seq = s; /* reported lost already: report it again, received */
    }
}

static const rtp_twcc_arrival_t *recorder_find(const rtp_twcc_recorder_t *rec, int64_t s)
{
    const rtp_twcc_arrival_t *a = &rec->ring[s % RTP_TWCC_WINDOW];
    return a->seq == s ? a : NULL;
}

/* Packs symbols into chunks the way libwebrtc does: a status vector while the
 * symbols differ, a run length chunk as long as they are all the same. */
typedef struct twcc_chunker {
    uint8_t sym[TWCC_ONE_BIT_CAP]; /* pending symbols; past 14 they are all sym[0] */
    size_t size;
    bool all_same, has_large;
    size_t chunks; /* emitted so far */
    uint8_t *out;  /* NULL: count only */
} twcc_chunker_t;

static bool chunker_can_add(const twcc_chunker_t *c, uint8_t sym)
{
    if (c->size < TWCC_TWO_BIT_CAP)
        return true;
    if (c->size < TWCC_ONE_BIT_CAP && !c->has_large && sym != SYM_LARGE)
        return true;
    return c->all_same && c->sym[0] == sym && c->size < TWCC_MAX_RUN;
}

static void chunker_put(twcc_chunker_t *c, uint16_t chunk)
{
    if (c->out)
        wr_be16(c->out + 2 * c->chunks, chunk);
    c->chunks++;
}

/* 3.1.3: T=0, S (2 bits), run length (13 bits). */
static uint16_t chunk_run(uint8_t sym, size_t run)
{
    return (uint16_t)(sym << 13 | run);
}

/* 3.1.4: T=1, S=1, seven 2-bit symbols (n <= 7, the rest "not received"). */
static uint16_t chunk_two_bit(const uint8_t *sym, size_t n)
{
    uint16_t chunk = 0xc000;
    for (size_t i = 0; i < n; i++)
        chunk |= (uint16_t)(sym[i] << (12 - 2 * i));
    return chunk;
}

/* 3.1.4: T=1, S=0, fourteen 1-bit symbols (n <= 14, no SYM_LARGE). */
static uint16_t chunk_one_bit(const uint8_t *sym, size_t n)
{
    uint16_t chunk = 0x8000;
    for (size_t i = 0; i < n; i++)
        chunk |= (uint16_t)(sym[i] << (13 - i));
    return chunk;
}

static void chunker_reset(twcc_chunker_t *c)
{
    c->size = 0;
    c->all_same = true;
    c->has_large = false;
}

/* Called when the next symbol does not fit the pending ones. */
static void chunker_emit(twcc_chunker_t *c)
{
    if (c->all_same) {
        chunker_put(c, chunk_run(c->sym[0], c->size));
        chunker_reset(c);
    } else if (c->size == TWCC_ONE_BIT_CAP) {
        chunker_put(c, chunk_one_bit(c->sym, c->size));
        chunker_reset(c);
    } else {
        /* Seven go out as a 2-bit vector; the rest stay pending. */
        chunker_put(c, chunk_two_bit(c->sym, TWCC_TWO_BIT_CAP));
        size_t left = c->size - TWCC_TWO_BIT_CAP;
        memmove(c->sym, c->sym + TWCC_TWO_BIT_CAP, left);
        chunker_reset(c);
        for (size_t i = 0; i < left; i++) {
            c->all_same = c->all_same && c->sym[i] == c->sym[0];
            c->has_large = c->has_large || c->sym[i] == SYM_LARGE;
        }
        c->size = left;
    }
}

static void chunker_add(twcc_chunker_t *c, uint8_t sym)
{
    if (!chunker_can_add(c, sym))
        chunker_emit(c);
    if (c->size < TWCC_ONE_BIT_CAP)
        c->sym[c->size] = sym;
    c->all_same = c->all_same && (c->size == 0 || c->sym[0] == sym);
    c->has_large = c->has_large || sym == SYM_LARGE;
    c->size++;
}

/* The pending symbols as the last chunk. */
static void chunker_flush(twcc_chunker_t *c)
{
    if (c->size == 0)
        return;
    if (c->all_same)
        chunker_put(c, chunk_run(c->sym[0], c->size));
    else if (c->size <= TWCC_TWO_BIT_CAP)
        chunker_put(c, chunk_two_bit(c->sym, c->size));
    else
        chunker_put(c, chunk_one_bit(c->sym, c->size));
    chunker_reset(c);
}

static size_t pad4(size_t len)
{
    return (len + 3) & ~(size_t)3;
}

/* Encodes the statuses of count packets from first on, stopping before the one
 * that would take the packet past cap or whose delta does not fit 16 bits.
 * chunks and deltas NULL: measure only. Returns the packets encoded. */
static size_t twcc_encode(const rtp_twcc_recorder_t *rec, int64_t first, size_t count,
                          int64_t ref_us, size_t cap, uint8_t *chunks, uint8_t *deltas,
                          size_t *n_chunks, size_t *n_delta_bytes)
{
    twcc_chunker_t c = {.out = chunks};
    chunker_reset(&c);
    int64_t last_us = ref_us; /* the previous receive time, as the deltas place it */
    size_t delta_bytes = 0, n;
    for (n = 0; n < count; n++) {
        const rtp_twcc_arrival_t *a = recorder_find(rec, first + (int64_t)n);
        uint8_t sym = SYM_LOST;
        int64_t units = 0;
        if (a) {
            /* Rounded to the nearest unit from the previous quantized time: no drift. */
            units = floor_div((int64_t)a->arrival_us - last_us + TWCC_DELTA_UNIT_US / 2,
                              TWCC_DELTA_UNIT_US);
            if (units >= 0 && units <= UINT8_MAX)
                sym = SYM_SMALL;
            else if (units >= INT16_MIN && units <= INT16_MAX)
                sym = SYM_LARGE;
            else
                break; /* the next feedback starts here, with its own reference */
        }
        twcc_chunker_t saved = c;
        chunker_add(&c, sym);
        size_t len = RTP_TWCC_HEADER_LEN + 2 * (c.chunks + (c.size > 0)) + delta_bytes + sym;
        if (pad4(len) > cap) {
            c = saved;
            break;
        }
        if (deltas && sym == SYM_SMALL)
            deltas[delta_bytes] = (uint8_t)units;
        else if (deltas && sym == SYM_LARGE)
            wr_be16(deltas + delta_bytes, (uint16_t)(int16_t)units);
        delta_bytes += sym;
        last_us += units * TWCC_DELTA_UNIT_US;
    }
    chunker_flush(&c);
    *n_chunks = c.chunks;
    *n_delta_bytes = delta_bytes;
    return n;
}

int rtp_twcc_recorder_build(rtp_twcc_recorder_t *rec, uint32_t sender_ssrc, uint32_t media_ssrc,
                            uint8_t *buf, size_t cap)
{
    if (!rec->started || rec->next_seq > rec->max_seq)
        return 0;
    int64_t first = rec->next_seq;
    if (first <= rec->max_seq - RTP_TWCC_WINDOW)
        first = rec->max_seq - RTP_TWCC_WINDOW + 1; /* forgotten: never reported */
    size_t count = (size_t)(rec->max_seq - first + 1);

    /* 3.1: the reference time is that of the first packet received, in 64 ms units. */
    int64_t ref = 0;
    for (size_t i = 0; i < count; i++) {
        const rtp_twcc_arrival_t *a = recorder_find(rec, first + (int64_t)i);
        if (a) {
            ref = floor_div((int64_t)a->arrival_us, TWCC_REF_UNIT_US);
            break;
        }
    }
    size_t n_chunks, delta_bytes;
    size_t n = twcc_encode(rec, first, count, ref * TWCC_REF_UNIT_US, cap, NULL, NULL, &n_chunks,
                           &delta_bytes);
    if (n == 0)
        return -ENOSPC;
    uint8_t *chunks = buf + RTP_TWCC_HEADER_LEN;
    uint8_t *deltas = chunks + 2 * n_chunks;
    twcc_encode(rec, first, n, ref * TWCC_REF_UNIT_US, SIZE_MAX, chunks, deltas, &n_chunks,
                &delta_bytes);
    size_t body = RTP_TWCC_HEADER_LEN + 2 * n_chunks + delta_bytes;
    size_t len = pad4(body);
    memset(buf + body, 0, len - body); /* 3.1: zero padding, no P bit */

    /* RFC 4585 6.1 header, then 3.1's fixed fields. */
    buf[0] = 0x80 | RTCP_FMT_TWCC;
    buf[1] = RTCP_PT_RTPFB;
    wr_be16(buf + 2, (uint16_t)(len / 4 - 1));
    wr_be32(buf + 4, sender_ssrc);
    wr_be32(buf + 8, media_ssrc);
    wr_be16(buf + 12, (uint16_t)first);
    wr_be16(buf + 14, (uint16_t)n);
    wr_be24(buf + 16, (uint32_t)ref & 0xffffff);
    buf[19] = rec->fb_count++;
    rec->next_seq = first + (int64_t)n;
    return (int)len;
}

/* ---- Sender side ---- */

int rtp_twcc_parse_header(const rtcp_fb_t *fb, rtp_twcc_header_t *h)
{
    if (fb->pt != RTCP_PT_RTPFB || fb->fmt != RTCP_FMT_TWCC || fb->fci_len < 8)
        return -EINVAL;
    h->base_seq = rd_be16(fb->fci);
    h->status_count = rd_be16(fb->fci + 2);
    uint32_t ref = rd_be24(fb->fci + 4);
    h->reference_time = (int32_t)(ref & 0x800000 ? ref | 0xff000000u : ref); /* 24-bit signed */
    h->fb_count = fb->fci[7];
    return 0;
}

/* Symbols a chunk holds, and symbol i of it. */
static size_t chunk_size(uint16_t chunk)
{
    if (!(chunk & 0x8000))
        return chunk & TWCC_MAX_RUN;
    return chunk & 0x4000 ? TWCC_TWO_BIT_CAP : TWCC_ONE_BIT_CAP;
}

static uint8_t chunk_symbol(uint16_t chunk, size_t i)
{
    if (!(chunk & 0x8000))
        return (chunk >> 13) & 3;
    if (chunk & 0x4000)
        return (chunk >> (12 - 2 * i)) & 3;
    return (chunk >> (13 - i)) & 1;
}

/* Walks the chunks of a message. deltas NULL: checks them and counts the delta
 * bytes they call for into *delta_bytes, and where the chunks end into
 * *chunks_end. Otherwise (a checked message) reads the deltas and calls cb. */
static int twcc_walk(const rtcp_fb_t *fb, const rtp_twcc_header_t *h, const uint8_t *deltas,
                     rtp_twcc_cb cb, void *ctx, size_t *delta_bytes, const uint8_t **chunks_end)
{
    const uint8_t *p = fb->fci + 8, *end = fb->fci + fb->fci_len;
    int64_t recv_us = (int64_t)h->reference_time * TWCC_REF_UNIT_US;
    size_t done = 0, need = 0;
    while (done < h->status_count) {
        if (end - p < 2)
            return -EINVAL;
        uint16_t chunk = rd_be16(p);
        p += 2;
        size_t n = chunk_size(chunk);
        if (n > h->status_count - done)
            n = h->status_count - done; /* a vector's tail past the count is padding */
        for (size_t i = 0; i < n; i++, done++) {
            uint8_t sym = chunk_symbol(chunk, i);
            if (sym == SYM_RESERVED)
                return -EINVAL;
            if (!deltas) {
                need += sym;
                continue;
            }
            rtp_twcc_status_t st = {.seq = (uint16_t)(h->base_seq + done), .received = sym != 0};
            if (sym == SYM_SMALL)
                recv_us += (int64_t)deltas[0] * TWCC_DELTA_UNIT_US;
            else if (sym == SYM_LARGE)
                recv_us += (int64_t)(int16_t)rd_be16(deltas) * TWCC_DELTA_UNIT_US;
            deltas += sym;
            st.recv_us = st.received ? recv_us : 0;
            cb(ctx, &st);
        }
    }
    if (delta_bytes)
        *delta_bytes = need;
    if (chunks_end)
        *chunks_end = p;
    return 0;
}

int rtp_twcc_parse(const rtcp_fb_t *fb, rtp_twcc_cb cb, void *ctx)
{
    rtp_twcc_header_t h;
    if (rtp_twcc_parse_header(fb, &h) < 0 || h.status_count == 0)
        return -EINVAL;
    size_t delta_bytes;
    const uint8_t *deltas;
    if (twcc_walk(fb, &h, NULL, NULL, NULL, &delta_bytes, &deltas) < 0)
        return -EINVAL;
    if ((size_t)(fb->fci + fb->fci_len - deltas) < delta_bytes)
        return -EINVAL;
    twcc_walk(fb, &h, deltas, cb, ctx, NULL, NULL);
    return h.status_count;
}
