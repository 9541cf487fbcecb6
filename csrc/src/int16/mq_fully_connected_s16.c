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

/* Output stage of channel c for the exact total a: for shift in [-17, -1] (t = 15 - shift in [16, 32]) and a
 * within int32, SMMULR(a, m16 << (32 - t)) = floor((a m16 + 2^(t-1)) / 2^t) = mq_requantize64 (mq_s16_gemm.h),
 * computed from the multiplier / shift arrays with no per-layer table; else mq_s16_out_stage (exact int64). */
static inline __attribute__((always_inline)) int16_t mq_fc16_out_q(const mq_s16_outstage *os, int32_t c, int64_t a,
                                                                    const int pc, const int full)
{
    const int32_t q = pc ? c & os->qmask : 0; /* pc = 0: per tensor known at compile time */
    const int32_t sh = os->shift[q];
    /* sh in [-17, -1] and a in [INT32_MIN, INT32_MAX], each with one unsigned compare */
    if ((uint32_t)(sh + 17) <= 16u && (uint64_t)a + 0x80000000u <= 0xFFFFFFFFu) {
        /* m16 = min((m + 2^15) >> 16, 0x7FFF): the same as mq_rq64_of's (m < 0x7FFF0000 ? ... : 0x7FFF) */
        uint32_t m16 = ((uint32_t)os->mult[q] + 32768u) >> 16;
        __asm__("usat %0, #15, %1" : "=r"(m16) : "r"(m16)); /* min(., 0x7FFF) of a value in [0, 0x8000] */
        const int32_t v = mq_s16_smmulr((int32_t)(uint32_t)((uint64_t)a & 0xFFFFFFFFu), (int32_t)(m16 << (17 + sh)));
        if (full) {
            /* lo = -32768, hi = 32767: the clamp is a saturation to int16 (SSAT) */
            int32_t r;
            __asm__("ssat %0, #16, %1" : "=r"(r) : "r"(v));
            return (int16_t)r;
        }
        return (int16_t)(v < os->lo ? os->lo : (v > os->hi ? os->hi : v));
    }
    return mq_s16_out_stage(os, c, a);
}

static inline __attribute__((always_inline)) int16_t mq_fc16_out(const mq_s16_outstage *os, int32_t c, int64_t a)
{
    return mq_fc16_out_q(os, c, a, 1, 0);
}

/* k <= 4 * MQ_FC16_BLK_STEPS, xp holding the permuted input: one int32 block per channel (the common case), no
 * int64 totals kept, the bias added at the output. PC: per-channel quantization, FULL: act range = int16 range
 * (constants after inlining: 4 specialised loops). */
static inline __attribute__((always_inline)) void mq_fc16_b1_one(const mq_fc_s16_params *p, const int16_t *x,
                                                                 const uint32_t *xp, int16_t *y, const int pc,
                                                                 const int full)
{
    const mq_s16_outstage os = mq_s16_outstage_of(p);
    const int64_t *bias = p->bias;
    const int32_t n = p->n, k = p->k, steps = k >> 2;
    int32_t c, i;
    for (c = 0; c + 4 <= n; c += 4) {
        const int8_t *w0 = p->weights + (size_t)c * (size_t)k;
        const int8_t *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        int32_t s[4] = {0, 0, 0, 0};
        if (steps > 0) {
            mq_fc16_dot4(xp, &w0, &w1, &w2, &w3, steps, s);
        }
        for (i = 4 * steps; i < k; ++i) {
            const int32_t xv = x[i];
            const int32_t j = i - 4 * steps;
            s[0] += xv * w0[j];
            s[1] += xv * w1[j];
            s[2] += xv * w2[j];
            s[3] += xv * w3[j];
        }
        if (bias != NULL) {
            y[c] = mq_fc16_out_q(&os, c, bias[c] + s[0], pc, full);
            y[c + 1] = mq_fc16_out_q(&os, c + 1, bias[c + 1] + s[1], pc, full);
            y[c + 2] = mq_fc16_out_q(&os, c + 2, bias[c + 2] + s[2], pc, full);
            y[c + 3] = mq_fc16_out_q(&os, c + 3, bias[c + 3] + s[3], pc, full);
        } else {
            y[c] = mq_fc16_out_q(&os, c, s[0], pc, full);
            y[c + 1] = mq_fc16_out_q(&os, c + 1, s[1], pc, full);
            y[c + 2] = mq_fc16_out_q(&os, c + 2, s[2], pc, full);
            y[c + 3] = mq_fc16_out_q(&os, c + 3, s[3], pc, full);
        }
    }
    for (; c < n; ++c) {
        const int64_t t = mq_dot_s16_s8(x, p->weights + (size_t)c * (size_t)k, k);
        y[c] = mq_fc16_out(&os, c, bias != NULL ? bias[c] + t : t);
    }
}

