/*
 * MicroQuant bench/: device benchmark firmware (scripts/bench-device.sh).
 *
 * Runs the workloads of issue 6 with the same shapes as the CMSIS-NN reference figures, through the
 * public operators (mq_fully_connected, mq_conv1x1, mq_lut_apply: parameter checks included, as
 * CMSIS-NN's arm_fully_connected_s8 / arm_convolve_1x1_s8_fast include theirs), and measures each
 * call with SysTick while QEMU runs with "-icount shift=0,align=off,sleep=off": one instruction is
 * 1 ns of virtual time, SysTick counts the CPU clock (25 MHz on mps2 = 40 instructions per tick,
 * 32 MHz on mps3-an547 = 31.25), so instructions = ticks * MQ_BENCH_INSNS_PER_TICK. Each workload
 * is timed over MQ_BENCH_REPS calls (error +-1 tick / MQ_BENCH_REPS per call).
 *
 * Every output is checked against the portable microkernel mq_gemm_s8_n4k16_c / mq_lut_u8_c called
 * directly in the same firmware; any mismatch fails the run (exit status 1).
 * Data: int8 inputs and weights from a fixed xorshift seed, folded int32 bias, FC per-tensor and
 * conv per-channel requantization (as CMSIS-NN's s8 FC / conv), int8 output, full clamp.
 * Build with -DMQ_FORCE_PORTABLE to time the portable path through the same operators.
 */
#include <stdio.h>
#include <string.h>

#include "mq_bench_ref.h"
#include "mq_microkernels.h"
#include "pool/mq_pool_internal.h"
#include "microquant/mq_kernels.h"

#ifndef MQ_BENCH_INSNS_PER_TICK_X100
#error "define MQ_BENCH_INSNS_PER_TICK_X100 (4000 for mps2 at 25 MHz, 3125 for mps3-an547 at 32 MHz)"
#endif
#ifndef MQ_BENCH_CORE
#define MQ_BENCH_CORE 4 /* column of the CMSIS-NN table: 3, 4, 7 or 55 */
#endif
#define MQ_BENCH_REPS 8

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static void systick_start(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* enable, CPU clock, no interrupt */
}

static uint32_t systick_now(void)
{
    return SYST_CVR;
}

/* Elapsed instructions (x100 fixed point) between two SysTick readings (down-counter, wraps at 2^24). */
static uint64_t ticks_to_insns_x100(uint32_t t0, uint32_t t1)
{
    return (uint64_t)((t0 - t1) & 0x00FFFFFFu) * MQ_BENCH_INSNS_PER_TICK_X100;
}

/* CMSIS-NN reference figures from issue 6 (instructions per call; M3, M4, M7, M55). */
typedef struct {
    const char *name;
    uint32_t macs;       /* 0 for element-wise workloads */
    uint32_t elements;   /* values for the LUT rows */
    uint32_t cmsis[4];
    uint32_t cmsis_prepare_m55; /* one-time prepare CMSIS-NN runs on the device (M55), 0 if none */
} workload_ref;

static const workload_ref refs[] = {
    {"fc b1 640->128", 81920u, 0u, {281335u, 160030u, 160059u, 40142u}, 36902u},
    {"fc b1 256->256", 65536u, 0u, {228687u, 135619u, 135675u, 34062u}, 0u},
    {"fc b4 128->128", 65536u, 0u, {240570u, 148532u, 148665u, 37634u}, 0u},
    {"conv1x1 16x16x32->64", 524288u, 0u, {1918915u, 1417613u, 1397191u, 322324u}, 0u},
    {"conv1x1 8x8x64->128", 524288u, 0u, {1639333u, 1106541u, 1088231u, 205620u}, 0u},
    /* TFLite fixed-point sigmoid (CMSIS-NN) per value * 4096 */
    {"sigmoid LUT 4096 int8", 0u, 4096u, {406u * 4096u, 412u * 4096u, 395u * 4096u, 427u * 4096u}, 0u},
    /* plain 256-entry table loop per value * 4096 */
    {"plain LUT loop 4096", 0u, 4096u, {5u * 4096u, 5u * 4096u, 5u * 4096u, 4u * 4096u}, 0u},
    /* issue 9: TFLite Micro + CMSIS-NN on the KWS model's AVERAGE_POOL_2D (25x5x64 -> 1x1x64) and SOFTMAX (12) */
    {"avg pool KWS 25x5x64", 0u, 8000u, {119148u, 50963u, 50964u, 13305u}, 0u},
    {"softmax KWS 12", 0u, 12u, {2498u, 2513u, 2559u, 2736u}, 0u},
};

