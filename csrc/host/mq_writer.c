/*
 * MicroQuant: host-side writer of packed models (docs/FORMAT.md). No allocation: the caller passes
 * the output buffer (or NULL to ask for the size). One deterministic layout:
 *
 *   header | section table | tensors | ops | io | constants | metadata      (each section 16-aligned)
 *
 * Constants are placed in a fixed order (tensor data and per-channel scales in tensor order, then
 * each op's constants in op order) at 16-byte aligned offsets; every padding byte is zero.
 */
#include <stdio.h>
#include <string.h>

#include "../src/mq_format.h"
#include "microquant/mq_writer.h"

#define MQ_W_SECTIONS 5u

/* Output cursor. buf == NULL: only count. */
typedef struct {
    uint8_t *buf;
    uint64_t const_base;   /* blob offset of the constant section */
    uint64_t const_pos;    /* bytes used in the constant section (16-aligned after each item) */
} mq_wctx;

static uint64_t mq_align16(uint64_t v)
{
    return (v + 15u) & ~(uint64_t)15u;
}

static void mq_wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static void mq_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

/* Append n bytes of constant data (little-endian already, or bytes); returns its section offset. */
static uint32_t mq_put_const(mq_wctx *w, const void *data, size_t n)
{
    const uint64_t off = w->const_pos;
    if (w->buf != NULL && n > 0u) {
        memcpy(w->buf + w->const_base + off, data, n);
    }
    w->const_pos = mq_align16(off + n);
    return (uint32_t)off;
}

/* Append count int32 / uint32 / float values as little-endian words; returns the section offset. */
static uint32_t mq_put_words(mq_wctx *w, const void *words, size_t count)
{
    const uint64_t off = w->const_pos;
    size_t i;
    if (w->buf != NULL) {
        const uint8_t *src = (const uint8_t *)words;
        for (i = 0; i < count; i++) {
            uint32_t v;
            memcpy(&v, src + 4u * i, 4u);
            mq_wr32(w->buf + w->const_base + off + 4u * i, v);
        }
    }
    w->const_pos = mq_align16(off + 4u * (uint64_t)count);
    return (uint32_t)off;
}

static mq_status mq_fail(mq_writer_diag *d, mq_status st, int32_t tensor, int32_t op, const char *msg)
{
    if (d != NULL) {
        d->tensor = tensor;
        d->op = op;
        snprintf(d->message, sizeof d->message, "%s", msg);
    }
    return st;
}

static size_t mq_dtype_size(mq_dtype t)
{
    return t == MQ_DTYPE_INT32 ? 4u : (t == MQ_DTYPE_INT16 ? 2u : 1u);
}

static uint64_t mq_w_tensor_bytes(const mq_writer_tensor *t)
{
    uint64_t n = mq_dtype_size(t->dtype);
    int32_t i;
    for (i = 0; i < t->rank && i < 4; i++) {
        n *= (uint64_t)(t->dims[i] > 0 ? t->dims[i] : 0);
    }
    return n;
}

static size_t mq_strlen0(const char *s)
{
    return s != NULL ? strlen(s) : 0u;
}

/* Write the tensor record for t (and its constants). */
static void mq_w_tensor(mq_wctx *w, uint8_t *rec, const mq_writer_tensor *t)
{
    uint32_t offset = t->arena_offset;
    uint32_t scale_bits;
    uint32_t ch_off = 0u;
    int32_t i;
    if (t->storage == MQ_STORAGE_CONST) {
        offset = mq_put_const(w, t->data, (size_t)mq_w_tensor_bytes(t));
    }
    if (t->channel_scales != NULL && t->num_channel_scales > 0) {
        ch_off = mq_put_words(w, t->channel_scales, (size_t)t->num_channel_scales);
    }
    if (rec == NULL) {
        return;
    }
    rec[MQ_T_DTYPE] = (uint8_t)t->dtype;
    rec[MQ_T_RANK] = (uint8_t)t->rank;
    rec[MQ_T_STORAGE] = (uint8_t)t->storage;
    for (i = 0; i < t->rank; i++) {
        mq_wr32(rec + MQ_T_DIMS + 4u * (uint32_t)i, (uint32_t)t->dims[i]);
    }
    mq_wr32(rec + MQ_T_ZERO_POINT, (uint32_t)t->zero_point);
    memcpy(&scale_bits, &t->scale, 4u);
    mq_wr32(rec + MQ_T_SCALE, scale_bits);
    mq_wr32(rec + MQ_T_OFFSET, offset);
    mq_wr32(rec + MQ_T_SIZE, (uint32_t)mq_w_tensor_bytes(t));
    if (t->channel_scales != NULL && t->num_channel_scales > 0) {
        mq_wr32(rec + MQ_T_CH_OFFSET, ch_off);
        mq_wr32(rec + MQ_T_CH_COUNT, (uint32_t)t->num_channel_scales);
        rec[MQ_T_CH_AXIS] = (uint8_t)t->channel_axis;
    }
}

/* Appends an int64 array as little-endian words (low word first); returns the section offset. */
static uint32_t mq_put_i64(mq_wctx *w, const int64_t *v, size_t count)
{
    const uint64_t off = w->const_pos;
    size_t i;
    if (w->buf != NULL) {
        for (i = 0; i < count; i++) {
            const uint64_t u = (uint64_t)v[i];
            mq_wr32(w->buf + w->const_base + off + 8u * i, (uint32_t)(u & 0xFFFFFFFFu));
            mq_wr32(w->buf + w->const_base + off + 8u * i + 4u, (uint32_t)(u >> 32));
        }
    }
    w->const_pos = mq_align16(off + 8u * (uint64_t)count);
    return (uint32_t)off;
}

/* Appends count int16 values little-endian; returns the section offset. */
static uint32_t mq_put_i16(mq_wctx *w, const int16_t *v, size_t count)
{
    const uint64_t off = w->const_pos;
    size_t i;
    if (w->buf != NULL) {
        for (i = 0; i < count; i++) {
            mq_wr16(w->buf + w->const_base + off + 2u * i, (uint32_t)(uint16_t)v[i]);
        }
    }
    w->const_pos = mq_align16(off + 2u * (uint64_t)count);
    return (uint32_t)off;
}

/* Gemm block p0..p12 of FULLY_CONNECTED_S16 / CONV_S16. */
static void mq_w_gemm_s16(mq_wctx *w, const mq_fc_s16_params *fc, uint32_t *p)
{
    const size_t nq = fc->per_channel ? (size_t)fc->n : 1u;
    p[MQ_P_S16_N] = (uint32_t)fc->n;
    p[MQ_P_S16_K] = (uint32_t)fc->k;
    p[MQ_P_S16_PER_CHANNEL] = fc->per_channel ? 1u : 0u;
    p[MQ_P_S16_ACT_MIN] = (uint32_t)fc->act_min;
    p[MQ_P_S16_ACT_MAX] = (uint32_t)fc->act_max;
    p[MQ_P_S16_WEIGHTS + 1] = (uint32_t)((size_t)fc->n * (size_t)fc->k);
    p[MQ_P_S16_WEIGHTS] = mq_put_const(w, fc->weights, p[MQ_P_S16_WEIGHTS + 1]);
    if (fc->bias != NULL) {
        p[MQ_P_S16_BIAS] = mq_put_i64(w, fc->bias, (size_t)fc->n);
        p[MQ_P_S16_BIAS + 1] = 8u * (uint32_t)fc->n;
    }
    p[MQ_P_S16_MULTIPLIER] = mq_put_words(w, fc->multiplier, nq);
    p[MQ_P_S16_MULTIPLIER + 1] = 4u * (uint32_t)nq;
    p[MQ_P_S16_SHIFT] = mq_put_words(w, fc->shift, nq);
    p[MQ_P_S16_SHIFT + 1] = 4u * (uint32_t)nq;
}

static void mq_w_window_words(const mq_window *win, uint32_t *w);

