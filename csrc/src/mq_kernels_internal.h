/*
 * MicroQuant internal: small integer helpers shared by the operator and microkernel files.
 * Not a public header; everything is static inline, integer-only and free of undefined behaviour.
 */
#ifndef MICROQUANT_MQ_KERNELS_INTERNAL_H
#define MICROQUANT_MQ_KERNELS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_quant.h"

/* Largest n or k accepted by the GEMM/conv operators (keeps every size computation far from overflow). */
#define MQ_MAX_DIM (1 << 24)

/* uint32 -> int32 two's complement reinterpretation (modular), without implementation-defined conversion. */
static inline int32_t mq_u32_to_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* 1 when the byte ranges [a, a+na) and [b, b+nb) share at least one byte. */
static inline int mq_ranges_overlap(const void *a, size_t na, const void *b, size_t nb)
{
    const uintptr_t pa = (uintptr_t)a;
    const uintptr_t pb = (uintptr_t)b;
    if (na == 0 || nb == 0) {
        return 0;
    }
    return pa < pb + nb && pb < pa + na;
}

/* An 8-bit code of dtype t (INT8 or UINT8) as its integer value. */
static inline int32_t mq_code_value(uint8_t byte, mq_dtype t)
{
    return t == MQ_DTYPE_UINT8 ? (int32_t)byte : (int32_t)byte - ((int32_t)(byte & 0x80u) << 1);
}

/* A code in the signed domain used by the GEMM: x' = (int8)(x ^ 0x80) for UINT8, x for INT8. */
static inline int32_t mq_code_signed(uint8_t byte, mq_dtype t)
{
    const uint8_t b = t == MQ_DTYPE_UINT8 ? (uint8_t)(byte ^ 0x80u) : byte;
    return (int32_t)b - ((int32_t)(b & 0x80u) << 1);
}

/* 1 when t is one of the 8-bit activation dtypes. */
static inline int mq_dtype_is_8bit(mq_dtype t)
{
    return t == MQ_DTYPE_INT8 || t == MQ_DTYPE_UINT8;
}

/* 1 when shift is a legal requantization shift. */
static inline int mq_shift_ok(int32_t shift)
{
    return shift >= MQ_SHIFT_MIN && shift <= MQ_SHIFT_MAX;
}

/* 1 when multiplier is 0 or a normalized Q31 multiplier in [2^30, 2^31). */
static inline int mq_multiplier_ok(int32_t multiplier)
{
    return multiplier == 0 || multiplier >= (1 << 30);
}

