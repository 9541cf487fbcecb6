/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, Armv7E-M / Armv8-M DSP extension
 * (Cortex-M4, M7, M33): SXTB16 + SMLAD (two 16x16 MACs per instruction).
 *
 * Contract: csrc/src/mq_microkernels.h, layouts and formula: mq_kernels.h. Bit-identical to
 * mq_gemm_s8_n4k16_c:
 *   - accumulators wrap modulo 2^32 (SMLAD wraps; it only sets the sticky Q flag);
 *   - requantization is TFLite's double rounding, evaluated with one 64-bit multiply-accumulate
 *     (derivation at mq_dsp_rq below); single rounding (p->single_rounding, QDQ models) runs the same loops
 *     with the single-rounding form of that multiply-accumulate (round 2^(30+E), no sign correction:
 *     mq_output_stage.h);
 *   - UINT8 inputs enter the signed domain by EOR 0x80808080 once per input word.
 * Loops:
 *   - batch 1 (m == 1): "GEMV" (mq_dsp_gemv): the input row expanded once per call to q15 lane pairs on the
 *     stack, one assembly loop over every group of 4 rows (76 instructions / 64 MACs, no EOR), the output
 *     stage streamed from the multiplier / shift arrays, 4 codes per STR;
 *   - pairs of input rows with k % 16 == 0, k <= 1024 (1x1 convolutions, padded im2col rows, batched FC):
 *     mq_dsp_pairs_blocked: a block of pairs expanded once to q15 lanes, then every group runs the "2x2"
 *     assembly loop on them (15 instructions / 16 MACs; k <= 288: the weight
 *     lanes of each pair of rows are expanded once per block too, mq_dsp_wexp2, and mq_dsp_pairsxw_2x2 takes
 *     2 LDM + 8 SMLAD = 10 / 16 MACs);
 *   - otherwise (per group of 4 output rows): pairs of input rows: "2x2" blocks, 4 codes per step: both
 *     input words unpacked once, each weight word loaded and unpacked once and used for both rows
 *     (20 instructions / 16 MACs); a single input row (odd last row, a group the GEMV does not take):
 *     "1x4", 8 codes per step, weights by LDRD (42 instructions / 32 MACs).
 * Stack: the expansion buffers, 1.5 KB (GEMV, k <= 768) or 5.1 KB (pairs, k <= 1024: inputs 4 KB, weights 1.1 KB).
 * Input rows are read with word loads that may be unaligned (LDR allows it on these cores); the
 * last 1..3 codes of a row are read byte by byte, never past k. Weights are read as whole words
 * (the N4K16 zero padding makes the tail products vanish) and must be 4-byte aligned (packed
 * models align constants to 16); unaligned weights, and groups with a channel whose shift is >= 0
 * (real multiplier >= 0.5, rare), go through the portable kernel. Output rows >= n are never written.
 * The hot steps are small inline-asm blocks: the same instructions intrinsics give, but the
 * compiler can no longer hoist every weight load of a chunk ahead of its use and spill accumulators.
 */
#include "mq_microkernels.h"
#include "mq_output_stage.h"

#if defined(__ARM_FEATURE_DSP)

#include <arm_acle.h>
#include <string.h>

#include "mq_kernel_select.h"

/*
 * Compact kernel: the whole GEMM of the size-optimised build (-Os, __OPTIMIZE_SIZE__), and in the -O2 build the
 * cold fallback of the fast paths below (unaligned weights, channels with shift >= 0, and every call a kernel
 * variant left out by the build list takes, mq_kernel_select.h), compiled for size there (`cold`). One compact,
 * rolled loop shape instead of the unrolled
 * 2x2 / 1x4 loops and the assembly pair loop below (about 0.54 KB instead of about 5 KB). Still SXTB16 +
 * SMLAD: per 4 codes one input word (EOR 0x80808080 for UINT8, 0 for INT8) unpacked once and used for the
 * 4 rows of the group; weight words are read with LDR, which allows any alignment on these cores, so no
 * portable-kernel fallback is linked. Every shift in [-31, 30] is handled here (mq_dsp_os_out), with the
 * same one-SMLAL rounding as above for shift <= -1. Bit-identical to mq_gemm_s8_n4k16_c.
 */
#if defined(__OPTIMIZE_SIZE__)
#define MQ_DSP_COMPACT_ATTR
#else
#define MQ_DSP_COMPACT_ATTR __attribute__((noinline, cold))
#endif

/* Codes [0, min(4, rem)) of a row as a word (zero bytes above; never reads past the row). */
static uint32_t mq_dsp_os_load(const uint8_t *x, int32_t rem)
{
    uint32_t v = 0;
    if (rem >= 4) {
        memcpy(&v, x, sizeof(v));
    } else {
        while (rem-- > 0) {
            v = (v << 8) | x[rem];
        }
    }
    return v;
}

/*
 * Requantize, offset, clamp, LUT: mq_requantize(acc, M, shift) with x = acc << max(shift, 0) (wraps),
 * P = x * M (M >= 0), E = max(-shift, 0):
 *   E = 0:  SRDHM = floor((2P + 2^31) / 2^32), the high word of 2P + 2^31 (|2P| < 2^63);
 *   E >= 1: floor((P + 2^30 + 2^(30+E) - [P < 0] * 2^31) / 2^(31+E)) = high word >> (E - 1)
 * (derivation at mq_dsp_rq). Clamped before the zero point is added (r may be near INT32_MAX).
 */
static uint8_t mq_dsp_os_out(int32_t acc, int32_t mult, int32_t shift, const mq_fc_params *p)
{
    if (p->single_rounding) {
        return mq_output_single_rounding((uint32_t)acc, mult, shift, p->out_zero_point, p->act_min, p->act_max, p->lut);
    }
    return mq_output_stage(acc, mult, shift, p->out_zero_point, p->act_min, p->act_max, p->lut);
}

/* Row OFF / 16 of the group: one weight word (LDR, any alignment), two SMLADs into ACC. */
#define MQ_DSP_OS_ROW(ACC, OFF)                                                     \
    do {                                                                            \
        uint32_t ww;                                                                \
        memcpy(&ww, w + (OFF), sizeof(ww));                                         \
        ACC = __smlad(__sxtb16((int32_t)ww), xa, ACC);                              \
        ACC = __smlad(__sxtb16((int32_t)(ww >> 8 | ww << 24)), xb, ACC);            \
    } while (0)

MQ_DSP_COMPACT_ATTR static void mq_dsp_compact(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                                               uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const uint32_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0x80808080u : 0u;
    int32_t n0;
    for (n0 = 0; n0 < n; n0 += 4) {
        const int8_t *wg = p->weights.packed + (size_t)(n0 >> 2) * group_bytes;
        int32_t i;
        for (i = 0; i < m; ++i) {
            const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
            int32_t acc[4];
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0; /* the bias is added at the end (mod 2^32, same sum) */
            int32_t kk;
            int32_t r;
            for (kk = 0; kk < k; kk += 4) {
                const uint32_t xw = mq_dsp_os_load(xr + kk, k - kk) ^ flip;
                const int32_t xa = __sxtb16((int32_t)xw);
                const int32_t xb = __sxtb16((int32_t)(xw >> 8 | xw << 24));
                const int8_t *w = wg + (size_t)(kk >> 4) * 64u + (size_t)(kk & 15);
                MQ_DSP_OS_ROW(a0, 0);
                MQ_DSP_OS_ROW(a1, 16);
                MQ_DSP_OS_ROW(a2, 32);
                MQ_DSP_OS_ROW(a3, 48);
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
            for (r = 0; r < 4 && n0 + r < n; ++r) {
                const int32_t c = p->per_channel ? n0 + r : 0;
                out[(ptrdiff_t)i * out_stride + n0 + r] =
                    mq_dsp_os_out((int32_t)((uint32_t)acc[r] + (uint32_t)p->bias.folded[n0 + r]), p->multiplier[c], p->shift[c], p);
            }
        }
    }
}

#if defined(__OPTIMIZE_SIZE__)

void mq_gemm_s8_n4k16_dsp(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    mq_dsp_compact(p, m, x, x_stride, out, out_stride);
}

int32_t mq_gemm_s8_n4k16_dsp_row_ready(const mq_fc_params *p)
{
    (void)p;
    return 0; /* the size-optimised build has no GEMV loop */
}

int mq_gemm_s8_n4k16_dsp_in_place(const mq_fc_params *p)
{
    (void)p;
    return 0; /* the compact kernel reads the input rows again for every group */
}

void mq_gemm_s8_n4k16_dsp_row(const mq_fc_params *p, const uint8_t *x, uint8_t *out)
{
    mq_dsp_compact(p, 1, x, p->k, out, p->n);
}

#else /* !__OPTIMIZE_SIZE__: the unrolled fast path */

/* Fast paths this build compiles (mq_kernel_select.h); the rest runs mq_dsp_compact. */
#define MQ_DSP_BATCHED (MQ_GEMM_BATCHED_ENABLED && (MQ_GEMM_UINT8_ENABLED || MQ_GEMM_INT8_ENABLED))
#define MQ_DSP_ROWS_U8 (MQ_DSP_BATCHED && MQ_GEMM_UINT8_ENABLED)
#define MQ_DSP_ROWS_S8 (MQ_DSP_BATCHED && MQ_GEMM_INT8_ENABLED)
/* the dtype-specific row loops of the input dtype DT */
#define MQ_DSP_ROWS_FOR(DT) ((DT) == MQ_DTYPE_UINT8 ? MQ_DSP_ROWS_U8 : MQ_DSP_ROWS_S8)
#if MQ_DSP_ROWS_U8 && MQ_DSP_ROWS_S8
#define MQ_DSP_PICK(U8, FN_U8, FN_S8) ((U8) ? FN_U8 : FN_S8)
#elif MQ_DSP_ROWS_U8
#define MQ_DSP_PICK(U8, FN_U8, FN_S8) ((void)(U8), FN_U8)
#else
#define MQ_DSP_PICK(U8, FN_U8, FN_S8) ((void)(U8), FN_S8)
#endif

/* Channels [c0, n) of the call (c0 a multiple of 4) through the compact kernel. */
static void mq_dsp_compact_from(const mq_fc_params *p, int32_t c0, int32_t m, const uint8_t *x, int32_t x_stride,
                                uint8_t *out, int32_t out_stride)
{
    const mq_fc_params sub = mq_fc_params_channels(p, c0, p->n - c0);
    mq_dsp_compact(&sub, m, x, x_stride, out + c0, out_stride);
}

/*
 * Requantization of one output channel, E = -shift >= 1 (shift <= -1).
 * mq_requantize(acc, M, s) = RDBPOT(SRDHM(acc, M), E). With P = acc * M (exact int64, M >= 0 as
 * checked by the operator):
 *   SRDHM = floor((P + 2^30) / 2^31)          (TFLite's nudge + truncation is exactly round half up;
 *                                              its saturating case needs M = INT32_MIN: excluded)
 *   RDBPOT(x, E) = floor((x + 2^(E-1) - [x < 0]) / 2^E)     (ties away from zero)
 * Nested floors of power-of-two divisions compose, hence
 *   result = floor((P + 2^30 + 2^(30+E) - [P < 0] * 2^31) / 2^(31+E))
 * ([x < 0] may be replaced by [P < 0]: for -2^30 <= P < 0 both give 0; with M >= 0, P < 0 only if
 * acc < 0, and acc < 0 with M = 0 gives P = 0 where both give 0 as well). As 31 + E >= 32 only the
 * high word of the 64-bit sum is needed: result = hi >> (E - 1). SMLAL, sign correction, ASR.
 */
typedef mq_os_channel_hi mq_dsp_rq;   /* round (2^30 + 2^(30+E)), multiplier, right = E - 1: the asm reads these offsets */

/* base: the round's rounding-independent part, 2^30 (double rounding, mq_os_channel_hi_init) or 0 (single rounding,
 * round 2^(30+E), mq_os_channel_hi_init_single; used with mn = MQ_OS_SIGN_SINGLE), chosen once per call by the caller:
 * no branch per channel (a branch here cost the per-channel group set-up ~10 instructions, 1.4 % of tinyconv on M4). */
static inline void mq_dsp_rq_init(mq_dsp_rq *q, int32_t multiplier, int32_t shift, int32_t base)
{
    const int32_t e = -shift;
    q->m = multiplier;
    q->right = e - 1;
    q->round = (int64_t)base + ((int64_t)1 << (30 + e));
}

/* Output stage constants (mq_output_stage.h, DSP form), copied out of mq_fc_params once (by value: output stores
 * are uint8_t stores that may alias any memory, so values read through pointers would be reloaded after every
 * store). clamp(r + zp, lo, hi) = lo + min(USAT8(r + (zp - lo)), hi - lo) since 0 <= hi - lo <= 255. */
typedef mq_os_out_dsp mq_dsp_out;

/* Requantize, offset, clamp, optional LUT: the shared output stage (mq_os_requant_hi_mn + mq_os_finish_dsp); mn: the
 * sign-correction multiplier, MQ_OS_SIGN_DOUBLE or MQ_OS_SIGN_SINGLE (with the matching round, mq_dsp_rq_init). */
static inline __attribute__((always_inline)) uint8_t mq_dsp_fin(int32_t acc, int64_t round, int32_t mult,
                                                                int32_t right, mq_dsp_out os, int32_t mn)
{
    mq_os_channel_hi q;
    int32_t v;
    q.round = round;
    q.m = mult;
    q.right = right;
    v = mq_os_finish_dsp(mq_os_requant_hi_mn(acc, &q, mn), &os);
    return os.lut != NULL ? os.lut[(uint8_t)v] : (uint8_t)v;
}

/*
 * Two accumulators a, b of the SAME channel q: a, b <- clamped codes (lo + min(USAT8(r + zl), h)),
 * the arithmetic of mq_dsp_fin with the channel's constants loaded once. The sign correction
 * -[acc < 0] * 2^31 is a second SMLAL of (acc >> 31, logical) by mn = INT32_MIN (single rounding: mn = 0 and q's
 * round 2^(30+E), mq_dsp_rq_init). FULL (h == 255, the clamp is the whole code range) drops the MIN with h.
 * 23 (FULL) or 29 instructions for both.
 */
/* The constants read through q: an "m" operand when optimizing; at -O0 (12 register operands and a separate address
 * register for the "m" one do not fit) a memory clobber instead, same code otherwise. */
#if defined(__OPTIMIZE__)
#define MQ_DSP_RQ2_MEM , "m"(*q)
#define MQ_DSP_RQ2_CLOBBERS "cc"
#else
#define MQ_DSP_RQ2_MEM
#define MQ_DSP_RQ2_CLOBBERS "cc", "memory"
#endif
#define MQ_DSP_RQ2_ASM(HCLAMP)                                                                       \
    __asm__("ldrd %[rl], %[rh], [%[q]]\n\t"                                                          \
            "ldr %[t], [%[q], #8]\n\t"                                                               \
            "mov %[sl], %[rl]\n\t"                                                                   \
            "mov %[sh], %[rh]\n\t"                                                                   \
            "smlal %[rl], %[rh], %[a], %[t]\n\t"                                                     \
            "smlal %[sl], %[sh], %[b], %[t]\n\t"                                                     \
            "lsr %[t], %[a], #31\n\t"                                                                \
            "smlal %[rl], %[rh], %[t], %[mn]\n\t"                                                    \
            "lsr %[t], %[b], #31\n\t"                                                                \
            "smlal %[sl], %[sh], %[t], %[mn]\n\t"                                                    \
            "ldr %[t], [%[q], #12]\n\t"                                                              \
            "asr %[rh], %[rh], %[t]\n\t"                                                             \
            "asr %[sh], %[sh], %[t]\n\t"                                                             \
            "qadd %[rh], %[rh], %[zl]\n\t"                                                           \
            "qadd %[sh], %[sh], %[zl]\n\t"                                                           \
            "usat %[a], #8, %[rh]\n\t"                                                               \
            "usat %[b], #8, %[sh]\n\t" HCLAMP                                                        \
            "add %[a], %[a], %[lo]\n\t"                                                              \
            "add %[b], %[b], %[lo]\n\t"                                                              \
            : [a] "+&r"(va), [b] "+&r"(vb), [rl] "=&r"(rl), [rh] "=&r"(rh), [sl] "=&r"(sl),          \
              [sh] "=&r"(sh), [t] "=&r"(t)                                                           \
            : [q] "r"(q) MQ_DSP_RQ2_MEM, [zl] "r"(os.zl), [h] "r"(os.h), [lo] "r"(os.lo),            \
              [mn] "r"(mn)                                                                           \
            : MQ_DSP_RQ2_CLOBBERS)

static inline __attribute__((always_inline)) void mq_dsp_rq2(int32_t *a, int32_t *b, const mq_dsp_rq *q,
                                                             mq_dsp_out os, int full, int32_t mn)
{
    int32_t va = *a, vb = *b;
    int32_t rl, rh, sl, sh, t;
    if (full) {
        MQ_DSP_RQ2_ASM("");
    } else {
        MQ_DSP_RQ2_ASM("cmp %[a], %[h]\n\t"
                       "it gt\n\t"
                       "movgt %[a], %[h]\n\t"
                       "cmp %[b], %[h]\n\t"
                       "it gt\n\t"
                       "movgt %[b], %[h]\n\t");
    }
    *a = va;
    *b = vb;
}

#define MQ_DSP_STR_(x) #x
#define MQ_DSP_STR(x) MQ_DSP_STR_(x)
#define MQ_DSP_EOR(R) "eor %[" R "], %[" R "], #0x80808080\n\t"

/* ---- 1x4: one input row against the 4 rows of a group (row stride 16 bytes) ---- */

/* 8 codes: 2 input words -> 4 lanes pairs; per row LDRD of 2 weight words. */
#define MQ_DSP_ROW8(ACC, OFF)                                     \
    "ldrd %[w0], %[w1], [%[wp], #" MQ_DSP_STR(OFF) "]\n\t"       \
    "sxtb16 %[t], %[w0], ror #8\n\t"                              \
    "sxtb16 %[w0], %[w0]\n\t"                                     \
    "smlad %[" ACC "], %[w0], %[xa0], %[" ACC "]\n\t"             \
    "smlad %[" ACC "], %[t], %[xb0], %[" ACC "]\n\t"              \
    "sxtb16 %[t], %[w1], ror #8\n\t"                              \
    "sxtb16 %[w1], %[w1]\n\t"                                     \
    "smlad %[" ACC "], %[w1], %[xa1], %[" ACC "]\n\t"             \
    "smlad %[" ACC "], %[t], %[xb1], %[" ACC "]\n\t"

#define MQ_DSP_1X4_8(XOFF, WOFF, EOR0, EOR1)                                                  \
    __asm__("ldr %[xa0], [%[xp], #" MQ_DSP_STR(XOFF) "]\n\t"                                  \
            "ldr %[xa1], [%[xp], #" MQ_DSP_STR(XOFF) "+4]\n\t" EOR0 EOR1                      \
            "sxtb16 %[xb0], %[xa0], ror #8\n\t"                                               \
            "sxtb16 %[xa0], %[xa0]\n\t"                                                       \
            "sxtb16 %[xb1], %[xa1], ror #8\n\t"                                               \
            "sxtb16 %[xa1], %[xa1]\n\t" MQ_DSP_ROW8("a0", WOFF) MQ_DSP_ROW8("a1", WOFF + 16)  \
            MQ_DSP_ROW8("a2", WOFF + 32) MQ_DSP_ROW8("a3", WOFF + 48)                         \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xa0] "=&r"(xa0),   \
              [xb0] "=&r"(xb0), [xa1] "=&r"(xa1), [xb1] "=&r"(xb1), [w0] "=&r"(w0),           \
              [w1] "=&r"(w1), [t] "=&r"(t)                                                    \
            : [xp] "r"(x), [wp] "r"(w)                                                        \
            : "memory")

