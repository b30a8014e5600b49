/* sfu/call.c: participants, their tracks and subscriptions, and the
 * offer/answer state of their publish and subscribe sessions. */
#include "sfu/call.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "rtp/rtp_codec.h"

#define SUB_SDP_MAX (512 * 1024) /* a subscribe offer: a section per track */

struct sfu_participant {
    sfu_call_t *call;
    void *owner;
    int64_t user_id;
    char username[64];
    int64_t joined_ms;
    uint64_t pub_leg, sub_leg;
    bool pub_open, sub_open;
    char pub_ufrag[16], pub_pwd[40], sub_ufrag[16], sub_pwd[40];
    char pub_remote_ufrag[64]; /* of the last publish offer: a new one is an ICE restart */
    sfu_call_track_t tracks[SFU_CALL_MAX_TRACKS];
    int track_count;
    rtc_sdp_track_t *sub; /* grows; ended tracks stay as inactive sections */
    /* Per section: the offer version that first showed it inactive (0: not
     * yet). Once an answer to that version came, the section can carry a new
     * track of its kind (RFC 8829 5.2.2 lets an offerer reuse its sections). */
    unsigned *sub_ended_in;
    int sub_count, sub_cap, sub_mid_seq;
    unsigned sub_version, sub_answered;
    bool sub_pending, sub_dirty;
    bool publish_only; /* no subscribe session (WHIP) */
};

struct sfu_call {
    sfu_call_env_t env;
    int64_t room_id;
    int worker;
    sfu_participant_t **parts;
    int count, cap;
    bool ending;
};

sfu_call_t *sfu_call_new(const sfu_call_env_t *env, int64_t room_id)
{
    sfu_call_t *call = calloc(1, sizeof *call);
    if (!call)
        return NULL;
    call->env = *env;
    call->room_id = room_id;
    call->worker = sfu_media_worker_of_room(env->media, room_id);
    return call;
}

void sfu_call_free(sfu_call_t *call)
{
    if (!call)
        return;
    call->ending = true;
    while (call->count)
        sfu_call_remove(call->parts[call->count - 1]);
    free(call->parts);
    free(call);
}

int64_t sfu_call_room_id(const sfu_call_t *call)
{
    return call->room_id;
}

int sfu_call_worker(const sfu_call_t *call)
{
    return call->worker;
}

int sfu_call_participant_count(const sfu_call_t *call)
{
    return call->count;
}

sfu_participant_t *sfu_call_participant(const sfu_call_t *call, int i)
{
    return i >= 0 && i < call->count ? call->parts[i] : NULL;
}

sfu_participant_t *sfu_call_find_user(const sfu_call_t *call, int64_t user_id)
{
    for (int i = 0; i < call->count; i++) {
        if (call->parts[i]->user_id == user_id)
            return call->parts[i];
    }
    return NULL;
}

sfu_participant_t *sfu_call_find_producer(const sfu_call_t *call, uint64_t producer_id)
{
    for (int i = 0; i < call->count; i++) {
        for (int t = 0; t < call->parts[i]->track_count; t++) {
            if (call->parts[i]->tracks[t].producer_id == producer_id)
                return call->parts[i];
        }
    }
    return NULL;
}

sfu_participant_t *sfu_call_find_leg(const sfu_call_t *call, uint64_t leg_id)
{
    for (int i = 0; i < call->count; i++) {
        if (sfu_participant_leg_kind(call->parts[i], leg_id))
            return call->parts[i];
    }
    return NULL;
}

void sfu_call_set_ending(sfu_call_t *call)
{
    call->ending = true;
}

bool sfu_call_ending(const sfu_call_t *call)
{
    return call->ending;
}

static void local_desc(const sfu_call_t *call, const char *ufrag, const char *pwd, unsigned version,
                       rtc_sdp_local_t *l)
{
    *l = (rtc_sdp_local_t){.ice_ufrag = ufrag,
                           .ice_pwd = pwd,
                           .fingerprint = sfu_media_fingerprint(call->env.media),
                           .ip = call->env.announce_ip,
                           .port = call->env.rtc_port + call->worker,
                           .tcp_port =
                               call->env.rtc_tcp_port ? call->env.rtc_tcp_port + call->worker : 0,
                           .session_id = 4242,
                           .version = version};
}

