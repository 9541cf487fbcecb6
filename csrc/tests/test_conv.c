/*
 * Pointwise (1x1) convolution, NHWC: mq_conv1x1 against a direct int64 reference (output pixel (oy, ox)
 * reads input (oy*sh - pt, ox*sw - pl) or, outside the input, zero-point codes), over random shapes with
 * stride 1 and 2, batch >= 1, padding; output size formula; rejection of bad shapes and buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_gemm.h"

static long g_checked;
static long g_inplace_checked;

/* In place (mq_conv1x1_inplace) on a copy of the input x: must give exactly y, the out-of-place output computed
 * from the independent buffer x (and checked against the int64 reference), and touch nothing past the larger of
 * the two tensors nor past its scratch. Unsupported geometries must be refused with MQ_ERR_SHAPE. */
static void check_conv1x1_inplace(const mq_conv1x1_params *cp, const uint8_t *x, size_t in_bytes, const uint8_t *y,
                                  size_t out_bytes)
{
    const size_t need = mq_conv1x1_inplace_scratch_size(cp);
    const int supported = cp->stride_h == 1 && cp->stride_w == 1 && cp->pad_top == 0 && cp->pad_left == 0 &&
                          cp->pad_bottom == 0 && cp->pad_right == 0 && cp->gemm.n <= cp->gemm.k;
    const size_t pixels = (size_t)cp->batch * (size_t)cp->in_h * (size_t)cp->in_w;
    const size_t span = in_bytes > out_bytes ? in_bytes : out_bytes;
    uint8_t *buf;
    uint8_t *scratch;
    size_t i;
    if (!supported) {
        uint8_t dummy[4];
        assert_int_equal(need, 0u);
        assert_int_equal(mq_conv1x1_inplace(cp, dummy, dummy, sizeof dummy), MQ_ERR_SHAPE);
        return;
    }
    assert_int_equal(need, (pixels < MQ_CONV1X1_INPLACE_BLOCK ? pixels : (size_t)MQ_CONV1X1_INPLACE_BLOCK) *
                               (size_t)cp->gemm.n);
    buf = (uint8_t *)malloc(span + 16);
    scratch = (uint8_t *)malloc(need + 16);
    assert_non_null(buf);
    assert_non_null(scratch);
    memcpy(buf, x, in_bytes);
    memset(buf + span, 0xA5, 16);
    memset(scratch + need, 0xA5, 16);
    assert_int_equal(mq_conv1x1_inplace(cp, buf, scratch, need - 1), MQ_ERR_BUFFER);
    assert_int_equal(mq_conv1x1_inplace(cp, buf, buf + in_bytes - 1, need), MQ_ERR_BUFFER); /* scratch on buf */
    assert_int_equal(memcmp(buf, x, in_bytes), 0); /* refused calls wrote nothing */
    assert_int_equal(mq_conv1x1_inplace(cp, buf, scratch, need), MQ_OK);
    for (i = 0; i < out_bytes; ++i) {
        if (buf[i] != y[i]) {
            fail_msg("conv1x1 in place b=%d in=%dx%d n=%d k=%d: byte %zu got %u, out of place %u", cp->batch, cp->in_h,
                     cp->in_w, cp->gemm.n, cp->gemm.k, i, buf[i], y[i]);
        }
    }
    for (i = 0; i < 16; ++i) {
        assert_int_equal(buf[span + i], 0xA5);
        assert_int_equal(scratch[need + i], 0xA5);
    }
    g_inplace_checked += (long)out_bytes;
    free(buf);
    free(scratch);
}

typedef struct {
    int32_t batch, in_h, in_w, sh, sw, pt, pl, pb, pr;
} conv_shape;

