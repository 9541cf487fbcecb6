/*
 * Requantization arithmetic (mq_quant.h), mq_quantize_multiplier, quantize/dequantize, mq_status_str,
 * against the independent references of ref_quant.h and hand-derived values.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_quant.h"
#include "microquant/mq_status.h"
#include "ref_quant.h"
#include "../host/mq_host_internal.h" /* mq_quantize_f32_isa, mq_dequantize_f32_isa */

/* Values around every power-of-two tie position and the int32 limits. */
static int32_t edge_values(int32_t *v)
{
    int n = 0;
    int e;
    v[n++] = 0;
    v[n++] = 1;
    v[n++] = -1;
    v[n++] = INT32_MAX;
    v[n++] = INT32_MIN;
    v[n++] = INT32_MAX - 1;
    v[n++] = INT32_MIN + 1;
    for (e = 1; e <= 30; ++e) {
        const int64_t half = (int64_t)1 << (e - 1);
        const int64_t p = (int64_t)1 << e;
        int64_t base;
        for (base = -3; base <= 3; ++base) {
            int64_t d;
            for (d = -1; d <= 1; ++d) {
                const int64_t x = base * p + half + d;
                if (x >= INT32_MIN && x <= INT32_MAX) {
                    v[n++] = (int32_t)x;
                }
            }
        }
    }
    return n;
}

