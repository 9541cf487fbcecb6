/* mq_depthwise_pack_weights: TFLite depthwise weights [1, kh, kw, out_c] int8 -> the kernels' int16 layout
 * [kh][kw][out_c] (little-endian), the layout the DSP (SMLAxy on halfwords) and MVE (VLDRH + VMULLB/T) kernels stream. */
#include <string.h>

#include "microquant/mq_host.h"

mq_status mq_depthwise_pack_weights(const int8_t *w, int32_t kernel_h, int32_t kernel_w, int32_t out_c, void *packed,
                                    size_t packed_size)
{
    uint8_t *dst = (uint8_t *)packed;
    int64_t count;
    int64_t i;
    if (w == NULL || packed == NULL) {
        return MQ_ERR_NULL;
    }
    if (kernel_h < 1 || kernel_w < 1 || out_c < 1 || kernel_h > (1 << 24) || kernel_w > (1 << 24) || out_c > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    count = (int64_t)kernel_h * kernel_w * out_c;
    if (count > INT32_MAX / 2) {
        return MQ_ERR_SHAPE;
    }
    if (packed_size < (size_t)count * 2u) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < count; ++i) {
        const uint16_t v = (uint16_t)(int16_t)w[i];
        dst[2 * i] = (uint8_t)(v & 0xFFu);
        dst[2 * i + 1] = (uint8_t)(v >> 8);
    }
    return MQ_OK;
}
