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
 *         (bias: the scalar accumulators start at it), SRDHM = VQRDMULH (same rounding, same
 *         single saturating case),
 *         RDBPOT(x, E) = VRSHL(x + fixup, -E) with fixup = -1 for x < 0 and E > 0 (saturating add):
 *         VRSHL rounds ties up, the fixup makes negative ties round away from zero (TFLite);
 *         + out zero point (saturating VQADD), VMAX/VMIN clamp, optional LUT by byte gather,
 *         VSTRB.32 of the 4 low bytes, predicated by VCTP32 so rows >= n are never written.
 *   Groups with a positive shift (a left shift: real multiplier >= 1, rare) go through
 *   mq_gemm_s8_n4k16_c, so the row loop carries no VSHL.
 *   Single rounding (mq_fc_params.single_rounding, QDQ models): the same loops (mq_mve_group1_*, mq_mve_rows1_*)
 *   with the output stage VQDMULH + VRSHL(-E) (exact for E >= 1, mq_output_stage.h); groups with E = 0 go
 *   through the portable kernel as well.
 *   Full groups with INT8 input, k % 16 == 0, double rounding and no LUT (the M55 im2col convolutions, whose
 *   UINT8 codes mq_conv_mve makes signed) take the input rows in pairs (mq_mve_pairs_s8 below: each weight
 *   vector loaded once for two rows); an odd last row takes the group loop.
 *   Layers with k <= 64, per-channel requantization, every shift <= -1 and no LUT (KWS's 1x1 and
 *   im2col layers) run their full groups row-outer instead (mq_mve_rows below): each input row is
 *   loaded and made signed once and kept in q0..q3 while all groups run, then the partial group
 *   (n % 4) takes the group loop.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

/* Requantization constants of one group of 4 output channels. */
typedef struct {
    int32x4_t mult;   /* Q31 multipliers */
    int32x4_t right;  /* -E = shift (<= 0 here): VRSHL by a negative amount is a rounding right shift */
} mq_mve_rq;

/* {a0, a1, a2, a3} with two VMOV Qd[2], Qd[0], Rt, Rt2 (gcc emits VDUP + 3 single-lane moves). */
static inline __attribute__((always_inline)) int32x4_t mq_mve_lanes(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\t"
            "vmov %q0[3], %q0[1], %3, %4"
            : "=w"(v)
            : "r"(a0), "r"(a2), "r"(a1), "r"(a3));
    return v;
}

/* UINT8 inputs: the input vector made signed (EOR 0x80 per byte; %q[f] holds 0x80 in every byte). */
#define MQ_MVE_FLIP_ASM_0 ""
#define MQ_MVE_FLIP_ASM_1 "veor q0, q0, %q[f]\n\t"
#define MQ_MVE_FLIP_ASM_I(FLIP) MQ_MVE_FLIP_ASM_##FLIP
#define MQ_MVE_FLIP_ASM(FLIP) MQ_MVE_FLIP_ASM_I(FLIP)

/*
 * All m input rows against one group of 4 output rows (wg: KC chunks of 64 bytes). FLIP (UINT8
 * input) and FULL (4 valid rows, no store predicate) are compile-time constants of each copy, so
 * the per-row loop carries no dtype or row-count tests. Per input row: 4 scalar accumulators
 * starting at the bias, VMLADAVA over the full 16-byte chunks, the predicated tail chunk, then the
 * vector epilogue (see the file comment) and one VSTRB.32.
 */