/* The stream words of STREAM_FC / STREAM_FC_S16. */
static void mq_w_stream_words(const mq_writer_op *op, uint32_t *p)
{
    const int32_t n = op->type == MQ_OP_STREAM_FC ? op->fc.n : op->fc_s16.n;
    p[MQ_P_STREAM_MEMBERS] = (uint32_t)op->stream.members;
    p[MQ_P_STREAM_OUT_H] = (uint32_t)op->stream.out_h;
    p[MQ_P_STREAM_OUT_W] = (uint32_t)op->stream.out_w;
    p[MQ_P_STREAM_STRIDE_H] = (uint32_t)op->stream.stride_h;
    p[MQ_P_STREAM_STRIDE_W] = (uint32_t)op->stream.stride_w;
    p[MQ_P_STREAM_LAYOUT] = (uint32_t)op->stream.layout;
    p[MQ_P_STREAM_ACC] = op->scratch_offset;
    p[MQ_P_STREAM_ACC + 1] = (uint32_t)n * (op->type == MQ_OP_STREAM_FC ? 4u : 8u);
}

/* Parameter words and constants of a 16x8 op (types 32..44). */
static void mq_w_op_s16(mq_wctx *w, const mq_writer_op *op, const mq_writer_tensor *tensors, uint32_t *p)
{
    switch (op->type) {
    case MQ_OP_STREAM_FC_S16:
        mq_w_gemm_s16(w, &op->fc_s16, p);
        mq_w_stream_words(op, p);
        break;
    case MQ_OP_FULLY_CONNECTED_S16:
        mq_w_gemm_s16(w, &op->fc_s16, p);
        break;
    case MQ_OP_CONV_S16:
        mq_w_gemm_s16(w, &op->conv_s16.gemm, p);
        mq_w_window_words(&op->conv_s16.win, p + MQ_P_S16_CONV_WINDOW);
        break;
    case MQ_OP_DEPTHWISE_CONV_S16: {
        const mq_depthwise_s16_params *dw = &op->depthwise_s16;
        const size_t out_c = (size_t)tensors[op->inputs[0]].dims[3] * (size_t)dw->depth_multiplier;
        const size_t nq = dw->per_channel ? out_c : 1u;
        p[MQ_P_S16DW_MULTIPLIER] = (uint32_t)dw->depth_multiplier;
        p[MQ_P_S16DW_PER_CHANNEL] = dw->per_channel ? 1u : 0u;
        p[MQ_P_S16DW_ACT_MIN] = (uint32_t)dw->act_min;
        p[MQ_P_S16DW_ACT_MAX] = (uint32_t)dw->act_max;
        p[MQ_P_S16DW_WEIGHTS + 1] = (uint32_t)((size_t)dw->win.kernel_h * (size_t)dw->win.kernel_w * out_c);
        p[MQ_P_S16DW_WEIGHTS] = mq_put_const(w, dw->weights, p[MQ_P_S16DW_WEIGHTS + 1]);
        if (dw->bias != NULL) {
            p[MQ_P_S16DW_BIAS] = mq_put_i64(w, dw->bias, out_c);
            p[MQ_P_S16DW_BIAS + 1] = 8u * (uint32_t)out_c;
        }
        p[MQ_P_S16DW_QMULT] = mq_put_words(w, dw->multiplier, nq);
        p[MQ_P_S16DW_QMULT + 1] = 4u * (uint32_t)nq;
        p[MQ_P_S16DW_SHIFT] = mq_put_words(w, dw->shift, nq);
        p[MQ_P_S16DW_SHIFT + 1] = 4u * (uint32_t)nq;
        mq_w_window_words(&dw->win, p + MQ_P_S16DW_WINDOW);
        break;
    }
    case MQ_OP_ADD_S16:
        p[MQ_P_ADD_LEFT_SHIFT] = (uint32_t)op->add_s16.left_shift;
        p[MQ_P_ADD_IN1_MULTIPLIER] = (uint32_t)op->add_s16.in1_multiplier;
        p[MQ_P_ADD_IN1_SHIFT] = (uint32_t)op->add_s16.in1_shift;
        p[MQ_P_ADD_IN2_MULTIPLIER] = (uint32_t)op->add_s16.in2_multiplier;
        p[MQ_P_ADD_IN2_SHIFT] = (uint32_t)op->add_s16.in2_shift;
        p[MQ_P_ADD_OUT_MULTIPLIER] = (uint32_t)op->add_s16.out_multiplier;
        p[MQ_P_ADD_OUT_SHIFT] = (uint32_t)op->add_s16.out_shift;
        p[MQ_P_ADD_ACT_MIN] = (uint32_t)op->add_s16.act_min;
        p[MQ_P_ADD_ACT_MAX] = (uint32_t)op->add_s16.act_max;
        break;
    case MQ_OP_MUL_S16:
        p[MQ_P_MUL_MULTIPLIER] = (uint32_t)op->mul_s16.out_multiplier;
        p[MQ_P_MUL_SHIFT] = (uint32_t)op->mul_s16.out_shift;
        p[MQ_P_MUL_ACT_MIN] = (uint32_t)op->mul_s16.act_min;
        p[MQ_P_MUL_ACT_MAX] = (uint32_t)op->mul_s16.act_max;
        p[MQ_P_MUL_BROADCAST] = (uint32_t)op->mul_s16.broadcast;
        break;
    case MQ_OP_AVERAGE_POOL_S16:
    case MQ_OP_MAX_POOL_S16:
        mq_w_window_words(&op->pool_s16.win, p + MQ_P_POOL_WINDOW);
        p[MQ_P_POOL_ACT_MIN] = (uint32_t)op->pool_s16.act_min;
        p[MQ_P_POOL_ACT_MAX] = (uint32_t)op->pool_s16.act_max;
        break;
    case MQ_OP_LUT16:
        p[MQ_P_LUT16_TABLE] = mq_put_i16(w, op->lut16, MQ_LUT16_SIZE);
        p[MQ_P_LUT16_TABLE + 1] = MQ_LUT16_BYTES;
        break;
    case MQ_OP_QUANTIZE_S16:
    case MQ_OP_REQUANTIZE_S16_TO_8:
    case MQ_OP_RESCALE_S16:
        p[MQ_P_REQ_MULTIPLIER] = (uint32_t)op->s16_multiplier;
        p[MQ_P_REQ_SHIFT] = (uint32_t)op->s16_shift;
        break;
    case MQ_OP_SOFTMAX_S16:
        p[MQ_P_S16SM_MULTIPLIER] = (uint32_t)op->softmax_s16.input_multiplier;
        p[MQ_P_S16SM_SHIFT] = (uint32_t)op->softmax_s16.input_shift;
        p[MQ_P_S16SM_EXP_LUT] = mq_put_i16(w, op->softmax_s16.exp_lut, MQ_LUT16_SIZE);
        p[MQ_P_S16SM_EXP_LUT + 1] = MQ_LUT16_BYTES;
        p[MQ_P_S16SM_RECIP_LUT] = mq_put_i16(w, op->softmax_s16.recip_lut, MQ_LUT16_SIZE);
        p[MQ_P_S16SM_RECIP_LUT + 1] = MQ_LUT16_BYTES;
        break;
    default:
        break;
    }
}

/* Constants and parameter words of a gemm (FULLY_CONNECTED / CONV_1X1). */
static void mq_w_gemm(mq_wctx *w, const mq_fc_params *fc, uint32_t *p)
{
    const size_t nq = fc->per_channel ? (size_t)fc->n : 1u;
    p[MQ_P_FC_N] = (uint32_t)fc->n;
    p[MQ_P_FC_K] = (uint32_t)fc->k;
    p[MQ_P_FC_PER_CHANNEL] = fc->per_channel ? 1u : 0u;
    p[MQ_P_FC_OUT_DTYPE] = (uint32_t)fc->out_dtype;
    p[MQ_P_FC_OUT_ZERO_POINT] = (uint32_t)fc->out_zero_point;
    p[MQ_P_FC_ACT_MIN] = (uint32_t)fc->act_min;
    p[MQ_P_FC_ACT_MAX] = (uint32_t)fc->act_max;
    p[MQ_P_FC_WEIGHTS + 1] = (uint32_t)mq_packed_weights_size_n4k16(fc->n, fc->k);
    p[MQ_P_FC_WEIGHTS] = mq_put_const(w, fc->weights.packed, p[MQ_P_FC_WEIGHTS + 1]);
    p[MQ_P_FC_BIAS] = mq_put_words(w, fc->bias.folded, (size_t)fc->n);
    p[MQ_P_FC_BIAS + 1] = 4u * (uint32_t)fc->n;
    p[MQ_P_FC_MULTIPLIER] = mq_put_words(w, fc->multiplier, nq);
    p[MQ_P_FC_MULTIPLIER + 1] = 4u * (uint32_t)nq;
    p[MQ_P_FC_SHIFT] = mq_put_words(w, fc->shift, nq);
    p[MQ_P_FC_SHIFT + 1] = 4u * (uint32_t)nq;
    if (fc->lut != NULL) {
        p[MQ_P_FC_LUT] = mq_put_const(w, fc->lut, 256u);
        p[MQ_P_FC_LUT + 1] = 256u;
    }
}

