/*
 * mq_add: requantized elementwise add (TFLite's 8-bit scheme):
 *   a = (x1 - zp1) << left_shift,  b = (x2 - zp2) << left_shift
 *   s = requant(a, m1, s1) + requant(b, m2, s2)
 *   out = clamp(zp_out + requant(s, m_out, s_out), act_min, act_max)
 * requant = mq_requantize (double rounding).
 * Shapes: in1 [n]; in2 [n] (MQ_BCAST_NONE), [channels] (MQ_BCAST_CHANNEL: element i of in1 pairs with
 * in2[i % channels]) or [1] (MQ_BCAST_SCALAR); output [n]. TFLite's broadcast ADD is the same arithmetic per
 * element (the operands' roles are symmetric, so a broadcast first operand is passed as in2).
 * Aliasing: output may be exactly in1, or exactly in2 without broadcast; no partial overlap.
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_kernels_internal.h"

#include "mq_add_internal.h"
#include "mq_microkernels.h"

#if !defined(MQ_FORCE_PORTABLE) && defined(__ARM_FEATURE_MVE)
#define MQ_ADD_TABLE mq_add_table_mve
#elif !defined(MQ_FORCE_PORTABLE) && defined(MQ_X86_HOST_KERNELS)
#define MQ_ADD_TABLE mq_add_table_x86 /* x86-64 host: AVX-512 / AVX2, chosen at run time (mq_add_table_x86.c) */
#elif !defined(MQ_FORCE_PORTABLE) && defined(__ARM_FEATURE_DSP) && !defined(__OPTIMIZE_SIZE__)
#define MQ_ADD_TABLE mq_add_table_dsp /* Cortex-M4 / M7 / M33 (mq_add_table_dsp.c; not in the -Os build) */
#else
#define MQ_ADD_TABLE mq_add_table_c
#endif

static int mq_zp_ok(int32_t zp, mq_dtype t)
{
    return zp >= mq_dtype_min(t) && zp <= mq_dtype_max(t);
}

static int mq_aliasing_ok(const void *in, const void *out, size_t n)
{
    return in == out || !mq_ranges_overlap(in, n, out, n);
}

static uint8_t mq_add_one(const mq_add_params *p, uint8_t x1, uint8_t x2)
{
    const int32_t va = (mq_code_value(x1, p->in1_dtype) - p->in1_zero_point) * (1 << p->left_shift);
    const int32_t vb = (mq_code_value(x2, p->in2_dtype) - p->in2_zero_point) * (1 << p->left_shift);
    const int32_t sa = mq_requantize(va, p->in1_multiplier, p->in1_shift);
    const int32_t sb = mq_requantize(vb, p->in2_multiplier, p->in2_shift);
    /* Wrapping sum: cannot overflow for multipliers from mq_add_prepare (each term < 2^30). */
    const int32_t s = mq_u32_to_i32((uint32_t)sa + (uint32_t)sb);
    return (uint8_t)mq_requantize_clamp(s, p->out_multiplier, p->out_shift, p->out_zero_point, p->act_min,
                                        p->act_max);
}

/* mq_srdhm(a, m) for a multiplier m >= 0 (mq_multiplier_ok: 0 or [2^30, 2^31)), any a: TFLite's nudge-and-truncate
 * equals floor((a * m + 2^30) / 2^31) (round half up) whenever a * m is not INT32_MIN^2; the floor is taken on
 * a biased unsigned value (+2^63: no signed shift), whose low 32 bits are the result modulo 2^32. */
static inline int32_t mq_add_srdhm_pos(int32_t a, int32_t m)
{
    const uint64_t biased = (uint64_t)((int64_t)a * (int64_t)m) + 0x8000000040000000u;
    return mq_u32_to_i32((uint32_t)(biased >> 31));
}

