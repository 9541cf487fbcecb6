/*
 * MicroQuant: mq_model_load, the loader that trusts nothing.
 *
 * One pass over the blob, no allocation, no float. After MQ_OK every offset, length, id, dtype and
 * shape the interpreter will use has been checked (docs/FORMAT.md, "What the loader validates"),
 * so mq_model_run can index the blob and the arena without further bounds checks.
 */
#include <string.h>

#include "mq_format.h"
#include "mq_kernel_select.h"
#include "stream/mq_rows.h"

/* Validation context: the blob, its sections, and where the first failure was found. */
typedef struct {
    const uint8_t *b;
    uint32_t total;
    uint32_t arena_size;
    uint32_t num_tensors;
    const uint8_t *tensors;
    const uint8_t *constants;
    uint32_t constants_size;
    uint32_t fail_at;           /* byte offset of the field being checked */
    uint32_t num_ops;
    /* pixel-streamed chain (STREAM_FC / STREAM_FC_S16): members still to come after the header, and the arena
     * ranges its members must not write (the source, the accumulators, the head's output) */
    uint32_t stream_left;
    uint32_t keep_off[3], keep_size[3];
    /* row-streamed segment (ROW_STREAM): members still to come, the segment's op index, whether the member being
     * checked is one (its per-op checks then see its arena inputs as views and its output apart: the segment check
     * validates the rings, the scratch ranges and the row schedule once the last member passed) */
    uint32_t rows_left, rows_index, rows_pending;
    int rows_member;
} mq_lctx;

#define MQ_ROWS_FAR_OFFSET 0x80000000u /* a member's output as its own per-op check sees it: past any arena */

/* Helpers used only by some ops: a build list (MQ_OPS_SELECTED) may leave them unused. */
#if defined(__GNUC__) || defined(__clang__)
#define MQ_MAYBE_UNUSED __attribute__((unused))
#else
#define MQ_MAYBE_UNUSED
#endif

#define MQ_REQUIRE(cond, status) \
    do {                         \
        if (!(cond)) {           \
            return (status);     \
        }                        \
    } while (0)

MQ_MAYBE_UNUSED static int mq_is_8bit(mq_dtype t)
{
    return t == MQ_DTYPE_INT8 || t == MQ_DTYPE_UINT8;
}

/* A constant reference (offset, size) into the constant section: aligned, in bounds, expected size. */
MQ_MAYBE_UNUSED static int mq_const_ref_ok(const mq_lctx *c, uint32_t offset, uint32_t size, uint64_t expected)
{
    return (offset % MQ_ALIGN) == 0u && (uint64_t)size == expected && offset <= c->constants_size &&
           size <= c->constants_size - offset;
}

/* Arena ranges [a, a+as) and [b, b+bs) intersect. */
MQ_MAYBE_UNUSED static int mq_arena_overlap(uint32_t a, uint32_t as, uint32_t b, uint32_t bs)
{
    return a < b + bs && b < a + as;
}

/* Output out may be placed exactly on input in (same offset) or apart from it, never partially over it. */
MQ_MAYBE_UNUSED static int mq_inplace_or_apart(const mq_tensor_rec *in, const mq_tensor_rec *out, int allow_same)
{
    if (in->storage != MQ_STORAGE_ARENA) {
        return 1;
    }
    if (allow_same && in->offset == out->offset && in->size == out->size) {
        return 1;
    }
    return !mq_arena_overlap(in->offset, in->size, out->offset, out->size);
}

MQ_MAYBE_UNUSED static int mq_same_shape(const mq_tensor_rec *a, const mq_tensor_rec *b)
{
    int32_t i;
    if (a->rank != b->rank) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        if (a->dims[i] != b->dims[i]) {
            return 0;
        }
    }
    return 1;
}

/* Float32 bits of a finite, strictly positive scale (integer test, no float). */
static int mq_scale_bits_ok(uint32_t bits)
{
    const uint32_t exponent = (bits >> 23) & 0xFFu;
    return (bits >> 31) == 0u && exponent != 0xFFu && (bits & 0x7FFFFFFFu) != 0u;
}

static mq_status mq_check_tensor(mq_lctx *c, uint32_t id)
{
    const uint8_t *r = c->tensors + (size_t)id * MQ_TENSOR_RECORD_SIZE;
    const uint32_t dtype = r[MQ_T_DTYPE];
    const uint32_t rank = r[MQ_T_RANK];
    const uint32_t storage = r[MQ_T_STORAGE];
    const int32_t zp = (int32_t)mq_rd32(r + MQ_T_ZERO_POINT);
    const uint32_t offset = mq_rd32(r + MQ_T_OFFSET);
    const uint32_t size = mq_rd32(r + MQ_T_SIZE);
    const uint32_t ch_offset = mq_rd32(r + MQ_T_CH_OFFSET);
    const uint32_t ch_count = mq_rd32(r + MQ_T_CH_COUNT);
    const uint32_t ch_axis = r[MQ_T_CH_AXIS];
    uint64_t numel = 1u;
    uint32_t i;

    c->fail_at = (uint32_t)(r - c->b);
    MQ_REQUIRE(dtype >= (uint32_t)MQ_DTYPE_INT8 && dtype <= (uint32_t)MQ_DTYPE_INT16, MQ_ERR_FORMAT_TENSOR);
    MQ_REQUIRE(rank >= 1u && rank <= 4u, MQ_ERR_FORMAT_TENSOR);
    MQ_REQUIRE((r[MQ_T_RESERVED0] | r[MQ_T_RESERVED1] | r[MQ_T_RESERVED1 + 1u] | r[MQ_T_RESERVED1 + 2u]) == 0u,
               MQ_ERR_FORMAT_TENSOR);
    for (i = 0; i < 4u; i++) {
        const uint32_t d = mq_rd32(r + MQ_T_DIMS + 4u * i);
        if (i < rank) {
            MQ_REQUIRE(d >= 1u && d <= 0x7FFFFFFFu, MQ_ERR_FORMAT_TENSOR);
            numel *= d;
            MQ_REQUIRE(numel <= 0x7FFFFFFFu, MQ_ERR_FORMAT_TENSOR);
        } else {
            MQ_REQUIRE(d == 0u, MQ_ERR_FORMAT_TENSOR);
        }
    }
    if (dtype == (uint32_t)MQ_DTYPE_INT32 || dtype == (uint32_t)MQ_DTYPE_INT16) {
        /* INT32, and INT16 (symmetric, TFLite's 16x8 scheme): zero point 0 */
        MQ_REQUIRE(zp == 0, MQ_ERR_FORMAT_TENSOR);
        numel *= dtype == (uint32_t)MQ_DTYPE_INT32 ? 4u : 2u;
        MQ_REQUIRE(numel <= 0x7FFFFFFFu, MQ_ERR_FORMAT_TENSOR);
    } else {
        MQ_REQUIRE(zp >= mq_dtype_min((mq_dtype)dtype) && zp <= mq_dtype_max((mq_dtype)dtype),
                   MQ_ERR_FORMAT_TENSOR);
    }
    MQ_REQUIRE((uint64_t)size == numel, MQ_ERR_FORMAT_TENSOR);
    MQ_REQUIRE(mq_scale_bits_ok(mq_rd32(r + MQ_T_SCALE)), MQ_ERR_FORMAT_TENSOR);
    MQ_REQUIRE((offset % MQ_ALIGN) == 0u, MQ_ERR_FORMAT_BOUNDS);
    if (storage == (uint32_t)MQ_STORAGE_ARENA) {
        MQ_REQUIRE(offset <= c->arena_size && size <= c->arena_size - offset, MQ_ERR_ARENA);
    } else {
        MQ_REQUIRE(storage == (uint32_t)MQ_STORAGE_CONST, MQ_ERR_FORMAT_TENSOR);
        MQ_REQUIRE(offset <= c->constants_size && size <= c->constants_size - offset, MQ_ERR_FORMAT_BOUNDS);
    }
    if (ch_count == 0u) {
        MQ_REQUIRE(ch_offset == 0u && ch_axis == 0u, MQ_ERR_FORMAT_TENSOR);
    } else {
        MQ_REQUIRE(ch_axis < rank && ch_count == mq_rd32(r + MQ_T_DIMS + 4u * ch_axis), MQ_ERR_FORMAT_TENSOR);
        MQ_REQUIRE(mq_const_ref_ok(c, ch_offset, ch_count * 4u, (uint64_t)ch_count * 4u), MQ_ERR_FORMAT_BOUNDS);
        /* (the size word wraps for counts >= 2^30; the 64-bit expected size then never matches) */
    }
    return MQ_OK;
}

MQ_MAYBE_UNUSED static mq_status mq_check_add(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                              const mq_tensor_rec *out)
{
    mq_add_params a;
    uint8_t dummy = 0u;
    const uint32_t bcast = op->p[MQ_P_ADD_BROADCAST];
    mq_status st;
    MQ_REQUIRE(bcast <= (uint32_t)MQ_BCAST_SCALAR, MQ_ERR_FORMAT_OP);
    mq_op_add_params(op, in1, in2, out, &a);
    MQ_REQUIRE(mq_is_8bit(in1->dtype) && mq_is_8bit(in2->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in1, out), MQ_ERR_SHAPE);
    if (bcast == (uint32_t)MQ_BCAST_NONE) {
        MQ_REQUIRE(mq_same_shape(in2, out), MQ_ERR_SHAPE);
    } else if (bcast == (uint32_t)MQ_BCAST_CHANNEL) {
        MQ_REQUIRE(in2->size == (uint32_t)out->dims[out->rank - 1], MQ_ERR_SHAPE); /* 8-bit: size = elements */
    } else {
        MQ_REQUIRE(in2->size == 1u, MQ_ERR_SHAPE);
    }
    /* Every parameter (dtypes, zero points, left_shift, multipliers, shifts, clamp) through the kernel
     * itself: mq_add checks them all before touching any element, and n = 0 touches none. */
    st = mq_add(&a, &dummy, &dummy, &dummy, 0u);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in1, out, 1) && mq_inplace_or_apart(in2, out, bcast == (uint32_t)MQ_BCAST_NONE),
               MQ_ERR_ARENA);
    return MQ_OK;
}

MQ_MAYBE_UNUSED static mq_status mq_check_softmax(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                  const mq_tensor_rec *out)
{
    const uint32_t axis = op->p[MQ_P_SOFTMAX_AXIS];
    mq_softmax_params sm;
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in, out) && axis < (uint32_t)in->rank, MQ_ERR_SHAPE);
    MQ_REQUIRE(out->zero_point == (out->dtype == MQ_DTYPE_UINT8 ? 0 : -128), MQ_ERR_QPARAMS);
    /* axis_size <= 4095, multiplier in [2^30, 2^31), left shift in [0, 31], diff_min consistent with it */
    mq_op_softmax_params(c->constants, op, in, out, &sm);
    st = mq_softmax_check(&sm);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 1), MQ_ERR_ARENA);
    return MQ_OK;
}

MQ_MAYBE_UNUSED static mq_status mq_check_softmax_table(const mq_lctx *c, const mq_op_rec *op,
                                                        const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    mq_softmax_table_params sm;
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in, out) && p[MQ_P_SMT_AXIS] < (uint32_t)in->rank, MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_SMT_EXP_TABLE], p[MQ_P_SMT_EXP_TABLE + 1], 1024u), MQ_ERR_FORMAT_BOUNDS);
    /* axis_size <= 65535, multiplier in [1, 2^31), shift in [0, 62], out zero point, every table entry */
    mq_op_softmax_table_params(c->constants, op, in, out, &sm);
    st = mq_softmax_table_check(&sm);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 1), MQ_ERR_ARENA);
    return MQ_OK;
}

MQ_MAYBE_UNUSED static mq_status mq_check_transpose(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    uint32_t seen = 0u;
    int32_t i;
    MQ_REQUIRE(mq_is_8bit(in->dtype) && in->dtype == out->dtype, MQ_ERR_DTYPE);
    MQ_REQUIRE(in->zero_point == out->zero_point && in->scale_bits == out->scale_bits, MQ_ERR_QPARAMS);
    MQ_REQUIRE(in->rank == out->rank, MQ_ERR_SHAPE);
    for (i = 0; i < 4; i++) {
        const uint32_t pi = op->p[MQ_P_TRANSPOSE_PERM + i];
        if (i < in->rank) {
            MQ_REQUIRE(pi < (uint32_t)in->rank && (seen & (1u << pi)) == 0u, MQ_ERR_FORMAT_OP);
            seen |= 1u << pi;
            MQ_REQUIRE(out->dims[i] == in->dims[pi], MQ_ERR_SHAPE);
        } else {
            MQ_REQUIRE(pi == 0u, MQ_ERR_FORMAT_OP);
        }
    }
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    return MQ_OK;
}

