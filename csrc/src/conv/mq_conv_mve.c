/*
 * mq_conv_mve: mq_conv's im2col on Armv8.1-M with Helium (Cortex-M55), for KxK layers with dilation_w == 1
 * (any kernel size, stride, dilation_h, padding, in_c). The same blocks of mq_conv_block_rows output pixels and
 * the same GEMM microkernel (mq_gemm_s8_n4k16_mve) as the portable mq_conv, with two differences that change no
 * output byte:
 *   - the im2col rows are written by tail-predicated vector loops (WLSTP.8 / LETP: 16 codes per VLDRB/VSTRB,
 *     the last 1..15 predicated, nothing past the run read or written): per kernel row the taps left of the
 *     input (kx < kx_lo), the valid run of (kx_hi - kx_lo) * in_c codes, the taps right of it; rows outside the
 *     input are in_zero_point codes. Kernel rows of at most 4 codes (KWS's 10x4 on one channel): the block is
 *     first filled with padding codes by one vector loop and only the valid runs are copied (runs of 4 codes as
 *     one word, EOR 0x80808080);
 *   - UINT8 inputs are made signed while copied (EOR 0x80, the padded taps get in_zero_point ^ 0x80) and the GEMM
 *     runs them as INT8: the microkernel reads a UINT8 code x as x - 128 = (int8)(x ^ 0x80) (mq_gemm_s8_n4k16_c),
 *     so the sums, the folded bias (made for UINT8) and every output byte are the same; the per-chunk flip
 *     leaves the GEMM's inner loop (once per code here instead of once per code and group of 4 channels).
 * The GEMM sees the layer's k (its last chunk is VCTP8-predicated): the filler between k and the 16-code row
 * stride is never read (and written only by the block fill of <= 4-code kernel rows). Blocks: the planned
 * mq_conv_block_rows rounded down to an even count when above 2 (the GEMM's row pairs, mq_mve_pairs_s8).
 *   input  [batch, in_h, in_w, in_c] codes of p->gemm.in_dtype; output [batch, out_h, out_w, n]; scratch:
 *   mq_conv_scratch_size(p) bytes (the portable plan). Returns 1 when done, 0 (nothing written) when the layer is
 *   not one it takes (dilation_w != 1: the portable gather).
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_conv_internal.h"
#include "mq_microkernels.h"

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>

/* n >= 0 codes src -> dst, each XOR f. */
static inline __attribute__((always_inline)) void mq_conv_mve_copy(uint8_t *dst, const uint8_t *src, int32_t n,
                                                                   uint8x16_t f)
{
    __asm__ volatile("wlstp.8 lr, %[n], 2f\n\t"
                     "1:\n\t"
                     "vldrb.8 q0, [%[s]], #16\n\t"
                     "veor q0, q0, %q[f]\n\t"
                     "vstrb.8 q0, [%[d]], #16\n\t"
                     "letp lr, 1b\n\t"
                     "2:"
                     : [d] "+r"(dst), [s] "+r"(src)
                     : [n] "r"(n), [f] "w"(f)
                     : "q0", "lr", "memory");
}

/* n >= 0 codes v at dst. */
static inline __attribute__((always_inline)) void mq_conv_mve_fill(uint8_t *dst, uint8x16_t v, int32_t n)
{
    __asm__ volatile("wlstp.8 lr, %[n], 2f\n\t"
                     "1:\n\t"
                     "vstrb.8 %q[v], [%[d]], #16\n\t"
                     "letp lr, 1b\n\t"
                     "2:"
                     : [d] "+r"(dst)
                     : [n] "r"(n), [v] "w"(v)
                     : "lr", "memory");
}

