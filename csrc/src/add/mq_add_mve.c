/*
 * mq_add_table_mve: the tabulated same-shape ADD's output loop on Armv8.1-M with Helium (Cortex-M55); contract
 * and exactness argument in mq_add_internal.h. Four int32 lanes per step: the two codes' terms gathered from the
 * 256-entry tables (VLDRW.U32 with UXTW #2 offsets), summed, VQRDMULH by the output multiplier (TFLite's SRDHM:
 * (2ab + 2^31) >> 32), then RDBPOT as VRSHL by -ro after subtracting 1 from negative lanes (round half away from
 * zero = round half up of x - 1 for x < 0; nothing subtracted when ro = 0), + zero point, clamp, VSTRB.32.
 * The last 1..3 elements are tail-predicated (VCTP.32: nothing past n is read or written).
 */
#include "mq_add_internal.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

void mq_add_table_mve(const int32_t *t1, const int32_t *t2, const uint8_t *a, const uint8_t *b, uint8_t *o,
                      size_t n, int32_t mo, int32_t ro, int32_t zo, int32_t lo, int32_t hi)
{
    const int32x4_t fix = vdupq_n_s32(ro > 0 ? -1 : 0);
    const int32x4_t vzo = vdupq_n_s32(zo);
    const int32x4_t vlo = vdupq_n_s32(lo);
    const int32x4_t vhi = vdupq_n_s32(hi);
    const int32_t rs = -ro;
    size_t i;
    for (i = 0; i < n; i += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i < 4u ? n - i : 4u));
        const uint32x4_t ia = vldrbq_z_u32(a + i, p);
        const uint32x4_t ib = vldrbq_z_u32(b + i, p);
        int32x4_t s = vaddq_s32(vldrwq_gather_shifted_offset_z_s32(t1, ia, p),
                                vldrwq_gather_shifted_offset_z_s32(t2, ib, p));
        s = vqrdmulhq_n_s32(s, mo);
        s = vaddq_s32(s, vandq_s32(vshrq_n_s32(s, 31), fix));
        s = vaddq_s32(vrshlq_n_s32(s, rs), vzo);
        s = vminq_s32(vmaxq_s32(s, vlo), vhi);
        vstrbq_p_s32((int8_t *)(o + i), s, p);
    }
}

#endif /* __ARM_FEATURE_MVE */
