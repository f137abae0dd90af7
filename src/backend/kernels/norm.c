/*
 * Layer norm forward and backward over the rows of a contiguous matrix.
 * The backward's dx is parallel over rows; dgamma/dbeta (sums over rows) are
 * a second pass parallel over column blocks, so each column is summed by one
 * thread in row order (deterministic, no scratch memory).
 */
#include "kinternal.h"

typedef struct {
  const float *x, *gamma, *beta, *dy, *mean, *rstd;
  float *out, *mean_out, *rstd_out, *dx, *dgamma, *dbeta;
  ptrdiff_t cols;
  float eps;
} ln_job;

ATTN_SIMD static void ln_rows(const ln_job *j, ptrdiff_t b, ptrdiff_t e) {
  const ptrdiff_t n = j->cols;
  const float *g = j->gamma, *be = j->beta;
  for (ptrdiff_t r = b; r < e; r++) {
    const float *x = j->x + r * n;
    float *o = j->out + r * n;
    const float m = attn_row_sum(x, n) / (float)n;
    /* two-pass (biased) variance: no cancellation */
    float acc[ATTN_LANES];
    ptrdiff_t i = 0;
    for (int l = 0; l < ATTN_LANES; l++) acc[l] = 0.0f;
    for (; i + ATTN_LANES <= n; i += ATTN_LANES)
      for (int l = 0; l < ATTN_LANES; l++) {
        const float d = x[i + l] - m;
        acc[l] += d * d;
      }
    float v = attn_lanes_sum(acc);
    for (; i < n; i++) v += (x[i] - m) * (x[i] - m);
    const float s = 1.0f / __builtin_sqrtf(v / (float)n + j->eps);
    j->mean_out[r] = m;
    j->rstd_out[r] = s;
    for (ptrdiff_t c = 0; c < n; c++) o[c] = (x[c] - m) * s * g[c] + be[c];
  }
}

static void ln_range(void *ctx, ptrdiff_t b, ptrdiff_t e) { ln_rows(ctx, b, e); }

void attn_layer_norm(const float *x, const float *gamma, const float *beta, float *out,
                     float *mean, float *rstd, ptrdiff_t rows, ptrdiff_t cols, float eps) {
  ln_job j = {0};
  j.x = x;
  j.gamma = gamma;
  j.beta = beta;
  j.out = out;
  j.mean_out = mean;
  j.rstd_out = rstd;
  j.cols = cols;
  j.eps = eps;
  attn_parallel_for(rows, attn_row_grain(cols, ATTN_GRAIN_CHEAP / 2), ln_range, &j);
}

/* dx = rstd (g - mean(g) - x̂ mean(g x̂)), g = dy γ, x̂ = (x - μ) rstd */
ATTN_SIMD static void ln_grad_rows(const ln_job *j, ptrdiff_t b, ptrdiff_t e) {
  const ptrdiff_t n = j->cols;
  const float *gm = j->gamma;
  for (ptrdiff_t r = b; r < e; r++) {
    const float *x = j->x + r * n, *dy = j->dy + r * n;
    float *dx = j->dx + r * n;
    const float m = j->mean[r], s = j->rstd[r];
    float ag[ATTN_LANES], agx[ATTN_LANES];
    ptrdiff_t i = 0;
    for (int l = 0; l < ATTN_LANES; l++) ag[l] = 0.0f, agx[l] = 0.0f;
    for (; i + ATTN_LANES <= n; i += ATTN_LANES)
      for (int l = 0; l < ATTN_LANES; l++) {
        const float g = dy[i + l] * gm[i + l];
        ag[l] += g;
        agx[l] += g * ((x[i + l] - m) * s);
      }
    float sg = attn_lanes_sum(ag), sgx = attn_lanes_sum(agx);
    for (; i < n; i++) {
      const float g = dy[i] * gm[i];
      sg += g;
      sgx += g * ((x[i] - m) * s);
    }
    const float mg = sg / (float)n, mgx = sgx / (float)n;
    for (ptrdiff_t c = 0; c < n; c++)
      dx[c] = s * (dy[c] * gm[c] - mg - ((x[c] - m) * s) * mgx);
  }
}

static void ln_grad_range(void *ctx, ptrdiff_t b, ptrdiff_t e) { ln_grad_rows(ctx, b, e); }

/* columns [c0, c1) of dgamma += Σ_r dy x̂, dbeta += Σ_r dy, rows in order */
ATTN_SIMD static void ln_param_cols(const ln_job *j, ptrdiff_t rows, ptrdiff_t c0, ptrdiff_t c1) {
  const ptrdiff_t n = j->cols, w = c1 - c0;
  float *dg = j->dgamma + c0, *db = j->dbeta + c0;
  for (ptrdiff_t r = 0; r < rows; r++) {
    const float *x = j->x + r * n + c0, *dy = j->dy + r * n + c0;
    const float m = j->mean[r], s = j->rstd[r];
    for (ptrdiff_t c = 0; c < w; c++) {
      dg[c] += dy[c] * ((x[c] - m) * s);
      db[c] += dy[c];
    }
  }
}

typedef struct {
  const ln_job *j;
  ptrdiff_t rows;
} ln_param_job;

static void ln_param_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const ln_param_job *p = ctx;
  ln_param_cols(p->j, p->rows, b, e);
}

void attn_layer_norm_grad(const float *dy, const float *x, const float *gamma, const float *mean,
                          const float *rstd, float *dx, float *dgamma, float *dbeta,
                          ptrdiff_t rows, ptrdiff_t cols) {
  ln_job j = {0};
  j.x = x;
  j.dy = dy;
  j.gamma = gamma;
  j.mean = mean;
  j.rstd = rstd;
  j.dx = dx;
  j.dgamma = dgamma;
  j.dbeta = dbeta;
  j.cols = cols;
  if (rows <= 0 || cols <= 0) return;
  attn_parallel_for(rows, attn_row_grain(cols, ATTN_GRAIN_CHEAP / 2), ln_grad_range, &j);
  ln_param_job p = {&j, rows};
  ptrdiff_t g = ATTN_GRAIN_CHEAP / rows;
  attn_parallel_for(cols, g < 64 ? 64 : g, ln_param_range, &p);
}
