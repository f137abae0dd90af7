/*
 * Sum / max reductions by accumulation into a stride-0 output view.
 * Parallel only where each output element is folded by one thread in a fixed
 * order: over rows when the reduced axes are innermost, over column blocks
 * when they are outermost (bias gradients), over fixed chunks combined in
 * order for a full reduction.  Other layouts run serially.
 */
#include "kinternal.h"

/* max as the reference folds it: NaN wins and sticks. */
#define RMAX(acc, v) ((v) > (acc) || (v) != (v) ? (v) : (acc))

ATTN_SIMD static float fold_run(int op, const float *x, ptrdiff_t xs, ptrdiff_t n, float acc0) {
  float acc[ATTN_LANES];
  ptrdiff_t i = 0;
  float r;
  if (op == ATTN_R_SUM) {
    for (int l = 0; l < ATTN_LANES; l++) acc[l] = 0.0f;
    if (xs == 1)
      for (; i + ATTN_LANES <= n; i += ATTN_LANES)
        for (int l = 0; l < ATTN_LANES; l++) acc[l] += x[i + l];
    r = attn_lanes_sum(acc);
    for (; i < n; i++) r += x[i * xs];
    return acc0 + r;
  }
  for (int l = 0; l < ATTN_LANES; l++) acc[l] = -ATTN_INF;
  if (xs == 1)
    for (; i + ATTN_LANES <= n; i += ATTN_LANES)
      for (int l = 0; l < ATTN_LANES; l++) acc[l] = RMAX(acc[l], x[i + l]);
  for (int w = ATTN_LANES / 2; w > 0; w >>= 1)
    for (int l = 0; l < w; l++) acc[l] = RMAX(acc[l], acc[l + w]);
  r = RMAX(acc0, acc[0]);
  for (; i < n; i++) r = RMAX(r, x[i * xs]);
  return r;
}

/* out[i*os] = op(out[i*os], x[i*xs]) */
ATTN_SIMD static void accum_run(int op, const float *x, ptrdiff_t xs, float *o, ptrdiff_t os,
                                ptrdiff_t n) {
  if (op == ATTN_R_SUM) {
    if (xs == 1 && os == 1)
      for (ptrdiff_t i = 0; i < n; i++) o[i] += x[i];
    else
      for (ptrdiff_t i = 0; i < n; i++) o[i * os] += x[i * xs];
  } else {
    if (xs == 1 && os == 1)
      for (ptrdiff_t i = 0; i < n; i++) o[i] = RMAX(o[i], x[i]);
    else
      for (ptrdiff_t i = 0; i < n; i++) o[i * os] = RMAX(o[i * os], x[i * xs]);
  }
}

typedef struct {
  attn_plan p;
  int op;
  const float *x;
  float *out;
  ptrdiff_t inner, chunk;
  float *partial;
} reduce_job;

static void reduce_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const reduce_job *j = ctx;
  const int in = j->p.nd - 1;
  const ptrdiff_t xs = j->p.st[0][in], os = j->p.st[1][in];
  if (os == 0)
    j->out[off[1]] = fold_run(j->op, j->x + off[0], xs, n, j->out[off[1]]);
  else
    accum_run(j->op, j->x + off[0], xs, j->out + off[1], os, n);
}

/* items are whole rows */
static void rows_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const reduce_job *j = ctx;
  attn_plan_walk(&j->p, b * j->inner, e * j->inner, reduce_seg, ctx);
}

/* items are columns: the sub-plan of columns [b, e) walked over all rows */
static void cols_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const reduce_job *j = ctx;
  reduce_job sub = *j;
  const int in = j->p.nd - 1;
  sub.p.dim[in] = e - b;
  sub.p.total = j->p.total / j->inner * (e - b);
  sub.x = j->x + b * j->p.st[0][in];
  sub.out = j->out + b * j->p.st[1][in];
  attn_plan_walk(&sub.p, 0, sub.p.total, reduce_seg, &sub);
}

/* items are fixed chunks of a 1-d reduction, each into its own partial */
static void chunks_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const reduce_job *j = ctx;
  const ptrdiff_t xs = j->p.st[0][0];
  for (ptrdiff_t c = b; c < e; c++) {
    const ptrdiff_t lo = c * j->chunk;
    const ptrdiff_t hi = lo + j->chunk < j->p.total ? lo + j->chunk : j->p.total;
    j->partial[c] = fold_run(j->op, j->x + lo * xs, xs, hi - lo,
                             j->op == ATTN_R_SUM ? 0.0f : -ATTN_INF);
  }
}

void attn_reduce(int op, int nd, const ptrdiff_t *shape, const float *x, const ptrdiff_t *xst,
                 float *out, const ptrdiff_t *ost) {
  reduce_job j;
  const ptrdiff_t *st[2] = {xst, ost};
  attn_plan_init(&j.p, nd, shape, 2, st);
  if (j.p.total == 0) return;
  j.op = op;
  j.x = x;
  j.out = out;
  const int in = j.p.nd - 1;
  j.inner = j.p.dim[in];
  const ptrdiff_t rows = j.p.total / j.inner;
  int outer_kept = 1, outer_reduced = 1;
  for (int d = 0; d < in; d++) {
    if (j.p.st[1][d] == 0) outer_kept = 0;
    else outer_reduced = 0;
  }
  if (j.p.st[1][in] == 0 && in == 0) {
    /* everything reduced: <= 1024 fixed chunks (size from n only), folded in order */
    enum { MAXC = 1024 };
    float partial[MAXC];
    ptrdiff_t chunk = 65536;
    if (j.p.total > chunk * MAXC) chunk = (j.p.total + MAXC - 1) / MAXC;
    const ptrdiff_t nchunks = (j.p.total + chunk - 1) / chunk;
    j.chunk = chunk;
    j.partial = partial;
    attn_parallel_for(nchunks, 1, chunks_range, &j);
    float acc = out[0];
    for (ptrdiff_t c = 0; c < nchunks; c++)
      acc = op == ATTN_R_SUM ? acc + partial[c] : RMAX(acc, partial[c]);
    out[0] = acc;
  } else if (j.p.st[1][in] == 0 && outer_kept) {
    attn_parallel_for(rows, attn_row_grain(j.inner, ATTN_GRAIN_CHEAP), rows_range, &j);
  } else if (j.p.st[1][in] != 0 && outer_reduced) {
    ptrdiff_t g = ATTN_GRAIN_CHEAP / rows;
    attn_parallel_for(j.inner, g < 64 ? 64 : g, cols_range, &j);
  } else {
    attn_plan_walk(&j.p, 0, j.p.total, reduce_seg, &j);
  }
}
