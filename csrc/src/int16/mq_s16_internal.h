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


/* *hi:*lo = a * b for int32 operands (two's complement halves): one SMULL on Armv7-M / Armv8-M Mainline (GCC
 * otherwise tends to emit a 64x64 multiply when the operands come from an int64), portable C elsewhere. */
static inline void mq_smull(int32_t a, int32_t b, uint32_t *lo, uint32_t *hi)
{
#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_ARCH_ISA_THUMB) && (__ARM_ARCH >= 7) && \
    !defined(MQ_FORCE_PORTABLE)
    uint32_t l, h;
    __asm__("smull %0, %1, %2, %3" : "=&r"(l), "=&r"(h) : "r"(a), "r"(b));
    *lo = l;
    *hi = h;
#else
    const uint64_t p = (uint64_t)((int64_t)a * (int64_t)b);
    *lo = (uint32_t)(p & 0xFFFFFFFFu);
    *hi = (uint32_t)(p >> 32);
#endif
}

/* mq_requantize64 split into its per-channel constants and the per-accumulator step (same results):
 *   m16 = multiplier < 0x7FFF0000 ? (multiplier + 2^15) >> 16 : 0x7FFF,  total = 15 - shift. */
typedef struct {
    int32_t m16, total;
} mq_rq64;

static inline mq_rq64 mq_rq64_of(int32_t multiplier, int32_t shift)
{
    mq_rq64 q;
    q.m16 = multiplier < 0x7FFF0000 ? (int32_t)(((uint32_t)multiplier + 32768u) >> 16) : 0x7FFF;
    q.total = 15 - shift;
    return q;
}

/* An accumulator that fits int32 needs one SMULL and no range clamp (the clamp cannot trigger): with m16 <= 2^15,
 * P = acc * m16 + 2^(total-1) is below 2^47 in magnitude; r = P >> total (arithmetic) is formed from the two
 * 32-bit halves (total in [8, 46]) and wrapped to int32 as mq_requantize64 does. Otherwise mq_requantize64's
 * 64-bit arithmetic (clamp to [-2^47, 2^47), multiply, shift, wrap). */
static inline int32_t mq_rq64_apply(mq_rq64 q, int64_t acc)
{
    if (acc >= INT32_MIN && acc <= INT32_MAX) {
        const int32_t total = q.total;
        uint32_t lo, hi, add_lo, add_hi, u;
        mq_smull((int32_t)acc, q.m16, &lo, &hi);
        add_lo = total - 1 < 32 ? (uint32_t)1 << (total - 1) : 0u;
        add_hi = total - 1 < 32 ? 0u : (uint32_t)1 << (total - 33);
        lo += add_lo;
        hi += add_hi + (lo < add_lo ? 1u : 0u);
        if (total < 32) {
            u = (lo >> total) | (hi << (32 - total));
        } else {
            /* arithmetic shift of the high word (hi carries P's sign) */
            const int32_t hs = hi <= (uint32_t)INT32_MAX ? (int32_t)hi : -(int32_t)(~hi) - 1;
            return total == 32 ? hs : hs >> (total - 32);
        }
        return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
    } else {
        const int64_t lim = (int64_t)1 << 47;
        const int64_t a = acc < -lim ? -lim : (acc > lim - 1 ? lim - 1 : acc);
        const int64_t r = (a * q.m16 + ((int64_t)1 << (q.total - 1))) >> q.total;
        const uint32_t u = (uint32_t)((uint64_t)r & 0xFFFFFFFFu);
        return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
    }
}

/* mq_requantize64 through the two steps above (the kernels' form; tested against the reference). */
static inline int32_t mq_requantize64_fast(int64_t acc, int32_t multiplier, int32_t shift)
{
    return mq_rq64_apply(mq_rq64_of(multiplier, shift), acc);
}

/* The output stage of a mq_fc_s16_params, copied into locals once per call (the compiler then keeps them in
 * registers instead of reloading the params after every store). */
typedef struct {
    const int32_t *mult, *shift;
    const mq_exact_scale *exact;
    int32_t qmask;              /* -1 per channel, 0 per tensor: q = c & qmask */
    int32_t lo, hi;
} mq_s16_outstage;

static inline mq_s16_outstage mq_s16_outstage_of(const mq_fc_s16_params *g)
{
    mq_s16_outstage o;
    o.mult = g->multiplier;
    o.shift = g->shift;
    o.exact = g->exact_scale;
    o.qmask = g->per_channel ? -1 : 0;
    o.lo = g->act_min;
    o.hi = g->act_max;
    return o;
}

static inline int16_t mq_s16_out_stage(const mq_s16_outstage *o, int32_t c, int64_t acc)
{
    const int32_t q = c & o->qmask;
    const int32_t r = o->exact != NULL ? mq_requantize_exact(acc, &o->exact[q])
                                       : mq_requantize64_fast(acc, o->mult[q], o->shift[q]);
    return (int16_t)(r < o->lo ? o->lo : (r > o->hi ? o->hi : r));
}

/* Output stage of FC / conv / depthwise. */
static inline int16_t mq_s16_out(int64_t acc, int32_t m, int32_t s, int32_t lo, int32_t hi)
{
    const int32_t r = mq_requantize64_fast(acc, m, s);
    return (int16_t)(r < lo ? lo : (r > hi ? hi : r));
}

#endif /* MICROQUANT_MQ_S16_INTERNAL_H */
