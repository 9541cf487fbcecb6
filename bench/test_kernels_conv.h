/*
 * MicroQuant bench/: the convolution part of the fast-path kernel test (included by test_kernels.c).
 *
 * Depthwise: mq_depthwise_conv (its runs go to the core's fast microkernel MQ_DW_S8: DSP, MVE or portable)
 * against (1) the portable microkernel mq_dw_s8_c driven pixel by pixel by this file (its own tap pointers)
 * and (2) the independent int64 reference of csrc/tests/ref_conv.h. KxK conv: mq_conv (im2col + the core's
 * GEMM microkernel, k padded to 16 on DSP cores) against the reference. Random shapes: 3x3 (the fast path's
 * trip count) and other kernels, strides 1..3, dilations, asymmetric padding, channel counts around the
 * vector widths (4, 8), INT8 / UINT8, per-tensor / per-channel (shifts over the whole range: the fast
 * paths' fallback groups), clamps, LUT; plus the benchmark's network shapes.
 */
#include "microquant/mq_host.h"
#include "ref_conv.h"

#define TKC_MAX_IN (48 * 48 * 16)
#define TKC_MAX_OUT (25 * 5 * 64 * 2)
#define TKC_MAX_W (3 * 3 * 32 * 32)
#define TKC_MAX_C 64

static int8_t tkc_w[TKC_MAX_W];
static int32_t tkc_wpacked[TKC_MAX_W]; /* int32 storage: 4-byte aligned, large enough for both layouts */
static int32_t tkc_bias[TKC_MAX_C], tkc_folded[TKC_MAX_C], tkc_qm[TKC_MAX_C], tkc_qs[TKC_MAX_C];
static uint8_t tkc_x[TKC_MAX_IN];
static uint8_t tkc_fast[TKC_MAX_OUT + 4], tkc_port[TKC_MAX_OUT], tkc_ref[TKC_MAX_OUT];
static uint8_t tkc_scratch[4096];
static uint8_t tkc_lut[256];

static void tkc_compare(const char *what, const uint8_t *got, const uint8_t *want, size_t n, int trial)
{
    size_t i;
    checks += (unsigned)n;
    for (i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            printf("FAIL %s%s trial %d byte %u: %u != %u\n", what, single_mode ? " (single rounding)" : "", trial,
                   (unsigned)i, got[i], want[i]);
            failures++;
            return;
        }
    }
}

/* Random quantization of a layer with out_c channels and `taps` products per output. */
static void tkc_qparams(ref_layer *L, int32_t out_c, int32_t taps, int full_shift_range)
{
    int32_t i, lg = 0;
    while ((1 << lg) < taps) {
        lg++;
    }
    for (i = 0; i < out_c; i++) {
        tkc_bias[i] = mq_ref_range(&seed, -30000, 30000);
        tkc_qm[i] = (mq_ref_rand(&seed) % 16u) == 0u ? 0 : (int32_t)(0x40000000u | (mq_ref_rand(&seed) & 0x3FFFFFFFu));
        tkc_qs[i] = full_shift_range && (mq_ref_rand(&seed) % 8u) == 0u ? mq_ref_range(&seed, -31, 30)
                                                                          : -7 - lg / 2 + mq_ref_range(&seed, -2, 2);
    }
    L->in_zp = L->in_u8 ? mq_ref_range(&seed, 0, 255) : mq_ref_range(&seed, -128, 127);
    L->out_zp = L->out_u8 ? mq_ref_range(&seed, 0, 255) : mq_ref_range(&seed, -128, 127);
    L->act_min = L->out_u8 ? 0 : -128;
    L->act_max = L->out_u8 ? 255 : 127;
    if ((mq_ref_rand(&seed) % 3u) == 0u) {
        const int32_t a = mq_ref_range(&seed, L->act_min, L->act_max);
        const int32_t b = mq_ref_range(&seed, L->act_min, L->act_max);
        L->act_min = a < b ? a : b;
        L->act_max = a < b ? b : a;
    }
    L->per_channel = (int)(mq_ref_rand(&seed) & 1u);
    L->bias = tkc_bias;
    L->qm = tkc_qm;
    L->qs = tkc_qs;
    L->w = tkc_w;
    L->lut = (mq_ref_rand(&seed) % 4u) == 0u ? tkc_lut : NULL;
}

