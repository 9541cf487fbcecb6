/*
 * Mean over H, W (mq_mean, mq_mean_check, mq_mean_prepare) against
 * (a) an int64 reference written here from the scales: TFLite's folding of 1/n into the multiplier (its own
 *     QuantizeMultiplier by halving, k = bit length of n - 1), sum in int64, ref_quant.h requantization, clamp;
 * (b) TFLite's reference MEAN (axes [1, 2], keep_dims; ai-edge-litert BUILTIN_REF one-op models, same-qparams
 *     and different-qparams cases, fixtures/litert_ops.bin), byte for byte;
 * (c) float64 mean of the dequantized inputs, within one code (plus the clamp);
 * (d) every invalid field rejected.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_litert.h"
#include "ref_quant.h"

/* QuantizeMultiplier by repeated halving/doubling (independent of frexp): real = m * 2^(e - 31) */
static void ref_qm(double real, int64_t *m, int *e)
{
    int ex = 0;
    double q = real;
    while (q >= 1.0) {
        q /= 2.0;
        ex++;
    }
    while (q < 0.5) {
        q *= 2.0;
        ex--;
    }
    *m = (int64_t)floor(q * 2147483648.0 + 0.5);
    if (*m == ((int64_t)1 << 31)) {
        *m /= 2;
        ex++;
    }
    *e = ex;
}

static void ref_mean_params(double si, double so, int64_t n, int32_t *mult, int32_t *shift)
{
    int64_t m;
    int e, k = 0;
    ref_qm(si / so, &m, &e);
    while (((int64_t)1 << (k + 1)) <= n) {
        k++;
    }
    if (k > 31 + e) {
        k = 31 + e;
    }
    *mult = (int32_t)((m << k) / n);
    *shift = e - k;
}

static void ref_mean(const mq_mean_params *p, const uint8_t *in, uint8_t *out)
{
    const int64_t n = (int64_t)p->h * p->w;
    int64_t b, c, i;
    for (b = 0; b < p->batch; ++b)
        for (c = 0; c < p->channels; ++c) {
            int64_t acc = 0, v;
            for (i = 0; i < n; ++i) {
                acc += ref_code(in[(size_t)((b * n + i) * p->channels + c)], p->in_dtype == MQ_DTYPE_UINT8) -
                       p->in_zero_point;
            }
            v = (int64_t)ref_requantize64(acc, p->multiplier, p->shift) + p->out_zero_point;
            v = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
            out[(size_t)(b * p->channels + c)] = ref_byte((int32_t)v);
        }
}

static void test_mean_random(void **state)
{
    static uint8_t in[3 * 17 * 19 * 9];
    static uint8_t got[64], want[64];
    ref_rng r = {99};
    long checked = 0, bite = 0, far = 0;
    int rep;
    (void)state;
    for (rep = 0; rep < 1500; ++rep) {
        const mq_dtype ti = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype to = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const int32_t b = (int32_t)ref_range(&r, 1, 3), h = (int32_t)ref_range(&r, 1, 17),
                      w = (int32_t)ref_range(&r, 1, 19), c = (int32_t)ref_range(&r, 1, 9);
        const double si = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 0));
        const double so = rep % 4 == 0 ? si : ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 0));
        const int32_t zi = (int32_t)ref_range(&r, mq_dtype_min(ti), mq_dtype_max(ti));
        const int32_t zo = (int32_t)ref_range(&r, mq_dtype_min(to), mq_dtype_max(to));
        int32_t amin = mq_dtype_min(to), amax = mq_dtype_max(to);
        mq_mean_params p;
        size_t i, n_in = (size_t)(b * h * w * c), n_out = (size_t)(b * c);
        if (rep % 3 == 1) {
            amin = (int32_t)ref_range(&r, amin, amin + 100);
            amax = (int32_t)ref_range(&r, amin, amax - 50 > amin ? amax - 50 : amin);
        }
        assert_int_equal(mq_mean_prepare(b, h, w, c, si, zi, ti, so, zo, to, amin, amax, &p), MQ_OK);
        {
            int32_t rm, rs;
            ref_mean_params(si, so, (int64_t)h * w, &rm, &rs);
            assert_int_equal(p.multiplier, rm);
            assert_int_equal(p.shift, rs);
        }
        for (i = 0; i < n_in; ++i) {
            in[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        ref_mean(&p, in, want);
        memset(got, 0xA5, sizeof got);
        assert_int_equal(mq_mean(&p, in, got), MQ_OK);
        assert_memory_equal(got, want, n_out);
        assert_int_equal(got[n_out], 0xA5);
        for (i = 0; i < n_out; ++i) {
            /* float64 mean within one code of the integer result (double rounding + the mantissa) */
            double mean = 0.0;
            int64_t k;
            const int32_t g = ref_code(got[i], to == MQ_DTYPE_UINT8);
            for (k = 0; k < (int64_t)h * w; ++k) {
                mean += (ref_code(in[(size_t)(((int64_t)(i / (size_t)c) * h * w + k) * c + (int64_t)(i % (size_t)c))],
                                  ti == MQ_DTYPE_UINT8) - zi) * si;
            }
            mean = fmin(fmax(zo + mean / ((double)h * w) / so, amin), amax);
            far += fabs(g - mean) > 1.0;
            bite += (g == amin && amin > mq_dtype_min(to)) || (g == amax && amax < mq_dtype_max(to));
        }
        checked += (long)n_out;
    }
    printf("mean: %ld outputs checked against the int64 reference, %ld clamped, %ld beyond 1 code of float64\n",
           checked, bite, far);
    assert_int_equal(far, 0);
    assert_true(bite > 200);
}

