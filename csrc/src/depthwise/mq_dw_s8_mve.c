/*
 * mq_dw_s8_mve: depthwise convolution microkernel, Armv8.1-M MVE / Helium (Cortex-M55).
 * Contract: mq_microkernels.h (mq_dw_run), depth multiplier 1. Bit-identical to mq_dw_s8_c.
 *
 * Groups of 16 channels (then one of 8). Per tap: the tap pointer, and per 8 channels VLDRB.S16 (INT8) / VLDRB.U16
 * (UINT8) widening the input codes to int16 lanes, VLDRH.S16 of the 8 int16 weights, VMULLB / VMULLT for the
 * exact int32 products of the even and odd channels, two VADDs (wrapping, as the portable uint32 sums): 15
 * instructions per tap and 16 channels. Zero point folded into the bias.
 * Output stage per 8 channels (mq_dw_mve_rq, mq_dw_mve_store8): VQRDMULH + [acc < 0] + VRSHL, the exact double
 * rounding for shift <= -1; VQMOVNB / VQMOVNT put the even and odd lanes back in channel order as int16
 * (saturating), + zero point, VMAX / VMIN clamp, optional LUT (byte gather), one narrowing VSTRB.16 of 8 bytes.
 * Bias, multipliers and shifts split into even / odd lanes once per run (VLD2). Groups with a shift >= 0 and the channels past the last
 * group of 8 go through mq_dw_s8_c. Single rounding (mq_depthwise_params.single_rounding): the same groups
 * (mq_dw_mve1_*) with the output stage VRSHL(VQDMULH(acc, M), -E) (mq_output_stage.h).
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>
#include <stddef.h>

#include "mq_output_stage.h"

/* Requantize the even or odd lanes of 8 channels: Y = VQRDMULH(acc, M) - [acc < 0] = floor((acc * M + 2^30 -
 * [acc < 0] 2^31) / 2^31) (exact: M >= 0 never saturates), then VRSHL by shift = (Y + 2^(E-1)) >> E: nested floors of
 * power-of-two divisions, i.e. floor((acc * M + 2^30 + 2^(30+E) - [acc < 0] 2^31) / 2^(31+E)), the double-rounding
 * result (mq_output_stage.h) for E = -shift >= 1. */
static inline __attribute__((always_inline)) int32x4_t mq_dw_mve_rq(int32x4_t a, int32x4_t mult, int32x4_t shift,
                                                                   int single)
{
    if (single) {
        /* single rounding (mq_depthwise_params.single_rounding): VRSHL(VQDMULH(acc, M), -E), exact for E >= 1
         * (derivation: mq_output_stage.h) */
        return vrshlq_s32(vqdmulhq_s32(a, mult), shift);
    }
    const int32x4_t v = vaddq_s32(vqrdmulhq_s32(a, mult), vshrq_n_s32(a, 31));
    return vrshlq_s32(v, shift);
}

/* Constants of a group of 16 (or 8) channels, set up once per run: k[0..3] bias, k[4..7] multipliers, k[8..11] shifts,
 * each as even-lane / odd-lane vectors of half 0 then half 1; w: the 3x3 weights, tap by tap, 8 * NV per tap. */
typedef struct {
    int32_t k[12][4];   /* byte offset 0 */
    int16_t zp[8];      /* 192: out_zero_point */
    int16_t lo[8];      /* 208: act_min */
    int16_t hi[8];      /* 224: act_max */
    int16_t ff[8];      /* 240: 0xFF (LUT index mask) */
    int16_t w[9][16];   /* 256 */
} mq_dw_mve_q;

/* The assembly loads' offsets (compile-time check; VLDRH immediates reach 254, VLDRW 508). */
typedef char mq_dw_mve_q_layout[(offsetof(mq_dw_mve_q, zp) == 192 && offsetof(mq_dw_mve_q, ff) == 240 &&
                                 offsetof(mq_dw_mve_q, w) == 256) ? 1 : -1];

