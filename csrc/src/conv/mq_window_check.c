/* mq_window_check: validate the window geometry shared by convolution, depthwise convolution and pooling. */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

static int mq_dim_ok(int32_t v, int32_t lo)
{
    return v >= lo && v <= MQ_MAX_DIM;
}

mq_status mq_window_check(const mq_window *w)
{
    int64_t span_h;
    int64_t span_w;
    if (w == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dim_ok(w->batch, 1) || !mq_dim_ok(w->in_h, 1) || !mq_dim_ok(w->in_w, 1) || !mq_dim_ok(w->out_h, 1) ||
        !mq_dim_ok(w->out_w, 1) || !mq_dim_ok(w->kernel_h, 1) || !mq_dim_ok(w->kernel_w, 1) ||
        !mq_dim_ok(w->stride_h, 1) || !mq_dim_ok(w->stride_w, 1) || !mq_dim_ok(w->dilation_h, 1) ||
        !mq_dim_ok(w->dilation_w, 1) || !mq_dim_ok(w->pad_top, 0) || !mq_dim_ok(w->pad_bottom, 0) ||
        !mq_dim_ok(w->pad_left, 0) || !mq_dim_ok(w->pad_right, 0)) {
        return MQ_ERR_SHAPE;
    }
    /* out = (in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride + 1 */
    span_h = (int64_t)w->in_h + w->pad_top + w->pad_bottom - (int64_t)w->dilation_h * (w->kernel_h - 1) - 1;
    span_w = (int64_t)w->in_w + w->pad_left + w->pad_right - (int64_t)w->dilation_w * (w->kernel_w - 1) - 1;
    if (span_h < 0 || span_w < 0 || span_h / w->stride_h + 1 != w->out_h || span_w / w->stride_w + 1 != w->out_w) {
        return MQ_ERR_SHAPE;
    }
    /* every tensor of the batch stays far from size_t / int32 overflow */
    if ((int64_t)w->batch * w->in_h * w->in_w > MQ_MAX_DIM || (int64_t)w->batch * w->out_h * w->out_w > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    return MQ_OK;
}
