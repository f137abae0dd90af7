/* Adam / AdamW update (Kingma & Ba 2015; decoupled decay: Loshchilov & Hutter 2019). */
#include "kinternal.h"

typedef struct {
  float *p, *m, *v;
  const float *g;
  float b1, b2, omb1, omb2, step_size, inv_bc2, eps, decay;
} adam_job;

ATTN_SIMD static void adam_run(const adam_job *j, ptrdiff_t b, ptrdiff_t e) {
  /* locals: stores through p, m, v must not look like they change these */
  float *p = j->p, *m = j->m, *v = j->v;
  const float *g = j->g;
  const float b1 = j->b1, b2 = j->b2, omb1 = j->omb1, omb2 = j->omb2;
  const float step_size = j->step_size, inv_bc2 = j->inv_bc2, eps = j->eps, decay = j->decay;
  for (ptrdiff_t i = b; i < e; i++) {
    const float mi = b1 * m[i] + omb1 * g[i];
    const float vi = b2 * v[i] + omb2 * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - (step_size * mi) / (__builtin_sqrtf(vi) * inv_bc2 + eps);
  }
}

static void adam_range(void *ctx, ptrdiff_t b, ptrdiff_t e) { adam_run(ctx, b, e); }

/* x^k for an integer k >= 0, by repeated squaring */
static double ipow(double x, double k) {
  double r = 1.0;
  for (uint64_t n = (uint64_t)k; n; n >>= 1, x *= x)
    if (n & 1) r *= x;
  return r;
}

void attn_adam(float *param, const float *grad, float *m, float *v, ptrdiff_t n, double lr,
               double beta1, double beta2, double eps, double weight_decay, double step) {
  adam_job j;
  j.p = param;
  j.m = m;
  j.v = v;
  j.g = grad;
  j.b1 = (float)beta1;
  j.b2 = (float)beta2;
  j.omb1 = (float)(1.0 - beta1);
  j.omb2 = (float)(1.0 - beta2);
  /* bias corrections in double, as the reference does */
  j.step_size = (float)(lr / (1.0 - ipow(beta1, step)));
  j.inv_bc2 = (float)(1.0 / __builtin_sqrt(1.0 - ipow(beta2, step)));
  j.eps = (float)eps;
  j.decay = (float)(1.0 - lr * weight_decay);
  attn_parallel_for(n, ATTN_GRAIN_CHEAP / 2, adam_range, &j);
}
