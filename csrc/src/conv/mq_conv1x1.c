/*
 * mq_conv1x1: pointwise convolution, NHWC, stride 1/2, zero padding, as a GEMM over pixels.
 *
 * Unpadded (scratch size 0: every pad is 0) stride-1 convolutions (out = in size) are a single microkernel call over all pixels (x_stride = k).
 * Otherwise, for every output row the interior pixels (those that read a real input pixel) form one microkernel call
 * with input stride stride_w * k; padded pixels go through the same microkernel reading one scratch pixel
 * filled with the input zero point code (input stride 0). No second GEMM implementation.
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

void mq_conv1x1_unchecked(const mq_conv1x1_params *p, const void *input, void *output, void *scratch)
{
    const mq_fc_params *g = &p->gemm;
    const uint8_t *in;
    uint8_t *out;
    uint8_t *pad_pixel = NULL;
    const size_t need = mq_conv1x1_scratch_size(p);
    size_t in_image;
    size_t out_pixel_count;
    const int32_t out_h = (p->in_h + p->pad_top + p->pad_bottom - 1) / p->stride_h + 1;
    const int32_t out_w = (p->in_w + p->pad_left + p->pad_right - 1) / p->stride_w + 1;
    int32_t ox_lo;
    int32_t ox_hi;
    int32_t b;
    int32_t oy;

    if (need > 0u) {
        pad_pixel = (uint8_t *)scratch;
    }
    in_image = (size_t)p->in_h * (size_t)p->in_w * (size_t)g->k;
    out_pixel_count = (size_t)out_h * (size_t)out_w;
    if (pad_pixel != NULL) {
        memset(pad_pixel, (int)(uint8_t)p->in_zero_point, need);
    }

    /* Output columns [ox_lo, ox_hi] read real input columns: 0 <= ox*stride_w - pad_left <= in_w - 1. */
    ox_lo = (p->pad_left + p->stride_w - 1) / p->stride_w;
    ox_hi = (p->in_w - 1 + p->pad_left) / p->stride_w;
    if (ox_hi > out_w - 1) {
        ox_hi = out_w - 1;
    }
    if (ox_lo > out_w) {
        ox_lo = out_w;
    }

    in = (const uint8_t *)input;
    out = (uint8_t *)output;
    if (need == 0u && p->stride_h == 1 && p->stride_w == 1 &&
        (size_t)p->batch * out_pixel_count <= (size_t)INT32_MAX) {
        /* Unpadded stride 1: every pixel of every image is a contiguous row of k codes, so the whole
         * convolution is one GEMM call (per-group set-up paid once, pixel pairs across image rows). */
        MQ_GEMM_S8_N4K16(g, (int32_t)((size_t)p->batch * out_pixel_count), in, g->k, out, g->n);
        return;
    }
    for (b = 0; b < p->batch; ++b) {
        const uint8_t *in_b = in + (size_t)b * in_image;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy = oy * p->stride_h - p->pad_top;
            uint8_t *orow = out + ((size_t)b * out_pixel_count + (size_t)oy * (size_t)out_w) * (size_t)g->n;
            if (iy < 0 || iy >= p->in_h) {
                MQ_GEMM_S8_N4K16(g, out_w, pad_pixel, 0, orow, g->n);
                continue;
            }
            if (ox_lo > 0) {
                MQ_GEMM_S8_N4K16(g, ox_lo, pad_pixel, 0, orow, g->n);
            }
            if (ox_hi >= ox_lo) {
                const int32_t ix = ox_lo * p->stride_w - p->pad_left;
                const uint8_t *src = in_b + ((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)g->k;
                MQ_GEMM_S8_N4K16(g, ox_hi - ox_lo + 1, src, p->stride_w * g->k,
                                 orow + (size_t)ox_lo * (size_t)g->n, g->n);
            }
            if (ox_hi + 1 < out_w) {
                const int32_t first = ox_hi >= ox_lo ? ox_hi + 1 : ox_lo;
                if (first < out_w) {
                    MQ_GEMM_S8_N4K16(g, out_w - first, pad_pixel, 0, orow + (size_t)first * (size_t)g->n, g->n);
                }
            }
        }
    }
}

mq_status mq_conv1x1(const mq_conv1x1_params *p, const void *input, void *output,
                     void *scratch, size_t scratch_size)
{
    const mq_fc_params *g;
    uint8_t *pad_pixel = NULL;
    size_t need;
    size_t in_image;
    size_t out_pixel_count;
    int32_t out_h;
    int32_t out_w;
    mq_status st;

    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    g = &p->gemm;
    st = mq_fc_params_check(g);
    if (st != MQ_OK) {
        return st;
    }
    st = mq_conv1x1_output_size(p, &out_h, &out_w);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->in_zero_point < mq_dtype_min(g->in_dtype) || p->in_zero_point > mq_dtype_max(g->in_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    need = mq_conv1x1_scratch_size(p);
    if (need > 0) {
        if (scratch == NULL) {
            return MQ_ERR_NULL;
        }
        if (scratch_size < need) {
            return MQ_ERR_BUFFER;
        }
        pad_pixel = (uint8_t *)scratch;
    }
    in_image = (size_t)p->in_h * (size_t)p->in_w * (size_t)g->k;
    out_pixel_count = (size_t)out_h * (size_t)out_w;
    if (mq_ranges_overlap(input, (size_t)p->batch * in_image, output,
                          (size_t)p->batch * out_pixel_count * (size_t)g->n) ||
        (pad_pixel != NULL && (mq_ranges_overlap(pad_pixel, need, input, (size_t)p->batch * in_image) ||
                               mq_ranges_overlap(pad_pixel, need, output,
                                                 (size_t)p->batch * out_pixel_count * (size_t)g->n)))) {
        return MQ_ERR_BUFFER;
    }
    mq_conv1x1_unchecked(p, input, output, pad_pixel);
    return MQ_OK;
}
