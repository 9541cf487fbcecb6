/*
 * MicroQuant: host-side preparation (the "prepare" half of every op).
 *
 * These functions use double precision and run on the host, offline (calibrate, tests).
 * They live in csrc/host/ and are never linked into firmware; the device kernels
 * (mq_kernels.h) consume their results, stored in the packed model.
 */
#ifndef MICROQUANT_MQ_HOST_H
#define MICROQUANT_MQ_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "mq_kernels.h"
#include "mq_model.h"
#include "mq_quant.h"
#include "mq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * TFLite QuantizeMultiplier: real = q * 2^shift with q = frexp mantissa in [0.5, 1),
 * multiplier = round(q * 2^31) (ties away from zero); a mantissa that rounds to 2^31 is
 * halved and shift incremented; shift < -31 gives (0, 0); shift > 30 saturates to
 * (INT32_MAX, 30). real must be finite and >= 0, else MQ_ERR_QPARAMS.
 */
mq_status mq_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift);

/* float -> codes: q = clamp(round_half_even(x / scale) + zero_point). NaN -> MQ_ERR_QPARAMS. INT8 / UINT8: one
 * byte per value; INT16: two bytes per value, little-endian, codes [-32768, 32767].
 * scale must be finite and > 0; zero point in the dtype's range. */
mq_status mq_quantize_f32(const float *x, size_t n, float scale, int32_t zero_point,
                          mq_dtype dtype, void *out);

/* mq_quantize_f32, but an infinity is an error too (MQ_ERR_QPARAMS, like NaN), and *first_nonfinite (if not NULL)
 * gets the index of the first NaN or infinity, n when there is none: one pass for the check and the codes. */
mq_status mq_quantize_f32_finite(const float *x, size_t n, float scale, int32_t zero_point, mq_dtype dtype, void *out,
                                 size_t *first_nonfinite);

/* codes -> float: (q - zero_point) * scale (INT16: two little-endian bytes per code). */
mq_status mq_dequantize_f32(const void *q, size_t n, float scale, int32_t zero_point,
                            mq_dtype dtype, float *out);

/* Repack row-major (n, k) int8 weights (nn.Linear layout) into N4K16 (zero-filled padding).
 * packed_size >= mq_packed_weights_size_n4k16(n, k) else MQ_ERR_BUFFER; 1 <= n, k <= 2^24. */
mq_status mq_pack_weights_n4k16(const int8_t *w, int32_t n, int32_t k, int8_t *packed, size_t packed_size);

/* folded[c] = bias[c] (0 if bias NULL) - zp' * sum_k w[c][k], zp' = in_zp - 128 (UINT8) or in_zp (INT8).
 * w is row-major (n, k). Computed in int64, MQ_ERR_QPARAMS if it does not fit int32. */
mq_status mq_fold_bias(const int8_t *w, const int32_t *bias, int32_t n, int32_t k,
                       int32_t in_zero_point, mq_dtype in_dtype, int32_t *folded);

/* Depthwise convolution weights: TFLite's [1, kernel_h, kernel_w, out_c] int8 -> the kernels' layout, int16
 * little-endian [kernel_h][kernel_w][out_c] (mq_depthwise_weights_size bytes = 2 * kh * kw * out_c). */
mq_status mq_depthwise_pack_weights(const int8_t *w, int32_t kernel_h, int32_t kernel_w, int32_t out_c, void *packed,
                                    size_t packed_size);

/* Depthwise bias: prepared[o] = bias[o] (0 if bias NULL) - in_zero_point * sum_t w[t][o], modulo 2^32, where w is
 * TFLite's [1, kh, kw, out_c] and in_zero_point the raw code value (INT8: -128..127, UINT8: 0..255): the kernels
 * multiply raw codes and read in_zero_point for padded taps (docs/QUANTIZATION.md). */
mq_status mq_depthwise_prepare_bias(const int8_t *w, const int32_t *bias, int32_t kernel_h, int32_t kernel_w,
                                    int32_t out_c, int32_t in_zero_point, mq_dtype in_dtype, int32_t *prepared);

