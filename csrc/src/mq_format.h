/*
 * MicroQuant internal: packed model layout (docs/FORMAT.md is the specification; keep in sync).
 *
 * Every multi-byte field is little-endian and read through mq_rd16 / mq_rd32 (byte-wise, no
 * unaligned casts), so the loader works on any alignment and endianness of the host.
 */
#ifndef MICROQUANT_MQ_FORMAT_H
#define MICROQUANT_MQ_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels.h"
#include "microquant/mq_kernels_s16.h"
#include "microquant/mq_model.h"
#include "microquant/mq_status.h"

/* Fields are read byte-wise, but int32 constants (bias, multipliers, shifts, exp tables) are read in
 * place as int32_t by the kernels: the runtime needs a little-endian CPU (Cortex-M, x86, arm64). */
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "MicroQuant packed models are little-endian and read in place: big-endian targets are not supported"
#endif

/* Header (MQ_HEADER_SIZE bytes at offset 0) */
#define MQ_MAGIC0 0x4Du /* 'M' */
#define MQ_MAGIC1 0x51u /* 'Q' */
#define MQ_MAGIC2 0x4Du /* 'M' */
#define MQ_MAGIC3 0x46u /* 'F' */
#define MQ_FORMAT_VERSION_MAJOR 2u
#define MQ_FORMAT_VERSION_MINOR 1u /* 2.1: op flags (byte 3); a blob that uses none is written as 2.0 */
#define MQ_HEADER_SIZE 64u
#define MQ_H_MAGIC 0u
#define MQ_H_VERSION_MAJOR 4u
#define MQ_H_VERSION_MINOR 6u
#define MQ_H_HEADER_SIZE 8u
#define MQ_H_TOTAL_SIZE 12u
#define MQ_H_CRC32 16u
#define MQ_H_FLAGS 20u
#define MQ_H_FLAGS_KNOWN 7u     /* bit 0: MQ_MODEL_FLAG_SINGLE_ROUNDING_FC, bit 1: _SINGLE_ROUNDING_CONV, bit 2: _ORT_FLOAT32 (mq_model.h) */
#define MQ_H_MIN_RUNTIME_MAJOR 24u
#define MQ_H_MIN_RUNTIME_MINOR 26u
#define MQ_H_ARENA_SIZE 28u
#define MQ_H_ARENA_LOWER_BOUND 32u
#define MQ_H_NUM_TENSORS 36u
#define MQ_H_NUM_OPS 38u
#define MQ_H_NUM_INPUTS 40u
#define MQ_H_NUM_OUTPUTS 42u
#define MQ_H_NUM_SECTIONS 44u
#define MQ_H_RESERVED 46u        /* u16, then 12 more reserved bytes at 48..59 */
#define MQ_H_RESERVED2 48u
#define MQ_H_HEADER_CRC32 60u    /* CRC-32 of bytes [0, 60) */

/* Section table: num_sections entries of 16 bytes at offset header_size */
#define MQ_SECTION_ENTRY_SIZE 16u
#define MQ_SECTION_TENSORS 1u
#define MQ_SECTION_OPS 2u
#define MQ_SECTION_IO 3u
#define MQ_SECTION_CONSTANTS 4u
#define MQ_SECTION_METADATA 5u
#define MQ_NUM_REQUIRED_SECTIONS 5u
#define MQ_MAX_SECTIONS 16u

/* Alignment of sections, constants and arena offsets */
#define MQ_ALIGN 16u

/* Tensor record */
#define MQ_TENSOR_RECORD_SIZE 48u
#define MQ_T_DTYPE 0u
#define MQ_T_RANK 1u
#define MQ_T_STORAGE 2u
#define MQ_T_RESERVED0 3u
#define MQ_T_DIMS 4u
#define MQ_T_ZERO_POINT 20u
#define MQ_T_SCALE 24u
#define MQ_T_OFFSET 28u
#define MQ_T_SIZE 32u
#define MQ_T_CH_OFFSET 36u
#define MQ_T_CH_COUNT 40u
#define MQ_T_CH_AXIS 44u
#define MQ_T_RESERVED1 45u /* 3 bytes */