static int core_column(void)
{
    switch (MQ_BENCH_CORE) {
    case 3:
        return 0;
    case 4:
        return 1;
    case 7:
        return 2;
    default:
        return 3;
    }
}

/* Buffers (largest workload: 640x128 weights, 16x16x64 conv output). */
static int8_t w_rows[640 * 128];
static int8_t w_packed[640 * 128];
static int32_t bias[256], mult[256], shift[256];
static uint8_t xin[16 * 16 * 64];
static uint8_t out_fast[16 * 16 * 64];
static uint8_t out_port[16 * 16 * 64];
static uint8_t sig_lut[256];

static uint32_t seed = 0x1234567u;
static unsigned failures;

static void print_u64_x100(uint64_t v, int width)
{
    /* printf without 64-bit or float support: integer and two decimals */
    char buf[32];
    uint32_t ip = (uint32_t)(v / 100u);
    uint32_t fp = (uint32_t)(v % 100u);
    snprintf(buf, sizeof(buf), "%lu.%02lu", (unsigned long)ip, (unsigned long)fp);
    printf("%*s", width, buf);
}

static void report(int row, const char *label, uint64_t total_x100)
{
    const workload_ref *r = &refs[row];
    const uint64_t per_call_x100 = total_x100 / MQ_BENCH_REPS;
    const uint32_t cm = r->cmsis[core_column()];
    const uint32_t div = r->macs != 0u ? r->macs : r->elements;
    printf("| %-26s | %10lu | ", label, (unsigned long)((per_call_x100 + 50u) / 100u));
    print_u64_x100(per_call_x100 / div, 7);
    printf(" | %9lu | ", (unsigned long)cm);
    print_u64_x100((uint64_t)cm * 100u / div, 7);
    printf(" | ");
    print_u64_x100(per_call_x100 / cm, 6);
    if (MQ_BENCH_CORE == 55 && r->cmsis_prepare_m55 != 0u) {
        printf(" (incl. CMSIS prepare: ");
        print_u64_x100(per_call_x100 / (cm + r->cmsis_prepare_m55), 4);
        printf(")");
    }
    printf(" |\n");
}

static void fill_fc(mq_fc_params *p, int32_t n, int32_t k, int per_channel)
{
    int32_t i;
    for (i = 0; i < n * k; i++) {
        w_rows[i] = (int8_t)mq_ref_rand(&seed);
    }
    mq_ref_pack(w_rows, n, k, w_packed);
    for (i = 0; i < n; i++) {
        bias[i] = mq_ref_range(&seed, -20000, 20000);
        mult[i] = (int32_t)(0x40000000u | (mq_ref_rand(&seed) & 0x3FFFFFFFu));
        shift[i] = mq_ref_range(&seed, -10, -7);
    }
    for (i = 0; i < (int32_t)sizeof(xin); i++) {
        xin[i] = (uint8_t)mq_ref_rand(&seed);
    }
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->k = k;
    p->weights.packed = w_packed;
    p->bias.folded = bias;
    p->multiplier = mult;
    p->shift = shift;
    p->per_channel = per_channel;
    p->in_dtype = MQ_DTYPE_INT8;
    p->out_dtype = MQ_DTYPE_INT8;
    p->out_zero_point = -3;
    p->act_min = -128;
    p->act_max = 127;
    p->lut = NULL;
}

static void check(const char *what, const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            printf("MISMATCH %s at byte %u: fast %u portable %u\n", what, (unsigned)i, a[i], b[i]);
            failures++;
            return;
        }
    }
}

static uint64_t time_fc(const mq_fc_params *p, int32_t batch)
{
    uint32_t t0, t1;
    int r;
    mq_status st = MQ_OK;
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_fully_connected(p, batch, xin, out_fast));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        printf("mq_fully_connected failed: %d\n", (int)st);
        failures++;
    }
    return ticks_to_insns_x100(t0, t1);
}

static uint64_t time_conv(const mq_conv1x1_params *c)
{
    uint32_t t0, t1;
    int r;
    mq_status st = MQ_OK;
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_conv1x1(c, xin, out_fast, NULL, 0));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        printf("mq_conv1x1 failed: %d\n", (int)st);
        failures++;
    }
    return ticks_to_insns_x100(t0, t1);
}

