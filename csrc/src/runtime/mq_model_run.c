/*
 * MicroQuant: mq_model_run, the interpreter. Copies the inputs into their arena tensors, runs the
 * ops in order through the device kernels (mq_kernels.h), copies the outputs out. No allocation,
 * no float, no planning: every tensor sits at the arena offset the host planned, and the loader
 * already validated every offset, size, shape and parameter used here.
 */
#include <string.h>

#include "mq_format.h"
#include "mq_kernel_select.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"
#include "stream/mq_rows.h"
#include "stream/mq_stream.h"

/* Read-only address of a tensor's bytes: in the arena, or in place in the blob's constants. */
static const uint8_t *mq_tensor_src(const mq_model *m, uint8_t *arena, const mq_tensor_rec *t)
{
    return t->storage == (uint32_t)MQ_STORAGE_ARENA ? arena + t->offset : m->constants + t->offset;
}

#if MQ_OP_ANY_S16_ENABLED
/* The 16x8 ops (format 2.1): the loader ran each kernel's own check on these parameters; the interpreter calls the
 * public entry points of csrc/src/int16 (their checks are O(1), or O(channels) for conv / depthwise; FULLY_CONNECTED
 * calls mq_fully_connected_s16_unchecked, as the int8 FC its unchecked entry). The
 * tensors are 16-byte aligned arena ranges or constants, so the int16 views are aligned. */
static mq_status mq_run_op_s16(const mq_model *m, uint8_t *arena, const mq_op_rec *op, const mq_tensor_rec *in,
                               const mq_tensor_rec *out, const uint8_t *src, uint8_t *dst)
{
    const int16_t *x = (const int16_t *)(const void *)src;
    int16_t *y = (int16_t *)(void *)dst;
    const size_t n = out->size / (out->dtype == MQ_DTYPE_INT16 ? 2u : 1u); /* elements */
    (void)m;
    (void)arena;
    (void)in;
    (void)x;
    (void)n;
    switch (op->type) {
#if MQ_OP_FULLY_CONNECTED_S16_ENABLED
    case MQ_OP_FULLY_CONNECTED_S16: {
        mq_fc_s16_params fc;
        mq_op_fc_s16_params(m->constants, op, &fc);
        /* the loader ran mq_fc_s16_check and placed input and output apart: arithmetic only */
        mq_fully_connected_s16_unchecked(&fc, (int32_t)(in->size / 2u / (uint32_t)fc.k), x, y);
        return MQ_OK;
    }
#endif
#if MQ_OP_CONV_S16_ENABLED
    case MQ_OP_CONV_S16: {
        mq_conv_s16_params cp;
        mq_op_conv_s16_params(m->constants, op, in, out, &cp);
        return mq_conv_s16(&cp, x, y);
    }
#endif
#if MQ_OP_DEPTHWISE_CONV_S16_ENABLED
    case MQ_OP_DEPTHWISE_CONV_S16: {
        mq_depthwise_s16_params dw;
        mq_op_depthwise_s16_params(m->constants, op, in, out, &dw);
        return mq_depthwise_conv_s16(&dw, x, y);
    }
#endif
#if MQ_OP_ADD_S16_ENABLED
    case MQ_OP_ADD_S16: {
        mq_tensor_rec in2;
        mq_add_s16_params a;
        mq_tensor_decode(m->tensors, op->inputs[1], &in2);
        mq_op_add_s16_params(op, &a);
        return mq_add_s16(&a, x, (const int16_t *)(const void *)mq_tensor_src(m, arena, &in2), y, n);
    }
#endif
#if MQ_OP_MUL_S16_ENABLED
    case MQ_OP_MUL_S16: {
        mq_tensor_rec in2;
        mq_mul_s16_params mp;
        mq_tensor_decode(m->tensors, op->inputs[1], &in2);
        mq_op_mul_s16_params(op, out, &mp);
        return mq_mul_s16(&mp, x, (const int16_t *)(const void *)mq_tensor_src(m, arena, &in2), y, n);
    }
#endif
#if MQ_OP_AVERAGE_POOL_S16_ENABLED
    case MQ_OP_AVERAGE_POOL_S16: {
        mq_pool_s16_params pp;
        mq_op_pool_s16_params(op, in, out, &pp);
        return mq_avg_pool_s16(&pp, x, y);
    }
#endif
#if MQ_OP_MAX_POOL_S16_ENABLED
    case MQ_OP_MAX_POOL_S16: {
        mq_pool_s16_params pp;
        mq_op_pool_s16_params(op, in, out, &pp);
        return mq_max_pool_s16(&pp, x, y);
    }
#endif
#if MQ_OP_LUT16_ENABLED
    case MQ_OP_LUT16:
        return mq_lut16_apply((const int16_t *)(const void *)(m->constants + op->p[MQ_P_LUT16_TABLE]), x, y, n);
#endif
#if MQ_OP_QUANTIZE_S16_ENABLED
    case MQ_OP_QUANTIZE_S16: {
        mq_requantize_s16_params rp;
        mq_op_requantize_s16_params(op, in, out, &rp);
        return mq_requantize_s8_to_s16(&rp, src, y, n);
    }
#endif
#if MQ_OP_REQUANTIZE_S16_TO_8_ENABLED
    case MQ_OP_REQUANTIZE_S16_TO_8: {
        mq_requantize_s16_params rp;
        mq_op_requantize_s16_params(op, out, in, &rp);
        return mq_requantize_s16_to_s8(&rp, x, dst, n);
    }
#endif
#if MQ_OP_RESCALE_S16_ENABLED
    case MQ_OP_RESCALE_S16: {
        mq_rescale_s16_params rp;
        mq_op_rescale_s16_params(op, in, out, &rp);
        return mq_rescale_s16(&rp, x, y, n);
    }
#endif
#if MQ_OP_SOFTMAX_S16_ENABLED
    case MQ_OP_SOFTMAX_S16: {
        mq_softmax_s16_params sm;
        mq_op_softmax_s16_params(m->constants, op, in, &sm);
        return mq_softmax_s16(&sm, x, y);
    }
#endif
    default:
        (void)y;
        return MQ_ERR_UNSUPPORTED_OP; /* unreachable after a successful load */
    }
}
#endif