/* Op record (format 2: 160 bytes, 32 parameter words, up to 8 inputs) */
#define MQ_OP_RECORD_SIZE 160u
#define MQ_OP_MAX_INPUTS 8u     /* == MQ_CONCAT_MAX_INPUTS */
#define MQ_OP_MAX_OUTPUTS 2u
#define MQ_OP_NUM_PARAMS 32u
#define MQ_O_TYPE 0u
#define MQ_O_NUM_INPUTS 1u
#define MQ_O_NUM_OUTPUTS 2u
#define MQ_O_FLAGS 3u            /* format 2.1; reserved (0) in 2.0 */
#define MQ_OP_FLAG_IN_PLACE 1u   /* bit 0: the output starts at input 0's arena offset, as planned (in place) */
#define MQ_OP_FLAG_STREAMED 8u   /* bit 3: a member of the pixel-streamed chain of the STREAM_FC / STREAM_FC_S16 op
                                  * before it: run once per pixel by that op, skipped by the op loop */
#define MQ_OP_FLAG_ROW_MEMBER 16u /* bit 4: a member of the row-streamed segment (ROW_STREAM, op 20) before it: run
                                   * row by row by that op, skipped by the op loop */
#define MQ_OP_FLAGS_KNOWN (MQ_OP_FLAG_IN_PLACE | MQ_OP_FLAG_STREAMED | MQ_OP_FLAG_ROW_MEMBER)
#define MQ_O_INPUTS 4u          /* u16[8] */
#define MQ_O_OUTPUTS 20u        /* u16[2] */
#define MQ_O_RESERVED2 24u      /* 8 bytes, zero */
#define MQ_O_PARAMS 32u         /* u32[32] */
#define MQ_NO_TENSOR 0xFFFFu

#if MQ_OP_MAX_INPUTS < MQ_CONCAT_MAX_INPUTS
#error "an op record must hold every CONCAT input"
#endif

