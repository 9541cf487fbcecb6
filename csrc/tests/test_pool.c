/*
 * Average and max pooling (mq_avg_pool, mq_max_pool, mq_pool_check, mq_pool_prepare) against
 * (a) an int64 reference written here: explicit padded window, "is this tap inside the input" per tap,
 *     average rounded as sign(s) * floor((2|s| + n) / (2n)) (nearest, ties away from zero);
 * (b) TFLite's reference kernels (ai-edge-litert BUILTIN_REF): one-op AVERAGE_POOL_2D / MAX_POOL_2D models with
 *     SAME/VALID padding, strides 1..3, int8/uint8, fused ReLU/ReLU6, and the KWS model's 25x5 average pool
 *     (csrc/tests/fixtures/litert_*.bin, scripts/gen_litert_fixtures.py), byte for byte;
 * (c) every invalid field rejected.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_litert.h"
#include "ref_quant.h"

static int64_t ref_div_round_away(int64_t s, int64_t n)
{
    const int64_t mag = (2 * (s < 0 ? -s : s) + n) / (2 * n);
    return s < 0 ? -mag : mag;
}

/* out[...] by the definition; returns 0 when some window has no valid tap (then the params are invalid) */
static int ref_pool(const mq_pool_params *p, int is_avg, const uint8_t *in, uint8_t *out)
{
    const mq_window *w = &p->win;
    const int u8 = p->dtype == MQ_DTYPE_UINT8;
    int b, oy, ox, c, ky, kx;
    for (b = 0; b < w->batch; ++b)
        for (oy = 0; oy < w->out_h; ++oy)
            for (ox = 0; ox < w->out_w; ++ox)
                for (c = 0; c < p->channels; ++c) {
                    int64_t sum = 0, mx = INT64_MIN, n = 0, v;
                    for (ky = 0; ky < w->kernel_h; ++ky)
                        for (kx = 0; kx < w->kernel_w; ++kx) {
                            const int y = oy * w->stride_h + ky - w->pad_top;
                            const int x = ox * w->stride_w + kx - w->pad_left;
                            int32_t q;
                            if (y < 0 || y >= w->in_h || x < 0 || x >= w->in_w) {
                                continue;
                            }
                            q = ref_code(in[(size_t)((((int64_t)b * w->in_h + y) * w->in_w + x) * p->channels + c)], u8);
                            sum += q;
                            mx = q > mx ? q : mx;
                            n++;
                        }
                    if (n == 0) {
                        return 0;
                    }
                    v = is_avg ? ref_div_round_away(sum, n) : mx;
                    v = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
                    out[(size_t)((((int64_t)b * w->out_h + oy) * w->out_w + ox) * p->channels + c)] = ref_byte((int32_t)v);
                }
    return 1;
}

static long g_checked;
static int g_bite;

static void run_case(ref_rng *r, const mq_pool_params *p)
{
    static uint8_t in[4 * 13 * 13 * 11];
    static uint8_t got[4 * 13 * 13 * 11];
    static uint8_t want[4 * 13 * 13 * 11];
    const mq_window *w = &p->win;
    const size_t n_in = (size_t)((int64_t)w->batch * w->in_h * w->in_w * p->channels);
    const size_t n_out = (size_t)((int64_t)w->batch * w->out_h * w->out_w * p->channels);
    int is_avg;
    size_t i;
    assert_true(n_in <= sizeof in && n_out <= sizeof got);
    for (i = 0; i < n_in; ++i) {
        in[i] = (uint8_t)ref_range(r, 0, 255);
    }
    for (is_avg = 0; is_avg < 2; ++is_avg) {
        assert_int_equal(ref_pool(p, is_avg, in, want), 1);
        memset(got, 0xA5, sizeof got);
        assert_int_equal(is_avg ? mq_avg_pool(p, in, got) : mq_max_pool(p, in, got), MQ_OK);
        assert_memory_equal(got, want, n_out);
        assert_int_equal(got[n_out], 0xA5);
        for (i = 0; i < n_out; ++i) {
            const int32_t v = ref_code(got[i], p->dtype == MQ_DTYPE_UINT8);
            g_bite += (v == p->act_min && p->act_min > mq_dtype_min(p->dtype)) ||
                      (v == p->act_max && p->act_max < mq_dtype_max(p->dtype));
        }
        g_checked += (long)n_out;
    }
}

