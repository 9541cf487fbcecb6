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
 *     reads its bias / multipliers / shifts from a zero-padded local copy and stores only the valid bytes;
 *   - single rounding (p->single_rounding): the same paths with mq_vnni_requantize_single (every shift <= -1) or
 *     mq_gemm_x86_out1 per output (the 1- and 4-row paths; mq_gemm_x86_internal.h).
 *   - the K4N16 path (many rows) requantizes in one 64-bit step (mq_x86_rq64.h) when every shift is <= -1 and no
 *     multiplier is INT32_MIN (double rounding), the same values as mq_requantize.
 */
#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <string.h>

#include "mq_gemm_x86_internal.h"
#include "mq_x86_rq64.h"

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

/* Single rounding (p->single_rounding), every shift <= -1: the high-word form of mq_output_stage.h (x86),
 * r = hi(a * M + 2^(30+E)) >> (E - 1), E = -shift. Constants per lane: round of the even / odd channels (64-bit
 * lanes, 2^(30+E) by VPSLLVQ of 1) and E - 1 = ~shift (mq_vnni_single_init); mult_odd = mult >> 32 per 64-bit lane. */
typedef struct {
    __m512i mult, mult_odd, rnd_even, rnd_odd, right;
} mq_vnni_single;

MQ_VNNI_TARGET static inline void mq_vnni_single_init(mq_vnni_single *q, __m512i mult, __m512i shift)
{
    const __m512i cnt = _mm512_sub_epi32(_mm512_set1_epi32(30), shift);
    const __m512i one = _mm512_set1_epi64(1);
    q->mult = mult;
    q->mult_odd = _mm512_srli_epi64(mult, 32);
    q->rnd_even = _mm512_sllv_epi64(one, _mm512_and_si512(cnt, _mm512_set1_epi64(0xFFFFFFFFLL)));
    q->rnd_odd = _mm512_sllv_epi64(one, _mm512_srli_epi64(cnt, 32));
    q->right = _mm512_xor_si512(shift, _mm512_set1_epi32(-1));
}

MQ_VNNI_TARGET __attribute__((always_inline)) static inline __m512i mq_vnni_requantize_single(__m512i a,
                                                                                             const mq_vnni_single *q)
{
    const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, q->mult), q->rnd_even), 32);
    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), q->mult_odd), q->rnd_odd);
    return _mm512_srav_epi32(_mm512_mask_blend_epi32((__mmask16)0xAAAAu, even, odd), q->right);
}

MQ_VNNI_TARGET
static void mq_vnni_rows1(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride, uint8_t *out,
                          int32_t out_stride)
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
                if (q.single_rounding) {
                    mq_vnni_single sq;
                    mq_vnni_single_init(&sq, mult, shift);
                    v = mq_vnni_requantize_single(v, &sq);
                } else {
                    v = mq_vnni_requantize(v, mult, shift);
                }
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

/*
 * Several rows at once (m >= 4: the simulator's batched path). Same products, other bookkeeping: the UNSIGNED
 * operand of VPDPBUSD is the input, u = x' + 128 = code ^ flip ^ 0x80 (the raw code for UINT8 input: no XOR in
 * the loop), the signed one the weights as stored, so sum u * w = sum x' * w + 128 * sum w and the dot product
 * is sum u * w - 128 * colsum (modulo 2^32, like the portable kernel's int32 sum); colsum of each channel is one
 * more VPDPBUSD pass with u = 1. Blocking: tiles of MQ_VNNI_TILE rows; in a tile, for each pass of 16 channels
 * (4 groups, <= 16 * round_up(k, 16) weight bytes, kept in L1), blocks of 4 rows share every weight load: 16
 * accumulators, 4 weight registers, one input broadcast. A block with fewer than 4 rows repeats its first row
 * and stores only the valid ones. The output stage is the 1-row path's (same vector code, same order).
 */
#define MQ_VNNI_TILE 32

/* The 16 channel sums of a 4-group pass (a0..a3: group g .. g+3 accumulators), in s-lane order (lane 4 r + j =
 * channel 4 (g + j) + r), as in mq_vnni_rows1. */
MQ_VNNI_TARGET static inline __m512i mq_vnni_reduce(__m512i a0, __m512i a1, __m512i a2, __m512i a3)
{
    const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
}

/* The 4-row x 16-channel block: sr[r] = the 16 sums u . w of row r (s-lane order), over `chunks` 16-code
 * chunks and, when tails != NULL, one more block of the 4 rows' u codes at tails + 16 r. A function of its own
 * (not inlined) so its 16 accumulators, 4 weight registers and the input broadcast own the register file. */
