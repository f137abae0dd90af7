/*
 * Node-API bindings of the contiguous kernels (src/backend/kernels): unary
 * gradients, bias + activation, softmax, layer norm, embeddings,
 * cross-entropy, Adam.  Every array is checked to hold what the kernel
 * reads or writes, and every id / target to be in range, before it runs.
 */
#include "ops_args.h"

#include <math.h>

#define F32(i, name, p, len) ops_f32(env, argv[i], fn, name, &p, &len, 0, NULL)
#define INT(i, name, lo, hi, out) ops_int(env, argv[i], fn, name, lo, hi, &out)
#define FITS(name, count, len) ops_fits(env, fn, name, 0, count, len)

/* unaryGrad(op, x, y, dy, dx, size) */
napi_value attn_js_unary_grad(napi_env env, napi_callback_info info) {
  static const char *fn = "unaryGrad";
  napi_value argv[6];
  int64_t op, n;
  float *x, *y, *dy, *dx;
  size_t lx, ly, ldy, ldx;
  if (!ops_args(env, info, fn, 6, argv) || !INT(0, "op", 0, ATTN_U_COUNT - 1, op) ||
      !F32(1, "x", x, lx) || !F32(2, "y", y, ly) || !F32(3, "dy", dy, ldy) ||
      !F32(4, "dx", dx, ldx) || !INT(5, "size", 0, OPS_MAX_ROWS, n) || !FITS("x", n, lx) ||
      !FITS("y", n, ly) || !FITS("dy", n, ldy) || !FITS("dx", n, ldx))
    return NULL;
  attn_unary_grad((int)op, x, y, dy, dx, (ptrdiff_t)n);
  return NULL;
}

/* Reads rows and cols (argument indices ir, ir+1); rows * cols must fit. */
static int rows_cols(napi_env env, const char *fn, napi_value *argv, int ir, int64_t *rows,
                     int64_t *cols) {
  if (!INT(ir, "rows", 0, OPS_MAX_ROWS, *rows) || !INT(ir + 1, "cols", 0, OPS_MAX_ROWS, *cols))
    return 0;
  if (*cols > 0 && *rows > OPS_MAX_ROWS / *cols) {
    ops_throw(env, fn, "rows * cols is too large");
    return 0;
  }
  return 1;
}

/* biasAct(op, x, bias, out, rows, cols): out = act(x + bias[col]); op is a
 * unary op code, or the op count for no activation */
napi_value attn_js_bias_act(napi_env env, napi_callback_info info) {
  static const char *fn = "biasAct";
  napi_value argv[6];
  int64_t op, rows, cols;
  float *x, *b, *o;
  size_t lx, lb, lo;
  if (!ops_args(env, info, fn, 6, argv) || !INT(0, "op", 0, ATTN_U_IDENTITY, op) ||
      !F32(1, "x", x, lx) || !F32(2, "bias", b, lb) || !F32(3, "out", o, lo) ||
      !rows_cols(env, fn, argv, 4, &rows, &cols) || !FITS("x", rows * cols, lx) ||
      !FITS("bias", rows > 0 ? cols : 0, lb) || !FITS("out", rows * cols, lo))
    return NULL;
  attn_bias_act((int)op, x, b, o, (ptrdiff_t)rows, (ptrdiff_t)cols);
  return NULL;
}

/* softmax(x, out, rows, cols, log) and softmaxGrad(y, dy, dx, rows, cols, log) */
napi_value attn_js_softmax(napi_env env, napi_callback_info info) {
  static const char *fn = "softmax";
  napi_value argv[5];
  int64_t rows, cols, log;
  float *x, *o;
  size_t lx, lo;
  if (!ops_args(env, info, fn, 5, argv) || !F32(0, "x", x, lx) || !F32(1, "out", o, lo) ||
      !rows_cols(env, fn, argv, 2, &rows, &cols) || !INT(4, "log", 0, 1, log) ||
      !FITS("x", rows * cols, lx) || !FITS("out", rows * cols, lo))
    return NULL;
  attn_softmax(x, o, (ptrdiff_t)rows, (ptrdiff_t)cols, (int)log);
  return NULL;
}

