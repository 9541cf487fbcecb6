/* mq_dequantize_f32: 8-bit codes -> float, (q - zero_point) * scale (one float rounding). */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_dequantize_f32(const void *q, size_t n, float scale, int32_t zero_point,
                            mq_dtype dtype, float *out)
{
    const uint8_t *c = (const uint8_t *)q;
    size_t i;
    if (q == NULL || out == NULL) {
        return MQ_ERR_NULL;
    }
    if (dtype != MQ_DTYPE_INT8 && dtype != MQ_DTYPE_UINT8 && dtype != MQ_DTYPE_INT16) {
        return MQ_ERR_DTYPE;
    }
    if (dtype == MQ_DTYPE_INT16) {
        if (!mq_scale_ok((double)scale) || zero_point < -32768 || zero_point > 32767) {
            return MQ_ERR_QPARAMS;
        }
        for (i = 0; i < n; ++i) {
            /* int16 little-endian codes; (code - zp) has <= 17 bits: the double product is exact */
            const uint32_t u = (uint32_t)c[2u * i] | ((uint32_t)c[2u * i + 1u] << 8);
            const int32_t code = (int32_t)u - (int32_t)((u & 0x8000u) << 1);
            out[i] = (float)((double)(code - zero_point) * (double)scale);
        }
        return MQ_OK;
    }
    if (!mq_scale_ok((double)scale) || zero_point < mq_dtype_min(dtype) || zero_point > mq_dtype_max(dtype)) {
        return MQ_ERR_QPARAMS;
    }
    if (n > 256u) {
        /* a table of the 256 possible results, each computed exactly as below: the same floats, faster */
        float table[256];
        uint32_t b;
        for (b = 0; b < 256u; ++b) {
            const int32_t code = dtype == MQ_DTYPE_UINT8 ? (int32_t)b : (int32_t)b - ((int32_t)(b & 0x80u) << 1);
            table[b] = (float)((double)(code - zero_point) * (double)scale);
        }
        for (i = 0; i < n; ++i) {
            out[i] = table[c[i]];
        }
        return MQ_OK;
    }
    for (i = 0; i < n; ++i) {
        const int32_t code = dtype == MQ_DTYPE_UINT8 ? (int32_t)c[i] : (int32_t)c[i] - ((int32_t)(c[i] & 0x80u) << 1);
        /* (code - zp) has <= 9 significant bits, so the double product is exact: one rounding to float. */
        out[i] = (float)((double)(code - zero_point) * (double)scale);
    }
    return MQ_OK;
}
