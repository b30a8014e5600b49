/* sfu/main.c: process start-up and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/log.h"
#include "dtls/dtls_cert.h"
#include "sfu/cli.h"
#include "sfu/config.h"
#include "sfu/media.h"
#include "sfu/worker.h"
#include "signaling/signaling.h"
#include "store/auth.h"
#include "store/store.h"

#define MAX_WORKERS 64

typedef struct sfu_node {
    sfu_config_t cfg;
    uv_loop_t loop;
    uv_signal_t sigint, sigterm, sighup;
    signaling_t *sig;
    store_t *store;
    store_checkpointer_t *checkpointer;
    uv_timer_t checkpoint_timer;
    uv_work_t checkpoint_work;
    bool checkpoint_busy;
    bool checkpoint_dirty; /* committed since the last pass started */
    dtls_cert_t *cert;     /* the node's DTLS identity, shared by every worker */
    sfu_worker_t *workers[MAX_WORKERS];
    sfu_media_t *media;
    int worker_count;
    bool stopping;
} sfu_node_t;

static void startup_failed(const char *reason)
{
    fprintf(stderr, "sfu: %s\n", reason);
    exit(2);
}

static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Creates dir (and parents) when missing; checks it is a writable directory. */
static int prepare_data_dir(const char *dir, char *err, size_t err_cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) && errno != EEXIST) {
            snprintf(err, err_cap, "cannot create data directory '%s': %s", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0700) && errno != EEXIST) {
        snprintf(err, err_cap, "cannot create data directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_cap, "data directory '%s' is not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK)) {
        snprintf(err, err_cap, "data directory '%s' is not writable: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* One node per data directory: an exclusive lock on DIR/sfu.lock, held (fd
 * left open) for the life of the process; it holds the owner's pid. */
static int lock_data_dir(const char *dir, char *err, size_t err_cap)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/sfu.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_cap, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, err_cap,
                 "data directory '%s' is in use by another sfu process%s%s%s; stop it first or "
                 "use another --data",
                 dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len)
        log_warn("sfu", "cannot write the pid to '%s'", path);
    return 0;
}

static void on_media_leg_state(void *ctx, uint64_t leg_id, bool connected, const char *reason)
{
    sfu_node_t *node = ctx;
    if (!node->stopping)
        signaling_media_event(node->sig, leg_id, connected, reason);
}

