/* mq_depthwise_prepare: one-call preparation of a depthwise convolution (int16 weights, folded bias, multipliers). */
#include "microquant/mq_host.h"

#include "mq_host_internal.h"

static int32_t mq_dw_out_c(const mq_window *win, int32_t in_c, int32_t depth_multiplier)
{
    int64_t out_c;
    if (win == NULL || mq_window_check(win) != MQ_OK || in_c < 1 || depth_multiplier < 1 || in_c > (1 << 24) ||
        depth_multiplier > (1 << 24)) {
        return 0;
    }
    out_c = (int64_t)in_c * depth_multiplier;
    if (out_c > (1 << 24) || (int64_t)win->kernel_h * win->kernel_w * out_c > (1 << 24)) {
        return 0;
    }
    return (int32_t)out_c;
}

size_t mq_depthwise_prepare_size(const mq_window *win, int32_t in_c, int32_t depth_multiplier, int32_t per_channel)
{
    const int32_t out_c = mq_dw_out_c(win, in_c, depth_multiplier);
    size_t wbytes;
    if (out_c == 0 || (per_channel != 0 && per_channel != 1)) {
        return 0;
    }
    wbytes = (size_t)win->kernel_h * (size_t)win->kernel_w * (size_t)out_c * 2u;
    return mq_prepare_words(out_c, per_channel) * sizeof(int32_t) + ((wbytes + 3u) & ~(size_t)3u);
}

mq_status mq_depthwise_prepare(const int8_t *weights, const int32_t *bias, const mq_window *win, int32_t in_c,
                               int32_t depth_multiplier, const mq_layer_quant *q, void *buf, size_t buf_size,
                               mq_depthwise_params *p)
{
    int32_t *words = (int32_t *)buf;
    int32_t out_c;
    int32_t *mult;
    int32_t *shift;
    int32_t *packed;
    size_t need;
    mq_status st;
    if (weights == NULL || win == NULL || q == NULL || buf == NULL || p == NULL) {
        return MQ_ERR_NULL;
    }
    out_c = mq_dw_out_c(win, in_c, depth_multiplier);
    if (out_c == 0) {
        return MQ_ERR_SHAPE;
    }
    need = mq_depthwise_prepare_size(win, in_c, depth_multiplier, q->weight_per_channel);
    if (need == 0) {
        return MQ_ERR_QPARAMS;
    }
    if (((uintptr_t)buf & 3u) != 0u) {
        return MQ_ERR_ALIGN;
    }
    if (buf_size < need) {
        return MQ_ERR_BUFFER;
    }
    mult = words + out_c;
    shift = mult + (q->weight_per_channel ? out_c : 1);
    packed = shift + (q->weight_per_channel ? out_c : 1);
    st = mq_prepare_quant(q, out_c, mult, shift);
    if (st == MQ_OK) {
        st = mq_depthwise_prepare_bias(weights, bias, win->kernel_h, win->kernel_w, out_c, q->in_zero_point, q->in_dtype,
                                       words);
    }
    if (st == MQ_OK) {
        st = mq_depthwise_pack_weights(weights, win->kernel_h, win->kernel_w, out_c, packed,
                                       (size_t)win->kernel_h * (size_t)win->kernel_w * (size_t)out_c * 2u);
    }
    if (st != MQ_OK) {
        return st;
    }
    p->win = *win;
    p->in_c = in_c;
    p->depth_multiplier = depth_multiplier;
    p->in_dtype = q->in_dtype;
    p->in_zero_point = q->in_zero_point;
    p->weights.data = packed;
    p->bias.folded = words;
    p->multiplier = mult;
    p->shift = shift;
    p->single_rounding = 0; /* TFLite's double rounding (set it to 1 afterwards for mq_requantize_single) */
    MQ_PREPARE_OUTPUT(p, q);
    return mq_depthwise_check(p);
}
