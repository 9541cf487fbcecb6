/*
 * MicroQuant: 256-entry byte table lookup, word-wide variant for Armv7E-M / Armv8-M Main with the
 * DSP extension (Cortex-M4, M7, M33).
 * out[i] = table[in[i]] for i < n; in place allowed. Per 4 codes: one word load, 4 byte extracts
 * (UXTB / UBFX / LSR), 4 table loads, 3 ORRs and one word store; 8 words per iteration, input
 * words loaded with LDM/LDRD once the input pointer is word aligned (a byte-wise head gets it
 * there); output stores may be unaligned (STR allows it on these cores). The tail (n % 32) is
 * done per word, then per byte: nothing past n is read or written. In place: each group of 32
 * codes is loaded into registers before any of its results is stored.
 * Built with -Os (__OPTIMIZE_SIZE__) only the per-word loop and the byte tail are compiled (no aligned
 * head, no 32-code blocks): a fraction of the code, still one word load and store per 4 codes.
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
#if !defined(__OPTIMIZE_SIZE__) /* -Os: only the per-word loop and the byte tail below */
    /* head: byte by byte until the input is word aligned, so the main loop can use LDM/LDRD */
    while (n > 0u && ((uintptr_t)in & 3u) != 0u) {
        *out++ = table[*in++];
        n--;
    }
    while (n >= 32u) {
        /* memcpy (no type punning) from a pointer known to be word aligned: LDM / LDRD */
        const uint8_t *ia = (const uint8_t *)__builtin_assume_aligned(in, 4);
        uint32_t wv[8];
        uint32_t w0, w1, w2, w3, w4, w5, w6, w7;
        memcpy(wv, ia, sizeof(wv));
        w0 = wv[0];
        w1 = wv[1];
        w2 = wv[2];
        w3 = wv[3];
        w4 = wv[4];
        w5 = wv[5];
        w6 = wv[6];
        w7 = wv[7];
        mq_lutdsp_store(out, mq_lutdsp_word(table, w0));
        mq_lutdsp_store(out + 4, mq_lutdsp_word(table, w1));
        mq_lutdsp_store(out + 8, mq_lutdsp_word(table, w2));
        mq_lutdsp_store(out + 12, mq_lutdsp_word(table, w3));
        mq_lutdsp_store(out + 16, mq_lutdsp_word(table, w4));
        mq_lutdsp_store(out + 20, mq_lutdsp_word(table, w5));
        mq_lutdsp_store(out + 24, mq_lutdsp_word(table, w6));
        mq_lutdsp_store(out + 28, mq_lutdsp_word(table, w7));
        in += 32;
        out += 32;
        n -= 32u;
    }
#endif
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
