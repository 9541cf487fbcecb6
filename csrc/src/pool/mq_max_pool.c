/*
 * mq_max_pool: max pooling (TFLite MAX_POOL_2D, int8 and uint8), NHWC.
 *
 * Shapes:  input  [batch, in_h, in_w, channels]    codes of p->dtype
 *          output [batch, out_h, out_w, channels]  same dtype and qparams as the input
 * Window:  output pixel (oy, ox) takes the maximum code over input rows [oy*stride_h - pad_top, + kernel_h)
 *          and columns [ox*stride_w - pad_left, + kernel_w) clipped to the input: padded taps are ignored
 *          (the window always holds >= 1 valid tap after mq_pool_check). Signed compare for INT8.
 *          out = clamp(max, act_min, act_max).
 * Input and output must not overlap (MQ_ERR_BUFFER). Parameters: mq_pool_check (mq_kernels.h).
 * Paths: mq_max_pool_c (portable); on DSP cores and Helium, mq_max_pool takes byte-wise maxima of 64-channel
 * blocks with mq_pool_max_dsp / mq_pool_max_mve, then clamps: bit-identical (a maximum is exact).
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_params_internal.h"
#include "mq_pool_internal.h"

static void mq_max_pixel_s8(const int8_t *base, int32_t row_stride, int32_t y0, int32_t y1, int32_t x0, int32_t x1,
                            int32_t C, int32_t lo, int32_t hi, uint8_t *out)
{
    int32_t c = 0;
    for (; c + 4 <= C; c += 4) {
        int32_t m0 = -128, m1 = -128, m2 = -128, m3 = -128;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const int8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                m0 = q[0] > m0 ? q[0] : m0;
                m1 = q[1] > m1 ? q[1] : m1;
                m2 = q[2] > m2 ? q[2] : m2;
                m3 = q[3] > m3 ? q[3] : m3;
                q += C;
            }
        }
        out[c] = (uint8_t)mq_clamp_i32(m0, lo, hi);
        out[c + 1] = (uint8_t)mq_clamp_i32(m1, lo, hi);
        out[c + 2] = (uint8_t)mq_clamp_i32(m2, lo, hi);
        out[c + 3] = (uint8_t)mq_clamp_i32(m3, lo, hi);
    }
    for (; c < C; ++c) {
        int32_t m = -128;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const int8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                m = *q > m ? *q : m;
                q += C;
            }
        }
        out[c] = (uint8_t)mq_clamp_i32(m, lo, hi);
    }
}

static void mq_max_pixel_u8(const uint8_t *base, int32_t row_stride, int32_t y0, int32_t y1, int32_t x0, int32_t x1,
                            int32_t C, int32_t lo, int32_t hi, uint8_t *out)
{
    int32_t c = 0;
    for (; c + 4 <= C; c += 4) {
        int32_t m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const uint8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                m0 = q[0] > m0 ? q[0] : m0;
                m1 = q[1] > m1 ? q[1] : m1;
                m2 = q[2] > m2 ? q[2] : m2;
                m3 = q[3] > m3 ? q[3] : m3;
                q += C;
            }
        }
        out[c] = (uint8_t)mq_clamp_i32(m0, lo, hi);
        out[c + 1] = (uint8_t)mq_clamp_i32(m1, lo, hi);
        out[c + 2] = (uint8_t)mq_clamp_i32(m2, lo, hi);
        out[c + 3] = (uint8_t)mq_clamp_i32(m3, lo, hi);
    }
    for (; c < C; ++c) {
        int32_t m = 0;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const uint8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                m = *q > m ? *q : m;
                q += C;
            }
        }
        out[c] = (uint8_t)mq_clamp_i32(m, lo, hi);
    }
}

void mq_max_pool_c_unchecked(const mq_pool_params *p, const void *input, void *output)
{
    const mq_window *w = &p->win;
    int32_t b, oy, ox;
    const int32_t C = p->channels;
    uint8_t *out;
    out = (uint8_t *)output;
    for (b = 0; b < w->batch; ++b) {
        const size_t img = (size_t)b * (size_t)w->in_h * (size_t)w->in_w * (size_t)C;
        for (oy = 0; oy < w->out_h; ++oy) {
            int32_t y0, y1;
            mq_pool_window(oy, w->stride_h, w->pad_top, w->kernel_h, w->in_h, &y0, &y1);
            for (ox = 0; ox < w->out_w; ++ox) {
                int32_t x0, x1;
                mq_pool_window(ox, w->stride_w, w->pad_left, w->kernel_w, w->in_w, &x0, &x1);
                if (p->dtype == MQ_DTYPE_INT8) {
                    mq_max_pixel_s8((const int8_t *)input + img, w->in_w * C, y0, y1, x0, x1, C, p->act_min,
                                    p->act_max, out);
                } else {
                    mq_max_pixel_u8((const uint8_t *)input + img, w->in_w * C, y0, y1, x0, x1, C, p->act_min,
                                    p->act_max, out);
                }
                out += C;
            }
        }
    }
}

mq_status mq_max_pool_c(const mq_pool_params *p, const void *input, void *output)
{
    const mq_window *w;
    size_t in_bytes;
    size_t out_bytes;
    int32_t C;
    mq_status st;
    if (p == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_pool_check(p);
    if (st != MQ_OK) {
        return st;
    }
    w = &p->win;
    C = p->channels;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)C;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)C;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    mq_max_pool_c_unchecked(p, input, output);
    return MQ_OK;
}

#if !defined(MQ_FORCE_PORTABLE) && (defined(__ARM_FEATURE_MVE) || defined(__ARM_FEATURE_DSP))
#if defined(__ARM_FEATURE_MVE)
#define MQ_POOL_MAX mq_pool_max_mve
#else
#define MQ_POOL_MAX mq_pool_max_dsp
#endif

void mq_max_pool_unchecked(const mq_pool_params *p, const void *input, void *output)
{
    const mq_window *w = &p->win;
    int32_t b, oy, ox, c0;
    const int32_t C = p->channels;
    const int is_s8 = p->dtype == MQ_DTYPE_INT8;
    uint8_t *out;
    out = (uint8_t *)output;
    for (b = 0; b < w->batch; ++b) {
        const uint8_t *img = (const uint8_t *)input + (size_t)b * (size_t)w->in_h * (size_t)w->in_w * (size_t)C;
        for (oy = 0; oy < w->out_h; ++oy) {
            int32_t y0, y1;
            mq_pool_window(oy, w->stride_h, w->pad_top, w->kernel_h, w->in_h, &y0, &y1);
            for (ox = 0; ox < w->out_w; ++ox) {
                int32_t x0, x1;
                mq_pool_window(ox, w->stride_w, w->pad_left, w->kernel_w, w->in_w, &x0, &x1);
                for (c0 = 0; c0 < C; c0 += MQ_POOL_BLOCK) {
                    const int32_t nch = C - c0 < MQ_POOL_BLOCK ? C - c0 : MQ_POOL_BLOCK;
                    uint8_t m[MQ_POOL_BLOCK];
                    int32_t c;
                    for (c = 0; c < nch; ++c) {
                        m[c] = is_s8 ? 0x80u : 0u;   /* the smallest code */
                    }
                    if (x0 == 0 && x1 == w->in_w) {
                        MQ_POOL_MAX(img + (size_t)y0 * (size_t)w->in_w * (size_t)C + (size_t)c0,
                                    (y1 - y0) * w->in_w, C, nch, is_s8, m);
                    } else {
                        int32_t y;
                        for (y = y0; y < y1; ++y) {
                            MQ_POOL_MAX(img + ((size_t)y * (size_t)w->in_w + (size_t)x0) * (size_t)C + (size_t)c0,
                                        x1 - x0, C, nch, is_s8, m);
                        }
                    }
                    for (c = 0; c < nch; ++c) {
                        out[c0 + c] = (uint8_t)mq_clamp_i32(mq_code_value(m[c], p->dtype), p->act_min, p->act_max);
                    }
                }
                out += C;
            }
        }
    }
}

mq_status mq_max_pool(const mq_pool_params *p, const void *input, void *output)
{
    const mq_window *w;
    size_t in_bytes, out_bytes;
    int32_t C;
    mq_status st;
    if (p == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_pool_check(p);
    if (st != MQ_OK) {
        return st;
    }
    w = &p->win;
    C = p->channels;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)C;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)C;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    mq_max_pool_unchecked(p, input, output);
    return MQ_OK;
}
#else
void mq_max_pool_unchecked(const mq_pool_params *p, const void *input, void *output)
{
    mq_max_pool_c_unchecked(p, input, output);
}

mq_status mq_max_pool(const mq_pool_params *p, const void *input, void *output)
{
    return mq_max_pool_c(p, input, output);
}
#endif
