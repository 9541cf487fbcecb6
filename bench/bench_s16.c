/*
 * MicroQuant bench/: 16x8 kernels on the device (scripts/bench-s16.sh), under QEMU -icount (instructions per call
 * from SysTick, as bench/bench_main.c). For each workload the 16x8 operator (mq_fully_connected_s16 / mq_conv_s16,
 * int16 input, int8 weights, int64 bias) is timed next to the int8 operator of the same shape (mq_fully_connected /
 * mq_conv1x1 / mq_conv, N4K16-packed weights), and its output is checked byte for byte against an independent reference
 * computed here (int64 sums, TFLite's int64 requantization re-derived with floor division); any mismatch fails the
 * run. Built twice by the script: the dispatched (DSP on M4/M7) path and -DMQ_FORCE_PORTABLE.
 */
#include <stdio.h>
#include <string.h>

#include "mq_bench_ref.h"
#include "microquant/mq_kernels.h"
#include "microquant/mq_kernels_s16.h"
#include "int16/mq_s16_internal.h"
#include "mq_kernels_unchecked.h"

#ifndef MQ_BENCH_INSNS_PER_TICK_X100
#error "define MQ_BENCH_INSNS_PER_TICK_X100"
#endif
#define REPS 4

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static int8_t w_rows[640 * 128];
static int8_t w_packed[640 * 128];
static int32_t bias32[256], mult[256], shift[256];
static int64_t bias64[256];
static uint8_t x8[16 * 16 * 64];
static uint8_t y8[16 * 16 * 128];
static int16_t x16[16 * 16 * 64];
static int16_t y16[16 * 16 * 128];
static int16_t yref[16 * 16 * 128];
static uint8_t scratch8[4096];
static uint32_t seed = 0x2468ACEu;
static unsigned failures;

static uint32_t ticks_now(void)
{
    return SYST_CVR;
}

static void ticks_start(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u;
}

static uint32_t insns(uint32_t t0, uint32_t t1)
{
    return (uint32_t)((((uint64_t)((t0 - t1) & 0x00FFFFFFu) * MQ_BENCH_INSNS_PER_TICK_X100) / 100u + REPS / 2) / REPS);
}

/* TFLite MultiplyByQuantizedMultiplier(int64), re-derived: floor((acc * m16 + 2^(t-1)) / 2^t). */
static int32_t ref_rq64(int64_t acc, int32_t m, int32_t s)
{
    const int64_t m16 = m >= 0x7FFF0000 ? 0x7FFF : mq_ref_floor_div_pow2((int64_t)m + 32768, 16);
    const int32_t t = 15 - s;
    return (int32_t)mq_ref_floor_div_pow2(acc * m16 + ((int64_t)1 << (t - 1)), t);
}

static int16_t ref_out(int64_t acc, int32_t c)
{
    const int32_t r = ref_rq64(acc, mult[c], shift[c]);
    return (int16_t)(r < -32768 ? -32768 : (r > 32767 ? 32767 : r));
}

static void fill(int32_t n, int32_t k)
{
    int32_t i;
    for (i = 0; i < n * k; i++) {
        w_rows[i] = (int8_t)mq_ref_rand(&seed);
    }
    mq_ref_pack(w_rows, n, k, w_packed);
    for (i = 0; i < n; i++) {
        bias32[i] = mq_ref_range(&seed, -20000, 20000);
        bias64[i] = (int64_t)bias32[i] * 300;
        mult[i] = (int32_t)(0x40000000u | (mq_ref_rand(&seed) & 0x3FFFFFFFu));
        shift[i] = mq_ref_range(&seed, -14, -11);
    }
    for (i = 0; i < (int32_t)sizeof(x8); i++) {
        x8[i] = (uint8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < (int32_t)(sizeof(x16) / 2); i++) {
        x16[i] = (int16_t)mq_ref_range(&seed, -32768, 32767);
    }
}

static void check(const char *what, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (y16[i] != yref[i]) {
            printf("MISMATCH %s at %u: %d, reference %d\n", what, (unsigned)i, y16[i], yref[i]);
            failures++;
            return;
        }
    }
}

