/*
 * KxK convolution (mq_conv): against the direct int64 reference of ref_conv.h (raw OHWI weights, raw bias,
 * TFLite arithmetic), over random shapes: kernels 1x1 .. 7x7 and non-square (10x4, 1x5, 3x2), strides 1..3,
 * dilations 1..3, every padding side separately 0..4, batch 1..2, in_c 1..20, out_c 1..13, INT8 / UINT8 in and
 * out, per-tensor / per-channel, clamps that bite, the LUT epilogue, left shifts; the KWS first layer; the scratch
 * size contract (exact size works, one byte less is rejected); every parameter the check must reject.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "mq_microkernels.h"
#include "ref_conv.h"

static long g_checked;

typedef struct {
    ref_layer L;
    mq_conv_params p;
    int8_t *w;
    int8_t *packed;
    int32_t *bias, *folded, *qm, *qs;
    uint8_t lut[256];
    uint8_t *x;
} conv_case;

static void case_free(conv_case *c)
{
    free(c->w);
    free(c->packed);
    free(c->bias);
    free(c->folded);
    free(c->qm);
    free(c->qs);
    free(c->x);
}

/* A shift that keeps outputs in range for k taps (about -7 - log2(k)/2), sometimes anywhere. */
static int32_t pick_shift(ref_rng *r, int32_t k)
{
    int32_t lg = 0;
    const int64_t sel = ref_range(r, 0, 9);
    while ((1 << lg) < k) {
        ++lg;
    }
    if (sel == 0) {
        return (int32_t)ref_range(r, -31, 30);
    }
    if (sel == 1) {
        return (int32_t)ref_range(r, -2, 2);
    }
    return -7 - lg / 2 + (int32_t)ref_range(r, -2, 2);
}

/* Build a random layer of the given geometry (out dims from the reference count); 0 if the output is empty. */
static int case_init(conv_case *c, ref_rng *r, const ref_layer *g)
{
    ref_layer *L = &c->L;
    int32_t k, i, n;
    size_t in_bytes;
    memset(c, 0, sizeof *c);
    *L = *g;
    L->out_h = ref_out_dim(L->in_h, L->pt, L->pb, L->kh, L->dh, L->sh);
    L->out_w = ref_out_dim(L->in_w, L->pl, L->pr, L->kw, L->dw, L->sw);
    if (L->out_h < 1 || L->out_w < 1) {
        return 0;
    }
    n = L->out_c;
    k = L->kh * L->kw * L->in_c;
    c->w = malloc((size_t)n * (size_t)k);
    c->packed = malloc(mq_packed_weights_size_n4k16(n, k));
    c->bias = malloc(sizeof(int32_t) * (size_t)n);
    c->folded = malloc(sizeof(int32_t) * (size_t)n);
    c->qm = malloc(sizeof(int32_t) * (size_t)n);
    c->qs = malloc(sizeof(int32_t) * (size_t)n);
    in_bytes = (size_t)L->batch * (size_t)L->in_h * (size_t)L->in_w * (size_t)L->in_c;
    c->x = malloc(in_bytes);
    assert_non_null(c->w);
    assert_non_null(c->x);
    for (i = 0; i < n * k; ++i) {
        c->w[i] = (int8_t)ref_range(r, -128, 127);
    }
    for (i = 0; i < n; ++i) {
        c->bias[i] = (int32_t)ref_range(r, -30000, 30000);
        c->qm[i] = ref_range(r, 0, 15) == 0 ? 0 : ref_multiplier(r);
        c->qs[i] = pick_shift(r, k);
    }
    for (i = 0; i < (int32_t)in_bytes; ++i) {
        c->x[i] = (uint8_t)ref_range(r, 0, 255);
    }
    for (i = 0; i < 256; ++i) {
        c->lut[i] = (uint8_t)ref_range(r, 0, 255);
    }
    L->in_zp = (int32_t)(L->in_u8 ? ref_range(r, 0, 255) : ref_range(r, -128, 127));
    L->out_zp = (int32_t)(L->out_u8 ? ref_range(r, 0, 255) : ref_range(r, -128, 127));
    L->act_min = L->out_u8 ? 0 : -128;
    L->act_max = L->out_u8 ? 255 : 127;
    if (ref_range(r, 0, 2) == 0) { /* a clamp that bites */
        const int32_t a = (int32_t)ref_range(r, L->act_min, L->act_max);
        const int32_t b = (int32_t)ref_range(r, L->act_min, L->act_max);
        L->act_min = a < b ? a : b;
        L->act_max = a < b ? b : a;
    }
    L->per_channel = (int)ref_range(r, 0, 1);
    L->w = c->w;
    L->bias = c->bias;
    L->qm = c->qm;
    L->qs = c->qs;
    L->lut = ref_range(r, 0, 3) == 0 ? c->lut : NULL;
    L->mult = 0;

    /* device parameters through the host prepare functions */
    assert_int_equal(mq_pack_weights_n4k16(c->w, n, k, c->packed, mq_packed_weights_size_n4k16(n, k)), MQ_OK);
    assert_int_equal(mq_fold_bias(c->w, c->bias, n, k, L->in_zp, L->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, c->folded),
                     MQ_OK);
    c->p.win.batch = L->batch;
    c->p.win.in_h = L->in_h;
    c->p.win.in_w = L->in_w;
    c->p.win.out_h = L->out_h;
    c->p.win.out_w = L->out_w;
    c->p.win.kernel_h = L->kh;
    c->p.win.kernel_w = L->kw;
    c->p.win.stride_h = L->sh;
    c->p.win.stride_w = L->sw;
    c->p.win.dilation_h = L->dh;
    c->p.win.dilation_w = L->dw;
    c->p.win.pad_top = L->pt;
    c->p.win.pad_bottom = L->pb;
    c->p.win.pad_left = L->pl;
    c->p.win.pad_right = L->pr;
    c->p.in_c = L->in_c;
    c->p.in_zero_point = L->in_zp;
    c->p.gemm.n = n;
    c->p.gemm.k = k;
    c->p.gemm.weights.packed = c->packed;
    c->p.gemm.bias.folded = c->folded;
    c->p.gemm.multiplier = c->qm;
    c->p.gemm.shift = c->qs;
    c->p.gemm.per_channel = L->per_channel;
    c->p.gemm.in_dtype = L->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    c->p.gemm.out_dtype = L->out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    c->p.gemm.out_zero_point = L->out_zp;
    c->p.gemm.act_min = L->act_min;
    c->p.gemm.act_max = L->act_max;
    c->p.gemm.lut = L->lut;
    return 1;
}

