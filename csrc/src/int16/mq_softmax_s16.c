/*
 * mq_softmax_s16: TFLite's int16 SOFTMAX (reference SoftmaxInt16), bit-exact, along the last axis of
 * [outer, depth] int16 codes (input zero point 0) -> int16 probabilities (scale 1/32768, zero point 0):
 *   mx  = max_j x_j
 *   e_j = LUT16(exp_lut, sat16(requant(x_j - mx, input_multiplier, input_shift) + 32767))    (exp, Q0.15)
 *   sum = sum_j e_j                                   (int32; depth <= 65535 keeps it below 2^31)
 *   h   = clz(sum); t = ((sum << (h - 1)) + 2^13) >> 14          (sum normalized to [2^16, 2^17])
 *   r   = LUT16(recip_lut, sat16(t - 98304))                     (1 / (1 + x), Q0.15)
 *   out_j = clamp((e_j * r + 2^(30 - h)) >> (31 - h), 0, 32767)
 * requant = mq_requantize; LUT16 = mq_lut16_lookup; the tables and (input_multiplier, input_shift) from
 * mq_softmax_s16_prepare. The e_j are kept in the output row (as TFLite does), so input == output works.
 */
#include "mq_s16_internal.h"

static int32_t clz32(uint32_t v)
{
    int32_t n = 0;
    if (v == 0u) {
        return 32;
    }
    while ((v & 0x80000000u) == 0u) {
        v <<= 1;
        ++n;
    }
    return n;
}

mq_status mq_softmax_s16(const mq_softmax_s16_params *p, const int16_t *input, int16_t *output)
{
    int32_t o, j;
    size_t total;
    if (p == NULL || input == NULL || output == NULL || p->exp_lut == NULL || p->recip_lut == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->outer < 1 || p->depth < 1 || p->depth > 65535 || (int64_t)p->outer * p->depth > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_multiplier_ok(p->input_multiplier) || !mq_shift_ok(p->input_shift)) {
        return MQ_ERR_QPARAMS;
    }
    total = (size_t)p->outer * (size_t)p->depth * 2u;
    if (output != input && mq_ranges_overlap(input, total, output, total)) {
        return MQ_ERR_BUFFER;
    }
    for (o = 0; o < p->outer; ++o) {
        const int16_t *x = input + (size_t)o * (size_t)p->depth;
        int16_t *y = output + (size_t)o * (size_t)p->depth;
        int32_t mx = -32768;
        int32_t sum = 0;
        int32_t h, t, r, right;
        int64_t round;
        for (j = 0; j < p->depth; ++j) {
            mx = x[j] > mx ? x[j] : mx;
        }
        for (j = 0; j < p->depth; ++j) {
            const int32_t d = mq_requantize((int32_t)x[j] - mx, p->input_multiplier, p->input_shift);
            const int16_t e = mq_lut16_lookup(p->exp_lut, mq_sat16((int64_t)d + 32767));
            y[j] = e;
            sum += e;
        }
        if (sum < 2) {
            /* Only with a table whose exp(0) entry is < 2 (never from mq_softmax_s16_prepare). */
            return MQ_ERR_QPARAMS;
        }
        h = clz32((uint32_t)sum);
        t = (int32_t)((((int64_t)sum << (h - 1)) + (1 << 13)) >> 14);
        r = mq_lut16_lookup(p->recip_lut, mq_sat16((int64_t)t - ((1 << 15) + (1 << 16))));
        right = 31 - h;
        round = (int64_t)1 << (right - 1);
        for (j = 0; j < p->depth; ++j) {
            const int64_t v = ((int64_t)y[j] * r + round) >> right;
            y[j] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
        }
    }
    return MQ_OK;
}
