/*
 * MicroQuant internal: THE output stage, shared by every kernel (docs/QUANTIZATION.md section 3a).
 *
 * An int32 accumulator acc of output channel c becomes one output byte:
 *
 *   r    = mq_requantize(acc, multiplier[c], shift[c])           TFLite double rounding (mq_quant.h)
 *   code = clamp(out_zero_point + r, act_min, act_max)            (the sum taken without overflow)
 *   byte = lut != NULL ? lut[(uint8_t)code] : (uint8_t)code       optional fused activation table
 *
 * mq_output_stage() is the definition. The other functions are the same arithmetic with the per-channel
 * constants hoisted out of the pixel / row loops (what the scalar kernels call per output):
 *   mq_os_channel_init + mq_os_requant   = mq_requantize for multiplier >= 0 (the operators' contract);
 *   mq_os_out_init + mq_os_finish        = "+ zero point, clamp, LUT": the clamp is applied to r against
 *                                          [act_min - zp, act_max - zp] and zp added after, which cannot
 *                                          overflow and gives the same code;
 *   mq_os_requant_hi (shift <= -1)       = the one 64-bit multiply-accumulate form the Armv7-M / DSP / depthwise
 *                                          fast paths use: floor((acc*M + 2^30 + 2^(30+E) - [acc<0] 2^31) / 2^(31+E)),
 *                                          E = -shift (derivation below).
 * Vector forms in the SIMD kernels (MVE VQRDMULH + fixup + VRSHL, the x86 AVX2 / AVX-512 stages) are
 * exact lane-wise forms of mq_os_requant; each kernel's comment says why, and the kernel tests compare them
 * with mq_output_stage() / an independent int64 reference over the whole shift and multiplier ranges.
 *
 * Derivation of mq_os_requant_hi: with P = acc * M (exact int64, M >= 0),
 *   SRDHM(acc, M) = floor((P + 2^30) / 2^31)      (TFLite's nudge + truncation is round half up; its
 *                                                   saturating case needs M = INT32_MIN: excluded)
 *   RDBPOT(x, E)  = floor((x + 2^(E-1) - [x < 0]) / 2^E)   (ties away from zero)
 * Nested floors of power-of-two divisions compose, so
 *   result = floor((P + 2^30 + 2^(30+E) - [P < 0] 2^31) / 2^(31+E));
 * [x < 0] may be replaced by [P < 0] (for -2^30 <= P < 0 both give 0) and, as M >= 0, by [acc < 0]
 * (acc < 0 with M = 0 gives P = 0, where both give 0 as well). 31 + E >= 32: only the high word is needed.
 */
#ifndef MICROQUANT_MQ_OUTPUT_STAGE_H
#define MICROQUANT_MQ_OUTPUT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_quant.h"
#include "mq_kernels_internal.h"

/* The definition: requantize, add the zero point, clamp, optional LUT. */
static inline uint8_t mq_output_stage(int32_t acc, int32_t multiplier, int32_t shift, int32_t out_zero_point,
                                      int32_t act_min, int32_t act_max, const uint8_t *lut)
{
    const int32_t code = mq_requantize_clamp(acc, multiplier, shift, out_zero_point, act_min, act_max);
    return lut != NULL ? lut[(uint8_t)code] : (uint8_t)code;
}

/* Requantization constants of one channel (multiplier >= 0, shift in [-31, 30]). */
typedef struct {
    int32_t m;          /* Q31 multiplier */
    int32_t left;       /* max(shift, 0) */
    int32_t right;      /* max(-shift, 0) */
    uint32_t mask;      /* 2^right - 1 */
    int32_t threshold;  /* mask >> 1 */
} mq_os_channel;

static inline void mq_os_channel_init(mq_os_channel *q, int32_t multiplier, int32_t shift)
{
    q->m = multiplier;
    q->left = shift > 0 ? shift : 0;
    q->right = shift > 0 ? 0 : -shift;
    q->mask = (1u << q->right) - 1u;
    q->threshold = (int32_t)(q->mask >> 1);
}

/* mq_requantize(acc, m, shift) for m >= 0: x = acc << left (mod 2^32); SRDHM = floor((x m + 2^30) / 2^31)
 * (x m never equals INT32_MIN^2 as m >= 0); RDBPOT with mask / threshold + [s < 0]. Right shifts of negative
 * values are arithmetic (as mq_rdbpot assumes). */
static inline int32_t mq_os_requant(uint32_t acc, const mq_os_channel *q)
{
    const int32_t x = mq_u32_to_i32(acc << q->left);
    const int32_t s = (int32_t)(((int64_t)x * q->m + ((int64_t)1 << 30)) >> 31);
    const int32_t rem = (int32_t)((uint32_t)s & q->mask);
    return (s >> q->right) + (rem > q->threshold + (s < 0 ? 1 : 0) ? 1 : 0);
}

