/*
 * MicroQuant: GEMM microkernel, N4K16-packed int8 weights, plain Armv7-M (Cortex-M3: no DSP
 * extension, so no SMLAD/SXTB16/QADD): LDRSB + MLA.
 *
 * Contract: csrc/src/mq_microkernels.h, layouts and formula: mq_kernels.h. Bit-identical to
 * mq_gemm_s8_n4k16_c:
 *   - MLA wraps modulo 2^32 like the portable uint32 sums;
 *   - requantization: the same one-SMLAL evaluation of TFLite's double rounding as the DSP variant
 *     (derivation in mq_gemm_s8_n4k16_dsp.c, mq_dsp_rq), groups with a shift >= 0 go through the
 *     portable kernel;
 *   - UINT8 inputs: LDRB then SUB 128 (= (int8)(x ^ 0x80)).
 * Fast loops (assembly, the input expanded once to int32 codes on the stack and shared by every group):
 *   - batch 1, k <= 640: "GEMV" (mq_v7m_gemv): LDM of 4 codes + 16 x (LDRSB + MLA) per 4 codes x 4 rows;
 *   - pairs of input rows, k <= 256: mq_v7m_pairs_blocked, "2x4" blocks: per code LDRD of both rows' codes
 *     + 4 x (LDRSB + 2 MLA) (13 instructions / 8 MACs); k > 256: mq_v7m_pairs_split, the same blocks over
 *     segments of <= 192 codes, the accumulators carried from segment to segment.
 *   Stack: 2.5 KB (GEMV) or 2 KB (pairs).
 * Other loops (per group of 4 output rows):
 *   - pairs of input rows: "2x2", per k code: 2 input LDRSB, 2 weight LDRSB, 4 MLA (2 per MAC);
 *   - a single input row: "1x4", per k code: 1 input LDRSB, 4 x (weight LDRSB + MLA) (2.25 per MAC).
 * Every load is a byte load with an immediate offset inside the current 16-code chunk: no read past
 * k (the tail loop stops at k), no alignment requirement. Output rows >= n are never written.
 * The steps are inline asm so that the compiler keeps the accumulators in registers.
 */
#include "mq_microkernels.h"
#include "mq_output_stage.h"

#if defined(__ARM_ARCH_7M__)

/* Channel constants, E = -shift >= 1 (mq_output_stage.h, mq_os_channel_hi): result = (hi word of
 * P + round - [P < 0] 2^31) >> (E - 1). The asm reads round at offset 0, multiplier at 8, right at 12. */
typedef mq_os_channel_hi mq_v7m_rq;

/* Output constants by value (uint8_t stores alias everything, see the DSP variant). */
typedef struct {
    int32_t zl;          /* out_zero_point - act_min */
    int32_t h;           /* act_max - act_min */
    int32_t lo;          /* act_min */
    const uint8_t *lut;
} mq_v7m_out;

/* Requantize, offset, clamp, optional LUT: clamp(r + zp, lo, hi) = lo + min(max(r + zl, 0), h).
 * No QADD on Armv7-M: r is first saturated to 16 bits (|zl| <= 383, so the sum cannot wrap and the
 * clamp that follows gives the same value). */
static inline __attribute__((always_inline)) uint8_t mq_v7m_fin(int32_t acc, const mq_v7m_rq *q,
                                                                mq_v7m_out os)
{
    /* the shared output stage: zp = zl + lo, clamp range relative to it [-zl, h - zl] */
    mq_os_out o;
    o.zp = os.zl + os.lo;
    o.lo = -os.zl;
    o.hi = os.h - os.zl;
    o.lut = os.lut;
    return mq_os_finish(mq_os_requant_hi(acc, q), &o);
}

/*
 * Two accumulators a, b of the SAME channel q: a, b <- clamped codes, the arithmetic of mq_v7m_fin
 * with the channel's constants loaded once (SSAT #16 + ADD stand in for the missing QADD).
 */
static inline __attribute__((always_inline)) void mq_v7m_rq2(int32_t *a, int32_t *b, const mq_v7m_rq *q,
                                                             mq_v7m_out os)
{
    int32_t va = *a, vb = *b;
    int32_t rl, rh, sl, sh, t;
    __asm__("ldrd %[rl], %[rh], [%[q]]\n\t"
            "ldr %[t], [%[q], #8]\n\t"
            "mov %[sl], %[rl]\n\t"
            "mov %[sh], %[rh]\n\t"
            "smlal %[rl], %[rh], %[a], %[t]\n\t"
            "smlal %[sl], %[sh], %[b], %[t]\n\t"
            "and %[t], %[a], #0x80000000\n\t"
            "subs %[rl], %[rl], %[t]\n\t"
            "sbc %[rh], %[rh], #0\n\t"
            "and %[t], %[b], #0x80000000\n\t"
            "subs %[sl], %[sl], %[t]\n\t"
            "sbc %[sh], %[sh], #0\n\t"
            "ldr %[t], [%[q], #12]\n\t"
            "asr %[rh], %[rh], %[t]\n\t"
            "asr %[sh], %[sh], %[t]\n\t"
            "ssat %[rh], #16, %[rh]\n\t"
            "ssat %[sh], #16, %[sh]\n\t"
            "add %[rh], %[rh], %[zl]\n\t"
            "add %[sh], %[sh], %[zl]\n\t"
            "usat %[a], #8, %[rh]\n\t"
            "usat %[b], #8, %[sh]\n\t"
            "cmp %[a], %[h]\n\t"
            "it gt\n\t"
            "movgt %[a], %[h]\n\t"
            "cmp %[b], %[h]\n\t"
            "it gt\n\t"
            "movgt %[b], %[h]\n\t"
            "add %[a], %[a], %[lo]\n\t"
            "add %[b], %[b], %[lo]\n\t"
            : [a] "+&r"(va), [b] "+&r"(vb), [rl] "=&r"(rl), [rh] "=&r"(rh), [sl] "=&r"(sl), [sh] "=&r"(sh),
              [t] "=&r"(t)
            : [q] "r"(q), "m"(*q), [zl] "r"(os.zl), [h] "r"(os.h), [lo] "r"(os.lo)
            : "cc");
    *a = va;
    *b = vb;
}

