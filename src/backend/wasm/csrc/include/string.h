/* The freestanding wasm build has no libc headers; the portable kernels only
 * need these three, which runtime.c defines (as memory.fill / memory.copy). */
#ifndef ATTN_WASM_STRING_H
#define ATTN_WASM_STRING_H
#include <stddef.h>
void *memset(void *d, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
#endif
