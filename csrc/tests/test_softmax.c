/*
 * Softmax (mq_softmax, mq_softmax_check, mq_softmax_prepare), TFLite's integer arithmetic, against
 * (a) TFLite itself: ai-edge-litert BUILTIN_REF on the MLPerf Tiny KWS model (its SOFTMAX input/output for
 *     random int8 model inputs) and on one-op SOFTMAX models with 60 input scales / betas, int8 and uint8
 *     (fixtures/litert_*.bin, scripts/gen_litert_fixtures.py), byte for byte; the int64 reference of
 *     ref_softmax.h is checked against the same fixtures first;
 * (b) that reference on random shapes [outer, axis, inner] (axis 1..4095), input scales 2^-14..2^7 (up to the
 *     capped multiplier and a left shift of 31), betas, every dtype mix, in place;
 * (c) float64 softmax of the dequantized inputs (error bound measured and asserted);
 * (d) every invalid field rejected.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_litert.h"
#include "ref_quant.h"
#include "ref_softmax.h"

static void ref_run(const mq_softmax_params *p, const uint8_t *in, uint8_t *out)
{
    static int32_t x[4096], y[4096];
    int32_t o, i, j;
    const int32_t qmin = mq_dtype_min(p->out_dtype), qmax = mq_dtype_max(p->out_dtype);
    for (o = 0; o < p->outer; ++o)
        for (i = 0; i < p->inner; ++i) {
            for (j = 0; j < p->axis_size; ++j) {
                x[j] = ref_code(in[((size_t)o * (size_t)p->axis_size + (size_t)j) * (size_t)p->inner + (size_t)i],
                                p->in_dtype == MQ_DTYPE_UINT8);
            }
            ref_softmax_row(x, p->axis_size, p->input_multiplier, p->input_left_shift, p->diff_min, qmin, qmax, y);
            for (j = 0; j < p->axis_size; ++j) {
                out[((size_t)o * (size_t)p->axis_size + (size_t)j) * (size_t)p->inner + (size_t)i] = ref_byte(y[j]);
            }
        }
}

static void check_litert_file(const char *name, int *records, long *bytes)
{
    lr_file f;
    lr_record r;
    static uint8_t got[4096], ref[4096];
    assert_true(lr_open(&f, name));
    while (lr_next(&f, &r)) {
        mq_softmax_params p;
        int32_t rm, rl, rd;
        int k;
        if (r.w[0] != LR_SOFTMAX) {
            continue;
        }
        memset(&p, 0, sizeof p);
        p.outer = r.w[12];
        p.axis_size = r.w[13];
        p.inner = 1;
        p.in_dtype = (mq_dtype)r.w[1];
        p.out_dtype = (mq_dtype)r.w[3];
        assert_int_equal(r.w[6], p.out_dtype == MQ_DTYPE_UINT8 ? 0 : -128);
        assert_true(lr_f32(r.w[9]) == 1.0f / 256.0f);
        assert_int_equal(mq_softmax_prepare((double)lr_f32(r.w[7]), (double)lr_f32(r.w[33]), &p.input_multiplier,
                                            &p.input_left_shift, &p.diff_min), MQ_OK);
        assert_true(ref_softmax_prepare((double)lr_f32(r.w[7]), (double)lr_f32(r.w[33]), &rm, &rl, &rd));
        assert_int_equal(p.input_multiplier, rm);
        assert_int_equal(p.input_left_shift, rl);
        assert_int_equal(p.diff_min, rd);
        for (k = 0; k < r.w[34]; ++k) {
            const uint8_t *in, *in2, *want;
            lr_sample(&r, k, &in, &in2, &want);
            ref_run(&p, in, ref);
            if (memcmp(ref, want, (size_t)r.w[37]) != 0) {
                fail_msg("%s record %u sample %d: the int64 reference differs from TFLite", name, f.index, k);
            }
            assert_int_equal(mq_softmax(&p, in, got), MQ_OK);
            if (memcmp(got, want, (size_t)r.w[37]) != 0) {
                fail_msg("%s record %u sample %d (scale %g beta %g): mq_softmax differs from TFLite", name, f.index,
                         k, (double)lr_f32(r.w[7]), (double)lr_f32(r.w[33]));
            }
            *bytes += r.w[37];
        }
        (*records)++;
    }
    assert_int_equal(f.pos, f.size);
    lr_close(&f);
}

static void test_softmax_litert(void **state)
{
    int kws = 0, ops = 0;
    long kws_bytes = 0, ops_bytes = 0;
    (void)state;
    check_litert_file("litert_kws.bin", &kws, &kws_bytes);
    check_litert_file("litert_ops.bin", &ops, &ops_bytes);
    printf("softmax vs TFLite reference SOFTMAX (ai-edge-litert): KWS model %ld output bytes (%ld rows of 12) "
           "identical; %d one-op models (scales, betas, int8/uint8) %ld bytes identical\n",
           kws_bytes, kws_bytes / 12, ops, ops_bytes);
    assert_int_equal(kws, 1);
    assert_true(kws_bytes >= 12 * 300);
    assert_true(ops >= 50);
}

static void test_softmax_random(void **state)
{
    static uint8_t in[8192], got[8192], want[8192];
    ref_rng r = {2024};
    long checked = 0;
    double worst = 0.0;
    int rep, capped = 0, shift31 = 0;
    (void)state;
    for (rep = 0; rep < 1200; ++rep) {
        mq_softmax_params p;
        const int big = rep % 50 == 0;
        const double scale = rep % 97 == 0 ? 64.0 : ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -14, 7));
        const double beta = rep % 3 == 0 ? 0.25 + 2.0 * ref_unit(&r) : 1.0;
        const int narrow = rep % 2;                   /* values within a few codes of the max */
        size_t n, i;
        memset(&p, 0, sizeof p);
        p.axis_size = big ? (int32_t)ref_range(&r, 500, 4095) : (int32_t)ref_range(&r, 1, 40);
        p.outer = big ? 1 : (int32_t)ref_range(&r, 1, 5);
        p.inner = big ? (int32_t)ref_range(&r, 1, 2) : (int32_t)ref_range(&r, 1, 4);
        p.in_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.out_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        if (mq_softmax_prepare(scale, beta, &p.input_multiplier, &p.input_left_shift, &p.diff_min) != MQ_OK) {
            assert_true(beta * scale * 67108864.0 <= 1.0);
            continue;
        }
        capped += beta * scale * 67108864.0 >= 2147483647.0;
        shift31 += p.input_left_shift == 31;
        n = (size_t)p.outer * (size_t)p.axis_size * (size_t)p.inner;
        {
            const int32_t top = (int32_t)ref_range(&r, 0, 255);
            for (i = 0; i < n; ++i) {
                in[i] = narrow ? (uint8_t)(top - (int32_t)ref_range(&r, 0, top < 6 ? top : 6))
                               : (uint8_t)ref_range(&r, 0, 255);
            }
        }
        ref_run(&p, in, want);
        if (rep % 4 == 0) {
            memcpy(got, in, n);
            assert_int_equal(mq_softmax(&p, got, got), MQ_OK);       /* in place */
        } else {
            memset(got, 0xEE, n + 1);
            assert_int_equal(mq_softmax(&p, in, got), MQ_OK);
            assert_int_equal(got[n], 0xEE);
        }
        assert_memory_equal(got, want, n);
        checked += (long)n;
        if (!big) {   /* float64 softmax of the dequantized inputs */
            int32_t o, ii, j;
            for (o = 0; o < p.outer; ++o)
                for (ii = 0; ii < p.inner; ++ii) {
                    double mx = -1e300, s = 0.0;
                    for (j = 0; j < p.axis_size; ++j) {
                        const double v = ref_code(in[((size_t)o * (size_t)p.axis_size + (size_t)j) * (size_t)p.inner + (size_t)ii],
                                                  p.in_dtype == MQ_DTYPE_UINT8) * scale * beta;
                        mx = v > mx ? v : mx;
                    }
                    for (j = 0; j < p.axis_size; ++j) {
                        s += exp(ref_code(in[((size_t)o * (size_t)p.axis_size + (size_t)j) * (size_t)p.inner + (size_t)ii],
                                          p.in_dtype == MQ_DTYPE_UINT8) * scale * beta - mx);
                    }
                    for (j = 0; j < p.axis_size; ++j) {
                        const size_t at = ((size_t)o * (size_t)p.axis_size + (size_t)j) * (size_t)p.inner + (size_t)ii;
                        const double prob = exp(ref_code(in[at], p.in_dtype == MQ_DTYPE_UINT8) * scale * beta - mx) / s;
                        const double code = fmin(prob * 256.0, 255.0);
                        const double g = ref_code(got[at], p.out_dtype == MQ_DTYPE_UINT8) - mq_dtype_min(p.out_dtype);
                        worst = fabs(g - code) > worst ? fabs(g - code) : worst;
                    }
                }
        }
    }
    printf("softmax: %ld outputs identical to the int64 reference (%d capped multipliers, %d with left shift 31); "
           "worst distance to float64 softmax %.3f codes\n", checked, capped, shift31, worst);
    assert_true(capped > 0 && shift31 > 0);
    assert_true(worst <= 1.5);
}