/* Run mq_conv with exactly the planned scratch and compare every output byte with the reference. */
static void case_check(conv_case *c)
{
    const ref_layer *L = &c->L;
    const size_t out_bytes = (size_t)L->batch * (size_t)L->out_h * (size_t)L->out_w * (size_t)L->out_c;
    const size_t need = mq_conv_scratch_size(&c->p);
    uint8_t *y = malloc(out_bytes + 1);
    uint8_t *ref = malloc(out_bytes);
    uint8_t *scratch = malloc(need + 1);
    size_t i;
    assert_non_null(y);
    assert_non_null(ref);
    assert_non_null(scratch);
    assert_int_equal(mq_conv_check(&c->p), MQ_OK);
    y[out_bytes] = 0x5A;
    assert_int_equal(mq_conv(&c->p, c->x, y, need > 0 ? scratch : NULL, need), MQ_OK);
    assert_int_equal(y[out_bytes], 0x5A);
    ref_layer_run(L, c->x, ref);
    for (i = 0; i < out_bytes; ++i) {
        if (y[i] != ref[i]) {
            fail_msg("mismatch at %zu: got %u want %u (k %dx%d s %d,%d d %d,%d pad %d %d %d %d in %dx%dx%d out %dx%dx%d)", i,
                     y[i], ref[i], L->kh, L->kw, L->sh, L->sw, L->dh, L->dw, L->pt, L->pb, L->pl, L->pr, L->in_h, L->in_w,
                     L->in_c, L->out_h, L->out_w, L->out_c);
        }
    }
    g_checked += (long)out_bytes;
    if (need > 0) {
        assert_int_equal(mq_conv(&c->p, c->x, y, scratch, need - 1), MQ_ERR_BUFFER);
        assert_int_equal(mq_conv(&c->p, c->x, y, NULL, need), MQ_ERR_NULL);
    }
    free(y);
    free(ref);
    free(scratch);
}