/* 4 codes (k tail): 1 input word; per row one weight word. */
#define MQ_DSP_ROW4(ACC, OFF)                                     \
    "ldr %[w0], [%[wp], #" MQ_DSP_STR(OFF) "]\n\t"               \
    "sxtb16 %[t], %[w0], ror #8\n\t"                              \
    "sxtb16 %[w0], %[w0]\n\t"                                     \
    "smlad %[" ACC "], %[w0], %[xa0], %[" ACC "]\n\t"             \
    "smlad %[" ACC "], %[t], %[xb0], %[" ACC "]\n\t"

#define MQ_DSP_1X4_4(EOR0)                                                                     \
    __asm__("ldr %[xa0], [%[xp]]\n\t" EOR0                                                     \
            "sxtb16 %[xb0], %[xa0], ror #8\n\t"                                                \
            "sxtb16 %[xa0], %[xa0]\n\t" MQ_DSP_ROW4("a0", 0) MQ_DSP_ROW4("a1", 16)             \
            MQ_DSP_ROW4("a2", 32) MQ_DSP_ROW4("a3", 48)                                        \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xa0] "=&r"(xa0),    \
              [xb0] "=&r"(xb0), [w0] "=&r"(w0), [t] "=&r"(t)                                   \
            : [xp] "r"(x), [wp] "r"(w)                                                         \
            : "memory")

/* ---- 2x2: two input rows against 2 rows of a group (w: first row, second at +16) ---- */

#define MQ_DSP_ROW2(A0, A1, OFF)                                  \
    "ldr %[w0], [%[wp], #" MQ_DSP_STR(OFF) "]\n\t"               \
    "sxtb16 %[t], %[w0], ror #8\n\t"                              \
    "sxtb16 %[w0], %[w0]\n\t"                                     \
    "smlad %[" A0 "], %[w0], %[p0a], %[" A0 "]\n\t"               \
    "smlad %[" A1 "], %[w0], %[p1a], %[" A1 "]\n\t"               \
    "smlad %[" A0 "], %[t], %[p0b], %[" A0 "]\n\t"                \
    "smlad %[" A1 "], %[t], %[p1b], %[" A1 "]\n\t"

#define MQ_DSP_2X2(XOFF, WOFF, EOR0, EOR1)                                                     \
    __asm__("ldr %[p0a], [%[x0], #" MQ_DSP_STR(XOFF) "]\n\t"                                   \
            "ldr %[p1a], [%[x1], #" MQ_DSP_STR(XOFF) "]\n\t" EOR0 EOR1                         \
            "sxtb16 %[p0b], %[p0a], ror #8\n\t"                                                \
            "sxtb16 %[p0a], %[p0a]\n\t"                                                        \
            "sxtb16 %[p1b], %[p1a], ror #8\n\t"                                                \
            "sxtb16 %[p1a], %[p1a]\n\t" MQ_DSP_ROW2("a00", "a10", WOFF)                        \
            MQ_DSP_ROW2("a01", "a11", WOFF + 16)                                               \
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),              \
              [p0a] "=&r"(p0a), [p0b] "=&r"(p0b), [p1a] "=&r"(p1a), [p1b] "=&r"(p1b),          \
              [w0] "=&r"(w0), [t] "=&r"(t)                                                     \
            : [x0] "r"(x0), [x1] "r"(x1), [wp] "r"(w)                                          \
            : "memory")

/*
 * 2x2 over `chunks` (>= 1) whole 16-code chunks in one asm loop: the input pointers advance by
 * post-indexed loads, the weight pointer by 64 per chunk. 13 registers (so it also builds at -O0 or
 * with a frame pointer): the chunk count enters in p0a and lives in a stack slot the block pushes
 * and pops itself.
 */
#define MQ_DSP_2X2_STEPI(WOFF, EOR0, EOR1)                                                    \
    "ldr %[p0a], [%[x0]], #4\n\t"                                                             \
    "ldr %[p1a], [%[x1]], #4\n\t" EOR0 EOR1                                                   \
    "sxtb16 %[p0b], %[p0a], ror #8\n\t"                                                       \
    "sxtb16 %[p0a], %[p0a]\n\t"                                                               \
    "sxtb16 %[p1b], %[p1a], ror #8\n\t"                                                       \
    "sxtb16 %[p1a], %[p1a]\n\t" MQ_DSP_ROW2("a00", "a10", WOFF) MQ_DSP_ROW2("a01", "a11", WOFF + 16)

#define MQ_DSP_2X2_LOOP(EOR0, EOR1)                                                                 \
    do {                                                                                            \
        int32_t p0a = chunks, p0b, p1a, p1b, w0, t;                                                 \
        __asm__("push {%[p0a]}\n\t"                                                                 \
                "1:\n\t" MQ_DSP_2X2_STEPI(0, EOR0, EOR1) MQ_DSP_2X2_STEPI(4, EOR0, EOR1)            \
                MQ_DSP_2X2_STEPI(8, EOR0, EOR1) MQ_DSP_2X2_STEPI(12, EOR0, EOR1)                    \
                "add %[wp], %[wp], #64\n\t"                                                         \
                "ldr %[t], [sp]\n\t"                                                                \
                "subs %[t], %[t], #1\n\t"                                                           \
                "str %[t], [sp]\n\t"                                                                \
                "bne 1b\n\t"                                                                        \
                "add sp, sp, #4\n\t"                                                                \
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),               \
                  [x0] "+r"(x0), [x1] "+r"(x1), [wp] "+r"(w), [p0a] "+r"(p0a), [p0b] "=&r"(p0b),    \
                  [p1a] "=&r"(p1a), [p1b] "=&r"(p1b), [w0] "=&r"(w0), [t] "=&r"(t)                  \
                :                                                                                   \
                : "cc", "memory");                                                                  \
    } while (0)

#if defined(__OPTIMIZE__)
#define MQ_DSP_2X2_CHUNKS(EOR0, EOR1) MQ_DSP_2X2_LOOP(EOR0, EOR1)
#else
/* -O0: gcc cannot give the 13-register loop its registers; the same steps, looped in C. */
#define MQ_DSP_2X2_CHUNKS(EOR0, EOR1)                     \
    do {                                                  \
        int32_t p0a, p0b, p1a, p1b, w0, t;                \
        for (; chunks > 0; chunks--) {                    \
            MQ_DSP_2X2(0, 0, EOR0, EOR1);                 \
            MQ_DSP_2X2(4, 4, EOR0, EOR1);                 \
            MQ_DSP_2X2(8, 8, EOR0, EOR1);                 \
            MQ_DSP_2X2(12, 12, EOR0, EOR1);               \
            x0 += 16;                                     \
            x1 += 16;                                     \
            w += 64;                                      \
        }                                                 \
    } while (0)
#endif

/* The last 1..3 codes of a row as a word (zero bytes above; never reads past k). */
static inline uint32_t mq_dsp_load_tail(const uint8_t *x, int32_t rem)
{
    uint32_t v = (uint32_t)x[0];
    if (rem > 1) {
        v |= (uint32_t)x[1] << 8;
    }
    if (rem > 2) {
        v |= (uint32_t)x[2] << 16;
    }
    return v;
}

/*
 * Row loops, one copy per input dtype (UINT8 adds the EORs). The requantization epilogue is in the
 * same function, so accumulators never leave registers between the MACs and the stores.
 *   1x4: for each of m input rows: acc[r] = bias[r] + sum_k x[k] * W[c0 + r][k], r < rows (<= 4).
 *   2x2: for each of `pairs` pairs of input rows, rows h, h+1 of the group (w: row h).
 */
