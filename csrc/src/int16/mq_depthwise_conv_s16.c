/*
 * mq_depthwise_conv_s16: TFLite DEPTHWISE_CONV_2D 16x8 (DepthwiseConvPerChannel, int16 input, int8 filter,
 * int64 bias), NHWC. out_c = in_c * depth_multiplier; output channel o = c * depth_multiplier + m reads input
 * channel c; weights [kernel_h][kernel_w][out_c] int8:
 *   acc = bias[o] + sum over valid taps of x[b][iy][ix][c] * w[ky][kx][o];   out = clamp(requant64(acc, M[o], s[o]))
 * Fast path (depth multiplier 1, kernel_h * kernel_w <= 256: the tap sum, |x w| <= 2^22 per tap, provably fits
 * int32): channels in chunks of MQ_DW16_CH whose output-stage constants (mq_s16_chan, mq_s16_gemm.h) go into a
 * stack table once; per output pixel the valid tap rectangle is computed once (padded taps are skipped, zero point
 * 0) and each group of 4 channels sums its taps in int32: DSP (M4/M7/M33): per tap two LDR of the input (channels
 * (c0, c1), (c2, c3)), one LDR of the 4 int8 weights split by SXTB16 / SXTB16 ROR #8 into (w0, w2), (w1, w3), four
 * SMLAxy; portable: 4 MLA. Output stage: one SMMULR (or SMMUL + rounding shift) from bias + sum in int32 for
 * channels the int32 proof admits (|bias| <= 2^31 - 1 - taps * 2^22, shift <= -1), else mq_requantize64 on the
 * exact int64 bias + sum. DSP 3x3 kernels (optimised builds): the chunk's weights pre-widened once per chunk into
 * (w0, w2), (w1, w3) halfword pairs per tap (one LDRD a tap), interior pixels as one 9-tap asm block per group,
 * border pixels one asm block per row of valid taps; groups of 4 SMMULR-form channels end in SMMULR, SSAT #16,
 * PKHBT pairs, an SSUB16 / SEL clamp (only when [act_min, act_max] is not all of int16) and two word stores.
 * Chunks of 32 channels (was 16: halves the per-pixel window / call overhead). Stack: about 1.4 KB deepest (M4 -O2)
 * with the DSP 3x3 table (32-entry bias / multiplier table 256 B + widened weights 576 B), under 0.8 KB portable.
 */
#include <string.h>

#include "mq_s16_dsp.h"
#include "mq_s16_gemm.h"

#define MQ_DW16_CH 32

#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
static inline uint32_t mq_dw16_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
#endif

