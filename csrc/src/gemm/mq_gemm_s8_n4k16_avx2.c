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
 *   - rows two at a time: the 4 sign-extended weight rows of a chunk serve both input rows;
 *   - the output stage runs on the 4 channels of a group at once (128-bit: exact mq_requantize, zero point,
 *     clamp, see mq_gemm_x86_internal.h; the low byte of each lane picked by PSHUFB); the optional LUT is a
 *     per-byte table lookup; a last group with fewer than 4 channels reads zero-padded local copies of its
 *     bias / multipliers / shifts and stores only the valid bytes;
 *   - single rounding (p->single_rounding): the same, with mq_avx2_requantize_single (every shift <= -1) or
 *     mq_gemm_x86_out1 per output (mq_gemm_x86_internal.h).
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

/* mq_requantize on 4 lanes (a: accumulators, b: multipliers, sh: shifts in [-31, 30]); the derivation is in
 * mq_gemm_x86_internal.h. */
MQ_AVX2_TARGET static inline __m128i mq_avx2_requantize(__m128i a, __m128i b, __m128i sh)
{
    const __m128i zero = _mm_setzero_si128();
    const __m128i one = _mm_set1_epi32(1);
    const __m128i nudge = _mm_set1_epi64x((long long)1 << 30);
    const __m128i left = _mm_max_epi32(sh, zero);
    const __m128i right = _mm_max_epi32(_mm_sub_epi32(zero, sh), zero);
    const __m128i x = _mm_sllv_epi32(a, left);
    const __m128i even = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epi32(x, b), nudge), 31);
    const __m128i odd =
        _mm_slli_epi64(_mm_add_epi64(_mm_mul_epi32(_mm_srli_epi64(x, 32), _mm_srli_epi64(b, 32)), nudge), 1);
    __m128i r = _mm_blend_epi32(even, odd, 0xA);
    __m128i mask, rem, thr;
    /* INT32_MIN only for a = b = INT32_MIN: saturate to INT32_MAX (adding the all-ones compare = -1) */
    r = _mm_add_epi32(r, _mm_cmpeq_epi32(r, _mm_set1_epi32(INT32_MIN)));
    mask = _mm_sub_epi32(_mm_sllv_epi32(one, right), one);
    rem = _mm_and_si128(r, mask);
    thr = _mm_sub_epi32(_mm_srai_epi32(mask, 1), _mm_srai_epi32(r, 31));
    /* + (rem > thr): subtract the all-ones compare */
    return _mm_sub_epi32(_mm_srav_epi32(r, right), _mm_cmpgt_epi32(rem, thr));
}

/* Single rounding on 4 lanes, every shift <= -1 (mq_output_stage.h, x86): hi(a * b + 2^(30+E)) >> (E - 1),
 * E = -sh; round per 64-bit lane from the even / odd channels' own 30 + E. */
MQ_AVX2_TARGET static inline __m128i mq_avx2_requantize_single(__m128i a, __m128i b, __m128i sh)
{
    const __m128i cnt = _mm_sub_epi32(_mm_set1_epi32(30), sh);
    const __m128i one = _mm_set1_epi64x(1);
    const __m128i rnd_even = _mm_sllv_epi64(one, _mm_and_si128(cnt, _mm_set1_epi64x(0xFFFFFFFFLL)));
    const __m128i rnd_odd = _mm_sllv_epi64(one, _mm_srli_epi64(cnt, 32));
    const __m128i even = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epi32(a, b), rnd_even), 32);
    const __m128i odd = _mm_add_epi64(_mm_mul_epi32(_mm_srli_epi64(a, 32), _mm_srli_epi64(b, 32)), rnd_odd);
    /* E - 1 = ~sh */
    return _mm_srav_epi32(_mm_blend_epi32(even, odd, 0xA), _mm_xor_si128(sh, _mm_set1_epi32(-1)));
}

/* The 4 dot products of a group from its 4 row accumulators (8 int32 partial sums each), channel order. */
MQ_AVX2_TARGET static inline __m128i mq_avx2_hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
    const __m128i f0 = mq_avx2_fold(a0), f1 = mq_avx2_fold(a1), f2 = mq_avx2_fold(a2), f3 = mq_avx2_fold(a3);
    const __m128i t0 = _mm_add_epi32(_mm_unpacklo_epi32(f0, f1), _mm_unpackhi_epi32(f0, f1));
    const __m128i t1 = _mm_add_epi32(_mm_unpacklo_epi32(f2, f3), _mm_unpackhi_epi32(f2, f3));
    return _mm_add_epi32(_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1));
}

/* Constants of the output stage of one call. */
typedef struct {
    mq_gemm_x86_clamp cl;
    int vec_out;
} mq_avx2_stage;

