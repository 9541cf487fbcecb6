/* rpi-pico: vector table and Reset_Handler (cortex-m0plus). */
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
    MQ_SCB_VTOR = (uint32_t)(uintptr_t)&mq_vector_table; /* RP2040 implements VTOR on M0+ */
    mq_startup_run();
}
