/*
 * The row-streamed segment (packed op type ROW_STREAM = 20, op flag bit 4; docs/FORMAT.md "Row-streamed segment").
 * Random segments (KxK convolutions with kernels 1..5, strides 1..2, dilation 1..2 and any padding, depthwise
 * convolutions, 1x1 convolutions with stride 1..2, LUTs, residual ADDs reading the segment input or another member,
 * ADDs with a constant broadcast operand) are written twice by mq_writer_write: layer by layer (the ordinary ops on
 * whole tensors, every tensor apart: the kernels the other tests check against int64 references and TFLite) and as
 * one ROW_STREAM op whose members keep rings of rows, the output in place over the segment input when the loader's
 * row schedule accepts it, else apart. Both are loaded (CRC checked) and run on random inputs: every output byte must
 * be equal. Then the loader's rejections (ring too small, ring over the input, rings or scratch overlapping, an
 * unused ring, a missing or stray member flag, members past the last op, an in-place output a later row still
 * needs) and every single-bit flip of a streamed blob (rejected, or runs without fault: sanitizers in
 * scripts/test-c.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "microquant/mq_host.h"
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#include "ref_quant.h"
#include "fx_bitflip.h"

static void *alloc16(size_t n)
{
    void *p = malloc(n + 16u);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p & 15u, 0);
    return p;
}

static size_t up16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* ---- a random segment --------------------------------------------------------------------------------------- */

enum { K_CONV, K_DW, K_1X1, K_LUT, K_ADD };
#define MAXL 6
#define MAXC 6
#define MAXK 5

typedef struct {
    int kind;
    int src0, src1;            /* -1: segment input S; k: layer k; src1 -2: a constant (ADD) */
    int32_t h, w, c;           /* output dims */
    int32_t zp;
    float scale;
    mq_window win;
    int8_t wt[MAXC * MAXK * MAXK * MAXC * 2];
    int32_t bias[MAXC * 2];
    float ws[MAXC * 2];
    uint8_t buf[16384] __attribute__((aligned(16)));
    uint8_t lut[256];
    mq_conv_params cv;
    mq_depthwise_params dw;
    mq_conv1x1_params c1;
    mq_add_params add;
    int bcast;                 /* ADD with a constant x2: MQ_BCAST_* */
    int8_t konst[16 * 16 * MAXC];
} layer;

typedef struct {
    mq_dtype dt;
    int32_t h, w, c, zp;
    float scale;
    int n;
    layer L[MAXL];
    int single_rounding;
} segment;

static int32_t lo8(mq_dtype dt)
{
    return dt == MQ_DTYPE_UINT8 ? 0 : -128;
}

static void dims_of(const segment *s, int k, int32_t *h, int32_t *w, int32_t *c, int32_t *zp, float *scale)
{
    if (k < 0) {
        *h = s->h, *w = s->w, *c = s->c, *zp = s->zp, *scale = s->scale;
    } else {
        *h = s->L[k].h, *w = s->L[k].w, *c = s->L[k].c, *zp = s->L[k].zp, *scale = s->L[k].scale;
    }
}

/* Output size of one axis; pads adjusted so that it is >= 1 with pads < extent (every row reads an input row). */
static int32_t axis(ref_rng *g, int32_t in, int32_t k, int32_t s, int32_t d, int32_t *pa, int32_t *pb, int same)
{
    const int32_t ext = d * (k - 1) + 1;
    if (same) {
        const int32_t out = (in + s - 1) / s, total = (out - 1) * s + ext - in;
        *pa = total > 0 ? total / 2 : 0;
        *pb = total > 0 ? total - *pa : 0;
    } else {
        *pa = (int32_t)ref_range(g, 0, ext - 1);
        *pb = (int32_t)ref_range(g, 0, ext - 1);
    }
    if (in + *pa + *pb < ext) {
        *pb = ext - in - *pa;
    }
    return (in + *pa + *pb - ext) / s + 1;
}

