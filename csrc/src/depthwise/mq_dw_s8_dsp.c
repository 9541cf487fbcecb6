/*
 * mq_dw_s8_dsp: depthwise convolution microkernel, Armv7E-M / Armv8-M DSP extension (Cortex-M4, M7, M33).
 * Contract: mq_microkernels.h (mq_dw_run), depth multiplier 1. Bit-identical to mq_dw_s8_c.
 *
 * Groups of 4 channels, one output pixel at a time; no zero-point arithmetic in the taps (folded into the bias).
 * 3x3 kernels (9 taps, any stride / dilation / padding: the taps come from the driver's pointers) are one straight
 * assembly block, the taps in pairs (0,1) (2,3) (4,5) (6,7) + 8: per pair one LDRD of the two tap pointers, two
 * input words (4 channels each, unaligned LDR) repacked by PKHBT / PKHTB into (x0, x1, y0, y1) and
 * (x2, x3, y2, y3), SXTB16 (INT8) or UXTB16 (UINT8) of those and of them rotated by 8 -> the two taps of one
 * channel in one register, SMLAD with that channel's weight pair (w[t][c], w[t+1][c]); 15 instructions per 2 taps
 * and 4 channels (was 18). Tap 8 and other kernels: per tap SXTB16 / UXTB16 -> channel-pair lanes (c0, c2),
 * (c1, c3) and four SMLAxy with the int16 weight words (c0, c1), (c2, c3). The 3x3 weight pairs, the folded bias
 * and the requantization constants are set up once per run and group (mq_dw_dsp_q).
 * Output stage, in assembly (MQ_DW_EPILOGUE4): the exact double-rounding requantization with the output zero point
 * folded into the 64-bit SMLAL start value and USAT #8 (eight instructions per channel, MQ_DW_RQ; five when the
 * clamp starts at or above the zero point, MQ_DW_RQZ: ReLU), then the 4 channels as bytes of one word (3 ORR,
 * USUB8 + SEL clamp, UADD8 act_min) and one word store. When the clamp is the whole type (ReLU with the zero point at
 * the type's minimum, no LUT: MQ_DW_EPILOGUE4F) the clamp is the saturation itself: UINT8 USAT + 3 ORR, INT8 SSAT
 * with the zero point folded in (MQ_DW_RQZS) + 3 BFI, the same count. Groups outside the fast range (shift >= -1,
 * i.e. real multiplier >= 0.25, or |zl| * 2^(E-1) >= 2^30; zl is the zero point itself in the INT8 whole-type case)
 * and the channels past the last full group go through mq_dw_s8_c.
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_DSP)

#include <stddef.h>
#include <string.h>

#include "mq_dw_rq_armv7.h"
#include "mq_output_stage.h"

#define MQ_DW_STR_(x) #x
#define MQ_DW_STR(x) MQ_DW_STR_(x)

/* One tap T: x = *(taps[T] + off); weights at wp, then wp += ws. */
#define MQ_DW_TAP(T, EXT, LDW)                                      \
    "ldr %[x], [%[tp], #" MQ_DW_STR(T) "*4]\n\t"                    \
    "ldr %[x], [%[x], %[off]]\n\t" LDW                              \
    "add %[wp], %[wp], %[ws]\n\t"                                   \
    EXT " %[xo], %[x], ror #8\n\t"                                  \
    EXT " %[x], %[x]\n\t"                                           \
    "smlabb %[a0], %[x], %[w0], %[a0]\n\t"                          \
    "smlatb %[a2], %[x], %[w1], %[a2]\n\t"                          \
    "smlabt %[a1], %[xo], %[w0], %[a1]\n\t"                         \
    "smlatt %[a3], %[xo], %[w1], %[a3]\n\t"

#define MQ_DW_LDR2 "ldr %[w0], [%[wp]]\n\tldr %[w1], [%[wp], #4]\n\t"

