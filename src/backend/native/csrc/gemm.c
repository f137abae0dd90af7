/*
 * Batched GEMM driver: kernel selection, thread-local scratch, and the split
 * of a batched call into tasks for the thread pool.
 *
 * Built WITHOUT any -mavx* flags so the addon loads on every x86-64 / arm64
 * CPU; the ISA-specific code is reached only through attn_kernel_t pointers
 * chosen with __builtin_cpu_supports().
 */
#include "gemm.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- kernel selection ---------------- */

#if defined(__x86_64__) && defined(__GNUC__)
/* The AVX-512 file is built with -mavx512f -mavx512vl -mfma, so it needs all
 * three (Knights Landing has F without VL).  libgcc also checks that the OS
 * saves the vector state (XCR0). */
static int has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("fma");
}
static int has_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static const attn_kernel_t *auto_kernel(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (has_avx512()) return attn_kernel_avx512();
  if (has_avx2()) return attn_kernel_avx2();
#endif
  return attn_kernel_portable();
}

static _Atomic(const attn_kernel_t *) active_kernel = NULL;

const attn_kernel_t *attn_active_kernel(void) {
  const attn_kernel_t *k = atomic_load_explicit(&active_kernel, memory_order_acquire);
  if (!k) {
    const char *env = getenv("ATTN_NATIVE_ISA");
    if (env && *env && attn_select_kernel(env)) return atomic_load(&active_kernel);
    k = auto_kernel();
    atomic_store_explicit(&active_kernel, k, memory_order_release);
  }
  return k;
}

const char *attn_select_kernel(const char *name) {
  const attn_kernel_t *k = NULL;
  if (strcmp(name, "auto") == 0) {
    k = auto_kernel();
  } else if (strcmp(name, "portable") == 0) {
    k = attn_kernel_portable();
  }
#if defined(__x86_64__) && defined(__GNUC__)
  else if (strcmp(name, "avx512") == 0) {
    if (has_avx512()) k = attn_kernel_avx512();
  } else if (strcmp(name, "avx2") == 0) {
    if (has_avx2()) k = attn_kernel_avx2();
  }
#endif
  if (!k) return NULL;
  atomic_store_explicit(&active_kernel, k, memory_order_release);
  return k->name;
}

/* ---------------- per-thread scratch ---------------- */

static pthread_key_t work_key;
static pthread_once_t work_once = PTHREAD_ONCE_INIT;
typedef struct {
  float *ptr;
  size_t floats;
} work_buf_t;

static void work_free(void *p) {
  work_buf_t *w = (work_buf_t *)p;
  if (w) {
    free(w->ptr);
    free(w);
  }
}
static void work_key_init(void) { (void)pthread_key_create(&work_key, work_free); }

/* 64-byte aligned scratch of at least `floats` floats owned by this thread. */
static float *thread_work(size_t floats) {
  pthread_once(&work_once, work_key_init);
  work_buf_t *w = (work_buf_t *)pthread_getspecific(work_key);
  if (!w) {
    w = (work_buf_t *)calloc(1, sizeof *w);
    if (!w) return NULL;
    if (pthread_setspecific(work_key, w) != 0) {
      free(w);
      return NULL;
    }
  }
  if (w->floats < floats) {
    free(w->ptr);
    w->ptr = NULL;
    w->floats = 0;
    void *p = NULL;
    if (posix_memalign(&p, 64, floats * sizeof(float)) != 0) return NULL;
    w->ptr = (float *)p;
    w->floats = floats;
  }
  return w->ptr;
}

/* ---------------- task decomposition ---------------- */

/* Problems below this many flops (2*M*N*K summed over the batch) run on the
 * calling thread: waking a worker costs a few microseconds. */
#ifndef ATTN_MT_MIN_FLOPS
#define ATTN_MT_MIN_FLOPS 131072.0
#endif
/* Aim for this many tasks per thread so a thread slowed down by the OS can be
 * compensated by the others (tasks are taken from an atomic counter). */
#ifndef ATTN_TASKS_PER_THREAD
#define ATTN_TASKS_PER_THREAD 2
#endif

typedef struct {
  const attn_batched_t *g;
  const attn_kernel_t *kern;
  int batch0, nbatch;    /* batch entries [batch0, batch0+nbatch) */
  int split_m, split_n;  /* tasks per batch entry along M and N */
  int chunk_m, chunk_n;  /* rows / columns per task */
  size_t work_floats;
  atomic_int next;
  atomic_int failed;
} job_t;

static void run_one(const job_t *j, int t, float *work) {
  const attn_batched_t *g = j->g;
  const int per = j->split_m * j->split_n;
  const int b = j->batch0 + t / per;
  const int r = t % per;
  const int m0 = (r / j->split_n) * j->chunk_m;
  const int n0 = (r % j->split_n) * j->chunk_n;
  const int m1 = m0 + j->chunk_m < g->M ? m0 + j->chunk_m : g->M;
  const int n1 = n0 + j->chunk_n < g->N ? n0 + j->chunk_n : g->N;
  if (m0 >= m1 || n0 >= n1) return;
  attn_sub_t s;
  s.m = m1 - m0;
  s.n = n1 - n0;
  s.k = g->K;
  s.full_m = g->M;
  s.full_n = g->N;
  s.alpha = g->alpha;
  s.beta = g->beta;
  s.a = g->A + g->aoff[b] + (ptrdiff_t)m0 * g->ars;
  s.ars = g->ars;
  s.acs = g->acs;
  s.b = g->B + g->boff[b] + (ptrdiff_t)n0 * g->bcs;
  s.brs = g->brs;
  s.bcs = g->bcs;
  s.c = g->C + g->coff[b] + (ptrdiff_t)m0 * g->ldc + n0;
  s.ldc = g->ldc;
  j->kern->gemm(&s, work);
}

