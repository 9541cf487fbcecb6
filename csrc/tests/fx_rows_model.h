/*
 * Test helper: random row-streamed segments (ROW_STREAM, op type 20), shared by the host test
 * csrc/tests/test_model_rows.c and the QEMU bundle generator bench/rows_qemu_gen.c (scripts/test-rows-qemu.sh).
 * A segment is a short chain of layers (KxK / depthwise / 1x1 convolutions, LUTs, ADDs of two members or the
 * segment input, or of a constant) drawn from a ref_rng; each includer keeps its own make_segment (the patterns).
 * It is written twice by mq_writer_write: layer by layer (unfused_blob: ordinary ops, every tensor apart) and as one
 * ROW_STREAM op (rows_blob: members keeping rings of rows, the output in place over the input or apart; rows_opts
 * also holds the test's rejection knobs, all off when zeroed). run() loads (CRC checked) and runs a blob.
 *
 * The includer defines, before including this file:
 *   void *alloc16(size_t n)            16-aligned memory of at least n bytes (freed with free)
 *   void fx_rows_fail(const char *)    an internal error (does not return)
 * and may set the limits (defaults: the host test's small ones):
 *   MAXL  layers per segment (6)        MAXC  channels sizing the weights (6)    MAXK  kernel size (5)
 *   MAXN  output channels of the bias / weight scales (MAXC * 2)
 *   FX_ROWS_BUF_BYTES    prepared parameters per layer (16384)
 *   FX_ROWS_KONST_BYTES  an ADD constant (16 * 16 * MAXC)
 *   FX_ROWS_RAND_C       random output channels 1..FX_ROWS_RAND_C (MAXC)
 *   FX_ROWS_WSCALE(r)    weight scale of the draw r in 0..9 (0.002f + 0.001f * r)
 *   FX_ROWS_ADD_RELU     1: an ADD draws a ReLU (0: never, no draw)
 *   FX_ROWS_KONST_WHOLE  1: an ADD constant draws the whole buffer (0: only the bytes the tensor uses)
 * Changing any of them (or the order of draws here) changes the generated cases.
 */
#ifndef MICROQUANT_FX_ROWS_MODEL_H
#define MICROQUANT_FX_ROWS_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_host.h"
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#include "ref_quant.h"

#ifndef MAXL
#define MAXL 6
#endif
#ifndef MAXC
#define MAXC 6
#endif
#ifndef MAXK
#define MAXK 5
#endif
#ifndef MAXN
#define MAXN (MAXC * 2)
#endif
#ifndef FX_ROWS_BUF_BYTES
#define FX_ROWS_BUF_BYTES 16384
#endif
#ifndef FX_ROWS_KONST_BYTES
#define FX_ROWS_KONST_BYTES (16 * 16 * MAXC)
#endif
#ifndef FX_ROWS_RAND_C
#define FX_ROWS_RAND_C MAXC
#endif
#ifndef FX_ROWS_WSCALE
#define FX_ROWS_WSCALE(r) (0.002f + 0.001f * (float)(r))
#endif
#ifndef FX_ROWS_ADD_RELU
#define FX_ROWS_ADD_RELU 0
#endif
#ifndef FX_ROWS_KONST_WHOLE
#define FX_ROWS_KONST_WHOLE 1
#endif

static size_t up16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* ---- a random segment --------------------------------------------------------------------------------------- */

enum { K_CONV, K_DW, K_1X1, K_LUT, K_ADD };

typedef struct {
    int kind;
    int src0, src1;            /* -1: segment input S; k: layer k; src1 -2: a constant (ADD) */
    int32_t h, w, c;           /* output dims */
    int32_t zp;
    float scale;
    mq_window win;
    int8_t wt[MAXC * MAXK * MAXK * MAXC * 2];
    int32_t bias[MAXN];
    float ws[MAXN];
    uint8_t buf[FX_ROWS_BUF_BYTES] __attribute__((aligned(16)));
    uint8_t lut[256];
    mq_conv_params cv;
    mq_depthwise_params dw;
    mq_conv1x1_params c1;
    mq_add_params add;
    int bcast;                 /* ADD with a constant x2: MQ_BCAST_* */
    int8_t konst[FX_ROWS_KONST_BYTES];
    int per_channel, relu, has_lut; /* as drawn (for a case's description) */
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
    for (i = 0; i < MAXN; i++) {
        l->ws[i] = FX_ROWS_WSCALE(ref_range(g, 0, 9));
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
    l->per_channel = q->weight_per_channel;
    l->relu = q->act_min != lo8(s->dt);
    l->has_lut = q->lut != NULL;
}

/* Layer k reading src (its dims): kind as given, geometry at random (same-padded when same). 0 when the kernel's
 * prepare refuses it. */
static int make_layer(segment *s, ref_rng *g, int k, int kind, int src, int same, int32_t stride, int32_t kern,
                      int32_t out_c)
{
    layer *l = &s->L[k];
    int32_t ih, iw, ic, izp;
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
            l->c = out_c > 0 ? out_c : (int32_t)ref_range(g, 1, FX_ROWS_RAND_C);
            if (mq_conv_prepare(l->wt, l->bias, &l->win, ic, l->c, &q, l->buf, sizeof l->buf, &l->cv) != MQ_OK) {
                return 0;
            }
        } else {
            const int32_t mult = out_c > 0 ? out_c / ic : (int32_t)ref_range(g, 1, 2);
            l->c = ic * mult;
            if (mq_depthwise_prepare(l->wt, l->bias, &l->win, ic, mult, &q, l->buf, sizeof l->buf, &l->dw) != MQ_OK) {
                return 0;
            }
        }
    } else if (kind == K_1X1) {
        memset(&l->c1, 0, sizeof l->c1);
        l->c1.stride_h = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->c1.stride_w = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->c1.pad_left = same ? 0 : (int32_t)ref_range(g, 0, 1);
        l->c1.pad_right = same ? 0 : (int32_t)ref_range(g, 0, 1);
        l->c = out_c > 0 ? out_c : (int32_t)ref_range(g, 1, FX_ROWS_RAND_C);
        l->h = (ih - 1) / l->c1.stride_h + 1;
        l->w = (iw + l->c1.pad_left + l->c1.pad_right - 1) / l->c1.stride_w + 1;
        if (mq_fc_prepare(l->wt, l->bias, l->c, ic, &q, l->buf, sizeof l->buf, &l->c1.gemm) != MQ_OK) {
            return 0;
        }
        l->c1.in_zero_point = izp;
    } else { /* LUT */
        l->h = ih, l->w = iw, l->c = ic;
        l->zp = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
        l->has_lut = 1;
    }
    return 1;
}

