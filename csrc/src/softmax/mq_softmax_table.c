/*
 * mq_softmax_table: 8-bit softmax along the middle axis of [outer, axis_size, inner] into ANY output qparams
 * with one rounding (the arithmetic of onnxruntime's QLinearSoftmax, or of a float softmax followed by
 * QuantizeLinear, in integers), integer-only.
 *
 * Shapes:  input and output [outer, axis_size, inner] (1 <= axis_size <= 65535), codes of in_dtype / out_dtype.
 * Qparams: input (s_in, any zero point: only differences are used); output (s_out, out_zero_point), any.
 *          Prepared on the host (mq_softmax_table_prepare, mq_host.h):
 *            exp_table[d] = round(exp(-s_in * d) * 2^30) for d = 0..255   (exp_table[0] = 2^30, all in [0, 2^30])
 *            multiplier * 2^-shift = r, the output scale's reciprocal: float32(1 / s_out), or its floor as
 *                                    onnxruntime's QLinearSoftmax has it (multiplier in [1, 2^31), shift in [0, 62])
 * Per slice:
 *   mx = max_j x_j;  e_j = exp_table[mx - x_j]
 *   sum = sum_j e_j                                        (uint64, < 2^46)
 *   out_j = clamp(zp_out + round_half_even(e_j * r / sum), qmin, qmax),  r = multiplier / 2^shift
 * The quotient is rounded once, exactly: q = floor(e_j * multiplier / sum) and the remainder decide the
 * rounding of q / 2^shift (e_j * multiplier < 2^61). One 64-bit division per element.
 * input == output allowed (each element is read before its own output is written); a partial overlap is
 * MQ_ERR_BUFFER.
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"

mq_status mq_softmax_table_check(const mq_softmax_table_params *p)
{
    int32_t i;
    if (p == NULL || p->exp_table == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    if (p->outer < 1 || p->axis_size < 1 || p->inner < 1 || p->axis_size > MQ_SOFTMAX_TABLE_MAX_AXIS ||
        (int64_t)p->outer * p->axis_size * p->inner > INT32_MAX) {
        return MQ_ERR_SHAPE;
    }
    if (p->multiplier < 1 || p->shift < 0 || p->shift > 62 || p->out_zero_point < mq_dtype_min(p->out_dtype) ||
        p->out_zero_point > mq_dtype_max(p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    /* exp(0) > 0 keeps the sum (which holds the maximum's own term) positive; <= 2^30 bounds the products */
    if (p->exp_table[0] < 1) {
        return MQ_ERR_QPARAMS;
    }
    for (i = 0; i < 256; ++i) {
        if (p->exp_table[i] < 0 || p->exp_table[i] > MQ_SOFTMAX_TABLE_ONE) {
            return MQ_ERR_QPARAMS;
        }
    }
    return MQ_OK;
}

/* round_half_even(num / (den * 2^shift)), den > 0, shift in [0, 62] */
static uint64_t mq_div_round_even(uint64_t num, uint64_t den, int32_t shift)
{
    const uint64_t q = num / den;
    const uint64_t r = num - q * den;
    uint64_t fl, frac, half;
    int up;
    if (shift == 0) {
        fl = q;
        up = 2u * r > den || (2u * r == den && (fl & 1u) != 0u);
    } else {
        fl = q >> shift;
        frac = q & ((((uint64_t)1) << shift) - 1u);
        half = ((uint64_t)1) << (shift - 1);
        up = frac > half || (frac == half && (r != 0u || (fl & 1u) != 0u));
    }
    return fl + (uint64_t)up;
}

void mq_softmax_table_unchecked(const mq_softmax_table_params *p, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t axis = (size_t)p->axis_size;
    const size_t inner = (size_t)p->inner;
    const int32_t qmin = mq_dtype_min(p->out_dtype);
    const int32_t qmax = mq_dtype_max(p->out_dtype);
    /* INT8 codes compared as unsigned bytes after flipping the sign bit: same order, same differences */
    const uint32_t flip = p->in_dtype == MQ_DTYPE_INT8 ? 0x80u : 0u;
    const uint64_t mult = (uint64_t)p->multiplier;
    size_t o, i, j;
    for (o = 0; o < (size_t)p->outer; ++o) {
        for (i = 0; i < inner; ++i) {
            const uint8_t *src = in + o * axis * inner + i;
            uint8_t *dst = out + o * axis * inner + i;
            uint32_t mx = 0u;
            uint64_t sum = 0u;
            for (j = 0; j < axis; ++j) {
                const uint32_t u = (uint32_t)src[j * inner] ^ flip;
                mx = u > mx ? u : mx;
            }
            for (j = 0; j < axis; ++j) {
                sum += (uint64_t)p->exp_table[mx - ((uint32_t)src[j * inner] ^ flip)];
            }
            for (j = 0; j < axis; ++j) {
                const uint64_t e = (uint64_t)p->exp_table[mx - ((uint32_t)src[j * inner] ^ flip)];
                const uint64_t r = mq_div_round_even(e * mult, sum, p->shift);   /* <= multiplier < 2^31 */
                int64_t v = (int64_t)p->out_zero_point + (int64_t)(r > 0xFFFFu ? 0xFFFFu : r);
                v = v < qmin ? qmin : (v > qmax ? qmax : v);
                dst[j * inner] = (uint8_t)((uint64_t)v & 0xFFu);
            }
        }
    }
}

mq_status mq_softmax_table(const mq_softmax_table_params *p, const void *input, void *output)
{
    size_t n;
    mq_status st = mq_softmax_table_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    n = (size_t)p->outer * (size_t)p->axis_size * (size_t)p->inner;
    if (input != output && mq_ranges_overlap(input, n, output, n)) {
        return MQ_ERR_BUFFER;
    }
    mq_softmax_table_unchecked(p, input, output);
    return MQ_OK;
}