/* The same-shape add with every shift <= 0 (TFLite's ADD: input multipliers < 1; output multiplier < 1 unless the
 * output scale is far below the inputs'): the same arithmetic as mq_add_one with the per-call constants hoisted
 * and the rounding doubling high multiply in its short exact form. Each input's rescaled term depends on its code
 * only, so for n >= MQ_ADD_TABLE_MIN both are tabulated once per call (2 x 256 int32 on the stack, 512 terms
 * instead of 2n) and an element costs two table reads and the output stage (mq_add_table_c; on M55
 * mq_add_table_mve, 4 lanes per step; on M4 / M7 / M33 mq_add_table_dsp, 13.5 instructions per element). Bounds: |x - zp| <= 255 and
 * left_shift <= 22 give |va| < 2^30, so the terms and their sum stay below 2^31 (the sum's wrap in mq_add_one
 * never happens) and zp_out + requant stays inside int32. */
#define MQ_ADD_TABLE_MIN 1024u

void mq_add_table_c(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o, size_t n,
                    int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        const int32_t v = zo + mq_rdbpot(mq_add_srdhm_pos(t1[a[i]] + t2[b[i]], mo), ro);
        o[i] = (uint8_t)((uint32_t)(v < lo ? lo : (v > hi ? hi : v)) & 0xFFu);
    }
}

static inline int32_t mq_add_term(uint32_t code, uint32_t flip, int32_t k, int32_t ls, int32_t m, int32_t r)
{
    /* code value - zero point = (byte ^ flip) - k: flip 0x80, k = 128 + zp for INT8; flip 0, k = zp for UINT8 */
    return mq_rdbpot(mq_add_srdhm_pos(((int32_t)(code ^ flip) - k) * (1 << ls), m), r);
}

