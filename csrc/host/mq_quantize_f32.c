/* mq_quantize_f32: float -> 8-bit codes, q = clamp(round_half_even(x / scale) + zero_point), in double. */
#include <math.h>
#include <string.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"
#include "mq_microkernels.h" /* MQ_X86_HOST_KERNELS */

#if defined(MQ_X86_HOST_KERNELS)
#include <immintrin.h>

/*
 * x86-64 AVX2 path of the loop below (the simulator quantizes whole test sets), the same codes: 4 floats at a
 * time widened to double (exact), divided by the scale in double (IEEE division, the scalar's one rounding; a
 * multiplication by 1 / scale instead where that provably rounds to the same integer, see the loop),
 * rounded half to even by VROUNDPD (round to nearest even, exact for every double), clamped to [lo - zp, hi - zp]
 * (integers: clamping after the rounding equals the scalar's clamp-then-round, infinities included), converted
 * (exact: an integer in the int32 range), + zero point, narrowed to bytes. Returns how many values it did.
 */
__attribute__((target("avx2"))) static size_t mq_quantize_f32_avx2(const float *x, size_t n, double scale,
                                                                    int32_t zp, int32_t lo, int32_t hi, uint8_t *o)
{
    const __m256d vs = _mm256_set1_pd(scale);
    const double inv = 1.0 / scale;
    const int fast = inv > 0.0 && inv < 1e300; /* finite: x * inv is never inf * 0 */
    const __m256d vinv = _mm256_set1_pd(fast ? inv : 0.0);
    const __m256d vlo = _mm256_set1_pd((double)(lo - zp));
    const __m256d vhi = _mm256_set1_pd((double)(hi - zp));
    const __m256d half = _mm256_set1_pd(0.5);
    const __m256d tol = _mm256_set1_pd(0x1p-46);
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL));
    const __m128i vzp = _mm_set1_epi32(zp);
    size_t i = 0;
    for (; i + 4u <= n; i += 4u) {
        const __m256d xd = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
        __m256d v;
        if (fast) {
            /* x * (1 / scale) differs from the correctly rounded x / scale by at most 3 * 2^-53 relative, so
             * their half-even roundings can differ only if x * (1 / scale) lies within 2^-50 |y| of a
             * half-integer: such a group (and only such a group) takes the exact division. */
            const __m256d y = _mm256_mul_pd(xd, vinv);
            const __m256d frac = _mm256_sub_pd(y, _mm256_floor_pd(y));
            const __m256d dist = _mm256_and_pd(_mm256_sub_pd(frac, half), absmask);
            const __m256d near = _mm256_cmp_pd(dist, _mm256_mul_pd(_mm256_and_pd(y, absmask), tol), _CMP_LE_OQ);
            v = _mm256_movemask_pd(near) == 0 ? y : _mm256_div_pd(xd, vs);
        } else {
            v = _mm256_div_pd(xd, vs);
        }
        {
            const __m256d r = _mm256_min_pd(
                _mm256_max_pd(_mm256_round_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vlo), vhi);
            const __m128i q = _mm_add_epi32(_mm256_cvtpd_epi32(r), vzp);
            const __m128i b = _mm_shuffle_epi8(q, _mm_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
            const int32_t w = _mm_cvtsi128_si32(b);
            memcpy(o + i, &w, 4u);
        }
    }
    return i;
}

/* 1 when some x[i] is NaN (AVX2 compare, unordered). */
__attribute__((target("avx2"))) static int mq_any_nan_avx2(const float *x, size_t n)
{
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8u <= n; i += 8u) {
        const __m256 v = _mm256_loadu_ps(x + i);
        acc = _mm256_or_ps(acc, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    if (_mm256_movemask_ps(acc) != 0) {
        return 1;
    }
    for (; i < n; ++i) {
        if (isnan(x[i])) {
            return 1;
        }
    }
    return 0;
}
#endif

mq_status mq_quantize_f32(const float *x, size_t n, float scale, int32_t zero_point,
                          mq_dtype dtype, void *out)
{
    uint8_t *o = (uint8_t *)out;
    int32_t lo;
    int32_t hi;
    size_t i;
    if (x == NULL || out == NULL) {
        return MQ_ERR_NULL;
    }
    if (dtype != MQ_DTYPE_INT8 && dtype != MQ_DTYPE_UINT8 && dtype != MQ_DTYPE_INT16) {
        return MQ_ERR_DTYPE;
    }
    lo = dtype == MQ_DTYPE_INT16 ? -32768 : mq_dtype_min(dtype);
    hi = dtype == MQ_DTYPE_INT16 ? 32767 : mq_dtype_max(dtype);
    if (!mq_scale_ok((double)scale) || zero_point < lo || zero_point > hi) {
        return MQ_ERR_QPARAMS;
    }
    i = 0;
#if defined(MQ_X86_HOST_KERNELS)
    if (__builtin_cpu_supports("avx2")) {
        if (mq_any_nan_avx2(x, n)) {
            return MQ_ERR_QPARAMS;
        }
        i = mq_quantize_f32_avx2(x, n, (double)scale, zero_point, lo, hi, o);
    } else
#endif
    {
        size_t j;
        for (j = 0; j < n; ++j) {
            if (isnan(x[j])) {
                return MQ_ERR_QPARAMS;
            }
        }
    }
    for (; i < n; ++i) {
        /* x / scale in double (one rounding), rounded half to even, then the zero point is added:
         * the range [lo - zp, hi - zp] for the rounded value is the code range [lo, hi]. */
        const double v = (double)x[i] / (double)scale;
        const int32_t q = mq_round_half_even_clamp(v, lo - zero_point, hi - zero_point) + zero_point;
        if (dtype == MQ_DTYPE_INT16) {
            /* int16 codes, little-endian (2 bytes per value) */
            o[2u * i] = (uint8_t)((uint32_t)q & 0xFFu);
            o[2u * i + 1u] = (uint8_t)(((uint32_t)q >> 8) & 0xFFu);
        } else {
            o[i] = (uint8_t)q;
        }
    }
    return MQ_OK;
}
