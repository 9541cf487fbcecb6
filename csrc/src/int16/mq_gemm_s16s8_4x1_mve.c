/*
 * mq_gemm_s16s8_4x1_mve: 16x8 GEMM microkernel for Armv8.1-M MVE / Helium (Cortex-M55), 4 buffered input rows x
 * 1 output channel at a time (contract, the 8-chunk buffer layout and output stage: mq_s16_gemm.h). Bit-identical
 * to mq_gemm_s16s8_4x1_c.
 *   MACs, per 8 k: one VLDRB.S16 of the channel's 8 weights (widened to int16), then per row one VLDRH.S16 of its
 *   8 inputs and one VMLADAVA.S16 (8 MACs into a scalar int32): 9 instructions per 32 MACs. The last k mod 8 loads
 *   the weights with a VCTP16 predicate (inactive lanes read nothing and are zero; the buffer rows are zero-padded
 *   to a multiple of 8, so every input lane is defined). int32 accumulators start at the bias (mq_s16_gemm4 proves
 *   bias + sum fits int32, so VMLADAVA never wraps).
 *   Output stage on the 4 accumulators as one int32x4 vector: VRMULH (= SMMULR per lane) or VMULH then VRSHL by
 *   -sh (adds 2^(sh-1), arithmetic shift: the SMMUL form), VMAX/VMIN clamp, and one VSTRH.32 scatter to the 4
 *   rows' outputs (predicated by VCTP32 on the valid row count).
 */
#include "mq_s16_gemm.h"

#if defined(MQ_S16_GEMM4_MVE)

#include <arm_mve.h>

/* {a0, a1, a2, a3} from 4 scalars with two VMOV Qd[2], Qd[0], Rt, Rt2. */
static inline __attribute__((always_inline)) int32x4_t mq_s16_mve_lanes(int32_t a0, int32_t a1, int32_t a2,
                                                                         int32_t a3)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\t"
            "vmov %q0[3], %q0[1], %3, %4"
            : "=w"(v)
            : "r"(a0), "r"(a2), "r"(a1), "r"(a3));
    return v;
}

void mq_gemm_s16s8_4x1_mve(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                           const mq_s16_chan *ch, int32_t cnt, int32_t lo, int32_t hi, int16_t *y,
                           size_t y_stride, int32_t nrows, int64_t *raw)
{
    const int32_t chunks = k >> 3;
    const int32_t tail = k & 7;
    const mve_pred16_t ptail = vctp16q((uint32_t)tail);
    const mve_pred16_t prow = vctp32q((uint32_t)nrows);
    const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    uint32x4_t offs;
    int32_t c;
    /* byte offsets of the 4 rows' outputs; lanes >= nrows are never stored */
    offs = vreinterpretq_u32_s32(mq_s16_mve_lanes(0, (int32_t)(2u * y_stride), (int32_t)(4u * y_stride),
                                                  (int32_t)(6u * y_stride)));
    for (c = 0; c < cnt; ++c) {
        const int8_t *wp = w + (size_t)c * w_stride;
        const mq_s16_chan *q = &ch[c];
        const int16_t *xp = xb->h;
        int32_t a0, a1, a2, a3, i = 0, j;
        int32x4_t v;
        if (raw == NULL && !q->fast) {
            continue;
        }
        a0 = a1 = a2 = a3 = raw == NULL ? q->bias : 0;
        for (j = chunks; j > 0; --j, i += 8, xp += 32) {
            const int16x8_t wv = vldrbq_s16(wp + i);
            a0 = vmladavaq_s16(a0, vldrhq_s16(xp), wv);
            a1 = vmladavaq_s16(a1, vldrhq_s16(xp + 8), wv);
            a2 = vmladavaq_s16(a2, vldrhq_s16(xp + 16), wv);
            a3 = vmladavaq_s16(a3, vldrhq_s16(xp + 24), wv);
        }
        if (tail != 0) {
            const int16x8_t wv = vldrbq_z_s16(wp + i, ptail);
            a0 = vmladavaq_s16(a0, vldrhq_s16(xp), wv);
            a1 = vmladavaq_s16(a1, vldrhq_s16(xp + 8), wv);
            a2 = vmladavaq_s16(a2, vldrhq_s16(xp + 16), wv);
            a3 = vmladavaq_s16(a3, vldrhq_s16(xp + 24), wv);
        }
        if (raw != NULL) {
            raw[4 * c] += a0;
            raw[4 * c + 1] += a1;
            raw[4 * c + 2] += a2;
            raw[4 * c + 3] += a3;
            continue;
        }
        v = mq_s16_mve_lanes(a0, a1, a2, a3);
        if (q->sh == 0) {
            v = vrmulhq_s32(v, vdupq_n_s32(q->mp));
        } else {
            v = vrshlq_s32(vmulhq_s32(v, vdupq_n_s32(q->mp)), vdupq_n_s32(-q->sh));
        }
        v = vminq_s32(vmaxq_s32(v, vlo), vhi);
        vstrhq_scatter_offset_p_s32(y + c, offs, v, prow);
    }
}

#endif /* MQ_S16_GEMM4_MVE */