static void test_mean_litert(void **state)
{
    lr_file f;
    lr_record r;
    int records = 0, same = 0;
    long bytes = 0;
    uint8_t got[256];
    (void)state;
    assert_true(lr_open(&f, "litert_ops.bin"));
    while (lr_next(&f, &r)) {
        mq_mean_params p;
        int k;
        if (r.w[0] != LR_MEAN) {
            continue;
        }
        assert_int_equal(mq_mean_prepare(r.w[10], r.w[11], r.w[12], r.w[13], (double)lr_f32(r.w[7]), r.w[4],
                                         (mq_dtype)r.w[1], (double)lr_f32(r.w[9]), r.w[6], (mq_dtype)r.w[3],
                                         mq_dtype_min((mq_dtype)r.w[3]), mq_dtype_max((mq_dtype)r.w[3]), &p), MQ_OK);
        same += r.w[7] == r.w[9] && r.w[4] == r.w[6];
        for (k = 0; k < r.w[34]; ++k) {
            const uint8_t *in, *in2, *want;
            lr_sample(&r, k, &in, &in2, &want);
            assert_int_equal(mq_mean(&p, in, got), MQ_OK);
            if (memcmp(got, want, (size_t)r.w[37]) != 0) {
                fail_msg("MEAN record %u (%dx%dx%dx%d) sample %d differs from TFLite", f.index, r.w[10], r.w[11],
                         r.w[12], r.w[13], k);
            }
            bytes += r.w[37];
        }
        records++;
    }
    lr_close(&f);
    printf("mean vs TFLite reference MEAN (ai-edge-litert): %d models (%d with the same qparams), %ld bytes identical\n",
           records, same, bytes);
    assert_true(records >= 30 && same >= 10 && records - same >= 10);
}

static void valid(mq_mean_params *p)
{
    assert_int_equal(mq_mean_prepare(2, 5, 3, 4, 0.1, 3, MQ_DTYPE_INT8, 0.07, -5, MQ_DTYPE_INT8,
                                     -128, 127, p), MQ_OK);
}

static void test_mean_rejects_bad(void **state)
{
    mq_mean_params p;
    uint8_t buf[256];
    (void)state;
    assert_int_equal(mq_mean_check(NULL), MQ_ERR_NULL);
    valid(&p);
    assert_int_equal(mq_mean(&p, NULL, buf), MQ_ERR_NULL);
    assert_int_equal(mq_mean(&p, buf, buf + 100), MQ_ERR_BUFFER);
#define BAD(stmt, err)                                   \
    do {                                                 \
        valid(&p);                                       \
        stmt;                                            \
        assert_int_equal(mq_mean_check(&p), err);        \
        assert_int_equal(mq_mean(&p, buf, buf + 128), err); \
    } while (0)
    BAD(p.in_dtype = MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    BAD(p.out_dtype = (mq_dtype)7, MQ_ERR_DTYPE);
    BAD(p.batch = 0, MQ_ERR_SHAPE);
    BAD(p.h = -2, MQ_ERR_SHAPE);
    BAD(p.w = 0, MQ_ERR_SHAPE);
    BAD(p.channels = 0, MQ_ERR_SHAPE);
    BAD((p.h = 4096, p.w = 4096, p.batch = 1, p.channels = 1), MQ_ERR_SHAPE);   /* h*w > 2^23 */
    BAD((p.h = 2048, p.w = 2048, p.channels = 1024), MQ_ERR_SHAPE);             /* > INT32_MAX elements */
    BAD(p.in_zero_point = 128, MQ_ERR_QPARAMS);
    BAD(p.out_zero_point = -129, MQ_ERR_QPARAMS);
    BAD((p.in_dtype = MQ_DTYPE_UINT8, p.in_zero_point = -1), MQ_ERR_QPARAMS);
    BAD(p.multiplier = -5, MQ_ERR_QPARAMS);
    BAD(p.shift = 31, MQ_ERR_QPARAMS);
    BAD(p.shift = -32, MQ_ERR_QPARAMS);
    BAD(p.act_min = -129, MQ_ERR_QPARAMS);
    BAD((p.act_min = 10, p.act_max = 9), MQ_ERR_QPARAMS);
#undef BAD
    assert_int_equal(mq_mean_prepare(1, 2, 2, 1, 0.0, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_mean_prepare(1, 2, 2, 1, 0.1, 0, MQ_DTYPE_INT8, NAN, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_ERR_QPARAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_random),
        cmocka_unit_test(test_mean_litert),
        cmocka_unit_test(test_mean_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
