/*
 * MicroQuant runtime: load a packed model in place (from flash) and run it with a static arena.
 *
 *   #include "microquant/mq_model.h"
 *   extern const uint8_t model_blob[];  extern const uint32_t model_blob_size;
 *   static uint8_t arena[MODEL_ARENA_SIZE] __attribute__((aligned(16)));
 *
 *   mq_model model;
 *   mq_status st = mq_model_load(model_blob, model_blob_size, MQ_LOAD_CHECK_CRC, &model);
 *   if (st != MQ_OK) { puts(mq_status_str(st)); return 1; }
 *   const void *inputs[1] = { my_input_codes };      // one buffer per model input, codes of its dtype
 *   void *outputs[1] = { my_output_codes };           // one buffer per model output
 *   st = mq_model_run(&model, arena, sizeof arena, inputs, outputs);
 *
 * The loader validates the whole blob once (docs/FORMAT.md); after MQ_OK every later
 * access is in bounds. No malloc, no float: the model stays where it is (flash), and
 * every intermediate tensor lives at an offset planned on the host inside the arena.
 */
#ifndef MICROQUANT_MQ_MODEL_H
#define MICROQUANT_MQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mq_quant.h"
#include "mq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQ_RUNTIME_VERSION_MAJOR 1
#define MQ_RUNTIME_VERSION_MINOR 0

/* mq_model_load flags */
#define MQ_LOAD_CHECK_CRC 1u   /* verify the CRC-32 of the body (recommended; costs one pass) */

/* A loaded model: a validated view of the blob. Plain data, no pointers into RAM. */
typedef struct {
    const uint8_t *blob;
    uint32_t size;
    uint32_t arena_size;          /* bytes of arena mq_model_run needs */
    uint32_t arena_lower_bound;   /* largest sum of simultaneously live tensors (informational) */
    uint16_t num_tensors, num_ops, num_inputs, num_outputs;
    const uint8_t *tensors;       /* tensor table (validated) */
    const uint8_t *ops;           /* op table (validated) */
    const uint8_t *io;            /* input/output tensor id lists (validated) */
} mq_model;

/* Description of a model input or output tensor. */
typedef struct {
    mq_dtype dtype;
    int32_t rank;
    int32_t dims[4];
    uint32_t size_bytes;
    int32_t zero_point;
    uint32_t scale_bits;          /* IEEE-754 float32 bits of the scale (the device never needs it) */
} mq_tensor_info;

mq_status mq_model_load(const void *blob, size_t size, uint32_t flags, mq_model *model);

int32_t mq_model_num_inputs(const mq_model *model);
int32_t mq_model_num_outputs(const mq_model *model);
mq_status mq_model_input_info(const mq_model *model, int32_t index, mq_tensor_info *info);
mq_status mq_model_output_info(const mq_model *model, int32_t index, mq_tensor_info *info);

/*
 * Run every op in order. inputs[i] / outputs[i]: one buffer per model input / output, sized
 * as mq_model_*_info().size_bytes (codes of the tensor's dtype). The arena must be at least
 * model->arena_size bytes and 16-byte aligned. No allocation, no float.
 */
mq_status mq_model_run(const mq_model *model, void *arena, size_t arena_size,
                       const void *const *inputs, void *const *outputs);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_MODEL_H */
