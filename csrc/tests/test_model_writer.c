/*
 * cmocka: the host writer (mq_writer.h) and the runtime on small models built in the test.
 * Expected outputs come from int64 references written here on the unpacked parameters.
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
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#include "ref_quant.h"
#include "ref_softmax.h"

static int32_t clampi(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

static uint32_t g_seed = 777u;
static int32_t rnd(int32_t lo, int32_t hi)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return lo + (int32_t)((g_seed >> 8) % (uint32_t)(hi - lo + 1));
}

static void set_tensor(mq_writer_tensor *t, mq_dtype dt, int32_t rank, const int32_t *dims, double scale,
                       int32_t zp, uint32_t off)
{
    int32_t i;
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    for (i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
    }
    t->scale = (float)scale;
    t->zero_point = zp;
    t->storage = MQ_STORAGE_ARENA;
    t->arena_offset = off;
}

/*
 * Model A: x UINT8 [2,20] --FC per-channel (n 6)--> y INT8 [2,6] --RESHAPE--> [2,2,3]
 *          --TRANSPOSE (2,0,1)--> [3,2,2] --LUT sigmoid (in place)--> out UINT8 [3,2,2]
 */
typedef struct {
    int8_t w[6][20];
    int32_t bias[6], folded[6], mult[6], shift[6];
    int8_t packed[8 * 32];
    uint8_t lut[256];
    uint8_t x[40];
    mq_writer_tensor t[5];
    mq_writer_op ops[4];
    int32_t in_ids[1], out_ids[1];
    mq_writer_model m;
} model_a;

static void build_model_a(model_a *a)
{
    const int32_t d0[2] = { 2, 20 }, d1[2] = { 2, 6 }, d2[3] = { 2, 2, 3 }, d3[3] = { 3, 2, 2 };
    const mq_activation_desc sig = { MQ_ACT_SIGMOID, 0.0, 0.0 };
    double sig_scale;
    int32_t sig_zp;
    int32_t i, k;
    memset(a, 0, sizeof *a);
    for (i = 0; i < 6; i++) {
        for (k = 0; k < 20; k++) {
            a->w[i][k] = (int8_t)rnd(-127, 127);
        }
        a->bias[i] = rnd(-500, 500);
        assert_int_equal(mq_quantize_multiplier(0.1 * 0.003 * (1.0 + 0.1 * i) / 0.08, &a->mult[i], &a->shift[i]),
                         MQ_OK);
    }
    for (i = 0; i < 40; i++) {
        a->x[i] = (uint8_t)rnd(0, 255);
    }
    assert_int_equal(mq_pack_weights_n4k16(&a->w[0][0], 6, 20, a->packed, sizeof a->packed), MQ_OK);
    assert_int_equal(mq_fold_bias(&a->w[0][0], a->bias, 6, 20, 130, MQ_DTYPE_UINT8, a->folded), MQ_OK);
    assert_int_equal(mq_sigmoid_output_qparams(MQ_DTYPE_UINT8, &sig_scale, &sig_zp), MQ_OK);
    assert_int_equal(mq_lut_build(&sig, 0.08, 4, MQ_DTYPE_INT8, sig_scale, sig_zp, MQ_DTYPE_UINT8, a->lut), MQ_OK);

    set_tensor(&a->t[0], MQ_DTYPE_UINT8, 2, d0, 0.1, 130, 0);
    set_tensor(&a->t[1], MQ_DTYPE_INT8, 2, d1, 0.08, 4, 48);
    set_tensor(&a->t[2], MQ_DTYPE_INT8, 3, d2, 0.08, 4, 48);
    set_tensor(&a->t[3], MQ_DTYPE_INT8, 3, d3, 0.08, 4, 0);
    set_tensor(&a->t[4], MQ_DTYPE_UINT8, 3, d3, sig_scale, sig_zp, 0);

    a->ops[0].type = MQ_OP_FULLY_CONNECTED;
    a->ops[0].num_inputs = a->ops[0].num_outputs = 1;
    a->ops[0].inputs[0] = 0;
    a->ops[0].outputs[0] = 1;
    a->ops[0].fc.n = 6;
    a->ops[0].fc.k = 20;
    a->ops[0].fc.weights.packed = a->packed;
    a->ops[0].fc.bias.folded = a->folded;
    a->ops[0].fc.multiplier = a->mult;
    a->ops[0].fc.shift = a->shift;
    a->ops[0].fc.per_channel = 1;
    a->ops[0].fc.in_dtype = MQ_DTYPE_UINT8;
    a->ops[0].fc.out_dtype = MQ_DTYPE_INT8;
    a->ops[0].fc.out_zero_point = 4;
    a->ops[0].fc.act_min = -128;
    a->ops[0].fc.act_max = 127;
    a->ops[1].type = MQ_OP_RESHAPE;
    a->ops[1].num_inputs = a->ops[1].num_outputs = 1;
    a->ops[1].inputs[0] = 1;
    a->ops[1].outputs[0] = 2;
    a->ops[2].type = MQ_OP_TRANSPOSE;
    a->ops[2].num_inputs = a->ops[2].num_outputs = 1;
    a->ops[2].inputs[0] = 2;
    a->ops[2].outputs[0] = 3;
    a->ops[2].perm[0] = 2;
    a->ops[2].perm[1] = 0;
    a->ops[2].perm[2] = 1;
    a->ops[3].type = MQ_OP_LUT;
    a->ops[3].num_inputs = a->ops[3].num_outputs = 1;
    a->ops[3].inputs[0] = 3;
    a->ops[3].outputs[0] = 4;
    a->ops[3].lut = a->lut;

    a->in_ids[0] = 0;
    a->out_ids[0] = 4;
    a->m.tensors = a->t;
    a->m.num_tensors = 5;
    a->m.ops = a->ops;
    a->m.num_ops = 4;
    a->m.inputs = a->in_ids;
    a->m.num_inputs = 1;
    a->m.outputs = a->out_ids;
    a->m.num_outputs = 1;
    a->m.arena_size = 64;
    a->m.arena_lower_bound = 52;
    a->m.metadata.producer = "test";
}

