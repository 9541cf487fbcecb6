/* mq_lut_build: 256-entry activation table for 8-bit codes, double precision, half-even rounding, saturated. */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

static int mq_activation_known(mq_activation a)
{
    switch (a) {
    case MQ_ACT_IDENTITY: case MQ_ACT_SIGMOID: case MQ_ACT_SILU: case MQ_ACT_TANH: case MQ_ACT_HARDSIGMOID:
    case MQ_ACT_HARDSWISH: case MQ_ACT_GELU: case MQ_ACT_ELU: case MQ_ACT_MISH: case MQ_ACT_EXP:
    case MQ_ACT_RELU: case MQ_ACT_RELU6:
        return 1;
    }
    return 0;
}

mq_status mq_lut_build(const mq_activation_desc *fn,
                       double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                       double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                       uint8_t table[256])
{
    int32_t i;
    int32_t lo;
    int32_t hi;
    if (fn == NULL || table == NULL) {
        return MQ_ERR_NULL;
    }
    if ((in_dtype != MQ_DTYPE_INT8 && in_dtype != MQ_DTYPE_UINT8) ||
        (out_dtype != MQ_DTYPE_INT8 && out_dtype != MQ_DTYPE_UINT8)) {
        return MQ_ERR_DTYPE;
    }
    if (!mq_activation_known(fn->fn) || !isfinite(fn->alpha) || !isfinite(fn->beta)) {
        return MQ_ERR_QPARAMS;
    }
    lo = mq_dtype_min(out_dtype);
    hi = mq_dtype_max(out_dtype);
    if (!mq_scale_ok(in_scale) || !mq_scale_ok(out_scale) ||
        in_zero_point < mq_dtype_min(in_dtype) || in_zero_point > mq_dtype_max(in_dtype) ||
        out_zero_point < lo || out_zero_point > hi) {
        return MQ_ERR_QPARAMS;
    }
    for (i = 0; i < 256; ++i) {
        const int32_t code = in_dtype == MQ_DTYPE_UINT8 ? i : (i < 128 ? i : i - 256);
        const double x = (double)(code - in_zero_point) * in_scale;
        const double y = mq_activation_eval(fn, x);
        double v;
        int32_t q;
        if (isnan(y)) {
            return MQ_ERR_QPARAMS;
        }
        /* y / out_scale may overflow to +-inf for huge y: the clamp below saturates it. */
        v = y / out_scale;
        q = mq_round_half_even_clamp(v, lo - out_zero_point, hi - out_zero_point) + out_zero_point;
        table[i] = (uint8_t)q;
    }
    return MQ_OK;
}
