/*
 * MicroQuant: decode tensor and op records of a loaded (validated) model into plain structs,
 * and build the kernel parameter structs of an op. Shared by the loader, the interpreter and
 * the io-info accessors so the byte layout is read in exactly one place.
 */
#include <string.h>

#include "mq_format.h"

void mq_tensor_decode(const uint8_t *tensors, uint32_t id, mq_tensor_rec *t)
{
    const uint8_t *r = tensors + (size_t)id * MQ_TENSOR_RECORD_SIZE;
    int32_t i;
    t->dtype = (mq_dtype)r[MQ_T_DTYPE];
    t->rank = (int32_t)r[MQ_T_RANK];
    for (i = 0; i < 4; i++) {
        int32_t d = (int32_t)mq_rd32(r + MQ_T_DIMS + 4u * (uint32_t)i);
        t->dims[i] = i < t->rank ? d : 1;
    }
    t->zero_point = (int32_t)mq_rd32(r + MQ_T_ZERO_POINT);
    t->scale_bits = mq_rd32(r + MQ_T_SCALE);
    t->storage = r[MQ_T_STORAGE];
    t->offset = mq_rd32(r + MQ_T_OFFSET);
    t->size = mq_rd32(r + MQ_T_SIZE);
}

void mq_op_decode(const uint8_t *ops, uint32_t index, mq_op_rec *op)
{
    const uint8_t *r = ops + (size_t)index * MQ_OP_RECORD_SIZE;
    uint32_t i;
    op->type = r[MQ_O_TYPE];
    op->num_inputs = r[MQ_O_NUM_INPUTS];
    op->num_outputs = r[MQ_O_NUM_OUTPUTS];
    for (i = 0; i < MQ_OP_MAX_INPUTS; i++) {
        op->inputs[i] = mq_rd16(r + MQ_O_INPUTS + 2u * i);
    }
    for (i = 0; i < MQ_OP_MAX_OUTPUTS; i++) {
        op->outputs[i] = mq_rd16(r + MQ_O_OUTPUTS + 2u * i);
    }
    for (i = 0; i < MQ_OP_NUM_PARAMS; i++) {
        op->p[i] = mq_rd32(r + MQ_O_PARAMS + 4u * i);
    }
}

void mq_op_fc_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in, mq_fc_params *fc)
{
    const uint32_t *p = op->p;
    fc->n = (int32_t)p[MQ_P_FC_N];
    fc->k = (int32_t)p[MQ_P_FC_K];
    /* Constant offsets are validated multiples of 16 inside the (4-byte aligned) blob. */
    fc->weights.packed = (const int8_t *)(const void *)(constants + p[MQ_P_FC_WEIGHTS]);
    fc->bias.folded = (const int32_t *)(const void *)(constants + p[MQ_P_FC_BIAS]);
    fc->multiplier = (const int32_t *)(const void *)(constants + p[MQ_P_FC_MULTIPLIER]);
    fc->shift = (const int32_t *)(const void *)(constants + p[MQ_P_FC_SHIFT]);
    fc->per_channel = (int32_t)p[MQ_P_FC_PER_CHANNEL];
    fc->in_dtype = in->dtype;
    fc->out_dtype = (mq_dtype)p[MQ_P_FC_OUT_DTYPE];
    fc->out_zero_point = (int32_t)p[MQ_P_FC_OUT_ZERO_POINT];
    fc->act_min = (int32_t)p[MQ_P_FC_ACT_MIN];
    fc->act_max = (int32_t)p[MQ_P_FC_ACT_MAX];
    fc->lut = p[MQ_P_FC_LUT + 1] != 0u ? constants + p[MQ_P_FC_LUT] : NULL;
}

void mq_op_conv_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                       mq_conv1x1_params *conv)
{
    const uint32_t *p = op->p;
    conv->batch = in->dims[0];
    conv->in_h = in->dims[1];
    conv->in_w = in->dims[2];
    conv->stride_h = (int32_t)p[MQ_P_CONV_STRIDE_H];
    conv->stride_w = (int32_t)p[MQ_P_CONV_STRIDE_W];
    conv->pad_top = (int32_t)p[MQ_P_CONV_PAD_TOP];
    conv->pad_left = (int32_t)p[MQ_P_CONV_PAD_LEFT];
    conv->pad_bottom = (int32_t)p[MQ_P_CONV_PAD_BOTTOM];
    conv->pad_right = (int32_t)p[MQ_P_CONV_PAD_RIGHT];
    mq_op_fc_params(constants, op, in, &conv->gemm);
    conv->in_zero_point = in->zero_point;
}

void mq_op_add_params(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                      const mq_tensor_rec *out, mq_add_params *add)
{
    const uint32_t *p = op->p;
    add->in1_dtype = in1->dtype;
    add->in2_dtype = in2->dtype;
    add->out_dtype = out->dtype;
    add->in1_zero_point = in1->zero_point;
    add->in2_zero_point = in2->zero_point;
    add->out_zero_point = out->zero_point;
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

void mq_op_softmax_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                          const mq_tensor_rec *out, mq_softmax_params *sm)
{
    const uint32_t axis = op->p[MQ_P_SOFTMAX_AXIS];
    int32_t outer = 1, inner = 1;
    int32_t i;
    for (i = 0; i < in->rank; i++) {
        if ((uint32_t)i < axis) {
            outer *= in->dims[i];
        } else if ((uint32_t)i > axis) {
            inner *= in->dims[i];
        }
    }
    sm->outer = outer;
    sm->axis_size = axis < 4u ? in->dims[axis] : 0;
    sm->inner = inner;
    sm->in_dtype = in->dtype;
    sm->out_dtype = out->dtype;
    sm->exp_table = (const uint32_t *)(const void *)(constants + op->p[MQ_P_SOFTMAX_TABLE]);
}
