/*
 * Single-rounding convolutions (mq_conv_single_rounding, mq_conv1x1_single_rounding,
 * mq_depthwise_conv_single_rounding; packed models with MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) against a reference
 * written here from the definition: int64 sums of (x - in_zero_point) * w over the taps inside the input on the
 * RAW weights and RAW bias, wrapped to int32, then round(acc * M * 2^(shift - 31)) with ties toward +infinity
 * computed in long double (exact: |acc * M| < 2^62, 64-bit mantissa), + out zero point, clamp, optional LUT.
 * Random shapes: kernels 1x1 .. 5x5 and non-square, strides 1..3, dilations 1..2, padding per side 0..3, batch
 * 1..2, INT8 / UINT8 in and out, per-tensor / per-channel, depth multipliers 1..3, clamps that bite, the LUT.
 */
#include <float.h>
#include <math.h>
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
#include "ref_quant.h"

static int32_t ref_single(int64_t acc64, int32_t m, int32_t shift)
{
    const int32_t acc = ref_wrap32(acc64);
    const long double y = ldexpl((long double)acc * (long double)m, (int)shift - 31);
    const long double r = floorl(y + 0.5L);
    return r > 2147483647.0L ? INT32_MAX : (r < -2147483648.0L ? INT32_MIN : (int32_t)r);
}

typedef struct {
    int32_t batch, in_h, in_w, in_c, out_c, mult; /* mult: depthwise depth multiplier, 0 for conv */
    int32_t kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, out_h, out_w;
    int in_u8, out_u8, per_channel;
    int32_t in_zp, out_zp, act_min, act_max;
    int8_t *w;         /* conv OHWI [out_c][kh][kw][in_c]; depthwise [kh][kw][out_c] */
    int32_t *bias, *qm, *qs;
    uint8_t lut[256];
    const uint8_t *use_lut;
    uint8_t *x;
} sr_layer;

static int32_t out_dim(int32_t in, int32_t pa, int32_t pb, int32_t k, int32_t d, int32_t s)
{
    const int32_t span = in + pa + pb - (k - 1) * d - 1;
    return span < 0 ? 0 : span / s + 1;
}

static uint8_t ref_out(const sr_layer *L, int32_t b, int32_t oy, int32_t ox, int32_t o)
{
    int64_t acc = L->bias[o], v;
    const int32_t qi = L->per_channel ? o : 0;
    int32_t ky, kx, c;
    for (ky = 0; ky < L->kh; ++ky) {
        for (kx = 0; kx < L->kw; ++kx) {
            const int32_t iy = oy * L->sh - L->pt + ky * L->dh, ix = ox * L->sw - L->pl + kx * L->dw;
            const uint8_t *px;
            if (iy < 0 || iy >= L->in_h || ix < 0 || ix >= L->in_w) {
                continue;
            }
            px = L->x + (((size_t)b * (size_t)L->in_h + (size_t)iy) * (size_t)L->in_w + (size_t)ix) * (size_t)L->in_c;
            if (L->mult > 0) {
                acc += (int64_t)(ref_code(px[o / L->mult], L->in_u8) - L->in_zp) *
                       L->w[((size_t)ky * (size_t)L->kw + (size_t)kx) * (size_t)L->out_c + (size_t)o];
            } else {
                for (c = 0; c < L->in_c; ++c) {
                    acc += (int64_t)(ref_code(px[c], L->in_u8) - L->in_zp) *
                           L->w[(((size_t)o * (size_t)L->kh + (size_t)ky) * (size_t)L->kw + (size_t)kx) * (size_t)L->in_c + (size_t)c];
                }
            }
        }
    }
    v = (int64_t)L->out_zp + ref_single(acc, L->qm[qi], L->qs[qi]);
    v = v < L->act_min ? L->act_min : (v > L->act_max ? L->act_max : v);
    return L->use_lut != NULL ? L->use_lut[ref_byte((int32_t)v)] : ref_byte((int32_t)v);
}

