/*
 * mq_fully_connected_s16: TFLite FULLY_CONNECTED 16x8.
 *   input [batch, k] int16 (zero point 0), weights [n][k] int8 (zero point 0), bias int64 [n] or NULL,
 *   output [batch, n] int16: out[b][c] = clamp(requant64(bias[c] + sum_k x[b][k] w[c][k], M[c], s[c]))
 * (per tensor: M[0], s[0]). Batch >= 2 without exact_scale: the 4-row path mq_s16_gemm4
 * (4 batch rows buffered, int32 accumulation where provably exact). Batch 1 on the DSP cores without exact_scale:
 * mq_fc16_b1_dsp (input permuted once, int32 blocks of at most 504 products added in int64, one shared
 * output stage per chunk of 32 channels; not in -Os builds). Otherwise exact int64
 * accumulation: groups of 4 output rows through the mq_dot4_s16_s8 microkernel (DSP variant on Cortex-M4/M7/M33),
 * the last n mod 4 rows one by one. Output stage: mq_requantize64
 * (TFLite Micro / CMSIS-NN) or, with p->exact_scale, mq_requantize_exact (LiteRT's reference FULLY_CONNECTED).
 * mq_fully_connected_s16_unchecked (mq_kernels_unchecked.h): the same without the checks, for the interpreter.
 */
#include <string.h>

#include "mq_kernels_unchecked.h"
#include "mq_s16_dot4.h"
#include "mq_s16_gemm.h"

typedef struct {
    const int16_t *x;
    int32_t k;
} mq_fc_s16_rows;

static void mq_fc_s16_fill(const void *ctx, mq_s16_xbuf *xb, int32_t slot, int32_t row, int32_t kofs, int32_t len)
{
    const mq_fc_s16_rows *f = (const mq_fc_s16_rows *)ctx;
    mq_s16_xb_put(xb, slot, 0, f->x + (size_t)row * (size_t)f->k + (size_t)kofs, len);
}

#if defined(__GNUC__)
#define MQ_FC16_NOINLINE __attribute__((noinline))
#else
#define MQ_FC16_NOINLINE
#endif

/* The exact output stage of channel c (mq_s16_out_stage: mq_requantize64 or mq_requantize_exact, then the clamp):
 * one out-of-line copy shared by every path of this file. */
static MQ_FC16_NOINLINE int16_t mq_fc_s16_out1(const mq_s16_outstage *os, int32_t c, int64_t a)
{
    return mq_s16_out_stage(os, c, a);
}

#if defined(MQ_S16_GEMM4_DSP) && !defined(__OPTIMIZE_SIZE__)
/* Size-optimised builds (-Os) run the portable batch-1 loop below instead.
 * Input elements permuted per pass (1.5 KiB of stack); channels per chunk when k needs several passes. */
#define MQ_FC16_XP 768
#define MQ_FC16_CH 32
/* int32 block: at most 126 steps of 4 products, |x w| <= 2^15 * 2^7 = 2^22 each: |sum| <= 504 * 2^22 < 2^31 - 1,
 * so an int32 block sum (SMLAD from 0) is exact and never wraps; blocks are added into int64 totals. */
#define MQ_FC16_BLK_STEPS 126

/* The fast output stage applies: shift in [-17, -1] and the total a within int32. */
static inline __attribute__((always_inline)) int mq_fc16_fast(int32_t sh, int64_t a)
{
    const uint64_t u = (uint64_t)a;
    const uint32_t lo = (uint32_t)(u & 0xFFFFFFFFu), hi = (uint32_t)(u >> 32);
    /* a fits int32 when its high word is the sign extension of its low word */
    return (uint32_t)(sh + 17) <= 16u && hi == (uint32_t)((int32_t)lo >> 31);
}

/* Per-channel output stage of the totals t .. te - 1 (at least one) into y, the multipliers / shifts from mult /
 * shift (one per total): for shift in [-17, -1] (total shift 15 - shift in [16, 32]) and a total within int32,
 * SMMULR(a, m16 << (17 + shift)) = floor((a m16 + 2^(14 - shift)) / 2^(15 - shift)) = mq_requantize64
 * (mq_s16_gemm.h), m16 = min((m + 2^15) >> 16, 0x7FFF) as in mq_rq64_of, then SSAT to int16 (exact: the clamp
 * range lies within int16) and, unless full, the clamp to [lo, hi]. A total the fast form cannot take is left
 * unwritten and the result is 1 (mq_fc16_out redoes those). 17 instructions per output (full range). */
