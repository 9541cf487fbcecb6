/*
 * MicroQuant internal: microkernels (tiny, hot, layout-specific) and their compile-time dispatch.
 * Operators (mq_fully_connected, mq_conv1x1, mq_lut_apply, ...) check shapes and call these.
 *
 * Every variant of a microkernel gives bit-identical results. The portable C variant is always
 * compiled (and tested on the host); the DSP (Cortex-M4/M7/M33, __ARM_FEATURE_DSP) and MVE
 * (Cortex-M55, __ARM_FEATURE_MVE) variants are compiled only for targets that have the feature.
 */
#ifndef MICROQUANT_MQ_MICROKERNELS_H
#define MICROQUANT_MQ_MICROKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels.h"

/*
 * GEMM microkernel, N4K16-packed int8 weights (see mq_kernels.h), requantization + clamp + optional LUT epilogue.
 * Computes out[i][0..n) for input rows i in [0, m): row i starts at x + i * x_stride (k codes of p->in_dtype),
 * output row i at out + i * out_stride (n bytes). p is already checked by the operator.
 */
void mq_gemm_s8_n4k16_c(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                        uint8_t *out, int32_t out_stride);
void mq_gemm_s8_n4k16_dsp(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride);
void mq_gemm_s8_n4k16_mve(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride);

/* Channels [c0, c0 + n) of a GEMM layer (c0 a multiple of 4): the same layer over that slice of its N4K16 weight
 * groups, folded bias and (per channel) requantization constants; what the fast kernels hand a fallback. */
static inline mq_fc_params mq_fc_params_channels(const mq_fc_params *p, int32_t c0, int32_t n)
{
    mq_fc_params sub = *p;
    sub.n = n;
    sub.weights.packed = p->weights.packed + (size_t)(c0 >> 2) * (size_t)((p->k + 15) >> 4) * 64u;
    sub.bias.folded = p->bias.folded + c0;
    if (p->per_channel) {
        sub.multiplier = p->multiplier + c0;
        sub.shift = p->shift + c0;
    }
    return sub;
}

/*
 * Depthwise convolution microkernels: a run of npix consecutive output pixels of one image row; pixel i's taps
 * are taps[i * ntaps + t], t < ntaps (tap t = ky * kernel_w + kx; a padded tap points at a pixel of in_zero_point
 * codes). For every output channel o in the range (input channel c = o / M):
 *   acc = bias[o] + sum_t x(taps[i * ntaps + t])[c] * W[t][o]    (x: the raw code value, W: int16 weights,
 *                                                                   bias folded with in_zero_point: mq_host.h)
 *   out[i * out_c + o] = mq_output_stage(acc, ...)                (mq_output_stage.h)
 * p is already checked by the operator. The portable kernel takes any depth multiplier and a channel range;
 * the fast variants take depth multiplier 1 and all channels (their channel tail goes to the portable one).
 */
typedef struct {
    const mq_depthwise_params *p;
    const uint8_t *const *taps;
    int32_t ntaps;
    int32_t npix;      /* 1 .. MQ_DW_TAP_BUFFER / ntaps */
    uint8_t *out;      /* output pixel 0, channel 0; pixel stride out_c */
    void *cache;       /* NULL, or MQ_DW_CACHE_BYTES (4-byte aligned) kept by the operator over all runs of one call:
                          the fast kernel keeps its per-group set-up there; its first word = 0 before the first run */
} mq_dw_run;

#define MQ_DW_MAX_TAPS 64       /* kernel_h * kernel_w limit */
#define MQ_DW_TAP_BUFFER 144    /* tap pointers per run (the operator's stack array, 576 B on 32-bit): 16 pixels of a 3x3 kernel */

/* Stack bytes the operator sets aside for the fast kernel's set-up cache (0: none). DSP: the constants, weight
 * pairs and bias of the first 16 groups of 4 channels (mq_dw_s8_dsp.c; Armv7-M: mq_dw_s8_v7m.c, the same way), so a
 * layer computed row by row (the in-place variant: one run per output row) sets each group up once, not once per row. */
#if ((defined(__ARM_FEATURE_DSP) && !defined(__ARM_FEATURE_MVE)) || defined(__ARM_ARCH_7M__)) && \
    !defined(MQ_FORCE_PORTABLE)
#define MQ_DW_CACHE_BYTES 2576
#else
#define MQ_DW_CACHE_BYTES 0
#endif