#define MQ_VNNI_ACC4(NAME, XOR)                                                                                     \
    MQ_VNNI_TARGET __attribute__((noinline)) static void NAME(                                                      \
        const int8_t *w0, const int8_t *w1, const int8_t *w2, const int8_t *w3, const uint8_t *x0,                  \
        const uint8_t *x1, const uint8_t *x2, const uint8_t *x3, int32_t chunks, const uint8_t *tails, __m512i *sr) \
    {                                                                                                               \
        const __m128i f = _mm_set1_epi8((char)0x80);                                                                \
        __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;                                      \
        __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00;                                                         \
        __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00;                                                         \
        __m512i a30 = a00, a31 = a00, a32 = a00, a33 = a00;                                                         \
        int32_t c;                                                                                                  \
        for (c = 0; c <= chunks; c++) {                                                                             \
            const size_t o = (size_t)c * 64u;                                                                       \
            __m512i v0, v1, v2, v3, xb;                                                                             \
            const uint8_t *p0, *p1, *p2, *p3;                                                                       \
            int xr = XOR;                                                                                           \
            if (c < chunks) {                                                                                       \
                p0 = x0 + 16 * c; p1 = x1 + 16 * c; p2 = x2 + 16 * c; p3 = x3 + 16 * c;                             \
            } else if (tails != NULL) {                                                                             \
                p0 = tails; p1 = tails + 16; p2 = tails + 32; p3 = tails + 48;                                      \
                xr = 0; /* already u codes */                                                                       \
            } else {                                                                                                \
                break;                                                                                              \
            }                                                                                                       \
            v0 = _mm512_loadu_si512((const void *)(w0 + o));                                                        \
            v1 = _mm512_loadu_si512((const void *)(w1 + o));                                                        \
            v2 = _mm512_loadu_si512((const void *)(w2 + o));                                                        \
            v3 = _mm512_loadu_si512((const void *)(w3 + o));                                                        \
            xb = xr ? _mm512_broadcast_i32x4(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p0), f))  \
                    : _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)p0));                   \
            a00 = _mm512_dpbusd_epi32(a00, xb, v0); a01 = _mm512_dpbusd_epi32(a01, xb, v1);                         \
            a02 = _mm512_dpbusd_epi32(a02, xb, v2); a03 = _mm512_dpbusd_epi32(a03, xb, v3);                         \
            xb = xr ? _mm512_broadcast_i32x4(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p1), f))  \
                    : _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)p1));                   \
            a10 = _mm512_dpbusd_epi32(a10, xb, v0); a11 = _mm512_dpbusd_epi32(a11, xb, v1);                         \
            a12 = _mm512_dpbusd_epi32(a12, xb, v2); a13 = _mm512_dpbusd_epi32(a13, xb, v3);                         \
            xb = xr ? _mm512_broadcast_i32x4(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p2), f))  \
                    : _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)p2));                   \
            a20 = _mm512_dpbusd_epi32(a20, xb, v0); a21 = _mm512_dpbusd_epi32(a21, xb, v1);                         \
            a22 = _mm512_dpbusd_epi32(a22, xb, v2); a23 = _mm512_dpbusd_epi32(a23, xb, v3);                         \
            xb = xr ? _mm512_broadcast_i32x4(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p3), f))  \
                    : _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)p3));                   \
            a30 = _mm512_dpbusd_epi32(a30, xb, v0); a31 = _mm512_dpbusd_epi32(a31, xb, v1);                         \
            a32 = _mm512_dpbusd_epi32(a32, xb, v2); a33 = _mm512_dpbusd_epi32(a33, xb, v3);                         \
        }                                                                                                           \
        sr[0] = mq_vnni_reduce(a00, a01, a02, a03);                                                                 \
        sr[1] = mq_vnni_reduce(a10, a11, a12, a13);                                                                 \
        sr[2] = mq_vnni_reduce(a20, a21, a22, a23);                                                                 \
        sr[3] = mq_vnni_reduce(a30, a31, a32, a33);                                                                 \
    }
MQ_VNNI_ACC4(mq_vnni_acc4_u8, 0)
MQ_VNNI_ACC4(mq_vnni_acc4_s8, 1)
#undef MQ_VNNI_ACC4

/* mq_vnni_requantize with the per-channel constants hoisted (mult_odd = mult >> 32 per 64-bit lane, left / right
 * = max(+-shift, 0), mask = 2^right - 1, half = mask >> 1); `general` 0 when no lane shifts left and no multiplier
 * is INT32_MIN (then VPSLLVD by 0 and the INT32_MIN saturation change nothing: SRDHM gives INT32_MIN only for
 * a = b = INT32_MIN), which drops those three instructions. */
MQ_VNNI_TARGET __attribute__((always_inline)) static inline __m512i
mq_vnni_requantize_h(__m512i a, __m512i mult, __m512i mult_odd, __m512i left, __m512i right, __m512i mask, __m512i half,
                     const int general)
{
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i nudge = _mm512_set1_epi64((long long)1 << 30);
    const __m512i x = general ? _mm512_sllv_epi32(a, left) : a;
    const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), nudge), 31);
    const __m512i odd = _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_odd), nudge), 1);
    __m512i r = _mm512_mask_blend_epi32((__mmask16)0xAAAAu, even, odd);
    __m512i rem, thr, q;
    if (general) {
        r = _mm512_mask_sub_epi32(r, _mm512_cmpeq_epi32_mask(r, _mm512_set1_epi32(INT32_MIN)), r, one);
    }
    rem = _mm512_and_si512(r, mask);
    thr = _mm512_sub_epi32(half, _mm512_srai_epi32(r, 31));
    q = _mm512_srav_epi32(r, right);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

