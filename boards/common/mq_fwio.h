/*
 * MicroQuant firmware: buffered text output over semihosting (line protocol in docs/BOARDS.md).
 * Text is collected in a 256-byte buffer and written with one semihosting call when it is full,
 * at mq_fw_flush(), or at a newline, so that QEMU's per-call overhead stays small.
 */
#ifndef MQ_FWIO_H
#define MQ_FWIO_H

#include <stddef.h>
#include <stdint.h>

/* Append a NUL-terminated string. */
void mq_fw_puts(const char *s);
/* Append an unsigned decimal number. */
void mq_fw_put_u32(uint32_t v);
/* Append exactly 8 lowercase hex digits. */
void mq_fw_put_hex32(uint32_t v);
/* Append n bytes as 2n lowercase hex digits (no separators). */
void mq_fw_put_hex_bytes(const uint8_t *bytes, size_t n);
/* Write out whatever is buffered. */
void mq_fw_flush(void);

#endif /* MQ_FWIO_H */
