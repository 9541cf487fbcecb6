/* mq_fc_params_check: validate every field of a fully connected / GEMM parameter block. */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

mq_status mq_fc_params_check(const mq_fc_params *p)
{
    int32_t count;
    int32_t i;
    if (p == NULL || p->weights.packed == NULL || p->bias.folded == NULL || p->multiplier == NULL || p->shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->n < 1 || p->k < 1 || p->n > MQ_MAX_DIM || p->k > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if ((p->per_channel != 0 && p->per_channel != 1) || (p->single_rounding != 0 && p->single_rounding != 1)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->out_zero_point < mq_dtype_min(p->out_dtype) || p->out_zero_point > mq_dtype_max(p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    if (p->act_min > p->act_max || p->act_min < mq_dtype_min(p->out_dtype) ||
        p->act_max > mq_dtype_max(p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    count = p->per_channel ? p->n : 1;
    for (i = 0; i < count; ++i) {
        if (!mq_shift_ok(p->shift[i]) || !mq_multiplier_ok(p->multiplier[i])) {
            return MQ_ERR_QPARAMS;
        }
    }
    return MQ_OK;
}

mq_status mq_fc_call_check(const mq_fc_params *p, int32_t batch, const void *input, const void *output)
{
    mq_status st = mq_fc_params_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (batch < 1 || batch > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    if (mq_ranges_overlap(input, (size_t)batch * (size_t)p->k, output, (size_t)batch * (size_t)p->n)) {
        return MQ_ERR_BUFFER;
    }
    return MQ_OK;
}
