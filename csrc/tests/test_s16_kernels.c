/*
 * 16x8 kernels against references written here: int64 nested loops over explicitly padded tensors, TFLite's
 * int64 requantization re-derived with floor division (ref_rq64), the double expression of LiteRT's reference
 * FULLY_CONNECTED (round((double)acc * eff)) evaluated by the host FPU, ref_quant.h's int64 double-rounding
 * requantization for add / mul / requantize, float64 for pooling, softmax, sigmoid and tanh; plus every
 * argument check. (Bit-exactness with TFLite itself: test_s16_tflite.)
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

#include "microquant/mq_host_s16.h"
#include "microquant/mq_kernels_s16.h"
#include "int16/mq_s16_internal.h"
#include "ref_quant.h"

/* TFLite MultiplyByQuantizedMultiplier(int64): floor((acc * m16 + 2^(t-1)) / 2^t), m16 = round-up-half of m / 2^16
 * (0x7FFF at the top), t = 15 - shift; acc inside [-2^47, 2^47). */
static int32_t ref_rq64(int64_t acc, int32_t m, int32_t shift)
{
    const int64_t m16 = m >= 0x7FFF0000 ? 0x7FFF : ref_floor_div_pow2((int64_t)m + 32768, 16);
    const int t = 15 - shift;
    return ref_wrap32(ref_floor_div_pow2(acc * m16 + ((int64_t)1 << (t - 1)), t));
}

