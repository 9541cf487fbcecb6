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
 *   - the last in_c % 8 channels go to mq_dw_s8_c;
 *   - single rounding (p->single_rounding, QDQ models): the same sums, the requantization swapped for the
 *     high-word form of mq_output_stage.h (x86) when every shift is <= -1 (mq_dw_x86_shifts_neg), else the portable
 *     kernel.
 * AVX-512 VNNI variant (mq_dw_s8_vnni, below): 64 channels per step with VPDPBUSD, used when the CPU has AVX-512
 * F + BW + VNNI and every weight of the run fits int8 (always for int8 models); it takes any in_c (masked loads and
 * stores for the last < 64 channels). Whole-layer kernels (mq_dw_s8_x86_layer, same condition): the column quads
 * (mq_dwc_layer, stride_w 1) and the flat rows (mq_dwp_layer: every lane busy for 8/16/32 channels and stride 2);
 * their double-rounding output stage takes the one-step form of mq_x86_rq64.h when every shift is <= -1.
 * Compiled with per-function target attributes and run only when the CPU has the instructions (checked once,
 * cached); the portable kernel otherwise.
 */
#include "mq_microkernels.h"
#include "mq_x86_rq64.h"

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

/* Single rounding on 8 lanes, every shift <= -1 (mq_output_stage.h, x86): hi(a * b + 2^(30+E)) >> (E - 1). */
MQ_DW_AVX2 static inline __m256i mq_dw_avx2_requantize_single(__m256i a, __m256i b, __m256i sh)
{
    const __m256i cnt = _mm256_sub_epi32(_mm256_set1_epi32(30), sh);
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i rnd_even = _mm256_sllv_epi64(one, _mm256_and_si256(cnt, _mm256_set1_epi64x(0xFFFFFFFFLL)));
    const __m256i rnd_odd = _mm256_sllv_epi64(one, _mm256_srli_epi64(cnt, 32));
    const __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, b), rnd_even), 32);
    const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32)), rnd_odd);
    return _mm256_srav_epi32(_mm256_blend_epi32(even, odd, 0xAA), _mm256_xor_si256(sh, _mm256_set1_epi32(-1)));
}

/* 1 when every shift of the layer is <= -1 (the condition of the vector single-rounding stage). */
static int mq_dw_x86_shifts_neg(const mq_depthwise_params *p)
{
    const int32_t n = p->per_channel ? p->in_c * p->depth_multiplier : 1;
    int32_t c, all = -1;
    for (c = 0; c < n; ++c) {
        all &= p->shift[c];
    }
    return all < 0;
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
            v = p->single_rounding ? mq_dw_avx2_requantize_single(acc, mult, shift)
                                   : mq_dw_avx2_requantize(acc, mult, shift);
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

#define MQ_DW_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define MQ_VNNI_ALIGN64_DW __attribute__((aligned(64)))

/* 1 when every int16 weight of the run lies in [-128, 127] (int8 models always: mq_depthwise_pack_weights
 * widens int8), the condition of the VPDPBUSD path. */
MQ_DW_VNNI static int mq_dw_vnni_weights_fit(const mq_depthwise_params *p, int32_t ntaps)
{
    const uint8_t *w = (const uint8_t *)p->weights.data;
    const size_t n = (size_t)ntaps * (size_t)p->in_c; /* int16 values */
    const __m512i lo = _mm512_set1_epi16(-128);
    const __m512i hi = _mm512_set1_epi16(127);
    __mmask32 bad = 0;
    size_t i = 0;
    for (; i + 32u <= n; i += 32u) {
        const __m512i v = _mm512_loadu_si512((const void *)(w + 2u * i));
        bad |= _mm512_cmplt_epi16_mask(v, lo) | _mm512_cmpgt_epi16_mask(v, hi);
    }
    if (i < n) {
        const __mmask32 m = (__mmask32)((1u << (unsigned)(n - i)) - 1u);
        const __m512i v = _mm512_maskz_loadu_epi16(m, (const void *)(w + 2u * i));
        bad |= _mm512_cmplt_epi16_mask(v, lo) | _mm512_cmpgt_epi16_mask(v, hi);
    }
    return bad == 0;
}

/* 64 int32 values v[c0 .. c0 + nc) (zero past nc) as 4 vectors in channel order 4 j + q: out[q] lane j = v[4 j + q]. */
MQ_DW_VNNI static void mq_dw_vnni_split4(const int32_t *v, uint64_t m64, __m512i out[4])
{
    const __m512i a = _mm512_maskz_loadu_epi32((__mmask16)(m64 & 0xFFFFu), (const void *)v);
    const __m512i b = _mm512_maskz_loadu_epi32((__mmask16)((m64 >> 16) & 0xFFFFu), (const void *)(v + 16));
    const __m512i c = _mm512_maskz_loadu_epi32((__mmask16)((m64 >> 32) & 0xFFFFu), (const void *)(v + 32));
    const __m512i d = _mm512_maskz_loadu_epi32((__mmask16)((m64 >> 48) & 0xFFFFu), (const void *)(v + 48));
    int q;
    for (q = 0; q < 4; ++q) {
        /* lanes 0..7: element 4 j + q of (a, b) (indices >= 16 select b); lanes 8..15 unused */
        const __m512i idx = _mm512_add_epi32(_mm512_set_epi32(60, 56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 8, 4, 0),
                                             _mm512_set1_epi32(q));
        const __m512i ab = _mm512_permutex2var_epi32(a, idx, b);
        const __m512i cd = _mm512_permutex2var_epi32(c, idx, d);
        out[q] = _mm512_inserti64x4(ab, _mm512_castsi512_si256(cd), 1);
    }
}

/* Hoisted constants of mq_requantize for 16 lanes (shift in [-31, 30]; derivation: mq_gemm_x86_internal.h). */
typedef struct {
    __m512i mult, mult_odd, left, right, mask, half;
    __m512i rnd_even, rnd_odd, right1; /* single rounding (every shift <= -1): 2^(30+E) per 64-bit lane, E - 1 */
} mq_dw_vnni_rq;

MQ_DW_VNNI static inline void mq_dw_vnni_rq_init(mq_dw_vnni_rq *q, __m512i mult, __m512i sh)
{
    const __m512i zero = _mm512_setzero_si512();
    q->mult = mult;
    q->mult_odd = _mm512_srli_epi64(mult, 32);
    q->left = _mm512_max_epi32(sh, zero);
    q->right = _mm512_max_epi32(_mm512_sub_epi32(zero, sh), zero);
    q->mask = _mm512_sub_epi32(_mm512_sllv_epi32(_mm512_set1_epi32(1), q->right), _mm512_set1_epi32(1));
    q->half = _mm512_srai_epi32(q->mask, 1);
    {
        const __m512i cnt = _mm512_sub_epi32(_mm512_set1_epi32(30), sh);
        q->rnd_even = _mm512_sllv_epi64(_mm512_set1_epi64(1), _mm512_and_si512(cnt, _mm512_set1_epi64(0xFFFFFFFFLL)));
        q->rnd_odd = _mm512_sllv_epi64(_mm512_set1_epi64(1), _mm512_srli_epi64(cnt, 32));
        q->right1 = _mm512_xor_si512(sh, _mm512_set1_epi32(-1));
    }
}

/* The output-stage state of one group of up to 64 channels, shared by both layer kernels' groups. */
typedef struct {
    mq_dw_vnni_rq rq[4];
    __m512i flip, vlo, vhi, vzp;
    uint64_t m64; /* channels c0 .. c0 + nc - 1 */
    int general;  /* some channel shifts left or has multiplier INT32_MIN (set by the group's init) */
    int single;   /* single rounding (every shift <= -1: checked by mq_dw_s8_x86_layer) */
    int fastq;    /* double rounding, every shift <= -1, no INT32_MIN multiplier: q64 (mq_x86_rq64.h) */
    int negfix;   /* vlo < 0: q64 with its negative-tie term */
    int32_t nc;
    mq_rq64 q64[4]; /* set when fastq */
} mq_dw_vnni_os;

/* Channel count, masks and clamp constants of the group at c0; rq and general are the group init's. */
MQ_DW_VNNI static inline void mq_dw_vnni_os_init(mq_dw_vnni_os *os, const mq_depthwise_params *p, int32_t c0)
{
    const int64_t lo64 = (int64_t)p->act_min - (int64_t)p->out_zero_point;
    const int64_t hi64 = (int64_t)p->act_max - (int64_t)p->out_zero_point;
    os->nc = p->in_c - c0 < 64 ? p->in_c - c0 : 64;
    os->m64 = os->nc == 64 ? ~(uint64_t)0 : (((uint64_t)1 << os->nc) - 1u);
    os->flip = _mm512_set1_epi8(p->in_dtype == MQ_DTYPE_UINT8 ? 0 : (char)0x80);
    os->vlo = _mm512_set1_epi32(lo64 < INT32_MIN ? INT32_MIN : (lo64 > INT32_MAX ? INT32_MAX : (int32_t)lo64));
    os->vhi = _mm512_set1_epi32(hi64 < INT32_MIN ? INT32_MIN : (hi64 > INT32_MAX ? INT32_MAX : (int32_t)hi64));
    os->vzp = _mm512_set1_epi32(p->out_zero_point);
    os->general = 0;
    os->single = p->single_rounding;
    os->fastq = 0;
    os->negfix = lo64 < 0;
}

/* Single rounding, every shift <= -1: the high-word form of mq_output_stage.h (x86), hi(a * M + 2^(30+E)) >> (E - 1). */
MQ_DW_VNNI __attribute__((always_inline)) static inline __m512i mq_dw_vnni_requantize_single(__m512i a,
                                                                                            const mq_dw_vnni_rq *q)
{
    const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, q->mult), q->rnd_even), 32);
    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), q->mult_odd), q->rnd_odd);
    return _mm512_srav_epi32(_mm512_mask_blend_epi32((__mmask16)0xAAAAu, even, odd), q->right1);
}

