/*
 * MicroQuant internal: unchecked entries into the operators, for the interpreter (mq_model_run) only.
 *
 * The packed-model loader validates every parameter of every op once, at load time (the same *_check
 * functions the public operators call); the interpreter then calls these, which do only arithmetic:
 * no per-call re-validation of the (per-channel) requantization parameters (issue 11: mq_fc_params_check
 * on every call was 3 % of the autoencoder's time). Direct users call the checked public functions in
 * mq_kernels.h. Calling these with parameters the checks would reject is undefined.
 */
#ifndef MICROQUANT_MQ_KERNELS_UNCHECKED_H
#define MICROQUANT_MQ_KERNELS_UNCHECKED_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels.h"
#include "microquant/mq_kernels_s16.h"

/* The checked FULLY_CONNECTED entry points' call check (mq_fully_connected, mq_fully_connected_single_rounding):
 * mq_fc_params_check, non-NULL buffers, 1 <= batch <= MQ_MAX_DIM, input and output apart (mq_fc_params_check.c). */
mq_status mq_fc_call_check(const mq_fc_params *p, int32_t batch, const void *input, const void *output);

/* mq_fully_connected after mq_fc_params_check, batch >= 1 and the overlap check passed. */
void mq_fully_connected_unchecked(const mq_fc_params *p, int32_t batch, const void *input, void *output);

/* mq_fully_connected_s16 after mq_fc_s16_check (the loader's, once per model), batch >= 1, batch * k and
 * batch * n <= 2^30, input and output apart: the arithmetic only (no per-call O(n) parameter scan). */
void mq_fully_connected_s16_unchecked(const mq_fc_s16_params *p, int32_t batch, const int16_t *input,
                                      int16_t *output);

/* mq_conv1x1 after its checks passed; scratch holds mq_conv1x1_scratch_size(p) bytes (NULL when 0). */
void mq_conv1x1_unchecked(const mq_conv1x1_params *p, const void *input, void *output, void *scratch);

/* mq_conv after mq_conv_check and its buffer checks; scratch holds mq_conv_scratch_size(p) bytes (NULL when 0),
 * apart from input and output. 1x1 layers go to mq_conv1x1_unchecked. */
void mq_conv_unchecked(const mq_conv_params *p, const void *input, void *output, void *scratch);

/* mq_conv_single_rounding after mq_conv_check and its overlap check (also runs 1x1 layers: no scratch). */
void mq_conv_single_rounding_unchecked(const mq_conv_params *p, const void *input, void *output);
/* The portable single-rounding loops after their checks (input and output apart), output stage single rounding
 * (f32 = 0) or onnxruntime's float32 one emulated in integers (f32 = 1, mq_output_f32_emul: MQ_MODEL_FLAG_ORT_FLOAT32). */
void mq_conv_portable_unchecked(const mq_conv_params *p, const void *input, void *output, int f32);
void mq_conv1x1_portable_unchecked(const mq_conv1x1_params *p, const void *input, void *output, int f32);
void mq_fc_portable_unchecked(const mq_fc_params *p, int32_t batch, const void *input, void *output, int f32);
void mq_depthwise_portable_unchecked(const mq_depthwise_params *p, const void *input, void *output, int f32);

/* mq_depthwise_conv after mq_depthwise_check and its buffer checks; scratch as mq_conv_unchecked. */
void mq_depthwise_conv_unchecked(const mq_depthwise_params *p, const void *input, void *output, void *scratch);

/* The row driver's per-layer set-up (window geometry, tap offsets, the fast kernel's set-up cache): filled once by
 * mq_depthwise_rows_begin, then read by every mq_depthwise_rows call of the layer. */
typedef struct {
    const mq_depthwise_params *p;
    const uint8_t *pad;      /* the padding pixel (NULL when there is no padding) */
    void *cache;             /* NULL or MQ_DW_CACHE_BYTES, first word 0 before the first row of the layer */
    size_t toff[16];         /* tap offsets from the window origin (kernels of up to 16 taps: small) */
    size_t pix_step;         /* in_c * stride_w: window origin step between output columns */
    size_t row_bytes;        /* in_w * in_c */
    int32_t out_c;
    int32_t ox_lo;           /* output columns ox_lo .. ox_hi have every tap inside the input's columns */
    int32_t ox_hi;
    int32_t chunk;           /* pixels per run: MQ_DW_TAP_BUFFER / ntaps */
    int32_t ntaps;
    int32_t small;           /* ntaps <= 16 */
    int32_t nine;            /* 3x3 kernel */
    uint16_t cm9[8];         /* 3x3: the inside taps of border columns 0..3 (ox < ox_lo) and out_w - 1 - 0..3
                                (ox > ox_hi), as 9-bit masks (bit 3 * ky + kx) */
} mq_dw_rows_state;

/* Set-up for mq_depthwise_rows: p checked, pad_pixel = mq_depthwise_scratch_size(p) bytes of in_zero_point codes
 * (filled by the caller; NULL when that is 0), cache: NULL or the caller's MQ_DW_CACHE_BYTES (mq_microkernels.h)
 * with first word 0, kept over the layer's rows. */
