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
    op->flags = r[MQ_O_FLAGS];
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
    fc->single_rounding = 0; /* mq_model_run sets it from the header flags */
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
    add->broadcast = (mq_broadcast)p[MQ_P_ADD_BROADCAST];
    /* channels only for a per-channel operand (the kernel's check wants 0 otherwise) */
    add->channels = add->broadcast == MQ_BCAST_CHANNEL && out->rank >= 1 && out->rank <= 4 ? out->dims[out->rank - 1] : 0;
}

/* outer = product of the dims before axis, size = dims[axis] (0 for axis >= 4), inner = product of the dims after it
 * (SOFTMAX and SOFTMAX_TABLE). */
static void mq_softmax_axis_split(const mq_tensor_rec *in, uint32_t axis, int32_t *outer, int32_t *size, int32_t *inner)
{
    int32_t o = 1, n = 1;
    int32_t i;
    for (i = 0; i < in->rank; i++) {
        if ((uint32_t)i < axis) {
            o *= in->dims[i];
        } else if ((uint32_t)i > axis) {
            n *= in->dims[i];
        }
    }
    *outer = o;
    *size = axis < 4u ? in->dims[axis] : 0;
    *inner = n;
}

void mq_op_softmax_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                          const mq_tensor_rec *out, mq_softmax_params *sm)
{
    const uint32_t axis = op->p[MQ_P_SOFTMAX_AXIS];
    mq_softmax_axis_split(in, axis, &sm->outer, &sm->axis_size, &sm->inner);
    sm->in_dtype = in->dtype;
    sm->out_dtype = out->dtype;
    sm->input_multiplier = (int32_t)op->p[MQ_P_SOFTMAX_MULTIPLIER];
    sm->input_left_shift = (int32_t)op->p[MQ_P_SOFTMAX_LEFT_SHIFT];
    sm->diff_min = (int32_t)op->p[MQ_P_SOFTMAX_DIFF_MIN];
    (void)constants;
}

void mq_op_softmax_table_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                                const mq_tensor_rec *out, mq_softmax_table_params *sm)
{
    const uint32_t axis = op->p[MQ_P_SMT_AXIS];
    mq_softmax_axis_split(in, axis, &sm->outer, &sm->axis_size, &sm->inner);
    sm->in_dtype = in->dtype;
    sm->out_dtype = out->dtype;
    sm->out_zero_point = out->zero_point;
    sm->exp_table = (const int32_t *)(const void *)(constants + op->p[MQ_P_SMT_EXP_TABLE]);
    sm->multiplier = (int32_t)op->p[MQ_P_SMT_MULTIPLIER];
    sm->shift = (int32_t)op->p[MQ_P_SMT_SHIFT];
}

void mq_op_window(const mq_op_rec *op, uint32_t base, const mq_tensor_rec *in, const mq_tensor_rec *out,
                  mq_window *win)
{
    const uint32_t *w = op->p + base;
    win->batch = in->dims[0];
    win->in_h = in->dims[1];
    win->in_w = in->dims[2];
    win->out_h = out->dims[1];
    win->out_w = out->dims[2];
    win->kernel_h = (int32_t)w[MQ_W_KERNEL_H];
    win->kernel_w = (int32_t)w[MQ_W_KERNEL_W];
    win->stride_h = (int32_t)w[MQ_W_STRIDE_H];
    win->stride_w = (int32_t)w[MQ_W_STRIDE_W];
    win->dilation_h = (int32_t)w[MQ_W_DILATION_H];
    win->dilation_w = (int32_t)w[MQ_W_DILATION_W];
    win->pad_top = (int32_t)w[MQ_W_PAD_TOP];
    win->pad_bottom = (int32_t)w[MQ_W_PAD_BOTTOM];
    win->pad_left = (int32_t)w[MQ_W_PAD_LEFT];
    win->pad_right = (int32_t)w[MQ_W_PAD_RIGHT];
}

void mq_op_convk_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                        const mq_tensor_rec *out, mq_conv_params *conv)
{
    mq_op_window(op, MQ_P_CONVK_WINDOW, in, out, &conv->win);
    conv->in_c = in->dims[3];
    conv->in_zero_point = in->zero_point;
    mq_op_fc_params(constants, op, in, &conv->gemm);
}

