/*
 * mq_stream_fc_s8_*: the 8-bit FULLY_CONNECTED head of a pixel-streamed chain in partial-sum form.
 *   weights: N4K16-packed [n][k] (mq_pack_weights_n4k16: element (o, k) at ((o/4 * kc + k/16) * 4 + o%4) * 16 + k%16,
 *   kc = ceil(k / 16)); bias folded with the input zero point (mq_fold_bias), so the sum runs over the raw codes as the
 *   GEMM kernels do (x' = (int8)x for INT8, x - 128 for UINT8); accumulators uint32 (sums modulo 2^32, exactly the
 *   kernels' int32 arithmetic, so any order of the pixels gives the same bits); output stage: mq_output_stage or
 *   mq_output_single_rounding (mq_output_stage.h / mq_kernels_internal.h), as the unfused kernel's.
 */
#include "mq_kernels_internal.h"
#include "mq_output_stage.h"
#include "stream/mq_stream.h"

void mq_stream_fc_s8_init(const mq_fc_params *p, uint32_t *acc)
{
    int32_t o;
    for (o = 0; o < p->n; o++) {
        acc[o] = (uint32_t)p->bias.folded[o];
    }
}

void mq_stream_fc_s8_accumulate(const mq_fc_params *p, int32_t k0, int32_t c, const uint8_t *x, uint32_t *acc)
{
    const size_t kc = (size_t)((p->k + 15) / 16);
    const uint32_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0u : 0x80u;
    int32_t o;
    for (o = 0; o < p->n; o++) {
        const int8_t *wg = p->weights.packed + ((size_t)(o / 4) * kc * 4u + (size_t)(o % 4)) * 16u;
        uint32_t s = acc[o];
        size_t k = (size_t)k0;
        int32_t j = 0;
        while (j < c) {
            /* a run of consecutive weights of row o: up to the end of its 16-code block (N4K16: 64 bytes apart) */
            const int8_t *w = wg + (k / 16u) * 64u + (k % 16u);
            const int32_t run = (int32_t)(16u - k % 16u) < c - j ? (int32_t)(16u - k % 16u) : c - j;
            const uint8_t *xr = x + j;
            int32_t t;
            for (t = 0; t < run; t++) {
                s += (uint32_t)(((int32_t)((uint32_t)xr[t] ^ flip) - 128) * (int32_t)w[t]);
            }
            j += run;
            k += (size_t)run;
        }
        acc[o] = s;
    }
}

void mq_stream_fc_s8_finish(const mq_fc_params *p, const uint32_t *acc, uint8_t *y)
{
    int32_t o;
    for (o = 0; o < p->n; o++) {
        const int32_t q = p->per_channel ? o : 0;
        y[o] = p->single_rounding
                   ? mq_output_single_rounding(acc[o], p->multiplier[q], p->shift[q], p->out_zero_point, p->act_min,
                                               p->act_max, p->lut)
                   : mq_output_stage(mq_u32_to_i32(acc[o]), p->multiplier[q], p->shift[q], p->out_zero_point,
                                     p->act_min, p->act_max, p->lut);
    }
}