#define MQ_DSP_ROWS(SUFFIX, E_XA0, E_XA1, E_P0, E_P1)                                                    \
    static void mq_dsp_rows_1x4_##SUFFIX(const int8_t *wg, const mq_dsp_rq q[4], const int32_t bias[4], \
                                         int32_t rows, int32_t k, const mq_dsp_out *os, int32_t m,       \
                                         const uint8_t *xr, int32_t x_stride, uint8_t *o,                \
                                         int32_t out_stride, int32_t mn)                                 \
    {                                                                                                    \
        for (; m > 0; m--) {                                                                             \
            const uint8_t *x = xr;                                                                       \
            const int8_t *w = wg;                                                                        \
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];                              \
            int32_t xa0, xb0, xa1, xb1, w0, w1, t;                                                       \
            int32_t chunks = k >> 4;                                                                     \
            int32_t rem = k & 15;                                                                        \
            for (; chunks > 0; chunks--) {                                                               \
                MQ_DSP_1X4_8(0, 0, E_XA0, E_XA1);                                                        \
                MQ_DSP_1X4_8(8, 8, E_XA0, E_XA1);                                                        \
                x += 16;                                                                                 \
                w += 64;                                                                                 \
            }                                                                                            \
            for (; rem >= 4; rem -= 4) {                                                                 \
                MQ_DSP_1X4_4(E_XA0);                                                                     \
                x += 4;                                                                                  \
                w += 4;                                                                                  \
            }                                                                                            \
            if (rem > 0) {                                                                               \
                const uint32_t tail = mq_dsp_load_tail(x, rem);                                          \
                x = (const uint8_t *)&tail;                                                              \
                MQ_DSP_1X4_4(E_XA0);                                                                     \
            }                                                                                            \
            (void)xa1;                                                                                   \
            (void)xb1;                                                                                   \
            (void)w1;                                                                                    \
            {                                                                                            \
                const mq_dsp_out ov = *os;                                                               \
                const uint8_t v0 = mq_dsp_fin(a0, q[0].round, q[0].m, q[0].right, ov, mn);           \
                o[0] = v0;                                                                               \
                if (rows > 1) {                                                                          \
                    o[1] = mq_dsp_fin(a1, q[1].round, q[1].m, q[1].right, ov, mn);                   \
                }                                                                                        \
                if (rows > 2) {                                                                          \
                    o[2] = mq_dsp_fin(a2, q[2].round, q[2].m, q[2].right, ov, mn);                   \
                }                                                                                        \
                if (rows > 3) {                                                                          \
                    o[3] = mq_dsp_fin(a3, q[3].round, q[3].m, q[3].right, ov, mn);                   \
                }                                                                                        \
            }                                                                                            \
            xr += x_stride;                                                                              \
            o += out_stride;                                                                             \
        }                                                                                                \
    }                                                                                                    \
    static void mq_dsp_rows_2x2_##SUFFIX(const int8_t *wh, const mq_dsp_rq q[2], const int32_t bias[2], \
                                         int32_t k, const mq_dsp_out *os, int32_t pairs,                 \
                                         const uint8_t *xr, int32_t x_stride, uint8_t *o,                \
                                         int32_t out_stride, const volatile int32_t *mnp)                                 \
    {                                                                                                    \
        for (; pairs > 0; pairs--) {                                                                     \
            const uint8_t *x0 = xr;                                                                      \
            const uint8_t *x1 = xr + x_stride;                                                           \
            const int8_t *w = wh;                                                                        \
            int32_t a00 = bias[0], a01 = bias[1];                                                        \
            int32_t a10 = a00, a11 = a01;                                                                \
            int32_t p0a, p0b, p1a, p1b, w0, t;                                                           \
            int32_t chunks = k >> 4;                                                                     \
            int32_t rem = k & 15;                                                                        \
            if (chunks > 0) {                                                                            \
                MQ_DSP_2X2_CHUNKS(E_P0, E_P1);                                                           \
            }                                                                                            \
            for (; rem >= 4; rem -= 4) {                                                                 \
                MQ_DSP_2X2(0, 0, E_P0, E_P1);                                                            \
                x0 += 4;                                                                                 \
                x1 += 4;                                                                                 \
                w += 4;                                                                                  \
            }                                                                                            \
            if (rem > 0) {                                                                               \
                const uint32_t t0 = mq_dsp_load_tail(x0, rem);                                           \
                const uint32_t t1 = mq_dsp_load_tail(x1, rem);                                           \
                x0 = (const uint8_t *)&t0;                                                               \
                x1 = (const uint8_t *)&t1;                                                               \
                MQ_DSP_2X2(0, 0, E_P0, E_P1);                                                            \
            }                                                                                            \
            {                                                                                            \
                const mq_dsp_out ov = *os;                                                               \
                const int32_t mn = *mnp; /* read here: not held in a register across the k loop */         \
                if (ov.h == 255) {                                                                       \
                    mq_dsp_rq2(&a00, &a10, &q[0], ov, 1, mn);                                            \
                    mq_dsp_rq2(&a01, &a11, &q[1], ov, 1, mn);                                            \
                } else {                                                                                 \
                    mq_dsp_rq2(&a00, &a10, &q[0], ov, 0, mn);                                            \
                    mq_dsp_rq2(&a01, &a11, &q[1], ov, 0, mn);                                            \
                }                                                                                        \
                if (ov.lut != NULL) {                                                                    \
                    a00 = ov.lut[(uint8_t)a00];                                                          \
                    a01 = ov.lut[(uint8_t)a01];                                                          \
                    a10 = ov.lut[(uint8_t)a10];                                                          \
                    a11 = ov.lut[(uint8_t)a11];                                                          \
                }                                                                                        \
                o[0] = (uint8_t)a00;                                                                     \
                o[1] = (uint8_t)a01;                                                                     \
                o[out_stride] = (uint8_t)a10;                                                            \
                o[out_stride + 1] = (uint8_t)a11;                                                        \
            }                                                                                            \
            xr += 2 * x_stride;                                                                          \
            o += 2 * out_stride;                                                                         \
        }                                                                                                \
    }

#if MQ_DSP_ROWS_S8
MQ_DSP_ROWS(s8, "", "", "", "")
#endif
#if MQ_DSP_ROWS_U8
MQ_DSP_ROWS(u8, MQ_DSP_EOR("xa0"), MQ_DSP_EOR("xa1"), MQ_DSP_EOR("p0a"), MQ_DSP_EOR("p1a"))
#endif

#if MQ_DSP_BATCHED
/*
 * 2x2 pair loop in assembly (the common conv / batched FC case): all pairs of input rows against
 * rows h, h+1 of a group, whole 16-code chunks only (k % 16 == 0), both channels with E = -shift in
 * [1, 21]. Epilogues, chosen per job by the word at offset 72 (one load + CBNZ on the common path):
 *   0:        full clamp range, no LUT: lo + USAT8 (4 ADDs per 2x2 block);
 *   LUT addr: full clamp range + LUT: index (lo + USAT8) mod 256 by one UADD8 per output (lo8 = lo mod 256
 *             in byte 0, so the upper bytes stay 0), then one LDRB from the table: CMP + BEQ + 4 LDRB
 *             more than the common path per block (its store tail is repeated, no branch back);
 *   1:        a clamp narrower than the code range (with or without LUT), out of line.
 * Written as a naked function so that the
 * 4 accumulators, 3 pointers, 4 unpacked input halves, the weight word and the chunk count live in
 * r0-r12 and lr with nothing spilled, and the per-pair set-up and requantization need no compiler
 * glue (~60 instructions per 2x2 block besides the 83 per chunk).
 * Requantization as mq_dsp_rq2, with zl = out_zero_point - act_min folded into the rounding term:
 *   hi >> (E - 1) = floor((P + 2^30 + 2^(30+E) + zl * 2^(31+E) - [P < 0] * 2^31) / 2^(31+E)) = r + zl,
 * exact because zl is an integer; no overflow since |P| < 2^62 and |zl| * 2^(31+E) <= 383 * 2^52, so
 * the 64-bit sum stays below 2^63 and its high word below 2^31. Then lo + USAT8(r + zl) as before
 * (r + zl cannot leave int32 here, so the QADD is not needed).
 * Job layout (offsets used by the assembly, checked by the static assertions below).
 */
typedef struct {
    const int8_t *w;     /*  0: weights of row h (row h + 1 at +16), chunk stride 64 */
    int32_t x_stride;    /*  4 */
    int32_t chunks;      /*  8: k / 16 >= 1 */
    int32_t x_next;      /* 12: x_stride - k (end of the second row -> first row of the next pair) */
    int32_t out_stride;  /* 16 */
    int32_t lo8;         /* 20: act_min mod 256 (only the stored low byte of lo + USAT8 matters) */
    int32_t bias[2];     /* 24 */
    int32_t rq[2][4];    /* 32: per channel: round low word, round high word, multiplier, E - 1 */
    int32_t h;           /* 64: act_max - act_min */
    const uint8_t *lut;  /* 68: LUT epilogue or NULL */
    uintptr_t slow;      /* 72: epilogue: 0 (h == 255, no LUT), the LUT (h == 255), 1 (h < 255; or a LUT at 1) */
    const int32_t *w_end; /* 76: mq_dsp_pairsxw_2x2 only: end of the expanded weight lanes */
    uint32_t lo16;       /* 80: mq_dsp_pairsxw*_2x2 only: lo8 in bytes 0 and 1 */
    int32_t skip40;      /* 84: mq_dsp_pairsxw*_2x2 only: 40 x the loop steps the first pass skips (0..7) */
    int32_t mn;          /* 88: sign-correction multiplier: MQ_OS_SIGN_DOUBLE (INT32_MIN), or MQ_OS_SIGN_SINGLE (0)
                            for single rounding (rq round words then 2^(30+E) + zl * 2^(31+E): mq_dsp_px_rq) */
} mq_dsp_pair_job;

typedef char mq_dsp_pair_job_layout[(offsetof(mq_dsp_pair_job, lo8) == 20 && offsetof(mq_dsp_pair_job, bias) == 24 &&
                                     offsetof(mq_dsp_pair_job, rq) == 32 && offsetof(mq_dsp_pair_job, h) == 64 &&
                                     offsetof(mq_dsp_pair_job, slow) == 72 && offsetof(mq_dsp_pair_job, w_end) == 76 &&
                                     offsetof(mq_dsp_pair_job, lo16) == 80 && offsetof(mq_dsp_pair_job, skip40) == 84 &&
                                     offsetof(mq_dsp_pair_job, mn) == 88)
                                        ? 1
                                        : -1];

/* One 4-code step: r4/r5 input rows (post-incremented), r6 weights; r0/r2 += row h, r1/r3 += row h + 1. */
#define MQ_DSP_PSTEP(WOFF, WOFF16, EOR)                                                          \
    "ldr r7, [r4], #4\n\t"                                                                       \
    "ldr r9, [r5], #4\n\t" EOR "sxtb16 r8, r7, ror #8\n\t"                                       \
    "sxtb16 r7, r7\n\t"                                                                          \
    "sxtb16 r10, r9, ror #8\n\t"                                                                 \
    "sxtb16 r9, r9\n\t"                                                                          \
    "ldr r11, [r6, #" #WOFF "]\n\t"                                                              \
    "sxtb16 r12, r11, ror #8\n\t"                                                                \
    "sxtb16 r11, r11\n\t"                                                                        \
    "smlad r0, r11, r7, r0\n\t"                                                                  \
    "smlad r2, r11, r9, r2\n\t"                                                                  \
    "smlad r0, r12, r8, r0\n\t"                                                                  \
    "smlad r2, r12, r10, r2\n\t"                                                                 \
    "ldr r11, [r6, #" #WOFF16 "]\n\t"                                                            \
    "sxtb16 r12, r11, ror #8\n\t"                                                                \
    "sxtb16 r11, r11\n\t"                                                                        \
    "smlad r1, r11, r7, r1\n\t"                                                                  \
    "smlad r3, r11, r9, r3\n\t"                                                                  \
    "smlad r1, r12, r8, r1\n\t"                                                                  \
    "smlad r3, r12, r10, r3\n\t"

/* Requantize accumulators A (row 0) and B (row 1) of channel slot OFF (job offset of its rq). */
#define MQ_DSP_PRQ(A, B, OFF)                                                                    \
    "ldrd r4, r5, [r12, #" #OFF "]\n\t"                                                          \
    "ldrd r6, r7, [r12, #" #OFF "+8]\n\t"                                                        \
    "mov r8, r4\n\t"                                                                             \
    "mov r9, r5\n\t"                                                                             \
    "smlal r4, r5, " A ", r6\n\t"                                                                \
    "smlal r8, r9, " B ", r6\n\t"                                                                \
    "lsr r11, " A ", #31\n\t"                                                                    \
    "smlal r4, r5, r11, r10\n\t"                                                                 \
    "lsr r11, " B ", #31\n\t"                                                                    \
    "smlal r8, r9, r11, r10\n\t"                                                                 \
    "asr " A ", r5, r7\n\t"                                                                      \
    "asr " B ", r9, r7\n\t"

#define MQ_DSP_PMIN(R) "cmp " R ", r5\n\tit gt\n\tmovgt " R ", r5\n\t"
/* r4 = lo8, r5 = LUT: (lo + USAT8) mod 256 in byte 0 (upper bytes 0 + 0), then the table entry. */
#define MQ_DSP_PLUT8(R) "uadd8 " R ", " R ", r4\n\tldrb " R ", [r5, " R "]\n\t"

/* Store the 2x2 block (r0 r1 / r2 r3), next pair; returns after the last one. Used twice. */
#define MQ_DSP_PTAIL                                                                             \
    "ldr r5, [sp, #8]\n\t"                                                                       \
    "ldr r6, [r12, #16]\n\t"                                                                     \
    "strb r0, [r5]\n\t"                                                                          \
    "strb r1, [r5, #1]\n\t"                                                                      \
    "add r5, r5, r6\n\t"                                                                         \
    "strb r2, [r5]\n\t"                                                                          \
    "strb r3, [r5, #1]\n\t"                                                                      \
    "add r5, r5, r6\n\t"                                                                         \
    "str r5, [sp, #8]\n\t"                                                                       \
    "ldr r4, [sp, #12]\n\t"                                                                      \
    "subs r4, r4, #1\n\t"                                                                        \
    "str r4, [sp, #12]\n\t"                                                                      \
    "bne 1b\n\t"                                                                                 \
    "add sp, sp, #16\n\t"                                                                        \
    "pop {r4-r11, pc}\n\t"

