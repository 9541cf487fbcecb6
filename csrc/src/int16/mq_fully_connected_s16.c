/*
 * mq_fully_connected_s16: TFLite FULLY_CONNECTED 16x8.
 *   input [batch, k] int16 (zero point 0), weights [n][k] int8 (zero point 0), bias int64 [n] or NULL,
 *   output [batch, n] int16: out[b][c] = clamp(requant64(bias[c] + sum_k x[b][k] w[c][k], M[c], s[c]))
 * (per tensor: M[0], s[0]). Exact int64 accumulation: groups of 4 output rows through the mq_dot4_s16_s8
 * microkernel (DSP variant on Cortex-M4/M7/M33), the last n mod 4 rows one by one. Output stage: mq_requantize64
 * (TFLite Micro / CMSIS-NN) or, with p->exact_scale, mq_requantize_exact (LiteRT's reference FULLY_CONNECTED).
 */
#include "mq_s16_dot4.h"

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
        for (c = 0; c + 4 <= p->n; c += 4) {
            int64_t acc[4] = {0, 0, 0, 0};
            int32_t r;
            if (p->bias != NULL) {
                acc[0] = p->bias[c];
                acc[1] = p->bias[c + 1];
                acc[2] = p->bias[c + 2];
                acc[3] = p->bias[c + 3];
            }
            mq_dot4_s16_s8(x, p->weights + (size_t)c * (size_t)p->k, (size_t)p->k, p->k, acc);
            for (r = 0; r < 4; ++r) {
                y[c + r] = mq_s16_out_fc(p, c + r, acc[r]);
            }
        }
        for (; c < p->n; ++c) {
            int64_t acc = mq_dot_s16_s8(x, p->weights + (size_t)c * (size_t)p->k, p->k);
            if (p->bias != NULL) {
                acc += p->bias[c];
            }
            y[c] = mq_s16_out_fc(p, c, acc);
        }
    }
    return MQ_OK;
}
