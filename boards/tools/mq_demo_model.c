/*
 * MicroQuant: generator of boards/common/demo.mqm and demo_input.bin, the default model embedded by
 * boards/CMakeLists.txt and one of the models scripts/test-boards.sh runs on every QEMU board.
 * It exercises every op type of the runtime with fixed pseudo-random weights (xorshift32), so that
 * host/device byte-identity covers every kernel (including the DSP and MVE fast paths):
 *
 *   x  [1,32] uint8 ──FC 32->24 + SiLU LUT epilogue──> a [1,24]
 *   a ──FC 24->24 + ReLU clamp──> b [1,24]     a + b ──ADD──> c [1,24] ──RESHAPE──> [1,4,6]
 *     ──SOFTMAX(axis -1)──> s [1,4,6] ──TRANSPOSE(0,2,1)──> y0 [1,6,4]          (output 0)
 *   b ──LUT tanh──> y1 [1,24]                                                   (output 1)
 *   z  [1,5,5,8] int8 ──CONV 1x1 8->12, stride 2, pad 1, per-tensor──> y2 [1,3,3,12] int8 (output 2)
 *
 * Build and run (host C compiler; scripts/test-boards.sh does this and checks the committed files):
 *   cc -std=c99 -O2 -Icsrc/include boards/tools/mq_demo_model.c csrc/src/[all].c csrc/host/[all].c -lm -o demo  (every .c file of both)
 *   ./demo boards/common/demo.mqm boards/common/demo_input.bin boards/common/demo_x.npy boards/common/demo_z.npy
 * (the .npy files hold the same input codes per model input, for `swift run simulate --input`).
 * Deterministic: the same bytes every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#define NUM_SAMPLES 8

static uint32_t rng_state = 0x12345678u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int8_t rand_i8(int lim)
{
    return (int8_t)((int)(rng() % (uint32_t)(2 * lim + 1)) - lim);
}

static int check(mq_status st, const char *what)
{
    if (st != MQ_OK) {
        fprintf(stderr, "mq_demo_model: %s: %s\n", what, mq_status_str(st));
        exit(1);
    }
    return 0;
}

/* A fully connected / conv GEMM with random weights: packs, folds the bias, computes multipliers. */
typedef struct {
    int8_t w[32 * 32];
    int8_t packed[32 * 32 + 64];
    int32_t bias[32], folded[32], mult[32], shift[32];
} gemm_consts;

static void make_gemm(gemm_consts *g, int32_t n, int32_t k, int per_channel, double in_scale, int32_t in_zp,
                      mq_dtype in_dtype, double out_scale, mq_fc_params *p)
{
    int32_t i;
    for (i = 0; i < n * k; ++i) {
        g->w[i] = rand_i8(127);
    }
    for (i = 0; i < n; ++i) {
        g->bias[i] = (int32_t)(rng() % 2001u) - 1000;
    }
    check(mq_pack_weights_n4k16(g->w, n, k, g->packed, sizeof g->packed), "pack");
    check(mq_fold_bias(g->w, g->bias, n, k, in_zp, in_dtype, g->folded), "fold");
    for (i = 0; i < (per_channel ? n : 1); ++i) {
        double w_scale = 0.004 + 0.0005 * (double)(rng() % 8u);
        check(mq_quantize_multiplier(in_scale * w_scale / out_scale, &g->mult[i], &g->shift[i]), "multiplier");
    }
    memset(p, 0, sizeof *p);
    p->n = n;
    p->k = k;
    p->weights.packed = g->packed;
    p->bias.folded = g->folded;
    p->multiplier = g->mult;
    p->shift = g->shift;
    p->per_channel = per_channel;
    p->in_dtype = in_dtype;
}

