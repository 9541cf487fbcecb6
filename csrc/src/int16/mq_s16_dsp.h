/*
 * MicroQuant internal: Armv7E-M / Armv8-M DSP-extension instructions used by the 16x8 depthwise, pooling and
 * pooling paths, as one-instruction inline asm; defined (with MQ_S16_DSP) only on cores with the extension and
 * without MQ_FORCE_PORTABLE:
 *   mq_sxtb16(v)      = (sext(v.b0), sext(v.b2)) as halfwords       mq_sxtb16_r8(v) = (sext(v.b1), sext(v.b3))
 *   mq_smlaxy(a, x, w) with x, y in {b = bottom halfword, t = top}:  a + x.x * w.y (wrapping)
 *   mq_sxtah(a, v)    = a + sext(v.lo)                                mq_sxtah_r16(a, v) = a + sext(v.hi)
 */
#ifndef MICROQUANT_MQ_S16_DSP_H
#define MICROQUANT_MQ_S16_DSP_H

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(MQ_FORCE_PORTABLE)
#define MQ_S16_DSP 1
#define MQ_S16_ASM1(NAME, INSN)                                                                            \
    static inline int32_t NAME(int32_t a, uint32_t x, uint32_t w)                                          \
    {                                                                                                      \
        int32_t r;                                                                                         \
        __asm__(INSN " %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(w), "r"(a));                               \
        return r;                                                                                          \
    }
MQ_S16_ASM1(mq_smlabb, "smlabb")
MQ_S16_ASM1(mq_smlabt, "smlabt")
MQ_S16_ASM1(mq_smlatb, "smlatb")
MQ_S16_ASM1(mq_smlatt, "smlatt")
static inline uint32_t mq_sxtb16(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}
static inline uint32_t mq_sxtb16_r8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
static inline int32_t mq_sxtah(int32_t a, uint32_t v)
{
    int32_t r;
    __asm__("sxtah %0, %1, %2" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
static inline int32_t mq_sxtah_r16(int32_t a, uint32_t v)
{
    int32_t r;
    __asm__("sxtah %0, %1, %2, ror #16" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
#endif

#endif /* MICROQUANT_MQ_S16_DSP_H */
