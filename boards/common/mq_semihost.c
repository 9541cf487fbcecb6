/* MicroQuant firmware: Arm semihosting calls (see mq_semihost.h). */
#include "mq_semihost.h"

#define MQ_SYS_WRITE0 0x04
#define MQ_SYS_EXIT_EXTENDED 0x20
#define MQ_ADP_STOPPED_APPLICATION_EXIT 0x20026

static int32_t mq_semihost_call(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void mq_semihost_puts(const char *s)
{
    (void)mq_semihost_call(MQ_SYS_WRITE0, s);
}

void mq_semihost_exit(int32_t code)
{
    const uint32_t block[2] = { (uint32_t)MQ_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code };
    (void)mq_semihost_call(MQ_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}