/* ------------------------------------------------------------------------------------------------
 * One-call layer preparation (issue 13): raw weights, raw int32 bias and float32 scales in, device parameters
 * out. The packed weights, folded bias, multipliers and shifts are written into ONE caller buffer (4-byte
 * aligned, at least *_prepare_size bytes; MQ_ERR_ALIGN / MQ_ERR_BUFFER otherwise) that the returned params
 * point into: it (and q->lut) must outlive them. Multipliers: M[c] = (double)in_scale * (double)w_scale[c] /
 * (double)out_scale, decomposed by mq_quantize_multiplier (docs/QUANTIZATION.md section 2). Bias: the raw int32
 * bias at scale in_scale * w_scale[c] (NULL = zero), as in TFLite; folding that does not fit int32 is
 * MQ_ERR_QPARAMS (fully connected / conv). The input dtype is given once (q->in_dtype), for the folding and
 * the params alike. The result passes the layer's *_check.
 * ------------------------------------------------------------------------------------------------ */
typedef struct {
    float in_scale;                /* > 0, finite */
    const float *weight_scales;    /* out_c entries when weight_per_channel, else 1; >= 0, finite */
    int32_t weight_per_channel;    /* 1: per output channel, 0: per tensor */
    float out_scale;               /* > 0, finite */
    mq_dtype in_dtype, out_dtype;  /* MQ_DTYPE_INT8 or MQ_DTYPE_UINT8 */
    int32_t in_zero_point, out_zero_point;
    int32_t act_min, act_max;      /* fused clamp in output codes (full range: no activation) */
    const uint8_t *lut;            /* optional fused activation table (mq_lut_build), or NULL */
} mq_layer_quant;

/* Fully connected: weights row-major (n, k) (nn.Linear, TFLite FULLY_CONNECTED [out, in]). */
size_t mq_fc_prepare_size(int32_t n, int32_t k, int32_t per_channel);
mq_status mq_fc_prepare(const int8_t *weights, const int32_t *bias, int32_t n, int32_t k, const mq_layer_quant *q,
                        void *buf, size_t buf_size, mq_fc_params *p);

/* Convolution (KxK or 1x1, group 1): weights OHWI [out_c][kernel_h][kernel_w][in_c] (TFLite CONV_2D); win gives
 * the geometry (out_h / out_w must match, mq_window_check). */
size_t mq_conv_prepare_size(const mq_window *win, int32_t in_c, int32_t out_c, int32_t per_channel);
mq_status mq_conv_prepare(const int8_t *weights, const int32_t *bias, const mq_window *win, int32_t in_c,
                          int32_t out_c, const mq_layer_quant *q, void *buf, size_t buf_size, mq_conv_params *p);

/* Depthwise convolution: weights [1, kernel_h, kernel_w, in_c * depth_multiplier] (TFLite DEPTHWISE_CONV_2D). */
size_t mq_depthwise_prepare_size(const mq_window *win, int32_t in_c, int32_t depth_multiplier, int32_t per_channel);
mq_status mq_depthwise_prepare(const int8_t *weights, const int32_t *bias, const mq_window *win, int32_t in_c,
                               int32_t depth_multiplier, const mq_layer_quant *q, void *buf, size_t buf_size,
                               mq_depthwise_params *p);

/* Activation functions that can be tabulated. Values are part of the packed format. */
typedef enum {
    MQ_ACT_IDENTITY = 0,
    MQ_ACT_SIGMOID = 1,
    MQ_ACT_SILU = 2,
    MQ_ACT_TANH = 3,
    MQ_ACT_HARDSIGMOID = 4,   /* max(0, min(1, alpha*x + beta)); PyTorch: alpha 1/6, beta 1/2; ONNX default 0.2, 0.5 */
    MQ_ACT_HARDSWISH = 5,     /* x * relu6(x + 3) / 6 */
    MQ_ACT_GELU = 6,          /* x * Phi(x), exact (erf) form */
    MQ_ACT_ELU = 7,           /* x > 0 ? x : alpha * (exp(x) - 1) */
    MQ_ACT_MISH = 8,          /* x * tanh(softplus(x)) */
    MQ_ACT_EXP = 9,           /* exp(x), for softmax-style use */
    MQ_ACT_RELU = 10,
    MQ_ACT_RELU6 = 11
} mq_activation;

