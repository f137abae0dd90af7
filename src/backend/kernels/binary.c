/* Broadcasting binary ops and where(), on strided views. */
#include "kinternal.h"

#define B_ADD(x, y) ((x) + (y))
#define B_SUB(x, y) ((x) - (y))
#define B_MUL(x, y) ((x) * (y))
#define B_DIV(x, y) ((x) / (y))
#define B_POW(x, y) attn_powf_js(x, y)
/* JS reference: a >= b || isNaN(a) ? a : b (NaN in a wins, ties give a) */
#define B_MAX(x, y) ((x) >= (y) || (x) != (x) ? (x) : (y))
#define B_MIN(x, y) ((x) <= (y) || (x) != (x) ? (x) : (y))
#define B_EQ(x, y) ((x) == (y) ? 1.0f : 0.0f)
#define B_NE(x, y) ((x) != (y) ? 1.0f : 0.0f)
#define B_LT(x, y) ((x) < (y) ? 1.0f : 0.0f)
#define B_LE(x, y) ((x) <= (y) ? 1.0f : 0.0f)
#define B_GT(x, y) ((x) > (y) ? 1.0f : 0.0f)
#define B_GE(x, y) ((x) >= (y) ? 1.0f : 0.0f)

/* One run of n elements of type T; the common stride patterns get their own
 * loops so they vectorise (contiguous, scalar b, scalar a), the rest is general. */
#define RUN(F, T)                                                                  \
  if (os == 1 && as == 1 && bs == 1) {                                             \
    for (ptrdiff_t i = 0; i < n; i++) o[i] = F(a[i], b[i]);                        \
  } else if (os == 1 && as == 1 && bs == 0) {                                      \
    const T bv = b[0];                                                             \
    for (ptrdiff_t i = 0; i < n; i++) o[i] = F(a[i], bv);                          \
  } else if (os == 1 && as == 0 && bs == 1) {                                      \
    const T av = a[0];                                                             \
    for (ptrdiff_t i = 0; i < n; i++) o[i] = F(av, b[i]);                          \
  } else {                                                                         \
    for (ptrdiff_t i = 0; i < n; i++) o[i * os] = F(a[i * as], b[i * bs]);         \
  }

ATTN_SIMD static void binary_run(int op, const float *a, ptrdiff_t as, const float *b,
                                 ptrdiff_t bs, float *o, ptrdiff_t os, ptrdiff_t n) {
  switch (op) {
    case ATTN_B_ADD: RUN(B_ADD, float); break;
    case ATTN_B_SUB: RUN(B_SUB, float); break;
    case ATTN_B_MUL: RUN(B_MUL, float); break;
    case ATTN_B_DIV: RUN(B_DIV, float); break;
    case ATTN_B_MAX: RUN(B_MAX, float); break;
    case ATTN_B_MIN: RUN(B_MIN, float); break;
    case ATTN_B_EQ: RUN(B_EQ, float); break;
    case ATTN_B_NE: RUN(B_NE, float); break;
    case ATTN_B_LT: RUN(B_LT, float); break;
    case ATTN_B_LE: RUN(B_LE, float); break;
    case ATTN_B_GT: RUN(B_GT, float); break;
    case ATTN_B_GE: RUN(B_GE, float); break;
    default: break;
  }
}

/* pow has data-dependent special cases: a plain scalar loop. */
static void pow_run(const float *a, ptrdiff_t as, const float *b, ptrdiff_t bs, float *o,
                    ptrdiff_t os, ptrdiff_t n) {
  for (ptrdiff_t i = 0; i < n; i++) o[i * os] = attn_powf_js(a[i * as], b[i * bs]);
}

typedef struct {
  attn_plan p;
  int op;
  const void *a, *b; /* float32 or int32 */
  void *out;
} binary_job;

static void binary_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const binary_job *j = ctx;
  const int in = j->p.nd - 1;
  const ptrdiff_t as = j->p.st[0][in], bs = j->p.st[1][in], os = j->p.st[2][in];
  const float *a = (const float *)j->a + off[0], *b = (const float *)j->b + off[1];
  float *o = (float *)j->out + off[2];
  if (j->op == ATTN_B_POW)
    pow_run(a, as, b, bs, o, os, n);
  else
    binary_run(j->op, a, as, b, bs, o, os, n);
}

void attn_binary(int op, int nd, const ptrdiff_t *shape, const float *a, const ptrdiff_t *ast,
                 const float *b, const ptrdiff_t *bst, float *out, const ptrdiff_t *ost) {
  binary_job j;
  const ptrdiff_t *st[3] = {ast, bst, ost};
  attn_plan_init(&j.p, nd, shape, 3, st);
  j.op = op;
  j.a = a;
  j.b = b;
  j.out = out;
  attn_plan_run(&j.p, op == ATTN_B_POW ? 2048 : ATTN_GRAIN_CHEAP, binary_seg, &j);
}

/* ---- int32 (masks, ids): JS computes in double and stores ToInt32 ---- */

ATTN_INLINE int32_t wrap_i32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }
/* ToInt32(a * b): the double product (rounded beyond 2^53, as in JS) wrapped */
#define I_MUL(x, y) wrap_i32((int64_t)((double)(x) * (double)(y)))
/* ToInt32(a / b): truncated; x/0 is +-inf or NaN, which ToInt32 makes 0 */
#define I_DIV(x, y) ((y) == 0 ? 0 : wrap_i32((int64_t)((double)(x) / (double)(y))))
#define I_ADD(x, y) ((int32_t)((uint32_t)(x) + (uint32_t)(y)))
#define I_SUB(x, y) ((int32_t)((uint32_t)(x) - (uint32_t)(y)))
#define I_MAX(x, y) ((x) >= (y) ? (x) : (y))
#define I_MIN(x, y) ((x) <= (y) ? (x) : (y))
#define I_EQ(x, y) ((x) == (y))
#define I_NE(x, y) ((x) != (y))
#define I_LT(x, y) ((x) < (y))
#define I_LE(x, y) ((x) <= (y))
#define I_GT(x, y) ((x) > (y))
#define I_GE(x, y) ((x) >= (y))