static void test_srdhm_hand_values(void **state)
{
    (void)state;
    /* 2ab/2^32 = 0.5 -> 1 (tie up), -0.5 -> 0 (tie up, toward +inf), 1.5 -> 2, -1.5 -> -1. */
    assert_int_equal(mq_srdhm(1 << 30, 1), 1);
    assert_int_equal(mq_srdhm(-(1 << 30), 1), 0);
    assert_int_equal(mq_srdhm(1 << 30, 3), 2);
    assert_int_equal(mq_srdhm(-(1 << 30), 3), -1);
    assert_int_equal(mq_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    assert_int_equal(mq_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
    assert_int_equal(mq_srdhm(INT32_MIN, INT32_MAX), INT32_MIN + 1);
    assert_int_equal(mq_srdhm(1000, 1 << 30), 500);
}

static void test_rdbpot_hand_values(void **state)
{
    (void)state;
    /* ties away from zero */
    assert_int_equal(mq_rdbpot(5, 1), 3);
    assert_int_equal(mq_rdbpot(-5, 1), -3);
    assert_int_equal(mq_rdbpot(3, 1), 2);
    assert_int_equal(mq_rdbpot(-3, 1), -2);
    assert_int_equal(mq_rdbpot(6, 2), 2);   /* 1.5 -> 2 */
    assert_int_equal(mq_rdbpot(-6, 2), -2); /* -1.5 -> -2 */
    assert_int_equal(mq_rdbpot(-7, 2), -2); /* -1.75 -> -2 */
    assert_int_equal(mq_rdbpot(-5, 2), -1); /* -1.25 -> -1 */
    assert_int_equal(mq_rdbpot(INT32_MIN, 31), -1);
    assert_int_equal(mq_rdbpot(INT32_MAX, 31), 1);
    assert_int_equal(mq_rdbpot(1 << 30, 31), 1);      /* 0.5 -> 1 */
    assert_int_equal(mq_rdbpot(-(1 << 30), 31), -1);  /* -0.5 -> -1 */
    assert_int_equal(mq_rdbpot((1 << 30) - 1, 31), 0);
    assert_int_equal(mq_rdbpot(12345, 0), 12345);
}

static void test_srdhm_vs_reference(void **state)
{
    int32_t v[1024];
    const int32_t n = edge_values(v);
    ref_rng r = {1};
    int32_t i;
    int32_t j;
    (void)state;
    for (i = 0; i < n; ++i) {
        for (j = 0; j < n; ++j) {
            assert_int_equal(mq_srdhm(v[i], v[j]), ref_srdhm(v[i], v[j]));
        }
    }
    for (i = 0; i < 200000; ++i) {
        const int32_t a = (int32_t)ref_range(&r, INT32_MIN, INT32_MAX);
        const int32_t b = (int32_t)ref_range(&r, INT32_MIN, INT32_MAX);
        assert_int_equal(mq_srdhm(a, b), ref_srdhm(a, b));
    }
}

static void test_rdbpot_vs_reference(void **state)
{
    int32_t v[1024];
    const int32_t n = edge_values(v);
    ref_rng r = {2};
    int32_t i;
    int e;
    (void)state;
    for (e = 0; e <= 31; ++e) {
        for (i = 0; i < n; ++i) {
            assert_int_equal(mq_rdbpot(v[i], e), ref_rdbpot(v[i], e));
        }
        for (i = 0; i < 20000; ++i) {
            const int32_t x = (int32_t)ref_range(&r, INT32_MIN, INT32_MAX);
            assert_int_equal(mq_rdbpot(x, e), ref_rdbpot(x, e));
        }
    }
}

static void test_requantize_all_shifts(void **state)
{
    int32_t v[1024];
    const int32_t n = edge_values(v);
    const int32_t fixed_mult[] = {0, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 1518500250 /* ~ 2^30.5 */};
    ref_rng r = {3};
    int32_t shift;
    int32_t i;
    size_t m;
    (void)state;
    for (shift = MQ_SHIFT_MIN; shift <= MQ_SHIFT_MAX; ++shift) {
        for (m = 0; m < sizeof fixed_mult / sizeof fixed_mult[0]; ++m) {
            for (i = 0; i < n; ++i) {
                assert_int_equal(mq_requantize(v[i], fixed_mult[m], shift), ref_requantize(v[i], fixed_mult[m], shift));
            }
        }
        for (i = 0; i < 20000; ++i) {
            const int32_t mult = ref_multiplier(&r);
            const int32_t acc = i % 3 == 0 ? v[i % n] : (int32_t)ref_range(&r, INT32_MIN, INT32_MAX);
            assert_int_equal(mq_requantize(acc, mult, shift), ref_requantize(acc, mult, shift));
        }
    }
    /* Hand value: 3 * 0.5 (M = 2^30, s = 0) = 1.5 -> SRDHM = 2 (tie up); -3 * 0.5 -> -1; with s = -1: 0.75 -> 1. */
    assert_int_equal(mq_requantize(3, 1 << 30, 0), 2);
    assert_int_equal(mq_requantize(-3, 1 << 30, 0), -1);
    assert_int_equal(mq_requantize(3, 1 << 30, -1), 1);
    /* Double rounding: acc=5, M=2^30 (0.5), s=-1 -> SRDHM(5, 2^30) = round(2.5) = 3, RDBPOT(3, 1) = 2,
     * while the single rounding of 5 * 0.25 = 1.25 would give 1. */
    assert_int_equal(mq_requantize(5, 1 << 30, -1), 2);
}

/* Reference QuantizeMultiplier: normalize by exact halvings/doublings (no frexp), round half away. */
static void ref_quantize_multiplier(double real, int32_t *mult, int32_t *shift)
{
    int e = 0;
    double q = real;
    double fixed;
    if (real == 0.0) {
        *mult = 0;
        *shift = 0;
        return;
    }
    while (q >= 1.0) {
        q /= 2.0;
        ++e;
    }
    while (q < 0.5) {
        q *= 2.0;
        --e;
    }
    fixed = floor(q * 2147483648.0 + 0.5); /* q * 2^31 < 2^31: the + 0.5 is exact */
    if (fixed >= 2147483648.0) {
        fixed = 1073741824.0;
        ++e;
    }
    if (e < -31) {
        *mult = 0;
        *shift = 0;
    } else if (e > 30) {
        *mult = INT32_MAX;
        *shift = 30;
    } else {
        *mult = (int32_t)fixed;
        *shift = e;
    }
}

static void check_multiplier(double real)
{
    int32_t m = -1;
    int32_t s = -100;
    int32_t rm;
    int32_t rs;
    assert_int_equal(mq_quantize_multiplier(real, &m, &s), MQ_OK);
    ref_quantize_multiplier(real, &rm, &rs);
    assert_int_equal(m, rm);
    assert_int_equal(s, rs);
    if (m != 0 && rs < 30) {
        /* m * 2^(s-31) approximates real within half a unit of the Q31 mantissa. */
        const double approx = ldexp((double)m, s - 31);
        assert_true(fabs(approx - real) <= ldexp(1.0, s - 32) * 1.000001);
        assert_true(m >= (1 << 30));
    }
}

static void test_quantize_multiplier(void **state)
{
    ref_rng r = {4};
    int i;
    int e;
    (void)state;
    check_multiplier(0.0);
    check_multiplier(1.0);
    check_multiplier(0.5);
    check_multiplier(0.75);
    check_multiplier(nextafter(1.0, 0.0));          /* mantissa rounds to 2^31: halved, shift + 1 */
    check_multiplier(ldexp(1.0, -31));
    check_multiplier(ldexp(1.0, -32));               /* shift -31 */
    check_multiplier(ldexp(1.0, -33));               /* shift -32 < -31: (0, 0) */
    check_multiplier(ldexp(1.0, 29));
    check_multiplier(ldexp(1.0, 30));                /* shift 31 > 30: saturates */
    check_multiplier(1e300);
    check_multiplier(DBL_MIN);
    check_multiplier(4.9e-324);
    for (e = -40; e <= 40; ++e) {
        /* exact ties of the Q31 rounding: mantissa (2^31 + 2j + 1) / 2^32 */
        for (i = 0; i < 20; ++i) {
            const double q = (2147483648.0 + 2.0 * (double)ref_range(&r, 0, 1073741823) + 1.0) / 4294967296.0;
            check_multiplier(ldexp(q, e));
        }
        for (i = 0; i < 200; ++i) {
            check_multiplier(ldexp(0.5 + 0.5 * ref_unit(&r), e));
        }
    }
    {
        int32_t m;
        int32_t s;
        assert_int_equal(mq_quantize_multiplier(-0.5, &m, &s), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_multiplier(NAN, &m, &s), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_multiplier(INFINITY, &m, &s), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_multiplier(0.5, NULL, &s), MQ_ERR_NULL);
        assert_int_equal(mq_quantize_multiplier(0.5, &m, NULL), MQ_ERR_NULL);
    }
}

/* Reference: round half to even of x / scale in long double (exact for these operands), then + zp, clamp. */
static int32_t ref_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
    const long double v = (long double)x / (long double)scale;
    long double f;
    long double q;
    if (v > 1e6L) {
        return hi;
    }
    if (v < -1e6L) {
        return lo;
    }
    f = floorl(v);
    if (v - f > 0.5L) {
        q = f + 1.0L;
    } else if (v - f < 0.5L) {
        q = f;
    } else {
        q = fmodl(f, 2.0L) == 0.0L ? f : f + 1.0L;
    }
    q += (long double)zp;
    return q < lo ? lo : (q > hi ? hi : (int32_t)q);
}

static void test_quantize_dequantize(void **state)
{
    ref_rng r = {5};
    float x[512];
    uint8_t q[512];
    float back[512];
    int t;
    (void)state;
    for (t = 0; t < 400; ++t) {
        const int is_u8 = t & 1;
        const mq_dtype dt = is_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const int32_t lo = is_u8 ? 0 : -128;
        const int32_t hi = is_u8 ? 255 : 127;
        const int32_t zp = t % 7 == 0 ? lo : (t % 7 == 1 ? hi : (int32_t)ref_range(&r, lo, hi));
        const float scale = t % 5 == 0 ? ldexpf(1.0f, (int)ref_range(&r, -12, 2))
                                       : (float)ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -20, 3));
        int i, nq;
        for (i = 0; i < 512; ++i) {
            const int kind = (int)ref_range(&r, 0, 5);
            if (kind == 0) {
                /* exact ties: (k + 1/2) * scale, and the floats 1 or 2 ulps either side of them (the x86 path
                 * multiplies by 1 / scale except near a half-integer) */
                x[i] = (float)(((double)ref_range(&r, -300, 300) + 0.5) * (double)scale);
                switch (ref_range(&r, 0, 4)) {
                case 1: x[i] = nextafterf(x[i], INFINITY); break;
                case 2: x[i] = nextafterf(nextafterf(x[i], INFINITY), INFINITY); break;
                case 3: x[i] = nextafterf(x[i], -INFINITY); break;
                case 4: x[i] = nextafterf(nextafterf(x[i], -INFINITY), -INFINITY); break;
                default: break;
                }
            } else if (kind == 1) {
                x[i] = (float)((double)ref_range(&r, -300, 300) * (double)scale);
            } else if (kind == 2) {
                static const float extremes[] = {FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MIN,
                                                 1e-45f, -1e-45f};
                x[i] = extremes[ref_range(&r, 0, 8)];
            } else {
                x[i] = (float)((ref_unit(&r) * 2.0 - 1.0) * 300.0 * (double)scale);
            }
        }
        /* 512, 511, 510 values: the x86 AVX2 path (4 at a time) and its scalar tail; the dequantize table path */
        nq = 512 - t % 3;
        assert_int_equal(mq_quantize_f32(x, (size_t)nq, scale, zp, dt, q), MQ_OK);
        for (i = 0; i < nq; ++i) {
            const int32_t expect = ref_quantize(x[i], scale, zp, lo, hi);
            if (ref_code(q[i], is_u8) != expect) {
                fail_msg("quantize x=%.9g scale=%.9g zp=%d: got %d expected %d", (double)x[i], (double)scale, zp,
                         ref_code(q[i], is_u8), expect);
            }
        }
        assert_int_equal(mq_dequantize_f32(q, (size_t)nq, scale, zp, dt, back), MQ_OK);
        for (i = 0; i < nq; ++i) {
            const long double exact = (long double)(ref_code(q[i], is_u8) - zp) * (long double)scale;
            assert_true(back[i] == (float)exact);
        }
    }
    {
        const float nanv[2] = {1.0f, NAN};
        uint8_t o[2];
        float f[2];
        float many[64];
        uint8_t mo[64];
        int j;
        assert_int_equal(mq_quantize_f32(nanv, 2, 1.0f, 0, MQ_DTYPE_INT8, o), MQ_ERR_QPARAMS);
        for (j = 0; j < 64; ++j) { /* a NaN anywhere in a long array (vector NaN check and its tail) */
            int e;
            for (e = 0; e < 64; ++e) {
                many[e] = (float)e;
            }
            many[j] = NAN;
            assert_int_equal(mq_quantize_f32(many, 61, 1.0f, 0, MQ_DTYPE_INT8, mo), j < 61 ? MQ_ERR_QPARAMS : MQ_OK);
        }
        assert_int_equal(mq_quantize_f32(nanv, 1, 0.0f, 0, MQ_DTYPE_INT8, o), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_f32(nanv, 1, -1.0f, 0, MQ_DTYPE_INT8, o), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_f32(nanv, 1, INFINITY, 0, MQ_DTYPE_INT8, o), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_f32(nanv, 1, 1.0f, 128, MQ_DTYPE_INT8, o), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_f32(nanv, 1, 1.0f, -1, MQ_DTYPE_UINT8, o), MQ_ERR_QPARAMS);
        assert_int_equal(mq_quantize_f32(nanv, 1, 1.0f, 0, MQ_DTYPE_INT32, o), MQ_ERR_DTYPE);
        assert_int_equal(mq_quantize_f32(NULL, 1, 1.0f, 0, MQ_DTYPE_INT8, o), MQ_ERR_NULL);
        assert_int_equal(mq_quantize_f32(nanv, 1, 1.0f, 0, MQ_DTYPE_INT8, NULL), MQ_ERR_NULL);
        assert_int_equal(mq_dequantize_f32(o, 1, 1.0f, 256, MQ_DTYPE_UINT8, f), MQ_ERR_QPARAMS);
        assert_int_equal(mq_dequantize_f32(o, 1, NAN, 0, MQ_DTYPE_UINT8, f), MQ_ERR_QPARAMS);
        assert_int_equal(mq_dequantize_f32(o, 1, 1.0f, 0, MQ_DTYPE_INT32, f), MQ_ERR_DTYPE);
        assert_int_equal(mq_dequantize_f32(NULL, 1, 1.0f, 0, MQ_DTYPE_UINT8, f), MQ_ERR_NULL);
        assert_int_equal(mq_dequantize_f32(o, 1, 1.0f, 0, MQ_DTYPE_UINT8, NULL), MQ_ERR_NULL);
    }
}