static void on_media_speaker(void *ctx, int64_t room_id, uint64_t active, bool changed, int n,
                             const uint64_t *producer_ids, const uint8_t *loudness)
{
    sfu_node_t *node = ctx;
    if (!node->stopping)
        signaling_media_speaker(node->sig, room_id, active, changed, n, producer_ids, loudness);
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

#define CHECKPOINT_MS 250

static void checkpoint_work(uv_work_t *w)
{
    sfu_node_t *node = w->data;
    if (store_checkpointer_run(node->checkpointer))
        log_warn("store", "WAL checkpoint failed");
}

static void on_checkpoint_tick(uv_timer_t *t);

/* A commit arms the one-shot timer unless a pass is due or running already. */
static void arm_checkpoint(sfu_node_t *node)
{
    if (!node->checkpoint_busy && !node->stopping &&
        !uv_is_active((uv_handle_t *)&node->checkpoint_timer))
        uv_timer_start(&node->checkpoint_timer, on_checkpoint_tick, CHECKPOINT_MS, 0);
}

static void on_store_commit(void *ctx)
{
    sfu_node_t *node = ctx;
    node->checkpoint_dirty = true;
    arm_checkpoint(node);
}

static void checkpoint_done(uv_work_t *w, int status)
{
    sfu_node_t *node = w->data;
    (void)status;
    node->checkpoint_busy = false;
    if (node->checkpoint_dirty) /* commits during the pass: another one */
        arm_checkpoint(node);
}

/* At most four times a second, and only after commits, the WAL is copied back
 * into the database on the threadpool; a short interval keeps each pass (and
 * the WAL) small, and an idle node never wakes up for it. */
static void on_checkpoint_tick(uv_timer_t *t)
{
    sfu_node_t *node = t->data;
    if (node->checkpoint_busy || node->stopping)
        return;
    node->checkpoint_dirty = false;
    node->checkpoint_work.data = node;
    if (uv_queue_work(&node->loop, &node->checkpoint_work, checkpoint_work, checkpoint_done) == 0)
        node->checkpoint_busy = true;
}

static void node_stop(sfu_node_t *node, int signum)
{
    if (node->stopping)
        return;
    node->stopping = true;
    log_info("sfu", "%s: stopping", strsignal(signum));
    signaling_stop(node->sig);
    sfu_media_free(node->media);
    node->media = NULL;
    for (int i = 0; i < node->worker_count; i++)
        sfu_worker_stop(node->workers[i]);
    node->worker_count = 0;
    uv_close((uv_handle_t *)&node->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&node->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&node->sighup, on_handle_closed);
    if (node->checkpointer)
        uv_close((uv_handle_t *)&node->checkpoint_timer, on_handle_closed);
}

static void on_signal(uv_signal_t *h, int signum)
{
    node_stop(h->data, signum);
}

/* SIGHUP: a renewed TLS certificate is read again (systemctl reload). */
static void on_sighup(uv_signal_t *h, int signum)
{
    sfu_node_t *node = h->data;
    char err[PATH_MAX + 128];
    (void)signum;
    if (!node->cfg.tls_cert[0])
        log_info("sfu", "SIGHUP: no TLS certificate to reload");
    else if (signaling_reload_tls(node->sig, err, sizeof err))
        log_warn("sfu", "SIGHUP: TLS certificate not reloaded: %s", err);
    else
        log_info("sfu", "SIGHUP: TLS certificate reloaded from %s", node->cfg.tls_cert);
}

int main(int argc, char **argv)
{
    static sfu_node_t node;
    char err[2 * PATH_MAX];
    int cli_rc = sfu_cli_run(argc, argv);
    if (cli_rc >= 0)
        return cli_rc;
    switch (config_parse(&node.cfg, argc, argv, err, sizeof err)) {
    case CONFIG_EXIT_OK:
        return 0;
    case CONFIG_ERROR:
        startup_failed(err);
        break;
    case CONFIG_RUN:
        break;
    }
    const sfu_config_t *cfg = &node.cfg;
    log_set_level(cfg->log_level);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();
    if (uv_loop_init(&node.loop))
        startup_failed("cannot create the event loop");

    /* Everything that can be refused is claimed before anything is written. */
    signaling_opts_t sopts = {.listen_host = cfg->listen_host,
                              .listen_port = cfg->listen_port,
                              .www_dir = cfg->www_dir,
                              .tls_cert = cfg->tls_cert,
                              .tls_key = cfg->tls_key,
                              .data_dir = cfg->data_dir,
                              .limit_auth_per_min = cfg->limit_auth_per_min,
                              .limit_api_per_s = cfg->limit_api_per_s,
                              .limit_ws_per_s = cfg->limit_ws_per_s,
                              .limit_upload_per_min = cfg->limit_upload_per_min,
                              .ice_servers = cfg->ice_servers,
                              .turn_username = cfg->turn_username,
                              .turn_credential = cfg->turn_credential,
                              .ring_timeout_s = cfg->ring_timeout_s,
                              .trusted_proxy = cfg->trusted_proxy,
                              .metrics_token = cfg->metrics_token,
                              .access_log = cfg->access_log,
                              .turn_secret = cfg->turn_secret};
    if (signaling_start(&node.loop, &sopts, &node.sig, err, sizeof err))
        startup_failed(err);
    if (!(node.cert = dtls_cert_new()))
        startup_failed("cannot create the DTLS certificate");
    for (int i = 0; i < cfg->workers; i++) {
        if (sfu_worker_start_tcp(i, cfg->rtc_bind, cfg->rtc_port + i,
                                 cfg->rtc_tcp_port ? cfg->rtc_tcp_port + i : 0, node.cert,
                                 &node.workers[i], err, sizeof err))
            startup_failed(err);
        node.worker_count++;
    }
    if (prepare_data_dir(cfg->data_dir, err, sizeof err) ||
        lock_data_dir(cfg->data_dir, err, sizeof err))
        startup_failed(err);

    uint8_t secret[AUTH_SECRET_LEN];
    if (auth_secret_load_or_create(cfg->data_dir, secret, err, sizeof err))
        startup_failed(err);
    char db_path[PATH_MAX + 16];
    snprintf(db_path, sizeof db_path, "%s/sfu.db", cfg->data_dir);
    if (store_open(db_path, &node.store, err, sizeof err))
        startup_failed(err);
    signaling_attach_store(node.sig, node.store, secret, sizeof secret);
    if ((node.checkpointer = store_checkpointer_open(node.store, db_path))) {
        uv_timer_init(&node.loop, &node.checkpoint_timer);
        node.checkpoint_timer.data = &node;
        store_checkpointer_on_commit(node.checkpointer, on_store_commit, &node);
        arm_checkpoint(&node); /* what start-up wrote */
    }
    static const sfu_media_events_t media_events = {.on_leg_state = on_media_leg_state,
                                                    .on_speaker = on_media_speaker};
    node.media = sfu_media_new(&node.loop, node.workers, node.worker_count,
                               dtls_cert_fingerprint(node.cert), &media_events, &node);
    if (node.media)
        sfu_media_set_max_video_bitrate(node.media, cfg->max_video_kbps);
    if (!node.media)
        startup_failed("out of memory");
    signaling_attach_media(node.sig, node.media, cfg->announce_ip, cfg->rtc_port,
                           cfg->rtc_tcp_port);
    memset(secret, 0, sizeof secret);

    uv_signal_init(&node.loop, &node.sigint);
    uv_signal_init(&node.loop, &node.sigterm);
    node.sigint.data = node.sigterm.data = &node;
    uv_signal_start(&node.sigint, on_signal, SIGINT);
    uv_signal_start(&node.sigterm, on_signal, SIGTERM);
    uv_signal_init(&node.loop, &node.sighup);
    node.sighup.data = &node;
    uv_signal_start(&node.sighup, on_sighup, SIGHUP);

    log_info("sfu", "sfu %s ready: %s://%s:%d/ data=%s workers=%d rtc=%s:%d-%d", SFU_VERSION,
             cfg->tls_cert[0] ? "https" : "http", cfg->listen_host, cfg->listen_port, cfg->data_dir,
             cfg->workers, cfg->rtc_bind, cfg->rtc_port, cfg->rtc_port + cfg->workers - 1);

    uv_run(&node.loop, UV_RUN_DEFAULT);

    /* Every connection is closed and pending work has finished: flush the store. */
    store_checkpointer_close(node.checkpointer);
    store_close(node.store);
    signaling_free(node.sig);
    dtls_cert_free(node.cert);
    int rc = uv_loop_close(&node.loop);
    if (rc)
        log_warn("sfu", "event loop closed with handles open: %s", uv_strerror(rc));
    log_info("sfu", "stopped");
    return 0;
}
