/*
 * mq_conv1x1_inplace: pointwise convolution writing its output over its input.
 *
 *   buf      input [batch, h, w, k] at buf, output [batch, h, w, n] also from buf; stride 1, no padding, n <= k
 *   scratch  MQ_CONV1X1_INPLACE_BLOCK (or fewer, the pixel count) pixels x n bytes
 *
 * Pixels go to the GEMM microkernel in blocks of up to MQ_CONV1X1_INPLACE_BLOCK: the block's outputs land in
 * scratch, then are copied to [p0 * n, (p0 + m) * n), which lies inside the input bytes of pixels < p0 + m
 * (n <= k): all already read. The microkernel and its per-group set-up are the out-of-place path's; only the
 * pixel count per call is smaller (16 instead of all). Same bytes as mq_conv1x1.
 * When the core's GEMM reads every input row before storing outputs over it (MQ_GEMM_IN_PLACE: the MVE row-outer
 * path; the DSP pair loop, which expands each block of pairs to stack lanes first, with the GEMV loop for an odd
 * last row) the whole layer is one call writing straight over buf (the scratch stays unused; no copy).
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

/* Pixels of the (unpadded, stride-1) layer, or 0 when the in-place geometry does not hold. */
static uint64_t mq_conv1x1_inplace_pixels(const mq_conv1x1_params *p)
{
    if (p == NULL || p->gemm.n < 1 || p->gemm.k < 1 || p->gemm.n > p->gemm.k || p->stride_h != 1 ||
        p->stride_w != 1 || p->pad_top != 0 || p->pad_left != 0 || p->pad_bottom != 0 || p->pad_right != 0 ||
        p->batch < 1 || p->in_h < 1 || p->in_w < 1) {
        return 0u;
    }
    return (uint64_t)p->batch * (uint64_t)p->in_h * (uint64_t)p->in_w;
}

size_t mq_conv1x1_inplace_scratch_size(const mq_conv1x1_params *p)
{
    const uint64_t pixels = mq_conv1x1_inplace_pixels(p);
    const uint64_t block = pixels < (uint64_t)MQ_CONV1X1_INPLACE_BLOCK ? pixels : (uint64_t)MQ_CONV1X1_INPLACE_BLOCK;
    if (pixels == 0u || pixels > (uint64_t)INT32_MAX) {
        return 0u;
    }
    return (size_t)(block * (uint64_t)p->gemm.n);
}

void mq_conv1x1_inplace_unchecked(const mq_conv1x1_params *p, void *buf, void *scratch)
{
    const mq_fc_params *g = &p->gemm;
    const int32_t pixels = (int32_t)mq_conv1x1_inplace_pixels(p);
    uint8_t *b = (uint8_t *)buf;
    uint8_t *s = (uint8_t *)scratch;
    int32_t p0;
    if (MQ_GEMM_IN_PLACE(g)) {
        /* output pixel i ([i * n, (i + 1) * n), n <= k) is written after input pixel i was read, over input bytes
         * of pixels <= i only: straight into buf, no scratch copy */
        MQ_GEMM_S8_N4K16(g, pixels, b, g->k, b, g->n);
        return;
    }
    for (p0 = 0; p0 < pixels; p0 += MQ_CONV1X1_INPLACE_BLOCK) {
        const int32_t m = pixels - p0 < MQ_CONV1X1_INPLACE_BLOCK ? pixels - p0 : MQ_CONV1X1_INPLACE_BLOCK;
        MQ_GEMM_S8_N4K16(g, m, b + (size_t)p0 * (size_t)g->k, g->k, s, g->n);
        memcpy(b + (size_t)p0 * (size_t)g->n, s, (size_t)m * (size_t)g->n);
    }
}

mq_status mq_conv1x1_inplace(const mq_conv1x1_params *p, void *buf, void *scratch, size_t scratch_size)
{
    size_t need;
    int32_t oh = 0;
    int32_t ow = 0;
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_fc_params_check(&p->gemm);
    if (st != MQ_OK) {
        return st;
    }
    st = mq_conv1x1_output_size(p, &oh, &ow);
    if (st != MQ_OK) {
        return st;
    }
    if (buf == NULL || scratch == NULL) {
        return MQ_ERR_NULL;
    }
    need = mq_conv1x1_inplace_scratch_size(p);
    if (need == 0u) {
        return MQ_ERR_SHAPE;
    }
    if (scratch_size < need) {
        return MQ_ERR_BUFFER;
    }
    if (mq_ranges_overlap(scratch, need, buf,
                          (size_t)p->batch * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->gemm.k)) {
        return MQ_ERR_BUFFER;
    }
    mq_conv1x1_inplace_unchecked(p, buf, scratch);
    return MQ_OK;
}