/* Two taps T, T+1 of the 3x3 block: x = *(taps[T] + off), y = *(taps[T+1] + off) (4 channels each); the bytes
 * repacked as (x0, x1, y0, y1) and (x2, x3, y2, y3) (PKHBT / PKHTB), so that SXTB16 (and SXTB16 ROR 8) gives the
 * two taps of ONE channel in one register; SMLAD with the run's pair word of that channel (w[T][c], w[T+1][c])
 * (q->wp[P][c], P = T / 2) adds both products. 15 instructions per 2 taps and 4 channels (was 18; the two tap
 * pointers by one LDRD). */
#define MQ_DW_TAPP(T, P, EXT)                                       \
    "ldrd %[x], %[xo], [%[tp], #" MQ_DW_STR(T) "*4]\n\t"            \
    "ldr %[x], [%[x], %[off]]\n\t"                                  \
    "ldr %[xo], [%[xo], %[off]]\n\t"                                \
    "pkhbt %[y], %[x], %[xo], lsl #16\n\t"                          \
    "pkhtb %[x], %[xo], %[x], asr #16\n\t"                          \
    "ldrd %[w0], %[w1], [%[q], #" MQ_DW_STR(P) "*16+72]\n\t"        \
    EXT " %[xo], %[y]\n\t"                                          \
    "smlad %[a0], %[xo], %[w0], %[a0]\n\t"                          \
    EXT " %[xo], %[y], ror #8\n\t"                                  \
    "smlad %[a1], %[xo], %[w1], %[a1]\n\t"                          \
    "ldrd %[w0], %[w1], [%[q], #" MQ_DW_STR(P) "*16+80]\n\t"        \
    EXT " %[xo], %[x]\n\t"                                          \
    "smlad %[a2], %[xo], %[w0], %[a2]\n\t"                          \
    EXT " %[xo], %[x], ror #8\n\t"                                  \
    "smlad %[a3], %[xo], %[w1], %[a3]\n\t"

/* The last tap (8) of the 3x3 block: channel-pair lanes (c0, c2) and (c1, c3), weights (w[8][c0], w[8][c2]) and
 * (w[8][c1], w[8][c3]) (q->w8), four SMLAxy. */
#define MQ_DW_TAP8(EXT)                                             \
    "ldr %[x], [%[tp], #32]\n\t"                                    \
    "ldr %[x], [%[x], %[off]]\n\t"                                  \
    "ldrd %[w0], %[w1], [%[q], #136]\n\t"                           \
    EXT " %[xo], %[x], ror #8\n\t"                                  \
    EXT " %[x], %[x]\n\t"                                           \
    "smlabb %[a0], %[x], %[w0], %[a0]\n\t"                          \
    "smlatt %[a2], %[x], %[w0], %[a2]\n\t"                          \
    "smlabb %[a1], %[xo], %[w1], %[a1]\n\t"                         \
    "smlatt %[a3], %[xo], %[w1], %[a3]\n\t"

#define MQ_DW_TAPS9(EXT)                                                                               \
    __asm__(MQ_DW_TAPP(0, 0, EXT) MQ_DW_TAPP(2, 1, EXT) MQ_DW_TAPP(4, 2, EXT) MQ_DW_TAPP(6, 3, EXT)      \
                MQ_DW_TAP8(EXT)                                                                        \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [xo] "=&r"(xo),   \
              [y] "=&r"(y), [w0] "=&r"(w0), [w1] "=&r"(w1)                                             \
            : [tp] "r"(tp), [off] "r"(off), [q] "r"(q)                                                 \
            : "memory")

/* The 3x3 block of one pixel with the bias load (a0..a3 = q->b) and the tap pointer step (tp += 9) folded in. */
#define MQ_DW_TAPS9B(EXT)                                                                              \
    __asm__("ldrd %[a0], %[a1], [%[q], #144]\n\t"                                                    \
            "ldrd %[a2], %[a3], [%[q], #152]\n\t"                                                    \
            MQ_DW_TAPP(0, 0, EXT) MQ_DW_TAPP(2, 1, EXT) MQ_DW_TAPP(4, 2, EXT) MQ_DW_TAPP(6, 3, EXT)      \
            MQ_DW_TAP8(EXT)                                                                            \
            "add %[tp], %[tp], #36\n\t"                                                               \
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(x),             \
              [xo] "=&r"(xo), [y] "=&r"(y), [w0] "=&r"(w0), [w1] "=&r"(w1), [tp] "+r"(tp)               \
            : [off] "r"(off), [q] "r"(q)                                                               \
            : "memory")

