/*
 * LUT activations: mq_lut_build against a long double reference written here (each of the 256 entries must be
 * the correctly rounded, half-to-even, saturated value), the PyTorch quint8 (1/256, 0) and TFLite int8
 * (1/256, -128) sigmoid conventions, no NaN/inf for large scales and extreme codes, mq_lut_apply (in place,
 * partial overlap), the portable microkernel, and the fused FC + LUT epilogue == FC then LUT.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "mq_microkernels.h"
#include "ref_gemm.h"

static long g_entries;
static long g_near_ties;

/* Long double reference of every tabulated activation, written from the textbook definitions. */
static long double ref_act(mq_activation fn, long double alpha, long double beta, long double x)
{
    switch (fn) {
    case MQ_ACT_IDENTITY: return x;
    case MQ_ACT_SIGMOID: return 1.0L / (1.0L + expl(-x));
    case MQ_ACT_SILU: return x / (1.0L + expl(-x));
    case MQ_ACT_TANH: return tanhl(x);
    case MQ_ACT_HARDSIGMOID: return fminl(1.0L, fmaxl(0.0L, alpha * x + beta));
    case MQ_ACT_HARDSWISH: return x * fminl(6.0L, fmaxl(0.0L, x + 3.0L)) / 6.0L;
    case MQ_ACT_GELU: return 0.5L * x * erfcl(-x / sqrtl(2.0L));
    case MQ_ACT_ELU: return x > 0.0L ? x : alpha * expm1l(x);
    case MQ_ACT_MISH: return x * tanhl(x > 40.0L ? x : log1pl(expl(x)));
    case MQ_ACT_EXP: return expl(x);
    case MQ_ACT_RELU: return x > 0.0L ? x : 0.0L;
    case MQ_ACT_RELU6: return x > 0.0L ? fminl(x, 6.0L) : 0.0L;
    }
    return 0.0L;
}

static int32_t clamp_i(long double v, int32_t lo, int32_t hi)
{
    return v <= (long double)lo ? lo : (v >= (long double)hi ? hi : (int32_t)v);
}

/* Check one table against the reference. For the transcendental functions, entries whose exact value lies
 * within 1e-12 (relative) of a rounding tie without being exactly one cannot be decided by a float64 evaluation
 * of f (its own error is ~1e-16); for those either neighbour is accepted and the case is counted (reported at
 * the end). Identity/ReLU/ReLU6 must be exact everywhere. Exact ties must round half to even. */
static void check_table(const mq_activation_desc *d, double in_scale, int32_t in_zp, int in_u8, double out_scale,
                        int32_t out_zp, int out_u8, const uint8_t *table)
{
    const int32_t lo = out_u8 ? 0 : -128;
    const int32_t hi = out_u8 ? 255 : 127;
    /* identity / ReLU / ReLU6 are computed exactly by the builder (double-double): no tolerance at all */
    const int piecewise_linear = d->fn == MQ_ACT_IDENTITY || d->fn == MQ_ACT_RELU || d->fn == MQ_ACT_RELU6;
    int i;
    for (i = 0; i < 256; ++i) {
        const int32_t code = ref_code((uint8_t)i, in_u8);
        const long double x = (long double)(code - in_zp) * (long double)in_scale;
        const long double v = ref_act(d->fn, (long double)d->alpha, (long double)d->beta, x) / (long double)out_scale;
        const int32_t got = ref_code(table[i], out_u8);
        long double f;
        long double frac;
        int32_t expect;
        if (isnan((double)v)) {
            fail_msg("reference is NaN for act %d code %d", (int)d->fn, code);
        }
        f = floorl(v);
        frac = v - f;
        if (fabsl(v) > 1e6L) {
            expect = v > 0 ? hi : lo;
        } else if (frac == 0.5L) {
            expect = clamp_i((fmodl(f, 2.0L) == 0.0L ? f : f + 1.0L) + out_zp, lo, hi);
        } else if (!piecewise_linear && fabsl(frac - 0.5L) < 1e-12L * fmaxl(1.0L, fabsl(v))) {
            const int32_t a = clamp_i(f + out_zp, lo, hi);
            const int32_t b = clamp_i(f + 1.0L + out_zp, lo, hi);
            ++g_near_ties;
            if (getenv("MQ_TEST_VERBOSE")) print_message("near tie: act %d code %d v=%.20Lg got %d correct %d\n", (int)d->fn, code, v, got, clamp_i((frac > 0.5L ? f + 1.0L : f) + out_zp, lo, hi));
            if (got != a && got != b) {
                fail_msg("act %d near tie code %d: got %d expected %d or %d", (int)d->fn, code, got, a, b);
            }
            ++g_entries;
            continue;
        } else {
            expect = clamp_i((frac > 0.5L ? f + 1.0L : f) + out_zp, lo, hi);
        }
        if (got != expect) {
            fail_msg("act %d in(%.17g,%d,%s) out(%.17g,%d,%s) code %d x=%.17Lg v=%.17Lg: got %d expected %d",
                     (int)d->fn, in_scale, in_zp, in_u8 ? "u8" : "i8", out_scale, out_zp, out_u8 ? "u8" : "i8", code,
                     x, v, got, expect);
        }
        ++g_entries;
    }
}

