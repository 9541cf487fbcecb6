/*
 * Constant pad (mq_pad, mq_pad_check) and concatenation (mq_concat, mq_concat_check) against index
 * references written here (output position -> source position or the pad value), odd shapes, every
 * combination of zero/non-zero pads per axis, the in-place slice case of concat, and every invalid field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_kernels.h"
#include "ref_quant.h"

static void test_pad_random(void **state)
{
    static uint8_t in[4096], out[16384], want[16384];
    ref_rng r = {3};
    int rep;
    long checked = 0;
    (void)state;
    for (rep = 0; rep < 2000; ++rep) {
        mq_pad_params p;
        int32_t od[4];
        int i;
        int64_t n_in = 1, n_out = 1, idx[4];
        memset(&p, 0, sizeof p);
        for (i = 0; i < 4; ++i) {
            p.in_dims[i] = (int32_t)ref_range(&r, 1, 5);
            /* bit i of rep selects zero / non-zero before, bit i+4 after */
            p.before[i] = (rep >> i) & 1 ? (int32_t)ref_range(&r, 1, 3) : 0;
            p.after[i] = (rep >> (i + 4)) & 1 ? (int32_t)ref_range(&r, 1, 3) : 0;
            od[i] = p.in_dims[i] + p.before[i] + p.after[i];
            n_in *= p.in_dims[i];
            n_out *= od[i];
        }
        p.value = (uint8_t)ref_range(&r, 0, 255);
        for (i = 0; i < n_in; ++i) {
            in[i] = (uint8_t)ref_range(&r, 0, 255);
        }
        for (idx[0] = 0; idx[0] < od[0]; ++idx[0])
            for (idx[1] = 0; idx[1] < od[1]; ++idx[1])
                for (idx[2] = 0; idx[2] < od[2]; ++idx[2])
                    for (idx[3] = 0; idx[3] < od[3]; ++idx[3]) {
                        int64_t src = 0, o = 0;
                        int inside = 1;
                        for (i = 0; i < 4; ++i) {
                            const int64_t s = idx[i] - p.before[i];
                            inside &= s >= 0 && s < p.in_dims[i];
                            src = src * p.in_dims[i] + s;
                            o = o * od[i] + idx[i];
                        }
                        want[o] = inside ? in[src] : p.value;
                    }
        assert_int_equal(mq_pad_check(&p), MQ_OK);
        memset(out, 0x5A, sizeof out);
        assert_int_equal(mq_pad(&p, in, out), MQ_OK);
        assert_memory_equal(out, want, (size_t)n_out);
        assert_int_equal(out[n_out], 0x5A);
        checked += n_out;
    }
    printf("pad: 2000 shapes (every zero/non-zero pad pattern), %ld bytes checked\n", checked);
}

static void test_pad_rejects_bad(void **state)
{
    mq_pad_params p;
    uint8_t buf[64];
    int i;
    (void)state;
    assert_int_equal(mq_pad_check(NULL), MQ_ERR_NULL);
    for (i = 0; i < 4; ++i) {
        memset(&p, 0, sizeof p);
        p.in_dims[0] = p.in_dims[1] = p.in_dims[2] = p.in_dims[3] = 1;
        assert_int_equal(mq_pad_check(&p), MQ_OK);
        assert_int_equal(mq_pad(&p, buf, NULL), MQ_ERR_NULL);
        assert_int_equal(mq_pad(&p, buf, buf), MQ_ERR_BUFFER);
        p.in_dims[i] = 0;
        assert_int_equal(mq_pad_check(&p), MQ_ERR_SHAPE);
        assert_int_equal(mq_pad(&p, buf, buf + 32), MQ_ERR_SHAPE);
        p.in_dims[i] = 1;
        p.before[i] = -1;
        assert_int_equal(mq_pad_check(&p), MQ_ERR_SHAPE);
        p.before[i] = 0;
        p.after[i] = -1;
        assert_int_equal(mq_pad_check(&p), MQ_ERR_SHAPE);
        p.after[i] = (1 << 24) + 1;
        assert_int_equal(mq_pad_check(&p), MQ_ERR_SHAPE);
        p.after[i] = 0;
        p.in_dims[i] = (1 << 24) + 1;
        assert_int_equal(mq_pad_check(&p), MQ_ERR_SHAPE);
    }
    memset(&p, 0, sizeof p);
    p.in_dims[0] = p.in_dims[1] = 1 << 12;
    p.in_dims[2] = p.in_dims[3] = 1;
    p.after[2] = 200;                                   /* 2^24 * 201 output elements > INT32_MAX */
    assert_int_equal(mq_pad_check(&p), MQ_ERR_SHAPE);
}

