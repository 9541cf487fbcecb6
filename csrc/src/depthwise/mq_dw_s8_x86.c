/*
 * mq_dw_s8_x86: depthwise convolution microkernel, x86-64 AVX2 (host simulator only; contract: mq_microkernels.h,
 * mq_dw_run, depth multiplier 1, all channels). Bit-identical to mq_dw_s8_c:
 *   - 8 channels at a time, taps two at a time: the 8 input codes of taps t and t + 1 widened to int16 (UINT8
 *     zero-extended, INT8 sign-extended: the raw code values, as the portable kernel reads them) and interleaved
 *     per channel, against the two taps' int16 weights interleaved the same way (once per channel group):
 *     VPMADDWD gives x_t w_t + x_t+1 w_t+1 per channel exactly (|code| <= 255, |w| <= 32768: |sum| < 2^25; an
 *     odd last tap pairs with zeros), VPADDD from the folded bias: the same sums modulo 2^32;
 *   - the output stage mq_output_stage on 8 lanes: exact mq_requantize (the derivation of
 *     mq_gemm_x86_internal.h: VPSLLVD, SRDHM as (a * b + 2^30) >> 31 from VPMULDQ on even and odd lanes,
 *     INT32_MIN saturation, RDBPOT with mask / threshold and VPSRAVD), then zero point + clamp as
 *     zp + clamp(r, act_min - zp, act_max - zp) (equal when act_min <= act_max; otherwise the portable kernel
 *     runs), the low byte of each lane, the optional LUT per byte;
 *   - the last in_c % 8 channels go to mq_dw_s8_c.
 * Compiled with a per-function target attribute and run only when the CPU has AVX2 (checked once, cached); the
 * portable kernel otherwise.
 */
#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <string.h>

#define MQ_DW_AVX2 __attribute__((target("avx2")))

/* mq_requantize on 8 lanes (shift in [-31, 30], any int32 multiplier). */
MQ_DW_AVX2 static inline __m256i mq_dw_avx2_requantize(__m256i a, __m256i b, __m256i sh)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i nudge = _mm256_set1_epi64x((long long)1 << 30);
    const __m256i left = _mm256_max_epi32(sh, zero);
    const __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, sh), zero);
    const __m256i x = _mm256_sllv_epi32(a, left);
    const __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, b), nudge), 31);
    const __m256i odd = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(b, 32)), nudge), 1);
    __m256i r = _mm256_blend_epi32(even, odd, 0xAA);
    __m256i mask, rem, thr;
    r = _mm256_add_epi32(r, _mm256_cmpeq_epi32(r, _mm256_set1_epi32(INT32_MIN)));
    mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    rem = _mm256_and_si256(r, mask);
    thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_srai_epi32(r, 31));
    return _mm256_sub_epi32(_mm256_srav_epi32(r, right), _mm256_cmpgt_epi32(rem, thr));
}

