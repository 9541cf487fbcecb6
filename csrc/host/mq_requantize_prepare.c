/* mq_requantize_prepare: mq_requantize_u8 parameters (TFLite QUANTIZE 8-bit -> 8-bit: M = s_in / s_out). */
#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_requantize_prepare(double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                                double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                                mq_requantize_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_scale_ok(in_scale) || !mq_scale_ok(out_scale)) {
        return MQ_ERR_QPARAMS;
    }
    p->in_dtype = in_dtype;
    p->out_dtype = out_dtype;
    p->in_zero_point = in_zero_point;
    p->out_zero_point = out_zero_point;
    st = mq_quantize_multiplier(in_scale / out_scale, &p->multiplier, &p->shift);
    return st != MQ_OK ? st : mq_requantize_check(p);
}