static void row(const char *name, uint32_t macs, uint32_t i8, uint32_t i16)
{
    printf("| %-24s | %9lu | %9lu | %4lu.%02lu | %2lu.%02lu |\n", name, (unsigned long)i8, (unsigned long)i16,
           (unsigned long)(i16 / i8), (unsigned long)((i16 % i8) * 100u / i8), (unsigned long)(i16 / macs),
           (unsigned long)((i16 % macs) * 100u / macs));
}

static void bench_fc(int32_t batch, int32_t n, int32_t k, const char *name)
{
    mq_fc_params p8;
    mq_fc_s16_params p16;
    uint32_t t0, t1, a, b;
    int r;
    int32_t bi, c, i;
    mq_status st = MQ_OK;
    fill(n, k);
    memset(&p8, 0, sizeof p8);
    p8.n = n;
    p8.k = k;
    p8.weights.packed = w_packed;
    p8.bias.folded = bias32;
    p8.multiplier = mult;
    p8.shift = shift;
    p8.in_dtype = MQ_DTYPE_INT8;
    p8.out_dtype = MQ_DTYPE_INT8;
    p8.act_min = -128;
    p8.act_max = 127;
    memset(&p16, 0, sizeof p16);
    p16.n = n;
    p16.k = k;
    p16.weights = w_rows;
    p16.bias = bias64;
    p16.multiplier = mult;
    p16.shift = shift;
    p16.per_channel = 1;
    p16.act_min = -32768;
    p16.act_max = 32767;
    /* the public (checked) entries once, for their statuses; timed: the unchecked entries the interpreter calls
     * (mq_model_run: the loader validated the parameters once), for int8 and 16x8 alike */
    st = (mq_status)(mq_fully_connected(&p8, batch, x8, y8) | mq_fully_connected_s16(&p16, batch, x16, y16));
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        mq_fully_connected_unchecked(&p8, batch, x8, y8);
    }
    t1 = ticks_now();
    a = insns(t0, t1);
    memset(y16, 0x55, (size_t)(batch * n) * sizeof y16[0]); /* the check below sees the timed calls' output */
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        mq_fully_connected_s16_unchecked(&p16, batch, x16, y16);
    }
    t1 = ticks_now();
    b = insns(t0, t1);
    if (st != MQ_OK) {
        printf("%s: status %d\n", name, (int)st);
        failures++;
    }
    for (bi = 0; bi < batch; bi++) {
        for (c = 0; c < n; c++) {
            int64_t acc = bias64[c];
            for (i = 0; i < k; i++) {
                acc += (int64_t)x16[bi * k + i] * w_rows[c * k + i];
            }
            yref[bi * n + c] = ref_out(acc, c);
        }
    }
    check(name, (size_t)(batch * n));
    row(name, (uint32_t)(batch * n * k), a, b);
}