#define MQ_MVE_GROUP(NAME, FLIP, FULL, SINGLE)                                                       \
    static __attribute__((noinline)) void NAME(const mq_fc_params *p, const mq_mve_rq *q,          \
                                               const int32_t bias[4], const int8_t *wg, int32_t m,  \
                                               const uint8_t *x, int32_t x_stride, uint8_t *o,       \
                                               int32_t out_stride, mve_pred16_t prow)                \
    {                                                                                                \
        const int32_t chunks = p->k >> 4;                                                            \
        const int32_t tail = p->k & 15;                                                              \
        const mve_pred16_t ptail = vctp8q((uint32_t)tail);                                           \
        const int32_t zp = p->out_zero_point;                                                        \
        const int32_t lo = p->act_min;                                                               \
        const int32_t hi = p->act_max;                                                               \
        const uint8_t *lut = p->lut;                                                                 \
        const int32_t b0 = bias[0], b1 = bias[1], b2 = bias[2], b3 = bias[3];                        \
        const int32x4_t qm = q->mult; /* in registers: the asm's memory clobber would reload them */  \
        const int32x4_t qr = q->right;                                                               \
        int32_t i;                                                                                   \
        (void)prow;                                                                                  \
        for (i = 0; i < m; i++) {                                                                    \
            const int8_t *xs = (const int8_t *)x;                                                    \
            const int8_t *w = wg;                                                                    \
            int32_t a0 = b0, a1 = b1, a2 = b2, a3 = b3;                                              \
            int32x4_t v;                                                                             \
            if (chunks > 0) {                                                                        \
                /* VMLADAVA takes even accumulator registers: r0 r2 r4 r6 */                         \
                register int32_t ra0 __asm__("r0") = a0;                                             \
                register int32_t ra1 __asm__("r2") = a1;                                             \
                register int32_t ra2 __asm__("r4") = a2;                                             \
                register int32_t ra3 __asm__("r6") = a3;                                             \
                __asm__ volatile("dls lr, %[c]\n\t"                                                   \
                                 "1:\n\t"                                                             \
                                 "vldrb.8 q0, [%[x]], #16\n\t" MQ_MVE_FLIP_ASM(FLIP)                  \
                                 "vldrb.8 q1, [%[w]], #16\n\t"                                        \
                                 "vmladava.s8 %[a0], q0, q1\n\t"                                      \
                                 "vldrb.8 q1, [%[w]], #16\n\t"                                        \
                                 "vmladava.s8 %[a1], q0, q1\n\t"                                      \
                                 "vldrb.8 q1, [%[w]], #16\n\t"                                        \
                                 "vmladava.s8 %[a2], q0, q1\n\t"                                      \
                                 "vldrb.8 q1, [%[w]], #16\n\t"                                        \
                                 "vmladava.s8 %[a3], q0, q1\n\t"                                      \
                                 "le lr, 1b\n\t"                                                      \
                                 : [a0] "+r"(ra0), [a1] "+r"(ra1), [a2] "+r"(ra2), [a3] "+r"(ra3),   \
                                   [x] "+r"(xs), [w] "+r"(w)                                         \
                                 : [c] "r"(chunks), [f] "w"(vdupq_n_s8((int8_t)-128))                \
                                 : "q0", "q1", "lr", "memory");                                      \
                a0 = ra0;                                                                            \
                a1 = ra1;                                                                            \
                a2 = ra2;                                                                            \
                a3 = ra3;                                                                            \
            }                                                                                        \
            if (tail != 0) {                                                                         \
                /* inactive lanes are not read and are zero (0x80 after the flip): times the     */  \
                /* zero weight padding they add nothing                                           */  \
                int8x16_t xv = vldrbq_z_s8(xs, ptail);                                               \
                if (FLIP) {                                                                          \
                    xv = veorq_s8(xv, vdupq_n_s8((int8_t)-128));                                     \
                }                                                                                    \
                a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));                                             \
                a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w + 16));                                        \
                a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w + 32));                                        \
                a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w + 48));                                        \
            }                                                                                        \
            v = mq_mve_lanes(a0, a1, a2, a3);                                                        \
            if (SINGLE) {                                                                            \
                /* single rounding (every E >= 1 here): VRSHL(VQDMULH, -E), mq_output_stage.h */       \
                v = vqdmulhq_s32(v, qm);                                                             \
            } else {                                                                                 \
                v = vqrdmulhq_s32(v, qm);                                                            \
                /* -1 where v < 0 and E > 0 (right has its sign bit set iff E > 0) */                \
                v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, qr), 31));                                \
            }                                                                                        \
            v = vrshlq_s32(v, qr);                                                             \
            v = vqaddq_n_s32(v, zp); /* saturating: same clamp result as the portable int64 sum */   \
            v = vmaxq_s32(v, vdupq_n_s32(lo));                                                       \
            v = vminq_s32(v, vdupq_n_s32(hi));                                                       \
            if (lut != NULL) {                                                                       \
                const uint32x4_t idx = vandq_u32(vreinterpretq_u32_s32(v), vdupq_n_u32(0xFFu));      \
                v = vreinterpretq_s32_u32(vldrbq_gather_offset_u32(lut, idx));                       \
            }                                                                                        \
            if (FULL) {                                                                              \
                vstrbq_s32((int8_t *)o, v);                                                          \
            } else {                                                                                 \
                vstrbq_p_s32((int8_t *)o, v, prow);                                                  \
            }                                                                                        \
            x += x_stride;                                                                           \
            o += out_stride;                                                                         \
        }                                                                                            \
    }

