/*
 * MicroQuant runtime: load a packed model in place (from flash) and run it with a static arena.
 *
 *   #include "microquant/mq_model.h"
 *   extern const uint8_t model_blob[];  extern const uint32_t model_blob_size;
 *   static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
 *
 *   mq_model model;
 *   mq_status st = mq_model_load(model_blob, model_blob_size, MQ_LOAD_CHECK_CRC, &model);
 *   if (st != MQ_OK) { puts(mq_status_str(st)); return 1; }
 *   const void *inputs[1] = { my_input_codes };      // one buffer per model input, codes of its dtype
 *   void *outputs[1] = { my_output_codes };           // one buffer per model output
 *   st = mq_model_run(&model, arena, sizeof arena, inputs, outputs);
 *
 * The loader validates the whole blob once (docs/FORMAT.md); after MQ_OK every later
 * access is in bounds. No malloc, no float: the model stays where it is (flash), and
 * every intermediate tensor lives at an offset planned on the host inside the arena.
 */
#ifndef MICROQUANT_MQ_MODEL_H
#define MICROQUANT_MQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mq_quant.h"
#include "mq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime reads packed format 2.x (docs/FORMAT.md, "Versioning"); a blob of another major version is
 * rejected with MQ_ERR_FORMAT_VERSION and mq_model.format_version_major/minor say which version it was. */
#define MQ_RUNTIME_VERSION_MAJOR 2
#define MQ_RUNTIME_VERSION_MINOR 1  /* 2.1: op flags (byte 3), INT16 tensors and the 16x8 op types 32..43 */

/* mq_model_load flags */
#define MQ_LOAD_CHECK_CRC 1u   /* verify the header and body CRC-32s (recommended; costs one pass) */

/* Op types. Values are part of the packed format (docs/FORMAT.md); anything else is
 * rejected at load time with MQ_ERR_UNSUPPORTED_OP. */