static inline int16_t mq_dw16_out(const mq_s16_chan *ch, int32_t sum, int64_t bias, int32_t m, int32_t s,
                                  int32_t lo, int32_t hi)
{
    const int32_t v = ch->fast ? mq_s16_chan_rq(ch, ch->bias + sum) : mq_requantize64_fast(bias + sum, m, s);
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* What the per-pixel function needs (set once per channel chunk). */
typedef struct {
    const mq_depthwise_s16_params *p;
    int64_t room;
    size_t xs_col, xs_row, ws_row;  /* element steps: input tap columns, input tap rows, weight rows */
    int32_t c0, cnt, lo, hi;
    uint32_t lo2, hi2;                      /* (lo, lo), (hi, hi) as halfword pairs */
    int32_t clamp;                          /* [lo, hi] is not all of int16 */
    int32_t bm[2 * MQ_DW16_CH];             /* groups of 4 fast channels in the SMMULR form (t <= 32): bias, mp */
    uint8_t g1[MQ_DW16_CH / 4];             /* group g is such a group */
    int32_t is3;                            /* 3x3 kernel: w3 holds the weights */
    int32_t ng1;                            /* the run of SMMULR-form groups from the chunk's first one */
#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
    int32_t w3[MQ_DW16_CH / 4][9][2];       /* 3x3 kernels: the chunk's weights widened, (w0, w2), (w1, w3) per tap */
#endif
} mq_dw16_ctx;

/* a[0..3] += sum over nky x nkx taps of 4 channels (x at xr, weights at wr; nkx >= 1). */
static inline void mq_dw16_taps4(const int16_t *xr, const int8_t *wr, int32_t nky, int32_t nkx, const mq_dw16_ctx *k,
                                 int32_t C, int32_t a[4])
{
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], ky;
    const size_t xs_row = k->xs_row, ws_row = k->ws_row;
#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
    const size_t xsb = k->xs_col * 2u;
#endif
    for (ky = 0; ky < nky; ++ky, xr += xs_row, wr += ws_row) {
#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
        /* rows of 3 taps: 11 instructions per tap of 4 channels in one asm block (12 registers: optimised builds only) */
        const int16_t *xq = xr;
        const int8_t *wq = wr;
        int32_t n = nkx;
        uint32_t x01, x23, wv, w02;
#define MQ_DW16_TAP                                    \
    "ldr    %[x01], [%[xq]]\n\t"                       \
    "ldr    %[x23], [%[xq], #4]\n\t"                   \
    "ldr    %[wv], [%[wq]]\n\t"                        \
    "add    %[xq], %[xq], %[xs]\n\t"                   \
    "add    %[wq], %[wq], %[ws]\n\t"                   \
    "sxtb16 %[w02], %[wv]\n\t"                         \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                  \
    "smlabb %[a0], %[x01], %[w02], %[a0]\n\t"          \
    "smlatb %[a1], %[x01], %[wv], %[a1]\n\t"           \
    "smlabt %[a2], %[x23], %[w02], %[a2]\n\t"          \
    "smlatt %[a3], %[x23], %[wv], %[a3]\n\t"
        if (n == 3) {
            __asm__(MQ_DW16_TAP MQ_DW16_TAP MQ_DW16_TAP
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xq] "+r"(xq),
                               [wq] "+r"(wq), [x01] "=&r"(x01), [x23] "=&r"(x23), [wv] "=&r"(wv), [w02] "=&r"(w02)
                             : [xs] "r"(xsb), [ws] "r"(C));
            continue;
        }
        for (; n > 0; --n, xq += k->xs_col, wq += C) {
            const uint32_t v01 = mq_dw16_ld32(xq), v23 = mq_dw16_ld32(xq + 2), wl = mq_dw16_ld32(wq);
            const uint32_t e02 = mq_sxtb16(wl), e13 = mq_sxtb16_r8(wl);
            a0 = mq_smlabb(a0, v01, e02);
            a1 = mq_smlatb(a1, v01, e13);
            a2 = mq_smlabt(a2, v23, e02);
            a3 = mq_smlatt(a3, v23, e13);
        }
#else
        const int16_t *xq = xr;
        const int8_t *wq = wr;
        int32_t kx;
        for (kx = 0; kx < nkx; ++kx, xq += k->xs_col, wq += C) {
            a0 += (int32_t)xq[0] * wq[0];
            a1 += (int32_t)xq[1] * wq[1];
            a2 += (int32_t)xq[2] * wq[2];
            a3 += (int32_t)xq[3] * wq[3];
        }
#endif
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
}

#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
/* Tap T of an interior 3x3 window for 4 channels: two LDR of the input (channels (c0, c1), (c2, c3)), one LDRD
 * of the chunk's pre-widened weights ((w0, w2), (w1, w3) halfword pairs), four SMLAxy: 8 instructions. */
#define MQ_DW16_TAPW(T)                                         \
    "ldr    %[x01], [%[xq]]\n\t"                                \
    "ldr    %[x23], [%[xq], #4]\n\t"                            \
    "ldrd   %[w02], %[w13], [%[wt], #" #T "*8]\n\t"             \
    "add    %[xq], %[xq], %[xs]\n\t"                            \
    "smlabb %[a0], %[x01], %[w02], %[a0]\n\t"                   \
    "smlatb %[a1], %[x01], %[w13], %[a1]\n\t"                   \
    "smlabt %[a2], %[x23], %[w02], %[a2]\n\t"                   \
    "smlatt %[a3], %[x23], %[w13], %[a3]\n\t"

/* Output stage of 4 SMMULR-form channels: SMMULR by bm[1], bm[3], bm[5], bm[7], SSAT #16, the channels as halfword
 * pairs (PKHBT), the [lo, hi] clamp on both lanes at once (SSUB16 + SEL against lo2 = (lo, lo), hi2 = (hi, hi);
 * only when clamp != 0, i.e. the range is not all of int16), two word stores (y: halfword aligned; unaligned STR is
 * fine on Armv7E-M / Armv8-M). Clamping the saturated value is the same as clamping the int32 value: lo, hi are
 * int16. */
