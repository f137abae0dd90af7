/*
 * Persistent worker pool.
 *
 * One job at a time (a mutex serialises callers; a caller that finds the pool
 * busy, e.g. a second JS worker thread, runs its job on its own thread).
 *
 * Protocol.  `state` holds (job id << 1) | open.  The caller publishes a job by
 * storing an odd (open) state; idle workers spin on `state` for a short while
 * (cheap hand-off for back-to-back small GEMMs while decoding) and then sleep
 * on a condition variable.  A worker *joins* a job by incrementing `active` and
 * re-reading `state`; only if the job is still open does it touch the job (the
 * job pulls tasks from its own atomic counter).  When the caller has run out
 * of tasks it closes the job (even state) and waits only for `active` to drain.
 * So a worker whose vCPU is descheduled or still asleep never delays the
 * caller unless it actually took a task, and it never touches a finished job.
 * The seq_cst increment/re-read pairs are the usual Dekker handshake; the same
 * pattern (a sleepers / caller_sleeping flag) decides when a condvar signal is
 * needed, so the hot path makes no system calls.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "gemm.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_THREADS 256
/* Waiting policy for idle workers and for the caller waiting on workers:
 * PAUSE_NS of pure spinning (hand-off in ~50 ns for back-to-back calls), then
 * sched_yield() until SPIN_NS, then sleep on a condition variable.  Yielding
 * matters when the CPUs are shared with other busy processes: a pure spinner
 * competes with them (and with our own caller) for its time slice, which made
 * 2 threads slower than 1 in that situation; yielding keeps it close to 1. */
#define PAUSE_NS 3000LL
#define SPIN_NS 100000LL

static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;   /* guards sleeping */
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

static atomic_int configured; /* requested thread count (0 = not decided yet) */
static int nworkers = 0;      /* running workers (threads - 1), guarded by pool_busy */
static pthread_t workers[MAX_THREADS];
/* `state` when worker i was created: its first "last seen" value, captured by
 * the creator so a quit requested before the thread first runs is not missed. */
static unsigned worker_state0[MAX_THREADS];

static atomic_uint state;          /* (job id << 1) | open */
static atomic_int active;          /* workers inside the current job */
static atomic_int sleepers;        /* workers sleeping on job_cv */
static atomic_int caller_sleeping; /* caller sleeping on done_cv */
static atomic_int quit;
/* Written by the caller before the open state is published (release) and
 * read by workers only after they joined (acquire). */
static attn_task_fn job_fn;
static void *job_ctx;
static int job_threads;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One step of waiting; returns 0 when it is time to go to sleep. */
static int backoff(long long t0, int spins) {
  if ((spins & 31) != 0) {
    cpu_relax();
    return 1;
  }
  const long long dt = now_ns() - t0;
  if (dt > SPIN_NS) return 0;
  if (dt > PAUSE_NS) sched_yield();
  return 1;
}

static int default_threads(void) {
  const char *env = getenv("ATTN_NUM_THREADS");
  if (env && *env) {
    int n = atoi(env);
    if (n >= 1) return n > MAX_THREADS ? MAX_THREADS : n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__linux__) && defined(CPU_COUNT)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 && CPU_COUNT(&set) < n)
    n = CPU_COUNT(&set);
#endif
  if (n < 1) n = 1;
  return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* Waits until `state` differs from `seen`; returns the new state. */
static unsigned wait_state_change(unsigned seen) {
  unsigned s = atomic_load_explicit(&state, memory_order_acquire);
  if (s != seen) return s;
  const long long t0 = now_ns();
  for (int spins = 1;; spins++) {
    s = atomic_load_explicit(&state, memory_order_acquire);
    if (s != seen) return s;
    if (!backoff(t0, spins)) break;
  }
  pthread_mutex_lock(&pool_mu);
  atomic_fetch_add(&sleepers, 1);
  while ((s = atomic_load(&state)) == seen) pthread_cond_wait(&job_cv, &pool_mu);
  atomic_fetch_sub(&sleepers, 1);
  pthread_mutex_unlock(&pool_mu);
  return s;
}