static const mq_activation k_all[] = {MQ_ACT_IDENTITY, MQ_ACT_SIGMOID, MQ_ACT_SILU, MQ_ACT_TANH,
                                      MQ_ACT_HARDSIGMOID, MQ_ACT_HARDSWISH, MQ_ACT_GELU, MQ_ACT_ELU,
                                      MQ_ACT_MISH, MQ_ACT_EXP, MQ_ACT_RELU, MQ_ACT_RELU6};

static mq_activation_desc desc_of(mq_activation fn, ref_rng *r)
{
    mq_activation_desc d;
    d.fn = fn;
    d.alpha = 0.0;
    d.beta = 0.0;
    if (fn == MQ_ACT_HARDSIGMOID) {
        const int v = (int)ref_range(r, 0, 2);
        d.alpha = v == 0 ? 1.0 / 6.0 : (v == 1 ? 0.2 : 0.05 + ref_unit(r));
        d.beta = v == 2 ? ref_unit(r) : 0.5;
    } else if (fn == MQ_ACT_ELU) {
        d.alpha = ref_range(r, 0, 1) ? 1.0 : 0.1 + 2.0 * ref_unit(r);
    }
    return d;
}

/* Many (scale, zero point) pairs for every function, both dtypes in and out. */
static void test_lut_build_vs_reference(void **state)
{
    ref_rng r = {31};
    size_t f;
    int rep;
    (void)state;
    for (f = 0; f < sizeof k_all / sizeof k_all[0]; ++f) {
        for (rep = 0; rep < 120; ++rep) {
            const mq_activation_desc d = desc_of(k_all[f], &r);
            const int in_u8 = rep & 1;
            const int out_u8 = (rep >> 1) & 1;
            const int32_t in_lo = in_u8 ? 0 : -128;
            const int32_t in_hi = in_u8 ? 255 : 127;
            const int32_t out_lo = out_u8 ? 0 : -128;
            const int32_t out_hi = out_u8 ? 255 : 127;
            static const double special[] = {1.0 / 256.0, 1.0 / 128.0, 1.0 / 16.0, 0.1, 0.5, 1.0};
            const double in_scale = rep % 4 == 0 ? special[ref_range(&r, 0, 5)] : ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 0));
            const int32_t in_zp = rep % 9 == 0 ? in_lo : (rep % 9 == 1 ? in_hi : (int32_t)ref_range(&r, in_lo, in_hi));
            const double out_scale = rep % 5 == 0 ? special[ref_range(&r, 0, 5)] : ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 1));
            const int32_t out_zp = rep % 7 == 0 ? out_lo : (rep % 7 == 1 ? out_hi : (int32_t)ref_range(&r, out_lo, out_hi));
            uint8_t table[256];
            assert_int_equal(mq_lut_build(&d, in_scale, in_zp, in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, out_scale,
                                          out_zp, out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, table),
                             MQ_OK);
            check_table(&d, in_scale, in_zp, in_u8, out_scale, out_zp, out_u8, table);
        }
    }
}

