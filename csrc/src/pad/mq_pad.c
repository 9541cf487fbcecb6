/*
 * mq_pad: constant padding of a rank-4 byte tensor (TFLite PAD / PADV2 on NHWC, ONNX Pad mode "constant").
 *
 * Shapes:  input  [d0, d1, d2, d3]                                  (in_dims, each >= 1)
 *          output [d0 + b0 + a0, d1 + b1 + a1, d2 + b2 + a2, d3 + b3 + a3]   (before b_i, after a_i, >= 0)
 * Layout:  row-major (NHWC). output[i0, i1, i2, i3] = input[i0 - b0, i1 - b1, i2 - b2, i3 - b3] inside the
 *          input, else `value`.
 * Qparams: output = input's dtype, scale and zero point; value is the byte of the input's zero point (padding
 *          with real zero), which the host writes (for INT8 the two's complement byte of the zero point).
 * Limits (mq_pad_check): every dim and pad <= 2^24, both element counts <= INT32_MAX.
 * Input and output must not overlap (MQ_ERR_BUFFER).
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_params_internal.h"

static int mq_pad_out_dims(const mq_pad_params *p, int32_t out[4])
{
    int i;
    for (i = 0; i < 4; ++i) {
        if (p->in_dims[i] < 1 || p->in_dims[i] > MQ_MAX_DIM || p->before[i] < 0 || p->before[i] > MQ_MAX_DIM ||
            p->after[i] < 0 || p->after[i] > MQ_MAX_DIM) {
            return 0;
        }
        out[i] = p->in_dims[i] + p->before[i] + p->after[i];   /* <= 3 * 2^24 */
    }
    return mq_product_ok(p->in_dims, 4) && mq_product_ok(out, 4);
}

mq_status mq_pad_check(const mq_pad_params *p)
{
    int32_t out[4];
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    return mq_pad_out_dims(p, out) ? MQ_OK : MQ_ERR_SHAPE;
}

void mq_pad_unchecked(const mq_pad_params *p, const void *input, void *output)
{
    int32_t od[4];
    size_t row_in, row_out;               /* bytes of one [d3] row, input and output */
    const uint8_t *in;
    uint8_t *out;
    int32_t i0, i1, i2;
    for (i0 = 0; i0 < 4; ++i0) {
        od[i0] = p->in_dims[i0] + p->before[i0] + p->after[i0];
    }
    in = (const uint8_t *)input;
    out = (uint8_t *)output;
    row_in = (size_t)p->in_dims[3];
    row_out = (size_t)od[3];
    for (i0 = 0; i0 < od[0]; ++i0) {
        const int in0 = i0 >= p->before[0] && i0 < p->before[0] + p->in_dims[0];
        for (i1 = 0; i1 < od[1]; ++i1) {
            const int in1 = in0 && i1 >= p->before[1] && i1 < p->before[1] + p->in_dims[1];
            for (i2 = 0; i2 < od[2]; ++i2) {
                if (in1 && i2 >= p->before[2] && i2 < p->before[2] + p->in_dims[2]) {
                    memset(out, p->value, (size_t)p->before[3]);
                    memcpy(out + p->before[3], in, row_in);
                    memset(out + (size_t)p->before[3] + row_in, p->value, (size_t)p->after[3]);
                    in += row_in;
                } else {
                    memset(out, p->value, row_out);
                }
                out += row_out;
            }
        }
    }
}

mq_status mq_pad(const mq_pad_params *p, const void *input, void *output)
{
    int32_t od[4];
    size_t in_total, out_total;
    if (p == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_pad_out_dims(p, od)) {
        return MQ_ERR_SHAPE;
    }
    in_total = (size_t)p->in_dims[0] * (size_t)p->in_dims[1] * (size_t)p->in_dims[2] * (size_t)p->in_dims[3];
    out_total = (size_t)od[0] * (size_t)od[1] * (size_t)od[2] * (size_t)od[3];
    if (mq_ranges_overlap(input, in_total, output, out_total)) {
        return MQ_ERR_BUFFER;
    }
    mq_pad_unchecked(p, input, output);
    return MQ_OK;
}
