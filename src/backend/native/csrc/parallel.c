/*
 * attn_parallel_for (kernels.h) on the native thread pool.  [0, n) is cut
 * into at most 4 ranges per thread (so a descheduled vCPU does not hold the
 * others up), each at least `grain` items; the pool's threads take ranges
 * from an atomic counter.  The calling thread takes ranges too and, if no
 * worker joins, runs them all.
 */
#include <stdatomic.h>

#include "../../kernels/kernels.h"
#include "gemm.h"

typedef struct {
  attn_range_fn fn;
  void *ctx;
  ptrdiff_t n;
  int nranges;
  atomic_int next;
} pf_job;

static void pf_task(void *p, int tid, int nthreads) {
  (void)tid;
  (void)nthreads;
  pf_job *j = p;
  for (;;) {
    const int k = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (k >= j->nranges) return;
    const ptrdiff_t b = (ptrdiff_t)((int64_t)j->n * k / j->nranges);
    const ptrdiff_t e = (ptrdiff_t)((int64_t)j->n * (k + 1) / j->nranges);
    j->fn(j->ctx, b, e);
  }
}

void attn_parallel_for(ptrdiff_t n, ptrdiff_t grain, attn_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int threads = attn_pool_get_threads();
  const ptrdiff_t most = n / grain; /* ranges of >= grain items */
  if (threads <= 1 || most < 2) {
    fn(ctx, 0, n);
    return;
  }
  pf_job j;
  j.fn = fn;
  j.ctx = ctx;
  j.n = n;
  j.nranges = most < 4 * threads ? (int)most : 4 * threads;
  atomic_init(&j.next, 0);
  attn_pool_run(j.nranges < threads ? j.nranges : threads, pf_task, &j);
}