static void quant(segment *s, layer *l, ref_rng *g, int32_t in_zp, float in_scale, mq_layer_quant *q)
{
    int32_t i;
    memset(q, 0, sizeof *q);
    l->zp = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
    l->scale = 0.02f + 0.01f * (float)ref_range(g, 0, 8);
    for (i = 0; i < MAXC * 2; i++) {
        l->ws[i] = 0.002f + 0.001f * (float)ref_range(g, 0, 9);
        l->bias[i] = (int32_t)ref_range(g, -3000, 3000);
    }
    for (i = 0; i < (int32_t)sizeof l->wt; i++) {
        l->wt[i] = (int8_t)ref_range(g, -127, 127);
    }
    for (i = 0; i < 256; i++) {
        l->lut[i] = (uint8_t)ref_range(g, 0, 255);
    }
    q->in_scale = in_scale;
    q->weight_scales = l->ws;
    q->weight_per_channel = (int32_t)ref_range(g, 0, 1);
    q->out_scale = l->scale;
    q->in_dtype = q->out_dtype = s->dt;
    q->in_zero_point = in_zp;
    q->out_zero_point = l->zp;
    q->act_min = ref_range(g, 0, 2) == 0 ? l->zp : lo8(s->dt); /* ReLU sometimes */
    q->act_max = lo8(s->dt) + 255;
    q->lut = ref_range(g, 0, 3) == 0 ? l->lut : NULL;
}

/* Layer k reading src (its dims): kind as given, geometry at random (same-padded when same). */
static void make_layer(segment *s, ref_rng *g, int k, int kind, int src, int same, int32_t stride, int32_t kern,
                       int32_t out_c)
{
    layer *l = &s->L[k];
    int32_t ih, iw, ic, izp, i;
    float isc;
    mq_layer_quant q;
    dims_of(s, src, &ih, &iw, &ic, &izp, &isc);
    l->kind = kind;
    l->src0 = src;
    l->src1 = -3;
    quant(s, l, g, izp, isc, &q);
    memset(&l->win, 0, sizeof l->win);
    l->win.batch = 1;
    l->win.in_h = ih;
    l->win.in_w = iw;
    if (kind == K_CONV || kind == K_DW) {
        const int32_t kh = kern > 0 ? kern : (int32_t)ref_range(g, 1, kind == K_DW ? 3 : MAXK);
        const int32_t kw = kern > 0 ? kern : (int32_t)ref_range(g, 1, kind == K_DW ? 3 : MAXK);
        l->win.kernel_h = kh;
        l->win.kernel_w = kw;
        l->win.stride_h = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->win.stride_w = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->win.dilation_h = same || ref_range(g, 0, 3) != 0 ? 1 : 2;
        l->win.dilation_w = same || ref_range(g, 0, 3) != 0 ? 1 : 2;
        l->win.out_h = axis(g, ih, kh, l->win.stride_h, l->win.dilation_h, &l->win.pad_top, &l->win.pad_bottom, same);
        l->win.out_w = axis(g, iw, kw, l->win.stride_w, l->win.dilation_w, &l->win.pad_left, &l->win.pad_right, same);
        l->h = l->win.out_h;
        l->w = l->win.out_w;
        if (kind == K_CONV) {
            l->c = out_c > 0 ? out_c : (int32_t)ref_range(g, 1, MAXC);
            assert_int_equal(mq_conv_prepare(l->wt, l->bias, &l->win, ic, l->c, &q, l->buf, sizeof l->buf, &l->cv),
                             MQ_OK);
        } else {
            const int32_t mult = out_c > 0 ? out_c / ic : (int32_t)ref_range(g, 1, 2);
            l->c = ic * mult;
            assert_int_equal(
                mq_depthwise_prepare(l->wt, l->bias, &l->win, ic, mult, &q, l->buf, sizeof l->buf, &l->dw), MQ_OK);
        }
    } else if (kind == K_1X1) {
        memset(&l->c1, 0, sizeof l->c1);
        l->c1.stride_h = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->c1.stride_w = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->c1.pad_left = same ? 0 : (int32_t)ref_range(g, 0, 1);
        l->c1.pad_right = same ? 0 : (int32_t)ref_range(g, 0, 1);
        l->c = out_c > 0 ? out_c : (int32_t)ref_range(g, 1, MAXC);
        l->h = (ih - 1) / l->c1.stride_h + 1;
        l->w = (iw + l->c1.pad_left + l->c1.pad_right - 1) / l->c1.stride_w + 1;
        assert_int_equal(mq_fc_prepare(l->wt, l->bias, l->c, ic, &q, l->buf, sizeof l->buf, &l->c1.gemm), MQ_OK);
        l->c1.in_zero_point = izp;
    } else { /* LUT */
        l->h = ih, l->w = iw, l->c = ic;
        l->zp = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
    }
    (void)i;
}