static void run_conv(ref_rng *r, const conv_shape *s, int32_t n, int32_t k, const ref_options *o)
{
    ref_problem q;
    mq_conv1x1_params cp;
    int32_t out_h;
    int32_t out_w;
    int32_t eh;
    int32_t ew;
    size_t in_bytes;
    size_t out_bytes;
    size_t scratch_size;
    uint8_t *x;
    uint8_t *y;
    uint8_t *scratch;
    uint8_t *pad_codes;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t c;
    if (!ref_problem_init(&q, r, n, k, o)) {
        ref_problem_free(&q);
        return;
    }
    memset(&cp, 0, sizeof cp);
    cp.batch = s->batch;
    cp.in_h = s->in_h;
    cp.in_w = s->in_w;
    cp.stride_h = s->sh;
    cp.stride_w = s->sw;
    cp.pad_top = s->pt;
    cp.pad_left = s->pl;
    cp.pad_bottom = s->pb;
    cp.pad_right = s->pr;
    cp.gemm = q.p;
    cp.in_zero_point = q.in_zp;
    /* independent output size: number of oy >= 0 with oy*s <= in + pa + pb - 1 */
    eh = (s->in_h + s->pt + s->pb - 1) / s->sh + 1;
    ew = (s->in_w + s->pl + s->pr - 1) / s->sw + 1;
    assert_int_equal(mq_conv1x1_output_size(&cp, &out_h, &out_w), MQ_OK);
    assert_int_equal(out_h, eh);
    assert_int_equal(out_w, ew);
    in_bytes = (size_t)s->batch * (size_t)s->in_h * (size_t)s->in_w * (size_t)k;
    out_bytes = (size_t)s->batch * (size_t)out_h * (size_t)out_w * (size_t)n;
    scratch_size = mq_conv1x1_scratch_size(&cp);
    assert_int_equal(scratch_size, (s->pt | s->pl | s->pb | s->pr) ? (size_t)k : 0u);
    x = (uint8_t *)malloc(in_bytes);
    y = (uint8_t *)malloc(out_bytes);
    scratch = (uint8_t *)malloc(scratch_size + 1);
    pad_codes = (uint8_t *)malloc((size_t)k);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(scratch);
    assert_non_null(pad_codes);
    ref_fill_codes(r, x, in_bytes);
    memset(pad_codes, ref_byte(q.in_zp), (size_t)k);
    memset(y, 0x5A, out_bytes);
    assert_int_equal(mq_conv1x1(&cp, x, y, scratch_size ? scratch : NULL, scratch_size), MQ_OK);
    check_conv1x1_inplace(&cp, x, in_bytes, y, out_bytes);
    for (b = 0; b < s->batch; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t iy = oy * s->sh - s->pt;
                const int32_t ix = ox * s->sw - s->pl;
                const int inside = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
                const uint8_t *src = inside ? x + (((size_t)b * (size_t)s->in_h + (size_t)iy) * (size_t)s->in_w +
                                                   (size_t)ix) * (size_t)k
                                            : pad_codes;
                for (c = 0; c < n; ++c) {
                    const uint8_t got =
                        y[(((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) * (size_t)n + (size_t)c];
                    const uint8_t expect = ref_dot_out(&q, src, c);
                    if (got != expect) {
                        fail_msg("conv b=%d in=%dx%d s=%d,%d pad=%d,%d,%d,%d n=%d k=%d at (%d,%d,%d,%d): got %u expected %u",
                                 s->batch, s->in_h, s->in_w, s->sh, s->sw, s->pt, s->pl, s->pb, s->pr, n, k, b, oy, ox,
                                 c, got, expect);
                    }
                    if (!inside) {
                        /* a padded pixel is requant(bias) exactly */
                        assert_int_equal(got, ref_bias_out(&q, c));
                    }
                    ++g_checked;
                }
            }
        }
    }
    free(x);
    free(y);
    free(scratch);
    free(pad_codes);
    ref_problem_free(&q);
}

static void test_conv_random_shapes(void **state)
{
    ref_rng r = {21};
    int rep;
    (void)state;
    for (rep = 0; rep < 400; ++rep) {
        conv_shape s;
        const ref_options o = ref_random_options(&r);
        const int padded = ref_range(&r, 0, 2) == 0;
        s.batch = (int32_t)ref_range(&r, 1, 3);
        s.in_h = (int32_t)ref_range(&r, 1, 9);
        s.in_w = (int32_t)ref_range(&r, 1, 9);
        s.sh = (int32_t)ref_range(&r, 1, 2);
        s.sw = (int32_t)ref_range(&r, 1, 2);
        s.pt = padded ? (int32_t)ref_range(&r, 0, 3) : 0;
        s.pl = padded ? (int32_t)ref_range(&r, 0, 3) : 0;
        s.pb = padded ? (int32_t)ref_range(&r, 0, 3) : 0;
        s.pr = padded ? (int32_t)ref_range(&r, 0, 3) : 0;
        run_conv(&r, &s, (int32_t)ref_range(&r, 1, 21), (int32_t)ref_range(&r, 1, 40), &o);
    }
}