/* (job, x: first input row, o: first output byte, pairs >= 1) */
#define MQ_DSP_PAIRS_FN(NAME, EOR)                                                               \
    __attribute__((naked, noinline)) static void NAME(                                           \
        const mq_dsp_pair_job *job __attribute__((unused)), const uint8_t *x __attribute__((unused)), \
        uint8_t *o __attribute__((unused)), int32_t pairs __attribute__((unused)))               \
    {                                                                                            \
        __asm__ volatile("push {r4-r11, lr}\n\t"                                                 \
                         "push {r0-r3}\n\t" /* sp: job, x, o, pairs */                           \
                         "1:\n\t"                                                                \
                         "ldr r12, [sp]\n\t"                                                     \
                         "ldr r4, [sp, #4]\n\t"                                                  \
                         "ldr r5, [r12, #4]\n\t"                                                 \
                         "add r5, r4, r5\n\t"                                                    \
                         "ldrd r0, r1, [r12, #24]\n\t"                                           \
                         "mov r2, r0\n\t"                                                        \
                         "mov r3, r1\n\t"                                                        \
                         "ldr r6, [r12]\n\t"                                                     \
                         "ldr lr, [r12, #8]\n\t"                                                 \
                         "2:\n\t" MQ_DSP_PSTEP(0, 16, EOR) MQ_DSP_PSTEP(4, 20, EOR)              \
                             MQ_DSP_PSTEP(8, 24, EOR) MQ_DSP_PSTEP(12, 28, EOR)                  \
                         "add r6, r6, #64\n\t"                                                   \
                         "subs lr, lr, #1\n\t"                                                   \
                         "bne 2b\n\t"                                                            \
                         "ldr r12, [sp]\n\t"                                                     \
                         "ldr r11, [r12, #12]\n\t"                                               \
                         "add r5, r5, r11\n\t"                                                   \
                         "str r5, [sp, #4]\n\t"                                                  \
                         "ldr r10, [r12, #88]\n\t" MQ_DSP_PRQ("r0", "r2", 32)                   \
                             MQ_DSP_PRQ("r1", "r3", 48)                                          \
                         "ldr r4, [r12, #20]\n\t"                                                \
                         "usat r0, #8, r0\n\t"                                                   \
                         "usat r1, #8, r1\n\t"                                                   \
                         "usat r2, #8, r2\n\t"                                                   \
                         "usat r3, #8, r3\n\t"                                                   \
                         "ldr r5, [r12, #72]\n\t"                                                \
                         "cbnz r5, 5f\n\t"                                                       \
                         "add r0, r0, r4\n\t"                                                    \
                         "add r1, r1, r4\n\t"                                                    \
                         "add r2, r2, r4\n\t"                                                    \
                         "add r3, r3, r4\n\t"                                                    \
                         "6:\n\t" MQ_DSP_PTAIL                                                  \
                         "5:\n\t"                                                                \
                         "cmp r5, #1\n\t"                                                        \
                         "beq 8f\n\t"                                                            \
                         "9:\n\t" /* LUT in r5, lo8 in r4 (full range, or clamped at 8 below) */    \
                         MQ_DSP_PLUT8("r0") MQ_DSP_PLUT8("r1") MQ_DSP_PLUT8("r2") MQ_DSP_PLUT8("r3")  \
                         MQ_DSP_PTAIL                                                            \
                         "8:\n\t" /* h < 255: clamp to h, then the LUT if any */                  \
                         "ldr r5, [r12, #64]\n\t" MQ_DSP_PMIN("r0") MQ_DSP_PMIN("r1")             \
                             MQ_DSP_PMIN("r2") MQ_DSP_PMIN("r3")                                 \
                         "ldr r5, [r12, #68]\n\t"                                                \
                         "cmp r5, #0\n\t"                                                        \
                         "bne 9b\n\t"                                                            \
                         "add r0, r0, r4\n\t"                                                    \
                         "add r1, r1, r4\n\t"                                                    \
                         "add r2, r2, r4\n\t"                                                    \
                         "add r3, r3, r4\n\t"                                                    \
                         "b 6b\n\t");                                                            \
    }

#if MQ_DSP_ROWS_S8
MQ_DSP_PAIRS_FN(mq_dsp_pairs_2x2_s8, "")
#endif
#if MQ_DSP_ROWS_U8
MQ_DSP_PAIRS_FN(mq_dsp_pairs_2x2_u8, "eor r7, r7, #0x80808080\n\teor r9, r9, #0x80808080\n\t")
#endif

/* One 4-code step on expanded lanes (r4: p0 (x2:x0), p0 (x3:x1), p1 (x2:x0), p1 (x3:x1), post-incremented), r6 weights. */
#define MQ_DSP_PXSTEP(WOFF, WOFF16)                                                              \
    "ldm r4!, {r7-r10}\n\t"                                                                     \
    "ldr r11, [r6, #" #WOFF "]\n\t"                                                              \
    "sxtb16 r12, r11, ror #8\n\t"                                                                \
    "sxtb16 r11, r11\n\t"                                                                        \
    "smlad r0, r11, r7, r0\n\t"                                                                  \
    "smlad r2, r11, r9, r2\n\t"                                                                  \
    "smlad r0, r12, r8, r0\n\t"                                                                  \
    "smlad r2, r12, r10, r2\n\t"                                                                 \
    "ldr r11, [r6, #" #WOFF16 "]\n\t"                                                            \
    "sxtb16 r12, r11, ror #8\n\t"                                                                \
    "sxtb16 r11, r11\n\t"                                                                        \
    "smlad r1, r11, r7, r1\n\t"                                                                  \
    "smlad r3, r11, r9, r3\n\t"                                                                  \
    "smlad r1, r12, r8, r1\n\t"                                                                  \
    "smlad r3, r12, r10, r3\n\t"

/* (job, xe: expanded lanes of the first pair, o: first output byte, pairs >= 1); job->x_stride, x_next unused */
#define MQ_DSP_PAIRSX_FN(NAME)                                                               \
    __attribute__((naked, noinline)) static void NAME(                                           \
        const mq_dsp_pair_job *job __attribute__((unused)), const int32_t *xe __attribute__((unused)), \
        uint8_t *o __attribute__((unused)), int32_t pairs __attribute__((unused)))               \
    {                                                                                            \
        __asm__ volatile("push {r4-r11, lr}\n\t"                                                 \
                         "push {r0-r3}\n\t" /* sp: job, xe, o, pairs */                           \
                         "1:\n\t"                                                                \
                         "ldr r12, [sp]\n\t"                                                     \
                         "ldr r4, [sp, #4]\n\t"                                                  \
                         "ldrd r0, r1, [r12, #24]\n\t"                                           \
                         "mov r2, r0\n\t"                                                        \
                         "mov r3, r1\n\t"                                                        \
                         "ldr r6, [r12]\n\t"                                                     \
                         "ldr lr, [r12, #8]\n\t"                                                 \
                         "2:\n\t" MQ_DSP_PXSTEP(0, 16) MQ_DSP_PXSTEP(4, 20)              \
                             MQ_DSP_PXSTEP(8, 24) MQ_DSP_PXSTEP(12, 28)                  \
                         "add r6, r6, #64\n\t"                                                   \
                         "subs lr, lr, #1\n\t"                                                   \
                         "bne 2b\n\t"                                                            \
                         "ldr r12, [sp]\n\t"                                                     \
                         "str r4, [sp, #4]\n\t"                                                  \
                         "ldr r10, [r12, #88]\n\t" MQ_DSP_PRQ("r0", "r2", 32)                   \
                             MQ_DSP_PRQ("r1", "r3", 48)                                          \
                         "ldr r4, [r12, #20]\n\t"                                                \
                         "usat r0, #8, r0\n\t"                                                   \
                         "usat r1, #8, r1\n\t"                                                   \
                         "usat r2, #8, r2\n\t"                                                   \
                         "usat r3, #8, r3\n\t"                                                   \
                         "ldr r5, [r12, #72]\n\t"                                                \
                         "cbnz r5, 5f\n\t"                                                       \
                         "add r0, r0, r4\n\t"                                                    \
                         "add r1, r1, r4\n\t"                                                    \
                         "add r2, r2, r4\n\t"                                                    \
                         "add r3, r3, r4\n\t"                                                    \
                         "6:\n\t" MQ_DSP_PTAIL                                                  \
                         "5:\n\t"                                                                \
                         "cmp r5, #1\n\t"                                                        \
                         "beq 8f\n\t"                                                            \
                         "9:\n\t" /* LUT in r5, lo8 in r4 (full range, or clamped at 8 below) */    \
                         MQ_DSP_PLUT8("r0") MQ_DSP_PLUT8("r1") MQ_DSP_PLUT8("r2") MQ_DSP_PLUT8("r3")  \
                         MQ_DSP_PTAIL                                                            \
                         "8:\n\t" /* h < 255: clamp to h, then the LUT if any */                  \
                         "ldr r5, [r12, #64]\n\t" MQ_DSP_PMIN("r0") MQ_DSP_PMIN("r1")             \
                             MQ_DSP_PMIN("r2") MQ_DSP_PMIN("r3")                                 \
                         "ldr r5, [r12, #68]\n\t"                                                \
                         "cmp r5, #0\n\t"                                                        \
                         "bne 9b\n\t"                                                            \
                         "add r0, r0, r4\n\t"                                                    \
                         "add r1, r1, r4\n\t"                                                    \
                         "add r2, r2, r4\n\t"                                                    \
                         "add r3, r3, r4\n\t"                                                    \
                         "b 6b\n\t");                                                            \
    }

MQ_DSP_PAIRSX_FN(mq_dsp_pairsx_2x2)

/*
 * Weight lanes of rows h, h + 1 of a group (w: row h, row h + 1 at +16, chunk stride 64), expanded once per block
 * of pairs for mq_dsp_pairsxw_2x2: per 4 codes the words [B (w3:w1), A (w2:w0), A (w3:w1), B (w2:w0)]
 * (A = row h, B = row h + 1; this order lets one LDM + 4 SXTB16 + one STM make them). dst: 16 words per chunk.
 */
__attribute__((naked, noinline)) static void mq_dsp_wexp2(const int8_t *w __attribute__((unused)),
                                                         int32_t *dst __attribute__((unused)),
                                                         int32_t chunks __attribute__((unused)))
{
#define MQ_DSP_WX(A, B) "sxtb16 r11, " A "\n\tsxtb16 r12, " A ", ror #8\n\tsxtb16 lr, " B "\n\tsxtb16 " B ", " B ", ror #8\n\tstm r1!, {" B ", r11, r12, lr}\n\t"
    __asm__ volatile("push {r4-r11, lr}\n\t"
                     "1:\n\t"
                     "ldm r0, {r3-r10}\n\t"
                     "add r0, r0, #64\n\t" MQ_DSP_WX("r3", "r7") MQ_DSP_WX("r4", "r8") MQ_DSP_WX("r5", "r9")
                         MQ_DSP_WX("r6", "r10")
                     "subs r2, r2, #1\n\t"
                     "bne 1b\n\t"
                     "pop {r4-r11, pc}\n\t");
#undef MQ_DSP_WX
}

/* One 4-code step on expanded lanes: r4 inputs (as MQ_DSP_PXSTEP), r6 expanded weights (mq_dsp_wexp2's order). */
#define MQ_DSP_PXWSTEP                                                                           \
    "ldm r4!, {r7-r10}\n\t"                                                                     \
    "ldm r6!, {r5, r11, r12, lr}\n\t"                                                           \
    "smlad r1, r5, r8, r1\n\t"                                                                   \
    "smlad r3, r5, r10, r3\n\t"                                                                  \
    "smlad r0, r11, r7, r0\n\t"                                                                  \
    "smlad r2, r11, r9, r2\n\t"                                                                  \
    "smlad r0, r12, r8, r0\n\t"                                                                  \
    "smlad r2, r12, r10, r2\n\t"                                                                 \
    "smlad r1, lr, r7, r1\n\t"                                                                   \
    "smlad r3, lr, r9, r3\n\t"

/* Requantize accumulators A (row 0) and B (row 1) of channel slot OFF as MQ_DSP_PRQ, in r5-r9, r11 with
 * lr = job->mn (INT32_MIN, or 0 for single rounding), so that r4 (the input lane pointer) and r12 (the job) survive the epilogue. */
#define MQ_DSP_PRQW(A, B, OFF)                                                                   \
    "ldrd r5, r6, [r12, #" #OFF "]\n\t"                                                          \
    "ldrd r7, r11, [r12, #" #OFF "+8]\n\t"                                                       \
    "mov r8, r5\n\t"                                                                             \
    "mov r9, r6\n\t"                                                                             \
    "smlal r5, r6, " A ", r7\n\t"                                                                \
    "smlal r8, r9, " B ", r7\n\t"                                                                \
    "lsr r7, " A ", #31\n\t"                                                                     \
    "smlal r5, r6, r7, lr\n\t"                                                                   \
    "lsr r7, " B ", #31\n\t"                                                                     \
    "smlal r8, r9, r7, lr\n\t"                                                                   \
    "asr " A ", r6, r11\n\t"                                                                     \
    "asr " B ", r9, r11\n\t"

/* MQ_DSP_PRQW without the sign correction, for layers with zl = out_zero_point - act_min <= 0 (ReLU-like clamps)
 * or single rounding (job->mn = 0: the correction adds nothing). For A >= 0 the correction is 0; for A < 0 (M >= 0:
 * mq_multiplier_ok) the product is <= 0, so with E >= 1 (the pair path's range) both the exact high word and the one
 * without the correction give r <= floor((2^30 + 2^(30+E)) / 2^(31+E)) = 0, r + zl <= 0, and USAT #8 gives 0 for
 * both: the same codes, 4 instructions fewer per 2 channels x 2 rows (and no LDR of job->mn). */