/* The 10 window words (docs/FORMAT.md, "Window block") of win at w. */
static void mq_w_window_words(const mq_window *win, uint32_t *w)
{
    w[MQ_W_KERNEL_H] = (uint32_t)win->kernel_h;
    w[MQ_W_KERNEL_W] = (uint32_t)win->kernel_w;
    w[MQ_W_STRIDE_H] = (uint32_t)win->stride_h;
    w[MQ_W_STRIDE_W] = (uint32_t)win->stride_w;
    w[MQ_W_DILATION_H] = (uint32_t)win->dilation_h;
    w[MQ_W_DILATION_W] = (uint32_t)win->dilation_w;
    w[MQ_W_PAD_TOP] = (uint32_t)win->pad_top;
    w[MQ_W_PAD_BOTTOM] = (uint32_t)win->pad_bottom;
    w[MQ_W_PAD_LEFT] = (uint32_t)win->pad_left;
    w[MQ_W_PAD_RIGHT] = (uint32_t)win->pad_right;
}

/* The given window with its sizes taken from the NHWC input and output tensors (as the loader does). */
static void mq_w_full_window(const mq_window *given, const mq_writer_tensor *in, const mq_writer_tensor *out,
                             mq_window *win)
{
    *win = *given;
    win->batch = in->dims[0];
    win->in_h = in->dims[1];
    win->in_w = in->dims[2];
    win->out_h = out->dims[1];
    win->out_w = out->dims[2];
}

/* CONV parameters completed from the tensors (what the loader will build). */
static void mq_w_full_conv(const mq_writer_op *op, const mq_writer_tensor *tensors, mq_conv_params *cp)
{
    const mq_writer_tensor *in = &tensors[op->inputs[0]];
    *cp = op->conv2d;
    mq_w_full_window(&op->conv2d.win, in, &tensors[op->outputs[0]], &cp->win);
    cp->in_c = in->dims[3];
    cp->in_zero_point = in->zero_point;
    cp->gemm.in_dtype = in->dtype;
}

/* DEPTHWISE_CONV parameters completed from the tensors. */
static void mq_w_full_depthwise(const mq_writer_op *op, const mq_writer_tensor *tensors, mq_depthwise_params *dw)
{
    const mq_writer_tensor *in = &tensors[op->inputs[0]];
    *dw = op->depthwise;
    mq_w_full_window(&op->depthwise.win, in, &tensors[op->outputs[0]], &dw->win);
    dw->in_c = in->dims[3];
    dw->in_dtype = in->dtype;
    dw->in_zero_point = in->zero_point;
}

/* Constants and parameter words of a depthwise convolution. */
static void mq_w_depthwise(mq_wctx *w, const mq_writer_op *op, const mq_writer_tensor *tensors, uint32_t *p)
{
    mq_depthwise_params dw;
    size_t out_c, nq;
    mq_w_full_depthwise(op, tensors, &dw);
    out_c = (size_t)dw.in_c * (size_t)dw.depth_multiplier;
    nq = dw.per_channel ? out_c : 1u;
    p[MQ_P_DW_MULTIPLIER] = (uint32_t)dw.depth_multiplier;
    p[MQ_P_DW_PER_CHANNEL] = dw.per_channel ? 1u : 0u;
    p[MQ_P_DW_OUT_DTYPE] = (uint32_t)dw.out_dtype;
    p[MQ_P_DW_OUT_ZERO_POINT] = (uint32_t)dw.out_zero_point;
    p[MQ_P_DW_ACT_MIN] = (uint32_t)dw.act_min;
    p[MQ_P_DW_ACT_MAX] = (uint32_t)dw.act_max;
    p[MQ_P_DW_WEIGHTS + 1] = (uint32_t)mq_depthwise_weights_size(&dw);
    p[MQ_P_DW_WEIGHTS] = mq_put_const(w, dw.weights.data, p[MQ_P_DW_WEIGHTS + 1]);
    p[MQ_P_DW_BIAS] = mq_put_words(w, dw.bias.folded, out_c);
    p[MQ_P_DW_BIAS + 1] = 4u * (uint32_t)out_c;
    p[MQ_P_DW_QMULT] = mq_put_words(w, dw.multiplier, nq);
    p[MQ_P_DW_QMULT + 1] = 4u * (uint32_t)nq;
    p[MQ_P_DW_SHIFT] = mq_put_words(w, dw.shift, nq);
    p[MQ_P_DW_SHIFT + 1] = 4u * (uint32_t)nq;
    if (dw.lut != NULL) {
        p[MQ_P_DW_LUT] = mq_put_const(w, dw.lut, 256u);
        p[MQ_P_DW_LUT + 1] = 256u;
    }
    mq_w_window_words(&dw.win, p + MQ_P_DW_WINDOW);
    p[MQ_P_DW_SCRATCH_SIZE] = (op->flags & MQ_OP_FLAG_IN_PLACE) != 0u ? (uint32_t)mq_depthwise_inplace_scratch_size(&dw)
                                                                     : (uint32_t)mq_depthwise_scratch_size(&dw);
    p[MQ_P_DW_SCRATCH] = p[MQ_P_DW_SCRATCH_SIZE] != 0u ? op->scratch_offset : 0u;
}

