/* mq_lut_layer_prepare: one call from float qparams to a LUT activation layer (table + dtypes). */
#include <string.h>

#include "microquant/mq_host.h"

mq_status mq_lut_layer_prepare(const mq_activation_desc *fn,
                               double in_scale, int32_t in_zero_point, mq_dtype in_dtype,
                               double out_scale, int32_t out_zero_point, mq_dtype out_dtype,
                               mq_lut_layer *layer)
{
    double fixed_scale;
    int32_t fixed_zp;
    mq_status st;
    if (layer == NULL || fn == NULL) {
        return MQ_ERR_NULL;
    }
    memset(layer, 0, sizeof *layer);
    if (fn->fn == MQ_ACT_SIGMOID) {
        /* sigmoid's output qparams are fixed (QUANTIZATION.md s6): anything else is a caller error */
        st = mq_sigmoid_output_qparams(out_dtype, &fixed_scale, &fixed_zp);
        if (st != MQ_OK) {
            return st;
        }
        if (out_scale != fixed_scale || out_zero_point != fixed_zp) {
            return MQ_ERR_QPARAMS;
        }
    }
    st = mq_lut_build(fn, in_scale, in_zero_point, in_dtype, out_scale, out_zero_point, out_dtype, layer->table);
    if (st != MQ_OK) {
        return st;
    }
    layer->in_dtype = in_dtype;
    layer->out_dtype = out_dtype;
    layer->in_zero_point = in_zero_point;
    layer->out_zero_point = out_zero_point;
    return MQ_OK;
}