/* general 0: no lane shifts left and no multiplier is INT32_MIN, so VPSLLVD by 0 and the INT32_MIN saturation
 * (SRDHM gives INT32_MIN only for a = b = INT32_MIN) change nothing and are left out. */
MQ_DW_VNNI __attribute__((always_inline)) static inline __m512i mq_dw_vnni_requantize(__m512i a, const mq_dw_vnni_rq *q,
                                                                                     const int general)
{
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i nudge = _mm512_set1_epi64((long long)1 << 30);
    const __m512i x = general ? _mm512_sllv_epi32(a, q->left) : a;
    const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, q->mult), nudge), 31);
    const __m512i odd = _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), q->mult_odd), nudge), 1);
    __m512i r = _mm512_mask_blend_epi32((__mmask16)0xAAAAu, even, odd);
    __m512i rem, thr, res;
    if (general) {
        r = _mm512_mask_sub_epi32(r, _mm512_cmpeq_epi32_mask(r, _mm512_set1_epi32(INT32_MIN)), r, one);
    }
    rem = _mm512_and_si512(r, q->mask);
    thr = _mm512_sub_epi32(q->half, _mm512_srai_epi32(r, 31));
    res = _mm512_srav_epi32(r, q->right);
    return _mm512_mask_add_epi32(res, _mm512_cmpgt_epi32_mask(rem, thr), res, one);
}

/*
 * AVX-512 VNNI: 64 channels per step (a masked load for the last < 64), no shuffles in the tap loop. The 64 codes
 * of a tap (one load: channels c0 .. c0 + 63) are VPDPBUSD's unsigned operand (UINT8: the code; INT8: code ^ 0x80 =
 * code + 128, and 128 * sum_t w[t][c] is subtracted from the start value); the signed operand is the tap's int8
 * weights with only byte q of each dword kept (4 masked copies, q = 0..3), so lane j of accumulator q gains exactly
 * x[4 j + q] w[t][4 j + q] (the other three products are 0): accumulator q holds channels 4 j + q, exact modulo 2^32
 * (|product| <= 255 * 128). Bias, multipliers and shifts are loaded in that order; after the output stage, lane j's
 * low byte of accumulator q is byte 4 j + q of the output (byte blends), one masked store.
 */
typedef struct {
    __m512i wq[MQ_DW_MAX_TAPS][4]; /* tap t's int8 weights, byte q of each dword kept */
    __m512i start[4];              /* folded bias (INT8 input: minus 128 * sum_t w) in lane order 4 j + q */
    mq_dw_vnni_os os;
} mq_dw_vnni_group;

/* The constants of channels c0 .. min(c0 + 64, in_c) - 1 (weights already checked to fit int8). */
MQ_DW_VNNI static void mq_dw_vnni_group_init(mq_dw_vnni_group *g, const mq_depthwise_params *p, int32_t ntaps, int32_t c0)
{
    const int32_t cn = p->in_c;
    const uint8_t *w = (const uint8_t *)p->weights.data;
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i mv[4], sv[4];
    int32_t t;
    int q;
    mq_dw_vnni_os_init(&g->os, p, c0);
    for (t = 0; t < ntaps; ++t) {
        const uint8_t *wt = w + 2u * ((size_t)t * (size_t)cn + (size_t)c0);
        const __m512i lo = _mm512_maskz_loadu_epi16((__mmask32)(g->os.m64 & 0xFFFFFFFFu), (const void *)wt);
        const __m512i hi = _mm512_maskz_loadu_epi16((__mmask32)(g->os.m64 >> 32), (const void *)(wt + 64));
        const __m512i w8 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi16_epi8(lo)), _mm512_cvtepi16_epi8(hi), 1);
        g->wq[t][0] = _mm512_maskz_mov_epi8((__mmask64)0x1111111111111111ULL, w8);
        g->wq[t][1] = _mm512_maskz_mov_epi8((__mmask64)0x2222222222222222ULL, w8);
        g->wq[t][2] = _mm512_maskz_mov_epi8((__mmask64)0x4444444444444444ULL, w8);
        g->wq[t][3] = _mm512_maskz_mov_epi8((__mmask64)0x8888888888888888ULL, w8);
    }
    mq_dw_vnni_split4(p->bias.folded + c0, g->os.m64, g->start);
    if (p->in_dtype != MQ_DTYPE_UINT8) {
        /* x + 128 enters the products: subtract 128 * sum_t w[t][c] (modulo 2^32) */
        for (q = 0; q < 4; ++q) {
            __m512i sw = _mm512_setzero_si512();
            for (t = 0; t < ntaps; ++t) {
                sw = _mm512_dpbusd_epi32(sw, ones, g->wq[t][q]);
            }
            g->start[q] = _mm512_sub_epi32(g->start[q], _mm512_slli_epi32(sw, 7));
        }
    }
    if (p->per_channel) {
        mq_dw_vnni_split4(p->multiplier + c0, g->os.m64, mv);
        mq_dw_vnni_split4(p->shift + c0, g->os.m64, sv);
    } else {
        for (q = 0; q < 4; ++q) {
            mv[q] = _mm512_set1_epi32(p->multiplier[0]);
            sv[q] = _mm512_set1_epi32(p->shift[0]);
        }
    }
    for (q = 0; q < 4; ++q) {
        mq_dw_vnni_rq_init(&g->os.rq[q], mv[q], sv[q]);
        g->os.general |= _mm512_cmpgt_epi32_mask(sv[q], _mm512_setzero_si512()) != 0 ||
                      _mm512_cmpeq_epi32_mask(mv[q], _mm512_set1_epi32(INT32_MIN)) != 0;
    }
}

