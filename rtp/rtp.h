/* rtp/rtp.h: RTP and RTCP as views over the caller's bytes. Parse checks every
 * length before touching the bytes it covers; rewrites happen in place; builders
 * write into the caller's buffer. No allocation, no I/O: fit for the packet path.
 * Implemented in rtp.c (RTP, header extensions), rtcp.c and rtp_rewriter.c. */
#ifndef SFU_RTP_RTP_H
#define SFU_RTP_RTP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- RTP (RFC 3550 5.1) ---- */

#define RTP_HEADER_LEN 12 /* the fixed part, before CSRCs */

/* A parsed RTP packet: data is the caller's, and stays so. */
typedef struct rtp_packet {
    uint8_t *data;      /* start of the packet */
    size_t len;         /* whole packet, padding included */
    size_t header_len;  /* fixed header + CSRCs + extension block */
    uint8_t *payload;   /* data + header_len */
    size_t payload_len; /* without the padding */
    uint8_t padding_len;
    uint8_t csrc_count;
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    /* RFC 3550 5.3.1: the extension block, when the X bit is set. */
    uint16_t ext_profile; /* 0xBEDE one-byte, 0x100x two-byte (RFC 8285), else opaque */
    uint8_t *ext;         /* the elements, after the 4-byte block header; NULL when none */
    size_t ext_len;       /* a multiple of 4 */
} rtp_packet_t;

/* 0, or -EINVAL when the bytes are not a well-formed RTP packet: shorter than
 * 12 bytes, version not 2, CSRCs or extension block past the end, padding count
 * 0 or larger than what follows the header. */
int rtp_packet_parse(rtp_packet_t *p, uint8_t *data, size_t len);

/* Write the field into the packet's bytes and the view. */
void rtp_packet_set_ssrc(rtp_packet_t *p, uint32_t ssrc);
void rtp_packet_set_seq(rtp_packet_t *p, uint16_t seq);
void rtp_packet_set_ts(rtp_packet_t *p, uint32_t ts);
void rtp_packet_set_pt(rtp_packet_t *p, uint8_t pt); /* pt < 128 */
void rtp_packet_set_marker(rtp_packet_t *p, bool marker);

/* Writes a 12-byte header (no CSRC, no extension, no padding) at buf.
 * Returns 12, or -ENOSPC when cap < 12. */
int rtp_header_write(uint8_t *buf, size_t cap, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
                     uint32_t ssrc);

/* ---- Header extensions (RFC 8285) ---- */

#define RTP_EXT_PROFILE_ONE_BYTE 0xBEDE
#define RTP_EXT_PROFILE_TWO_BYTE 0x1000 /* low 4 bits: appbits */
/* One-byte ids are 1-14, lengths 1-16; two-byte ids 1-255, lengths 0-255. */
#define RTP_EXT_ONE_BYTE_MAX_ID  14
#define RTP_EXT_ONE_BYTE_MAX_LEN 16
/* rtp_packet_set_extensions builds at most this many element bytes. */
#define RTP_EXT_MAX_BLOCK_LEN 1024

/* One element: data points into the packet (or, as input to
 * rtp_packet_set_extensions, anywhere). */
typedef struct rtp_ext {
    uint8_t id;
    uint8_t len;
    bool two_byte; /* the form it was read in */
    uint8_t *data;
} rtp_ext_t;

typedef struct rtp_ext_iter {
    uint8_t *pos, *end;
    bool two_byte;
} rtp_ext_iter_t;

/* Iterates the elements of a one- or two-byte block; a packet without one, or
 * with another profile, yields nothing. */
void rtp_ext_iter_init(rtp_ext_iter_t *it, const rtp_packet_t *p);
/* 1 with the next element in *e, 0 at the end, -EINVAL on an element that runs
 * past the block (iteration stops there). Padding is skipped; a one-byte id 15
 * ends the block (RFC 8285 4.2). */
int rtp_ext_next(rtp_ext_iter_t *it, rtp_ext_t *e);
/* 0 with the first element of that id in *e, -ENOENT, or -EINVAL (malformed). */
int rtp_ext_find(const rtp_packet_t *p, uint8_t id, rtp_ext_t *e);

/* Maps the publisher's extension ids to a subscriber's: to[from_id] is the new
 * id, 0 drops the element. */
typedef struct rtp_ext_map {
    uint8_t to[256];
} rtp_ext_map_t;

/* Every id is dropped until set. */
void rtp_ext_map_init(rtp_ext_map_t *map);
/* 0, or -EINVAL for an id 0. A to_id above 14 fits the two-byte form only:
 * rtp_ext_remap drops such an element from a one-byte block. */