#if defined(__OPTIMIZE__)
#define MQ_DW_TAP1(EXT, LDW)                                                                           \
    __asm__(MQ_DW_TAP(0, EXT, LDW)                                                                     \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [xo] "=&r"(xo),   \
              [w0] "=&r"(w0), [w1] "=&r"(w1), [wp] "+r"(wp)                                            \
            : [tp] "r"(tp), [off] "r"(off), [ws] "r"(ws)                                               \
            : "memory")
#else
/* Unoptimised builds (-O0 keeps a frame pointer: the 13 operands above do not fit the registers left): the same
 * tap in C, the same wrapping sums (EXT "sxtb16": INT8 codes, else UINT8). */
static inline uint32_t mq_dw_tap_c(uint32_t a, const uint8_t *px, const uint8_t *wq, int sgn)
{
    const int32_t xv = sgn ? (int32_t)(int8_t)px[0] : (int32_t)px[0];
    int16_t wv;
    memcpy(&wv, wq, 2);
    return a + (uint32_t)(xv * (int32_t)wv);
}

#define MQ_DW_TAP1(EXT, LDW)                                                                           \
    do {                                                                                               \
        const int sgn_ = EXT[0] == 's';                                                                \
        const uint8_t *px_ = tp[0] + off;                                                              \
        a0 = (int32_t)mq_dw_tap_c((uint32_t)a0, px_, wp, sgn_);                                       \
        a1 = (int32_t)mq_dw_tap_c((uint32_t)a1, px_ + 1, wp + 2, sgn_);                               \
        a2 = (int32_t)mq_dw_tap_c((uint32_t)a2, px_ + 2, wp + 4, sgn_);                               \
        a3 = (int32_t)mq_dw_tap_c((uint32_t)a3, px_ + 3, wp + 6, sgn_);                               \
        wp += ws;                                                                                      \
        (void)x;                                                                                       \
        (void)xo;                                                                                      \
        (void)w0;                                                                                      \
        (void)w1;                                                                                      \
    } while (0)
#endif

/*
 * Requantization constants of a group of 4 channels (set up once per run, read by the assembly epilogue):
 * per channel k, c[k] = {M, E-1, 2^30, 2^(E-2) + zl * 2^(E-1)} with E = -shift in [2, 31] and zl = out_zero_point -
 * act_min (|zl * 2^(E-1)| < 2^30: mq_dw_s8_dsp checks it); then the output-wide constants h4 = act_max - act_min
 * and lo4 = act_min in all 4 bytes.
 */
typedef struct {
    int32_t c[4][4];    /* byte offset 0 */
    int32_t h4;         /* 64 */
    int32_t lo4;        /* 68 */
    int32_t wp[4][4];   /* 72: 3x3 kernels, taps 2P and 2P+1: per channel c (w[2P][c], w[2P+1][c]) */
    int32_t w8[2];      /* 136: tap 8: (w[8][c0], w[8][c2]), (w[8][c1], w[8][c3]) */
    int32_t b[4];       /* 144: folded bias */
} mq_dw_dsp_q;

/* The assembly's offsets (compile-time check). */
typedef char mq_dw_dsp_q_layout[(offsetof(mq_dw_dsp_q, h4) == 64 && offsetof(mq_dw_dsp_q, wp) == 72 &&
                                 offsetof(mq_dw_dsp_q, w8) == 136 && sizeof(mq_dw_dsp_q) == 160) ? 1 : -1];

/* The operator's set-up cache (mq_dw_run.cache, MQ_DW_CACHE_BYTES): the first MQ_DW_DSP_CACHED groups' constants,
 * filled by the first run of a call (ready = 0 until then) and read by the later ones. */
#define MQ_DW_DSP_CACHED 16
/* A group function (run, first channel, its group's constants, ng): the 3x3 no-LUT kernels (MQ_DW_DSP_GROUP9) take
 * ng >= 1 consecutive groups (constants q[0 .. ng-1]), the others one (ng = 1). */
