/* dtls/dtls_transport.h: one DTLS 1.2 association (RFC 6347) over datagrams the
 * caller moves: feed what arrives, send what the send_datagram callback hands out.
 * Checks the peer's certificate against the SDP fingerprint (RFC 8122 5) and, once
 * connected, exports the DTLS-SRTP keys (RFC 5764 4.2). No sockets, no threads:
 * every call and callback runs on the caller's thread. */
#ifndef SFU_DTLS_TRANSPORT_H
#define SFU_DTLS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dtls/dtls_cert.h"
#include "dtls/srtp_session.h"

/* Largest datagram we send; handshake flights are fragmented to fit. */
#define DTLS_TRANSPORT_MTU 1200

typedef enum {
    DTLS_ROLE_SERVER = 0, /* a=setup:passive, what the SFU always is */
    DTLS_ROLE_CLIENT,     /* a=setup:active, the load generator */
} dtls_role_t;

typedef enum {
    DTLS_STATE_NEW = 0,
    DTLS_STATE_CONNECTING,
    DTLS_STATE_CONNECTED,
    DTLS_STATE_CLOSED, /* on_closed has run (or close was called) */
} dtls_state_t;

/* The exported SRTP keying material, arranged for srtp_session_new. */
typedef struct dtls_srtp_keys {
    srtp_session_profile_t profile;
    size_t key_len;                               /* key || salt, per direction */
    uint8_t local_key[SRTP_SESSION_MAX_KEY_LEN];  /* protects what we send */
    uint8_t remote_key[SRTP_SESSION_MAX_KEY_LEN]; /* checks what we receive */
} dtls_srtp_keys_t;

typedef struct dtls_transport_callbacks {
    /* One whole datagram to send to the peer; copy it, it is gone on return. */
    void (*send_datagram)(void *ctx, const uint8_t *data, size_t len);
    /* Handshake done and fingerprint verified. keys is wiped after the call. */
    void (*on_connected)(void *ctx, const dtls_srtp_keys_t *keys);
    /* The association is over: close_notify from the peer, a fatal alert, a failed
     * handshake (bad fingerprint, no common SRTP profile), or retransmissions
     * exhausted. Runs at most once; feed and timers do nothing afterwards. Do not
     * free the transport from inside it; free it after the call returns. */
    void (*on_closed)(void *ctx, const char *reason);
    /* Optional: application data (SCTP for data channels, later). */
    void (*on_data)(void *ctx, const uint8_t *data, size_t len);
} dtls_transport_callbacks_t;

typedef struct dtls_transport dtls_transport_t;

/* expected_peer_fingerprint is the peer's `a=fingerprint:sha-256` value ("AB:CD:...",
 * any case). srtp_profiles overrides the offered DTLS-SRTP profiles (OpenSSL names,
 * colon separated; NULL: GCM then CM). Returns NULL on bad arguments or no memory. */
dtls_transport_t *dtls_transport_new(dtls_role_t role, const dtls_cert_t *cert,
                                     const char *expected_peer_fingerprint,
                                     const char *srtp_profiles,
                                     const dtls_transport_callbacks_t *cb, void *ctx);
/* Frees without sending anything; NULL is a no-op. */
void dtls_transport_free(dtls_transport_t *t);

/* Client role: sends the ClientHello. Server role: nothing (it waits). Returns 0 or
 * -EIO (on_closed has then run). */
int dtls_transport_start(dtls_transport_t *t);

/* One datagram from the peer (first byte 20-63). Drives the handshake, or reads
 * application data and alerts. Returns 0, or -EIO when the association just
 * failed (on_closed has run), or -ENOTCONN when it was already closed. */
int dtls_transport_feed(dtls_transport_t *t, const uint8_t *data, size_t len);

/* Milliseconds until dtls_transport_handle_timeout is due, -1 when no timer runs
 * (before start, once connected on the side that sent the last flight, closed). */
long dtls_transport_timeout_ms(dtls_transport_t *t);
/* Retransmits the last flight if its timer expired (100 ms, doubling to 4 s;
 * gives up after 12 tries, about 30 s). Returns 0, or -EIO when it gave up. */
int dtls_transport_handle_timeout(dtls_transport_t *t);

/* Application data, once connected. Returns 0, -ENOTCONN or -EIO. */
int dtls_transport_send(dtls_transport_t *t, const uint8_t *data, size_t len);

/* on_closed's reason when the peer ended the association cleanly. */
#define DTLS_REASON_CLOSE_NOTIFY "close_notify from peer"

/* Sends close_notify when connected and moves to CLOSED without calling on_closed. */
void dtls_transport_close(dtls_transport_t *t);

dtls_state_t dtls_transport_state(const dtls_transport_t *t);

#endif