static MQ_FC16_NOINLINE int mq_fc16_out_pc(const int32_t *mult, const int32_t *shift, int32_t lo, int32_t hi,
                                           int32_t full, const int64_t *t, const int64_t *te, int16_t *y)
{
    uint32_t slow = 0u, alo, ahi, sh, m;
    __asm__ volatile("1:\n\t"
                     "ldrd   %[alo], %[ahi], [%[t]], #8\n\t"
                     "ldr    %[sh], [%[shift]], #4\n\t"
                     "ldr    %[m], [%[mult]], #4\n\t"
                     "adds   %[sh], %[sh], #17\n\t"       /* C: shift in [-17, -1] */
                     "it     cs\n\t"
                     "cmpcs  %[ahi], %[alo], asr #31\n\t" /* Z: the total fits int32 (C = 0 leaves Z = 0) */
                     "bne    2f\n\t"
                     "add    %[m], %[m], #32768\n\t"
                     "lsr    %[m], %[m], #16\n\t"
                     "usat   %[m], #15, %[m]\n\t"
                     "lsl    %[m], %[m], %[sh]\n\t"
                     "smmulr %[alo], %[alo], %[m]\n\t"
                     "ssat   %[alo], #16, %[alo]\n\t"
                     "cbnz   %[full], 3f\n\t"
                     "cmp    %[alo], %[lo]\n\t"
                     "it     lt\n\t"
                     "movlt  %[alo], %[lo]\n\t"
                     "cmp    %[alo], %[hi]\n\t"
                     "it     gt\n\t"
                     "movgt  %[alo], %[hi]\n\t"
                     "3:\n\t"
                     "strh   %[alo], [%[y]], #2\n\t"
                     "cmp    %[t], %[te]\n\t"
                     "bne    1b\n\t"
                     "b      4f\n\t"
                     "2:\n\t"
                     "mov    %[slow], #1\n\t"
                     "add    %[y], %[y], #2\n\t"
                     "cmp    %[t], %[te]\n\t"
                     "bne    1b\n\t"
                     "4:\n\t"
                     : [t] "+r"(t), [shift] "+r"(shift), [mult] "+r"(mult), [y] "+r"(y), [slow] "+r"(slow),
                       [alo] "=&r"(alo), [ahi] "=&r"(ahi), [sh] "=&r"(sh), [m] "=&r"(m)
                     : [te] "r"(te), [lo] "r"(lo), [hi] "r"(hi), [full] "l"(full)
                     : "cc", "memory");
    return slow != 0u;
}

/* The output stage of channels c0 .. c0 + cnt - 1 (cnt >= 1) for their exact totals t[0 .. cnt): the fast form
 * (mq_fc16_out_pc per channel; per tensor the same form with its constant computed once) where it applies, then
 * the remaining channels (rare) through mq_fc_s16_out1 (exact int64). */
static void mq_fc16_out(const mq_s16_outstage *os, int32_t c0, int32_t cnt, const int64_t *t, int16_t *y)
{
    const int32_t lo = os->lo, hi = os->hi;
    int32_t j, slow;
    if (os->qmask != 0) {
        slow = mq_fc16_out_pc(os->mult + c0, os->shift + c0, lo, hi, lo == -32768 && hi == 32767, t, t + cnt,
                              y + c0);
    } else {
        const int32_t sh = os->shift[0];
        slow = 1;
        if ((uint32_t)(sh + 17) <= 16u) {
            const mq_rq64 q = mq_rq64_of(os->mult[0], sh);
            const int32_t mp = (int32_t)((uint32_t)q.m16 << (17 + sh));
            slow = 0;
            for (j = 0; j < cnt; ++j) {
                if (mq_fc16_fast(sh, t[j])) {
                    const int32_t v = mq_s16_smmulr((int32_t)(uint32_t)((uint64_t)t[j] & 0xFFFFFFFFu), mp);
                    y[c0 + j] = (int16_t)(v < lo ? lo : (v > hi ? hi : v));
                } else {
                    slow = 1;
                }
            }
        }
    }
    if (slow) {
        for (j = 0; j < cnt; ++j) {
            if (!mq_fc16_fast(os->shift[(c0 + j) & os->qmask], t[j])) {
                y[c0 + j] = mq_fc_s16_out1(os, c0 + j, t[j]);
            }
        }
    }
}

