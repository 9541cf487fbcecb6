/* mq_depthwise_prepare_bias: fold the input zero point into the depthwise bias, modulo 2^32. */
#include "microquant/mq_host.h"

mq_status mq_depthwise_prepare_bias(const int8_t *w, const int32_t *bias, int32_t kernel_h, int32_t kernel_w,
                                    int32_t out_c, int32_t in_zero_point, mq_dtype in_dtype, int32_t *prepared)
{
    int64_t taps;
    int32_t o;
    if (w == NULL || prepared == NULL) {
        return MQ_ERR_NULL;
    }
    if (kernel_h < 1 || kernel_w < 1 || out_c < 1 || kernel_h > (1 << 24) || kernel_w > (1 << 24) || out_c > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    taps = (int64_t)kernel_h * kernel_w;
    if (taps * out_c > INT32_MAX) {
        return MQ_ERR_SHAPE;
    }
    if (in_dtype != MQ_DTYPE_INT8 && in_dtype != MQ_DTYPE_UINT8) {
        return MQ_ERR_DTYPE;
    }
    if (in_zero_point < mq_dtype_min(in_dtype) || in_zero_point > mq_dtype_max(in_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    for (o = 0; o < out_c; ++o) {
        int64_t sum = 0;
        int64_t t;
        uint32_t v;
        for (t = 0; t < taps; ++t) {
            sum += w[t * out_c + o];
        }
        /* bias - zp * sum, wrapped modulo 2^32: the kernels' int32 sums wrap the same way, so the result equals
         * TFLite's bias + sum (x - zp) w whenever that fits int32 (and wraps like it otherwise). */
        v = (uint32_t)(bias != NULL ? bias[o] : 0) - (uint32_t)((int64_t)in_zero_point * sum);
        prepared[o] = v <= (uint32_t)INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
    }
    return MQ_OK;
}
