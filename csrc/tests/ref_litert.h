/*
 * Test-only reader of the TFLite reference fixtures written by scripts/gen_litert_fixtures.py (ai-edge-litert,
 * OpResolverType.BUILTIN_REF): csrc/tests/fixtures/litert_kws.bin and litert_ops.bin. The record layout is
 * documented at the top of that script.
 */
#ifndef MQ_TESTS_REF_LITERT_H
#define MQ_TESTS_REF_LITERT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LR_AVG_POOL = 1, LR_MAX_POOL = 2, LR_MEAN = 3, LR_MUL = 4, LR_SOFTMAX = 5, LR_QUANTIZE = 6, LR_ADD = 7 };

typedef struct {
    int32_t w[48];
    const uint8_t *data;          /* num_samples x (in1, in2, out) */
} lr_record;

typedef struct {
    uint8_t *buf;
    size_t size;
    uint32_t count;
    size_t pos;                   /* next record */
    uint32_t index;
} lr_file;

static inline int lr_open(lr_file *f, const char *name)
{
    char path[1024];
    FILE *fp;
    long n;
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/fixtures/%s", MQ_TESTS_DIR, name);
    fp = fopen(path, "rb");
    if (fp == NULL) {
        return 0;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->buf = (uint8_t *)malloc((size_t)n);
    if (f->buf == NULL || fread(f->buf, 1, (size_t)n, fp) != (size_t)n || n < 12 || memcmp(f->buf, "MQLF", 4) != 0) {
        fclose(fp);
        return 0;
    }
    fclose(fp);
    f->size = (size_t)n;
    memcpy(&f->count, f->buf + 8, 4);
    f->pos = 12;
    return 1;
}

/* Next record, or 0 at the end (or on a truncated file: then pos != size). */
static inline int lr_next(lr_file *f, lr_record *r)
{
    size_t sample;
    if (f->index >= f->count || f->pos + sizeof r->w > f->size) {
        return 0;
    }
    memcpy(r->w, f->buf + f->pos, sizeof r->w);
    sample = (size_t)r->w[35] + (size_t)r->w[36] + (size_t)r->w[37];
    r->data = f->buf + f->pos + sizeof r->w;
    if (f->pos + sizeof r->w + sample * (size_t)r->w[34] > f->size) {
        return 0;
    }
    f->pos += sizeof r->w + sample * (size_t)r->w[34];
    f->index++;
    return 1;
}

static inline void lr_close(lr_file *f)
{
    free(f->buf);
    f->buf = NULL;
}

static inline float lr_f32(int32_t bits)
{
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

/* sample k: pointers to its in1, in2 and out bytes */
static inline void lr_sample(const lr_record *r, int k, const uint8_t **in1, const uint8_t **in2, const uint8_t **out)
{
    const size_t sample = (size_t)r->w[35] + (size_t)r->w[36] + (size_t)r->w[37];
    const uint8_t *s = r->data + (size_t)k * sample;
    *in1 = s;
    *in2 = s + r->w[35];
    *out = s + r->w[35] + r->w[36];
}

#endif /* MQ_TESTS_REF_LITERT_H */
