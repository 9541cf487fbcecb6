/*
 * MicroQuant internal (host only): double-precision rounding helpers shared by the prepare functions.
 */
#ifndef MICROQUANT_MQ_HOST_INTERNAL_H
#define MICROQUANT_MQ_HOST_INTERNAL_H

#include <math.h>
#include <stdint.h>

/* Round half to even, then saturate to [lo, hi]. v must not be NaN. Exact for every finite double:
 * floor() is exact and v - floor(v) is exact for |v| < 2^52 (larger values are integers already). */
static inline int32_t mq_round_half_even_clamp(double v, int32_t lo, int32_t hi)
{
    double f;
    double frac;
    if (v <= (double)lo) {
        return lo;
    }
    if (v >= (double)hi) {
        return hi;
    }
    f = floor(v);
    frac = v - f;
    if (frac > 0.5 || (frac == 0.5 && fmod(f, 2.0) != 0.0)) {
        f += 1.0;
    }
    return (int32_t)f;
}

/* 1 when x is a finite, strictly positive scale. */
static inline int mq_scale_ok(double x)
{
    return isfinite(x) && x > 0.0;
}

#endif /* MICROQUANT_MQ_HOST_INTERNAL_H */
