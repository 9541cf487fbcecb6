/* mq_rows_range / mq_rows_ready / mq_rows_simulate: the row schedule of a row-streamed segment (mq_rows.h). */
#include "mq_rows.h"

void mq_rows_range(const mq_rows_member *m, int32_t y, int32_t *lo, int32_t *hi)
{
    int64_t a = (int64_t)y * m->stride - m->pad_top;
    int64_t b = a + m->extent;
    if (a < 0) {
        a = 0;
    }
    if (a > m->src_h) {
        a = m->src_h;
    }
    if (b > m->src_h) {
        b = m->src_h;
    }
    if (b < a) {
        b = a;
    }
    *lo = (int32_t)a;
    *hi = (int32_t)b;
}

/* First input row member c still needs (its next row's lo), or INT32_MAX when it is done. */
static int32_t mq_rows_first_needed(const mq_rows_member *c, int32_t next)
{
    int32_t lo, hi;
    if (next >= c->out_h) {
        return INT32_MAX;
    }
    mq_rows_range(c, next, &lo, &hi);
    return lo;
}

int mq_rows_ready(const mq_rows_plan *p, const int32_t *next, uint32_t j)
{
    const mq_rows_member *m = &p->m[j];
    const int32_t y = next[j];
    int32_t lo, hi;
    uint32_t i, s;
    if (y >= m->out_h) {
        return 0;
    }
    mq_rows_range(m, y, &lo, &hi);
    /* inputs written */
    for (s = 0; s < 2u; s++) {
        if (m->src[s] < p->members && next[m->src[s]] < hi) {
            return 0;
        }
    }
    /* ring slot free: row y overwrites row y - R */
    if (m->ring > 0 && y >= m->ring) {
        for (i = j + 1u; i < p->members; i++) {
            const mq_rows_member *c = &p->m[i];
            if ((c->src[0] == j || c->src[1] == j) && mq_rows_first_needed(c, next[i]) <= y - m->ring) {
                return 0;
            }
        }
    }
    /* Y over S: the S rows under output row y are no longer needed by any reader */
    if (p->overlap && j + 1u == p->members) {
        const int64_t a = p->out_rel + (int64_t)y * p->out_row;
        const int64_t b = a + p->out_row; /* [a, b) relative to S */
        int64_t r0, r1;
        if (b > 0 && a < (int64_t)p->in_h * p->in_row) {
            r0 = a > 0 ? a / p->in_row : 0;
            r1 = (b - 1) / p->in_row;
            if (r1 >= p->in_h) {
                r1 = p->in_h - 1;
            }
            for (i = 0; i < p->members; i++) {
                const mq_rows_member *c = &p->m[i];
                if (c->src[0] != MQ_ROWS_FROM_INPUT && c->src[1] != MQ_ROWS_FROM_INPUT) {
                    continue;
                }
                if (i == j) {
                    /* its later rows must not need them; its own row may read exactly the S row it overwrites */
                    if (mq_rows_first_needed(c, y + 1) <= r1) {
                        return 0;
                    }
                    if (lo <= r1 && hi > r0 &&
                        !(c->elementwise && p->out_rel == 0 && p->in_row == p->out_row && r0 == y && r1 == y)) {
                        return 0;
                    }
                } else if (mq_rows_first_needed(c, next[i]) <= r1) {
                    return 0;
                }
            }
        }
    }
    return 1;
}

int mq_rows_simulate(const mq_rows_plan *p)
{
    int32_t next[MQ_ROWS_MAX];
    uint32_t j;
    int progress;
    if (p->members < 1u || p->members > (uint32_t)MQ_ROWS_MAX) {
        return 0;
    }
    for (j = 0; j < p->members; j++) {
        next[j] = 0;
    }
    while (next[p->members - 1u] < p->m[p->members - 1u].out_h) {
        progress = 0;
        for (j = 0; j < p->members; j++) {
            while (mq_rows_ready(p, next, j)) {
                next[j]++;
                progress = 1;
            }
        }
        if (!progress) {
            return 0;
        }
    }
    /* the last member is done; an earlier member may stop before its last rows when no one reads them (a stride-2
     * consumer of an even number of rows), as the interpreter's identical loop does */
    return 1;
}
