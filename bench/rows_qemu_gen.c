/*
 * Host generator for the row-streamed segment check on the QEMU Cortex-M cores (scripts/test-rows-qemu.sh,
 * firmware bench/test_rows_qemu.c). Random residual segments (IC stage 1 and 2 blocks, bottlenecks, inverted
 * residuals with a depthwise member, random chains of KxK / depthwise / 1x1 / LUT members with any padding,
 * dilation and a residual or constant ADD; uint8 / int8, per-channel or per-tensor, ReLU or none, LUT outputs,
 * single rounding; channel counts crossing the DSP pair-loop bounds k = 288 / 640, rows of up to 45 pixels across
 * the im2col blocks) are written twice by mq_writer_write, the construction of csrc/tests/test_model_rows.c: layer by layer (ordinary
 * ops, every tensor apart) and as one ROW_STREAM op (output in place when the loader accepts it, else apart).
 * The layer-by-layer model runs here on the host (its kernels: no row-streamed code) on random inputs; the bundle
 * written holds, per case, the ROW_STREAM blob, the inputs and these host outputs. The firmware loads each blob,
 * runs it and requires byte-identical outputs. The ROW_STREAM blob is also run here (same outputs required).
 *
 *   rows_qemu_gen <bundle.bin> <cases.txt> [seed] [max cases] [max bundle bytes] [max arena bytes]
 *
 * Bundle (little-endian u32): "MQRS", count, samples; then per case: index, blob bytes, input bytes, output bytes,
 * arena bytes, 12 zero bytes, blob (padded to 16), samples x input (padded to 16), samples x output (padded to 16).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microquant/mq_host.h"
#include "microquant/mq_model.h"
#include "microquant/mq_writer.h"

#include "ref_quant.h"

#define SAMPLES 2
#define MAXL 9 /* segments of up to 8 members (the format's maximum) */
#define MAXN 1024 /* output channels (bias, scales) */
#define MAXC 96
#define MAXK 5
#define KONST_MAX 262144
#define BUFB (MAXC * MAXK * MAXK * MAXC * 2 + 65536)

static void die(const char *what)
{
    fprintf(stderr, "rows_qemu_gen: %s\n", what);
    exit(1);
}

static void *alloc16(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 16, n + 16u) != 0) {
        die("out of memory");
    }
    memset(p, 0, n + 16u);
    return p;
}

static size_t up16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

enum { K_CONV, K_DW, K_1X1, K_LUT, K_ADD };
static const char *kind_name[] = {"conv", "dw", "1x1", "lut", "add"};

typedef struct {
    int kind;
    int src0, src1; /* -1: segment input S; k: layer k; src1 -2: a constant (ADD) */
    int32_t h, w, c, zp;
    float scale;
    mq_window win;
    int8_t *wt;
    int32_t bias[MAXN];
    float ws[MAXN];
    uint8_t *buf;
    uint8_t lut[256];
    mq_conv_params cv;
    mq_depthwise_params dw;
    mq_conv1x1_params c1;
    mq_add_params add;
    int bcast;
    int8_t *konst;
    int per_channel, relu, has_lut;
} layer;

