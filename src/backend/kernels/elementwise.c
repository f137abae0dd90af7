/* Unary ops, their gradients, and the fused bias + activation. */
#include "kinternal.h"

/* op(v) per element; every loop below switches once, outside the loop. */
#define U_NEG(v) (-(v))
#define U_EXP(v) attn_expf(v)
#define U_LOG(v) attn_logf(v)
#define U_SQRT(v) __builtin_sqrtf(v)
#define U_RSQRT(v) (1.0f / __builtin_sqrtf(v))
#define U_TANH(v) attn_tanhf(v)
/* Math.max(v, 0): NaN stays NaN, -0 becomes 0 */
#define U_RELU(v) ((v) > 0.0f ? (v) : ((v) == (v) ? 0.0f : (v)))
#define U_GELU_T(v) attn_gelu_tanhf(v)
#define U_GELU_E(v) attn_gelu_erff(v)
#define U_ABS(v) attn_absf(v)
#define U_SIGMOID(v) attn_sigmoidf(v)
#define U_IDENT(v) (v)

#define UNARY_SWITCH(op, ROW)                    \
  switch (op) {                                  \
    case ATTN_U_NEG: ROW(U_NEG); break;          \
    case ATTN_U_EXP: ROW(U_EXP); break;          \
    case ATTN_U_LOG: ROW(U_LOG); break;          \
    case ATTN_U_SQRT: ROW(U_SQRT); break;        \
    case ATTN_U_RSQRT: ROW(U_RSQRT); break;      \
    case ATTN_U_TANH: ROW(U_TANH); break;        \
    case ATTN_U_RELU: ROW(U_RELU); break;        \
    case ATTN_U_GELU_TANH: ROW(U_GELU_T); break; \
    case ATTN_U_GELU_ERF: ROW(U_GELU_E); break;  \
    case ATTN_U_ABS: ROW(U_ABS); break;          \
    case ATTN_U_SIGMOID: ROW(U_SIGMOID); break;  \
    default: ROW(U_IDENT); break;                \
  }

ATTN_SIMD static void unary_run(int op, const float *x, ptrdiff_t xs, float *o, ptrdiff_t os,
                                ptrdiff_t n) {
#define ROW(F)                                                     \
  if (xs == 1 && os == 1) {                                        \
    for (ptrdiff_t i = 0; i < n; i++) o[i] = F(x[i]);              \
  } else {                                                         \
    for (ptrdiff_t i = 0; i < n; i++) o[i * os] = F(x[i * xs]);    \
  }
  UNARY_SWITCH(op, ROW)
#undef ROW
}

static int unary_is_cheap(int op) {
  return op == ATTN_U_NEG || op == ATTN_U_ABS || op == ATTN_U_RELU || op == ATTN_U_IDENTITY;
}

typedef struct {
  attn_plan p;
  int op;
  const float *x;
  float *out;
} unary_job;

static void unary_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const unary_job *j = ctx;
  const int in = j->p.nd - 1;
  unary_run(j->op, j->x + off[0], j->p.st[0][in], j->out + off[1], j->p.st[1][in], n);
}

void attn_unary(int op, int nd, const ptrdiff_t *shape, const float *x, const ptrdiff_t *xst,
                float *out, const ptrdiff_t *ost) {
  unary_job j;
  const ptrdiff_t *st[2] = {xst, ost};
  attn_plan_init(&j.p, nd, shape, 2, st);
  j.op = op;
  j.x = x;
  j.out = out;
  attn_plan_run(&j.p, unary_is_cheap(op) ? ATTN_GRAIN_CHEAP : ATTN_GRAIN_MATH, unary_seg, &j);
}

/* ---- gradients: dx = dy * op'(x), y = op(x) ---- */

ATTN_SIMD static void unary_grad_run(int op, const float *x, const float *y, const float *dy,
                                     float *dx, ptrdiff_t n) {
  ptrdiff_t i;
  switch (op) {
    case ATTN_U_NEG:
      for (i = 0; i < n; i++) dx[i] = -dy[i];
      break;
    case ATTN_U_EXP:
      for (i = 0; i < n; i++) dx[i] = dy[i] * y[i];
      break;
    case ATTN_U_LOG:
      for (i = 0; i < n; i++) dx[i] = dy[i] / x[i];
      break;
    case ATTN_U_SQRT:
      for (i = 0; i < n; i++) dx[i] = dy[i] * (0.5f / y[i]);
      break;
    case ATTN_U_RSQRT:
      for (i = 0; i < n; i++) dx[i] = dy[i] * (-0.5f * y[i] * y[i] * y[i]);
      break;
    case ATTN_U_TANH:
      for (i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case ATTN_U_RELU:
      for (i = 0; i < n; i++) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
      break;
    case ATTN_U_GELU_TANH:
      for (i = 0; i < n; i++) dx[i] = dy[i] * attn_gelu_tanh_gradf(x[i]);
      break;
    case ATTN_U_GELU_ERF:
      for (i = 0; i < n; i++) dx[i] = dy[i] * attn_gelu_erf_gradf(x[i]);
      break;
    case ATTN_U_ABS: /* Math.sign: ±1, and ±0 / NaN unchanged */
      for (i = 0; i < n; i++)
        dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : x[i] < 0.0f ? -1.0f : x[i]);
      break;
    case ATTN_U_SIGMOID:
      for (i = 0; i < n; i++) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
      break;
    default:
      break;
  }
}

typedef struct {
  int op;
  const float *x, *y, *dy;
  float *dx;
} grad_job;

static void unary_grad_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const grad_job *j = ctx;
  unary_grad_run(j->op, j->x + b, j->y + b, j->dy + b, j->dx + b, e - b);
}

void attn_unary_grad(int op, const float *x, const float *y, const float *dy, float *dx,
                     ptrdiff_t n) {
  grad_job j = {op, x, y, dy, dx};
  attn_parallel_for(n, unary_is_cheap(op) ? ATTN_GRAIN_CHEAP : ATTN_GRAIN_MATH,
                    unary_grad_range, &j);
}

/* ---- out = act(x + bias), bias broadcast over rows ---- */

ATTN_SIMD static void bias_act_run(int op, const float *x, const float *bias, float *o,
                                   ptrdiff_t rows, ptrdiff_t cols) {
#define ROW(F)                                                        \
  for (ptrdiff_t r = 0; r < rows; r++, x += cols, o += cols)          \
    for (ptrdiff_t c = 0; c < cols; c++) o[c] = F(x[c] + bias[c]);
  UNARY_SWITCH(op, ROW)
#undef ROW
}

typedef struct {
  int op;
  const float *x, *bias;
  float *out;
  ptrdiff_t cols;
} bias_job;

static void bias_act_range(void *ctx, ptrdiff_t b, ptrdiff_t e) {
  const bias_job *j = ctx;
  bias_act_run(j->op, j->x + b * j->cols, j->bias, j->out + b * j->cols, e - b, j->cols);
}

void attn_bias_act(int op, const float *x, const float *bias, float *out, ptrdiff_t rows,
                   ptrdiff_t cols) {
  bias_job j = {op, x, bias, out, cols};
  const ptrdiff_t g = unary_is_cheap(op) ? ATTN_GRAIN_CHEAP : ATTN_GRAIN_MATH;
  attn_parallel_for(rows, attn_row_grain(cols, g), bias_act_range, &j);
}
