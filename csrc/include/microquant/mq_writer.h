/*
 * MicroQuant: host-side writer of packed models (docs/FORMAT.md). Host only (csrc/host/), never
 * linked into firmware. The Swift packer (Sources/MQPacking) and the C fixture generator call it.
 *
 * The caller describes the model with plain structs and arrays (no callbacks, no varargs):
 *   - tensors: dtype, shape, quantization, and where the bytes live (an arena offset planned by
 *     the host, or constant data copied into the blob);
 *   - ops: type, tensor ids, and the prepared constants (mq_host.h): N4K16 weights, folded bias,
 *     multipliers/shifts, LUTs, softmax constants, add parameters, transpose permutations;
 *   - model inputs/outputs, arena size and its lower bound, metadata strings.
 *
 *   size_t size = 0;
 *   mq_writer_write(&m, NULL, 0, &size, &diag);            // size query
 *   uint8_t *blob = malloc(size);                           // (the caller allocates, the writer never does)
 *   mq_status st = mq_writer_write(&m, blob, size, &size, &diag);
 *   if (st != MQ_OK) fprintf(stderr, "%s: %s\n", mq_status_str(st), diag.message);
 *
 * The output is deterministic: the same description gives the same bytes (constants are laid out
 * in op order, every padding byte is zero). Before returning MQ_OK the writer loads the blob with
 * mq_model_load (CRC checked), so a blob the writer accepts is a blob the device accepts.
 */
#ifndef MICROQUANT_MQ_WRITER_H
#define MICROQUANT_MQ_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "mq_kernels.h"
#include "mq_kernels_s16.h"
#include "mq_model.h"
#include "mq_quant.h"
#include "mq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One tensor. Unused dims (index >= rank) are ignored. Byte size = product(dims) * element size. */
typedef struct {
    mq_dtype dtype;               /* MQ_DTYPE_INT8, MQ_DTYPE_UINT8, MQ_DTYPE_INT32 or MQ_DTYPE_INT16 (zero point 0) */
    int32_t rank;                 /* 1..4 */
    int32_t dims[4];              /* each >= 1; row-major, channels last (NHWC / [batch, features]) */
    int32_t zero_point;           /* in the dtype's code range (0 for INT32) */
    float scale;                  /* per-tensor scale (informational on the device; host I/O uses it) */
    mq_storage storage;           /* MQ_STORAGE_ARENA or MQ_STORAGE_CONST */
    uint32_t arena_offset;        /* ARENA: byte offset in the arena, multiple of 16 */
    const void *data;             /* CONST: the tensor's bytes (byte size as above); ignored for ARENA */
    const float *channel_scales;  /* optional per-channel scales (informational), or NULL */
    int32_t num_channel_scales;   /* == dims[channel_axis] when channel_scales != NULL, else 0 */
    int32_t channel_axis;         /* axis the per-channel scales run along (0..rank-1) */
} mq_writer_tensor;