int rtp_ext_map_set(rtp_ext_map_t *map, uint8_t from_id, uint8_t to_id);

/* Rewrites the ids in place; a dropped element, or one whose new id the
 * one-byte form cannot carry, becomes padding (zero bytes). The packet's length
 * does not change. Returns the number of elements kept, or -EINVAL when the
 * block is malformed (it may then be partly rewritten: drop the packet). */
int rtp_ext_remap(rtp_packet_t *p, const rtp_ext_map_t *map);

/* Replaces the extension block with elems (one-byte form when every id is 1-14
 * and every length 1-16, else two-byte), moving the payload and padding; count 0
 * removes the block. p->data has cap bytes of room. elems may point into the
 * packet. Returns 0, -ENOSPC (cap or RTP_EXT_MAX_BLOCK_LEN), or -EINVAL (an id 0
 * or a negative count). */
int rtp_packet_set_extensions(rtp_packet_t *p, size_t cap, const rtp_ext_t *elems, int count);

/* The extensions this node negotiates (a=extmap) and rewrites per leg. */
typedef enum rtp_ext_kind {
    RTP_EXT_MID,           /* urn:ietf:params:rtp-hdrext:sdes:mid (RFC 8843) */
    RTP_EXT_ABS_SEND_TIME, /* http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time */
    RTP_EXT_AUDIO_LEVEL,   /* urn:ietf:params:rtp-hdrext:ssrc-audio-level (RFC 6464) */
    RTP_EXT_TWCC,          /* transport-wide-cc-extensions-01 */
    RTP_EXT_RID,           /* urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id (RFC 8852):
                            * received from simulcast publishers, never sent */
    RTP_EXT_RRID,          /* urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
                            * (RFC 8852): the layer a simulcast publisher's RTX
                            * packet repairs; received, never sent */
    RTP_EXT_KIND_COUNT
} rtp_ext_kind_t;

/* The URI of each kind, for a=extmap. */
extern const char *const rtp_ext_kind_uri[RTP_EXT_KIND_COUNT];

/* One side's ids per kind; 0: not negotiated. */
typedef struct rtp_ext_ids {
    uint8_t id[RTP_EXT_KIND_COUNT];
} rtp_ext_ids_t;

/* The kind of uri, or -ENOENT when this node does not use it. */
int rtp_ext_kind_of_uri(const char *uri);

/* Typed elements, read from and written into an element that rtp_ext_next or
 * rtp_ext_find returned. Each returns 0, or -EINVAL when the element's length
 * does not fit the type. */

/* RFC 6464: voice activity flag and level in -dBov (0-127). */
int rtp_ext_read_audio_level(const rtp_ext_t *e, bool *voice, uint8_t *level_dbov);
int rtp_ext_write_audio_level(rtp_ext_t *e, bool voice, uint8_t level_dbov);
/* abs-send-time: 24-bit 6.18 fixed-point seconds. */
int rtp_ext_read_abs_send_time(const rtp_ext_t *e, uint32_t *abs_send_time);
int rtp_ext_write_abs_send_time(rtp_ext_t *e, uint32_t abs_send_time);
/* The 6.18 value of a time in microseconds (wraps every 64 s). */
uint32_t rtp_abs_send_time_from_us(uint64_t time_us);
/* transport-wide-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01): the
 * 16-bit transport sequence number. */
int rtp_ext_read_twcc_seq(const rtp_ext_t *e, uint16_t *seq);
int rtp_ext_write_twcc_seq(rtp_ext_t *e, uint16_t seq);
/* RFC 8843 15.2: the mid, NUL-terminated into out; -ENOSPC when out is too
 * small. The same SDES form reads a RID (RFC 8852). */
int rtp_ext_read_mid(const rtp_ext_t *e, char *out, size_t cap);
/* Writes mid (1 byte or more) in place; a shorter value shrinks the element
 * (its header byte before data is rewritten too) and pads the rest with zeros.
 * -ENOSPC when mid is longer than the element: use rtp_packet_set_extensions. */
int rtp_ext_write_mid(rtp_ext_t *e, const char *mid);

/* ---- RTCP (RFC 3550 6.4, RFC 4585 6.1) ---- */

#define RTCP_PT_SR    200
#define RTCP_PT_RR    201
#define RTCP_PT_SDES  202
#define RTCP_PT_BYE   203
#define RTCP_PT_APP   204
#define RTCP_PT_RTPFB 205
#define RTCP_PT_PSFB  206
#define RTCP_PT_XR    207

#define RTCP_FMT_NACK 1  /* RTPFB: generic NACK */
#define RTCP_FMT_PLI  1  /* PSFB */
#define RTCP_FMT_FIR  4  /* PSFB, RFC 5104 4.3.1 */
#define RTCP_FMT_REMB 15 /* PSFB application layer feedback, "REMB" */

