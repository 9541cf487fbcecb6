/* mq_depthwise_check: validate every parameter of a depthwise convolution (the loader calls it once per layer). */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_microkernels.h"

mq_status mq_depthwise_check(const mq_depthwise_params *p)
{
    int64_t out_c;
    int32_t count;
    int32_t i;
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_window_check(&p->win);
    if (st != MQ_OK) {
        return st;
    }
    if (p->weights.data == NULL || p->bias.folded == NULL || p->multiplier == NULL || p->shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->in_c < 1 || p->in_c > MQ_MAX_DIM || p->depth_multiplier < 1 || p->depth_multiplier > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    out_c = (int64_t)p->in_c * p->depth_multiplier;
    if (out_c > MQ_MAX_DIM || (int64_t)p->win.kernel_h * p->win.kernel_w > MQ_DW_MAX_TAPS ||
        (int64_t)p->win.batch * p->win.in_h * p->win.in_w * p->in_c > INT32_MAX ||
        (int64_t)p->win.batch * p->win.out_h * p->win.out_w * out_c > INT32_MAX) {
        return MQ_ERR_SHAPE;
    }
    if (((uintptr_t)p->weights.data & 3u) != 0u || ((uintptr_t)p->bias.folded & 3u) != 0u) {
        return MQ_ERR_ALIGN;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if ((p->per_channel != 0 && p->per_channel != 1) || (p->single_rounding != 0 && p->single_rounding != 1)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->in_zero_point < mq_dtype_min(p->in_dtype) || p->in_zero_point > mq_dtype_max(p->in_dtype) ||
        p->out_zero_point < mq_dtype_min(p->out_dtype) || p->out_zero_point > mq_dtype_max(p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->act_min > p->act_max || p->act_min < mq_dtype_min(p->out_dtype) ||
        p->act_max > mq_dtype_max(p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    count = p->per_channel ? (int32_t)out_c : 1;
    for (i = 0; i < count; ++i) {
        if (!mq_shift_ok(p->shift[i]) || !mq_multiplier_ok(p->multiplier[i])) {
            return MQ_ERR_QPARAMS;
        }
    }
    return MQ_OK;
}
