/*
 * mq_fully_connected_s16: TFLite FULLY_CONNECTED 16x8.
 *   input [batch, k] int16 (zero point 0), weights [n][k] int8 (zero point 0), bias int64 [n] or NULL,
 *   output [batch, n] int16: out[b][c] = clamp(requant64(bias[c] + sum_k x[b][k] w[c][k], M[c], s[c]))
 * (per tensor: M[0], s[0]). Batch >= 2 without exact_scale: the 4-row path mq_s16_gemm4
 * (4 batch rows buffered, int32 accumulation where provably exact). Otherwise exact int64 accumulation: groups of
 * 4 output rows through the mq_dot4_s16_s8 microkernel (DSP variant on Cortex-M4/M7/M33), the last n mod 4 rows
 * one by one. Output stage: mq_requantize64
 * (TFLite Micro / CMSIS-NN) or, with p->exact_scale, mq_requantize_exact (LiteRT's reference FULLY_CONNECTED).
 */
#include <string.h>

#include "mq_s16_dot4.h"
#include "mq_s16_gemm.h"

typedef struct {
    const int16_t *x;
    int32_t k;
} mq_fc_s16_rows;

static void mq_fc_s16_fill(const void *ctx, mq_s16_xbuf *xb, int32_t slot, int32_t row, int32_t kofs, int32_t len)
{
    const mq_fc_s16_rows *f = (const mq_fc_s16_rows *)ctx;
    mq_s16_xb_put(xb, slot, 0, f->x + (size_t)row * (size_t)f->k + (size_t)kofs, len);
}

#if defined(MQ_S16_GEMM4_DSP)
#define MQ_FC16_CH 32
#define MQ_FC16_PART 128
/*
 * Batch-1 FC on the DSP cores without exact_scale: the input in parts of up to MQ_FC16_PART elements, each part
 * stored once (per chunk of MQ_FC16_CH output channels) as the words (x0, x2), (x1, x3) of every 4 elements, so
 * that per 4 k one LDRD feeds 4 weight rows x (LDR + SXTB16 x 2 + SMLAD x 2): 23 instructions per 16 MACs. Part
 * sums (|sum| <= 128 * 2^22 = 2^29, int32) are added into int64 totals; the output stage is the SMMULR form
 * (mq_s16_chan_rq) when the shift admits it and the total fits int32, else mq_requantize64 (both exact).
 * Stack: 256 B input part + 256 B of totals (under 1 KB with the caller).
 */
static void mq_fc16_b1_dsp(const mq_fc_s16_params *p, const int16_t *x, int16_t *y)
{
    uint32_t xp[MQ_FC16_PART / 2];
    int64_t acc[MQ_FC16_CH];
    const mq_s16_outstage os = mq_s16_outstage_of(p);
    const int32_t n = p->n, k = p->k;
    int32_t c0, p0, c, i;
    for (c0 = 0; c0 < n; c0 += MQ_FC16_CH) {
        const int32_t cnt = n - c0 < MQ_FC16_CH ? n - c0 : MQ_FC16_CH;
        for (c = 0; c < cnt; ++c) {
            acc[c] = p->bias != NULL ? p->bias[c0 + c] : 0;
        }
        for (p0 = 0; p0 < k; p0 += MQ_FC16_PART) {
            const int32_t len = k - p0 < MQ_FC16_PART ? k - p0 : MQ_FC16_PART;
            const int32_t steps = len >> 2;
            const int16_t *xs = x + p0;
            if (steps > 0 && (c0 == 0 || k > MQ_FC16_PART)) {
                for (i = 0; i < steps; ++i) {
                    uint32_t a, b;
                    memcpy(&a, xs + 4 * i, 4);
                    memcpy(&b, xs + 4 * i + 2, 4);
                    xp[2 * i] = (a & 0xFFFFu) | (b << 16);
                    xp[2 * i + 1] = (a >> 16) | (b & 0xFFFF0000u);
                }
            }
            for (c = 0; c < cnt; ++c) {
                const int8_t *wr = p->weights + (size_t)(c0 + c) * (size_t)k + (size_t)p0;
                int32_t t;
                if (c + 4 <= cnt && steps > 0) {
                    const int8_t *w0 = wr, *w1 = wr + k, *w2 = wr + 2 * k, *w3 = wr + 3 * k;
                    const uint32_t *xq = xp;
                    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, nn = steps;
                    uint32_t xa, xb, v, tt;
                    __asm__("1:\n\t"
                            "ldrd  %[xa], %[xb], [%[xq]], #8\n\t"
                            "ldr   %[v], [%[w0]], #4\n\t"
                            "sxtb16 %[tt], %[v]\n\t"
                            "sxtb16 %[v], %[v], ror #8\n\t"
                            "smlad %[s0], %[xa], %[tt], %[s0]\n\t"
                            "smlad %[s0], %[xb], %[v], %[s0]\n\t"
                            "ldr   %[v], [%[w1]], #4\n\t"
                            "sxtb16 %[tt], %[v]\n\t"
                            "sxtb16 %[v], %[v], ror #8\n\t"
                            "smlad %[s1], %[xa], %[tt], %[s1]\n\t"
                            "smlad %[s1], %[xb], %[v], %[s1]\n\t"
                            "ldr   %[v], [%[w2]], #4\n\t"
                            "sxtb16 %[tt], %[v]\n\t"
                            "sxtb16 %[v], %[v], ror #8\n\t"
                            "smlad %[s2], %[xa], %[tt], %[s2]\n\t"
                            "smlad %[s2], %[xb], %[v], %[s2]\n\t"
                            "ldr   %[v], [%[w3]], #4\n\t"
                            "sxtb16 %[tt], %[v]\n\t"
                            "sxtb16 %[v], %[v], ror #8\n\t"
                            "smlad %[s3], %[xa], %[tt], %[s3]\n\t"
                            "smlad %[s3], %[xb], %[v], %[s3]\n\t"
                            "subs  %[nn], %[nn], #1\n\t"
                            "bne   1b\n\t"
                            : [xq] "+r"(xq), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3),
                              [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [nn] "+r"(nn),
                              [xa] "=&r"(xa), [xb] "=&r"(xb), [v] "=&r"(v), [tt] "=&r"(tt)
                            :
                            : "cc", "memory");
                    for (t = 4 * steps; t < len; ++t) {
                        const int32_t xv = xs[t];
                        s0 += xv * wr[t];
                        s1 += xv * wr[k + t];
                        s2 += xv * wr[2 * k + t];
                        s3 += xv * wr[3 * k + t];
                    }
                    acc[c] += s0;
                    acc[c + 1] += s1;
                    acc[c + 2] += s2;
                    acc[c + 3] += s3;
                    c += 3;
                } else {
                    int32_t s0 = 0;
                    for (t = 0; t < len; ++t) {
                        s0 += (int32_t)xs[t] * wr[t];
                    }
                    acc[c] += s0;
                }
            }
        }
        for (c = 0; c < cnt; ++c) {
            const int32_t q = (c0 + c) & os.qmask;
            const int64_t a = acc[c];
            const mq_s16_chan ch = mq_s16_chan_make(os.mult[q], os.shift[q], 0, -1);
            if (ch.shok && a >= INT32_MIN && a <= INT32_MAX) {
                const int32_t v = mq_s16_chan_rq(&ch, (int32_t)a);
                y[c0 + c] = (int16_t)(v < os.lo ? os.lo : (v > os.hi ? os.hi : v));
            } else {
                y[c0 + c] = mq_s16_out_stage(&os, c0 + c, a);
            }
        }
    }
}
#endif

