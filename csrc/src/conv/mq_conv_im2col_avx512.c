/*
 * mq_conv_im2col_avx512: one im2col block of the x86 host's KxK convolution driver (mq_conv_x86.c; simulator
 * only), AVX-512 BW, chosen at run time by mq_conv_x86 (mq_conv_im2col_avx512_supported, checked once).
 * Writes `rows` rows of row_bytes codes at col for the output pixels starting at (pos[0] = image, pos[1] = oy,
 * pos[2] = ox) and advances pos past them: exactly the bytes of mq_conv_x86's scalar block (every tap outside the
 * input and every filler byte up to row_bytes = in_zero_point; the valid runs of each kernel row copied). Each
 * run and fill is 64-byte pieces with a byte mask on the last (VMOVDQU8 with a mask: no byte outside the run is
 * read or written); a window wholly inside the input writes only its kernel_h runs and the filler tail (no fill
 * of the row first). Dilation 1 only (the caller's check). Compiled with a per-function target attribute.
 */
#include <stdint.h>

#include "microquant/mq_kernels.h"

#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>

#define MQ_IM2COL_AVX512 __attribute__((target("avx512f,avx512bw,bmi2")))

MQ_IM2COL_AVX512 static inline void mq_im2col_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 64u <= n; i += 64u) {
        _mm512_storeu_si512((void *)(dst + i), _mm512_loadu_si512((const void *)(src + i)));
    }
    if (i < n) {
        const __mmask64 m = _bzhi_u64(~(uint64_t)0, (unsigned)(n - i));
        _mm512_mask_storeu_epi8((void *)(dst + i), m, _mm512_maskz_loadu_epi8(m, (const void *)(src + i)));
    }
}

MQ_IM2COL_AVX512 static inline void mq_im2col_fill(uint8_t *dst, __m512i v, size_t n)
{
    size_t i = 0;
    for (; i + 64u <= n; i += 64u) {
        _mm512_storeu_si512((void *)(dst + i), v);
    }
    if (i < n) {
        _mm512_mask_storeu_epi8((void *)(dst + i), _bzhi_u64(~(uint64_t)0, (unsigned)(n - i)), v);
    }
}

MQ_IM2COL_AVX512
void mq_conv_im2col_avx512(const mq_conv_params *p, const uint8_t *in, uint8_t *col, int32_t row_bytes, int32_t rows,
                           int32_t pos[3])
{
    const mq_window *w = &p->win;
    const size_t c = (size_t)p->in_c;
    const size_t krow = (size_t)w->kernel_w * c;
    const int32_t kh = w->kernel_h, kw = w->kernel_w, in_h = w->in_h, in_w = w->in_w;
    const int32_t out_h = w->out_h, out_w = w->out_w;
    const int32_t sh = w->stride_h, sw = w->stride_w, pt = w->pad_top, pl = w->pad_left;
    const size_t in_image = (size_t)in_h * (size_t)in_w * c;
    const size_t in_row = (size_t)in_w * c;
    const size_t taps = (size_t)kh * krow;
    const __m512i zp = _mm512_set1_epi8((char)p->in_zero_point);
    int32_t b = pos[0], oy = pos[1], ox = pos[2], r;
    uint8_t *dst = col;
    for (r = 0; r < rows; ++r, dst += row_bytes) {
        const int32_t iy0 = oy * sh - pt;
        const int32_t ix0 = ox * sw - pl;
        const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
        const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
        const int32_t ky_hi = in_h - iy0 < kh ? in_h - iy0 : kh;
        const int32_t kx_hi = in_w - ix0 < kw ? in_w - ix0 : kw;
        if (ky_lo == 0 && kx_lo == 0 && ky_hi == kh && kx_hi == kw) {
            const uint8_t *src = in + (size_t)b * in_image + (size_t)iy0 * in_row + (size_t)ix0 * c;
            uint8_t *d = dst;
            int32_t ky;
            for (ky = 0; ky < kh; ++ky, src += in_row, d += krow) {
                mq_im2col_copy(d, src, krow);
            }
            mq_im2col_fill(dst + taps, zp, (size_t)row_bytes - taps);
        } else {
            mq_im2col_fill(dst, zp, (size_t)row_bytes);
            if (ky_lo < ky_hi && kx_lo < kx_hi) {
                const size_t run = (size_t)(kx_hi - kx_lo) * c;
                const uint8_t *src =
                    in + (size_t)b * in_image + (size_t)(iy0 + ky_lo) * in_row + (size_t)(ix0 + kx_lo) * c;
                uint8_t *d = dst + (size_t)ky_lo * krow + (size_t)kx_lo * c;
                int32_t ky;
                for (ky = ky_lo; ky < ky_hi; ++ky, src += in_row, d += krow) {
                    mq_im2col_copy(d, src, run);
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
    pos[0] = b;
    pos[1] = oy;
    pos[2] = ox;
}

int mq_conv_im2col_avx512_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("bmi2")
               ? 1
               : 0;
}

#endif /* MQ_X86_HOST_KERNELS */