static void tkc_window(const ref_layer *L, mq_window *w)
{
    w->batch = L->batch;
    w->in_h = L->in_h;
    w->in_w = L->in_w;
    w->out_h = L->out_h;
    w->out_w = L->out_w;
    w->kernel_h = L->kh;
    w->kernel_w = L->kw;
    w->stride_h = L->sh;
    w->stride_w = L->sw;
    w->dilation_h = L->dh;
    w->dilation_w = L->dw;
    w->pad_top = L->pt;
    w->pad_bottom = L->pb;
    w->pad_left = L->pl;
    w->pad_right = L->pr;
}

/* The portable depthwise microkernel, one pixel per call, taps computed here. */
static void tkc_dw_portable(const mq_depthwise_params *p, const uint8_t *x, uint8_t *y, const uint8_t *pad)
{
    const uint8_t *taps[MQ_DW_MAX_TAPS];
    const mq_window *w = &p->win;
    const int32_t out_c = p->in_c * p->depth_multiplier;
    mq_dw_run run;
    int32_t b, oy, ox, ky, kx;
    run.p = p;
    run.cache = NULL;
    run.taps = taps;
    run.ntaps = w->kernel_h * w->kernel_w;
    run.npix = 1;
    for (b = 0; b < w->batch; b++) {
        for (oy = 0; oy < w->out_h; oy++) {
            for (ox = 0; ox < w->out_w; ox++) {
                int32_t t = 0;
                for (ky = 0; ky < w->kernel_h; ky++) {
                    for (kx = 0; kx < w->kernel_w; kx++) {
                        const int32_t iy = oy * w->stride_h - w->pad_top + ky * w->dilation_h;
                        const int32_t ix = ox * w->stride_w - w->pad_left + kx * w->dilation_w;
                        taps[t++] = (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w)
                                        ? pad
                                        : x + (((size_t)b * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w + (size_t)ix) *
                                                  (size_t)p->in_c;
                    }
                }
                run.out = y + (((size_t)b * (size_t)w->out_h + (size_t)oy) * (size_t)w->out_w + (size_t)ox) * (size_t)out_c;
                mq_dw_s8_c(&run, 0, out_c);
            }
        }
    }
}

/* Depthwise cases with a ReLU-type clamp: act_min = out_zero_point (the fast kernels' shorter requantization). */
static int tkc_dw_relu;

static void tkc_depthwise_case(ref_layer *L, int trial)
{
    static uint8_t pad[TKC_MAX_C];
    mq_depthwise_params p;
    size_t out_bytes, in_bytes, need, i;
    int32_t taps;
    L->out_h = ref_out_dim(L->in_h, L->pt, L->pb, L->kh, L->dh, L->sh);
    L->out_w = ref_out_dim(L->in_w, L->pl, L->pr, L->kw, L->dw, L->sw);
    L->out_c = L->in_c * L->mult;
    if (L->out_h < 1 || L->out_w < 1) {
        return;
    }
    taps = L->kh * L->kw;
    out_bytes = (size_t)L->batch * (size_t)L->out_h * (size_t)L->out_w * (size_t)L->out_c;
    in_bytes = (size_t)L->batch * (size_t)L->in_h * (size_t)L->in_w * (size_t)L->in_c;
    if (out_bytes > TKC_MAX_OUT || in_bytes > TKC_MAX_IN || taps * L->out_c > TKC_MAX_W || L->out_c > TKC_MAX_C) {
        return;
    }
    for (i = 0; i < (size_t)(taps * L->out_c); i++) {
        tkc_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < in_bytes; i++) {
        tkc_x[i] = (uint8_t)mq_ref_rand(&seed);
    }
    tkc_qparams(L, L->out_c, taps, 1);
    if (tkc_dw_relu == 2) {
        /* ReLU with the output zero point at the type's minimum: the clamp is the whole type (the DSP kernel's
         * output stage without a clamp) */
        L->out_zp = L->out_u8 ? 0 : -128;
    }
    if (tkc_dw_relu) {
        L->act_min = L->out_zp;
        L->act_max = L->out_u8 ? 255 : 127;
    }
    if ((mq_ref_rand(&seed) % 4u) == 0u) {
        /* accumulators near the int32 limits (the sum of the products stays below 2^24): the fast requantization
         * must be exact over the whole accumulator range */
        for (i = 0; i < (size_t)L->out_c; i++) {
            tkc_bias[i] = (int32_t)((int64_t)(mq_ref_rand(&seed) % 4261412865u) - 2130706432);
        }
    }
    memset(&p, 0, sizeof p);
    tkc_window(L, &p.win);
    p.in_c = L->in_c;
    p.depth_multiplier = L->mult;
    p.in_dtype = L->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.out_dtype = L->out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.in_zero_point = L->in_zp;
    p.out_zero_point = L->out_zp;
    p.weights.data = tkc_wpacked;
    p.bias.folded = tkc_folded;
    p.multiplier = tkc_qm;
    p.shift = tkc_qs;
    p.per_channel = L->per_channel;
    p.act_min = L->act_min;
    p.act_max = L->act_max;
    p.lut = L->lut;
    p.single_rounding = single_mode;
    L->single = single_mode;
    if (mq_depthwise_pack_weights(tkc_w, L->kh, L->kw, L->out_c, tkc_wpacked, sizeof tkc_wpacked) != MQ_OK ||
        mq_depthwise_prepare_bias(tkc_w, tkc_bias, L->kh, L->kw, L->out_c, L->in_zp, p.in_dtype, tkc_folded) != MQ_OK) {
        printf("FAIL depthwise prepare trial %d\n", trial);
        failures++;
        return;
    }
    need = mq_depthwise_scratch_size(&p);
    tkc_fast[out_bytes] = GUARD;
    if (mq_depthwise_conv(&p, tkc_x, tkc_fast, tkc_scratch, need) != MQ_OK || tkc_fast[out_bytes] != GUARD) {
        printf("FAIL depthwise call trial %d\n", trial);
        failures++;
        return;
    }
    memset(pad, (int)(uint8_t)L->in_zp, sizeof pad);
    tkc_dw_portable(&p, tkc_x, tkc_port, pad);
    ref_layer_run(L, tkc_x, tkc_ref);
    tkc_compare("depthwise fast vs portable", tkc_fast, tkc_port, out_bytes, trial);
    tkc_compare("depthwise fast vs reference", tkc_fast, tkc_ref, out_bytes, trial);
    /* the in-place variant (one run per output row: the DSP kernel's set-up cache over the rows) where it applies */
    need = mq_depthwise_inplace_scratch_size(&p);
    if (need > 0u && need <= sizeof tkc_scratch && in_bytes <= TKC_MAX_OUT && out_bytes <= TKC_MAX_OUT) {
        memset(tkc_fast, 0, sizeof tkc_fast);
        memcpy(tkc_fast, tkc_x, in_bytes);
        if (mq_depthwise_conv_inplace(&p, tkc_fast, tkc_scratch, need) != MQ_OK) {
            printf("FAIL depthwise in-place call trial %d\n", trial);
            failures++;
            return;
        }
        tkc_compare("depthwise in place vs reference", tkc_fast, tkc_ref, out_bytes, trial);
    }
}

static void tkc_conv_case(ref_layer *L, int trial)
{
    mq_conv_params p;
    size_t out_bytes, in_bytes, need, i;
    int32_t k;
    L->out_h = ref_out_dim(L->in_h, L->pt, L->pb, L->kh, L->dh, L->sh);
    L->out_w = ref_out_dim(L->in_w, L->pl, L->pr, L->kw, L->dw, L->sw);
    L->mult = 0;
    if (L->out_h < 1 || L->out_w < 1) {
        return;
    }
    k = L->kh * L->kw * L->in_c;
    out_bytes = (size_t)L->batch * (size_t)L->out_h * (size_t)L->out_w * (size_t)L->out_c;
    in_bytes = (size_t)L->batch * (size_t)L->in_h * (size_t)L->in_w * (size_t)L->in_c;
    if (out_bytes > TKC_MAX_OUT || in_bytes > TKC_MAX_IN || k * L->out_c > TKC_MAX_W ||
        mq_packed_weights_size_n4k16(L->out_c, k) > sizeof tkc_wpacked ||
        L->out_c > TKC_MAX_C) {
        return;
    }
    for (i = 0; i < (size_t)(k * L->out_c); i++) {
        tkc_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < in_bytes; i++) {
        tkc_x[i] = (uint8_t)mq_ref_rand(&seed);
    }
    tkc_qparams(L, L->out_c, k, 1);
    memset(&p, 0, sizeof p);
    tkc_window(L, &p.win);
    p.in_c = L->in_c;
    p.in_zero_point = L->in_zp;
    p.gemm.n = L->out_c;
    p.gemm.k = k;
    p.gemm.weights.packed = (const int8_t *)(const void *)tkc_wpacked;
    p.gemm.bias.folded = tkc_folded;
    p.gemm.multiplier = tkc_qm;
    p.gemm.shift = tkc_qs;
    p.gemm.per_channel = L->per_channel;
    p.gemm.in_dtype = L->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.gemm.out_dtype = L->out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.gemm.out_zero_point = L->out_zp;
    p.gemm.act_min = L->act_min;
    p.gemm.act_max = L->act_max;
    p.gemm.lut = L->lut;
    p.gemm.single_rounding = single_mode;
    L->single = single_mode;
    mq_ref_pack(tkc_w, L->out_c, k, (int8_t *)(void *)tkc_wpacked);
    if (mq_fold_bias(tkc_w, tkc_bias, L->out_c, k, L->in_zp, p.gemm.in_dtype, tkc_folded) != MQ_OK) {
        return; /* bias does not fit int32 after folding: not a layer */
    }
    need = mq_conv_scratch_size(&p);
    tkc_fast[out_bytes] = GUARD;
    if (need > sizeof tkc_scratch || mq_conv(&p, tkc_x, tkc_fast, tkc_scratch, need) != MQ_OK ||
        tkc_fast[out_bytes] != GUARD) {
        printf("FAIL conv call trial %d\n", trial);
        failures++;
        return;
    }
    ref_layer_run(L, tkc_x, tkc_ref);
    tkc_compare("conv vs reference", tkc_fast, tkc_ref, out_bytes, trial);
}

/* mq_conv1x1_inplace (output over the input; on MVE the row-outer GEMM writes straight into the buffer) against
 * the reference: 1x1, stride 1, no padding, n <= k, random shapes around the row-outer path's limits (k <= 64,
 * n % 4 == 0, per-channel, shifts <= -1) and outside them. */
static void tkc_conv1x1_inplace_case(int trial)
{
    ref_layer L;
    mq_conv1x1_params p;
    size_t in_bytes, out_bytes, need, i;
    memset(&L, 0, sizeof L);
    L.batch = mq_ref_range(&seed, 1, 2);
    L.in_h = mq_ref_range(&seed, 1, 9);
    L.in_w = mq_ref_range(&seed, 1, 9);
    L.in_c = (mq_ref_rand(&seed) % 2u) == 0u ? 16 * mq_ref_range(&seed, 1, 4) : mq_ref_range(&seed, 1, 70);
    L.out_c = (mq_ref_rand(&seed) % 2u) == 0u ? 4 * mq_ref_range(&seed, 1, 16) : mq_ref_range(&seed, 1, 64);
    if (L.out_c > L.in_c) {
        L.out_c = L.in_c;
    }
    L.kh = L.kw = L.sh = L.sw = L.dh = L.dw = 1;
    L.out_h = L.in_h;
    L.out_w = L.in_w;
    L.in_u8 = (int)(mq_ref_rand(&seed) & 1u);
    L.out_u8 = (int)(mq_ref_rand(&seed) & 1u);
    in_bytes = (size_t)L.batch * (size_t)L.in_h * (size_t)L.in_w * (size_t)L.in_c;
    out_bytes = (size_t)L.batch * (size_t)L.in_h * (size_t)L.in_w * (size_t)L.out_c;
    if (in_bytes > TKC_MAX_OUT || L.in_c * L.out_c > TKC_MAX_W ||
        mq_packed_weights_size_n4k16(L.out_c, L.in_c) > sizeof tkc_wpacked) {
        return;
    }
    for (i = 0; i < (size_t)(L.in_c * L.out_c); i++) {
        tkc_w[i] = (int8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < in_bytes; i++) {
        tkc_x[i] = (uint8_t)mq_ref_rand(&seed);
    }
    tkc_qparams(&L, L.out_c, L.in_c, (mq_ref_rand(&seed) % 3u) == 0u);
    memset(&p, 0, sizeof p);
    p.batch = L.batch;
    p.in_h = L.in_h;
    p.in_w = L.in_w;
    p.stride_h = p.stride_w = 1;
    p.in_zero_point = L.in_zp;
    p.gemm.n = L.out_c;
    p.gemm.k = L.in_c;
    p.gemm.weights.packed = (const int8_t *)(const void *)tkc_wpacked;
    p.gemm.bias.folded = tkc_folded;
    p.gemm.multiplier = tkc_qm;
    p.gemm.shift = tkc_qs;
    p.gemm.per_channel = L.per_channel;
    p.gemm.in_dtype = L.in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.gemm.out_dtype = L.out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.gemm.out_zero_point = L.out_zp;
    p.gemm.act_min = L.act_min;
    p.gemm.act_max = L.act_max;
    p.gemm.lut = L.lut;
    p.gemm.single_rounding = single_mode;
    L.single = single_mode;
    mq_ref_pack(tkc_w, L.out_c, L.in_c, (int8_t *)(void *)tkc_wpacked);
    if (mq_fold_bias(tkc_w, tkc_bias, L.out_c, L.in_c, L.in_zp, p.gemm.in_dtype, tkc_folded) != MQ_OK) {
        return;
    }
    need = mq_conv1x1_inplace_scratch_size(&p);
    memcpy(tkc_fast, tkc_x, in_bytes);
    tkc_fast[in_bytes] = GUARD;
    if (need == 0u || need > sizeof tkc_scratch || mq_conv1x1_inplace(&p, tkc_fast, tkc_scratch, need) != MQ_OK ||
        tkc_fast[in_bytes] != GUARD) {
        printf("FAIL conv1x1 in place call trial %d\n", trial);
        failures++;
        return;
    }
    ref_layer_run(&L, tkc_x, tkc_ref);
    tkc_compare("conv1x1 in place vs reference", tkc_fast, tkc_ref, out_bytes, trial);
}

static void tkc_random_geometry(ref_layer *L, int32_t max_hw)
{
    static const int32_t kernels[][2] = {{3, 3}, {3, 3}, {3, 3}, {5, 5}, {1, 1}, {2, 3}, {7, 7}, {10, 4}};
    const uint32_t kk = mq_ref_rand(&seed) % 8u;
    memset(L, 0, sizeof *L);
    L->batch = mq_ref_range(&seed, 1, 2);
    L->kh = kernels[kk][0];
    L->kw = kernels[kk][1];
    L->in_h = mq_ref_range(&seed, 1, max_hw);
    L->in_w = mq_ref_range(&seed, 1, max_hw);
    L->sh = mq_ref_range(&seed, 1, 3);
    L->sw = mq_ref_range(&seed, 1, 3);
    L->dh = (mq_ref_rand(&seed) % 4u) == 0u ? 2 : 1;
    L->dw = (mq_ref_rand(&seed) % 4u) == 0u ? 2 : 1;
    L->pt = mq_ref_range(&seed, 0, 3);
    L->pb = mq_ref_range(&seed, 0, 3);
    L->pl = mq_ref_range(&seed, 0, 3);
    L->pr = mq_ref_range(&seed, 0, 3);
    L->in_u8 = (int)(mq_ref_rand(&seed) & 1u);
    L->out_u8 = (int)(mq_ref_rand(&seed) & 1u);
}

static void conv_kernel_tests(void)
{
    static const int32_t net[][8] = {
        {25, 5, 64, 1, 1, 1, 1, 1}, {48, 48, 16, 2, 0, 1, 0, 1}, {24, 24, 32, 1, 1, 1, 1, 1}};
    int trial;
    size_t s;
    int i;
    ref_layer L;
    for (i = 0; i < 256; i++) {
        tkc_lut[i] = (uint8_t)mq_ref_rand(&seed);
    }
    for (trial = 0; trial < 280; trial++) {
        tkc_random_geometry(&L, 12);
        L.in_c = (mq_ref_rand(&seed) % 2u) == 0u ? 4 * mq_ref_range(&seed, 1, 6) : mq_ref_range(&seed, 1, 19);
        L.mult = (mq_ref_rand(&seed) % 5u) == 0u ? mq_ref_range(&seed, 2, 3) : 1;
        /* 160..239: ReLU-type clamp; 240..279: ReLU with the output zero point at the type's minimum */
        tkc_dw_relu = trial >= 240 ? 2 : (trial >= 160 ? 1 : 0);
        tkc_depthwise_case(&L, trial);
    }
    tkc_dw_relu = 0;
    for (s = 0; s < sizeof net / sizeof net[0]; s++) {
        for (i = 0; i < 6; i++) {
            memset(&L, 0, sizeof L);
            L.batch = 1;
            L.in_h = net[s][0];
            L.in_w = net[s][1];
            L.in_c = net[s][2];
            L.mult = 1;
            L.kh = L.kw = 3;
            L.sh = L.sw = net[s][3];
            L.dh = L.dw = 1;
            L.pt = net[s][4];
            L.pb = net[s][5];
            L.pl = net[s][6];
            L.pr = net[s][7];
            L.in_u8 = L.out_u8 = i & 1;
            tkc_dw_relu = i >> 1;
            tkc_depthwise_case(&L, 1000 + (int)s * 6 + i);
            tkc_dw_relu = 0;
        }
    }
    for (trial = 0; trial < 80; trial++) {
        tkc_random_geometry(&L, 11);
        L.in_c = mq_ref_range(&seed, 1, 9);
        L.out_c = mq_ref_range(&seed, 1, 21);
        tkc_conv_case(&L, trial);
    }
    /* wider inputs (M55: the Helium im2col's vector copies): in_c of whole 16-code vectors and not (runs of
     * 16 * j + 1..15 codes, the predicated tail), borders on every side, strides, dilation_h */
    for (trial = 0; trial < 60; trial++) {
        static const int32_t widths[] = {16, 32, 24, 20, 17, 48, 3, 8};
        tkc_random_geometry(&L, 9);
        L.kh = L.kw = (mq_ref_rand(&seed) % 4u) == 0u ? 2 : 3;
        L.in_c = widths[mq_ref_rand(&seed) % 8u];
        L.out_c = mq_ref_range(&seed, 1, 24);
        tkc_conv_case(&L, 4000 + trial);
    }
    /* ResNet-8's 3x3 layers (pad 1, strides 1 and 2, 16 and 32 channels), INT8 and UINT8 */
    for (i = 0; i < 8; i++) {
        memset(&L, 0, sizeof L);
        L.batch = 1;
        L.in_h = L.in_w = 8 + (i & 1);
        L.in_c = i < 4 ? 16 : 32;
        L.kh = L.kw = 3;
        L.sh = L.sw = 1 + ((i >> 1) & 1);
        L.dh = L.dw = 1;
        L.pt = L.pb = L.pl = L.pr = 1;
        L.out_c = i < 4 ? 16 : 32;
        L.in_u8 = L.out_u8 = i & 1;
        tkc_conv_case(&L, 4100 + i);
    }
    for (trial = 0; trial < 120; trial++) {
        tkc_conv1x1_inplace_case(3000 + trial);
    }
    /* KWS first layer */
    for (i = 0; i < 2; i++) {
        memset(&L, 0, sizeof L);
        L.batch = 1;
        L.in_h = 49;
        L.in_w = 10;
        L.in_c = 1;
        L.kh = 10;
        L.kw = 4;
        L.sh = L.sw = 2;
        L.dh = L.dw = 1;
        L.pt = 4;
        L.pb = 5;
        L.pl = 1;
        L.pr = 1;
        L.out_c = 64;
        L.in_u8 = L.out_u8 = i;
        tkc_conv_case(&L, 2000 + i);
    }
    /* more than 256 output pixels (several of the x86 host's im2col blocks, the last one partial), and rows of
     * 576 codes (beyond that driver's 512: mq_conv's own blocks) */
    for (i = 0; i < 4; i++) {
        memset(&L, 0, sizeof L);
        L.batch = 1 + (i & 1);
        L.in_h = i < 2 ? 19 : 5;
        L.in_w = i < 2 ? 17 : 6;
        L.in_c = i < 2 ? 3 : 64;
        L.kh = L.kw = 3;
        L.sh = L.sw = 1;
        L.dh = L.dw = 1;
        L.pt = L.pb = L.pl = L.pr = 1;
        L.out_c = i < 2 ? 9 : 4;
        L.in_u8 = L.out_u8 = i & 1;
        tkc_conv_case(&L, 2010 + i);
    }
    printf("conv/depthwise: %u checks so far, %u failures\n", checks, failures);
}