/* The group's nc output bytes v (channel order) to o, through the fused LUT when there is one (both layer
 * kernels' stores). */
MQ_DW_VNNI static inline void mq_dw_vnni_put(const mq_dw_vnni_os *os, const uint8_t *lut, __m512i v, uint8_t *o)
{
    int32_t j;
    if (lut == NULL && os->nc == 64) {
        _mm512_storeu_si512((void *)o, v); /* a full group: no masked store (slow on some cores) */
    } else if (lut == NULL) {
        _mm512_mask_storeu_epi8((void *)o, (__mmask64)os->m64, v);
    } else {
        uint8_t bytes[64];
        _mm512_storeu_si512((void *)bytes, v);
        for (j = 0; j < os->nc; ++j) {
            o[j] = lut[bytes[j]];
        }
    }
}

/* The output stage of both layer kernels (mq_dw_vnni_store, mq_dwc_store): four accumulators of 16 channels
 * requantized (single rounding, or double with or without left shifts / INT32_MIN multipliers), clamped to
 * [act_min, act_max] - zero point, the zero point added. */
MQ_DW_VNNI __attribute__((always_inline)) static inline void mq_dw_vnni_rq_clamp4(const mq_dw_vnni_os *os, __m512i *a0,
                                                                                  __m512i *a1, __m512i *a2, __m512i *a3)
{
    const mq_dw_vnni_rq *rq = os->rq;
    const __m512i vlo = os->vlo, vhi = os->vhi, vzp = os->vzp;
    if (os->fastq && os->negfix) {
        *a0 = mq_rq64_apply(*a0, &os->q64[0], 1);
        *a1 = mq_rq64_apply(*a1, &os->q64[1], 1);
        *a2 = mq_rq64_apply(*a2, &os->q64[2], 1);
        *a3 = mq_rq64_apply(*a3, &os->q64[3], 1);
    } else if (os->fastq) {
        *a0 = mq_rq64_apply(*a0, &os->q64[0], 0);
        *a1 = mq_rq64_apply(*a1, &os->q64[1], 0);
        *a2 = mq_rq64_apply(*a2, &os->q64[2], 0);
        *a3 = mq_rq64_apply(*a3, &os->q64[3], 0);
    } else if (os->single) {
        *a0 = mq_dw_vnni_requantize_single(*a0, &rq[0]);
        *a1 = mq_dw_vnni_requantize_single(*a1, &rq[1]);
        *a2 = mq_dw_vnni_requantize_single(*a2, &rq[2]);
        *a3 = mq_dw_vnni_requantize_single(*a3, &rq[3]);
    } else if (os->general) {
        *a0 = mq_dw_vnni_requantize(*a0, &rq[0], 1);
        *a1 = mq_dw_vnni_requantize(*a1, &rq[1], 1);
        *a2 = mq_dw_vnni_requantize(*a2, &rq[2], 1);
        *a3 = mq_dw_vnni_requantize(*a3, &rq[3], 1);
    } else {
        *a0 = mq_dw_vnni_requantize(*a0, &rq[0], 0);
        *a1 = mq_dw_vnni_requantize(*a1, &rq[1], 0);
        *a2 = mq_dw_vnni_requantize(*a2, &rq[2], 0);
        *a3 = mq_dw_vnni_requantize(*a3, &rq[3], 0);
    }
    *a0 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(*a0, vlo), vhi), vzp);
    *a1 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(*a1, vlo), vhi), vzp);
    *a2 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(*a2, vlo), vhi), vzp);
    *a3 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(*a3, vlo), vhi), vzp);
}

/* Output stage of one pixel's 4 accumulators, bytes to o (nc of them). */
MQ_DW_VNNI static inline void mq_dw_vnni_store(const mq_dw_vnni_group *g, const uint8_t *lut, __m512i a0, __m512i a1,
                                               __m512i a2, __m512i a3, uint8_t *o)
{
    __m512i v;
    mq_dw_vnni_rq_clamp4(&g->os, &a0, &a1, &a2, &a3);
    /* byte 4 j + q = low byte of lane j of accumulator q */
    v = _mm512_mask_blend_epi8((__mmask64)0x2222222222222222ULL, a0, _mm512_slli_epi32(a1, 8));
    v = _mm512_mask_blend_epi8((__mmask64)0x4444444444444444ULL, v, _mm512_slli_epi32(a2, 16));
    v = _mm512_mask_blend_epi8((__mmask64)0x8888888888888888ULL, v, _mm512_slli_epi32(a3, 24));
    mq_dw_vnni_put(&g->os, lut, v, o);
}

/* One pixel whose tap t reads channel c of tap pointer tp[t] (+ c0: the group's first channel). */
MQ_DW_VNNI static inline void mq_dw_vnni_pixel(const mq_dw_vnni_group *g, const uint8_t *lut, int32_t ntaps,
                                               const uint8_t *const *tp, int32_t c0, uint8_t *o)
{
    __m512i a0 = g->start[0], a1 = g->start[1], a2 = g->start[2], a3 = g->start[3];
    int32_t t;
    for (t = 0; t < ntaps; ++t) {
        const __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi8((__mmask64)g->os.m64, (const void *)(tp[t] + c0)), g->os.flip);
        a0 = _mm512_dpbusd_epi32(a0, x, g->wq[t][0]);
        a1 = _mm512_dpbusd_epi32(a1, x, g->wq[t][1]);
        a2 = _mm512_dpbusd_epi32(a2, x, g->wq[t][2]);
        a3 = _mm512_dpbusd_epi32(a3, x, g->wq[t][3]);
    }
    mq_dw_vnni_store(g, lut, a0, a1, a2, a3, o);
}

/* One pixel of the layer path: tap t reads the 64 bytes at base + toff[t] (+ the group's c0, in base) when bit t
 * of inside is set, else the in_zero_point codes (zpv) without touching memory (a load under an all-zero mask
 * reads nothing and cannot fault). base is an address computed in integer arithmetic: it may lie outside the
 * image for border pixels, only taps inside it are dereferenced. */
MQ_DW_VNNI static inline void mq_dw_vnni_pixel_at(const mq_dw_vnni_group *g, const uint8_t *lut, int32_t ntaps,
                                                  uintptr_t base, const size_t *toff, uint64_t inside, __m512i zpv,
                                                  uint8_t *o)
{
    __m512i a0 = g->start[0], a1 = g->start[1], a2 = g->start[2], a3 = g->start[3];
    int32_t t;
    for (t = 0; t < ntaps; ++t) {
        const __mmask64 km = (__mmask64)(((inside >> t) & 1u) != 0u ? g->os.m64 : 0u);
        const __m512i x = _mm512_xor_si512(_mm512_mask_loadu_epi8(zpv, km, (const void *)(base + toff[t])), g->os.flip);
        a0 = _mm512_dpbusd_epi32(a0, x, g->wq[t][0]);
        a1 = _mm512_dpbusd_epi32(a1, x, g->wq[t][1]);
        a2 = _mm512_dpbusd_epi32(a2, x, g->wq[t][2]);
        a3 = _mm512_dpbusd_epi32(a3, x, g->wq[t][3]);
    }
    mq_dw_vnni_store(g, lut, a0, a1, a2, a3, o);
}

/* Two pixels at once (mq_dw_vnni_pixel_at on each): 8 independent accumulator chains, so the VPDPBUSD latency
 * is hidden, and each weight load serves both. */
