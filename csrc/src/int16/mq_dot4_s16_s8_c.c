/*
 * mq_dot4_s16_s8_c: portable 16x8 dot-product microkernel (contract in mq_s16_internal.h):
 *   acc[r] += sum_{i<k} x[i] * w[r * stride + i],  r = 0..3, exact (int32 blocks of 256 products, then int64).
 */
#include "mq_s16_internal.h"

void mq_dot4_s16_s8_c(const int16_t *x, const int8_t *w, size_t stride, int32_t k, int64_t acc[4])
{
    acc[0] += mq_dot_s16_s8(x, w, k);
    acc[1] += mq_dot_s16_s8(x, w + stride, k);
    acc[2] += mq_dot_s16_s8(x, w + 2u * stride, k);
    acc[3] += mq_dot_s16_s8(x, w + 3u * stride, k);
}