static void report_error(sfu_participant_t *p, const char *code, const char *message)
{
    const sfu_call_listener_t *l = &p->call->env.listener;
    if (l->on_error)
        l->on_error(p->call->env.ctx, p, code, message);
}

/* Sends p a fresh subscribe offer, or marks one due when an answer is pending. */
static void renegotiate(sfu_participant_t *p)
{
    if (p->sub_pending) {
        p->sub_dirty = true;
        return;
    }
    if (p->sub_count == 0)
        return;
    static char sdp[SUB_SDP_MAX];
    rtc_sdp_local_t l;
    local_desc(p->call, p->sub_ufrag, p->sub_pwd, ++p->sub_version, &l);
    for (int i = 0; i < p->sub_count; i++) {
        if (!p->sub[i].active && !p->sub_ended_in[i])
            p->sub_ended_in[i] = p->sub_version;
    }
    if (rtc_sdp_write_subscribe_offer(p->sub, p->sub_count, &l, sdp, sizeof sdp) < 0) {
        report_error(p, "internal", "subscribe offer too large");
        return;
    }
    p->sub_pending = true;
    p->sub_dirty = false;
    const sfu_call_listener_t *lis = &p->call->env.listener;
    if (lis->on_subscribe_offer)
        lis->on_subscribe_offer(p->call->env.ctx, p, sdp, p->sub_version);
}

void sfu_participant_offer(sfu_participant_t *p, bool forget_pending)
{
    if (forget_pending)
        p->sub_pending = false;
    renegotiate(p);
}

/* True when ssrc is published in the call, or sent to anyone in it. */
static bool call_ssrc_taken(const sfu_call_t *call, uint32_t ssrc)
{
    for (int i = 0; i < call->count; i++) {
        const sfu_participant_t *o = call->parts[i];
        for (int t = 0; t < o->track_count; t++) {
            if (o->tracks[t].ssrc == ssrc)
                return true;
            for (int l = 0; l < o->tracks[t].layers; l++) {
                if (o->tracks[t].layer_ssrcs[l] == ssrc)
                    return true;
            }
        }
        for (int k = 0; k < o->sub_count; k++)
            if (o->sub[k].ssrc == ssrc)
                return true;
    }
    return false;
}

/* A consumer's outgoing SSRC: random (RFC 3550 8.1), never one in the call. */
static uint32_t consumer_ssrc_new(const sfu_call_t *call)
{
    uint32_t ssrc = 0;
    while (ssrc == 0 || ssrc == SFU_RTCP_SENDER_SSRC || call_ssrc_taken(call, ssrc))
        random_bytes((uint8_t *)&ssrc, sizeof ssrc);
    return ssrc;
}

static void consumer_attach(sfu_participant_t *p, const rtc_sdp_track_t *s)
{
    sfu_consumer_params_t cp = {.id = s->consumer_id,
                                .ssrc = s->ssrc,
                                .rtx_ssrc = s->rtx_ssrc,
                                .rtx_pt = s->rtx_pt,
                                .paused = s->paused,
                                .layer_limit = s->layer_limit};
    snprintf(cp.mid, sizeof cp.mid, "%s", s->mid);
    sfu_media_consumer_add(p->call->env.media, p->call->room_id, s->producer_id, p->sub_leg, &cp);
}

/* A section of that kind whose end the client has answered, or -1. */
static int sub_recyclable(const sfu_participant_t *p, rtc_media_kind_t kind)
{
    for (int i = 0; i < p->sub_count; i++) {
        if (!p->sub[i].active && p->sub[i].kind == kind && p->sub_ended_in[i] &&
            p->sub_ended_in[i] <= p->sub_answered)
            return i;
    }
    return -1;
}