/* Loads of the run's constants at immediate offsets of q (the compiler would spill their addresses). */
#define MQ_DW_MVE_LDW(V, Q, OFF) __asm__ volatile("vldrw.32 %q0, [%1, #" #OFF "]" : "=w"(V) : "r"(Q) : "memory")
#define MQ_DW_MVE_LDH(V, Q, OFF) __asm__("vldrh.16 %q0, [%1, #" #OFF "]" : "=w"(V) : "r"(Q) : "memory")

/* Even / odd lanes -> 8 channels in order as int16 (saturating: a saturated value clamps to the same code),
 * + zero point (saturating), clamp, optional LUT (byte gather), 8 bytes stored (narrowing VSTRB.16). */
static inline __attribute__((always_inline)) void mq_dw_mve_store8(int32x4_t e, int32x4_t o, const void *q,
                                                                  const uint8_t *lut, uint8_t *out)
{
    int16x8_t v = vqmovnbq_s32(vreinterpretq_s16_s32(o), e); /* odd lanes: overwritten next */
    int16x8_t c;
    v = vqmovntq_s32(v, o);
    MQ_DW_MVE_LDH(c, q, 192);
    v = vqaddq_s16(v, c);
    MQ_DW_MVE_LDH(c, q, 208);
    v = vmaxq_s16(v, c);
    MQ_DW_MVE_LDH(c, q, 224);
    v = vminq_s16(v, c);
    if (lut != NULL) {
        MQ_DW_MVE_LDH(c, q, 240);
        v = vreinterpretq_s16_u16(vldrbq_gather_offset_u16(lut, vreinterpretq_u16_s16(vandq_s16(v, c))));
    }
    vstrbq_s16((int8_t *)out, v);
}

/* One tap, 8 channels (half of a group of 16): 8 input codes widened (VLDRB.S16 / .U16), 8 int16 weights (post-
 * incremented pointer), even / odd lane products (VMULLB / VMULLT, exact int32), accumulated (wrapping VADD). */
#define MQ_DW_MVE_HALF(LD, AE, AO, OFF)                            \
    LD " %q[x], [%[p], #" #OFF "]\n\t"                            \
    "vldrh.s16 %q[w], [%[wp]], #16\n\t"                           \
    "vmullb.s16 %q[t0], %q[x], %q[w]\n\t"                         \
    "vmullt.s16 %q[t1], %q[x], %q[w]\n\t"                         \
    "vadd.i32 %q[" AE "], %q[" AE "], %q[t0]\n\t"                 \
    "vadd.i32 %q[" AO "], %q[" AO "], %q[t1]\n\t"

/* One tap T of 16 channels (NV = 2) or 8 (NV = 1): the tap pointer + channel offset, then the halves; WADV moves the
 * weight pointer to the next tap (nothing for the run's 3x3 copy, + the row stride less the post-increments else). */
#define MQ_DW_MVE_TAP_ASM(LD, NV, T, WADV)                         \
    "ldr %[p], [%[tp], #" #T "*4]\n\t"                            \
    "add %[p], %[p], %[off]\n\t"                                  \
    MQ_DW_MVE_HALF(LD, "ae0", "ao0", 0)                           \
    MQ_DW_MVE_HALF_##NV(LD) WADV

#define MQ_DW_MVE_HALF_1(LD)
#define MQ_DW_MVE_HALF_2(LD) MQ_DW_MVE_HALF(LD, "ae1", "ao1", 8)

#define MQ_DW_MVE_OPS                                                                                  \
    : [ae0] "+w"(ae0), [ao0] "+w"(ao0), [ae1] "+w"(ae1), [ao1] "+w"(ao1), [x] "=&w"(xv), [w] "=&w"(wv), \
      [t0] "=&w"(t0), [t1] "=&w"(t1), [p] "=&l"(pp), [wp] "+r"(wq), [tp] "+r"(tq)                       \
    : [off] "r"(off), [ws] "r"(ws)                                                                     \
    : "memory"

