/*
 * mq_add_table_x86: the tabulated same-shape ADD's output loop on the x86-64 host (simulator only; contract and
 * exactness argument in mq_add_internal.h, the same as mq_add_table_c / mq_add_table_mve). Chosen at run time
 * (checked once): AVX-512 VBMI (64 elements per step, the terms by byte-plane table lookups, below), else AVX-512
 * F + BW (16 lanes, gathers), else AVX2 (8 lanes, gathers), else the portable loop. Per element:
 *   s   = t1[a] + t2[b]                                  (VPGATHERDD from the two 256-entry tables)
 *   h   = floor((s * mo + 2^30) / 2^31)                  (TFLite's SRDHM for mo >= 0: VPMULDQ on the even and on
 *         the odd lanes, + 2^30 in int64; |s * mo| < 2^62; bits 31..62 of the sum are h: VPSRLQ 31 puts them in
 *         the even dwords, VPSLLQ 1 in the odd dwords; a blend merges them)
 *   q   = (h >> ro) + ((h & mask) > (mask >> 1) + (h < 0))   (RDBPOT, the exact compare form: no overflow)
 *   out = clamp(zo + q, lo, hi)                           (VPMAXSD / VPMINSD)
 * then the int32 lanes are narrowed to bytes (AVX-512: VPMOVDB, exact as the value lies in [lo, hi], a code
 * range; AVX2: VPACKSSDW + VPACKSSWB when lo < 0, VPACKUSWB otherwise, then a dword permute back to element
 * order). Bit-identical to mq_add_table_c (test_add: every code pair under edge parameters, every variant this
 * CPU has, tails 0..33). The n % 64 (VBMI) / n % 16 (AVX-512) / n % 32 (AVX2) last elements take the portable
 * loop.
 * Compiled with per-function target attributes (no global -m flags).
 */
#include "mq_add_internal.h"

#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <string.h>

#define MQ_ADD_AVX2 __attribute__((target("avx2")))
#define MQ_ADD_AVX512 __attribute__((target("avx512f,avx512bw")))
#define MQ_ADD_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

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
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion" /* GCC's -O0 macro form of the gather casts its all-ones mask */
#endif
        const __m512i s = _mm512_add_epi32(_mm512_i32gather_epi32(ia, (const void *)t1, 4),
                                           _mm512_i32gather_epi32(ib, (const void *)t2, 4));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
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

/* The 4 byte planes of a 256-entry int32 table: byte c % 64 of pl[j][c / 64] = byte j of t[c] (VPMOVDB of
 * t >> 8 j). */
MQ_ADD_VBMI static void mq_add_planes(const int32_t *t, __m512i pl[4][4])
{
    int32_t j, v, w;
    for (j = 0; j < 4; ++j) {
        for (v = 0; v < 4; ++v) {
            __m128i q[4];
            for (w = 0; w < 4; ++w) {
                const __m512i x = _mm512_loadu_si512((const void *)(t + 64 * v + 16 * w));
                q[w] = _mm512_cvtepi32_epi8(_mm512_srli_epi32(x, (unsigned)(8 * j)));
            }
            pl[j][v] = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(q[0]), q[1], 1)),
                _mm256_inserti128_si256(_mm256_castsi128_si256(q[2]), q[3], 1), 1);
        }
    }
}

/* 64 codes -> their 64 int32 terms, as 4 vectors in the unpack order (d[0]: elements 16 L + 0..3 of each 128-bit
 * lane L, d[1]: 16 L + 4..7, d[2]: 16 L + 8..11, d[3]: 16 L + 12..15); VPACKSSDW / VPACKUSWB undo it. */
MQ_ADD_VBMI static inline void mq_add_lookup64(__m512i codes, __m512i pl[4][4], __m512i d[4])
{
    const __mmask64 high = _mm512_movepi8_mask(codes);
    __m512i p[4], w0, w1, x0, x1;
    int32_t j;
    for (j = 0; j < 4; ++j) {
        const __m512i lo = _mm512_permutex2var_epi8(pl[j][0], codes, pl[j][1]);
        const __m512i hi = _mm512_permutex2var_epi8(pl[j][2], codes, pl[j][3]);
        p[j] = _mm512_mask_blend_epi8(high, lo, hi);
    }
    w0 = _mm512_unpacklo_epi8(p[0], p[1]);
    w1 = _mm512_unpackhi_epi8(p[0], p[1]);
    x0 = _mm512_unpacklo_epi8(p[2], p[3]);
    x1 = _mm512_unpackhi_epi8(p[2], p[3]);
    d[0] = _mm512_unpacklo_epi16(w0, x0);
    d[1] = _mm512_unpackhi_epi16(w0, x0);
    d[2] = _mm512_unpacklo_epi16(w1, x1);
    d[3] = _mm512_unpackhi_epi16(w1, x1);
}