mq_status mq_fully_connected_s16(const mq_fc_s16_params *p, int32_t batch, const int16_t *input, int16_t *output)
{
    mq_status st = mq_fc_s16_check(p);
    int32_t b, c;
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    if (batch < 1 || (int64_t)batch * p->k > MQ_S16_MAX_ELEMS || (int64_t)batch * p->n > MQ_S16_MAX_ELEMS) {
        return MQ_ERR_SHAPE;
    }
    if (mq_ranges_overlap(input, (size_t)batch * (size_t)p->k * 2u, output, (size_t)batch * (size_t)p->n * 2u)) {
        return MQ_ERR_BUFFER;
    }
    if (batch >= 2 && mq_s16_gemm4_ok(p)) {
        mq_fc_s16_rows f;
        f.x = input;
        f.k = p->k;
        mq_s16_gemm4(p, batch, mq_fc_s16_fill, &f, output);
        return MQ_OK;
    }
#if defined(MQ_S16_GEMM4_DSP)
    if (p->exact_scale == NULL) {
        for (b = 0; b < batch; ++b) {
            mq_fc16_b1_dsp(p, input + (size_t)b * (size_t)p->k, output + (size_t)b * (size_t)p->n);
        }
        return MQ_OK;
    }
#endif
    {
        const mq_s16_outstage os = mq_s16_outstage_of(p);
        const int64_t *bias = p->bias;
        const int8_t *weights = p->weights;
        const int32_t n = p->n, k = p->k;
        for (b = 0; b < batch; ++b) {
            const int16_t *x = input + (size_t)b * (size_t)k;
            int16_t *y = output + (size_t)b * (size_t)n;
            for (c = 0; c + 4 <= n; c += 4) {
                int64_t acc[4];
                if (bias != NULL) {
                    acc[0] = bias[c];
                    acc[1] = bias[c + 1];
                    acc[2] = bias[c + 2];
                    acc[3] = bias[c + 3];
                } else {
                    acc[0] = acc[1] = acc[2] = acc[3] = 0;
                }
                mq_dot4_s16_s8(x, weights + (size_t)c * (size_t)k, (size_t)k, k, acc);
                y[c] = mq_s16_out_stage(&os, c, acc[0]);
                y[c + 1] = mq_s16_out_stage(&os, c + 1, acc[1]);
                y[c + 2] = mq_s16_out_stage(&os, c + 2, acc[2]);
                y[c + 3] = mq_s16_out_stage(&os, c + 3, acc[3]);
            }
            for (; c < n; ++c) {
                int64_t acc = mq_dot_s16_s8(x, weights + (size_t)c * (size_t)k, k);
                if (bias != NULL) {
                    acc += bias[c];
                }
                y[c] = mq_s16_out_stage(&os, c, acc);
            }
        }
    }
    return MQ_OK;
}