void mq_op_depthwise_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                            const mq_tensor_rec *out, mq_depthwise_params *dw)
{
    const uint32_t *p = op->p;
    mq_op_window(op, MQ_P_DW_WINDOW, in, out, &dw->win);
    dw->in_c = in->dims[3];
    dw->depth_multiplier = (int32_t)p[MQ_P_DW_MULTIPLIER];
    dw->in_dtype = in->dtype;
    dw->out_dtype = (mq_dtype)p[MQ_P_DW_OUT_DTYPE];
    dw->in_zero_point = in->zero_point;
    dw->out_zero_point = (int32_t)p[MQ_P_DW_OUT_ZERO_POINT];
    dw->weights.data = (const void *)(constants + p[MQ_P_DW_WEIGHTS]);
    dw->bias.folded = (const int32_t *)(const void *)(constants + p[MQ_P_DW_BIAS]);
    dw->multiplier = (const int32_t *)(const void *)(constants + p[MQ_P_DW_QMULT]);
    dw->shift = (const int32_t *)(const void *)(constants + p[MQ_P_DW_SHIFT]);
    dw->per_channel = (int32_t)p[MQ_P_DW_PER_CHANNEL];
    dw->act_min = (int32_t)p[MQ_P_DW_ACT_MIN];
    dw->act_max = (int32_t)p[MQ_P_DW_ACT_MAX];
    dw->lut = p[MQ_P_DW_LUT + 1] != 0u ? constants + p[MQ_P_DW_LUT] : NULL;
    dw->single_rounding = 0; /* mq_model_run sets it from the header flags */
}

void mq_op_pool_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out, mq_pool_params *pool)
{
    mq_op_window(op, MQ_P_POOL_WINDOW, in, out, &pool->win);
    pool->channels = in->dims[3];
    pool->dtype = in->dtype;
    pool->act_min = (int32_t)op->p[MQ_P_POOL_ACT_MIN];
    pool->act_max = (int32_t)op->p[MQ_P_POOL_ACT_MAX];
}

void mq_op_mean_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out, mq_mean_params *mean)
{
    mean->batch = in->dims[0];
    mean->h = in->dims[1];
    mean->w = in->dims[2];
    mean->channels = in->dims[3];
    mean->in_dtype = in->dtype;
    mean->out_dtype = out->dtype;
    mean->in_zero_point = in->zero_point;
    mean->out_zero_point = out->zero_point;
    mean->multiplier = (int32_t)op->p[MQ_P_MEAN_MULTIPLIER];
    mean->shift = (int32_t)op->p[MQ_P_MEAN_SHIFT];
    mean->act_min = (int32_t)op->p[MQ_P_MEAN_ACT_MIN];
    mean->act_max = (int32_t)op->p[MQ_P_MEAN_ACT_MAX];
}

void mq_op_pad_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out, mq_pad_params *pad)
{
    int32_t i;
    for (i = 0; i < 4; i++) {
        pad->in_dims[i] = in->dims[i];
        pad->before[i] = (int32_t)op->p[MQ_P_PAD_BEFORE + i];
        pad->after[i] = (int32_t)op->p[MQ_P_PAD_AFTER + i];
    }
    pad->value = (uint8_t)((uint32_t)out->zero_point & 0xFFu);
}

void mq_op_concat_params(const mq_op_rec *op, const mq_tensor_rec *ins, mq_concat_params *cat)
{
    const uint32_t axis = op->p[MQ_P_CONCAT_AXIS];
    int32_t outer = 1, inner = 1;
    uint32_t i;
    for (i = 0; i < 4u; i++) {
        if (i < axis) {
            outer *= ins[0].dims[i];
        } else if (i > axis) {
            inner *= ins[0].dims[i]; /* dims beyond rank are 1 */
        }
    }
    cat->num_inputs = (int32_t)op->num_inputs;
    cat->outer = outer;
    cat->inner = inner;
    for (i = 0; i < (uint32_t)MQ_CONCAT_MAX_INPUTS; i++) {
        cat->axis_sizes[i] = i < op->num_inputs && axis < 4u ? ins[i].dims[axis] : 0;
    }
}

void mq_op_mul_params(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                      const mq_tensor_rec *out, mq_mul_params *mul)
{
    mul->in1_dtype = in1->dtype;
    mul->in2_dtype = in2->dtype;
    mul->out_dtype = out->dtype;
    mul->in1_zero_point = in1->zero_point;
    mul->in2_zero_point = in2->zero_point;
    mul->out_zero_point = out->zero_point;
    mul->out_multiplier = (int32_t)op->p[MQ_P_MUL_MULTIPLIER];
    mul->out_shift = (int32_t)op->p[MQ_P_MUL_SHIFT];
    mul->act_min = (int32_t)op->p[MQ_P_MUL_ACT_MIN];
    mul->act_max = (int32_t)op->p[MQ_P_MUL_ACT_MAX];
    mul->broadcast = (mq_broadcast)op->p[MQ_P_MUL_BROADCAST];
    mul->single_rounding = (int32_t)op->p[MQ_P_MUL_SINGLE_ROUNDING];
    /* channels only for a per-channel operand (the kernel's check wants 0 otherwise) */
    mul->channels = mul->broadcast == MQ_BCAST_CHANNEL && out->rank >= 1 && out->rank <= 4 ? out->dims[out->rank - 1] : 0;
}

void mq_op_requantize_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out,
                             mq_requantize_params *rq)
{
    rq->in_dtype = in->dtype;
    rq->out_dtype = out->dtype;
    rq->in_zero_point = in->zero_point;
    rq->out_zero_point = out->zero_point;
    rq->multiplier = (int32_t)op->p[MQ_P_REQ_MULTIPLIER];
    rq->shift = (int32_t)op->p[MQ_P_REQ_SHIFT];
}