MQ_DW_VNNI __attribute__((always_inline)) static inline void
mq_dw_vnni_pixel2_at(const mq_dw_vnni_group *g, const uint8_t *lut, int32_t ntaps, uintptr_t base0, uint64_t inside0,
                     uintptr_t base1, uint64_t inside1, const size_t *toff, __m512i zpv, uint8_t *o0, uint8_t *o1)
{
    __m512i a0 = g->start[0], a1 = g->start[1], a2 = g->start[2], a3 = g->start[3];
    __m512i b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    int32_t t;
    for (t = 0; t < ntaps; ++t) {
        const __mmask64 k0 = (__mmask64)(((inside0 >> t) & 1u) != 0u ? g->os.m64 : 0u);
        const __mmask64 k1 = (__mmask64)(((inside1 >> t) & 1u) != 0u ? g->os.m64 : 0u);
        const __m512i x0 = _mm512_xor_si512(_mm512_mask_loadu_epi8(zpv, k0, (const void *)(base0 + toff[t])), g->os.flip);
        const __m512i x1 = _mm512_xor_si512(_mm512_mask_loadu_epi8(zpv, k1, (const void *)(base1 + toff[t])), g->os.flip);
        const __m512i w0 = g->wq[t][0], w1 = g->wq[t][1], w2 = g->wq[t][2], w3 = g->wq[t][3];
        a0 = _mm512_dpbusd_epi32(a0, x0, w0);
        b0 = _mm512_dpbusd_epi32(b0, x1, w0);
        a1 = _mm512_dpbusd_epi32(a1, x0, w1);
        b1 = _mm512_dpbusd_epi32(b1, x1, w1);
        a2 = _mm512_dpbusd_epi32(a2, x0, w2);
        b2 = _mm512_dpbusd_epi32(b2, x1, w2);
        a3 = _mm512_dpbusd_epi32(a3, x0, w3);
        b3 = _mm512_dpbusd_epi32(b3, x1, w3);
    }
    mq_dw_vnni_store(g, lut, a0, a1, a2, a3, o0);
    mq_dw_vnni_store(g, lut, b0, b1, b2, b3, o1);
}

/* One run of mq_depthwise_rows / mq_dw_rows (the in-place operator) with the VNNI kernel. */
MQ_DW_VNNI static void mq_dw_s8_vnni(const mq_dw_run *r)
{
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int32_t ntaps = r->ntaps;
    mq_dw_vnni_group g;
    int32_t c0, i;
    for (c0 = 0; c0 < cn; c0 += 64) {
        mq_dw_vnni_group_init(&g, p, ntaps, c0);
        for (i = 0; i < r->npix; ++i) {
            mq_dw_vnni_pixel(&g, p->lut, ntaps, r->taps + (size_t)i * (size_t)ntaps, c0,
                             r->out + (size_t)i * (size_t)cn + (size_t)c0);
        }
    }
}

/*
 * The whole layer (batch images, all output pixels) with the VNNI kernel: each 64-channel group set up once per
 * call; tap t of output pixel (oy, ox) at the window origin + a fixed offset, taps outside the image (bit t of the
 * pixel's mask clear) take in_zero_point codes, as the padding pixel gives them in mq_depthwise_conv's runs.
 */
MQ_DW_VNNI static void mq_dw_vnni_layer(const mq_depthwise_params *p, const uint8_t *input, uint8_t *output)
{
    const mq_window *w = &p->win;
    const int32_t cn = p->in_c;
    const int32_t ntaps = w->kernel_h * w->kernel_w;
    const size_t col_step = (size_t)w->dilation_w * (size_t)cn;
    const size_t row_step = (size_t)w->dilation_h * (size_t)w->in_w * (size_t)cn;
    const size_t in_image = (size_t)w->in_h * (size_t)w->in_w * (size_t)cn;
    const __m512i zpv = _mm512_set1_epi8((char)(uint8_t)p->in_zero_point);
    size_t toff[MQ_DW_MAX_TAPS];
    uint64_t colbits[MQ_DW_MAX_TAPS]; /* unused past kernel_w */
    uint64_t rowbits[MQ_DW_MAX_TAPS]; /* unused past kernel_h */
    mq_dw_vnni_group g;
    int32_t c0, b, oy, ox, ky, kx, k = 0;
    for (ky = 0; ky < w->kernel_h; ++ky) {
        for (kx = 0; kx < w->kernel_w; ++kx) {
            toff[k++] = (size_t)ky * row_step + (size_t)kx * col_step;
        }
    }
    /* colbits[kx] / rowbits[ky]: the taps of kernel column kx / row ky (tap ky * kernel_w + kx: bit of that index) */
    for (kx = 0; kx < w->kernel_w; ++kx) {
        colbits[kx] = 0;
    }
    for (ky = 0; ky < w->kernel_h; ++ky) {
        rowbits[ky] = 0;
        for (kx = 0; kx < w->kernel_w; ++kx) {
            const uint64_t bit = (uint64_t)1 << (ky * w->kernel_w + kx);
            colbits[kx] |= bit;
            rowbits[ky] |= bit;
        }
    }
    for (c0 = 0; c0 < cn; c0 += 64) {
        uint8_t *o = output + c0;
        mq_dw_vnni_group_init(&g, p, ntaps, c0);
        for (b = 0; b < w->batch; ++b) {
            const uintptr_t in_b = (uintptr_t)(input + (size_t)b * in_image) + (uintptr_t)c0;
            for (oy = 0; oy < w->out_h; ++oy) {
                const int32_t iy0 = oy * w->stride_h - w->pad_top;
                uint64_t rows = 0; /* taps whose input row exists */
                for (ky = 0; ky < w->kernel_h; ++ky) {
                    const int32_t iy = iy0 + ky * w->dilation_h;
                    if (iy >= 0 && iy < w->in_h) {
                        rows |= rowbits[ky];
                    }
                }
                for (ox = 0; ox < w->out_w; ox += 2) {
                    const int32_t npx = w->out_w - ox < 2 ? 1 : 2;
                    uintptr_t base[2];
                    uint64_t inside[2];
                    int32_t e;
                    for (e = 0; e < npx; ++e) {
                        const int32_t ix0 = (ox + e) * w->stride_w - w->pad_left;
                        const intptr_t org = ((intptr_t)iy0 * (intptr_t)w->in_w + (intptr_t)ix0) * (intptr_t)cn;
                        inside[e] = rows;
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * w->dilation_w;
                            if (ix < 0 || ix >= w->in_w) {
                                inside[e] &= ~colbits[kx];
                            }
                        }
                        base[e] = in_b + (uintptr_t)org;
                    }
                    if (npx == 2) {
                        if (ntaps == 9) { /* 3x3: a constant trip count */
                            mq_dw_vnni_pixel2_at(&g, p->lut, 9, base[0], inside[0], base[1], inside[1], toff, zpv, o, o + cn);
                        } else {
                            mq_dw_vnni_pixel2_at(&g, p->lut, ntaps, base[0], inside[0], base[1], inside[1], toff, zpv, o,
                                                 o + cn);
                        }
                    } else {
                        mq_dw_vnni_pixel_at(&g, p->lut, ntaps, base[0], toff, inside[0], zpv, o);
                    }
                    o += (size_t)npx * (size_t)cn;
                }
            }
        }
    }
}