#define MQ_V7M_STR_(x) #x
#define MQ_V7M_STR(x) MQ_V7M_STR_(x)

/* Input code loads: signed bytes, or unsigned bytes moved to the signed domain. */
#define MQ_V7M_LDX_S8(R, P, J) "ldrsb %[" R "], [%[" P "], #" MQ_V7M_STR(J) "]\n\t"
#define MQ_V7M_LDX_U8(R, P, J) \
    "ldrb %[" R "], [%[" P "], #" MQ_V7M_STR(J) "]\n\t" "sub %[" R "], %[" R "], #128\n\t"

/* 1x4, code J of the chunk: rows at +0, +16, +32, +48. */
#define MQ_V7M_1X4_ASM(LDX, J)                                                                  \
    __asm__(LDX("xa", "xp", J)                                                                  \
            "ldrsb %[w], [%[wp], #" MQ_V7M_STR(J) "]\n\t"                                       \
            "mla %[a0], %[w], %[xa], %[a0]\n\t"                                                 \
            "ldrsb %[w], [%[wp], #" MQ_V7M_STR(J) "+16]\n\t"                                    \
            "mla %[a1], %[w], %[xa], %[a1]\n\t"                                                 \
            "ldrsb %[w], [%[wp], #" MQ_V7M_STR(J) "+32]\n\t"                                    \
            "mla %[a2], %[w], %[xa], %[a2]\n\t"                                                 \
            "ldrsb %[w], [%[wp], #" MQ_V7M_STR(J) "+48]\n\t"                                    \
            "mla %[a3], %[w], %[xa], %[a3]\n\t"                                                 \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xa] "=&r"(xa),       \
              [w] "=&r"(w)                                                                      \
            : [xp] "r"(x), [wp] "r"(wc)                                                         \
            : "memory")

/* 2x2, code J of the chunk: two input rows, weight rows at +0 and +16. */
#define MQ_V7M_2X2_ASM(LDX, J)                                                                  \
    __asm__(LDX("xa", "x0", J) LDX("xb", "x1", J)                                              \
            "ldrsb %[w], [%[wp], #" MQ_V7M_STR(J) "]\n\t"                                       \
            "mla %[a00], %[w], %[xa], %[a00]\n\t"                                               \
            "mla %[a10], %[w], %[xb], %[a10]\n\t"                                               \
            "ldrsb %[w], [%[wp], #" MQ_V7M_STR(J) "+16]\n\t"                                    \
            "mla %[a01], %[w], %[xa], %[a01]\n\t"                                               \
            "mla %[a11], %[w], %[xb], %[a11]\n\t"                                               \
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),               \
              [xa] "=&r"(xa), [xb] "=&r"(xb), [w] "=&r"(w)                                      \
            : [x0] "r"(x0), [x1] "r"(x1), [wp] "r"(wc)                                          \
            : "memory")

#define MQ_V7M_16(STEP, LDX)                                                                    \
    STEP(LDX, 0); STEP(LDX, 1); STEP(LDX, 2); STEP(LDX, 3); STEP(LDX, 4); STEP(LDX, 5);         \
    STEP(LDX, 6); STEP(LDX, 7); STEP(LDX, 8); STEP(LDX, 9); STEP(LDX, 10); STEP(LDX, 11);       \
    STEP(LDX, 12); STEP(LDX, 13); STEP(LDX, 14); STEP(LDX, 15)

/*
 * Row loops, one copy per input dtype. 1x4: m input rows against rows [0, rows) of the group.
 * 2x2: `pairs` pairs of input rows against rows h, h+1 of the group (wh points at row h).
 */