/* Output constants: clamp range relative to the zero point. */
typedef struct {
    int32_t zp;
    int32_t lo;         /* act_min - zp */
    int32_t hi;         /* act_max - zp */
    const uint8_t *lut;
} mq_os_out;

static inline void mq_os_out_init(mq_os_out *o, int32_t out_zero_point, int32_t act_min, int32_t act_max,
                                  const uint8_t *lut)
{
    o->zp = out_zero_point;
    o->lo = act_min - out_zero_point;
    o->hi = act_max - out_zero_point;
    o->lut = lut;
}

/* + zero point and clamp of a requantized value r: the output code (before the LUT). */
static inline int32_t mq_os_code(int32_t r, const mq_os_out *o)
{
    return (r < o->lo ? o->lo : (r > o->hi ? o->hi : r)) + o->zp;
}

/* + zero point, clamp, LUT of a requantized value r. */
static inline uint8_t mq_os_finish(int32_t r, const mq_os_out *o)
{
    const int32_t v = mq_os_code(r, o);
    return o->lut != NULL ? o->lut[(uint8_t)v] : (uint8_t)v;
}

/*
 * Single-rounding output stage (mq_fc_params.single_rounding / mq_depthwise_params.single_rounding = 1; packed
 * models with MQ_MODEL_FLAG_SINGLE_ROUNDING_FC / _CONV, docs/QUANTIZATION.md section 3): the definition is
 * mq_output_single_rounding (mq_kernels_internal.h): r = mq_requantize_single(acc, M, shift) =
 * floor((acc * M + 2^(30 - shift)) / 2^(31 - shift)), then + zero point, clamp, LUT. The fast kernels use the same
 * accumulation as for double rounding and swap only this stage:
 *   - mq_os_requant_single: with a channel's hoisted constants (the portable kernels);
 *   - the high-word form (shift <= -1, E = -shift >= 1): floor((P + 2^(30+E)) / 2^(31+E)) is the double-rounding
 *     high-word form below with round = 2^(30+E) instead of 2^30 + 2^(30+E) and no sign correction: one SMLAL
 *     from the 64-bit start value, the high word >> (E - 1) (DSP / Armv7-M: MQ_OS_SIGN_SINGLE = 0 as the
 *     correction multiplier);
 *   - MVE: VRSHL(VQDMULH(acc, M), -E). VQDMULH = floor(acc * M / 2^31) =: q (M >= 0: never saturates), with
 *     remainder f = acc * M - q 2^31 in [0, 2^31): floor((q 2^31 + f + 2^(E-1) 2^31) / 2^(31+E)) =
 *     floor((q + 2^(E-1) + f / 2^31) / 2^E) = floor((q + 2^(E-1)) / 2^E) (an integer plus a fraction < 1 divided by
 *     an integer power of two floors like the integer), which is VRSHL's rounding right shift by E;
 *   - x86 host (AVX2 / AVX-512 GEMM and depthwise): the high-word form per 64-bit lane, VPMULDQ (P, exact) +
 *     VPADDQ of round = 2^(30+E) (VPSLLVQ of 1: the even and the odd channels' own E), the high dwords (|P + round|
 *     < 2^63: no overflow, the high word is floor(. / 2^32) and fits int32), VPSRAVD by E - 1 = ~shift.
 *     Taken when every shift of the call is <= -1; otherwise those kernels run mq_output_single_rounding per output.
 * No saturation is needed: the clamp to [act_min, act_max] of the unsaturated int64 value equals the clamp of
 * mq_requantize_single's int32-saturated one.
 */
static inline int64_t mq_os_requant_single(uint32_t acc, const mq_os_channel *q)
{
    const int32_t total = 31 - q->left + q->right;   /* 31 - shift, 1..62 */
    const int64_t prod = (int64_t)mq_u32_to_i32(acc) * (int64_t)q->m + ((int64_t)1 << (total - 1));
    return prod >> total; /* arithmetic right shift: floor (as mq_os_requant assumes) */
}

/* + zero point, clamp, LUT of a single-rounding value r (any int64: clamped before the zero point is added). */
static inline uint8_t mq_os_finish64(int64_t r, const mq_os_out *o)
{
    const int32_t c = (r < o->lo ? o->lo : (r > o->hi ? o->hi : (int32_t)r)) + o->zp;
    return o->lut != NULL ? o->lut[(uint8_t)c] : (uint8_t)c;
}

/* Sign-correction multiplier of the high-word forms: the double-rounding term -[acc < 0] 2^31 is added as
 * (acc >> 31, logical) * MQ_OS_SIGN_DOUBLE; single rounding has none (0). */
#define MQ_OS_SIGN_DOUBLE INT32_MIN
#define MQ_OS_SIGN_SINGLE 0

