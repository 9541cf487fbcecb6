/*
 * MicroQuant bench/: minimal bare-metal startup for the QEMU Cortex-M machines used by the device
 * benchmark and the fast-path kernel test (mps2-an385 M3, mps2-an386 M4, mps2-an500 M7, mps3-an547 M55).
 * Vector table, Reset_Handler (FPU/MVE access enable, .data copy, .bss zero, semihosting init,
 * exit(main())), and a fault handler that reports and exits with status 99.
 * I/O and exit go through Arm semihosting (newlib librdimon: link with --specs=rdimon.specs -nostartfiles).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern uint32_t __StackTop;
extern uint32_t __data_load__, __data_start__, __data_end__;
extern uint32_t __bss_start__, __bss_end__;

extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

/* -nostartfiles drops crti/crtn: newlib's __libc_init_array still calls these. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

void Reset_Handler(void);
void mq_bench_fault(void);

typedef void (*mq_vector)(void);

__attribute__((section(".vectors"), used)) const mq_vector mq_vector_table[16 + 16] = {
    (mq_vector)(uintptr_t)&__StackTop, Reset_Handler,
    mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault,
    0, 0, 0, mq_bench_fault, mq_bench_fault, 0, mq_bench_fault, mq_bench_fault,
    mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault,
    mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault,
    mq_bench_fault, mq_bench_fault, mq_bench_fault, mq_bench_fault,
};

#define MQ_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define MQ_SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define MQ_SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define MQ_SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)

__attribute__((noreturn, used)) void Reset_Handler(void)
{
    uint32_t *src;
    uint32_t *dst;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    MQ_SCB_CPACR |= (0xFu << 20); /* CP10/CP11 full access: FPU and, on Armv8.1-M, MVE */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    MQ_SCB_VTOR = (uint32_t)(uintptr_t)mq_vector_table;
    src = &__data_load__;
    dst = &__data_start__;
    if (src != dst) {
        while (dst < &__data_end__) {
            *dst++ = *src++;
        }
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

__attribute__((noreturn, used)) void mq_bench_fault(void)
{
    printf("\n*** FAULT CFSR=%08lx HFSR=%08lx\n", (unsigned long)MQ_SCB_CFSR, (unsigned long)MQ_SCB_HFSR);
    exit(99);
}
