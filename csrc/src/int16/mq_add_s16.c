/*
 * mq_add_s16: TFLite ADD int16 -> int16, general scales (pot_scale_int16 = false; reference AddElementwise with
 * left_shift 15), zero points 0, n elements, same shape:
 *   a = requant(x1 * 2^left_shift, m1, s1);  b = requant(x2 * 2^left_shift, m2, s2)
 *   out = clamp(requant(a + b, mo, so), act_min, act_max)          (requant = mq_requantize, double rounding)
 * Prepared by mq_add_s16_prepare (mq_host_s16.h). |x| * 2^15 <= 2^30, so nothing overflows int32.
 */
#include "mq_s16_internal.h"

mq_status mq_add_s16(const mq_add_s16_params *p, const int16_t *in1, const int16_t *in2, int16_t *output, size_t n)
{
    size_t i;
    if (p == NULL || in1 == NULL || in2 == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->left_shift < 0 || p->left_shift > 15 || !mq_multiplier_ok(p->in1_multiplier) ||
        !mq_multiplier_ok(p->in2_multiplier) || !mq_multiplier_ok(p->out_multiplier) || p->in1_shift > 0 ||
        p->in2_shift > 0 || p->out_shift > 0 || p->in1_shift < MQ_SHIFT_MIN || p->in2_shift < MQ_SHIFT_MIN ||
        p->out_shift < MQ_SHIFT_MIN || !mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    if ((output != in1 && mq_ranges_overlap(in1, n * 2u, output, n * 2u)) ||
        (output != in2 && mq_ranges_overlap(in2, n * 2u, output, n * 2u))) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < n; ++i) {
        const int32_t a = mq_requantize((int32_t)in1[i] * (1 << p->left_shift), p->in1_multiplier, p->in1_shift);
        const int32_t b = mq_requantize((int32_t)in2[i] * (1 << p->left_shift), p->in2_multiplier, p->in2_shift);
        const int32_t r = mq_requantize(a + b, p->out_multiplier, p->out_shift);
        output[i] = (int16_t)mq_clamp_i32(r, p->act_min, p->act_max);
    }
    return MQ_OK;
}
