/*
 * mq_avg_pool: average pooling (TFLite AVERAGE_POOL_2D, int8 and uint8), NHWC.
 *
 * Shapes:  input  [batch, in_h, in_w, channels]    codes of p->dtype
 *          output [batch, out_h, out_w, channels]  same dtype and qparams (scale, zero point) as the input
 * Window:  output pixel (oy, ox) averages input rows [oy*stride_h - pad_top, + kernel_h) and columns
 *          [ox*stride_w - pad_left, + kernel_w), clipped to the input: padded taps are not counted
 *          (count = number of valid taps, >= 1 after mq_pool_check).
 * Rounding (TFLite's reference integer average pool), on the int32 sum of the codes:
 *          avg = sum > 0 ? (sum + count/2) / count : (sum - count/2) / count     (C division, truncates)
 *          i.e. the nearest integer, ties away from zero; then out = clamp(avg, act_min, act_max).
 * No requantization: the codes are averaged directly (zero point included), as TFLite does.
 * Input and output must not overlap (MQ_ERR_BUFFER). Parameters: mq_pool_check (mq_kernels.h).
 * Paths: mq_avg_pool_c (portable: four channels per pass in registers); on DSP cores (M4/M7/M33) and Helium
 * (M55) mq_avg_pool sums 64-channel blocks with mq_pool_sum_dsp / mq_pool_sum_mve (16-bit lanes widened
 * every 256 taps, so exact; on the x86-64 host mq_pool_sum_x86, AVX2 likewise) and then rounds exactly as here: bit-identical (test_pool on the host; QEMU
 * kernel test on the cores). A window of whole rows is summed as one run of taps.
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

#include "mq_params_internal.h"
#include "mq_pool_internal.h"

static int32_t mq_avg_round(int32_t sum, int32_t count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

static uint8_t mq_avg_store(int32_t sum, int32_t count, int32_t lo, int32_t hi)
{
    return (uint8_t)mq_clamp_i32(mq_avg_round(sum, count), lo, hi);
}

/* One output pixel, channels [0, C): sums over the clipped window, four channels at a time in registers. */
static void mq_avg_pixel_s8(const int8_t *base, int32_t row_stride, int32_t y0, int32_t y1, int32_t x0, int32_t x1,
                            int32_t C, int32_t lo, int32_t hi, uint8_t *out)
{
    const int32_t count = (y1 - y0) * (x1 - x0);
    int32_t c = 0;
    for (; c + 4 <= C; c += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const int8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                a0 += q[0];
                a1 += q[1];
                a2 += q[2];
                a3 += q[3];
                q += C;
            }
        }
        out[c] = mq_avg_store(a0, count, lo, hi);
        out[c + 1] = mq_avg_store(a1, count, lo, hi);
        out[c + 2] = mq_avg_store(a2, count, lo, hi);
        out[c + 3] = mq_avg_store(a3, count, lo, hi);
    }
    for (; c < C; ++c) {
        int32_t a = 0;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const int8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                a += *q;
                q += C;
            }
        }
        out[c] = mq_avg_store(a, count, lo, hi);
    }
}

static void mq_avg_pixel_u8(const uint8_t *base, int32_t row_stride, int32_t y0, int32_t y1, int32_t x0, int32_t x1,
                            int32_t C, int32_t lo, int32_t hi, uint8_t *out)
{
    const int32_t count = (y1 - y0) * (x1 - x0);
    int32_t c = 0;
    for (; c + 4 <= C; c += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const uint8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                a0 += q[0];
                a1 += q[1];
                a2 += q[2];
                a3 += q[3];
                q += C;
            }
        }
        out[c] = mq_avg_store(a0, count, lo, hi);
        out[c + 1] = mq_avg_store(a1, count, lo, hi);
        out[c + 2] = mq_avg_store(a2, count, lo, hi);
        out[c + 3] = mq_avg_store(a3, count, lo, hi);
    }
    for (; c < C; ++c) {
        int32_t a = 0;
        int32_t y;
        for (y = y0; y < y1; ++y) {
            const uint8_t *q = base + y * row_stride + x0 * C + c;
            int32_t x;
            for (x = x0; x < x1; ++x) {
                a += *q;
                q += C;
            }
        }
        out[c] = mq_avg_store(a, count, lo, hi);
    }
}

void mq_avg_pool_c_unchecked(const mq_pool_params *p, const void *input, void *output)
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
                    mq_avg_pixel_s8((const int8_t *)input + img, w->in_w * C, y0, y1, x0, x1, C, p->act_min,
                                    p->act_max, out);
                } else {
                    mq_avg_pixel_u8((const uint8_t *)input + img, w->in_w * C, y0, y1, x0, x1, C, p->act_min,
                                    p->act_max, out);
                }
                out += C;
            }
        }
    }
}

mq_status mq_avg_pool_c(const mq_pool_params *p, const void *input, void *output)
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
    mq_avg_pool_c_unchecked(p, input, output);
    return MQ_OK;
}

#if !defined(MQ_FORCE_PORTABLE) && (defined(__ARM_FEATURE_MVE) || defined(__ARM_FEATURE_DSP) || defined(MQ_X86_HOST_KERNELS))
#if defined(__ARM_FEATURE_MVE)
#define MQ_POOL_SUM mq_pool_sum_mve
#elif defined(__ARM_FEATURE_DSP)
#define MQ_POOL_SUM mq_pool_sum_dsp
#else
#define MQ_POOL_SUM mq_pool_sum_x86
#endif

void mq_avg_pool_unchecked(const mq_pool_params *p, const void *input, void *output)
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
                int32_t x0, x1, count;
                mq_pool_window(ox, w->stride_w, w->pad_left, w->kernel_w, w->in_w, &x0, &x1);
                count = (y1 - y0) * (x1 - x0);
                for (c0 = 0; c0 < C; c0 += MQ_POOL_BLOCK) {
                    const int32_t nch = C - c0 < MQ_POOL_BLOCK ? C - c0 : MQ_POOL_BLOCK;
                    int32_t sums[MQ_POOL_BLOCK];
                    int32_t c;
                    for (c = 0; c < nch; ++c) {
                        sums[c] = 0;
                    }
                    if (x0 == 0 && x1 == w->in_w) {
                        /* whole rows: one run of (y1 - y0) * in_w taps, C bytes apart */
                        MQ_POOL_SUM(img + (size_t)y0 * (size_t)w->in_w * (size_t)C + (size_t)c0, count, C, nch, is_s8,
                                    sums);
                    } else {
                        int32_t y;
                        for (y = y0; y < y1; ++y) {
                            MQ_POOL_SUM(img + ((size_t)y * (size_t)w->in_w + (size_t)x0) * (size_t)C + (size_t)c0,
                                        x1 - x0, C, nch, is_s8, sums);
                        }
                    }
                    for (c = 0; c < nch; ++c) {
                        out[c0 + c] = mq_avg_store(sums[c], count, p->act_min, p->act_max);
                    }
                }
                out += C;
            }
        }
    }
}

mq_status mq_avg_pool(const mq_pool_params *p, const void *input, void *output)
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
    mq_avg_pool_unchecked(p, input, output);
    return MQ_OK;
}
#else
void mq_avg_pool_unchecked(const mq_pool_params *p, const void *input, void *output)
{
    mq_avg_pool_c_unchecked(p, input, output);
}

mq_status mq_avg_pool(const mq_pool_params *p, const void *input, void *output)
{
    return mq_avg_pool_c(p, input, output);
}
#endif
