/*
 * MicroQuant: 16x8 device kernels (int16 activations, int8 weights), TFLite's "16x8" scheme.
 *
 * Activations are int16 codes, symmetric: zero point 0 (TFLite requires it for every 16x8 op), real =
 * q * scale. Weights are int8 with zero point 0, per output channel or per tensor. Bias is int64 with scale
 * s_in * s_w[c]. Accumulation is exact (int64). Layouts are NHWC for activations and TFLite's for weights:
 * FULLY_CONNECTED [n][k], CONV_2D OHWI [n][kh][kw][in_c], DEPTHWISE_CONV_2D [kh][kw][out_c] (TFLite's
 * [1, KH, KW, OC]); no repacking, so the host's TFLite tensors can be used as they are.
 *
 * Output stage of FC / conv / depthwise (docs/QUANTIZATION.md section 10):
 *
 *   acc = bias[c] + sum x * w                         (int64)
 *   r   = mq_requantize64(acc, multiplier[c], shift[c])   TFLite's int64 MultiplyByQuantizedMultiplier (LiteRT's
 *                                                         reference CONV_2D / DEPTHWISE, TFLite Micro, CMSIS-NN)
 *       or mq_requantize_exact(acc, exact_scale[c])       LiteRT's reference FULLY_CONNECTED: round((double)acc *
 *                                                         s_in s_w / s_out), emulated in integers
 *   out = clamp(r, act_min, act_max)                  (int16 codes)
 *
 * Fast paths, bit-identical to the portable C (scripts/bench-s16.sh and scripts/test-kernels-qemu.sh check them under
 * QEMU): batched FC and conv without exact_scale copy 4 input rows (im2col rows for conv) into a 2 KiB stack buffer
 * (3.9 KiB of stack in all for k > 256) and run an SXTB16/SMLAD (DSP: M4, M7, M33) or VMLADAVA.S16 (Helium: M55)
 * 4x1 microkernel with int32 accumulation where provably exact; batch-1 FC runs a 1x4 microkernel (DSP: SMLAD on
 * the input pre-permuted once per 32-channel chunk, int32 part sums added in int64; VMLALDAVA.S16 on M55). Depthwise (depth multiplier 1) sums its taps in int32 (DSP: SMLAxy on 4 channels, 3x3
 * weights widened once per 16-channel chunk) with the same int32 output stage; int16 pooling works on channel pairs
 * (DSP: SSUB16/SEL, SXTAH). Add, mul and the rest: portable C.
 *
 * Every other op (add, mul, requantize, softmax's input scaling) uses the 32-bit mq_requantize (TFLite's
 * double rounding), exactly as TFLite's int16 kernels do. No function here allocates, uses floating
 * point or has undefined behaviour on bad arguments (it returns an mq_status).
 */
#ifndef MICROQUANT_MQ_KERNELS_S16_H
#define MICROQUANT_MQ_KERNELS_S16_H

#include <stddef.h>
#include <stdint.h>

#include "mq_kernels.h"
#include "mq_quant.h"
#include "mq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shift range of the 64-bit requantization (TFLite: -31 <= shift < 8). */
#define MQ_SHIFT64_MIN (-31)
#define MQ_SHIFT64_MAX 7

/*
 * TFLite's MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift), single rounding on a
 * 16-bit multiplier:
 *   m16   = multiplier < 0x7FFF0000 ? (multiplier + 2^15) >> 16 : 0x7FFF
 *   total = 15 - shift                         (shift in [-31, 7], so total in [8, 46])
 *   r     = (acc * m16 + 2^(total-1)) >> total (floor: ties toward +infinity)
 * TFLite's contract is -2^47 <= acc < 2^47 and a result that fits int32; outside it this function clamps acc
 * to that range and wraps the result modulo 2^32 (as TFLite's static_cast does), so it never has UB.
 * multiplier must be >= 0 (the kernels check 0 or [2^30, 2^31)).
 */