MQ_VNNI_TARGET __attribute__((always_inline)) static inline void
mq_vnni_rows4_impl(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride, uint8_t *out,
                   int32_t out_stride, const int xor_input)
{
    const mq_fc_params q = *p;
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t chunks = k >> 4;
    const int32_t tail = k & 15;
    const int32_t blocks = chunks + (tail != 0 ? 1 : 0);
    const int32_t groups = (n + 3) >> 2;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const uint8_t uflip = (uint8_t)((p->in_dtype == MQ_DTYPE_UINT8 ? 0x80u : 0u) ^ 0x80u);
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    mq_gemm_x86_clamp cl;
    const int vec_out = mq_gemm_x86_clamp_init(p, &cl);
    const __m512i vlo = _mm512_set1_epi32(vec_out ? cl.lo : 0);
    const __m512i vhi = _mm512_set1_epi32(vec_out ? cl.hi : 0);
    const __m512i vzp = _mm512_set1_epi32(vec_out ? cl.zp : 0);
    const __m512i mult1 = _mm512_set1_epi32(p->multiplier[0]);
    const __m512i shift1 = _mm512_set1_epi32(p->shift[0]);
    int32_t t0;

    for (t0 = 0; t0 < m; t0 += MQ_VNNI_TILE) {
        const int32_t t1 = m - t0 < MQ_VNNI_TILE ? m : t0 + MQ_VNNI_TILE;
        int32_t g;
        for (g = 0; g < groups; g += 4) {
            /* groups past the end re-read group g (valid memory); their results are not stored */
            const int8_t *w0 = p->weights.packed + (size_t)g * group_bytes;
            const int8_t *w1 = g + 1 < groups ? w0 + group_bytes : w0;
            const int8_t *w2 = g + 2 < groups ? w0 + 2u * group_bytes : w0;
            const int8_t *w3 = g + 3 < groups ? w0 + 3u * group_bytes : w0;
            const int32_t c0 = 4 * g;
            const int32_t left = n - c0 < 16 ? n - c0 : 16;
            __m512i bias, mult = mult1, shift = shift1, corr;
            int32_t i0, c;
            {
                /* 128 * colsum in channel order */
                __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
                for (c = 0; c < blocks; c++) {
                    const size_t o = (size_t)c * 64u;
                    s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_loadu_si512((const void *)(w0 + o)));
                    s1 = _mm512_dpbusd_epi32(s1, ones, _mm512_loadu_si512((const void *)(w1 + o)));
                    s2 = _mm512_dpbusd_epi32(s2, ones, _mm512_loadu_si512((const void *)(w2 + o)));
                    s3 = _mm512_dpbusd_epi32(s3, ones, _mm512_loadu_si512((const void *)(w3 + o)));
                }
                corr = _mm512_slli_epi32(_mm512_permutexvar_epi32(order, mq_vnni_reduce(s0, s1, s2, s3)), 7);
            }
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
            /* the output stage's per-channel constants, hoisted out of the row loop */
            const __m512i bc = _mm512_sub_epi32(bias, corr);
            const __m512i zero = _mm512_setzero_si512();
            const __m512i mult_odd = _mm512_srli_epi64(mult, 32);
            const __m512i left_sh = _mm512_max_epi32(shift, zero);
            const __m512i right_sh = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
            const __m512i rmask = _mm512_sub_epi32(_mm512_sllv_epi32(_mm512_set1_epi32(1), right_sh), _mm512_set1_epi32(1));
            const __m512i rhalf = _mm512_srai_epi32(rmask, 1);
            const int general = _mm512_cmpgt_epi32_mask(shift, zero) != 0 ||
                                _mm512_cmpeq_epi32_mask(mult, _mm512_set1_epi32(INT32_MIN)) != 0;
            const int single = q.single_rounding;
            mq_vnni_single sq;
            const uint8_t *const lut = q.lut;
            const int full = left == 16 && lut == NULL;
            mq_vnni_single_init(&sq, mult, shift);
            for (i0 = t0; i0 < t1; i0 += 4) {
                const int32_t rows = t1 - i0 < 4 ? t1 - i0 : 4;
                const uint8_t *x0 = x + (ptrdiff_t)i0 * x_stride;
                const uint8_t *x1 = rows > 1 ? x0 + x_stride : x0;
                const uint8_t *x2 = rows > 2 ? x0 + 2 * (ptrdiff_t)x_stride : x0;
                const uint8_t *x3 = rows > 3 ? x0 + 3 * (ptrdiff_t)x_stride : x0;
                const uint8_t *xs[4];
                __m512i sr[4];
                int32_t r, j;
                xs[0] = x0;
                xs[1] = x1;
                xs[2] = x2;
                xs[3] = x3;
                if (tail != 0) {
                    /* u codes of the last k % 16 inputs, zero past k (zero weights there) */
                    uint8_t buf[4][16];
                    memset(buf, 0, sizeof(buf));
                    for (r = 0; r < 4; r++) {
                        for (j = 0; j < tail; j++) {
                            buf[r][j] = (uint8_t)(xs[r][16 * chunks + j] ^ uflip);
                        }
                    }
                    if (xor_input) {
                        mq_vnni_acc4_s8(w0, w1, w2, w3, x0, x1, x2, x3, chunks, &buf[0][0], sr);
                    } else {
                        mq_vnni_acc4_u8(w0, w1, w2, w3, x0, x1, x2, x3, chunks, &buf[0][0], sr);
                    }
                } else if (xor_input) {
                    mq_vnni_acc4_s8(w0, w1, w2, w3, x0, x1, x2, x3, chunks, NULL, sr);
                } else {
                    mq_vnni_acc4_u8(w0, w1, w2, w3, x0, x1, x2, x3, chunks, NULL, sr);
                }
                for (r = 0; r < rows; r++) {
                    uint8_t *orow = out + (ptrdiff_t)(i0 + r) * out_stride;
                    if (vec_out) {
                        /* channel order; bias minus 128 * colsum: bias + the dot products of x' */
                        const __m512i s = _mm512_add_epi32(_mm512_permutexvar_epi32(order, sr[r]), bc);
                        __m512i v = single    ? mq_vnni_requantize_single(s, &sq)
                                    : general ? mq_vnni_requantize_h(s, mult, mult_odd, left_sh, right_sh, rmask, rhalf, 1)
                                              : mq_vnni_requantize_h(s, mult, mult_odd, left_sh, right_sh, rmask, rhalf, 0);
                        v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, vlo), vhi), vzp);
                        if (full) {
                            _mm_storeu_si128((__m128i *)(void *)(orow + c0), _mm512_cvtepi32_epi8(v));
                        } else {
                            uint8_t bytes[16];
                            _mm_storeu_si128((__m128i *)(void *)bytes, _mm512_cvtepi32_epi8(v));
                            if (lut != NULL) {
                                for (j = 0; j < left; j++) {
                                    orow[c0 + j] = lut[bytes[j]];
                                }
                            } else {
                                memcpy(orow + c0, bytes, (size_t)left);
                            }
                        }
                    } else {
                        /* channel order, minus 128 * colsum: the dot products of x' */
                        const __m512i dot = _mm512_sub_epi32(_mm512_permutexvar_epi32(order, sr[r]), corr);
                        int32_t acc[16];
                        _mm512_storeu_si512((void *)acc, dot);
                        for (j = 0; j < left; j++) {
                            orow[c0 + j] = mq_gemm_x86_out1(&q, c0 + j, (uint32_t)acc[j]);
                        }
                    }
                }
            }
        }
    }
}

