/* tools/loadgen/janus.c: a synthetic participant against Janus's videoroom
 * plugin (the bench's peer SFU), so the media path and what is measured are
 * the same as against our node: only the signaling differs.
 *
 * The Janus API over one WebSocket (subprotocol "janus-protocol"): "create" a
 * session; "attach" a publisher handle; the videoroom "create" request for
 * the room (427, the room exists, is fine: every participant asks); "join" as
 * a publisher, which lists the feeds already publishing; "publish" with our
 * offer, whose answer starts the publish leg. Feeds (from "joined" and later
 * events) are subscribed on one subscriber handle: "join" as a subscriber
 * with the streams of every feed known, then "subscribe" for feeds that come
 * later; each gives a Janus offer, answered with "start". One request at a
 * time on the subscriber handle: feeds that appear meanwhile wait for the
 * next. Each request's "transaction" names its kind. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/loadgen/lg.h"

#define JANUS_ROOM_EXISTS 427 /* JANUS_VIDEOROOM_ERROR_ROOM_EXISTS */

static void send_janus(lg_peer_t *p, const char *janus, const char *tx, json_t *extra)
{
    json_t *msg = extra ? extra : json_object();
    json_object_set_new(msg, "janus", json_string(janus));
    char txid[48];
    snprintf(txid, sizeof txid, "%s:%d", tx, ++p->next_id);
    json_object_set_new(msg, "transaction", json_string(txid));
    if (p->j_session)
        json_object_set_new(msg, "session_id", json_integer((json_int_t)p->j_session));
    lg_peer_send_json(p, msg);
}

/* A videoroom request on a handle, with an SDP (jsep_type NULL: none). */
static void send_plugin(lg_peer_t *p, uint64_t handle, const char *tx, json_t *body,
                        const char *jsep_type, const char *sdp)
{
    json_t *msg = json_pack("{s:I,s:o}", "handle_id", (json_int_t)handle, "body", body);
    if (jsep_type)
        json_object_set_new(msg, "jsep", json_pack("{s:s,s:s}", "type", jsep_type, "sdp", sdp));
    send_janus(p, "message", tx, msg);
}

static void attach(lg_peer_t *p, const char *tx)
{
    send_janus(p, "attach", tx, json_pack("{s:s}", "plugin", "janus.plugin.videoroom"));
}

static void create_room(lg_peer_t *p)
{
    const lg_opts_t *o = &p->lg->o;
    /* No bitrate cap (REMB as our node: none asked), no keyframe timer. */
    json_t *body =
        json_pack("{s:s,s:I,s:i,s:i,s:i,s:s,s:s,s:b}", "request", "create", "room",
                  (json_int_t)p->room_id, "publishers", o->per_room, "bitrate", 0, "fir_freq", 0,
                  "audiocodec", "opus", "videocodec", "vp8", "notify_joining", 0);
    send_plugin(p, p->j_pub_handle, "room", body, NULL, NULL);
}

static void join_room(lg_peer_t *p)
{
    p->join_ns = lg_now_ns();
    json_t *body = json_pack("{s:s,s:s,s:I,s:s}", "request", "join", "ptype", "publisher", "room",
                             (json_int_t)p->room_id, "display", p->username);
    send_plugin(p, p->j_pub_handle, "join", body, NULL, NULL);
}

static void publish(lg_peer_t *p)
{
    lg_sdp_local_t l;
    const char *sdp = lg_peer_publish_offer(p, &l);
    if (!sdp)
        return;
    send_plugin(p, p->j_pub_handle, "publish", json_pack("{s:s}", "request", "publish"), "offer",
                sdp);
}