/*
 * Batch-1 FC on the DSP cores without exact_scale. The input is permuted ONCE per call (k <= MQ_FC16_XP; larger k:
 * in passes of MQ_FC16_XP elements, each pass once per chunk of MQ_FC16_CH channels) into the words (x0, x2),
 * (x1, x3) of every 4 elements, so that per 4 k one LDRD feeds 4 weight rows x (LDR + SXTB16 x 2 + SMLAD x 2).
 * Per group of 4 channels the int32 block sums (mq_fc16_dot4, exact: MQ_FC16_BLK_STEPS) are added to int64 totals
 * kept in registers (in a per-chunk table between passes only), the k mod 4 tail in C, then the output stage
 * straight from the multiplier / shift arrays (mq_fc16_out). n mod 4 channels: mq_dot_s16_s8.
 * Stack: 1.5 KiB input + 256 B of totals.
 */
static void mq_fc16_b1_dsp(const mq_fc_s16_params *p, const int16_t *x, int16_t *y)
{
    uint32_t xp[MQ_FC16_XP / 2];
    int64_t acc[MQ_FC16_CH];
    const mq_s16_outstage os = mq_s16_outstage_of(p);
    const int64_t *bias = p->bias;
    const int32_t n = p->n, k = p->k;
    const int32_t chunk = k <= MQ_FC16_XP ? n : MQ_FC16_CH;
    int32_t c0, p0, c, i;
    if (k <= 4 * MQ_FC16_BLK_STEPS) {
        const int32_t steps = k >> 2;
        for (i = 0; i < steps; ++i) {
            uint32_t a, b;
            memcpy(&a, x + 4 * i, 4);
            memcpy(&b, x + 4 * i + 2, 4);
            xp[2 * i] = (a & 0xFFFFu) | (b << 16);
            xp[2 * i + 1] = (a >> 16) | (b & 0xFFFF0000u);
        }
        if (p->act_min == -32768 && p->act_max == 32767) {
            if (p->per_channel) {
                mq_fc16_b1_one(p, x, xp, y, 1, 1);
            } else {
                mq_fc16_b1_one(p, x, xp, y, 0, 1);
            }
        } else if (p->per_channel) {
            mq_fc16_b1_one(p, x, xp, y, 1, 0);
        } else {
            mq_fc16_b1_one(p, x, xp, y, 0, 0);
        }
        return;
    }
    for (c0 = 0; c0 < n; c0 += chunk) {
        const int32_t cnt = n - c0 < chunk ? n - c0 : chunk;
        for (p0 = 0; p0 < k; p0 += MQ_FC16_XP) {
            const int32_t len = k - p0 < MQ_FC16_XP ? k - p0 : MQ_FC16_XP;
            const int32_t steps = len >> 2;
            const int first = p0 == 0, last = p0 + len == k;
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
                if (!last) {
                    acc[c] = t0;
                    acc[c + 1] = t1;
                    acc[c + 2] = t2;
                    acc[c + 3] = t3;
                } else {
                    y[cc] = mq_fc16_out(&os, cc, t0);
                    y[cc + 1] = mq_fc16_out(&os, cc + 1, t1);
                    y[cc + 2] = mq_fc16_out(&os, cc + 2, t2);
                    y[cc + 3] = mq_fc16_out(&os, cc + 3, t3);
                }
            }
            for (; c < cnt; ++c) {
                const int32_t cc = c0 + c;
                int64_t t = first ? (bias != NULL ? bias[cc] : 0) : acc[c];
                t += mq_dot_s16_s8(xs, p->weights + (size_t)cc * (size_t)k + (size_t)p0, len);
                if (!last) {
                    acc[c] = t;
                } else {
                    y[cc] = mq_fc16_out(&os, cc, t);
                }
            }
        }
    }
}
#endif

mq_status mq_fully_connected_s16(const mq_fc_s16_params *p, int32_t batch, const int16_t *input, int16_t *output)
{
    mq_status st = mq_fc_s16_check(p);
    int32_t b, c;
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
    if (batch >= 2 && mq_s16_gemm4_ok(p)) {
        mq_fc_s16_rows f;
        f.x = input;
        f.k = p->k;
        mq_s16_gemm4(p, batch, mq_fc_s16_fill, &f, output);
        return MQ_OK;
    }
#if defined(MQ_S16_GEMM4_DSP) && !defined(__OPTIMIZE_SIZE__)
    if (p->exact_scale == NULL) {
        for (b = 0; b < batch; ++b) {
            mq_fc16_b1_dsp(p, input + (size_t)b * (size_t)p->k, output + (size_t)b * (size_t)p->n);
        }
        return MQ_OK;
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
                y[c] = mq_s16_out_stage(&os, c, acc[0]);
                y[c + 1] = mq_s16_out_stage(&os, c + 1, acc[1]);
                y[c + 2] = mq_s16_out_stage(&os, c + 2, acc[2]);
                y[c + 3] = mq_s16_out_stage(&os, c + 3, acc[3]);
            }
            for (; c < n; ++c) {
                int64_t acc = mq_dot_s16_s8(x, weights + (size_t)c * (size_t)k, k);
                if (bias != NULL) {
                    acc += bias[c];
                }
                y[c] = mq_s16_out_stage(&os, c, acc);
            }
        }
    }
    return MQ_OK;
}