MQ_DW_AVX2 static void mq_dw_s8_avx2(const mq_dw_run *r, int32_t c_end)
{
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int32_t ntaps = r->ntaps;
    const uint8_t *w = (const uint8_t *)p->weights.data;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    const int64_t lo64 = (int64_t)p->act_min - (int64_t)p->out_zero_point;
    const int64_t hi64 = (int64_t)p->act_max - (int64_t)p->out_zero_point;
    const __m256i vlo = _mm256_set1_epi32(lo64 < INT32_MIN ? INT32_MIN : (lo64 > INT32_MAX ? INT32_MAX : (int32_t)lo64));
    const __m256i vhi = _mm256_set1_epi32(hi64 < INT32_MIN ? INT32_MIN : (hi64 > INT32_MAX ? INT32_MAX : (int32_t)hi64));
    const __m256i vzp = _mm256_set1_epi32(p->out_zero_point);
    /* low byte of each int32 lane: bytes 0, 4, 8, 12 of each 128-bit half, then the two halves' first words */
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                                          -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i join = _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1);
    int32_t c0, i, t, j;

    for (c0 = 0; c0 < c_end; c0 += 8) {
        const __m256i bias = _mm256_loadu_si256((const __m256i *)(const void *)(p->bias.folded + c0));
        const __m256i mult = p->per_channel ? _mm256_loadu_si256((const __m256i *)(const void *)(p->multiplier + c0))
                                            : _mm256_set1_epi32(p->multiplier[0]);
        const __m256i shift = p->per_channel ? _mm256_loadu_si256((const __m256i *)(const void *)(p->shift + c0))
                                             : _mm256_set1_epi32(p->shift[0]);
        /* the weights of taps 2j and 2j + 1 interleaved per channel (int16 pairs), for VPMADDWD */
        __m256i wpair[(MQ_DW_MAX_TAPS + 1) / 2];
        for (t = 0; t < ntaps; t += 2) {
            const __m128i w0 = _mm_loadu_si128((const __m128i *)(const void *)(w + 2u * ((size_t)t * (size_t)cn + (size_t)c0)));
            const __m128i w1 = t + 1 < ntaps ? _mm_loadu_si128((const __m128i *)(const void *)(
                                                   w + 2u * ((size_t)(t + 1) * (size_t)cn + (size_t)c0)))
                                             : _mm_setzero_si128();
            wpair[t / 2] = _mm256_set_m128i(_mm_unpackhi_epi16(w0, w1), _mm_unpacklo_epi16(w0, w1));
        }
        for (i = 0; i < r->npix; ++i) {
            const uint8_t *const *tp = r->taps + (size_t)i * (size_t)ntaps;
            uint8_t *o = r->out + (size_t)i * (size_t)cn + (size_t)c0;
            __m256i acc = bias, v;
            for (t = 0; t < ntaps; t += 2) {
                /* codes of taps t and t + 1 as int16 (|code| <= 255), interleaved like the weights: lane c of
                 * VPMADDWD = x_t[c] w_t[c] + x_t+1[c] w_t+1[c], exact (|sum| < 2^25) */
                const __m128i b0 = _mm_loadl_epi64((const __m128i *)(const void *)(tp[t] + c0));
                const __m128i b1 = t + 1 < ntaps ? _mm_loadl_epi64((const __m128i *)(const void *)(tp[t + 1] + c0))
                                                 : _mm_setzero_si128();
                const __m128i x0 = u8 ? _mm_cvtepu8_epi16(b0) : _mm_cvtepi8_epi16(b0);
                const __m128i x1 = u8 ? _mm_cvtepu8_epi16(b1) : _mm_cvtepi8_epi16(b1);
                const __m256i xv = _mm256_set_m128i(_mm_unpackhi_epi16(x0, x1), _mm_unpacklo_epi16(x0, x1));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, wpair[t / 2]));
            }
            v = mq_dw_avx2_requantize(acc, mult, shift);
            v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi), vzp);
            v = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, pick), join);
            if (p->lut == NULL) {
                _mm_storel_epi64((__m128i *)(void *)o, _mm256_castsi256_si128(v));
            } else {
                uint8_t bytes[8];
                _mm_storel_epi64((__m128i *)(void *)bytes, _mm256_castsi256_si128(v));
                for (j = 0; j < 8; ++j) {
                    o[j] = p->lut[bytes[j]];
                }
            }
        }
    }
}

void mq_dw_s8_x86(const mq_dw_run *r)
{
    static int have_avx2 = -1;
    const mq_depthwise_params *p = r->p;
    const int32_t c_end = p->in_c & ~7;
    int h = __atomic_load_n(&have_avx2, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&have_avx2, h, __ATOMIC_RELAXED);
    }
    if (h == 0 || p->act_min > p->act_max || c_end == 0) {
        mq_dw_s8_c(r, 0, p->in_c);
        return;
    }
    mq_dw_s8_avx2(r, c_end);
    if (c_end < p->in_c) {
        mq_dw_s8_c(r, c_end, p->in_c);
    }
}

#endif /* MQ_X86_HOST_KERNELS */
