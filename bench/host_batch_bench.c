/*
 * Kernel-only host throughput (scripts/bench-host-batch.py): codes in, codes out, one thread.
 *
 *   host_batch_bench MODEL.mqm SAMPLES ROUNDS [CHUNK]
 *
 * Pseudo-random input codes for SAMPLES samples; times (process CPU time: the benchmark machine is shared) mq_model_run called once per sample (the firmware's
 * call) and mq_model_run_batch over the whole set (the simulator's default), best of ROUNDS each, and checks
 * that both give the same bytes. Prints samples/s and MAC/s (MACs per sample from the model's FC / conv ops are
 * not decoded here: the script multiplies).
 */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "microquant/mq_host.h"
#include "microquant/mq_model.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *alloc16(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n > 0u ? n : 64u) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    FILE *fp;
    long len;
    uint8_t *blob, *arena;
    mq_model m;
    mq_tensor_info info;
    size_t n, s, j, in_size[8], out_size[8], chunk = 0;
    int rounds, r, i, ni, no;
    uint8_t *in[8], *o1[8], *o2[8];
    const void *ip[8];
    void *op[8];
    double best1 = 1e30, best2 = 1e30, best3 = 1e30;
    float *fin[8], *fout[8];
    float in_scale[8], out_scale[8];
    int32_t in_zp[8], out_zp[8];
    mq_dtype in_dt[8], out_dt[8];
    uint8_t *qin[8];
    uint32_t x = 0x9E3779B9u;
    mq_status st;

    if (argc < 4) {
        fprintf(stderr, "usage: host_batch_bench MODEL.mqm SAMPLES ROUNDS [CHUNK]\n");
        return 2;
    }
    n = (size_t)strtoul(argv[2], NULL, 10);
    rounds = atoi(argv[3]);
    if (argc > 4) {
        chunk = (size_t)strtoul(argv[4], NULL, 10);
    }
    fp = fopen(argv[1], "rb");
    if (fp == NULL || n == 0u || rounds < 1) {
        fprintf(stderr, "cannot open %s (or bad SAMPLES/ROUNDS)\n", argv[1]);
        return 1;
    }
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    blob = (uint8_t *)alloc16((size_t)len);
    if (fread(blob, 1, (size_t)len, fp) != (size_t)len) {
        return 1;
    }
    fclose(fp);
    st = mq_model_load(blob, (size_t)len, MQ_LOAD_CHECK_CRC, &m);
    if (st != MQ_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], mq_status_str(st));
        return 1;
    }
    ni = mq_model_num_inputs(&m);
    no = mq_model_num_outputs(&m);
    if (ni > 8 || no > 8) {
        return 1;
    }
    for (i = 0; i < ni; i++) {
        mq_model_input_info(&m, i, &info);
        in_size[i] = info.size_bytes;
        memcpy(&in_scale[i], &info.scale_bits, 4);
        in_zp[i] = info.zero_point;
        in_dt[i] = info.dtype;
        in[i] = (uint8_t *)alloc16(in_size[i] * n);
        for (j = 0; j < in_size[i] * n; j++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            in[i][j] = (uint8_t)(x >> 7);
        }
    }
    for (i = 0; i < no; i++) {
        mq_model_output_info(&m, i, &info);
        out_size[i] = info.size_bytes;
        memcpy(&out_scale[i], &info.scale_bits, 4);
        out_zp[i] = info.zero_point;
        out_dt[i] = info.dtype;
        fout[i] = (float *)alloc16(out_size[i] * n * sizeof(float));
        o1[i] = (uint8_t *)alloc16(out_size[i] * n);
        o2[i] = (uint8_t *)alloc16(out_size[i] * n);
    }
    arena = (uint8_t *)alloc16(m.arena_size);
    /* float inputs: the random codes dequantized (what the simulator gets from a float .npy) */
    for (i = 0; i < ni; i++) {
        fin[i] = (float *)alloc16(in_size[i] * n * sizeof(float));
        qin[i] = (uint8_t *)alloc16(in_size[i] * n);
        if (mq_dequantize_f32(in[i], in_size[i] * n, in_scale[i], in_zp[i], in_dt[i], fin[i]) != MQ_OK) {
            return 1;
        }
    }
    for (r = 0; r < rounds; r++) {
        double t0 = now(), t1;
        for (s = 0; s < n; s++) {
            for (i = 0; i < ni; i++) {
                ip[i] = in[i] + s * in_size[i];
            }
            for (i = 0; i < no; i++) {
                op[i] = o1[i] + s * out_size[i];
            }
            if (mq_model_run(&m, arena, m.arena_size, ip, op) != MQ_OK) {
                return 1;
            }
        }
        t1 = now();
        best1 = t1 - t0 < best1 ? t1 - t0 : best1;
        for (i = 0; i < ni; i++) {
            ip[i] = in[i];
        }
        for (i = 0; i < no; i++) {
            op[i] = o2[i];
        }
        t0 = now();
        st = mq_model_run_batch(&m, n, ip, op, chunk);
        t1 = now();
        if (st != MQ_OK) {
            fprintf(stderr, "mq_model_run_batch: %s\n", mq_status_str(st));
            return 1;
        }
        best2 = t1 - t0 < best2 ? t1 - t0 : best2;
        /* float in, float out: mq_quantize_f32 + mq_model_run_batch + mq_dequantize_f32 (Simulator.run(floats:) and
         * SimulationResult.floats without the Swift arrays and the .npy files) */
        t0 = now();
        for (i = 0; i < ni; i++) {
            if (mq_quantize_f32(fin[i], in_size[i] * n, in_scale[i], in_zp[i], in_dt[i], qin[i]) != MQ_OK) {
                return 1;
            }
            ip[i] = qin[i];
        }
        if (mq_model_run_batch(&m, n, ip, op, chunk) != MQ_OK) {
            return 1;
        }
        for (i = 0; i < no; i++) {
            if (mq_dequantize_f32(o2[i], out_size[i] * n, out_scale[i], out_zp[i], out_dt[i], fout[i]) != MQ_OK) {
                return 1;
            }
        }
        t1 = now();
        best3 = t1 - t0 < best3 ? t1 - t0 : best3;
    }
    for (i = 0; i < no; i++) {
        if (memcmp(o1[i], o2[i], out_size[i] * n) != 0) {
            fprintf(stderr, "MISMATCH: batched vs per-sample output %d\n", i);
            return 1;
        }
    }
    printf("host_batch_bench %s: %zu samples, best of %d: per-sample mq_model_run %.0f samples/s, "
           "mq_model_run_batch %.0f samples/s (chunk %zu), outputs identical; float in/out (quantize + batch + "
           "dequantize) %.0f samples/s\n",
           argv[1], n, rounds, (double)n / best1, (double)n / best2, chunk, (double)n / best3);
    return 0;
}
