/*
 * mq_s16_gemm4: the 4-row 16x8 GEMM driver (contract and buffer layouts: mq_s16_gemm.h). Output channels in
 * chunks of MQ_S16_GEMM4_CH (their output-stage constants computed once into a stack table), rows in groups of
 * 4 (copied into the stack buffer by the caller's fill function), then the core's microkernel:
 * mq_gemm_s16s8_4x1_dsp (Cortex-M4/M7/M33), mq_gemm_s16s8_4x1_mve (Cortex-M55) or mq_gemm_s16s8_4x1_c. Channels
 * the int32 output stage cannot take (bias beyond the int32 bound, shift >= 0) are computed here exactly in int64.
 * k > MQ_S16_XB_K: the sum in parts (mq_s16_gemm4_parts: the microkernel adds each part's int32 sums into an
 * int64 table). Also mq_s16_xb_put, the buffer writer. Stack: 2 KiB buffer + 768 B channel table (64 x 12 B; 384 B with
 * k-parts), + 1 KiB of int64 sums for k > MQ_S16_XB_K (the two paths have separate frames).
 */
#include <string.h>

#include "mq_s16_gemm.h"

#if defined(MQ_S16_XB_CHUNK8)
#include <arm_mve.h>
#endif

/* channels per table: 64 in one pass (768 B; the rows are filled once per 64 channels), 32 with k-parts (their
 * int64 sums: 4 x 32 x 8 = 1 KiB) */
#define MQ_S16_GEMM4_CH 64
#define MQ_S16_GEMM4_PCH 32

/* The one-pass and the k-parts paths get separate stack frames (never both at once). */
#if defined(__GNUC__)
#define MQ_S16_NOINLINE __attribute__((noinline))
#else
#define MQ_S16_NOINLINE
#endif

void mq_s16_xb_put(mq_s16_xbuf *xb, int32_t r, int32_t kofs, const int16_t *src, int32_t len)
{
#if defined(MQ_S16_XB_PERM)
    int32_t i = 0;
    if ((kofs & 3) == 0) {
        /* whole blocks: two words (x0,x1), (x2,x3) -> (x0,x2), (x1,x3) */
        uint32_t *d = &xb->align[((size_t)(kofs >> 2) << 3) + (size_t)r * 2u];
        for (; i + 4 <= len; i += 4, d += 8) {
            if (src != NULL) {
                uint32_t a, b;
                memcpy(&a, src + i, 4);
                memcpy(&b, src + i + 2, 4);
                d[0] = (a & 0xFFFFu) | (b << 16);
                d[1] = (a >> 16) | (b & 0xFFFF0000u);
            } else {
                d[0] = 0u;
                d[1] = 0u;
            }
        }
    }
    if (i < len) {
        /* element by element, walking the blocks: position j of a row's 4 slots holds element (j&1)*2 + (j>>1) */
        int16_t *db = &xb->h[((size_t)((kofs + i) >> 2) << 4) + (size_t)r * 4u];
        uint32_t j = (uint32_t)(kofs + i) & 3u;
        for (; i < len; ++i) {
            db[((j & 1u) << 1) | (j >> 1)] = src != NULL ? src[i] : 0;
            if (++j == 4u) {
                j = 0u;
                db += 16;
            }
        }
    }
#elif defined(MQ_S16_XB_CHUNK8)
    /* one predicated VLDRH / VSTRH per piece of a chunk (inactive lanes are neither read nor written) */
    while (len > 0) {
        const int32_t seg = len < 8 - (kofs & 7) ? len : 8 - (kofs & 7);
        const mve_pred16_t pr = vctp16q((uint32_t)seg);
        int16_t *d = &xb->h[mq_s16_xb_idx(r, kofs)];
        if (src != NULL) {
            vstrhq_p_s16(d, vldrhq_z_s16(src, pr), pr);
            src += seg;
        } else {
            vstrhq_p_s16(d, vdupq_n_s16(0), pr);
        }
        kofs += seg;
        len -= seg;
    }
#else
    int16_t *d = &xb->h[mq_s16_xb_idx(r, kofs)];
    if (src != NULL) {
        memcpy(d, src, (size_t)len * 2u);
    } else {
        memset(d, 0, (size_t)len * 2u);
    }
#endif
}

