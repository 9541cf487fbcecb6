/* mq_quantize_multiplier: TFLite QuantizeMultiplier (frexp, Q31 rounding half away from zero). */
#include <math.h>

#include "microquant/mq_host.h"

mq_status mq_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift)
{
    int exponent = 0;
    double q;
    double q_fixed;
    if (multiplier == NULL || shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (!isfinite(real) || real < 0.0) {
        return MQ_ERR_QPARAMS;
    }
    if (real == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return MQ_OK;
    }
    q = frexp(real, &exponent);              /* real = q * 2^exponent, q in [0.5, 1) */
    q_fixed = round(q * 2147483648.0);       /* exact scaling; round() ties away from zero */
    if (q_fixed == 2147483648.0) {
        q_fixed /= 2.0;
        ++exponent;
    }
    if (exponent < MQ_SHIFT_MIN) {
        *multiplier = 0;
        *shift = 0;
        return MQ_OK;
    }
    if (exponent > MQ_SHIFT_MAX) {
        *multiplier = INT32_MAX;
        *shift = MQ_SHIFT_MAX;
        return MQ_OK;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = (int32_t)exponent;
    return MQ_OK;
}
