/* tools/loadgen/main.c: sfu-loadgen: flags, sign-in, the phases of a run (join,
 * warm-up, measure, drain, leave), the progress line and the JSON summary. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "tools/loadgen/lg.h"

enum { PHASE_JOIN, PHASE_WARMUP, PHASE_MEASURE, PHASE_DRAIN, PHASE_LEAVE, PHASE_DONE };

#define NS_PER_S 1000000000ull
#define DRAIN_NS (500 * 1000000ull)
#define LEAVE_NS (300 * 1000000ull)
#define REST_MS  30000

static lg_t G;

bool lg_measuring(const lg_t *lg, uint64_t t_ns)
{
    return lg->measure_start_ns && t_ns >= lg->measure_start_ns &&
           (!lg->measure_end_ns || t_ns < lg->measure_end_ns);
}

/* ---- set-up over REST ---- */

static int json_token(const char *body, char *token, size_t cap)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "accessToken"));
    int rc = t && strlen(t) < cap ? 0 : -EINVAL;
    if (!rc)
        snprintf(token, cap, "%s", t);
    json_decref(j);
    return rc;
}

static int sign_in(lg_t *lg, lg_peer_t *p, const char *prefix)
{
    char body[512], out[4096];
    int status = 0;
    snprintf(p->username, sizeof p->username, "%s_%d", prefix, p->index);
    snprintf(body, sizeof body,
             "{\"email\":\"%s@loadgen.test\",\"username\":\"%s\",\"password\":\"%s\"}", p->username,
             p->username, lg->o.password);
    int rc = lg_http_post(&lg->http_addr, "/api/auth/register", NULL, body, &status, out,
                          sizeof out, REST_MS);
    if (!rc && status == 409) {
        snprintf(body, sizeof body, "{\"email\":\"%s@loadgen.test\",\"password\":\"%s\"}",
                 p->username, lg->o.password);
        rc = lg_http_post(&lg->http_addr, "/api/auth/login", NULL, body, &status, out, sizeof out,
                          REST_MS);
    }
    if (rc || (status != 200 && status != 201) || json_token(out, p->token, sizeof p->token)) {
        fprintf(stderr, "loadgen: sign-in of %s failed: %s (HTTP %d) %.200s\n", p->username,
                rc ? strerror(-rc) : "", status, out);
        return -1;
    }
    return 0;
}

static int make_rooms(lg_t *lg)
{
    char out[4096], path[128];
    int status = 0;
    for (int r = 0; r < lg->o.rooms; r++) {
        lg_peer_t *host = &lg->peers[r * lg->o.per_room];
        int rc = lg_http_post(&lg->http_addr, "/api/rooms", host->token,
                              "{\"name\":\"loadgen\",\"private\":false}", &status, out, sizeof out,
                              REST_MS);
        json_t *j = rc ? NULL : json_loads(out, 0, NULL);
        json_int_t id = json_integer_value(json_object_get(json_object_get(j, "room"), "id"));
        json_decref(j);
        if (rc || status != 201 || id <= 0) {
            fprintf(stderr, "loadgen: creating room %d failed (HTTP %d) %.200s\n", r, status, out);
            return -1;
        }
        for (int i = 0; i < lg->o.per_room; i++) {
            lg_peer_t *p = &lg->peers[r * lg->o.per_room + i];
            p->room_id = id;
            if (i == 0)
                continue;
            snprintf(path, sizeof path, "/api/rooms/%lld/join", (long long)id);
            rc = lg_http_post(&lg->http_addr, path, p->token, NULL, &status, out, sizeof out,
                              REST_MS);
            if (rc || status != 200) {
                fprintf(stderr, "loadgen: %s joining room %lld failed (HTTP %d)\n", p->username,
                        (long long)id, status);
                return -1;
            }
        }
    }
    return 0;
}