/*
 * Column quads (kernel_h <= 4, stride_w 1, dilation 1): full-density VPDPBUSD. The codes of one input column at the
 * kernel rows ky = 0..3 of an output row (rows outside the image or past kernel_h: in_zero_point codes, which meet
 * the true padding taps' weights or zero weights) are interleaved per channel with VPUNPCKL/HBW + VPUNPCKL/HWD,
 * so dword j of vector q holds the 4 row codes of channel ch(q, j) = 16 (j / 4) + 4 q + j % 4; the weights of
 * kernel column kx are interleaved the same way once per channel group. One VPDPBUSD per kernel column and vector
 * then adds the kernel column's 4 products of 16 channels; with stride 1 each interleaved column serves kernel_w
 * output pixels, so a 3x3 layer takes 12 VPDPBUSD + ~1.4 columns' 8 unpacks per pixel of 64 channels instead of 36.
 * Same products (the u8 operand is the code, or code ^ 0x80 for INT8 input with 128 x the weight sums taken from
 * the start value, as mq_dw_vnni_group), same sums modulo 2^32, the output stage of mq_dw_vnni_store on the four
 * vectors; VPACKSSDW + VPACKUSWB (VPACKSSWB when act_min < 0, i.e. INT8 codes) put ch(q, j) back in channel order
 * (the clamped codes lie in [act_min, act_max], so the saturating packs are exact).
 */
#define MQ_DWC_MAX_KW 8
#define MQ_DWC_SEG 16 /* output pixels per segment of a row: their columns are interleaved first */
#ifndef MQ_DWC_DISABLE
#define mq_dwc_enabled 1 /* (-DMQ_DWC_DISABLE: the tap-by-tap layer kernel only, for A/B benchmarks) */
#else
#define mq_dwc_enabled 0
#endif

typedef struct {
    __m512i w[MQ_DWC_MAX_KW][4]; /* kernel column kx, rows 0..3 (zero past kernel_h), order ch(q, j) */
    __m512i start[4];            /* folded bias (INT8 input: minus 128 * sum_t w), order ch(q, j) */
    mq_dw_vnni_os os;
} mq_dwc_group;

MQ_DW_VNNI __attribute__((always_inline)) static inline void mq_dwc_interleave(__m512i r0, __m512i r1, __m512i r2,
                                                                               __m512i r3, __m512i *x)
{
    const __m512i a = _mm512_unpacklo_epi8(r0, r1);
    const __m512i b = _mm512_unpackhi_epi8(r0, r1);
    const __m512i c = _mm512_unpacklo_epi8(r2, r3);
    const __m512i d = _mm512_unpackhi_epi8(r2, r3);
    x[0] = _mm512_unpacklo_epi16(a, c);
    x[1] = _mm512_unpackhi_epi16(a, c);
    x[2] = _mm512_unpacklo_epi16(b, d);
    x[3] = _mm512_unpackhi_epi16(b, d);
}

MQ_DW_VNNI static void mq_dwc_group_init(mq_dwc_group *g, const mq_depthwise_params *p, int32_t c0)
{
    const int32_t cn = p->in_c;
    const int32_t kh = p->win.kernel_h, kw = p->win.kernel_w;
    const int16_t *w = (const int16_t *)(const void *)p->weights.data;
    MQ_VNNI_ALIGN64_DW int32_t st[4][16], mu[4][16], sh[4][16];
    int32_t kx, ky, q, j;
    mq_dw_vnni_os_init(&g->os, p, c0);
    for (kx = 0; kx < kw; ++kx) {
        __m512i r[4];
        for (ky = 0; ky < 4; ++ky) {
            if (ky < kh) {
                const int16_t *wt = w + (size_t)(ky * kw + kx) * (size_t)cn + (size_t)c0;
                const __m512i lo = _mm512_maskz_loadu_epi16((__mmask32)(g->os.m64 & 0xFFFFFFFFu), (const void *)wt);
                const __m512i hi = _mm512_maskz_loadu_epi16((__mmask32)(g->os.m64 >> 32), (const void *)(wt + 32));
                r[ky] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi16_epi8(lo)), _mm512_cvtepi16_epi8(hi), 1);
            } else {
                r[ky] = _mm512_setzero_si512();
            }
        }
        mq_dwc_interleave(r[0], r[1], r[2], r[3], g->w[kx]);
    }
    for (q = 0; q < 4; ++q) {
        for (j = 0; j < 16; ++j) {
            const int32_t ch = 16 * (j >> 2) + 4 * q + (j & 3);
            int32_t sw = 0, t;
            if (ch >= g->os.nc) {
                st[q][j] = 0;
                mu[q][j] = 0;
                sh[q][j] = -1; /* (a valid q64 lane; the result is not stored) */
                continue;
            }
            for (t = 0; t < kh * kw; ++t) {
                sw += w[(size_t)t * (size_t)cn + (size_t)(c0 + ch)];
            }
            /* INT8 input: x + 128 enters the products, subtract 128 * sum_t w (modulo 2^32) */
            st[q][j] = (int32_t)((uint32_t)p->bias.folded[c0 + ch] -
                                 (p->in_dtype == MQ_DTYPE_UINT8 ? 0u : 128u * (uint32_t)sw));
            mu[q][j] = p->per_channel ? p->multiplier[c0 + ch] : p->multiplier[0];
            sh[q][j] = p->per_channel ? p->shift[c0 + ch] : p->shift[0];
            g->os.general |= sh[q][j] > 0 || mu[q][j] == INT32_MIN;
        }
        g->start[q] = _mm512_load_si512((const void *)st[q]);
        mq_dw_vnni_rq_init(&g->os.rq[q], _mm512_load_si512((const void *)mu[q]), _mm512_load_si512((const void *)sh[q]));
    }
    g->os.fastq = !g->os.single && mq_rq64_ok(mu[0], sh[0], 16) && mq_rq64_ok(mu[1], sh[1], 16) &&
                  mq_rq64_ok(mu[2], sh[2], 16) && mq_rq64_ok(mu[3], sh[3], 16);
    if (g->os.fastq) {
        for (q = 0; q < 4; ++q) {
            mq_rq64_init(&g->os.q64[q], mu[q], sh[q]);
        }
    }
}

/* Output stage of one pixel (accumulators in order ch(q, j)), nc bytes to o. */
MQ_DW_VNNI __attribute__((always_inline)) static inline void mq_dwc_store(const mq_dwc_group *g, const uint8_t *lut,
                                                                          int signed_codes, __m512i a0, __m512i a1,
                                                                          __m512i a2, __m512i a3, uint8_t *o)
{
    __m512i v, p01, p23;
    mq_dw_vnni_rq_clamp4(&g->os, &a0, &a1, &a2, &a3);
    /* per 128-bit lane L: words = channels 16 L + 0..7 (p01) and 16 L + 8..15 (p23); bytes = 16 L + 0..15 */
    p01 = _mm512_packs_epi32(a0, a1);
    p23 = _mm512_packs_epi32(a2, a3);
    v = signed_codes ? _mm512_packs_epi16(p01, p23) : _mm512_packus_epi16(p01, p23);
    mq_dw_vnni_put(&g->os, lut, v, o);
}

/* The whole layer (p: depth multiplier 1, kernel_h <= 4, kernel_w <= MQ_DWC_MAX_KW, stride_w 1, dilation 1,
 * weights fit int8, act_min <= act_max; single rounding only with every shift <= -1). */