typedef struct {
    mq_dtype dt;
    int32_t h, w, c, zp;
    float scale;
    int n;
    layer L[MAXL];
    int single_rounding;
    int terms; /* the ADD term tables in the arena (ROW_STREAM p17/p18) when the segment has an ADD member */
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
    /* wide accumulations: a larger output scale keeps the codes off the clamps */
    l->scale = 0.02f + 0.01f * (float)ref_range(g, 0, 8);
    for (i = 0; i < MAXN; i++) {
        l->ws[i] = (0.0005f + 0.00025f * (float)ref_range(g, 0, 9));
        l->bias[i] = (int32_t)ref_range(g, -3000, 3000);
    }
    for (i = 0; i < MAXC * MAXK * MAXK * MAXC * 2; i++) {
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
    q->act_min = ref_range(g, 0, 2) == 0 ? l->zp : lo8(s->dt);
    q->act_max = lo8(s->dt) + 255;
    q->lut = ref_range(g, 0, 3) == 0 ? l->lut : NULL;
    l->per_channel = q->weight_per_channel;
    l->relu = q->act_min != lo8(s->dt);
    l->has_lut = q->lut != NULL;
}

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
            l->c = out_c > 0 ? out_c : (int32_t)ref_range(g, 1, 8);
            if (mq_conv_prepare(l->wt, l->bias, &l->win, ic, l->c, &q, l->buf, BUFB, &l->cv) != MQ_OK) {
                return 0;
            }
        } else {
            const int32_t mult = out_c > 0 ? out_c / ic : (int32_t)ref_range(g, 1, 2);
            l->c = ic * mult;
            if (mq_depthwise_prepare(l->wt, l->bias, &l->win, ic, mult, &q, l->buf, BUFB, &l->dw) != MQ_OK) {
                return 0;
            }
        }
    } else if (kind == K_1X1) {
        memset(&l->c1, 0, sizeof l->c1);
        l->c1.stride_h = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->c1.stride_w = stride > 0 ? stride : (int32_t)ref_range(g, 1, 2);
        l->c1.pad_left = same ? 0 : (int32_t)ref_range(g, 0, 1);
        l->c1.pad_right = same ? 0 : (int32_t)ref_range(g, 0, 1);
        l->c = out_c > 0 ? out_c : (int32_t)ref_range(g, 1, 8);
        l->h = (ih - 1) / l->c1.stride_h + 1;
        l->w = (iw + l->c1.pad_left + l->c1.pad_right - 1) / l->c1.stride_w + 1;
        if (mq_fc_prepare(l->wt, l->bias, l->c, ic, &q, l->buf, BUFB, &l->c1.gemm) != MQ_OK) {
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
    l->relu = ref_range(g, 0, 2) == 0;
    if (b == -2) {
        if ((size_t)h1 * (size_t)w1 * (size_t)c1 > KONST_MAX) {
            return 0;
        }
        l->bcast = (int)ref_range(g, 0, 2);
        z2 = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
        s2 = 0.05f;
        for (i = 0; i < h1 * w1 * c1; i++) {
            l->konst[i] = (int8_t)ref_range(g, -128, 127);
        }
    } else {
        dims_of(s, b, &h2, &w2, &c2, &z2, &s2);
        if (h2 != h1 || w2 != w1 || c2 != c1) {
            die("internal: ADD shapes differ");
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

/* Channel counts: small, around 16 / 32 (3x3: k = 144 / 288, the pair-loop bound) and around 64 / 72 (3x3: k = 576 /
 * 648, 640 the DSP pair-loop maximum). */
static int32_t pick_c(ref_rng *g, int big)
{
    static const int32_t mid[] = {7, 15, 16, 17, 25, 26, 31, 32, 33}; /* 5x5 over 25 / 26: k = 625 / 650 */
    static const int32_t large[] = {63, 64, 70, 71, 72, 73, 80};
    const int64_t r = ref_range(g, 0, 9);
    if (!big || r < 4) {
        return (int32_t)ref_range(g, 1, 8);
    }
    if (r < 8) {
        return mid[ref_range(g, 0, 8)];
    }
    return large[ref_range(g, 0, 6)];
}

/* 0: IC stage 1 (3x3 same, 3x3 same, ADD S); 1: IC stage 2 (3x3 s2, 3x3, 1x1 s2 from S, ADD); 2: bottleneck (1x1,
 * KxK same, 1x1, ADD S; 6: with k > 640); 3: inverted residual (1x1 expand, depthwise 3x3 same, 1x1 project, ADD S); 4: random
 * chain of small layers, residual ADD when shapes allow; 5: chain ending in an ADD with a constant. */
static int make_segment(segment *s, ref_rng *g, int pattern)
{
    int i, n;
    layer keep[MAXL];
    for (i = 0; i < MAXL; i++) {
        keep[i] = s->L[i];
    }
    memset(s, 0, sizeof *s);
    for (i = 0; i < MAXL; i++) {
        s->L[i].wt = keep[i].wt;
        s->L[i].buf = keep[i].buf;
        s->L[i].konst = keep[i].konst;
    }
    s->dt = ref_range(g, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    s->c = pick_c(g, pattern <= 3);
    if (s->c > 32) {
        s->h = (int32_t)ref_range(g, 1, 7);
        s->w = (int32_t)ref_range(g, 1, 6);
    } else if (s->c <= 8 && ref_range(g, 0, 3) == 0) {
        /* wide rows: a member row spans several im2col blocks (up to 32 pixels each) */
        s->h = (int32_t)ref_range(g, 1, 6);
        s->w = (int32_t)ref_range(g, 12, 45);
    } else {
        s->h = (int32_t)ref_range(g, 1, 13);
        s->w = (int32_t)ref_range(g, 1, 11);
    }
    s->zp = (int32_t)ref_range(g, lo8(s->dt), lo8(s->dt) + 255);
    s->scale = 0.05f;
    s->single_rounding = ref_range(g, 0, 3) == 0;
    switch (pattern) {
    case 0:
        s->n = 3;
        return make_layer(s, g, 0, K_CONV, -1, 1, 1, 3, s->c) && make_layer(s, g, 1, K_CONV, 0, 1, 1, 3, s->c) &&
               make_add(s, g, 2, 1, -1);
    case 1: {
        const int64_t r = ref_range(g, 0, 2);
        const int32_t c2 = r == 0 ? s->c : (r == 1 ? pick_c(g, 1) : (int32_t)ref_range(g, 1, 8));
        s->n = 4;
        return make_layer(s, g, 0, K_CONV, -1, 1, 2, 3, c2) && make_layer(s, g, 1, K_CONV, 0, 1, 1, 3, c2) &&
               make_layer(s, g, 2, K_1X1, -1, 1, 2, 1, c2) && make_add(s, g, 3, 1, 2);
    }
    case 2:
    case 6: {
        /* the middle KxK's outputs few (cheap weights at k = 9 or 25 x m) or as many as its inputs; pattern 6: its
         * k across the DSP pair-loop maximum 640 (3x3 over 70..80, 5x5 over 25..33) */
        static const int32_t wide3[] = {70, 71, 72, 73, 80}, wide5[] = {25, 26, 31, 32, 33};
        const int64_t r = ref_range(g, 0, 2), r5 = ref_range(g, 0, 3);
        int32_t m = pick_c(g, 1), m2 = r == 0 ? m : (r == 1 ? pick_c(g, 1) : (int32_t)ref_range(g, 1, 8));
        const int32_t kern = r5 == 0 ? 5 : 3;
        if (pattern == 6) {
            m = kern == 5 ? wide5[ref_range(g, 0, 4)] : wide3[ref_range(g, 0, 4)];
            m2 = (int32_t)ref_range(g, 1, 8);
            s->h = (int32_t)ref_range(g, 1, 7);
            s->w = (int32_t)ref_range(g, 1, 6);
        }
        s->n = 4;
        return make_layer(s, g, 0, K_1X1, -1, 1, 1, 1, m) && make_layer(s, g, 1, K_CONV, 0, 1, 1, kern, m2) &&
               make_layer(s, g, 2, K_1X1, 1, 1, 1, 1, s->c) && make_add(s, g, 3, 2, -1);
    }
    case 3: {
        /* expansion by 1..6, or a wide one (k of the projecting 1x1 across 288 / 640) on few channels */
        static const int32_t wide[] = {256, 287, 288, 289, 292, 576, 624, 639, 640, 641, 656, 660};
        int32_t e = s->c * (int32_t)ref_range(g, 1, 6) > MAXC ? MAXC : s->c * (int32_t)ref_range(g, 1, 6);
        if (ref_range(g, 0, 1)) {
            e = wide[ref_range(g, 0, 11)];
            s->c = (int32_t)ref_range(g, 1, 8);
            s->h = (int32_t)ref_range(g, 1, 6);
            s->w = (int32_t)ref_range(g, 1, 5);
        }
        s->n = 4;
        return make_layer(s, g, 0, K_1X1, -1, 1, 1, 1, e) && make_layer(s, g, 1, K_DW, 0, 1, 1, 3, e) &&
               make_layer(s, g, 2, K_1X1, 1, 1, 1, 1, s->c) && make_add(s, g, 3, 2, -1);
    }
    default:
        break;
    }
    n = (int)ref_range(g, 1, ref_range(g, 0, 3) == 0 ? 7 : 4);
    for (i = 0; i < n; i++) {
        const int kind = (int)ref_range(g, 0, 3);
        if (!make_layer(s, g, i, kind, i - 1, 0, 0, 0, 0)) {
            return 0;
        }
    }
    s->n = n;
    if (pattern == 5) {
        s->n = n + 1;
        return make_add(s, g, n, n - 1, -2);
    }
    if (s->L[n - 1].h == s->h && s->L[n - 1].w == s->w && s->L[n - 1].c == s->c && ref_range(g, 0, 2) != 0) {
        s->n = n + 1;
        return ref_range(g, 0, 1) ? make_add(s, g, n, n - 1, -1) : make_add(s, g, n, -1, n - 1);
    }
    return 1;
}

/* ---- writing both forms (as csrc/tests/test_model_rows.c) ---------------------------------------------------- */

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

static mq_status rows_blob(segment *s, int inplace, int32_t ring_extra, uint8_t **out, size_t *size)
{
    static desc d;
    mq_writer_diag diag;
    mq_writer_op *seg;
    uint32_t off, scratch = 0u, y_off, maxt = 0u;
    size_t sz;
    int k;
    mq_status st;
    describe(&d, s, 1);
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
    y_off = inplace ? 0u : off;
    if (!inplace) {
        off += (uint32_t)up16(tensor_bytes(&d.t[s->n]));
    }
    d.t[0].arena_offset = 0u;
    d.t[s->n].arena_offset = y_off;
    for (k = 0; k + 1 < s->n; k++) {
        int32_t r = rows_needed(s, k) + ring_extra;
        if (r > s->L[k].h) {
            r = s->L[k].h;
        }
        seg->rows.ring_rows[k] = r;
        seg->rows.ring_offset[k] = off;
        off += (uint32_t)up16(mq_writer_rows_ring_size(row_bytes(&s->L[k]), r));
    }
    for (k = 1; k < d.nops; k++) {
        sz = op_scratch(&d, k);
        if (sz > scratch) {
            scratch = (uint32_t)sz;
        }
    }
    for (k = 1; k < d.nops; k++) {
        d.ops[k].scratch_offset = off;
    }
    off += (uint32_t)up16(scratch);
    /* the ADD term tables after the scratch (as the host planner places them), for most segments with an ADD */
    for (k = 0; k < s->n && s->terms; k++) {
        if (s->L[k].kind == K_ADD) {
            seg->rows.terms_size = (uint32_t)mq_writer_rows_terms_size();
            seg->rows.terms_offset = off;
            off += seg->rows.terms_size;
            break;
        }
    }
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

static uint32_t run(const uint8_t *blob, size_t size, const uint8_t *x, uint8_t *y)
{
    mq_model m;
    uint8_t *arena;
    const void *ins[1] = {x};
    void *outs[1] = {y};
    if (mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m) != MQ_OK) {
        die("host: model does not load");
    }
    arena = alloc16(m.arena_size + 16u);
    memset(arena, 0xA5, m.arena_size);
    if (mq_model_run(&m, arena, m.arena_size, ins, outs) != MQ_OK) {
        die("host: model run failed");
    }
    free(arena);
    return m.arena_size;
}

static void put_u32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    if (fwrite(b, 1, 4, f) != 4) {
        die("write failed");
    }
}

static void put_padded(FILE *f, const uint8_t *p, size_t n)
{
    static const uint8_t zero[16];
    if (fwrite(p, 1, n, f) != n || fwrite(zero, 1, up16(n) - n, f) != up16(n) - n) {
        die("write failed");
    }
}

static void describe_text(FILE *f, int idx, int pattern, const segment *s, int inplace, size_t blob)
{
    int q;
    fprintf(f, "case %d: pattern %d %s S %dx%dx%d%s %s, %d members, %s, blob %zu:", idx, pattern,
            s->dt == MQ_DTYPE_UINT8 ? "uint8" : "int8", (int)s->h, (int)s->w, (int)s->c,
            s->single_rounding ? (s->terms ? " single-rounding add-tables" : " single-rounding")
                               : (s->terms ? " add-tables" : ""), inplace ? "in place" : "apart", s->n,
            inplace ? "Y over S" : "Y apart", blob);
    for (q = 0; q < s->n; q++) {
        const layer *l = &s->L[q];
        fprintf(f, " [%s src %d,%d out %dx%dx%d", kind_name[l->kind], l->src0, l->src1, (int)l->h, (int)l->w,
                (int)l->c);
        if (l->kind == K_CONV || l->kind == K_DW) {
            fprintf(f, " k %dx%d s %dx%d d %dx%d pad %d,%d,%d,%d", (int)l->win.kernel_h, (int)l->win.kernel_w,
                    (int)l->win.stride_h, (int)l->win.stride_w, (int)l->win.dilation_h, (int)l->win.dilation_w,
                    (int)l->win.pad_top, (int)l->win.pad_bottom, (int)l->win.pad_left, (int)l->win.pad_right);
            if (l->kind == K_CONV) {
                fprintf(f, " gemm-k %d", (int)l->cv.gemm.k);
            }
        } else if (l->kind == K_1X1) {
            fprintf(f, " s %dx%d pad_lr %d,%d gemm-k %d", (int)l->c1.stride_h, (int)l->c1.stride_w,
                    (int)l->c1.pad_left, (int)l->c1.pad_right, (int)l->c1.gemm.k);
        } else if (l->kind == K_ADD) {
            fprintf(f, " bcast %d", l->bcast);
        }
        if (l->kind != K_ADD && l->kind != K_LUT) {
            fprintf(f, "%s%s%s", l->per_channel ? " per-channel" : " per-tensor", l->relu ? " relu" : "",
                    l->has_lut ? " lut" : "");
        } else if (l->kind == K_ADD && l->relu) {
            fprintf(f, " relu");
        }
        fprintf(f, "]");
    }
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    static segment s;
    ref_rng g;
    FILE *bf, *tf;
    uint32_t max_cases, max_bytes, max_arena, bytes = 48u, count = 0u, hist[7] = {0};
    uint8_t *ub = NULL, *rb = NULL;
    int i, tries = 0, n_inplace = 0, n_big = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: rows_qemu_gen <bundle.bin> <cases.txt> [seed] [max cases] [max bytes] [max arena]\n");
        return 2;
    }
    g.s = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5EED5u;
    max_cases = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 0) : 120u;
    max_bytes = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 0) : 300000u;
    max_arena = argc > 6 ? (uint32_t)strtoul(argv[6], NULL, 0) : 131072u;
    for (i = 0; i < MAXL; i++) {
        s.L[i].wt = malloc((size_t)MAXC * MAXK * MAXK * MAXC * 2);
        s.L[i].buf = alloc16(BUFB);
        s.L[i].konst = malloc(KONST_MAX);
        if (!s.L[i].wt || !s.L[i].konst) {
            die("out of memory");
        }
    }
    bf = fopen(argv[1], "wb");
    tf = fopen(argv[2], "w");
    if (!bf || !tf) {
        die("cannot open the output files");
    }
    fwrite("MQRS", 1, 4, bf);
    put_u32(bf, 0u); /* count: patched at the end */
    put_u32(bf, SAMPLES);
    put_u32(bf, 0u);
    while (count < max_cases && tries < 20000) {
        const int pattern = (int)(tries++ % 7);
        size_t us, rs, inn, outn, need;
        uint32_t arena_u, arena_r = 0u;
        int inplace, ok = 0, r, big = 0;
        static uint8_t x[SAMPLES][65536], y1[SAMPLES][65536], y2[65536];
        if (!make_segment(&s, &g, pattern)) {
            continue;
        }
        s.terms = tries % 4 != 0; /* (not from the generator's stream: the same cases as without the tables) */
        ub = unfused_blob(&s, &us);
        if (!ub) {
            continue;
        }
        for (inplace = 1; inplace >= 0 && !ok; inplace--) {
            if (rows_blob(&s, inplace, (int32_t)ref_range(&g, 0, 1), &rb, &rs) == MQ_OK) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            inplace = 0;
            if (rows_blob(&s, 0, 64, &rb, &rs) != MQ_OK) {
                free(ub);
                continue;
            }
        }
        inn = (size_t)s.h * (size_t)s.w * (size_t)s.c;
        outn = (size_t)s.L[s.n - 1].h * (size_t)s.L[s.n - 1].w * (size_t)s.L[s.n - 1].c;
        need = 32u + up16(rs) + SAMPLES * (up16(inn) + up16(outn));
        if (bytes + need > max_bytes || rs > max_bytes / 6u || inn > sizeof x[0] || outn > sizeof y2) {
            free(ub);
            free(rb);
            if (bytes + 4096u > max_bytes) {
                break;
            }
            continue;
        }
        for (r = 0; r < SAMPLES; r++) {
            size_t j;
            for (j = 0; j < inn; j++) {
                x[r][j] = (uint8_t)ref_range(&g, 0, 255);
            }
            memset(y1[r], 0x11, outn);
            memset(y2, 0x22, outn);
            arena_u = run(ub, us, x[r], y1[r]);
            arena_r = run(rb, rs, x[r], y2);
            (void)arena_u;
            if (memcmp(y1[r], y2, outn) != 0) {
                describe_text(stderr, (int)count, pattern, &s, inplace, rs);
                die("host: the ROW_STREAM model differs from layer by layer (the host test's failure)");
            }
        }
        if (arena_r > max_arena) {
            free(ub);
            free(rb);
            continue;
        }
        for (i = 0; i < s.n; i++) {
            if ((s.L[i].kind == K_CONV && s.L[i].cv.gemm.k >= 250) || (s.L[i].kind == K_1X1 && s.L[i].c1.gemm.k >= 250)) {
                big = 1;
            }
        }
        n_big += big;
        n_inplace += inplace;
        hist[pattern]++;
        describe_text(tf, (int)count, pattern, &s, inplace, rs);
        put_u32(bf, count);
        put_u32(bf, (uint32_t)rs);
        put_u32(bf, (uint32_t)inn);
        put_u32(bf, (uint32_t)outn);
        put_u32(bf, arena_r);
        put_u32(bf, 0u);
        put_u32(bf, 0u);
        put_u32(bf, 0u);
        put_padded(bf, rb, rs);
        for (r = 0; r < SAMPLES; r++) {
            put_padded(bf, x[r], inn);
        }
        for (r = 0; r < SAMPLES; r++) {
            put_padded(bf, y1[r], outn);
        }
        bytes += (uint32_t)need;
        count++;
        free(ub);
        free(rb);
    }
    if (fseek(bf, 4, SEEK_SET) != 0) {
        die("seek failed");
    }
    put_u32(bf, count);
    if (fclose(bf) != 0 || fclose(tf) != 0) {
        die("write failed");
    }
    printf("rows_qemu_gen: %u cases (patterns %u/%u/%u/%u/%u/%u/%u, %d in place, %d with k >= 250), %u bytes\n",
           count, hist[0], hist[1], hist[2], hist[3], hist[4], hist[5], hist[6], n_inplace, n_big, bytes);
    return count > 0u ? 0 : 1;
}