static void job_worker(void *ctx, int tid, int nthreads) {
  job_t *j = (job_t *)ctx;
  (void)tid;
  (void)nthreads;
  const int total = j->nbatch * j->split_m * j->split_n;
  float *work = NULL;
  for (;;) {
    const int t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (t >= total) break;
    if (!work) {
      work = thread_work(j->work_floats);
      if (!work) {
        atomic_store(&j->failed, 1);
        break;
      }
    }
    run_one(j, t, work);
  }
}

static int cdiv(int a, int b) { return (a + b - 1) / b; }
static int round_up(int a, int b) { return cdiv(a, b) * b; }

/* Plan and run batch entries [b0, b0+nb). */
static int run_batches(const attn_batched_t *g, const attn_kernel_t *kern, int b0, int nb,
                       int threads) {
  job_t j;
  j.g = g;
  j.kern = kern;
  j.batch0 = b0;
  j.nbatch = nb;
  j.split_m = j.split_n = 1;
  j.chunk_m = g->M;
  j.chunk_n = g->N;
  atomic_init(&j.next, 0);
  atomic_init(&j.failed, 0);

  const double flops = 2.0 * g->M * (double)g->N * g->K * nb;
  if (threads > 1 && flops >= ATTN_MT_MIN_FLOPS) {
    const int want = threads * ATTN_TASKS_PER_THREAD;
    if (nb < want) {
      const int per_entry = cdiv(want, nb);
      const int small = (g->bcs == 1 && g->M <= kern->small_m_nn) ||
                        (g->bcs != 1 && g->brs == 1 && g->M <= kern->small_m_nt);
      /* Split the larger dimension.  Every task packs its own panels, so keep
       * chunks >= 256 (duplicated packing stays a few percent) unless that
       * would leave threads idle. */
      const int per_thread = cdiv(threads, nb);
      const int split_n = small || (g->N >= g->M && cdiv(g->N, kern->nr) >= per_thread) ||
                          cdiv(g->M, kern->mr) < per_thread;
      if (split_n) {
        const int gran = small ? 16 : kern->nr;
        const int floor_chunk = small ? 64 : 256;
        int min_chunk = round_up(cdiv(g->N, per_thread), gran);
        if (min_chunk > floor_chunk) min_chunk = floor_chunk;
        int chunk = round_up(cdiv(g->N, per_entry), gran);
        if (chunk < min_chunk) chunk = min_chunk;
        j.chunk_n = chunk;
        j.split_n = cdiv(g->N, chunk);
      } else {
        int min_chunk = round_up(cdiv(g->M, per_thread), kern->mr);
        if (min_chunk > 256) min_chunk = round_up(256, kern->mr);
        int chunk = round_up(cdiv(g->M, per_entry), kern->mr);
        if (chunk < min_chunk) chunk = min_chunk;
        j.chunk_m = chunk;
        j.split_m = cdiv(g->M, chunk);
      }
    }
  } else {
    threads = 1;
  }
  const int total = nb * j.split_m * j.split_n;
  if (threads > total) threads = total;
  j.work_floats = kern->work_floats(j.chunk_m < g->M ? j.chunk_m : g->M, g->N, g->K);
  if (threads > 1)
    attn_pool_run(threads, job_worker, &j);
  else
    job_worker(&j, 0, 1);
  return atomic_load(&j.failed) ? -1 : 0;
}

static void scale_c(const attn_batched_t *g) {
  for (int b = 0; b < g->batch; b++) {
    for (int i = 0; i < g->M; i++) {
      float *c = g->C + g->coff[b] + (ptrdiff_t)i * g->ldc;
      if (g->beta == 0.0f)
        memset(c, 0, (size_t)g->N * sizeof(float));
      else if (g->beta != 1.0f)
        for (int jj = 0; jj < g->N; jj++) c[jj] *= g->beta;
    }
  }
}

static int cmp_i32(const void *x, const void *y) {
  const int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
  return (a > b) - (a < b);
}

/* True if two batch entries write overlapping parts of C (e.g. broadcast C
 * offsets used to accumulate): those entries must then run one after another. */
static int c_regions_overlap(const attn_batched_t *g) {
  if (g->batch < 2) return 0;
  const int64_t span = (int64_t)(g->M - 1) * g->ldc + g->N; /* elements touched */
  int32_t stack[64];
  int32_t *o = g->batch <= 64 ? stack : (int32_t *)malloc(sizeof(int32_t) * (size_t)g->batch);
  if (!o) return 1;
  memcpy(o, g->coff, sizeof(int32_t) * (size_t)g->batch);
  qsort(o, (size_t)g->batch, sizeof(int32_t), cmp_i32);
  int overlap = 0;
  for (int b = 1; b < g->batch && !overlap; b++)
    if ((int64_t)o[b] - o[b - 1] < span) overlap = 1;
  if (o != stack) free(o);
  return overlap;
}

int attn_gemm_batched(const attn_batched_t *g) {
  if (g->batch <= 0 || g->M <= 0 || g->N <= 0) return 0;
  if (g->K == 0 || g->alpha == 0.0f) {
    scale_c(g);
    return 0;
  }
  const attn_kernel_t *kern = attn_active_kernel();
  const int threads = attn_pool_get_threads();
  if (threads > 1 && c_regions_overlap(g)) {
    for (int b = 0; b < g->batch; b++)
      if (run_batches(g, kern, b, 1, threads) != 0) return -1;
    return 0;
  }
  return run_batches(g, kern, 0, g->batch, threads);
}
