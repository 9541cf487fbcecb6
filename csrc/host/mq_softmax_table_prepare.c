/* mq_softmax_table_prepare: the exp table and output reciprocal of the one-rounding softmax (mq_softmax_table).
 * Host only: float and libm are fine here. */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_softmax_table_prepare(double input_scale, double output_scale, mq_softmax_recip_mode mode,
                                   int32_t exp_table[256], int32_t *multiplier, int32_t *shift)
{
    float recip;
    int e = 0;
    double mant;
    int d;
    if (exp_table == NULL || multiplier == NULL || shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_scale_ok(input_scale) || !mq_scale_ok(output_scale)) {
        return MQ_ERR_QPARAMS;
    }
    if (mode != MQ_SOFTMAX_RECIP_FLOAT32 && mode != MQ_SOFTMAX_RECIP_ORT_QLINEAR) {
        return MQ_ERR_QPARAMS;
    }
    /* the float32 reciprocal of the float32 output scale; QLinearSoftmax floors it */
    recip = 1.0f / (float)output_scale;
    if (mode == MQ_SOFTMAX_RECIP_ORT_QLINEAR) {
        recip = floorf(recip);
    }
    if (!(recip > 0.0f) || !isfinite(recip)) {
        return MQ_ERR_QPARAMS;
    }
    mant = frexp((double)recip, &e);                  /* recip = mant * 2^e, mant in [0.5, 1) */
    if (e > 24 || e < -38) {
        return MQ_ERR_QPARAMS;                        /* shift = 24 - e must lie in [0, 62] */
    }
    *multiplier = (int32_t)ldexp(mant, 24);           /* exact: a float32 has 24 significant bits */
    *shift = 24 - e;
    for (d = 0; d < 256; ++d) {
        const double v = floor(ldexp(exp(-input_scale * (double)d), 30) + 0.5);
        exp_table[d] = (int32_t)v;                    /* in [0, 2^30]; exp(0) = 2^30 exactly */
    }
    return MQ_OK;
}