static void bench_fc(int row, int32_t batch, int32_t n, int32_t k)
{
    mq_fc_params p;
    uint64_t plain, fused;
    fill_fc(&p, n, k, 0);
    plain = time_fc(&p, batch);
    report(row, refs[row].name, plain);
    mq_gemm_s8_n4k16_c(&p, batch, xin, k, out_port, n);
    check(refs[row].name, out_fast, out_port, (size_t)(batch * n));
    if (row == 0) {
        /* fused LUT epilogue: the same layer with a sigmoid table applied to every output */
        p.lut = sig_lut;
        fused = time_fc(&p, batch);
        mq_gemm_s8_n4k16_c(&p, batch, xin, k, out_port, n);
        check("fc 640->128 + LUT", out_fast, out_port, (size_t)(batch * n));
        printf("| %-26s | %10lu | fused LUT epilogue: ", "  + sigmoid LUT epilogue",
               (unsigned long)((fused / MQ_BENCH_REPS + 50u) / 100u));
        print_u64_x100(fused > plain ? (fused - plain) / MQ_BENCH_REPS / (uint64_t)(batch * n) : 0u, 0);
        printf(" insns per output value |\n");
    }
}

static void bench_conv(int row, int32_t hw, int32_t cin, int32_t cout)
{
    mq_conv1x1_params c;
    uint64_t plain, fused;
    memset(&c, 0, sizeof(c));
    fill_fc(&c.gemm, cout, cin, 1);
    c.batch = 1;
    c.in_h = hw;
    c.in_w = hw;
    c.stride_h = 1;
    c.stride_w = 1;
    c.in_zero_point = 0;
    plain = time_conv(&c);
    report(row, refs[row].name, plain);
    mq_gemm_s8_n4k16_c(&c.gemm, hw * hw, xin, cin, out_port, cout);
    check(refs[row].name, out_fast, out_port, (size_t)(hw * hw * cout));
    if (row == 3) {
        c.gemm.lut = sig_lut;
        fused = time_conv(&c);
        mq_gemm_s8_n4k16_c(&c.gemm, hw * hw, xin, cin, out_port, cout);
        check("conv + LUT", out_fast, out_port, (size_t)(hw * hw * cout));
        printf("| %-26s | %10lu | fused LUT epilogue: ", "  + sigmoid LUT epilogue",
               (unsigned long)((fused / MQ_BENCH_REPS + 50u) / 100u));
        print_u64_x100(fused > plain ? (fused - plain) / MQ_BENCH_REPS / (uint64_t)(hw * hw * cout) : 0u, 0);
        printf(" insns per output value |\n");
    }
}

#include "bench_conv.h"

static void bench_lut(void)
{
    uint32_t t0, t1;
    int r;
    mq_status st = MQ_OK;
    size_t i;
    for (i = 0; i < 4096u; i++) {
        xin[i] = (uint8_t)mq_ref_rand(&seed);
    }
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_lut_apply(sig_lut, xin, out_fast, 4096u));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        failures++;
    }
    report(5, "sigmoid LUT 4096 (mq_lut_apply)", ticks_to_insns_x100(t0, t1));
    mq_lut_u8_c(sig_lut, xin, out_port, 4096u);
    check("lut", out_fast, out_port, 4096u);
    /* the same call against CMSIS-NN's plain table loop figure */
    report(6, "  vs plain table loop", ticks_to_insns_x100(t0, t1));
}

/* KWS shapes: AVERAGE_POOL_2D 25x5 over [1,25,5,64] (int8, no padding) and SOFTMAX over 12 int8 logits with the
 * model's input scale 0.14469251 (its constants from mq_softmax_prepare, computed on the host, hard-coded). */
