/*
 * x86-64 host GEMM microkernels (mq_gemm_s8_n4k16_sse2 / _avx2 / _avx512vnni and the run-time dispatcher
 * mq_gemm_s8_n4k16_x86): every variant this CPU can run is called DIRECTLY on the same random problems and
 * compared byte for byte with the portable kernel mq_gemm_s8_n4k16_c and with the int64 reference of
 * ref_gemm.h (written from the definition: original bias, (x - zp) * w, no packing or bias folding).
 * Shapes: k = 1, odd, 15/16/17, 640, 4096; n not a multiple of 4 (and fewer than 4 groups left in the
 * VNNI kernel's 4-group pass); batch 1..13 and 37 (the VNNI kernel's 4-row blocks, remainders, 32-row tiles),
 * 64..80 (its repacked K4N16 path); strided rows; uint8/int8 inputs; per-tensor/per-channel;
 * biases near and across the int32 limits (wrapping accumulators); random shifts; clamp; LUT epilogue;
 * and the vectorized output stages' edge cases with exact accumulators (test_x86_output_stage).
 * Every test runs twice: TFLite's double rounding, then single rounding (mq_fc_params.single_rounding, the QDQ
 * models' stage) against ref_single below (its vector form needs every shift <= -1: the tests draw both kinds).
 * Prints which variants ran. On hosts without the x86 kernels only the portable kernel is checked.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "mq_microkernels.h"
#include "ref_gemm.h"

typedef void (*gemm_fn)(const mq_fc_params *p, int32_t m, const uint8_t *x, int32_t x_stride, uint8_t *out,
                        int32_t out_stride);

typedef struct {
    const char *name;
    gemm_fn fn;
} variant;

/* 1: the problems run with single rounding (p.single_rounding = 1) against ref_single */
static int g_single;

/* Single rounding from its definition (docs/QUANTIZATION.md section 3): acc * M * 2^(shift - 31) rounded once, ties
 * toward +infinity, floor((acc * M + 2^(30 - shift)) / 2^(31 - shift)) in int64 (|acc * M| < 2^62), saturated. */
