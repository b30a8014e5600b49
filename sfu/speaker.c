/* sfu/speaker.c: loudness per interval, and a speaker that does not flap. */
#include "sfu/speaker.h"

#include <string.h>

void sfu_speaker_init(sfu_speaker_t *s)
{
    memset(s, 0, sizeof *s);
}

static sfu_speaker_entry_t *entry_of(sfu_speaker_t *s, uint64_t producer_id)
{
    for (int i = 0; i < s->count; i++) {
        if (s->entries[i].producer_id == producer_id)
            return &s->entries[i];
    }
    return NULL;
}

void sfu_speaker_add(sfu_speaker_t *s, uint64_t producer_id)
{
    if (s->count == SFU_SPEAKER_MAX || entry_of(s, producer_id))
        return;
    s->entries[s->count++] = (sfu_speaker_entry_t){.producer_id = producer_id};
}

void sfu_speaker_remove(sfu_speaker_t *s, uint64_t producer_id)
{
    sfu_speaker_entry_t *e = entry_of(s, producer_id);
    if (!e)
        return;
    *e = s->entries[--s->count];
    if (s->candidate == producer_id) {
        s->candidate = 0;
        s->candidate_runs = 0;
    }
}

void sfu_speaker_level(sfu_speaker_t *s, uint64_t producer_id, uint8_t level_dbov)
{
    sfu_speaker_entry_t *e = entry_of(s, producer_id);
    if (!e)
        return;
    e->sum += 127u - (level_dbov > 127 ? 127 : level_dbov);
    e->count++;
}

bool sfu_speaker_evaluate(sfu_speaker_t *s, uint64_t now_ms, bool *changed)
{
    *changed = false;
    if (s->last_eval_ms && now_ms - s->last_eval_ms < SFU_SPEAKER_INTERVAL_MS)
        return false;
    s->last_eval_ms = now_ms ? now_ms : 1;
    sfu_speaker_entry_t *loudest = NULL, *current = NULL;
    for (int i = 0; i < s->count; i++) {
        sfu_speaker_entry_t *e = &s->entries[i];
        /* No packets this interval (muted, gone quiet with DTX): silent. */
        e->loudness = e->count ? (uint8_t)(e->sum / e->count) : 0;
        e->sum = e->count = 0;
        if (e->loudness >= SFU_SPEAKER_MIN_LOUDNESS &&
            (!loudest || e->loudness > loudest->loudness))
            loudest = e;
        if (e->producer_id == s->active)
            current = e;
    }
    if (!loudest || loudest->producer_id == s->active) {
        s->candidate = 0;
        s->candidate_runs = 0;
        return true;
    }
    if (loudest->producer_id == s->candidate)
        s->candidate_runs++;
    else {
        s->candidate = loudest->producer_id;
        s->candidate_runs = 1;
    }
    bool clearly_louder = !current || current->loudness < SFU_SPEAKER_MIN_LOUDNESS ||
                          loudest->loudness >= current->loudness + SFU_SPEAKER_MARGIN;
    if (s->candidate_runs >= SFU_SPEAKER_HOLD_INTERVALS && clearly_louder) {
        s->active = loudest->producer_id;
        s->candidate = 0;
        s->candidate_runs = 0;
        *changed = true;
    }
    return true;
}