static void bench_pool_softmax(void)
{
    mq_pool_params pp;
    mq_softmax_params sp;
    uint32_t t0, t1;
    int r;
    mq_status st = MQ_OK;
    size_t i;
    memset(&pp, 0, sizeof pp);
    pp.win.batch = 1;
    pp.win.in_h = 25;
    pp.win.in_w = 5;
    pp.win.out_h = pp.win.out_w = 1;
    pp.win.kernel_h = 25;
    pp.win.kernel_w = 5;
    pp.win.stride_h = 25;
    pp.win.stride_w = 5;
    pp.win.dilation_h = pp.win.dilation_w = 1;
    pp.channels = 64;
    pp.dtype = MQ_DTYPE_INT8;
    pp.act_min = -128;
    pp.act_max = 127;
    for (i = 0; i < 8000u; i++) {
        xin[i] = (uint8_t)mq_ref_rand(&seed);
    }
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_avg_pool(&pp, xin, out_fast));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        failures++;
    }
    report(7, "avg pool KWS 25x5x64 -> 64", ticks_to_insns_x100(t0, t1));
    mq_avg_pool_c(&pp, xin, out_port);
    check("avg pool", out_fast, out_port, 64u);

    memset(&sp, 0, sizeof sp);
    sp.outer = 1;
    sp.axis_size = 12;
    sp.inner = 1;
    sp.in_dtype = MQ_DTYPE_INT8;
    sp.out_dtype = MQ_DTYPE_INT8;
    sp.input_multiplier = 1242899200;   /* mq_softmax_prepare(0.14469251036643982, 1.0) */
    sp.input_left_shift = 24;
    sp.diff_min = -124;
    for (i = 0; i < 12u; i++) {
        xin[i] = (uint8_t)mq_ref_rand(&seed);
    }
    st = MQ_OK;
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_softmax(&sp, xin, out_fast));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        failures++;
    }
    report(8, "softmax KWS 12 (random)", ticks_to_insns_x100(t0, t1));
    /* the KWS model's own SOFTMAX inputs (4 rows from csrc/tests/fixtures/litert_kws.bin, ai-edge-litert) */
    {
        static const int8_t logits[4][12] = {
            {-58, -27, -25, 5, -58, -37, -35, -99, -72, 53, -128, 71},
            {-56, -38, -17, 8, -40, -22, -47, -84, -66, 57, -128, 60},
            {-58, -27, -29, 3, -46, -20, -50, -65, -78, 43, -128, 64},
            {-77, -42, -57, -21, -53, -37, -63, -74, -69, 68, -128, 84}};
        uint64_t total = 0;
        int row;
        for (row = 0; row < 4; row++) {
            memcpy(xin, logits[row], 12);
            systick_start();
            t0 = systick_now();
            for (r = 0; r < MQ_BENCH_REPS; r++) {
                st = (mq_status)(st | mq_softmax(&sp, xin, out_fast));
            }
            t1 = systick_now();
            total += ticks_to_insns_x100(t0, t1);
        }
        if (st != MQ_OK) {
            failures++;
        }
        report(8, "softmax KWS 12 (logits)", total / 4u);
    }
}

int main(void)
{
    int i;
    /* Stand-in for a sigmoid table (the cost of a lookup does not depend on the entries). */
    for (i = 0; i < 256; i++) {
        const int32_t code = i < 128 ? i : i - 256;
        sig_lut[i] = (uint8_t)(code * 37 + 11); /* any permutation-like table costs the same */
    }
    printf("MicroQuant device benchmark: %s, kernel path: %s, %d calls per figure\n",
#if MQ_BENCH_CORE == 3
           "Cortex-M3",
#elif MQ_BENCH_CORE == 4
           "Cortex-M4",
#elif MQ_BENCH_CORE == 7
           "Cortex-M7",
#else
           "Cortex-M55",
#endif
#if defined(MQ_FORCE_PORTABLE)
           "portable C (MQ_FORCE_PORTABLE)",
#elif defined(__ARM_FEATURE_MVE)
           "MVE",
#elif defined(__ARM_FEATURE_DSP)
           "DSP",
#elif defined(__ARM_ARCH_7M__)
           "v7m GEMM (LDRSB/MLA), portable LUT",
#else
           "portable C",
#endif
           MQ_BENCH_REPS);
    printf("| %-26s | %10s | %7s | %9s | %7s | %6s |\n", "workload", "insns/call", "/MAC", "CMSIS-NN", "/MAC",
           "ratio");
    printf("|----------------------------|------------|---------|-----------|---------|--------|\n");
    bench_fc(0, 1, 128, 640);
    bench_fc(1, 1, 256, 256);
    bench_fc(2, 4, 128, 128);
    bench_conv(3, 16, 32, 64);
    bench_conv(4, 8, 64, 128);
    bench_lut();
    bench_conv_layers();
    bench_pool_softmax();
    printf("%s: output checks against the portable kernels: %u mismatches\n", failures == 0u ? "PASS" : "FAIL",
           failures);
    return failures == 0u ? 0 : 1;
}
