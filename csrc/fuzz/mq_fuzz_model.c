/*
 * libFuzzer target: mq_model_load on arbitrary bytes, then (when it loads) the io-info and metadata
 * accessors and mq_model_run on a small arena. CRC checking is off so the fuzzer reaches the
 * structural validation (with it on, almost every mutation stops at the CRC).
 *
 *   (scripts/test-runtime.sh builds and runs it)
 *   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *         -Icsrc/include -Icsrc/src csrc/src/(all .c) csrc/fuzz/mq_fuzz_model.c -o mq_fuzz_model
 *   ./mq_fuzz_model -max_total_time=60 corpus/ csrc/tests/fixtures/
 *
 * Every buffer is a heap allocation of exactly its size, so ASan reports any byte read or written
 * outside the blob, the arena, or the caller's input/output buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_model.h"

#define MQ_FUZZ_MAX_ARENA (64u * 1024u)
#define MQ_FUZZ_MAX_IO 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *blob = (uint8_t *)malloc(size > 0 ? size : 1u); /* 16-aligned copy of exactly size bytes */
    void *ins[MQ_FUZZ_MAX_IO];
    void *outs[MQ_FUZZ_MAX_IO];
    mq_model m;
    mq_tensor_info info;
    uint32_t len = 0;
    int32_t i, ni, no;
    int ok = 1;
    if (blob == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(blob, data, size);
    }
    if (mq_model_load(blob, size, 0u, &m) != MQ_OK) {
        free(blob);
        return 0;
    }
    (void)mq_model_metadata(&m, MQ_META_PRODUCER, &len);
    (void)mq_model_metadata(&m, MQ_META_CALIBRATION, &len);
    ni = mq_model_num_inputs(&m);
    no = mq_model_num_outputs(&m);
    if (ni > MQ_FUZZ_MAX_IO || no > MQ_FUZZ_MAX_IO) {
        free(blob);
        return 0;
    }
    for (i = 0; i < ni; i++) {
        ins[i] = NULL;
    }
    for (i = 0; i < no; i++) {
        outs[i] = NULL;
    }
    for (i = 0; i < ni && ok; i++) {
        ok = mq_model_input_info(&m, i, &info) == MQ_OK && info.size_bytes <= MQ_FUZZ_MAX_ARENA;
        if (ok) {
            ins[i] = malloc(info.size_bytes > 0 ? info.size_bytes : 1u);
            ok = ins[i] != NULL;
            if (ok) {
                memset(ins[i], (int)(i * 37 + 11), info.size_bytes);
            }
        }
    }
    for (i = 0; i < no && ok; i++) {
        ok = mq_model_output_info(&m, i, &info) == MQ_OK && info.size_bytes <= MQ_FUZZ_MAX_ARENA;
        if (ok) {
            outs[i] = malloc(info.size_bytes > 0 ? info.size_bytes : 1u);
            ok = outs[i] != NULL;
        }
    }
    if (ok && m.arena_size <= MQ_FUZZ_MAX_ARENA) {
        uint8_t *arena = (uint8_t *)malloc(m.arena_size > 0 ? m.arena_size : 1u);
        if (arena != NULL) {
            /* Too small by one byte: must be rejected without touching anything. */
            if (m.arena_size > 0 && mq_model_run(&m, arena, m.arena_size - 1u, (const void *const *)ins, outs) !=
                                        MQ_ERR_ARENA) {
                abort();
            }
            (void)mq_model_run(&m, arena, m.arena_size, (const void *const *)ins, outs);
            free(arena);
        }
    }
    for (i = 0; i < ni; i++) {
        free(ins[i]);
    }
    for (i = 0; i < no; i++) {
        free(outs[i]);
    }
    free(blob);
    return 0;
}