/* kh rows of krow >= 1 codes, src + ky * step -> dst + ky * krow, each XOR f (an output pixel inside the input). */
static inline __attribute__((always_inline)) void mq_conv_mve_rows(uint8_t *dst, const uint8_t *src, int32_t kh,
                                                                   int32_t krow, ptrdiff_t step, uint8x16_t f)
{
    uint8_t *d;
    const uint8_t *s;
    __asm__ volatile("1:\n\t"
                     "mov %[s], %[src]\n\t"
                     "mov %[d], %[dst]\n\t"
                     "wlstp.8 lr, %[n], 3f\n\t"
                     "2:\n\t"
                     "vldrb.8 q0, [%[s]], #16\n\t"
                     "veor q0, q0, %q[f]\n\t"
                     "vstrb.8 q0, [%[d]], #16\n\t"
                     "letp lr, 2b\n\t"
                     "3:\n\t"
                     "add %[src], %[src], %[step]\n\t"
                     "add %[dst], %[dst], %[n]\n\t"
                     "subs %[k], %[k], #1\n\t"
                     "bne 1b"
                     : [dst] "+r"(dst), [src] "+r"(src), [k] "+r"(kh), [d] "=&r"(d), [s] "=&r"(s)
                     : [n] "r"(krow), [step] "r"(step), [f] "w"(f)
                     : "q0", "lr", "cc", "memory");
}

/* What the per-pixel gathers read (locals of mq_conv_mve, one pointer to them for the border calls). */
typedef struct {
    const uint8_t *in_b; /* the current image */
    ptrdiff_t line;      /* in_w * in_c */
    ptrdiff_t step;      /* dilation_h * line */
    int32_t c;
    int32_t kh;
    int32_t kw;
    int32_t krow; /* kernel_w * in_c */
    int32_t in_h;
    int32_t in_w;
    int32_t dh;
    uint32_t flip4; /* 0x80808080: UINT8 input, else 0 */
    uint8x16_t vf;  /* flip in every byte */
    uint8x16_t vz;  /* in_zero_point ^ flip in every byte */
} mq_conv_mve_geo;

/* im2col row of the output pixel whose window starts at (iy0, ix0) and leaves the input (or every pixel of a
 * layer with kernel rows of <= 4 codes, filled != 0: dst already holds padding codes). */
static __attribute__((noinline)) void mq_conv_mve_border(const mq_conv_mve_geo *q, uint8_t *dst, int32_t iy0,
                                                         int32_t ix0, int filled)
{
    const int32_t c = q->c;
    const int32_t kh = q->kh;
    const int32_t krow = q->krow;
    const int32_t in_h = q->in_h;
    const int32_t dh = q->dh;
    /* taps kx in [kx_lo, kx_hi) read columns inside the input: 0 <= ix0 + kx < in_w */
    int32_t kx_hi = q->in_w - ix0;
    int32_t kx_lo = -ix0;
    int32_t pre;
    int32_t run;
    int32_t post;
    int32_t ky;
    kx_hi = kx_hi < 0 ? 0 : (kx_hi > q->kw ? q->kw : kx_hi);
    kx_lo = kx_lo < 0 ? 0 : (kx_lo > kx_hi ? kx_hi : kx_lo);
    pre = kx_lo * c;
    run = (kx_hi - kx_lo) * c;
    post = krow - pre - run;
    if (filled) {
        /* kernel rows ky in [ky_lo, ky_hi) read rows inside the input: only their valid runs */
        int32_t ky_lo = iy0 >= 0 ? 0 : (-iy0 + dh - 1) / dh;
        int32_t ky_hi = iy0 >= in_h ? 0 : (in_h - 1 - iy0) / dh + 1;
        const uint8_t *src;
        ky_hi = ky_hi > kh ? kh : ky_hi;
        if (run == 0 || ky_lo >= ky_hi) {
            return;
        }
        src = q->in_b + (ptrdiff_t)(iy0 + ky_lo * dh) * q->line + (ptrdiff_t)(ix0 + kx_lo) * c;
        dst += (ptrdiff_t)ky_lo * krow + pre;
        ky = ky_hi - ky_lo;
        if (run == 4) {
            do {
                uint32_t v; /* one word (unaligned load / store) */
                memcpy(&v, src, sizeof v);
                v ^= q->flip4;
                memcpy(dst, &v, sizeof v);
                dst += krow;
                src += q->step;
            } while (--ky > 0);
        } else {
            do {
                mq_conv_mve_copy(dst, src, run, q->vf);
                dst += krow;
                src += q->step;
            } while (--ky > 0);
        }
        return;
    }
    for (ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky * dh;
        if (run == 0 || iy < 0 || iy >= in_h) {
            mq_conv_mve_fill(dst, q->vz, krow);
        } else {
            if (pre != 0) {
                mq_conv_mve_fill(dst, q->vz, pre);
            }
            mq_conv_mve_copy(dst + pre, q->in_b + (ptrdiff_t)iy * q->line + (ptrdiff_t)(ix0 + kx_lo) * c, run, q->vf);
            if (post != 0) {
                mq_conv_mve_fill(dst + pre + run, q->vz, post);
            }
        }
        dst += krow;
    }
}

