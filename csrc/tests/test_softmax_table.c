/*
 * One-rounding softmax into any output qparams (mq_softmax_table, mq_softmax_table_prepare, op SOFTMAX_TABLE),
 * against references written here:
 * (a) an int64 / 128-bit reference: the exp table rebuilt with llround, the output reciprocal from the float32
 *     1 / s_out (or its floor: onnxruntime's QLinearSoftmax) split with frexpf, each quotient E * M / (sum * 2^k) rounded half to even on exact 128-bit
 *     integers: byte for byte on random shapes, scales, zero points, both dtypes, in place;
 * (b) float64 softmax of the dequantized inputs times the reciprocal (1 / s_out in double, or floor(1 / s_out)),
 *     rounded half to even: every code within one, and at least 99.9 % identical (measured share printed);
 * (c) the prepare's table and reciprocal checked against (a)'s independently built ones;
 * (d) every invalid field rejected by the check, and by the loader through a packed model;
 * (e) the packed model (writer -> loader -> mq_model_run and mq_model_run_batch) against (a).
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
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

__extension__ typedef unsigned __int128 u128;   /* exact reference arithmetic (gcc, clang) */

static uint32_t g_seed = 12345u;
static uint32_t rnd32(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed;
}
static int32_t rnd(int32_t lo, int32_t hi) /* inclusive */
{
    return lo + (int32_t)((rnd32() >> 8) % (uint32_t)(hi - lo + 1));
}
static double rnd_unit(void)
{
    return (double)(rnd32() >> 8) / 16777216.0;
}

static int32_t code_of(uint8_t b, mq_dtype dt)
{
    return dt == MQ_DTYPE_INT8 ? (int32_t)(int8_t)b : (int32_t)b;
}

/* (a) reference table, reciprocal and per-slice computation */
typedef struct {
    int64_t e[256];
    uint64_t m;
    int k;
} ref_consts;

static void ref_prepare(float s_in, float s_out, int ort, ref_consts *r)
{
    int d, ex = 0;
    const float recip = ort ? floorf(1.0f / s_out) : 1.0f / s_out;
    const float mant = frexpf(recip, &ex);   /* recip = mant * 2^ex */
    for (d = 0; d < 256; ++d) {
        r->e[d] = llround(exp(-(double)s_in * d) * 1073741824.0);
    }
    r->m = (uint64_t)llround((double)mant * 16777216.0);
    r->k = 24 - ex;
}

