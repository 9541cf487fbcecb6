/* mq_conv_check: validate every parameter of a KxK convolution (the loader calls it once per layer). */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"

mq_status mq_conv_check(const mq_conv_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_window_check(&p->win);
    if (st != MQ_OK) {
        return st;
    }
    st = mq_fc_params_check(&p->gemm);
    if (st != MQ_OK) {
        return st;
    }
    if (p->in_c < 1 || p->in_c > MQ_MAX_DIM ||
        (int64_t)p->win.kernel_h * p->win.kernel_w * p->in_c != (int64_t)p->gemm.k) {
        return MQ_ERR_SHAPE;
    }
    if ((int64_t)p->win.batch * p->win.in_h * p->win.in_w * p->in_c > INT32_MAX ||
        (int64_t)p->win.batch * p->win.out_h * p->win.out_w * p->gemm.n > INT32_MAX) {
        return MQ_ERR_SHAPE;
    }
    if (p->in_zero_point < mq_dtype_min(p->gemm.in_dtype) || p->in_zero_point > mq_dtype_max(p->gemm.in_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}
