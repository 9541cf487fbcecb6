/*
 * mq_dw_s8_dsp: depthwise convolution microkernel, Armv7E-M / Armv8-M DSP extension (Cortex-M4, M7, M33).
 * Contract: mq_microkernels.h (mq_dw_run), depth multiplier 1. Bit-identical to mq_dw_s8_c.
 *
 * Groups of 4 channels, one output pixel at a time. Per tap: the tap pointer, one input word (4 channels,
 * unaligned LDR), SXTB16 (INT8) or UXTB16 (UINT8) of it and of it rotated by 8 -> halfword pairs (c0, c2) and
 * (c1, c3); the host-widened int16 weights of the 4 channels are two words (c0, c1) and (c2, c3) (one LDRD when
 * in_c is even); four SMLAxy (16 x 16 + 32, wrapping like the portable uint32 sums) pick the matching halves:
 * c0 = BB, c2 = TB, c1 = BT, c3 = TT. 11 instructions per tap and 4 channels. No zero-point arithmetic (folded
 * into the bias). A 3x3 kernel (9 taps) is one straight assembly block; other kernels loop over the taps.
 * Output stage: mq_os_requant_hi + mq_os_finish_dsp (mq_output_stage.h), the 4 channels' constants
 * (mq_os_channel_hi) set up once per run of up to 8 pixels. Groups with a shift >= 0 (real multiplier >= 0.5,
 * rare) and the channels past the last full group go through mq_dw_s8_c.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_DSP)

#include <arm_acle.h>
#include <string.h>

#include "mq_output_stage.h"

#define MQ_DW_STR_(x) #x
#define MQ_DW_STR(x) MQ_DW_STR_(x)

/* One tap T: x = *(taps[T] + off); weights at wp, then wp += ws. */
#define MQ_DW_TAP(T, EXT, LDW)                                      \
    "ldr %[x], [%[tp], #" MQ_DW_STR(T) "*4]\n\t"                    \
    "ldr %[x], [%[x], %[off]]\n\t" LDW                              \
    "add %[wp], %[wp], %[ws]\n\t"                                   \
    EXT " %[xo], %[x], ror #8\n\t"                                  \
    EXT " %[x], %[x]\n\t"                                           \
    "smlabb %[a0], %[x], %[w0], %[a0]\n\t"                          \
    "smlatb %[a2], %[x], %[w1], %[a2]\n\t"                          \
    "smlabt %[a1], %[xo], %[w0], %[a1]\n\t"                         \
    "smlatt %[a3], %[xo], %[w1], %[a3]\n\t"

#define MQ_DW_LDRD "ldrd %[w0], %[w1], [%[wp]]\n\t"
#define MQ_DW_LDR2 "ldr %[w0], [%[wp]]\n\tldr %[w1], [%[wp], #4]\n\t"

#define MQ_DW_TAPS9(EXT, LDW)                                                                          \
    __asm__(MQ_DW_TAP(0, EXT, LDW) MQ_DW_TAP(1, EXT, LDW) MQ_DW_TAP(2, EXT, LDW) MQ_DW_TAP(3, EXT, LDW)  \
                MQ_DW_TAP(4, EXT, LDW) MQ_DW_TAP(5, EXT, LDW) MQ_DW_TAP(6, EXT, LDW)                   \
                    MQ_DW_TAP(7, EXT, LDW) MQ_DW_TAP(8, EXT, LDW)                                      \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [xo] "=&r"(xo),   \
              [w0] "=&r"(w0), [w1] "=&r"(w1), [wp] "+r"(wp)                                            \
            : [tp] "r"(tp), [off] "r"(off), [ws] "r"(ws)                                               \
            : "memory")

#define MQ_DW_TAP1(EXT, LDW)                                                                           \
    __asm__(MQ_DW_TAP(0, EXT, LDW)                                                                     \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [xo] "=&r"(xo),   \
              [w0] "=&r"(w0), [w1] "=&r"(w1), [wp] "+r"(wp)                                            \
            : [tp] "r"(tp), [off] "r"(off), [ws] "r"(ws)                                               \
            : "memory")

/* One group of 4 channels over the run: NINE (compile-time) selects the straight 3x3 block, EVEN the LDRD
 * weight load (in_c even: 4-byte aligned weight words), LUT the table epilogue. */