static void reference_a(const model_a *a, uint8_t out[12])
{
    int8_t y[2][6];
    int32_t r, c, k, i, j, l;
    for (r = 0; r < 2; r++) {
        for (c = 0; c < 6; c++) {
            int64_t acc = a->bias[c];
            for (k = 0; k < 20; k++) {
                acc += (int64_t)((int32_t)a->x[r * 20 + k] - 130) * a->w[c][k];
            }
            y[r][c] = (int8_t)clampi(4 + ref_requantize64(acc, a->mult[c], a->shift[c]), -128, 127);
        }
    }
    /* reshape [2,6] -> [2,2,3]: v[i][j][l] = flat[i*6 + j*3 + l]; transpose (2,0,1): o[l][i][j] */
    for (l = 0; l < 3; l++) {
        for (i = 0; i < 2; i++) {
            for (j = 0; j < 2; j++) {
                out[(l * 2 + i) * 2 + j] = a->lut[(uint8_t)(&y[0][0])[i * 6 + j * 3 + l]];
            }
        }
    }
}

/* When MQ_SEED_DIR is set (scripts/test-runtime.sh), every blob written here is also saved there as a
 * seed for the fuzzer's corpus. */
static void save_seed(const uint8_t *b, size_t n)
{
    static int count = 0;
    const char *dir = getenv("MQ_SEED_DIR");
    char path[1024];
    FILE *f;
    if (dir == NULL) {
        return;
    }
    snprintf(path, sizeof path, "%s/writer-seed-%d.mqm", dir, count++);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static uint8_t *write_blob(const mq_writer_model *m, size_t *size)
{
    mq_writer_diag d;
    uint8_t *b;
    assert_int_equal(mq_writer_write(m, NULL, 0, size, &d), MQ_OK);
    b = (uint8_t *)malloc(*size);
    assert_non_null(b);
    memset(b, 0xEE, *size);
    if (mq_writer_write(m, b, *size, size, &d) != MQ_OK) {
        fail_msg("writer: %s (tensor %d, op %d)", d.message, (int)d.tensor, (int)d.op);
    }
    save_seed(b, *size);
    return b;
}

static void test_model_a_runs_against_reference(void **state)
{
    model_a *a = (model_a *)malloc(sizeof *a);
    uint8_t expect[12], got[12];
    uint8_t *blob, *arena;
    size_t size;
    mq_model m;
    const void *ins[1];
    void *outs[1] = { got };
    (void)state;
    assert_non_null(a);
    build_model_a(a);
    blob = write_blob(&a->m, &size);
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = (uint8_t *)malloc(64);
    assert_non_null(arena);
    ins[0] = a->x;
    assert_int_equal(mq_model_run(&m, arena, 64, ins, outs), MQ_OK);
    reference_a(a, expect);
    assert_memory_equal(got, expect, 12);
    free(arena);
    free(blob);
    free(a);
}

static void test_writer_deterministic_and_sized(void **state)
{
    model_a *a = (model_a *)malloc(sizeof *a);
    uint8_t *b1, *b2;
    size_t s1, s2, need = 0;
    mq_writer_diag d;
    (void)state;
    assert_non_null(a);
    build_model_a(a);
    b1 = write_blob(&a->m, &s1);
    b2 = (uint8_t *)malloc(s1 + 64);
    assert_non_null(b2);
    memset(b2, 0x33, s1 + 64); /* different garbage: padding must still come out zero */
    assert_int_equal(mq_writer_write(&a->m, b2, s1 + 64, &s2, &d), MQ_OK);
    assert_int_equal(s1, s2);
    assert_memory_equal(b1, b2, s1);
    assert_int_equal(s1 % 16, 0);
    assert_int_equal(mq_writer_write(&a->m, b2, s1 - 1, &need, &d), MQ_ERR_BUFFER);
    assert_int_equal(need, s1);
    assert_true(strlen(d.message) > 0);
    free(b1);
    free(b2);
    free(a);
}

static void test_writer_reports_where(void **state)
{
    model_a *a = (model_a *)malloc(sizeof *a);
    uint8_t *b;
    size_t size = 0;
    mq_writer_diag d;
    (void)state;
    assert_non_null(a);
    build_model_a(a);
    assert_int_equal(mq_writer_write(&a->m, NULL, 0, &size, &d), MQ_OK);
    b = (uint8_t *)malloc(size + 1024);
    assert_non_null(b);

    /* n disagrees with the output tensor: the loader (run by the writer) finds it in op 0 */
    a->ops[0].fc.n = 5;
    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_ERR_SHAPE);
    assert_int_equal(d.op, 0);
    assert_true(strstr(d.message, "op record") != NULL);
    a->ops[0].fc.n = 6;

    /* missing weights: the writer's own check */
    a->ops[0].fc.weights.packed = NULL;
    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_ERR_NULL);
    assert_int_equal(d.op, 0);
    a->ops[0].fc.weights.packed = a->packed;

    /* a tensor past the declared arena */
    a->t[3].arena_offset = 64;
    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_ERR_ARENA);
    assert_int_equal(d.tensor, 3);
    a->t[3].arena_offset = 0;

    /* transpose perm not a permutation */
    a->ops[2].perm[1] = 2;
    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_ERR_FORMAT_OP);
    assert_int_equal(d.op, 2);
    a->ops[2].perm[1] = 0;

    /* FC output overlapping its input */
    a->t[1].arena_offset = 32;
    a->t[2].arena_offset = 32;
    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_ERR_ARENA);
    assert_int_equal(d.op, 0);
    a->t[1].arena_offset = 48;
    a->t[2].arena_offset = 48;

    /* unsupported op type */
    a->ops[1].type = (mq_op_type)45;
    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_ERR_UNSUPPORTED_OP);
    assert_int_equal(d.op, 1);
    a->ops[1].type = MQ_OP_RESHAPE;

    assert_int_equal(mq_writer_write(&a->m, b, size + 1024, &size, &d), MQ_OK);
    free(b);
    free(a);
}

