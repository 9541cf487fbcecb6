/*
 * mq_depthwise_conv_single_rounding: depthwise convolution requantized with single rounding, as onnxruntime's
 * QLinearConv (group = channels) rounds once (packed models with MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV). Same
 * parameters, prepared constants and checks as mq_depthwise_conv:
 *
 *   input   [batch, in_h, in_w, in_c]          codes of in_dtype, zero point in_zero_point
 *   output  [batch, out_h, out_w, in_c * M]    codes of out_dtype (or LUT bytes); channel o = c * M + m reads c
 *   weights int16 [kernel_h][kernel_w][in_c * M] (mq_depthwise_pack_weights), 4-byte aligned
 *   bias    int32 [in_c * M], raw input zero point folded in (mq_depthwise_prepare_bias)
 *   acc[o]  = folded[o] + sum_{ky,kx} x[iy][ix][c] * W[ky][kx][o]   (raw code values, uint32 modulo 2^32;
 *             taps outside the input read in_zero_point, cancelling their folded term)
 *   out     = lut(clamp(out_zero_point + mq_requantize_single(acc, multiplier[o], shift[o]), act_min, act_max))
 *
 * A plain portable loop, no scratch; the fast DSP / MVE / Armv7-M microkernels keep double rounding. Input and
 * output must not overlap (MQ_ERR_BUFFER); no in-place variant (the packer plans these ops apart).
 * mq_depthwise_portable_unchecked(..., f32 = 1): the same loop with onnxruntime's float32 output stage emulated in
 * integers (mq_output_f32_emul; every DEPTHWISE_CONV of a model with MQ_MODEL_FLAG_ORT_FLOAT32).
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

#include "mq_kernels_unchecked.h"

void mq_depthwise_portable_unchecked(const mq_depthwise_params *p, const void *input, void *output, int f32)
{
    const mq_window *w = &p->win;
    const uint8_t *x = (const uint8_t *)input;
    const uint8_t *wt = (const uint8_t *)p->weights.data;
    uint8_t *y = (uint8_t *)output;
    const int32_t out_c = p->in_c * p->depth_multiplier;
    const int32_t zp = p->in_zero_point;
    int32_t b, oy, ox, o0;
    for (b = 0; b < w->batch; ++b) {
        const uint8_t *in_b = x + (size_t)b * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
        for (oy = 0; oy < w->out_h; ++oy) {
            for (ox = 0; ox < w->out_w; ++ox) {
                const int32_t iy0 = oy * w->stride_h - w->pad_top;
                const int32_t ix0 = ox * w->stride_w - w->pad_left;
                /* sixteen output channels per pass: each tap's weights of the block are contiguous ([t][out_c]) */
                for (o0 = 0; o0 < out_c; o0 += 16) {
                    const int32_t nb = out_c - o0 < 16 ? out_c - o0 : 16;
                    uint32_t acc[16];
                    int32_t ky, kx, l;
                    for (l = 0; l < nb; ++l) {
                        acc[l] = (uint32_t)p->bias.folded[o0 + l];
                    }
                    for (ky = 0; ky < w->kernel_h; ++ky) {
                        const int32_t iy = iy0 + ky * w->dilation_h;
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * w->dilation_w;
                            const size_t t = (size_t)(ky * w->kernel_w + kx);
                            const uint8_t *wrow = wt + 2u * (t * (size_t)out_c + (size_t)o0);
                            /* taps outside the input read in_zero_point, cancelling their folded term */
                            const uint8_t *px = (iy >= 0 && iy < w->in_h && ix >= 0 && ix < w->in_w)
                                                    ? in_b + ((size_t)iy * (size_t)w->in_w + (size_t)ix) * (size_t)p->in_c
                                                    : NULL;
                            for (l = 0; l < nb; ++l) {
                                const size_t c = (size_t)((o0 + l) / p->depth_multiplier);
                                const int32_t xv = px != NULL ? mq_code_value(px[c], p->in_dtype) : zp;
                                int16_t wv;
                                memcpy(&wv, wrow + 2u * (size_t)l, sizeof(wv));
                                acc[l] += (uint32_t)(xv * (int32_t)wv);
                            }
                        }
                    }
                    for (l = 0; l < nb; ++l) {
                        const int32_t ci = p->per_channel ? o0 + l : 0;
                        *y++ = f32 != 0 ? mq_output_f32_emul(acc[l], p->multiplier[ci], p->shift[ci],
                                                             p->out_zero_point, p->act_min, p->act_max, p->lut)
                                        : mq_output_single_rounding(acc[l], p->multiplier[ci], p->shift[ci],
                                                                    p->out_zero_point, p->act_min, p->act_max, p->lut);
                    }
                }
            }
        }
    }
}

mq_status mq_depthwise_conv_single_rounding(const mq_depthwise_params *p, const void *input, void *output)
{
    const mq_window *w;
    size_t in_bytes;
    size_t out_bytes;
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
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)out_c;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    mq_depthwise_portable_unchecked(p, input, output, 0);
    return MQ_OK;
}
