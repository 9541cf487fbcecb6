/*
 * Test-only helpers for the GEMM / conv tests: random problem generation and the int64 reference of a
 * requantized dot product written from the definition (original bias, (x - zp) * w), independent of the
 * N4K16 packing, the bias folding and the signed-domain trick used by the library.
 */
#ifndef MQ_TESTS_REF_GEMM_H
#define MQ_TESTS_REF_GEMM_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_quant.h"

/* Everything one GEMM/conv problem needs, with the library-side prepared constants. */
typedef struct {
    int32_t n, k;
    int in_u8, out_u8;
    int32_t in_zp, out_zp, act_min, act_max;
    int per_channel;
    int8_t *w;          /* row-major (n, k) */
    int32_t *bias;      /* original bias */
    int32_t *folded;    /* mq_fold_bias */
    int8_t *packed;     /* mq_pack_weights_n4k16 */
    int32_t *mult, *shift;
    uint8_t lut[256];
    int use_lut;
    mq_fc_params p;
} ref_problem;

/* Reference output byte for one (row of codes, output channel). codes: k input bytes. */
static inline uint8_t ref_dot_out(const ref_problem *q, const uint8_t *codes, int32_t row)
{
    int64_t acc = q->bias[row];
    int32_t kk;
    int32_t c = q->per_channel ? row : 0;
    int64_t v;
    int32_t vc;
    for (kk = 0; kk < q->k; ++kk) {
        acc += (int64_t)(ref_code(codes[kk], q->in_u8) - q->in_zp) * (int64_t)q->w[(size_t)row * (size_t)q->k + (size_t)kk];
    }
    v = (int64_t)q->out_zp + ref_requantize(ref_wrap32(acc), q->mult[c], q->shift[c]);
    vc = (int32_t)(v < q->act_min ? q->act_min : (v > q->act_max ? q->act_max : v));
    return q->use_lut ? q->lut[ref_byte(vc)] : ref_byte(vc);
}

/* Reference output byte of a pixel that reads only the input zero point: requant(bias). */
static inline uint8_t ref_bias_out(const ref_problem *q, int32_t row)
{
    const int32_t c = q->per_channel ? row : 0;
    const int64_t v = (int64_t)q->out_zp + ref_requantize(q->bias[row], q->mult[c], q->shift[c]);
    const int32_t vc = (int32_t)(v < q->act_min ? q->act_min : (v > q->act_max ? q->act_max : v));
    return q->use_lut ? q->lut[ref_byte(vc)] : ref_byte(vc);
}

/* Options of a random problem. */
typedef struct {
    int in_u8, out_u8;
    int zp_mode;        /* 0 random, 1 dtype min, 2 dtype max, 3 "signed zero" (0 for INT8, 128 for UINT8) */
    int per_channel;
    int use_lut;
    int bias_mode;      /* 0 small random, 1 near INT32_MAX, 2 near INT32_MIN, 3 full int32 range */
    int shift_mode;     /* 0 realistic (outputs spread over the codes), 1 random over [-31, 30] */
    int w_mode;         /* 0 random [-128,127], 1 extremes only (-128 / 127) */
} ref_options;

