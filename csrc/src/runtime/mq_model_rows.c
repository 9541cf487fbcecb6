/* mq_rows_plan_build: the row plan (stream/mq_rows.h) of a ROW_STREAM record and its member records. */
#include "mq_format.h"
#include "stream/mq_rows.h"

static int32_t mq_rows_clamp(uint64_t v)
{
    return v > 0x3FFFFFFFu ? 0x3FFFFFFF : (int32_t)v;
}

void mq_rows_plan_build(const uint8_t *ops, const uint8_t *tensors, uint32_t index, const uint32_t *p,
                        uint32_t seg_in, uint32_t seg_out, mq_rows_plan *plan)
{
    mq_tensor_rec s, y, in, out;
    mq_op_rec op;
    uint32_t j, k, q, outs[MQ_ROWS_MAX];
    plan->members = p[MQ_P_ROWS_MEMBERS] <= (uint32_t)MQ_ROWS_MAX ? p[MQ_P_ROWS_MEMBERS] : 0u;
    mq_tensor_decode(tensors, seg_in, &s);
    mq_tensor_decode(tensors, seg_out, &y);
    plan->in_h = s.dims[1] >= 1 ? s.dims[1] : 1;
    plan->in_row = (int64_t)s.size / plan->in_h;
    plan->out_row = (int64_t)y.size / (y.dims[1] >= 1 ? y.dims[1] : 1);
    plan->out_rel = (int64_t)y.offset - (int64_t)s.offset;
    plan->overlap = y.offset < s.offset + s.size && s.offset < y.offset + y.size;
    if (plan->in_row < 1) {
        plan->in_row = 1;
    }
    if (plan->out_row < 1) {
        plan->out_row = 1;
    }
    for (j = 0; j < plan->members; j++) {
        mq_rows_member *m = &plan->m[j];
        const uint32_t *w = NULL;
        mq_op_decode(ops, index + 1u + j, &op);
        mq_tensor_decode(tensors, op.inputs[0], &in);
        mq_tensor_decode(tensors, op.outputs[0], &out);
        outs[j] = op.outputs[0];
        m->out_h = out.dims[1];
        m->src_h = in.dims[1];
        m->ring = j + 1u < plan->members ? mq_rows_clamp(p[MQ_P_ROWS_RING + 2u * j + 1u]) : 0;
        m->stride = 1;
        m->pad_top = 0;
        m->extent = 1;
        m->elementwise = op.type == (uint32_t)MQ_OP_ADD || op.type == (uint32_t)MQ_OP_LUT;
        if (op.type == (uint32_t)MQ_OP_CONV) {
            w = op.p + MQ_P_CONVK_WINDOW;
        } else if (op.type == (uint32_t)MQ_OP_DEPTHWISE_CONV) {
            w = op.p + MQ_P_DW_WINDOW;
        } else if (op.type == (uint32_t)MQ_OP_CONV_1X1) {
            m->stride = mq_rows_clamp(op.p[MQ_P_CONV_STRIDE_H]);
            m->pad_top = mq_rows_clamp(op.p[MQ_P_CONV_PAD_TOP]);
        }
        if (w != NULL) {
            m->stride = mq_rows_clamp(w[MQ_W_STRIDE_H]);
            m->pad_top = mq_rows_clamp(w[MQ_W_PAD_TOP]);
            m->extent = mq_rows_clamp((uint64_t)w[MQ_W_DILATION_H] * (uint64_t)(w[MQ_W_KERNEL_H] - (w[MQ_W_KERNEL_H] > 0u ? 1u : 0u)) + 1u);
        }
        for (q = 0; q < 2u; q++) {
            const uint32_t t = q < op.num_inputs ? op.inputs[q] : MQ_NO_TENSOR;
            m->src[q] = MQ_ROWS_FROM_NONE;
            if (t == seg_in) {
                m->src[q] = MQ_ROWS_FROM_INPUT;
            } else {
                for (k = 0; k < j; k++) {
                    if (outs[k] == t) {
                        m->src[q] = k;
                    }
                }
            }
        }
        if (m->out_h < 0 || m->src_h < 0 || m->stride < 1) {
            m->out_h = 0; /* hostile: the loader rejected the member already */
            m->stride = 1;
        }
    }
}
