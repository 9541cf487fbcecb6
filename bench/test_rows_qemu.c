/*
 * Row-streamed segment check on a QEMU Cortex-M board (scripts/test-rows-qemu.sh): the bundle written by
 * bench/rows_qemu_gen.c (random residual segments packed as one ROW_STREAM op, their inputs, and the outputs of the
 * host's layer-by-layer run) is embedded in flash; every model is loaded (CRC checked) and run on each input into a
 * static arena filled with 0x5A (the host ran on 0xA5), and every output byte must equal the host's. The stack
 * below the current frame is painted before each model: its peak (boards/common/mq_startup.c, mq_stack_used) is
 * printed per model and must stay below the board's reserve (__mq_stack_size, 12 KiB on the QEMU boards).
 *
 * Lines: "RS <case> stack <bytes> ok" (or "RS <case> MISMATCH sample <s> byte <i> got <hex> want <hex>", "RS <case>
 * status <mq_status>"), then "PASS: <n> cases, <runs> runs, max stack <bytes> (case <i>)" or "FAIL: ...".
 * Exit status 0 on PASS, 1 on FAIL.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "microquant/mq_model.h"
#include "mq_fwio.h"
#include "mq_startup.h"

#ifndef MQ_RS_ARENA_SIZE
#define MQ_RS_ARENA_SIZE 131072
#endif
#define MQ_RS_OUT_SIZE 65536
#define MQ_STACK_PAINT 0xC0FFEE5Au

extern const uint8_t mq_rs_bundle[];
extern const uint32_t mq_rs_bundle_size;

static uint8_t arena[MQ_RS_ARENA_SIZE] __attribute__((aligned(16)));
static uint8_t out[MQ_RS_OUT_SIZE] __attribute__((aligned(16)));

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t up16(uint32_t n)
{
    return (n + 15u) & ~15u;
}

/* Paint the stack from its limit up to 64 bytes below this function's frame (nothing live there). */
__attribute__((noinline)) static void paint_stack(void)
{
    uintptr_t sp;
    uint32_t *dst = __mq_stack_limit;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    while ((uintptr_t)dst + 64u < sp) {
        *dst++ = MQ_STACK_PAINT;
    }
}

static void line3(const char *a, uint32_t v, const char *b)
{
    mq_fw_puts(a);
    mq_fw_put_u32(v);
    mq_fw_puts(b);
}

int main(void)
{
    const uint8_t *p = mq_rs_bundle;
    const uint32_t reserve = (uint32_t)((uintptr_t)__mq_stack_top - (uintptr_t)__mq_stack_limit);
    uint32_t count, samples, c, fails = 0u, runs = 0u, max_stack = 0u, max_case = 0u;
    if (mq_rs_bundle_size < 16u || memcmp(p, "MQRS", 4) != 0) {
        mq_fw_puts("FAIL: no bundle\n");
        mq_fw_flush();
        return 1;
    }
    count = rd32(p + 4);
    samples = rd32(p + 8);
    p += 16;
    for (c = 0u; c < count; c++) {
        const uint32_t idx = rd32(p), blob_size = rd32(p + 4), in_size = rd32(p + 8), out_size = rd32(p + 12);
        const uint8_t *blob = p + 32, *ins = blob + up16(blob_size), *want = ins + samples * up16(in_size);
        mq_model m;
        mq_status st;
        uint32_t s, used;
        int bad = 0;
        p = want + samples * up16(out_size);
        if ((uint32_t)(p - mq_rs_bundle) > mq_rs_bundle_size || out_size > MQ_RS_OUT_SIZE) {
            mq_fw_puts("FAIL: bundle truncated\n");
            mq_fw_flush();
            return 1;
        }
        paint_stack();
        st = mq_model_load(blob, blob_size, MQ_LOAD_CHECK_CRC, &m);
        if (st == MQ_OK && m.arena_size > MQ_RS_ARENA_SIZE) {
            st = MQ_ERR_ARENA;
        }
        for (s = 0u; st == MQ_OK && s < samples && !bad; s++) {
            const void *xi[1];
            void *yo[1];
            uint32_t i;
            xi[0] = ins + s * up16(in_size);
            yo[0] = out;
            memset(arena, 0x5A, m.arena_size);
            memset(out, 0x33, out_size);
            st = mq_model_run(&m, arena, MQ_RS_ARENA_SIZE, xi, yo);
            runs++;
            for (i = 0u; st == MQ_OK && i < out_size; i++) {
                if (out[i] != want[s * up16(out_size) + i]) {
                    line3("RS ", idx, " MISMATCH sample ");
                    line3("", s, " byte ");
                    line3("", i, " got ");
                    mq_fw_put_hex_bytes(&out[i], 1u);
                    mq_fw_puts(" want ");
                    mq_fw_put_hex_bytes(&want[s * up16(out_size) + i], 1u);
                    mq_fw_puts("\n");
                    bad = 1;
                    break;
                }
            }
        }
        used = mq_stack_used();
        if (used > max_stack) {
            max_stack = used;
            max_case = idx;
        }
        if (st != MQ_OK) {
            line3("RS ", idx, " status ");
            line3("", (uint32_t)st, "\n");
            bad = 1;
        }
        if (used >= reserve) {
            line3("RS ", idx, " STACK reserve used up (");
            line3("", used, " bytes)\n");
            bad = 1;
        }
        if (!bad) {
            line3("RS ", idx, " stack ");
            line3("", used, " ok\n");
        }
        fails += (uint32_t)bad;
    }
    mq_fw_puts(fails == 0u ? "PASS: " : "FAIL: ");
    line3("", count, " cases, ");
    line3("", runs, " runs, ");
    line3("", fails, " failed, max stack ");
    line3("", max_stack, " (case ");
    line3("", max_case, "), reserve ");
    line3("", reserve, "\n");
    mq_fw_flush();
    return fails == 0u ? 0 : 1;
}
