/*
 * MicroQuant firmware app: run an embedded packed model on embedded input samples and print the
 * outputs over semihosting. The same binary protocol is parsed by the host's QEMU runner
 * (Sources/MQSimulation/QEMURunner.swift); docs/BOARDS.md describes it:
 *
 *   MQ-MODEL bytes=<n> arena=<n> inputs=<n> outputs=<n>
 *   MQ-SAMPLES <count>
 *   MQ-TICKS <sample> <SysTick ticks of mq_model_run>  (core clock; see mq_timer_ticks)
 *   MQ-OUT <sample> <output> <hex codes>            one line per sample and output
 *   MQ-STACK <bytes of stack used>
 *   MQ-DONE <status> <status text>                   (for mq_status codes the text only with MQ_FW_STATUS_TEXT=1;
 *                                                     else empty: the host prints mq_status_str of the code)
 *
 * Exit code (semihosting) = the mq_status of the first failure, 0 on success; 90..93 for
 * firmware configuration errors (see below).
 *
 * Embedded data (common/mq_blob_incbin.S.in or a generated C array, see boards/CMakeLists.txt):
 *   mq_fw_model / mq_fw_model_size   the packed model blob, 16-byte aligned, in flash
 *   mq_fw_input / mq_fw_input_size   input samples: for each sample, for each model input in order,
 *                                    the input tensor's codes (size_bytes of mq_model_input_info)
 * Build-time sizes: MQ_FW_ARENA_SIZE (static arena) and MQ_FW_OUTPUT_SIZE (one sample's outputs).
 */
#include <stddef.h>
#include <stdint.h>

#include "microquant/mq_model.h"
#include "microquant/mq_status.h"
#include "mq_fwio.h"
#include "mq_startup.h"

#ifndef MQ_FW_ARENA_SIZE
#define MQ_FW_ARENA_SIZE 65536
#endif
#ifndef MQ_FW_OUTPUT_SIZE
#define MQ_FW_OUTPUT_SIZE 16384
#endif
#define MQ_FW_MAX_IO 8

/* Firmware configuration errors (not mq_status values). */
#define MQ_FW_EXIT_TOO_MANY_IO 90   /* model has more than MQ_FW_MAX_IO inputs or outputs */
#define MQ_FW_EXIT_ARENA 91         /* MQ_FW_ARENA_SIZE smaller than the model's arena */
#define MQ_FW_EXIT_OUTPUT 92        /* MQ_FW_OUTPUT_SIZE smaller than one sample's outputs */
#define MQ_FW_EXIT_INPUT 93         /* input blob is not a whole number of samples */

extern const uint8_t mq_fw_model[];
extern const uint32_t mq_fw_model_size;
extern const uint8_t mq_fw_input[];
extern const uint32_t mq_fw_input_size;

static uint8_t mq_fw_arena[MQ_FW_ARENA_SIZE] __attribute__((aligned(16)));
static uint8_t mq_fw_outputs[MQ_FW_OUTPUT_SIZE] __attribute__((aligned(16)));

static int finish(int code, const char *text)
{
    mq_fw_puts("MQ-STACK ");
    mq_fw_put_u32(mq_stack_used());
    mq_fw_puts("\nMQ-DONE ");
    mq_fw_put_u32((uint32_t)code);
    mq_fw_puts(" ");
    mq_fw_puts(text);
    mq_fw_puts("\n");
    mq_fw_flush();
    return code;
}

/* MQ_FW_STATUS_TEXT 0 (default): the device prints only the code and the host gives its text (QEMURunner, with
 * the host's own mq_status_str), which keeps the runtime's ~1 KB of status strings out of the firmware's flash. */
#ifndef MQ_FW_STATUS_TEXT
#define MQ_FW_STATUS_TEXT 0
#endif
static int fail_status(mq_status st)
{
#if MQ_FW_STATUS_TEXT
    return finish((int)st, mq_status_str(st));
#else
    return finish((int)st, "");
#endif
}