void mq_dw_s8_c(const mq_dw_run *r, int32_t o_begin, int32_t o_end);
void mq_dw_s8_dsp(const mq_dw_run *r);
void mq_dw_s8_mve(const mq_dw_run *r);
void mq_dw_s8_v7m(const mq_dw_run *r);

/* 256-entry table lookup over n bytes; in place allowed. */
void mq_lut_u8_c(const uint8_t *table, const uint8_t *in, uint8_t *out, size_t n);
void mq_lut_u8_dsp(const uint8_t *table, const uint8_t *in, uint8_t *out, size_t n);
void mq_lut_u8_mve(const uint8_t *table, const uint8_t *in, uint8_t *out, size_t n);

/* Armv7-M without DSP (Cortex-M3): LDRSB + MLA variant (compiled for __ARM_ARCH_7M__ only). */
void mq_gemm_s8_n4k16_v7m(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride);

/* x86-64 host (SSE2 is baseline): the simulator's fast path (compiled for __SSE2__ on x86-64 only). */
void mq_gemm_s8_n4k16_sse2(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                           uint8_t *out, int32_t out_stride);

/*
 * x86-64 host, chosen at RUN time (the simulator's fast path on CPUs that have the instructions). Compiled
 * with per-function __attribute__((target("..."))) -- no global -mavx flags, so every x86-64 build (SwiftPM,
 * CMake, any -march) compiles them; on other targets and compilers without the attribute they are absent
 * (MQ_X86_HOST_KERNELS undefined). Bit-identical to mq_gemm_s8_n4k16_c; the output stage is the portable one.
 *   _avx512vnni: VPDPBUSD on one zmm = one 4-row x 16-k N4K16 block (needs AVX-512 F + BW + VNNI);
 *   _avx2:       VPMOVSXBW + VPMADDWD (no saturating VPMADDUBSW);
 *   _x86:        the dispatcher: picks the best of avx512vnni / avx2 / sse2 with __builtin_cpu_supports on
 *                its first call and caches the choice (mq_gemm_s8_n4k16_x86_name() says which).
 * Call _avx512vnni / _avx2 directly only where mq_gemm_s8_n4k16_x86_supported() says the CPU has them.
 */
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__SSE2__) && !defined(_MSC_VER) && \
    ((defined(__clang__) && __clang_major__ >= 11) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 9))
#define MQ_X86_HOST_KERNELS 1
void mq_gemm_s8_n4k16_avx2(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                           uint8_t *out, int32_t out_stride);
void mq_gemm_s8_n4k16_avx512vnni(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                                 uint8_t *out, int32_t out_stride);
void mq_gemm_s8_n4k16_x86(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride);
/* The AVX-512 VNNI kernel's K4N16 path on indirect rows (call only where mq_gemm_s8_n4k16_x86_supported
 * ("avx512vnni")): row i's k codes are kh runs of k / kh codes (k % (4 kh) == 0), run t at rows[i] + t *
 * strides[i] (an im2col without the copy); the same sums and output stage as mq_gemm_s8_n4k16_avx512vnni on the
 * gathered rows: the same bytes. Returns 0 (nothing written) where that path does not apply (k, output stage,
 * weights beyond its 64 KiB repack buffer), else 1. */
int mq_gemm_s8_n4k16_avx512vnni_ind(const mq_fc_params *p, int32_t m, const uint8_t *const *rows,
                                    const ptrdiff_t *strides, int32_t kh, uint8_t *out, int32_t out_stride);
/* 1 if this CPU (and OS) can run variant name ("sse2", "avx2", "avx512vnni"), else 0. */
int mq_gemm_s8_n4k16_x86_supported(const char *name);
/* Depthwise (depth multiplier 1) on x86-64: AVX-512 VNNI when the CPU has it and the run's weights fit int8, else
 * AVX2 when the CPU has it (checked once), else mq_dw_s8_c. mq_dw_s8_x86_select("c" | "avx2" | "avx512vnni", or
 * NULL for the best) forces a variant for tests and benchmarks; returns 0 (and changes nothing) when the CPU
 * lacks it or the name is unknown. */
void mq_dw_s8_x86(const mq_dw_run *r);
int mq_dw_s8_x86_select(const char *name);
/* A whole depthwise layer (p checked, all p->win.batch images; pad: the in_zero_point pixel, NULL when unpadded)
 * by the AVX-512 VNNI kernel, each channel group set up once: returns 1 when done, 0 (nothing written) when that
 * kernel does not apply (CPU, variant selected, depth multiplier > 1, weights beyond int8, act_min > act_max). */
