/*
 * mq_dw_s8_c: portable depthwise convolution microkernel (contract: mq_microkernels.h, mq_dw_run).
 *
 * Depth multiplier 1: groups of 4 channels (one tap pointer load feeds 4 MACs, 4 accumulators in registers),
 * the requantization constants of the group hoisted out of the pixel loop; a 3x3 kernel (9 taps) is a
 * compile-time trip count. Remaining channels and depth multipliers > 1: one channel at a time.
 * Weights are int16 [tap][out_c] (read with memcpy: no alignment or aliasing assumption), inputs are
 * the raw code values (INT8: signed byte, UINT8: 0..255) -- the input zero point is folded into the bias
 * (mq_depthwise_prepare_bias), padded taps read in_zero_point codes. Sums wrap modulo 2^32 (uint32).
 */
#include <string.h>

#include "mq_microkernels.h"

#include "mq_kernels_internal.h"
#include "mq_output_stage.h"

static inline int32_t mq_dw_w(const uint8_t *w16, size_t index)
{
    int16_t v;
    memcpy(&v, w16 + 2u * index, sizeof(v));
    return v;
}

#define MQ_DW_XS8(ptr) ((int32_t)(int8_t)(ptr)[0])
#define MQ_DW_XU8(ptr) ((int32_t)(ptr)[0])

/* One tap t of a group of 4 channels. */
#define MQ_DW_STEP(LOAD, t)                                                                           \
    do {                                                                                              \
        const uint8_t *x = tp[t] + off;                                                               \
        a0 += (uint32_t)(LOAD(x) * mq_dw_w(wq, 0));                                                   \
        a1 += (uint32_t)(LOAD(x + 1) * mq_dw_w(wq, 1));                                               \
        a2 += (uint32_t)(LOAD(x + 2) * mq_dw_w(wq, 2));                                               \
        a3 += (uint32_t)(LOAD(x + 3) * mq_dw_w(wq, 3));                                               \
        wq += ws;                                                                                     \
        MQ_OPAQUE(wq);                                                                                \
    } while (0)

/*
 * Groups of 4 channels, depth multiplier 1. NINE: the 3x3 kernel written out (9 taps). NEG: every shift of the
 * group <= -1, output stage by mq_os_requant_neg (constants derived per output, no set-up); else the general
 * mq_os_requant with the group's constants hoisted.
 */
#define MQ_DW_GROUP4(NAME, LOAD, NINE, NEG)                                                           \
    static void NAME(const mq_dw_run *r, int32_t c0, const mq_os_out *os)                             \
    {                                                                                                 \
        const mq_depthwise_params *p = r->p;                                                          \
        const int32_t cn = p->in_c;                                                                   \
        const int32_t ntaps = r->ntaps;                                                               \
        const uint8_t *w = (const uint8_t *)p->weights.data;                                               \
        const size_t ws = 2u * (size_t)cn;                                                            \
        const int32_t pc = p->per_channel;                                                            \
        const int32_t *mp = p->multiplier + (pc ? c0 : 0);                                            \
        const int32_t *sp = p->shift + (pc ? c0 : 0);                                                 \
        mq_os_channel q[4];                                                                           \
        int32_t i;                                                                                    \
        if (!NEG) {                                                                                   \
            for (i = 0; i < 4; ++i) {                                                                 \
                mq_os_channel_init(&q[i], mp[i * pc], sp[i * pc]);                                    \
            }                                                                                         \
        }                                                                                             \
        for (i = 0; i < r->npix; ++i) {                                                               \
            const size_t off = (size_t)c0;                                                            \
            const uint8_t *const *tp = r->taps + (size_t)i * (size_t)ntaps;                           \
            uint32_t a0 = (uint32_t)p->bias.folded[c0], a1 = (uint32_t)p->bias.folded[c0 + 1];                      \
            uint32_t a2 = (uint32_t)p->bias.folded[c0 + 2], a3 = (uint32_t)p->bias.folded[c0 + 3];                  \
            uint8_t *o = r->out + (size_t)i * (size_t)cn + (size_t)c0;                                \
            const uint8_t *wq = w + 2u * (size_t)c0;                                                  \
            if (NINE) {                                                                               \
                MQ_DW_STEP(LOAD, 0); MQ_DW_STEP(LOAD, 1); MQ_DW_STEP(LOAD, 2);                        \
                MQ_DW_STEP(LOAD, 3); MQ_DW_STEP(LOAD, 4); MQ_DW_STEP(LOAD, 5);                        \
                MQ_DW_STEP(LOAD, 6); MQ_DW_STEP(LOAD, 7); MQ_DW_STEP(LOAD, 8);                        \
            } else {                                                                                  \
                int32_t t;                                                                            \
                for (t = 0; t < ntaps; ++t) {                                                         \
                    MQ_DW_STEP(LOAD, t);                                                              \
                }                                                                                     \
            }                                                                                         \
            if (NEG) {                                                                                \
                o[0] = mq_os_finish(mq_os_requant_neg(mq_u32_to_i32(a0), mp[0], sp[0]), os);          \
                o[1] = mq_os_finish(mq_os_requant_neg(mq_u32_to_i32(a1), mp[pc], sp[pc]), os);        \
                o[2] = mq_os_finish(mq_os_requant_neg(mq_u32_to_i32(a2), mp[2 * pc], sp[2 * pc]), os); \
                o[3] = mq_os_finish(mq_os_requant_neg(mq_u32_to_i32(a3), mp[3 * pc], sp[3 * pc]), os); \
            } else {                                                                                  \
                o[0] = mq_os_finish(mq_os_requant(a0, &q[0]), os);                                    \
                o[1] = mq_os_finish(mq_os_requant(a1, &q[1]), os);                                    \
                o[2] = mq_os_finish(mq_os_requant(a2, &q[2]), os);                                    \
                o[3] = mq_os_finish(mq_os_requant(a3, &q[3]), os);                                    \
            }                                                                                         \
        }                                                                                             \
    }

