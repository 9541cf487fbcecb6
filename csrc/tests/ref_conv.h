/*
 * Test-only reference for KxK and depthwise convolution, written from TFLite's definition, independently of the
 * library: direct nested loops over output pixels and taps on the RAW weights and RAW bias, int64 sums of
 * (x - in_zero_point) * w over the taps inside the input (padded taps contribute nothing), wrapped to the int32
 * accumulator, then ref_requantize (ref_quant.h), + output zero point, clamp, optional LUT.
 *   conv:      w[o][ky][kx][c]   (OHWI, TFLite CONV_2D), output channels out_c
 *   depthwise: w[ky][kx][o]      (TFLite [1, kh, kw, out_c]), o = c * mult + m reads input channel c
 */
#ifndef MQ_TESTS_REF_CONV_H
#define MQ_TESTS_REF_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "ref_quant.h"

typedef struct {
    int32_t batch, in_h, in_w, in_c;
    int32_t kh, kw, sh, sw, dh, dw;
    int32_t pt, pb, pl, pr;
    int32_t out_h, out_w, out_c;
    int32_t mult;                  /* depthwise: depth multiplier; conv: 0 */
    int in_u8, out_u8;
    int32_t in_zp, out_zp, act_min, act_max;
    int per_channel;
    const int8_t *w;
    const int32_t *bias;           /* may be NULL (zero) */
    const int32_t *qm, *qs;        /* multipliers / shifts: out_c entries or 1 */
    const uint8_t *lut;            /* may be NULL */
    int single;                    /* 1: single rounding (ref_requantize_single64), 0: TFLite's double rounding */
} ref_layer;

/* Single rounding of the accumulator (wrapped to int32 as the kernels' sums): floor((acc * M + 2^(30 - shift)) /
 * 2^(31 - shift)) in int64, saturated to int32 (onnxruntime's QLinearConv, docs/QUANTIZATION.md section 3). */
static inline int32_t ref_requantize_single64(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int e = 31 - shift;
    const int64_t q = ref_floor_div_pow2((int64_t)ref_wrap32(acc) * multiplier + ((int64_t)1 << (e - 1)), e);
    return q > INT32_MAX ? INT32_MAX : (q < INT32_MIN ? INT32_MIN : (int32_t)q);
}

/* Output size by counting: positions o >= 0 with o*stride + (k-1)*d <= in + pa + pb - 1. */
static inline int32_t ref_out_dim(int32_t in, int32_t pa, int32_t pb, int32_t k, int32_t d, int32_t s)
{
    int32_t n = 0;
    while ((int64_t)n * s + (int64_t)(k - 1) * d <= (int64_t)in + pa + pb - 1) {
        ++n;
    }
    return n;
}

static inline uint8_t ref_layer_out(const ref_layer *L, const uint8_t *x, int32_t b, int32_t oy, int32_t ox, int32_t o)
{
    int64_t acc = L->bias != NULL ? L->bias[o] : 0;
    int32_t ky, kx, c, v;
    const int32_t qi = L->per_channel ? o : 0;
    for (ky = 0; ky < L->kh; ++ky) {
        for (kx = 0; kx < L->kw; ++kx) {
            const int64_t iy = (int64_t)oy * L->sh - L->pt + (int64_t)ky * L->dh;
            const int64_t ix = (int64_t)ox * L->sw - L->pl + (int64_t)kx * L->dw;
            const uint8_t *px;
            if (iy < 0 || iy >= L->in_h || ix < 0 || ix >= L->in_w) {
                continue;
            }
            px = x + (((size_t)b * (size_t)L->in_h + (size_t)iy) * (size_t)L->in_w + (size_t)ix) * (size_t)L->in_c;
            if (L->mult > 0) {
                c = o / L->mult;
                acc += (int64_t)(ref_code(px[c], L->in_u8) - L->in_zp) *
                       L->w[((size_t)ky * (size_t)L->kw + (size_t)kx) * (size_t)L->out_c + (size_t)o];
            } else {
                for (c = 0; c < L->in_c; ++c) {
                    acc += (int64_t)(ref_code(px[c], L->in_u8) - L->in_zp) *
                           L->w[(((size_t)o * (size_t)L->kh + (size_t)ky) * (size_t)L->kw + (size_t)kx) * (size_t)L->in_c +
                                (size_t)c];
                }
            }
        }
    }
    {
        const int64_t r = L->single ? ref_requantize_single64(acc, L->qm[qi], L->qs[qi])
                                    : ref_requantize64(acc, L->qm[qi], L->qs[qi]);
        const int64_t v64 = r + L->out_zp;
        v = (int32_t)(v64 < L->act_min ? L->act_min : (v64 > L->act_max ? L->act_max : v64));
    }
    v = v < L->act_min ? L->act_min : (v > L->act_max ? L->act_max : v);
    return L->lut != NULL ? L->lut[ref_byte(v)] : ref_byte(v);
}

/* Whole output [batch, out_h, out_w, out_c]. */
static inline void ref_layer_run(const ref_layer *L, const uint8_t *x, uint8_t *y)
{
    int32_t b, oy, ox, o;
    size_t i = 0;
    for (b = 0; b < L->batch; ++b) {
        for (oy = 0; oy < L->out_h; ++oy) {
            for (ox = 0; ox < L->out_w; ++ox) {
                for (o = 0; o < L->out_c; ++o) {
                    y[i++] = ref_layer_out(L, x, b, oy, ox, o);
                }
            }
        }
    }
}

#endif /* MQ_TESTS_REF_CONV_H */
