/* mq_add_prepare: TFLite 8-bit ADD preparation (left_shift 20, inputs rescaled to 2 * max input scale). */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

static int mq_zp_in_range(int32_t zp, mq_dtype t)
{
    return zp >= mq_dtype_min(t) && zp <= mq_dtype_max(t);
}

static int mq_is_8bit(mq_dtype t)
{
    return t == MQ_DTYPE_INT8 || t == MQ_DTYPE_UINT8;
}

mq_status mq_add_prepare(double in1_scale, int32_t in1_zero_point, mq_dtype in1_dtype,
                         double in2_scale, int32_t in2_zero_point, mq_dtype in2_dtype,
                         double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                         int32_t act_min, int32_t act_max, mq_add_params *p)
{
    const int32_t left_shift = 20;
    double twice_max;
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_is_8bit(in1_dtype) || !mq_is_8bit(in2_dtype) || !mq_is_8bit(out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (!mq_scale_ok(in1_scale) || !mq_scale_ok(in2_scale) || !mq_scale_ok(out_scale) ||
        !mq_zp_in_range(in1_zero_point, in1_dtype) || !mq_zp_in_range(in2_zero_point, in2_dtype) ||
        !mq_zp_in_range(out_zero_point, out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    if (act_min > act_max || act_min < mq_dtype_min(out_dtype) || act_max > mq_dtype_max(out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    twice_max = 2.0 * (in1_scale > in2_scale ? in1_scale : in2_scale);
    p->in1_dtype = in1_dtype;
    p->in2_dtype = in2_dtype;
    p->out_dtype = out_dtype;
    p->in1_zero_point = in1_zero_point;
    p->in2_zero_point = in2_zero_point;
    p->out_zero_point = out_zero_point;
    p->left_shift = left_shift;
    p->act_min = act_min;
    p->act_max = act_max;
    p->broadcast = MQ_BCAST_NONE; /* the caller sets a broadcast of in2 (and channels) afterwards */
    p->channels = 0;
    st = mq_quantize_multiplier(in1_scale / twice_max, &p->in1_multiplier, &p->in1_shift);
    if (st == MQ_OK) {
        st = mq_quantize_multiplier(in2_scale / twice_max, &p->in2_multiplier, &p->in2_shift);
    }
    if (st == MQ_OK) {
        st = mq_quantize_multiplier(twice_max / (ldexp(1.0, left_shift) * out_scale), &p->out_multiplier,
                                    &p->out_shift);
    }
    return st;
}
