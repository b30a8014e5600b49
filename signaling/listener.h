/* signaling/listener.h: the HTTP port's listening socket; accepted
 * connections go to libwebsockets, and running out of file descriptors
 * neither spins the loop nor leaves clients hanging. */
#ifndef SFU_SIGNALING_LISTENER_H
#define SFU_SIGNALING_LISTENER_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_listener http_listener_t;

/* A non-blocking listening TCP socket on host:port (an IP address; "::" is
 * dual-stack). 0 and *out_fd, or a negative errno with one line in err. */
int http_listener_bind(const char *host, int port, int *out_fd, char *err, size_t err_cap);
/* Accepts on fd from loop and hands each connection to vhost; owns fd. With
 * gate (a plain-text port) each request head is read first: empty lines
 * before it are dropped, one too large is answered 414 or 431, one that does
 * not complete within 5 s is closed. */
http_listener_t *http_listener_start(uv_loop_t *loop, int fd, struct lws_vhost *vhost, bool gate);
/* Connections closed unserved while out of descriptors. */
uint64_t http_listener_refused(const http_listener_t *l);
/* Closes the socket; the handles are freed once the loop ran their close. */
void http_listener_close(http_listener_t *l);

#endif
