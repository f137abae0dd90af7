#!/bin/sh
# Builds the WebAssembly kernels from source (src/backend/wasm/csrc, plus the
# portable kernels in src/backend/kernels once they exist) with clang and
# wasm-ld (Debian: apt-get install clang lld). Two variants:
#   attn_kernels.wasm     shared memory + atomics (threads: Node, isolated pages)
#   attn_kernels_st.wasm  plain memory, single-threaded (pages without
#                         cross-origin isolation)
# Output: src/backend/wasm/*.wasm (committed), and dist/backend/wasm/ if dist/
# exists. The build is deterministic: same sources and clang, same bytes.
#   npm run build:wasm            CC=clang-15 LD=wasm-ld-15 npm run build:wasm
set -eu
export LC_ALL=C
cd "$(dirname "$0")/.."
CC=${CC:-clang}
LD=${LD:-wasm-ld}
SRC=src/backend/wasm/csrc
KER=src/backend/kernels
OUT=src/backend/wasm
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v "$CC" >/dev/null || { echo "build-wasm: $CC not found (apt-get install clang lld)" >&2; exit 1; }
command -v "$LD" >/dev/null || { echo "build-wasm: $LD not found (apt-get install lld)" >&2; exit 1; }

SOURCES="$SRC/gemm.c $SRC/gemm_kernels.c $SRC/ukernel.s $SRC/pool.c $SRC/runtime.c"
INCLUDES="-I$SRC"
if [ -f "$KER/kernels.h" ] && [ -f "$SRC/kernels_glue.c" ]; then
  SOURCES="$SOURCES $SRC/kernels_glue.c $(ls $KER/*.c | sort | tr '\n' ' ')"
  # csrc/include: a string.h for the freestanding build (no libc headers).
  INCLUDES="$INCLUDES -I$SRC/include -I$KER"
fi

CFLAGS="--target=wasm32 -O3 -msimd128 -mbulk-memory -mmutable-globals -mnontrapping-fptoint
  -msign-ext -nostdlib -ffreestanding -fno-math-errno -ffp-contract=off -Wall -Wextra
  -Wno-unused-parameter -Wno-unused-command-line-argument -DATTN_WASM=1
  -ffile-prefix-map=$PWD=."
# Exports: every function marked ATTN_EXPORT in C, plus these linker symbols.
LDFLAGS="--no-entry --import-memory --stack-first -z stack-size=65536
  --max-memory=4294967296 --export=__stack_pointer --export=__heap_base"

build() { # name, extra cflags, extra ldflags
  mkdir -p "$TMP/$1"
  objs=""
  for f in $SOURCES; do
    o="$TMP/$1/$(basename "$f" | sed 's/\.[cs]$//').o"
    # shellcheck disable=SC2086
    "$CC" $CFLAGS $2 $INCLUDES -c "$f" -o "$o"
    objs="$objs $o"
  done
  # shellcheck disable=SC2086
  "$LD" $LDFLAGS $3 $objs -o "$TMP/$1.wasm"
  cp "$TMP/$1.wasm" "$OUT/$1.wasm"
  if [ -d dist/backend ]; then mkdir -p dist/backend/wasm && cp "$TMP/$1.wasm" dist/backend/wasm/; fi
  echo "build-wasm: $OUT/$1.wasm ($(wc -c <"$TMP/$1.wasm") bytes)"
}

build attn_kernels "-matomics" "--shared-memory"
build attn_kernels_st "" ""
