/* tools/loadgen/lg.h: synthetic WebRTC participants for the bench harness. One
 * libuv loop runs every participant: REST sign-in, the call protocol over a
 * WebSocket, and per participant a publish and a subscribe leg (ICE as the
 * controlling agent, DTLS client, SRTP) built on the node's own ice/ and dtls/. */
#ifndef SFU_TOOLS_LG_H
#define SFU_TOOLS_LG_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dtls/dtls_cert.h"
#include "dtls/dtls_transport.h"
#include "dtls/srtp_session.h"
#include "ice/stun_client.h"
#include "ice/stun_server.h"
#include "rtp/rtp.h"

#define LG_AUDIO_PT       111
#define LG_VIDEO_PT       96
#define LG_MAX_TRACKS     2                   /* audio, video */
#define LG_MAX_LAYERS     3                   /* --simulcast: video layers, lowest first */
#define LG_MAX_STREAMS    (1 + LG_MAX_LAYERS) /* slot 0 audio, 1 + layer video */
#define LG_PKT_MAX        1200
#define LG_BUF_CAP        (1500 + SRTP_SESSION_TRAILER_LEN)
#define LG_MAGIC          0x4c474e31u /* "LGN1" */
#define LG_PAYLOAD_HDR    26          /* see lg_payload_write */
#define LG_HIST_LINEAR    1024        /* 1 us buckets below this */
#define LG_HIST_SUB       128         /* buckets per power of two above it */
#define LG_HIST_BUCKETS   (LG_HIST_LINEAR + 32 * LG_HIST_SUB)
#define LG_SECONDS_MAX    3600
#define LG_SDP_MAX        32768
#define LG_SUB_SECTIONS   64
#define LG_NODE_MAX_MEDIA 16 /* the node's SDP parser takes at most this many m= sections */
#define LG_SECTION_SSRCS  4  /* a=ssrc values kept per m= section (media, RTX, FEC) */
#define LG_FIXED_SSRC     0x10000000u   /* --fixed-ssrc: this + 16 * index in room + track */
#define LG_SR_PERIOD_NS   1000000000ull /* a sender report per stream a second */
#define LG_AUDIO_CLOCK_HZ 48000
#define LG_VIDEO_CLOCK_HZ 90000

/* ---- latency histogram (microseconds) ---- */
typedef struct lg_hist {
    uint64_t count, sum_us, max_us;
    uint64_t buckets[LG_HIST_BUCKETS];
} lg_hist_t;

void lg_hist_add(lg_hist_t *h, uint64_t us);
/* The value below which a fraction q (0..1) of the samples fall; 0 when empty. */
uint64_t lg_hist_quantile(const lg_hist_t *h, double q);
/* Lower bound, in us, of bucket i. */
uint64_t lg_hist_bucket_floor(size_t i);

/* ---- RTP and the synthetic payload ---- */
typedef struct lg_payload {
    uint32_t publisher; /* participant index */
    uint8_t track;      /* 0 audio, 1 video */
    uint8_t layer;      /* simulcast layer of a video stream, 0 lowest (0 without) */
    bool keyframe;
    uint32_t seq; /* per stream, never wraps in a run */
    uint64_t sent_ns;
} lg_payload_t;

/* Writes the payload header at p (LG_PAYLOAD_HDR bytes): two bytes that read as a
 * VP8 payload descriptor and frame tag (keyframe bit), then magic, publisher,
 * track, flags, layer, sequence and send time. */
void lg_payload_write(uint8_t *p, const lg_payload_t *pl);
/* Reads it back from the payload of a parsed RTP packet (after any CSRCs and
 * header extension the node added). 0, or -EINVAL when it is not ours. */
int lg_payload_read(const rtp_packet_t *pkt, lg_payload_t *out);

/* ---- SSRCs announced to a subscribe leg (ssrc.c) ---- */
/* Media or an SR may arrive this long before the offer that announces its SSRC
 * (the node adds a consumer before its offer goes out, and UDP overtakes the
 * WebSocket) without counting as unannounced. */
