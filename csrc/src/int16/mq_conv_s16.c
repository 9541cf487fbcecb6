/*
 * mq_conv_s16: TFLite CONV_2D 16x8 (ConvPerChannel with int16 input, int8 filter, int64 bias), NHWC.
 *   input [batch, in_h, in_w, in_c] int16, weights OHWI [out_c][kernel_h][kernel_w][in_c] int8 (gemm.weights,
 *   gemm.k = kernel_h * kernel_w * in_c), bias int64 [out_c] or NULL, output [batch, out_h, out_w, out_c]:
 *   acc = bias[o] + sum over valid taps (ky, kx) and c of x[b][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw][c] * w[o][ky][kx][c]
 *   out = clamp(requant64(acc, M[o], s[o]))
 * Padded taps are skipped (zero point 0 means they contribute 0, as in TFLite). Geometry: mq_window.
 * Without exact_scale: the 4-row path mq_s16_gemm4 (the im2col rows of 4 output pixels
 * buffered, int32 accumulation where provably exact; mq_s16_gemm.h). Otherwise groups of 4 output channels run
 * through the mq_dot4_s16_s8 microkernel (DSP variant on Cortex-M4/M7/M33), int64.
 */
#include "mq_s16_dot4.h"
#include "mq_s16_gemm.h"

/* Row = output pixel (b, oy, ox) in NHWC order; its buffer row is the im2col row: for each tap (ky, kx) the
 * in_c input channels of the pixel it reads, zeros for a padded tap. */
typedef struct {
    const mq_conv_s16_params *p;
    const int16_t *x;
} mq_conv_s16_rows;

/* 1x1, stride 1, no padding (then out = in): the im2col row of output pixel `row` is input pixel `row` itself. */
static void mq_conv_s16_fill_1x1(const void *ctx, mq_s16_xbuf *xb, int32_t slot, int32_t row, int32_t kofs,
                                 int32_t len)
{
    const mq_conv_s16_params *p = ((const mq_conv_s16_rows *)ctx)->p;
    const int16_t *x = ((const mq_conv_s16_rows *)ctx)->x;
    mq_s16_xb_put(xb, slot, 0, x + (size_t)row * (size_t)p->in_c + (size_t)kofs, len);
}