#define MQ_DW_DSP_GROUP(NAME, EXT, NINE, LDW, LUT)                                                         \
    static __attribute__((noinline)) void NAME(const mq_dw_run *r, int32_t c0, const mq_os_out_dsp *os)     \
    {                                                                                                      \
        const mq_depthwise_params *p = r->p;                                                               \
        const int32_t cn = p->in_c;                                                                        \
        const uint8_t *w0base = (const uint8_t *)p->weights.data + 2 * (size_t)c0;                              \
        const int32_t ws = 2 * cn;                                                                         \
        const int32_t b0 = p->bias.folded[c0], b1 = p->bias.folded[c0 + 1], b2 = p->bias.folded[c0 + 2], b3 = p->bias.folded[c0 + 3];  \
        const int32_t *mp = p->multiplier + (p->per_channel ? c0 : 0);                                     \
        const int32_t *sp = p->shift + (p->per_channel ? c0 : 0);                                          \
        const int32_t pc = p->per_channel;                                                                 \
        const uint8_t *const *taps = r->taps;                                                              \
        const int32_t ntaps = r->ntaps;                                                                    \
        uint8_t *o = r->out + c0;                                                                          \
        int32_t off = c0;                                                                                  \
        mq_os_channel_hi q0, q1, q2, q3;                                                                   \
        int32_t i;                                                                                         \
        mq_os_channel_hi_init(&q0, mp[0], sp[0]);                                                          \
        mq_os_channel_hi_init(&q1, mp[pc], sp[pc]);                                                        \
        mq_os_channel_hi_init(&q2, mp[2 * pc], sp[2 * pc]);                                                \
        mq_os_channel_hi_init(&q3, mp[3 * pc], sp[3 * pc]);                                                \
        for (i = r->npix; i > 0; --i) {                                                                    \
            int32_t a0 = b0, a1 = b1, a2 = b2, a3 = b3;                                                    \
            int32_t x, xo, w0, w1;                                                                         \
            const uint8_t *wp = w0base;                                                                    \
            const uint8_t *const *tp = taps;                                                               \
            taps += ntaps;                                                                                 \
            if (NINE) {                                                                                    \
                MQ_DW_TAPS9(EXT, LDW);                                                                     \
            } else {                                                                                       \
                int32_t t;                                                                                 \
                for (t = ntaps; t > 0; --t) {                                                              \
                    MQ_DW_TAP1(EXT, LDW);                                                                  \
                    ++tp;                                                                                  \
                }                                                                                          \
            }                                                                                              \
            {                                                                                              \
                int32_t v0 = mq_os_finish_dsp(mq_os_requant_hi(a0, &q0), os);                    \
                int32_t v1 = mq_os_finish_dsp(mq_os_requant_hi(a1, &q1), os);                  \
                int32_t v2 = mq_os_finish_dsp(mq_os_requant_hi(a2, &q2), os);          \
                int32_t v3 = mq_os_finish_dsp(mq_os_requant_hi(a3, &q3), os);          \
                if (LUT) {                                                                                 \
                    v0 = os->lut[(uint8_t)v0];                                                             \
                    v1 = os->lut[(uint8_t)v1];                                                             \
                    v2 = os->lut[(uint8_t)v2];                                                             \
                    v3 = os->lut[(uint8_t)v3];                                                             \
                }                                                                                          \
                o[0] = (uint8_t)v0;                                                                        \
                o[1] = (uint8_t)v1;                                                                        \
                o[2] = (uint8_t)v2;                                                                        \
                o[3] = (uint8_t)v3;                                                                        \
            }                                                                                              \
            o += cn;                                                                                       \
        }                                                                                                  \
    }

#define MQ_DW_DSP_GROUPS(SUF, EXT)                                                   \
    MQ_DW_DSP_GROUP(mq_dw_dsp_9e_##SUF, EXT, 1, MQ_DW_LDRD, 0)                       \
    MQ_DW_DSP_GROUP(mq_dw_dsp_9e_lut_##SUF, EXT, 1, MQ_DW_LDRD, 1)                   \
    MQ_DW_DSP_GROUP(mq_dw_dsp_9o_##SUF, EXT, 1, MQ_DW_LDR2, 0)                       \
    MQ_DW_DSP_GROUP(mq_dw_dsp_9o_lut_##SUF, EXT, 1, MQ_DW_LDR2, 1)                   \
    MQ_DW_DSP_GROUP(mq_dw_dsp_ne_##SUF, EXT, 0, MQ_DW_LDR2, 0)                       \
    MQ_DW_DSP_GROUP(mq_dw_dsp_ne_lut_##SUF, EXT, 0, MQ_DW_LDR2, 1)

MQ_DW_DSP_GROUPS(s8, "sxtb16")
MQ_DW_DSP_GROUPS(u8, "uxtb16")

typedef void (*mq_dw_dsp_fn)(const mq_dw_run *, int32_t, const mq_os_out_dsp *);

void mq_dw_s8_dsp(const mq_dw_run *r)
{
    static const mq_dw_dsp_fn fns[2][3][2] = {
        {{mq_dw_dsp_9e_s8, mq_dw_dsp_9e_lut_s8}, {mq_dw_dsp_9o_s8, mq_dw_dsp_9o_lut_s8},
         {mq_dw_dsp_ne_s8, mq_dw_dsp_ne_lut_s8}},
        {{mq_dw_dsp_9e_u8, mq_dw_dsp_9e_lut_u8}, {mq_dw_dsp_9o_u8, mq_dw_dsp_9o_lut_u8},
         {mq_dw_dsp_ne_u8, mq_dw_dsp_ne_lut_u8}}};
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int shape = r->ntaps == 9 ? ((cn & 1) == 0 ? 0 : 1) : 2;
    const mq_dw_dsp_fn fn = fns[p->in_dtype == MQ_DTYPE_UINT8][shape][p->lut != NULL];
    const int32_t tensor_ok = p->shift[0] < 0;
    mq_os_out_dsp os;
    int32_t c0;
    mq_os_out_dsp_init(&os, p->out_zero_point, p->act_min, p->act_max, p->lut);
    for (c0 = 0; c0 + 4 <= cn; c0 += 4) {
        int32_t ok = tensor_ok;
        if (p->per_channel) {
            ok = (p->shift[c0] & p->shift[c0 + 1] & p->shift[c0 + 2] & p->shift[c0 + 3]) < 0 &&
                 (p->shift[c0] | p->shift[c0 + 1] | p->shift[c0 + 2] | p->shift[c0 + 3]) < 0;
        }
        if (ok) {
            fn(r, c0, &os);
        } else {
            mq_dw_s8_c(r, c0, c0 + 4);
        }
    }
    if (c0 < cn) {
        mq_dw_s8_c(r, c0, cn);
    }
}

#endif /* __ARM_FEATURE_DSP */