/* Channel c's constants (mq_s16_chan); fast = 0 if the int32 path does not apply, shok = 0 if the fast output
 * stage does not (shift >= 0). */
static mq_s16_chan mq_s16_chan_of(const mq_fc_s16_params *g, int32_t c, int64_t room)
{
    const int32_t q = g->per_channel ? c : 0;
    return mq_s16_chan_make(g->multiplier[q], g->shift[q], g->bias != NULL ? g->bias[c] : 0, room);
}

static void mq_s16_gemm4_kernel(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                                const mq_s16_chan *ch, int32_t cnt, const mq_s16_outstage *os, int16_t *y,
                                size_t y_stride, int32_t nrows, int64_t *raw)
{
#if defined(MQ_S16_GEMM4_DSP)
    mq_gemm_s16s8_4x1_dsp(xb, k, w, w_stride, ch, cnt, os->lo, os->hi, y, y_stride, nrows, raw);
#elif defined(MQ_S16_GEMM4_MVE)
    mq_gemm_s16s8_4x1_mve(xb, k, w, w_stride, ch, cnt, os->lo, os->hi, y, y_stride, nrows, raw);
#else
    mq_gemm_s16s8_4x1_c(xb, k, w, w_stride, ch, cnt, os->lo, os->hi, y, y_stride, nrows, raw);
#endif
}

/* Fills the 4 buffer rows with elements [kofs, kofs + len) of rows r0 .. r0 + nrows - 1 (zeros for the others;
 * zero padding up to a multiple of 4 (DSP layout) or 8 (MVE layout)). */
static void mq_s16_gemm4_fill(mq_s16_xbuf *xb, mq_s16_fill_fn fill, const void *ctx, int32_t r0, int32_t nrows,
                              int32_t kofs, int32_t len)
{
    int32_t s;
#if defined(MQ_S16_XB_PERM)
    /* the DSP microkernel reads the block holding element len - 1 whole (4 rows: 8 words): zero it first, the
     * rows then overwrite their elements below len */
    if ((len & 3) != 0) {
        memset(&xb->align[(size_t)(len >> 2) << 3], 0, 32u);
    }
#endif
    for (s = 0; s < nrows; ++s) {
        fill(ctx, xb, s, r0 + s, kofs, len);
    }
    for (; s < 4; ++s) {
        mq_s16_xb_put(xb, s, 0, NULL, len);
    }
#if defined(MQ_S16_XB_CHUNK8)
    if ((len & 7) != 0) {
        for (s = 0; s < 4; ++s) {
            mq_s16_xb_put(xb, s, len, NULL, 8 - (len & 7));
        }
    }
#endif
}

/* k > MQ_S16_XB_K: parts of MQ_S16_XB_K, int32 part sums (raw mode of the microkernel) added in int64. */
static MQ_S16_NOINLINE void mq_s16_gemm4_parts(const mq_fc_s16_params *g, int32_t rows, mq_s16_fill_fn fill,
                                               const void *ctx, int16_t *y)
{
    mq_s16_xbuf xb;
    mq_s16_chan ch[MQ_S16_GEMM4_PCH];
    int64_t acc[4 * MQ_S16_GEMM4_PCH];
    const mq_s16_outstage os = mq_s16_outstage_of(g);
    const int32_t n = g->n, k = g->k;
    int32_t c0, r0, p0, c, s;
    for (c0 = 0; c0 < n; c0 += MQ_S16_GEMM4_PCH) {
        const int32_t cnt = n - c0 < MQ_S16_GEMM4_PCH ? n - c0 : MQ_S16_GEMM4_PCH;
        const int8_t *wc = g->weights + (size_t)c0 * (size_t)k;
        for (c = 0; c < cnt; ++c) {
            ch[c] = mq_s16_chan_of(g, c0 + c, -1);
        }
        for (r0 = 0; r0 < rows; r0 += 4) {
            const int32_t nrows = rows - r0 < 4 ? rows - r0 : 4;
            int16_t *yr = y + (size_t)r0 * (size_t)n + (size_t)c0;
            for (c = 0; c < cnt; ++c) {
                const int64_t b = g->bias != NULL ? g->bias[c0 + c] : 0;
                acc[4 * c] = acc[4 * c + 1] = acc[4 * c + 2] = acc[4 * c + 3] = b;
            }
            for (p0 = 0; p0 < k; p0 += MQ_S16_XB_K) {
                const int32_t len = k - p0 < MQ_S16_XB_K ? k - p0 : MQ_S16_XB_K;
                mq_s16_gemm4_fill(&xb, fill, ctx, r0, nrows, p0, len);
                mq_s16_gemm4_kernel(&xb, len, wc + p0, (size_t)k, ch, cnt, &os, yr, (size_t)n, nrows, acc);
            }
            for (c = 0; c < cnt; ++c) {
                for (s = 0; s < nrows; ++s) {
                    const int64_t a = acc[4 * c + s];
                    int16_t *o = &yr[(size_t)s * (size_t)n + (size_t)c];
                    if (ch[c].shok && a >= INT32_MIN && a <= INT32_MAX) {
                        const int32_t v = mq_s16_chan_rq(&ch[c], (int32_t)a);
                        *o = (int16_t)(v < os.lo ? os.lo : (v > os.hi ? os.hi : v));
                    } else {
                        *o = mq_s16_out_stage(&os, c0 + c, a);
                    }
                }
            }
        }
    }
}