MQ_DW_VNNI static void mq_dwc_layer(const mq_depthwise_params *p, const uint8_t *input, uint8_t *output)
{
    const mq_window *w = &p->win;
    const int32_t cn = p->in_c;
    const int32_t kh = w->kernel_h, kw = w->kernel_w;
    const size_t in_image = (size_t)w->in_h * (size_t)w->in_w * (size_t)cn;
    const size_t in_row = (size_t)w->in_w * (size_t)cn;
    const int signed_codes = p->act_min < 0;
    const int int8_in = p->in_dtype != MQ_DTYPE_UINT8;
    mq_dwc_group g;
    __m512i cols[MQ_DWC_SEG + MQ_DWC_MAX_KW - 1][4];
    int32_t c0, b, oy, x0, e, kx, ky;
    for (c0 = 0; c0 < cn; c0 += 64) {
        const __m512i zp8 = _mm512_set1_epi8((char)(uint8_t)p->in_zero_point);
        __m512i zq;
        mq_dwc_group_init(&g, p, c0);
        /* padding codes as the u8 operand */
        zq = _mm512_xor_si512(zp8, g.os.flip);
        for (b = 0; b < w->batch; ++b) {
            const uint8_t *in_b = input + (size_t)b * in_image + (size_t)c0;
            for (oy = 0; oy < w->out_h; ++oy) {
                const int32_t iy0 = oy * w->stride_h - w->pad_top;
                const uint8_t *rowp[4];
                uint8_t *o = output + ((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w * (size_t)cn + (size_t)c0;
                for (ky = 0; ky < 4; ++ky) {
                    const int32_t iy = iy0 + ky;
                    rowp[ky] = ky < kh && iy >= 0 && iy < w->in_h ? in_b + (size_t)iy * in_row : NULL;
                }
                for (x0 = 0; x0 < w->out_w; x0 += MQ_DWC_SEG) {
                    const int32_t ns = w->out_w - x0 < MQ_DWC_SEG ? w->out_w - x0 : MQ_DWC_SEG;
                    const int32_t ncol = ns + kw - 1;
                    int32_t jc;
                    for (jc = 0; jc < ncol; ++jc) {
                        const int32_t ix = x0 - w->pad_left + jc;
                        __m512i r[4];
                        for (ky = 0; ky < 4; ++ky) {
                            if (rowp[ky] != NULL && ix >= 0 && ix < w->in_w) {
                                /* channels past nc: in_zero_point codes (zero weights there) */
                                r[ky] = _mm512_mask_loadu_epi8(zp8, (__mmask64)g.os.m64, (const void *)(rowp[ky] + (size_t)ix * (size_t)cn));
                                if (int8_in) {
                                    r[ky] = _mm512_xor_si512(r[ky], g.os.flip);
                                }
                            } else {
                                r[ky] = zq;
                            }
                        }
                        mq_dwc_interleave(r[0], r[1], r[2], r[3], cols[jc]);
                    }
                    for (e = 0; e < ns; ++e) {
                        __m512i a0 = g.start[0], a1 = g.start[1], a2 = g.start[2], a3 = g.start[3];
                        for (kx = 0; kx < kw; ++kx) {
                            a0 = _mm512_dpbusd_epi32(a0, cols[e + kx][0], g.w[kx][0]);
                            a1 = _mm512_dpbusd_epi32(a1, cols[e + kx][1], g.w[kx][1]);
                            a2 = _mm512_dpbusd_epi32(a2, cols[e + kx][2], g.w[kx][2]);
                            a3 = _mm512_dpbusd_epi32(a3, cols[e + kx][3], g.w[kx][3]);
                        }
                        mq_dwc_store(&g, p->lut, signed_codes, a0, a1, a2, a3, o + (size_t)(x0 + e) * (size_t)cn);
                    }
                }
            }
        }
    }
}

/*
 * Flat rows (kernel_h <= 4, kernel_w <= MQ_DWP_MAX_KW, dilation 1, in_c <= MQ_DWP_MAX_C; in_c a multiple of 16, or
 * stride_w 1 and in_c dividing 16): every VPDPBUSD lane does useful work for any channel count. For one output row
 * the input columns it reads are interleaved once into a buffer T of dwords: T[col][c] = the codes of channel c at
 * input column col (padding columns included) of the kernel rows ky = 0..3 (rows outside the image or past kernel_h:
 * in_zero_point codes, which meet the padding taps' weights or zero weights), as VPDPBUSD's unsigned operand. The
 * output row, out_w * in_c bytes in memory order, is computed 16 lanes at a time: lane l of flat position
 * f = ox * in_c + c accumulates, per kernel column kx, the dword T[ox * stride_w + kx][c] against the kx column's
 * 4 row weights of channel c: one unaligned load + one VPDPBUSD per kernel column and 16 lanes (in_c = 8: a vector
 * holds 2 pixels; 16: one pixel; 32: half a pixel), where the column-quad kernel above spends a 64-channel vector on
 * in_c channels. Same products, same sums modulo 2^32 (INT8 input: code ^ 0x80 with 128 x the weight sums taken from
 * the start value, as mq_dw_vnni_group), the output stage of the layer kernels (mq_dw_vnni_requantize / _single,
 * clamp, zero point) with the lane constants of channel c; VPACKSSDW + VPACKUS/SSWB + one VPERMD store 64 bytes.
 */
#define MQ_DWP_MAX_KW 8
#ifndef MQ_DWP_DISABLE
#define mq_dwp_enabled 1 /* (-DMQ_DWP_DISABLE: without this kernel, for A/B benchmarks) */
#else
#define mq_dwp_enabled 0
#endif
#define MQ_DWP_MAX_C 256
#define MQ_DWP_MAX_B (MQ_DWP_MAX_C / 16) /* lane blocks of 16 channels */
#define MQ_DWP_TBYTES 32768              /* T (stack); layers needing more take the other kernels */

/* The dword transpose (4 x 4 blocks of 4 bytes) that makes the unpack interleave (and the pack) come out in
 * memory order: dword 4 L + q <- dword 4 q + L. */
#define MQ_DWP_TRANSPOSE _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)

/* Bytes of T the layer writes and reads (0 when it does not fit MQ_DWP_TBYTES). */
static size_t mq_dwp_tbytes(const mq_depthwise_params *p)
{
    const mq_window *w = &p->win;
    const size_t cn = (size_t)p->in_c;
    const size_t flat = (size_t)w->out_w * cn;
    const size_t flat_r = (flat + 63u) / 64u * 64u; /* the last 64-byte step computes past the row */
    const size_t ox_last = (flat_r - 1u) / cn;
    const size_t ncols_read = ox_last * (size_t)w->stride_w + (size_t)w->kernel_w; /* columns the lanes read */
    const size_t inside = (size_t)w->in_w * cn;
    const size_t written = (size_t)w->pad_left * cn * 4u + (inside + 63u) / 64u * 256u;
    size_t need = ncols_read * cn * 4u;
    if (written > need) {
        need = written;
    }
    return need + 64u <= MQ_DWP_TBYTES ? need : 0u; /* + the last fill step's overshoot */
}

static int mq_dwp_applies(const mq_depthwise_params *p)
{
    const mq_window *w = &p->win;
    const int32_t cn = p->in_c;
    if (w->kernel_h > 4 || w->kernel_w > MQ_DWP_MAX_KW || w->dilation_h != 1 || w->dilation_w != 1 || cn > MQ_DWP_MAX_C) {
        return 0;
    }
    if (!(cn % 16 == 0 || (w->stride_w == 1 && 16 % cn == 0))) {
        return 0;
    }
    return mq_dwp_tbytes(p) != 0u;
}

typedef struct {
    __m512i w[MQ_DWP_MAX_KW][MQ_DWP_MAX_B]; /* kernel column kx, lane block b: dword l = rows 0..3 of its channel */
    __m512i start[MQ_DWP_MAX_B];            /* folded bias (INT8 input: minus 128 * sum_t w) */
    mq_dw_vnni_rq rq[MQ_DWP_MAX_B];
    mq_rq64 q64[MQ_DWP_MAX_B]; /* when os.fastq */
    int32_t nb; /* lane blocks: in_c / 16, or 1 (in_c dividing 16: every block the same channels) */
} mq_dwp_consts;

MQ_DW_VNNI static void mq_dwp_init(mq_dwp_consts *k, mq_dw_vnni_os *os, const mq_depthwise_params *p)
{
    const int32_t cn = p->in_c;
    const int32_t kh = p->win.kernel_h, kw = p->win.kernel_w;
    const int16_t *w = (const int16_t *)(const void *)p->weights.data;
    MQ_VNNI_ALIGN64_DW int32_t st[16], mu[16], sh[16];
    MQ_VNNI_ALIGN64_DW int8_t wb[64];
    int32_t b, l, kx, ky;
    mq_dw_vnni_os_init(os, p, 0);
    os->nc = 64;
    os->m64 = ~(uint64_t)0;
    k->nb = cn >= 16 ? cn / 16 : 1;
    os->fastq = !os->single && mq_rq64_ok(p->multiplier, p->shift, p->per_channel ? cn : 1);
    for (b = 0; b < k->nb; ++b) {
        for (kx = 0; kx < kw; ++kx) {
            for (l = 0; l < 16; ++l) {
                const int32_t ch = cn >= 16 ? 16 * b + l : l % cn;
                for (ky = 0; ky < 4; ++ky) {
                    wb[4 * l + ky] = ky < kh ? (int8_t)w[(size_t)(ky * kw + kx) * (size_t)cn + (size_t)ch] : 0;
                }
            }
            k->w[kx][b] = _mm512_load_si512((const void *)wb);
        }
        for (l = 0; l < 16; ++l) {
            const int32_t ch = cn >= 16 ? 16 * b + l : l % cn;
            int32_t sw = 0, t;
            for (t = 0; t < kh * kw; ++t) {
                sw += w[(size_t)t * (size_t)cn + (size_t)ch];
            }
            st[l] = (int32_t)((uint32_t)p->bias.folded[ch] - (p->in_dtype == MQ_DTYPE_UINT8 ? 0u : 128u * (uint32_t)sw));
            mu[l] = p->per_channel ? p->multiplier[ch] : p->multiplier[0];
            sh[l] = p->per_channel ? p->shift[ch] : p->shift[0];
            os->general |= sh[l] > 0 || mu[l] == INT32_MIN;
        }
        k->start[b] = _mm512_load_si512((const void *)st);
        mq_dw_vnni_rq_init(&k->rq[b], _mm512_load_si512((const void *)mu), _mm512_load_si512((const void *)sh));
        if (os->fastq) {
            mq_rq64_init(&k->q64[b], mu, sh);
        }
    }
}

/* Output-stage forms of the flat-row kernel (fixed per layer, so each row loop is compiled for one). */
#define MQ_DWP_Q64 0     /* mq_rq64, clamp floor >= 0 */
#define MQ_DWP_Q64_NEG 1 /* mq_rq64 with its negative-tie term */
#define MQ_DWP_SINGLE 2  /* single rounding */
#define MQ_DWP_GENERAL 3 /* double rounding, some left shift or INT32_MIN multiplier */
#define MQ_DWP_PLAIN 4   /* double rounding, the mask / threshold form */

/* One output row: flat positions 0 .. flat - 1, 64 (4 x 16 lanes) per step. Lane 0 of a 16-lane vector reads T at
 * toff (+ kx columns); the vector after it at toff + 64 bytes, except that after the last lane block of a pixel
 * (in_c >= 16) the next pixel starts stride_w - 1 columns further (skip; 0 with stride 1, where in_c < 16 packs
 * several pixels into one vector). kw_c: the kernel width when constant (0: kw). */
MQ_DW_VNNI __attribute__((always_inline)) static inline void mq_dwp_row(const mq_dwp_consts *k, const mq_dw_vnni_os *os,
                                                                       const uint8_t *T, size_t col, size_t skip,
                                                                       int32_t kw, const int32_t kw_c, const int mode,
                                                                       int signed_codes, const uint8_t *lut, size_t flat,
                                                                       uint8_t *o)
{
    const __m512i tr = MQ_DWP_TRANSPOSE;
    const int32_t nkw = kw_c > 0 ? kw_c : kw;
    const int32_t nb = k->nb;
    size_t f, toff = 0, i;
    int32_t bl = 0;
    for (f = 0; f < flat; f += 64u) {
        __m512i v[4], p01, p23, out;
        int q;
        for (q = 0; q < 4; ++q) {
            const uint8_t *t0 = T + toff;
            __m512i a = k->start[bl];
            int32_t kx;
            for (kx = 0; kx < nkw; ++kx) {
                a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512((const void *)(t0 + (size_t)kx * col)), k->w[kx][bl]);
            }
            if (mode == MQ_DWP_Q64) {
                a = mq_rq64_apply(a, &k->q64[bl], 0);
            } else if (mode == MQ_DWP_Q64_NEG) {
                a = mq_rq64_apply(a, &k->q64[bl], 1);
            } else if (mode == MQ_DWP_SINGLE) {
                a = mq_dw_vnni_requantize_single(a, &k->rq[bl]);
            } else if (mode == MQ_DWP_GENERAL) {
                a = mq_dw_vnni_requantize(a, &k->rq[bl], 1);
            } else {
                a = mq_dw_vnni_requantize(a, &k->rq[bl], 0);
            }
            v[q] = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(a, os->vlo), os->vhi), os->vzp);
            toff += 64u;
            if (++bl == nb) {
                bl = 0;
                toff += skip;
            }
        }
        p01 = _mm512_packs_epi32(v[0], v[1]);
        p23 = _mm512_packs_epi32(v[2], v[3]);
        out = _mm512_permutexvar_epi32(tr, signed_codes ? _mm512_packs_epi16(p01, p23) : _mm512_packus_epi16(p01, p23));
        if (lut == NULL && flat - f >= 64u) {
            _mm512_storeu_si512((void *)(o + f), out);
        } else if (lut == NULL) {
            _mm512_mask_storeu_epi8((void *)(o + f), ((__mmask64)1 << (flat - f)) - 1u, out);
        } else {
            MQ_VNNI_ALIGN64_DW uint8_t bytes[64];
            const size_t n = flat - f >= 64u ? 64u : flat - f;
            _mm512_store_si512((void *)bytes, out);
            for (i = 0; i < n; ++i) {
                o[f + i] = lut[bytes[i]];
            }
        }
    }
}