static void leave_job(void) {
  if (atomic_fetch_sub(&active, 1) == 1 && atomic_load(&caller_sleeping)) {
    pthread_mutex_lock(&pool_mu);
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&pool_mu);
  }
}

static void *worker_main(void *arg) {
  const int tid = (int)(intptr_t)arg;
  unsigned seen = worker_state0[tid];
  for (;;) {
    const unsigned s = wait_state_change(seen);
    seen = s;
    if (atomic_load(&quit)) break;
    if (!(s & 1u)) continue; /* a job was closed */
    atomic_fetch_add(&active, 1);
    if (atomic_load(&state) == s && tid < job_threads) job_fn(job_ctx, tid, job_threads);
    leave_job();
  }
  return NULL;
}

static void wake_sleepers(void) {
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&pool_mu);
    pthread_cond_broadcast(&job_cv);
    pthread_mutex_unlock(&pool_mu);
  }
}

/* Caller side (pool_busy held). */
static void open_job(attn_task_fn fn, void *ctx, int n) {
  job_fn = fn;
  job_ctx = ctx;
  job_threads = n;
  const unsigned s = atomic_load(&state);
  atomic_store(&state, (((s >> 1) + 1u) << 1) | 1u); /* next job id, open */
  wake_sleepers();
}

static void close_job(void) {
  atomic_store(&state, atomic_load(&state) & ~1u);
  if (atomic_load_explicit(&active, memory_order_acquire) == 0) return;
  const long long t0 = now_ns();
  for (int spins = 1;; spins++) {
    if (atomic_load_explicit(&active, memory_order_acquire) == 0) return;
    if (!backoff(t0, spins)) break;
  }
  pthread_mutex_lock(&pool_mu);
  atomic_store(&caller_sleeping, 1);
  while (atomic_load(&active) != 0) pthread_cond_wait(&done_cv, &pool_mu);
  atomic_store(&caller_sleeping, 0);
  pthread_mutex_unlock(&pool_mu);
}

static void stop_workers(void) { /* pool_busy held */
  if (nworkers == 0) return;
  atomic_store(&quit, 1);
  atomic_fetch_add(&state, 2u);
  pthread_mutex_lock(&pool_mu);
  pthread_cond_broadcast(&job_cv);
  pthread_mutex_unlock(&pool_mu);
  for (int i = 0; i < nworkers; i++) pthread_join(workers[i], NULL);
  nworkers = 0;
  atomic_store(&quit, 0);
}

static void start_workers(int threads) { /* pool_busy held */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* workers never handle signals */
  for (int i = 1; i < threads && i <= MAX_THREADS - 1; i++) {
    worker_state0[i] = atomic_load(&state);
    if (pthread_create(&workers[nworkers], NULL, worker_main, (void *)(intptr_t)i) != 0) break;
    nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int attn_pool_get_threads(void) {
  int n = atomic_load(&configured);
  if (n == 0) {
    int expected = 0;
    n = default_threads();
    if (!atomic_compare_exchange_strong(&configured, &expected, n)) n = expected;
  }
  return n;
}

void attn_pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  pthread_mutex_lock(&pool_busy);
  if (n != atomic_load(&configured)) {
    stop_workers(); /* restarted lazily with the new size */
    atomic_store(&configured, n);
  }
  pthread_mutex_unlock(&pool_busy);
}

void attn_pool_run(int n, attn_task_fn fn, void *ctx) {
  if (n <= 1 || pthread_mutex_trylock(&pool_busy) != 0) {
    fn(ctx, 0, 1);
    return;
  }
  const int want = attn_pool_get_threads();
  if (nworkers != want - 1) {
    stop_workers();
    start_workers(want);
  }
  if (n > nworkers + 1) n = nworkers + 1;
  if (n > 1) {
    open_job(fn, ctx, n);
    fn(ctx, 0, n); /* returns when no task is left to take */
    close_job();   /* waits for workers still running a task */
  } else {
    fn(ctx, 0, 1);
  }
  pthread_mutex_unlock(&pool_busy);
}
