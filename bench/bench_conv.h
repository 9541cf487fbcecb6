/*
 * MicroQuant bench/: convolution workloads of issue 9 (included by bench_main.c).
 *
 * Layer shapes of the MLPerf Tiny KWS DS-CNN (int8, per-channel, as TFLite's model): the first CONV_2D
 * (49x10x1, 10x4 kernel, stride 2, pad 4/5/1/1 -> 25x5x64), the 1x1 64->64 CONV_2D at 25x5 and the 3x3
 * DEPTHWISE_CONV_2D 25x5x64 SAME stride 1; a MobileNet-style depthwise (3x3 stride 2 at 48x48x16, TF SAME
 * pad 0/1; stride 1 at 24x24x32) and a ResNet-style 3x3 conv 32x32x16 -> 16. Each call goes through the public
 * operator (mq_conv / mq_depthwise_conv, checks included), scratch as the host plans it. The KWS sums per op
 * kind (CONV_2D = first layer + 4 x 1x1, DEPTHWISE = 4 x 3x3) are compared with TFLite Micro + CMSIS-NN's
 * figures of issue 9. Every output is compared with the int64 reference of csrc/tests/ref_conv.h.
 */
#include "microquant/mq_host.h"
#include "ref_conv.h"

#define BC_MAX_IN (48 * 48 * 16)
#define BC_MAX_OUT (24 * 24 * 32 + 4)
static uint8_t bc_x[BC_MAX_IN];
static uint8_t bc_y[BC_MAX_OUT];
static uint8_t bc_ref[BC_MAX_OUT];
static int8_t bc_w[64 * 64];
static int32_t bc_wp[64 * 64];
static int32_t bc_bias[64], bc_folded[64], bc_mult[64], bc_shift[64];
static uint8_t bc_scratch[4096];

/* TFLite Micro + CMSIS-NN on KWS, issue 9 (M3, M4, M7, M55). */
static const uint32_t bc_cmsis_conv[4] = {7744658u, 5395340u, 5341011u, 1119009u};
static const uint32_t bc_cmsis_dw[4] = {2661132u, 2245376u, 2245416u, 676404u};

static void bc_layer(ref_layer *L, int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_c, int32_t kh, int32_t kw,
                     int32_t s, int32_t pt, int32_t pb, int32_t pl, int32_t pr, int32_t mult)
{
    int32_t i;
    memset(L, 0, sizeof *L);
    L->batch = 1;
    L->in_h = in_h;
    L->in_w = in_w;
    L->in_c = in_c;
    L->kh = kh;
    L->kw = kw;
    L->sh = L->sw = s;
    L->dh = L->dw = 1;
    L->pt = pt;
    L->pb = pb;
    L->pl = pl;
    L->pr = pr;
    L->mult = mult;
    L->out_c = mult > 0 ? in_c * mult : out_c;
    L->out_h = ref_out_dim(in_h, pt, pb, kh, 1, s);
    L->out_w = ref_out_dim(in_w, pl, pr, kw, 1, s);
    L->in_zp = -5;
    L->out_zp = 3;
    L->act_min = -128;
    L->act_max = 127;
    L->per_channel = 1;
    for (i = 0; i < L->out_c; i++) {
        bc_bias[i] = mq_ref_range(&seed, -20000, 20000);
        bc_mult[i] = (int32_t)(0x40000000u | (mq_ref_rand(&seed) & 0x3FFFFFFFu));
        bc_shift[i] = mq_ref_range(&seed, -10, -7);
    }
    for (i = 0; i < (int32_t)sizeof bc_x; i++) {
        bc_x[i] = (uint8_t)mq_ref_rand(&seed);
    }
    L->w = bc_w;
    L->bias = bc_bias;
    L->qm = bc_mult;
    L->qs = bc_shift;
}

static void bc_window(const ref_layer *L, mq_window *w)
{
    w->batch = 1;
    w->in_h = L->in_h;
    w->in_w = L->in_w;
    w->out_h = L->out_h;
    w->out_w = L->out_w;
    w->kernel_h = L->kh;
    w->kernel_w = L->kw;
    w->stride_h = L->sh;
    w->stride_w = L->sw;
    w->dilation_h = w->dilation_w = 1;
    w->pad_top = L->pt;
    w->pad_bottom = L->pb;
    w->pad_left = L->pl;
    w->pad_right = L->pr;
}

static uint64_t bc_report(const char *name, const ref_layer *L, uint64_t total_x100)
{
    const uint64_t per_call_x100 = total_x100 / MQ_BENCH_REPS;
    const uint32_t macs = (uint32_t)(L->out_h * L->out_w * L->out_c * L->kh * L->kw * (L->mult > 0 ? 1 : L->in_c));
    printf("| %-34s | %10lu | %8lu | ", name, (unsigned long)((per_call_x100 + 50u) / 100u), (unsigned long)macs);
    print_u64_x100(per_call_x100 / macs, 6);
    printf(" |\n");
    if (memcmp(bc_y, bc_ref, (size_t)(L->out_h * L->out_w * L->out_c)) != 0) {
        printf("MISMATCH %s against the int64 reference\n", name);
        failures++;
    }
    return per_call_x100;
}

