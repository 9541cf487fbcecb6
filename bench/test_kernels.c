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
#include "mq_microkernels.h"

#define MAX_M 5
#define MAX_N 70
#define MAX_K 640
#define MAX_XS (MAX_K + 3)
#define MAX_OS (MAX_N + 3)
#define GUARD 0xA5u

static int8_t w_rows[MAX_N * MAX_K];
static int8_t w_packed[((MAX_N + 3) / 4) * 4 * ((MAX_K + 15) / 16) * 16];
static int32_t bias[MAX_N], mult[MAX_N], shift[MAX_N];
static uint8_t lut[256];
static uint8_t xin[MAX_M * MAX_XS + 4];
static uint8_t out_fast[MAX_M * MAX_OS + 8], out_port[MAX_M * MAX_OS + 8], out_ref[MAX_M * MAX_OS + 8];

static uint32_t seed = 0x2545F491u;
static unsigned failures;
/* Set for the focused trials of the DSP assembly pair loop's domain (k % 16 == 0, m >= 2):
 * shifts in [-21, -1] (E = 1 and E = 21 edges included), half of them with small data. */
static int focus_full;
/* Set for the focused LUT trials: full clamp range (act_min/act_max = the output dtype's range), so the
 * pair loop takes its full-range LUT epilogue (INT8 outputs: lo = -128, the table index wraps mod 256). */
static int force_full_range;
static unsigned checks;

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
    for (b = 0; b < sizeof(xin); b++) {
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
    } else {
        p.act_min = mq_ref_range(&seed, mq_dtype_min(p.out_dtype), p.out_zero_point);
        p.act_max = mq_ref_range(&seed, p.act_min, mq_dtype_max(p.out_dtype));
    }
    p.lut = use_lut ? lut : NULL;

    memset(out_fast, GUARD, out_bytes);
    memset(out_port, GUARD, out_bytes);
    memset(out_ref, GUARD, out_bytes);
    /* Output rows start 4 bytes in, so a write before the row would hit a guard too. */
    MQ_GEMM_S8_N4K16(&p, m, xin, xs, out_fast + 4, os);
    mq_gemm_s8_n4k16_c(&p, m, xin, xs, out_port + 4, os);
    mq_ref_gemm(&p, w_rows, m, xin, xs, out_ref + 4, os);
    checks++;
    for (b = 0; b < out_bytes; b++) {
        const int in_row = b >= 4u && ((b - 4u) % (size_t)os) < (size_t)n && (b - 4u) / (size_t)os < (size_t)m;
        const uint8_t want = in_row ? out_ref[b] : (uint8_t)GUARD;
        if (out_fast[b] != want || out_port[b] != want) {
            failures++;
            printf("FAIL gemm trial %d m=%ld n=%ld k=%ld in=%s pc=%d lut=%d byte %u: fast %u portable %u want %u%s\n",
                   trial, (long)m, (long)n, (long)k, in_dtype == MQ_DTYPE_UINT8 ? "u8" : "s8", per_channel, use_lut,
                   (unsigned)b, out_fast[b], out_port[b], want, in_row ? "" : " (guard)");
            return;
        }
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
    focus_full = 0;
    for (n = 0; n < 68; n++) {
        lut_case(n, n % 4u, (n / 4u) % 4u, 0);
        lut_case(n, (n + 1u) % 4u, 0, 1);
    }
    lut_case(4096, 0, 0, 0);
    lut_case(4096, 1, 3, 0);
    lut_case(4096, 2, 0, 1);
    conv_kernel_tests();
    printf("%s: %u checks, %u failures\n", failures == 0u ? "PASS" : "FAIL", checks, failures);
    return failures == 0u ? 0 : 1;
}
