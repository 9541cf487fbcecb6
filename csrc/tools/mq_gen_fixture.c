/*
 * MicroQuant: generator of the runtime test fixture (csrc/tests/fixtures/).
 *
 *   mq_gen_fixture <out_dir>
 *
 * Builds a small model that uses every op the runtime supports, packs it with mq_writer (constants
 * prepared by the mq_host.h functions, arena offsets planned by hand below), and computes the
 * expected outputs with an INDEPENDENT reference written here: int64 arithmetic on the unpacked
 * parameters (row-major weights, raw bias, zero points, the requantization multipliers/shifts),
 * never the runtime or the kernels. The LUT tables are re-derived here in float64 and compared with
 * mq_host's; the softmax is TFLite's integer arithmetic from the test reference (csrc/tests/ref_softmax.h,
 * itself checked against ai-edge-litert by test_softmax), its constants compared with mq_softmax_prepare's,
 * and its result compared with a float64 softmax.
 *
 * Graph (t = tensor, all NHWC / row-major; "@off" = arena offset):
 *   t0  x       UINT8 [1,4,4,8]   s 0.05  zp 120          @0     (model input 0)
 *   op0 CONV_1X1 stride 2, pad 1 all sides, per-channel, fused ReLU       (scratch @128)
 *   t1          INT8  [1,3,3,16]  s 0.04  zp -10          @144
 *   op1 LUT SiLU (in place)
 *   t2          INT8  [1,3,3,16]  s 0.03  zp -20          @144
 *   op2 RESHAPE (view)
 *   t3          INT8  [9,16]      s 0.03  zp -20          @144
 *   op3 FULLY_CONNECTED per-tensor, fused tanh LUT epilogue
 *   t4          INT8  [9,16]      s 1/128 zp 0            @288
 *   op4 ADD t3 + t4 (residual, in place on t4)
 *   t5          INT8  [9,16]      s 0.04  zp -5           @288   (model output 1)
 *   op5 ADD t5 + tc, ReLU clamp; tc is a CONST tensor with per-channel scales (informational)
 *   tc          INT8  [9,16]      s 0.02  zp 7            const
 *   t9          INT8  [9,16]      s 0.05  zp 0            @144
 *   op6 TRANSPOSE perm (1, 0)
 *   t6          INT8  [16,9]      s 0.05  zp 0            @0
 *   op7 RESHAPE to another offset (memmove)
 *   t7          INT8  [4,4,9]     s 0.05  zp 0            @144
 *   op8 SOFTMAX axis 1
 *   t8          UINT8 [4,4,9]     s 1/256 zp 0            @0     (model output 0)
 *
 * The plan reaches the lower bound: arena 432 bytes = the largest sum of simultaneously live buffers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#include "../tests/ref_quant.h"
#include "../tests/ref_softmax.h"

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "mq_gen_fixture: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

/* Deterministic pseudo-random numbers (LCG, fixed seed). */
static uint32_t g_rng = 12345u;
static int32_t rnd(int32_t lo, int32_t hi)
{
    g_rng = g_rng * 1664525u + 1013904223u;
    return lo + (int32_t)((g_rng >> 8) % (uint32_t)(hi - lo + 1));
}

/* ---------- independent int64 reference ---------- */

static int32_t ref_clamp(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

/* Code value of a stored byte. */
static int32_t val(uint8_t b, mq_dtype t)
{
    return t == MQ_DTYPE_INT8 ? (int32_t)(int8_t)b : (int32_t)b;
}

static uint8_t byte_of(int32_t v)
{
    return (uint8_t)(v & 0xFF);
}

/* Float64 activation and its table, independently of mq_lut_build. */
static double ref_silu(double x)
{
    return x / (1.0 + exp(-x));
}

static void ref_table(double (*f)(double), double is, int32_t izp, mq_dtype idt, double os, int32_t ozp,
                      mq_dtype odt, uint8_t table[256])
{
    int32_t i;
    for (i = 0; i < 256; i++) {
        const int32_t code = idt == MQ_DTYPE_INT8 ? (int32_t)(int8_t)(uint8_t)i : i;
        const double y = nearbyint(f((code - izp) * is) / os) + ozp; /* half-even in the default mode */
        table[i] = byte_of(ref_clamp((int64_t)y, mq_dtype_min(odt), mq_dtype_max(odt)));
    }
}

static int gen_mlp(const char *dir);

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static int gen_convnet(const char *dir);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mq_gen_fixture <out_dir>\n");
        return 2;
    }
    if (gen_mlp(argv[1]) != 0) {
        return 1;
    }
    return gen_convnet(argv[1]);
}