/* Random layer; 0 when the output would be empty. */
static int sr_init(sr_layer *L, ref_rng *r, int depthwise, int pointwise)
{
    int32_t i, k, taps, n;
    size_t in_bytes;
    memset(L, 0, sizeof *L);
    L->batch = (int32_t)ref_range(r, 1, 2);
    L->in_h = (int32_t)ref_range(r, 1, 9);
    L->in_w = (int32_t)ref_range(r, 1, 9);
    L->in_c = (int32_t)ref_range(r, 1, 20);
    L->mult = depthwise ? (int32_t)ref_range(r, 1, 3) : 0;
    L->out_c = depthwise ? L->in_c * L->mult : (int32_t)ref_range(r, 1, 13);
    L->kh = pointwise ? 1 : (int32_t)ref_range(r, 1, 5);
    L->kw = pointwise ? 1 : (int32_t)ref_range(r, 1, 5);
    L->sh = (int32_t)ref_range(r, 1, pointwise ? 2 : 3);
    L->sw = (int32_t)ref_range(r, 1, pointwise ? 2 : 3);
    L->dh = pointwise ? 1 : (int32_t)ref_range(r, 1, 2);
    L->dw = pointwise ? 1 : (int32_t)ref_range(r, 1, 2);
    L->pt = (int32_t)ref_range(r, 0, 3) * (ref_range(r, 0, 2) != 0);
    L->pb = (int32_t)ref_range(r, 0, 3) * (ref_range(r, 0, 2) != 0);
    L->pl = (int32_t)ref_range(r, 0, 3) * (ref_range(r, 0, 2) != 0);
    L->pr = (int32_t)ref_range(r, 0, 3) * (ref_range(r, 0, 2) != 0);
    L->out_h = out_dim(L->in_h, L->pt, L->pb, L->kh, L->dh, L->sh);
    L->out_w = out_dim(L->in_w, L->pl, L->pr, L->kw, L->dw, L->sw);
    if (L->out_h < 1 || L->out_w < 1) {
        return 0;
    }
    taps = L->kh * L->kw;
    k = depthwise ? taps : taps * L->in_c;
    n = L->out_c;
    L->in_u8 = (int)ref_range(r, 0, 1);
    L->out_u8 = (int)ref_range(r, 0, 1);
    L->per_channel = (int)ref_range(r, 0, 1);
    L->in_zp = (int32_t)(L->in_u8 ? ref_range(r, 0, 255) : ref_range(r, -128, 127));
    L->out_zp = (int32_t)(L->out_u8 ? ref_range(r, 0, 255) : ref_range(r, -128, 127));
    L->act_min = L->out_u8 ? 0 : -128;
    L->act_max = L->out_u8 ? 255 : 127;
    if (ref_range(r, 0, 2) == 0) {
        const int32_t a = (int32_t)ref_range(r, L->act_min, L->act_max), b = (int32_t)ref_range(r, L->act_min, L->act_max);
        L->act_min = a < b ? a : b;
        L->act_max = a < b ? b : a;
    }
    L->w = malloc((size_t)n * (size_t)k);
    L->bias = malloc(sizeof(int32_t) * (size_t)n);
    L->qm = malloc(sizeof(int32_t) * (size_t)n);
    L->qs = malloc(sizeof(int32_t) * (size_t)n);
    in_bytes = (size_t)L->batch * (size_t)L->in_h * (size_t)L->in_w * (size_t)L->in_c;
    L->x = malloc(in_bytes);
    assert_non_null(L->w);
    assert_non_null(L->bias);
    assert_non_null(L->qm);
    assert_non_null(L->qs);
    assert_non_null(L->x);
    for (i = 0; i < n * k; ++i) {
        L->w[i] = (int8_t)ref_range(r, -128, 127);
    }
    for (i = 0; i < n; ++i) {
        int32_t lg = 0;
        while ((1 << lg) < k) {
            ++lg;
        }
        L->bias[i] = (int32_t)ref_range(r, -30000, 30000);
        L->qm[i] = ref_range(r, 0, 15) == 0 ? 0 : ref_multiplier(r);
        /* shifts that keep outputs in range (about -7 - log2(k)/2), sometimes small ones (saturation) */
        L->qs[i] = ref_range(r, 0, 7) == 0 ? (int32_t)ref_range(r, -3, 2) : -7 - lg / 2 + (int32_t)ref_range(r, -2, 2);
    }
    for (i = 0; i < (int32_t)in_bytes; ++i) {
        L->x[i] = (uint8_t)ref_range(r, 0, 255);
    }
    for (i = 0; i < 256; ++i) {
        L->lut[i] = (uint8_t)ref_range(r, 0, 255);
    }
    L->use_lut = ref_range(r, 0, 3) == 0 ? L->lut : NULL;
    return 1;
}

