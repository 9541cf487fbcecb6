/*
 * mq_model_run_batch (host only): run a loaded packed model over `count` samples, the batch folded into the
 * kernels' own batch / row dimension, with the device's kernels and output stage. Bit-identical to calling
 * mq_model_run once per sample (every kernel computes each row / pixel / element independently of the others;
 * csrc/tests/test_model_batch.c checks every output byte against mq_model_run on the bundled example and the
 * MLPerf Tiny AD and KWS models).
 *
 * Layout: inputs[i] holds count samples of input i, sample after sample (count x size_bytes), outputs[o]
 * likewise. Samples run in chunks of `chunk` (0: automatic). Per chunk every arena tensor gets its own buffer of
 * chunk x size bytes (no planner, no in-place: host memory is not the constraint here), except that model inputs
 * are read straight from the caller's arrays and model outputs written straight into them.
 *
 * Per op:
 *   FULLY_CONNECTED   one GEMM call, rows = chunk x (rows of one sample)
 *   (header flags MQ_MODEL_FLAG_SINGLE_ROUNDING_FC / _CONV: the same kernels with single_rounding = 1, as mq_model_run)
 *   CONV_1X1          batch x chunk (one GEMM over batch x pixels when unpadded, stride 1)
 *   CONV, DEPTHWISE_CONV, AVERAGE_POOL, MAX_POOL   window batch x chunk (the kernels loop over images)
 *   MEAN              batch x chunk;  SOFTMAX, SOFTMAX_TABLE outer x chunk
 *   LUT, REQUANTIZE, RESHAPE, ADD (both inputs in the arena), MUL (see below): elements x chunk
 *   TRANSPOSE, PAD, CONCAT, and any op whose folded parameters fail its check (size limits): sample by sample
 *   (a model with MQ_MODEL_FLAG_ORT_FLOAT32 runs wholly sample by sample: mq_model_run's portable kernels)
 * A constant operand (storage CONST) is the same for every sample (stride 0); a MUL whose broadcast operand
 * lives in the arena runs sample by sample.
 *
 * Allocates (malloc) the chunk buffers and the scratch; returns MQ_ERR_BUFFER if an allocation fails,
 * MQ_ERR_NULL for a NULL pointer, MQ_ERR_SHAPE if count x a tensor's size overflows size_t.
 */
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_host.h"
#include "microquant/mq_model.h"

#include "mq_format.h"
#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

#define MQ_BATCH_ALIGN 64u

typedef struct {
    const mq_model *m;
    uint8_t **base;        /* per tensor: chunk buffer (arena tensors) or constant bytes */
    size_t *stride;        /* per tensor: bytes per sample (0 for constants) */
    uint8_t *scratch;
    size_t scratch_size;
} mq_batch_ctx;

static mq_status mq_batch_scratch(mq_batch_ctx *c, size_t need, uint8_t **out)
{
    if (need > c->scratch_size) {
        uint8_t *s = (uint8_t *)realloc(c->scratch, need);
        if (s == NULL) {
            return MQ_ERR_BUFFER;
        }
        c->scratch = s;
        c->scratch_size = need;
    }
    *out = need > 0u ? c->scratch : NULL;
    return MQ_OK;
}

