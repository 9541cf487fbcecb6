/*
 * The pixel-streamed chain (packed op types STREAM_FC = 19 and STREAM_FC_S16 = 44, op flag bit 3; docs/FORMAT.md
 * "Pixel-streamed chain"). Random chains source -> [NCHW->NHWC] -> 1x1 convolutions (8-bit with fused LUTs, 16x8),
 * int16 tables and precision conversions -> flatten -> FULLY_CONNECTED (8-bit or 16x8) are written twice by
 * mq_writer_write: unfused (TRANSPOSE, CONV_1X1 / CONV_S16 on whole tensors, the first with the stride, RESHAPE,
 * FULLY_CONNECTED[_S16]: the ops the other tests check against TFLite's kernels and int64 references) and
 * streamed (one STREAM op, the same layers as members on one-pixel tensors). Both are loaded (CRC checked) and
 * run: every output byte must be equal, for many random inputs, with the pixel tensors apart or sharing memory
 * (ping-pong), for both source layouts, 8-bit dtypes, strides 1 and 2, and single rounding. Then: every single-bit
 * flip of a streamed blob is rejected or runs without fault (sanitizers: scripts/test-c.sh), and the loader
 * rejects broken chains (member flag missing or stray, members past the last op, a member writing the source or
 * the accumulators, accumulators over the source).
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
#include "microquant/mq_host_s16.h"
#include "microquant/mq_kernels_s16.h"
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

/* ---- a random chain ------------------------------------------------------------------------------------ */

enum { ST_CONV8, ST_CONV16, ST_Q16, ST_R8, ST_LUT16 };
#define MAX_ST 8
#define MAX_C 40
#define MAX_N 6
#define MAX_K (8 * 8 * MAX_C)

typedef struct {
    int kind;
    int32_t c_out;
    /* CONV8 */
    int8_t w[MAX_C * MAX_C];
    int8_t packed[64 * 64];
    int32_t bias32[MAX_C], folded[MAX_C];
    uint8_t lut[256];
    int use_lut;
    /* CONV16 */
    int64_t bias64[MAX_C];
    /* shared */
    int32_t m[MAX_C], s[MAX_C];
    int32_t zp;                 /* output zero point (8-bit outputs) */
    int32_t cm, cs;             /* conversions */
    int16_t table[MQ_LUT16_SIZE];
} stage;

typedef struct {
    mq_dtype dt;                /* 8-bit dtype of the chain */
    int nchw;
    int32_t c0, h, w, stride, oh, ow;
    int32_t in_zp;
    int nst;
    stage st[MAX_ST];
    int head16;
    int32_t n;
    int8_t hw[MAX_N * MAX_K];
    int8_t hpacked[8 * (MAX_K + 16)];
    int32_t hbias32[MAX_N], hfolded[MAX_N];
    int64_t hbias64[MAX_N];
    int32_t hm[MAX_N], hs[MAX_N];
    int32_t hzp;
    uint8_t hlut[256];
    int hlut_on;
    int single_rounding;
} chain;

static int32_t lo8(mq_dtype dt)
{
    return dt == MQ_DTYPE_UINT8 ? 0 : -128;
}

/* A right shift that keeps sum_k x w (x of spread xstd, |w| <= 127) mostly inside +-target after requantization:
 * E ~ log2(sqrt(k) * xstd * 73 / target), +-1 at random (so the outputs are not all clamped). */
static int32_t shift_for(ref_rng *g, int32_t k, double xstd, double target)
{
    double v = 1.0;
    int32_t e = 0;
    const double want = xstd * 73.0 / target;
    while (v * v < (double)k) {
        v += 1.0;
    }
    v *= want;
    while (v > 1.0 && e < 30) {
        v /= 2.0;
        e++;
    }
    e += (int32_t)ref_range(g, -1, 1);
    return -(e < 1 ? 1 : e);
}

