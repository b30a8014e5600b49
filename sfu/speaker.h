/* sfu/speaker.h: active speaker detection for one room, from the audio
 * levels publishers put in their packets (RFC 6464). Pure state, fed on the
 * worker's packet path; evaluated every SFU_SPEAKER_INTERVAL_MS.
 *
 * Per interval, each audio producer's loudness is the mean of (127 - level)
 * over its packets (0 silent, 127 full scale). The loudest producer above
 * SFU_SPEAKER_MIN_LOUDNESS is the interval's candidate. The active speaker
 * changes to a candidate only after it was the candidate for
 * SFU_SPEAKER_HOLD_INTERVALS intervals in a row and is louder than the
 * current speaker by SFU_SPEAKER_MARGIN (or the current one is silent):
 * a cough or a crossing word does not move the highlight. Nobody speaking
 * keeps the last speaker. */
#ifndef SFU_SPEAKER_H
#define SFU_SPEAKER_H

#include <stdbool.h>
#include <stdint.h>

#define SFU_SPEAKER_INTERVAL_MS    250 /* also the pace of level reports: 4 a second */
#define SFU_SPEAKER_MIN_LOUDNESS   50  /* about -77 dBov: below is silence */
#define SFU_SPEAKER_MARGIN         6   /* dB */
#define SFU_SPEAKER_HOLD_INTERVALS 2
#define SFU_SPEAKER_MAX            32 /* audio producers tracked per room */

typedef struct sfu_speaker_entry {
    uint64_t producer_id;
    uint32_t sum, count; /* this interval */
    uint8_t loudness;    /* the last interval's mean, 0-127 */
} sfu_speaker_entry_t;

typedef struct sfu_speaker {
    sfu_speaker_entry_t entries[SFU_SPEAKER_MAX];
    int count;
    uint64_t active;    /* producer id; 0: nobody yet */
    uint64_t candidate; /* loudest lately */
    int candidate_runs;
    uint64_t last_eval_ms;
} sfu_speaker_t;

void sfu_speaker_init(sfu_speaker_t *s);
/* The producer's packets count from now (no-op when full or known). */
void sfu_speaker_add(sfu_speaker_t *s, uint64_t producer_id);
void sfu_speaker_remove(sfu_speaker_t *s, uint64_t producer_id);
/* One packet's level: 0 (loudest) to 127 (silence), in -dBov. */
void sfu_speaker_level(sfu_speaker_t *s, uint64_t producer_id, uint8_t level_dbov);
/* Closes the interval when it is due: true with the loudness of every
 * producer filled in, and *changed set when the active speaker changed. */
bool sfu_speaker_evaluate(sfu_speaker_t *s, uint64_t now_ms, bool *changed);

#endif