#define RTCP_HEADER_LEN       4
#define RTCP_REPORT_BLOCK_LEN 24
#define RTCP_MAX_REPORTS      31

/* One packet of a compound. */
typedef struct rtcp_packet {
    uint8_t *data; /* its common header */
    size_t len;    /* (length field + 1) * 4 */
    uint8_t pt;
    uint8_t count;   /* RC, SC or FMT */
    size_t body_len; /* after the 4-byte header, without padding */
    uint8_t *body;
} rtcp_packet_t;

typedef struct rtcp_iter {
    uint8_t *pos, *end;
} rtcp_iter_t;

void rtcp_iter_init(rtcp_iter_t *it, uint8_t *data, size_t len);
/* 1 with the next packet in *pkt, 0 at the end, -EINVAL when what is left is
 * not a well-formed packet (version, length past the end, bad padding). */
int rtcp_iter_next(rtcp_iter_t *it, rtcp_packet_t *pkt);

/* RFC 3550 6.4.1: one report block. */
typedef struct rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;   /* /256 */
    int32_t cumulative_lost; /* 24-bit signed */
    uint32_t highest_seq;    /* extended */
    uint32_t jitter;         /* timestamp units */
    uint32_t lsr, dlsr;      /* middle 32 bits of NTP; 1/65536 s */
} rtcp_report_block_t;

typedef struct rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_ts;
    uint32_t packet_count, octet_count;
    int report_count;
    const uint8_t *reports; /* report_count blocks: read with rtcp_report_block_read */
} rtcp_sr_t;

typedef struct rtcp_rr {
    uint32_t ssrc;
    int report_count;
    const uint8_t *reports;
} rtcp_rr_t;

/* 0, or -EINVAL when pkt is not that type or its blocks do not fit. */
int rtcp_parse_sr(const rtcp_packet_t *pkt, rtcp_sr_t *sr);
int rtcp_parse_rr(const rtcp_packet_t *pkt, rtcp_rr_t *rr);
/* Block i (0 <= i < report_count) of reports. */
void rtcp_report_block_read(const uint8_t *reports, int i, rtcp_report_block_t *out);

/* RFC 4585 6.1: a transport (205) or payload-specific (206) feedback message. */
typedef struct rtcp_fb {
    uint8_t pt, fmt;
    uint32_t sender_ssrc, media_ssrc;
    const uint8_t *fci;
    size_t fci_len;
} rtcp_fb_t;

/* 0, or -EINVAL when pkt is not RTPFB/PSFB or is shorter than 12 bytes. */
int rtcp_parse_fb(const rtcp_packet_t *pkt, rtcp_fb_t *fb);
/* PSFB fmt 1, no FCI needed. */
bool rtcp_fb_is_pli(const rtcp_fb_t *fb);

/* RFC 5104 4.3.1: FIR entries, 8 bytes each. Entry count, or -EINVAL when fb
 * is not a FIR or has none. */
int rtcp_fir_count(const rtcp_fb_t *fb);
void rtcp_fir_entry(const rtcp_fb_t *fb, int i, uint32_t *ssrc, uint8_t *seq_nr);

/* RFC 4585 6.2.1: generic NACK entries (PID, BLP), 4 bytes each. Entry count,
 * or -EINVAL when fb is not a NACK or has none. */
int rtcp_nack_count(const rtcp_fb_t *fb);
void rtcp_nack_entry(const rtcp_fb_t *fb, int i, uint16_t *pid, uint16_t *blp);
/* Every sequence number the NACK asks for, in entry order; at most cap written.
 * Returns the number written, or -EINVAL when fb is not a NACK. */
int rtcp_nack_seqs(const rtcp_fb_t *fb, uint16_t *seqs, int cap);

/* draft-alvestrand-rmcat-remb-03: receiver estimated maximum bitrate. */
typedef struct rtcp_remb {
    uint32_t sender_ssrc;
    uint64_t bitrate_bps; /* saturates at UINT64_MAX */
    int ssrc_count;
    const uint8_t *ssrcs; /* ssrc_count big-endian SSRCs: read with rtcp_remb_ssrc */
} rtcp_remb_t;

int rtcp_parse_remb(const rtcp_packet_t *pkt, rtcp_remb_t *remb);
uint32_t rtcp_remb_ssrc(const rtcp_remb_t *remb, int i);

/* Builders: each writes one packet at buf and returns its length, or -ENOSPC
 * when cap is too small, or -EINVAL for a count out of range. rtcp_write_sr
 * takes the sender info from sr (its report_count and reports are ignored). */