/* mq_dwp_row with the layer's form and kernel width as constants (3: the common 3x3). */
#define MQ_DWP_ROW_KW(MODE)                                                                                        \
    do {                                                                                                           \
        if (kw == 3) {                                                                                             \
            mq_dwp_row(&k, &os, T, col, skip, kw, 3, MODE, signed_codes, p->lut, flat, o);                         \
        } else {                                                                                                   \
            mq_dwp_row(&k, &os, T, col, skip, kw, 0, MODE, signed_codes, p->lut, flat, o);                         \
        }                                                                                                          \
    } while (0)

MQ_DW_VNNI static void mq_dwp_layer(const mq_depthwise_params *p, const uint8_t *input, uint8_t *output)
{
    const mq_window *w = &p->win;
    const int32_t cn = p->in_c;
    const int32_t kh = w->kernel_h, kw = w->kernel_w;
    const size_t in_image = (size_t)w->in_h * (size_t)w->in_w * (size_t)cn;
    const size_t in_row = (size_t)w->in_w * (size_t)cn;
    const size_t flat = (size_t)w->out_w * (size_t)cn;
    const size_t col = (size_t)cn * 4u; /* bytes of one column in T */
    const size_t tbytes = mq_dwp_tbytes(p);
    const size_t lpad = (size_t)w->pad_left * col;
    const size_t inside_end = lpad + in_row * 4u; /* T bytes of the real columns end here */
    const int signed_codes = p->act_min < 0;
    const int int8_in = p->in_dtype != MQ_DTYPE_UINT8;
    const __m512i tr = MQ_DWP_TRANSPOSE;
    const __m512i zp8 = _mm512_set1_epi8((char)(uint8_t)p->in_zero_point);
    MQ_VNNI_ALIGN64_DW uint8_t T[MQ_DWP_TBYTES];
    mq_dwp_consts k;
    mq_dw_vnni_os os;
    __m512i zq;
    const size_t skip = (size_t)(w->stride_w - 1) * col;
    int mode;
    int32_t b, oy, ky;
    size_t i;
    mq_dwp_init(&k, &os, p);
    mode = os.fastq ? (os.negfix ? MQ_DWP_Q64_NEG : MQ_DWP_Q64)
                    : (os.single ? MQ_DWP_SINGLE : (os.general ? MQ_DWP_GENERAL : MQ_DWP_PLAIN));
    zq = _mm512_xor_si512(zp8, os.flip); /* padding codes as the u8 operand */
    for (b = 0; b < w->batch; ++b) {
        const uint8_t *in_b = input + (size_t)b * in_image;
        for (oy = 0; oy < w->out_h; ++oy) {
            const int32_t iy0 = oy * w->stride_h - w->pad_top;
            const uint8_t *rowp[4];
            uint8_t *o = output + ((size_t)b * (size_t)w->out_h + (size_t)oy) * flat;
            for (ky = 0; ky < 4; ++ky) {
                const int32_t iy = iy0 + ky;
                rowp[ky] = ky < kh && iy >= 0 && iy < w->in_h ? in_b + (size_t)iy * in_row : NULL;
            }
            /* T: padding columns left, the real columns 64 codes at a time (the last step's overshoot is rewritten
             * below), padding columns right up to what the lanes read */
            for (i = 0; i < lpad; i += 64u) {
                _mm512_storeu_si512((void *)(T + i), zq);
            }
            for (i = 0; i < in_row; i += 64u) {
                const __mmask64 m = in_row - i >= 64u ? ~(__mmask64)0 : (((__mmask64)1 << (in_row - i)) - 1u);
                __m512i r[4], a, bb, c, d;
                for (ky = 0; ky < 4; ++ky) {
                    if (rowp[ky] != NULL) {
                        r[ky] = _mm512_mask_loadu_epi8(zp8, m, (const void *)(rowp[ky] + i));
                        if (int8_in) {
                            r[ky] = _mm512_xor_si512(r[ky], os.flip);
                        }
                        r[ky] = _mm512_permutexvar_epi32(tr, r[ky]);
                    } else {
                        r[ky] = zq; /* every byte the same: no transpose needed */
                    }
                }
                a = _mm512_unpacklo_epi8(r[0], r[1]);
                bb = _mm512_unpackhi_epi8(r[0], r[1]);
                c = _mm512_unpacklo_epi8(r[2], r[3]);
                d = _mm512_unpackhi_epi8(r[2], r[3]);
                _mm512_storeu_si512((void *)(T + lpad + 4u * i), _mm512_unpacklo_epi16(a, c));
                _mm512_storeu_si512((void *)(T + lpad + 4u * i + 64u), _mm512_unpackhi_epi16(a, c));
                _mm512_storeu_si512((void *)(T + lpad + 4u * i + 128u), _mm512_unpacklo_epi16(bb, d));
                _mm512_storeu_si512((void *)(T + lpad + 4u * i + 192u), _mm512_unpackhi_epi16(bb, d));
            }
            for (i = inside_end; i < tbytes; i += 64u) {
                _mm512_storeu_si512((void *)(T + i), zq);
            }
            switch (mode) {
            case MQ_DWP_Q64: MQ_DWP_ROW_KW(MQ_DWP_Q64); break;
            case MQ_DWP_Q64_NEG: MQ_DWP_ROW_KW(MQ_DWP_Q64_NEG); break;
            case MQ_DWP_SINGLE: MQ_DWP_ROW_KW(MQ_DWP_SINGLE); break;
            case MQ_DWP_GENERAL: MQ_DWP_ROW_KW(MQ_DWP_GENERAL); break;
            default: MQ_DWP_ROW_KW(MQ_DWP_PLAIN); break;
            }
        }
    }
}
#undef MQ_DWP_ROW_KW

