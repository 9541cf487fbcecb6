/*
 * Host prepare functions not covered elsewhere: N4K16 packing (every packed byte vs the layout formula,
 * zero padding, buffer size), bias folding (int64 reference, overflow rejection, NULL bias), and the
 * float64 activation references (vs long double within a few ulp, finite at extreme inputs, symmetry).
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
#include "ref_quant.h"

static void test_pack_layout(void **state)
{
    ref_rng r = {71};
    int rep;
    (void)state;
    for (rep = 0; rep < 200; ++rep) {
        const int32_t n = (int32_t)ref_range(&r, 1, 13);
        const int32_t k = rep == 0 ? 4096 : (int32_t)ref_range(&r, 1, 70);
        const size_t groups = (size_t)(n + 3) / 4;
        const size_t chunks = (size_t)(k + 15) / 16;
        const size_t size = groups * chunks * 64u;
        int8_t *w = (int8_t *)malloc((size_t)n * (size_t)k);
        int8_t *packed = (int8_t *)malloc(size + 16);
        size_t g;
        size_t c;
        size_t row;
        size_t j;
        size_t i;
        assert_non_null(w);
        assert_non_null(packed);
        for (i = 0; i < (size_t)n * (size_t)k; ++i) {
            w[i] = (int8_t)ref_range(&r, -128, 127);
        }
        assert_int_equal(mq_packed_weights_size_n4k16(n, k), size);
        memset(packed, 0x77, size + 16);
        assert_int_equal(mq_pack_weights_n4k16(w, n, k, packed, size - 1), MQ_ERR_BUFFER);
        assert_int_equal(mq_pack_weights_n4k16(w, n, k, packed, size), MQ_OK);
        for (g = 0; g < groups; ++g) {
            for (c = 0; c < chunks; ++c) {
                for (row = 0; row < 4; ++row) {
                    for (j = 0; j < 16; ++j) {
                        const size_t rr = 4 * g + row;
                        const size_t kk = 16 * c + j;
                        const int8_t expect = rr < (size_t)n && kk < (size_t)k ? w[rr * (size_t)k + kk] : 0;
                        assert_int_equal(packed[((g * chunks + c) * 4 + row) * 16 + j], expect);
                    }
                }
            }
        }
        for (i = size; i < size + 16; ++i) {
            assert_int_equal(packed[i], 0x77);  /* nothing written past the packed size */
        }
        free(w);
        free(packed);
    }
    {
        int8_t w[4] = {0};
        int8_t p[64];
        assert_int_equal(mq_packed_weights_size_n4k16(0, 5), 0u);
        assert_int_equal(mq_packed_weights_size_n4k16(5, -1), 0u);
        assert_int_equal(mq_pack_weights_n4k16(NULL, 1, 1, p, 64), MQ_ERR_NULL);
        assert_int_equal(mq_pack_weights_n4k16(w, 1, 1, NULL, 64), MQ_ERR_NULL);
        assert_int_equal(mq_pack_weights_n4k16(w, 0, 1, p, 64), MQ_ERR_SHAPE);
        assert_int_equal(mq_pack_weights_n4k16(w, 1, -2, p, 64), MQ_ERR_SHAPE);
    }
}

static void test_fold_bias(void **state)
{
    ref_rng r = {72};
    int rep;
    (void)state;
    for (rep = 0; rep < 300; ++rep) {
        const int32_t n = (int32_t)ref_range(&r, 1, 9);
        const int32_t k = (int32_t)ref_range(&r, 1, 300);
        const int in_u8 = rep & 1;
        const int32_t zp = in_u8 ? (int32_t)ref_range(&r, 0, 255) : (int32_t)ref_range(&r, -128, 127);
        const int with_bias = rep % 3 != 0;
        int8_t *w = (int8_t *)malloc((size_t)n * (size_t)k);
        int32_t bias[9];
        int32_t folded[9];
        int32_t row;
        int32_t col;
        assert_non_null(w);
        for (col = 0; col < n * k; ++col) {
            w[col] = (int8_t)ref_range(&r, -128, 127);
        }
        for (row = 0; row < n; ++row) {
            bias[row] = (int32_t)ref_range(&r, -1000000, 1000000);
        }
        assert_int_equal(mq_fold_bias(w, with_bias ? bias : NULL, n, k, zp, in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8,
                                      folded),
                         MQ_OK);
        for (row = 0; row < n; ++row) {
            /* folded + sum((x - 128 or x) * w) == bias + sum((x - zp) * w) for every x: check with x = zp */
            int64_t s = 0;
            for (col = 0; col < k; ++col) {
                const int64_t x_signed = in_u8 ? zp - 128 : zp;
                s += x_signed * w[row * k + col];
            }
            assert_true((int64_t)folded[row] + s == (with_bias ? bias[row] : 0));
        }
        free(w);
    }
    {
        /* overflow of the folded value is rejected, not wrapped */
        int8_t w[4] = {127, 127, 127, 127};
        int32_t bias[1] = {INT32_MAX - 10};
        int32_t folded[1];
        assert_int_equal(mq_fold_bias(w, bias, 1, 4, -1, MQ_DTYPE_INT8, folded), MQ_ERR_QPARAMS);
        assert_int_equal(mq_fold_bias(w, bias, 1, 4, 128, MQ_DTYPE_UINT8, folded), MQ_OK);
        assert_int_equal(folded[0], INT32_MAX - 10);
        assert_int_equal(mq_fold_bias(w, bias, 1, 4, 128, MQ_DTYPE_INT8, folded), MQ_ERR_QPARAMS);
        assert_int_equal(mq_fold_bias(w, bias, 1, 4, 256, MQ_DTYPE_UINT8, folded), MQ_ERR_QPARAMS);
        assert_int_equal(mq_fold_bias(w, bias, 1, 4, 0, MQ_DTYPE_INT32, folded), MQ_ERR_DTYPE);
        assert_int_equal(mq_fold_bias(NULL, bias, 1, 4, 0, MQ_DTYPE_INT8, folded), MQ_ERR_NULL);
        assert_int_equal(mq_fold_bias(w, bias, 1, 4, 0, MQ_DTYPE_INT8, NULL), MQ_ERR_NULL);
        assert_int_equal(mq_fold_bias(w, bias, 0, 4, 0, MQ_DTYPE_INT8, folded), MQ_ERR_SHAPE);
    }
}

