/*
 * Depthwise convolution (mq_depthwise_conv): against the direct int64 reference of ref_conv.h (raw TFLite
 * [1, kh, kw, out_c] weights, raw bias, TFLite arithmetic), over random shapes: kernels 1x1 .. 7x7 and
 * non-square, strides 1..3, dilations 1..3, every padding side separately, depth multipliers 1..4, channel
 * counts that are and are not multiples of 4 and 8, INT8 / UINT8 in and out, per-tensor / per-channel, clamps
 * that bite, the LUT epilogue, left shifts; the KWS and MobileNet shapes; host prepare (packing, bias folding
 * incl. wrap-around); scratch contract; every parameter the check must reject.
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
/* 1: case_init builds single-rounding layers (mq_depthwise_params.single_rounding, ref_layer.single) */
static int g_single;
static long g_inplace_checked;
static long g_inplace_layers;

typedef struct {
    ref_layer L;
    mq_depthwise_params p;
    int8_t *w;
    int32_t *packed;   /* int32 storage: 4-byte aligned */
    int32_t *bias, *prepared, *qm, *qs;
    uint8_t lut[256];
    uint8_t *x;
} dw_case;

static void case_free(dw_case *c)
{
    free(c->w);
    free(c->packed);
    free(c->bias);
    free(c->prepared);
    free(c->qm);
    free(c->qs);
    free(c->x);
}

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

