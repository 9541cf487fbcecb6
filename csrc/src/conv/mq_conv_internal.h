/*
 * MicroQuant internal: im2col planning of mq_conv (shared by mq_conv, mq_conv_scratch_size and mq_conv_check).
 *
 * mq_conv lowers a KxK convolution to the N4K16 GEMM microkernel: a block of `rows` output pixels is gathered
 * (im2col) into the scratch as rows of `row_bytes` codes (k = kernel_h * kernel_w * in_c taps, padded taps =
 * in_zero_point, then zero-weight filler up to a multiple of 16 so the DSP pair loop takes every row), and one
 * microkernel call computes the block. Block size: as many pixels as fit MQ_CONV_SCRATCH_TARGET bytes, at least
 * MQ_CONV_MIN_ROWS (enough rows for the 2-row microkernel loops and to spread the per-call group set-up) and at
 * most MQ_CONV_MAX_ROWS (beyond that the set-up is already < 2 % of the work), never more than the pixels.
 * The plan depends only on the parameters, never on the build: the host plans the same scratch as the device.
 */
#ifndef MICROQUANT_MQ_CONV_INTERNAL_H
#define MICROQUANT_MQ_CONV_INTERNAL_H

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

#define MQ_CONV_SCRATCH_TARGET 2048
#define MQ_CONV_MIN_ROWS 4
#define MQ_CONV_MAX_ROWS 32

/* 1 when mq_conv runs this layer through mq_conv1x1 (1x1 kernel, strides 1 or 2). */
static inline int mq_conv_is_1x1(const mq_conv_params *p)
{
    return p->win.kernel_h == 1 && p->win.kernel_w == 1 && p->win.stride_h <= 2 && p->win.stride_w <= 2;
}

/* Bytes of one im2col row: k rounded up to 16. */
static inline int32_t mq_conv_row_bytes(const mq_conv_params *p)
{
    return (p->gemm.k + 15) & ~15;
}

/* Output pixels per im2col block (p already checked). */
static inline int32_t mq_conv_block_rows(const mq_conv_params *p)
{
    const int32_t pixels = p->win.batch * p->win.out_h * p->win.out_w;
    int32_t rows = MQ_CONV_SCRATCH_TARGET / mq_conv_row_bytes(p);
    rows = rows < MQ_CONV_MIN_ROWS ? MQ_CONV_MIN_ROWS : (rows > MQ_CONV_MAX_ROWS ? MQ_CONV_MAX_ROWS : rows);
    return rows < pixels ? rows : pixels;
}

/* The same layer as the pointwise operator's parameters (mq_conv_is_1x1 layers). */
static inline void mq_conv_as_1x1(const mq_conv_params *p, mq_conv1x1_params *c)
{
    c->batch = p->win.batch;
    c->in_h = p->win.in_h;
    c->in_w = p->win.in_w;
    c->stride_h = p->win.stride_h;
    c->stride_w = p->win.stride_w;
    c->pad_top = p->win.pad_top;
    c->pad_left = p->win.pad_left;
    c->pad_bottom = p->win.pad_bottom;
    c->pad_right = p->win.pad_right;
    c->gemm = p->gemm;
    c->in_zero_point = p->in_zero_point;
}

#endif /* MICROQUANT_MQ_CONV_INTERNAL_H */