static long double ref_f(mq_activation fn, long double a, long double b, long double x)
{
    switch (fn) {
    case MQ_ACT_SIGMOID: return 1.0L / (1.0L + expl(-x));
    case MQ_ACT_SILU: return x / (1.0L + expl(-x));
    case MQ_ACT_TANH: return tanhl(x);
    case MQ_ACT_HARDSIGMOID: return fminl(1.0L, fmaxl(0.0L, a * x + b));
    case MQ_ACT_HARDSWISH: return x * fminl(6.0L, fmaxl(0.0L, x + 3.0L)) / 6.0L;
    case MQ_ACT_GELU: return 0.5L * x * erfcl(-x / sqrtl(2.0L));
    case MQ_ACT_ELU: return x > 0 ? x : a * expm1l(x);
    case MQ_ACT_MISH: return x * tanhl(log1pl(expl(x)));
    case MQ_ACT_EXP: return expl(x);
    case MQ_ACT_RELU: return x > 0 ? x : 0;
    case MQ_ACT_RELU6: return x > 0 ? fminl(x, 6.0L) : 0;
    case MQ_ACT_IDENTITY: return x;
    }
    return 0;
}

static void test_activation_eval(void **state)
{
    static const mq_activation all[] = {MQ_ACT_IDENTITY, MQ_ACT_SIGMOID, MQ_ACT_SILU, MQ_ACT_TANH,
                                        MQ_ACT_HARDSIGMOID, MQ_ACT_HARDSWISH, MQ_ACT_GELU, MQ_ACT_ELU,
                                        MQ_ACT_MISH, MQ_ACT_EXP, MQ_ACT_RELU, MQ_ACT_RELU6};
    static const double extremes[] = {DBL_MAX, -DBL_MAX, 1e300, -1e300, 1e20, -1e20, 745.0, -745.0, 710.0,
                                      -710.0, DBL_MIN, -DBL_MIN, 4.9e-324, 0.0, -0.0};
    ref_rng r = {73};
    size_t f;
    size_t e;
    int i;
    (void)state;
    for (f = 0; f < sizeof all / sizeof all[0]; ++f) {
        mq_activation_desc d;
        d.fn = all[f];
        d.alpha = all[f] == MQ_ACT_HARDSIGMOID ? 1.0 / 6.0 : 1.0;
        d.beta = 0.5;
        for (e = 0; e < sizeof extremes / sizeof extremes[0]; ++e) {
            const double y = mq_activation_eval(&d, extremes[e]);
            if (!isfinite(y)) {
                fail_msg("activation %d not finite at x=%g", (int)all[f], extremes[e]);
            }
        }
        for (i = 0; i < 20000; ++i) {
            const double x = (ref_unit(&r) * 2.0 - 1.0) * (i % 2 ? 8.0 : 40.0);
            const long double ref = ref_f(all[f], (long double)d.alpha, (long double)d.beta, (long double)x);
            const double y = mq_activation_eval(&d, x);
            /* relative 8 double ulp (DBL_EPSILON = 2048 LDBL_EPSILON), or absolute 1e-300 near zero; alpha*x + beta
             * cancels near the hard-sigmoid knee, so there the error is relative to the terms (<= 1.5) */
            const long double mag = all[f] == MQ_ACT_HARDSIGMOID ? 1.5L
                                    /* erfc(z) ~ exp(-z^2): rounding x / sqrt(2) costs a relative z^2 * eps */
                                    : (all[f] == MQ_ACT_GELU ? fabsl(ref) * (1.0L + (long double)(x * x))
                                                             : fabsl(ref));
            if (fabsl((long double)y - ref) > 8.0L * LDBL_EPSILON * 2048.0L * mag + 1e-300L) {
                fail_msg("activation %d at x=%.17g: %.17g vs %.17Lg", (int)all[f], x, y, ref);
            }
        }
    }
    {
        const mq_activation_desc sig = {MQ_ACT_SIGMOID, 0.0, 0.0};
        const mq_activation_desc ex = {MQ_ACT_EXP, 0.0, 0.0};
        assert_true(mq_activation_eval(&sig, 0.0) == 0.5);
        assert_true(mq_activation_eval(&sig, -800.0) >= 0.0);
        assert_true(mq_activation_eval(&sig, 800.0) == 1.0);
        assert_true(mq_activation_eval(&ex, 1000.0) == DBL_MAX);
        for (i = 0; i < 1000; ++i) {
            const double x = ref_unit(&r) * 30.0;
            assert_true(fabs(mq_activation_eval(&sig, x) + mq_activation_eval(&sig, -x) - 1.0) <= 2.3e-16);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_layout),
        cmocka_unit_test(test_fold_bias),
        cmocka_unit_test(test_activation_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
