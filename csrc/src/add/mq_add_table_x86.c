/*
 * mq_add_table_x86: the tabulated same-shape ADD's output loop on the x86-64 host (simulator only; contract and
 * exactness argument in mq_add_internal.h, the same as mq_add_table_c / mq_add_table_mve). Chosen at run time
 * (checked once): AVX-512 F + BW (16 lanes), else AVX2 (8 lanes), else the portable loop. Per element:
 *   s   = t1[a] + t2[b]                                  (VPGATHERDD from the two 256-entry tables)
 *   h   = floor((s * mo + 2^30) / 2^31)                  (TFLite's SRDHM for mo >= 0: VPMULDQ on the even and on
 *         the odd lanes, + 2^30 in int64; |s * mo| < 2^62; bits 31..62 of the sum are h: VPSRLQ 31 puts them in
 *         the even dwords, VPSLLQ 1 in the odd dwords; a blend merges them)
 *   q   = (h >> ro) + ((h & mask) > (mask >> 1) + (h < 0))   (RDBPOT, the exact compare form: no overflow)
 *   out = clamp(zo + q, lo, hi)                           (VPMAXSD / VPMINSD)
 * then the int32 lanes are narrowed to bytes (AVX-512: VPMOVDB, exact as the value lies in [lo, hi], a code
 * range; AVX2: VPACKSSDW + VPACKSSWB when lo < 0, VPACKUSWB otherwise, then a dword permute back to element
 * order). Bit-identical to mq_add_table_c (test_add: every code pair under edge parameters, every variant this
 * CPU has, tails 0..31). The n % 16 (AVX-512) / n % 32 (AVX2) last elements take the portable loop.
 * Compiled with per-function target attributes (no global -m flags).
 */
#include "mq_add_internal.h"

#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <string.h>

#define MQ_ADD_AVX2 __attribute__((target("avx2")))
#define MQ_ADD_AVX512 __attribute__((target("avx512f,avx512bw")))

MQ_ADD_AVX2 static inline __m256i mq_add_os8(__m256i s, __m256i vmo, __m256i bias, __m128i sr, __m256i mask,
                                             __m256i half, __m256i vzo, __m256i vlo, __m256i vhi)
{
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(s, vmo), bias);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(s, 32), vmo), bias);
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    const __m256i thr = _mm256_add_epi32(half, _mm256_srli_epi32(h, 31));
    const __m256i up = _mm256_cmpgt_epi32(_mm256_and_si256(h, mask), thr); /* -1 where rounding up */
    const __m256i q = _mm256_sub_epi32(_mm256_sra_epi32(h, sr), up);
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, vzo), vlo), vhi);
}

MQ_ADD_AVX2 static inline __m256i mq_add_terms8(const int32_t *t1, const int32_t *t2, const uint8_t *a,
                                                const uint8_t *b)
{
    const __m256i ia = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)a));
    const __m256i ib = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)b));
    return _mm256_add_epi32(_mm256_i32gather_epi32((const int *)(const void *)t1, ia, 4),
                            _mm256_i32gather_epi32((const int *)(const void *)t2, ib, 4));
}

/* n % 32 == 0 elements */
MQ_ADD_AVX2 static void mq_add_table_avx2_body(const int32_t *t1, const int32_t *t2, const uint8_t *a,
                                               const uint8_t *b, uint8_t *o, size_t n, int32_t mo, int32_t ro,
                                               int32_t zo, int32_t lo, int32_t hi)
{
    const __m256i vmo = _mm256_set1_epi32(mo);
    const __m256i bias = _mm256_set1_epi64x((long long)1 << 30);
    const __m128i sr = _mm_cvtsi32_si128(ro);
    const int32_t m = (int32_t)(((int64_t)1 << ro) - 1);
    const __m256i mask = _mm256_set1_epi32(m);
    const __m256i half = _mm256_set1_epi32(m >> 1);
    const __m256i vzo = _mm256_set1_epi32(zo);
    const __m256i vlo = _mm256_set1_epi32(lo);
    const __m256i vhi = _mm256_set1_epi32(hi);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const int is_signed = lo < 0;
    size_t i;
    for (i = 0; i < n; i += 32u) {
        const __m256i r0 = mq_add_os8(mq_add_terms8(t1, t2, a + i, b + i), vmo, bias, sr, mask, half, vzo, vlo, vhi);
        const __m256i r1 = mq_add_os8(mq_add_terms8(t1, t2, a + i + 8u, b + i + 8u), vmo, bias, sr, mask, half, vzo,
                                      vlo, vhi);
        const __m256i r2 = mq_add_os8(mq_add_terms8(t1, t2, a + i + 16u, b + i + 16u), vmo, bias, sr, mask, half,
                                      vzo, vlo, vhi);
        const __m256i r3 = mq_add_os8(mq_add_terms8(t1, t2, a + i + 24u, b + i + 24u), vmo, bias, sr, mask, half,
                                      vzo, vlo, vhi);
        const __m256i p01 = _mm256_packs_epi32(r0, r1);
        const __m256i p23 = _mm256_packs_epi32(r2, r3);
        const __m256i bytes = is_signed ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
        _mm256_storeu_si256((__m256i *)(void *)(o + i), _mm256_permutevar8x32_epi32(bytes, order));
    }
}

