/* mq_fully_connected: requantized fully connected layer, [batch, k] -> [batch, n], via the GEMM microkernel. */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

void mq_fully_connected_unchecked(const mq_fc_params *p, int32_t batch, const void *input, void *output)
{
    MQ_GEMM_S8_N4K16(p, batch, (const uint8_t *)input, p->k, (uint8_t *)output, p->n);
}

mq_status mq_fully_connected(const mq_fc_params *p, int32_t batch, const void *input, void *output)
{
    mq_status st = mq_fc_params_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (batch < 1 || batch > MQ_MAX_DIM) {
        return MQ_ERR_SHAPE;
    }
    if (mq_ranges_overlap(input, (size_t)batch * (size_t)p->k, output, (size_t)batch * (size_t)p->n)) {
        return MQ_ERR_BUFFER;
    }
    mq_fully_connected_unchecked(p, batch, input, output);
    return MQ_OK;
}
