/* signaling/api_files.c: uploads (multipart/form-data, one file, sniffed type)
 * and downloads for the people a file was shared with. Files are stored under
 * DATA/files by a random id, never by a client-supplied name. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "signaling/api.h"
#include "signaling/multipart.h"
#include "signaling/signaling_internal.h"
#include "store/store_social.h"

/* The type the bytes say they are; NULL when not one we accept. */
static const char *sniff_type(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return "image/jpeg";
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
        return "image/gif";
    if (n >= 5 && !memcmp(d, "%PDF-", 5))
        return "application/pdf";
    return NULL;
}

static const char *const allowed_types[] = {"image/jpeg", "image/png", "image/gif",
                                            "application/pdf"};

static bool type_allowed(const char *t)
{
    for (size_t i = 0; i < sizeof allowed_types / sizeof allowed_types[0]; i++) {
        if (!strcasecmp(t, allowed_types[i]))
            return true;
    }
    return false;
}

/* Writes to a temporary name, fsyncs, renames: a crash leaves no half file. */
static int write_file(const char *dir, const char *id, const uint8_t *data, size_t len)
{
    char tmp[4200], final[4200];
    if (mkdir(dir, 0700) && errno != EEXIST)
        return -errno;
    snprintf(tmp, sizeof tmp, "%s/%s.part", dir, id);
    snprintf(final, sizeof final, "%s/%s", dir, id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return -e;
        }
        off += (size_t)w;
    }
    if (fsync(fd) || close(fd) || rename(tmp, final)) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

void api_upload(http_req_t *req)
{
    char boundary[80];
    if (!multipart_boundary(req->req_content_type, boundary, sizeof boundary)) {
        http_reply_error(req, 415, "unsupported_media_type", NULL,
                         "upload one file as multipart/form-data");
        return;
    }
    multipart_part_t parts[8];
    int n = multipart_parse(req->body, req->body_len, boundary, parts, 8);
    if (n < 0) {
        http_reply_error(req, 400, "invalid_multipart", NULL, "the multipart body is malformed");
        return;
    }
    multipart_part_t *file = NULL;
    int files = 0;
    for (int i = 0; i < n && i < 8; i++) {
        if (parts[i].is_file) {
            files++;
            file = &parts[i];
        }
    }
    if (files != 1) {
        http_reply_error(req, 400, "invalid_field", "file", "send exactly one file (got %d)",
                         files);
        return;
    }
    if (file->len == 0) {
        http_reply_error(req, 400, "invalid_field", "file", "the file is empty");
        return;
    }
    if (file->len > HTTP_MAX_UPLOAD) {
        http_reply_error(req, 413, "payload_too_large", "file", "files are limited to %d bytes",
                         HTTP_MAX_UPLOAD);
        return;
    }
    const char *type = sniff_type(file->data, file->len);
    if (!type) {
        http_reply_error(req, 415, "unsupported_type", "file",
                         "only JPEG, PNG, GIF and PDF files are accepted");
        return;
    }
    if (file->declared_type[0] && type_allowed(file->declared_type) &&
        strcasecmp(file->declared_type, type)) {
        http_reply_error(req, 415, "unsupported_type", "file", "the file is %s but was declared %s",
                         type, file->declared_type);
        return;
    }
    uint8_t raw[16];
    char id[33];
    if (random_bytes(raw, sizeof raw)) {
        http_reply_error(req, 500, "internal", NULL, "could not name the file");
        return;
    }
    hex_encode(raw, sizeof raw, id);
    int rc = write_file(req->sig->files_dir, id, file->data, file->len);
    if (rc) {
        log_error("files", "cannot store upload in %s: %s", req->sig->files_dir, strerror(-rc));
        http_reply_error(req, 500, "internal", NULL, "the file could not be stored");
        return;
    }
    rc = store_file_add(req->sig->store, id, req->user.id, type, (int64_t)file->len, now_unix_ms());
    if (rc) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", req->sig->files_dir, id);
        unlink(path);
        api_reply_store_error(req, rc);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "/api/files/%s", id);
    http_reply_json(req, 201,
                    json_pack("{s:s,s:s,s:s,s:I}", "id", id, "url", url, "type", type, "size",
                              (json_int_t)file->len));
}

static bool valid_file_id(const char *s)
{
    size_t n = strlen(s);
    if (n != 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

void api_file_get(http_req_t *req)
{
    const char *id = req->param[0];
    store_file_t f;
    int can = valid_file_id(id) ? store_file_can_read(req->sig->store, id, req->user.id) : 0;
    if (can < 0) {
        api_reply_store_error(req, can);
        return;
    }
    if (can == 0 || store_file_get(req->sig->store, id, &f)) {
        /* Not found and not shared look the same: ids are not enumerable. */
        http_reply_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", req->sig->files_dir, id);
    FILE *fp = fopen(path, "rb");
    char *data = f.size > 0 && f.size <= HTTP_MAX_UPLOAD ? malloc((size_t)f.size) : NULL;
    if (!fp || !data || fread(data, 1, (size_t)f.size, fp) != (size_t)f.size) {
        if (fp)
            fclose(fp);
        free(data);
        log_error("files", "file %s is in the store but not readable at %s", id, path);
        http_reply_error(req, 500, "internal", NULL, "the file could not be read");
        return;
    }
    fclose(fp);
    const char *type = "application/octet-stream";
    for (size_t i = 0; i < sizeof allowed_types / sizeof allowed_types[0]; i++) {
        if (!strcmp(f.mime, allowed_types[i]))
            type = allowed_types[i];
    }
    http_reply_text_take(req, 200, type, data, (size_t)f.size);
}