static mq_status mq_run_op(const mq_model *m, uint8_t *arena, uint32_t index);

#if MQ_OP_STREAM_FC_ENABLED || MQ_OP_STREAM_FC_S16_ENABLED
/* A member of a pixel-streamed chain, prepared once per STREAM op call (the TFLM prepare / eval split inside the
 * op): its record and tensors decoded, its kernel parameters built and its one-pixel buffers resolved, so the pixel
 * loop only calls the kernel. kind says which call (the members of the chains calibrate forms:
 * Sources/MQPacking/StreamFusion.swift); MQ_SM_OP runs the record through mq_run_op per pixel, as before (the other
 * member types the loader accepts: FULLY_CONNECTED, LUT, REQUANTIZE, RESHAPE, FULLY_CONNECTED_S16,
 * REQUANTIZE_S16_TO_8, RESCALE_S16, and a 1x1 convolution whose input is not one pixel). */
enum {
    MQ_SM_OP = 0,     /* mq_run_op(index) per pixel */
    MQ_SM_GEMM8,      /* CONV_1X1 on one pixel: one GEMM row (MQ_GEMM_ROW) */
    MQ_SM_GEMM16,     /* CONV_S16 1x1 on one pixel: one 16x8 row (mq_fully_connected_s16_unchecked, batch 1) */
    MQ_SM_LUT16,      /* LUT16: mq_lut16_apply over n elements */
    MQ_SM_Q16         /* QUANTIZE_S16: mq_requantize_s8_to_s16 over n elements */
};

typedef struct {
    uint32_t kind;
    uint32_t index;     /* the record (MQ_SM_OP) */
    int32_t ready;      /* GEMM8: MQ_GEMM_ROW_READY(&u.fc), decided once */
    const uint8_t *src;
    uint8_t *dst;
    size_t n;           /* elements (LUT16, Q16) */
    union {
        mq_fc_params fc;
        mq_fc_s16_params fc16;
        mq_requantize_s16_params q16;
        const uint8_t *table; /* LUT16: 513 int16 */
    } u;
} mq_stream_member;

