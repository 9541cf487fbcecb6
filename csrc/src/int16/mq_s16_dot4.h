/*
 * MicroQuant internal: the 16x8 dot-product microkernel, header-only so that the FC and conv loops inline it (the
 * accumulators stay in registers; no call per group of 4 output channels):
 *   acc[r] += sum_{i<k} x[i] * w[r * stride + i],  r = 0..3, exact (int64).
 * mq_dot4_s16_s8_c: portable (int32 blocks of 256 products, then int64).
 * mq_dot4_s16_s8_dsp (Armv7E-M / Armv8-M DSP extension: Cortex-M4, M7, M33), bit-identical: per 4 inputs the two
 * input words (x0,x1), (x2,x3) are repacked once into (x0,x2), (x1,x3) with PKHBT / PKHTB and shared by the 4
 * weight rows; each row's weight word is split by SXTB16 / SXTB16 ROR #8 into (w0,w2), (w1,w3) and accumulated
 * with two SMLAD: 26 instructions per 16 MACs in one inline-asm loop (14 registers, so optimised builds only; -O0
 * keeps a frame pointer and uses the portable arithmetic). The int32 accumulators are flushed into int64 every 64
 * steps (256 products of |x w| <= 2^22: below 2^30, so SMLAD never wraps); the last k mod 4 products in C. Words
 * are read with LDR (unaligned access is allowed on these cores: int16 rows are 2-byte aligned, int8 weight rows
 * need no alignment). mq_dot4_s16_s8 names the Helium variant mq_gemm_s16s8_1x4_mve on Cortex-M55, else the DSP
 * variant when the target has the extension (unless MQ_FORCE_PORTABLE).
 */
#ifndef MICROQUANT_MQ_S16_DOT4_H
#define MICROQUANT_MQ_S16_DOT4_H

#include "mq_s16_internal.h"

static inline void mq_dot4_s16_s8_c(const int16_t *x, const int8_t *w, size_t stride, int32_t k, int64_t acc[4])
{
    acc[0] += mq_dot_s16_s8(x, w, k);
    acc[1] += mq_dot_s16_s8(x, w + stride, k);
    acc[2] += mq_dot_s16_s8(x, w + 2u * stride, k);
    acc[3] += mq_dot_s16_s8(x, w + 3u * stride, k);
}

#if defined(__ARM_FEATURE_DSP)
static inline void mq_dot4_s16_s8_dsp(const int16_t *x, const int8_t *w, size_t stride, int32_t k, int64_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2u * stride, *w3 = w + 3u * stride;
    int32_t steps = k >> 2;
    int32_t i;
    while (steps > 0) {
        int32_t n = steps < 64 ? steps : 64;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        uint32_t xa, xb, v, t;
        steps -= n;
#if defined(__OPTIMIZE__)
        /* 26 instructions per 16 MACs; the loop runs n >= 1 times (14 registers: optimised builds only, where
         * no frame pointer is reserved) */
        __asm__ volatile(
            "1:\n\t"
            "ldr   %[xa], [%[x]], #4\n\t"
            "ldr   %[xb], [%[x]], #4\n\t"
            "pkhbt %[t], %[xa], %[xb], lsl #16\n\t"
            "pkhtb %[xb], %[xb], %[xa], asr #16\n\t"
            "ldr   %[v], [%[w0]], #4\n\t"
            "sxtb16 %[xa], %[v]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[s0], %[t], %[xa], %[s0]\n\t"
            "smlad %[s0], %[xb], %[v], %[s0]\n\t"
            "ldr   %[v], [%[w1]], #4\n\t"
            "sxtb16 %[xa], %[v]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[s1], %[t], %[xa], %[s1]\n\t"
            "smlad %[s1], %[xb], %[v], %[s1]\n\t"
            "ldr   %[v], [%[w2]], #4\n\t"
            "sxtb16 %[xa], %[v]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[s2], %[t], %[xa], %[s2]\n\t"
            "smlad %[s2], %[xb], %[v], %[s2]\n\t"
            "ldr   %[v], [%[w3]], #4\n\t"
            "sxtb16 %[xa], %[v]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[s3], %[t], %[xa], %[s3]\n\t"
            "smlad %[s3], %[xb], %[v], %[s3]\n\t"
            "subs  %[n], %[n], #1\n\t"
            "bne   1b\n\t"
            : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [s0] "+r"(s0),
              [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [n] "+r"(n), [xa] "=&r"(xa), [xb] "=&r"(xb),
              [v] "=&r"(v), [t] "=&r"(t)
            :
            : "cc", "memory");
#else
        (void)xa;
        (void)xb;
        (void)v;
        (void)t;
        s0 = (int32_t)mq_dot_s16_s8(x, w0, 4 * n);
        s1 = (int32_t)mq_dot_s16_s8(x, w1, 4 * n);
        s2 = (int32_t)mq_dot_s16_s8(x, w2, 4 * n);
        s3 = (int32_t)mq_dot_s16_s8(x, w3, 4 * n);
        x += 4 * n;
        w0 += 4 * n;
        w1 += 4 * n;
        w2 += 4 * n;
        w3 += 4 * n;
#endif
        acc[0] += s0;
        acc[1] += s1;
        acc[2] += s2;
        acc[3] += s3;
    }
    for (i = 0; i < (k & 3); ++i) {
        const int32_t xv = x[i];
        acc[0] += xv * w0[i];
        acc[1] += xv * w1[i];
        acc[2] += xv * w2[i];
        acc[3] += xv * w3[i];
    }
}

#endif

#if defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
/* Cortex-M55: the Helium variant (VMLALDAVA.S16, mq_gemm_s16s8_1x4_mve.c) */
#define MQ_S16_DOT4_MVE 1
void mq_gemm_s16s8_1x4_mve(const int16_t *x, const int8_t *w, size_t stride, int32_t k, int64_t acc[4]);
#define mq_dot4_s16_s8 mq_gemm_s16s8_1x4_mve
#elif defined(__ARM_FEATURE_DSP) && !defined(MQ_FORCE_PORTABLE)
#define mq_dot4_s16_s8 mq_dot4_s16_s8_dsp
#else
#define mq_dot4_s16_s8 mq_dot4_s16_s8_c
#endif

#endif /* MICROQUANT_MQ_S16_DOT4_H */