#define MQ_DW_MVE_TAPS9(LD, NV)                                                                        \
    __asm__(MQ_DW_MVE_TAP_ASM(LD, NV, 0, "") MQ_DW_MVE_TAP_ASM(LD, NV, 1, "")                          \
                MQ_DW_MVE_TAP_ASM(LD, NV, 2, "") MQ_DW_MVE_TAP_ASM(LD, NV, 3, "")                      \
                    MQ_DW_MVE_TAP_ASM(LD, NV, 4, "") MQ_DW_MVE_TAP_ASM(LD, NV, 5, "")                  \
                        MQ_DW_MVE_TAP_ASM(LD, NV, 6, "") MQ_DW_MVE_TAP_ASM(LD, NV, 7, "")              \
                            MQ_DW_MVE_TAP_ASM(LD, NV, 8, "") MQ_DW_MVE_OPS)

#define MQ_DW_MVE_TAP1(LD, NV)                                                                         \
    __asm__(MQ_DW_MVE_TAP_ASM(LD, NV, 0, "add %[wp], %[wp], %[ws]\n\t") "add %[tp], %[tp], #4\n\t"       \
                MQ_DW_MVE_OPS)

/*
 * A group of 8 * NV channels from c0 over the run (constants in q; for a 3x3 kernel also the weights). Per pixel:
 * the taps, the output stage.
 */
#define MQ_DW_MVE_GROUP(NAME, LD, NV, SINGLE)                                                                \
    static __attribute__((noinline)) void NAME(const mq_dw_run *r, int32_t c0, const mq_dw_mve_q *q)        \
    {                                                                                                        \
        const mq_depthwise_params *p = r->p;                                                                 \
        const int32_t cn = p->in_c;                                                                          \
        const int32_t ntaps = r->ntaps;                                                                      \
        const int32_t ws = 2 * cn - 16 * NV; /* after the post-increments */                                 \
        const int16_t *w0 = ntaps == 9 ? &q->w[0][0] : (const int16_t *)(const void *)p->weights.data + c0; \
        const uint8_t *lut = p->lut;                                                                         \
        uint8_t *o = r->out + c0;                                                                            \
        size_t off = (size_t)c0;                                                                             \
        int32_t i;                                                                                           \
        for (i = 0; i < r->npix; ++i) {                                                                      \
            int32x4_t ae0, ao0, ae1 = vdupq_n_s32(0), ao1 = vdupq_n_s32(0);                                  \
            int16x8_t xv, wv;                                                                                \
            int32x4_t t0, t1, m, sh;                                                                         \
            const uint8_t *pp;                                                                               \
            const int16_t *wq = w0;                                                                          \
            const uint8_t *const *tq = r->taps + (size_t)i * (size_t)ntaps;                                  \
            MQ_DW_MVE_LDW(ae0, q, 0);                                                                        \
            MQ_DW_MVE_LDW(ao0, q, 16);                                                                       \
            if (NV == 2) {                                                                                   \
                MQ_DW_MVE_LDW(ae1, q, 32);                                                                   \
                MQ_DW_MVE_LDW(ao1, q, 48);                                                                   \
            }                                                                                                \
            if (ntaps == 9) {                                                                                \
                MQ_DW_MVE_TAPS9(LD, NV);                                                                     \
            } else {                                                                                         \
                int32_t t;                                                                                   \
                for (t = 0; t < ntaps; ++t) {                                                                \
                    MQ_DW_MVE_TAP1(LD, NV);                                                                  \
                }                                                                                            \
            }                                                                                                \
            MQ_DW_MVE_LDW(m, q, 64);                                                                         \
            MQ_DW_MVE_LDW(sh, q, 128);                                                                       \
            ae0 = mq_dw_mve_rq(ae0, m, sh, SINGLE);                                                                  \
            MQ_DW_MVE_LDW(m, q, 80);                                                                         \
            MQ_DW_MVE_LDW(sh, q, 144);                                                                       \
            ao0 = mq_dw_mve_rq(ao0, m, sh, SINGLE);                                                                  \
            mq_dw_mve_store8(ae0, ao0, q, lut, o);                                                           \
            if (NV == 2) {                                                                                   \
                MQ_DW_MVE_LDW(m, q, 96);                                                                     \
                MQ_DW_MVE_LDW(sh, q, 160);                                                                   \
                ae1 = mq_dw_mve_rq(ae1, m, sh, SINGLE);                                                              \
                MQ_DW_MVE_LDW(m, q, 112);                                                                    \
                MQ_DW_MVE_LDW(sh, q, 176);                                                                   \
                ao1 = mq_dw_mve_rq(ao1, m, sh, SINGLE);                                                              \
                mq_dw_mve_store8(ae1, ao1, q, lut, o + 8);                                                   \
            }                                                                                                \
            o += cn;                                                                                         \
        }                                                                                                    \
    }