#define LG_SSRC_GRACE_NS    (5 * 1000000000ull)
#define LG_SSRC_UNKNOWN_MAX 64 /* unannounced SSRCs tracked one by one per leg */

typedef struct lg_ssrc_entry {
    uint32_t ssrc;
    bool announced;                 /* in an active section of an offer the leg answered */
    bool had_sr;                    /* a sender report came under it once announced */
    uint64_t first_early_ns;        /* its first packet or SR before it was announced */
    uint64_t early_pkts, early_srs; /* before it was announced, and not forgiven */
    bool rtp_started;               /* last_seq and last_ts hold the newest packet's */
    uint16_t last_seq;
    uint32_t last_ts;
} lg_ssrc_entry_t;

/* Every SSRC ever announced to the leg (packets of an earlier offer's SSRCs stay
 * welcome while the node switches over), and those seen without announcement.
 * Embed zeroed; lg_ssrc_set_free releases it. */
typedef struct lg_ssrc_set {
    lg_ssrc_entry_t *v; /* sorted by ssrc */
    int len, cap;
    int last;               /* index of the latest hit: consecutive packets share an SSRC */
    int unknown;            /* entries not announced */
    uint64_t forgiven_pkts; /* arrived before their offer, within the grace */
    uint64_t overflow_pkts, overflow_srs; /* unannounced past LG_SSRC_UNKNOWN_MAX */
    uint64_t seq_jumps, ts_jumps;         /* see lg_ssrc_set_rtp */
} lg_ssrc_set_t;

typedef struct lg_ssrc_stats {
    uint64_t unannounced_pkts, unannounced_srs, early_pkts;
    uint64_t announced, with_sr;
    uint64_t seq_jumps, ts_jumps;
} lg_ssrc_stats_t;

/* A forward step of the RTP sequence number larger than this (or a step back
 * larger than this) under one SSRC is a jump, not loss or reordering. */
#define LG_SEQ_JUMP 1000
/* A step of the RTP timestamp larger than this (5 s at 90 kHz, either way). */
#define LG_TS_JUMP 450000

/* An offer the leg answered names ssrc in an active section. 0 or -ENOMEM. */
int lg_ssrc_set_announce(lg_ssrc_set_t *s, uint32_t ssrc, uint64_t now_ns);
/* An RTP packet (sr false) or a sender report (sr true) under ssrc arrived at
 * now_ns: true when ssrc was announced. */
bool lg_ssrc_set_seen(lg_ssrc_set_t *s, uint32_t ssrc, bool sr, uint64_t now_ns);
/* The RTP sequence number and timestamp of a packet under ssrc, just after
 * lg_ssrc_set_seen of it: a node that switches the source behind one SSRC
 * (a simulcast layer, another producer) must keep both continuous; jumps are
 * counted. */
void lg_ssrc_set_rtp(lg_ssrc_set_t *s, uint32_t ssrc, uint16_t seq, uint32_t ts);
/* Adds the set's counts to *st. */
void lg_ssrc_set_add_stats(const lg_ssrc_set_t *s, lg_ssrc_stats_t *st);
void lg_ssrc_set_free(lg_ssrc_set_t *s);
/* The sorted list of every publisher SSRC of the run. */
void lg_ssrc_sort(uint32_t *v, size_t n);
bool lg_ssrc_sorted_has(const uint32_t *v, size_t n, uint32_t ssrc);

/* ---- WebSocket client over uv_tcp (RFC 6455, client side, text only) ---- */
typedef struct lg_ws lg_ws_t;
typedef struct lg_ws_callbacks {
    void (*on_open)(lg_ws_t *ws);
    void (*on_text)(lg_ws_t *ws, const char *text, size_t len);
    void (*on_closed)(lg_ws_t *ws, const char *reason);
} lg_ws_callbacks_t;