typedef struct {
    mq_activation fn;
    double alpha;   /* HardSigmoid alpha, ELU alpha (must be finite there); ignored otherwise, NaN included */
    double beta;    /* HardSigmoid beta (must be finite there); ignored otherwise, NaN included */
} mq_activation_desc;

/* Numerically stable float64 reference of fn at x: finite for every finite x
 * (sigmoid through exp(-|x|), softplus through log1p(exp(-|x|)), exp saturates at DBL_MAX). */
double mq_activation_eval(const mq_activation_desc *fn, double x);

/*
 * Fill table[i] for every input code i (code = (int8)i for INT8 input, i for UINT8):
 *   table[i] = clamp(round_half_even(f((code - in_zp) * in_scale) / out_scale) + out_zp)
 * stored as a byte of out_dtype. Double precision, no inf/NaN; the division is rounded with its exact
 * residual, and identity/ReLU/ReLU6 are exact (docs/QUANTIZATION.md section 6).
 */
mq_status mq_lut_build(const mq_activation_desc *fn,
                       double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                       double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                       uint8_t table[256]);

/* The fixed output qparams of sigmoid (and of softmax): scale 1/256 with
 * zero point 0 for UINT8 (PyTorch quint8) or -128 for INT8 (TFLite int8). */
mq_status mq_sigmoid_output_qparams(mq_dtype dtype, double *scale, int32_t *zero_point);

/*
 * Softmax constants (mq_softmax), as TFLite's softmax prepare: real = min(beta * input_scale * 2^26, 2^31 - 1)
 * in double (exact for float32 beta and scale), (input_multiplier, input_left_shift) = QuantizeMultiplier(real)
 * with the shift allowed up to 31, diff_min = -floor(31 * 2^26 / 2^input_left_shift). beta and input_scale
 * finite and > 0, and real > 1 (input_scale * beta > 2^-26), else MQ_ERR_QPARAMS. Pass a TFLite model's float32
 * scale and beta widened to double (beta = 1 for ONNX Softmax).
 */
mq_status mq_softmax_prepare(double input_scale, double beta, int32_t *input_multiplier, int32_t *input_left_shift,
                             int32_t *diff_min);

/*
 * Softmax-table constants (mq_softmax_table): exp_table[d] = round(exp(-input_scale * d) * 2^30), d = 0..255,
 * in double; (multiplier, shift) = the reciprocal r of the output scale as multiplier * 2^-shift, exactly:
 *   MQ_SOFTMAX_RECIP_FLOAT32:  r = float32(1 / output_scale)           (float softmax, then QuantizeLinear)
 *   MQ_SOFTMAX_RECIP_ORT_QLINEAR: r = floor(float32(1 / output_scale))  (onnxruntime's fused QLinearSoftmax, which
 *                                 its default graph optimizations put in place of DQ -> Softmax -> Q: 254 for
 *                                 the usual 1/255 output scale, 256 for 1/256)
 * input_scale and output_scale finite and > 0, r in [2^-38, 2^24) and r >= 1 for ORT_QLINEAR, else
 * MQ_ERR_QPARAMS. Pass the model's float32 scales widened to double.
 */
typedef enum {
    MQ_SOFTMAX_RECIP_FLOAT32 = 0,
    MQ_SOFTMAX_RECIP_ORT_QLINEAR = 1
} mq_softmax_recip_mode;
mq_status mq_softmax_table_prepare(double input_scale, double output_scale, mq_softmax_recip_mode mode,
                                   int32_t exp_table[256], int32_t *multiplier, int32_t *shift);

/* Prepare an elementwise add: out = in1 + in2 in real values (TFLite scheme, left_shift 20). */
mq_status mq_add_prepare(double in1_scale, int32_t in1_zero_point, mq_dtype in1_dtype,
                         double in2_scale, int32_t in2_zero_point, mq_dtype in2_dtype,
                         double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                         int32_t act_min, int32_t act_max, mq_add_params *p);