/*
 * Format-2 ops through the writer constructors: x INT8 [1,5,5,2] --CONV 3x3 stride 1 pads 1, per-tensor-->
 * y INT8 [1,5,5,4] (int64 reference here), the scratch the planner must reserve (mq_writer_op_scratch_size
 * == the kernel's), and the writer's diagnostics for bad format-2 descriptions (op index and message).
 */
static void test_format2_ops_through_the_writer(void **state)
{
    enum { H = 5, W = 5, C = 2, N = 4, K = 9 * C };
    int8_t w[N][K], packed[4 * 32];
    int32_t bias[N], folded[N], mult, shift;
    uint8_t x[H * W * C], y[H * W * N];
    mq_writer_tensor t[3];
    mq_writer_op ops[2];
    mq_writer_model m;
    mq_writer_diag d;
    mq_conv_params cp, full;
    mq_model model;
    int32_t ins[1] = { 0 }, outs[1] = { 1 }, cat[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    const int32_t dx[4] = { 1, H, W, C }, dy[4] = { 1, H, W, N };
    size_t size = 0, scratch;
    uint8_t *b, *arena;
    const void *in_ptrs[1];
    void *out_ptrs[1];
    int32_t i, o, oy, ox, ky, kx, c;
    (void)state;
    for (o = 0; o < N; o++) {
        for (i = 0; i < K; i++) {
            w[o][i] = (int8_t)rnd(-127, 127);
        }
        bias[o] = rnd(-2000, 2000);
    }
    for (i = 0; i < H * W * C; i++) {
        x[i] = ref_byte(rnd(-128, 127));
    }
    assert_int_equal(mq_pack_weights_n4k16(&w[0][0], N, K, packed, sizeof packed), MQ_OK);
    assert_int_equal(mq_fold_bias(&w[0][0], bias, N, K, 3, MQ_DTYPE_INT8, folded), MQ_OK);
    assert_int_equal(mq_quantize_multiplier(0.0031, &mult, &shift), MQ_OK);
    set_tensor(&t[0], MQ_DTYPE_INT8, 4, dx, 0.1, 3, 0);
    set_tensor(&t[1], MQ_DTYPE_INT8, 4, dy, 0.2, -1, 64);
    memset(&cp, 0, sizeof cp);
    cp.win.kernel_h = cp.win.kernel_w = 3;
    cp.win.stride_h = cp.win.stride_w = 1;
    cp.win.dilation_h = cp.win.dilation_w = 1;
    cp.win.pad_top = cp.win.pad_bottom = cp.win.pad_left = cp.win.pad_right = 1;
    cp.gemm.n = N;
    cp.gemm.k = K;
    cp.gemm.weights.packed = packed;
    cp.gemm.bias.folded = folded;
    cp.gemm.multiplier = &mult;
    cp.gemm.shift = &shift;
    cp.gemm.in_dtype = MQ_DTYPE_INT8;
    cp.gemm.out_dtype = MQ_DTYPE_INT8;
    cp.gemm.out_zero_point = -1;
    cp.gemm.act_min = -128;
    cp.gemm.act_max = 127;
    ops[0] = mq_writer_op_conv(0, 1, &cp, 176);
    /* the planner's scratch size: the kernel's own on the parameters completed from the tensors */
    full = cp;
    full.win.batch = 1;
    full.win.in_h = full.win.out_h = H;
    full.win.in_w = full.win.out_w = W;
    full.in_c = C;
    full.in_zero_point = 3;
    scratch = mq_writer_op_scratch_size(&ops[0], t, 2);
    assert_true(scratch > 0u);
    assert_int_equal(scratch, mq_conv_scratch_size(&full));
    assert_int_equal(mq_writer_op_scratch_size(&ops[0], t, 1), 0); /* output index out of range */
    memset(&m, 0, sizeof m);
    m.tensors = t;
    m.num_tensors = 2;
    m.ops = ops;
    m.num_ops = 1;
    m.inputs = ins;
    m.num_inputs = 1;
    m.outputs = outs;
    m.num_outputs = 1;
    m.arena_size = 176u + (uint32_t)((scratch + 15u) & ~(size_t)15u);
    m.arena_lower_bound = m.arena_size;
    assert_int_equal(mq_writer_write(&m, NULL, 0, &size, &d), MQ_OK);
    b = (uint8_t *)malloc(size);
    assert_non_null(b);
    assert_int_equal(mq_writer_write(&m, b, size, &size, &d), MQ_OK);
    save_seed(b, size);
    assert_int_equal(mq_model_load(b, size, MQ_LOAD_CHECK_CRC, &model), MQ_OK);
    arena = (uint8_t *)malloc(m.arena_size);
    assert_non_null(arena);
    in_ptrs[0] = x;
    out_ptrs[0] = y;
    assert_int_equal(mq_model_run(&model, arena, m.arena_size, in_ptrs, out_ptrs), MQ_OK);
    for (oy = 0; oy < H; oy++) {
        for (ox = 0; ox < W; ox++) {
            for (o = 0; o < N; o++) {
                int64_t acc = bias[o];
                for (ky = 0; ky < 3; ky++) {
                    for (kx = 0; kx < 3; kx++) {
                        const int32_t iy = oy + ky - 1, ix = ox + kx - 1;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                            continue;
                        }
                        for (c = 0; c < C; c++) {
                            acc += (int64_t)(ref_code(x[(iy * W + ix) * C + c], 0) - 3) * w[o][(ky * 3 + kx) * C + c];
                        }
                    }
                }
                assert_int_equal(y[(oy * W + ox) * N + o],
                                 ref_byte(clampi(-1 + (int64_t)ref_requantize64(acc, mult, shift), -128, 127)));
            }
        }
    }
    free(arena);

    /* scratch on the input: the loader (run by the writer) finds it in op 0 */
    ops[0].scratch_offset = 0;
    assert_int_equal(mq_writer_write(&m, b, size, &size, &d), MQ_ERR_ARENA);
    assert_int_equal(d.op, 0);
    ops[0].scratch_offset = 176;
    /* dilation 0 */
    ops[0].conv2d.win.dilation_h = 0;
    assert_int_not_equal(mq_writer_write(&m, b, size, &size, &d), MQ_OK);
    assert_int_equal(d.op, 0);
    ops[0].conv2d.win.dilation_h = 1;
    /* MUL with one input, CONCAT with 9 inputs, PAD with a negative pad, a depthwise whose output channels
     * are not in_c x multiplier: the writer's own checks, naming the op */
    ops[0] = mq_writer_op_mul(0, 0, 1, NULL);
    ops[0].num_inputs = 1;
    assert_int_equal(mq_writer_write(&m, NULL, 0, &size, &d), MQ_ERR_FORMAT_OP);
    assert_int_equal(d.op, 0);
    ops[0] = mq_writer_op_concat(cat, 9, 1, 3);
    assert_int_equal(mq_writer_write(&m, NULL, 0, &size, &d), MQ_ERR_FORMAT_OP);
    {
        const int32_t before[4] = { 0, -1, 0, 0 };
        ops[0] = mq_writer_op_pad(0, 1, before, NULL);
        assert_int_equal(mq_writer_write(&m, NULL, 0, &size, &d), MQ_ERR_SHAPE);
        assert_true(strstr(d.message, "PAD") != NULL);
    }
    {
        mq_depthwise_params dw;
        memset(&dw, 0, sizeof dw);
        dw.depth_multiplier = 3; /* 2 x 3 != 4 */
        dw.weights.data = packed;
        dw.bias.folded = folded;
        dw.multiplier = &mult;
        dw.shift = &shift;
        ops[0] = mq_writer_op_depthwise_conv(0, 1, &dw, 0);
        assert_int_equal(mq_writer_write(&m, NULL, 0, &size, &d), MQ_ERR_SHAPE);
        assert_true(strstr(d.message, "DEPTHWISE_CONV") != NULL);
    }
    free(b);
}