typedef void (*mq_dw_dsp_fn)(const mq_dw_run *, int32_t, const mq_dw_dsp_q *, int32_t);

typedef struct {
    uint32_t ready;
    uint32_t bad;       /* bit g: group g goes through mq_dw_s8_c */
    mq_dw_dsp_q q[MQ_DW_DSP_CACHED];
    mq_dw_dsp_fn all;   /* ready == 3: the 3x3 no-LUT group function that takes all groups in one call */
    int32_t ng;         /* ready == 3: its number of groups */
} mq_dw_dsp_cache;

typedef char mq_dw_dsp_cache_size[(MQ_DW_CACHE_BYTES == 0 || sizeof(mq_dw_dsp_cache) <= MQ_DW_CACHE_BYTES) ? 1 : -1];

/*
 * Output stage of 4 channels (RQ: MQ_DW_RQ or MQ_DW_RQZ): the four values in [0, 255] (code - act_min, clamped
 * below and at act_min + 255) interleaved into one word, bytewise min with act_max - act_min (USUB8 + SEL),
 * act_min added bytewise (UADD8, modulo 256: the stored byte of the code). Result in a0: bytes c0..c3.
 */
#define MQ_DW_EPILOGUE4(RQ)                                                                           \
    __asm__(RQ("a0", 0) RQ("a1", 1) RQ("a2", 2) RQ("a3", 3)                                             \
            "orr %[a0], %[a0], %[a1], lsl #8\n\t"                                                     \
            "orr %[a0], %[a0], %[a2], lsl #16\n\t"                                                    \
            "orr %[a0], %[a0], %[a3], lsl #24\n\t"                                                    \
            "ldrd %[m], %[rb], [%[q], #64]\n\t"                                                       \
            "usub8 %[l], %[a0], %[m]\n\t"                                                             \
            "sel %[a0], %[m], %[a0]\n\t"                                                              \
            "uadd8 %[a0], %[a0], %[rb]\n\t"                                                           \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [m] "=&r"(m), [rb] "=&r"(rb), \
              [e] "=&r"(e), [l] "=&r"(l), [h] "=&r"(h)                                                \
            : [q] "r"(q)                                                                              \
            : "cc", "memory")

/* Output stage when the clamp is the saturation's own range (act_max - act_min == 255 from the type's minimum: no
 * USUB8 / SEL / UADD8): the 4 codes interleaved. UINT8: RQ = MQ_DW_RQZ (USAT, codes 0..255), PACK = MQ_DW_PACK_ORR;
 * INT8: RQ = MQ_DW_RQZS (SSAT with the zero point folded in, codes -128..127 sign-extended), PACK = MQ_DW_PACK_BFI
 * (each code's byte inserted: ORR would let a negative code's sign bits through). Three instructions either way. */
#define MQ_DW_PACK_ORR                                                                                 \
    "orr %[a0], %[a0], %[a1], lsl #8\n\t"                                                              \
    "orr %[a0], %[a0], %[a2], lsl #16\n\t"                                                             \
    "orr %[a0], %[a0], %[a3], lsl #24\n\t"
#define MQ_DW_PACK_BFI                                                                                 \
    "bfi %[a0], %[a1], #8, #8\n\t"                                                                     \
    "bfi %[a0], %[a2], #16, #8\n\t"                                                                    \
    "bfi %[a0], %[a3], #24, #8\n\t"
#define MQ_DW_EPILOGUE4F(RQ, PACK)                                                                    \
    __asm__(RQ("a0", 0) RQ("a1", 1) RQ("a2", 2) RQ("a3", 3) PACK                                        \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [m] "=&r"(m), [rb] "=&r"(rb), \
              [e] "=&r"(e), [l] "=&r"(l), [h] "=&r"(h)                                                \
            : [q] "r"(q)                                                                              \
            : "memory")

/* One group of 4 channels over the run, 3x3 kernels, no LUT: the pixel loop on the tap pointers (tp += 9 in the
 * block), the bias in the block; FULL: MQ_DW_EPILOGUE4F (PACK its packing), else MQ_DW_EPILOGUE4. */