/* ADD of x1 = layer a and x2 = layer/input b (same shape), or a constant x2 (b == -2). */
static void make_add(segment *s, ref_rng *g, int k, int a, int b)
{
    layer *l = &s->L[k];
    int32_t h1, w1, c1, z1, h2, w2, c2, z2, i;
    float s1, s2;
    dims_of(s, a, &h1, &w1, &c1, &z1, &s1);
    l->kind = K_ADD;
    l->src0 = a;
    l->src1 = b;
    l->h = h1, l->w = w1, l->c = c1;
    l->zp = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
    l->scale = 0.03f + 0.01f * (float)ref_range(g, 0, 5);
    if (b == -2) {
        l->bcast = (int)ref_range(g, 0, 2);
        z2 = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
        s2 = 0.05f;
        for (i = 0; i < (int32_t)sizeof l->konst; i++) {
            l->konst[i] = (int8_t)ref_range(g, -128, 127);
        }
    } else {
        dims_of(s, b, &h2, &w2, &c2, &z2, &s2);
        assert_true(h2 == h1 && w2 == w1 && c2 == c1);
        l->bcast = MQ_BCAST_NONE;
    }
    assert_int_equal(mq_add_prepare(s1, z1, s->dt, s2, z2, s->dt, l->scale, l->zp, s->dt, lo8(s->dt),
                                    lo8(s->dt) + 255, &l->add),
                     MQ_OK);
    l->add.in2_zero_point = z2;
}

/* pattern 0: random chain, optional residual ADD with S; 1: IC stage 1 (3x3 same, 3x3 same, ADD S);
 * 2: IC stage 2 (3x3 s2, 3x3, 1x1 s2 from S, ADD); 3: chain ending in an ADD with a constant. */
