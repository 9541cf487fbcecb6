/*
 * Requantized elementwise add: mq_add_prepare (TFLite scheme: left_shift 20, inputs rescaled to twice the
 * larger input scale) and mq_add against (a) the TFLite integer steps re-derived with the ref_quant.h
 * reference and (b) the float64 sum of the dequantized inputs (within 0.5 code + tiny rescale error).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_litert.h"
#include "ref_quant.h"

#include "add/mq_add_internal.h"
#include "mq_microkernels.h"

static long g_checked;

static int32_t ref_add_code(const mq_add_params *p, uint8_t a, uint8_t b)
{
    const int32_t va = (ref_code(a, p->in1_dtype == MQ_DTYPE_UINT8) - p->in1_zero_point) * (1 << p->left_shift);
    const int32_t vb = (ref_code(b, p->in2_dtype == MQ_DTYPE_UINT8) - p->in2_zero_point) * (1 << p->left_shift);
    const int64_t sum = (int64_t)ref_requantize(va, p->in1_multiplier, p->in1_shift) +
                        (int64_t)ref_requantize(vb, p->in2_multiplier, p->in2_shift);
    const int64_t v = p->out_zero_point + (int64_t)ref_requantize(ref_wrap32(sum), p->out_multiplier, p->out_shift);
    return (int32_t)(v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v));
}

/* m * 2^(s - 31) must approximate real to within half a unit of the Q31 mantissa. */
static void check_multiplier(int32_t m, int32_t s, double real)
{
    assert_true(m >= (1 << 30));
    assert_true(s >= MQ_SHIFT_MIN && s <= MQ_SHIFT_MAX);
    assert_true(fabs(ldexp((double)m, s - 31) - real) <= ldexp(1.0, s - 32) * 1.000001);
}

static void test_add_random(void **state)
{
    ref_rng r = {41};
    int rep;
    (void)state;
    for (rep = 0; rep < 600; ++rep) {
        const mq_dtype t1 = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype t2 = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype to = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const double s1 = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -10, 0));
        const double s2 = rep % 5 == 0 ? s1 : ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -10, 0));
        const double so = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 1));
        const int32_t z1 = (int32_t)ref_range(&r, mq_dtype_min(t1), mq_dtype_max(t1));
        const int32_t z2 = (int32_t)ref_range(&r, mq_dtype_min(t2), mq_dtype_max(t2));
        const int32_t zo = (int32_t)ref_range(&r, mq_dtype_min(to), mq_dtype_max(to));
        const int clamp = ref_range(&r, 0, 3) == 0;
        const int32_t amin = clamp ? zo : mq_dtype_min(to);   /* fused ReLU when clamp */
        const int32_t amax = mq_dtype_max(to);
        const double twice = 2.0 * fmax(s1, s2);
        mq_add_params p;
        uint8_t a[97];
        uint8_t b[97];
        uint8_t o[97];
        uint8_t inplace[97];
        int i;
        memset(&p, 0, sizeof p);
        assert_int_equal(mq_add_prepare(s1, z1, t1, s2, z2, t2, so, zo, to, amin, amax, &p), MQ_OK);
        assert_int_equal(p.left_shift, 20);
        check_multiplier(p.in1_multiplier, p.in1_shift, s1 / twice);
        check_multiplier(p.in2_multiplier, p.in2_shift, s2 / twice);
        check_multiplier(p.out_multiplier, p.out_shift, twice / (1048576.0 * so));
        for (i = 0; i < 97; ++i) {
            a[i] = (uint8_t)ref_range(&r, 0, 255);
            b[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        assert_int_equal(mq_add(&p, a, b, o, 97), MQ_OK);
        for (i = 0; i < 97; ++i) {
            const int32_t got = ref_code(o[i], to == MQ_DTYPE_UINT8);
            const double real = (ref_code(a[i], t1 == MQ_DTYPE_UINT8) - z1) * s1 + (ref_code(b[i], t2 == MQ_DTYPE_UINT8) - z2) * s2;
            const double exact = fmin(fmax(zo + real / so, amin), amax);
            assert_int_equal(got, ref_add_code(&p, a[i], b[i]));
            if (fabs(got - exact) > 0.5 + 1e-3) {
                fail_msg("add: code %d vs exact %.6f (s1=%g s2=%g so=%g)", got, exact, s1, s2, so);
            }
            ++g_checked;
        }
        memcpy(inplace, a, sizeof a);
        assert_int_equal(mq_add(&p, inplace, b, inplace, 97), MQ_OK);  /* output == in1 */
        assert_memory_equal(inplace, o, 97);
        memcpy(inplace, b, sizeof b);
        assert_int_equal(mq_add(&p, a, inplace, inplace, 97), MQ_OK);  /* output == in2 */
        assert_memory_equal(inplace, o, 97);
    }
}