static int16_t ref_clamp16(int64_t v, int32_t lo, int32_t hi)
{
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

static int16_t rnd16(ref_rng *r, int32_t span)
{
    return (int16_t)ref_range(r, -span, span - 1 < 32767 ? span - 1 : 32767);
}

static void test_requantize64(void **state)
{
    ref_rng r = {7};
    long i;
    int32_t s;
    (void)state;
    for (i = 0; i < 2000000; ++i) {
        const int32_t m = i % 97 == 0 ? (int32_t)ref_range(&r, 0x7FFF0000, INT32_MAX) : ref_multiplier(&r);
        const int32_t sh = (int32_t)ref_range(&r, MQ_SHIFT64_MIN, MQ_SHIFT64_MAX);
        const int bits = (int)ref_range(&r, 0, 47);
        int64_t acc = (int64_t)ref_range(&r, -((int64_t)1 << bits), ((int64_t)1 << bits) - 1);
        assert_int_equal(mq_requantize64(acc, m, sh), ref_rq64(acc, m, sh));
        /* the kernels' 32-bit fast path (internal) gives the same */
        assert_int_equal(mq_requantize64_fast(acc, m, sh), ref_rq64(acc, m, sh));
    }
    /* int32 edges of the fast path, every shift, several multipliers */
    {
        static const int64_t edges[] = {INT32_MIN, (int64_t)INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX,
                                        (int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1};
        static const int32_t mults[] = {0, 1 << 30, (1 << 30) + 32767, 0x7FFEFFFF, 0x7FFF0000, INT32_MAX};
        size_t e, mi;
        for (s = MQ_SHIFT64_MIN; s <= MQ_SHIFT64_MAX; ++s) {
            for (e = 0; e < sizeof edges / sizeof edges[0]; ++e) {
                for (mi = 0; mi < sizeof mults / sizeof mults[0]; ++mi) {
                    assert_int_equal(mq_requantize64_fast(edges[e], mults[mi], s), ref_rq64(edges[e], mults[mi], s));
                    assert_int_equal(mq_requantize64(edges[e], mults[mi], s), ref_rq64(edges[e], mults[mi], s));
                }
            }
        }
    }
    /* ties of the final rounding at every shift go toward +infinity */
    for (s = MQ_SHIFT64_MIN; s <= MQ_SHIFT64_MAX; ++s) {
        const int t = 15 - s;
        const int32_t m = 1 << 30; /* m16 = 2^14 */
        if (t - 15 >= 0) {
            const int64_t tie = (int64_t)1 << (t - 15); /* acc * 2^14 = 2^(t-1): exactly one half */
            assert_int_equal(mq_requantize64(tie, m, s), 1);
            assert_int_equal(mq_requantize64(-tie, m, s), 0);
        }
    }
    /* out of contract: clamped accumulator, wrapped result, never UB */
    assert_int_equal(mq_requantize64(INT64_MAX, INT32_MAX, 7), ref_rq64(((int64_t)1 << 47) - 1, INT32_MAX, 7));
    assert_int_equal(mq_requantize64(INT64_MIN, INT32_MAX, 7), ref_rq64(-((int64_t)1 << 47), INT32_MAX, 7));
    assert_int_equal(mq_requantize64(12345, 0, 0), 0);
}

static int32_t ref_exact(int64_t acc, double eff)
{
    const double v = round((double)acc * eff);
    return v >= 2147483647.0 ? INT32_MAX : (v <= -2147483648.0 ? INT32_MIN : (int32_t)v);
}

static void test_requantize_exact(void **state)
{
    ref_rng r = {8};
    long i;
    long ties = 0;
    (void)state;
    for (i = 0; i < 3000000; ++i) {
        double eff;
        int64_t acc;
        mq_exact_scale e;
        if (i % 4 == 0) {
            /* dyadic scales: many exact half-integer products (ties away from zero) */
            eff = ldexp((double)ref_range(&r, 1, 4095), -(int)ref_range(&r, 1, 40));
        } else {
            eff = ldexp(0.5 + ref_unit(&r) * 0.5, -(int)ref_range(&r, -8, 40));
        }
        acc = (int64_t)ref_range(&r, -((int64_t)1 << ref_range(&r, 0, 47)), (int64_t)1 << ref_range(&r, 0, 47));
        assert_int_equal(mq_exact_scale_from_double(eff, &e), MQ_OK);
        if (fabs((double)acc * eff - trunc((double)acc * eff)) == 0.5) {
            ++ties;
        }
        assert_int_equal(mq_requantize_exact(acc, &e), ref_exact(acc, eff));
    }
    /* products that need the 53-bit rounding of the double multiplication: |acc| ~ 2^47, odd 53-bit mantissas */
    for (i = 0; i < 2000000; ++i) {
        const int64_t acc = (int64_t)ref_range(&r, ((int64_t)1 << 46), ((int64_t)1 << 47) - 1) * (i & 1 ? -1 : 1);
        const double eff = ldexp((double)(ref_range(&r, (int64_t)1 << 52, ((int64_t)1 << 53) - 1) | 1), -53 - 20 -
                                                                                                      (int)ref_range(&r, 0, 12));
        mq_exact_scale e;
        assert_int_equal(mq_exact_scale_from_double(eff, &e), MQ_OK);
        assert_int_equal(mq_requantize_exact(acc, &e), ref_exact(acc, eff));
    }
    printf("exact requantization: %ld exact ties among the random products\n", ties);
    assert_true(ties > 1000);
    {
        mq_exact_scale e;
        assert_int_equal(mq_exact_scale_from_double(0.0, &e), MQ_OK);
        assert_int_equal(mq_requantize_exact(123456789, &e), 0);
        assert_int_equal(mq_exact_scale_from_double(-1.0, &e), MQ_ERR_QPARAMS);
        assert_int_equal(mq_exact_scale_from_double(NAN, &e), MQ_ERR_QPARAMS);
        assert_int_equal(mq_exact_scale_from_double(1e300, &e), MQ_OK);
        assert_int_equal(mq_requantize_exact(5, &e), INT32_MAX);
        assert_int_equal(mq_requantize_exact(-5, &e), INT32_MIN);
        assert_int_equal(mq_requantize_exact(INT64_MIN, &e), INT32_MIN);
    }
}

/* ---- FC / conv / depthwise against direct int64 loops ---- */

typedef struct {
    int32_t m[64], s[64];
    mq_exact_scale ex[64];
    double eff[64];
} rq_set;

static void random_rq(ref_rng *r, rq_set *q, int32_t count, int k_mag)
{
    int32_t c;
    for (c = 0; c < count; ++c) {
        /* output scale so that outputs span roughly the int16 range, sometimes saturating */
        const double eff = ldexp(0.5 + ref_unit(r), -(int)ref_range(r, k_mag + 4, k_mag + 10));
        assert_int_equal(mq_quantize_multiplier(eff, &q->m[c], &q->s[c]), MQ_OK);
        assert_int_equal(mq_exact_scale_from_double(eff, &q->ex[c]), MQ_OK);
        q->eff[c] = eff;
    }
}

static int16_t ref_out(int64_t acc, const rq_set *q, int32_t c, int exact, int32_t lo, int32_t hi)
{
    return ref_clamp16(exact ? ref_exact(acc, q->eff[c]) : ref_rq64(acc, q->m[c], q->s[c]), lo, hi);
}

static void test_fc(void **state)
{
    ref_rng r = {11};
    int rep;
    long checked = 0;
    (void)state;
    for (rep = 0; rep < 300; ++rep) {
        const int32_t n = (int32_t)ref_range(&r, 1, 40), k = (int32_t)(rep % 10 == 0 ? ref_range(&r, 257, 1500)
                                                                                     : ref_range(&r, 1, 70));
        const int32_t batch = (int32_t)ref_range(&r, 1, 3);
        const int pc = (int)ref_range(&r, 0, 1), exact = (int)ref_range(&r, 0, 1);
        int8_t *w = malloc((size_t)n * (size_t)k);
        int64_t *bias = malloc((size_t)n * 8);
        int16_t *x = malloc((size_t)batch * (size_t)k * 2), *y = malloc((size_t)batch * (size_t)n * 2);
        rq_set q;
        mq_fc_s16_params p;
        int32_t i, b, c;
        const int32_t lo = rep % 3 == 0 ? 0 : -32768, hi = rep % 5 == 0 ? 20000 : 32767;
        for (i = 0; i < n * k; ++i) {
            w[i] = (int8_t)ref_range(&r, -128, 127);
        }
        for (i = 0; i < batch * k; ++i) {
            x[i] = rnd16(&r, rep % 7 == 0 ? 32768 : 3000);
        }
        for (i = 0; i < n; ++i) {
            bias[i] = (int64_t)ref_range(&r, -((int64_t)1 << 33), (int64_t)1 << 33);
        }
        random_rq(&r, &q, pc ? n : 1, 10);
        memset(&p, 0, sizeof p);
        p.n = n;
        p.k = k;
        p.weights = w;
        p.bias = rep % 9 == 0 ? NULL : bias;
        p.multiplier = q.m;
        p.shift = q.s;
        p.per_channel = pc;
        p.act_min = lo;
        p.act_max = hi;
        p.exact_scale = exact ? q.ex : NULL;
        assert_int_equal(mq_fully_connected_s16(&p, batch, x, y), MQ_OK);
        for (b = 0; b < batch; ++b) {
            for (c = 0; c < n; ++c) {
                int64_t acc = p.bias != NULL ? bias[c] : 0;
                for (i = 0; i < k; ++i) {
                    acc += (int64_t)x[b * k + i] * w[c * k + i];
                }
                assert_int_equal(y[b * n + c], ref_out(acc, &q, pc ? c : 0, exact, lo, hi));
                ++checked;
            }
        }
        free(w);
        free(bias);
        free(x);
        free(y);
    }
    printf("fc: %ld outputs checked\n", checked);
}

/* Conv / depthwise reference: copy the input into an explicitly zero-padded tensor, then plain loops. */
static void conv_ref(const mq_window *w, int32_t in_c, int32_t out_c, int depthwise, int32_t dm, const int16_t *x,
                     const int8_t *wt, const int64_t *bias, const rq_set *q, int pc, int exact, int32_t lo, int32_t hi,
                     int16_t *y)
{
    const int32_t ph = w->in_h + w->pad_top + w->pad_bottom, pw = w->in_w + w->pad_left + w->pad_right;
    int64_t *pad = calloc((size_t)(w->batch * ph * pw * in_c), 8);
    int32_t b, yy, xx, c, oy, ox, o, ky, kx;
    assert_non_null(pad);
    for (b = 0; b < w->batch; ++b)
        for (yy = 0; yy < w->in_h; ++yy)
            for (xx = 0; xx < w->in_w; ++xx)
                for (c = 0; c < in_c; ++c)
                    pad[(((int64_t)b * ph + (int64_t)(yy + w->pad_top)) * pw + (int64_t)(xx + w->pad_left)) * in_c + c] =
                        x[(((int64_t)b * w->in_h + yy) * w->in_w + xx) * in_c + c];
    for (b = 0; b < w->batch; ++b)
        for (oy = 0; oy < w->out_h; ++oy)
            for (ox = 0; ox < w->out_w; ++ox)
                for (o = 0; o < out_c; ++o) {
                    int64_t acc = bias != NULL ? bias[o] : 0;
                    for (ky = 0; ky < w->kernel_h; ++ky)
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int32_t py = oy * w->stride_h + ky * w->dilation_h;
                            const int32_t px = ox * w->stride_w + kx * w->dilation_w;
                            const int64_t *pp = &pad[(((int64_t)b * ph + py) * pw + px) * in_c];
                            if (depthwise) {
                                acc += pp[o / dm] * wt[((int64_t)ky * w->kernel_w + kx) * out_c + o];
                            } else {
                                for (c = 0; c < in_c; ++c) {
                                    acc += pp[c] * wt[(((int64_t)o * w->kernel_h + ky) * w->kernel_w + kx) * in_c + c];
                                }
                            }
                        }
                    y[(((int64_t)b * w->out_h + oy) * w->out_w + ox) * out_c + o] =
                        ref_out(acc, q, pc ? o : 0, exact, lo, hi);
                }
    free(pad);
}

static void random_window(ref_rng *r, mq_window *w, int pool)
{
    int32_t eh, ew;
    do {
        w->batch = (int32_t)ref_range(r, 1, 2);
        w->in_h = (int32_t)ref_range(r, 1, 9);
        w->in_w = (int32_t)ref_range(r, 1, 9);
        w->kernel_h = (int32_t)ref_range(r, 1, 5);
        w->kernel_w = (int32_t)ref_range(r, 1, 5);
        w->stride_h = (int32_t)ref_range(r, 1, 3);
        w->stride_w = (int32_t)ref_range(r, 1, 3);
        w->dilation_h = pool ? 1 : (int32_t)ref_range(r, 1, 3);
        w->dilation_w = pool ? 1 : (int32_t)ref_range(r, 1, 3);
        w->pad_top = (int32_t)ref_range(r, 0, w->kernel_h - 1);
        w->pad_bottom = (int32_t)ref_range(r, 0, w->kernel_h - 1);
        w->pad_left = (int32_t)ref_range(r, 0, w->kernel_w - 1);
        w->pad_right = (int32_t)ref_range(r, 0, w->kernel_w - 1);
        eh = w->in_h + w->pad_top + w->pad_bottom - w->dilation_h * (w->kernel_h - 1) - 1;
        ew = w->in_w + w->pad_left + w->pad_right - w->dilation_w * (w->kernel_w - 1) - 1;
    } while (eh < 0 || ew < 0);
    w->out_h = eh / w->stride_h + 1;
    w->out_w = ew / w->stride_w + 1;
}

static void conv_family(int depthwise)
{
    ref_rng r = {depthwise ? 13u : 12u};
    int rep;
    long checked = 0;
    for (rep = 0; rep < 400; ++rep) {
        mq_window w;
        int32_t in_c, dm = 1, out_c, i, kk;
        int pc = (int)ref_range(&r, 0, 1), exact = !depthwise && ref_range(&r, 0, 1);
        int8_t *wt;
        int64_t bias[64];
        int16_t *x, *y, *yr;
        size_t nin, nout;
        rq_set q;
        const int32_t lo = rep % 4 == 0 ? 0 : -32768, hi = 32767;
        random_window(&r, &w, 0);
        if (rep % 4 == 0) {
            /* 1x1 kernels (the conv's 1x1 fast path), with padding: padded pixels give the bias */
            w.kernel_h = w.kernel_w = 1;
            w.pad_top = (int32_t)ref_range(&r, 0, 2);
            w.pad_bottom = (int32_t)ref_range(&r, 0, 2);
            w.pad_left = (int32_t)ref_range(&r, 0, 2);
            w.pad_right = (int32_t)ref_range(&r, 0, 2);
            w.out_h = (w.in_h + w.pad_top + w.pad_bottom - 1) / w.stride_h + 1;
            w.out_w = (w.in_w + w.pad_left + w.pad_right - 1) / w.stride_w + 1;
        }
        in_c = (int32_t)ref_range(&r, 1, depthwise ? 6 : 9);
        if (depthwise) {
            dm = (int32_t)ref_range(&r, 1, 3);
        }
        out_c = depthwise ? in_c * dm : (int32_t)ref_range(&r, 1, 9);
        kk = w.kernel_h * w.kernel_w * (depthwise ? out_c : in_c * out_c);
        nin = (size_t)(w.batch * w.in_h * w.in_w * in_c);
        nout = (size_t)(w.batch * w.out_h * w.out_w * out_c);
        wt = malloc((size_t)kk);
        x = malloc(nin * 2);
        y = malloc(nout * 2);
        yr = malloc(nout * 2);
        for (i = 0; i < kk; ++i) {
            wt[i] = (int8_t)ref_range(&r, -128, 127);
        }
        for (i = 0; i < (int32_t)nin; ++i) {
            x[i] = rnd16(&r, rep % 5 == 0 ? 32768 : 4000);
        }
        for (i = 0; i < out_c; ++i) {
            bias[i] = (int64_t)ref_range(&r, -2000000, 2000000);
        }
        random_rq(&r, &q, pc ? out_c : 1, 4);
        if (!depthwise) {
            mq_conv_s16_params p;
            memset(&p, 0, sizeof p);
            p.win = w;
            p.in_c = in_c;
            p.gemm.n = out_c;
            p.gemm.k = w.kernel_h * w.kernel_w * in_c;
            p.gemm.weights = wt;
            p.gemm.bias = rep % 7 == 0 ? NULL : bias;
            p.gemm.multiplier = q.m;
            p.gemm.shift = q.s;
            p.gemm.per_channel = pc;
            p.gemm.act_min = lo;
            p.gemm.act_max = hi;
            p.gemm.exact_scale = exact ? q.ex : NULL;
            assert_int_equal(mq_conv_s16(&p, x, y), MQ_OK);
            conv_ref(&w, in_c, out_c, 0, 1, x, wt, p.gemm.bias, &q, pc, exact, lo, hi, yr);
            /* a wrong out_h is rejected */
            p.win.out_h += 1;
            assert_int_equal(mq_conv_s16(&p, x, y), MQ_ERR_SHAPE);
        } else {
            mq_depthwise_s16_params p;
            memset(&p, 0, sizeof p);
            p.win = w;
            p.in_c = in_c;
            p.depth_multiplier = dm;
            p.weights = wt;
            p.bias = rep % 7 == 0 ? NULL : bias;
            p.multiplier = q.m;
            p.shift = q.s;
            p.per_channel = pc;
            p.act_min = lo;
            p.act_max = hi;
            assert_int_equal(mq_depthwise_conv_s16(&p, x, y), MQ_OK);
            conv_ref(&w, in_c, out_c, 1, dm, x, wt, p.bias, &q, pc, 0, lo, hi, yr);
            p.win.out_w += 1;
            assert_int_equal(mq_depthwise_conv_s16(&p, x, y), MQ_ERR_SHAPE);
        }
        assert_memory_equal(y, yr, nout * 2);
        checked += (long)nout;
        free(wt);
        free(x);
        free(y);
        free(yr);
    }
    printf("%s: %ld outputs checked\n", depthwise ? "depthwise" : "conv", checked);
}

static void test_conv(void **state)
{
    (void)state;
    conv_family(0);
}

static void test_depthwise(void **state)
{
    (void)state;
    conv_family(1);
}

static void test_pool(void **state)
{
    ref_rng r = {14};
    int rep;
    long checked = 0;
    (void)state;
    for (rep = 0; rep < 400; ++rep) {
        mq_pool_s16_params p;
        int32_t i, b, oy, ox, c, ky, kx;
        size_t nin, nout;
        int16_t *x, *ya, *ym;
        random_window(&r, &p.win, 1);
        p.channels = (int32_t)ref_range(&r, 1, 5);
        p.act_min = rep % 3 == 0 ? -1000 : -32768;
        p.act_max = rep % 4 == 0 ? 1000 : 32767;
        nin = (size_t)(p.win.batch * p.win.in_h * p.win.in_w * p.channels);
        nout = (size_t)(p.win.batch * p.win.out_h * p.win.out_w * p.channels);
        x = malloc(nin * 2);
        ya = malloc(nout * 2);
        ym = malloc(nout * 2);
        for (i = 0; i < (int32_t)nin; ++i) {
            x[i] = rnd16(&r, 32768);
        }
        assert_int_equal(mq_avg_pool_s16(&p, x, ya), MQ_OK);
        assert_int_equal(mq_max_pool_s16(&p, x, ym), MQ_OK);
        for (b = 0; b < p.win.batch; ++b)
            for (oy = 0; oy < p.win.out_h; ++oy)
                for (ox = 0; ox < p.win.out_w; ++ox)
                    for (c = 0; c < p.channels; ++c) {
                        double sum = 0.0;
                        int cnt = 0;
                        int32_t mx = INT32_MIN;
                        double avg;
                        const int64_t o = (((int64_t)b * p.win.out_h + oy) * p.win.out_w + ox) * p.channels + c;
                        for (ky = 0; ky < p.win.kernel_h; ++ky)
                            for (kx = 0; kx < p.win.kernel_w; ++kx) {
                                const int32_t iy = oy * p.win.stride_h - p.win.pad_top + ky;
                                const int32_t ix = ox * p.win.stride_w - p.win.pad_left + kx;
                                int32_t v;
                                if (iy < 0 || iy >= p.win.in_h || ix < 0 || ix >= p.win.in_w) {
                                    continue;
                                }
                                v = x[(((int64_t)b * p.win.in_h + iy) * p.win.in_w + ix) * p.channels + c];
                                sum += v;
                                mx = v > mx ? v : mx;
                                ++cnt;
                            }
                        assert_true(cnt > 0);
                        avg = sum / cnt;
                        avg = avg >= 0 ? floor(avg + 0.5) : -floor(-avg + 0.5);
                        assert_int_equal(ya[o], ref_clamp16((int64_t)avg, p.act_min, p.act_max));
                        assert_int_equal(ym[o], ref_clamp16(mx, p.act_min, p.act_max));
                        ++checked;
                    }
        free(x);
        free(ya);
        free(ym);
    }
    printf("pool: %ld outputs checked (avg and max)\n", checked);
}

static void test_add_mul(void **state)
{
    ref_rng r = {15};
    int rep;
    double worst = 0.0;
    (void)state;
    for (rep = 0; rep < 400; ++rep) {
        const double s1 = ldexp(0.5 + ref_unit(&r), -(int)ref_range(&r, 8, 16));
        const double s2 = rep % 5 == 0 ? s1 : ldexp(0.5 + ref_unit(&r), -(int)ref_range(&r, 8, 16));
        const double so = ldexp(0.5 + ref_unit(&r), -(int)ref_range(&r, 6, 14));
        int16_t a[257], b[257], y[257];
        mq_add_s16_params pa;
        mq_mul_s16_params pm;
        int32_t i;
        const int32_t lo = rep % 3 == 0 ? 0 : -32768;
        for (i = 0; i < 257; ++i) {
            a[i] = rnd16(&r, 32768);
            b[i] = rnd16(&r, 32768);
        }
        assert_int_equal(mq_add_s16_prepare(s1, s2, so, lo, 32767, &pa), MQ_OK);
        assert_int_equal(pa.left_shift, 15);
        assert_int_equal(mq_add_s16(&pa, a, b, y, 257), MQ_OK);
        for (i = 0; i < 257; ++i) {
            const int32_t va = ref_requantize(a[i] * 32768, pa.in1_multiplier, pa.in1_shift);
            const int32_t vb = ref_requantize(b[i] * 32768, pa.in2_multiplier, pa.in2_shift);
            const int16_t want = ref_clamp16(ref_requantize(va + vb, pa.out_multiplier, pa.out_shift), lo, 32767);
            const double real = (a[i] * s1 + b[i] * s2) / so;
            assert_int_equal(y[i], want);
            if (real > lo && real < 32767) {
                worst = fmax(worst, fabs(y[i] - real));
            }
        }
        memset(&pm, 0, sizeof pm);
        assert_int_equal(mq_quantize_multiplier(s1 * s2 / so * 1e-3, &pm.out_multiplier, &pm.out_shift), MQ_OK);
        pm.act_min = lo;
        pm.act_max = 32767;
        pm.broadcast = (mq_broadcast)(rep % 3);
        pm.channels = 257;
        assert_int_equal(mq_mul_s16(&pm, a, b, y, 257), MQ_OK);
        for (i = 0; i < 257; ++i) {
            const int32_t bv = pm.broadcast == MQ_BCAST_SCALAR ? b[0] : b[i];
            assert_int_equal(y[i], ref_clamp16(ref_requantize(a[i] * bv, pm.out_multiplier, pm.out_shift), lo, 32767));
        }
        /* in place */
        memcpy(y, a, sizeof a);
        assert_int_equal(mq_add_s16(&pa, y, b, y, 257), MQ_OK);
        assert_int_equal(mq_add_s16(&pa, a + 1, b, a, 256), MQ_ERR_BUFFER);
    }
    printf("add: worst |out - (x1 s1 + x2 s2) / s_out| = %.4f codes\n", worst);
    assert_true(worst < 0.51);
}

static void test_requantize(void **state)
{
    ref_rng r = {16};
    int rep;
    (void)state;
    for (rep = 0; rep < 300; ++rep) {
        const mq_dtype t = rep % 2 ? MQ_DTYPE_INT8 : MQ_DTYPE_UINT8;
        const double s8 = ldexp(0.5 + ref_unit(&r), -(int)ref_range(&r, 3, 9));
        const double s16 = ldexp(0.5 + ref_unit(&r), -(int)ref_range(&r, 8, 16));
        mq_requantize_s16_params up, down;
        mq_rescale_s16_params rs;
        uint8_t b8[256], back[256];
        int16_t w[256], w2[256];
        int32_t i;
        up.q8_dtype = down.q8_dtype = t;
        up.q8_zero_point = down.q8_zero_point = (int32_t)ref_range(&r, mq_dtype_min(t), mq_dtype_max(t));
        up.int16_zero_point = down.int16_zero_point = 0;
        assert_int_equal(mq_quantize_multiplier(s8 / s16, &up.multiplier, &up.shift), MQ_OK);
        assert_int_equal(mq_quantize_multiplier(s16 / s8, &down.multiplier, &down.shift), MQ_OK);
        for (i = 0; i < 256; ++i) {
            b8[i] = (uint8_t)i;
        }
        assert_int_equal(mq_requantize_s8_to_s16(&up, b8, w, 256), MQ_OK);
        assert_int_equal(mq_requantize_s16_to_s8(&down, w, back, 256), MQ_OK);
        for (i = 0; i < 256; ++i) {
            const int32_t v = ref_code((uint8_t)i, t == MQ_DTYPE_UINT8) - up.q8_zero_point;
            const int16_t want = ref_clamp16(ref_requantize(v, up.multiplier, up.shift), -32768, 32767);
            int64_t d;
            assert_int_equal(w[i], want);
            d = down.q8_zero_point + (int64_t)ref_requantize(w[i], down.multiplier, down.shift);
            d = d < mq_dtype_min(t) ? mq_dtype_min(t) : (d > mq_dtype_max(t) ? mq_dtype_max(t) : d);
            assert_int_equal(back[i], ref_byte((int32_t)d));
            /* a round trip through int16 returns the code whenever int16 holds the value (s16 < s8) */
            if (s16 < s8 / 2 && fabs(v * s8 / s16) < 32000) {
                assert_int_equal(back[i], (uint8_t)i);
            }
        }
        rs.in_zero_point = (int32_t)ref_range(&r, -100, 100);
        rs.out_zero_point = (int32_t)ref_range(&r, -100, 100);
        assert_int_equal(mq_quantize_multiplier(ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -3, 2)), &rs.multiplier,
                                                &rs.shift), MQ_OK);
        assert_int_equal(mq_rescale_s16(&rs, w, w2, 256), MQ_OK);
        for (i = 0; i < 256; ++i) {
            assert_int_equal(w2[i], ref_clamp16((int64_t)rs.out_zero_point +
                                                    ref_requantize(w[i] - rs.in_zero_point, rs.multiplier, rs.shift),
                                                -32768, 32767));
        }
    }
}

