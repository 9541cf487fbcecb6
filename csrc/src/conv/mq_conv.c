/*
 * mq_conv: KxK convolution, NHWC, group 1, any kernel size, stride, dilation and asymmetric padding, on the N4K16
 * GEMM microkernel (im2col of blocks of output pixels into the host-planned scratch).
 *
 *   input  [batch, in_h, in_w, in_c]   codes of gemm.in_dtype (INT8 or UINT8), zero point in_zero_point
 *   output [batch, out_h, out_w, n]    codes of gemm.out_dtype (or LUT bytes), n = gemm.n
 *   weights W[n][ky][kx][c] (TFLite OHWI) as (n, k = kernel_h * kernel_w * in_c) rows, N4K16-packed
 *   bias    folded with in_zero_point over all k taps (mq_fold_bias / mq_conv_prepare)
 *   out[b][oy][ox][o] = output_stage(bias[o] + sum_{ky,kx,c} (x[b][iy][ix][c] - zp) * W[o][ky][kx][c]),
 *   iy = oy * stride_h - pad_top + ky * dilation_h, ix = ox * stride_w - pad_left + kx * dilation_w;
 *   taps outside the input read in_zero_point (contribute 0), as TFLite's CONV_2D.
 *
 * 1x1 kernels with strides 1 or 2 run mq_conv1x1 (no copy). Otherwise blocks of mq_conv_block_rows pixels
 * (mq_conv_internal.h) are gathered into rows of mq_conv_row_bytes codes: per kernel row, the valid run of
 * taps is one copy (dilation_w == 1) or tap by tap, padded taps and the filler up to the row size are
 * in_zero_point codes (the filler meets zero weights: the N4K16 padding); then ONE microkernel call per block.
 * Kernel rows shorter than 16 codes (dilation_w 1, e.g. KWS's 10x4 on one channel): the block is first set to
 * in_zero_point by one memset and only the valid runs are copied.
 * On Cortex-M55 layers with dilation_w 1 go to mq_conv_mve (the same blocks and GEMM; Helium im2col copies, UINT8
 * codes made signed while copied).
 * On DSP cores the microkernel sees k rounded up to 4 (k <= 128) or 16 (same packed weights, zero tail) so every
 * block takes its assembly pair loop, and (-O2) an odd block's last pixel is gathered again as the next block's
 * first (even GEMM calls; same scratch); on the x86 host k rounded up to 16 (the x86 kernels' k % 16 tail copies codes); elsewhere it sees k.
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_conv_internal.h"
#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

/* DSP cores (-O2): GEMM calls on an even number of rows except the layer's last, so every row takes the pair loops (an
 * odd last row costs about twice a paired one: the 3x3 convolution over 32 channels has 7-row blocks). */
#if MQ_GEMM_K_PAD16 && !defined(__OPTIMIZE_SIZE__)
#define MQ_CONV_EVEN_RUNS 1
#else
#define MQ_CONV_EVEN_RUNS 0
#endif

/* Short copies and fills are byte loops (a library call costs more than a few bytes). */
static inline void mq_conv_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 16u) {
        memcpy(dst, src, n);
    } else {
        while (n-- > 0u) {
            *dst++ = *src++;
        }
    }
}

static inline void mq_conv_fill(uint8_t *dst, uint8_t v, size_t n)
{
    if (n >= 16u) {
        memset(dst, v, n);
    } else {
        while (n-- > 0u) {
            *dst++ = v;
        }
    }
}

