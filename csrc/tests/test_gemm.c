/*
 * Fully connected / GEMM: mq_fully_connected and the portable microkernel mq_gemm_s8_n4k16_c against the
 * int64 reference of ref_gemm.h, over randomized shapes (M, N, K = 1, odd sizes, K = 640, K = 4096),
 * zero points at the dtype limits, multipliers over every shift, accumulators near and across the int32
 * limits (wrapping), clamp and LUT epilogue; plus parameter validation.
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
#include "mq_microkernels.h"
#include "ref_gemm.h"

static long g_checked;

/* Run one FC problem with mq_fully_connected and compare every output with the reference. */
static void run_fc(ref_rng *r, int32_t m, int32_t n, int32_t k, const ref_options *o)
{
    ref_problem q;
    uint8_t *x;
    uint8_t *y;
    int32_t i;
    int32_t c;
    if (!ref_problem_init(&q, r, n, k, o)) {
        ref_problem_free(&q);
        return;
    }
    x = (uint8_t *)malloc((size_t)m * (size_t)k);
    y = (uint8_t *)malloc((size_t)m * (size_t)n);
    assert_non_null(x);
    assert_non_null(y);
    ref_fill_codes(r, x, (size_t)m * (size_t)k);
    assert_int_equal(mq_fully_connected(&q.p, m, x, y), MQ_OK);
    for (i = 0; i < m; ++i) {
        for (c = 0; c < n; ++c) {
            const uint8_t expect = ref_dot_out(&q, x + (size_t)i * (size_t)k, c);
            if (y[(size_t)i * (size_t)n + (size_t)c] != expect) {
                fail_msg("FC m=%d n=%d k=%d row %d ch %d: got %u expected %u (in_u8=%d zp=%d pc=%d lut=%d)", m, n, k,
                         i, c, y[(size_t)i * (size_t)n + (size_t)c], expect, o->in_u8, q.in_zp, o->per_channel,
                         o->use_lut);
            }
            ++g_checked;
        }
    }
    free(x);
    free(y);
    ref_problem_free(&q);
}

static void test_fc_small_shapes(void **state)
{
    static const int32_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33};
    const int ns = (int)(sizeof sizes / sizeof sizes[0]);
    ref_rng r = {11};
    int a;
    int b;
    int c;
    (void)state;
    for (a = 0; a < ns; ++a) {
        for (b = 0; b < ns; ++b) {
            for (c = 0; c < 4; ++c) {
                const ref_options o = ref_random_options(&r);
                run_fc(&r, (int32_t)ref_range(&r, 1, 5), sizes[a], sizes[b], &o);
            }
        }
    }
    for (a = 0; a < ns; ++a) {
        const ref_options o = ref_random_options(&r);
        run_fc(&r, sizes[a], (int32_t)ref_range(&r, 1, 9), (int32_t)ref_range(&r, 1, 40), &o);
    }
}

static void test_fc_large_k(void **state)
{
    static const int32_t ks[] = {640, 4096, 641, 1000};
    ref_rng r = {12};
    size_t i;
    int rep;
    (void)state;
    for (i = 0; i < sizeof ks / sizeof ks[0]; ++i) {
        for (rep = 0; rep < 6; ++rep) {
            const ref_options o = ref_random_options(&r);
            run_fc(&r, (int32_t)ref_range(&r, 1, 4), (int32_t)ref_range(&r, 1, 19), ks[i], &o);
        }
    }
    {
        ref_options o = ref_random_options(&r);
        run_fc(&r, 1, 128, 640, &o);     /* the benchmark shape */
        o = ref_random_options(&r);
        run_fc(&r, 4, 128, 128, &o);
    }
}

/* Zero points at the limits of both dtypes, every combination of dtypes, per-tensor and per-channel. */
static void test_fc_zero_point_limits(void **state)
{
    ref_rng r = {13};
    int in_u8;
    int out_u8;
    int zp_mode;
    int pc;
    (void)state;
    for (in_u8 = 0; in_u8 <= 1; ++in_u8) {
        for (out_u8 = 0; out_u8 <= 1; ++out_u8) {
            for (zp_mode = 0; zp_mode <= 3; ++zp_mode) {
                for (pc = 0; pc <= 1; ++pc) {
                    ref_options o = ref_random_options(&r);
                    o.in_u8 = in_u8;
                    o.out_u8 = out_u8;
                    o.zp_mode = zp_mode;
                    o.per_channel = pc;
                    run_fc(&r, 3, 13, 37, &o);
                    o.w_mode = 1;
                    run_fc(&r, 2, 5, 640, &o);
                }
            }
        }
    }
}