/* Every code pair for one UINT8 and one INT8 configuration. */
static void test_add_exhaustive(void **state)
{
    mq_add_params p;
    uint8_t a[256];
    uint8_t b[256];
    uint8_t o[256];
    int cfg;
    int i;
    int j;
    (void)state;
    for (cfg = 0; cfg < 2; ++cfg) {
        const mq_dtype t = cfg ? MQ_DTYPE_INT8 : MQ_DTYPE_UINT8;
        assert_int_equal(mq_add_prepare(0.02, cfg ? -3 : 125, t, 0.035, cfg ? 17 : 131, t, 0.06, cfg ? 0 : 128, t,
                                        mq_dtype_min(t), mq_dtype_max(t), &p),
                         MQ_OK);
        for (i = 0; i < 256; ++i) {
            for (j = 0; j < 256; ++j) {
                a[j] = (uint8_t)i;
                b[j] = (uint8_t)j;
            }
            assert_int_equal(mq_add(&p, a, b, o, 256), MQ_OK);
            for (j = 0; j < 256; ++j) {
                assert_int_equal(ref_code(o[j], !cfg), ref_add_code(&p, a[j], b[j]));
                ++g_checked;
            }
        }
    }
}

/* Every code pair under raw parameters at the edges the loader accepts (left_shift 0..22, multipliers 0 or up to
 * 2^31 - 1, exactly 2^30 for ties, shifts -31..0 and some > 0, extreme zero points, every dtype mix): the kernel's short same-shape
 * path (all shifts <= 0) and its general path against the int64 reference. */
static void test_add_edge_params(void **state)
{
    ref_rng r = {77};
    static uint8_t a[65536];
    static uint8_t b[65536];
    static uint8_t o[65536];
    int rep;
    int i;
    (void)state;
    for (i = 0; i < 65536; ++i) {
        a[i] = (uint8_t)(i >> 8);
        b[i] = (uint8_t)i;
    }
    for (rep = 0; rep < 48; ++rep) {
        mq_add_params p;
        const int edge = rep % 3;
        memset(&p, 0, sizeof p);
        p.in1_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.in2_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.out_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.in1_zero_point = edge == 0 ? mq_dtype_min(p.in1_dtype) : (edge == 1 ? mq_dtype_max(p.in1_dtype)
                                       : (int32_t)ref_range(&r, mq_dtype_min(p.in1_dtype), mq_dtype_max(p.in1_dtype)));
        p.in2_zero_point = edge == 1 ? mq_dtype_min(p.in2_dtype) : (edge == 0 ? mq_dtype_max(p.in2_dtype)
                                       : (int32_t)ref_range(&r, mq_dtype_min(p.in2_dtype), mq_dtype_max(p.in2_dtype)));
        p.out_zero_point = (int32_t)ref_range(&r, mq_dtype_min(p.out_dtype), mq_dtype_max(p.out_dtype));
        p.left_shift = edge == 2 ? (int32_t)ref_range(&r, 0, 22) : 22 - (int32_t)ref_range(&r, 0, 2);
        p.in1_multiplier = rep % 7 == 3 ? 0 : (edge == 0 ? INT32_MAX : ref_multiplier(&r));
        p.in2_multiplier = rep % 7 == 5 ? 0 : (edge == 1 ? INT32_MAX : ref_multiplier(&r));
        p.out_multiplier = edge != 2 ? INT32_MAX : ref_multiplier(&r);
        p.in1_shift = -(int32_t)ref_range(&r, 0, rep < 8 ? 0 : 31);
        p.in2_shift = -(int32_t)ref_range(&r, 0, rep < 8 ? 0 : 31);
        p.out_shift = rep % 8 == 7 ? (int32_t)ref_range(&r, 1, 4) : -(int32_t)ref_range(&r, 0, rep < 16 ? 0 : 31);
        if (rep % 6 == 4) {  /* exact halves: multiplier 2^30 with a small left shift rounds ties in every step */
            p.left_shift = (int32_t)ref_range(&r, 0, 2);
            p.in1_multiplier = 1 << 30;
            p.in2_multiplier = 1 << 30;
            p.out_multiplier = 1 << 30;
        }
        p.act_min = mq_dtype_min(p.out_dtype);
        p.act_max = mq_dtype_max(p.out_dtype);
        if (rep % 4 == 1) {
            p.act_min = p.out_zero_point;
        }
        p.broadcast = MQ_BCAST_NONE;
        assert_int_equal(mq_add(&p, a, b, o, 65536), MQ_OK);
        for (i = 0; i < 65536; ++i) {
            if (ref_code(o[i], p.out_dtype == MQ_DTYPE_UINT8) != ref_add_code(&p, a[i], b[i])) {
                fail_msg("add edge rep %d: codes %u %u -> %d, reference %d", rep, a[i], b[i],
                         ref_code(o[i], p.out_dtype == MQ_DTYPE_UINT8), ref_add_code(&p, a[i], b[i]));
            }
            ++g_checked;
        }
    }
}

