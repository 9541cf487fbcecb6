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
 * (a run may span the rows of an image: NHWC output pixels are contiguous; mq_depthwise_conv_row gives one row, for the in-place variant), each pixel's tap pointers computed here (a padded tap points at the scratch pixel of in_zero_point codes), so the microkernels
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

/* Output rows oy0 .. oy1 - 1 of one image (input: its first byte) into output (their first byte), in runs that
 * may span rows; padded taps point at pad (the padding pixel, NULL when there is no padding). */
static void mq_dw_rows(const mq_depthwise_params *p, const uint8_t *in_b, int32_t oy0, int32_t oy1, uint8_t *output,
                       const uint8_t *pad, void *cache)
{
    const uint8_t *taps[MQ_DW_TAP_BUFFER];
    size_t toff[MQ_DW_TOFF]; /* tap offsets from the window origin (kernels of up to MQ_DW_TOFF taps) */
    int small;
    const mq_window *w;
    mq_dw_run run;
    int32_t out_c;
    int32_t chunk;
    int32_t ox_lo;
    int32_t ox_hi;
    size_t col_step;
    size_t row_step;
    int32_t oy;
    int32_t n;
    int32_t t;
    w = &p->win;
    out_c = p->in_c * p->depth_multiplier;

    /* Output columns whose taps are all inside: 0 <= ox*stride_w - pad_left and
     * ox*stride_w - pad_left + (kernel_w - 1)*dilation_w <= in_w - 1. */
    {
        const int32_t last = w->in_w - 1 - (w->kernel_w - 1) * w->dilation_w + w->pad_left;
        ox_lo = (w->pad_left + w->stride_w - 1) / w->stride_w;
        ox_hi = last < 0 ? -1 : last / w->stride_w;
    }
    col_step = (size_t)w->dilation_w * (size_t)p->in_c;
    row_step = (size_t)w->dilation_h * (size_t)w->in_w * (size_t)p->in_c;
    run.p = p;
    run.cache = cache;
    run.taps = taps;
    run.ntaps = w->kernel_h * w->kernel_w;
    chunk = MQ_DW_TAP_BUFFER / run.ntaps;
    small = run.ntaps <= MQ_DW_TOFF;
    if (small) {
        int32_t ky, kx, k = 0;
        for (ky = 0; ky < w->kernel_h; ++ky) {
            for (kx = 0; kx < w->kernel_w; ++kx) {
                toff[k++] = (size_t)ky * row_step + (size_t)kx * col_step;
            }
        }
    }
    n = 0;
    t = 0;
    run.out = output;
    for (oy = oy0; oy < oy1; ++oy) {
        const int32_t iy0 = oy * w->stride_h - w->pad_top;
        const int row_inside = iy0 >= 0 && iy0 + (w->kernel_h - 1) * w->dilation_h <= w->in_h - 1;
        uint32_t rmask = 0; /* small kernels: bit ky set when input row iy0 + ky * dilation_h exists */
        int32_t ox;
        if (small) {
            int32_t ky;
            for (ky = 0; ky < w->kernel_h; ++ky) {
                const int32_t iy = iy0 + ky * w->dilation_h;
                rmask |= (iy >= 0 && iy < w->in_h) ? (1u << ky) : 0u;
            }
        }
        for (ox = 0; ox < w->out_w; ++ox) {
            const int32_t ix0 = ox * w->stride_w - w->pad_left;
            int32_t ky;
            if (row_inside && ox >= ox_lo && ox <= ox_hi && small) {
                /* every tap inside, small kernel: the window origin + the tap offsets */
                const uint8_t *org = in_b + ((size_t)iy0 * (size_t)w->in_w + (size_t)ix0) * (size_t)p->in_c;
                if (run.ntaps == 9) {
                    const uint8_t **d = taps + t;
                    d[0] = org + toff[0];
                    d[1] = org + toff[1];
                    d[2] = org + toff[2];
                    d[3] = org + toff[3];
                    d[4] = org + toff[4];
                    d[5] = org + toff[5];
                    d[6] = org + toff[6];
                    d[7] = org + toff[7];
                    d[8] = org + toff[8];
                    t += 9;
                } else {
                    int32_t k;
                    for (k = 0; k < run.ntaps; ++k) {
                        taps[t++] = org + toff[k];
                    }
                }
            } else if (small) {
                /* a border pixel of a small kernel: the inside taps from the offset table, the rest -> pad */
                const ptrdiff_t org = ((ptrdiff_t)iy0 * (ptrdiff_t)w->in_w + (ptrdiff_t)ix0) * (ptrdiff_t)p->in_c;
                uint32_t cmask = (1u << w->kernel_w) - 1u;
                uint32_t m = 0;  /* bit k set when tap k is inside */
                int32_t k;
                int32_t kx;
                if (ox < ox_lo || ox > ox_hi) {
                    cmask = 0;
                    for (kx = 0; kx < w->kernel_w; ++kx) {
                        const int32_t ix = ix0 + kx * w->dilation_w;
                        cmask |= (ix >= 0 && ix < w->in_w) ? (1u << kx) : 0u;
                    }
                }
                for (ky = 0; ky < w->kernel_h; ++ky) {
                    m |= ((rmask >> ky) & 1u) != 0u ? cmask << (ky * w->kernel_w) : 0u;
                }
                for (k = 0; k < run.ntaps; ++k) {
                    taps[t++] = ((m >> k) & 1u) != 0u ? in_b + (size_t)(org + (ptrdiff_t)toff[k]) : pad;
                }
            } else if (row_inside && ox >= ox_lo && ox <= ox_hi) {
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
                    const uint8_t *row = in_b + (size_t)(row_in ? iy : 0) * (size_t)w->in_w * (size_t)p->in_c;
                    int32_t kx;
                    for (kx = 0; kx < w->kernel_w; ++kx) {
                        const int32_t ix = ix0 + kx * w->dilation_w;
                        taps[t++] = (row_in && ix >= 0 && ix < w->in_w) ? row + (size_t)ix * (size_t)p->in_c : pad;
                    }
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
    }
    if (n > 0) {
        run.npix = n;
        mq_dw_dispatch(&run, p, out_c);
    }
}

void mq_depthwise_conv_row(const mq_depthwise_params *p, const void *input, int32_t oy, void *orow,
                           const void *pad_pixel, void *cache)
{
    mq_dw_rows(p, (const uint8_t *)input, oy, oy + 1, (uint8_t *)orow, (const uint8_t *)pad_pixel, cache);
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
    for (b = 0; b < w->batch; ++b) {
        mq_dw_rows(p, (const uint8_t *)input + (size_t)b * in_image, 0, w->out_h,
                   (uint8_t *)output + (size_t)b * out_image, need > 0u ? (const uint8_t *)scratch : NULL, MQ_DW_CACHE);
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