static void test_conv_random(void **state)
{
    static const int32_t kernels[][2] = {{1, 1}, {3, 3}, {5, 5}, {7, 7}, {10, 4}, {1, 5}, {3, 2}, {2, 2}, {3, 1}};
    ref_rng r = {0xC0417u};
    int trial;
    int ran = 0;
    (void)state;
    for (trial = 0; trial < 700; ++trial) {
        ref_layer g;
        conv_case c;
        const int kk = (int)ref_range(&r, 0, (int64_t)(sizeof kernels / sizeof kernels[0]) - 1);
        memset(&g, 0, sizeof g);
        g.batch = (int32_t)ref_range(&r, 1, 2);
        g.kh = kernels[kk][0];
        g.kw = kernels[kk][1];
        g.in_h = (int32_t)ref_range(&r, 1, 16);
        g.in_w = (int32_t)ref_range(&r, 1, 14);
        g.in_c = ref_range(&r, 0, 4) == 0 ? (int32_t)ref_range(&r, 14, 20) : (int32_t)ref_range(&r, 1, 6);
        g.out_c = (int32_t)ref_range(&r, 1, 13);
        g.sh = (int32_t)ref_range(&r, 1, 3);
        g.sw = (int32_t)ref_range(&r, 1, 3);
        g.dh = ref_range(&r, 0, 2) == 0 ? (int32_t)ref_range(&r, 2, 3) : 1;
        g.dw = ref_range(&r, 0, 2) == 0 ? (int32_t)ref_range(&r, 2, 3) : 1;
        g.pt = (int32_t)ref_range(&r, 0, 4);
        g.pb = (int32_t)ref_range(&r, 0, 4);
        g.pl = (int32_t)ref_range(&r, 0, 4);
        g.pr = (int32_t)ref_range(&r, 0, 4);
        if (ref_range(&r, 0, 3) == 0) {
            g.pt = g.pb = g.pl = g.pr = 0;
        }
        g.in_u8 = (int)ref_range(&r, 0, 1);
        g.out_u8 = (int)ref_range(&r, 0, 1);
        if (!case_init(&c, &r, &g)) {
            case_free(&c);
            continue;
        }
        case_check(&c);
        case_free(&c);
        ++ran;
    }
    printf("  mq_conv random: %d layers, %ld outputs checked\n", ran, g_checked);
    assert_true(ran > 400);
}

#if defined(MQ_X86_HOST_KERNELS)
/* The x86 host driver's scalar im2col block (mq_conv_x86_select("c")): the same random layers (the default run
 * above takes the best this CPU has: indirect rows on AVX-512 VNNI where in_c % 4 == 0, else mq_conv_im2col_avx512
 * on AVX-512 BW). */
static void test_conv_random_x86_scalar_block(void **state)
{
    assert_int_equal(mq_conv_x86_select("c"), 1);
    test_conv_random(state);
    assert_int_equal(mq_conv_x86_select(NULL), 1);
    printf("  (x86 im2col: scalar block; the default run used %s)\n",
           mq_conv_x86_select("indirect") ? "indirect rows where in_c % 4 == 0"
           : mq_conv_im2col_avx512_supported() ? "the AVX-512 block" : "the scalar block too");
    assert_int_equal(mq_conv_x86_select(NULL), 1);
}

/* The AVX-512 gathered block (mq_conv_x86_select("avx512")) where the default is the indirect rows. */
static void test_conv_random_x86_avx512_block(void **state)
{
    if (!mq_conv_x86_select("avx512")) {
        printf("  (no AVX-512 BW: skipped)\n");
        return;
    }
    test_conv_random(state);
    assert_int_equal(mq_conv_x86_select(NULL), 1);
}
#endif

/* KWS DS-CNN first layer: 49x10x1, 10x4 kernel, stride 2, pad top 4 bottom 5 left 1 right 1 -> 25x5x64. */
static void test_conv_kws_first_layer(void **state)
{
    ref_rng r = {0x4B5u};
    int u8;
    (void)state;
    for (u8 = 0; u8 < 2; ++u8) {
        ref_layer g;
        conv_case c;
        memset(&g, 0, sizeof g);
        g.batch = 1;
        g.in_h = 49;
        g.in_w = 10;
        g.in_c = 1;
        g.kh = 10;
        g.kw = 4;
        g.sh = 2;
        g.sw = 2;
        g.dh = 1;
        g.dw = 1;
        g.pt = 4;
        g.pb = 5;
        g.pl = 1;
        g.pr = 1;
        g.out_c = 64;
        g.in_u8 = u8;
        g.out_u8 = u8;
        assert_true(case_init(&c, &r, &g));
        assert_int_equal(c.L.out_h, 25);
        assert_int_equal(c.L.out_w, 5);
        case_check(&c);
        case_free(&c);
    }
}

/* 1x1 kernels (the pointwise fast path) with stride 1 / 2 and padding, and 1x1 with stride 3 (im2col path). */
static void test_conv_1x1_paths(void **state)
{
    ref_rng r = {0x1F1u};
    int32_t s;
    (void)state;
    for (s = 1; s <= 3; ++s) {
        int padded;
        for (padded = 0; padded < 2; ++padded) {
            ref_layer g;
            conv_case c;
            memset(&g, 0, sizeof g);
            g.batch = 2;
            g.in_h = 7;
            g.in_w = 9;
            g.in_c = 19;
            g.kh = g.kw = 1;
            g.sh = g.sw = s;
            g.dh = g.dw = 2;
            g.pt = g.pl = padded;
            g.pb = g.pr = 2 * padded;
            g.out_c = 10;
            g.in_u8 = padded;
            assert_true(case_init(&c, &r, &g));
            case_check(&c);
            case_free(&c);
        }
    }
}

