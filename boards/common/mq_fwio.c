/* MicroQuant firmware: buffered semihosting text output (see mq_fwio.h). */
#include "mq_fwio.h"

#include "mq_semihost.h"

#define MQ_FW_BUF 256

static char mq_fw_buf[MQ_FW_BUF + 1];
static size_t mq_fw_len;

void mq_fw_flush(void)
{
    if (mq_fw_len > 0u) {
        mq_fw_buf[mq_fw_len] = '\0';
        mq_semihost_puts(mq_fw_buf);
        mq_fw_len = 0u;
    }
}

static void mq_fw_putc(char c)
{
    mq_fw_buf[mq_fw_len++] = c;
    if (mq_fw_len == MQ_FW_BUF || c == '\n') {
        mq_fw_flush();
    }
}

void mq_fw_puts(const char *s)
{
    while (*s != '\0') {
        mq_fw_putc(*s++);
    }
}

void mq_fw_put_u32(uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        mq_fw_putc(digits[--n]);
    }
}

static const char mq_hex_digits[] = "0123456789abcdef";

void mq_fw_put_hex32(uint32_t v)
{
    int shift;
    for (shift = 28; shift >= 0; shift -= 4) {
        mq_fw_putc(mq_hex_digits[(v >> (uint32_t)shift) & 0xFu]);
    }
}

void mq_fw_put_hex_bytes(const uint8_t *bytes, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        mq_fw_putc(mq_hex_digits[bytes[i] >> 4]);
        mq_fw_putc(mq_hex_digits[bytes[i] & 0xFu]);
    }
}