static void bench_conv(int32_t hw, int32_t cin, int32_t cout, int32_t ksz, const char *name)
{
    mq_conv1x1_params c8;
    mq_conv_s16_params c16;
    uint32_t t0, t1, a = 0, b;
    int r;
    int32_t oy, ox, o, ky, kx, c;
    const int32_t pad = ksz / 2;
    mq_status st = MQ_OK;
    fill(cout, cin * ksz * ksz);
    memset(&c16, 0, sizeof c16);
    c16.win.batch = 1;
    c16.win.in_h = c16.win.in_w = hw;
    c16.win.out_h = c16.win.out_w = hw;
    c16.win.kernel_h = c16.win.kernel_w = ksz;
    c16.win.stride_h = c16.win.stride_w = 1;
    c16.win.dilation_h = c16.win.dilation_w = 1;
    c16.win.pad_top = c16.win.pad_bottom = c16.win.pad_left = c16.win.pad_right = pad;
    c16.in_c = cin;
    c16.gemm.n = cout;
    c16.gemm.k = cin * ksz * ksz;
    c16.gemm.weights = w_rows;
    c16.gemm.bias = bias64;
    c16.gemm.multiplier = mult;
    c16.gemm.shift = shift;
    c16.gemm.per_channel = 1;
    c16.gemm.act_min = -32768;
    c16.gemm.act_max = 32767;
    if (ksz == 1) {
        memset(&c8, 0, sizeof c8);
        c8.batch = 1;
        c8.in_h = c8.in_w = hw;
        c8.stride_h = c8.stride_w = 1;
        c8.gemm.n = cout;
        c8.gemm.k = cin;
        c8.gemm.weights.packed = w_packed;
        c8.gemm.bias.folded = bias32;
        c8.gemm.multiplier = mult;
        c8.gemm.shift = shift;
        c8.gemm.per_channel = 1;
        c8.gemm.in_dtype = MQ_DTYPE_INT8;
        c8.gemm.out_dtype = MQ_DTYPE_INT8;
        c8.gemm.act_min = -128;
        c8.gemm.act_max = 127;
        ticks_start();
        t0 = ticks_now();
        for (r = 0; r < REPS; r++) {
            st = (mq_status)(st | mq_conv1x1(&c8, x8, y8, NULL, 0));
        }
        t1 = ticks_now();
        a = insns(t0, t1);
    } else {
        /* int8 KxK: mq_conv (im2col scratch as the host plans it); zero points 0, so the folded bias is the bias */
        mq_conv_params k8;
        size_t need;
        memset(&k8, 0, sizeof k8);
        k8.win = c16.win;
        k8.in_c = cin;
        k8.gemm.n = cout;
        k8.gemm.k = cin * ksz * ksz;
        k8.gemm.weights.packed = w_packed;
        k8.gemm.bias.folded = bias32;
        k8.gemm.multiplier = mult;
        k8.gemm.shift = shift;
        k8.gemm.per_channel = 1;
        k8.gemm.in_dtype = MQ_DTYPE_INT8;
        k8.gemm.out_dtype = MQ_DTYPE_INT8;
        k8.gemm.act_min = -128;
        k8.gemm.act_max = 127;
        need = mq_conv_scratch_size(&k8);
        if (need == 0u || need > sizeof scratch8) {
            printf("%s: int8 scratch %u\n", name, (unsigned)need);
            failures++;
        } else {
            ticks_start();
            t0 = ticks_now();
            for (r = 0; r < REPS; r++) {
                st = (mq_status)(st | mq_conv(&k8, x8, y8, scratch8, need));
            }
            t1 = ticks_now();
            a = insns(t0, t1);
        }
    }
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_conv_s16(&c16, x16, y16));
    }
    t1 = ticks_now();
    b = insns(t0, t1);
    if (st != MQ_OK) {
        printf("%s: status %d\n", name, (int)st);
        failures++;
    }
    for (oy = 0; oy < hw; oy++) {
        for (ox = 0; ox < hw; ox++) {
            for (o = 0; o < cout; o++) {
                int64_t acc = bias64[o];
                for (ky = 0; ky < ksz; ky++) {
                    for (kx = 0; kx < ksz; kx++) {
                        const int32_t iy = oy + ky - pad, ix = ox + kx - pad;
                        if (iy < 0 || iy >= hw || ix < 0 || ix >= hw) {
                            continue;
                        }
                        for (c = 0; c < cin; c++) {
                            acc += (int64_t)x16[(iy * hw + ix) * cin + c] * w_rows[((o * ksz + ky) * ksz + kx) * cin + c];
                        }
                    }
                }
                yref[(oy * hw + ox) * cout + o] = ref_out(acc, o);
            }
        }
    }
    check(name, (size_t)(hw * hw * cout));
    if (a == 0u) {
        printf("| %-24s | %9s | %9lu |    - | %2lu.%02lu |\n", name, "-", (unsigned long)b,
               (unsigned long)(b / (uint32_t)(hw * hw * cout * cin * ksz * ksz)),
               (unsigned long)((b % (uint32_t)(hw * hw * cout * cin * ksz * ksz)) * 100u /
                               (uint32_t)(hw * hw * cout * cin * ksz * ksz)));
    } else {
        row(name, (uint32_t)(hw * hw * cout * cin * ksz * ksz), a, b);
    }
}