/* The op on sample s alone: mq_model_run's own dispatch, pointers moved to sample s. */
static mq_status mq_batch_op_one(mq_batch_ctx *c, const mq_op_rec *op, size_t s)
{
    const mq_model *m = c->m;
    mq_tensor_rec in, out;
    const uint8_t *src;
    uint8_t *dst;
    uint8_t *scr;
    mq_status st;

    mq_tensor_decode(m->tensors, op->inputs[0], &in);
    mq_tensor_decode(m->tensors, op->outputs[0], &out);
    src = c->base[op->inputs[0]] + s * c->stride[op->inputs[0]];
    dst = c->base[op->outputs[0]] + s * c->stride[op->outputs[0]];
    switch (op->type) {
    case MQ_OP_FULLY_CONNECTED: {
        mq_fc_params fc;
        mq_op_fc_params(m->constants, op, &in, &fc);
        fc.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) != 0u ? 1 : 0;
        mq_fully_connected_unchecked(&fc, (int32_t)(in.size / (uint32_t)fc.k), src, dst);
        return MQ_OK;
    }
    case MQ_OP_CONV_1X1: {
        mq_conv1x1_params cp;
        mq_op_conv_params(m->constants, op, &in, &cp);
        cp.gemm.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u ? 1 : 0;
        st = mq_batch_scratch(c, mq_conv1x1_scratch_size(&cp), &scr);
        if (st == MQ_OK) {
            mq_conv1x1_unchecked(&cp, src, dst, scr);
        }
        return st;
    }
    case MQ_OP_LUT:
        mq_lut_apply_unchecked(m->constants + op->p[MQ_P_LUT_TABLE], src, dst, out.size);
        return MQ_OK;
    case MQ_OP_ADD: {
        mq_tensor_rec in2;
        mq_add_params a;
        mq_tensor_decode(m->tensors, op->inputs[1], &in2);
        mq_op_add_params(op, &in, &in2, &out, &a);
        mq_add_unchecked(&a, src, c->base[op->inputs[1]] + s * c->stride[op->inputs[1]], dst, out.size);
        return MQ_OK;
    }
    case MQ_OP_RESHAPE:
        memcpy(dst, src, out.size);
        return MQ_OK;
    case MQ_OP_SOFTMAX: {
        mq_softmax_params sm;
        mq_op_softmax_params(m->constants, op, &in, &out, &sm);
        mq_softmax_unchecked(&sm, src, dst);
        return MQ_OK;
    }
    case MQ_OP_SOFTMAX_TABLE: {
        mq_softmax_table_params sm;
        mq_op_softmax_table_params(m->constants, op, &in, &out, &sm);
        mq_softmax_table_unchecked(&sm, src, dst);
        return MQ_OK;
    }
    case MQ_OP_TRANSPOSE: {
        int32_t perm[4];
        int32_t i;
        for (i = 0; i < 4; i++) {
            perm[i] = (int32_t)op->p[MQ_P_TRANSPOSE_PERM + i];
        }
        mq_transpose_u8_unchecked(in.dims, perm, in.rank, src, dst);
        return MQ_OK;
    }
    case MQ_OP_CONV: {
        mq_conv_params cp;
        mq_op_convk_params(m->constants, op, &in, &out, &cp);
        cp.gemm.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u ? 1 : 0;
        st = mq_batch_scratch(c, mq_conv_scratch_size(&cp), &scr);
        if (st == MQ_OK) {
            mq_conv_unchecked(&cp, src, dst, scr);
        }
        return st;
    }
    case MQ_OP_DEPTHWISE_CONV: {
        mq_depthwise_params dw;
        mq_op_depthwise_params(m->constants, op, &in, &out, &dw);
        dw.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u ? 1 : 0;
        st = mq_batch_scratch(c, mq_depthwise_scratch_size(&dw), &scr);
        if (st == MQ_OK) {
            mq_depthwise_conv_unchecked(&dw, src, dst, scr);
        }
        return st;
    }
    case MQ_OP_AVERAGE_POOL:
    case MQ_OP_MAX_POOL: {
        mq_pool_params pp;
        mq_op_pool_params(op, &in, &out, &pp);
        if (op->type == MQ_OP_AVERAGE_POOL) {
            mq_avg_pool_unchecked(&pp, src, dst);
        } else {
            mq_max_pool_unchecked(&pp, src, dst);
        }
        return MQ_OK;
    }
    case MQ_OP_MEAN: {
        mq_mean_params mp;
        mq_op_mean_params(op, &in, &out, &mp);
        mq_mean_unchecked(&mp, src, dst);
        return MQ_OK;
    }
    case MQ_OP_PAD: {
        mq_pad_params pp;
        mq_op_pad_params(op, &in, &out, &pp);
        mq_pad_unchecked(&pp, src, dst);
        return MQ_OK;
    }
    case MQ_OP_CONCAT: {
        mq_tensor_rec ins[MQ_OP_MAX_INPUTS];
        const void *srcs[MQ_OP_MAX_INPUTS];
        mq_concat_params cp;
        uint32_t i;
        for (i = 0; i < op->num_inputs; i++) {
            mq_tensor_decode(m->tensors, op->inputs[i], &ins[i]);
            srcs[i] = c->base[op->inputs[i]] + s * c->stride[op->inputs[i]];
        }
        mq_op_concat_params(op, ins, &cp);
        mq_concat_unchecked(&cp, srcs, dst);
        return MQ_OK;
    }
    case MQ_OP_MUL: {
        mq_tensor_rec in2;
        mq_mul_params mp;
        mq_tensor_decode(m->tensors, op->inputs[1], &in2);
        mq_op_mul_params(op, &in, &in2, &out, &mp);
        mq_mul_unchecked(&mp, src, c->base[op->inputs[1]] + s * c->stride[op->inputs[1]], dst, out.size);
        return MQ_OK;
    }
    case MQ_OP_REQUANTIZE: {
        mq_requantize_params rp;
        mq_op_requantize_params(op, &in, &out, &rp);
        mq_requantize_u8_unchecked(&rp, src, dst, out.size);
        return MQ_OK;
    }
    default:
        return MQ_ERR_UNSUPPORTED_OP;
    }
}

