/*
 * mq_mul_s16: TFLite MUL int16 -> int16 (reference_integer_ops MulElementwise, zero points 0):
 *   out = clamp(requant(x1 * x2, M, s), act_min, act_max)      (|x1 x2| <= 2^30; requant = mq_requantize)
 * in2 broadcast: MQ_BCAST_NONE (n elements), MQ_BCAST_CHANNEL (channels elements repeated over n / channels
 * rows, n a multiple of channels), MQ_BCAST_SCALAR (one element).
 */
#include "mq_s16_internal.h"

mq_status mq_mul_s16(const mq_mul_s16_params *p, const int16_t *in1, const int16_t *in2, int16_t *output, size_t n)
{
    size_t i, n2;
    size_t c = 0;
    if (p == NULL || in1 == NULL || in2 == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_multiplier_ok(p->out_multiplier) || !mq_shift_ok(p->out_shift) || !mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    switch (p->broadcast) {
    case MQ_BCAST_NONE:
        n2 = n;
        break;
    case MQ_BCAST_CHANNEL:
        if (p->channels < 1 || n % (size_t)p->channels != 0) {
            return MQ_ERR_SHAPE;
        }
        n2 = (size_t)p->channels;
        break;
    case MQ_BCAST_SCALAR:
        n2 = 1;
        break;
    default:
        return MQ_ERR_SHAPE;
    }
    if ((output != in1 && mq_ranges_overlap(in1, n * 2u, output, n * 2u)) ||
        ((output != in2 || p->broadcast != MQ_BCAST_NONE) && mq_ranges_overlap(in2, n2 * 2u, output, n * 2u))) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < n; ++i) {
        const int32_t b = in2[p->broadcast == MQ_BCAST_NONE ? i : c];
        const int32_t r = mq_requantize((int32_t)in1[i] * b, p->out_multiplier, p->out_shift);
        output[i] = (int16_t)mq_clamp_i32(r, p->act_min, p->act_max);
        if (p->broadcast == MQ_BCAST_CHANNEL && ++c == n2) {
            c = 0;
        }
    }
    return MQ_OK;
}