static uint64_t bc_conv(const char *name, int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_c, int32_t kh, int32_t kw,
                        int32_t s, int32_t pt, int32_t pb, int32_t pl, int32_t pr)
{
    ref_layer L;
    mq_conv_params p;
    size_t need;
    uint32_t t0, t1;
    int32_t i, k;
    int r;
    mq_status st = MQ_OK;
    bc_layer(&L, in_h, in_w, in_c, out_c, kh, kw, s, pt, pb, pl, pr, 0);
    k = kh * kw * in_c;
    for (i = 0; i < out_c * k; i++) {
        bc_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    memset(&p, 0, sizeof p);
    bc_window(&L, &p.win);
    p.in_c = in_c;
    p.in_zero_point = L.in_zp;
    p.gemm.n = out_c;
    p.gemm.k = k;
    p.gemm.weights.packed = (const int8_t *)(const void *)bc_wp;
    p.gemm.bias.folded = bc_folded;
    p.gemm.multiplier = bc_mult;
    p.gemm.shift = bc_shift;
    p.gemm.per_channel = 1;
    p.gemm.in_dtype = MQ_DTYPE_INT8;
    p.gemm.out_dtype = MQ_DTYPE_INT8;
    p.gemm.out_zero_point = L.out_zp;
    p.gemm.act_min = -128;
    p.gemm.act_max = 127;
    mq_ref_pack(bc_w, out_c, k, (int8_t *)(void *)bc_wp);
    if (mq_fold_bias(bc_w, bc_bias, out_c, k, L.in_zp, MQ_DTYPE_INT8, bc_folded) != MQ_OK) {
        failures++;
    }
    need = mq_conv_scratch_size(&p);
    if (need > sizeof bc_scratch) {
        printf("scratch %u too large\n", (unsigned)need);
        failures++;
        return 0;
    }
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_conv(&p, bc_x, bc_y, bc_scratch, need));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        printf("mq_conv failed: %d\n", (int)st);
        failures++;
    }
    ref_layer_run(&L, bc_x, bc_ref);
    return bc_report(name, &L, ticks_to_insns_x100(t0, t1));
}

static uint64_t bc_depthwise(const char *name, int32_t in_h, int32_t in_w, int32_t c, int32_t s, int32_t pt, int32_t pb,
                             int32_t pl, int32_t pr)
{
    ref_layer L;
    mq_depthwise_params p;
    size_t need;
    uint32_t t0, t1;
    int32_t i;
    int r;
    mq_status st = MQ_OK;
    bc_layer(&L, in_h, in_w, c, c, 3, 3, s, pt, pb, pl, pr, 1);
    for (i = 0; i < 9 * c; i++) {
        bc_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    memset(&p, 0, sizeof p);
    bc_window(&L, &p.win);
    p.in_c = c;
    p.depth_multiplier = 1;
    p.in_dtype = MQ_DTYPE_INT8;
    p.out_dtype = MQ_DTYPE_INT8;
    p.in_zero_point = L.in_zp;
    p.out_zero_point = L.out_zp;
    p.weights.data = bc_wp;
    p.bias.folded = bc_folded;
    p.multiplier = bc_mult;
    p.shift = bc_shift;
    p.per_channel = 1;
    p.act_min = -128;
    p.act_max = 127;
    if (mq_depthwise_pack_weights(bc_w, 3, 3, c, bc_wp, sizeof bc_wp) != MQ_OK ||
        mq_depthwise_prepare_bias(bc_w, bc_bias, 3, 3, c, L.in_zp, MQ_DTYPE_INT8, bc_folded) != MQ_OK) {
        failures++;
    }
    need = mq_depthwise_scratch_size(&p);
    systick_start();
    t0 = systick_now();
    for (r = 0; r < MQ_BENCH_REPS; r++) {
        st = (mq_status)(st | mq_depthwise_conv(&p, bc_x, bc_y, bc_scratch, need));
    }
    t1 = systick_now();
    if (st != MQ_OK) {
        printf("mq_depthwise_conv failed: %d\n", (int)st);
        failures++;
    }
    ref_layer_run(&L, bc_x, bc_ref);
    return bc_report(name, &L, ticks_to_insns_x100(t0, t1));
}

static void bc_sum(const char *kind, uint64_t ours_x100, uint32_t cmsis)
{
    printf("| KWS %-30s | %10lu | CMSIS-NN %9lu | ratio ", kind, (unsigned long)((ours_x100 + 50u) / 100u),
           (unsigned long)cmsis);
    print_u64_x100(ours_x100 / cmsis, 4);
    printf(" |\n");
}

static void bench_conv_layers(void)
{
    uint64_t first, pw, dw;
    printf("| %-34s | %10s | %8s | %6s |\n", "conv layer (int8, per-channel)", "insns/call", "MACs", "/MAC");
    printf("|------------------------------------|------------|----------|--------|\n");
    first = bc_conv("KWS conv 10x4 s2 49x10x1->25x5x64", 49, 10, 1, 64, 10, 4, 2, 4, 5, 1, 1);
    pw = bc_conv("KWS conv 1x1 25x5x64->64", 25, 5, 64, 64, 1, 1, 1, 0, 0, 0, 0);
    dw = bc_depthwise("KWS dw 3x3 s1 25x5x64 SAME", 25, 5, 64, 1, 1, 1, 1, 1);
    (void)bc_depthwise("MobileNet dw 3x3 s2 48x48x16", 48, 48, 16, 2, 0, 1, 0, 1);
    (void)bc_depthwise("MobileNet dw 3x3 s1 24x24x32", 24, 24, 32, 1, 1, 1, 1, 1);
    (void)bc_conv("ResNet conv 3x3 s1 32x32x16->16", 32, 32, 16, 16, 3, 3, 1, 1, 1, 1, 1);
    bc_sum("CONV_2D (first + 4 x 1x1)", first + 4u * pw, bc_cmsis_conv[core_column()]);
    bc_sum("DEPTHWISE (4 x 3x3)", 4u * dw, bc_cmsis_dw[core_column()]);
}
