/*
 * MicroQuant internal: the clipped window of one pooling output pixel (shared by mq_avg_pool and mq_max_pool
 * and their fast paths).
 */
#ifndef MICROQUANT_MQ_POOL_INTERNAL_H
#define MICROQUANT_MQ_POOL_INTERNAL_H

#include <stdint.h>

#include "microquant/mq_kernels.h"

/* [*lo, *hi) = [o*stride - pad, o*stride - pad + k) clipped to [0, in). Non-empty after mq_pool_check. */
static inline void mq_pool_window(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t in,
                                  int32_t *lo, int32_t *hi)
{
    const int32_t start = o * stride - pad;
    const int32_t end = start + k;
    *lo = start < 0 ? 0 : start;
    *hi = end > in ? in : end;
}

/* The portable average pool (every build; the reference the fast paths are tested against). */
mq_status mq_avg_pool_c(const mq_pool_params *p, const void *input, void *output);

/* Channel-block width of the fast average pool: int32 sums of this many channels live on the stack. */
#define MQ_POOL_BLOCK 64

/*
 * Fast-path window sums: sums[c] += sum_{t < taps} code(base[t * tap_stride + c]) for c < nch (<= MQ_POOL_BLOCK),
 * codes INT8 (is_s8) or UINT8. taps >= 1. DSP: SXTAB16/UXTAB16 into 16-bit lanes, widened every 256 taps;
 * MVE: VLDRB.S16/U16 + VADD.I16 (8 channels per vector, tail-predicated), widened every 256 taps.
 */
void mq_pool_sum_dsp(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, int32_t *sums);
void mq_pool_sum_mve(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, int32_t *sums);
/* x86-64 host (MQ_X86_HOST_KERNELS): AVX2 16-bit lanes (16 channels per step, widened every 256 taps) when the CPU
 * has it, else scalar. */
void mq_pool_sum_x86(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, int32_t *sums);

/* The portable mean over H, W. */
mq_status mq_mean_c(const mq_mean_params *p, const void *input, void *output);

/* The portable max pool. */
mq_status mq_max_pool_c(const mq_pool_params *p, const void *input, void *output);

/*
 * Fast-path window maxima: m[c] = max(m[c], code(base[t * tap_stride + c])) over t < taps, c < nch, on the bytes of
 * m (codes of the dtype; signed compare for INT8). DSP: SSUB8/USUB8 + SEL on 4 channels per word;
 * MVE: VMAX.S8/U8 on 16 channels per vector, tail-predicated.
 */
void mq_pool_max_dsp(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, uint8_t *m);
void mq_pool_max_mve(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, uint8_t *m);

#endif /* MICROQUANT_MQ_POOL_INTERNAL_H */