static void make_chain(chain *c, ref_rng *g, int variant)
{
    int i, j, s16 = 0;
    int32_t ch;
    memset(c, 0, sizeof *c);
    c->dt = ref_range(g, 0, 1) ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8;
    c->nchw = (int)ref_range(g, 0, 1);
    c->c0 = (int32_t)ref_range(g, 1, 5);
    c->h = (int32_t)ref_range(g, 1, 8);
    c->w = (int32_t)ref_range(g, 1, 8);
    c->stride = (int32_t)ref_range(g, 1, 2);
    c->oh = (c->h - 1) / c->stride + 1;
    c->ow = (c->w - 1) / c->stride + 1;
    c->in_zp = (int32_t)ref_range(g, lo8(c->dt), lo8(c->dt) + 255);
    c->single_rounding = (int)ref_range(g, 0, 3) == 0;
    ch = c->c0;
    /* variant 0: 8-bit only; 1: 8-bit, int16 in the middle, 8-bit head; 2: ends int16 (16x8 head); 3: int16 from the start */
    if (variant == 3) {
        c->st[c->nst++].kind = ST_Q16;
        s16 = 1;
    }
    for (i = 0; i < (int)ref_range(g, 1, 3); i++) {
        if (variant == 1 && i == 1 && !s16) {
            c->st[c->nst++].kind = ST_Q16;
            s16 = 1;
        }
        c->st[c->nst].kind = s16 ? ST_CONV16 : ST_CONV8;
        c->st[c->nst].c_out = (int32_t)ref_range(g, 1, MAX_C);
        c->nst++;
        if (s16 && ref_range(g, 0, 1)) {
            c->st[c->nst++].kind = ST_LUT16;
        }
        if (variant == 1 && s16 && i >= 1) {
            c->st[c->nst++].kind = ST_R8;
            s16 = 0;
        }
    }
    if (variant == 2 && !s16) {
        c->st[c->nst++].kind = ST_Q16;
        s16 = 1;
    }
    if (variant == 3 && ref_range(g, 0, 1)) {
        c->st[c->nst++].kind = ST_R8;
        s16 = 0;
    }
    if (variant == 1 && s16) {
        c->st[c->nst++].kind = ST_R8;
        s16 = 0;
    }
    c->head16 = s16;
    /* constants */
    for (i = 0; i < c->nst; i++) {
        stage *t = &c->st[i];
        const int32_t cin = ch;
        switch (t->kind) {
        case ST_CONV8:
            for (j = 0; j < t->c_out * cin; j++) {
                t->w[j] = (int8_t)ref_range(g, -127, 127);
            }
            for (j = 0; j < t->c_out; j++) {
                t->bias32[j] = (int32_t)ref_range(g, -5000, 5000);
                t->m[j] = ref_multiplier(g);
                t->s[j] = shift_for(g, cin, 74.0, 60.0);
            }
            t->zp = (int32_t)ref_range(g, lo8(c->dt), lo8(c->dt) + 255);
            t->use_lut = (int)ref_range(g, 0, 1);
            for (j = 0; j < 256; j++) {
                t->lut[j] = (uint8_t)ref_range(g, 0, 255);
            }
            ch = t->c_out;
            break;
        case ST_CONV16:
            for (j = 0; j < t->c_out * cin; j++) {
                t->w[j] = (int8_t)ref_range(g, -127, 127);
            }
            for (j = 0; j < t->c_out; j++) {
                t->bias64[j] = ref_range(g, -(1 << 20), 1 << 20);
                t->m[j] = ref_multiplier(g);
                t->s[j] = shift_for(g, cin, 9000.0, 9000.0);
            }
            ch = t->c_out;
            break;
        case ST_Q16:
            t->cm = ref_multiplier(g);
            t->cs = (int32_t)ref_range(g, 2, 8);
            t->c_out = ch;
            break;
        case ST_R8:
            t->cm = ref_multiplier(g);
            t->cs = (int32_t)ref_range(g, -9, -6);
            t->zp = (int32_t)ref_range(g, lo8(c->dt), lo8(c->dt) + 255);
            t->c_out = ch;
            break;
        default: /* ST_LUT16 */
            for (j = 0; j < MQ_LUT16_SIZE; j++) {
                t->table[j] = (int16_t)ref_range(g, -32768, 32767);
            }
            t->c_out = ch;
            break;
        }
    }
    c->n = (int32_t)ref_range(g, 1, MAX_N);
    {
        const int32_t k = c->oh * c->ow * ch;
        for (j = 0; j < c->n * k; j++) {
            c->hw[j] = (int8_t)ref_range(g, -127, 127);
        }
        for (j = 0; j < c->n; j++) {
            c->hbias32[j] = (int32_t)ref_range(g, -20000, 20000);
            c->hbias64[j] = ref_range(g, -(1 << 22), 1 << 22);
            c->hm[j] = ref_multiplier(g);
            c->hs[j] = c->head16 ? shift_for(g, k, 9000.0, 9000.0) : shift_for(g, k, 74.0, 60.0);
        }
        c->hzp = (int32_t)ref_range(g, lo8(c->dt), lo8(c->dt) + 255);
        c->hlut_on = (int)ref_range(g, 0, 1);
        for (j = 0; j < 256; j++) {
            c->hlut[j] = (uint8_t)ref_range(g, 0, 255);
        }
    }
}

