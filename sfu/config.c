#include "sfu/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SFU_VERSION
#define SFU_VERSION "0.0.0"
#endif
#ifndef SFU_WWW_DIR
#define SFU_WWW_DIR "signaling/www"
#endif

typedef enum {
    OPT_LISTEN,
    OPT_RTC_PORT,
    OPT_RTC_TCP_PORT,
    OPT_WORKERS,
    OPT_RTC_BIND,
    OPT_ANNOUNCE_IP,
    OPT_DATA,
    OPT_WWW,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_LOG_LEVEL,
    OPT_LIMIT_AUTH,
    OPT_LIMIT_API,
    OPT_LIMIT_WS,
    OPT_LIMIT_UPLOAD,
    OPT_ICE_SERVERS,
    OPT_TURN_USERNAME,
    OPT_TURN_CREDENTIAL,
    OPT_TURN_SECRET,
    OPT_MAX_VIDEO_BITRATE,
    OPT_RING_TIMEOUT,
    /* self-hosting */
    OPT_CONFIG,
    OPT_TRUSTED_PROXY,
    OPT_METRICS_TOKEN,
    OPT_ACCESS_LOG,
    OPT_COUNT
} opt_id_t;

typedef struct opt_spec {
    const char *flag;
    const char *env;
    const char *arg;
    const char *help;
} opt_spec_t;