/* Exact ties: identity with out_scale = 2 * in_scale gives (code - zp) / 2, half of them ties: half to even. */
static void test_lut_ties_half_even(void **state)
{
    const mq_activation_desc d = {MQ_ACT_IDENTITY, 0.0, 0.0};
    uint8_t table[256];
    int i;
    (void)state;
    assert_int_equal(mq_lut_build(&d, 0.25, 0, MQ_DTYPE_INT8, 0.5, 0, MQ_DTYPE_INT8, table), MQ_OK);
    for (i = 0; i < 256; ++i) {
        const int32_t code = ref_code((uint8_t)i, 0);
        /* hand rule: code/2 with ties to even: 1 -> 0 (0.5), 3 -> 2 (1.5), 5 -> 2 (2.5), -1 -> 0, -3 -> -2 */
        int32_t expect = code / 2;
        if (code % 2 != 0) {
            const int32_t lo_int = code > 0 ? code / 2 : (code - 1) / 2; /* floor(code / 2) */
            expect = lo_int % 2 == 0 ? lo_int : lo_int + 1;
        }
        assert_int_equal(ref_code(table[i], 0), expect);
    }
    assert_int_equal(ref_code(table[1], 0), 0);
    assert_int_equal(ref_code(table[3], 0), 2);
    assert_int_equal(ref_code(table[5], 0), 2);
    assert_int_equal(ref_code(table[255], 0), 0);   /* -1 -> -0.5 -> 0 */
    assert_int_equal(ref_code(table[253], 0), -2);  /* -3 -> -1.5 -> -2 */
}

/* PyTorch quint8 sigmoid (1/256, 0) and TFLite int8 sigmoid (1/256, -128). */
static void test_sigmoid_conventions(void **state)
{
    const mq_activation_desc d = {MQ_ACT_SIGMOID, 0.0, 0.0};
    double scale;
    int32_t zp;
    uint8_t table[256];
    int i;
    (void)state;
    assert_int_equal(mq_sigmoid_output_qparams(MQ_DTYPE_UINT8, &scale, &zp), MQ_OK);
    assert_true(scale == 1.0 / 256.0);
    assert_int_equal(zp, 0);
    /* PyTorch quint8 input scale 0.05 zp 128: sigmoid(0) = 0.5 -> code 128; saturates at 255 */
    assert_int_equal(mq_lut_build(&d, 0.05, 128, MQ_DTYPE_UINT8, scale, zp, MQ_DTYPE_UINT8, table), MQ_OK);
    assert_int_equal(table[128], 128);
    assert_int_equal(table[148], 187);   /* sigmoid(1.0) * 256 = 187.15 */
    assert_int_equal(table[108], 69);    /* sigmoid(-1.0) * 256 = 68.85 */
    assert_int_equal(table[255], 255);   /* sigmoid(6.35) * 256 = 255.55 -> 256, saturated */
    assert_int_equal(table[0], 0);       /* sigmoid(-6.4) * 256 = 0.42 */
    check_table(&d, 0.05, 128, 1, scale, zp, 1, table);
    for (i = 1; i < 256; ++i) {
        assert_true(table[i] >= table[i - 1]);
    }
    assert_int_equal(mq_lut_build(&d, 0.1, 128, MQ_DTYPE_UINT8, scale, zp, MQ_DTYPE_UINT8, table), MQ_OK);
    assert_int_equal(table[255], 255);   /* sigmoid(12.7) * 256 > 255.5: saturated */
    assert_int_equal(table[0], 0);

    assert_int_equal(mq_sigmoid_output_qparams(MQ_DTYPE_INT8, &scale, &zp), MQ_OK);
    assert_true(scale == 1.0 / 256.0);
    assert_int_equal(zp, -128);
    assert_int_equal(mq_lut_build(&d, 0.1, 0, MQ_DTYPE_INT8, scale, zp, MQ_DTYPE_INT8, table), MQ_OK);
    assert_int_equal(ref_code(table[0], 0), 0);        /* code 0 -> x = 0 -> 0.5 -> -128 + 128 */
    assert_int_equal(ref_code(table[127], 0), 127);    /* sigmoid(12.7) -> 256 -> saturated to 127 */
    assert_int_equal(ref_code(table[128], 0), -128);   /* code -128 -> sigmoid(-12.8) ~ 0 */
    check_table(&d, 0.1, 0, 0, scale, zp, 0, table);
    assert_int_equal(mq_sigmoid_output_qparams(MQ_DTYPE_INT32, &scale, &zp), MQ_ERR_DTYPE);
    assert_int_equal(mq_sigmoid_output_qparams(MQ_DTYPE_INT8, NULL, &zp), MQ_ERR_NULL);
}

