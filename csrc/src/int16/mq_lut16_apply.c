/*
 * mq_lut16_apply: int16 -> int16 activation through a 513-entry table with linear interpolation
 * (TFLite's int16 LUTLookup, CMSIS-NN's int16 LUT):
 *   i = 256 + (x >> 7), f = x & 127, out = T[i] + (((T[i+1] - T[i]) * f + 64) >> 7)
 * The table is built on the host (mq_lut16_build). In place allowed; a partial overlap is MQ_ERR_BUFFER.
 */
#include "mq_s16_internal.h"

mq_status mq_lut16_apply(const int16_t table[MQ_LUT16_SIZE], const int16_t *input, int16_t *output, size_t n)
{
    size_t i;
    if (table == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (output != input && mq_ranges_overlap(input, n * 2u, output, n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    for (i = 0; i < n; ++i) {
        output[i] = mq_lut16_lookup(table, input[i]);
    }
    return MQ_OK;
}