/* Every shift in [-31, 30] with random normalized multipliers (per tensor and per channel). */
static void test_fc_all_shifts(void **state)
{
    ref_rng r = {14};
    int32_t shift;
    (void)state;
    for (shift = MQ_SHIFT_MIN; shift <= MQ_SHIFT_MAX; ++shift) {
        ref_problem q;
        ref_options o = ref_random_options(&r);
        uint8_t x[3 * 21];
        uint8_t y[3 * 9];
        int32_t i;
        int32_t c;
        o.per_channel = (int)(shift & 1);
        o.bias_mode = 0;
        if (!ref_problem_init(&q, &r, 9, 21, &o)) {
            ref_problem_free(&q);
            fail_msg("fold failed for small bias");
        }
        for (c = 0; c < (o.per_channel ? 9 : 1); ++c) {
            /* 2^30 (0.5) and 3 * 2^29 (0.75) make exact SRDHM ties for many accumulators */
            static const int32_t tie_mult[3] = {1 << 30, 3 << 29, 5 << 28};
            const int64_t pick = ref_range(&r, 0, 5);
            q.shift[c] = shift;
            q.mult[c] = pick < 3 ? tie_mult[pick] : ref_multiplier(&r);
        }
        ref_fill_codes(&r, x, sizeof x);
        assert_int_equal(mq_fully_connected(&q.p, 3, x, y), MQ_OK);
        for (i = 0; i < 3; ++i) {
            for (c = 0; c < 9; ++c) {
                assert_int_equal(y[i * 9 + c], ref_dot_out(&q, x + i * 21, c));
                ++g_checked;
            }
        }
        ref_problem_free(&q);
    }
}

/*
 * The output stage in isolation, at the rounding boundaries of both SRDHM and RDBPOT: k = 1 with zero
 * weights makes every accumulator equal to its (per-channel) bias, chosen next to the accumulators where
 * acc * M_real crosses t + 1/2 for small t, so the requantized value is inside the code range and every
 * tie of both rounding steps is exercised, for every shift and for tie-prone multipliers (2^30, 3*2^29, ...).
 */