static const opt_spec_t opts[OPT_COUNT] = {
    [OPT_LISTEN] = {"--listen", "SFU_LISTEN", "HOST:PORT",
                    "HTTP + WebSocket address (default 127.0.0.1:8080)"},
    [OPT_RTC_PORT] = {"--rtc-port", "SFU_RTC_PORT", "PORT",
                      "UDP port of the first media worker; worker i uses PORT+i (default 40000)"},
    [OPT_RTC_TCP_PORT] = {"--rtc-tcp-port", "SFU_RTC_TCP_PORT", "PORT",
                          "ICE-TCP port of the first media worker; worker i uses PORT+i; 0 turns "
                          "ICE-TCP off (default: the --rtc-port number)"},
    [OPT_WORKERS] = {"--workers", "SFU_WORKERS", "N",
                     "media worker threads (default: cores - 1, at least 1)"},
    [OPT_RTC_BIND] = {"--rtc-bind", "SFU_RTC_BIND", "IP",
                      "address the media workers bind (default 127.0.0.1)"},
    [OPT_ANNOUNCE_IP] = {"--announce-ip", "SFU_ANNOUNCE_IP", "IP",
                         "address given to clients in ICE candidates (default: --rtc-bind); "
                         "repeat it for several (public IPv4, IPv6, LAN), or list them "
                         "comma-separated in the variable"},
    [OPT_DATA] = {"--data", "SFU_DATA", "DIR",
                  "data directory: sfu.db, jwt.secret (default ./data)"},
    [OPT_WWW] = {"--www", "SFU_WWW", "DIR", "web client directory served at /"},
    [OPT_TLS_CERT] = {"--tls-cert", "SFU_TLS_CERT", "FILE",
                      "PEM certificate: serve HTTPS and WSS (needs --tls-key)"},
    [OPT_TLS_KEY] = {"--tls-key", "SFU_TLS_KEY", "FILE", "PEM private key for --tls-cert"},
    [OPT_LOG_LEVEL] = {"--log-level", "SFU_LOG_LEVEL", "LEVEL",
                       "debug, info, warn or error (default info)"},
    [OPT_LIMIT_AUTH] = {"--limit-auth", "SFU_LIMIT_AUTH", "N",
                        "register/login/refresh attempts per minute per IP (default 20; 0 = off)"},
    [OPT_LIMIT_API] = {"--limit-api", "SFU_LIMIT_API", "N",
                       "REST requests per second per user (default 50; 0 = off)"},
    [OPT_LIMIT_WS] = {"--limit-ws", "SFU_LIMIT_WS", "N",
                      "WebSocket messages per second per user (default 20; 0 = off)"},
    [OPT_LIMIT_UPLOAD] = {"--limit-upload", "SFU_LIMIT_UPLOAD", "N",
                          "uploads per minute per user (default 10; 0 = off)"},
    [OPT_ICE_SERVERS] = {"--ice-servers", "SFU_ICE_SERVERS", "URLS",
                         "STUN/TURN URLs given to clients, comma-separated (default none)"},
    [OPT_TURN_USERNAME] = {"--turn-username", "SFU_TURN_USERNAME", "NAME",
                           "username for the turn: URLs in --ice-servers"},
    [OPT_TURN_CREDENTIAL] = {"--turn-credential", "SFU_TURN_CREDENTIAL", "SECRET",
                             "credential for the turn: URLs in --ice-servers"},
    [OPT_TURN_SECRET] = {"--turn-secret", "SFU_TURN_SECRET", "SECRET",
                         "TURN REST secret (coturn static-auth-secret): per-user turn: credentials "
                         "valid for 24 h"},
    [OPT_MAX_VIDEO_BITRATE] = {"--max-video-bitrate", "SFU_MAX_VIDEO_BITRATE", "KBPS",
                               "most a publisher is asked to send per video track, in kbit/s "
                               "(default 2500)"},
    [OPT_RING_TIMEOUT] = {"--ring-timeout", "SFU_RING_TIMEOUT", "SECONDS",
                          "how long a direct call rings before it is missed (default 30)"},
    /* self-hosting */
    [OPT_CONFIG] = {"--config", "SFU_CONFIG", "FILE",
                    "read options from FILE: one 'name = value' a line, name as the flag "
                    "without '--', '#' comments (flags win)"},
    [OPT_TRUSTED_PROXY] = {"--trusted-proxy", "SFU_TRUSTED_PROXY", "IP",
                           "reverse proxy whose X-Forwarded-For names the client (default none)"},
    [OPT_METRICS_TOKEN] = {"--metrics-token", "SFU_METRICS_TOKEN", "TOKEN",
                           "bearer token /metrics wants from non-loopback clients (default: "
                           "loopback only)"},
    [OPT_ACCESS_LOG] = {"--access-log", "SFU_ACCESS_LOG", "on|off",
                        "log one line per HTTP request (default off)"},
};

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: sfu [options]\n\nA self-hosted WebRTC selective forwarding unit.\n\n"
                 "Options (each also read from its environment variable; flags win):\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", opts[i].flag, opts[i].arg);
        fprintf(out, "  %-24s %s [%s]\n", left, opts[i].help, opts[i].env);
    }
    fprintf(out, "  %-24s %s\n  %-24s %s\n", "--help", "show this help and exit", "--version",
            "show the version and exit");
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* 0.0.0.0 or :: (in any spelling). */
static bool is_wildcard(const char *s)
{
    unsigned char buf[16], zero[16] = {0};
    if (inet_pton(AF_INET, s, buf) == 1)
        return !memcmp(buf, zero, 4);
    return inet_pton(AF_INET6, s, buf) == 1 && !memcmp(buf, zero, 16);
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* "127.0.0.1:8080", "[::1]:8080" or ":8080" (all IPv4 interfaces). */
static int parse_listen(sfu_config_t *cfg, const char *v)
{
    const char *colon;
    char host[64];
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':' || (size_t)(close - v - 1) >= sizeof host)
            return -1;
        memcpy(host, v + 1, (size_t)(close - v - 1));
        host[close - v - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon || (size_t)(colon - v) >= sizeof host)
            return -1;
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
        if (!host[0])
            strcpy(host, "0.0.0.0");
    }
    long port;
    if (!is_ip_literal(host) || parse_int(colon + 1, 1, 65535, &port))
        return -1;
    strcpy(cfg->listen_host, host);
    cfg->listen_port = (int)port;
    return 0;
}

/* "stun:host:port,turn:host:port?transport=udp": each URL with a known scheme
 * and no spaces or quotes. */
static int parse_ice_servers(sfu_config_t *cfg, const char *v, char *err, size_t err_cap,
                             const char *source)
{
    static const char *schemes[] = {"stun:", "stuns:", "turn:", "turns:"};
    if (copy_str(cfg->ice_servers, sizeof cfg->ice_servers, v)) {
        snprintf(err, err_cap, "%s: the list is too long", source);
        return -1;
    }
    for (const char *u = v; *u;) {
        size_t n = strcspn(u, ",");
        bool known = false;
        for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
            known |= n > strlen(schemes[i]) && !strncmp(u, schemes[i], strlen(schemes[i]));
        if (!known || strcspn(u, " \t\"") < n) {
            snprintf(err, err_cap, "%s: '%.*s' is not a stun:, stuns:, turn: or turns: URL", source,
                     (int)n, u);
            return -1;
        }
        u += n + (u[n] == ',');
    }
    return 0;
}

