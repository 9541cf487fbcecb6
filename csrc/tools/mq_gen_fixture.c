/*
 * MicroQuant: generator of the runtime test fixture (csrc/tests/fixtures/).
 *
 *   mq_gen_fixture <out_dir>
 *
 * Builds a small model that uses every op the runtime supports, packs it with mq_writer (constants
 * prepared by the mq_host.h functions, arena offsets planned by hand below), and computes the
 * expected outputs with an INDEPENDENT reference written here: int64 arithmetic on the unpacked
 * parameters (row-major weights, raw bias, zero points, the requantization multipliers/shifts),
 * never the runtime or the kernels. The LUT and exp tables are re-derived here in float64 and
 * compared with mq_host's, and the softmax result is compared with a float64 softmax.
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

int main(int argc, char **argv)
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
    uint32_t exp_tab[256];
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

    if (argc != 2) {
        fprintf(stderr, "usage: mq_gen_fixture <out_dir>\n");
        return 2;
    }

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
    CHECK(mq_softmax_build_exp_table(s9, exp_tab) == MQ_OK);
    for (i = 0; i < 256; i++) {
        CHECK(exp_tab[i] == (uint32_t)nearbyint(exp(-i * s9) * 65536.0));
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
            int32_t mx = -1000;
            uint64_t sum = 0;
            double fsum = 0.0;
            for (k = 0; k < 4; k++) {
                const int32_t v = val(r6[(i * 4 + k) * 9 + j], MQ_DTYPE_INT8);
                mx = v > mx ? v : mx;
            }
            for (k = 0; k < 4; k++) {
                const int32_t v = val(r6[(i * 4 + k) * 9 + j], MQ_DTYPE_INT8);
                sum += exp_tab[mx - v];
                fsum += exp((v - mx) * s9);
            }
            for (k = 0; k < 4; k++) {
                const int32_t v = val(r6[(i * 4 + k) * 9 + j], MQ_DTYPE_INT8);
                const uint64_t q = (256u * (uint64_t)exp_tab[mx - v] + sum / 2u) / sum;
                const double err = fabs((double)(q > 255u ? 255u : q) / 256.0 - exp((v - mx) * s9) / fsum);
                r8[(i * 4 + k) * 9 + j] = (uint8_t)(q > 255u ? 255u : q);
                max_err = err > max_err ? err : max_err;
            }
        }
    }
    CHECK(max_err <= 1.5 / 256.0); /* the int8 softmax agrees with float64 softmax to ~1 code */

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
    ops[8].exp_table = exp_tab;

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
    write_file(argv[1], "model.mqm", blob, size);
    write_file(argv[1], "input_0.bin", x, sizeof x);
    write_file(argv[1], "expected_0.bin", r8, sizeof r8);
    write_file(argv[1], "expected_1.bin", r5, sizeof r5);
    printf("mq_gen_fixture: model.mqm %zu bytes, arena 432, softmax max |err| vs float64 %.5f\n", size, max_err);
    free(blob);
    return 0;
}
