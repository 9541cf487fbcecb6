/*
 * mq_fully_connected_s16: TFLite FULLY_CONNECTED 16x8.
 *   input [batch, k] int16 (zero point 0), weights [n][k] int8 (zero point 0), bias int64 [n] or NULL,
 *   output [batch, n] int16: out[b][c] = clamp(requant64(bias[c] + sum_k x[b][k] w[c][k], M[c], s[c]))
 * (per tensor: M[0], s[0]). Batch >= 2 without exact_scale: the 4-row path mq_s16_gemm4
 * (4 batch rows buffered, int32 accumulation where provably exact). Batch 1 on the DSP cores without exact_scale:
 * mq_fc16_b1_dsp (input permuted once, int32 blocks of at most 504 products added in int64; not in -Os builds,
 * where it would add ~5.6 KB). Otherwise exact int64
 * accumulation: groups of 4 output rows through the mq_dot4_s16_s8 microkernel (DSP variant on Cortex-M4/M7/M33),
 * the last n mod 4 rows one by one. Output stage: mq_requantize64
 * (TFLite Micro / CMSIS-NN) or, with p->exact_scale, mq_requantize_exact (LiteRT's reference FULLY_CONNECTED).
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
/* Size-optimised builds (-Os) run the portable batch-1 loop below instead (5.6 KB less at -Os on M4).
 * Input elements permuted per pass (1.5 KiB of stack); channels per chunk when k needs several passes. */
#define MQ_FC16_XP 768
#define MQ_FC16_CH 32
/* int32 block: at most 126 steps of 4 products, |x w| <= 2^15 * 2^7 = 2^22 each: |sum| <= 504 * 2^22 < 2^31 - 1,
 * so an int32 block sum (SMLAD from 0) is exact and never wraps; blocks are added into int64 totals. */
#define MQ_FC16_BLK_STEPS 126

#define MQ_FC16_ROW(S, W)                                                                                       \
    "ldr    %[v], [%[" W "]], #4\n\t"                                                                           \
    "sxtb16 %[t], %[v]\n\t"                                                                                     \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                                             \
    "smlad  %[" S "], %[xa], %[t], %[" S "]\n\t"                                                                \
    "smlad  %[" S "], %[xb], %[v], %[" S "]\n\t"
#define MQ_FC16_STEP                                                                                            \
    "ldrd   %[xa], %[xb], [%[xq]], #8\n\t" MQ_FC16_ROW("s0", "w0") MQ_FC16_ROW("s1", "w1")                      \
        MQ_FC16_ROW("s2", "w2") MQ_FC16_ROW("s3", "w3")

/* s[r] = sum over 4 * steps k (steps in [0, MQ_FC16_BLK_STEPS]; 0: s = 0, nothing read) of x[i] * w_r[i], x permuted as (x0,x2),(x1,x3)
 * words at xq; the 4 weight pointers advance past the block. One step: LDRD of the input pair, then per row
 * LDR + SXTB16 x2 + SMLAD x2 (21 instructions per 16 MACs), unrolled twice. */
