/*
 * MicroQuant: device kernels (operators). Integer-only, no allocation.
 *
 * Layouts: activations are row-major, channels last (NHWC for images, [batch, features]
 * for fully connected). Weights are int8, symmetric (zero point 0), per output channel,
 * repacked offline by mq_pack_weights_n4k16() (mq_host.h) into the N4K16 layout:
 *
 *   packed[((g * KC + c) * 4 + r) * 16 + j] = W[4g + r][16c + j]     (zero where out of range)
 *   G = ceil(N/4) row groups, KC = ceil(K/16) k-chunks, size = G*4*KC*16 bytes.
 *
 * Activations may be QUInt8 or QInt8. Internally an input code x is used in the signed
 * domain x' = (int8)(x ^ 0x80) for UINT8, x' = x for INT8; the host folds the matching
 * zero point zp' = zp - 128 (UINT8) or zp (INT8) into the bias (mq_fold_bias), so the
 * inner loop is pure int8 x int8 -> int32 MACs:
 *
 *   acc[m][n] = folded_bias[n] + sum_k x'[m][k] * W[n][k]        (int32, wraps modulo 2^32)
 *   v = out_zero_point + mq_requantize(acc, multiplier[n], shift[n])
 *   v = clamp(v, act_min, act_max)
 *   out = lut ? lut[(uint8_t)v] : (uint8_t)v                      (one byte per element)
 *
 * See docs/QUANTIZATION.md for the derivations.
 */
#ifndef MICROQUANT_MQ_KERNELS_H
#define MICROQUANT_MQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "mq_quant.h"
#include "mq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size in bytes of N4K16-packed weights for an (n, k) matrix. 0 on bad sizes. */
static inline size_t mq_packed_weights_size_n4k16(int32_t n, int32_t k)
{
    if (n <= 0 || k <= 0) {
        return 0;
    }
    return (size_t)((n + 3) / 4) * 4u * (size_t)((k + 15) / 16) * 16u;
}

/*
 * Prepared constants have their own types, so that raw weights or a raw bias cannot be passed where the kernels
 * expect packed / folded ones (assigning an int8_t * or int32_t * to them does not compile). They are made by the
 * host prepare functions (mq_host.h: mq_fc_prepare, mq_conv_prepare, mq_depthwise_prepare, or the lower-level
 * mq_pack_weights_n4k16 + mq_fold_bias wrapped explicitly) and by the loader (in-place views of the packed model).
 */
typedef struct {
    const int8_t *packed;       /* N4K16-packed int8 weights (mq_pack_weights_n4k16) */
} mq_packed_weights;

typedef struct {
    const int32_t *folded;      /* int32 bias with the input zero point folded in (mq_fold_bias) */
} mq_folded_bias;

typedef struct {
    const void *data;           /* depthwise weights, int16 [kh][kw][out_c] (mq_depthwise_pack_weights), 4-byte aligned */
} mq_depthwise_weights;

typedef struct {
    const int32_t *folded;      /* depthwise bias, input zero point folded in (mq_depthwise_prepare_bias), 4-byte aligned */
} mq_depthwise_bias;

/* Requantized fully connected / GEMM layer, prepared on the host. */
typedef struct {
    int32_t n;                  /* output features (rows of W), >= 1 */
    int32_t k;                  /* input features, >= 1 */
    mq_packed_weights weights;  /* N4K16-packed weights, mq_packed_weights_size_n4k16(n, k) bytes */
    mq_folded_bias bias;        /* n folded biases (mq_fold_bias); required */
    const int32_t *multiplier;  /* Q31 multipliers: n entries if per_channel, else 1 */
    const int32_t *shift;       /* shifts in [-31, 30]: n entries if per_channel, else 1 */
    int32_t per_channel;        /* 1: per output channel, 0: per tensor */
    mq_dtype in_dtype;          /* MQ_DTYPE_INT8 or MQ_DTYPE_UINT8 */
    mq_dtype out_dtype;         /* dtype of the requantized codes (the LUT's input when lut != NULL) */
    int32_t out_zero_point;     /* zero point of the requantized codes */
    int32_t act_min;            /* clamp, in the requantized code domain (fused ReLU / ReLU6) */
    int32_t act_max;
    const uint8_t *lut;         /* optional epilogue: 256-entry table indexed by (uint8_t)code, or NULL */
    int32_t single_rounding;    /* 0: mq_requantize (TFLite's double rounding); 1: mq_requantize_single (one
                                   rounding, onnxruntime / TFLite's own FC; packed models with header flag
                                   MQ_MODEL_FLAG_SINGLE_ROUNDING_FC / _CONV). Same fast kernels, only the output
                                   stage differs (mq_output_stage.h). Zero-initialize the struct: 0 is the default. */
} mq_fc_params;