/* every kernel size 1..4, stride 1..3, pad_before 0..k-1, pad_after 0..k-1 (where the last window is valid) */
static void test_pool_exhaustive_small(void **state)
{
    ref_rng r = {7};
    int kh, s, pt, pb, cases = 0;
    (void)state;
    g_checked = 0;
    g_bite = 0;
    for (kh = 1; kh <= 4; ++kh)
        for (s = 1; s <= 3; ++s)
            for (pt = 0; pt < kh; ++pt)
                for (pb = 0; pb < 3 * (kh + 1); ++pb) { /* three shapes per pad pair */
                    mq_pool_params p;
                    int in_h = (int)ref_range(&r, 1, 9);
                    int64_t span;
                    memset(&p, 0, sizeof p);
                    p.dtype = cases % 2 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
                    p.win.batch = (int32_t)ref_range(&r, 1, 2);
                    p.win.in_h = in_h;
                    p.win.in_w = (int32_t)ref_range(&r, 1, 9);
                    p.win.kernel_h = kh;
                    p.win.kernel_w = (int32_t)ref_range(&r, 1, 4);
                    p.win.stride_h = s;
                    p.win.stride_w = (int32_t)ref_range(&r, 1, 3);
                    p.win.dilation_h = p.win.dilation_w = 1;
                    p.win.pad_top = pt;
                    p.win.pad_bottom = pb % (kh + 1);
                    p.win.pad_left = (int32_t)ref_range(&r, 0, p.win.kernel_w - 1);
                    p.win.pad_right = (int32_t)ref_range(&r, 0, p.win.kernel_w - 1);
                    p.channels = (int32_t)ref_range(&r, 1, 11);
                    span = (int64_t)p.win.in_h + pt + p.win.pad_bottom - kh;
                    if (span < 0 || p.win.in_w + p.win.pad_left + p.win.pad_right - p.win.kernel_w < 0) {
                        assert_int_equal(mq_pool_check(&p), MQ_ERR_SHAPE);
                        continue;
                    }
                    p.win.out_h = (int32_t)(span / s + 1);
                    p.win.out_w = (p.win.in_w + p.win.pad_left + p.win.pad_right - p.win.kernel_w) / p.win.stride_w + 1;
                    if ((p.win.out_h - 1) * s - pt > in_h - 1 ||
                        (p.win.out_w - 1) * p.win.stride_w - p.win.pad_left > p.win.in_w - 1) {
                        /* a window made of padding only: TFLite fails on it, the check rejects it */
                        assert_int_equal(mq_pool_check(&p), MQ_ERR_SHAPE);
                        continue;
                    }
                    p.act_min = mq_dtype_min(p.dtype);
                    p.act_max = mq_dtype_max(p.dtype);
                    if (cases % 3 == 1) {   /* clamps that bite */
                        p.act_min = (int32_t)ref_range(&r, mq_dtype_min(p.dtype), mq_dtype_min(p.dtype) + 120);
                        p.act_max = (int32_t)ref_range(&r, p.act_min, mq_dtype_max(p.dtype) - 60);
                    }
                    assert_int_equal(mq_pool_check(&p), MQ_OK);
                    run_case(&r, &p);
                    cases++;
                }
    printf("pool: %d shapes, %ld outputs checked against the int64 reference, %d clamped\n", cases, g_checked, g_bite);
    assert_true(cases > 150);
    assert_true(g_bite > 100);
}

/* average ties: window sums that are exact half-integers, both signs */
static void test_avg_pool_ties(void **state)
{
    mq_pool_params p;
    int8_t in[4];
    uint8_t out[1];
    int a, b;
    (void)state;
    memset(&p, 0, sizeof p);
    assert_int_equal(mq_pool_prepare(1, 1, 2, 1, 1, 2, 1, 1, 0, 0, 0, 0, MQ_DTYPE_INT8, 0.1, 0, -INFINITY,
                                     INFINITY, &p), MQ_OK);
    for (a = -128; a < 128; ++a)
        for (b = -128; b < 128; ++b) {
            const int s = a + b;
            const int want = s >= 0 ? (s + 1) / 2 : -((-s + 1) / 2);   /* half away from zero */
            in[0] = (int8_t)a;
            in[1] = (int8_t)b;
            assert_int_equal(mq_avg_pool(&p, in, out), MQ_OK);
            assert_int_equal((int8_t)out[0], want);
        }
}