/* Every instruction-set path of quantize (scalar, AVX2, AVX-512 as the CPU has them) and dequantize on int8,
 * uint8 and int16 (little-endian pairs), lengths around the vector widths, against ref_quantize; the _finite
 * form rejects the first NaN or infinity and names its index. */
static void test_quantize_paths(void **state)
{
    ref_rng r = {11};
    float x[301];
    uint8_t q[602];
    float back[301];
    int t;
    const int isa_max = mq_quantize_f32_isa_max();
    (void)state;
    for (t = 0; t < 240; ++t) {
        const int kind = t % 3; /* 0 int8, 1 uint8, 2 int16 */
        const mq_dtype dt = kind == 0 ? MQ_DTYPE_INT8 : (kind == 1 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT16);
        const int32_t lo = kind == 0 ? -128 : (kind == 1 ? 0 : -32768);
        const int32_t hi = kind == 0 ? 127 : (kind == 1 ? 255 : 32767);
        const int32_t zp = (int32_t)ref_range(&r, lo, hi);
        const float scale = (float)ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -12, 2));
        const int n = 1 + (int)ref_range(&r, 0, 300);
        const double span = kind == 2 ? 40000.0 : 300.0;
        int isa, i;
        for (i = 0; i < n; ++i) {
            const int64_t pick = ref_range(&r, 0, 5);
            if (pick == 0) {
                x[i] = (float)(((double)ref_range(&r, -300, 300) + 0.5) * (double)scale);
            } else if (pick == 1) {
                /* around the AVX-512 float path's threshold: 2^-12 (+- a few 2^-20) from a half-integer */
                const double d = (0x1p-12 + (double)ref_range(&r, -4, 4) * 0x1p-20) * (ref_range(&r, 0, 1) ? 1.0 : -1.0);
                x[i] = (float)(((double)ref_range(&r, -300, 300) + 0.5 + d) * (double)scale);
            } else {
                x[i] = (float)((ref_unit(&r) * 2.0 - 1.0) * span * (double)scale);
            }
        }
        for (isa = 0; isa <= isa_max; ++isa) {
            size_t bad = 0;
            memset(q, 0xA5, sizeof(q));
            assert_int_equal(mq_quantize_f32_isa(x, (size_t)n, scale, zp, dt, q, isa, t & 1, &bad), MQ_OK);
            assert_int_equal(bad, (size_t)n);
            for (i = 0; i < n; ++i) {
                const int32_t expect = ref_quantize(x[i], scale, zp, lo, hi);
                const int32_t got = kind == 2 ? (int32_t)(int16_t)(uint16_t)(q[2 * i] | (q[2 * i + 1] << 8))
                                              : ref_code(q[i], kind == 1);
                if (got != expect) {
                    fail_msg("isa %d dtype %d x=%.9g scale=%.9g zp=%d: got %d expected %d", isa, kind, (double)x[i],
                             (double)scale, zp, got, expect);
                }
            }
            {
                assert_int_equal(mq_dequantize_f32_isa(q, (size_t)n, scale, zp, dt, back, isa), MQ_OK);
                for (i = 0; i < n; ++i) {
                    const int32_t code = kind == 2 ? (int32_t)(int16_t)(uint16_t)(q[2 * i] | (q[2 * i + 1] << 8))
                                                   : ref_code(q[i], kind == 1);
                    assert_true(back[i] == (float)((long double)(code - zp) * (long double)scale));
                }
            }
            /* a NaN or infinity at a random place: _finite rejects it with its index; plain quantize rejects NaN
             * only (an infinity saturates) */
            {
                const int at = (int)ref_range(&r, 0, (uint32_t)(n - 1));
                const float keep = x[at];
                const float bads[3] = {NAN, INFINITY, -INFINITY};
                int b;
                for (b = 0; b < 3; ++b) {
                    x[at] = bads[b];
                    assert_int_equal(mq_quantize_f32_isa(x, (size_t)n, scale, zp, dt, q, isa, 1, &bad), MQ_ERR_QPARAMS);
                    assert_int_equal(bad, (size_t)at);
                    assert_int_equal(mq_quantize_f32_isa(x, (size_t)n, scale, zp, dt, q, isa, 0, NULL),
                                     b == 0 ? MQ_ERR_QPARAMS : MQ_OK);
                    if (b > 0) {
                        const int32_t got = kind == 2 ? (int32_t)(int16_t)(uint16_t)(q[2 * at] | (q[2 * at + 1] << 8))
                                                      : ref_code(q[at], kind == 1);
                        assert_int_equal(got, b == 1 ? hi : lo);
                    }
                }
                x[at] = keep;
            }
        }
    }
}