/* Writes codes as a NumPy .npy v1.0 file (descr '|u1' or '|i1', C order). */
static int write_npy(const char *path, const char *descr, const int32_t *shape, int rank, const uint8_t *data,
                     size_t n)
{
    char header[128];
    char dims[64] = "";
    size_t len, hl;
    int i;
    FILE *f;
    for (i = 0; i < rank; ++i) {
        size_t used = strlen(dims);
        snprintf(dims + used, sizeof dims - used, "%d,%s", (int)shape[i], i + 1 < rank ? " " : "");
    }
    len = (size_t)snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    hl = ((10u + len + 1u + 63u) / 64u) * 64u - 10u; /* pad so that data starts at a multiple of 64 */
    while (len < hl - 1u) {
        header[len++] = ' ';
    }
    header[len++] = '\n';
    f = fopen(path, "wb");
    if (f == NULL) {
        return 1;
    }
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hl & 0xFFu), f);
    fputc((int)(hl >> 8), f);
    fwrite(header, 1, hl, f);
    fwrite(data, 1, n, f);
    return fclose(f) != 0;
}

static mq_writer_tensor arena_tensor(mq_dtype dt, int32_t rank, const int32_t *dims, double scale, int32_t zp,
                                     uint32_t offset)
{
    mq_writer_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    memcpy(t.dims, dims, (size_t)rank * sizeof(int32_t));
    t.scale = (float)scale;
    t.zero_point = zp;
    t.storage = MQ_STORAGE_ARENA;
    t.arena_offset = offset;
    return t;
}

