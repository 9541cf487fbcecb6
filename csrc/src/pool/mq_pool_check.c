/*
 * mq_pool_check: validation of mq_pool_params for mq_avg_pool / mq_max_pool (called once by the loader,
 * and again by the kernels: it is O(1)).
 *
 * Window (per axis, dilation 1):
 *   out = (in + pad_before + pad_after - kernel) / stride + 1        (in + pads >= kernel, out >= 1)
 * Output pixel o reads rows [o*stride - pad_before, o*stride - pad_before + kernel) clipped to [0, in);
 * every window must contain at least one input element (TFLite fails at run time otherwise), i.e.
 *   pad_before <= kernel - 1  and  (out - 1) * stride - pad_before <= in - 1.
 * Limits: every size in [1, 2^24] (pads in [0, 2^24]), kernel_h * kernel_w <= 2^22 (the int32 window sum of
 * the average cannot overflow), batch*in_h*in_w*channels and batch*out_h*out_w*channels <= INT32_MAX,
 * 8-bit dtype, qmin <= act_min <= act_max <= qmax.
 */
#include "microquant/mq_kernels.h"

#include "mq_params_internal.h"

#define MQ_POOL_MAX_TAPS (1 << 22)

static int mq_pool_axis_ok(int32_t in, int32_t out, int32_t k, int32_t stride, int32_t dilation,
                           int32_t pad_before, int32_t pad_after)
{
    int64_t span;
    if (in < 1 || out < 1 || k < 1 || stride < 1 || in > MQ_MAX_DIM || out > MQ_MAX_DIM || k > MQ_MAX_DIM ||
        stride > MQ_MAX_DIM || dilation != 1 || pad_before < 0 || pad_after < 0 || pad_before > MQ_MAX_DIM ||
        pad_after > MQ_MAX_DIM) {
        return 0;
    }
    span = (int64_t)in + pad_before + pad_after - k;
    if (span < 0 || span / stride + 1 != out) {
        return 0;
    }
    /* first window reaches row 0, last window starts inside the input */
    return pad_before <= k - 1 && (int64_t)(out - 1) * stride - pad_before <= (int64_t)in - 1;
}

mq_status mq_pool_check(const mq_pool_params *p)
{
    const mq_window *w;
    int32_t dims[4];
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    if (!mq_dtype_is_8bit(p->dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (w->batch < 1 || w->batch > MQ_MAX_DIM || p->channels < 1 || p->channels > MQ_MAX_DIM ||
        !mq_pool_axis_ok(w->in_h, w->out_h, w->kernel_h, w->stride_h, w->dilation_h, w->pad_top, w->pad_bottom) ||
        !mq_pool_axis_ok(w->in_w, w->out_w, w->kernel_w, w->stride_w, w->dilation_w, w->pad_left, w->pad_right) ||
        (int64_t)w->kernel_h * w->kernel_w > MQ_POOL_MAX_TAPS) {
        return MQ_ERR_SHAPE;
    }
    dims[0] = w->batch;
    dims[1] = w->in_h;
    dims[2] = w->in_w;
    dims[3] = p->channels;
    if (!mq_product_ok(dims, 4)) {
        return MQ_ERR_SHAPE;
    }
    dims[1] = w->out_h;
    dims[2] = w->out_w;
    if (!mq_product_ok(dims, 4)) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_act_range_ok(p->act_min, p->act_max, p->dtype)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}
