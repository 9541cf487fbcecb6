/*
 * mq_gemm_s8_n4k16_c: portable C GEMM microkernel over N4K16-packed int8 weights.
 *
 * For each group of 4 output channels and each input row (two rows at a time when m >= 2, sharing every
 * weight load): int32 accumulators start at the folded bias, accumulate x'[k] * W[n][k] over the 16-wide
 * k chunks (unrolled with constant offsets into the 64-byte weight block: fully for two rows, by 4 for one
 * row, which keeps GCC from hoisting all 16 loads and spilling on Armv7-M) and then the k tail (the
 * packed tail is zero, but the input is never read past k), then requantize (TFLite double rounding), add
 * the output zero point, clamp and optionally look the code up in the epilogue LUT.
 *
 * Built with -Os (__OPTIMIZE_SIZE__) the same arithmetic runs in one compact loop (about 0.55 KB instead of
 * about 5 KB of Thumb code on Cortex-M); both forms are tested on the host (scripts/test-c.sh builds Release and MinSizeRel).
 *
 * Signed-domain input x' (docs/QUANTIZATION.md section 4): INT8 codes are read as int8_t, UINT8 codes as
 * x - 128 (= (int8)(x ^ 0x80)). Sums are computed in uint32 (wrap modulo 2^32, exactly the documented int32
 * wrap semantics, no signed overflow); every product fits int32.
 */
#include "mq_microkernels.h"

#include "mq_kernels_internal.h"
#include "mq_output_stage.h"

/* Input code j of a row as x' (UINT8: x - 128; INT8: the signed byte). */
#define MQ_XU8(row, j) ((int32_t)(row)[j] - 128)
#define MQ_XS8(row, j) ((int32_t)(row)[j])

/* One k step of one input row against the 4 rows of a weight chunk (w points at the chunk, j in [0, 16)). */
#define MQ_STEP1(LOAD, j)                                   \
    do {                                                    \
        const int32_t xv = LOAD(xr, j);                     \
        a0 += (uint32_t)(xv * w[(j)]);                      \
        a1 += (uint32_t)(xv * w[16 + (j)]);                 \
        a2 += (uint32_t)(xv * w[32 + (j)]);                 \
        a3 += (uint32_t)(xv * w[48 + (j)]);                 \
    } while (0)

/* One k step of two input rows (xr, xq) sharing the weight loads. */
#define MQ_STEP2(LOAD, j)                                   \
    do {                                                    \
        const int32_t xv = LOAD(xr, j);                     \
        const int32_t xu = LOAD(xq, j);                     \
        int32_t wv = w[(j)];                                \
        a0 += (uint32_t)(xv * wv);                          \
        b0 += (uint32_t)(xu * wv);                          \
        wv = w[16 + (j)];                                   \
        a1 += (uint32_t)(xv * wv);                          \
        b1 += (uint32_t)(xu * wv);                          \
        wv = w[32 + (j)];                                   \
        a2 += (uint32_t)(xv * wv);                          \
        b2 += (uint32_t)(xu * wv);                          \
        wv = w[48 + (j)];                                   \
        a3 += (uint32_t)(xv * wv);                          \
        b3 += (uint32_t)(xu * wv);                          \
    } while (0)

#define MQ_UNROLL16(STEP, LOAD)                                                                     \
    STEP(LOAD, 0); STEP(LOAD, 1); STEP(LOAD, 2); STEP(LOAD, 3); STEP(LOAD, 4); STEP(LOAD, 5);       \
    STEP(LOAD, 6); STEP(LOAD, 7); STEP(LOAD, 8); STEP(LOAD, 9); STEP(LOAD, 10); STEP(LOAD, 11);     \
    STEP(LOAD, 12); STEP(LOAD, 13); STEP(LOAD, 14); STEP(LOAD, 15)

