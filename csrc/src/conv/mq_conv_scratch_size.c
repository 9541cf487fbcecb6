/* mq_conv_scratch_size: bytes of arena scratch mq_conv needs (im2col block, or the 1x1 path's padding pixel). */
#include "microquant/mq_kernels.h"

#include "mq_conv_internal.h"

size_t mq_conv_scratch_size(const mq_conv_params *p)
{
    if (mq_conv_check(p) != MQ_OK) {
        return 0;
    }
    if (mq_conv_is_1x1(p)) {
        mq_conv1x1_params c;
        mq_conv_as_1x1(p, &c);
        return mq_conv1x1_scratch_size(&c);
    }
    return (size_t)mq_conv_block_rows(p) * (size_t)mq_conv_row_bytes(p);
}