MQ_MVE_GROUP(mq_mve_group_s8_full, 0, 1, 0)
MQ_MVE_GROUP(mq_mve_group_u8_full, 1, 1, 0)
MQ_MVE_GROUP(mq_mve_group_s8_part, 0, 0, 0)
MQ_MVE_GROUP(mq_mve_group_u8_part, 1, 0, 0)
/* single rounding (mq_fc_params.single_rounding): the same loops, the single-rounding output stage */
MQ_MVE_GROUP(mq_mve_group1_s8_full, 0, 1, 1)
MQ_MVE_GROUP(mq_mve_group1_u8_full, 1, 1, 1)
MQ_MVE_GROUP(mq_mve_group1_s8_part, 0, 0, 1)
MQ_MVE_GROUP(mq_mve_group1_u8_part, 1, 0, 1)

typedef void (*mq_mve_group_fn)(const mq_fc_params *, const mq_mve_rq *, const int32_t *, const int8_t *, int32_t,
                                const uint8_t *, int32_t, uint8_t *, int32_t, mve_pred16_t);

/*
 * Row-outer path (KC = ceil(k/16) <= 4 chunks, per-channel, every shift <= -1, no LUT): one input row
 * is loaded once into q0..q(KC-1) (the last chunk by a VCTP8 predicate, UINT8 made signed by one VEOR
 * per chunk) and stays there while the whole group loop runs in assembly over the full groups of 4
 * output channels: per group 2 LDRD of the bias (the accumulators r0 r2 r4 r6 start at it), per chunk
 * 4 x (weight VLDRB + VMLADAVA), then the epilogue with the multipliers and shifts loaded by
 * post-incremented VLDRW (E >= 1 in every channel, so the negative-tie fixup is just x >> 31), the
 * clamp vectors in q6/q7, one VSTRB.32, LE: 8 * KC + 15 instructions per group and row, the input read
 * and flipped once per row instead of once per group. q4 = weights / accumulator vector, q5 = temp.
 */
typedef struct {
    int32_t lo;     /* act_min */
    int32_t hi;     /* act_max */
    int32_t flip;   /* 0x80: UINT8 input, 0: INT8 */
    int32_t last;   /* codes in the last chunk, 1..16 */
    int32_t groups; /* full groups of 4 output channels, >= 1 */
    int32_t zp;     /* out_zero_point */
    const uint8_t *x; /* the current input row */
} mq_mve_rowctx;

#define MQ_MVE_XL_1 "vpst\n\tvldrbt.8 q0, [r4]\n\tveor q0, q0, q5\n\t"
#define MQ_MVE_XL_2 "vldrb.8 q0, [r4]\n\tvpst\n\tvldrbt.8 q1, [r4, #16]\n\t" \
                    "veor q0, q0, q5\n\tveor q1, q1, q5\n\t"
#define MQ_MVE_XL_3 "vldrb.8 q0, [r4]\n\tvldrb.8 q1, [r4, #16]\n\tvpst\n\tvldrbt.8 q2, [r4, #32]\n\t" \
                    "veor q0, q0, q5\n\tveor q1, q1, q5\n\tveor q2, q2, q5\n\t"
#define MQ_MVE_XL_4 "vldrb.8 q0, [r4]\n\tvldrb.8 q1, [r4, #16]\n\tvldrb.8 q2, [r4, #32]\n\t" \
                    "vpst\n\tvldrbt.8 q3, [r4, #48]\n\t" \
                    "veor q0, q0, q5\n\tveor q1, q1, q5\n\tveor q2, q2, q5\n\tveor q3, q3, q5\n\t"
