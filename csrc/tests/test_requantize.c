/*
 * 8-bit requantize (mq_requantize_u8, mq_requantize_check, mq_requantize_prepare) against
 * (a) an int64 reference written here over every input code, int8/uint8 in and out, multipliers below and
 *     above 1, in place;
 * (b) TFLite's reference QUANTIZE int8/uint8 -> int8/uint8 (ai-edge-litert BUILTIN_REF, every code;
 *     fixtures/litert_ops.bin), byte for byte; (c) every invalid field rejected.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_kernels.h"
#include "ref_litert.h"
#include "ref_quant.h"

static void test_requantize_every_code(void **state)
{
    ref_rng r = {77};
    long checked = 0, far = 0;
    int rep;
    (void)state;
    for (rep = 0; rep < 400; ++rep) {
        const mq_dtype ti = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const mq_dtype to = ref_range(&r, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
        const double si = ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 0));
        const double so = rep % 7 == 0 ? si : ldexp(0.5 + ref_unit(&r), (int)ref_range(&r, -9, 0));
        const int32_t zi = (int32_t)ref_range(&r, mq_dtype_min(ti), mq_dtype_max(ti));
        const int32_t zo = (int32_t)ref_range(&r, mq_dtype_min(to), mq_dtype_max(to));
        mq_requantize_params p;
        uint8_t in[256], out[256];
        int i;
        assert_int_equal(mq_requantize_prepare(si, zi, ti, so, zo, to, &p), MQ_OK);
        for (i = 0; i < 256; ++i) {
            in[i] = (uint8_t)i;
        }
        if (rep % 2) {
            assert_int_equal(mq_requantize_u8(&p, in, out, 256), MQ_OK);
        } else {
            memcpy(out, in, 256);
            assert_int_equal(mq_requantize_u8(&p, out, out, 256), MQ_OK);   /* in place */
        }
        for (i = 0; i < 256; ++i) {
            const int32_t x = ref_code(in[i], ti == MQ_DTYPE_UINT8);
            int64_t v = zo + (int64_t)ref_requantize(x - zi, p.multiplier, p.shift);
            const int32_t g = ref_code(out[i], to == MQ_DTYPE_UINT8);
            const double exact = fmin(fmax(zo + (x - zi) * si / so, mq_dtype_min(to)), mq_dtype_max(to));
            v = v < mq_dtype_min(to) ? mq_dtype_min(to) : (v > mq_dtype_max(to) ? mq_dtype_max(to) : v);
            assert_int_equal(g, (int32_t)v);
            far += fabs(g - exact) > 1.0;   /* double rounding: small x keep few bits in SRDHM */
        }
        checked += 256;
    }
    printf("requantize: %ld codes checked against the int64 reference, %ld beyond 1 code of float64\n", checked, far);
    assert_int_equal(far, 0);
}

static void test_requantize_litert(void **state)
{
    lr_file f;
    lr_record r;
    int records = 0, flips = 0;
    long bytes = 0;
    uint8_t got[256];
    (void)state;
    assert_true(lr_open(&f, "litert_ops.bin"));
    while (lr_next(&f, &r)) {
        mq_requantize_params p;
        const uint8_t *in, *in2, *want;
        if (r.w[0] != LR_QUANTIZE) {
            continue;
        }
        assert_int_equal(mq_requantize_prepare((double)lr_f32(r.w[7]), r.w[4], (mq_dtype)r.w[1],
                                               (double)lr_f32(r.w[9]), r.w[6], (mq_dtype)r.w[3], &p), MQ_OK);
        lr_sample(&r, 0, &in, &in2, &want);
        assert_int_equal(mq_requantize_u8(&p, in, got, (size_t)r.w[35]), MQ_OK);
        if (memcmp(got, want, (size_t)r.w[37]) != 0) {
            fail_msg("QUANTIZE record %u (dtypes %d -> %d) differs from TFLite", f.index, r.w[1], r.w[3]);
        }
        flips += r.w[1] != r.w[3] && r.w[7] == r.w[9];
        bytes += r.w[37];
        records++;
    }
    lr_close(&f);
    printf("requantize vs TFLite reference QUANTIZE (ai-edge-litert): %d models (%d int8<->uint8 same-scale), "
           "%ld codes identical\n", records, flips, bytes);
    assert_true(records >= 20 && flips >= 4);
}

static void valid(mq_requantize_params *p)
{
    assert_int_equal(mq_requantize_prepare(0.02, 3, MQ_DTYPE_INT8, 0.05, 100, MQ_DTYPE_UINT8, p), MQ_OK);
}

static void test_requantize_rejects_bad(void **state)
{
    mq_requantize_params p;
    uint8_t buf[64];
    (void)state;
    assert_int_equal(mq_requantize_check(NULL), MQ_ERR_NULL);
    valid(&p);
    assert_int_equal(mq_requantize_u8(&p, NULL, buf, 4), MQ_ERR_NULL);
    assert_int_equal(mq_requantize_u8(&p, buf, buf + 2, 4), MQ_ERR_BUFFER);
    assert_int_equal(mq_requantize_u8(&p, buf, buf + 32, 0), MQ_OK);
#define BAD(stmt, err)                                              \
    do {                                                            \
        valid(&p);                                                  \
        stmt;                                                       \
        assert_int_equal(mq_requantize_check(&p), err);             \
        assert_int_equal(mq_requantize_u8(&p, buf, buf + 32, 8), err); \
    } while (0)
    BAD(p.in_dtype = MQ_DTYPE_INT32, MQ_ERR_DTYPE);
    BAD(p.out_dtype = (mq_dtype)0, MQ_ERR_DTYPE);
    BAD(p.in_zero_point = 128, MQ_ERR_QPARAMS);
    BAD(p.out_zero_point = 256, MQ_ERR_QPARAMS);
    BAD(p.out_zero_point = -1, MQ_ERR_QPARAMS);
    BAD(p.multiplier = (1 << 30) - 1, MQ_ERR_QPARAMS);
    BAD(p.multiplier = INT32_MIN, MQ_ERR_QPARAMS);
    BAD(p.shift = 31, MQ_ERR_QPARAMS);
    BAD(p.shift = -32, MQ_ERR_QPARAMS);
#undef BAD
    assert_int_equal(mq_requantize_prepare(-1.0, 0, MQ_DTYPE_INT8, 0.1, 0, MQ_DTYPE_INT8, &p), MQ_ERR_QPARAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requantize_every_code),
        cmocka_unit_test(test_requantize_litert),
        cmocka_unit_test(test_requantize_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
