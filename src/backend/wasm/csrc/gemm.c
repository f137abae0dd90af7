/*
 * Batched GEMM driver: argument checks, the split of a call into tasks for
 * the thread pool, and per-slot scratch.
 *
 * Results do not depend on the thread count: a task is a block of rows or
 * columns of one batch entry over the whole K, every element is summed in the
 * same order whoever computes it, and the small/packed choice depends on the
 * whole M only.
 * Its call descriptor mirrors the native one (src/backend/native/csrc/gemm.h)
 * field for field: the two builds share no header (different toolchains and
 * threading), so the struct is written twice on purpose.
 */
#include "attn_wasm.h"

/* ---- per-slot scratch, handed over by JS (attn_set_scratch) ---- */

static float *scratch_ptr[ATTN_MAX_THREADS];
static size_t scratch_floats[ATTN_MAX_THREADS];

ATTN_EXPORT(attn_set_scratch) void attn_set_scratch(int slot, float *p, size_t bytes) {
  if (slot < 0 || slot >= ATTN_MAX_THREADS) return;
  scratch_ptr[slot] = p;
  scratch_floats[slot] = bytes / sizeof(float);
}

float *attn_scratch(int slot, size_t floats) {
  return scratch_floats[slot] >= floats ? scratch_ptr[slot] : (float *)0;
}

ATTN_EXPORT(attn_gemm_scratch_bytes) size_t attn_gemm_scratch_bytes(void) {
  return ATTN_GEMM_SCRATCH * sizeof(float);
}

/* ---- the batched call ---- */

typedef struct {
  int M, N, K, batch;
  float alpha;
  int beta;
  const float *A;
  const int32_t *aoff;
  ptrdiff_t ars, acs;
  const float *B;
  const int32_t *boff;
  ptrdiff_t brs, bcs;
  float *C;
  const int32_t *coff;
  ptrdiff_t ldc;
} batched_t;

typedef struct {
  const batched_t *g;
  int b0;               /* first batch entry */
  int split_m, split_n; /* tasks per entry along M and N */
  int chunk_m, chunk_n;
  int total;
  int small;
  int next; /* task counter, shared by the participants */
} job_t;

/* Below this many flops a call stays on the calling thread: a hand-off to a
 * spinning worker costs about a microsecond, a sleeping one tens. */
#define MT_MIN_FLOPS 131072.0
#define TASKS_PER_THREAD 2

static void run_task(job_t *j, int t, float *work) {
  const batched_t *g = j->g;
  const int per = j->split_m * j->split_n;
  const int b = j->b0 + t / per, r = t % per;
  const int m0 = (r / j->split_n) * j->chunk_m, n0 = (r % j->split_n) * j->chunk_n;
  const int m1 = m0 + j->chunk_m < g->M ? m0 + j->chunk_m : g->M;
  const int n1 = n0 + j->chunk_n < g->N ? n0 + j->chunk_n : g->N;
  if (m0 >= m1 || n0 >= n1) return;
  attn_sub_t s = {
      .m = m1 - m0, .n = n1 - n0, .k = g->K, .full_m = g->M,
      .alpha = g->alpha, .beta = g->beta,
      .a = g->A + g->aoff[b] + m0 * g->ars, .ars = g->ars, .acs = g->acs,
      .b = g->B + g->boff[b] + n0 * g->bcs, .brs = g->brs, .bcs = g->bcs,
      .c = g->C + g->coff[b] + m0 * g->ldc + n0, .ldc = g->ldc,
  };
  if (j->small && attn_gemm_small(&s, work, ATTN_GEMM_SCRATCH)) return;
  attn_gemm_packed(&s, work);
}

static void job_task(void *ctx, int slot) {
  job_t *j = (job_t *)ctx;
  float *work = attn_scratch(slot, ATTN_GEMM_SCRATCH);
  if (!work) return; /* no scratch: leave the tasks to the others */
  for (;;) {
    const int t = attn_fetch_add(&j->next, 1);
    if (t >= j->total) break;
    run_task(j, t, work);
  }
}

static int cdiv(int a, int b) { return (a + b - 1) / b; }
static int round_up(int a, int b) { return cdiv(a, b) * b; }