static void sr_free(sr_layer *L)
{
    free(L->w);
    free(L->bias);
    free(L->qm);
    free(L->qs);
    free(L->x);
}

static void fill_window(const sr_layer *L, mq_window *win)
{
    win->batch = L->batch;
    win->in_h = L->in_h;
    win->in_w = L->in_w;
    win->out_h = L->out_h;
    win->out_w = L->out_w;
    win->kernel_h = L->kh;
    win->kernel_w = L->kw;
    win->stride_h = L->sh;
    win->stride_w = L->sw;
    win->dilation_h = L->dh;
    win->dilation_w = L->dw;
    win->pad_top = L->pt;
    win->pad_bottom = L->pb;
    win->pad_left = L->pl;
    win->pad_right = L->pr;
}

static void fill_gemm(const sr_layer *L, int32_t k, const int8_t *packed, const int32_t *folded, mq_fc_params *g)
{
    memset(g, 0, sizeof *g);
    g->n = L->out_c;
    g->k = k;
    g->weights.packed = packed;
    g->bias.folded = folded;
    g->multiplier = L->qm;
    g->shift = L->qs;
    g->per_channel = L->per_channel;
    g->in_dtype = L->in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    g->out_dtype = L->out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    g->out_zero_point = L->out_zp;
    g->act_min = L->act_min;
    g->act_max = L->act_max;
    g->lut = L->use_lut;
}

/* Compares y with the reference; counts outputs and differences from the double-rounding kernel's yd. */
static void compare(const sr_layer *L, const uint8_t *y, const uint8_t *yd, const char *what, long *checked, long *diff)
{
    int32_t b, oy, ox, o;
    size_t i = 0;
    for (b = 0; b < L->batch; ++b) {
        for (oy = 0; oy < L->out_h; ++oy) {
            for (ox = 0; ox < L->out_w; ++ox) {
                for (o = 0; o < L->out_c; ++o, ++i) {
                    const uint8_t want = ref_out(L, b, oy, ox, o);
                    if (y[i] != want) {
                        fail_msg("%s k %dx%d s %d,%d d %d,%d pad %d %d %d %d in %dx%dx%d out %dx%dx%d at (%d,%d,%d,%d): got %u want %u",
                                 what, L->kh, L->kw, L->sh, L->sw, L->dh, L->dw, L->pt, L->pb, L->pl, L->pr, L->in_h,
                                 L->in_w, L->in_c, L->out_h, L->out_w, L->out_c, b, oy, ox, o, y[i], want);
                    }
                    *diff += y[i] != yd[i];
                    ++*checked;
                }
            }
        }
    }
}