static int read_tokens(lg_t *lg)
{
    FILE *f = fopen(lg->o.tokens_file, "r");
    if (!f) {
        fprintf(stderr, "loadgen: %s: %s\n", lg->o.tokens_file, strerror(errno));
        return -1;
    }
    char line[1024];
    int n = 0;
    while (n < lg->participants && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n ")] = '\0';
        if (!line[0])
            continue;
        lg_peer_t *p = &lg->peers[n++];
        snprintf(p->token, sizeof p->token, "%s", line);
        snprintf(p->username, sizeof p->username, "token%d", p->index);
        p->room_id = lg->o.room_id;
    }
    fclose(f);
    if (n < lg->participants) {
        fprintf(stderr, "loadgen: %s holds %d tokens; %d participants need one each\n",
                lg->o.tokens_file, n, lg->participants);
        return -1;
    }
    return 0;
}

/* Packets a second and bytes a packet for kbps: bitrate / largest payload, or
 * --video-pps; at least min_pps. */
static void video_shape(const lg_opts_t *o, int kbps, int pps_given, int min_pps, int *pps_out,
                        size_t *bytes_out)
{
    int pps = pps_given;
    if (pps <= 0)
        pps = (int)((kbps * 1000L / 8 + o->video_bytes - 1) / o->video_bytes);
    if (pps < min_pps)
        pps = min_pps;
    if (pps < 1)
        pps = 1;
    size_t bytes = (size_t)kbps * 1000 / 8 / (size_t)pps;
    *pps_out = pps;
    *bytes_out = bytes > LG_PKT_MAX ? LG_PKT_MAX : bytes;
}

static void init_streams(lg_t *lg, lg_peer_t *p)
{
    const lg_opts_t *o = &lg->o;
    uint32_t ssrc[LG_MAX_STREAMS];
    random_bytes((uint8_t *)ssrc, sizeof ssrc);
    ssrc[0] |= 1;
    for (int k = 1; k < LG_MAX_STREAMS; k++)
        ssrc[k] = (ssrc[k] | 1) ^ 0x80000000u;
    /* --fixed-ssrc: every room uses the same SSRCs, so a node that keys anything
     * by SSRC alone mixes the rooms up. Stream slot k: 0 audio, 1 + layer video. */
    for (uint32_t k = 0; o->fixed_ssrc && k < LG_MAX_STREAMS; k++)
        ssrc[k] = LG_FIXED_SSRC + 16 * (uint32_t)(p->index % o->per_room) + k;
    p->video_layers = 1;
    if (o->audio) {
        lg_stream_t *s = &p->streams[p->stream_count++];
        s->ssrc = ssrc[0];
        s->period_ns = NS_PER_S / (uint64_t)o->audio_pps;
        s->bytes = (size_t)o->audio_bytes;
    }
    if (!o->video)
        return;
    /* Simulcast: 1/16, 1/4 and all of --video-kbps, lowest first; the lower
     * layers keep the frame rate with smaller packets. */
    int layers = o->simulcast ? LG_MAX_LAYERS : 1;
    p->video_layers = layers;
    for (int l = 0; l < layers; l++) {
        lg_stream_t *s = &p->streams[p->stream_count++];
        int top = l == layers - 1;
        int kbps = top ? o->video_kbps : o->video_kbps >> (2 * (layers - 1 - l));
        int pps;
        size_t bytes;
        video_shape(o, kbps > 0 ? kbps : 1, top ? o->video_pps : 0, top ? 0 : o->video_fps, &pps,
                    &bytes);
        s->video = true;
        s->layer = l;
        s->slot = lg_stream_slot(1, l);
        s->ssrc = ssrc[s->slot];
        s->period_ns = NS_PER_S / (uint64_t)pps;
        s->bytes = bytes;
        s->frame_pkts = (unsigned)(pps / o->video_fps > 0 ? pps / o->video_fps : 1);
        s->keyframe_due = true;
    }
}

/* Every publisher track's SSRC, sorted: an offer naming one announces the
 * publisher's SSRC rather than one of the node's own. */
static int collect_publisher_ssrcs(lg_t *lg)
{
    lg->pub_ssrcs = calloc((size_t)lg->participants * LG_MAX_STREAMS, sizeof *lg->pub_ssrcs);
    if (!lg->pub_ssrcs)
        return -1;
    for (int i = 0; i < lg->participants; i++)
        for (int s = 0; s < lg->peers[i].stream_count; s++)
            lg->pub_ssrcs[lg->pub_ssrc_count++] = lg->peers[i].streams[s].ssrc;
    lg_ssrc_sort(lg->pub_ssrcs, lg->pub_ssrc_count);
    return 0;
}

