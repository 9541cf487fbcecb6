/*
 * mq_dw_s8_v7m: depthwise convolution microkernel, plain Armv7-M (Cortex-M3: no DSP extension).
 * Contract: mq_microkernels.h (mq_dw_run), depth multiplier 1. Bit-identical to mq_dw_s8_c.
 *
 * The structure of mq_dw_s8_dsp with LDRSB (INT8) / LDRB (UINT8) + LDRSH + MLA per channel and tap
 * (15 instructions per tap and 4 channels, one walking weight pointer); requantization as the DSP kernel (SMLAL
 * on a 64-bit start value with the output zero point folded in, USAT #8; eight instructions per channel, five
 * for a clamp starting at or above the zero point: MQ_DW_RQ / MQ_DW_RQZ), then min with act_max - act_min and
 * + act_min per byte; constants set up once per run (cached over the runs of one call, mq_dw_run.cache). Groups outside the fast range (shift >= -1, or
 * |zl| * 2^(E-1) >= 2^30) and the channel tail go through mq_dw_s8_c.
 * The DSP form, for reference:
 *
 * Groups of 4 channels, one output pixel at a time. Per tap: the tap pointer, one input word (4 channels,
 * unaligned LDR), SXTB16 (INT8) or UXTB16 (UINT8) of it and of it rotated by 8 -> halfword pairs (c0, c2) and
 * (c1, c3); the host-widened int16 weights of the 4 channels are two words (c0, c1) and (c2, c3) (one LDRD when
 * in_c is even); four SMLAxy (16 x 16 + 32, wrapping like the portable uint32 sums) pick the matching halves:
 * c0 = BB, c2 = TB, c1 = BT, c3 = TT. 11 instructions per tap and 4 channels. No zero-point arithmetic (folded
 * into the bias). A 3x3 kernel (9 taps) is one straight assembly block; other kernels loop over the taps.
 */
#include "mq_microkernels.h"

#if defined(__ARM_ARCH_7M__)

#include <stddef.h>
#include <string.h>

#include "mq_dw_rq_armv7.h"
#include "mq_output_stage.h"

#define MQ_DW_STR_(x) #x
#define MQ_DW_STR(x) MQ_DW_STR_(x)

/* One tap T: x = taps[T] + off; weights at wp, then wp += ws. LDX: ldrsb / ldrb. */
#define MQ_DW_TAP(T, EXT, LDW)                                      \
    "ldr %[x], [%[tp], #" MQ_DW_STR(T) "*4]\n\t"                    \
    "add %[x], %[x], %[off]\n\t"                                   \
    EXT " %[xo], [%[x]]\n\t"                                       \
    "ldrsh %[w0], [%[wp]]\n\t"                                     \
    "mla %[a0], %[xo], %[w0], %[a0]\n\t"                           \
    EXT " %[xo], [%[x], #1]\n\t"                                   \
    "ldrsh %[w0], [%[wp], #2]\n\t"                                 \
    "mla %[a1], %[xo], %[w0], %[a1]\n\t"                           \
    EXT " %[xo], [%[x], #2]\n\t"                                   \
    "ldrsh %[w0], [%[wp], #4]\n\t"                                 \
    "mla %[a2], %[xo], %[w0], %[a2]\n\t"                           \
    EXT " %[xo], [%[x], #3]\n\t"                                   \
    "ldrsh %[w0], [%[wp], #6]\n\t"                                 \
    "mla %[a3], %[xo], %[w0], %[a3]\n\t"                           \
    "add %[wp], %[wp], %[ws]\n\t"

#define MQ_DW_LDRD "" /* Armv7-M: halfword loads, no alignment variants */

/* One tap T of the 3x3 block: x = taps[T] + off; the 4 weights from the run's copy (q->w[T]). */
#define MQ_DW_TAPQ(T, EXT)                                          \
    "ldr %[x], [%[tp], #" MQ_DW_STR(T) "*4]\n\t"                    \
    "add %[x], %[x], %[off]\n\t"                                   \
    EXT " %[xo], [%[x]]\n\t"                                       \
    "ldrsh %[w0], [%[q], #" MQ_DW_STR(T) "*8+64]\n\t"               \
    "mla %[a0], %[xo], %[w0], %[a0]\n\t"                           \
    EXT " %[xo], [%[x], #1]\n\t"                                   \
    "ldrsh %[w0], [%[q], #" MQ_DW_STR(T) "*8+66]\n\t"               \
    "mla %[a1], %[xo], %[w0], %[a1]\n\t"                           \
    EXT " %[xo], [%[x], #2]\n\t"                                   \
    "ldrsh %[w0], [%[q], #" MQ_DW_STR(T) "*8+68]\n\t"               \
    "mla %[a2], %[xo], %[w0], %[a2]\n\t"                           \
    EXT " %[xo], [%[x], #3]\n\t"                                   \
    "ldrsh %[w0], [%[q], #" MQ_DW_STR(T) "*8+70]\n\t"               \
    "mla %[a3], %[xo], %[w0], %[a3]\n\t"