static void test_conv_benchmark_shapes(void **state)
{
    ref_rng r = {22};
    const conv_shape a = {1, 16, 16, 1, 1, 0, 0, 0, 0};
    const conv_shape b = {1, 8, 8, 1, 1, 0, 0, 0, 0};
    const conv_shape c = {2, 9, 7, 2, 2, 1, 0, 0, 1};
    const conv_shape d = {1, 5, 5, 2, 1, 3, 3, 3, 3};
    const conv_shape kws = {1, 25, 5, 1, 1, 0, 0, 0, 0};
    ref_options o = ref_random_options(&r);
    (void)state;
    run_conv(&r, &kws, 64, 64, &o); /* KWS DS-CNN pointwise (in place: 125 pixels, 7 full blocks + 13) */
    o = ref_random_options(&r);
    run_conv(&r, &kws, 48, 64, &o);
    run_conv(&r, &a, 64, 32, &o);
    o = ref_random_options(&r);
    run_conv(&r, &b, 128, 64, &o);
    o = ref_random_options(&r);
    run_conv(&r, &c, 17, 640, &o);
    o = ref_random_options(&r);
    o.zp_mode = 2;
    run_conv(&r, &d, 5, 33, &o);
    o.zp_mode = 1;
    run_conv(&r, &d, 5, 1, &o);
}

