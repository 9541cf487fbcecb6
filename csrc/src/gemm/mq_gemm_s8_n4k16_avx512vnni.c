/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, x86-64 AVX-512 VNNI (host simulator only).
 *
 * Compiled with a per-function target attribute (no global -m flags) and run only on CPUs that have
 * AVX-512 F + BW + VNNI (mq_gemm_s8_n4k16_x86 checks with __builtin_cpu_supports). Contract:
 * csrc/src/mq_microkernels.h; layouts and formula: mq_kernels.h. Bit-identical to mq_gemm_s8_n4k16_c:
 *   - one N4K16 block (4 weight rows x 16 k codes) is exactly 64 bytes = one zmm; the 16 signed input
 *     codes x' (UINT8 input: x ^ 0x80) are broadcast to the 4 128-bit lanes;
 *   - VPDPBUSD multiplies unsigned by signed bytes, so the weights are made unsigned, u = w ^ 0x80 = w + 128,
 *     and sum u * x' = sum w * x' + 128 * sum x': the kernel subtracts 128 * sum(x') (once per input row).
 *     Each u8 x s8 product fits int16 and the 4-product sums fit int32; VPDPBUSD (not the S variant)
 *     accumulates modulo 2^32, and every correction is modulo 2^32 too, so the dot product equals the
 *     portable kernel's wrapping int32 sum exactly;
 *   - four weight groups (16 output channels) per pass share each input broadcast; lanes are summed with
 *     in-lane unpacks, giving the 16 dot products in one zmm;
 *   - the input is never read past k: the last k % 16 codes go through a zero-filled 16-byte buffer
 *     (x' = 0 there, against zero weight padding);
 *   - the 16 dot products are put in channel order (VPERMD), the folded bias added, and the output stage
 *     runs on 16 lanes (exact mq_requantize, zero point, clamp: see mq_gemm_x86_internal.h), then VPMOVDB
 *     narrows to bytes; the optional LUT is a per-byte table lookup; a pass with fewer than 16 channels left
 *     reads its bias / multipliers / shifts from a zero-padded local copy and stores only the valid bytes.
 */
#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <string.h>

#include "mq_gemm_x86_internal.h"

#define MQ_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* sum over k of the signed input codes x' (x' = code ^ flip read as int8), modulo 2^32. */
MQ_VNNI_TARGET static uint32_t mq_vnni_sum_x(const uint8_t *xr, int32_t k, uint8_t flip)
{
    /* SAD against zero sums the unsigned bytes x' + 128 = code ^ flip ^ 0x80. */
    const __m128i f = _mm_set1_epi8((char)(flip ^ 0x80u));
    __m128i acc = _mm_setzero_si128();
    uint64_t total;
    int32_t j = 0;
    for (; j + 16 <= k; j += 16) {
        const __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(xr + j)), f);
        acc = _mm_add_epi64(acc, _mm_sad_epu8(v, _mm_setzero_si128()));
    }
    total = (uint64_t)_mm_cvtsi128_si64(acc) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
    for (; j < k; j++) {
        total += (uint64_t)(uint8_t)(xr[j] ^ flip ^ 0x80u);
    }
    /* sum x' = sum (x' + 128) - 128 k */
    return (uint32_t)total - 128u * (uint32_t)k;
}

/* mq_requantize on 16 lanes (a: accumulators, b: multipliers, sh: shifts in [-31, 30]); the derivation
 * is in mq_gemm_x86_internal.h. */
MQ_VNNI_TARGET static inline __m512i mq_vnni_requantize(__m512i a, __m512i b, __m512i sh)
{
    const __m512i zero = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i nudge = _mm512_set1_epi64((long long)1 << 30);
    const __m512i left = _mm512_max_epi32(sh, zero);
    const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, sh), zero);
    const __m512i x = _mm512_sllv_epi32(a, left);
    const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, b), nudge), 31);
    const __m512i odd = _mm512_slli_epi64(
        _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(b, 32)), nudge), 1);
    __m512i r = _mm512_mask_blend_epi32((__mmask16)0xAAAAu, even, odd);
    __m512i mask, rem, thr, q;
    /* INT32_MIN only for a = b = INT32_MIN: saturate to INT32_MAX */
    r = _mm512_mask_sub_epi32(r, _mm512_cmpeq_epi32_mask(r, _mm512_set1_epi32(INT32_MIN)), r, one);
    mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    rem = _mm512_and_si512(r, mask);
    thr = _mm512_sub_epi32(_mm512_srai_epi32(mask, 1), _mm512_srai_epi32(r, 31));
    q = _mm512_srav_epi32(r, right);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

