/*
 * Host prepare of the 16x8 kernels (mq_host_s16.h): TFLite's ADD / LOGISTIC / TANH / SOFTMAX int16 prepare
 * arithmetic, re-derived from its documented formulas (docs/QUANTIZATION.md section 10).
 */
#include <math.h>
#include <stdlib.h>

#include "microquant/mq_host_s16.h"

static int scale_ok(double s)
{
    return isfinite(s) && s > 0.0;
}

mq_status mq_exact_scale_from_double(double eff, mq_exact_scale *out)
{
    int e = 0;
    double f;
    if (out == NULL) {
        return MQ_ERR_NULL;
    }
    if (!isfinite(eff) || eff < 0.0 || (eff > 0.0 && eff < 2.2250738585072014e-308)) {
        return MQ_ERR_QPARAMS;
    }
    if (eff == 0.0) {
        out->mant = 0u;
        out->exp = 0;
        return MQ_OK;
    }
    f = frexp(eff, &e);
    out->mant = (uint64_t)ldexp(f, 53);
    out->exp = (int32_t)e - 53;
    return MQ_OK;
}

mq_status mq_s16_output_multipliers(double in_scale, const double *weight_scales, int32_t count, double out_scale,
                                    int32_t *multiplier, int32_t *shift, mq_exact_scale *exact)
{
    int32_t c;
    if (weight_scales == NULL || multiplier == NULL || shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (count < 1 || !scale_ok(in_scale) || !scale_ok(out_scale)) {
        return MQ_ERR_QPARAMS;
    }
    for (c = 0; c < count; ++c) {
        double eff;
        mq_status st;
        if (!scale_ok(weight_scales[c])) {
            return MQ_ERR_QPARAMS;
        }
        eff = in_scale * weight_scales[c] / out_scale;
        st = mq_quantize_multiplier(eff, &multiplier[c], &shift[c]);
        if (st != MQ_OK) {
            return st;
        }
        if (shift[c] > MQ_SHIFT64_MAX) {
            return MQ_ERR_QPARAMS;
        }
        if (exact != NULL) {
            st = mq_exact_scale_from_double(eff, &exact[c]);
            if (st != MQ_OK) {
                return st;
            }
        }
    }
    return MQ_OK;
}

mq_status mq_add_s16_prepare(double in1_scale, double in2_scale, double out_scale, int32_t act_min,
                             int32_t act_max, mq_add_s16_params *p)
{
    double twice;
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!scale_ok(in1_scale) || !scale_ok(in2_scale) || !scale_ok(out_scale) || act_min < -32768 ||
        act_min > act_max || act_max > 32767) {
        return MQ_ERR_QPARAMS;
    }
    p->left_shift = 15;
    twice = 2.0 * (in1_scale > in2_scale ? in1_scale : in2_scale);
    st = mq_quantize_multiplier(in1_scale / twice, &p->in1_multiplier, &p->in1_shift);
    if (st == MQ_OK) {
        st = mq_quantize_multiplier(in2_scale / twice, &p->in2_multiplier, &p->in2_shift);
    }
    if (st == MQ_OK) {
        st = mq_quantize_multiplier(twice / (32768.0 * out_scale), &p->out_multiplier, &p->out_shift);
    }
    if (st != MQ_OK) {
        return st;
    }
    if (p->in1_shift > 0 || p->in2_shift > 0 || p->out_shift > 0) {
        return MQ_ERR_QPARAMS; /* TFLite requires every multiplier < 1 */
    }
    p->act_min = act_min;
    p->act_max = act_max;
    return MQ_OK;
}

/* TFLite CheckedLog2, in float as TFLite computes it. */
static int checked_log2(float x, int32_t *log2_result)
{
    const float x_log2 = logf(x) * (1.0f / logf(2.0f));
    const float r = roundf(x_log2);
    *log2_result = (int32_t)r;
    return fabsf(x_log2 - r) < 1e-3f;
}

