/*
 * cmocka: the op build list (csrc/src/mq_format.h). This test compiles the loader and the interpreter
 * itself with a build list of FULLY_CONNECTED and LUT only (as a firmware built with -DMQ_OPS=
 * "FULLY_CONNECTED;LUT" does), so its mq_model_load / mq_model_run replace the library's all-op ones:
 *   - a model of FC + LUT loads and runs bit-exactly against an int64 reference written here;
 *   - the committed fixtures (CONV_1X1, ADD, SOFTMAX ... and every format-2 op) are rejected at load with
 *     MQ_ERR_UNSUPPORTED_OP, error_offset at the first op record of a left-out type;
 *   - the all-op library's writer still accepts the same descriptions (it validates with this loader here,
 *     so it is exercised on the FC model only);
 *   - the list also names GEMM kernel variants (mq_kernel_select.h) but not GEMM_SINGLE_ROUNDING: the same FC model
 *     with the single-rounding header flag is rejected at load with MQ_ERR_UNSUPPORTED_OP at its FC op record.
 */
#define MQ_OPS_SELECTED 1
#define MQ_OP_FULLY_CONNECTED_ENABLED 1
#define MQ_OP_LUT_ENABLED 1
#define MQ_GEMM_SELECTED 1
#define MQ_GEMM_BATCHED_ENABLED 1
#define MQ_GEMM_INT8_ENABLED 1
#define MQ_GEMM_PER_CHANNEL_ENABLED 1

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

#include "../src/runtime/mq_model_load.c"
#include "../src/runtime/mq_model_run.c"

#include "ref_quant.h"

#ifndef MQ_TESTS_DIR
#define MQ_TESTS_DIR "csrc/tests"
#endif

#if MQ_OP_CONV_ENABLED || MQ_OP_CONV_1X1_ENABLED || MQ_OP_SOFTMAX_ENABLED || !MQ_OP_LUT_ENABLED || \
    MQ_GEMM_SINGLE_ROUNDING_ENABLED || MQ_GEMM_UINT8_ENABLED
#error "the build list did not apply"
#endif

static uint8_t *read_file(const char *name, size_t *size)
{
    char path[1024];
    FILE *fp;
    long n;
    uint8_t *d;
    snprintf(path, sizeof path, "%s/fixtures/%s", MQ_TESTS_DIR, name);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    d = (uint8_t *)malloc((size_t)n);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return d;
}

/* Byte offset of the first op record whose type is not FC or LUT. */
static uint32_t first_left_out_op(const uint8_t *b)
{
    const uint32_t o_off = (uint32_t)b[64 + 16 + 4] | ((uint32_t)b[64 + 16 + 5] << 8) |
                           ((uint32_t)b[64 + 16 + 6] << 16) | ((uint32_t)b[64 + 16 + 7] << 24);
    const uint32_t n_ops = (uint32_t)b[38] | ((uint32_t)b[39] << 8);
    uint32_t i;
    for (i = 0; i < n_ops; i++) {
        const uint8_t t = b[o_off + 160u * i];
        if (t != MQ_OP_FULLY_CONNECTED && t != MQ_OP_LUT) {
            return o_off + 160u * i;
        }
    }
    return 0;
}

static void test_fixtures_rejected_as_unsupported(void **state)
{
    const char *names[2] = { "model.mqm", "convnet.mqm" };
    int f;
    (void)state;
    for (f = 0; f < 2; f++) {
        size_t n;
        uint8_t *b = read_file(names[f], &n);
        mq_model m;
        assert_int_equal(mq_model_load(b, n, MQ_LOAD_CHECK_CRC, &m), MQ_ERR_UNSUPPORTED_OP);
        assert_null(m.blob);
        assert_int_equal(m.error_offset, first_left_out_op(b));
        assert_int_equal(m.format_version_major, 2);
        free(b);
    }
}

