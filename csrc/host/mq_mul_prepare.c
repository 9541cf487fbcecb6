/* mq_mul_prepare: mq_mul parameters from float qparams (TFLite MUL: M = s1 * s2 / s_out in double). */
#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_mul_prepare(double in1_scale, int32_t in1_zero_point, mq_dtype in1_dtype,
                         double in2_scale, int32_t in2_zero_point, mq_dtype in2_dtype,
                         double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                         int32_t act_min, int32_t act_max, mq_broadcast broadcast, int32_t channels,
                         mq_mul_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_scale_ok(in1_scale) || !mq_scale_ok(in2_scale) || !mq_scale_ok(out_scale)) {
        return MQ_ERR_QPARAMS;
    }
    p->in1_dtype = in1_dtype;
    p->in2_dtype = in2_dtype;
    p->out_dtype = out_dtype;
    p->in1_zero_point = in1_zero_point;
    p->in2_zero_point = in2_zero_point;
    p->out_zero_point = out_zero_point;
    p->act_min = act_min;
    p->act_max = act_max;
    p->broadcast = broadcast;
    p->channels = channels;
    p->single_rounding = 0;
    st = mq_quantize_multiplier(in1_scale * in2_scale / out_scale, &p->out_multiplier, &p->out_shift);
    return st != MQ_OK ? st : mq_mul_check(p);
}