/* Build a random problem (n, k); returns 0 when the folded bias would not fit int32 (caller retries). */
static inline int ref_problem_init(ref_problem *q, ref_rng *r, int32_t n, int32_t k, const ref_options *o)
{
    const int32_t in_lo = o->in_u8 ? 0 : -128;
    const int32_t in_hi = o->in_u8 ? 255 : 127;
    const int32_t out_lo = o->out_u8 ? 0 : -128;
    const int32_t out_hi = o->out_u8 ? 255 : 127;
    const size_t nk = (size_t)n * (size_t)k;
    const int32_t count = o->per_channel ? n : 1;
    size_t i;
    int32_t c;
    q->n = n;
    q->k = k;
    q->in_u8 = o->in_u8;
    q->out_u8 = o->out_u8;
    q->per_channel = o->per_channel;
    q->use_lut = o->use_lut;
    q->in_zp = o->zp_mode == 1 ? in_lo : (o->zp_mode == 2 ? in_hi : (o->zp_mode == 3 ? (o->in_u8 ? 128 : 0)
                                                                                   : (int32_t)ref_range(r, in_lo, in_hi)));
    q->out_zp = (int32_t)ref_range(r, out_lo, out_hi);
    q->act_min = (int32_t)ref_range(r, 0, 3) == 0 ? (int32_t)ref_range(r, out_lo, out_hi) : out_lo;
    q->act_max = (int32_t)ref_range(r, 0, 3) == 0 ? (int32_t)ref_range(r, q->act_min, out_hi) : out_hi;
    q->w = (int8_t *)malloc(nk);
    q->bias = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    q->folded = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    q->packed = (int8_t *)malloc(mq_packed_weights_size_n4k16(n, k));
    q->mult = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    q->shift = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    if (!q->w || !q->bias || !q->folded || !q->packed || !q->mult || !q->shift) {
        abort();
    }
    for (i = 0; i < nk; ++i) {
        q->w[i] = (int8_t)(o->w_mode == 1 ? (ref_range(r, 0, 1) ? 127 : -128) : ref_range(r, -128, 127));
    }
    for (c = 0; c < n; ++c) {
        switch (o->bias_mode) {
        case 1: q->bias[c] = (int32_t)(INT32_MAX - ref_range(r, 0, (int64_t)1 << 24)); break;
        case 2: q->bias[c] = (int32_t)(INT32_MIN + ref_range(r, 0, (int64_t)1 << 24)); break;
        case 3: q->bias[c] = (int32_t)ref_range(r, INT32_MIN, INT32_MAX); break;
        default: q->bias[c] = (int32_t)ref_range(r, -100000, 100000); break;
        }
    }
    for (c = 0; c < count; ++c) {
        if (o->shift_mode == 0) {
            /* real multiplier ~ 128 / (typical |acc| ~ 128*128*sqrt(k)) */
            double target = 1.0 / (128.0 * sqrt((double)k)) * (0.25 + 4.0 * ref_unit(r));
            if (mq_quantize_multiplier(target, &q->mult[c], &q->shift[c]) != MQ_OK) {
                abort();
            }
        } else {
            const int64_t pick = ref_range(r, 0, 15);
            /* 0, and powers of two times 1 or 3 (exact SRDHM ties), else random */
            q->mult[c] = pick == 0 ? 0 : (pick == 1 ? 1 << 30 : (pick == 2 ? 3 << 29 : ref_multiplier(r)));
            q->shift[c] = (int32_t)ref_range(r, MQ_SHIFT_MIN, MQ_SHIFT_MAX);
        }
    }
    for (i = 0; i < 256; ++i) {
        q->lut[i] = (uint8_t)ref_range(r, 0, 255);
    }
    if (mq_pack_weights_n4k16(q->w, n, k, q->packed, mq_packed_weights_size_n4k16(n, k)) != MQ_OK) {
        abort();
    }
    if (mq_fold_bias(q->w, q->bias, n, k, q->in_zp, o->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, q->folded) != MQ_OK) {
        return 0;
    }
    q->p.n = n;
    q->p.k = k;
    q->p.weights.packed = q->packed;
    q->p.bias.folded = q->folded;
    q->p.multiplier = q->mult;
    q->p.shift = q->shift;
    q->p.per_channel = o->per_channel;
    q->p.in_dtype = o->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    q->p.out_dtype = o->out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    q->p.out_zero_point = q->out_zp;
    q->p.act_min = q->act_min;
    q->p.act_max = q->act_max;
    q->p.lut = o->use_lut ? q->lut : NULL;
    q->p.single_rounding = 0;
    return 1;
}

static inline void ref_problem_free(ref_problem *q)
{
    free(q->w);
    free(q->bias);
    free(q->folded);
    free(q->packed);
    free(q->mult);
    free(q->shift);
}

/* Random options. */
static inline ref_options ref_random_options(ref_rng *r)
{
    ref_options o;
    o.in_u8 = (int)ref_range(r, 0, 1);
    o.out_u8 = (int)ref_range(r, 0, 1);
    o.zp_mode = (int)ref_range(r, 0, 3);
    o.per_channel = (int)ref_range(r, 0, 1);
    o.use_lut = ref_range(r, 0, 3) == 0;
    o.bias_mode = ref_range(r, 0, 3) == 0 ? 3 : 0;
    o.shift_mode = ref_range(r, 0, 3) == 0 ? 1 : 0;
    o.w_mode = ref_range(r, 0, 7) == 0 ? 1 : 0;
    return o;
}

/* Random input codes; sometimes all at one extreme. */
static inline void ref_fill_codes(ref_rng *r, uint8_t *x, size_t count)
{
    const int mode = (int)ref_range(r, 0, 7);
    size_t i;
    for (i = 0; i < count; ++i) {
        x[i] = mode == 0 ? 0x80u : (mode == 1 ? 0x7Fu : (mode == 2 ? (ref_range(r, 0, 1) ? 0x00u : 0xFFu)
                                                                    : (uint8_t)ref_range(r, 0, 255)));
    }
}

#endif /* MQ_TESTS_REF_GEMM_H */
