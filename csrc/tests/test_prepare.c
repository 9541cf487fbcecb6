/*
 * One-call layer preparation (mq_fc_prepare, mq_conv_prepare, mq_depthwise_prepare; issue 13): the prepared
 * layers run through their operators and match the int64 reference of ref_conv.h on the RAW weights and RAW bias
 * with multipliers M = (double)s_in * (double)s_w[c] / (double)s_out (per channel and per tensor, INT8 / UINT8);
 * the sizes are exact (one byte less is MQ_ERR_BUFFER), a misaligned buffer is MQ_ERR_ALIGN, bad scales, zero
 * points, clamps and dtypes are rejected; mq_gemm_kernel_name names a known kernel.
 */
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
#include "ref_conv.h"

typedef struct {
    int8_t w[8 * 3 * 3 * 5];
    int32_t bias[8];
    float ws[8];
    int32_t qm[8], qs[8];
    uint8_t x[2 * 7 * 6 * 5];
    uint8_t y[2 * 7 * 6 * 8];
    uint8_t ref[2 * 7 * 6 * 8];
    uint32_t buf[1024];        /* 4-byte aligned prepare buffer */
    uint8_t scratch[4096];
} prep_data;

static void fill(prep_data *d, ref_rng *r, mq_layer_quant *q, int per_channel, int u8, int32_t out_c, int32_t taps)
{
    size_t i;
    for (i = 0; i < sizeof d->w; ++i) {
        d->w[i] = (int8_t)ref_range(r, -127, 127);
    }
    for (i = 0; i < sizeof d->x; ++i) {
        d->x[i] = (uint8_t)ref_range(r, 0, 255);
    }
    for (i = 0; i < 8; ++i) {
        d->bias[i] = (int32_t)ref_range(r, -5000, 5000);
        d->ws[i] = (float)(0.002 + 0.01 * ref_unit(r));
    }
    memset(q, 0, sizeof *q);
    q->in_scale = 0.05f;
    q->out_scale = (float)(0.02 * sqrt((double)taps));
    q->weight_scales = d->ws;
    q->weight_per_channel = per_channel;
    q->in_dtype = u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    q->out_dtype = u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    q->in_zero_point = u8 ? 131 : -7;
    q->out_zero_point = u8 ? 120 : 5;
    q->act_min = u8 ? 100 : -100;
    q->act_max = u8 ? 250 : 120;
    for (i = 0; i < (size_t)(per_channel ? out_c : 1); ++i) {
        assert_int_equal(mq_quantize_multiplier((double)q->in_scale * (double)d->ws[i] / (double)q->out_scale, &d->qm[i],
                                                &d->qs[i]),
                         MQ_OK);
    }
}

static void ref_from(ref_layer *L, const prep_data *d, const mq_layer_quant *q)
{
    L->in_u8 = q->in_dtype == MQ_DTYPE_UINT8;
    L->out_u8 = q->out_dtype == MQ_DTYPE_UINT8;
    L->in_zp = q->in_zero_point;
    L->out_zp = q->out_zero_point;
    L->act_min = q->act_min;
    L->act_max = q->act_max;
    L->per_channel = q->weight_per_channel;
    L->w = d->w;
    L->bias = d->bias;
    L->qm = d->qm;
    L->qs = d->qs;
    L->lut = NULL;
}

static void compare(const prep_data *d, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        if (d->y[i] != d->ref[i]) {
            fail_msg("byte %zu: %u != %u", i, d->y[i], d->ref[i]);
        }
    }
}

static mq_window window(int32_t kh, int32_t kw)
{
    mq_window w;
    memset(&w, 0, sizeof w);
    w.batch = 2;
    w.in_h = 7;
    w.in_w = 6;
    w.kernel_h = kh;
    w.kernel_w = kw;
    w.stride_h = w.stride_w = 1;
    w.dilation_h = w.dilation_w = 1;
    w.pad_top = w.pad_bottom = kh / 2;
    w.pad_left = w.pad_right = kw / 2;
    w.out_h = 7;
    w.out_w = 6;
    return w;
}