static void test_softmax_float(void **state)
{
    ref_rng r = {17};
    int rep;
    double worst = 0.0, worst_abs = 0.0;
    int16_t exp_lut[MQ_LUT16_SIZE], recip_lut[MQ_LUT16_SIZE];
    (void)state;
    for (rep = 0; rep < 200; ++rep) {
        const double s = ldexp(0.5 + ref_unit(&r), -(int)ref_range(&r, 8, 14));
        const int32_t depth = (int32_t)ref_range(&r, 1, 300);
        int16_t x[300], y[300];
        mq_softmax_s16_params p;
        double mx = -1e300, sum = 0.0;
        int32_t j;
        assert_int_equal(mq_softmax_s16_prepare(s, 1.0, exp_lut, recip_lut, &p.input_multiplier, &p.input_shift),
                         MQ_OK);
        p.outer = 1;
        p.depth = depth;
        p.exp_lut = exp_lut;
        p.recip_lut = recip_lut;
        for (j = 0; j < depth; ++j) {
            x[j] = rnd16(&r, 32768);
            mx = fmax(mx, x[j] * s);
        }
        assert_int_equal(mq_softmax_s16(&p, x, y), MQ_OK);
        for (j = 0; j < depth; ++j) {
            sum += exp(x[j] * s - mx);
        }
        /* Error model of TFLite's scheme: each e_j is the Q0.15 exp within 2.5 codes (the table stops at
         * exp(-10): every element further down still counts ~2 codes), so out_j = 32768 e'_j / sum e' is within
         * 2.5 + want * 2.5 depth / (32768 sum) codes, plus the reciprocal table's rounding (2 codes allowed). */
        for (j = 0; j < depth; ++j) {
            const double want = exp(x[j] * s - mx) / sum * 32768.0;
            const double model = 2.5 + want * 2.5 * depth / (32768.0 * sum);
            worst = fmax(worst, fabs(y[j] - want) - model);
            worst_abs = fmax(worst_abs, fabs(y[j] - want));
        }
    }
    printf("softmax int16: worst |out - 32768 softmax(x)| = %.2f codes (of 32768); beyond the model: %.2f\n", worst_abs,
           worst);
    assert_true(worst <= 2.0);
}