/* Checks every field of p: non-NULL pointers (lut may be NULL), 1 <= n, k <= 2^24, 8-bit dtypes,
 * per_channel 0/1, single_rounding 0/1, out_zero_point and qmin <= act_min <= act_max <= qmax in out_dtype's range, every
 * multiplier 0 or in [2^30, 2^31) and every shift in [-31, 30]. MQ_OK or the first error found. */
mq_status mq_fc_params_check(const mq_fc_params *p);

/* Name of the GEMM microkernel this build runs: "c" (portable), "v7m" (Cortex-M3), "dsp" (M4/M7/M33), "mve" (M55),
 * or on x86-64 hosts the variant chosen at run time: "avx512vnni", "avx2", "sse2" (or "c" when the environment
 * variable MQ_HOST_GEMM=c forces the portable kernel; docs/PERFORMANCE.md). Never NULL. */
const char *mq_gemm_kernel_name(void);

/*
 * Fully connected: input [batch, k] codes of p->in_dtype, output [batch, n] bytes.
 * batch >= 1 (MQ_ERR_SHAPE). input and output must not overlap (MQ_ERR_BUFFER).
 */
mq_status mq_fully_connected(const mq_fc_params *p, int32_t batch, const void *input, void *output);

/*
 * The same layer requantized with single rounding (MQ_ROUNDING_SINGLE: mq_requantize_single, TensorFlow
 * Lite's own FULLY_CONNECTED as ai-edge-litert runs it) instead of mq_requantize. Same parameters, checks
 * and statuses as mq_fully_connected; a portable loop (a reference mode). The fast path is mq_fully_connected with
 * p->single_rounding = 1 (what mq_model_run runs).
 */
mq_status mq_fully_connected_single_rounding(const mq_fc_params *p, int32_t batch, const void *input, void *output);

/* Pointwise (1x1) convolution, NHWC. gemm.n = output channels, gemm.k = input channels. */
typedef struct {
    int32_t batch;
    int32_t in_h, in_w;
    int32_t stride_h, stride_w;           /* 1 or 2 */
    int32_t pad_top, pad_left, pad_bottom, pad_right; /* zero padding (pads with the input zero point), >= 0 */
    mq_fc_params gemm;
    int32_t in_zero_point;                /* input zero point (a code of gemm.in_dtype): the value of padded pixels */
} mq_conv1x1_params;

/* Output spatial size: (in + pad_a + pad_b - 1) / stride + 1 (dilation is irrelevant for k = 1).
 * MQ_ERR_SHAPE when it would be < 1 or the parameters are out of range. */
mq_status mq_conv1x1_output_size(const mq_conv1x1_params *p, int32_t *out_h, int32_t *out_w);

/* Scratch bytes mq_conv1x1 needs: gemm.k (one pixel of padding codes) when any pad > 0, else 0.
 * 0 also when p is NULL or gemm.k < 1. */
size_t mq_conv1x1_scratch_size(const mq_conv1x1_params *p);

/* input [batch, in_h, in_w, k], output [batch, out_h, out_w, n] (NHWC codes).
 * Output pixel (oy, ox) reads input pixel (oy*stride_h - pad_top, ox*stride_w - pad_left); outside the
 * input it reads a pixel of in_zero_point codes (so its accumulator is the unfolded bias). scratch must
 * hold mq_conv1x1_scratch_size(p) bytes (may be NULL when that is 0). Input and output must not overlap. */
mq_status mq_conv1x1(const mq_conv1x1_params *p, const void *input, void *output,
                     void *scratch, size_t scratch_size);

/*
 * In place (the packed format's op flag MQ_OP_FLAG_IN_PLACE): the output is written over the input, both
 * starting at buf. Supported geometry: stride 1, no padding, n <= k. Blocks of up to MQ_CONV1X1_INPLACE_BLOCK
 * pixels are computed into scratch (block * n bytes) and copied over the input pixels they consumed (output
 * pixel p ends at (p+1)*n <= (p+1)*k, so no unread input byte is overwritten). Byte-identical to mq_conv1x1,
 * with either output stage (p->gemm.single_rounding 0 or 1).
 * mq_conv1x1_inplace_scratch_size: the scratch bytes, 0 when p is invalid or the geometry is not supported.
 * mq_conv1x1_inplace: MQ_ERR_SHAPE for an unsupported geometry, MQ_ERR_BUFFER when scratch is too small or
 * overlaps buf's input or output bytes.
 */