/* ---- phases ---- */

static bool peer_ready(const lg_t *lg, const lg_peer_t *p)
{
    if (p->failed)
        return true; /* counted as failed; waiting longer does not help */
    if (p->publishes && p->stream_count && p->pub.state != LEG_UP)
        return false;
    for (int q = 0; q < lg->participants; q++) {
        const lg_peer_t *pub = &lg->peers[q];
        if (q == p->index || pub->room != p->room || !pub->publishes || pub->failed)
            continue;
        /* Every track; of a simulcast video, the layer it should get, as the
         * one it gets now (the node may start on another). */
        bool audio = false, video = false, got_audio = false, got_video = false;
        uint64_t latest = 0;
        int latest_layer = -1;
        for (int s = 0; s < pub->stream_count; s++) {
            const lg_stream_t *st = &pub->streams[s];
            const lg_rx_t *rx = &p->rx[q * LG_MAX_STREAMS + st->slot];
            if (st->video) {
                video = true;
                got_video |= rx->any;
                if (rx->any && rx->last_ns >= latest) {
                    latest = rx->last_ns;
                    latest_layer = st->layer;
                }
            } else {
                audio = true;
                got_audio |= rx->any;
            }
        }
        if (audio != got_audio || video != got_video)
            return false;
        if (pub->video_layers > 1 && latest_layer != lg_wanted_layer(p, pub->video_layers))
            return false;
    }
    return true;
}

static void enter_phase(lg_t *lg, int phase, uint64_t now)
{
    lg->phase = phase;
    lg->phase_ns = now;
    if (phase == PHASE_WARMUP) {
        lg->baseline = lg_baseline_new(lg);
    } else if (phase == PHASE_MEASURE) {
        for (int i = 0; i < lg->participants; i++)
            for (int s = 0; s < lg->peers[i].stream_count; s++)
                lg->peers[i].streams[s].seq_at_measure_start = lg->peers[i].streams[s].seq;
        if (lg->o.watch_pid)
            lg->cpu_at_start_s = lg_proc_cpu_s(lg->o.watch_pid);
        lg->measure_start_ns = lg_now_ns();
        lg->seconds = 0;
    } else if (phase == PHASE_DRAIN) {
        lg->measure_end_ns = lg_now_ns();
        for (int i = 0; i < lg->participants; i++)
            for (int s = 0; s < lg->peers[i].stream_count; s++)
                lg->peers[i].streams[s].seq_at_measure_end = lg->peers[i].streams[s].seq;
        if (lg->o.watch_pid) {
            lg->cpu_at_end_s = lg_proc_cpu_s(lg->o.watch_pid);
            long rss = lg_proc_rss_kib(lg->o.watch_pid);
            if (rss > lg->peak_rss_kib)
                lg->peak_rss_kib = rss;
        }
    } else if (phase == PHASE_LEAVE) {
        for (int i = 0; i < lg->participants; i++)
            lg_peer_leave(&lg->peers[i]);
    } else if (phase == PHASE_DONE) {
        uv_stop(lg->loop);
    }
}

static void on_tick(uv_timer_t *t)
{
    lg_t *lg = t->data;
    if (lg->phase > PHASE_MEASURE)
        return;
    uint64_t now = uv_hrtime();
    for (int i = 0; i < lg->participants; i++)
        lg_peer_send_due(&lg->peers[i], now);
    lg_baseline_send_due(lg->baseline, now);
}

