/*
 * mq_depthwise_conv: depthwise convolution, NHWC, any kernel (kernel_h * kernel_w <= MQ_DW_MAX_TAPS), stride,
 * dilation, asymmetric padding, depth multiplier M >= 1 (output channel o = c * M + m reads input channel c).
 *
 *   input   [batch, in_h, in_w, in_c]          codes of in_dtype, zero point in_zero_point
 *   output  [batch, out_h, out_w, in_c * M]    codes of out_dtype (or LUT bytes)
 *   weights int16 [kernel_h][kernel_w][in_c * M] (mq_depthwise_pack_weights: TFLite's [1, kh, kw, out_c], widened)
 *   bias    int32 [in_c * M], folded: bias[o] - in_zero_point * sum_t W[t][o]  (mod 2^32; mq_depthwise_prepare_bias)
 *   out[b][oy][ox][o] = output_stage(bias[o] + sum_{ky,kx} (x[b][iy][ix][c] - in_zp) * W[ky][kx][o])
 *                     = output_stage(folded[o] + sum_{ky,kx} x'[ky][kx][c] * W[ky][kx][o]),
 *   x' = the input code, or in_zero_point for taps outside the input (TFLite: padded taps contribute 0).
 *
 * Runs of up to MQ_DW_TAP_BUFFER / (kernel_h * kernel_w) output pixels (16 for 3x3), consecutive in the output
 * (a run may span the rows of an image: NHWC output pixels are contiguous; mq_depthwise_rows gives a range of rows, for the in-place variant; its set-up, mq_depthwise_rows_begin, is done once per layer), each pixel's tap pointers computed here (a padded tap points at the scratch pixel of in_zero_point codes), so the microkernels
 * have no border cases and hoist their per-channel set-up over the run. Runs go to the microkernel: the core's fast variant for M = 1 (MQ_DW_S8), the portable
 * one for M > 1. Scratch: mq_depthwise_scratch_size(p) bytes (may be NULL when that is 0). The fast kernel's set-up
 * cache (MQ_DW_CACHE_BYTES, DSP only) lives on this function's stack for the whole call.
 */
#include <stddef.h>
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

#define MQ_DW_TOFF 16

static inline void mq_dw_dispatch(const mq_dw_run *run, const mq_depthwise_params *p, int32_t out_c)
{
    if (p->depth_multiplier == 1) {
        MQ_DW_S8(run);
    } else {
        mq_dw_s8_c(run, 0, out_c);
    }
}

/* 3x3: bit kx set when input column ox * stride_w - pad_left + kx * dilation_w exists. */
static uint32_t mq_dw_cmask3(const mq_window *w, int32_t ox)
{
    const int32_t ix0 = ox * w->stride_w - w->pad_left;
    return ((uint32_t)ix0 < (uint32_t)w->in_w ? 1u : 0u) |
           ((uint32_t)(ix0 + w->dilation_w) < (uint32_t)w->in_w ? 2u : 0u) |
           ((uint32_t)(ix0 + 2 * w->dilation_w) < (uint32_t)w->in_w ? 4u : 0u);
}

typedef char mq_dw_toff_size[sizeof(((mq_dw_rows_state *)0)->toff) == MQ_DW_TOFF * sizeof(size_t) ? 1 : -1];

