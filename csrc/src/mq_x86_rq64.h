/*
 * MicroQuant internal (x86-64 host kernels only): mq_requantize (TFLite double rounding) on 16 int32 lanes in one
 * 64-bit rounding step, for the common case: every right shift e = -shift >= 1 (no left shift) and no multiplier
 * INT32_MIN. Used by the AVX-512 VNNI GEMM (mq_gemm_s8_n4k16_avx512vnni.c) and depthwise (mq_dw_s8_x86.c) output
 * stages; the other cases keep their mask / threshold form.
 *
 * Derivation (P = a * M, exact in int64, |P| < 2^62 when M != INT32_MIN):
 *   SRDHM(a, M) = q = floor((P + 2^30) / 2^31)                        (mq_gemm_x86_internal.h)
 *   RDBPOT(q, e) = floor((q + 2^(e-1) - [q < 0]) / 2^e)               (ties away from zero, e >= 1)
 * and floor((floor(y / 2^31) + c) / 2^e) = floor((y + c 2^31) / 2^(31+e)) for integer c, so
 *   mq_requantize(a, M, -e) = floor((P + C - [P < -2^30] 2^31) / 2^(31+e)),  C = 2^30 + 2^(30+e)
 * (q < 0 exactly when P + 2^30 < 0), one VPSRAVQ of a 64-bit sum that cannot overflow (|P + C| < 2^63). The even
 * lanes take it from VPMULDQ directly (the result is the low dword of the quadword); the odd lanes shift by e - 1
 * instead, so the result is the HIGH dword of the quadword (floor(floor(y / 2^(e-1)) / 2^32) = floor(y / 2^(31+e))),
 * and one dword blend joins them.
 * The [P < -2^30] term changes the result only for q < 0, where the true result and the uncorrected one are both
 * <= 0; when the caller's clamp floor lo = act_min - out_zero_point is >= 0 both clamp to lo, so the term is
 * dropped there (neg = 0: 8 instructions for 16 lanes instead of the mask / threshold form's 14).
 */
#ifndef MICROQUANT_MQ_X86_RQ64_H
#define MICROQUANT_MQ_X86_RQ64_H

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>
#include <stdint.h>

#define MQ_RQ64_TARGET __attribute__((target("avx512f,avx512bw")))

/* The lane constants of 16 channels (even lanes: channels 0, 2, ..; odd: 1, 3, .. as 64-bit lanes). */
typedef struct {
    __m512i mult, mult_odd; /* M per 32-bit lane; M of the odd lane in the low dword of each quadword */
    __m512i ce, co;         /* C of the even / odd lane of each quadword */
    __m512i se, so;         /* 31 + e (even), e - 1 (odd) */
} mq_rq64;

/* 1 when mq_rq64 applies to these n channels (every shift <= -1, no multiplier INT32_MIN). */
static inline int mq_rq64_ok(const int32_t *mult, const int32_t *shift, int32_t n)
{
    int32_t c;
    for (c = 0; c < n; c++) {
        if (shift[c] > -1 || mult[c] == INT32_MIN) {
            return 0;
        }
    }
    return 1;
}

/* Constants of 16 lanes from mult[16], shift[16] (every shift in [-31, -1]; lanes past the channels: any such
 * values, e.g. the previous lane's). */
MQ_RQ64_TARGET static inline void mq_rq64_init(mq_rq64 *q, const int32_t *mult, const int32_t *shift)
{
    int64_t ce[8], co[8], se[8], so[8];
    int32_t i;
    for (i = 0; i < 8; i++) {
        const int32_t e0 = -shift[2 * i], e1 = -shift[2 * i + 1];
        ce[i] = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e0));
        co[i] = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e1));
        se[i] = 31 + e0;
        so[i] = e1 - 1;
    }
    q->mult = _mm512_loadu_si512((const void *)mult);
    q->mult_odd = _mm512_srli_epi64(q->mult, 32);
    q->ce = _mm512_loadu_si512((const void *)ce);
    q->co = _mm512_loadu_si512((const void *)co);
    q->se = _mm512_loadu_si512((const void *)se);
    q->so = _mm512_loadu_si512((const void *)so);
}

/* mq_requantize(a, M, shift) on 16 lanes; neg 0: exact where the caller then clamps at lo >= 0 (see above). */
MQ_RQ64_TARGET __attribute__((always_inline)) static inline __m512i mq_rq64_apply(__m512i a, const mq_rq64 *q,
                                                                                 const int neg)
{
    __m512i pe = _mm512_mul_epi32(a, q->mult);
    __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), q->mult_odd);
    if (neg) {
        const __m512i t = _mm512_set1_epi64(-((int64_t)1 << 30));
        const __m512i d = _mm512_set1_epi64((int64_t)1 << 31);
        const __mmask8 ke = _mm512_cmplt_epi64_mask(pe, t);
        const __mmask8 ko = _mm512_cmplt_epi64_mask(po, t);
        pe = _mm512_mask_sub_epi64(pe, ke, pe, d);
        po = _mm512_mask_sub_epi64(po, ko, po, d);
    }
    pe = _mm512_srav_epi64(_mm512_add_epi64(pe, q->ce), q->se);
    po = _mm512_srav_epi64(_mm512_add_epi64(po, q->co), q->so);
    return _mm512_mask_blend_epi32((__mmask16)0xAAAAu, pe, po);
}

#endif /* MQ_X86_HOST_KERNELS */

#endif /* MICROQUANT_MQ_X86_RQ64_H */
