/* sfu/cli.c: the operator subcommands, `sfu backup DEST` and `sfu admin ...`.
 * They work on a data directory (--data, --config, SFU_DATA as for the node)
 * while the node runs or not, and need no tool beside the binary. */
#include "sfu/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sfu/config.h"
#include "store/admin.h"

#define CLI_MAX_ARGS 64

static const char usage[] =
    "Usage:\n"
    "  sfu backup DEST [--data DIR]   copy the database (online), files/ and jwt.secret\n"
    "                                 into the new directory DEST\n"
    "  sfu admin [--data DIR] users list\n"
    "  sfu admin [--data DIR] users delete USER_ID\n"
    "  sfu admin [--data DIR] reports list\n"
    "  sfu admin [--data DIR] reports resolve REPORT_ID\n"
    "  sfu admin [--data DIR] registration [open|closed|invite]\n"
    "  sfu admin [--data DIR] invites list\n"
    "  sfu admin [--data DIR] invites create [N]\n"
    "Any node option (--config FILE, --data DIR, ...) may be given; the others are ignored.\n";

static int cli_fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "sfu: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* Copies one regular file; 0 or -errno. */
static int copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        int e = -errno;
        close(in);
        return e;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                rc = -errno;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    if (n < 0)
        rc = -errno;
    if (fsync(out) && !rc)
        rc = -errno;
    close(in);
    if (close(out) && !rc)
        rc = -errno;
    return rc;
}

/* Copies the regular files of from/ (uploads are flat) into the new to/. */
static int copy_dir_files(const char *from, const char *to, int *count)
{
    DIR *d = opendir(from);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    if (mkdir(to, 0700)) {
        int e = -errno;
        closedir(d);
        return e;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        char src[PATH_MAX], dst[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.' ||
            snprintf(src, sizeof src, "%s/%s", from, e->d_name) >= PATH_MAX ||
            snprintf(dst, sizeof dst, "%s/%s", to, e->d_name) >= PATH_MAX)
            continue;
        if (lstat(src, &st) || !S_ISREG(st.st_mode))
            continue;
        if (!(rc = copy_file(src, dst, 0600)))
            (*count)++;
    }
    closedir(d);
    return rc;
}

static int cmd_backup(const sfu_config_t *cfg, const char *dest)
{
    char db[PATH_MAX + 16], path[PATH_MAX + 16], to[PATH_MAX + 16], err[PATH_MAX + 256];
    snprintf(db, sizeof db, "%s/sfu.db", cfg->data_dir);
    if (access(db, R_OK))
        return cli_fail("no database at '%s': %s", db, strerror(errno));
    umask(077); /* the copy holds password hashes and the token key */
    if (mkdir(dest, 0700))
        return cli_fail("cannot create backup directory '%s': %s (it must not exist yet)", dest,
                        strerror(errno));
    snprintf(to, sizeof to, "%s/sfu.db", dest);
    if (store_admin_backup(db, to, err, sizeof err))
        return cli_fail("%s%s", err, "");
    snprintf(path, sizeof path, "%s/jwt.secret", cfg->data_dir);
    snprintf(to, sizeof to, "%s/jwt.secret", dest);
    int rc = copy_file(path, to, 0600);
    if (rc && rc != -ENOENT)
        return cli_fail("cannot copy '%s': %s", path, strerror(-rc));
    int files = 0;
    snprintf(path, sizeof path, "%s/files", cfg->data_dir);
    snprintf(to, sizeof to, "%s/files", dest);
    if ((rc = copy_dir_files(path, to, &files)))
        return cli_fail("cannot copy the uploads in '%s': %s", path, strerror(-rc));
    printf("backup of %s written to %s: sfu.db, jwt.secret, %d file%s\n", cfg->data_dir, dest,
           files, files == 1 ? "" : "s");
    return 0;
}

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 1)
        return -1;
    *out = v;
    return 0;
}