static void test_prepare_layers(void **state)
{
    static prep_data d;
    ref_rng r = {0x9E9u};
    int pc, u8;
    (void)state;
    for (pc = 0; pc < 2; ++pc) {
        for (u8 = 0; u8 < 2; ++u8) {
            mq_layer_quant q;
            ref_layer L;
            mq_fc_params fp;
            mq_conv_params cp;
            mq_depthwise_params dp;
            const mq_window win = window(3, 3);
            size_t need;
            /* fully connected 45 -> 8, batch 2 (reference: a 1x1 "conv" over 1x1 images) */
            fill(&d, &r, &q, pc, u8, 8, 45);
            need = mq_fc_prepare_size(8, 45, pc);
            assert_true(need > 0 && need <= sizeof d.buf);
            assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &q, d.buf, need - 1, &fp), MQ_ERR_BUFFER);
            assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &q, (uint8_t *)d.buf + 2, need, &fp), MQ_ERR_ALIGN);
            assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &q, d.buf, need, &fp), MQ_OK);
            assert_int_equal(mq_fully_connected(&fp, 2, d.x, d.y), MQ_OK);
            memset(&L, 0, sizeof L);
            ref_from(&L, &d, &q);
            L.batch = 2;
            L.in_h = L.in_w = L.out_h = L.out_w = 1;
            L.kh = L.kw = L.sh = L.sw = L.dh = L.dw = 1;
            L.in_c = 45;
            L.out_c = 8;
            ref_layer_run(&L, d.x, d.ref);
            compare(&d, 16);
            /* conv 3x3, 5 -> 8 */
            fill(&d, &r, &q, pc, u8, 8, 45);
            need = mq_conv_prepare_size(&win, 5, 8, pc);
            assert_true(need > 0 && need <= sizeof d.buf);
            assert_int_equal(mq_conv_prepare(d.w, d.bias, &win, 5, 8, &q, d.buf, need - 1, &cp), MQ_ERR_BUFFER);
            assert_int_equal(mq_conv_prepare(d.w, d.bias, &win, 5, 8, &q, d.buf, need, &cp), MQ_OK);
            assert_int_equal(mq_conv(&cp, d.x, d.y, d.scratch, mq_conv_scratch_size(&cp)), MQ_OK);
            memset(&L, 0, sizeof L);
            ref_from(&L, &d, &q);
            L.batch = 2;
            L.in_h = L.out_h = 7;
            L.in_w = L.out_w = 6;
            L.in_c = 5;
            L.out_c = 8;
            L.kh = L.kw = 3;
            L.sh = L.sw = L.dh = L.dw = 1;
            L.pt = L.pb = L.pl = L.pr = 1;
            ref_layer_run(&L, d.x, d.ref);
            compare(&d, 2 * 7 * 6 * 8);
            /* depthwise 3x3, 4 channels x multiplier 2 */
            fill(&d, &r, &q, pc, u8, 8, 9);
            need = mq_depthwise_prepare_size(&win, 4, 2, pc);
            assert_true(need > 0 && need <= sizeof d.buf);
            assert_int_equal(mq_depthwise_prepare(d.w, d.bias, &win, 4, 2, &q, d.buf, need - 1, &dp), MQ_ERR_BUFFER);
            assert_int_equal(mq_depthwise_prepare(d.w, d.bias, &win, 4, 2, &q, d.buf, need, &dp), MQ_OK);
            assert_int_equal(mq_depthwise_conv(&dp, d.x, d.y, d.scratch, mq_depthwise_scratch_size(&dp)), MQ_OK);
            memset(&L, 0, sizeof L);
            ref_from(&L, &d, &q);
            L.batch = 2;
            L.in_h = L.out_h = 7;
            L.in_w = L.out_w = 6;
            L.in_c = 4;
            L.mult = 2;
            L.out_c = 8;
            L.kh = L.kw = 3;
            L.sh = L.sw = L.dh = L.dw = 1;
            L.pt = L.pb = L.pl = L.pr = 1;
            ref_layer_run(&L, d.x, d.ref);
            compare(&d, 2 * 7 * 6 * 8);
        }
    }
}