static void on_housekeeping(uv_timer_t *t)
{
    lg_t *lg = t->data;
    uint64_t now = uv_hrtime();
    uint64_t since = now - lg->phase_ns;
    /* Ramp-up: participant i starts at i * ramp / participants. */
    for (int i = 0; i < lg->participants && lg->phase == PHASE_JOIN; i++) {
        lg_peer_t *p = &lg->peers[i];
        uint64_t at = (uint64_t)(lg->o.ramp_s * NS_PER_S * i / lg->participants);
        if (!p->ws_live && since >= at)
            lg_peer_start(p);
    }
    for (int i = 0; i < lg->participants; i++) {
        if (lg->peers[i].left)
            continue;
        lg_leg_housekeeping(&lg->peers[i].pub, now);
        lg_leg_housekeeping(&lg->peers[i].sub, now);
    }
    switch (lg->phase) {
    case PHASE_JOIN: {
        bool all = since >= (uint64_t)(lg->o.ramp_s * NS_PER_S);
        for (int i = 0; i < lg->participants && all; i++)
            all = peer_ready(lg, &lg->peers[i]);
        if (all || since >= (uint64_t)((lg->o.ramp_s + lg->o.connect_timeout_s) * NS_PER_S)) {
            if (!all)
                fprintf(stderr, "loadgen: not everyone connected within %.0f s; measuring anyway\n",
                        lg->o.connect_timeout_s);
            enter_phase(lg, PHASE_WARMUP, now);
        }
        break;
    }
    case PHASE_WARMUP:
        if (since >= (uint64_t)(lg->o.warmup_s * NS_PER_S))
            enter_phase(lg, PHASE_MEASURE, now);
        break;
    case PHASE_MEASURE:
        if (since >= (uint64_t)(lg->o.duration_s * NS_PER_S))
            enter_phase(lg, PHASE_DRAIN, now);
        break;
    case PHASE_DRAIN:
        if (since >= DRAIN_NS)
            enter_phase(lg, PHASE_LEAVE, now);
        break;
    case PHASE_LEAVE:
        if (since >= LEAVE_NS)
            enter_phase(lg, PHASE_DONE, now);
        break;
    default:
        break;
    }
}

static void count_legs(const lg_t *lg, int *up, int *want, int *failed)
{
    *up = *want = *failed = 0;
    for (int i = 0; i < lg->participants; i++) {
        const lg_peer_t *p = &lg->peers[i];
        *failed += p->failed;
        const lg_leg_t *legs[2] = {&p->pub, &p->sub};
        for (int k = 0; k < 2; k++) {
            if (legs[k]->state != LEG_IDLE)
                (*want)++;
            if (legs[k]->state == LEG_UP)
                (*up)++;
        }
    }
}

static void on_progress(uv_timer_t *t)
{
    static const char *names[] = {"join", "warmup", "measure", "drain", "leave", "done"};
    lg_t *lg = t->data;
    uint64_t rx = lg->rx_pkts - lg->prev_rx;
    lg->prev_rx = lg->rx_pkts;
    uint64_t p99 = lg_hist_quantile(&lg->second_hist, 0.99);
    if (lg->phase == PHASE_MEASURE && lg->seconds < LG_SECONDS_MAX) {
        lg->rx_per_s[lg->seconds] = rx;
        lg->p99_per_s[lg->seconds] = (double)p99;
        lg->seconds++;
    }
    memset(&lg->second_hist, 0, sizeof lg->second_hist);
    if (lg->o.watch_pid) {
        long rss = lg_proc_rss_kib(lg->o.watch_pid);
        if (rss > lg->peak_rss_kib && lg->phase >= PHASE_WARMUP)
            lg->peak_rss_kib = rss;
    }
    if (lg->o.quiet)
        return;
    int up, want, failed;
    count_legs(lg, &up, &want, &failed);
    fprintf(stderr,
            "loadgen: %-7s t=%3.0fs legs %d/%d up, %d failed | tx %llu pkts | rx %llu pkt/s | "
            "p50 %llu us p99 %llu us\n",
            names[lg->phase], (double)(uv_hrtime() - lg->start_ns) / 1e9, up, want, failed,
            (unsigned long long)lg->tx_pkts, (unsigned long long)rx,
            (unsigned long long)lg_hist_quantile(&lg->latency, 0.5), (unsigned long long)p99);
}

static void on_deadline(uv_timer_t *t)
{
    lg_t *lg = t->data;
    fprintf(stderr, "loadgen: the run passed its time limit; stopping\n");
    lg->exit_code = 3;
    if (lg->phase < PHASE_DRAIN)
        enter_phase(lg, PHASE_DRAIN, uv_hrtime());
    enter_phase(lg, PHASE_LEAVE, uv_hrtime());
    enter_phase(lg, PHASE_DONE, uv_hrtime());
}