static void mq_conv_s16_fill(const void *ctx, mq_s16_xbuf *xb, int32_t slot, int32_t row, int32_t kofs,
                             int32_t len)
{
    const mq_conv_s16_params *p = ((const mq_conv_s16_rows *)ctx)->p;
    const int16_t *x = ((const mq_conv_s16_rows *)ctx)->x;
    const mq_window *w = &p->win;
    const int32_t ox = row % w->out_w, t = row / w->out_w;
    const int32_t oy = t % w->out_h, b = t / w->out_h;
    const int32_t iy0 = oy * w->stride_h - w->pad_top, ix0 = ox * w->stride_w - w->pad_left;
    const int32_t in_c = p->in_c, end = kofs + len;
    int32_t tap, e = kofs, pos = 0;
    if (kofs == 0 && len == p->gemm.k) {
        /* the whole row (k <= MQ_S16_XB_K): tap by tap, no division */
        int32_t ky, kx;
        const int row_inside = w->dilation_w == 1 && ix0 >= 0 && ix0 + w->kernel_w <= w->in_w;
        for (ky = 0; ky < w->kernel_h; ++ky) {
            const int32_t iy = iy0 + ky * w->dilation_h;
            if (row_inside) {
                /* the kernel row's taps are contiguous in the input (dilation 1, all columns inside): one copy */
                const int32_t rl = w->kernel_w * in_c;
                if (iy < 0 || iy >= w->in_h) {
                    mq_s16_xb_put(xb, slot, pos, NULL, rl);
                } else {
                    mq_s16_xb_put(xb, slot, pos,
                                  x + (((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w + (size_t)ix0) *
                                          (size_t)in_c,
                                  rl);
                }
                pos += rl;
                continue;
            }
            for (kx = 0; kx < w->kernel_w; ++kx, pos += in_c) {
                const int32_t ix = ix0 + kx * w->dilation_w;
                if (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w) {
                    mq_s16_xb_put(xb, slot, pos, NULL, in_c);
                } else {
                    mq_s16_xb_put(xb, slot, pos,
                                  x + (((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w + (size_t)ix) *
                                          (size_t)in_c,
                                  in_c);
                }
            }
        }
        return;
    }
    tap = kofs / in_c;
    while (e < end) {
        const int32_t ky = tap / w->kernel_w, kx = tap % w->kernel_w;
        const int32_t iy = iy0 + ky * w->dilation_h, ix = ix0 + kx * w->dilation_w;
        const int32_t first = e - tap * in_c;
        const int32_t cnt = in_c - first < end - e ? in_c - first : end - e;
        if (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w) {
            mq_s16_xb_put(xb, slot, pos, NULL, cnt);
        } else {
            mq_s16_xb_put(xb, slot, pos,
                          x + (((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w + (size_t)ix) *
                                  (size_t)in_c + (size_t)first,
                          cnt);
        }
        pos += cnt;
        e += cnt;
        ++tap;
    }
}

mq_status mq_conv_s16_check(const mq_conv_s16_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_fc_s16_check(&p->gemm);
    if (st != MQ_OK) {
        return st;
    }
    st = mq_s16_window_check(&p->win, p->in_c, p->gemm.n);
    if (st != MQ_OK) {
        return st;
    }
    if ((int64_t)p->win.kernel_h * p->win.kernel_w * p->in_c != p->gemm.k) {
        return MQ_ERR_SHAPE;
    }
    return MQ_OK;
}

mq_status mq_conv_s16(const mq_conv_s16_params *p, const int16_t *input, int16_t *output)
{
    const mq_window *w;
    const mq_fc_s16_params *g;
    mq_s16_outstage os;
    int32_t b, oy, ox, o, ky, kx;
    size_t in_bytes, out_bytes;
    mq_status st = mq_conv_s16_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    g = &p->gemm;
    os = mq_s16_outstage_of(g);
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c * 2u;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)g->n * 2u;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    if (mq_s16_gemm4_ok(g)) {
        mq_conv_s16_rows f;
        f.p = p;
        f.x = input;
        const int plain_1x1 = w->kernel_h == 1 && w->kernel_w == 1 && w->stride_h == 1 && w->stride_w == 1 &&
                              w->pad_top == 0 && w->pad_left == 0 && w->pad_bottom == 0 && w->pad_right == 0;
        mq_s16_gemm4(g, w->batch * w->out_h * w->out_w, plain_1x1 ? mq_conv_s16_fill_1x1 : mq_conv_s16_fill, &f,
                     output);
        return MQ_OK;
    }
    if (w->kernel_h == 1 && w->kernel_w == 1) {
        /* 1x1: one tap per output pixel (a padded pixel's accumulator is the bias). Groups of 4 output channels
         * outside, pixels inside: the group's bias and requantization constants are loaded once and its 4 weight
         * rows stay in cache while the input pixels stream. */
        const int32_t n = g->n, in_c = p->in_c;
        const int64_t *bias = g->bias;
        for (o = 0; o < n; o += 4) {
            const int32_t cnt = n - o < 4 ? n - o : 4;
            const int8_t *wo = g->weights + (size_t)o * (size_t)in_c;
            int64_t b0[4];
            mq_rq64 rq[4];
            int32_t r;
            size_t px = 0;
            for (r = 0; r < 4; ++r) {
                const int32_t q = (o + (r < cnt ? r : 0)) & os.qmask;
                b0[r] = bias != NULL && r < cnt ? bias[o + r] : 0;
                rq[r] = mq_rq64_of(os.mult[q], os.shift[q]);
            }
            for (b = 0; b < w->batch; ++b) {
                for (oy = 0; oy < w->out_h; ++oy) {
                    const int32_t iy = oy * w->stride_h - w->pad_top;
                    for (ox = 0; ox < w->out_w; ++ox, ++px) {
                        const int32_t ix = ox * w->stride_w - w->pad_left;
                        int16_t *y = output + px * (size_t)n + (size_t)o;
                        int64_t acc[4];
                        acc[0] = b0[0];
                        acc[1] = b0[1];
                        acc[2] = b0[2];
                        acc[3] = b0[3];
                        if (iy >= 0 && iy < w->in_h && ix >= 0 && ix < w->in_w) {
                            const int16_t *xp = input + (((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w +
                                                         (size_t)ix) * (size_t)in_c;
                            if (cnt == 4) {
                                mq_dot4_s16_s8(xp, wo, (size_t)in_c, in_c, acc);
                            } else {
                                for (r = 0; r < cnt; ++r) {
                                    acc[r] += mq_dot_s16_s8(xp, wo + (size_t)r * (size_t)in_c, in_c);
                                }
                            }
                        }
                        if (os.exact == NULL) {
                            for (r = 0; r < cnt; ++r) {
                                const int32_t v = mq_rq64_apply(rq[r], acc[r]);
                                y[r] = (int16_t)(v < os.lo ? os.lo : (v > os.hi ? os.hi : v));
                            }
                        } else {
                            for (r = 0; r < cnt; ++r) {
                                y[r] = mq_s16_out_stage(&os, o + r, acc[r]);
                            }
                        }
                    }
                }
            }
        }
        return MQ_OK;
    }
    for (b = 0; b < w->batch; ++b) {
        for (oy = 0; oy < w->out_h; ++oy) {
            const int32_t iy0 = oy * w->stride_h - w->pad_top;
            for (ox = 0; ox < w->out_w; ++ox) {
                const int32_t ix0 = ox * w->stride_w - w->pad_left;
                int16_t *y = output + (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w + (size_t)ox) *
                                          (size_t)g->n;
                for (o = 0; o < g->n; o += 4) {
                    /* 4 output channels at a time share every input pixel (mq_dot4_s16_s8); the last n mod 4 alone */
                    const int32_t cnt = g->n - o < 4 ? g->n - o : 4;
                    int64_t acc[4];
                    int32_t r;
                    for (r = 0; r < 4; ++r) {
                        acc[r] = g->bias != NULL && r < cnt ? g->bias[o + r] : 0;
                    }
                    for (ky = 0; ky < w->kernel_h; ++ky) {
                        const int32_t iy = iy0 + ky * w->dilation_h;
                        if (iy < 0 || iy >= w->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * w->dilation_w;
                            const int16_t *xp;
                            const int8_t *wp;
                            if (ix < 0 || ix >= w->in_w) {
                                continue;
                            }
                            xp = input + (((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w + (size_t)ix) *
                                             (size_t)p->in_c;
                            wp = g->weights + (size_t)o * (size_t)g->k +
                                 ((size_t)ky * (size_t)w->kernel_w + (size_t)kx) * (size_t)p->in_c;
                            if (cnt == 4) {
                                mq_dot4_s16_s8(xp, wp, (size_t)g->k, p->in_c, acc);
                            } else {
                                for (r = 0; r < cnt; ++r) {
                                    acc[r] += mq_dot_s16_s8(xp, wp + (size_t)r * (size_t)g->k, p->in_c);
                                }
                            }
                        }
                    }
                    for (r = 0; r < cnt; ++r) {
                        y[o + r] = mq_s16_out_stage(&os, o + r, acc[r]);
                    }
                }
            }
        }
    }
    return MQ_OK;
}