static int cmd_admin(const sfu_config_t *cfg, int argc, char **argv)
{
    char db[PATH_MAX + 16], err[PATH_MAX + 256];
    snprintf(db, sizeof db, "%s/sfu.db", cfg->data_dir);
    if (access(db, R_OK))
        return cli_fail("no database at '%s': %s", db, strerror(errno));
    if (argc < 1 || (argc < 2 && strcmp(argv[0], "registration"))) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[0], "registration") || (!strcmp(argv[0], "invites") && argc >= 2)) {
        if (!strcmp(argv[0], "registration") && argc <= 2)
            return store_admin_registration(db, argc == 2 ? argv[1] : NULL, stdout, err, sizeof err)
                       ? cli_fail("%s%s", err, "")
                       : 0;
        if (!strcmp(argv[0], "invites") && !strcmp(argv[1], "list") && argc == 2)
            return store_admin_list(db, STORE_ADMIN_INVITES, stdout, err, sizeof err)
                       ? cli_fail("%s%s", err, "")
                       : 0;
        int64_t n = 1;
        if (!strcmp(argv[0], "invites") && !strcmp(argv[1], "create") && argc <= 3 &&
            (argc == 2 || (parse_id(argv[2], &n) == 0 && n <= 1000)))
            return store_admin_invites_create(db, (int)n, stdout, err, sizeof err)
                       ? cli_fail("%s%s", err, "")
                       : 0;
        return cli_fail("usage: sfu admin registration [open|closed|invite] | invites list | "
                        "invites create [N]%s%s",
                        "", "");
    }
    store_admin_list_t what;
    if (!strcmp(argv[0], "users"))
        what = STORE_ADMIN_USERS;
    else if (!strcmp(argv[0], "reports"))
        what = STORE_ADMIN_REPORTS;
    else
        return cli_fail("unknown admin command '%s'%s (see sfu admin --help)", argv[0], "");
    const char *verb = argv[1];
    const char *del = what == STORE_ADMIN_USERS ? "delete" : "resolve";
    if (!strcmp(verb, "list") && argc == 2)
        return store_admin_list(db, what, stdout, err, sizeof err) ? cli_fail("%s%s", err, "") : 0;
    if (!strcmp(verb, del) && argc == 3) {
        int64_t id;
        if (parse_id(argv[2], &id))
            return cli_fail("'%s' is not an id%s", argv[2], "");
        if (store_admin_delete(db, what, id, err, sizeof err))
            return cli_fail("%s%s", err, "");
        printf("%s %s %s\n", what == STORE_ADMIN_USERS ? "user" : "report", argv[2],
               what == STORE_ADMIN_USERS ? "deleted" : "resolved");
        return 0;
    }
    return cli_fail("usage: sfu admin %s list | %s ID", argv[0], del);
}

int sfu_cli_run(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "backup") && strcmp(argv[1], "admin")))
        return -1;
    /* Node options go to config_parse; the rest are the command's words. */
    char *flags[CLI_MAX_ARGS], *words[CLI_MAX_ARGS];
    int nflags = 0, nwords = 0;
    flags[nflags++] = argv[0];
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        bool flag = !strncmp(argv[a], "--", 2);
        if (flag ? nflags + 2 > CLI_MAX_ARGS : nwords == CLI_MAX_ARGS)
            return cli_fail("too many arguments%s%s", "", "");
        if (!flag) {
            words[nwords++] = argv[a];
            continue;
        }
        flags[nflags++] = argv[a];
        if (!strchr(argv[a], '=') && a + 1 < argc)
            flags[nflags++] = argv[++a];
    }
    static sfu_config_t cfg;
    char err[2 * PATH_MAX];
    switch (config_parse(&cfg, nflags, flags, err, sizeof err)) {
    case CONFIG_EXIT_OK:
        return 0;
    case CONFIG_ERROR:
        return cli_fail("%s%s", err, "");
    case CONFIG_RUN:
        break;
    }
    if (!strcmp(argv[1], "backup")) {
        if (nwords != 1)
            return cli_fail("usage: sfu backup DEST [--data DIR]%s%s", "", "");
        return cmd_backup(&cfg, words[0]);
    }
    return cmd_admin(&cfg, nwords, words);
}
