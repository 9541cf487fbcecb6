/*
 * mq_depthwise_conv_inplace: depthwise convolution writing its output over its input (batch 1).
 *
 *   buf      input [1, in_h, in_w, in_c] at buf, output [1, out_h, out_w, in_c * M] also from buf
 *   scratch  [pad pixel: mq_depthwise_scratch_size(p) rounded up to 16][R row buffers of out_w * out_c bytes]
 *
 * Output row j covers the bytes [j * OWC, (j + 1) * OWC) (OWC = out_w * out_c), i.e. the input rows
 * rmin(j) .. rmax(j) (IWC = in_w * in_c bytes each). Input row r is read by the output rows up to
 * last(r) = min(out_h - 1, (r + pad_top) / stride_h). So output row j may be copied over the input once output
 * row flush(j) = max(j, last(min(rmax(j), in_h - 1))) has been computed. Every row
 * is computed by mq_depthwise_rows (the operator's own row loop and microkernels, set up once per layer) into ring
 * slot j % R and copied out in order as soon as allowed; R = 1 + max_j (flush(j) - j). flush(j) is non-decreasing, so the
 * pending rows are always the R or fewer most recent ones. A 3x3 stride-1 "same" layer keeps 2 rows.
 * The input rows output row oy reads are never overwritten before it runs: a flushed row j <= oy - 1 had
 * flush(j) < oy, so every input row under it was last read before oy. Same bytes as mq_depthwise_conv.
 */
#include <string.h>

#include "microquant/mq_kernels.h"

#include "mq_kernels_internal.h"
#include "mq_kernels_unchecked.h"
#include "mq_microkernels.h"

/* The output row after which output row j may overwrite the input (see above). 32-bit arithmetic: callers
 * only get here with both tensors under 2^31 bytes (mq_dw_inplace_rows_nocheck), so (j + 1) * OWC fits. */
static int32_t mq_dw_flush_row(const mq_depthwise_params *p, int32_t j)
{
    const mq_window *w = &p->win;
    const uint32_t owc = (uint32_t)w->out_w * (uint32_t)p->in_c * (uint32_t)p->depth_multiplier;
    const uint32_t iwc = (uint32_t)w->in_w * (uint32_t)p->in_c;
    uint32_t rmax = (((uint32_t)j + 1u) * owc - 1u) / iwc;
    int32_t last;
    /* Rows past the input wait as long as the last input row does: keeps flush(j) non-decreasing. */
    if (rmax > (uint32_t)w->in_h - 1u) {
        rmax = (uint32_t)w->in_h - 1u;
    }
    last = ((int32_t)rmax + w->pad_top) / w->stride_h;
    if (last > w->out_h - 1) {
        last = w->out_h - 1;
    }
    return last > j ? last : j;
}

/* R for parameters that passed mq_depthwise_check (the run path: no per-call re-validation), 0 when the
 * geometry is not supported. */
static int32_t mq_dw_inplace_rows_nocheck(const mq_depthwise_params *p)
{
    const int32_t span = (p->win.kernel_h - 1) * p->win.dilation_h;
    const uint64_t in_bytes = (uint64_t)p->win.in_h * (uint64_t)p->win.in_w * (uint64_t)p->in_c;
    const uint64_t out_bytes =
        (uint64_t)p->win.out_h * (uint64_t)p->win.out_w * (uint64_t)p->in_c * (uint64_t)p->depth_multiplier;
    int32_t delay = 0;
    int32_t j;
    if (p->win.batch != 1 || p->win.pad_top > span || p->win.pad_bottom > span || in_bytes > (uint64_t)INT32_MAX ||
        out_bytes > (uint64_t)INT32_MAX) {
        return 0;
    }
    for (j = 0; j < p->win.out_h; ++j) {
        const int32_t d = mq_dw_flush_row(p, j) - j;
        delay = d > delay ? d : delay;
    }
    return delay + 1;
}

/* mq_depthwise_scratch_size without its check: the padding pixel when any pad is given. */
static size_t mq_dw_pad_bytes(const mq_depthwise_params *p)
{
    const mq_window *w = &p->win;
    if (w->pad_top > 0 || w->pad_bottom > 0 || w->pad_left > 0 || w->pad_right > 0) {
        return ((size_t)p->in_c + 3u) & ~(size_t)3u;
    }
    return 0u;
}

