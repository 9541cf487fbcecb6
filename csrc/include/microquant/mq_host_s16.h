/*
 * MicroQuant: host-side preparation of the 16x8 kernels (mq_kernels_s16.h). Double precision, offline only
 * (csrc/host/, never linked into firmware). Scales are passed as doubles; to reproduce TFLite exactly pass
 * the float32 scales of the .tflite file (converted to double), as TFLite itself computes from float32.
 *
 * Multipliers of FC / conv / depthwise / mul / requantize come from mq_quantize_multiplier (mq_host.h):
 *   FC, conv, depthwise: M[c] = s_in * s_w[c] / s_out   (shift must end in [-31, 7])
 *   mul:                 M = s1 * s2 / s_out
 *   requantize:          M = s_in / s_out
 */
#ifndef MICROQUANT_MQ_HOST_S16_H
#define MICROQUANT_MQ_HOST_S16_H

#include <stdint.h>

#include "mq_host.h"
#include "mq_kernels_s16.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output multipliers of a 16x8 FC / conv / depthwise, per channel (count = n) or per tensor (count = 1):
 * eff[c] = s_in * s_w[c] / s_out in double, in that order (TFLite's); (multiplier[c], shift[c]) =
 * mq_quantize_multiplier(eff[c]) for mq_requantize64 and, when exact is not NULL, exact[c] =
 * mq_exact_scale_from_double(eff[c]) for LiteRT's reference FULLY_CONNECTED stage. MQ_ERR_QPARAMS when a scale is
 * not positive and finite or a shift would exceed 7 (TFLite's limit for the int64 requantization). */
mq_status mq_s16_output_multipliers(double in_scale, const double *weight_scales, int32_t count, double out_scale,
                                    int32_t *multiplier, int32_t *shift, mq_exact_scale *exact);

/* eff = mant * 2^exp exactly (frexp: mant = f * 2^53 in [2^52, 2^53), exp = e - 53); eff = 0 gives mant 0.
 * For TFLite's reference FULLY_CONNECTED pass eff = (double)s_in * (double)s_w[c] / (double)s_out (that order).
 * MQ_ERR_QPARAMS when eff is negative, not finite, or subnormal. */
mq_status mq_exact_scale_from_double(double eff, mq_exact_scale *out);

/* TFLite ADD int16 prepare (general scales): left_shift 15, twice_max = 2 max(s1, s2),
 * (m1, sh1) = Q(s1 / twice_max), (m2, sh2) = Q(s2 / twice_max), (mo, sho) = Q(twice_max / (2^15 s_out)).
 * act range in int16 codes. MQ_ERR_QPARAMS on a non-positive / non-finite scale or a multiplier >= 1. */
mq_status mq_add_s16_prepare(double in1_scale, double in2_scale, double out_scale, int32_t act_min,
                             int32_t act_max, mq_add_s16_params *p);

/* TFLite LOGISTIC / TANH int16 prepare (output scale 1/32768): power-of-two input scale 2^-12 (sigmoid), 2^-12
 * or 2^-11 (tanh) -> multiplier 0 and that shift; otherwise m = s * 12288 doubled (left_shift + 1) while
 * m <= 16383.5 and left_shift <= 30, input_multiplier = (int32) m (truncated). The power-of-two test is TFLite's
 * CheckedLog2 in float (|log2 s - round(log2 s)| < 1e-3). MQ_ERR_QPARAMS when the multiplier would exceed
 * 32767 (scale > 2.67) or the scale is not positive and finite. */
mq_status mq_sigmoid_s16_prepare(double in_scale, mq_sigmoid_s16_params *p);
mq_status mq_tanh_s16_prepare(double in_scale, mq_sigmoid_s16_params *p);

/* A function for the 513-entry tables: y = fn(x, ctx). */
typedef double (*mq_real_fn)(double x, const void *ctx);

/* TFLite's LUTPopulate<int16_t> in double (LUTPopulateInt16<double>), bit-for-bit the same arithmetic:
 * input range [s_in (-32768 - zp_in), s_in (32767 - zp_in)] in 512 steps, output scaling
 * 65536 / (s_out (32767 - zp_out) - s_out (-32768 - zp_out)), each entry the rounded (half away) sample minus
 * half the rounded midpoint interpolation error, saturated; entry 512 the rounded f(input_max). */
mq_status mq_lut16_build_tflite(mq_real_fn fn, const void *ctx, double in_scale, int32_t in_zero_point,
                                double out_scale, int32_t out_zero_point, int16_t table[MQ_LUT16_SIZE]);

/* MicroQuant's 513-entry table for an activation on int16 codes (zero points 0), in double precision:
 * node i sits exactly on the input code c_i = 128 i - 32768 (so the lookup's cell boundaries are the
 * table's nodes), y_i = f(c_i s_in) / s_out, and
 *   T[i] = clamp(round_half_even(y_i - e_i / 2)),   e_i = (y_i + y_{i+1}) / 2 - f((c_i + 64) s_in) / s_out
 * (half the chord's midpoint error moved into the node, which halves the interpolation error of convex
 * stretches). T[512] is f(32768 s_in) unbiased. fn: mq_activation_eval's functions (mq_host.h).
 * then a minimax pass (each node moved by up to +-2 codes while that lowers the larger error of its two cells,
 * evaluated on all 65,536 inputs; a 512 KB host buffer, MQ_ERR_BUFFER if it cannot be allocated).
 * The measured error bounds are in docs/QUANTIZATION.md section 10. */
mq_status mq_lut16_build(const mq_activation_desc *fn, double in_scale, double out_scale,
                         int16_t table[MQ_LUT16_SIZE]);

/* TFLite SOFTMAX int16 prepare: exp_lut = mq_lut16_build_tflite(exp, 10/65535, 32767, 2/65535, 0),
 * recip_lut = mq_lut16_build_tflite(1/(1+x), 1/65535, -32768, 2/65535, 0), and
 * (input_multiplier, input_shift) = Q((float)(s_in * beta) / (10 / 65535)). */
mq_status mq_softmax_s16_prepare(double in_scale, double beta, int16_t exp_lut[MQ_LUT16_SIZE],
                                 int16_t recip_lut[MQ_LUT16_SIZE], int32_t *input_multiplier,
                                 int32_t *input_shift);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_HOST_S16_H */