/* Scratch [off, off + size) of an op: 16-aligned, inside the arena, overlapping none of the op's arena
 * tensors (inputs and output). size 0 needs offset 0. */
MQ_MAYBE_UNUSED static mq_status mq_check_scratch(const mq_lctx *c, uint32_t off, uint64_t size, const mq_tensor_rec *in,
                                  const mq_tensor_rec *out)
{
    if (size == 0u) {
        MQ_REQUIRE(off == 0u, MQ_ERR_FORMAT_OP);
        return MQ_OK;
    }
    MQ_REQUIRE((off % MQ_ALIGN) == 0u && off <= c->arena_size && size <= (uint64_t)(c->arena_size - off),
               MQ_ERR_ARENA);
    MQ_REQUIRE(!mq_arena_overlap(off, (uint32_t)size, out->offset, out->size), MQ_ERR_ARENA);
    MQ_REQUIRE(in->storage != MQ_STORAGE_ARENA || !mq_arena_overlap(off, (uint32_t)size, in->offset, in->size),
               MQ_ERR_ARENA);
    return MQ_OK;
}

/* Both NHWC rank 4 with the same batch. */
MQ_MAYBE_UNUSED static int mq_nhwc_pair(const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    return in->rank == 4 && out->rank == 4 && in->dims[0] == out->dims[0];
}

/* Same dtype, zero point and scale bits (ops that move codes without requantizing). */
MQ_MAYBE_UNUSED static int mq_same_qparams(const mq_tensor_rec *a, const mq_tensor_rec *b)
{
    return a->dtype == b->dtype && a->zero_point == b->zero_point && a->scale_bits == b->scale_bits;
}

/* MQ_MODEL_FLAG_ORT_FLOAT32: every multiplier of the op is one the integer emulation of onnxruntime's float32 output
 * stage accepts (mq_multiplier_is_f32: 0, or normalized with at most 24 significant bits; shifts are in [-31, 30]
 * by the kernels' own checks, so the scale is a normal float32). Other models: nothing to check. */
/* at most 24 significant bits */
MQ_MAYBE_UNUSED static int mq_f32_significant_ok(uint32_t m)
{
    while (m != 0u && (m & 1u) == 0u) {
        m >>= 1;
    }
    return m < (1u << 24);
}

MQ_MAYBE_UNUSED static int mq_f32_multipliers_ok(const mq_lctx *c, const int32_t *mult, int32_t n)
{
    int32_t i;
    if ((mq_rd32(c->b + MQ_H_FLAGS) & MQ_MODEL_FLAG_ORT_FLOAT32) == 0u) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (!(mult[i] == 0 || (mult[i] >= (1 << 30) && (mult[i] & 0x7F) == 0))) {
            return 0;
        }
    }
    return 1;
}

/* The requantized-output block of a gemm-based op (FULLY_CONNECTED, CONV_1X1, CONV): n, k, per_channel,
 * the exact sizes of weights, bias, multipliers, shifts and LUT, the output's qparams, and the kernel's
 * own mq_fc_params_check. Shapes are checked by the caller. */
MQ_MAYBE_UNUSED static mq_status mq_check_gemm_block(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                     const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const uint32_t n = p[MQ_P_FC_N], k = p[MQ_P_FC_K];
    const uint32_t per_channel = p[MQ_P_FC_PER_CHANNEL];
    const uint32_t req_dtype = p[MQ_P_FC_OUT_DTYPE];
    const int32_t req_zp = (int32_t)p[MQ_P_FC_OUT_ZERO_POINT];
    const uint32_t nq = per_channel != 0u ? n : 1u;
    uint64_t want[4];
    mq_fc_params fc;
    mq_status st;
    int32_t i;

    /* n, k, per_channel bound the constant sizes below; dtypes, zero point, clamp range, shifts and
     * multipliers are checked by the kernel's own mq_fc_params_check further down. */
    MQ_REQUIRE(n >= 1u && n <= 0xFFFFu && k >= 1u && k <= 0xFFFFu && per_channel <= 1u, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    /* N4K16 packed size (mq_packed_weights_size_n4k16) in 64 bits: it reaches 2^32 for n, k near 2^16 */
    want[0] = (uint64_t)((n + 3u) / 4u * 4u) * ((k + 15u) / 16u * 16u);
    want[1] = n * 4u;
    want[2] = nq * 4u;
    want[3] = nq * 4u;
    for (i = 0; i < 4; i++) {
        MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_FC_WEIGHTS + 2 * i], p[MQ_P_FC_WEIGHTS + 2 * i + 1], want[i]),
                   MQ_ERR_FORMAT_BOUNDS);
    }
    if (p[MQ_P_FC_LUT] == 0u && p[MQ_P_FC_LUT + 1] == 0u) {
        /* No epilogue: the output tensor holds the requantized codes. */
        MQ_REQUIRE((uint32_t)out->dtype == req_dtype && out->zero_point == req_zp, MQ_ERR_QPARAMS);
    } else {
        MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_FC_LUT], p[MQ_P_FC_LUT + 1], 256u), MQ_ERR_FORMAT_BOUNDS);
    }
    /* apart, or (CONV_1X1 flagged in place; mq_check_op checked the offsets) the in-place rules below */
    MQ_REQUIRE((op->flags & MQ_OP_FLAG_IN_PLACE) != 0u || mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    mq_op_fc_params(c->constants, op, in, &fc);
    /* Shapes, dtypes, clamp, every shift and multiplier: the kernel's own check. */
    st = mq_fc_params_check(&fc);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_f32_multipliers_ok(c, fc.multiplier, fc.per_channel ? fc.n : 1), MQ_ERR_QPARAMS);
    return MQ_OK;
}

#if MQ_OP_FULLY_CONNECTED_ENABLED || MQ_OP_CONV_1X1_ENABLED
/* FULLY_CONNECTED (conv == 0) and CONV_1X1 (conv == 1). */
static mq_status mq_check_gemm(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                               const mq_tensor_rec *out, int conv)
{
    const uint32_t *p = op->p;
    const int32_t last = in->rank - 1;
    mq_status st;
    int32_t i;

    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE((uint32_t)in->dims[last] == p[MQ_P_FC_K] && in->rank == out->rank &&
                   (uint32_t)out->dims[last] == p[MQ_P_FC_N],
               MQ_ERR_SHAPE);
    st = mq_check_gemm_block(c, op, in, out);
    MQ_REQUIRE(st == MQ_OK, st);
    if (!conv) {
        /* Leading dims are the batch: equal on both sides. */
        for (i = 0; i < last; i++) {
            MQ_REQUIRE(in->dims[i] == out->dims[i], MQ_ERR_SHAPE);
        }
    } else {
        mq_conv1x1_params cp;
        int32_t oh = 0, ow = 0;
        MQ_REQUIRE(in->rank == 4 && in->dims[0] == out->dims[0], MQ_ERR_SHAPE);
        mq_op_conv_params(c->constants, op, in, &cp);
        /* stride 1 or 2, pads in [0, 2^24] (a word >= 2^31 reads as a negative pad): the kernel's check */
        st = mq_conv1x1_output_size(&cp, &oh, &ow);
        MQ_REQUIRE(st == MQ_OK, st);
        MQ_REQUIRE(out->dims[1] == oh && out->dims[2] == ow, MQ_ERR_SHAPE);
        if ((op->flags & MQ_OP_FLAG_IN_PLACE) != 0u) {
            /* in place: stride 1, no padding, n <= k; the block scratch apart from the shared buffer */
            const size_t need = mq_conv1x1_inplace_scratch_size(&cp);
            MQ_REQUIRE(need > 0u, MQ_ERR_ARENA);
            return mq_check_scratch(c, p[MQ_P_CONV_SCRATCH], need, in, out);
        }
        /* scratch <= k < 2^16 */
        return mq_check_scratch(c, p[MQ_P_CONV_SCRATCH], mq_conv1x1_scratch_size(&cp), in, out);
    }
    return MQ_OK;
}
#endif

#if MQ_OP_CONV_ENABLED
/* CONV (KxK): gemm block with k = kernel_h * kernel_w * in_c, window, im2col scratch. */
static mq_status mq_check_convk(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const uint32_t *w = p + MQ_P_CONVK_WINDOW;
    mq_conv_params cp;
    mq_status st;
    MQ_REQUIRE(mq_nhwc_pair(in, out), MQ_ERR_SHAPE);
    MQ_REQUIRE((uint64_t)w[MQ_W_KERNEL_H] * w[MQ_W_KERNEL_W] * (uint32_t)in->dims[3] == p[MQ_P_FC_K] &&
                   (uint32_t)out->dims[3] == p[MQ_P_FC_N],
               MQ_ERR_SHAPE);
    st = mq_check_gemm_block(c, op, in, out);
    MQ_REQUIRE(st == MQ_OK, st);
    mq_op_convk_params(c->constants, op, in, out, &cp);
    /* window (kernel, stride, dilation, pads against in/out sizes), in zero point, gemm: the kernel's check */
    st = mq_conv_check(&cp);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE((uint64_t)p[MQ_P_CONVK_SCRATCH_SIZE] == (uint64_t)mq_conv_scratch_size(&cp), MQ_ERR_FORMAT_OP);
    return mq_check_scratch(c, p[MQ_P_CONVK_SCRATCH], p[MQ_P_CONVK_SCRATCH_SIZE], in, out);
}
#endif

#if MQ_OP_DEPTHWISE_CONV_ENABLED
static mq_status mq_check_depthwise(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                    const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const uint32_t mult = p[MQ_P_DW_MULTIPLIER];
    const uint64_t out_c = (uint64_t)(uint32_t)in->dims[3] * mult;
    const uint64_t nq = p[MQ_P_DW_PER_CHANNEL] != 0u ? out_c : 1u;
    mq_depthwise_params dw;
    size_t wsize;
    mq_status st;
    MQ_REQUIRE(mq_nhwc_pair(in, out), MQ_ERR_SHAPE);
    MQ_REQUIRE(mult >= 1u && mult <= 0xFFFFu && p[MQ_P_DW_PER_CHANNEL] <= 1u, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(out_c == (uint64_t)(uint32_t)out->dims[3], MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    /* bias, multipliers, shifts first: the kernel's check reads them */
    MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_DW_BIAS], p[MQ_P_DW_BIAS + 1], out_c * 4u) &&
                   mq_const_ref_ok(c, p[MQ_P_DW_QMULT], p[MQ_P_DW_QMULT + 1], nq * 4u) &&
                   mq_const_ref_ok(c, p[MQ_P_DW_SHIFT], p[MQ_P_DW_SHIFT + 1], nq * 4u),
               MQ_ERR_FORMAT_BOUNDS);
    if (p[MQ_P_DW_LUT] == 0u && p[MQ_P_DW_LUT + 1] == 0u) {
        MQ_REQUIRE((uint32_t)out->dtype == p[MQ_P_DW_OUT_DTYPE] && out->zero_point == (int32_t)p[MQ_P_DW_OUT_ZERO_POINT],
                   MQ_ERR_QPARAMS);
    } else {
        MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_DW_LUT], p[MQ_P_DW_LUT + 1], 256u), MQ_ERR_FORMAT_BOUNDS);
    }
    MQ_REQUIRE((op->flags & MQ_OP_FLAG_IN_PLACE) != 0u || mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    mq_op_depthwise_params(c->constants, op, in, out, &dw);
    wsize = mq_depthwise_weights_size(&dw);
    MQ_REQUIRE(wsize != 0u && mq_const_ref_ok(c, p[MQ_P_DW_WEIGHTS], p[MQ_P_DW_WEIGHTS + 1], (uint64_t)wsize),
               MQ_ERR_FORMAT_BOUNDS);
    st = mq_depthwise_check(&dw);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_f32_multipliers_ok(c, dw.multiplier, dw.per_channel ? (int32_t)out_c : 1), MQ_ERR_QPARAMS);
    if ((op->flags & MQ_OP_FLAG_IN_PLACE) != 0u) {
        /* in place: batch 1, pads the row ring supports; scratch = padding pixel + row ring */
        const size_t need = mq_depthwise_inplace_scratch_size(&dw);
        MQ_REQUIRE(need > 0u, MQ_ERR_ARENA);
        MQ_REQUIRE((uint64_t)p[MQ_P_DW_SCRATCH_SIZE] == (uint64_t)need, MQ_ERR_FORMAT_OP);
        return mq_check_scratch(c, p[MQ_P_DW_SCRATCH], p[MQ_P_DW_SCRATCH_SIZE], in, out);
    }
    MQ_REQUIRE((uint64_t)p[MQ_P_DW_SCRATCH_SIZE] == (uint64_t)mq_depthwise_scratch_size(&dw), MQ_ERR_FORMAT_OP);
    return mq_check_scratch(c, p[MQ_P_DW_SCRATCH], p[MQ_P_DW_SCRATCH_SIZE], in, out);
}
#endif

