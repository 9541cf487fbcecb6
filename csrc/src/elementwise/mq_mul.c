/*
 * mq_mul: requantized elementwise multiply (TFLite MUL, int8 and uint8, bit-exact with its reference kernel).
 *
 * Shapes:  in1    [n]                                       codes of in1_dtype, qparams (s1, in1_zero_point)
 *          in2    MQ_BCAST_NONE:    [n]                     codes of in2_dtype, qparams (s2, in2_zero_point)
 *                 MQ_BCAST_CHANNEL: [channels], element i of in1 pairs with in2[i % channels]
 *                                   (a per-channel operand of an NHWC tensor; n a multiple of channels)
 *                 MQ_BCAST_SCALAR:  [1]
 *          output [n]                                       codes of out_dtype, qparams (s_out, out_zero_point)
 * Arithmetic:  prod = (x1 - in1_zero_point) * (x2 - in2_zero_point)           (|prod| <= 255^2, exact)
 *              out  = clamp(out_zero_point + mq_requantize(prod, out_multiplier, out_shift), act_min, act_max)
 *          with (out_multiplier, out_shift) = QuantizeMultiplier(s1 * s2 / s_out) (mq_mul_prepare, mq_host.h).
 *          single_rounding = 1 (pre-quantized ONNX models: onnxruntime's QLinearMul rounds float32(prod) * ratio
 *          once): mq_requantize_single(prod, out_multiplier, out_shift) in place of mq_requantize.
 *          For s1 * s2 / s_out > 1 the left shift of prod wraps modulo 2^32 (mq_requantize).
 * Aliasing: output may be exactly in1 (any broadcast) or exactly in2 (MQ_BCAST_NONE only); any other
 *          overlap is MQ_ERR_BUFFER. n == 0 is allowed (nothing written).
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_params_internal.h"

mq_status mq_mul_check(const mq_mul_params *p)
{
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in1_dtype) || !mq_dtype_is_8bit(p->in2_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (p->broadcast != MQ_BCAST_NONE && p->broadcast != MQ_BCAST_CHANNEL && p->broadcast != MQ_BCAST_SCALAR) {
        return MQ_ERR_SHAPE;
    }
    if (p->broadcast == MQ_BCAST_CHANNEL ? (p->channels < 1 || p->channels > MQ_MAX_DIM) : p->channels != 0) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_zp_in_dtype(p->in1_zero_point, p->in1_dtype) || !mq_zp_in_dtype(p->in2_zero_point, p->in2_dtype) ||
        !mq_zp_in_dtype(p->out_zero_point, p->out_dtype) || !mq_multiplier_ok(p->out_multiplier) ||
        !mq_shift_ok(p->out_shift) || !mq_act_range_ok(p->act_min, p->act_max, p->out_dtype) ||
        (p->single_rounding != 0 && p->single_rounding != 1)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

static uint8_t mq_mul_one(const mq_mul_params *p, uint8_t a, uint8_t b)
{
    const int32_t prod = (mq_code_value(a, p->in1_dtype) - p->in1_zero_point) *
                         (mq_code_value(b, p->in2_dtype) - p->in2_zero_point);
    int64_t v;
    if (p->single_rounding == 0) {
        return (uint8_t)mq_requantize_clamp(prod, p->out_multiplier, p->out_shift, p->out_zero_point, p->act_min,
                                            p->act_max);
    }
    v = (int64_t)p->out_zero_point + (int64_t)mq_requantize_single(prod, p->out_multiplier, p->out_shift);
    v = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
    return (uint8_t)((uint64_t)v & 0xFFu);
}

void mq_mul_unchecked(const mq_mul_params *p, const void *in1, const void *in2, void *output, size_t n)
{
    const uint8_t *a;
    const uint8_t *b;
    uint8_t *o;
    size_t n2;
    size_t i;
    n2 = p->broadcast == MQ_BCAST_NONE ? n : (p->broadcast == MQ_BCAST_SCALAR ? 1u : (size_t)p->channels);
    a = (const uint8_t *)in1;
    b = (const uint8_t *)in2;
    o = (uint8_t *)output;
    if (p->broadcast == MQ_BCAST_NONE) {
        for (i = 0; i < n; ++i) {
            o[i] = mq_mul_one(p, a[i], b[i]);
        }
    } else if (p->broadcast == MQ_BCAST_SCALAR) {
        for (i = 0; i < n; ++i) {
            o[i] = mq_mul_one(p, a[i], b[0]);
        }
    } else {
        size_t c = 0;
        for (i = 0; i < n; ++i) {
            o[i] = mq_mul_one(p, a[i], b[c]);
            c = c + 1 == n2 ? 0 : c + 1;
        }
    }
}

mq_status mq_mul(const mq_mul_params *p, const void *in1, const void *in2, void *output, size_t n)
{
    const mq_status st = mq_mul_check(p);
    size_t n2;
    if (st != MQ_OK) {
        return st;
    }
    if (in1 == NULL || in2 == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    n2 = p->broadcast == MQ_BCAST_NONE ? n : (p->broadcast == MQ_BCAST_SCALAR ? 1u : (size_t)p->channels);
    if (p->broadcast == MQ_BCAST_CHANNEL && n % n2 != 0) {
        return MQ_ERR_SHAPE;
    }
    if ((in1 != output && mq_ranges_overlap(in1, n, output, n)) ||
        ((p->broadcast != MQ_BCAST_NONE || in2 != output) && mq_ranges_overlap(in2, n2, output, n))) {
        return MQ_ERR_BUFFER;
    }
    mq_mul_unchecked(p, in1, in2, output, n);
    return MQ_OK;
}