/* Long slices of equal values: sum = n * 2^19. n = 400: shift 31, probability 1/400 -> code 1 above qmin;
 * n = 1000: sum >= 2^28, shift 32 -> every output qmin (1000 * 1/1000 * 256 rounds to 0 per value). */
static void test_softmax_large_sums(void **state)
{
    static uint8_t x[1000], y[1000], want[1000];
    mq_softmax_params p;
    int32_t n;
    (void)state;
    for (n = 400; n <= 1000; n += 600) {
        int32_t j;
        memset(&p, 0, sizeof p);
        p.outer = 1;
        p.axis_size = n;
        p.inner = 1;
        p.in_dtype = MQ_DTYPE_INT8;
        p.out_dtype = MQ_DTYPE_INT8;
        assert_int_equal(mq_softmax_prepare(0.1, 1.0, &p.input_multiplier, &p.input_left_shift, &p.diff_min), MQ_OK);
        memset(x, 7, sizeof x);
        assert_int_equal(mq_softmax(&p, x, y), MQ_OK);
        ref_run(&p, x, want);
        assert_memory_equal(y, want, (size_t)n);
        for (j = 0; j < n; ++j) {
            assert_int_equal((int8_t)y[j], n == 400 ? -127 : -128);
        }
    }
}

static void valid(mq_softmax_params *p)
{
    memset(p, 0, sizeof *p);
    p->outer = 2;
    p->axis_size = 4;
    p->inner = 2;
    p->in_dtype = MQ_DTYPE_INT8;
    p->out_dtype = MQ_DTYPE_UINT8;
    assert_int_equal(mq_softmax_prepare(0.1, 1.0, &p->input_multiplier, &p->input_left_shift, &p->diff_min), MQ_OK);
}