#define MQ_DW_DSP_GROUP9(NAME, EXT, RQ, FULL, PACK)                                                            \
    static __attribute__((noinline)) void NAME(const mq_dw_run *r, int32_t c0, const mq_dw_dsp_q *q,       \
                                               int32_t ng)                                                 \
    {                                                                                                      \
        const int32_t cn = r->p->in_c;                                                                     \
        const int32_t npix = r->npix;                                                                      \
        do {                                                                                               \
        const uint8_t *const *tp = r->taps;                                                                \
        const uint8_t *const *const tend = tp + 9 * npix;                                                  \
        uint8_t *o = r->out + c0;                                                                          \
        const int32_t off = c0;                                                                            \
        do {                                                                                               \
            int32_t a0, a1, a2, a3, x, xo, y, w0, w1, m, rb, e, l, h;                                      \
            MQ_DW_TAPS9B(EXT);                                                                             \
            (void)x;                                                                                       \
            (void)xo;                                                                                      \
            (void)y;                                                                                       \
            (void)w0;                                                                                      \
            (void)w1;                                                                                      \
            if (FULL) {                                                                                    \
                MQ_DW_EPILOGUE4F(RQ, PACK);                                                                \
            } else {                                                                                       \
                MQ_DW_EPILOGUE4(RQ);                                                                       \
            }                                                                                              \
            (void)m;                                                                                       \
            (void)rb;                                                                                      \
            (void)e;                                                                                       \
            (void)l;                                                                                       \
            (void)h;                                                                                       \
            memcpy(o, &a0, 4);                                                                             \
            o += cn;                                                                                       \
        } while (tp != tend);                                                                              \
        c0 += 4;                                                                                           \
        ++q;                                                                                               \
        } while (--ng > 0);                                                                                \
    }

/* One group of 4 channels over the run: NINE (compile-time) selects the straight 3x3 block (weights and bias from
 * the run's copy in q), else a loop over the taps (weights walked in place: ldr pairs, any alignment); LUT the
 * table epilogue. */
#define MQ_DW_DSP_GROUP(NAME, EXT, NINE, LUT, RQ)                                                              \
    static __attribute__((noinline)) void NAME(const mq_dw_run *r, int32_t c0, const mq_dw_dsp_q *q,       \
                                               int32_t ng)                                                 \
    {                                                                                                      \
        const mq_depthwise_params *p = r->p;                                                               \
        const int32_t cn = p->in_c;                                                                        \
        const uint8_t *w0base = (const uint8_t *)p->weights.data + 2 * (size_t)c0;                         \
        const int32_t ws = 2 * cn;                                                                         \
        const int32_t *bias = NINE ? q->b : p->bias.folded + c0;                                           \
        const uint8_t *const *taps = r->taps;                                                              \
        const int32_t ntaps = r->ntaps;                                                                    \
        uint8_t *o = r->out + c0;                                                                          \
        int32_t off = c0;                                                                                  \
        int32_t i;                                                                                         \
        (void)ng; /* one group (ng = 1) */                                                                 \
        for (i = r->npix; i > 0; --i) {                                                                    \
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];                                \
            int32_t x, xo, y, w0, w1, m, rb, e, l, h;                                                         \
            const uint8_t *const *tp = taps;                                                               \
            taps += ntaps;                                                                                 \
            if (NINE) {                                                                                    \
                MQ_DW_TAPS9(EXT);                                                                          \
            } else {                                                                                       \
                const uint8_t *wp = w0base;                                                                \
                int32_t t;                                                                                 \
                for (t = ntaps; t > 0; --t) {                                                              \
                    MQ_DW_TAP1(EXT, MQ_DW_LDR2);                                                           \
                    ++tp;                                                                                  \
                }                                                                                          \
            }                                                                                              \
            (void)y;                                                                                       \
            MQ_DW_EPILOGUE4(RQ);                                                                           \
            if (LUT) {                                                                                     \
                const uint8_t *lut = p->lut;                                                               \
                const uint32_t v = (uint32_t)a0;                                                           \
                o[0] = lut[v & 0xFFu];                                                                     \
                o[1] = lut[(v >> 8) & 0xFFu];                                                              \
                o[2] = lut[(v >> 16) & 0xFFu];                                                             \
                o[3] = lut[v >> 24];                                                                       \
            } else {                                                                                       \
                memcpy(o, &a0, 4);                                                                         \
            }                                                                                              \
            o += cn;                                                                                       \
        }                                                                                                  \
    }

