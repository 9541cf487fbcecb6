/*
 * MicroQuant internal (host only): double-precision rounding helpers shared by the prepare functions.
 */
#ifndef MICROQUANT_MQ_HOST_INTERNAL_H
#define MICROQUANT_MQ_HOST_INTERNAL_H

#include <math.h>
#include <stdint.h>

/* Round half to even, then saturate to [lo, hi]. v must not be NaN. Exact for every finite double, and
 * without libm calls (this is the inner loop of mq_quantize_f32): once lo < v < hi, v fits int32, so the
 * truncation is defined; stepping down once gives floor(v); v - floor(v) is exact (for |v| >= 1 its bits
 * are a subset of v's; for -1 < v < 0 the sum v + 1 is exact wherever the comparison with 0.5 matters). */
static inline int32_t mq_round_half_even_clamp(double v, int32_t lo, int32_t hi)
{
    int32_t f;
    double frac;
    if (v <= (double)lo) {
        return lo;
    }
    if (v >= (double)hi) {
        return hi;
    }
    f = (int32_t)v;
    if ((double)f > v) {
        f -= 1;
    }
    frac = v - (double)f;
    if (frac > 0.5 || (frac == 0.5 && (f & 1) != 0)) {
        f += 1;
    }
    return f;
}

/*
 * round_half_even((hi + lo) / scale) + zero point, saturated to [lo_code, hi_code]: the quotient is
 * computed with its exact residual (fma), so a value that lies just off a rounding tie is rounded
 * the right way even when the double quotient lands exactly on the tie. hi + lo is a double-double
 * value (|lo| <= ulp(hi)/2, lo = 0 for a plain double); scale > 0 finite.
 */
static inline int32_t mq_round_div_half_even(double hi, double lo, double scale, int32_t zero_point,
                                             int32_t lo_code, int32_t hi_code)
{
    const double q = hi / scale;
    double f;
    double frac;
    double q_lo;
    if (!isfinite(q) || q >= 2147483648.0 || q <= -2147483648.0) {
        return q > 0.0 ? hi_code : lo_code;
    }
    /* exact: hi - q * scale (fma), plus the low part; its sign says which side of q the true quotient is */
    q_lo = fma(-q, scale, hi) + lo;
    f = floor(q);
    frac = q - f;
    if (frac > 0.5 || (frac == 0.5 && (q_lo > 0.0 || (q_lo == 0.0 && fmod(f, 2.0) != 0.0)))) {
        f += 1.0;
    }
    {
        const double v = f + (double)zero_point;
        return v < (double)lo_code ? lo_code : (v > (double)hi_code ? hi_code : (int32_t)v);
    }
}

/* 1 when x is a finite, strictly positive scale. */
static inline int mq_scale_ok(double x)
{
    return isfinite(x) && x > 0.0;
}

#endif /* MICROQUANT_MQ_HOST_INTERNAL_H */