static mq_status lut_interp_prepare(double in_scale, int allow_shift_one, mq_sigmoid_s16_params *p)
{
    int32_t l2 = 0;
    int pot;
    int32_t shift;
    double m;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!scale_ok(in_scale) || in_scale > 1e30) {
        return MQ_ERR_QPARAMS;
    }
    pot = checked_log2((float)in_scale, &l2);
    shift = 12 + l2;
    pot = pot && (shift == 0 || (allow_shift_one && shift == 1));
    if (pot) {
        p->input_multiplier = 0;
        p->input_left_shift = shift;
        return MQ_OK;
    }
    m = in_scale * 4096.0 * 3.0;
    shift = 0;
    while (m <= 32767.0 / 2.0 && shift <= 30) {
        shift++;
        m = m * 2.0;
    }
    if (m > 32767.0) {
        return MQ_ERR_QPARAMS;
    }
    p->input_multiplier = (int32_t)m;
    p->input_left_shift = shift;
    return MQ_OK;
}

mq_status mq_sigmoid_s16_prepare(double in_scale, mq_sigmoid_s16_params *p)
{
    return lut_interp_prepare(in_scale, 0, p);
}

mq_status mq_tanh_s16_prepare(double in_scale, mq_sigmoid_s16_params *p)
{
    return lut_interp_prepare(in_scale, 1, p);
}

static int16_t sat_table(double v)
{
    /* std::min(std::max(v, -32768.0), 32767.0) then a conversion toward zero (v is integral here). */
    if (!(v > -32768.0)) {
        return -32768;
    }
    if (v > 32767.0) {
        return 32767;
    }
    return (int16_t)v;
}

mq_status mq_lut16_build_tflite(mq_real_fn fn, const void *ctx, double in_scale, int32_t in_zero_point,
                                double out_scale, int32_t out_zero_point, int16_t table[MQ_LUT16_SIZE])
{
    double input_min, input_max, output_min, output_max, step, half_step, inv;
    int i;
    if (fn == NULL || table == NULL) {
        return MQ_ERR_NULL;
    }
    if (!scale_ok(in_scale) || !scale_ok(out_scale) || in_zero_point < -32768 || in_zero_point > 32767 ||
        out_zero_point < -32768 || out_zero_point > 32767) {
        return MQ_ERR_QPARAMS;
    }
    input_min = in_scale * (double)(-32768 - in_zero_point);
    input_max = in_scale * (double)(32767 - in_zero_point);
    output_min = out_scale * (double)(-32768 - out_zero_point);
    output_max = out_scale * (double)(32767 - out_zero_point);
    step = (input_max - input_min) / 512;
    half_step = step / 2;
    inv = (double)65536 / (output_max - output_min);
    for (i = 0; i < 512; i++) {
        const double val = fn(input_min + i * step, ctx);
        const double val_mid = fn(input_min + i * step + half_step, ctx);
        const double val_next = fn(input_min + (i + 1) * step, ctx);
        const double sample = round(val * inv);
        const double mid_interp = round((val_next * inv + round(val * inv)) / 2);
        const double mid_val = round(val_mid * inv);
        const double err = mid_interp - mid_val;
        const double bias = round(err / 2);
        if (isnan(val) || isnan(val_mid) || isnan(val_next)) {
            return MQ_ERR_QPARAMS;
        }
        table[i] = sat_table(sample - bias);
    }
    {
        const double last = fn(input_max, ctx);
        if (isnan(last)) {
            return MQ_ERR_QPARAMS;
        }
        table[512] = sat_table(round(last * inv));
    }
    return MQ_OK;
}

static double act_fn(double x, const void *ctx)
{
    return mq_activation_eval((const mq_activation_desc *)ctx, x);
}

static int32_t round_even_sat(double v)
{
    if (!(v > -32768.0)) {
        return -32768;
    }
    if (v >= 32767.0) {
        return 32767;
    }
    return (int32_t)nearbyint(v); /* default rounding mode: half to even */
}

