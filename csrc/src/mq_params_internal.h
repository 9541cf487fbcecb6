/*
 * MicroQuant internal: parameter checks shared by the *_check functions of the pooling, mean, mul,
 * requantize, pad and concat kernels. Integer-only, static inline, no undefined behaviour.
 */
#ifndef MICROQUANT_MQ_PARAMS_INTERNAL_H
#define MICROQUANT_MQ_PARAMS_INTERNAL_H

#include <stdint.h>

#include "mq_kernels_internal.h"

/* Largest element count of one tensor these kernels accept (every index fits int32 and size_t). */
#define MQ_MAX_ELEMENTS INT32_MAX

/* 1 when zp is a code of the 8-bit dtype t (t must be checked to be 8-bit first). */
static inline int mq_zp_in_dtype(int32_t zp, mq_dtype t)
{
    return zp >= mq_dtype_min(t) && zp <= mq_dtype_max(t);
}

/* 1 when qmin(t) <= lo <= hi <= qmax(t). */
static inline int mq_act_range_ok(int32_t lo, int32_t hi, mq_dtype t)
{
    return lo <= hi && lo >= mq_dtype_min(t) && hi <= mq_dtype_max(t);
}

/* 1 when the product of the n positive int32 values is <= MQ_MAX_ELEMENTS (each must be >= 1). */
static inline int mq_product_ok(const int32_t *v, int n)
{
    int64_t prod = 1;
    int i;
    for (i = 0; i < n; ++i) {
        if (v[i] < 1) {
            return 0;
        }
        prod *= (int64_t)v[i];
        if (prod > (int64_t)MQ_MAX_ELEMENTS) {
            return 0;
        }
    }
    return 1;
}

#endif /* MICROQUANT_MQ_PARAMS_INTERNAL_H */
