/*
 * Elementwise multiply (mq_mul, mq_mul_check, mq_mul_prepare) against
 * (a) an int64 reference written here (product of the centred codes, ref_quant.h requantization, clamp) for
 *     int8/uint8 mixes, every broadcast mode, multipliers below and above 1, clamps that bite, in-place;
 * (b) TFLite's reference MUL (ai-edge-litert BUILTIN_REF one-op models: broadcast none / per-channel / scalar,
 *     fused ReLU / ReLU6; fixtures/litert_ops.bin), byte for byte;
 * (c) float64 product within one code; (d) every invalid field rejected;
 * (e) single rounding (single_rounding = 1, onnxruntime's QLinearMul): against the exact value
 *     floor(prod * r + 1/2) in float64 (r a float32 ratio: the product is exact), and against onnxruntime's
 *     float32 evaluation nearbyintf((float)prod * r) (identical share measured, every code within one).
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

static int32_t ref_mul(const mq_mul_params *p, uint8_t a, uint8_t b)
{
    const int64_t prod = (int64_t)(ref_code(a, p->in1_dtype == MQ_DTYPE_UINT8) - p->in1_zero_point) *
                         (ref_code(b, p->in2_dtype == MQ_DTYPE_UINT8) - p->in2_zero_point);
    const int64_t v = p->out_zero_point + (int64_t)ref_requantize64(prod, p->out_multiplier, p->out_shift);
    return (int32_t)(v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v));
}

static void test_mul_random(void **state)
{
    ref_rng r = {5};
    long checked = 0, bite = 0, far = 0;
    int rep;
    (void)state;
    for (rep = 0; rep < 3000; ++rep) {
        const mq_dtype t1 = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype t2 = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype to = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_broadcast bc = (mq_broadcast)(rep % 3);
        const int32_t C = bc == MQ_BCAST_CHANNEL ? (int32_t)ref_range(&r, 1, 13) : 0;
        const size_t n = bc == MQ_BCAST_CHANNEL ? (size_t)C * (size_t)ref_range(&r, 1, 9) : (size_t)ref_range(&r, 0, 77);
        const size_t n2 = bc == MQ_BCAST_NONE ? n : (bc == MQ_BCAST_SCALAR ? 1 : (size_t)C);
        /* M = s1 s2 / so from 2^-12 to 2^3: shifts both sides of 0 */
        const double s1 = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -8, 0));
        const double s2 = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -8, 0));
        const double so = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -12, 2));
        const int32_t z1 = (int32_t)ref_range(&r, mq_dtype_min(t1), mq_dtype_max(t1));
        const int32_t z2 = (int32_t)ref_range(&r, mq_dtype_min(t2), mq_dtype_max(t2));
        const int32_t zo = (int32_t)ref_range(&r, mq_dtype_min(to), mq_dtype_max(to));
        const int inplace = rep % 5 == 0;
        int32_t amin = mq_dtype_min(to), amax = mq_dtype_max(to);
        mq_mul_params p;
        uint8_t a[128], b[128], o[128], a_copy[128];
        size_t i;
        if (rep % 4 == 1) {
            amin = zo;                                   /* fused ReLU */
            amax = (int32_t)ref_range(&r, amin, mq_dtype_max(to));
        }
        assert_int_equal(mq_mul_prepare(s1, z1, t1, s2, z2, t2, so, zo, to, amin, amax, bc, C, &p), MQ_OK);
        for (i = 0; i < n; ++i) {
            a[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        for (i = 0; i < n2; ++i) {
            b[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        memcpy(a_copy, a, sizeof a);
        memset(o, 0xA5, sizeof o);
        if (inplace) {
            assert_int_equal(mq_mul(&p, a, b, a, n), MQ_OK);
            memcpy(o, a, n);
        } else {
            assert_int_equal(mq_mul(&p, a, b, o, n), MQ_OK);
            assert_int_equal(o[n], 0xA5);
        }
        for (i = 0; i < n; ++i) {
            const uint8_t bb = b[bc == MQ_BCAST_NONE ? i : (bc == MQ_BCAST_SCALAR ? 0 : i % (size_t)C)];
            const int32_t g = ref_code(o[i], to == MQ_DTYPE_UINT8);
            const double real = (ref_code(a_copy[i], t1 == MQ_DTYPE_UINT8) - z1) * s1 *
                                (ref_code(bb, t2 == MQ_DTYPE_UINT8) - z2) * s2;
            const double exact = fmin(fmax(zo + real / so, amin), amax);
            assert_int_equal(g, ref_mul(&p, a_copy[i], bb));
            far += fabs(g - exact) > 1.0;
            bite += (g == amin && amin > mq_dtype_min(to)) || (g == amax && amax < mq_dtype_max(to));
        }
        checked += (long)n;
    }
    printf("mul: %ld outputs checked against the int64 reference, %ld clamped, %ld beyond 1 code of float64\n",
           checked, bite, far);
    assert_int_equal(far, 0);
    assert_true(bite > 1000);
}

static void test_mul_litert(void **state)
{
    lr_file f;
    lr_record r;
    int records = 0, modes[3] = {0, 0, 0}, acts = 0;
    long bytes = 0;
    uint8_t got[1024];
    (void)state;
    assert_true(lr_open(&f, "litert_ops.bin"));
    while (lr_next(&f, &r)) {
        mq_mul_params p;
        mq_broadcast bc;
        int k;
        if (r.w[0] != LR_MUL) {
            continue;
        }
        bc = r.w[36] == r.w[35] ? MQ_BCAST_NONE : (r.w[36] == 1 ? MQ_BCAST_SCALAR : MQ_BCAST_CHANNEL);
        if (bc == MQ_BCAST_CHANNEL) {
            assert_int_equal(r.w[36], r.w[13]);
        }
        assert_int_equal(mq_mul_prepare((double)lr_f32(r.w[7]), r.w[4], (mq_dtype)r.w[1], (double)lr_f32(r.w[8]),
                                        r.w[5], (mq_dtype)r.w[2], (double)lr_f32(r.w[9]), r.w[6], (mq_dtype)r.w[3],
                                        r.w[31], r.w[32], bc, bc == MQ_BCAST_CHANNEL ? r.w[13] : 0, &p), MQ_OK);
        for (k = 0; k < r.w[34]; ++k) {
            const uint8_t *a, *b, *want;
            lr_sample(&r, k, &a, &b, &want);
            assert_int_equal(mq_mul(&p, a, b, got, (size_t)r.w[35]), MQ_OK);
            if (memcmp(got, want, (size_t)r.w[37]) != 0) {
                fail_msg("MUL record %u (broadcast %d, act %d) sample %d differs from TFLite", f.index, bc, r.w[30], k);
            }
            bytes += r.w[37];
        }
        modes[bc]++;
        acts += r.w[30] != 0;
        records++;
    }
    lr_close(&f);
    printf("mul vs TFLite reference MUL (ai-edge-litert): %d models (broadcast none %d, channel %d, scalar %d; "
           "%d with fused ReLU/ReLU6), %ld bytes identical\n", records, modes[0], modes[1], modes[2], acts, bytes);
    assert_true(records >= 50 && modes[0] > 10 && modes[1] > 10 && modes[2] > 10 && acts > 20);
}

static void valid(mq_mul_params *p)
{
    assert_int_equal(mq_mul_prepare(0.02, 3, MQ_DTYPE_INT8, 0.05, 100, MQ_DTYPE_UINT8, 0.01, -7, MQ_DTYPE_INT8, -7,
                                    127, MQ_BCAST_CHANNEL, 4, p), MQ_OK);
}

static void test_mul_rejects_bad(void **state)
{
    mq_mul_params p;
    uint8_t buf[256];
    (void)state;
    assert_int_equal(mq_mul_check(NULL), MQ_ERR_NULL);
    valid(&p);
    assert_int_equal(mq_mul(&p, NULL, buf, buf, 8), MQ_ERR_NULL);
    assert_int_equal(mq_mul(&p, buf, buf + 64, buf + 128, 9), MQ_ERR_SHAPE);      /* not a multiple of 4 */
    assert_int_equal(mq_mul(&p, buf, buf + 64, buf + 4, 8), MQ_ERR_BUFFER);       /* partial overlap with in1 */
    assert_int_equal(mq_mul(&p, buf, buf + 64, buf + 62, 8), MQ_ERR_BUFFER);      /* overlaps in2 */
    assert_int_equal(mq_mul(&p, buf, buf + 64, buf + 64, 8), MQ_ERR_BUFFER);      /* broadcast in2 as output */
    assert_int_equal(mq_mul(&p, buf, buf + 64, buf, 8), MQ_OK);                   /* in place on in1 */
    assert_int_equal(mq_mul(&p, buf, buf + 64, buf + 128, 0), MQ_OK);
#define BAD(stmt, err)                                           \
    do {                                                         \
        valid(&p);                                               \
        stmt;                                                    \
        assert_int_equal(mq_mul_check(&p), err);                 \
        assert_int_equal(mq_mul(&p, buf, buf + 64, buf + 128, 8), err); \
    } while (0)
    BAD(p.in1_dtype = MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    BAD(p.in2_dtype = (mq_dtype)0, MQ_ERR_DTYPE);
    BAD(p.out_dtype = (mq_dtype)9, MQ_ERR_DTYPE);
    BAD(p.broadcast = (mq_broadcast)3, MQ_ERR_SHAPE);
    BAD(p.channels = 0, MQ_ERR_SHAPE);
    BAD(p.channels = (1 << 24) + 1, MQ_ERR_SHAPE);
    BAD(p.broadcast = MQ_BCAST_SCALAR, MQ_ERR_SHAPE);        /* channels must be 0 unless per-channel */
    BAD(p.in1_zero_point = 128, MQ_ERR_QPARAMS);
    BAD(p.in2_zero_point = 256, MQ_ERR_QPARAMS);
    BAD(p.out_zero_point = -129, MQ_ERR_QPARAMS);
    BAD(p.out_multiplier = 1 << 29, MQ_ERR_QPARAMS);
    BAD(p.out_multiplier = -1, MQ_ERR_QPARAMS);
    BAD(p.out_shift = 31, MQ_ERR_QPARAMS);
    BAD(p.out_shift = -32, MQ_ERR_QPARAMS);
    BAD(p.act_min = -129, MQ_ERR_QPARAMS);
    BAD(p.act_max = 128, MQ_ERR_QPARAMS);
    BAD((p.act_min = 3, p.act_max = 2), MQ_ERR_QPARAMS);
    BAD(p.single_rounding = 2, MQ_ERR_QPARAMS);
    BAD(p.single_rounding = -1, MQ_ERR_QPARAMS);
#undef BAD
    assert_int_equal(mq_mul_prepare(0.0, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, -128, 127,
                                    MQ_BCAST_NONE, 0, &p), MQ_ERR_QPARAMS);
    assert_int_equal(mq_mul_prepare(0.1, 0, MQ_DTYPE_INT8, INFINITY, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, -128,
                                    127, MQ_BCAST_NONE, 0, &p), MQ_ERR_QPARAMS);
}

static void test_mul_single_rounding(void **state)
{
    ref_rng r = {77};
    long checked = 0, same_f32 = 0;
    int rep;
    (void)state;
    for (rep = 0; rep < 3000; ++rep) {
        const mq_dtype t1 = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype t2 = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype to = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_broadcast bc = (mq_broadcast)(rep % 3);
        const int32_t C = bc == MQ_BCAST_CHANNEL ? (int32_t)ref_range(&r, 1, 13) : 0;
        const size_t n = bc == MQ_BCAST_CHANNEL ? (size_t)C * (size_t)ref_range(&r, 1, 9) : (size_t)ref_range(&r, 0, 77);
        const size_t n2 = bc == MQ_BCAST_NONE ? n : (bc == MQ_BCAST_SCALAR ? 1 : (size_t)C);
        const float s1 = (float)ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -8, 0));
        const float s2 = (float)ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -8, 0));
        const float so = (float)ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -12, 2));
        const float ratio = s1 * s2 / so;               /* onnxruntime's float32 ScaleA * ScaleB / ScaleC */
        const int32_t z1 = (int32_t)ref_range(&r, mq_dtype_min(t1), mq_dtype_max(t1));
        const int32_t z2 = (int32_t)ref_range(&r, mq_dtype_min(t2), mq_dtype_max(t2));
        const int32_t zo = (int32_t)ref_range(&r, mq_dtype_min(to), mq_dtype_max(to));
        int32_t amin = mq_dtype_min(to), amax = mq_dtype_max(to);
        mq_mul_params p;
        uint8_t a[128], b[128], o[128];
        size_t i;
        if (rep % 4 == 1) {
            amin = zo;
        }
        assert_int_equal(mq_mul_prepare(s1, z1, t1, s2, z2, t2, so, zo, to, amin, amax, bc, C, &p), MQ_OK);
        assert_int_equal(mq_quantize_multiplier((double)ratio, &p.out_multiplier, &p.out_shift), MQ_OK);
        p.single_rounding = 1;
        for (i = 0; i < n; ++i) {
            a[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        for (i = 0; i < n2; ++i) {
            b[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        assert_int_equal(mq_mul(&p, a, b, o, n), MQ_OK);
        for (i = 0; i < n; ++i) {
            const uint8_t bb = b[bc == MQ_BCAST_NONE ? i : (bc == MQ_BCAST_SCALAR ? 0 : i % (size_t)C)];
            const int32_t prod = (ref_code(a[i], t1 == MQ_DTYPE_UINT8) - z1) * (ref_code(bb, t2 == MQ_DTYPE_UINT8) - z2);
            const double exact = floor((double)prod * (double)ratio + 0.5);           /* exact in float64 */
            const double f32 = (double)nearbyintf((float)prod * ratio);              /* onnxruntime */
            const int32_t want = (int32_t)fmin(fmax(zo + exact, amin), amax);
            const int32_t ort = (int32_t)fmin(fmax(zo + f32, amin), amax);
            const int32_t g = ref_code(o[i], to == MQ_DTYPE_UINT8);
            assert_int_equal(g, want);
            assert_true(abs(g - ort) <= 1);
            same_f32 += g == ort;
        }
        checked += (long)n;
    }
    printf("mul single rounding: %ld outputs equal to the exact rounding; %ld (%.4f %%) equal to onnxruntime's float32\n",
           checked, same_f32, 100.0 * (double)same_f32 / (double)checked);
    assert_true((double)same_f32 >= 0.999 * (double)checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul_random),
        cmocka_unit_test(test_mul_litert),
        cmocka_unit_test(test_mul_rejects_bad),
        cmocka_unit_test(test_mul_single_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
