/*
 * Reader of the 16x8 fixture files (csrc/tests/fixtures/s16/<op>.bin, scripts/make_s16_fixtures.py): a sequence of
 * cases, each a set of named arrays (int8/16/32/64, float64) with their shapes. Shared by test_s16_tflite.c and
 * test_model_s16.c (test-only: cmocka asserts on malformed files).
 */
#ifndef MQ_TESTS_FX_S16_H
#define MQ_TESTS_FX_S16_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_ARRAYS 16

typedef struct {
    char name[17];
    int dtype; /* 1 i8, 2 i16, 3 i32, 4 i64, 5 f64 */
    int ndim;
    uint32_t dims[8];
    size_t count;
    const uint8_t *data;
} fx_array;

typedef struct {
    uint32_t op;
    int narrays;
    fx_array a[MAX_ARRAYS];
} fx_case;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static const size_t elem_size[6] = {0, 1, 2, 4, 8, 8};

/* Parses one case at *pos; returns 0 at the end of the buffer. Fails the test on a malformed file. */
static int next_case(const uint8_t *buf, size_t len, size_t *pos, fx_case *c)
{
    size_t p = *pos;
    int i, d;
    if (p >= len) {
        return 0;
    }
    assert_true(p + 12 <= len);
    assert_memory_equal(buf + p, "S16C", 4);
    c->op = rd32(buf + p + 4);
    c->narrays = (int)rd32(buf + p + 8);
    assert_true(c->narrays > 0 && c->narrays <= MAX_ARRAYS);
    p += 12;
    for (i = 0; i < c->narrays; ++i) {
        fx_array *a = &c->a[i];
        assert_true(p + 20 <= len);
        memcpy(a->name, buf + p, 16);
        a->name[16] = 0;
        a->dtype = buf[p + 16];
        a->ndim = buf[p + 17];
        assert_true(a->dtype >= 1 && a->dtype <= 5 && a->ndim >= 1 && a->ndim <= 8);
        p += 20;
        a->count = 1;
        for (d = 0; d < a->ndim; ++d) {
            assert_true(p + 4 <= len);
            a->dims[d] = rd32(buf + p);
            a->count *= a->dims[d];
            p += 4;
        }
        a->data = buf + p;
        p += a->count * elem_size[a->dtype];
        assert_true(p <= len);
    }
    *pos = p;
    return 1;
}

static const fx_array *get(const fx_case *c, const char *name, int dtype)
{
    int i;
    for (i = 0; i < c->narrays; ++i) {
        if (strcmp(c->a[i].name, name) == 0) {
            assert_int_equal(c->a[i].dtype, dtype);
            return &c->a[i];
        }
    }
    fail_msg("fixture array %s missing", name);
    return NULL;
}

/* Little-endian copies (the host is little endian, but be explicit). */
static void *copy_array(const fx_array *a)
{
    void *m = malloc(a->count * elem_size[a->dtype] + 8);
    assert_non_null(m);
    memcpy(m, a->data, a->count * elem_size[a->dtype]);
    return m;
}

static double f64_at(const fx_array *a, size_t i)
{
    double v;
    memcpy(&v, a->data + 8 * i, 8);
    return v;
}

static int32_t i32_at(const fx_array *a, size_t i)
{
    int32_t v;
    memcpy(&v, a->data + 4 * i, 4);
    return v;
}

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    long n;
    uint8_t *buf;
    snprintf(path, sizeof path, "%s/fixtures/s16/%s.bin", MQ_TESTS_DIR, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("missing fixture %s (scripts/make_s16_fixtures.py)", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

#endif /* MQ_TESTS_FX_S16_H */