/* one 16-code chunk of the 4 rows of a group: input chunk in Q */
#define MQ_MVE_MAC(Q)                                                                                  \
    "vldrb.8 q4, [%[w]], #16\n\tvmladava.s8 r0, " Q ", q4\n\t"                                         \
    "vldrb.8 q4, [%[w]], #16\n\tvmladava.s8 r2, " Q ", q4\n\t"                                         \
    "vldrb.8 q4, [%[w]], #16\n\tvmladava.s8 r4, " Q ", q4\n\t"                                         \
    "vldrb.8 q4, [%[w]], #16\n\tvmladava.s8 r6, " Q ", q4\n\t"
#define MQ_MVE_MACS_1 MQ_MVE_MAC("q0")
#define MQ_MVE_MACS_2 MQ_MVE_MACS_1 MQ_MVE_MAC("q1")
#define MQ_MVE_MACS_3 MQ_MVE_MACS_2 MQ_MVE_MAC("q2")
#define MQ_MVE_MACS_4 MQ_MVE_MACS_3 MQ_MVE_MAC("q3")

/* Requantization of q4 by the multipliers / shifts at mu / sh (post-incremented): double rounding (VQRDMULH, the
 * negative-tie fixup x >> 31, VRSHL) or single rounding (VQDMULH, VRSHL: mq_output_stage.h). */
#define MQ_MVE_RQ_DOUBLE                                                                               \
    "vldrw.32 q5, [%[mu]], #16\n\t"                                                                     \
    "vqrdmulh.s32 q4, q4, q5\n\t"                                                                       \
    "vshr.s32 q5, q4, #31\n\t"                                                                          \
    "vqadd.s32 q4, q4, q5\n\t"                                                                          \
    "vldrw.32 q5, [%[sh]], #16\n\t"                                                                     \
    "vrshl.s32 q4, q4, q5\n\t"
#define MQ_MVE_RQ_SINGLE                                                                               \
    "vldrw.32 q5, [%[mu]], #16\n\t"                                                                     \
    "vqdmulh.s32 q4, q4, q5\n\t"                                                                        \
    "vldrw.32 q5, [%[sh]], #16\n\t"                                                                     \
    "vrshl.s32 q4, q4, q5\n\t"

#define MQ_MVE_ROWS(NAME, XL, MACS, RQ)                                                                \
    static __attribute__((noinline)) void NAME(const mq_fc_params *p, mq_mve_rowctx *ctx,            \
                                               int32_t m, const uint8_t *x, int32_t x_stride,        \
                                               uint8_t *out, int32_t out_stride)                     \
    {                                                                                                \
        int32_t i;                                                                                   \
        for (i = 0; i < m; i++) {                                                                    \
            /* pinned: at -O0 gcc finds no registers for 6 free operands next to the clobbers */     \
            register const int8_t *w __asm__("r1") = p->weights.packed;                              \
            register const int32_t *b __asm__("r3") = p->bias.folded;                                \
            register uint8_t *o __asm__("r5") = out; /* VSTRB.32 takes a low base register */         \
            register const int32_t *mu __asm__("r8") = p->multiplier;                                \
            register const int32_t *sh __asm__("r10") = p->shift;                                    \
            /* the context, then the output zero point once the row is loaded */                     \
            register const mq_mve_rowctx *c __asm__("r12") = ctx;                                    \
            mve_pred16_t pd;                                                                         \
            ctx->x = x;                                                                              \
            __asm__ volatile("ldrd r0, r2, [%[c]]\n\t"                                              \
                             "vdup.32 q6, r0\n\t"                                                    \
                             "vdup.32 q7, r2\n\t"                                                    \
                             "ldrd r0, r2, [%[c], #8]\n\t"                                           \
                             "vdup.8 q5, r0\n\t"                                                     \
                             "ldr r4, [%[c], #24]\n\t"                                               \
                             "vctp.8 r2\n\t" XL                                                      \
                             "ldrd r0, %[c], [%[c], #16]\n\t"                                        \
                             "dls lr, r0\n\t"                                                        \
                             "1:\n\t"                                                                \
                             "ldrd r0, r2, [%[b]], #8\n\t"                                           \
                             "ldrd r4, r6, [%[b]], #8\n\t" MACS                                      \
                             "vmov q4[2], q4[0], r0, r4\n\t"                                         \
                             "vmov q4[3], q4[1], r2, r6\n\t" RQ                                      \
                             "vqadd.s32 q4, q4, %[c]\n\t"                                            \
                             "vmax.s32 q4, q4, q6\n\t"                                               \
                             "vmin.s32 q4, q4, q7\n\t"                                               \
                             "vstrb.32 q4, [%[o]], #4\n\t"                                           \
                             "le lr, 1b\n\t"                                                         \
                             : [w] "+r"(w), [b] "+r"(b), [mu] "+r"(mu), [sh] "+r"(sh), [o] "+r"(o),  \
                               [c] "+r"(c), "=Up"(pd)                                                \
                             :                                                                       \
                             : "r0", "r2", "r4", "r6", "lr", "q0", "q1", "q2", "q3", "q4", "q5",     \
                               "q6", "q7", "memory");                                                \
            (void)pd;                                                                                \
            x += x_stride;                                                                           \
            out += out_stride;                                                                       \
        }                                                                                            \
    }