static int gen_mlp(const char *dir)
{
    enum { B = 1, H = 4, W = 4, C0 = 8, C1 = 16, OH = 3, OW = 3, M = 9 };
    /* qparams */
    const double s0 = 0.05, s1 = 0.04, s2 = 0.03, sfc = 0.05, s4 = 1.0 / 128, s5 = 0.04, sc = 0.02, s9 = 0.05;
    const int32_t z0 = 120, z1 = -10, z2 = -20, zfc = 3, z4 = 0, z5 = -5, zc = 7, z9 = 0;
    /* raw parameters */
    int8_t w_conv[C1][C0], w_fc[C1][C1];
    int32_t b_conv[C1], b_fc[C1];
    double ws_conv[C1];
    const double ws_fc = 0.004;
    uint8_t x[B * H * W * C0], tc[M * C1];
    float tc_scales[C1];
    /* prepared constants */
    int8_t pk_conv[4 * 1 * 16 * 4], pk_fc[4 * 1 * 16 * 4];
    int32_t fb_conv[C1], fb_fc[C1], m_conv[C1], sh_conv[C1], m_fc, sh_fc;
    uint8_t lut_silu[256], lut_tanh[256], chk[256];
    int32_t sm_mult, sm_left, sm_diff_min;
    mq_add_params add1, add2;
    /* reference activations */
    uint8_t r1[M * C1], r2[M * C1], r4[M * C1], r5[M * C1], r9[M * C1], r6[C1 * M], r8[C1 * M];
    mq_writer_tensor t[11];
    mq_writer_op ops[9];
    mq_writer_model model;
    mq_writer_diag diag;
    int32_t inputs[1] = { 0 }, outputs[2] = { 10, 5 };
    const char *in_names[1] = { "images" };
    const char *out_names[2] = { "probs", "residual" };
    uint8_t hash[32];
    uint8_t *blob;
    size_t size = 0;
    int32_t i, j, k, c, oy, ox;
    mq_activation_desc silu = { MQ_ACT_SILU, 0.0, 0.0 }, tanh_d = { MQ_ACT_TANH, 0.0, 0.0 };
    double max_err = 0.0;

    /* ---- data ---- */
    for (c = 0; c < C1; c++) {
        for (k = 0; k < C0; k++) {
            w_conv[c][k] = (int8_t)rnd(-127, 127);
        }
        for (k = 0; k < C1; k++) {
            w_fc[c][k] = (int8_t)rnd(-127, 127);
        }
        b_conv[c] = rnd(-3000, 3000);
        b_fc[c] = rnd(-2000, 2000);
        ws_conv[c] = 0.002 + 0.0001 * c;
        tc_scales[c] = (float)(0.01 + 0.001 * c);
    }
    for (i = 0; i < (int32_t)sizeof x; i++) {
        x[i] = (uint8_t)rnd(0, 255);
    }
    for (i = 0; i < (int32_t)sizeof tc; i++) {
        tc[i] = byte_of(rnd(-128, 127));
    }
    for (i = 0; i < 32; i++) {
        hash[i] = (uint8_t)(i * 7 + 1); /* stands in for the SHA-256 of a source ONNX file */
    }

    /* ---- prepare (mq_host.h) ---- */
    CHECK(mq_pack_weights_n4k16(&w_conv[0][0], C1, C0, pk_conv, sizeof pk_conv) == MQ_OK);
    CHECK(mq_pack_weights_n4k16(&w_fc[0][0], C1, C1, pk_fc, sizeof pk_fc) == MQ_OK);
    CHECK(mq_fold_bias(&w_conv[0][0], b_conv, C1, C0, z0, MQ_DTYPE_UINT8, fb_conv) == MQ_OK);
    CHECK(mq_fold_bias(&w_fc[0][0], b_fc, C1, C1, z2, MQ_DTYPE_INT8, fb_fc) == MQ_OK);
    for (c = 0; c < C1; c++) {
        const double real = s0 * ws_conv[c] / s1;
        CHECK(mq_quantize_multiplier(real, &m_conv[c], &sh_conv[c]) == MQ_OK);
        CHECK(fabs(ldexp((double)m_conv[c], sh_conv[c] - 31) - real) <= real * 1e-9);
    }
    CHECK(mq_quantize_multiplier(s2 * ws_fc / sfc, &m_fc, &sh_fc) == MQ_OK);
    CHECK(mq_lut_build(&silu, s1, z1, MQ_DTYPE_INT8, s2, z2, MQ_DTYPE_INT8, lut_silu) == MQ_OK);
    ref_table(ref_silu, s1, z1, MQ_DTYPE_INT8, s2, z2, MQ_DTYPE_INT8, chk);
    CHECK(memcmp(chk, lut_silu, 256) == 0);
    CHECK(mq_lut_build(&tanh_d, sfc, zfc, MQ_DTYPE_INT8, s4, z4, MQ_DTYPE_INT8, lut_tanh) == MQ_OK);
    ref_table(tanh, sfc, zfc, MQ_DTYPE_INT8, s4, z4, MQ_DTYPE_INT8, chk);
    CHECK(memcmp(chk, lut_tanh, 256) == 0);
    CHECK(mq_add_prepare(s2, z2, MQ_DTYPE_INT8, s4, z4, MQ_DTYPE_INT8, s5, z5, MQ_DTYPE_INT8, -128, 127, &add1) ==
          MQ_OK);
    CHECK(mq_add_prepare(s5, z5, MQ_DTYPE_INT8, sc, zc, MQ_DTYPE_INT8, s9, z9, MQ_DTYPE_INT8, z9, 127, &add2) ==
          MQ_OK);
    {
        int32_t rm, rl, rd;
        CHECK(mq_softmax_prepare(s9, 1.0, &sm_mult, &sm_left, &sm_diff_min) == MQ_OK);
        CHECK(ref_softmax_prepare(s9, 1.0, &rm, &rl, &rd));
        CHECK(rm == sm_mult && rl == sm_left && rd == sm_diff_min);
    }

    /* ---- reference ---- */
    /* op0 conv 1x1, stride 2, pad 1: padded pixels contribute (zp - zp) = 0 */
    for (oy = 0; oy < OH; oy++) {
        for (ox = 0; ox < OW; ox++) {
            const int32_t iy = oy * 2 - 1, ix = ox * 2 - 1;
            const int inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            for (c = 0; c < C1; c++) {
                int64_t acc = b_conv[c];
                for (k = 0; k < C0; k++) {
                    const int32_t xv = inside ? (int32_t)x[((iy * W) + ix) * C0 + k] : z0;
                    acc += (int64_t)(xv - z0) * w_conv[c][k];
                }
                r1[(oy * OW + ox) * C1 + c] = byte_of(ref_clamp(z1 + ref_requantize64(acc, m_conv[c], sh_conv[c]), z1, 127));
            }
        }
    }
    /* op1 LUT, op2 reshape (same bytes) */
    for (i = 0; i < M * C1; i++) {
        r2[i] = lut_silu[r1[i]];
    }
    /* op3 FC + tanh epilogue */
    for (i = 0; i < M; i++) {
        for (c = 0; c < C1; c++) {
            int64_t acc = b_fc[c];
            for (k = 0; k < C1; k++) {
                acc += (int64_t)(val(r2[i * C1 + k], MQ_DTYPE_INT8) - z2) * w_fc[c][k];
            }
            r4[i * C1 + c] = lut_tanh[byte_of(ref_clamp(zfc + ref_requantize64(acc, m_fc, sh_fc), -128, 127))];
        }
    }
    /* op4, op5 ADD (TFLite scheme) */
    for (i = 0; i < M * C1; i++) {
        const mq_add_params *a = &add1;
        int64_t p1 = ref_requantize64((int64_t)(val(r2[i], MQ_DTYPE_INT8) - a->in1_zero_point) * ((int64_t)1 << a->left_shift),
                                 a->in1_multiplier, a->in1_shift);
        int64_t p2 = ref_requantize64((int64_t)(val(r4[i], MQ_DTYPE_INT8) - a->in2_zero_point) * ((int64_t)1 << a->left_shift),
                                 a->in2_multiplier, a->in2_shift);
        r5[i] = byte_of(ref_clamp(a->out_zero_point + ref_requantize64(p1 + p2, a->out_multiplier, a->out_shift),
                                  a->act_min, a->act_max));
        a = &add2;
        p1 = ref_requantize64((int64_t)(val(r5[i], MQ_DTYPE_INT8) - a->in1_zero_point) * ((int64_t)1 << a->left_shift),
                         a->in1_multiplier, a->in1_shift);
        p2 = ref_requantize64((int64_t)(val(tc[i], MQ_DTYPE_INT8) - a->in2_zero_point) * ((int64_t)1 << a->left_shift),
                         a->in2_multiplier, a->in2_shift);
        r9[i] = byte_of(ref_clamp(a->out_zero_point + ref_requantize64(p1 + p2, a->out_multiplier, a->out_shift),
                                  a->act_min, a->act_max));
    }
    /* op6 transpose [9,16] -> [16,9], op7 reshape to [4,4,9] */
    for (i = 0; i < M; i++) {
        for (c = 0; c < C1; c++) {
            r6[c * M + i] = r9[i * C1 + c];
        }
    }
    /* op8 softmax over axis 1 of [4,4,9]: outer 4, axis 4, inner 9 */
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 9; j++) {
            int32_t xs[4], ys[4], mx = -1000;
            double fsum = 0.0;
            for (k = 0; k < 4; k++) {
                xs[k] = val(r6[(i * 4 + k) * 9 + j], MQ_DTYPE_INT8);
                mx = xs[k] > mx ? xs[k] : mx;
            }
            ref_softmax_row(xs, 4, sm_mult, sm_left, sm_diff_min, 0, 255, ys);   /* UINT8 output */
            for (k = 0; k < 4; k++) {
                fsum += exp((xs[k] - mx) * s9);
            }
            for (k = 0; k < 4; k++) {
                const double err = fabs((double)ys[k] / 256.0 - exp((xs[k] - mx) * s9) / fsum);
                r8[(i * 4 + k) * 9 + j] = (uint8_t)ys[k];
                max_err = err > max_err ? err : max_err;
            }
        }
    }
    CHECK(max_err <= 1.5 / 256.0); /* TFLite's integer softmax agrees with float64 softmax to ~1 code */

    /* ---- tensors ---- */
    memset(t, 0, sizeof t);
