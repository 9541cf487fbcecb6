/*
 * 16x8 kernels against TFLite itself: fixtures recorded from TFLite's reference kernels (ai-edge-litert,
 * BUILTIN_REF) on tiny Keras models converted in 16x8 mode (scripts/make_s16_fixtures.py,
 * csrc/tests/fixtures/s16/<op>.bin). Every multiplier, shift and table is derived here from the float32 scales of the
 * .tflite file with our host prepare (mq_host_s16.h); the outputs must match TFLite's byte for byte.
 * LOGISTIC and TANH cover all 65,536 int16 inputs for seven input scales each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host_s16.h"
#include "microquant/mq_kernels_s16.h"

#include "fx_s16.h"

static long compare(const char *op, int idx, const int16_t *got, const fx_array *want)
{
    long bad = 0;
    size_t i;
    for (i = 0; i < want->count; ++i) {
        int16_t w;
        memcpy(&w, want->data + 2 * i, 2);
        if (got[i] != w) {
            if (bad < 5) {
                printf("  %s case %d: element %zu: got %d, TFLite %d\n", op, idx, i, got[i], w);
            }
            ++bad;
        }
    }
    return bad;
}

static void report(const char *op, int cases, long elems, long bad)
{
    printf("%-10s %d cases, %ld outputs compared with TFLite's reference kernel, %ld differ\n", op, cases, elems, bad);
    assert_true(cases > 0);
    assert_int_equal(bad, 0);
}

/* Per-channel or per-tensor multipliers from the fixture's float32 scales, through the library's host prepare. */
static void multipliers(double s_in, const fx_array *s_w, double s_out, int32_t *m, int32_t *s, mq_exact_scale *ex)
{
    double ws[4096];
    size_t c;
    assert_true(s_w->count <= 4096);
    for (c = 0; c < s_w->count; ++c) {
        ws[c] = f64_at(s_w, c);
    }
    assert_int_equal(mq_s16_output_multipliers(s_in, ws, (int32_t)s_w->count, s_out, m, s, ex), MQ_OK);
}

static void window_from(const fx_array *g, mq_window *w, int32_t *in_c)
{
    assert_int_equal(g->count, 16);
    w->batch = i32_at(g, 0);
    w->in_h = i32_at(g, 1);
    w->in_w = i32_at(g, 2);
    w->out_h = i32_at(g, 3);
    w->out_w = i32_at(g, 4);
    w->kernel_h = i32_at(g, 5);
    w->kernel_w = i32_at(g, 6);
    w->stride_h = i32_at(g, 7);
    w->stride_w = i32_at(g, 8);
    w->dilation_h = i32_at(g, 9);
    w->dilation_w = i32_at(g, 10);
    w->pad_top = i32_at(g, 11);
    w->pad_bottom = i32_at(g, 12);
    w->pad_left = i32_at(g, 13);
    w->pad_right = i32_at(g, 14);
    *in_c = i32_at(g, 15);
}

