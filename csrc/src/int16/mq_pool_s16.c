/*
 * mq_avg_pool_s16 / mq_max_pool_s16: TFLite AVERAGE_POOL_2D / MAX_POOL_2D on int16 (reference_integer_ops),
 * NHWC [batch, in_h, in_w, channels] -> [batch, out_h, out_w, channels], same scale, zero point 0.
 *   window of output (oy, ox): rows oy*stride_h - pad_top + [0, kernel_h), columns likewise, clipped to the input
 *   average: acc = sum of the valid taps (int32), cnt = their number,
 *            avg = acc > 0 ? (acc + cnt/2) / cnt : (acc - cnt/2) / cnt   (C division: half away from zero)
 *   max:     the largest valid tap
 *   out = clamp(value, act_min, act_max)
 * win.dilation_h/w must be 1 and kernel_h * kernel_w <= 65536 (the int32 sum cannot overflow).
 * Loops: per output pixel the clipped window [y0, y1) x [x0, x1) once, then the channels in pairs with the window's
 * taps innermost (pointer steps, no index arithmetic per tap). DSP (M4/M7/M33): one LDR per tap gives 2 channels;
 * max = SSUB16 + SEL (per-halfword signed compare and select), sum = SXTAH + SXTAH ROR #16; the clamp of a max
 * pair on halfword pairs too. Portable C elsewhere; both bit-identical to the formulas above.
 */
#include <string.h>

#include "mq_s16_dsp.h"
#include "mq_s16_internal.h"

#if defined(MQ_S16_DSP)
static inline uint32_t mq_pool16_ld(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
#endif

static inline int32_t mq_pool16_avg(int32_t acc, int32_t cnt, int32_t lo, int32_t hi)
{
    const int32_t v = cnt == 0 ? 0 : (acc > 0 ? (acc + cnt / 2) / cnt : (acc - cnt / 2) / cnt);
    return v < lo ? lo : (v > hi ? hi : v);
}

mq_status mq_pool_s16_check(const mq_pool_s16_params *p)
{
    mq_status st;
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    st = mq_s16_window_check(&p->win, p->channels, p->channels);
    if (st != MQ_OK) {
        return st;
    }
    if (p->win.dilation_h != 1 || p->win.dilation_w != 1 || (int64_t)p->win.kernel_h * p->win.kernel_w > 65536) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_s16_act_ok(p->act_min, p->act_max)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

static mq_status pool(const mq_pool_s16_params *p, const int16_t *input, int16_t *output, int is_max)
{
    const mq_window *w;
    int32_t b, oy, ox, c, y, x;
    size_t in_bytes, out_bytes;
    mq_status st = mq_pool_s16_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->channels * 2u;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)p->channels * 2u;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    {
        const int32_t C = p->channels, lo = p->act_min, hi = p->act_max;
        const size_t row = (size_t)w->in_w * (size_t)C;
        int16_t *out = output;
#if defined(MQ_S16_DSP)
        const uint32_t lo2 = ((uint32_t)lo & 0xFFFFu) * 0x10001u, hi2 = ((uint32_t)hi & 0xFFFFu) * 0x10001u;
#endif
        for (b = 0; b < w->batch; ++b) {
            const int16_t *in_b = input + (size_t)b * (size_t)w->in_h * row;
            for (oy = 0; oy < w->out_h; ++oy) {
                const int32_t iy0 = oy * w->stride_h - w->pad_top;
                const int32_t y0 = iy0 < 0 ? 0 : iy0;
                const int32_t y1 = iy0 + w->kernel_h < w->in_h ? iy0 + w->kernel_h : w->in_h;
                for (ox = 0; ox < w->out_w; ++ox, out += C) {
                    const int32_t ix0 = ox * w->stride_w - w->pad_left;
                    const int32_t x0 = ix0 < 0 ? 0 : ix0;
                    const int32_t x1 = ix0 + w->kernel_w < w->in_w ? ix0 + w->kernel_w : w->in_w;
                    const int32_t ny = y1 > y0 ? y1 - y0 : 0, nx = x1 > x0 ? x1 - x0 : 0;
                    const int32_t cnt = ny * nx;
                    const int16_t *org = in_b + ((size_t)(ny > 0 ? y0 : 0) * (size_t)w->in_w + (size_t)(nx > 0 ? x0 : 0)) *
                                                    (size_t)C;
                    c = 0;
#if defined(MQ_S16_DSP)
                    for (; c + 2 <= C; c += 2) {
                        const int16_t *r = org + c;
                        uint32_t v;
                        if (is_max) {
                            uint32_t m = 0x80008000u, t;
                            for (y = 0; y < ny; ++y, r += row) {
                                const int16_t *q = r;
                                for (x = 0; x < nx; ++x, q += C) {
                                    __asm__("ssub16 %[t], %[v], %[m]\n\tsel %[m], %[v], %[m]"
                                            : [m] "+r"(m), [t] "=&r"(t)
                                            : [v] "r"(mq_pool16_ld(q)));
                                }
                            }
                            /* clamp: max with lo2, min with hi2 */
                            __asm__("ssub16 %[t], %[m], %[lo]\n\tsel %[m], %[m], %[lo]\n\t"
                                    "ssub16 %[t], %[m], %[hi]\n\tsel %[m], %[hi], %[m]"
                                    : [m] "+r"(m), [t] "=&r"(t)
                                    : [lo] "r"(lo2), [hi] "r"(hi2));
                            v = m;
                        } else {
                            int32_t s0 = 0, s1 = 0;
                            for (y = 0; y < ny; ++y, r += row) {
                                const int16_t *q = r;
                                for (x = 0; x < nx; ++x, q += C) {
                                    const uint32_t u = mq_pool16_ld(q);
                                    s0 = mq_sxtah(s0, u);
                                    s1 = mq_sxtah_r16(s1, u);
                                }
                            }
                            v = ((uint32_t)mq_pool16_avg(s0, cnt, lo, hi) & 0xFFFFu) |
                                ((uint32_t)mq_pool16_avg(s1, cnt, lo, hi) << 16);
                        }
                        memcpy(out + c, &v, 4);
                    }
#endif
                    for (; c < C; ++c) {
                        const int16_t *r = org + c;
                        int32_t acc = is_max ? -32768 : 0;
                        for (y = 0; y < ny; ++y, r += row) {
                            const int16_t *q = r;
                            for (x = 0; x < nx; ++x, q += C) {
                                const int32_t t = *q;
                                if (is_max) {
                                    acc = t > acc ? t : acc;
                                } else {
                                    acc += t;
                                }
                            }
                        }
                        out[c] = (int16_t)(is_max ? (acc < lo ? lo : (acc > hi ? hi : acc))
                                                  : mq_pool16_avg(acc, cnt, lo, hi));
                    }
                }
            }
        }
    }
    return MQ_OK;
}

mq_status mq_avg_pool_s16(const mq_pool_s16_params *p, const int16_t *input, int16_t *output)
{
    return pool(p, input, output, 0);
}

mq_status mq_max_pool_s16(const mq_pool_s16_params *p, const int16_t *input, int16_t *output)
{
    return pool(p, input, output, 1);
}
