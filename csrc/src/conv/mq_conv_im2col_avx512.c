/*
 * mq_conv_im2col_avx512: one im2col block of the x86 host's KxK convolution driver (mq_conv_x86.c; simulator
 * only), AVX-512 BW, chosen at run time by mq_conv_x86 (mq_conv_im2col_avx512_supported, checked once).
 * Writes `rows` rows of row_bytes codes at col for the output pixels starting at (pos[0] = image, pos[1] = oy,
 * pos[2] = ox) and advances pos past them: exactly the bytes of mq_conv_x86's scalar block (every tap outside the
 * input and every filler byte up to row_bytes = in_zero_point; the valid runs of each kernel row copied). col
 * must have 64 writable bytes past the block (rows x row_bytes + 64). A window wholly inside the input: its
 * kernel_h runs (contiguous in the row) copied in address order with whole 64-byte stores, each one's overshoot
 * written again by the next run, the filler or the next row (masked stores are slow on some cores), then the
 * filler; a clipped window: piece by piece in address order (zero-point fills, the valid runs, the filler), the
 * same whole stores and overshoot (no masked store). Loads are masked wherever 64 bytes would pass
 * the input's end: the input is never read past it. Dilation 1 only (the caller's check). Compiled with a
 * per-function target attribute.
 * mq_conv_rows_avx512: the same pixels as indirect rows for mq_gemm_s8_n4k16_avx512vnni_ind: a window wholly
 * inside the input is not copied (rowp = its first code in the input, stride = the input row), a clipped one is
 * gathered as above into the next free row of col (stride = kernel_w x in_c, the row's kernel-row pitch).
 */
#include <stdint.h>

#include "microquant/mq_kernels.h"

#include "mq_microkernels.h"

#if defined(MQ_X86_HOST_KERNELS)

#include <immintrin.h>

#define MQ_IM2COL_AVX512 __attribute__((target("avx512f,avx512bw,bmi2")))

/* n codes from src to dst, dst has 64 writable bytes past n that the caller writes again later (the next kernel
 * row, the filler or the next row): whole 64-byte stores; a load is masked only where 64 bytes from it would pass
 * in_end (the input is never read past its end). */
MQ_IM2COL_AVX512 static inline void mq_im2col_copy_over(uint8_t *dst, const uint8_t *src, size_t n,
                                                        const uint8_t *in_end)
{
    size_t i = 0;
    if (n <= 16u) { /* short runs (a few channels): one 16-byte piece, fewer split lines than 64 */
        const __m128i v = (size_t)(in_end - src) >= 16u
                              ? _mm_loadu_si128((const __m128i *)(const void *)src)
                              : _mm512_castsi512_si128(_mm512_maskz_loadu_epi8(_bzhi_u64(~(uint64_t)0, (unsigned)n),
                                                                               (const void *)src));
        _mm_storeu_si128((__m128i *)(void *)dst, v);
        return;
    }
    for (; i < n; i += 64u) {
        const __m512i v = (size_t)(in_end - (src + i)) >= 64u
                              ? _mm512_loadu_si512((const void *)(src + i))
                              : _mm512_maskz_loadu_epi8(_bzhi_u64(~(uint64_t)0, (unsigned)(n - i < 64u ? n - i : 64u)),
                                                        (const void *)(src + i));
        _mm512_storeu_si512((void *)(dst + i), v);
    }
}

/* n copies of v's byte at dst in whole 64-byte stores (dst has 64 writable bytes past n, written again later) */
MQ_IM2COL_AVX512 static inline void mq_im2col_fill_over(uint8_t *dst, __m512i v, size_t n)
{
    size_t i;
    if (n <= 16u) {
        if (n > 0u) {
            _mm_storeu_si128((__m128i *)(void *)dst, _mm512_castsi512_si128(v));
        }
        return;
    }
    for (i = 0; i < n; i += 64u) {
        _mm512_storeu_si512((void *)(dst + i), v);
    }
}

