/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, x86-64 SSE2 (the host simulator's path;
 * SSE2 is part of the x86-64 baseline, so it is selected at compile time by __SSE2__).
 *
 * Contract: csrc/src/mq_microkernels.h, layouts and formula: mq_kernels.h. Bit-identical to
 * mq_gemm_s8_n4k16_c, so the host simulator still matches the device byte for byte:
 *   - MACs: per 16-code chunk the input row is sign-extended to two int16x8 vectors (UINT8 input
 *     first XOR 0x80), each of the 4 weight rows likewise, PMADDWD gives int32 pair sums (a pair of
 *     int8 products never overflows) and PADDD accumulates modulo 2^32, the documented wrap;
 *   - the last chunk (k % 16 codes) is copied into a zero-filled 16-byte buffer: nothing past k is
 *     read; the N4K16 weight padding is zero;
 *   - the output stage is the portable one: mq_requantize (TFLite double rounding), zero point and
 *     clamp in int64, optional LUT; with p->single_rounding mq_output_single_rounding.
 */
#include "mq_microkernels.h"
#include "mq_output_stage.h"

#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64))

#include <emmintrin.h>
#include <string.h>

/* Sign-extend the 16 bytes of v to int16: lo = bytes 0..7, hi = bytes 8..15. */
static inline void mq_sse2_widen(__m128i v, __m128i *lo, __m128i *hi)
{
    *lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
    *hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
}

/* acc += dot(x chunk, weight row) as 4 partial int32 lanes. */
static inline __m128i mq_sse2_row(__m128i acc, __m128i xlo, __m128i xhi, const int8_t *w)
{
    __m128i wlo, whi;
    mq_sse2_widen(_mm_loadu_si128((const __m128i *)(const void *)w), &wlo, &whi);
    acc = _mm_add_epi32(acc, _mm_madd_epi16(xlo, wlo));
    return _mm_add_epi32(acc, _mm_madd_epi16(xhi, whi));
}

/* Horizontal sums of a0..a3 -> {sum(a0), sum(a1), sum(a2), sum(a3)} (wrapping adds). */
static inline __m128i mq_sse2_hsum4(__m128i a0, __m128i a1, __m128i a2, __m128i a3)
{
    const __m128i t0 = _mm_add_epi32(_mm_unpacklo_epi32(a0, a1), _mm_unpackhi_epi32(a0, a1));
    const __m128i t1 = _mm_add_epi32(_mm_unpacklo_epi32(a2, a3), _mm_unpackhi_epi32(a2, a3));
    return _mm_add_epi32(_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1));
}

void mq_gemm_s8_n4k16_sse2(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                           uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t chunks = k >> 4;
    const int32_t tail = k & 15;
    const size_t group_bytes = (size_t)((k + 15) / 16) * 64u;
    const __m128i flip = _mm_set1_epi8(p->in_dtype == MQ_DTYPE_UINT8 ? (char)-128 : (char)0);
    int32_t i;

    for (i = 0; i < m; i++) {
        const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
        uint8_t *orow = out + (ptrdiff_t)i * out_stride;
        __m128i xt_lo = _mm_setzero_si128(), xt_hi = _mm_setzero_si128();
        int32_t g;
        if (tail != 0) {
            uint8_t buf[16];
            memset(buf, 0, sizeof(buf));
            memcpy(buf, xr + 16 * chunks, (size_t)tail);
            /* padding bytes become 0x80 after the UINT8 flip: they meet zero weights */
            mq_sse2_widen(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)buf), flip), &xt_lo, &xt_hi);
        }
        for (g = 0; 4 * g < n; g++) {
            const int8_t *w = p->weights.packed + (size_t)g * group_bytes;
            const int32_t c0 = 4 * g;
            __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
            int32_t acc[4];
            int32_t c, r;
            for (c = 0; c < chunks; c++) {
                __m128i xlo, xhi;
                mq_sse2_widen(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(xr + 16 * c)), flip),
                              &xlo, &xhi);
                a0 = mq_sse2_row(a0, xlo, xhi, w);
                a1 = mq_sse2_row(a1, xlo, xhi, w + 16);
                a2 = mq_sse2_row(a2, xlo, xhi, w + 32);
                a3 = mq_sse2_row(a3, xlo, xhi, w + 48);
                w += 64;
            }
            if (tail != 0) {
                a0 = mq_sse2_row(a0, xt_lo, xt_hi, w);
                a1 = mq_sse2_row(a1, xt_lo, xt_hi, w + 16);
                a2 = mq_sse2_row(a2, xt_lo, xt_hi, w + 32);
                a3 = mq_sse2_row(a3, xt_lo, xt_hi, w + 48);
            }
            _mm_storeu_si128((__m128i *)(void *)acc, mq_sse2_hsum4(a0, a1, a2, a3));
            for (r = 0; r < 4 && c0 + r < n; r++) {
                const int32_t ch = p->per_channel ? c0 + r : 0;
                /* bias + dot in uint32 (wraps), then the portable output stage (single rounding: its own) */
                const uint32_t s = (uint32_t)p->bias.folded[c0 + r] + (uint32_t)acc[r];
                orow[c0 + r] = p->single_rounding
                                   ? mq_output_single_rounding(s, p->multiplier[ch], p->shift[ch], p->out_zero_point,
                                                               p->act_min, p->act_max, p->lut)
                                   : mq_output_stage(mq_u32_to_i32(s), p->multiplier[ch], p->shift[ch],
                                                     p->out_zero_point, p->act_min, p->act_max, p->lut);
            }
        }
    }
}

#endif /* __SSE2__ && x86-64 */
