/*
 * mq_gemm_s16s8_4x1_c: portable 16x8 GEMM microkernel, 4 buffered input rows x 1 output channel at a time
 * (contract, buffer layout and output stage: mq_s16_gemm.h). int16 x int8 products summed in int32 from the
 * channel's bias (mq_s16_gemm4 admits a channel only when that sum provably fits int32).
 */
#include "mq_s16_gemm.h"

void mq_gemm_s16s8_4x1_c(const mq_s16_xbuf *xb, int32_t k, const int8_t *w, size_t w_stride,
                         const mq_s16_chan *ch, int32_t cnt, int32_t lo, int32_t hi, int16_t *y, size_t y_stride,
                         int32_t nrows, int64_t *raw)
{
    int32_t c, r, i;
    for (c = 0; c < cnt; ++c) {
        const int8_t *wc = w + (size_t)c * w_stride;
        if (raw != NULL) {
            for (r = 0; r < 4; ++r) {
                int32_t acc = 0;
                for (i = 0; i < k; ++i) {
                    acc += (int32_t)xb->h[mq_s16_xb_idx(r, i)] * (int32_t)wc[i];
                }
                raw[4 * c + r] += acc;
            }
            continue;
        }
        if (!ch[c].fast) {
            continue;
        }
        for (r = 0; r < nrows; ++r) {
            int32_t acc = ch[c].bias, v;
            for (i = 0; i < k; ++i) {
                acc += (int32_t)xb->h[mq_s16_xb_idx(r, i)] * (int32_t)wc[i];
            }
            v = mq_s16_chan_rq(&ch[c], acc);
            y[(size_t)r * y_stride + (size_t)c] = (int16_t)(v < lo ? lo : (v > hi ? hi : v));
        }
    }
}