static void ref_softmax(const ref_consts *r, mq_dtype in_dt, mq_dtype out_dt, int32_t zp, int32_t outer, int32_t axis,
                        int32_t inner, const uint8_t *in, uint8_t *out)
{
    const int32_t qmin = out_dt == MQ_DTYPE_INT8 ? -128 : 0, qmax = out_dt == MQ_DTYPE_INT8 ? 127 : 255;
    int32_t o, i, j;
    for (o = 0; o < outer; ++o)
        for (i = 0; i < inner; ++i) {
            int32_t mx = -1000;
            u128 sum = 0;
            for (j = 0; j < axis; ++j) {
                const int32_t c = code_of(in[((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i], in_dt);
                mx = c > mx ? c : mx;
            }
            for (j = 0; j < axis; ++j) {
                const int32_t c = code_of(in[((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i], in_dt);
                sum += (u128)(uint64_t)r->e[mx - c];
            }
            for (j = 0; j < axis; ++j) {
                const size_t at = ((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i;
                const int32_t c = code_of(in[at], in_dt);
                const u128 num = (u128)(uint64_t)r->e[mx - c] * r->m;
                const u128 den = sum << r->k;
                u128 q = num / den;
                const u128 rem = num - q * den;
                int64_t v;
                if (2u * rem > den || (2u * rem == den && (q & 1u) != 0u)) {
                    q += 1u;
                }
                v = (int64_t)zp + (int64_t)(q > 100000u ? 100000u : q);
                v = v < qmin ? qmin : (v > qmax ? qmax : v);
                out[at] = (uint8_t)((uint64_t)v & 0xFFu);
            }
        }
}

static void fill_params(mq_softmax_table_params *p, int32_t outer, int32_t axis, int32_t inner, mq_dtype in_dt,
                        mq_dtype out_dt, int32_t zp, const int32_t *table, int32_t m, int32_t k)
{
    memset(p, 0, sizeof *p);
    p->outer = outer;
    p->axis_size = axis;
    p->inner = inner;
    p->in_dtype = in_dt;
    p->out_dtype = out_dt;
    p->out_zero_point = zp;
    p->exp_table = table;
    p->multiplier = m;
    p->shift = k;
}

/* a random output scale: the usual 1/255, 1/256 and others, 2^-12..2^2 */
static float pick_out_scale(void)
{
    switch (rnd(0, 3)) {
    case 0: return 1.0f / 255.0f;
    case 1: return 1.0f / 256.0f;
    default: return (float)ldexp(1.0 + rnd_unit(), rnd(-12, 1));
    }
}

static void test_prepare_matches_reference(void **state)
{
    int32_t table[256], m = 0, k = 0;
    ref_consts r;
    int t, d;
    (void)state;
    for (t = 0; t < 200; ++t) {
        const float s_in = (float)ldexp(1.0 + rnd_unit(), rnd(-10, 3));
        const float s_out = pick_out_scale();
        const int ort = (t & 1) && s_out <= 1.0f;
        assert_int_equal(mq_softmax_table_prepare(s_in, s_out, (mq_softmax_recip_mode)ort, table, &m, &k), MQ_OK);
        ref_prepare(s_in, s_out, ort, &r);
        for (d = 0; d < 256; ++d) {
            assert_true((int64_t)table[d] == r.e[d]);
        }
        assert_true((uint64_t)m == r.m);
        assert_int_equal(k, r.k);
    }
    assert_int_equal(table[0], 1 << 30);
    /* 1/255 as onnxruntime writes it: float32 1/255; its float32 reciprocal 254.99998, QLinearSoftmax's 254 */
    assert_int_equal(mq_softmax_table_prepare(0.1, 1.0f / 255.0f, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_OK);
    assert_true(ldexp((double)m, -k) == (double)(1.0f / (1.0f / 255.0f)));
    assert_true(ldexp((double)m, -k) < 255.0);
    assert_int_equal(mq_softmax_table_prepare(0.1, 1.0f / 255.0f, MQ_SOFTMAX_RECIP_ORT_QLINEAR, table, &m, &k), MQ_OK);
    assert_true(ldexp((double)m, -k) == 254.0);
    assert_int_equal(mq_softmax_table_prepare(0.1, 1.0 / 256, MQ_SOFTMAX_RECIP_ORT_QLINEAR, table, &m, &k), MQ_OK);
    assert_true(ldexp((double)m, -k) == 256.0);
    assert_int_equal(mq_softmax_table_prepare(0.1, 2.0, MQ_SOFTMAX_RECIP_ORT_QLINEAR, table, &m, &k), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_table_prepare(0.1, 0.1, (mq_softmax_recip_mode)2, table, &m, &k), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_table_prepare(0.0, 1.0 / 256, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_table_prepare(0.1, 0.0, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_table_prepare(0.1, 1e-9, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_ERR_QPARAMS);  /* 1/s >= 2^24 */
    assert_int_equal(mq_softmax_table_prepare(0.1, 1e15, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_ERR_QPARAMS);  /* shift > 62 */
    assert_int_equal(mq_softmax_table_prepare(0.1, NAN, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_table_prepare(0.1, 0.1, MQ_SOFTMAX_RECIP_FLOAT32, NULL, &m, &k), MQ_ERR_NULL);
}

static void test_against_int_reference_and_float64(void **state)
{
    static uint8_t in[20000], out[20000], expect[20000], inplace[20000];
    static int32_t table[256];
    long same = 0, total = 0;
    int t;
    (void)state;
    for (t = 0; t < 1500; ++t) {
        const int32_t axis = t % 50 == 0 ? rnd(1000, 4000) : rnd(1, 40);
        const int32_t outer = rnd(1, 4), inner = axis > 100 ? 1 : rnd(1, 3);
        const mq_dtype in_dt = rnd(0, 1) ? MQ_DTYPE_INT8 : MQ_DTYPE_UINT8;
        const mq_dtype out_dt = rnd(0, 1) ? MQ_DTYPE_INT8 : MQ_DTYPE_UINT8;
        const float s_in = (float)ldexp(1.0 + rnd_unit(), rnd(-9, 2));
        const float s_out = pick_out_scale();
        const int32_t qmin = out_dt == MQ_DTYPE_INT8 ? -128 : 0, qmax = out_dt == MQ_DTYPE_INT8 ? 127 : 255;
        const int32_t zp = rnd(0, 3) == 0 ? rnd(qmin, qmax) : qmin;
        const size_t n = (size_t)outer * (size_t)axis * (size_t)inner;
        const int spread = rnd(1, 255);
        const int base = rnd(0, 255 - spread);
        const int ort = rnd(0, 1) && s_out <= 1.0f;
        const double recip = ort ? (double)floorf(1.0f / s_out) : 1.0 / (double)s_out;
        int32_t m = 0, k = 0, o, i, j;
        mq_softmax_table_params p;
        ref_consts r;
        size_t x;
        for (x = 0; x < n; ++x) {
            in[x] = (uint8_t)(base + rnd(0, spread));
        }
        assert_int_equal(mq_softmax_table_prepare(s_in, s_out, (mq_softmax_recip_mode)ort, table, &m, &k), MQ_OK);
        fill_params(&p, outer, axis, inner, in_dt, out_dt, zp, table, m, k);
        assert_int_equal(mq_softmax_table(&p, in, out), MQ_OK);
        ref_prepare(s_in, s_out, ort, &r);
        ref_softmax(&r, in_dt, out_dt, zp, outer, axis, inner, in, expect);
        assert_memory_equal(out, expect, n);
        memcpy(inplace, in, n);
        assert_int_equal(mq_softmax_table(&p, inplace, inplace), MQ_OK);
        assert_memory_equal(inplace, expect, n);
        /* (b) float64 softmax of the dequantized codes, round half to even into (s_out, zp) */
        for (o = 0; o < outer; ++o)
            for (i = 0; i < inner; ++i) {
                double mx = -1e300, sum = 0.0;
                for (j = 0; j < axis; ++j) {
                    const double v = (double)s_in * code_of(in[((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i], in_dt);
                    mx = v > mx ? v : mx;
                }
                for (j = 0; j < axis; ++j) {
                    const double v = (double)s_in * code_of(in[((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i], in_dt);
                    sum += exp(v - mx);
                }
                for (j = 0; j < axis; ++j) {
                    const size_t at = ((size_t)o * (size_t)axis + (size_t)j) * (size_t)inner + (size_t)i;
                    const double v = (double)s_in * code_of(in[at], in_dt);
                    double q = nearbyint(exp(v - mx) / sum * recip) + zp;
                    const int32_t got = code_of(out[at], out_dt);
                    q = q < qmin ? qmin : (q > qmax ? qmax : q);
                    if (abs(got - (int32_t)q) > 1) {
                        fail_msg("float64: code %d vs %d (t %d, axis %d, s_in %g, s_out %g)", got, (int)q, t, axis,
                                 (double)s_in, (double)s_out);
                    }
                    same += got == (int32_t)q;
                    total += 1;
                }
            }
    }
    printf("softmax_table vs float64: %ld of %ld codes identical (%.4f %%)\n", same, total, 100.0 * (double)same / (double)total);
    assert_true((double)same >= 0.999 * (double)total);
}

static void test_check_rejects(void **state)
{
    static int32_t table[256];
    static uint8_t buf[64];
    int32_t m = 0, k = 0;
    mq_softmax_table_params p, q;
    (void)state;
    assert_int_equal(mq_softmax_table_prepare(0.05, 1.0 / 256, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_OK);
    fill_params(&p, 2, 10, 3, MQ_DTYPE_UINT8, MQ_DTYPE_INT8, -128, table, m, k);
    assert_int_equal(mq_softmax_table_check(&p), MQ_OK);
    assert_int_equal(mq_softmax_table_check(NULL), MQ_ERR_NULL);
    q = p; q.exp_table = NULL; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_NULL);
    q = p; q.in_dtype = MQ_DTYPE_INT32; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_DTYPE);
    q = p; q.out_dtype = MQ_DTYPE_INT16; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_DTYPE);
    q = p; q.axis_size = 0; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_SHAPE);
    q = p; q.axis_size = 65536; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_SHAPE);
    q = p; q.outer = 0; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_SHAPE);
    q = p; q.inner = 0; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_SHAPE);
    q = p; q.outer = 70000; q.inner = 70000; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_SHAPE);
    q = p; q.multiplier = 0; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_QPARAMS);
    q = p; q.shift = -1; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_QPARAMS);
    q = p; q.shift = 63; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_QPARAMS);
    q = p; q.out_zero_point = 128; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_QPARAMS);
    q = p; q.out_zero_point = -129; assert_int_equal(mq_softmax_table_check(&q), MQ_ERR_QPARAMS);
    table[0] = 0; assert_int_equal(mq_softmax_table_check(&p), MQ_ERR_QPARAMS); table[0] = 1 << 30;
    table[200] = (1 << 30) + 1; assert_int_equal(mq_softmax_table_check(&p), MQ_ERR_QPARAMS); table[200] = 0;
    table[17] = -1; assert_int_equal(mq_softmax_table_check(&p), MQ_ERR_QPARAMS);
    assert_int_equal(mq_softmax_table_prepare(0.05, 1.0 / 256, MQ_SOFTMAX_RECIP_FLOAT32, table, &m, &k), MQ_OK);
    assert_int_equal(mq_softmax_table(&p, buf, buf + 1), MQ_ERR_BUFFER);   /* partial overlap */
    assert_int_equal(mq_softmax_table(&p, NULL, buf), MQ_ERR_NULL);
    assert_int_equal(mq_softmax_table(&p, buf, buf), MQ_OK);              /* exactly in place */
}

/* (d), (e): x INT8 [2, 3, 10] --SOFTMAX_TABLE axis -1, output (1/255, zp -128 for INT8)--> y */
static void set_t(mq_writer_tensor *t, mq_dtype dt, const int32_t dims[3], float scale, int32_t zp, uint32_t off)
{
    int i;
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = 3;
    for (i = 0; i < 3; ++i) {
        t->dims[i] = dims[i];
    }
    t->scale = scale;
    t->zero_point = zp;
    t->storage = MQ_STORAGE_ARENA;
    t->arena_offset = off;
}

static void test_packed_model(void **state)
{
    static int32_t table[256];
    const int32_t dims[3] = {2, 3, 10};
    const float s_in = 0.0731f, s_out = 1.0f / 255.0f;
    mq_writer_tensor t[2];
    mq_writer_op op;
    mq_writer_model wm;
    mq_writer_diag d;
    int32_t in_ids[1] = {0}, out_ids[1] = {1}, m = 0, k = 0;
    size_t size = 0, i, s;
    uint8_t *blob, *bad, arena[256];
    uint8_t x[4][60], y[60], ybatch[4][60], expect[60];
    mq_model model;
    ref_consts r;
    (void)state;
    assert_int_equal(mq_softmax_table_prepare(s_in, s_out, MQ_SOFTMAX_RECIP_ORT_QLINEAR, table, &m, &k), MQ_OK);
    set_t(&t[0], MQ_DTYPE_INT8, dims, s_in, 3, 0);
    set_t(&t[1], MQ_DTYPE_INT8, dims, s_out, -128, 64);
    op = mq_writer_op_softmax_table(0, 1, -1, table, m, k);
    memset(&wm, 0, sizeof wm);
    wm.tensors = t;
    wm.num_tensors = 2;
    wm.ops = &op;
    wm.num_ops = 1;
    wm.inputs = in_ids;
    wm.num_inputs = 1;
    wm.outputs = out_ids;
    wm.num_outputs = 1;
    wm.arena_size = 128;
    assert_int_equal(mq_writer_write(&wm, NULL, 0, &size, &d), MQ_OK);
    blob = (uint8_t *)malloc(size);
    bad = (uint8_t *)malloc(size);
    assert_non_null(blob);
    assert_non_null(bad);
    if (mq_writer_write(&wm, blob, size, &size, &d) != MQ_OK) {
        fail_msg("writer: %s", d.message);
    }
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &model), MQ_OK);
    ref_prepare(s_in, s_out, 1, &r);
    for (s = 0; s < 4; ++s) {
        for (i = 0; i < 60; ++i) {
            x[s][i] = (uint8_t)rnd(0, 255);
        }
    }
    for (s = 0; s < 4; ++s) {
        const void *ins[1];
        void *outs[1];
        ins[0] = x[s];
        outs[0] = y;
        assert_int_equal(mq_model_run(&model, arena, sizeof arena, ins, outs), MQ_OK);
        ref_softmax(&r, MQ_DTYPE_INT8, MQ_DTYPE_INT8, -128, 6, 10, 1, x[s], expect);
        assert_memory_equal(y, expect, 60);
    }
    {
        const void *ins[1];
        void *outs[1];
        ins[0] = x;
        outs[0] = ybatch;
        assert_int_equal(mq_model_run_batch(&model, 4, ins, outs, 0), MQ_OK);
        for (s = 0; s < 4; ++s) {
            ref_softmax(&r, MQ_DTYPE_INT8, MQ_DTYPE_INT8, -128, 6, 10, 1, x[s], expect);
            assert_memory_equal(ybatch[s], expect, 60);
        }
    }
    /* the loader validates: an exp table entry above 2^30, a shift of 63, the multiplier 0, an axis beyond
     * the rank: each rejected (the CRC is not checked, so only the field check can catch them) */
    {
        int32_t t2[256];
        mq_writer_op o2;
        size_t s2 = size;
        memcpy(t2, table, sizeof t2);
        t2[5] = (1 << 30) + 7;
        o2 = mq_writer_op_softmax_table(0, 1, -1, t2, m, k);
        wm.ops = &o2;
        assert_int_not_equal(mq_writer_write(&wm, bad, size, &s2, &d), MQ_OK);
        o2 = mq_writer_op_softmax_table(0, 1, -1, table, m, 63);
        assert_int_not_equal(mq_writer_write(&wm, bad, size, &s2, &d), MQ_OK);
        o2 = mq_writer_op_softmax_table(0, 1, -1, table, 0, k);
        assert_int_not_equal(mq_writer_write(&wm, bad, size, &s2, &d), MQ_OK);
        o2 = mq_writer_op_softmax_table(0, 1, 3, table, m, k);
        assert_int_not_equal(mq_writer_write(&wm, bad, size, &s2, &d), MQ_OK);
        o2 = mq_writer_op_softmax_table(0, 1, -1, NULL, m, k);
        assert_int_equal(mq_writer_write(&wm, bad, size, &s2, &d), MQ_ERR_NULL);
        wm.ops = &op;
    }
    free(bad);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_matches_reference),
        cmocka_unit_test(test_against_int_reference_and_float64),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_packed_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
