/*
 * mq_dw_s8_dsp: depthwise convolution microkernel, Armv7E-M / Armv8-M DSP extension (Cortex-M4, M7, M33).
 * Contract: mq_microkernels.h (mq_dw_run), depth multiplier 1. Bit-identical to mq_dw_s8_c.
 *
 * Groups of 4 channels. Per tap: one input word (4 channels, unaligned LDR), SXTB16 (INT8) or UXTB16 (UINT8)
 * of it and of it rotated by 8 -> halfword pairs (c0, c2) and (c1, c3); the int16 weights of the 4 channels are
 * two words (c0, c1) and (c2, c3); four SMLAxy (16 x 16 + 32, wrapping like the portable uint32 sums) pick the
 * matching halves: c0 = BB, c2 = TB, c1 = BT, c3 = TT. No unpacking of weights (the host widened them), no
 * zero-point arithmetic (folded into the bias). A 3x3 kernel has a compile-time trip count of 9.
 * Output stage: mq_os_requant_hi + mq_os_finish (mq_output_stage.h) for groups whose shifts are all <= -1;
 * a group with a shift >= 0 (real multiplier >= 0.5, rare) and the channels past the last full group go
 * through mq_dw_s8_c.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_DSP)

#include <arm_acle.h>
#include <string.h>

#include "mq_output_stage.h"

static inline __attribute__((always_inline)) uint32_t mq_dw_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

#define MQ_DW_DSP_GROUP(NAME, EXT)                                                                          \
    static inline __attribute__((always_inline)) void NAME(const mq_dw_run *r, int32_t c0, int32_t ntaps,  \
                                                           const mq_os_channel_hi q[4], const mq_os_out *os) \
    {                                                                                                       \
        const mq_depthwise_params *p = r->p;                                                                \
        const int32_t cn = p->in_c;                                                                         \
        const uint8_t *w0 = (const uint8_t *)p->weights + 2 * (size_t)c0;                                   \
        const size_t wstride = 2u * (size_t)cn;                                                             \
        const int32_t b0 = p->bias[c0], b1 = p->bias[c0 + 1], b2 = p->bias[c0 + 2], b3 = p->bias[c0 + 3];   \
        uint8_t *o = r->out + c0;                                                                           \
        size_t off = (size_t)c0;                                                                            \
        int32_t i;                                                                                          \
        for (i = 0; i < r->npix; ++i) {                                                                     \
            int32_t a0 = b0, a1 = b1, a2 = b2, a3 = b3;                                                     \
            const uint8_t *w = w0;                                                                          \
            int32_t t;                                                                                      \
            for (t = 0; t < ntaps; ++t) {                                                                   \
                const uint32_t xw = mq_dw_ld32(r->taps[t] + off);                                           \
                const int32_t xe = EXT(xw);                                                                 \
                const int32_t xo = EXT(xw >> 8 | xw << 24);                                                 \
                const int32_t w01 = (int32_t)mq_dw_ld32(w);                                                 \
                const int32_t w23 = (int32_t)mq_dw_ld32(w + 4);                                             \
                a0 = __smlabb(xe, w01, a0);                                                                 \
                a2 = __smlatb(xe, w23, a2);                                                                 \
                a1 = __smlabt(xo, w01, a1);                                                                 \
                a3 = __smlatt(xo, w23, a3);                                                                 \
                w += wstride;                                                                               \
            }                                                                                               \
            o[0] = mq_os_finish(mq_os_requant_hi(a0, &q[0]), os);                                           \
            o[1] = mq_os_finish(mq_os_requant_hi(a1, &q[1]), os);                                           \
            o[2] = mq_os_finish(mq_os_requant_hi(a2, &q[2]), os);                                           \
            o[3] = mq_os_finish(mq_os_requant_hi(a3, &q[3]), os);                                           \
            o += cn;                                                                                        \
            off += (size_t)r->step;                                                                         \
        }                                                                                                   \
    }

#define MQ_DW_EXT_S8(x) __sxtb16((int32_t)(x))
#define MQ_DW_EXT_U8(x) ((int32_t)__uxtb16(x))

MQ_DW_DSP_GROUP(mq_dw_dsp_group_s8, MQ_DW_EXT_S8)
MQ_DW_DSP_GROUP(mq_dw_dsp_group_u8, MQ_DW_EXT_U8)

void mq_dw_s8_dsp(const mq_dw_run *r)
{
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    mq_os_out os;
    int32_t c0;
    mq_os_out_init(&os, p->out_zero_point, p->act_min, p->act_max, p->lut);
    for (c0 = 0; c0 + 4 <= cn; c0 += 4) {
        mq_os_channel_hi q[4];
        int ok = 1;
        int32_t i;
        for (i = 0; i < 4; ++i) {
            const int32_t ch = p->per_channel ? c0 + i : 0;
            ok &= p->shift[ch] < 0;
            mq_os_channel_hi_init(&q[i], p->multiplier[ch], p->shift[ch] < 0 ? p->shift[ch] : -1);
        }
        if (!ok) {
            mq_dw_s8_c(r, c0, c0 + 4);
        } else if (r->ntaps == 9) {
            if (u8) {
                mq_dw_dsp_group_u8(r, c0, 9, q, &os);
            } else {
                mq_dw_dsp_group_s8(r, c0, 9, q, &os);
            }
        } else if (u8) {
            mq_dw_dsp_group_u8(r, c0, r->ntaps, q, &os);
        } else {
            mq_dw_dsp_group_s8(r, c0, r->ntaps, q, &os);
        }
    }
    if (c0 < cn) {
        mq_dw_s8_c(r, c0, cn);
    }
}

#endif /* __ARM_FEATURE_DSP */