static inline void mq_dw16_store4(int16_t *y, int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *bm,
                                  uint32_t lo2, uint32_t hi2, int32_t clamp)
{
    uint32_t p01, p23, t;
    __asm__("smmulr %[a0], %[a0], %[m0]\n\t"
            "smmulr %[a1], %[a1], %[m1]\n\t"
            "smmulr %[a2], %[a2], %[m2]\n\t"
            "smmulr %[a3], %[a3], %[m3]\n\t"
            "ssat   %[a0], #16, %[a0]\n\t"
            "ssat   %[a1], #16, %[a1]\n\t"
            "ssat   %[a2], #16, %[a2]\n\t"
            "ssat   %[a3], #16, %[a3]\n\t"
            "pkhbt  %[p01], %[a0], %[a1], lsl #16\n\t"
            "pkhbt  %[p23], %[a2], %[a3], lsl #16\n\t"
            : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [p01] "=&r"(p01), [p23] "=&r"(p23)
            : [m0] "r"(bm[1]), [m1] "r"(bm[3]), [m2] "r"(bm[5]), [m3] "r"(bm[7]));
    if (clamp) {
        __asm__("ssub16 %[t], %[p01], %[lo]\n\t"
                "sel    %[p01], %[p01], %[lo]\n\t"
                "ssub16 %[t], %[p01], %[hi]\n\t"
                "sel    %[p01], %[hi], %[p01]\n\t"
                "ssub16 %[t], %[p23], %[lo]\n\t"
                "sel    %[p23], %[p23], %[lo]\n\t"
                "ssub16 %[t], %[p23], %[hi]\n\t"
                "sel    %[p23], %[hi], %[p23]\n\t"
                : [p01] "+&r"(p01), [p23] "+&r"(p23), [t] "=&r"(t)
                : [lo] "r"(lo2), [hi] "r"(hi2)
                : "cc");
    }
    memcpy(y, &p01, 4);
    memcpy(y + 2, &p23, 4);
}

/* Interior 3x3 pixel, ng groups of 4 channels in the SMMULR form (bm: bias, mp pairs; wt: the groups' widened
 * weights, 9 taps x 2 words each): the 9 taps in one asm block (12 registers), the group loop in registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void mq_dw16_groups3x3(const int16_t *xp, int16_t *y, const int32_t *bm, const int32_t *wt, int32_t ng,
                              size_t xsb, size_t xr3, uint32_t lo2, uint32_t hi2, int32_t clamp)
{
    for (; ng > 0; --ng, xp += 4, y += 4, bm += 8, wt += 18) {
        int32_t a0 = bm[0], a1 = bm[2], a2 = bm[4], a3 = bm[6];
        uint32_t x01, x23, w02, w13;
        const int16_t *xq = xp;
        __asm__(MQ_DW16_TAPW(0) MQ_DW16_TAPW(1) MQ_DW16_TAPW(2) "add %[xq], %[xq], %[xr]\n\t"
                MQ_DW16_TAPW(3) MQ_DW16_TAPW(4) MQ_DW16_TAPW(5) "add %[xq], %[xq], %[xr]\n\t"
                MQ_DW16_TAPW(6) MQ_DW16_TAPW(7) MQ_DW16_TAPW(8)
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xq] "+r"(xq), [x01] "=&r"(x01),
                  [x23] "=&r"(x23), [w02] "=&r"(w02), [w13] "=&r"(w13)
                : [wt] "r"(wt), [xs] "r"(xsb), [xr] "r"(xr3)
                : "memory");
        mq_dw16_store4(y, a0, a1, a2, a3, bm, lo2, hi2, clamp);
    }
}

/* Border pixel of a 3x3 kernel (window clipped to nky x nkx taps from tap t0 = ky0 * 3 + kx0): the same groups,
 * one asm block per row of nkx (3, 2 or 1) taps (weights from the widened table, 8 instructions a tap). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void mq_dw16_groups3x3b(const int16_t *xp, int16_t *y, const int32_t *bm, const int32_t *wt, int32_t ng,
                               int32_t nky, int32_t nkx, size_t xsb, size_t xrb, uint32_t lo2, uint32_t hi2,
                               int32_t clamp)
{
    for (; ng > 0; --ng, xp += 4, y += 4, bm += 8, wt += 18) {
        int32_t a0 = bm[0], a1 = bm[2], a2 = bm[4], a3 = bm[6], ky;
        uint32_t x01, x23, w02, w13;
        const uint8_t *xr = (const uint8_t *)xp;
        const int32_t *wr = wt;
        for (ky = 0; ky < nky; ++ky, xr += xrb, wr += 6) {
            const int16_t *xq = (const int16_t *)(const void *)xr;
#define MQ_DW16_ROW(TAPS)                                                                                          \
    __asm__(TAPS                                                                                                   \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xq] "+r"(xq), [x01] "=&r"(x01),        \
              [x23] "=&r"(x23), [w02] "=&r"(w02), [w13] "=&r"(w13)                                                \
            : [wt] "r"(wr), [xs] "r"(xsb)                                                                          \
            : "memory")
            if (nkx == 3) {
                MQ_DW16_ROW(MQ_DW16_TAPW(0) MQ_DW16_TAPW(1) MQ_DW16_TAPW(2));
            } else if (nkx == 2) {
                MQ_DW16_ROW(MQ_DW16_TAPW(0) MQ_DW16_TAPW(1));
            } else {
                MQ_DW16_ROW(MQ_DW16_TAPW(0));
            }
#undef MQ_DW16_ROW
        }
        mq_dw16_store4(y, a0, a1, a2, a3, bm, lo2, hi2, clamp);
    }
}
#endif

/* Channel c of the chunk from its exact tap sum: the fast output stage when the int32 proof admits it, else
 * mq_requantize64 on bias + sum in int64. */
