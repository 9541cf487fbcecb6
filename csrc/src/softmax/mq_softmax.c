/*
 * mq_softmax: 8-bit softmax along the middle axis of [outer, axis_size, inner], integer-only.
 * Per slice: max code m; e_j = exp_table[m - x_j] (Q16, exp_table[0] = 65536); sum = sum_j e_j (uint32);
 *   out_j = clamp(zp + floor((256 * e_j + floor(sum / 2)) / sum))
 * with zp = 0 (UINT8 output) or -128 (INT8 output): output scale 1/256.
 * axis_size <= 65535 keeps the uint32 sum exact. input == output allowed; partial overlap rejected.
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

#define MQ_SOFTMAX_ONE 65536u

mq_status mq_softmax(const mq_softmax_params *p, const void *input, void *output)
{
    const uint8_t *in;
    uint8_t *out;
    size_t total;
    size_t inner;
    size_t axis;
    size_t o;
    size_t i;
    int32_t zp;
    int32_t hi;
    int32_t d;
    if (p == NULL || input == NULL || output == NULL || p->exp_table == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (p->outer < 1 || p->axis_size < 1 || p->inner < 1 || p->axis_size > 65535) {
        return MQ_ERR_SHAPE;
    }
    axis = (size_t)p->axis_size;
    inner = (size_t)p->inner;
    if ((size_t)p->outer > SIZE_MAX / axis || (size_t)p->outer * axis > SIZE_MAX / inner) {
        return MQ_ERR_SHAPE;
    }
    total = (size_t)p->outer * axis * inner;
    if (p->exp_table[0] != MQ_SOFTMAX_ONE) {
        return MQ_ERR_QPARAMS;
    }
    for (d = 1; d < 256; ++d) {
        if (p->exp_table[d] > MQ_SOFTMAX_ONE) {
            return MQ_ERR_QPARAMS;
        }
    }
    if (input != output && mq_ranges_overlap(input, total, output, total)) {
        return MQ_ERR_BUFFER;
    }
    zp = p->out_dtype == MQ_DTYPE_UINT8 ? 0 : -128;
    hi = mq_dtype_max(p->out_dtype);
    in = (const uint8_t *)input;
    out = (uint8_t *)output;
    for (o = 0; o < (size_t)p->outer; ++o) {
        for (i = 0; i < inner; ++i) {
            const size_t base = o * axis * inner + i;
            int32_t mx = -129;
            uint32_t sum = 0;
            uint32_t half;
            size_t j;
            for (j = 0; j < axis; ++j) {
                const int32_t x = mq_code_value(in[base + j * inner], p->in_dtype);
                mx = x > mx ? x : mx;
            }
            for (j = 0; j < axis; ++j) {
                const int32_t x = mq_code_value(in[base + j * inner], p->in_dtype);
                sum += p->exp_table[mx - x];
            }
            half = sum / 2u;
            for (j = 0; j < axis; ++j) {
                const int32_t x = mq_code_value(in[base + j * inner], p->in_dtype);
                const uint32_t q = (256u * p->exp_table[mx - x] + half) / sum;
                const int32_t v = zp + (int32_t)q;
                out[base + j * inner] = (uint8_t)(v > hi ? hi : v);
            }
        }
    }
    return MQ_OK;
}
