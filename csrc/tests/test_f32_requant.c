/*
 * onnxruntime's float32 output stage emulated with integers (mq_requantize_f32_emul, mq_output_f32_emul;
 * MQ_MODEL_FLAG_ORT_FLOAT32, docs/QUANTIZATION.md section 3) against float32 arithmetic done here, as MLAS
 * MlasRequantizeOutput does it: v = (float)acc * scale (one float32 multiply, round to nearest even), clamped to
 * [lo - zp, hi - zp] in float, rounded to an integer half to even (nearbyint), + zp.
 * Values: random accumulators of every magnitude (|acc| >= 2^24 included, INT32_MIN / INT32_MAX), random float32
 * scales over the whole accepted range (2^-62 .. 2^30: shift -31 .. 30), exact ties (scale 2^-j, odd acc) and
 * float32 near-ties (scale = float32((n + 0.5) / acc), where the float32 product often lands on n + 0.5).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "microquant/mq_kernels.h"
#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "ref_quant.h"

/* float32 reference: RNE(fl32(fl32(acc) * s)) */
static int64_t ref_f32(int32_t acc, float s)
{
    volatile float fa = (float)acc;
    volatile float v = fa * s;
    return (int64_t)nearbyint((double)v);
}

/* ORT's whole stage: clamp the float, round, + zero point */
static int32_t ref_f32_stage(int32_t acc, float s, int32_t zp, int32_t lo, int32_t hi)
{
    volatile float fa = (float)acc;
    volatile float v = fa * s;
    const float flo = (float)(lo - zp), fhi = (float)(hi - zp);
    v = v < flo ? flo : (v > fhi ? fhi : v);
    return (int32_t)nearbyintf(v) + zp;
}

/* float32 scale -> (M, shift), s = M * 2^(shift - 31) exactly */
static void to_q31(float s, int32_t *m, int32_t *shift)
{
    int e = 0;
    const float f = frexpf(s, &e);
    *m = (int32_t)ldexpf(f, 31);
    *shift = e;
}

static long g_checked, g_ties;

static void check_one(int32_t acc, float s)
{
    int32_t m, sh;
    int64_t got, want;
    to_q31(s, &m, &sh);
    if (sh < -31 || sh > 30) {
        return;
    }
    assert_true(mq_multiplier_is_f32(m));
    got = mq_requantize_f32_emul(acc, m, sh);
    want = ref_f32(acc, s);
    if (got != want) {
        fprintf(stderr, "acc %ld scale %.9g (M %ld shift %ld): emulation %lld, float32 %lld\n", (long)acc, (double)s,
                (long)m, (long)sh, (long long)got, (long long)want);
    }
    assert_true(got == want);
    {
        volatile float v = (float)acc * s;
        if (v - floorf(v) == 0.5f) {
            g_ties++;
        }
    }
    g_checked++;
}

static int32_t rand_acc(ref_rng *r)
{
    const int bits = (int)ref_range(r, 0, 31);
    int64_t a = (int64_t)(ref_next(r) & 0x7FFFFFFFu) >> (31 - bits);
    if (ref_range(r, 0, 1)) {
        a = -a;
    }
    return (int32_t)a;
}

static float rand_scale(ref_rng *r, int lo_exp, int hi_exp)
{
    const uint32_t mant = (ref_next(r) & 0x7FFFFFu) | 0x800000u;
    return ldexpf((float)mant, (int)ref_range(r, lo_exp, hi_exp) - 23);
}

static void test_f32_random(void **state)
{
    ref_rng r = {2026};
    long i;
    (void)state;
    g_checked = g_ties = 0;
    for (i = 0; i < 2000000; ++i) {
        /* the usual requantization range (|acc * s| up to a few hundred) and the whole accepted range */
        const float s = i % 4 == 0 ? rand_scale(&r, -62, 29) : rand_scale(&r, -24, -2);
        check_one(rand_acc(&r), s);
    }
    printf("random: %ld checked, %ld float32 ties\n", g_checked, g_ties);
}

static void test_f32_edges(void **state)
{
    static const int32_t accs[] = {0, 1, -1, 2, -2, 3, -3, (1 << 24) - 1, 1 << 24, (1 << 24) + 1, (1 << 24) + 3,
                                   -(1 << 24) - 1, -(1 << 24) - 3, (1 << 25) + 2, (1 << 25) + 6, INT32_MAX,
                                   INT32_MIN, INT32_MIN + 1, INT32_MAX - 64, 0x7FFFFFC0, 14613, -14613};
    ref_rng r = {5};
    size_t a;
    int j;
    long i;
    (void)state;
    g_checked = g_ties = 0;
    for (a = 0; a < sizeof(accs) / sizeof(accs[0]); ++a) {
        for (j = -62; j <= 29; ++j) {
            check_one(accs[a], ldexpf(1.0f, j));                       /* exact ties for odd acc, j = -1 */
            check_one(accs[a], ldexpf(0.75f, j));
            check_one(accs[a], ldexpf((float)0xFFFFFF, j - 24));        /* largest mantissa */
            check_one(accs[a], rand_scale(&r, j, j));
        }
    }
    /* float32 near-ties: scale = float32((n + 0.5) / acc) */
    for (i = 0; i < 2000000; ++i) {
        int32_t acc = rand_acc(&r);
        const double n = (double)ref_range(&r, -300, 300) + 0.5;
        float s;
        if (acc == 0) {
            continue;
        }
        s = (float)(n / (double)acc);
        if (!(s > 0.0f)) {
            s = -s;
            acc = acc == INT32_MIN ? INT32_MAX : -acc;
        }
        if (s > 0.0f) {
            check_one(acc, s);
        }
    }
    printf("edges and near-ties: %ld checked, %ld float32 ties\n", g_checked, g_ties);
    assert_true(g_ties > 10000); /* the ties were really exercised */
}