/* ADD of x1 = layer a and x2 = layer/input b (same shape), or a constant x2 (b == -2). 0 when the constant does
 * not fit or the ADD's prepare refuses it. */
static int make_add(segment *s, ref_rng *g, int k, int a, int b)
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
    l->relu = FX_ROWS_ADD_RELU && ref_range(g, 0, 2) == 0;
    if (b == -2) {
        const size_t used = (size_t)h1 * (size_t)w1 * (size_t)c1;
        if (used > sizeof l->konst) {
            return 0;
        }
        l->bcast = (int)ref_range(g, 0, 2);
        z2 = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
        s2 = 0.05f;
        for (i = 0; i < (int32_t)(FX_ROWS_KONST_WHOLE ? sizeof l->konst : used); i++) {
            l->konst[i] = (int8_t)ref_range(g, -128, 127);
        }
    } else {
        dims_of(s, b, &h2, &w2, &c2, &z2, &s2);
        if (h2 != h1 || w2 != w1 || c2 != c1) {
            fx_rows_fail("internal: ADD shapes differ");
        }
        l->bcast = MQ_BCAST_NONE;
    }
    if (mq_add_prepare(s1, z1, s->dt, s2, z2, s->dt, l->scale, l->zp, s->dt, l->relu ? l->zp : lo8(s->dt),
                       lo8(s->dt) + 255, &l->add) != MQ_OK) {
        return 0;
    }
    l->add.in2_zero_point = z2;
    return 1;
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
static void describe(desc *d, segment *s, int rows)
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

/* Layer by layer: every tensor and scratch apart. NULL (the writer's message on stderr) when it is refused. */
static uint8_t *unfused_blob(segment *s, size_t *size)
{
    static desc d;
    mq_writer_diag diag;
    uint8_t *blob;
    uint32_t off = 0u;
    int k;
    describe(&d, s, 0);
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
    if (mq_writer_write(&d.m, NULL, 0, size, &diag) != MQ_OK) {
        fprintf(stderr, "unfused writer: %s (op %d)\n", diag.message, (int)diag.op);
        return NULL;
    }
    blob = alloc16(up16(*size));
    if (mq_writer_write(&d.m, blob, *size, size, &diag) != MQ_OK) {
        fprintf(stderr, "unfused writer: %s (op %d)\n", diag.message, (int)diag.op);
        free(blob);
        return NULL;
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

/* The segment as one ROW_STREAM op: S at 0, Y over S (inplace) or after it, rings, one shared scratch, the ADD term
 * tables after it (as the host planner places them; a segment with an ADD member, unless no_terms). ring_extra
 * rows are added to each ring (capped at its rows); ring_rows overrides when > 0. The other knobs break the layout
 * for the test's rejection cases. Returns the writer's status. */
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

/* *arena_out (when not NULL): the arena size written. */
static mq_status rows_blob(segment *s, const rows_opts *o, uint8_t **out, size_t *size, uint32_t *arena_out)
{
    static desc d;
    mq_writer_diag diag;
    mq_writer_op *seg;
    uint32_t off, scratch = 0u, y_off, maxt = 0u;
    size_t sz;
    int k;
    mq_status st;
    describe(&d, s, 1);
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
    if (arena_out != NULL) {
        *arena_out = d.m.arena_size;
    }
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

/* Loads (CRC checked) and runs a blob on x into y in a fresh arena filled with 0xA5; returns its arena size. */
static uint32_t run(const uint8_t *blob, size_t size, const uint8_t *x, uint8_t *y)
{
    mq_model m;
    uint8_t *arena;
    const void *ins[1] = {x};
    void *outs[1] = {y};
    if (mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m) != MQ_OK) {
        fx_rows_fail("model does not load");
    }
    arena = alloc16(m.arena_size + 16u);
    memset(arena, 0xA5, m.arena_size);
    if (mq_model_run(&m, arena, m.arena_size, ins, outs) != MQ_OK) {
        fx_rows_fail("model run failed");
    }
    free(arena);
    return m.arena_size;
}

#endif
