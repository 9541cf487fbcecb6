/*
 * MicroQuant bench/: independent references shared by the fast-path kernel test and the device
 * benchmark. Written from the documented formulas (mq_kernels.h, docs/QUANTIZATION.md), not from
 * the kernels: N4K16 packing, int64 accumulation wrapped to int32, and TFLite requantization
 * re-derived as floor / round-half-away-from-zero arithmetic in int64.
 */
#ifndef MQ_BENCH_REF_H
#define MQ_BENCH_REF_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels.h"

/* xorshift32 pseudo-random generator (deterministic, seed != 0). */
static inline uint32_t mq_ref_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* Uniform integer in [lo, hi]. */
static inline int32_t mq_ref_range(uint32_t *s, int32_t lo, int32_t hi)
{
    const uint32_t span = (uint32_t)(hi - lo) + 1u;
    return lo + (int32_t)(span == 0u ? mq_ref_rand(s) : mq_ref_rand(s) % span);
}

/* Row-major (n, k) int8 -> N4K16: packed[((g*KC + c)*4 + r)*16 + j] = W[4g + r][16c + j], zero padded. */
static inline void mq_ref_pack(const int8_t *w, int32_t n, int32_t k, int8_t *packed)
{
    const int32_t kc = (k + 15) / 16;
    const int32_t groups = (n + 3) / 4;
    int32_t g, c, r, j;
    for (g = 0; g < groups; g++) {
        for (c = 0; c < kc; c++) {
            for (r = 0; r < 4; r++) {
                for (j = 0; j < 16; j++) {
                    const int32_t row = 4 * g + r;
                    const int32_t col = 16 * c + j;
                    packed[((g * kc + c) * 4 + r) * 16 + j] =
                        (row < n && col < k) ? w[(size_t)row * (size_t)k + (size_t)col] : (int8_t)0;
                }
            }
        }
    }
}

/* floor(a / 2^e) for int64 a, e in [0, 62], written without relying on >> of negatives. */
static inline int64_t mq_ref_floor_div_pow2(int64_t a, int32_t e)
{
    const int64_t d = (int64_t)1 << e;
    int64_t q = a / d;            /* truncates toward zero */
    if (q * d != a && a < 0) {
        q -= 1;
    }
    return q;
}

/*
 * TFLite MultiplyByQuantizedMultiplier, re-derived:
 *   a = acc * 2^L wrapped to int32; h = round_half_up(a * M / 2^31), saturated (only a = M = INT32_MIN);
 *   result = h / 2^E rounded to nearest, ties away from zero.
 */
static inline int32_t mq_ref_requant(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t wrapped = (int64_t)(uint32_t)((uint32_t)acc << left);
    const int32_t a = (int32_t)(wrapped >= 2147483648LL ? wrapped - 4294967296LL : wrapped);
    int64_t h = mq_ref_floor_div_pow2((int64_t)a * (int64_t)multiplier + ((int64_t)1 << 30), 31);
    int64_t mag, r;
    if (h > INT32_MAX) {
        h = INT32_MAX;
    }
    if (right == 0) {
        return (int32_t)h;
    }
    mag = h < 0 ? -h : h;
    r = (mag + ((int64_t)1 << (right - 1))) / ((int64_t)1 << right);
    return (int32_t)(h < 0 ? -r : r);
}

/*
 * Single rounding (onnxruntime / TFLite's own FC), re-derived: acc * M * 2^(shift - 31) rounded once to the nearest
 * integer, ties toward +infinity: floor((acc * M + 2^(30 - shift)) / 2^(31 - shift)) in int64 (|acc * M| < 2^62),
 * saturated to int32. No wrap of acc << shift: the whole product is exact.
 */
static inline int32_t mq_ref_requant_single(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int e = 31 - shift;
    const int64_t q = mq_ref_floor_div_pow2((int64_t)acc * (int64_t)multiplier + ((int64_t)1 << (e - 1)), e);
    return q > INT32_MAX ? INT32_MAX : (q < INT32_MIN ? INT32_MIN : (int32_t)q);
}

/*
 * Reference GEMM from the ROW-MAJOR weights w (n, k): out[i][c] for i < m, c < n.
 * Accumulation in int64, reduced modulo 2^32 to int32 (the documented wrap).
 */
static inline void mq_ref_gemm(const mq_fc_params *p, const int8_t *w, int32_t m, const uint8_t *x,
                               int32_t x_stride, uint8_t *out, int32_t out_stride)
{
    int32_t i, c, j;
    for (i = 0; i < m; i++) {
        for (c = 0; c < p->n; c++) {
            int64_t s = p->bias.folded[c];
            int64_t v;
            int32_t acc;
            uint32_t u;
            for (j = 0; j < p->k; j++) {
                const uint8_t b = x[(size_t)i * (size_t)x_stride + (size_t)j];
                const int32_t xs = p->in_dtype == MQ_DTYPE_UINT8 ? (int32_t)b - 128
                                                                 : (b >= 128 ? (int32_t)b - 256 : (int32_t)b);
                s += (int64_t)xs * (int64_t)w[(size_t)c * (size_t)p->k + (size_t)j];
            }
            u = (uint32_t)(uint64_t)s;
            acc = u >= 0x80000000u ? (int32_t)(u - 0x80000000u) - (int32_t)0x7FFFFFFF - 1 : (int32_t)u;
            v = (int64_t)p->out_zero_point +
                (p->single_rounding ? mq_ref_requant_single : mq_ref_requant)(acc, p->multiplier[p->per_channel ? c : 0],
                                                                             p->shift[p->per_channel ? c : 0]);
            if (v < p->act_min) {
                v = p->act_min;
            }
            if (v > p->act_max) {
                v = p->act_max;
            }
            out[(size_t)i * (size_t)out_stride + (size_t)c] =
                p->lut != NULL ? p->lut[(uint8_t)(v & 0xFF)] : (uint8_t)(v & 0xFF);
        }
    }
}

#endif /* MQ_BENCH_REF_H */