/* k <= MQ_S16_XB_K: one pass per row group */
static MQ_S16_NOINLINE void mq_s16_gemm4_one(const mq_fc_s16_params *g, int32_t rows, mq_s16_fill_fn fill,
                                             const void *ctx, int16_t *y)
{
    mq_s16_xbuf xb;
    mq_s16_chan ch[MQ_S16_GEMM4_CH];
    const mq_s16_outstage os = mq_s16_outstage_of(g);
    const int32_t n = g->n, k = g->k;
    int64_t room;
    int32_t c0, r0, s;
    /* |bias| <= room keeps bias + sum_k x w (|x w| <= 2^22) within int32 */
    room = (int64_t)INT32_MAX - ((int64_t)k << 22);
    for (c0 = 0; c0 < n; c0 += MQ_S16_GEMM4_CH) {
        const int32_t cnt = n - c0 < MQ_S16_GEMM4_CH ? n - c0 : MQ_S16_GEMM4_CH;
        const int8_t *wc = g->weights + (size_t)c0 * (size_t)k;
        int32_t c, nslow = 0;
        for (c = 0; c < cnt; ++c) {
            ch[c] = mq_s16_chan_of(g, c0 + c, room);
            nslow += ch[c].fast ? 0 : 1;
        }
        for (r0 = 0; r0 < rows; r0 += 4) {
            const int32_t nrows = rows - r0 < 4 ? rows - r0 : 4;
            int16_t *yr = y + (size_t)r0 * (size_t)n + (size_t)c0;
            mq_s16_gemm4_fill(&xb, fill, ctx, r0, nrows, 0, k);
            mq_s16_gemm4_kernel(&xb, k, wc, (size_t)k, ch, cnt, &os, yr, (size_t)n, nrows, NULL);
            if (nslow > 0) {
                /* channels outside the int32 proof: exact int64 from the same buffer */
                for (c = 0; c < cnt; ++c) {
                    const int8_t *wr = wc + (size_t)c * (size_t)k;
                    if (ch[c].fast) {
                        continue;
                    }
                    for (s = 0; s < nrows; ++s) {
                        int64_t acc = g->bias != NULL ? g->bias[c0 + c] : 0;
                        int32_t i;
                        for (i = 0; i < k; ++i) {
                            acc += (int32_t)xb.h[mq_s16_xb_idx(s, i)] * (int32_t)wr[i];
                        }
                        yr[(size_t)s * (size_t)n + (size_t)c] = mq_s16_out_stage(&os, c0 + c, acc);
                    }
                }
            }
        }
    }
}

void mq_s16_gemm4(const mq_fc_s16_params *g, int32_t rows, mq_s16_fill_fn fill, const void *ctx, int16_t *y)
{
    if (g->k > MQ_S16_XB_K) {
        mq_s16_gemm4_parts(g, rows, fill, ctx, y);
    } else {
        mq_s16_gemm4_one(g, rows, fill, ctx, y);
    }
}