/* The whole output stage: clamp, zero point, LUT-free byte, against ORT's float clamp then rounding. */
static void test_f32_output_stage(void **state)
{
    ref_rng r = {99};
    long i;
    (void)state;
    for (i = 0; i < 500000; ++i) {
        const int u8 = (int)ref_range(&r, 0, 1);
        const int32_t qmin = u8 ? 0 : -128, qmax = u8 ? 255 : 127;
        const int32_t zp = (int32_t)ref_range(&r, qmin, qmax);
        const int32_t lo = (int32_t)ref_range(&r, qmin, zp), hi = (int32_t)ref_range(&r, zp, qmax);
        const int32_t acc = rand_acc(&r);
        const float s = rand_scale(&r, -24, -4);
        int32_t m, sh;
        uint8_t got;
        int32_t want;
        to_q31(s, &m, &sh);
        got = mq_output_f32_emul((uint32_t)acc, m, sh, zp, lo, hi, NULL);
        want = ref_f32_stage(acc, s, zp, lo, hi);
        assert_int_equal(got, (uint8_t)(want & 0xFF));
    }
}

/* MEAN with MQ_MODEL_FLAG_ORT_FLOAT32 (mq_mean_f32_unchecked) against onnxruntime's global average pool done here in
 * float32: scale = s_in / (s_out * (float)n), v = (float)(sum - n * zp_in) * scale, clamp, nearbyint, + zp_out. */
static void test_f32_mean(void **state)
{
    ref_rng r = {31};
    int rep;
    long checked = 0;
    (void)state;
    for (rep = 0; rep < 3000; ++rep) {
        const int u8 = (int)ref_range(&r, 0, 1);
        const mq_dtype dt = u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const int32_t qmin = u8 ? 0 : -128, qmax = u8 ? 255 : 127;
        uint8_t x[4 * 9 * 9 * 5], y[4 * 5];
        mq_mean_params p;
        float s_in, s_out, scale;
        int32_t m, sh;
        int b, c, i;
        p.batch = (int32_t)ref_range(&r, 1, 4);
        p.h = (int32_t)ref_range(&r, 1, 9);
        p.w = (int32_t)ref_range(&r, 1, 9);
        p.channels = (int32_t)ref_range(&r, 1, 5);
        p.in_dtype = p.out_dtype = dt;
        p.in_zero_point = (int32_t)ref_range(&r, qmin, qmax);
        p.out_zero_point = (int32_t)ref_range(&r, qmin, qmax);
        p.act_min = qmin;
        p.act_max = qmax;
        s_in = rand_scale(&r, -9, -3);
        s_out = rep % 5 == 0 ? s_in : rand_scale(&r, -9, -3);
        scale = s_in / (s_out * (float)(p.h * p.w));
        to_q31(scale, &m, &sh);
        if (scale < 0x1.0p-8f) { /* not representable with shift 0 in mq_mean's unnormalized form: rejected at pack */
            continue;
        }
        /* mq_mean's form: shift >= 0, M = scale * 2^(31 - shift) < 2^31 (shift 0 for scale < 1) */
        sh = 0;
        while (ldexpf(scale, 31 - sh) >= 2147483648.0f) {
            sh++;
        }
        m = (int32_t)ldexpf(scale, 31 - sh);
        p.multiplier = m;
        p.shift = sh;
        for (i = 0; i < p.batch * p.h * p.w * p.channels; ++i) {
            x[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        assert_int_equal(mq_mean_check(&p), MQ_OK);
        mq_mean_f32_unchecked(&p, x, y);
        for (b = 0; b < p.batch; ++b) {
            for (c = 0; c < p.channels; ++c) {
                int32_t sum = 0;
                volatile float v;
                int32_t want;
                for (i = 0; i < p.h * p.w; ++i) {
                    const uint8_t q = x[((size_t)b * (size_t)(p.h * p.w) + (size_t)i) * (size_t)p.channels + (size_t)c];
                    sum += u8 ? (int32_t)q : (int32_t)(int8_t)q;
                }
                v = (float)(sum - p.h * p.w * p.in_zero_point) * scale;
                v = v < (float)(qmin - p.out_zero_point) ? (float)(qmin - p.out_zero_point)
                                                         : (v > (float)(qmax - p.out_zero_point) ? (float)(qmax - p.out_zero_point) : v);
                want = (int32_t)nearbyintf(v) + p.out_zero_point;
                assert_int_equal(y[b * p.channels + c], (uint8_t)(want & 0xFF));
                checked++;
            }
        }
    }
    printf("mean: %ld outputs checked\n", checked);
}

static void test_f32_accepted_multipliers(void **state)
{
    (void)state;
    assert_true(mq_multiplier_is_f32(0));
    assert_true(mq_multiplier_is_f32(1 << 30));
    assert_true(mq_multiplier_is_f32(0x7FFFFF80));
    assert_false(mq_multiplier_is_f32(0x7FFFFFFF)); /* 31 significant bits: not a float32 scale */
    assert_false(mq_multiplier_is_f32((1 << 30) + 1));
    assert_false(mq_multiplier_is_f32(1 << 29));    /* not normalized */
    assert_false(mq_multiplier_is_f32(-(1 << 30)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_random),
        cmocka_unit_test(test_f32_edges),
        cmocka_unit_test(test_f32_output_stage),
        cmocka_unit_test(test_f32_mean),
        cmocka_unit_test(test_f32_accepted_multipliers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
