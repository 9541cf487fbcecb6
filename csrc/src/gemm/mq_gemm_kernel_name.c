/* mq_gemm_kernel_name: which GEMM microkernel this build runs (compile-time dispatch; x86-64 hosts: run time). */
#include "microquant/mq_kernels.h"

#include "mq_microkernels.h"

const char *mq_gemm_kernel_name(void)
{
#if defined(MQ_FORCE_PORTABLE)
    return "c";
#elif defined(__ARM_FEATURE_MVE)
    return "mve";
#elif defined(__ARM_FEATURE_DSP)
    return "dsp";
#elif defined(__ARM_ARCH_7M__)
    return "v7m";
#elif defined(MQ_X86_HOST_KERNELS)
    return mq_gemm_s8_n4k16_x86_name();
#elif defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64))
    return "sse2";
#else
    return "c";
#endif
}
