/* MicroQuant firmware: SysTick tick counter (see mq_startup.h). */
#include "mq_startup.h"

#define MQ_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define MQ_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define MQ_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define MQ_SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t mq_timer_wraps;

void mq_systick_handler(void)
{
    mq_timer_wraps = mq_timer_wraps + 1u;
}

void mq_timer_start(void)
{
    MQ_SYST_CSR = 0u;
    MQ_SYST_RVR = MQ_SYST_RELOAD;
    MQ_SYST_CVR = 0u;
    mq_timer_wraps = 0u;
    MQ_SYST_CSR = 7u; /* ENABLE | TICKINT | CLKSOURCE = core clock */
}

uint64_t mq_timer_ticks(void)
{
    uint32_t w1, w2, v, pending;
    do {
        w1 = mq_timer_wraps;
        v = MQ_SYST_CVR & MQ_SYST_RELOAD;
        pending = MQ_SCB_ICSR & (1u << 26); /* PENDSTSET: a wrap not yet counted by the handler */
        w2 = mq_timer_wraps;
    } while (w1 != w2);
    /* The counter counts down; a value read just after a reload (high) with the wrap still pending
     * belongs to the next period. */
    if (pending != 0u && v > MQ_SYST_RELOAD / 2u) {
        w1 += 1u;
    }
    return ((uint64_t)w1 << 24) + (uint64_t)(MQ_SYST_RELOAD - v);
}