static void test_conv_single_rounding(void **state)
{
    ref_rng r = {0x5123u};
    long checked = 0, checked1 = 0, diff = 0;
    int trial;
    (void)state;
    assert_true(LDBL_MANT_DIG >= 64);
    for (trial = 0; trial < 400; ++trial) {
        const int pointwise = trial % 3 == 0;
        sr_layer L;
        mq_conv_params p;
        int8_t *packed;
        int32_t *folded;
        uint8_t *y, *yd, *scratch;
        size_t out_bytes, need;
        int32_t k;
        if (!sr_init(&L, &r, 0, pointwise)) {
            sr_free(&L);
            continue;
        }
        k = L.kh * L.kw * L.in_c;
        packed = malloc(mq_packed_weights_size_n4k16(L.out_c, k));
        folded = malloc(sizeof(int32_t) * (size_t)L.out_c);
        assert_non_null(packed);
        assert_non_null(folded);
        assert_int_equal(mq_pack_weights_n4k16(L.w, L.out_c, k, packed, mq_packed_weights_size_n4k16(L.out_c, k)), MQ_OK);
        assert_int_equal(mq_fold_bias(L.w, L.bias, L.out_c, k, L.in_zp, L.in_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, folded),
                         MQ_OK);
        memset(&p, 0, sizeof p);
        fill_window(&L, &p.win);
        p.in_c = L.in_c;
        p.in_zero_point = L.in_zp;
        fill_gemm(&L, k, packed, folded, &p.gemm);
        out_bytes = (size_t)L.batch * (size_t)L.out_h * (size_t)L.out_w * (size_t)L.out_c;
        y = malloc(out_bytes + 1);
        yd = malloc(out_bytes);
        need = mq_conv_scratch_size(&p);
        scratch = malloc(need + 1);
        assert_non_null(y);
        assert_non_null(yd);
        assert_non_null(scratch);
        y[out_bytes] = 0xA5;
        assert_int_equal(mq_conv_single_rounding(&p, L.x, y), MQ_OK);
        assert_int_equal(y[out_bytes], 0xA5);
        assert_int_equal(mq_conv(&p, L.x, yd, need > 0 ? scratch : NULL, need), MQ_OK);
        compare(&L, y, yd, "conv", &checked, &diff);
        if (pointwise) {
            /* the same layer through the pointwise entry point */
            mq_conv1x1_params c;
            memset(&c, 0, sizeof c);
            c.batch = L.batch;
            c.in_h = L.in_h;
            c.in_w = L.in_w;
            c.stride_h = L.sh;
            c.stride_w = L.sw;
            c.pad_top = L.pt;
            c.pad_left = L.pl;
            c.pad_bottom = L.pb;
            c.pad_right = L.pr;
            c.gemm = p.gemm;
            c.in_zero_point = L.in_zp;
            memset(y, 0, out_bytes);
            assert_int_equal(mq_conv1x1_single_rounding(&c, L.x, y), MQ_OK);
            compare(&L, y, yd, "conv1x1", &checked1, &diff);
            assert_int_equal(mq_conv1x1_single_rounding(&c, L.x, L.x), MQ_ERR_BUFFER);
            assert_int_equal(mq_conv1x1_single_rounding(&c, NULL, y), MQ_ERR_NULL);
            c.stride_h = 3;
            assert_int_not_equal(mq_conv1x1_single_rounding(&c, L.x, y), MQ_OK);
        }
        /* rejects: overlap, NULL, bad params */
        assert_int_equal(mq_conv_single_rounding(&p, L.x, L.x), MQ_ERR_BUFFER);
        assert_int_equal(mq_conv_single_rounding(&p, NULL, y), MQ_ERR_NULL);
        assert_int_equal(mq_conv_single_rounding(NULL, L.x, y), MQ_ERR_NULL);
        p.gemm.act_min = p.gemm.act_max + 1;
        assert_int_not_equal(mq_conv_single_rounding(&p, L.x, y), MQ_OK);
        free(packed);
        free(folded);
        free(y);
        free(yd);
        free(scratch);
        sr_free(&L);
    }
    print_message("single-rounding conv: %ld outputs (conv1x1 entry: %ld) equal to the reference; %ld differ from "
                  "double rounding\n", checked, checked1, diff);
    assert_true(checked > 20000);
    assert_true(checked1 > 2000);
    assert_true(diff > 0);
}