/* The op on samples [0, n) of the chunk at once when its kernel takes them as one batch (the folded parameters
 * pass the kernel's own check); returns 0 when it must run sample by sample. */
static int mq_batch_op_folded(mq_batch_ctx *c, const mq_op_rec *op, size_t n, mq_status *st)
{
    const mq_model *m = c->m;
    mq_tensor_rec in, out;
    const uint8_t *src;
    uint8_t *dst;
    uint8_t *scr;
    const uint32_t in_id = op->inputs[0];
    const int32_t nb = (int32_t)n;

    *st = MQ_OK;
    if (n > (size_t)MQ_MAX_DIM || c->stride[in_id] == 0u) {
        return 0; /* a constant first input: sample by sample */
    }
    mq_tensor_decode(m->tensors, in_id, &in);
    mq_tensor_decode(m->tensors, op->outputs[0], &out);
    src = c->base[in_id];
    dst = c->base[op->outputs[0]];
    switch (op->type) {
    case MQ_OP_FULLY_CONNECTED: {
        mq_fc_params fc;
        size_t rows;
        mq_op_fc_params(m->constants, op, &in, &fc);
        rows = (size_t)(in.size / (uint32_t)fc.k) * n;
        if (rows > (size_t)MQ_MAX_DIM) {
            return 0;
        }
        fc.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) != 0u ? 1 : 0;
        mq_fully_connected_unchecked(&fc, (int32_t)rows, src, dst);
        return 1;
    }
    case MQ_OP_CONV_1X1: {
        mq_conv1x1_params cp;
        mq_op_conv_params(m->constants, op, &in, &cp);
        if ((int64_t)cp.batch * nb * cp.in_h * cp.in_w > MQ_MAX_DIM) {
            return 0;
        }
        cp.batch *= nb;
        cp.gemm.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u ? 1 : 0;
        *st = mq_batch_scratch(c, mq_conv1x1_scratch_size(&cp), &scr);
        if (*st == MQ_OK) {
            mq_conv1x1_unchecked(&cp, src, dst, scr);
        }
        return 1;
    }
    case MQ_OP_CONV: {
        mq_conv_params cp;
        mq_op_convk_params(m->constants, op, &in, &out, &cp);
        if ((int64_t)cp.win.batch * nb > MQ_MAX_DIM) {
            return 0;
        }
        cp.win.batch *= nb;
        if (mq_conv_check(&cp) != MQ_OK) {
            return 0;
        }
        cp.gemm.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u ? 1 : 0;
        *st = mq_batch_scratch(c, mq_conv_scratch_size(&cp), &scr);
        if (*st == MQ_OK) {
            mq_conv_unchecked(&cp, src, dst, scr);
        }
        return 1;
    }
    case MQ_OP_DEPTHWISE_CONV: {
        mq_depthwise_params dw;
        mq_op_depthwise_params(m->constants, op, &in, &out, &dw);
        if ((int64_t)dw.win.batch * nb > MQ_MAX_DIM) {
            return 0;
        }
        dw.win.batch *= nb;
        if (mq_depthwise_check(&dw) != MQ_OK) {
            return 0;
        }
        dw.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u ? 1 : 0;
        *st = mq_batch_scratch(c, mq_depthwise_scratch_size(&dw), &scr);
        if (*st == MQ_OK) {
            mq_depthwise_conv_unchecked(&dw, src, dst, scr);
        }
        return 1;
    }
    case MQ_OP_AVERAGE_POOL:
    case MQ_OP_MAX_POOL: {
        mq_pool_params pp;
        mq_op_pool_params(op, &in, &out, &pp);
        if ((int64_t)pp.win.batch * nb > MQ_MAX_DIM) {
            return 0;
        }
        pp.win.batch *= nb;
        if (mq_pool_check(&pp) != MQ_OK) {
            return 0;
        }
        if (op->type == MQ_OP_AVERAGE_POOL) {
            mq_avg_pool_unchecked(&pp, src, dst);
        } else {
            mq_max_pool_unchecked(&pp, src, dst);
        }
        return 1;
    }
    case MQ_OP_MEAN: {
        mq_mean_params mp;
        mq_op_mean_params(op, &in, &out, &mp);
        if ((int64_t)mp.batch * nb > MQ_MAX_DIM) {
            return 0;
        }
        mp.batch *= nb;
        if (mq_mean_check(&mp) != MQ_OK) {
            return 0;
        }
        mq_mean_unchecked(&mp, src, dst);
        return 1;
    }
    case MQ_OP_SOFTMAX: {
        mq_softmax_params sm;
        mq_op_softmax_params(m->constants, op, &in, &out, &sm);
        if ((int64_t)sm.outer * nb * sm.axis_size * sm.inner > INT32_MAX) {
            return 0;
        }
        sm.outer *= nb;
        if (mq_softmax_check(&sm) != MQ_OK) {
            return 0;
        }
        mq_softmax_unchecked(&sm, src, dst);
        return 1;
    }
    case MQ_OP_SOFTMAX_TABLE: {
        mq_softmax_table_params sm;
        mq_op_softmax_table_params(m->constants, op, &in, &out, &sm);
        if ((int64_t)sm.outer * nb * sm.axis_size * sm.inner > INT32_MAX) {
            return 0;
        }
        sm.outer *= nb;
        if (mq_softmax_table_check(&sm) != MQ_OK) {
            return 0;
        }
        mq_softmax_table_unchecked(&sm, src, dst);
        return 1;
    }
    case MQ_OP_LUT:
        mq_lut_apply_unchecked(m->constants + op->p[MQ_P_LUT_TABLE], src, dst, (size_t)out.size * n);
        return 1;
    case MQ_OP_RESHAPE:
        memcpy(dst, src, (size_t)out.size * n);
        return 1;
    case MQ_OP_REQUANTIZE: {
        mq_requantize_params rp;
        mq_op_requantize_params(op, &in, &out, &rp);
        mq_requantize_u8_unchecked(&rp, src, dst, (size_t)out.size * n);
        return 1;
    }
    case MQ_OP_ADD: {
        mq_tensor_rec in2;
        mq_add_params a;
        if (c->stride[op->inputs[1]] == 0u) {
            return 0;
        }
        mq_tensor_decode(m->tensors, op->inputs[1], &in2);
        mq_op_add_params(op, &in, &in2, &out, &a);
        mq_add_unchecked(&a, src, c->base[op->inputs[1]], dst, (size_t)out.size * n);
        return 1;
    }
    case MQ_OP_MUL: {
        mq_tensor_rec in2;
        mq_mul_params mp;
        mq_tensor_decode(m->tensors, op->inputs[1], &in2);
        mq_op_mul_params(op, &in, &in2, &out, &mp);
        /* the second operand repeats with period 1 / channels / the sample size: fold only when the
         * batched buffers keep that period (a broadcast constant, or a full-size arena operand) */
        if ((mp.broadcast == MQ_BCAST_NONE) != (c->stride[op->inputs[1]] != 0u)) {
            return 0;
        }
        mq_mul_unchecked(&mp, src, c->base[op->inputs[1]], dst, (size_t)out.size * n);
        return 1;
    }
    default:
        return 0; /* TRANSPOSE, PAD, CONCAT: sample by sample */
    }
}