/* Subscribes to the feeds not yet asked for, when no request is in flight. */
static void subscribe_more(lg_peer_t *p)
{
    if (p->j_sub_busy || p->j_feeds_asked >= p->j_feed_count || p->left || p->failed)
        return;
    if (!p->j_sub_handle) {
        if (!p->j_sub_attaching) {
            p->j_sub_attaching = true;
            attach(p, "attach-sub");
        }
        return;
    }
    json_t *streams = json_array();
    for (; p->j_feeds_asked < p->j_feed_count; p->j_feeds_asked++)
        json_array_append_new(streams,
                              json_pack("{s:I}", "feed", (json_int_t)p->j_feeds[p->j_feeds_asked]));
    json_t *body;
    if (!p->j_sub_attaching) {
        body = json_pack("{s:s,s:o}", "request", "subscribe", "streams", streams);
        send_plugin(p, p->j_sub_handle, "subscribe", body, NULL, NULL);
    } else {
        p->j_sub_attaching = false;
        body = json_pack("{s:s,s:s,s:I,s:o}", "request", "join", "ptype", "subscriber", "room",
                         (json_int_t)p->room_id, "streams", streams);
        send_plugin(p, p->j_sub_handle, "subjoin", body, NULL, NULL);
    }
    p->j_sub_busy = true;
}

/* Feeds of a "publishers" list: each is kept once. */
static void note_publishers(lg_peer_t *p, json_t *list)
{
    size_t i;
    json_t *pub;
    json_array_foreach(list, i, pub)
    {
        json_int_t id = json_integer_value(json_object_get(pub, "id"));
        bool known = id <= 0 || (uint64_t)id == p->j_feed;
        for (int k = 0; k < p->j_feed_count && !known; k++)
            known = p->j_feeds[k] == (uint64_t)id;
        if (known)
            continue;
        if (p->j_feed_count >= p->lg->o.per_room) {
            lg_peer_fail(p, "Janus announced more feeds than the room has participants");
            return;
        }
        p->j_feeds[p->j_feed_count++] = (uint64_t)id;
    }
    subscribe_more(p);
}

static void on_publish_answer(lg_peer_t *p, const char *sdp)
{
    static lg_sdp_remote_t remote;
    if (lg_sdp_parse(sdp, &remote)) {
        lg_peer_fail(p, "unusable publish answer SDP from Janus");
        return;
    }
    if (lg_leg_start(&p->pub, &remote))
        lg_peer_fail(p, "could not start the publish leg");
}

static void on_subscribe_offer(lg_peer_t *p, const char *sdp)
{
    static lg_sdp_remote_t offer;
    static char answer[LG_SDP_MAX];
    if (lg_sdp_parse(sdp, &offer)) {
        lg_peer_fail(p, "unusable subscribe offer SDP from Janus");
        return;
    }
    lg_sdp_local_t l = lg_peer_local_desc(p, &p->sub);
    if (lg_sdp_write_subscribe_answer(&offer, &l, answer, sizeof answer) < 0) {
        lg_peer_fail(p, "subscribe answer too large");
        return;
    }
    lg_peer_note_offer(p, &offer);
    send_plugin(p, p->j_sub_handle, "start", json_pack("{s:s}", "request", "start"), "answer",
                answer);
    if (lg_leg_start(&p->sub, &offer))
        lg_peer_fail(p, "could not start the subscribe leg");
}

/* The kind of request a reply answers: the transaction up to its ':'. */
static bool tx_is(json_t *msg, const char *kind)
{
    const char *tx = json_string_value(json_object_get(msg, "transaction"));
    size_t n = strlen(kind);
    return tx && !strncmp(tx, kind, n) && tx[n] == ':';
}

static void on_success(lg_peer_t *p, json_t *msg)
{
    json_int_t id = json_integer_value(json_object_get(json_object_get(msg, "data"), "id"));
    if (tx_is(msg, "create")) {
        p->j_session = (uint64_t)id;
        attach(p, "attach-pub");
    } else if (tx_is(msg, "attach-pub")) {
        p->j_pub_handle = (uint64_t)id;
        create_room(p);
    } else if (tx_is(msg, "attach-sub")) {
        p->j_sub_handle = (uint64_t)id;
        subscribe_more(p);
    } else if (tx_is(msg, "room")) {
        json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
        json_int_t code = json_integer_value(json_object_get(data, "error_code"));
        if (code && code != JANUS_ROOM_EXISTS) {
            const char *err = json_string_value(json_object_get(data, "error"));
            char why[sizeof p->last_error];
            snprintf(why, sizeof why, "Janus refused the room: %lld %s", (long long)code,
                     err ? err : "");
            lg_peer_fail(p, why);
            return;
        }
        join_room(p);
    }
}

