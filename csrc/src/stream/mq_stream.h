/*
 * MicroQuant internal: the pieces of the pixel-streamed chain (packed op types STREAM_FC = 19 and
 * STREAM_FC_S16 = 44, docs/FORMAT.md "Pixel-streamed chain"). The interpreter runs, for every pixel of the
 * grid: mq_stream_gather (one source pixel into a small arena tensor), the member ops on that pixel (the
 * ordinary kernels on a [1, 1, 1, c] view: a 1x1 convolution of one pixel is one GEMM row, MQ_GEMM_ROW; each
 * member's record, tensors and kernel parameters are prepared once per op call, not per pixel), then the
 * head's partial sum over that pixel's slice of the flattened input. After the last pixel the head's
 * output stage (the one the unfused FULLY_CONNECTED / FULLY_CONNECTED_S16 kernels use) writes the output.
 * The sums are integers (int32 modulo 2^32 for 8-bit, exact int64 for 16x8), so the result is byte-identical
 * to the unfused layers whatever the order.
 */
#ifndef MICROQUANT_MQ_STREAM_H
#define MICROQUANT_MQ_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels.h"
#include "microquant/mq_kernels_s16.h"

/* Copy pixel (y, x) of a batch-1 source, layout 0: NHWC [h][w][c], 1: NCHW [c][h][w], elem bytes per
 * element (1 or 2), into dst (c elements, channels last). Caller guarantees y < h, x < w. */
void mq_stream_gather(const uint8_t *src, uint32_t layout, int32_t h, int32_t w, int32_t c, int32_t elem, int32_t y,
                      int32_t x, uint8_t *dst);

/* 8-bit head (mq_fc_params as for mq_fully_connected; weights N4K16, bias folded):
 *   init:       acc[o] = bias[o]                                            (o < n)
 *   accumulate: acc[o] += sum_{j < c} W[o][k0 + j] * x'[j]  (mod 2^32)      x' = signed byte (INT8) or x - 128 (UINT8)
 *   finish:     y[o] = output stage (double rounding, or single with p->single_rounding), + zp, clamp, LUT
 * k0 + c <= p->k. */
void mq_stream_fc_s8_init(const mq_fc_params *p, uint32_t *acc);
void mq_stream_fc_s8_accumulate(const mq_fc_params *p, int32_t k0, int32_t c, const uint8_t *x, uint32_t *acc);
void mq_stream_fc_s8_finish(const mq_fc_params *p, const uint32_t *acc, uint8_t *y);

/* 16x8 head (mq_fc_s16_params; weights [n][k] row-major, int64 bias or none): the same with exact int64 sums
 * and the output stage of mq_fully_connected_s16 (mq_requantize64, clamp). */
void mq_stream_fc_s16_init(const mq_fc_s16_params *p, int64_t *acc);
void mq_stream_fc_s16_accumulate(const mq_fc_s16_params *p, int32_t k0, int32_t c, const int16_t *x, int64_t *acc);
void mq_stream_fc_s16_finish(const mq_fc_s16_params *p, const int64_t *acc, int16_t *y);

#endif /* MICROQUANT_MQ_STREAM_H */
