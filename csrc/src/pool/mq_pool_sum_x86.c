/*
 * mq_pool_sum_x86: window sums of the fast average pool on the x86-64 host (simulator only; contract:
 * mq_pool_internal.h, as mq_pool_sum_dsp). sums[c] += sum over `taps` taps (tap_stride bytes apart) of channel c,
 * c < nch. AVX2 (chosen at run time, checked once): 16 channels per step, each tap's 16 codes widened to int16
 * (VPMOVSXBW for INT8, VPMOVZXBW for UINT8) and added into 16-bit lanes; 256 taps of |code| <= 128 (int8) or
 * <= 255 (uint8) fit a 16-bit lane (signed -32768..32512, unsigned <= 65280), so the lanes are widened into the
 * int32 sums every 256 taps: exact, bit-identical to the portable sums. The last nch % 16 channels, and CPUs
 * without AVX2, take the scalar sum. Compiled with a per-function target attribute (no global -m flags).
 */
#include "mq_microkernels.h"
#include "mq_pool_internal.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>

#define MQ_POOL_AVX2 __attribute__((target("avx2")))

MQ_POOL_AVX2 static int32_t mq_pool_sum16_avx2(const uint8_t *base, int32_t taps, int32_t tap_stride, int is_s8,
                                               int32_t *sums)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)sums);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(sums + 8));
    const uint8_t *q = base;
    int32_t t = 0;
    while (t < taps) {
        const int32_t end = taps - t < 256 ? taps : t + 256;
        __m256i acc = _mm256_setzero_si256();
        if (is_s8) {
            for (; t < end; ++t, q += tap_stride) {
                acc = _mm256_add_epi16(acc, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)q)));
            }
            lo = _mm256_add_epi32(lo, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc)));
            hi = _mm256_add_epi32(hi, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc, 1)));
        } else {
            for (; t < end; ++t, q += tap_stride) {
                acc = _mm256_add_epi16(acc, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)q)));
            }
            lo = _mm256_add_epi32(lo, _mm256_cvtepu16_epi32(_mm256_castsi256_si128(acc)));
            hi = _mm256_add_epi32(hi, _mm256_cvtepu16_epi32(_mm256_extracti128_si256(acc, 1)));
        }
    }
    _mm256_storeu_si256((__m256i *)(void *)sums, lo);
    _mm256_storeu_si256((__m256i *)(void *)(sums + 8), hi);
    return 16;
}

/* -1: not checked yet, 0: no AVX2, 1: AVX2 */
static int mq_pool_x86_avx2 = -1;

void mq_pool_sum_x86(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, int32_t *sums)
{
    int h = __atomic_load_n(&mq_pool_x86_avx2, __ATOMIC_RELAXED);
    int32_t c = 0;
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&mq_pool_x86_avx2, h, __ATOMIC_RELAXED);
    }
    if (h != 0) {
        while (c + 16 <= nch) {
            c += mq_pool_sum16_avx2(base + c, taps, tap_stride, is_s8, sums + c);
        }
    }
    for (; c < nch; ++c) {
        const uint8_t *q = base + c;
        int32_t a = 0;
        int32_t t;
        for (t = 0; t < taps; ++t, q += tap_stride) {
            a += is_s8 ? (int32_t)(int8_t)*q : (int32_t)*q;
        }
        sums[c] += a;
    }
}

#endif /* MQ_X86_HOST_KERNELS */
