/* tools/loadgen/baseline.c: the direct path, for comparison: one socket sends
 * the streams of one publisher (same sizes, rates and SRTP profile) straight
 * to another socket on the same loop, which measures them as a subscriber
 * would. Measured latency minus this is what the node adds. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tools/loadgen/lg.h"

struct lg_baseline {
    lg_t *lg;
    lg_sock_t tx, rx;
    srtp_session_t *tx_srtp, *rx_srtp;
    lg_stream_t streams[LG_MAX_TRACKS];
    int stream_count;
};

static uint8_t tx_buf[LG_BUF_CAP];

static void on_recv(void *ctx, uint8_t *data, size_t len, const struct sockaddr_in *from,
                    uint64_t rx_ns)
{
    lg_baseline_t *b = ctx;
    rtp_packet_t pkt;
    lg_payload_t pl;
    (void)from;
    if (srtp_session_unprotect_rtp(b->rx_srtp, data, &len) || rtp_packet_parse(&pkt, data, len) ||
        lg_payload_read(&pkt, &pl))
        return;
    if (lg_measuring(b->lg, pl.sent_ns) && rx_ns > pl.sent_ns)
        lg_hist_add(&b->lg->baseline_hist, (rx_ns - pl.sent_ns) / 1000);
}

static void on_tx_recv(void *ctx, uint8_t *data, size_t len, const struct sockaddr_in *from,
                       uint64_t rx_ns)
{
    (void)ctx;
    (void)data;
    (void)len;
    (void)from;
    (void)rx_ns;
}

lg_baseline_t *lg_baseline_new(lg_t *lg)
{
    lg_baseline_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->lg = lg;
    srtp_session_profile_t profile = lg->profile ? lg->profile : SRTP_SESSION_AEAD_AES_128_GCM;
    size_t key_len = srtp_session_key_len(profile);
    uint8_t k1[SRTP_SESSION_MAX_KEY_LEN], k2[SRTP_SESSION_MAX_KEY_LEN];
    random_bytes(k1, sizeof k1);
    random_bytes(k2, sizeof k2);
    b->tx_srtp = srtp_session_new(profile, k1, k2, key_len);
    b->rx_srtp = srtp_session_new(profile, k2, k1, key_len);
    if (!b->tx_srtp || !b->rx_srtp || lg_sock_open(&b->tx, lg->loop, on_tx_recv, b) ||
        lg_sock_open(&b->rx, lg->loop, on_recv, b)) {
        lg_baseline_free(b);
        return NULL;
    }
    /* The same streams as a publisher of this run. */
    const lg_peer_t *model = NULL;
    for (int i = 0; i < lg->participants && !model; i++)
        if (lg->peers[i].stream_count)
            model = &lg->peers[i];
    /* Of a simulcast video, the top layer: what a subscriber gets at most. */
    for (int i = 0; model && i < model->stream_count; i++) {
        const lg_stream_t *s = &model->streams[i];
        if (s->video && s->layer != model->video_layers - 1)
            continue;
        b->streams[b->stream_count] = *s;
        b->streams[b->stream_count].next_ns = 0;
        b->streams[b->stream_count].seq = 0;
        b->stream_count++;
    }
    return b;
}

void lg_baseline_send_due(lg_baseline_t *b, uint64_t now_ns)
{
    if (!b)
        return;
    for (int i = 0; i < b->stream_count; i++) {
        lg_stream_t *s = &b->streams[i];
        if (s->next_ns == 0 || now_ns > s->next_ns + 100 * 1000000ull)
            s->next_ns = now_ns;
        while (s->next_ns <= now_ns) {
            lg_payload_t pl = {
                .publisher = 0, .track = s->video ? 1 : 0, .seq = s->seq++, .sent_ns = lg_now_ns()};
            int n = rtp_header_write(tx_buf, sizeof tx_buf, s->video ? LG_VIDEO_PT : LG_AUDIO_PT,
                                     true, s->rtp_seq++, pl.seq, s->ssrc);
            if (n < 0)
                return;
            size_t bytes = s->bytes < LG_PAYLOAD_HDR ? LG_PAYLOAD_HDR : s->bytes;
            lg_payload_write(tx_buf + n, &pl);
            memset(tx_buf + n + LG_PAYLOAD_HDR, 0xa5, bytes - LG_PAYLOAD_HDR);
            size_t len = (size_t)n + bytes;
            if (srtp_session_protect_rtp(b->tx_srtp, tx_buf, &len, sizeof tx_buf) == 0)
                lg_sock_send(&b->tx, &b->rx.addr, tx_buf, len);
            s->next_ns += s->period_ns;
        }
    }
}

/* Closes the sockets; the memory goes after the loop ran their close callbacks. */
void lg_baseline_free(lg_baseline_t *b)
{
    if (!b)
        return;
    lg_sock_close(&b->tx);
    lg_sock_close(&b->rx);
}

void lg_baseline_release(lg_baseline_t *b)
{
    if (!b)
        return;
    srtp_session_free(b->tx_srtp);
    srtp_session_free(b->rx_srtp);
    free(b);
}