#define MQ_DW_DSP_GROUPS(SUF, EXT, RQF, PACKF)                                       \
    MQ_DW_DSP_GROUP9(mq_dw_dsp_9_##SUF, EXT, MQ_DW_RQ, 0, "")                         \
    MQ_DW_DSP_GROUP(mq_dw_dsp_9_lut_##SUF, EXT, 1, 1, MQ_DW_RQ)                      \
    MQ_DW_DSP_GROUP(mq_dw_dsp_n_##SUF, EXT, 0, 0, MQ_DW_RQ)                          \
    MQ_DW_DSP_GROUP(mq_dw_dsp_n_lut_##SUF, EXT, 0, 1, MQ_DW_RQ)                      \
    MQ_DW_DSP_GROUP9(mq_dw_dsp_9z_##SUF, EXT, MQ_DW_RQZ, 0, "")                       \
    MQ_DW_DSP_GROUP9(mq_dw_dsp_9zf_##SUF, EXT, RQF, 1, PACKF)                         \
    MQ_DW_DSP_GROUP(mq_dw_dsp_nz_##SUF, EXT, 0, 0, MQ_DW_RQZ)

MQ_DW_DSP_GROUPS(s8, "sxtb16", MQ_DW_RQZS, MQ_DW_PACK_BFI)
MQ_DW_DSP_GROUPS(u8, "uxtb16", MQ_DW_RQZ, MQ_DW_PACK_ORR)

/* PKHBT lo, hi, LSL #16: (lo bottom, hi bottom); PKHTB hi, lo, ASR #16: (lo top, hi top) (halfwords: bottom first). */
static inline uint32_t mq_dw_dsp_pkbb(uint32_t lo, uint32_t hi)
{
    uint32_t d;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(d) : "r"(lo), "r"(hi));
    return d;
}

static inline uint32_t mq_dw_dsp_pktt(uint32_t lo, uint32_t hi)
{
    uint32_t d;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(d) : "r"(lo), "r"(hi));
    return d;
}

/* One unaligned word (int16 weights may sit at any even address). */
static inline uint32_t mq_dw_dsp_ld(const uint8_t *w)
{
    uint32_t v;
    memcpy(&v, w, 4);
    return v;
}

/* Requantization constants of one channel: {M, E-1, (2^30: set once per run), 2^(E-2) + zl * 2^(E-1)}; returns 1 when the channel is out of
 * the fast range (E - 1 - 1 >= e1lim, unsigned). */
/* The 3x3 weights of one group in the block's order: tap pairs (2P, 2P+1), per channel c (w[2P][c], w[2P+1][c]);
 * tap 8 as (c0, c2), (c1, c3). wg: the group's weights at tap 0, ws: bytes per tap. */
static __attribute__((noinline)) void mq_dw_dsp_wsetup(mq_dw_dsp_q *q, const uint8_t *wg, size_t ws)
{
    uint32_t a01, a23, b01, b23;
#define MQ_DW_DSP_PAIR(P)                                                 \
    a01 = mq_dw_dsp_ld(wg);                                               \
    a23 = mq_dw_dsp_ld(wg + 4);                                           \
    b01 = mq_dw_dsp_ld(wg + ws);                                          \
    b23 = mq_dw_dsp_ld(wg + ws + 4);                                      \
    wg += 2u * ws;                                                        \
    q->wp[P][0] = (int32_t)mq_dw_dsp_pkbb(a01, b01);                      \
    q->wp[P][1] = (int32_t)mq_dw_dsp_pktt(a01, b01);                      \
    q->wp[P][2] = (int32_t)mq_dw_dsp_pkbb(a23, b23);                      \
    q->wp[P][3] = (int32_t)mq_dw_dsp_pktt(a23, b23);
    MQ_DW_DSP_PAIR(0)
    MQ_DW_DSP_PAIR(1)
    MQ_DW_DSP_PAIR(2)
    MQ_DW_DSP_PAIR(3)
#undef MQ_DW_DSP_PAIR
    a01 = mq_dw_dsp_ld(wg);
    a23 = mq_dw_dsp_ld(wg + 4);
    q->w8[0] = (int32_t)mq_dw_dsp_pkbb(a01, a23);
    q->w8[1] = (int32_t)mq_dw_dsp_pktt(a01, a23);
}

static void mq_dw_s8_dsp_setup(const mq_dw_run *r, mq_dw_dsp_cache *cc);

/*
 * Per run: each group of 4 channels gets its constants (mq_dw_dsp_q) and its group function. The fast form needs
 * E = -shift >= 2 and |zl| * 2^(E-1) < 2^30 for all 4 channels, i.e. 1 <= E - 1 <= e1max = 30 - bitlength(|zl|)
 * (one unsigned compare per channel); other groups and the channel tail go through mq_dw_s8_c.
 */
void mq_dw_s8_dsp(const mq_dw_run *r)
{
    mq_dw_dsp_cache *const cc = (mq_dw_dsp_cache *)r->cache;
    if (cc != NULL && cc->ready == 3u) {
        /* a later run of a 3x3 no-LUT layer whose groups are all cached and fast: all groups in one call, no
         * per-run checks (the first run checked everything; set below) */
        cc->all(r, 0, cc->q, cc->ng);
        return;
    }
    mq_dw_s8_dsp_setup(r, cc);
}

static void mq_dw_s8_dsp_setup(const mq_dw_run *r, mq_dw_dsp_cache *cc)
{
    /* [UINT8][not 3x3][LUT][zl <= 0, no LUT: the shorter requantization] */
    static const mq_dw_dsp_fn fns[2][2][2][2] = {
        {{{mq_dw_dsp_9_s8, mq_dw_dsp_9z_s8}, {mq_dw_dsp_9_lut_s8, mq_dw_dsp_9_lut_s8}},
         {{mq_dw_dsp_n_s8, mq_dw_dsp_nz_s8}, {mq_dw_dsp_n_lut_s8, mq_dw_dsp_n_lut_s8}}},
        {{{mq_dw_dsp_9_u8, mq_dw_dsp_9z_u8}, {mq_dw_dsp_9_lut_u8, mq_dw_dsp_9_lut_u8}},
         {{mq_dw_dsp_n_u8, mq_dw_dsp_nz_u8}, {mq_dw_dsp_n_lut_u8, mq_dw_dsp_n_lut_u8}}}};
    const mq_depthwise_params *p = r->p;
    const int32_t cn = p->in_c;
    const int nine = r->ntaps == 9;
    const mq_dw_dsp_fn fn = fns[p->in_dtype == MQ_DTYPE_UINT8][nine ? 0 : 1][p->lut != NULL]
                               [p->out_zero_point <= p->act_min || p->single_rounding];
    /* the clamp is USAT's range: act_max - act_min == 255 with act_min the type's minimum */
    const int full = nine && p->lut == NULL && (p->out_zero_point <= p->act_min || p->single_rounding) &&
                     p->act_max - p->act_min == 255 && p->act_min == (p->in_dtype == MQ_DTYPE_UINT8 ? 0 : -128);
    const mq_dw_dsp_fn fnf = full ? (p->in_dtype == MQ_DTYPE_UINT8 ? mq_dw_dsp_9zf_u8 : mq_dw_dsp_9zf_s8) : fn;
    const uint8_t *w = (const uint8_t *)p->weights.data;
    const size_t ws = 2u * (size_t)cn;
    const size_t pstep = p->per_channel ? 1u : 0u;
    /* the value the constants fold in: zl = out_zero_point - act_min (USAT: r + zl), or for the INT8 whole-type clamp
     * (MQ_DW_RQZS: SSAT) the zero point itself (r + zp) */
    const uint32_t zl = (uint32_t)(full && p->in_dtype != MQ_DTYPE_UINT8 ? p->out_zero_point
                                                                         : p->out_zero_point - p->act_min);
    const uint32_t zla = (int32_t)zl < 0 ? 0u - zl : zl;
    /* e1 - 1 < e1lim, unsigned: 1 <= E - 1 <= 30 - bitlength(|zl|) (zl is a code difference: |zl| < 2^16) */
    const uint32_t nb = mq_dw_rq_bits(zla);
    const uint32_t e1lim = nb < 30u ? 30u - nb : 0u;
    const int32_t *mp = p->multiplier;
    const int32_t *sp = p->shift;
    const uint32_t ready = cc != NULL ? cc->ready : 0u;
    mq_dw_dsp_q local;
    int32_t c0;
    int32_t g;
    if (p->single_rounding && p->lut != NULL) {
        /* the LUT epilogues use the double-rounding MQ_DW_RQ: single rounding with a LUT goes the portable way */
        mq_dw_s8_c(r, 0, cn);
        return;
    }
    if (ready == 2u) {
        /* a later run of a layer whose groups are all cached and fast, no channel tail (see below); 3x3 no-LUT
         * layers do not get here (ready 3, mq_dw_s8_dsp) */
        const mq_dw_dsp_q *q = cc->q;
        for (c0 = 0; c0 < cn; c0 += 4, ++q) {
            fnf(r, c0, q, 1);
        }
        return;
    }
    for (c0 = 0, g = 0; c0 + 4 <= cn; c0 += 4, ++g) {
        const int cached = cc != NULL && g < MQ_DW_DSP_CACHED;
        mq_dw_dsp_q *q = cached ? &cc->q[g] : &local;
        uint32_t bad;
        if (cached && ready != 0u) {
            bad = (cc->bad >> g) & 1u; /* set up by the layer's first run */
        } else {
            q->h4 = (int32_t)(((uint32_t)(p->act_max - p->act_min) & 0xFFu) * 0x01010101u);
            q->lo4 = (int32_t)(((uint32_t)p->act_min & 0xFFu) * 0x01010101u);
            /* 2^30: the double-rounding start value's low word; 0: single rounding (MQ_DW_RQZ, mq_dw_rq_armv7.h) */
            q->c[0][2] = q->c[1][2] = q->c[2][2] = q->c[3][2] = p->single_rounding ? 0 : 0x40000000;
            bad = mq_dw_rq_consts(q->c[0], mp[0], sp[0], zl, e1lim);
            bad |= mq_dw_rq_consts(q->c[1], mp[pstep], sp[pstep], zl, e1lim);
            bad |= mq_dw_rq_consts(q->c[2], mp[2 * pstep], sp[2 * pstep], zl, e1lim);
            bad |= mq_dw_rq_consts(q->c[3], mp[3 * pstep], sp[3 * pstep], zl, e1lim);
            if (bad == 0u && nine) {
                mq_dw_dsp_wsetup(q, w + 2u * (size_t)c0, ws);
                memcpy(q->b, p->bias.folded + c0, sizeof q->b);
            }
            if (cached) {
                cc->bad = (cc->bad & ~(1u << g)) | (bad << g);
            }
        }
        mp += 4 * pstep;
        sp += 4 * pstep;
        if (bad != 0u) {
            mq_dw_s8_c(r, c0, c0 + 4);
        } else {
            fnf(r, c0, q, 1);
        }
    }
    if (cc != NULL) {
        /* 2: every group cached (cn <= 4 * MQ_DW_DSP_CACHED) and fast, no tail: later runs skip the checks */
        cc->ready = (cn % 4 == 0 && cn <= 4 * MQ_DW_DSP_CACHED && (cc->bad & ((1u << (cn / 4)) - 1u)) == 0u) ? 2u : 1u;
        if (cc->ready == 2u && nine && p->lut == NULL && cn > 0) {
            cc->all = fnf;
            cc->ng = cn / 4;
            cc->ready = 3u;
        }
    }
    if (c0 < cn) {
        mq_dw_s8_c(r, c0, cn);
    }
}

#endif /* __ARM_FEATURE_DSP */
