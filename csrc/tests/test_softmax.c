/*
 * Softmax: mq_softmax_build_exp_table against long double exp, and mq_softmax against (a) the documented
 * integer formula re-derived here in int64 and (b) the float64 softmax of the dequantized inputs
 * (within one output code); shapes [outer, axis, inner] incl. axis 1 and large axes; in place; rejections.
 */
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

static long g_checked;

static void test_exp_table(void **state)
{
    static const double scales[] = {1.0 / 256.0, 0.01, 0.0625, 0.1, 0.5, 1.0, 10.0, 1e-6};
    size_t s;
    int d;
    uint32_t t[256];
    (void)state;
    for (s = 0; s < sizeof scales / sizeof scales[0]; ++s) {
        assert_int_equal(mq_softmax_build_exp_table(scales[s], t), MQ_OK);
        assert_int_equal(t[0], 65536u);
        for (d = 0; d < 256; ++d) {
            const long double v = expl(-(long double)d * (long double)scales[s]) * 65536.0L;
            const long double f = floorl(v);
            const uint32_t expect = (uint32_t)(v - f > 0.5L ? f + 1.0L : (v - f < 0.5L ? f : (fmodl(f, 2.0L) == 0 ? f : f + 1.0L)));
            if (fabsl(v - f - 0.5L) < 1e-9L) {
                assert_true(t[d] == (uint32_t)f || t[d] == (uint32_t)f + 1u);
            } else {
                assert_int_equal(t[d], expect);
            }
            if (d > 0) {
                assert_true(t[d] <= t[d - 1]);
            }
        }
    }
    assert_int_equal(mq_softmax_build_exp_table(0.0, t), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_build_exp_table(-1.0, t), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_build_exp_table(INFINITY, t), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_build_exp_table(NAN, t), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_build_exp_table(0.1, NULL), MQ_ERR_NULL);
}

static void run_softmax(ref_rng *r, int32_t outer, int32_t axis, int32_t inner, int in_u8, int out_u8, double scale)
{
    const size_t total = (size_t)outer * (size_t)axis * (size_t)inner;
    uint32_t table[256];
    uint8_t *x = (uint8_t *)malloc(total);
    uint8_t *y = (uint8_t *)malloc(total);
    mq_softmax_params p;
    int32_t o;
    int32_t i;
    int32_t j;
    const int32_t zp = out_u8 ? 0 : -128;
    const int32_t hi = out_u8 ? 255 : 127;
    const int narrow = ref_range(r, 0, 2) == 0;
    size_t t;
    assert_non_null(x);
    assert_non_null(y);
    for (t = 0; t < total; ++t) {
        x[t] = narrow ? (uint8_t)ref_range(r, 100, 110) : (uint8_t)ref_range(r, 0, 255);
    }
    assert_int_equal(mq_softmax_build_exp_table(scale, table), MQ_OK);
    p.outer = outer;
    p.axis_size = axis;
    p.inner = inner;
    p.in_dtype = in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.out_dtype = out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.exp_table = table;
    assert_int_equal(mq_softmax(&p, x, y), MQ_OK);
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < inner; ++i) {
            int32_t mx = INT32_MIN;
            int64_t sum = 0;
            double fsum = 0.0;
            for (j = 0; j < axis; ++j) {
                const int32_t v = ref_code(x[((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i], in_u8);
                mx = v > mx ? v : mx;
            }
            for (j = 0; j < axis; ++j) {
                const int32_t v = ref_code(x[((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i], in_u8);
                sum += table[mx - v];
                fsum += exp((double)(v - mx) * scale);
            }
            for (j = 0; j < axis; ++j) {
                const size_t idx = ((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i;
                const int32_t v = ref_code(x[idx], in_u8);
                const int64_t q = (256 * (int64_t)table[mx - v] + sum / 2) / sum;
                const int32_t expect = (int32_t)(zp + q > hi ? hi : zp + q);
                const int32_t got = ref_code(y[idx], out_u8);
                const double real = 256.0 * exp((double)(v - mx) * scale) / fsum + zp;
                assert_int_equal(got, expect);
                if (fabs((double)got - fmin(real, (double)hi)) > 1.0) {
                    fail_msg("softmax: code %d vs float %.4f (axis %d scale %g)", got, real, axis, scale);
                }
                ++g_checked;
            }
        }
    }
    /* in place gives the same bytes */
    {
        uint8_t *z = (uint8_t *)malloc(total);
        assert_non_null(z);
        memcpy(z, x, total);
        assert_int_equal(mq_softmax(&p, z, z), MQ_OK);
        assert_memory_equal(z, y, total);
        free(z);
    }
    free(x);
    free(y);
}

static void test_softmax_random(void **state)
{
    ref_rng r = {51};
    int rep;
    (void)state;
    for (rep = 0; rep < 300; ++rep) {
        const double scale = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -8, 0));
        run_softmax(&r, (int32_t)ref_range(&r, 1, 4), (int32_t)ref_range(&r, 1, 40), (int32_t)ref_range(&r, 1, 5),
                    (int)ref_range(&r, 0, 1), (int)ref_range(&r, 0, 1), scale);
    }
    run_softmax(&r, 1, 1, 1, 0, 0, 0.1);        /* a single element: probability 1 -> saturated top code */
    run_softmax(&r, 1, 1, 7, 1, 1, 0.1);
    run_softmax(&r, 1, 1000, 1, 0, 1, 0.05);
    run_softmax(&r, 2, 10, 3, 1, 0, 1.0 / 16.0);
    run_softmax(&r, 1, 65535, 1, 1, 1, 0.001);  /* largest axis: the uint32 sum is at its limit */
}

static void test_softmax_rejects_bad(void **state)
{
    uint32_t table[256];
    uint8_t x[16] = {0};
    uint8_t y[16];
    mq_softmax_params p;
    mq_softmax_params bad;
    (void)state;
    assert_int_equal(mq_softmax_build_exp_table(0.1, table), MQ_OK);
    p.outer = 2;
    p.axis_size = 4;
    p.inner = 2;
    p.in_dtype = MQ_DTYPE_INT8;
    p.out_dtype = MQ_DTYPE_UINT8;
    p.exp_table = table;
    assert_int_equal(mq_softmax(&p, x, y), MQ_OK);
    assert_int_equal(mq_softmax(NULL, x, y), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(&p, NULL, y), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(&p, x, NULL), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(&p, y, y + 1), MQ_ERR_BUFFER);
#define EXPECT_BAD(field, value, status)                  \
    do {                                                  \
        bad = p;                                          \
        bad.field = value;                                \
        assert_int_equal(mq_softmax(&bad, x, y), status); \
    } while (0)
    EXPECT_BAD(exp_table, NULL, MQ_ERR_NULL);
    EXPECT_BAD(outer, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(axis_size, -1, MQ_ERR_SHAPE);
    EXPECT_BAD(inner, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(axis_size, 65536, MQ_ERR_SHAPE);
    EXPECT_BAD(in_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    EXPECT_BAD(out_dtype, (mq_dtype)0, MQ_ERR_DTYPE);
#undef EXPECT_BAD
    table[0] = 65535;
    assert_int_equal(mq_softmax(&p, x, y), MQ_ERR_QPARAMS);
    table[0] = 65536;
    table[9] = 65537;
    assert_int_equal(mq_softmax(&p, x, y), MQ_ERR_QPARAMS);
}

static int report(void **state)
{
    (void)state;
    print_message("test_softmax: %ld outputs compared, 0 mismatches\n", g_checked);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_table),
        cmocka_unit_test(test_softmax_random),
        cmocka_unit_test(test_softmax_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