static int case_init(dw_case *c, ref_rng *r, const ref_layer *g)
{
    ref_layer *L = &c->L;
    int32_t taps, i, n;
    size_t in_bytes, wbytes;
    mq_dtype in_dtype;
    memset(c, 0, sizeof *c);
    *L = *g;
    L->out_h = ref_out_dim(L->in_h, L->pt, L->pb, L->kh, L->dh, L->sh);
    L->out_w = ref_out_dim(L->in_w, L->pl, L->pr, L->kw, L->dw, L->sw);
    L->out_c = L->in_c * L->mult;
    if (L->out_h < 1 || L->out_w < 1) {
        return 0;
    }
    n = L->out_c;
    taps = L->kh * L->kw;
    wbytes = (size_t)taps * (size_t)n * 2u;
    c->w = malloc((size_t)taps * (size_t)n);
    c->packed = malloc(wbytes + 4);
    c->bias = malloc(sizeof(int32_t) * (size_t)n);
    c->prepared = malloc(sizeof(int32_t) * (size_t)n);
    c->qm = malloc(sizeof(int32_t) * (size_t)n);
    c->qs = malloc(sizeof(int32_t) * (size_t)n);
    in_bytes = (size_t)L->batch * (size_t)L->in_h * (size_t)L->in_w * (size_t)L->in_c;
    c->x = malloc(in_bytes);
    assert_non_null(c->w);
    assert_non_null(c->x);
    for (i = 0; i < taps * n; ++i) {
        c->w[i] = (int8_t)ref_range(r, -128, 127);
    }
    for (i = 0; i < n; ++i) {
        const int64_t sel = ref_range(r, 0, 19);
        c->bias[i] = sel == 0 ? (int32_t)ref_range(r, INT32_MIN, INT32_MAX) /* wraps through the folding */
                              : (int32_t)ref_range(r, -30000, 30000);
        c->qm[i] = ref_range(r, 0, 15) == 0 ? 0 : ref_multiplier(r);
        c->qs[i] = pick_shift(r, taps);
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
    if (ref_range(r, 0, 2) == 0) {
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

    in_dtype = L->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
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
    c->p.depth_multiplier = L->mult;
    c->p.in_dtype = in_dtype;
    c->p.out_dtype = L->out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    c->p.in_zero_point = L->in_zp;
    c->p.out_zero_point = L->out_zp;
    c->p.weights.data = c->packed;
    c->p.bias.folded = c->prepared;
    c->p.multiplier = c->qm;
    c->p.shift = c->qs;
    c->p.per_channel = L->per_channel;
    c->p.act_min = L->act_min;
    c->p.act_max = L->act_max;
    c->p.lut = L->lut;
    L->single = g_single;
    c->p.single_rounding = g_single;
    assert_int_equal(mq_depthwise_weights_size(&c->p), wbytes);
    assert_int_equal(mq_depthwise_pack_weights(c->w, L->kh, L->kw, n, c->packed, wbytes), MQ_OK);
    assert_int_equal(mq_depthwise_prepare_bias(c->w, c->bias, L->kh, L->kw, n, L->in_zp, in_dtype, c->prepared), MQ_OK);
    return 1;
}

/* Row ring size R the in-place kernel must use, computed here from the definition: output row j (bytes
 * [j*OWC, (j+1)*OWC)) may overwrite the input once every output row reading an input row under it has run. */
static int32_t expected_rows(const ref_layer *L)
{
    const int64_t owc = (int64_t)L->out_w * L->out_c, iwc = (int64_t)L->in_w * L->in_c;
    int32_t j, best = 0;
    for (j = 0; j < L->out_h; ++j) {
        int32_t latest = j, oy, r;
        for (r = 0; r < L->in_h; ++r) {
            if (r * iwc >= (j + 1) * owc) {
                break; /* input rows past output row j's bytes */
            }
            if ((r + 1) * iwc <= j * owc && (j + 1) * owc <= L->in_h * iwc) {
                continue; /* input row r lies before output row j's bytes */
            }
            for (oy = 0; oy < L->out_h; ++oy) {
                const int64_t first = (int64_t)oy * L->sh - L->pt;
                if (r >= first && r <= first + (int64_t)(L->kh - 1) * L->dh && oy > latest) {
                    latest = oy; /* output row oy reads input row r */
                }
            }
        }
        best = latest - j > best ? latest - j : best;
    }
    return best + 1;
}

/* In place (mq_depthwise_conv_inplace) on a copy of the input: exactly y, the out-of-place output of the
 * independent input buffer (checked against the int64 reference); nothing written past the larger tensor or
 * the scratch; unsupported geometries refused with MQ_ERR_SHAPE. */
static void check_inplace(dw_case *c, const uint8_t *y, size_t out_bytes)
{
    const ref_layer *L = &c->L;
    const size_t in_bytes = (size_t)L->batch * (size_t)L->in_h * (size_t)L->in_w * (size_t)L->in_c;
    const size_t span = in_bytes > out_bytes ? in_bytes : out_bytes;
    const int32_t reach = (L->kh - 1) * L->dh;
    const int supported = L->batch == 1 && L->pt <= reach && L->pb <= reach;
    const size_t need = mq_depthwise_inplace_scratch_size(&c->p);
    uint8_t *buf;
    uint8_t *scratch;
    size_t i;
    if (!supported) {
        uint8_t dummy[4];
        assert_int_equal(mq_depthwise_inplace_rows(&c->p), 0);
        assert_int_equal(need, 0u);
        assert_int_equal(mq_depthwise_conv_inplace(&c->p, dummy, dummy, sizeof dummy), MQ_ERR_SHAPE);
        return;
    }
    {
        const int32_t rows = expected_rows(L);
        const size_t pad = (L->pt | L->pb | L->pl | L->pr) ? (size_t)((L->in_c + 3) / 4 * 4 + 15) / 16 * 16 : 0u;
        assert_int_equal(mq_depthwise_inplace_rows(&c->p), rows);
        assert_int_equal(need, pad + (size_t)rows * (size_t)L->out_w * (size_t)L->out_c);
    }
    buf = malloc(span + 16);
    scratch = malloc(need + 16);
    assert_non_null(buf);
    assert_non_null(scratch);
    memcpy(buf, c->x, in_bytes);
    memset(buf + span, 0xA5, 16);
    memset(scratch + need, 0xA5, 16);
    assert_int_equal(mq_depthwise_conv_inplace(&c->p, buf, scratch, need - 1), MQ_ERR_BUFFER);
    assert_int_equal(mq_depthwise_conv_inplace(&c->p, buf, buf + span - 1, need), MQ_ERR_BUFFER);
    assert_int_equal(memcmp(buf, c->x, in_bytes), 0);
    assert_int_equal(mq_depthwise_conv_inplace(&c->p, buf, scratch, need), MQ_OK);
    for (i = 0; i < out_bytes; ++i) {
        if (buf[i] != y[i]) {
            fail_msg("in place byte %zu: got %u, out of place %u (k %dx%d s %d,%d d %d,%d pad %d %d %d %d in %dx%dx%d "
                     "mult %d)",
                     i, buf[i], y[i], L->kh, L->kw, L->sh, L->sw, L->dh, L->dw, L->pt, L->pb, L->pl, L->pr, L->in_h,
                     L->in_w, L->in_c, L->mult);
        }
    }
    for (i = 0; i < 16; ++i) {
        assert_int_equal(buf[span + i], 0xA5);
        assert_int_equal(scratch[need + i], 0xA5);
    }
    g_inplace_checked += (long)out_bytes;
    ++g_inplace_layers;
    free(buf);
    free(scratch);
}

static void case_check(dw_case *c)
{
    const ref_layer *L = &c->L;
    const size_t out_bytes = (size_t)L->batch * (size_t)L->out_h * (size_t)L->out_w * (size_t)L->out_c;
    const size_t need = mq_depthwise_scratch_size(&c->p);
    const int padded = L->pt > 0 || L->pb > 0 || L->pl > 0 || L->pr > 0;
    uint8_t *y = malloc(out_bytes + 1);
    uint8_t *ref = malloc(out_bytes);
    uint8_t *scratch = malloc(need + 1);
    size_t i;
    assert_non_null(y);
    assert_non_null(ref);
    assert_non_null(scratch);
    assert_int_equal(mq_depthwise_check(&c->p), MQ_OK);
    assert_int_equal(need, padded ? (size_t)((L->in_c + 3) / 4 * 4) : 0u);
    y[out_bytes] = 0x5A;
    assert_int_equal(mq_depthwise_conv(&c->p, c->x, y, need > 0 ? scratch : NULL, need), MQ_OK);
    assert_int_equal(y[out_bytes], 0x5A);
    ref_layer_run(L, c->x, ref);
    for (i = 0; i < out_bytes; ++i) {
        if (y[i] != ref[i]) {
            fail_msg("mismatch at %zu: got %u want %u (k %dx%d s %d,%d d %d,%d pad %d %d %d %d in %dx%dx%d mult %d)", i,
                     y[i], ref[i], L->kh, L->kw, L->sh, L->sw, L->dh, L->dw, L->pt, L->pb, L->pl, L->pr, L->in_h,
                     L->in_w, L->in_c, L->mult);
        }
    }
    g_checked += (long)out_bytes;
    check_inplace(c, y, out_bytes);
    if (need > 0) {
        assert_int_equal(mq_depthwise_conv(&c->p, c->x, y, scratch, need - 1), MQ_ERR_BUFFER);
        assert_int_equal(mq_depthwise_conv(&c->p, c->x, y, NULL, need), MQ_ERR_NULL);
    }
    free(y);
    free(ref);
    free(scratch);
}

/* trials random layers from seed; wide: channel counts up to 150 as well (the 64-channel steps of the AVX-512
 * kernel and their masked tails). Returns the number of layers run. */
static int run_random(uint32_t seed, int trials, int wide)
{
    static const int32_t kernels[][2] = {{3, 3}, {3, 3}, {3, 3}, {1, 1}, {5, 5}, {7, 7}, {2, 2}, {1, 3}, {4, 2}, {3, 1}};
    ref_rng r = {seed};
    int trial;
    int ran = 0;
    for (trial = 0; trial < trials; ++trial) {
        ref_layer g;
        dw_case c;
        const int kk = (int)ref_range(&r, 0, (int64_t)(sizeof kernels / sizeof kernels[0]) - 1);
        const int64_t csel = ref_range(&r, 0, wide ? 7 : 5);
        memset(&g, 0, sizeof g);
        g.batch = (int32_t)ref_range(&r, 1, 2);
        g.kh = kernels[kk][0];
        g.kw = kernels[kk][1];
        g.in_h = (int32_t)ref_range(&r, 1, 14);
        g.in_w = (int32_t)ref_range(&r, 1, 14);
        g.in_c = csel == 0 ? 8 * (int32_t)ref_range(&r, 1, 4) : (csel == 1 ? 4 * (int32_t)ref_range(&r, 1, 5)
                                                                             : (int32_t)ref_range(&r, 1, 21));
        if (csel == 6) {
            g.in_c = 64 * (int32_t)ref_range(&r, 1, 2);
        } else if (csel == 7) {
            g.in_c = (int32_t)ref_range(&r, 22, 150);
        }
        if (g.in_c > 40) {
            g.in_h = (int32_t)ref_range(&r, 1, 8);
            g.in_w = (int32_t)ref_range(&r, 1, 8);
        }
        g.mult = ref_range(&r, 0, 3) == 0 ? (int32_t)ref_range(&r, 2, 4) : 1;
        g.sh = (int32_t)ref_range(&r, 1, 3);
        g.sw = (int32_t)ref_range(&r, 1, 3);
        g.dh = ref_range(&r, 0, 3) == 0 ? (int32_t)ref_range(&r, 2, 3) : 1;
        g.dw = ref_range(&r, 0, 3) == 0 ? (int32_t)ref_range(&r, 2, 3) : 1;
        g.pt = (int32_t)ref_range(&r, 0, 3);
        g.pb = (int32_t)ref_range(&r, 0, 3);
        g.pl = (int32_t)ref_range(&r, 0, 3);
        g.pr = (int32_t)ref_range(&r, 0, 3);
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
    return ran;
}

static void test_depthwise_random(void **state)
{
    int ran;
    (void)state;
    ran = run_random(0xD3E9u, 900, 0);
    printf("  mq_depthwise_conv random: %d layers, %ld outputs checked; in place: %ld layers, %ld outputs equal\n",
           ran, g_checked, g_inplace_layers, g_inplace_checked);
    assert_true(ran > 600);
    assert_true(g_inplace_layers > 150);
    ran = run_random(0x77A1u, 300, 1);
    printf("  mq_depthwise_conv random, up to 150 channels: %d layers\n", ran);
    assert_true(ran > 200);
}

/* The benchmark's shapes: KWS 3x3 SAME stride 1 at 25x5x64, MobileNet 3x3 stride 2 at 48x48x16 (pad 0/1 as TF
 * SAME gives for even sizes) and stride 1 at 24x24x32, and the other depthwise layers of MobileNetV1 0.25. */
static void test_depthwise_network_shapes(void **state)
{
    static const int32_t shapes[][8] = {
        /* in_h, in_w, c, stride, pt, pb, pl, pr */
        {25, 5, 64, 1, 1, 1, 1, 1},
        {48, 48, 16, 2, 0, 1, 0, 1},
        {24, 24, 32, 1, 1, 1, 1, 1},
        /* the rest of MobileNetV1 0.25 at 96x96: 8 channels stride 1, 32 / 64 / 128 channels stride 2, 256 */
        {48, 48, 8, 1, 1, 1, 1, 1},
        {24, 24, 32, 2, 0, 1, 0, 1},
        {12, 12, 64, 2, 0, 1, 0, 1},
        {6, 6, 128, 2, 0, 1, 0, 1},
        {3, 3, 256, 1, 1, 1, 1, 1},
    };
    ref_rng r = {0x5EEDu};
    size_t s;
    int u8;
    (void)state;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        for (u8 = 0; u8 < 2; ++u8) {
            ref_layer g;
            dw_case c;
            memset(&g, 0, sizeof g);
            g.batch = 1;
            g.in_h = shapes[s][0];
            g.in_w = shapes[s][1];
            g.in_c = shapes[s][2];
            g.mult = 1;
            g.kh = g.kw = 3;
            g.sh = g.sw = shapes[s][3];
            g.dh = g.dw = 1;
            g.pt = shapes[s][4];
            g.pb = shapes[s][5];
            g.pl = shapes[s][6];
            g.pr = shapes[s][7];
            g.in_u8 = u8;
            g.out_u8 = u8;
            assert_true(case_init(&c, &r, &g));
            case_check(&c);
            case_free(&c);
        }
    }
}

#if defined(MQ_X86_HOST_KERNELS)
/* The x86 host variants one by one (mq_dw_s8_x86_select): the random layers (also past 64 channels), the network
 * shapes, each against the int64 reference; then weights outside int8 (which the AVX-512 VNNI kernel leaves to
 * AVX2): each variant's bytes equal the portable kernel's. */
static void test_depthwise_x86_variants(void **state)
{
    static const char *const names[] = {"c", "avx2", "avx512vnni"};
    size_t v;
    int ran_variants = 0;
    (void)state;
    for (v = 0; v < sizeof names / sizeof names[0]; ++v) {
        int ran;
        if (!mq_dw_s8_x86_select(names[v])) {
            printf("  test_depthwise: this CPU cannot run the %s depthwise kernel: not run\n", names[v]);
            continue;
        }
        ran = run_random(0x1234u + (uint32_t)v, 250, 0) + run_random(0x9876u + (uint32_t)v, 250, 1);
        test_depthwise_network_shapes(state);
        printf("  depthwise variant %s: %d random layers + network shapes equal the reference\n", names[v], ran);
        assert_true(ran > 300);
        /* single rounding (the QDQ models' stage: mostly every shift <= -1, the vector form; some layers with a
         * shift >= 0, the portable kernel) against the reference's single rounding */
        g_single = 1;
        ran = run_random(0x5151u + (uint32_t)v, 250, 0) + run_random(0x6161u + (uint32_t)v, 250, 1);
        g_single = 0;
        printf("  depthwise variant %s, single rounding: %d random layers equal the reference\n", names[v], ran);
        assert_true(ran > 300);
        ++ran_variants;
    }
    assert_true(ran_variants >= 1);
    {
        ref_rng r = {0x4242u};
        int trial;
        for (trial = 0; trial < 60; ++trial) {
            ref_layer g;
            dw_case c;
            size_t out_bytes, need, i, nw;
            uint8_t *want, *got, *scratch;
            int16_t *w16;
            memset(&g, 0, sizeof g);
            g.batch = 1;
            g.kh = g.kw = (int32_t)ref_range(&r, 1, 3);
            g.in_h = (int32_t)ref_range(&r, 3, 9);
            g.in_w = (int32_t)ref_range(&r, 3, 9);
            g.in_c = (int32_t)ref_range(&r, 1, 100);
            g.mult = 1;
            g.sh = g.sw = g.dh = g.dw = 1;
            g.pt = g.pb = g.pl = g.pr = (int32_t)ref_range(&r, 0, 1);
            g.in_u8 = (int)ref_range(&r, 0, 1);
            g.out_u8 = (int)ref_range(&r, 0, 1);
            if (!case_init(&c, &r, &g)) {
                case_free(&c);
                continue;
            }
            /* some weights beyond int8 (the folded bias is whatever it is: both kernels read the same one) */
            w16 = (int16_t *)(void *)c.packed;
            nw = (size_t)g.kh * (size_t)g.kw * (size_t)g.in_c;
            for (i = 0; i < nw; ++i) {
                if (ref_range(&r, 0, 7) == 0) {
                    w16[i] = (int16_t)ref_range(&r, -32768, 32767);
                }
            }
            w16[ref_range(&r, 0, (int64_t)nw - 1)] = (int16_t)(ref_range(&r, 0, 1) ? 128 : -129);
            out_bytes = (size_t)c.L.out_h * (size_t)c.L.out_w * (size_t)c.L.out_c;
            need = mq_depthwise_scratch_size(&c.p);
            want = malloc(out_bytes);
            got = malloc(out_bytes);
            scratch = malloc(need + 1);
            assert_non_null(want);
            assert_non_null(got);
            assert_non_null(scratch);
            assert_true(mq_dw_s8_x86_select("c"));
            assert_int_equal(mq_depthwise_conv(&c.p, c.x, want, scratch, need), MQ_OK);
            for (v = 1; v < sizeof names / sizeof names[0]; ++v) {
                if (mq_dw_s8_x86_select(names[v])) {
                    memset(got, 0x5A, out_bytes);
                    assert_int_equal(mq_depthwise_conv(&c.p, c.x, got, scratch, need), MQ_OK);
                    assert_memory_equal(got, want, out_bytes);
                }
            }
            free(want);
            free(got);
            free(scratch);
            case_free(&c);
        }
    }
    assert_true(mq_dw_s8_x86_select(NULL));
}
#endif

/* Host prepare: packing is a widening copy; the folded bias equals bias - zp * sum w, modulo 2^32. */
static void test_depthwise_prepare(void **state)
{
    const int8_t w[2 * 3] = {-128, 127, 5, -1, 0, -128}; /* kh 1, kw 2, out_c 3 */
    const int32_t bias[3] = {INT32_MAX, INT32_MIN, 7};
    int32_t prepared[3];
    uint8_t packed[12];
    size_t i;
    (void)state;
    assert_int_equal(mq_depthwise_pack_weights(w, 1, 2, 3, packed, sizeof packed), MQ_OK);
    for (i = 0; i < 6; ++i) {
        const int32_t v = (int32_t)(int16_t)(uint16_t)(packed[2 * i] | (packed[2 * i + 1] << 8));
        assert_int_equal(v, w[i]);
    }
    assert_int_equal(mq_depthwise_pack_weights(w, 1, 2, 3, packed, sizeof packed - 1), MQ_ERR_BUFFER);
    assert_int_equal(mq_depthwise_pack_weights(NULL, 1, 2, 3, packed, sizeof packed), MQ_ERR_NULL);
    assert_int_equal(mq_depthwise_pack_weights(w, 0, 2, 3, packed, sizeof packed), MQ_ERR_SHAPE);
    /* zp = -3 (INT8): sums per channel: -129, 127, -123 */
    assert_int_equal(mq_depthwise_prepare_bias(w, bias, 1, 2, 3, -3, MQ_DTYPE_INT8, prepared), MQ_OK);
    assert_int_equal(prepared[0], ref_wrap32((int64_t)INT32_MAX + 3 * -129));
    assert_int_equal(prepared[1], ref_wrap32((int64_t)INT32_MIN + 3 * 127));
    assert_int_equal(prepared[2], 7 + 3 * -123);
    /* UINT8: the raw zero point (200), no bias */
    assert_int_equal(mq_depthwise_prepare_bias(w, NULL, 1, 2, 3, 200, MQ_DTYPE_UINT8, prepared), MQ_OK);
    assert_int_equal(prepared[0], -200 * -129);
    assert_int_equal(prepared[2], -200 * -123);
    assert_int_equal(mq_depthwise_prepare_bias(w, NULL, 1, 2, 3, 256, MQ_DTYPE_UINT8, prepared), MQ_ERR_QPARAMS);
    assert_int_equal(mq_depthwise_prepare_bias(w, NULL, 1, 2, 3, 0, MQ_DTYPE_INT32, prepared), MQ_ERR_DTYPE);
}

static void test_depthwise_check_rejects(void **state)
{
    ref_rng r = {0xBAD2u};
    ref_layer g;
    dw_case c;
    mq_depthwise_params p;
    uint8_t y[4096];
    uint8_t scratch[64];
    int32_t bad_shift = -32;
    int32_t bad_mult = (1 << 30) - 1;
    (void)state;
    memset(&g, 0, sizeof g);
    g.batch = 1;
    g.in_h = 6;
    g.in_w = 5;
    g.in_c = 8;
    g.mult = 1;
    g.kh = g.kw = 3;
    g.sh = g.sw = g.dh = g.dw = 1;
    g.pt = g.pb = g.pl = g.pr = 1;
    assert_true(case_init(&c, &r, &g));
    c.p.per_channel = 0;
    assert_int_equal(mq_depthwise_check(&c.p), MQ_OK);
    assert_int_equal(mq_depthwise_check(NULL), MQ_ERR_NULL);
    assert_int_equal(mq_depthwise_scratch_size(NULL), 0u);
    assert_int_equal(mq_depthwise_weights_size(NULL), 0u);
#define REJECT(FIELD, VALUE, STATUS)                                                     \
    do {                                                                                 \
        p = c.p;                                                                         \
        p.FIELD = VALUE;                                                                 \
        assert_int_equal(mq_depthwise_check(&p), STATUS);                                \
        assert_int_equal(mq_depthwise_conv(&p, c.x, y, scratch, sizeof scratch), STATUS); \
        assert_int_equal(mq_depthwise_scratch_size(&p), 0u);                             \
    } while (0)
    REJECT(win.out_h, 7, MQ_ERR_SHAPE);
    REJECT(win.out_w, 4, MQ_ERR_SHAPE);
    REJECT(win.kernel_w, 0, MQ_ERR_SHAPE);
    REJECT(win.stride_h, -1, MQ_ERR_SHAPE);
    REJECT(win.dilation_w, 0, MQ_ERR_SHAPE);
    REJECT(win.pad_bottom, -2, MQ_ERR_SHAPE);
    REJECT(in_c, 0, MQ_ERR_SHAPE);
    REJECT(depth_multiplier, 0, MQ_ERR_SHAPE);
    REJECT(in_zero_point, -129, MQ_ERR_QPARAMS);
    REJECT(out_zero_point, 128, MQ_ERR_QPARAMS);
    REJECT(act_min, -129, MQ_ERR_QPARAMS);
    REJECT(act_max, -129, MQ_ERR_QPARAMS);
    REJECT(per_channel, 2, MQ_ERR_QPARAMS);
    REJECT(in_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    REJECT(out_dtype, (mq_dtype)0, MQ_ERR_DTYPE);
    REJECT(weights.data, NULL, MQ_ERR_NULL);
    REJECT(bias.folded, NULL, MQ_ERR_NULL);
    REJECT(multiplier, NULL, MQ_ERR_NULL);
    REJECT(shift, &bad_shift, MQ_ERR_QPARAMS);
    REJECT(multiplier, &bad_mult, MQ_ERR_QPARAMS);
    REJECT(weights.data, (const void *)((const uint8_t *)c.packed + 2), MQ_ERR_ALIGN);
#undef REJECT
    /* more than MQ_DW_MAX_TAPS taps (9x9 = 81) */
    p = c.p;
    p.win.kernel_h = p.win.kernel_w = 9;
    p.win.pad_top = p.win.pad_bottom = p.win.pad_left = p.win.pad_right = 4;
    assert_int_equal(mq_depthwise_check(&p), MQ_ERR_SHAPE);
    assert_int_equal(mq_depthwise_conv(&c.p, NULL, y, scratch, sizeof scratch), MQ_ERR_NULL);
    assert_int_equal(mq_depthwise_conv(&c.p, c.x, NULL, scratch, sizeof scratch), MQ_ERR_NULL);
    assert_int_equal(mq_depthwise_conv(&c.p, c.x, c.x, scratch, sizeof scratch), MQ_ERR_BUFFER);
    assert_int_equal(mq_depthwise_conv(&c.p, c.x, y, y + 4, sizeof scratch), MQ_ERR_BUFFER);
    case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise_random),
        cmocka_unit_test(test_depthwise_network_shapes),
        cmocka_unit_test(test_depthwise_prepare),
        cmocka_unit_test(test_depthwise_check_rejects),
#if defined(MQ_X86_HOST_KERNELS)
        cmocka_unit_test(test_depthwise_x86_variants),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