static inline __attribute__((always_inline)) void mq_fc16_dot4(const uint32_t *xq, const int8_t **pw0,
                                                               const int8_t **pw1, const int8_t **pw2,
                                                               const int8_t **pw3, int32_t steps, int32_t s[4])
{
    const int8_t *w0 = *pw0, *w1 = *pw1, *w2 = *pw2, *w3 = *pw3;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, nn = steps;
    uint32_t xa, xb, v, t;
    /* LSRS: C = the odd step, Z = no pair left (the step's LDR / SXTB16 / SMLAD leave the flags alone) */
    __asm__ volatile("lsrs   %[nn], %[nn], #1\n\t"
                     "bcc    2f\n\t" MQ_FC16_STEP
                     "2:\n\t"
                     "beq    3f\n\t"
                     "1:\n\t" MQ_FC16_STEP MQ_FC16_STEP
                     "subs   %[nn], %[nn], #1\n\t"
                     "bne    1b\n\t"
                     "3:\n\t"
                     : [xq] "+r"(xq), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [s0] "+r"(s0),
                       [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [nn] "+r"(nn), [xa] "=&r"(xa), [xb] "=&r"(xb),
                       [v] "=&r"(v), [t] "=&r"(t)
                     :
                     : "cc", "memory");
    *pw0 = w0;
    *pw1 = w1;
    *pw2 = w2;
    *pw3 = w3;
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
}

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

/* k <= 4 MQ_FC16_BLK_STEPS (one int32 block: |sum| <= (4 MQ_FC16_BLK_STEPS + 3) 2^22 < 2^31, tail included):
 * t[c] = bias[c] (0 without bias) + sum_i x[i] w[c][i] for c < cnt (a multiple of 4), xp the permuted input. */
static MQ_FC16_NOINLINE void mq_fc16_blk(const uint32_t *xp, const int16_t *x, const int8_t *w, int32_t k,
                                         int32_t cnt, const int64_t *bias, int64_t *t)
{
    const int32_t steps = k >> 2;
    int32_t c, i;
    for (c = 0; c < cnt; c += 4) {
        const int8_t *w0 = w + (size_t)c * (size_t)k;
        const int8_t *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        int32_t s[4];
        mq_fc16_dot4(xp, &w0, &w1, &w2, &w3, steps, s);
        for (i = 4 * steps; i < k; ++i) {
            const int32_t xv = x[i];
            const int32_t j = i - 4 * steps;
            s[0] += xv * w0[j];
            s[1] += xv * w1[j];
            s[2] += xv * w2[j];
            s[3] += xv * w3[j];
        }
        if (bias != NULL) {
            t[c] = bias[c] + s[0];
            t[c + 1] = bias[c + 1] + s[1];
            t[c + 2] = bias[c + 2] + s[2];
            t[c + 3] = bias[c + 3] + s[3];
        } else {
            t[c] = s[0];
            t[c + 1] = s[1];
            t[c + 2] = s[2];
            t[c + 3] = s[3];
        }
    }
}

/*
 * Batch-1 FC on the DSP cores without exact_scale. The input is permuted ONCE per call (k <= MQ_FC16_XP; larger k:
 * in passes of MQ_FC16_XP elements, each pass once per chunk of MQ_FC16_CH channels) into the words (x0, x2),
 * (x1, x3) of every 4 elements, so that per 4 k one LDRD feeds 4 weight rows x (LDR + SXTB16 x 2 + SMLAD x 2).
 * Per chunk of MQ_FC16_CH channels, int64 totals in a table: groups of 4 channels, with k <= 4 MQ_FC16_BLK_STEPS
 * (one int32 block, the common case) in mq_fc16_blk, else the int32 blocks added to int64 totals (from the bias or
 * the previous pass); n mod 4 channels: mq_dot_s16_s8. Then the chunk's output stage, mq_fc16_out_n. One copy of
 * each loop (no per-layer-kind specialisation). Stack: 1.5 KiB input + 256 B of totals.
 */
static void mq_fc16_b1_dsp(const mq_fc_s16_params *p, const int16_t *x, int16_t *y)
{
    uint32_t xp[MQ_FC16_XP / 2];
    int64_t acc[MQ_FC16_CH];
    const mq_s16_outstage os = mq_s16_outstage_of(p);
    const int64_t *bias = p->bias;
    const int32_t n = p->n, k = p->k;
    int32_t c0, p0, c, i;
    for (c0 = 0; c0 < n; c0 += MQ_FC16_CH) {
        const int32_t cnt = n - c0 < MQ_FC16_CH ? n - c0 : MQ_FC16_CH;
        for (p0 = 0; p0 < k; p0 += MQ_FC16_XP) {
            const int32_t len = k - p0 < MQ_FC16_XP ? k - p0 : MQ_FC16_XP;
            const int32_t steps = len >> 2;
            const int first = p0 == 0;
            const int16_t *xs = x + p0;
            if (c0 == 0 || k > MQ_FC16_XP) {
                for (i = 0; i < steps; ++i) {
                    uint32_t a, b;
                    memcpy(&a, xs + 4 * i, 4);
                    memcpy(&b, xs + 4 * i + 2, 4);
                    xp[2 * i] = (a & 0xFFFFu) | (b << 16);
                    xp[2 * i + 1] = (a >> 16) | (b & 0xFFFF0000u);
                }
            }
            if (k <= 4 * MQ_FC16_BLK_STEPS) {
                c = cnt & ~3;
                mq_fc16_blk(xp, x, p->weights + (size_t)c0 * (size_t)k, k, c, bias != NULL ? bias + c0 : NULL,
                            acc);
            } else {
                for (c = 0; c + 4 <= cnt; c += 4) {
                    const int32_t cc = c0 + c;
                    const int8_t *w0 = p->weights + (size_t)cc * (size_t)k + (size_t)p0;
                    const int8_t *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
                    const uint32_t *xq = xp;
                    int64_t t0, t1, t2, t3;
                    int32_t st = steps, s[4];
                    if (!first) {
                        t0 = acc[c];
                        t1 = acc[c + 1];
                        t2 = acc[c + 2];
                        t3 = acc[c + 3];
                    } else if (bias != NULL) {
                        t0 = bias[cc];
                        t1 = bias[cc + 1];
                        t2 = bias[cc + 2];
                        t3 = bias[cc + 3];
                    } else {
                        t0 = t1 = t2 = t3 = 0;
                    }
                    while (st > 0) {
                        const int32_t nb = st < MQ_FC16_BLK_STEPS ? st : MQ_FC16_BLK_STEPS;
                        mq_fc16_dot4(xq, &w0, &w1, &w2, &w3, nb, s);
                        xq += 2 * nb;
                        st -= nb;
                        t0 += s[0];
                        t1 += s[1];
                        t2 += s[2];
                        t3 += s[3];
                    }
                    for (i = 4 * steps; i < len; ++i) {
                        /* w0..w3 point at element 4 * steps of their rows */
                        const int32_t xv = xs[i];
                        const int32_t j = i - 4 * steps;
                        t0 += xv * w0[j];
                        t1 += xv * w1[j];
                        t2 += xv * w2[j];
                        t3 += xv * w3[j];
                    }
                    acc[c] = t0;
                    acc[c + 1] = t1;
                    acc[c + 2] = t2;
                    acc[c + 3] = t3;
                }
            }
            for (; c < cnt; ++c) {
                const int32_t cc = c0 + c;
                const int64_t t = first ? (bias != NULL ? bias[cc] : 0) : acc[c];
                acc[c] = t + mq_dot_s16_s8(xs, p->weights + (size_t)cc * (size_t)k + (size_t)p0, len);
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
