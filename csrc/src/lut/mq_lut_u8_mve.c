/*
 * MicroQuant: 256-entry byte table lookup, Armv8.1-M MVE / Helium (Cortex-M55).
 * out[i] = table[in[i]] for i < n; in place allowed (each 16-byte block is read before it is
 * written). 16 values per step: VLDRB.U8 of the codes, VLDRB.U8 gather with those codes as byte
 * offsets into the table, VSTRB.8. The last partial block is predicated with VCTP8: no byte past
 * n is read or written. Bit-identical to mq_lut_u8_c by construction (same table entries).
 */
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

void mq_lut_u8_mve(const uint8_t *table, const uint8_t *in, uint8_t *out, size_t n)
{
    while (n >= 16u) {
        const uint8x16_t idx = vldrbq_u8(in);
        vstrbq_u8(out, vldrbq_gather_offset_u8(table, idx));
        in += 16;
        out += 16;
        n -= 16u;
    }
    if (n > 0u) {
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        const uint8x16_t idx = vldrbq_z_u8(in, pr);
        vstrbq_p_u8(out, vldrbq_gather_offset_z_u8(table, idx, pr), pr);
    }
}

#endif /* __ARM_FEATURE_MVE */
