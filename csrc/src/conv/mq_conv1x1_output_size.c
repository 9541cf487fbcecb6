/* mq_conv1x1_output_size: output height/width of a pointwise convolution, with range checks. */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

mq_status mq_conv1x1_output_size(const mq_conv1x1_params *p, int32_t *out_h, int32_t *out_w)
{
    int64_t span_h;
    int64_t span_w;
    if (p == NULL || out_h == NULL || out_w == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->batch < 1 || p->in_h < 1 || p->in_w < 1 || p->batch > MQ_MAX_DIM || p->in_h > MQ_MAX_DIM ||
        p->in_w > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    if ((p->stride_h != 1 && p->stride_h != 2) || (p->stride_w != 1 && p->stride_w != 2)) {
        return MQ_ERR_SHAPE;
    }
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 || p->pad_top > MQ_MAX_DIM ||
        p->pad_left > MQ_MAX_DIM || p->pad_bottom > MQ_MAX_DIM || p->pad_right > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    /* (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1 with kernel = 1. */
    span_h = (int64_t)p->in_h + p->pad_top + p->pad_bottom - 1;
    span_w = (int64_t)p->in_w + p->pad_left + p->pad_right - 1;
    if (span_h < 0 || span_w < 0) {
        return MQ_ERR_SHAPE;
    }
    *out_h = (int32_t)(span_h / p->stride_h + 1);
    *out_w = (int32_t)(span_w / p->stride_w + 1);
    return MQ_OK;
}