/* State of mq_fc16_groups' outer loop, kept in memory (the inner loop takes 13 registers). */
typedef struct {
    const uint32_t *xp; /* permuted input */
    int32_t steps;      /* k >> 2, >= 1 */
    int32_t *s;         /* next 4 sums */
    int32_t adv;        /* 4 k - 4 steps: row 0 pointer after a group -> row 0 of the next group */
    int32_t groups;     /* groups left, >= 1 */
} mq_fc16_gctx;

/* One step of mq_fc16_groups: the next input pair (LDRD), then rows 1, 0, 3, 2 (rows 1 and 3 at [row 0 / row 2 + k]):
 * LDR + SXTB16 x2 + SMLAD x2 each. */
#define MQ_FC16_STEP                                  \
    "ldrd   %[xa], %[xb], [%[xq]], #8\n\t"            \
    "ldr    %[v], [%[wa], %[k]]\n\t"                  \
    "sxtb16 %[t], %[v]\n\t"                           \
    "sxtb16 %[v], %[v], ror #8\n\t"                   \
    "smlad  %[s1], %[xa], %[t], %[s1]\n\t"            \
    "smlad  %[s1], %[xb], %[v], %[s1]\n\t"            \
    "ldr    %[v], [%[wa]], #4\n\t"                    \
    "sxtb16 %[t], %[v]\n\t"                           \
    "sxtb16 %[v], %[v], ror #8\n\t"                   \
    "smlad  %[s0], %[xa], %[t], %[s0]\n\t"            \
    "smlad  %[s0], %[xb], %[v], %[s0]\n\t"            \
    "ldr    %[v], [%[wb], %[k]]\n\t"                  \
    "sxtb16 %[t], %[v]\n\t"                           \
    "sxtb16 %[v], %[v], ror #8\n\t"                   \
    "smlad  %[s3], %[xa], %[t], %[s3]\n\t"            \
    "smlad  %[s3], %[xb], %[v], %[s3]\n\t"            \
    "ldr    %[v], [%[wb]], #4\n\t"                    \
    "sxtb16 %[t], %[v]\n\t"                           \
    "sxtb16 %[v], %[v], ror #8\n\t"                   \
    "smlad  %[s2], %[xa], %[t], %[s2]\n\t"            \
    "smlad  %[s2], %[xb], %[v], %[s2]\n\t"

/* For g->groups groups of 4 weight rows (row r of a group at w + r k, groups 4 k apart): s[4 j + r] = sum over
 * i < 4 steps of x[i] w_r[i] (int32, exact for steps <= MQ_FC16_BLK_STEPS), x permuted as (x0,x2),(x1,x3) words at
 * xp. Per step LDRD of the input pair, then per row LDR + SXTB16 x2 + SMLAD x2 (rows 1 and 3 addressed as
 * [row 0 / row 2 + k]): 21 instructions per 16 MACs (unrolled twice), about 20 more per group. */