static int16_t mq_dw16_slow(const mq_dw16_ctx *k, int32_t c, int32_t sum)
{
    const mq_depthwise_s16_params *p = k->p;
    const int32_t o = k->c0 + c, q = p->per_channel ? o : 0;
    const int64_t bias = p->bias != NULL ? p->bias[o] : 0;
    const mq_s16_chan ch = mq_s16_chan_make(p->multiplier[q], p->shift[q], bias, k->room);
    return mq_dw16_out(&ch, sum, bias, p->multiplier[q], p->shift[q], k->lo, k->hi);
}

/* One output pixel, the chunk's channels: taps [ky0, ky0 + nky) x [kx0, kx0 + nkx) are inside (xp0, wp0: the first
 * one's input and weights at the chunk's first channel); nky = 0 or nkx = 0: none. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void mq_dw16_pixel(const mq_dw16_ctx *k, const int16_t *xp0, const int8_t *wp0, int32_t nky, int32_t nkx,
                          int16_t *y)
{
    const mq_depthwise_s16_params *p = k->p;
    const int32_t C = p->in_c, cnt = k->cnt, lo = k->lo, hi = k->hi;
    int32_t c;
    if (nky <= 0 || nkx <= 0) {
        nky = 0;
        nkx = 0;
    }
    c = 0;
#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
    if (k->is3 && nky > 0 && nkx > 0) {
        /* the run of SMMULR-form groups from the first one, through the register-only 3x3 loop */
        const int32_t ng = k->ng1;
        if (ng > 0) {
            if (nky == 3 && nkx == 3) {
                mq_dw16_groups3x3(xp0, y, k->bm, &k->w3[0][0][0], ng, k->xs_col * 2u,
                                  (k->xs_row - 3u * k->xs_col) * 2u, k->lo2, k->hi2, k->clamp);
            } else {
                /* the first valid tap's index ky0 * 3 + kx0, from its weight pointer */
                const int32_t t0 = (int32_t)((wp0 - (p->weights + k->c0)) / C);
                mq_dw16_groups3x3b(xp0, y, k->bm, &k->w3[0][0][0] + 2 * t0, ng, nky, nkx, k->xs_col * 2u,
                                   k->xs_row * 2u, k->lo2, k->hi2, k->clamp);
            }
            c = 4 * ng;
        }
    }
#endif
    for (; c + 4 <= cnt; c += 4) {
        int32_t a[4] = {0, 0, 0, 0};
        if (k->g1[c >> 2]) {
            /* the 4 channels take the SMMULR form: start from the bias, one SMMULR each */
            const int32_t *bm = &k->bm[2 * c];
            a[0] = bm[0];
            a[1] = bm[2];
            a[2] = bm[4];
            a[3] = bm[6];
            if (nkx > 0) {
                mq_dw16_taps4(xp0 + c, wp0 + c, nky, nkx, k, C, a);
            }
            {
                const int32_t v0 = mq_s16_smmulr(a[0], bm[1]), v1 = mq_s16_smmulr(a[1], bm[3]);
                const int32_t v2 = mq_s16_smmulr(a[2], bm[5]), v3 = mq_s16_smmulr(a[3], bm[7]);
                y[c] = (int16_t)(v0 < lo ? lo : (v0 > hi ? hi : v0));
                y[c + 1] = (int16_t)(v1 < lo ? lo : (v1 > hi ? hi : v1));
                y[c + 2] = (int16_t)(v2 < lo ? lo : (v2 > hi ? hi : v2));
                y[c + 3] = (int16_t)(v3 < lo ? lo : (v3 > hi ? hi : v3));
            }
            continue;
        }
        if (nkx > 0) {
            mq_dw16_taps4(xp0 + c, wp0 + c, nky, nkx, k, C, a);
        }
        {
            int32_t j;
            for (j = 0; j < 4; ++j) {
                y[c + j] = mq_dw16_slow(k, c + j, a[j]);
            }
        }
    }
    for (; c < cnt; ++c) {
        const int32_t o = k->c0 + c, q = p->per_channel ? o : 0;
        const int16_t *xr = xp0 + c;
        const int8_t *wr = wp0 + c;
        int32_t a = 0, ky, kx;
        for (ky = 0; ky < nky; ++ky, xr += k->xs_row, wr += k->ws_row) {
            for (kx = 0; kx < nkx; ++kx) {
                a += (int32_t)xr[(size_t)kx * k->xs_col] * wr[(size_t)kx * (size_t)C];
            }
        }
        (void)q;
        y[c] = mq_dw16_slow(k, c, a);
    }
}