MQ_DW_MVE_GROUP(mq_dw_mve_g16_s8, "vldrb.s16", 2, 0)
MQ_DW_MVE_GROUP(mq_dw_mve_g16_u8, "vldrb.u16", 2, 0)
MQ_DW_MVE_GROUP(mq_dw_mve_g8_s8, "vldrb.s16", 1, 0)
MQ_DW_MVE_GROUP(mq_dw_mve_g8_u8, "vldrb.u16", 1, 0)
/* single rounding: the same loops, the single-rounding output stage */
MQ_DW_MVE_GROUP(mq_dw_mve1_g16_s8, "vldrb.s16", 2, 1)
MQ_DW_MVE_GROUP(mq_dw_mve1_g16_u8, "vldrb.u16", 2, 1)
MQ_DW_MVE_GROUP(mq_dw_mve1_g8_s8, "vldrb.s16", 1, 1)
MQ_DW_MVE_GROUP(mq_dw_mve1_g8_u8, "vldrb.u16", 1, 1)

/* The run's constants shared by every group: zero point, clamp, LUT mask (once per run). */
static void mq_dw_mve_setup_common(const mq_depthwise_params *p, mq_dw_mve_q *q)
{
    vst1q_s16(q->zp, vdupq_n_s16((int16_t)p->out_zero_point));
    vst1q_s16(q->lo, vdupq_n_s16((int16_t)p->act_min));
    vst1q_s16(q->hi, vdupq_n_s16((int16_t)p->act_max));
    vst1q_s16(q->ff, vdupq_n_s16(0xFF));
}

/* The run's constants of channels [c0, c0 + 8 * nv): bias, multipliers, shifts split into even / odd lanes by
 * de-interleaving loads (VLD20 / VLD21; per-tensor multipliers and shifts: VDUP); for a 3x3 kernel the weights,
 * tap by tap. */
