/*
 * cmocka: mq_model_run_batch (the simulator's batched host path) gives, byte for byte, what mq_model_run gives
 * sample by sample (mq_model_run itself is checked against independent references by test_model.c and the
 * board tests; here the batched path must not change a single output byte).
 *
 * Models: the committed fixtures (csrc/tests/fixtures/model.mqm: FC + LUT + softmax ...; convnet.mqm: the
 * convolutional op set) and boards/common/demo.mqm, plus every packed model named in the environment variable
 * MQ_BATCH_MODELS (space-separated paths; scripts/test-batch.sh packs the bundled example and the MLPerf Tiny
 * AD and KWS models, calibrated and imported, and passes them here). Inputs: pseudo-random codes (every byte
 * value is a valid 8-bit code), 37 samples, run with chunks of 1, 5, 16 and the automatic chunk, so chunk
 * boundaries fall inside the set; outputs are pre-filled with a canary so an unwritten byte fails.
 * Also: NULL arguments, count 0.
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
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

#ifndef MQ_TESTS_DIR
#define MQ_TESTS_DIR "csrc/tests"
#endif

#define SAMPLES 37u

static uint8_t *alloc16(size_t n)
{
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, 16, n > 0u ? n : 16u), 0);
    return (uint8_t *)p;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    long n;
    uint8_t *data;
    if (fp == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    /* 16-byte aligned copy, as the loader recommends */
    data = alloc16((size_t)n);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return data;
}

static uint32_t rng_state = 0x12345678u;
static uint8_t rnd8(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (uint8_t)(rng_state >> 11);
}

/* Batched vs per-sample on one packed model file; returns the number of output bytes compared. */
static size_t check_model(const char *path)
{
    static const size_t chunks[] = {1u, 5u, 16u, 0u};
    size_t size, total = 0u, s, c, j;
    uint8_t *blob = read_file(path, &size);
    mq_model m;
    mq_tensor_info info;
    int32_t ni, no, i;
    size_t in_size[8], out_size[8];
    uint8_t *in[8], *ref[8], *got[8];
    const void *inp[8];
    void *outp[8];
    uint8_t *arena;
    mq_status st = mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m);
    if (st != MQ_OK) {
        fail_msg("%s: load failed: %s", path, mq_status_str(st));
    }
    ni = mq_model_num_inputs(&m);
    no = mq_model_num_outputs(&m);
    assert_true(ni >= 1 && ni <= 8 && no >= 1 && no <= 8);
    for (i = 0; i < ni; i++) {
        assert_int_equal(mq_model_input_info(&m, i, &info), MQ_OK);
        in_size[i] = info.size_bytes;
        in[i] = (uint8_t *)malloc(in_size[i] * SAMPLES);
        assert_non_null(in[i]);
        for (j = 0; j < in_size[i] * SAMPLES; j++) {
            in[i][j] = rnd8();
        }
    }
    for (i = 0; i < no; i++) {
        assert_int_equal(mq_model_output_info(&m, i, &info), MQ_OK);
        out_size[i] = info.size_bytes;
        ref[i] = (uint8_t *)malloc(out_size[i] * SAMPLES);
        got[i] = (uint8_t *)malloc(out_size[i] * SAMPLES);
        assert_non_null(ref[i]);
        assert_non_null(got[i]);
    }
    /* the reference: mq_model_run, one sample at a time, in a fresh arena each time */
    arena = alloc16((size_t)m.arena_size);
    assert_non_null(arena);
    for (s = 0; s < SAMPLES; s++) {
        for (i = 0; i < ni; i++) {
            inp[i] = in[i] + s * in_size[i];
        }
        for (i = 0; i < no; i++) {
            outp[i] = ref[i] + s * out_size[i];
        }
        memset(arena, 0xA5, m.arena_size);
        assert_int_equal(mq_model_run(&m, arena, m.arena_size, inp, outp), MQ_OK);
    }
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        for (i = 0; i < ni; i++) {
            inp[i] = in[i];
        }
        for (i = 0; i < no; i++) {
            memset(got[i], 0x5A ^ (int)c, out_size[i] * SAMPLES);
            outp[i] = got[i];
        }
        st = mq_model_run_batch(&m, SAMPLES, inp, outp, chunks[c]);
        if (st != MQ_OK) {
            fail_msg("%s: mq_model_run_batch (chunk %zu) failed: %s", path, chunks[c], mq_status_str(st));
        }
        for (i = 0; i < no; i++) {
            for (j = 0; j < out_size[i] * SAMPLES; j++) {
                if (got[i][j] != ref[i][j]) {
                    fail_msg("%s: chunk %zu: output %d sample %zu byte %zu: batched %u, per-sample %u", path,
                             chunks[c], i, j / out_size[i], j % out_size[i], got[i][j], ref[i][j]);
                }
            }
            total += out_size[i] * SAMPLES;
        }
    }
    for (i = 0; i < ni; i++) {
        free(in[i]);
    }
    for (i = 0; i < no; i++) {
        free(ref[i]);
        free(got[i]);
    }
    free(arena);
    free(blob);
    printf("  %s: %zu output bytes identical (batched vs mq_model_run per sample, 4 chunk sizes)\n", path, total);
    return total;
}

static void test_fixtures_batched_equals_per_sample(void **state)
{
    (void)state;
    assert_true(check_model(MQ_TESTS_DIR "/fixtures/model.mqm") > 0u);
    assert_true(check_model(MQ_TESTS_DIR "/fixtures/convnet.mqm") > 0u);
    assert_true(check_model(MQ_TESTS_DIR "/../../boards/common/demo.mqm") > 0u);
}

static void test_env_models_batched_equals_per_sample(void **state)
{
    const char *env = getenv("MQ_BATCH_MODELS");
    char buf[4096];
    char *tok;
    size_t n = 0u;
    (void)state;
    if (env == NULL || env[0] == '\0') {
        printf("  MQ_BATCH_MODELS not set: only the committed fixtures (scripts/test-batch.sh sets it)\n");
        return;
    }
    assert_true(strlen(env) < sizeof(buf));
    strcpy(buf, env);
    for (tok = strtok(buf, " "); tok != NULL; tok = strtok(NULL, " ")) {
        assert_true(check_model(tok) > 0u);
        n++;
    }
    assert_true(n > 0u);
}

static void test_batch_arguments(void **state)
{
    size_t size;
    uint8_t *blob = read_file(MQ_TESTS_DIR "/fixtures/model.mqm", &size);
    mq_model m;
    uint8_t in[4096], out0[4096], out1[4096];
    const void *inp[1] = {in};
    void *outp[2] = {out0, out1};
    const void *null_in[1] = {NULL};
    (void)state;
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    assert_int_equal(mq_model_run_batch(NULL, 1, inp, outp, 0), MQ_ERR_NULL);
    assert_int_equal(mq_model_run_batch(&m, 1, NULL, outp, 0), MQ_ERR_NULL);
    assert_int_equal(mq_model_run_batch(&m, 1, inp, NULL, 0), MQ_ERR_NULL);
    assert_int_equal(mq_model_run_batch(&m, 1, null_in, outp, 0), MQ_ERR_NULL);
    memset(out0, 0x77, sizeof(out0));
    assert_int_equal(mq_model_run_batch(&m, 0, inp, outp, 0), MQ_OK);
    assert_int_equal(out0[0], 0x77);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_batched_equals_per_sample),
        cmocka_unit_test(test_env_models_batched_equals_per_sample),
        cmocka_unit_test(test_batch_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