/*
 * One op. Fill the fields its type uses; the others are ignored (zero them). The mq_writer_op_*()
 * constructors below fill one op of each type. Shapes, dtypes and zero points always come from the
 * tensors: the geometry fields of the kernel parameter structs (batch, in_h, in_w, out_h, out_w, in_c,
 * channels, in/out dtypes and zero points where a tensor has them) are taken from the op's tensors and
 * the values given here are ignored; the loader checks the rest against them.
 *
 * FULLY_CONNECTED: inputs[0] = x [.., k] (8-bit), outputs[0] = y [.., n] with the same leading dims.
 *   fc: every field as for mq_fully_connected. fc.n / fc.k must match the tensors, fc.in_dtype the
 *   input's dtype. fc.out_dtype / fc.out_zero_point describe the requantized codes: they must equal
 *   the output tensor's when fc.lut == NULL; with a fused LUT they are the LUT's input qparams and
 *   the output tensor holds the LUT's output codes. fc.weights: mq_packed_weights_size_n4k16(n, k)
 *   bytes; fc.bias: n int32; fc.multiplier / fc.shift: n entries if fc.per_channel else 1.
 * CONV_1X1: inputs[0] = x [b, h, w, k], outputs[0] = y [b, oh, ow, n] (NHWC).
 *   conv: stride_h/stride_w (1 or 2), pads, and conv.gemm as fc above; conv.batch / in_h / in_w are
 *   taken from the input tensor (ignored here). scratch_offset: arena offset (multiple of 16) of
 *   mq_conv1x1_scratch_size() bytes, used only while the op runs; ignored when that size is 0.
 * CONV (KxK, group 1): inputs[0] = x [b, h, w, c], outputs[0] = y [b, oh, ow, n].
 *   conv2d.win: kernel_h/w, stride_h/w, dilation_h/w (>= 1), pad_top/bottom/left/right;
 *   conv2d.gemm as fc above with n = output channels, k = kernel_h * kernel_w * c (OHWI weights, N4K16
 *   packed, bias folded over all k). scratch_offset: arena offset of mq_conv_scratch_size() bytes
 *   (mq_writer_op_scratch_size() gives it), ignored when that size is 0.
 * DEPTHWISE_CONV: inputs[0] = x [b, h, w, c], outputs[0] = y [b, oh, ow, c * depth_multiplier].
 *   depthwise: win as for CONV, depth_multiplier, weights (mq_depthwise_weights_size() bytes as the
 *   host prepare writes them), bias (out_c int32), multiplier / shift (out_c if per_channel else 1),
 *   per_channel, out_dtype / out_zero_point (requantized codes, as fc), act_min / act_max, lut (or NULL).
 *   scratch_offset as for CONV (mq_depthwise_scratch_size()).
 * AVERAGE_POOL, MAX_POOL: inputs[0] = x [b, h, w, c] -> outputs[0] = y [b, oh, ow, c], same dtype,
 *   zero point and scale. pool.win: kernel, stride, dilation (must be 1), pads; pool.act_min/act_max.
 * MEAN: inputs[0] = x [b, h, w, c] -> outputs[0] = y [b, c] or [b, 1, 1, c]; mean.multiplier / shift
 *   (prepared on the host, docs/QUANTIZATION.md), mean.act_min / act_max.
 * PAD: inputs[0] -> outputs[0], same dtype, zero point, scale and rank; pad.before[i] / pad.after[i]
 *   for i < rank (0 beyond); out dims[i] = in dims[i] + before[i] + after[i]; padded bytes = the zero point.
 * CONCAT: inputs[0..num_inputs) (1..MQ_CONCAT_MAX_INPUTS) -> outputs[0], all the same dtype, zero point,
 *   scale and rank, dims equal except along axis (negative counts from the end), which adds up.
 *   Inputs with other qparams go through a REQUANTIZE op first.
 * MUL: inputs[0] = x1 (the output's shape), inputs[1] = x2 -> outputs[0]; mul.out_multiplier / out_shift,
 *   act_min / act_max, broadcast: MQ_BCAST_NONE (x2 the output's shape), MQ_BCAST_CHANNEL (x2 has as many
 *   elements as the output's last dim), MQ_BCAST_SCALAR (x2 one element).
 * REQUANTIZE: inputs[0] -> outputs[0], same shape, 8-bit; requantize.multiplier / shift. In place allowed.
 * LUT: inputs[0] -> outputs[0], same shape, 8-bit; lut = 256-entry table; in place allowed
 *   (output at the same arena offset as the input).
 * ADD: inputs[0], inputs[1] -> outputs[0], all the same shape; add = mq_add_prepare() result, whose
 *   dtypes and zero points must match the three tensors; act_min / act_max are its fused clamp (ReLU).
 *   In place allowed (output at an input's offset).
 * RESHAPE: inputs[0] -> outputs[0], same dtype, zero point, scale and byte size. A view: give the
 *   output the input's arena offset and nothing is copied (otherwise the runtime memmoves).
 * SOFTMAX: inputs[0] -> outputs[0], same shape, 8-bit; axis (negative counts from the end);
 *   softmax.input_multiplier / input_left_shift / diff_min = mq_softmax_prepare(input scale, beta) (the other
 *   softmax fields are taken from the tensors); the output zero point must be the fixed softmax one
 *   (0 for UINT8, -128 for INT8; scale 1/256).
 * SOFTMAX_TABLE: inputs[0] -> outputs[0], same shape, 8-bit, any output qparams; axis; softmax_table.exp_table
 *   (256 entries), multiplier, shift = mq_softmax_table_prepare(input scale, output scale) (the rest from the
 *   tensors). In place allowed.
 * TRANSPOSE: inputs[0] -> outputs[0], 8-bit, same dtype; output dims[i] = input dims[perm[i]].
 *
 * 16x8 ops (format 2.1; INT16 tensors, zero point 0; a blob that has any is written as version 2.1 with
 * min_runtime 2.1, every other blob stays 2.0 byte for byte):
 * FULLY_CONNECTED_S16: x [.., k] -> y [.., n], both INT16; fc_s16 (n, k, weights [n][k], bias n int64 or NULL,
 *   multiplier / shift n or 1 entries, per_channel, act_min / act_max; exact_scale must be NULL).
 * CONV_S16: x [b, h, w, c] -> y [b, oh, ow, n]; conv_s16.win (kernel, stride, dilation, pads; sizes from the
 *   tensors), conv_s16.gemm as fc_s16 with k = kernel_h * kernel_w * c (OHWI weights).
 * DEPTHWISE_CONV_S16: depthwise_s16 (win, depth_multiplier, weights [kh][kw][out_c], bias out_c int64 or NULL,
 *   multiplier / shift, per_channel, clamp).
 * ADD_S16, MUL_S16: add_s16 (mq_add_s16_prepare) / mul_s16 (broadcast as MUL); two inputs.
 * AVERAGE_POOL_S16, MAX_POOL_S16: pool_s16 (win, act_min / act_max), same scale in and out.
 * LUT16: lut16 = 513 int16 entries (mq_lut16_build). In place allowed.
 * QUANTIZE_S16 (8-bit -> INT16), REQUANTIZE_S16_TO_8 (INT16 -> 8-bit), RESCALE_S16 (INT16 -> INT16):
 *   s16_multiplier / s16_shift = Q(in scale / out scale); zero points from the tensors.
 * SOFTMAX_S16: along the last axis; softmax_s16.input_multiplier / input_shift / exp_lut / recip_lut
 *   (mq_softmax_s16_prepare); the output scale 1/32768.
 *
 * Pixel-streamed chain (format 2.1, docs/FORMAT.md "Pixel-streamed chain"):
 * STREAM_FC (19) / STREAM_FC_S16 (44): inputs[0] = source [1, h, w, c] (stream.layout 0, NHWC) or [1, c, h, w]
 *   (layout 1, NCHW), inputs[1] = the gathered pixel (c elements, the source's dtype and qparams), inputs[2] = the
 *   head's input pixel (8-bit / INT16), outputs[0] = y [.., n]. The next stream.members ops (each flagged
 *   MQ_WRITER_OP_STREAMED, on one-pixel tensors) run once per pixel of the stream.out_h x out_w grid (source pixel
 *   (y * stride_h, x * stride_w)); the head accumulates over the pixels: fc (19, k = out_h * out_w * head pixel
 *   channels, as the FULLY_CONNECTED on the NHWC-flattened chain output; fc.in_dtype = inputs[2]'s dtype) or fc_s16
 *   (44). scratch_offset: the accumulators (mq_writer_op_scratch_size: n x 4 / n x 8 bytes).
 */
