/*
 * mq_conv_single_rounding: KxK convolution (CONV_2D, group 1) requantized with single rounding, as onnxruntime's
 * QLinearConv rounds once (packed models with MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV, docs/QUANTIZATION.md section 3).
 * Same parameters, prepared constants and checks as mq_conv:
 *
 *   input   [batch, in_h, in_w, in_c]   codes of gemm.in_dtype (INT8 or UINT8), zero point in_zero_point
 *   output  [batch, out_h, out_w, n]    codes of gemm.out_dtype (or LUT bytes), n = gemm.n
 *   weights W[n][ky][kx][c] (OHWI) as (n, k = kernel_h * kernel_w * in_c) rows, N4K16-packed
 *   bias    folded with in_zero_point over all k taps (signed domain x' = mq_code_signed, mq_conv_prepare)
 *   acc[o]  = folded[o] + sum_{ky,kx,c} x'[iy][ix][c] * W[o][ky][kx][c]   (uint32, wraps modulo 2^32)
 *             iy = oy * stride_h - pad_top + ky * dilation_h, ix = ox * stride_w - pad_left + kx * dilation_w,
 *             taps outside the input read in_zero_point (their term cancels the folded one)
 *   out     = lut(clamp(out_zero_point + mq_requantize_single(acc, multiplier[o], shift[o]), act_min, act_max))
 *
 * Only the requantization differs from mq_conv (mq_requantize_single instead of mq_requantize). A plain portable
 * loop, one output at a time, no scratch: this mode reproduces onnxruntime's codes, it is not a fast path (the
 * DSP / MVE kernels keep double rounding). Input and output must not overlap (MQ_ERR_BUFFER).
 *
 * mq_conv_portable_unchecked(..., f32 = 1) is the same loop with onnxruntime's float32 output stage emulated in
 * integers (mq_output_f32_emul; models with MQ_MODEL_FLAG_ORT_FLOAT32: the runtime runs every CONV and
 * CONV_1X1 of such a model through it, on every core).
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

void mq_conv_portable_unchecked(const mq_conv_params *p, const void *input, void *output, int f32)
{
    const mq_window *w = &p->win;
    const mq_fc_params *g = &p->gemm;
    const uint8_t *x = (const uint8_t *)input;
    uint8_t *y = (uint8_t *)output;
    const size_t kc = (size_t)((g->k + 15) / 16);
    const size_t in_c = (size_t)p->in_c;
    const int32_t zp = mq_code_signed((uint8_t)p->in_zero_point, g->in_dtype);
    int32_t b, oy, ox, o;
    for (b = 0; b < w->batch; ++b) {
        const uint8_t *in_b = x + (size_t)b * (size_t)w->in_h * (size_t)w->in_w * in_c;
        for (oy = 0; oy < w->out_h; ++oy) {
            for (ox = 0; ox < w->out_w; ++ox) {
                const int32_t iy0 = oy * w->stride_h - w->pad_top;
                const int32_t ix0 = ox * w->stride_w - w->pad_left;
                /* four output channels at a time: rows o..o+3 are the lanes of group o / 4 (N4K16; the packed
                 * weights have n rounded up to 4 rows, so a partial group reads zero rows and writes only n) */
                for (o = 0; o < g->n; o += 4) {
                    const int8_t *wg = g->weights.packed + (size_t)(o / 4) * kc * 64u;
                    uint32_t acc[4];
                    size_t j = 0; /* tap index in the row: (ky * kernel_w + kx) * in_c + c */
                    int32_t ky, kx, l;
                    for (l = 0; l < 4; ++l) {
                        acc[l] = o + l < g->n ? (uint32_t)g->bias.folded[o + l] : 0u;
                    }
                    for (ky = 0; ky < w->kernel_h; ++ky) {
                        const int32_t iy = iy0 + ky * w->dilation_h;
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * w->dilation_w;
                            const int inside = !(iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w);
                            const uint8_t *px =
                                inside ? in_b + ((size_t)iy * (size_t)w->in_w + (size_t)ix) * in_c : NULL;
                            size_t c = 0;
                            if (px != NULL && (j & 15u) == 0u) {
                                /* whole 16-wide chunks from a chunk boundary (every tap when in_c % 16 == 0, the one
                                 * tap of a 1x1 layer): no per-tap index arithmetic; the rest one by one below */
                                for (; c + 16u <= in_c; c += 16u, j += 16u) {
                                    const int8_t *wc = wg + (j >> 4) * 64u;
                                    size_t t;
                                    for (t = 0; t < 16u; ++t) {
                                        const int32_t xv = mq_code_signed(px[c + t], g->in_dtype);
                                        acc[0] += (uint32_t)(xv * (int32_t)wc[t]);
                                        acc[1] += (uint32_t)(xv * (int32_t)wc[16u + t]);
                                        acc[2] += (uint32_t)(xv * (int32_t)wc[32u + t]);
                                        acc[3] += (uint32_t)(xv * (int32_t)wc[48u + t]);
                                    }
                                }
                            }
                            for (; c < in_c; ++c, ++j) {
                                /* taps outside the input read the zero point (their term cancels the folded one) */
                                const int32_t xv = px != NULL ? mq_code_signed(px[c], g->in_dtype) : zp;
                                const int8_t *wj = wg + (j >> 4) * 64u + (j & 15u);
                                acc[0] += (uint32_t)(xv * (int32_t)wj[0]);
                                acc[1] += (uint32_t)(xv * (int32_t)wj[16]);
                                acc[2] += (uint32_t)(xv * (int32_t)wj[32]);
                                acc[3] += (uint32_t)(xv * (int32_t)wj[48]);
                            }
                        }
                    }
                    for (l = 0; l < 4 && o + l < g->n; ++l) {
                        const int32_t ci = g->per_channel ? o + l : 0;
                        *y++ = f32 != 0 ? mq_output_f32_emul(acc[l], g->multiplier[ci], g->shift[ci],
                                                             g->out_zero_point, g->act_min, g->act_max, g->lut)
                                        : mq_output_single_rounding(acc[l], g->multiplier[ci], g->shift[ci],
                                                                    g->out_zero_point, g->act_min, g->act_max, g->lut);
                    }
                }
            }
        }
    }
}

void mq_conv_single_rounding_unchecked(const mq_conv_params *p, const void *input, void *output)
{
    mq_conv_portable_unchecked(p, input, output, 0);
}

mq_status mq_conv_single_rounding(const mq_conv_params *p, const void *input, void *output)
{
    const mq_window *w;
    size_t in_bytes;
    size_t out_bytes;
    mq_status st = mq_conv_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)p->gemm.n;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    mq_conv_single_rounding_unchecked(p, input, output);
    return MQ_OK;
}