MQ_MVE_ROWS(mq_mve_rows_1, MQ_MVE_XL_1, MQ_MVE_MACS_1, MQ_MVE_RQ_DOUBLE)
MQ_MVE_ROWS(mq_mve_rows_2, MQ_MVE_XL_2, MQ_MVE_MACS_2, MQ_MVE_RQ_DOUBLE)
MQ_MVE_ROWS(mq_mve_rows_3, MQ_MVE_XL_3, MQ_MVE_MACS_3, MQ_MVE_RQ_DOUBLE)
MQ_MVE_ROWS(mq_mve_rows_4, MQ_MVE_XL_4, MQ_MVE_MACS_4, MQ_MVE_RQ_DOUBLE)
MQ_MVE_ROWS(mq_mve_rows1_1, MQ_MVE_XL_1, MQ_MVE_MACS_1, MQ_MVE_RQ_SINGLE)
MQ_MVE_ROWS(mq_mve_rows1_2, MQ_MVE_XL_2, MQ_MVE_MACS_2, MQ_MVE_RQ_SINGLE)
MQ_MVE_ROWS(mq_mve_rows1_3, MQ_MVE_XL_3, MQ_MVE_MACS_3, MQ_MVE_RQ_SINGLE)
MQ_MVE_ROWS(mq_mve_rows1_4, MQ_MVE_XL_4, MQ_MVE_MACS_4, MQ_MVE_RQ_SINGLE)

/* Full groups of 4 channels through the row-outer path when the layer qualifies (see above): the
 * number of groups done (0: none, the group-outer loops below take the layer). */
/* 1 when the full groups of p qualify for the row-outer path. */
static int mq_mve_rows_ok(const mq_fc_params *p)
{
    int32x4_t smax = vdupq_n_s32(INT32_MIN);
    int32_t c;
    if (p->k > 64 || p->n < 4 || !p->per_channel || p->lut != NULL) {
        return 0;
    }
    for (c = 0; c + 4 <= p->n; c += 4) {
        smax = vmaxq_s32(smax, vldrwq_s32(p->shift + c));
    }
    /* a channel with E = 0 (no negative-tie fixup) or a left shift: the group-outer loops */
    return vmaxvq_s32(INT32_MIN, smax) < 0;
}

int mq_gemm_s8_n4k16_mve_rowwise(const mq_fc_params *p)
{
    return (p->n & 3) == 0 && mq_mve_rows_ok(p);
}

