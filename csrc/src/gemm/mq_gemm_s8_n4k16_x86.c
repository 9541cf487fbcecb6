/*
 * MicroQuant: run-time dispatch of the x86-64 host GEMM microkernel (the simulator's fast path).
 *
 * On its first call mq_gemm_s8_n4k16_x86 asks the CPU (__builtin_cpu_supports, which also checks that
 * the OS saves the AVX / AVX-512 register state) for the best variant -- avx512vnni, else avx2, else
 * the x86-64 baseline sse2 -- and caches the choice in a function pointer (a relaxed atomic: concurrent
 * first calls all store the same value). The environment variable MQ_HOST_GEMM = c | sse2 | avx2 |
 * avx512vnni overrides the choice (for benchmarks) when the CPU supports it. All variants give
 * bit-identical results, so the choice never changes an output byte.
 */
#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <stdlib.h>
#include <string.h>

typedef void (*mq_gemm_fn)(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                           uint8_t *out, int32_t out_stride);

static mq_gemm_fn mq_x86_gemm;          /* NULL until the first call */
static const char *mq_x86_gemm_name = "";

int mq_gemm_s8_n4k16_x86_supported(const char *name)
{
    __builtin_cpu_init();
    if (strcmp(name, "c") == 0 || strcmp(name, "sse2") == 0) {
        return 1;
    }
    if (strcmp(name, "avx2") == 0) {
        return __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    if (strcmp(name, "avx512vnni") == 0) {
        return (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vnni")) ? 1 : 0;
    }
    return 0;
}

static mq_gemm_fn mq_x86_by_name(const char *name)
{
    if (strcmp(name, "avx512vnni") == 0) {
        return mq_gemm_s8_n4k16_avx512vnni;
    }
    if (strcmp(name, "avx2") == 0) {
        return mq_gemm_s8_n4k16_avx2;
    }
    if (strcmp(name, "sse2") == 0) {
        return mq_gemm_s8_n4k16_sse2;
    }
    return mq_gemm_s8_n4k16_c;
}

static mq_gemm_fn mq_x86_select(void)
{
    static const char *const order[] = {"avx512vnni", "avx2", "sse2"};
    const char *forced = getenv("MQ_HOST_GEMM");
    const char *pick = "sse2";
    size_t i;
    mq_gemm_fn f;
    if (forced != NULL && (strcmp(forced, "c") == 0 || strcmp(forced, "sse2") == 0 || strcmp(forced, "avx2") == 0 ||
                           strcmp(forced, "avx512vnni") == 0) && mq_gemm_s8_n4k16_x86_supported(forced)) {
        pick = strcmp(forced, "c") == 0 ? "c" : forced;
    } else {
        for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
            if (mq_gemm_s8_n4k16_x86_supported(order[i])) {
                pick = order[i];
                break;
            }
        }
    }
    /* the name literals are static; store the name before publishing the pointer */
    __atomic_store_n(&mq_x86_gemm_name, pick, __ATOMIC_RELAXED);
    f = mq_x86_by_name(pick);
    __atomic_store_n(&mq_x86_gemm, f, __ATOMIC_RELEASE);
    return f;
}

const char *mq_gemm_s8_n4k16_x86_name(void)
{
    if (__atomic_load_n(&mq_x86_gemm, __ATOMIC_ACQUIRE) == NULL) {
        (void)mq_x86_select();
    }
    return __atomic_load_n(&mq_x86_gemm_name, __ATOMIC_RELAXED);
}

void mq_gemm_s8_n4k16_x86(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                          uint8_t *out, int32_t out_stride)
{
    mq_gemm_fn f = __atomic_load_n(&mq_x86_gemm, __ATOMIC_ACQUIRE);
    if (f == NULL) {
        f = mq_x86_select();
    }
    f(p, m, x, x_stride, out, out_stride);
}

#endif /* MQ_X86_HOST_KERNELS */