void mq_depthwise_rows_begin(mq_dw_rows_state *s, const mq_depthwise_params *p, const void *pad_pixel, void *cache)
{
    const mq_window *w = &p->win;
    /* Output columns whose taps are all inside: 0 <= ox*stride_w - pad_left and
     * ox*stride_w - pad_left + (kernel_w - 1)*dilation_w <= in_w - 1. */
    const int32_t last = w->in_w - 1 - (w->kernel_w - 1) * w->dilation_w + w->pad_left;
    s->p = p;
    s->pad = (const uint8_t *)pad_pixel;
    s->cache = cache;
    s->out_c = p->in_c * p->depth_multiplier;
    s->ox_lo = (w->pad_left + w->stride_w - 1) / w->stride_w;
    s->ox_hi = last < 0 ? -1 : last / w->stride_w;
    s->ntaps = w->kernel_h * w->kernel_w;
    s->chunk = MQ_DW_TAP_BUFFER / s->ntaps;
    s->small = s->ntaps <= MQ_DW_TOFF;
    s->nine = w->kernel_h == 3 && w->kernel_w == 3;
    {
        int32_t i;
        for (i = 0; i < 8; ++i) {
            /* column i (left, i < 4) or out_w - 1 - (i - 4) (right) */
            const int32_t ox = i < 4 ? i : w->out_w - 1 - (i - 4);
            s->cm9[i] = (uint16_t)(mq_dw_cmask3(w, ox) * 0x49u);
        }
    }
    s->pix_step = (size_t)w->stride_w * (size_t)p->in_c;
    s->row_bytes = (size_t)w->in_w * (size_t)p->in_c;
    if (s->small) {
        const size_t col_step = (size_t)w->dilation_w * (size_t)p->in_c;
        const size_t row_step = (size_t)w->dilation_h * s->row_bytes;
        int32_t ky, kx, k = 0;
        for (ky = 0; ky < w->kernel_h; ++ky) {
            for (kx = 0; kx < w->kernel_w; ++kx) {
                s->toff[k++] = (size_t)ky * row_step + (size_t)kx * col_step;
            }
        }
    }
}

/* The nine tap pointers of a 3x3 border pixel: tap k = 3 * ky + kx at offset org + ky * rs + kx * cs from in_b when
 * bit k of m is set (the offset is formed only then: org may be negative), else the padding pixel. */
static __attribute__((noinline)) void mq_dw_taps9_border(const uint8_t **d, const uint8_t *in_b, ptrdiff_t org,
                                                         ptrdiff_t cs, ptrdiff_t rs, uint32_t m, const uint8_t *pad)
{
    const ptrdiff_t o1 = org + rs;
    const ptrdiff_t o2 = o1 + rs;
    d[0] = (m & 0x001u) != 0u ? in_b + (size_t)org : pad;
    d[1] = (m & 0x002u) != 0u ? in_b + (size_t)(org + cs) : pad;
    d[2] = (m & 0x004u) != 0u ? in_b + (size_t)(org + 2 * cs) : pad;
    d[3] = (m & 0x008u) != 0u ? in_b + (size_t)o1 : pad;
    d[4] = (m & 0x010u) != 0u ? in_b + (size_t)(o1 + cs) : pad;
    d[5] = (m & 0x020u) != 0u ? in_b + (size_t)(o1 + 2 * cs) : pad;
    d[6] = (m & 0x040u) != 0u ? in_b + (size_t)o2 : pad;
    d[7] = (m & 0x080u) != 0u ? in_b + (size_t)(o2 + cs) : pad;
    d[8] = (m & 0x100u) != 0u ? in_b + (size_t)(o2 + 2 * cs) : pad;
}

/* 3x3 kernels (nine taps): the tap pointers of output rows oy0 .. oy1 - 1, runs handed to the microkernel. Bit
 * k = 3 * ky + kx of a pixel's mask is set when tap k is inside (the row's m9 and, in a border column, its column
 * mask); the columns ox_lo .. ox_hi of a row with m9 full are one segment of inside pixels, a short loop. */