/* depth multiplier 1, kernel_h * kernel_w <= 256 (inlined: one stack frame with the caller) */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void mq_dw16_fast(const mq_depthwise_s16_params *p, const int16_t *input, int16_t *output)
{
    const mq_window *w = &p->win;
    const int32_t C = p->in_c;
    const int64_t room = (int64_t)INT32_MAX - ((int64_t)w->kernel_h * w->kernel_w << 22);
    mq_dw16_ctx k;
    int32_t c0;
    k.p = p;
    k.room = room;
    k.is3 = w->kernel_h == 3 && w->kernel_w == 3;
    k.xs_col = (size_t)w->dilation_w * (size_t)C;
    k.xs_row = (size_t)w->dilation_h * (size_t)w->in_w * (size_t)C;
    k.ws_row = (size_t)w->kernel_w * (size_t)C;
    k.lo = p->act_min;
    k.hi = p->act_max;
    k.lo2 = ((uint32_t)p->act_min & 0xFFFFu) * 0x10001u;
    k.hi2 = ((uint32_t)p->act_max & 0xFFFFu) * 0x10001u;
    k.clamp = p->act_min > INT16_MIN || p->act_max < INT16_MAX;
    for (c0 = 0; c0 < C; c0 += MQ_DW16_CH) {
        int32_t c, b, oy, ox;
        k.c0 = c0;
        k.cnt = C - c0 < MQ_DW16_CH ? C - c0 : MQ_DW16_CH;
        for (c = 0; c + 4 <= k.cnt; c += 4) {
            int32_t j, ok = 1;
            for (j = c; j < c + 4; ++j) {
                const int32_t q = p->per_channel ? c0 + j : 0;
                const mq_s16_chan ch =
                    mq_s16_chan_make(p->multiplier[q], p->shift[q], p->bias != NULL ? p->bias[c0 + j] : 0, room);
                k.bm[2 * j] = ch.bias;
                k.bm[2 * j + 1] = ch.mp;
                ok &= ch.fast & (ch.sh == 0);
            }
            k.g1[c >> 2] = (uint8_t)ok;
#if defined(MQ_S16_DSP) && defined(__OPTIMIZE__)
            if (k.is3) {
                int32_t t;
                for (t = 0; t < 9; ++t) {
                    const int8_t *wv = p->weights + (size_t)t * (size_t)C + (size_t)(c0 + c);
                    k.w3[c >> 2][t][0] = (int32_t)(((uint32_t)(int32_t)wv[0] & 0xFFFFu) | ((uint32_t)(int32_t)wv[2] << 16));
                    k.w3[c >> 2][t][1] = (int32_t)(((uint32_t)(int32_t)wv[1] & 0xFFFFu) | ((uint32_t)(int32_t)wv[3] << 16));
                }
            }
#endif
        }
        k.ng1 = 0;
        while (4 * (k.ng1 + 1) <= k.cnt && k.g1[k.ng1]) {
            ++k.ng1;
        }
        for (b = 0; b < w->batch; ++b) {
            const int16_t *in_b = input + (size_t)b * (size_t)w->in_h * (size_t)w->in_w * (size_t)C;
            for (oy = 0; oy < w->out_h; ++oy) {
                const int32_t iy0 = oy * w->stride_h - w->pad_top;
                int32_t ky0 = 0, ky1 = w->kernel_h;
                int16_t *y = output + (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w) * (size_t)C +
                             (size_t)c0;
                while (ky0 < ky1 && iy0 + ky0 * w->dilation_h < 0) {
                    ++ky0;
                }
                while (ky1 > ky0 && iy0 + (ky1 - 1) * w->dilation_h >= w->in_h) {
                    --ky1;
                }
                for (ox = 0; ox < w->out_w; ++ox, y += C) {
                    const int32_t ix0 = ox * w->stride_w - w->pad_left;
                    int32_t kx0 = 0, kx1 = w->kernel_w;
                    while (kx0 < kx1 && ix0 + kx0 * w->dilation_w < 0) {
                        ++kx0;
                    }
                    while (kx1 > kx0 && ix0 + (kx1 - 1) * w->dilation_w >= w->in_w) {
                        --kx1;
                    }
                    if (ky1 > ky0 && kx1 > kx0) {
                        mq_dw16_pixel(&k,
                                      in_b + ((size_t)(iy0 + ky0 * w->dilation_h) * (size_t)w->in_w +
                                              (size_t)(ix0 + kx0 * w->dilation_w)) * (size_t)C + (size_t)c0,
                                      p->weights + ((size_t)ky0 * (size_t)w->kernel_w + (size_t)kx0) * (size_t)C +
                                          (size_t)c0,
                                      ky1 - ky0, kx1 - kx0, y);
                    } else {
                        mq_dw16_pixel(&k, in_b, p->weights, 0, 0, y);
                    }
                }
            }
        }
    }
}

