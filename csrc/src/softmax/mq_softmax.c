/*
 * mq_softmax: 8-bit softmax along the middle axis of [outer, axis_size, inner], bit-exact with TFLite's
 * reference int8/uint8 SOFTMAX (and so with TFLite Micro and CMSIS-NN's arm_softmax_s8), integer-only.
 *
 * Shapes:  input and output [outer, axis_size, inner] (1 <= axis_size <= 4095), codes of in_dtype / out_dtype.
 * Qparams: input (s_in, any zero point: softmax only sees differences); output fixed scale 1/256 with
 *          zero point -128 (INT8) or 0 (UINT8). Prepared on the host (mq_softmax_prepare, mq_host.h):
 *            input_multiplier, input_left_shift = QuantizeMultiplier(min(beta * s_in * 2^26, 2^31 - 1)),
 *                                                 multiplier in [2^30, 2^31), left shift in [0, 31]
 *            diff_min = -floor(31 * 2^26 / 2^input_left_shift)
 * Per slice (fixed point: Qm.n = m integer bits, n = 31 - m fractional bits, int32 raw values):
 *   mx = max_j x_j;  d_j = x_j - mx (in [-255, 0])
 *   if d_j >= diff_min:  a_j = SRDHM(d_j * 2^input_left_shift, input_multiplier)           (Q5.26, <= 0)
 *                        e_j = exp_on_negative_values(a_j)                                   (Q0.31)
 *   sum = sum_j RDBPOT(e_j, 12)                                                              (Q12.19)
 *   c = clz(sum), nbou = 12 - c; r = one_over_one_plus_x((sum << c) - 2^31)                   (Q0.31)
 *   out_j = clamp(RDBPOT(SRDHM(r, e_j), nbou + 23) + qmin, qmin, qmax), or qmin if d_j < diff_min
 * exp_on_negative_values and one_over_one_plus_x are gemmlowp's fixed-point evaluations (a Taylor
 * polynomial around -1/8 on [-1/4, 0), then a barrel of exp(-2^k) factors; three Newton-Raphson steps for
 * 1/(1+x) on [0, 1)), spelled out in docs/QUANTIZATION.md section 7. axis_size <= 4095 keeps sum < 2^31;
 * a right shift nbou + 23 beyond 31 (sum >= 2^28, only with >= 512 values near the maximum; TFLite's reference
 * then shifts an int32 by more than 31, undefined in C++, and some versions stop on a check) gives 0, the
 * correctly rounded value, so out = qmin.
 * input == output allowed; a partial overlap is MQ_ERR_BUFFER.
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

#define MQ_SOFTMAX_MAX_AXIS 4095

/*
 * SRDHM(a, b) = floor((a*b + 2^30) / 2^31) (docs/QUANTIZATION.md section 3) without the INT32_MIN * INT32_MIN
 * saturation of mq_srdhm: no product below has two INT32_MIN operands (every multiplier is a positive constant
 * or a positive exp / reciprocal value, the Taylor terms are within +-2^28), so it equals mq_srdhm there.
 * SMULL + add + shift on Cortex-M (the int64 right shift is arithmetic, as gcc and clang define it).
 */
static inline int32_t mq_sm_mul(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}
#define MQ_SOFTMAX_CACHE 64          /* exp values of one slice kept on the stack (256 bytes) when it fits */