typedef enum {
    MQ_OP_FULLY_CONNECTED = 1,  /* [.., k] -> [.., n], N4K16 weights, fused clamp + optional LUT */
    MQ_OP_CONV_1X1 = 2,         /* NHWC [b, h, w, k] -> [b, oh, ow, n], stride 1|2, zero padding */
    MQ_OP_LUT = 3,              /* elementwise 256-entry table (activation); in place allowed */
    MQ_OP_ADD = 4,              /* requantized elementwise add (residual) */
    MQ_OP_RESHAPE = 5,          /* view: same bytes, new shape (no copy when planned in place) */
    MQ_OP_SOFTMAX = 6,          /* 8-bit softmax along one axis, TFLite-exact integer arithmetic */
    MQ_OP_TRANSPOSE = 7,        /* byte tensor permutation of axes */
    MQ_OP_CONV = 8,             /* NHWC KxK convolution, group 1, stride, dilation, asymmetric padding (im2col + GEMM) */
    MQ_OP_DEPTHWISE_CONV = 9,   /* NHWC depthwise KxK convolution, channel multiplier >= 1 */
    MQ_OP_AVERAGE_POOL = 10,    /* NHWC average pool (valid taps only, TFLite rounding) */
    MQ_OP_MAX_POOL = 11,        /* NHWC max pool */
    MQ_OP_MEAN = 12,            /* mean over H and W (global average pooling), requantized */
    MQ_OP_PAD = 13,             /* constant pad with the zero point code */
    MQ_OP_CONCAT = 14,          /* concatenation of up to MQ_CONCAT_MAX_INPUTS tensors along one axis */
    MQ_OP_MUL = 15,             /* requantized elementwise multiply, second operand broadcast (channel / scalar) */
    MQ_OP_REQUANTIZE = 16,      /* elementwise requantization between 8-bit qparams */
    MQ_OP_SOFTMAX_TABLE = 17,   /* 8-bit softmax into any output qparams, one rounding (onnxruntime QDQ) */
    MQ_OP_STREAM_FC = 19,       /* pixel-streamed chain: gather one pixel, run the next ops (flag bit 3) on it,
                                   accumulate an 8-bit FULLY_CONNECTED head over the pixels (format 2.1) */
    MQ_OP_ROW_STREAM = 20,      /* row-streamed segment: the next ops (flag bit 4: KxK / 1x1 / depthwise convolutions,
                                   ADD, LUT) run row by row, intermediate tensors kept as rings of rows (format 2.1) */
    /* 16x8 ops (format 2.1): int16 activations (MQ_DTYPE_INT16, zero point 0), int8 weights (mq_kernels_s16.h) */
    MQ_OP_FULLY_CONNECTED_S16 = 32, /* [.., k] -> [.., n], int8 weights [n][k], int64 bias */
    MQ_OP_CONV_S16 = 33,        /* NHWC KxK (and 1x1) convolution, group 1, OHWI int8 weights, int64 bias */
    MQ_OP_DEPTHWISE_CONV_S16 = 34, /* NHWC depthwise, weights [kh][kw][out_c], int64 bias */
    MQ_OP_ADD_S16 = 35,         /* TFLite ADD int16 (general scales) */
    MQ_OP_MUL_S16 = 36,         /* TFLite MUL int16, second operand broadcast */
    MQ_OP_AVERAGE_POOL_S16 = 37,
    MQ_OP_MAX_POOL_S16 = 38,
    MQ_OP_LUT16 = 39,           /* 513-entry int16 table with linear interpolation (activations) */
    MQ_OP_QUANTIZE_S16 = 40,    /* 8-bit -> int16 conversion (requantize) */
    MQ_OP_REQUANTIZE_S16_TO_8 = 41, /* int16 -> 8-bit conversion (requantize) */
    MQ_OP_SOFTMAX_S16 = 42,     /* TFLite SOFTMAX int16 along the last axis */
    MQ_OP_RESCALE_S16 = 43,     /* int16 -> int16 requantization */
    MQ_OP_STREAM_FC_S16 = 44    /* pixel-streamed chain with a 16x8 FULLY_CONNECTED head (int64 partial sums) */
} mq_op_type;

/* Largest op type value + 1 (the loader's tables are indexed by op type). */
#define MQ_OP_TYPE_COUNT 45

/* Where a tensor's bytes live. Values are part of the packed format. */
typedef enum {
    MQ_STORAGE_ARENA = 0,       /* in the caller's arena, at a host-planned offset */
    MQ_STORAGE_CONST = 1        /* in the blob's constant section (read in place, e.g. from flash) */
} mq_storage;

/* A loaded model: a validated view of the blob. Plain data, no pointers into RAM. */
/* Header flags of a packed model (docs/FORMAT.md). */
#define MQ_MODEL_FLAG_SINGLE_ROUNDING_FC 1u  /* FULLY_CONNECTED requantizes with single rounding (TFLite's own,
                                                mq_requantize_single); unset: double rounding (TFLite Micro) */
#define MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV 2u /* CONV, CONV_1X1 and DEPTHWISE_CONV requantize with single rounding
                                                (onnxruntime's QLinearConv; the fast and in-place kernels with
                                                single_rounding = 1, equal to the portable *_single_rounding) */
#define MQ_MODEL_FLAG_ORT_FLOAT32 4u /* with both flags above: FULLY_CONNECTED, CONV, CONV_1X1 and DEPTHWISE_CONV
                                        requantize as onnxruntime's float32 MlasRequantizeOutput, emulated with
                                        integers (mq_output_f32_emul, docs/QUANTIZATION.md section 3); the portable
                                        kernels on every core; no in-place or streamed ops; float32 multipliers */