/* Parameter word indices, FULLY_CONNECTED, CONV_1X1 and CONV (the gemm block p0..p16) */
#define MQ_P_FC_N 0
#define MQ_P_FC_K 1
#define MQ_P_FC_PER_CHANNEL 2
#define MQ_P_FC_OUT_DTYPE 3
#define MQ_P_FC_OUT_ZERO_POINT 4
#define MQ_P_FC_ACT_MIN 5
#define MQ_P_FC_ACT_MAX 6
#define MQ_P_FC_WEIGHTS 7      /* (offset, size) */
#define MQ_P_FC_BIAS 9
#define MQ_P_FC_MULTIPLIER 11
#define MQ_P_FC_SHIFT 13
#define MQ_P_FC_LUT 15         /* (0, 0) = no LUT epilogue */
#define MQ_P_FC_USED 17
/* CONV_1X1 */
#define MQ_P_CONV_STRIDE_H 17
#define MQ_P_CONV_STRIDE_W 18
#define MQ_P_CONV_PAD_TOP 19
#define MQ_P_CONV_PAD_LEFT 20
#define MQ_P_CONV_PAD_BOTTOM 21
#define MQ_P_CONV_PAD_RIGHT 22
#define MQ_P_CONV_SCRATCH 23
#define MQ_P_CONV_USED 24
/* Window block (10 words at a base index): CONV at 17, DEPTHWISE_CONV at 16, pools at 0 */
#define MQ_W_KERNEL_H 0
#define MQ_W_KERNEL_W 1
#define MQ_W_STRIDE_H 2
#define MQ_W_STRIDE_W 3
#define MQ_W_DILATION_H 4
#define MQ_W_DILATION_W 5
#define MQ_W_PAD_TOP 6
#define MQ_W_PAD_BOTTOM 7
#define MQ_W_PAD_LEFT 8
#define MQ_W_PAD_RIGHT 9
#define MQ_W_WORDS 10
/* CONV (KxK): gemm block p0..p16, window p17..p26, scratch p27 (offset), p28 (size) */
#define MQ_P_CONVK_WINDOW 17
#define MQ_P_CONVK_SCRATCH 27
#define MQ_P_CONVK_SCRATCH_SIZE 28
#define MQ_P_CONVK_USED 29
/* DEPTHWISE_CONV */
#define MQ_P_DW_MULTIPLIER 0   /* depth multiplier */
#define MQ_P_DW_PER_CHANNEL 1
#define MQ_P_DW_OUT_DTYPE 2
#define MQ_P_DW_OUT_ZERO_POINT 3
#define MQ_P_DW_ACT_MIN 4
#define MQ_P_DW_ACT_MAX 5
#define MQ_P_DW_WEIGHTS 6      /* (offset, size) */
#define MQ_P_DW_BIAS 8
#define MQ_P_DW_QMULT 10
#define MQ_P_DW_SHIFT 12
#define MQ_P_DW_LUT 14
#define MQ_P_DW_WINDOW 16
#define MQ_P_DW_SCRATCH 26
#define MQ_P_DW_SCRATCH_SIZE 27
#define MQ_P_DW_USED 28
/* AVERAGE_POOL / MAX_POOL */
#define MQ_P_POOL_WINDOW 0
#define MQ_P_POOL_ACT_MIN 10
#define MQ_P_POOL_ACT_MAX 11
#define MQ_P_POOL_USED 12
/* MEAN */
#define MQ_P_MEAN_MULTIPLIER 0
#define MQ_P_MEAN_SHIFT 1
#define MQ_P_MEAN_ACT_MIN 2
#define MQ_P_MEAN_ACT_MAX 3
#define MQ_P_MEAN_USED 4
/* PAD */
#define MQ_P_PAD_BEFORE 0      /* 4 words */
#define MQ_P_PAD_AFTER 4       /* 4 words */
#define MQ_P_PAD_USED 8
/* CONCAT */
#define MQ_P_CONCAT_AXIS 0
#define MQ_P_CONCAT_USED 1
/* MUL */
#define MQ_P_MUL_MULTIPLIER 0
#define MQ_P_MUL_SHIFT 1
#define MQ_P_MUL_ACT_MIN 2
#define MQ_P_MUL_ACT_MAX 3
#define MQ_P_MUL_BROADCAST 4
#define MQ_P_MUL_USED 5             /* MUL_S16 */
#define MQ_P_MUL_SINGLE_ROUNDING 5  /* MUL (8-bit) only: 0 TFLite's two roundings, 1 one rounding (0 in older files) */
#define MQ_P_MUL8_USED 6
/* REQUANTIZE */
#define MQ_P_REQ_MULTIPLIER 0
#define MQ_P_REQ_SHIFT 1
#define MQ_P_REQ_USED 2
/* LUT */
#define MQ_P_LUT_TABLE 0       /* (offset, size 256) */
#define MQ_P_LUT_USED 2
/* ADD */
#define MQ_P_ADD_LEFT_SHIFT 0
#define MQ_P_ADD_IN1_MULTIPLIER 1
#define MQ_P_ADD_IN1_SHIFT 2
#define MQ_P_ADD_IN2_MULTIPLIER 3
#define MQ_P_ADD_IN2_SHIFT 4
#define MQ_P_ADD_OUT_MULTIPLIER 5
#define MQ_P_ADD_OUT_SHIFT 6
#define MQ_P_ADD_ACT_MIN 7
#define MQ_P_ADD_ACT_MAX 8
#define MQ_P_ADD_BROADCAST 9   /* of x2: 0 none, 1 per channel (last axis of y), 2 scalar (0 in older files) */
#define MQ_P_ADD_USED 10
/* RESHAPE */
#define MQ_P_RESHAPE_USED 0
/* SOFTMAX */
#define MQ_P_SOFTMAX_AXIS 0
#define MQ_P_SOFTMAX_MULTIPLIER 1  /* i32 input_multiplier (mq_softmax_prepare) */
#define MQ_P_SOFTMAX_LEFT_SHIFT 2  /* i32 input_left_shift */
#define MQ_P_SOFTMAX_DIFF_MIN 3    /* i32 diff_min */
#define MQ_P_SOFTMAX_USED 4
/* SOFTMAX_TABLE */
#define MQ_P_SMT_AXIS 0
#define MQ_P_SMT_MULTIPLIER 1      /* i32 in [1, 2^31): 1 / s_out = multiplier * 2^-shift */
#define MQ_P_SMT_SHIFT 2           /* i32 in [0, 62] */
#define MQ_P_SMT_EXP_TABLE 3       /* (offset, size 1024): 256 x i32 exp table (mq_softmax_table_prepare) */
#define MQ_P_SMT_USED 5
/* TRANSPOSE */
#define MQ_P_TRANSPOSE_PERM 0  /* 4 words */
#define MQ_P_TRANSPOSE_USED 4

