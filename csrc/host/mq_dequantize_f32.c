/* mq_dequantize_f32: 8-bit codes -> float, (q - zero_point) * scale (one float rounding). */
#include <math.h>

#include "microquant/mq_host.h"

#include "mq_host_internal.h"
#include "mq_microkernels.h" /* MQ_X86_HOST_KERNELS */

#if defined(MQ_X86_HOST_KERNELS)
#include <immintrin.h>

/* 8-bit codes, 8 per step: widened to int32, - zero point, converted to float (exact: |code - zp| <= 255), times
 * the scale in float: the exactly rounded product, the same float as the double product rounded once below. */
__attribute__((target("avx2"))) static size_t mq_dequantize_u8_avx2(const uint8_t *c, size_t n, float scale,
                                                                    int32_t zp, int is_signed, float *out)
{
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i vzp = _mm256_set1_epi32(zp);
    size_t i = 0;
    for (; i + 8u <= n; i += 8u) {
        const __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(c + i));
        const __m256i w = is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(w, vzp)), vs));
    }
    return i;
}

/* The same, 16 codes per step on AVX-512 F. */
__attribute__((target("avx512f"))) static size_t mq_dequantize_u8_avx512(const uint8_t *c, size_t n, float scale,
                                                                        int32_t zp, int is_signed, float *out)
{
    const __m512 vs = _mm512_set1_ps(scale);
    const __m512i vzp = _mm512_set1_epi32(zp);
    size_t i = 0;
    for (; i + 16u <= n; i += 16u) {
        const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(c + i));
        const __m512i w = is_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(w, vzp)), vs));
    }
    return i;
}

static int mq_dequantize_isa(void)
{
    static int isa = -1;
    if (isa < 0) {
        isa = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") ? 1 : 0);
    }
    return isa;
}
#endif

mq_status mq_dequantize_f32(const void *q, size_t n, float scale, int32_t zero_point,
                            mq_dtype dtype, float *out)
{
    return mq_dequantize_f32_isa(q, n, scale, zero_point, dtype, out, 2);
}

mq_status mq_dequantize_f32_isa(const void *q, size_t n, float scale, int32_t zero_point, mq_dtype dtype, float *out,
                                int isa)
{
    const uint8_t *c = (const uint8_t *)q;
    size_t i;
    if (q == NULL || out == NULL) {
        return MQ_ERR_NULL;
    }
    if (dtype != MQ_DTYPE_INT8 && dtype != MQ_DTYPE_UINT8 && dtype != MQ_DTYPE_INT16) {
        return MQ_ERR_DTYPE;
    }
    if (dtype == MQ_DTYPE_INT16) {
        if (!mq_scale_ok((double)scale) || zero_point < -32768 || zero_point > 32767) {
            return MQ_ERR_QPARAMS;
        }
        for (i = 0; i < n; ++i) {
            /* int16 little-endian codes; (code - zp) has <= 17 bits: the double product is exact */
            const uint32_t u = (uint32_t)c[2u * i] | ((uint32_t)c[2u * i + 1u] << 8);
            const int32_t code = (int32_t)u - (int32_t)((u & 0x8000u) << 1);
            out[i] = (float)((double)(code - zero_point) * (double)scale);
        }
        return MQ_OK;
    }
    if (!mq_scale_ok((double)scale) || zero_point < mq_dtype_min(dtype) || zero_point > mq_dtype_max(dtype)) {
        return MQ_ERR_QPARAMS;
    }
#if defined(MQ_X86_HOST_KERNELS)
    if (isa > mq_dequantize_isa()) {
        isa = mq_dequantize_isa();
    }
    if (isa >= 1) {
        i = isa == 2 ? mq_dequantize_u8_avx512(c, n, scale, zero_point, dtype == MQ_DTYPE_INT8, out) : 0;
        i += mq_dequantize_u8_avx2(c + i, n - i, scale, zero_point, dtype == MQ_DTYPE_INT8, out + i);
        for (; i < n; ++i) {
            const int32_t code = dtype == MQ_DTYPE_UINT8 ? (int32_t)c[i] : (int32_t)c[i] - ((int32_t)(c[i] & 0x80u) << 1);
            out[i] = (float)((double)(code - zero_point) * (double)scale);
        }
        return MQ_OK;
    }
#else
    (void)isa;
#endif
    if (n > 256u) {
        /* a table of the 256 possible results, each computed exactly as below: the same floats, faster */
        float table[256];
        uint32_t b;
        for (b = 0; b < 256u; ++b) {
            const int32_t code = dtype == MQ_DTYPE_UINT8 ? (int32_t)b : (int32_t)b - ((int32_t)(b & 0x80u) << 1);
            table[b] = (float)((double)(code - zero_point) * (double)scale);
        }
        for (i = 0; i < n; ++i) {
            out[i] = table[c[i]];
        }
        return MQ_OK;
    }
    for (i = 0; i < n; ++i) {
        const int32_t code = dtype == MQ_DTYPE_UINT8 ? (int32_t)c[i] : (int32_t)c[i] - ((int32_t)(c[i] & 0x80u) << 1);
        /* (code - zp) has <= 9 significant bits, so the double product is exact: one rounding to float. */
        out[i] = (float)((double)(code - zero_point) * (double)scale);
    }
    return MQ_OK;
}
