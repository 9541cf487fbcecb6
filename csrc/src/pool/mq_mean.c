/*
 * mq_mean: mean over H and W with requantization (global average pooling; TFLite MEAN over axes [1, 2] with
 * keep_dims, ONNX GlobalAveragePool / ReduceMean over H, W), int8 and uint8.
 *
 * Shapes:  input  [batch, h, w, channels]  codes of in_dtype,  qparams (s_in, in_zero_point)
 *          output [batch, channels]        codes of out_dtype, qparams (s_out, out_zero_point)
 *          (TFLite's [batch, 1, 1, channels] is the same bytes)
 * Arithmetic (TFLite's reference int8/uint8 MEAN, QuantizedMeanOrSum, bit-exact; n = h * w): the host folds
 * 1/n into the requantization multiplier (mq_mean_prepare, mq_host.h):
 *          (M, s) = QuantizeMultiplier(s_in / s_out),  k = min(floor(log2 n), 32, 31 + s)
 *          multiplier = floor(M * 2^k / n),  shift = s - k        (multiplier in [0, 2^31), not normalized)
 * and the device computes
 *          acc = sum_{y,x} x[b, y, x, c] - n * in_zero_point                      (int32, exact)
 *          out = clamp(out_zero_point + mq_requantize(acc, multiplier, shift), act_min, act_max)
 * TFLite takes this path whether or not input and output share qparams (checked against ai-edge-litert for
 * both). act_min/act_max lie inside out_dtype's range (the dtype range for TFLite's MEAN).
 * Limits (mq_mean_check): h * w <= 2^23, batch*h*w*channels <= INT32_MAX, multiplier in [0, 2^31) (the folded
 * multiplier is not normalized), shift in [-31, 30]; for s_in / s_out > 1 the left shift wraps modulo 2^32
 * as in mq_requantize.
 * Input and output must not overlap (MQ_ERR_BUFFER).
 * Paths: mq_mean_c (portable, four channels per pass); on DSP cores and Helium mq_mean takes the window sums of
 * 64-channel blocks from mq_pool_sum_dsp / mq_pool_sum_mve (exact, as for the average pool): bit-identical.
 */
#include "microquant/mq_kernels.h"

#include "mq_kernels_unchecked.h"

#include "mq_params_internal.h"
#include "mq_pool_internal.h"

#define MQ_MEAN_MAX_POSITIONS (1 << 23)

mq_status mq_mean_check(const mq_mean_params *p)
{
    int32_t dims[4];
    if (p == NULL) {
        return MQ_ERR_NULL;
    }
    if (!mq_dtype_is_8bit(p->in_dtype) || !mq_dtype_is_8bit(p->out_dtype)) {
        return MQ_ERR_DTYPE;
    }
    dims[0] = p->batch;
    dims[1] = p->h;
    dims[2] = p->w;
    dims[3] = p->channels;
    if (!mq_product_ok(dims, 4) || (int64_t)p->h * p->w > MQ_MEAN_MAX_POSITIONS) {
        return MQ_ERR_SHAPE;
    }
    if (!mq_zp_in_dtype(p->in_zero_point, p->in_dtype) || !mq_zp_in_dtype(p->out_zero_point, p->out_dtype) ||
        p->multiplier < 0 || !mq_shift_ok(p->shift) ||
        !mq_act_range_ok(p->act_min, p->act_max, p->out_dtype)) {
        return MQ_ERR_QPARAMS;
    }
    return MQ_OK;
}

static uint8_t mq_mean_out(const mq_mean_params *p, int32_t sum, int32_t n)
{
    const int32_t acc = sum - n * p->in_zero_point;               /* |.| <= 2^23 * 255: exact */
    return (uint8_t)mq_requantize_clamp(acc, p->multiplier, p->shift, p->out_zero_point, p->act_min, p->act_max);
}

void mq_mean_c_unchecked(const mq_mean_params *p, const void *input, void *output)
{
    const int32_t n = p->h * p->w;
    const int32_t C = p->channels;
    int32_t b;
    uint8_t *out;
    out = (uint8_t *)output;
    for (b = 0; b < p->batch; ++b) {
        const size_t img = (size_t)b * (size_t)n * (size_t)C;
        int32_t c = 0;
        if (p->in_dtype == MQ_DTYPE_INT8) {
            const int8_t *base = (const int8_t *)input + img;
            for (; c + 4 <= C; c += 4) {
                const int8_t *q = base + c;
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                int32_t i;
                for (i = 0; i < n; ++i) {
                    a0 += q[0];
                    a1 += q[1];
                    a2 += q[2];
                    a3 += q[3];
                    q += C;
                }
                out[c] = mq_mean_out(p, a0, n);
                out[c + 1] = mq_mean_out(p, a1, n);
                out[c + 2] = mq_mean_out(p, a2, n);
                out[c + 3] = mq_mean_out(p, a3, n);
            }
            for (; c < C; ++c) {
                const int8_t *q = base + c;
                int32_t a = 0;
                int32_t i;
                for (i = 0; i < n; ++i) {
                    a += *q;
                    q += C;
                }
                out[c] = mq_mean_out(p, a, n);
            }
        } else {
            const uint8_t *base = (const uint8_t *)input + img;
            for (; c + 4 <= C; c += 4) {
                const uint8_t *q = base + c;
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                int32_t i;
                for (i = 0; i < n; ++i) {
                    a0 += q[0];
                    a1 += q[1];
                    a2 += q[2];
                    a3 += q[3];
                    q += C;
                }
                out[c] = mq_mean_out(p, a0, n);
                out[c + 1] = mq_mean_out(p, a1, n);
                out[c + 2] = mq_mean_out(p, a2, n);
                out[c + 3] = mq_mean_out(p, a3, n);
            }
            for (; c < C; ++c) {
                const uint8_t *q = base + c;
                int32_t a = 0;
                int32_t i;
                for (i = 0; i < n; ++i) {
                    a += *q;
                    q += C;
                }
                out[c] = mq_mean_out(p, a, n);
            }
        }
        out += C;
    }
}