/*
 * Many rows (m >= MQ_VNNI_K4_MIN_ROWS): the weights of each slice of up to 64 channels are first repacked, per
 * call, on the stack (at most MQ_VNNI_K4_BYTES: k <= 1024) into "K4N16" blocks: block (b, q) = 64 bytes, dword c = W[16 b + c][4 q .. 4 q + 3] (zero
 * past n and k). One VPDPBUSD of a row's 4 codes 4 q .. 4 q + 3 (broadcast dword, u = code ^ uflip as in the
 * 4-row path) against block (b, q) adds the 4-term dot products of 16 channels in channel order: no in-lane
 * reduction or permutation after the k loop, the output stage runs on the accumulator as it is. Tiles of 4 rows x
 * up to 4 channel blocks (16 accumulators); dot = sum u w - 128 * colsum, as in the 4-row path (the column sums
 * from the repacked blocks). The last quad of a row with k % 4 != 0 is read into a zero-padded dword (the input
 * is never read past k). Same sums modulo 2^32, same output stage: the same bytes.
 */
#define MQ_VNNI_K4_BYTES 65536
#define MQ_VNNI_ALIGN64 __attribute__((aligned(64)))
#ifndef MQ_VNNI_K4_MIN_ROWS
#define MQ_VNNI_K4_MIN_ROWS 64 /* (a -D override: benchmarks comparing the paths) */
#endif

MQ_VNNI_TARGET __attribute__((always_inline)) static inline __m512i mq_vnni_k4_bcast(const uint8_t *xr, int32_t q,
                                                                                    int32_t k, uint32_t flip32)
{
    uint32_t v = 0;
    if (4 * q + 4 <= k) {
        memcpy(&v, xr + 4 * q, 4);
    } else {
        memcpy(&v, xr + 4 * q, (size_t)(k - 4 * q));
        /* the padding bytes meet zero weights: any value; keep them 0 after the flip */
        v ^= flip32 & ~(0xFFFFFFFFu << (8u * (unsigned)(k - 4 * q)));
        return _mm512_set1_epi32((int)v);
    }
    return _mm512_set1_epi32((int)(v ^ flip32));
}

MQ_VNNI_TARGET __attribute__((always_inline)) static inline void
mq_vnni_k4_tile(const int8_t *rp, int32_t kq, int32_t nb, const uint8_t *const xs[4], int32_t k, uint32_t flip32,
                __m512i acc[4][4])
{
    int32_t q, b, r;
    __m512i a[4][4]; /* local accumulators (kept in registers; acc is written once at the end) */
    for (r = 0; r < 4; r++) {
        for (b = 0; b < 4; b++) {
            a[r][b] = _mm512_setzero_si512();
        }
    }
    for (q = 0; q < kq; q++) {
        __m512i wv[4], xb[4];
        const int8_t *blk = rp + (size_t)q * 64u;
        for (b = 0; b < nb; b++) {
            wv[b] = _mm512_loadu_si512((const void *)(blk + (size_t)b * (size_t)kq * 64u));
        }
        for (r = 0; r < 4; r++) {
            xb[r] = mq_vnni_k4_bcast(xs[r], q, k, flip32);
        }
        for (r = 0; r < 4; r++) {
            for (b = 0; b < nb; b++) {
                a[r][b] = _mm512_dpbusd_epi32(a[r][b], xb[r], wv[b]);
            }
        }
    }
    for (r = 0; r < 4; r++) {
        for (b = 0; b < 4; b++) {
            acc[r][b] = a[r][b];
        }
    }
}

/* The tile for uint8 inputs with k % 4 == 0 (flip 0, no partial quad): each row's 4 codes are broadcast straight
 * from memory (VPBROADCASTD m32: a load, no shuffle-port uop taken from the VPDPBUSDs). Same sums. */