int main(int argc, char **argv)
{
    static gemm_consts g0, g1, g2;
    static uint8_t lut_silu[256], lut_tanh[256];
    static mq_softmax_params softmax_consts;
    static uint8_t blob[1 << 16];
    static uint8_t inputs[NUM_SAMPLES][32 + 200];
    mq_writer_tensor t[10];
    mq_writer_op ops[8];
    mq_writer_model m;
    mq_writer_diag diag;
    mq_activation_desc silu = { MQ_ACT_SILU, 0.0, 0.0 }, tanh_fn = { MQ_ACT_TANH, 0.0, 0.0 };
    const int32_t d_x[2] = { 1, 32 }, d_24[2] = { 1, 24 }, d_46[3] = { 1, 4, 6 }, d_64[3] = { 1, 6, 4 };
    const int32_t d_z[4] = { 1, 5, 5, 8 }, d_y2[4] = { 1, 3, 3, 12 };
    const int32_t model_inputs[2] = { 0, 8 }, model_outputs[3] = { 6, 7, 9 };
    const char *in_names[2] = { "x", "z" }, *out_names[3] = { "scores", "tanh", "conv" };
    double sm_scale;
    int32_t sm_zp, y2h = 0, y2w = 0;
    size_t size = 0, scratch;
    int s, i;
    FILE *f;

    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.mqm INPUT.bin X.npy Z.npy\n", argv[0]);
        return 2;
    }
    /* tensors (scales chosen so activations stay in range) */
    t[0] = arena_tensor(MQ_DTYPE_UINT8, 2, d_x, 0.05, 128, 0);      /* x */
    t[1] = arena_tensor(MQ_DTYPE_UINT8, 2, d_24, 0.04, 20, 64);     /* a = silu(fc0) */
    t[2] = arena_tensor(MQ_DTYPE_UINT8, 2, d_24, 0.03, 0, 128);     /* b = relu(fc1) */
    t[3] = arena_tensor(MQ_DTYPE_UINT8, 2, d_24, 0.06, 10, 192);    /* c = a + b */
    t[4] = arena_tensor(MQ_DTYPE_UINT8, 3, d_46, 0.06, 10, 192);    /* reshape view of c */
    check(mq_sigmoid_output_qparams(MQ_DTYPE_UINT8, &sm_scale, &sm_zp), "softmax qparams");
    t[5] = arena_tensor(MQ_DTYPE_UINT8, 3, d_46, sm_scale, sm_zp, 256); /* softmax */
    t[6] = arena_tensor(MQ_DTYPE_UINT8, 3, d_64, sm_scale, sm_zp, 320); /* y0 */
    t[7] = arena_tensor(MQ_DTYPE_UINT8, 2, d_24, 1.0 / 128, 128, 384);  /* y1 = tanh(b) */
    t[8] = arena_tensor(MQ_DTYPE_INT8, 4, d_z, 0.02, -3, 448);          /* z */

    memset(ops, 0, sizeof ops);
    /* op0: FC 32->24 per channel, SiLU epilogue (requantized into the LUT's input qparams) */
    ops[0].type = MQ_OP_FULLY_CONNECTED;
    ops[0].num_inputs = 1; ops[0].inputs[0] = 0; ops[0].num_outputs = 1; ops[0].outputs[0] = 1;
    make_gemm(&g0, 24, 32, 1, 0.05, 128, MQ_DTYPE_UINT8, 0.05, &ops[0].fc);
    ops[0].fc.out_dtype = MQ_DTYPE_UINT8; ops[0].fc.out_zero_point = 128;
    ops[0].fc.act_min = 0; ops[0].fc.act_max = 255;
    check(mq_lut_build(&silu, 0.05, 128, MQ_DTYPE_UINT8, 0.04, 20, MQ_DTYPE_UINT8, lut_silu), "silu lut");
    ops[0].fc.lut = lut_silu;
    /* op1: FC 24->24 per tensor, ReLU as clamp at the zero point */
    ops[1].type = MQ_OP_FULLY_CONNECTED;
    ops[1].num_inputs = 1; ops[1].inputs[0] = 1; ops[1].num_outputs = 1; ops[1].outputs[0] = 2;
    make_gemm(&g1, 24, 24, 0, 0.04, 20, MQ_DTYPE_UINT8, 0.03, &ops[1].fc);
    ops[1].fc.out_dtype = MQ_DTYPE_UINT8; ops[1].fc.out_zero_point = 0;
    ops[1].fc.act_min = 0; ops[1].fc.act_max = 255;
    /* op2: ADD a + b */
    ops[2].type = MQ_OP_ADD;
    ops[2].num_inputs = 2; ops[2].inputs[0] = 1; ops[2].inputs[1] = 2; ops[2].num_outputs = 1; ops[2].outputs[0] = 3;
    check(mq_add_prepare(0.04, 20, MQ_DTYPE_UINT8, 0.03, 0, MQ_DTYPE_UINT8, 0.06, 10, MQ_DTYPE_UINT8, 0, 255,
                         &ops[2].add), "add prepare");
    /* op3: RESHAPE (view) */
    ops[3].type = MQ_OP_RESHAPE;
    ops[3].num_inputs = 1; ops[3].inputs[0] = 3; ops[3].num_outputs = 1; ops[3].outputs[0] = 4;
    /* op4: SOFTMAX over the last axis */
    ops[4].type = MQ_OP_SOFTMAX;
    ops[4].num_inputs = 1; ops[4].inputs[0] = 4; ops[4].num_outputs = 1; ops[4].outputs[0] = 5;
    ops[4].axis = -1;
    check(mq_softmax_prepare(0.06, 1.0, &softmax_consts.input_multiplier, &softmax_consts.input_left_shift,
                             &softmax_consts.diff_min), "softmax constants");
    ops[4].softmax = softmax_consts;
    /* op5: TRANSPOSE (0, 2, 1) */
    ops[5].type = MQ_OP_TRANSPOSE;
    ops[5].num_inputs = 1; ops[5].inputs[0] = 5; ops[5].num_outputs = 1; ops[5].outputs[0] = 6;
    ops[5].perm[0] = 0; ops[5].perm[1] = 2; ops[5].perm[2] = 1;
    /* op6: LUT tanh on b */
    ops[6].type = MQ_OP_LUT;
    ops[6].num_inputs = 1; ops[6].inputs[0] = 2; ops[6].num_outputs = 1; ops[6].outputs[0] = 7;
    check(mq_lut_build(&tanh_fn, 0.03, 0, MQ_DTYPE_UINT8, 1.0 / 128, 128, MQ_DTYPE_UINT8, lut_tanh), "tanh lut");
    ops[6].lut = lut_tanh;
    /* op7: CONV 1x1 8->12 stride 2, pad 1 (top/left) 0 (bottom/right), int8, per tensor */
    ops[7].type = MQ_OP_CONV_1X1;
    ops[7].num_inputs = 1; ops[7].inputs[0] = 8; ops[7].num_outputs = 1; ops[7].outputs[0] = 9;
    make_gemm(&g2, 12, 8, 0, 0.02, -3, MQ_DTYPE_INT8, 0.05, &ops[7].conv.gemm);
    ops[7].conv.gemm.out_dtype = MQ_DTYPE_INT8; ops[7].conv.gemm.out_zero_point = 5;
    ops[7].conv.gemm.act_min = -128; ops[7].conv.gemm.act_max = 127;
    ops[7].conv.stride_h = 2; ops[7].conv.stride_w = 2;
    ops[7].conv.pad_top = 1; ops[7].conv.pad_left = 1;
    ops[7].conv.batch = 1; ops[7].conv.in_h = 5; ops[7].conv.in_w = 5;
    ops[7].conv.in_zero_point = -3;
    check(mq_conv1x1_output_size(&ops[7].conv, &y2h, &y2w), "conv output size");
    if (y2h != d_y2[1] || y2w != d_y2[2]) {
        fprintf(stderr, "mq_demo_model: conv output %dx%d, expected %dx%d\n", y2h, y2w, d_y2[1], d_y2[2]);
        return 1;
    }
    t[9] = arena_tensor(MQ_DTYPE_INT8, 4, d_y2, 0.05, 5, 656);        /* y2 */
    scratch = mq_conv1x1_scratch_size(&ops[7].conv);
    ops[7].scratch_offset = 768;

    memset(&m, 0, sizeof m);
    m.tensors = t; m.num_tensors = 10;
    m.ops = ops; m.num_ops = 8;
    m.inputs = model_inputs; m.num_inputs = 2;
    m.outputs = model_outputs; m.num_outputs = 3;
    m.arena_size = 768u + (uint32_t)((scratch + 15u) & ~(size_t)15u);
    m.arena_lower_bound = m.arena_size;
    m.metadata.producer = "microquant boards/tools/mq_demo_model.c";
    m.metadata.source_name = "demo (synthetic weights)";
    m.metadata.calibration_method = "none";
    m.metadata.input_names = in_names;
    m.metadata.output_names = out_names;
    if (mq_writer_write(&m, blob, sizeof blob, &size, &diag) != MQ_OK) {
        fprintf(stderr, "mq_demo_model: writer: %s (tensor %d, op %d)\n", diag.message, diag.tensor, diag.op);
        return 1;
    }
    f = fopen(argv[1], "wb");
    if (f == NULL || fwrite(blob, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "mq_demo_model: cannot write %s\n", argv[1]);
        return 1;
    }
    /* inputs: per sample x (32 uint8 codes) then z (200 int8 codes) */
    for (s = 0; s < NUM_SAMPLES; ++s) {
        for (i = 0; i < 32 + 200; ++i) {
            inputs[s][i] = (uint8_t)(rng() & 0xFFu);
        }
    }
    f = fopen(argv[2], "wb");
    if (f == NULL || fwrite(inputs, 1, sizeof inputs, f) != sizeof inputs || fclose(f) != 0) {
        fprintf(stderr, "mq_demo_model: cannot write %s\n", argv[2]);
        return 1;
    }
    {
        static uint8_t xs[NUM_SAMPLES * 32], zs[NUM_SAMPLES * 200];
        const int32_t sx[2] = { NUM_SAMPLES, 32 }, sz[4] = { NUM_SAMPLES, 5, 5, 8 };
        for (s = 0; s < NUM_SAMPLES; ++s) {
            memcpy(&xs[s * 32], inputs[s], 32);
            memcpy(&zs[s * 200], &inputs[s][32], 200);
        }
        if (write_npy(argv[3], "|u1", sx, 2, xs, sizeof xs) || write_npy(argv[4], "|i1", sz, 4, zs, sizeof zs)) {
            fprintf(stderr, "mq_demo_model: cannot write %s / %s\n", argv[3], argv[4]);
            return 1;
        }
    }
    printf("mq_demo_model: %s (%zu bytes, arena %u), %s, %s, %s (%d samples)\n", argv[1], size, m.arena_size,
           argv[2], argv[3], argv[4], NUM_SAMPLES);
    return 0;
}
