/*
 * mq_s16_gemm4: the 4-row 16x8 GEMM driver (contract and buffer layouts: mq_s16_gemm.h). Output channels in
 * chunks of MQ_S16_GEMM4_CH (their output-stage constants computed once into a stack table), rows in groups of
 * 4 (copied into the stack buffer by the caller's fill function), then the core's microkernel:
 * mq_gemm_s16s8_4x1_dsp (Cortex-M4/M7/M33), mq_gemm_s16s8_4x1_mve (Cortex-M55) or mq_gemm_s16s8_4x1_c. Channels
 * the int32 output stage cannot take (bias beyond the int32 bound, shift >= 0) are computed here exactly in int64.
 * Also mq_s16_xb_put, the buffer writer. Stack: 2 KiB buffer + 512 B table.
 */
#include <string.h>

#include "mq_s16_gemm.h"

#if defined(MQ_S16_XB_CHUNK8)
#include <arm_mve.h>
#endif

#define MQ_S16_GEMM4_CH 32

void mq_s16_xb_put(mq_s16_xbuf *xb, int32_t r, int32_t kofs, const int16_t *src, int32_t len)
{
#if defined(MQ_S16_XB_PERM)
    int32_t i = 0;
    if ((kofs & 3) == 0) {
        /* whole blocks: two words (x0,x1), (x2,x3) -> (x0,x2), (x1,x3) */
        uint32_t *d = &xb->align[((size_t)(kofs >> 2) << 3) + (size_t)r * 2u];
        for (; i + 4 <= len; i += 4, d += 8) {
            if (src != NULL) {
                uint32_t a, b;
                memcpy(&a, src + i, 4);
                memcpy(&b, src + i + 2, 4);
                d[0] = (a & 0xFFFFu) | (b << 16);
                d[1] = (a >> 16) | (b & 0xFFFF0000u);
            } else {
                d[0] = 0u;
                d[1] = 0u;
            }
        }
    }
    for (; i < len; ++i) {
        xb->h[mq_s16_xb_idx(r, kofs + i)] = src != NULL ? src[i] : 0;
    }
#elif defined(MQ_S16_XB_CHUNK8)
    /* one predicated VLDRH / VSTRH per piece of a chunk (inactive lanes are neither read nor written) */
    while (len > 0) {
        const int32_t seg = len < 8 - (kofs & 7) ? len : 8 - (kofs & 7);
        const mve_pred16_t pr = vctp16q((uint32_t)seg);
        int16_t *d = &xb->h[mq_s16_xb_idx(r, kofs)];
        if (src != NULL) {
            vstrhq_p_s16(d, vldrhq_z_s16(src, pr), pr);
            src += seg;
        } else {
            vstrhq_p_s16(d, vdupq_n_s16(0), pr);
        }
        kofs += seg;
        len -= seg;
    }
#else
    int16_t *d = &xb->h[mq_s16_xb_idx(r, kofs)];
    if (src != NULL) {
        memcpy(d, src, (size_t)len * 2u);
    } else {
        memset(d, 0, (size_t)len * 2u);
    }
#endif
}

/* Channel c's constants (mq_s16_chan); fast = 0 if the int32 output stage does not apply. */
static mq_s16_chan mq_s16_chan_of(const mq_fc_s16_params *g, int32_t c, int64_t room)
{
    const int32_t q = g->per_channel ? c : 0;
    const int32_t m = g->multiplier[q], s = g->shift[q];
    const int64_t b = g->bias != NULL ? g->bias[c] : 0;
    mq_s16_chan ch;
    ch.bias = 0;
    ch.mp = 0;
    ch.sh = 0;
    ch.fast = 0;
    if (s <= -1 && b >= -room && b <= room) {
        const uint32_t m16 = m < 0x7FFF0000 ? ((uint32_t)m + 32768u) >> 16 : 0x7FFFu;
        const int32_t t = 15 - s; /* [16, 46] */
        ch.bias = (int32_t)b;
        if (t <= 32) {
            ch.mp = (int32_t)(m16 << (32 - t));
        } else {
            ch.mp = (int32_t)(m16 << 16);
            ch.sh = t - 16;
        }
        ch.fast = 1;
    }
    return ch;
}

void mq_s16_gemm4(const mq_fc_s16_params *g, int32_t rows, mq_s16_fill_fn fill, const void *ctx, int16_t *y)
{
    mq_s16_xbuf xb;
    mq_s16_chan ch[MQ_S16_GEMM4_CH];
    const mq_s16_outstage os = mq_s16_outstage_of(g);
    const int32_t n = g->n, k = g->k;
    /* |bias| <= room keeps bias + sum_k x w (|x w| <= 2^22) within int32 */
    const int64_t room = (int64_t)INT32_MAX - ((int64_t)k << 22);
    int32_t c0, r0, s;
#if defined(MQ_S16_XB_CHUNK8)
    {
        /* the MVE kernel reads whole 8-element vectors (times zero weights past k): keep them defined */
        const int32_t pad = ((k + 7) & ~7) - k;
        if (pad > 0 && k + pad <= MQ_S16_XB_K) {
            for (s = 0; s < 4; ++s) {
                mq_s16_xb_put(&xb, s, k, NULL, pad);
            }
        }
    }
#endif
    for (c0 = 0; c0 < n; c0 += MQ_S16_GEMM4_CH) {
        const int32_t cnt = n - c0 < MQ_S16_GEMM4_CH ? n - c0 : MQ_S16_GEMM4_CH;
        const int8_t *wc = g->weights + (size_t)c0 * (size_t)k;
        int32_t c, nslow = 0;
        for (c = 0; c < cnt; ++c) {
            ch[c] = mq_s16_chan_of(g, c0 + c, room);
            nslow += ch[c].fast ? 0 : 1;
        }
        for (r0 = 0; r0 < rows; r0 += 4) {
            const int32_t nrows = rows - r0 < 4 ? rows - r0 : 4;
            int16_t *yr = y + (size_t)r0 * (size_t)n + (size_t)c0;
            for (s = 0; s < nrows; ++s) {
                fill(ctx, &xb, s, r0 + s);
            }
            for (; s < 4; ++s) {
                mq_s16_xb_put(&xb, s, 0, NULL, k);
            }
#if defined(MQ_S16_GEMM4_DSP)
            mq_gemm_s16s8_4x1_dsp(&xb, k, wc, ch, cnt, os.lo, os.hi, yr, (size_t)n, nrows);
#elif defined(MQ_S16_GEMM4_MVE)
            mq_gemm_s16s8_4x1_mve(&xb, k, wc, ch, cnt, os.lo, os.hi, yr, (size_t)n, nrows);
#else
            mq_gemm_s16s8_4x1_c(&xb, k, wc, ch, cnt, os.lo, os.hi, yr, (size_t)n, nrows);
#endif
            if (nslow > 0) {
                for (c = 0; c < cnt; ++c) {
                    const int8_t *wr = wc + (size_t)c * (size_t)k;
                    if (ch[c].fast) {
                        continue;
                    }
                    for (s = 0; s < nrows; ++s) {
                        int64_t acc = g->bias != NULL ? g->bias[c0 + c] : 0;
                        int32_t i;
                        for (i = 0; i < k; ++i) {
                            acc += (int32_t)xb.h[mq_s16_xb_idx(s, i)] * (int32_t)wr[i];
                        }
                        yr[(size_t)s * (size_t)n + (size_t)c] = mq_s16_out_stage(&os, c0 + c, acc);
                    }
                }
            }
        }
    }
}
