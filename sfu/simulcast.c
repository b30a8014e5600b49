/* sfu/simulcast.c: the layer choice. */
#include "sfu/simulcast.h"

sfu_layer_choice_t sfu_simulcast_choose(const sfu_layer_state_t *layers, int n, int max_spatial,
                                        int max_temporal, uint64_t budget_bps, int cur_spatial,
                                        int cur_temporal)
{
    sfu_layer_choice_t best = {.spatial = -1, .temporal = 1};
    int lowest = -1;
    for (int s = 0; s < n && s < SFU_SIMULCAST_MAX_SPATIAL; s++) {
        const sfu_layer_state_t *l = &layers[s];
        if (!l->active)
            continue;
        if (lowest < 0)
            lowest = s;
        if (s > max_spatial)
            continue;
        int tls = l->temporal < 1                            ? 1
                  : l->temporal > SFU_SIMULCAST_MAX_TEMPORAL ? SFU_SIMULCAST_MAX_TEMPORAL
                                                             : l->temporal;
        /* Above the lowest layer, at most the top temporal layer goes:
         * past half the frame rate a smaller picture moves better. */
        int first_t = s > lowest && tls > SFU_SIMULCAST_MAX_TEMPORAL_DROP
                          ? tls - 1 - SFU_SIMULCAST_MAX_TEMPORAL_DROP
                          : 0;
        for (int t = first_t; t < tls && t <= max_temporal; t++) {
            bool up = s > cur_spatial || (s == cur_spatial && t + 1 > cur_temporal);
            bool same = s == cur_spatial && t + 1 == cur_temporal;
            uint64_t room = up     ? budget_bps * SFU_SIMULCAST_UP_MARGIN / 100
                            : same ? budget_bps * SFU_SIMULCAST_STAY_MARGIN / 100
                                   : budget_bps;
            if (budget_bps && l->bps[t] > room) {
                best.limited = true;
                continue;
            }
            best.spatial = s;
            best.temporal = t + 1;
        }
    }
    if (best.spatial < 0 && lowest >= 0) {
        best.spatial = lowest;
        best.temporal = 1;
    }
    return best;
}
