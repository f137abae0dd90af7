/* Embedding rows: gather forward, scatter-add backward. */
#include "kinternal.h"

typedef struct {
  const float *src;
  const int32_t *ids;
  float *dst;
  ptrdiff_t rows, cols;
} embed_job;

static void gather_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const embed_job *j = ctx;
  const size_t bytes = (size_t)j->cols * sizeof(float);
  for (ptrdiff_t r = b; r < e; r++)
    memcpy(j->dst + r * j->cols, j->src + (ptrdiff_t)j->ids[r] * j->cols, bytes);
}

void attn_gather(const float *table, const int32_t *ids, float *out, ptrdiff_t rows,
                 ptrdiff_t cols) {
  embed_job j = {table, ids, out, rows, cols};
  attn_parallel_for(rows, attn_row_grain(cols, ATTN_GRAIN_CHEAP), gather_range, &j);
}

/* Columns [c0, c1) of every row, rows in order: a repeated id is added by
 * one thread in a fixed order, so there are no races and no scratch. */
ATTN_SIMD static void scatter_cols(const embed_job *j, ptrdiff_t c0, ptrdiff_t c1) {
  const ptrdiff_t n = j->cols, w = c1 - c0;
  for (ptrdiff_t r = 0; r < j->rows; r++) {
    const float *s = j->src + r * n + c0;
    float *d = j->dst + (ptrdiff_t)j->ids[r] * n + c0;
    for (ptrdiff_t c = 0; c < w; c++) d[c] += s[c];
  }
}

static void scatter_range(void *ctx, ptrdiff_t b, ptrdiff_t e) { scatter_cols(ctx, b, e); }

void attn_scatter_add(const float *dy, const int32_t *ids, float *dtable, ptrdiff_t rows,
                      ptrdiff_t cols) {
  embed_job j = {dy, ids, dtable, rows, cols};
  if (rows <= 0) return;
  ptrdiff_t g = ATTN_GRAIN_CHEAP / rows;
  attn_parallel_for(cols, g < 16 ? 16 : g, scatter_range, &j);
}