static int32_t ref_single(int32_t acc, int32_t mult, int32_t shift)
{
    const int e = 31 - shift;
    const int64_t v = ref_floor_div_pow2((int64_t)acc * (int64_t)mult + ((int64_t)1 << (e - 1)), e);
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* The expected byte of a wrapped accumulator acc of channel row (g_single: single rounding). */
static uint8_t expect_byte(const ref_problem *q, int32_t acc, int32_t row)
{
    const int32_t c = q->per_channel ? row : 0;
    const int64_t v = (int64_t)q->out_zp + (g_single ? ref_single(acc, q->mult[c], q->shift[c])
                                                     : ref_requantize(acc, q->mult[c], q->shift[c]));
    const int32_t vc = (int32_t)(v < q->act_min ? q->act_min : (v > q->act_max ? q->act_max : v));
    return q->use_lut ? q->lut[ref_byte(vc)] : ref_byte(vc);
}

/* ref_dot_out (ref_gemm.h) with the rounding of g_single: the unfolded int64 dot product, wrapped to int32. */
static uint8_t expect_dot(const ref_problem *q, const uint8_t *codes, int32_t row)
{
    int64_t acc = q->bias[row];
    int32_t kk;
    if (!g_single) {
        return ref_dot_out(q, codes, row);
    }
    for (kk = 0; kk < q->k; ++kk) {
        acc += (int64_t)(ref_code(codes[kk], q->in_u8) - q->in_zp) * (int64_t)q->w[(size_t)row * (size_t)q->k + (size_t)kk];
    }
    return expect_byte(q, ref_wrap32(acc), row);
}

static variant g_variants[6];
static int g_nvariants;
static long g_checked[6];

static void pick_variants(void)
{
    g_nvariants = 0;
    g_variants[g_nvariants].name = "c";
    g_variants[g_nvariants++].fn = mq_gemm_s8_n4k16_c;
#if defined(MQ_X86_HOST_KERNELS)
    g_variants[g_nvariants].name = "sse2";
    g_variants[g_nvariants++].fn = mq_gemm_s8_n4k16_sse2;
    if (mq_gemm_s8_n4k16_x86_supported("avx2")) {
        g_variants[g_nvariants].name = "avx2";
        g_variants[g_nvariants++].fn = mq_gemm_s8_n4k16_avx2;
    } else {
        printf("test_gemm_x86: this CPU has no AVX2: mq_gemm_s8_n4k16_avx2 not run\n");
    }
    if (mq_gemm_s8_n4k16_x86_supported("avx512vnni")) {
        g_variants[g_nvariants].name = "avx512vnni";
        g_variants[g_nvariants++].fn = mq_gemm_s8_n4k16_avx512vnni;
    } else {
        printf("test_gemm_x86: this CPU has no AVX-512 VNNI: mq_gemm_s8_n4k16_avx512vnni not run\n");
    }
    g_variants[g_nvariants].name = "dispatch";
    g_variants[g_nvariants++].fn = mq_gemm_s8_n4k16_x86;
#else
    printf("test_gemm_x86: no x86-64 host kernels in this build; only the portable kernel is checked\n");
#endif
}

/* One problem: m rows (row stride k + pad_x; pad_x = -k gives stride 0, every row the same codes, as
 * mq_conv1x1 calls it for padded pixels), n outputs (row stride n + pad_o), all variants vs reference. */
static void run_problem(ref_rng *r, int32_t m, int32_t n, int32_t k, const ref_options *o, int32_t pad_x,
                        int32_t pad_o)
{
    ref_problem q;
    const int32_t xs = k + pad_x;
    const int32_t os = n + pad_o;
    uint8_t *x, *y, *yc, *expect;
    int32_t i, c;
    int v;
    if (!ref_problem_init(&q, r, n, k, o)) {
        ref_problem_free(&q);
        return;
    }
    q.p.single_rounding = g_single;
    const size_t x_bytes = (size_t)(m - 1) * (size_t)xs + (size_t)k;
    x = (uint8_t *)malloc(x_bytes);
    y = (uint8_t *)malloc((size_t)m * (size_t)os);
    yc = (uint8_t *)malloc((size_t)m * (size_t)os);
    expect = (uint8_t *)malloc((size_t)m * (size_t)n);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(yc);
    assert_non_null(expect);
    ref_fill_codes(r, x, x_bytes);
    for (i = 0; i < m; ++i) {
        for (c = 0; c < n; ++c) {
            expect[(size_t)i * (size_t)n + (size_t)c] = expect_dot(&q, x + (size_t)i * (size_t)xs, c);
        }
    }
    memset(yc, 0xA5, (size_t)m * (size_t)os);
    mq_gemm_s8_n4k16_c(&q.p, m, x, xs, yc, os);
    for (v = 0; v < g_nvariants; ++v) {
        memset(y, 0xA5, (size_t)m * (size_t)os);
        g_variants[v].fn(&q.p, m, x, xs, y, os);
        for (i = 0; i < m; ++i) {
            for (c = 0; c < os; ++c) {
                const size_t at = (size_t)i * (size_t)os + (size_t)c;
                if (c >= n) {
                    if (y[at] != 0xA5) {
                        fail_msg("%s m=%d n=%d k=%d row %d: wrote past n at column %d", g_variants[v].name, m, n, k,
                                 i, c);
                    }
                    continue;
                }
                if (y[at] != expect[(size_t)i * (size_t)n + (size_t)c] || y[at] != yc[at]) {
                    fail_msg("%s m=%d n=%d k=%d row %d ch %d: got %u, reference %u, portable %u (in_u8=%d zp=%d "
                             "pc=%d lut=%d bias_mode=%d shift_mode=%d single=%d)",
                             g_variants[v].name, m, n, k, i, c, y[at], expect[(size_t)i * (size_t)n + (size_t)c],
                             yc[at], o->in_u8, q.in_zp, o->per_channel, o->use_lut, o->bias_mode, o->shift_mode,
                             g_single);
                }
                ++g_checked[v];
            }
        }
    }
    free(x);
    free(y);
    free(yc);
    free(expect);
    ref_problem_free(&q);
}

static void test_x86_shapes(void **state)
{
    static const int32_t ks[] = {1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 127, 640, 4096};
    static const int32_t ns[] = {1, 3, 4, 5, 7, 8, 13, 16, 17, 20, 33, 64, 100}; /* 100: two K4N16 slices */
    /* >= 4: the VNNI multi-row path (4-row blocks, 32-row tiles); >= 64: its repacked K4N16 path */
    static const int32_t ms[] = {1, 2, 3, 5, 4, 8, 11, 37, 64, 70};
    ref_rng r = {0x5eed86u};
    size_t a, b, c;
    (void)state;
    for (a = 0; a < sizeof(ks) / sizeof(ks[0]); ++a) {
        for (b = 0; b < sizeof(ns) / sizeof(ns[0]); ++b) {
            for (c = 0; c < sizeof(ms) / sizeof(ms[0]); ++c) {
                const ref_options o = ref_random_options(&r);
                if ((ks[a] >= 640 && (ns[b] > 17 || ms[c] > 2)) || (ms[c] > 5 && ks[a] > 127 && ns[b] > 8) ||
                    (ms[c] >= 64 && ks[a] > 640)) {
                    continue; /* keep the big-k cases quick (the reference is O(m n k)) */
                }
                const int64_t stride_mode = ref_range(&r, 0, 3);
                run_problem(&r, ms[c], ns[b], ks[a], &o,
                            stride_mode == 0 ? -ks[a] : (stride_mode == 1 ? 5 : 0), (int32_t)ref_range(&r, 0, 1) * 3);
            }
        }
    }
}

/* Every combination of input dtype x per-channel x LUT x bias mode (including wrapping accumulators). */
static void test_x86_modes(void **state)
{
    ref_rng r = {0xc0ffee86u};
    int in_u8, pc, lut, bias_mode, shift_mode, rep;
    (void)state;
    for (in_u8 = 0; in_u8 <= 1; ++in_u8) {
        for (pc = 0; pc <= 1; ++pc) {
            for (lut = 0; lut <= 1; ++lut) {
                for (bias_mode = 0; bias_mode <= 3; ++bias_mode) {
                    for (shift_mode = 0; shift_mode <= 1; ++shift_mode) {
                        for (rep = 0; rep < 3; ++rep) {
                            ref_options o = ref_random_options(&r);
                            o.in_u8 = in_u8;
                            o.per_channel = pc;
                            o.use_lut = lut;
                            o.bias_mode = bias_mode;
                            o.shift_mode = shift_mode;
                            o.w_mode = rep == 2 ? 1 : 0;
                            run_problem(&r, rep == 1 ? (int32_t)ref_range(&r, 64, 80) : (int32_t)ref_range(&r, 1, 13),
                                        (int32_t)ref_range(&r, 1, 40),
                                        (int32_t)ref_range(&r, 1, 300), &o, 0, 0);
                        }
                    }
                }
            }
        }
    }
}

/* k = 4096 with every weight and code at the extremes (largest |dot|), both input dtypes. */
static void test_x86_extremes(void **state)
{
    ref_rng r = {0xe8e8e8u};
    int in_u8;
    (void)state;
    for (in_u8 = 0; in_u8 <= 1; ++in_u8) {
        ref_options o = ref_random_options(&r);
        o.in_u8 = in_u8;
        o.w_mode = 1;
        o.bias_mode = 3;
        run_problem(&r, 2, 9, 4096, &o, 0, 0);
        run_problem(&r, 1, 5, 4095, &o, 1, 1);
        run_problem(&r, 6, 9, 4096, &o, 0, 0);
        run_problem(&r, 5, 5, 4095, &o, 1, 1);
        run_problem(&r, 66, 9, 4096, &o, 0, 0);  /* the K4N16 path, its repacked weights at the 64 KiB limit */
        run_problem(&r, 65, 5, 4095, &o, 1, 1);
        run_problem(&r, 64, 17, 4095, &o, 0, 0); /* past the limit: the 4-row path */
    }
}

/* Output-stage edge cases, exact: all weights zero, so every accumulator is exactly its bias (any k, any
 * input codes), and the biases, multipliers and shifts are picked per channel: accumulators at and next to
 * INT32_MIN / INT32_MAX / 0 / +-2^30, every shift in [-31, 30], multipliers of the contract (0, 2^30,
 * 2^30 + 1, 3 * 2^29, INT32_MAX - 1, INT32_MAX, random Q31), and accumulators built to hit exact rounding
 * ties of SRDHM (odd a with M = 2^30) and of RDBPOT (+-(2t+1) * 2^e with M = 2^30: SRDHM = a / 2 exactly).
 * Per-channel and per-tensor, n not a multiple of 16 (vector tails), LUT on/off, random zero point and clamp;
 * checked against the int64 reference and the portable kernel.
 * "Wide" problems also use multipliers outside the kernels' contract (1, -2^30, INT32_MIN + 1, INT32_MIN:
 * mq_fc_params_check rejects them and the portable kernel assumes M >= 2^30 or 0) to reach mq_srdhm's
 * INT32_MIN * INT32_MIN saturation and negative products; the vector output stages of the avx2 / avx512vnni
 * kernels compute mq_requantize for any int32 multiplier, so only they are checked there, against the
 * reference. The test counts the ties and saturations it produced (from the reference's own arithmetic)
 * and requires them. */
static long g_srdhm_ties, g_rdbpot_ties, g_saturations, g_single_ties;

static int32_t edge_acc(ref_rng *r, int32_t mult, int32_t shift)
{
    static const int32_t special[] = {INT32_MIN, INT32_MIN + 1, -1073741824, -1, 0, 1, 1073741824,
                                      INT32_MAX - 1, INT32_MAX, -2, 2, 3, -3};
    const int64_t pick = ref_range(r, 0, 5);
    const int32_t e = shift < 0 ? -shift : 0;
    if (pick == 0) {
        return special[ref_range(r, 0, (int64_t)(sizeof(special) / sizeof(special[0])) - 1)];
    }
    if (pick == 1 && mult == INT32_MIN && e > 0) {
        /* SRDHM(a, INT32_MIN) = -a exactly (a != INT32_MIN): RDBPOT tie at a = +-(2t+1) * 2^(e-1) */
        const int64_t t = ref_range(r, 0, e >= 30 ? 0 : ((int64_t)1 << (30 - e)) - 1);
        const int64_t v = (2 * t + 1) * ((int64_t)1 << (e - 1));
        return (int32_t)(ref_range(r, 0, 1) ? v : -v);
    }
    if (pick == 1 && mult == 1073741824 && e > 0 && e <= 30) {
        /* SRDHM(a, 2^30) = a / 2 exactly for even a: RDBPOT tie at a = +-(2t+1) * 2^e */
        const int64_t t = ref_range(r, 0, e >= 29 ? 0 : ((int64_t)1 << (29 - e)) - 1);
        const int64_t v = (2 * t + 1) * ((int64_t)1 << e);
        return (int32_t)(ref_range(r, 0, 1) ? v : -v);
    }
    if (pick == 2) {
        /* small values: outputs near the zero point after any shift */
        return (int32_t)ref_range(r, -300, 300);
    }
    return (int32_t)ref_range(r, INT32_MIN, INT32_MAX);
}

static int32_t edge_mult(ref_rng *r, int wide)
{
    static const int32_t special[] = {0, 1073741824, 1073741825, 3 << 29, INT32_MAX - 1, INT32_MAX,
                                      1, -1073741824, INT32_MIN + 1, INT32_MIN};
    const int64_t pick = ref_range(r, 0, wide ? 13 : 9);
    return pick < 6 ? special[pick] : (pick < 10 ? ref_multiplier(r) : special[pick - 4]);
}

static void note_ties(int32_t acc, int32_t mult, int32_t shift)
{
    if (g_single) {
        /* single rounding's tie: acc * M an odd multiple of 2^(30 - shift) */
        const int e = 31 - shift;
        const int64_t prod = (int64_t)acc * (int64_t)mult;
        if (prod - ref_floor_div_pow2(prod, e) * ((int64_t)1 << e) == ((int64_t)1 << (e - 1))) {
            ++g_single_ties;
        }
        return;
    }
    const int left = shift > 0 ? shift : 0;
    const int e = shift > 0 ? 0 : -shift;
    const int32_t a = ref_wrap32((int64_t)acc * ((int64_t)1 << left));
    const int64_t ab = (int64_t)a * (int64_t)mult;
    int32_t x;
    if (a == INT32_MIN && mult == INT32_MIN) {
        ++g_saturations;
    } else if ((ab % ((int64_t)1 << 31) + ((int64_t)1 << 31)) % ((int64_t)1 << 31) == ((int64_t)1 << 30)) {
        ++g_srdhm_ties;
    }
    x = ref_srdhm(a, mult);
    if (e > 0 && ((int64_t)x - ref_floor_div_pow2(x, e) * ((int64_t)1 << e)) == ((int64_t)1 << (e - 1))) {
        ++g_rdbpot_ties;
    }
}

static void run_edge_problem(ref_rng *r, int32_t n, int per_channel, int32_t fixed_shift, int32_t fixed_mult,
                             int wide)
{
    const int32_t k = (int32_t)ref_range(r, 1, 40);
    const int32_t m = ref_range(r, 0, 3) == 0 ? (int32_t)ref_range(r, 64, 70) : (int32_t)ref_range(r, 1, 9);
    const int out_u8 = (int)ref_range(r, 0, 1);
    const int32_t out_lo = out_u8 ? 0 : -128, out_hi = out_u8 ? 255 : 127;
    const size_t wbytes = mq_packed_weights_size_n4k16(n, k);
    int8_t *w = (int8_t *)calloc(wbytes, 1);
    int32_t *bias = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    int32_t *mult = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    int32_t *shift = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    uint8_t *x = (uint8_t *)malloc((size_t)m * (size_t)k);
    uint8_t *y = (uint8_t *)malloc((size_t)m * (size_t)n);
    uint8_t *yc = (uint8_t *)malloc((size_t)m * (size_t)n);
    uint8_t lut[256];
    mq_fc_params p;
    int32_t c, i;
    int v;
    assert_true(w && bias && mult && shift && x && y && yc);
    /* single rounding: half the per-channel problems with every shift <= -1 (the kernels' vector stage) */
    const int32_t shift_hi = g_single && ref_range(r, 0, 1) ? -1 : MQ_SHIFT_MAX;
    for (c = 0; c < n; ++c) {
        mult[c] = per_channel ? edge_mult(r, wide) : fixed_mult;
        shift[c] = per_channel ? (int32_t)ref_range(r, MQ_SHIFT_MIN, shift_hi) : fixed_shift;
    }
    for (c = 0; c < n; ++c) {
        const int32_t ch = per_channel ? c : 0;
        bias[c] = edge_acc(r, mult[ch], shift[ch]);
        note_ties(bias[c], mult[ch], shift[ch]);
    }
    for (i = 0; i < 256; ++i) {
        lut[i] = (uint8_t)ref_range(r, 0, 255);
    }
    ref_fill_codes(r, x, (size_t)m * (size_t)k);
    memset(&p, 0, sizeof(p));
    p.n = n;
    p.k = k;
    p.weights.packed = w;
    p.bias.folded = bias;
    p.multiplier = mult;
    p.shift = shift;
    p.per_channel = per_channel;
    p.in_dtype = ref_range(r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.out_dtype = out_u8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.out_zero_point = (int32_t)ref_range(r, out_lo, out_hi);
    p.act_min = ref_range(r, 0, 2) == 0 ? (int32_t)ref_range(r, out_lo, out_hi) : out_lo;
    p.act_max = ref_range(r, 0, 2) == 0 ? (int32_t)ref_range(r, p.act_min, out_hi) : out_hi;
    p.lut = ref_range(r, 0, 3) == 0 ? lut : NULL;
    p.single_rounding = g_single;
    mq_gemm_s8_n4k16_c(&p, m, x, k, yc, n);
    for (v = 0; v < g_nvariants; ++v) {
        if (wide && strcmp(g_variants[v].name, "avx2") != 0 && strcmp(g_variants[v].name, "avx512vnni") != 0) {
            continue;
        }
        memset(y, 0xA5, (size_t)m * (size_t)n);
        g_variants[v].fn(&p, m, x, k, y, n);
        for (i = 0; i < m; ++i) {
            for (c = 0; c < n; ++c) {
                const int32_t ch = per_channel ? c : 0;
                const int64_t val = (int64_t)p.out_zero_point + (g_single ? ref_single(bias[c], mult[ch], shift[ch])
                                                                          : ref_requantize(bias[c], mult[ch], shift[ch]));
                const int32_t vc = (int32_t)(val < p.act_min ? p.act_min : (val > p.act_max ? p.act_max : val));
                const uint8_t want = p.lut != NULL ? lut[ref_byte(vc)] : ref_byte(vc);
                const size_t at = (size_t)i * (size_t)n + (size_t)c;
                if (y[at] != want || (!wide && yc[at] != want)) {
                    fail_msg("%s edge n=%d k=%d row %d ch %d: acc %d M %d shift %d zp %d clamp [%d, %d] lut %d: "
                             "got %u, reference %u, portable %u",
                             g_variants[v].name, n, k, i, c, bias[c], mult[ch], shift[ch], p.out_zero_point,
                             p.act_min, p.act_max, p.lut != NULL, y[at], want, yc[at]);
                }
                ++g_checked[v];
            }
        }
    }
    free(w);
    free(bias);
    free(mult);
    free(shift);
    free(x);
    free(y);
    free(yc);
}

static void test_x86_output_stage(void **state)
{
    static const int32_t mults[] = {0, 1073741824, 1073741825, 3 << 29, INT32_MAX - 1, INT32_MAX, 1518500250};
    static const int32_t wide_mults[] = {1, -1073741824, INT32_MIN + 1, INT32_MIN};
    ref_rng r = {0x0e5a9e86u};
    int32_t s, rep;
    size_t j;
    (void)state;
    /* per tensor: every shift x every special multiplier (wide multipliers: double rounding only, the single-rounding
     * stages assume the contract's M >= 0) */
    for (s = MQ_SHIFT_MIN; s <= MQ_SHIFT_MAX; ++s) {
        for (j = 0; j < sizeof(mults) / sizeof(mults[0]); ++j) {
            run_edge_problem(&r, (int32_t)ref_range(&r, 1, 70), 0, s, mults[j], 0);
        }
        for (j = 0; !g_single && j < sizeof(wide_mults) / sizeof(wide_mults[0]); ++j) {
            run_edge_problem(&r, (int32_t)ref_range(&r, 1, 70), 0, s, wide_mults[j], 1);
        }
    }
    /* per channel: random shift and multiplier per channel */
    for (rep = 0; rep < 600; ++rep) {
        run_edge_problem(&r, (int32_t)ref_range(&r, 1, 70), 1, 0, 0, 0);
        if (!g_single) {
            run_edge_problem(&r, (int32_t)ref_range(&r, 1, 70), 1, 0, 0, 1);
        }
    }
    if (g_single) {
        printf("test_gemm_x86: single-rounding output stage edges: %ld ties\n", g_single_ties);
        assert_true(g_single_ties > 100);
        return;
    }
    printf("test_gemm_x86: output stage edges: %ld SRDHM ties, %ld RDBPOT ties, %ld INT32_MIN*INT32_MIN\n",
           g_srdhm_ties, g_rdbpot_ties, g_saturations);
    assert_true(g_srdhm_ties > 100);
    assert_true(g_rdbpot_ties > 100);
    assert_true(g_saturations > 5);
}

/* The same tests with single rounding. */
static void test_x86_single(void **state)
{
    g_single = 1;
    test_x86_shapes(state);
    test_x86_modes(state);
    test_x86_extremes(state);
    test_x86_output_stage(state);
    g_single = 0;
}

static void test_x86_report(void **state)
{
    int v;
    (void)state;
    for (v = 0; v < g_nvariants; ++v) {
        printf("test_gemm_x86: %-10s %ld outputs checked, 0 mismatches\n", g_variants[v].name, g_checked[v]);
        assert_true(g_checked[v] > 1000);
    }
#if defined(MQ_X86_HOST_KERNELS)
    printf("test_gemm_x86: the dispatcher runs %s\n", mq_gemm_s8_n4k16_x86_name());
    assert_true(mq_gemm_s8_n4k16_x86_supported(mq_gemm_s8_n4k16_x86_name()));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x86_shapes),
        cmocka_unit_test(test_x86_modes),
        cmocka_unit_test(test_x86_extremes),
        cmocka_unit_test(test_x86_output_stage),
        cmocka_unit_test(test_x86_single),
        cmocka_unit_test(test_x86_report),
    };
    pick_variants();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
