/*
 * MicroQuant: kernel parameters of the 16x8 ops (op types 32..43, docs/FORMAT.md) from a decoded op record and
 * its tensors. No validation: the loader checks every field before the interpreter uses them.
 */
#include <string.h>

#include "mq_format.h"

#if MQ_OP_ANY_S16_ENABLED

/* Address of a constant reference's data; NULL when its size word is 0. */
static const void *mq_s16_ref(const uint8_t *constants, const uint32_t *p, uint32_t word)
{
    return p[word + 1u] != 0u ? (const void *)(constants + p[word]) : NULL;
}

void mq_op_fc_s16_params(const uint8_t *constants, const mq_op_rec *op, mq_fc_s16_params *fc)
{
    const uint32_t *p = op->p;
    memset(fc, 0, sizeof *fc);
    fc->n = (int32_t)p[MQ_P_S16_N];
    fc->k = (int32_t)p[MQ_P_S16_K];
    fc->per_channel = (int32_t)p[MQ_P_S16_PER_CHANNEL];
    fc->act_min = (int32_t)p[MQ_P_S16_ACT_MIN];
    fc->act_max = (int32_t)p[MQ_P_S16_ACT_MAX];
    fc->weights = (const int8_t *)mq_s16_ref(constants, p, MQ_P_S16_WEIGHTS);
    fc->bias = (const int64_t *)mq_s16_ref(constants, p, MQ_P_S16_BIAS);
    fc->multiplier = (const int32_t *)mq_s16_ref(constants, p, MQ_P_S16_MULTIPLIER);
    fc->shift = (const int32_t *)mq_s16_ref(constants, p, MQ_P_S16_SHIFT);
    fc->exact_scale = NULL; /* the packed format uses mq_requantize64 (TFLite Micro / CMSIS-NN) */
}

void mq_op_conv_s16_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                           const mq_tensor_rec *out, mq_conv_s16_params *conv)
{
    memset(conv, 0, sizeof *conv);
    mq_op_window(op, MQ_P_S16_CONV_WINDOW, in, out, &conv->win);
    conv->in_c = in->dims[3];
    mq_op_fc_s16_params(constants, op, &conv->gemm);
}

void mq_op_depthwise_s16_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                                const mq_tensor_rec *out, mq_depthwise_s16_params *dw)
{
    const uint32_t *p = op->p;
    memset(dw, 0, sizeof *dw);
    mq_op_window(op, MQ_P_S16DW_WINDOW, in, out, &dw->win);
    dw->in_c = in->dims[3];
    dw->depth_multiplier = (int32_t)p[MQ_P_S16DW_MULTIPLIER];
    dw->per_channel = (int32_t)p[MQ_P_S16DW_PER_CHANNEL];
    dw->act_min = (int32_t)p[MQ_P_S16DW_ACT_MIN];
    dw->act_max = (int32_t)p[MQ_P_S16DW_ACT_MAX];
    dw->weights = (const int8_t *)mq_s16_ref(constants, p, MQ_P_S16DW_WEIGHTS);
    dw->bias = (const int64_t *)mq_s16_ref(constants, p, MQ_P_S16DW_BIAS);
    dw->multiplier = (const int32_t *)mq_s16_ref(constants, p, MQ_P_S16DW_QMULT);
    dw->shift = (const int32_t *)mq_s16_ref(constants, p, MQ_P_S16DW_SHIFT);
}

void mq_op_add_s16_params(const mq_op_rec *op, mq_add_s16_params *add)
{
    const uint32_t *p = op->p;
    add->left_shift = (int32_t)p[MQ_P_ADD_LEFT_SHIFT];
    add->in1_multiplier = (int32_t)p[MQ_P_ADD_IN1_MULTIPLIER];
    add->in1_shift = (int32_t)p[MQ_P_ADD_IN1_SHIFT];
    add->in2_multiplier = (int32_t)p[MQ_P_ADD_IN2_MULTIPLIER];
    add->in2_shift = (int32_t)p[MQ_P_ADD_IN2_SHIFT];
    add->out_multiplier = (int32_t)p[MQ_P_ADD_OUT_MULTIPLIER];
    add->out_shift = (int32_t)p[MQ_P_ADD_OUT_SHIFT];
    add->act_min = (int32_t)p[MQ_P_ADD_ACT_MIN];
    add->act_max = (int32_t)p[MQ_P_ADD_ACT_MAX];
}

void mq_op_mul_s16_params(const mq_op_rec *op, const mq_tensor_rec *out, mq_mul_s16_params *mul)
{
    mul->out_multiplier = (int32_t)op->p[MQ_P_MUL_MULTIPLIER];
    mul->out_shift = (int32_t)op->p[MQ_P_MUL_SHIFT];
    mul->act_min = (int32_t)op->p[MQ_P_MUL_ACT_MIN];
    mul->act_max = (int32_t)op->p[MQ_P_MUL_ACT_MAX];
    mul->broadcast = (mq_broadcast)op->p[MQ_P_MUL_BROADCAST];
    mul->channels = mul->broadcast == MQ_BCAST_CHANNEL && out->rank >= 1 && out->rank <= 4 ? out->dims[out->rank - 1] : 0;
}

void mq_op_pool_s16_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out,
                           mq_pool_s16_params *pool)
{
    mq_op_window(op, MQ_P_POOL_WINDOW, in, out, &pool->win);
    pool->channels = in->dims[3];
    pool->act_min = (int32_t)op->p[MQ_P_POOL_ACT_MIN];
    pool->act_max = (int32_t)op->p[MQ_P_POOL_ACT_MAX];
}

void mq_op_requantize_s16_params(const mq_op_rec *op, const mq_tensor_rec *q8, const mq_tensor_rec *q16,
                                 mq_requantize_s16_params *rq)
{
    rq->q8_dtype = q8->dtype;
    rq->q8_zero_point = q8->zero_point;
    rq->int16_zero_point = q16->zero_point;
    rq->multiplier = (int32_t)op->p[MQ_P_REQ_MULTIPLIER];
    rq->shift = (int32_t)op->p[MQ_P_REQ_SHIFT];
}

void mq_op_rescale_s16_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out,
                              mq_rescale_s16_params *rq)
{
    rq->in_zero_point = in->zero_point;
    rq->out_zero_point = out->zero_point;
    rq->multiplier = (int32_t)op->p[MQ_P_REQ_MULTIPLIER];
    rq->shift = (int32_t)op->p[MQ_P_REQ_SHIFT];
}

void mq_op_softmax_s16_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                              mq_softmax_s16_params *sm)
{
    int32_t outer = 1, i;
    for (i = 0; i + 1 < in->rank; i++) {
        outer *= in->dims[i];
    }
    sm->outer = outer;
    sm->depth = in->dims[in->rank - 1];
    sm->input_multiplier = (int32_t)op->p[MQ_P_S16SM_MULTIPLIER];
    sm->input_shift = (int32_t)op->p[MQ_P_S16SM_SHIFT];
    sm->exp_lut = (const int16_t *)mq_s16_ref(constants, op->p, MQ_P_S16SM_EXP_LUT);
    sm->recip_lut = (const int16_t *)mq_s16_ref(constants, op->p, MQ_P_S16SM_RECIP_LUT);
}

#else
typedef int mq_model_decode_s16_empty; /* ISO C: a translation unit must not be empty */
#endif
