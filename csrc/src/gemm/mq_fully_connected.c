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
    const mq_status st = mq_fc_call_check(p, batch, input, output);
    if (st != MQ_OK) {
        return st;
    }
    mq_fully_connected_unchecked(p, batch, input, output);
    return MQ_OK;
}
