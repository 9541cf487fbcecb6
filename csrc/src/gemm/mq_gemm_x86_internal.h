/*
 * MicroQuant internal: helpers shared by the x86-64 host GEMM microkernels (mq_gemm_s8_n4k16_avx2.c,
 * mq_gemm_s8_n4k16_avx512vnni.c). Plain C, no vector types: the vector code stays in the kernel files
 * under their own __attribute__((target(...))).
 *
 * The kernels' vector output stage computes mq_requantize exactly, lane by lane (shift in [-31, 30], any
 * int32 multiplier):
 *   - left shift: VPSLLVD by max(shift, 0) (wraps modulo 2^32 like mq_requantize);
 *   - SRDHM: the 64-bit product ab = a * b (VPMULDQ on the even lanes and on the odd lanes moved down).
 *     mq_srdhm returns trunc((ab + nudge) / 2^31), nudge = 2^30 if ab >= 0 else 1 - 2^30. For ab >= 0 that is
 *     floor((ab + 2^30) / 2^31); for ab < 0 the dividend is negative and truncation is the ceiling,
 *     ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31) = floor((ab + 2^30) / 2^31).
 *     So SRDHM = (ab + 2^30) >> 31 (arithmetic) for every ab; the result fits int32 and is bits 31..62 of
 *     ab + 2^30, taken by a 64-bit logical shift (right 31 for the even lanes, left 1 for the odd ones).
 *     Its range is [-2^31 + 1, 2^31 - 1] except for a = b = INT32_MIN (ab = 2^62), which gives exactly
 *     INT32_MIN there and is saturated to INT32_MAX (mq_srdhm's special case) by subtracting 1 where the
 *     result equals INT32_MIN;
 *   - RDBPOT by e = max(-shift, 0): mask = (1 << e) - 1 (modulo 2^32: e = 31 gives 0x7FFFFFFF),
 *     remainder = x & mask, threshold = (mask >> 1) + (x < 0), x >> e (VPSRAVD) + (remainder > threshold);
 *   - clamp and zero point via mq_gemm_x86_clamp; the byte is the low byte of the int32 (as (uint8_t)cl).
 * The optional LUT is applied per byte afterwards.
 * Single rounding (mq_fc_params.single_rounding): the kernels swap only the requantization for the high-word form
 * of mq_output_stage.h (x86 bullet there) when every shift is <= -1 (mq_gemm_x86_clamp_init), else
 * mq_gemm_x86_out1 per output; clamp, zero point and LUT as above.
 */
#ifndef MICROQUANT_MQ_GEMM_X86_INTERNAL_H
#define MICROQUANT_MQ_GEMM_X86_INTERNAL_H

#include <stdint.h>

#include "mq_microkernels.h"
#include "mq_output_stage.h"
#include "microquant/mq_quant.h"

/*
 * The shared output stage (mq_output_stage.h) of one output channel c: s = bias[c] + dot (modulo 2^32, the
 * documented int32 wrap), then mq_output_stage.
 */
static inline uint8_t mq_gemm_x86_out1(const mq_fc_params *p, int32_t c, uint32_t dot)
{
    const int32_t ch = p->per_channel ? c : 0;
    const uint32_t s = (uint32_t)p->bias.folded[c] + dot;
    if (p->single_rounding) {
        return mq_output_single_rounding(s, p->multiplier[ch], p->shift[ch], p->out_zero_point, p->act_min,
                                         p->act_max, p->lut);
    }
    return mq_output_stage(mq_u32_to_i32(s), p->multiplier[ch], p->shift[ch], p->out_zero_point, p->act_min,
                           p->act_max, p->lut);
}

/* 1 when every shift of the call (n channels, or the one per-tensor shift) is <= -1: the condition of the kernels'
 * vector single-rounding stage (the high-word form, mq_output_stage.h); 0 sends a single-rounding call to
 * mq_gemm_x86_out1 per output (the same MACs). */
static inline int mq_gemm_x86_shifts_neg(const int32_t *shift, int32_t n, int per_channel)
{
    int32_t c, all = -1;
    for (c = 0; c < (per_channel ? n : 1); c++) {
        all &= shift[c];
    }
    return all < 0;
}

/*
 * Constants of the vectorized output stage (mq_gemm_x86_out_vec_ok / the kernels' vector requantization):
 * clamp(out_zero_point + r, act_min, act_max), computed in int64 by the portable stage, equals
 * out_zero_point + clamp(r, lo, hi) with lo = act_min - out_zero_point and hi = act_max - out_zero_point
 * (both clamped to the int32 range, which changes nothing for an int32 r) when act_min <= act_max; the sum is
 * then in [act_min, act_max], so a wrapping int32 add is exact.
 */
typedef struct {
    int32_t lo;  /* max(act_min - out_zero_point, INT32_MIN) */
    int32_t hi;  /* min(act_max - out_zero_point, INT32_MAX) */
    int32_t zp;  /* out_zero_point */
} mq_gemm_x86_clamp;

/* Returns 1 and fills *c when the vector output stage applies (act_min <= act_max, which
 * mq_fc_params_check guarantees; single rounding: and every shift <= -1); 0 means: use mq_gemm_x86_out1 for
 * every output. */
static inline int mq_gemm_x86_clamp_init(const mq_fc_params *p, mq_gemm_x86_clamp *c)
{
    const int64_t lo = (int64_t)p->act_min - (int64_t)p->out_zero_point;
    const int64_t hi = (int64_t)p->act_max - (int64_t)p->out_zero_point;
    c->lo = 0; /* defined on the scalar path too (the caller's stage struct is never read uninitialised) */
    c->hi = 0;
    c->zp = 0;
    if (p->act_min > p->act_max || (p->single_rounding && !mq_gemm_x86_shifts_neg(p->shift, p->n, p->per_channel))) {
        return 0;
    }
    c->lo = lo < INT32_MIN ? INT32_MIN : (lo > INT32_MAX ? INT32_MAX : (int32_t)lo);
    c->hi = hi < INT32_MIN ? INT32_MIN : (hi > INT32_MAX ? INT32_MAX : (int32_t)hi);
    c->zp = p->out_zero_point;
    return 1;
}

#endif /* MICROQUANT_MQ_GEMM_X86_INTERNAL_H */
