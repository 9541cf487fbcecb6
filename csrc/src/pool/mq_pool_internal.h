/*
 * MicroQuant internal: the clipped window of one pooling output pixel (shared by mq_avg_pool and mq_max_pool
 * and their fast paths).
 */
#ifndef MICROQUANT_MQ_POOL_INTERNAL_H
#define MICROQUANT_MQ_POOL_INTERNAL_H

#include <stdint.h>

/* [*lo, *hi) = [o*stride - pad, o*stride - pad + k) clipped to [0, in). Non-empty after mq_pool_check. */
static inline void mq_pool_window(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t in,
                                  int32_t *lo, int32_t *hi)
{
    const int32_t start = o * stride - pad;
    const int32_t end = start + k;
    *lo = start < 0 ? 0 : start;
    *hi = end > in ? in : end;
}

#endif /* MICROQUANT_MQ_POOL_INTERNAL_H */