/* im2col row of output pixel (oy, ox) of image in_b. */
static void mq_conv_gather(const mq_conv_params *p, const uint8_t *in_b, int32_t oy, int32_t ox, uint8_t *dst,
                           int32_t row_bytes, uint8_t zp, int filled)
{
    const mq_window *w = &p->win;
    const size_t c = (size_t)p->in_c;
    const size_t krow = (size_t)w->kernel_w * c;
    const int32_t iy0 = oy * w->stride_h - w->pad_top;
    const int32_t ix0 = ox * w->stride_w - w->pad_left;
    int32_t kx_lo;
    int32_t kx_hi;
    int32_t ky;
    /* taps kx in [kx_lo, kx_hi) read columns inside the input: 0 <= ix0 + kx * dilation_w < in_w */
    kx_lo = ix0 >= 0 ? 0 : (-ix0 + w->dilation_w - 1) / w->dilation_w;
    kx_hi = ix0 >= w->in_w ? 0 : (w->in_w - 1 - ix0) / w->dilation_w + 1;
    if (kx_hi > w->kernel_w) {
        kx_hi = w->kernel_w;
    }
    if (kx_lo > kx_hi) {
        kx_lo = kx_hi;
    }
    if (filled) {
        /* dst holds in_zero_point codes: only the valid runs are written */
        if (w->dilation_w == 1 && kx_lo < kx_hi) {
            /* fields in locals: the byte stores below may alias *p, which would reload them every row */
            const int32_t dh = w->dilation_h;
            const int32_t in_h = w->in_h;
            const size_t run = (size_t)(kx_hi - kx_lo) * c;
            const ptrdiff_t step = (ptrdiff_t)dh * w->in_w * (ptrdiff_t)c;
            /* kernel rows ky in [ky_lo, ky_hi) read rows inside the input: 0 <= iy0 + ky * dilation_h < in_h */
            int32_t ky_lo = iy0 >= 0 ? 0 : (-iy0 + dh - 1) / dh;
            int32_t ky_hi = iy0 >= in_h ? 0 : (in_h - 1 - iy0) / dh + 1;
            const uint8_t *src;
            if (ky_hi > w->kernel_h) {
                ky_hi = w->kernel_h;
            }
            if (ky_lo >= ky_hi) {
                return;
            }
            src = in_b + ((ptrdiff_t)(iy0 + ky_lo * dh) * w->in_w + (ix0 + kx_lo)) * (ptrdiff_t)c;
            dst += (size_t)ky_lo * krow + (size_t)kx_lo * c;
            ky = ky_hi - ky_lo;
            if (run == 4u) {
                do {
                    uint32_t v; /* one word (unaligned load/store where the core has them) */
                    memcpy(&v, src, sizeof(v));
                    memcpy(dst, &v, sizeof(v));
                    dst += krow;
                    src += step;
                } while (--ky > 0);
            } else {
                do {
                    mq_conv_copy(dst, src, run);
                    dst += krow;
                    src += step;
                } while (--ky > 0);
            }
        }
        return;
    }
    for (ky = 0; ky < w->kernel_h; ++ky) {
        const int32_t iy = iy0 + ky * w->dilation_h;
        if (iy < 0 || iy >= w->in_h || kx_lo == kx_hi) {
            mq_conv_fill(dst, zp, krow);
        } else {
            const uint8_t *src = in_b + ((size_t)iy * (size_t)w->in_w + (size_t)(ix0 + kx_lo * w->dilation_w)) * c;
            mq_conv_fill(dst, zp, (size_t)kx_lo * c);
            if (w->dilation_w == 1) {
                mq_conv_copy(dst + (size_t)kx_lo * c, src, (size_t)(kx_hi - kx_lo) * c);
            } else {
                int32_t kx;
                for (kx = kx_lo; kx < kx_hi; ++kx) {
                    mq_conv_copy(dst + (size_t)kx * c, src, c);
                    src += (size_t)w->dilation_w * c;
                }
            }
            mq_conv_fill(dst + (size_t)kx_hi * c, zp, (size_t)(w->kernel_w - kx_hi) * c);
        }
        dst += krow;
    }
    mq_conv_fill(dst, zp, (size_t)(row_bytes - p->gemm.k));
}