void mq_depthwise_rows_begin(mq_dw_rows_state *s, const mq_depthwise_params *p, const void *pad_pixel, void *cache);

/* Output rows oy0 .. oy1 - 1 of image input (batch 0 of the view): out_w pixels of in_c * M codes each, consecutive
 * from out. Reads only input rows oy*stride_h - pad_top + ky*dilation_h inside [0, in_h) of those rows. */
void mq_depthwise_rows(const mq_dw_rows_state *s, const void *input, int32_t oy0, int32_t oy1, void *out);

/* mq_depthwise_conv_inplace after its checks: buf holds the input and receives the output (same start);
 * scratch holds mq_depthwise_inplace_scratch_size(p) bytes apart from buf's input and output. */
void mq_depthwise_conv_inplace_unchecked(const mq_depthwise_params *p, void *buf, void *scratch);

/* mq_conv1x1_inplace after its checks: buf holds the input and receives the output (same start);
 * scratch holds mq_conv1x1_inplace_scratch_size(p) bytes apart from buf. */
void mq_conv1x1_inplace_unchecked(const mq_conv1x1_params *p, void *buf, void *scratch);

/* mq_add after its parameter checks; each input exactly on the output or apart from it. */
void mq_add_unchecked(const mq_add_params *p, const void *in1, const void *in2, void *output, size_t n);
/* The tabulated same-shape ADD in two steps, for a caller that runs one add as many short calls (the row-streamed
 * segment, one call per row): mq_add_tabulate fills t1, t2 (256 int32 each: each input code's rescaled term) and
 * returns 1 when p takes that path (no broadcast, every shift <= 0), else 0; mq_add_tabulated then runs n elements
 * with them: the same bytes as mq_add_unchecked (whose calls of n >= 1024 elements take this path themselves). */
int mq_add_tabulate(const mq_add_params *p, int32_t *t1, int32_t *t2);
void mq_add_tabulated(const mq_add_params *p, const int32_t *t1, const int32_t *t2, const void *in1, const void *in2,
                      void *output, size_t n);

/* mq_mul after mq_mul_check; n a multiple of channels (MQ_BCAST_CHANNEL), mq_mul's aliasing rule. */
void mq_mul_unchecked(const mq_mul_params *p, const void *in1, const void *in2, void *output, size_t n);

/* mq_requantize_u8 after mq_requantize_check; output exactly on the input or apart from it. */
void mq_requantize_u8_unchecked(const mq_requantize_params *p, const void *input, void *output, size_t n);

/* mq_lut_apply with a 256-byte table; output exactly on the input or apart from it. */
void mq_lut_apply_unchecked(const uint8_t table[256], const void *input, void *output, size_t n);

/* mq_transpose_u8 with rank 1..MQ_MAX_RANK, dims >= 1 (product fits size_t), perm a permutation; apart. */
void mq_transpose_u8_unchecked(const int32_t *in_dims, const int32_t *perm, int32_t rank,
                               const void *input, void *output);

/* mq_pad after mq_pad_check; input and output apart. */
void mq_pad_unchecked(const mq_pad_params *p, const void *input, void *output);

/* mq_concat after mq_concat_check; inputs non-NULL, each apart from the output or (outer == 1) exactly at its
 * slice of it. */
void mq_concat_unchecked(const mq_concat_params *p, const void *const *inputs, void *output);

/* mq_softmax after mq_softmax_check; output exactly on the input or apart from it. */
void mq_softmax_unchecked(const mq_softmax_params *p, const void *input, void *output);
/* mq_softmax_table after mq_softmax_table_check; output exactly on the input or apart from it. */
void mq_softmax_table_unchecked(const mq_softmax_table_params *p, const void *input, void *output);

/* mq_avg_pool / mq_max_pool after mq_pool_check; input and output apart. The _c forms are the portable
 * bodies (mq_avg_pool_c / mq_max_pool_c); the plain forms keep the core's fast-path dispatch. */
void mq_avg_pool_unchecked(const mq_pool_params *p, const void *input, void *output);
void mq_avg_pool_c_unchecked(const mq_pool_params *p, const void *input, void *output);
void mq_max_pool_unchecked(const mq_pool_params *p, const void *input, void *output);
void mq_max_pool_c_unchecked(const mq_pool_params *p, const void *input, void *output);

/* mq_mean after mq_mean_check; input and output apart (same dispatch as the pools). */
void mq_mean_unchecked(const mq_mean_params *p, const void *input, void *output);
void mq_mean_c_unchecked(const mq_mean_params *p, const void *input, void *output);
/* MEAN with onnxruntime's float32 output stage emulated (MQ_MODEL_FLAG_ORT_FLOAT32; mq_mean.c). */
void mq_mean_f32_unchecked(const mq_mean_params *p, const void *input, void *output);

#endif /* MICROQUANT_MQ_KERNELS_UNCHECKED_H */