mq_status mq_depthwise_s16_check(const mq_depthwise_s16_params *p)
{
    mq_status st;
    int64_t out_c;
    if (p == NULL || p->weights == NULL || p->multiplier == NULL || p->shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->in_c < 1 || p->depth_multiplier < 1 || p->in_c > (1 << 24) || p->depth_multiplier > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    out_c = (int64_t)p->in_c * p->depth_multiplier;
    if (out_c > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    st = mq_s16_window_check(&p->win, p->in_c, (int32_t)out_c);
    if (st != MQ_OK) {
        return st;
    }
    if ((int64_t)p->win.kernel_h * p->win.kernel_w * out_c > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    if (p->per_channel != 0 && p->per_channel != 1) {
        return MQ_ERR_QPARAMS;
    }
    if (!mq_s16_mults_ok(p->multiplier, p->shift, p->per_channel ? (int32_t)out_c : 1) ||
        !mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

mq_status mq_depthwise_conv_s16(const mq_depthwise_s16_params *p, const int16_t *input, int16_t *output)
{
    const mq_window *w;
    int32_t b, oy, ox, c, m, ky, kx, out_c;
    size_t in_bytes, out_bytes;
    mq_status st = mq_depthwise_s16_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    out_c = p->in_c * p->depth_multiplier;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c * 2u;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)out_c * 2u;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    if (p->depth_multiplier == 1 && (int64_t)w->kernel_h * w->kernel_w <= 256) {
        mq_dw16_fast(p, input, output);
        return MQ_OK;
    }
    for (b = 0; b < w->batch; ++b) {
        for (oy = 0; oy < w->out_h; ++oy) {
            const int32_t iy0 = oy * w->stride_h - w->pad_top;
            for (ox = 0; ox < w->out_w; ++ox) {
                const int32_t ix0 = ox * w->stride_w - w->pad_left;
                int16_t *y = output + (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w + (size_t)ox) *
                                          (size_t)out_c;
                for (c = 0; c < p->in_c; ++c) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t o = c * p->depth_multiplier + m;
                        const int32_t q = p->per_channel ? o : 0;
                        int64_t acc = p->bias != NULL ? p->bias[o] : 0;
                        for (ky = 0; ky < w->kernel_h; ++ky) {
                            const int32_t iy = iy0 + ky * w->dilation_h;
                            if (iy < 0 || iy >= w->in_h) {
                                continue;
                            }
                            for (kx = 0; kx < w->kernel_w; ++kx) {
                                const int32_t ix = ix0 + kx * w->dilation_w;
                                if (ix < 0 || ix >= w->in_w) {
                                    continue;
                                }
                                acc += (int32_t)input[(((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w +
                                                       (size_t)ix) * (size_t)p->in_c + (size_t)c] *
                                       (int32_t)p->weights[((size_t)ky * (size_t)w->kernel_w + (size_t)kx) *
                                                               (size_t)out_c + (size_t)o];
                            }
                        }
                        y[o] = mq_s16_out(acc, p->multiplier[q], p->shift[q], p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return MQ_OK;
}
