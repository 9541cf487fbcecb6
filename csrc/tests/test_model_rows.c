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

static void fx_rows_fail(const char *what)
{
    fail_msg("%s", what);
}

/* the segments, both forms and run(): the model shared with bench/rows_qemu_gen.c, at its default (small) limits */
#include "fx_rows_model.h"

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
        assert_true(make_layer(s, g, 0, K_CONV, -1, 1, 1, 3, s->c));
        assert_true(make_layer(s, g, 1, K_CONV, 0, 1, 1, 3, s->c));
        assert_true(make_add(s, g, 2, 1, -1));
        s->n = 3;
        return;
    }
    if (pattern == 2) {
        const int32_t c2 = (int32_t)ref_range(g, 1, MAXC);
        assert_true(make_layer(s, g, 0, K_CONV, -1, 1, 2, 3, c2));
        assert_true(make_layer(s, g, 1, K_CONV, 0, 1, 1, 3, c2));
        assert_true(make_layer(s, g, 2, K_1X1, -1, 1, 2, 1, c2));
        assert_true(make_add(s, g, 3, 1, 2));
        s->n = 4;
        return;
    }
    n = (int)ref_range(g, 1, 4);
    for (i = 0; i < n; i++) {
        const int kind = (int)ref_range(g, 0, 3);
        assert_true(make_layer(s, g, i, kind, i - 1, 0, 0, 0, 0));
    }
    s->n = n;
    if (pattern == 3) {
        assert_true(make_add(s, g, n, n - 1, -2));
        s->n = n + 1;
    } else if (s->L[n - 1].h == s->h && s->L[n - 1].w == s->w && s->L[n - 1].c == s->c && ref_range(g, 0, 2) != 0) {
        if (ref_range(g, 0, 1)) {
            assert_true(make_add(s, g, n, n - 1, -1));
        } else {
            assert_true(make_add(s, g, n, -1, n - 1));
        }
        s->n = n + 1;
    }
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
        assert_non_null(ub);
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
    {
        /* overlapping regions: a ring over the input or another ring, the scratch over a ring, the ADD term tables
         * over a ring or over the members' scratch (both live while the tables are read) */
        const struct {
            int *knob;
            const char *what;
        } overlaps[] = {{&o.ring_over_input, "ring over the input"}, {&o.ring_over_ring, "ring over a ring"},
                        {&o.scratch_over_ring, "scratch over a ring"}, {&o.terms_over_ring, "term tables over a ring"},
                        {&o.terms_over_scratch, "term tables over the scratch"}};
        size_t i;
        for (i = 0; i < sizeof overlaps / sizeof overlaps[0]; i++) {
            mq_status st;
            *overlaps[i].knob = 1;
            st = rows_blob(&ic1, &o, &b, &size, &arena);
            *overlaps[i].knob = 0;
            if (st != MQ_ERR_ARENA) {
                fail_msg("%s: status %d, not MQ_ERR_ARENA", overlaps[i].what, (int)st);
            }
        }
    }
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
            assert_true(make_layer(&one, &g, 0, K_CONV, -1, 1, 1, 3, 3));
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