#define MQ_DSP_PRQWZ(A, B, OFF)                                                                  \
    "ldrd r5, r6, [r12, #" #OFF "]\n\t"                                                          \
    "ldrd r7, r11, [r12, #" #OFF "+8]\n\t"                                                       \
    "mov r8, r5\n\t"                                                                             \
    "mov r9, r6\n\t"                                                                             \
    "smlal r5, r6, " A ", r7\n\t"                                                                \
    "smlal r8, r9, " B ", r7\n\t"                                                                \
    "asr " A ", r6, r11\n\t"                                                                     \
    "asr " B ", r9, r11\n\t"

/* The two output stages of mq_dsp_pairsxw*_2x2: with the sign correction (lr = job->mn) or without (Z). */
#define MQ_DSP_PXW_RQ "ldr lr, [r12, #88]\n\t" MQ_DSP_PRQW("r0", "r2", 32) MQ_DSP_PRQW("r1", "r3", 48)
#define MQ_DSP_PXW_RQZ MQ_DSP_PRQWZ("r0", "r2", 32) MQ_DSP_PRQWZ("r1", "r3", 48)

/* The epilogue's packing of mq_dsp_pairsxw*_2x2: the slow word (job offset 72) sends the block to the clamp / LUT
 * code at 5:, else (h == 255, no LUT) each row's two codes in one halfword, + lo8 in both bytes (UADD8 of
 * job->lo16). PACK0 for a call whose slow word is 0 and lo8 = 0 (act_min = 0 for UINT8: ReLU): no test, no UADD8
 * (it would add nothing), and no clamp / LUT code (SLOW ""). PACKS, with SSAT #8 in place of USAT #8, for a clamp
 * that is SSAT's own range [-128, 127] (INT8, act_max - act_min = 255 from act_min = -128, no LUT; the rq words then
 * fold the zero point itself in, not zl = zp - act_min: r + zp, mq_dsp_pairs_blocked): the codes are sign-extended,
 * so each row's second code is inserted by BFI (ORR would let the first one's sign bits through); no test, no
 * UADD8 of 0x80 in each byte, no clamp / LUT code. */
#define MQ_DSP_PXW_PACK                                                                          \
    "ldr r5, [r12, #72]\n\t"                                                                     \
    "cbnz r5, 5f\n\t"                                                                            \
    "ldr r5, [r12, #80]\n\t"                                                                     \
    "orr r0, r0, r1, lsl #8\n\t"                                                                 \
    "orr r2, r2, r3, lsl #8\n\t"                                                                 \
    "uadd8 r0, r0, r5\n\t"                                                                       \
    "uadd8 r2, r2, r5\n\t"
#define MQ_DSP_PXW_PACK0 "orr r0, r0, r1, lsl #8\n\torr r2, r2, r3, lsl #8\n\t"
#define MQ_DSP_PXW_PACKS "bfi r0, r1, #8, #8\n\tbfi r2, r3, #8, #8\n\t"

/* r7 = lo8, r5 = LUT: as MQ_DSP_PLUT8. */
#define MQ_DSP_PLUT8W(R) "uadd8 " R ", " R ", r7\n\tldrb " R ", [r5, " R "]\n\t"

/* The clamp / LUT code of mq_dsp_pairsxw*_2x2 (entered by MQ_DSP_PXW_PACK at 5:; "" for PACK0 / PACKS, which never
 * branch there). */
#define MQ_DSP_PXW_SLOW                                                                                               \
    "5:\n\t"                                                                                                          \
    "ldr r7, [r12, #20]\n\t"                                                                                          \
    "cmp r5, #1\n\t"                                                                                                  \
    "beq 8f\n\t"                                                                                                      \
    "9:\n\t" /* LUT in r5, lo8 in r7 (full range, or clamped at 8 below) */                                           \
    MQ_DSP_PLUT8W("r0") MQ_DSP_PLUT8W("r1") MQ_DSP_PLUT8W("r2") MQ_DSP_PLUT8W("r3")                                   \
    "bfi r0, r1, #8, #8\n\t"                                                                                          \
    "bfi r2, r3, #8, #8\n\t"                                                                                          \
    "b 6b\n\t"                                                                                                        \
    "8:\n\t" /* h < 255: clamp to h, then the LUT if any */                                                           \
    "ldr r5, [r12, #64]\n\t" MQ_DSP_PMIN("r0") MQ_DSP_PMIN("r1") MQ_DSP_PMIN("r2")                                    \
    MQ_DSP_PMIN("r3")                                                                                                 \
    "ldr r5, [r12, #68]\n\t"                                                                                          \
    "cmp r5, #0\n\t"                                                                                                  \
    "bne 9b\n\t"                                                                                                      \
    "add r0, r0, r7\n\t"                                                                                              \
    "add r1, r1, r7\n\t"                                                                                              \
    "add r2, r2, r7\n\t"                                                                                              \
    "add r3, r3, r7\n\t"                                                                                              \
    "bfi r0, r1, #8, #8\n\t"                                                                                          \
    "bfi r2, r3, #8, #8\n\t"                                                                                          \
    "b 6b\n\t"

/*
 * As mq_dsp_pairsx_2x2 with job->w the expanded weight lanes (mq_dsp_wexp2) and job->w_end their end: per 4 codes
 * 2 LDM + 8 SMLAD (10 instructions / 16 MACs instead of 15). Per 2x2 block besides the MACs about 50
 * instructions: the input lane pointer (r4) and the job (r12) stay in registers through the requantization, the
 * weight end and the output end are frame words (loop tests LDR + CMP + BNE), and each output row's two codes
 * are one STRH (common epilogue: ORR + UADD8 of lo8 in both bytes per row; the slow ones insert by BFI).
 * The loop body is 8 steps (32 codes). ENTER: "" (k % 32 == 0: whole bodies) or MQ_DSP_PXW_ENTER (k % 4 == 0: each
 * block enters the body at its step (8 - k / 4 % 8) % 8, job->skip40 = 40 bytes per skipped step, so k / 4 steps
 * in all).
 * Frame: sp + 0 job, 4 loop entry address (Thumb bit set), 8 o (advancing), 12 o + pairs * 2 * out_stride, 16 w_end.
 */
#define MQ_DSP_PXW_ENTER "ldr r5, [sp, #4]\n\tbx r5\n\t"
#define MQ_DSP_PAIRSXW_FN(NAME, ENTER, RQ, SAT, PACK, SLOW)                                                   \
    __attribute__((naked, noinline)) static void NAME(const mq_dsp_pair_job *job __attribute__((unused)),    \
                                                      const int32_t *xe __attribute__((unused)),             \
                                                      uint8_t *o __attribute__((unused)),                    \
                                                      int32_t pairs __attribute__((unused)))                 \
    {                                                                                                         \
        __asm__ volatile("push {r4-r11, lr}\n\t"                                                              \
                         "ldr r5, [r0, #16]\n\t"                                                              \
                         "mul r3, r3, r5\n\t"                                                                 \
                         "add r3, r2, r3, lsl #1\n\t"                                                         \
                         "mov r4, r1\n\t"                                                                     \
                         "adr.w r1, 2f\n\t"                                                                   \
                         "ldr r5, [r0, #84]\n\t"                                                              \
                         "add r1, r1, r5\n\t"                                                                 \
                         "orr r1, r1, #1\n\t"                                                                 \
                         "ldr r5, [r0, #76]\n\t"                                                              \
                         "push {r0-r3, r5}\n\t"                                                               \
                         "mov r12, r0\n\t"                                                                    \
                         "1:\n\t"                                                                             \
                         "ldrd r0, r1, [r12, #24]\n\t"                                                        \
                         "mov r2, r0\n\t"                                                                     \
                         "mov r3, r1\n\t"                                                                     \
                         "ldr r6, [r12]\n\t" ENTER                                                            \
                         "2:\n\t" MQ_DSP_PXWSTEP "3:\n\t" MQ_DSP_PXWSTEP MQ_DSP_PXWSTEP MQ_DSP_PXWSTEP        \
                             MQ_DSP_PXWSTEP MQ_DSP_PXWSTEP MQ_DSP_PXWSTEP MQ_DSP_PXWSTEP                      \
                         ".ifne (3b - 2b) - 40\n\t"                                                           \
                         ".error \"mq_dsp_pairsxw: a step is not 40 bytes\"\n\t"                              \
                         ".endif\n\t"                                                                         \
                         "ldr r5, [sp, #16]\n\t"                                                              \
                         "cmp r6, r5\n\t"                                                                     \
                         "bne 2b\n\t"                                                                         \
                         "ldr r12, [sp]\n\t"                                                                  \
                         RQ                                                                                   \
                         SAT " r0, #8, r0\n\t"                                                                \
                         SAT " r1, #8, r1\n\t"                                                                \
                         SAT " r2, #8, r2\n\t"                                                                \
                         SAT " r3, #8, r3\n\t"                                                                \
                         PACK                                                                                 \
                         "6:\n\t"                                                                             \
                         "ldr r5, [sp, #8]\n\t"                                                               \
                         "ldr r6, [r12, #16]\n\t"                                                             \
                         "strh r0, [r5]\n\t"                                                                  \
                         "strh r2, [r5, r6]\n\t"                                                              \
                         "add r5, r5, r6, lsl #1\n\t"                                                         \
                         "str r5, [sp, #8]\n\t"                                                               \
                         "ldr r6, [sp, #12]\n\t"                                                              \
                         "cmp r5, r6\n\t"                                                                     \
                         "bne 1b\n\t"                                                                         \
                         "add sp, sp, #20\n\t"                                                                \
                         "pop {r4-r11, pc}\n\t"                                                               \
                         SLOW);                                                                               \
    }

MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxw_2x2, "", MQ_DSP_PXW_RQ, "usat", MQ_DSP_PXW_PACK, MQ_DSP_PXW_SLOW)
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxw4_2x2, MQ_DSP_PXW_ENTER, MQ_DSP_PXW_RQ, "usat", MQ_DSP_PXW_PACK, MQ_DSP_PXW_SLOW)
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxwz_2x2, "", MQ_DSP_PXW_RQZ, "usat", MQ_DSP_PXW_PACK, MQ_DSP_PXW_SLOW)
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxw4z_2x2, MQ_DSP_PXW_ENTER, MQ_DSP_PXW_RQZ, "usat", MQ_DSP_PXW_PACK, MQ_DSP_PXW_SLOW)
/* the whole-type clamps: UINT8 ReLU (zero point and act_min 0) in builds with UINT8 GEMMs, INT8 ReLU (zero point and
 * act_min -128) in builds with INT8 GEMMs (mq_kernel_select.h; a call of the other kind takes variant 1, same codes) */
#if MQ_GEMM_UINT8_ENABLED
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxwz0_2x2, "", MQ_DSP_PXW_RQZ, "usat", MQ_DSP_PXW_PACK0, "")
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxw4z0_2x2, MQ_DSP_PXW_ENTER, MQ_DSP_PXW_RQZ, "usat", MQ_DSP_PXW_PACK0, "")
#else
#define mq_dsp_pairsxwz0_2x2 mq_dsp_pairsxwz_2x2
#define mq_dsp_pairsxw4z0_2x2 mq_dsp_pairsxw4z_2x2
#endif
#if MQ_GEMM_INT8_ENABLED
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxwzs_2x2, "", MQ_DSP_PXW_RQZ, "ssat", MQ_DSP_PXW_PACKS, "")
MQ_DSP_PAIRSXW_FN(mq_dsp_pairsxw4zs_2x2, MQ_DSP_PXW_ENTER, MQ_DSP_PXW_RQZ, "ssat", MQ_DSP_PXW_PACKS, "")
#define MQ_DSP_PXW_ZS 1
#else
#define mq_dsp_pairsxwzs_2x2 mq_dsp_pairsxwz_2x2
#define mq_dsp_pairsxw4zs_2x2 mq_dsp_pairsxw4z_2x2
#define MQ_DSP_PXW_ZS 0
#endif

/* The variants: [k % 32 != 0: entered mid-body][0: the sign correction, 1: without (zl <= 0 or single rounding),
 * 2: without, lo8 = 0 and the slow word 0 (h == 255, no LUT), 3: without, SSAT (act_min = -128, h == 255, no LUT;
 * the rq words fold in the zero point, not zl)]. */
typedef void (*mq_dsp_pxw_fn)(const mq_dsp_pair_job *, const int32_t *, uint8_t *, int32_t);
static const mq_dsp_pxw_fn mq_dsp_pxw_fns[2][4] = {
    {mq_dsp_pairsxw_2x2, mq_dsp_pairsxwz_2x2, mq_dsp_pairsxwz0_2x2, mq_dsp_pairsxwzs_2x2},
    {mq_dsp_pairsxw4_2x2, mq_dsp_pairsxw4z_2x2, mq_dsp_pairsxw4z0_2x2, mq_dsp_pairsxw4zs_2x2}};

/* Fills job for rows c, c + 1 (rq of both already initialized); 0 if the asm loop cannot take them.
 * slow: the epilogue word (job offset 72), computed once per call by the caller. */
static int mq_dsp_pair_job_init(mq_dsp_pair_job *j, const int8_t *wh, const mq_dsp_rq q[2], const int32_t bias[2],
                                int32_t k, const mq_dsp_out *os, uintptr_t slow, int32_t x_stride, int32_t out_stride,
                                int32_t mn)
{
    int32_t r;
    if ((k & 15) != 0) {
        return 0;
    }
    for (r = 0; r < 2; r++) {
        const int32_t e = q[r].right + 1;
        int64_t round;
        if (e > 21) {
            return 0;
        }
        round = q[r].round + (int64_t)os->zl * ((int64_t)1 << (31 + e));
        j->rq[r][0] = (int32_t)(uint32_t)(uint64_t)round;
        j->rq[r][1] = (int32_t)(round >> 32);
        j->rq[r][2] = q[r].m;
        j->rq[r][3] = q[r].right;
        j->bias[r] = bias[r];
    }
    j->w = wh;
    j->mn = mn; /* q's round is single rounding's 2^(30+E) when mn = MQ_OS_SIGN_SINGLE (mq_dsp_rq_init) */
    j->x_stride = x_stride;
    j->chunks = k >> 4;
    j->x_next = x_stride - k;
    j->out_stride = out_stride;
    j->lo8 = (int32_t)(uint8_t)os->lo;
    j->h = os->h;
    j->lut = os->lut;
    j->slow = slow;
    return 1;
}
#endif

