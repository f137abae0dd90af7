/* Strided copy (head split/merge permutes, contiguous()) and fill. */
#include "kinternal.h"

ATTN_SIMD static void copy_run(const uint32_t *s, ptrdiff_t ss, uint32_t *d, ptrdiff_t ds,
                               ptrdiff_t n) {
  if (ss == 1 && ds == 1) {
    memcpy(d, s, (size_t)n * sizeof *d);
  } else if (ds == 1) {
    for (ptrdiff_t i = 0; i < n; i++) d[i] = s[i * ss];
  } else {
    for (ptrdiff_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
  }
}

typedef struct {
  attn_plan p;
  const uint32_t *src;
  uint32_t *dst;
  float value;
} copy_job;

static void copy_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const copy_job *j = ctx;
  const int in = j->p.nd - 1;
  copy_run(j->src + off[0], j->p.st[0][in], j->dst + off[1], j->p.st[1][in], n);
}

void attn_copy32(int nd, const ptrdiff_t *shape, const void *src, const ptrdiff_t *sst, void *dst,
                 const ptrdiff_t *dstst) {
  copy_job j;
  const ptrdiff_t *st[2] = {sst, dstst};
  attn_plan_init(&j.p, nd, shape, 2, st);
  j.src = src;
  j.dst = dst;
  attn_plan_run(&j.p, ATTN_GRAIN_CHEAP, copy_seg, &j);
}

ATTN_SIMD static void fill_run(float *d, ptrdiff_t ds, ptrdiff_t n, float v) {
  if (ds == 1)
    for (ptrdiff_t i = 0; i < n; i++) d[i] = v;
  else
    for (ptrdiff_t i = 0; i < n; i++) d[i * ds] = v;
}

static void fill_seg(void *ctx, const ptrdiff_t *off, ptrdiff_t n) {
  const copy_job *j = ctx;
  fill_run((float *)j->dst + off[0], j->p.st[0][j->p.nd - 1], n, j->value);
}

void attn_fill(int nd, const ptrdiff_t *shape, float *dst, const ptrdiff_t *dstst, float value) {
  copy_job j;
  const ptrdiff_t *st[1] = {dstst};
  attn_plan_init(&j.p, nd, shape, 1, st);
  j.src = NULL;
  j.dst = (uint32_t *)dst;
  j.value = value;
  attn_plan_run(&j.p, ATTN_GRAIN_CHEAP, fill_seg, &j);
}