int32_t mq_depthwise_inplace_rows(const mq_depthwise_params *p)
{
    if (mq_depthwise_check(p) != MQ_OK) {
        return 0;
    }
    return mq_dw_inplace_rows_nocheck(p);
}

/* Bytes before the ring: the padding pixel, rounded up to 16 so the row buffers stay aligned. */
static size_t mq_dw_inplace_ring_offset(const mq_depthwise_params *p)
{
    return (mq_dw_pad_bytes(p) + 15u) & ~(size_t)15u;
}

size_t mq_depthwise_inplace_scratch_size(const mq_depthwise_params *p)
{
    const int32_t rows = mq_depthwise_inplace_rows(p);
    uint64_t bytes;
    if (rows <= 0) {
        return 0;
    }
    bytes = (uint64_t)mq_dw_inplace_ring_offset(p) +
            (uint64_t)rows * (uint64_t)p->win.out_w * (uint64_t)p->in_c * (uint64_t)p->depth_multiplier;
    return bytes <= (uint64_t)INT32_MAX ? (size_t)bytes : 0u;
}

void mq_depthwise_conv_inplace_unchecked(const mq_depthwise_params *p, void *buf, void *scratch)
{
    const mq_window *w = &p->win;
    const size_t pad = mq_dw_pad_bytes(p);
    const size_t owc = (size_t)w->out_w * (size_t)p->in_c * (size_t)p->depth_multiplier;
    const int32_t rows = mq_dw_inplace_rows_nocheck(p);
    uint8_t *ring = (uint8_t *)scratch + mq_dw_inplace_ring_offset(p);
    uint8_t *out = (uint8_t *)buf;
    int32_t next = 0; /* first output row not yet copied over the input */
    int32_t next_flush;
    uint8_t *slot = ring; /* ring slot of output row oy: oy % rows */
    uint8_t *next_slot = ring;
    uint8_t *const ring_end = ring + (size_t)rows * owc;
    mq_dw_rows_state rs;
    int32_t oy;
#if MQ_DW_CACHE_BYTES > 0
    uint32_t cache[MQ_DW_CACHE_BYTES / 4]; /* the fast kernel's per-group set-up, kept over the rows */
    cache[0] = 0;
#define MQ_DW_CACHE cache
#else
#define MQ_DW_CACHE NULL
#endif
    if (pad > 0u) {
        memset(scratch, (int)(uint8_t)p->in_zero_point, pad);
    }
    mq_depthwise_rows_begin(&rs, p, scratch, MQ_DW_CACHE);
    next_flush = mq_dw_flush_row(p, 0);
    for (oy = 0; oy < w->out_h; ++oy) {
        mq_depthwise_rows(&rs, buf, oy, oy + 1, slot);
        slot += owc;
        if (slot == ring_end) {
            slot = ring;
        }
        /* flush(next) <= oy implies next <= oy (flush(j) >= j) */
        while (next_flush <= oy) {
            memcpy(out + (size_t)next * owc, next_slot, owc);
            next_slot += owc;
            if (next_slot == ring_end) {
                next_slot = ring;
            }
            ++next;
            next_flush = next < w->out_h ? mq_dw_flush_row(p, next) : w->out_h;
        }
    }
#undef MQ_DW_CACHE
}

mq_status mq_depthwise_conv_inplace(const mq_depthwise_params *p, void *buf, void *scratch, size_t scratch_size)
{
    size_t need;
    size_t in_bytes;
    size_t out_bytes;
    mq_status st = mq_depthwise_check(p);
    if (st != MQ_OK) {
        return st;
    }
    if (buf == NULL || scratch == NULL) {
        return MQ_ERR_NULL;
    }
    need = mq_depthwise_inplace_scratch_size(p);
    if (need == 0u) {
        return MQ_ERR_SHAPE;
    }
    if (scratch_size < need) {
        return MQ_ERR_BUFFER;
    }
    in_bytes = (size_t)p->win.in_h * (size_t)p->win.in_w * (size_t)p->in_c;
    out_bytes = (size_t)p->win.out_h * (size_t)p->win.out_w * (size_t)p->in_c * (size_t)p->depth_multiplier;
    if (mq_ranges_overlap(scratch, need, buf, in_bytes > out_bytes ? in_bytes : out_bytes)) {
        return MQ_ERR_BUFFER;
    }
    mq_depthwise_conv_inplace_unchecked(p, buf, scratch);
    return MQ_OK;
}
