/*
 * Internal interface of the WebAssembly kernels (attn_kernels.wasm).
 *
 * Memory model: the linear memory is owned by JavaScript (imported). JS hands
 * out tensors from it and gives every thread slot a scratch block for packing
 * (attn_set_scratch). C statics live in that same memory, so with shared
 * memory they are shared by all instances (the pool's control block relies on
 * this); per-thread state is indexed by the slot number instead of TLS.
 */
#ifndef ATTN_WASM_H
#define ATTN_WASM_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_EXPORT(name) __attribute__((export_name(#name)))
#define ATTN_MAX_THREADS 16

/* ---- thread pool (pool.c) ---- */

/* A job: fn(ctx, slot) runs on every participant; slot 0 is the caller, the
 * others get 1..threads-1 in join order. Work inside a job is shared through
 * the job's own atomic counter, so a late worker only finds less to do. */
typedef void (*attn_task_fn)(void *ctx, int slot);
void attn_pool_run(int threads, attn_task_fn fn, void *ctx);
/* Threads usable right now: min(configured, 1 + workers that are ready). */
int attn_pool_threads(void);
/* Atomic fetch-add usable in both builds (plain add without atomics). */
int attn_fetch_add(int *p, int v);

/* The platform hook of the portable kernel library (src/backend/kernels). */
typedef void (*attn_range_fn)(void *ctx, ptrdiff_t begin, ptrdiff_t end);
void attn_parallel_for(ptrdiff_t n, ptrdiff_t grain, attn_range_fn fn, void *ctx);

/* ---- per-slot scratch (gemm.c) ---- */
float *attn_scratch(int slot, size_t floats);

/* ---- GEMM kernels (gemm_kernels.c) ---- */

#define ATTN_MR 4 /* fixed: ukernel.s */
#define ATTN_NR 8
#ifndef ATTN_MC
#define ATTN_MC 64
#endif
#ifndef ATTN_KC
#define ATTN_KC 512
#endif
#ifndef ATTN_NC
#define ATTN_NC 1024
#endif
#define ATTN_SMALL_M 4 /* M <= this and a unit-stride B: unpacked kernels */
/* Scratch floats one slot needs for the packed path. */
#define ATTN_GEMM_SCRATCH ((size_t)ATTN_MC * ATTN_KC + (size_t)ATTN_KC * ATTN_NC)

/* One sub-GEMM on one thread: C = alpha * A@B + (beta ? C : 0).
 * A(i,p) = a[i*ars + p*acs], B(p,j) = b[p*brs + j*bcs], C(i,j) = c[i*ldc + j]. */
typedef struct {
  int m, n, k;
  int full_m; /* M of the whole call: picks the path the same way for every split */
  float alpha;
  int beta; /* 0 or 1 */
  const float *a;
  ptrdiff_t ars, acs;
  const float *b;
  ptrdiff_t brs, bcs;
  float *c;
  ptrdiff_t ldc;
} attn_sub_t;

/* work: ATTN_GEMM_SCRATCH floats (16-byte aligned) */
void attn_gemm_packed(const attn_sub_t *s, float *work);
/* Small M; returns 0 if this layout has no small kernel. work may be NULL
 * (or hold work_floats floats) for gathering a strided A. */
int attn_gemm_small(const attn_sub_t *s, float *work, size_t work_floats);
/* True if attn_gemm_small would take a problem with this full M and layout. */
int attn_gemm_is_small(int full_m, ptrdiff_t brs, ptrdiff_t bcs);

#endif