/*
 * Batch 1 (m == 1, the FC layers of an MLP): "GEMV", one naked assembly loop over all whole groups of 4 rows.
 * The input row is expanded ONCE per call into q15 lane pairs (per 4 codes the words SXTB16(x) = (x2:x0) and
 * SXTB16(x ror 8) = (x3:x1), UINT8 inputs made signed by the EOR 0x80808080 there, zero-padded to whole 16-code
 * chunks) on the loop's own stack frame, at its stack pointer and in DESCENDING chunk order (mq_dsp_gemv_expand),
 * so the inner loop walks them down with LDMDB and ends when its lane pointer reaches sp (no end register).
 * That frees a fourth weight register: per 16 codes x 4 rows (64 MACs) 2 LDMDB (16 input lanes), the 16 weight
 * words in bursts of 3, 3, 2 per 8 codes (LDR + LDRD, LDR + LDRD, LDRD: 11 cycles instead of 4 LDRD = 12 at the
 * M4's timings, a load followed by a load pipelined), 32 SXTB16, 32 SMLAD; two such chunks per pass (an odd chunk
 * count enters the second, job.odd) and one CMP + BNE: 196 cycles per 128 MACs instead of 2 x 102.
 * Output stage per channel from the layer's multiplier / shift arrays, streamed (post-indexed loads; per-tensor:
 * the multiplier, E and round once per group, 8 instructions per channel): the mq_os_requant_neg form (round = 2^30 * (2^E + 1) (double rounding) or 2^30 * 2^E
 * (single) as one UMULL of 2^E | (mn >> 31) by 2^30, E - 1 = ~shift, one SMLAL + the sign-correction SMLAL, ASR),
 * QADD zl, USAT8 (14 instructions with the shift test), then the 4 codes of a group packed into one word:
 * min(., h) bytewise (USUB8 + SEL), + act_min bytewise (UADD8), one STR. The loop state lives in the frame above the
 * lanes (sp-relative, no job pointer). A fused LUT is applied afterwards over the stored codes, in place
 * (the callers: a byte loop in mq_dsp_gemv, mq_lut_u8_dsp for the prepared rows).
 * Taken when weights are word-aligned and k <= MQ_DSP_GEMV_MAX_K (the stack buffer: 2 bytes per code); the shifts
 * are tested in the loop (a shift >= 0: it stops before that group and returns the groups left, which the caller's
 * paths compute, as a last group of n % 4 rows).
 */
#define MQ_DSP_GEMV_XB_BYTES 1536                     /* the lane area; the loop state follows at sp + this */
#define MQ_DSP_GEMV_MAX_K (MQ_DSP_GEMV_XB_BYTES / 2)  /* 2 bytes of lanes per code */
#define MQ_DSP_GEMV_XB MQ_DSP_STR(MQ_DSP_GEMV_XB_BYTES) /* (for the asm operands) */

typedef struct mq_dsp_gemv_job mq_dsp_gemv_job;
struct mq_dsp_gemv_job {
    const uint8_t *x;                                       /*  0: input row */
    int32_t k;                                              /*  4 */
    uint32_t flip;                                          /*  8: 0x80808080 for UINT8 inputs, else 0 */
    void (*expand)(int32_t *xe, const mq_dsp_gemv_job *j);  /* 12: fills the lanes (mq_dsp_gemv_expand) */
    /* 16..59: copied to the frame's state (sp + XB + 0..43) */
    int32_t mn;             /* 16 (+0): sign-correction multiplier: INT32_MIN (double rounding) or 0 (single) */
    int32_t zl;             /* 20 (+4): out_zero_point - act_min */
    const int32_t *mult;    /* 24 (+8): advances per channel (per-tensor: stays) */
    const int32_t *shift;   /* 28 (+12): same */
    uint32_t h4;            /* 32 (+16): (act_max - act_min) in each byte */
    uint32_t lo4;           /* 36 (+20): act_min mod 256 in each byte */
    uint8_t *out;           /* 40 (+24): advances by 4 per group */
    int32_t groups;         /* 44 (+28): whole groups left (>= 1) */
    int32_t odd;            /* 48 (+32): the chunk count is odd (the loop, 2 chunks per pass, entered mid-body) */
    const int32_t *bias;    /* 52 (+36): advances by 4 channels per group */
    int32_t xe_bytes;       /* 56 (+40): 2 * k rounded up to 16 (in the frame: the lanes' top address) */
    const int8_t *w;        /* 60 */
};

typedef char mq_dsp_gemv_job_layout[(offsetof(mq_dsp_gemv_job, expand) == 12 && offsetof(mq_dsp_gemv_job, mn) == 16 &&
                                     offsetof(mq_dsp_gemv_job, xe_bytes) == 56 && offsetof(mq_dsp_gemv_job, w) == 60)
                                        ? 1
                                        : -1];