/* Room for one more section; 0 or -1 (at SFU_CALL_MAX_SUBS or out of memory). */
static int sub_grow(sfu_participant_t *p)
{
    if (p->sub_count < p->sub_cap)
        return 0;
    int cap = p->sub_cap ? p->sub_cap * 2 : 8;
    if (cap > SFU_CALL_MAX_SUBS)
        return -1;
    rtc_sdp_track_t *grown = realloc(p->sub, (size_t)cap * sizeof *grown);
    if (!grown)
        return -1;
    p->sub = grown;
    unsigned *ended = realloc(p->sub_ended_in, (size_t)cap * sizeof *ended);
    if (!ended)
        return -1;
    p->sub_ended_in = ended;
    p->sub_cap = cap;
    return 0;
}

/* p starts receiving track t of publisher pub, in a section whose track ended
 * if there is one, else in a new one. */
static void sub_add(sfu_participant_t *p, const sfu_participant_t *pub, const sfu_call_track_t *t)
{
    if (p->publish_only)
        return;
    int i = sub_recyclable(p, t->kind);
    char mid[sizeof p->sub[0].mid];
    if (i >= 0) {
        snprintf(mid, sizeof mid, "%s", p->sub[i].mid);
    } else {
        if (sub_grow(p)) {
            report_error(p, "too_many_tracks",
                         "this session cannot receive more tracks; join the call again");
            return;
        }
        i = p->sub_count++;
        snprintf(mid, sizeof mid, "%d", p->sub_mid_seq++);
    }
    rtc_sdp_track_t *s = &p->sub[i];
    memset(s, 0, sizeof *s);
    p->sub_ended_in[i] = 0;
    s->kind = t->kind;
    snprintf(s->mid, sizeof s->mid, "%s", mid);
    s->active = true;
    s->codec = t->codec;
    s->producer_id = t->producer_id;
    s->consumer_id = ++*p->call->env.next_id;
    s->ssrc = consumer_ssrc_new(p->call);
    if (t->kind == RTC_MEDIA_VIDEO && t->rtx_pt) {
        s->rtx_ssrc = consumer_ssrc_new(p->call);
        s->rtx_pt = t->rtx_pt;
    }
    snprintf(s->cname, sizeof s->cname, "%s", t->cname[0] ? t->cname : "sfu");
    snprintf(s->stream_id, sizeof s->stream_id, "u%lld-%s", (long long)pub->user_id,
             strcmp(t->source, "screen") ? "camera" : "screen");
    snprintf(s->track_id, sizeof s->track_id, "t%llu", (unsigned long long)t->producer_id);
    if (p->sub_open)
        consumer_attach(p, s);
}

static void sub_remove(sfu_participant_t *p, uint64_t producer_id)
{
    for (int i = 0; i < p->sub_count; i++) {
        if (p->sub[i].active && p->sub[i].producer_id == producer_id) {
            p->sub[i].active = false;
            if (p->sub_open)
                sfu_media_consumer_remove(p->call->env.media, p->call->room_id,
                                          p->sub[i].consumer_id);
        }
    }
}

