/* rtp/rtc_sdp.h: the SDP this node speaks: Unified Plan, BUNDLE, rtcp-mux,
 * ICE-lite, one codec per media section (opus, VP8 or H264 baseline). Parses
 * browsers' offers and answers into fixed-size structs; writes our answers
 * (publish) and offers (subscribe). No allocation. */
#ifndef SFU_RTP_RTC_SDP_H
#define SFU_RTP_RTC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

#define RTC_SDP_MAX_MEDIA  16
#define RTC_SDP_MAX_CODECS 24
/* Simulcast encodings of one section (RFC 8853), lowest first. */
#define RTC_SDP_MAX_LAYERS 3

typedef enum { RTC_MEDIA_AUDIO, RTC_MEDIA_VIDEO, RTC_MEDIA_OTHER } rtc_media_kind_t;

typedef struct rtc_sdp_codec {
    uint8_t pt;
    char name[16]; /* "opus", "VP8", "H264", "rtx", ... */
    uint32_t clock_hz;
    uint8_t channels;
    char fmtp[160];
} rtc_sdp_codec_t;

typedef struct rtc_sdp_media {
    rtc_media_kind_t kind;
    char mid[32];
    char direction[10]; /* sendrecv, sendonly, recvonly, inactive */
    int port;
    bool rtcp_mux;
    rtc_sdp_codec_t codecs[RTC_SDP_MAX_CODECS];
    int codec_count;
    uint32_t ssrc;     /* the media SSRC (not the RTX one), 0 when none */
    uint32_t rtx_ssrc; /* from ssrc-group:FID, 0 when none */
    char cname[64];
    char msid_stream[64];
    char msid_track[64];
    rtp_ext_ids_t ext; /* a=extmap ids of the extensions this node uses (1-14) */
    /* Simulcast by RID (a=rid send + a=simulcast:send, in that list's
     * order, taken as lowest first), or by SSRC (a=ssrc-group:SIM). */
    char rids[RTC_SDP_MAX_LAYERS][16];
    int rid_count;
    uint32_t sim_ssrcs[RTC_SDP_MAX_LAYERS];
    int sim_count;
    bool datachannel; /* m=application ... UDP/DTLS/SCTP webrtc-datachannel */
} rtc_sdp_media_t;

typedef struct rtc_sdp {
    char ice_ufrag[64];
    char ice_pwd[128];
    char fingerprint[128]; /* the sha-256 value: "AB:CD:..." */
    char setup[10];        /* active, passive, actpass */
    bool bundle;
    rtc_sdp_media_t media[RTC_SDP_MAX_MEDIA];
    int media_count;
    int media_ignored; /* sections past RTC_SDP_MAX_MEDIA: read for the
                        * session's ICE/DTLS values, otherwise skipped */
} rtc_sdp_t;

/* Our side of a session. */
typedef struct rtc_sdp_local {
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *fingerprint; /* sha-256 */
    const char *ip; /* the host candidates: one address, or several comma-separated (the first
                     * is the c= address) */
    int port;
    int tcp_port; /* > 0: ICE-TCP passive candidates on this port too */
    uint64_t session_id;
    unsigned version;
} rtc_sdp_local_t;

/* One track the node sends on a subscribe session. */
typedef struct rtc_sdp_track {
    rtc_media_kind_t kind;
    char mid[32];
    bool active; /* false: the track ended; its section stays, inactive */
    rtc_sdp_codec_t codec;
    uint32_t ssrc;
    char cname[64];
    char stream_id[64];
    char track_id[64];
    uint32_t rtx_ssrc;                 /* video: retransmissions (RFC 4588) on this SSRC; 0: none */
    uint8_t rtx_pt;                    /* and payload type */
    uint64_t producer_id, consumer_id; /* the caller's; not written */
    int layer_limit;                   /* the caller's: simulcast layers wanted (0: all) */
    bool paused;                       /* the caller's: the subscriber shows it nowhere */
} rtc_sdp_track_t;

/* Parses sdp. 0, or -EINVAL with a one-line reason in err (missing ICE
 * credentials or fingerprint, no BUNDLE, a media section without rtcp-mux,
 * over the caps, malformed lines). */
int rtc_sdp_parse(const char *sdp, rtc_sdp_t *out, char *err, size_t err_cap);

/* The codec we take for a media section: opus for audio; VP8, else H264 with
 * packetization-mode=1 and a baseline profile, for video. NULL when none. */
const rtc_sdp_codec_t *rtc_sdp_pick_codec(const rtc_sdp_media_t *m);

/* Answers a publish offer: each audio/video section the client sends on is
 * received with the picked codec; a data channel section (SCTP over DTLS,
 * RFC 8841) is accepted with a=sctp-port and a=max-message-size
 * (RTC_SDP_MAX_MESSAGE); others are rejected (port 0). Returns the length
 * written, or -EINVAL (nothing usable: reason in err) / -ENOSPC. */
#define RTC_SDP_SCTP_PORT   5000
#define RTC_SDP_MAX_MESSAGE 16384
/* The index of the offer's data channel section, or -1. */
int rtc_sdp_datachannel_index(const rtc_sdp_t *offer);
int rtc_sdp_write_publish_answer(const rtc_sdp_t *offer, const rtc_sdp_local_t *local, char *out,
                                 size_t cap, char *err, size_t err_cap);
/* The extension ids the node offers on subscribe sessions (the same in every
 * section: BUNDLE shares one id space). */
extern const rtp_ext_ids_t rtc_sdp_node_ext_ids;
/* Those a section of that kind carries (audio level for audio only). */
void rtc_sdp_ext_ids_for(rtc_media_kind_t kind, rtp_ext_ids_t *out);
/* The RTX (RFC 4588) payload type a section pairs with codec pt (its
 * rtpmap "rtx" with fmtp apt=pt), or 0 when it has none. */
uint8_t rtc_sdp_rtx_pt(const rtc_sdp_media_t *m, uint8_t pt);
/* The RTX payload type the node takes from a publisher's video section for
 * codec pt (written in the publish answer), or 0: RTX needs the offer's rtx
 * type for pt and a way to tell its stream: the FID partner of a single
 * stream, or the repaired-rtp-stream-id extension of RID simulcast. */
uint8_t rtc_sdp_publish_rtx_pt(const rtc_sdp_media_t *m, uint8_t pt);
/* Whether a subscribe answer accepted RTX in any video section. */
bool rtc_sdp_answer_has_rtx(const rtc_sdp_t *answer);
/* The ids a subscribe answer accepted, of those we offered. */
void rtc_sdp_answer_ext_ids(const rtc_sdp_t *answer, rtp_ext_ids_t *out);

/* Answers a receive-only offer (WHEP): section i of the offer is answered
 * with tracks[i] (same mid, sendonly with its codec and SSRC; rejected with
 * port 0 when !tracks[i].active). Extension ids are the offer's own, of those
 * the node writes (ext). Length, or -ENOSPC. */
int rtc_sdp_write_play_answer(const rtc_sdp_t *offer, const rtc_sdp_track_t *tracks,
                              const rtp_ext_ids_t *ext, const rtc_sdp_local_t *local, char *out,
                              size_t cap);

/* An offer sending tracks (sendonly, or inactive when ended). Length or -ENOSPC. */
int rtc_sdp_write_subscribe_offer(const rtc_sdp_track_t *tracks, int count,
                                  const rtc_sdp_local_t *local, char *out, size_t cap);

#endif