static void set_from_record(const lr_record *r, mq_pool_params *p)
{
    memset(p, 0, sizeof *p);
    p->dtype = (mq_dtype)r->w[1];
    p->win.batch = r->w[10];
    p->win.in_h = r->w[11];
    p->win.in_w = r->w[12];
    p->channels = r->w[13];
    p->win.out_h = r->w[19];
    p->win.out_w = r->w[20];
    p->win.kernel_h = r->w[22];
    p->win.kernel_w = r->w[23];
    p->win.stride_h = r->w[24];
    p->win.stride_w = r->w[25];
    p->win.pad_top = r->w[26];
    p->win.pad_bottom = r->w[27];
    p->win.pad_left = r->w[28];
    p->win.pad_right = r->w[29];
    p->win.dilation_h = p->win.dilation_w = 1;
    p->act_min = r->w[31];
    p->act_max = r->w[32];
}

static int check_litert_file(const char *name, long *bytes, int *records)
{
    lr_file f;
    lr_record r;
    static uint8_t got[1 << 16];
    if (!lr_open(&f, name)) {
        fail_msg("cannot read fixture %s (scripts/gen_litert_fixtures.py)", name);
    }
    while (lr_next(&f, &r)) {
        mq_pool_params p;
        int k;
        if (r.w[0] != LR_AVG_POOL && r.w[0] != LR_MAX_POOL) {
            continue;
        }
        set_from_record(&r, &p);
        assert_int_equal(mq_pool_check(&p), MQ_OK);
        for (k = 0; k < r.w[34]; ++k) {
            const uint8_t *in, *in2, *want;
            mq_status st;
            lr_sample(&r, k, &in, &in2, &want);
            assert_true((size_t)r.w[37] <= sizeof got);
            st = r.w[0] == LR_AVG_POOL ? mq_avg_pool(&p, in, got) : mq_max_pool(&p, in, got);
            assert_int_equal(st, MQ_OK);
            if (memcmp(got, want, (size_t)r.w[37]) != 0) {
                fail_msg("%s record %u (op %d, %dx%dx%d k %dx%d s %d,%d) sample %d differs from TFLite", name,
                         f.index, r.w[0], r.w[11], r.w[12], r.w[13], r.w[22], r.w[23], r.w[24], r.w[25], k);
            }
            *bytes += r.w[37];
        }
        (*records)++;
    }
    assert_int_equal(f.pos, f.size);
    lr_close(&f);
    return 1;
}

static void test_pool_litert(void **state)
{
    long bytes = 0;
    int records = 0;
    long kws_bytes = 0;
    int kws_records = 0;
    (void)state;
    check_litert_file("litert_ops.bin", &bytes, &records);
    check_litert_file("litert_kws.bin", &kws_bytes, &kws_records);
    printf("pool vs TFLite reference (ai-edge-litert): %d one-op models, %ld output bytes identical; "
           "KWS 25x5 average pool: %ld output bytes identical\n", records, bytes, kws_bytes);
    assert_true(records >= 100);
    assert_int_equal(kws_records, 1);
    assert_true(kws_bytes >= 64 * 8);
}

static void valid_params(mq_pool_params *p)
{
    assert_int_equal(mq_pool_prepare(2, 7, 6, 3, 3, 2, 2, 1, 1, 1, 0, 1, MQ_DTYPE_INT8, 0.05, -3, 0.0, 6.0, p),
                     MQ_OK);
}