/* Appends one address, or (from the environment) a comma-separated list. */
static int add_announce_ips(sfu_config_t *cfg, const char *v, char *err, size_t err_cap,
                            const char *source)
{
    int count = cfg->announce_ip[0] ? 1 : 0;
    for (const char *c = cfg->announce_ip; *c; c++)
        count += *c == ',';
    for (const char *u = v;;) {
        size_t n = strcspn(u, ",");
        char ip[64];
        if (n == 0 || n >= sizeof ip) {
            snprintf(err, err_cap, "%s: '%s' is not an IP address", source, v);
            return -1;
        }
        memcpy(ip, u, n);
        ip[n] = '\0';
        if (!is_ip_literal(ip)) {
            snprintf(err, err_cap, "%s: '%s' is not an IP address", source, ip);
            return -1;
        }
        if (++count > SFU_MAX_ANNOUNCE) {
            snprintf(err, err_cap, "%s: at most %d addresses", source, SFU_MAX_ANNOUNCE);
            return -1;
        }
        size_t len = strlen(cfg->announce_ip);
        snprintf(cfg->announce_ip + len, sizeof cfg->announce_ip - len, "%s%s", len ? "," : "", ip);
        if (!u[n])
            return 0;
        u += n + 1;
    }
}

static int apply(sfu_config_t *cfg, opt_id_t id, const char *v, char *err, size_t err_cap,
                 const char *source)
{
    long n;
    switch (id) {
    case OPT_LISTEN:
        if (parse_listen(cfg, v) == 0)
            return 0;
        snprintf(err, err_cap, "%s: '%s' is not HOST:PORT with a numeric address", source, v);
        return -1;
    case OPT_RTC_PORT:
        if (parse_int(v, 1, 65535, &n) == 0) {
            cfg->rtc_port = (int)n;
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not a port (1-65535)", source, v);
        return -1;
    case OPT_RTC_TCP_PORT:
        if (parse_int(v, 0, 65535, &n) == 0) {
            cfg->rtc_tcp_port = (int)n;
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not a port (1-65535, or 0 for none)", source, v);
        return -1;
    case OPT_MAX_VIDEO_BITRATE:
        if (parse_int(v, 100, 100000, &n) == 0) {
            cfg->max_video_kbps = (int)n;
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not a bitrate in kbit/s (100-100000)", source, v);
        return -1;
    case OPT_RING_TIMEOUT:
        if (parse_int(v, 1, 600, &n) == 0) {
            cfg->ring_timeout_s = (int)n;
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not a ring timeout in seconds (1-600)", source, v);
        return -1;
    case OPT_WORKERS:
        if (parse_int(v, 1, 64, &n) == 0) {
            cfg->workers = (int)n;
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not a worker count (1-64)", source, v);
        return -1;
    case OPT_RTC_BIND:
        if (is_ip_literal(v) && copy_str(cfg->rtc_bind, sizeof cfg->rtc_bind, v) == 0)
            return 0;
        snprintf(err, err_cap, "%s: '%s' is not an IP address", source, v);
        return -1;
    case OPT_ANNOUNCE_IP:
        return add_announce_ips(cfg, v, err, err_cap, source);
    case OPT_LOG_LEVEL:
        if (log_level_parse(v, &cfg->log_level) == 0 && cfg->log_level != LOG_OFF)
            return 0;
        snprintf(err, err_cap, "%s: '%s' is not one of debug, info, warn, error", source, v);
        return -1;
    case OPT_DATA:
    case OPT_WWW:
    case OPT_TLS_CERT:
    case OPT_TLS_KEY: {
        char *dst = id == OPT_DATA       ? cfg->data_dir
                    : id == OPT_WWW      ? cfg->www_dir
                    : id == OPT_TLS_CERT ? cfg->tls_cert
                                         : cfg->tls_key;
        if (*v && copy_str(dst, PATH_MAX, v) == 0)
            return 0;
        snprintf(err, err_cap, "%s: '%s' is not a usable path", source, v);
        return -1;
    }
    case OPT_LIMIT_AUTH:
    case OPT_LIMIT_API:
    case OPT_LIMIT_WS:
    case OPT_LIMIT_UPLOAD: {
        double *dst = id == OPT_LIMIT_AUTH  ? &cfg->limit_auth_per_min
                      : id == OPT_LIMIT_API ? &cfg->limit_api_per_s
                      : id == OPT_LIMIT_WS  ? &cfg->limit_ws_per_s
                                            : &cfg->limit_upload_per_min;
        if (parse_int(v, 0, 1000000, &n) == 0) {
            *dst = (double)n;
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not a rate (0-1000000)", source, v);
        return -1;
    }
    case OPT_ICE_SERVERS:
        return parse_ice_servers(cfg, v, err, err_cap, source);
    case OPT_TURN_USERNAME:
    case OPT_TURN_CREDENTIAL: {
        char *dst = id == OPT_TURN_USERNAME ? cfg->turn_username : cfg->turn_credential;
        if (copy_str(dst, 128, v) == 0 && !strchr(v, '"'))
            return 0;
        snprintf(err, err_cap, "%s: too long (at most 127 characters)", source);
        return -1;
    }
    /* self-hosting */
    case OPT_CONFIG:
        if (*v && copy_str(cfg->config_file, PATH_MAX, v) == 0)
            return 0;
        snprintf(err, err_cap, "%s: '%s' is not a usable path", source, v);
        return -1;
    case OPT_TRUSTED_PROXY:
        if (is_ip_literal(v) && copy_str(cfg->trusted_proxy, sizeof cfg->trusted_proxy, v) == 0)
            return 0;
        snprintf(err, err_cap, "%s: '%s' is not an IP address", source, v);
        return -1;
    case OPT_METRICS_TOKEN:
        if (strlen(v) >= 16 && copy_str(cfg->metrics_token, sizeof cfg->metrics_token, v) == 0 &&
            !strpbrk(v, " \t\"\\"))
            return 0;
        snprintf(err, err_cap, "%s: the token must be 16-127 characters without spaces or quotes",
                 source);
        return -1;
    case OPT_ACCESS_LOG:
        if (!strcmp(v, "on") || !strcmp(v, "off")) {
            cfg->access_log = !strcmp(v, "on");
            return 0;
        }
        snprintf(err, err_cap, "%s: '%s' is not on or off", source, v);
        return -1;
    case OPT_TURN_SECRET:
        if (*v && copy_str(cfg->turn_secret, sizeof cfg->turn_secret, v) == 0)
            return 0;
        snprintf(err, err_cap, "%s: empty or too long (at most 255 characters)", source);
        return -1;
    case OPT_COUNT:
        break;
    }
    return -1;
}

/* No --www and the checkout's web client is gone (an installed binary):
 * BINDIR/../share/sfu/www, where make install puts it, when it exists. */
static void www_default_installed(sfu_config_t *cfg)
{
    struct stat st;
    if (strcmp(cfg->www_dir, SFU_WWW_DIR) || (stat(cfg->www_dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    char www[PATH_MAX + 32];
    snprintf(www, sizeof www, "%s/../share/sfu/www", exe);
    size_t len = strlen(www);
    if (stat(www, &st) == 0 && S_ISDIR(st.st_mode) && len < sizeof cfg->www_dir)
        memcpy(cfg->www_dir, www, len + 1);
}

/* The --config file: "name = value" lines (name: a flag without "--"), blank
 * lines and "#" comments; values may be "quoted". */
static int apply_file(sfu_config_t *cfg, const char *path, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_cap, "--config: cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[2048], source[PATH_MAX + 32];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(source, sizeof source, "%s:%d", path, lineno);
        char *p = line + strspn(line, " \t");
        size_t n = strcspn(p, "\r\n");
        p[n] = '\0';
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            p[--n] = '\0';
        if (!*p || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, err_cap, "%s: expected 'name = value'", source);
            rc = -1;
            break;
        }
        char *name_end = eq;
        while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        *name_end = '\0';
        char *v = eq + 1 + strspn(eq + 1, " \t");
        size_t vn = strlen(v);
        if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
            v[vn - 1] = '\0';
            v++;
        }
        int found = -1;
        for (int i = 0; i < OPT_COUNT; i++) {
            if (!strcmp(opts[i].flag + 2, p))
                found = i;
        }
        if (found < 0 || found == OPT_CONFIG) {
            snprintf(err, err_cap, "%s: unknown option '%s' (see --help)", source, p);
            rc = -1;
        } else {
            rc = apply(cfg, (opt_id_t)found, v, err, err_cap, source);
        }
    }
    fclose(f);
    return rc;
}

/* The --config value in argv (the last one), or NULL. */
static const char *config_in_argv(int argc, char **argv)
{
    const char *found = NULL;
    for (int a = 1; a < argc; a++) {
        if (!strncmp(argv[a], "--config=", 9))
            found = argv[a] + 9;
        else if (!strcmp(argv[a], "--config") && a + 1 < argc)
            found = argv[++a];
    }
    return found;
}

static void set_defaults(sfu_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 8080;
    cfg->rtc_port = 40000;
    cfg->rtc_tcp_port = -1; /* the --rtc-port number */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cores > 1 ? (int)(cores - 1) : 1;
    strcpy(cfg->rtc_bind, "127.0.0.1");
    strcpy(cfg->data_dir, "./data");
    snprintf(cfg->www_dir, sizeof cfg->www_dir, "%s", SFU_WWW_DIR);
    cfg->log_level = LOG_INFO;
    cfg->limit_auth_per_min = 20;
    cfg->limit_api_per_s = 50;
    cfg->limit_ws_per_s = 20;
    cfg->limit_upload_per_min = 10;
    cfg->max_video_kbps = 2500;
    cfg->ring_timeout_s = 30;
}

config_result_t config_parse(sfu_config_t *cfg, int argc, char **argv, char *err, size_t err_cap)
{
    bool announce_flagged = false;
    set_defaults(cfg);
    for (int i = 0; i < OPT_COUNT; i++) {
        const char *v = getenv(opts[i].env);
        if (v && *v && apply(cfg, (opt_id_t)i, v, err, err_cap, opts[i].env))
            return CONFIG_ERROR;
    }
    const char *file = config_in_argv(argc, argv);
    if (file && apply(cfg, OPT_CONFIG, file, err, err_cap, "--config"))
        return CONFIG_ERROR;
    if (cfg->config_file[0] && apply_file(cfg, cfg->config_file, err, err_cap))
        return CONFIG_ERROR;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            print_usage(stdout);
            return CONFIG_EXIT_OK;
        }
        if (!strcmp(arg, "--version")) {
            printf("sfu %s\n", SFU_VERSION);
            return CONFIG_EXIT_OK;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        int found = -1;
        for (int i = 0; i < OPT_COUNT; i++) {
            if (strlen(opts[i].flag) == name_len && !strncmp(arg, opts[i].flag, name_len))
                found = i;
        }
        if (found < 0) {
            snprintf(err, err_cap, "unknown option '%.*s' (see --help)", (int)name_len, arg);
            return CONFIG_ERROR;
        }
        const char *v = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
        if (!v) {
            snprintf(err, err_cap, "%s needs a value (%s)", opts[found].flag, opts[found].arg);
            return CONFIG_ERROR;
        }
        /* The first --announce-ip replaces what SFU_ANNOUNCE_IP listed. */
        if (found == OPT_ANNOUNCE_IP && !announce_flagged) {
            cfg->announce_ip[0] = '\0';
            announce_flagged = true;
        }
        if (apply(cfg, (opt_id_t)found, v, err, err_cap, opts[found].flag))
            return CONFIG_ERROR;
    }
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, err_cap, "--tls-cert and --tls-key must be given together");
        return CONFIG_ERROR;
    }
    if (cfg->rtc_tcp_port < 0)
        cfg->rtc_tcp_port = cfg->rtc_port;
    if (cfg->rtc_tcp_port + cfg->workers - 1 > 65535) {
        snprintf(err, err_cap, "--rtc-tcp-port %d with %d workers runs past port 65535",
                 cfg->rtc_tcp_port, cfg->workers);
        return CONFIG_ERROR;
    }
    if (cfg->rtc_port + cfg->workers - 1 > 65535) {
        snprintf(err, err_cap, "--rtc-port %d with %d workers runs past port 65535", cfg->rtc_port,
                 cfg->workers);
        return CONFIG_ERROR;
    }
    if ((strstr(cfg->ice_servers, "turn:") || strstr(cfg->ice_servers, "turns:")) &&
        !cfg->turn_secret[0] && (!cfg->turn_username[0] || !cfg->turn_credential[0])) {
        snprintf(err, err_cap,
                 "turn: URLs in --ice-servers need --turn-secret, or --turn-username and "
                 "--turn-credential");
        return CONFIG_ERROR;
    }
    /* A wildcard bind has no address a browser can reach: candidates need one. */
    if (!cfg->announce_ip[0] && is_wildcard(cfg->rtc_bind)) {
        snprintf(err, err_cap,
                 "--rtc-bind %s listens on every interface: set --announce-ip to the address "
                 "clients reach this node at",
                 cfg->rtc_bind);
        return CONFIG_ERROR;
    }
    for (const char *u = cfg->announce_ip; *u;) {
        size_t n = strcspn(u, ",");
        char ip[64];
        snprintf(ip, sizeof ip, "%.*s", (int)n, u);
        if (is_wildcard(ip)) {
            snprintf(err, err_cap, "--announce-ip %s is not an address clients can reach", ip);
            return CONFIG_ERROR;
        }
        u += n + (u[n] == ',');
    }
    if (!cfg->announce_ip[0])
        strcpy(cfg->announce_ip, cfg->rtc_bind);
    www_default_installed(cfg);
    return CONFIG_RUN;
}