static inline int32_t mq_dsp_sxtb16_ror8(uint32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* Lanes of j's input at xe in the loop's order: the 4-code quad q (codes 4q..4q+3) of half-chunk q >> 1 (8 codes)
 * at word xe_bytes / 4 - 4 * ((q >> 1) + 1) + 2 * (q & 1) (x2:x0), + 1 (x3:x1): the half-chunks from the top down,
 * each half's 4 words ascending (what LDMDB loads into r4-r7). */
__attribute__((noinline, used)) static void mq_dsp_gemv_expand(int32_t *xe, const mq_dsp_gemv_job *j)
{
    const uint8_t *x = j->x;
    const int32_t k = j->k;
    const uint32_t flip = j->flip;
    int32_t *d = xe + (j->xe_bytes >> 2);
    const int32_t end = j->xe_bytes >> 1;   /* codes, k rounded up to 16 */
    uint8_t t[8];
    int32_t i;

    for (i = 0; i < end; i += 8) {   /* per half (8 codes): one block of 4 words, from the top down */
        const uint8_t *s = x + i;
        uint32_t v0, v1;
        if (i + 8 > k) {
            /* the last part-filled half and the zero halves up to the chunk end: the codes past k are flip, lanes 0
             * after the EOR */
            int32_t b;
            for (b = 0; b < 8; b++) {
                t[b] = i + b < k ? x[i + b] : (uint8_t)flip;
            }
            s = t;
        }
        memcpy(&v0, s, sizeof(v0));
        memcpy(&v1, s + 4, sizeof(v1));
        v0 ^= flip;
        v1 ^= flip;
        d -= 4;
        d[0] = __sxtb16((int32_t)v0);
        d[1] = mq_dsp_sxtb16_ror8(v0);
        d[2] = __sxtb16((int32_t)v1);
        d[3] = mq_dsp_sxtb16_ror8(v1);
    }
}

/* Row word of accumulator A: weight word W, temporary T, input lanes L0 (even codes), L1 (odd codes). */
#define MQ_DSP_GW(A, W, T, L0, L1)                                                               \
    "sxtb16 " T ", " W ", ror #8\n\t"                                                            \
    "sxtb16 " W ", " W "\n\t"                                                                    \
    "smlad " A ", " W ", " L0 ", " A "\n\t"                                                      \
    "smlad " A ", " T ", " L1 ", " A "\n\t"

/* 8 codes x 4 rows (half H = 0 / 8 of the chunk at r12, 64 bytes: row r's 16 codes at 16 r): lanes r4-r7
 * (LDMDB from r11), weights in bursts of 3, 3, 2 into r8, r9, r10, lr. Half 0 advances r12 by 64 (the LDRD's
 * post-index); half 1 addresses relative to that. OFF(x) = the byte offset of chunk byte x from r12 at the load. */
#define MQ_DSP_GHALF(B0, A01, B1, C01, D01)                                                \
    "ldmdb r11!, {r4-r7}\n\t"                                                                    \
    "ldr r10, [r12, #" B0 "]\n\t"                                                                \
    "ldrd r8, r9, [r12" A01 "\n\t"                                                               \
    MQ_DSP_GW("r0", "r8", "lr", "r4", "r5")                                                      \
    MQ_DSP_GW("r0", "r9", "r8", "r6", "r7")                                                      \
    MQ_DSP_GW("r1", "r10", "r8", "r4", "r5")                                                     \
    "ldr r8, [r12, #" B1 "]\n\t"                                                                 \
    "ldrd r9, r10, [r12, #" C01 "]\n\t"                                                          \
    MQ_DSP_GW("r1", "r8", "lr", "r6", "r7")                                                      \
    MQ_DSP_GW("r2", "r9", "r8", "r4", "r5")                                                      \
    MQ_DSP_GW("r2", "r10", "r8", "r6", "r7")                                                     \
    "ldrd r8, r9, [r12, #" D01 "]\n\t"                                                           \
    MQ_DSP_GW("r3", "r8", "lr", "r4", "r5")                                                      \
    MQ_DSP_GW("r3", "r9", "r8", "r6", "r7")

/* Channel of accumulator A: r11 multipliers, lr shifts (post-indexed by QS), r9 = mn (INT32_MIN: double rounding,
 * 0: single rounding), r10 = zl, r8 = 2^30. A shift >= 0 (~shift < 0) leaves through 8f. */
#define MQ_DSP_GCH(A, QS)                                                                        \
    "ldr r4, [r11]" QS "\n\t"                                                                    \
    "ldr r5, [lr]" QS "\n\t"                                                                     \
    "mvns r5, r5\n\t"                 /* E - 1 */                                                \
    "bmi 8f\n\t"                                                                                 \
    "movs r6, #2\n\t"                /* (the flag-setting 16-bit forms: no flag is live here) */ \
    "lsls r6, r6, r5\n\t"             /* 2^E */                                                  \
    "orr r6, r6, r9, lsr #31\n\t"     /* 2^E + 1 (double rounding) */                            \
    "umull r7, r6, r6, r8\n\t"        /* round = that x 2^30 */                                  \
    "smlal r7, r6, " A ", r4\n\t"                                                                \
    "lsrs r4, " A ", #31\n\t"                                                                    \
    "smlal r7, r6, r4, r9\n\t"                                                                   \
    "asrs r6, r6, r5\n\t"                                                                        \
    "qadd r6, r6, r10\n\t"                                                                       \
    "usat " A ", #8, r6\n\t"

/* Returns the groups left undone (0: all; else the first of them has a shift >= 0). */
#define MQ_DSP_GEMV_FN(NAME, OSTAGE)                                                               \
    __attribute__((naked, noinline)) static int32_t NAME(const mq_dsp_gemv_job *job __attribute__((unused))) \
    {                                                                                            \
        __asm__ volatile("push {r4-r11, lr}\n\t"                                                 \
                         "sub sp, sp, #" MQ_DSP_GEMV_XB " + 52\n\t"                              \
                         "mov r4, r0\n\t"                                                        \
                         "mov r1, r0\n\t"                                                        \
                         "mov r0, sp\n\t"                                                        \
                         "ldr r3, [r4, #12]\n\t"                                                 \
                         "blx r3\n\t"                                                            \
                         "add r0, r4, #16\n\t"                                                   \
                         "ldm r0, {r1-r3, r5-r12}\n\t"                                           \
                         "add r12, r12, sp\n\t"                                                  \
                         "add r0, sp, #" MQ_DSP_GEMV_XB "\n\t"                                   \
                         "stm r0, {r1-r3, r5-r12}\n\t"                                           \
                         "ldr r12, [r4, #60]\n\t"                                                \
                         "1:\n\t"                                                                \
                         "add r10, sp, #" MQ_DSP_GEMV_XB " + 32\n\t"                             \
                         "ldm r10, {r9-r11}\n\t"                                                 \
                         "ldm r10!, {r0-r3}\n\t"                                                 \
                         "str r10, [sp, #" MQ_DSP_GEMV_XB " + 36]\n\t"                           \
                         "cmp r9, #0\n\t"                                                        \
                         "bne 3f\n\t"                                                            \
                         "2:\n\t"                                                                \
                         MQ_DSP_GHALF("16", "], #64", "-44", "-32", "-16")                   \
                         MQ_DSP_GHALF("-40", ", #-56]", "-36", "-24", "-8")                  \
                         "3:\n\t"                                                                \
                         MQ_DSP_GHALF("16", "], #64", "-44", "-32", "-16")                   \
                         MQ_DSP_GHALF("-40", ", #-56]", "-36", "-24", "-8")                  \
                         "cmp sp, r11\n\t"                                                       \
                         "bne 2b\n\t"                                                            \
                         "add r4, sp, #" MQ_DSP_GEMV_XB "\n\t"                                   \
                         "ldrd r9, r10, [r4]\n\t"                                                \
                         "ldrd r11, lr, [r4, #8]\n\t"                                            \
                         OSTAGE                                                                  \
                         "orr r0, r0, r1, lsl #8\n\t"                                            \
                         "orr r0, r0, r2, lsl #16\n\t"                                           \
                         "orr r0, r0, r3, lsl #24\n\t"                                           \
                         "ldrd r5, r6, [r4, #16]\n\t"                                            \
                         "usub8 r7, r0, r5\n\t"                                                  \
                         "sel r0, r5, r0\n\t"                                                    \
                         "uadd8 r0, r0, r6\n\t"                                                  \
                         "ldrd r6, r7, [r4, #24]\n\t"                                            \
                         "str r0, [r6], #4\n\t"                                                  \
                         "subs r7, r7, #1\n\t"                                                   \
                         "strd r6, r7, [r4, #24]\n\t"                                            \
                         "bne 1b\n\t"                                                            \
                         "movs r0, #0\n\t"                                                       \
                         "9:\n\t"                                                                \
                         "add sp, sp, #" MQ_DSP_GEMV_XB " + 52\n\t"                              \
                         "pop {r4-r11, pc}\n\t"                                                  \
                         "8:\n\t"                                                                \
                         "ldr r0, [sp, #" MQ_DSP_GEMV_XB " + 28]\n\t"                            \
                         "b 9b\n\t");                                                            \
    }

/* The output stage of a group, r9 = mn, r10 = zl, r11 / lr = the multiplier / shift pointers (r4 = the state after
 * it). Per-channel: MQ_DSP_GCH per channel (r8 = 2^30), the pointers stored back. */
#define MQ_DSP_GOS_PC                                                                            \
    "mov r8, #0x40000000\n\t"                                                                    \
    MQ_DSP_GCH("r0", ", #4") MQ_DSP_GCH("r1", ", #4") MQ_DSP_GCH("r2", ", #4") MQ_DSP_GCH("r3", ", #4") \
    "add r4, sp, #" MQ_DSP_GEMV_XB "\n\t"                                                        \
    "strd r11, lr, [r4, #8]\n\t"

/* Per-tensor channel of accumulator A: the round in r8 (low) / r5 (high), r11 = multiplier, lr = E - 1. */
#define MQ_DSP_GCH_PT(A)                                                                         \
    "mov r7, r8\n\t"                                                                             \
    "mov r6, r5\n\t"                                                                             \
    "smlal r7, r6, " A ", r11\n\t"                                                               \
    "lsrs r4, " A ", #31\n\t"                                                                    \
    "smlal r7, r6, r4, r9\n\t"                                                                   \
    "asr r6, r6, lr\n\t"                                                                         \
    "qadd r6, r6, r10\n\t"                                                                       \
    "usat " A ", #8, r6\n\t"

/* Per-tensor: the one multiplier / shift and the round (as MQ_DSP_GCH computes it) once per group; the caller has
 * checked the shift (<= -1). */
#define MQ_DSP_GOS_PT                                                                            \
    "ldr r11, [r11]\n\t"                                                                         \
    "ldr lr, [lr]\n\t"                                                                           \
    "mvn lr, lr\n\t"                 /* E - 1 */                                                 \
    "movs r5, #2\n\t"                                                                            \
    "lsl r5, r5, lr\n\t"                                                                         \
    "orr r5, r5, r9, lsr #31\n\t"                                                                \
    "mov r8, #0x40000000\n\t"                                                                    \
    "umull r8, r5, r5, r8\n\t"                                                                   \
    MQ_DSP_GCH_PT("r0") MQ_DSP_GCH_PT("r1") MQ_DSP_GCH_PT("r2") MQ_DSP_GCH_PT("r3")              \
    "add r4, sp, #" MQ_DSP_GEMV_XB "\n\t"

#if MQ_GEMM_PER_CHANNEL_ENABLED
MQ_DSP_GEMV_FN(mq_dsp_gemv_pc, MQ_DSP_GOS_PC)
#endif
#if MQ_GEMM_PER_TENSOR_ENABLED
MQ_DSP_GEMV_FN(mq_dsp_gemv_pt, MQ_DSP_GOS_PT)
#endif

/* Whole groups of 4 rows of a batch-1 call through the GEMV loop; returns how many groups it computed (0: none,
 * the caller's paths do all). */
#if !MQ_GEMM_PER_CHANNEL_ENABLED && !MQ_GEMM_PER_TENSOR_ENABLED
/* a build without the GEMV loop (mq_kernel_select.h) */
static inline int32_t mq_dsp_gemv(const mq_fc_params *p, const uint8_t *x, uint8_t *out)
{
    (void)p;
    (void)x;
    (void)out;
    return 0;
}
#else
/* Whether the GEMV loop can take p's whole groups of 4 rows at all (shifts aside): at least one group, k within the
 * lane area, and this build has the loop for p's quantization (mq_kernel_select.h). */
static int mq_dsp_gemv_fits(const mq_fc_params *p)
{
    return (p->n >> 2) != 0 && p->k <= MQ_DSP_GEMV_MAX_K &&
           (p->per_channel ? MQ_GEMM_PER_CHANNEL_ENABLED : MQ_GEMM_PER_TENSOR_ENABLED);
}

/* How many whole groups of 4 rows the GEMV loop takes for p (0: none; the caller's paths do all): used where every
 * group must take it (mq_gemm_s8_n4k16_dsp_row_ready); the batch-1 calls let the loop test the shifts itself. */
static int32_t mq_dsp_gemv_groups(const mq_fc_params *p)
{
    const int32_t groups = p->n >> 2;
    int32_t i;
    int32_t sh;

    if (!mq_dsp_gemv_fits(p)) {
        return 0;
    }
    sh = p->shift[0];
    if (p->per_channel) {
        const int32_t *s = p->shift;
        for (i = 1; i < 4 * groups; i++) {
            sh &= s[i];
        }
    }
    return sh >= 0 ? 0 : groups;   /* a shift >= 0 (all negative <=> the AND is negative): none */
}

/* The GEMV loop over the first groups (>= 1) groups of 4 rows; returns how many it computed (it stops before the
 * first group with a shift >= 0). */
__attribute__((noinline)) static int32_t mq_dsp_gemv_run(const mq_fc_params *p, int32_t groups, const uint8_t *x,
                                                         uint8_t *out)
{
    mq_dsp_gemv_job job;
    int32_t done;

    job.x = x;
    job.k = p->k;
    job.flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0x80808080u : 0u;
    job.expand = mq_dsp_gemv_expand;
    job.xe_bytes = ((p->k + 15) & ~15) * 2;
    job.odd = (job.xe_bytes >> 5) & 1;
    job.bias = p->bias.folded;
    job.mult = p->multiplier;
    job.shift = p->shift;
    job.out = out;
    job.groups = groups;
    job.zl = p->out_zero_point - p->act_min;
    job.h4 = (uint32_t)(p->act_max - p->act_min) * 0x01010101u;
    job.lo4 = (uint32_t)(uint8_t)p->act_min * 0x01010101u;
    job.w = p->weights.packed;
    job.mn = p->single_rounding ? MQ_OS_SIGN_SINGLE : MQ_OS_SIGN_DOUBLE;
#if MQ_GEMM_PER_CHANNEL_ENABLED && MQ_GEMM_PER_TENSOR_ENABLED
    done = groups - (p->per_channel ? mq_dsp_gemv_pc(&job) : mq_dsp_gemv_pt(&job));
#elif MQ_GEMM_PER_CHANNEL_ENABLED
    done = groups - mq_dsp_gemv_pc(&job);
#elif MQ_GEMM_PER_TENSOR_ENABLED
    done = groups - mq_dsp_gemv_pt(&job);
#endif
    return done;
}

/* (inline: one call, mq_dsp_gemv_run, as before the split) */
static inline int32_t mq_dsp_gemv(const mq_fc_params *p, const uint8_t *x, uint8_t *out)
{
    const int32_t groups = p->n >> 2;
    if (!mq_dsp_gemv_fits(p) || (!p->per_channel && p->shift[0] >= 0)) {
        return 0;
    }
    {
        const int32_t done = mq_dsp_gemv_run(p, groups, x, out);
        if (p->lut != NULL) {
            /* the fused table: byte = lut[(uint8_t)code], in place over the codes just stored (a byte loop: a batch-1
             * layer has few outputs, and it keeps mq_lut_u8_dsp out of an MLP's firmware) */
            const uint8_t *lut = p->lut;
            int32_t i;
            for (i = 0; i < 4 * done; i++) {
                out[i] = lut[out[i]];
            }
        }
        return done;
    }
}
#endif

#if MQ_DSP_BATCHED
typedef void (*mq_dsp_rows_1x4_fn)(const int8_t *, const mq_dsp_rq *, const int32_t *, int32_t, int32_t,
                                   const mq_dsp_out *, int32_t, const uint8_t *, int32_t, uint8_t *, int32_t, int32_t);
typedef void (*mq_dsp_rows_2x2_fn)(const int8_t *, const mq_dsp_rq *, const int32_t *, int32_t,
                                   const mq_dsp_out *, int32_t, const uint8_t *, int32_t, uint8_t *, int32_t,
                                   const volatile int32_t *);

/* The GEMM over m rows; xe != NULL: m is even and xe holds the expanded lanes of its m / 2 pairs (mq_dsp_pairs_blocked),
 * which the 2x2 assembly loop reads instead of x. */
static void mq_dsp_gemm_rows(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride, uint8_t *out,
                             int32_t out_stride, const int32_t *xe)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) / 16) * 64u;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    const mq_dsp_rows_1x4_fn rows_1x4 = MQ_DSP_PICK(u8, mq_dsp_rows_1x4_u8, mq_dsp_rows_1x4_s8);
    const mq_dsp_rows_2x2_fn rows_2x2 = MQ_DSP_PICK(u8, mq_dsp_rows_2x2_u8, mq_dsp_rows_2x2_s8);
    void (*const pairs_2x2)(const mq_dsp_pair_job *, const uint8_t *, uint8_t *, int32_t) =
        MQ_DSP_PICK(u8, mq_dsp_pairs_2x2_u8, mq_dsp_pairs_2x2_s8);
    const mq_dsp_out os = {p->out_zero_point - p->act_min, p->act_max - p->act_min, p->act_min, p->lut};
    const int32_t pairs = m / 2;
    /* pair loop epilogue: 0 (full range, no LUT), the LUT (full range), 1 (narrower clamp) */
    const uintptr_t pair_slow = (os.h != 255 || (uintptr_t)os.lut == 1u) ? 1u : (uintptr_t)os.lut;
    /* single rounding: the same loops with the single-rounding stage (round 2^(30+E), no sign correction) */
    const int32_t single = p->single_rounding;
    const int32_t mn = single ? MQ_OS_SIGN_SINGLE : MQ_OS_SIGN_DOUBLE;
    const int32_t base = single ? 0 : (int32_t)1 << 30;   /* the round's 2^30 of double rounding (mq_dsp_rq_init) */
    mq_dsp_rq q[4];
    int32_t g;

    int fast_tensor = 1;
    if (!p->per_channel) {
        fast_tensor = p->shift[0] < 0;
        if (fast_tensor) {
            mq_dsp_rq_init(&q[0], p->multiplier[0], p->shift[0], base);
            q[1] = q[0];
            q[2] = q[0];
            q[3] = q[0];
        }
    }
    g = (m == 1 && fast_tensor) ? mq_dsp_gemv(p, x, out) : 0;
    for (; 4 * g < n; g++) {
        const int32_t c0 = 4 * g;
        const int32_t rows = n - c0 < 4 ? n - c0 : 4;
        const int8_t *wg = p->weights.packed + (size_t)g * group_bytes;
        int32_t bias_part[4] = {0, 0, 0, 0};
        const int32_t *bias = p->bias.folded + c0;
        int32_t r;
        int fast = fast_tensor;
        if (rows < 4) {
            for (r = 0; r < rows; r++) {
                bias_part[r] = p->bias.folded[c0 + r];
            }
            bias = bias_part;
        }
        if (p->per_channel) {
            for (r = 0; r < rows; r++) {
                fast &= p->shift[c0 + r] < 0;
                if (p->shift[c0 + r] < 0) {
                    mq_dsp_rq_init(&q[r], p->multiplier[c0 + r], p->shift[c0 + r], base);
                }
            }
        }
        if (!fast) {
            /* a channel with shift >= 0: this group through the compact kernel (same results) */
            const mq_fc_params sub = mq_fc_params_channels(p, c0, rows);
            mq_dsp_compact(&sub, m, x, x_stride, out + c0, out_stride);
            continue;
        }
        if (rows == 4 && pairs > 0) {
            int32_t h;
            for (h = 0; h < 4; h += 2) {
                mq_dsp_pair_job job;
                if (mq_dsp_pair_job_init(&job, wg + 16 * h, &q[h], bias + h, k, &os, pair_slow, x_stride, out_stride,
                                         mn)) {
                    if (xe != NULL) {
                        mq_dsp_pairsx_2x2(&job, xe, out + c0 + h, pairs);
                    } else {
                        pairs_2x2(&job, x, out + c0 + h, pairs);
                    }
                } else {
                    rows_2x2(wg + 16 * h, &q[h], bias + h, k, &os, pairs, x, x_stride, out + c0 + h, out_stride, &mn);
                }
            }
            if (m & 1) {
                rows_1x4(wg, q, bias, rows, k, &os, 1, x + (size_t)(m - 1) * (size_t)x_stride, x_stride,
                         out + (size_t)(m - 1) * (size_t)out_stride + c0, out_stride, mn);
            }
        } else {
            rows_1x4(wg, q, bias, rows, k, &os, m, x, x_stride, out + c0, out_stride, mn);
        }
    }
}

/*
 * Pairs of input rows, k % 16 == 0, k <= MQ_DSP_PX_MAX_K (or k % 4 == 0, k <= MQ_DSP_PXW_WORDS): the rows are expanded once per call into q15 lane
 * pairs, per 4 codes of a pair the words (x2:x0), (x3:x1) of its first row then of its second (UINT8 made
 * signed there), a block of pairs at a time (the stack buffer), and every group of the layer runs the 2x2
 * assembly loop on the lanes: per 4 codes 1 LDM + 2 x (LDR + 2 SXTB16 + 4 SMLAD) = 15 instructions for 16 MACs
 * instead of 20 (22 for UINT8) unpacking the inputs again for every pair of output rows.
 * The per-group set-up is paid once per block.
 * Block: MQ_DSP_PX_WORDS / k pairs (4 KB of lanes: 16 pairs at k = 64, the 32 pixels of an in-place 1x1 call or
 * of a KWS im2col block in one block), so with mq_dsp_wexp2 the packed weights are read from flash once per block.
 * k up to MQ_DSP_PX_MAX_K = 640 (one pair per block from k = 513 on, e.g. the 3x3 convolution over 64 channels,
 * k = 576: still 15 instructions / 16 MACs + the expansion once per pair, instead of the raw-row loop's 20 / 22).
 * The lanes would hold k up to 1024, but the device kernel test (bench/test_kernels.c, MAX_K) checks k <= 640 only,
 * so larger k keeps the raw-row loop. MQ_DSP_PX_MAX_K <= MQ_DSP_GEMV_MAX_K: mq_gemm_s8_n4k16_dsp_in_place relies on it.
 */
