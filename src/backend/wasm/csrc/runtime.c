/*
 * The little of a C runtime the kernels need in a freestanding wasm build:
 * memset/memcpy/memmove (clang may emit calls to them; with bulk memory they
 * are single memory.fill/memory.copy instructions) and a zero-fill export for
 * the JS allocator.
 */
#include "attn_wasm.h"

void *memset(void *d, int c, size_t n) {
  __builtin_memset(d, c, n); /* memory.fill */
  return d;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n) {
  __builtin_memcpy(d, s, n); /* memory.copy */
  return d;
}

void *memmove(void *d, const void *s, size_t n) {
  __builtin_memmove(d, s, n); /* memory.copy handles overlap */
  return d;
}

/* Zeroes [p, p + bytes): a reused block handed out by the allocator. */
ATTN_EXPORT(attn_zero) void attn_zero(void *p, size_t bytes) { __builtin_memset(p, 0, bytes); }