/* Plans and runs batch entries [b0, b0 + nb). */
static int run_batches(const batched_t *g, int b0, int nb, int threads) {
  job_t j = {.g = g, .b0 = b0, .split_m = 1, .split_n = 1, .chunk_m = g->M, .chunk_n = g->N};
  j.small = attn_gemm_is_small(g->M, g->brs, g->bcs);
  const double flops = 2.0 * g->M * (double)g->N * g->K * nb;
  if (threads > 1 && flops >= MT_MIN_FLOPS) {
    const int want = threads * TASKS_PER_THREAD;
    if (nb < want) {
      /* Split the larger side of each entry. Every task packs its own panels,
       * so chunks stay >= 256 unless that would leave threads idle. */
      const int per_entry = cdiv(want, nb), per_thread = cdiv(threads, nb);
      if (j.small || g->N >= g->M) {
        const int gran = j.small ? 16 : ATTN_NR;
        int min_chunk = round_up(cdiv(g->N, per_thread), gran);
        if (min_chunk > (j.small ? 64 : 256)) min_chunk = j.small ? 64 : 256;
        int chunk = round_up(cdiv(g->N, per_entry), gran);
        j.chunk_n = chunk < min_chunk ? min_chunk : chunk;
        j.split_n = cdiv(g->N, j.chunk_n);
      } else {
        int min_chunk = round_up(cdiv(g->M, per_thread), ATTN_MR);
        if (min_chunk > 256) min_chunk = 256;
        int chunk = round_up(cdiv(g->M, per_entry), ATTN_MR);
        j.chunk_m = chunk < min_chunk ? min_chunk : chunk;
        j.split_m = cdiv(g->M, j.chunk_m);
      }
    }
  } else {
    threads = 1;
  }
  j.total = nb * j.split_m * j.split_n;
  if (threads > j.total) threads = j.total;
  if (threads > 1)
    attn_pool_run(threads, job_task, &j);
  else
    job_task(&j, 0);
  /* A participant without scratch ran nothing; tasks left mean failure. */
  return j.next >= j.total ? 0 : -1;
}

/* [lo, hi] element range of base + i*rs + j*cs over 0<=i<m, 0<=j<n. */
static int in_range(int64_t base, int64_t m, int64_t rs, int64_t n, int64_t cs, int64_t len) {
  const int64_t ri = (m - 1) * rs, cj = (n - 1) * cs;
  const int64_t lo = base + (ri < 0 ? ri : 0) + (cj < 0 ? cj : 0);
  const int64_t hi = base + (ri > 0 ? ri : 0) + (cj > 0 ? cj : 0);
  return lo >= 0 && hi < len;
}

/*
 * C[b] = alpha * A[b] @ B[b] + (accumulate ? C[b] : 0) for b < batch, element
 * (i,k) of A[b] at A[aoff[b] + i*ars + k*acs], and so on; C rows have stride
 * ldc. la/lb/lc are the operand lengths in elements. Returns 0, or
 * -(1 + 3*b + operand) for the first batch entry b whose operand (0 = A,
 * 1 = B, 2 = C) is out of range, or -2^30 without scratch.
 */
ATTN_EXPORT(attn_gemm)
int attn_gemm(int M, int N, int K, float alpha, const float *A, const int32_t *aoff, int ars,
              int acs, int la, const float *B, const int32_t *boff, int brs, int bcs, int lb,
              int accumulate, float *C, const int32_t *coff, int ldc, int lc, int batch) {
  if (batch <= 0 || M <= 0 || N <= 0) return 0;
  for (int b = 0; b < batch; b++) {
    if (K > 0 && !in_range(aoff[b], M, ars, K, acs, la)) return -(1 + 3 * b);
    if (K > 0 && !in_range(boff[b], K, brs, N, bcs, lb)) return -(2 + 3 * b);
    if (!in_range(coff[b], M, ldc, N, 1, lc)) return -(3 + 3 * b);
  }
  batched_t g = {M, N, K, batch, alpha, accumulate != 0, A, aoff, ars, acs,
                 B, boff, brs, bcs, C, coff, ldc};
  if (K == 0) { /* an empty sum: C = 0 or unchanged */
    if (!accumulate)
      for (int b = 0; b < batch; b++)
        for (int i = 0; i < M; i++) __builtin_memset(C + coff[b] + i * ldc, 0, N * sizeof(float));
    return 0;
  }
  const int threads = attn_pool_threads();
  /* Entries may run in parallel only if their C blocks are disjoint; the
   * engine's offsets are increasing, or all equal when accumulating into one C. */
  int disjoint = 1;
  const int64_t span = (int64_t)(M - 1) * ldc + N;
  for (int b = 1; b < batch && disjoint; b++) disjoint = (int64_t)coff[b] - coff[b - 1] >= span;
  int rc = 0;
  if (threads > 1 && !disjoint) {
    for (int b = 0; b < batch && rc == 0; b++) rc = run_batches(&g, b, 1, threads);
  } else {
    rc = run_batches(&g, 0, batch, threads);
  }
  return rc == 0 ? 0 : -(1 << 30);
}