/* x * 2^e saturated to int32, e >= 0 (gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent) */
static int32_t mq_sat_shl(int32_t x, int e)
{
    const int64_t v = (int64_t)x * ((int64_t)1 << e);
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8 to the 4th order */
static int32_t mq_exp_quarter(int32_t a)
{
    const int32_t exp_minus_1_8 = 1895147668;          /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;                /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                    /* a + 1/8, in [-1/8, 1/8) */
    const int32_t x2 = mq_sm_mul(x, x);
    const int32_t x3 = mq_sm_mul(x2, x);
    const int32_t x4 = mq_sm_mul(x2, x2);
    const int32_t x4_over_4 = (int32_t)(((uint32_t)x4 + 2u) >> 2);   /* RDBPOT(x4, 2); x4 = SRDHM(x2, x2) >= 0 */
    const int32_t poly = mq_rdbpot(mq_sm_mul(x4_over_4 + x3, one_third) + x2, 1);  /* x^4/24 + x^3/6 + x^2/2 */
    return exp_minus_1_8 + mq_sm_mul(exp_minus_1_8, x + poly);
}

/* exp(a) for a <= 0 in Q5.26, result in Q0.31 (exp(0) = INT32_MAX) */
static int32_t mq_exp_negative(int32_t a)
{
    /* exp(-2^k) in Q0.31 for k = -2..4 */
    static const int32_t factor[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;                                    /* 1/4 in Q5.26 */
    const int32_t frac = (int32_t)((uint32_t)a & (uint32_t)(quarter - 1));
    const int32_t a_mod = frac - quarter;                               /* in [-1/4, 0) */
    const int32_t remainder = a_mod - a;                                /* a multiple of 1/4, >= 0 for a < 0 */
    int32_t result;
    uint32_t bits = (uint32_t)remainder >> 24;                          /* quarters: bit k = exp(-2^(k-2)) */
    const int32_t *f = factor;
    if (a == 0) {
        return INT32_MAX;
    }
    result = mq_exp_quarter(a_mod * 32);                                /* Q5.26 -> Q0.31, |a_mod| <= 2^24 */
    /* bits < 2^7 (a > -32); in this order: the products round, so the order is part of the result */
    if (bits & 1u) {
        result = mq_sm_mul(result, f[0]);
    }
    if (bits & 2u) {
        result = mq_sm_mul(result, f[1]);
    }
    if (bits & 4u) {
        result = mq_sm_mul(result, f[2]);
    }
    if (bits & 8u) {
        result = mq_sm_mul(result, f[3]);
    }
    if (bits & 16u) {
        result = mq_sm_mul(result, f[4]);
    }
    if (bits & 32u) {
        result = mq_sm_mul(result, f[5]);
    }
    if (bits & 64u) {
        result = mq_sm_mul(result, f[6]);
    }
    return result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (the result is in (1/2, 1], as Q0.31 of its half doubled) */
static int32_t mq_one_over_one_plus_x(int32_t x)
{
    const int32_t c48_17 = 1515870810;                  /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540;                /* -32/17 in Q2.29 */
    const int64_t s = (int64_t)x + INT32_MAX;
    const int32_t half_den = (int32_t)((s + 1) / 2);    /* (1 + x) / 2 in Q0.31, rounded half away */
    int32_t r = c48_17 + mq_sm_mul(half_den, cm32_17);   /* Q2.29 initial estimate of 1 / half_den */
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - mq_sm_mul(half_den, r);
        /* gemmlowp saturates this doubling twice; it cannot saturate: r in (1, 2], |one_minus| <= 1/17 (Q2.29),
         * so |r * one_minus| < 0.12 (Q4.27) and 4 times it stays below 2^29 */
        r = r + mq_sm_mul(r, one_minus) * 4;
    }
    return mq_sat_shl(r, 1);                            /* Q2.29 of 1/half_den -> Q0.31 of 1/(1 + x) */
}

/* leading zeros of v > 0 (CLZ on Cortex-M3 and up through the builtin) */
static int32_t mq_clz32(uint32_t v)
{
#if defined(__GNUC__)
    return (int32_t)__builtin_clz(v);
#else
    int32_t n = 0;
    while ((v & 0x80000000u) == 0u) {
        v <<= 1;
        ++n;
    }
    return n;
#endif
}

mq_status mq_softmax_check(const mq_softmax_params *p)
{
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (p->outer < 1 || p->axis_size < 1 || p->inner < 1 || p->axis_size > MQ_SOFTMAX_MAX_AXIS ||
        (int64_t)p->outer * p->axis_size * p->inner > INT32_MAX) {
        return MQ_ERR_SHAPE;
    }
    if (p->input_multiplier < (1 << 30) || p->input_left_shift < 0 || p->input_left_shift > 31 ||
        p->diff_min != -(int32_t)((31u << 26) >> p->input_left_shift)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

static int32_t mq_softmax_exp(const mq_softmax_params *p, int32_t d)
{
    const int32_t scaled = mq_sm_mul((int32_t)((uint32_t)d << p->input_left_shift), p->input_multiplier);
    return mq_exp_negative(scaled);
}

void mq_softmax_unchecked(const mq_softmax_params *p, const void *input, void *output)
{
    const uint8_t *in;
    uint8_t *out;
    size_t inner, axis, o, i;
    int32_t qmin, qmax;
    uint32_t flip;
    axis = (size_t)p->axis_size;
    inner = (size_t)p->inner;
    qmin = mq_dtype_min(p->out_dtype);
    qmax = mq_dtype_max(p->out_dtype);
    in = (const uint8_t *)input;
    out = (uint8_t *)output;
    /* Codes compared as unsigned bytes after flipping the sign bit of INT8: the same order and the same
     * differences d = x - max as the signed values. */
    flip = p->in_dtype == MQ_DTYPE_INT8 ? 0x80u : 0u;
    for (o = 0; o < (size_t)p->outer; ++o) {
        for (i = 0; i < inner; ++i) {
            const uint8_t *src = in + o * axis * inner + i;
            uint8_t *dst = out + o * axis * inner + i;
            const int cached = axis <= MQ_SOFTMAX_CACHE;
            int32_t cache[MQ_SOFTMAX_CACHE];
            uint32_t mx = 0u;
            int32_t sum = 0;
            int32_t recip;
            int32_t clz;
            int32_t exponent;
            uint32_t half;
            size_t j;
            for (j = 0; j < axis; ++j) {
                const uint32_t u = (uint32_t)src[j * inner] ^ flip;
                mx = u > mx ? u : mx;
            }
            /* below diff_min TFLite skips a value: e = 0 adds nothing to the sum and gives out = qmin below.
             * RDBPOT(e, 12) for e >= 0 rounds ties up: (e + 2^11) >> 12 in uint32. sum < 2^19 * 4095. */
            if (cached) {
                const int32_t dmin = p->diff_min, m = p->input_multiplier;
                const uint32_t ls = (uint32_t)p->input_left_shift;
                for (j = 0; j < axis; ++j) {
                    const int32_t d = (int32_t)((uint32_t)src[j * inner] ^ flip) - (int32_t)mx;
                    cache[j] = d >= dmin ? mq_exp_negative(mq_sm_mul(mq_u32_to_i32((uint32_t)d << ls), m)) : 0;
                }
                for (j = 0; j < axis; ++j) {
                    sum += (int32_t)(((uint32_t)cache[j] + 2048u) >> 12);
                }
            } else {
                for (j = 0; j < axis; ++j) {
                    const int32_t d = (int32_t)((uint32_t)src[j * inner] ^ flip) - (int32_t)mx;
                    const int32_t e = d >= p->diff_min ? mq_softmax_exp(p, d) : 0;
                    sum += (int32_t)(((uint32_t)e + 2048u) >> 12);
                }
            }
            /* sum >= RDBPOT(exp(0), 12) = 2^19 (the maximum itself) */
            clz = mq_clz32((uint32_t)sum);
            recip = mq_one_over_one_plus_x(mq_u32_to_i32(((uint32_t)sum << clz) - 0x80000000u));
            exponent = 12 - clz + 23;
            if (exponent > 31) {
                /* sum >= 2^28: every probability rounds to 0 (TFLite's reference stops on a check here) */
                for (j = 0; j < axis; ++j) {
                    dst[j * inner] = (uint8_t)qmin;
                }
                continue;
            }
            half = 1u << (exponent - 1);
            for (j = 0; j < axis; ++j) {
                int32_t e;
                int32_t v;
                if (cached) {
                    e = cache[j];
                } else {
                    const int32_t d = (int32_t)((uint32_t)src[j * inner] ^ flip) - (int32_t)mx;
                    e = d >= p->diff_min ? mq_softmax_exp(p, d) : 0;
                }
                /* RDBPOT(prob, exponent) for prob >= 0, exponent in [23, 31]: (prob + 2^(exponent-1)) >> exponent;
                 * e = 0 (skipped value) gives qmin, as TFLite writes for it */
                v = (int32_t)(((uint32_t)mq_sm_mul(recip, e) + half) >> exponent) + qmin;
                dst[j * inner] = (uint8_t)(v > qmax ? qmax : v);
            }
        }
    }
}

mq_status mq_softmax(const mq_softmax_params *p, const void *input, void *output)
{
    const mq_status st = mq_softmax_check(p);
    size_t total, inner, axis;
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    axis = (size_t)p->axis_size;
    inner = (size_t)p->inner;
    total = (size_t)p->outer * axis * inner;
    if (input != output && mq_ranges_overlap(input, total, output, total)) {
        return MQ_ERR_BUFFER;
    }
    mq_softmax_unchecked(p, input, output);
    return MQ_OK;
}
