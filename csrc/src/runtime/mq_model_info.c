/*
 * MicroQuant: model input/output descriptions and metadata strings of a loaded model.
 */
#include <string.h>

#include "mq_format.h"

int32_t mq_model_num_inputs(const mq_model *model)
{
    return model != NULL ? (int32_t)model->num_inputs : 0;
}

int32_t mq_model_num_outputs(const mq_model *model)
{
    return model != NULL ? (int32_t)model->num_outputs : 0;
}

/* Metadata string number index (validated walk: fixed fields, then input names, then output names). */
static const char *mq_meta_string(const mq_model *m, uint32_t index, uint32_t *len)
{
    const uint8_t *p = m->metadata;
    uint32_t i;
    for (i = 0; i < index; i++) {
        p += 2u + mq_rd16(p);
    }
    *len = mq_rd16(p);
    return (const char *)(p + 2);
}

static mq_status mq_io_info(const mq_model *m, uint32_t slot, uint32_t name_index, mq_tensor_info *info)
{
    mq_tensor_rec t;
    const uint32_t id = mq_rd16(m->io + 2u * slot);
    int32_t i;
    mq_tensor_decode(m->tensors, id, &t);
    info->dtype = t.dtype;
    info->rank = t.rank;
    for (i = 0; i < 4; i++) {
        info->dims[i] = t.dims[i];
    }
    info->size_bytes = t.size;
    info->zero_point = t.zero_point;
    info->scale_bits = t.scale_bits;
    info->tensor_id = (int32_t)id;
    info->name = mq_meta_string(m, name_index, &info->name_len);
    return MQ_OK;
}

/* Input (is_output 0) or output (1) number index: slot in the IO section and metadata name. */
static mq_status mq_io_lookup(const mq_model *m, int32_t index, uint32_t is_output, mq_tensor_info *info)
{
    uint32_t slot;
    if (m == NULL || m->blob == NULL || info == NULL) {
        return MQ_ERR_NULL;
    }
    if (index < 0 || index >= (int32_t)(is_output ? m->num_outputs : m->num_inputs)) {
        return MQ_ERR_INDEX;
    }
    slot = (is_output ? m->num_inputs : 0u) + (uint32_t)index;
    return mq_io_info(m, slot, MQ_META_NUM_FIXED + slot, info);
}

mq_status mq_model_input_info(const mq_model *model, int32_t index, mq_tensor_info *info)
{
    return mq_io_lookup(model, index, 0u, info);
}

mq_status mq_model_output_info(const mq_model *model, int32_t index, mq_tensor_info *info)
{
    return mq_io_lookup(model, index, 1u, info);
}

const char *mq_model_metadata(const mq_model *model, mq_meta_field field, uint32_t *len)
{
    uint32_t dummy;
    uint32_t *l = len != NULL ? len : &dummy;
    *l = 0u;
    if (model == NULL || model->blob == NULL || (uint32_t)field >= MQ_META_NUM_FIXED) {
        return NULL;
    }
    return mq_meta_string(model, (uint32_t)field, l);
}