static void window_of(mq_window *w, int32_t hw, int32_t ksz, int32_t stride, int32_t same)
{
    memset(w, 0, sizeof *w);
    w->batch = 1;
    w->in_h = w->in_w = hw;
    w->kernel_h = w->kernel_w = ksz;
    w->stride_h = w->stride_w = stride;
    w->dilation_h = w->dilation_w = 1;
    if (same) {
        const int32_t out = (hw + stride - 1) / stride;
        const int32_t padt = (out - 1) * stride + ksz - hw;
        w->pad_top = w->pad_left = padt / 2;
        w->pad_bottom = w->pad_right = padt - padt / 2;
    }
    w->out_h = w->out_w = (hw + w->pad_top + w->pad_bottom - ksz) / stride + 1;
}

static void row_elems(const char *name, uint32_t elems, uint32_t i8, uint32_t i16)
{
    /* last column: 16x8 instructions per output element */
    row(name, elems, i8, i16);
}

/* Depthwise KxK, depth multiplier 1: mq_depthwise_conv (int8, int16-widened weights, folded bias = bias since the
 * zero point is 0) next to mq_depthwise_conv_s16 (int8 weights [kh][kw][c], int64 bias). */
static int16_t w_dw16[9 * 256];
static void bench_dw(int32_t hw, int32_t ch, int32_t stride, const char *name)
{
    mq_depthwise_params d8;
    mq_depthwise_s16_params d16;
    uint32_t t0, t1, a = 0, b;
    int r;
    int32_t oy, ox, c, ky, kx, i;
    mq_status st = MQ_OK;
    size_t need;
    fill(ch, 9);
    /* fill() made n = ch rows of k = 9: use them as [9][ch] */
    for (i = 0; i < 9 * ch; i++) {
        w_dw16[i] = w_rows[i];
    }
    memset(&d16, 0, sizeof d16);
    window_of(&d16.win, hw, 3, stride, 1);
    d16.in_c = ch;
    d16.depth_multiplier = 1;
    d16.weights = w_rows;
    d16.bias = bias64;
    d16.multiplier = mult;
    d16.shift = shift;
    d16.per_channel = 1;
    d16.act_min = -32768;
    d16.act_max = 32767;
    memset(&d8, 0, sizeof d8);
    d8.win = d16.win;
    d8.in_c = ch;
    d8.depth_multiplier = 1;
    d8.in_dtype = MQ_DTYPE_INT8;
    d8.out_dtype = MQ_DTYPE_INT8;
    d8.weights.data = w_dw16;
    d8.bias.folded = bias32;
    d8.multiplier = mult;
    d8.shift = shift;
    d8.per_channel = 1;
    d8.act_min = -128;
    d8.act_max = 127;
    need = mq_depthwise_scratch_size(&d8);
    if (need > sizeof scratch8) {
        failures++;
        return;
    }
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_depthwise_conv(&d8, x8, y8, scratch8, need));
    }
    t1 = ticks_now();
    a = insns(t0, t1);
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_depthwise_conv_s16(&d16, x16, y16));
    }
    t1 = ticks_now();
    b = insns(t0, t1);
    if (st != MQ_OK) {
        printf("%s: status %d\n", name, (int)st);
        failures++;
    }
    for (oy = 0; oy < d16.win.out_h; oy++) {
        for (ox = 0; ox < d16.win.out_w; ox++) {
            for (c = 0; c < ch; c++) {
                int64_t acc = bias64[c];
                for (ky = 0; ky < 3; ky++) {
                    for (kx = 0; kx < 3; kx++) {
                        const int32_t iy = oy * stride + ky - d16.win.pad_top, ix = ox * stride + kx - d16.win.pad_left;
                        if (iy < 0 || iy >= hw || ix < 0 || ix >= hw) {
                            continue;
                        }
                        acc += (int64_t)x16[(iy * hw + ix) * ch + c] * w_rows[(ky * 3 + kx) * ch + c];
                    }
                }
                yref[(oy * d16.win.out_w + ox) * ch + c] = ref_out(acc, c);
            }
        }
    }
    check(name, (size_t)(d16.win.out_h * d16.win.out_w * ch));
    row(name, (uint32_t)(d16.win.out_h * d16.win.out_w * ch * 9), a, b);
}