#if MQ_OP_AVERAGE_POOL_ENABLED || MQ_OP_MAX_POOL_ENABLED
static mq_status mq_check_pool(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    mq_pool_params pp;
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(in->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_qparams(in, out), MQ_ERR_QPARAMS);
    MQ_REQUIRE(mq_nhwc_pair(in, out) && in->dims[3] == out->dims[3], MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    mq_op_pool_params(op, in, out, &pp);
    st = mq_pool_check(&pp);
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}
#endif

#if MQ_OP_MEAN_ENABLED
static mq_status mq_check_mean(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                               const mq_tensor_rec *out)
{
    mq_mean_params mp;
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    /* [b, h, w, c] -> [b, c] or [b, 1, 1, c] */
    MQ_REQUIRE(in->rank == 4 && (out->rank == 2 || (out->rank == 4 && out->dims[1] == 1 && out->dims[2] == 1)) &&
                   out->dims[0] == in->dims[0] && out->dims[out->rank - 1] == in->dims[3],
               MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    mq_op_mean_params(op, in, out, &mp);
    st = mq_mean_check(&mp);
    MQ_REQUIRE(st == MQ_OK, st);
    /* MQ_MODEL_FLAG_ORT_FLOAT32: the multiplier is the float32 scale exactly (at most 24 significant bits) */
    MQ_REQUIRE((mq_rd32(c->b + MQ_H_FLAGS) & MQ_MODEL_FLAG_ORT_FLOAT32) == 0u ||
                   (mp.multiplier >= 0 && mq_f32_significant_ok((uint32_t)mp.multiplier)),
               MQ_ERR_QPARAMS);
    return MQ_OK;
}
#endif

#if MQ_OP_PAD_ENABLED
static mq_status mq_check_pad(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    mq_pad_params pp;
    mq_status st;
    int32_t i;
    MQ_REQUIRE(mq_is_8bit(in->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_qparams(in, out), MQ_ERR_QPARAMS);
    MQ_REQUIRE(in->rank == out->rank, MQ_ERR_SHAPE);
    for (i = 0; i < 4; i++) {
        const uint32_t before = op->p[MQ_P_PAD_BEFORE + i], after = op->p[MQ_P_PAD_AFTER + i];
        if (i < in->rank) {
            MQ_REQUIRE(before <= 0x7FFFFFFFu && after <= 0x7FFFFFFFu &&
                           (uint64_t)(uint32_t)in->dims[i] + before + after == (uint64_t)(uint32_t)out->dims[i],
                       MQ_ERR_SHAPE);
        } else {
            MQ_REQUIRE(before == 0u && after == 0u, MQ_ERR_FORMAT_OP);
        }
    }
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    mq_op_pad_params(op, in, out, &pp);
    st = mq_pad_check(&pp);
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}
#endif

#if MQ_OP_CONCAT_ENABLED
static mq_status mq_check_concat(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *out)
{
    mq_tensor_rec ins[MQ_OP_MAX_INPUTS];
    mq_concat_params cp;
    const uint32_t axis = op->p[MQ_P_CONCAT_AXIS];
    uint64_t sum = 0u;
    uint32_t slice;
    uint32_t i;
    int32_t d;
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(axis < (uint32_t)out->rank, MQ_ERR_SHAPE);
    for (i = 0; i < op->num_inputs; i++) {
        mq_tensor_decode(c->tensors, op->inputs[i], &ins[i]);
        MQ_REQUIRE(mq_same_qparams(&ins[i], out), MQ_ERR_QPARAMS);
        MQ_REQUIRE(ins[i].rank == out->rank, MQ_ERR_SHAPE);
        for (d = 0; d < out->rank; d++) {
            MQ_REQUIRE((uint32_t)d == axis || ins[i].dims[d] == out->dims[d], MQ_ERR_SHAPE);
        }
        sum += (uint32_t)ins[i].dims[axis];
    }
    MQ_REQUIRE(sum == (uint64_t)(uint32_t)out->dims[axis], MQ_ERR_SHAPE);
    mq_op_concat_params(op, ins, &cp);
    st = mq_concat_check(&cp);
    MQ_REQUIRE(st == MQ_OK, st);
    /* Each input apart from y, or (outer == 1, the planner's free concat) exactly at its slice of y. */
    slice = 0u;
    for (i = 0; i < op->num_inputs; i++) {
        MQ_REQUIRE(mq_inplace_or_apart(&ins[i], out, 0) ||
                       (cp.outer == 1 && ins[i].storage == MQ_STORAGE_ARENA && ins[i].offset == out->offset + slice),
                   MQ_ERR_ARENA);
        slice += ins[i].size; /* outer == 1: slice i starts after the earlier inputs' bytes */
    }
    return MQ_OK;
}
#endif

#if MQ_OP_MUL_ENABLED
static mq_status mq_check_mul(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                              const mq_tensor_rec *out)
{
    mq_mul_params mp;
    const uint32_t bcast = op->p[MQ_P_MUL_BROADCAST];
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(in1->dtype) && mq_is_8bit(in2->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in1, out), MQ_ERR_SHAPE);
    MQ_REQUIRE(bcast <= (uint32_t)MQ_BCAST_SCALAR, MQ_ERR_FORMAT_OP);
    if (bcast == (uint32_t)MQ_BCAST_NONE) {
        MQ_REQUIRE(mq_same_shape(in2, out), MQ_ERR_SHAPE);
    } else if (bcast == (uint32_t)MQ_BCAST_CHANNEL) {
        MQ_REQUIRE(in2->size == (uint32_t)out->dims[out->rank - 1], MQ_ERR_SHAPE); /* 8-bit: size = elements */
    } else {
        MQ_REQUIRE(in2->size == 1u, MQ_ERR_SHAPE);
    }
    /* y may sit exactly on x1, or on x2 without broadcast (the kernel's aliasing rule) */
    MQ_REQUIRE(mq_inplace_or_apart(in1, out, 1) && mq_inplace_or_apart(in2, out, bcast == (uint32_t)MQ_BCAST_NONE),
               MQ_ERR_ARENA);
    mq_op_mul_params(op, in1, in2, out, &mp);
    st = mq_mul_check(&mp);
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}
#endif

#if MQ_OP_REQUANTIZE_ENABLED
static mq_status mq_check_requantize(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    mq_requantize_params rp;
    mq_status st;
    MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in, out), MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 1), MQ_ERR_ARENA);
    mq_op_requantize_params(op, in, out, &rp);
    st = mq_requantize_check(&rp);
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}
#endif

#if MQ_OP_ANY_S16_ENABLED
/* ---- 16x8 ops (format 2.1) ---------------------------------------------------------------------------- */

MQ_MAYBE_UNUSED static int mq_is_s16(const mq_tensor_rec *t)
{
    return t->dtype == MQ_DTYPE_INT16;
}

/* A constant reference that may be absent: (0, 0), or a valid reference of exactly expected bytes. */
MQ_MAYBE_UNUSED static int mq_opt_ref_ok(const mq_lctx *c, uint32_t offset, uint32_t size, uint64_t expected)
{
    return (offset == 0u && size == 0u) || mq_const_ref_ok(c, offset, size, expected);
}

/* Every int64 bias of a (validated) reference lies in [-2^62, 2^62): the dot product adds at most 2^46 in magnitude
 * (FC / conv: k < 2^24 products of |x w| <= 2^22) or 2^54 (depthwise: kernel_h, kernel_w <= 65535 taps), so the
 * kernels' int64 sum bias + dot cannot overflow. A reference of size 0 (no bias) passes. */
MQ_MAYBE_UNUSED static int mq_s16_bias_ok(const mq_lctx *c, uint32_t offset, uint32_t size)
{
    uint32_t i;
    for (i = 0; i + 8u <= size; i += 8u) {
        const uint32_t hi = mq_rd32(c->constants + offset + i + 4u);
        if ((hi >> 30) != 0u && (hi >> 30) != 3u) {
            return 0;
        }
    }
    return 1;
}

/* Gemm block p0..p12 of FULLY_CONNECTED_S16 / CONV_S16: n, k, per_channel, the exact constant sizes; the kernel's
 * mq_fc_s16_check then checks clamp, multipliers and shifts. */
MQ_MAYBE_UNUSED static mq_status mq_check_s16_gemm_block(const mq_lctx *c, const mq_op_rec *op)
{
    const uint32_t *p = op->p;
    const uint32_t n = p[MQ_P_S16_N], k = p[MQ_P_S16_K], pc = p[MQ_P_S16_PER_CHANNEL];
    const uint64_t nq = pc != 0u ? n : 1u;
    mq_fc_s16_params fc;
    mq_status st;
    MQ_REQUIRE(n >= 1u && n <= 0xFFFFu && k >= 1u && k <= 0xFFFFFFu && pc <= 1u, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_S16_WEIGHTS], p[MQ_P_S16_WEIGHTS + 1], (uint64_t)n * k) &&
                   mq_opt_ref_ok(c, p[MQ_P_S16_BIAS], p[MQ_P_S16_BIAS + 1], (uint64_t)n * 8u) &&
                   mq_const_ref_ok(c, p[MQ_P_S16_MULTIPLIER], p[MQ_P_S16_MULTIPLIER + 1], nq * 4u) &&
                   mq_const_ref_ok(c, p[MQ_P_S16_SHIFT], p[MQ_P_S16_SHIFT + 1], nq * 4u),
               MQ_ERR_FORMAT_BOUNDS);
    MQ_REQUIRE(mq_s16_bias_ok(c, p[MQ_P_S16_BIAS], p[MQ_P_S16_BIAS + 1]), MQ_ERR_QPARAMS);
    mq_op_fc_s16_params(c->constants, op, &fc);
    st = mq_fc_s16_check(&fc);
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}

