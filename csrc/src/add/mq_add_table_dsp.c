/*
 * mq_add_table_dsp: the tabulated same-shape ADD's output loop on Armv7E-M / Armv8-M with the DSP extension
 * (Cortex-M4, M7, M33); contract in mq_add_internal.h (o[i] = clamp(zo + RDBPOT(SRDHM(t1[a[i]] + t2[b[i]], mo), ro),
 * lo, hi), codes of any 8-bit dtype as bytes), bit-identical to mq_add_table_c.
 *
 * Per element, s = t1[a] + t2[b] (|s| < 2^31), P = s * mo (exact int64, mo >= 0), E = ro:
 *   SRDHM = floor((P + 2^30) / 2^31), RDBPOT(x, E) = floor((x + 2^(E-1) - [x < 0]) / 2^E), so (the derivation of
 *   mq_dsp_rq in mq_gemm_s8_n4k16_dsp.c, [x < 0] replaced by [P < 0]) for E >= 1
 *   RDBPOT(SRDHM) + zl = floor((P + 2^30 + 2^(30+E) + zl * 2^(31+E) - [P < 0] * 2^31) / 2^(31+E))
 *   with zl = zo - lo an integer: the high word of that 64-bit sum (one SMLAL on the precomputed round, one SMLAL
 *   of (s >> 31, logical) by INT32_MIN for the sign term; with mo = 0 the term changes nothing for E >= 1) shifted
 *   right by E - 1. No overflow for E <= 21: |P| < 2^62, |zl| * 2^(31+E) <= 383 * 2^52. s < 0 with mo > 0 is the
 *   only way to get P < 0.
 *   clamp(r + zo, lo, hi) = lo + min(USAT8(r + zl), hi - lo) (0 <= hi - lo <= 255); USAT8 per element, the MIN and
 *   the + lo bytewise on 4 packed codes (USUB8 + SEL, UADD8), one STR per 4 elements: 13.5 instructions per
 *   element instead of about 28.
 * Taken for an output right shift 1 <= ro <= 21 (the ResNet-8 stand-in's residual ADDs); ro = 0 or ro > 21, and
 * the last n % 4 elements, run mq_add_table_c. Not in the size-optimised build (-Os: mq_add.c keeps mq_add_table_c there, 0.3 KB less).
 */
#include "mq_add_internal.h"

#if defined(__ARM_FEATURE_DSP) && !defined(__OPTIMIZE_SIZE__)

/* Frame the loop reads (offsets used by the assembly). */
typedef struct {
    uint32_t round_lo;  /*  0: 2^30 + 2^(30+E) + zl * 2^(31+E), low word */
    int32_t round_hi;   /*  4: high word */
    uint32_t h4;        /*  8: hi - lo in each byte */
    uint32_t lo4;       /* 12: lo mod 256 in each byte */
} mq_add_dsp_k;

/* r0 t1, r1 t2, r2 a, r3 b; stack: o, o_end (o + a multiple of 4, > o), mo, E - 1, k. */
#define MQ_ADD_DSP_EL(FIRST_OR_ORR)                                                                              \
    "ldrb r10, [r2], #1\n\t"                                                                                     \
    "ldrb r11, [r3], #1\n\t"                                                                                     \
    "ldr r10, [r0, r10, lsl #2]\n\t"                                                                             \
    "ldr r11, [r1, r11, lsl #2]\n\t"                                                                             \
    "add r10, r10, r11\n\t"                                                                                      \
    "ldrd r12, lr, [sp]\n\t"                                                                                     \
    "smlal r12, lr, r10, r6\n\t"                                                                                 \
    "lsr r10, r10, #31\n\t"                                                                                      \
    "smlal r12, lr, r10, r7\n\t"                                                                                 \
    "asr lr, lr, r8\n\t" FIRST_OR_ORR

__attribute__((naked, noinline)) static void mq_add_table_dsp_loop(const int32_t *t1 __attribute__((unused)),
                                                                   const int32_t *t2 __attribute__((unused)),
                                                                   const uint8_t *a __attribute__((unused)),
                                                                   const uint8_t *b __attribute__((unused)),
                                                                   uint8_t *o __attribute__((unused)),
                                                                   const uint8_t *o_end __attribute__((unused)),
                                                                   int32_t mo __attribute__((unused)),
                                                                   int32_t e1 __attribute__((unused)),
                                                                   const mq_add_dsp_k *k __attribute__((unused)))
{
    __asm__ volatile("push {r4-r11, lr}\n\t"
                     /* stack args at sp + 36: o, o_end, mo, e1, k */
                     "ldrd r4, r5, [sp, #36]\n\t"
                     "ldrd r6, r8, [sp, #44]\n\t"
                     "ldr r12, [sp, #52]\n\t"
                     "ldm r12, {r7, r9, r10, r11}\n\t"
                     "push {r7, r9, r10, r11}\n\t" /* sp: round_lo, round_hi, h4, lo4 */
                     "mov r7, #0x80000000\n\t"
                     "1:\n\t" MQ_ADD_DSP_EL("usat r9, #8, lr\n\t")
                     MQ_ADD_DSP_EL("usat lr, #8, lr\n\torr r9, r9, lr, lsl #8\n\t")
                     MQ_ADD_DSP_EL("usat lr, #8, lr\n\torr r9, r9, lr, lsl #16\n\t")
                     MQ_ADD_DSP_EL("usat lr, #8, lr\n\torr r9, r9, lr, lsl #24\n\t")
                     "ldrd r10, r11, [sp, #8]\n\t"
                     "usub8 r12, r9, r10\n\t"
                     "sel r9, r10, r9\n\t"
                     "uadd8 r9, r9, r11\n\t"
                     "str r9, [r4], #4\n\t"
                     "cmp r4, r5\n\t"
                     "bne 1b\n\t"
                     "add sp, sp, #16\n\t"
                     "pop {r4-r11, pc}\n\t");
}
#undef MQ_ADD_DSP_EL

void mq_add_table_dsp(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o, size_t n,
                      int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    const size_t n4 = n & ~(size_t)3;
    if (ro >= 1 && ro <= 21 && n4 > 0u) {
        /* the round in two words (32-bit arithmetic, as mq_dsp_px_rq): 2^30 + 2^(30+E) + zl * 2^(31+E) = hi * 2^32 + lo
         * with lo = 2^30 (+ 2^31 if E = 1), hi = 2^(E-2) (E >= 2) + zl * 2^(E-1) (two's complement, wraps exactly) */
        const uint32_t e1 = (uint32_t)ro - 1u;
        const uint32_t t = 2u << e1; /* 2^E */
        mq_add_dsp_k k;
        k.round_lo = (t << 30) + 0x40000000u;
        k.round_hi = (int32_t)((t >> 2) + ((uint32_t)(zo - lo) << e1));
        k.h4 = (uint32_t)(hi - lo) * 0x01010101u;
        k.lo4 = (uint32_t)(uint8_t)lo * 0x01010101u;
        mq_add_table_dsp_loop(t1, t2, a, b, o, o + n4, mo, (int32_t)e1, &k);
        a += n4;
        b += n4;
        o += n4;
        n -= n4;
    }
    mq_add_table_c(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
}

#endif /* __ARM_FEATURE_DSP && !__OPTIMIZE_SIZE__ */