/* STREAM_FC (19): FULLY_CONNECTED block p0..p16 (k = out_h * out_w * channels of the head pixel, NHWC flatten
 * order, N4K16 weights, folded bias); STREAM_FC_S16 (44): the FULLY_CONNECTED_S16 block p0..p12. Both: */
#define MQ_P_STREAM_MEMBERS 20   /* number of op records after this one that form the per-pixel chain, 0..16 */
#define MQ_P_STREAM_OUT_H 21     /* pixel grid */
#define MQ_P_STREAM_OUT_W 22
#define MQ_P_STREAM_STRIDE_H 23  /* source pixel of grid pixel (y, x): (y * stride_h, x * stride_w) */
#define MQ_P_STREAM_STRIDE_W 24
#define MQ_P_STREAM_LAYOUT 25    /* source layout: 0 NHWC [1, h, w, c], 1 NCHW [1, c, h, w] */
#define MQ_P_STREAM_ACC 26       /* (arena offset, size): the head's accumulators, n x int32 (19) / n x int64 (44) */
#define MQ_P_STREAM_USED 28
#define MQ_STREAM_MAX_MEMBERS 16u
#define MQ_STREAM_LAYOUT_NHWC 0u
#define MQ_STREAM_LAYOUT_NCHW 1u

/* ROW_STREAM (20): a row-streamed segment (docs/FORMAT.md "Row-streamed segment"). */
#define MQ_P_ROWS_MEMBERS 0      /* M: the next M op records (flag bit 4) are the segment's members, 1..8 */
#define MQ_P_ROWS_RING 1         /* per member j: (arena offset, rows R) of its output ring at p[1 + 2j], p[2 + 2j];
                                  * (0, 0) for the last member (it writes the segment output) */
#define MQ_P_ROWS_TERMS 17       /* arena offset (multiple of 16) of the ADD term tables, or 0 */
#define MQ_P_ROWS_TERMS_SIZE 18  /* their bytes: MQ_ROWS_TERMS_BYTES (the segment has an ADD member), or 0: none */
#define MQ_P_ROWS_USED 19
#define MQ_ROWS_TERMS_BYTES 2048u /* two 256-entry int32 tables (mq_add_tabulate) */
#define MQ_ROWS_MAX_MEMBERS 8u

