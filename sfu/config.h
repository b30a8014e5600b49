/* sfu/config.h: command-line flags and their environment variables. */
#ifndef SFU_CONFIG_H
#define SFU_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "common/log.h"

#define SFU_MAX_ANNOUNCE 8 /* --announce-ip addresses */

typedef struct sfu_config {
    char listen_host[64]; /* numeric address; IPv6 without brackets */
    int listen_port;
    int rtc_port;     /* worker i binds rtc_port + i */
    int rtc_tcp_port; /* ICE-TCP: worker i listens on rtc_tcp_port + i; 0: off */
    int workers;
    char rtc_bind[64]; /* address the media workers bind */
    /* Addresses put in ICE candidates, comma-separated (--announce-ip may be
     * repeated, SFU_ANNOUNCE_IP lists them); "" = rtc_bind. */
    char announce_ip[SFU_MAX_ANNOUNCE * 48];
    char data_dir[PATH_MAX];
    char www_dir[PATH_MAX];
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    log_level_t log_level;
    /* Abuse limits (token buckets); 0 disables one. */
    double limit_auth_per_min;   /* register/login/refresh per IP */
    double limit_api_per_s;      /* REST requests per user (per IP before sign-in) */
    double limit_ws_per_s;       /* WebSocket messages per user */
    double limit_upload_per_min; /* uploads per user */
    /* ICE servers handed to clients: comma-separated stun:/stuns:/turn:/turns:
     * URLs; TURN ones use the username and credential below. */
    char ice_servers[1024];
    char turn_username[128];
    char turn_credential[128];
    /* Shared with the TURN server (coturn use-auth-secret): per-user credentials
     * valid for a day replace turn_username/turn_credential. */
    char turn_secret[256];
    /* The most a publisher is asked to send per video track (REMB), kbit/s. */
    int max_video_kbps;
    /* How long a direct call rings before it is missed, in seconds. */
    int ring_timeout_s;
    /* Self-hosting: the file the options were read from, the reverse proxy
     * whose X-Forwarded-For is believed, the bearer token /metrics wants from
     * anything but loopback, and one log line per HTTP request. */
    char config_file[PATH_MAX];
    char trusted_proxy[64];
    char metrics_token[128];
    int access_log;
} sfu_config_t;

typedef enum {
    CONFIG_RUN = 0,     /* start the node */
    CONFIG_EXIT_OK = 1, /* --help or --version was printed */
    CONFIG_ERROR = -1,  /* err holds one line naming the problem */
} config_result_t;

/* Fills cfg from defaults, then the SFU_* environment, then the --config file
 * (SFU_CONFIG), then argv: later sources win. */
config_result_t config_parse(sfu_config_t *cfg, int argc, char **argv, char *err, size_t err_cap);

#endif
