/*
 * MicroQuant firmware: Arm semihosting (the debugger / QEMU console), no newlib needed.
 *
 * Semihosting requests are a `bkpt 0xAB` with the operation number in r0 and a pointer to the
 * argument block in r1 (Arm "Semihosting for AArch32 and AArch64", version 2). Under QEMU they need
 * `-semihosting-config enable=on,target=native`; on a real board they need a debugger with
 * semihosting enabled (OpenOCD: `arm semihosting enable`), otherwise the bkpt faults.
 */
#ifndef MQ_SEMIHOST_H
#define MQ_SEMIHOST_H

#include <stdint.h>

/* Write a NUL-terminated string to the semihosting console (SYS_WRITE0). */
void mq_semihost_puts(const char *s);

/* Terminate the program with an exit code (SYS_EXIT_EXTENDED, reason ADP_Stopped_ApplicationExit):
 * QEMU exits with this code. Never returns (spins if the host ignores the request). */
void mq_semihost_exit(int32_t code) __attribute__((noreturn));

#endif /* MQ_SEMIHOST_H */
