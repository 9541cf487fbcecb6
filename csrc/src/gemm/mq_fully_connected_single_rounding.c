/*
 * mq_fully_connected_single_rounding: FULLY_CONNECTED as TensorFlow Lite's own int8 kernel computes it
 * (ai-edge-litert; packed models with MQ_MODEL_FLAG_SINGLE_ROUNDING_FC). Same shapes, layouts and prepared constants as
 * mq_fully_connected (N4K16-packed weights, folded bias, signed-domain input, docs/QUANTIZATION.md
 * section 4); only the requantization differs: mq_requantize_single (one rounding, ties toward +inf)
 * instead of mq_requantize (double rounding).
 *
 * A plain portable loop, one output at a time: this mode exists to reproduce the host reference byte for
 * byte, not for speed on the device. Input [batch, k], output [batch, n]; checks as mq_fully_connected.
 *
 * mq_fc_portable_unchecked: the same loop (the output stage mq_output_single_rounding, which is the same arithmetic
 * as below), or with f32 = 1 onnxruntime's float32 output stage emulated in integers (mq_output_f32_emul; the runtime
 * runs every FULLY_CONNECTED of a model with MQ_MODEL_FLAG_ORT_FLOAT32 through it).
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

#include "mq_kernels_unchecked.h"

void mq_fc_portable_unchecked(const mq_fc_params *p, int32_t batch, const void *input, void *output, int f32)
{
    const uint8_t *x = (const uint8_t *)input;
    uint8_t *y = (uint8_t *)output;
    const int32_t kc = (p->k + 15) / 16;
    int32_t r;
    for (r = 0; r < batch; ++r) {
        const uint8_t *row = x + (size_t)r * (size_t)p->k;
        int32_t n;
        for (n = 0; n < p->n; ++n) {
            /* row n of W lives in group n / 4, lane n % 4 of every 16-wide chunk */
            const int8_t *wg = p->weights.packed + (size_t)(n / 4) * (size_t)kc * 64u + (size_t)(n % 4) * 16u;
            uint32_t acc = (uint32_t)p->bias.folded[n];
            const int32_t ci = p->per_channel ? n : 0;
            int32_t j;
            for (j = 0; j < p->k; ++j) {
                const int32_t xv = mq_code_signed(row[j], p->in_dtype);
                acc += (uint32_t)(xv * (int32_t)wg[(size_t)(j / 16) * 64u + (size_t)(j % 16)]);
            }
            y[(size_t)r * (size_t)p->n + (size_t)n] =
                f32 != 0 ? mq_output_f32_emul(acc, p->multiplier[ci], p->shift[ci], p->out_zero_point, p->act_min,
                                              p->act_max, p->lut)
                         : mq_output_single_rounding(acc, p->multiplier[ci], p->shift[ci], p->out_zero_point,
                                                     p->act_min, p->act_max, p->lut);
        }
    }
}

mq_status mq_fully_connected_single_rounding(const mq_fc_params *p, int32_t batch, const void *input, void *output)
{
    const mq_status st = mq_fc_call_check(p, batch, input, output);
    if (st != MQ_OK) {
        return st;
    }
    mq_fc_portable_unchecked(p, batch, input, output, 0);
    return MQ_OK;
}