/* Fill *sm for op record index (a member: validated at load as the op it is, one pixel, flag bit 3). */
static void mq_stream_prepare_member(const mq_model *m, uint8_t *arena, uint32_t index, mq_stream_member *sm)
{
    mq_op_rec op;
    mq_tensor_rec in, out;

    mq_op_decode(m->ops, index, &op);
    mq_tensor_decode(m->tensors, op.inputs[0], &in);
    mq_tensor_decode(m->tensors, op.outputs[0], &out);
    sm->kind = MQ_SM_OP;
    sm->index = index;
    sm->ready = 0;
    sm->src = mq_tensor_src(m, arena, &in);
    sm->dst = arena + out.offset;
    sm->n = out.size;
    switch (op.type) {
#if MQ_OP_CONV_1X1_ENABLED
    case MQ_OP_CONV_1X1: {
        mq_conv1x1_params cp;
        mq_op_conv_params(m->constants, &op, &in, &cp);
        if (in.size == (uint32_t)cp.gemm.k) {
            /* one pixel (unpadded, no scratch: validated at load): one GEMM row, the batch-1 fully connected path
             * (the same sums and output stage, without the convolution's row driver) */
            sm->u.fc = cp.gemm;
            if ((m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u) {
                sm->u.fc.single_rounding = 1;
            }
            sm->kind = MQ_SM_GEMM8;
            sm->ready = MQ_GEMM_ROW_READY(&sm->u.fc);
        }
        break;
    }
#endif
#if MQ_OP_CONV_S16_ENABLED
    case MQ_OP_CONV_S16: {
        mq_conv_s16_params cp;
        mq_op_conv_s16_params(m->constants, &op, &in, &out, &cp);
        if (cp.win.kernel_h == 1 && cp.win.kernel_w == 1 && in.size == (uint32_t)cp.in_c * 2u) {
            /* one pixel: one fully connected row (the same int64 sums and output stage; mq_conv_s16_check ran) */
            sm->u.fc16 = cp.gemm;
            sm->kind = MQ_SM_GEMM16;
        }
        break;
    }
#endif
#if MQ_OP_LUT16_ENABLED
    case MQ_OP_LUT16:
        sm->u.table = m->constants + op.p[MQ_P_LUT16_TABLE];
        sm->kind = MQ_SM_LUT16;
        sm->n = out.size / 2u;
        break;
#endif
#if MQ_OP_QUANTIZE_S16_ENABLED
    case MQ_OP_QUANTIZE_S16:
        mq_op_requantize_s16_params(&op, &in, &out, &sm->u.q16);
        sm->kind = MQ_SM_Q16;
        sm->n = out.size / 2u;
        break;
#endif
    default:
        break;
    }
}

/* One pixel through a prepared member. */
static mq_status mq_stream_run_member(const mq_model *m, uint8_t *arena, const mq_stream_member *sm)
{
    switch (sm->kind) {
    case MQ_SM_GEMM8:
#if MQ_OP_CONV_1X1_ENABLED
        /* one GEMM row: the same bytes as mq_fully_connected_unchecked(&sm->u.fc, 1, src, dst), the batch-1 path's
         * per-call decisions taken once (mq_microkernels.h) */
        MQ_GEMM_ROW(&sm->u.fc, sm->ready, sm->src, sm->dst);
#endif
        return MQ_OK;
    case MQ_SM_GEMM16:
#if MQ_OP_CONV_S16_ENABLED
        mq_fully_connected_s16_unchecked(&sm->u.fc16, 1, (const int16_t *)(const void *)sm->src,
                                         (int16_t *)(void *)sm->dst);
#endif
        return MQ_OK;
    case MQ_SM_LUT16:
#if MQ_OP_LUT16_ENABLED
        return mq_lut16_apply((const int16_t *)(const void *)sm->u.table, (const int16_t *)(const void *)sm->src,
                              (int16_t *)(void *)sm->dst, sm->n);
#else
        return MQ_OK;
#endif
    case MQ_SM_Q16:
#if MQ_OP_QUANTIZE_S16_ENABLED
        return mq_requantize_s8_to_s16(&sm->u.q16, sm->src, (int16_t *)(void *)sm->dst, sm->n);
#else
        return MQ_OK;
#endif
    default:
        return mq_run_op(m, arena, sm->index);
    }
}

/* STREAM_FC / STREAM_FC_S16 (docs/FORMAT.md "Pixel-streamed chain"): per grid pixel, gather the source pixel into
 * inputs[1], run the member ops (the next p[MEMBERS] records, flagged MQ_OP_FLAG_STREAMED, the ordinary kernels on
 * one pixel), add the head's products over inputs[2]; then the head's output stage. Validated at load: the grid
 * inside the source, the members, the head block, every range apart. The members are prepared once per call
 * (mq_stream_prepare_member), not per pixel. */
static mq_status mq_run_stream(const mq_model *m, uint8_t *arena, uint32_t index, const mq_op_rec *op,
                               const mq_tensor_rec *src, const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const uint32_t members = p[MQ_P_STREAM_MEMBERS], layout = p[MQ_P_STREAM_LAYOUT];
    const int32_t oh = (int32_t)p[MQ_P_STREAM_OUT_H], ow = (int32_t)p[MQ_P_STREAM_OUT_W];
    const int32_t sh = (int32_t)p[MQ_P_STREAM_STRIDE_H], sw = (int32_t)p[MQ_P_STREAM_STRIDE_W];
    const int32_t elem = src->dtype == MQ_DTYPE_INT16 ? 2 : 1;
    const int32_t nchw = layout == MQ_STREAM_LAYOUT_NCHW;
    const int32_t c = nchw ? src->dims[1] : src->dims[3];
    const int32_t h = nchw ? src->dims[2] : src->dims[1];
    const int32_t w = nchw ? src->dims[3] : src->dims[2];
    const int s8 = op->type == (uint32_t)MQ_OP_STREAM_FC;
    void *acc = arena + p[MQ_P_STREAM_ACC]; /* 16-aligned */
    mq_stream_member sm[MQ_STREAM_MAX_MEMBERS];
    const uint8_t *source = arena + src->offset;
    uint8_t *gp, *hp;
    mq_tensor_rec g, hx;
    int32_t y, x, hc, k0;
    uint32_t j;
    mq_status st;
    mq_fc_params fc;
    mq_fc_s16_params fc16;

    mq_tensor_decode(m->tensors, op->inputs[1], &g);
    mq_tensor_decode(m->tensors, op->inputs[2], &hx);
    gp = arena + g.offset;
    hp = arena + hx.offset;
    if (s8) {
        mq_op_fc_params(m->constants, op, &hx, &fc);
        fc.single_rounding = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) != 0u ? 1 : 0;
        hc = (int32_t)hx.size;
        mq_stream_fc_s8_init(&fc, (uint32_t *)acc);
    } else {
        mq_op_fc_s16_params(m->constants, op, &fc16);
        hc = (int32_t)(hx.size / 2u);
        mq_stream_fc_s16_init(&fc16, (int64_t *)acc);
    }
    for (j = 0u; j < members; j++) {
        mq_stream_prepare_member(m, arena, index + 1u + j, &sm[j]);
    }
    k0 = 0;
    for (y = 0; y < oh; y++) {
        for (x = 0; x < ow; x++) {
            mq_stream_gather(source, layout, h, w, c, elem, y * sh, x * sw, gp);
            for (j = 0u; j < members; j++) {
                st = mq_stream_run_member(m, arena, &sm[j]);
                if (st != MQ_OK) {
                    return st;
                }
            }
            if (s8) {
                mq_stream_fc_s8_accumulate(&fc, k0, hc, hp, (uint32_t *)acc);
            } else {
                mq_stream_fc_s16_accumulate(&fc16, k0, hc, (const int16_t *)(const void *)hp, (int64_t *)acc);
            }
            k0 += hc;
        }
    }
    if (s8) {
        mq_stream_fc_s8_finish(&fc, (const uint32_t *)acc, arena + out->offset);
    } else {
        mq_stream_fc_s16_finish(&fc16, (const int64_t *)acc, (int16_t *)(void *)(arena + out->offset));
    }
    return MQ_OK;
}
#endif

