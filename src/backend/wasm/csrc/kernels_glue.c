/*
 * Exports of the portable kernel library (src/backend/kernels) for JS.
 *
 * Pointers are byte addresses in the linear memory; lengths are in elements.
 * A strided view's geometry comes as one int32 block `meta`, the layout the
 * native addon uses too:
 *   [nd, shape[0..nd), then per operand: strides[0..nd), offset]
 * Every operand's lowest and highest element is checked against its length
 * before a kernel runs, as is every id / target: a bad call returns a
 * negative code and touches nothing (JS turns it into an Error).
 * Contiguous kernels' lengths are checked in JS (see ../index.ts).
 */
#include "attn_wasm.h"
#include "kernels.h"

#define E_META -100  /* malformed meta */
#define E_ID -200    /* id / target out of range: -200 - row (capped) */
#define MAX_OPS 4

typedef struct {
  int nd;
  ptrdiff_t shape[ATTN_MAX_DIMS];
  ptrdiff_t st[MAX_OPS][ATTN_MAX_DIMS];
  int32_t off[MAX_OPS];
} meta_t;

/* Decodes meta for nops operands; 0, E_META, or -(1 + k) for operand k out of range. */
static int read_meta(const int32_t *a, int nops, const int32_t *lens, meta_t *m) {
  const int nd = a[0];
  if (nd < 0 || nd > ATTN_MAX_DIMS) return E_META;
  m->nd = nd;
  int64_t total = 1;
  for (int d = 0; d < nd; d++) {
    if (a[1 + d] < 0) return E_META;
    m->shape[d] = a[1 + d];
    total *= a[1 + d];
    if (total > INT32_MAX) return E_META;
  }
  for (int k = 0; k < nops; k++) {
    const int32_t *s = a + 1 + nd + k * (nd + 1);
    int64_t lo = s[nd], hi = s[nd];
    m->off[k] = s[nd];
    for (int d = 0; d < nd; d++) {
      m->st[k][d] = s[d];
      const int64_t span = (int64_t)(m->shape[d] - 1) * s[d];
      if (span < 0) lo += span;
      else hi += span;
    }
    if (total > 0 && (lo < 0 || hi >= lens[k])) return -(1 + k);
  }
  return 0;
}

ATTN_EXPORT(attn_w_unary)
int attn_w_unary(int op, const float *x, int lx, float *o, int lo, const int32_t *meta) {
  meta_t m;
  const int32_t lens[2] = {lx, lo};
  const int rc = op < 0 || op >= ATTN_U_COUNT ? E_META : read_meta(meta, 2, lens, &m);
  if (rc) return rc;
  attn_unary(op, m.nd, m.shape, x + m.off[0], m.st[0], o + m.off[1], m.st[1]);
  return 0;
}

ATTN_EXPORT(attn_w_binary)
int attn_w_binary(int op, const float *a, int la, const float *b, int lb, float *o, int lo,
                  const int32_t *meta) {
  meta_t m;
  const int32_t lens[3] = {la, lb, lo};
  const int rc = op < 0 || op >= ATTN_B_COUNT ? E_META : read_meta(meta, 3, lens, &m);
  if (rc) return rc;
  attn_binary(op, m.nd, m.shape, a + m.off[0], m.st[0], b + m.off[1], m.st[1], o + m.off[2],
              m.st[2]);
  return 0;
}

ATTN_EXPORT(attn_w_where)
int attn_w_where(const void *c, int lc, int c_int, const float *a, int la, const float *b, int lb,
                 float *o, int lo, const int32_t *meta) {
  meta_t m;
  const int32_t lens[4] = {lc, la, lb, lo};
  const int rc = read_meta(meta, 4, lens, &m);
  if (rc) return rc;
  attn_where(m.nd, m.shape, (const int32_t *)c + m.off[0], c_int, m.st[0], a + m.off[1], m.st[1],
             b + m.off[2], m.st[2], o + m.off[3], m.st[3]);
  return 0;
}

ATTN_EXPORT(attn_w_reduce)
int attn_w_reduce(int op, const float *x, int lx, float *o, int lo, const int32_t *meta) {
  meta_t m;
  const int32_t lens[2] = {lx, lo};
  const int rc = op != ATTN_R_SUM && op != ATTN_R_MAX ? E_META : read_meta(meta, 2, lens, &m);
  if (rc) return rc;
  attn_reduce(op, m.nd, m.shape, x + m.off[0], m.st[0], o + m.off[1], m.st[1]);
  return 0;
}

