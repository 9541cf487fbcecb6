/*
 * In-place execution through the packed model (format 2.1, op flag bit 0): a depthwise 3x3 + two pointwise
 * layers, all three written over their input, against the same model planned out of place (every tensor apart)
 * run from an independent copy of the input; the loader's rules for the flag (rejected: an overlap without the
 * flag, a flag on an op that cannot run in place, a flagged geometry the kernel cannot do, a flagged output not
 * at its input's offset, unknown flag bits); the same model with single rounding (header flag
 * MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV), in place and apart, against the portable single-rounding kernels; every
 * single-bit flip of the in-place blob's op records either rejected or run without writing outside the arena.
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

#define H 7
#define W 5
#define C 8
#define PIX (H * W)

typedef struct {
    int8_t wd[9 * C], w1[C * C], w2[16 * C];
    int32_t bd[C], b1[C], b2[16];
    float sd[C], s1[C], s2[16];
    int32_t bufd[256], buf1[256], buf2[512];
    mq_depthwise_params dw;
    mq_conv1x1_params pw1, pw2;
} layers;

static uint32_t g_rng = 12345u;
static uint32_t rnd(void)
{
    g_rng = g_rng * 1664525u + 1013904223u;
    return g_rng >> 8;
}

static void set_tensor(mq_writer_tensor *t, int32_t c, uint32_t off, float scale, int32_t zp)
{
    memset(t, 0, sizeof *t);
    t->dtype = MQ_DTYPE_INT8;
    t->rank = 4;
    t->dims[0] = 1;
    t->dims[1] = H;
    t->dims[2] = W;
    t->dims[3] = c;
    t->scale = scale;
    t->zero_point = zp;
    t->storage = MQ_STORAGE_ARENA;
    t->arena_offset = off;
}

/* Prepares the three layers through the host prepare (int8, per channel, fused ReLU on the depthwise). n2: output
 * channels of the second pointwise layer. */
static void prepare(layers *L, int32_t n2)
{
    mq_window win;
    mq_layer_quant q;
    int32_t i;
    for (i = 0; i < 9 * C; i++) L->wd[i] = (int8_t)(rnd() % 255u - 127u);
    for (i = 0; i < C * C; i++) L->w1[i] = (int8_t)(rnd() % 255u - 127u);
    for (i = 0; i < 16 * C; i++) L->w2[i] = (int8_t)(rnd() % 255u - 127u);
    for (i = 0; i < 16; i++) {
        if (i < C) {
            L->bd[i] = (int32_t)(rnd() % 2001u) - 1000;
            L->b1[i] = (int32_t)(rnd() % 2001u) - 1000;
            L->sd[i] = 0.002f + 0.001f * (float)(rnd() % 8u);
            L->s1[i] = 0.002f + 0.001f * (float)(rnd() % 8u);
        }
        L->b2[i] = (int32_t)(rnd() % 2001u) - 1000;
        L->s2[i] = 0.002f + 0.001f * (float)(rnd() % 8u);
    }
    memset(&win, 0, sizeof win);
    win.batch = 1;
    win.in_h = win.out_h = H;
    win.in_w = win.out_w = W;
    win.kernel_h = win.kernel_w = 3;
    win.stride_h = win.stride_w = win.dilation_h = win.dilation_w = 1;
    win.pad_top = win.pad_bottom = win.pad_left = win.pad_right = 1;
    memset(&q, 0, sizeof q);
    q.in_scale = 0.05f;
    q.weight_per_channel = 1;
    q.out_scale = 0.04f;
    q.in_dtype = q.out_dtype = MQ_DTYPE_INT8;
    q.in_zero_point = 3;
    q.out_zero_point = -5;
    q.act_min = -5; /* ReLU */
    q.act_max = 127;
    q.weight_scales = L->sd;
    assert_int_equal(mq_depthwise_prepare(L->wd, L->bd, &win, C, 1, &q, L->bufd, sizeof L->bufd, &L->dw), MQ_OK);
    q.in_scale = 0.04f;
    q.in_zero_point = -5;
    q.out_scale = 0.06f;
    q.out_zero_point = 7;
    q.act_min = -128;
    q.weight_scales = L->s1;
    memset(&L->pw1, 0, sizeof L->pw1);
    assert_int_equal(mq_fc_prepare(L->w1, L->b1, C, C, &q, L->buf1, sizeof L->buf1, &L->pw1.gemm), MQ_OK);
    L->pw1.stride_h = L->pw1.stride_w = 1;
    L->pw1.in_zero_point = -5;
    q.in_scale = 0.06f;
    q.in_zero_point = 7;
    q.out_scale = 0.05f;
    q.out_zero_point = -2;
    q.weight_scales = L->s2;
    memset(&L->pw2, 0, sizeof L->pw2);
    assert_int_equal(mq_fc_prepare(L->w2, L->b2, n2, C, &q, L->buf2, sizeof L->buf2, &L->pw2.gemm), MQ_OK);
    L->pw2.stride_h = L->pw2.stride_w = 1;
    L->pw2.in_zero_point = 7;
}