void mq_conv_unchecked(const mq_conv_params *p, const void *input, void *output, void *scratch)
{
    const mq_window *w = &p->win;
    mq_fc_params g;
    int32_t row_bytes;
    int32_t block;
    int32_t pixels;
    int32_t image_pixels;
    int32_t pix;
    int32_t b = 0;
    int32_t oy = 0;
    int32_t ox = 0;
    uint8_t *col;
    uint8_t zp;
    int filled;
#if MQ_CONV_EVEN_RUNS
    int32_t run = 0;
#define MQ_CONV_STEP run
#else
#define MQ_CONV_STEP block
#endif
    if (mq_conv_is_1x1(p)) {
        mq_conv1x1_params c;
        mq_conv_as_1x1(p, &c);
        mq_conv1x1_unchecked(&c, input, output, scratch);
        return;
    }
#if defined(__ARM_FEATURE_MVE) && !defined(MQ_FORCE_PORTABLE)
    /* Cortex-M55: Helium im2col copies, UINT8 made signed in the copy (mq_conv_mve.c) */
    if (mq_conv_mve(p, input, output, scratch)) {
        return;
    }
#endif
#if defined(MQ_X86_HOST_KERNELS) && !defined(MQ_FORCE_PORTABLE)
    /* x86 host: larger im2col blocks on the stack (the same rows and GEMM; mq_conv_x86.c) */
    if (mq_conv_x86(p, input, output)) {
        return;
    }
#endif
    row_bytes = mq_conv_row_bytes(p);
    block = mq_conv_block_rows(p);
    g = p->gemm;
#if MQ_GEMM_K_PAD16
    /* same packed weights (zero beyond k), the filler codes meet zero weights: k rounded up to 4 where the DSP pair
     * loop takes it (k <= 128: whole 4-code steps), else to 16 */
    g.k = ((g.k + 3) & ~3) <= 128 ? ((g.k + 3) & ~3) : row_bytes;
#elif defined(MQ_X86_HOST_KERNELS) && !defined(MQ_FORCE_PORTABLE)
    /* same packed weights (zero beyond k), the filler codes meet zero weights; x86 host: no k % 16 tail path */
    g.k = row_bytes;
#endif
    image_pixels = w->out_h * w->out_w;
    pixels = w->batch * image_pixels;
    col = (uint8_t *)scratch;
    zp = (uint8_t)p->in_zero_point;
    /* short kernel rows (dilation_w 1): the block is filled with in_zero_point by one memset, then only the
     * valid runs are copied (per-pixel fills of a few bytes cost more than the block memset) */
    filled = w->dilation_w == 1 && (int32_t)w->kernel_w * p->in_c < 16;
    for (pix = 0; pix < pixels; pix += MQ_CONV_STEP) {
        const int32_t rows = pixels - pix < block ? pixels - pix : block;
        int32_t r;
        if (filled) {
            memset(col, zp, (size_t)rows * (size_t)row_bytes);
        }
        for (r = 0; r < rows; ++r) {
            const uint8_t *in_b = (const uint8_t *)input + (size_t)b * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
            mq_conv_gather(p, in_b, oy, ox, col + (size_t)r * (size_t)row_bytes, row_bytes, zp, filled);
            if (++ox == w->out_w) {
                ox = 0;
                if (++oy == w->out_h) {
                    oy = 0;
                    ++b;
                }
            }
        }
#if MQ_CONV_EVEN_RUNS
        run = rows;
        if ((rows & 1) != 0 && pix + rows < pixels) {
            /* an odd block with pixels after it: its last pixel is gathered again as the next block's first */
            run = rows - 1;
            if (ox-- == 0) {
                ox = w->out_w - 1;
                if (oy-- == 0) {
                    oy = w->out_h - 1;
                    --b;
                }
            }
        }
        MQ_GEMM_S8_N4K16(&g, run, col, row_bytes, (uint8_t *)output + (size_t)pix * (size_t)p->gemm.n, p->gemm.n);
#else
        MQ_GEMM_S8_N4K16(&g, rows, col, row_bytes, (uint8_t *)output + (size_t)pix * (size_t)p->gemm.n, p->gemm.n);
#endif
    }
#undef MQ_CONV_STEP
}

mq_status mq_conv(const mq_conv_params *p, const void *input, void *output, void *scratch, size_t scratch_size)
{
    const mq_window *w;
    size_t in_bytes;
    size_t out_bytes;
    size_t need;
    mq_status st = mq_conv_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (input == NULL || output == NULL) {
        return MQ_ERR_NULL;
    }
    w = &p->win;
    if (mq_conv_is_1x1(p)) {
        mq_conv1x1_params c;
        mq_conv_as_1x1(p, &c);
        return mq_conv1x1(&c, input, output, scratch, scratch_size);
    }
    need = mq_conv_scratch_size(p);
    if (scratch == NULL) {
        return MQ_ERR_NULL;
    }
    if (scratch_size < need) {
        return MQ_ERR_BUFFER;
    }
    in_bytes = (size_t)w->batch * (size_t)w->in_h * (size_t)w->in_w * (size_t)p->in_c;
    out_bytes = (size_t)w->batch * (size_t)w->out_h * (size_t)w->out_w * (size_t)p->gemm.n;
    if (mq_ranges_overlap(input, in_bytes, output, out_bytes) || mq_ranges_overlap(scratch, need, input, in_bytes) ||
        mq_ranges_overlap(scratch, need, output, out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    mq_conv_unchecked(p, input, output, scratch);
    return MQ_OK;
}