ATTN_EXPORT(attn_w_copy)
int attn_w_copy(const int32_t *s, int ls, int32_t *d, int ld, const int32_t *meta) {
  meta_t m;
  const int32_t lens[2] = {ls, ld};
  const int rc = read_meta(meta, 2, lens, &m);
  if (rc) return rc;
  attn_copy32(m.nd, m.shape, s + m.off[0], m.st[0], d + m.off[1], m.st[1]);
  return 0;
}

ATTN_EXPORT(attn_w_fill)
int attn_w_fill(float *d, int ld, float value, const int32_t *meta) {
  meta_t m;
  const int32_t lens[1] = {ld};
  const int rc = read_meta(meta, 1, lens, &m);
  if (rc) return rc;
  attn_fill(m.nd, m.shape, d + m.off[0], m.st[0], value);
  return 0;
}

ATTN_EXPORT(attn_w_unary_grad)
void attn_w_unary_grad(int op, const float *x, const float *y, const float *dy, float *dx, int n) {
  attn_unary_grad(op, x, y, dy, dx, n);
}

ATTN_EXPORT(attn_w_softmax)
void attn_w_softmax(const float *x, float *o, int rows, int cols, int log) {
  attn_softmax(x, o, rows, cols, log);
}

ATTN_EXPORT(attn_w_softmax_grad)
void attn_w_softmax_grad(const float *y, const float *dy, float *dx, int rows, int cols, int log) {
  attn_softmax_grad(y, dy, dx, rows, cols, log);
}

ATTN_EXPORT(attn_w_layer_norm)
void attn_w_layer_norm(const float *x, const float *g, const float *b, float *o, float *mean,
                       float *rstd, int rows, int cols, float eps) {
  attn_layer_norm(x, g, b, o, mean, rstd, rows, cols, eps);
}

ATTN_EXPORT(attn_w_layer_norm_grad)
void attn_w_layer_norm_grad(const float *dy, const float *x, const float *g, const float *mean,
                            const float *rstd, float *dx, float *dg, float *db, int rows,
                            int cols) {
  attn_layer_norm_grad(dy, x, g, mean, rstd, dx, dg, db, rows, cols);
}

/* 0 if every id (but `skip`, when has_skip) is in [0, limit), else the
 * E_ID code of the first bad row. */
static int check_ids(const int32_t *ids, int rows, int limit, int has_skip, int32_t skip) {
  for (int r = 0; r < rows; r++)
    if (!(has_skip && ids[r] == skip) && (ids[r] < 0 || ids[r] >= limit))
      return E_ID - (r < 1000000 ? r : 1000000);
  return 0;
}

ATTN_EXPORT(attn_w_gather)
int attn_w_gather(const float *table, int ltable, const int32_t *ids, float *o, int rows,
                  int cols) {
  const int rc = cols > 0 ? check_ids(ids, rows, ltable / cols, 0, 0) : 0;
  if (rc) return rc;
  attn_gather(table, ids, o, rows, cols);
  return 0;
}

ATTN_EXPORT(attn_w_scatter_add)
int attn_w_scatter_add(const float *dy, const int32_t *ids, float *dtable, int ltable, int rows,
                       int cols) {
  const int rc = cols > 0 ? check_ids(ids, rows, ltable / cols, 0, 0) : 0;
  if (rc) return rc;
  attn_scatter_add(dy, ids, dtable, rows, cols);
  return 0;
}

ATTN_EXPORT(attn_w_cross_entropy)
int attn_w_cross_entropy(const float *z, const int32_t *t, int rows, int cols, int ignore,
                         float smoothing, float *loss, float *dlogits) {
  const int rc = check_ids(t, rows, cols, 1, ignore);
  if (rc) return rc;
  attn_cross_entropy(z, t, rows, cols, ignore, smoothing, loss, dlogits);
  return 0;
}

ATTN_EXPORT(attn_w_dropout)
void attn_w_dropout(const float *x, float *o, int n, uint32_t state, double p, float scale) {
  attn_dropout(x, o, n, state, p, scale);
}

ATTN_EXPORT(attn_w_adam)
void attn_w_adam(float *p, const float *g, float *m, float *v, int n, double lr, double b1,
                 double b2, double eps, double wd, double step) {
  attn_adam(p, g, m, v, n, lr, b1, b2, eps, wd, step);
}