napi_value attn_js_softmax_grad(napi_env env, napi_callback_info info) {
  static const char *fn = "softmaxGrad";
  napi_value argv[6];
  int64_t rows, cols, log;
  float *y, *dy, *dx;
  size_t ly, ldy, ldx;
  if (!ops_args(env, info, fn, 6, argv) || !F32(0, "y", y, ly) || !F32(1, "dy", dy, ldy) ||
      !F32(2, "dx", dx, ldx) || !rows_cols(env, fn, argv, 3, &rows, &cols) ||
      !INT(5, "log", 0, 1, log) || !FITS("y", rows * cols, ly) || !FITS("dy", rows * cols, ldy) ||
      !FITS("dx", rows * cols, ldx))
    return NULL;
  attn_softmax_grad(y, dy, dx, (ptrdiff_t)rows, (ptrdiff_t)cols, (int)log);
  return NULL;
}

/* layerNorm(x, gamma, beta, out, mean, rstd, rows, cols, eps) */
napi_value attn_js_layer_norm(napi_env env, napi_callback_info info) {
  static const char *fn = "layerNorm";
  napi_value argv[9];
  int64_t rows, cols;
  double eps;
  float *x, *g, *b, *o, *mu, *rs;
  size_t lx, lg, lb, lo, lmu, lrs;
  if (!ops_args(env, info, fn, 9, argv) || !F32(0, "x", x, lx) || !F32(1, "gamma", g, lg) ||
      !F32(2, "beta", b, lb) || !F32(3, "out", o, lo) || !F32(4, "mean", mu, lmu) ||
      !F32(5, "rstd", rs, lrs) || !rows_cols(env, fn, argv, 6, &rows, &cols) ||
      !ops_num(env, argv[8], fn, "eps", &eps))
    return NULL;
  const int64_t n = rows * cols, c = rows > 0 ? cols : 0;
  if (!FITS("x", n, lx) || !FITS("gamma", c, lg) || !FITS("beta", c, lb) || !FITS("out", n, lo) ||
      !FITS("mean", rows, lmu) || !FITS("rstd", rows, lrs))
    return NULL;
  attn_layer_norm(x, g, b, o, mu, rs, (ptrdiff_t)rows, (ptrdiff_t)cols, (float)eps);
  return NULL;
}

/* layerNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols) */
napi_value attn_js_layer_norm_grad(napi_env env, napi_callback_info info) {
  static const char *fn = "layerNormGrad";
  napi_value argv[10];
  int64_t rows, cols;
  float *dy, *x, *g, *mu, *rs, *dx, *dg, *db;
  size_t ldy, lx, lg, lmu, lrs, ldx, ldg, ldb;
  if (!ops_args(env, info, fn, 10, argv) || !F32(0, "dy", dy, ldy) || !F32(1, "x", x, lx) ||
      !F32(2, "gamma", g, lg) || !F32(3, "mean", mu, lmu) || !F32(4, "rstd", rs, lrs) ||
      !F32(5, "dx", dx, ldx) || !F32(6, "dgamma", dg, ldg) || !F32(7, "dbeta", db, ldb) ||
      !rows_cols(env, fn, argv, 8, &rows, &cols))
    return NULL;
  const int64_t n = rows * cols, c = rows > 0 ? cols : 0;
  if (!FITS("dy", n, ldy) || !FITS("x", n, lx) || !FITS("gamma", c, lg) ||
      !FITS("mean", rows, lmu) || !FITS("rstd", rows, lrs) || !FITS("dx", n, ldx) ||
      !FITS("dgamma", c, ldg) || !FITS("dbeta", c, ldb))
    return NULL;
  attn_layer_norm_grad(dy, x, g, mu, rs, dx, dg, db, (ptrdiff_t)rows, (ptrdiff_t)cols);
  return NULL;
}

/* Shared by gather / scatterAdd: (table-like, ids, idsOffset, rows-like, rows, cols). */
static int embed_args(napi_env env, napi_callback_info info, const char *fn, const char *names[2],
                      float **src, int32_t **ids, float **dst, int64_t *rows, int64_t *cols,
                      int table_is_src) {
  napi_value argv[6];
  int64_t ioff;
  int32_t *ia;
  size_t ls, li, ld;
  if (!ops_args(env, info, fn, 6, argv) || !F32(0, names[0], *src, ls) ||
      !ops_i32(env, argv[1], fn, "ids", &ia, &li) || !INT(2, "idsOffset", 0, INT32_MAX, ioff) ||
      !F32(3, names[1], *dst, ld) || !rows_cols(env, fn, argv, 4, rows, cols) ||
      !ops_fits(env, fn, "ids", ioff, *rows, li))
    return 0;
  const size_t ltable = table_is_src ? ls : ld;
  if (!FITS(table_is_src ? names[1] : names[0], *rows * *cols, table_is_src ? ld : ls)) return 0;
  *ids = ia + ioff;
  if (*cols == 0) return 1;
  const int64_t vocab = (int64_t)(ltable / (size_t)*cols);
  for (int64_t r = 0; r < *rows; r++) {
    if ((*ids)[r] < 0 || (*ids)[r] >= vocab) {
      ops_throw(env, fn, "id %d at row %lld is outside the %lld rows of '%s'", (*ids)[r],
                (long long)r, (long long)vocab, table_is_src ? names[0] : names[1]);
      return 0;
    }
  }
  return 1;
}