MQ_VNNI_TARGET __attribute__((always_inline)) static inline void
mq_vnni_k4_tile_u8q(const int8_t *rp, int32_t kq, int32_t nb, const uint8_t *const xs[4], __m512i acc[4][4])
{
    int32_t q, b, r;
    __m512i a[4][4]; /* local accumulators (kept in registers; acc is written once at the end) */
    for (r = 0; r < 4; r++) {
        for (b = 0; b < 4; b++) {
            a[r][b] = _mm512_setzero_si512();
        }
    }
    for (q = 0; q < kq; q++) {
        __m512i wv[4], xb[4];
        const int8_t *blk = rp + (size_t)q * 64u;
        for (b = 0; b < nb; b++) {
            wv[b] = _mm512_loadu_si512((const void *)(blk + (size_t)b * (size_t)kq * 64u));
        }
        for (r = 0; r < 4; r++) {
            int32_t v;
            memcpy(&v, xs[r] + 4 * q, 4);
            xb[r] = _mm512_set1_epi32(v);
        }
        for (r = 0; r < 4; r++) {
            for (b = 0; b < nb; b++) {
                a[r][b] = _mm512_dpbusd_epi32(a[r][b], xb[r], wv[b]);
            }
        }
    }
    for (r = 0; r < 4; r++) {
        for (b = 0; b < 4; b++) {
            acc[r][b] = a[r][b];
        }
    }
}

/* The tile for indirect rows (mq_gemm_s8_n4k16_avx512vnni_ind): row r's k codes are kh runs of kqr quads, run t at
 * xs[r] + t * st[r] (k = 4 kh kqr: no partial quad); each quad broadcast from memory, XOR flip32 (INT8 inputs).
 * Same quads in the same order as the contiguous tiles: the same sums. */
MQ_VNNI_TARGET __attribute__((always_inline)) static inline void
mq_vnni_k4_tile_ind(const int8_t *rp, int32_t kq, int32_t nb, const uint8_t *const xs[4], const ptrdiff_t st[4],
                    int32_t kh, int32_t kqr, uint32_t flip32, __m512i acc[4][4])
{
    const __m512i fl = _mm512_set1_epi32((int)flip32);
    const uint8_t *x0 = xs[0], *x1 = xs[1], *x2 = xs[2], *x3 = xs[3];
    /* after a run of kqr quads: on to the next run */
    const ptrdiff_t j0 = st[0] - 4 * kqr, j1 = st[1] - 4 * kqr, j2 = st[2] - 4 * kqr, j3 = st[3] - 4 * kqr;
    int32_t q, b, r, left = kqr;
    __m512i a[4][4]; /* local accumulators (kept in registers; acc is written once at the end) */
    (void)kh;
    for (r = 0; r < 4; r++) {
        for (b = 0; b < 4; b++) {
            a[r][b] = _mm512_setzero_si512();
        }
    }
    /* one loop over the kq = kh kqr quads, as the contiguous tiles (the accumulators stay in registers) */
    for (q = 0; q < kq; q++) {
        __m512i wv[4], xb[4];
        int32_t v0, v1, v2, v3;
        const int8_t *blk = rp + (size_t)q * 64u;
        for (b = 0; b < nb; b++) {
            wv[b] = _mm512_loadu_si512((const void *)(blk + (size_t)b * (size_t)kq * 64u));
        }
        memcpy(&v0, x0, 4);
        memcpy(&v1, x1, 4);
        memcpy(&v2, x2, 4);
        memcpy(&v3, x3, 4);
        xb[0] = _mm512_set1_epi32(v0);
        xb[1] = _mm512_set1_epi32(v1);
        xb[2] = _mm512_set1_epi32(v2);
        xb[3] = _mm512_set1_epi32(v3);
        if (flip32 != 0u) {
            for (r = 0; r < 4; r++) {
                xb[r] = _mm512_xor_si512(xb[r], fl);
            }
        }
        x0 += 4;
        x1 += 4;
        x2 += 4;
        x3 += 4;
        if (--left == 0) {
            left = kqr;
            x0 += j0;
            x1 += j1;
            x2 += j2;
            x3 += j3;
        }
        for (r = 0; r < 4; r++) {
            for (b = 0; b < nb; b++) {
                a[r][b] = _mm512_dpbusd_epi32(a[r][b], xb[r], wv[b]);
            }
        }
    }
    for (r = 0; r < 4; r++) {
        for (b = 0; b < 4; b++) {
            acc[r][b] = a[r][b];
        }
    }
}

/* The output stage of one K4 slice (up to 4 channel blocks): per-block constants and the form to use. */
typedef struct {
    __m512i bc[4], mult[4], mult_odd[4], left_sh[4], right_sh[4], rmask[4], rhalf[4];
    mq_vnni_single sq[4];
    mq_rq64 rq[4];
    __m512i vlo, vhi, vzp;
    __mmask16 smask[4];
    int full[4]; /* a whole 16-channel block and no LUT: VPMOVDB + a plain store */
    int general, fastq, negfix, single;
    const uint8_t *lut;
} mq_vnni_k4_os;

/* The output stage of a 4-row tile: acc[r][c] (row r, channel block c of the slice, sums u . w) + bc (bias minus
 * 128 x colsum), requantized (mq_rq64, single rounding, or the mask / threshold form), clamped, zero point; rows
 * past `rows` are computed from a valid row and not stored. nb is a constant at every call (the caller's switch),
 * so the accumulators stay in registers. */
