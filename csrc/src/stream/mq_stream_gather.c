/*
 * mq_stream_gather: one pixel of a batch-1 tensor into a channels-last buffer (the pixel-streamed chain's input
 * stage; with layout NCHW it is the NCHW -> NHWC transpose of that one pixel, with the grid stride the strided
 * read of a 1x1 convolution with stride).
 *   src: NHWC [h][w][c] (layout 0) or NCHW [c][h][w] (layout 1), elem bytes per element; dst: c elements.
 */
#include <string.h>

#include "stream/mq_stream.h"

void mq_stream_gather(const uint8_t *src, uint32_t layout, int32_t h, int32_t w, int32_t c, int32_t elem, int32_t y,
                      int32_t x, uint8_t *dst)
{
    const size_t e = (size_t)elem;
    if (layout == 0u) {
        memcpy(dst, src + ((size_t)y * (size_t)w + (size_t)x) * (size_t)c * e, (size_t)c * e);
    } else {
        const size_t plane = (size_t)h * (size_t)w * e;
        const uint8_t *s = src + ((size_t)y * (size_t)w + (size_t)x) * e;
        int32_t ch;
        if (e == 1u) {
            for (ch = 0; ch < c; ch++) { /* byte loads, not a memcpy call per channel */
                dst[ch] = *s;
                s += plane;
            }
        } else {
            for (ch = 0; ch < c; ch++) {
                memcpy(dst + (size_t)ch * e, s + (size_t)ch * plane, e);
            }
        }
    }
}