/* Dot products of one input row with one weight group: acc[0..3] += sum_k x'[k] * W[4g + r][k]. */
#define MQ_DOT1(xptr_type, LOAD)                                                                    \
    do {                                                                                            \
        const xptr_type *xr = (const xptr_type *)x0;                                                \
        int32_t c;                                                                                  \
        int32_t j;                                                                                  \
        for (c = 0; c < full_chunks; ++c) {                                                         \
            for (j = 0; j < 16; j += 4) {                                                           \
                MQ_STEP1(LOAD, j); MQ_STEP1(LOAD, j + 1); MQ_STEP1(LOAD, j + 2); MQ_STEP1(LOAD, j + 3); \
            }                                                                                       \
            xr += 16;                                                                               \
            w += 64;                                                                                \
        }                                                                                           \
        for (j = 0; j < tail; ++j) {                                                                \
            MQ_STEP1(LOAD, j);                                                                      \
        }                                                                                           \
    } while (0)

#define MQ_DOT2(xptr_type, LOAD)                                                                    \
    do {                                                                                            \
        const xptr_type *xr = (const xptr_type *)x0;                                                \
        const xptr_type *xq = (const xptr_type *)x1;                                                \
        int32_t c;                                                                                  \
        int32_t j;                                                                                  \
        for (c = 0; c < full_chunks; ++c) {                                                         \
            MQ_UNROLL16(MQ_STEP2, LOAD);                                                            \
            xr += 16;                                                                               \
            xq += 16;                                                                               \
            w += 64;                                                                                \
        }                                                                                           \
        for (j = 0; j < tail; ++j) {                                                                \
            MQ_STEP2(LOAD, j);                                                                      \
        }                                                                                           \
    } while (0)

/* Everything the output stage (mq_output_stage.h) needs, hoisted out of the row loop. */
typedef struct {
    mq_os_channel ch[4];
    mq_os_out o;
    int32_t count;     /* channels in this group: min(4, n - n0) */
    int32_t single;    /* p->single_rounding */
} mq_epilogue;

static void mq_epilogue_init(const mq_fc_params *p, int32_t n0, mq_epilogue *e)
{
    int32_t r;
    e->count = p->n - n0 < 4 ? p->n - n0 : 4;
    e->single = p->single_rounding;
    mq_os_out_init(&e->o, p->out_zero_point, p->act_min, p->act_max, p->lut);
    for (r = 0; r < 4; ++r) {
        const int32_t c = p->per_channel && r < e->count ? n0 + r : (p->per_channel ? n0 : 0);
        mq_os_channel_init(&e->ch[r], p->multiplier[c], p->shift[c]);
    }
}

/* The shared output stage of one accumulator (mq_output_stage.h: mq_os_requant + mq_os_finish). */
static inline uint8_t mq_out1(uint32_t acc, const mq_os_channel *q, const mq_epilogue *e)
{
    return mq_os_finish(mq_os_requant(acc, q), &e->o);
}

/* Single rounding (p->single_rounding): channels [n0, n0 + count) of one output row, out of line so that the
 * double-rounding stores stay as they were (mq_output_stage.h: mq_os_requant_single + mq_os_finish64). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void mq_store4_single(const mq_epilogue *e, const uint32_t a[4], uint8_t *orow)
{
    int32_t r;
    for (r = 0; r < e->count; ++r) {
        orow[r] = mq_os_finish64(mq_os_requant_single(a[r], &e->ch[r]), &e->o);
    }
}

/* Store channels [n0, n0 + count) of one output row (orow points at channel n0). */
static inline void mq_store4(const mq_epilogue *e, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                             uint8_t *orow)
{
    if (e->single) {
        const uint32_t a[4] = {a0, a1, a2, a3};
        mq_store4_single(e, a, orow);
        return;
    }
    orow[0] = mq_out1(a0, &e->ch[0], e);
    if (e->count > 1) {
        orow[1] = mq_out1(a1, &e->ch[1], e);
    }
    if (e->count > 2) {
        orow[2] = mq_out1(a2, &e->ch[2], e);
    }
    if (e->count > 3) {
        orow[3] = mq_out1(a3, &e->ch[3], e);
    }
}

#if defined(__OPTIMIZE_SIZE__)
/* Size-optimised build (-Os): one compact loop, same arithmetic and output stage, bit-identical results.
 * x' = (x ^ flip) - 128 with flip = 0x80 for INT8 codes (gives the signed byte) and 0 for UINT8 (x - 128). */