struct lg_ws {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    lg_ws_callbacks_t cb;
    void *ctx;
    char host[64];
    char path[64];     /* of the upgrade request */
    char protocol[32]; /* Sec-WebSocket-Protocol, "" for none */
    uint8_t *in;
    size_t in_len, in_cap;
    char *msg; /* a fragmented message being reassembled */
    size_t msg_len, msg_cap;
    bool upgraded, open, closed, handle_live;
    uint32_t mask_seed;
};

int lg_ws_connect(lg_ws_t *ws, uv_loop_t *loop, const struct sockaddr_in *addr,
                  const lg_ws_callbacks_t *cb, void *ctx);
/* The same with another request path and a subprotocol (NULL: none). */
int lg_ws_connect_to(lg_ws_t *ws, uv_loop_t *loop, const struct sockaddr_in *addr, const char *path,
                     const char *protocol, const lg_ws_callbacks_t *cb, void *ctx);
int lg_ws_send_text(lg_ws_t *ws, const char *text, size_t len);
/* Sends a Close frame and closes the TCP handle; on_closed runs once. */
void lg_ws_close(lg_ws_t *ws);

/* ---- UDP sockets with kernel receive timestamps (sock.c) ---- */
typedef void (*lg_sock_recv_fn)(void *ctx, uint8_t *data, size_t len,
                                const struct sockaddr_in *from, uint64_t rx_ns);
typedef struct lg_sock {
    int fd;
    uv_poll_t poll;
    bool live;
    struct sockaddr_in addr; /* where it is bound */
    lg_sock_recv_fn on_recv;
    void *ctx;
} lg_sock_t;

/* The address media sockets bind and SDP announces (--media-ip). */
extern char lg_media_ip[INET_ADDRSTRLEN];
/* Wall-clock ns (CLOCK_REALTIME): the clock of send stamps and kernel receive times. */
uint64_t lg_now_ns(void);
/* Binds lg_media_ip:0 and starts reading. 0 or a negative errno / UV error. */
int lg_sock_open(lg_sock_t *s, uv_loop_t *loop, lg_sock_recv_fn on_recv, void *ctx);
/* One datagram, now (non-blocking). 0 or -errno. */
int lg_sock_send(lg_sock_t *s, const struct sockaddr_in *to, const uint8_t *data, size_t len);
void lg_sock_close(lg_sock_t *s);

/* ---- blocking REST (set-up only, before the loop runs) ---- */
/* POSTs body (may be NULL) to path; fills *status and the response body (NUL
 * terminated, truncated to cap). Returns 0 or -errno. Gives up after timeout_ms. */
int lg_http_post(const struct sockaddr_in *addr, const char *path, const char *token,
                 const char *body, int *status, char *out, size_t cap, int timeout_ms);

/* ---- SDP the load generator writes and reads ---- */
typedef struct lg_sdp_section {
    bool video;
    char mid[32];
    bool active;          /* sendonly/sendrecv in the offer */
    uint64_t producer_id; /* from a=msid "... t<id>" (the node's subscribe offers); 0 if none */
    uint8_t pt;
    char rtpmap[96]; /* the "a=rtpmap:" value */
    char fmtp[160];
    uint32_t ssrcs[LG_SECTION_SSRCS]; /* the distinct a=ssrc values, in order */
    int ssrc_count;
} lg_sdp_section_t;

typedef struct lg_sdp_remote {
    char ufrag[64], pwd[128], fingerprint[128];
    char setup[16]; /* a=setup: actpass, active or passive; "" when absent */
    char ip[64];
    int port;
    lg_sdp_section_t sections[LG_SUB_SECTIONS];
    int section_count;
} lg_sdp_remote_t;

typedef struct lg_sdp_local {
    const char *ufrag, *pwd, *fingerprint;
    int port;
    uint32_t ssrc[LG_MAX_TRACKS]; /* 0: track not sent */
    /* Simulcast video: its layers' SSRCs, lowest first (a=ssrc-group:SIM);
     * video_layers 0 or 1: ssrc[1] alone. */
    uint32_t layer_ssrc[LG_MAX_LAYERS];
    int video_layers;
    unsigned cname_id;
    int max_sections; /* sections a subscribe answer may hold; 0: LG_NODE_MAX_MEDIA */
} lg_sdp_local_t;