/* x INT8 [3, 40] --FC per-channel, n 10, fused ReLU--> INT8 [3, 10] --LUT (in place)--> out [3, 10] */
static void test_fc_lut_model_runs(void **state)
{
    enum { B = 3, K = 40, N = 10 };
    int8_t w[N][K], packed[12 * 48];
    int32_t bias[N], folded[N], mult[N], shift[N];
    uint8_t lut[256], x[B * K], out[B * N], ref[B * N];
    mq_writer_tensor t[3];
    mq_writer_op ops[2];
    mq_writer_model model;
    mq_writer_diag diag;
    mq_fc_params fc;
    int32_t ins[1] = { 0 }, outs[1] = { 2 };
    ref_rng rng = { 42u };
    uint8_t *blob;
    uint8_t *arena;
    size_t size = 0;
    mq_model m;
    const void *in_ptrs[1];
    void *out_ptrs[1];
    int32_t i, j, k;
    (void)state;
    for (i = 0; i < N; i++) {
        for (k = 0; k < K; k++) {
            w[i][k] = (int8_t)ref_range(&rng, -127, 127);
        }
        bias[i] = (int32_t)ref_range(&rng, -5000, 5000);
        assert_int_equal(mq_quantize_multiplier(0.0005 + 0.0001 * i, &mult[i], &shift[i]), MQ_OK);
    }
    for (i = 0; i < B * K; i++) {
        x[i] = ref_byte((int32_t)ref_range(&rng, -128, 127));
    }
    for (i = 0; i < 256; i++) {
        lut[i] = (uint8_t)(255 - i); /* any table: the reference applies the same one */
    }
    assert_int_equal(mq_pack_weights_n4k16(&w[0][0], N, K, packed, sizeof packed), MQ_OK);
    assert_int_equal(mq_fold_bias(&w[0][0], bias, N, K, 5, MQ_DTYPE_INT8, folded), MQ_OK);
    memset(t, 0, sizeof t);
    t[0].dtype = MQ_DTYPE_INT8;
    t[0].rank = 2;
    t[0].dims[0] = B;
    t[0].dims[1] = K;
    t[0].zero_point = 5;
    t[0].scale = 0.1f;
    t[0].arena_offset = 0;
    t[1] = t[0];
    t[1].dims[1] = N;
    t[1].zero_point = -3;
    t[1].arena_offset = 128;
    t[2] = t[1];
    memset(&fc, 0, sizeof fc);
    fc.n = N;
    fc.k = K;
    fc.weights.packed = packed;
    fc.bias.folded = folded;
    fc.multiplier = mult;
    fc.shift = shift;
    fc.per_channel = 1;
    fc.in_dtype = MQ_DTYPE_INT8;
    fc.out_dtype = MQ_DTYPE_INT8;
    fc.out_zero_point = -3;
    fc.act_min = -3;
    fc.act_max = 127;
    ops[0] = mq_writer_op_fully_connected(0, 1, &fc);
    ops[1] = mq_writer_op_lut(1, 2, lut);
    memset(&model, 0, sizeof model);
    model.tensors = t;
    model.num_tensors = 3;
    model.ops = ops;
    model.num_ops = 2;
    model.inputs = ins;
    model.num_inputs = 1;
    model.outputs = outs;
    model.num_outputs = 1;
    model.arena_size = 160;
    model.arena_lower_bound = 160;
    assert_int_equal(mq_writer_write(&model, NULL, 0, &size, &diag), MQ_OK);
    blob = (uint8_t *)malloc(size);
    assert_non_null(blob);
    assert_int_equal(mq_writer_write(&model, blob, size, &size, &diag), MQ_OK);
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = (uint8_t *)malloc(160);
    assert_non_null(arena);
    in_ptrs[0] = x;
    out_ptrs[0] = out;
    assert_int_equal(mq_model_run(&m, arena, 160, in_ptrs, out_ptrs), MQ_OK);
    for (i = 0; i < B; i++) {
        for (j = 0; j < N; j++) {
            int64_t acc = bias[j];
            for (k = 0; k < K; k++) {
                acc += (int64_t)(ref_code(x[i * K + k], 0) - 5) * w[j][k];
            }
            {
                int64_t v = -3 + (int64_t)ref_requantize64(acc, mult[j], shift[j]);
                v = v < -3 ? -3 : (v > 127 ? 127 : v);
                ref[i * N + j] = lut[ref_byte((int32_t)v)];
            }
        }
    }
    assert_memory_equal(out, ref, sizeof ref);
    /* the same model with the single-rounding FC header flag: this build has no such kernel. The writer validates
     * with this loader (so it reports the rejection) after writing the blob, which the loader then rejects at the
     * FC op record (the first record of the OPS section, section table entry 1). */
    model.flags = MQ_MODEL_FLAG_SINGLE_ROUNDING_FC;
    assert_int_equal(mq_writer_write(&model, blob, size, &size, &diag), MQ_ERR_UNSUPPORTED_OP);
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_ERR_UNSUPPORTED_OP);
    assert_int_equal(m.error_offset, mq_rd32(blob + 64 + 16 + 4));
    free(arena);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_rejected_as_unsupported),
        cmocka_unit_test(test_fc_lut_model_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