int mq_conv_mve(const mq_conv_params *p, const void *input, void *output, void *scratch)
{
    const mq_window *w = &p->win;
    const uint8_t flip = p->gemm.in_dtype == MQ_DTYPE_UINT8 ? 0x80u : 0u;
    const int32_t n = p->gemm.n;
    const int32_t row_bytes = mq_conv_row_bytes(p);
    /* the planned block, made even when it holds more than one pixel pair: the GEMM takes the rows in pairs */
    const int32_t block = mq_conv_block_rows(p) > 2 ? mq_conv_block_rows(p) & ~1 : mq_conv_block_rows(p);
    const int32_t pixels = w->batch * w->out_h * w->out_w;
    const int32_t out_w = w->out_w;
    const int32_t out_h = w->out_h;
    const int32_t sw = w->stride_w;
    const int32_t sh = w->stride_h;
    /* windows starting at ix0 in [0, ix_max] and iy0 in [0, iy_max] lie inside the input */
    const int32_t ix_max = w->in_w - w->kernel_w;
    const int32_t iy_max = w->in_h - 1 - (w->kernel_h - 1) * w->dilation_h;
    /* kernel rows of at most 4 codes (KWS's 10x4 on one channel): the block is filled with padding codes by one
     * vector loop, then only the valid runs are copied (a word each: cheaper than a vector loop per kernel row) */
    const int filled = w->kernel_w * p->in_c <= 4;
    uint8_t *col = (uint8_t *)scratch;
    mq_conv_mve_geo q;
    mq_fc_params g;
    int32_t pix;
    int32_t oy = 0;
    int32_t ox = 0;
    int32_t iy0 = -w->pad_top;
    int32_t ix0 = -w->pad_left;
    if (w->dilation_w != 1) {
        return 0;
    }
    q.in_b = (const uint8_t *)input;
    q.c = p->in_c;
    q.kh = w->kernel_h;
    q.kw = w->kernel_w;
    q.krow = w->kernel_w * p->in_c;
    q.in_h = w->in_h;
    q.in_w = w->in_w;
    q.dh = w->dilation_h;
    q.line = (ptrdiff_t)w->in_w * p->in_c;
    q.step = (ptrdiff_t)w->dilation_h * q.line;
    q.flip4 = 0x01010101u * (uint32_t)flip;
    q.vf = vdupq_n_u8(flip);
    q.vz = vdupq_n_u8((uint8_t)((uint8_t)p->in_zero_point ^ flip));
    g = p->gemm;
    g.in_dtype = MQ_DTYPE_INT8; /* the codes are flipped in the copy */
    for (pix = 0; pix < pixels; pix += block) {
        const int32_t rows = pixels - pix < block ? pixels - pix : block;
        uint8_t *dst = col;
        int32_t r;
        if (filled) {
            mq_conv_mve_fill(col, q.vz, rows * row_bytes);
        }
        for (r = 0; r < rows; ++r) {
            if (!filled && ix0 >= 0 && ix0 <= ix_max && iy0 >= 0 && iy0 <= iy_max) {
                mq_conv_mve_rows(dst, q.in_b + (ptrdiff_t)iy0 * q.line + (ptrdiff_t)ix0 * q.c, q.kh, q.krow, q.step,
                                 q.vf);
            } else {
                mq_conv_mve_border(&q, dst, iy0, ix0, filled);
            }
            dst += row_bytes;
            ix0 += sw;
            if (++ox == out_w) {
                ox = 0;
                ix0 = -w->pad_left;
                iy0 += sh;
                if (++oy == out_h) {
                    oy = 0;
                    iy0 = -w->pad_top;
                    q.in_b += (ptrdiff_t)q.in_h * q.line;
                }
            }
        }
        mq_gemm_s8_n4k16_mve(&g, rows, col, row_bytes, (uint8_t *)output + (size_t)pix * (size_t)n, n);
    }
    return 1;
}

#endif /* __ARM_FEATURE_MVE */
