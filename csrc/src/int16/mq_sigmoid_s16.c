/*
 * mq_sigmoid_s16 / mq_tanh_s16: TFLite's int16 LOGISTIC and TANH (reference_integer_ops), bit-exact.
 * Input int16 (zero point 0, any scale), output int16 with scale 1/32768, zero point 0.
 *   (m, l) = input_multiplier == 0 ? (3 << input_left_shift, 0) : (input_multiplier, input_left_shift)
 *   v = (x * m + (l > 0 ? 2^(l-1) : 0)) >> l          (input in units of 1/(3*4096): +-2^17 is +-10.7)
 *   a = |v|
 * sigmoid:  h = a >> 9; r = h >= 255 ? 0x7FFF << 10 : (T[h] << 9) + (a & 511) * (T[h+1] - T[h])
 *           r = v >= 0 ? r + 2^9 : 2^25 - r + 2^9 - 1;   out = r >> 10
 * tanh:     h = a >> 8; r = h >= 255 ? 0xFFFF << 8 : (T[h] << 8) + (a & 255) * (T[h+1] - T[h])
 *           r = v >= 0 ? r - 2^23 + 2^7 : -r + 2^23 + 2^7 - 1;   out = r >> 8
 * with T = mq_sigmoid_table_u16 (sigmoid(i/24) in 0.16). In place allowed.
 */
#include "mq_s16_internal.h"

static mq_status check(const mq_sigmoid_s16_params *p, const int16_t *input, const int16_t *output, size_t n,
                       int32_t *m, int32_t *l)
{
    if (p == NULL || input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (p->input_multiplier < 0 || p->input_multiplier > 32767 || p->input_left_shift < 0 ||
        p->input_left_shift > 31 || (p->input_multiplier == 0 && p->input_left_shift > 1)) {
        return MQ_ERR_QPARAMS;
    }
    if (output != input && mq_ranges_overlap(input, n * 2u, output, n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    if (p->input_multiplier == 0) {
        *m = 3 << p->input_left_shift;
        *l = 0;
    } else {
        *m = p->input_multiplier;
        *l = p->input_left_shift;
    }
    return MQ_OK;
}

/* (x * m + round) >> l in int64 (|x m| < 2^30, so this is TFLite's int32 expression without overflow). */
static inline int32_t scale_input(int32_t x, int32_t m, int32_t l)
{
    const int64_t round = l > 0 ? (int64_t)1 << (l - 1) : 0;
    return (int32_t)(((int64_t)x * m + round) >> l);
}

mq_status mq_sigmoid_s16(const mq_sigmoid_s16_params *p, const int16_t *input, int16_t *output, size_t n)
{
    int32_t m = 0, l = 0;
    size_t i;
    mq_status st = check(p, input, output, n, &m, &l);
    if (st != MQ_OK) {
        return st;
    }
    for (i = 0; i < n; ++i) {
        const int32_t v = scale_input(input[i], m, l);
        const uint32_t a = (uint32_t)(v < 0 ? -v : v);
        const uint32_t h = a >> 9;
        uint32_t r;
        if (h >= 255u) {
            r = 0x7FFFu << 10;
        } else {
            const uint32_t ua = mq_sigmoid_table_u16[h];
            const uint32_t ub = mq_sigmoid_table_u16[h + 1u];
            r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
        }
        r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
        output[i] = (int16_t)(r >> 10);
    }
    return MQ_OK;
}

mq_status mq_tanh_s16(const mq_sigmoid_s16_params *p, const int16_t *input, int16_t *output, size_t n)
{
    int32_t m = 0, l = 0;
    size_t i;
    mq_status st = check(p, input, output, n, &m, &l);
    if (st != MQ_OK) {
        return st;
    }
    for (i = 0; i < n; ++i) {
        const int32_t v = scale_input(input[i], m, l);
        const uint32_t a = (uint32_t)(v < 0 ? -v : v);
        const uint32_t h = a >> 8;
        int32_t r;
        if (h >= 255u) {
            r = 0xFFFF << 8;
        } else {
            const int32_t ua = mq_sigmoid_table_u16[h];
            const int32_t ub = mq_sigmoid_table_u16[h + 1u];
            r = (ua << 8) + (int32_t)(a & 0xFFu) * (ub - ua);
        }
        r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(r >> 8);
    }
    return MQ_OK;
}