static void test_prepare_rejects(void **state)
{
    static prep_data d;
    ref_rng r = {0xBADu};
    mq_layer_quant q;
    mq_layer_quant b;
    mq_fc_params fp;
    mq_depthwise_params dp;
    const mq_window win = window(3, 3);
    mq_window bad_win = win;
    const int32_t huge_bias[8] = {INT32_MAX, 0, 0, 0, 0, 0, 0, 0};
    (void)state;
    fill(&d, &r, &q, 1, 0, 8, 45);
#define FC_BAD(FIELD, VALUE, STATUS)                                                              \
    do {                                                                                          \
        b = q;                                                                                    \
        b.FIELD = VALUE;                                                                          \
        assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &b, d.buf, sizeof d.buf, &fp), STATUS); \
    } while (0)
    FC_BAD(in_scale, NAN, MQ_ERR_QPARAMS);
    FC_BAD(in_scale, 0.0f, MQ_ERR_QPARAMS);
    FC_BAD(out_scale, INFINITY, MQ_ERR_QPARAMS);
    FC_BAD(out_scale, -1.0f, MQ_ERR_QPARAMS);
    FC_BAD(in_zero_point, 128, MQ_ERR_QPARAMS);
    FC_BAD(out_zero_point, -129, MQ_ERR_QPARAMS);
    FC_BAD(act_min, 121, MQ_ERR_QPARAMS);
    FC_BAD(act_max, 200, MQ_ERR_QPARAMS);
    FC_BAD(in_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    FC_BAD(weight_scales, NULL, MQ_ERR_NULL);
    FC_BAD(weight_per_channel, 2, MQ_ERR_QPARAMS);
#undef FC_BAD
    d.ws[3] = NAN;
    assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &q, d.buf, sizeof d.buf, &fp), MQ_ERR_QPARAMS);
    d.ws[3] = -0.5f;
    assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &q, d.buf, sizeof d.buf, &fp), MQ_ERR_QPARAMS);
    d.ws[3] = 0.0f; /* an all-zero channel: multiplier 0, allowed */
    assert_int_equal(mq_fc_prepare(d.w, d.bias, 8, 45, &q, d.buf, sizeof d.buf, &fp), MQ_OK);
    /* folding that does not fit int32: INT32_MAX + 7 * 4500 */
    memset(d.w, 100, 45);
    assert_int_equal(mq_fc_prepare(d.w, huge_bias, 8, 45, &q, d.buf, sizeof d.buf, &fp), MQ_ERR_QPARAMS);
    assert_int_equal(mq_fc_prepare(NULL, d.bias, 8, 45, &q, d.buf, sizeof d.buf, &fp), MQ_ERR_NULL);
    assert_int_equal(mq_fc_prepare(d.w, d.bias, 0, 45, &q, d.buf, sizeof d.buf, &fp), MQ_ERR_SHAPE);
    assert_int_equal(mq_fc_prepare_size(8, 0, 1), 0u);
    bad_win.out_h = 6;
    assert_int_equal(mq_depthwise_prepare_size(&bad_win, 4, 2, 1), 0u);
    assert_int_equal(mq_depthwise_prepare(d.w, d.bias, &bad_win, 4, 2, &q, d.buf, sizeof d.buf, &dp), MQ_ERR_SHAPE);
    assert_int_equal(mq_conv_prepare_size(&bad_win, 5, 8, 1), 0u);
    assert_int_equal(mq_depthwise_prepare(d.w, d.bias, &win, 4, 0, &q, d.buf, sizeof d.buf, &dp), MQ_ERR_SHAPE);
}

static void test_gemm_kernel_name(void **state)
{
    static const char *const known[] = {"c", "v7m", "dsp", "mve", "sse2", "avx2", "avx512vnni"};
    const char *name = mq_gemm_kernel_name();
    size_t i;
    int found = 0;
    (void)state;
    assert_non_null(name);
    for (i = 0; i < sizeof known / sizeof known[0]; ++i) {
        found |= strcmp(name, known[i]) == 0;
    }
    assert_true(found);
    printf("  GEMM kernel: %s\n", name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_layers),
        cmocka_unit_test(test_prepare_rejects),
        cmocka_unit_test(test_gemm_kernel_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
