/*
 * MicroQuant dev-time tool: a QEMU (7.2, plugin API version 1) TCG plugin that records every guest DATA
 * READ whose address lies in [lo, hi) (the packed model embedded in the firmware's flash) while a region
 * is open: the region opens when the instruction at `start` executes (first instruction of mq_model_run)
 * and closes at any of the `stop` addresses (the instructions after its call sites). Only the first
 * region is recorded (the first inference). Output: binary records of 3 little-endian uint32
 * (address, size in bytes, PC of the load) to `out`. scripts/flash-reads.py runs it and simulates the
 * flash interface (docs/PERFORMANCE.md "Flash wait states"). Nothing in the project depends on it.
 *
 * Arguments: start=0xADDR,stop=0xA[:0xB...],lo=0xADDR,hi=0xADDR,out=FILE
 * Build: cc -O2 -shared -fPIC -o libmqflashreads.so mq_flashreads.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The few declarations of QEMU's public plugin API (include/qemu/qemu-plugin.h) this plugin uses. */
typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W = 2, QEMU_PLUGIN_MEM_RW = 3 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
                                          void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw, void *userdata);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
_Bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_STOPS 64
static uint64_t g_start, g_lo, g_hi;
static uint64_t g_stops[MAX_STOPS];
static int g_nstops;
static int g_state; /* 0 before the region, 1 inside, 2 after (done) */
static FILE *g_out;
static uint64_t g_records;

static void on_start(unsigned int vcpu, void *ud)
{
    (void)vcpu;
    (void)ud;
    if (g_state == 0) {
        g_state = 1;
    }
}

static void on_stop(unsigned int vcpu, void *ud)
{
    (void)vcpu;
    (void)ud;
    if (g_state == 1) {
        g_state = 2;
        fflush(g_out);
    }
}

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *ud)
{
    uint32_t rec[3];
    (void)vcpu;
    if (g_state != 1 || qemu_plugin_mem_is_store(info) || vaddr < g_lo || vaddr >= g_hi) {
        return;
    }
    rec[0] = (uint32_t)vaddr;
    rec[1] = 1u << qemu_plugin_mem_size_shift(info);
    rec[2] = (uint32_t)(uintptr_t)ud;
    fwrite(rec, sizeof rec, 1, g_out);
    g_records++;
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t i, n = qemu_plugin_tb_n_insns(tb);
    (void)id;
    for (i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        int s;
        if (pc == g_start) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        for (s = 0; s < g_nstops; s++) {
            if (pc == g_stops[s]) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
            }
        }
        /* QEMU_PLUGIN_MEM_RW and the store test in on_mem: QEMU 7.2 called a QEMU_PLUGIN_MEM_R callback for
         * the stores only (measured here), so the filter is applied in the callback. */
        qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                         (void *)(uintptr_t)pc);
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *ud)
{
    (void)id;
    (void)ud;
    if (g_out != NULL) {
        fclose(g_out);
        g_out = NULL;
    }
    fprintf(stderr, "mq_flashreads: %llu reads recorded, region %s\n", (unsigned long long)g_records,
            g_state == 2 ? "closed" : (g_state == 1 ? "NOT CLOSED" : "NEVER OPENED"));
}

static int parse_stops(const char *v)
{
    char buf[1024];
    char *tok, *save = NULL;
    if (strlen(v) >= sizeof buf) {
        return -1;
    }
    strcpy(buf, v);
    for (tok = strtok_r(buf, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
        if (g_nstops == MAX_STOPS) {
            return -1;
        }
        g_stops[g_nstops++] = strtoull(tok, NULL, 0);
    }
    return g_nstops > 0 ? 0 : -1;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
                                                               char **argv)
{
    const char *out = NULL;
    int i, have = 0;
    (void)info;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "start=", 6) == 0) {
            g_start = strtoull(a + 6, NULL, 0);
            have |= 1;
        } else if (strncmp(a, "stop=", 5) == 0) {
            if (parse_stops(a + 5) != 0) {
                fprintf(stderr, "mq_flashreads: bad stop list '%s'\n", a + 5);
                return -1;
            }
            have |= 2;
        } else if (strncmp(a, "lo=", 3) == 0) {
            g_lo = strtoull(a + 3, NULL, 0);
            have |= 4;
        } else if (strncmp(a, "hi=", 3) == 0) {
            g_hi = strtoull(a + 3, NULL, 0);
            have |= 8;
        } else if (strncmp(a, "out=", 4) == 0) {
            out = a + 4;
            have |= 16;
        } else {
            fprintf(stderr, "mq_flashreads: unknown argument '%s'\n", a);
            return -1;
        }
    }
    if (have != 31 || g_hi <= g_lo) {
        fprintf(stderr, "mq_flashreads: need start=, stop=, lo=, hi= (> lo) and out=\n");
        return -1;
    }
    g_out = fopen(out, "wb");
    if (g_out == NULL) {
        fprintf(stderr, "mq_flashreads: cannot write %s\n", out);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
