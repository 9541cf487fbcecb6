/*
 * mq_stream_fc_s16_*: the 16x8 FULLY_CONNECTED head of a pixel-streamed chain in partial-sum form (TFLite's 16x8
 * FULLY_CONNECTED: int16 input, zero point 0, int8 weights [n][k] row-major, int64 bias or none). The products are
 * summed exactly in int64 (|x w| <= 2^22, k < 2^24: no overflow), so the order of the pixels does not matter; the
 * output stage is mq_fully_connected_s16's (mq_s16_out_stage: mq_requantize64, clamp).
 */
#include "int16/mq_s16_internal.h"
#include "stream/mq_stream.h"

void mq_stream_fc_s16_init(const mq_fc_s16_params *p, int64_t *acc)
{
    int32_t o;
    for (o = 0; o < p->n; o++) {
        acc[o] = p->bias != NULL ? p->bias[o] : 0;
    }
}

void mq_stream_fc_s16_accumulate(const mq_fc_s16_params *p, int32_t k0, int32_t c, const int16_t *x, int64_t *acc)
{
    int32_t o;
    for (o = 0; o < p->n; o++) {
        acc[o] += mq_dot_s16_s8(x, p->weights + (size_t)o * (size_t)p->k + (size_t)k0, c);
    }
}

void mq_stream_fc_s16_finish(const mq_fc_s16_params *p, const int64_t *acc, int16_t *y)
{
    const mq_s16_outstage os = mq_s16_outstage_of(p);
    int32_t o;
    for (o = 0; o < p->n; o++) {
        y[o] = mq_s16_out_stage(&os, o, acc[o]);
    }
}