#define TENSOR(id, dt, rk, d0, d1, d2, d3, sc_, zp_, off)                        \
    do {                                                                      \
        t[id].dtype = dt;                                                     \
        t[id].rank = rk;                                                      \
        t[id].dims[0] = d0;                                                   \
        t[id].dims[1] = d1;                                                   \
        t[id].dims[2] = d2;                                                   \
        t[id].dims[3] = d3;                                                   \
        t[id].scale = (float)(sc_);                                           \
        t[id].zero_point = zp_;                                               \
        t[id].storage = MQ_STORAGE_ARENA;                                     \
        t[id].arena_offset = off;                                             \
    } while (0)
    TENSOR(0, MQ_DTYPE_UINT8, 4, 1, 4, 4, 8, s0, z0, 0u);
    TENSOR(1, MQ_DTYPE_INT8, 4, 1, 3, 3, 16, s1, z1, 144u);
    TENSOR(2, MQ_DTYPE_INT8, 4, 1, 3, 3, 16, s2, z2, 144u);
    TENSOR(3, MQ_DTYPE_INT8, 2, 9, 16, 0, 0, s2, z2, 144u);
    TENSOR(4, MQ_DTYPE_INT8, 2, 9, 16, 0, 0, s4, z4, 288u);
    TENSOR(5, MQ_DTYPE_INT8, 2, 9, 16, 0, 0, s5, z5, 288u);
    TENSOR(6, MQ_DTYPE_INT8, 2, 9, 16, 0, 0, sc, zc, 0u);
    t[6].storage = MQ_STORAGE_CONST;
    t[6].data = tc;
    t[6].channel_scales = tc_scales;
    t[6].num_channel_scales = C1;
    t[6].channel_axis = 1;
    TENSOR(7, MQ_DTYPE_INT8, 2, 9, 16, 0, 0, s9, z9, 144u);
    TENSOR(8, MQ_DTYPE_INT8, 2, 16, 9, 0, 0, s9, z9, 0u);
    TENSOR(9, MQ_DTYPE_INT8, 3, 4, 4, 9, 0, s9, z9, 144u);
    TENSOR(10, MQ_DTYPE_UINT8, 3, 4, 4, 9, 0, 1.0 / 256, 0, 0u);
