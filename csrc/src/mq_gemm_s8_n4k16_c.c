/*
 * mq_gemm_s8_n4k16_c: portable C GEMM microkernel over N4K16-packed int8 weights.
 *
 * For each input row, for each group of 4 output channels: 4 int32 accumulators start at the folded bias,
 * accumulate x'[k] * W[n][k] over the 16-wide k chunks and then the k tail (the packed tail is zero, but the
 * input is never read past k), then requantize (TFLite double rounding), add the output zero point, clamp
 * and optionally look the code up in the epilogue LUT. Sums are computed in uint32 (wrap modulo 2^32,
 * exactly the documented int32 wrap semantics, no signed overflow).
 */
#include "mq_microkernels.h"

#include "mq_kernels_internal.h"

void mq_gemm_s8_n4k16_c(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                        uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t k_full = k & ~15;
    const int32_t kc = (k + 15) >> 4;
    const uint8_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0x80u : 0x00u;
    const int32_t lo = p->act_min;
    const int32_t hi = p->act_max;
    const int32_t zp = p->out_zero_point;
    const uint8_t *lut = p->lut;
    int32_t i;

    for (i = 0; i < m; ++i) {
        const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
        uint8_t *orow = out + (ptrdiff_t)i * out_stride;
        int32_t n0;
        for (n0 = 0; n0 < n; n0 += 4) {
            const int8_t *w = p->weights + (size_t)(n0 >> 2) * (size_t)kc * 64u;
            uint32_t acc[4];
            int32_t r;
            int32_t kk;
            for (r = 0; r < 4; ++r) {
                acc[r] = n0 + r < n ? (uint32_t)p->bias[n0 + r] : 0u;
            }
            for (kk = 0; kk < k_full; kk += 16) {
                int32_t j;
                for (j = 0; j < 16; ++j) {
                    const uint8_t b = (uint8_t)(xr[kk + j] ^ flip);
                    const int32_t xv = (int32_t)b - ((int32_t)(b & 0x80u) << 1);
                    acc[0] += (uint32_t)(xv * w[j]);
                    acc[1] += (uint32_t)(xv * w[16 + j]);
                    acc[2] += (uint32_t)(xv * w[32 + j]);
                    acc[3] += (uint32_t)(xv * w[48 + j]);
                }
                w += 64;
            }
            for (kk = k_full; kk < k; ++kk) {
                const int32_t j = kk - k_full;
                const uint8_t b = (uint8_t)(xr[kk] ^ flip);
                const int32_t xv = (int32_t)b - ((int32_t)(b & 0x80u) << 1);
                acc[0] += (uint32_t)(xv * w[j]);
                acc[1] += (uint32_t)(xv * w[16 + j]);
                acc[2] += (uint32_t)(xv * w[32 + j]);
                acc[3] += (uint32_t)(xv * w[48 + j]);
            }
            for (r = 0; r < 4 && n0 + r < n; ++r) {
                const int32_t c = p->per_channel ? n0 + r : 0;
                const int32_t v = mq_requantize_clamp(mq_u32_to_i32(acc[r]), p->multiplier[c], p->shift[c], zp, lo, hi);
                orow[n0 + r] = lut != NULL ? lut[(uint8_t)v] : (uint8_t)v;
            }
        }
    }
}