static void act_sweep(int is_tanh)
{
    static const double scales[] = {1.0 / 32768, 1.0 / 8192, 1.0 / 4096, 1.0 / 2048, 3.0 / 32768, 8.0 / 32767,
                                    20.0 / 32767, 0.01};
    size_t si;
    for (si = 0; si < sizeof scales / sizeof scales[0]; ++si) {
        mq_sigmoid_s16_params p;
        int16_t *x = malloc(65536 * 2), *y = malloc(65536 * 2);
        int32_t i;
        double worst = 0.0;
        assert_int_equal(is_tanh ? mq_tanh_s16_prepare(scales[si], &p) : mq_sigmoid_s16_prepare(scales[si], &p), MQ_OK);
        for (i = 0; i < 65536; ++i) {
            x[i] = (int16_t)(i - 32768);
        }
        assert_int_equal(is_tanh ? mq_tanh_s16(&p, x, y, 65536) : mq_sigmoid_s16(&p, x, y, 65536), MQ_OK);
        for (i = 0; i < 65536; ++i) {
            const double v = x[i] * scales[si];
            const double f = is_tanh ? tanh(v) : 1.0 / (1.0 + exp(-v));
            worst = fmax(worst, fabs(y[i] - fmin(f * 32768.0, 32767.0)));
        }
        printf("  TFLite-exact %s, s_in %.3g (multiplier %d, shift %d): max error %.2f codes\n",
               is_tanh ? "tanh" : "sigmoid", scales[si], p.input_multiplier, p.input_left_shift, worst);
        assert_true(worst <= (is_tanh ? 6.0 : 3.0));
        /* in place gives the same */
        assert_int_equal(is_tanh ? mq_tanh_s16(&p, x, x, 65536) : mq_sigmoid_s16(&p, x, x, 65536), MQ_OK);
        assert_memory_equal(x, y, 65536 * 2);
        free(x);
        free(y);
    }
}