/* One 64-bit multiply-accumulate form, shift <= -1 only (E = -shift in [1, 31]). */
typedef struct {
    int64_t round;      /* 2^30 + 2^(30+E) */
    int32_t m;
    int32_t right;      /* E - 1 */
} mq_os_channel_hi;

static inline void mq_os_channel_hi_init(mq_os_channel_hi *q, int32_t multiplier, int32_t shift)
{
    const int32_t e = -shift;
    q->m = multiplier;
    q->right = e - 1;
    q->round = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e));
}

static inline int32_t mq_os_requant_hi(int32_t acc, const mq_os_channel_hi *q)
{
    int64_t s = (int64_t)acc * (int64_t)q->m + q->round;
    s -= (int64_t)((uint32_t)acc >> 31) << 31;
    return (int32_t)(s >> 32) >> q->right;
}

/* Single rounding in the same form (shift <= -1): round = 2^(30+E), no sign correction (mq_output_stage.h top). */
static inline void mq_os_channel_hi_init_single(mq_os_channel_hi *q, int32_t multiplier, int32_t shift)
{
    const int32_t e = -shift;
    q->m = multiplier;
    q->right = e - 1;
    q->round = (int64_t)1 << (30 + e);
}

static inline int32_t mq_os_requant_hi_single(int32_t acc, const mq_os_channel_hi *q)
{
    const int64_t s = (int64_t)acc * (int64_t)q->m + q->round;
    return (int32_t)(s >> 32) >> q->right;
}

/* Either form from one code path: mn = MQ_OS_SIGN_DOUBLE with mq_os_channel_hi_init (= mq_os_requant_hi), or
 * MQ_OS_SIGN_SINGLE with mq_os_channel_hi_init_single (= mq_os_requant_hi_single): the sign correction as
 * (acc >> 31, logical) * mn, as the DSP / Armv7-M assembly adds it (one SMLAL). */
static inline int32_t mq_os_requant_hi_mn(int32_t acc, const mq_os_channel_hi *q, int32_t mn)
{
    int64_t s = (int64_t)acc * (int64_t)q->m + q->round;
    s += (int64_t)((uint32_t)acc >> 31) * (int64_t)mn;
    return (int32_t)(s >> 32) >> q->right;
}

/*
 * mq_os_requant_hi with the constants derived inline from (multiplier, shift), shift <= -1: with t = 2^E
 * (E = -shift in [1, 31], mod 2^32), round = 2^30 + 2^(30+E) = (t >> 2) * 2^32 + ((t << 30) + 2^30) (E = 1
 * carries 2^31 into the low word, E >= 2 puts nothing there). No set-up pass: the kernels call it per output.
 */
static inline __attribute__((always_inline)) int32_t mq_os_requant_neg(int32_t acc, int32_t multiplier, int32_t shift)
{
    const uint32_t e = (uint32_t)-shift;
    const uint32_t t = 1u << e;
    int64_t s = (int64_t)(((uint64_t)(t >> 2) << 32) | (uint64_t)((t << 30) + 0x40000000u));
    s += (int64_t)acc * multiplier;
    s -= (int64_t)((uint32_t)acc >> 31) << 31;
    return (int32_t)(s >> 32) >> (e - 1u);
}

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/*
 * DSP form of mq_os_requant_neg + mq_os_finish for one output (shift <= -1): clamp(r + zp, act_min, act_max) = act_min + min(USAT8(r + zl), h)
 * with zl = zp - act_min, h = act_max - act_min (0 <= h <= 255): QADD saturates, and a saturated sum clamps to
 * the same code as the exact one (the bounds are inside [-128, 255]).
 */
typedef struct {
    int32_t zl;         /* out_zero_point - act_min */
    int32_t h;          /* act_max - act_min */
    int32_t lo;         /* act_min */
    const uint8_t *lut;
} mq_os_out_dsp;

static inline void mq_os_out_dsp_init(mq_os_out_dsp *o, int32_t out_zero_point, int32_t act_min, int32_t act_max,
                                      const uint8_t *lut)
{
    o->zl = out_zero_point - act_min;
    o->h = act_max - act_min;
    o->lo = act_min;
    o->lut = lut;
}

static inline __attribute__((always_inline)) int32_t mq_os_requant_dsp(int32_t acc, int32_t multiplier, int32_t shift)
{
    return mq_os_requant_neg(acc, multiplier, shift);
}

static inline __attribute__((always_inline)) int32_t mq_os_finish_dsp(int32_t r, const mq_os_out_dsp *o)
{
    int32_t v = (int32_t)__usat(__qadd(r, o->zl), 8);
    return (v > o->h ? o->h : v) + o->lo;
}
#endif /* __ARM_FEATURE_DSP */

#endif /* MICROQUANT_MQ_OUTPUT_STAGE_H */
