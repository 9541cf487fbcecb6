/* mq_lut_apply: table lookup activation over n bytes (in place allowed, partial overlap rejected). */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

void mq_lut_apply_unchecked(const uint8_t table[256], const void *input, void *output, size_t n)
{
    MQ_LUT_U8(table, (const uint8_t *)input, (uint8_t *)output, n);
}

mq_status mq_lut_apply(const uint8_t table[256], const void *input, void *output, size_t n)
{
    if (table == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (input != output && mq_ranges_overlap(input, n, output, n)) {
        return MQ_ERR_BUFFER;
    }
    mq_lut_apply_unchecked(table, input, output, n);
    return MQ_OK;
}
