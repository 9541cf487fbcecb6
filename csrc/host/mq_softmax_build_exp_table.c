/* mq_softmax_build_exp_table: Q16 table of exp(-d * in_scale), d = 0..255, rounded half to even. */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_softmax_build_exp_table(double in_scale, uint32_t exp_table[256])
{
    int32_t d;
    if (exp_table == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_scale_ok(in_scale)) {
        return MQ_ERR_QPARAMS;
    }
    for (d = 0; d < 256; ++d) {
        /* exp of a value <= 0 is in (0, 1]: never overflows; d = 0 gives exactly 65536. */
        const double v = exp(-(double)d * in_scale) * 65536.0;
        exp_table[d] = (uint32_t)mq_round_half_even_clamp(v, 0, 65536);
    }
    return MQ_OK;
}