#define MQ_V7M_ROWS(SUFFIX, LDX)                                                                          \
    static void mq_v7m_rows_1x4_##SUFFIX(const int8_t *wg, const mq_v7m_rq q[4], const int32_t bias[4], \
                                         int32_t rows, int32_t k, const mq_v7m_out *os, int32_t m,       \
                                         const uint8_t *xr, int32_t x_stride, uint8_t *o,                \
                                         int32_t out_stride)                                             \
    {                                                                                                    \
        for (; m > 0; m--) {                                                                             \
            const uint8_t *x = xr;                                                                       \
            const int8_t *wc = wg;                                                                       \
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];                              \
            int32_t xa, w;                                                                               \
            int32_t chunks = k >> 4;                                                                     \
            int32_t rem = k & 15;                                                                        \
            for (; chunks > 0; chunks--) {                                                               \
                MQ_V7M_16(MQ_V7M_1X4_ASM, LDX);                                                          \
                x += 16;                                                                                 \
                wc += 64;                                                                                \
            }                                                                                            \
            for (; rem > 0; rem--) {                                                                     \
                MQ_V7M_1X4_ASM(LDX, 0);                                                                  \
                x += 1;                                                                                  \
                wc += 1;                                                                                 \
            }                                                                                            \
            {                                                                                            \
                const mq_v7m_out ov = *os;                                                               \
                o[0] = mq_v7m_fin(a0, &q[0], ov);                                                        \
                if (rows > 1) {                                                                          \
                    o[1] = mq_v7m_fin(a1, &q[1], ov);                                                    \
                }                                                                                        \
                if (rows > 2) {                                                                          \
                    o[2] = mq_v7m_fin(a2, &q[2], ov);                                                    \
                }                                                                                        \
                if (rows > 3) {                                                                          \
                    o[3] = mq_v7m_fin(a3, &q[3], ov);                                                    \
                }                                                                                        \
            }                                                                                            \
            xr += x_stride;                                                                              \
            o += out_stride;                                                                             \
        }                                                                                                \
    }                                                                                                    \
    static void mq_v7m_rows_2x2_##SUFFIX(const int8_t *wh, const mq_v7m_rq q[2], const int32_t bias[2], \
                                         int32_t k, const mq_v7m_out *os, int32_t pairs,                 \
                                         const uint8_t *xr, int32_t x_stride, uint8_t *o,                \
                                         int32_t out_stride)                                             \
    {                                                                                                    \
        for (; pairs > 0; pairs--) {                                                                     \
            const uint8_t *x0 = xr;                                                                      \
            const uint8_t *x1 = xr + x_stride;                                                           \
            const int8_t *wc = wh;                                                                       \
            int32_t a00 = bias[0], a01 = bias[1];                                                        \
            int32_t a10 = a00, a11 = a01;                                                                \
            int32_t xa, xb, w;                                                                           \
            int32_t chunks = k >> 4;                                                                     \
            int32_t rem = k & 15;                                                                        \
            for (; chunks > 0; chunks--) {                                                               \
                MQ_V7M_16(MQ_V7M_2X2_ASM, LDX);                                                          \
                x0 += 16;                                                                                \
                x1 += 16;                                                                                \
                wc += 64;                                                                                \
            }                                                                                            \
            for (; rem > 0; rem--) {                                                                     \
                MQ_V7M_2X2_ASM(LDX, 0);                                                                  \
                x0 += 1;                                                                                 \
                x1 += 1;                                                                                 \
                wc += 1;                                                                                 \
            }                                                                                            \
            {                                                                                            \
                const mq_v7m_out ov = *os;                                                               \
                mq_v7m_rq2(&a00, &a10, &q[0], ov);                                                       \
                mq_v7m_rq2(&a01, &a11, &q[1], ov);                                                       \
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

MQ_V7M_ROWS(s8, MQ_V7M_LDX_S8)
MQ_V7M_ROWS(u8, MQ_V7M_LDX_U8)

typedef void (*mq_v7m_rows_1x4_fn)(const int8_t *, const mq_v7m_rq *, const int32_t *, int32_t, int32_t,
                                   const mq_v7m_out *, int32_t, const uint8_t *, int32_t, uint8_t *, int32_t);
typedef void (*mq_v7m_rows_2x2_fn)(const int8_t *, const mq_v7m_rq *, const int32_t *, int32_t,
                                   const mq_v7m_out *, int32_t, const uint8_t *, int32_t, uint8_t *, int32_t);

static void mq_v7m_rq_init(mq_v7m_rq *q, int32_t multiplier, int32_t shift)
{
    mq_os_channel_hi_init(q, multiplier, shift); /* shift <= -1 here */
}

/*
 * Batch 1 (m == 1): "GEMV", one naked assembly loop over all whole groups of 4 rows. The input row is expanded
 * ONCE per call into int32 codes on the stack (UINT8 made signed there, zero-padded to whole 16-code chunks) and
 * shared by every output row: per 4 codes x 4 rows one LDM of the 4 codes + 16 x (weight LDRSB + MLA) = 33
 * instructions for 16 MACs (2.06 per MAC, against 2.25 / 2.5 for INT8 / UINT8 in the 1x4 loop), per 16-code chunk
 * + ADD / CMP / BNE. Output stage per channel from the multiplier / shift arrays, streamed (post-indexed loads; step
 * 0 for per-tensor): round 2^30 + 2^(30+E) from 2 << (E - 1), E - 1 = ~shift, SMLAL + sign-correction SMLAL, ASR,
 * SSAT #16 + ADD zl (no QADD here: |zl| <= 383, see mq_v7m_fin), USAT #8; then per group min(., h) + act_min and
 * the byte stores. Taken when every shift is <= -1, there is no LUT and k <= MQ_V7M_GEMV_MAX_K (stack buffer of 4
 * bytes per code); otherwise (and for a last group of n % 4 rows) the 1x4 rows path.
 */
#define MQ_V7M_GEMV_MAX_K 640

typedef struct {
    const int32_t *xe;      /*  0: expanded input */
    const int32_t *xe_end;  /*  4: its end (whole 16-code chunks) */
    const int32_t *bias;    /*  8: advances by 4 channels per group */
    const int32_t *mult;    /* 12: advances per channel (per-tensor: stays) */
    const int32_t *shift;   /* 16: same */
    uint8_t *out;           /* 20: advances by 4 per group */
    int32_t groups;         /* 24: whole groups left (>= 1) */
    int32_t zl;             /* 28: out_zero_point - act_min */
    int32_t h;              /* 32: act_max - act_min */
    int32_t lo;             /* 36: act_min */
    const int8_t *w;        /* 40: packed weights */
    int32_t mn;             /* 44: sign-correction multiplier: INT32_MIN (double rounding), 0 (single rounding; the
                               round's low word adds mn >> 1, logical: 2^30 or 0, so round = 2^(30+E)) */
} mq_v7m_gemv_job;

typedef char mq_v7m_gemv_job_layout[(offsetof(mq_v7m_gemv_job, bias) == 8 && offsetof(mq_v7m_gemv_job, mult) == 12 &&
                                     offsetof(mq_v7m_gemv_job, out) == 20 && offsetof(mq_v7m_gemv_job, zl) == 28 &&
                                     offsetof(mq_v7m_gemv_job, h) == 32 && offsetof(mq_v7m_gemv_job, w) == 40 &&
                                     offsetof(mq_v7m_gemv_job, mn) == 44)
                                        ? 1
                                        : -1];

#define MQ_V7M_STR_(x) #x
#define MQ_V7M_STR(x) MQ_V7M_STR_(x)
/* Row A, 4 codes at chunk offset O (row stride 16): lanes r4-r7. */
#define MQ_V7M_GROW(A, O)                                                                        \
    "ldrsb r8, [r12, #(" MQ_V7M_STR(O) ")]\n\t"                                                  \
    "mla " A ", r8, r4, " A "\n\t"                                                               \
    "ldrsb r8, [r12, #(" MQ_V7M_STR(O) "+1)]\n\t"                                                \
    "mla " A ", r8, r5, " A "\n\t"                                                               \
    "ldrsb r8, [r12, #(" MQ_V7M_STR(O) "+2)]\n\t"                                                \
    "mla " A ", r8, r6, " A "\n\t"                                                               \
    "ldrsb r8, [r12, #(" MQ_V7M_STR(O) "+3)]\n\t"                                                \
    "mla " A ", r8, r7, " A "\n\t"
#define MQ_V7M_GSTEP(O)                                                                          \
    "ldm r10!, {r4-r7}\n\t" MQ_V7M_GROW("r0", O) MQ_V7M_GROW("r1", O + 16) MQ_V7M_GROW("r2", O + 32) \
        MQ_V7M_GROW("r3", O + 48)

/* Channel of accumulator A: r11 multipliers, lr shifts (post-indexed by QS), r9 = job mn (INT32_MIN, or 0 for single
 * rounding), r10 = zl. */
#define MQ_V7M_GCH(A, QS)                                                                        \
    "ldr r4, [r11]" QS "\n\t"                                                                    \
    "ldr r5, [lr]" QS "\n\t"                                                                     \
    "mvn r5, r5\n\t"                                                                             \
    "mov r6, #2\n\t"                                                                             \
    "lsl r6, r6, r5\n\t"                                                                         \
    "lsr r8, r6, #2\n\t"                                                                         \
    "lsl r7, r6, #30\n\t"                                                                        \
    "add r7, r7, r9, lsr #1\n\t"                                                                  \
    "smlal r7, r8, " A ", r4\n\t"                                                                \
    "lsr r6, " A ", #31\n\t"                                                                     \
    "smlal r7, r8, r6, r9\n\t"                                                                   \
    "asr r8, r8, r5\n\t"                                                                         \
    "ssat r8, #16, r8\n\t"                                                                       \
    "add r8, r8, r10\n\t"                                                                        \
    "usat " A ", #8, r8\n\t"

/* min(A, h) + lo, stored at r6 + I (r4 = h, r5 = lo) */
#define MQ_V7M_GST(A, I)                                                                         \
    "cmp " A ", r4\n\t"                                                                          \
    "it gt\n\t"                                                                                  \
    "movgt " A ", r4\n\t"                                                                        \
    "add " A ", " A ", r5\n\t"                                                                   \
    "strb " A ", [r6, #" #I "]\n\t"

#define MQ_V7M_GEMV_FN(NAME, QS)                                                                 \
    __attribute__((naked, noinline)) static void NAME(const mq_v7m_gemv_job *job __attribute__((unused))) \
    {                                                                                            \
        __asm__ volatile("push {r4-r11, lr}\n\t"                                                 \
                         "push {r0}\n\t"                                                         \
                         "ldr r12, [r0, #40]\n\t"                                                \
                         "1:\n\t"                                                                \
                         "ldr r10, [sp]\n\t"                                                     \
                         "ldr r11, [r10, #8]\n\t"                                                \
                         "ldm r11!, {r0-r3}\n\t"                                                 \
                         "str r11, [r10, #8]\n\t"                                                \
                         "ldr lr, [r10, #4]\n\t"                                                 \
                         "ldr r10, [r10]\n\t"                                                    \
                         "2:\n\t"                                                                \
                         MQ_V7M_GSTEP(0) MQ_V7M_GSTEP(4) MQ_V7M_GSTEP(8) MQ_V7M_GSTEP(12)        \
                         "add r12, r12, #64\n\t"                                                 \
                         "cmp r10, lr\n\t"                                                       \
                         "bne 2b\n\t"                                                            \
                         "ldr r10, [sp]\n\t"                                                     \
                         "ldr r11, [r10, #12]\n\t"                                               \
                         "ldr lr, [r10, #16]\n\t"                                                \
                         "ldr r9, [r10, #44]\n\t"                                               \
                         "ldr r10, [r10, #28]\n\t"                                               \
                         MQ_V7M_GCH("r0", QS) MQ_V7M_GCH("r1", QS)                               \
                         MQ_V7M_GCH("r2", QS) MQ_V7M_GCH("r3", QS)                               \
                         "ldr r10, [sp]\n\t"                                                     \
                         "str r11, [r10, #12]\n\t"                                               \
                         "str lr, [r10, #16]\n\t"                                                \
                         "ldr r4, [r10, #32]\n\t"                                                \
                         "ldr r5, [r10, #36]\n\t"                                                \
                         "ldr r6, [r10, #20]\n\t"                                                \
                         MQ_V7M_GST("r0", 0) MQ_V7M_GST("r1", 1) MQ_V7M_GST("r2", 2)             \
                         MQ_V7M_GST("r3", 3)                                                     \
                         "add r6, r6, #4\n\t"                                                    \
                         "str r6, [r10, #20]\n\t"                                                \
                         "ldr r6, [r10, #24]\n\t"                                                \
                         "subs r6, r6, #1\n\t"                                                   \
                         "str r6, [r10, #24]\n\t"                                                \
                         "bne 1b\n\t"                                                            \
                         "add sp, sp, #4\n\t"                                                    \
                         "pop {r4-r11, pc}\n\t");                                                \
    }

MQ_V7M_GEMV_FN(mq_v7m_gemv_pc, ", #4")
MQ_V7M_GEMV_FN(mq_v7m_gemv_pt, "")

/* Whole groups of 4 rows of a batch-1 call through the GEMV loop; returns how many groups it computed (0: none). */
__attribute__((noinline)) static int32_t mq_v7m_gemv(const mq_fc_params *p, const uint8_t *x, uint8_t *out)
{
    int32_t xe[MQ_V7M_GEMV_MAX_K];
    mq_v7m_gemv_job job;
    const int32_t k = p->k;
    const int32_t groups = p->n >> 2;
    const int32_t kc = (k + 15) & ~15;
    const int32_t off = p->in_dtype == MQ_DTYPE_UINT8 ? 128 : 0;
    int32_t i;
    int32_t sh;

    if (groups == 0 || k > MQ_V7M_GEMV_MAX_K || p->lut != NULL) {
        return 0;
    }
    sh = p->shift[0];
    if (p->per_channel) {
        for (i = 1; i < 4 * groups; i++) {
            sh &= p->shift[i];
        }
    }
    if (sh >= 0) {
        return 0;   /* a shift >= 0 (all negative <=> the AND is negative) */
    }
    if (off != 0) {
        for (i = 0; i < k; i++) {
            xe[i] = (int32_t)x[i] - 128;
        }
    } else {
        for (i = 0; i < k; i++) {
            xe[i] = (int32_t)(int8_t)x[i];
        }
    }
    for (; i < kc; i++) {
        xe[i] = 0;
    }
    job.xe = xe;
    job.xe_end = xe + kc;
    job.bias = p->bias.folded;
    job.mult = p->multiplier;
    job.shift = p->shift;
    job.out = out;
    job.groups = groups;
    job.zl = p->out_zero_point - p->act_min;
    job.h = p->act_max - p->act_min;
    job.lo = p->act_min;
    job.w = p->weights.packed;
    job.mn = p->single_rounding ? MQ_OS_SIGN_SINGLE : MQ_OS_SIGN_DOUBLE;
    if (p->per_channel) {
        mq_v7m_gemv_pc(&job);
    } else {
        mq_v7m_gemv_pt(&job);
    }
    return groups;
}

static void mq_v7m_gemm_rows(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride, uint8_t *out,
                             int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) / 16) * 64u;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    const mq_v7m_rows_1x4_fn rows_1x4 = u8 ? mq_v7m_rows_1x4_u8 : mq_v7m_rows_1x4_s8;
    const mq_v7m_rows_2x2_fn rows_2x2 = u8 ? mq_v7m_rows_2x2_u8 : mq_v7m_rows_2x2_s8;
    const mq_v7m_out os = {p->out_zero_point - p->act_min, p->act_max - p->act_min, p->act_min, p->lut};
    const int32_t pairs = m / 2;
    mq_v7m_rq q[4];
    int32_t g;

    if (!p->per_channel && p->shift[0] < 0) {
        mq_v7m_rq_init(&q[0], p->multiplier[0], p->shift[0]);
        q[1] = q[0];
        q[2] = q[0];
        q[3] = q[0];
    }
    g = m == 1 ? mq_v7m_gemv(p, x, out) : 0;
    if (p->single_rounding) {
        /* single rounding: the GEMV above and the blocked pairs take it; the rest through the portable kernel */
        if (4 * g < n) {
            const mq_fc_params sub = mq_fc_params_channels(p, 4 * g, n - 4 * g);
            mq_gemm_s8_n4k16_c(&sub, m, x, x_stride, out + 4 * g, out_stride);
        }
        return;
    }
    for (; 4 * g < n; g++) {
        const int32_t c0 = 4 * g;
        const int32_t rows = n - c0 < 4 ? n - c0 : 4;
        const int8_t *wg = p->weights.packed + (size_t)g * group_bytes;
        int32_t bias[4] = {0, 0, 0, 0};
        int32_t r;
        int fast = 1;
        for (r = 0; r < rows; r++) {
            const int32_t c = p->per_channel ? c0 + r : 0;
            bias[r] = p->bias.folded[c0 + r];
            fast &= p->shift[c] < 0;
            if (p->per_channel && p->shift[c] < 0) {
                mq_v7m_rq_init(&q[r], p->multiplier[c], p->shift[c]);
            }
        }
        if (!fast) {
            /* a channel with shift >= 0: this group through the portable kernel (same results) */
            const mq_fc_params sub = mq_fc_params_channels(p, c0, rows);
            mq_gemm_s8_n4k16_c(&sub, m, x, x_stride, out + c0, out_stride);
            continue;
        }
        if (rows == 4 && pairs > 0) {
            rows_2x2(wg, &q[0], &bias[0], k, &os, pairs, x, x_stride, out + c0, out_stride);
            rows_2x2(wg + 32, &q[2], &bias[2], k, &os, pairs, x, x_stride, out + c0 + 2, out_stride);
            if (m & 1) {
                rows_1x4(wg, q, bias, rows, k, &os, 1, x + (size_t)(m - 1) * (size_t)x_stride, x_stride,
                         out + (size_t)(m - 1) * (size_t)out_stride + c0, out_stride);
            }
        } else {
            rows_1x4(wg, q, bias, rows, k, &os, m, x, x_stride, out + c0, out_stride);
        }
    }
}

/*
 * Pairs of input rows ("2x4": two rows against the 4 rows of a group), k <= MQ_V7M_PX_WORDS / 2: the rows are
 * expanded once per block of pairs into int32 codes, interleaved per code (row 0, row 1; UINT8 made signed there,
 * zero-padded to whole 16-code chunks) and shared by every group: per code one LDRD of both rows' codes, then per
 * output row a weight LDRSB and two MLA (13 instructions for 8 MACs, against 2 LDRB / LDRSB + 2 SUB (UINT8) + per
 * 2 rows 2 LDRSB + 4 MLA = 8-10 for 4 MACs in the 2x2 loop). The assembly block computes the 8 accumulators of
 * one pair and one group (starting at the bias); the output stage is mq_v7m_fin in C.
 */
#define MQ_V7M_PX_WORDS 512

typedef struct {
    const int8_t *w;        /*  0: the group's weights (of the first code of xe) */
    const int32_t *xe;      /*  4: the pair's lanes */
    const int32_t *xe_end;  /*  8: their end */
    const int32_t *init;    /* 12: the 8 starting accumulators (rows 0..3 of input row 0, then of input row 1) */
    int32_t *acc;           /* 16: out: the 8 accumulators, same order (may equal init) */
} mq_v7m_px_job;

typedef char mq_v7m_px_job_layout[(offsetof(mq_v7m_px_job, init) == 12 && offsetof(mq_v7m_px_job, acc) == 16) ? 1 : -1];

#define MQ_V7M_PCODE(J)                                                                          \
    "ldrd r8, r9, [r11], #8\n\t"                                                                 \
    "ldrsb r10, [r12, #(" MQ_V7M_STR(J) ")]\n\t"                                                 \
    "mla r0, r10, r8, r0\n\t"                                                                    \
    "mla r4, r10, r9, r4\n\t"                                                                    \
    "ldrsb r10, [r12, #(" MQ_V7M_STR(J) "+16)]\n\t"                                              \
    "mla r1, r10, r8, r1\n\t"                                                                    \
    "mla r5, r10, r9, r5\n\t"                                                                    \
    "ldrsb r10, [r12, #(" MQ_V7M_STR(J) "+32)]\n\t"                                              \
    "mla r2, r10, r8, r2\n\t"                                                                    \
    "mla r6, r10, r9, r6\n\t"                                                                    \
    "ldrsb r10, [r12, #(" MQ_V7M_STR(J) "+48)]\n\t"                                              \
    "mla r3, r10, r8, r3\n\t"                                                                    \
    "mla r7, r10, r9, r7\n\t"

__attribute__((naked, noinline)) static void mq_v7m_px_block(mq_v7m_px_job *job __attribute__((unused)))
{
    __asm__ volatile("push {r4-r11, lr}\n\t"
                     "push {r0}\n\t"
                     "ldr r12, [r0]\n\t"
                     "ldr r11, [r0, #4]\n\t"
                     "ldr lr, [r0, #8]\n\t"
                     "ldr r8, [r0, #12]\n\t"
                     "ldm r8, {r0-r7}\n\t"
                     "1:\n\t" MQ_V7M_PCODE(0) MQ_V7M_PCODE(1) MQ_V7M_PCODE(2) MQ_V7M_PCODE(3)
                     MQ_V7M_PCODE(4) MQ_V7M_PCODE(5) MQ_V7M_PCODE(6) MQ_V7M_PCODE(7)
                     MQ_V7M_PCODE(8) MQ_V7M_PCODE(9) MQ_V7M_PCODE(10) MQ_V7M_PCODE(11)
                     MQ_V7M_PCODE(12) MQ_V7M_PCODE(13) MQ_V7M_PCODE(14) MQ_V7M_PCODE(15)
                     "add r12, r12, #64\n\t"
                     "cmp r11, lr\n\t"
                     "bne 1b\n\t"
                     "pop {r8}\n\t"
                     "ldr r8, [r8, #16]\n\t"
                     "stm r8, {r0-r7}\n\t"
                     "pop {r4-r11, pc}\n\t");
}

/* All m / 2 pairs of rows, every whole group of 4 output rows whose shifts are all <= -1 through mq_v7m_px_block;
 * the other groups (n % 4 rows, a shift >= 0) on the raw rows through mq_v7m_gemm_rows. k <= MQ_V7M_PX_WORDS / 2. */
__attribute__((noinline)) static void mq_v7m_pairs_blocked(const mq_fc_params *p, int32_t pairs, const uint8_t *x,
                                                           int32_t x_stride, uint8_t *out, int32_t out_stride)
{
    int32_t xe[MQ_V7M_PX_WORDS];
    const int32_t k = p->k;
    const int32_t n = p->n;
    const int32_t kc = (k + 15) & ~15;
    const int32_t per_block = MQ_V7M_PX_WORDS / (2 * kc);
    const int32_t off = p->in_dtype == MQ_DTYPE_UINT8 ? 128 : 0;
    const size_t group_bytes = (size_t)(kc >> 4) * 64u;
    const mq_v7m_out os = {p->out_zero_point - p->act_min, p->act_max - p->act_min, p->act_min, p->lut};
    mq_v7m_px_job job;
    int32_t init[8];
    int32_t acc[8];
    int32_t pb;

    job.init = init;
    job.acc = acc;
    for (pb = 0; pb < pairs; pb += per_block) {
        const int32_t nb = pairs - pb < per_block ? pairs - pb : per_block;
        const uint8_t *xb = x + (ptrdiff_t)(2 * pb) * x_stride;
        uint8_t *ob = out + (ptrdiff_t)(2 * pb) * out_stride;
        int32_t *d = xe;
        int32_t j, i, c0;
        for (j = 0; j < nb; j++) {
            const uint8_t *r0 = xb + (ptrdiff_t)(2 * j) * x_stride;
            const uint8_t *r1 = r0 + x_stride;
            if (off != 0) {
                for (i = 0; i < k; i++) {
                    d[0] = (int32_t)r0[i] - 128;
                    d[1] = (int32_t)r1[i] - 128;
                    d += 2;
                }
            } else {
                for (i = 0; i < k; i++) {
                    d[0] = (int32_t)(int8_t)r0[i];
                    d[1] = (int32_t)(int8_t)r1[i];
                    d += 2;
                }
            }
            for (; i < kc; i++) {
                d[0] = 0;
                d[1] = 0;
                d += 2;
            }
        }
        for (c0 = 0; c0 < n; c0 += 4) {
            const int8_t *wg = p->weights.packed + (size_t)(c0 >> 2) * group_bytes;
            int ok = n - c0 >= 4;
            int32_t r;
            mq_v7m_rq q[4];
            for (r = 0; ok && r < 4; r++) {
                const int32_t c = p->per_channel ? c0 + r : 0;
                ok = p->shift[c] < 0;
                if (ok) {
                    if (p->single_rounding) {
                        mq_os_channel_hi_init_single(&q[r], p->multiplier[c], p->shift[c]);
                    } else {
                        mq_v7m_rq_init(&q[r], p->multiplier[c], p->shift[c]);
                    }
                    init[r] = p->bias.folded[c0 + r];
                    init[4 + r] = init[r];
                }
            }
            if (ok && p->single_rounding) {
                /* single rounding: the same block loop, the single-rounding output stage */
                uint8_t *o = ob + c0;
                mq_os_out so;
                mq_os_out_init(&so, p->out_zero_point, p->act_min, p->act_max, p->lut);
                job.w = wg;
                job.xe = xe;
                for (j = 0; j < nb; j++) {
                    job.xe_end = job.xe + 2 * kc;
                    mq_v7m_px_block(&job);
                    job.xe = job.xe_end;
                    for (r = 0; r < 4; r++) {
                        o[r] = mq_os_finish(mq_os_requant_hi_single(acc[r], &q[r]), &so);
                        o[out_stride + r] = mq_os_finish(mq_os_requant_hi_single(acc[4 + r], &q[r]), &so);
                    }
                    o += 2 * (ptrdiff_t)out_stride;
                }
            } else if (ok) {
                uint8_t *o = ob + c0;
                job.w = wg;
                job.xe = xe;
                for (j = 0; j < nb; j++) {
                    job.xe_end = job.xe + 2 * kc;
                    mq_v7m_px_block(&job);
                    job.xe = job.xe_end;
                    for (r = 0; r < 4; r++) {
                        o[r] = mq_v7m_fin(acc[r], &q[r], os);
                        o[out_stride + r] = mq_v7m_fin(acc[4 + r], &q[r], os);
                    }
                    o += 2 * (ptrdiff_t)out_stride;
                }
            } else {
                const mq_fc_params sub = mq_fc_params_channels(p, c0, n - c0 < 4 ? n - c0 : 4);
                mq_v7m_gemm_rows(&sub, 2 * nb, xb, x_stride, ob + c0, out_stride);
            }
        }
    }
}

/*
 * Pairs of input rows for k > MQ_V7M_PX_WORDS / 2 (the 3x3 convolutions over 32 / 64 channels, k = 288 / 576): the
 * same "2x4" block loop over k split into segments of at most MQ_V7M_SEG codes. Per pair and segment the two rows'
 * codes of the segment are expanded once (as in mq_v7m_pairs_blocked) and every whole group of 4 output rows with
 * all shifts <= -1 runs mq_v7m_px_block on them, continuing its 8 accumulators (kept per group, batches of at most
 * MQ_V7M_SPLIT_GROUPS groups) from the previous segment; after the last segment, the output stage (both roundings).
 * The other groups through mq_v7m_gemm_rows on the raw rows. Stack: the same 2 KB (lanes + accumulators).
 */
#define MQ_V7M_SEG 192
#define MQ_V7M_SPLIT_GROUPS 16

typedef char mq_v7m_split_fits[(2 * MQ_V7M_SEG + 8 * MQ_V7M_SPLIT_GROUPS <= MQ_V7M_PX_WORDS && MQ_V7M_SEG % 16 == 0)
                                   ? 1
                                   : -1];

__attribute__((noinline)) static void mq_v7m_pairs_split(const mq_fc_params *p, int32_t pairs, const uint8_t *x,
                                                         int32_t x_stride, uint8_t *out, int32_t out_stride)
{
    int32_t buf[MQ_V7M_PX_WORDS];
    int32_t *const xe = buf;                          /* 2 x MQ_V7M_SEG lanes */
    int32_t *const accs = buf + 2 * MQ_V7M_SEG;       /* 8 per group of the batch */
    const int32_t k = p->k;
    const int32_t n = p->n;
    const int32_t kc = (k + 15) & ~15;
    const int32_t groups = n >> 2;
    const int32_t off = p->in_dtype == MQ_DTYPE_UINT8 ? 128 : 0;
    const size_t group_bytes = (size_t)(kc >> 4) * 64u;
    const mq_v7m_out os = {p->out_zero_point - p->act_min, p->act_max - p->act_min, p->act_min, p->lut};
    mq_os_out so;
    mq_v7m_px_job job;
    int32_t g0;

    mq_os_out_init(&so, p->out_zero_point, p->act_min, p->act_max, p->lut);
    for (g0 = 0; g0 < groups; g0 += MQ_V7M_SPLIT_GROUPS) {
        const int32_t gn = groups - g0 < MQ_V7M_SPLIT_GROUPS ? groups - g0 : MQ_V7M_SPLIT_GROUPS;
        uint32_t fast = 0;   /* bit g: group g0 + g has every shift <= -1 */
        int32_t g, j, r;
        for (g = 0; g < gn; g++) {
            int ok = 1;
            for (r = 0; r < 4; r++) {
                ok &= p->shift[p->per_channel ? 4 * (g0 + g) + r : 0] < 0;
            }
            fast |= (uint32_t)ok << g;
        }
        for (j = 0; fast != 0 && j < pairs; j++) {
            const uint8_t *r0 = x + (ptrdiff_t)(2 * j) * x_stride;
            const uint8_t *r1 = r0 + x_stride;
            uint8_t *o0 = out + (ptrdiff_t)(2 * j) * out_stride;
            int32_t s0;
            for (s0 = 0; s0 < kc; s0 += MQ_V7M_SEG) {
                const int32_t sl = kc - s0 < MQ_V7M_SEG ? kc - s0 : MQ_V7M_SEG;
                const int32_t se = k - s0 < sl ? k - s0 : sl;   /* codes < k in the segment (>= 1) */
                const int last = s0 + sl == kc;
                int32_t *d = xe;
                int32_t i;
                if (off != 0) {
                    for (i = 0; i < se; i++) {
                        d[0] = (int32_t)r0[s0 + i] - 128;
                        d[1] = (int32_t)r1[s0 + i] - 128;
                        d += 2;
                    }
                } else {
                    for (i = 0; i < se; i++) {
                        d[0] = (int32_t)(int8_t)r0[s0 + i];
                        d[1] = (int32_t)(int8_t)r1[s0 + i];
                        d += 2;
                    }
                }
                for (; i < sl; i++) {
                    d[0] = 0;
                    d[1] = 0;
                    d += 2;
                }
                job.xe = xe;
                job.xe_end = xe + 2 * sl;
                for (g = 0; g < gn; g++) {
                    const int32_t c0 = 4 * (g0 + g);
                    int32_t *a = accs + 8 * g;
                    if (((fast >> g) & 1u) == 0) {
                        continue;
                    }
                    if (s0 == 0) {
                        for (r = 0; r < 4; r++) {
                            a[r] = p->bias.folded[c0 + r];
                            a[4 + r] = a[r];
                        }
                    }
                    job.w = p->weights.packed + (size_t)(g0 + g) * group_bytes + (size_t)(s0 >> 4) * 64u;
                    job.init = a;
                    job.acc = a;
                    mq_v7m_px_block(&job);
                    if (last) {
                        uint8_t *o = o0 + c0;
                        for (r = 0; r < 4; r++) {
                            const int32_t c = p->per_channel ? c0 + r : 0;
                            mq_v7m_rq q;
                            if (p->single_rounding) {
                                mq_os_channel_hi_init_single(&q, p->multiplier[c], p->shift[c]);
                                o[r] = mq_os_finish(mq_os_requant_hi_single(a[r], &q), &so);
                                o[out_stride + r] = mq_os_finish(mq_os_requant_hi_single(a[4 + r], &q), &so);
                            } else {
                                mq_v7m_rq_init(&q, p->multiplier[c], p->shift[c]);
                                o[r] = mq_v7m_fin(a[r], &q, os);
                                o[out_stride + r] = mq_v7m_fin(a[4 + r], &q, os);
                            }
                        }
                    }
                }
            }
        }
        for (g = 0; g < gn; g++) {
            if (((fast >> g) & 1u) == 0) {
                const mq_fc_params sub = mq_fc_params_channels(p, 4 * (g0 + g), 4);
                mq_v7m_gemm_rows(&sub, 2 * pairs, x, x_stride, out + 4 * (g0 + g), out_stride);
            }
        }
    }
    if (4 * groups < n) {
        const mq_fc_params sub = mq_fc_params_channels(p, 4 * groups, n - 4 * groups);
        mq_v7m_gemm_rows(&sub, 2 * pairs, x, x_stride, out + 4 * groups, out_stride);
    }
}

void mq_gemm_s8_n4k16_v7m(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    if (m >= 2) {
        if (p->k <= MQ_V7M_PX_WORDS / 2) {
            mq_v7m_pairs_blocked(p, m / 2, x, x_stride, out, out_stride);
        } else {
            mq_v7m_pairs_split(p, m / 2, x, x_stride, out, out_stride);
        }
        if (m & 1) {
            mq_v7m_gemm_rows(p, 1, x + (ptrdiff_t)(m - 1) * x_stride, x_stride, out + (ptrdiff_t)(m - 1) * out_stride,
                             out_stride);
        }
        return;
    }
    mq_v7m_gemm_rows(p, m, x, x_stride, out, out_stride);
}

#endif /* __ARM_ARCH_7M__ */