static __attribute__((noinline)) void mq_dw_rows_nine(const mq_dw_rows_state *s, const uint8_t *in_b, int32_t oy0,
                                                      int32_t oy1, uint8_t *out)
{
    const mq_depthwise_params *p = s->p;
    const mq_window *w = &p->win;
    const uint8_t *taps[MQ_DW_TAP_BUFFER];
    mq_dw_run run;
    const size_t cs = s->toff[1];
    const size_t rs = s->toff[3];
    const size_t pix_step = s->pix_step;
    const int32_t chunk = s->chunk;
    const int32_t out_w = w->out_w;
    const int32_t ox_lo = s->ox_lo;
    const int32_t ox_hi = s->ox_hi;
    const uint8_t **d = taps;
    int32_t oy;
    int32_t n = 0;
    run.p = p;
    run.cache = s->cache;
    run.taps = taps;
    run.ntaps = 9;
    run.out = out;
    for (oy = oy0; oy < oy1; ++oy) {
        const int32_t iy0 = oy * w->stride_h - w->pad_top;
        /* bits 0-2 / 3-5 / 6-8: input row iy0 / + dilation_h / + 2 dilation_h exists */
        const uint32_t m9 = ((uint32_t)iy0 < (uint32_t)w->in_h ? 0x007u : 0u) |
                            ((uint32_t)(iy0 + w->dilation_h) < (uint32_t)w->in_h ? 0x038u : 0u) |
                            ((uint32_t)(iy0 + 2 * w->dilation_h) < (uint32_t)w->in_h ? 0x1C0u : 0u);
        /* the window origin of column 0 as an offset from in_b (negative on a padded border) */
        ptrdiff_t org = (ptrdiff_t)iy0 * (ptrdiff_t)s->row_bytes - (ptrdiff_t)w->pad_left * (ptrdiff_t)p->in_c;
        int32_t ox = 0;
        while (ox < out_w) {
            if (m9 == 0x1FFu && ox >= ox_lo && ox <= ox_hi) {
                /* inside pixels ox .. up to ox_hi (and up to the run's end) */
                int32_t cnt = ox_hi + 1 - ox;
                const uint8_t *o = in_b + (size_t)org;
                int32_t k;
                if (cnt > chunk - n) {
                    cnt = chunk - n;
                }
                for (k = cnt; k > 0; --k) {
                    const uint8_t *const r1 = o + rs;
                    const uint8_t *const r2 = r1 + rs;
                    d[0] = o;
                    d[1] = o + cs;
                    d[2] = o + 2u * cs;
                    d[3] = r1;
                    d[4] = r1 + cs;
                    d[5] = r1 + 2u * cs;
                    d[6] = r2;
                    d[7] = r2 + cs;
                    d[8] = r2 + 2u * cs;
                    d += 9;
                    o += pix_step;
                }
                org += (ptrdiff_t)cnt * (ptrdiff_t)pix_step;
                ox += cnt;
                n += cnt;
            } else {
                uint32_t m = m9;
                if (ox < ox_lo) {
                    m &= ox < 4 ? (uint32_t)s->cm9[ox] : mq_dw_cmask3(w, ox) * 0x49u;
                } else if (ox > ox_hi) {
                    m &= out_w - 1 - ox < 4 ? (uint32_t)s->cm9[4 + out_w - 1 - ox] : mq_dw_cmask3(w, ox) * 0x49u;
                }
                mq_dw_taps9_border(d, in_b, org, (ptrdiff_t)cs, (ptrdiff_t)rs, m, s->pad);
                d += 9;
                org += (ptrdiff_t)pix_step;
                ++ox;
                ++n;
            }
            /* output pixels are consecutive in memory across rows: a run may span them */
            if (n == chunk) {
                run.npix = n;
                mq_dw_dispatch(&run, p, s->out_c);
                run.out += (size_t)n * (size_t)s->out_c;
                n = 0;
                d = taps;
            }
        }
    }
    if (n > 0) {
        run.npix = n;
        mq_dw_dispatch(&run, p, s->out_c);
    }
}

static void mq_dw_rows_any(const mq_dw_rows_state *s, const uint8_t *input, int32_t oy0, int32_t oy1, uint8_t *out);

/* Output rows oy0 .. oy1 - 1 of one image (input: its first byte) into out (their first byte), in runs that may
 * span rows; padded taps point at the padding pixel. */
void mq_depthwise_rows(const mq_dw_rows_state *s, const void *input, int32_t oy0, int32_t oy1, void *out)
{
    if (s->nine) {
        mq_dw_rows_nine(s, (const uint8_t *)input, oy0, oy1, (uint8_t *)out);
        return;
    }
    mq_dw_rows_any(s, (const uint8_t *)input, oy0, oy1, (uint8_t *)out);
}