/* One clipped window's row (kernel rows [ky_lo, ky_hi) and columns [kx_lo, kx_hi) inside the input, src = the
 * first valid code): piece by piece in address order (zero-point fills, valid runs, the filler), whole 64-byte
 * stores, each piece's overshoot written again by the next piece (or past the row: see the contract). */
MQ_IM2COL_AVX512 static inline void mq_im2col_row_clipped(uint8_t *dst, const uint8_t *src, int32_t kh, int32_t ky_lo,
                                                          int32_t ky_hi, size_t left, size_t run, size_t right,
                                                          size_t krow, size_t in_row, size_t tail, __m512i zp,
                                                          const uint8_t *in_end)
{
    int32_t ky;
    for (ky = 0; ky < kh; ++ky, dst += krow) {
        if (ky < ky_lo || ky >= ky_hi || run == 0u) {
            mq_im2col_fill_over(dst, zp, krow);
        } else {
            mq_im2col_fill_over(dst, zp, left);
            mq_im2col_copy_over(dst + left, src, run, in_end);
            mq_im2col_fill_over(dst + left + run, zp, right);
            src += in_row;
        }
    }
    mq_im2col_fill_over(dst, zp, tail);
}

/* The im2col row of one window that crosses the input's border: image = the batch item's first code, (iy0, ix0)
 * the window's top-left input position, kernel rows [ky_lo, ky_hi) inside the input (both block builders). */
