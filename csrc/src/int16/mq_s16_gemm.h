/*
 * MicroQuant internal: the 4-row 16x8 GEMM path shared by mq_fully_connected_s16 (batch >= 2) and mq_conv_s16
 * (1x1 and KxK): up to 4 input rows (FC batch rows, or the im2col rows of 4 output pixels) are copied into a stack
 * buffer once, in the layout the core's microkernel reads best, and then run against every output channel:
 *
 *   y[r][c] = clamp(requant64(bias[c] + sum_{i<k} x[r][i] w[c][i]))       r < rows <= 4, w row-major [n][k]
 *
 * Only when k <= MQ_S16_XB_K (buffer) and k * 2^22 <= 2^31 - 1 - |bias[c]| (then the whole sum, bias included,
 * provably fits int32: |x w| <= 2^15 * 2^7) does a channel run in int32 ("fast" channels); any other channel
 * (bias too large, shift >= 0, exact_scale) is computed exactly in int64 from the same buffer by
 * mq_s16_gemm4_slow. Output stage of a fast channel, bit-identical to mq_requantize64 for an int32 accumulator
 * (m16 = multiplier rounded to 16 bits, t = 15 - shift in [16, 46]):
 *   t <= 32:  r = SMMULR(acc, m16 << (32 - t))              = floor((acc m16 2^(32-t) + 2^31) / 2^32)
 *   t >  32:  r = (SMMUL(acc, m16 << 16) + 2^(t-17)) >> (t - 16)   (floor of a floor: same value)
 * both equal floor((acc m16 + 2^(t-1)) / 2^t) and fit int32, so TFLite's clamp and wrap never act.
 *
 * Buffer layouts (compile-time, per core):
 *   MQ_S16_XB_PERM (DSP microkernel, Cortex-M4/M7/M33): k in blocks of 4; block b holds 16 int16: for each row r
 *     (x[r][4b], x[r][4b+2], x[r][4b+1], x[r][4b+3]), so that one LDRD gives the two SMLAD operands matching
 *     SXTB16(w) = (w0, w2) and SXTB16(w, ROR #8) = (w1, w3). Rows 0-1 of a block are 4 adjacent words
 *     (one LDM), as are rows 2-3. Positions k .. k rounded up to 4 are zero (mq_s16_gemm4's fill pads them: the
 *     microkernel reads the last block whole).
 *   MQ_S16_XB_CHUNK8 (MVE microkernel, Cortex-M55): k in chunks of 8; chunk j holds 32 int16: for each row r
 *     x[r][8j .. 8j+7] in natural order, so the 4 rows of a chunk are 4 adjacent vectors from one base register.
 *     The rows are zero-padded to a multiple of 8.
 *   else (portable C): row-major, row r at r * MQ_S16_XB_K, natural order.
 */
#ifndef MICROQUANT_MQ_S16_GEMM_H
#define MICROQUANT_MQ_S16_GEMM_H

#include "mq_s16_internal.h"

/* k capacity of the buffer: 4 rows x 256 int16 = 2 KiB of stack */
#define MQ_S16_XB_K 256

#if defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
#define MQ_S16_GEMM4_MVE 1
#define MQ_S16_XB_CHUNK8 1
#elif defined(__ARM_FEATURE_DSP) && defined(__OPTIMIZE__) && !defined(MQ_FORCE_PORTABLE)
#define MQ_S16_GEMM4_DSP 1
#define MQ_S16_XB_PERM 1
#endif

typedef union {
    int16_t h[4 * MQ_S16_XB_K];
    uint32_t align[2 * MQ_S16_XB_K];
} mq_s16_xbuf;

/* Index of x[r][i] in the buffer. */
static inline size_t mq_s16_xb_idx(int32_t r, int32_t i)
{
#if defined(MQ_S16_XB_PERM)
    /* i & 3 = 0, 1, 2, 3 -> position 0, 2, 1, 3 of the row's 4 slots */
    const uint32_t j = (uint32_t)i & 3u;
    return ((size_t)(i >> 2) << 4) + (size_t)r * 4u + (size_t)(j == 1u ? 2u : (j == 2u ? 1u : j));
#elif defined(MQ_S16_XB_CHUNK8)
    return ((size_t)(i >> 3) << 5) + (size_t)r * 8u + (size_t)(i & 7);
#else
    return (size_t)r * MQ_S16_XB_K + (size_t)i;
#endif
}

/* Per output channel constants of the fast output stage. fast = 0: the channel goes through the int64 path. */
typedef struct {
    int32_t bias;   /* accumulator start (bias[c], proven to keep the sum in int32) */
    int32_t mp;     /* t <= 32: m16 << (32 - t); else m16 << 16 */
    int16_t sh;     /* 0: SMMULR form; else t - 16 (SMMUL, + 2^(sh-1), >> sh) */
    uint8_t fast;   /* bias and shift admit the int32 path */
    uint8_t shok;   /* the shift alone admits the fast output stage (for an accumulator that fits int32) */
} mq_s16_chan;      /* 12 bytes */

