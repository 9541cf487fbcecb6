/*
 * Transpose of byte tensors, rank 1..6: every output element checked against an index computation written
 * here (output multi-index -> input multi-index through the permutation); invalid permutations, ranks,
 * dims and overlapping buffers rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_kernels.h"
#include "ref_quant.h"

static long g_checked;

static void run_transpose(ref_rng *r, int32_t rank, const int32_t *dims, const int32_t *perm)
{
    size_t total = 1;
    int32_t out_dims[MQ_MAX_RANK];
    uint8_t *x;
    uint8_t *y;
    size_t t;
    int32_t a;
    for (a = 0; a < rank; ++a) {
        total *= (size_t)dims[a];
        out_dims[a] = dims[perm[a]];
    }
    x = (uint8_t *)malloc(total);
    y = (uint8_t *)malloc(total);
    assert_non_null(x);
    assert_non_null(y);
    for (t = 0; t < total; ++t) {
        x[t] = (uint8_t)ref_range(r, 0, 255);
    }
    assert_int_equal(mq_transpose_u8(dims, perm, rank, x, y), MQ_OK);
    for (t = 0; t < total; ++t) {
        /* decompose the output linear index, then place output axis a at input axis perm[a] */
        size_t rem = t;
        size_t out_idx[MQ_MAX_RANK];
        size_t in_idx[MQ_MAX_RANK];
        size_t src = 0;
        for (a = rank - 1; a >= 0; --a) {
            out_idx[a] = rem % (size_t)out_dims[a];
            rem /= (size_t)out_dims[a];
        }
        for (a = 0; a < rank; ++a) {
            in_idx[perm[a]] = out_idx[a];
        }
        for (a = 0; a < rank; ++a) {
            src = src * (size_t)dims[a] + in_idx[a];
        }
        assert_int_equal(y[t], x[src]);
        ++g_checked;
    }
    free(x);
    free(y);
}

static void test_transpose_random(void **state)
{
    ref_rng r = {61};
    int rep;
    (void)state;
    for (rep = 0; rep < 600; ++rep) {
        const int32_t rank = (int32_t)(rep % MQ_MAX_RANK) + 1;
        int32_t dims[MQ_MAX_RANK];
        int32_t perm[MQ_MAX_RANK];
        int32_t a;
        for (a = 0; a < rank; ++a) {
            dims[a] = (int32_t)ref_range(&r, 1, rank > 4 ? 4 : 7);
            perm[a] = a;
        }
        for (a = rank - 1; a > 0; --a) { /* Fisher-Yates */
            const int32_t b = (int32_t)ref_range(&r, 0, a);
            const int32_t tmp = perm[a];
            perm[a] = perm[b];
            perm[b] = tmp;
        }
        run_transpose(&r, rank, dims, perm);
    }
    {
        const int32_t dims[4] = {1, 8, 8, 16};
        const int32_t nchw[4] = {0, 3, 1, 2};
        run_transpose(&r, 4, dims, nchw);
    }
}

static void test_transpose_rejects_bad(void **state)
{
    const int32_t dims[3] = {2, 3, 4};
    const int32_t perm[3] = {2, 0, 1};
    const int32_t dup[3] = {0, 0, 1};
    const int32_t out_of_range[3] = {0, 1, 3};
    const int32_t neg[3] = {0, -1, 1};
    const int32_t zero_dim[3] = {2, 0, 4};
    const int32_t seven[7] = {1, 1, 1, 1, 1, 1, 1};
    const int32_t perm7[7] = {0, 1, 2, 3, 4, 5, 6};
    uint8_t x[24] = {0};
    uint8_t y[48] = {0};
    (void)state;
    assert_int_equal(mq_transpose_u8(dims, perm, 3, x, y), MQ_OK);
    assert_int_equal(mq_transpose_u8(NULL, perm, 3, x, y), MQ_ERR_NULL);
    assert_int_equal(mq_transpose_u8(dims, NULL, 3, x, y), MQ_ERR_NULL);
    assert_int_equal(mq_transpose_u8(dims, perm, 3, NULL, y), MQ_ERR_NULL);
    assert_int_equal(mq_transpose_u8(dims, perm, 3, x, NULL), MQ_ERR_NULL);
    assert_int_equal(mq_transpose_u8(dims, dup, 3, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_transpose_u8(dims, out_of_range, 3, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_transpose_u8(dims, neg, 3, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_transpose_u8(zero_dim, perm, 3, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_transpose_u8(dims, perm, 0, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_transpose_u8(seven, perm7, 7, x, y), MQ_ERR_SHAPE);
    assert_int_equal(mq_transpose_u8(dims, perm, 3, y, y + 8), MQ_ERR_BUFFER);
    assert_int_equal(mq_transpose_u8(dims, perm, 3, y, y), MQ_ERR_BUFFER);
}

static int report(void **state)
{
    (void)state;
    print_message("test_transpose: %ld outputs compared, 0 mismatches\n", g_checked);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_random),
        cmocka_unit_test(test_transpose_rejects_bad),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