/* Output stage of the 4 channels c0.. of one row (dot products f0, channel order) into orow. */
MQ_AVX2_TARGET static inline void mq_avx2_out4(const mq_fc_params *q, const mq_avx2_stage *st, __m128i f0, int32_t c0,
                                               uint8_t *orow)
{
    const int32_t n = q->n;
    int32_t r;
    if (st->vec_out) {
        const int32_t left = n - c0 < 4 ? n - c0 : 4;
        const __m128i low_bytes = _mm_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        __m128i bias, mult = _mm_set1_epi32(q->multiplier[0]), shift = _mm_set1_epi32(q->shift[0]);
        uint8_t bytes[4];
        int32_t packed;
        if (left == 4) {
            bias = _mm_loadu_si128((const __m128i *)(const void *)(q->bias.folded + c0));
            if (q->per_channel) {
                mult = _mm_loadu_si128((const __m128i *)(const void *)(q->multiplier + c0));
                shift = _mm_loadu_si128((const __m128i *)(const void *)(q->shift + c0));
            }
        } else {
            int32_t pb[4] = {0, 0, 0, 0}, pm[4] = {0, 0, 0, 0}, ps[4] = {0, 0, 0, 0};
            memcpy(pb, q->bias.folded + c0, (size_t)left * sizeof(int32_t));
            bias = _mm_loadu_si128((const __m128i *)(const void *)pb);
            if (q->per_channel) {
                memcpy(pm, q->multiplier + c0, (size_t)left * sizeof(int32_t));
                memcpy(ps, q->shift + c0, (size_t)left * sizeof(int32_t));
                mult = _mm_loadu_si128((const __m128i *)(const void *)pm);
                shift = _mm_loadu_si128((const __m128i *)(const void *)ps);
            }
        }
        f0 = q->single_rounding ? mq_avx2_requantize_single(_mm_add_epi32(f0, bias), mult, shift)
                                : mq_avx2_requantize(_mm_add_epi32(f0, bias), mult, shift);
        f0 = _mm_add_epi32(_mm_min_epi32(_mm_max_epi32(f0, _mm_set1_epi32(st->cl.lo)), _mm_set1_epi32(st->cl.hi)),
                           _mm_set1_epi32(st->cl.zp));
        f0 = _mm_shuffle_epi8(f0, low_bytes);
        packed = _mm_cvtsi128_si32(f0);
        if (left == 4 && q->lut == NULL) {
            memcpy(orow + c0, &packed, 4);
        } else {
            memcpy(bytes, &packed, 4);
            for (r = 0; r < left; r++) {
                orow[c0 + r] = q->lut != NULL ? q->lut[bytes[r]] : bytes[r];
            }
        }
    } else {
        int32_t acc[4];
        _mm_storeu_si128((__m128i *)(void *)acc, f0);
        for (r = 0; r < 4 && c0 + r < n; r++) {
            orow[c0 + r] = mq_gemm_x86_out1(q, c0 + r, (uint32_t)acc[r]);
        }
    }
}

/* Sign-extended codes x' of the last k % 16 inputs of a row, zero past k. */
MQ_AVX2_TARGET static inline __m256i mq_avx2_tail(const uint8_t *xr, int32_t chunks, int32_t tail, uint8_t flip)
{
    uint8_t buf[16];
    int32_t j;
    memset(buf, 0, sizeof(buf));
    for (j = 0; j < tail; j++) {
        buf[j] = (uint8_t)(xr[16 * chunks + j] ^ flip);
    }
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)buf));
}

/*
 * Rows are taken two at a time (the simulator's batched path): each group's 4 weight rows are sign-extended once
 * per 16-code chunk and multiplied with both input rows (8 accumulators); a last odd row runs alone. The
 * products, sums and output stage are the same per row.
 */
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
    mq_avx2_stage st;
    int32_t i = 0;

    st.vec_out = mq_gemm_x86_clamp_init(p, &st.cl);
    for (; i + 1 < m; i += 2) {
        const uint8_t *x0 = x + (ptrdiff_t)i * x_stride;
        const uint8_t *x1 = x0 + x_stride;
        uint8_t *o0 = out + (ptrdiff_t)i * out_stride;
        uint8_t *o1 = o0 + out_stride;
        const __m256i xt0 = tail != 0 ? mq_avx2_tail(x0, chunks, tail, flip) : _mm256_setzero_si256();
        const __m256i xt1 = tail != 0 ? mq_avx2_tail(x1, chunks, tail, flip) : _mm256_setzero_si256();
        int32_t g;
        for (g = 0; 4 * g < n; g++) {
            const int8_t *w = p->weights.packed + (size_t)g * group_bytes;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
            __m256i b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int32_t c;
            for (c = 0; c <= chunks; c++) {
                __m256i xw0, xw1, w0, w1, w2, w3;
                if (c < chunks) {
                    xw0 = _mm256_cvtepi8_epi16(
                        _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(x0 + 16 * c)), flip128));
                    xw1 = _mm256_cvtepi8_epi16(
                        _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(x1 + 16 * c)), flip128));
                } else if (tail != 0) {
                    xw0 = xt0;
                    xw1 = xt1;
                } else {
                    break;
                }
                w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)w));
                w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(w + 16)));
                w2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(w + 32)));
                w3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(w + 48)));
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xw0, w0));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xw0, w1));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(xw0, w2));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(xw0, w3));
                b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(xw1, w0));
                b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(xw1, w1));
                b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(xw1, w2));
                b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(xw1, w3));
                w += 64;
            }
            mq_avx2_out4(&q, &st, mq_avx2_hsum4(a0, a1, a2, a3), 4 * g, o0);
            mq_avx2_out4(&q, &st, mq_avx2_hsum4(b0, b1, b2, b3), 4 * g, o1);
        }
    }
    for (; i < m; i++) {
        const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
        uint8_t *orow = out + (ptrdiff_t)i * out_stride;
        const __m256i xt = tail != 0 ? mq_avx2_tail(xr, chunks, tail, flip) : _mm256_setzero_si256();
        int32_t g;
        for (g = 0; 4 * g < n; g++) {
            const int8_t *w = p->weights.packed + (size_t)g * group_bytes;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
            int32_t c;
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
            mq_avx2_out4(&q, &st, mq_avx2_hsum4(a0, a1, a2, a3), 4 * g, orow);
        }
    }
}

#endif /* MQ_X86_HOST_KERNELS */