/* 16x8 ops (format 2.1, docs/FORMAT.md). Gemm block of FULLY_CONNECTED_S16 and CONV_S16: */
#define MQ_P_S16_N 0
#define MQ_P_S16_K 1
#define MQ_P_S16_PER_CHANNEL 2
#define MQ_P_S16_ACT_MIN 3
#define MQ_P_S16_ACT_MAX 4
#define MQ_P_S16_WEIGHTS 5     /* (offset, size): int8 [n][k] row-major */
#define MQ_P_S16_BIAS 7        /* (offset, size): n x int64, or (0, 0) for none */
#define MQ_P_S16_MULTIPLIER 9  /* (offset, size): i32, n or 1 entries */
#define MQ_P_S16_SHIFT 11      /* (offset, size): i32, same count */
#define MQ_P_S16_FC_USED 13
#define MQ_P_S16_CONV_WINDOW 13
#define MQ_P_S16_CONV_USED 23
/* DEPTHWISE_CONV_S16 */
#define MQ_P_S16DW_MULTIPLIER 0  /* depth multiplier */
#define MQ_P_S16DW_PER_CHANNEL 1
#define MQ_P_S16DW_ACT_MIN 2
#define MQ_P_S16DW_ACT_MAX 3
#define MQ_P_S16DW_WEIGHTS 4     /* int8 [kh][kw][out_c] */
#define MQ_P_S16DW_BIAS 6        /* out_c x int64, or (0, 0) */
#define MQ_P_S16DW_QMULT 8
#define MQ_P_S16DW_SHIFT 10
#define MQ_P_S16DW_WINDOW 12
#define MQ_P_S16DW_USED 22
/* ADD_S16: as ADD (left_shift, 3 multiplier/shift pairs, clamp) */
/* MUL_S16: as MUL */
/* AVERAGE_POOL_S16 / MAX_POOL_S16: as the pools */
/* LUT16 */
#define MQ_P_LUT16_TABLE 0     /* (offset, size 1026): 513 x int16 */
#define MQ_P_LUT16_USED 2
#define MQ_LUT16_BYTES 1026u
/* QUANTIZE_S16, REQUANTIZE_S16_TO_8, RESCALE_S16: as REQUANTIZE (multiplier, shift) */
/* SOFTMAX_S16 */
#define MQ_P_S16SM_MULTIPLIER 0
#define MQ_P_S16SM_SHIFT 1
#define MQ_P_S16SM_EXP_LUT 2   /* (offset, size 1026) */
#define MQ_P_S16SM_RECIP_LUT 4 /* (offset, size 1026) */
#define MQ_P_S16SM_USED 6

/*
 * Op build list: "a firmware links only the kernels its model uses". By default every op is compiled in.
 * A build that defines MQ_OPS_SELECTED compiles into the loader and the interpreter only the ops it also
 * defines as MQ_OP_<NAME>_ENABLED=1 (e.g. -DMQ_OPS_SELECTED -DMQ_OP_FULLY_CONNECTED_ENABLED=1, or the
 * header named by MQ_OPS_CONFIG_HEADER); the kernels of the others are then never referenced and the
 * linker (--gc-sections / static library) leaves them out. A model using a disabled op is rejected at
 * load with MQ_ERR_UNSUPPORTED_OP. `simulate MODEL --print-ops` prints a model's list (docs/BOARDS.md).
 */
#ifdef MQ_OPS_CONFIG_HEADER
#include MQ_OPS_CONFIG_HEADER
#endif
#ifdef MQ_OPS_SELECTED
#define MQ_OP_DEFAULT_ENABLED 0
#else
#define MQ_OP_DEFAULT_ENABLED 1
#endif
/* ORT_FLOAT32 in the list: the float32 output stage of header flag MQ_MODEL_FLAG_ORT_FLOAT32 (calibrate --rounding
 * onnxruntime; its portable loops and integer emulation). Without it a selected build rejects such a model at load
 * (MQ_ERR_UNSUPPORTED_OP) and links none of that code; every-op builds have it. */
