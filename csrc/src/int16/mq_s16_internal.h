/*
 * MicroQuant internal: helpers shared by the 16x8 kernels (csrc/src/int16). Integer-only, no UB.
 */
#ifndef MICROQUANT_MQ_S16_INTERNAL_H
#define MICROQUANT_MQ_S16_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels_s16.h"
#include "mq_kernels_internal.h"

/* Largest element count of any tensor the 16x8 kernels accept (index arithmetic stays in int32 range). */
#define MQ_S16_MAX_ELEMS ((int64_t)1 << 30)

static inline int mq_s16_act_ok(int32_t lo, int32_t hi)
{
    return lo >= -32768 && lo <= hi && hi <= 32767;
}

static inline int16_t mq_sat16(int64_t v)
{
    return (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
}

/* Multipliers/shifts of an int64-accumulating layer: count entries, each 0 or [2^30, 2^31), shift [-31, 7]. */
static inline int mq_s16_mults_ok(const int32_t *m, const int32_t *s, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        if (!mq_multiplier_ok(m[i]) || s[i] < MQ_SHIFT64_MIN || s[i] > MQ_SHIFT64_MAX) {
            return 0;
        }
    }
    return 1;
}

/* Window geometry check (mq_window contract of mq_kernels.h) with int64 arithmetic; channels_in and
 * channels_out are the per-pixel element counts. MQ_OK or MQ_ERR_SHAPE. */
static inline mq_status mq_s16_window_check(const mq_window *w, int32_t channels_in, int32_t channels_out)
{
    int64_t eh, ew, oh, ow;
    if (w->batch < 1 || w->in_h < 1 || w->in_w < 1 || w->kernel_h < 1 || w->kernel_w < 1 || w->stride_h < 1 ||
        w->stride_w < 1 || w->dilation_h < 1 || w->dilation_w < 1 || w->pad_top < 0 || w->pad_bottom < 0 ||
        w->pad_left < 0 || w->pad_right < 0 || channels_in < 1 || channels_out < 1 || w->out_h < 1 ||
        w->out_w < 1) {
        return MQ_ERR_SHAPE;
    }
    if (w->in_h > (1 << 24) || w->in_w > (1 << 24) || w->kernel_h > (1 << 16) || w->kernel_w > (1 << 16) ||
        w->dilation_h > (1 << 16) || w->dilation_w > (1 << 16) || w->stride_h > (1 << 16) || w->stride_w > (1 << 16) || w->pad_top > (1 << 24) ||
        w->pad_bottom > (1 << 24) || w->pad_left > (1 << 24) || w->pad_right > (1 << 24) ||
        channels_in > (1 << 24) || channels_out > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    eh = (int64_t)w->in_h + w->pad_top + w->pad_bottom - (int64_t)w->dilation_h * (w->kernel_h - 1) - 1;
    ew = (int64_t)w->in_w + w->pad_left + w->pad_right - (int64_t)w->dilation_w * (w->kernel_w - 1) - 1;
    if (eh < 0 || ew < 0) {
        return MQ_ERR_SHAPE;
    }
    oh = eh / w->stride_h + 1;
    ow = ew / w->stride_w + 1;
    if (oh != w->out_h || ow != w->out_w) {
        return MQ_ERR_SHAPE;
    }
    if ((int64_t)w->batch * w->in_h * w->in_w * channels_in > MQ_S16_MAX_ELEMS ||
        (int64_t)w->batch * oh * ow * channels_out > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    return MQ_OK;
}

/* sum_{i<n} x[i] * w[i] exactly: int32 partial sums over blocks of 256 products (|x w| <= 2^22, so a block
 * stays below 2^30), added in int64. */
static inline int64_t mq_dot_s16_s8(const int16_t *x, const int8_t *w, int32_t n)
{
    int64_t acc = 0;
    while (n > 0) {
        const int32_t len = n < 256 ? n : 256;
        int32_t s = 0;
        int32_t i;
        for (i = 0; i < len; ++i) {
            s += (int32_t)x[i] * (int32_t)w[i];
        }
        acc += s;
        x += len;
        w += len;
        n -= len;
    }
    return acc;
}

/* Output stage of FC / conv / depthwise. */
static inline int16_t mq_s16_out(int64_t acc, int32_t m, int32_t s, int32_t lo, int32_t hi)
{
    const int32_t r = mq_requantize64(acc, m, s);
    return (int16_t)(r < lo ? lo : (r > hi ? hi : r));
}

/* Output stage of a layer with mq_fc_s16_params g, channel c. */
static inline int16_t mq_s16_out_fc(const mq_fc_s16_params *g, int32_t c, int64_t acc)
{
    const int32_t q = g->per_channel ? c : 0;
    int32_t r;
    if (g->exact_scale != NULL) {
        r = mq_requantize_exact(acc, &g->exact_scale[q]);
    } else {
        r = mq_requantize64(acc, g->multiplier[q], g->shift[q]);
    }
    return (int16_t)(r < g->act_min ? g->act_min : (r > g->act_max ? g->act_max : r));
}

#endif /* MICROQUANT_MQ_S16_INTERNAL_H */