/* n % 16 == 0 elements */
MQ_ADD_AVX512 static void mq_add_table_avx512_body(const int32_t *t1, const int32_t *t2, const uint8_t *a,
                                                   const uint8_t *b, uint8_t *o, size_t n, int32_t mo, int32_t ro,
                                                   int32_t zo, int32_t lo, int32_t hi)
{
    const __m512i vmo = _mm512_set1_epi32(mo);
    const __m512i bias = _mm512_set1_epi64((long long)1 << 30);
    const __m128i sr = _mm_cvtsi32_si128(ro);
    const int32_t m = (int32_t)(((int64_t)1 << ro) - 1);
    const __m512i mask = _mm512_set1_epi32(m);
    const __m512i half = _mm512_set1_epi32(m >> 1);
    const __m512i vzo = _mm512_set1_epi32(zo);
    const __m512i vlo = _mm512_set1_epi32(lo);
    const __m512i vhi = _mm512_set1_epi32(hi);
    size_t i;
    for (i = 0; i < n; i += 16u) {
        const __m512i ia = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(a + i)));
        const __m512i ib = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(b + i)));
        const __m512i s = _mm512_add_epi32(_mm512_i32gather_epi32(ia, (const void *)t1, 4),
                                           _mm512_i32gather_epi32(ib, (const void *)t2, 4));
        const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(s, vmo), bias);
        const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(s, 32), vmo), bias);
        const __m512i h = _mm512_mask_blend_epi32((__mmask16)0xAAAAu, _mm512_srli_epi64(pe, 31),
                                                  _mm512_slli_epi64(po, 1));
        const __m512i thr = _mm512_add_epi32(half, _mm512_srli_epi32(h, 31));
        const __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, mask), thr);
        const __m512i q = _mm512_mask_add_epi32(_mm512_sra_epi32(h, sr), up, _mm512_sra_epi32(h, sr),
                                                _mm512_set1_epi32(1));
        const __m512i v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, vzo), vlo), vhi);
        _mm_storeu_si128((__m128i *)(void *)(o + i), _mm512_cvtepi32_epi8(v));
    }
}

void mq_add_table_avx2(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                       size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    const size_t body = n & ~(size_t)31u;
    mq_add_table_avx2_body(t1, t2, a, b, o, body, mo, ro, zo, lo, hi);
    mq_add_table_c(t1, t2, a + body, b + body, o + body, n - body, mo, ro, zo, lo, hi);
}

void mq_add_table_avx512(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                         size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    const size_t body = n & ~(size_t)15u;
    mq_add_table_avx512_body(t1, t2, a, b, o, body, mo, ro, zo, lo, hi);
    mq_add_table_c(t1, t2, a + body, b + body, o + body, n - body, mo, ro, zo, lo, hi);
}

int mq_add_table_x86_supported(const char *name)
{
    __builtin_cpu_init();
    if (strcmp(name, "avx512") == 0) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
    }
    if (strcmp(name, "avx2") == 0) {
        return __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return strcmp(name, "c") == 0 ? 1 : 0;
}

/* -1: not checked yet, 0: portable, 1: AVX2, 2: AVX-512 */
static int mq_add_x86_level = -1;

void mq_add_table_x86(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                      size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    int h = __atomic_load_n(&mq_add_x86_level, __ATOMIC_RELAXED);
    if (h < 0) {
        h = mq_add_table_x86_supported("avx512") ? 2 : (mq_add_table_x86_supported("avx2") ? 1 : 0);
        __atomic_store_n(&mq_add_x86_level, h, __ATOMIC_RELAXED);
    }
    if (h == 2) {
        mq_add_table_avx512(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    } else if (h == 1) {
        mq_add_table_avx2(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    } else {
        mq_add_table_c(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    }
}

#endif /* MQ_X86_HOST_KERNELS */