#define MQ_CONV1X1_INPLACE_BLOCK 32
size_t mq_conv1x1_inplace_scratch_size(const mq_conv1x1_params *p);
mq_status mq_conv1x1_inplace(const mq_conv1x1_params *p, void *buf, void *scratch, size_t scratch_size);

/* The same layer requantized with single rounding (mq_requantize_single, as onnxruntime's QLinearConv; packed
 * models with MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV). Same parameters and checks as mq_conv1x1; no scratch, input and
 * output apart (MQ_ERR_BUFFER); a portable loop (a reference mode, not a fast path). */
mq_status mq_conv1x1_single_rounding(const mq_conv1x1_params *p, const void *input, void *output);

/* ------------------------------------------------------------------------------------------------
 * Convolutional op set (issue 9). Every operator below: NHWC activations of 8-bit codes (INT8 or UINT8),
 * shapes fully given in its params (checked by its *_check function, which the loader calls once; the
 * operator itself only re-checks what is cheap), no allocation, scratch (if any) planned by the host in
 * the arena. Output stage (requantize, + zero point, clamp, optional LUT) as for mq_fc_params.
 * Output size of every windowed op, per axis:
 *   out = (in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride + 1     (must be >= 1)
 * ------------------------------------------------------------------------------------------------ */

/* Window geometry shared by convolution, depthwise convolution and pooling. */
typedef struct {
    int32_t batch;
    int32_t in_h, in_w;
    int32_t out_h, out_w;                  /* must equal the formula above */
    int32_t kernel_h, kernel_w;            /* >= 1 */
    int32_t stride_h, stride_w;            /* >= 1 */
    int32_t dilation_h, dilation_w;        /* >= 1 (pooling: 1) */
    int32_t pad_top, pad_bottom, pad_left, pad_right; /* >= 0, each side separately (TF SAME is asymmetric) */
} mq_window;

/* Checks a window: every size >= 1 (pads >= 0), <= 2^24, out_h/out_w equal to the formula above, batch * pixels
 * <= 2^24 for input and output. MQ_ERR_NULL / MQ_ERR_SHAPE / MQ_OK. */
mq_status mq_window_check(const mq_window *w);

/*
 * KxK convolution, group 1. gemm.n = output channels, gemm.k = kernel_h * kernel_w * in_c.
 * Weights: W[n][ky][kx][c] (OHWI, TFLite's CONV_2D layout) flattened to (n, k) rows and N4K16-packed;
 * bias folded with the input zero point over all k (padded taps read in_zero_point, so folding is exact).
 * Input [batch, in_h, in_w, in_c], output [batch, out_h, out_w, n]; mq_conv_prepare (mq_host.h) fills it.
 * mq_conv_check validates everything (the loader calls it once); mq_conv re-runs it (cheap next to the MACs).
 * Scratch (mq_conv_scratch_size, planned by the host in the arena): 1x1 kernels with stride 1/2 run mq_conv1x1
 * (0 bytes, or in_c bytes when padded); otherwise an im2col block of rows x round_up(k, 16) bytes with
 * rows = clamp(2048 / round_up(k, 16), 4, 32) and at most batch * out_h * out_w (docs/QUANTIZATION.md 5a).
 * The size depends only on the parameters (the same on host and device). Input, output and scratch must not overlap.
 */
typedef struct {
    mq_window win;
    int32_t in_c;
    int32_t in_zero_point;                 /* code of gemm.in_dtype: the value of padded taps */
    mq_fc_params gemm;
} mq_conv_params;

mq_status mq_conv_check(const mq_conv_params *p);
/* Scratch bytes mq_conv needs (the im2col buffer the host plans in the arena). 0 on invalid p. */
size_t mq_conv_scratch_size(const mq_conv_params *p);
mq_status mq_conv(const mq_conv_params *p, const void *input, void *output, void *scratch, size_t scratch_size);
/* mq_conv requantized with single rounding (MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV): same parameters and checks, no
 * scratch, input and output apart (MQ_ERR_BUFFER); a portable loop. */
mq_status mq_conv_single_rounding(const mq_conv_params *p, const void *input, void *output);

