/* mq_mean_prepare: mq_mean parameters from float qparams (TFLite MEAN: (M, s) = QuantizeMultiplier(s_in / s_out)
 * in double, then 1/n folded in: k = min(floor(log2 n), 32, 31 + s), multiplier = floor(M 2^k / n), shift = s - k). */
#include "microquant/mq_host.h"

#include "mq_host_internal.h"

mq_status mq_mean_prepare(int32_t batch, int32_t h, int32_t w, int32_t channels,
                          double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                          double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                          int32_t act_min, int32_t act_max, mq_mean_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_scale_ok(in_scale) || !mq_scale_ok(out_scale)) {
        return MQ_ERR_QPARAMS;
    }
    p->batch = batch;
    p->h = h;
    p->w = w;
    p->channels = channels;
    p->in_dtype = in_dtype;
    p->out_dtype = out_dtype;
    p->in_zero_point = in_zero_point;
    p->out_zero_point = out_zero_point;
    p->act_min = act_min;
    p->act_max = act_max;
    st = mq_quantize_multiplier(in_scale / out_scale, &p->multiplier, &p->shift);
    if (st == MQ_OK && h >= 1 && w >= 1 && (int64_t)h * w <= ((int64_t)1 << 23)) {
        const int64_t n = (int64_t)h * w;
        int32_t k = 0;
        while (((int64_t)2 << k) <= n) {
            ++k;                                   /* k = floor(log2 n) <= 23 */
        }
        if (k > 31 + p->shift) {
            k = 31 + p->shift;
        }
        p->multiplier = (int32_t)(((int64_t)p->multiplier << k) / n);
        p->shift -= k;
    }
    return st != MQ_OK ? st : mq_mean_check(p);
}
