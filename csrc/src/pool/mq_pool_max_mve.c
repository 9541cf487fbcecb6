/*
 * mq_pool_max_mve: window maxima of the fast max pool on Helium (Cortex-M55).
 * m[c] = max(m[c], code(base[t * tap_stride + c])), t < taps, c < nch: 16 channels per vector, VMAX.S8 (INT8) /
 * VMAX.U8 (UINT8); the last group is tail-predicated (VCTP.8: nothing past nch is read or written). Exact.
 */
#include "mq_pool_internal.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

void mq_pool_max_mve(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, uint8_t *m)
{
    int32_t c;
    for (c = 0; c < nch; c += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(nch - c));
        const uint8_t *q = base + c;
        int32_t n = taps;
        if (is_s8) {
            int8x16_t mx = vldrbq_z_s8((const int8_t *)(m + c), pr);
            do {
                mx = vmaxq_s8(mx, vldrbq_z_s8((const int8_t *)q, pr));
                q += tap_stride;
            } while (--n > 0);
            vstrbq_p_s8((int8_t *)(m + c), mx, pr);
        } else {
            uint8x16_t mx = vldrbq_z_u8(m + c, pr);
            do {
                mx = vmaxq_u8(mx, vldrbq_z_u8(q, pr));
                q += tap_stride;
            } while (--n > 0);
            vstrbq_p_u8(m + c, mx, pr);
        }
    }
}

#endif /* __ARM_FEATURE_MVE */