#define MQ_DW_TAPS9(EXT)                                                                               \
    __asm__(MQ_DW_TAPQ(0, EXT) MQ_DW_TAPQ(1, EXT) MQ_DW_TAPQ(2, EXT) MQ_DW_TAPQ(3, EXT)                  \
                MQ_DW_TAPQ(4, EXT) MQ_DW_TAPQ(5, EXT) MQ_DW_TAPQ(6, EXT) MQ_DW_TAPQ(7, EXT)             \
                    MQ_DW_TAPQ(8, EXT)                                                                 \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [xo] "=&r"(xo),   \
              [w0] "=&r"(w0)                                                                           \
            : [tp] "r"(tp), [off] "r"(off), [q] "r"(q)                                                 \
            : "memory")

#define MQ_DW_TAP1(EXT, LDW)                                                                           \
    __asm__(MQ_DW_TAP(0, EXT, LDW)                                                                     \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [xo] "=&r"(xo),   \
              [w0] "=&r"(w0), [w1] "=&r"(w1), [wp] "+r"(wp)                                            \
            : [tp] "r"(tp), [off] "r"(off), [ws] "r"(ws)                                               \
            : "memory")

/* Requantization constants of a group of 4 channels (set up once per run): per channel k,
 * c[k] = {M, E-1, 2^30, 2^(E-2) + zl * 2^(E-1)} with E = -shift in [2, 31], zl = out_zero_point - act_min
 * (|zl| * 2^(E-1) < 2^30: mq_dw_s8_v7m checks it). */
typedef struct {
    int32_t c[4][4];    /* byte offset 0 */
    int16_t w[9][4];    /* 64: 3x3 kernels: the 4 channels' weights of tap t */
    int32_t b[4];       /* 136: folded bias */
} mq_dw_v7m_q;

/* The assembly's offsets (compile-time check). */
typedef char mq_dw_v7m_q_layout[(offsetof(mq_dw_v7m_q, w) == 64 && offsetof(mq_dw_v7m_q, b) == 136) ? 1 : -1];

/* The operator's set-up cache (mq_dw_run.cache, MQ_DW_CACHE_BYTES): the first MQ_DW_V7M_CACHED groups' constants,
 * filled by the first run of a call (ready = 0 until then) and read by the later ones. */
#define MQ_DW_V7M_CACHED 16
typedef struct {
    uint32_t ready;
    uint32_t bad;       /* bit g: group g goes through mq_dw_s8_c */
    mq_dw_v7m_q q[MQ_DW_V7M_CACHED];
} mq_dw_v7m_cache;

typedef char mq_dw_v7m_cache_size[(MQ_DW_CACHE_BYTES == 0 || sizeof(mq_dw_v7m_cache) <= MQ_DW_CACHE_BYTES) ? 1 : -1];

/* Output constants: act_max - act_min and act_min. */
typedef struct {
    int32_t h;
    int32_t lo;
} mq_dw_v7m_out;

#define MQ_DW_RQ4(RQ)                                                                                 \
    __asm__(RQ("a0", 0) RQ("a1", 1) RQ("a2", 2) RQ("a3", 3)                                             \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [m] "=&r"(m), [rb] "=&r"(rb), \
              [e] "=&r"(e), [l] "=&r"(l), [h] "=&r"(h)                                                \
            : [q] "r"(q)                                                                              \
            : "memory")

/* One group of 4 channels over the run: NINE (compile-time) selects the straight 3x3 block, LUT the table
 * epilogue. */
