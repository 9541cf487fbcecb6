/*
 * MicroQuant internal: helpers shared by the x86-64 host GEMM microkernels (mq_gemm_s8_n4k16_avx2.c,
 * mq_gemm_s8_n4k16_avx512vnni.c). Plain C, no vector types: the vector code stays in the kernel files
 * under their own __attribute__((target(...))).
 */
#ifndef MICROQUANT_MQ_GEMM_X86_INTERNAL_H
#define MICROQUANT_MQ_GEMM_X86_INTERNAL_H

#include <stdint.h>

#include "mq_microkernels.h"
#include "microquant/mq_quant.h"

/*
 * The portable output stage of one output channel c (same formula as mq_gemm_s8_n4k16_c and _sse2):
 * s = bias[c] + dot (modulo 2^32, the documented int32 wrap), mq_requantize (TFLite double rounding),
 * + out_zero_point in int64, clamp to [act_min, act_max], optional LUT.
 */
static inline uint8_t mq_gemm_x86_out1(const mq_fc_params *p, int32_t c, uint32_t dot)
{
    const int32_t ch = p->per_channel ? c : 0;
    const uint32_t s = (uint32_t)p->bias[c] + dot;
    const int32_t a = s <= (uint32_t)INT32_MAX ? (int32_t)s : -(int32_t)(~s) - 1;
    const int64_t v = (int64_t)p->out_zero_point + mq_requantize(a, p->multiplier[ch], p->shift[ch]);
    const int32_t cl = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : (int32_t)v);
    return p->lut != NULL ? p->lut[(uint8_t)cl] : (uint8_t)cl;
}

#endif /* MICROQUANT_MQ_GEMM_X86_INTERNAL_H */