/* Write the op record for op (and its constants). */
static void mq_w_op(mq_wctx *w, uint8_t *rec, const mq_writer_op *op, const mq_writer_tensor *tensors)
{
    uint32_t p[MQ_OP_NUM_PARAMS];
    uint32_t i;
    memset(p, 0, sizeof p);
    switch (op->type) {
    case MQ_OP_FULLY_CONNECTED:
        mq_w_gemm(w, &op->fc, p);
        break;
    case MQ_OP_STREAM_FC:
        mq_w_gemm(w, &op->fc, p);
        mq_w_stream_words(op, p);
        break;
    case MQ_OP_ROW_STREAM: {
        int32_t j;
        p[MQ_P_ROWS_MEMBERS] = (uint32_t)op->rows.members;
        for (j = 0; j + 1 < op->rows.members && j < 8; j++) {
            p[MQ_P_ROWS_RING + 2 * j] = op->rows.ring_offset[j];
            p[MQ_P_ROWS_RING + 2 * j + 1] = (uint32_t)op->rows.ring_rows[j];
        }
        p[MQ_P_ROWS_TERMS] = op->rows.terms_offset;
        p[MQ_P_ROWS_TERMS_SIZE] = op->rows.terms_size;
        break;
    }
    case MQ_OP_CONV_1X1:
        mq_w_gemm(w, &op->conv.gemm, p);
        p[MQ_P_CONV_STRIDE_H] = (uint32_t)op->conv.stride_h;
        p[MQ_P_CONV_STRIDE_W] = (uint32_t)op->conv.stride_w;
        p[MQ_P_CONV_PAD_TOP] = (uint32_t)op->conv.pad_top;
        p[MQ_P_CONV_PAD_LEFT] = (uint32_t)op->conv.pad_left;
        p[MQ_P_CONV_PAD_BOTTOM] = (uint32_t)op->conv.pad_bottom;
        p[MQ_P_CONV_PAD_RIGHT] = (uint32_t)op->conv.pad_right;
        if ((op->flags & MQ_OP_FLAG_IN_PLACE) != 0u) {
            /* in place: the block scratch (mq_conv1x1_inplace_scratch_size) */
            p[MQ_P_CONV_SCRATCH] = op->scratch_offset;
        } else if (op->conv.pad_top > 0 || op->conv.pad_left > 0 || op->conv.pad_bottom > 0 || op->conv.pad_right > 0) {
            /* The runtime asks the kernel for the scratch size; an unused offset must be 0. */
            mq_conv1x1_params cp = op->conv;
            const mq_writer_tensor *in = &tensors[op->inputs[0]];
            cp.batch = in->dims[0];
            cp.in_h = in->dims[1];
            cp.in_w = in->dims[2];
            if (mq_conv1x1_scratch_size(&cp) > 0u) {
                p[MQ_P_CONV_SCRATCH] = op->scratch_offset;
            }
        }
        break;
    case MQ_OP_LUT:
        p[MQ_P_LUT_TABLE] = mq_put_const(w, op->lut, 256u);
        p[MQ_P_LUT_TABLE + 1] = 256u;
        break;
    case MQ_OP_ADD:
        p[MQ_P_ADD_LEFT_SHIFT] = (uint32_t)op->add.left_shift;
        p[MQ_P_ADD_IN1_MULTIPLIER] = (uint32_t)op->add.in1_multiplier;
        p[MQ_P_ADD_IN1_SHIFT] = (uint32_t)op->add.in1_shift;
        p[MQ_P_ADD_IN2_MULTIPLIER] = (uint32_t)op->add.in2_multiplier;
        p[MQ_P_ADD_IN2_SHIFT] = (uint32_t)op->add.in2_shift;
        p[MQ_P_ADD_OUT_MULTIPLIER] = (uint32_t)op->add.out_multiplier;
        p[MQ_P_ADD_OUT_SHIFT] = (uint32_t)op->add.out_shift;
        p[MQ_P_ADD_ACT_MIN] = (uint32_t)op->add.act_min;
        p[MQ_P_ADD_ACT_MAX] = (uint32_t)op->add.act_max;
        p[MQ_P_ADD_BROADCAST] = (uint32_t)op->add.broadcast;
        break;
    case MQ_OP_SOFTMAX: {
        const int32_t rank = tensors[op->inputs[0]].rank;
        p[MQ_P_SOFTMAX_AXIS] = (uint32_t)(op->axis < 0 ? op->axis + rank : op->axis);
        p[MQ_P_SOFTMAX_MULTIPLIER] = (uint32_t)op->softmax.input_multiplier;
        p[MQ_P_SOFTMAX_LEFT_SHIFT] = (uint32_t)op->softmax.input_left_shift;
        p[MQ_P_SOFTMAX_DIFF_MIN] = (uint32_t)op->softmax.diff_min;
        break;
    }
    case MQ_OP_SOFTMAX_TABLE: {
        const int32_t rank = tensors[op->inputs[0]].rank;
        p[MQ_P_SMT_AXIS] = (uint32_t)(op->axis < 0 ? op->axis + rank : op->axis);
        p[MQ_P_SMT_MULTIPLIER] = (uint32_t)op->softmax_table.multiplier;
        p[MQ_P_SMT_SHIFT] = (uint32_t)op->softmax_table.shift;
        p[MQ_P_SMT_EXP_TABLE] = mq_put_words(w, op->softmax_table.exp_table, 256u);
        p[MQ_P_SMT_EXP_TABLE + 1] = 1024u;
        break;
    }
    case MQ_OP_TRANSPOSE:
        for (i = 0; i < (uint32_t)tensors[op->inputs[0]].rank; i++) {
            p[MQ_P_TRANSPOSE_PERM + i] = (uint32_t)op->perm[i];
        }
        break;
    case MQ_OP_CONV: {
        mq_conv_params cp;
        mq_w_full_conv(op, tensors, &cp);
        mq_w_gemm(w, &cp.gemm, p);
        mq_w_window_words(&cp.win, p + MQ_P_CONVK_WINDOW);
        p[MQ_P_CONVK_SCRATCH_SIZE] = (uint32_t)mq_conv_scratch_size(&cp);
        p[MQ_P_CONVK_SCRATCH] = p[MQ_P_CONVK_SCRATCH_SIZE] != 0u ? op->scratch_offset : 0u;
        break;
    }
    case MQ_OP_DEPTHWISE_CONV:
        mq_w_depthwise(w, op, tensors, p);
        break;
    case MQ_OP_AVERAGE_POOL:
    case MQ_OP_MAX_POOL:
        mq_w_window_words(&op->pool.win, p + MQ_P_POOL_WINDOW);
        p[MQ_P_POOL_ACT_MIN] = (uint32_t)op->pool.act_min;
        p[MQ_P_POOL_ACT_MAX] = (uint32_t)op->pool.act_max;
        break;
    case MQ_OP_MEAN:
        p[MQ_P_MEAN_MULTIPLIER] = (uint32_t)op->mean.multiplier;
        p[MQ_P_MEAN_SHIFT] = (uint32_t)op->mean.shift;
        p[MQ_P_MEAN_ACT_MIN] = (uint32_t)op->mean.act_min;
        p[MQ_P_MEAN_ACT_MAX] = (uint32_t)op->mean.act_max;
        break;
    case MQ_OP_PAD:
        for (i = 0; i < (uint32_t)tensors[op->inputs[0]].rank; i++) {
            p[MQ_P_PAD_BEFORE + i] = (uint32_t)op->pad.before[i];
            p[MQ_P_PAD_AFTER + i] = (uint32_t)op->pad.after[i];
        }
        break;
    case MQ_OP_CONCAT: {
        const int32_t rank = tensors[op->outputs[0]].rank;
        p[MQ_P_CONCAT_AXIS] = (uint32_t)(op->axis < 0 ? op->axis + rank : op->axis);
        break;
    }
    case MQ_OP_MUL:
        p[MQ_P_MUL_MULTIPLIER] = (uint32_t)op->mul.out_multiplier;
        p[MQ_P_MUL_SHIFT] = (uint32_t)op->mul.out_shift;
        p[MQ_P_MUL_ACT_MIN] = (uint32_t)op->mul.act_min;
        p[MQ_P_MUL_ACT_MAX] = (uint32_t)op->mul.act_max;
        p[MQ_P_MUL_BROADCAST] = (uint32_t)op->mul.broadcast;
        p[MQ_P_MUL_SINGLE_ROUNDING] = (uint32_t)op->mul.single_rounding;
        break;
    case MQ_OP_REQUANTIZE:
        p[MQ_P_REQ_MULTIPLIER] = (uint32_t)op->requantize.multiplier;
        p[MQ_P_REQ_SHIFT] = (uint32_t)op->requantize.shift;
        break;
    default: /* MQ_OP_RESHAPE: no parameters; the 16x8 ops */
        mq_w_op_s16(w, op, tensors, p);
        break;
    }
    if (rec == NULL) {
        return;
    }
    rec[MQ_O_TYPE] = (uint8_t)op->type;
    rec[MQ_O_NUM_INPUTS] = (uint8_t)op->num_inputs;
    rec[MQ_O_NUM_OUTPUTS] = (uint8_t)op->num_outputs;
    rec[MQ_O_FLAGS] = (uint8_t)op->flags;
    for (i = 0; i < MQ_OP_MAX_INPUTS; i++) {
        mq_wr16(rec + MQ_O_INPUTS + 2u * i,
                i < (uint32_t)op->num_inputs ? (uint32_t)op->inputs[i] : MQ_NO_TENSOR);
    }
    for (i = 0; i < MQ_OP_MAX_OUTPUTS; i++) {
        mq_wr16(rec + MQ_O_OUTPUTS + 2u * i,
                i < (uint32_t)op->num_outputs ? (uint32_t)op->outputs[i] : MQ_NO_TENSOR);
    }
    for (i = 0; i < MQ_OP_NUM_PARAMS; i++) {
        mq_wr32(rec + MQ_O_PARAMS + 4u * i, p[i]);
    }
}

/* What the writer itself needs of a 16x8 op to emit it without reading outside the caller's arrays. */
static mq_status mq_w_check_s16(const mq_writer_op *op, const mq_writer_tensor *tensors)
{
    const mq_writer_tensor *in = &tensors[op->inputs[0]];
    const mq_writer_tensor *out = &tensors[op->outputs[0]];
    const mq_fc_s16_params *fc = op->type == MQ_OP_CONV_S16 ? &op->conv_s16.gemm : &op->fc_s16;
    switch (op->type) {
    case MQ_OP_FULLY_CONNECTED_S16:
    case MQ_OP_STREAM_FC_S16:
    case MQ_OP_CONV_S16:
        if (fc->n < 1 || fc->k < 1 || fc->n > 0xFFFF || fc->k > 0xFFFFFF) {
            return MQ_ERR_SHAPE;
        }
        if (fc->weights == NULL || fc->multiplier == NULL || fc->shift == NULL || fc->exact_scale != NULL) {
            return MQ_ERR_NULL;
        }
        if (op->type == MQ_OP_CONV_S16 && (in->rank != 4 || out->rank != 4)) {
            return MQ_ERR_SHAPE;
        }
        return MQ_OK;
    case MQ_OP_DEPTHWISE_CONV_S16: {
        const mq_depthwise_s16_params *dw = &op->depthwise_s16;
        if (in->rank != 4 || out->rank != 4 || dw->depth_multiplier < 1 || dw->depth_multiplier > 0xFFFF ||
            dw->win.kernel_h < 1 || dw->win.kernel_w < 1 || dw->win.kernel_h > 0xFFFF || dw->win.kernel_w > 0xFFFF ||
            (int64_t)in->dims[3] * dw->depth_multiplier != out->dims[3]) {
            return MQ_ERR_SHAPE;
        }
        return dw->weights == NULL || dw->multiplier == NULL || dw->shift == NULL ? MQ_ERR_NULL : MQ_OK;
    }
    case MQ_OP_AVERAGE_POOL_S16:
    case MQ_OP_MAX_POOL_S16:
        return in->rank == 4 && out->rank == 4 ? MQ_OK : MQ_ERR_SHAPE;
    case MQ_OP_LUT16:
        return op->lut16 == NULL ? MQ_ERR_NULL : MQ_OK;
    case MQ_OP_SOFTMAX_S16:
        return op->softmax_s16.exp_lut == NULL || op->softmax_s16.recip_lut == NULL ? MQ_ERR_NULL : MQ_OK;
    default:
        return MQ_OK;
    }
}

