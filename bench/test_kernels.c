/*
 * MicroQuant bench/: fast-path kernel test firmware (scripts/test-kernels-qemu.sh).
 *
 * On the QEMU core it was built for, compares the dispatched microkernels (MQ_GEMM_S8_N4K16,
 * MQ_LUT_U8: the v7m (M3), DSP, MVE or portable variant chosen for this core) against the portable
 * mq_gemm_s8_n4k16_c / mq_lut_u8_c AND against an independent int64 reference (mq_bench_ref.h),
 * over randomized shapes: k = 1, odd k, k = 640, n not a multiple of 4, batch > 1, strided rows,
 * UINT8 and INT8 inputs, per-tensor and per-channel requantization over the whole shift range,
 * accumulators that wrap, clamps, the LUT epilogue. Guard bytes around every output row must stay
 * untouched. LUT: every length 0..67 and 4096 at every alignment, in place and not.
 * Prints one line per failure and a summary; exit status (semihosting) = 0 only if all passed.
 */
#include <stdio.h>
#include <string.h>

#include "mq_bench_ref.h"
#include "microquant/mq_kernels.h"
#include "mq_microkernels.h"
#include "pool/mq_pool_internal.h"
#include "add/mq_add_internal.h"

#define MAX_M 5
/* the buffers hold MAX_M_BIG rows: the focused multi-block trials of the DSP pair loop (blocks of 4096 / (4 k) pairs) */
#define MAX_M_BIG 72
#define MAX_N 70
#define MAX_K 640
#define MAX_XS (MAX_K + 3)
#define MAX_OS (MAX_N + 3)
#define GUARD 0xA5u

static int8_t w_rows[MAX_N * MAX_K];
static int8_t w_packed[((MAX_N + 3) / 4) * 4 * ((MAX_K + 15) / 16) * 16];
static int32_t bias[MAX_N], mult[MAX_N], shift[MAX_N];
static uint8_t lut[256];
static uint8_t xin[MAX_M_BIG * MAX_XS + 4];
static uint8_t out_fast[MAX_M_BIG * MAX_OS + 8], out_port[MAX_M_BIG * MAX_OS + 8], out_ref[MAX_M_BIG * MAX_OS + 8];
static uint8_t out_row[MAX_M_BIG * MAX_OS + 8];
static unsigned row_checks, row_ready; /* prepared batch-1 rows checked; how many took the prepared (DSP GEMV) path */
/* mq_conv1x1_inplace on the case's rows (n <= k, m * k <= IP_MAX): checked cases, and how many of them took the
 * one-call path writing straight over the input (MQ_GEMM_IN_PLACE); its buffer and scratch are the pool test's
 * (pool_in, pool_fast: the M55 test image has no RAM for more) */
#define IP_MAX 16376
static unsigned ip_checks, ip_direct;

static uint32_t seed = 0x2545F491u;
static unsigned failures;
/* Set for the focused trials of the DSP assembly pair loop's domain (k % 16 == 0, m >= 2):
 * shifts in [-21, -1] (E = 1 and E = 21 edges included), half of them with small data. */
static int focus_full;
/* >= 0: focus_full shifts except this channel's (and, every other trial, one more channel's), >= 0: the DSP GEMV loop
 * stops before that group and the caller's paths do the rest (gemm_tests' batch-1 stop trials) */
static int32_t stop_channel = -1;
/* Set for the focused LUT trials: full clamp range (act_min/act_max = the output dtype's range), so the
 * pair loop takes its full-range LUT epilogue (INT8 outputs: lo = -128, the table index wraps mod 256). */
static int force_full_range;
/* Set for the focused whole-type clamp trials: act_min / act_max = the output dtype's range, no LUT, the output zero
 * point at the type's minimum in 3 of 4 cases (ReLU: UINT8 zero point 0, INT8 zero point -128; the DSP pair loop's
 * variants without the sign correction, the INT8 one with SSAT), random otherwise. */
static int force_whole_type;
static unsigned checks;
/* 1: the GEMM / conv / depthwise cases run with single rounding (mq_fc_params.single_rounding, the QDQ models' output
 * stage) against the independent single-rounding references (mq_ref_requant_single, ref_requantize_single64) */
static int single_mode;

static const int32_t k_list[] = {1, 2, 3, 4, 5, 7, 12, 15, 16, 17, 19, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 255, 640};

static int32_t pick_shift(void)
{
    switch (mq_ref_rand(&seed) % 4u) {
    case 0:
        return mq_ref_range(&seed, MQ_SHIFT_MIN, MQ_SHIFT_MAX); /* whole range, incl. left shifts that wrap */
    case 1:
        return mq_ref_range(&seed, -2, 1); /* E = 0, 1, 2 and L = 1 edges */
    default:
        return mq_ref_range(&seed, -14, -3); /* realistic layers */
    }
}

static int32_t pick_mult(void)
{
    const uint32_t r = mq_ref_rand(&seed) % 16u;
    if (r == 0u) {
        return 0;
    }
    if (r == 1u) {
        return INT32_MAX;
    }
    if (r == 2u) {
        return 1 << 30;
    }
    return (int32_t)(0x40000000u | (mq_ref_rand(&seed) & 0x3FFFFFFFu));
}

