/* Walking strided views: the shape/stride plan shared by the elementwise kernels. */
#include "kinternal.h"

void attn_plan_init(attn_plan *p, int nd, const ptrdiff_t *shape, int nops,
                    const ptrdiff_t *const *strides) {
  p->nops = nops;
  p->nd = 0;
  p->total = 1;
  for (int d = 0; d < nd; d++) p->total *= shape[d];
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 1) continue;
    const int last = p->nd - 1;
    int merge = last >= 0;
    for (int k = 0; merge && k < nops; k++)
      merge = p->st[k][last] == strides[k][d] * shape[d];
    if (merge) {
      /* dims last and d walk as one: stride of d, extent multiplied */
      p->dim[last] *= shape[d];
      for (int k = 0; k < nops; k++) p->st[k][last] = strides[k][d];
    } else {
      p->dim[p->nd] = shape[d];
      for (int k = 0; k < nops; k++) p->st[k][p->nd] = strides[k][d];
      p->nd++;
    }
  }
  if (p->nd == 0) {
    p->nd = 1;
    p->dim[0] = p->total; /* 1, or 0 for an empty shape */
    for (int k = 0; k < nops; k++) p->st[k][0] = 0;
  }
}

void attn_plan_walk(const attn_plan *p, ptrdiff_t begin, ptrdiff_t end, attn_seg_fn seg,
                    void *ctx) {
  if (begin >= end) return;
  const int nd = p->nd, nops = p->nops, in = nd - 1;
  const ptrdiff_t inner = p->dim[in];
  ptrdiff_t idx[ATTN_MAX_DIMS];
  ptrdiff_t base[ATTN_MAX_OPS] = {0, 0, 0, 0};
  ptrdiff_t off[ATTN_MAX_OPS];
  /* multi-index of the row holding `begin` */
  ptrdiff_t row = begin / inner, j = begin % inner;
  for (int d = in - 1; d >= 0; d--) {
    idx[d] = row % p->dim[d];
    row /= p->dim[d];
    for (int k = 0; k < nops; k++) base[k] += idx[d] * p->st[k][d];
  }
  ptrdiff_t left = end - begin;
  for (;;) {
    const ptrdiff_t n = inner - j < left ? inner - j : left;
    for (int k = 0; k < nops; k++) off[k] = base[k] + j * p->st[k][in];
    seg(ctx, off, n);
    left -= n;
    if (left <= 0) return;
    j = 0;
    /* odometer over the outer dims */
    for (int d = in - 1; d >= 0; d--) {
      for (int k = 0; k < nops; k++) base[k] += p->st[k][d];
      if (++idx[d] < p->dim[d]) break;
      for (int k = 0; k < nops; k++) base[k] -= p->st[k][d] * p->dim[d];
      idx[d] = 0;
    }
  }
}

int attn_plan_tile_dim(const attn_plan *p) {
  const int in = p->nd - 1, out = p->nops - 1;
  if (in < 1 || p->st[out][in] != 1 || p->dim[in] < 2 * ATTN_TILE) return -1;
  for (int k = 0; k < out; k++) {
    const ptrdiff_t s = p->st[k][in];
    if (s == 0 || s == 1 || s == -1) continue;
    for (int d = in - 1; d >= 0; d--)
      if ((p->st[k][d] == 1 || p->st[k][d] == -1) && p->dim[d] >= 4) return d;
  }
  return -1;
}

ptrdiff_t attn_plan_tile_items(const attn_plan *p, int tp) {
  const int in = p->nd - 1;
  const ptrdiff_t outer = p->total / (p->dim[tp] * p->dim[in]);
  return outer * ((p->dim[tp] + ATTN_TILE_ROWS - 1) / ATTN_TILE_ROWS);
}

void attn_plan_walk_tiles(const attn_plan *p, int tp, ptrdiff_t begin, ptrdiff_t end,
                          attn_seg_fn seg, void *ctx) {
  const int in = p->nd - 1, nops = p->nops;
  const ptrdiff_t inner = p->dim[in], rows = p->dim[tp];
  const ptrdiff_t blocks = (rows + ATTN_TILE_ROWS - 1) / ATTN_TILE_ROWS;
  ptrdiff_t off[ATTN_MAX_OPS];
  for (ptrdiff_t item = begin; item < end; item++) {
    /* item = outer * blocks + block; outer spans every dim but tp and in */
    ptrdiff_t o = item / blocks, base[ATTN_MAX_OPS] = {0, 0, 0, 0};
    const ptrdiff_t i0 = item % blocks * ATTN_TILE_ROWS;
    const ptrdiff_t i1 = rows - i0 < ATTN_TILE_ROWS ? rows : i0 + ATTN_TILE_ROWS;
    for (int d = in - 1; d >= 0; d--) {
      if (d == tp) continue;
      const ptrdiff_t i = o % p->dim[d];
      o /= p->dim[d];
      for (int k = 0; k < nops; k++) base[k] += i * p->st[k][d];
    }
    /* a block of rows x all columns, ATTN_TILE columns at a time: each
     * cache line of every operand is used up while it is in L1 */
    for (ptrdiff_t j0 = 0; j0 < inner; j0 += ATTN_TILE) {
      const ptrdiff_t w = inner - j0 < ATTN_TILE ? inner - j0 : ATTN_TILE;
      for (ptrdiff_t i = i0; i < i1; i++) {
        for (int k = 0; k < nops; k++) off[k] = base[k] + i * p->st[k][tp] + j0 * p->st[k][in];
        seg(ctx, off, w);
      }
    }
  }
}

typedef struct {
  const attn_plan *p;
  attn_seg_fn seg;
  void *ctx;
  int tp;
} run_job;

static void run_flat(void *c, ptrdiff_t b, ptrdiff_t e) {
  const run_job *j = c;
  attn_plan_walk(j->p, b, e, j->seg, j->ctx);
}
static void run_tiles(void *c, ptrdiff_t b, ptrdiff_t e) {
  const run_job *j = c;
  attn_plan_walk_tiles(j->p, j->tp, b, e, j->seg, j->ctx);
}

void attn_plan_run(const attn_plan *p, ptrdiff_t grain, attn_seg_fn seg, void *ctx) {
  run_job j = {p, seg, ctx, attn_plan_tile_dim(p)};
  if (j.tp < 0) {
    attn_parallel_for(p->total, grain, run_flat, &j);
  } else {
    const ptrdiff_t per_item = ATTN_TILE_ROWS * p->dim[p->nd - 1];
    attn_parallel_for(attn_plan_tile_items(p, j.tp), (grain + per_item - 1) / per_item,
                      run_tiles, &j);
  }
}