static void on_sigint(uv_signal_t *s, int signum)
{
    lg_t *lg = s->data;
    (void)signum;
    if (lg->phase < PHASE_DRAIN) {
        fprintf(stderr, "loadgen: interrupted; summarising what was measured\n");
        if (lg->phase < PHASE_MEASURE)
            enter_phase(lg, PHASE_MEASURE, uv_hrtime());
        enter_phase(lg, PHASE_DRAIN, uv_hrtime());
    }
}

/* ---- flags ---- */

static void usage(FILE *out)
{
    fprintf(out, "Usage: sfu-loadgen [options]\n\n"
                 "Synthetic WebRTC participants: sign in, join calls, publish and subscribe,\n"
                 "measure one-way latency and loss; prints a JSON summary on stdout.\n\n"
                 "  --url http://HOST:PORT   the node (default http://127.0.0.1:8080)\n"
                 "  --rooms N                rooms (default 1)\n"
                 "  --per-room N             participants per room (default 4)\n"
                 "  --publishers N           publishers per room, the first N (default: all)\n"
                 "  --no-audio, --no-video   tracks each publisher sends (default both)\n"
                 "  --audio-pps N            audio packets/s (default 50)\n"
                 "  --audio-bytes N          audio payload bytes (default 100)\n"
                 "  --video-kbps N           video bitrate (default 1000)\n"
                 "  --video-pps N            video packets/s (default: bitrate / video-bytes)\n"
                 "  --video-bytes N          largest video payload (default 1200)\n"
                 "  --video-fps N            frames/s: packets per frame, marker bit (default 30)\n"
                 "  --duration S             measured seconds (default 10)\n"
                 "  --warmup S               seconds between connected and measuring (default 1)\n"
                 "  --ramp S                 spread joins over S seconds (default 0)\n"
                 "  --connect-timeout S      wait for everyone to connect (default 20)\n"
                 "  --tokens FILE            access tokens, one a line, instead of registering\n"
                 "  --room-id ID             with --tokens: the room everyone joins (one room)\n"
                 "  --user-prefix P          usernames P_0, P_1, ... (default: lg + random)\n"
                 "  --password P             their password (default loadgen-password)\n"
                 "  --watch-pid PID          report this process's CPU and RSS (the node)\n"
                 "  --fixed-ssrc             SSRCs 0x10000000 + 16 * index in room + stream\n"
                 "                           (0 audio, 1 + layer video): the same in every room\n"
                 "  --simulcast              video as 3 layers (1/16, 1/4, 1 of --video-kbps)\n"
                 "                           in one a=ssrc-group:SIM, keyframes per layer\n"
                 "  --prefer-layer L[,L...]  subscriber i of a room asks for at most layer\n"
                 "                           L[i mod count] (0-2, or - for nothing) of every\n"
                 "                           video it receives (call_set_layers)\n"
                 "  --null HOST:PORT         the null forwarder instead of a node (bench ceiling)\n"
                 "  --null-bare              with --null: one key for every leg, for\n"
                 "                           null-forwarder --bare (no SRTP there)\n"
                 "  --janus HOST:PORT        Janus's videoroom over its WebSocket API instead\n"
                 "                           of a node (the bench's peer SFU)\n"
                 "  --media-ip IP            the IPv4 address media sockets bind and offer\n"
                 "                           (default 127.0.0.1)\n"
                 "  --json FILE              also write the summary to FILE\n"
                 "  --quiet                  no progress line\n");
}

/* "0", "2,0", "-,1": a layer (or - for none) per subscriber, cycled. */
static int parse_prefer(const char *arg, lg_opts_t *o)
{
    o->prefer_count = 0;
    for (const char *p = arg; *p;) {
        size_t n = strcspn(p, ",");
        if (o->prefer_count == (int)(sizeof o->prefer / sizeof o->prefer[0]))
            return -1;
        if (n == 1 && *p == '-')
            o->prefer[o->prefer_count++] = -1;
        else if (n == 1 && *p >= '0' && *p < '0' + LG_MAX_LAYERS)
            o->prefer[o->prefer_count++] = *p - '0';
        else
            return -1;
        p += n;
        if (*p == ',' && *++p == '\0')
            return -1;
    }
    return o->prefer_count ? 0 : -1;
}