static void test_softmax_rejects_bad(void **state)
{
    uint8_t x[16] = {0};
    uint8_t y[16];
    mq_softmax_params p;
    int32_t m, s, d;
    (void)state;
    valid(&p);
    assert_int_equal(mq_softmax_check(&p), MQ_OK);
    assert_int_equal(mq_softmax(&p, x, y), MQ_OK);
    assert_int_equal(mq_softmax_check(NULL), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(NULL, x, y), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(&p, NULL, y), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(&p, x, NULL), MQ_ERR_NULL);
    assert_int_equal(mq_softmax(&p, y, y + 1), MQ_ERR_BUFFER);
#define BAD(stmt, err)                              \
    do {                                            \
        valid(&p);                                  \
        stmt;                                       \
        assert_int_equal(mq_softmax_check(&p), err); \
        assert_int_equal(mq_softmax(&p, x, y), err); \
    } while (0)
    BAD(p.outer = 0, MQ_ERR_SHAPE);
    BAD(p.axis_size = -1, MQ_ERR_SHAPE);
    BAD(p.inner = 0, MQ_ERR_SHAPE);
    BAD(p.axis_size = 4096, MQ_ERR_SHAPE);
    BAD((p.outer = 1 << 20, p.inner = 1 << 10), MQ_ERR_SHAPE);
    BAD(p.in_dtype = MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    BAD(p.out_dtype = (mq_dtype)0, MQ_ERR_DTYPE);
    BAD(p.input_multiplier = (1 << 30) - 1, MQ_ERR_QPARAMS);
    BAD(p.input_multiplier = 0, MQ_ERR_QPARAMS);
    BAD(p.input_left_shift = -1, MQ_ERR_QPARAMS);
    BAD(p.input_left_shift = 32, MQ_ERR_QPARAMS);
    BAD(p.diff_min += 1, MQ_ERR_QPARAMS);
    BAD(p.diff_min -= 1, MQ_ERR_QPARAMS);
    BAD(p.diff_min = 0, MQ_ERR_QPARAMS);
#undef BAD
    /* prepare: scale or beta not finite/positive, or beta * scale * 2^26 <= 1 */
    assert_int_equal(mq_softmax_prepare(0.0, 1.0, &m, &s, &d), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_prepare(NAN, 1.0, &m, &s, &d), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_prepare(0.1, -1.0, &m, &s, &d), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_prepare(ldexp(1.0, -26), 1.0, &m, &s, &d), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_prepare(ldexp(1.5, -26), 1.0, &m, &s, &d), MQ_OK);     /* real 1.5 */
    assert_int_equal(m, 3 << 29);
    assert_int_equal(s, 1);
    assert_int_equal(d, -(31 << 25));
    assert_int_equal(mq_softmax_prepare(1e30, 1.0, &m, &s, &d), MQ_OK);   /* capped at 2^31 - 1 */
    assert_int_equal(m, INT32_MAX);
    assert_int_equal(s, 31);
    assert_int_equal(d, 0);
    assert_int_equal(mq_softmax_prepare(0.1, 1.0, NULL, &s, &d), MQ_ERR_NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_litert),
        cmocka_unit_test(test_softmax_random),
        cmocka_unit_test(test_softmax_large_sums),
        cmocka_unit_test(test_softmax_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
