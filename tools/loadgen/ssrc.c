/* tools/loadgen/ssrc.c: the SSRCs the node announced to one subscribe leg, and
 * what arrived under SSRCs it did not announce; the sorted list of every
 * publisher SSRC of the run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/loadgen/lg.h"

/* Index of ssrc in s->v, or -(insertion point) - 1. */
static int set_find(const lg_ssrc_set_t *s, uint32_t ssrc)
{
    int lo = 0, hi = s->len;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->v[mid].ssrc == ssrc)
            return mid;
        if (s->v[mid].ssrc < ssrc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

/* A new entry at position at; NULL when out of memory. */
static lg_ssrc_entry_t *set_insert(lg_ssrc_set_t *s, int at, uint32_t ssrc)
{
    if (s->len == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        lg_ssrc_entry_t *grown = realloc(s->v, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->v = grown;
        s->cap = cap;
    }
    memmove(&s->v[at + 1], &s->v[at], (size_t)(s->len - at) * sizeof *s->v);
    s->len++;
    memset(&s->v[at], 0, sizeof s->v[at]);
    s->v[at].ssrc = ssrc;
    return &s->v[at];
}

int lg_ssrc_set_announce(lg_ssrc_set_t *s, uint32_t ssrc, uint64_t now_ns)
{
    int i = set_find(s, ssrc);
    lg_ssrc_entry_t *e = i >= 0 ? &s->v[i] : set_insert(s, -i - 1, ssrc);
    if (!e)
        return -ENOMEM;
    if (i < 0) {
        e->announced = true;
        return 0;
    }
    if (e->announced)
        return 0;
    /* Media that overtook the offer on its way (UDP against the WebSocket, or a
     * consumer added while an earlier offer awaited its answer) is not a leak. */
    if (now_ns - e->first_early_ns <= LG_SSRC_GRACE_NS) {
        s->forgiven_pkts += e->early_pkts;
        e->had_sr = e->early_srs > 0;
        e->early_pkts = e->early_srs = 0;
    }
    e->announced = true;
    s->unknown--;
    return 0;
}

bool lg_ssrc_set_seen(lg_ssrc_set_t *s, uint32_t ssrc, bool sr, uint64_t now_ns)
{
    int i = s->last < s->len && s->v[s->last].ssrc == ssrc ? s->last : set_find(s, ssrc);
    if (i < 0) {
        /* Bounded: a node spraying random SSRCs must not grow this without end. */
        if (s->unknown >= LG_SSRC_UNKNOWN_MAX || !set_insert(s, -i - 1, ssrc)) {
            *(sr ? &s->overflow_srs : &s->overflow_pkts) += 1;
            return false;
        }
        i = -i - 1;
        s->unknown++;
        s->v[i].first_early_ns = now_ns;
    }
    s->last = i;
    lg_ssrc_entry_t *e = &s->v[i];
    if (e->announced) {
        e->had_sr |= sr;
        return true;
    }
    *(sr ? &e->early_srs : &e->early_pkts) += 1;
    return false;
}

void lg_ssrc_set_rtp(lg_ssrc_set_t *s, uint32_t ssrc, uint16_t seq, uint32_t ts)
{
    if (s->last >= s->len || s->v[s->last].ssrc != ssrc)
        return; /* not tracked (past LG_SSRC_UNKNOWN_MAX) */
    lg_ssrc_entry_t *e = &s->v[s->last];
    uint16_t step = (uint16_t)(seq - e->last_seq);
    if (!e->rtp_started) {
        e->rtp_started = true;
    } else if (step > LG_SEQ_JUMP && step < 65536 - LG_SEQ_JUMP) {
        s->seq_jumps++;
    } else if (step == 0 || step >= 32768) {
        return; /* a duplicate or a late one */
    } else {
        int32_t dt = (int32_t)(ts - e->last_ts);
        if (dt > LG_TS_JUMP || dt < -LG_TS_JUMP)
            s->ts_jumps++;
    }
    e->last_seq = seq;
    e->last_ts = ts;
}

void lg_ssrc_set_add_stats(const lg_ssrc_set_t *s, lg_ssrc_stats_t *st)
{
    st->seq_jumps += s->seq_jumps;
    st->ts_jumps += s->ts_jumps;
    st->unannounced_pkts += s->overflow_pkts;
    st->unannounced_srs += s->overflow_srs;
    st->early_pkts += s->forgiven_pkts;
    for (int i = 0; i < s->len; i++) {
        const lg_ssrc_entry_t *e = &s->v[i];
        st->unannounced_pkts += e->early_pkts;
        st->unannounced_srs += e->early_srs;
        st->announced += e->announced;
        st->with_sr += e->announced && e->had_sr;
    }
}

void lg_ssrc_set_free(lg_ssrc_set_t *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void lg_ssrc_sort(uint32_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u32);
}

bool lg_ssrc_sorted_has(const uint32_t *v, size_t n, uint32_t ssrc)
{
    return bsearch(&ssrc, v, n, sizeof *v, cmp_u32) != NULL;
}
