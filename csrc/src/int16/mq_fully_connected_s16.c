/*
 * mq_fully_connected_s16: TFLite FULLY_CONNECTED 16x8.
 *   input [batch, k] int16 (zero point 0), weights [n][k] int8 (zero point 0), bias int64 [n] or NULL,
 *   output [batch, n] int16: out[b][c] = clamp(requant64(bias[c] + sum_k x[b][k] w[c][k], M[c], s[c]))
 * (per tensor: M[0], s[0]). Batch >= 2 without exact_scale: the 4-row path mq_s16_gemm4
 * (4 batch rows buffered, int32 accumulation where provably exact). Otherwise exact int64 accumulation: groups of
 * 4 output rows through the mq_dot4_s16_s8 microkernel (DSP variant on Cortex-M4/M7/M33), the last n mod 4 rows
 * one by one. Output stage: mq_requantize64
 * (TFLite Micro / CMSIS-NN) or, with p->exact_scale, mq_requantize_exact (LiteRT's reference FULLY_CONNECTED).
 */
#include "mq_s16_dot4.h"
#include "mq_s16_gemm.h"

typedef struct {
    const int16_t *x;
    int32_t k;
} mq_fc_s16_rows;

static void mq_fc_s16_fill(const void *ctx, mq_s16_xbuf *xb, int32_t slot, int32_t row, int32_t kofs, int32_t len)
{
    const mq_fc_s16_rows *f = (const mq_fc_s16_rows *)ctx;
    mq_s16_xb_put(xb, slot, 0, f->x + (size_t)row * (size_t)f->k + (size_t)kofs, len);
}

mq_status mq_fully_connected_s16(const mq_fc_s16_params *p, int32_t batch, const int16_t *input, int16_t *output)
{
    mq_status st = mq_fc_s16_check(p);
    int32_t b, c;
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (batch < 1 || (int64_t)batch * p->k > MQ_S16_MAX_ELEMS || (int64_t)batch * p->n > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    if (mq_ranges_overlap(input, (size_t)batch * (size_t)p->k * 2u, output, (size_t)batch * (size_t)p->n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    if (batch >= 2 && mq_s16_gemm4_ok(p)) {
        mq_fc_s16_rows f;
        f.x = input;
        f.k = p->k;
        mq_s16_gemm4(p, batch, mq_fc_s16_fill, &f, output);
        return MQ_OK;
    }
    {
        const mq_s16_outstage os = mq_s16_outstage_of(p);
        const int64_t *bias = p->bias;
        const int8_t *weights = p->weights;
        const int32_t n = p->n, k = p->k;
        for (b = 0; b < batch; ++b) {
            const int16_t *x = input + (size_t)b * (size_t)k;
            int16_t *y = output + (size_t)b * (size_t)n;
            for (c = 0; c + 4 <= n; c += 4) {
                int64_t acc[4];
                if (bias != NULL) {
                    acc[0] = bias[c];
                    acc[1] = bias[c + 1];
                    acc[2] = bias[c + 2];
                    acc[3] = bias[c + 3];
                } else {
                    acc[0] = acc[1] = acc[2] = acc[3] = 0;
                }
                mq_dot4_s16_s8(x, weights + (size_t)c * (size_t)k, (size_t)k, k, acc);
                y[c] = mq_s16_out_stage(&os, c, acc[0]);
                y[c + 1] = mq_s16_out_stage(&os, c + 1, acc[1]);
                y[c + 2] = mq_s16_out_stage(&os, c + 2, acc[2]);
                y[c + 3] = mq_s16_out_stage(&os, c + 3, acc[3]);
            }
            for (; c < n; ++c) {
                int64_t acc = mq_dot_s16_s8(x, weights + (size_t)c * (size_t)k, k);
                if (bias != NULL) {
                    acc += bias[c];
                }
                y[c] = mq_s16_out_stage(&os, c, acc);
            }
        }
    }
    return MQ_OK;
}