static void test_fc(void **state)
{
    size_t len, pos = 0;
    uint8_t *buf = load("fc", &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0, off_by_one = 0;
    (void)state;
    while (next_case(buf, len, &pos, &c)) {
        const fx_array *x = get(&c, "x", 2), *w = get(&c, "w", 1), *b = get(&c, "b", 4), *y = get(&c, "y", 2);
        const fx_array *sw = get(&c, "s_w", 5), *act = get(&c, "act", 3);
        int32_t m[4096], s[4096];
        mq_exact_scale ex[4096];
        mq_fc_s16_params p;
        int16_t *xin = copy_array(x), *out = calloc(y->count, 2);
        assert_int_equal(c.op, 1);
        memset(&p, 0, sizeof p);
        p.n = (int32_t)w->dims[0];
        p.k = (int32_t)w->dims[1];
        p.weights = copy_array(w);
        p.bias = copy_array(b);
        multipliers(f64_at(get(&c, "s_in", 5), 0), sw, f64_at(get(&c, "s_out", 5), 0), m, s, ex);
        p.multiplier = m;
        p.shift = s;
        p.per_channel = sw->count > 1;
        p.act_min = i32_at(act, 0);
        p.act_max = i32_at(act, 1);
        /* LiteRT's reference FULLY_CONNECTED (int16) rounds (double)acc * (s_in * s_w / s_out) half away from
         * zero: the exact-scale output stage. */
        p.exact_scale = ex;
        assert_int_equal(mq_fully_connected_s16(&p, (int32_t)(x->count / (size_t)p.k), xin, out), MQ_OK);
        bad += compare("fc", n_cases, out, y);
        /* The Q31 / int64 output stage (TFLite Micro, CMSIS-NN) differs from it by at most one code. */
        {
            int16_t *out64 = calloc(y->count, 2);
            size_t i;
            p.exact_scale = NULL;
            assert_int_equal(mq_fully_connected_s16(&p, (int32_t)(x->count / (size_t)p.k), xin, out64), MQ_OK);
            for (i = 0; i < y->count; ++i) {
                assert_true(abs(out64[i] - out[i]) <= 1);
                off_by_one += out64[i] != out[i];
            }
            free(out64);
        }
        elems += (long)y->count;
        free((void *)p.weights);
        free((void *)p.bias);
        free(xin);
        free(out);
        ++n_cases;
    }
    free(buf);
    printf("fc: the int64 Q31 output stage (mq_requantize64) differs from LiteRT's double one in %ld of %ld outputs (by 1)\n",
           off_by_one, elems);
    report("fc", n_cases, elems, bad);
}

static void conv_like(const char *name, int depthwise)
{
    size_t len, pos = 0;
    uint8_t *buf = load(name, &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0;
    while (next_case(buf, len, &pos, &c)) {
        const fx_array *x = get(&c, "x", 2), *w = get(&c, "w", 1), *b = get(&c, "b", 4), *y = get(&c, "y", 2);
        const fx_array *sw = get(&c, "s_w", 5), *act = get(&c, "act", 3);
        int32_t m[4096], s[4096];
        int16_t *xin = copy_array(x), *out = calloc(y->count, 2);
        int8_t *wt = copy_array(w);
        int64_t *bias = copy_array(b);
        mq_window win;
        int32_t in_c;
        window_from(get(&c, "geo", 3), &win, &in_c);
        multipliers(f64_at(get(&c, "s_in", 5), 0), sw, f64_at(get(&c, "s_out", 5), 0), m, s, NULL);
        if (!depthwise) {
            mq_conv_s16_params p;
            memset(&p, 0, sizeof p);
            p.win = win;
            p.in_c = in_c;
            p.gemm.n = (int32_t)w->dims[0];
            p.gemm.k = (int32_t)(w->count / w->dims[0]);
            p.gemm.weights = wt;
            p.gemm.bias = bias;
            p.gemm.multiplier = m;
            p.gemm.shift = s;
            p.gemm.per_channel = sw->count > 1;
            p.gemm.act_min = i32_at(act, 0);
            p.gemm.act_max = i32_at(act, 1);
            assert_int_equal(mq_conv_s16(&p, xin, out), MQ_OK);
        } else {
            mq_depthwise_s16_params p;
            memset(&p, 0, sizeof p);
            p.win = win;
            p.in_c = in_c;
            p.depth_multiplier = (int32_t)w->dims[3] / in_c;
            p.weights = wt;
            p.bias = bias;
            p.multiplier = m;
            p.shift = s;
            p.per_channel = sw->count > 1;
            p.act_min = i32_at(act, 0);
            p.act_max = i32_at(act, 1);
            assert_int_equal(mq_depthwise_conv_s16(&p, xin, out), MQ_OK);
        }
        bad += compare(name, n_cases, out, y);
        elems += (long)y->count;
        free(wt);
        free(bias);
        free(xin);
        free(out);
        ++n_cases;
    }
    free(buf);
    report(name, n_cases, elems, bad);
}

static void test_conv(void **state)
{
    (void)state;
    conv_like("conv", 0);
}

static void test_depthwise(void **state)
{
    (void)state;
    conv_like("depthwise", 1);
}

static void binary(const char *name, int is_mul)
{
    size_t len, pos = 0;
    uint8_t *buf = load(name, &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0;
    while (next_case(buf, len, &pos, &c)) {
        const fx_array *x1 = get(&c, "x1", 2), *x2 = get(&c, "x2", 2), *y = get(&c, "y", 2), *act = get(&c, "act", 3);
        const double s1 = f64_at(get(&c, "s1", 5), 0), s2 = f64_at(get(&c, "s2", 5), 0);
        const double so = f64_at(get(&c, "s_out", 5), 0);
        int16_t *a = copy_array(x1), *b = copy_array(x2), *out = calloc(y->count, 2);
        if (is_mul) {
            mq_mul_s16_params p;
            memset(&p, 0, sizeof p);
            assert_int_equal(mq_quantize_multiplier(s1 * s2 / so, &p.out_multiplier, &p.out_shift), MQ_OK);
            p.act_min = i32_at(act, 0);
            p.act_max = i32_at(act, 1);
            p.broadcast = MQ_BCAST_NONE;
            assert_int_equal(mq_mul_s16(&p, a, b, out, y->count), MQ_OK);
        } else {
            mq_add_s16_params p;
            assert_int_equal(mq_add_s16_prepare(s1, s2, so, i32_at(act, 0), i32_at(act, 1), &p), MQ_OK);
            assert_int_equal(mq_add_s16(&p, a, b, out, y->count), MQ_OK);
        }
        bad += compare(name, n_cases, out, y);
        elems += (long)y->count;
        free(a);
        free(b);
        free(out);
        ++n_cases;
    }
    free(buf);
    report(name, n_cases, elems, bad);
}

static void test_add(void **state)
{
    (void)state;
    binary("add", 0);
}

static void test_mul(void **state)
{
    (void)state;
    binary("mul", 1);
}

static void pool(const char *name, int is_max)
{
    size_t len, pos = 0;
    uint8_t *buf = load(name, &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0;
    while (next_case(buf, len, &pos, &c)) {
        const fx_array *x = get(&c, "x", 2), *y = get(&c, "y", 2);
        int16_t *xin = copy_array(x), *out = calloc(y->count, 2);
        mq_pool_s16_params p;
        /* TFLite requires the same scale in and out for int16 pooling. */
        assert_true(f64_at(get(&c, "s_in", 5), 0) == f64_at(get(&c, "s_out", 5), 0));
        window_from(get(&c, "geo", 3), &p.win, &p.channels);
        p.act_min = -32768;
        p.act_max = 32767;
        assert_int_equal(is_max ? mq_max_pool_s16(&p, xin, out) : mq_avg_pool_s16(&p, xin, out), MQ_OK);
        bad += compare(name, n_cases, out, y);
        elems += (long)y->count;
        free(xin);
        free(out);
        ++n_cases;
    }
    free(buf);
    report(name, n_cases, elems, bad);
}

static void test_avgpool(void **state)
{
    (void)state;
    pool("avgpool", 0);
}

static void test_maxpool(void **state)
{
    (void)state;
    pool("maxpool", 1);
}

static void test_softmax(void **state)
{
    size_t len, pos = 0;
    uint8_t *buf = load("softmax", &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0;
    (void)state;
    while (next_case(buf, len, &pos, &c)) {
        const fx_array *x = get(&c, "x", 2), *y = get(&c, "y", 2);
        int16_t exp_lut[MQ_LUT16_SIZE], recip_lut[MQ_LUT16_SIZE];
        int16_t *xin = copy_array(x), *out = calloc(y->count, 2);
        mq_softmax_s16_params p;
        assert_int_equal(mq_softmax_s16_prepare(f64_at(get(&c, "s_in", 5), 0), f64_at(get(&c, "beta", 5), 0), exp_lut,
                                                recip_lut, &p.input_multiplier, &p.input_shift),
                         MQ_OK);
        assert_true(f64_at(get(&c, "s_out", 5), 0) == 1.0 / 32768.0);
        p.depth = (int32_t)x->dims[x->ndim - 1];
        p.outer = (int32_t)(x->count / (size_t)p.depth);
        p.exp_lut = exp_lut;
        p.recip_lut = recip_lut;
        assert_int_equal(mq_softmax_s16(&p, xin, out), MQ_OK);
        bad += compare("softmax", n_cases, out, y);
        elems += (long)y->count;
        /* in place gives the same bytes */
        assert_int_equal(mq_softmax_s16(&p, xin, xin), MQ_OK);
        assert_memory_equal(xin, out, y->count * 2);
        free(xin);
        free(out);
        ++n_cases;
    }
    free(buf);
    report("softmax", n_cases, elems, bad);
}

static void act(const char *name, int is_tanh)
{
    size_t len, pos = 0;
    uint8_t *buf = load(name, &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0;
    while (next_case(buf, len, &pos, &c)) {
        const fx_array *y = get(&c, "y", 2);
        int16_t *xin = malloc(65536 * 2), *out = calloc(y->count, 2);
        mq_sigmoid_s16_params p;
        const double s_in = f64_at(get(&c, "s_in", 5), 0);
        int32_t i;
        assert_int_equal(y->count, 65536);
        for (i = 0; i < 65536; ++i) {
            xin[i] = (int16_t)(i - 32768); /* every input code, as recorded */
        }
        assert_true(f64_at(get(&c, "s_out", 5), 0) == 1.0 / 32768.0);
        assert_int_equal(is_tanh ? mq_tanh_s16_prepare(s_in, &p) : mq_sigmoid_s16_prepare(s_in, &p), MQ_OK);
        assert_int_equal(is_tanh ? mq_tanh_s16(&p, xin, out, 65536) : mq_sigmoid_s16(&p, xin, out, 65536), MQ_OK);
        printf("  %s s_in %.6g: input_multiplier %d, input_left_shift %d\n", name, s_in, p.input_multiplier,
               p.input_left_shift);
        bad += compare(name, n_cases, out, y);
        elems += (long)y->count;
        free(xin);
        free(out);
        ++n_cases;
    }
    free(buf);
    report(name, n_cases, elems, bad);
}

static void test_logistic(void **state)
{
    (void)state;
    act("logistic", 0);
}

static void test_tanh(void **state)
{
    (void)state;
    act("tanh", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fc),      cmocka_unit_test(test_conv),    cmocka_unit_test(test_depthwise),
        cmocka_unit_test(test_add),     cmocka_unit_test(test_mul),     cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_maxpool), cmocka_unit_test(test_softmax), cmocka_unit_test(test_logistic),
        cmocka_unit_test(test_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