static inline int32_t mq_s16_smmulr(int32_t a, int32_t b)
{
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(MQ_FORCE_PORTABLE)
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}

static inline int32_t mq_s16_smmul(int32_t a, int32_t b)
{
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(MQ_FORCE_PORTABLE)
    int32_t r;
    __asm__("smmul %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b) >> 32);
#endif
}

/* Constants of one channel with multiplier m, shift s, bias b (mq_s16_chan): fast when s <= -1 and |b| <= room
 * (room: what keeps bias + sum inside int32; negative: never fast), shok when s <= -1. */
static inline mq_s16_chan mq_s16_chan_make(int32_t m, int32_t s, int64_t b, int64_t room)
{
    mq_s16_chan ch;
    ch.bias = 0;
    ch.mp = 0;
    ch.sh = 0;
    ch.fast = 0u;
    ch.shok = 0u;
    if (s <= -1) {
        const uint32_t m16 = m < 0x7FFF0000 ? ((uint32_t)m + 32768u) >> 16 : 0x7FFFu;
        const int32_t t = 15 - s; /* [16, 46] */
        if (t <= 32) {
            ch.mp = (int32_t)(m16 << (32 - t));
        } else {
            ch.mp = (int32_t)(m16 << 16);
            ch.sh = (int16_t)(t - 16);
        }
        ch.shok = 1u;
        if (b >= -room && b <= room) {
            ch.bias = (int32_t)b;
            ch.fast = 1u;
        }
    }
    return ch;
}

/* The fast output stage (see the file comment) without the clamp. */
static inline int32_t mq_s16_chan_rq(const mq_s16_chan *ch, int32_t acc)
{
    if (ch->sh == 0) {
        return mq_s16_smmulr(acc, ch->mp);
    }
    return (mq_s16_smmul(acc, ch->mp) + (1 << (ch->sh - 1))) >> ch->sh;
}

/*
 * The microkernel contract: xb holds rows 0..3 (rows >= nrows hold any int16 values; their outputs are not
 * stored; DSP layout: every row 0 at positions k .. k rounded up to 4), k in [1, MQ_S16_XB_K], channel c's weights at w + c * w_stride.
 *   raw == NULL: for each channel c < cnt with ch[c].fast: y[r * y_stride + c] =
 *     clamp(mq_s16_chan_rq(ch[c], ch[c].bias + sum_{i<k} x[r][i] w[c][i]), lo, hi) for r < nrows; channels with
 *     fast == 0 are skipped (not written).
 *   raw != NULL (one part of a k > MQ_S16_XB_K sum): raw[4 c + r] += sum_{i<k} x[r][i] w[c][i] (an int32 sum,
 *     |sum| <= 2^30, added to the int64 total) for every c < cnt and r < 4, nothing else written.
 */
void mq_gemm_s16s8_4x1_c(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                         const mq_s16_chan *ch, int32_t cnt, int32_t lo, int32_t hi, int16_t *y, size_t y_stride,
                         int32_t nrows, int64_t *raw);
#if defined(MQ_S16_GEMM4_DSP)
void mq_gemm_s16s8_4x1_dsp(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                           const mq_s16_chan *ch, int32_t cnt, int32_t lo, int32_t hi, int16_t *y,
                           size_t y_stride, int32_t nrows, int64_t *raw);
#endif
#if defined(MQ_S16_GEMM4_MVE)
void mq_gemm_s16s8_4x1_mve(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                           const mq_s16_chan *ch, int32_t cnt, int32_t lo, int32_t hi, int16_t *y,
                           size_t y_stride, int32_t nrows, int64_t *raw);
#endif

/* Writes x[r][kofs .. kofs + len) = src[0 .. len) (src NULL: zeros) into the buffer. */
void mq_s16_xb_put(mq_s16_xbuf *xb, int32_t r, int32_t kofs, const int16_t *src, int32_t len);

/* Fills buffer row slot, positions [0, len), with elements [kofs, kofs + len) of input row `row`: for FC / 1x1
 * conv the input row, for KxK conv the im2col row of one output pixel. */
typedef void (*mq_s16_fill_fn)(const void *ctx, mq_s16_xbuf *xb, int32_t slot, int32_t row, int32_t kofs,
                               int32_t len);

/* True when g can take the 4-row path (any k; no exact_scale). */
static inline int mq_s16_gemm4_ok(const mq_fc_s16_params *g)
{
    return g->exact_scale == NULL;
}

/* y[row * n + c] for row < rows, every channel of g (mq_s16_gemm4_ok(g) must hold): rows in groups of 4, each
 * group filled by fill. k <= MQ_S16_XB_K: one pass (int32 from the bias where proven exact). Larger k: parts of
 * MQ_S16_XB_K (int32 part sums, |sum| <= 2^30) added in int64, then the fast output stage when the total fits
 * int32, else mq_requantize64. */
void mq_s16_gemm4(const mq_fc_s16_params *g, int32_t rows, mq_s16_fill_fn fill, const void *ctx, int16_t *y);

#endif /* MICROQUANT_MQ_S16_GEMM_H */
