/*
 * The 16x8 ops in the packed format (op types 32..43, INT16 tensors; docs/FORMAT.md): models written by
 * mq_writer_write, loaded by mq_model_load (CRC checked) and run by mq_model_run must give
 *   - TFLite's own outputs for CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL, AVERAGE/MAX_POOL_2D and SOFTMAX int16
 *     (the fixtures of test_s16_tflite.c, recorded from LiteRT's reference kernels), one single-op model per case;
 *   - an int64 reference written here for a mixed-precision chain int8 -> QUANTIZE_S16 -> FULLY_CONNECTED_S16 ->
 *     LUT16 -> RESCALE_S16 -> REQUANTIZE_S16_TO_8 -> int8 (TFLite Micro's 16x8 FC output stage);
 * and every single-bit corruption of that chain's blob is either rejected by the loader or runs without fault.
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
#include "microquant/mq_host_s16.h"
#include "microquant/mq_kernels_s16.h"
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#include "ref_quant.h"

#include "fx_s16.h"
#include "fx_bitflip.h"


/* malloc'd memory (16-byte aligned on the test hosts: checked) */
static void *alloc16(size_t n)
{
    void *p = malloc(n + 16u);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p & 15u, 0);
    return p;
}

/* ---- a tiny model builder: every tensor apart in the arena, in id order ---------------------------------- */

#define MAX_T 8

typedef struct {
    mq_writer_tensor t[MAX_T];
    int nt;
    mq_writer_op ops[8];
    int nops;
    int32_t in_ids[2];
    int nin;
    int32_t out_id;
} model_desc;

static int32_t add_tensor(model_desc *d, mq_dtype dt, int rank, const uint32_t *dims, float scale, int32_t zp)
{
    mq_writer_tensor *t = &d->t[d->nt];
    int i;
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    for (i = 0; i < rank; ++i) {
        t->dims[i] = (int32_t)dims[i];
    }
    t->zero_point = zp;
    t->scale = scale;
    t->storage = MQ_STORAGE_ARENA;
    return d->nt++;
}

static size_t tensor_bytes(const mq_writer_tensor *t)
{
    size_t n = t->dtype == MQ_DTYPE_INT16 ? 2u : 1u;
    int i;
    for (i = 0; i < t->rank; ++i) {
        n *= (size_t)t->dims[i];
    }
    return n;
}

/* When MQ_SEED_DIR is set (scripts/test-runtime.sh), the blobs written here are saved there
 * as fuzzer seeds, so libFuzzer starts from int16 models too (every blob written here, ~70 small models). */
