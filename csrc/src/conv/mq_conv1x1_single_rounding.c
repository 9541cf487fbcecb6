/*
 * mq_conv1x1_single_rounding: pointwise (1x1) convolution requantized with single rounding (packed models with
 * MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV). Same parameters, prepared constants and checks as mq_conv1x1:
 *
 *   input  [batch, in_h, in_w, k] codes of gemm.in_dtype, output [batch, out_h, out_w, n] (n = gemm.n, k = gemm.k)
 *   output pixel (oy, ox) reads input pixel (oy * stride_h - pad_top, ox * stride_w - pad_left), outside the
 *   input a pixel of in_zero_point codes;
 *   out = lut(clamp(out_zero_point + mq_requantize_single(acc, multiplier[o], shift[o]), act_min, act_max)).
 *
 * The layer is the 1x1 case of mq_conv_single_rounding (kernel 1, dilation 1): it runs that loop. No scratch.
 * Input and output must not overlap (MQ_ERR_BUFFER); no in-place variant (the packer plans these ops apart).
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

/* The 1x1 layer as a KxK one (kernel 1, dilation 1), output size out_h x out_w. */
static void mq_conv1x1_as_conv(const mq_conv1x1_params *p, int32_t out_h, int32_t out_w, mq_conv_params *cp)
{
    mq_conv_params c;
    c.win.batch = p->batch;
    c.win.in_h = p->in_h;
    c.win.in_w = p->in_w;
    c.win.out_h = out_h;
    c.win.out_w = out_w;
    c.win.kernel_h = 1;
    c.win.kernel_w = 1;
    c.win.stride_h = p->stride_h;
    c.win.stride_w = p->stride_w;
    c.win.dilation_h = 1;
    c.win.dilation_w = 1;
    c.win.pad_top = p->pad_top;
    c.win.pad_bottom = p->pad_bottom;
    c.win.pad_left = p->pad_left;
    c.win.pad_right = p->pad_right;
    c.in_c = p->gemm.k;
    c.in_zero_point = p->in_zero_point;
    c.gemm = p->gemm;
    *cp = c;
}

void mq_conv1x1_portable_unchecked(const mq_conv1x1_params *p, const void *input, void *output, int f32)
{
    mq_conv_params c;
    int32_t out_h = 0;
    int32_t out_w = 0;
    (void)mq_conv1x1_output_size(p, &out_h, &out_w); /* validated at load */
    mq_conv1x1_as_conv(p, out_h, out_w, &c);
    mq_conv_portable_unchecked(&c, input, output, f32);
}

mq_status mq_conv1x1_single_rounding(const mq_conv1x1_params *p, const void *input, void *output)
{
    mq_conv_params c;
    int32_t out_h = 0;
    int32_t out_w = 0;
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_conv1x1_output_size(p, &out_h, &out_w);
    if (st != MQ_OK) {
        return st;
    }
    mq_conv1x1_as_conv(p, out_h, out_w, &c);
    return mq_conv_single_rounding(&c, input, output);
}