/* ---- writing both forms ---------------------------------------------------------------------------------- */

#define MAX_T 40
typedef struct {
    mq_writer_tensor t[MAX_T];
    int nt;
    mq_writer_op ops[MAX_T];
    int nops;
    int32_t in_id, out_id;
} desc;

static int32_t add_t(desc *d, mq_dtype dt, int rank, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t zp)
{
    mq_writer_tensor *t = &d->t[d->nt];
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->dims[2] = d2;
    t->dims[3] = d3;
    t->zero_point = dt == MQ_DTYPE_INT16 ? 0 : zp;
    t->scale = 0.01f + 0.001f * (float)d->nt;
    t->storage = MQ_STORAGE_ARENA;
    return d->nt++;
}

static size_t t_bytes(const mq_writer_tensor *t)
{
    size_t n = t->dtype == MQ_DTYPE_INT16 ? 2u : 1u;
    int i;
    for (i = 0; i < t->rank; ++i) {
        n *= (size_t)t->dims[i];
    }
    return (n + 15u) & ~(size_t)15u;
}

static mq_writer_op *new_op(desc *d, mq_op_type type, int32_t x, int32_t y)
{
    mq_writer_op *o = &d->ops[d->nops++];
    memset(o, 0, sizeof *o);
    o->type = type;
    o->num_inputs = 1;
    o->inputs[0] = x;
    o->num_outputs = 1;
    o->outputs[0] = y;
    return o;
}

/* Fill the op of stage t (input dtype in_dt, zero point in_zp) reading x, writing y; stride for the unfused first conv. */
static void stage_op(desc *d, chain *c, stage *t, int32_t cin, mq_dtype in_dt, int32_t in_zp, int32_t x, int32_t y,
                     int32_t stride, uint32_t flags)
{
    mq_writer_op *o;
    switch (t->kind) {
    case ST_CONV8:
        o = new_op(d, MQ_OP_CONV_1X1, x, y);
        assert_int_equal(mq_pack_weights_n4k16(t->w, t->c_out, cin, t->packed, sizeof t->packed), MQ_OK);
        assert_int_equal(mq_fold_bias(t->w, t->bias32, t->c_out, cin, in_zp, in_dt, t->folded), MQ_OK);
        o->conv.stride_h = o->conv.stride_w = stride;
        o->conv.gemm.n = t->c_out;
        o->conv.gemm.k = cin;
        o->conv.gemm.weights.packed = t->packed;
        o->conv.gemm.bias.folded = t->folded;
        o->conv.gemm.multiplier = t->m;
        o->conv.gemm.shift = t->s;
        o->conv.gemm.per_channel = 1;
        o->conv.gemm.in_dtype = in_dt;
        o->conv.gemm.out_dtype = c->dt;
        o->conv.gemm.out_zero_point = t->zp;
        o->conv.gemm.act_min = lo8(c->dt);
        o->conv.gemm.act_max = lo8(c->dt) + 255;
        o->conv.gemm.lut = t->use_lut ? t->lut : NULL;
        break;
    case ST_CONV16:
        o = new_op(d, MQ_OP_CONV_S16, x, y);
        o->conv_s16.win.kernel_h = o->conv_s16.win.kernel_w = 1;
        o->conv_s16.win.stride_h = o->conv_s16.win.stride_w = stride;
        o->conv_s16.win.dilation_h = o->conv_s16.win.dilation_w = 1;
        o->conv_s16.gemm.n = t->c_out;
        o->conv_s16.gemm.k = cin;
        o->conv_s16.gemm.weights = t->w;
        o->conv_s16.gemm.bias = t->bias64;
        o->conv_s16.gemm.multiplier = t->m;
        o->conv_s16.gemm.shift = t->s;
        o->conv_s16.gemm.per_channel = 1;
        o->conv_s16.gemm.act_min = -32768;
        o->conv_s16.gemm.act_max = 32767;
        break;
    case ST_Q16:
        o = new_op(d, MQ_OP_QUANTIZE_S16, x, y);
        o->s16_multiplier = t->cm;
        o->s16_shift = t->cs;
        break;
    case ST_R8:
        o = new_op(d, MQ_OP_REQUANTIZE_S16_TO_8, x, y);
        o->s16_multiplier = t->cm;
        o->s16_shift = t->cs;
        break;
    default:
        o = new_op(d, MQ_OP_LUT16, x, y);
        o->lut16 = t->table;
        break;
    }
    o->flags = flags;
}

