/* MicroQuant firmware: board-independent startup (see mq_startup.h). */
#include "mq_startup.h"

#include "mq_fwio.h"
#include "mq_semihost.h"

extern uint32_t __mq_data_load[];
extern uint32_t __mq_data_start[];
extern uint32_t __mq_data_end[];
extern uint32_t __mq_bss_start[];
extern uint32_t __mq_bss_end[];

extern int main(void);

#define MQ_STACK_PAINT 0xC0FFEE5Au

static uint32_t *mq_current_sp(void)
{
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

void mq_startup_run(void)
{
    uint32_t *src = __mq_data_load;
    uint32_t *dst = __mq_data_start;
    uint32_t *paint_end;
    if (src != dst) {
        while (dst < __mq_data_end) {
            *dst++ = *src++;
        }
    }
    for (dst = __mq_bss_start; dst < __mq_bss_end; ++dst) {
        *dst = 0u;
    }
    /* Paint the stack below the current frame (leave 64 bytes of margin). */
    paint_end = mq_current_sp() - 16;
    for (dst = __mq_stack_limit; dst < paint_end; ++dst) {
        *dst = MQ_STACK_PAINT;
    }
    mq_semihost_exit((int32_t)main());
}

uint32_t mq_stack_used(void)
{
    const uint32_t *p = __mq_stack_limit;
    while (p < __mq_stack_top && *p == MQ_STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)__mq_stack_top - (uintptr_t)p);
}

void mq_default_handler(void)
{
    mq_fw_puts("MQ-FAULT icsr=");
    mq_fw_put_hex32(MQ_SCB_ICSR);
#if !defined(__ARM_ARCH_6M__)
    mq_fw_puts(" cfsr=");
    mq_fw_put_hex32(MQ_SCB_CFSR);
    mq_fw_puts(" hfsr=");
    mq_fw_put_hex32(MQ_SCB_HFSR);
#endif
    mq_fw_puts("\n");
    mq_fw_flush();
    mq_semihost_exit(99);
}
