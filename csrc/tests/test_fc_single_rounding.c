/*
 * Single-rounding requantization (mq_requantize_single) and FULLY_CONNECTED in that mode
 * (mq_fully_connected_single_rounding), against references written from the definition:
 * round(acc * M * 2^(shift - 31)) with ties toward +infinity, computed in long double (x86: 64-bit
 * mantissa, so acc * M < 2^62 and the halving are exact), and the unfolded int64 dot product of ref_gemm.h.
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
#include "microquant/mq_model.h"
#include "ref_gemm.h"

/* floor(acc * m / 2^(31 - shift) + 1/2), exact in long double, saturated to int32. */
static int32_t ref_single(int32_t acc, int32_t m, int32_t shift)
{
    const long double y = ldexpl((long double)acc * (long double)m, (int)shift - 31);
    const long double r = floorl(y + 0.5L);
    return r > 2147483647.0L ? INT32_MAX : (r < -2147483648.0L ? INT32_MIN : (int32_t)r);
}

static void test_requantize_single(void **state)
{
    ref_rng r = {77};
    int32_t shift;
    long n;
    (void)state;
    assert_true(LDBL_MANT_DIG >= 64);
    for (shift = MQ_SHIFT_MIN; shift <= MQ_SHIFT_MAX; ++shift) {
        for (n = 0; n < 20000; ++n) {
            const int32_t m = n % 50 == 0 ? 0 : ref_multiplier(&r);
            int32_t acc = (int32_t)ref_range(&r, INT32_MIN, INT32_MAX);
            if (n % 3 == 0) {
                acc = (int32_t)ref_range(&r, -100000, 100000);
            }
            assert_int_equal(mq_requantize_single(acc, m, shift), ref_single(acc, m, shift));
        }
        /* exact ties: acc * m = odd * 2^(30 - shift), with m = 2^30 */
        if (shift <= 0) {
            const int32_t t = 31 - shift;          /* total shift; acc * 2^30 / 2^t = acc / 2^(t - 30) */
            const int32_t e = t - 30;             /* 1..32 */
            if (e <= 30) {
                int32_t j;
                for (j = -5; j <= 5; ++j) {
                    const int64_t a = (2 * (int64_t)j + 1) * ((int64_t)1 << (e - 1));
                    if (a >= INT32_MIN && a <= INT32_MAX) {
                        const int32_t got = mq_requantize_single((int32_t)a, 1 << 30, shift);
                        assert_int_equal(got, j + 1);       /* (j + 1/2) rounds up to j + 1 */
                        assert_int_equal(got, ref_single((int32_t)a, 1 << 30, shift));
                    }
                }
            }
        }
    }
    /* the documented example of double vs single rounding: acc 5, M 0.25 */
    assert_int_equal(mq_requantize(5, 1 << 30, -1), 2);
    assert_int_equal(mq_requantize_single(5, 1 << 30, -1), 1);
    assert_int_equal(mq_requantize_single(-5, 1 << 30, -1), -1);
}

static void test_fc_single_rounding(void **state)
{
    static const int32_t sizes[] = {1, 3, 4, 5, 16, 17, 33, 640};
    const int ns = (int)(sizeof sizes / sizeof sizes[0]);
    ref_rng r = {78};
    long checked = 0, differs_from_double = 0;
    int a, b, t;
    (void)state;
    for (a = 0; a < ns; ++a) {
        for (b = 0; b < ns; ++b) {
            for (t = 0; t < 3; ++t) {
                const ref_options o = ref_random_options(&r);
                const int32_t m = (int32_t)ref_range(&r, 1, 3);
                const int32_t n = sizes[a], k = sizes[b];
                ref_problem q;
                uint8_t *x, *y, *yd;
                int32_t i, c, kk;
                if (!ref_problem_init(&q, &r, n, k, &o)) {
                    ref_problem_free(&q);
                    continue;
                }
                x = (uint8_t *)malloc((size_t)m * (size_t)k);
                y = (uint8_t *)malloc((size_t)m * (size_t)n);
                yd = (uint8_t *)malloc((size_t)m * (size_t)n);
                assert_non_null(x);
                assert_non_null(y);
                assert_non_null(yd);
                ref_fill_codes(&r, x, (size_t)m * (size_t)k);
                assert_int_equal(mq_fully_connected_single_rounding(&q.p, m, x, y), MQ_OK);
                /* the fast path with the single-rounding output stage (what mq_model_run runs) */
                q.p.single_rounding = 1;
                assert_int_equal(mq_fully_connected(&q.p, m, x, yd), MQ_OK);
                assert_memory_equal(yd, y, (size_t)m * (size_t)n);
                q.p.single_rounding = 0;
                assert_int_equal(mq_fully_connected(&q.p, m, x, yd), MQ_OK);
                for (i = 0; i < m; ++i) {
                    for (c = 0; c < n; ++c) {
                        const int32_t ci = q.per_channel ? c : 0;
                        int64_t acc = q.bias[c], v;
                        int32_t vc;
                        uint8_t want;
                        for (kk = 0; kk < k; ++kk) {
                            acc += (int64_t)(ref_code(x[(size_t)i * (size_t)k + (size_t)kk], q.in_u8) - q.in_zp) *
                                   (int64_t)q.w[(size_t)c * (size_t)k + (size_t)kk];
                        }
                        v = (int64_t)q.out_zp + ref_single(ref_wrap32(acc), q.mult[ci], q.shift[ci]);
                        vc = (int32_t)(v < q.act_min ? q.act_min : (v > q.act_max ? q.act_max : v));
                        want = q.use_lut ? q.lut[ref_byte(vc)] : ref_byte(vc);
                        if (y[(size_t)i * (size_t)n + (size_t)c] != want) {
                            fail_msg("single FC n=%d k=%d row %d ch %d: got %u want %u", n, k, i, c,
                                     y[(size_t)i * (size_t)n + (size_t)c], want);
                        }
                        differs_from_double += y[(size_t)i * (size_t)n + (size_t)c] != yd[(size_t)i * (size_t)n + (size_t)c];
                        ++checked;
                    }
                }
                free(x);
                free(y);
                free(yd);
                ref_problem_free(&q);
            }
        }
    }
    print_message("single-rounding FC: %ld outputs checked, %ld differ from double rounding\n", checked,
                  differs_from_double);
    assert_true(checked > 10000);
    assert_true(differs_from_double > 0);
}

static void test_fc_single_rounding_rejects(void **state)
{
    ref_rng r = {79};
    const ref_options o = ref_random_options(&r);
    ref_problem q;
    uint8_t x[8] = {0}, y[8];
    mq_fc_params bad;
    (void)state;
    assert_true(ref_problem_init(&q, &r, 4, 2, &o));
    assert_int_equal(mq_fully_connected_single_rounding(&q.p, 0, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_fully_connected_single_rounding(&q.p, 1, NULL, y), MQ_ERR_NULL);
    assert_int_equal(mq_fully_connected_single_rounding(&q.p, 1, x, x), MQ_ERR_BUFFER);
    bad = q.p;
    bad.single_rounding = 2;
    assert_int_equal(mq_fully_connected(&bad, 1, x, y), MQ_ERR_QPARAMS);
    bad = q.p;
    bad.act_min = 200;
    assert_int_equal(mq_fully_connected_single_rounding(&bad, 1, x, y), MQ_ERR_QPARAMS);
    assert_int_equal(mq_fully_connected_single_rounding(NULL, 1, x, y), MQ_ERR_NULL);
    ref_problem_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requantize_single),
        cmocka_unit_test(test_fc_single_rounding),
        cmocka_unit_test(test_fc_single_rounding_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