static void test_conv_rejects_bad(void **state)
{
    ref_rng r = {23};
    ref_options o = ref_random_options(&r);
    ref_problem q;
    mq_conv1x1_params cp;
    mq_conv1x1_params bad;
    uint8_t x[2 * 3 * 3 * 4];
    uint8_t y[2 * 4 * 4 * 5];
    uint8_t scratch[4];
    int32_t oh;
    int32_t ow;
    (void)state;
    o.bias_mode = 0;
    assert_true(ref_problem_init(&q, &r, 5, 4, &o));
    memset(&cp, 0, sizeof cp);
    cp.batch = 2;
    cp.in_h = 3;
    cp.in_w = 3;
    cp.stride_h = 1;
    cp.stride_w = 1;
    cp.pad_bottom = 1;
    cp.pad_right = 1;
    cp.gemm = q.p;
    cp.in_zero_point = q.in_zp;
    ref_fill_codes(&r, x, sizeof x);
    assert_int_equal(mq_conv1x1(&cp, x, y, scratch, sizeof scratch), MQ_OK);
    assert_int_equal(mq_conv1x1(&cp, x, y, scratch, 3), MQ_ERR_BUFFER);
    assert_int_equal(mq_conv1x1(&cp, x, y, NULL, 4), MQ_ERR_NULL);
    assert_int_equal(mq_conv1x1(NULL, x, y, scratch, 4), MQ_ERR_NULL);
    assert_int_equal(mq_conv1x1(&cp, NULL, y, scratch, 4), MQ_ERR_NULL);
    assert_int_equal(mq_conv1x1(&cp, x, NULL, scratch, 4), MQ_ERR_NULL);
    assert_int_equal(mq_conv1x1(&cp, y, y + 8, scratch, 4), MQ_ERR_BUFFER);   /* input/output overlap */
    assert_int_equal(mq_conv1x1(&cp, x, y, y + 3, 4), MQ_ERR_BUFFER);         /* scratch inside output */
    assert_int_equal(mq_conv1x1_output_size(NULL, &oh, &ow), MQ_ERR_NULL);
    assert_int_equal(mq_conv1x1_output_size(&cp, NULL, &ow), MQ_ERR_NULL);
    assert_int_equal(mq_conv1x1_scratch_size(NULL), 0u);
#define EXPECT_BAD(field, value, status)                                          \
    do {                                                                          \
        bad = cp;                                                                 \
        bad.field = value;                                                        \
        assert_int_equal(mq_conv1x1(&bad, x, y, scratch, sizeof scratch), status); \
    } while (0)
    EXPECT_BAD(batch, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(in_h, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(in_w, -3, MQ_ERR_SHAPE);
    EXPECT_BAD(stride_h, 3, MQ_ERR_SHAPE);
    EXPECT_BAD(stride_w, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(pad_top, -1, MQ_ERR_SHAPE);
    EXPECT_BAD(pad_right, -1, MQ_ERR_SHAPE);
    EXPECT_BAD(pad_left, INT32_MAX, MQ_ERR_SHAPE);
    EXPECT_BAD(in_h, INT32_MAX, MQ_ERR_SHAPE);
    EXPECT_BAD(gemm.k, 0, MQ_ERR_SHAPE);
    EXPECT_BAD(gemm.weights.packed, NULL, MQ_ERR_NULL);
    EXPECT_BAD(gemm.in_dtype, MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    EXPECT_BAD(in_zero_point, q.in_u8 ? 256 : 128, MQ_ERR_QPARAMS);
    EXPECT_BAD(in_zero_point, q.in_u8 ? -1 : -129, MQ_ERR_QPARAMS);
    bad = cp;
    bad.in_h = 1;
    bad.pad_bottom = 0;
    bad.pad_top = 0;
    bad.stride_h = 2;
    assert_int_equal(mq_conv1x1_output_size(&bad, &oh, &ow), MQ_OK);
    assert_int_equal(oh, 1);
#undef EXPECT_BAD
    ref_problem_free(&q);
}

/*
 * Random parameter blocks mixing valid and invalid values in every field: mq_conv1x1 must return MQ_OK exactly
 * when the documented preconditions hold (checked here independently), and must never touch memory otherwise
 * (ASan build). Buffers are large enough for every valid combination drawn.
 */
static void test_conv_random_params(void **state)
{
    static const int32_t dims[] = {-1, 0, 1, 2, 3, INT32_MAX, (1 << 24) + 1};
    static const int32_t strides[] = {0, 1, 2, 3, -1};
    static const int32_t pads[] = {-1, 0, 1, 5, INT32_MAX};
    static const int32_t nks[] = {-1, 0, 1, 5, 17, 1 << 25};
    static const int32_t zps[] = {-200, -129, -128, 0, 127, 128, 255, 256};
    static const int32_t shifts[] = {-32, -31, -5, 0, 30, 31};
    static const int32_t mults[] = {-1, 0, 1 << 29, 1 << 30, INT32_MAX};
    static const mq_dtype dts[] = {(mq_dtype)0, MQ_DTYPE_INT8, MQ_DTYPE_UINT8, MQ_DTYPE_INT32};
    static int8_t weights[5 * 4 * 2 * 16];
    static int32_t bias[17];
    static int32_t mult[17];
    static int32_t shift[17];
    static uint8_t lut[256];
    static uint8_t in[2 * 3 * 3 * 17];
    static uint8_t out[2 * 13 * 13 * 17];
    static uint8_t scratch[17];
    ref_rng r = {24};
    long ok = 0;
    int it;
    (void)state;
#define PICK(arr) (arr)[ref_range(&r, 0, (int64_t)(sizeof(arr) / sizeof((arr)[0])) - 1)]
    for (it = 0; it < 30000; ++it) {
        mq_conv1x1_params cp;
        int valid = 1;
        int32_t count;
        int32_t c;
        int32_t lo;
        int32_t hi;
        size_t scratch_size;
        mq_status st;
        /* mostly valid values, so that the accepted path is exercised too */
        const int bad = ref_range(&r, 0, 2) == 0;
        memset(&cp, 0, sizeof cp);
        cp.batch = bad ? PICK(dims) : (int32_t)ref_range(&r, 1, 2);
        cp.in_h = bad ? PICK(dims) : (int32_t)ref_range(&r, 1, 3);
        cp.in_w = bad ? PICK(dims) : (int32_t)ref_range(&r, 1, 3);
        cp.stride_h = bad ? PICK(strides) : (int32_t)ref_range(&r, 1, 2);
        cp.stride_w = bad ? PICK(strides) : (int32_t)ref_range(&r, 1, 2);
        cp.pad_top = bad ? PICK(pads) : (int32_t)ref_range(&r, 0, 5);
        cp.pad_left = bad ? PICK(pads) : (int32_t)ref_range(&r, 0, 5);
        cp.pad_bottom = bad ? PICK(pads) : (int32_t)ref_range(&r, 0, 5);
        cp.pad_right = bad ? PICK(pads) : (int32_t)ref_range(&r, 0, 5);
        cp.gemm.n = bad ? PICK(nks) : (int32_t)ref_range(&r, 1, 17);
        cp.gemm.k = bad ? PICK(nks) : (int32_t)ref_range(&r, 1, 17);
        cp.gemm.in_dtype = bad ? PICK(dts) : (ref_range(&r, 0, 1) ? MQ_DTYPE_INT8 : MQ_DTYPE_UINT8);
        cp.gemm.out_dtype = bad ? PICK(dts) : (ref_range(&r, 0, 1) ? MQ_DTYPE_INT8 : MQ_DTYPE_UINT8);
        cp.gemm.per_channel = bad ? (int32_t)ref_range(&r, -1, 2) : (int32_t)ref_range(&r, 0, 1);
        cp.gemm.weights.packed = bad && ref_range(&r, 0, 9) == 0 ? NULL : weights;
        cp.gemm.bias.folded = bad && ref_range(&r, 0, 9) == 0 ? NULL : bias;
        cp.gemm.multiplier = bad && ref_range(&r, 0, 9) == 0 ? NULL : mult;
        cp.gemm.shift = bad && ref_range(&r, 0, 9) == 0 ? NULL : shift;
        cp.gemm.lut = ref_range(&r, 0, 1) ? lut : NULL;
        lo = cp.gemm.out_dtype == MQ_DTYPE_UINT8 ? 0 : -128;
        hi = cp.gemm.out_dtype == MQ_DTYPE_UINT8 ? 255 : 127;
        cp.gemm.out_zero_point = bad ? PICK(zps) : (int32_t)ref_range(&r, lo, hi);
        cp.gemm.act_min = bad ? PICK(zps) : lo;
        cp.gemm.act_max = bad ? PICK(zps) : hi;
        cp.in_zero_point = bad ? PICK(zps) : (cp.gemm.in_dtype == MQ_DTYPE_UINT8 ? 128 : 0);
        for (c = 0; c < 17; ++c) {
            shift[c] = bad && ref_range(&r, 0, 30) == 0 ? PICK(shifts) : (int32_t)ref_range(&r, -31, 0);
            mult[c] = bad && ref_range(&r, 0, 30) == 0 ? PICK(mults) : (1 << 30);
        }
        scratch_size = ref_range(&r, 0, 5) == 0 ? (size_t)ref_range(&r, 0, 16) : sizeof scratch;

        /* independent statement of the preconditions (mq_kernels.h) */
        if (cp.gemm.weights.packed == NULL || cp.gemm.bias.folded == NULL || cp.gemm.multiplier == NULL || cp.gemm.shift == NULL) {
            valid = 0;
        }
        if (cp.batch < 1 || cp.in_h < 1 || cp.in_w < 1 || cp.batch > (1 << 24) || cp.in_h > (1 << 24) ||
            cp.in_w > (1 << 24) || (cp.stride_h != 1 && cp.stride_h != 2) || (cp.stride_w != 1 && cp.stride_w != 2) ||
            cp.pad_top < 0 || cp.pad_left < 0 || cp.pad_bottom < 0 || cp.pad_right < 0 || cp.pad_top > (1 << 24) ||
            cp.pad_left > (1 << 24) || cp.pad_bottom > (1 << 24) || cp.pad_right > (1 << 24)) {
            valid = 0;
        }
        if (cp.gemm.n < 1 || cp.gemm.k < 1 || cp.gemm.n > (1 << 24) || cp.gemm.k > (1 << 24)) {
            valid = 0;
        }
        if ((cp.gemm.in_dtype != MQ_DTYPE_INT8 && cp.gemm.in_dtype != MQ_DTYPE_UINT8) ||
            (cp.gemm.out_dtype != MQ_DTYPE_INT8 && cp.gemm.out_dtype != MQ_DTYPE_UINT8)) {
            valid = 0;
        } else {
            const int32_t ilo = cp.gemm.in_dtype == MQ_DTYPE_UINT8 ? 0 : -128;
            const int32_t ihi = cp.gemm.in_dtype == MQ_DTYPE_UINT8 ? 255 : 127;
            if (cp.gemm.out_zero_point < lo || cp.gemm.out_zero_point > hi || cp.gemm.act_min < lo ||
                cp.gemm.act_max > hi || cp.gemm.act_min > cp.gemm.act_max || cp.in_zero_point < ilo ||
                cp.in_zero_point > ihi) {
                valid = 0;
            }
        }
        if (cp.gemm.per_channel != 0 && cp.gemm.per_channel != 1) {
            valid = 0;
        }
        count = cp.gemm.per_channel == 1 && cp.gemm.n >= 1 && cp.gemm.n <= 17 ? cp.gemm.n : 1;
        for (c = 0; c < count; ++c) {
            if (shift[c] < -31 || shift[c] > 30 || (mult[c] != 0 && mult[c] < (1 << 30))) {
                valid = 0;
            }
        }
        if (valid && (cp.pad_top | cp.pad_left | cp.pad_bottom | cp.pad_right) != 0 &&
            scratch_size < (size_t)cp.gemm.k) {
            valid = 0;
        }
        st = mq_conv1x1(&cp, in, out, scratch, scratch_size);
        if ((st == MQ_OK) != valid) {
            fail_msg("iteration %d: status %d (%s) but the preconditions say %s", it, (int)st, mq_status_str(st),
                     valid ? "valid" : "invalid");
        }
        ok += st == MQ_OK;
    }
#undef PICK
    print_message("random conv parameter blocks: %ld accepted, %ld rejected\n", ok, 30000 - ok);
}

static int report(void **state)
{
    (void)state;
    print_message("test_conv: %ld outputs compared, 0 mismatches; %ld in-place outputs equal to out of place\n",
                  g_checked, g_inplace_checked);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_random_shapes),
        cmocka_unit_test(test_conv_benchmark_shapes),
        cmocka_unit_test(test_conv_rejects_bad),
        cmocka_unit_test(test_conv_random_params),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
