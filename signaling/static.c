/* signaling/static.c: the web client's files, served by the same response
 * path as the API (lws 4.1's file mount answers a second file on a keep-alive
 * connection with the previous headers and no body). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signaling/api.h"
#include "signaling/signaling_internal.h"

#define STATIC_MAX_FILE (8 * 1024 * 1024)

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof mime_types / sizeof mime_types[0]; i++) {
        if (!strcmp(dot, mime_types[i].ext))
            return mime_types[i].type;
    }
    return "application/octet-stream";
}

/* Only plain names under the web root: no "..", no hidden files, no odd bytes. */
static bool safe_path(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *s = p; *s; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '/' || ch == '.' || ch == '-' || ch == '_';
        if (!ok || (ch == '.' && s[-1] == '/'))
            return false;
    }
    return true;
}

static void not_found(http_req_t *req)
{
    char *body = strdup("not found\n");
    http_reply_text_take(req, 404, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
}

void static_serve(http_req_t *req)
{
    const char *path = strcmp(req->path, "/") ? req->path : "/index.html";
    /* Invite links (/r/abcd-efgh-ijkl) open the app, which reads the code. */
    if (!strncmp(req->path, "/r/", 3) && !strchr(req->path + 3, '/') && strlen(req->path) < 64)
        path = "/index.html";
    if (!safe_path(path)) {
        not_found(req);
        return;
    }
    char full[8192];
    snprintf(full, sizeof full, "%s%s", req->sig->www_dir, path);
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_FILE) {
        if (fd >= 0)
            close(fd);
        not_found(req);
        return;
    }
    size_t len = (size_t)st.st_size, off = 0;
    char *data = malloc(len ? len : 1);
    while (data && off < len) {
        ssize_t n = read(fd, data + off, len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    if (!data || off != len) {
        free(data);
        http_reply_error(req, 500, "internal", NULL, "could not read %s", path);
        return;
    }
    http_reply_text_take(req, 200, mime_of(path), data, len);
}