int mq_dw_s8_x86_layer(const mq_depthwise_params *p, const void *input, void *output, const void *pad);
/* A whole KxK convolution (p checked, dilation 1, round_up(k, 16) <= 1024) with im2col blocks of up to 256 pixels
 * on the stack and the dispatched GEMM (mq_conv_x86.c): returns 1 when done, 0 (nothing written) otherwise.
 * mq_conv_x86_select: which im2col block builder it uses ("c": scalar, "avx512": mq_conv_im2col_avx512, NULL: the
 * best this CPU has, the default); returns 0 (nothing changed) when the CPU lacks it or the name is unknown. */
int mq_conv_x86(const mq_conv_params *p, const void *input, void *output);
int mq_conv_x86_select(const char *name);
/* One im2col block of mq_conv_x86 on AVX-512 BW (mq_conv_im2col_avx512.c): rows of row_bytes codes for the
 * output pixels from pos = {image, oy, ox} (advanced past them), the same bytes as mq_conv_x86's scalar block
 * (col: rows x row_bytes + 64 writable bytes; the last 64 may be overwritten);
 * call only where mq_conv_im2col_avx512_supported() (AVX-512 F + BW + BMI2) returns 1. */
void mq_conv_im2col_avx512(const mq_conv_params *p, const uint8_t *in, uint8_t *col, int32_t row_bytes, int32_t rows,
                           int32_t pos[3]);
/* The same pixels as indirect rows (mq_gemm_s8_n4k16_avx512vnni_ind): rowp[r] / strides[r] = the window's first
 * code in the input and the input row pitch when it lies wholly inside the input, else a row gathered into col
 * (as above, same col contract) and the kernel-row pitch kernel_w x in_c. */
void mq_conv_rows_avx512(const mq_conv_params *p, const uint8_t *in, uint8_t *col, int32_t row_bytes, int32_t rows,
                         int32_t pos[3], const uint8_t **rowp, ptrdiff_t *strides);
int mq_conv_im2col_avx512_supported(void);
/* Name of the variant the dispatcher runs ("avx512vnni", "avx2" or "sse2"); the environment variable
 * MQ_HOST_GEMM (one of those names, or "c" for the portable kernel) overrides the choice if the CPU has it. */
const char *mq_gemm_s8_n4k16_x86_name(void);
#endif

/* Dispatch: the best variant for the target, chosen at compile time (x86-64 hosts: at run time).
 * MQ_FORCE_PORTABLE forces the C variants (used by tests and benchmarks to compare paths). */
#if defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
#define MQ_GEMM_S8_N4K16 mq_gemm_s8_n4k16_mve
#define MQ_LUT_U8 mq_lut_u8_mve
#elif defined(__ARM_FEATURE_DSP) && !defined(MQ_FORCE_PORTABLE)
#define MQ_GEMM_S8_N4K16 mq_gemm_s8_n4k16_dsp
#define MQ_LUT_U8 mq_lut_u8_dsp
/* the DSP GEMM's assembly pair loop needs k % 4 == 0 (k <= 128) or k % 16 == 0: im2col rows are padded (mq_conv) */
#define MQ_GEMM_K_PAD16 1
#elif defined(__ARM_ARCH_7M__) && !defined(MQ_FORCE_PORTABLE)
#define MQ_GEMM_S8_N4K16 mq_gemm_s8_n4k16_v7m
#define MQ_LUT_U8 mq_lut_u8_c
#elif defined(MQ_X86_HOST_KERNELS) && !defined(MQ_FORCE_PORTABLE)
#define MQ_GEMM_S8_N4K16 mq_gemm_s8_n4k16_x86
#define MQ_LUT_U8 mq_lut_u8_c
#elif defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64)) && !defined(MQ_FORCE_PORTABLE)
#define MQ_GEMM_S8_N4K16 mq_gemm_s8_n4k16_sse2
#define MQ_LUT_U8 mq_lut_u8_c
#else
#define MQ_GEMM_S8_N4K16 mq_gemm_s8_n4k16_c
#define MQ_LUT_U8 mq_lut_u8_c
#endif