static MQ_FC16_NOINLINE void mq_fc16_groups(mq_fc16_gctx *g, const int8_t *w, int32_t k)
{
    const int8_t *wa = w, *wb;
    const uint32_t *xq;
    int32_t s0, s1, s2, s3, nn;
    uint32_t xa, xb, v, t;
    __asm__ volatile("0:\n\t"
                     "ldr    %[xq], [%[g], #0]\n\t"
                     "ldr    %[nn], [%[g], #4]\n\t"
                     "movs   %[s0], #0\n\t"
                     "movs   %[s1], #0\n\t"
                     "movs   %[s2], #0\n\t"
                     "movs   %[s3], #0\n\t"
                     "add    %[wb], %[wa], %[k], lsl #1\n\t"
                     /* LSRS: C = the odd step, Z = no pair left (the step leaves the flags alone) */
                     "lsrs   %[nn], %[nn], #1\n\t"
                     "bcc    2f\n\t"
                     MQ_FC16_STEP
                     "2:\n\t"
                     "beq    3f\n\t"
                     "1:\n\t"
                     MQ_FC16_STEP
                     MQ_FC16_STEP
                     "subs   %[nn], %[nn], #1\n\t"
                     "bne    1b\n\t"
                     "3:\n\t"
                     "ldr    %[t], [%[g], #8]\n\t"
                     "strd   %[s0], %[s1], [%[t]], #8\n\t"
                     "strd   %[s2], %[s3], [%[t]], #8\n\t"
                     "str    %[t], [%[g], #8]\n\t"
                     "ldr    %[t], [%[g], #12]\n\t"
                     "add    %[wa], %[wa], %[t]\n\t"
                     "ldr    %[t], [%[g], #16]\n\t"
                     "subs   %[t], %[t], #1\n\t"
                     "str    %[t], [%[g], #16]\n\t"
                     "bne    0b\n\t"
                     : [wa] "+r"(wa), [wb] "=&r"(wb), [xq] "=&r"(xq), [nn] "=&r"(nn), [s0] "=&r"(s0),
                       [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [xa] "=&r"(xa), [xb] "=&r"(xb),
                       [v] "=&r"(v), [t] "=&r"(t)
                     : [g] "r"(g), [k] "r"(k)
                     : "cc", "memory");
}

/* One int32 block of the chunk's cnt channels: s[c] = sum_{i < len} xs[i] w[c k + i] for len <= 4
 * MQ_FC16_BLK_STEPS (|sum| <= 504 2^22 < 2^31: exact), xq the block's permuted input (len >> 2 words pairs);
 * then t[c] += s[c], or on the first block t[c] = bias[c] (0 without bias) + s[c]. */
static void mq_fc16_block(const uint32_t *xq, const int16_t *xs, const int8_t *w, int32_t k, int32_t len,
                          int32_t cnt, const int64_t *bias, int first, int32_t *s, int64_t *t)
{
    const int32_t steps = len >> 2, g4 = cnt & ~3;
    int32_t c, i;
    if (steps > 0 && g4 > 0) {
        mq_fc16_gctx g;
        g.xp = xq;
        g.steps = steps;
        g.s = s;
        g.adv = 4 * k - 4 * steps;
        g.groups = g4 >> 2;
        mq_fc16_groups(&g, w, k);
    } else {
        for (c = 0; c < g4; ++c) {
            s[c] = 0;
        }
    }
    if (4 * steps < len) {
        /* the len mod 4 tail */
        for (c = 0; c < g4; ++c) {
            const int8_t *wr = w + (size_t)c * (size_t)k;
            int32_t a = s[c];
            for (i = 4 * steps; i < len; ++i) {
                a += (int32_t)xs[i] * (int32_t)wr[i];
            }
            s[c] = a;
        }
    }
    for (c = g4; c < cnt; ++c) {
        /* the cnt mod 4 channels; |sum| < 2^31 as above */
        s[c] = (int32_t)mq_dot_s16_s8(xs, w + (size_t)c * (size_t)k, len);
    }
    if (!first) {
        for (c = 0; c < cnt; ++c) {
            t[c] += s[c];
        }
    } else if (bias != NULL) {
        for (c = 0; c < cnt; ++c) {
            t[c] = bias[c] + s[c];
        }
    } else {
        for (c = 0; c < cnt; ++c) {
            t[c] = s[c];
        }
    }
}

/*
 * Batch-1 FC on the DSP cores without exact_scale. The input is permuted ONCE per call (k <= MQ_FC16_XP; larger k:
 * in passes of MQ_FC16_XP elements, each pass once per chunk of MQ_FC16_CH channels) into the words (x0, x2),
 * (x1, x3) of every 4 elements, so that per 4 k one LDRD feeds 4 weight rows x (LDR + SXTB16 x 2 + SMLAD x 2).
 * Per chunk of MQ_FC16_CH channels: the k range in int32 blocks of at most 4 MQ_FC16_BLK_STEPS elements
 * (mq_fc16_block: one for k <= 504, the common case), added into int64 totals from the bias; then the chunk's
 * output stage (mq_fc16_out). One copy of each loop (no per-layer-kind specialisation). Stack: 1.5 KiB input +
 * 384 B of sums and totals.
 */
static void mq_fc16_b1_dsp(const mq_fc_s16_params *p, const int16_t *x, int16_t *y)
{
    uint32_t xp[MQ_FC16_XP / 2];
    int64_t acc[MQ_FC16_CH];
    int32_t s32[MQ_FC16_CH];
    const mq_s16_outstage os = mq_s16_outstage_of(p);
    const int32_t n = p->n, k = p->k;
    int32_t c0, p0, b0, i;
    for (c0 = 0; c0 < n; c0 += MQ_FC16_CH) {
        const int32_t cnt = n - c0 < MQ_FC16_CH ? n - c0 : MQ_FC16_CH;
        const int8_t *wc = p->weights + (size_t)c0 * (size_t)k;
        for (p0 = 0; p0 < k; p0 += MQ_FC16_XP) {
            const int32_t len = k - p0 < MQ_FC16_XP ? k - p0 : MQ_FC16_XP;
            const int16_t *xs = x + p0;
            if (c0 == 0 || k > MQ_FC16_XP) {
                for (i = 0; i < (len >> 2); ++i) {
                    uint32_t a, b;
                    memcpy(&a, xs + 4 * i, 4);
                    memcpy(&b, xs + 4 * i + 2, 4);
                    xp[2 * i] = (a & 0xFFFFu) | (b << 16);
                    xp[2 * i + 1] = (a >> 16) | (b & 0xFFFF0000u);
                }
            }
            for (b0 = 0; b0 < len; b0 += 4 * MQ_FC16_BLK_STEPS) {
                /* b0 and p0 are multiples of 4: the block's permuted input starts at word b0 / 2 */
                const int32_t blen = len - b0 < 4 * MQ_FC16_BLK_STEPS ? len - b0 : 4 * MQ_FC16_BLK_STEPS;
                mq_fc16_block(xp + b0 / 2, xs + b0, wc + p0 + b0, k, blen, cnt,
                              p->bias != NULL ? p->bias + c0 : NULL, p0 == 0 && b0 == 0, s32, acc);
            }
        }
        mq_fc16_out(&os, c0, cnt, acc, y);
    }
}
#endif

void mq_fully_connected_s16_unchecked(const mq_fc_s16_params *p, int32_t batch, const int16_t *input, int16_t *output)
{
    int32_t b, c;
    if (batch >= 2 && mq_s16_gemm4_ok(p)) {
        mq_fc_s16_rows f;
        f.x = input;
        f.k = p->k;
        mq_s16_gemm4(p, batch, mq_fc_s16_fill, &f, output);
        return;
    }
#if defined(MQ_S16_GEMM4_DSP) && !defined(__OPTIMIZE_SIZE__)
    if (p->exact_scale == NULL) {
        for (b = 0; b < batch; ++b) {
            mq_fc16_b1_dsp(p, input + (size_t)b * (size_t)p->k, output + (size_t)b * (size_t)p->n);
        }
        return;
    }
#endif
    {
        const mq_s16_outstage os = mq_s16_outstage_of(p);
        const int64_t *bias = p->bias;
        const int8_t *weights = p->weights;
        const int32_t n = p->n, k = p->k;
        for (b = 0; b < batch; ++b) {
            const int16_t *x = input + (size_t)b * (size_t)k;
            int16_t *y = output + (size_t)b * (size_t)n;
            for (c = 0; c + 4 <= n; c += 4) {
                int64_t acc[4];
                if (bias != NULL) {
                    acc[0] = bias[c];
                    acc[1] = bias[c + 1];
                    acc[2] = bias[c + 2];
                    acc[3] = bias[c + 3];
                } else {
                    acc[0] = acc[1] = acc[2] = acc[3] = 0;
                }
                mq_dot4_s16_s8(x, weights + (size_t)c * (size_t)k, (size_t)k, k, acc);
                y[c] = mq_fc_s16_out1(&os, c, acc[0]);
                y[c + 1] = mq_fc_s16_out1(&os, c + 1, acc[1]);
                y[c + 2] = mq_fc_s16_out1(&os, c + 2, acc[2]);
                y[c + 3] = mq_fc_s16_out1(&os, c + 3, acc[3]);
            }
            for (; c < n; ++c) {
                int64_t acc = mq_dot_s16_s8(x, weights + (size_t)c * (size_t)k, k);
                if (bias != NULL) {
                    acc += bias[c];
                }
                y[c] = mq_fc_s16_out1(&os, c, acc);
            }
        }
    }
}

mq_status mq_fully_connected_s16(const mq_fc_s16_params *p, int32_t batch, const int16_t *input, int16_t *output)
{
    mq_status st = mq_fc_s16_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (batch < 1 || (int64_t)batch * p->k > MQ_S16_MAX_ELEMS || (int64_t)batch * p->n > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    if (mq_ranges_overlap(input, (size_t)batch * (size_t)p->k * 2u, output, (size_t)batch * (size_t)p->n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    mq_fully_connected_s16_unchecked(p, batch, input, output);
    return MQ_OK;
}
