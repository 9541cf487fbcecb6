/* mq_fold_bias: fold the input zero point (in the signed domain) into the bias, in int64, checked. */
#include "microquant/mq_host.h"

mq_status mq_fold_bias(const int8_t *w, const int32_t *bias, int32_t n, int32_t k,
                       int32_t in_zero_point, mq_dtype in_dtype, int32_t *folded)
{
    int64_t zp_signed;
    int32_t row;
    if (w == NULL || folded == NULL) {
        return MQ_ERR_NULL;
    }
    if (n < 1 || k < 1 || n > (1 << 24) || k > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    if (in_dtype != MQ_DTYPE_INT8 && in_dtype != MQ_DTYPE_UINT8) {
        return MQ_ERR_DTYPE;
    }
    if (in_zero_point < mq_dtype_min(in_dtype) || in_zero_point > mq_dtype_max(in_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    /* UINT8 codes are used as x' = x - 128 by the kernels, so their zero point becomes zp - 128. */
    zp_signed = in_dtype == MQ_DTYPE_UINT8 ? (int64_t)in_zero_point - 128 : (int64_t)in_zero_point;
    for (row = 0; row < n; ++row) {
        int64_t sum = 0;
        int64_t v;
        int32_t col;
        for (col = 0; col < k; ++col) {
            sum += w[(size_t)row * (size_t)k + (size_t)col];
        }
        v = (bias != NULL ? (int64_t)bias[row] : 0) - zp_signed * sum;
        if (v < INT32_MIN || v > INT32_MAX) {
            return MQ_ERR_QPARAMS;
        }
        folded[row] = (int32_t)v;
    }
    return MQ_OK;
}