/* Any other kernel: the tap pointers of output rows oy0 .. oy1 - 1. */
static void mq_dw_rows_any(const mq_dw_rows_state *s, const uint8_t *input, int32_t oy0, int32_t oy1, uint8_t *out)
{
    const mq_depthwise_params *p = s->p;
    const mq_window *w = &p->win;
    const uint8_t *in_b = input;
    const uint8_t *pad = s->pad;
    const uint8_t *taps[MQ_DW_TAP_BUFFER];
    mq_dw_run run;
    const int32_t out_c = s->out_c;
    const int32_t chunk = s->chunk;
    const int32_t ntaps = s->ntaps;
    const int32_t ox_lo = s->ox_lo;
    const int32_t ox_hi = s->ox_hi;
    const size_t pix_step = s->pix_step;
    int32_t oy;
    int32_t n;
    int32_t t;
    run.p = p;
    run.cache = s->cache;
    run.taps = taps;
    run.ntaps = ntaps;
    n = 0;
    t = 0;
    run.out = out;
    for (oy = oy0; oy < oy1; ++oy) {
        const int32_t iy0 = oy * w->stride_h - w->pad_top;
        int32_t ox;
        if (s->small) {
            /* m9: bit k = ky * kernel_w + kx set when tap k's input row exists; the window origin of column 0 as
             * an offset from in_b (negative on a padded border: only inside taps are formed from it) */
            const uint32_t kwmask = (1u << w->kernel_w) - 1u;
            uint32_t m9 = 0;
            uint32_t rep = 0;
            int32_t ky;
            ptrdiff_t org = (ptrdiff_t)iy0 * (ptrdiff_t)s->row_bytes - (ptrdiff_t)w->pad_left * (ptrdiff_t)p->in_c;
            for (ky = 0; ky < w->kernel_h; ++ky) {
                const int32_t iy = iy0 + ky * w->dilation_h;
                rep |= 1u << (ky * w->kernel_w);
                m9 |= (iy >= 0 && iy < w->in_h) ? kwmask << (ky * w->kernel_w) : 0u;
            }
            for (ox = 0; ox < w->out_w; ++ox, org += (ptrdiff_t)pix_step) {
                if (m9 == kwmask * rep && ox >= ox_lo && ox <= ox_hi) {
                    /* every tap inside: the window origin + the tap offsets */
                    const uint8_t *o = in_b + (size_t)org;
                    const uint8_t **d = taps + t;
                    int32_t k;
                    for (k = 0; k < ntaps; ++k) {
                        d[k] = o + s->toff[k];
                    }
                    t += ntaps;
                } else {
                    /* a border pixel: the inside taps from the offset table, the rest -> pad */
                    uint32_t m = m9;
                    int32_t k;
                    if (ox < ox_lo || ox > ox_hi) {
                        const int32_t ix0 = ox * w->stride_w - w->pad_left;
                        uint32_t cmask = 0;
                        int32_t kx;
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * w->dilation_w;
                            cmask |= (ix >= 0 && ix < w->in_w) ? (1u << kx) : 0u;
                        }
                        m &= cmask * rep;
                    }
                    for (k = 0; k < ntaps; ++k) {
                        taps[t++] = ((m >> k) & 1u) != 0u ? in_b + (size_t)(org + (ptrdiff_t)s->toff[k]) : pad;
                    }
                }
                /* output pixels are consecutive in memory across rows: a run may span them */
                if (++n == chunk) {
                    run.npix = n;
                    mq_dw_dispatch(&run, p, out_c);
                    run.out += (size_t)n * (size_t)out_c;
                    n = 0;
                    t = 0;
                }
            }
            continue;
        }
        for (ox = 0; ox < w->out_w; ++ox) {
            const int32_t ix0 = ox * w->stride_w - w->pad_left;
            const int row_inside = iy0 >= 0 && iy0 + (w->kernel_h - 1) * w->dilation_h <= w->in_h - 1;
            const size_t col_step = (size_t)w->dilation_w * (size_t)p->in_c;
            const size_t row_step = (size_t)w->dilation_h * s->row_bytes;
            int32_t ky;
            if (row_inside && ox >= ox_lo && ox <= ox_hi) {
                /* every tap inside: walk the window */
                const uint8_t *row = in_b + ((size_t)iy0 * (size_t)w->in_w + (size_t)ix0) * (size_t)p->in_c;
                for (ky = 0; ky < w->kernel_h; ++ky) {
                    const uint8_t *px = row;
                    int32_t kx;
                    for (kx = 0; kx < w->kernel_w; ++kx) {
                        taps[t++] = px;
                        px += col_step;
                    }
                    row += row_step;
                }
            } else {
                for (ky = 0; ky < w->kernel_h; ++ky) {
                    const int32_t iy = iy0 + ky * w->dilation_h;
                    const int row_in = iy >= 0 && iy < w->in_h;
                    const uint8_t *row = in_b + (size_t)(row_in ? iy : 0) * s->row_bytes;
                    int32_t kx;
                    for (kx = 0; kx < w->kernel_w; ++kx) {
                        const int32_t ix = ix0 + kx * w->dilation_w;
                        taps[t++] = (row_in && ix >= 0 && ix < w->in_w) ? row + (size_t)ix * (size_t)p->in_c : pad;
                    }
                }
            }
            if (++n == chunk) {
                run.npix = n;
                mq_dw_dispatch(&run, p, out_c);
                run.out += (size_t)n * (size_t)out_c;
                n = 0;
                t = 0;
            }
        }
    }
    if (n > 0) {
        run.npix = n;
        mq_dw_dispatch(&run, p, out_c);
    }
}