static void mq_add_same_shape_rshift(const mq_add_params *p, const uint8_t *a, const uint8_t *b, uint8_t *o, size_t n)
{
    const uint32_t f1 = p->in1_dtype == MQ_DTYPE_INT8 ? 0x80u : 0u;
    const uint32_t f2 = p->in2_dtype == MQ_DTYPE_INT8 ? 0x80u : 0u;
    const int32_t k1 = (int32_t)f1 + p->in1_zero_point;
    const int32_t k2 = (int32_t)f2 + p->in2_zero_point;
    const int32_t ls = p->left_shift;
    const int32_t m1 = p->in1_multiplier, r1 = -p->in1_shift;
    const int32_t m2 = p->in2_multiplier, r2 = -p->in2_shift;
    const int32_t mo = p->out_multiplier, ro = -p->out_shift;
    const int32_t zo = p->out_zero_point, lo = p->act_min, hi = p->act_max;
    size_t i;
    if (n >= MQ_ADD_TABLE_MIN) {
        int32_t t1[256];
        int32_t t2[256];
        uint32_t c;
        for (c = 0; c < 256u; ++c) {
            t1[c] = mq_add_term(c, f1, k1, ls, m1, r1);
            t2[c] = mq_add_term(c, f2, k2, ls, m2, r2);
        }
        MQ_ADD_TABLE(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
        return;
    }
    for (i = 0; i < n; ++i) {
        const int32_t s = mq_add_term(a[i], f1, k1, ls, m1, r1) + mq_add_term(b[i], f2, k2, ls, m2, r2);
        const int32_t v = zo + mq_rdbpot(mq_add_srdhm_pos(s, mo), ro);
        o[i] = (uint8_t)((uint32_t)(v < lo ? lo : (v > hi ? hi : v)) & 0xFFu);
    }
}

int mq_add_tabulate(const mq_add_params *p, int32_t *t1, int32_t *t2)
{
    const uint32_t f1 = p->in1_dtype == MQ_DTYPE_INT8 ? 0x80u : 0u;
    const uint32_t f2 = p->in2_dtype == MQ_DTYPE_INT8 ? 0x80u : 0u;
    const int32_t k1 = (int32_t)f1 + p->in1_zero_point;
    const int32_t k2 = (int32_t)f2 + p->in2_zero_point;
    uint32_t c;
    if (!(p->broadcast == MQ_BCAST_NONE && p->in1_shift <= 0 && p->in2_shift <= 0 && p->out_shift <= 0)) {
        return 0;
    }
    for (c = 0; c < 256u; ++c) {
        t1[c] = mq_add_term(c, f1, k1, p->left_shift, p->in1_multiplier, -p->in1_shift);
        t2[c] = mq_add_term(c, f2, k2, p->left_shift, p->in2_multiplier, -p->in2_shift);
    }
    return 1;
}

void mq_add_tabulated(const mq_add_params *p, const int32_t *t1, const int32_t *t2, const void *in1, const void *in2,
                      void *output, size_t n)
{
    MQ_ADD_TABLE(t1, t2, (const uint8_t *)in1, (const uint8_t *)in2, (uint8_t *)output, n, p->out_multiplier,
                 -p->out_shift, p->out_zero_point, p->act_min, p->act_max);
}

void mq_add_unchecked(const mq_add_params *p, const void *in1, const void *in2, void *output, size_t n)
{
    const uint8_t *a;
    const uint8_t *b;
    uint8_t *o;
    size_t i;
    a = (const uint8_t *)in1;
    b = (const uint8_t *)in2;
    o = (uint8_t *)output;
    if (p->broadcast == MQ_BCAST_NONE && p->in1_shift <= 0 && p->in2_shift <= 0 && p->out_shift <= 0) {
        mq_add_same_shape_rshift(p, a, b, o, n);
        return;
    }
    if (p->broadcast == MQ_BCAST_SCALAR) {
        for (i = 0; i < n; ++i) {
            o[i] = mq_add_one(p, a[i], b[0]);
        }
    } else if (p->broadcast == MQ_BCAST_CHANNEL) {
        const size_t n2 = (size_t)p->channels;
        size_t c = 0;
        for (i = 0; i < n; ++i) {
            o[i] = mq_add_one(p, a[i], b[c]);
            c = c + 1 == n2 ? 0 : c + 1;
        }
    } else {
        for (i = 0; i < n; ++i) {
            o[i] = mq_add_one(p, a[i], b[i]);
        }
    }
}

mq_status mq_add(const mq_add_params *p, const void *in1, const void *in2, void *output, size_t n)
{
    if (p == NULL || in1 == NULL || in2 == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in1_dtype) || !mq_dtype_is_8bit(p->in2_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (!mq_zp_ok(p->in1_zero_point, p->in1_dtype) || !mq_zp_ok(p->in2_zero_point, p->in2_dtype) ||
        !mq_zp_ok(p->out_zero_point, p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    /* |x - zp| <= 255, so left_shift <= 22 keeps (x - zp) << left_shift inside int32. */
    if (p->left_shift < 0 || p->left_shift > 22) {
        return MQ_ERR_QPARAMS;
    }
    if (!mq_shift_ok(p->in1_shift) || !mq_shift_ok(p->in2_shift) || !mq_shift_ok(p->out_shift) ||
        !mq_multiplier_ok(p->in1_multiplier) || !mq_multiplier_ok(p->in2_multiplier) ||
        !mq_multiplier_ok(p->out_multiplier)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->act_min > p->act_max || p->act_min < mq_dtype_min(p->out_dtype) ||
        p->act_max > mq_dtype_max(p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->broadcast == MQ_BCAST_CHANNEL) {
        if (p->channels < 1 || p->channels > MQ_MAX_DIM || n % (size_t)p->channels != 0u) {
            return MQ_ERR_SHAPE;
        }
    } else if ((p->broadcast != MQ_BCAST_NONE && p->broadcast != MQ_BCAST_SCALAR) || p->channels != 0) {
        return MQ_ERR_SHAPE;
    }
    if (p->broadcast == MQ_BCAST_NONE) {
        if (!mq_aliasing_ok(in1, output, n) || !mq_aliasing_ok(in2, output, n)) {
            return MQ_ERR_BUFFER;
        }
    } else {
        const size_t n2 = p->broadcast == MQ_BCAST_SCALAR ? 1u : (size_t)p->channels;
        if (!mq_aliasing_ok(in1, output, n) || (n > 0u && mq_ranges_overlap(in2, n2, output, n))) {
            return MQ_ERR_BUFFER;
        }
    }
    mq_add_unchecked(p, in1, in2, output, n);
    return MQ_OK;
}