/* Variant: -1 not chosen yet, 0 portable, 1 AVX2, 2 AVX-512 VNNI (when the run's weights fit int8, else AVX2). */
static int mq_dw_x86_variant = -1;

static int mq_dw_x86_best(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni")) {
        return 2;
    }
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

int mq_dw_s8_x86_select(const char *name)
{
    const int best = mq_dw_x86_best();
    int v;
    if (name == NULL) {
        v = best;
    } else if (strcmp(name, "c") == 0) {
        v = 0;
    } else if (strcmp(name, "avx2") == 0) {
        v = 1;
    } else if (strcmp(name, "avx512vnni") == 0) {
        v = 2;
    } else {
        return 0;
    }
    if (v > best) {
        return 0;
    }
    __atomic_store_n(&mq_dw_x86_variant, v, __ATOMIC_RELAXED);
    return 1;
}

void mq_dw_s8_x86(const mq_dw_run *r)
{
    const mq_depthwise_params *p = r->p;
    const int32_t c_end = p->in_c & ~7;
    int h = __atomic_load_n(&mq_dw_x86_variant, __ATOMIC_RELAXED);
    if (h < 0) {
        h = mq_dw_x86_best();
        __atomic_store_n(&mq_dw_x86_variant, h, __ATOMIC_RELAXED);
    }
    if (h == 0 || p->act_min > p->act_max || (p->single_rounding && !mq_dw_x86_shifts_neg(p))) {
        mq_dw_s8_c(r, 0, p->in_c);
        return;
    }
    if (h == 2 && mq_dw_vnni_weights_fit(p, r->ntaps)) {
        mq_dw_s8_vnni(r);
        return;
    }
    if (c_end == 0) {
        mq_dw_s8_c(r, 0, p->in_c);
        return;
    }
    mq_dw_s8_avx2(r, c_end);
    if (c_end < p->in_c) {
        mq_dw_s8_c(r, c_end, p->in_c);
    }
}

int mq_dw_s8_x86_layer(const mq_depthwise_params *p, const void *input, void *output, const void *pad)
{
    int h = __atomic_load_n(&mq_dw_x86_variant, __ATOMIC_RELAXED);
    if (h < 0) {
        h = mq_dw_x86_best();
        __atomic_store_n(&mq_dw_x86_variant, h, __ATOMIC_RELAXED);
    }
    if (h != 2 || p->depth_multiplier != 1 || p->act_min > p->act_max ||
        (p->single_rounding && !mq_dw_x86_shifts_neg(p)) ||
        p->win.kernel_h * p->win.kernel_w > MQ_DW_MAX_TAPS ||
        !mq_dw_vnni_weights_fit(p, p->win.kernel_h * p->win.kernel_w)) {
        return 0;
    }
    (void)pad;
    /* flat rows: channel counts that would leave part of a 64-channel vector idle (stride 1: not multiples of 64)
     * or any stride (the column quads need stride_w 1) */
    if (mq_dwp_enabled && !(p->win.stride_w == 1 && p->in_c % 64 == 0) && mq_dwp_applies(p)) {
        mq_dwp_layer(p, (const uint8_t *)input, (uint8_t *)output);
        return 1;
    }
    /* column quads: either rounding (the output stage mq_dw_vnni_rq_clamp4 is the VNNI layer kernel's) */
    if (p->win.kernel_h <= 4 && p->win.kernel_w <= MQ_DWC_MAX_KW && p->win.stride_w == 1 && p->win.dilation_h == 1 &&
        p->win.dilation_w == 1 && mq_dwc_enabled) {
        mq_dwc_layer(p, (const uint8_t *)input, (uint8_t *)output);
        return 1;
    }
    mq_dw_vnni_layer(p, (const uint8_t *)input, (uint8_t *)output);
    return 1;
}

#endif /* MQ_X86_HOST_KERNELS */
