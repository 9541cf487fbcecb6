/*
 * Test-only reference of TFLite's 8-bit integer softmax, written from its definition in int64 with the
 * ref_quant.h SRDHM/RDBPOT (not the library's): Q-format values are int64 raws, every constant is derived here
 * from libm (round(c * 2^fractional_bits)), and the exp barrel is a loop over the quarter count's bits.
 * test_softmax checks this reference against TFLite itself (ai-edge-litert fixtures) before using it.
 *
 *   prepare:  real = min(beta * s_in * 2^26, 2^31 - 1); (M, e) = frexp-based Q31 of real; diff_min =
 *             -floor(31 * 2^26 / 2^e)
 *   per row:  d = x - max; a = SRDHM(d * 2^e, M) (Q5.26); E = exp(a) (Q0.31); sum of RDBPOT(E, 12) (Q12.19);
 *             1/sum by Newton-Raphson on the normalized sum; out = RDBPOT(SRDHM(recip, E), 35 - clz(sum)) + qmin
 */
#ifndef MQ_TESTS_REF_SOFTMAX_H
#define MQ_TESTS_REF_SOFTMAX_H

#include <math.h>
#include <stdint.h>

#include "ref_quant.h"

/* round(v * 2^bits) as int32 (the Q-format constant of v) */
static inline int32_t ref_fx_const(double v, int bits)
{
    return (int32_t)llround(ldexp(v, bits));
}

static inline int64_t ref_sat32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : v);
}

/* prepare: returns 0 when TFLite would refuse (real <= 1) */
static inline int ref_softmax_prepare(double scale, double beta, int32_t *mult, int32_t *left, int32_t *diff_min)
{
    double real = beta * scale * 67108864.0;
    int e;
    double q;
    int64_t m;
    if (real > 2147483647.0) {
        real = 2147483647.0;
    }
    if (!(real > 1.0)) {
        return 0;
    }
    q = frexp(real, &e);
    m = (int64_t)floor(ldexp(q, 31) + 0.5);
    if (m == ((int64_t)1 << 31)) {
        m >>= 1;
        e++;
    }
    *mult = (int32_t)m;
    *left = e;
    *diff_min = -(int32_t)floor(31.0 * 67108864.0 / ldexp(1.0, e));
    return 1;
}

/* exp(a), a <= 0 a Q5.26 raw; result Q0.31 raw */
static inline int64_t ref_softmax_exp(int64_t a)
{
    const int64_t quarter = (int64_t)1 << 24;
    const int64_t frac = ((a % quarter) + quarter) % quarter;     /* a mod 1/4, in [0, 1/4) */
    const int64_t a_mod = frac - quarter;                         /* in [-1/4, 0) */
    const int64_t quarters = (a_mod - a) / quarter;               /* a = a_mod - quarters / 4 */
    const int64_t c = ref_fx_const(exp(-0.125), 31);
    const int64_t third = ref_fx_const(1.0 / 3.0, 31);
    int64_t x, x2, x3, x4, poly, result;
    int bit;
    if (a == 0) {
        return INT32_MAX;
    }
    x = ref_sat32(a_mod * 32) + ref_fx_const(0.125, 31);          /* Q0.31 of a_mod + 1/8 */
    x2 = ref_srdhm((int32_t)x, (int32_t)x);
    x3 = ref_srdhm((int32_t)x2, (int32_t)x);
    x4 = ref_srdhm((int32_t)x2, (int32_t)x2);
    poly = ref_rdbpot((int32_t)(ref_srdhm((int32_t)(ref_rdbpot((int32_t)x4, 2) + x3), (int32_t)third) + x2), 1);
    result = c + ref_srdhm((int32_t)c, (int32_t)(x + poly));
    for (bit = 0; bit < 7; ++bit) {                               /* exp(-2^(bit-2)) for each set bit */
        if ((quarters >> bit) & 1) {
            result = ref_srdhm((int32_t)result, ref_fx_const(exp(-ldexp(1.0, bit - 2)), 31));
        }
    }
    return result;
}

/* 1 / (1 + x), x in [0, 1) as Q0.31 raw; result Q0.31 raw */
static inline int64_t ref_softmax_recip(int64_t x)
{
    const int64_t sum = x + INT32_MAX;
    const int64_t h = (sum + 1) / 2;                              /* (1 + x) / 2, halves rounded away (sum > 0) */
    int64_t r = ref_fx_const(48.0 / 17.0, 29) + ref_srdhm((int32_t)h, ref_fx_const(-32.0 / 17.0, 29));
    int it;
    for (it = 0; it < 3; ++it) {
        const int64_t err = ((int64_t)1 << 29) - ref_srdhm((int32_t)h, (int32_t)r);
        r += ref_sat32(4 * (int64_t)ref_srdhm((int32_t)r, (int32_t)err));
    }
    return ref_sat32(2 * r);
}

/* One row of n codes (values already decoded), output codes (qmin = -128 INT8 / 0 UINT8 output). */
static inline void ref_softmax_row(const int32_t *x, int n, int32_t mult, int32_t left, int32_t diff_min,
                                   int32_t qmin, int32_t qmax, int32_t *out)
{
    int64_t e[4096];
    int64_t sum = 0, recip;
    int32_t mx = x[0];
    int i, lz = 0, expo;
    for (i = 1; i < n; ++i) {
        mx = x[i] > mx ? x[i] : mx;
    }
    for (i = 0; i < n; ++i) {
        const int64_t d = x[i] - mx;
        e[i] = -1;
        if (d >= diff_min) {
            e[i] = ref_softmax_exp(ref_srdhm(ref_wrap32(d * ((int64_t)1 << left)), mult));
            sum += ref_rdbpot((int32_t)e[i], 12);
        }
    }
    while (((sum << lz) & 0x80000000ll) == 0) {
        lz++;
    }
    recip = ref_softmax_recip((sum << lz) - 0x80000000ll);
    expo = 12 - lz + 31 - 8;
    for (i = 0; i < n; ++i) {
        int64_t v = qmin;
        if (e[i] >= 0) {
            const int64_t prob = ref_srdhm((int32_t)recip, (int32_t)e[i]);
            v = (expo > 31 ? 0 : ref_rdbpot((int32_t)prob, expo)) + qmin;
            v = v > qmax ? qmax : v;
        }
        out[i] = (int32_t)v;
    }
}

#endif /* MQ_TESTS_REF_SOFTMAX_H */