static mq_dtype stage_out_dt(const chain *c, const stage *t, mq_dtype in_dt)
{
    if (t->kind == ST_CONV16 || t->kind == ST_Q16 || t->kind == ST_LUT16) {
        return MQ_DTYPE_INT16;
    }
    if (t->kind == ST_R8 || t->kind == ST_CONV8) {
        return c->dt;
    }
    return in_dt;
}

static void head_op(chain *c, mq_writer_op *o, mq_dtype in_dt, int32_t in_zp, int32_t k)
{
    if (c->head16) {
        o->fc_s16.n = c->n;
        o->fc_s16.k = k;
        o->fc_s16.weights = c->hw;
        o->fc_s16.bias = c->hbias64;
        o->fc_s16.multiplier = c->hm;
        o->fc_s16.shift = c->hs;
        o->fc_s16.per_channel = 1;
        o->fc_s16.act_min = -32768;
        o->fc_s16.act_max = 32767;
    } else {
        assert_int_equal(mq_pack_weights_n4k16(c->hw, c->n, k, c->hpacked, sizeof c->hpacked), MQ_OK);
        assert_int_equal(mq_fold_bias(c->hw, c->hbias32, c->n, k, in_zp, in_dt, c->hfolded), MQ_OK);
        o->fc.n = c->n;
        o->fc.k = k;
        o->fc.weights.packed = c->hpacked;
        o->fc.bias.folded = c->hfolded;
        o->fc.multiplier = c->hm;
        o->fc.shift = c->hs;
        o->fc.per_channel = 1;
        o->fc.in_dtype = in_dt;
        o->fc.out_dtype = c->dt;
        o->fc.out_zero_point = c->hzp;
        o->fc.act_min = lo8(c->dt);
        o->fc.act_max = lo8(c->dt) + 255;
        o->fc.lut = c->hlut_on ? c->hlut : NULL;
    }
}

static uint8_t *write_desc(desc *d, const chain *c, uint32_t arena, const uint32_t *offsets, size_t *size)
{
    mq_writer_model m;
    mq_writer_diag diag;
    uint8_t *blob;
    int i;
    for (i = 0; i < d->nt; i++) {
        d->t[i].arena_offset = offsets[i];
    }
    memset(&m, 0, sizeof m);
    m.tensors = d->t;
    m.num_tensors = d->nt;
    m.ops = d->ops;
    m.num_ops = d->nops;
    m.inputs = &d->in_id;
    m.num_inputs = 1;
    m.outputs = &d->out_id;
    m.num_outputs = 1;
    m.arena_size = arena;
    m.arena_lower_bound = arena;
    m.flags = c->single_rounding ? (MQ_MODEL_FLAG_SINGLE_ROUNDING_FC | MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) : 0u;
    assert_int_equal(mq_writer_write(&m, NULL, 0, size, &diag), MQ_OK);
    blob = alloc16((*size + 15u) & ~(size_t)15u);
    if (mq_writer_write(&m, blob, *size, size, &diag) != MQ_OK) {
        fail_msg("writer: %s (op %d, tensor %d)", diag.message, (int)diag.op, (int)diag.tensor);
    }
    return blob;
}