/* 0, or -EINVAL when credentials, fingerprint or the address are missing. */
int lg_sdp_parse(const char *sdp, lg_sdp_remote_t *out);
/* The publish offer: audio (opus) and/or video (VP8), sendonly. Length or -ENOSPC. */
int lg_sdp_write_publish_offer(const lg_sdp_local_t *l, char *out, size_t cap);
/* The answer to a subscribe offer: recvonly per active section (at most
 * LG_NODE_MAX_MEDIA sections). Length or -ENOSPC. */
int lg_sdp_write_subscribe_answer(const lg_sdp_remote_t *offer, const lg_sdp_local_t *l, char *out,
                                  size_t cap);

/* ---- the run ---- */
typedef struct lg lg_t;
typedef struct lg_peer lg_peer_t;

typedef enum { LEG_IDLE = 0, LEG_ICE, LEG_DTLS, LEG_UP, LEG_FAILED } lg_leg_state_t;

typedef struct lg_leg {
    lg_peer_t *peer;
    bool is_pub;
    lg_sock_t sock;
    bool null_mode; /* the null forwarder: hello and derived keys, no ICE or DTLS */
    struct sockaddr_in remote;
    int local_port;
    char ufrag[16], pwd[40];
    char remote_ufrag[64], remote_pwd[128], remote_fp[128];
    ice_client_t *ice;
    /* Against a full-ICE peer (--janus): the leg also answers the peer's
     * checks; a controlled leg (the peer offered) only answers them. */
    bool full_ice, controlled, checked;
    dtls_role_t dtls_role;
    dtls_transport_t *dtls;
    srtp_session_t *srtp;
    srtp_session_profile_t profile;
    lg_leg_state_t state;
    int ice_tries;
    uint64_t next_check_ns, dtls_started_ns, connected_ns;
    uint64_t rx_rtp, rx_rtcp, tx_rtp, tx_rtcp, tx_failed, rx_bytes;
} lg_leg_t;

/* One synthetic stream a participant sends. */
typedef struct lg_stream {
    bool video;
    int layer; /* simulcast layer (0 lowest); 0 without simulcast */
    int slot;  /* lg_stream_slot(track, layer): its place in a subscriber's rx */
    uint32_t ssrc;
    uint16_t rtp_seq;
    uint32_t seq; /* payload sequence */
    uint64_t period_ns, next_ns;
    /* RTP time: the stream's clock since origin_ns (uv_hrtime of its first
     * packet's slot), so timestamps and sender reports agree with the wall clock. */
    uint64_t origin_ns;
    uint32_t frame_ts;                  /* the video frame being sent */
    uint64_t packets_sent, octets_sent; /* RFC 3550 6.4.1: payload octets */
    uint64_t next_sr_ns, srs_sent;
    size_t bytes;
    unsigned frame_pkts, in_frame;
    bool keyframe_due;
    uint32_t seq_at_measure_start, seq_at_measure_end;
    uint64_t plis;
} lg_stream_t;

/* A subscriber's rx entry of a publisher's stream: audio 0, video 1 + layer. */
static inline int lg_stream_slot(int track, int layer)
{
    return track ? 1 + layer : 0;
}

/* What one subscriber got of one stream (one simulcast layer). */
typedef struct lg_rx {
    uint64_t received;    /* in total */
    uint64_t in_window;   /* with a sequence inside the stream's measure window */
    uint64_t late_or_dup; /* at or below the highest sequence seen */
    uint32_t max_seq;
    uint32_t win_first, win_last; /* lowest and highest sequence received in the window */
    uint64_t last_ns;             /* when the latest arrived (the current layer's is latest) */
    bool any;
} lg_rx_t;

struct lg_peer;
/* The layer a subscriber should get of a simulcast video of `layers` layers:
 * the highest it asked for, else the top (on loopback the budget never
 * limits). */
int lg_wanted_layer(const struct lg_peer *sub, int layers);