/* ADD, same shapes, general scales: mq_add (int8, left shift 20) next to mq_add_s16 (left shift 15). */
static void bench_add(int32_t n, const char *name)
{
    mq_add_params a8;
    mq_add_s16_params a16;
    uint32_t t0, t1, a, b;
    int r;
    int32_t i;
    mq_status st = MQ_OK;
    const int16_t *x2 = x16 + 8192;
    fill(4, 4);
    memset(&a8, 0, sizeof a8);
    a8.in1_dtype = a8.in2_dtype = a8.out_dtype = MQ_DTYPE_INT8;
    a8.left_shift = 20;
    a8.in1_multiplier = 0x5A000000;
    a8.in1_shift = -1;
    a8.in2_multiplier = 0x6C000000;
    a8.in2_shift = -2;
    a8.out_multiplier = 0x4C000000;
    a8.out_shift = -19;
    a8.act_min = -128;
    a8.act_max = 127;
    memset(&a16, 0, sizeof a16);
    a16.left_shift = 15;
    a16.in1_multiplier = 0x5A000000;
    a16.in1_shift = -1;
    a16.in2_multiplier = 0x6C000000;
    a16.in2_shift = -2;
    a16.out_multiplier = 0x4C000000;
    a16.out_shift = -16;
    a16.act_min = -32768;
    a16.act_max = 32767;
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_add(&a8, x8, x8 + 8192, y8, (size_t)n));
    }
    t1 = ticks_now();
    a = insns(t0, t1);
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_add_s16(&a16, x16, x2, y16, (size_t)n));
    }
    t1 = ticks_now();
    b = insns(t0, t1);
    if (st != MQ_OK) {
        printf("%s: status %d\n", name, (int)st);
        failures++;
    }
    for (i = 0; i < n; i++) {
        const int32_t u = mq_ref_requant(x16[i] * 32768, a16.in1_multiplier, a16.in1_shift);
        const int32_t v = mq_ref_requant(x2[i] * 32768, a16.in2_multiplier, a16.in2_shift);
        const int32_t o = mq_ref_requant(u + v, a16.out_multiplier, a16.out_shift);
        yref[i] = (int16_t)(o < -32768 ? -32768 : (o > 32767 ? 32767 : o));
    }
    check(name, (size_t)n);
    row_elems(name, (uint32_t)n, a, b);
}

/* MUL: mq_mul (int8) next to mq_mul_s16, broadcast none / per channel (channels elements of in2). */
static void bench_mul(int32_t n, int32_t channels, const char *name)
{
    mq_mul_params m8;
    mq_mul_s16_params m16;
    uint32_t t0, t1, a, b;
    int r;
    int32_t i;
    mq_status st = MQ_OK;
    const int16_t *x2 = x16 + 8192;
    fill(4, 4);
    memset(&m8, 0, sizeof m8);
    m8.in1_dtype = m8.in2_dtype = m8.out_dtype = MQ_DTYPE_INT8;
    m8.out_multiplier = 0x5B000000;
    m8.out_shift = -7;
    m8.act_min = -128;
    m8.act_max = 127;
    m8.broadcast = channels > 0 ? MQ_BCAST_CHANNEL : MQ_BCAST_NONE;
    m8.channels = channels;
    memset(&m16, 0, sizeof m16);
    m16.out_multiplier = 0x5B000000;
    m16.out_shift = -15;
    m16.act_min = -32768;
    m16.act_max = 32767;
    m16.broadcast = m8.broadcast;
    m16.channels = channels;
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_mul(&m8, x8, x8 + 8192, y8, (size_t)n));
    }
    t1 = ticks_now();
    a = insns(t0, t1);
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | mq_mul_s16(&m16, x16, x2, y16, (size_t)n));
    }
    t1 = ticks_now();
    b = insns(t0, t1);
    if (st != MQ_OK) {
        printf("%s: status %d\n", name, (int)st);
        failures++;
    }
    for (i = 0; i < n; i++) {
        const int32_t o = mq_ref_requant(x16[i] * x2[channels > 0 ? i % channels : i], m16.out_multiplier,
                                         m16.out_shift);
        yref[i] = (int16_t)(o < -32768 ? -32768 : (o > 32767 ? 32767 : o));
    }
    check(name, (size_t)n);
    row_elems(name, (uint32_t)n, a, b);
}

