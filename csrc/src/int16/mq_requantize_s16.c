/*
 * mq_requantize_s8_to_s16 / mq_requantize_s16_to_s8 / mq_rescale_s16: TFLite QUANTIZE between 8-bit and int16
 * codes (reference Requantize):  out = clamp(out_zp + requant(x - in_zp, M, s), out dtype range)
 * with requant = mq_requantize (double rounding, left shift for M_real >= 1: int8 -> int16 typically has
 * shift > 0). |x - zp| <= 65535, and the left shift wraps modulo 2^32 as in mq_requantize (only for
 * multipliers no converter produces). M = s_in / s_out from mq_quantize_multiplier.
 */
#include "mq_s16_internal.h"

static mq_status check(const mq_requantize_s16_params *p)
{
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->q8_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (p->q8_zero_point < mq_dtype_min(p->q8_dtype) || p->q8_zero_point > mq_dtype_max(p->q8_dtype) ||
        p->int16_zero_point < -32768 || p->int16_zero_point > 32767 || !mq_multiplier_ok(p->multiplier) ||
        !mq_shift_ok(p->shift)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

mq_status mq_requantize_s8_to_s16(const mq_requantize_s16_params *p, const void *input, int16_t *output, size_t n)
{
    const uint8_t *x = (const uint8_t *)input;
    size_t i;
    mq_status st = check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (mq_ranges_overlap(input, n, output, n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < n; ++i) {
        const int32_t v = mq_code_value(x[i], p->q8_dtype) - p->q8_zero_point;
        const int64_t r = (int64_t)p->int16_zero_point + mq_requantize(v, p->multiplier, p->shift);
        output[i] = mq_sat16(r);
    }
    return MQ_OK;
}

mq_status mq_requantize_s16_to_s8(const mq_requantize_s16_params *p, const int16_t *input, void *output, size_t n)
{
    uint8_t *y = (uint8_t *)output;
    size_t i;
    mq_status st = check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (mq_ranges_overlap(input, n * 2u, output, n)) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < n; ++i) {
        const int32_t v = (int32_t)input[i] - p->int16_zero_point;
        const int32_t r = mq_requantize_clamp(v, p->multiplier, p->shift, p->q8_zero_point,
                                              mq_dtype_min(p->q8_dtype), mq_dtype_max(p->q8_dtype));
        y[i] = (uint8_t)(r & 0xFF);
    }
    return MQ_OK;
}

mq_status mq_rescale_s16(const mq_rescale_s16_params *p, const int16_t *input, int16_t *output, size_t n)
{
    size_t i;
    if (p == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->in_zero_point < -32768 || p->in_zero_point > 32767 || p->out_zero_point < -32768 ||
        p->out_zero_point > 32767 || !mq_multiplier_ok(p->multiplier) || !mq_shift_ok(p->shift)) {
        return MQ_ERR_QPARAMS;
    }
    if (output != input && mq_ranges_overlap(input, n * 2u, output, n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < n; ++i) {
        const int32_t v = (int32_t)input[i] - p->in_zero_point;
        output[i] = mq_sat16((int64_t)p->out_zero_point + mq_requantize(v, p->multiplier, p->shift));
    }
    return MQ_OK;
}