static void test_conv_check_rejects(void **state)
{
    ref_rng r = {0xBADu};
    ref_layer g;
    conv_case c;
    mq_conv_params p;
    uint8_t y[4096];
    uint8_t scratch[4096];
    int32_t bad_shift = 31;
    int32_t bad_mult = 5;
    (void)state;
    memset(&g, 0, sizeof g);
    g.batch = 1;
    g.in_h = 6;
    g.in_w = 5;
    g.in_c = 3;
    g.kh = 3;
    g.kw = 3;
    g.sh = g.sw = g.dh = g.dw = 1;
    g.pt = g.pb = g.pl = g.pr = 1;
    g.out_c = 5;
    assert_true(case_init(&c, &r, &g));
    c.p.gemm.per_channel = 0;
    assert_int_equal(mq_conv_check(&c.p), MQ_OK);
    assert_int_equal(mq_conv_check(NULL), MQ_ERR_NULL);
    assert_int_equal(mq_conv_scratch_size(NULL), 0u);
#define REJECT(FIELD, VALUE, STATUS)                                        \
    do {                                                                    \
        p = c.p;                                                            \
        p.FIELD = VALUE;                                                    \
        assert_int_equal(mq_conv_check(&p), STATUS);                        \
        assert_int_equal(mq_conv(&p, c.x, y, scratch, sizeof scratch), STATUS); \
        assert_int_equal(mq_conv_scratch_size(&p), 0u);                     \
    } while (0)
    REJECT(win.out_h, 5, MQ_ERR_SHAPE);
    REJECT(win.out_w, 6, MQ_ERR_SHAPE);
    REJECT(win.kernel_h, 0, MQ_ERR_SHAPE);
    REJECT(win.stride_w, 0, MQ_ERR_SHAPE);
    REJECT(win.dilation_h, 0, MQ_ERR_SHAPE);
    REJECT(win.pad_left, -1, MQ_ERR_SHAPE);
    REJECT(win.batch, 0, MQ_ERR_SHAPE);
    REJECT(win.in_h, (1 << 24) + 1, MQ_ERR_SHAPE);
    REJECT(in_c, 4, MQ_ERR_SHAPE);          /* k != kh * kw * in_c */
    REJECT(in_c, 0, MQ_ERR_SHAPE);
    REJECT(gemm.k, 26, MQ_ERR_SHAPE);
    REJECT(in_zero_point, 128, MQ_ERR_QPARAMS);
    REJECT(gemm.out_zero_point, -129, MQ_ERR_QPARAMS);
    REJECT(gemm.act_min, 100, MQ_ERR_QPARAMS);
    REJECT(gemm.act_max, 128, MQ_ERR_QPARAMS);
    REJECT(gemm.in_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    REJECT(gemm.weights.packed, NULL, MQ_ERR_NULL);
    REJECT(gemm.bias.folded, NULL, MQ_ERR_NULL);
    REJECT(gemm.shift, &bad_shift, MQ_ERR_QPARAMS);
    REJECT(gemm.multiplier, &bad_mult, MQ_ERR_QPARAMS);
#undef REJECT
    /* out of range window: kernel larger than the padded input */
    p = c.p;
    p.win.kernel_h = 9;
    p.gemm.k = 9 * 3 * 3;
    assert_int_equal(mq_conv_check(&p), MQ_ERR_SHAPE);
    /* buffers */
    assert_int_equal(mq_conv(&c.p, NULL, y, scratch, sizeof scratch), MQ_ERR_NULL);
    assert_int_equal(mq_conv(&c.p, c.x, NULL, scratch, sizeof scratch), MQ_ERR_NULL);
    assert_int_equal(mq_conv(&c.p, c.x, c.x, scratch, sizeof scratch), MQ_ERR_BUFFER);
    assert_int_equal(mq_conv(&c.p, c.x, y, y + 8, sizeof scratch), MQ_ERR_BUFFER); /* scratch overlaps output */
    case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_random),
#if defined(MQ_X86_HOST_KERNELS)
        cmocka_unit_test(test_conv_random_x86_scalar_block),
        cmocka_unit_test(test_conv_random_x86_avx512_block),
#endif
        cmocka_unit_test(test_conv_kws_first_layer),
        cmocka_unit_test(test_conv_1x1_paths),
        cmocka_unit_test(test_conv_check_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
