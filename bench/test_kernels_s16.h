/*
 * MicroQuant bench/: 16x8 fast-path checks of the kernel test firmware (included by bench/test_kernels.c,
 * scripts/test-kernels-qemu.sh). On the core it was built for, mq_fully_connected_s16 and mq_conv_s16 (which
 * dispatch to the 4-row path mq_s16_gemm4 with this core's microkernel - DSP on M4/M7, MVE on M55, portable C on
 * M3 and the host - or to the int64 mq_dot4_s16_s8 path) are compared with an independent int64 reference
 * computed here: exact int64 sums, TFLite's int64 MultiplyByQuantizedMultiplier re-derived with floor division
 * (clamp to +-2^47, wrap to int32), clamp. Randomized: batch / pixel counts not multiples of 4, k = 1 .. 400
 * (k mod 4 and mod 8 tails, k past the 256-element buffer: the int64 path; batch 1 up to k = 1000), per-tensor and per-channel,
 * multipliers incl. 0 and the 0x7FFF0000 rounding edge, shifts over the whole [-31, 7] range (t = 15 - shift
 * above and below 32, and shift >= 0: the int64 output stage), biases small, large (past the int32 bound: the
 * int64 channel path) or absent, clamps, full-range and small inputs; convolutions with stride, dilation,
 * padding and 1x1 kernels. Guard elements after every output must stay untouched.
 */
#include "microquant/mq_kernels_s16.h"

#define TKS_MAX_X 8192
#define TKS_MAX_W 16384
#define TKS_MAX_N 48
#define TKS_MAX_Y 8192
#define TKS_GUARD 8

static int16_t tks_x[TKS_MAX_X];
static int8_t tks_w[TKS_MAX_W];
static int64_t tks_bias[TKS_MAX_N];
static int32_t tks_mult[TKS_MAX_N], tks_shift[TKS_MAX_N];
static int16_t tks_y[TKS_MAX_Y + TKS_GUARD], tks_ref[TKS_MAX_Y];