#undef TENSOR

    /* ---- ops ---- */
    memset(ops, 0, sizeof ops);
    ops[0].type = MQ_OP_CONV_1X1;
    ops[0].num_inputs = 1;
    ops[0].inputs[0] = 0;
    ops[0].num_outputs = 1;
    ops[0].outputs[0] = 1;
    ops[0].conv.stride_h = 2;
    ops[0].conv.stride_w = 2;
    ops[0].conv.pad_top = ops[0].conv.pad_left = ops[0].conv.pad_bottom = ops[0].conv.pad_right = 1;
    ops[0].conv.gemm.n = C1;
    ops[0].conv.gemm.k = C0;
    ops[0].conv.gemm.weights.packed = pk_conv;
    ops[0].conv.gemm.bias.folded = fb_conv;
    ops[0].conv.gemm.multiplier = m_conv;
    ops[0].conv.gemm.shift = sh_conv;
    ops[0].conv.gemm.per_channel = 1;
    ops[0].conv.gemm.in_dtype = MQ_DTYPE_UINT8;
    ops[0].conv.gemm.out_dtype = MQ_DTYPE_INT8;
    ops[0].conv.gemm.out_zero_point = z1;
    ops[0].conv.gemm.act_min = z1; /* fused ReLU */
    ops[0].conv.gemm.act_max = 127;
    ops[0].scratch_offset = 128u;

    ops[1].type = MQ_OP_LUT;
    ops[1].num_inputs = ops[1].num_outputs = 1;
    ops[1].inputs[0] = 1;
    ops[1].outputs[0] = 2;
    ops[1].lut = lut_silu;

    ops[2].type = MQ_OP_RESHAPE;
    ops[2].num_inputs = ops[2].num_outputs = 1;
    ops[2].inputs[0] = 2;
    ops[2].outputs[0] = 3;

    ops[3].type = MQ_OP_FULLY_CONNECTED;
    ops[3].num_inputs = ops[3].num_outputs = 1;
    ops[3].inputs[0] = 3;
    ops[3].outputs[0] = 4;
    ops[3].fc.n = C1;
    ops[3].fc.k = C1;
    ops[3].fc.weights.packed = pk_fc;
    ops[3].fc.bias.folded = fb_fc;
    ops[3].fc.multiplier = &m_fc;
    ops[3].fc.shift = &sh_fc;
    ops[3].fc.per_channel = 0;
    ops[3].fc.in_dtype = MQ_DTYPE_INT8;
    ops[3].fc.out_dtype = MQ_DTYPE_INT8;
    ops[3].fc.out_zero_point = zfc;
    ops[3].fc.act_min = -128;
    ops[3].fc.act_max = 127;
    ops[3].fc.lut = lut_tanh;

    ops[4].type = MQ_OP_ADD;
    ops[4].num_inputs = 2;
    ops[4].inputs[0] = 3;
    ops[4].inputs[1] = 4;
    ops[4].num_outputs = 1;
    ops[4].outputs[0] = 5;
    ops[4].add = add1;

    ops[5].type = MQ_OP_ADD;
    ops[5].num_inputs = 2;
    ops[5].inputs[0] = 5;
    ops[5].inputs[1] = 6;
    ops[5].num_outputs = 1;
    ops[5].outputs[0] = 7;
    ops[5].add = add2;

    ops[6].type = MQ_OP_TRANSPOSE;
    ops[6].num_inputs = ops[6].num_outputs = 1;
    ops[6].inputs[0] = 7;
    ops[6].outputs[0] = 8;
    ops[6].perm[0] = 1;
    ops[6].perm[1] = 0;

    ops[7].type = MQ_OP_RESHAPE;
    ops[7].num_inputs = ops[7].num_outputs = 1;
    ops[7].inputs[0] = 8;
    ops[7].outputs[0] = 9;

    ops[8].type = MQ_OP_SOFTMAX;
    ops[8].num_inputs = ops[8].num_outputs = 1;
    ops[8].inputs[0] = 9;
    ops[8].outputs[0] = 10;
    ops[8].axis = 1;
    ops[8].softmax.input_multiplier = sm_mult;
    ops[8].softmax.input_left_shift = sm_left;
    ops[8].softmax.diff_min = sm_diff_min;

    memset(&model, 0, sizeof model);
    model.tensors = t;
    model.num_tensors = 11;
    model.ops = ops;
    model.num_ops = 9;
    model.inputs = inputs;
    model.num_inputs = 1;
    model.outputs = outputs;
    model.num_outputs = 2;
    model.arena_size = 432u;
    /* Live buffers by op (a view or in-place output shares its input's buffer):
     * op0 x 128 + scratch 8 + t1 144 = 280; op3 t3 144 + t4 144 = 288; op5 t5 144 + t9 144 = 288;
     * op6 t5 + t9 + t6 = 432; op7 t5 + t6 + t7 = 432; op8 t5 + t7 + t8 = 432 (t5 is an output). */
    model.arena_lower_bound = 432u;
    model.metadata.producer = "microquant mq_gen_fixture 1";
    model.metadata.source_name = "fixture (hand-built, no ONNX source)";
    model.metadata.hash_algorithm = "none";
    model.metadata.source_hash = hash;
    model.metadata.source_hash_size = 32u;
    model.metadata.calibration_method = "none (fixed qparams)";
    model.metadata.input_names = in_names;
    model.metadata.output_names = out_names;

    CHECK(mq_writer_write(&model, NULL, 0, &size, &diag) == MQ_OK);
    blob = (uint8_t *)malloc(size);
    CHECK(blob != NULL);
    if (mq_writer_write(&model, blob, size, &size, &diag) != MQ_OK) {
        fprintf(stderr, "mq_gen_fixture: writer: %s (tensor %d, op %d)\n", diag.message, (int)diag.tensor,
                (int)diag.op);
        return 1;
    }
    write_file(dir, "model.mqm", blob, size);
    write_file(dir, "input_0.bin", x, sizeof x);
    write_file(dir, "expected_0.bin", r8, sizeof r8);
    write_file(dir, "expected_1.bin", r5, sizeof r5);
    printf("mq_gen_fixture: model.mqm %zu bytes, arena 432, softmax max |err| vs float64 %.5f\n", size, max_err);
    free(blob);
    return 0;
}

/* ================================================================================================
 * Second fixture: a small convolutional network with two inputs and two outputs that uses every op of
 * format 2 (csrc/tests/fixtures/convnet_*). Expected outputs from an independent int64 reference written
 * below on the unpacked parameters (OHWI / [kh][kw][out_c] int8 weights, raw biases, zero points,
 * multipliers and shifts), never the runtime or the kernels.
 *
 *   x  UINT8 [1,9,8,3]  s 0.04 zp 128 (input 0)          z  UINT8 [1,3,3,4] s 0.1 zp 100 (input 1)
 *   op0  PAD before (0,1,1,0) after (0,0,1,0)  -> t1 UINT8 [1,10,10,3]
 *   op1  CONV 3x3 stride 2, pads t0 b1 l1 r0, per-channel, ReLU -> t2 INT8 [1,5,5,8]   (im2col scratch)
 *   op2  DEPTHWISE_CONV 3x3, multiplier 2, dilation 2, pads 2, per-channel, tanh LUT -> t3 INT8 [1,5,5,16]
 *   op3  MAX_POOL 2x2 stride 1, pads b1 r1, clamp [-100, 127]                         -> t4 INT8 [1,5,5,16]
 *   op4  AVERAGE_POOL 3x3 stride 2, pads 1                                            -> t5 INT8 [1,3,3,16]
 *   op5  MEAN over h, w                                                               -> t6 INT8 [1,16]
 *   op6  REQUANTIZE z to t5's qparams                                                 -> t7 INT8 [1,3,3,4]
 *   op7  CONCAT (t5, t7, t7) axis -1                                                  -> t8 INT8 [1,3,3,24]
 *   op8  MUL t8 x c_vec (CONST INT8 [24], per-channel broadcast), clamp               -> t9 INT8 [1,3,3,24]
 *   op9  ADD t9 + t8, ReLU                                                            -> t10 INT8 [1,3,3,24] (output 1)
 *   op10 MUL t6 x c_s (CONST INT8 [1], scalar broadcast)                              -> t11 INT8 [1,16]     (output 0)
 * Every tensor gets its own arena range (no reuse); the lower bound is computed from the live ranges.
 * ================================================================================================ */

static ref_rng g_cn = { 0x5EEDu };
static int32_t crnd(int32_t lo, int32_t hi)
{
    return (int32_t)ref_range(&g_cn, lo, hi);
}

