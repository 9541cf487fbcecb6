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
 * Per output row: runs of up to MQ_DW_TAP_BUFFER / (kernel_h * kernel_w) pixels (8 for 3x3), each pixel's tap
 * pointers computed here (a padded tap points at the scratch pixel of in_zero_point codes), so the microkernels
 * have no border cases and hoist their per-channel set-up over the run. Runs go to the microkernel: the core's fast variant for M = 1 (MQ_DW_S8), the portable
 * one for M > 1. Scratch: mq_depthwise_scratch_size(p) bytes (may be NULL when that is 0).
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

void mq_depthwise_conv_row(const mq_depthwise_params *p, const void *input, int32_t oy, void *orow_out,
                           const void *pad_pixel)
{
    const uint8_t *taps[MQ_DW_TAP_BUFFER];
    const mq_window *w = &p->win;
    const uint8_t *in_b = (const uint8_t *)input;
    const uint8_t *pad = (const uint8_t *)pad_pixel;
    uint8_t *orow = (uint8_t *)orow_out;
    const int32_t out_c = p->in_c * p->depth_multiplier;
    const int32_t iy0 = oy * w->stride_h - w->pad_top;
    const int row_inside = iy0 >= 0 && iy0 + (w->kernel_h - 1) * w->dilation_h <= w->in_h - 1;
    const size_t col_step = (size_t)w->dilation_w * (size_t)p->in_c;
    const size_t row_step = (size_t)w->dilation_h * (size_t)w->in_w * (size_t)p->in_c;
    mq_dw_run run;
    int32_t chunk;
    int32_t ox_lo;
    int32_t ox_hi;
    int32_t ox = 0;

    /* Output columns whose taps are all inside: 0 <= ox*stride_w - pad_left and
     * ox*stride_w - pad_left + (kernel_w - 1)*dilation_w <= in_w - 1. */
    {
        const int32_t last = w->in_w - 1 - (w->kernel_w - 1) * w->dilation_w + w->pad_left;
        ox_lo = (w->pad_left + w->stride_w - 1) / w->stride_w;
        ox_hi = last < 0 ? -1 : last / w->stride_w;
    }
    run.p = p;
    run.taps = taps;
    run.ntaps = w->kernel_h * w->kernel_w;
    chunk = MQ_DW_TAP_BUFFER / run.ntaps;
    while (ox < w->out_w) {
        const int32_t n = w->out_w - ox < chunk ? w->out_w - ox : chunk;
        int32_t t = 0;
        int32_t i;
        for (i = 0; i < n; ++i) {
            const int32_t ix0 = (ox + i) * w->stride_w - w->pad_left;
            int32_t ky;
            if (row_inside && ox + i >= ox_lo && ox + i <= ox_hi) {
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
                continue;
            }
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
        run.npix = n;
        run.out = orow + (size_t)ox * (size_t)out_c;
        if (p->depth_multiplier == 1) {
            MQ_DW_S8(&run);
        } else {
            mq_dw_s8_c(&run, 0, out_c);
        }
        ox += n;
    }
}

void mq_depthwise_conv_unchecked(const mq_depthwise_params *p, const void *input, void *output, void *scratch)
{
    const mq_window *w = &p->win;
    const int32_t out_c = p->in_c * p->depth_multiplier;
    const size_t need = mq_depthwise_scratch_size(p);
    const size_t in_image = (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
    int32_t b;
    int32_t oy;
    if (need > 0u) {
        memset(scratch, (int)(uint8_t)p->in_zero_point, need);
    }
    for (b = 0; b < w->batch; ++b) {
        const uint8_t *in_b = (const uint8_t *)input + (size_t)b * in_image;
        for (oy = 0; oy < w->out_h; ++oy) {
            uint8_t *orow = (uint8_t *)output +
                            (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w) * (size_t)out_c;
            mq_depthwise_conv_row(p, in_b, oy, orow, scratch);
        }
    }
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