/* max over the 128 inputs of cell i of |lookup(a, b) - y| (y: the clamped real targets of that cell). */
static double cell_err(int32_t a, int32_t b, const double *y)
{
    double worst = 0.0;
    int32_t f;
    for (f = 0; f < 128; ++f) {
        const int32_t v = a + (((b - a) * f + 64) >> 7);
        const double e = fabs((double)v - y[f]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

mq_status mq_lut16_build(const mq_activation_desc *fn, double in_scale, double out_scale,
                         int16_t table[MQ_LUT16_SIZE])
{
    double *y;
    int32_t t[MQ_LUT16_SIZE];
    int i, pass;
    if (fn == NULL || table == NULL) {
        return MQ_ERR_NULL;
    }
    if (!scale_ok(in_scale) || !scale_ok(out_scale) || !isfinite(fn->alpha) || !isfinite(fn->beta)) {
        return MQ_ERR_QPARAMS;
    }
    /* 1. chord-corrected nodes */
    for (i = 0; i <= 512; i++) {
        const double c = (double)(128 * i - 32768);
        const double v = act_fn(c * in_scale, fn) / out_scale;
        double e = 0.0;
        if (isnan(v)) {
            return MQ_ERR_QPARAMS;
        }
        if (i < 512) {
            const double vn = act_fn((c + 128.0) * in_scale, fn) / out_scale;
            const double vm = act_fn((c + 64.0) * in_scale, fn) / out_scale;
            if (isnan(vn) || isnan(vm)) {
                return MQ_ERR_QPARAMS;
            }
            e = (v + vn) / 2.0 - vm;
            if (!isfinite(e)) {
                e = 0.0;
            }
        }
        t[i] = round_even_sat(v - e / 2.0);
    }
    /* 2. the real targets of every input code, saturated to the int16 range (host memory, freed below) */
    y = (double *)malloc(65536 * sizeof(double));
    if (y == NULL) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < 65536; i++) {
        const double v = act_fn((double)(i - 32768) * in_scale, fn) / out_scale;
        if (isnan(v)) {
            free(y);
            return MQ_ERR_QPARAMS;
        }
        y[i] = v > 32767.0 ? 32767.0 : (v < -32768.0 ? -32768.0 : v);
    }
    /* 3. minimax refinement: coordinate descent, each node moved by up to +-2 codes to lower the larger error of
     * its two cells (ties keep the current value), until no node moves (at most 16 passes). */
    for (pass = 0; pass < 16; pass++) {
        int moved = 0;
        for (i = 0; i <= 512; i++) {
            int32_t best = t[i];
            double best_err = 1e300;
            int32_t d;
            for (d = 0; d <= 4; d++) {
                const int32_t cand = t[i] + (d == 0 ? 0 : (d & 1 ? (d + 1) / 2 : -(d / 2)));
                double e = 0.0, e2;
                if (cand < -32768 || cand > 32767) {
                    continue;
                }
                if (i > 0) {
                    e = cell_err(t[i - 1], cand, &y[128 * (i - 1)]);
                }
                if (i < 512) {
                    e2 = cell_err(cand, t[i + 1], &y[128 * i]);
                    e = e2 > e ? e2 : e;
                }
                if (e < best_err - 1e-12) {
                    best_err = e;
                    best = cand;
                }
            }
            if (best != t[i]) {
                t[i] = best;
                moved = 1;
            }
        }
        if (!moved) {
            break;
        }
    }
    free(y);
    for (i = 0; i <= 512; i++) {
        table[i] = (int16_t)t[i];
    }
    return MQ_OK;
}

static double exp_fn(double x, const void *ctx)
{
    (void)ctx;
    return exp(x);
}

static double recip_fn(double x, const void *ctx)
{
    (void)ctx;
    return 1.0 / (1.0 + x);
}

mq_status mq_softmax_s16_prepare(double in_scale, double beta, int16_t exp_lut[MQ_LUT16_SIZE],
                                 int16_t recip_lut[MQ_LUT16_SIZE], int32_t *input_multiplier,
                                 int32_t *input_shift)
{
    const double range = 65535.0;
    mq_status st;
    float sb;
    if (exp_lut == NULL || recip_lut == NULL || input_multiplier == NULL || input_shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (!scale_ok(in_scale) || !scale_ok(beta) || in_scale > 1e30 || beta > 1e30) {
        return MQ_ERR_QPARAMS;
    }
    st = mq_lut16_build_tflite(exp_fn, NULL, 10.0 / range, 32767, 2.0 / range, 0, exp_lut);
    if (st == MQ_OK) {
        st = mq_lut16_build_tflite(recip_fn, NULL, 1.0 / range, -32768, 2.0 / range, 0, recip_lut);
    }
    if (st != MQ_OK) {
        return st;
    }
    sb = (float)in_scale * (float)beta;
    return mq_quantize_multiplier((double)sb / (10.0 / 65535.0), input_multiplier, input_shift);
}
