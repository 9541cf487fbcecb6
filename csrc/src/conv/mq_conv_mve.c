/*
 * mq_conv_mve: mq_conv's im2col on Armv8.1-M with Helium (Cortex-M55), for KxK layers with dilation_w == 1
 * (any kernel size, stride, dilation_h, padding, in_c). The same blocks of mq_conv_block_rows output pixels and
 * the same GEMM microkernel (mq_gemm_s8_n4k16_mve) as the portable mq_conv, with two differences that change no
 * output byte:
 *   - the im2col rows are written by tail-predicated vector loops (WLSTP.8 / LETP: 16 codes per VLDRB/VSTRB,
 *     the last 1..15 predicated, nothing past the run read or written): per kernel row the taps left of the
 *     input (kx < kx_lo), the valid run of (kx_hi - kx_lo) * in_c codes, the taps right of it; rows outside the
 *     input are in_zero_point codes;
 *   - UINT8 inputs are made signed while copied (EOR 0x80, the padded taps get in_zero_point ^ 0x80) and the GEMM
 *     runs them as INT8: the microkernel reads a UINT8 code x as x - 128 = (int8)(x ^ 0x80) (mq_gemm_s8_n4k16_c),
 *     so the sums, the folded bias (made for UINT8) and every output byte are the same; the per-chunk flip
 *     leaves the GEMM's inner loop (once per code here instead of once per code and group of 4 channels).
 * The GEMM sees the layer's k (its last chunk is VCTP8-predicated): the filler between k and the 16-code row
 * stride is neither written nor read.
 *   input  [batch, in_h, in_w, in_c] codes of p->gemm.in_dtype; output [batch, out_h, out_w, n]; scratch:
 *   mq_conv_scratch_size(p) bytes (the portable plan). Returns 1 when done, 0 (nothing written) when the layer is
 *   not one it takes (dilation_w != 1: the portable gather).
 */
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

int mq_conv_mve(const mq_conv_params *p, const void *input, void *output, void *scratch)
{
    const mq_window *w = &p->win;
    const int32_t c = p->in_c;
    const int32_t kh = w->kernel_h;
    const int32_t kw = w->kernel_w;
    const int32_t krow = kw * c;
    const int32_t in_h = w->in_h;
    const int32_t in_w = w->in_w;
    const int32_t dh = w->dilation_h;
    const int32_t n = p->gemm.n;
    const ptrdiff_t line = (ptrdiff_t)in_w * c;
    const ptrdiff_t image = (ptrdiff_t)in_h * line;
    const uint8_t flip = p->gemm.in_dtype == MQ_DTYPE_UINT8 ? 0x80u : 0u;
    const uint8x16_t vf = vdupq_n_u8(flip);
    const uint8x16_t vz = vdupq_n_u8((uint8_t)((uint8_t)p->in_zero_point ^ flip));
    const int32_t row_bytes = mq_conv_row_bytes(p);
    const int32_t block = mq_conv_block_rows(p);
    const int32_t pixels = w->batch * w->out_h * w->out_w;
    uint8_t *col = (uint8_t *)scratch;
    const uint8_t *in_b = (const uint8_t *)input;
    mq_fc_params g;
    int32_t pix;
    int32_t oy = 0;
    int32_t ox = 0;
    if (w->dilation_w != 1) {
        return 0;
    }
    g = p->gemm;
    g.in_dtype = MQ_DTYPE_INT8; /* the codes are flipped in the copy */
    for (pix = 0; pix < pixels; pix += block) {
        const int32_t rows = pixels - pix < block ? pixels - pix : block;
        uint8_t *dst_row = col;
        int32_t r;
        for (r = 0; r < rows; ++r) {
            const int32_t iy0 = oy * w->stride_h - w->pad_top;
            const int32_t ix0 = ox * w->stride_w - w->pad_left;
            /* taps kx in [kx_lo, kx_hi) read columns inside the input: 0 <= ix0 + kx < in_w */
            int32_t kx_hi = in_w - ix0;
            int32_t kx_lo = -ix0;
            int32_t pre;
            int32_t run;
            int32_t post;
            int32_t ky;
            uint8_t *dst = dst_row;
            kx_hi = kx_hi < 0 ? 0 : (kx_hi > kw ? kw : kx_hi);
            kx_lo = kx_lo < 0 ? 0 : (kx_lo > kx_hi ? kx_hi : kx_lo);
            pre = kx_lo * c;
            run = (kx_hi - kx_lo) * c;
            post = krow - pre - run;
            for (ky = 0; ky < kh; ++ky) {
                const int32_t iy = iy0 + ky * dh;
                if (run == 0 || iy < 0 || iy >= in_h) {
                    mq_conv_mve_fill(dst, vz, krow);
                } else {
                    if (pre != 0) {
                        mq_conv_mve_fill(dst, vz, pre);
                    }
                    mq_conv_mve_copy(dst + pre, in_b + (ptrdiff_t)iy * line + (ptrdiff_t)(ix0 + kx_lo) * c, run,
                                     vf);
                    if (post != 0) {
                        mq_conv_mve_fill(dst + pre + run, vz, post);
                    }
                }
                dst += krow;
            }
            dst_row += row_bytes;
            if (++ox == w->out_w) {
                ox = 0;
                if (++oy == w->out_h) {
                    oy = 0;
                    in_b += image;
                }
            }
        }
        mq_gemm_s8_n4k16_mve(&g, rows, col, row_bytes, (uint8_t *)output + (size_t)pix * (size_t)n, n);
    }
    return 1;
}

#endif /* __ARM_FEATURE_MVE */
