/* Inverted dropout with the mask drawn in the kernel (mulberry32, as the reference). */
#include "kinternal.h"

typedef struct {
  const float *x;
  float *out;
  uint32_t state, threshold;
  float scale;
} dropout_job;

/* mulberry32 is counter-based: draw i only needs state + (i+1) * 0x6d2b79f5,
 * so ranges are independent and the loop vectorises (32-bit multiplies). */
ATTN_SIMD static void dropout_run(const dropout_job *j, ptrdiff_t b, ptrdiff_t e) {
  const float *x = j->x;
  float *o = j->out;
  const uint32_t thr = j->threshold, s0 = j->state;
  const float scale = j->scale;
  for (ptrdiff_t i = b; i < e; i++) {
    const uint32_t a = s0 + (uint32_t)i * 0x6d2b79f5u + 0x6d2b79f5u;
    uint32_t t = (a ^ (a >> 15)) * (1u | a);
    t = (t + (t ^ (t >> 7)) * (61u | t)) ^ t;
    const uint32_t u = t ^ (t >> 14);
    const float kept = x[i] * scale; /* unconditional load: vectorises */
    o[i] = u >= thr ? kept : 0.0f;
  }
}

static void dropout_range(void *ctx, ptrdiff_t b, ptrdiff_t e) { dropout_run(ctx, b, e); }

void attn_dropout(const float *x, float *out, ptrdiff_t n, uint32_t state, double p,
                  float scale) {
  dropout_job j;
  j.x = x;
  j.out = out;
  j.state = state;
  j.scale = scale;
  /* keep iff u / 2^32 >= p  <=>  u >= ceil(p 2^32) for integer u */
  const double t = p * 4294967296.0;
  if (!(t <= 4294967295.0)) { /* p >= 1 (or NaN): nothing is kept */
    memset(out, 0, (size_t)(n > 0 ? n : 0) * sizeof *out);
    return;
  }
  j.threshold = t <= 0.0 ? 0u : (uint32_t)t + ((double)(uint32_t)t < t);
  attn_parallel_for(n, ATTN_GRAIN_CHEAP, dropout_range, &j);
}