/* No NaN / inf anywhere: huge input scales, extreme codes, every function. */
static void test_lut_extreme_no_nan(void **state)
{
    static const double in_scales[] = {1.0, 0.999, 4.0, 100.0, 1e6, 1e300};
    static const double xs[] = {0.0, 1.0, -1.0, 710.0, -710.0, 1e10, -1e10, 1e300, -1e300, DBL_MAX, -DBL_MAX};
    ref_rng r = {32};
    size_t f;
    size_t s;
    (void)state;
    for (f = 0; f < sizeof k_all / sizeof k_all[0]; ++f) {
        const mq_activation_desc d = desc_of(k_all[f], &r);
        for (s = 0; s < sizeof xs / sizeof xs[0]; ++s) {
            const double y = mq_activation_eval(&d, xs[s]);
            assert_true(isfinite(y));
        }
        for (s = 0; s < sizeof in_scales / sizeof in_scales[0]; ++s) {
            uint8_t table[256];
            int zp;
            for (zp = -128; zp <= 127; zp += 255) {
                assert_int_equal(mq_lut_build(&d, in_scales[s], zp, MQ_DTYPE_INT8, 1.0 / 256.0, 0, MQ_DTYPE_INT8, table),
                                 MQ_OK);
                if (in_scales[s] <= 1.0) {
                    check_table(&d, in_scales[s], zp, 0, 1.0 / 256.0, 0, 0, table);
                }
            }
        }
    }
    {
        const mq_activation_desc sig = {MQ_ACT_SIGMOID, 0.0, 0.0};
        const mq_activation_desc bad = {(mq_activation)99, 0.0, 0.0};
        const mq_activation_desc badalpha = {MQ_ACT_ELU, NAN, 0.0};
        uint8_t t[256];
        assert_int_equal(mq_lut_build(NULL, 1.0, 0, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_NULL);
        assert_int_equal(mq_lut_build(&sig, 1.0, 0, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, NULL), MQ_ERR_NULL);
        assert_int_equal(mq_lut_build(&bad, 1.0, 0, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&badalpha, 1.0, 0, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&sig, 0.0, 0, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&sig, INFINITY, 0, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&sig, 1.0, 0, MQ_DTYPE_INT8, NAN, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&sig, 1.0, 128, MQ_DTYPE_INT8, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&sig, 1.0, 0, MQ_DTYPE_UINT8, 1.0, -1, MQ_DTYPE_UINT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&sig, 1.0, 0, MQ_DTYPE_INT32, 1.0, 0, MQ_DTYPE_INT8, t), MQ_ERR_DTYPE);
    }
}

static void test_lut_apply(void **state)
{
    ref_rng r = {33};
    uint8_t table[256];
    uint8_t in[1030];
    uint8_t out[1030];
    uint8_t buf[1030];
    size_t n;
    size_t i;
    (void)state;
    memset(in, 0, sizeof in);
    for (i = 0; i < 256; ++i) {
        table[i] = (uint8_t)ref_range(&r, 0, 255);
    }
    for (n = 0; n <= 1030; n += (n < 20 ? 1 : 101)) {
        for (i = 0; i < n; ++i) {
            in[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        memset(out, 0xEE, sizeof out);
        assert_int_equal(mq_lut_apply(table, in, out, n), MQ_OK);
        for (i = 0; i < n; ++i) {
            assert_int_equal(out[i], table[in[i]]);
        }
        for (i = n; i < sizeof out; ++i) {
            assert_int_equal(out[i], 0xEE);
        }
        memcpy(buf, in, n);
        assert_int_equal(mq_lut_apply(table, buf, buf, n), MQ_OK);   /* in place */
        assert_memory_equal(buf, out, n);
        memset(buf, 0, sizeof buf);
        mq_lut_u8_c(table, in, buf, n);
        assert_memory_equal(buf, out, n);
    }
    assert_int_equal(mq_lut_apply(NULL, in, out, 4), MQ_ERR_NULL);
    assert_int_equal(mq_lut_apply(table, NULL, out, 4), MQ_ERR_NULL);
    assert_int_equal(mq_lut_apply(table, in, NULL, 4), MQ_ERR_NULL);
    assert_int_equal(mq_lut_apply(table, buf, buf + 1, 4), MQ_ERR_BUFFER);  /* partial overlap */
}

/* One pass (FC with the LUT as epilogue) equals two passes (FC into the activation's input codes, then LUT). */
static void test_fused_epilogue(void **state)
{
    ref_rng r = {34};
    int rep;
    (void)state;
    for (rep = 0; rep < 40; ++rep) {
        ref_options o = ref_random_options(&r);
        ref_problem q;
        const mq_activation_desc d = desc_of(k_all[rep % 12], &r);
        const int32_t m = (int32_t)ref_range(&r, 1, 4);
        const int32_t n = (int32_t)ref_range(&r, 1, 30);
        const int32_t k = (int32_t)ref_range(&r, 1, 100);
        uint8_t x[4 * 100];
        uint8_t fused[4 * 30];
        uint8_t plain[4 * 30];
        mq_fc_params p;
        o.use_lut = 0;
        o.shift_mode = 0;
        if (!ref_problem_init(&q, &r, n, k, &o)) {
            ref_problem_free(&q);
            continue;
        }
        assert_int_equal(mq_lut_build(&d, 0.05, q.out_zp, q.p.out_dtype, 1.0 / 64.0, 0, MQ_DTYPE_INT8, q.lut), MQ_OK);
        ref_fill_codes(&r, x, (size_t)m * (size_t)k);
        p = q.p;
        assert_int_equal(mq_fully_connected(&p, m, x, plain), MQ_OK);
        assert_int_equal(mq_lut_apply(q.lut, plain, plain, (size_t)m * (size_t)n), MQ_OK);
        p.lut = q.lut;
        assert_int_equal(mq_fully_connected(&p, m, x, fused), MQ_OK);
        assert_memory_equal(fused, plain, (size_t)m * (size_t)n);
        ref_problem_free(&q);
    }
}

static int report(void **state)
{
    (void)state;
    print_message("test_lut: %ld table entries checked, %ld within 1e-12 of a rounding tie (either neighbour accepted)\n",
                  g_entries, g_near_ties);
    return 0;
}

/* Issue 13: alpha/beta are ignored by the functions that do not use them (NaN and inf included): the table is
 * the one built with alpha = beta = 0; HardSigmoid (alpha, beta) and ELU (alpha) still reject non-finite ones. */
static void test_lut_unused_alpha_beta_ignored(void **state)
{
    const mq_activation fns[] = {MQ_ACT_IDENTITY, MQ_ACT_SIGMOID, MQ_ACT_SILU, MQ_ACT_TANH, MQ_ACT_HARDSWISH,
                                 MQ_ACT_GELU, MQ_ACT_MISH, MQ_ACT_EXP, MQ_ACT_RELU, MQ_ACT_RELU6};
    const double junk[] = {NAN, INFINITY, -INFINITY, 1e308};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof fns / sizeof fns[0]; ++i) {
        mq_activation_desc clean = {fns[i], 0.0, 0.0};
        uint8_t want[256];
        assert_int_equal(mq_lut_build(&clean, 0.05, 3, MQ_DTYPE_INT8, 0.01, -128, MQ_DTYPE_INT8, want), MQ_OK);
        for (j = 0; j < sizeof junk / sizeof junk[0]; ++j) {
            mq_activation_desc d = {fns[i], junk[j], junk[(j + 1) % 4]};
            uint8_t got[256];
            assert_int_equal(mq_lut_build(&d, 0.05, 3, MQ_DTYPE_INT8, 0.01, -128, MQ_DTYPE_INT8, got), MQ_OK);
            assert_memory_equal(got, want, 256);
        }
    }
    {
        mq_activation_desc hs = {MQ_ACT_HARDSIGMOID, NAN, 0.5};
        mq_activation_desc hs2 = {MQ_ACT_HARDSIGMOID, 0.2, INFINITY};
        mq_activation_desc elu = {MQ_ACT_ELU, NAN, 0.0};
        mq_activation_desc elu_beta = {MQ_ACT_ELU, 1.0, NAN};            /* ELU ignores beta */
        uint8_t t[256];
        assert_int_equal(mq_lut_build(&hs, 0.05, 0, MQ_DTYPE_INT8, 0.01, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&hs2, 0.05, 0, MQ_DTYPE_INT8, 0.01, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&elu, 0.05, 0, MQ_DTYPE_INT8, 0.01, 0, MQ_DTYPE_INT8, t), MQ_ERR_QPARAMS);
        assert_int_equal(mq_lut_build(&elu_beta, 0.05, 0, MQ_DTYPE_INT8, 0.01, 0, MQ_DTYPE_INT8, t), MQ_OK);
    }
}

/* Issue 13: one call per LUT layer from float qparams; the table equals mq_lut_build's, qparams are recorded,
 * and sigmoid insists on its fixed output qparams. */
static void test_lut_layer_prepare(void **state)
{
    mq_activation_desc silu = {MQ_ACT_SILU, 0.0, 0.0};
    mq_activation_desc sig = {MQ_ACT_SIGMOID, 0.0, 0.0};
    mq_lut_layer layer;
    uint8_t want[256], out[256], in[256];
    int i;
    (void)state;
    assert_int_equal(mq_lut_layer_prepare(&silu, 0.04, 10, MQ_DTYPE_UINT8, 0.03, 5, MQ_DTYPE_INT8, &layer), MQ_OK);
    assert_int_equal(mq_lut_build(&silu, 0.04, 10, MQ_DTYPE_UINT8, 0.03, 5, MQ_DTYPE_INT8, want), MQ_OK);
    assert_memory_equal(layer.table, want, 256);
    assert_int_equal(layer.in_dtype, MQ_DTYPE_UINT8);
    assert_int_equal(layer.out_dtype, MQ_DTYPE_INT8);
    assert_int_equal(layer.in_zero_point, 10);
    assert_int_equal(layer.out_zero_point, 5);
    for (i = 0; i < 256; ++i) {
        in[i] = (uint8_t)i;
    }
    assert_int_equal(mq_lut_apply(layer.table, in, out, 256), MQ_OK);
    assert_memory_equal(out, want, 256);
    assert_int_equal(mq_lut_layer_prepare(&sig, 0.04, 0, MQ_DTYPE_INT8, 1.0 / 256, -128, MQ_DTYPE_INT8, &layer), MQ_OK);
    assert_int_equal(mq_lut_layer_prepare(&sig, 0.04, 0, MQ_DTYPE_INT8, 1.0 / 128, -128, MQ_DTYPE_INT8, &layer),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_lut_layer_prepare(&sig, 0.04, 0, MQ_DTYPE_UINT8, 1.0 / 256, -128, MQ_DTYPE_UINT8, &layer),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_lut_layer_prepare(&silu, 0.0, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, &layer),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_lut_layer_prepare(&silu, 0.1, 0, MQ_DTYPE_INT32, 0.1, 0, MQ_DTYPE_INT8, &layer),
                     MQ_ERR_DTYPE);
    assert_int_equal(mq_lut_layer_prepare(NULL, 0.1, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, &layer), MQ_ERR_NULL);
    assert_int_equal(mq_lut_layer_prepare(&silu, 0.1, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, NULL), MQ_ERR_NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lut_build_vs_reference),
        cmocka_unit_test(test_lut_ties_half_even),
        cmocka_unit_test(test_sigmoid_conventions),
        cmocka_unit_test(test_lut_extreme_no_nan),
        cmocka_unit_test(test_lut_apply),
        cmocka_unit_test(test_fused_epilogue),
        cmocka_unit_test(test_lut_unused_alpha_beta_ignored),
        cmocka_unit_test(test_lut_layer_prepare),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
