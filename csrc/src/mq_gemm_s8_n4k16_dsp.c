/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, Armv7E-M / Armv8-M DSP extension
 * (Cortex-M4, M7, M33): SXTB16 + SMLAD (two 16x16 MACs per instruction).
 *
 * Contract: csrc/src/mq_microkernels.h, layouts and formula: mq_kernels.h. Bit-identical to
 * mq_gemm_s8_n4k16_c:
 *   - accumulators wrap modulo 2^32 (SMLAD wraps; it only sets the sticky Q flag);
 *   - requantization is TFLite's double rounding, evaluated in one 64-bit multiply-accumulate
 *     (see mq_dsp_requant below for the derivation);
 *   - UINT8 inputs enter the signed domain by EOR 0x80808080 once per input word.
 * Input rows are read with word loads that may be unaligned (allowed on Armv7-M/Armv8-M Main
 * for LDR); the k tail (k % 4 bytes) is read byte by byte, never past k. Weights are read as
 * whole words: the N4K16 padding (zeros) makes the tail products vanish. Output rows >= n are
 * never written.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_DSP)

#include <arm_acle.h>
#include <string.h>

/* Unaligned 32-bit little-endian load (compiles to one LDR). */
static inline uint32_t mq_dsp_load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* SXTB16 of the word rotated right by 8: lanes = sign-extended bytes 1 and 3. */
static inline int32_t mq_dsp_sxtb16_ror8(uint32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/*
 * Per-channel requantization constants.
 * mq_requantize(acc, M, s) = RDBPOT(SRDHM(acc << L, M), E), L = max(s, 0), E = max(-s, 0).
 * With P = (acc << L) * M (exact int64):
 *   SRDHM = floor((P + 2^30) / 2^31)                          (TFLite's nudge/truncation is exactly
 *                                                              round-half-up; its one saturating
 *                                                              case, M = a = INT32_MIN, is handled)
 *   RDBPOT(x, E) = floor((x + 2^(E-1) - [x < 0]) / 2^E)       for E >= 1 (ties away from zero)
 * Nested floors of power-of-two divisions compose, so for E >= 1
 *   result = floor((P + 2^30 + 2^(30+E) - [P < 0] * 2^31) / 2^(31+E))
 * ([x < 0] may be replaced by [P < 0]: for -2^30 <= P < 0 both choices give 0). Since 31 + E >= 32
 * only the high word of the 64-bit sum is needed: result = hi >> (E - 1).
 */
typedef struct {
    int64_t round;      /* 2^30 + 2^(30+E) (E >= 1) or 2^30 (E == 0) */
    int32_t multiplier;
    int32_t left;       /* L */
    int32_t right;      /* E - 1 (E >= 1) or -1 (E == 0) */
} mq_dsp_rq;

static inline void mq_dsp_rq_init(mq_dsp_rq *q, int32_t multiplier, int32_t shift)
{
    const int32_t e = shift > 0 ? 0 : -shift;
    q->multiplier = multiplier;
    q->left = shift > 0 ? shift : 0;
    q->right = e - 1;
    q->round = ((int64_t)1 << 30) + (e > 0 ? ((int64_t)1 << (30 + e)) : 0);
}

static inline int32_t mq_dsp_requant(int32_t acc, const mq_dsp_rq *q)
{
    const int32_t a = (int32_t)((uint32_t)acc << q->left);
    const int64_t p = (int64_t)a * (int64_t)q->multiplier;
    if (q->right >= 0) {
        /* - [P < 0] * 2^31, with the sign of P taken from the operands (P == 0 either way works). */
        const int64_t neg = (int64_t)((a ^ q->multiplier) >> 31) * ((int64_t)1 << 31);
        const int64_t s = p + q->round + neg;
        return (int32_t)(s >> 32) >> q->right;
    } else {
        const int64_t x = (p + q->round) >> 31;
        return x > INT32_MAX ? INT32_MAX : (int32_t)x; /* only a = M = INT32_MIN */
    }
}

/* Requantize, offset, clamp, optional LUT. */
static inline uint8_t mq_dsp_finish(int32_t acc, const mq_dsp_rq *q, const mq_fc_params *p)
{
    /* Saturating add (QADD): the clamp bounds lie inside [-128, 255], so saturation gives the
     * same clamped value as the portable int64 sum. */
    int32_t v = __qadd(mq_dsp_requant(acc, q), p->out_zero_point);
    v = v < p->act_min ? p->act_min : v;
    v = v > p->act_max ? p->act_max : v;
    return p->lut != NULL ? p->lut[(uint8_t)v] : (uint8_t)v;
}

/*
 * Four output rows (one N4K16 group) of one input row. wg = group base (KC chunks of 64 bytes).
 * flip = 0x80808080 for UINT8 input, 0 for INT8 (constant-folded at the two call sites).
 */
static inline void mq_dsp_dot4(const int8_t *wg, const uint8_t *x, int32_t k, uint32_t flip, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w = wg;
    int32_t kk = k;
    while (kk >= 16) {
        int32_t j;
        for (j = 0; j < 16; j += 4) {
            const uint32_t xw = mq_dsp_load_u32(x + j) ^ flip;
            const int32_t xa = __sxtb16((int32_t)xw);
            const int32_t xb = mq_dsp_sxtb16_ror8(xw);
            uint32_t ww;
            ww = mq_dsp_load_u32(w + j);
            a0 = __smlad(__sxtb16((int32_t)ww), xa, a0);
            a0 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a0);
            ww = mq_dsp_load_u32(w + 16 + j);
            a1 = __smlad(__sxtb16((int32_t)ww), xa, a1);
            a1 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a1);
            ww = mq_dsp_load_u32(w + 32 + j);
            a2 = __smlad(__sxtb16((int32_t)ww), xa, a2);
            a2 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a2);
            ww = mq_dsp_load_u32(w + 48 + j);
            a3 = __smlad(__sxtb16((int32_t)ww), xa, a3);
            a3 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a3);
        }
        x += 16;
        w += 64;
        kk -= 16;
    }
    if (kk > 0) {
        /* Last chunk: kk in [1, 15] codes left; weights beyond k are zero in the packing. */
        int32_t j = 0;
        for (; j < kk; j += 4) {
            uint32_t xw;
            if (j + 4 <= kk) {
                xw = mq_dsp_load_u32(x + j);
            } else {
                const int32_t rem = kk - j; /* 1..3 */
                xw = (uint32_t)x[j];
                if (rem > 1) {
                    xw |= (uint32_t)x[j + 1] << 8;
                }
                if (rem > 2) {
                    xw |= (uint32_t)x[j + 2] << 16;
                }
            }
            xw ^= flip;
            {
                const int32_t xa = __sxtb16((int32_t)xw);
                const int32_t xb = mq_dsp_sxtb16_ror8(xw);
                uint32_t ww;
                ww = mq_dsp_load_u32(w + j);
                a0 = __smlad(__sxtb16((int32_t)ww), xa, a0);
                a0 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a0);
                ww = mq_dsp_load_u32(w + 16 + j);
                a1 = __smlad(__sxtb16((int32_t)ww), xa, a1);
                a1 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a1);
                ww = mq_dsp_load_u32(w + 32 + j);
                a2 = __smlad(__sxtb16((int32_t)ww), xa, a2);
                a2 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a2);
                ww = mq_dsp_load_u32(w + 48 + j);
                a3 = __smlad(__sxtb16((int32_t)ww), xa, a3);
                a3 = __smlad(mq_dsp_sxtb16_ror8(ww), xb, a3);
            }
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

