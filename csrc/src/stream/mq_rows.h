/*
 * MicroQuant internal: the row schedule of a row-streamed segment (packed op type ROW_STREAM = 20, op flag bit 4;
 * docs/FORMAT.md "Row-streamed segment"). A segment runs a short chain of row-wise layers (KxK / 1x1 / depthwise
 * convolutions, ADD, LUT) from one whole input tensor S in the arena to one whole output tensor Y, keeping only a
 * ring of R rows of each intermediate tensor. The member computes its output rows in order; member j may compute
 * its row y when
 *   - every input row it reads exists (an earlier member's rows [lo, hi) are written: next[k] >= hi),
 *   - its ring slot is free: every consumer of j is done with row y - R (its next row starts above it),
 *   - (the last member, Y overlapping S) every reader of S is done with the input rows under output row y.
 * The schedule is greedy and deterministic: repeat { for j = 0..M-1: while ready(j): compute row next[j] } until the
 * last member is done. The loader runs the same loop on counters only (mq_rows_simulate) and rejects a segment that
 * stalls or reads more rows at once than a ring holds; the interpreter then runs it with the kernels.
 *
 * Ring layout (double write): a ring of R rows is 2R - 1 row slots; row y is written at slot y % R and, when
 * y % R < R - 1, copied to slot y % R + R. Any R consecutive rows a..a+R-1 are then contiguous from slot a % R, so
 * a KxK member reads its rows as one contiguous view and runs the ordinary kernel on it with out_h 1.
 */
#ifndef MICROQUANT_MQ_ROWS_H
#define MICROQUANT_MQ_ROWS_H

#include <stdint.h>

#define MQ_ROWS_MAX 8
#define MQ_ROWS_FROM_INPUT 0xFFu /* an input read from the segment input S */
#define MQ_ROWS_FROM_NONE 0xFEu  /* unused input slot, or a constant (ADD's x2) */

/* One member's row geometry: output row y reads input rows [y * stride - pad_top, + extent) clipped to the
 * input's rows (elementwise members: stride 1, pad 0, extent 1). */
typedef struct {
    int32_t out_h;        /* rows of the member's output */
    int32_t ring;         /* R: rows of its output ring; 0 for the last member (writes Y) */
    int32_t stride, pad_top, extent;
    int32_t src_h;        /* rows of its (arena) inputs */
    uint32_t src[2];      /* producer of inputs 0, 1: member index, MQ_ROWS_FROM_INPUT or MQ_ROWS_FROM_NONE */
    int32_t elementwise;  /* ADD / LUT: may write output row y exactly over the S row y it reads */
} mq_rows_member;

typedef struct {
    uint32_t members;
    mq_rows_member m[MQ_ROWS_MAX];
    /* Y over S (overlap != 0): byte offset of Y relative to S and the row sizes */
    int32_t overlap;
    int64_t out_rel;
    int64_t in_row, out_row;
    int32_t in_h;         /* rows of S */
} mq_rows_plan;

/* The plan of the ROW_STREAM record at op index `index` (decoded as *op; its members are the next p[0] records),
 * from the records and tensors alone (no validation: the loader validates the members before it calls this and
 * the plan after; every value is clamped so that a hostile record cannot overflow). */
void mq_rows_plan_build(const uint8_t *ops, const uint8_t *tensors, uint32_t index, const uint32_t *p,
                        uint32_t seg_in, uint32_t seg_out, mq_rows_plan *plan);

/* Input rows [*lo, *hi) member m reads for its output row y (clipped; may be empty when the kernel reads only
 * padding, which the loader rejects). */
void mq_rows_range(const mq_rows_member *m, int32_t y, int32_t *lo, int32_t *hi);

/* 1 when member j may compute row next[j] now (rules above), else 0. */
int mq_rows_ready(const mq_rows_plan *p, const int32_t *next, uint32_t j);

/* Runs the schedule on the counters alone: 1 when every member completes (no stall), else 0. */
int mq_rows_simulate(const mq_rows_plan *p);

#endif
