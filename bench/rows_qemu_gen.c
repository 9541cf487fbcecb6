/*
 * Host generator for the row-streamed segment check on the QEMU Cortex-M cores (scripts/test-rows-qemu.sh,
 * firmware bench/test_rows_qemu.c). Random residual segments (IC stage 1 and 2 blocks, bottlenecks, inverted
 * residuals with a depthwise member, random chains of KxK / depthwise / 1x1 / LUT members with any padding,
 * dilation and a residual or constant ADD; uint8 / int8, per-channel or per-tensor, ReLU or none, LUT outputs,
 * single rounding; channel counts crossing the DSP pair-loop bounds k = 288 / 640, rows of up to 45 pixels across
 * the im2col blocks) are written twice by mq_writer_write, with the model of csrc/tests/test_model_rows.c
 * (csrc/tests/fx_rows_model.h, at larger limits): layer by layer (ordinary ops, every tensor apart) and as one
 * ROW_STREAM op (output in place when the loader accepts it, else apart).
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

#define SAMPLES 2
/* the limits of the model shared with csrc/tests/test_model_rows.c (csrc/tests/fx_rows_model.h) */
#define MAXL 9 /* segments of up to 8 members (the format's maximum) */
#define MAXN 1024 /* output channels (bias, scales) */
#define MAXC 96
#define MAXK 5
#define FX_ROWS_KONST_BYTES 262144
#define FX_ROWS_BUF_BYTES (MAXC * MAXK * MAXK * MAXC * 2 + 65536)
#define FX_ROWS_RAND_C 8
/* wide accumulations: smaller weight scales keep the codes off the clamps */
#define FX_ROWS_WSCALE(r) (0.0005f + 0.00025f * (float)(r))
#define FX_ROWS_ADD_RELU 1
#define FX_ROWS_KONST_WHOLE 0

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

static void fx_rows_fail(const char *what)
{
    die(what);
}

#include "fx_rows_model.h"

static const char *kind_name[] = {"conv", "dw", "1x1", "lut", "add"};

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
    memset(s, 0, sizeof *s);
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

static void describe_text(FILE *f, int idx, int pattern, const segment *s, int terms, int inplace, size_t blob)
{
    int q;
    fprintf(f, "case %d: pattern %d %s S %dx%dx%d%s %s, %d members, %s, blob %zu:", idx, pattern,
            s->dt == MQ_DTYPE_UINT8 ? "uint8" : "int8", (int)s->h, (int)s->w, (int)s->c,
            s->single_rounding ? (terms ? " single-rounding add-tables" : " single-rounding")
                               : (terms ? " add-tables" : ""), inplace ? "in place" : "apart", s->n,
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
        int inplace, ok = 0, r, big = 0, terms;
        rows_opts o;
        static uint8_t x[SAMPLES][65536], y1[SAMPLES][65536], y2[65536];
        if (!make_segment(&s, &g, pattern)) {
            continue;
        }
        /* the ADD term tables in the arena (ROW_STREAM p17/p18) for most segments with an ADD member (not from the
         * generator's stream: the same cases as without the tables) */
        terms = tries % 4 != 0;
        ub = unfused_blob(&s, &us);
        if (!ub) {
            continue;
        }
        memset(&o, 0, sizeof o);
        o.no_terms = !terms;
        for (inplace = 1; inplace >= 0 && !ok; inplace--) {
            o.inplace = inplace;
            o.ring_extra = (int32_t)ref_range(&g, 0, 1);
            if (rows_blob(&s, &o, &rb, &rs, NULL) == MQ_OK) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            o.inplace = inplace = 0;
            o.ring_extra = 64;
            if (rows_blob(&s, &o, &rb, &rs, NULL) != MQ_OK) {
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
                describe_text(stderr, (int)count, pattern, &s, terms, inplace, rs);
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
        describe_text(tf, (int)count, pattern, &s, terms, inplace, rs);
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