static void on_event(lg_peer_t *p, json_t *msg)
{
    json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
    const char *what = json_string_value(json_object_get(data, "videoroom"));
    const char *sdp = json_string_value(json_object_get(json_object_get(msg, "jsep"), "sdp"));
    uint64_t sender = (uint64_t)json_integer_value(json_object_get(msg, "sender"));
    const char *err = json_string_value(json_object_get(data, "error"));
    if (err) {
        char why[sizeof p->last_error];
        snprintf(why, sizeof why, "Janus: %s", err);
        p->ws_errors++;
        memcpy(p->last_error, why, sizeof p->last_error - 1);
        lg_peer_fail(p, why);
        return;
    }
    if (!what)
        return;
    if (sender == p->j_pub_handle) {
        if (!strcmp(what, "joined")) {
            p->j_feed = (uint64_t)json_integer_value(json_object_get(data, "id"));
            p->joined = true;
            if (p->publishes && p->stream_count)
                publish(p);
        }
        if (sdp && tx_is(msg, "publish"))
            on_publish_answer(p, sdp);
        note_publishers(p, json_object_get(data, "publishers"));
        return;
    }
    if (sender != p->j_sub_handle)
        return;
    if (sdp && (!strcmp(what, "attached") || !strcmp(what, "updated"))) {
        on_subscribe_offer(p, sdp);
    } else if (tx_is(msg, "start") || !strcmp(what, "updated")) {
        /* The renegotiation is over (or there was nothing to renegotiate). */
        p->j_sub_busy = false;
        subscribe_more(p);
    }
}

static void on_text(lg_ws_t *ws, const char *text, size_t len)
{
    lg_peer_t *p = ws->ctx;
    json_t *msg = json_loadb(text, len, 0, NULL);
    const char *janus = json_string_value(json_object_get(msg, "janus"));
    if (!janus) {
        json_decref(msg);
        return;
    }
    if (!strcmp(janus, "success")) {
        on_success(p, msg);
    } else if (!strcmp(janus, "event")) {
        on_event(p, msg);
    } else if (!strcmp(janus, "error")) {
        json_t *e = json_object_get(msg, "error");
        const char *reason = json_string_value(json_object_get(e, "reason"));
        char why[sizeof p->last_error];
        snprintf(why, sizeof why, "Janus error %lld: %s",
                 (long long)json_integer_value(json_object_get(e, "code")), reason ? reason : "");
        p->ws_errors++;
        memcpy(p->last_error, why, sizeof p->last_error - 1);
        lg_peer_fail(p, why);
    } else if (!strcmp(janus, "hangup") && !p->left) {
        lg_peer_fail(p, "Janus hung up a PeerConnection");
    }
    json_decref(msg);
}

static void on_open(lg_ws_t *ws)
{
    send_janus(ws->ctx, "create", "create", NULL);
}

static void on_closed(lg_ws_t *ws, const char *reason)
{
    lg_peer_t *p = ws->ctx;
    if (!p->left)
        lg_peer_fail(p, reason);
}

int lg_janus_start(lg_peer_t *p)
{
    static const lg_ws_callbacks_t cb = {
        .on_open = on_open, .on_text = on_text, .on_closed = on_closed};
    p->ws_live = true;
    int rc =
        lg_ws_connect_to(&p->ws, p->lg->loop, &p->lg->http_addr, "/", "janus-protocol", &cb, p);
    if (rc)
        lg_peer_fail(p, uv_strerror(rc));
    return rc;
}

void lg_janus_leave(lg_peer_t *p)
{
    if (p->ws.open && p->j_session)
        send_janus(p, "destroy", "destroy", NULL);
    lg_ws_close(&p->ws);
}
