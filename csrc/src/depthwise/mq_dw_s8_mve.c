/*
 * mq_dw_s8_mve: depthwise convolution microkernel, Armv8.1-M MVE / Helium (Cortex-M55).
 * Contract: mq_microkernels.h (mq_dw_run), depth multiplier 1. Bit-identical to mq_dw_s8_c.
 *
 * Groups of 8 channels. Per tap: VLDRB.S16 (INT8) / VLDRB.U16 (UINT8) widens the 8 input codes to int16 lanes,
 * VLDRH.S16 loads the 8 int16 weights, VMULLB / VMULLT give the exact int32 products of the even and odd
 * channels, two VADDs accumulate them (wrapping, as the portable uint32 sums). Zero point folded into the bias.
 * Output stage, lane-wise exact form of mq_os_requant (as in mq_gemm_s8_n4k16_mve): SRDHM = VQRDMULH (same
 * rounding, same single saturating case), RDBPOT(x, E) = VRSHL(x + fixup, -E) with fixup = -1 for x < 0 and
 * E > 0 (VRSHL rounds ties up; the fixup makes negative ties round away from zero), + zero point (VQADD),
 * VMAX / VMIN clamp, optional LUT by byte gather, byte scatter of the even and odd lanes.
 * Groups with a positive shift (rare) and the channels past the last group of 8 go through mq_dw_s8_c.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

#include "mq_output_stage.h"

static inline __attribute__((always_inline)) int32x4_t mq_dw_mve_out(int32x4_t v, int32x4_t mult, int32x4_t right,
                                                                     int32_t zp, int32_t lo, int32_t hi,
                                                                     const uint8_t *lut)
{
    v = vqrdmulhq_s32(v, mult);
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, right), 31));
    v = vrshlq_s32(v, right);
    v = vqaddq_n_s32(v, zp);
    v = vmaxq_s32(v, vdupq_n_s32(lo));
    v = vminq_s32(v, vdupq_n_s32(hi));
    if (lut != NULL) {
        const uint32x4_t idx = vandq_u32(vreinterpretq_u32_s32(v), vdupq_n_u32(0xFFu));
        v = vreinterpretq_s32_u32(vldrbq_gather_offset_u32(lut, idx));
    }
    return v;
}

/* One tap: 8 input codes widened (VLDRB.S16 / .U16), 8 int16 weights, even / odd lane products (VMULLB / VMULLT,
 * exact int32), accumulated (wrapping VADD). Assembly so the compiler keeps one walking weight pointer. */
#define MQ_DW_MVE_TAP_ASM(LD, T)                                   \
    "ldr %[p], [%[tp], #" #T "*4]\n\t"                            \
    "add %[p], %[p], %[off]\n\t"                                  \
    LD " %q[x], [%[p]]\n\t"                                       \
    "vldrh.s16 %q[w], [%[wp]]\n\t"                                \
    "add %[wp], %[wp], %[ws]\n\t"                                 \
    "vmullb.s16 %q[t0], %q[x], %q[w]\n\t"                         \
    "vmullt.s16 %q[t1], %q[x], %q[w]\n\t"                         \
    "vadd.i32 %q[ae], %q[ae], %q[t0]\n\t"                         \
    "vadd.i32 %q[ao], %q[ao], %q[t1]\n\t"

#define MQ_DW_MVE_OPS                                                                                  \
    : [ae] "+w"(ae), [ao] "+w"(ao), [x] "=&w"(xv), [w] "=&w"(wv), [t0] "=&w"(t0), [t1] "=&w"(t1),      \
      [p] "=&l"(pp), [wp] "+r"(wq), [tp] "+r"(tq)                                                      \
    : [off] "r"(off), [ws] "r"(ws)                                                                     \
    : "memory"

#define MQ_DW_MVE_TAPS9(LD)                                                                            \
    __asm__(MQ_DW_MVE_TAP_ASM(LD, 0) MQ_DW_MVE_TAP_ASM(LD, 1) MQ_DW_MVE_TAP_ASM(LD, 2)                 \
                MQ_DW_MVE_TAP_ASM(LD, 3) MQ_DW_MVE_TAP_ASM(LD, 4) MQ_DW_MVE_TAP_ASM(LD, 5)             \
                    MQ_DW_MVE_TAP_ASM(LD, 6) MQ_DW_MVE_TAP_ASM(LD, 7) MQ_DW_MVE_TAP_ASM(LD, 8)         \
                        MQ_DW_MVE_OPS)

#define MQ_DW_MVE_TAP1(LD) __asm__(MQ_DW_MVE_TAP_ASM(LD, 0) "add %[tp], %[tp], #4\n\t" MQ_DW_MVE_OPS)

