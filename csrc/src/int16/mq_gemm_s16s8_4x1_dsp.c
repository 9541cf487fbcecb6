/*
 * mq_gemm_s16s8_4x1_dsp: 16x8 GEMM microkernel for the Armv7E-M / Armv8-M DSP extension (Cortex-M4, M7, M33),
 * 4 buffered input rows x 1 output channel at a time (contract, the permuted buffer layout and the output stage:
 * mq_s16_gemm.h). Bit-identical to mq_gemm_s16s8_4x1_c.
 *   MACs, per block of 4 k: one LDR of the channel's 4 weights, SXTB16 and SXTB16 ROR #8 into (w0,w2), (w1,w3)
 *   (expanded once, used by the 4 rows), then one LDM of rows 0-1's pre-permuted (x0,x2), (x1,x3) words, 4 SMLAD,
 *   one LDM of rows 2-3, 4 SMLAD: 13 instructions per 16 MACs, the loop unrolled twice (26 per 32 MACs + 2 loop
 *   instructions; was 17 per 16 with one LDRD per row). int32 accumulators start at the bias (mq_s16_gemm4 proves
 *   bias + sum fits int32, so SMLAD never wraps and its Q flag is irrelevant). The last k mod 4: one more block
 *   whose weight word is assembled from the 1-3 remaining bytes (never read past k) against the buffer's zero
 *   padding (mq_s16_gemm4_fill zeroes positions k .. k rounded up to 4), so no per-element C tail.
 *   Output stage: SMMULR (or SMMUL, add, ASR), clamp two at a time (SSAT, PKHBT, SSUB16/SEL), STRH.
 * The LDM register lists need fixed registers: the 4 input words live in r8-r11 (local register variables, the
 * documented way to pin asm operands).
 */
#include "mq_s16_gemm.h"

#if defined(MQ_S16_GEMM4_DSP)

/* One block of 4 k with the channel's weight word in v: expand, then rows 0-1 and rows 2-3 by LDM. */
#define MQ_S16_DSP_ROWS                                                                                         \
    "sxtb16 %[t], %[v]\n\t"                                                                                     \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                                             \
    "ldm    %[x]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"                                                            \
    "smlad  %[a0], %[x0], %[t], %[a0]\n\t"                                                                      \
    "smlad  %[a0], %[x1], %[v], %[a0]\n\t"                                                                      \
    "smlad  %[a1], %[x2], %[t], %[a1]\n\t"                                                                      \
    "smlad  %[a1], %[x3], %[v], %[a1]\n\t"                                                                      \
    "ldm    %[x]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"                                                            \
    "smlad  %[a2], %[x0], %[t], %[a2]\n\t"                                                                      \
    "smlad  %[a2], %[x1], %[v], %[a2]\n\t"                                                                      \
    "smlad  %[a3], %[x2], %[t], %[a3]\n\t"                                                                      \
    "smlad  %[a3], %[x3], %[v], %[a3]\n\t"
#define MQ_S16_DSP_BLOCK "ldr    %[v], [%[w]], #4\n\t" MQ_S16_DSP_ROWS