/*
 * Code clamp of a fused activation that clips real values to [lo, hi] (none: -inf, +inf; ReLU: 0, +inf;
 * ReLU6: 0, 6; Clip(lo, hi)): act_min = zp + round_half_even(lo / scale), act_max = zp + round_half_even(hi /
 * scale), each saturated to the dtype's code range (docs/QUANTIZATION.md section 3). lo <= hi, not NaN.
 */
mq_status mq_clip_range(double lo, double hi, double scale, int32_t zero_point, mq_dtype dtype,
                        int32_t *act_min, int32_t *act_max);

/*
 * One call per pooling layer (average or max): fills every field of *p from the layer description and
 * checks it with mq_pool_check. out_h/out_w = (in + pad_a + pad_b - kernel) / stride + 1; dilation 1.
 * (scale, zero_point) are the qparams shared by input and output; [clip_lo, clip_hi] the fused activation
 * in real values (-INFINITY, INFINITY for none), turned into act_min/act_max by mq_clip_range.
 */
mq_status mq_pool_prepare(int32_t batch, int32_t in_h, int32_t in_w, int32_t channels,
                          int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                          int32_t pad_top, int32_t pad_bottom, int32_t pad_left, int32_t pad_right,
                          mq_dtype dtype, double scale, int32_t zero_point, double clip_lo, double clip_hi,
                          mq_pool_params *p);

/* A LUT activation layer: the table mq_lut_apply reads plus the qparams it was built for. */
typedef struct {
    uint8_t table[256];
    mq_dtype in_dtype, out_dtype;
    int32_t in_zero_point, out_zero_point;
} mq_lut_layer;

/*
 * One call per LUT activation layer: validates (sigmoid requires its fixed output qparams,
 * mq_sigmoid_output_qparams) and builds the table with mq_lut_build.
 */
mq_status mq_lut_layer_prepare(const mq_activation_desc *fn,
                               double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                               double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                               mq_lut_layer *layer);

/*
 * Mean over H, W (mq_mean): (M, s) = QuantizeMultiplier(in_scale / out_scale) (double quotient of the scales as
 * given: pass a TFLite model's float32 scales widened to double), then 1/(h*w) folded in as TFLite does:
 * k = min(floor(log2(h*w)), 31 + s), multiplier = floor(M * 2^k / (h*w)), shift = s - k. The other fields are
 * copied; the result is checked with mq_mean_check.
 */
mq_status mq_mean_prepare(int32_t batch, int32_t h, int32_t w, int32_t channels,
                          double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                          double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                          int32_t act_min, int32_t act_max, mq_mean_params *p);

/*
 * Elementwise multiply (mq_mul): out multiplier/shift = QuantizeMultiplier(in1_scale * in2_scale / out_scale)
 * in double (TFLite Micro's MUL prepare); channels > 0 only with MQ_BCAST_CHANNEL, else 0. Checked with
 * mq_mul_check.
 */
mq_status mq_mul_prepare(double in1_scale, int32_t in1_zero_point, mq_dtype in1_dtype,
                         double in2_scale, int32_t in2_zero_point, mq_dtype in2_dtype,
                         double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                         int32_t act_min, int32_t act_max, mq_broadcast broadcast, int32_t channels,
                         mq_mul_params *p);

/* 8-bit requantize (mq_requantize_u8): multiplier/shift = QuantizeMultiplier(in_scale / out_scale). Checked. */
mq_status mq_requantize_prepare(double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                                double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                                mq_requantize_params *p);

/*
 * Batched host run of a loaded model (the simulator's fast path; host only, allocates): count samples,
 * inputs[i] = count x input i's size_bytes (sample after sample), outputs[o] likewise. Bit-identical to
 * mq_model_run called once per sample: the batch is folded into the kernels' rows / batch (FC: rows x count,
 * convolutions, pools, mean: batch x count, elementwise ops: elements x count; transpose, pad, concat run
 * sample by sample). chunk: samples per pass (0: automatic, ~1 MiB of intermediate tensors). Needs no arena.
 * Returns MQ_OK, MQ_ERR_NULL, MQ_ERR_BUFFER (an allocation failed) or a kernel's status.
 */
mq_status mq_model_run_batch(const mq_model *model, size_t count, const void *const *inputs, void *const *outputs,
                             size_t chunk);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_HOST_H */