#define MQ_DW_V7M_GROUP(NAME, EXT, NINE, LDW, LUT, RQ)                                                     \
    static __attribute__((noinline)) void NAME(const mq_dw_run *r, int32_t c0, const mq_dw_v7m_q *q,       \
                                               const mq_dw_v7m_out *os)                                    \
    {                                                                                                      \
        const mq_depthwise_params *p = r->p;                                                               \
        const int32_t cn = p->in_c;                                                                        \
        const uint8_t *w0base = (const uint8_t *)p->weights.data + 2 * (size_t)c0;                         \
        const int32_t ws = 2 * cn;                                                                         \
        const int32_t *bias = NINE ? q->b : p->bias.folded + c0;                                           \
        const uint8_t *const *taps = r->taps;                                                              \
        const int32_t ntaps = r->ntaps;                                                                    \
        uint8_t *o = r->out + c0;                                                                          \
        int32_t off = c0;                                                                                  \
        int32_t i;                                                                                         \
        for (i = r->npix; i > 0; --i) {                                                                    \
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];                                \
            int32_t x, xo, w0, w1, m, rb, e, l, h;                                                         \
            const uint8_t *const *tp = taps;                                                               \
            taps += ntaps;                                                                                 \
            if (NINE) {                                                                                    \
                MQ_DW_TAPS9(EXT);                                                                          \
            } else {                                                                                       \
                const uint8_t *wp = w0base;                                                                \
                int32_t t;                                                                                 \
                for (t = ntaps; t > 0; --t) {                                                              \
                    MQ_DW_TAP1(EXT, LDW);                                                                  \
                    ++tp;                                                                                  \
                }                                                                                          \
            }                                                                                              \
            MQ_DW_RQ4(RQ);                                                                                 \
            {                                                                                              \
                /* a_k in [0, 255]: min with act_max - act_min, + act_min (the byte), LUT */                  \
                const int32_t hr = os->h;                                                                  \
                const int32_t lo = os->lo;                                                                 \
                int32_t v0 = (a0 > hr ? hr : a0) + lo;                                                     \
                int32_t v1 = (a1 > hr ? hr : a1) + lo;                                                     \
                int32_t v2 = (a2 > hr ? hr : a2) + lo;                                                     \
                int32_t v3 = (a3 > hr ? hr : a3) + lo;                                                     \
                if (LUT) {                                                                                 \
                    v0 = p->lut[(uint8_t)v0];                                                              \
                    v1 = p->lut[(uint8_t)v1];                                                              \
                    v2 = p->lut[(uint8_t)v2];                                                              \
                    v3 = p->lut[(uint8_t)v3];                                                              \
                }                                                                                          \
                o[0] = (uint8_t)v0;                                                                        \
                o[1] = (uint8_t)v1;                                                                        \
                o[2] = (uint8_t)v2;                                                                        \
                o[3] = (uint8_t)v3;                                                                        \
            }                                                                                              \
            o += cn;                                                                                       \
        }                                                                                                  \
    }

