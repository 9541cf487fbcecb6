/*
 * mq_dw_rq_armv7.h: the depthwise requantization shared by the Armv7-M (mq_dw_s8_v7m.c) and Armv7E-M DSP
 * (mq_dw_s8_dsp.c) kernels: SMLAL from a 64-bit start value with the output zero point folded in, then USAT #8.
 * Per channel 4 words c[0..3] = multiplier M, E - 1, 2^30 (| 2^31 for A < 0, set in the macro; 0 for single rounding), the high start
 * word 2^(E-2) + zl * 2^(E-1) (mq_dw_rq_consts). Included by those two files only (Armv7-M instructions).
 */
#ifndef MQ_DW_RQ_ARMV7_H
#define MQ_DW_RQ_ARMV7_H

#include <stdint.h>

/*
 * Requantize accumulator A (a register operand) of channel K: mq_os_requant_hi with the output zero point
 * folded in. With s = [A < 0], the 64-bit start value (2^(E-2) + zl * 2^(E-1) - s) * 2^32 + (2^30 | s * 2^31)
 * equals 2^30 + 2^(30+E) + zl * 2^(31+E) - s * 2^31; SMLAL adds A * M; the high word >> (E-1) is
 * floor((A * M + 2^30 + 2^(30+E) - s * 2^31) / 2^(31+E)) + zl, the exact double-rounding result
 * (mq_output_stage.h) plus zl (an integer multiple of the divisor; |zl * 2^(31+E)| < 2^62 and |A * M| < 2^62, so
 * the sum does not overflow). USAT #8 then clamps r + zp - act_min to [0, 255]. Eight instructions.
 * MQ_DW_RQZ, when zl <= 0 (the clamp's lower end at or above the zero point: ReLU and the like): the sign term is
 * left out, five instructions. For A >= 0 nothing changes (s = 0); for A < 0, A * M <= 0 (M >= 0) and both the
 * exact r and the value without the term are <= floor((2^30 + 2^(30+E)) / 2^(31+E)) = 0, so r + zl <= 0 either
 * way and USAT gives 0 for both.
 * Single rounding (mq_depthwise_params.single_rounding = 1, mq_output_stage.h) is MQ_DW_RQZ with c[2] = 0: the start
 * value c[3] * 2^32 = 2^(30+E) + zl * 2^(31+E) (E >= 2), so the high word >> (E-1) is
 * floor((A * M + 2^(30+E)) / 2^(31+E)) + zl = mq_requantize_single(A, M, -E) + zl exactly (same overflow bounds;
 * no sign term at all), then the same USAT #8 clamp.
 */
#define MQ_DW_RQ(A, K)                                             \
    "ldrd %[m], %[e], [%[q], #" #K "*16]\n\t"                      \
    "ldr %[rb], [%[q], #" #K "*16+12]\n\t"                         \
    "and %[l], %[" A "], #0x80000000\n\t"                          \
    "orr %[l], %[l], #0x40000000\n\t"                              \
    "sub %[h], %[rb], %[" A "], lsr #31\n\t"                       \
    "smlal %[l], %[h], %[" A "], %[m]\n\t"                         \
    "asr %[h], %[h], %[e]\n\t"                                     \
    "usat %[" A "], #8, %[h]\n\t"

#define MQ_DW_RQZ(A, K)                                            \
    "ldrd %[m], %[e], [%[q], #" #K "*16]\n\t"                      \
    "ldrd %[l], %[h], [%[q], #" #K "*16+8]\n\t"                    \
    "smlal %[l], %[h], %[" A "], %[m]\n\t"                         \
    "asr %[h], %[h], %[e]\n\t"                                     \
    "usat %[" A "], #8, %[h]\n\t"

/* MQ_DW_RQZ with SSAT #8: for a clamp that is SSAT's own range [-128, 127] (INT8, act_min = -128, act_max = 127),
 * with the constants made from the output zero point itself in place of zl (mq_dw_rq_consts(.., zp, ..)): the high
 * word >> (E-1) is r + zp, and SSAT #8 gives clamp(r + zp, -128, 127), the code (sign-extended). Leaving out the
 * sign term is exact as for MQ_DW_RQZ when zp <= -128 (ReLU with the zero point at -128: r + zp <= -128 for A < 0
 * either way) or with single rounding (no sign term at all). */
#define MQ_DW_RQZS(A, K)                                           \
    "ldrd %[m], %[e], [%[q], #" #K "*16]\n\t"                      \
    "ldrd %[l], %[h], [%[q], #" #K "*16+8]\n\t"                    \
    "smlal %[l], %[h], %[" A "], %[m]\n\t"                         \
    "asr %[h], %[h], %[e]\n\t"                                     \
    "ssat %[" A "], #8, %[h]\n\t"

/* Bit length of v (0 for 0). */
static inline uint32_t mq_dw_rq_bits(uint32_t v)
{
    uint32_t n = 0;
    while (v != 0u) {
        v >>= 1;
        ++n;
    }
    return n;
}

/* v << (n mod 256) (LSL by register: 0 for n mod 256 >= 32; no undefined shift for the channels left out). */
static inline uint32_t mq_dw_rq_lsl(uint32_t v, uint32_t n)
{
    uint32_t d;
    __asm__("lsl %0, %1, %2" : "=r"(d) : "r"(v), "r"(n));
    return d;
}

/* Constants of one channel (c[0], c[1], c[3]; c[2] = 2^30 is set by the caller); 1 when the channel is outside the
 * fast range (E - 2 >= e1lim: mq_dw_s8_c takes its group). */
static inline uint32_t mq_dw_rq_consts(int32_t *c, int32_t m, int32_t shift, uint32_t zl, uint32_t e1lim)
{
    const uint32_t e1 = ~(uint32_t)shift; /* -1 - shift = E - 1 */
    c[0] = m;
    c[1] = (int32_t)e1;
    c[3] = (int32_t)(mq_dw_rq_lsl(1u, e1 - 1u) + mq_dw_rq_lsl(zl, e1));
    return (e1 - 1u) >= e1lim ? 1u : 0u;
}

#endif /* MQ_DW_RQ_ARMV7_H */