#if MQ_OP_ROW_STREAM_ENABLED
/* A member of a row-streamed segment, prepared once per ROW_STREAM call (record and tensors decoded, kernel
 * parameters built, buffers resolved): the row loop only sets the row's window and calls the kernel. */
typedef struct {
    uint32_t type;
    union {
        mq_conv_params cv;
        mq_conv1x1_params c1;
        mq_depthwise_params dw;
        mq_add_params add;
        const uint8_t *lut;
    } u;
    const uint8_t *src[2];  /* base of each input: the segment input, a ring, or a constant */
    int32_t src_ring[2];    /* R of a ring input; 0: a whole tensor, its row lo at lo * src_row */
    uint32_t src_row[2];    /* bytes per input row; 0: the same bytes for every row (a broadcast constant) */
    uint8_t *dst;           /* the output ring, or the segment output */
    int32_t ring;           /* R of the output ring; 0: the segment output */
    uint32_t row;           /* output row bytes */
    void *scratch;
    const int32_t *add_terms; /* ADD: the two 256-entry input term tables (mq_add_tabulate), or NULL */
} mq_rows_exec;

static void mq_rows_prepare(const mq_model *m, uint8_t *arena, const mq_op_rec *seg, uint32_t index, uint32_t j,
                            const mq_rows_plan *plan, mq_rows_exec *all, int32_t *add_terms)
{
    mq_rows_exec *ex = &all[j];
    const mq_rows_member *pm = &plan->m[j];
    const int sr = (m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u;
    mq_op_rec op;
    mq_tensor_rec in, in2, out;
    uint32_t q;

    mq_op_decode(m->ops, index + 1u + j, &op);
    mq_tensor_decode(m->tensors, op.inputs[0], &in);
    mq_tensor_decode(m->tensors, op.outputs[0], &out);
    ex->type = op.type;
    ex->ring = pm->ring;
    ex->row = out.size / (uint32_t)out.dims[1];
    ex->dst = arena + (pm->ring > 0 ? seg->p[MQ_P_ROWS_RING + 2u * j] : out.offset);
    ex->scratch = NULL;
    ex->add_terms = NULL;
    (void)sr;        /* unused when no convolution is in the build list */
    (void)add_terms; /* unused without ADD */
    for (q = 0; q < 2u; q++) {
        const uint32_t k = pm->src[q];
        ex->src[q] = NULL;
        ex->src_ring[q] = 0;
        ex->src_row[q] = 0u;
        if (k == MQ_ROWS_FROM_INPUT) {
            ex->src[q] = arena + in.offset; /* the segment input (validated: the same tensor) */
            ex->src_row[q] = in.size / (uint32_t)in.dims[1];
        } else if (k < plan->members) {
            ex->src[q] = all[k].dst;
            ex->src_ring[q] = all[k].ring;
            ex->src_row[q] = all[k].row;
        } else if (q < op.num_inputs) {
            /* ADD's constant x2 (validated): its row y, or the same broadcast values for every row */
            mq_tensor_decode(m->tensors, op.inputs[q], &in2);
            ex->src[q] = m->constants + in2.offset;
            ex->src_row[q] = op.p[MQ_P_ADD_BROADCAST] == 0u ? ex->row : 0u;
        }
    }
    switch (op.type) {
#if MQ_OP_CONV_ENABLED
    case MQ_OP_CONV:
        mq_op_convk_params(m->constants, &op, &in, &out, &ex->u.cv);
        ex->u.cv.gemm.single_rounding = sr;
        ex->u.cv.win.out_h = 1;
        ex->scratch = op.p[MQ_P_CONVK_SCRATCH_SIZE] != 0u ? arena + op.p[MQ_P_CONVK_SCRATCH] : NULL;
        break;
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
    case MQ_OP_DEPTHWISE_CONV:
        mq_op_depthwise_params(m->constants, &op, &in, &out, &ex->u.dw);
        ex->u.dw.single_rounding = sr;
        ex->u.dw.win.out_h = 1;
        ex->scratch = op.p[MQ_P_DW_SCRATCH_SIZE] != 0u ? arena + op.p[MQ_P_DW_SCRATCH] : NULL;
        break;
#endif
#if MQ_OP_CONV_1X1_ENABLED
    case MQ_OP_CONV_1X1:
        mq_op_conv_params(m->constants, &op, &in, &ex->u.c1);
        ex->u.c1.gemm.single_rounding = sr;
        ex->u.c1.in_h = 1; /* one input row (no top / bottom padding: validated) */
        ex->scratch = arena + op.p[MQ_P_CONV_SCRATCH];
        break;
#endif
#if MQ_OP_ADD_ENABLED
    case MQ_OP_ADD:
        mq_tensor_decode(m->tensors, op.inputs[1], &in2);
        mq_op_add_params(&op, &in, &in2, &out, &ex->u.add);
        /* the input terms tabulated once per segment call into the record's arena scratch (the first such ADD; a
         * whole-tensor call of >= 1024 elements does the same per call, on its stack), not once per row */
        if (add_terms != NULL && mq_add_tabulate(&ex->u.add, add_terms, add_terms + 256)) {
            ex->add_terms = add_terms;
        }
        break;
#endif
    default: /* LUT */
        ex->u.lut = m->constants + op.p[MQ_P_LUT_TABLE];
        break;
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define MQ_ROWS_NOINLINE __attribute__((noinline))
#else
#define MQ_ROWS_NOINLINE
#endif

/* The plan and the prepared members of the ROW_STREAM record at index (its own frame: the records it decodes are gone
 * before the first row runs). */
static MQ_ROWS_NOINLINE void mq_rows_setup(const mq_model *m, uint8_t *arena, uint32_t index, mq_rows_plan *plan,
                                           mq_rows_exec *ex)
{
    mq_op_rec seg;
    int32_t *free_terms;
    uint32_t j;

    mq_op_decode(m->ops, index, &seg);
    /* one ADD member's two 256-entry term tables: arena scratch planned by the host (p17, p18: 16-aligned, apart from
     * S, Y, the rings and the members' scratch, validated), none when p18 is 0 */
    free_terms = seg.p[MQ_P_ROWS_TERMS_SIZE] != 0u ? (int32_t *)(void *)(arena + seg.p[MQ_P_ROWS_TERMS]) : NULL;
    mq_rows_plan_build(m->ops, m->tensors, index, seg.p, seg.inputs[0], seg.outputs[0], plan);
    for (j = 0; j < plan->members; j++) {
        mq_rows_prepare(m, arena, &seg, index, j, plan, ex, free_terms);
        if (ex[j].add_terms != NULL) {
            free_terms = NULL;
        }
    }
}

/* The window of output row y of a KxK member over its input rows [lo, hi): out_h 1, the pads stand for the rows
 * outside the input. */
#if MQ_OP_CONV_ENABLED || MQ_OP_DEPTHWISE_CONV_ENABLED
static void mq_rows_window(mq_window *w, const mq_rows_member *pm, int32_t y, int32_t lo, int32_t hi)
{
    w->in_h = hi - lo;
    w->pad_top = lo - (y * pm->stride - pm->pad_top);
    w->pad_bottom = pm->extent - (hi - lo) - w->pad_top;
}
#endif

/* Row y of member j: its input rows [lo, hi) as one contiguous view (a ring's double write keeps any R consecutive
 * rows contiguous), the kernel on a window of out_h 1 whose pads stand for the rows outside the input. */
static void mq_rows_run_row(const mq_rows_member *pm, int32_t y, mq_rows_exec *ex)
{
    const uint8_t *x[2];
    uint8_t *d;
    int32_t lo, hi, q;
    mq_rows_range(pm, y, &lo, &hi);
    for (q = 0; q < 2; q++) {
        const int32_t r = ex->src_ring[q] > 0 ? lo % ex->src_ring[q] : lo;
        x[q] = ex->src[q] + (size_t)r * ex->src_row[q];
    }
    d = ex->dst + (size_t)(ex->ring > 0 ? y % ex->ring : y) * ex->row;
    switch (ex->type) {
#if MQ_OP_CONV_ENABLED
    case MQ_OP_CONV:
        mq_rows_window(&ex->u.cv.win, pm, y, lo, hi);
        mq_conv_unchecked(&ex->u.cv, x[0], d, ex->scratch);
        break;
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
    case MQ_OP_DEPTHWISE_CONV:
        mq_rows_window(&ex->u.dw.win, pm, y, lo, hi);
        mq_depthwise_conv_unchecked(&ex->u.dw, x[0], d, ex->scratch);
        break;
#endif
#if MQ_OP_CONV_1X1_ENABLED
    case MQ_OP_CONV_1X1:
        mq_conv1x1_unchecked(&ex->u.c1, x[0], d, ex->scratch);
        break;
#endif
#if MQ_OP_ADD_ENABLED
    case MQ_OP_ADD:
        if (ex->add_terms != NULL) {
            mq_add_tabulated(&ex->u.add, ex->add_terms, ex->add_terms + 256, x[0], x[1], d, ex->row);
        } else {
            mq_add_unchecked(&ex->u.add, x[0], x[1], d, ex->row);
        }
        break;
#endif
#if MQ_OP_LUT_ENABLED
    case MQ_OP_LUT:
        mq_lut_apply_unchecked(ex->u.lut, x[0], d, ex->row);
        break;
#endif
    default:
        break;
    }
    if (ex->ring > 1 && y % ex->ring < ex->ring - 1) {
        memcpy(d + (size_t)ex->ring * ex->row, d, ex->row); /* the double write */
    }
}

/* ROW_STREAM (docs/FORMAT.md "Row-streamed segment"): the members (the next p[0] records, flag bit 4) prepared once
 * into ex[] (mq_rows_setup, whose frame is gone before the first row), then the row schedule of stream/mq_rows.h,
 * which the loader ran on counters (it completes without a stall). */
static MQ_ROWS_NOINLINE mq_status mq_rows_go(const mq_model *m, uint8_t *arena, uint32_t index, mq_rows_plan *plan,
                                             mq_rows_exec *ex, int32_t *next)
{
    uint32_t j, last;
    int progress;

    mq_rows_setup(m, arena, index, plan, ex);
    for (j = 0; j < plan->members; j++) {
        next[j] = 0;
    }
    last = plan->members - 1u;
    while (next[last] < plan->m[last].out_h) {
        progress = 0;
        for (j = 0; j < plan->members; j++) {
            while (mq_rows_ready(plan, next, j)) {
                mq_rows_run_row(&plan->m[j], next[j], &ex[j]);
                next[j]++;
                progress = 1;
            }
        }
        if (!progress) {
            return MQ_ERR_FORMAT_OP; /* unreachable after a successful load (mq_rows_simulate) */
        }
    }
    return MQ_OK;
}

/* The prepared members live on the stack of one of two callers (about 170 B each on Armv7-M): ex[4] for a segment of
 * up to 4 members (the IC residual blocks), ex[8] for more, so a short segment does not carry eight members'
 * parameters under its kernels. Called from mq_model_run, not mq_run_op, and never inlined: the members' kernels run
 * below this frame alone, not below mq_run_op's (which holds every other op's parameters). */
#define MQ_ROWS_SHORT 4
static MQ_ROWS_NOINLINE mq_status mq_run_rows_short(const mq_model *m, uint8_t *arena, uint32_t index)
{
    mq_rows_plan plan;
    mq_rows_exec ex[MQ_ROWS_SHORT];
    int32_t next[MQ_ROWS_SHORT];
    return mq_rows_go(m, arena, index, &plan, ex, next);
}

static MQ_ROWS_NOINLINE mq_status mq_run_rows_long(const mq_model *m, uint8_t *arena, uint32_t index)
{
    mq_rows_plan plan;
    mq_rows_exec ex[MQ_ROWS_MAX];
    int32_t next[MQ_ROWS_MAX];
    return mq_rows_go(m, arena, index, &plan, ex, next);
}

static mq_status mq_run_rows(const mq_model *m, uint8_t *arena, uint32_t index)
{
    /* p0 = the member count, 1..8 (validated at load: the plan's count is the same) */
    const uint32_t members = mq_rd32(m->ops + (size_t)index * MQ_OP_RECORD_SIZE + MQ_O_PARAMS + 4u * MQ_P_ROWS_MEMBERS);
    return members <= (uint32_t)MQ_ROWS_SHORT ? mq_run_rows_short(m, arena, index) : mq_run_rows_long(m, arena, index);
}
#endif

static mq_status mq_run_op(const mq_model *m, uint8_t *arena, uint32_t index)
{
    mq_op_rec op;
    mq_tensor_rec in, out;
    const uint8_t *src;
    uint8_t *dst;

    mq_op_decode(m->ops, index, &op);
    mq_tensor_decode(m->tensors, op.inputs[0], &in);
    mq_tensor_decode(m->tensors, op.outputs[0], &out);
    src = mq_tensor_src(m, arena, &in);
    dst = arena + out.offset; /* outputs always live in the arena (validated) */

#if MQ_OP_STREAM_FC_ENABLED || MQ_OP_STREAM_FC_S16_ENABLED
    if (op.type == (uint32_t)MQ_OP_STREAM_FC || op.type == (uint32_t)MQ_OP_STREAM_FC_S16) {
        return mq_run_stream(m, arena, index, &op, &in, &out);
    }
#endif
    /* Only the ops of the build list (mq_format.h) are compiled in; the loader rejected every other type. */
    switch (op.type) {
#if MQ_OP_FULLY_CONNECTED_ENABLED
    case MQ_OP_FULLY_CONNECTED: {
        mq_fc_params fc;
        mq_op_fc_params(m->constants, &op, &in, &fc);
#if MQ_GEMM_SINGLE_ROUNDING_ENABLED
        if ((m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) != 0u) {
            fc.single_rounding = 1; /* the same fast kernels, single-rounding output stage */
        }
#endif /* else the loader rejected the flag */
#if MQ_ORT_FLOAT32_ENABLED
        if ((m->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
            /* onnxruntime's float32 output stage: the portable loop on every core (loader: apart, float32 scales) */
            mq_fc_portable_unchecked(&fc, (int32_t)(in.size / (uint32_t)fc.k), src, dst, 1);
            return MQ_OK;
        }
#endif
        /* validated at load (mq_fc_params_check): arithmetic only */
        mq_fully_connected_unchecked(&fc, (int32_t)(in.size / (uint32_t)fc.k), src, dst); /* 8-bit: size = elements */
        return MQ_OK;
    }
#endif
#if MQ_OP_CONV_1X1_ENABLED
    case MQ_OP_CONV_1X1: {
        mq_conv1x1_params cp;
        mq_op_conv_params(m->constants, &op, &in, &cp);
        if ((m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u) {
            cp.gemm.single_rounding = 1; /* the same fast kernels, single-rounding output stage */
        }
#if MQ_ORT_FLOAT32_ENABLED
        if ((m->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
            mq_conv1x1_portable_unchecked(&cp, src, dst, 1); /* never in place (loader) */
            return MQ_OK;
        }
#endif
        if ((op.flags & MQ_OP_FLAG_IN_PLACE) != 0u) {
            /* validated at load: stride 1, unpadded, n <= k, dst == src, block scratch apart */
            mq_conv1x1_inplace_unchecked(&cp, dst, arena + op.p[MQ_P_CONV_SCRATCH]);
            return MQ_OK;
        }
        /* scratch: used only when mq_conv1x1_scratch_size(&cp) > 0 (the loader checked offset and size) */
        mq_conv1x1_unchecked(&cp, src, dst, arena + op.p[MQ_P_CONV_SCRATCH]);
        return MQ_OK;
    }
#endif
#if MQ_OP_LUT_ENABLED
    case MQ_OP_LUT:
        /* validated at load (table ref, in place or apart): arithmetic only */
        mq_lut_apply_unchecked(m->constants + op.p[MQ_P_LUT_TABLE], src, dst, out.size);
        return MQ_OK;
#endif
#if MQ_OP_ADD_ENABLED
    case MQ_OP_ADD: {
        mq_tensor_rec in2;
        mq_add_params a;
        mq_tensor_decode(m->tensors, op.inputs[1], &in2);
        mq_op_add_params(&op, &in, &in2, &out, &a);
        /* validated at load (mq_add on the same params, in place or apart) */
        mq_add_unchecked(&a, src, mq_tensor_src(m, arena, &in2), dst, out.size);
        return MQ_OK;
    }
#endif
#if MQ_OP_RESHAPE_ENABLED
    case MQ_OP_RESHAPE:
        if (src != dst) {
            memmove(dst, src, out.size);
        }
        return MQ_OK;
#endif
#if MQ_OP_SOFTMAX_ENABLED
    case MQ_OP_SOFTMAX: {
        mq_softmax_params sm;
        mq_op_softmax_params(m->constants, &op, &in, &out, &sm);
        /* validated at load (mq_softmax_check, output qparams, in place or apart) */
        mq_softmax_unchecked(&sm, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_TRANSPOSE_ENABLED
    case MQ_OP_TRANSPOSE: {
        int32_t perm[4];
        int32_t i;
        for (i = 0; i < 4; i++) {
            perm[i] = (int32_t)op.p[MQ_P_TRANSPOSE_PERM + i];
        }
        /* validated at load (perm a permutation of the rank, apart) */
        mq_transpose_u8_unchecked(in.dims, perm, in.rank, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_CONV_ENABLED
    case MQ_OP_CONV: {
        mq_conv_params cp;
        const uint32_t scratch = op.p[MQ_P_CONVK_SCRATCH_SIZE];
        mq_op_convk_params(m->constants, &op, &in, &out, &cp);
        if ((m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u) {
            cp.gemm.single_rounding = 1; /* the same fast kernels, single-rounding output stage */
        }
#if MQ_ORT_FLOAT32_ENABLED
        if ((m->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
            mq_conv_portable_unchecked(&cp, src, dst, 1); /* no scratch */
            return MQ_OK;
        }
#endif
        /* validated at load (mq_conv_check, scratch size and placement, apart) */
        mq_conv_unchecked(&cp, src, dst, scratch != 0u ? arena + op.p[MQ_P_CONVK_SCRATCH] : NULL);
        return MQ_OK;
    }
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
    case MQ_OP_DEPTHWISE_CONV: {
        mq_depthwise_params dw;
        const uint32_t scratch = op.p[MQ_P_DW_SCRATCH_SIZE];
        mq_op_depthwise_params(m->constants, &op, &in, &out, &dw);
        if ((m->flags & MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) != 0u) {
            dw.single_rounding = 1; /* the same fast kernels, single-rounding output stage */
        }
#if MQ_ORT_FLOAT32_ENABLED
        if ((m->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
            mq_depthwise_portable_unchecked(&dw, src, dst, 1); /* never in place (loader), no scratch */
            return MQ_OK;
        }
#endif
        if ((op.flags & MQ_OP_FLAG_IN_PLACE) != 0u) {
            /* validated at load: batch 1, supported pads, dst == src, ring scratch of the exact size apart */
            mq_depthwise_conv_inplace_unchecked(&dw, dst, arena + op.p[MQ_P_DW_SCRATCH]);
            return MQ_OK;
        }
        /* validated at load (mq_depthwise_check, scratch size and placement, apart) */
        mq_depthwise_conv_unchecked(&dw, src, dst, scratch != 0u ? arena + op.p[MQ_P_DW_SCRATCH] : NULL);
        return MQ_OK;
    }
#endif
#if MQ_OP_AVERAGE_POOL_ENABLED
    case MQ_OP_AVERAGE_POOL: {
        mq_pool_params pp;
        mq_op_pool_params(&op, &in, &out, &pp);
        /* validated at load (mq_pool_check, shapes, apart) */
        mq_avg_pool_unchecked(&pp, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_MAX_POOL_ENABLED
    case MQ_OP_MAX_POOL: {
        mq_pool_params pp;
        mq_op_pool_params(&op, &in, &out, &pp);
        /* validated at load (mq_pool_check, shapes, apart) */
        mq_max_pool_unchecked(&pp, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_MEAN_ENABLED
    case MQ_OP_MEAN: {
        mq_mean_params mp;
        mq_op_mean_params(&op, &in, &out, &mp);
#if MQ_ORT_FLOAT32_ENABLED
        if ((m->flags & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
            mq_mean_f32_unchecked(&mp, src, dst); /* float32 multiplier checked at load */
            return MQ_OK;
        }
#endif
        /* validated at load (mq_mean_check, shapes, apart) */
        mq_mean_unchecked(&mp, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_PAD_ENABLED
    case MQ_OP_PAD: {
        mq_pad_params pp;
        mq_op_pad_params(&op, &in, &out, &pp);
        /* validated at load (mq_pad_check, out dims, apart) */
        mq_pad_unchecked(&pp, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_CONCAT_ENABLED
    case MQ_OP_CONCAT: {
        mq_tensor_rec ins[MQ_OP_MAX_INPUTS];
        const void *srcs[MQ_OP_MAX_INPUTS];
        mq_concat_params cp;
        uint32_t i;
        for (i = 0; i < op.num_inputs; i++) {
            mq_tensor_decode(m->tensors, op.inputs[i], &ins[i]);
            srcs[i] = mq_tensor_src(m, arena, &ins[i]);
        }
        mq_op_concat_params(&op, ins, &cp);
        /* validated at load (mq_concat_check, shapes, apart or at its slice) */
        mq_concat_unchecked(&cp, srcs, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_MUL_ENABLED
    case MQ_OP_MUL: {
        mq_tensor_rec in2;
        mq_mul_params mp;
        mq_tensor_decode(m->tensors, op.inputs[1], &in2);
        mq_op_mul_params(&op, &in, &in2, &out, &mp);
        /* validated at load (mq_mul_check, broadcast sizes, aliasing rule) */
        mq_mul_unchecked(&mp, src, mq_tensor_src(m, arena, &in2), dst, out.size);
        return MQ_OK;
    }
#endif
#if MQ_OP_SOFTMAX_TABLE_ENABLED
    case MQ_OP_SOFTMAX_TABLE: {
        mq_softmax_table_params sm;
        mq_op_softmax_table_params(m->constants, &op, &in, &out, &sm);
        /* validated at load (mq_softmax_table_check, table ref, in place or apart) */
        mq_softmax_table_unchecked(&sm, src, dst);
        return MQ_OK;
    }
#endif
#if MQ_OP_REQUANTIZE_ENABLED
    case MQ_OP_REQUANTIZE: {
        mq_requantize_params rp;
        mq_op_requantize_params(&op, &in, &out, &rp);
        /* validated at load (mq_requantize_check, in place or apart) */
        mq_requantize_u8_unchecked(&rp, src, dst, out.size);
        return MQ_OK;
    }
#endif
    default:
#if MQ_OP_ANY_S16_ENABLED
        if (op.type >= (uint32_t)MQ_OP_FULLY_CONNECTED_S16) {
            return mq_run_op_s16(m, arena, &op, &in, &out, src, dst);
        }
#endif
        (void)src;
        (void)dst;
        return MQ_ERR_UNSUPPORTED_OP; /* unreachable after a successful load */
    }
}

mq_status mq_model_run(const mq_model *model, void *arena, size_t arena_size,
                       const void *const *inputs, void *const *outputs)
{
    uint8_t *a = (uint8_t *)arena;
    mq_tensor_rec t;
    uint32_t i;
    mq_status st;

    if (model == NULL || model->blob == NULL || arena == NULL || inputs == NULL || outputs == NULL) {
        return MQ_ERR_NULL;
    }
    if (arena_size < model->arena_size || ((uintptr_t)arena & 15u) != 0u) {
        return MQ_ERR_ARENA;
    }
    for (i = 0; i < (uint32_t)model->num_inputs + model->num_outputs; i++) {
        if ((i < model->num_inputs ? inputs[i] : outputs[i - model->num_inputs]) == NULL) {
            return MQ_ERR_NULL;
        }
    }
    for (i = 0; i < model->num_inputs; i++) {
        mq_tensor_decode(model->tensors, mq_rd16(model->io + 2u * i), &t);
        memcpy(a + t.offset, inputs[i], t.size);
    }
    for (i = 0; i < model->num_ops; i++) {
        if ((model->ops[(size_t)i * MQ_OP_RECORD_SIZE + MQ_O_FLAGS] & (MQ_OP_FLAG_STREAMED | MQ_OP_FLAG_ROW_MEMBER)) !=
            0u) {
            continue; /* a member of a pixel-streamed chain or a row-streamed segment: its op ran it */
        }
#if MQ_OP_ROW_STREAM_ENABLED
        if (model->ops[(size_t)i * MQ_OP_RECORD_SIZE + MQ_O_TYPE] == (uint8_t)MQ_OP_ROW_STREAM) {
            st = mq_run_rows(model, a, i); /* its own frame, not under mq_run_op's */
        } else
#endif
        {
            st = mq_run_op(model, a, i);
        }
        if (st != MQ_OK) {
            return st;
        }
    }
    for (i = 0; i < model->num_outputs; i++) {
        mq_tensor_decode(model->tensors, mq_rd16(model->io + 2u * (model->num_inputs + i)), &t);
        memcpy(outputs[i], mq_tensor_src(model, a, &t), t.size);
    }
    return MQ_OK;
}