int main(void)
{
    mq_model model;
    mq_tensor_info info;
    const void *inputs[MQ_FW_MAX_IO];
    void *outputs[MQ_FW_MAX_IO];
    uint32_t in_sizes[MQ_FW_MAX_IO];
    uint32_t out_sizes[MQ_FW_MAX_IO];
    uint32_t sample_in_bytes = 0u;
    uint32_t sample_out_bytes = 0u;
    uint32_t num_samples;
    uint32_t s;
    int32_t i;
    int32_t n_in;
    int32_t n_out;
    mq_status st;

    mq_timer_start();
    st = mq_model_load(mq_fw_model, mq_fw_model_size, MQ_LOAD_CHECK_CRC, &model);
    if (st != MQ_OK) {
        return fail_status(st);
    }
    n_in = mq_model_num_inputs(&model);
    n_out = mq_model_num_outputs(&model);
    mq_fw_puts("MQ-MODEL bytes=");
    mq_fw_put_u32(mq_fw_model_size);
    mq_fw_puts(" arena=");
    mq_fw_put_u32(model.arena_size);
    mq_fw_puts(" inputs=");
    mq_fw_put_u32((uint32_t)n_in);
    mq_fw_puts(" outputs=");
    mq_fw_put_u32((uint32_t)n_out);
    mq_fw_puts("\n");
    if (n_in < 1 || n_out < 1 || n_in > MQ_FW_MAX_IO || n_out > MQ_FW_MAX_IO) {
        return finish(MQ_FW_EXIT_TOO_MANY_IO, "model has no or too many inputs/outputs for this firmware");
    }
    if (model.arena_size > (uint32_t)MQ_FW_ARENA_SIZE) {
        return finish(MQ_FW_EXIT_ARENA, "MQ_FW_ARENA_SIZE is smaller than the model's arena");
    }
    for (i = 0; i < n_in; ++i) {
        st = mq_model_input_info(&model, i, &info);
        if (st != MQ_OK) {
            return fail_status(st);
        }
        in_sizes[i] = info.size_bytes;
        sample_in_bytes += info.size_bytes;
    }
    for (i = 0; i < n_out; ++i) {
        st = mq_model_output_info(&model, i, &info);
        if (st != MQ_OK) {
            return fail_status(st);
        }
        out_sizes[i] = info.size_bytes;
        /* Keep every output buffer 16-byte aligned. */
        sample_out_bytes += (info.size_bytes + 15u) & ~15u;
    }
    if (sample_out_bytes > (uint32_t)MQ_FW_OUTPUT_SIZE) {
        return finish(MQ_FW_EXIT_OUTPUT, "MQ_FW_OUTPUT_SIZE is smaller than one sample's outputs");
    }
    if (sample_in_bytes == 0u || mq_fw_input_size % sample_in_bytes != 0u) {
        return finish(MQ_FW_EXIT_INPUT, "input blob is not a whole number of samples");
    }
    num_samples = mq_fw_input_size / sample_in_bytes;
    mq_fw_puts("MQ-SAMPLES ");
    mq_fw_put_u32(num_samples);
    mq_fw_puts("\n");

    {
        uint32_t off = 0u;
        for (i = 0; i < n_out; ++i) {
            outputs[i] = &mq_fw_outputs[off];
            off += (out_sizes[i] + 15u) & ~15u;
        }
    }
    for (s = 0u; s < num_samples; ++s) {
        const uint8_t *p = mq_fw_input + (size_t)s * sample_in_bytes;
        for (i = 0; i < n_in; ++i) {
            inputs[i] = p;
            p += in_sizes[i];
        }
        {
            uint64_t t0 = mq_timer_ticks();
            st = mq_model_run(&model, mq_fw_arena, sizeof mq_fw_arena, inputs, outputs);
            t0 = mq_timer_ticks() - t0;
            if (st != MQ_OK) {
                return fail_status(st);
            }
            mq_fw_puts("MQ-TICKS ");
            mq_fw_put_u32(s);
            mq_fw_puts(" ");
            mq_fw_put_u32(t0 > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)t0);
            mq_fw_puts("\n");
        }
        for (i = 0; i < n_out; ++i) {
            mq_fw_puts("MQ-OUT ");
            mq_fw_put_u32(s);
            mq_fw_puts(" ");
            mq_fw_put_u32((uint32_t)i);
            mq_fw_puts(" ");
            mq_fw_put_hex_bytes((const uint8_t *)outputs[i], out_sizes[i]);
            mq_fw_puts("\n");
        }
    }
    return finish(0, "ok");
}