enum { CN_T = 15, CN_OPS = 11 };

static int gen_convnet(const char *dir)
{
    enum { XH = 9, XW = 8, XC = 3, PH = 10, PW = 10, C2 = 8, H2 = 5, W2 = 5, DM = 2, C3 = 16, H5 = 3, W5 = 3,
           ZC = 4, CC = 24 };
    /* qparams: x, pad (same), conv out, dw requant (LUT input), dw out (tanh), pools (same as dw out),
       avgpool/concat domain, mean out, z, mul out, add out, consts, mul2 out */
    const double sx = 0.04, s2 = 0.05, sreq3 = 0.06, s3 = 1.0 / 128, s6 = 0.003, sz = 0.1, s9 = 0.02, s10 = 0.03,
                 svec = 0.01, ssc = 0.05, s11 = 0.002;
    const int32_t zx = 128, z2 = -7, zreq3 = 5, z3 = 0, z6 = 3, zz = 100, z9 = -2, z10 = -20, zvec = 4, zsc = -1,
                  z11 = 1;
    int8_t wc[C2][3][3][XC], wd[3][3][C3];
    int32_t bc[C2], bd[C3], fbc[C2], pbd[C3], mc[C2], shc[C2], md[C3], shd[C3];
    double wsc[C2], wsd[C3];
    int8_t pk_c[8 * 32];
    int16_t pk_d[3 * 3 * C3];
    uint8_t lut_tanh[256], chk[256];
    uint8_t x[XH * XW * XC], z[H5 * W5 * ZC], cvec[CC], cs[1];
    uint8_t r1[PH * PW * XC], r2[H2 * W2 * C2], r3[H2 * W2 * C3], r4[H2 * W2 * C3], r5[H5 * W5 * C3], r6[C3];
    uint8_t r7[H5 * W5 * ZC], r8[H5 * W5 * CC], r9[H5 * W5 * CC], r10[H5 * W5 * CC], r11[C3];
    mq_pool_params maxp, avgp;
    mq_mean_params meanp;
    mq_requantize_params rqp;
    mq_mul_params mulp, mul2p;
    mq_add_params addp;
    mq_conv_params convp;
    mq_depthwise_params dwp;
    mq_writer_tensor t[CN_T];
    mq_writer_op ops[CN_OPS];
    mq_writer_model model;
    mq_writer_diag diag;
    int32_t inputs[2] = { 0, 9 }, outputs[2] = { 13, 12 };
    const int32_t pad_before[4] = { 0, 1, 1, 0 }, pad_after[4] = { 0, 0, 1, 0 };
    const char *in_names[2] = { "image", "side" };
    const char *out_names[2] = { "pooled", "features" };
    int32_t cat_in[3] = { 6, 10, 10 };
    uint32_t offs[CN_T], scratch_c, scratch_d, arena = 0, lower = 0;
    int32_t def[CN_T], last[CN_T];
    uint8_t *blob;
    size_t size = 0, ssz_c, ssz_d;
    int32_t i, c, o, ky, kx, oy, ox, y, xx, k, mm;
    mq_activation_desc tanh_d = { MQ_ACT_TANH, 0.0, 0.0 };

    /* ---- data ---- */
    for (o = 0; o < C2; o++) {
        for (ky = 0; ky < 3; ky++) {
            for (kx = 0; kx < 3; kx++) {
                for (c = 0; c < XC; c++) {
                    wc[o][ky][kx][c] = (int8_t)crnd(-127, 127);
                }
            }
        }
        bc[o] = crnd(-4000, 4000);
        wsc[o] = 0.003 + 0.0004 * o;
    }
    for (ky = 0; ky < 3; ky++) {
        for (kx = 0; kx < 3; kx++) {
            for (o = 0; o < C3; o++) {
                wd[ky][kx][o] = (int8_t)crnd(-127, 127);
            }
        }
    }
    for (o = 0; o < C3; o++) {
        bd[o] = crnd(-3000, 3000);
        wsd[o] = 0.002 + 0.0003 * o;
    }
    for (i = 0; i < (int32_t)sizeof x; i++) {
        x[i] = (uint8_t)crnd(0, 255);
    }
    for (i = 0; i < (int32_t)sizeof z; i++) {
        z[i] = (uint8_t)crnd(0, 255);
    }
    for (i = 0; i < CC; i++) {
        cvec[i] = ref_byte(crnd(-128, 127));
    }
    cs[0] = ref_byte(100);

    /* ---- prepare (mq_host.h) ---- */
    CHECK(mq_pack_weights_n4k16(&wc[0][0][0][0], C2, 9 * XC, pk_c, sizeof pk_c) == MQ_OK);
    CHECK(mq_fold_bias(&wc[0][0][0][0], bc, C2, 9 * XC, zx, MQ_DTYPE_UINT8, fbc) == MQ_OK);
    for (o = 0; o < C2; o++) {
        CHECK(mq_quantize_multiplier(sx * wsc[o] / s2, &mc[o], &shc[o]) == MQ_OK);
    }
    CHECK(mq_depthwise_pack_weights(&wd[0][0][0], 3, 3, C3, pk_d, sizeof pk_d) == MQ_OK);
    CHECK(mq_depthwise_prepare_bias(&wd[0][0][0], bd, 3, 3, C3, z2, MQ_DTYPE_INT8, pbd) == MQ_OK);
    for (o = 0; o < C3; o++) {
        CHECK(mq_quantize_multiplier(s2 * wsd[o] / sreq3, &md[o], &shd[o]) == MQ_OK);
    }
    CHECK(mq_lut_build(&tanh_d, sreq3, zreq3, MQ_DTYPE_INT8, s3, z3, MQ_DTYPE_INT8, lut_tanh) == MQ_OK);
    ref_table(tanh, sreq3, zreq3, MQ_DTYPE_INT8, s3, z3, MQ_DTYPE_INT8, chk);
    CHECK(memcmp(chk, lut_tanh, 256) == 0);
    CHECK(mq_pool_prepare(1, H2, W2, C3, 2, 2, 1, 1, 0, 1, 0, 1, MQ_DTYPE_INT8, s3, z3, -100.0 * s3, INFINITY,
                          &maxp) == MQ_OK);
    CHECK(maxp.act_min == -100 && maxp.act_max == 127);
    CHECK(mq_pool_prepare(1, H2, W2, C3, 3, 3, 2, 2, 1, 1, 1, 1, MQ_DTYPE_INT8, s3, z3, -INFINITY, INFINITY,
                          &avgp) == MQ_OK);
    CHECK(avgp.win.out_h == H5 && avgp.win.out_w == W5);
    CHECK(mq_mean_prepare(1, H5, W5, C3, s3, z3, MQ_DTYPE_INT8, s6, z6, MQ_DTYPE_INT8, -128, 127, &meanp) == MQ_OK);
    CHECK(mq_requantize_prepare(sz, zz, MQ_DTYPE_UINT8, s3, z3, MQ_DTYPE_INT8, &rqp) == MQ_OK);
    CHECK(mq_mul_prepare(s3, z3, MQ_DTYPE_INT8, svec, zvec, MQ_DTYPE_INT8, s9, z9, MQ_DTYPE_INT8, -90, 90,
                         MQ_BCAST_CHANNEL, CC, &mulp) == MQ_OK);
    CHECK(mq_mul_prepare(s6, z6, MQ_DTYPE_INT8, ssc, zsc, MQ_DTYPE_INT8, s11, z11, MQ_DTYPE_INT8, -128, 127,
                         MQ_BCAST_SCALAR, 0, &mul2p) == MQ_OK);
    CHECK(mq_add_prepare(s9, z9, MQ_DTYPE_INT8, s3, z3, MQ_DTYPE_INT8, s10, z10, MQ_DTYPE_INT8, z10, 127, &addp) ==
          MQ_OK);
    /* the prepared multipliers against the real scale ratios (float64; 1/(h*w) folded into MEAN's) */
    CHECK(fabs(ldexp((double)rqp.multiplier, rqp.shift - 31) - sz / s3) <= sz / s3 * 1e-8);
    CHECK(fabs(ldexp((double)mulp.out_multiplier, mulp.out_shift - 31) - s3 * svec / s9) <= s3 * svec / s9 * 1e-8);
    CHECK(fabs(ldexp((double)meanp.multiplier, meanp.shift - 31) - s3 / s6 / 9.0) <= s3 / s6 / 9.0 * 1e-6);

    /* ---- reference ---- */
    /* op0 pad */
    for (y = 0; y < PH; y++) {
        for (xx = 0; xx < PW; xx++) {
            for (c = 0; c < XC; c++) {
                const int32_t sy = y - 1, sx_ = xx - 1;
                r1[(y * PW + xx) * XC + c] = sy >= 0 && sy < XH && sx_ >= 0 && sx_ < XW ? x[(sy * XW + sx_) * XC + c]
                                                                                        : (uint8_t)zx;
            }
        }
    }
    /* op1 conv 3x3 stride 2, pad top 0 bottom 1 left 1 right 0: out 5x5 */
    for (oy = 0; oy < H2; oy++) {
        for (ox = 0; ox < W2; ox++) {
            for (o = 0; o < C2; o++) {
                int64_t acc = bc[o];
                for (ky = 0; ky < 3; ky++) {
                    for (kx = 0; kx < 3; kx++) {
                        const int32_t iy = oy * 2 + ky, ix = ox * 2 + kx - 1;
                        if (iy < 0 || iy >= PH || ix < 0 || ix >= PW) {
                            continue; /* padded tap: (zp - zp) * w = 0 */
                        }
                        for (c = 0; c < XC; c++) {
                            acc += (int64_t)(r1[(iy * PW + ix) * XC + c] - zx) * wc[o][ky][kx][c];
                        }
                    }
                }
                r2[(oy * W2 + ox) * C2 + o] = ref_byte(ref_clamp(z2 + ref_requantize64(acc, mc[o], shc[o]), z2, 127));
            }
        }
    }
    /* op2 depthwise 3x3, multiplier 2, dilation 2, pads 2: out 5x5x16, tanh LUT epilogue */
    for (oy = 0; oy < H2; oy++) {
        for (ox = 0; ox < W2; ox++) {
            for (c = 0; c < C2; c++) {
                for (mm = 0; mm < DM; mm++) {
                    const int32_t oc = c * DM + mm;
                    int64_t acc = bd[oc];
                    for (ky = 0; ky < 3; ky++) {
                        for (kx = 0; kx < 3; kx++) {
                            const int32_t iy = oy + 2 * ky - 2, ix = ox + 2 * kx - 2;
                            if (iy >= 0 && iy < H2 && ix >= 0 && ix < W2) {
                                acc += (int64_t)(ref_code(r2[(iy * W2 + ix) * C2 + c], 0) - z2) * wd[ky][kx][oc];
                            }
                        }
                    }
                    r3[(oy * W2 + ox) * C3 + oc] =
                        lut_tanh[ref_byte(ref_clamp(zreq3 + ref_requantize64(acc, md[oc], shd[oc]), -128, 127))];
                }
            }
        }
    }
    /* op3 max pool 2x2 stride 1, pads bottom 1 right 1 (padded taps ignored), clamp [-100, 127] */
    for (oy = 0; oy < H2; oy++) {
        for (ox = 0; ox < W2; ox++) {
            for (c = 0; c < C3; c++) {
                int32_t mx = -1000;
                for (ky = 0; ky < 2; ky++) {
                    for (kx = 0; kx < 2; kx++) {
                        if (oy + ky < H2 && ox + kx < W2) {
                            const int32_t v = ref_code(r3[((oy + ky) * W2 + ox + kx) * C3 + c], 0);
                            mx = v > mx ? v : mx;
                        }
                    }
                }
                r4[(oy * W2 + ox) * C3 + c] = ref_byte(ref_clamp(mx, -100, 127));
            }
        }
    }
    /* op4 average pool 3x3 stride 2, pads 1: mean of the valid taps, rounded half away from zero */
    for (oy = 0; oy < H5; oy++) {
        for (ox = 0; ox < W5; ox++) {
            for (c = 0; c < C3; c++) {
                int64_t sum = 0, cnt = 0, q;
                for (ky = 0; ky < 3; ky++) {
                    for (kx = 0; kx < 3; kx++) {
                        const int32_t iy = oy * 2 + ky - 1, ix = ox * 2 + kx - 1;
                        if (iy >= 0 && iy < H2 && ix >= 0 && ix < W2) {
                            sum += ref_code(r4[(iy * W2 + ix) * C3 + c], 0);
                            cnt++;
                        }
                    }
                }
                q = sum >= 0 ? (sum + cnt / 2) / cnt : -((-sum + cnt / 2) / cnt);
                r5[(oy * W5 + ox) * C3 + c] = ref_byte(ref_clamp(q, -128, 127));
            }
        }
    }
    /* op5 mean over h, w (kernel's documented arithmetic: requant(sum(x - zp), M', s') with 1/n folded) */
    for (c = 0; c < C3; c++) {
        int64_t acc = 0;
        double real = 0.0;
        int32_t q;
        for (i = 0; i < H5 * W5; i++) {
            acc += ref_code(r5[i * C3 + c], 0) - z3;
        }
        q = ref_clamp(z6 + ref_requantize64(acc, meanp.multiplier, meanp.shift), -128, 127);
        real = (double)acc * s3 / 9.0;
        CHECK(fabs((q - z6) * s6 - real) <= 1.01 * s6 || q == -128 || q == 127); /* within a code of the float mean */
        r6[c] = ref_byte(q);
    }
    /* op6 requantize z (UINT8) to t5's qparams */
    for (i = 0; i < H5 * W5 * ZC; i++) {
        r7[i] = ref_byte(ref_clamp(z3 + ref_requantize64((int64_t)z[i] - zz, rqp.multiplier, rqp.shift), -128, 127));
    }
    /* op7 concat (r5, r7, r7) along channels */
    for (i = 0; i < H5 * W5; i++) {
        memcpy(r8 + i * CC, r5 + i * C3, C3);
        memcpy(r8 + i * CC + C3, r7 + i * ZC, ZC);
        memcpy(r8 + i * CC + C3 + ZC, r7 + i * ZC, ZC);
    }
    /* op8 mul with the per-channel constant, op9 add (TFLite scheme) with ReLU */
    for (i = 0; i < H5 * W5 * CC; i++) {
        const int64_t prod = (int64_t)(ref_code(r8[i], 0) - z3) * (ref_code(cvec[i % CC], 0) - zvec);
        int64_t p1, p2;
        r9[i] = ref_byte(ref_clamp(z9 + ref_requantize64(prod, mulp.out_multiplier, mulp.out_shift), -90, 90));
        p1 = ref_requantize64((int64_t)(ref_code(r9[i], 0) - z9) * ((int64_t)1 << addp.left_shift), addp.in1_multiplier,
                              addp.in1_shift);
        p2 = ref_requantize64((int64_t)(ref_code(r8[i], 0) - z3) * ((int64_t)1 << addp.left_shift), addp.in2_multiplier,
                              addp.in2_shift);
        r10[i] = ref_byte(ref_clamp(z10 + ref_requantize64(p1 + p2, addp.out_multiplier, addp.out_shift), z10, 127));
    }
    /* op10 mul with the scalar constant */
    for (c = 0; c < C3; c++) {
        const int64_t prod = (int64_t)(ref_code(r6[c], 0) - z6) * (ref_code(cs[0], 0) - zsc);
        r11[c] = ref_byte(ref_clamp(z11 + ref_requantize64(prod, mul2p.out_multiplier, mul2p.out_shift), -128, 127));
    }

    /* ---- tensors ---- */
    memset(t, 0, sizeof t);
#define CT(id, dt, rk, d0, d1, d2, d3, sc_, zp_)                                \
    do {                                                                      \
        t[id].dtype = dt;                                                     \
        t[id].rank = rk;                                                      \
        t[id].dims[0] = d0;                                                   \
        t[id].dims[1] = d1;                                                   \
        t[id].dims[2] = d2;                                                   \
        t[id].dims[3] = d3;                                                   \
        t[id].scale = (float)(sc_);                                           \
        t[id].zero_point = zp_;                                               \
        t[id].storage = MQ_STORAGE_ARENA;                                     \
    } while (0)
    CT(0, MQ_DTYPE_UINT8, 4, 1, XH, XW, XC, sx, zx);
    CT(1, MQ_DTYPE_UINT8, 4, 1, PH, PW, XC, sx, zx);
    CT(2, MQ_DTYPE_INT8, 4, 1, H2, W2, C2, s2, z2);
    CT(3, MQ_DTYPE_INT8, 4, 1, H2, W2, C3, s3, z3);
    CT(4, MQ_DTYPE_INT8, 4, 1, H2, W2, C3, s3, z3);
    CT(5, MQ_DTYPE_INT8, 4, 1, H5, W5, C3, s3, z3);
    CT(6, MQ_DTYPE_INT8, 2, 1, C3, 0, 0, s6, z6);
    /* ids: 0 x, 1 pad, 2 conv, 3 dw, 4 maxpool, 5 avgpool, 6 mean, 7 c_vec, 8 concat, 9 z, 10 requantize,
     * 11 c_s, 12 add (output 1), 13 mul2 (output 0), 14 mul */
    CT(9, MQ_DTYPE_UINT8, 4, 1, H5, W5, ZC, sz, zz);
    CT(10, MQ_DTYPE_INT8, 4, 1, H5, W5, ZC, s3, z3);
    CT(8, MQ_DTYPE_INT8, 4, 1, H5, W5, CC, s3, z3);     /* concat */
    CT(12, MQ_DTYPE_INT8, 4, 1, H5, W5, CC, s10, z10);  /* add: output 1 */
    CT(13, MQ_DTYPE_INT8, 2, 1, C3, 0, 0, s11, z11);    /* mul2: output 0 */
    CT(14, MQ_DTYPE_INT8, 4, 1, H5, W5, CC, s9, z9);    /* mul (per-channel constant) */
    CT(7, MQ_DTYPE_INT8, 1, CC, 0, 0, 0, svec, zvec);
    t[7].storage = MQ_STORAGE_CONST;
    t[7].data = cvec;
    CT(11, MQ_DTYPE_INT8, 1, 1, 0, 0, 0, ssc, zsc);
    t[11].storage = MQ_STORAGE_CONST;
    t[11].data = cs;
#undef CT

    /* ---- ops ---- */
    memset(&convp, 0, sizeof convp);
    convp.win.kernel_h = convp.win.kernel_w = 3;
    convp.win.stride_h = convp.win.stride_w = 2;
    convp.win.dilation_h = convp.win.dilation_w = 1;
    convp.win.pad_top = 0;
    convp.win.pad_bottom = 1;
    convp.win.pad_left = 1;
    convp.win.pad_right = 0;
    convp.gemm.n = C2;
    convp.gemm.k = 9 * XC;
    convp.gemm.weights.packed = pk_c;
    convp.gemm.bias.folded = fbc;
    convp.gemm.multiplier = mc;
    convp.gemm.shift = shc;
    convp.gemm.per_channel = 1;
    convp.gemm.in_dtype = MQ_DTYPE_UINT8;
    convp.gemm.out_dtype = MQ_DTYPE_INT8;
    convp.gemm.out_zero_point = z2;
    convp.gemm.act_min = z2;
    convp.gemm.act_max = 127;
    memset(&dwp, 0, sizeof dwp);
    dwp.win.kernel_h = dwp.win.kernel_w = 3;
    dwp.win.stride_h = dwp.win.stride_w = 1;
    dwp.win.dilation_h = dwp.win.dilation_w = 2;
    dwp.win.pad_top = dwp.win.pad_bottom = dwp.win.pad_left = dwp.win.pad_right = 2;
    dwp.depth_multiplier = DM;
    dwp.out_dtype = MQ_DTYPE_INT8;
    dwp.out_zero_point = zreq3;
    dwp.weights.data = pk_d;
    dwp.bias.folded = pbd;
    dwp.multiplier = md;
    dwp.shift = shd;
    dwp.per_channel = 1;
    dwp.act_min = -128;
    dwp.act_max = 127;
    dwp.lut = lut_tanh;

    ops[0] = mq_writer_op_pad(0, 1, pad_before, pad_after);
    ops[1] = mq_writer_op_conv(1, 2, &convp, 0u);
    ops[2] = mq_writer_op_depthwise_conv(2, 3, &dwp, 0u);
    ops[3] = mq_writer_op_pool(MQ_OP_MAX_POOL, 3, 4, &maxp);
    ops[4] = mq_writer_op_pool(MQ_OP_AVERAGE_POOL, 4, 5, &avgp);
    ops[5] = mq_writer_op_mean(5, 6, &meanp);
    ops[6] = mq_writer_op_requantize(9, 10, &rqp);
    cat_in[0] = 5;
    ops[7] = mq_writer_op_concat(cat_in, 3, 8, -1);
    ops[8] = mq_writer_op_mul(8, 7, 14, &mulp);
    ops[9] = mq_writer_op_add(14, 8, 12, &addp);
    ops[10] = mq_writer_op_mul(6, 11, 13, &mul2p);

    /* ---- arena: every arena tensor and scratch its own 16-aligned range; lower bound from live ranges ---- */
    ssz_c = mq_writer_op_scratch_size(&ops[1], t, CN_T);
    ssz_d = mq_writer_op_scratch_size(&ops[2], t, CN_T);
    CHECK(ssz_c > 0u); /* the im2col buffer */
    for (i = 0; i < CN_T; i++) {
        def[i] = -1;
        last[i] = -1;
        offs[i] = 0u;
        if (t[i].storage == MQ_STORAGE_ARENA) {
            size_t n = 1u;
            for (k = 0; k < t[i].rank; k++) {
                n *= (size_t)t[i].dims[k];
            }
            offs[i] = arena;
            t[i].arena_offset = arena;
            arena += (uint32_t)((n + 15u) & ~(size_t)15u);
        }
    }
    scratch_c = arena;
    arena += (uint32_t)((ssz_c + 15u) & ~(size_t)15u);
    scratch_d = ssz_d > 0u ? arena : 0u;
    arena += (uint32_t)((ssz_d + 15u) & ~(size_t)15u);
    ops[1].scratch_offset = scratch_c;
    ops[2].scratch_offset = scratch_d;
    for (o = 0; o < CN_OPS; o++) {
        def[ops[o].outputs[0]] = o;
        for (k = 0; k < ops[o].num_inputs; k++) {
            last[ops[o].inputs[k]] = o;
        }
    }
    for (i = 0; i < 2; i++) {
        last[outputs[i]] = CN_OPS;
    }
    for (o = 0; o < CN_OPS; o++) {
        uint32_t live = 0u;
        for (i = 0; i < CN_T; i++) {
            if (t[i].storage == MQ_STORAGE_ARENA && def[i] <= o && last[i] >= o) {
                size_t n = 1u;
                for (k = 0; k < t[i].rank; k++) {
                    n *= (size_t)t[i].dims[k];
                }
                live += (uint32_t)((n + 15u) & ~(size_t)15u);
            }
        }
        live += o == 1 ? (uint32_t)((ssz_c + 15u) & ~(size_t)15u) : 0u;
        live += o == 2 ? (uint32_t)((ssz_d + 15u) & ~(size_t)15u) : 0u;
        lower = live > lower ? live : lower;
    }

    memset(&model, 0, sizeof model);
    model.tensors = t;
    model.num_tensors = CN_T;
    model.ops = ops;
    model.num_ops = CN_OPS;
    model.inputs = inputs;
    model.num_inputs = 2;
    model.outputs = outputs;
    model.num_outputs = 2;
    model.arena_size = arena;
    model.arena_lower_bound = lower;
    model.metadata.producer = "microquant mq_gen_fixture 2";
    model.metadata.source_name = "convnet fixture (hand-built, no ONNX source)";
    model.metadata.hash_algorithm = "none";
    model.metadata.calibration_method = "none (fixed qparams)";
    model.metadata.input_names = in_names;
    model.metadata.output_names = out_names;
    if (mq_writer_write(&model, NULL, 0, &size, &diag) != MQ_OK) {
        fprintf(stderr, "mq_gen_fixture: convnet writer (size): %s (tensor %d, op %d)\n", diag.message,
                (int)diag.tensor, (int)diag.op);
        return 1;
    }
    blob = (uint8_t *)malloc(size);
    CHECK(blob != NULL);
    if (mq_writer_write(&model, blob, size, &size, &diag) != MQ_OK) {
        fprintf(stderr, "mq_gen_fixture: convnet writer: %s (tensor %d, op %d)\n", diag.message, (int)diag.tensor,
                (int)diag.op);
        return 1;
    }
    write_file(dir, "convnet.mqm", blob, size);
    write_file(dir, "convnet_input_0.bin", x, sizeof x);
    write_file(dir, "convnet_input_1.bin", z, sizeof z);
    write_file(dir, "convnet_expected_0.bin", r11, sizeof r11);
    write_file(dir, "convnet_expected_1.bin", r10, sizeof r10);
    printf("mq_gen_fixture: convnet.mqm %zu bytes, arena %u (lower bound %u), im2col scratch %zu, dw scratch %zu\n",
           size, (unsigned)arena, (unsigned)lower, ssz_c, ssz_d);
    free(blob);
    (void)r9;
    (void)offs;
    return 0;
}