typedef struct {
    const uint8_t *blob;
    uint32_t size;
    uint32_t arena_size;          /* bytes of arena mq_model_run needs */
    uint32_t arena_lower_bound;   /* largest sum of simultaneously live tensors (informational) */
    uint32_t flags;               /* header flags (MQ_MODEL_FLAG_*) */
    uint16_t num_tensors, num_ops, num_inputs, num_outputs;
    const uint8_t *tensors;       /* tensor table (validated) */
    const uint8_t *ops;           /* op table (validated) */
    const uint8_t *io;            /* input/output tensor id lists (validated) */
    const uint8_t *constants;     /* constant section (16-byte aligned within the blob) */
    uint32_t constants_size;
    const uint8_t *metadata;      /* metadata section (length-prefixed strings, validated) */
    uint32_t metadata_size;
    uint32_t error_offset;        /* after a failed load: byte offset in the blob of the record that
                                     failed validation (tensor, op, section entry, io id, metadata
                                     string; 0 for the header). Every other field is then zero except
                                     the four version fields below. */
    uint16_t format_version_major; /* the blob's format version (header bytes 4..7), set whenever the blob */
    uint16_t format_version_minor; /* has at least 64 bytes and the magic (also on failure, e.g. on
                                      MQ_ERR_FORMAT_VERSION: "format 1.0 found, this runtime reads 2.x") */
    uint16_t min_runtime_major;   /* the oldest runtime the blob asks for (header bytes 24..27), same rule */
    uint16_t min_runtime_minor;
} mq_model;

/* Description of a model input or output tensor. */
typedef struct {
    mq_dtype dtype;
    int32_t rank;
    int32_t dims[4];
    uint32_t size_bytes;
    int32_t zero_point;
    uint32_t scale_bits;          /* IEEE-754 float32 bits of the scale (the device never needs it) */
    int32_t tensor_id;            /* index in the model's tensor table */
    const char *name;             /* UTF-8 name from the metadata, NOT NUL-terminated; name_len bytes */
    uint32_t name_len;
} mq_tensor_info;

/*
 * Validate blob (size bytes, 4-byte aligned, 16 recommended) and fill *model. The blob must stay
 * readable and unchanged while the model is used (it is read in place). flags: MQ_LOAD_CHECK_CRC or 0.
 * Returns MQ_OK, or the first problem found (model->error_offset says where).
 */
mq_status mq_model_load(const void *blob, size_t size, uint32_t flags, mq_model *model);

/* Number of model inputs / outputs (0 for a NULL or unloaded model). */
int32_t mq_model_num_inputs(const mq_model *model);
int32_t mq_model_num_outputs(const mq_model *model);
/* Describe model input / output number index (0-based). MQ_ERR_INDEX when out of range. */
mq_status mq_model_input_info(const mq_model *model, int32_t index, mq_tensor_info *info);
mq_status mq_model_output_info(const mq_model *model, int32_t index, mq_tensor_info *info);

/* Metadata strings (UTF-8, not NUL-terminated). Returns NULL (and *len 0) when field is out of range. */
typedef enum {
    MQ_META_PRODUCER = 0,           /* producer name and version, e.g. "microquant 0.1.0" */
    MQ_META_SOURCE_NAME = 1,        /* source model name (file name of the ONNX model) */
    MQ_META_HASH_ALGORITHM = 2,     /* e.g. "sha256" */
    MQ_META_SOURCE_HASH = 3,        /* raw digest bytes of the source model file */
    MQ_META_CALIBRATION = 4         /* calibration method, e.g. "minmax", "percentile:99.99" */
} mq_meta_field;
const char *mq_model_metadata(const mq_model *model, mq_meta_field field, uint32_t *len);

/*
 * Run every op in order. inputs[i] / outputs[i]: one buffer per model input / output, sized
 * as mq_model_*_info().size_bytes (codes of the tensor's dtype). The arena must be at least
 * model->arena_size bytes and 16-byte aligned (MQ_ERR_ARENA otherwise); its contents are scratch,
 * free for other use between runs. No allocation, no float. Returns MQ_OK, MQ_ERR_NULL for a
 * NULL buffer, or the status of the first kernel that fails.
 */
mq_status mq_model_run(const mq_model *model, void *arena, size_t arena_size,
                       const void *const *inputs, void *const *outputs);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_MODEL_H */