/* Every tensor apart, in id order; returns the arena size. */
static uint32_t offsets_apart(const desc *d, uint32_t *off)
{
    uint32_t o = 0u;
    int i;
    for (i = 0; i < d->nt; i++) {
        off[i] = o;
        o += (uint32_t)t_bytes(&d->t[i]);
    }
    return o;
}

static uint8_t *unfused_blob(chain *c, size_t *size)
{
    static desc d;
    uint32_t off[MAX_T];
    int32_t x, y, i;
    int32_t ch = c->c0, hh = c->h, ww = c->w, zp = c->in_zp;
    mq_dtype dt = c->dt;
    int strided = 0;
    memset(&d, 0, sizeof d);
    d.in_id = c->nchw ? add_t(&d, c->dt, 4, 1, c->c0, c->h, c->w, c->in_zp) : add_t(&d, c->dt, 4, 1, c->h, c->w, c->c0, c->in_zp);
    x = d.in_id;
    if (c->nchw) {
        const int32_t perm[4] = {0, 2, 3, 1};
        y = add_t(&d, c->dt, 4, 1, c->h, c->w, c->c0, c->in_zp);
        d.t[y].scale = d.t[x].scale;
        *new_op(&d, MQ_OP_TRANSPOSE, x, y) = mq_writer_op_transpose(x, y, perm);
        x = y;
    }
    for (i = 0; i < c->nst; i++) {
        stage *t = &c->st[i];
        const int conv = t->kind == ST_CONV8 || t->kind == ST_CONV16;
        const int32_t s = conv && !strided ? c->stride : 1;
        const mq_dtype odt = stage_out_dt(c, t, dt);
        const int32_t ozp = t->kind == ST_CONV8 || t->kind == ST_R8 ? t->zp : 0;
        if (conv && !strided) {
            hh = c->oh;
            ww = c->ow;
            strided = 1;
        }
        y = add_t(&d, odt, 4, 1, hh, ww, t->c_out, ozp);
        stage_op(&d, c, t, ch, dt, zp, x, y, s, 0u);
        x = y;
        ch = t->c_out;
        dt = odt;
        zp = ozp;
    }
    assert_true(strided); /* every chain has a conv */
    {
        const int32_t k = c->oh * c->ow * ch;
        mq_writer_op *o;
        y = add_t(&d, dt, 2, 1, k, 1, 1, zp);
        d.t[y].scale = d.t[x].scale;
        *new_op(&d, MQ_OP_RESHAPE, x, y) = mq_writer_op_reshape(x, y);
        x = y;
        y = add_t(&d, c->head16 ? MQ_DTYPE_INT16 : c->dt, 2, 1, c->n, 1, 1, c->hzp);
        o = new_op(&d, c->head16 ? MQ_OP_FULLY_CONNECTED_S16 : MQ_OP_FULLY_CONNECTED, x, y);
        head_op(c, o, dt, zp, k);
        d.out_id = y;
    }
    return write_desc(&d, c, offsets_apart(&d, off), off, size);
}

static void save_seed(const uint8_t *b, size_t n);

