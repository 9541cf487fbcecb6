/*
 * mq_fully_connected_s16: TFLite FULLY_CONNECTED 16x8.
 *   input [batch, k] int16 (zero point 0), weights [n][k] int8 (zero point 0), bias int64 [n] or NULL,
 *   output [batch, n] int16: out[b][c] = clamp(requant64(bias[c] + sum_k x[b][k] w[c][k], M[c], s[c]))
 * (per tensor: M[0], s[0]). Exact int64 accumulation (int32 blocks of 256 products). Output stage: mq_requantize64
 * (TFLite Micro / CMSIS-NN) or, with p->exact_scale, mq_requantize_exact (LiteRT's reference FULLY_CONNECTED).
 */
#include "mq_s16_internal.h"

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
    for (b = 0; b < batch; ++b) {
        const int16_t *x = input + (size_t)b * (size_t)p->k;
        int16_t *y = output + (size_t)b * (size_t)p->n;
        for (c = 0; c < p->n; ++c) {
            int64_t acc = mq_dot_s16_s8(x, p->weights + (size_t)c * (size_t)p->k, p->k);
            if (p->bias != NULL) {
                acc += p->bias[c];
            }
            y[c] = mq_s16_out_fc(p, c, acc);
        }
    }
    return MQ_OK;
}
