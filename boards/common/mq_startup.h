/*
 * MicroQuant firmware: the board-independent half of the startup code.
 *
 * Each board's startup.c defines the vector table (its own IRQ count) and Reset_Handler, which does
 * the core-specific set-up (FPU / MVE enable through CPACR) and then calls mq_startup_run().
 * Linker symbols come from common/mq_sections.ld.
 */
#ifndef MQ_STARTUP_H
#define MQ_STARTUP_H

#include <stdint.h>

/* Linker-script symbols (common/mq_sections.ld). */
extern uint32_t __mq_stack_top[];
extern uint32_t __mq_stack_limit[];

/* Copy .data from its load address in flash, zero .bss, paint the unused stack with a pattern
 * (for mq_stack_used), call main() and exit through semihosting with main's return value. */
void mq_startup_run(void) __attribute__((noreturn));

/* Handler for every exception and IRQ the firmware does not expect: prints "MQ-FAULT" with the
 * active exception number (and the fault status registers on ARMv7-M/v8-M), then exits with 99. */
void mq_default_handler(void) __attribute__((noreturn));

/* Bytes of stack used so far: distance from the stack top to the lowest word whose paint changed. */
uint32_t mq_stack_used(void);

/* SysTick as a free-running 64-bit tick counter on the core clock (common/mq_timer.c): reload
 * 0xFFFFFF, one interrupt per wrap. Under `qemu-system-arm -icount shift=0` one instruction takes
 * 1 ns of virtual time, so ticks x 1e9 / clock_hz = executed instructions (+-1 tick). */
void mq_timer_start(void);
uint64_t mq_timer_ticks(void);
void mq_systick_handler(void);

/* System Control Block registers used by the startup files. */
#define MQ_SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define MQ_SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define MQ_SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define MQ_SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define MQ_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Full access to coprocessors CP10 and CP11: the FPU, and on ARMv8.1-M also MVE (Helium). */
static inline void mq_enable_fpu_mve(void)
{
    MQ_SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

typedef void (*mq_vector)(void);

/* A vector table: initial stack pointer, then the 15 system exception handlers (reset first),
 * then the board's external interrupt handlers. Every board places one in section ".vectors". */
#define MQ_VECTOR_TABLE(num_irqs) \
    struct { \
        uint32_t *initial_sp; \
        mq_vector system[15]; \
        mq_vector irq[num_irqs]; \
    }

/* The 15 system exception entries (Reset, NMI, HardFault, MemManage, BusFault, UsageFault,
 * SecureFault, 3 reserved, SVCall, DebugMonitor, reserved, PendSV, SysTick -> mq_systick_handler). */
#define MQ_SYSTEM_VECTORS(reset) \
    { (reset), mq_default_handler, mq_default_handler, mq_default_handler, mq_default_handler, \
      mq_default_handler, mq_default_handler, 0, 0, 0, mq_default_handler, mq_default_handler, 0, \
      mq_default_handler, mq_systick_handler }

/* n copies of the default handler, for the IRQ part of a vector table (interrupts are never
 * enabled by the firmware; a stray one reports MQ-FAULT). */
#define MQ_IRQ_X8 mq_default_handler, mq_default_handler, mq_default_handler, mq_default_handler, \
                  mq_default_handler, mq_default_handler, mq_default_handler, mq_default_handler
#define MQ_IRQ_X32 MQ_IRQ_X8, MQ_IRQ_X8, MQ_IRQ_X8, MQ_IRQ_X8

#endif /* MQ_STARTUP_H */
