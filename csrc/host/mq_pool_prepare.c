/* mq_pool_prepare: one call from the layer description (float qparams, fused clip) to checked mq_pool_params. */
#include <string.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_pool_prepare(int32_t batch, int32_t in_h, int32_t in_w, int32_t channels,
                          int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                          int32_t pad_top, int32_t pad_bottom, int32_t pad_left, int32_t pad_right,
                          mq_dtype dtype, double scale, int32_t zero_point, double clip_lo, double clip_hi,
                          mq_pool_params *p)
{
    mq_status st;
    int64_t span_h, span_w;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    memset(p, 0, sizeof *p);
    if (stride_h < 1 || stride_w < 1) {
        return MQ_ERR_SHAPE;
    }
    span_h = (int64_t)in_h + pad_top + pad_bottom - kernel_h;
    span_w = (int64_t)in_w + pad_left + pad_right - kernel_w;
    if (span_h < 0 || span_w < 0 || span_h / stride_h + 1 > INT32_MAX || span_w / stride_w + 1 > INT32_MAX) {
        return MQ_ERR_SHAPE;
    }
    p->win.batch = batch;
    p->win.in_h = in_h;
    p->win.in_w = in_w;
    p->win.out_h = (int32_t)(span_h / stride_h + 1);
    p->win.out_w = (int32_t)(span_w / stride_w + 1);
    p->win.kernel_h = kernel_h;
    p->win.kernel_w = kernel_w;
    p->win.stride_h = stride_h;
    p->win.stride_w = stride_w;
    p->win.dilation_h = 1;
    p->win.dilation_w = 1;
    p->win.pad_top = pad_top;
    p->win.pad_bottom = pad_bottom;
    p->win.pad_left = pad_left;
    p->win.pad_right = pad_right;
    p->channels = channels;
    p->dtype = dtype;
    st = mq_clip_range(clip_lo, clip_hi, scale, zero_point, dtype, &p->act_min, &p->act_max);
    return st != MQ_OK ? st : mq_pool_check(p);
}