static inline int32_t mq_requantize64(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int64_t lim = (int64_t)1 << 47;
    const int64_t m16 = multiplier < 0x7FFF0000 ? (((int64_t)multiplier + 32768) >> 16) : 0x7FFF;
    const int32_t total = 15 - shift;
    int64_t r;
    uint32_t u;
    if (acc < -lim) {
        acc = -lim;
    } else if (acc > lim - 1) {
        acc = lim - 1;
    }
    r = (acc * m16 + ((int64_t)1 << (total - 1))) >> total;
    u = (uint32_t)((uint64_t)r & 0xFFFFFFFFu);
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

/*
 * TFLite's reference FULLY_CONNECTED for int16 input (LiteRT's FullyConnectedPerChannel with float scales)
 * does not use a Q31 multiplier: it computes round((double)acc * eff) with eff = (double)s_in * (double)s_w[c]
 * / (double)s_out, rounding half away from zero. mq_requantize_exact reproduces that bit for bit without
 * floating point: eff = mant * 2^exp exactly (mant < 2^53, from mq_exact_scale_from_double on the host), the
 * product |acc| * mant is formed exactly in 128 bits, rounded to 53 significant bits to nearest-even (the
 * double multiplication), then to an integer half away from zero, and saturated to int32.
 */
typedef struct {
    uint64_t mant;              /* 0, or in [2^52, 2^53) */
    int32_t exp;                /* eff = mant * 2^exp, exp in [-1074, 960] */
} mq_exact_scale;

int32_t mq_requantize_exact(int64_t acc, const mq_exact_scale *scale);

/* ---------------------------------------------------------------------------------------------- */
/* Fully connected, convolution, depthwise                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    int32_t n;                  /* output features, 1..2^24 */
    int32_t k;                  /* input features, 1..2^24 */
    const int8_t *weights;      /* row-major [n][k] */
    const int64_t *bias;        /* n entries, or NULL (no bias) */
    const int32_t *multiplier;  /* n entries if per_channel else 1: 0 or [2^30, 2^31) */
    const int32_t *shift;       /* same count, each in [MQ_SHIFT64_MIN, MQ_SHIFT64_MAX] */
    int32_t per_channel;        /* 0 or 1 */
    int32_t act_min, act_max;   /* -32768 <= act_min <= act_max <= 32767 */
    const mq_exact_scale *exact_scale; /* NULL: mq_requantize64 with multiplier/shift (TFLite Micro, CMSIS-NN,
                                          TFLite's CONV_2D); else n (per_channel) or 1 entries and the output
                                          stage is mq_requantize_exact (TFLite's reference FULLY_CONNECTED) */
} mq_fc_s16_params;

mq_status mq_fc_s16_check(const mq_fc_s16_params *p);

/* input [batch, k] int16, output [batch, n] int16; batch >= 1; input and output must not overlap. */
mq_status mq_fully_connected_s16(const mq_fc_s16_params *p, int32_t batch, const int16_t *input,
                                 int16_t *output);

/* KxK (and 1x1) convolution, group 1 (TFLite CONV_2D 16x8). gemm.n = out_c, gemm.k = kernel_h*kernel_w*in_c,
 * weights OHWI. Padded taps contribute nothing (zero point 0). Input [batch, in_h, in_w, in_c],
 * output [batch, out_h, out_w, out_c]. No scratch. */
typedef struct {
    mq_window win;
    int32_t in_c;
    mq_fc_s16_params gemm;
} mq_conv_s16_params;

mq_status mq_conv_s16_check(const mq_conv_s16_params *p);
mq_status mq_conv_s16(const mq_conv_s16_params *p, const int16_t *input, int16_t *output);

/* Depthwise convolution (TFLite DEPTHWISE_CONV_2D 16x8): out channel o = c * depth_multiplier + m reads input
 * channel c; weights [kernel_h][kernel_w][out_c]. */
