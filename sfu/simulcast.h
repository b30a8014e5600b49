/* sfu/simulcast.h: which simulcast layer a consumer receives. Pure: the
 * layers' state in, the choice out, so the policy is tested on its own. */
#ifndef SFU_SIMULCAST_H
#define SFU_SIMULCAST_H

#include <stdbool.h>
#include <stdint.h>

#define SFU_SIMULCAST_MAX_SPATIAL  3
#define SFU_SIMULCAST_MAX_TEMPORAL 4
/* Moving up needs the layer to fit this share of the budget (percent). */
#define SFU_SIMULCAST_UP_MARGIN 85
/* Above the lowest spatial layer, this many VP8 temporal layers may be left
 * out before a lower spatial layer is taken instead. */
#define SFU_SIMULCAST_MAX_TEMPORAL_DROP 1
/* The layer being sent stays until it exceeds the budget by this much
 * (percent): a keyframe's burst in the bitrate window does not move it. */
#define SFU_SIMULCAST_STAY_MARGIN 120

typedef struct sfu_layer_state {
    bool active;                              /* bound and sending lately */
    int temporal;                             /* temporal layers it carries (1: none told apart) */
    uint64_t bps[SFU_SIMULCAST_MAX_TEMPORAL]; /* bps[t]: temporal layers 0..t */
} sfu_layer_state_t;

typedef struct sfu_layer_choice {
    int spatial;  /* -1: nothing is active */
    int temporal; /* temporal layers let through (TID < this) */
    bool limited; /* the budget, not the subscriber, kept it lower */
} sfu_layer_choice_t;

/* The highest (spatial, temporal) pair the subscriber wants (max_spatial and
 * max_temporal: the highest indexes it takes) whose bitrate fits budget_bps
 * (0: unknown, anything fits): the top temporal layer goes before a spatial
 * layer does (SFU_SIMULCAST_MAX_TEMPORAL_DROP); on the lowest spatial layer
 * any may go. A pair above the current one (cur_spatial, cur_temporal: -1 and 0
 * for none) must fit with SFU_SIMULCAST_UP_MARGIN, the current one within
 * SFU_SIMULCAST_STAY_MARGIN. When none fits, the
 * lowest active layer at its base temporal layer. */
sfu_layer_choice_t sfu_simulcast_choose(const sfu_layer_state_t *layers, int n, int max_spatial,
                                        int max_temporal, uint64_t budget_bps, int cur_spatial,
                                        int cur_temporal);

#endif
