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
    /* alpha is read by HardSigmoid and ELU only, beta by HardSigmoid only: any other function ignores
     * them (mq_activation_desc), whatever they hold (NaN included). */
    if (!mq_activation_known(fn->fn) ||
        ((fn->fn == MQ_ACT_HARDSIGMOID || fn->fn == MQ_ACT_ELU) && !isfinite(fn->alpha)) ||
        (fn->fn == MQ_ACT_HARDSIGMOID && !isfinite(fn->beta))) {
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
        const double c = (double)(code - in_zero_point);
        /* x = c * in_scale as a double-double (x + x_lo is exact): the piecewise-linear functions keep it,
         * so their entries are correctly rounded even right next to a rounding tie. */
        const double x = c * in_scale;
        const double x_lo = fma(c, in_scale, -x);
        double y;
        double y_lo = 0.0;
        switch (fn->fn) {
        case MQ_ACT_IDENTITY:
            y = x;
            y_lo = x_lo;
            break;
        case MQ_ACT_RELU:
            y = c > 0.0 ? x : 0.0;
            y_lo = c > 0.0 ? x_lo : 0.0;
            break;
        case MQ_ACT_RELU6:
            y = c <= 0.0 ? 0.0 : (x < 6.0 ? x : 6.0);
            y_lo = c > 0.0 && x < 6.0 ? x_lo : 0.0;
            break;
        default:
            y = mq_activation_eval(fn, x);
            break;
        }
        if (isnan(y)) {
            return MQ_ERR_QPARAMS;
        }
        table[i] = (uint8_t)mq_round_div_half_even(y, y_lo, out_scale, out_zero_point, lo, hi);
    }
    return MQ_OK;
}