#define MQ_DW_V7M_GROUPS(SUF, EXT)                                                   \
    MQ_DW_V7M_GROUP(mq_dw_v7m_9e_##SUF, EXT, 1, MQ_DW_LDRD, 0, MQ_DW_RQ)             \
    MQ_DW_V7M_GROUP(mq_dw_v7m_9e_lut_##SUF, EXT, 1, MQ_DW_LDRD, 1, MQ_DW_RQ)         \
    MQ_DW_V7M_GROUP(mq_dw_v7m_ne_##SUF, EXT, 0, MQ_DW_LDRD, 0, MQ_DW_RQ)             \
    MQ_DW_V7M_GROUP(mq_dw_v7m_ne_lut_##SUF, EXT, 0, MQ_DW_LDRD, 1, MQ_DW_RQ)         \
    MQ_DW_V7M_GROUP(mq_dw_v7m_9z_##SUF, EXT, 1, MQ_DW_LDRD, 0, MQ_DW_RQZ)            \
    MQ_DW_V7M_GROUP(mq_dw_v7m_nz_##SUF, EXT, 0, MQ_DW_LDRD, 0, MQ_DW_RQZ)

MQ_DW_V7M_GROUPS(s8, "ldrsb")
MQ_DW_V7M_GROUPS(u8, "ldrb")

typedef void (*mq_dw_v7m_fn)(const mq_dw_run *, int32_t, const mq_dw_v7m_q *, const mq_dw_v7m_out *);

void mq_dw_s8_v7m(const mq_dw_run *r)
{
    /* [UINT8][not 3x3][LUT][zl <= 0, no LUT: the shorter requantization] */
    static const mq_dw_v7m_fn fns[2][2][2][2] = {
        {{{mq_dw_v7m_9e_s8, mq_dw_v7m_9z_s8}, {mq_dw_v7m_9e_lut_s8, mq_dw_v7m_9e_lut_s8}},
         {{mq_dw_v7m_ne_s8, mq_dw_v7m_nz_s8}, {mq_dw_v7m_ne_lut_s8, mq_dw_v7m_ne_lut_s8}}},
        {{{mq_dw_v7m_9e_u8, mq_dw_v7m_9z_u8}, {mq_dw_v7m_9e_lut_u8, mq_dw_v7m_9e_lut_u8}},
         {{mq_dw_v7m_ne_u8, mq_dw_v7m_nz_u8}, {mq_dw_v7m_ne_lut_u8, mq_dw_v7m_ne_lut_u8}}}};
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int nine = r->ntaps == 9;
    const mq_dw_v7m_fn fn = fns[p->in_dtype == MQ_DTYPE_UINT8][nine ? 0 : 1][p->lut != NULL]
                               [p->out_zero_point <= p->act_min || p->single_rounding];
    const uint8_t *w = (const uint8_t *)p->weights.data;
    const size_t ws = 2u * (size_t)cn;
    const size_t pstep = p->per_channel ? 1u : 0u;
    const uint32_t zl = (uint32_t)(p->out_zero_point - p->act_min);
    const uint32_t zla = (int32_t)zl < 0 ? 0u - zl : zl;
    /* E - 2 < e1lim, unsigned: 1 <= E - 1 <= 30 - bitlength(|zl|), i.e. |zl| * 2^(E-1) < 2^30 */
    const uint32_t nb = mq_dw_rq_bits(zla);
    const uint32_t e1lim = nb < 30u ? 30u - nb : 0u;
    const int32_t *mp = p->multiplier;
    const int32_t *sp = p->shift;
    mq_dw_v7m_cache *cc = (mq_dw_v7m_cache *)r->cache;
    const uint32_t ready = cc != NULL ? cc->ready : 0u;
    mq_dw_v7m_q local;
    mq_dw_v7m_out os;
    int32_t c0;
    int32_t g;
    os.h = p->act_max - p->act_min;
    os.lo = p->act_min;
    if (p->single_rounding && p->lut != NULL) {
        /* the LUT epilogues use the double-rounding MQ_DW_RQ: single rounding with a LUT goes the portable way */
        mq_dw_s8_c(r, 0, cn);
        return;
    }
    for (c0 = 0, g = 0; c0 + 4 <= cn; c0 += 4, ++g) {
        const int cached = cc != NULL && g < MQ_DW_V7M_CACHED;
        mq_dw_v7m_q *q = cached ? &cc->q[g] : &local;
        uint32_t bad;
        if (cached && ready != 0u) {
            bad = (cc->bad >> g) & 1u; /* set up by the layer's first run */
        } else {
            /* 2^30: the double-rounding start value's low word; 0: single rounding (MQ_DW_RQZ, mq_dw_rq_armv7.h) */
            q->c[0][2] = q->c[1][2] = q->c[2][2] = q->c[3][2] = p->single_rounding ? 0 : 0x40000000;
            bad = mq_dw_rq_consts(q->c[0], mp[0], sp[0], zl, e1lim);
            bad |= mq_dw_rq_consts(q->c[1], mp[pstep], sp[pstep], zl, e1lim);
            bad |= mq_dw_rq_consts(q->c[2], mp[2 * pstep], sp[2 * pstep], zl, e1lim);
            bad |= mq_dw_rq_consts(q->c[3], mp[3 * pstep], sp[3 * pstep], zl, e1lim);
            if (bad == 0u && nine) {
                int32_t t;
                for (t = 0; t < 9; ++t) {
                    memcpy(q->w[t], w + (size_t)t * ws + 2u * (size_t)c0, 8);
                }
                memcpy(q->b, p->bias.folded + c0, sizeof q->b);
            }
            if (cached) {
                cc->bad = (cc->bad & ~(1u << g)) | (bad << g);
            }
        }
        mp += 4 * pstep;
        sp += 4 * pstep;
        if (bad != 0u) {
            mq_dw_s8_c(r, c0, c0 + 4);
        } else {
            fn(r, c0, q, &os);
        }
    }
    if (cc != NULL) {
        cc->ready = 1u;
    }
    if (c0 < cn) {
        mq_dw_s8_c(r, c0, cn);
    }
}

#endif /* __ARM_ARCH_7M__ */
