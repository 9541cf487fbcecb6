/*
 * mq_fc_s16_check: validates a 16x8 fully connected layer's parameters (mq_kernels_s16.h): non-NULL weights,
 * multipliers and shifts (bias may be NULL), 1 <= n, k <= 2^24, per_channel 0/1, every multiplier 0 or in
 * [2^30, 2^31), every shift in [-31, 7], -32768 <= act_min <= act_max <= 32767, and when exact_scale is given
 * each entry's mantissa 0 or in [2^52, 2^53) with exp in [-1074, 960].
 */
#include "mq_s16_internal.h"

mq_status mq_fc_s16_check(const mq_fc_s16_params *p)
{
    if (p == NULL || p->weights == NULL || p->multiplier == NULL || p->shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->n < 1 || p->k < 1 || p->n > (1 << 24) || p->k > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    if (p->per_channel != 0 && p->per_channel != 1) {
        return MQ_ERR_QPARAMS;
    }
    if (!mq_s16_mults_ok(p->multiplier, p->shift, p->per_channel ? p->n : 1) ||
        !mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->exact_scale != NULL) {
        const int32_t count = p->per_channel ? p->n : 1;
        int32_t i;
        for (i = 0; i < count; ++i) {
            const mq_exact_scale *e = &p->exact_scale[i];
            if (e->mant != 0u && (e->mant < ((uint64_t)1 << 52) || e->mant >= ((uint64_t)1 << 53) ||
                                  e->exp < -1074 || e->exp > 960)) {
                return MQ_ERR_QPARAMS;
            }
        }
    }
    return MQ_OK;
}
