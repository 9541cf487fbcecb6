/* mq_lut_u8_c: portable 256-entry byte table lookup, out[i] = table[in[i]]; in place allowed. */
#include "mq_microkernels.h"

void mq_lut_u8_c(const uint8_t *table, const uint8_t *in, uint8_t *out, size_t n)
{
    size_t i = 0;
    /* Each element is read before it is written, so in == out is safe. */
    for (; i + 4 <= n; i += 4) {
        const uint8_t a = in[i];
        const uint8_t b = in[i + 1];
        const uint8_t c = in[i + 2];
        const uint8_t d = in[i + 3];
        out[i] = table[a];
        out[i + 1] = table[b];
        out[i + 2] = table[c];
        out[i + 3] = table[d];
    }
    for (; i < n; ++i) {
        out[i] = table[in[i]];
    }
}
