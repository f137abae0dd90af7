/*
 * attn kernels: portable fp32 kernels for every non-GEMM op of the backend
 * interface (src/backend/backend.ts; the reference TypeScript kernels in
 * src/backend/reference define the semantics).
 *
 * Plain C11 (plus GCC/clang attributes behind macros), no libm, no malloc, so
 * the same files build for the native addon and for wasm32 (+simd128).
 *
 * Conventions:
 *  - Pointers already include the view's base offset; strides and shapes are
 *    in elements.  Strided ops take `nd` dims (<= ATTN_MAX_DIMS) of `shape` and
 *    one stride array per operand; callers check that every index is in range.
 *  - Row kernels work on contiguous [rows, cols] matrices.
 *  - Threading goes through attn_parallel_for (implemented per platform).
 *    Every kernel gives bitwise the same result for any thread count.
 */
#ifndef ATTN_KERNELS_H
#define ATTN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN_MAX_DIMS 16

/* Same order as UnaryOp / BinaryOp in backend.ts. */
enum {
  ATTN_U_NEG, ATTN_U_EXP, ATTN_U_LOG, ATTN_U_SQRT, ATTN_U_RSQRT, ATTN_U_TANH,
  ATTN_U_RELU, ATTN_U_GELU_TANH, ATTN_U_GELU_ERF, ATTN_U_ABS, ATTN_U_SIGMOID,
  ATTN_U_COUNT,
  ATTN_U_IDENTITY = ATTN_U_COUNT /* only for attn_bias_act */
};
enum {
  ATTN_B_ADD, ATTN_B_SUB, ATTN_B_MUL, ATTN_B_DIV, ATTN_B_POW, ATTN_B_MAX, ATTN_B_MIN,
  ATTN_B_EQ, ATTN_B_NE, ATTN_B_LT, ATTN_B_LE, ATTN_B_GT, ATTN_B_GE,
  ATTN_B_COUNT
};
enum { ATTN_R_SUM, ATTN_R_MAX };

/* ---- platform hook ----
 * Runs fn over disjoint ranges that cover [0, n), possibly all on the calling
 * thread, and returns when all are done.  Splits only into ranges of at least
 * `grain` items.  fn must give the same result for an item whatever range it
 * comes in. */
typedef void (*attn_range_fn)(void *ctx, ptrdiff_t begin, ptrdiff_t end);
void attn_parallel_for(ptrdiff_t n, ptrdiff_t grain, attn_range_fn fn, void *ctx);

/* ---- elementwise on strided views (any broadcast via stride 0) ---- */
void attn_unary(int op, int nd, const ptrdiff_t *shape, const float *x, const ptrdiff_t *xst,
                float *out, const ptrdiff_t *ost);
/* dx = dy * op'(x), y = op(x); contiguous, n elements. */
void attn_unary_grad(int op, const float *x, const float *y, const float *dy, float *dx,
                     ptrdiff_t n);
/* out[r, c] = act(x[r, c] + bias[c]); op is a unary op or ATTN_U_IDENTITY. */
void attn_bias_act(int op, const float *x, const float *bias, float *out, ptrdiff_t rows,
                   ptrdiff_t cols);
void attn_binary(int op, int nd, const ptrdiff_t *shape, const float *a, const ptrdiff_t *ast,
                 const float *b, const ptrdiff_t *bst, float *out, const ptrdiff_t *ost);
/* The same on int32 data with JavaScript's results (computed in double,
 * stored with ToInt32): add/sub wrap, mul rounds beyond 2^53, div truncates
 * and x/0 gives 0.  Every op but pow (which does nothing here). */
void attn_binary_i32(int op, int nd, const ptrdiff_t *shape, const int32_t *a,
                     const ptrdiff_t *ast, const int32_t *b, const ptrdiff_t *bst, int32_t *out,
                     const ptrdiff_t *ost);
/* out = cond != 0 ? a : b.  cond holds int32 (cond_is_int) or float32 values. */
void attn_where(int nd, const ptrdiff_t *shape, const void *cond, int cond_is_int,
                const ptrdiff_t *cst, const float *a, const ptrdiff_t *ast, const float *b,
                const ptrdiff_t *bst, float *out, const ptrdiff_t *ost);
/* Folds every x element into out (a view of x's shape with stride 0 on the
 * reduced axes), which already holds the identity or a running value. */
void attn_reduce(int op, int nd, const ptrdiff_t *shape, const float *x, const ptrdiff_t *xst,
                 float *out, const ptrdiff_t *ost);
/* Bitwise copy of 32-bit elements (float32 or int32). */
void attn_copy32(int nd, const ptrdiff_t *shape, const void *src, const ptrdiff_t *sst, void *dst,
                 const ptrdiff_t *dstst);
void attn_fill(int nd, const ptrdiff_t *shape, float *dst, const ptrdiff_t *dstst, float value);

/* ---- row kernels, contiguous [rows, cols] ---- */
void attn_softmax(const float *x, float *out, ptrdiff_t rows, ptrdiff_t cols, int log);
void attn_softmax_grad(const float *y, const float *dy, float *dx, ptrdiff_t rows,
                       ptrdiff_t cols, int log);
void attn_layer_norm(const float *x, const float *gamma, const float *beta, float *out,
                     float *mean, float *rstd, ptrdiff_t rows, ptrdiff_t cols, float eps);
/* dgamma and dbeta are accumulated (+=). */
void attn_layer_norm_grad(const float *dy, const float *x, const float *gamma, const float *mean,
                          const float *rstd, float *dx, float *dgamma, float *dbeta,
                          ptrdiff_t rows, ptrdiff_t cols);
/* out[r, :] = table[ids[r], :]; ids must be in range. */
void attn_gather(const float *table, const int32_t *ids, float *out, ptrdiff_t rows,
                 ptrdiff_t cols);
/* dtable[ids[r], :] += dy[r, :] (repeated ids add up, race-free). */
void attn_scatter_add(const float *dy, const int32_t *ids, float *dtable, ptrdiff_t rows,
                      ptrdiff_t cols);
/* Label-smoothed cross-entropy per row; dlogits may be NULL.  Targets other
 * than ignore_index must be in [0, cols). */
void attn_cross_entropy(const float *logits, const int32_t *targets, ptrdiff_t rows,
                        ptrdiff_t cols, int32_t ignore_index, float smoothing, float *row_loss,
                        float *dlogits);
/* out[i] = keep_i ? x[i] * scale : 0, keep_i iff mulberry32 draw i from
 * `state` (state advanced i+1 times) u has u / 2^32 >= p (DropoutArgs). */
void attn_dropout(const float *x, float *out, ptrdiff_t n, uint32_t state, double p,
                  float scale);
/* One Adam/AdamW step in place (PyTorch's ordering, decoupled decay). */
void attn_adam(float *param, const float *grad, float *m, float *v, ptrdiff_t n, double lr,
               double beta1, double beta2, double eps, double weight_decay, double step);

#ifdef __cplusplus
}
#endif
#endif
