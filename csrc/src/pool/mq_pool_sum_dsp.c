/*
 * mq_pool_sum_dsp: window sums of the fast average pool on Armv7E-M / Armv8-M Main with the DSP extension
 * (Cortex-M4, M7, M33). sums[c] += sum over `taps` taps (tap_stride bytes apart) of channel c, c < nch.
 * Four channels per 32-bit load: SXTAB16 (INT8) or UXTAB16 (UINT8) add bytes 0/2 and, on the word rotated by 8,
 * bytes 1/3 into two 16-bit lanes each. 256 taps of |code| <= 128 (int8) or <= 255 (uint8) fit a 16-bit lane
 * (signed -32768..32512, unsigned <= 65280), so the lanes are widened into the int32 sums every 256 taps: exact,
 * bit-identical to the portable sums. Loads are unaligned-tolerant (memcpy; LDR allows it on these cores).
 */
#include "mq_pool_internal.h"

#if defined(__ARM_FEATURE_DSP)

#include <arm_acle.h>
#include <string.h>

static inline uint32_t mq_pool_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* low / high 16-bit lane of a, signed (through int16_t: one SXTH / ASR, as fast as the unsigned UXTH / LSR; the
 * conversion of a lane >= 2^15 wraps modulo 2^16, as GCC and Clang define it) or unsigned */
static inline int32_t mq_lane_lo(uint32_t a, int is_s8)
{
    return is_s8 ? (int32_t)(int16_t)(a & 0xFFFFu) : (int32_t)(a & 0xFFFFu);
}

static inline int32_t mq_lane_hi(uint32_t a, int is_s8)
{
    return is_s8 ? (int32_t)(int16_t)(a >> 16) : (int32_t)(a >> 16);
}

void mq_pool_sum_dsp(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, int32_t *sums)
{
    int32_t c = 0;
    for (; c + 4 <= nch; c += 4) {
        const uint8_t *q = base + c;
        int32_t left = taps;
        while (left > 0) {
            int32_t n = left > 256 ? 256 : left;
            uint32_t a02 = 0u, a13 = 0u;
            left -= n;
            if (is_s8) {
                do {
                    const uint32_t v = mq_pool_ld32(q);
                    q += tap_stride;
                    a02 = (uint32_t)__sxtab16((int32_t)a02, (int32_t)v);
                    a13 = (uint32_t)__sxtab16((int32_t)a13, (int32_t)(v >> 8 | v << 24));
                } while (--n > 0);
            } else {
                do {
                    const uint32_t v = mq_pool_ld32(q);
                    q += tap_stride;
                    a02 = __uxtab16(a02, v);
                    a13 = __uxtab16(a13, v >> 8 | v << 24);
                } while (--n > 0);
            }
            sums[c] += mq_lane_lo(a02, is_s8);
            sums[c + 1] += mq_lane_lo(a13, is_s8);
            sums[c + 2] += mq_lane_hi(a02, is_s8);
            sums[c + 3] += mq_lane_hi(a13, is_s8);
        }
    }
    for (; c < nch; ++c) {
        const uint8_t *q = base + c;
        int32_t s = 0, t;
        for (t = 0; t < taps; ++t) {
            s += is_s8 ? (int32_t)*q - (int32_t)((*q & 0x80u) << 1) : (int32_t)*q;
            q += tap_stride;
        }
        sums[c] += s;
    }
}

#endif /* __ARM_FEATURE_DSP */