/* AVERAGE_POOL_2D / MAX_POOL_2D: mq_avg_pool / mq_max_pool (int8) next to the int16 ones. */
static void bench_pool(int32_t hw, int32_t ch, int32_t ksz, int32_t stride, int32_t same, int is_max, const char *name)
{
    mq_pool_params p8;
    mq_pool_s16_params p16;
    uint32_t t0, t1, a, b;
    int r;
    int32_t oy, ox, c, y, x;
    mq_status st = MQ_OK;
    fill(4, 4);
    memset(&p16, 0, sizeof p16);
    window_of(&p16.win, hw, ksz, stride, same);
    p16.channels = ch;
    p16.act_min = -32768;
    p16.act_max = 32767;
    memset(&p8, 0, sizeof p8);
    p8.win = p16.win;
    p8.channels = ch;
    p8.dtype = MQ_DTYPE_INT8;
    p8.act_min = -128;
    p8.act_max = 127;
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | (is_max ? mq_max_pool(&p8, x8, y8) : mq_avg_pool(&p8, x8, y8)));
    }
    t1 = ticks_now();
    a = insns(t0, t1);
    ticks_start();
    t0 = ticks_now();
    for (r = 0; r < REPS; r++) {
        st = (mq_status)(st | (is_max ? mq_max_pool_s16(&p16, x16, y16) : mq_avg_pool_s16(&p16, x16, y16)));
    }
    t1 = ticks_now();
    b = insns(t0, t1);
    if (st != MQ_OK) {
        printf("%s: status %d\n", name, (int)st);
        failures++;
    }
    for (oy = 0; oy < p16.win.out_h; oy++) {
        for (ox = 0; ox < p16.win.out_w; ox++) {
            for (c = 0; c < ch; c++) {
                int64_t acc = is_max ? -32768 : 0;
                int64_t cnt = 0, v;
                for (y = oy * stride - p16.win.pad_top; y < oy * stride - p16.win.pad_top + ksz; y++) {
                    for (x = ox * stride - p16.win.pad_left; x < ox * stride - p16.win.pad_left + ksz; x++) {
                        if (y >= 0 && y < hw && x >= 0 && x < hw) {
                            const int64_t t = x16[(y * hw + x) * ch + c];
                            acc = is_max ? (t > acc ? t : acc) : acc + t;
                            cnt++;
                        }
                    }
                }
                /* average: round half away from zero, written with floor division */
                v = is_max ? acc
                           : (acc >= 0 ? (2 * acc + cnt) / (2 * cnt)
                                       : -((-2 * acc + cnt) / (2 * cnt)));
                yref[(oy * p16.win.out_w + ox) * ch + c] = (int16_t)v;
            }
        }
    }
    check(name, (size_t)(p16.win.out_h * p16.win.out_w * ch));
    row_elems(name, (uint32_t)(p16.win.out_h * p16.win.out_w * ch), a, b);
}