struct lg_peer {
    lg_t *lg;
    int index, room;
    bool publishes;
    char username[64];
    char token[1024];
    int64_t room_id;
    lg_ws_t ws;
    bool ws_live, authed, joined, failed, left;
    int next_id;
    unsigned sub_version;
    lg_leg_t pub, sub;
    lg_stream_t streams[LG_MAX_STREAMS];
    int stream_count;
    int video_layers; /* simulcast: the video's layers; 1 without */
    int prefer_layer; /* the highest layer it asks for (call_set_layers); -1: none */
    uint64_t layers_asked, layers_set; /* call_set_layers sent, call_layers_set received */
    lg_rx_t *rx;                       /* [lg->participants * LG_MAX_STREAMS], by lg_stream_slot */
    lg_ssrc_set_t announced;           /* SSRCs the subscribe offers announced */
    uint64_t srs_received;             /* RTCP sender reports on the subscribe leg */
    uint64_t join_ns, first_rx_ns;
    uint64_t ws_errors;
    char last_error[160];
    /* --janus: the Janus API session, its videoroom handles, this
     * participant's feed, and the room's feeds (publishers) it has seen; the
     * first feeds_asked of them are subscribed or being subscribed. */
    uint64_t j_session, j_pub_handle, j_sub_handle, j_feed;
    uint64_t *j_feeds;
    int j_feed_count, j_feeds_asked;
    bool j_sub_attaching, j_sub_busy;
};

typedef struct lg_opts {
    char host[64];
    int port;
    int rooms, per_room, publishers; /* publishers per room; -1: everyone */
    bool audio, video;
    int audio_pps, audio_bytes;
    int video_kbps, video_pps, video_bytes, video_fps;
    double duration_s, warmup_s, ramp_s, connect_timeout_s;
    const char *tokens_file;
    int64_t room_id; /* with tokens: the room every participant joins */
    const char *password;
    const char *user_prefix;
    int watch_pid;
    const char *json_out;
    bool quiet;
    bool null_target; /* --null HOST:PORT: the null forwarder instead of a node */
    bool null_bare;   /* --null-bare: one shared key, for null-forwarder --bare */
    bool fixed_ssrc;  /* SSRCs from the index in the room and the track, not random */
    bool simulcast;   /* video as LG_MAX_LAYERS layers (a=ssrc-group:SIM) */
    bool janus;       /* --janus HOST:PORT: Janus's videoroom over its WebSocket API */
    /* --prefer-layer: subscriber i of a room asks for prefer[i % prefer_count]
     * (-1: asks nothing). */
    int prefer[16];
    int prefer_count;
    struct sockaddr_in null_addr;
} lg_opts_t;

typedef struct lg_baseline lg_baseline_t;

struct lg {
    uv_loop_t *loop;
    lg_opts_t o;
    struct sockaddr_in http_addr;
    dtls_cert_t *cert;
    lg_peer_t *peers;
    int participants;
    uv_timer_t tick, housekeeping, progress, deadline;
    uv_signal_t sigint;
    int phase; /* see main.c */
    uint64_t start_ns, phase_ns, measure_start_ns, measure_end_ns;
    lg_hist_t latency, baseline_hist;
    lg_hist_t connect_ms;
    lg_baseline_t *baseline;
    uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, tx_failed, foreign_pkts;
    uint32_t *pub_ssrcs; /* every publisher track's SSRC, sorted */
    size_t pub_ssrc_count;
    uint64_t publisher_ssrc_sections; /* subscribe-offer sections under a publisher's SSRC */
    uint64_t rx_per_s[LG_SECONDS_MAX], tx_per_s[LG_SECONDS_MAX];
    double p99_per_s[LG_SECONDS_MAX];
    lg_hist_t second_hist;
    int seconds;
    uint64_t prev_rx;
    srtp_session_profile_t profile;
    ice_lite_t responder[2]; /* --janus: answers checks; [1] as the controlling agent */
    long idle_rss_kib, peak_rss_kib;
    double cpu_at_start_s, cpu_at_end_s;
    int exit_code;
};

