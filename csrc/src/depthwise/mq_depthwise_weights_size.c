/* mq_depthwise_weights_size: bytes of prepared depthwise weights (int16 [kernel_h][kernel_w][out_c]). */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

size_t mq_depthwise_weights_size(const mq_depthwise_params *p)
{
    int64_t n;
    if (p == NULL || p->win.kernel_h < 1 || p->win.kernel_w < 1 || p->in_c < 1 || p->depth_multiplier < 1 ||
        p->win.kernel_h > MQ_MAX_DIM || p->win.kernel_w > MQ_MAX_DIM || p->in_c > MQ_MAX_DIM ||
        p->depth_multiplier > MQ_MAX_DIM) {
        return 0;
    }
    n = (int64_t)p->win.kernel_h * p->win.kernel_w * p->in_c * p->depth_multiplier;
    if (n > INT32_MAX / 2) {
        return 0;
    }
    return (size_t)n * 2u;
}