static void test_concat_random(void **state)
{
    static uint8_t src[8][2048], out[8192], want[8192];
    ref_rng r = {11};
    int rep;
    long checked = 0;
    (void)state;
    for (rep = 0; rep < 1000; ++rep) {
        mq_concat_params p;
        const void *ins[8];
        int i;
        int64_t o, a, j, total = 0, off = 0;
        memset(&p, 0, sizeof p);
        p.num_inputs = (int32_t)ref_range(&r, 1, MQ_CONCAT_MAX_INPUTS);
        p.outer = (int32_t)ref_range(&r, 1, 7);
        p.inner = (int32_t)ref_range(&r, 1, 5);
        for (i = 0; i < p.num_inputs; ++i) {
            p.axis_sizes[i] = (int32_t)ref_range(&r, 1, 9);
            total += p.axis_sizes[i];
            for (j = 0; j < (int64_t)p.outer * p.axis_sizes[i] * p.inner; ++j) {
                src[i][j] = (uint8_t)ref_range(&r, 0, 255);
            }
            ins[i] = src[i];
        }
        for (i = 0; i < p.num_inputs; ++i) {
            for (o = 0; o < p.outer; ++o)
                for (a = 0; a < p.axis_sizes[i]; ++a)
                    for (j = 0; j < p.inner; ++j) {
                        want[(o * total + off + a) * p.inner + j] = src[i][(o * p.axis_sizes[i] + a) * p.inner + j];
                    }
            off += p.axis_sizes[i];
        }
        assert_int_equal(mq_concat_check(&p), MQ_OK);
        memset(out, 0x33, sizeof out);
        assert_int_equal(mq_concat(&p, ins, out), MQ_OK);
        assert_memory_equal(out, want, (size_t)(p.outer * total * p.inner));
        assert_int_equal(out[p.outer * total * p.inner], 0x33);
        checked += p.outer * total * p.inner;
    }
    printf("concat: 1000 shapes, %ld bytes checked\n", checked);
}

/* the planner's free concat: producers already wrote into their slices (outer == 1): nothing moves */
static void test_concat_in_place(void **state)
{
    mq_concat_params p;
    uint8_t out[32], ext[8];
    const void *ins[3];
    int i;
    (void)state;
    memset(&p, 0, sizeof p);
    p.num_inputs = 3;
    p.outer = 1;
    p.inner = 2;
    p.axis_sizes[0] = 3;
    p.axis_sizes[1] = 4;
    p.axis_sizes[2] = 2;
    for (i = 0; i < 32; ++i) {
        out[i] = (uint8_t)(i * 7);
    }
    for (i = 0; i < 8; ++i) {
        ext[i] = (uint8_t)(200 + i);
    }
    ins[0] = out;          /* in place */
    ins[1] = ext;          /* copied */
    ins[2] = out + 14;     /* in place */
    assert_int_equal(mq_concat(&p, ins, out), MQ_OK);
    for (i = 0; i < 18; ++i) {
        assert_int_equal(out[i], i >= 6 && i < 14 ? 200 + (i - 6) : (uint8_t)(i * 7));
    }
    ins[1] = out + 5;      /* overlaps the output, not at its slice */
    assert_int_equal(mq_concat(&p, ins, out), MQ_ERR_BUFFER);
    p.outer = 2;           /* with outer > 1 an input inside the output is never its slice */
    ins[1] = ext;
    ins[0] = out;
    assert_int_equal(mq_concat(&p, ins, out), MQ_ERR_BUFFER);
}

static void test_concat_rejects_bad(void **state)
{
    mq_concat_params p;
    uint8_t a[8], out[64];
    const void *ins[2] = {a, NULL};
    (void)state;
    assert_int_equal(mq_concat_check(NULL), MQ_ERR_NULL);
#define VALID()                  \
    do {                         \
        memset(&p, 0, sizeof p); \
        p.num_inputs = 1;        \
        p.outer = 2;             \
        p.inner = 2;             \
        p.axis_sizes[0] = 2;     \
    } while (0)
#define BAD(stmt, err)                                 \
    do {                                               \
        VALID();                                       \
        stmt;                                          \
        assert_int_equal(mq_concat_check(&p), err);    \
        assert_int_equal(mq_concat(&p, ins, out), err); \
    } while (0)
    VALID();
    assert_int_equal(mq_concat(&p, ins, out), MQ_OK);
    assert_int_equal(mq_concat(&p, NULL, out), MQ_ERR_NULL);
    BAD(p.num_inputs = 0, MQ_ERR_SHAPE);
    BAD(p.num_inputs = MQ_CONCAT_MAX_INPUTS + 1, MQ_ERR_SHAPE);
    BAD(p.outer = 0, MQ_ERR_SHAPE);
    BAD(p.inner = -1, MQ_ERR_SHAPE);
    BAD(p.axis_sizes[0] = 0, MQ_ERR_SHAPE);
    BAD(p.axis_sizes[5] = 1, MQ_ERR_SHAPE);                 /* unused entries must be 0 */
    BAD((p.outer = 1 << 16, p.inner = 1 << 16), MQ_ERR_SHAPE);
    VALID();
    p.num_inputs = 2;
    p.axis_sizes[1] = 3;
    assert_int_equal(mq_concat_check(&p), MQ_OK);
    assert_int_equal(mq_concat(&p, ins, out), MQ_ERR_NULL);   /* ins[1] is NULL */
#undef BAD
#undef VALID
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pad_random),
        cmocka_unit_test(test_pad_rejects_bad),
        cmocka_unit_test(test_concat_random),
        cmocka_unit_test(test_concat_in_place),
        cmocka_unit_test(test_concat_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
