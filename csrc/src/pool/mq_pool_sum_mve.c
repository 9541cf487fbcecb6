/*
 * mq_pool_sum_mve: window sums of the fast average pool on Armv8.1-M with Helium (Cortex-M55).
 * sums[c] += sum over `taps` taps (tap_stride bytes apart) of channel c, c < nch. Eight channels per vector:
 * VLDRB.S16 (INT8) / VLDRB.U16 (UINT8) widen 8 codes to 16-bit lanes, VADD.I16 accumulates; the last partial
 * group of channels is tail-predicated (VCTP.16: nothing past nch is read). 256 taps fit a 16-bit lane (see
 * mq_pool_sum_dsp), so the lanes are added into the int32 sums every 256 taps: exact, bit-identical to the
 * portable sums.
 */
#include "mq_pool_internal.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

void mq_pool_sum_mve(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, int32_t *sums)
{
    int32_t c;
    for (c = 0; c < nch; c += 8) {
        const mve_pred16_t pr = vctp16q((uint32_t)(nch - c));
        const uint8_t *q = base + c;
        int32_t left = taps;
        while (left > 0) {
            int32_t n = left > 256 ? 256 : left;
            int16_t lane[8];
            int32_t k;
            left -= n;
            if (is_s8) {
                int16x8_t acc = vdupq_n_s16(0);
                do {
                    acc = vaddq_s16(acc, vldrbq_z_s16((const int8_t *)q, pr));
                    q += tap_stride;
                } while (--n > 0);
                vst1q_s16(lane, acc);
                for (k = 0; k < 8 && c + k < nch; ++k) {
                    sums[c + k] += lane[k];
                }
            } else {
                uint16x8_t acc = vdupq_n_u16(0);
                uint16_t ulane[8];
                do {
                    acc = vaddq_u16(acc, vldrbq_z_u16(q, pr));
                    q += tap_stride;
                } while (--n > 0);
                vst1q_u16(ulane, acc);
                for (k = 0; k < 8 && c + k < nch; ++k) {
                    sums[c + k] += ulane[k];
                }
            }
            (void)lane;
        }
    }
}

#endif /* __ARM_FEATURE_MVE */