static int parse_opts(int argc, char **argv, lg_opts_t *o)
{
    enum {
        O_URL = 256,
        O_ROOMS,
        O_PER_ROOM,
        O_PUBLISHERS,
        O_NO_AUDIO,
        O_NO_VIDEO,
        O_AUDIO_PPS,
        O_AUDIO_BYTES,
        O_VIDEO_KBPS,
        O_VIDEO_PPS,
        O_VIDEO_BYTES,
        O_VIDEO_FPS,
        O_DURATION,
        O_WARMUP,
        O_RAMP,
        O_CONNECT_TIMEOUT,
        O_TOKENS,
        O_ROOM_ID,
        O_USER_PREFIX,
        O_PASSWORD,
        O_WATCH_PID,
        O_NULL,
        O_NULL_BARE,
        O_FIXED_SSRC,
        O_SIMULCAST,
        O_PREFER_LAYER,
        O_JANUS,
        O_MEDIA_IP,
        O_JSON,
        O_QUIET,
        O_HELP
    };
    static const struct option longs[] = {
        {"url", 1, 0, O_URL},
        {"rooms", 1, 0, O_ROOMS},
        {"per-room", 1, 0, O_PER_ROOM},
        {"publishers", 1, 0, O_PUBLISHERS},
        {"no-audio", 0, 0, O_NO_AUDIO},
        {"no-video", 0, 0, O_NO_VIDEO},
        {"audio-pps", 1, 0, O_AUDIO_PPS},
        {"audio-bytes", 1, 0, O_AUDIO_BYTES},
        {"video-kbps", 1, 0, O_VIDEO_KBPS},
        {"video-pps", 1, 0, O_VIDEO_PPS},
        {"video-bytes", 1, 0, O_VIDEO_BYTES},
        {"video-fps", 1, 0, O_VIDEO_FPS},
        {"duration", 1, 0, O_DURATION},
        {"warmup", 1, 0, O_WARMUP},
        {"ramp", 1, 0, O_RAMP},
        {"connect-timeout", 1, 0, O_CONNECT_TIMEOUT},
        {"tokens", 1, 0, O_TOKENS},
        {"room-id", 1, 0, O_ROOM_ID},
        {"user-prefix", 1, 0, O_USER_PREFIX},
        {"password", 1, 0, O_PASSWORD},
        {"watch-pid", 1, 0, O_WATCH_PID},
        {"null", 1, 0, O_NULL},
        {"null-bare", 0, 0, O_NULL_BARE},
        {"fixed-ssrc", 0, 0, O_FIXED_SSRC},
        {"simulcast", 0, 0, O_SIMULCAST},
        {"prefer-layer", 1, 0, O_PREFER_LAYER},
        {"janus", 1, 0, O_JANUS},
        {"media-ip", 1, 0, O_MEDIA_IP},
        {"json", 1, 0, O_JSON},
        {"quiet", 0, 0, O_QUIET},
        {"help", 0, 0, O_HELP},
        {0, 0, 0, 0},
    };
    *o = (lg_opts_t){.port = 8080,
                     .rooms = 1,
                     .per_room = 4,
                     .publishers = -1,
                     .audio = true,
                     .video = true,
                     .audio_pps = 50,
                     .audio_bytes = 100,
                     .video_kbps = 1000,
                     .video_bytes = 1200,
                     .video_fps = 30,
                     .duration_s = 10,
                     .warmup_s = 1,
                     .connect_timeout_s = 20,
                     .password = "loadgen-password"};
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case O_URL:
            if (sscanf(optarg, "http://%63[^:/]:%d", o->host, &o->port) < 1)
                return -1;
            break;
        case O_ROOMS:
            o->rooms = atoi(optarg);
            break;
        case O_PER_ROOM:
            o->per_room = atoi(optarg);
            break;
        case O_PUBLISHERS:
            o->publishers = atoi(optarg);
            break;
        case O_NO_AUDIO:
            o->audio = false;
            break;
        case O_NO_VIDEO:
            o->video = false;
            break;
        case O_AUDIO_PPS:
            o->audio_pps = atoi(optarg);
            break;
        case O_AUDIO_BYTES:
            o->audio_bytes = atoi(optarg);
            break;
        case O_VIDEO_KBPS:
            o->video_kbps = atoi(optarg);
            break;
        case O_VIDEO_PPS:
            o->video_pps = atoi(optarg);
            break;
        case O_VIDEO_BYTES:
            o->video_bytes = atoi(optarg);
            break;
        case O_VIDEO_FPS:
            o->video_fps = atoi(optarg);
            break;
        case O_DURATION:
            o->duration_s = atof(optarg);
            break;
        case O_WARMUP:
            o->warmup_s = atof(optarg);
            break;
        case O_RAMP:
            o->ramp_s = atof(optarg);
            break;
        case O_CONNECT_TIMEOUT:
            o->connect_timeout_s = atof(optarg);
            break;
        case O_TOKENS:
            o->tokens_file = optarg;
            break;
        case O_ROOM_ID:
            o->room_id = atoll(optarg);
            break;
        case O_USER_PREFIX:
            o->user_prefix = optarg;
            break;
        case O_PASSWORD:
            o->password = optarg;
            break;
        case O_WATCH_PID:
            o->watch_pid = atoi(optarg);
            break;
        case O_NULL: {
            char ip[64];
            int port = 0;
            if (sscanf(optarg, "%63[^:]:%d", ip, &port) != 2 ||
                uv_ip4_addr(ip, port, &o->null_addr))
                return -1;
            o->null_target = true;
            break;
        }
        case O_NULL_BARE:
            o->null_bare = true;
            break;
        case O_FIXED_SSRC:
            o->fixed_ssrc = true;
            break;
        case O_SIMULCAST:
            o->simulcast = true;
            break;
        case O_PREFER_LAYER:
            if (parse_prefer(optarg, o))
                return -1;
            break;
        case O_JANUS:
            if (sscanf(optarg, "%63[^:]:%d", o->host, &o->port) != 2)
                return -1;
            o->janus = true;
            break;
        case O_MEDIA_IP: {
            struct in_addr a;
            if (inet_pton(AF_INET, optarg, &a) != 1)
                return -1;
            snprintf(lg_media_ip, sizeof lg_media_ip, "%s", optarg);
            break;
        }
        case O_JSON:
            o->json_out = optarg;
            break;
        case O_QUIET:
            o->quiet = true;
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || o->rooms < 1 || o->per_room < 1 || o->rooms * o->per_room > 100000 ||
        o->audio_pps < 1 || o->audio_bytes < 1 || o->audio_bytes > LG_PKT_MAX ||
        o->video_kbps < 1 || o->video_bytes < LG_PAYLOAD_HDR || o->video_bytes > LG_PKT_MAX ||
        o->video_fps < 1 || o->duration_s <= 0 || o->duration_s > LG_SECONDS_MAX ||
        o->warmup_s < 0 || o->ramp_s < 0 || o->connect_timeout_s <= 0 ||
        (o->tokens_file && (o->room_id <= 0 || o->rooms != 1)) ||
        (o->null_target && (o->simulcast || o->prefer_count)) ||
        (o->janus && (o->null_target || o->tokens_file || o->simulcast || o->prefer_count)))
        return -1;
    return 0;
}