void mq_gemm_s8_n4k16_c(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                        uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const uint32_t flip = p->in_dtype == MQ_DTYPE_UINT8 ? 0u : 0x80u;
    int32_t n0;
    for (n0 = 0; n0 < n; n0 += 4) {
        const int8_t *wg = p->weights.packed + (size_t)(n0 >> 2) * group_bytes;
        mq_epilogue e;
        int32_t i;
        mq_epilogue_init(p, n0, &e);
        for (i = 0; i < m; ++i) {
            const uint8_t *xr = x + (ptrdiff_t)i * x_stride;
            uint32_t a0 = (uint32_t)p->bias.folded[n0];
            uint32_t a1 = e.count > 1 ? (uint32_t)p->bias.folded[n0 + 1] : 0u;
            uint32_t a2 = e.count > 2 ? (uint32_t)p->bias.folded[n0 + 2] : 0u;
            uint32_t a3 = e.count > 3 ? (uint32_t)p->bias.folded[n0 + 3] : 0u;
            int32_t kk;
            for (kk = 0; kk < k; ++kk) {
                const int8_t *w = wg + (size_t)(kk >> 4) * 64u + (size_t)(kk & 15);
                const int32_t xv = (int32_t)((uint32_t)xr[kk] ^ flip) - 128;
                a0 += (uint32_t)(xv * w[0]);
                a1 += (uint32_t)(xv * w[16]);
                a2 += (uint32_t)(xv * w[32]);
                a3 += (uint32_t)(xv * w[48]);
            }
            mq_store4(&e, a0, a1, a2, a3, out + (ptrdiff_t)i * out_stride + n0);
        }
    }
}
#else
void mq_gemm_s8_n4k16_c(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride,
                        uint8_t *out, int32_t out_stride)
{
    const int32_t n = p->n;
    const int32_t k = p->k;
    const int32_t full_chunks = k >> 4;
    const int32_t tail = k & 15;
    const size_t group_bytes = (size_t)((k + 15) >> 4) * 64u;
    const int is_u8 = p->in_dtype == MQ_DTYPE_UINT8;
    int32_t n0;

    for (n0 = 0; n0 < n; n0 += 4) {
        const int8_t *wg = p->weights.packed + (size_t)(n0 >> 2) * group_bytes;
        const uint32_t bias0 = (uint32_t)p->bias.folded[n0];
        const uint32_t bias1 = n0 + 1 < n ? (uint32_t)p->bias.folded[n0 + 1] : 0u;
        const uint32_t bias2 = n0 + 2 < n ? (uint32_t)p->bias.folded[n0 + 2] : 0u;
        const uint32_t bias3 = n0 + 3 < n ? (uint32_t)p->bias.folded[n0 + 3] : 0u;
        mq_epilogue e;
        int32_t i = 0;
        mq_epilogue_init(p, n0, &e);
        for (; i + 2 <= m; i += 2) {
            const uint8_t *x0 = x + (ptrdiff_t)i * x_stride;
            const uint8_t *x1 = x0 + x_stride;
            const int8_t *w = wg;
            uint32_t a0 = bias0, a1 = bias1, a2 = bias2, a3 = bias3;
            uint32_t b0 = bias0, b1 = bias1, b2 = bias2, b3 = bias3;
            if (is_u8) {
                MQ_DOT2(uint8_t, MQ_XU8);
            } else {
                MQ_DOT2(int8_t, MQ_XS8);
            }
            mq_store4(&e, a0, a1, a2, a3, out + (ptrdiff_t)i * out_stride + n0);
            mq_store4(&e, b0, b1, b2, b3, out + (ptrdiff_t)(i + 1) * out_stride + n0);
        }
        if (i < m) {
            const uint8_t *x0 = x + (ptrdiff_t)i * x_stride;
            const int8_t *w = wg;
            uint32_t a0 = bias0, a1 = bias1, a2 = bias2, a3 = bias3;
            if (is_u8) {
                MQ_DOT1(uint8_t, MQ_XU8);
            } else {
                MQ_DOT1(int8_t, MQ_XS8);
            }
            mq_store4(&e, a0, a1, a2, a3, out + (ptrdiff_t)i * out_stride + n0);
        }
    }
}
#endif /* __OPTIMIZE_SIZE__ */
