/* tools/loadgen/http.c: blocking HTTP/1.1 POSTs for the set-up (sign-in, rooms),
 * one connection per request, bounded by a timeout. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/loadgen/lg.h"

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int wait_fd(int fd, short events, const struct timespec *t0, int timeout_ms)
{
    long left = timeout_ms - ms_since(t0);
    if (left <= 0)
        return -ETIMEDOUT;
    struct pollfd p = {.fd = fd, .events = events};
    int rc = poll(&p, 1, (int)left);
    return rc > 0 ? 0 : rc == 0 ? -ETIMEDOUT : -errno;
}

int lg_http_post(const struct sockaddr_in *addr, const char *path, const char *token,
                 const char *body, int *status, char *out, size_t cap, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    char *req = NULL;
    char *resp = NULL;
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) && errno != EINPROGRESS) {
        rc = -errno;
        goto done;
    }
    if ((rc = wait_fd(fd, POLLOUT, &t0, timeout_ms)))
        goto done;
    size_t body_len = body ? strlen(body) : 0;
    size_t req_cap = body_len + 2048;
    req = malloc(req_cap);
    resp = malloc(65536);
    if (!req || !resp) {
        rc = -ENOMEM;
        goto done;
    }
    char auth[1100] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    int n = snprintf(req, req_cap,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, auth, body_len, body ? body : "");
    for (size_t sent = 0; sent < (size_t)n;) {
        ssize_t w = send(fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            if ((rc = wait_fd(fd, POLLOUT, &t0, timeout_ms)))
                goto done;
            continue;
        }
        if (w < 0) {
            rc = -errno;
            goto done;
        }
        sent += (size_t)w;
    }
    size_t got = 0;
    for (;;) {
        if ((rc = wait_fd(fd, POLLIN, &t0, timeout_ms)))
            goto done;
        ssize_t r = recv(fd, resp + got, 65535 - got, 0);
        if (r < 0 && errno == EAGAIN)
            continue;
        if (r < 0) {
            rc = -errno;
            goto done;
        }
        got += (size_t)r;
        resp[got] = '\0';
        char *hdr_end = strstr(resp, "\r\n\r\n");
        if (r == 0 || got == 65535)
            break;
        /* Done once Content-Length bytes of body arrived. */
        if (hdr_end) {
            const char *cl = strcasestr(resp, "\r\ncontent-length:");
            if (cl && cl < hdr_end &&
                got - (size_t)(hdr_end + 4 - resp) >= strtoul(cl + 17, NULL, 10))
                break;
        }
    }
    if (sscanf(resp, "HTTP/1.%*d %d", status) != 1) {
        rc = -EPROTO;
        goto done;
    }
    char *hdr_end = strstr(resp, "\r\n\r\n");
    snprintf(out, cap, "%s", hdr_end ? hdr_end + 4 : "");
done:
    free(req);
    free(resp);
    close(fd);
    return rc;
}
