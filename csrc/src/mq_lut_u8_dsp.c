/*
 * MicroQuant: 256-entry byte table lookup, word-wide variant for Armv7E-M / Armv8-M Main with the
 * DSP extension (Cortex-M4, M7, M33).
 * out[i] = table[in[i]] for i < n; in place allowed (each group of 16 codes is loaded into
 * registers before any of its results is stored). Per 4 codes: one word load, 4 byte extracts
 * (UXTB with rotation / LSR), 4 table loads, 3 ORRs and one word store; unrolled 4 words per
 * iteration. Word loads/stores may be unaligned (LDR/STR allow it on these cores). The tail
 * (n % 16) is done per word, then per byte: nothing past n is read or written.
 * Bit-identical to mq_lut_u8_c by construction (same table entries).
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_DSP)

#include <string.h>

static inline uint32_t mq_lutdsp_load(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void mq_lutdsp_store(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* Table lookup of the 4 codes packed in w. */
static inline uint32_t mq_lutdsp_word(const uint8_t *t, uint32_t w)
{
    return (uint32_t)t[w & 0xFFu] | ((uint32_t)t[(w >> 8) & 0xFFu] << 8) |
           ((uint32_t)t[(w >> 16) & 0xFFu] << 16) | ((uint32_t)t[w >> 24] << 24);
}

void mq_lut_u8_dsp(const uint8_t *table, const uint8_t *in, uint8_t *out, size_t n)
{
    while (n >= 16u) {
        const uint32_t w0 = mq_lutdsp_load(in);
        const uint32_t w1 = mq_lutdsp_load(in + 4);
        const uint32_t w2 = mq_lutdsp_load(in + 8);
        const uint32_t w3 = mq_lutdsp_load(in + 12);
        mq_lutdsp_store(out, mq_lutdsp_word(table, w0));
        mq_lutdsp_store(out + 4, mq_lutdsp_word(table, w1));
        mq_lutdsp_store(out + 8, mq_lutdsp_word(table, w2));
        mq_lutdsp_store(out + 12, mq_lutdsp_word(table, w3));
        in += 16;
        out += 16;
        n -= 16u;
    }
    while (n >= 4u) {
        mq_lutdsp_store(out, mq_lutdsp_word(table, mq_lutdsp_load(in)));
        in += 4;
        out += 4;
        n -= 4u;
    }
    while (n > 0u) {
        *out++ = table[*in++];
        n--;
    }
}

#endif /* __ARM_FEATURE_DSP */