mq_status mq_mean_c(const mq_mean_params *p, const void *input, void *output)
{
    const mq_status st = mq_mean_check(p);
    int32_t n;
    int32_t C;
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    n = p->h * p->w;
    C = p->channels;
    if (mq_ranges_overlap(input, (size_t)p->batch * (size_t)n * (size_t)C, output, (size_t)p->batch * (size_t)C)) {
        return MQ_ERR_BUFFER;
    }
    mq_mean_c_unchecked(p, input, output);
    return MQ_OK;
}

#if !defined(MQ_FORCE_PORTABLE) && (defined(__ARM_FEATURE_MVE) || defined(__ARM_FEATURE_DSP))
#if defined(__ARM_FEATURE_MVE)
#define MQ_MEAN_SUM mq_pool_sum_mve
#else
#define MQ_MEAN_SUM mq_pool_sum_dsp
#endif

void mq_mean_unchecked(const mq_mean_params *p, const void *input, void *output)
{
    const int32_t n = p->h * p->w;
    const int32_t C = p->channels;
    int32_t b, c0;
    uint8_t *out;
    out = (uint8_t *)output;
    for (b = 0; b < p->batch; ++b) {
        const uint8_t *img = (const uint8_t *)input + (size_t)b * (size_t)n * (size_t)C;
        for (c0 = 0; c0 < C; c0 += MQ_POOL_BLOCK) {
            const int32_t nch = C - c0 < MQ_POOL_BLOCK ? C - c0 : MQ_POOL_BLOCK;
            int32_t sums[MQ_POOL_BLOCK];
            int32_t c;
            for (c = 0; c < nch; ++c) {
                sums[c] = 0;
            }
            MQ_MEAN_SUM(img + c0, n, C, nch, p->in_dtype == MQ_DTYPE_INT8, sums);
            for (c = 0; c < nch; ++c) {
                out[c0 + c] = mq_mean_out(p, sums[c], n);
            }
        }
        out += C;
    }
}

mq_status mq_mean(const mq_mean_params *p, const void *input, void *output)
{
    const mq_status st = mq_mean_check(p);
    int32_t n, C;
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    n = p->h * p->w;
    C = p->channels;
    if (mq_ranges_overlap(input, (size_t)p->batch * (size_t)n * (size_t)C, output, (size_t)p->batch * (size_t)C)) {
        return MQ_ERR_BUFFER;
    }
    mq_mean_unchecked(p, input, output);
    return MQ_OK;
}
#else
void mq_mean_unchecked(const mq_mean_params *p, const void *input, void *output)
{
    mq_mean_c_unchecked(p, input, output);
}

mq_status mq_mean(const mq_mean_params *p, const void *input, void *output)
{
    return mq_mean_c(p, input, output);
}
#endif

/* MQ_MODEL_FLAG_ORT_FLOAT32: onnxruntime's QLinearGlobalAveragePool (x86 / MLAS SSE2 path): acc = sum - n * zp_in,
 * then its float32 output stage (float(acc) * scale, scale = float32(s_in / float32(s_out * n)) = multiplier *
 * 2^(shift - 31) exactly, checked at load), emulated with integers (mq_output_f32_emul). A plain loop. */
void mq_mean_f32_unchecked(const mq_mean_params *p, const void *input, void *output)
{
    const int32_t n = p->h * p->w;
    const int32_t C = p->channels;
    const uint8_t *x = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    int32_t b, c, i;
    for (b = 0; b < p->batch; ++b) {
        const uint8_t *img = x + (size_t)b * (size_t)n * (size_t)C;
        for (c = 0; c < C; ++c) {
            int32_t a = 0;
            for (i = 0; i < n; ++i) {
                a += mq_code_value(img[(size_t)i * (size_t)C + (size_t)c], p->in_dtype);
            }
            *out++ = mq_output_f32_emul((uint32_t)(a - n * p->in_zero_point), p->multiplier, p->shift,
                                        p->out_zero_point, p->act_min, p->act_max, NULL);
        }
    }
}