static void test_output_stage_ties(void **state)
{
    enum { N = 64 };
    static const int32_t mults[] = {1 << 30, 3 << 29, 5 << 28, 7 << 28, INT32_MAX, (1 << 30) + 1, 1518500250};
    ref_rng r = {18};
    int8_t w[N] = {0};
    int8_t packed[N * 16];
    int32_t bias[N];
    int32_t mult[N];
    int32_t shift[N];
    uint8_t x[1] = {0};
    uint8_t y[N];
    mq_fc_params p;
    int32_t sh;
    size_t mi;
    long cases = 0;
    (void)state;
    assert_int_equal(mq_pack_weights_n4k16(w, N, 1, packed, sizeof packed), MQ_OK);
    memset(&p, 0, sizeof p);
    p.n = N;
    p.k = 1;
    p.weights.packed = packed;
    p.bias.folded = bias;
    p.multiplier = mult;
    p.shift = shift;
    p.per_channel = 1;
    p.in_dtype = MQ_DTYPE_INT8;
    p.out_dtype = MQ_DTYPE_INT8;
    p.out_zero_point = 0;
    p.act_min = -128;
    p.act_max = 127;
    for (sh = MQ_SHIFT_MIN; sh <= MQ_SHIFT_MAX; ++sh) {
        for (mi = 0; mi < sizeof mults / sizeof mults[0]; ++mi) {
            const double real = ldexp((double)mults[mi], sh - 31);
            int32_t t;
            for (t = -120; t <= 120; t += 8) {
                int32_t c;
                for (c = 0; c < N; ++c) {
                    /* an accumulator within a few units of the one that maps to (t + c/8 + 1/2) */
                    const double target = ((double)t + (double)(c / 8) + 0.5) / real;
                    const double clamped = target > 2e9 ? 2e9 : (target < -2e9 ? -2e9 : target);
                    bias[c] = (int32_t)clamped + (int32_t)(c % 8) - 4;
                    mult[c] = mults[mi];
                    shift[c] = sh;
                }
                p.out_zero_point = (int32_t)ref_range(&r, -10, 10);
                assert_int_equal(mq_fully_connected(&p, 1, x, y), MQ_OK);
                for (c = 0; c < N; ++c) {
                    const int64_t v = p.out_zero_point + (int64_t)ref_requantize(bias[c], mult[c], shift[c]);
                    const int32_t expect = (int32_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
                    if (ref_code(y[c], 0) != expect) {
                        fail_msg("output stage acc=%d m=%d shift=%d zp=%d: got %d expected %d", bias[c], mult[c],
                                 shift[c], p.out_zero_point, ref_code(y[c], 0), expect);
                    }
                    ++cases;
                    ++g_checked;
                }
            }
        }
    }
    print_message("output stage: %ld accumulators at rounding boundaries\n", cases);
}

/* Accumulators near INT32_MAX / INT32_MIN, and sums that cross them (int32 wrap semantics). */
static void test_fc_accumulator_limits(void **state)
{
    ref_rng r = {15};
    int mode;
    int rep;
    (void)state;
    for (mode = 1; mode <= 3; ++mode) {
        for (rep = 0; rep < 8; ++rep) {
            ref_options o = ref_random_options(&r);
            o.bias_mode = mode;
            o.zp_mode = 3; /* folded bias == bias: any int32 bias is representable */
            o.w_mode = rep & 1;
            o.shift_mode = rep & 2 ? 1 : 0;
            run_fc(&r, 2, 7, rep < 4 ? 4096 : 640, &o);
        }
    }
}

/* The microkernel directly, with row strides larger than k / n: no read past k, no write past n. */
static void test_microkernel_strides(void **state)
{
    ref_rng r = {16};
    int rep;
    (void)state;
    for (rep = 0; rep < 60; ++rep) {
        const int32_t m = (int32_t)ref_range(&r, 1, 6);
        const int32_t n = (int32_t)ref_range(&r, 1, 23);
        const int32_t k = (int32_t)ref_range(&r, 1, 70);
        const int32_t xs = k + (int32_t)ref_range(&r, 0, 5);
        const int32_t os = n + (int32_t)ref_range(&r, 0, 5);
        const ref_options o = ref_random_options(&r);
        ref_problem q;
        uint8_t *x;
        uint8_t *y;
        int32_t i;
        int32_t c;
        if (!ref_problem_init(&q, &r, n, k, &o)) {
            ref_problem_free(&q);
            continue;
        }
        /* exactly the bytes the kernel may read: the last row ends at k (ASan catches over-reads) */
        x = (uint8_t *)malloc((size_t)(m - 1) * (size_t)xs + (size_t)k);
        y = (uint8_t *)malloc((size_t)m * (size_t)os);
        assert_non_null(x);
        assert_non_null(y);
        ref_fill_codes(&r, x, (size_t)(m - 1) * (size_t)xs + (size_t)k);
        memset(y, 0xA5, (size_t)m * (size_t)os);
        mq_gemm_s8_n4k16_c(&q.p, m, x, xs, y, os);
        for (i = 0; i < m; ++i) {
            for (c = 0; c < os; ++c) {
                const uint8_t got = y[(size_t)i * (size_t)os + (size_t)c];
                if (c < n) {
                    assert_int_equal(got, ref_dot_out(&q, x + (size_t)i * (size_t)xs, c));
                    ++g_checked;
                } else {
                    assert_int_equal(got, 0xA5);
                }
            }
        }
        free(x);
        free(y);
        ref_problem_free(&q);
    }
}

static void test_fc_rejects_bad_params(void **state)
{
    ref_rng r = {17};
    ref_options o = ref_random_options(&r);
    ref_problem q;
    mq_fc_params p;
    uint8_t x[2 * 10];
    uint8_t y[2 * 6 + 8];
    (void)state;
    o.per_channel = 1;
    o.bias_mode = 0;
    assert_true(ref_problem_init(&q, &r, 6, 10, &o));
    ref_fill_codes(&r, x, sizeof x);
    assert_int_equal(mq_fc_params_check(&q.p), MQ_OK);
    assert_int_equal(mq_fully_connected(&q.p, 2, x, y), MQ_OK);
    assert_int_equal(mq_fc_params_check(NULL), MQ_ERR_NULL);
    assert_int_equal(mq_fully_connected(NULL, 2, x, y), MQ_ERR_NULL);
    assert_int_equal(mq_fully_connected(&q.p, 2, NULL, y), MQ_ERR_NULL);
    assert_int_equal(mq_fully_connected(&q.p, 2, x, NULL), MQ_ERR_NULL);
    assert_int_equal(mq_fully_connected(&q.p, 0, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_fully_connected(&q.p, -1, x, y), MQ_ERR_SHAPE);
    /* overlapping input and output */
    assert_int_equal(mq_fully_connected(&q.p, 1, y, y + 4), MQ_ERR_BUFFER);
#define EXPECT_BAD(field, value, status)                                  \
    do {                                                                  \
        p = q.p;                                                          \
        p.field = value;                                                  \
        assert_int_equal(mq_fc_params_check(&p), status);                 \
        assert_int_equal(mq_fully_connected(&p, 2, x, y), status);        \
    } while (0)
    EXPECT_BAD(weights.packed, NULL, MQ_ERR_NULL);
    EXPECT_BAD(bias.folded, NULL, MQ_ERR_NULL);
    EXPECT_BAD(multiplier, NULL, MQ_ERR_NULL);
    EXPECT_BAD(shift, NULL, MQ_ERR_NULL);
    EXPECT_BAD(n, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(k, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(n, -5, MQ_ERR_SHAPE);
    EXPECT_BAD(k, INT32_MAX, MQ_ERR_SHAPE);
    EXPECT_BAD(in_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    EXPECT_BAD(out_dtype, (mq_dtype)0, MQ_ERR_DTYPE);
    EXPECT_BAD(per_channel, 2, MQ_ERR_QPARAMS);
    EXPECT_BAD(out_zero_point, q.out_u8 ? 256 : 128, MQ_ERR_QPARAMS);
    EXPECT_BAD(out_zero_point, q.out_u8 ? -1 : -129, MQ_ERR_QPARAMS);
    EXPECT_BAD(act_min, q.out_u8 ? -1 : -129, MQ_ERR_QPARAMS);
    EXPECT_BAD(act_max, q.out_u8 ? 256 : 128, MQ_ERR_QPARAMS);
    p = q.p;
    p.act_min = 10;
    p.act_max = 9;
    assert_int_equal(mq_fc_params_check(&p), MQ_ERR_QPARAMS);
    q.shift[5] = 31;
    assert_int_equal(mq_fully_connected(&q.p, 2, x, y), MQ_ERR_QPARAMS);
    q.shift[5] = -32;
    assert_int_equal(mq_fully_connected(&q.p, 2, x, y), MQ_ERR_QPARAMS);
    q.shift[5] = 0;
    q.mult[3] = -1;
    assert_int_equal(mq_fully_connected(&q.p, 2, x, y), MQ_ERR_QPARAMS);
    q.mult[3] = (1 << 30) - 1;
    assert_int_equal(mq_fully_connected(&q.p, 2, x, y), MQ_ERR_QPARAMS);
    q.mult[3] = 0;
    assert_int_equal(mq_fully_connected(&q.p, 2, x, y), MQ_OK);
#undef EXPECT_BAD
    ref_problem_free(&q);
}

static int report(void **state)
{
    (void)state;
    print_message("test_gemm: %ld outputs compared, 0 mismatches\n", g_checked);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fc_small_shapes),
        cmocka_unit_test(test_fc_large_k),
        cmocka_unit_test(test_fc_zero_point_limits),
        cmocka_unit_test(test_fc_all_shifts),
        cmocka_unit_test(test_fc_accumulator_limits),
        cmocka_unit_test(test_output_stage_ties),
        cmocka_unit_test(test_microkernel_strides),
        cmocka_unit_test(test_fc_rejects_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