MQ_VNNI_TARGET __attribute__((always_inline)) static inline void mq_vnni_k4_store(const mq_vnni_k4_os *os,
                                                                                __m512i acc[4][4], const int32_t nb,
                                                                                int32_t rows, uint8_t *o0,
                                                                                int32_t out_stride)
{
    int32_t c, r, j;
    for (c = 0; c < nb; c++) {
        __m512i v[4];
        for (r = 0; r < 4; r++) {
            v[r] = _mm512_add_epi32(acc[r][c], os->bc[c]);
        }
        if (os->fastq && os->negfix) {
            for (r = 0; r < 4; r++) {
                v[r] = mq_rq64_apply(v[r], &os->rq[c], 1);
            }
        } else if (os->fastq) {
            for (r = 0; r < 4; r++) {
                v[r] = mq_rq64_apply(v[r], &os->rq[c], 0);
            }
        } else if (os->single) {
            for (r = 0; r < 4; r++) {
                v[r] = mq_vnni_requantize_single(v[r], &os->sq[c]);
            }
        } else if (os->general) {
            for (r = 0; r < 4; r++) {
                v[r] = mq_vnni_requantize_h(v[r], os->mult[c], os->mult_odd[c], os->left_sh[c], os->right_sh[c],
                                            os->rmask[c], os->rhalf[c], 1);
            }
        } else {
            for (r = 0; r < 4; r++) {
                v[r] = mq_vnni_requantize_h(v[r], os->mult[c], os->mult_odd[c], os->left_sh[c], os->right_sh[c],
                                            os->rmask[c], os->rhalf[c], 0);
            }
        }
        for (r = 0; r < 4; r++) {
            v[r] = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v[r], os->vlo), os->vhi), os->vzp);
        }
        if (os->full[c] && rows == 4) {
            /* VPMOVDB to a register, then a plain store (the memory forms of VPMOVDB, masked or not, are slow on
             * some cores; the empty asm keeps the compiler from fusing) */
            for (r = 0; r < 4; r++) {
                __m128i b16 = _mm512_cvtepi32_epi8(v[r]);
                __asm__("" : "+x"(b16));
                _mm_storeu_si128((__m128i *)(void *)(o0 + (ptrdiff_t)r * out_stride + 16 * c), b16);
            }
            continue;
        }
        for (r = 0; r < rows; r++) {
            uint8_t *orow = o0 + (ptrdiff_t)r * out_stride + 16 * c;
            if (os->full[c]) {
                __m128i b16 = _mm512_cvtepi32_epi8(v[r]);
                __asm__("" : "+x"(b16));
                _mm_storeu_si128((__m128i *)(void *)orow, b16);
            } else if (os->lut == NULL) {
                _mm512_mask_cvtepi32_storeu_epi8((void *)orow, os->smask[c], v[r]);
            } else {
                uint8_t bytes[16];
                _mm_storeu_si128((__m128i *)(void *)bytes, _mm512_cvtepi32_epi8(v[r]));
                for (j = 0; j < 16; j++) {
                    if (((unsigned)os->smask[c] >> j) & 1u) {
                        orow[j] = os->lut[bytes[j]];
                    }
                }
            }
        }
    }
}

/* Indirect rows for mq_vnni_k4 (NULL: rows x + i x_stride) */
typedef struct {
    const uint8_t *const *rows;
    const ptrdiff_t *strides;
    int32_t kh;
    int32_t kqr;
} mq_vnni_ind;

