/* tools/loadgen/ws.c: a small WebSocket client (RFC 6455) on the run's uv loop:
 * the opening handshake, masked text frames out, text/ping/close frames in. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/loadgen/lg.h"

#define WS_MAX_MESSAGE (1 << 20)

typedef struct ws_write {
    uv_write_t req;
    uv_buf_t buf;
} ws_write_t;

static void on_write(uv_write_t *req, int status)
{
    (void)status;
    ws_write_t *w = (ws_write_t *)req;
    free(w->buf.base);
    free(w);
}

static int write_bytes(lg_ws_t *ws, uint8_t *data, size_t len)
{
    ws_write_t *w = malloc(sizeof *w);
    if (!w) {
        free(data);
        return -ENOMEM;
    }
    w->buf = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&ws->tcp, &w->buf, 1, on_write);
    if (rc) {
        free(data);
        free(w);
    }
    return rc;
}

static void on_handle_closed(uv_handle_t *h)
{
    lg_ws_t *ws = h->data;
    ws->handle_live = false;
    free(ws->in);
    free(ws->msg);
    ws->in = NULL;
    ws->msg = NULL;
}

static void ws_fail(lg_ws_t *ws, const char *reason)
{
    if (ws->closed)
        return;
    ws->closed = true;
    ws->open = false;
    if (ws->handle_live && !uv_is_closing((uv_handle_t *)&ws->tcp))
        uv_close((uv_handle_t *)&ws->tcp, on_handle_closed);
    if (ws->cb.on_closed)
        ws->cb.on_closed(ws, reason);
}

/* One frame with the client's mask (RFC 6455 5.3). */
static int send_frame(lg_ws_t *ws, uint8_t opcode, const uint8_t *payload, size_t len)
{
    if (ws->closed || !ws->upgraded)
        return -ENOTCONN;
    uint8_t *f = malloc(len + 14);
    if (!f)
        return -ENOMEM;
    size_t n = 0;
    f[n++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        f[n++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        f[n++] = 0x80 | 126;
        f[n++] = (uint8_t)(len >> 8);
        f[n++] = (uint8_t)len;
    } else {
        f[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    ws->mask_seed = ws->mask_seed * 1103515245u + 12345u;
    uint8_t mask[4] = {(uint8_t)(ws->mask_seed >> 24), (uint8_t)(ws->mask_seed >> 16),
                       (uint8_t)(ws->mask_seed >> 8), (uint8_t)ws->mask_seed};
    memcpy(f + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < len; i++)
        f[n + i] = payload[i] ^ mask[i & 3];
    return write_bytes(ws, f, n + len);
}

int lg_ws_send_text(lg_ws_t *ws, const char *text, size_t len)
{
    return send_frame(ws, 0x1, (const uint8_t *)text, len);
}

void lg_ws_close(lg_ws_t *ws)
{
    if (ws->closed)
        return;
    if (ws->upgraded) {
        static const uint8_t normal[2] = {0x03, 0xe8}; /* 1000 */
        send_frame(ws, 0x8, normal, sizeof normal);
    }
    ws_fail(ws, "closed by us");
}

static int append(char **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = (*len + n + 1) * 2;
        char *grown = realloc(*buf, want);
        if (!grown)
            return -ENOMEM;
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Consumes whole frames from ws->in; returns bytes used or -1 on a protocol error. */
static long parse_frames(lg_ws_t *ws)
{
    size_t off = 0;
    while (!ws->closed) {
        const uint8_t *p = ws->in + off;
        size_t avail = ws->in_len - off;
        if (avail < 2)
            break;
        bool fin = p[0] & 0x80, masked = p[1] & 0x80;
        uint8_t opcode = p[0] & 0x0f;
        uint64_t plen = p[1] & 0x7f;
        size_t hdr = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)p[2] << 8 | p[3];
            hdr = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | p[2 + i];
            hdr = 10;
        }
        if (masked || plen > WS_MAX_MESSAGE)
            return -1; /* RFC 6455 5.1: a server never masks */
        if (avail < hdr + plen)
            break;
        const uint8_t *payload = p + hdr;
        switch (opcode) {
        case 0x0: /* continuation */
        case 0x1: /* text */
            if (append(&ws->msg, &ws->msg_len, &ws->msg_cap, payload, (size_t)plen) ||
                ws->msg_len > WS_MAX_MESSAGE)
                return -1;
            if (fin) {
                if (ws->cb.on_text)
                    ws->cb.on_text(ws, ws->msg, ws->msg_len);
                ws->msg_len = 0;
            }
            break;
        case 0x8:
            ws_fail(ws, "close frame from the node");
            break;
        case 0x9: /* ping: pong with the same payload (RFC 6455 5.5.3) */
            send_frame(ws, 0xA, payload, (size_t)plen);
            break;
        default:
            break;
        }
        off += hdr + (size_t)plen;
    }
    return (long)off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    lg_ws_t *ws = h->data;
    (void)suggested;
    if (ws->in_cap - ws->in_len < 16384) {
        size_t want = ws->in_cap ? ws->in_cap * 2 : 65536;
        uint8_t *grown = realloc(ws->in, want);
        if (!grown) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        ws->in = grown;
        ws->in_cap = want;
    }
    *buf = uv_buf_init((char *)ws->in + ws->in_len, (unsigned)(ws->in_cap - ws->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    lg_ws_t *ws = s->data;
    (void)buf;
    if (n < 0) {
        ws_fail(ws, n == UV_EOF ? "the node closed the connection" : uv_strerror((int)n));
        return;
    }
    ws->in_len += (size_t)n;
    if (!ws->upgraded) {
        char *end = memmem(ws->in, ws->in_len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (ws->in_len < 12 || memcmp(ws->in, "HTTP/1.1 101", 12)) {
            ws_fail(ws, "the node refused the WebSocket upgrade");
            return;
        }
        size_t used = (size_t)(end + 4 - (char *)ws->in);
        memmove(ws->in, ws->in + used, ws->in_len - used);
        ws->in_len -= used;
        ws->upgraded = ws->open = true;
        if (ws->cb.on_open)
            ws->cb.on_open(ws);
    }
    long used = parse_frames(ws);
    if (used < 0) {
        ws_fail(ws, "malformed frame from the node");
        return;
    }
    if (ws->closed)
        return;
    memmove(ws->in, ws->in + used, ws->in_len - (size_t)used);
    ws->in_len -= (size_t)used;
}

static void on_connect(uv_connect_t *req, int status)
{
    lg_ws_t *ws = req->data;
    if (ws->closed)
        return;
    if (status) {
        ws_fail(ws, uv_strerror(status));
        return;
    }
    char *req_text = malloc(512);
    if (!req_text) {
        ws_fail(ws, "no memory");
        return;
    }
    char proto[64] = "";
    if (ws->protocol[0])
        snprintf(proto, sizeof proto, "Sec-WebSocket-Protocol: %s\r\n", ws->protocol);
    /* The key is any 16 bytes in base64; the node does not need it to be random. */
    int n = snprintf(req_text, 512,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     ws->path, ws->host, proto);
    if (write_bytes(ws, (uint8_t *)req_text, (size_t)n) ||
        uv_read_start((uv_stream_t *)&ws->tcp, on_alloc, on_read))
        ws_fail(ws, "could not write the upgrade request");
}

int lg_ws_connect(lg_ws_t *ws, uv_loop_t *loop, const struct sockaddr_in *addr,
                  const lg_ws_callbacks_t *cb, void *ctx)
{
    return lg_ws_connect_to(ws, loop, addr, "/ws", NULL, cb, ctx);
}

int lg_ws_connect_to(lg_ws_t *ws, uv_loop_t *loop, const struct sockaddr_in *addr, const char *path,
                     const char *protocol, const lg_ws_callbacks_t *cb, void *ctx)
{
    memset(ws, 0, sizeof *ws);
    snprintf(ws->path, sizeof ws->path, "%s", path);
    snprintf(ws->protocol, sizeof ws->protocol, "%s", protocol ? protocol : "");
    ws->cb = *cb;
    ws->ctx = ctx;
    ws->mask_seed = (uint32_t)(uintptr_t)ws ^ 0x9e3779b9u;
    char ip[32];
    uv_ip4_name(addr, ip, sizeof ip);
    snprintf(ws->host, sizeof ws->host, "%s:%d", ip, ntohs(addr->sin_port));
    int rc = uv_tcp_init(loop, &ws->tcp);
    if (rc)
        return rc;
    ws->handle_live = true;
    ws->tcp.data = ws;
    ws->connect_req.data = ws;
    uv_tcp_nodelay(&ws->tcp, 1);
    rc = uv_tcp_connect(&ws->connect_req, &ws->tcp, (const struct sockaddr *)addr, on_connect);
    if (rc) {
        ws->closed = true;
        uv_close((uv_handle_t *)&ws->tcp, on_handle_closed);
    }
    return rc;
}