#define MQ_WRITER_MAX_OP_INPUTS 8     /* == MQ_CONCAT_MAX_INPUTS */
#define MQ_WRITER_OP_IN_PLACE 1u      /* mq_writer_op.flags bit 0 (the format's MQ_OP_FLAG_IN_PLACE) */
#define MQ_WRITER_OP_STREAMED 8u      /* flags bit 3: a member of the STREAM_FC / STREAM_FC_S16 op before it */
#define MQ_WRITER_OP_ROW_MEMBER 16u   /* flags bit 4: a member of the ROW_STREAM op before it */
/*
 * Row-streamed segment (format 2.1, docs/FORMAT.md "Row-streamed segment"):
 * ROW_STREAM (20): inputs[0] = segment input S, outputs[0] = segment output Y (the last member's output), both 8-bit
 *   NHWC batch 1 in the arena. The next rows.members ops (1..8, each flagged MQ_WRITER_OP_ROW_MEMBER: CONV, CONV_1X1
 *   without top / bottom padding, DEPTHWISE_CONV, ADD, LUT; 8-bit) run row by row. Member j < members - 1 keeps
 *   its output as a ring of rows.ring_rows[j] rows at arena offset rows.ring_offset[j] (16-aligned), of
 *   mq_writer_rows_ring_size() bytes; its output tensor record is never read or written by the runtime (its arena
 *   offset only needs to hold the tensor inside the arena). Y may overlap S when the row schedule allows it.
 */