ATTN_SIMD static void binary_i32_run(int op, const int32_t *a, ptrdiff_t as, const int32_t *b,
                                     ptrdiff_t bs, int32_t *o, ptrdiff_t os, ptrdiff_t n) {
  switch (op) {
    case ATTN_B_ADD: RUN(I_ADD, int32_t); break;
    case ATTN_B_SUB: RUN(I_SUB, int32_t); break;
    case ATTN_B_MUL: RUN(I_MUL, int32_t); break;
    case ATTN_B_DIV: RUN(I_DIV, int32_t); break;
    case ATTN_B_MAX: RUN(I_MAX, int32_t); break;
    case ATTN_B_MIN: RUN(I_MIN, int32_t); break;
    case ATTN_B_EQ: RUN(I_EQ, int32_t); break;
    case ATTN_B_NE: RUN(I_NE, int32_t); break;
    case ATTN_B_LT: RUN(I_LT, int32_t); break;
    case ATTN_B_LE: RUN(I_LE, int32_t); break;
    case ATTN_B_GT: RUN(I_GT, int32_t); break;
    case ATTN_B_GE: RUN(I_GE, int32_t); break;
    default: break; /* pow: not supported (the caller checks) */
  }
}
#undef RUN

static void binary_i32_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const binary_job *j = ctx;
  const int in = j->p.nd - 1;
  binary_i32_run(j->op, (const int32_t *)j->a + off[0], j->p.st[0][in],
                 (const int32_t *)j->b + off[1], j->p.st[1][in], (int32_t *)j->out + off[2],
                 j->p.st[2][in], n);
}

void attn_binary_i32(int op, int nd, const ptrdiff_t *shape, const int32_t *a,
                     const ptrdiff_t *ast, const int32_t *b, const ptrdiff_t *bst, int32_t *out,
                     const ptrdiff_t *ost) {
  binary_job j;
  const ptrdiff_t *st[3] = {ast, bst, ost};
  if (op == ATTN_B_POW) return;
  attn_plan_init(&j.p, nd, shape, 3, st);
  j.op = op;
  j.a = a;
  j.b = b;
  j.out = out;
  attn_plan_run(&j.p, ATTN_GRAIN_CHEAP, binary_i32_seg, &j);
}

/* ---- where ---- */

/* cond is read as 32-bit patterns: `c & cmask` is non-zero exactly when the
 * int32 (cmask = ~0) or float32 (cmask drops the sign bit, so -0 counts as 0
 * and NaN as non-zero, like JS `c !== 0`) value is non-zero. */
ATTN_SIMD static void where_run(const uint32_t *c, ptrdiff_t cs, uint32_t cmask, const float *a,
                                ptrdiff_t as, const float *b, ptrdiff_t bs, float *o,
                                ptrdiff_t os, ptrdiff_t n) {
  /* Both sides are loaded unconditionally so the selects vectorise. */
#define SEL(ci, ai, bi) \
  const float av = a[ai], bv = b[bi]; \
  o[i * os] = (c[ci] & cmask) ? av : bv;
  if (os == 1 && cs == 1 && as == 1 && bs == 1) {
    for (ptrdiff_t i = 0; i < n; i++) { SEL(i, i, i) }
  } else if (os == 1 && cs == 1 && as == 0 && bs == 1) { /* maskedFill */
    for (ptrdiff_t i = 0; i < n; i++) { SEL(i, 0, i) }
  } else if (os == 1 && cs == 1 && as == 1 && bs == 0) {
    for (ptrdiff_t i = 0; i < n; i++) { SEL(i, i, 0) }
  } else if (os == 1 && cs == 0) { /* one condition for the whole run */
    if (c[0] & cmask)
      for (ptrdiff_t i = 0; i < n; i++) o[i] = a[i * as];
    else
      for (ptrdiff_t i = 0; i < n; i++) o[i] = b[i * bs];
  } else {
    for (ptrdiff_t i = 0; i < n; i++) { SEL(i * cs, i * as, i * bs) }
  }
#undef SEL
}

typedef struct {
  attn_plan p;
  uint32_t cmask;
  const uint32_t *c;
  const float *a, *b;
  float *out;
} where_job;

static void where_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const where_job *j = ctx;
  const int in = j->p.nd - 1;
  where_run(j->c + off[0], j->p.st[0][in], j->cmask, j->a + off[1], j->p.st[1][in],
            j->b + off[2], j->p.st[2][in], j->out + off[3], j->p.st[3][in], n);
}

void attn_where(int nd, const ptrdiff_t *shape, const void *cond, int cond_is_int,
                const ptrdiff_t *cst, const float *a, const ptrdiff_t *ast, const float *b,
                const ptrdiff_t *bst, float *out, const ptrdiff_t *ost) {
  where_job j;
  const ptrdiff_t *st[4] = {cst, ast, bst, ost};
  attn_plan_init(&j.p, nd, shape, 4, st);
  j.cmask = cond_is_int ? 0xffffffffu : 0x7fffffffu;
  j.c = cond;
  j.a = a;
  j.b = b;
  j.out = out;
  attn_plan_run(&j.p, ATTN_GRAIN_CHEAP, where_seg, &j);
}