/* pingpong: the pixel tensors alternate between two slots (each live only from its producer to its consumer). */
static uint8_t *streamed_blob(chain *c, int pingpong, size_t *size, int *header_index)
{
    static desc d;
    uint32_t off[MAX_T], arena;
    int32_t src, g, x, y, i, out;
    int32_t ch = c->c0, zp = c->in_zp;
    mq_dtype dt = c->dt;
    mq_writer_op *h;
    int32_t pix_first;
    memset(&d, 0, sizeof d);
    src = c->nchw ? add_t(&d, c->dt, 4, 1, c->c0, c->h, c->w, c->in_zp) : add_t(&d, c->dt, 4, 1, c->h, c->w, c->c0, c->in_zp);
    d.in_id = src;
    out = add_t(&d, c->head16 ? MQ_DTYPE_INT16 : c->dt, 2, 1, c->n, 1, 1, c->hzp);
    d.out_id = out;
    pix_first = d.nt;
    g = add_t(&d, c->dt, 4, 1, 1, 1, c->c0, c->in_zp);
    d.t[g].scale = d.t[src].scale; /* the source's codes */
    h = new_op(&d, c->head16 ? MQ_OP_STREAM_FC_S16 : MQ_OP_STREAM_FC, src, out);
    *header_index = d.nops - 1;
    x = g;
    for (i = 0; i < c->nst; i++) {
        stage *t = &c->st[i];
        const mq_dtype odt = stage_out_dt(c, t, dt);
        const int32_t ozp = t->kind == ST_CONV8 || t->kind == ST_R8 ? t->zp : 0;
        y = add_t(&d, odt, 4, 1, 1, 1, t->c_out, ozp);
        stage_op(&d, c, t, ch, dt, zp, x, y, 1, MQ_WRITER_OP_STREAMED);
        x = y;
        ch = t->c_out;
        dt = odt;
        zp = ozp;
    }
    h->num_inputs = 3;
    h->inputs[1] = g;
    h->inputs[2] = x;
    h->stream.members = c->nst;
    h->stream.out_h = c->oh;
    h->stream.out_w = c->ow;
    h->stream.stride_h = h->stream.stride_w = c->stride;
    h->stream.layout = c->nchw;
    head_op(c, h, dt, zp, c->oh * c->ow * ch);
    arena = offsets_apart(&d, off);
    if (pingpong) {
        /* source, output, then two slots of the largest pixel size; the accumulators after them */
        uint32_t slot = 0u, base;
        for (i = pix_first; i < d.nt; i++) {
            slot = t_bytes(&d.t[i]) > slot ? (uint32_t)t_bytes(&d.t[i]) : slot;
        }
        base = off[pix_first];
        for (i = pix_first; i < d.nt; i++) {
            off[i] = base + (uint32_t)((i - pix_first) % 2) * slot;
        }
        arena = base + 2u * slot;
    }
    h->scratch_offset = arena;
    arena += 16u * (uint32_t)((c->n * 8 + 15) / 16);
    d.ops[*header_index] = *h;
    {
        uint8_t *blob = write_desc(&d, c, arena, off, size);
        save_seed(blob, *size);
        return blob;
    }
}

/* When MQ_SEED_DIR is set (scripts/test-runtime.sh), the first 16 streamed blobs are saved there as fuzzer seeds,
 * so libFuzzer starts from models with STREAM_FC / STREAM_FC_S16 ops too. */
