/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, Armv8.1-M MVE / Helium (Cortex-M55).
 *
 * Contract: csrc/src/mq_microkernels.h, layouts and formula: mq_kernels.h. Bit-identical to
 * mq_gemm_s8_n4k16_c.
 *   MACs: per 16-k chunk, one input vector (VLDRB.S8, VEOR 0x80 for UINT8) and, per output row
 *         of the group, one weight vector and one VMLADAVA.S8 (16 MACs into a scalar int32,
 *         wrapping). The last chunk loads the input with a VCTP8 predicate (inactive lanes read
 *         nothing and are zero), so no byte past k is read; weights past k are zero-padded.
 *   Epilogue: the 4 accumulators of a group form one int32x4 vector:
 *         + bias (wrapping VADD), << L (VSHL, wraps like the portable uint32 shift),
 *         SRDHM = VQRDMULH (same rounding, same single saturating case),
 *         RDBPOT(x, E) = VRSHL(x + fixup, -E) with fixup = -1 for x < 0 and E > 0 (saturating add):
 *         VRSHL rounds ties up, the fixup makes negative ties round away from zero (TFLite);
 *         + out zero point (saturating VQADD), VMAX/VMIN clamp, optional LUT by byte gather, VSTRB.32 of the 4 low
 *         bytes, predicated by VCTP32 so rows >= n are never written.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

/* Dot products of one input row with the 4 rows of group wg (KC chunks of 64 bytes). */
static inline int32x4_t mq_mve_dot4(const int8_t *wg, const uint8_t *x, int32_t k, int uint8_in)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int8_t *w = wg;
    const int8_t *xs = (const int8_t *)x;
    int32_t kk = k;
    int32x4_t acc;
    while (kk > 0) {
        int8x16_t xv;
        if (kk >= 16) {
            xv = vldrbq_s8(xs);
        } else {
            xv = vldrbq_z_s8(xs, vctp8q((uint32_t)kk));
        }
        if (uint8_in) {
            xv = veorq_s8(xv, vdupq_n_s8((int8_t)-128));
        }
        a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));
        a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w + 16));
        a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w + 32));
        a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w + 48));
        xs += 16;
        w += 64;
        kk -= 16;
    }
    acc = vdupq_n_s32(a0);
    acc = vsetq_lane_s32(a1, acc, 1);
    acc = vsetq_lane_s32(a2, acc, 2);
    acc = vsetq_lane_s32(a3, acc, 3);
    return acc;
}

void mq_gemm_s8_n4k16_mve(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) / 16) * 64u;
    const int uint8_in = p->in_dtype == MQ_DTYPE_UINT8;
    const int32x4_t zp = vdupq_n_s32(p->out_zero_point);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    const int32x4_t zero = vdupq_n_s32(0);
    int32_t g;

    for (g = 0; 4 * g < n; g++) {
        const int32_t c0 = 4 * g;
        const int32_t rows = n - c0 < 4 ? n - c0 : 4;
        const mve_pred16_t prow = vctp32q((uint32_t)rows);
        const int8_t *wg = p->weights + (size_t)g * group_bytes;
        const int32x4_t bias = vldrwq_z_s32(p->bias + c0, prow);
        int32x4_t mult, shift, left, right;
        int32_t i;
        if (p->per_channel) {
            mult = vldrwq_z_s32(p->multiplier + c0, prow);
            shift = vldrwq_z_s32(p->shift + c0, prow);
        } else {
            mult = vdupq_n_s32(p->multiplier[0]);
            shift = vdupq_n_s32(p->shift[0]);
        }
        left = vmaxq_s32(shift, zero);   /* L >= 0 */
        right = vminq_s32(shift, zero);  /* -E <= 0: VRSHL by a negative amount = rounding right shift */
        for (i = 0; i < m; i++) {
            const uint8_t *xi = x + (size_t)i * (size_t)x_stride;
            uint8_t *oi = out + (size_t)i * (size_t)out_stride + c0;
            int32x4_t v = mq_mve_dot4(wg, xi, k, uint8_in);
            v = vaddq_s32(v, bias);
            v = vshlq_s32(v, left);
            v = vqrdmulhq_s32(v, mult);
            /* -1 where v < 0 and E > 0 (right has its sign bit set iff E > 0). */
            v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, right), 31));
            v = vrshlq_s32(v, right);
            v = vqaddq_s32(v, zp); /* saturating: same clamped result as the portable int64 sum */
            v = vmaxq_s32(v, lo);
            v = vminq_s32(v, hi);
            if (p->lut != NULL) {
                const uint32x4_t idx = vandq_u32(vreinterpretq_u32_s32(v), vdupq_n_u32(0xFFu));
                v = vreinterpretq_s32_u32(vldrbq_gather_offset_u32(p->lut, idx));
            }
            vstrbq_p_s32((int8_t *)oi, v, prow);
        }
    }
}

#endif /* __ARM_FEATURE_MVE */
