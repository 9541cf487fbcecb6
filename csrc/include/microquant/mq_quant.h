/*
 * MicroQuant: quantization arithmetic shared by the device kernels and the host.
 *
 * The one place where the integer formulas live; docs/QUANTIZATION.md states them
 * with the PyTorch / TFLite conventions they match. Everything here is integer-only
 * and usable on the device. Host-only conversions that need floating point
 * (mq_quantize_multiplier, float <-> code) are declared in mq_host.h.
 *
 *   real = (q - zero_point) * scale
 *
 * Requantization is bit-exact with TFLite Micro / CMSIS-NN "double rounding":
 *   mq_requantize(acc, M, s) = RDBPOT(SRDHM(acc * 2^max(s,0), M), max(-s,0))
 * where M is a Q31 multiplier in [2^30, 2^31) (or 0) and s in [-31, 30].
 * The left shift wraps modulo 2^32 (as the Arm hardware does); it never
 * overflows for multipliers produced from a real multiplier below 1.
 */
#ifndef MICROQUANT_MQ_QUANT_H
#define MICROQUANT_MQ_QUANT_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. Values are part of the packed format (docs/FORMAT.md). */
typedef enum {
    MQ_DTYPE_INT8 = 1,   /* QInt8: int8 codes, any zero point in [-128, 127] */
    MQ_DTYPE_UINT8 = 2,  /* QUInt8: uint8 codes, any zero point in [0, 255] */
    MQ_DTYPE_INT32 = 3,  /* int32 (bias, accumulators) */
    MQ_DTYPE_INT16 = 4   /* int16 codes, symmetric: zero point 0 (TFLite's 16x8 scheme, mq_kernels_s16.h) */
} mq_dtype;

#define MQ_SHIFT_MIN (-31)
#define MQ_SHIFT_MAX 30

/* TFLite SaturatingRoundingDoublingHighMul: round((a*b*2) / 2^32), with the
 * one overflow case (INT32_MIN * INT32_MIN) saturated to INT32_MAX. */
static inline int32_t mq_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int32_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    /* Division (not shift) truncates toward zero, as in the TFLite reference. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* TFLite RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero.
 * exponent in [0, 31]. */
static inline int32_t mq_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding). shift in [-31, 30]. */
static inline int32_t mq_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)acc << left); /* wraps like the hardware */
    return mq_rdbpot(mq_srdhm(shifted, multiplier), right);
}

/* Single rounding: acc * multiplier * 2^(shift - 31) rounded once to the nearest integer, ties toward
 * +infinity: (acc * multiplier + 2^(30 - shift)) >> (31 - shift) in int64 (floor shift), saturated to
 * int32. shift in [-31, 30], so the total right shift is 1..62; |acc * multiplier| < 2^62. */
static inline int32_t mq_requantize_single(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t total = 31 - shift;
    const int64_t prod = (int64_t)acc * (int64_t)multiplier + ((int64_t)1 << (total - 1));
    /* floor division by 2^total without right-shifting a negative value */
    const int64_t q = prod >= 0 ? prod / ((int64_t)1 << total)
                                : -((-(prod + 1)) / ((int64_t)1 << total)) - 1;
    return q > INT32_MAX ? INT32_MAX : (q < INT32_MIN ? INT32_MIN : (int32_t)q);
}

/* Clamp to [lo, hi]. */
static inline int32_t mq_clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Code range of an 8-bit dtype: [-128,127] for INT8, [0,255] for UINT8. */
static inline int32_t mq_dtype_min(mq_dtype t) { return t == MQ_DTYPE_UINT8 ? 0 : -128; }
static inline int32_t mq_dtype_max(mq_dtype t) { return t == MQ_DTYPE_UINT8 ? 255 : 127; }

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_QUANT_H */