/* ---- main ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int setup(lg_t *lg, uv_loop_t *loop)
{
    lg->loop = loop;
    lg->participants = lg->o.rooms * lg->o.per_room;
    if (uv_ip4_addr(lg->o.host, lg->o.port, &lg->http_addr)) {
        fprintf(stderr, "loadgen: --url must name an IPv4 address\n");
        return -1;
    }
    lg->cert = dtls_cert_new();
    lg->peers = calloc((size_t)lg->participants, sizeof *lg->peers);
    if (!lg->cert || !lg->peers)
        return -1;
    char prefix[32];
    uint8_t rnd[3];
    random_bytes(rnd, sizeof rnd);
    snprintf(prefix, sizeof prefix, "lg%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
    int publishers = lg->o.publishers < 0 ? lg->o.per_room : lg->o.publishers;
    for (int i = 0; i < lg->participants; i++) {
        lg_peer_t *p = &lg->peers[i];
        p->lg = lg;
        p->index = i;
        p->room = i / lg->o.per_room;
        p->publishes = i % lg->o.per_room < publishers;
        p->rx = calloc((size_t)lg->participants * LG_MAX_STREAMS, sizeof *p->rx);
        if (lg->o.janus) {
            p->room_id = LG_JANUS_ROOM_BASE + p->room;
            snprintf(p->username, sizeof p->username, "lg%d", i);
            p->j_feeds = calloc((size_t)lg->o.per_room, sizeof *p->j_feeds);
            if (!p->j_feeds)
                return -1;
        }
        p->prefer_layer =
            lg->o.prefer_count ? lg->o.prefer[(i % lg->o.per_room) % lg->o.prefer_count] : -1;
        if (!p->rx || lg_leg_init(&p->pub, p, true) || lg_leg_init(&p->sub, p, false)) {
            fprintf(stderr, "loadgen: out of memory or sockets at participant %d\n", i);
            return -1;
        }
        if (p->publishes)
            init_streams(lg, p);
    }
    if (collect_publisher_ssrcs(lg))
        return -1;
    ice_lite_init(&lg->responder[0]);
    ice_lite_init(&lg->responder[1]);
    lg->responder[1].controlling = true;
    if (lg->o.null_target || lg->o.janus)
        return 0;
    if (lg->o.tokens_file)
        return read_tokens(lg);
    for (int i = 0; i < lg->participants; i++)
        if (sign_in(lg, &lg->peers[i], lg->o.user_prefix ? lg->o.user_prefix : prefix))
            return -1;
    return make_rooms(lg);
}

int main(int argc, char **argv)
{
    lg_t *lg = &G;
    if (parse_opts(argc, argv, &lg->o)) {
        usage(stderr);
        return 1;
    }
    log_set_level(LOG_ERROR);
    srand((unsigned)uv_hrtime());
    uv_loop_t loop;
    uv_loop_init(&loop);
    if (setup(lg, &loop)) {
        uv_walk(&loop, close_walk, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        return 1;
    }
    if (lg->o.watch_pid)
        lg->idle_rss_kib = lg_proc_rss_kib(lg->o.watch_pid);
    lg->start_ns = lg->phase_ns = uv_hrtime();
    uv_timer_t *timers[4] = {&lg->tick, &lg->housekeeping, &lg->progress, &lg->deadline};
    for (int i = 0; i < 4; i++) {
        uv_timer_init(&loop, timers[i]);
        timers[i]->data = lg;
    }
    uv_timer_start(&lg->tick, on_tick, 1, 1);
    uv_timer_start(&lg->housekeeping, on_housekeeping, 0, 20);
    uv_timer_start(&lg->progress, on_progress, 1000, 1000);
    double limit_s =
        lg->o.ramp_s + lg->o.connect_timeout_s + lg->o.warmup_s + lg->o.duration_s + 10;
    uv_timer_start(&lg->deadline, on_deadline, (uint64_t)(limit_s * 1000), 0);
    uv_signal_init(&loop, &lg->sigint);
    lg->sigint.data = lg;
    uv_signal_start(&lg->sigint, on_sigint, SIGINT);

    uv_run(&loop, UV_RUN_DEFAULT);

    json_t *j = lg_summary(lg);
    char *text = json_dumps(j, JSON_COMPACT);
    if (text) {
        printf("%s\n", text);
        if (lg->o.json_out) {
            FILE *f = fopen(lg->o.json_out, "w");
            if (f) {
                fprintf(f, "%s\n", text);
                fclose(f);
            }
        }
        free(text);
    }
    int failed = (int)json_integer_value(json_object_get(j, "failed"));
    json_decref(j);

    lg_baseline_free(lg->baseline);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    lg_baseline_release(lg->baseline);
    uv_loop_close(&loop);
    for (int i = 0; i < lg->participants; i++) {
        srtp_session_free(lg->peers[i].pub.srtp);
        srtp_session_free(lg->peers[i].sub.srtp);
        free(lg->peers[i].rx);
        free(lg->peers[i].j_feeds);
        lg_ssrc_set_free(&lg->peers[i].announced);
    }
    free(lg->peers);
    free(lg->pub_ssrcs);
    dtls_cert_free(lg->cert);
    if (lg->exit_code)
        return lg->exit_code;
    return failed ? 2 : 0;
}