typedef struct {
    int32_t members;              /* 1..8 */
    uint32_t ring_offset[8];      /* members 0..members-2 */
    int32_t ring_rows[8];
    /* arena scratch for one ADD member's two 256-entry int32 input term tables, tabulated once per call, live over
     * the segment: terms_size 0 (no tables: such an ADD runs its rows untabulated) or mq_writer_rows_terms_size()
     * (the segment has an ADD member), at terms_offset (16-aligned), apart from S, Y, the rings and the scratch */
    uint32_t terms_offset;
    uint32_t terms_size;
} mq_writer_rows;
/* Bytes of the ADD term tables of a segment (2048). */
size_t mq_writer_rows_terms_size(void);
/* Bytes of a ring of `rows` rows of `row_bytes` bytes: (2 rows - 1) x row_bytes (the double write). */
size_t mq_writer_rows_ring_size(size_t row_bytes, int32_t rows);
typedef struct {
    int32_t members;              /* op records after this one run per pixel, 0..16 */
    int32_t out_h, out_w;         /* pixel grid */
    int32_t stride_h, stride_w;   /* >= 1 */
    int32_t layout;               /* 0: source NHWC, 1: source NCHW */
} mq_writer_stream;
typedef struct {
    mq_op_type type;
    int32_t num_inputs;           /* 1; 2 (ADD, MUL); 1..8 (CONCAT) */
    int32_t inputs[MQ_WRITER_MAX_OP_INPUTS]; /* tensor indices */
    int32_t num_outputs;          /* 1 */
    int32_t outputs[2];           /* tensor indices */
    mq_fc_params fc;              /* FULLY_CONNECTED */
    mq_conv1x1_params conv;       /* CONV_1X1 */
    uint32_t scratch_offset;      /* CONV_1X1 with padding or in place, CONV, DEPTHWISE_CONV */
    uint32_t flags;               /* op record flags: MQ_WRITER_OP_IN_PLACE = the output starts at input 0's
                                   * offset (CONV_1X1, DEPTHWISE_CONV: their in-place kernels and scratch sizes,
                                   * mq_writer_op_scratch_size; elementwise ops, RESHAPE: exactly on input 0).
                                   * Any flag makes the blob format 2.1. */
    const uint8_t *lut;           /* LUT: 256 bytes */
    mq_add_params add;            /* ADD */
    int32_t axis;                 /* SOFTMAX, CONCAT */
    mq_softmax_params softmax;    /* SOFTMAX: input_multiplier, input_left_shift, diff_min */
    mq_softmax_table_params softmax_table; /* SOFTMAX_TABLE: exp_table, multiplier, shift */
    int32_t perm[4];              /* TRANSPOSE: a permutation of 0..rank-1 */
    mq_conv_params conv2d;        /* CONV */
    mq_depthwise_params depthwise; /* DEPTHWISE_CONV */
    mq_pool_params pool;          /* AVERAGE_POOL, MAX_POOL */
    mq_mean_params mean;          /* MEAN */
    mq_pad_params pad;            /* PAD */
    mq_mul_params mul;            /* MUL */
    mq_requantize_params requantize; /* REQUANTIZE */
    /* 16x8 ops (format 2.1) */
    mq_fc_s16_params fc_s16;      /* FULLY_CONNECTED_S16 */
    mq_conv_s16_params conv_s16;  /* CONV_S16 */
    mq_depthwise_s16_params depthwise_s16; /* DEPTHWISE_CONV_S16 */
    mq_add_s16_params add_s16;    /* ADD_S16 */
    mq_mul_s16_params mul_s16;    /* MUL_S16 */
    mq_pool_s16_params pool_s16;  /* AVERAGE_POOL_S16, MAX_POOL_S16 */
    const int16_t *lut16;         /* LUT16: 513 entries */
    mq_softmax_s16_params softmax_s16; /* SOFTMAX_S16 */
    int32_t s16_multiplier, s16_shift; /* QUANTIZE_S16, REQUANTIZE_S16_TO_8, RESCALE_S16 */
    mq_writer_stream stream;      /* STREAM_FC (head: fc), STREAM_FC_S16 (head: fc_s16) */
    mq_writer_rows rows;          /* ROW_STREAM */
} mq_writer_op;

/* Constructors: one op of each type, every other field zero (x, y, x1, x2: tensor indices). */
mq_writer_op mq_writer_op_fully_connected(int32_t x, int32_t y, const mq_fc_params *fc);
mq_writer_op mq_writer_op_conv1x1(int32_t x, int32_t y, const mq_conv1x1_params *conv, uint32_t scratch_offset);
mq_writer_op mq_writer_op_conv(int32_t x, int32_t y, const mq_conv_params *conv, uint32_t scratch_offset);
mq_writer_op mq_writer_op_depthwise_conv(int32_t x, int32_t y, const mq_depthwise_params *dw,
                                         uint32_t scratch_offset);