/*
 * One batch-1 GEMM row of a layer run many times on the same parameters (the pixel-streamed chain's one-pixel 1x1
 * convolutions, mq_model_run.c): MQ_GEMM_ROW_READY(p), once per layer, decides what MQ_GEMM_S8_N4K16(p, 1, ...)
 * decides on every call; MQ_GEMM_ROW(p, ready, x, out) then computes out[0..n) from x[0..k), the same bytes as
 * MQ_GEMM_S8_N4K16(p, 1, x, k, out, n). DSP: ready = the GEMV loop takes every row (weights word-aligned, n % 4 == 0,
 * every shift <= -1, k <= 768, the loop compiled in), then the row runs that loop without the per-call checks and
 * dispatch; otherwise (and on the other targets) the ordinary call.
 */
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
int32_t mq_gemm_s8_n4k16_dsp_row_ready(const mq_fc_params *p);
/* only where mq_gemm_s8_n4k16_dsp_row_ready(p) returned 1 */
void mq_gemm_s8_n4k16_dsp_row(const mq_fc_params *p, const uint8_t *x, uint8_t *out);
#define MQ_GEMM_ROW_READY(p) mq_gemm_s8_n4k16_dsp_row_ready(p)
#define MQ_GEMM_ROW(p, ready, x, out)                                                                     \
    ((ready) ? mq_gemm_s8_n4k16_dsp_row((p), (x), (out))                                                 \
             : MQ_GEMM_S8_N4K16((p), 1, (x), (p)->k, (out), (p)->n))
#else
#define MQ_GEMM_ROW_READY(p) ((void)(p), 0)
#define MQ_GEMM_ROW(p, ready, x, out) ((void)(ready), MQ_GEMM_S8_N4K16((p), 1, (x), (p)->k, (out), (p)->n))
#endif

#ifndef MQ_GEMM_K_PAD16
#define MQ_GEMM_K_PAD16 0
#endif

/* MQ_GEMM_IN_PLACE(p): 1 when MQ_GEMM_S8_N4K16(p, m, x, k, out, n) may write its output over its input, output row
 * i starting where input row i starts (n <= k: it lies within input rows 0..i; mq_conv1x1_inplace): every input
 * row is read before any output byte over it is stored. MVE: the row-outer path taking every group (row by row, in
 * order). DSP: the pair loop taking every group (each block of up to 1024 / k pairs expanded to stack lanes before
 * its outputs are stored; a block's outputs end where the next block's input rows begin) and the GEMV loop for an
 * odd last row (mq_gemm_s8_n4k16_dsp_in_place). 0 for the other variants (group-outer loops re-read the rows). */
#if defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
int mq_gemm_s8_n4k16_mve_rowwise(const mq_fc_params *p);
#define MQ_GEMM_IN_PLACE(p) mq_gemm_s8_n4k16_mve_rowwise(p)
#elif defined(__ARM_FEATURE_DSP) && !defined(MQ_FORCE_PORTABLE)
int mq_gemm_s8_n4k16_dsp_in_place(const mq_fc_params *p);
#define MQ_GEMM_IN_PLACE(p) mq_gemm_s8_n4k16_dsp_in_place(p)
#else
#define MQ_GEMM_IN_PLACE(p) 0
#endif

/* Cortex-M55: mq_conv's im2col by Helium vector copies, UINT8 codes made signed while copied (mq_conv_mve.c; p
 * checked, scratch as mq_conv): returns 1 when done, 0 (nothing written) when the layer is not one it takes. */
#if defined(__ARM_FEATURE_MVE)
int mq_conv_mve(const mq_conv_params *p, const void *input, void *output, void *scratch);
#endif

/* Depthwise (depth multiplier 1) microkernel of the target. */
#if defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
#define MQ_DW_S8(run) mq_dw_s8_mve(run)
#elif defined(__ARM_FEATURE_DSP) && !defined(MQ_FORCE_PORTABLE)
#define MQ_DW_S8(run) mq_dw_s8_dsp(run)
#elif defined(__ARM_ARCH_7M__) && !defined(MQ_FORCE_PORTABLE)
#define MQ_DW_S8(run) mq_dw_s8_v7m(run)
#elif defined(MQ_X86_HOST_KERNELS) && !defined(MQ_FORCE_PORTABLE)
#define MQ_DW_S8(run) mq_dw_s8_x86(run)
#else
#define MQ_DW_S8(run) mq_dw_s8_c((run), 0, (run)->p->in_c)
#endif

#endif /* MICROQUANT_MQ_MICROKERNELS_H */
