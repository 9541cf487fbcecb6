/*
 * mq_conv_x86: the KxK convolution's im2col driver on the x86-64 host (simulator only; mq_conv_unchecked calls it
 * first under MQ_X86_HOST_KERNELS). Same rows, same GEMM: bit-identical to mq_conv's blocks.
 *   - blocks of up to 256 output pixels (at most MQ_CONV_X86_BYTES = 64 KiB of im2col rows, on the stack) instead
 *     of the device plan's <= 32, so the run-time dispatched GEMM gets m >= 64 rows (the AVX-512 VNNI kernel's
 *     K4N16 path) and its per-call set-up is spread over up to 256 rows; the arena scratch is not used;
 *   - rows of round_up(k, 16) codes (the GEMM sees k rounded up to 16, as mq_conv does on x86: the filler meets
 *     the zero weights of the N4K16 padding); every tap outside the input and the filler are in_zero_point, the
 *     valid runs of each kernel row are copied (the window clipped with compares, no divisions: dilation 1);
 *   - on AVX-512 VNNI with in_c % 4 == 0 (and the GEMM dispatcher on avx512vnni): no im2col copy for windows
 *     wholly inside the input: mq_conv_rows_avx512 gives their rows as pointers into the input (stride = the
 *     input row), gathers only the clipped windows, and mq_gemm_s8_n4k16_avx512vnni_ind reads the quads in
 *     place (same k order, same sums); where that GEMM path declines the layer, the gathered blocks below;
 *   - else the block is built by mq_conv_im2col_avx512 (64-byte copies; chosen at run time, checked once) or
 *     by the scalar loop below (the block set to in_zero_point once, then overlapping word copies).
 * Every output pixel's row holds exactly the codes mq_conv's gather writes, and the GEMM computes each row
 * independently of the others, so the block size changes no output byte (test_conv_kxk, test_model_batch).
 * Returns 0 (nothing written) when the layer is not one it takes: dilation > 1, or rows longer than 1024 codes.
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_conv_internal.h"
#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#define MQ_CONV_X86_BYTES 65536
#define MQ_CONV_X86_MAX_ROWS 256

/* n codes from src to dst (n small; no library call): pieces of 8, then the last piece overlapping the one before
 * (every byte read lies in src[0, n), every byte written in dst[0, n)) */
static inline void mq_conv_x86_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 8u) {
        uint64_t v;
        size_t i;
        for (i = 0; i + 8u < n; i += 8u) {
            memcpy(&v, src + i, 8);
            memcpy(dst + i, &v, 8);
        }
        memcpy(&v, src + n - 8u, 8);
        memcpy(dst + n - 8u, &v, 8);
    } else if (n >= 4u) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4u, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4u, &b, 4);
    } else if (n >= 2u) {
        uint16_t a, b;
        memcpy(&a, src, 2);
        memcpy(&b, src + n - 2u, 2);
        memcpy(dst, &a, 2);
        memcpy(dst + n - 2u, &b, 2);
    } else if (n == 1u) {
        *dst = *src;
    }
}

/* -1: not checked yet, 0: scalar block, 1: AVX-512 BW block, 2: indirect rows (AVX-512 VNNI) */
static int mq_conv_x86_variant = -1;

static int mq_conv_x86_best(void)
{
    return !mq_conv_im2col_avx512_supported() ? 0 : (mq_gemm_s8_n4k16_x86_supported("avx512vnni") ? 2 : 1);
}

int mq_conv_x86_select(const char *name)
{
    const int best = mq_conv_x86_best();
    int v;
    if (name == NULL) {
        v = best;
    } else if (strcmp(name, "c") == 0) {
        v = 0;
    } else if (strcmp(name, "avx512") == 0) {
        v = 1;
    } else if (strcmp(name, "indirect") == 0) {
        v = 2;
    } else {
        return 0;
    }
    if (v > best) {
        return 0;
    }
    __atomic_store_n(&mq_conv_x86_variant, v, __ATOMIC_RELAXED);
    return 1;
}