/*
 * Depthwise convolution: output channel o = c * depth_multiplier + m reads input channel c; kernel_h * kernel_w
 * <= 64. Weights: int16 [kernel_h][kernel_w][out_c] (mq_depthwise_pack_weights: TFLite's [1, kh, kw, out_c]
 * widened), 4-byte aligned, mq_depthwise_weights_size bytes; bias: out_c int32, 4-byte aligned, with the raw
 * input zero point folded in (mq_depthwise_prepare_bias, modulo 2^32). mq_depthwise_prepare fills everything.
 * Scratch: mq_depthwise_scratch_size = in_c rounded up to 4 (a pixel of in_zero_point codes read by padded taps)
 * when any pad > 0, else 0. Fast paths (depth multiplier 1): DSP (M4/M7/M33), MVE (M55), Armv7-M (M3); 3x3 has
 * its own straight-line tap block. docs/QUANTIZATION.md section 5b.
 */
typedef struct {
    mq_window win;
    int32_t in_c;
    int32_t depth_multiplier;              /* >= 1; out_c = in_c * depth_multiplier */
    mq_dtype in_dtype, out_dtype;
    int32_t in_zero_point, out_zero_point;
    mq_depthwise_weights weights;          /* prepared: mq_depthwise_weights_size(p) bytes */
    mq_depthwise_bias bias;                /* prepared: out_c int32 */
    const int32_t *multiplier;             /* out_c entries if per_channel, else 1 */
    const int32_t *shift;
    int32_t per_channel;
    int32_t act_min, act_max;
    const uint8_t *lut;                    /* optional 256-entry epilogue, or NULL */
    int32_t single_rounding;               /* 0: double rounding (mq_requantize), 1: mq_requantize_single (as
                                              mq_fc_params.single_rounding) */
} mq_depthwise_params;

mq_status mq_depthwise_check(const mq_depthwise_params *p);
size_t mq_depthwise_weights_size(const mq_depthwise_params *p);
size_t mq_depthwise_scratch_size(const mq_depthwise_params *p);
mq_status mq_depthwise_conv(const mq_depthwise_params *p, const void *input, void *output,
                            void *scratch, size_t scratch_size);
/* mq_depthwise_conv requantized with single rounding (MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV): same parameters and
 * checks, no scratch, input and output apart (MQ_ERR_BUFFER); a portable loop. */
mq_status mq_depthwise_conv_single_rounding(const mq_depthwise_params *p, const void *input, void *output);

/*
 * In place (the packed format's op flag MQ_OP_FLAG_IN_PLACE): input and output both start at buf (batch 1).
 * Output rows are computed into a ring of R row buffers in scratch and copied over the input once no later
 * output row reads the input rows under them (R - 1 = the largest such delay; 2 rows for a 3x3 stride-1
 * "same" layer). Supported: batch 1 and pad_top, pad_bottom <= (kernel_h - 1) * dilation_h (every output row
 * reads at least one input row). Scratch: the padding pixel (mq_depthwise_scratch_size rounded up to 16) then
 * R * out_w * out_c bytes. Byte-identical to mq_depthwise_conv, with either output stage (p->single_rounding).
 * mq_depthwise_inplace_rows: R, 0 when p is invalid or the geometry is not supported.
 * mq_depthwise_inplace_scratch_size: the scratch bytes, 0 when R is 0.
 */
int32_t mq_depthwise_inplace_rows(const mq_depthwise_params *p);
size_t mq_depthwise_inplace_scratch_size(const mq_depthwise_params *p);
mq_status mq_depthwise_conv_inplace(const mq_depthwise_params *p, void *buf, void *scratch, size_t scratch_size);

/*
 * Average / max pooling (TFLite AVERAGE_POOL_2D / MAX_POOL_2D): input and output share dtype and qparams.
 * Average: over the valid (unpadded) taps only, rounded half away from zero: (sum +- count/2) / count.
 * Max: padded taps are ignored. Then clamp to [act_min, act_max].
 */
typedef struct {
    mq_window win;
    int32_t channels;
    mq_dtype dtype;
    int32_t act_min, act_max;
} mq_pool_params;

mq_status mq_pool_check(const mq_pool_params *p);
mq_status mq_avg_pool(const mq_pool_params *p, const void *input, void *output);
mq_status mq_max_pool(const mq_pool_params *p, const void *input, void *output);

/*
 * Mean over H and W (global average pooling, TFLite MEAN over axes 1,2; ONNX GlobalAveragePool / ReduceMean),
 * input [batch, h, w, c] -> output [batch, c], with requantization to the output qparams (docs/QUANTIZATION.md):
 * out = clamp(out_zp + requant(sum(x) - h*w*in_zp, multiplier, shift)), 1/(h*w) folded into the multiplier by
 * mq_mean_prepare (so multiplier is any value in [0, 2^31), not necessarily normalized).
 */
