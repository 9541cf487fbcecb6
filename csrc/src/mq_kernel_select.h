/*
 * MicroQuant internal: kernel variant build list ("a firmware links only the kernels its model uses", one level
 * below the op build list of mq_format.h).
 *
 * By default every fast path of a microkernel is compiled. A build whose op list (MQ_OPS_CONFIG_HEADER, written by
 * csrc/CMakeLists.txt from MQ_OPS) also names GEMM variants defines MQ_GEMM_SELECTED and MQ_GEMM_<NAME>_ENABLED=1
 * for the variants it keeps; the others are not compiled and the calls that would take them run the compact
 * fallback kernel instead. The results are the same bytes either way (every path is bit-identical to the portable
 * kernel); only speed and code size change. Names (`simulate MODEL --print-ops` prints a model's own):
 *   GEMM_BATCHED      GEMM calls with two or more input rows (FULLY_CONNECTED with batch > 1, CONV_1X1, CONV)
 *   GEMM_UINT8        ... with UINT8 inputs
 *   GEMM_INT8         ... with INT8 inputs
 *   GEMM_PER_CHANNEL  batch-1 GEMV loop with per-channel multipliers / shifts
 *   GEMM_PER_TENSOR   batch-1 GEMV loop with one multiplier / shift
 *   GEMM_SINGLE_ROUNDING  FULLY_CONNECTED in a model with header flag MQ_MODEL_FLAG_SINGLE_ROUNDING_FC (the same
 *                     fast kernels with the single-rounding output stage, mq_fc_params.single_rounding). Unlike the
 *                     others this is not a speed choice: a build without it rejects such a model at load with
 *                     MQ_ERR_UNSUPPORTED_OP, as a left-out op.
 * Only the Armv7E-M / Armv8-M DSP GEMM (Cortex-M4/M7/M33) has speed variants so far.
 */
#ifndef MICROQUANT_MQ_KERNEL_SELECT_H
#define MICROQUANT_MQ_KERNEL_SELECT_H

#ifdef MQ_OPS_CONFIG_HEADER
#include MQ_OPS_CONFIG_HEADER
#endif

#ifdef MQ_GEMM_SELECTED
#define MQ_GEMM_DEFAULT_ENABLED 0
#else
#define MQ_GEMM_DEFAULT_ENABLED 1
#endif
#ifndef MQ_GEMM_BATCHED_ENABLED
#define MQ_GEMM_BATCHED_ENABLED MQ_GEMM_DEFAULT_ENABLED
#endif
#ifndef MQ_GEMM_UINT8_ENABLED
#define MQ_GEMM_UINT8_ENABLED MQ_GEMM_DEFAULT_ENABLED
#endif
#ifndef MQ_GEMM_INT8_ENABLED
#define MQ_GEMM_INT8_ENABLED MQ_GEMM_DEFAULT_ENABLED
#endif
#ifndef MQ_GEMM_PER_CHANNEL_ENABLED
#define MQ_GEMM_PER_CHANNEL_ENABLED MQ_GEMM_DEFAULT_ENABLED
#endif
#ifndef MQ_GEMM_PER_TENSOR_ENABLED
#define MQ_GEMM_PER_TENSOR_ENABLED MQ_GEMM_DEFAULT_ENABLED
#endif
#ifndef MQ_GEMM_SINGLE_ROUNDING_ENABLED
#define MQ_GEMM_SINGLE_ROUNDING_ENABLED MQ_GEMM_DEFAULT_ENABLED
#endif

#endif /* MICROQUANT_MQ_KERNEL_SELECT_H */