typedef struct {
    mq_window win;
    int32_t in_c;
    int32_t depth_multiplier;   /* >= 1 */
    const int8_t *weights;
    const int64_t *bias;        /* out_c entries or NULL */
    const int32_t *multiplier;  /* out_c if per_channel else 1 */
    const int32_t *shift;
    int32_t per_channel;
    int32_t act_min, act_max;
} mq_depthwise_s16_params;

mq_status mq_depthwise_s16_check(const mq_depthwise_s16_params *p);
mq_status mq_depthwise_conv_s16(const mq_depthwise_s16_params *p, const int16_t *input, int16_t *output);

/* ---------------------------------------------------------------------------------------------- */
/* Pooling                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* TFLite AVERAGE_POOL_2D / MAX_POOL_2D on int16 (input and output share the scale). Average over the valid
 * (unpadded) taps, rounded half away from zero: acc > 0 ? (acc + cnt/2)/cnt : (acc - cnt/2)/cnt (C division).
 * Max over the valid taps. Then clamp. win.dilation must be 1; kernel_h*kernel_w <= 65536. */
typedef struct {
    mq_window win;
    int32_t channels;
    int32_t act_min, act_max;
} mq_pool_s16_params;

mq_status mq_pool_s16_check(const mq_pool_s16_params *p);
mq_status mq_avg_pool_s16(const mq_pool_s16_params *p, const int16_t *input, int16_t *output);
mq_status mq_max_pool_s16(const mq_pool_s16_params *p, const int16_t *input, int16_t *output);

/* ---------------------------------------------------------------------------------------------- */
/* Elementwise                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* TFLite ADD int16 (general scales, pot_scale_int16 = false): left_shift 15,
 *   a = requant(x1 * 2^15, m1, s1); b = requant(x2 * 2^15, m2, s2); out = clamp(requant(a + b, mo, so)).
 * Multipliers 0 or [2^30, 2^31), shifts in [-31, 0], left_shift in [0, 15]. out may be exactly in1 or in2. */
typedef struct {
    int32_t left_shift;
    int32_t in1_multiplier, in1_shift;
    int32_t in2_multiplier, in2_shift;
    int32_t out_multiplier, out_shift;
    int32_t act_min, act_max;
} mq_add_s16_params;

mq_status mq_add_s16(const mq_add_s16_params *p, const int16_t *in1, const int16_t *in2, int16_t *output,
                     size_t n);

/* TFLite MUL int16: out = clamp(requant(x1 * x2, M, s)) (the product fits int32: |x1 x2| <= 2^30).
 * in2 broadcast as mq_mul (MQ_BCAST_NONE / CHANNEL / SCALAR). out may be exactly in1 (or in2 if not broadcast). */
typedef struct {
    int32_t out_multiplier, out_shift;     /* 0 or [2^30, 2^31); [-31, 30] */
    int32_t act_min, act_max;
    mq_broadcast broadcast;
    int32_t channels;                      /* MQ_BCAST_CHANNEL: n must be a multiple of channels */
} mq_mul_s16_params;

mq_status mq_mul_s16(const mq_mul_s16_params *p, const int16_t *in1, const int16_t *in2, int16_t *output,
                     size_t n);

/* Conversions (TFLite QUANTIZE between int8/uint8 and int16, or int16 -> int16 rescale):
 *   out = clamp(out_zp + requant(x - in_zp, M, s), out dtype range)
 * The 8-bit side has dtype q8_dtype (INT8 or UINT8) and any zero point of it; the int16 side has zero point
 * int16_zero_point (0 in TFLite's 16x8 scheme). In place allowed for s16 -> s16. */
typedef struct {
    mq_dtype q8_dtype;
    int32_t q8_zero_point;
    int32_t int16_zero_point;
    int32_t multiplier, shift;             /* 0 or [2^30, 2^31); [-31, 30] */
} mq_requantize_s16_params;