#ifndef MQ_ORT_FLOAT32_ENABLED
#define MQ_ORT_FLOAT32_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_FULLY_CONNECTED_ENABLED
#define MQ_OP_FULLY_CONNECTED_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_CONV_1X1_ENABLED
#define MQ_OP_CONV_1X1_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_LUT_ENABLED
#define MQ_OP_LUT_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_ADD_ENABLED
#define MQ_OP_ADD_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_RESHAPE_ENABLED
#define MQ_OP_RESHAPE_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_SOFTMAX_ENABLED
#define MQ_OP_SOFTMAX_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_TRANSPOSE_ENABLED
#define MQ_OP_TRANSPOSE_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_CONV_ENABLED
#define MQ_OP_CONV_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_DEPTHWISE_CONV_ENABLED
#define MQ_OP_DEPTHWISE_CONV_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_AVERAGE_POOL_ENABLED
#define MQ_OP_AVERAGE_POOL_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_MAX_POOL_ENABLED
#define MQ_OP_MAX_POOL_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_MEAN_ENABLED
#define MQ_OP_MEAN_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_PAD_ENABLED
#define MQ_OP_PAD_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_CONCAT_ENABLED
#define MQ_OP_CONCAT_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_MUL_ENABLED
#define MQ_OP_MUL_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_REQUANTIZE_ENABLED
#define MQ_OP_REQUANTIZE_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_SOFTMAX_TABLE_ENABLED
#define MQ_OP_SOFTMAX_TABLE_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_STREAM_FC_ENABLED
#define MQ_OP_STREAM_FC_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_ROW_STREAM_ENABLED
#define MQ_OP_ROW_STREAM_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_STREAM_FC_S16_ENABLED
#define MQ_OP_STREAM_FC_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_FULLY_CONNECTED_S16_ENABLED
#define MQ_OP_FULLY_CONNECTED_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_CONV_S16_ENABLED
#define MQ_OP_CONV_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_DEPTHWISE_CONV_S16_ENABLED
#define MQ_OP_DEPTHWISE_CONV_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_ADD_S16_ENABLED
#define MQ_OP_ADD_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_MUL_S16_ENABLED
#define MQ_OP_MUL_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_AVERAGE_POOL_S16_ENABLED
#define MQ_OP_AVERAGE_POOL_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_MAX_POOL_S16_ENABLED
#define MQ_OP_MAX_POOL_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_LUT16_ENABLED
#define MQ_OP_LUT16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_QUANTIZE_S16_ENABLED
#define MQ_OP_QUANTIZE_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_REQUANTIZE_S16_TO_8_ENABLED
#define MQ_OP_REQUANTIZE_S16_TO_8_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_SOFTMAX_S16_ENABLED
#define MQ_OP_SOFTMAX_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#ifndef MQ_OP_RESCALE_S16_ENABLED
#define MQ_OP_RESCALE_S16_ENABLED MQ_OP_DEFAULT_ENABLED
#endif
#define MQ_OP_ANY_S16_ENABLED                                                                                  \
    (MQ_OP_FULLY_CONNECTED_S16_ENABLED || MQ_OP_CONV_S16_ENABLED || MQ_OP_DEPTHWISE_CONV_S16_ENABLED ||           \
     MQ_OP_ADD_S16_ENABLED || MQ_OP_MUL_S16_ENABLED || MQ_OP_AVERAGE_POOL_S16_ENABLED ||                           \
     MQ_OP_MAX_POOL_S16_ENABLED || MQ_OP_LUT16_ENABLED || MQ_OP_QUANTIZE_S16_ENABLED ||                            \
     MQ_OP_REQUANTIZE_S16_TO_8_ENABLED || MQ_OP_SOFTMAX_S16_ENABLED || MQ_OP_RESCALE_S16_ENABLED ||                \
     MQ_OP_STREAM_FC_ENABLED || MQ_OP_STREAM_FC_S16_ENABLED)

/* Metadata: fixed strings, then one name per input, then one per output */
#define MQ_META_NUM_FIXED 5u

/* Little-endian reads, byte-wise. */
static inline uint32_t mq_rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static inline uint32_t mq_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* A decoded tensor record (fields as stored). */
typedef struct {
    mq_dtype dtype;
    int32_t rank;
    int32_t dims[4];            /* 1 beyond rank */
    int32_t zero_point;
    uint32_t scale_bits;
    uint32_t storage;           /* mq_storage */
    uint32_t offset;            /* arena offset or constant-section offset */
    uint32_t size;              /* bytes */
} mq_tensor_rec;

/* A decoded op record. */
typedef struct {
    uint32_t type;              /* mq_op_type */
    uint32_t num_inputs, num_outputs;
    uint32_t flags;             /* MQ_OP_FLAG_* */
    uint32_t inputs[MQ_OP_MAX_INPUTS];
    uint32_t outputs[MQ_OP_MAX_OUTPUTS];
    uint32_t p[MQ_OP_NUM_PARAMS];
} mq_op_rec;

