/* mq_conv1x1_scratch_size: bytes of scratch mq_conv1x1 needs (one pixel of padding codes when padded). */
#include "microquant/mq_kernels.h"

size_t mq_conv1x1_scratch_size(const mq_conv1x1_params *p)
{
    if (p == NULL || p->gemm.k < 1) {
        return 0;
    }
    if (p->pad_top > 0 || p->pad_left > 0 || p->pad_bottom > 0 || p->pad_right > 0) {
        return (size_t)p->gemm.k;
    }
    return 0;
}