/* The op types this runner implements (mq_batch_op_one); a model with any other (the 16x8 ops) runs sample by
 * sample through mq_model_run instead (mq_batch_per_sample). */
static int mq_batch_op_supported(uint32_t type)
{
    switch (type) {
    case MQ_OP_FULLY_CONNECTED:
    case MQ_OP_CONV:
    case MQ_OP_CONV_1X1:
    case MQ_OP_DEPTHWISE_CONV:
    case MQ_OP_AVERAGE_POOL:
    case MQ_OP_MAX_POOL:
    case MQ_OP_MEAN:
    case MQ_OP_LUT:
    case MQ_OP_ADD:
    case MQ_OP_MUL:
    case MQ_OP_CONCAT:
    case MQ_OP_PAD:
    case MQ_OP_TRANSPOSE:
    case MQ_OP_RESHAPE:
    case MQ_OP_SOFTMAX:
    case MQ_OP_SOFTMAX_TABLE:
    case MQ_OP_REQUANTIZE:
        return 1;
    default:
        return 0;
    }
}

/* mq_model_run once per sample with one host arena (models with ops the batched runner does not fold). */
static mq_status mq_batch_per_sample(const mq_model *model, size_t count, const void *const *inputs,
                                     void *const *outputs)
{
    const size_t nio = (size_t)model->num_inputs + (size_t)model->num_outputs;
    const void **in_ptr = (const void **)calloc(model->num_inputs + 1u, sizeof(void *));
    void **out_ptr = (void **)calloc(model->num_outputs + 1u, sizeof(void *));
    size_t *size = (size_t *)calloc(nio + 1u, sizeof(size_t)); /* inputs, then outputs */
    uint8_t *arena = (uint8_t *)malloc((size_t)model->arena_size + 16u);
    mq_tensor_rec t;
    size_t i, k;
    mq_status st = MQ_OK;
    if (in_ptr == NULL || out_ptr == NULL || size == NULL || arena == NULL) {
        st = MQ_ERR_BUFFER;
    }
    for (k = 0; k < nio && st == MQ_OK; k++) {
        mq_tensor_decode(model->tensors, mq_rd16(model->io + 2u * k), &t);
        size[k] = (size_t)t.size;
    }
    for (i = 0; i < count && st == MQ_OK; i++) {
        for (k = 0; k < model->num_inputs; k++) {
            in_ptr[k] = (const uint8_t *)inputs[k] + i * size[k];
        }
        for (k = 0; k < model->num_outputs; k++) {
            out_ptr[k] = (uint8_t *)outputs[k] + i * size[model->num_inputs + k];
        }
        st = mq_model_run(model, arena, (size_t)model->arena_size + 16u, in_ptr, out_ptr);
    }
    free(arena);
    free(size);
    free(out_ptr);
    free(in_ptr);
    return st;
}