/* The int64 requantization's SMULL fast path on this core, at the int32 edges, every shift, against ref_rq64. */
static void check_requant_edges(void)
{
    static const int64_t edges[] = {INT32_MIN, (int64_t)INT32_MIN + 1, -65537, -1, 0, 1, 65535, INT32_MAX - 1,
                                    INT32_MAX, (int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1, (int64_t)1 << 40};
    static const int32_t mults[] = {0, 1 << 30, (1 << 30) + 32767, 0x5A5A5A5A, 0x7FFEFFFF, 0x7FFF0000, INT32_MAX};
    int32_t s;
    unsigned e, m, bad = 0;
    for (s = MQ_SHIFT64_MIN; s <= MQ_SHIFT64_MAX; s++) {
        for (e = 0; e < sizeof edges / sizeof edges[0]; e++) {
            for (m = 0; m < sizeof mults / sizeof mults[0]; m++) {
                const int64_t a = edges[e];
                const int32_t want = (a < -((int64_t)1 << 47) || a >= ((int64_t)1 << 47)) ? 0 : ref_rq64(a, mults[m], s);
                if (mq_requantize64_fast(a, mults[m], s) != want || mq_requantize64(a, mults[m], s) != want) {
                    bad++;
                }
            }
        }
    }
    if (bad != 0u) {
        printf("MISMATCH requantize64 edges: %u\n", bad);
        failures++;
    }
}

int main(void)
{
    check_requant_edges();
#if defined(MQ_FORCE_PORTABLE)
    printf("16x8 kernels, portable C path (instructions per call)\n");
#else
    printf("16x8 kernels, dispatched path (instructions per call)\n");
#endif
    printf("| workload                 | int8 insns | 16x8 insns | 16x8/int8 | 16x8 insns/MAC |\n");
    bench_fc(1, 128, 4, "fc b1 4->128");
    bench_fc(1, 128, 640, "fc b1 640->128");
    bench_fc(1, 256, 256, "fc b1 256->256");
    bench_fc(4, 128, 128, "fc b4 128->128");
    bench_conv(16, 32, 64, 1, "conv1x1 16x16x32->64");
    bench_conv(8, 64, 128, 1, "conv1x1 8x8x64->128");
    bench_conv(8, 16, 32, 3, "conv3x3 8x8x16->32");
    bench_fc(8, 64, 256, "fc b8 256->64");
    bench_conv(8, 32, 32, 3, "conv3x3 8x8x32->32");
    /* odd shapes for the checks: k mod 4 tails, odd int16 addresses (unaligned words), n mod 4 tails */
    bench_fc(3, 13, 37, "fc b3 37->13");
    bench_conv(7, 3, 10, 3, "conv3x3 7x7x3->10");
    bench_conv(5, 5, 7, 1, "conv1x1 5x5x5->7");
    /* the other 16x8 ops with an int8 counterpart of the same shape (last column: per MAC / per output element) */
    bench_dw(16, 32, 1, "dw3x3 16x16x32");
    bench_dw(8, 64, 1, "dw3x3 8x8x64");
    bench_dw(16, 16, 2, "dw3x3 16x16x16 s2");
    bench_dw(7, 6, 1, "dw3x3 7x7x6 (odd)");
    bench_add(4096, "add 4096");
    bench_add(37, "add 37 (odd)");
    bench_mul(4096, 0, "mul 4096");
    bench_mul(4096, 32, "mul 4096 bcast c32");
    bench_pool(16, 32, 2, 2, 0, 0, "avgpool 2x2 s2 16x16x32");
    bench_pool(16, 32, 2, 2, 0, 1, "maxpool 2x2 s2 16x16x32");
    bench_pool(8, 16, 3, 1, 1, 0, "avgpool 3x3 SAME 8x8x16");
    bench_pool(8, 16, 3, 1, 1, 1, "maxpool 3x3 SAME 8x8x16");
    printf("%s: 16x8 outputs vs the int64 reference: %u mismatches\n", failures == 0u ? "PASS" : "FAIL", failures);
    return failures == 0u ? 0 : 1;
}
