/*
 * mq_pool_max_dsp: window maxima of the fast max pool on DSP cores (Cortex-M4, M7, M33).
 * m[c] = max(m[c], code(base[t * tap_stride + c])), t < taps, c < nch: four channels per word, SSUB8 (INT8) /
 * USUB8 (UINT8) set the per-byte GE flags of v - m and SEL keeps the larger byte. Exact (a maximum).
 */
#include "mq_pool_internal.h"

#if defined(__ARM_FEATURE_DSP)

#include <arm_acle.h>
#include <string.h>

void mq_pool_max_dsp(const uint8_t *base, int32_t taps, int32_t tap_stride, int32_t nch, int is_s8, uint8_t *m)
{
    int32_t c = 0;
    for (; c + 4 <= nch; c += 4) {
        const uint8_t *q = base + c;
        uint32_t mx;
        int32_t n = taps;
        memcpy(&mx, m + c, sizeof mx);
        if (is_s8) {
            do {
                uint32_t v;
                memcpy(&v, q, sizeof v);
                q += tap_stride;
                (void)__ssub8((int32_t)v, (int32_t)mx);
                mx = __sel(v, mx);
            } while (--n > 0);
        } else {
            do {
                uint32_t v;
                memcpy(&v, q, sizeof v);
                q += tap_stride;
                (void)__usub8(v, mx);
                mx = __sel(v, mx);
            } while (--n > 0);
        }
        memcpy(m + c, &mx, sizeof mx);
    }
    for (; c < nch; ++c) {
        const uint8_t *q = base + c;
        int32_t t;
        for (t = 0; t < taps; ++t) {
            /* INT8: flipping the sign bit maps the signed order onto the unsigned one */
            if (is_s8 ? ((*q ^ 0x80u) > (m[c] ^ 0x80u)) : (*q > m[c])) {
                m[c] = *q;
            }
            q += tap_stride;
        }
    }
}

#endif /* __ARM_FEATURE_DSP */