/* gather(table, ids, idsOffset, out, rows, cols) */
napi_value attn_js_gather(napi_env env, napi_callback_info info) {
  static const char *names[2] = {"table", "out"};
  float *t, *o;
  int32_t *ids;
  int64_t rows, cols;
  if (!embed_args(env, info, "gather", names, &t, &ids, &o, &rows, &cols, 1)) return NULL;
  attn_gather(t, ids, o, (ptrdiff_t)rows, (ptrdiff_t)cols);
  return NULL;
}

/* scatterAdd(dy, ids, idsOffset, dtable, rows, cols) */
napi_value attn_js_scatter_add(napi_env env, napi_callback_info info) {
  static const char *names[2] = {"dy", "dtable"};
  float *dy, *dt;
  int32_t *ids;
  int64_t rows, cols;
  if (!embed_args(env, info, "scatterAdd", names, &dy, &ids, &dt, &rows, &cols, 0)) return NULL;
  attn_scatter_add(dy, ids, dt, (ptrdiff_t)rows, (ptrdiff_t)cols);
  return NULL;
}

/* crossEntropy(logits, logitsOffset, targets, targetsOffset, rows, cols,
 *              ignoreIndex, smoothing, rowLoss, dlogits | null) */
napi_value attn_js_cross_entropy(napi_env env, napi_callback_info info) {
  static const char *fn = "crossEntropy";
  napi_value argv[10];
  int64_t loff, toff, rows, cols, ignore;
  double eps;
  float *z, *loss, *dl = NULL;
  int32_t *t;
  size_t lz, lt, lloss, ldl = 0;
  napi_valuetype dt;
  if (!ops_args(env, info, fn, 10, argv) || !F32(0, "logits", z, lz) ||
      !INT(1, "logitsOffset", 0, INT32_MAX, loff) ||
      !ops_i32(env, argv[2], fn, "targets", &t, &lt) ||
      !INT(3, "targetsOffset", 0, INT32_MAX, toff) || !rows_cols(env, fn, argv, 4, &rows, &cols) ||
      !INT(6, "ignoreIndex", INT32_MIN, INT32_MAX, ignore) ||
      !ops_num(env, argv[7], fn, "smoothing", &eps) || !F32(8, "rowLoss", loss, lloss))
    return NULL;
  if (napi_typeof(env, argv[9], &dt) != napi_ok) return NULL;
  if (dt != napi_null && dt != napi_undefined && !F32(9, "dlogits", dl, ldl)) return NULL;
  if (!ops_fits(env, fn, "logits", loff, rows * cols, lz) ||
      !ops_fits(env, fn, "targets", toff, rows, lt) || !FITS("rowLoss", rows, lloss) ||
      (dl && !FITS("dlogits", rows * cols, ldl)))
    return NULL;
  t += toff;
  for (int64_t r = 0; r < rows; r++) {
    if (t[r] != (int32_t)ignore && (t[r] < 0 || t[r] >= cols))
      return ops_throw(env, fn, "target %d at row %lld is outside the %lld classes", t[r],
                       (long long)r, (long long)cols);
  }
  attn_cross_entropy(z + loff, t, (ptrdiff_t)rows, (ptrdiff_t)cols, (int32_t)ignore, (float)eps,
                     loss, dl);
  return NULL;
}

/* adam(param, grad, m, v, size, lr, beta1, beta2, eps, weightDecay, step) */
napi_value attn_js_adam(napi_env env, napi_callback_info info) {
  static const char *fn = "adam";
  napi_value argv[11];
  int64_t n, step;
  double lr, b1, b2, eps, wd;
  float *p, *g, *m, *v;
  size_t lp, lg, lm, lv;
  if (!ops_args(env, info, fn, 11, argv) || !F32(0, "param", p, lp) || !F32(1, "grad", g, lg) ||
      !F32(2, "m", m, lm) || !F32(3, "v", v, lv) || !INT(4, "size", 0, OPS_MAX_ROWS, n) ||
      !ops_num(env, argv[5], fn, "lr", &lr) || !ops_num(env, argv[6], fn, "beta1", &b1) ||
      !ops_num(env, argv[7], fn, "beta2", &b2) || !ops_num(env, argv[8], fn, "eps", &eps) ||
      !ops_num(env, argv[9], fn, "weightDecay", &wd) ||
      !INT(10, "step", 0, (int64_t)1 << 53, step) || !FITS("param", n, lp) ||
      !FITS("grad", n, lg) || !FITS("m", n, lm) || !FITS("v", n, lv))
    return NULL;
  attn_adam(p, g, m, v, (ptrdiff_t)n, lr, b1, b2, eps, wd, (double)step);
  return NULL;
}

