/*
 * Test helper: every single-bit flip of a packed model blob. Each flipped copy (in `copy`, 16-aligned, at least
 * `size` bytes) is loaded with the CRC unchecked, so the structural checks see every flip; a copy the loader accepts
 * is run when its arena fits `arena_bytes` (a bigger arena_size is legal, it is not run here) and must not fault
 * (scripts/test-c.sh runs the tests under ASan + UBSan). Adds to *rejected, *accepted and *ran.
 */
#ifndef MICROQUANT_FX_BITFLIP_H
#define MICROQUANT_FX_BITFLIP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_model.h"

static void fx_flip_each_bit(const uint8_t *blob, size_t size, uint8_t *copy, uint8_t *arena, size_t arena_bytes,
                             const void *const *inputs, void *const *outputs, long *rejected, long *accepted,
                             long *ran)
{
    size_t bit;
    for (bit = 0; bit < size * 8u; ++bit) {
        mq_model m;
        memcpy(copy, blob, size);
        copy[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        if (mq_model_load(copy, size, 0u, &m) != MQ_OK) {
            ++*rejected;
            continue;
        }
        ++*accepted;
        if (getenv("MQ_FLIP_TRACE") != NULL) {
            printf("flip %zu accepted\n", bit);
            fflush(stdout);
        }
        if (m.arena_size <= arena_bytes) {
            (void)mq_model_run(&m, arena, arena_bytes, inputs, outputs);
            ++*ran;
        }
    }
}

#endif