static int32_t mq_mve_rows(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                           uint8_t *out, int32_t out_stride)
{
    const int32_t kc = (p->k + 15) >> 4;
    mq_mve_rowctx ctx;

    if (!mq_mve_rows_ok(p)) {
        return 0;
    }
    ctx.lo = p->act_min;
    ctx.hi = p->act_max;
    ctx.flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0x80 : 0;
    ctx.last = p->k - 16 * (kc - 1);
    ctx.groups = p->n >> 2;
    ctx.zp = p->out_zero_point;
    ctx.x = x;
    if (p->single_rounding) {
        switch (kc) {
        case 1:
            mq_mve_rows1_1(p, &ctx, m, x, x_stride, out, out_stride);
            break;
        case 2:
            mq_mve_rows1_2(p, &ctx, m, x, x_stride, out, out_stride);
            break;
        case 3:
            mq_mve_rows1_3(p, &ctx, m, x, x_stride, out, out_stride);
            break;
        default:
            mq_mve_rows1_4(p, &ctx, m, x, x_stride, out, out_stride);
            break;
        }
        return ctx.groups;
    }
    switch (kc) {
    case 1:
        mq_mve_rows_1(p, &ctx, m, x, x_stride, out, out_stride);
        break;
    case 2:
        mq_mve_rows_2(p, &ctx, m, x, x_stride, out, out_stride);
        break;
    case 3:
        mq_mve_rows_3(p, &ctx, m, x, x_stride, out, out_stride);
        break;
    default:
        mq_mve_rows_4(p, &ctx, m, x, x_stride, out, out_stride);
        break;
    }
    return ctx.groups;
}

/*
 * Row-pair path of a full group (4 valid output rows; INT8 input, k % 16 == 0, double rounding, no LUT): two
 * input rows share each weight vector, so per 16-code chunk 2 input VLDRB + 4 weight VLDRB + 8 VMLADAVA + the
 * loop (SUBS/BNE) = 16 instructions for two rows instead of 2 x 10 (one row: 1 input + 4 weights + 4 MACs + LE).
 * The eight scalar accumulators take every even register r0..r14 (VMLADAVA's), so the whole loop over the row
 * pairs is one naked assembly function (no compiler-allocated registers, the same at -O0 and -O2) reading its
 * operands from mq_mve_pairctx. Epilogue per pair: the two accumulator quads as two int32x4 vectors, then the
 * group loop's output stage (VQRDMULH, negative-tie fixup x & right >> 31, VRSHL, VQADD zero point, VMAX / VMIN)
 * on each, two VSTRB.32.
 */
typedef struct {
    const uint8_t *x;   /*  0: first row of the current pair (the second at x + x_stride) */
    int32_t x_stride;   /*  4 */
    const int8_t *w;    /*  8: the group's packed weights */
    int32_t chunks;     /* 12: k / 16, >= 1 */
    uint8_t *o;         /* 16: output of the pair's first row, first channel of the group */
    int32_t out_stride; /* 20 */
    int32_t pairs;      /* 24: pairs left, >= 1 */
    int32_t unused;     /* 28 */
    int32_t bias[4];    /* 32 */
    int32x4_t mult;     /* 48: Q31 multipliers */
    int32x4_t right;    /* 64: -E (<= 0) */
    int32x4_t lo;       /* 80: act_min */
    int32x4_t hi;       /* 96: act_max */
    int32x4_t zp;       /* 112: out_zero_point */
} mq_mve_pairctx;

