/* Shared by the kernel .c files only. */
#ifndef ATTN_KINTERNAL_H
#define ATTN_KINTERNAL_H

#include <string.h>

#include "kernels.h"
#include "kmath.h"

/* Work per parallel range, in elements: a thread wake-up costs microseconds,
 * so a range must take clearly longer than that. */
#define ATTN_GRAIN_CHEAP 32768 /* add, copy, fill: memory bound */
#define ATTN_GRAIN_MATH 8192   /* exp, gelu, ...: ~10-40 flops per element */

/* Rows per range for row kernels: at least `grain` elements per range. */
static inline ptrdiff_t attn_row_grain(ptrdiff_t cols, ptrdiff_t grain) {
  return cols >= grain ? 1 : grain / (cols > 0 ? cols : 1);
}

/* Up to 4 operands walked together over one shape, after dropping size-1
 * dims and merging dims that are contiguous for every operand. */
#define ATTN_MAX_OPS 4
typedef struct {
  int nd, nops;
  ptrdiff_t total;
  ptrdiff_t dim[ATTN_MAX_DIMS];
  ptrdiff_t st[ATTN_MAX_OPS][ATTN_MAX_DIMS];
} attn_plan;

/* Fills p; nd == 0 (a scalar) becomes one dim of size 1. */
void attn_plan_init(attn_plan *p, int nd, const ptrdiff_t *shape, int nops,
                    const ptrdiff_t *const *strides);

/* Called per contiguous run of the innermost dim: off[k] is operand k's
 * offset of the run's first element, n its length; inner strides in p. */
typedef void (*attn_seg_fn)(void *ctx, const ptrdiff_t *off, ptrdiff_t n);

/* Walks the flat element range [begin, end) of the plan. */
void attn_plan_walk(const attn_plan *p, ptrdiff_t begin, ptrdiff_t end, attn_seg_fn seg,
                    void *ctx);

/* Transposed operands.  If the output (last operand) is contiguous along the
 * innermost dim but another operand reads that dim with a large stride and
 * is contiguous along some outer dim tp, walking rows one after another
 * touches a new cache line per element.  The tiled walk instead takes blocks
 * of ATTN_TILE_ROWS indices of dim tp and, within a block, ATTN_TILE columns
 * of the innermost dim at a time, so every cache line read or written is
 * used up while it is in L1.  Items for attn_parallel_for are
 * (outer index, row block) pairs. */
#define ATTN_TILE 32
#define ATTN_TILE_ROWS 64
/* The dim tp to tile with, or -1 when the plain walk is fine. */
int attn_plan_tile_dim(const attn_plan *p);
ptrdiff_t attn_plan_tile_items(const attn_plan *p, int tp);
void attn_plan_walk_tiles(const attn_plan *p, int tp, ptrdiff_t begin, ptrdiff_t end,
                          attn_seg_fn seg, void *ctx);

/* Runs seg over every element of an elementwise plan (each element written
 * once, so any order is fine): tiled when that helps, in parallel. */
void attn_plan_run(const attn_plan *p, ptrdiff_t grain, attn_seg_fn seg, void *ctx);

/* Fixed-order combination of ATTN_LANES partial sums / maxima. */
ATTN_INLINE float attn_lanes_sum(float *acc) {
  for (int w = ATTN_LANES / 2; w > 0; w >>= 1)
    for (int l = 0; l < w; l++) acc[l] += acc[l + w];
  return acc[0];
}
ATTN_INLINE float attn_lanes_max(float *acc) {
  for (int w = ATTN_LANES / 2; w > 0; w >>= 1)
    for (int l = 0; l < w; l++) acc[l] = acc[l + w] > acc[l] ? acc[l + w] : acc[l];
  return acc[0];
}

/* Row helpers (inlined into each ISA clone of their callers).  The maximum
 * skips NaN like the reference's `if (x > max)`. */
ATTN_INLINE float attn_row_max(const float *x, ptrdiff_t n) {
  float acc[ATTN_LANES];
  ptrdiff_t i = 0;
  for (int l = 0; l < ATTN_LANES; l++) acc[l] = -ATTN_INF;
  for (; i + ATTN_LANES <= n; i += ATTN_LANES)
    for (int l = 0; l < ATTN_LANES; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
  float m = attn_lanes_max(acc);
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}
ATTN_INLINE float attn_row_sum(const float *x, ptrdiff_t n) {
  float acc[ATTN_LANES];
  ptrdiff_t i = 0;
  for (int l = 0; l < ATTN_LANES; l++) acc[l] = 0.0f;
  for (; i + ATTN_LANES <= n; i += ATTN_LANES)
    for (int l = 0; l < ATTN_LANES; l++) acc[l] += x[i + l];
  float s = attn_lanes_sum(acc);
  for (; i < n; i++) s += x[i];
  return s;
}
/* Σ a[i] * b[i] */
ATTN_INLINE float attn_row_dot(const float *a, const float *b, ptrdiff_t n) {
  float acc[ATTN_LANES];
  ptrdiff_t i = 0;
  for (int l = 0; l < ATTN_LANES; l++) acc[l] = 0.0f;
  for (; i + ATTN_LANES <= n; i += ATTN_LANES)
    for (int l = 0; l < ATTN_LANES; l++) acc[l] += a[i + l] * b[i + l];
  float s = attn_lanes_sum(acc);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

#endif