MQ_VNNI_TARGET __attribute__((always_inline)) static inline void
mq_vnni_k4(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride, uint8_t *out, int32_t out_stride,
           int8_t *rp, const mq_vnni_ind *ind)
{
    const mq_fc_params q = *p;
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t kc = (k + 15) >> 4;
    const int32_t kq = (k + 3) >> 2;
    const int32_t nbs = (n + 15) >> 4;
    const int32_t groups = (n + 3) >> 2;
    const uint32_t flip32 = p->in_dtype == MQ_DTYPE_UINT8 ? 0u : 0x80808080u;
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512i zero = _mm512_setzero_si512();
    /* 4 (lane % 8): the repack's VPERMT2D index base */
    const __m512i lane4 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    mq_gemm_x86_clamp cl;
    const int vec_out = mq_gemm_x86_clamp_init(p, &cl);
    const __m512i vlo = _mm512_set1_epi32(cl.lo);
    const __m512i vhi = _mm512_set1_epi32(cl.hi);
    const __m512i vzp = _mm512_set1_epi32(cl.zp);
    /* double rounding with every shift <= -1 and no INT32_MIN multiplier: the one-step form of mq_x86_rq64.h;
     * its negative-tie term only when the clamp floor is below 0 */
    const int fastq = !q.single_rounding && mq_rq64_ok(q.multiplier, q.shift, q.per_channel ? n : 1);
    const int negfix = cl.lo < 0;
    int32_t b0, c, qq, i0, r, j;
    (void)vec_out; /* the caller checked it */
    for (b0 = 0; b0 < nbs; b0 += 4) {
        const int32_t nb = nbs - b0 < 4 ? nbs - b0 : 4;
        const int8_t *rb = rp;
        int32_t bb;
        mq_vnni_k4_os os;
        __m512i *const bc = os.bc, *const mult = os.mult, *const mult_odd = os.mult_odd, *const left_sh = os.left_sh;
        __m512i *const right_sh = os.right_sh, *const rmask = os.rmask, *const rhalf = os.rhalf;
        mq_vnni_single *const sq = os.sq;
        mq_rq64 *const rq = os.rq;
        __mmask16 *const smask = os.smask;
        int general = 0;
        os.vlo = vlo;
        os.vhi = vhi;
        os.vzp = vzp;
        os.fastq = fastq;
        os.negfix = negfix;
        os.single = q.single_rounding;
        os.lut = q.lut;
        /* repack this slice of up to 4 channel blocks: dword (bb, qq, c) = the packed dword of channel
         * 16 (b0 + bb) + c, k-chunk qq / 4, dword qq % 4. Per 16-code k-chunk j the 4 N4K16 groups of the block
         * (64 bytes each: channel r's 16 codes at 16 r) are 4 zmm; K4 block qq = 4 j + t takes dword 4 r + t of
         * group c / 4 for channel c: lanes 0..7 from the first two groups, 8..15 from the last two (VPERMT2D,
         * index 4 (lane % 8) + t into the concatenated pair). Groups past the packed ones read as zero. */
        for (bb = 0; bb < nb; bb++) {
            for (qq = 0; qq < kc; qq++) {
                __m512i z[4];
                int32_t g, t;
                for (g = 0; g < 4; g++) {
                    const int32_t grp = 4 * (b0 + bb) + g;
                    z[g] = grp < groups ? _mm512_loadu_si512((const void *)(p->weights.packed + ((size_t)grp * (size_t)kc + (size_t)qq) * 64u))
                                        : zero;
                }
                for (t = 0; t < 4 && 4 * qq + t < kq; t++) {
                    const __m512i idx = _mm512_add_epi32(lane4, _mm512_set1_epi32(t));
                    const __m512i lo = _mm512_permutex2var_epi32(z[0], idx, z[1]);
                    const __m512i hi = _mm512_permutex2var_epi32(z[2], idx, z[3]);
                    _mm512_storeu_si512((void *)(rp + ((size_t)bb * (size_t)kq + (size_t)(4 * qq + t)) * 64u),
                                        _mm512_mask_blend_epi32((__mmask16)0xFF00u, lo, hi));
                }
            }
        }
        for (c = 0; c < nb; c++) {
            const int32_t c0 = 16 * (b0 + c);
            const int32_t left = n - c0 < 16 ? n - c0 : 16;
            const __mmask16 lm = (__mmask16)((1u << left) - 1u);
            __m512i sw = zero, bias, shift;
            for (qq = 0; qq < kq; qq++) {
                sw = _mm512_dpbusd_epi32(sw, ones, _mm512_loadu_si512((const void *)(rb + ((size_t)c * (size_t)kq + (size_t)qq) * 64u)));
            }
            bias = _mm512_maskz_loadu_epi32(lm, (const void *)(q.bias.folded + c0));
            if (q.per_channel) {
                mult[c] = _mm512_maskz_loadu_epi32(lm, (const void *)(q.multiplier + c0));
                shift = _mm512_maskz_loadu_epi32(lm, (const void *)(q.shift + c0));
            } else {
                mult[c] = _mm512_set1_epi32(q.multiplier[0]);
                shift = _mm512_set1_epi32(q.shift[0]);
            }
            bc[c] = _mm512_sub_epi32(bias, _mm512_slli_epi32(sw, 7));
            mult_odd[c] = _mm512_srli_epi64(mult[c], 32);
            left_sh[c] = _mm512_max_epi32(shift, zero);
            right_sh[c] = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
            rmask[c] = _mm512_sub_epi32(_mm512_sllv_epi32(_mm512_set1_epi32(1), right_sh[c]), _mm512_set1_epi32(1));
            rhalf[c] = _mm512_srai_epi32(rmask[c], 1);
            mq_vnni_single_init(&sq[c], mult[c], shift);
            if (fastq) {
                int32_t mu[16], sh[16];
                for (j = 0; j < 16; j++) {
                    /* lanes past the channels: channel c0's constants (their results are not stored) */
                    const int32_t ch = q.per_channel ? c0 + (j < left ? j : 0) : 0;
                    mu[j] = q.multiplier[ch];
                    sh[j] = q.shift[ch];
                }
                mq_rq64_init(&rq[c], mu, sh);
            }
            smask[c] = lm;
            general |= _mm512_cmpgt_epi32_mask(shift, zero) != 0 ||
                       _mm512_cmpeq_epi32_mask(mult[c], _mm512_set1_epi32(INT32_MIN)) != 0;
        }
        os.general = general;
        for (c = 0; c < nb; c++) {
            os.full[c] = q.lut == NULL && smask[c] == (__mmask16)0xFFFFu;
        }
        for (i0 = 0; i0 < m; i0 += 4) {
            const int32_t rows = m - i0 < 4 ? m - i0 : 4;
            const uint8_t *xs[4];
            uint8_t *o0 = out + (ptrdiff_t)i0 * out_stride + 16 * b0;
            __m512i acc[4][4];
            /* each case: the tile, then its output stage with nb a constant (the accumulators stay in registers) */
#define MQ_VNNI_K4_OUT(NB) mq_vnni_k4_store(&os, acc, NB, rows, o0, out_stride)
            if (ind != NULL) {
                ptrdiff_t st[4];
                for (r = 0; r < 4; r++) {
                    xs[r] = ind->rows[i0 + (r < rows ? r : 0)];
                    st[r] = ind->strides[i0 + (r < rows ? r : 0)];
                }
                if (flip32 == 0u) {
                    switch (nb) {
                    case 4: mq_vnni_k4_tile_ind(rb, kq, 4, xs, st, ind->kh, ind->kqr, 0u, acc); MQ_VNNI_K4_OUT(4); break;
                    case 3: mq_vnni_k4_tile_ind(rb, kq, 3, xs, st, ind->kh, ind->kqr, 0u, acc); MQ_VNNI_K4_OUT(3); break;
                    case 2: mq_vnni_k4_tile_ind(rb, kq, 2, xs, st, ind->kh, ind->kqr, 0u, acc); MQ_VNNI_K4_OUT(2); break;
                    default: mq_vnni_k4_tile_ind(rb, kq, 1, xs, st, ind->kh, ind->kqr, 0u, acc); MQ_VNNI_K4_OUT(1); break;
                    }
                } else {
                    switch (nb) {
                    case 4: mq_vnni_k4_tile_ind(rb, kq, 4, xs, st, ind->kh, ind->kqr, flip32, acc); MQ_VNNI_K4_OUT(4); break;
                    case 3: mq_vnni_k4_tile_ind(rb, kq, 3, xs, st, ind->kh, ind->kqr, flip32, acc); MQ_VNNI_K4_OUT(3); break;
                    case 2: mq_vnni_k4_tile_ind(rb, kq, 2, xs, st, ind->kh, ind->kqr, flip32, acc); MQ_VNNI_K4_OUT(2); break;
                    default: mq_vnni_k4_tile_ind(rb, kq, 1, xs, st, ind->kh, ind->kqr, flip32, acc); MQ_VNNI_K4_OUT(1); break;
                    }
                }
                continue;
            }
            for (r = 0; r < 4; r++) {
                xs[r] = x + (ptrdiff_t)(i0 + (r < rows ? r : 0)) * x_stride;
            }
            if (flip32 == 0u && (k & 3) == 0) {
                switch (nb) {
                case 4: mq_vnni_k4_tile_u8q(rb, kq, 4, xs, acc); MQ_VNNI_K4_OUT(4); break;
                case 3: mq_vnni_k4_tile_u8q(rb, kq, 3, xs, acc); MQ_VNNI_K4_OUT(3); break;
                case 2: mq_vnni_k4_tile_u8q(rb, kq, 2, xs, acc); MQ_VNNI_K4_OUT(2); break;
                default: mq_vnni_k4_tile_u8q(rb, kq, 1, xs, acc); MQ_VNNI_K4_OUT(1); break;
                }
            } else {
                switch (nb) {
                case 4: mq_vnni_k4_tile(rb, kq, 4, xs, k, flip32, acc); MQ_VNNI_K4_OUT(4); break;
                case 3: mq_vnni_k4_tile(rb, kq, 3, xs, k, flip32, acc); MQ_VNNI_K4_OUT(3); break;
                case 2: mq_vnni_k4_tile(rb, kq, 2, xs, k, flip32, acc); MQ_VNNI_K4_OUT(2); break;
                default: mq_vnni_k4_tile(rb, kq, 1, xs, k, flip32, acc); MQ_VNNI_K4_OUT(1); break;
                }
            }
#undef MQ_VNNI_K4_OUT
        }
    }
}

