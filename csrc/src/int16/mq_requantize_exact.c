/*
 * mq_requantize_exact: round((double)acc * eff) as TFLite's reference FULLY_CONNECTED (int16 input) computes it,
 * in integers only. eff = mant * 2^exp exactly (mant 0 or in [2^52, 2^53)).
 *   P = |acc| * mant                       exact, up to 63 + 53 bits (held as hi:lo 64-bit halves)
 *   double product: P rounded to 53 significant bits, nearest, ties to even -> Q * 2^F (Q < 2^54)
 *   F >= 0: |r| = Q * 2^F; F < 0: |r| = floor((Q + 2^(-F-1)) / 2^-F) (half away from zero; 0 once -F > 55)
 *   r = sign(acc) * |r|, saturated to int32 (TFLite's static_cast<int32_t> is undefined there).
 * Subnormal products (|acc * eff| < 2^-1022) round to 0 here as there. Tested against the double expression
 * (test_s16_kernels) and against TFLite (test_s16_tflite).
 */
#include "mq_s16_internal.h"

/* 64 x 64 -> 128 bit unsigned multiply from 32-bit halves (no compiler 128-bit type needed). */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    const uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
    const uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    const uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    *lo = (ll & 0xFFFFFFFFu) | (mid << 32);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static int32_t bitlen64(uint64_t v)
{
    int32_t n = 0;
    while (v != 0u) {
        v >>= 1;
        ++n;
    }
    return n;
}

int32_t mq_requantize_exact(int64_t acc, const mq_exact_scale *scale)
{
    uint64_t a, hi, lo, q;
    int32_t len, f, drop;
    int neg;
    if (scale == NULL || scale->mant == 0u || acc == 0) {
        return 0;
    }
    neg = acc < 0;
    a = neg ? (uint64_t)0 - (uint64_t)acc : (uint64_t)acc;
    mul_64x64(a, scale->mant, &hi, &lo);
    len = hi != 0u ? 64 + bitlen64(hi) : bitlen64(lo);
    drop = len > 53 ? len - 53 : 0;
    if (drop == 0) {
        q = lo;
    } else {
        /* q = P >> drop, rem = P mod 2^drop, rounded to nearest even */
        uint64_t rem_hi, rem_lo, half_hi, half_lo;
        int above, tie;
        if (drop >= 64) {
            q = hi >> (drop - 64);
            rem_hi = drop == 64 ? 0u : hi & ((((uint64_t)1) << (drop - 64)) - 1u);
            rem_lo = lo;
            half_hi = ((uint64_t)1) << (drop - 65 < 0 ? 0 : drop - 65);
            half_lo = 0u;
            if (drop == 64) {
                half_hi = 0u;
                half_lo = (uint64_t)1 << 63;
            }
        } else {
            q = (lo >> drop) | (hi << (64 - drop));
            rem_hi = 0u;
            rem_lo = lo & ((((uint64_t)1) << drop) - 1u);
            half_hi = 0u;
            half_lo = ((uint64_t)1) << (drop - 1);
        }
        above = rem_hi > half_hi || (rem_hi == half_hi && rem_lo > half_lo);
        tie = rem_hi == half_hi && rem_lo == half_lo;
        if (above || (tie && (q & 1u) != 0u)) {
            q += 1u;
        }
    }
    f = drop + scale->exp;
    if (f >= 0) {
        /* |r| >= 2^52 * 2^f unless tiny; any f > 31 or q << f >= 2^31 saturates */
        if (f > 31 || q > ((uint64_t)INT32_MAX >> f)) {
            return neg ? INT32_MIN : INT32_MAX;
        }
        q <<= f;
    } else if (-f > 60) {
        q = 0u;
    } else {
        q = (q + ((uint64_t)1 << (-f - 1))) >> (-f);
    }
    if (q > (uint64_t)INT32_MAX) {
        return neg ? INT32_MIN : INT32_MAX;
    }
    return neg ? -(int32_t)q : (int32_t)q;
}