static size_t mq_batch_round(size_t x)
{
    return (x + (MQ_BATCH_ALIGN - 1u)) & ~(size_t)(MQ_BATCH_ALIGN - 1u);
}

mq_status mq_model_run_batch(const mq_model *model, size_t count, const void *const *inputs, void *const *outputs,
                             size_t chunk)
{
    mq_batch_ctx c;
    mq_tensor_rec t;
    uint8_t *block = NULL;
    size_t *offset = NULL;  /* per tensor: offset in block (SIZE_MAX: caller's array or constant) */
    size_t per_sample = 0u; /* bytes of the chunk buffers per sample */
    size_t block_size = 0u;
    size_t start, i;
    uint32_t id, k;
    mq_status st = MQ_OK;

    if (model == NULL || model->blob == NULL || (count > 0u && (inputs == NULL || outputs == NULL))) {
        return MQ_ERR_NULL;
    }
    for (k = 0; count > 0u && k < (uint32_t)model->num_inputs + model->num_outputs; k++) {
        if ((k < model->num_inputs ? inputs[k] : outputs[k - model->num_inputs]) == NULL) {
            return MQ_ERR_NULL;
        }
    }
    if (count == 0u) {
        return MQ_OK;
    }
    if ((model->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
        /* onnxruntime's float32 output stage: mq_model_run's portable kernels, sample by sample */
        return mq_batch_per_sample(model, count, inputs, outputs);
    }
    for (k = 0; k < model->num_ops; k++) {
        mq_op_rec op;
        mq_op_decode(model->ops, k, &op);
        if (!mq_batch_op_supported(op.type)) {
            return mq_batch_per_sample(model, count, inputs, outputs);
        }
    }
    memset(&c, 0, sizeof(c));
    c.m = model;
    c.base = (uint8_t **)calloc(model->num_tensors, sizeof(uint8_t *));
    c.stride = (size_t *)calloc(model->num_tensors, sizeof(size_t));
    offset = (size_t *)calloc(model->num_tensors, sizeof(size_t));
    if (c.base == NULL || c.stride == NULL || offset == NULL) {
        st = MQ_ERR_BUFFER;
        goto done;
    }
    /* which tensors get a chunk buffer: arena tensors that are not model inputs or (first-listed) outputs */
    for (id = 0; id < model->num_tensors; id++) {
        mq_tensor_decode(model->tensors, id, &t);
        c.stride[id] = t.storage == (uint32_t)MQ_STORAGE_ARENA ? (size_t)t.size : 0u;
        offset[id] = t.storage == (uint32_t)MQ_STORAGE_ARENA ? 0u : SIZE_MAX;
        if (t.storage != (uint32_t)MQ_STORAGE_ARENA) {
            c.base[id] = (uint8_t *)(uintptr_t)(model->constants + t.offset);
        }
    }
    for (k = 0; k < (uint32_t)model->num_inputs + model->num_outputs; k++) {
        offset[mq_rd16(model->io + 2u * k)] = SIZE_MAX;
    }
    for (k = 0; k < model->num_inputs; k++) {
        /* an input that is also an output is copied to the output at the end */
        id = mq_rd16(model->io + 2u * k);
        offset[id] = SIZE_MAX - 1u;
    }
    for (id = 0; id < model->num_tensors; id++) {
        if (offset[id] == 0u && c.stride[id] > 0u) {
            per_sample += c.stride[id];
        }
    }
    if (chunk == 0u) {
        /* about 1 MiB of intermediate tensors per chunk, 16..1024 samples */
        chunk = per_sample > 0u ? ((size_t)1 << 20) / per_sample : 1024u;
        chunk = chunk < 16u ? 16u : (chunk > 1024u ? 1024u : chunk);
    }
    if (chunk > count) {
        chunk = count;
    }
    if (chunk > (size_t)MQ_MAX_DIM) {
        chunk = (size_t)MQ_MAX_DIM;
    }
    for (id = 0; id < model->num_tensors; id++) {
        if (offset[id] == 0u && c.stride[id] > 0u) {
            if (c.stride[id] > (SIZE_MAX / 2u) / chunk) {
                st = MQ_ERR_SHAPE;
                goto done;
            }
            offset[id] = block_size;
            block_size += mq_batch_round(c.stride[id] * chunk);
        }
    }
    if (block_size > 0u) {
        block = (uint8_t *)malloc(block_size);
        if (block == NULL) {
            st = MQ_ERR_BUFFER;
            goto done;
        }
    }
    for (start = 0; start < count && st == MQ_OK; start += chunk) {
        const size_t n = count - start < chunk ? count - start : chunk;
        for (id = 0; id < model->num_tensors; id++) {
            if (c.stride[id] > 0u && offset[id] < SIZE_MAX - 1u) {
                c.base[id] = block + offset[id];
            }
        }
        /* outputs first, then inputs: a tensor that is both is read from the caller's input */
        for (k = 0; k < model->num_outputs; k++) {
            id = mq_rd16(model->io + 2u * (model->num_inputs + k));
            if (offset[id] == SIZE_MAX && c.stride[id] > 0u) {
                c.base[id] = (uint8_t *)outputs[k] + start * c.stride[id];
            }
        }
        for (k = 0; k < model->num_inputs; k++) {
            id = mq_rd16(model->io + 2u * k);
            c.base[id] = (uint8_t *)(uintptr_t)inputs[k] + start * c.stride[id];
        }
        for (k = 0; k < model->num_ops && st == MQ_OK; k++) {
            mq_op_rec op;
            mq_op_decode(model->ops, k, &op);
            if (!mq_batch_op_folded(&c, &op, n, &st)) {
                for (i = 0; i < n && st == MQ_OK; i++) {
                    st = mq_batch_op_one(&c, &op, i);
                }
            }
        }
        /* outputs not written in place: copy (an input or a tensor listed twice as output) */
        for (k = 0; k < model->num_outputs && st == MQ_OK; k++) {
            uint8_t *dst;
            id = mq_rd16(model->io + 2u * (model->num_inputs + k));
            mq_tensor_decode(model->tensors, id, &t);
            dst = (uint8_t *)outputs[k] + start * (size_t)t.size;
            if (c.base[id] != dst) {
                if (c.stride[id] > 0u) {
                    memcpy(dst, c.base[id], (size_t)t.size * n);
                } else {
                    for (i = 0; i < n; i++) {
                        memcpy(dst + i * (size_t)t.size, c.base[id], t.size);
                    }
                }
            }
        }
    }
done:
    free(block);
    free(offset);
    free(c.scratch);
    free(c.base);
    free(c.stride);
    return st;
}