/* Free concat (outer 1): two model inputs planned in their slices of the CONCAT output are not copied; the
 * output is still their concatenation. An input overlapping the output anywhere else is rejected. */
static void test_free_concat(void **state)
{
    mq_writer_tensor t[3];
    mq_writer_op ops[1];
    mq_writer_model m;
    mq_writer_diag d;
    mq_model model;
    int32_t ins[2] = { 0, 1 }, outs[1] = { 2 }, cat[2] = { 0, 1 };
    const int32_t d0[2] = { 1, 16 }, d1[2] = { 1, 20 }, d2[2] = { 1, 36 };
    uint8_t x0[16], x1[20], y[36], *b, *arena;
    const void *in_ptrs[2];
    void *out_ptrs[1];
    size_t size = 0;
    int32_t i;
    (void)state;
    for (i = 0; i < 16; i++) {
        x0[i] = (uint8_t)(i * 7 + 1);
    }
    for (i = 0; i < 20; i++) {
        x1[i] = (uint8_t)(200 - i);
    }
    set_tensor(&t[0], MQ_DTYPE_UINT8, 2, d0, 0.5, 10, 0);
    set_tensor(&t[1], MQ_DTYPE_UINT8, 2, d1, 0.5, 10, 16);
    set_tensor(&t[2], MQ_DTYPE_UINT8, 2, d2, 0.5, 10, 0);
    ops[0] = mq_writer_op_concat(cat, 2, 2, -1);
    memset(&m, 0, sizeof m);
    m.tensors = t;
    m.num_tensors = 3;
    m.ops = ops;
    m.num_ops = 1;
    m.inputs = ins;
    m.num_inputs = 2;
    m.outputs = outs;
    m.num_outputs = 1;
    m.arena_size = 48;
    m.arena_lower_bound = 48;
    assert_int_equal(mq_writer_write(&m, NULL, 0, &size, &d), MQ_OK);
    b = (uint8_t *)malloc(size);
    assert_non_null(b);
    assert_int_equal(mq_writer_write(&m, b, size, &size, &d), MQ_OK);
    save_seed(b, size);
    assert_int_equal(mq_model_load(b, size, MQ_LOAD_CHECK_CRC, &model), MQ_OK);
    arena = (uint8_t *)malloc(48);
    assert_non_null(arena);
    in_ptrs[0] = x0;
    in_ptrs[1] = x1;
    out_ptrs[0] = y;
    assert_int_equal(mq_model_run(&model, arena, 48, in_ptrs, out_ptrs), MQ_OK);
    assert_memory_equal(y, x0, 16);
    assert_memory_equal(y + 16, x1, 20);
    free(arena);
    /* input 1 at offset 0 overlaps the output but is not at its slice (16): rejected */
    t[0].arena_offset = 48;
    t[1].arena_offset = 0;
    m.arena_size = 64;
    m.arena_lower_bound = 64;
    assert_int_equal(mq_writer_write(&m, b, size, &size, &d), MQ_ERR_ARENA);
    assert_int_equal(d.op, 0);
    free(b);
}