#define MQ_DW_MVE_GROUP(NAME, LD)                                                                         \
    static inline __attribute__((always_inline)) void NAME(                                                  \
        const mq_dw_run *r, int32_t c0, int32_t ntaps, int32x4_t me, int32x4_t se, int32x4_t mo, int32x4_t so, \
        int32x4_t be, int32x4_t bo)                                                                           \
    {                                                                                                        \
        const mq_depthwise_params *p = r->p;                                                                 \
        const int32_t cn = p->in_c;                                                                          \
        const int32_t ws = 2 * cn;                                                                           \
        const int16_t *w0 = (const int16_t *)(const void *)p->weights.data + c0;                                  \
        const uint32x4_t oe = vmulq_n_u32(vidupq_n_u32(0, 1), 2);                                            \
        const uint32x4_t oo = vaddq_n_u32(oe, 1);                                                            \
        uint8_t *o = r->out + c0;                                                                            \
        size_t off = (size_t)c0;                                                                             \
        int32_t i;                                                                                           \
        for (i = 0; i < r->npix; ++i) {                                                                      \
            int32x4_t ae = be, ao = bo;                                                                      \
            int16x8_t xv, wv;                                                                                \
            int32x4_t t0, t1;                                                                                \
            const uint8_t *pp;                                                                               \
            const int16_t *wq = w0;                                                                          \
            const uint8_t *const *tq = r->taps + (size_t)i * (size_t)ntaps;                                  \
            if (ntaps == 9) {                                                                                \
                MQ_DW_MVE_TAPS9(LD);                                                                         \
            } else {                                                                                         \
                int32_t t;                                                                                   \
                for (t = 0; t < ntaps; ++t) {                                                                \
                    MQ_DW_MVE_TAP1(LD);                                                                      \
                }                                                                                            \
            }                                                                                                \
            ae = mq_dw_mve_out(ae, me, se, p->out_zero_point, p->act_min, p->act_max, p->lut);               \
            ao = mq_dw_mve_out(ao, mo, so, p->out_zero_point, p->act_min, p->act_max, p->lut);               \
            vstrbq_scatter_offset_s32((int8_t *)o, oe, ae);                                                  \
            vstrbq_scatter_offset_s32((int8_t *)o, oo, ao);                                                  \
            o += cn;                                                                                         \
        }                                                                                                    \
    }

MQ_DW_MVE_GROUP(mq_dw_mve_group_s8, "vldrb.s16")
MQ_DW_MVE_GROUP(mq_dw_mve_group_u8, "vldrb.u16")

void mq_dw_s8_mve(const mq_dw_run *r)
{
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    const uint32x4_t oe = vmulq_n_u32(vidupq_n_u32(0, 1), 2);
    const uint32x4_t oo = vaddq_n_u32(oe, 1);
    int32x4_t me = vdupq_n_s32(p->multiplier[0]);
    int32x4_t se = vdupq_n_s32(p->shift[0]);
    int32x4_t mo = me;
    int32x4_t so = se;
    int32_t c0;
    for (c0 = 0; c0 + 8 <= cn; c0 += 8) {
        const int32x4_t be = vldrwq_gather_shifted_offset_s32(p->bias.folded + c0, oe);
        const int32x4_t bo = vldrwq_gather_shifted_offset_s32(p->bias.folded + c0, oo);
        if (p->per_channel) {
            me = vldrwq_gather_shifted_offset_s32(p->multiplier + c0, oe);
            mo = vldrwq_gather_shifted_offset_s32(p->multiplier + c0, oo);
            se = vldrwq_gather_shifted_offset_s32(p->shift + c0, oe);
            so = vldrwq_gather_shifted_offset_s32(p->shift + c0, oo);
        }
        if (vmaxvq_s32(vmaxvq_s32(INT32_MIN, se), so) > 0) {
            mq_dw_s8_c(r, c0, c0 + 8);
        } else if (r->ntaps == 9) {
            if (u8) {
                mq_dw_mve_group_u8(r, c0, 9, me, se, mo, so, be, bo);
            } else {
                mq_dw_mve_group_s8(r, c0, 9, me, se, mo, so, be, bo);
            }
        } else if (u8) {
            mq_dw_mve_group_u8(r, c0, r->ntaps, me, se, mo, so, be, bo);
        } else {
            mq_dw_mve_group_s8(r, c0, r->ntaps, me, se, mo, so, be, bo);
        }
    }
    if (c0 < cn) {
        mq_dw_s8_c(r, c0, cn);
    }
}

#endif /* __ARM_FEATURE_MVE */