MQ_ADD_VBMI static inline __m512i mq_add_os16(__m512i s, __m512i vmo, __m512i bias, __m128i sr, __m512i mask,
                                              __m512i half, __m512i vzo, __m512i vlo, __m512i vhi)
{
    const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(s, vmo), bias);
    const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(s, 32), vmo), bias);
    const __m512i h = _mm512_mask_blend_epi32((__mmask16)0xAAAAu, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
    const __m512i thr = _mm512_add_epi32(half, _mm512_srli_epi32(h, 31));
    const __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, mask), thr);
    const __m512i sh = _mm512_sra_epi32(h, sr);
    const __m512i q = _mm512_mask_add_epi32(sh, up, sh, _mm512_set1_epi32(1));
    return _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, vzo), vlo), vhi);
}

/* n % 64 == 0 elements: the terms looked up from byte planes of the tables (VPERMI2B on the low 7 bits, the two
 * halves merged on bit 7, VPUNPCKL/H BW + WD back to int32: no gather), the same output stage, VPACKSSDW +
 * VPACKSSWB / VPACKUSWB (which undo the unpack order). */
MQ_ADD_VBMI static void mq_add_table_vbmi_body(const int32_t *t1, const int32_t *t2, const uint8_t *a,
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
    const int is_signed = lo < 0;
    __m512i p1[4][4], p2[4][4];
    size_t i;
    mq_add_planes(t1, p1);
    mq_add_planes(t2, p2);
    for (i = 0; i < n; i += 64u) {
        __m512i d1[4], d2[4], r[4], w01, w23;
        int32_t j;
        mq_add_lookup64(_mm512_loadu_si512((const void *)(a + i)), p1, d1);
        mq_add_lookup64(_mm512_loadu_si512((const void *)(b + i)), p2, d2);
        for (j = 0; j < 4; ++j) {
            r[j] = mq_add_os16(_mm512_add_epi32(d1[j], d2[j]), vmo, bias, sr, mask, half, vzo, vlo, vhi);
        }
        w01 = _mm512_packs_epi32(r[0], r[1]);
        w23 = _mm512_packs_epi32(r[2], r[3]);
        _mm512_storeu_si512((void *)(o + i), is_signed ? _mm512_packs_epi16(w01, w23) : _mm512_packus_epi16(w01, w23));
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

void mq_add_table_vbmi(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                       size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    const size_t body = n & ~(size_t)63u;
    mq_add_table_vbmi_body(t1, t2, a, b, o, body, mo, ro, zo, lo, hi);
    mq_add_table_c(t1, t2, a + body, b + body, o + body, n - body, mo, ro, zo, lo, hi);
}

int mq_add_table_x86_supported(const char *name)
{
    __builtin_cpu_init();
    if (strcmp(name, "avx512vbmi") == 0) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                       __builtin_cpu_supports("avx512vbmi")
                   ? 1
                   : 0;
    }
    if (strcmp(name, "avx512") == 0) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
    }
    if (strcmp(name, "avx2") == 0) {
        return __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return strcmp(name, "c") == 0 ? 1 : 0;
}

/* -1: not checked yet, 0: portable, 1: AVX2, 2: AVX-512, 3: AVX-512 VBMI */
static int mq_add_x86_level = -1;

void mq_add_table_x86(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                      size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    int h = __atomic_load_n(&mq_add_x86_level, __ATOMIC_RELAXED);
    if (h < 0) {
        h = mq_add_table_x86_supported("avx512vbmi") ? 3
            : mq_add_table_x86_supported("avx512")   ? 2
            : mq_add_table_x86_supported("avx2")     ? 1
                                                     : 0;
        __atomic_store_n(&mq_add_x86_level, h, __ATOMIC_RELAXED);
    }
    if (h == 3) {
        mq_add_table_vbmi(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    } else if (h == 2) {
        mq_add_table_avx512(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    } else if (h == 1) {
        mq_add_table_avx2(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    } else {
        mq_add_table_c(t1, t2, a, b, o, n, mo, ro, zo, lo, hi);
    }
}

#endif /* MQ_X86_HOST_KERNELS */