static void test_pool_rejects_bad(void **state)
{
    mq_pool_params p;
    uint8_t buf[512];
    (void)state;
    valid_params(&p);
    assert_int_equal(p.win.out_h, 4);
    assert_int_equal(p.win.out_w, 6);
    assert_int_equal(p.act_min, -3);                    /* ReLU: the zero point */
    assert_int_equal(p.act_max, 117);                   /* 6 / 0.05 = 120 -> min(127, -3 + 120) */
    assert_int_equal(mq_pool_check(NULL), MQ_ERR_NULL);
    assert_int_equal(mq_avg_pool(&p, NULL, buf), MQ_ERR_NULL);
    assert_int_equal(mq_max_pool(&p, buf, NULL), MQ_ERR_NULL);
#define BAD(stmt, err)                                        \
    do {                                                      \
        valid_params(&p);                                     \
        stmt;                                                 \
        assert_int_equal(mq_pool_check(&p), err);             \
        assert_int_equal(mq_avg_pool(&p, buf, buf + 256), err); \
        assert_int_equal(mq_max_pool(&p, buf, buf + 256), err); \
    } while (0)
    BAD(p.dtype = MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    BAD(p.dtype = (mq_dtype)0, MQ_ERR_DTYPE);
    BAD(p.win.batch = 0, MQ_ERR_SHAPE);
    BAD(p.win.in_h = 0, MQ_ERR_SHAPE);
    BAD(p.win.in_w = -1, MQ_ERR_SHAPE);
    BAD(p.win.out_h = 5, MQ_ERR_SHAPE);
    BAD(p.win.out_h = 3, MQ_ERR_SHAPE);
    BAD(p.win.out_w = 7, MQ_ERR_SHAPE);
    BAD(p.win.kernel_h = 0, MQ_ERR_SHAPE);
    BAD(p.win.stride_w = 0, MQ_ERR_SHAPE);
    BAD(p.win.dilation_h = 2, MQ_ERR_SHAPE);
    BAD(p.win.dilation_w = 0, MQ_ERR_SHAPE);
    BAD(p.win.pad_top = -1, MQ_ERR_SHAPE);
    BAD((p.win.pad_top = 3, p.win.out_h = 5), MQ_ERR_SHAPE);  /* first window all padding */
    BAD((p.win.pad_bottom = 4, p.win.out_h = 6), MQ_ERR_SHAPE); /* last window all padding */
    BAD(p.channels = 0, MQ_ERR_SHAPE);
    BAD(p.channels = (1 << 24) + 1, MQ_ERR_SHAPE);
    BAD((p.win.kernel_h = 4096, p.win.kernel_w = 2048, p.win.in_h = 4096, p.win.in_w = 2048, p.win.out_h = 1,
         p.win.out_w = 1, p.win.pad_top = p.win.pad_bottom = p.win.pad_left = p.win.pad_right = 0), MQ_ERR_SHAPE);
    BAD((p.win.batch = 1 << 20, p.channels = 1 << 12), MQ_ERR_SHAPE);     /* > INT32_MAX elements */
    BAD(p.act_min = -129, MQ_ERR_QPARAMS);
    BAD(p.act_max = 128, MQ_ERR_QPARAMS);
    BAD((p.act_min = 5, p.act_max = 4), MQ_ERR_QPARAMS);
    BAD((p.dtype = MQ_DTYPE_UINT8, p.act_min = -1), MQ_ERR_QPARAMS);
#undef BAD
    valid_params(&p);
    assert_int_equal(mq_avg_pool(&p, buf, buf + 100), MQ_ERR_BUFFER);   /* in/out overlap */
    assert_int_equal(mq_max_pool(&p, buf + 100, buf), MQ_ERR_BUFFER);
    /* prepare: a window that does not fit, NaN clip, bad scale */
    assert_int_equal(mq_pool_prepare(1, 2, 2, 1, 3, 3, 1, 1, 0, 0, 0, 0, MQ_DTYPE_INT8, 0.1, 0, -INFINITY, INFINITY,
                                     &p), MQ_ERR_SHAPE);
    assert_int_equal(mq_pool_prepare(1, 4, 4, 1, 2, 2, 1, 1, 0, 0, 0, 0, MQ_DTYPE_INT8, 0.1, 0, NAN, INFINITY, &p),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_pool_prepare(1, 4, 4, 1, 2, 2, 1, 1, 0, 0, 0, 0, MQ_DTYPE_INT8, 0.0, 0, 0.0, 6.0, &p),
                     MQ_ERR_QPARAMS);
    assert_int_equal(mq_pool_prepare(1, 4, 4, 1, 2, 2, 0, 1, 0, 0, 0, 0, MQ_DTYPE_INT8, 0.1, 0, 0.0, 6.0, &p),
                     MQ_ERR_SHAPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_exhaustive_small),
        cmocka_unit_test(test_avg_pool_ties),
        cmocka_unit_test(test_pool_litert),
        cmocka_unit_test(test_pool_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