int sfu_call_add(sfu_call_t *call, int64_t user_id, const char *username, void *owner,
                 sfu_participant_t **out)
{
    if (call->count == SFU_CALL_MAX_PARTICIPANTS)
        return -ENOSPC;
    if (call->count == call->cap) {
        int cap = call->cap ? call->cap * 2 : 8;
        sfu_participant_t **grown = realloc(call->parts, (size_t)cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        call->parts = grown;
        call->cap = cap;
    }
    sfu_participant_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->call = call;
    p->owner = owner;
    p->user_id = user_id;
    snprintf(p->username, sizeof p->username, "%s", username);
    p->joined_ms = now_unix_ms();
    p->pub_leg = ++*call->env.next_id;
    p->sub_leg = ++*call->env.next_id;
    random_hex(p->pub_ufrag, 4);
    random_hex(p->pub_pwd, 16);
    random_hex(p->sub_ufrag, 4);
    random_hex(p->sub_pwd, 16);
    call->parts[call->count++] = p;
    /* Everything already published comes to the newcomer. */
    for (int i = 0; i < call->count; i++) {
        if (call->parts[i] == p)
            continue;
        for (int t = 0; t < call->parts[i]->track_count; t++)
            sub_add(p, call->parts[i], &call->parts[i]->tracks[t]);
    }
    *out = p;
    return 0;
}

void sfu_participant_set_publish_only(sfu_participant_t *p)
{
    p->publish_only = true;
    free(p->sub);
    p->sub = NULL;
    p->sub_count = p->sub_cap = 0;
}

void sfu_call_remove(sfu_participant_t *p)
{
    sfu_call_t *call = p->call;
    for (int i = 0; i < call->count; i++) {
        if (call->parts[i] == p)
            call->parts[i] = call->parts[--call->count];
    }
    for (int t = 0; t < p->track_count; t++) {
        for (int i = 0; i < call->count; i++)
            sub_remove(call->parts[i], p->tracks[t].producer_id);
    }
    /* Closing a leg closes what it published and what it consumed. */
    if (p->pub_open)
        sfu_media_leg_close(call->env.media, call->room_id, p->pub_leg);
    if (p->sub_open)
        sfu_media_leg_close(call->env.media, call->room_id, p->sub_leg);
    for (int i = 0; i < call->count && !call->ending; i++)
        if (p->track_count)
            renegotiate(call->parts[i]);
    free(p->sub);
    free(p->sub_ended_in);
    free(p);
}

static void fail(sfu_call_error_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(sfu_call_error_t *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* The sections of offer that send a codec we take. */
static int offered_tracks(const sfu_participant_t *p, const rtc_sdp_t *offer,
                          const char *(*source_of)(void *, const char *), void *source_ctx,
                          sfu_call_track_t *now)
{
    int n = 0;
    for (int i = 0; i < offer->media_count && n < SFU_CALL_MAX_TRACKS; i++) {
        const rtc_sdp_media_t *m = &offer->media[i];
        const rtc_sdp_codec_t *codec = rtc_sdp_pick_codec(m);
        bool sends = !strcmp(m->direction, "sendrecv") || !strcmp(m->direction, "sendonly");
        bool by_rid = m->kind == RTC_MEDIA_VIDEO && m->rid_count > 1 && m->ext.id[RTP_EXT_RID];
        if (!codec || !sends || (!m->ssrc && !by_rid) || m->port == 0)
            continue;
        sfu_call_track_t *t = &now[n++];
        memset(t, 0, sizeof *t);
        snprintf(t->mid, sizeof t->mid, "%s", m->mid);
        const char *source = source_of ? source_of(source_ctx, m->mid) : NULL;
        if (!source ||
            (strcmp(source, "screen") && strcmp(source, "mic") && strcmp(source, "camera")))
            source = m->kind == RTC_MEDIA_AUDIO ? "mic" : "camera";
        snprintf(t->source, sizeof t->source, "%s", source);
        t->kind = m->kind;
        t->codec = *codec;
        t->ssrc = by_rid ? 0 : m->ssrc;
        t->ext = m->ext;
        if (by_rid) {
            t->layers = m->rid_count;
            memcpy(t->rids, m->rids, sizeof t->rids);
        } else if (m->kind == RTC_MEDIA_VIDEO && m->sim_count > 1) {
            t->layers = m->sim_count;
            memcpy(t->layer_ssrcs, m->sim_ssrcs, sizeof t->layer_ssrcs);
        }
        if (m->kind == RTC_MEDIA_VIDEO) {
            /* The publisher's own RTX type for that codec, else one beside it. */
            t->rtx_pt = rtc_sdp_rtx_pt(m, codec->pt);
            if (!t->rtx_pt)
                t->rtx_pt = codec->pt == 97 ? 98 : 97;
            t->pub_rtx_pt = rtc_sdp_publish_rtx_pt(m, codec->pt);
            t->pub_rtx_ssrc = t->pub_rtx_pt && !by_rid ? m->rtx_ssrc : 0;
        }
        snprintf(t->cname, sizeof t->cname, "%s", m->cname);
        /* A track published before keeps its producer: the same SSRC, or
         * the same section with the same RIDs. */
        for (int k = 0; k < p->track_count; k++) {
            const sfu_call_track_t *o = &p->tracks[k];
            bool same = t->ssrc ? o->ssrc == t->ssrc
                                : !o->ssrc && !strcmp(o->mid, t->mid) && o->layers == t->layers &&
                                      !memcmp(o->rids, t->rids, sizeof t->rids);
            if (same) {
                t->producer_id = o->producer_id;
                t->height = o->height;
            }
        }
    }
    return n;
}

/* An SSRC is the call's: one published (or sent) by anyone else is refused. */
static int check_ssrcs(const sfu_participant_t *p, const sfu_call_track_t *now, int n,
                       sfu_call_error_t *err)
{
    for (int j = 0; j < n; j++) {
        for (int l = 0; l < now[j].layers && !now[j].producer_id; l++) {
            uint32_t ssrc = now[j].layer_ssrcs[l];
            if (ssrc && (call_ssrc_taken(p->call, ssrc) || ssrc == SFU_RTCP_SENDER_SSRC)) {
                fail(err, "ssrc_in_use", "SSRC %u is already in use in this call", ssrc);
                return -1;
            }
        }
        if (!now[j].ssrc)
            continue; /* simulcast by RID: SSRCs come with the packets */
        for (int k = 0; k < j; k++) {
            if (now[k].ssrc == now[j].ssrc) {
                fail(err, "invalid_sdp", "SSRC %u is in two media sections", now[j].ssrc);
                return -1;
            }
        }
        if (!now[j].producer_id &&
            (call_ssrc_taken(p->call, now[j].ssrc) || now[j].ssrc == SFU_RTCP_SENDER_SSRC)) {
            fail(err, "ssrc_in_use", "SSRC %u is already in use in this call", now[j].ssrc);
            return -1;
        }
    }
    return 0;
}

int sfu_participant_publish(sfu_participant_t *p, const rtc_sdp_t *offer,
                            const char *(*source_of)(void *ctx, const char *mid), void *source_ctx,
                            char *answer, size_t answer_cap, sfu_call_error_t *err)
{
    sfu_call_t *call = p->call;
    char why[160];
    /* New remote credentials on an open session are an ICE restart (RFC 8445
     * 9): the answer carries new ones of ours too; tracks are unchanged. */
    bool restart = p->pub_open && strcmp(p->pub_remote_ufrag, offer->ice_ufrag);
    char ufrag[sizeof p->pub_ufrag], pwd[sizeof p->pub_pwd];
    if (restart) {
        random_hex(ufrag, 4);
        random_hex(pwd, 16);
    } else {
        memcpy(ufrag, p->pub_ufrag, sizeof ufrag);
        memcpy(pwd, p->pub_pwd, sizeof pwd);
    }
    rtc_sdp_local_t l;
    local_desc(call, ufrag, pwd, 1, &l);
    int n = rtc_sdp_write_publish_answer(offer, &l, answer, answer_cap, why, sizeof why);
    if (n < 0) {
        fail(err, "invalid_sdp", "%s", n == -ENOSPC ? "answer too large" : why);
        return -1;
    }
    sfu_call_track_t now[SFU_CALL_MAX_TRACKS];
    int now_count = offered_tracks(p, offer, source_of, source_ctx, now);
    if (check_ssrcs(p, now, now_count, err))
        return -1;
    snprintf(p->pub_remote_ufrag, sizeof p->pub_remote_ufrag, "%s", offer->ice_ufrag);
    if (restart) {
        memcpy(p->pub_ufrag, ufrag, sizeof ufrag);
        memcpy(p->pub_pwd, pwd, sizeof pwd);
        sfu_media_leg_restart_ice(call->env.media, call->room_id, p->pub_leg, ufrag, pwd);
    }
    if (!p->pub_open) {
        sfu_media_leg_open(call->env.media, call->room_id, p->pub_leg, p->pub_ufrag, p->pub_pwd,
                           offer->fingerprint);
        p->pub_open = true;
    }
    /* Withdrawn: tracks before that the offer no longer sends. */
    for (int i = 0; i < p->track_count; i++) {
        bool kept = false;
        for (int j = 0; j < now_count; j++)
            kept |= now[j].producer_id == p->tracks[i].producer_id;
        if (kept)
            continue;
        sfu_media_producer_remove(call->env.media, call->room_id, p->pub_leg,
                                  p->tracks[i].producer_id);
        for (int k = 0; k < call->count; k++)
            sub_remove(call->parts[k], p->tracks[i].producer_id);
    }
    int added[SFU_CALL_MAX_TRACKS], added_count = 0;
    for (int j = 0; j < now_count; j++) {
        if (now[j].producer_id)
            continue;
        now[j].producer_id = ++*call->env.next_id;
        sfu_producer_params_t pp = {.id = now[j].producer_id,
                                    .ssrc = now[j].ssrc,
                                    .video = now[j].kind == RTC_MEDIA_VIDEO,
                                    .pt = now[j].codec.pt,
                                    .clock_hz = now[j].codec.clock_hz,
                                    .ext = now[j].ext,
                                    .codec = (uint8_t)rtp_codec_kind_of(now[j].codec.name),
                                    .layers = now[j].layers,
                                    .rtx_pt = now[j].pub_rtx_pt,
                                    .rtx_ssrc = now[j].pub_rtx_ssrc};
        memcpy(pp.layer_ssrcs, now[j].layer_ssrcs, sizeof pp.layer_ssrcs);
        memcpy(pp.rids, now[j].rids, sizeof pp.rids);
        memcpy(pp.mid, now[j].mid, sizeof pp.mid);
        sfu_media_producer_add(call->env.media, call->room_id, p->pub_leg, &pp);
        added[added_count++] = j;
    }
    memcpy(p->tracks, now, sizeof now[0] * (size_t)now_count);
    p->track_count = now_count;
    for (int k = 0; k < call->count; k++) {
        sfu_participant_t *o = call->parts[k];
        if (o == p)
            continue;
        for (int a = 0; a < added_count; a++)
            sub_add(o, p, &p->tracks[added[a]]);
        renegotiate(o);
    }
    return 0;
}

void sfu_participant_set_track_height(sfu_participant_t *p, const char *mid, int height)
{
    for (int i = 0; i < p->track_count; i++) {
        if (!strcmp(p->tracks[i].mid, mid) && height > 0 && height <= 8192)
            p->tracks[i].height = height;
    }
}

int sfu_participant_set_layers(sfu_participant_t *p, uint64_t producer_id, int paused,
                               int max_layer, int height, sfu_call_error_t *err)
{
    rtc_sdp_track_t *s = NULL;
    for (int i = 0; i < p->sub_count && !s; i++) {
        if (p->sub[i].active && p->sub[i].producer_id == producer_id)
            s = &p->sub[i];
    }
    sfu_participant_t *pub = s ? sfu_call_find_producer(p->call, producer_id) : NULL;
    if (!pub) {
        fail(err, "not_found", "this session receives no track %llu",
             (unsigned long long)producer_id);
        return -1;
    }
    const sfu_call_track_t *t = NULL;
    for (int i = 0; i < pub->track_count; i++) {
        if (pub->tracks[i].producer_id == producer_id)
            t = &pub->tracks[i];
    }
    int limit = 0; /* all */
    if (t && t->layers > 1 && height > 0) {
        /* Layer i is top >> (layers - 1 - i) tall: the smallest that covers
         * the tile (with a tenth of slack), else the top. */
        int top = t->height ? t->height : 720;
        limit = t->layers;
        for (int i = 0; i < t->layers; i++) {
            if ((top >> (t->layers - 1 - i)) * 10 >= height * 9) {
                limit = i + 1;
                break;
            }
        }
    } else if (t && t->layers > 1 && max_layer >= 0) {
        limit = max_layer + 1 < t->layers ? max_layer + 1 : 0;
    }
    sfu_media_t *m = p->call->env.media;
    if (limit != s->layer_limit) {
        s->layer_limit = limit;
        if (p->sub_open)
            sfu_media_consumer_set_layers(m, p->call->room_id, s->consumer_id, limit);
    }
    if (paused >= 0 && (bool)paused != s->paused) {
        s->paused = paused;
        if (p->sub_open)
            sfu_media_consumer_pause(m, p->call->room_id, s->consumer_id, s->paused);
    }
    return 0;
}

int sfu_participant_answer_expected(const sfu_participant_t *p, long long version,
                                    sfu_call_error_t *err)
{
    if (!p->sub_pending) {
        fail(err, "no_offer", "there is no subscribe offer waiting for an answer");
        return -1;
    }
    if (version != -1 && version != (long long)p->sub_version) {
        fail(err, "stale_answer", "this answers offer version %lld; the pending one is %u",
             version < 0 ? -1LL : version, p->sub_version);
        return -1;
    }
    return 0;
}

int sfu_participant_subscribe_answer(sfu_participant_t *p, const rtc_sdp_t *answer,
                                     long long version, sfu_call_error_t *err)
{
    sfu_call_t *call = p->call;
    if (sfu_participant_answer_expected(p, version, err))
        return -1;
    p->sub_pending = false;
    p->sub_answered = p->sub_version;
    if (!p->sub_open) {
        sfu_media_leg_open(call->env.media, call->room_id, p->sub_leg, p->sub_ufrag, p->sub_pwd,
                           answer->fingerprint);
        p->sub_open = true;
        /* Consumers of tracks offered before the leg existed are attached now. */
        for (int i = 0; i < p->sub_count; i++) {
            if (p->sub[i].active)
                consumer_attach(p, &p->sub[i]);
        }
    }
    rtp_ext_ids_t ext;
    rtc_sdp_answer_ext_ids(answer, &ext);
    sfu_media_leg_set_caps(call->env.media, call->room_id, p->sub_leg, &ext,
                           rtc_sdp_answer_has_rtx(answer));
    if (p->sub_dirty)
        renegotiate(p);
    return 0;
}

void sfu_participant_restart_ice(sfu_participant_t *p)
{
    random_hex(p->sub_ufrag, 4);
    random_hex(p->sub_pwd, 16);
    if (p->sub_open)
        sfu_media_leg_restart_ice(p->call->env.media, p->call->room_id, p->sub_leg, p->sub_ufrag,
                                  p->sub_pwd);
    sfu_participant_offer(p, true);
}

sfu_call_t *sfu_participant_call(const sfu_participant_t *p)
{
    return p->call;
}

int64_t sfu_participant_user_id(const sfu_participant_t *p)
{
    return p->user_id;
}

const char *sfu_participant_username(const sfu_participant_t *p)
{
    return p->username;
}

int64_t sfu_participant_joined_ms(const sfu_participant_t *p)
{
    return p->joined_ms;
}

void *sfu_participant_owner(const sfu_participant_t *p)
{
    return p->owner;
}

void sfu_participant_set_owner(sfu_participant_t *p, void *owner)
{
    p->owner = owner;
}

const sfu_call_track_t *sfu_participant_tracks(const sfu_participant_t *p, int *count)
{
    *count = p->track_count;
    return p->tracks;
}

uint64_t sfu_participant_publish_leg(const sfu_participant_t *p)
{
    return p->pub_leg;
}

int sfu_participant_leg_kind(const sfu_participant_t *p, uint64_t leg_id)
{
    return leg_id == p->pub_leg ? 1 : leg_id == p->sub_leg ? 2 : 0;
}