int mq_conv_x86(const mq_conv_params *p, const void *input, void *output)
{
    const mq_window *w = &p->win;
    const int32_t row_bytes = mq_conv_row_bytes(p);
    const size_t c = (size_t)p->in_c;
    const size_t krow = (size_t)w->kernel_w * c;
    const int32_t kh = w->kernel_h, kw = w->kernel_w, in_h = w->in_h, in_w = w->in_w;
    const int32_t out_h = w->out_h, out_w = w->out_w;
    const int32_t sh = w->stride_h, sw = w->stride_w, pt = w->pad_top, pl = w->pad_left;
    const size_t in_image = (size_t)in_h * (size_t)in_w * c;
    const size_t in_row = (size_t)in_w * c;
    const int32_t n = p->gemm.n;
    const uint8_t zp = (uint8_t)p->in_zero_point;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    __attribute__((aligned(64))) uint8_t col[MQ_CONV_X86_BYTES + 64]; /* + 64: mq_conv_im2col_avx512 */
    mq_fc_params g, gi;
    int32_t block, pixels, pix, b = 0, oy = 0, ox = 0;
    int variant = __atomic_load_n(&mq_conv_x86_variant, __ATOMIC_RELAXED);
    if (w->dilation_h != 1 || w->dilation_w != 1 || row_bytes > MQ_CONV_X86_BYTES / 64) {
        return 0;
    }
    block = MQ_CONV_X86_BYTES / row_bytes;
    block = block > MQ_CONV_X86_MAX_ROWS ? MQ_CONV_X86_MAX_ROWS : block;
    pixels = w->batch * out_h * out_w;
    g = p->gemm;
    g.k = row_bytes; /* same packed weights (zero beyond k): the filler codes meet zero weights */
    if (variant < 0) {
        variant = mq_conv_x86_best();
        __atomic_store_n(&mq_conv_x86_variant, variant, __ATOMIC_RELAXED);
    }
    gi = p->gemm;
    if (variant == 2 && (c % 4u != 0u || strcmp(mq_gemm_s8_n4k16_x86_name(), "avx512vnni") != 0)) {
        variant = 1;
    }
    for (pix = 0; pix < pixels; pix += block) {
        const int32_t rows = pixels - pix < block ? pixels - pix : block;
        uint8_t *dst = col;
        int32_t r;
        if (variant == 2) {
            /* indirect rows: only clipped windows are gathered (a block's other rows are read in place) */
            const uint8_t *rowp[MQ_CONV_X86_MAX_ROWS];
            ptrdiff_t strides[MQ_CONV_X86_MAX_ROWS];
            int32_t pos[3], save[3];
            save[0] = pos[0] = b;
            save[1] = pos[1] = oy;
            save[2] = pos[2] = ox;
            mq_conv_rows_avx512(p, in, col, row_bytes, rows, pos, rowp, strides);
            if (mq_gemm_s8_n4k16_avx512vnni_ind(&gi, rows, rowp, strides, kh, out + (size_t)pix * (size_t)n, n)) {
                b = pos[0];
                oy = pos[1];
                ox = pos[2];
                continue;
            }
            variant = 1; /* the path does not take this layer (checked on its first block): gathered blocks */
            pos[0] = save[0];
            pos[1] = save[1];
            pos[2] = save[2];
        }
        if (variant == 1) {
            int32_t pos[3];
            pos[0] = b;
            pos[1] = oy;
            pos[2] = ox;
            mq_conv_im2col_avx512(p, in, col, row_bytes, rows, pos);
            b = pos[0];
            oy = pos[1];
            ox = pos[2];
            MQ_GEMM_S8_N4K16(&g, rows, col, row_bytes, out + (size_t)pix * (size_t)n, n);
            continue;
        }
        memset(col, zp, (size_t)rows * (size_t)row_bytes);
        for (r = 0; r < rows; ++r, dst += row_bytes) {
            const int32_t iy0 = oy * sh - pt;
            const int32_t ix0 = ox * sw - pl;
            /* kernel rows [ky_lo, ky_hi) and columns [kx_lo, kx_hi) read inside the input */
            const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
            const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
            const int32_t ky_hi = in_h - iy0 < kh ? in_h - iy0 : kh;
            const int32_t kx_hi = in_w - ix0 < kw ? in_w - ix0 : kw;
            if (ky_lo < ky_hi && kx_lo < kx_hi) {
                const size_t run = (size_t)(kx_hi - kx_lo) * c;
                const uint8_t *src = in + (size_t)b * in_image + (size_t)(iy0 + ky_lo) * in_row + (size_t)(ix0 + kx_lo) * c;
                uint8_t *d = dst + (size_t)ky_lo * krow + (size_t)kx_lo * c;
                int32_t ky;
                if (run == 4u) {
                    for (ky = ky_lo; ky < ky_hi; ++ky, src += in_row, d += krow) {
                        uint32_t v;
                        memcpy(&v, src, 4);
                        memcpy(d, &v, 4);
                    }
                } else {
                    for (ky = ky_lo; ky < ky_hi; ++ky, src += in_row, d += krow) {
                        mq_conv_x86_copy(d, src, run);
                    }
                }
            }
            if (++ox == out_w) {
                ox = 0;
                if (++oy == out_h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        MQ_GEMM_S8_N4K16(&g, rows, col, row_bytes, out + (size_t)pix * (size_t)n, n);
    }
    return 1;
}

#endif /* MQ_X86_HOST_KERNELS */
