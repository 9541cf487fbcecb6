/* mq_conv_prepare: one-call preparation of a KxK / 1x1 convolution (OHWI weights as an (out_c, kh*kw*in_c) GEMM). */
#include "microquant/mq_host.h"

#include "mq_host_internal.h"

static int32_t mq_conv_k(const mq_window *win, int32_t in_c)
{
    int64_t k;
    if (win == NULL || mq_window_check(win) != MQ_OK || in_c < 1 || in_c > (1 << 24)) {
        return 0;
    }
    k = (int64_t)win->kernel_h * win->kernel_w * in_c;
    return k > (1 << 24) ? 0 : (int32_t)k;
}

size_t mq_conv_prepare_size(const mq_window *win, int32_t in_c, int32_t out_c, int32_t per_channel)
{
    const int32_t k = mq_conv_k(win, in_c);
    return k == 0 ? 0 : mq_fc_prepare_size(out_c, k, per_channel);
}

mq_status mq_conv_prepare(const int8_t *weights, const int32_t *bias, const mq_window *win, int32_t in_c,
                          int32_t out_c, const mq_layer_quant *q, void *buf, size_t buf_size, mq_conv_params *p)
{
    int32_t k;
    mq_status st;
    if (win == NULL || p == NULL || q == NULL) {
        return MQ_ERR_NULL;
    }
    k = mq_conv_k(win, in_c);
    if (k == 0) {
        return MQ_ERR_SHAPE;
    }
    st = mq_fc_prepare(weights, bias, out_c, k, q, buf, buf_size, &p->gemm);
    if (st != MQ_OK) {
        return st;
    }
    p->win = *win;
    p->in_c = in_c;
    p->in_zero_point = q->in_zero_point;
    return mq_conv_check(p);
}
