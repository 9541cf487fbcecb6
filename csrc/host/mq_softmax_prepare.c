/* mq_softmax_prepare: TFLite's softmax input scaling (5 integer bits for the scaled difference) and diff_min. */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_softmax_prepare(double input_scale, double beta, int32_t *input_multiplier, int32_t *input_left_shift,
                             int32_t *diff_min)
{
    double real;
    int32_t m, s;
    mq_status st;
    if (input_multiplier == NULL || input_left_shift == NULL || diff_min == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_scale_ok(input_scale) || !mq_scale_ok(beta)) {
        return MQ_ERR_QPARAMS;
    }
    real = beta * input_scale * 67108864.0;                 /* * 2^(31 - 5) */
    if (!(real <= 2147483647.0)) {
        real = 2147483647.0;
    }
    if (!(real > 1.0)) {
        return MQ_ERR_QPARAMS;                              /* TFLite requires a multiplier greater than one */
    }
    /* QuantizeMultiplier(real) with its exponent in [1, 31]: real / 2 has the same mantissa, exponent - 1 <= 30 */
    st = mq_quantize_multiplier(real / 2.0, &m, &s);
    if (st != MQ_OK) {
        return st;
    }
    *input_multiplier = m;
    *input_left_shift = s + 1;
    *diff_min = -(int32_t)((31u << 26) >> (uint32_t)(s + 1));
    return MQ_OK;
}
