/* mq_transpose_u8: permute the axes of a byte tensor of rank 1..MQ_MAX_RANK; out dims[i] = in_dims[perm[i]]. */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

void mq_transpose_u8_unchecked(const int32_t *in_dims, const int32_t *perm, int32_t rank,
                               const void *input, void *output)
{
    size_t in_stride[MQ_MAX_RANK];
    size_t step[MQ_MAX_RANK];   /* input stride of output axis i */
    int32_t out_dims[MQ_MAX_RANK];
    int32_t idx[MQ_MAX_RANK];
    size_t total = 1;
    size_t t;
    size_t src = 0;
    const uint8_t *in;
    uint8_t *out;
    int32_t i;
    for (i = 0; i < rank; ++i) {
        total *= (size_t)in_dims[i];
    }
    in_stride[rank - 1] = 1;
    for (i = rank - 1; i > 0; --i) {
        in_stride[i - 1] = in_stride[i] * (size_t)in_dims[i];
    }
    for (i = 0; i < rank; ++i) {
        out_dims[i] = in_dims[perm[i]];
        step[i] = in_stride[perm[i]];
        idx[i] = 0;
    }
    in = (const uint8_t *)input;
    out = (uint8_t *)output;
    /* Walk the output in order; keep the matching input offset incrementally (odometer). */
    for (t = 0; t < total; ++t) {
        int32_t a = rank - 1;
        out[t] = in[src];
        while (a >= 0) {
            ++idx[a];
            src += step[a];
            if (idx[a] < out_dims[a]) {
                break;
            }
            src -= step[a] * (size_t)out_dims[a];
            idx[a] = 0;
            --a;
        }
    }
}

mq_status mq_transpose_u8(const int32_t *in_dims, const int32_t *perm, int32_t rank,
                          const void *input, void *output)
{
    int32_t seen[MQ_MAX_RANK];
    size_t total = 1;
    int32_t i;
    if (in_dims == NULL || perm == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (rank < 1 || rank > MQ_MAX_RANK) {
        return MQ_ERR_SHAPE;
    }
    for (i = 0; i < rank; ++i) {
        seen[i] = 0;
    }
    for (i = 0; i < rank; ++i) {
        if (in_dims[i] < 1) {
            return MQ_ERR_SHAPE;
        }
        if ((size_t)in_dims[i] > SIZE_MAX / total) {
            return MQ_ERR_SHAPE;
        }
        total *= (size_t)in_dims[i];
        if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]]) {
            return MQ_ERR_SHAPE;
        }
        seen[perm[i]] = 1;
    }
    if (mq_ranges_overlap(input, total, output, total)) {
        return MQ_ERR_BUFFER;
    }
    mq_transpose_u8_unchecked(in_dims, perm, rank, input, output);
    return MQ_OK;
}