/* type: MQ_OP_AVERAGE_POOL or MQ_OP_MAX_POOL */
mq_writer_op mq_writer_op_pool(mq_op_type type, int32_t x, int32_t y, const mq_pool_params *pool);
mq_writer_op mq_writer_op_mean(int32_t x, int32_t y, const mq_mean_params *mean);
mq_writer_op mq_writer_op_pad(int32_t x, int32_t y, const int32_t before[4], const int32_t after[4]);
/* num_inputs in 1..MQ_CONCAT_MAX_INPUTS (more are cut to the maximum, and the writer then rejects the op) */
mq_writer_op mq_writer_op_concat(const int32_t *xs, int32_t num_inputs, int32_t y, int32_t axis);
mq_writer_op mq_writer_op_mul(int32_t x1, int32_t x2, int32_t y, const mq_mul_params *mul);
mq_writer_op mq_writer_op_requantize(int32_t x, int32_t y, const mq_requantize_params *rq);
mq_writer_op mq_writer_op_add(int32_t x1, int32_t x2, int32_t y, const mq_add_params *add);
mq_writer_op mq_writer_op_lut(int32_t x, int32_t y, const uint8_t *table);
mq_writer_op mq_writer_op_reshape(int32_t x, int32_t y);
/* softmax: mq_softmax_prepare() result (input_multiplier, input_left_shift, diff_min; the rest from the tensors) */
mq_writer_op mq_writer_op_softmax(int32_t x, int32_t y, int32_t axis, const mq_softmax_params *softmax);
/* softmax_table: mq_softmax_table_prepare() result (exp table, multiplier, shift; the rest from the tensors) */
mq_writer_op mq_writer_op_softmax_table(int32_t x, int32_t y, int32_t axis, const int32_t exp_table[256],
                                        int32_t multiplier, int32_t shift);
mq_writer_op mq_writer_op_transpose(int32_t x, int32_t y, const int32_t perm[4]);

/* Metadata: UTF-8 strings, NUL-terminated, each at most 65535 bytes; NULL means "". */
typedef struct {
    const char *producer;             /* e.g. "microquant 0.1.0" */
    const char *source_name;          /* e.g. "yolov8n-head.onnx" */
    const char *hash_algorithm;       /* e.g. "sha256" */
    const uint8_t *source_hash;       /* raw digest bytes of the source file, or NULL */
    uint32_t source_hash_size;        /* 32 for SHA-256 */
    const char *calibration_method;   /* e.g. "minmax", "percentile:99.99" */
    const char *const *input_names;   /* num_inputs strings, or NULL (all "") */
    const char *const *output_names;  /* num_outputs strings, or NULL (all "") */
} mq_writer_metadata;

/* A whole model. Ops run in array order. */
typedef struct {
    const mq_writer_tensor *tensors;
    int32_t num_tensors;              /* 1..65535 */
    const mq_writer_op *ops;
    int32_t num_ops;                  /* 1..65535 */
    const int32_t *inputs;            /* model input tensor indices (arena tensors) */
    int32_t num_inputs;               /* >= 1 */
    const int32_t *outputs;           /* model output tensor indices */
    int32_t num_outputs;              /* >= 1 */
    uint32_t arena_size;              /* bytes the arena needs (every arena tensor and scratch inside) */
    uint32_t arena_lower_bound;       /* largest sum of simultaneously live tensors (informational) */
    uint32_t flags;                   /* header flags: MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | _CONV, or 0 */
    mq_writer_metadata metadata;
} mq_writer_model;

/* Where the writer found a problem: indices are -1 when not applicable. */
typedef struct {
    int32_t tensor;                   /* tensor index, or -1 */
    int32_t op;                       /* op index, or -1 */
    char message[128];                /* NUL-terminated English description */
} mq_writer_diag;

/*
 * Serialize m. out == NULL: size query, *size = bytes needed, MQ_OK (only the writer's own checks
 * of the description run). Otherwise writes *size bytes into out (capacity bytes available, 4-byte
 * aligned, 16 recommended; MQ_ERR_BUFFER with *size = bytes needed when too small), then validates
 * the result with mq_model_load: any status but MQ_OK means the blob must not be used. diag may be
 * NULL; on failure it says what and where (tensor / op index when the problem is in one).
 */
mq_status mq_writer_write(const mq_writer_model *m, void *out, size_t capacity, size_t *size,
                          mq_writer_diag *diag);

/*
 * Arena scratch bytes op needs while it runs (the planner reserves them at op->scratch_offset): the
 * kernel's own *_scratch_size() on the op's parameters completed from its tensors. 0 for ops without
 * scratch, and when the description is invalid (indices out of range, non-NHWC tensors).
 */
size_t mq_writer_op_scratch_size(const mq_writer_op *op, const mq_writer_tensor *tensors, int32_t num_tensors);

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320, init and final xor 0xFFFFFFFF). */
uint32_t mq_crc32(const void *data, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_WRITER_H */