static void make_segment(segment *s, ref_rng *g, int pattern)
{
    int i, n;
    memset(s, 0, sizeof *s);
    s->dt = ref_range(g, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    s->h = (int32_t)ref_range(g, 1, 10);
    s->w = (int32_t)ref_range(g, 1, 7);
    s->c = (int32_t)ref_range(g, 1, MAXC);
    s->zp = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
    s->scale = 0.05f;
    s->single_rounding = ref_range(g, 0, 3) == 0;
    if (pattern == 1) {
        make_layer(s, g, 0, K_CONV, -1, 1, 1, 3, s->c);
        make_layer(s, g, 1, K_CONV, 0, 1, 1, 3, s->c);
        make_add(s, g, 2, 1, -1);
        s->n = 3;
        return;
    }
    if (pattern == 2) {
        const int32_t c2 = (int32_t)ref_range(g, 1, MAXC);
        make_layer(s, g, 0, K_CONV, -1, 1, 2, 3, c2);
        make_layer(s, g, 1, K_CONV, 0, 1, 1, 3, c2);
        make_layer(s, g, 2, K_1X1, -1, 1, 2, 1, c2);
        make_add(s, g, 3, 1, 2);
        s->n = 4;
        return;
    }
    n = (int)ref_range(g, 1, 4);
    for (i = 0; i < n; i++) {
        const int kind = (int)ref_range(g, 0, 3);
        make_layer(s, g, i, kind, i - 1, 0, 0, 0, 0);
    }
    s->n = n;
    if (pattern == 3) {
        make_add(s, g, n, n - 1, -2);
        s->n = n + 1;
    } else if (s->L[n - 1].h == s->h && s->L[n - 1].w == s->w && s->L[n - 1].c == s->c && ref_range(g, 0, 2) != 0) {
        if (ref_range(g, 0, 1)) {
            make_add(s, g, n, n - 1, -1);
        } else {
            make_add(s, g, n, -1, n - 1);
        }
        s->n = n + 1;
    }
}

/* ---- writing both forms ------------------------------------------------------------------------------------- */

typedef struct {
    mq_writer_tensor t[MAXL + 3];
    mq_writer_op ops[MAXL + 2];
    int nops;
    int32_t in_id, out_id;
    mq_writer_model m;
} desc;

static size_t row_bytes(const layer *l)
{
    return (size_t)l->w * (size_t)l->c;
}

/* tensor 0 = S, 1 + k = layer k's output, MAXL + 1 + k... constants at MAXL + 1 (one ADD constant at most) */
static void describe(desc *d, segment *s, int rows, uint32_t flags_first)
{
    int k;
    memset(d, 0, sizeof *d);
    d->t[0].dtype = s->dt;
    d->t[0].rank = 4;
    d->t[0].dims[0] = 1;
    d->t[0].dims[1] = s->h;
    d->t[0].dims[2] = s->w;
    d->t[0].dims[3] = s->c;
    d->t[0].zero_point = s->zp;
    d->t[0].scale = s->scale;
    d->t[0].storage = MQ_STORAGE_ARENA;
    for (k = 0; k < s->n; k++) {
        layer *l = &s->L[k];
        mq_writer_tensor *t = &d->t[1 + k];
        const int32_t x = l->src0 + 1;
        mq_writer_op *o;
        t->dtype = s->dt;
        t->rank = 4;
        t->dims[0] = 1;
        t->dims[1] = l->h;
        t->dims[2] = l->w;
        t->dims[3] = l->c;
        t->zero_point = l->zp;
        t->scale = l->scale;
        t->storage = MQ_STORAGE_ARENA;
        o = &d->ops[d->nops++];
        switch (l->kind) {
        case K_CONV:
            *o = mq_writer_op_conv(x, 1 + k, &l->cv, 0u);
            break;
        case K_DW:
            *o = mq_writer_op_depthwise_conv(x, 1 + k, &l->dw, 0u);
            break;
        case K_1X1:
            *o = mq_writer_op_conv1x1(x, 1 + k, &l->c1, 0u);
            break;
        case K_LUT:
            *o = mq_writer_op_lut(x, 1 + k, l->lut);
            break;
        default: {
            int32_t x2 = l->src1 + 1;
            if (l->src1 == -2) {
                mq_writer_tensor *c = &d->t[MAXL + 1];
                x2 = MAXL + 1;
                c->dtype = s->dt;
                c->rank = 4;
                c->dims[0] = 1;
                c->dims[1] = l->bcast == MQ_BCAST_NONE ? l->h : 1;
                c->dims[2] = l->bcast == MQ_BCAST_NONE ? l->w : 1;
                c->dims[3] = l->bcast == MQ_BCAST_SCALAR ? 1 : l->c;
                c->zero_point = l->add.in2_zero_point;
                c->scale = 0.05f;
                c->storage = MQ_STORAGE_CONST;
                c->data = l->konst;
            }
            *o = mq_writer_op_add(x, x2, 1 + k, &l->add);
            o->add.broadcast = (mq_broadcast)l->bcast;
            break;
        }
        }
        if (rows) {
            o->flags = MQ_WRITER_OP_ROW_MEMBER;
        }
    }
    d->in_id = 0;
    d->out_id = s->n;
    /* tensors without a constant: the constant slot is a dummy arena tensor of 16 bytes */
    if (d->t[MAXL + 1].rank == 0) {
        d->t[MAXL + 1].dtype = s->dt;
        d->t[MAXL + 1].rank = 1;
        d->t[MAXL + 1].dims[0] = 16;
        d->t[MAXL + 1].scale = 1.0f;
        d->t[MAXL + 1].storage = MQ_STORAGE_ARENA;
    }
    for (k = s->n + 1; k <= MAXL; k++) {
        d->t[k] = d->t[MAXL + 1];
        d->t[k].storage = MQ_STORAGE_ARENA;
        d->t[k].rank = 1;
        d->t[k].dims[0] = 16;
        d->t[k].dims[1] = d->t[k].dims[2] = d->t[k].dims[3] = 0;
        d->t[k].data = NULL;
    }
    (void)flags_first;
    d->m.tensors = d->t;
    d->m.num_tensors = MAXL + 2;
    d->m.ops = d->ops;
    d->m.inputs = &d->in_id;
    d->m.num_inputs = 1;
    d->m.outputs = &d->out_id;
    d->m.num_outputs = 1;
    d->m.flags = s->single_rounding ? MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV : 0u;
}

static size_t tensor_bytes(const mq_writer_tensor *t)
{
    size_t n = 1u;
    int i;
    for (i = 0; i < t->rank; i++) {
        n *= (size_t)t->dims[i];
    }
    return n;
}

static size_t op_scratch(const desc *d, int k)
{
    return mq_writer_op_scratch_size(&d->ops[k], d->t, d->m.num_tensors);
}

/* Layer by layer: every tensor and scratch apart. */
static uint8_t *unfused_blob(segment *s, size_t *size)
{
    static desc d;
    mq_writer_diag diag;
    uint8_t *blob;
    uint32_t off = 0u;
    int k;
    describe(&d, s, 0, 0u);
    d.m.num_ops = d.nops;
    for (k = 0; k < d.m.num_tensors; k++) {
        if (d.t[k].storage == MQ_STORAGE_ARENA) {
            d.t[k].arena_offset = off;
            off += (uint32_t)up16(tensor_bytes(&d.t[k]));
        }
    }
    for (k = 0; k < d.nops; k++) {
        d.ops[k].scratch_offset = off;
        off += (uint32_t)up16(op_scratch(&d, k));
    }
    d.m.arena_size = d.m.arena_lower_bound = off;
    assert_int_equal(mq_writer_write(&d.m, NULL, 0, size, &diag), MQ_OK);
    blob = alloc16(up16(*size));
    if (mq_writer_write(&d.m, blob, *size, size, &diag) != MQ_OK) {
        fail_msg("unfused writer: %s (op %d)", diag.message, (int)diag.op);
    }
    return blob;
}

/* Largest number of rows a consumer reads of layer k's output at once. */
static int32_t rows_needed(const segment *s, int k)
{
    int32_t best = 1, y;
    int j;
    for (j = k + 1; j < s->n; j++) {
        const layer *c = &s->L[j];
        int32_t st = 1, pt = 0, ext = 1, srch = s->L[k].h;
        if (c->src0 != k && c->src1 != k) {
            continue;
        }
        if (c->kind == K_CONV || c->kind == K_DW) {
            st = c->win.stride_h;
            pt = c->win.pad_top;
            ext = c->win.dilation_h * (c->win.kernel_h - 1) + 1;
        } else if (c->kind == K_1X1) {
            st = c->c1.stride_h;
        }
        for (y = 0; y < c->h; y++) {
            int32_t lo = y * st - pt, hi = lo + ext;
            lo = lo < 0 ? 0 : lo;
            hi = hi > srch ? srch : hi;
            if (hi - lo > best) {
                best = hi - lo;
            }
        }
    }
    return best;
}

/* The segment as one ROW_STREAM op: S at 0, Y over S (inplace) or after it, rings, one shared scratch. ring_extra
 * rows are added to each ring (capped at its rows); ring_rows overrides when > 0. Returns the writer's status. */
typedef struct {
    int inplace;
    int32_t ring_extra;
    int32_t ring_rows[MAXL];    /* > 0: use these */
    int ring_over_input;        /* rejection tests */
    int ring_over_ring;
    int scratch_over_ring;
    int drop_flag_last;
    int stray_flag;
    int no_terms;               /* no ADD term tables (p18 0): the ADD rows run untabulated */
    int terms_over_ring;        /* rejection tests: the term tables over ring 0 / the members' scratch */
    int terms_over_scratch;
} rows_opts;

static mq_status rows_blob(segment *s, const rows_opts *o, uint8_t **out, size_t *size, uint32_t *arena_out)
{
    static desc d;
    mq_writer_diag diag;
    mq_writer_op *seg;
    uint32_t off, scratch = 0u, y_off, maxt = 0u;
    size_t sz;
    int k;
    mq_status st;
    describe(&d, s, 1, 0u);
    /* shift members by one: op 0 is the ROW_STREAM op */
    memmove(&d.ops[1], &d.ops[0], (size_t)d.nops * sizeof d.ops[0]);
    d.nops++;
    seg = &d.ops[0];
    memset(seg, 0, sizeof *seg);
    seg->type = MQ_OP_ROW_STREAM;
    seg->num_inputs = 1;
    seg->inputs[0] = 0;
    seg->num_outputs = 1;
    seg->outputs[0] = s->n;
    seg->rows.members = s->n;
    d.m.num_ops = d.nops;
    off = (uint32_t)up16(tensor_bytes(&d.t[0]));
    y_off = o->inplace ? 0u : off;
    if (!o->inplace) {
        off += (uint32_t)up16(tensor_bytes(&d.t[s->n]));
    }
    d.t[0].arena_offset = 0u;
    d.t[s->n].arena_offset = y_off;
    for (k = 0; k + 1 < s->n; k++) {
        int32_t r = o->ring_rows[k] > 0 ? o->ring_rows[k] : rows_needed(s, k) + o->ring_extra;
        if (r > s->L[k].h) {
            r = s->L[k].h;
        }
        seg->rows.ring_rows[k] = r;
        seg->rows.ring_offset[k] = off;
        off += (uint32_t)up16(mq_writer_rows_ring_size(row_bytes(&s->L[k]), r));
    }
    if (o->ring_over_input) {
        seg->rows.ring_offset[0] = 0u;
    }
    if (o->ring_over_ring && s->n > 2) {
        seg->rows.ring_offset[1] = seg->rows.ring_offset[0];
    }
    for (k = 1; k < d.nops; k++) {
        sz = op_scratch(&d, k);
        if (sz > scratch) {
            scratch = (uint32_t)sz;
        }
    }
    for (k = 1; k < d.nops; k++) {
        d.ops[k].scratch_offset = o->scratch_over_ring ? seg->rows.ring_offset[0] : off;
    }
    off += (uint32_t)up16(scratch);
    /* the ADD term tables (a segment with an ADD member), after the scratch */
    for (k = 0; k < s->n && !o->no_terms; k++) {
        if (s->L[k].kind == K_ADD) {
            seg->rows.terms_size = (uint32_t)mq_writer_rows_terms_size();
            seg->rows.terms_offset = o->terms_over_ring      ? seg->rows.ring_offset[0]
                                     : o->terms_over_scratch ? off - (uint32_t)up16(scratch)
                                                             : off;
            off += seg->rows.terms_size;
            break;
        }
    }
    /* intermediate tensor records: never touched, placed at 0 (inside the arena) */
    for (k = 1; k < s->n; k++) {
        d.t[k].arena_offset = 0u;
        if (tensor_bytes(&d.t[k]) > maxt) {
            maxt = (uint32_t)tensor_bytes(&d.t[k]);
        }
    }
    for (k = s->n + 1; k < d.m.num_tensors; k++) {
        if (d.t[k].storage == MQ_STORAGE_ARENA) {
            d.t[k].arena_offset = 0u;
        }
    }
    d.m.arena_size = d.m.arena_lower_bound = (uint32_t)up16(off > maxt ? off : maxt) + 16u;
    if (o->drop_flag_last) {
        d.ops[d.nops - 1].flags = 0u;
    }
    if (o->stray_flag) {
        seg->rows.members = s->n - 1;
    }
    *arena_out = d.m.arena_size;
    st = mq_writer_write(&d.m, NULL, 0, size, &diag);
    if (st != MQ_OK) {
        return st;
    }
    *out = alloc16(up16(*size));
    st = mq_writer_write(&d.m, *out, *size, size, &diag);
    if (st != MQ_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static void run(const uint8_t *blob, size_t size, const uint8_t *x, uint8_t *y)
{
    mq_model m;
    uint8_t *arena;
    const void *ins[1] = {x};
    void *outs[1] = {y};
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = alloc16(m.arena_size + 16u);
    memset(arena, 0xA5, m.arena_size);
    assert_int_equal(mq_model_run(&m, arena, m.arena_size, ins, outs), MQ_OK);
    free(arena);
}

/* ---- tests -------------------------------------------------------------------------------------------------- */

static void test_random_segments(void **state)
{
    ref_rng g = {0x5EEDu};
    static segment s;
    static uint8_t x[4096], y1[4096], y2[4096];
    int iter, inplace_ok = 0, apart = 0, grown = 0, pattern;
    (void)state;
    for (iter = 0; iter < 600; iter++) {
        uint8_t *ub, *rb = NULL;
        size_t us, rs, outn;
        uint32_t arena;
        rows_opts o;
        int r, ok = 0;
        pattern = iter % 4;
        make_segment(&s, &g, pattern);
        ub = unfused_blob(&s, &us);
        memset(&o, 0, sizeof o);
        o.ring_extra = (int32_t)ref_range(&g, 0, 1);
        o.no_terms = iter % 5 == 4;
        /* in place when the schedule allows it, else apart; rings grown to whole tensors as a last resort */
        for (o.inplace = 1; o.inplace >= 0 && !ok; o.inplace--) {
            if (rows_blob(&s, &o, &rb, &rs, &arena) == MQ_OK) {
                ok = 1;
                if (o.inplace) {
                    inplace_ok++;
                } else {
                    apart++;
                }
            }
        }
        if (!ok) {
            o.inplace = 0;
            if (getenv("ROWS_DEBUG")) {
                int q;
                printf("grown: pattern %d S %dx%dx%d:", pattern, s.h, s.w, s.c);
                for (q = 0; q < s.n; q++) {
                    printf(" [k%d src %d,%d out %dx%dx%d kh %d s %d pt %d d %d]", s.L[q].kind, s.L[q].src0, s.L[q].src1,
                           s.L[q].h, s.L[q].w, s.L[q].c, s.L[q].win.kernel_h, s.L[q].kind == K_1X1 ? s.L[q].c1.stride_h : s.L[q].win.stride_h,
                           s.L[q].win.pad_top, s.L[q].win.dilation_h);
                }
                printf(" -> %d\n", (int)rows_blob(&s, &o, &rb, &rs, &arena));
            }
            o.ring_extra = 64;
            assert_int_equal(rows_blob(&s, &o, &rb, &rs, &arena), MQ_OK);
            grown++;
        }
        if (pattern == 1 || pattern == 2) {
            /* the IC stages: in place with the smallest rings */
            assert_true(ok);
        }
        outn = (size_t)s.L[s.n - 1].h * (size_t)s.L[s.n - 1].w * (size_t)s.L[s.n - 1].c;
        for (r = 0; r < 3; r++) {
            size_t i;
            for (i = 0; i < sizeof x; i++) {
                x[i] = (uint8_t)ref_range(&g, 0, 255);
            }
            memset(y1, 0x11, sizeof y1);
            memset(y2, 0x22, sizeof y2);
            run(ub, us, x, y1);
            run(rb, rs, x, y2);
            if (memcmp(y1, y2, outn) != 0) {
                fail_msg("segment %d (pattern %d, %d members, inplace %d): outputs differ", iter, pattern, s.n,
                         o.inplace + 1);
            }
        }
        free(ub);
        free(rb);
    }
    printf("row segments: %d in place, %d apart, %d with whole-tensor rings\n", inplace_ok, apart, grown);
    assert_true(inplace_ok > 100);
}

static segment ic1; /* an IC stage-1 segment for the rejection tests */

static void ic_stage(segment *s, int pattern)
{
    ref_rng g = {0x1C1u + (uint64_t)pattern};
    do {
        make_segment(s, &g, pattern);
    } while (s->h < 6);
}

static void test_rejections(void **state)
{
    rows_opts o;
    uint8_t *b = NULL;
    size_t size;
    uint32_t arena;
    mq_model m;
    (void)state;
    ic_stage(&ic1, 1);
    memset(&o, 0, sizeof o);
    o.inplace = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_OK);
    assert_int_equal(mq_model_load(b, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    free(b);
    /* ring of conv1's output: 3 rows needed */
    o.ring_rows[0] = 3;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_OK);
    free(b);
    o.ring_rows[0] = 2;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_FORMAT_OP);
    o.ring_rows[0] = 0;
    o.ring_over_input = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_ARENA);
    o.ring_over_input = 0;
    o.ring_over_ring = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_ARENA);
    o.ring_over_ring = 0;
    o.scratch_over_ring = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_ARENA);
    o.scratch_over_ring = 0;
    /* the ADD term tables over a ring or over the members' scratch (both live while the tables are read) */
    o.terms_over_ring = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_ARENA);
    o.terms_over_ring = 0;
    o.terms_over_scratch = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_ARENA);
    o.terms_over_scratch = 0;
    /* without them: loads (the ADD rows untabulated) */
    o.no_terms = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_OK);
    free(b);
    o.no_terms = 0;
    /* the last member unflagged: a member short (then the ADD reads rows of a ring tensor as a whole op) */
    o.drop_flag_last = 1;
    assert_int_not_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_OK);
    o.drop_flag_last = 0;
    /* one member fewer than flagged: the last flagged record is stray */
    o.stray_flag = 1;
    assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_ERR_FORMAT_OP);
    o.stray_flag = 0;
    {
        /* a lone 3x3 convolution over its own input: row y + 1 still reads the input row y writes */
        static segment one;
        ref_rng g = {77u};
        do {
            memset(&one, 0, sizeof one);
            one.dt = MQ_DTYPE_INT8;
            one.h = 6, one.w = 4, one.c = 3, one.scale = 0.05f;
            make_layer(&one, &g, 0, K_CONV, -1, 1, 1, 3, 3);
            one.n = 1;
        } while (0);
        o.inplace = 1;
        assert_int_equal(rows_blob(&one, &o, &b, &size, &arena), MQ_ERR_FORMAT_OP);
        o.inplace = 0;
        assert_int_equal(rows_blob(&one, &o, &b, &size, &arena), MQ_OK);
        free(b);
    }
    {
        /* blob-level: members past the last op, an unused ring (a member nobody reads) */
        uint8_t *t;
        memset(&o, 0, sizeof o);
        o.inplace = 1;
        assert_int_equal(rows_blob(&ic1, &o, &b, &size, &arena), MQ_OK);
        t = alloc16(up16(size));
        memcpy(t, b, size);
        /* op 0's p0 (members) at OPS offset + 32: find the OPS section from the section table (entry 1) */
        {
            const uint32_t ops = (uint32_t)t[64 + 16 + 4] | ((uint32_t)t[64 + 16 + 5] << 8) |
                                 ((uint32_t)t[64 + 16 + 6] << 16) | ((uint32_t)t[64 + 16 + 7] << 24);
            assert_int_equal(t[ops], MQ_OP_ROW_STREAM);
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
            t[ops + 32] = 4; /* 4 members, 3 records after it */
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_FORMAT_OP);
            t[ops + 32] = 9;
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_FORMAT_OP);
            memcpy(t, b, size);
            /* op type 20 with the member count 2: the ADD record then is a stray member flag */
            t[ops + 32] = 2;
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_FORMAT_OP);
            memcpy(t, b, size);
            /* ring rows word of member 0 made 0 */
            t[ops + 32 + 8] = 0;
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_FORMAT_OP);
            memcpy(t, b, size);
            /* the ADD term tables: p17 offset, p18 size (2048 or 0 with offset 0) */
            assert_int_equal(t[ops + 32 + 4 * 18 + 1], 2048 >> 8);
            t[ops + 32 + 4 * 18 + 1] = 1024 >> 8; /* not 2048 */
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_FORMAT_OP);
            t[ops + 32 + 4 * 18 + 1] = 0; /* none, but an offset */
            assert_int_not_equal(t[ops + 32 + 4 * 17] | t[ops + 32 + 4 * 17 + 1], 0);
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_FORMAT_OP);
            memcpy(t, b, size);
            t[ops + 32 + 4 * 17] |= 8; /* not 16-aligned */
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_ARENA);
            memcpy(t, b, size);
            t[ops + 32 + 4 * 17 + 3] = 0x7F; /* past the arena */
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_ARENA);
            memcpy(t, b, size);
            t[ops + 32 + 4 * 17] = 0; /* over S (offset 0 with a size) */
            t[ops + 32 + 4 * 17 + 1] = 0;
            assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_ERR_ARENA);
        }
        free(t);
        free(b);
    }
}

static void test_bit_flips(void **state)
{
    static segment s;
    uint8_t *blob, *t, *arena;
    size_t size;
    uint32_t an;
    long accepted = 0, rejected = 0, ran = 0;
    static uint8_t x[4096], y[4096];
    const void *ins[1] = {x};
    void *outs[1] = {y};
    rows_opts o;
    int pattern;
    (void)state;
    memset(&o, 0, sizeof o);
    o.inplace = 1;
    for (pattern = 1; pattern <= 2; pattern++) {
        ic_stage(&s, pattern);
        assert_int_equal(rows_blob(&s, &o, &blob, &size, &an), MQ_OK);
        t = alloc16(up16(size));
        arena = alloc16(65536);
        fx_flip_each_bit(blob, size, t, arena, 65536u, ins, outs, &rejected, &accepted, &ran);
        free(t);
        free(arena);
        free(blob);
    }
    printf("row-streamed blobs: %ld bit flips rejected, %ld accepted (%ld of them run without fault)\n", rejected, accepted, ran);
    assert_true(rejected > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_segments),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