MQ_IM2COL_AVX512 static inline void mq_im2col_window_clipped(uint8_t *dst, const uint8_t *image, int32_t iy0,
                                                             int32_t ix0, int32_t ky_lo, int32_t ky_hi, int32_t kh,
                                                             int32_t kw, int32_t in_w, size_t c, size_t in_row,
                                                             size_t tail, __m512i zp, const uint8_t *in_end)
{
    const size_t krow = (size_t)kw * c;
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t kx_hi = in_w - ix0 < kw ? in_w - ix0 : kw;
    const int valid = ky_lo < ky_hi && kx_lo < kx_hi;
    const size_t run = valid ? (size_t)(kx_hi - kx_lo) * c : 0u;
    const size_t left = valid ? (size_t)kx_lo * c : 0u;
    const uint8_t *src = valid ? image + (size_t)(iy0 + ky_lo) * in_row + (size_t)(ix0 + kx_lo) * c : image;
    mq_im2col_row_clipped(dst, src, kh, ky_lo, ky_hi, left, run, krow - left - run, krow, in_row, tail, zp, in_end);
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
    const size_t step = (size_t)sw * c;
    const __m512i zp = _mm512_set1_epi8((char)p->in_zero_point);
    const uint8_t *in_end = in + (size_t)w->batch * in_image;
    /* output columns whose window lies wholly inside the input's width: [ox_a, ox_b] (once per call) */
    const int32_t ox_a = (pl + sw - 1) / sw;
    const int32_t ox_b = in_w - kw + pl < 0 ? -1 : (in_w - kw + pl) / sw;
    int32_t b = pos[0], oy = pos[1], ox = pos[2], r = 0;
    uint8_t *dst = col;
    while (r < rows) {
        const int32_t iy0 = oy * sh - pt;
        const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
        const int32_t ky_hi = in_h - iy0 < kh ? in_h - iy0 : kh;
        const int rows_inside = ky_lo == 0 && ky_hi == kh;
        for (; ox < out_w && r < rows; ++r, ++ox, dst += row_bytes) {
            const int32_t ix0 = ox * sw - pl;
            if (rows_inside && ox >= ox_a && ox <= ox_b) {
                /* a run of windows wholly inside: kernel_h runs (contiguous in the row) copied in address order,
                 * each copy's overshoot written again by the next run, the filler or the next row */
                const int32_t end = ox_b + 1 < out_w ? ox_b + 1 : out_w;
                int32_t n = end - ox, i;
                const uint8_t *src0 = in + (size_t)b * in_image + (size_t)iy0 * in_row + (size_t)ix0 * c;
                if (n > rows - r) {
                    n = rows - r;
                }
                for (i = 0; i < n; ++i, src0 += step, dst += row_bytes) {
                    const uint8_t *src = src0;
                    uint8_t *d = dst;
                    int32_t ky;
                    for (ky = 0; ky < kh; ++ky, src += in_row, d += krow) {
                        mq_im2col_copy_over(d, src, krow, in_end);
                    }
                    mq_im2col_fill_over(dst + taps, zp, (size_t)row_bytes - taps);
                }
                dst -= row_bytes; /* the loop's own step follows */
                r += n - 1;
                ox += n - 1;
            } else {
                mq_im2col_window_clipped(dst, in + (size_t)b * in_image, iy0, ix0, ky_lo, ky_hi, kh, kw, in_w, c,
                                         in_row, (size_t)row_bytes - taps, zp, in_end);
            }
        }
        if (ox == out_w) {
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

MQ_IM2COL_AVX512
void mq_conv_rows_avx512(const mq_conv_params *p, const uint8_t *in, uint8_t *col, int32_t row_bytes, int32_t rows,
                         int32_t pos[3], const uint8_t **rowp, ptrdiff_t *strides)
{
    const mq_window *w = &p->win;
    const size_t c = (size_t)p->in_c;
    const size_t krow = (size_t)w->kernel_w * c;
    const int32_t kh = w->kernel_h, kw = w->kernel_w, in_h = w->in_h, in_w = w->in_w;
    const int32_t out_h = w->out_h, out_w = w->out_w;
    const int32_t sh = w->stride_h, sw = w->stride_w, pt = w->pad_top, pl = w->pad_left;
    const size_t in_image = (size_t)in_h * (size_t)in_w * c;
    const size_t in_row = (size_t)in_w * c;
    const __m512i zp = _mm512_set1_epi8((char)p->in_zero_point);
    const uint8_t *in_end = in + (size_t)w->batch * in_image;
    const size_t taps = (size_t)kh * krow;
    const ptrdiff_t step = (ptrdiff_t)((size_t)sw * c);
    /* output columns whose window lies wholly inside the input's width: [ox_a, ox_b] (once per call) */
    const int32_t ox_a = (pl + sw - 1) / sw;
    const int32_t ox_b = in_w - kw + pl < 0 ? -1 : (in_w - kw + pl) / sw;
    int32_t b = pos[0], oy = pos[1], ox = pos[2], r = 0;
    uint8_t *dst = col;
    while (r < rows) {
        const int32_t iy0 = oy * sh - pt;
        const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
        const int32_t ky_hi = in_h - iy0 < kh ? in_h - iy0 : kh;
        const int rows_inside = ky_lo == 0 && ky_hi == kh;
        for (; ox < out_w && r < rows; ++r, ++ox) {
            const int32_t ix0 = ox * sw - pl;
            if (rows_inside && ox >= ox_a && ox <= ox_b) {
                /* a run of windows wholly inside: pointers only */
                const int32_t end = ox_b + 1 < out_w ? ox_b + 1 : out_w;
                int32_t n = end - ox, i;
                const uint8_t *src = in + (size_t)b * in_image + (size_t)iy0 * in_row + (size_t)ix0 * c;
                if (n > rows - r) {
                    n = rows - r;
                }
                for (i = 0; i < n; ++i) {
                    rowp[r + i] = src + (ptrdiff_t)i * step;
                    strides[r + i] = (ptrdiff_t)in_row;
                }
                r += n - 1;
                ox += n - 1;
            } else {
                mq_im2col_window_clipped(dst, in + (size_t)b * in_image, iy0, ix0, ky_lo, ky_hi, kh, kw, in_w, c,
                                         in_row, (size_t)row_bytes - taps, zp, in_end);
                rowp[r] = dst;
                strides[r] = (ptrdiff_t)krow;
                dst += row_bytes;
            }
        }
        if (ox == out_w) {
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
