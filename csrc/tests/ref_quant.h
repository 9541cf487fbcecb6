/*
 * Test-only references, written independently of the library: a deterministic PRNG and the TFLite
 * requantization derived from its definition with int64 floor arithmetic (not the library's steps).
 *
 *   SRDHM(a, b) = floor((a*b + 2^30) / 2^31)        (= round(2ab / 2^32), ties toward +inf),
 *                 except a = b = INT32_MIN -> INT32_MAX
 *   RDBPOT(x, e) = x / 2^e rounded to nearest, ties away from zero
 *   requant(acc, M, s) = RDBPOT(SRDHM(wrap32(acc * 2^max(s,0)), M), max(-s,0))
 */
#ifndef MQ_TESTS_REF_QUANT_H
#define MQ_TESTS_REF_QUANT_H

#include <stdint.h>

/* splitmix64: deterministic, seedable. */
typedef struct {
    uint64_t s;
} ref_rng;

static inline uint64_t ref_next(ref_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform integer in [lo, hi] (inclusive), lo <= hi. */
static inline int64_t ref_range(ref_rng *r, int64_t lo, int64_t hi)
{
    const uint64_t span = (uint64_t)(hi - lo) + 1u;
    return lo + (int64_t)(span == 0 ? ref_next(r) : ref_next(r) % span);
}

/* Uniform double in [0, 1). */
static inline double ref_unit(ref_rng *r)
{
    return (double)(ref_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* floor(a / 2^e) for int64 a, e in [0, 62], without relying on >> of negative values. */
static inline int64_t ref_floor_div_pow2(int64_t a, int e)
{
    const int64_t d = (int64_t)1 << e;
    int64_t q = a / d;
    if (a % d != 0 && a < 0) {
        q -= 1;
    }
    return q;
}

/* Wrap an int64 to int32 modulo 2^32. */
static inline int32_t ref_wrap32(int64_t v)
{
    int64_t m = v % 4294967296ll;
    if (m < 0) {
        m += 4294967296ll;
    }
    return m >= 2147483648ll ? (int32_t)(m - 4294967296ll) : (int32_t)m;
}

static inline int32_t ref_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)ref_floor_div_pow2((int64_t)a * (int64_t)b + ((int64_t)1 << 30), 31);
}

static inline int32_t ref_rdbpot(int32_t x, int e)
{
    int64_t mag;
    if (e == 0) {
        return x;
    }
    mag = x < 0 ? -(int64_t)x : (int64_t)x;
    mag = (mag + ((int64_t)1 << (e - 1))) >> e; /* mag >= 0 */
    return (int32_t)(x < 0 ? -mag : mag);
}

static inline int32_t ref_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t shifted = ref_wrap32((int64_t)acc * ((int64_t)1 << left));
    return ref_rdbpot(ref_srdhm(shifted, multiplier), right);
}

/* The same for a sum computed in int64: the accumulator is an int32 register, so the sum wraps first. */
static inline int32_t ref_requantize64(int64_t acc, int32_t multiplier, int32_t shift)
{
    return ref_requantize(ref_wrap32(acc), multiplier, shift);
}

/* Integer value of an 8-bit code byte: uint8 as is, int8 two's complement. */
static inline int32_t ref_code(uint8_t byte, int is_uint8)
{
    return is_uint8 ? (int32_t)byte : (byte >= 128 ? (int32_t)byte - 256 : (int32_t)byte);
}

/* A byte holding code v (v in [-128, 255]). */
static inline uint8_t ref_byte(int32_t v)
{
    return (uint8_t)(v < 0 ? v + 256 : v);
}

/* Random normalized Q31 multiplier in [2^30, 2^31). */
static inline int32_t ref_multiplier(ref_rng *r)
{
    return (int32_t)ref_range(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1);
}

#endif /* MQ_TESTS_REF_QUANT_H */