#define MQ_DSP_PX_WORDS 1024
#define MQ_DSP_PX_MAX_K 640
/* k <= MQ_DSP_PXW_WORDS: the weight lanes of each pair of rows are expanded once per block (mq_dsp_wexp2, k words
 * on the stack, 6 instructions per 4 codes) and the pairs run mq_dsp_pairsxw_2x2 (10 instructions / 16 MACs instead
 * of 15): a gain from 2 pairs per block on, so up to k = 288 (3 pairs per block; the 3x3 convolutions over 16 and 32
 * channels, k = 144 / 288: 7 / 3 pairs). A call with a single pair at 128 < k <= 288 pays 16 instead of 15 per 4
 * codes (a per-call test for it cost KWS's many small calls more on M7 than it saves). */
#define MQ_DSP_PXW_WORDS 288

/*
 * Input lanes of `cfg[1]` (>= 1) pairs of rows (x: first row of the first pair, rows x_stride apart, pairs 2 x x_stride
 * apart), cfg[0] (>= 1) steps of 4 codes each: per step LDR of both rows (any alignment), EOR cfg[2] (0x80808080 for
 * UINT8, else 0), 4 SXTB16, one STM of [row 0 (x2:x0), row 0 (x3:x1), row 1 (x2:x0), row 1 (x3:x1)]: 11 instructions
 * per step with the loop test (the C loop took 19).
 */
__attribute__((naked, noinline)) static void mq_dsp_xexp2(const uint8_t *x __attribute__((unused)),
                                                         int32_t x_stride __attribute__((unused)),
                                                         int32_t *dst __attribute__((unused)),
                                                         const uint32_t cfg[3] __attribute__((unused)))
{
    __asm__ volatile("push {r4-r11, lr}\n\t"
                     "ldm r3, {r9, r10, r11}\n\t"
                     "1:\n\t"
                     "mov r12, r0\n\t"
                     "add lr, r0, r1\n\t"
                     "mov r8, r9\n\t"
                     "2:\n\t"
                     "ldr r4, [r12], #4\n\t"
                     "ldr r6, [lr], #4\n\t"
                     "eor r4, r4, r11\n\t"
                     "eor r6, r6, r11\n\t"
                     "sxtb16 r5, r4, ror #8\n\t"
                     "sxtb16 r4, r4\n\t"
                     "sxtb16 r7, r6, ror #8\n\t"
                     "sxtb16 r6, r6\n\t"
                     "stm r2!, {r4-r7}\n\t"
                     "subs r8, r8, #1\n\t"
                     "bne 2b\n\t"
                     "add r0, r0, r1, lsl #1\n\t"
                     "subs r10, r10, #1\n\t"
                     "bne 1b\n\t"
                     "pop {r4-r11, pc}\n\t");
}

/* Job rq words of channel c for the pair loop (mq_dsp_pair_job_init's arithmetic in 32 bits): round + zl * 2^(31+E)
 * = hi * 2^32 + lo with lo = 2^30 (+ 2^31 if E = 1), hi = 2^(E-2) (E >= 2) + zl * 2^(E-1); 0 if E > 21 or shift >= 0. */
static inline int mq_dsp_px_rq(int32_t rq[4], int32_t multiplier, int32_t shift, int32_t zl, uint32_t half)
{
    const uint32_t e1 = (uint32_t)~shift;   /* E - 1 */
    uint32_t t;
    if (shift >= 0 || e1 > 20u) {
        return 0;
    }
    t = 2u << e1;                           /* 2^E */
    rq[0] = (int32_t)((t << 30) + half);    /* half: 2^30 (double rounding) or 0 (single: round = 2^(30+E)) */
    rq[1] = (int32_t)((t >> 2) + ((uint32_t)zl << e1));
    rq[2] = multiplier;
    rq[3] = (int32_t)e1;
    return 1;
}

__attribute__((noinline)) static void mq_dsp_pairs_blocked(const mq_fc_params *p, int32_t pairs, const uint8_t *x,
                                                           int32_t x_stride, uint8_t *out, int32_t out_stride)
{
    int32_t xe[MQ_DSP_PX_WORDS];
    int32_t we[MQ_DSP_PXW_WORDS];
    const int32_t k = p->k;
    const int32_t n = p->n;
    const int32_t per_block = MQ_DSP_PX_WORDS / k;
    const uint32_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0x80808080u : 0u;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const int32_t zl = p->out_zero_point - p->act_min;
    const int32_t h = p->act_max - p->act_min;
    const int32_t cstep = p->per_channel ? 1 : 0;
    const uint32_t half = p->single_rounding ? 0u : 0x40000000u;
    /* the output stage without the sign correction gives the same codes (MQ_DSP_PRQWZ); without the slow test and
     * the UADD8 too when the clamp is the whole byte range from 0 with no LUT (UINT8 ReLU), or (SSAT, the zero point
     * folded into the rq words in place of zl: clamp(r + zp, -128, 127) = SSAT8(r + zp)) the whole INT8 range with
     * no LUT (INT8 ReLU: zero point -128) */
    const int nosign = zl <= 0 || p->single_rounding;
    const int whole = h == 255 && p->lut == NULL;
    const int ssat = MQ_DSP_PXW_ZS && nosign && whole && p->act_min == -128 && k <= MQ_DSP_PXW_WORDS; /* pxw only */
    const mq_dsp_pxw_fn pxw =
        mq_dsp_pxw_fns[(k & 31) != 0 ? 1 : 0][ssat ? 3 : nosign ? ((uint8_t)p->act_min == 0u && whole ? 2 : 1) : 0];
    const int32_t zfold = ssat ? p->out_zero_point : zl; /* the value the rq words add (r + zfold) */
    mq_dsp_pair_job job;
    int32_t pb;

    job.x_stride = x_stride;
    job.chunks = k >> 4;
    job.x_next = x_stride - k;
    job.out_stride = out_stride;
    job.lo8 = (int32_t)(uint8_t)p->act_min;
    job.lo16 = (uint32_t)(uint8_t)p->act_min * 0x0101u;
    job.skip40 = ((8 - ((k >> 2) & 7)) & 7) * 40;
    job.h = h;
    job.lut = p->lut;
    job.slow = (h != 255 || (uintptr_t)p->lut == 1u) ? 1u : (uintptr_t)p->lut;
    job.mn = p->single_rounding ? MQ_OS_SIGN_SINGLE : MQ_OS_SIGN_DOUBLE;
    for (pb = 0; pb < pairs; pb += per_block) {
        const int32_t nb = pairs - pb < per_block ? pairs - pb : per_block;
        const uint8_t *xb = x + (ptrdiff_t)(2 * pb) * x_stride;
        uint8_t *ob = out + (ptrdiff_t)(2 * pb) * out_stride;
        int32_t c0;
        {
            const uint32_t cfg[3] = {(uint32_t)(k >> 2), (uint32_t)nb, flip};
            mq_dsp_xexp2(xb, x_stride, xe, cfg);
        }
        for (c0 = 0; c0 < n; c0 += 4) {
            const int8_t *wg = p->weights.packed + (size_t)(c0 >> 2) * group_bytes;
            int32_t hh;
            int ok = n - c0 >= 4;
            for (hh = 0; ok && hh < 4; hh++) {
                const int32_t sh = p->shift[(c0 + hh) * cstep];
                ok = sh < 0 && (uint32_t)~sh <= 20u;
            }
            if (ok) {
                for (hh = 0; hh < 4; hh += 2) {
                    const int32_t ca = (c0 + hh) * cstep, cb = (c0 + hh + 1) * cstep;
                    (void)mq_dsp_px_rq(job.rq[0], p->multiplier[ca], p->shift[ca], zfold, half);
                    (void)mq_dsp_px_rq(job.rq[1], p->multiplier[cb], p->shift[cb], zfold, half);
                    job.bias[0] = p->bias.folded[c0 + hh];
                    job.bias[1] = p->bias.folded[c0 + hh + 1];
                    if (k <= MQ_DSP_PXW_WORDS) {
                        mq_dsp_wexp2(wg + 16 * hh, we, (k + 15) >> 4);
                        job.w = (const int8_t *)we;
                        job.w_end = we + k;
                        pxw(&job, xe, ob + c0 + hh, nb);
                    } else {
                        job.w = wg + 16 * hh;
                        mq_dsp_pairsx_2x2(&job, xe, ob + c0 + hh, nb);
                    }
                }
            } else {
                /* a last group of n % 4 rows, or a channel the pair loop cannot take (shift >= 0, E > 21):
                 * the group on the raw input rows */
                const mq_fc_params sub = mq_fc_params_channels(p, c0, n - c0 < 4 ? n - c0 : 4);
                mq_dsp_gemm_rows(&sub, 2 * nb, xb, x_stride, ob + c0, out_stride, NULL);
            }
        }
    }
}
#endif

void mq_gemm_s8_n4k16_dsp(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    int32_t g;
    if (((uintptr_t)p->weights.packed & 3u) != 0u) {
        mq_dsp_compact(p, m, x, x_stride, out, out_stride);
        return;
    }
#if MQ_DSP_BATCHED
    if (MQ_DSP_ROWS_FOR(p->in_dtype)) {
        if (m >= 2 && p->n >= 4 &&
            (((p->k & 15) == 0 && p->k <= MQ_DSP_PX_MAX_K) || ((p->k & 3) == 0 && p->k <= MQ_DSP_PXW_WORDS))) {
            mq_dsp_pairs_blocked(p, m / 2, x, x_stride, out, out_stride);
            if (m & 1) {
                mq_dsp_gemm_rows(p, 1, x + (ptrdiff_t)(m - 1) * x_stride, x_stride,
                                 out + (ptrdiff_t)(m - 1) * out_stride, out_stride, NULL);
            }
            return;
        }
        mq_dsp_gemm_rows(p, m, x, x_stride, out, out_stride, NULL);
        return;
    }
#endif
    /* a build without the row loops for this call (mq_kernel_select.h): the batch-1 GEMV loop where it applies,
     * the compact kernel for everything else */
    g = m == 1 ? mq_dsp_gemv(p, x, out) : 0;
    if (4 * g < p->n) {
        mq_dsp_compact_from(p, 4 * g, m, x, x_stride, out, out_stride);
    }
}

int mq_gemm_s8_n4k16_dsp_in_place(const mq_fc_params *p)
{
#if MQ_DSP_BATCHED && (MQ_GEMM_PER_CHANNEL_ENABLED || MQ_GEMM_PER_TENSOR_ENABLED)
    /* What mq_gemm_s8_n4k16_dsp decides per call, for every m: aligned weights, the row loops compiled in for the
     * input dtype, the pair loop's k, and every group taking the pair loop (n % 4 == 0, every shift in [-21, -1]:
     * mq_dsp_pairs_blocked's test, so no group falls back to the raw-row loops after other groups' outputs are
     * stored); an odd last row then runs the GEMV loop on all n / 4 groups (every shift <= -1, k <= MQ_DSP_PX_MAX_K <=
     * MQ_DSP_GEMV_MAX_K, checked again below), which expands its row before storing. Each block of pairs is expanded to the stack lanes
     * (mq_dsp_xexp2) before any of its outputs is stored, and with x_stride = k >= n = out_stride a block's outputs
     * end where the next block's input rows begin. */
    const int32_t k = p->k;
    int32_t lo = p->shift[0], hi = p->shift[0];
    int32_t c;
    if (((uintptr_t)p->weights.packed & 3u) != 0u || !MQ_DSP_ROWS_FOR(p->in_dtype) || p->n < 4 || (p->n & 3) != 0 ||
        !(((k & 15) == 0 && k <= MQ_DSP_PX_MAX_K) || ((k & 3) == 0 && k <= MQ_DSP_PXW_WORDS)) || k > MQ_DSP_GEMV_MAX_K ||
        (p->per_channel ? !MQ_GEMM_PER_CHANNEL_ENABLED : !MQ_GEMM_PER_TENSOR_ENABLED)) {
        return 0;
    }
    for (c = p->per_channel ? 1 : p->n; c < p->n; c++) {
        lo = p->shift[c] < lo ? p->shift[c] : lo;
        hi = p->shift[c] > hi ? p->shift[c] : hi;
    }
    return hi < 0 && lo >= -21;
#else
    (void)p;
    return 0;
#endif
}

int32_t mq_gemm_s8_n4k16_dsp_row_ready(const mq_fc_params *p)
{
#if MQ_GEMM_PER_CHANNEL_ENABLED || MQ_GEMM_PER_TENSOR_ENABLED
    /* the GEMV loop takes every row (what mq_gemm_s8_n4k16_dsp decides per batch-1 call: aligned weights, then
     * mq_dsp_gemv_groups for all n / 4 groups, nothing left for the row loops) */
    return ((uintptr_t)p->weights.packed & 3u) == 0u && (p->n & 3) == 0 && 4 * mq_dsp_gemv_groups(p) == p->n;
#else
    (void)p;
    return 0;
#endif
}

void mq_gemm_s8_n4k16_dsp_row(const mq_fc_params *p, const uint8_t *x, uint8_t *out)
{
#if MQ_GEMM_PER_CHANNEL_ENABLED || MQ_GEMM_PER_TENSOR_ENABLED
    (void)mq_dsp_gemv_run(p, p->n >> 2, x, out);   /* (all groups: mq_gemm_s8_n4k16_dsp_row_ready) */
    if (p->lut != NULL) {
        mq_lut_u8_dsp(p->lut, out, out, (size_t)p->n);
    }
#else
    mq_gemm_s8_n4k16_dsp(p, 1, x, p->k, out, p->n);
#endif
}

#endif /* __OPTIMIZE_SIZE__ */

#endif /* __ARM_FEATURE_DSP */