/* leg.c */
int lg_leg_init(lg_leg_t *leg, lg_peer_t *peer, bool is_pub);
/* The remote side is known (from the node's SDP): start the ICE checks. */
int lg_leg_start(lg_leg_t *leg, const lg_sdp_remote_t *remote);
/* The null forwarder at addr: register with hellos, then SRTP with derived keys. */
int lg_leg_start_null(lg_leg_t *leg, const struct sockaddr_in *addr);
/* ICE retransmissions, DTLS timers, consent refreshes. */
void lg_leg_housekeeping(lg_leg_t *leg, uint64_t now_ns);
/* Protects and sends an RTP packet built in buf (cap LG_BUF_CAP). */
int lg_leg_send_rtp(lg_leg_t *leg, uint8_t *buf, size_t len);
/* Protects and sends an RTCP compound packet built in buf (cap LG_BUF_CAP). */
int lg_leg_send_rtcp(lg_leg_t *leg, uint8_t *buf, size_t len);
void lg_leg_close(lg_leg_t *leg);
/* srtp auth failures seen on this leg */
uint64_t lg_leg_auth_failures(const lg_leg_t *leg);

/* peer.c */
/* The leg's SDP parameters and the participant's SSRCs. */
lg_sdp_local_t lg_peer_local_desc(lg_peer_t *p, lg_leg_t *leg);
/* The publish leg's offer (a static buffer, valid until the next call) and,
 * in l, what it was written from; NULL (the peer failed) when too large. */
const char *lg_peer_publish_offer(lg_peer_t *p, lg_sdp_local_t *l);
/* Notes what a subscribe offer announces (before the leg answers it). */
void lg_peer_note_offer(lg_peer_t *p, const lg_sdp_remote_t *offer);
int lg_peer_start(lg_peer_t *p);
void lg_peer_leave(lg_peer_t *p);
/* Marks the participant failed (counted in the summary), saying why once. */
void lg_peer_fail(lg_peer_t *p, const char *why);
/* Sends msg (taking its reference) as one text frame; fails the peer if it cannot. */
void lg_peer_send_json(lg_peer_t *p, json_t *msg);
void lg_peer_send_due(lg_peer_t *p, uint64_t now_ns);
/* A decrypted RTP packet on the subscribe leg. */
void lg_peer_on_media(lg_peer_t *p, uint8_t *pkt, size_t len, uint64_t now_ns);
/* A decrypted RTCP compound packet on either leg. */
void lg_peer_on_rtcp(lg_peer_t *p, lg_leg_t *leg, uint8_t *pkt, size_t len, uint64_t now_ns);

/* janus.c: the same participant against Janus's videoroom (RFC 6455 text
 * frames of the Janus API, subprotocol janus-protocol): a session, a publisher
 * handle that creates the room if needed, joins and publishes, and one
 * subscriber handle that subscribes to every feed of the room, renegotiating
 * as feeds appear. Room r of the run is Janus room LG_JANUS_ROOM_BASE + r. */
#define LG_JANUS_ROOM_BASE 1000
int lg_janus_start(lg_peer_t *p);
void lg_janus_leave(lg_peer_t *p);

/* baseline.c: two sockets talking straight to each other on the same loop */
lg_baseline_t *lg_baseline_new(lg_t *lg);
void lg_baseline_send_due(lg_baseline_t *b, uint64_t now_ns);
/* Closes its sockets; lg_baseline_release frees it once the loop ran. */
void lg_baseline_free(lg_baseline_t *b);
void lg_baseline_release(lg_baseline_t *b);

/* report.c */
/* The JSON summary of the run (caller decrefs). */
json_t *lg_summary(lg_t *lg);
/* CPU seconds (user + system) and resident KiB of a process; -1 when unreadable. */
double lg_proc_cpu_s(int pid);
long lg_proc_rss_kib(int pid);

/* True while latency is recorded. */
bool lg_measuring(const lg_t *lg, uint64_t now_ns);

#endif
