/*
 * MicroQuant internal: unchecked entries into the operators, for the interpreter (mq_model_run) only.
 *
 * The packed-model loader validates every parameter of every op once, at load time (the same *_check
 * functions the public operators call); the interpreter then calls these, which do only arithmetic:
 * no per-call re-validation of the (per-channel) requantization parameters (issue 11: mq_fc_params_check
 * on every call was 3 % of the autoencoder's time). Direct users call the checked public functions in
 * mq_kernels.h. Calling these with parameters the checks would reject is undefined.
 */
#ifndef MICROQUANT_MQ_KERNELS_UNCHECKED_H
#define MICROQUANT_MQ_KERNELS_UNCHECKED_H

#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_kernels.h"

/* mq_fully_connected after mq_fc_params_check, batch >= 1 and the overlap check passed. */
void mq_fully_connected_unchecked(const mq_fc_params *p, int32_t batch, const void *input, void *output);

/* mq_conv1x1 after its checks passed; scratch holds mq_conv1x1_scratch_size(p) bytes (NULL when 0). */
void mq_conv1x1_unchecked(const mq_conv1x1_params *p, const void *input, void *output, void *scratch);

#endif /* MICROQUANT_MQ_KERNELS_UNCHECKED_H */