int rtcp_write_sr(uint8_t *buf, size_t cap, const rtcp_sr_t *sr, const rtcp_report_block_t *blocks,
                  int count);
int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const rtcp_report_block_t *blocks,
                  int count);
int rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
int rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                   uint8_t seq_nr);
/* seqs in ascending order modulo 2^16 (1 to 65535 of them); each one within 16
 * after the current entry's PID joins its BLP, any other starts a new entry. */
int rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, int count);
/* 0 to 255 SSRCs. */
int rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, int count);

/* ---- Per-consumer rewriting ---- */

/* How far back a late packet of the current source is still placed, and
 * duplicates recognised. */
#define RTP_REWRITER_WINDOW 128
/* RFC 3550 A.1: a sequence jump beyond these (forward, backward) is taken as a
 * restart of the source once the packet right after it confirms it. */
#define RTP_REWRITER_MAX_DROPOUT  3000
#define RTP_REWRITER_MAX_MISORDER 1500

/* Maps one incoming stream at a time onto one outgoing SSRC whose sequence
 * numbers and timestamps stay continuous when the incoming stream changes (a
 * restarted producer, a simulcast layer switch). Embed by value; one thread. */
typedef struct rtp_rewriter {
    uint32_t in_ssrc, out_ssrc;
    uint32_t clock_hz;
    bool started;      /* a packet has been placed */
    bool resync;       /* the next packet of in_ssrc starts a new source */
    bool jump_pending; /* a large sequence jump awaits its successor */
    uint16_t jump_next_seq;
    uint16_t seq_offset;  /* out = in + offset, modulo 2^16 */
    uint32_t ts_offset;   /* out = in + offset, modulo 2^32 */
    uint16_t max_in_seq;  /* newest placed incoming sequence number */
    uint16_t max_out_seq; /* and what it became */
    uint32_t max_out_ts;  /* the timestamp that packet went out with */
    uint64_t max_out_ms;  /* when it was placed */
    uint32_t source_span; /* outgoing numbers used by the current source, up to 65536 */
    uint64_t seen[RTP_REWRITER_WINDOW / 64];    /* bit k: max_in_seq - k is taken */
    uint64_t dropped[RTP_REWRITER_WINDOW / 64]; /* bit k: and was dropped, not sent */
} rtp_rewriter_t;

/* first_seq and first_ts are the first outgoing values (random, RFC 3550 5.1);
 * in_ssrc is the first incoming stream; clock_hz its RTP clock rate. */
void rtp_rewriter_init(rtp_rewriter_t *rw, uint32_t in_ssrc, uint32_t out_ssrc, uint32_t clock_hz,
                       uint16_t first_seq, uint32_t first_ts);
/* The next packet of in_ssrc (which may be the current one, restarted) starts
 * a new source; packets of any other SSRC are refused from now on. */
void rtp_rewriter_switch(rtp_rewriter_t *rw, uint32_t in_ssrc);
/* Rewrites SSRC, sequence number and timestamp in place. now_ms is a monotonic
 * clock: after a switch the timestamp advances by the time elapsed. Returns
 *   0           rewritten: send it;
 *   -ENOENT     not the current incoming SSRC;
 *   -EALREADY   a duplicate, or older than the current source's first packet;
 *   -ESTALE     older than the window, or a jump not yet confirmed: drop. */
int rtp_rewriter_rewrite(rtp_rewriter_t *rw, rtp_packet_t *p, uint64_t now_ms);
/* Leaves a packet of the current source out (a VP8 temporal layer the
 * subscriber does not take) without a gap in the outgoing numbering: newer
 * packets close up behind it, older ones keep their numbers. 0, -ENOENT (not
 * the current SSRC), -EALREADY or -ESTALE as above. */
int rtp_rewriter_drop(rtp_rewriter_t *rw, const rtp_packet_t *p, uint64_t now_ms);
/* The incoming sequence number an outgoing one of the current source came
 * from (to answer a NACK from the cache): 0, or -ENOENT when out_seq was not
 * produced from the current source. */
int rtp_rewriter_seq_to_input(const rtp_rewriter_t *rw, uint16_t out_seq, uint16_t *in_seq);
/* Rewrites SSRC, sequence number and timestamp of a packet of the current
 * source as rtp_rewriter_rewrite placed it before (a retransmission from the
 * cache), leaving the rewriter's state alone. */
/* Whether in_seq of the current source went out (seen, not dropped) within
 * the window: only such a packet can be sent again as it was. */
bool rtp_rewriter_was_sent(const rtp_rewriter_t *rw, uint16_t in_seq);
void rtp_rewriter_apply(const rtp_rewriter_t *rw, rtp_packet_t *p);

#endif