typedef struct {
    int32_t batch, h, w, channels;
    mq_dtype in_dtype, out_dtype;
    int32_t in_zero_point, out_zero_point;
    int32_t multiplier, shift;             /* prepared on the host (mq_mean_prepare): [0, 2^31), [-31, 30] */
    int32_t act_min, act_max;
} mq_mean_params;

mq_status mq_mean_check(const mq_mean_params *p);
mq_status mq_mean(const mq_mean_params *p, const void *input, void *output);

/* Constant pad of an NHWC byte tensor (rank 4: dims [n, h, w, c]); padded bytes = value (the zero point). */
typedef struct {
    int32_t in_dims[4];
    int32_t before[4], after[4];           /* >= 0 */
    uint8_t value;
} mq_pad_params;

mq_status mq_pad_check(const mq_pad_params *p);
mq_status mq_pad(const mq_pad_params *p, const void *input, void *output);

/*
 * Concatenation of byte tensors viewed as [outer, axis_i * inner] along the middle axis. Inputs with qparams
 * other than the output's are requantized first by the host-placed mq_requantize op (or written straight into
 * their slice by their producer: the planner's in-place concat), so this kernel only copies.
 */
#define MQ_CONCAT_MAX_INPUTS 8
typedef struct {
    int32_t num_inputs;                    /* 1..MQ_CONCAT_MAX_INPUTS */
    int32_t outer, inner;
    int32_t axis_sizes[MQ_CONCAT_MAX_INPUTS];
} mq_concat_params;

mq_status mq_concat_check(const mq_concat_params *p);
mq_status mq_concat(const mq_concat_params *p, const void *const *inputs, void *output);

/*
 * Elementwise requantized multiply (TFLite MUL): out = zp_out + requant((x1 - zp1) * (x2 - zp2), M, s), clamp.
 * in2 broadcast: MQ_BCAST_NONE (n elements), MQ_BCAST_CHANNEL (in2 has `channels` elements, repeated over
 * n / channels rows), MQ_BCAST_SCALAR (in2 has 1 element).
 */
typedef enum { MQ_BCAST_NONE = 0, MQ_BCAST_CHANNEL = 1, MQ_BCAST_SCALAR = 2 } mq_broadcast;

typedef struct {
    mq_dtype in1_dtype, in2_dtype, out_dtype;
    int32_t in1_zero_point, in2_zero_point, out_zero_point;
    int32_t out_multiplier, out_shift;
    int32_t act_min, act_max;
    mq_broadcast broadcast;
    int32_t channels;                      /* MQ_BCAST_CHANNEL only */
    int32_t single_rounding;               /* 0: TFLite's mq_requantize (two roundings); 1: mq_requantize_single,
                                            * round(prod * M * 2^(shift - 31)) once (onnxruntime's QLinearMul) */
} mq_mul_params;

mq_status mq_mul_check(const mq_mul_params *p);
mq_status mq_mul(const mq_mul_params *p, const void *in1, const void *in2, void *output, size_t n);

/* Elementwise requantize between 8-bit qparams (TFLite QUANTIZE int8 -> int8/uint8):
 * out = clamp(zp_out + requant(x - zp_in, M, s)). In place allowed. */
typedef struct {
    mq_dtype in_dtype, out_dtype;
    int32_t in_zero_point, out_zero_point;
    int32_t multiplier, shift;
} mq_requantize_params;

mq_status mq_requantize_check(const mq_requantize_params *p);
mq_status mq_requantize_u8(const mq_requantize_params *p, const void *input, void *output, size_t n);

/* Table lookup activation: output[i] = table[(uint8_t)input[i]] for n bytes.
 * In place allowed (input == output); a partial overlap is MQ_ERR_BUFFER. */
mq_status mq_lut_apply(const uint8_t table[256], const void *input, void *output, size_t n);

/* Requantized elementwise add (TFLite's scheme, see QUANTIZATION.md). in1 has n elements; in2 broadcasts as
 * mq_mul's: MQ_BCAST_NONE (n elements), MQ_BCAST_CHANNEL (`channels` elements, element i of in1 pairs with
 * in2[i % channels]: a per-channel operand of an NHWC / [rows, C] tensor), MQ_BCAST_SCALAR (1 element). */