/* Decode tensor record id of a loaded model (no validation: the loader did it). */
void mq_tensor_decode(const uint8_t *tensors, uint32_t id, mq_tensor_rec *t);

/* Decode op record index of a loaded model. */
void mq_op_decode(const uint8_t *ops, uint32_t index, mq_op_rec *op);

/* Build the kernel parameters of a decoded FULLY_CONNECTED / CONV_1X1 op (pointers into constants). */
void mq_op_fc_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in, mq_fc_params *fc);

/* Build the kernel parameters of a decoded CONV_1X1 op. */
void mq_op_conv_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                       mq_conv1x1_params *conv);

/* Build the kernel parameters of a decoded ADD op from its record and tensors. */
void mq_op_add_params(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                      const mq_tensor_rec *out, mq_add_params *add);

/* Softmax view [outer, axis, inner] of a decoded tensor. */
void mq_op_softmax_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                          const mq_tensor_rec *out, mq_softmax_params *sm);

/* Softmax-table view [outer, axis, inner] of a decoded tensor, its exp table in constants. */
void mq_op_softmax_table_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                                const mq_tensor_rec *out, mq_softmax_table_params *sm);

/* Window geometry of a decoded windowed op: the words at op->p[base..base+10) and the input / output
 * tensors' NHWC dims (batch, in_h, in_w from in; out_h, out_w from out). */
void mq_op_window(const mq_op_rec *op, uint32_t base, const mq_tensor_rec *in, const mq_tensor_rec *out,
                  mq_window *win);

/* Kernel parameters of the new ops, from a decoded record and its tensors (no validation). */
void mq_op_convk_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                        const mq_tensor_rec *out, mq_conv_params *conv);
void mq_op_depthwise_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                            const mq_tensor_rec *out, mq_depthwise_params *dw);
void mq_op_pool_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out, mq_pool_params *pool);
void mq_op_mean_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out, mq_mean_params *mean);
void mq_op_pad_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out, mq_pad_params *pad);
/* ins: the op's num_inputs decoded input tensors. */
void mq_op_concat_params(const mq_op_rec *op, const mq_tensor_rec *ins, mq_concat_params *cat);
void mq_op_mul_params(const mq_op_rec *op, const mq_tensor_rec *in1, const mq_tensor_rec *in2,
                      const mq_tensor_rec *out, mq_mul_params *mul);
void mq_op_requantize_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out,
                             mq_requantize_params *rq);

/* Kernel parameters of the 16x8 ops (mq_model_decode_s16.c; constant refs with size 0 give NULL). */
void mq_op_fc_s16_params(const uint8_t *constants, const mq_op_rec *op, mq_fc_s16_params *fc);
void mq_op_conv_s16_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                           const mq_tensor_rec *out, mq_conv_s16_params *conv);
void mq_op_depthwise_s16_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                                const mq_tensor_rec *out, mq_depthwise_s16_params *dw);
void mq_op_add_s16_params(const mq_op_rec *op, mq_add_s16_params *add);
void mq_op_mul_s16_params(const mq_op_rec *op, const mq_tensor_rec *out, mq_mul_s16_params *mul);
void mq_op_pool_s16_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out,
                           mq_pool_s16_params *pool);
/* q8: the 8-bit side's tensor, q16: the int16 side's */
void mq_op_requantize_s16_params(const mq_op_rec *op, const mq_tensor_rec *q8, const mq_tensor_rec *q16,
                                 mq_requantize_s16_params *rq);
void mq_op_rescale_s16_params(const mq_op_rec *op, const mq_tensor_rec *in, const mq_tensor_rec *out,
                              mq_rescale_s16_params *rq);
void mq_op_softmax_s16_params(const uint8_t *constants, const mq_op_rec *op, const mq_tensor_rec *in,
                              mq_softmax_s16_params *sm);

/* CRC-32 (IEEE 802.3 reflected, 0xEDB88320). */
uint32_t mq_crc32(const void *data, size_t n);

#endif /* MICROQUANT_MQ_FORMAT_H */