typedef struct {
    mq_writer_tensor t[4];
    mq_writer_op ops[3];
    int32_t ins[1], outs[1];
    mq_writer_model m;
} desc;

/* The model x -> DW -> PW1 -> PW2 -> y. inplace: every op flagged and every tensor at offset 0 with the op
 * scratch at 288 (in-place sizes); else every tensor apart and the out-of-place scratch after them. */
static void describe(desc *d, const layers *L, int32_t n2, int inplace)
{
    memset(d, 0, sizeof *d);
    set_tensor(&d->t[0], C, 0, 0.05f, 3);
    set_tensor(&d->t[1], C, inplace ? 0u : 288u, 0.04f, -5);
    set_tensor(&d->t[2], C, inplace ? 0u : 576u, 0.06f, 7);
    set_tensor(&d->t[3], n2, inplace ? 0u : 864u, 0.05f, -2);
    d->ops[0] = mq_writer_op_depthwise_conv(0, 1, &L->dw, inplace ? 576u : 1472u);
    d->ops[1] = mq_writer_op_conv1x1(1, 2, &L->pw1, inplace ? 576u : 0u);
    d->ops[2] = mq_writer_op_conv1x1(2, 3, &L->pw2, inplace ? 576u : 0u);
    if (inplace) {
        d->ops[0].flags = d->ops[1].flags = d->ops[2].flags = MQ_WRITER_OP_IN_PLACE;
    }
    d->ins[0] = 0;
    d->outs[0] = 3;
    d->m.tensors = d->t;
    d->m.num_tensors = 4;
    d->m.ops = d->ops;
    d->m.num_ops = 3;
    d->m.inputs = d->ins;
    d->m.num_inputs = 1;
    d->m.outputs = d->outs;
    d->m.num_outputs = 1;
    d->m.arena_size = inplace ? 576u + 256u : 1472u + 16u;
    d->m.arena_lower_bound = inplace ? 288u + 256u : 1472u;
}

static uint8_t *write_blob(const desc *d, size_t *size, mq_status want)
{
    mq_writer_diag diag;
    uint8_t *b;
    *size = 0;
    if (want != MQ_OK) {
        size_t cap = 0;
        mq_status st = mq_writer_write(&d->m, NULL, 0, &cap, &diag);
        if (st == MQ_OK) {
            b = (uint8_t *)malloc(cap);
            assert_non_null(b);
            st = mq_writer_write(&d->m, b, cap, size, &diag); /* the writer runs the loader on what it wrote */
            free(b);
        }
        if (st != want) {
            fail_msg("writer: got %d (%s, op %d), want %d", (int)st, diag.message, (int)diag.op, (int)want);
        }
        return NULL;
    }
    assert_int_equal(mq_writer_write(&d->m, NULL, 0, size, &diag), MQ_OK);
    b = (uint8_t *)malloc(*size);
    assert_non_null(b);
    assert_int_equal(mq_writer_write(&d->m, b, *size, size, &diag), MQ_OK);
    return b;
}