static void save_seed(const uint8_t *b, size_t n)
{
    static int count = 0;
    const char *dir = getenv("MQ_SEED_DIR");
    char path[1024];
    FILE *f;
    if (dir == NULL) {
        return;
    }
    snprintf(path, sizeof path, "%s/s16-seed-%d.mqm", dir, count++);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Writes the model (offsets assigned here), returns the blob (16-aligned, caller frees) and its size. */
static uint8_t *write_model(model_desc *d, size_t *size)
{
    mq_writer_model m;
    mq_writer_diag diag;
    uint32_t off = 0u;
    uint8_t *blob;
    int i;
    for (i = 0; i < d->nt; ++i) {
        d->t[i].arena_offset = off;
        off += (uint32_t)((tensor_bytes(&d->t[i]) + 15u) & ~(size_t)15u);
    }
    memset(&m, 0, sizeof m);
    m.tensors = d->t;
    m.num_tensors = d->nt;
    m.ops = d->ops;
    m.num_ops = d->nops;
    m.inputs = d->in_ids;
    m.num_inputs = d->nin;
    m.outputs = &d->out_id;
    m.num_outputs = 1;
    m.arena_size = off;
    m.arena_lower_bound = off;
    assert_int_equal(mq_writer_write(&m, NULL, 0, size, &diag), MQ_OK);
    blob = alloc16((*size + 15u) & ~(size_t)15u);
    assert_non_null(blob);
    if (mq_writer_write(&m, blob, *size, size, &diag) != MQ_OK) {
        fail_msg("writer: %s (op %d, tensor %d)", diag.message, (int)diag.op, (int)diag.tensor);
    }
    /* int16 models are format 2.1 and ask for runtime 2.1 */
    assert_int_equal(blob[6], 1);
    assert_int_equal(blob[26], 1);
    save_seed(blob, *size);
    return blob;
}

/* Loads (CRC checked) and runs the blob on the given inputs; the output bytes go to out. */
static void run_blob(const uint8_t *blob, size_t size, const void *const *inputs, void *out)
{
    mq_model m;
    uint8_t *arena;
    void *outs[1];
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = alloc16(((size_t)m.arena_size + 16u) & ~(size_t)15u);
    assert_non_null(arena);
    outs[0] = out;
    assert_int_equal(mq_model_run(&m, arena, m.arena_size, inputs, outs), MQ_OK);
    free(arena);
}

static void dims_of(const fx_array *a, uint32_t *dims, int *rank)
{
    int i;
    assert_true(a->ndim <= 4);
    *rank = a->ndim;
    for (i = 0; i < a->ndim; ++i) {
        dims[i] = a->dims[i];
    }
}

static long compare16(const char *op, int idx, const int16_t *got, const fx_array *want)
{
    long bad = 0;
    size_t i;
    for (i = 0; i < want->count; ++i) {
        int16_t w;
        memcpy(&w, want->data + 2 * i, 2);
        if (got[i] != w) {
            if (bad < 5) {
                printf("  %s case %d: element %zu: packed model %d, TFLite %d\n", op, idx, i, got[i], w);
            }
            ++bad;
        }
    }
    return bad;
}

static void multipliers(double s_in, const fx_array *s_w, double s_out, int32_t *m, int32_t *s)
{
    static double ws[4096];
    size_t c;
    assert_true(s_w->count <= 4096);
    for (c = 0; c < s_w->count; ++c) {
        ws[c] = f64_at(s_w, c);
    }
    assert_int_equal(mq_s16_output_multipliers(s_in, ws, (int32_t)s_w->count, s_out, m, s, NULL), MQ_OK);
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

/* One fixture file through single-op packed models. kind: 0 conv, 1 depthwise, 2 add, 3 mul, 4 avg, 5 max, 6 softmax */
static void through_runtime(const char *name, int kind)
{
    size_t len, pos = 0;
    uint8_t *buf = load(name, &len);
    fx_case c;
    int n_cases = 0;
    long elems = 0, bad = 0;
    static int32_t m[4096], s[4096];
    while (next_case(buf, len, &pos, &c)) {
        model_desc d;
        const fx_array *y = get(&c, "y", 2);
        const fx_array *x = get(&c, kind == 2 || kind == 3 ? "x1" : "x", 2);
        uint32_t dims[4];
        int rank;
        int16_t *xin = copy_array(x), *xin2 = NULL, *out = calloc(y->count + 8, 2);
        int8_t *wt = NULL;
        int64_t *bias = NULL;
        int16_t exp_lut[MQ_LUT16_SIZE], recip_lut[MQ_LUT16_SIZE];
        const void *inputs[2];
        uint8_t *blob;
        size_t size;
        mq_writer_op *op;
        memset(&d, 0, sizeof d);
        dims_of(x, dims, &rank);
        if (kind == 2 || kind == 3) {
            rank = 1; /* elementwise: flat views */
            dims[0] = (uint32_t)x->count;
        }
        d.in_ids[0] = add_tensor(&d, MQ_DTYPE_INT16, rank, dims, 1.0f, 0);
        d.nin = 1;
        inputs[0] = xin;
        if (kind == 2 || kind == 3) {
            const fx_array *x2 = get(&c, "x2", 2);
            uint32_t d2[4];
            int r2;
            dims_of(x2, d2, &r2);
            r2 = 1;
            d2[0] = (uint32_t)x2->count;
            assert_int_equal(x2->count, x->count); /* the fixtures have no broadcast */
            xin2 = copy_array(x2);
            d.in_ids[1] = add_tensor(&d, MQ_DTYPE_INT16, r2, d2, 1.0f, 0);
            d.nin = 2;
            inputs[1] = xin2;
        }
        dims_of(y, dims, &rank);
        if (kind == 2 || kind == 3) {
            rank = 1;
            dims[0] = (uint32_t)y->count;
        }
        d.out_id = add_tensor(&d, MQ_DTYPE_INT16, rank, dims, 1.0f, 0);
        op = &d.ops[0];
        memset(op, 0, sizeof *op);
        op->num_inputs = d.nin;
        op->inputs[0] = d.in_ids[0];
        op->inputs[1] = d.in_ids[1];
        op->num_outputs = 1;
        op->outputs[0] = d.out_id;
        d.nops = 1;
        if (kind <= 1) {
            const fx_array *w = get(&c, "w", 1), *b = get(&c, "b", 4), *sw = get(&c, "s_w", 5), *act = get(&c, "act", 3);
            mq_window win;
            int32_t in_c;
            wt = copy_array(w);
            bias = copy_array(b);
            window_from(get(&c, "geo", 3), &win, &in_c);
            multipliers(f64_at(get(&c, "s_in", 5), 0), sw, f64_at(get(&c, "s_out", 5), 0), m, s);
            if (kind == 0) {
                op->type = MQ_OP_CONV_S16;
                op->conv_s16.win = win;
                op->conv_s16.gemm.n = (int32_t)w->dims[0];
                op->conv_s16.gemm.k = (int32_t)(w->count / w->dims[0]);
                op->conv_s16.gemm.weights = wt;
                op->conv_s16.gemm.bias = bias;
                op->conv_s16.gemm.multiplier = m;
                op->conv_s16.gemm.shift = s;
                op->conv_s16.gemm.per_channel = sw->count > 1;
                op->conv_s16.gemm.act_min = i32_at(act, 0);
                op->conv_s16.gemm.act_max = i32_at(act, 1);
            } else {
                op->type = MQ_OP_DEPTHWISE_CONV_S16;
                op->depthwise_s16.win = win;
                op->depthwise_s16.depth_multiplier = (int32_t)w->dims[3] / in_c;
                op->depthwise_s16.weights = wt;
                op->depthwise_s16.bias = bias;
                op->depthwise_s16.multiplier = m;
                op->depthwise_s16.shift = s;
                op->depthwise_s16.per_channel = sw->count > 1;
                op->depthwise_s16.act_min = i32_at(act, 0);
                op->depthwise_s16.act_max = i32_at(act, 1);
            }
        } else if (kind <= 3) {
            const fx_array *act = get(&c, "act", 3);
            const double s1 = f64_at(get(&c, "s1", 5), 0), s2 = f64_at(get(&c, "s2", 5), 0);
            const double so = f64_at(get(&c, "s_out", 5), 0);
            if (kind == 3) {
                op->type = MQ_OP_MUL_S16;
                assert_int_equal(mq_quantize_multiplier(s1 * s2 / so, &op->mul_s16.out_multiplier, &op->mul_s16.out_shift),
                                 MQ_OK);
                op->mul_s16.act_min = i32_at(act, 0);
                op->mul_s16.act_max = i32_at(act, 1);
                op->mul_s16.broadcast = MQ_BCAST_NONE;
            } else {
                op->type = MQ_OP_ADD_S16;
                assert_int_equal(mq_add_s16_prepare(s1, s2, so, i32_at(act, 0), i32_at(act, 1), &op->add_s16), MQ_OK);
            }
        } else if (kind <= 5) {
            int32_t ch;
            op->type = kind == 4 ? MQ_OP_AVERAGE_POOL_S16 : MQ_OP_MAX_POOL_S16;
            window_from(get(&c, "geo", 3), &op->pool_s16.win, &ch);
            op->pool_s16.act_min = -32768;
            op->pool_s16.act_max = 32767;
        } else {
            op->type = MQ_OP_SOFTMAX_S16;
            assert_int_equal(mq_softmax_s16_prepare(f64_at(get(&c, "s_in", 5), 0), f64_at(get(&c, "beta", 5), 0), exp_lut,
                                                    recip_lut, &op->softmax_s16.input_multiplier,
                                                    &op->softmax_s16.input_shift),
                             MQ_OK);
            op->softmax_s16.exp_lut = exp_lut;
            op->softmax_s16.recip_lut = recip_lut;
        }
        blob = write_model(&d, &size);
        run_blob(blob, size, inputs, out);
        bad += compare16(name, n_cases, out, y);
        elems += (long)y->count;
        free(blob);
        free(xin);
        free(xin2);
        free(out);
        free(wt);
        free(bias);
        ++n_cases;
    }
    free(buf);
    printf("%-10s %d single-op packed models, %ld outputs compared with TFLite's reference kernel, %ld differ\n", name,
           n_cases, elems, bad);
    assert_true(n_cases > 0);
    assert_int_equal(bad, 0);
}

static void test_conv_packed(void **state)
{
    (void)state;
    through_runtime("conv", 0);
}
static void test_depthwise_packed(void **state)
{
    (void)state;
    through_runtime("depthwise", 1);
}
static void test_add_packed(void **state)
{
    (void)state;
    through_runtime("add", 2);
}
static void test_mul_packed(void **state)
{
    (void)state;
    through_runtime("mul", 3);
}
static void test_pools_packed(void **state)
{
    (void)state;
    through_runtime("avgpool", 4);
    through_runtime("maxpool", 5);
}
static void test_softmax_packed(void **state)
{
    (void)state;
    through_runtime("softmax", 6);
}

/* ---- the mixed-precision chain against int64 code written here ------------------------------------------- */

#define CH_B 3
#define CH_K 24
#define CH_N 10

typedef struct {
    int8_t w[CH_N * CH_K];
    int64_t bias[CH_N];
    int32_t fm[CH_N], fs[CH_N];
    int16_t table[MQ_LUT16_SIZE];
    int32_t q_m, q_s, r_m, r_s, o_m, o_s;
    int32_t in_zp, out_zp;
    int32_t act_min, act_max;
} chain;

/* TFLite's MultiplyByQuantizedMultiplier(int64, int32, int) with its 16-bit rounded multiplier, in int64 here. */
static int32_t ref_mbqm64(int64_t acc, int32_t m, int32_t shift)
{
    const int64_t m16 = m < 0x7FFF0000 ? ((int64_t)m + 32768) / 65536 : 0x7FFF;
    const int total = 15 - shift;
    return (int32_t)ref_floor_div_pow2(acc * m16 + ((int64_t)1 << (total - 1)), total);
}

static int32_t ref_sat(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}

static int16_t ref_lut16(const int16_t *t, int32_t x)
{
    const int32_t i = 256 + (int32_t)ref_floor_div_pow2(x, 7);
    const int32_t f = x - 128 * (i - 256);
    const int64_t slope = (int64_t)t[i + 1] - t[i];
    return (int16_t)(t[i] + ref_floor_div_pow2(slope * f + 64, 7));
}

static void chain_reference(const chain *c, const int8_t *x, int8_t *y)
{
    int b, n, k;
    for (b = 0; b < CH_B; ++b) {
        int16_t x16[CH_K];
        for (k = 0; k < CH_K; ++k) {
            x16[k] = (int16_t)ref_sat(ref_requantize(x[b * CH_K + k] - c->in_zp, c->q_m, c->q_s), -32768, 32767);
        }
        for (n = 0; n < CH_N; ++n) {
            int64_t acc = c->bias[n];
            int16_t h, r;
            for (k = 0; k < CH_K; ++k) {
                acc += (int64_t)x16[k] * c->w[n * CH_K + k];
            }
            h = (int16_t)ref_sat(ref_mbqm64(acc, c->fm[n], c->fs[n]), c->act_min, c->act_max);
            h = ref_lut16(c->table, h);
            r = (int16_t)ref_sat(ref_requantize(h, c->r_m, c->r_s), -32768, 32767);
            y[b * CH_N + n] = (int8_t)ref_sat((int64_t)ref_requantize(r, c->o_m, c->o_s) + c->out_zp, -128, 127);
        }
    }
}

static uint8_t *chain_blob(const chain *c, size_t *size)
{
    static model_desc d;
    const uint32_t din[2] = {CH_B, CH_K}, dout[2] = {CH_B, CH_N};
    int32_t x8, x16, h, l, r, y8;
    mq_writer_op *op;
    memset(&d, 0, sizeof d);
    x8 = add_tensor(&d, MQ_DTYPE_INT8, 2, din, 0.05f, c->in_zp);
    x16 = add_tensor(&d, MQ_DTYPE_INT16, 2, din, 0.001f, 0);
    h = add_tensor(&d, MQ_DTYPE_INT16, 2, dout, 0.002f, 0);
    l = add_tensor(&d, MQ_DTYPE_INT16, 2, dout, 1.0f / 32768, 0);
    r = add_tensor(&d, MQ_DTYPE_INT16, 2, dout, 1.0f / 16384, 0);
    y8 = add_tensor(&d, MQ_DTYPE_INT8, 2, dout, 1.0f / 128, c->out_zp);
    d.in_ids[0] = x8;
    d.nin = 1;
    d.out_id = y8;
    op = &d.ops[0];
    memset(d.ops, 0, sizeof d.ops);
    op[0].type = MQ_OP_QUANTIZE_S16;
    op[0].s16_multiplier = c->q_m;
    op[0].s16_shift = c->q_s;
    op[1].type = MQ_OP_FULLY_CONNECTED_S16;
    op[1].fc_s16.n = CH_N;
    op[1].fc_s16.k = CH_K;
    op[1].fc_s16.weights = c->w;
    op[1].fc_s16.bias = c->bias;
    op[1].fc_s16.multiplier = c->fm;
    op[1].fc_s16.shift = c->fs;
    op[1].fc_s16.per_channel = 1;
    op[1].fc_s16.act_min = c->act_min;
    op[1].fc_s16.act_max = c->act_max;
    op[2].type = MQ_OP_LUT16;
    op[2].lut16 = c->table;
    op[3].type = MQ_OP_RESCALE_S16;
    op[3].s16_multiplier = c->r_m;
    op[3].s16_shift = c->r_s;
    op[4].type = MQ_OP_REQUANTIZE_S16_TO_8;
    op[4].s16_multiplier = c->o_m;
    op[4].s16_shift = c->o_s;
    {
        const int32_t ids[6] = {x8, x16, h, l, r, y8};
        int i;
        for (i = 0; i < 5; ++i) {
            op[i].num_inputs = 1;
            op[i].inputs[0] = ids[i];
            op[i].num_outputs = 1;
            op[i].outputs[0] = ids[i + 1];
        }
    }
    d.nops = 5;
    return write_model(&d, size);
}

static void make_chain(chain *c, ref_rng *g)
{
    int i;
    for (i = 0; i < CH_N * CH_K; ++i) {
        c->w[i] = (int8_t)ref_range(g, -127, 127);
    }
    for (i = 0; i < CH_N; ++i) {
        c->bias[i] = ref_range(g, -(1 << 20), 1 << 20);
        c->fm[i] = ref_multiplier(g);
        c->fs[i] = (int32_t)ref_range(g, -14, -8);
    }
    for (i = 0; i < MQ_LUT16_SIZE; ++i) {
        c->table[i] = (int16_t)ref_range(g, -32768, 32767);
    }
    c->q_m = ref_multiplier(g);
    c->q_s = (int32_t)ref_range(g, 2, 8);
    c->r_m = ref_multiplier(g);
    c->r_s = (int32_t)ref_range(g, -2, 0);
    c->o_m = ref_multiplier(g);
    c->o_s = (int32_t)ref_range(g, -9, -6);
    c->in_zp = (int32_t)ref_range(g, -20, 20);
    c->out_zp = (int32_t)ref_range(g, -20, 20);
    c->act_min = (int32_t)ref_range(g, -32768, -20000);
    c->act_max = (int32_t)ref_range(g, 20000, 32767);
}

static void test_chain_int64_reference(void **state)
{
    ref_rng g = {0x5116u};
    int trial, i;
    long elems = 0;
    (void)state;
    for (trial = 0; trial < 40; ++trial) {
        static chain c;
        int8_t x[CH_B * CH_K], want[CH_B * CH_N], got[CH_B * CH_N];
        const void *inputs[1] = {x};
        uint8_t *blob;
        size_t size;
        make_chain(&c, &g);
        for (i = 0; i < CH_B * CH_K; ++i) {
            x[i] = (int8_t)ref_range(&g, -128, 127);
        }
        chain_reference(&c, x, want);
        blob = chain_blob(&c, &size);
        run_blob(blob, size, inputs, got);
        assert_memory_equal(got, want, sizeof want);
        elems += CH_B * CH_N;
        {
            /* the host's batched runner (simulate) on two samples: its per-sample fallback for 16x8 ops */
            int8_t xb[2 * CH_B * CH_K], wantb[CH_B * CH_N], gotb[2 * CH_B * CH_N];
            const void *bin[1] = {xb};
            void *bout[1] = {gotb};
            mq_model m;
            memcpy(xb, x, sizeof x);
            for (i = 0; i < CH_B * CH_K; ++i) {
                xb[CH_B * CH_K + i] = (int8_t)ref_range(&g, -128, 127);
            }
            chain_reference(&c, xb + CH_B * CH_K, wantb);
            assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
            assert_int_equal(mq_model_run_batch(&m, 2u, bin, bout, 0u), MQ_OK);
            assert_memory_equal(gotb, want, sizeof want);
            assert_memory_equal(gotb + CH_B * CH_N, wantb, sizeof wantb);
            elems += CH_B * CH_N;
        }
        free(blob);
    }
    printf("chain int8 -> 16x8 FC -> LUT16 -> rescale -> int8: 40 random models (mq_model_run and the batched host runner), %ld outputs equal the int64 reference\n",
           elems);
}

/* Every single-bit flip of the chain blob (CRC not checked, so the structural checks see every flip): rejected,
 * or loaded and run without fault (run under the sanitizers by scripts/test-c.sh). */
static void test_chain_bit_flips(void **state)
{
    ref_rng g = {0xF11Bu};
    static chain c;
    uint8_t *blob, *t, *arena;
    size_t size;
    long accepted = 0, rejected = 0, ran = 0;
    static int8_t x[4096], y[4096]; /* a flipped IO id may name another (bigger) tensor: room for any */
    const void *inputs[1] = {x};
    void *outs[1] = {y};
    (void)state;
    make_chain(&c, &g);
    blob = chain_blob(&c, &size);
    t = alloc16((size + 15u) & ~(size_t)15u);
    arena = alloc16(4096);
    assert_non_null(t);
    assert_non_null(arena);
    fx_flip_each_bit(blob, size, t, arena, 4096u, inputs, outs, &rejected, &accepted, &ran);
    printf("chain blob: %zu bit flips, %ld rejected, %ld accepted (%ld of them run)\n", size * 8u, rejected, accepted, ran);
    assert_true(rejected > 0);
    free(t);
    free(arena);
    free(blob);
}

/* The loader refuses what the kernels must not see: an int64 bias beyond [-2^62, 2^62) (bias + dot product would
 * overflow int64), a shift beyond TFLite's int64 requantization range, a bad LUT16 table size (via the writer,
 * which loads what it writes). */
static void test_rejections(void **state)
{
    ref_rng g = {0xBADu};
    static chain c;
    static model_desc d;
    const uint32_t din[2] = {CH_B, CH_K}, dout[2] = {CH_B, CH_N};
    mq_writer_model m;
    mq_writer_diag diag;
    size_t size = 0;
    static uint8_t buf[65536];
    int i;
    (void)state;
    make_chain(&c, &g);
    for (i = 0; i < 3; ++i) {
        memset(&d, 0, sizeof d);
        d.in_ids[0] = add_tensor(&d, MQ_DTYPE_INT16, 2, din, 0.001f, 0);
        d.nin = 1;
        d.out_id = add_tensor(&d, MQ_DTYPE_INT16, 2, dout, 0.002f, 0);
        d.t[1].arena_offset = 256;
        memset(&d.ops[0], 0, sizeof d.ops[0]);
        d.ops[0].type = MQ_OP_FULLY_CONNECTED_S16;
        d.ops[0].num_inputs = 1;
        d.ops[0].inputs[0] = d.in_ids[0];
        d.ops[0].num_outputs = 1;
        d.ops[0].outputs[0] = d.out_id;
        d.ops[0].fc_s16.n = CH_N;
        d.ops[0].fc_s16.k = CH_K;
        d.ops[0].fc_s16.weights = c.w;
        d.ops[0].fc_s16.bias = c.bias;
        d.ops[0].fc_s16.multiplier = c.fm;
        d.ops[0].fc_s16.shift = c.fs;
        d.ops[0].fc_s16.per_channel = 1;
        d.ops[0].fc_s16.act_min = -32768;
        d.ops[0].fc_s16.act_max = 32767;
        d.nops = 1;
        memset(&m, 0, sizeof m);
        m.tensors = d.t;
        m.num_tensors = d.nt;
        m.ops = d.ops;
        m.num_ops = 1;
        m.inputs = d.in_ids;
        m.num_inputs = 1;
        m.outputs = &d.out_id;
        m.num_outputs = 1;
        m.arena_size = 512;
        m.arena_lower_bound = 512;
        if (i == 0) {
            assert_int_equal(mq_writer_write(&m, buf, sizeof buf, &size, &diag), MQ_OK); /* the valid one */
            c.bias[2] = (int64_t)1 << 62;
            assert_int_equal(mq_writer_write(&m, buf, sizeof buf, &size, &diag), MQ_ERR_QPARAMS);
            c.bias[2] = -((int64_t)1 << 62); /* the lowest allowed */
            assert_int_equal(mq_writer_write(&m, buf, sizeof buf, &size, &diag), MQ_OK);
            c.bias[2] = 0;
        } else if (i == 1) {
            c.fs[1] = 8; /* TFLite's int64 requantization allows shifts up to 7 */
            assert_int_not_equal(mq_writer_write(&m, buf, sizeof buf, &size, &diag), MQ_OK);
            c.fs[1] = -10;
        } else {
            d.t[0].zero_point = 3; /* INT16 tensors are symmetric */
            assert_int_equal(mq_writer_write(&m, buf, sizeof buf, &size, &diag), MQ_ERR_FORMAT_TENSOR);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_packed),  cmocka_unit_test(test_depthwise_packed),
        cmocka_unit_test(test_add_packed),   cmocka_unit_test(test_mul_packed),
        cmocka_unit_test(test_pools_packed), cmocka_unit_test(test_softmax_packed),
        cmocka_unit_test(test_chain_int64_reference), cmocka_unit_test(test_chain_bit_flips),
        cmocka_unit_test(test_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