static void test_status_strings(void **state)
{
    static const mq_status all[] = {
        MQ_OK, MQ_ERR_NULL, MQ_ERR_SHAPE, MQ_ERR_QPARAMS, MQ_ERR_DTYPE, MQ_ERR_BUFFER, MQ_ERR_ALIGN,
        MQ_ERR_FORMAT_MAGIC, MQ_ERR_FORMAT_VERSION, MQ_ERR_FORMAT_SIZE, MQ_ERR_FORMAT_CRC, MQ_ERR_FORMAT_BOUNDS,
        MQ_ERR_FORMAT_TENSOR, MQ_ERR_FORMAT_OP, MQ_ERR_UNSUPPORTED_OP, MQ_ERR_ARENA, MQ_ERR_INDEX};
    const size_t n = sizeof all / sizeof all[0];
    const char *unknown = mq_status_str((mq_status)999);
    size_t i;
    size_t j;
    (void)state;
    assert_non_null(unknown);
    for (i = 0; i < n; ++i) {
        const char *s = mq_status_str(all[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        for (j = 0; j < i; ++j) {
            assert_string_not_equal(s, mq_status_str(all[j]));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srdhm_hand_values),
        cmocka_unit_test(test_rdbpot_hand_values),
        cmocka_unit_test(test_srdhm_vs_reference),
        cmocka_unit_test(test_rdbpot_vs_reference),
        cmocka_unit_test(test_requantize_all_shifts),
        cmocka_unit_test(test_quantize_multiplier),
        cmocka_unit_test(test_quantize_dequantize),
        cmocka_unit_test(test_quantize_paths),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
