/*
 * mq_gemm_s16s8_1x4_mve: 16x8 dot-product microkernel for Armv8.1-M MVE / Helium (Cortex-M55), 1 input row x 4
 * weight rows, exact int64 for any k (the mq_dot4_s16_s8 contract of mq_s16_dot4.h):
 *   acc[r] += sum_{i<k} x[i] * w[r * stride + i],  r = 0..3
 * Per 8 k: one VLDRH.S16 of the inputs, then per weight row one VLDRB.S16 (8 int8 widened to int16) and one
 * VMLALDAVA.S16 (8 MACs into a 64-bit accumulator pair, no wrap for any k): 9 instructions per 32 MACs. The last
 * k mod 8 loads inputs and weights with a VCTP16 predicate (inactive lanes read nothing and are zero).
 * Bit-identical to mq_dot4_s16_s8_c (exact sums). Used by batch-1 FC, FC with k > MQ_S16_XB_K or exact_scale,
 * and the conv fallback on Cortex-M55.
 */
#include "mq_s16_dot4.h"

#if defined(MQ_S16_DOT4_MVE)

#include <arm_mve.h>

void mq_gemm_s16s8_1x4_mve(const int16_t *x, const int8_t *w, size_t stride, int32_t k, int64_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2u * stride, *w3 = w + 3u * stride;
    int64_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t j, i = 0;
    for (j = k >> 3; j > 0; --j, i += 8) {
        const int16x8_t xv = vldrhq_s16(x + i);
        a0 = vmlaldavaq_s16(a0, xv, vldrbq_s16(w0 + i));
        a1 = vmlaldavaq_s16(a1, xv, vldrbq_s16(w1 + i));
        a2 = vmlaldavaq_s16(a2, xv, vldrbq_s16(w2 + i));
        a3 = vmlaldavaq_s16(a3, xv, vldrbq_s16(w3 + i));
    }
    if ((k & 7) != 0) {
        const mve_pred16_t p = vctp16q((uint32_t)(k & 7));
        const int16x8_t xv = vldrhq_z_s16(x + i, p);
        a0 = vmlaldavaq_s16(a0, xv, vldrbq_z_s16(w0 + i, p));
        a1 = vmlaldavaq_s16(a1, xv, vldrbq_z_s16(w1 + i, p));
        a2 = vmlaldavaq_s16(a2, xv, vldrbq_z_s16(w2 + i, p));
        a3 = vmlaldavaq_s16(a3, xv, vldrbq_z_s16(w3 + i, p));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#endif /* MQ_S16_DOT4_MVE */