void mq_depthwise_conv_unchecked(const mq_depthwise_params *p, const void *input, void *output, void *scratch)
{
    const mq_window *w = &p->win;
    const int32_t out_c = p->in_c * p->depth_multiplier;
    /* mq_depthwise_scratch_size without its re-check of p (the caller checked it) */
    const size_t need = (w->pad_top > 0 || w->pad_bottom > 0 || w->pad_left > 0 || w->pad_right > 0)
                            ? (((size_t)p->in_c + 3u) & ~(size_t)3u)
                            : 0u;
    const size_t in_image = (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
    const size_t out_image = (size_t)w->out_h * (size_t)w->out_w * (size_t)out_c;
    mq_dw_rows_state rs;
    int32_t b;
#if MQ_DW_CACHE_BYTES > 0
    uint32_t cache[MQ_DW_CACHE_BYTES / 4];
    cache[0] = 0;
#define MQ_DW_CACHE cache
#else
#define MQ_DW_CACHE NULL
#endif
    if (need > 0u) {
        memset(scratch, (int)(uint8_t)p->in_zero_point, need);
    }
#if defined(MQ_X86_HOST_KERNELS) && !defined(MQ_FORCE_PORTABLE)
    /* x86 host: the whole layer in one call when the AVX-512 VNNI kernel applies */
    if (mq_dw_s8_x86_layer(p, input, output, need > 0u ? scratch : NULL)) {
        return;
    }
#endif
    mq_depthwise_rows_begin(&rs, p, need > 0u ? scratch : NULL, MQ_DW_CACHE);
    for (b = 0; b < w->batch; ++b) {
        mq_depthwise_rows(&rs, (const uint8_t *)input + (size_t)b * in_image, 0, w->out_h,
                          (uint8_t *)output + (size_t)b * out_image);
    }
#undef MQ_DW_CACHE
}

mq_status mq_depthwise_conv(const mq_depthwise_params *p, const void *input, void *output, void *scratch,
                            size_t scratch_size)
{
    const mq_window *w;
    size_t need;
    size_t in_bytes;
    size_t out_bytes;
    size_t in_image;
    int32_t out_c;
    mq_status st = mq_depthwise_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    out_c = p->in_c * p->depth_multiplier;
    need = mq_depthwise_scratch_size(p);
    in_image = (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
    in_bytes = (size_t)w->batch * in_image;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)out_c;
    if (need > 0u) {
        if (scratch == NULL) {
            return MQ_ERR_NULL;
        }
        if (scratch_size < need) {
            return MQ_ERR_BUFFER;
        }
    }
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes) ||
        (need > 0u && (mq_ranges_overlap(scratch, need, input, in_bytes) ||
                       mq_ranges_overlap(scratch, need, output, out_bytes)))) {
        return MQ_ERR_BUFFER;
    }
    mq_depthwise_conv_unchecked(p, input, output, scratch);
    return MQ_OK;
}
