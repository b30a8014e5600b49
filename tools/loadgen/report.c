/* tools/loadgen/report.c: what the run measured, as the JSON summary; the
 * watched node's CPU time and RSS from /proc. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/loadgen/lg.h"

#define MATRIX_MAX 32 /* per-pair counts in the summary up to this many participants */

/* ---- the watched node process (/proc) ---- */

double lg_proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long utime, stime;
    /* proc(5): after "(comm)": state, ppid, ... utime is field 14, stime 15. */
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long lg_proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- summary ---- */

static json_t *quantiles(const lg_hist_t *h, const lg_hist_t *minus)
{
    double qs[3] = {0.5, 0.99, 0.999};
    const char *names[3] = {"p50", "p99", "p999"};
    json_t *o = json_object();
    for (int i = 0; i < 3; i++) {
        long long v = (long long)lg_hist_quantile(h, qs[i]);
        if (minus)
            v -= (long long)lg_hist_quantile(minus, qs[i]);
        json_object_set_new(o, names[i], json_integer(v < 0 ? 0 : v));
    }
    if (!minus)
        json_object_set_new(o, "max", json_integer((json_int_t)h->max_us));
    return o;
}

int lg_wanted_layer(const lg_peer_t *sub, int layers)
{
    return sub->prefer_layer >= 0 && sub->prefer_layer < layers ? sub->prefer_layer : layers - 1;
}

/* Simulcast figures across the run: packets by layer, overall and by the
 * subscribers' preference (index LG_MAX_LAYERS: no preference). */
typedef struct sim_tally {
    uint64_t received[LG_MAX_LAYERS], in_window[LG_MAX_LAYERS];
    uint64_t pairs, pairs_on_wanted, pairs_switched, subscribers;
} sim_tally_t;

static json_t *u64_array(const uint64_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

static json_t *tally_json(const sim_tally_t *t)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o}", "subscribers", (json_int_t)t->subscribers,
                     "pairs", (json_int_t)t->pairs, "pairs_on_wanted_layer",
                     (json_int_t)t->pairs_on_wanted, "pairs_switched_in_window",
                     (json_int_t)t->pairs_switched, "received_by_layer",
                     u64_array(t->received, LG_MAX_LAYERS), "in_window_by_layer",
                     u64_array(t->in_window, LG_MAX_LAYERS));
}

static void tally_add(sim_tally_t *t, const sim_tally_t *one_subscriber)
{
    t->subscribers++;
    t->pairs += one_subscriber->pairs;
    t->pairs_on_wanted += one_subscriber->pairs_on_wanted;
    t->pairs_switched += one_subscriber->pairs_switched;
    for (int l = 0; l < LG_MAX_LAYERS; l++) {
        t->received[l] += one_subscriber->received[l];
        t->in_window[l] += one_subscriber->in_window[l];
    }
}

typedef struct pair_count {
    uint64_t expected, in_window, received;
} pair_count_t;

/* One (subscriber, publisher track) pair: a simulcast video counts once, all
 * its layers together. Loss is judged against the layers forwarded: one layer
 * in the window, that layer's whole window; several (the node switched
 * during it), each from its first to its last packet received in the window;
 * none, the layer the subscriber should have got. */
static pair_count_t count_pair(const lg_peer_t *sub, const lg_peer_t *pub, bool video, double dur,
                               sim_tally_t *tally)
{
    pair_count_t c = {0};
    const lg_stream_t *on[LG_MAX_LAYERS];
    int layers = 0, in_win_layers = 0, last = -1;
    for (int s = 0; s < pub->stream_count; s++) {
        const lg_stream_t *st = &pub->streams[s];
        if (st->video != video)
            continue;
        const lg_rx_t *rx = &sub->rx[pub->index * LG_MAX_STREAMS + st->slot];
        on[layers++] = st;
        c.received += rx->received;
        c.in_window += rx->in_window;
        if (rx->in_window) {
            in_win_layers++;
            last = st->layer;
        }
        if (tally) {
            tally->received[st->layer] += rx->received;
            tally->in_window[st->layer] += rx->in_window;
        }
    }
    if (!layers)
        return c;
    int want = layers > 1 ? lg_wanted_layer(sub, layers) : 0;
    const lg_stream_t *ref = on[in_win_layers == 1 ? last : want];
    if (!pub->pub.connected_ns) {
        /* A publisher that never got its media up still counts what it should
         * have sent: its subscribers lost all of it. */
        c.expected = (uint64_t)(dur * 1e9 / (double)ref->period_ns);
    } else if (in_win_layers <= 1) {
        c.expected = ref->seq_at_measure_end - ref->seq_at_measure_start;
    } else {
        for (int l = 0; l < layers; l++) {
            const lg_rx_t *rx = &sub->rx[pub->index * LG_MAX_STREAMS + on[l]->slot];
            if (rx->in_window)
                c.expected += (uint64_t)(rx->win_last - rx->win_first) + 1;
        }
    }
    if (tally) {
        tally->pairs++;
        tally->pairs_switched += in_win_layers > 1;
        tally->pairs_on_wanted += in_win_layers == 1 && last == want;
    }
    return c;
}

