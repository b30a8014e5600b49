/* signaling/signaling.h: the HTTP + WebSocket front of the node, on the main loop. */
#ifndef SFU_SIGNALING_H
#define SFU_SIGNALING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

typedef struct signaling signaling_t;

typedef struct signaling_opts {
    const char *listen_host;
    int listen_port;
    const char *www_dir;
    const char *tls_cert; /* NULL or "" for plain HTTP */
    const char *tls_key;
    const char *data_dir; /* uploads go to DATA/files */
    /* Token-bucket limits; 0 disables one. */
    double limit_auth_per_min;
    double limit_api_per_s;
    double limit_ws_per_s;
    double limit_upload_per_min;
    /* Given to call clients: comma-separated STUN/TURN URLs, TURN credentials. */
    const char *ice_servers;
    const char *turn_username;
    const char *turn_credential;
    int ring_timeout_s; /* a direct call rings this long before it is missed; 0: default */
    /* Self-hosting: X-Forwarded-For is believed from this address only; the
     * bearer token /metrics wants from non-loopback clients; a log line per
     * HTTP request. NULL or "" for none. */
    const char *trusted_proxy;
    const char *metrics_token;
    bool access_log;
    const char *turn_secret; /* non-empty: per-user TURN REST credentials instead */
} signaling_opts_t;

/* Creates the lws context on loop and binds the listening socket. On failure
 * writes one line naming the problem into err and returns a negative code. */
int signaling_start(uv_loop_t *loop, const signaling_opts_t *opts, signaling_t **out, char *err,
                    size_t err_cap);
/* Gives the API its store and token secret; requests are answered 503 before. */
void signaling_attach_store(signaling_t *sig, store_t *store, const uint8_t *secret,
                            size_t secret_len);
struct sfu_media;
/* Gives calls their media plane: legs go to its workers; clients are told to
 * reach worker i at announce_ip:(rtc_port + i) over UDP and, unless
 * rtc_tcp_port is 0, at announce_ip:(rtc_tcp_port + i) over ICE-TCP.
 * announce_ip may list several addresses, comma-separated. */
void signaling_attach_media(signaling_t *sig, struct sfu_media *media, const char *announce_ip,
                            int rtc_port, int rtc_tcp_port);
/* A media leg's state changed (from the media plane's events, on the main loop). */
void signaling_media_event(signaling_t *sig, uint64_t leg_id, bool connected, const char *reason);
/* A room's active speaker and audio levels (sfu_media_events_t.on_speaker). */
void signaling_media_speaker(signaling_t *sig, int64_t room_id, uint64_t active_producer_id,
                             bool changed, int n, const uint64_t *producer_ids,
                             const uint8_t *loudness);

/* Stops accepting and closes every connection; the loop must then run until
 * its handles are closed before signaling_free. NULL is a no-op. */
void signaling_stop(signaling_t *sig);
/* Reads the TLS certificate and key again from their files (after a
 * renewal); new connections get them. 0, or a negative code with err filled
 * (the old pair stays in use). */
int signaling_reload_tls(signaling_t *sig, char *err, size_t err_cap);
void signaling_free(signaling_t *sig);

#endif