/*
 * Model B: x INT8 [1,2,3,5] --CONV_1X1 (stride 1, no pad, per-tensor, ReLU6-like clamp, fused LUT tanh)-->
 *          y INT8 [1,2,3,4] --SOFTMAX (axis -1)--> out UINT8 [1,2,3,4]
 */
static void test_model_b_conv_softmax(void **state)
{
    const int32_t dx[4] = { 1, 2, 3, 5 }, dy[4] = { 1, 2, 3, 4 };
    const mq_activation_desc th = { MQ_ACT_TANH, 0.0, 0.0 };
    int8_t w[4][5], packed[4 * 16];
    int32_t bias[4], folded[4], mult, shift, p, c, k;
    uint8_t lut[256], x[30], got[24], expect[24], y[24];
    int32_t sm_mult, sm_left, sm_diff_min;
    mq_writer_tensor t[3];
    mq_writer_op ops[2];
    int32_t in_ids[1] = { 0 }, out_ids[1] = { 2 };
    mq_writer_model wm;
    mq_model m;
    uint8_t *blob, *arena;
    size_t size;
    const void *ins[1] = { x };
    void *outs[1] = { got };
    (void)state;
    for (c = 0; c < 4; c++) {
        for (k = 0; k < 5; k++) {
            w[c][k] = (int8_t)rnd(-127, 127);
        }
        bias[c] = rnd(-300, 300);
    }
    for (k = 0; k < 30; k++) {
        x[k] = (uint8_t)rnd(0, 255);
    }
    assert_int_equal(mq_pack_weights_n4k16(&w[0][0], 4, 5, packed, sizeof packed), MQ_OK);
    assert_int_equal(mq_fold_bias(&w[0][0], bias, 4, 5, -3, MQ_DTYPE_INT8, folded), MQ_OK);
    assert_int_equal(mq_quantize_multiplier(0.05 * 0.01 / 0.06, &mult, &shift), MQ_OK);
    assert_int_equal(mq_lut_build(&th, 0.06, 2, MQ_DTYPE_INT8, 1.0 / 128, 0, MQ_DTYPE_INT8, lut), MQ_OK);
    assert_int_equal(mq_softmax_prepare(1.0 / 128, 1.0, &sm_mult, &sm_left, &sm_diff_min), MQ_OK);
    set_tensor(&t[0], MQ_DTYPE_INT8, 4, dx, 0.05, -3, 0);
    set_tensor(&t[1], MQ_DTYPE_INT8, 4, dy, 1.0 / 128, 0, 32);
    set_tensor(&t[2], MQ_DTYPE_UINT8, 4, dy, 1.0 / 256, 0, 0);
    memset(ops, 0, sizeof ops);
    ops[0].type = MQ_OP_CONV_1X1;
    ops[0].num_inputs = ops[0].num_outputs = 1;
    ops[0].inputs[0] = 0;
    ops[0].outputs[0] = 1;
    ops[0].conv.stride_h = ops[0].conv.stride_w = 1;
    ops[0].conv.gemm.n = 4;
    ops[0].conv.gemm.k = 5;
    ops[0].conv.gemm.weights.packed = packed;
    ops[0].conv.gemm.bias.folded = folded;
    ops[0].conv.gemm.multiplier = &mult;
    ops[0].conv.gemm.shift = &shift;
    ops[0].conv.gemm.in_dtype = MQ_DTYPE_INT8;
    ops[0].conv.gemm.out_dtype = MQ_DTYPE_INT8;
    ops[0].conv.gemm.out_zero_point = 2;
    ops[0].conv.gemm.act_min = 2;        /* ReLU6 in the requantized domain: [zp, zp + 6/0.06] */
    ops[0].conv.gemm.act_max = 2 + 100;
    ops[0].conv.gemm.lut = lut;
    ops[1].type = MQ_OP_SOFTMAX;
    ops[1].num_inputs = ops[1].num_outputs = 1;
    ops[1].inputs[0] = 1;
    ops[1].outputs[0] = 2;
    ops[1].axis = -1;
    ops[1].softmax.input_multiplier = sm_mult;
    ops[1].softmax.input_left_shift = sm_left;
    ops[1].softmax.diff_min = sm_diff_min;
    memset(&wm, 0, sizeof wm);
    wm.tensors = t;
    wm.num_tensors = 3;
    wm.ops = ops;
    wm.num_ops = 2;
    wm.inputs = in_ids;
    wm.num_inputs = 1;
    wm.outputs = out_ids;
    wm.num_outputs = 1;
    wm.arena_size = 64;
    wm.arena_lower_bound = 54;

    /* reference */
    for (p = 0; p < 6; p++) {
        for (c = 0; c < 4; c++) {
            int64_t acc = bias[c];
            for (k = 0; k < 5; k++) {
                acc += (int64_t)((int32_t)(int8_t)x[p * 5 + k] + 3) * w[c][k];
            }
            y[p * 4 + c] = lut[(uint8_t)clampi(2 + ref_requantize64(acc, mult, shift), 2, 102)];
        }
        {
            int32_t xs[4], ys[4];
            for (c = 0; c < 4; c++) {
                xs[c] = (int8_t)y[p * 4 + c];
            }
            ref_softmax_row(xs, 4, sm_mult, sm_left, sm_diff_min, 0, 255, ys);   /* TFLite's arithmetic, UINT8 out */
            for (c = 0; c < 4; c++) {
                expect[p * 4 + c] = (uint8_t)ys[c];
            }
        }
    }

    blob = write_blob(&wm, &size);
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = (uint8_t *)malloc(64);
    assert_non_null(arena);
    assert_int_equal(mq_model_run(&m, arena, 64, ins, outs), MQ_OK);
    assert_memory_equal(got, expect, 24);
    free(arena);
    free(blob);
}

/* The check value of the CRC-32 catalogue (IEEE 802.3 / zlib) and a zero-length input. */
static void test_crc32_check_value(void **state)
{
    (void)state;
    assert_int_equal(mq_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(mq_crc32("", 0), 0u);
    assert_int_equal(mq_crc32("a", 1), 0xE8B7BE43u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_model_a_runs_against_reference),
        cmocka_unit_test(test_writer_deterministic_and_sized),
        cmocka_unit_test(test_writer_reports_where),
        cmocka_unit_test(test_model_b_conv_softmax),
        cmocka_unit_test(test_format2_ops_through_the_writer),
        cmocka_unit_test(test_free_concat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