MQ_VNNI_TARGET
void mq_gemm_s8_n4k16_avx512vnni(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                                 uint8_t *out, int32_t out_stride)
{
    /* a local copy: the byte stores below may alias *p, a local cannot be aliased by them */
    const mq_fc_params q = *p;
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t chunks = k >> 4;
    const int32_t tail = k & 15;
    const int32_t groups = (n + 3) >> 2;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const uint8_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? (uint8_t)0x80u : (uint8_t)0u;
    const __m128i flip128 = _mm_set1_epi8((char)flip);
    const __m512i w_bias = _mm512_set1_epi8((char)-128);
    /* s lane 4 r + j holds channel 4 (g + j) + r: lane L of the permuted vector takes s lane 4 (L % 4) + L / 4 */
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    mq_gemm_x86_clamp cl;
    const int vec_out = mq_gemm_x86_clamp_init(p, &cl);
    const __m512i vlo = _mm512_set1_epi32(vec_out ? cl.lo : 0);
    const __m512i vhi = _mm512_set1_epi32(vec_out ? cl.hi : 0);
    const __m512i vzp = _mm512_set1_epi32(vec_out ? cl.zp : 0);
    const __m512i mult1 = _mm512_set1_epi32(p->multiplier[0]);
    const __m512i shift1 = _mm512_set1_epi32(p->shift[0]);
    int32_t i;

    for (i = 0; i < m; i++) {
        const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
        uint8_t *orow = out + (ptrdiff_t)i * out_stride;
        const uint32_t corr = 128u * mq_vnni_sum_x(xr, k, flip);
        const __m512i vcorr = _mm512_set1_epi32((int)corr);
        __m512i xtail = _mm512_setzero_si512();
        int32_t g;
        if (tail != 0) {
            uint8_t buf[16];
            int32_t j;
            memset(buf, 0, sizeof(buf));
            for (j = 0; j < tail; j++) {
                buf[j] = (uint8_t)(xr[16 * chunks + j] ^ flip);
            }
            xtail = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)buf));
        }
        for (g = 0; g < groups; g += 4) {
            /* groups past the end re-read group g (valid memory); their results are not stored */
            const int8_t *w0 = p->weights.packed + (size_t)g * group_bytes;
            const int8_t *w1 = g + 1 < groups ? w0 + group_bytes : w0;
            const int8_t *w2 = g + 2 < groups ? w0 + 2u * group_bytes : w0;
            const int8_t *w3 = g + 3 < groups ? w0 + 3u * group_bytes : w0;
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            __m512i t0, t1, s;
            int32_t acc[16];
            int32_t c, j, r;
            for (c = 0; c < chunks; c++) {
                const __m512i xb = _mm512_broadcast_i32x4(
                    _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(xr + 16 * c)), flip128));
                const size_t o = (size_t)c * 64u;
                a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w0 + o)), w_bias), xb);
                a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w1 + o)), w_bias), xb);
                a2 = _mm512_dpbusd_epi32(a2, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w2 + o)), w_bias), xb);
                a3 = _mm512_dpbusd_epi32(a3, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w3 + o)), w_bias), xb);
            }
            if (tail != 0) {
                const size_t o = (size_t)chunks * 64u;
                a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w0 + o)), w_bias), xtail);
                a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w1 + o)), w_bias), xtail);
                a2 = _mm512_dpbusd_epi32(a2, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w2 + o)), w_bias), xtail);
                a3 = _mm512_dpbusd_epi32(a3, _mm512_xor_si512(_mm512_loadu_si512((const void *)(w3 + o)), w_bias), xtail);
            }
            /* lane r of aj holds 4 partial sums of row r of group g + j; in-lane reduction gives
             * lane r = {group g row r, group g+1 row r, group g+2 row r, group g+3 row r} */
            t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
            t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
            s = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
            s = _mm512_sub_epi32(s, vcorr);
            if (vec_out) {
                const int32_t c0 = 4 * g;
                const int32_t left = n - c0 < 16 ? n - c0 : 16;
                __m512i bias, mult = mult1, shift = shift1, v;
                if (left == 16) {
                    bias = _mm512_loadu_si512((const void *)(q.bias.folded + c0));
                    if (q.per_channel) {
                        mult = _mm512_loadu_si512((const void *)(q.multiplier + c0));
                        shift = _mm512_loadu_si512((const void *)(q.shift + c0));
                    }
                } else {
                    int32_t pb[16], pm[16], ps[16];
                    memset(pb, 0, sizeof(pb));
                    memset(pm, 0, sizeof(pm));
                    memset(ps, 0, sizeof(ps));
                    memcpy(pb, q.bias.folded + c0, (size_t)left * sizeof(int32_t));
                    bias = _mm512_loadu_si512((const void *)pb);
                    if (q.per_channel) {
                        memcpy(pm, q.multiplier + c0, (size_t)left * sizeof(int32_t));
                        memcpy(ps, q.shift + c0, (size_t)left * sizeof(int32_t));
                        mult = _mm512_loadu_si512((const void *)pm);
                        shift = _mm512_loadu_si512((const void *)ps);
                    }
                }
                v = _mm512_add_epi32(_mm512_permutexvar_epi32(order, s), bias);
                v = mq_vnni_requantize(v, mult, shift);
                v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, vlo), vhi), vzp);
                if (left == 16 && q.lut == NULL) {
                    _mm_storeu_si128((__m128i *)(void *)(orow + c0), _mm512_cvtepi32_epi8(v));
                } else {
                    uint8_t bytes[16];
                    _mm_storeu_si128((__m128i *)(void *)bytes, _mm512_cvtepi32_epi8(v));
                    if (q.lut != NULL) {
                        for (j = 0; j < left; j++) {
                            orow[c0 + j] = q.lut[bytes[j]];
                        }
                    } else {
                        memcpy(orow + c0, bytes, (size_t)left);
                    }
                }
                continue;
            }
            _mm512_storeu_si512((void *)acc, s);
            for (j = 0; j < 4; j++) {
                const int32_t c0 = 4 * (g + j);
                for (r = 0; r < 4 && c0 + r < n; r++) {
                    orow[c0 + r] = mq_gemm_x86_out1(&q, c0 + r, (uint32_t)acc[4 * r + j]);
                }
            }
        }
    }
}

#endif /* MQ_X86_HOST_KERNELS */
