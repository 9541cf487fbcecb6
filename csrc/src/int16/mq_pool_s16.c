/*
 * mq_avg_pool_s16 / mq_max_pool_s16: TFLite AVERAGE_POOL_2D / MAX_POOL_2D on int16 (reference_integer_ops),
 * NHWC [batch, in_h, in_w, channels] -> [batch, out_h, out_w, channels], same scale, zero point 0.
 *   window of output (oy, ox): rows oy*stride_h - pad_top + [0, kernel_h), columns likewise, clipped to the input
 *   average: acc = sum of the valid taps (int32), cnt = their number,
 *            avg = acc > 0 ? (acc + cnt/2) / cnt : (acc - cnt/2) / cnt   (C division: half away from zero)
 *   max:     the largest valid tap
 *   out = clamp(value, act_min, act_max)
 * win.dilation_h/w must be 1 and kernel_h * kernel_w <= 65536 (the int32 sum cannot overflow).
 */
#include "mq_s16_internal.h"

mq_status mq_pool_s16_check(const mq_pool_s16_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_s16_window_check(&p->win, p->channels, p->channels);
    if (st != MQ_OK) {
        return st;
    }
    if (p->win.dilation_h != 1 || p->win.dilation_w != 1 || (int64_t)p->win.kernel_h * p->win.kernel_w > 65536) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

static mq_status pool(const mq_pool_s16_params *p, const int16_t *input, int16_t *output, int is_max)
{
    const mq_window *w;
    int32_t b, oy, ox, c, y, x;
    size_t in_bytes, out_bytes;
    mq_status st = mq_pool_s16_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->channels * 2u;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)p->channels * 2u;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    for (b = 0; b < w->batch; ++b) {
        for (oy = 0; oy < w->out_h; ++oy) {
            const int32_t iy0 = oy * w->stride_h - w->pad_top;
            const int32_t y0 = iy0 < 0 ? 0 : iy0;
            const int32_t y1 = iy0 + w->kernel_h < w->in_h ? iy0 + w->kernel_h : w->in_h;
            for (ox = 0; ox < w->out_w; ++ox) {
                const int32_t ix0 = ox * w->stride_w - w->pad_left;
                const int32_t x0 = ix0 < 0 ? 0 : ix0;
                const int32_t x1 = ix0 + w->kernel_w < w->in_w ? ix0 + w->kernel_w : w->in_w;
                int16_t *out = output + (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w + (size_t)ox) *
                                            (size_t)p->channels;
                for (c = 0; c < p->channels; ++c) {
                    int32_t acc = is_max ? -32768 : 0;
                    int32_t cnt = 0;
                    int32_t v;
                    for (y = y0; y < y1; ++y) {
                        for (x = x0; x < x1; ++x) {
                            const int32_t t = input[(((size_t)b * (size_t)w->in_h + (size_t)y) * (size_t)w->in_w +
                                                     (size_t)x) * (size_t)p->channels + (size_t)c];
                            if (is_max) {
                                acc = t > acc ? t : acc;
                            } else {
                                acc += t;
                            }
                            ++cnt;
                        }
                    }
                    if (is_max) {
                        v = acc;
                    } else if (cnt == 0) {
                        v = 0; /* a window entirely in the padding (TFLite rejects such shapes) */
                    } else {
                        v = acc > 0 ? (acc + cnt / 2) / cnt : (acc - cnt / 2) / cnt;
                    }
                    out[c] = (int16_t)mq_clamp_i32(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return MQ_OK;
}

mq_status mq_avg_pool_s16(const mq_pool_s16_params *p, const int16_t *input, int16_t *output)
{
    return pool(p, input, output, 0);
}

mq_status mq_max_pool_s16(const mq_pool_s16_params *p, const int16_t *input, int16_t *output)
{
    return pool(p, input, output, 1);
}