static void test_sigmoid_tanh(void **state)
{
    mq_sigmoid_s16_params p;
    (void)state;
    act_sweep(0);
    act_sweep(1);
    /* the power-of-two cases of TFLite's prepare */
    assert_int_equal(mq_sigmoid_s16_prepare(1.0 / 4096, &p), MQ_OK);
    assert_int_equal(p.input_multiplier, 0);
    assert_int_equal(p.input_left_shift, 0);
    assert_int_equal(mq_tanh_s16_prepare(1.0 / 2048, &p), MQ_OK);
    assert_int_equal(p.input_multiplier, 0);
    assert_int_equal(p.input_left_shift, 1);
    assert_int_equal(mq_sigmoid_s16_prepare(1.0 / 2048, &p), MQ_OK);
    assert_true(p.input_multiplier > 0);
    assert_int_equal(mq_sigmoid_s16_prepare(10.0, &p), MQ_ERR_QPARAMS);
    assert_int_equal(mq_sigmoid_s16_prepare(-1.0, &p), MQ_ERR_QPARAMS);
}

static void test_lut16_lookup(void **state)
{
    ref_rng r = {18};
    int16_t t[MQ_LUT16_SIZE], y[65536], x[65536];
    int32_t i;
    (void)state;
    for (i = 0; i < MQ_LUT16_SIZE; ++i) {
        t[i] = rnd16(&r, 32768);
    }
    for (i = 0; i < 65536; ++i) {
        x[i] = (int16_t)(i - 32768);
    }
    assert_int_equal(mq_lut16_apply(t, x, y, 65536), MQ_OK);
    for (i = 0; i < 65536; ++i) {
        const int32_t v = i - 32768, idx = i / 128, f = i % 128; /* v + 32768 = 128 idx + f */
        const int64_t num = (int64_t)(t[idx + 1] - t[idx]) * f + 64;
        assert_int_equal(y[i], (int16_t)(t[idx] + ref_floor_div_pow2(num, 7)));
        (void)v;
    }
    assert_int_equal(mq_lut16_apply(t, x, x + 1, 100), MQ_ERR_BUFFER);
    assert_int_equal(mq_lut16_apply(NULL, x, y, 1), MQ_ERR_NULL);
}

