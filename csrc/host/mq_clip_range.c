/* mq_clip_range: the code clamp of a fused activation (none, ReLU, ReLU6, Clip(lo, hi)) - QUANTIZATION.md s3. */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_clip_range(double lo, double hi, double scale, int32_t zero_point, mq_dtype dtype,
                        int32_t *act_min, int32_t *act_max)
{
    int32_t qmin, qmax;
    if (act_min == NULL || act_max == NULL) {
        return MQ_ERR_NULL;
    }
    if (dtype != MQ_DTYPE_INT8 && dtype != MQ_DTYPE_UINT8) {
        return MQ_ERR_DTYPE;
    }
    qmin = mq_dtype_min(dtype);
    qmax = mq_dtype_max(dtype);
    if (!mq_scale_ok(scale) || zero_point < qmin || zero_point > qmax || isnan(lo) || isnan(hi) || lo > hi) {
        return MQ_ERR_QPARAMS;
    }
    /* zp + round_half_even(v / scale), saturated to the code range (infinities saturate) */
    *act_min = mq_round_div_half_even(lo, 0.0, scale, zero_point, qmin, qmax);
    *act_max = mq_round_div_half_even(hi, 0.0, scale, zero_point, qmin, qmax);
    return MQ_OK;
}
