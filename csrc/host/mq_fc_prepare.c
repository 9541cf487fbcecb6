/* mq_fc_prepare: one-call preparation of a fully connected layer (multipliers, folded bias, N4K16 weights). */
#include "microquant/mq_host.h"

#include "mq_host_internal.h"

size_t mq_fc_prepare_size(int32_t n, int32_t k, int32_t per_channel)
{
    if (n < 1 || k < 1 || n > (1 << 24) || k > (1 << 24) || (per_channel != 0 && per_channel != 1)) {
        return 0;
    }
    return mq_prepare_words(n, per_channel) * sizeof(int32_t) + mq_packed_weights_size_n4k16(n, k);
}

mq_status mq_fc_prepare(const int8_t *weights, const int32_t *bias, int32_t n, int32_t k, const mq_layer_quant *q,
                        void *buf, size_t buf_size, mq_fc_params *p)
{
    int32_t *words = (int32_t *)buf;
    int32_t *mult;
    int32_t *shift;
    int8_t *packed;
    size_t need;
    mq_status st;
    if (weights == NULL || q == NULL || buf == NULL || p == NULL) {
        return MQ_ERR_NULL;
    }
    need = mq_fc_prepare_size(n, k, q->weight_per_channel);
    if (need == 0) {
        return (q->weight_per_channel != 0 && q->weight_per_channel != 1) ? MQ_ERR_QPARAMS : MQ_ERR_SHAPE;
    }
    if (((uintptr_t)buf & 3u) != 0u) {
        return MQ_ERR_ALIGN;
    }
    if (buf_size < need) {
        return MQ_ERR_BUFFER;
    }
    mult = words + n;
    shift = mult + (q->weight_per_channel ? n : 1);
    packed = (int8_t *)(void *)(shift + (q->weight_per_channel ? n : 1));
    st = mq_prepare_quant(q, n, mult, shift);
    if (st == MQ_OK) {
        st = mq_fold_bias(weights, bias, n, k, q->in_zero_point, q->in_dtype, words);
    }
    if (st == MQ_OK) {
        st = mq_pack_weights_n4k16(weights, n, k, packed, mq_packed_weights_size_n4k16(n, k));
    }
    if (st != MQ_OK) {
        return st;
    }
    p->n = n;
    p->k = k;
    p->weights.packed = packed;
    p->bias.folded = words;
    p->multiplier = mult;
    p->shift = shift;
    p->in_dtype = q->in_dtype;
    p->single_rounding = 0; /* TFLite's double rounding (set it to 1 afterwards for mq_requantize_single) */
    MQ_PREPARE_OUTPUT(p, q);
    return mq_fc_params_check(p);
}
