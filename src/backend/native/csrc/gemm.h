/*
 * Internal interface of the attn_native fp32 GEMM.
 *
 * Layout conventions (all indices are element indices, not bytes):
 *   A element (i,k) at a[i*ars + k*acs]     (any strides, may be 0 or negative)
 *   B element (k,j) at b[k*brs + j*bcs]     (any strides)
 *   C element (i,j) at c[i*ldc + j]         (row-major, column stride 1)
 *   C = alpha * A@B + beta * C; beta == 0 means C is only written, never read.
 */
#ifndef ATTN_GEMM_H
#define ATTN_GEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One (sub-)GEMM on a single thread. */
typedef struct {
  int m, n, k;
  int full_m, full_n; /* M, N of the whole problem: pick the path the same way
                         however it is split over threads (bitwise-stable results) */
  float alpha, beta;
  const float *a;
  ptrdiff_t ars, acs;
  const float *b;
  ptrdiff_t brs, bcs;
  float *c;
  ptrdiff_t ldc;
} attn_sub_t;

/* Per-ISA implementation table.  Everything hot (packing, macro-kernel,
 * micro-kernel, small-M kernels) lives in one translation unit per ISA so it
 * is compiled with that ISA's flags. */
typedef struct {
  const char *name;
  int mr, nr;         /* micro-tile (rows of C x columns of C) */
  int mc, kc, nc;     /* cache blocking */
  int small_m_nn;     /* M <= this and B(k,j) unit stride in j -> unpacked kernel */
  int small_m_nt;     /* M <= this and B(k,j) unit stride in k -> unpacked kernel */
  /* Floats of scratch needed by gemm() for a problem with these m, n and k. */
  size_t (*work_floats)(int m, int n, int k);
  /* Computes one sub-GEMM; work is 64-byte aligned scratch of work_floats(). */
  void (*gemm)(const attn_sub_t *p, float *work);
} attn_kernel_t;

const attn_kernel_t *attn_kernel_portable(void);
#if defined(__x86_64__)
const attn_kernel_t *attn_kernel_avx2(void);
const attn_kernel_t *attn_kernel_avx512(void);
#endif

/* ---- thread pool (threadpool.c) ---- */
typedef void (*attn_task_fn)(void *ctx, int tid, int nthreads);
/* Runs fn(ctx, tid, n) for tid in 0..n-1, tid 0 on the calling thread.  If the
 * pool is busy (another JS thread is using it) runs fn(ctx, 0, 1) only. */
void attn_pool_run(int n, attn_task_fn fn, void *ctx);
int attn_pool_get_threads(void);
void attn_pool_set_threads(int n);

/* ---- driver (gemm.c) ---- */
typedef struct {
  int M, N, K, batch;
  float alpha, beta;
  const float *A;
  const int32_t *aoff;
  ptrdiff_t ars, acs;
  const float *B;
  const int32_t *boff;
  ptrdiff_t brs, bcs;
  float *C;
  const int32_t *coff;
  ptrdiff_t ldc;
} attn_batched_t;

/* Returns 0 on success, -1 if scratch memory could not be allocated. */
int attn_gemm_batched(const attn_batched_t *g);
const attn_kernel_t *attn_active_kernel(void);
/* name: "auto", "avx512", "avx2" or "portable".  Returns the active kernel's
 * name, or NULL if the requested one is not supported on this CPU/build. */
const char *attn_select_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