static int32_t tks_rq64(int64_t acc, int32_t m, int32_t s)
{
    const int64_t lim = (int64_t)1 << 47;
    const int64_t m16 = m >= 0x7FFF0000 ? 0x7FFF : mq_ref_floor_div_pow2((int64_t)m + 32768, 16);
    const int32_t t = 15 - s;
    int64_t r;
    uint32_t u;
    acc = acc < -lim ? -lim : (acc > lim - 1 ? lim - 1 : acc);
    r = mq_ref_floor_div_pow2(acc * m16 + ((int64_t)1 << (t - 1)), t);
    u = (uint32_t)((uint64_t)r & 0xFFFFFFFFu);
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static int32_t tks_pick_shift(void)
{
    switch (mq_ref_rand(&seed) % 6u) {
    case 0:
        return mq_ref_range(&seed, MQ_SHIFT64_MIN, MQ_SHIFT64_MAX);
    case 1:
        return mq_ref_range(&seed, -1, 1);          /* t = 16 (SMMULR), shift >= 0 (int64 stage) */
    case 2:
        return mq_ref_range(&seed, -31, -17);       /* t > 32: the SMMUL + rounding shift form */
    default:
        return mq_ref_range(&seed, -16, -6);        /* realistic 16x8 layers */
    }
}

static int32_t tks_pick_mult(void)
{
    switch (mq_ref_rand(&seed) % 12u) {
    case 0:
        return 0;
    case 1:
        return 0x7FFF0000 + mq_ref_range(&seed, -2, 2) * 16384;
    case 2:
        return INT32_MAX;
    default:
        return (int32_t)(0x40000000u | (mq_ref_rand(&seed) & 0x3FFFFFFFu));
    }
}

/* mode 0: none, 1: small, 2: anywhere in +-2^33 (mostly past the int32 bound), 3: at the bound's edges */
static void tks_params(int32_t n, int32_t k, int per_channel, int bias_mode)
{
    int32_t c;
    const int64_t room = (int64_t)INT32_MAX - ((int64_t)k << 22);
    for (c = 0; c < n; c++) {
        switch (bias_mode) {
        case 1:
            tks_bias[c] = mq_ref_range(&seed, -3000000, 3000000);
            break;
        case 2:
            tks_bias[c] = (int64_t)(int32_t)mq_ref_rand(&seed) * 4;
            break;
        default:
            tks_bias[c] = (mq_ref_rand(&seed) & 1u) ? room - mq_ref_range(&seed, -1, 1)
                                                     : -room + mq_ref_range(&seed, -1, 1);
            break;
        }
        tks_mult[c] = tks_pick_mult();
        tks_shift[c] = tks_pick_shift();
    }
    (void)per_channel;
}

static void tks_fill_x(int32_t count, int full)
{
    int32_t i;
    for (i = 0; i < count; i++) {
        tks_x[i] = (int16_t)(full ? mq_ref_range(&seed, -32768, 32767) : mq_ref_range(&seed, -700, 700));
    }
    if (full && (mq_ref_rand(&seed) & 1u)) {
        /* extremes: |x w| = 2^22 products */
        for (i = 0; i < count; i += 3) {
            tks_x[i] = -32768;
        }
    }
}

static int16_t tks_out(int64_t acc, int32_t c, int per_channel, int32_t lo, int32_t hi)
{
    const int32_t q = per_channel ? c : 0;
    const int32_t r = tks_rq64(acc, tks_mult[q], tks_shift[q]);
    return (int16_t)(r < lo ? lo : (r > hi ? hi : r));
}

static void tks_compare(const char *what, int trial, size_t count)
{
    size_t i;
    checks++;
    for (i = 0; i < count; i++) {
        if (tks_y[i] != tks_ref[i]) {
            printf("FAIL s16 %s trial %d: element %u = %d, reference %d\n", what, trial, (unsigned)i, tks_y[i],
                   tks_ref[i]);
            failures++;
            return;
        }
    }
    for (i = count; i < count + TKS_GUARD; i++) {
        if (tks_y[i] != 0x5A5A) {
            printf("FAIL s16 %s trial %d: guard element %u overwritten\n", what, trial, (unsigned)(i - count));
            failures++;
            return;
        }
    }
}

static void tks_fc_case(int trial, int32_t batch, int32_t n, int32_t k)
{
    mq_fc_s16_params p;
    const int pc = (int)(mq_ref_rand(&seed) & 1u);
    const int bias_mode = (int)(mq_ref_rand(&seed) % 4u);
    const int32_t lo = (mq_ref_rand(&seed) % 3u) == 0u ? mq_ref_range(&seed, -32768, 0) : -32768;
    const int32_t hi = (mq_ref_rand(&seed) % 3u) == 0u ? mq_ref_range(&seed, lo, 32767) : 32767;
    int32_t b, c, i;
    mq_status st;
    for (i = 0; i < n * k; i++) {
        tks_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    tks_fill_x(batch * k, (int)(mq_ref_rand(&seed) & 1u));
    tks_params(n, k, pc, bias_mode);
    memset(&p, 0, sizeof p);
    p.n = n;
    p.k = k;
    p.weights = tks_w;
    p.bias = bias_mode == 0 ? NULL : tks_bias;
    p.multiplier = tks_mult;
    p.shift = tks_shift;
    p.per_channel = pc;
    p.act_min = lo;
    p.act_max = hi;
    for (i = 0; i < batch * n + TKS_GUARD; i++) {
        tks_y[i] = 0x5A5A;
    }
    st = mq_fully_connected_s16(&p, batch, tks_x, tks_y);
    if (st != MQ_OK) {
        printf("FAIL s16 fc trial %d: status %d\n", trial, (int)st);
        failures++;
        return;
    }
    for (b = 0; b < batch; b++) {
        for (c = 0; c < n; c++) {
            int64_t acc = p.bias != NULL ? tks_bias[c] : 0;
            for (i = 0; i < k; i++) {
                acc += (int64_t)tks_x[b * k + i] * tks_w[c * k + i];
            }
            tks_ref[b * n + c] = tks_out(acc, c, pc, lo, hi);
        }
    }
    tks_compare("fc", trial, (size_t)(batch * n));
}

static void tks_conv_case(int trial)
{
    mq_conv_s16_params p;
    mq_window *w = &p.win;
    const int pc = (int)(mq_ref_rand(&seed) & 1u);
    const int bias_mode = (int)(mq_ref_rand(&seed) % 4u);
    int32_t in_c, out_c, k, b, oy, ox, o, ky, kx, c, i;
    size_t nin, nout;
    mq_status st;
    memset(&p, 0, sizeof p);
    w->batch = mq_ref_range(&seed, 1, 2);
    w->in_h = mq_ref_range(&seed, 1, 7);
    w->in_w = mq_ref_range(&seed, 1, 7);
    w->kernel_h = (mq_ref_rand(&seed) % 3u) == 0u ? 1 : mq_ref_range(&seed, 1, 3);
    w->kernel_w = w->kernel_h == 1 && (mq_ref_rand(&seed) & 1u) ? 1 : mq_ref_range(&seed, 1, 3);
    w->stride_h = mq_ref_range(&seed, 1, 2);
    w->stride_w = mq_ref_range(&seed, 1, 2);
    w->dilation_h = mq_ref_range(&seed, 1, 2);
    w->dilation_w = mq_ref_range(&seed, 1, 2);
    w->pad_top = mq_ref_range(&seed, 0, 2);
    w->pad_bottom = mq_ref_range(&seed, 0, 2);
    w->pad_left = mq_ref_range(&seed, 0, 2);
    w->pad_right = mq_ref_range(&seed, 0, 2);
    if (trial % 4 == 1) {
        /* the plain 1x1 convolution (stride 1, no padding: im2col rows are the input pixels themselves) */
        w->kernel_h = w->kernel_w = 1;
        w->stride_h = w->stride_w = 1;
        w->pad_top = w->pad_bottom = w->pad_left = w->pad_right = 0;
    }
    {
        const int32_t eh = w->in_h + w->pad_top + w->pad_bottom - w->dilation_h * (w->kernel_h - 1) - 1;
        const int32_t ew = w->in_w + w->pad_left + w->pad_right - w->dilation_w * (w->kernel_w - 1) - 1;
        if (eh < 0 || ew < 0) {
            return;
        }
        w->out_h = eh / w->stride_h + 1;
        w->out_w = ew / w->stride_w + 1;
    }
    in_c = (mq_ref_rand(&seed) % 4u) == 0u ? mq_ref_range(&seed, 28, 44) : mq_ref_range(&seed, 1, 20);
    out_c = mq_ref_range(&seed, 1, 13);
    k = w->kernel_h * w->kernel_w * in_c;
    nin = (size_t)(w->batch * w->in_h * w->in_w * in_c);
    nout = (size_t)(w->batch * w->out_h * w->out_w * out_c);
    if (nin > TKS_MAX_X || (size_t)(k * out_c) > TKS_MAX_W || nout > TKS_MAX_Y) {
        return;
    }
    for (i = 0; i < k * out_c; i++) {
        tks_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    tks_fill_x((int32_t)nin, (int)(mq_ref_rand(&seed) & 1u));
    tks_params(out_c, k, pc, bias_mode);
    p.in_c = in_c;
    p.gemm.n = out_c;
    p.gemm.k = k;
    p.gemm.weights = tks_w;
    p.gemm.bias = bias_mode == 0 ? NULL : tks_bias;
    p.gemm.multiplier = tks_mult;
    p.gemm.shift = tks_shift;
    p.gemm.per_channel = pc;
    p.gemm.act_min = (mq_ref_rand(&seed) % 3u) == 0u ? 0 : -32768;
    p.gemm.act_max = 32767;
    for (i = 0; i < (int32_t)nout + TKS_GUARD; i++) {
        tks_y[i] = 0x5A5A;
    }
    st = mq_conv_s16(&p, tks_x, tks_y);
    if (st != MQ_OK) {
        printf("FAIL s16 conv trial %d: status %d\n", trial, (int)st);
        failures++;
        return;
    }
    for (b = 0; b < w->batch; b++) {
        for (oy = 0; oy < w->out_h; oy++) {
            for (ox = 0; ox < w->out_w; ox++) {
                for (o = 0; o < out_c; o++) {
                    int64_t acc = p.gemm.bias != NULL ? tks_bias[o] : 0;
                    for (ky = 0; ky < w->kernel_h; ky++) {
                        for (kx = 0; kx < w->kernel_w; kx++) {
                            const int32_t iy = oy * w->stride_h - w->pad_top + ky * w->dilation_h;
                            const int32_t ix = ox * w->stride_w - w->pad_left + kx * w->dilation_w;
                            if (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w) {
                                continue;
                            }
                            for (c = 0; c < in_c; c++) {
                                acc += (int64_t)tks_x[((b * w->in_h + iy) * w->in_w + ix) * in_c + c] *
                                       tks_w[((o * w->kernel_h + ky) * w->kernel_w + kx) * in_c + c];
                            }
                        }
                    }
                    tks_ref[((b * w->out_h + oy) * w->out_w + ox) * out_c + o] =
                        tks_out(acc, o, pc, p.gemm.act_min, p.gemm.act_max);
                }
            }
        }
    }
    tks_compare("conv", trial, nout);
}

/* Depthwise: random geometry (stride, dilation, asymmetric padding incl. windows partly or wholly in the padding,
 * kernels 1x1 .. 5x5 and 16x17 = 272 taps past the int32 proof), channel counts with tails mod 4 and past the 32-entry
 * channel table, depth multiplier 1 (fast path) and 2..3 (portable), biases small / past the int32 bound / at its
 * edges, per-tensor and per-channel, vs exact int64 sums and the re-derived requantization. */
static void tks_dw_case(int trial)
{
    mq_depthwise_s16_params p;
    mq_window *w = &p.win;
    int32_t out_c, b, oy, ox, o, ky, kx, pc, ntaps;
    size_t nout, nin, i;
    mq_status st;
    memset(&p, 0, sizeof p);
    w->batch = mq_ref_range(&seed, 1, 2);
    if (trial % 17 == 5) {
        w->kernel_h = 16;
        w->kernel_w = 17;
    } else if (trial % 3 == 1) {
        /* 3x3: the DSP cores' pre-widened weight table, interior / border pixel routines, paired output stores */
        w->kernel_h = 3;
        w->kernel_w = 3;
    } else {
        w->kernel_h = mq_ref_range(&seed, 1, 5);
        w->kernel_w = mq_ref_range(&seed, 1, 5);
    }
    w->stride_h = mq_ref_range(&seed, 1, 3);
    w->stride_w = mq_ref_range(&seed, 1, 3);
    w->dilation_h = (mq_ref_rand(&seed) % 4u) == 0u ? 2 : 1;
    w->dilation_w = (mq_ref_rand(&seed) % 4u) == 0u ? 2 : 1;
    w->in_h = mq_ref_range(&seed, 1, 9) + (w->kernel_h - 1) * w->dilation_h / 2;
    w->in_w = mq_ref_range(&seed, 1, 9) + (w->kernel_w - 1) * w->dilation_w / 2;
    w->pad_top = mq_ref_range(&seed, 0, (w->kernel_h - 1) * w->dilation_h);
    w->pad_bottom = mq_ref_range(&seed, 0, (w->kernel_h - 1) * w->dilation_h);
    w->pad_left = mq_ref_range(&seed, 0, (w->kernel_w - 1) * w->dilation_w);
    w->pad_right = mq_ref_range(&seed, 0, (w->kernel_w - 1) * w->dilation_w);
    {
        const int32_t eh = w->in_h + w->pad_top + w->pad_bottom - (w->kernel_h - 1) * w->dilation_h - 1;
        const int32_t ew = w->in_w + w->pad_left + w->pad_right - (w->kernel_w - 1) * w->dilation_w - 1;
        if (eh < 0) {
            w->pad_bottom -= eh;
        }
        if (ew < 0) {
            w->pad_right -= ew;
        }
        w->out_h = (w->in_h + w->pad_top + w->pad_bottom - (w->kernel_h - 1) * w->dilation_h - 1) / w->stride_h + 1;
        w->out_w = (w->in_w + w->pad_left + w->pad_right - (w->kernel_w - 1) * w->dilation_w - 1) / w->stride_w + 1;
    }
    p.depth_multiplier = trial % 7 == 3 ? mq_ref_range(&seed, 2, 3) : 1;
    p.in_c = mq_ref_range(&seed, 1, TKS_MAX_N / p.depth_multiplier);
    out_c = p.in_c * p.depth_multiplier;
    ntaps = w->kernel_h * w->kernel_w;
    nin = (size_t)(w->batch * w->in_h * w->in_w * p.in_c);
    nout = (size_t)(w->batch * w->out_h * w->out_w * out_c);
    if (nin > TKS_MAX_X || nout > TKS_MAX_Y || (size_t)(ntaps * out_c) > TKS_MAX_W) {
        return;
    }
    pc = (int32_t)(mq_ref_rand(&seed) & 1u);
    tks_params(out_c, ntaps, pc, (int)(mq_ref_rand(&seed) % 4u));
    tks_fill_x((int32_t)nin, (int)(mq_ref_rand(&seed) & 1u));
    for (i = 0; i < (size_t)(ntaps * out_c); i++) {
        tks_w[i] = (int8_t)((mq_ref_rand(&seed) % 8u) == 0u ? -128 : (int32_t)mq_ref_rand(&seed));
    }
    p.weights = tks_w;
    p.bias = (mq_ref_rand(&seed) % 5u) == 0u ? NULL : tks_bias;
    p.multiplier = tks_mult;
    p.shift = tks_shift;
    p.per_channel = pc;
    p.act_min = (mq_ref_rand(&seed) & 1u) ? -32768 : mq_ref_range(&seed, -30000, 0);
    p.act_max = (mq_ref_rand(&seed) & 1u) ? 32767 : mq_ref_range(&seed, p.act_min, 30000);
    for (i = 0; i < nout + TKS_GUARD; i++) {
        tks_y[i] = 0x5A5A;
    }
    st = mq_depthwise_conv_s16(&p, tks_x, tks_y);
    if (st != MQ_OK) {
        printf("FAIL s16 depthwise trial %d: status %d\n", trial, (int)st);
        failures++;
        return;
    }
    for (b = 0; b < w->batch; b++) {
        for (oy = 0; oy < w->out_h; oy++) {
            for (ox = 0; ox < w->out_w; ox++) {
                for (o = 0; o < out_c; o++) {
                    const int32_t c = o / p.depth_multiplier;
                    int64_t acc = p.bias != NULL ? tks_bias[o] : 0;
                    for (ky = 0; ky < w->kernel_h; ky++) {
                        for (kx = 0; kx < w->kernel_w; kx++) {
                            const int32_t iy = oy * w->stride_h - w->pad_top + ky * w->dilation_h;
                            const int32_t ix = ox * w->stride_w - w->pad_left + kx * w->dilation_w;
                            if (iy >= 0 && iy < w->in_h && ix >= 0 && ix < w->in_w) {
                                acc += (int64_t)tks_x[((b * w->in_h + iy) * w->in_w + ix) * p.in_c + c] *
                                       tks_w[(ky * w->kernel_w + kx) * out_c + o];
                            }
                        }
                    }
                    tks_ref[((b * w->out_h + oy) * w->out_w + ox) * out_c + o] =
                        tks_out(acc, o, pc, p.act_min, p.act_max);
                }
            }
        }
    }
    tks_compare("depthwise", trial, nout);
}

/* AVERAGE_POOL_2D / MAX_POOL_2D int16: random geometry (windows clipped by the padding, odd channel counts: the
 * pair loop's tail), full-range and extreme inputs, random clamps, vs int64 sums / max and round half away from
 * zero written with floor division. */
static void tks_pool_case(int trial)
{
    mq_pool_s16_params p;
    mq_window *w = &p.win;
    int32_t b, oy, ox, c, y, x;
    size_t nout, nin, i;
    const int is_max = trial & 1;
    mq_status st;
    memset(&p, 0, sizeof p);
    w->batch = mq_ref_range(&seed, 1, 2);
    w->kernel_h = mq_ref_range(&seed, 1, 4);
    w->kernel_w = mq_ref_range(&seed, 1, 4);
    w->stride_h = mq_ref_range(&seed, 1, 3);
    w->stride_w = mq_ref_range(&seed, 1, 3);
    w->dilation_h = w->dilation_w = 1;
    w->in_h = mq_ref_range(&seed, w->kernel_h, 10);
    w->in_w = mq_ref_range(&seed, w->kernel_w, 10);
    w->pad_top = mq_ref_range(&seed, 0, w->kernel_h - 1);
    w->pad_bottom = mq_ref_range(&seed, 0, w->kernel_h - 1);
    w->pad_left = mq_ref_range(&seed, 0, w->kernel_w - 1);
    w->pad_right = mq_ref_range(&seed, 0, w->kernel_w - 1);
    w->out_h = (w->in_h + w->pad_top + w->pad_bottom - w->kernel_h) / w->stride_h + 1;
    w->out_w = (w->in_w + w->pad_left + w->pad_right - w->kernel_w) / w->stride_w + 1;
    p.channels = mq_ref_range(&seed, 1, 19);
    nin = (size_t)(w->batch * w->in_h * w->in_w * p.channels);
    nout = (size_t)(w->batch * w->out_h * w->out_w * p.channels);
    if (nin > TKS_MAX_X || nout > TKS_MAX_Y) {
        return;
    }
    tks_fill_x((int32_t)nin, 1);
    if (trial % 5 == 0) {
        for (i = 0; i < nin; i++) {
            tks_x[i] = (mq_ref_rand(&seed) & 1u) ? 32767 : -32768;
        }
    }
    p.act_min = (mq_ref_rand(&seed) & 1u) ? -32768 : mq_ref_range(&seed, -30000, 0);
    p.act_max = (mq_ref_rand(&seed) & 1u) ? 32767 : mq_ref_range(&seed, p.act_min, 30000);
    for (i = 0; i < nout + TKS_GUARD; i++) {
        tks_y[i] = 0x5A5A;
    }
    st = is_max ? mq_max_pool_s16(&p, tks_x, tks_y) : mq_avg_pool_s16(&p, tks_x, tks_y);
    if (st != MQ_OK) {
        printf("FAIL s16 pool trial %d: status %d\n", trial, (int)st);
        failures++;
        return;
    }
    for (b = 0; b < w->batch; b++) {
        for (oy = 0; oy < w->out_h; oy++) {
            for (ox = 0; ox < w->out_w; ox++) {
                for (c = 0; c < p.channels; c++) {
                    int64_t acc = is_max ? -32768 : 0, cnt = 0, v;
                    for (y = oy * w->stride_h - w->pad_top; y < oy * w->stride_h - w->pad_top + w->kernel_h; y++) {
                        for (x = ox * w->stride_w - w->pad_left; x < ox * w->stride_w - w->pad_left + w->kernel_w;
                             x++) {
                            if (y >= 0 && y < w->in_h && x >= 0 && x < w->in_w) {
                                const int64_t t = tks_x[((b * w->in_h + y) * w->in_w + x) * p.channels + c];
                                acc = is_max ? (t > acc ? t : acc) : acc + t;
                                cnt++;
                            }
                        }
                    }
                    if (is_max) {
                        v = acc;
                    } else {
                        /* half away from zero: sign * floor((2 |acc| + cnt) / (2 cnt)) */
                        const int64_t mag = acc < 0 ? -acc : acc;
                        const int64_t q = (2 * mag + cnt) / (2 * cnt);
                        v = acc < 0 ? -q : q;
                    }
                    v = v < p.act_min ? p.act_min : (v > p.act_max ? p.act_max : v);
                    tks_ref[((b * w->out_h + oy) * w->out_w + ox) * p.channels + c] = (int16_t)v;
                }
            }
        }
    }
    tks_compare(is_max ? "max pool" : "avg pool", trial, nout);
}

static void s16_kernel_tests(void)
{
    /* k past 504 (the batch-1 DSP path's int32 block), 768 (its input pass) and 1000 (several passes) too */
    static const int32_t ks[] = {1,   2,   3,   4,   5,   7,   8,   9,   15,  16,  17,  31,  32,  33,  63,
                                 64,  100, 128, 255, 256, 257, 400, 504, 505, 511, 640, 767, 768, 769, 1000};
    int trial;
    for (trial = 0; trial < 300; trial++) {
        const int32_t k = ks[(uint32_t)trial % (sizeof ks / sizeof ks[0])];
        const int32_t n = mq_ref_range(&seed, 1, TKS_MAX_N < TKS_MAX_W / k ? TKS_MAX_N : TKS_MAX_W / k);
        const int32_t batch = mq_ref_range(&seed, 1, 9);
        if (batch * k <= TKS_MAX_X && batch * n <= TKS_MAX_Y) {
            tks_fc_case(trial, batch, n, k);
        }
    }
    /* batch 1 (the DSP cores' batch-1 path: per-chunk output stage, its fast form and the int64 fallback) */
    for (trial = 0; trial < 240; trial++) {
        const int32_t k = ks[(uint32_t)trial % (sizeof ks / sizeof ks[0])];
        const int32_t n = mq_ref_range(&seed, 1, TKS_MAX_N < TKS_MAX_W / k ? TKS_MAX_N : TKS_MAX_W / k);
        tks_fc_case(1000 + trial, 1, n, k);
    }
    for (trial = 0; trial < 160; trial++) {
        tks_conv_case(trial);
    }
    for (trial = 0; trial < 300; trial++) {
        tks_dw_case(trial);
    }
    for (trial = 0; trial < 120; trial++) {
        tks_pool_case(trial);
    }
}