typedef struct {
    mq_dtype in1_dtype, in2_dtype, out_dtype;
    int32_t in1_zero_point, in2_zero_point, out_zero_point;
    int32_t left_shift;                     /* 20 for 8-bit inputs */
    int32_t in1_multiplier, in1_shift;
    int32_t in2_multiplier, in2_shift;
    int32_t out_multiplier, out_shift;
    int32_t act_min, act_max;               /* output code domain */
    mq_broadcast broadcast;                 /* of in2; MQ_BCAST_NONE (0) = same shape */
    int32_t channels;                       /* MQ_BCAST_CHANNEL only (n a multiple of it), else 0 */
} mq_add_params;

/* n elements; output may be exactly in1 (any broadcast) or exactly in2 (MQ_BCAST_NONE only), a partial overlap
 * is MQ_ERR_BUFFER. left_shift in [0, 22], multipliers 0 or in [2^30, 2^31), shifts in [-31, 30], zero points
 * and act range in their dtypes; MQ_BCAST_CHANNEL needs n % channels == 0. */
mq_status mq_add(const mq_add_params *p, const void *in1, const void *in2, void *output, size_t n);

/*
 * Softmax along one axis of a tensor viewed as [outer, axis_size, inner], bit-exact with TFLite's int8/uint8
 * SOFTMAX (its integer arithmetic: docs/QUANTIZATION.md section 7). Output qparams are fixed: scale 1/256,
 * zero point 0 (UINT8) or -128 (INT8). input == output allowed; a partial overlap is MQ_ERR_BUFFER.
 */
typedef struct {
    int32_t outer, axis_size, inner;        /* >= 1; axis_size <= 4095; outer * axis_size * inner <= INT32_MAX */
    mq_dtype in_dtype, out_dtype;           /* INT8 or UINT8, independently */
    int32_t input_multiplier;               /* Q31 in [2^30, 2^31): beta * s_in * 2^26 (mq_softmax_prepare) */
    int32_t input_left_shift;               /* [0, 31] */
    int32_t diff_min;                       /* exactly -floor(31 * 2^26 / 2^input_left_shift) */
} mq_softmax_params;

/* Checks every field (MQ_OK or the first error: MQ_ERR_NULL, MQ_ERR_DTYPE, MQ_ERR_SHAPE, MQ_ERR_QPARAMS). */
mq_status mq_softmax_check(const mq_softmax_params *p);
mq_status mq_softmax(const mq_softmax_params *p, const void *input, void *output);

/*
 * Softmax along one axis of [outer, axis_size, inner] into any output qparams with one rounding: a 256-entry
 * exp table of the input scale, an exact integer sum and one correctly rounded (half to even) quotient per
 * element (onnxruntime's QLinearSoftmax arithmetic in integers; docs/QUANTIZATION.md section 7e). Prepared by
 * mq_softmax_table_prepare (mq_host.h). input == output allowed; a partial overlap is MQ_ERR_BUFFER.
 */
#define MQ_SOFTMAX_TABLE_MAX_AXIS 65535
#define MQ_SOFTMAX_TABLE_ONE 1073741824         /* exp(0) = 2^30 in the table */
typedef struct {
    int32_t outer, axis_size, inner;        /* >= 1; axis_size <= 65535; outer * axis_size * inner <= INT32_MAX */
    mq_dtype in_dtype, out_dtype;           /* INT8 or UINT8, independently */
    int32_t out_zero_point;                 /* in out_dtype's range */
    const int32_t *exp_table;               /* 256 entries: round(exp(-s_in * d) * 2^30), d = max - x; [0] >= 1, all <= 2^30 */
    int32_t multiplier;                     /* [1, 2^31): 1 / s_out = multiplier * 2^-shift */
    int32_t shift;                          /* [0, 62] */
} mq_softmax_table_params;

/* Checks every field (MQ_OK or the first error: MQ_ERR_NULL, MQ_ERR_DTYPE, MQ_ERR_SHAPE, MQ_ERR_QPARAMS). */
mq_status mq_softmax_table_check(const mq_softmax_table_params *p);
mq_status mq_softmax_table(const mq_softmax_table_params *p, const void *input, void *output);

/* Transpose of a byte tensor of rank 1..6: out dims[i] = in_dims[perm[i]]. dims >= 1 and perm a permutation
 * (MQ_ERR_SHAPE); input and output must not overlap (MQ_ERR_BUFFER). */
#define MQ_MAX_RANK 6
mq_status mq_transpose_u8(const int32_t *in_dims, const int32_t *perm, int32_t rank,
                          const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_KERNELS_H */