#if defined(MQ_X86_HOST_KERNELS)
/* The x86 host's table loops (mq_add_table_x86.c: every variant this CPU has, and the dispatcher) on tables built
 * here from the reference's per-input terms, against ref_add_code: every code pair under the edge parameters of
 * test_add_edge_params (same-shape, all shifts <= 0), lengths with every tail 0..33 (65,472 + 0..33; 64 divides 65,472) and unaligned starts. */
static void test_add_table_x86(void **state)
{
    static const char *const names[] = {"c", "avx2", "avx512", "avx512vbmi", "dispatch"};
    ref_rng r = {91};
    static uint8_t a[65536 + 64];
    static uint8_t b[65536 + 64];
    static uint8_t o[65536 + 64];
    int rep;
    int i;
    int v;
    int ran = 0;
    (void)state;
    for (i = 0; i < 65536 + 64; ++i) {
        a[i] = (uint8_t)(i >> 8);
        b[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    for (rep = 0; rep < 40; ++rep) {
        mq_add_params p;
        int32_t t1[256];
        int32_t t2[256];
        const int edge = rep % 3;
        const size_t off = (size_t)(rep % 5);
        const size_t n = rep < 34 ? 65536u - 64u + (size_t)rep : (size_t)ref_range(&r, 1, 200);
        memset(&p, 0, sizeof p);
        p.in1_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.in2_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.out_dtype = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.in1_zero_point = (int32_t)ref_range(&r, mq_dtype_min(p.in1_dtype), mq_dtype_max(p.in1_dtype));
        p.in2_zero_point = (int32_t)ref_range(&r, mq_dtype_min(p.in2_dtype), mq_dtype_max(p.in2_dtype));
        p.out_zero_point = (int32_t)ref_range(&r, mq_dtype_min(p.out_dtype), mq_dtype_max(p.out_dtype));
        p.left_shift = edge == 2 ? (int32_t)ref_range(&r, 0, 22) : 22 - (int32_t)ref_range(&r, 0, 2);
        p.in1_multiplier = rep % 7 == 3 ? 0 : (edge == 0 ? INT32_MAX : ref_multiplier(&r));
        p.in2_multiplier = rep % 7 == 5 ? 0 : (edge == 1 ? INT32_MAX : ref_multiplier(&r));
        p.out_multiplier = edge != 2 ? INT32_MAX : ref_multiplier(&r);
        p.in1_shift = -(int32_t)ref_range(&r, 0, 31);
        p.in2_shift = -(int32_t)ref_range(&r, 0, 31);
        p.out_shift = -(int32_t)ref_range(&r, 0, rep < 6 ? 0 : 31);
        if (rep % 6 == 4) { /* exact halves: ties in every step */
            p.left_shift = (int32_t)ref_range(&r, 0, 2);
            p.in1_multiplier = 1 << 30;
            p.in2_multiplier = 1 << 30;
            p.out_multiplier = 1 << 30;
        }
        p.act_min = rep % 4 == 1 ? p.out_zero_point : mq_dtype_min(p.out_dtype);
        p.act_max = rep % 8 == 6 ? (p.out_zero_point + mq_dtype_max(p.out_dtype)) / 2 : mq_dtype_max(p.out_dtype);
        if (p.act_max < p.act_min) {
            p.act_max = p.act_min;
        }
        for (i = 0; i < 256; ++i) {
            t1[i] = ref_requantize((ref_code((uint8_t)i, p.in1_dtype == MQ_DTYPE_UINT8) - p.in1_zero_point) *
                                       (1 << p.left_shift), p.in1_multiplier, p.in1_shift);
            t2[i] = ref_requantize((ref_code((uint8_t)i, p.in2_dtype == MQ_DTYPE_UINT8) - p.in2_zero_point) *
                                       (1 << p.left_shift), p.in2_multiplier, p.in2_shift);
        }
        for (v = 0; v < 5; ++v) {
            if (v < 4 && !mq_add_table_x86_supported(names[v])) {
                continue;
            }
            memset(o, 0xA5, sizeof o);
            if (v == 0) {
                mq_add_table_c(t1, t2, a + off, b + off, o + off, n, p.out_multiplier, -p.out_shift, p.out_zero_point,
                               p.act_min, p.act_max);
            } else if (v == 1) {
                mq_add_table_avx2(t1, t2, a + off, b + off, o + off, n, p.out_multiplier, -p.out_shift,
                                  p.out_zero_point, p.act_min, p.act_max);
            } else if (v == 2) {
                mq_add_table_avx512(t1, t2, a + off, b + off, o + off, n, p.out_multiplier, -p.out_shift,
                                    p.out_zero_point, p.act_min, p.act_max);
            } else if (v == 3) {
                mq_add_table_vbmi(t1, t2, a + off, b + off, o + off, n, p.out_multiplier, -p.out_shift,
                                  p.out_zero_point, p.act_min, p.act_max);
            } else {
                mq_add_table_x86(t1, t2, a + off, b + off, o + off, n, p.out_multiplier, -p.out_shift,
                                 p.out_zero_point, p.act_min, p.act_max);
            }
            for (i = 0; i < (int)off; ++i) {
                assert_int_equal(o[i], 0xA5);
            }
            for (i = (int)(off + n); i < 65536 + 64; ++i) {
                if (o[i] != 0xA5) {
                    fail_msg("add table %s rep %d: wrote past n at %d", names[v], rep, i);
                }
            }
            for (i = 0; i < (int)n; ++i) {
                const size_t k = off + (size_t)i;
                if (ref_code(o[k], p.out_dtype == MQ_DTYPE_UINT8) != ref_add_code(&p, a[k], b[k])) {
                    fail_msg("add table %s rep %d: codes %u %u -> %d, reference %d", names[v], rep, a[k], b[k],
                             ref_code(o[k], p.out_dtype == MQ_DTYPE_UINT8), ref_add_code(&p, a[k], b[k]));
                }
                ++g_checked;
            }
            ++ran;
        }
    }
    assert_true(ran >= 80);
}
#endif

static void test_add_rejects_bad(void **state)
{
    mq_add_params p;
    mq_add_params bad;
    uint8_t a[8] = {0};
    uint8_t b[8] = {0};
    uint8_t o[16] = {0};
    (void)state;
    assert_int_equal(mq_add_prepare(0.1, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_OK);
    assert_int_equal(mq_add(&p, a, b, o, 8), MQ_OK);
    assert_int_equal(mq_add(NULL, a, b, o, 8), MQ_ERR_NULL);
    assert_int_equal(mq_add(&p, NULL, b, o, 8), MQ_ERR_NULL);
    assert_int_equal(mq_add(&p, a, NULL, o, 8), MQ_ERR_NULL);
    assert_int_equal(mq_add(&p, a, b, NULL, 8), MQ_ERR_NULL);
    assert_int_equal(mq_add(&p, o, b, o + 1, 8), MQ_ERR_BUFFER);
#define EXPECT_BAD(field, value, status)                         \
    do {                                                         \
        bad = p;                                                 \
        bad.field = value;                                       \
        assert_int_equal(mq_add(&bad, a, b, o, 8), status);      \
    } while (0)
    EXPECT_BAD(in1_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    EXPECT_BAD(out_dtype, (mq_dtype)7, MQ_ERR_DTYPE);
    EXPECT_BAD(in1_zero_point, 128, MQ_ERR_QPARAMS);
    EXPECT_BAD(in2_zero_point, -129, MQ_ERR_QPARAMS);
    EXPECT_BAD(out_zero_point, 200, MQ_ERR_QPARAMS);
    EXPECT_BAD(left_shift, 23, MQ_ERR_QPARAMS);
    EXPECT_BAD(left_shift, -1, MQ_ERR_QPARAMS);
    EXPECT_BAD(in1_shift, 31, MQ_ERR_QPARAMS);
    EXPECT_BAD(out_shift, -32, MQ_ERR_QPARAMS);
    EXPECT_BAD(in2_multiplier, -5, MQ_ERR_QPARAMS);
    EXPECT_BAD(act_min, -129, MQ_ERR_QPARAMS);
    EXPECT_BAD(act_max, 128, MQ_ERR_QPARAMS);
    EXPECT_BAD(act_min, 100, MQ_OK);
    bad = p;
    bad.act_min = 10;
    bad.act_max = 5;
    assert_int_equal(mq_add(&bad, a, b, o, 8), MQ_ERR_QPARAMS);
#undef EXPECT_BAD
    assert_int_equal(mq_add_prepare(0.1, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, -128, 127, NULL),
                     MQ_ERR_NULL);
    assert_int_equal(mq_add_prepare(0.0, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_add_prepare(0.1, 0, MQ_DTYPE_INT8, NAN, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_add_prepare(0.1, 0, MQ_DTYPE_UINT8, 0.1, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, 0, 255, &p),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_add_prepare(0.1, 0, MQ_DTYPE_INT32, 0.1, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_ERR_DTYPE);
    assert_int_equal(mq_add_prepare(0.1, -1, MQ_DTYPE_UINT8, 0.1, 0, MQ_DTYPE_INT8, 0.2, 0, MQ_DTYPE_INT8, -128, 127, &p),
                     MQ_ERR_QPARAMS);
}

/* Broadcast of in2 (per channel of the last axis, scalar) against the int64 reference on the pairs
 * (a[i], b[i % channels]) / (a[i], b[0]); in place on in1; bad broadcast fields and aliasing rejected. */
static void test_add_broadcast(void **state)
{
    ref_rng r = {4242};
    int rep;
    (void)state;
    for (rep = 0; rep < 300; ++rep) {
        const int scalar = rep % 3 == 0;
        const int32_t ch = scalar ? 1 : (int32_t)ref_range(&r, 1, 19);
        const int32_t rows = (int32_t)ref_range(&r, 1, 9);
        const int32_t n = ch * rows;
        const double s1 = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -10, 0));
        const double s2 = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -10, 0));
        const double so = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 1));
        const int32_t z1 = (int32_t)ref_range(&r, -128, 127);
        const int32_t z2 = (int32_t)ref_range(&r, -128, 127);
        const int32_t zo = (int32_t)ref_range(&r, -128, 127);
        const int32_t amin = ref_range(&r, 0, 2) == 0 ? zo : -128;
        mq_add_params p;
        uint8_t a[171];
        uint8_t b[19];
        uint8_t o[171];
        uint8_t inplace[171];
        int32_t i;
        assert_int_equal(mq_add_prepare(s1, z1, MQ_DTYPE_INT8, s2, z2, MQ_DTYPE_INT8, so, zo, MQ_DTYPE_INT8, amin, 127, &p),
                         MQ_OK);
        assert_int_equal(p.broadcast, MQ_BCAST_NONE);
        assert_int_equal(p.channels, 0);
        p.broadcast = scalar ? MQ_BCAST_SCALAR : MQ_BCAST_CHANNEL;
        p.channels = scalar ? 0 : ch;
        for (i = 0; i < n; ++i) {
            a[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        for (i = 0; i < ch; ++i) {
            b[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        assert_int_equal(mq_add(&p, a, b, o, (size_t)n), MQ_OK);
        for (i = 0; i < n; ++i) {
            assert_int_equal(ref_code(o[i], 0), ref_add_code(&p, a[i], b[scalar ? 0 : i % ch]));
            ++g_checked;
        }
        memcpy(inplace, a, (size_t)n);
        assert_int_equal(mq_add(&p, inplace, b, inplace, (size_t)n), MQ_OK);
        assert_memory_equal(inplace, o, (size_t)n);
        if (!scalar) {
            mq_add_params bad = p;
            assert_int_equal(mq_add(&p, a, o, o, (size_t)n), MQ_ERR_BUFFER); /* in2 overlapping the output */
            bad.channels = 0;
            assert_int_equal(mq_add(&bad, a, b, o, (size_t)n), MQ_ERR_SHAPE);
            bad.channels = n + 1;
            assert_int_equal(mq_add(&bad, a, b, o, (size_t)n), MQ_ERR_SHAPE);
            bad = p;
            bad.broadcast = (mq_broadcast)3;
            assert_int_equal(mq_add(&bad, a, b, o, (size_t)n), MQ_ERR_SHAPE);
        } else {
            mq_add_params bad = p;
            bad.channels = 1;
            assert_int_equal(mq_add(&bad, a, b, o, (size_t)n), MQ_ERR_SHAPE);
        }
    }
}

static int report(void **state)
{
    (void)state;
    print_message("test_add: %ld outputs compared, 0 mismatches\n", g_checked);
    return 0;
}

/*
 * TFLite's reference ADD with a fused ReLU / ReLU6 (ResNet residual blocks), int8 and uint8: ai-edge-litert
 * BUILTIN_REF one-op models (fixtures/litert_ops.bin), byte for byte, and the clamp must bite.
 */
static void test_add_relu_litert(void **state)
{
    lr_file f;
    lr_record r;
    int records = 0, relu = 0;
    long bytes = 0, clamped = 0;
    uint8_t got[1024];
    (void)state;
    assert_true(lr_open(&f, "litert_ops.bin"));
    while (lr_next(&f, &r)) {
        mq_add_params p;
        int k;
        size_t i;
        if (r.w[0] != LR_ADD) {
            continue;
        }
        assert_int_equal(mq_add_prepare((double)lr_f32(r.w[7]), r.w[4], (mq_dtype)r.w[1], (double)lr_f32(r.w[8]),
                                        r.w[5], (mq_dtype)r.w[2], (double)lr_f32(r.w[9]), r.w[6], (mq_dtype)r.w[3],
                                        r.w[31], r.w[32], &p), MQ_OK);
        for (k = 0; k < r.w[34]; ++k) {
            const uint8_t *a, *b, *want;
            lr_sample(&r, k, &a, &b, &want);
            assert_int_equal(mq_add(&p, a, b, got, (size_t)r.w[35]), MQ_OK);
            if (memcmp(got, want, (size_t)r.w[37]) != 0) {
                fail_msg("ADD record %u (act %d) sample %d differs from TFLite", f.index, r.w[30], k);
            }
            for (i = 0; i < (size_t)r.w[37]; ++i) {
                const int32_t v = ref_code(got[i], r.w[3] == MQ_DTYPE_UINT8);
                clamped += (v == r.w[31] && r.w[31] > mq_dtype_min((mq_dtype)r.w[3])) ||
                           (v == r.w[32] && r.w[32] < mq_dtype_max((mq_dtype)r.w[3]));
            }
            bytes += r.w[37];
        }
        relu += r.w[30] != 0 && r.w[31] > mq_dtype_min((mq_dtype)r.w[3]);
        records++;
    }
    lr_close(&f);
    printf("add vs TFLite reference ADD (ai-edge-litert): %d models (%d with a fused ReLU/ReLU6 above qmin), %ld bytes "
           "identical, %ld of them clamped\n", records, relu, bytes, clamped);
    assert_true(records >= 20 && relu >= 10 && clamped > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_random),
        cmocka_unit_test(test_add_exhaustive),
        cmocka_unit_test(test_add_edge_params),
#if defined(MQ_X86_HOST_KERNELS)
        cmocka_unit_test(test_add_table_x86),
#endif
        cmocka_unit_test(test_add_rejects_bad),
        cmocka_unit_test(test_add_broadcast),
        cmocka_unit_test(test_add_relu_litert),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