static void run(const uint8_t *blob, size_t size, const uint8_t *x, uint8_t *y)
{
    mq_model m;
    uint8_t *arena;
    const void *ins[1];
    void *outs[1];
    assert_int_equal(mq_model_load(blob, size, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
    arena = (uint8_t *)malloc((m.arena_size + 15u) / 16u * 16u);
    assert_non_null(arena);
    ins[0] = x;
    outs[0] = y;
    assert_int_equal(mq_model_run(&m, arena, m.arena_size, ins, outs), MQ_OK);
    free(arena);
}

static void test_inplace_model_matches_out_of_place(void **state)
{
    static layers L;
    desc a, b;
    uint8_t *ba, *bb, x[PIX * C], x2[PIX * C], ya[PIX * C], yb[PIX * C];
    size_t sa, sb;
    int32_t n2s[2] = { 8, 4 }, k, s, i;
    (void)state;
    for (k = 0; k < 2; k++) {
        prepare(&L, n2s[k]);
        describe(&a, &L, n2s[k], 1);
        describe(&b, &L, n2s[k], 0);
        ba = write_blob(&a, &sa, MQ_OK);
        bb = write_blob(&b, &sb, MQ_OK);
        assert_int_equal(ba[6], 1); /* version 2.1: uses op flags */
        assert_int_equal(ba[26], 1);
        assert_int_equal(bb[6], 0); /* no flags: still a 2.0 blob */
        for (s = 0; s < 20; s++) {
            for (i = 0; i < PIX * C; i++) {
                x[i] = (uint8_t)rnd();
            }
            memcpy(x2, x, sizeof x);
            memset(ya, 0xEE, sizeof ya);
            memset(yb, 0x11, sizeof yb);
            run(ba, sa, x, ya);
            run(bb, sb, x2, yb);
            assert_memory_equal(ya, yb, (size_t)(PIX * n2s[k]));
        }
        free(ba);
        free(bb);
    }
}

/* Header flag MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV, in place and apart: mq_model_run on the in-place blob (every op
 * flagged, one shared buffer), on the out-of-place blob, and mq_model_run_batch give exactly the outputs of the
 * portable single-rounding kernels called in turn (mq_*_single_rounding: separate loops, checked against an int64
 * reference in test_conv_single_rounding.c), for a second pointwise layer with n == k and n < k; they differ from
 * the double-rounding model somewhere. A double-rounding in-place blob with the flag patched in afterwards (no CRC
 * check) loads too and rounds once. */
static void test_single_rounding_conv_flag(void **state)
{
    static layers L;
    desc d;
    uint8_t *b, *bi, *bd;
    size_t size, sizei, sized;
    uint8_t x[PIX * C], t1[PIX * C], t2[PIX * C], want[PIX * C], y[PIX * C], yi[PIX * C], yd[PIX * C];
    uint8_t yb[2 * PIX * C], xb[2 * PIX * C];
    int32_t n2s[2] = { 8, 4 }, k, s, i;
    long differ = 0, checked = 0;
    (void)state;
    for (k = 0; k < 2; k++) {
        const int32_t n2 = n2s[k];
        const size_t out_bytes = (size_t)(PIX * n2);
        prepare(&L, n2);
        describe(&d, &L, n2, 0);
        bd = write_blob(&d, &sized, MQ_OK);
        d.m.flags = MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV | MQ_MODEL_FLAG_SINGLE_ROUNDING_FC;
        b = write_blob(&d, &size, MQ_OK);
        assert_int_equal(b[20], 3);
        describe(&d, &L, n2, 1);
        d.m.flags = MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV;
        bi = write_blob(&d, &sizei, MQ_OK);
        assert_int_equal(bi[20], 2);
        assert_int_equal(bi[6], 1); /* version 2.1: uses op flags */
        for (s = 0; s < 40; s++) {
            mq_model m;
            const void *ins[1];
            void *outs[1];
            mq_conv1x1_params pw1 = L.pw1, pw2 = L.pw2; /* the op's geometry: the tensor shapes [1, H, W, C] */
            pw1.batch = pw2.batch = 1;
            pw1.in_h = pw2.in_h = H;
            pw1.in_w = pw2.in_w = W;
            for (i = 0; i < PIX * C; i++) {
                x[i] = (uint8_t)rnd();
            }
            assert_int_equal(mq_depthwise_conv_single_rounding(&L.dw, x, t1), MQ_OK);
            assert_int_equal(mq_conv1x1_single_rounding(&pw1, t1, t2), MQ_OK);
            assert_int_equal(mq_conv1x1_single_rounding(&pw2, t2, want), MQ_OK);
            memset(y, 0x11, sizeof y);
            memset(yi, 0xEE, sizeof yi);
            run(b, size, x, y);
            assert_memory_equal(y, want, out_bytes);
            run(bi, sizei, x, yi);
            assert_memory_equal(yi, want, out_bytes);
            run(bd, sized, x, yd);
            for (i = 0; i < (int32_t)out_bytes; i++) {
                differ += yd[i] != want[i];
            }
            checked += (long)out_bytes;
            /* the host batch runner: two samples, the second this one */
            memset(xb, 0, sizeof xb);
            memcpy(xb + PIX * C, x, sizeof x);
            assert_int_equal(mq_model_load(bi, sizei, MQ_LOAD_CHECK_CRC, &m), MQ_OK);
            ins[0] = xb;
            outs[0] = yb;
            assert_int_equal(mq_model_run_batch(&m, 2, ins, outs, 0), MQ_OK);
            assert_memory_equal(yb + out_bytes, want, out_bytes);
        }
        free(b);
        free(bi);
        free(bd);
    }
    /* the double-rounding in-place blob with the header flag patched in (no CRC check): loads, rounds once */
    prepare(&L, 8);
    describe(&d, &L, 8, 1);
    b = write_blob(&d, &size, MQ_OK);
    b[20] = (uint8_t)MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV;
    {
        mq_model m;
        uint8_t *arena;
        const void *ins[1] = { x };
        void *outs[1] = { y };
        mq_conv1x1_params pw1 = L.pw1, pw2 = L.pw2;
        pw1.batch = pw2.batch = 1;
        pw1.in_h = pw2.in_h = H;
        pw1.in_w = pw2.in_w = W;
        assert_int_equal(mq_model_load(b, size, 0, &m), MQ_OK);
        assert_int_equal(mq_model_load(b, size, MQ_LOAD_CHECK_CRC, &m), MQ_ERR_FORMAT_CRC);
        assert_int_equal(mq_model_load(b, size, 0, &m), MQ_OK);
        arena = (uint8_t *)malloc((m.arena_size + 15u) / 16u * 16u);
        assert_non_null(arena);
        for (i = 0; i < PIX * C; i++) {
            x[i] = (uint8_t)rnd();
        }
        assert_int_equal(mq_depthwise_conv_single_rounding(&L.dw, x, t1), MQ_OK);
        assert_int_equal(mq_conv1x1_single_rounding(&pw1, t1, t2), MQ_OK);
        assert_int_equal(mq_conv1x1_single_rounding(&pw2, t2, want), MQ_OK);
        assert_int_equal(mq_model_run(&m, arena, m.arena_size, ins, outs), MQ_OK);
        assert_memory_equal(y, want, sizeof y);
        free(arena);
    }
    free(b);
    print_message("single-rounding conv model (in place and apart): %ld of %ld output codes differ from the "
                  "double-rounding model\n", differ, checked);
    assert_true(differ > 0);
}

static void test_loader_flag_rules(void **state)
{
    static layers L;
    desc d;
    (void)state;
    prepare(&L, 8);
    /* an overlap without the flag: rejected (op 0 written over its input unflagged) */
    describe(&d, &L, 8, 1);
    d.ops[0].flags = 0;
    d.ops[0].scratch_offset = 576;
    write_blob(&d, &(size_t){ 0 }, MQ_ERR_ARENA);
    /* flagged, output partially over the input (not at its offset): rejected */
    describe(&d, &L, 8, 1);
    d.t[1].arena_offset = 16;
    d.t[2].arena_offset = 16;
    d.t[3].arena_offset = 16;
    write_blob(&d, &(size_t){ 0 }, MQ_ERR_ARENA);
    /* flagged geometry the kernel cannot do: a pointwise layer with n > k (16 > 8) */
    prepare(&L, 16);
    describe(&d, &L, 16, 1);
    d.t[3].arena_offset = 0;
    d.m.arena_size = 576u + 256u;
    write_blob(&d, &(size_t){ 0 }, MQ_ERR_ARENA);
    prepare(&L, 8);
    /* flagged depthwise with a padding the row ring cannot do: pad_top 3 > (3 - 1) * 1 */
    describe(&d, &L, 8, 1);
    {
        static layers L2;
        mq_window win;
        mq_layer_quant q;
        memset(&win, 0, sizeof win);
        win.batch = 1;
        win.in_h = H;
        win.in_w = win.out_w = W;
        win.out_h = H + 2; /* (7 + 3 + 1 - 3) / 1 + 1 = 9 */
        win.kernel_h = win.kernel_w = 3;
        win.stride_h = win.stride_w = win.dilation_h = win.dilation_w = 1;
        win.pad_top = 3;
        win.pad_bottom = win.pad_left = win.pad_right = 1;
        memset(&q, 0, sizeof q);
        q.in_scale = 0.05f;
        q.weight_per_channel = 1;
        q.weight_scales = L.sd;
        q.out_scale = 0.04f;
        q.in_dtype = q.out_dtype = MQ_DTYPE_INT8;
        q.in_zero_point = 3;
        q.out_zero_point = -5;
        q.act_min = -128;
        q.act_max = 127;
        assert_int_equal(mq_depthwise_prepare(L.wd, L.bd, &win, C, 1, &q, L2.bufd, sizeof L2.bufd, &L2.dw), MQ_OK);
        assert_int_equal(mq_depthwise_inplace_scratch_size(&L2.dw), 0u);
        d.t[1].dims[1] = H + 2;
        d.ops[0] = mq_writer_op_depthwise_conv(0, 1, &L2.dw, 576u);
        d.ops[0].flags = MQ_WRITER_OP_IN_PLACE;
        d.m.num_ops = 1;
        d.outs[0] = 1;
        write_blob(&d, &(size_t){ 0 }, MQ_ERR_ARENA);
    }
    /* a flag on an op that cannot run in place (AVERAGE_POOL over its input): rejected; apart it loads */
    {
        mq_pool_params pp;
        memset(&pp, 0, sizeof pp);
        pp.win.kernel_h = pp.win.kernel_w = 3;
        pp.win.stride_h = pp.win.stride_w = pp.win.dilation_h = pp.win.dilation_w = 1;
        pp.win.pad_top = pp.win.pad_bottom = pp.win.pad_left = pp.win.pad_right = 1;
        pp.act_min = -128;
        pp.act_max = 127;
        describe(&d, &L, 8, 1);
        d.t[1].zero_point = 3;
        d.t[1].scale = 0.05f;
        d.ops[0] = mq_writer_op_pool(MQ_OP_AVERAGE_POOL, 0, 1, &pp);
        d.ops[0].flags = MQ_WRITER_OP_IN_PLACE;
        d.m.num_ops = 1;
        d.outs[0] = 1;
        write_blob(&d, &(size_t){ 0 }, MQ_ERR_FORMAT_OP);
        d.ops[0].flags = 0;
        d.t[1].arena_offset = 288;
        free(write_blob(&d, &(size_t){ 0 }, MQ_OK));
    }
    /* unknown flag bits: the writer refuses them, the loader too (patched blob) */
    describe(&d, &L, 8, 1);
    d.ops[1].flags = 2u;
    write_blob(&d, &(size_t){ 0 }, MQ_ERR_FORMAT_OP);
    {
        size_t size;
        uint8_t *b;
        mq_model m;
        uint32_t ops_off;
        describe(&d, &L, 8, 1);
        b = write_blob(&d, &size, MQ_OK);
        ops_off = (uint32_t)b[64 + 16 + 4] | (uint32_t)b[64 + 16 + 5] << 8 | (uint32_t)b[64 + 16 + 6] << 16 |
                  (uint32_t)b[64 + 16 + 7] << 24; /* section entry 1 (OPS): offset */
        assert_int_equal(b[ops_off + 3], 1);
        b[ops_off + 160 + 3] = 3; /* op 1: bit 1 unknown */
        assert_int_equal(mq_model_load(b, size, 0, &m), MQ_ERR_FORMAT_OP);
        b[ops_off + 160 + 3] = 0; /* op 1 unflagged but over its input */
        assert_int_equal(mq_model_load(b, size, 0, &m), MQ_ERR_ARENA);
        b[ops_off + 160 + 3] = 1;
        assert_int_equal(mq_model_load(b, size, 0, &m), MQ_OK);
        free(b);
    }
}

/* Every single-bit flip in the OPS section of the in-place blob (no CRC check, so the structural validation
 * alone decides): rejected, or run without touching the bytes past arena_size (16 guard bytes). */
static void test_inplace_bit_flips(void **state)
{
    static layers L;
    desc d;
    size_t size, bit;
    uint8_t *b, *t, x[PIX * C], y[PIX * 16];
    uint32_t ops_off;
    long accepted = 0, rejected = 0;
    size_t i;
    (void)state;
    prepare(&L, 8);
    describe(&d, &L, 8, 1);
    b = write_blob(&d, &size, MQ_OK);
    t = (uint8_t *)malloc(size);
    assert_non_null(t);
    ops_off = (uint32_t)b[84] | (uint32_t)b[85] << 8 | (uint32_t)b[86] << 16 | (uint32_t)b[87] << 24;
    for (i = 0; i < sizeof x; i++) {
        x[i] = (uint8_t)rnd();
    }
    for (bit = 0; bit < 3u * 160u * 8u; bit++) {
        mq_model m;
        memcpy(t, b, size);
        t[ops_off + bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        if (mq_model_load(t, size, 0, &m) != MQ_OK) {
            ++rejected;
            continue;
        }
        {
            const size_t n = (m.arena_size + 15u) / 16u * 16u + 16u;
            uint8_t *arena = (uint8_t *)malloc(n);
            const void *ins[1] = { x };
            void *outs[1] = { y };
            assert_non_null(arena);
            memset(arena + m.arena_size, 0xA5, n - m.arena_size);
            assert_int_equal(mq_model_run(&m, arena, m.arena_size, ins, outs), MQ_OK);
            for (i = m.arena_size; i < n; i++) {
                assert_int_equal(arena[i], 0xA5);
            }
            free(arena);
            ++accepted;
        }
    }
    printf("  in-place blob op-record bit flips: %ld rejected, %ld accepted and ran inside the arena\n", rejected,
           accepted);
    assert_true(rejected > 0 && accepted > 0);
    free(t);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inplace_model_matches_out_of_place),
        cmocka_unit_test(test_loader_flag_rules),
        cmocka_unit_test(test_single_rounding_conv_flag),
        cmocka_unit_test(test_inplace_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