static void mq_dw_mve_setup(const mq_dw_run *r, int32_t c0, int32_t nv, mq_dw_mve_q *q)
{
    const mq_depthwise_params *p = r->p;
    const int32_t *bias = p->bias.folded + c0;
    int32_t h;
    for (h = 0; h < nv; ++h) {
        const int32x4x2_t b = vld2q_s32(bias + 8 * h);
        vst1q_s32(q->k[2 * h], b.val[0]);
        vst1q_s32(q->k[2 * h + 1], b.val[1]);
        if (p->per_channel) {
            const int32x4x2_t m = vld2q_s32(p->multiplier + c0 + 8 * h);
            const int32x4x2_t e = vld2q_s32(p->shift + c0 + 8 * h);
            vst1q_s32(q->k[4 + 2 * h], m.val[0]);
            vst1q_s32(q->k[5 + 2 * h], m.val[1]);
            vst1q_s32(q->k[8 + 2 * h], e.val[0]);
            vst1q_s32(q->k[9 + 2 * h], e.val[1]);
        } else {
            const int32x4_t m = vdupq_n_s32(p->multiplier[0]);
            const int32x4_t e = vdupq_n_s32(p->shift[0]);
            vst1q_s32(q->k[4 + 2 * h], m);
            vst1q_s32(q->k[5 + 2 * h], m);
            vst1q_s32(q->k[8 + 2 * h], e);
            vst1q_s32(q->k[9 + 2 * h], e);
        }
    }
    if (r->ntaps == 9) {
        const int16_t *w = (const int16_t *)(const void *)p->weights.data + c0;
        const int32_t cn = p->in_c;
        int16_t *d = &q->w[0][0];
        int32_t t;
        if (nv == 2) {
            for (t = 0; t < 9; ++t) {
                const int16x8_t w0 = vld1q_s16(w);
                const int16x8_t w1 = vld1q_s16(w + 8);
                vst1q_s16(d, w0);
                vst1q_s16(d + 8, w1);
                d += 16;
                w += cn;
            }
        } else {
            for (t = 0; t < 9; ++t) {
                vst1q_s16(d, vld1q_s16(w));
                d += 8;
                w += cn;
            }
        }
    }
}

/* 1 when every shift of channels [c0, c0 + n) (n = 8 or 16) is <= -1 (the fast output stage's range). */
static int mq_dw_mve_shifts_ok(const mq_depthwise_params *p, int32_t c0, int32_t n)
{
    const int32_t *s = p->shift + c0;
    int32x4_t mx;
    if (!p->per_channel) {
        return p->shift[0] <= -1;
    }
    mx = vmaxq_s32(vld1q_s32(s), vld1q_s32(s + 4));
    if (n == 16) {
        mx = vmaxq_s32(mx, vmaxq_s32(vld1q_s32(s + 8), vld1q_s32(s + 12)));
    }
    return vmaxvq_s32(INT32_MIN, mx) <= -1;
}

/* The run over the channel groups; SINGLE (a compile-time constant of each inlined copy): p->single_rounding. */
static inline __attribute__((always_inline)) void mq_dw_mve_groups(const mq_dw_run *r, const int SINGLE)
{
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    mq_dw_mve_q q;
    int32_t c0;
    mq_dw_mve_setup_common(p, &q);
    for (c0 = 0; c0 + 16 <= cn; c0 += 16) {
        if (!mq_dw_mve_shifts_ok(p, c0, 16)) {
            mq_dw_s8_c(r, c0, c0 + 16);
            continue;
        }
        mq_dw_mve_setup(r, c0, 2, &q);
        if (u8) {
            (SINGLE ? mq_dw_mve1_g16_u8 : mq_dw_mve_g16_u8)(r, c0, &q);
        } else {
            (SINGLE ? mq_dw_mve1_g16_s8 : mq_dw_mve_g16_s8)(r, c0, &q);
        }
    }
    if (c0 + 8 <= cn) {
        if (!mq_dw_mve_shifts_ok(p, c0, 8)) {
            mq_dw_s8_c(r, c0, c0 + 8);
        } else {
            mq_dw_mve_setup(r, c0, 1, &q);
            if (u8) {
                (SINGLE ? mq_dw_mve1_g8_u8 : mq_dw_mve_g8_u8)(r, c0, &q);
            } else {
                (SINGLE ? mq_dw_mve1_g8_s8 : mq_dw_mve_g8_s8)(r, c0, &q);
            }
        }
        c0 += 8;
    }
    if (c0 < cn) {
        mq_dw_s8_c(r, c0, cn);
    }
}

void mq_dw_s8_mve(const mq_dw_run *r)
{
    if (r->p->single_rounding) {
        mq_dw_mve_groups(r, 1);
    } else {
        mq_dw_mve_groups(r, 0);
    }
}

#endif /* __ARM_FEATURE_MVE */
