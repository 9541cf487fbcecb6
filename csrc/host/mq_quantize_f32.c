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
                                                                    int32_t zp, int32_t lo, int32_t hi, uint8_t *o,
                                                                    int *nonfinite)
{
    const __m128i expmask = _mm_set1_epi32(0x7F800000);
    __m128i bad = _mm_setzero_si128();
    const __m256d vs = _mm256_set1_pd(scale);
    const double inv = 1.0 / scale;
    const int fast = inv > 0.0 && inv < 1e300; /* finite: x * inv is never inf * 0 */
    const __m256d vinv = _mm256_set1_pd(fast ? inv : 0.0);
    const __m256d vlo = _mm256_set1_pd((double)(lo - zp));
    const __m256d vhi = _mm256_set1_pd((double)(hi - zp));
    const __m256d thr = _mm256_set1_pd(0.5 - 0x1p-29);
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL));
    const __m128i vzp = _mm_set1_epi32(zp);
    size_t i = 0;
    for (; i + 4u <= n; i += 4u) {
        const __m128 xf = _mm_loadu_ps(x + i);
        const __m256d xd = _mm256_cvtps_pd(xf);
        __m256d r;
        /* NaN or infinity: every exponent bit set (the codes of such a group are not used by the caller) */
        bad = _mm_or_si128(bad, _mm_cmpeq_epi32(_mm_and_si128(_mm_castps_si128(xf), expmask), expmask));
        if (fast) {
            /* y = x * (1 / scale) differs from the scalar's double x / scale by at most 3 * 2^-53 |y|, so their
             * half-even roundings agree unless y lies within 3 * 2^-53 |y| of a half-integer. Up to |y| = 2^17
             * that is within 2^-29 of it: such a group (and only such a group, plus |y| > 2^17) takes the exact
             * division. Beyond 2^17 both quotients clamp to the same end of every code range (|lo - zp|,
             * |hi - zp| < 2^16), so a group not flagged there is right too. |y - rne(y)| is exact. */
            const __m256d y = _mm256_mul_pd(xd, vinv);
            const __m256d ry = _mm256_round_pd(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            const __m256d near = _mm256_cmp_pd(_mm256_and_pd(_mm256_sub_pd(y, ry), absmask), thr, _CMP_GE_OQ);
            r = _mm256_movemask_pd(near) == 0 ? ry
                                               : _mm256_round_pd(_mm256_div_pd(xd, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        } else {
            r = _mm256_round_pd(_mm256_div_pd(xd, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        }
        r = _mm256_min_pd(_mm256_max_pd(r, vlo), vhi);
        {
            const __m128i q = _mm_add_epi32(_mm256_cvtpd_epi32(r), vzp);
            const __m128i b = _mm_shuffle_epi8(q, _mm_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
            const int32_t w = _mm_cvtsi128_si32(b);
            memcpy(o + i, &w, 4u);
        }
    }
    *nonfinite = _mm_movemask_epi8(bad) != 0;
    return i;
}

/*
 * The same on AVX-512 F (8-bit codes only), 16 floats per step. First in float: y = x * inv, inv = (float)(1 /
 * scale) (a normal float, else this step is skipped). inv is within 2^-24 of 1 / scale and the product within
 * 2^-24 of x * inv (relative; a subnormal y is within 2^-150 absolute, and rounds to 0 like the quotient), so y
 * is within 2^-23 (1 + 2^-20) |y| of x / scale, and the scalar's double quotient v within 2^-53 of that: for
 * |y| <= 2^10, |y - v| < 2^-12. So when |y - rne(y)| < 0.5 - 2^-12 (exact in float), rne(v) = rne(y). Beyond
 * |y| = 2^10 y and v clamp to the same end of every 8-bit code range (|lo - zp|, |hi - zp| <= 255). A NaN or
 * infinity leaves the test false (NaN compares unordered) and sets the caller's non-finite flag. Only a step
 * with some value within 2^-12 of a half-integer (about 0.4 % of steps on uniformly spread values) takes two
 * groups of 8 doubles with the AVX2 loop's test and the exact division. Codes narrowed by VPMOVDB. Returns how
 * many values it did.
 */
/* gcc's AVX-512 headers implement these intrinsics as macros when not optimizing (-O0), with all-ones masks of
 * type (unsigned short) -1 passed to signed parameters: -Wsign-conversion fires inside the header's macros. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
#endif
__attribute__((target("avx512f"))) static size_t mq_quantize_f32_avx512(const float *x, size_t n, double scale,
                                                                       int32_t zp, int32_t lo, int32_t hi,
                                                                       uint8_t *o, int *nonfinite)
{
    const __m512d vs = _mm512_set1_pd(scale);
    const double inv = 1.0 / scale;
    const int fast = inv > 0.0 && inv < 1e300;
    const __m512d vinv = _mm512_set1_pd(fast ? inv : 0.0);
    const __m512d vlo = _mm512_set1_pd((double)(lo - zp));
    const __m512d vhi = _mm512_set1_pd((double)(hi - zp));
    const __m512d thr = _mm512_set1_pd(0.5 - 0x1p-29);
    const __m512i vzp = _mm512_set1_epi32(zp);
    const __m512i expmask = _mm512_set1_epi32(0x7F800000);
    const float invf = (float)inv;
    const int fastf = fast && invf >= 0x1p-126f && invf <= 0x1.fffffep127f;
    const __m512 vinvf = _mm512_set1_ps(fastf ? invf : 0.0f);
    const __m512 thrf = _mm512_set1_ps(0.5f - 0x1p-12f);
    const __m512 vlof = _mm512_set1_ps((float)(lo - zp));
    const __m512 vhif = _mm512_set1_ps((float)(hi - zp));
    __mmask16 bad = 0;
    size_t i = 0;
    for (; i + 16u <= n; i += 16u) {
        const __m512 xf = _mm512_loadu_ps(x + i);
        __m256i q[2];
        int h;
        bad |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(xf), expmask), expmask);
        if (fastf) {
            const __m512 y = _mm512_mul_ps(xf, vinvf);
            const __m512 ry = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            if (_mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(y, ry)), thrf, _CMP_GE_OQ) == 0) {
                const __m512i c = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(ry, vlof), vhif));
                _mm_storeu_si128((__m128i *)(void *)(o + i), _mm512_cvtepi32_epi8(_mm512_add_epi32(c, vzp)));
                continue;
            }
        }
        for (h = 0; h < 2; ++h) {
            const __m512d xd = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8u * (size_t)h));
            __m512d r;
            if (fast) { /* the test of the AVX2 loop */
                const __m512d y = _mm512_mul_pd(xd, vinv);
                const __m512d ry = _mm512_roundscale_pd(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                const __mmask8 near = _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(y, ry)), thr, _CMP_GE_OQ);
                r = near == 0 ? ry : _mm512_roundscale_pd(_mm512_div_pd(xd, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            } else {
                r = _mm512_roundscale_pd(_mm512_div_pd(xd, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            }
            q[h] = _mm512_cvtpd_epi32(_mm512_min_pd(_mm512_max_pd(r, vlo), vhi));
        }
        {
            const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(q[0]), q[1], 1);
            _mm_storeu_si128((__m128i *)(void *)(o + i), _mm512_cvtepi32_epi8(_mm512_add_epi32(both, vzp)));
        }
    }
    *nonfinite = bad != 0;
    return i;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

static int mq_quantize_isa(void)
{
#if defined(MQ_X86_HOST_KERNELS)
    static int isa = -1;
    if (isa < 0) {
        isa = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") ? 1 : 0);
    }
    return isa;
#else
    return 0;
#endif
}

int mq_quantize_f32_isa_max(void)
{
    return mq_quantize_isa();
}

/* The one implementation: isa 0 scalar, 1 AVX2, 2 AVX-512 (capped at what the CPU has). finite_only: any
 * infinity is an error too, and *first_bad gets the index of the first NaN (or non-finite value), n if none. */
mq_status mq_quantize_f32_isa(const float *x, size_t n, float scale, int32_t zero_point, mq_dtype dtype, void *out,
                              int isa, int finite_only, size_t *first_bad)
{
    uint8_t *o = (uint8_t *)out;
    int32_t lo;
    int32_t hi;
    size_t i;
    int nonfinite = 0;
    if (first_bad != NULL) {
        *first_bad = n;
    }
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
    if (isa > mq_quantize_isa()) {
        isa = mq_quantize_isa();
    }
    i = 0;
#if defined(MQ_X86_HOST_KERNELS)
    /* the vector paths write one byte per code: 8-bit dtypes only (INT16 takes the scalar loop) */
    if (dtype != MQ_DTYPE_INT16 && isa == 2) {
        i = mq_quantize_f32_avx512(x, n, (double)scale, zero_point, lo, hi, o, &nonfinite);
    }
    if (dtype != MQ_DTYPE_INT16 && isa >= 1 && !nonfinite) {
        int nf = 0;
        i += mq_quantize_f32_avx2(x + i, n - i, (double)scale, zero_point, lo, hi, o + i, &nf);
        nonfinite = nf;
    }
#else
    (void)isa;
#endif
    if (nonfinite) {
        i = 0; /* a NaN or infinity somewhere in the vector part: the scalar loop finds (or rejects) it */
    }
    for (; i < n; ++i) {
        /* x / scale in double (one rounding), rounded half to even, then the zero point is added:
         * the range [lo - zp, hi - zp] for the rounded value is the code range [lo, hi]. */
        double v;
        int32_t q;
        if (isnan(x[i]) || (finite_only && isinf(x[i]))) {
            if (first_bad != NULL) {
                *first_bad = i;
            }
            return MQ_ERR_QPARAMS;
        }
        v = (double)x[i] / (double)scale;
        q = mq_round_half_even_clamp(v, lo - zero_point, hi - zero_point) + zero_point;
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

mq_status mq_quantize_f32(const float *x, size_t n, float scale, int32_t zero_point,
                          mq_dtype dtype, void *out)
{
    return mq_quantize_f32_isa(x, n, scale, zero_point, dtype, out, 2, 0, NULL);
}

mq_status mq_quantize_f32_finite(const float *x, size_t n, float scale, int32_t zero_point, mq_dtype dtype, void *out,
                                 size_t *first_nonfinite)
{
    return mq_quantize_f32_isa(x, n, scale, zero_point, dtype, out, 2, 1, first_nonfinite);
}
