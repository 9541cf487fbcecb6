/*
 * mq_requantize_u8: elementwise requantization between 8-bit qparams (TFLite QUANTIZE int8/uint8 ->
 * int8/uint8, bit-exact with its reference Requantize; also the host-placed rescale in front of a concat).
 *
 * Shapes:  input [n] codes of in_dtype (s_in, in_zero_point), output [n] codes of out_dtype (s_out, out_zero_point)
 * Arithmetic:  out = clamp(out_zero_point + mq_requantize(x - in_zero_point, multiplier, shift), qmin, qmax)
 *          with (multiplier, shift) = QuantizeMultiplier(s_in / s_out) (mq_requantize_prepare, mq_host.h);
 *          qmin/qmax = out_dtype's code range. Same scale, zero points 128 apart gives M = 1 ((2^30, 1)): the
 *          INT8 <-> UINT8 flip of the top bit.
 * In place allowed (output == input); a partial overlap is MQ_ERR_BUFFER. n == 0 is allowed.
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_params_internal.h"

mq_status mq_requantize_check(const mq_requantize_params *p)
{
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (!mq_zp_in_dtype(p->in_zero_point, p->in_dtype) || !mq_zp_in_dtype(p->out_zero_point, p->out_dtype) ||
        !mq_multiplier_ok(p->multiplier) || !mq_shift_ok(p->shift)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

void mq_requantize_u8_unchecked(const mq_requantize_params *p, const void *input, void *output, size_t n)
{
    const uint8_t *in;
    uint8_t *out;
    int32_t lo, hi;
    size_t i;
    in = (const uint8_t *)input;
    out = (uint8_t *)output;
    lo = mq_dtype_min(p->out_dtype);
    hi = mq_dtype_max(p->out_dtype);
    for (i = 0; i < n; ++i) {
        const int32_t x = mq_code_value(in[i], p->in_dtype) - p->in_zero_point;
        out[i] = (uint8_t)mq_requantize_clamp(x, p->multiplier, p->shift, p->out_zero_point, lo, hi);
    }
}

mq_status mq_requantize_u8(const mq_requantize_params *p, const void *input, void *output, size_t n)
{
    const mq_status st = mq_requantize_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (input != output && mq_ranges_overlap(input, n, output, n)) {
        return MQ_ERR_BUFFER;
    }
    mq_requantize_u8_unchecked(p, input, output, n);
    return MQ_OK;
}