json_t *lg_summary(lg_t *lg)
{
    double dur = lg->measure_end_ns > lg->measure_start_ns
                     ? (double)(lg->measure_end_ns - lg->measure_start_ns) / 1e9
                     : 0;
    uint64_t expected = 0, in_window = 0, pairs = 0, pairs_with = 0, min_pair = UINT64_MAX;
    uint64_t auth_fail = 0, plis = 0, ws_errors = 0, late = 0, srs = 0, srs_sent = 0;
    uint64_t plis_by_layer[LG_MAX_LAYERS] = {0}, asked = 0, set = 0;
    sim_tally_t all, by_pref[LG_MAX_LAYERS + 1];
    memset(&all, 0, sizeof all);
    memset(by_pref, 0, sizeof by_pref);
    bool simulcast = false;
    lg_ssrc_stats_t ssrcs = {0};
    int failed = 0, connected = 0;
    json_t *matrix = lg->participants <= MATRIX_MAX ? json_array() : NULL;
    json_t *subs = lg->participants <= MATRIX_MAX ? json_array() : NULL;
    for (int i = 0; i < lg->participants; i++) {
        lg_peer_t *p = &lg->peers[i];
        failed += p->failed;
        auth_fail += lg_leg_auth_failures(&p->pub) + lg_leg_auth_failures(&p->sub);
        ws_errors += p->ws_errors;
        srs += p->srs_received;
        asked += p->layers_asked;
        set += p->layers_set;
        lg_ssrc_set_add_stats(&p->announced, &ssrcs);
        bool legs_up = (!p->publishes || !p->stream_count || p->pub.connected_ns) &&
                       (p->sub.state == LEG_IDLE || p->sub.connected_ns);
        connected += !p->failed && legs_up;
        simulcast |= p->video_layers > 1;
        for (int s = 0; s < p->stream_count; s++) {
            plis += p->streams[s].plis;
            srs_sent += p->streams[s].srs_sent;
            if (p->streams[s].video)
                plis_by_layer[p->streams[s].layer] += p->streams[s].plis;
        }
        sim_tally_t mine = {0};
        sim_tally_t *pref = &by_pref[p->prefer_layer >= 0 ? p->prefer_layer : LG_MAX_LAYERS];
        json_t *row = matrix ? json_array() : NULL;
        for (int q = 0; q < lg->participants; q++) {
            const lg_peer_t *pub = &lg->peers[q];
            uint64_t got = 0;
            for (int s = 0; s < LG_MAX_STREAMS; s++) {
                got += p->rx[q * LG_MAX_STREAMS + s].received;
                late += p->rx[q * LG_MAX_STREAMS + s].late_or_dup;
            }
            if (row)
                json_array_append_new(row, json_integer((json_int_t)got));
            if (q == i || pub->room != p->room || !pub->publishes)
                continue;
            for (int video = 0; video < 2; video++) {
                bool sim = video && pub->video_layers > 1;
                pair_count_t c = count_pair(p, pub, video, dur, sim ? &mine : NULL);
                bool has = false;
                for (int s = 0; s < pub->stream_count; s++)
                    has |= pub->streams[s].video == (bool)video;
                if (!has)
                    continue;
                expected += c.expected;
                in_window += c.in_window;
                pairs++;
                pairs_with += c.received > 0;
                if (c.received < min_pair)
                    min_pair = c.received;
            }
        }
        if (matrix)
            json_array_append_new(matrix, row);
        if (mine.pairs) {
            tally_add(&all, &mine);
            tally_add(pref, &mine);
        }
        if (subs) {
            json_t *o = tally_json(&mine);
            json_object_del(o, "subscribers");
            json_object_set_new(o, "prefer_layer",
                                p->prefer_layer >= 0 ? json_integer(p->prefer_layer) : json_null());
            json_array_append_new(subs, o);
        }
    }
    double loss = expected
                      ? 100.0 * (double)(expected - (in_window < expected ? in_window : expected)) /
                            (double)expected
                      : 0;
    json_t *j = json_object();
    json_object_set_new(j, "participants", json_integer(lg->participants));
    json_object_set_new(j, "rooms", json_integer(lg->o.rooms));
    json_object_set_new(j, "per_room", json_integer(lg->o.per_room));
    json_object_set_new(j, "publishers_per_room",
                        json_integer(lg->o.publishers < 0 ? lg->o.per_room : lg->o.publishers));
    json_object_set_new(j, "duration_s", json_real(dur));
    json_object_set_new(j, "connected", json_integer(connected));
    json_object_set_new(j, "failed", json_integer(failed));
    json_object_set_new(j, "latency_us", quantiles(&lg->latency, &lg->baseline_hist));
    json_object_set_new(j, "measured_latency_us", quantiles(&lg->latency, NULL));
    json_object_set_new(j, "baseline_latency_us", quantiles(&lg->baseline_hist, NULL));
    json_object_set_new(j, "latency_samples", json_integer((json_int_t)lg->latency.count));
    uint64_t fwd = in_window;
    json_object_set_new(j, "forwarded_pps", json_real(dur > 0 ? (double)fwd / dur : 0));
    json_object_set_new(
        j, "forwarded_bps",
        json_real(dur > 0 && lg->rx_pkts
                      ? (double)fwd * ((double)lg->rx_bytes / (double)lg->rx_pkts) * 8 / dur
                      : 0));
    json_object_set_new(j, "sent_packets", json_integer((json_int_t)lg->tx_pkts));
    json_object_set_new(j, "received_packets", json_integer((json_int_t)lg->rx_pkts));
    json_object_set_new(j, "expected_packets", json_integer((json_int_t)expected));
    json_object_set_new(j, "received_in_window", json_integer((json_int_t)in_window));
    json_object_set_new(j, "loss_pct", json_real(loss));
    json_object_set_new(j, "late_or_duplicate", json_integer((json_int_t)late));
    json_object_set_new(j, "pairs",
                        json_pack("{s:I,s:I,s:I}", "expected", (json_int_t)pairs, "with_packets",
                                  (json_int_t)pairs_with, "min_packets",
                                  (json_int_t)(pairs ? min_pair : 0)));
    json_object_set_new(j, "srtp_auth_failures", json_integer((json_int_t)auth_fail));
    json_object_set_new(j, "srtp_profile",
                        json_string(lg->profile ? srtp_session_profile_name(lg->profile) : ""));
    json_object_set_new(
        j, "connect_ms",
        json_pack("{s:I,s:I,s:I,s:I}", "p50", (json_int_t)lg_hist_quantile(&lg->connect_ms, 0.5),
                  "p99", (json_int_t)lg_hist_quantile(&lg->connect_ms, 0.99), "max",
                  (json_int_t)lg->connect_ms.max_us, "count", (json_int_t)lg->connect_ms.count));
    json_object_set_new(j, "plis_received", json_integer((json_int_t)plis));
    json_object_set_new(j, "ws_errors", json_integer((json_int_t)ws_errors));
    json_object_set_new(j, "tx_failed", json_integer((json_int_t)lg->tx_failed));
    json_object_set_new(j, "foreign_packets", json_integer((json_int_t)lg->foreign_pkts));
    /* What subscribers got under SSRCs the subscribe offers did not announce. */
    json_object_set_new(j, "unannounced_ssrc_packets",
                        json_integer((json_int_t)ssrcs.unannounced_pkts));
    json_object_set_new(j, "early_ssrc_packets", json_integer((json_int_t)ssrcs.early_pkts));
    /* Under one announced SSRC: RTP sequence or timestamp jumps (a source
     * switched without continuity, e.g. a simulcast layer change). */
    json_object_set_new(j, "rtp_jumps",
                        json_pack("{s:I,s:I}", "seq", (json_int_t)ssrcs.seq_jumps, "ts",
                                  (json_int_t)ssrcs.ts_jumps));
    json_object_set_new(j, "publisher_ssrc_in_offers",
                        json_integer((json_int_t)lg->publisher_ssrc_sections));
    json_object_set_new(j, "sender_reports",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "sent", (json_int_t)srs_sent, "received",
                                  (json_int_t)srs, "unannounced", (json_int_t)ssrcs.unannounced_srs,
                                  "ssrcs_with_sr", (json_int_t)ssrcs.with_sr, "announced_ssrcs",
                                  (json_int_t)ssrcs.announced));
    /* The distinct errors the node sent (at most 5), for the report. */
    json_t *errors = json_array();
    for (int i = 0; i < lg->participants && json_array_size(errors) < 5; i++) {
        const char *e = lg->peers[i].last_error;
        bool seen = !e[0];
        for (size_t k = 0; k < json_array_size(errors) && !seen; k++)
            seen = !strcmp(json_string_value(json_array_get(errors, k)), e);
        if (!seen)
            json_array_append_new(errors, json_string(e));
    }
    json_object_set_new(j, "errors", errors);
    if (lg->o.watch_pid) {
        double cpu = lg->cpu_at_end_s - lg->cpu_at_start_s;
        json_object_set_new(
            j, "node",
            json_pack("{s:i,s:f,s:f,s:I,s:I,s:f}", "pid", lg->o.watch_pid, "cpu_s", cpu,
                      "cpu_s_per_mpkt", fwd ? cpu / ((double)fwd / 1e6) : 0.0, "idle_rss_kib",
                      (json_int_t)lg->idle_rss_kib, "rss_kib", (json_int_t)lg->peak_rss_kib,
                      "rss_kib_per_participant",
                      lg->participants
                          ? (double)(lg->peak_rss_kib - lg->idle_rss_kib) / (double)lg->participants
                          : 0.0));
    }
    json_t *series = json_array();
    for (int s = 0; s < lg->seconds; s++)
        json_array_append_new(series,
                              json_pack("{s:i,s:I,s:f}", "t", s + 1, "rx_pps",
                                        (json_int_t)lg->rx_per_s[s], "p99_us", lg->p99_per_s[s]));
    json_object_set_new(j, "per_second", series);
    json_t *hist = json_array();
    for (size_t i = 0; i < LG_HIST_BUCKETS; i++)
        if (lg->latency.buckets[i])
            json_array_append_new(hist, json_pack("[I,I]", (json_int_t)lg_hist_bucket_floor(i),
                                                  (json_int_t)lg->latency.buckets[i]));
    json_object_set_new(j, "histogram_us", hist);
    if (matrix)
        json_object_set_new(j, "received_matrix", matrix);
    if (simulcast) {
        /* Packets by layer (0 lowest), over every (subscriber, simulcast video)
         * pair: in all, by the layer the subscribers asked for, and per
         * subscriber (up to MATRIX_MAX participants). */
        json_t *sim = tally_json(&all);
        json_t *prefs = json_object();
        for (int k = 0; k <= LG_MAX_LAYERS; k++) {
            char key[12];
            snprintf(key, sizeof key, "%d", k);
            if (by_pref[k].subscribers)
                json_object_set_new(prefs, k < LG_MAX_LAYERS ? key : "none",
                                    tally_json(&by_pref[k]));
        }
        json_object_set_new(sim, "layers", json_integer(LG_MAX_LAYERS));
        json_object_set_new(sim, "by_preference", prefs);
        json_object_set_new(sim, "plis_by_layer", u64_array(plis_by_layer, LG_MAX_LAYERS));
        json_object_set_new(sim, "set_layers_sent", json_integer((json_int_t)asked));
        json_object_set_new(sim, "set_layers_acked", json_integer((json_int_t)set));
        if (subs)
            json_object_set_new(sim, "subscribers", subs);
        subs = NULL;
        json_object_set_new(j, "simulcast", sim);
    }
    json_decref(subs);
    return j;
}
