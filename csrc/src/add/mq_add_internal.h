/*
 * MicroQuant internal: the output loop of the tabulated same-shape ADD (mq_add.c) and its MVE fast path.
 */
#ifndef MICROQUANT_MQ_ADD_INTERNAL_H
#define MICROQUANT_MQ_ADD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * o[i] = clamp(zo + RDBPOT(SRDHM(t1[a[i]] + t2[b[i]], mo), ro), lo, hi) for i < n: TFLite's ADD output stage
 * (mq_requantize with shift -ro <= 0) on tabulated input terms. mo is 0 or in [2^30, 2^31); ro in [0, 31];
 * |t1[c]|, |t2[c]| <= 255 * 2^22 (so the sum and zo + the requantized value stay inside int32);
 * [lo, hi] inside the output dtype's code range.
 * mq_add_table_c: portable (every build; the reference the fast path is tested against).
 * mq_add_table_mve: Armv8.1-M MVE (Cortex-M55), bit-identical: VLDRB.U32 codes, two VLDRW gathers, VQRDMULH
 * (= SRDHM without its saturation case, which mo >= 0 excludes), x - 1 for negative x then VRSHL (= RDBPOT),
 * VMAX / VMIN, VSTRB.32; 4 elements per step, the tail predicated.
 */
void mq_add_table_c(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o, size_t n,
                    int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);
void mq_add_table_mve(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                      size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);
/* mq_add_table_dsp: Armv7E-M / Armv8-M DSP (Cortex-M4, M7, M33), bit-identical: one SMLAL for the SRDHM + RDBPOT
 * pair (+ one for the sign term), USAT8, the clamp's MIN and + lo bytewise on 4 packed codes, one STR per 4
 * elements; ro = 0, ro > 21 and the last n % 4 elements through mq_add_table_c (mq_add_table_dsp.c). */
void mq_add_table_dsp(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                      size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);

/*
 * x86-64 host only (mq_add_table_x86.c, under MQ_X86_HOST_KERNELS from mq_microkernels.h), bit-identical:
 * mq_add_table_x86: the dispatcher (AVX-512 VBMI, else AVX-512 F + BW, else AVX2, else mq_add_table_c; checked
 * once); mq_add_table_vbmi / mq_add_table_avx512 / mq_add_table_avx2: the variants (call only where
 * mq_add_table_x86_supported("avx512vbmi") / ("avx512") / ("avx2") says the CPU has them; "c" always is).
 */
void mq_add_table_x86(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                      size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);
void mq_add_table_avx2(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                       size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);
void mq_add_table_avx512(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                         size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);
void mq_add_table_vbmi(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                       size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi);
int mq_add_table_x86_supported(const char *name);

#endif /* MICROQUANT_MQ_ADD_INTERNAL_H */
