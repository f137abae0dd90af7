/*
 * Row softmax / log-softmax, their backward, and the fused label-smoothed
 * cross-entropy.  Parallel over rows; per row: a max pass (the only pass
 * that reads the row from memory), then passes over the row while it is
 * still in L1/L2: exps, their sum, normalisation.
 */
#include "kinternal.h"

/* o[j] = exp(x[j] - m) (m = the row max, so arguments are <= 0): a plain
 * loop, which vectorises best; the sum is a separate pass over L1. */
ATTN_INLINE void exp_shifted(const float *x, float *o, ptrdiff_t n, float m) {
  for (ptrdiff_t i = 0; i < n; i++) o[i] = attn_exp_nonpos(x[i] - m);
}

/* Σ exp(x[j] - m) without an output row, through a stack buffer. */
ATTN_INLINE float exp_sum(const float *x, ptrdiff_t n, float m) {
  float buf[1024], s = 0.0f;
  for (ptrdiff_t i = 0; i < n; i += 1024) {
    const ptrdiff_t k = n - i < 1024 ? n - i : 1024;
    exp_shifted(x + i, buf, k, m);
    s += attn_row_sum(buf, k);
  }
  return s;
}

ATTN_SIMD static void softmax_rows(const float *x, float *o, ptrdiff_t rows, ptrdiff_t cols,
                                   int log) {
  for (ptrdiff_t r = 0; r < rows; r++, x += cols, o += cols) {
    const float m = attn_row_max(x, cols);
    if (m == -ATTN_INF) { /* fully masked row: zeros, or -inf for log-softmax */
      const float v = log ? -ATTN_INF : 0.0f;
      for (ptrdiff_t j = 0; j < cols; j++) o[j] = v;
      continue;
    }
    exp_shifted(x, o, cols, m);
    const float s = attn_row_sum(o, cols);
    if (log) { /* o held the exps only to sum them */
      const float lse = m + attn_logf(s);
      for (ptrdiff_t j = 0; j < cols; j++) o[j] = x[j] - lse;
    } else {
      const float inv = 1.0f / s;
      for (ptrdiff_t j = 0; j < cols; j++) o[j] *= inv;
    }
  }
}

ATTN_SIMD static void softmax_grad_rows(const float *y, const float *dy, float *dx,
                                        ptrdiff_t rows, ptrdiff_t cols, int log) {
  for (ptrdiff_t r = 0; r < rows; r++, y += cols, dy += cols, dx += cols) {
    if (log) { /* dx = dy - softmax * Σdy; a masked entry (y = -inf) gets 0 */
      const float s = attn_row_sum(dy, cols);
      for (ptrdiff_t j = 0; j < cols; j++)
        dx[j] = y[j] == -ATTN_INF ? 0.0f : dy[j] - attn_exp_nonpos(y[j]) * s;
    } else { /* dx = y * (dy - Σ y dy) */
      const float s = attn_row_dot(y, dy, cols);
      for (ptrdiff_t j = 0; j < cols; j++) dx[j] = y[j] * (dy[j] - s);
    }
  }
}

typedef struct {
  const float *a, *b;
  float *o;
  ptrdiff_t cols;
  int log;
} rows_job;

static void softmax_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const rows_job *j = ctx;
  softmax_rows(j->a + b * j->cols, j->o + b * j->cols, e - b, j->cols, j->log);
}
static void softmax_grad_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const rows_job *j = ctx;
  const ptrdiff_t o = b * j->cols;
  softmax_grad_rows(j->a + o, j->b + o, j->o + o, e - b, j->cols, j->log);
}

void attn_softmax(const float *x, float *out, ptrdiff_t rows, ptrdiff_t cols, int log) {
  rows_job j = {x, NULL, out, cols, log};
  if (cols > 0) attn_parallel_for(rows, attn_row_grain(cols, ATTN_GRAIN_MATH), softmax_range, &j);
}

void attn_softmax_grad(const float *y, const float *dy, float *dx, ptrdiff_t rows,
                       ptrdiff_t cols, int log) {
  rows_job j = {y, dy, dx, cols, log};
  if (cols > 0)
    attn_parallel_for(rows, attn_row_grain(cols, log ? ATTN_GRAIN_MATH : ATTN_GRAIN_CHEAP),
                      softmax_grad_range, &j);
}

/* ---- cross-entropy ----
 * loss = logsumexp(z) - Σ q_c z_c with q = (1-ε) onehot(y) + ε/V, and
 * dloss/dz = softmax(z) - q. */

typedef struct {
  const float *z;
  const int32_t *t;
  ptrdiff_t cols;
  int32_t ignore;
  float on_target, uniform;
  float *loss, *dl;
} ce_job;

ATTN_SIMD static void ce_rows(const ce_job *j, ptrdiff_t b, ptrdiff_t e) {
  const ptrdiff_t n = j->cols;
  for (ptrdiff_t r = b; r < e; r++) {
    const float *z = j->z + r * n;
    float *dl = j->dl ? j->dl + r * n : NULL;
    const int32_t y = j->t[r];
    if (y == j->ignore) {
      j->loss[r] = 0.0f;
      if (dl) memset(dl, 0, (size_t)n * sizeof *dl);
      continue;
    }
    /* pass 1, from memory: max and Σz together */
    float mx[ATTN_LANES], sz[ATTN_LANES];
    ptrdiff_t i = 0;
    for (int l = 0; l < ATTN_LANES; l++) mx[l] = -ATTN_INF, sz[l] = 0.0f;
    for (; i + ATTN_LANES <= n; i += ATTN_LANES)
      for (int l = 0; l < ATTN_LANES; l++) {
        const float v = z[i + l];
        mx[l] = v > mx[l] ? v : mx[l];
        sz[l] += v;
      }
    float m = attn_lanes_max(mx), sumz = attn_lanes_sum(sz);
    for (; i < n; i++) {
      m = z[i] > m ? z[i] : m;
      sumz += z[i];
    }
    /* pass 2, from cache: Σ exp(z - m), keeping the exps in the gradient row */
    float s;
    if (dl) {
      exp_shifted(z, dl, n, m);
      s = attn_row_sum(dl, n);
    } else {
      s = exp_sum(z, n, m);
    }
    const float lse = m + attn_logf(s);
    j->loss[r] = lse - j->on_target * z[y] - j->uniform * sumz;
    if (dl) { /* pass 3, in cache: normalise and subtract the target distribution */
      const float inv = 1.0f / s, u = j->uniform;
      for (ptrdiff_t k = 0; k < n; k++) dl[k] = dl[k] * inv - u;
      dl[y] -= j->on_target;
    }
  }
}

static void ce_range(void *ctx, ptrdiff_t b, ptrdiff_t e) { ce_rows(ctx, b, e); }

void attn_cross_entropy(const float *logits, const int32_t *targets, ptrdiff_t rows,
                        ptrdiff_t cols, int32_t ignore_index, float smoothing, float *row_loss,
                        float *dlogits) {
  ce_job j;
  j.z = logits;
  j.t = targets;
  j.cols = cols;
  j.ignore = ignore_index;
  j.on_target = 1.0f - smoothing;
  j.uniform = smoothing / (float)cols;
  j.loss = row_loss;
  j.dl = dlogits;
  attn_parallel_for(rows, attn_row_grain(cols, ATTN_GRAIN_MATH), ce_range, &j);
}