static __attribute__((naked, noinline)) void mq_mve_pairs_s8(mq_mve_pairctx *c __attribute__((unused)))
{
    __asm__ volatile("push {r4-r11, lr}\n\t"
                     "vpush {d8-d15}\n\t"
                     "mov r11, r0\n\t"
                     "vldrw.32 q5, [r11, #48]\n\t"
                     "vldrw.32 q6, [r11, #64]\n\t"
                     "1:\n\t"
                     "ldrd r1, r3, [r11]\n\t"
                     "add r3, r3, r1\n\t"
                     "ldrd r5, r9, [r11, #8]\n\t"
                     "ldrd r0, r2, [r11, #32]\n\t"
                     "ldrd r4, r6, [r11, #40]\n\t"
                     "mov r8, r0\n\t"
                     "mov r10, r2\n\t"
                     "mov r12, r4\n\t"
                     "mov lr, r6\n\t"
                     "2:\n\t"
                     "vldrb.8 q0, [r1], #16\n\t"
                     "vldrb.8 q1, [r3], #16\n\t"
                     "vldrb.8 q2, [r5], #16\n\t"
                     "vmladava.s8 r0, q0, q2\n\t"
                     "vmladava.s8 r8, q1, q2\n\t"
                     "vldrb.8 q2, [r5], #16\n\t"
                     "vmladava.s8 r2, q0, q2\n\t"
                     "vmladava.s8 r10, q1, q2\n\t"
                     "vldrb.8 q2, [r5], #16\n\t"
                     "vmladava.s8 r4, q0, q2\n\t"
                     "vmladava.s8 r12, q1, q2\n\t"
                     "vldrb.8 q2, [r5], #16\n\t"
                     "vmladava.s8 r6, q0, q2\n\t"
                     "vmladava.s8 lr, q1, q2\n\t"
                     "subs r9, r9, #1\n\t"
                     "bne 2b\n\t"
                     "vmov q3[2], q3[0], r0, r4\n\t"
                     "vmov q3[3], q3[1], r2, r6\n\t"
                     "vmov q4[2], q4[0], r8, r12\n\t"
                     "vmov q4[3], q4[1], r10, lr\n\t"
                     "vqrdmulh.s32 q3, q3, q5\n\t"
                     "vqrdmulh.s32 q4, q4, q5\n\t"
                     "vand q7, q3, q6\n\t"
                     "vshr.s32 q7, q7, #31\n\t"
                     "vqadd.s32 q3, q3, q7\n\t"
                     "vand q7, q4, q6\n\t"
                     "vshr.s32 q7, q7, #31\n\t"
                     "vqadd.s32 q4, q4, q7\n\t"
                     "vrshl.s32 q3, q3, q6\n\t"
                     "vrshl.s32 q4, q4, q6\n\t"
                     "vldrw.32 q0, [r11, #112]\n\t"
                     "vldrw.32 q1, [r11, #80]\n\t"
                     "vldrw.32 q2, [r11, #96]\n\t"
                     "vqadd.s32 q3, q3, q0\n\t"
                     "vqadd.s32 q4, q4, q0\n\t"
                     "vmax.s32 q3, q3, q1\n\t"
                     "vmax.s32 q4, q4, q1\n\t"
                     "vmin.s32 q3, q3, q2\n\t"
                     "vmin.s32 q4, q4, q2\n\t"
                     "ldrd r0, r2, [r11, #16]\n\t"
                     "vstrb.32 q3, [r0]\n\t"
                     "add r0, r0, r2\n\t"
                     "vstrb.32 q4, [r0]\n\t"
                     "add r0, r0, r2\n\t"
                     "str r0, [r11, #16]\n\t"
                     "ldrd r1, r3, [r11]\n\t"
                     "add r1, r1, r3, lsl #1\n\t"
                     "str r1, [r11]\n\t"
                     "ldr r1, [r11, #24]\n\t"
                     "subs r1, r1, #1\n\t"
                     "str r1, [r11, #24]\n\t"
                     "bne 1b\n\t"
                     "vpop {d8-d15}\n\t"
                     "pop {r4-r11, pc}");
}

/* A full group by the row-pair path (m >= 2), the odd last row by the group loop; out: the group's first channel. */
static __attribute__((noinline)) void mq_mve_group_pairs(const mq_fc_params *p, const mq_mve_rq *q,
                                                         const int32_t bias[4], const int8_t *wg, int32_t m,
                                                         const uint8_t *x, int32_t x_stride, uint8_t *out,
                                                         int32_t out_stride, mve_pred16_t prow)
{
    mq_mve_pairctx pc;
    const int32_t done = m & ~1;
    pc.x = x;
    pc.x_stride = x_stride;
    pc.w = wg;
    pc.chunks = p->k >> 4;
    pc.o = out;
    pc.out_stride = out_stride;
    pc.pairs = m >> 1;
    pc.unused = 0;
    vst1q_s32(pc.bias, vld1q_s32(bias));
    pc.mult = q->mult;
    pc.right = q->right;
    pc.lo = vdupq_n_s32(p->act_min);
    pc.hi = vdupq_n_s32(p->act_max);
    pc.zp = vdupq_n_s32(p->out_zero_point);
    mq_mve_pairs_s8(&pc);
    if (done < m) {
        mq_mve_group_s8_full(p, q, bias, wg, m - done, x + (ptrdiff_t)done * x_stride, x_stride,
                             out + (ptrdiff_t)done * out_stride, out_stride, prow);
    }
}