static void test_depthwise_single_rounding(void **state)
{
    ref_rng r = {0xD5123u};
    long checked = 0, diff = 0;
    int trial;
    (void)state;
    for (trial = 0; trial < 400; ++trial) {
        sr_layer L;
        mq_depthwise_params p;
        void *wpacked;
        int32_t *bias;
        uint8_t *y, *yd, *scratch;
        size_t out_bytes, need, wbytes;
        const mq_dtype in_dtype = MQ_DTYPE_INT8;
        if (!sr_init(&L, &r, 1, 0)) {
            sr_free(&L);
            continue;
        }
        memset(&p, 0, sizeof p);
        fill_window(&L, &p.win);
        p.in_c = L.in_c;
        p.depth_multiplier = L.mult;
        p.in_dtype = L.in_u8 ? MQ_DTYPE_UINT8 : in_dtype;
        p.out_dtype = L.out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        p.in_zero_point = L.in_zp;
        p.out_zero_point = L.out_zp;
        p.multiplier = L.qm;
        p.shift = L.qs;
        p.per_channel = L.per_channel;
        p.act_min = L.act_min;
        p.act_max = L.act_max;
        p.lut = L.use_lut;
        wbytes = (size_t)2 * (size_t)L.kh * (size_t)L.kw * (size_t)L.out_c;
        wpacked = malloc(wbytes);
        bias = malloc(sizeof(int32_t) * (size_t)L.out_c);
        assert_non_null(wpacked);
        assert_non_null(bias);
        assert_int_equal(mq_depthwise_pack_weights(L.w, L.kh, L.kw, L.out_c, wpacked, wbytes), MQ_OK);
        assert_int_equal(mq_depthwise_prepare_bias(L.w, L.bias, L.kh, L.kw, L.out_c, L.in_zp, p.in_dtype, bias), MQ_OK);
        p.weights.data = wpacked;
        p.bias.folded = bias;
        out_bytes = (size_t)L.batch * (size_t)L.out_h * (size_t)L.out_w * (size_t)L.out_c;
        y = malloc(out_bytes + 1);
        yd = malloc(out_bytes);
        need = mq_depthwise_scratch_size(&p);
        scratch = malloc(need + 4);
        assert_non_null(y);
        assert_non_null(yd);
        assert_non_null(scratch);
        y[out_bytes] = 0xA5;
        assert_int_equal(mq_depthwise_conv_single_rounding(&p, L.x, y), MQ_OK);
        assert_int_equal(y[out_bytes], 0xA5);
        assert_int_equal(mq_depthwise_conv(&p, L.x, yd, need > 0 ? scratch : NULL, need), MQ_OK);
        compare(&L, y, yd, "depthwise", &checked, &diff);
        assert_int_equal(mq_depthwise_conv_single_rounding(&p, L.x, L.x), MQ_ERR_BUFFER);
        assert_int_equal(mq_depthwise_conv_single_rounding(&p, L.x, NULL), MQ_ERR_NULL);
        assert_int_equal(mq_depthwise_conv_single_rounding(NULL, L.x, y), MQ_ERR_NULL);
        p.depth_multiplier = 0;
        assert_int_not_equal(mq_depthwise_conv_single_rounding(&p, L.x, y), MQ_OK);
        free(wpacked);
        free(bias);
        free(y);
        free(yd);
        free(scratch);
        sr_free(&L);
    }
    print_message("single-rounding depthwise: %ld outputs equal to the reference; %ld differ from double rounding\n",
                  checked, diff);
    assert_true(checked > 20000);
    assert_true(diff > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_single_rounding),
        cmocka_unit_test(test_depthwise_single_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