static int32_t pick_bias(void)
{
    switch (mq_ref_rand(&seed) % 4u) {
    case 0:
        return (int32_t)mq_ref_rand(&seed); /* anywhere: sums wrap */
    case 1:
        return INT32_MAX - mq_ref_range(&seed, 0, 20000);
    default:
        return mq_ref_range(&seed, -40000, 40000);
    }
}

static void inplace_case(const mq_fc_params *p, int32_t m, int32_t xs, int32_t os, int trial);

static void gemm_case(int32_t m, int32_t n, int32_t k, mq_dtype in_dtype, int per_channel, int use_lut, int trial)
{
    mq_fc_params p;
    /* x_stride 0 (every row reads the same pixel: mq_conv1x1's padded pixels) in some focused trials */
    const int32_t xs = focus_full && (mq_ref_rand(&seed) % 4u) == 0u ? 0 : k + mq_ref_range(&seed, 0, 3);
    const int32_t os = n + mq_ref_range(&seed, 0, 3);
    const uint32_t wmode = mq_ref_rand(&seed) % 4u;
    int32_t i, c;
    size_t b;
    const size_t out_bytes = (size_t)m * (size_t)os + 8u;

    for (i = 0; i < n * k; i++) {
        w_rows[i] = wmode == 0u ? (int8_t)(mq_ref_rand(&seed) & 1u ? 127 : -128) : (int8_t)mq_ref_rand(&seed);
    }
    if (focus_full && (wmode & 2u) != 0u) {
        /* sparse +-1 weights, small biases: unsaturated outputs at every E, where the rounding
         * (incl. the sign correction of negative accumulators) decides the code */
        for (i = 0; i < n * k; i++) {
            const uint32_t r = mq_ref_rand(&seed);
            w_rows[i] = (int8_t)((r & 7u) != 0u ? 0 : (r & 8u) ? 1 : -1);
        }
    }
    mq_ref_pack(w_rows, n, k, w_packed);
    for (c = 0; c < n; c++) {
        bias[c] = focus_full && (wmode & 2u) != 0u ? mq_ref_range(&seed, -300, 300) : pick_bias();
        mult[c] = pick_mult();
        shift[c] = pick_shift();
        if (focus_full) {
            const uint32_t r = mq_ref_rand(&seed) % 4u;
            shift[c] = r == 0u ? -1 : r == 1u ? -21 : mq_ref_range(&seed, -21, -1);
        }
    }
    if (stop_channel >= 0 && stop_channel < n) {
        shift[stop_channel] = mq_ref_range(&seed, 0, MQ_SHIFT_MAX);
        if ((trial & 1) != 0) {
            c = mq_ref_range(&seed, stop_channel, n - 1);
            shift[c] = mq_ref_range(&seed, 0, 2);
        }
    }
    for (b = 0; b < (size_t)m * MAX_XS + 4u; b++) { /* the rows this case reads (xs <= k + 3) */
        xin[b] = wmode == 1u ? (uint8_t)(mq_ref_rand(&seed) & 1u ? 0u : 255u) : (uint8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < 256; i++) {
        lut[i] = (uint8_t)mq_ref_rand(&seed);
    }
    memset(&p, 0, sizeof(p));
    p.n = n;
    p.k = k;
    p.weights.packed = w_packed;
    p.bias.folded = bias;
    p.multiplier = mult;
    p.shift = shift;
    p.per_channel = per_channel;
    p.in_dtype = in_dtype;
    p.out_dtype = (mq_ref_rand(&seed) & 1u) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.out_zero_point = mq_ref_range(&seed, mq_dtype_min(p.out_dtype), mq_dtype_max(p.out_dtype));
    if ((mq_ref_rand(&seed) & 1u) || force_full_range) {
        p.act_min = mq_dtype_min(p.out_dtype);
        p.act_max = mq_dtype_max(p.out_dtype);
    } else if (mq_ref_rand(&seed) & 1u) {
        p.act_min = mq_ref_range(&seed, mq_dtype_min(p.out_dtype), p.out_zero_point);
        p.act_max = mq_ref_range(&seed, p.act_min, mq_dtype_max(p.out_dtype));
    } else {
        /* the clamp's lower end at or above the zero point (ReLU: act_min = out_zero_point; zl <= 0, where the DSP
         * pair loop leaves out the sign correction), two thirds exactly ReLU */
        const uint32_t r = mq_ref_rand(&seed) % 3u;
        if (r == 0u) {
            /* ReLU with the zero point at the type's minimum (a UINT8 ReLU layer: act_min = 0, the whole byte) */
            p.out_zero_point = mq_dtype_min(p.out_dtype);
        }
        p.act_min = r < 2u ? p.out_zero_point
                           : mq_ref_range(&seed, p.out_zero_point, mq_dtype_max(p.out_dtype));
        p.act_max = r == 0u ? mq_dtype_max(p.out_dtype) : mq_ref_range(&seed, p.act_min, mq_dtype_max(p.out_dtype));
    }
    if (force_whole_type) {
        const int32_t zmin = mq_dtype_min(p.out_dtype), zmax = mq_dtype_max(p.out_dtype);
        p.out_zero_point = (mq_ref_rand(&seed) % 4u) != 0u ? zmin : mq_ref_range(&seed, zmin, zmax);
        p.act_min = mq_dtype_min(p.out_dtype);
        p.act_max = mq_dtype_max(p.out_dtype);
    }
    p.lut = use_lut ? lut : NULL;
    p.single_rounding = single_mode;

    memset(out_fast, GUARD, out_bytes);
    memset(out_port, GUARD, out_bytes);
    memset(out_ref, GUARD, out_bytes);
    /* Output rows start 4 bytes in, so a write before the row would hit a guard too. */
    MQ_GEMM_S8_N4K16(&p, m, xin, xs, out_fast + 4, os);
    mq_gemm_s8_n4k16_c(&p, m, xin, xs, out_port + 4, os);
    mq_ref_gemm(&p, w_rows, m, xin, xs, out_ref + 4, os);
    checks++;
    if (m == 1) {
        /* the prepared batch-1 row (MQ_GEMM_ROW: the pixel-streamed chain's 1x1 convolutions) */
        const int32_t ready = MQ_GEMM_ROW_READY(&p);
        size_t r;
        memset(out_row, GUARD, out_bytes);
        MQ_GEMM_ROW(&p, ready, xin, out_row + 4);
        row_checks++;
        row_ready += ready != 0;
        for (r = 0; r < out_bytes; r++) {
            const uint8_t want = (r >= 4u && r - 4u < (size_t)n) ? out_ref[r] : (uint8_t)GUARD;
            if (out_row[r] != want) {
                failures++;
                printf("FAIL gemm row%s trial %d n=%ld k=%ld in=%s pc=%d lut=%d ready=%ld byte %u: %u want %u\n",
                       single_mode ? " (single rounding)" : "", trial, (long)n, (long)k,
                       in_dtype == MQ_DTYPE_UINT8 ? "u8" : "s8", per_channel, use_lut, (long)ready, (unsigned)r,
                       out_row[r], want);
                return;
            }
        }
    }
    for (b = 0; b < out_bytes; b++) {
        const int in_row = b >= 4u && ((b - 4u) % (size_t)os) < (size_t)n && (b - 4u) / (size_t)os < (size_t)m;
        const uint8_t want = in_row ? out_ref[b] : (uint8_t)GUARD;
        if (out_fast[b] != want || out_port[b] != want) {
            failures++;
            printf("FAIL gemm%s trial %d m=%ld n=%ld k=%ld in=%s pc=%d lut=%d byte %u: fast %u portable %u want %u%s\n",
                   single_mode ? " (single rounding)" : "", trial, (long)m, (long)n, (long)k, in_dtype == MQ_DTYPE_UINT8 ? "u8" : "s8", per_channel, use_lut,
                   (unsigned)b, out_fast[b], out_port[b], want, in_row ? "" : " (guard)");
            return;
        }
    }
    if (n <= k && m * k <= IP_MAX) {
        inplace_case(&p, m, xs, os, trial);
    }
}

static uint8_t lut_in[4096 + 16], lut_fast[4096 + 16], lut_port[4096 + 16], lut_ref[4096 + 16];

static void lut_case(size_t n, size_t off_in, size_t off_out, int in_place)
{
    size_t i;
    uint8_t *dst;
    for (i = 0; i < 256; i++) {
        lut[i] = (uint8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < sizeof(lut_in); i++) {
        lut_in[i] = (uint8_t)mq_ref_rand(&seed);
    }
    memset(lut_ref, GUARD, sizeof(lut_ref));
    for (i = 0; i < n; i++) {
        lut_ref[off_out + i] = lut[lut_in[off_in + i]];
    }
    checks++;
    if (in_place) {
        memcpy(lut_fast, lut_in, sizeof(lut_fast));
        memcpy(lut_port, lut_in, sizeof(lut_port));
        MQ_LUT_U8(lut, lut_fast + off_in, lut_fast + off_in, n);
        mq_lut_u8_c(lut, lut_port + off_in, lut_port + off_in, n);
        for (i = 0; i < sizeof(lut_fast); i++) {
            const uint8_t want = (i >= off_in && i < off_in + n) ? lut[lut_in[i]] : lut_in[i];
            if (lut_fast[i] != want || lut_port[i] != want) {
                failures++;
                printf("FAIL lut in-place n=%u off=%u byte %u\n", (unsigned)n, (unsigned)off_in, (unsigned)i);
                return;
            }
        }
        return;
    }
    memset(lut_fast, GUARD, sizeof(lut_fast));
    memset(lut_port, GUARD, sizeof(lut_port));
    dst = lut_fast + off_out;
    MQ_LUT_U8(lut, lut_in + off_in, dst, n);
    mq_lut_u8_c(lut, lut_in + off_in, lut_port + off_out, n);
    for (i = 0; i < sizeof(lut_fast); i++) {
        if (lut_fast[i] != lut_ref[i] || lut_port[i] != lut_ref[i]) {
            failures++;
            printf("FAIL lut n=%u off_in=%u off_out=%u byte %u\n", (unsigned)n, (unsigned)off_in, (unsigned)off_out,
                   (unsigned)i);
            return;
        }
    }
}

#include "test_kernels_conv.h"
#include "test_kernels_s16.h"
/* Pooling: the dispatched mq_avg_pool / mq_max_pool (DSP / MVE fast paths) against the portable ones, both against
 * an int64 window reference: padding, partial and whole-row windows, > 256 taps (16-bit lane widening, also with
 * the x86 AVX2 path's 16-channel steps),
 * channel counts across the 4 / 8 / 16 / 64 blocks and their tails, int8 and uint8, clamps. */
static uint8_t pool_in[16384], pool_fast[16384 + 8], pool_port[16384 + 8];

/* The case as an in-place pointwise convolution (mq_conv1x1_inplace over m pixels of k codes, n <= k): pixel i's n
 * output codes at buf + i * n must equal the int64 reference's row i; the bytes past the m * k input bytes stay
 * untouched (what lies between m * n and m * k is not specified). */
static void inplace_case(const mq_fc_params *p, int32_t m, int32_t xs, int32_t os, int trial)
{
    const int32_t n = p->n, k = p->k;
    mq_conv1x1_params cp;
    size_t need;
    mq_status st;
    int32_t i, c;
    memset(&cp, 0, sizeof(cp));
    cp.batch = 1;
    cp.in_h = 1;
    cp.in_w = m;
    cp.stride_h = 1;
    cp.stride_w = 1;
    cp.gemm = *p;
    for (i = 0; i < m; i++) {
        memcpy(pool_in + (size_t)i * (size_t)k, xin + (size_t)i * (size_t)xs, (size_t)k);
    }
    memset(pool_in + (size_t)m * (size_t)k, GUARD, 8);
    need = mq_conv1x1_inplace_scratch_size(&cp);
    st = need <= sizeof(pool_fast) ? mq_conv1x1_inplace(&cp, pool_in, pool_fast, need) : MQ_ERR_BUFFER;
    ip_checks++;
    ip_direct += MQ_GEMM_IN_PLACE(p) != 0;
    if (st != MQ_OK) {
        failures++;
        printf("FAIL conv1x1 in place trial %d m=%ld n=%ld k=%ld: status %d\n", trial, (long)m, (long)n, (long)k, (int)st);
        return;
    }
    for (i = 0; i < m; i++) {
        for (c = 0; c < n; c++) {
            const uint8_t got = pool_in[(size_t)i * (size_t)n + (size_t)c];
            const uint8_t want = out_ref[4u + (size_t)i * (size_t)os + (size_t)c];
            if (got != want) {
                failures++;
                printf("FAIL conv1x1 in place%s trial %d m=%ld n=%ld k=%ld in=%s pc=%d direct=%d pixel %ld ch %ld: %u want %u\n",
                       single_mode ? " (single rounding)" : "", trial, (long)m, (long)n, (long)k,
                       p->in_dtype == MQ_DTYPE_UINT8 ? "u8" : "s8", (int)p->per_channel, MQ_GEMM_IN_PLACE(p) != 0, (long)i,
                       (long)c, got, want);
                return;
            }
        }
    }
    for (i = 0; i < 8; i++) {
        if (pool_in[(size_t)m * (size_t)k + (size_t)i] != GUARD) {
            failures++;
            printf("FAIL conv1x1 in place trial %d m=%ld n=%ld k=%ld: guard byte %ld written\n", trial, (long)m,
                   (long)n, (long)k, (long)i);
            return;
        }
    }
}


static void pool_case(int trial)
{
    mq_pool_params p;
    int32_t oy, ox, c, ky, kx, i;
    size_t n_in, n_out;
    const int big = trial % 5 == 0;
    memset(&p, 0, sizeof p);
    p.dtype = (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.win.batch = 1;
    p.channels = big ? mq_ref_range(&seed, 1, 40) : mq_ref_range(&seed, 1, 150);
    p.win.in_h = big ? mq_ref_range(&seed, 16, 40) : mq_ref_range(&seed, 1, 9);
    p.win.in_w = big ? mq_ref_range(&seed, 16, 40) : mq_ref_range(&seed, 1, 9);
    if ((size_t)p.win.in_h * (size_t)p.win.in_w * (size_t)p.channels > sizeof(pool_in)) {
        p.channels = (int32_t)(sizeof(pool_in) / ((size_t)p.win.in_h * (size_t)p.win.in_w));
    }
    p.win.kernel_h = big ? p.win.in_h : mq_ref_range(&seed, 1, p.win.in_h < 4 ? p.win.in_h : 4);
    p.win.kernel_w = big || trial % 3 == 0 ? p.win.in_w : mq_ref_range(&seed, 1, p.win.in_w < 4 ? p.win.in_w : 4);
    p.win.stride_h = mq_ref_range(&seed, 1, 3);
    p.win.stride_w = mq_ref_range(&seed, 1, 3);
    p.win.dilation_h = p.win.dilation_w = 1;
    p.win.pad_top = mq_ref_range(&seed, 0, p.win.kernel_h - 1);
    p.win.pad_left = trial % 3 == 0 ? 0 : mq_ref_range(&seed, 0, p.win.kernel_w - 1);
    p.win.pad_bottom = 0;
    p.win.pad_right = 0;
    p.win.out_h = (p.win.in_h + p.win.pad_top - p.win.kernel_h) / p.win.stride_h + 1;
    p.win.out_w = (p.win.in_w + p.win.pad_left - p.win.kernel_w) / p.win.stride_w + 1;
    p.act_min = p.dtype == MQ_DTYPE_UINT8 ? 0 : -128;
    p.act_max = p.dtype == MQ_DTYPE_UINT8 ? 255 : 127;
    if (trial % 4 == 1) {
        p.act_min += 40;
        p.act_max -= 30;
    }
    n_in = (size_t)p.win.in_h * (size_t)p.win.in_w * (size_t)p.channels;
    n_out = (size_t)p.win.out_h * (size_t)p.win.out_w * (size_t)p.channels;
    for (i = 0; i < (int32_t)n_in; i++) {
        /* mostly extreme codes in big windows: the 16-bit lanes must not overflow */
        pool_in[i] = big && (i & 1) ? (uint8_t)(p.dtype == MQ_DTYPE_UINT8 ? 255u : 0x80u) : (uint8_t)mq_ref_rand(&seed);
    }
    for (i = 0; i < 2; i++) {
        mq_status s1, s2;
        checks++;
        memset(pool_fast, GUARD, sizeof(pool_fast));
        memset(pool_port, GUARD, sizeof(pool_port));
        s1 = i == 0 ? mq_avg_pool(&p, pool_in, pool_fast) : mq_max_pool(&p, pool_in, pool_fast);
        s2 = i == 0 ? mq_avg_pool_c(&p, pool_in, pool_port) : mq_max_pool_c(&p, pool_in, pool_port);
        if (s1 != MQ_OK || s2 != MQ_OK || memcmp(pool_fast, pool_port, n_out + 8u) != 0) {
            failures++;
            printf("FAIL %s pool trial %d (%ldx%ldx%ld k %ldx%ld): status %d/%d or bytes differ\n", i ? "max" : "avg",
                   trial, (long)p.win.in_h, (long)p.win.in_w, (long)p.channels, (long)p.win.kernel_h,
                   (long)p.win.kernel_w, (int)s1, (int)s2);
            return;
        }
        for (oy = 0; oy < p.win.out_h; oy++)
            for (ox = 0; ox < p.win.out_w; ox++)
                for (c = 0; c < p.channels; c++) {
                    int64_t sum = 0, mx = -1000, cnt = 0, v;
                    for (ky = 0; ky < p.win.kernel_h; ky++)
                        for (kx = 0; kx < p.win.kernel_w; kx++) {
                            const int32_t y = oy * p.win.stride_h - p.win.pad_top + ky;
                            const int32_t x = ox * p.win.stride_w - p.win.pad_left + kx;
                            int32_t q;
                            if (y < 0 || y >= p.win.in_h || x < 0 || x >= p.win.in_w) {
                                continue;
                            }
                            q = pool_in[((size_t)y * (size_t)p.win.in_w + (size_t)x) * (size_t)p.channels + (size_t)c];
                            q = p.dtype == MQ_DTYPE_UINT8 ? q : (q ^ 0x80) - 0x80;
                            sum += q;
                            mx = q > mx ? q : mx;
                            cnt++;
                        }
                    v = i == 0 ? (sum >= 0 ? (2 * sum + cnt) / (2 * cnt) : -((-2 * sum + cnt) / (2 * cnt))) : mx;
                    v = v < p.act_min ? p.act_min : (v > p.act_max ? p.act_max : v);
                    if (pool_fast[((size_t)oy * (size_t)p.win.out_w + (size_t)ox) * (size_t)p.channels + (size_t)c] !=
                        (uint8_t)(v & 0xFF)) {
                        failures++;
                        printf("FAIL %s pool trial %d: differs from the int64 reference\n", i ? "max" : "avg", trial);
                        return;
                    }
                }
    }
}

/* Mean over H, W: dispatched mq_mean (DSP / MVE window sums) against mq_mean_c, > 256 positions included. */
static void mean_case(int trial)
{
    mq_mean_params p;
    size_t n_in, i;
    memset(&p, 0, sizeof p);
    p.in_dtype = (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.out_dtype = (trial & 2) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    p.batch = mq_ref_range(&seed, 1, 2);
    p.h = mq_ref_range(&seed, 1, trial % 4 == 0 ? 30 : 8);
    p.w = mq_ref_range(&seed, 1, trial % 4 == 0 ? 30 : 8);
    p.channels = mq_ref_range(&seed, 1, 140);
    while ((size_t)p.batch * (size_t)p.h * (size_t)p.w * (size_t)p.channels > sizeof(pool_in)) {
        p.channels = p.channels / 2 + 1;
        p.h = p.h / 2 + 1;
    }
    p.in_zero_point = p.in_dtype == MQ_DTYPE_UINT8 ? mq_ref_range(&seed, 0, 255) : mq_ref_range(&seed, -128, 127);
    p.out_zero_point = p.out_dtype == MQ_DTYPE_UINT8 ? mq_ref_range(&seed, 0, 255) : mq_ref_range(&seed, -128, 127);
    p.multiplier = mq_ref_range(&seed, 1 << 29, 0x7FFFFFFF);
    p.shift = mq_ref_range(&seed, -12, 0);
    p.act_min = p.out_dtype == MQ_DTYPE_UINT8 ? 0 : -128;
    p.act_max = p.out_dtype == MQ_DTYPE_UINT8 ? 255 : 127;
    n_in = (size_t)p.batch * (size_t)p.h * (size_t)p.w * (size_t)p.channels;
    for (i = 0; i < n_in; i++) {
        pool_in[i] = (uint8_t)mq_ref_rand(&seed);
    }
    checks++;
    memset(pool_fast, GUARD, sizeof(pool_fast));
    memset(pool_port, GUARD, sizeof(pool_port));
    if (mq_mean(&p, pool_in, pool_fast) != MQ_OK || mq_mean_c(&p, pool_in, pool_port) != MQ_OK ||
        memcmp(pool_fast, pool_port, (size_t)p.batch * (size_t)p.channels + 8u) != 0) {
        failures++;
        printf("FAIL mean trial %d (%ldx%ldx%ldx%ld)\n", trial, (long)p.batch, (long)p.h, (long)p.w, (long)p.channels);
    }
}

static void gemm_tests(void)
{
    int trial;
    /* Shapes that must be covered, then random ones. */
    for (trial = 0; trial < 400; trial++) {
        int32_t m, n_out, k;
        if (trial < 46) {
            k = k_list[trial % 23];
            n_out = trial < 23 ? 1 + trial % 9 : 61 + trial % 9;
            m = 1 + trial % 3;
        } else {
            k = (mq_ref_rand(&seed) & 1u) ? k_list[mq_ref_rand(&seed) % 23u] : mq_ref_range(&seed, 1, 200);
            n_out = mq_ref_range(&seed, 1, MAX_N);
            m = mq_ref_range(&seed, 1, MAX_M);
        }
        gemm_case(m, n_out, k, (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, (trial >> 1) & 1,
                  (trial % 3) == 0, trial);
    }
    /* Focused: whole 16-code chunks, 2..5 rows, per-tensor and per-channel, both input dtypes, clamps, LUT. */
    focus_full = 1;
    for (trial = 0; trial < 150; trial++) {
        static const int32_t k16[] = {16, 32, 48, 64, 128, 640};
        gemm_case(mq_ref_range(&seed, 2, MAX_M), mq_ref_range(&seed, 1, MAX_N), k16[mq_ref_rand(&seed) % 6u],
                  (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, (trial >> 1) & 1, (trial % 3) == 0, 400 + trial);
    }
    /* Focused, pair loop + LUT at the full clamp range: both input and both output dtypes, per-tensor
     * and per-channel (trial bits 0 and 1; the output dtype is random per trial). */
    force_full_range = 1;
    for (trial = 0; trial < 40; trial++) {
        static const int32_t k16[] = {16, 32, 48, 64, 128, 640};
        gemm_case(mq_ref_range(&seed, 2, MAX_M), mq_ref_range(&seed, 4, MAX_N), k16[mq_ref_rand(&seed) % 6u],
                  (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, (trial >> 1) & 1, 1, 600 + trial);
    }
    force_full_range = 0;
    /* Focused, many rows (33..72: several blocks of the DSP pair loop at k = 32..128, an odd last row; k % 16 != 0:
     * the loop entered mid-body), clamps, LUT. */
    for (trial = 0; trial < 36; trial++) {
        static const int32_t kb[] = {32, 40, 48, 64, 100, 128, 116, 12, 4};
        gemm_case(mq_ref_range(&seed, 33, MAX_M_BIG), mq_ref_range(&seed, 4, MAX_N), kb[mq_ref_rand(&seed) % 9u],
                  (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, (trial >> 1) & 1, (trial % 3) == 0, 700 + trial);
    }
    /* Focused, batch 1 (the DSP GEMV loop: every shift <= -1): every k of the list, n from 1, both input
     * dtypes, per-tensor and per-channel, clamps; a LUT in some trials (the 1x4 path). */
    for (trial = 0; trial < 92; trial++) {
        gemm_case(1, mq_ref_range(&seed, 1, MAX_N), k_list[trial % 23], (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8,
                  (trial >> 1) & 1, (trial % 5) == 0, 700 + trial);
    }
    /* Focused, batch 1, every shift <= -1 but one or two channels' >= 0 (stop_channel): the DSP GEMV loop stops
     * before that channel's group (any group, any row of it), the caller's paths do the rest; k with and without a
     * tail, both input dtypes, per-channel (per-tensor: trial bit 1, the one shift >= 0 everywhere), LUT in some. */
    focus_full = 1;
    for (trial = 0; trial < 48; trial++) {
        static const int32_t ks[] = {1, 5, 8, 16, 17, 32, 100, 128, 131, 255, 256, 640};
        const int32_t n = mq_ref_range(&seed, 4, MAX_N);
        stop_channel = mq_ref_range(&seed, 0, n - 1);
        gemm_case(1, n, ks[trial % 12], (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, (trial % 8) != 2,
                  (trial % 3) == 0, 760 + trial);
    }
    stop_channel = -1;
    focus_full = 0;
    /* Focused, whole-type clamps (ReLU with the zero point at the type's minimum, the common UINT8 / INT8 ReLU
     * layer), no LUT: the DSP pair loop's variants for them, whole 32-code bodies (k % 32 == 0) and entered mid-body
     * (k % 32 != 0), k > 128 (the loop on unexpanded weights), several blocks, an odd last row; both input dtypes,
     * per-tensor and per-channel (trial bits 0 and 1; the output dtype is random per trial). */
    force_whole_type = 1;
    for (trial = 0; trial < 60; trial++) {
        /* 144, 288: the DSP expanded-weight pair loop for 128 < k <= 288; 576: the lane loop at one pair per block */
        static const int32_t kw[] = {32, 64, 128, 4, 12, 40, 100, 116, 16, 48, 96, 256, 144, 288, 576};
        gemm_case(trial % 5 < 2 ? mq_ref_range(&seed, 2, MAX_M) : mq_ref_range(&seed, 33, MAX_M_BIG),
                  mq_ref_range(&seed, 4, MAX_N), kw[trial % 15], (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8,
                  (trial >> 1) & 1, 0, 800 + trial);
    }
    force_whole_type = 0;
    /* Focused, k > 256 with pairs of rows (the Armv7-M split-k pair loop: segments of 192 codes, the accumulators
     * carried over; k % 16 != 0 in the last segment; more than 16 groups (n >= 65: the second batch of groups);
     * an odd last row; many rows), clamps, LUT; focus_full (every shift <= -1) in the first 32 trials, then the
     * whole shift range (groups with a shift >= 0 through the other loops). */
    for (trial = 0; trial < 48; trial++) {
        static const int32_t kk[] = {257, 272, 288, 300, 383, 384, 400, 576, 577, 600, 631, 640};
        focus_full = trial < 32;
        gemm_case(trial % 8 == 7 ? mq_ref_range(&seed, 33, MAX_M_BIG) : mq_ref_range(&seed, 2, MAX_M),
                  trial % 3 == 0 ? mq_ref_range(&seed, 65, MAX_N) : mq_ref_range(&seed, 1, MAX_N), kk[trial % 12],
                  (trial & 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, (trial >> 1) & 1, (trial % 5) == 0, 900 + trial);
    }
    focus_full = 0;
}

/* Tabulated same-shape ADD output loop: the dispatched one (mq_add_table_mve on M55, mq_add_table_dsp on M4 / M7, else
 * the portable loop) against
 * mq_add_table_c and the int64 reference mq_ref_requant, over random tables at the contract's bounds
 * (|t| <= 255 * 2^22), multipliers 0 / 2^30 / random / INT32_MAX, every output shift 0..31, clamps, every
 * length 0..9 and 4096 at odd offsets; guard bytes after the output must stay untouched. */
static int32_t add_t1[256], add_t2[256];
static uint8_t add_a[4096 + 8], add_b[4096 + 8], add_fast[4096 + 16], add_port[4096 + 16];

static void add_case(int trial)
{
    const int32_t lim = 255 * (1 << 22);
    const size_t n = trial % 3 == 0 ? (size_t)(trial / 3 % 10) : (trial % 3 == 1 ? 4096u : (size_t)mq_ref_range(&seed, 1, 300));
    const size_t off = (size_t)(trial % 4);
    const int32_t mo = trial % 11 == 0 ? 0 : (trial % 7 == 0 ? (1 << 30) : (trial % 5 == 0 ? INT32_MAX : pick_mult()));
    const int32_t ro = trial % 32;
    const int u8 = trial % 8 == 6; /* UINT8 output codes (zero point and clamp in [0, 255]) */
    const int32_t zo = u8 ? mq_ref_range(&seed, 0, 255) : mq_ref_range(&seed, -128, 127);
    const int32_t lo = u8 ? (trial % 16 == 6 ? zo : 0) : (trial % 4 == 1 ? zo : -128);
    const int32_t hi = u8 ? 255 : (trial % 8 == 5 ? mq_ref_range(&seed, lo, 127) : 127); /* 5: a narrower clamp */
    const int small = trial % 3 == 2;   /* small terms: ties of every rounding step */
    size_t i;
    int c;
    for (c = 0; c < 256; c++) {
        add_t1[c] = small ? mq_ref_range(&seed, -40, 40) : mq_ref_range(&seed, -lim, lim);
        add_t2[c] = small ? mq_ref_range(&seed, -40, 40) : mq_ref_range(&seed, -lim, lim);
    }
    add_t1[0] = lim;
    add_t2[0] = lim;
    add_t1[255] = -lim;
    add_t2[255] = -lim;
    for (i = 0; i < n + 8u; i++) {
        add_a[i] = (uint8_t)mq_ref_rand(&seed);
        add_b[i] = (uint8_t)mq_ref_rand(&seed);
    }
    memset(add_fast, GUARD, sizeof add_fast);
    memset(add_port, GUARD, sizeof add_port);
#if !defined(MQ_FORCE_PORTABLE) && defined(__ARM_FEATURE_MVE)
    mq_add_table_mve(add_t1, add_t2, add_a + off, add_b + off, add_fast + off, n, mo, ro, zo, lo, hi);
#elif !defined(MQ_FORCE_PORTABLE) && defined(__ARM_FEATURE_DSP) && !defined(__OPTIMIZE_SIZE__)
    mq_add_table_dsp(add_t1, add_t2, add_a + off, add_b + off, add_fast + off, n, mo, ro, zo, lo, hi);
#else
    mq_add_table_c(add_t1, add_t2, add_a + off, add_b + off, add_fast + off, n, mo, ro, zo, lo, hi);
#endif
    mq_add_table_c(add_t1, add_t2, add_a + off, add_b + off, add_port + off, n, mo, ro, zo, lo, hi);
    for (i = 0; i < n; i++) {
        const int64_t v = (int64_t)zo + mq_ref_requant(add_t1[add_a[off + i]] + add_t2[add_b[off + i]], mo, -ro);
        const int32_t want = (int32_t)(v < lo ? lo : (v > hi ? hi : v));
        const int32_t got = u8 ? (int32_t)add_fast[off + i] : (int32_t)(add_fast[off + i] ^ 0x80u) - 128;
        if (got != want || add_fast[off + i] != add_port[off + i]) {
            printf("FAIL add table trial %d n %u i %u: fast %d portable %d reference %d (mo %ld ro %ld)\n", trial,
                   (unsigned)n, (unsigned)i, (int)got, u8 ? (int)add_port[off + i] : (int)(add_port[off + i] ^ 0x80u) - 128, (int)want, (long)mo, (long)ro);
            failures++;
            return;
        }
        checks++;
    }
    for (i = 0; i < 8u; i++) {
        if (add_fast[off + n + i] != GUARD || (off > 0u && add_fast[off - 1u] != GUARD)) {
            printf("FAIL add table trial %d: guard byte overwritten\n", trial);
            failures++;
            return;
        }
    }
}

int main(void)
{
    int trial;
    size_t n;
    printf("mq fast-path kernel test: %s\n",
#if defined(__ARM_FEATURE_MVE)
           "MVE"
#elif defined(__ARM_FEATURE_DSP)
           "DSP"
#elif defined(__ARM_ARCH_7M__)
           "v7m (GEMM), portable (LUT)"
#elif defined(MQ_X86_HOST_KERNELS)
           "x86-64 run-time dispatch (GEMM, host), portable (LUT)"
#elif defined(__SSE2__) && defined(__x86_64__)
           "SSE2 (GEMM, host), portable (LUT)"
#else
           "portable"
#endif
    );
#if defined(MQ_X86_HOST_KERNELS)
    printf("x86-64 GEMM variant chosen at run time: %s\n", mq_gemm_s8_n4k16_x86_name());
#endif
    /* Reference sanity, hand-checked TFLite double rounding: 5 * 0.5 = 2.5 -> SRDHM 3 (half up) -> 1.5 -> 2;
     * -5 -> -2.5 -> -2 -> -1 (tie away from zero); -6 -> -3 -> -1.5 -> -2. */
    if (mq_ref_requant(5, 1 << 30, -1) != 2 || mq_ref_requant(-5, 1 << 30, -1) != -1 ||
        mq_ref_requant(-6, 1 << 30, -1) != -2 || mq_ref_requant(6, 1 << 30, -1) != 2 ||
        mq_ref_requant(3, 1 << 30, 0) != 2 || mq_ref_requant(-3, 1 << 30, 0) != -1 ||
        mq_ref_requant(INT32_MIN, INT32_MIN, 0) != INT32_MAX) {
        printf("FAIL reference requant self-check\n");
        failures++;
    }
    for (single_mode = 0; single_mode < 2; single_mode++) {
        gemm_tests();
    }
    single_mode = 0;
    for (n = 0; n < 68; n++) {
        lut_case(n, n % 4u, (n / 4u) % 4u, 0);
        lut_case(n, (n + 1u) % 4u, 0, 1);
    }
    lut_case(4096, 0, 0, 0);
    lut_case(4096, 1, 3, 0);
    lut_case(4096, 2, 0, 1);
    conv_kernel_tests();
    single_mode = 1;
    conv_kernel_tests(); /* single rounding */
    single_mode = 0;
    s16_kernel_tests();
    for (trial = 0; trial < 300; trial++) {
        pool_case(trial);
    }
    for (trial = 0; trial < 200; trial++) {
        mean_case(trial);
    }
    for (trial = 0; trial < 400; trial++) {
        add_case(trial);
    }
    printf("prepared GEMM rows: %u checked, %u on the prepared path\n", row_checks, row_ready);
    printf("in-place 1x1 convolutions: %u checked, %u written straight over the input\n", ip_checks, ip_direct);
    printf("%s: %u checks, %u failures\n", failures == 0u ? "PASS" : "FAIL", checks, failures);
    return failures == 0u ? 0 : 1;
}
