/* mq_quantize_f32: float -> 8-bit codes, q = clamp(round_half_even(x / scale) + zero_point), in double. */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_quantize_f32(const float *x, size_t n, float scale, int32_t zero_point,
                          mq_dtype dtype, void *out)
{
    uint8_t *o = (uint8_t *)out;
    int32_t lo;
    int32_t hi;
    size_t i;
    if (x == NULL || out == NULL) {
        return MQ_ERR_NULL;
    }
    if (dtype != MQ_DTYPE_INT8 && dtype != MQ_DTYPE_UINT8 && dtype != MQ_DTYPE_INT16) {
        return MQ_ERR_DTYPE;
    }
    lo = dtype == MQ_DTYPE_INT16 ? -32768 : mq_dtype_min(dtype);
    hi = dtype == MQ_DTYPE_INT16 ? 32767 : mq_dtype_max(dtype);
    if (!mq_scale_ok((double)scale) || zero_point < lo || zero_point > hi) {
        return MQ_ERR_QPARAMS;
    }
    for (i = 0; i < n; ++i) {
        if (isnan(x[i])) {
            return MQ_ERR_QPARAMS;
        }
    }
    for (i = 0; i < n; ++i) {
        /* x / scale in double (one rounding), rounded half to even, then the zero point is added:
         * the range [lo - zp, hi - zp] for the rounded value is the code range [lo, hi]. */
        const double v = (double)x[i] / (double)scale;
        const int32_t q = mq_round_half_even_clamp(v, lo - zero_point, hi - zero_point) + zero_point;
        if (dtype == MQ_DTYPE_INT16) {
            /* int16 codes, little-endian (2 bytes per value) */
            o[2u * i] = (uint8_t)((uint32_t)q & 0xFFu);
            o[2u * i + 1u] = (uint8_t)(((uint32_t)q >> 8) & 0xFFu);
        } else {
            o[i] = (uint8_t)q;
        }
    }
    return MQ_OK;
}