#define MQ_S16_DSP_OPERANDS                                                                                     \
    [x] "+r"(xp), [w] "+r"(wp), [n] "+r"(n), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),        \
        [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [v] "+&r"(v), [t] "=&r"(t)

/* a[r] += sum over the first 4 * blocks k of x[r][i] * w[i] (blocks >= 0), then, if tail != 0, the block at
 * 4 * blocks with weight word wt (its bytes past k are 0, as are the buffer's inputs there). */
static inline __attribute__((always_inline)) void mq_s16_dsp_mac(const uint32_t *xp, const int8_t *wp, int32_t n,
                                                                 int tail, uint32_t wt, int32_t *p0, int32_t *p1,
                                                                 int32_t *p2, int32_t *p3)
{
    int32_t a0 = *p0, a1 = *p1, a2 = *p2, a3 = *p3;
    register uint32_t x0 __asm__("r8");
    register uint32_t x1 __asm__("r9");
    register uint32_t x2 __asm__("r10");
    register uint32_t x3 __asm__("r11");
    uint32_t v = 0u, t;
    __asm__ volatile(
        /* LSRS: C = the odd block, Z = no pair left (LDR / SXTB16 / LDM / SMLAD leave the flags alone) */
        "lsrs   %[n], %[n], #1\n\t"
        "bcc    2f\n\t"
        MQ_S16_DSP_BLOCK
        "2:\n\t"
        "beq    3f\n\t"
        "1:\n\t"
        MQ_S16_DSP_BLOCK
        MQ_S16_DSP_BLOCK
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        "3:\n\t"
        : MQ_S16_DSP_OPERANDS
        :
        : "cc", "memory");
    if (tail) {
        v = wt;
        __asm__ volatile(MQ_S16_DSP_ROWS : MQ_S16_DSP_OPERANDS : : "cc", "memory");
    }
    *p0 = a0;
    *p1 = a1;
    *p2 = a2;
    *p3 = a3;
}

/* (clamp(v0), clamp(v1)) as two halfwords, branch-free: SSAT to int16 (lo, hi lie inside it, so this changes no
 * clamp result), PKHBT, then max with (lo, lo) and min with (hi, hi) by SSUB16 (GE flags from the exact
 * differences) and SEL. */
static inline __attribute__((always_inline)) uint32_t mq_s16_dsp_clamp2(int32_t v0, int32_t v1, uint32_t lo2,
                                                                        uint32_t hi2)
{
    uint32_t p, t;
    __asm__("ssat   %[a], #16, %[a]\n\t"
            "ssat   %[b], #16, %[b]\n\t"
            "pkhbt  %[p], %[a], %[b], lsl #16\n\t"
            "ssub16 %[t], %[p], %[lo]\n\t"
            "sel    %[p], %[p], %[lo]\n\t"
            "ssub16 %[t], %[p], %[hi]\n\t"
            "sel    %[p], %[hi], %[p]\n\t"
            : [p] "=&r"(p), [t] "=&r"(t), [a] "+r"(v0), [b] "+r"(v1)
            : [lo] "r"(lo2), [hi] "r"(hi2));
    return p;
}

static inline int16_t mq_s16_lo16(uint32_t p)
{
    const uint32_t h = p & 0xFFFFu;
    return (int16_t)(h < 0x8000u ? (int32_t)h : (int32_t)h - 65536);
}

static inline int16_t mq_s16_hi16(uint32_t p)
{
    return mq_s16_lo16(p >> 16);
}

/* The last 1..3 weights of a row (k4 = k rounded down to 4 < k) as the low bytes of a word, the rest 0. */
static inline uint32_t mq_s16_dsp_tailw(const int8_t *wc, int32_t k4, int32_t k)
{
    uint32_t wt = (uint8_t)wc[k4];
    if (k - k4 > 1) {
        wt |= (uint32_t)(uint8_t)wc[k4 + 1] << 8;
    }
    if (k - k4 > 2) {
        wt |= (uint32_t)(uint8_t)wc[k4 + 2] << 16;
    }
    return wt;
}

/* The common case: 4 rows, outputs stored through one pointer and 3 offsets; TAIL (a constant after inlining):
 * k mod 4 != 0. */
static inline __attribute__((always_inline)) void mq_s16_dsp_rows4(const mq_s16_xbuf *xb, int32_t k,
                                                                   const int8_t *w, size_t w_stride,
                                                                   const mq_s16_chan *ch, int32_t cnt, int32_t lo,
                                                                   int32_t hi, int16_t *y, size_t y_stride,
                                                                   const int tail)
{
    const int32_t blocks = k >> 2;
    const uint32_t lo2 = ((uint32_t)lo & 0xFFFFu) | ((uint32_t)lo << 16);
    const uint32_t hi2 = ((uint32_t)hi & 0xFFFFu) | ((uint32_t)hi << 16);
    int16_t *y1 = y + y_stride, *y2 = y + 2u * y_stride, *y3 = y + 3u * y_stride;
    const int8_t *wc = w;
    int32_t c;
    for (c = 0; c < cnt; ++c, wc += w_stride) {
        const mq_s16_chan *q = &ch[c];
        int32_t a0, a1, a2, a3;
        uint32_t p01, p23;
        if (!q->fast) {
            continue;
        }
        a0 = a1 = a2 = a3 = q->bias;
        mq_s16_dsp_mac(xb->align, wc, blocks, tail, tail ? mq_s16_dsp_tailw(wc, k & ~3, k) : 0u, &a0, &a1, &a2,
                       &a3);
        if (q->sh == 0) {
            p01 = mq_s16_dsp_clamp2(mq_s16_smmulr(a0, q->mp), mq_s16_smmulr(a1, q->mp), lo2, hi2);
            p23 = mq_s16_dsp_clamp2(mq_s16_smmulr(a2, q->mp), mq_s16_smmulr(a3, q->mp), lo2, hi2);
        } else {
            const int32_t rnd = 1 << (q->sh - 1);
            p01 = mq_s16_dsp_clamp2((mq_s16_smmul(a0, q->mp) + rnd) >> q->sh,
                                    (mq_s16_smmul(a1, q->mp) + rnd) >> q->sh, lo2, hi2);
            p23 = mq_s16_dsp_clamp2((mq_s16_smmul(a2, q->mp) + rnd) >> q->sh,
                                    (mq_s16_smmul(a3, q->mp) + rnd) >> q->sh, lo2, hi2);
        }
        y[c] = mq_s16_lo16(p01);
        y1[c] = mq_s16_hi16(p01);
        y2[c] = mq_s16_lo16(p23);
        y3[c] = mq_s16_hi16(p23);
    }
}

void mq_gemm_s16s8_4x1_dsp(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                           const mq_s16_chan *ch, int32_t cnt, int32_t lo, int32_t hi, int16_t *y,
                           size_t y_stride, int32_t nrows, int64_t *raw)
{
    const int32_t blocks = k >> 2;
    const int32_t k4 = k & ~3;
    const int tail = k4 < k;
    /* rows >= nrows are not stored (their pointers stay inside the output) */
    int16_t *y1 = nrows > 1 ? y + y_stride : y, *y2 = nrows > 2 ? y + 2u * y_stride : y;
    int32_t c;
    if (raw == NULL && nrows == 4) {
        if (tail) {
            mq_s16_dsp_rows4(xb, k, w, w_stride, ch, cnt, lo, hi, y, y_stride, 1);
        } else {
            mq_s16_dsp_rows4(xb, k, w, w_stride, ch, cnt, lo, hi, y, y_stride, 0);
        }
        return;
    }
    for (c = 0; c < cnt; ++c, ++y, ++y1, ++y2) {
        const int8_t *wc = w + (size_t)c * w_stride;
        const mq_s16_chan *q = &ch[c];
        int32_t a0, a1, a2, a3, v0, v1, v2;
        if (raw == NULL && !q->fast) {
            continue;
        }
        a0 = a1 = a2 = a3 = raw == NULL ? q->bias : 0;
        mq_s16_dsp_mac(xb->align, wc, blocks, tail, tail ? mq_s16_dsp_tailw(wc, k4, k) : 0u, &a0, &a1, &a2, &a3);
        if (raw != NULL) {
            raw[4 * c] += a0;
            raw[4 * c + 1] += a1;
            raw[4 * c + 2] += a2;
            raw[4 * c + 3] += a3;
            continue;
        }
        /* nrows < 4 */
        v0 = mq_s16_chan_rq(q, a0);
        v1 = mq_s16_chan_rq(q, a1);
        v2 = mq_s16_chan_rq(q, a2);
        *y = (int16_t)(v0 < lo ? lo : (v0 > hi ? hi : v0));
        if (nrows > 1) {
            *y1 = (int16_t)(v1 < lo ? lo : (v1 > hi ? hi : v1));
        }
        if (nrows > 2) {
            *y2 = (int16_t)(v2 < lo ? lo : (v2 > hi ? hi : v2));
        }
    }
}

#endif /* MQ_S16_GEMM4_DSP */