MQ_VNNI_TARGET static void mq_vnni_rows4_u8(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                                            uint8_t *out, int32_t out_stride)
{
    mq_vnni_rows4_impl(p, m, x, x_stride, out, out_stride, 0);
}

MQ_VNNI_TARGET static void mq_vnni_rows4_s8(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                                            uint8_t *out, int32_t out_stride)
{
    mq_vnni_rows4_impl(p, m, x, x_stride, out, out_stride, 1);
}

MQ_VNNI_TARGET
void mq_gemm_s8_n4k16_avx512vnni(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                                 uint8_t *out, int32_t out_stride)
{
    mq_gemm_x86_clamp cl;
    /* the K4N16 path has the vector output stage only (single rounding: every shift <= -1) */
    if (m >= MQ_VNNI_K4_MIN_ROWS && mq_gemm_x86_clamp_init(p, &cl) &&
        (size_t)(p->n > 48 ? 4 : (p->n + 15) >> 4) * (size_t)((p->k + 3) >> 2) * 64u <= MQ_VNNI_K4_BYTES) {
        MQ_VNNI_ALIGN64 int8_t rp[MQ_VNNI_K4_BYTES];
        mq_vnni_k4(p, m, x, x_stride, out, out_stride, rp, NULL);
    } else if (m < 4) {
        mq_vnni_rows1(p, m, x, x_stride, out, out_stride);
    } else if (p->in_dtype == MQ_DTYPE_UINT8) {
        mq_vnni_rows4_u8(p, m, x, x_stride, out, out_stride);
    } else {
        mq_vnni_rows4_s8(p, m, x, x_stride, out, out_stride);
    }
}

MQ_VNNI_TARGET
int mq_gemm_s8_n4k16_avx512vnni_ind(const mq_fc_params *p, int32_t m, const uint8_t *const *rows,
                                    const ptrdiff_t *strides, int32_t kh, uint8_t *out, int32_t out_stride)
{
    mq_gemm_x86_clamp cl;
    mq_vnni_ind ind;
    if (m < 1 || kh < 1 || p->k % (4 * kh) != 0 || !mq_gemm_x86_clamp_init(p, &cl) ||
        (size_t)(p->n > 48 ? 4 : (p->n + 15) >> 4) * (size_t)((p->k + 3) >> 2) * 64u > MQ_VNNI_K4_BYTES) {
        return 0;
    }
    {
        MQ_VNNI_ALIGN64 int8_t rp[MQ_VNNI_K4_BYTES];
        ind.rows = rows;
        ind.strides = strides;
        ind.kh = kh;
        ind.kqr = p->k / (4 * kh);
        mq_vnni_k4(p, m, NULL, 0, out, out_stride, rp, &ind);
    }
    return 1;
}

#endif /* MQ_X86_HOST_KERNELS */
