/*
 * Thread pool over shared linear memory.
 *
 * Every worker is a Web Worker / worker_thread running its own instance of
 * this module on the same memory; it calls attn_worker_main() once and stays
 * in it. The control block below is a C static, so it lives in the shared
 * memory and all instances see the same one.
 *
 * Protocol. `state` is (job sequence << 1) | open. The caller publishes a job
 * by storing an odd state; idle workers spin on it for a short while (a
 * hand-off within a training step costs about a microsecond) and then sleep
 * in memory.atomic.wait32. A worker joins by incrementing `active` and
 * re-reading `state`; only if the job is still open does it take a slot and
 * run the job, which hands out work through its own atomic counter. When the
 * caller has run out of work it closes the job (even state) and waits only for
 * `active` to drain, so a worker that is asleep or descheduled never delays
 * the caller unless it actually took work, and never touches a finished job.
 * The seq_cst increment/re-read pairs are a Dekker handshake; the same
 * pattern (`sleepers`, `caller_waiting`) decides when a notify is needed, so
 * the hot path makes no system calls.
 *
 * Without the atomics feature (the single-threaded build for pages that are
 * not cross-origin isolated) everything runs on the caller.
 */
#include "attn_wasm.h"

#ifdef __wasm_atomics__
#define LOAD(p) __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST)
#define WAIT(p, v, ns) __builtin_wasm_memory_atomic_wait32(p, v, ns)
#define NOTIFY(p, n) __builtin_wasm_memory_atomic_notify(p, n)
#else
#define LOAD(p) (*(p))
#define STORE(p, v) (*(p) = (v))
static int add_plain(int *p, int v) {
  const int old = *p;
  *p = old + v;
  return old;
}
#define ADD(p, v) add_plain(p, v)
#endif

#define LINE __attribute__((aligned(64)))

static struct {
  /* written by the caller per job, read by workers */
  LINE int state;
  int joined; /* next slot to hand out */
  int want;   /* participants wanted, caller included */
  attn_task_fn fn;
  void *ctx;
  /* written by workers */
  LINE int active;
  int ready; /* workers that entered attn_worker_main */
  int sleepers;
  /* caller-only */
  LINE int caller_waiting;
  int seq;
  int busy;
  int configured;      /* thread count asked for, caller included */
  int caller_can_wait; /* 0 on a browser's main thread, where wait traps */
  int spin_worker;     /* spin iterations before sleeping */
  int spin_caller;
} P = {.configured = 1, .spin_worker = 1 << 16, .spin_caller = 1 << 16};

int attn_fetch_add(int *p, int v) { return ADD(p, v); }

/* Thread count, spin lengths (iterations, from attn_spin_probe timings) and
 * whether the calling thread may block. */
ATTN_EXPORT(attn_pool_config)
void attn_pool_config(int threads, int spin_worker, int spin_caller, int caller_can_wait) {
  P.configured = threads < 1 ? 1 : threads > ATTN_MAX_THREADS ? ATTN_MAX_THREADS : threads;
  P.spin_worker = spin_worker;
  P.spin_caller = spin_caller;
  P.caller_can_wait = caller_can_wait;
}

ATTN_EXPORT(attn_pool_ready) int attn_pool_ready(void) { return LOAD(&P.ready); }

int attn_pool_threads(void) {
#ifdef __wasm_atomics__
  const int avail = 1 + LOAD(&P.ready);
  return P.configured < avail ? P.configured : avail;
#else
  return 1;
#endif
}

/* Spins like an idle worker does, n iterations; JS times it to turn
 * microseconds into iteration counts. */
ATTN_EXPORT(attn_spin_probe) int attn_spin_probe(int n) {
  int i = 0;
  while (i < n && LOAD(&P.state) != -1) i++;
  return i;
}

void attn_pool_run(int threads, attn_task_fn fn, void *ctx) {
#ifdef __wasm_atomics__
  if (threads > 1 && ADD(&P.busy, 1) == 0) {
    P.fn = fn;
    P.ctx = ctx;
    P.want = threads;
    STORE(&P.joined, 1);
    P.seq = (P.seq + 1) & 0x3fffffff;
    const int s = (P.seq << 1) | 1;
    STORE(&P.state, s);
    if (LOAD(&P.sleepers) > 0) NOTIFY(&P.state, (unsigned)(threads - 1));
    fn(ctx, 0);
    STORE(&P.state, s - 1); /* closed: late workers no longer join */
    for (int i = 0; LOAD(&P.active) > 0; i++) {
      if (i < P.spin_caller || !P.caller_can_wait) continue;
      STORE(&P.caller_waiting, 1);
      int a;
      while ((a = LOAD(&P.active)) > 0) WAIT(&P.active, a, 1000000);
      STORE(&P.caller_waiting, 0);
    }
    ADD(&P.busy, -1);
    return;
  }
  if (threads > 1) ADD(&P.busy, -1); /* nested call from a task: run inline */
#endif
  (void)threads;
  fn(ctx, 0);
}

#ifdef __wasm_atomics__
/* Entry point of every worker instance; never returns. */
ATTN_EXPORT(attn_worker_main) void attn_worker_main(void) {
  int seen = LOAD(&P.state);
  ADD(&P.ready, 1);
  for (;;) {
    int s = LOAD(&P.state);
    for (int i = 0; s == seen && i < P.spin_worker; i++) s = LOAD(&P.state);
    if (s == seen) {
      ADD(&P.sleepers, 1);
      while ((s = LOAD(&P.state)) == seen) WAIT(&P.state, seen, -1);
      ADD(&P.sleepers, -1);
    }
    seen = s;
    if (!(s & 1)) continue; /* a job was closed */
    ADD(&P.active, 1);
    if (LOAD(&P.state) == s) {
      const int slot = ADD(&P.joined, 1);
      if (slot < P.want) P.fn(P.ctx, slot);
    }
    if (ADD(&P.active, -1) == 1 && LOAD(&P.caller_waiting)) NOTIFY(&P.active, 1);
  }
}
#endif

/* ---- attn_parallel_for: the portable kernels' platform hook ---- */

typedef struct {
  attn_range_fn fn;
  void *ctx;
  ptrdiff_t n, chunk;
  int chunks;
  int next;
} range_job_t;

static void range_task(void *c, int slot) {
  range_job_t *r = (range_job_t *)c;
  (void)slot;
  for (;;) {
    const int i = ADD(&r->next, 1);
    if (i >= r->chunks) break;
    const ptrdiff_t b = (ptrdiff_t)i * r->chunk;
    r->fn(r->ctx, b, b + r->chunk < r->n ? b + r->chunk : r->n);
  }
}

/* fn over [0, n) in chunks of at least `grain`, about two per thread. */
void attn_parallel_for(ptrdiff_t n, ptrdiff_t grain, attn_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int t = attn_pool_threads();
  if (t <= 1 || n <= grain) {
    fn(ctx, 0, n);
    return;
  }
  ptrdiff_t chunk = (n + 2 * t - 1) / (2 * t);
  if (chunk < grain) chunk = grain;
  range_job_t r = {fn, ctx, n, chunk, (int)((n + chunk - 1) / chunk), 0};
  attn_pool_run(r.chunks < t ? r.chunks : t, range_task, &r);
}
