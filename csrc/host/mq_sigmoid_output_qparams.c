/* mq_sigmoid_output_qparams: fixed sigmoid/softmax output qparams (PyTorch quint8, TFLite int8). */
#include "microquant/mq_host.h"

mq_status mq_sigmoid_output_qparams(mq_dtype dtype, double *scale, int32_t *zero_point)
{
    if (scale == NULL || zero_point == NULL) {
        return MQ_ERR_NULL;
    }
    if (dtype == MQ_DTYPE_UINT8) {
        *scale = 1.0 / 256.0;
        *zero_point = 0;
        return MQ_OK;
    }
    if (dtype == MQ_DTYPE_INT8) {
        *scale = 1.0 / 256.0;
        *zero_point = -128;
        return MQ_OK;
    }
    return MQ_ERR_DTYPE;
}
