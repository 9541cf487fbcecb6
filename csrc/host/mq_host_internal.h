/*
 * MicroQuant internal (host only): double-precision rounding helpers shared by the prepare functions.
 */
#ifndef MICROQUANT_MQ_HOST_INTERNAL_H
#define MICROQUANT_MQ_HOST_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_host.h"

/* Round half to even, then saturate to [lo, hi]. v must not be NaN. Exact for every finite double, and
 * without libm calls (this is the inner loop of mq_quantize_f32): once lo < v < hi, v fits int32, so the
 * truncation is defined; stepping down once gives floor(v); v - floor(v) is exact (for |v| >= 1 its bits
 * are a subset of v's; for -1 < v < 0 the sum v + 1 is exact wherever the comparison with 0.5 matters). */
static inline int32_t mq_round_half_even_clamp(double v, int32_t lo, int32_t hi)
{
    int32_t f;
    double frac;
    if (v <= (double)lo) {
        return lo;
    }
    if (v >= (double)hi) {
        return hi;
    }
    f = (int32_t)v;
    if ((double)f > v) {
        f -= 1;
    }
    frac = v - (double)f;
    if (frac > 0.5 || (frac == 0.5 && (f & 1) != 0)) {
        f += 1;
    }
    return f;
}

/*
 * round_half_even((hi + lo) / scale) + zero point, saturated to [lo_code, hi_code]: the quotient is
 * computed with its exact residual (fma), so a value that lies just off a rounding tie is rounded
 * the right way even when the double quotient lands exactly on the tie. hi + lo is a double-double
 * value (|lo| <= ulp(hi)/2, lo = 0 for a plain double); scale > 0 finite.
 */
static inline int32_t mq_round_div_half_even(double hi, double lo, double scale, int32_t zero_point,
                                             int32_t lo_code, int32_t hi_code)
{
    const double q = hi / scale;
    double f;
    double frac;
    double q_lo;
    if (!isfinite(q) || q >= 2147483648.0 || q <= -2147483648.0) {
        return q > 0.0 ? hi_code : lo_code;
    }
    /* exact: hi - q * scale (fma), plus the low part; its sign says which side of q the true quotient is */
    q_lo = fma(-q, scale, hi) + lo;
    f = floor(q);
    frac = q - f;
    if (frac > 0.5 || (frac == 0.5 && (q_lo > 0.0 || (q_lo == 0.0 && fmod(f, 2.0) != 0.0)))) {
        f += 1.0;
    }
    {
        const double v = f + (double)zero_point;
        return v < (double)lo_code ? lo_code : (v > (double)hi_code ? hi_code : (int32_t)v);
    }
}

/* 1 when x is a finite, strictly positive scale. */
static inline int mq_scale_ok(double x)
{
    return isfinite(x) && x > 0.0;
}

/* Byte offsets of the int32 arrays of a one-call prepare buffer: [bias: out_c][multiplier: m][shift: m][weights],
 * m = out_c (per channel) or 1. Everything 4-byte aligned (the buffer must be). */
static inline size_t mq_prepare_words(int32_t out_c, int32_t per_channel)
{
    return (size_t)out_c + 2u * (per_channel ? (size_t)out_c : 1u);
}

/*
 * Multipliers of a layer from its float32 scales: M[c] = (double)in_scale * (double)w_scale[c] / (double)out_scale,
 * then mq_quantize_multiplier. Checks the whole mq_layer_quant (scales finite, in_scale and out_scale > 0, weight
 * scales >= 0, 8-bit dtypes, zero points and clamp in range, per_channel 0/1). count = out_c or 1.
 */
static inline mq_status mq_prepare_quant(const mq_layer_quant *q, int32_t out_c, int32_t *mult, int32_t *shift)
{
    const int32_t count = q->weight_per_channel ? out_c : 1;
    int32_t c;
    if (q->weight_scales == NULL) {
        return MQ_ERR_NULL;
    }
    if ((q->in_dtype != MQ_DTYPE_INT8 && q->in_dtype != MQ_DTYPE_UINT8) ||
        (q->out_dtype != MQ_DTYPE_INT8 && q->out_dtype != MQ_DTYPE_UINT8)) {
        return MQ_ERR_DTYPE;
    }
    if ((q->weight_per_channel != 0 && q->weight_per_channel != 1) || !isfinite(q->in_scale) ||
        !isfinite(q->out_scale) || !(q->in_scale > 0.0f) || !(q->out_scale > 0.0f) ||
        q->in_zero_point < mq_dtype_min(q->in_dtype) || q->in_zero_point > mq_dtype_max(q->in_dtype) ||
        q->out_zero_point < mq_dtype_min(q->out_dtype) || q->out_zero_point > mq_dtype_max(q->out_dtype) ||
        q->act_min > q->act_max || q->act_min < mq_dtype_min(q->out_dtype) || q->act_max > mq_dtype_max(q->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    for (c = 0; c < count; ++c) {
        const float ws = q->weight_scales[c];
        mq_status st;
        if (!isfinite(ws) || ws < 0.0f) {
            return MQ_ERR_QPARAMS;
        }
        st = mq_quantize_multiplier((double)q->in_scale * (double)ws / (double)q->out_scale, &mult[c], &shift[c]);
        if (st != MQ_OK) {
            return st;
        }
    }
    return MQ_OK;
}

/* The output-stage fields shared by every prepared layer. */
#define MQ_PREPARE_OUTPUT(DST, Q)               \
    do {                                        \
        (DST)->out_dtype = (Q)->out_dtype;      \
        (DST)->out_zero_point = (Q)->out_zero_point; \
        (DST)->act_min = (Q)->act_min;          \
        (DST)->act_max = (Q)->act_max;          \
        (DST)->lut = (Q)->lut;                  \
        (DST)->per_channel = (Q)->weight_per_channel; \
    } while (0)

/* mq_quantize_f32 / mq_quantize_f32_finite with the instruction set chosen (tests compare every path): isa 0 scalar,
 * 1 AVX2, 2 AVX-512 F, capped at what the CPU has (mq_quantize_f32_isa_max: 0 off x86-64). */
mq_status mq_quantize_f32_isa(const float *x, size_t n, float scale, int32_t zero_point, mq_dtype dtype, void *out,
                              int isa, int finite_only, size_t *first_bad);
int mq_quantize_f32_isa_max(void);
/* mq_dequantize_f32 likewise (isa 0 table / scalar, 1 AVX2, 2 AVX-512 F). */
mq_status mq_dequantize_f32_isa(const void *q, size_t n, float scale, int32_t zero_point, mq_dtype dtype, float *out,
                                int isa);

#endif /* MICROQUANT_MQ_HOST_INTERNAL_H */