/* Requantize, add the zero point and clamp, in int64 so the sum never overflows. */
static inline int32_t mq_requantize_clamp(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                                          int32_t lo, int32_t hi)
{
    const int64_t v = (int64_t)zero_point + (int64_t)mq_requantize(acc, multiplier, shift);
    return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

/* Single-rounding output stage (packed models with MQ_MODEL_FLAG_SINGLE_ROUNDING_FC / _CONV): requantize with
 * mq_requantize_single (round(acc * multiplier * 2^(shift - 31)) once, ties toward +inf), add the zero point,
 * clamp to [lo, hi], then the optional 256-entry LUT. One output byte. */
static inline uint8_t mq_output_single_rounding(uint32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                                                int32_t lo, int32_t hi, const uint8_t *lut)
{
    int64_t v = (int64_t)zero_point + (int64_t)mq_requantize_single(mq_u32_to_i32(acc), multiplier, shift);
    uint8_t code;
    v = v < lo ? lo : (v > hi ? hi : v);
    code = (uint8_t)((uint32_t)(int32_t)v & 0xFFu);
    return lut != NULL ? lut[code] : code;
}

/*
 * onnxruntime's float32 output stage emulated with integers (packed models with MQ_MODEL_FLAG_ORT_FLOAT32, docs/QUANTIZATION.md
 * section 3, "onnxruntime's float32 requantization"): onnxruntime (MLAS MlasRequantizeOutput) computes
 * v = fl32(fl32(acc) * s) with s = float32 scale, clamps v to the code range, rounds it to an integer half to even
 * and adds the zero point. With s = M * 2^(shift - 31) exactly (M = 0 or M in [2^30, 2^31) with its low 7 bits 0:
 * 24 significant bits, checked at load) and shift in [-31, 30] (s in [2^-62, 2^30): normal float32, and so is
 * every nonzero product), that is, on magnitudes (every rounding here is symmetric):
 *   a = round24(|acc|)                       fl32(acc): 24 significant bits, half to even (exact below 2^24)
 *   p = round24(a * M)                       fl32(a * s) scaled by 2^(31 - shift) (exact int64 product < 2^62)
 *   r = RNE(p / 2^(31 - shift))              to an integer, half to even
 * and the result is sign(acc) * r. Integers only.
 */
static inline uint64_t mq_round_sig24(uint64_t x)
{
    uint32_t n = 0u; /* bits below the 24 significant ones */
    uint64_t lo, half;
    if ((x >> 24) == 0u) {
        return x;
    }
#if defined(__GNUC__)
    n = (uint32_t)(64 - __builtin_clzll((unsigned long long)x)) - 24u;
#else
    {
        uint64_t t = x >> 24;
        while (t != 0u) {
            t >>= 1;
            n++;
        }
    }
#endif
    lo = x & (((uint64_t)1 << n) - 1u);
    half = (uint64_t)1 << (n - 1u);
    x >>= n;
    if (lo > half || (lo == half && (x & 1u) != 0u)) {
        x++; /* may reach 2^24: still exact */
    }
    return x << n;
}

static inline int64_t mq_requantize_f32_emul(int32_t acc, int32_t multiplier, int32_t shift)
{
    const uint32_t k = (uint32_t)(31 - shift); /* 1..62 */
    uint64_t a = acc < 0 ? (uint64_t)0 - (uint64_t)(int64_t)acc : (uint64_t)acc;
    uint64_t p, q, rem, half;
    a = mq_round_sig24(a);
    p = mq_round_sig24(a * (uint64_t)(uint32_t)multiplier);
    q = p >> k;
    rem = p & (((uint64_t)1 << k) - 1u);
    half = (uint64_t)1 << (k - 1u);
    if (rem > half || (rem == half && (q & 1u) != 0u)) {
        q++;
    }
    return acc < 0 ? -(int64_t)q : (int64_t)q;
}

/* A multiplier the emulation accepts: 0, or normalized Q31 with at most 24 significant bits (a float32 scale). */
static inline int mq_multiplier_is_f32(int32_t multiplier)
{
    return multiplier == 0 || (multiplier >= (1 << 30) && (multiplier & 0x7F) == 0);
}

/* The output byte: mq_requantize_f32_emul, + zero point, clamp to [lo, hi] (before the zero point is added, in
 * int64: the same code as onnxruntime's clamp of the float before rounding, the bounds being integers), LUT. */
static inline uint8_t mq_output_f32_emul(uint32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                                         int32_t lo, int32_t hi, const uint8_t *lut)
{
    int64_t v = (int64_t)zero_point + mq_requantize_f32_emul(mq_u32_to_i32(acc), multiplier, shift);
    uint8_t code;
    v = v < lo ? lo : (v > hi ? hi : v);
    code = (uint8_t)((uint32_t)(int32_t)v & 0xFFu);
    return lut != NULL ? lut[code] : code;
}

/* Hide a pointer's value from the optimizer (GCC / Clang): keeps unrolled loops walking one pointer instead of
 * precomputing every address into registers it then spills. No code is emitted; elsewhere a no-op. */
#if defined(__GNUC__)
#define MQ_OPAQUE(v) __asm__("" : "+r"(v))
#else
#define MQ_OPAQUE(v) ((void)0)
#endif

#endif /* MICROQUANT_MQ_KERNELS_INTERNAL_H */