/* dropout(x, xOffset, out, size, state, p, scale); state an int32 (`state | 0`) */
napi_value attn_js_dropout(napi_env env, napi_callback_info info) {
  static const char *fn = "dropout";
  napi_value argv[7];
  int64_t xoff, n, state;
  double p, scale;
  float *x, *o;
  size_t lx, lo;
  if (!ops_args(env, info, fn, 7, argv) || !F32(0, "x", x, lx) ||
      !INT(1, "xOffset", 0, INT32_MAX, xoff) || !F32(2, "out", o, lo) ||
      !INT(3, "size", 0, OPS_MAX_ROWS, n) || !INT(4, "state", INT32_MIN, INT32_MAX, state) ||
      !ops_num(env, argv[5], fn, "p", &p) || !ops_num(env, argv[6], fn, "scale", &scale) ||
      !ops_fits(env, fn, "x", xoff, n, lx) || !FITS("out", n, lo))
    return NULL;
  attn_dropout(x + xoff, o, (ptrdiff_t)n, (uint32_t)(int32_t)state, p, (float)scale);
  return NULL;
}

/* topk: the k largest of each row above -inf (NaN never), largest first, ties to
 * the lower column; leftover slots get -1 and -inf (src/backend/backend.ts TopKArgs).
 * Native only (the shared kernels, and so the wasm build, do not have it). */
typedef struct {
  const float *x;
  float *val;
  int32_t *idx;
  ptrdiff_t cols, k;
} topk_job;

static void topk_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const topk_job *j = ctx;
  const ptrdiff_t n = j->cols, k = j->k;
  for (ptrdiff_t r = b; r < e; r++) {
    const float *x = j->x + r * n;
    float *v = j->val + r * k;
    int32_t *ix = j->idx + r * k;
    if (k == 1) {
      float best = -INFINITY;
      int32_t at = -1;
      for (ptrdiff_t c = 0; c < n; c++)
        if (x[c] > best) {
          best = x[c];
          at = (int32_t)c;
        }
      v[0] = best;
      ix[0] = at;
      continue;
    }
    for (ptrdiff_t i = 0; i < k; i++) {
      v[i] = -INFINITY;
      ix[i] = -1;
    }
    ptrdiff_t filled = 0;
    float kth = -INFINITY;
    for (ptrdiff_t c = 0; c < n; c++) {
      const float y = x[c];
      if (!(y > kth)) continue;
      ptrdiff_t i = filled < k ? filled++ : k - 1;
      while (i > 0 && v[i - 1] < y) {
        v[i] = v[i - 1];
        ix[i] = ix[i - 1];
        i--;
      }
      v[i] = y;
      ix[i] = (int32_t)c;
      if (filled == k) kth = v[k - 1];
    }
  }
}

/* topk(x, rows, cols, k, values, indices) */
napi_value attn_js_topk(napi_env env, napi_callback_info info) {
  static const char *fn = "topk";
  napi_value argv[6];
  int64_t rows, cols, k;
  float *x, *v;
  int32_t *ix;
  size_t lx, lv, li;
  if (!ops_args(env, info, fn, 6, argv) || !F32(0, "x", x, lx) ||
      !rows_cols(env, fn, argv, 1, &rows, &cols) || !INT(3, "k", 1, OPS_MAX_ROWS, k) ||
      !F32(4, "values", v, lv) || !ops_i32(env, argv[5], fn, "indices", &ix, &li) ||
      !FITS("x", rows * cols, lx))
    return NULL;
  if (k > cols || rows > OPS_MAX_ROWS / k) return ops_throw(env, fn, "k must be in [1, cols]");
  if (!FITS("values", rows * k, lv) || !FITS("indices", rows * k, li)) return NULL;
  topk_job j = {x, v, ix, (ptrdiff_t)cols, (ptrdiff_t)k};
  const ptrdiff_t grain = cols >= 32768 ? 1 : 32768 / (cols > 0 ? cols : 1);
  attn_parallel_for((ptrdiff_t)rows, grain, topk_range, &j);
  return NULL;
}
