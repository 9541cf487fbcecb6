/* mps2-an500: vector table and Reset_Handler (cortex-m7). */
#include <stdint.h>

#include "mq_startup.h"

#define MQ_NUM_IRQS 32

void Reset_Handler(void) __attribute__((noreturn));

__attribute__((section(".vectors"), used))
const MQ_VECTOR_TABLE(MQ_NUM_IRQS) mq_vector_table = {
    __mq_stack_top,
    MQ_SYSTEM_VECTORS(Reset_Handler),
    { MQ_IRQ_X32 },
};

void Reset_Handler(void)
{
    /* CP10/CP11 full access: enable the FPU (the firmware itself does not use it). */
    mq_enable_fpu_mve();
    MQ_SCB_VTOR = (uint32_t)(uintptr_t)&mq_vector_table;
    mq_startup_run();
}