#define MQ_DW_GROUPS(SUF, LOAD)                                \
    MQ_DW_GROUP4(mq_dw_g9n_##SUF, LOAD, 1, 1)                  \
    MQ_DW_GROUP4(mq_dw_g9_##SUF, LOAD, 1, 0)                   \
    MQ_DW_GROUP4(mq_dw_gkn_##SUF, LOAD, 0, 1)                  \
    MQ_DW_GROUP4(mq_dw_gk_##SUF, LOAD, 0, 0)

MQ_DW_GROUPS(s8, MQ_DW_XS8)
MQ_DW_GROUPS(u8, MQ_DW_XU8)

typedef void (*mq_dw_group_fn)(const mq_dw_run *, int32_t, const mq_os_out *);

void mq_dw_s8_c(const mq_dw_run *r, int32_t o_begin, int32_t o_end)
{
    const mq_depthwise_params *p = r->p;
    const int32_t mult = p->depth_multiplier;
    const int32_t out_c = p->in_c * mult;
    const uint8_t *w = (const uint8_t *)p->weights.data;
    const int u8 = p->in_dtype == MQ_DTYPE_UINT8;
    mq_os_out os;
    int32_t o = o_begin;
    mq_os_out_init(&os, p->out_zero_point, p->act_min, p->act_max, p->lut);
    if (mult == 1 && !p->single_rounding) {
        static const mq_dw_group_fn fns[2][2][2] = {{{mq_dw_gk_s8, mq_dw_gkn_s8}, {mq_dw_g9_s8, mq_dw_g9n_s8}},
                                                    {{mq_dw_gk_u8, mq_dw_gkn_u8}, {mq_dw_g9_u8, mq_dw_g9n_u8}}};
        const int nine = r->ntaps == 9;
        for (; o + 4 <= o_end; o += 4) {
            const int32_t *sp = p->shift + (p->per_channel ? o : 0);
            const int32_t pc = p->per_channel;
            const int neg = (sp[0] & sp[pc] & sp[2 * pc] & sp[3 * pc]) < 0;
            fns[u8][nine][neg](r, o, &os);
        }
    }
    for (; o < o_end; ++o) {
        const int32_t c = mult == 1 ? o : o / mult;
        const int32_t ch = p->per_channel ? o : 0;
        mq_os_channel q;
        int32_t i;
        mq_os_channel_init(&q, p->multiplier[ch], p->shift[ch]);
        for (i = 0; i < r->npix; ++i) {
            const uint8_t *const *tp = r->taps + (size_t)i * (size_t)r->ntaps;
            uint32_t acc = (uint32_t)p->bias.folded[o];
            int32_t t;
            for (t = 0; t < r->ntaps; ++t) {
                const uint8_t *x = tp[t] + c;
                const int32_t xv = u8 ? MQ_DW_XU8(x) : MQ_DW_XS8(x);
                acc += (uint32_t)(xv * mq_dw_w(w, (size_t)t * (size_t)out_c + (size_t)o));
            }
            /* single rounding (p->single_rounding): the same sum, the single-rounding output stage */
            r->out[(size_t)i * (size_t)out_c + (size_t)o] = p->single_rounding
                                                                ? mq_os_finish64(mq_os_requant_single(acc, &q), &os)
                                                                : mq_os_finish(mq_os_requant(acc, &q), &os);
        }
    }
}