mq_status mq_requantize_s8_to_s16(const mq_requantize_s16_params *p, const void *input, int16_t *output, size_t n);
mq_status mq_requantize_s16_to_s8(const mq_requantize_s16_params *p, const int16_t *input, void *output, size_t n);
/* int16 -> int16 rescale (TFLite QUANTIZE int16 -> int16): the same formula with two int16 zero points. */
typedef struct {
    int32_t in_zero_point, out_zero_point; /* int16 codes */
    int32_t multiplier, shift;
} mq_rescale_s16_params;
mq_status mq_rescale_s16(const mq_rescale_s16_params *p, const int16_t *input, int16_t *output, size_t n);

/* ---------------------------------------------------------------------------------------------- */
/* Activations                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* 513-entry int16 table with linear interpolation (TFLite's int16 LUTLookup, CMSIS-NN's int16 LUT):
 *   i = 256 + (x >> 7), f = x & 127, out = T[i] + ((T[i+1] - T[i]) * f + 64) >> 7
 * The table is built on the host (mq_lut16_build / mq_lut16_build_tflite, mq_host_s16.h). In place allowed. */
#define MQ_LUT16_SIZE 513
static inline int16_t mq_lut16_lookup(const int16_t *table, int16_t x)
{
    const int32_t xi = (int32_t)x;
    const int32_t i = 256 + (xi >> 7);
    const int32_t f = xi & 127;
    const int32_t base = table[i];
    const int32_t slope = (int32_t)table[i + 1] - base;
    return (int16_t)(base + ((slope * f + 64) >> 7));
}
mq_status mq_lut16_apply(const int16_t table[MQ_LUT16_SIZE], const int16_t *input, int16_t *output, size_t n);

/* TFLite's int16 LOGISTIC and TANH (reference_integer_ops, bit-exact): the 256-entry table of
 * sigmoid(i/24) in 0.16 (mq_sigmoid_table_u16) with 9-bit (sigmoid) / 8-bit (tanh) interpolation after
 * scaling the input to 1/(3*4096) units: v = (x * input_multiplier + round) >> input_left_shift.
 * Output scale 1/32768, zero point 0. Parameters from mq_sigmoid_s16_prepare / mq_tanh_s16_prepare. In place allowed.
 * input_multiplier == 0 means the power-of-two case: multiplier 3 << input_left_shift, shift 0. */
typedef struct {
    int32_t input_multiplier;   /* 0 or [1, 32767] */
    int32_t input_left_shift;   /* [0, 31] (0 or 1 when input_multiplier == 0) */
} mq_sigmoid_s16_params;

extern const uint16_t mq_sigmoid_table_u16[256];
mq_status mq_sigmoid_s16(const mq_sigmoid_s16_params *p, const int16_t *input, int16_t *output, size_t n);
mq_status mq_tanh_s16(const mq_sigmoid_s16_params *p, const int16_t *input, int16_t *output, size_t n);

/* TFLite's int16 SOFTMAX (reference SoftmaxInt16, bit-exact) along the last axis of [outer, depth]:
 *   e_j = LUT16(exp_lut, sat16(requant(x_j - max, input_multiplier, input_shift) + 32767))   (Q0.15)
 *   sum = sum e_j; h = clz(sum); t = ((sum << (h-1)) + 2^13) >> 14
 *   r = LUT16(recip_lut, sat16(t - 98304))                                               (1/(1+x), Q0.15)
 *   out_j = clamp((e_j * r + 2^(30-h)) >> (31 - h), 0, 32767)
 * Output scale 1/32768, zero point 0. depth in [1, 65535]. Tables and multiplier from mq_softmax_s16_prepare.
 * input == output allowed; a partial overlap is MQ_ERR_BUFFER. */
typedef struct {
    int32_t outer, depth;
    int32_t input_multiplier, input_shift;  /* 0 or [2^30, 2^31); [-31, 30] */
    const int16_t *exp_lut;                  /* 513 entries */
    const int16_t *recip_lut;                /* 513 entries */
} mq_softmax_s16_params;

mq_status mq_softmax_s16(const mq_softmax_s16_params *p, const int16_t *input, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_KERNELS_S16_H */
