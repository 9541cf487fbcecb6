/*
 * MicroQuant bench/: host throughput of the runtime the simulator runs (scripts/bench-host.sh).
 *
 *   host_bench MODEL.mqm TEST.npy [ROUNDS]
 *
 * Loads the packed model with mq_model_load (CRC checked once), reads the float32 test set
 * (.npy, first axis = samples), then, ROUNDS times over the whole set, per sample: quantize the
 * float input with the model's input qparams (mq_quantize_f32), mq_model_run, dequantize every
 * output (mq_dequantize_f32) -- exactly what the Swift Simulator does per sample, without the
 * Swift array plumbing. One thread. Prints samples/s (best round) and a checksum of the output
 * codes. Single-input models only.
 */
#define _POSIX_C_SOURCE 200112L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "microquant/mq_host.h"
#include "microquant/mq_model.h"

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    long n;
    void *buf;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 16u);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* Minimal .npy (v1-v3) reader: little-endian float32, C order. Returns the data, *count samples,
 * *per_sample floats per sample. */
static const float *npy_f32(const uint8_t *b, size_t size, size_t *count, size_t *per_sample)
{
    size_t hlen, off, total = 1;
    const char *h;
    const char *p;
    size_t dims[8];
    int nd = 0;
    if (size < 12 || memcmp(b, "\x93NUMPY", 6) != 0) {
        return NULL;
    }
    if (b[6] == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        off = 10;
    } else {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        off = 12;
    }
    if (off + hlen > size) {
        return NULL;
    }
    h = (const char *)b + off;
    if (strstr(h, "'<f4'") == NULL || strstr(h, "'fortran_order': False") == NULL) {
        fprintf(stderr, "host_bench: test set must be little-endian float32 in C order\n");
        return NULL;
    }
    p = strstr(h, "'shape': (");
    if (p == NULL) {
        return NULL;
    }
    p += 10;
    while (*p != ')' && nd < 8) {
        char *end;
        const unsigned long v = strtoul(p, &end, 10);
        if (end == p) {
            break;
        }
        dims[nd++] = (size_t)v;
        p = end;
        while (*p == ',' || *p == ' ') {
            p++;
        }
    }
    if (nd < 1) {
        return NULL;
    }
    for (int i = 1; i < nd; i++) {
        total *= dims[i];
    }
    if (off + hlen + dims[0] * total * 4u > size) {
        return NULL;
    }
    *count = dims[0];
    *per_sample = total;
    return (const float *)(const void *)(b + off + hlen);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

int main(int argc, char **argv)
{
    size_t model_size = 0, npy_size = 0, count = 0, per_sample = 0;
    void *blob;
    uint8_t *npy;
    const float *data;
    mq_model model;
    mq_tensor_info in_info, out_info[8];
    int32_t n_out, o;
    uint8_t *arena, *in_codes, *out_codes[8];
    float *out_f[8];
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    double best = 1e30;
    uint32_t checksum = 0;
    mq_status st;

    if (argc < 3) {
        fprintf(stderr, "usage: host_bench MODEL.mqm TEST.npy [ROUNDS]\n");
        return 2;
    }
    blob = read_file(argv[1], &model_size);
    npy = (uint8_t *)read_file(argv[2], &npy_size);
    if (blob == NULL || npy == NULL) {
        fprintf(stderr, "host_bench: cannot read %s\n", blob == NULL ? argv[1] : argv[2]);
        return 2;
    }
    st = mq_model_load(blob, model_size, MQ_LOAD_CHECK_CRC, &model);
    if (st != MQ_OK) {
        fprintf(stderr, "host_bench: %s: %s\n", argv[1], mq_status_str(st));
        return 1;
    }
    data = npy_f32(npy, npy_size, &count, &per_sample);
    if (data == NULL || mq_model_num_inputs(&model) != 1) {
        fprintf(stderr, "host_bench: need a float32 .npy and a single-input model\n");
        return 2;
    }
    mq_model_input_info(&model, 0, &in_info);
    if (in_info.size_bytes != per_sample) {
        fprintf(stderr, "host_bench: sample has %zu values, model input %u\n", per_sample, in_info.size_bytes);
        return 2;
    }
    n_out = mq_model_num_outputs(&model);
    if (n_out > 8) {
        return 2;
    }
    {
        void *a = NULL;
        if (posix_memalign(&a, 16, (size_t)model.arena_size + 16u) != 0) {
            return 2;
        }
        arena = (uint8_t *)a;
    }
    in_codes = (uint8_t *)malloc(in_info.size_bytes);
    for (o = 0; o < n_out; o++) {
        mq_model_output_info(&model, o, &out_info[o]);
        out_codes[o] = (uint8_t *)malloc(out_info[o].size_bytes);
        out_f[o] = (float *)malloc(out_info[o].size_bytes * sizeof(float));
    }
    for (int r = 0; r < rounds; r++) {
        const double t0 = now_s();
        double dt;
        for (size_t s = 0; s < count; s++) {
            const void *ins[1] = {in_codes};
            st = mq_quantize_f32(data + s * per_sample, per_sample, f32_from_bits(in_info.scale_bits),
                                 in_info.zero_point, in_info.dtype, in_codes);
            st = (mq_status)(st | mq_model_run(&model, arena, model.arena_size, ins, (void *const *)out_codes));
            for (o = 0; o < n_out; o++) {
                st = (mq_status)(st | mq_dequantize_f32(out_codes[o], out_info[o].size_bytes,
                                                       f32_from_bits(out_info[o].scale_bits),
                                                       out_info[o].zero_point, out_info[o].dtype, out_f[o]));
            }
            if (st != MQ_OK) {
                fprintf(stderr, "host_bench: sample %zu: %s\n", s, mq_status_str(st));
                return 1;
            }
            if (r == 0) {
                for (o = 0; o < n_out; o++) {
                    for (uint32_t i = 0; i < out_info[o].size_bytes; i++) {
                        checksum = checksum * 31u + out_codes[o][i];
                    }
                }
            }
        }
        dt = now_s() - t0;
        if (dt < best) {
            best = dt;
        }
    }
    printf("host_bench %s: %zu samples, best of %d rounds %.6f s, %.0f samples/s, checksum %08x\n", argv[1], count,
           rounds, best, (double)count / best, (unsigned)checksum);
    return 0;
}
