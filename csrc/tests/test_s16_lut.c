/*
 * int16 LUT activations (513 entries + linear interpolation, mq_lut16_build / mq_lut16_apply): the error bound,
 * measured exhaustively. For each function and input range R (s_in = R / 32768), every one of the 65,536 int16
 * inputs is looked up and compared with the float64 function (long double evaluation here, independent of
 * mq_activation_eval): error = |out - clamp(f(x s_in) / s_out)| in output codes. The table printed here is the one
 * in docs/QUANTIZATION.md section 10; each maximum must stay within the documented bound. TFLite's own table
 * construction (mq_lut16_build_tflite, zero points 0) is measured alongside for comparison.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "microquant/mq_host_s16.h"
#include "microquant/mq_kernels_s16.h"

static long double ref_f(mq_activation a, long double x)
{
    switch (a) {
    case MQ_ACT_SIGMOID:
        return 1.0L / (1.0L + expl(-x));
    case MQ_ACT_TANH:
        return tanhl(x);
    case MQ_ACT_SILU:
        return x / (1.0L + expl(-x));
    case MQ_ACT_GELU:
        return 0.5L * x * erfcl(-x / sqrtl(2.0L));
    case MQ_ACT_HARDSWISH:
        return x <= -3.0L ? 0.0L : (x >= 3.0L ? x : x * (x + 3.0L) / 6.0L);
    case MQ_ACT_EXP:
        return expl(x);
    default:
        return 0.0L;
    }
}

static double tfl_fn(double x, const void *ctx)
{
    return (double)ref_f(*(const mq_activation *)ctx, (long double)x);
}

/* Output scale: sigmoid / tanh 1/32768 (TFLite's fixed int16 output); the others map the largest |f| over the
 * input range to 32767. */
static double out_scale(mq_activation a, double r)
{
    double m;
    if (a == MQ_ACT_SIGMOID || a == MQ_ACT_TANH) {
        return 1.0 / 32768.0;
    }
    m = fmax(fabs((double)ref_f(a, (long double)-r)), fabs((double)ref_f(a, (long double)r)));
    return m / 32767.0;
}

static double max_err(const int16_t *t, mq_activation a, double s_in, double s_out)
{
    double worst = 0.0;
    int32_t i;
    for (i = -32768; i <= 32767; ++i) {
        const int16_t y = mq_lut16_lookup(t, (int16_t)i);
        long double v = ref_f(a, (long double)i * (long double)s_in) / (long double)s_out;
        v = v > 32767.0L ? 32767.0L : (v < -32768.0L ? -32768.0L : v);
        worst = fmax(worst, (double)fabsl((long double)y - v));
    }
    return worst;
}

static void test_lut16_error_bounds(void **state)
{
    static const struct {
        mq_activation fn;
        const char *name;
        double bound[6]; /* documented max error (output codes) for R = 1, 2, 4, 8, 16, 32 */
    } fns[] = {
        {MQ_ACT_SIGMOID, "sigmoid", {1.1, 1.1, 1.1, 1.2, 1.6, 3.9}},
        {MQ_ACT_TANH, "tanh", {1.1, 1.1, 1.4, 2.4, 7.0, 25.5}},
        {MQ_ACT_SILU, "silu", {1.1, 1.1, 1.1, 1.1, 1.2, 1.5}},
        {MQ_ACT_GELU, "gelu", {1.1, 1.1, 1.1, 1.2, 1.2, 1.8}},
        {MQ_ACT_HARDSWISH, "hardswish", {1.1, 1.1, 1.1, 1.1, 1.0, 1.2}},
        {MQ_ACT_EXP, "exp", {1.1, 1.1, 1.4, 2.6, 9.0, 39.5}},
    };
    static const double ranges[6] = {1, 2, 4, 8, 16, 32};
    size_t f, r;
    (void)state;
    printf("| function | R=1 | R=2 | R=4 | R=8 | R=16 | R=32 |   (max |error| in output codes; TFLite's table in ())\n");
    for (f = 0; f < sizeof fns / sizeof fns[0]; ++f) {
        char line[512];
        double errs[6];
        int len = snprintf(line, sizeof line, "| %s |", fns[f].name);
        for (r = 0; r < 6; ++r) {
            const double s_in = ranges[r] / 32768.0, s_out = out_scale(fns[f].fn, ranges[r]);
            mq_activation_desc d = {fns[f].fn, 0.0, 0.0};
            int16_t t[MQ_LUT16_SIZE], tt[MQ_LUT16_SIZE];
            double e, et;
            assert_int_equal(mq_lut16_build(&d, s_in, s_out, t), MQ_OK);
            assert_int_equal(mq_lut16_build_tflite(tfl_fn, &fns[f].fn, s_in, 0, s_out, 0, tt), MQ_OK);
            e = max_err(t, fns[f].fn, s_in, s_out);
            et = max_err(tt, fns[f].fn, s_in, s_out);
            len += snprintf(line + len, sizeof line - (size_t)len, " %.2f (%.2f) |", e, et);
            errs[r] = e;
        }
        printf("%s\n", line);
        for (r = 0; r < 6; ++r) {
            assert_true(errs[r] >= 0.5 - 1e-9); /* nothing can beat rounding */
            assert_true(errs[r] <= fns[f].bound[r]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lut16_error_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