/* The group loop; SINGLE, PAIRS (compile-time constants of each inlined copy): p->single_rounding; full groups by
 * the row-pair path (mq_mve_group_pairs: the caller checked that it applies). */
static inline __attribute__((always_inline)) void mq_mve_groups(const mq_fc_params *p, int32_t m, const uint8_t *x,
                                                                int32_t x_stride, uint8_t *out, int32_t out_stride,
                                                                const int SINGLE, const int PAIRS)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) / 16) * 64u;
    const int uint8_in = p->in_dtype == MQ_DTYPE_UINT8;
    mq_mve_rq q;
    int32_t g;

    /* per tensor: set once; per channel: reloaded for every group below */
    q.mult = vdupq_n_s32(p->multiplier[0]);
    q.right = vdupq_n_s32(p->shift[0]);
    for (g = mq_mve_rows(p, m, x, x_stride, out, out_stride); 4 * g < n; g++) {
        const int32_t c0 = 4 * g;
        const int32_t rows = n - c0 < 4 ? n - c0 : 4;
        const mve_pred16_t prow = vctp32q((uint32_t)rows);
        const int8_t *wg = p->weights.packed + (size_t)g * group_bytes;
        int32_t bias[4];
        vst1q_s32(bias, vldrwq_z_s32(p->bias.folded + c0, prow)); /* lanes >= rows: 0, never stored */
        if (p->per_channel) {
            q.mult = vldrwq_z_s32(p->multiplier + c0, prow);
            q.right = vldrwq_z_s32(p->shift + c0, prow);
        }
        if (vmaxvq_s32(INT32_MIN, q.right) > (SINGLE ? -1 : 0)) {
            /* a left shift (real multiplier >= 1, rare), or single rounding with E = 0: this group through the
             * portable kernel */
            const mq_fc_params sub = mq_fc_params_channels(p, c0, rows);
            mq_gemm_s8_n4k16_c(&sub, m, x, x_stride, out + c0, out_stride);
            continue;
        }
        if (SINGLE) {
            static const mq_mve_group_fn single[2][2] = {{mq_mve_group1_s8_part, mq_mve_group1_s8_full},
                                                         {mq_mve_group1_u8_part, mq_mve_group1_u8_full}};
            single[uint8_in][rows == 4](p, &q, bias, wg, m, x, x_stride, out + c0, out_stride, prow);
        } else if (rows == 4) {
            if (PAIRS) {
                mq_mve_group_pairs(p, &q, bias, wg, m, x, x_stride, out + c0, out_stride, prow);
                continue;
            }
            if (uint8_in) {
                mq_mve_group_u8_full(p, &q, bias, wg, m, x, x_stride, out + c0, out_stride, prow);
            } else {
                mq_mve_group_s8_full(p, &q, bias, wg, m, x, x_stride, out + c0, out_stride, prow);
            }
        } else {
            if (uint8_in) {
                mq_mve_group_u8_part(p, &q, bias, wg, m, x, x_stride, out + c0, out_stride, prow);
            } else {
                mq_mve_group_s8_part(p, &q, bias, wg, m, x, x_stride, out + c0, out_stride, prow);
            }
        }
    }
}

/* The row-pair copy of the group loop in a function of its own (the other copies keep their register allocation). */
static __attribute__((noinline)) void mq_mve_groups_pairs(const mq_fc_params *p, int32_t m, const uint8_t *x,
                                                          int32_t x_stride, uint8_t *out, int32_t out_stride)
{
    mq_mve_groups(p, m, x, x_stride, out, out_stride, 0, 1);
}

void mq_gemm_s8_n4k16_mve(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    if (p->single_rounding) {
        mq_mve_groups(p, m, x, x_stride, out, out_stride, 1, 0);
    } else if (m >= 2 && p->in_dtype != MQ_DTYPE_UINT8 && (p->k & 15) == 0 && p->k > 0 && p->lut == NULL) {
        /* the row-pair path: two rows or more, INT8 input, whole 16-code chunks, double rounding, no LUT */
        mq_mve_groups_pairs(p, m, x, x_stride, out, out_stride);
    } else {
        mq_mve_groups(p, m, x, x_stride, out, out_stride, 0, 0);
    }
}

#endif /* __ARM_FEATURE_MVE */