static void test_bad_args(void **state)
{
    int8_t w[4] = {1, 2, 3, 4};
    int32_t m = 1 << 30, s = 0, big = 8;
    int16_t x[8] = {0}, y[8];
    mq_fc_s16_params p;
    mq_conv_s16_params cp;
    mq_exact_scale ex = {1, 0};
    (void)state;
    memset(&p, 0, sizeof p);
    p.n = 2;
    p.k = 2;
    p.weights = w;
    p.multiplier = &m;
    p.shift = &s;
    p.act_min = -32768;
    p.act_max = 32767;
    assert_int_equal(mq_fully_connected_s16(&p, 1, x, y), MQ_OK);
    assert_int_equal(mq_fully_connected_s16(&p, 0, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_fully_connected_s16(&p, 1, x, (int16_t *)x), MQ_ERR_BUFFER);
    assert_int_equal(mq_fully_connected_s16(NULL, 1, x, y), MQ_ERR_NULL);
    p.shift = &big;
    assert_int_equal(mq_fully_connected_s16(&p, 1, x, y), MQ_ERR_QPARAMS);
    p.shift = &s;
    p.act_min = 40000;
    assert_int_equal(mq_fully_connected_s16(&p, 1, x, y), MQ_ERR_QPARAMS);
    p.act_min = -32768;
    p.exact_scale = &ex;
    assert_int_equal(mq_fully_connected_s16(&p, 1, x, y), MQ_ERR_QPARAMS);
    p.exact_scale = NULL;
    m = 5;
    assert_int_equal(mq_fully_connected_s16(&p, 1, x, y), MQ_ERR_QPARAMS);
    m = 1 << 30;
    memset(&cp, 0, sizeof cp);
    cp.gemm = p;
    cp.in_c = 2;
    cp.gemm.k = 2;
    cp.win.batch = 1;
    cp.win.in_h = cp.win.in_w = 2;
    cp.win.out_h = cp.win.out_w = 2;
    cp.win.kernel_h = cp.win.kernel_w = 1;
    cp.win.stride_h = cp.win.stride_w = 1;
    cp.win.dilation_h = cp.win.dilation_w = 1;
    assert_int_equal(mq_conv_s16(&cp, x, y), MQ_OK);
    cp.win.stride_h = 0;
    assert_int_equal(mq_conv_s16(&cp, x, y), MQ_ERR_SHAPE);
    cp.win.stride_h = 1;
    cp.gemm.k = 3;
    assert_int_equal(mq_conv_s16(&cp, x, y), MQ_ERR_SHAPE);
    cp.gemm.k = 2;
    cp.win.pad_top = -1;
    assert_int_equal(mq_conv_s16(&cp, x, y), MQ_ERR_SHAPE);
    cp.win.pad_top = 0;
    cp.win.kernel_h = INT32_MAX;
    assert_int_equal(mq_conv_s16(&cp, x, y), MQ_ERR_SHAPE);
    {
        mq_softmax_s16_params sp;
        int16_t lut[MQ_LUT16_SIZE] = {0};
        memset(&sp, 0, sizeof sp);
        sp.outer = 1;
        sp.depth = 4;
        sp.input_multiplier = 1 << 30;
        sp.exp_lut = lut;
        sp.recip_lut = lut;
        assert_int_equal(mq_softmax_s16(&sp, x, y), MQ_ERR_QPARAMS); /* an all-zero exp table */
        sp.depth = 70000;
        assert_int_equal(mq_softmax_s16(&sp, x, y), MQ_ERR_SHAPE);
    }
    {
        mq_requantize_s16_params rq = {MQ_DTYPE_INT32, 0, 0, 1 << 30, 0};
        assert_int_equal(mq_requantize_s8_to_s16(&rq, x, y, 4), MQ_ERR_DTYPE);
        rq.q8_dtype = MQ_DTYPE_UINT8;
        rq.q8_zero_point = -1;
        assert_int_equal(mq_requantize_s8_to_s16(&rq, x, y, 4), MQ_ERR_QPARAMS);
    }
    {
        mq_sigmoid_s16_params sg = {0, 2};
        assert_int_equal(mq_sigmoid_s16(&sg, x, y, 8), MQ_ERR_QPARAMS);
        sg.input_multiplier = 40000;
        assert_int_equal(mq_tanh_s16(&sg, x, y, 8), MQ_ERR_QPARAMS);
    }
    {
        mq_mul_s16_params mp = {1 << 30, 0, -32768, 32767, MQ_BCAST_CHANNEL, 3};
        assert_int_equal(mq_mul_s16(&mp, x, x, y, 8), MQ_ERR_SHAPE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requantize64), cmocka_unit_test(test_requantize_exact), cmocka_unit_test(test_fc),
        cmocka_unit_test(test_conv),         cmocka_unit_test(test_depthwise),        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_add_mul),      cmocka_unit_test(test_requantize),       cmocka_unit_test(test_softmax_float),
        cmocka_unit_test(test_sigmoid_tanh), cmocka_unit_test(test_lut16_lookup),     cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