/* Checks the writer itself needs so it never reads outside the caller's arrays. */
static mq_status mq_w_check(const mq_writer_model *m, mq_writer_diag *d)
{
    int32_t i, j;
    if (m->tensors == NULL || m->ops == NULL || m->inputs == NULL || m->outputs == NULL) {
        return mq_fail(d, MQ_ERR_NULL, -1, -1, "model: tensors, ops, inputs and outputs must not be NULL");
    }
    if ((m->flags & ~(uint32_t)(MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV |
                                MQ_MODEL_FLAG_ORT_FLOAT32)) != 0u) {
        return mq_fail(d, MQ_ERR_FORMAT_VERSION, -1, -1, "model: unknown header flags");
    }
    if ((m->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u &&
        (m->flags & (MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV)) !=
            (MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV)) {
        return mq_fail(d, MQ_ERR_FORMAT_VERSION, -1, -1,
                       "model: MQ_MODEL_FLAG_ORT_FLOAT32 needs both single-rounding flags");
    }
    if (m->num_tensors < 1 || m->num_tensors > 0xFFFF || m->num_ops < 1 || m->num_ops > 0xFFFF ||
        m->num_inputs < 1 || m->num_outputs < 1 || m->num_inputs + m->num_outputs > 0xFFFF) {
        return mq_fail(d, MQ_ERR_SHAPE, -1, -1,
                       "model: need 1..65535 tensors and ops, at least one input and one output");
    }
    for (i = 0; i < m->num_tensors; i++) {
        const mq_writer_tensor *t = &m->tensors[i];
        if (t->rank < 1 || t->rank > 4) {
            return mq_fail(d, MQ_ERR_SHAPE, i, -1, "tensor: rank must be 1..4");
        }
        for (j = 0; j < t->rank; j++) {
            if (t->dims[j] < 1) {
                return mq_fail(d, MQ_ERR_SHAPE, i, -1, "tensor: every dim must be >= 1");
            }
        }
        if (t->dtype != MQ_DTYPE_INT8 && t->dtype != MQ_DTYPE_UINT8 && t->dtype != MQ_DTYPE_INT32 &&
            t->dtype != MQ_DTYPE_INT16) {
            return mq_fail(d, MQ_ERR_DTYPE, i, -1, "tensor: dtype must be INT8, UINT8, INT32 or INT16");
        }
        if (mq_w_tensor_bytes(t) > 0x7FFFFFFFu) {
            return mq_fail(d, MQ_ERR_SHAPE, i, -1, "tensor: more than 2^31-1 bytes");
        }
        if (t->storage != MQ_STORAGE_ARENA && t->storage != MQ_STORAGE_CONST) {
            return mq_fail(d, MQ_ERR_FORMAT_TENSOR, i, -1, "tensor: storage must be ARENA or CONST");
        }
        if (t->storage == MQ_STORAGE_CONST && t->data == NULL) {
            return mq_fail(d, MQ_ERR_NULL, i, -1, "tensor: CONST storage needs data");
        }
        if (t->channel_scales != NULL &&
            (t->channel_axis < 0 || t->channel_axis >= t->rank || t->num_channel_scales != t->dims[t->channel_axis])) {
            return mq_fail(d, MQ_ERR_SHAPE, i, -1,
                           "tensor: num_channel_scales must equal dims[channel_axis]");
        }
    }
    for (i = 0; i < m->num_inputs + m->num_outputs; i++) {
        const int32_t id = i < m->num_inputs ? m->inputs[i] : m->outputs[i - m->num_inputs];
        if (id < 0 || id >= m->num_tensors) {
            return mq_fail(d, MQ_ERR_INDEX, -1, -1, "model: input/output tensor index out of range");
        }
    }
    for (i = 0; i < m->num_ops; i++) {
        const mq_writer_op *op = &m->ops[i];
        const int stream = op->type == MQ_OP_STREAM_FC || op->type == MQ_OP_STREAM_FC_S16;
        const int rows = op->type == MQ_OP_ROW_STREAM;
        const int gemm = op->type == MQ_OP_FULLY_CONNECTED || op->type == MQ_OP_CONV_1X1 || op->type == MQ_OP_CONV ||
                         op->type == MQ_OP_STREAM_FC;
        const mq_fc_params *fc = op->type == MQ_OP_CONV_1X1 ? &op->conv.gemm
                                 : op->type == MQ_OP_CONV   ? &op->conv2d.gemm
                                                            : &op->fc;
        const int two_inputs = op->type == MQ_OP_ADD || op->type == MQ_OP_MUL || op->type == MQ_OP_ADD_S16 ||
                               op->type == MQ_OP_MUL_S16;
        if ((op->type < MQ_OP_FULLY_CONNECTED || op->type > MQ_OP_SOFTMAX_TABLE) &&
            (op->type < MQ_OP_FULLY_CONNECTED_S16 || op->type > MQ_OP_RESCALE_S16) && !stream && !rows) {
            return mq_fail(d, MQ_ERR_UNSUPPORTED_OP, -1, i, "op: unsupported op type");
        }
        if ((op->flags & ~(uint32_t)(MQ_WRITER_OP_IN_PLACE | MQ_WRITER_OP_STREAMED | MQ_WRITER_OP_ROW_MEMBER)) != 0u) {
            return mq_fail(d, MQ_ERR_FORMAT_OP, -1, i, "op: unknown op flags");
        }
        if (op->num_inputs < 1 || op->num_inputs > MQ_WRITER_MAX_OP_INPUTS || op->num_outputs != 1) {
            return mq_fail(d, MQ_ERR_FORMAT_OP, -1, i, "op: need 1..8 inputs and 1 output");
        }
        if ((stream && op->num_inputs != 3) ||
            (!stream && ((two_inputs && op->num_inputs != 2) ||
                         (!two_inputs && op->type != MQ_OP_CONCAT && op->num_inputs != 1)))) {
            return mq_fail(d, MQ_ERR_FORMAT_OP, -1, i,
                           "op: ADD and MUL take 2 inputs, CONCAT 1..8, every other op 1");
        }
        for (j = 0; j < op->num_inputs + op->num_outputs; j++) {
            const int32_t id = j < op->num_inputs ? op->inputs[j] : op->outputs[j - op->num_inputs];
            if (id < 0 || id >= m->num_tensors) {
                return mq_fail(d, MQ_ERR_INDEX, -1, i, "op: tensor index out of range");
            }
        }
        if (gemm) {
            if (fc->n < 1 || fc->k < 1 || fc->n > 0xFFFF || fc->k > 0xFFFF) {
                return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: gemm n and k must be 1..65535");
            }
            if (fc->weights.packed == NULL || fc->bias.folded == NULL || fc->multiplier == NULL || fc->shift == NULL) {
                return mq_fail(d, MQ_ERR_NULL, -1, i, "op: gemm weights, bias, multiplier and shift are required");
            }
        }
        if (op->type == MQ_OP_LUT && op->lut == NULL) {
            return mq_fail(d, MQ_ERR_NULL, -1, i, "op: LUT needs a 256-entry table");
        }
        if (op->type == MQ_OP_ADD) {
            const mq_writer_tensor *a = &m->tensors[op->inputs[0]];
            const mq_writer_tensor *b = &m->tensors[op->inputs[op->num_inputs > 1 ? 1 : 0]];
            const mq_writer_tensor *o = &m->tensors[op->outputs[0]];
            if (op->add.in1_dtype != a->dtype || op->add.in2_dtype != b->dtype || op->add.out_dtype != o->dtype ||
                op->add.in1_zero_point != a->zero_point || op->add.in2_zero_point != b->zero_point ||
                op->add.out_zero_point != o->zero_point) {
                return mq_fail(d, MQ_ERR_QPARAMS, -1, i, "op: ADD dtypes/zero points differ from its tensors'");
            }
        }
        if (rows && (op->rows.members < 1 || op->rows.members > 8 || op->rows.members >= m->num_ops - i)) {
            return mq_fail(d, MQ_ERR_FORMAT_OP, -1, i, "op: ROW_STREAM needs 1..8 members after it");
        }
        if (rows && !(op->rows.terms_size == 0u ? op->rows.terms_offset == 0u
                                               : op->rows.terms_size == MQ_ROWS_TERMS_BYTES &&
                                                     op->rows.terms_offset % 16u == 0u)) {
            return mq_fail(d, MQ_ERR_FORMAT_OP, -1, i,
                           "op: ROW_STREAM terms_size must be 0 (offset 0) or 2048 at a 16-aligned offset");
        }
        if (op->type == MQ_OP_STREAM_FC && fc->in_dtype != m->tensors[op->inputs[2]].dtype) {
            return mq_fail(d, MQ_ERR_DTYPE, -1, i, "op: STREAM_FC fc.in_dtype differs from the head pixel's dtype");
        }
        if ((op->type == MQ_OP_FULLY_CONNECTED || op->type == MQ_OP_CONV_1X1) &&
            fc->in_dtype != m->tensors[op->inputs[0]].dtype) {
            return mq_fail(d, MQ_ERR_DTYPE, -1, i, "op: gemm in_dtype differs from the input tensor's dtype");
        }
        if (op->type == MQ_OP_SOFTMAX || op->type == MQ_OP_SOFTMAX_TABLE) {
            const int32_t r = m->tensors[op->inputs[0]].rank;
            if (op->axis < -r || op->axis >= r) {
                return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: SOFTMAX axis out of range");
            }
        }
        if (op->type == MQ_OP_SOFTMAX_TABLE && op->softmax_table.exp_table == NULL) {
            return mq_fail(d, MQ_ERR_NULL, -1, i, "op: SOFTMAX_TABLE needs its 256-entry exp table");
        }
        if (op->type == MQ_OP_CONV_1X1 && m->tensors[op->inputs[0]].rank != 4) {
            return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: CONV_1X1 input must be rank 4 (NHWC)");
        }
        if ((op->type == MQ_OP_CONV || op->type == MQ_OP_DEPTHWISE_CONV || op->type == MQ_OP_AVERAGE_POOL ||
             op->type == MQ_OP_MAX_POOL || op->type == MQ_OP_MEAN) &&
            m->tensors[op->inputs[0]].rank != 4) {
            return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: CONV, DEPTHWISE_CONV, pools and MEAN take a rank-4 NHWC input");
        }
        if ((op->type == MQ_OP_CONV || op->type == MQ_OP_DEPTHWISE_CONV || op->type == MQ_OP_AVERAGE_POOL ||
             op->type == MQ_OP_MAX_POOL) &&
            m->tensors[op->outputs[0]].rank != 4) {
            return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: CONV, DEPTHWISE_CONV and pools give a rank-4 NHWC output");
        }
        if (op->type == MQ_OP_DEPTHWISE_CONV) {
            const mq_depthwise_params *dw = &op->depthwise;
            mq_depthwise_params full;
            if (dw->weights.data == NULL || dw->bias.folded == NULL || dw->multiplier == NULL || dw->shift == NULL) {
                return mq_fail(d, MQ_ERR_NULL, -1, i, "op: depthwise weights, bias, multiplier and shift are required");
            }
            if (dw->depth_multiplier < 1 || dw->depth_multiplier > 0xFFFF ||
                (int64_t)m->tensors[op->inputs[0]].dims[3] * dw->depth_multiplier != m->tensors[op->outputs[0]].dims[3]) {
                return mq_fail(d, MQ_ERR_SHAPE, -1, i,
                               "op: DEPTHWISE_CONV output channels must be input channels x depth_multiplier (1..65535)");
            }
            mq_w_full_depthwise(op, m->tensors, &full);
            if (mq_depthwise_weights_size(&full) == 0u) {
                return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: DEPTHWISE_CONV geometry is invalid (weights size 0)");
            }
        }
        if (op->type >= MQ_OP_FULLY_CONNECTED_S16) {
            mq_status st16 = mq_w_check_s16(op, m->tensors);
            if (st16 != MQ_OK) {
                return mq_fail(d, st16, -1, i,
                               "op: a 16x8 op needs its constants (weights, multiplier, shift, tables), rank-4 "
                               "tensors for conv / depthwise / pools, and exact_scale NULL");
            }
        }
        if (op->type == MQ_OP_CONCAT) {
            const int32_t r = m->tensors[op->outputs[0]].rank;
            if (op->axis < -r || op->axis >= r) {
                return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: CONCAT axis out of range");
            }
        }
        if (op->type == MQ_OP_PAD) {
            for (j = 0; j < 4; j++) {
                if (op->pad.before[j] < 0 || op->pad.after[j] < 0) {
                    return mq_fail(d, MQ_ERR_SHAPE, -1, i, "op: PAD before/after must be >= 0");
                }
            }
        }
    }
    return MQ_OK;
}

/* A model with INT16 tensors or 16x8 ops is written as format 2.1 (min_runtime 2.1); any other stays 2.0. */
static int mq_w_uses_s16(const mq_writer_model *m)
{
    int32_t i;
    for (i = 0; i < m->num_tensors; i++) {
        if (m->tensors[i].dtype == MQ_DTYPE_INT16) {
            return 1;
        }
    }
    for (i = 0; i < m->num_ops; i++) {
        if (m->ops[i].type >= MQ_OP_FULLY_CONNECTED_S16) {
            return 1;
        }
    }
    return 0;
}

/* Map a loader failure offset back to the record it lies in. */
static mq_status mq_w_loader_fail(mq_writer_diag *d, mq_status st, uint32_t at, uint64_t t_off, uint64_t o_off,
                                  const mq_writer_model *m)
{
    int32_t tensor = -1, op = -1;
    char msg[128];
    if (at >= t_off && at < t_off + (uint64_t)m->num_tensors * MQ_TENSOR_RECORD_SIZE) {
        tensor = (int32_t)((at - t_off) / MQ_TENSOR_RECORD_SIZE);
    } else if (at >= o_off && at < o_off + (uint64_t)m->num_ops * MQ_OP_RECORD_SIZE) {
        op = (int32_t)((at - o_off) / MQ_OP_RECORD_SIZE);
    }
    snprintf(msg, sizeof msg, "mq_model_load rejects the blob: %s (byte %u%s)", mq_status_str(st), (unsigned)at,
             tensor >= 0 ? ", tensor record" : (op >= 0 ? ", op record" : ""));
    return mq_fail(d, st, tensor, op, msg);
}

mq_status mq_writer_write(const mq_writer_model *m, void *out, size_t capacity, size_t *size,
                          mq_writer_diag *diag)
{
    mq_wctx w;
    uint64_t t_off, o_off, io_off, c_off, md_off, total, md_size = 0u;
    uint8_t *b = (uint8_t *)out;
    uint32_t minor = 0u;
    mq_status st;
    int32_t i;
    const int32_t nio = m != NULL ? m->num_inputs + m->num_outputs : 0;

    if (diag != NULL) {
        diag->tensor = -1;
        diag->op = -1;
        diag->message[0] = '\0';
    }
    if (m == NULL || size == NULL) {
        return mq_fail(diag, MQ_ERR_NULL, -1, -1, "mq_writer_write: m and size must not be NULL");
    }
    st = mq_w_check(m, diag);
    if (st != MQ_OK) {
        return st;
    }

    /* Layout. */
    t_off = MQ_HEADER_SIZE + MQ_W_SECTIONS * MQ_SECTION_ENTRY_SIZE;
    o_off = mq_align16(t_off + (uint64_t)m->num_tensors * MQ_TENSOR_RECORD_SIZE);
    io_off = mq_align16(o_off + (uint64_t)m->num_ops * MQ_OP_RECORD_SIZE);
    c_off = mq_align16(io_off + 2u * (uint64_t)nio);
    w.buf = NULL;
    w.const_base = c_off;
    w.const_pos = 0u;
    for (i = 0; i < m->num_tensors; i++) {
        mq_w_tensor(&w, NULL, &m->tensors[i]);
    }
    for (i = 0; i < m->num_ops; i++) {
        mq_w_op(&w, NULL, &m->ops[i], m->tensors);
    }
    md_off = c_off + w.const_pos;
    {
        const char *fixed[4];
        fixed[0] = m->metadata.producer;
        fixed[1] = m->metadata.source_name;
        fixed[2] = m->metadata.hash_algorithm;
        fixed[3] = m->metadata.calibration_method;
        for (i = 0; i < 4; i++) {
            if (mq_strlen0(fixed[i]) > 0xFFFFu) {
                return mq_fail(diag, MQ_ERR_FORMAT_BOUNDS, -1, -1, "metadata: a string is longer than 65535 bytes");
            }
            md_size += 2u + mq_strlen0(fixed[i]);
        }
        if (m->metadata.source_hash_size > 0xFFFFu ||
            (m->metadata.source_hash == NULL && m->metadata.source_hash_size != 0u)) {
            return mq_fail(diag, MQ_ERR_FORMAT_BOUNDS, -1, -1, "metadata: bad source_hash / source_hash_size");
        }
        md_size += 2u + m->metadata.source_hash_size;
        for (i = 0; i < nio; i++) {
            const char *const *names = i < m->num_inputs ? m->metadata.input_names : m->metadata.output_names;
            const char *s = names != NULL ? names[i < m->num_inputs ? i : i - m->num_inputs] : NULL;
            if (mq_strlen0(s) > 0xFFFFu) {
                return mq_fail(diag, MQ_ERR_FORMAT_BOUNDS, -1, -1, "metadata: a name is longer than 65535 bytes");
            }
            md_size += 2u + mq_strlen0(s);
        }
    }
    total = mq_align16(md_off + md_size);
    if (total > 0xFFFFFFF0u) {
        return mq_fail(diag, MQ_ERR_FORMAT_SIZE, -1, -1, "model: the blob would exceed 4 GiB");
    }
    *size = (size_t)total;
    if (out == NULL) {
        return MQ_OK;
    }
    if (capacity < total) {
        return mq_fail(diag, MQ_ERR_BUFFER, -1, -1, "output buffer too small (see *size)");
    }

    /* Emit. A blob without op flags, INT16 tensors, 16x8 ops or SOFTMAX_TABLE is a format 2.0 blob (older
     * runtimes run it); those need 2.1. */
    if (mq_w_uses_s16(m)) {
        minor = MQ_FORMAT_VERSION_MINOR;
    }
    for (i = 0; i < m->num_ops; i++) {
        if (m->ops[i].flags != 0u || m->ops[i].type == MQ_OP_SOFTMAX_TABLE || m->ops[i].type == MQ_OP_STREAM_FC ||
            m->ops[i].type == MQ_OP_ROW_STREAM) {
            minor = MQ_FORMAT_VERSION_MINOR;
        }
    }
    memset(b, 0, (size_t)total);
    b[0] = MQ_MAGIC0;
    b[1] = MQ_MAGIC1;
    b[2] = MQ_MAGIC2;
    b[3] = MQ_MAGIC3;
    mq_wr16(b + MQ_H_VERSION_MAJOR, MQ_FORMAT_VERSION_MAJOR);
    mq_wr16(b + MQ_H_VERSION_MINOR, minor);
    mq_wr32(b + MQ_H_HEADER_SIZE, MQ_HEADER_SIZE);
    mq_wr32(b + MQ_H_TOTAL_SIZE, (uint32_t)total);
    mq_wr16(b + MQ_H_MIN_RUNTIME_MAJOR, MQ_FORMAT_VERSION_MAJOR);
    mq_wr16(b + MQ_H_MIN_RUNTIME_MINOR, minor);
    mq_wr32(b + MQ_H_ARENA_SIZE, m->arena_size);
    mq_wr32(b + MQ_H_ARENA_LOWER_BOUND, m->arena_lower_bound);
    mq_wr32(b + MQ_H_FLAGS, m->flags);
    mq_wr16(b + MQ_H_NUM_TENSORS, (uint32_t)m->num_tensors);
    mq_wr16(b + MQ_H_NUM_OPS, (uint32_t)m->num_ops);
    mq_wr16(b + MQ_H_NUM_INPUTS, (uint32_t)m->num_inputs);
    mq_wr16(b + MQ_H_NUM_OUTPUTS, (uint32_t)m->num_outputs);
    mq_wr16(b + MQ_H_NUM_SECTIONS, MQ_W_SECTIONS);
    {
        const uint64_t offs[MQ_W_SECTIONS] = { t_off, o_off, io_off, c_off, md_off };
        const uint64_t lens[MQ_W_SECTIONS] = { (uint64_t)m->num_tensors * MQ_TENSOR_RECORD_SIZE,
                                               (uint64_t)m->num_ops * MQ_OP_RECORD_SIZE, 2u * (uint64_t)nio,
                                               w.const_pos, md_size };
        uint32_t s;
        for (s = 0; s < MQ_W_SECTIONS; s++) {
            uint8_t *e = b + MQ_HEADER_SIZE + s * MQ_SECTION_ENTRY_SIZE;
            mq_wr32(e, s + 1u);
            mq_wr32(e + 4, (uint32_t)offs[s]);
            mq_wr32(e + 8, (uint32_t)lens[s]);
        }
    }
    w.buf = b;
    w.const_pos = 0u;
    for (i = 0; i < m->num_tensors; i++) {
        mq_w_tensor(&w, b + t_off + (uint64_t)i * MQ_TENSOR_RECORD_SIZE, &m->tensors[i]);
    }
    for (i = 0; i < m->num_ops; i++) {
        mq_w_op(&w, b + o_off + (uint64_t)i * MQ_OP_RECORD_SIZE, &m->ops[i], m->tensors);
    }
    for (i = 0; i < nio; i++) {
        mq_wr16(b + io_off + 2u * (uint64_t)i,
                (uint32_t)(i < m->num_inputs ? m->inputs[i] : m->outputs[i - m->num_inputs]));
    }
    {
        uint8_t *p = b + md_off;
        const char *fixed[MQ_META_NUM_FIXED];
        size_t lens[MQ_META_NUM_FIXED];
        uint32_t f;
        fixed[0] = m->metadata.producer;
        fixed[1] = m->metadata.source_name;
        fixed[2] = m->metadata.hash_algorithm;
        fixed[3] = (const char *)m->metadata.source_hash;
        fixed[4] = m->metadata.calibration_method;
        for (f = 0; f < MQ_META_NUM_FIXED; f++) {
            lens[f] = f == 3u ? (size_t)m->metadata.source_hash_size : mq_strlen0(fixed[f]);
            mq_wr16(p, (uint32_t)lens[f]);
            if (lens[f] > 0u) {
                memcpy(p + 2, fixed[f], lens[f]);
            }
            p += 2u + lens[f];
        }
        for (i = 0; i < nio; i++) {
            const char *const *names = i < m->num_inputs ? m->metadata.input_names : m->metadata.output_names;
            const char *s = names != NULL ? names[i < m->num_inputs ? i : i - m->num_inputs] : NULL;
            const size_t n = mq_strlen0(s);
            mq_wr16(p, (uint32_t)n);
            if (n > 0u) {
                memcpy(p + 2, s, n);
            }
            p += 2u + n;
        }
    }
    mq_wr32(b + MQ_H_CRC32, mq_crc32(b + MQ_HEADER_SIZE, (size_t)(total - MQ_HEADER_SIZE)));
    mq_wr32(b + MQ_H_HEADER_CRC32, mq_crc32(b, MQ_H_HEADER_CRC32));

    /* A blob the writer returns is a blob the device accepts. */
    {
        mq_model model;
        st = mq_model_load(b, (size_t)total, MQ_LOAD_CHECK_CRC, &model);
        if (st != MQ_OK) {
            return mq_w_loader_fail(diag, st, model.error_offset, t_off, o_off, m);
        }
    }
    return MQ_OK;
}

/* ---- constructors ---- */

static mq_writer_op mq_w_op1(mq_op_type type, int32_t x, int32_t y)
{
    mq_writer_op op;
    memset(&op, 0, sizeof op);
    op.type = type;
    op.num_inputs = 1;
    op.inputs[0] = x;
    op.num_outputs = 1;
    op.outputs[0] = y;
    return op;
}

mq_writer_op mq_writer_op_fully_connected(int32_t x, int32_t y, const mq_fc_params *fc)
{
    mq_writer_op op = mq_w_op1(MQ_OP_FULLY_CONNECTED, x, y);
    if (fc != NULL) {
        op.fc = *fc;
    }
    return op;
}

mq_writer_op mq_writer_op_conv1x1(int32_t x, int32_t y, const mq_conv1x1_params *conv, uint32_t scratch_offset)
{
    mq_writer_op op = mq_w_op1(MQ_OP_CONV_1X1, x, y);
    if (conv != NULL) {
        op.conv = *conv;
    }
    op.scratch_offset = scratch_offset;
    return op;
}

mq_writer_op mq_writer_op_conv(int32_t x, int32_t y, const mq_conv_params *conv, uint32_t scratch_offset)
{
    mq_writer_op op = mq_w_op1(MQ_OP_CONV, x, y);
    if (conv != NULL) {
        op.conv2d = *conv;
    }
    op.scratch_offset = scratch_offset;
    return op;
}

mq_writer_op mq_writer_op_depthwise_conv(int32_t x, int32_t y, const mq_depthwise_params *dw,
                                         uint32_t scratch_offset)
{
    mq_writer_op op = mq_w_op1(MQ_OP_DEPTHWISE_CONV, x, y);
    if (dw != NULL) {
        op.depthwise = *dw;
    }
    op.scratch_offset = scratch_offset;
    return op;
}

mq_writer_op mq_writer_op_pool(mq_op_type type, int32_t x, int32_t y, const mq_pool_params *pool)
{
    mq_writer_op op = mq_w_op1(type, x, y);
    if (pool != NULL) {
        op.pool = *pool;
    }
    return op;
}

mq_writer_op mq_writer_op_mean(int32_t x, int32_t y, const mq_mean_params *mean)
{
    mq_writer_op op = mq_w_op1(MQ_OP_MEAN, x, y);
    if (mean != NULL) {
        op.mean = *mean;
    }
    return op;
}

mq_writer_op mq_writer_op_pad(int32_t x, int32_t y, const int32_t before[4], const int32_t after[4])
{
    mq_writer_op op = mq_w_op1(MQ_OP_PAD, x, y);
    int32_t i;
    for (i = 0; i < 4; i++) {
        op.pad.before[i] = before != NULL ? before[i] : 0;
        op.pad.after[i] = after != NULL ? after[i] : 0;
    }
    return op;
}

mq_writer_op mq_writer_op_concat(const int32_t *xs, int32_t num_inputs, int32_t y, int32_t axis)
{
    mq_writer_op op = mq_w_op1(MQ_OP_CONCAT, -1, y);
    int32_t i;
    op.num_inputs = num_inputs;
    for (i = 0; i < num_inputs && i < MQ_WRITER_MAX_OP_INPUTS; i++) {
        op.inputs[i] = xs != NULL ? xs[i] : -1;
    }
    if (num_inputs > MQ_WRITER_MAX_OP_INPUTS) {
        op.num_inputs = MQ_WRITER_MAX_OP_INPUTS + 1; /* rejected by mq_writer_write */
    }
    op.axis = axis;
    return op;
}

mq_writer_op mq_writer_op_mul(int32_t x1, int32_t x2, int32_t y, const mq_mul_params *mul)
{
    mq_writer_op op = mq_w_op1(MQ_OP_MUL, x1, y);
    op.num_inputs = 2;
    op.inputs[1] = x2;
    if (mul != NULL) {
        op.mul = *mul;
    }
    return op;
}

mq_writer_op mq_writer_op_requantize(int32_t x, int32_t y, const mq_requantize_params *rq)
{
    mq_writer_op op = mq_w_op1(MQ_OP_REQUANTIZE, x, y);
    if (rq != NULL) {
        op.requantize = *rq;
    }
    return op;
}

mq_writer_op mq_writer_op_add(int32_t x1, int32_t x2, int32_t y, const mq_add_params *add)
{
    mq_writer_op op = mq_w_op1(MQ_OP_ADD, x1, y);
    op.num_inputs = 2;
    op.inputs[1] = x2;
    if (add != NULL) {
        op.add = *add;
    }
    return op;
}

mq_writer_op mq_writer_op_lut(int32_t x, int32_t y, const uint8_t *table)
{
    mq_writer_op op = mq_w_op1(MQ_OP_LUT, x, y);
    op.lut = table;
    return op;
}

mq_writer_op mq_writer_op_reshape(int32_t x, int32_t y)
{
    return mq_w_op1(MQ_OP_RESHAPE, x, y);
}

mq_writer_op mq_writer_op_softmax(int32_t x, int32_t y, int32_t axis, const mq_softmax_params *softmax)
{
    mq_writer_op op = mq_w_op1(MQ_OP_SOFTMAX, x, y);
    op.axis = axis;
    if (softmax != NULL) {
        op.softmax = *softmax;
    }
    return op;
}

mq_writer_op mq_writer_op_softmax_table(int32_t x, int32_t y, int32_t axis, const int32_t exp_table[256],
                                        int32_t multiplier, int32_t shift)
{
    mq_writer_op op = mq_w_op1(MQ_OP_SOFTMAX_TABLE, x, y);
    op.axis = axis;
    op.softmax_table.exp_table = exp_table;
    op.softmax_table.multiplier = multiplier;
    op.softmax_table.shift = shift;
    return op;
}

mq_writer_op mq_writer_op_transpose(int32_t x, int32_t y, const int32_t perm[4])
{
    mq_writer_op op = mq_w_op1(MQ_OP_TRANSPOSE, x, y);
    int32_t i;
    for (i = 0; i < 4; i++) {
        op.perm[i] = perm != NULL ? perm[i] : 0;
    }
    return op;
}

size_t mq_writer_rows_terms_size(void)
{
    return MQ_ROWS_TERMS_BYTES;
}

size_t mq_writer_rows_ring_size(size_t row_bytes, int32_t rows)
{
    return rows >= 1 ? (size_t)(2 * rows - 1) * row_bytes : 0u;
}

size_t mq_writer_op_scratch_size(const mq_writer_op *op, const mq_writer_tensor *tensors, int32_t num_tensors)
{
    const mq_writer_tensor *in, *out;
    if (op == NULL || tensors == NULL || op->num_inputs < 1 || op->num_outputs < 1 || op->inputs[0] < 0 ||
        op->inputs[0] >= num_tensors || op->outputs[0] < 0 || op->outputs[0] >= num_tensors) {
        return 0u;
    }
    if (op->type == MQ_OP_STREAM_FC) {
        return op->fc.n > 0 ? (size_t)op->fc.n * 4u : 0u; /* the head's int32 accumulators */
    }
    if (op->type == MQ_OP_STREAM_FC_S16) {
        return op->fc_s16.n > 0 ? (size_t)op->fc_s16.n * 8u : 0u; /* int64 accumulators */
    }
    in = &tensors[op->inputs[0]];
    out = &tensors[op->outputs[0]];
    if (in->rank != 4 || out->rank != 4) {
        return 0u;
    }
    switch (op->type) {
    case MQ_OP_CONV_1X1: {
        mq_conv1x1_params cp = op->conv;
        cp.batch = in->dims[0];
        cp.in_h = in->dims[1];
        cp.in_w = in->dims[2];
        return (op->flags & MQ_OP_FLAG_IN_PLACE) != 0u ? mq_conv1x1_inplace_scratch_size(&cp)
                                                        : mq_conv1x1_scratch_size(&cp);
    }
    case MQ_OP_CONV: {
        mq_conv_params cp;
        mq_w_full_conv(op, tensors, &cp);
        return mq_conv_scratch_size(&cp);
    }
    case MQ_OP_DEPTHWISE_CONV: {
        mq_depthwise_params dw;
        mq_w_full_depthwise(op, tensors, &dw);
        return (op->flags & MQ_OP_FLAG_IN_PLACE) != 0u ? mq_depthwise_inplace_scratch_size(&dw)
                                                        : mq_depthwise_scratch_size(&dw);
    }
    default:
        return 0u;
    }
}
