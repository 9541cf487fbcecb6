/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, x86-64 AVX2 (host simulator only).
 *
 * Compiled with a per-function target attribute (no global -m flags) and run only on CPUs with AVX2
 * (mq_gemm_s8_n4k16_x86 checks with __builtin_cpu_supports). Contract: csrc/src/mq_microkernels.h;
 * layouts and formula: mq_kernels.h. Bit-identical to mq_gemm_s8_n4k16_c:
 *   - per 16-code chunk the input x' (UINT8 input: x ^ 0x80) and each of the 4 weight rows are
 *     sign-extended to int16x16 (VPMOVSXBW) and VPMADDWD gives int32 pair sums (a pair of int8 products
 *     never overflows; the saturating VPMADDUBSW is not used); VPADDD accumulates modulo 2^32;
 *   - the last k % 16 codes go through a zero-filled 16-byte buffer: nothing past k is read;
 *   - the output stage is the portable one (mq_gemm_x86_out1: mq_requantize, zero point, clamp, LUT).
 */
#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <string.h>

#include "mq_gemm_x86_internal.h"

#define MQ_AVX2_TARGET __attribute__((target("avx2")))

/* acc += x (int16x16) . sign-extended 16 weight bytes at w, as 8 int32 pair sums. */
MQ_AVX2_TARGET static inline __m256i mq_avx2_row(__m256i acc, __m256i xw, const int8_t *w)
{
    const __m256i ww = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(xw, ww));
}

/* The 8 lanes of a folded to 4 (lo + hi 128-bit halves). */
MQ_AVX2_TARGET static inline __m128i mq_avx2_fold(__m256i a)
{
    return _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
}

MQ_AVX2_TARGET
void mq_gemm_s8_n4k16_avx2(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                           uint8_t *out, int32_t out_stride)
{
    /* a local copy: the byte stores below may alias *p, a local cannot be aliased by them */
    const mq_fc_params q = *p;
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t chunks = k >> 4;
    const int32_t tail = k & 15;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const uint8_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? (uint8_t)0x80u : (uint8_t)0u;
    const __m128i flip128 = _mm_set1_epi8((char)flip);
    int32_t i;

    for (i = 0; i < m; i++) {
        const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
        uint8_t *orow = out + (ptrdiff_t)i * out_stride;
        __m256i xt = _mm256_setzero_si256();
        int32_t g;
        if (tail != 0) {
            uint8_t buf[16];
            int32_t j;
            memset(buf, 0, sizeof(buf));
            for (j = 0; j < tail; j++) {
                buf[j] = (uint8_t)(xr[16 * chunks + j] ^ flip);
            }
            xt = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)buf));
        }
        for (g = 0; 4 * g < n; g++) {
            const int8_t *w = p->weights + (size_t)g * group_bytes;
            const int32_t c0 = 4 * g;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
            __m128i f0, f1, f2, f3, t0, t1;
            int32_t acc[4];
            int32_t c, r;
            for (c = 0; c < chunks; c++) {
                const __m256i xw = _mm256_cvtepi8_epi16(
                    _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(xr + 16 * c)), flip128));
                a0 = mq_avx2_row(a0, xw, w);
                a1 = mq_avx2_row(a1, xw, w + 16);
                a2 = mq_avx2_row(a2, xw, w + 32);
                a3 = mq_avx2_row(a3, xw, w + 48);
                w += 64;
            }
            if (tail != 0) {
                a0 = mq_avx2_row(a0, xt, w);
                a1 = mq_avx2_row(a1, xt, w + 16);
                a2 = mq_avx2_row(a2, xt, w + 32);
                a3 = mq_avx2_row(a3, xt, w + 48);
            }
            f0 = mq_avx2_fold(a0);
            f1 = mq_avx2_fold(a1);
            f2 = mq_avx2_fold(a2);
            f3 = mq_avx2_fold(a3);
            t0 = _mm_add_epi32(_mm_unpacklo_epi32(f0, f1), _mm_unpackhi_epi32(f0, f1));
            t1 = _mm_add_epi32(_mm_unpacklo_epi32(f2, f3), _mm_unpackhi_epi32(f2, f3));
            _mm_storeu_si128((__m128i *)(void *)acc,
                             _mm_add_epi32(_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1)));
            for (r = 0; r < 4 && c0 + r < n; r++) {
                orow[c0 + r] = mq_gemm_x86_out1(&q, c0 + r, (uint32_t)acc[r]);
            }
        }
    }
}

#endif /* MQ_X86_HOST_KERNELS */
