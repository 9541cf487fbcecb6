/*
 * mq_concat: concatenation of byte tensors along one axis (TFLite CONCATENATION / ONNX Concat; the channel
 * axis of NHWC tensors: outer = batch*h*w, inner = 1).
 *
 * Shapes:  input i [outer, axis_sizes[i], inner]   (i < num_inputs)
 *          output  [outer, sum_i axis_sizes[i], inner]
 * Layout:  row-major; for each outer index the output row is the inputs' rows one after the other:
 *          output[o, off_i + a, j] = input_i[o, a, j], off_i = sum_{k<i} axis_sizes[k].
 * Qparams: every input has the output's dtype, scale and zero point: an input with other qparams is
 *          requantized first (mq_requantize_u8, placed by the host), so this kernel only copies bytes.
 * Free concat: the planner may instead give each producer its slice of the output (possible when outer == 1,
 *          or when the producer writes with a row stride) so that nothing is copied and this op is not run.
 *          When an input already sits exactly at its slice (outer == 1), its copy is skipped.
 * Limits (mq_concat_check): 1 <= num_inputs <= MQ_CONCAT_MAX_INPUTS, sizes >= 1 (unused axis_sizes 0),
 *          outer * sum * inner <= INT32_MAX. An input overlapping the output otherwise is MQ_ERR_BUFFER.
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_params_internal.h"

mq_status mq_concat_check(const mq_concat_params *p)
{
    int32_t dims[3];
    int64_t total = 0;
    int i;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->num_inputs < 1 || p->num_inputs > MQ_CONCAT_MAX_INPUTS || p->outer < 1 || p->inner < 1 ||
        p->outer > INT32_MAX || p->inner > MQ_MAX_ELEMENTS) {
        return MQ_ERR_SHAPE;
    }
    for (i = 0; i < MQ_CONCAT_MAX_INPUTS; ++i) {
        if (i < p->num_inputs ? (p->axis_sizes[i] < 1 || p->axis_sizes[i] > MQ_MAX_ELEMENTS) : p->axis_sizes[i] != 0) {
            return MQ_ERR_SHAPE;
        }
        total += p->axis_sizes[i];
    }
    if (total > MQ_MAX_ELEMENTS) {
        return MQ_ERR_SHAPE;
    }
    dims[0] = p->outer;
    dims[1] = (int32_t)total;
    dims[2] = p->inner;
    return mq_product_ok(dims, 3) ? MQ_OK : MQ_ERR_SHAPE;
}

void mq_concat_unchecked(const mq_concat_params *p, const void *const *inputs, void *output)
{
    size_t row_out = 0;
    size_t off;
    int i;
    for (i = 0; i < p->num_inputs; ++i) {
        row_out += (size_t)p->axis_sizes[i] * (size_t)p->inner;
    }
    off = 0;
    for (i = 0; i < p->num_inputs; ++i) {
        const size_t row_in = (size_t)p->axis_sizes[i] * (size_t)p->inner;
        const uint8_t *src = (const uint8_t *)inputs[i];
        uint8_t *dst = (uint8_t *)output + off;
        int32_t o;
        if (!(p->outer == 1 && src == dst)) {
            for (o = 0; o < p->outer; ++o) {
                memcpy(dst, src, row_in);
                src += row_in;
                dst += row_out;
            }
        }
        off += row_in;
    }
}

mq_status mq_concat(const mq_concat_params *p, const void *const *inputs, void *output)
{
    const mq_status st = mq_concat_check(p);
    size_t row_out = 0;
    size_t total;
    size_t off;
    int i;
    if (st != MQ_OK) {
        return st;
    }
    if (inputs == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    for (i = 0; i < p->num_inputs; ++i) {
        row_out += (size_t)p->axis_sizes[i] * (size_t)p->inner;
    }
    total = row_out * (size_t)p->outer;
    off = 0;
    for (i = 0; i < p->num_inputs; ++i) {
        const size_t row_in = (size_t)p->axis_sizes[i] * (size_t)p->inner;
        if (inputs[i] == NULL) {
            return MQ_ERR_NULL;
        }
        if (mq_ranges_overlap(inputs[i], row_in * (size_t)p->outer, output, total) &&
            !(p->outer == 1 && (const uint8_t *)inputs[i] == (const uint8_t *)output + off)) {
            return MQ_ERR_BUFFER;
        }
        off += row_in;
    }
    mq_concat_unchecked(p, inputs, output);
    return MQ_OK;
}