static void save_seed(const uint8_t *b, size_t n)
{
    static int count = 0;
    const char *dir = getenv("MQ_SEED_DIR");
    char path[1024];
    FILE *f;
    if (dir == NULL || count >= 16) {
        return;
    }
    snprintf(path, sizeof path, "%s/stream-seed-%d.mqm", dir, count++);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void run(const uint8_t *blob, size_t size, const void *x, void *y)
{
    mq_model m;
    uint8_t *arena;
    const void *ins[1];
    void *outs[1];
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = alloc16(((size_t)m.arena_size + 16u) & ~(size_t)15u);
    ins[0] = x;
    outs[0] = y;
    assert_int_equal(mq_model_run(&m, arena, m.arena_size, ins, outs), MQ_OK);
    free(arena);
}

static void test_streamed_equals_unfused(void **state)
{
    ref_rng g = {0x57AEu};
    int trial, variant, pp, r, i;
    long compared = 0, differing = 0;
    (void)state;
    for (trial = 0; trial < 60; trial++) {
        static chain c;
        uint8_t *ub, *sb;
        size_t us, ss;
        int hi;
        variant = trial % 4;
        make_chain(&c, &g, variant);
        ub = unfused_blob(&c, &us);
        for (pp = 0; pp < 2; pp++) {
            sb = streamed_blob(&c, pp, &ss, &hi);
            for (r = 0; r < 20; r++) {
                uint8_t x[8 * 8 * 5];
                uint8_t yu[2 * MAX_N], ys[2 * MAX_N];
                const size_t nout = (size_t)c.n * (c.head16 ? 2u : 1u);
                for (i = 0; i < c.c0 * c.h * c.w; i++) {
                    x[i] = (uint8_t)ref_range(&g, 0, 255);
                }
                memset(yu, 0xAA, sizeof yu);
                memset(ys, 0x55, sizeof ys);
                run(ub, us, x, yu);
                run(sb, ss, x, ys);
                if (memcmp(yu, ys, nout) != 0) {
                    differing++;
                    if (differing < 5) {
                        printf("trial %d variant %d pingpong %d: outputs differ\n", trial, variant, pp);
                    }
                }
                compared += (long)nout;
            }
            free(sb);
        }
        free(ub);
    }
    printf("streamed vs unfused: 60 random chains x 2 placements x 20 inputs, %ld output bytes compared, %ld runs differ\n",
           compared, differing);
    assert_int_equal(differing, 0);
}

/* Byte offset of op record i in a blob (section table entry 1). */
static uint8_t *op_rec(uint8_t *b, int i)
{
    const uint32_t off = (uint32_t)b[64 + 16 + 4] | ((uint32_t)b[64 + 16 + 5] << 8) | ((uint32_t)b[64 + 16 + 6] << 16) |
                         ((uint32_t)b[64 + 16 + 7] << 24);
    return b + off + (size_t)i * 160u;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void test_rejections(void **state)
{
    ref_rng g = {0xBAD5u};
    static chain c;
    uint8_t *b, *t;
    size_t size;
    int hi;
    mq_model m;
    uint8_t *rec;
    (void)state;
    make_chain(&c, &g, 1);
    b = streamed_blob(&c, 1, &size, &hi);
    t = alloc16((size + 15u) & ~(size_t)15u);
    /* intact: loads (CRC not checked below, so the structural checks are what rejects) */
    memcpy(t, b, size);
    assert_int_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* a member without the flag */
    memcpy(t, b, size);
    op_rec(t, hi + 1)[3] = 0u;
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* the flag on the header */
    memcpy(t, b, size);
    op_rec(t, hi)[3] = 8u;
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* one member fewer: the last member's flag is stray */
    memcpy(t, b, size);
    rec = op_rec(t, hi) + 32 + 4 * 20;
    wr32(rec, rd32(rec) - 1u);
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* members past the last op */
    memcpy(t, b, size);
    wr32(rec, rd32(rec) + 1u);
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* accumulators over the source (offset 0) */
    memcpy(t, b, size);
    wr32(op_rec(t, hi) + 32 + 4 * 26, 0u);
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* accumulators of the wrong size */
    memcpy(t, b, size);
    wr32(op_rec(t, hi) + 32 + 4 * 27, rd32(op_rec(t, hi) + 32 + 4 * 27) + 4u);
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* a grid reading past the source: stride too large for the grid */
    memcpy(t, b, size);
    wr32(op_rec(t, hi) + 32 + 4 * 23, 64u);
    wr32(op_rec(t, hi) + 32 + 4 * 21, 2u);
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* a member writing the source: its output tensor id -> the source (id 0) */
    memcpy(t, b, size);
    op_rec(t, hi + 1)[20] = 0u;
    op_rec(t, hi + 1)[21] = 0u;
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    /* layout 2 */
    memcpy(t, b, size);
    wr32(op_rec(t, hi) + 32 + 4 * 25, 2u);
    assert_int_not_equal(mq_model_load(t, size, 0u, &m), MQ_OK);
    free(t);
    free(b);
}

static void test_bit_flips(void **state)
{
    ref_rng g = {0xF1F5u};
    static chain c;
    uint8_t *blob, *t, *arena;
    size_t size;
    long accepted = 0, rejected = 0, ran = 0;
    static uint8_t x[8192], y[8192];
    const void *ins[1] = {x};
    void *outs[1] = {y};
    int v, hi;
    (void)state;
    for (v = 1; v <= 2; v++) {
        make_chain(&c, &g, v);
        blob = streamed_blob(&c, v == 1, &size, &hi);
        t = alloc16((size + 15u) & ~(size_t)15u);
        arena = alloc16(8192);
        fx_flip_each_bit(blob, size, t, arena, 8192u, ins, outs, &rejected, &accepted, &ran);
        free(t);
        free(arena);
        free(blob);
    }
    printf("streamed blobs: %ld bit flips rejected, %ld accepted (%ld of them run without fault)\n", rejected, accepted, ran);
    assert_true(rejected > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_equals_unfused),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