#if MQ_OP_FULLY_CONNECTED_S16_ENABLED
static mq_status mq_check_fc_s16(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                 const mq_tensor_rec *out)
{
    const int32_t last = in->rank - 1;
    int32_t i;
    mq_status st;
    MQ_REQUIRE(mq_is_s16(in) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(in->rank == out->rank && (uint32_t)in->dims[last] == op->p[MQ_P_S16_K] &&
                   (uint32_t)out->dims[last] == op->p[MQ_P_S16_N],
               MQ_ERR_SHAPE);
    for (i = 0; i < last; i++) {
        MQ_REQUIRE(in->dims[i] == out->dims[i], MQ_ERR_SHAPE);
    }
    st = mq_check_s16_gemm_block(c, op);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif

#if MQ_OP_CONV_S16_ENABLED
static mq_status mq_check_conv_s16(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                   const mq_tensor_rec *out)
{
    const uint32_t *w = op->p + MQ_P_S16_CONV_WINDOW;
    mq_conv_s16_params cp;
    mq_status st;
    MQ_REQUIRE(mq_is_s16(in) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_nhwc_pair(in, out), MQ_ERR_SHAPE);
    MQ_REQUIRE((uint64_t)w[MQ_W_KERNEL_H] * w[MQ_W_KERNEL_W] * (uint32_t)in->dims[3] == op->p[MQ_P_S16_K] &&
                   (uint32_t)out->dims[3] == op->p[MQ_P_S16_N],
               MQ_ERR_SHAPE);
    st = mq_check_s16_gemm_block(c, op);
    MQ_REQUIRE(st == MQ_OK, st);
    mq_op_conv_s16_params(c->constants, op, in, out, &cp);
    st = mq_conv_s16_check(&cp);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif

#if MQ_OP_DEPTHWISE_CONV_S16_ENABLED
static mq_status mq_check_depthwise_s16(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                        const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const uint32_t mult = p[MQ_P_S16DW_MULTIPLIER];
    const uint64_t out_c = (uint64_t)(uint32_t)in->dims[3] * mult;
    const uint64_t nq = p[MQ_P_S16DW_PER_CHANNEL] != 0u ? out_c : 1u;
    const uint32_t *w = p + MQ_P_S16DW_WINDOW;
    mq_depthwise_s16_params dw;
    mq_status st;
    MQ_REQUIRE(mq_is_s16(in) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_nhwc_pair(in, out), MQ_ERR_SHAPE);
    MQ_REQUIRE(mult >= 1u && mult <= 0xFFFFu && p[MQ_P_S16DW_PER_CHANNEL] <= 1u, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(out_c == (uint64_t)(uint32_t)out->dims[3], MQ_ERR_SHAPE);
    MQ_REQUIRE(w[MQ_W_KERNEL_H] >= 1u && w[MQ_W_KERNEL_H] <= 0xFFFFu && w[MQ_W_KERNEL_W] >= 1u &&
                   w[MQ_W_KERNEL_W] <= 0xFFFFu,
               MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_S16DW_WEIGHTS], p[MQ_P_S16DW_WEIGHTS + 1],
                               (uint64_t)w[MQ_W_KERNEL_H] * w[MQ_W_KERNEL_W] * out_c) &&
                   mq_opt_ref_ok(c, p[MQ_P_S16DW_BIAS], p[MQ_P_S16DW_BIAS + 1], out_c * 8u) &&
                   mq_const_ref_ok(c, p[MQ_P_S16DW_QMULT], p[MQ_P_S16DW_QMULT + 1], nq * 4u) &&
                   mq_const_ref_ok(c, p[MQ_P_S16DW_SHIFT], p[MQ_P_S16DW_SHIFT + 1], nq * 4u),
               MQ_ERR_FORMAT_BOUNDS);
    MQ_REQUIRE(mq_s16_bias_ok(c, p[MQ_P_S16DW_BIAS], p[MQ_P_S16DW_BIAS + 1]), MQ_ERR_QPARAMS);
    mq_op_depthwise_s16_params(c->constants, op, in, out, &dw);
    st = mq_depthwise_s16_check(&dw);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif

#if MQ_OP_AVERAGE_POOL_S16_ENABLED || MQ_OP_MAX_POOL_S16_ENABLED
static mq_status mq_check_pool_s16(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    mq_pool_s16_params pp;
    mq_status st;
    MQ_REQUIRE(mq_is_s16(in) && mq_same_qparams(in, out), MQ_ERR_QPARAMS);
    MQ_REQUIRE(mq_nhwc_pair(in, out) && in->dims[3] == out->dims[3], MQ_ERR_SHAPE);
    mq_op_pool_s16_params(op, in, out, &pp);
    st = mq_pool_s16_check(&pp);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif

#if MQ_OP_ADD_S16_ENABLED
static mq_status mq_check_add_s16(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                                  const mq_tensor_rec *out)
{
    mq_add_s16_params a;
    int16_t dummy = 0;
    mq_status st;
    MQ_REQUIRE(mq_is_s16(in1) && mq_is_s16(in2) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in1, out) && mq_same_shape(in2, out), MQ_ERR_SHAPE);
    mq_op_add_s16_params(op, &a);
    /* every parameter through the kernel itself (n = 0 touches no element) */
    st = mq_add_s16(&a, &dummy, &dummy, &dummy, 0u);
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE(mq_inplace_or_apart(in1, out, 1) && mq_inplace_or_apart(in2, out, 1), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif

#if MQ_OP_MUL_S16_ENABLED
static mq_status mq_check_mul_s16(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                                  const mq_tensor_rec *out)
{
    mq_mul_s16_params mp;
    const uint32_t bcast = op->p[MQ_P_MUL_BROADCAST];
    int16_t dummy = 0;
    mq_status st;
    MQ_REQUIRE(mq_is_s16(in1) && mq_is_s16(in2) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in1, out), MQ_ERR_SHAPE);
    MQ_REQUIRE(bcast <= (uint32_t)MQ_BCAST_SCALAR, MQ_ERR_FORMAT_OP);
    if (bcast == (uint32_t)MQ_BCAST_NONE) {
        MQ_REQUIRE(mq_same_shape(in2, out), MQ_ERR_SHAPE);
    } else if (bcast == (uint32_t)MQ_BCAST_CHANNEL) {
        MQ_REQUIRE(in2->size == 2u * (uint32_t)out->dims[out->rank - 1], MQ_ERR_SHAPE);
    } else {
        MQ_REQUIRE(in2->size == 2u, MQ_ERR_SHAPE);
    }
    MQ_REQUIRE(mq_inplace_or_apart(in1, out, 1) && mq_inplace_or_apart(in2, out, bcast == (uint32_t)MQ_BCAST_NONE),
               MQ_ERR_ARENA);
    mq_op_mul_s16_params(op, out, &mp);
    st = mq_mul_s16(&mp, &dummy, &dummy, &dummy, 0u);
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}
#endif

#if MQ_OP_QUANTIZE_S16_ENABLED || MQ_OP_REQUANTIZE_S16_TO_8_ENABLED || MQ_OP_RESCALE_S16_ENABLED
/* Conversions: 8-bit -> int16 (to16 1), int16 -> 8-bit (to16 0), int16 -> int16 (rescale). Same shape; the
 * multiplier and shift through the kernel's check (n = 0). The output lies apart from the input (a rescale
 * may also sit exactly on it). */
static mq_status mq_check_convert_s16(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out)
{
    int16_t d16 = 0;
    uint8_t d8 = 0u;
    mq_status st;
    MQ_REQUIRE(mq_same_shape(in, out), MQ_ERR_SHAPE);
    if (op->type == (uint32_t)MQ_OP_RESCALE_S16) {
        mq_rescale_s16_params rp;
        MQ_REQUIRE(mq_is_s16(in) && mq_is_s16(out), MQ_ERR_DTYPE);
        mq_op_rescale_s16_params(op, in, out, &rp);
        st = mq_rescale_s16(&rp, &d16, &d16, 0u);
        MQ_REQUIRE(mq_inplace_or_apart(in, out, 1), MQ_ERR_ARENA);
    } else if (op->type == (uint32_t)MQ_OP_QUANTIZE_S16) {
        mq_requantize_s16_params rp;
        MQ_REQUIRE(mq_is_8bit(in->dtype) && mq_is_s16(out), MQ_ERR_DTYPE);
        mq_op_requantize_s16_params(op, in, out, &rp);
        st = mq_requantize_s8_to_s16(&rp, &d8, &d16, 0u);
        MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    } else {
        mq_requantize_s16_params rp;
        MQ_REQUIRE(mq_is_s16(in) && mq_is_8bit(out->dtype), MQ_ERR_DTYPE);
        mq_op_requantize_s16_params(op, out, in, &rp);
        st = mq_requantize_s16_to_s8(&rp, &d16, &d8, 0u);
        MQ_REQUIRE(mq_inplace_or_apart(in, out, 0), MQ_ERR_ARENA);
    }
    MQ_REQUIRE(st == MQ_OK, st);
    return MQ_OK;
}
#endif

#if MQ_OP_LUT16_ENABLED
static mq_status mq_check_lut16(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                const mq_tensor_rec *out)
{
    MQ_REQUIRE(mq_is_s16(in) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in, out), MQ_ERR_SHAPE);
    MQ_REQUIRE(mq_const_ref_ok(c, op->p[MQ_P_LUT16_TABLE], op->p[MQ_P_LUT16_TABLE + 1], MQ_LUT16_BYTES),
               MQ_ERR_FORMAT_BOUNDS);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 1), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif

#if MQ_OP_SOFTMAX_S16_ENABLED
static mq_status mq_check_softmax_s16(const mq_lctx *c, const mq_op_rec *op, const mq_tensor_rec *in,
                                      const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const int32_t m = (int32_t)p[MQ_P_S16SM_MULTIPLIER], sh = (int32_t)p[MQ_P_S16SM_SHIFT];
    MQ_REQUIRE(mq_is_s16(in) && mq_is_s16(out), MQ_ERR_DTYPE);
    MQ_REQUIRE(mq_same_shape(in, out) && in->dims[in->rank - 1] <= 65535, MQ_ERR_SHAPE);
    /* the kernel's own rules (mq_softmax_s16): multiplier 0 or [2^30, 2^31), shift [-31, 30] */
    MQ_REQUIRE((m == 0 || m >= (1 << 30)) && sh >= MQ_SHIFT_MIN && sh <= MQ_SHIFT_MAX, MQ_ERR_QPARAMS);
    MQ_REQUIRE(mq_const_ref_ok(c, p[MQ_P_S16SM_EXP_LUT], p[MQ_P_S16SM_EXP_LUT + 1], MQ_LUT16_BYTES) &&
                   mq_const_ref_ok(c, p[MQ_P_S16SM_RECIP_LUT], p[MQ_P_S16SM_RECIP_LUT + 1], MQ_LUT16_BYTES),
               MQ_ERR_FORMAT_BOUNDS);
    MQ_REQUIRE(mq_inplace_or_apart(in, out, 1), MQ_ERR_ARENA);
    return MQ_OK;
}
#endif
#endif /* MQ_OP_ANY_S16_ENABLED */

/* The ops a pixel-streamed chain may run per pixel: 1x1 convolutions and fully connected layers on one pixel,
 * 8-bit / int16 tables and the conversions between precisions. */
static int mq_stream_member_ok(uint32_t type)
{
    return type == (uint32_t)MQ_OP_CONV_1X1 || type == (uint32_t)MQ_OP_FULLY_CONNECTED ||
           type == (uint32_t)MQ_OP_LUT || type == (uint32_t)MQ_OP_REQUANTIZE || type == (uint32_t)MQ_OP_RESHAPE ||
           type == (uint32_t)MQ_OP_CONV_S16 || type == (uint32_t)MQ_OP_FULLY_CONNECTED_S16 ||
           type == (uint32_t)MQ_OP_LUT16 || type == (uint32_t)MQ_OP_QUANTIZE_S16 ||
           type == (uint32_t)MQ_OP_REQUANTIZE_S16_TO_8 || type == (uint32_t)MQ_OP_RESCALE_S16;
}

#if MQ_OP_STREAM_FC_ENABLED || MQ_OP_STREAM_FC_S16_ENABLED
/* STREAM_FC (19) / STREAM_FC_S16 (44): inputs[0] = source [1, h, w, c] (NHWC) or [1, c, h, w] (NCHW) in the arena,
 * inputs[1] = the gathered pixel (c elements, the source's dtype and qparams), inputs[2] = the head's input pixel
 * (8-bit for 19, INT16 for 44; its element count times the grid is the head's k), outputs[0] = [.., n]. The grid
 * reads only source pixels inside the source; the members follow (each checked as it comes, mq_check_op); the
 * pixel tensors, the accumulators, the source and the output do not overlap. */
static mq_status mq_check_stream(mq_lctx *c, const mq_op_rec *op, uint32_t index, const mq_tensor_rec *src,
                                 const mq_tensor_rec *out)
{
    const uint32_t *p = op->p;
    const uint32_t members = p[MQ_P_STREAM_MEMBERS], oh = p[MQ_P_STREAM_OUT_H], ow = p[MQ_P_STREAM_OUT_W];
    const uint32_t sh = p[MQ_P_STREAM_STRIDE_H], sw = p[MQ_P_STREAM_STRIDE_W], layout = p[MQ_P_STREAM_LAYOUT];
    const uint32_t acc_off = p[MQ_P_STREAM_ACC], acc_size = p[MQ_P_STREAM_ACC + 1];
    const int s16 = op->type == (uint32_t)MQ_OP_STREAM_FC_S16;
    const uint32_t esrc = src->dtype == MQ_DTYPE_INT16 ? 2u : 1u;
    mq_tensor_rec g, hx, fake;
    uint32_t sc, shh, sww, hc, n;
    uint64_t k;
    mq_status st;

    mq_tensor_decode(c->tensors, op->inputs[1], &g);
    mq_tensor_decode(c->tensors, op->inputs[2], &hx);
    MQ_REQUIRE(src->storage == MQ_STORAGE_ARENA && g.storage == MQ_STORAGE_ARENA && hx.storage == MQ_STORAGE_ARENA,
               MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(members <= MQ_STREAM_MAX_MEMBERS && members < c->num_ops - index, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(layout <= MQ_STREAM_LAYOUT_NCHW, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(src->rank == 4 && src->dims[0] == 1, MQ_ERR_SHAPE);
    sc = (uint32_t)(layout == MQ_STREAM_LAYOUT_NHWC ? src->dims[3] : src->dims[1]);
    shh = (uint32_t)(layout == MQ_STREAM_LAYOUT_NHWC ? src->dims[1] : src->dims[2]);
    sww = (uint32_t)(layout == MQ_STREAM_LAYOUT_NHWC ? src->dims[2] : src->dims[3]);
    /* grid: 1 <= out <= 2^15, stride 1..2^15, the last pixel read inside the source */
    MQ_REQUIRE(oh >= 1u && ow >= 1u && oh <= 32768u && ow <= 32768u && sh >= 1u && sw >= 1u && sh <= 32768u &&
                   sw <= 32768u,
               MQ_ERR_SHAPE);
    MQ_REQUIRE((oh - 1u) * sh < shh && (ow - 1u) * sw < sww, MQ_ERR_SHAPE);
    /* the gathered pixel: the source's codes, one pixel */
    MQ_REQUIRE(mq_same_qparams(src, &g) && (uint64_t)g.size == (uint64_t)sc * esrc, MQ_ERR_SHAPE);
    /* the head: k = grid pixels x the head pixel's elements */
    MQ_REQUIRE(s16 ? (mq_is_s16(&hx) && mq_is_s16(out)) : (mq_is_8bit(hx.dtype) && mq_is_8bit(out->dtype)),
               MQ_ERR_DTYPE);
    hc = hx.size / (s16 ? 2u : 1u);
    k = (uint64_t)oh * ow * hc;
    n = p[s16 ? MQ_P_S16_N : MQ_P_FC_N];
    MQ_REQUIRE(k == (uint64_t)p[s16 ? MQ_P_S16_K : MQ_P_FC_K], MQ_ERR_SHAPE);
    MQ_REQUIRE((uint32_t)out->dims[out->rank - 1] == n && (uint64_t)out->size == (uint64_t)n * (s16 ? 2u : 1u),
               MQ_ERR_SHAPE);
    /* the head's block, checked as the unfused op's, on a [1, k] constant view of the flattened input (the arena
     * ranges are checked below) */
    fake = hx;
    fake.rank = 2;
    fake.dims[0] = 1;
    fake.dims[1] = (int32_t)k;
    fake.dims[2] = fake.dims[3] = 1;
    fake.size = (uint32_t)k * (s16 ? 2u : 1u);
    fake.storage = MQ_STORAGE_CONST;
    if (s16) {
        MQ_REQUIRE((p[13] | p[14] | p[15] | p[16]) == 0u, MQ_ERR_FORMAT_OP);
        st = mq_check_s16_gemm_block(c, op);
    } else {
        st = mq_check_gemm_block(c, op, &fake, out);
    }
    MQ_REQUIRE(st == MQ_OK, st);
    MQ_REQUIRE((p[17] | p[18] | p[19]) == 0u, MQ_ERR_FORMAT_OP);
    /* accumulators: n x int32 / int64, 16-aligned in the arena */
    MQ_REQUIRE((uint64_t)acc_size == (uint64_t)n * (s16 ? 8u : 4u), MQ_ERR_FORMAT_OP);
    MQ_REQUIRE((acc_off % MQ_ALIGN) == 0u && acc_off <= c->arena_size && acc_size <= c->arena_size - acc_off,
               MQ_ERR_ARENA);
    /* source, gathered pixel, head pixel, accumulators and output pairwise apart */
    MQ_REQUIRE(!mq_arena_overlap(acc_off, acc_size, src->offset, src->size) &&
                   !mq_arena_overlap(acc_off, acc_size, out->offset, out->size) &&
                   !mq_arena_overlap(acc_off, acc_size, g.offset, g.size) &&
                   !mq_arena_overlap(acc_off, acc_size, hx.offset, hx.size) &&
                   !mq_arena_overlap(src->offset, src->size, out->offset, out->size) &&
                   !mq_arena_overlap(src->offset, src->size, g.offset, g.size) &&
                   !mq_arena_overlap(src->offset, src->size, hx.offset, hx.size) &&
                   !mq_arena_overlap(out->offset, out->size, g.offset, g.size) &&
                   !mq_arena_overlap(out->offset, out->size, hx.offset, hx.size),
               MQ_ERR_ARENA);
    c->stream_left = members;
    c->keep_off[0] = src->offset;
    c->keep_size[0] = src->size;
    c->keep_off[1] = acc_off;
    c->keep_size[1] = acc_size;
    c->keep_off[2] = out->offset;
    c->keep_size[2] = out->size;
    return MQ_OK;
}
#endif


#if MQ_OP_ROW_STREAM_ENABLED
static int mq_rows_member_ok(uint32_t type)
{
    return type == (uint32_t)MQ_OP_CONV || type == (uint32_t)MQ_OP_CONV_1X1 ||
           type == (uint32_t)MQ_OP_DEPTHWISE_CONV || type == (uint32_t)MQ_OP_ADD || type == (uint32_t)MQ_OP_LUT;
}

/* ROW_STREAM header (20): inputs[0] = segment input S, outputs[0] = segment output Y, both 8-bit NHWC batch 1 in
 * the arena; p0 = M members (1..8, records after this one), p[1 + 2j], p[2 + 2j] the rings of members 0..M-2, the
 * rest of p1..p16 0; p17, p18 the ADD term tables (0, 0 or a 16-aligned offset and MQ_ROWS_TERMS_BYTES inside the
 * arena). The members and the segment are checked when the last member has passed (mq_check_rows_segment). */
static mq_status mq_check_rows(mq_lctx *c, const mq_op_rec *op, uint32_t index, const mq_tensor_rec *s,
                               const mq_tensor_rec *y)
{
    const uint32_t members = op->p[MQ_P_ROWS_MEMBERS];
    uint32_t j;
    MQ_REQUIRE(op->flags == 0u, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(members >= 1u && members <= MQ_ROWS_MAX_MEMBERS && members < c->num_ops - index, MQ_ERR_FORMAT_OP);
    for (j = 2u * (members - 1u); j < 2u * MQ_ROWS_MAX_MEMBERS; j++) {
        MQ_REQUIRE(op->p[MQ_P_ROWS_RING + j] == 0u, MQ_ERR_FORMAT_OP);
    }
    if (op->p[MQ_P_ROWS_TERMS_SIZE] == 0u) {
        MQ_REQUIRE(op->p[MQ_P_ROWS_TERMS] == 0u, MQ_ERR_FORMAT_OP);
    } else {
        const uint32_t off = op->p[MQ_P_ROWS_TERMS];
        MQ_REQUIRE(op->p[MQ_P_ROWS_TERMS_SIZE] == MQ_ROWS_TERMS_BYTES, MQ_ERR_FORMAT_OP);
        MQ_REQUIRE((off % MQ_ALIGN) == 0u && off <= c->arena_size && MQ_ROWS_TERMS_BYTES <= c->arena_size - off,
                   MQ_ERR_ARENA);
    }
    MQ_REQUIRE(s->storage == MQ_STORAGE_ARENA, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(mq_is_8bit(s->dtype) && mq_is_8bit(y->dtype), MQ_ERR_DTYPE);
    MQ_REQUIRE(s->rank == 4 && y->rank == 4 && s->dims[0] == 1 && y->dims[0] == 1, MQ_ERR_SHAPE);
    c->rows_left = members;
    c->rows_index = index;
    c->rows_pending = 1u;
    return MQ_OK;
}

/* An arena range [off, off + size) lies apart from S, Y and every ring of the segment. */
static int mq_rows_apart(const mq_op_rec *seg, const mq_rows_plan *plan, const uint64_t *ring_bytes,
                         const mq_tensor_rec *s, const mq_tensor_rec *y, uint32_t off, uint64_t size, uint32_t self)
{
    uint32_t k;
    if (size == 0u) {
        return 1;
    }
    if (mq_arena_overlap(off, (uint32_t)size, s->offset, s->size) ||
        mq_arena_overlap(off, (uint32_t)size, y->offset, y->size)) {
        return 0;
    }
    for (k = 0; k + 1u < plan->members; k++) {
        if (k != self && mq_arena_overlap(off, (uint32_t)size, seg->p[MQ_P_ROWS_RING + 2u * k], (uint32_t)ring_bytes[k])) {
            return 0;
        }
    }
    return 1;
}

/* After the last member: tensors and producers, rings (1 <= R <= rows, 2R - 1 row slots, 16-aligned, in the arena,
 * apart from S, Y and each other), scratch ranges apart from S, Y and the rings, every row's input view non-empty,
 * no wider than its ring and accepted by the kernel's check, then the row schedule on counters: it must complete. */
static mq_status mq_check_rows_segment(mq_lctx *c, const uint8_t *ops)
{
    const uint32_t index = c->rows_index;
    mq_op_rec seg, op;
    mq_tensor_rec s, y, in, out, t;
    mq_rows_plan plan;
    uint64_t ring_bytes[MQ_ROWS_MAX];
    uint32_t j, q, k, used;
    int32_t r, lo, hi, prev_in, prev_pt, pt_row;
    uint32_t adds = 0u;
    mq_status st;

    c->fail_at = (uint32_t)(index * MQ_OP_RECORD_SIZE + (uint32_t)(ops - c->b));
    mq_op_decode(ops, index, &seg);
    mq_tensor_decode(c->tensors, seg.inputs[0], &s);
    mq_tensor_decode(c->tensors, seg.outputs[0], &y);
    mq_rows_plan_build(ops, c->tensors, index, seg.p, seg.inputs[0], seg.outputs[0], &plan);
    MQ_REQUIRE(plan.members == seg.p[MQ_P_ROWS_MEMBERS], MQ_ERR_FORMAT_OP);
    for (j = 0; j < plan.members; j++) {
        mq_op_decode(ops, index + 1u + j, &op);
        mq_tensor_decode(c->tensors, op.inputs[0], &in);
        mq_tensor_decode(c->tensors, op.outputs[0], &out);
        MQ_REQUIRE(in.rank == 4 && out.rank == 4 && in.dims[0] == 1 && out.dims[0] == 1, MQ_ERR_SHAPE);
        /* at most 65535 output rows per member: the checks below and the schedule's simulation stay short */
        MQ_REQUIRE(out.dims[1] <= 65535, MQ_ERR_SHAPE);
        MQ_REQUIRE(op.outputs[0] != seg.inputs[0], MQ_ERR_FORMAT_OP);
        adds += (uint32_t)(op.type == (uint32_t)MQ_OP_ADD);
        ring_bytes[j] = 0u;
        if (j + 1u < plan.members) {
            const uint32_t off = seg.p[MQ_P_ROWS_RING + 2u * j], rows = seg.p[MQ_P_ROWS_RING + 2u * j + 1u];
            MQ_REQUIRE(op.outputs[0] != seg.outputs[0], MQ_ERR_FORMAT_OP);
            MQ_REQUIRE(rows >= 1u && rows <= (uint32_t)out.dims[1], MQ_ERR_FORMAT_OP);
            ring_bytes[j] = (uint64_t)(2u * rows - 1u) * (out.size / (uint32_t)out.dims[1]);
            MQ_REQUIRE((off % MQ_ALIGN) == 0u && off <= c->arena_size && ring_bytes[j] <= (uint64_t)(c->arena_size - off),
                       MQ_ERR_ARENA);
            /* some later member reads it */
            used = 0u;
            for (k = j + 1u; k < plan.members; k++) {
                used |= (uint32_t)(plan.m[k].src[0] == j || plan.m[k].src[1] == j);
            }
            MQ_REQUIRE(used != 0u, MQ_ERR_FORMAT_OP);
        } else {
            MQ_REQUIRE(op.outputs[0] == seg.outputs[0], MQ_ERR_FORMAT_OP);
        }
        /* inputs: S, an earlier member's output, or (ADD's x2 only) a constant; an arena x2 without broadcast */
        for (q = 0; q < op.num_inputs; q++) {
            const uint32_t from = plan.m[j].src[q];
            if (from == MQ_ROWS_FROM_NONE) {
                mq_tensor_decode(c->tensors, op.inputs[q], &t);
                MQ_REQUIRE(q == 1u && t.storage == MQ_STORAGE_CONST, MQ_ERR_FORMAT_OP);
            } else if (q == 1u) {
                MQ_REQUIRE(op.p[MQ_P_ADD_BROADCAST] == 0u, MQ_ERR_FORMAT_OP);
            }
        }
        MQ_REQUIRE(plan.m[j].src[0] != MQ_ROWS_FROM_NONE, MQ_ERR_FORMAT_OP);
        /* 1x1: one input row per output row (no top / bottom padding) */
        MQ_REQUIRE(op.type != (uint32_t)MQ_OP_CONV_1X1 || (op.p[MQ_P_CONV_PAD_TOP] | op.p[MQ_P_CONV_PAD_BOTTOM]) == 0u,
                   MQ_ERR_FORMAT_OP);
        /* every row: a non-empty view, no wider than the ring it reads, a window the kernel accepts (checked when
         * the row's window differs from the previous row's: the border rows and one interior row) */
        prev_in = prev_pt = -1;
        for (r = 0; r < plan.m[j].out_h; r++) {
            mq_rows_range(&plan.m[j], r, &lo, &hi);
            MQ_REQUIRE(hi > lo, MQ_ERR_FORMAT_OP);
            for (q = 0; q < 2u; q++) {
                const uint32_t from = plan.m[j].src[q];
                MQ_REQUIRE(from >= plan.members || hi - lo <= plan.m[from].ring, MQ_ERR_FORMAT_OP);
            }
            pt_row = lo - (r * plan.m[j].stride - plan.m[j].pad_top);
            if ((op.type == (uint32_t)MQ_OP_CONV || op.type == (uint32_t)MQ_OP_DEPTHWISE_CONV) &&
                (hi - lo != prev_in || pt_row != prev_pt)) {
                mq_window *w;
                prev_in = hi - lo;
                prev_pt = pt_row;
#if MQ_OP_CONV_ENABLED
                mq_conv_params cp;
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
                mq_depthwise_params dw;
#endif
                st = MQ_ERR_UNSUPPORTED_OP;
                w = NULL;
#if MQ_OP_CONV_ENABLED
                if (op.type == (uint32_t)MQ_OP_CONV) {
                    mq_op_convk_params(c->constants, &op, &in, &out, &cp);
                    w = &cp.win;
                }
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
                if (op.type == (uint32_t)MQ_OP_DEPTHWISE_CONV) {
                    mq_op_depthwise_params(c->constants, &op, &in, &out, &dw);
                    w = &dw.win;
                }
#endif
                if (w != NULL) {
                    w->out_h = 1;
                    w->in_h = hi - lo;
                    w->pad_top = lo - (r * plan.m[j].stride - plan.m[j].pad_top);
                    w->pad_bottom = plan.m[j].extent - (hi - lo) - w->pad_top;
#if MQ_OP_CONV_ENABLED
                    if (op.type == (uint32_t)MQ_OP_CONV) {
                        st = mq_conv_check(&cp);
                        MQ_REQUIRE(st == MQ_OK, st);
                        MQ_REQUIRE((uint64_t)mq_conv_scratch_size(&cp) <= op.p[MQ_P_CONVK_SCRATCH_SIZE],
                                   MQ_ERR_FORMAT_OP);
                    }
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
                    if (op.type == (uint32_t)MQ_OP_DEPTHWISE_CONV) {
                        st = mq_depthwise_check(&dw);
                        MQ_REQUIRE(st == MQ_OK, st);
                        MQ_REQUIRE((uint64_t)mq_depthwise_scratch_size(&dw) <= op.p[MQ_P_DW_SCRATCH_SIZE],
                                   MQ_ERR_FORMAT_OP);
                    }
#endif
                }
                MQ_REQUIRE(st == MQ_OK, st);
            }
        }
    }
    /* rings apart from S, Y and each other; each member's scratch apart from S, Y and the rings; the ADD term tables
     * (only with an ADD member) apart from S, Y, the rings and every member's scratch (they live over the call) */
    MQ_REQUIRE(seg.p[MQ_P_ROWS_TERMS_SIZE] == 0u || adds != 0u, MQ_ERR_FORMAT_OP);
    MQ_REQUIRE(mq_rows_apart(&seg, &plan, ring_bytes, &s, &y, seg.p[MQ_P_ROWS_TERMS], seg.p[MQ_P_ROWS_TERMS_SIZE],
                             MQ_ROWS_MAX),
               MQ_ERR_ARENA);
    for (j = 0; j + 1u < plan.members; j++) {
        MQ_REQUIRE(mq_rows_apart(&seg, &plan, ring_bytes, &s, &y, seg.p[MQ_P_ROWS_RING + 2u * j], ring_bytes[j], j),
                   MQ_ERR_ARENA);
    }
    for (j = 0; j < plan.members; j++) {
        uint32_t off = 0u;
        uint64_t size = 0u;
        mq_op_decode(ops, index + 1u + j, &op);
        if (op.type == (uint32_t)MQ_OP_CONV) {
            off = op.p[MQ_P_CONVK_SCRATCH];
            size = op.p[MQ_P_CONVK_SCRATCH_SIZE];
        } else if (op.type == (uint32_t)MQ_OP_DEPTHWISE_CONV) {
            off = op.p[MQ_P_DW_SCRATCH];
            size = op.p[MQ_P_DW_SCRATCH_SIZE];
        } else if (op.type == (uint32_t)MQ_OP_CONV_1X1) {
            off = op.p[MQ_P_CONV_SCRATCH];
            size = off != 0u || op.p[MQ_P_CONV_PAD_LEFT] != 0u || op.p[MQ_P_CONV_PAD_RIGHT] != 0u ? op.p[MQ_P_FC_K] : 0u;
        }
        MQ_REQUIRE(mq_rows_apart(&seg, &plan, ring_bytes, &s, &y, off, size, MQ_ROWS_MAX), MQ_ERR_ARENA);
        MQ_REQUIRE(size == 0u || seg.p[MQ_P_ROWS_TERMS_SIZE] == 0u ||
                       !mq_arena_overlap(off, (uint32_t)size, seg.p[MQ_P_ROWS_TERMS], seg.p[MQ_P_ROWS_TERMS_SIZE]),
                   MQ_ERR_ARENA);
    }
    MQ_REQUIRE(mq_rows_simulate(&plan), MQ_ERR_FORMAT_OP);
    return MQ_OK;
}
#endif

/* Words of op->p each type uses (the rest must be zero); 0xFF marks a type this build does not support
 * (unknown, or left out of the build list: MQ_OP_<NAME>_ENABLED 0). */
#define MQ_USED_IF(enabled, used) ((enabled) ? (uint8_t)(used) : (uint8_t)0xFFu)
static const uint8_t mq_params_used[MQ_OP_TYPE_COUNT] = {
    0xFFu,
    MQ_USED_IF(MQ_OP_FULLY_CONNECTED_ENABLED, MQ_P_FC_USED),
    MQ_USED_IF(MQ_OP_CONV_1X1_ENABLED, MQ_P_CONV_USED),
    MQ_USED_IF(MQ_OP_LUT_ENABLED, MQ_P_LUT_USED),
    MQ_USED_IF(MQ_OP_ADD_ENABLED, MQ_P_ADD_USED),
    MQ_USED_IF(MQ_OP_RESHAPE_ENABLED, MQ_P_RESHAPE_USED),
    MQ_USED_IF(MQ_OP_SOFTMAX_ENABLED, MQ_P_SOFTMAX_USED),
    MQ_USED_IF(MQ_OP_TRANSPOSE_ENABLED, MQ_P_TRANSPOSE_USED),
    MQ_USED_IF(MQ_OP_CONV_ENABLED, MQ_P_CONVK_USED),
    MQ_USED_IF(MQ_OP_DEPTHWISE_CONV_ENABLED, MQ_P_DW_USED),
    MQ_USED_IF(MQ_OP_AVERAGE_POOL_ENABLED, MQ_P_POOL_USED),
    MQ_USED_IF(MQ_OP_MAX_POOL_ENABLED, MQ_P_POOL_USED),
    MQ_USED_IF(MQ_OP_MEAN_ENABLED, MQ_P_MEAN_USED),
    MQ_USED_IF(MQ_OP_PAD_ENABLED, MQ_P_PAD_USED),
    MQ_USED_IF(MQ_OP_CONCAT_ENABLED, MQ_P_CONCAT_USED),
    MQ_USED_IF(MQ_OP_MUL_ENABLED, MQ_P_MUL8_USED),
    MQ_USED_IF(MQ_OP_REQUANTIZE_ENABLED, MQ_P_REQ_USED),
    MQ_USED_IF(MQ_OP_SOFTMAX_TABLE_ENABLED, MQ_P_SMT_USED),
    0xFFu,                                          /* 18: no op */
    MQ_USED_IF(MQ_OP_STREAM_FC_ENABLED, MQ_P_STREAM_USED),
    MQ_USED_IF(MQ_OP_ROW_STREAM_ENABLED, MQ_P_ROWS_USED),
    0xFFu, 0xFFu, 0xFFu, 0xFFu, 0xFFu,              /* 21..31: no op */
    0xFFu, 0xFFu, 0xFFu, 0xFFu, 0xFFu, 0xFFu,
    MQ_USED_IF(MQ_OP_FULLY_CONNECTED_S16_ENABLED, MQ_P_S16_FC_USED),
    MQ_USED_IF(MQ_OP_CONV_S16_ENABLED, MQ_P_S16_CONV_USED),
    MQ_USED_IF(MQ_OP_DEPTHWISE_CONV_S16_ENABLED, MQ_P_S16DW_USED),
    MQ_USED_IF(MQ_OP_ADD_S16_ENABLED, MQ_P_ADD_USED),
    MQ_USED_IF(MQ_OP_MUL_S16_ENABLED, MQ_P_MUL_USED),
    MQ_USED_IF(MQ_OP_AVERAGE_POOL_S16_ENABLED, MQ_P_POOL_USED),
    MQ_USED_IF(MQ_OP_MAX_POOL_S16_ENABLED, MQ_P_POOL_USED),
    MQ_USED_IF(MQ_OP_LUT16_ENABLED, MQ_P_LUT16_USED),
    MQ_USED_IF(MQ_OP_QUANTIZE_S16_ENABLED, MQ_P_REQ_USED),
    MQ_USED_IF(MQ_OP_REQUANTIZE_S16_TO_8_ENABLED, MQ_P_REQ_USED),
    MQ_USED_IF(MQ_OP_SOFTMAX_S16_ENABLED, MQ_P_S16SM_USED),
    MQ_USED_IF(MQ_OP_RESCALE_S16_ENABLED, MQ_P_REQ_USED),
    MQ_USED_IF(MQ_OP_STREAM_FC_S16_ENABLED, MQ_P_STREAM_USED),
};

/* Ops that may carry MQ_OP_FLAG_IN_PLACE: the elementwise ones (exactly on input 0, as format 2.0 already
 * allowed without the flag), RESHAPE (a view), CONV_1X1 and DEPTHWISE_CONV (their in-place kernels). */
static int mq_op_can_run_in_place(uint32_t type)
{
    return type == (uint32_t)MQ_OP_CONV_1X1 || type == (uint32_t)MQ_OP_DEPTHWISE_CONV || type == (uint32_t)MQ_OP_LUT ||
           type == (uint32_t)MQ_OP_ADD || type == (uint32_t)MQ_OP_RESHAPE || type == (uint32_t)MQ_OP_SOFTMAX ||
           type == (uint32_t)MQ_OP_MUL || type == (uint32_t)MQ_OP_REQUANTIZE || type == (uint32_t)MQ_OP_SOFTMAX_TABLE;
}

static mq_status mq_check_op_record(mq_lctx *c, const uint8_t *ops, uint32_t index)
{
    const uint8_t *r = ops + (size_t)index * MQ_OP_RECORD_SIZE;
    mq_op_rec op;
    mq_tensor_rec in, in2, out;
    uint32_t i, used, min_inputs, max_inputs;

    c->fail_at = (uint32_t)(r - c->b);
    c->rows_member = 0;
    mq_op_decode(ops, index, &op);
    MQ_REQUIRE(op.type < (uint32_t)MQ_OP_TYPE_COUNT && mq_params_used[op.type] != 0xFFu, MQ_ERR_UNSUPPORTED_OP);
#if !MQ_ORT_FLOAT32_ENABLED
    /* a build without onnxruntime's float32 output stage (op build list name ORT_FLOAT32, mq_format.h) */
    MQ_REQUIRE((mq_rd32(c->b + MQ_H_FLAGS) & MQ_MODEL_FLAG_ORT_FLOAT32) == 0u, MQ_ERR_UNSUPPORTED_OP);
#endif
#if !MQ_GEMM_SINGLE_ROUNDING_ENABLED
    /* a build without the single-rounding FULLY_CONNECTED kernel (mq_kernel_select.h) */
    MQ_REQUIRE(op.type != (uint32_t)MQ_OP_FULLY_CONNECTED ||
                   (mq_rd32(c->b + MQ_H_FLAGS) & MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) == 0u,
               MQ_ERR_UNSUPPORTED_OP);
#endif
    used = mq_params_used[op.type];
    min_inputs = max_inputs = 1u;
    if (op.type == (uint32_t)MQ_OP_ADD || op.type == (uint32_t)MQ_OP_MUL || op.type == (uint32_t)MQ_OP_ADD_S16 ||
        op.type == (uint32_t)MQ_OP_MUL_S16) {
        min_inputs = max_inputs = 2u;
    } else if (op.type == (uint32_t)MQ_OP_CONCAT) {
        max_inputs = (uint32_t)MQ_CONCAT_MAX_INPUTS;
    } else if (op.type == (uint32_t)MQ_OP_STREAM_FC || op.type == (uint32_t)MQ_OP_STREAM_FC_S16) {
        min_inputs = max_inputs = 3u;
    }
    MQ_REQUIRE(op.num_inputs >= min_inputs && op.num_inputs <= max_inputs && op.num_outputs == 1u &&
                   (op.flags & ~(uint32_t)MQ_OP_FLAGS_KNOWN) == 0u,
               MQ_ERR_FORMAT_OP);
    for (i = 0; i < 8u; i++) {
        MQ_REQUIRE(r[MQ_O_RESERVED2 + i] == 0u, MQ_ERR_FORMAT_OP);
    }
    for (i = 0; i < MQ_OP_MAX_INPUTS; i++) {
        MQ_REQUIRE(i < op.num_inputs ? op.inputs[i] < c->num_tensors : op.inputs[i] == MQ_NO_TENSOR,
                   MQ_ERR_FORMAT_OP);
    }
    MQ_REQUIRE(op.outputs[0] < c->num_tensors && op.outputs[1] == MQ_NO_TENSOR, MQ_ERR_FORMAT_OP);
    for (i = used; i < MQ_OP_NUM_PARAMS; i++) {
        MQ_REQUIRE(op.p[i] == 0u, MQ_ERR_FORMAT_OP);
    }
    mq_tensor_decode(c->tensors, op.inputs[0], &in);
    mq_tensor_decode(c->tensors, op.outputs[0], &out);
    MQ_REQUIRE(out.storage == MQ_STORAGE_ARENA, MQ_ERR_FORMAT_OP); /* ops write only to the arena */
    if ((mq_rd32(c->b + MQ_H_FLAGS) & MQ_MODEL_FLAG_ORT_FLOAT32) != 0u) {
        /* onnxruntime's float32 output stage runs in the portable kernels only: no streamed chain or segment,
         * no in-place FULLY_CONNECTED / CONV_1X1 / CONV / DEPTHWISE_CONV */
        MQ_REQUIRE(op.type != (uint32_t)MQ_OP_STREAM_FC && op.type != (uint32_t)MQ_OP_STREAM_FC_S16 &&
                       op.type != (uint32_t)MQ_OP_ROW_STREAM,
                   MQ_ERR_FORMAT_OP);
        MQ_REQUIRE((op.flags & MQ_OP_FLAG_IN_PLACE) == 0u ||
                       (op.type != (uint32_t)MQ_OP_FULLY_CONNECTED && op.type != (uint32_t)MQ_OP_CONV_1X1 &&
                        op.type != (uint32_t)MQ_OP_CONV && op.type != (uint32_t)MQ_OP_DEPTHWISE_CONV),
                   MQ_ERR_FORMAT_OP);
    }
    (void)in2;
    if (c->rows_left > 0u) {
        /* a member of the row-streamed segment before it: flagged (bit 4 alone), a row-wise 8-bit op; its own
         * check below sees its arena inputs as views (not ranges) and its output apart from everything: the
         * segment check then places the rings, the scratch and the rows (mq_check_rows_segment) */
        MQ_REQUIRE(op.flags == MQ_OP_FLAG_ROW_MEMBER, MQ_ERR_FORMAT_OP);
#if MQ_OP_ROW_STREAM_ENABLED
        MQ_REQUIRE(mq_rows_member_ok(op.type), MQ_ERR_FORMAT_OP);
#endif
        c->rows_member = 1;
        if (in.storage == MQ_STORAGE_ARENA) {
            in.storage = MQ_STORAGE_CONST;
        }
        out.offset = MQ_ROWS_FAR_OFFSET;
        c->rows_left--;
    } else {
        MQ_REQUIRE((op.flags & MQ_OP_FLAG_ROW_MEMBER) == 0u, MQ_ERR_FORMAT_OP);
    }
    if (c->stream_left > 0u) {
        /* a member of the pixel-streamed chain before it: flagged, a per-pixel op, neither in place nor with scratch,
         * reading an arena tensor, writing none of the ranges the chain keeps */
        MQ_REQUIRE(op.flags == MQ_OP_FLAG_STREAMED, MQ_ERR_FORMAT_OP);
        MQ_REQUIRE(mq_stream_member_ok(op.type), MQ_ERR_FORMAT_OP);
        MQ_REQUIRE(op.type != (uint32_t)MQ_OP_CONV_1X1 ||
                       (op.p[MQ_P_CONV_PAD_TOP] | op.p[MQ_P_CONV_PAD_LEFT] | op.p[MQ_P_CONV_PAD_BOTTOM] |
                        op.p[MQ_P_CONV_PAD_RIGHT] | op.p[MQ_P_CONV_SCRATCH]) == 0u,
                   MQ_ERR_FORMAT_OP);
        MQ_REQUIRE(in.storage == MQ_STORAGE_ARENA, MQ_ERR_FORMAT_OP);
        for (i = 0; i < 3u; i++) {
            MQ_REQUIRE(!mq_arena_overlap(out.offset, out.size, c->keep_off[i], c->keep_size[i]), MQ_ERR_ARENA);
        }
        c->stream_left--;
    } else {
        MQ_REQUIRE((op.flags & MQ_OP_FLAG_STREAMED) == 0u, MQ_ERR_FORMAT_OP);
    }
    if ((op.flags & MQ_OP_FLAG_IN_PLACE) != 0u) {
        /* Flagged in place: only ops whose kernel can write over input 0, and the output starts exactly there
         * (the per-op checks below then require the op's own in-place geometry and scratch). */
        MQ_REQUIRE(mq_op_can_run_in_place(op.type), MQ_ERR_FORMAT_OP);
        MQ_REQUIRE(in.storage == MQ_STORAGE_ARENA && in.offset == out.offset, MQ_ERR_ARENA);
        /* CONV_1X1 / DEPTHWISE_CONV of a single-rounding model (MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) too: the
         * in-place kernels run the same microkernels with the single-rounding output stage */
    }

    switch (op.type) {
#if MQ_OP_FULLY_CONNECTED_ENABLED
    case MQ_OP_FULLY_CONNECTED:
        return mq_check_gemm(c, &op, &in, &out, 0);
#endif
#if MQ_OP_CONV_1X1_ENABLED
    case MQ_OP_CONV_1X1:
        return mq_check_gemm(c, &op, &in, &out, 1);
#endif
#if MQ_OP_LUT_ENABLED
    case MQ_OP_LUT:
        MQ_REQUIRE(mq_is_8bit(in.dtype) && mq_is_8bit(out.dtype), MQ_ERR_DTYPE);
        MQ_REQUIRE(mq_same_shape(&in, &out), MQ_ERR_SHAPE);
        MQ_REQUIRE(mq_const_ref_ok(c, op.p[MQ_P_LUT_TABLE], op.p[MQ_P_LUT_TABLE + 1], 256u), MQ_ERR_FORMAT_BOUNDS);
        MQ_REQUIRE(mq_inplace_or_apart(&in, &out, 1), MQ_ERR_ARENA);
        return MQ_OK;
#endif
#if MQ_OP_ADD_ENABLED
    case MQ_OP_ADD:
        mq_tensor_decode(c->tensors, op.inputs[1], &in2);
        if (c->rows_member && in2.storage == MQ_STORAGE_ARENA) {
            in2.storage = MQ_STORAGE_CONST; /* a row view (segment check) */
        }
        return mq_check_add(&op, &in, &in2, &out);
#endif
#if MQ_OP_RESHAPE_ENABLED
    case MQ_OP_RESHAPE:
        /* Same bytes, same meaning; overlap is fine (memmove, or nothing when in place). */
        MQ_REQUIRE(in.dtype == out.dtype && in.zero_point == out.zero_point && in.scale_bits == out.scale_bits,
                   MQ_ERR_QPARAMS);
        MQ_REQUIRE(in.size == out.size, MQ_ERR_SHAPE);
        return MQ_OK;
#endif
#if MQ_OP_SOFTMAX_ENABLED
    case MQ_OP_SOFTMAX:
        return mq_check_softmax(c, &op, &in, &out);
#endif
#if MQ_OP_TRANSPOSE_ENABLED
    case MQ_OP_TRANSPOSE:
        return mq_check_transpose(&op, &in, &out);
#endif
#if MQ_OP_CONV_ENABLED
    case MQ_OP_CONV:
        return mq_check_convk(c, &op, &in, &out);
#endif
#if MQ_OP_DEPTHWISE_CONV_ENABLED
    case MQ_OP_DEPTHWISE_CONV:
        return mq_check_depthwise(c, &op, &in, &out);
#endif
#if MQ_OP_AVERAGE_POOL_ENABLED || MQ_OP_MAX_POOL_ENABLED
    case MQ_OP_AVERAGE_POOL:
    case MQ_OP_MAX_POOL:
        return mq_check_pool(&op, &in, &out);
#endif
#if MQ_OP_MEAN_ENABLED
    case MQ_OP_MEAN:
        return mq_check_mean(c, &op, &in, &out);
#endif
#if MQ_OP_PAD_ENABLED
    case MQ_OP_PAD:
        return mq_check_pad(&op, &in, &out);
#endif
#if MQ_OP_CONCAT_ENABLED
    case MQ_OP_CONCAT:
        return mq_check_concat(c, &op, &out);
#endif
#if MQ_OP_MUL_ENABLED
    case MQ_OP_MUL:
        mq_tensor_decode(c->tensors, op.inputs[1], &in2);
        return mq_check_mul(&op, &in, &in2, &out);
#endif
#if MQ_OP_SOFTMAX_TABLE_ENABLED
    case MQ_OP_SOFTMAX_TABLE:
        return mq_check_softmax_table(c, &op, &in, &out);
#endif
#if MQ_OP_REQUANTIZE_ENABLED
    case MQ_OP_REQUANTIZE:
        return mq_check_requantize(&op, &in, &out);
#endif
#if MQ_OP_FULLY_CONNECTED_S16_ENABLED
    case MQ_OP_FULLY_CONNECTED_S16:
        return mq_check_fc_s16(c, &op, &in, &out);
#endif
#if MQ_OP_CONV_S16_ENABLED
    case MQ_OP_CONV_S16:
        return mq_check_conv_s16(c, &op, &in, &out);
#endif
#if MQ_OP_DEPTHWISE_CONV_S16_ENABLED
    case MQ_OP_DEPTHWISE_CONV_S16:
        return mq_check_depthwise_s16(c, &op, &in, &out);
#endif
#if MQ_OP_ADD_S16_ENABLED
    case MQ_OP_ADD_S16:
        mq_tensor_decode(c->tensors, op.inputs[1], &in2);
        return mq_check_add_s16(&op, &in, &in2, &out);
#endif
#if MQ_OP_MUL_S16_ENABLED
    case MQ_OP_MUL_S16:
        mq_tensor_decode(c->tensors, op.inputs[1], &in2);
        return mq_check_mul_s16(&op, &in, &in2, &out);
#endif
#if MQ_OP_AVERAGE_POOL_S16_ENABLED || MQ_OP_MAX_POOL_S16_ENABLED
    case MQ_OP_AVERAGE_POOL_S16:
    case MQ_OP_MAX_POOL_S16:
        return mq_check_pool_s16(&op, &in, &out);
#endif
#if MQ_OP_LUT16_ENABLED
    case MQ_OP_LUT16:
        return mq_check_lut16(c, &op, &in, &out);
#endif
#if MQ_OP_QUANTIZE_S16_ENABLED || MQ_OP_REQUANTIZE_S16_TO_8_ENABLED || MQ_OP_RESCALE_S16_ENABLED
    case MQ_OP_QUANTIZE_S16:
    case MQ_OP_REQUANTIZE_S16_TO_8:
    case MQ_OP_RESCALE_S16:
        return mq_check_convert_s16(&op, &in, &out);
#endif
#if MQ_OP_SOFTMAX_S16_ENABLED
    case MQ_OP_SOFTMAX_S16:
        return mq_check_softmax_s16(c, &op, &in, &out);
#endif
#if MQ_OP_STREAM_FC_ENABLED || MQ_OP_STREAM_FC_S16_ENABLED
    case MQ_OP_STREAM_FC:
    case MQ_OP_STREAM_FC_S16:
        MQ_REQUIRE(op.flags == 0u, MQ_ERR_FORMAT_OP);
        return mq_check_stream(c, &op, index, &in, &out);
#endif
#if MQ_OP_ROW_STREAM_ENABLED
    case MQ_OP_ROW_STREAM:
        return mq_check_rows(c, &op, index, &in, &out);
#endif
    default: /* the table above admits nothing else */
        return MQ_ERR_UNSUPPORTED_OP;
    }
}

/* One op record, then (after the last member of a row-streamed segment) the segment as a whole. */
static mq_status mq_check_op(mq_lctx *c, const uint8_t *ops, uint32_t index)
{
    mq_status st = mq_check_op_record(c, ops, index);
    MQ_REQUIRE(st == MQ_OK, st);
#if MQ_OP_ROW_STREAM_ENABLED
    if (c->rows_pending != 0u && c->rows_left == 0u) {
        c->rows_pending = 0u;
        return mq_check_rows_segment(c, ops);
    }
#endif
    return MQ_OK;
}

/* Metadata: MQ_META_NUM_FIXED + num_io strings, each a u16 length then its bytes, inside the section. */
static mq_status mq_check_metadata(mq_lctx *c, const uint8_t *meta, uint32_t size, uint32_t count)
{
    uint32_t pos = 0u, i;
    for (i = 0; i < count; i++) {
        c->fail_at = (uint32_t)(meta + pos - c->b);
        MQ_REQUIRE(size - pos >= 2u && mq_rd16(meta + pos) <= size - pos - 2u, MQ_ERR_FORMAT_BOUNDS);
        pos += 2u + mq_rd16(meta + pos);
    }
    return MQ_OK;
}

static mq_status mq_load(mq_lctx *c, const uint8_t *b, size_t size, uint32_t flags, mq_model *m)
{
    uint32_t header_size, num_sections, table_end, prev_end, i;
    uint32_t sec_off[MQ_NUM_REQUIRED_SECTIONS], sec_size[MQ_NUM_REQUIRED_SECTIONS];
    uint32_t nt, no, ni, nout;
    mq_status st;

    c->b = b;
    c->fail_at = 0u;
    MQ_REQUIRE(size >= MQ_HEADER_SIZE, MQ_ERR_FORMAT_SIZE);
    MQ_REQUIRE(mq_rd32(b) == (MQ_MAGIC0 | (MQ_MAGIC1 << 8) | (MQ_MAGIC2 << 16) | (MQ_MAGIC3 << 24)),
               MQ_ERR_FORMAT_MAGIC);
    /* Which version this is, for the caller's message even when it is rejected (read before the CRC:
     * a corrupted header may report a wrong version, but the status then says CRC). */
    m->format_version_major = (uint16_t)mq_rd16(b + MQ_H_VERSION_MAJOR);
    m->format_version_minor = (uint16_t)mq_rd16(b + MQ_H_VERSION_MINOR);
    m->min_runtime_major = (uint16_t)mq_rd16(b + MQ_H_MIN_RUNTIME_MAJOR);
    m->min_runtime_minor = (uint16_t)mq_rd16(b + MQ_H_MIN_RUNTIME_MINOR);
    if ((flags & MQ_LOAD_CHECK_CRC) != 0u) {
        MQ_REQUIRE(mq_crc32(b, MQ_H_HEADER_CRC32) == mq_rd32(b + MQ_H_HEADER_CRC32), MQ_ERR_FORMAT_CRC);
    }
    MQ_REQUIRE(mq_rd16(b + MQ_H_VERSION_MAJOR) == MQ_FORMAT_VERSION_MAJOR, MQ_ERR_FORMAT_VERSION);
    MQ_REQUIRE(mq_rd16(b + MQ_H_MIN_RUNTIME_MAJOR) * 65536u + mq_rd16(b + MQ_H_MIN_RUNTIME_MINOR) <=
                   MQ_RUNTIME_VERSION_MAJOR * 65536u + MQ_RUNTIME_VERSION_MINOR,
               MQ_ERR_FORMAT_VERSION);
    /* MQ_MODEL_FLAG_ORT_FLOAT32 only with both single-rounding flags (the multipliers are onnxruntime's float32 ones) */
    MQ_REQUIRE((mq_rd32(b + MQ_H_FLAGS) & MQ_MODEL_FLAG_ORT_FLOAT32) == 0u ||
                   (mq_rd32(b + MQ_H_FLAGS) & (MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV)) ==
                       (MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV),
               MQ_ERR_FORMAT_VERSION);
    MQ_REQUIRE(((mq_rd32(b + MQ_H_FLAGS) & ~MQ_H_FLAGS_KNOWN) | mq_rd16(b + MQ_H_RESERVED) | mq_rd32(b + MQ_H_RESERVED2) |
                mq_rd32(b + MQ_H_RESERVED2 + 4u) | mq_rd32(b + MQ_H_RESERVED2 + 8u)) == 0u,
               MQ_ERR_FORMAT_VERSION);
    header_size = MQ_HEADER_SIZE;
    c->total = mq_rd32(b + MQ_H_TOTAL_SIZE);
    MQ_REQUIRE(mq_rd32(b + MQ_H_HEADER_SIZE) == MQ_HEADER_SIZE, MQ_ERR_FORMAT_SIZE); /* fixed in format 2.x */
    MQ_REQUIRE(c->total <= size && c->total >= header_size, MQ_ERR_FORMAT_SIZE);
    if ((flags & MQ_LOAD_CHECK_CRC) != 0u) {
        MQ_REQUIRE(mq_crc32(b + header_size, c->total - header_size) == mq_rd32(b + MQ_H_CRC32),
                   MQ_ERR_FORMAT_CRC);
    }

    /* Section table: the five required sections first, in order; later ones (ids > 5) are skipped. */
    num_sections = mq_rd16(b + MQ_H_NUM_SECTIONS);
    MQ_REQUIRE(num_sections >= MQ_NUM_REQUIRED_SECTIONS && num_sections <= MQ_MAX_SECTIONS, MQ_ERR_FORMAT_SIZE);
    MQ_REQUIRE(num_sections * MQ_SECTION_ENTRY_SIZE <= c->total - header_size, MQ_ERR_FORMAT_SIZE);
    table_end = header_size + num_sections * MQ_SECTION_ENTRY_SIZE;
    prev_end = table_end;
    for (i = 0; i < num_sections; i++) {
        const uint8_t *e = b + header_size + i * MQ_SECTION_ENTRY_SIZE;
        const uint32_t id = mq_rd32(e), off = mq_rd32(e + 4), len = mq_rd32(e + 8);
        c->fail_at = (uint32_t)(e - b);
        MQ_REQUIRE(i < MQ_NUM_REQUIRED_SECTIONS ? id == i + 1u : id > MQ_NUM_REQUIRED_SECTIONS, MQ_ERR_FORMAT_SIZE);
        MQ_REQUIRE(mq_rd32(e + 12) == 0u, MQ_ERR_FORMAT_VERSION);
        MQ_REQUIRE((off % MQ_ALIGN) == 0u, MQ_ERR_ALIGN);
        MQ_REQUIRE(off >= prev_end && off <= c->total && len <= c->total - off, MQ_ERR_FORMAT_BOUNDS);
        prev_end = off + len;
        if (i < MQ_NUM_REQUIRED_SECTIONS) {
            sec_off[i] = off;
            sec_size[i] = len;
        }
    }
    c->fail_at = 0u; /* header fields again */
    nt = mq_rd16(b + MQ_H_NUM_TENSORS);
    no = mq_rd16(b + MQ_H_NUM_OPS);
    ni = mq_rd16(b + MQ_H_NUM_INPUTS);
    nout = mq_rd16(b + MQ_H_NUM_OUTPUTS);
    MQ_REQUIRE(nt >= 1u && no >= 1u && ni >= 1u && nout >= 1u, MQ_ERR_FORMAT_SIZE);
    MQ_REQUIRE(sec_size[0] == nt * MQ_TENSOR_RECORD_SIZE && sec_size[1] == no * MQ_OP_RECORD_SIZE &&
                   sec_size[2] == (ni + nout) * 2u,
               MQ_ERR_FORMAT_SIZE);
    c->arena_size = mq_rd32(b + MQ_H_ARENA_SIZE);
    MQ_REQUIRE(mq_rd32(b + MQ_H_ARENA_LOWER_BOUND) <= c->arena_size && c->arena_size <= 0x7FFFFFFFu,
               MQ_ERR_ARENA);
    c->num_tensors = nt;
    c->num_ops = no;
    c->stream_left = 0u;
    c->rows_left = 0u;
    c->rows_index = 0u;
    c->rows_pending = 0u;
    c->rows_member = 0;
    c->tensors = b + sec_off[0];
    c->constants = b + sec_off[3];
    c->constants_size = sec_size[3];

    for (i = 0; i < nt; i++) {
        st = mq_check_tensor(c, i);
        MQ_REQUIRE(st == MQ_OK, st);
    }
    for (i = 0; i < ni + nout; i++) {
        const uint32_t id = mq_rd16(b + sec_off[2] + 2u * i);
        c->fail_at = sec_off[2] + 2u * i;
        MQ_REQUIRE(id < nt, MQ_ERR_FORMAT_BOUNDS);
        /* Inputs are copied into the arena, so they must live there. */
        MQ_REQUIRE(i >= ni || c->tensors[(size_t)id * MQ_TENSOR_RECORD_SIZE + MQ_T_STORAGE] == MQ_STORAGE_ARENA,
                   MQ_ERR_FORMAT_TENSOR);
    }
    for (i = 0; i < no; i++) {
        st = mq_check_op(c, b + sec_off[1], i);
        MQ_REQUIRE(st == MQ_OK, st);
    }
    MQ_REQUIRE(c->stream_left == 0u, MQ_ERR_FORMAT_OP); /* (mq_check_stream: the members lie inside the op list) */
    st = mq_check_metadata(c, b + sec_off[4], sec_size[4], MQ_META_NUM_FIXED + ni + nout);
    MQ_REQUIRE(st == MQ_OK, st);

    m->blob = b;
    m->size = c->total;
    m->arena_size = c->arena_size;
    m->arena_lower_bound = mq_rd32(b + MQ_H_ARENA_LOWER_BOUND);
    m->flags = mq_rd32(b + MQ_H_FLAGS);
    m->num_tensors = (uint16_t)nt;
    m->num_ops = (uint16_t)no;
    m->num_inputs = (uint16_t)ni;
    m->num_outputs = (uint16_t)nout;
    m->tensors = c->tensors;
    m->ops = b + sec_off[1];
    m->io = b + sec_off[2];
    m->constants = c->constants;
    m->constants_size = c->constants_size;
    m->metadata = b + sec_off[4];
    m->metadata_size = sec_size[4];
    return MQ_OK;
}

mq_status mq_model_load(const void *blob, size_t size, uint32_t flags, mq_model *model)
{
    mq_lctx c;
    mq_status st;
    if (model == NULL) {
        return MQ_ERR_NULL;
    }
    memset(model, 0, sizeof *model);
    if (blob == NULL) {
        return MQ_ERR_NULL;
    }
    /* int32 constants (bias, multipliers, exp tables) are read in place: 4-byte alignment needed. */
    if (((uintptr_t)blob & 3u) != 0u) {
        return MQ_ERR_ALIGN;
    }
    st = mq_load(&c, (const uint8_t *)blob, size, flags, model);
    if (st != MQ_OK) {
        model->error_offset = c.fail_at; /* mq_load fills *model only on success */
    }
    return st;
}