void mq_gemm_s8_n4k16_dsp(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) / 16) * 64u;
    const int uint8_in = p->in_dtype == MQ_DTYPE_UINT8;
    mq_dsp_rq q[4];
    int32_t g;

    if (!p->per_channel) {
        mq_dsp_rq_init(&q[0], p->multiplier[0], p->shift[0]);
        q[1] = q[0];
        q[2] = q[0];
        q[3] = q[0];
    }
    for (g = 0; 4 * g < n; g++) {
        const int32_t c0 = 4 * g;
        const int32_t rows = n - c0 < 4 ? n - c0 : 4;
        const int8_t *wg = p->weights + (size_t)g * group_bytes;
        int32_t bias[4] = {0, 0, 0, 0};
        int32_t r;
        int32_t i;
        for (r = 0; r < rows; r++) {
            bias[r] = p->bias[c0 + r];
            if (p->per_channel) {
                mq_dsp_rq_init(&q[r], p->multiplier[c0 + r], p->shift[c0 + r]);
            }
        }
        for (i = 0; i < m; i++) {
            const uint8_t *xi = x + (size_t)i * (size_t)x_stride;
            uint8_t *oi = out + (size_t)i * (size_t)out_stride + c0;
            int32_t acc[4];
            acc[0] = bias[0];
            acc[1] = bias[1];
            acc[2] = bias[2];
            acc[3] = bias[3];
            if (uint8_in) {
                mq_dsp_dot4(wg, xi, k, 0x80808080u, acc);
            } else {
                mq_dsp_dot4(wg, xi, k, 0u, acc);
            }
            if (rows == 4) {
                oi[0] = mq_dsp_finish(acc[0], &q[0], p);
                oi[1] = mq_dsp_finish(acc[1], &q[1], p);
                oi[2] = mq_dsp_finish(acc[2], &q[2], p);
                oi[3] = mq_dsp_finish(acc[3], &q[3], p);
            } else {
                for (r = 0; r < rows; r++) {
                    oi[r] = mq_dsp_finish(acc[r], &q[r], p);
                }
            }
        }
    }
}

#endif /* __ARM_FEATURE_DSP */
