/*
 * mq_depthwise_conv_s16: TFLite DEPTHWISE_CONV_2D 16x8 (DepthwiseConvPerChannel, int16 input, int8 filter,
 * int64 bias), NHWC. out_c = in_c * depth_multiplier; output channel o = c * depth_multiplier + m reads input
 * channel c; weights [kernel_h][kernel_w][out_c] int8:
 *   acc = bias[o] + sum over valid taps of x[b][iy][ix][c] * w[ky][kx][o];   out = clamp(requant64(acc, M[o], s[o]))
 */
#include "mq_s16_internal.h"

mq_status mq_depthwise_s16_check(const mq_depthwise_s16_params *p)
{
    mq_status st;
    int64_t out_c;
    if (p == NULL || p->weights == NULL || p->multiplier == NULL || p->shift == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->in_c < 1 || p->depth_multiplier < 1 || p->in_c > (1 << 24) || p->depth_multiplier > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    out_c = (int64_t)p->in_c * p->depth_multiplier;
    if (out_c > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    st = mq_s16_window_check(&p->win, p->in_c, (int32_t)out_c);
    if (st != MQ_OK) {
        return st;
    }
    if ((int64_t)p->win.kernel_h * p->win.kernel_w * out_c > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    if (p->per_channel != 0 && p->per_channel != 1) {
        return MQ_ERR_QPARAMS;
    }
    if (!mq_s16_mults_ok(p->multiplier, p->shift, p->per_channel ? (int32_t)out_c : 1) ||
        !mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

mq_status mq_depthwise_conv_s16(const mq_depthwise_s16_params *p, const int16_t *input, int16_t *output)
{
    const mq_window *w;
    int32_t b, oy, ox, c, m, ky, kx, out_c;
    size_t in_bytes, out_bytes;
    mq_status st = mq_depthwise_s16_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    out_c = p->in_c * p->depth_multiplier;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c * 2u;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)out_c * 2u;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    for (b = 0; b < w->batch; ++b) {
        for (oy = 0; oy < w->out_h; ++oy) {
            const int32_t iy0 = oy * w->stride_h - w->pad_top;
            for (ox = 0; ox < w->out_w; ++ox) {
                const int32_t ix0 = ox * w->stride_w - w->pad_left;
                int16_t *y = output + (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w + (size_t)ox) *
                                          (size_t)out_c;
                for (c = 0; c < p->in_c; ++c) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t o = c * p->depth_multiplier + m;
                        const int32_t q = p->per_channel ? o : 0;
                        int64_t acc = p->bias != NULL ? p->bias[o] : 0;
                        for (ky = 0; ky < w->kernel_h; ++ky) {
                            const int32_t iy = iy0 + ky * w->dilation_h;
                            if (iy < 0 || iy >= w->in_h) {
                                continue;
                            }
                            for (kx = 0; kx < w->kernel_w; ++kx) {
                                const int32_t ix = ix0 + kx * w->dilation_w;
                                if (ix < 0 || ix >= w->in_w) {
                                    continue;
                                }
                                acc += (int32_t)input[(((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w +
                                                       (size_t)ix) * (size_t)p->in_c + (size_t)c] *
                                       (int32_t)p->weights[((size_t)ky * (size_t)w->kernel_w + (size_t)kx) *
                                                               (size_t)out_c + (size_t)o];
                            }
                        }
                        y[o] = mq_s16_out(acc, p->multiplier[q], p->shift[q], p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return MQ_OK;
}
