/* mq_depthwise_scratch_size: bytes of arena scratch mq_depthwise_conv needs: one pixel of in_zero_point codes
 * (in_c bytes rounded up to 4) when any padding is given, else 0. 0 also on invalid p. */
#include "microquant/mq_kernels.h"

size_t mq_depthwise_scratch_size(const mq_depthwise_params *p)
{
    if (mq_depthwise_check(p) != MQ_OK) {
        return 0;
    }
    if (p->win.pad_top > 0 || p->win.pad_bottom > 0 || p->win.pad_left > 0 || p->win.pad_right > 0) {
        return ((size_t)p->in_c + 3u) & ~(size_t)3u;
    }
    return 0;
}
