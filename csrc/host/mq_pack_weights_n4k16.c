/* mq_pack_weights_n4k16: repack row-major (n, k) int8 weights into the N4K16 layout of mq_kernels.h. */
#include <string.h>

#include "microquant/mq_host.h"

mq_status mq_pack_weights_n4k16(const int8_t *w, int32_t n, int32_t k, int8_t *packed, size_t packed_size)
{
    size_t need;
    size_t kc;
    int32_t row;
    int32_t col;
    if (w == NULL || packed == NULL) {
        return MQ_ERR_NULL;
    }
    if (n < 1 || k < 1 || n > (1 << 24) || k > (1 << 24)) {
        return MQ_ERR_SHAPE;
    }
    need = mq_packed_weights_size_n4k16(n, k);
    if (packed_size < need) {
        return MQ_ERR_BUFFER;
    }
    kc = (size_t)((k + 15) / 16);
    memset(packed, 0, need);
    for (row = 0; row < n; ++row) {
        const size_t g = (size_t)(row / 4);
        const size_t r = (size_t)(row % 4);
        for (col = 0; col < k; ++col) {
            const size_t c = (size_t)(col / 16);
            const size_t j = (size_t)(col % 16);
            packed[((g * kc + c) * 4u + r) * 16u + j] = w[(size_t)row * (size_t)k + (size_t)col];
        }
    }
    return MQ_OK;
}
