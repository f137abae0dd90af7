/**
 * The WebAssembly backend (src/backend/wasm) against a float64 triple loop
 * (GEMM) and the reference backend (every other kernel): layouts, batches,
 * odd shapes, alpha/accumulate, small-M paths, 1 and 2 threads (bitwise
 * equal), the allocator (reuse, alignment, growth), fallbacks for JS-heap
 * and float64 arrays, argument checks, the single-threaded build, and that
 * idle workers neither keep Node alive nor burn CPU. A spy on the module's
 * exports proves each check ran the wasm kernel.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { before, describe, test } from "node:test";
import type {
  CrossEntropyArgs,
  MatmulOperand,
  TypedArray,
  UnaryOp,
} from "../../src/backend/backend.js";
import { BINARY_OPS, UNARY_OPS } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference/index.js";
import { sizeClass } from "../../src/backend/wasm/heap.js";
import { WasmBackend } from "../../src/backend/wasm/index.js";
import { createWasmBackend } from "../../src/backend/wasm/node.js";
import type { WasmRuntime } from "../../src/backend/wasm/runtime.js";
import { SPECIALS, assertClose, rand, referenceGemm, view } from "../helpers/kernels.js";

const calls = new Map<string, number>();

/** A backend on the same runtime whose wasm exports count their calls. */
function spied(base: WasmBackend): WasmBackend {
  const ex: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(base.runtime.exports as Record<string, unknown>)) {
    ex[k] =
      typeof f === "function"
        ? (...args: unknown[]) => {
            calls.set(k, (calls.get(k) ?? 0) + 1);
            return (f as (...a: unknown[]) => unknown)(...args);
          }
        : f;
  }
  const rt = Object.create(base.runtime, { exports: { value: ex } }) as WasmRuntime;
  return new WasmBackend(rt);
}

const base = createWasmBackend({ threads: 2 });
const wasm = spied(base);
const ref = new ReferenceBackend();

/** Runs fn and asserts it called wasm export `name`. */
function viaWasm<T>(name: string, fn: () => T): T {
  const before = calls.get(name) ?? 0;
  const r = fn();
  assert.ok((calls.get(name) ?? 0) > before, `the wasm kernel '${name}' was not called`);
  return r;
}

before(async () => {
  assert.ok(await base.whenReady(20000), `workers did not start: ${base.runtime.workerErrors}`);
  assert.equal(base.runtime.readyThreads, 2);
});

/** A copy of `src` in the wasm backend's memory. */
function inWasm<T extends Float32Array | Int32Array>(src: T, be: WasmBackend = wasm): T {
  const a = be.allocate(src instanceof Int32Array ? "int32" : "float32", src.length) as T;
  a.set(src);
  assert.ok(be.owns(a));
  return a;
}

function assertBitwise(a: Float32Array, b: Float32Array, what: string): void {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++)
    if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
}

function withThreads<T>(n: number, fn: () => T): T {
  const prev = base.getNumThreads();
  base.setNumThreads(n);
  try {
    return fn();
  } finally {
    base.setNumThreads(prev);
  }
}

// ---------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------

interface Case {
  M: number;
  N: number;
  K: number;
  transA?: boolean; // A stored K x M
  transB?: boolean; // B stored N x K
  alpha?: number;
  accumulate?: boolean;
  batch?: number;
  /** batch entries share A (resp. B) with period */
  aPeriod?: number;
  bPeriod?: number;
  /** all entries write the same C (accumulating a reduction over the batch) */
  sharedC?: boolean;
  pad?: number; // extra leading dimension
  gap?: number; // non-unit inner stride
}

interface Built {
  a: MatmulOperand;
  b: MatmulOperand;
  c: { data: Float32Array; offsets: Int32Array; ldc: number };
  C0: Float32Array;
  expected: Float64Array;
  bound: Float64Array;
}

function build(c: Case, seed: number): Built {
  const { M, N, K } = c;
  const batch = c.batch ?? 1;
  const pad = c.pad ?? 0;
  const gap = c.gap ?? 1;
  const alpha = c.alpha ?? 1;
  const aPeriod = c.aPeriod ?? batch;
  const bPeriod = c.bPeriod ?? batch;
  const aLead = (c.transA ? M : K) * gap + pad;
  const aSize = Math.max(1, (c.transA ? K : M) * aLead);
  const bLead = (c.transB ? K : N) * gap + pad;
  const bSize = Math.max(1, (c.transB ? N : K) * bLead);
  const ldc = N + pad;
  const cSize = Math.max(1, M * ldc);
  const A = inWasm(rand(aSize * aPeriod + 3, seed));
  const B = inWasm(rand(bSize * bPeriod + 5, seed + 1));
  const C = inWasm(rand(cSize * (c.sharedC ? 1 : batch) + 2, seed + 2));
  const a: MatmulOperand = {
    data: A,
    offsets: Int32Array.from({ length: batch }, (_, i) => (i % aPeriod) * aSize + 1),
    rowStride: c.transA ? gap : aLead,
    colStride: c.transA ? aLead : gap,
  };
  const b: MatmulOperand = {
    data: B,
    offsets: Int32Array.from({ length: batch }, (_, i) => (i % bPeriod) * bSize + 2),
    rowStride: c.transB ? gap : bLead,
    colStride: c.transB ? bLead : gap,
  };
  const cOff = Int32Array.from({ length: batch }, (_, i) => (c.sharedC ? 0 : i * cSize) + 1);
  const { expected, bound } = referenceGemm(
    M,
    N,
    K,
    alpha,
    A,
    a.offsets,
    a.rowStride,
    a.colStride,
    B,
    b.offsets,
    b.rowStride,
    b.colStride,
    C,
    cOff,
    ldc,
    c.accumulate ? 1 : 0,
  );
  return { a, b, c: { data: C, offsets: cOff, ldc }, C0: C.slice(), expected, bound };
}

function runGemm(c: Case, built: Built, threads: number): Float32Array {
  const C = built.c.data;
  C.set(built.C0);
  withThreads(threads, () =>
    viaWasm("attn_gemm", () =>
      wasm.matmul({
        M: c.M,
        N: c.N,
        K: c.K,
        a: built.a,
        b: built.b,
        c: built.c,
        alpha: c.alpha ?? 1,
        accumulate: c.accumulate ?? false,
      }),
    ),
  );
  const tol = 2e-6 * Math.sqrt(Math.max(c.K * (c.sharedC ? (c.batch ?? 1) : 1), 1)) + 1e-7;
  for (let i = 0; i < C.length; i++) {
    const err = Math.abs(C[i] - built.expected[i]);
    if (!(err <= tol * (built.bound[i] + Math.abs(built.expected[i])) + 1e-30)) {
      const l = `${c.transA ? "T" : "N"}${c.transB ? "T" : "N"}`;
      assert.fail(
        `${c.M}x${c.N}x${c.K} ${l} ${JSON.stringify(c)} threads=${threads}: element ${i} is ${C[i]}, expected ${built.expected[i]}`,
      );
    }
  }
  return C.slice();
}

/** Runs on 1 and 2 threads; the results must be bitwise equal. */
function checkGemm(c: Case, seed = 1): void {
  const built = build(c, seed);
  const one = runGemm(c, built, 1);
  const two = runGemm(c, built, 2);
  assertBitwise(one, two, `${JSON.stringify(c)}: 1 vs 2 threads`);
  for (const x of [built.a.data, built.b.data, built.c.data]) wasm.release(x);
}

const LAYOUTS: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

describe("wasm GEMM", () => {
  test("all layouts, odd shapes, across the MR/NR/MC/KC/NC blocking", () => {
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1],
      [5, 9, 3],
      [4, 8, 16],
      [17, 33, 65],
      [7, 1030, 20], // N > NC
      [130, 70, 300], // M > MC, K > KC
      [64, 64, 64], // threaded
      [100, 3, 40],
      [33, 129, 513],
    ];
    let seed = 1;
    for (const [M, N, K] of shapes)
      for (const [transA, transB] of LAYOUTS) checkGemm({ M, N, K, transA, transB }, seed++);
  });

  test("small M (1..4, decode): row-major B, B^T, strided A gathered, generic strides", () => {
    let seed = 100;
    for (const M of [1, 2, 3, 4])
      for (const [N, K] of [
        [1, 1],
        [7, 5],
        [33, 17],
        [768, 256],
        [100, 3],
      ])
        for (const [transA, transB] of LAYOUTS) {
          checkGemm({ M, N, K, transA, transB }, seed++);
          checkGemm({ M, N, K, transA, transB, gap: 2, pad: 3 }, seed++);
        }
  });

  test("alpha and accumulate", () => {
    let seed = 200;
    for (const alpha of [1, 0.5, -2, 0])
      for (const accumulate of [false, true])
        for (const [M, N, K] of [
          [3, 5, 7],
          [2, 64, 32],
          [70, 90, 40],
        ])
          checkGemm({ M, N, K, alpha, accumulate, transB: M === 70 }, seed++);
  });

  test("batched: separate, broadcast A or B, and one shared C accumulating over the batch", () => {
    let seed = 300;
    for (const [transA, transB] of LAYOUTS) {
      checkGemm({ M: 9, N: 11, K: 13, batch: 3, transA, transB }, seed++);
      checkGemm({ M: 32, N: 32, K: 64, batch: 8, aPeriod: 1, transA, transB }, seed++);
      checkGemm({ M: 1, N: 40, K: 64, batch: 6, bPeriod: 2, transA, transB }, seed++);
      checkGemm({ M: 40, N: 24, K: 33, batch: 5, sharedC: true, accumulate: true, transB }, seed++);
    }
  });

  test("padded leading dimensions and non-unit inner strides", () => {
    let seed = 400;
    for (const [transA, transB] of LAYOUTS) {
      checkGemm({ M: 37, N: 29, K: 41, transA, transB, pad: 5 }, seed++);
      checkGemm({ M: 37, N: 29, K: 41, transA, transB, gap: 3 }, seed++);
    }
  });

  test("K = 0 gives alpha * (empty sum): C zeroed, or unchanged when accumulating", () => {
    for (const accumulate of [false, true]) {
      const C = inWasm(rand(12, 5));
      const C0 = C.slice();
      const A = inWasm(new Float32Array(1));
      const op = { data: A, offsets: Int32Array.of(0), rowStride: 0, colStride: 1 };
      const c = { data: C, offsets: Int32Array.of(0), ldc: 4 };
      wasm.matmul({ M: 3, N: 4, K: 0, a: op, b: op, c, alpha: 1, accumulate });
      assert.deepEqual([...C], accumulate ? [...C0] : new Array(12).fill(0));
    }
  });

  test("an operand reaching outside its array throws and writes nothing", () => {
    const A = inWasm(rand(12, 1));
    const B = inWasm(rand(12, 2));
    const C = inWasm(new Float32Array(9));
    const a = { data: A, offsets: Int32Array.of(0), rowStride: 4, colStride: 1 };
    const b = { data: B, offsets: Int32Array.of(2), rowStride: 3, colStride: 1 }; // reaches 13
    assert.throws(
      () =>
        wasm.matmul({
          M: 3,
          N: 3,
          K: 4,
          a,
          b,
          c: { data: C, offsets: Int32Array.of(0), ldc: 3 },
          alpha: 1,
          accumulate: false,
        }),
      /operand B of batch entry 0/,
    );
    assert.deepEqual([...C], new Array(9).fill(0));
  });

  test("operands on the JS heap or in float64 run the reference loops", () => {
    const M = 6;
    const N = 5;
    const K = 4;
    const A = rand(M * K, 7);
    const B = rand(K * N, 8);
    const a = { data: A, offsets: Int32Array.of(0), rowStride: K, colStride: 1 };
    const b = { data: inWasm(B), offsets: Int32Array.of(0), rowStride: N, colStride: 1 };
    const C1 = inWasm(new Float32Array(M * N));
    const C2 = new Float32Array(M * N);
    const before = calls.get("attn_gemm") ?? 0;
    const c1 = { data: C1, offsets: Int32Array.of(0), ldc: N };
    wasm.matmul({ M, N, K, a, b, c: c1, alpha: 1, accumulate: false });
    assert.equal(calls.get("attn_gemm") ?? 0, before, "a JS-heap A must not reach wasm");
    const c2 = { data: C2, offsets: Int32Array.of(0), ldc: N };
    ref.matmul({ M, N, K, a, b: { ...b, data: B }, c: c2, alpha: 1, accumulate: false });
    assertBitwise(C1, C2, "JS-heap fallback");

    const A64 = wasm.allocate("float64", M * K) as Float64Array;
    assert.ok(A64 instanceof Float64Array && !wasm.owns(A64));
    A64.set(A);
    const B64 = Float64Array.from(B);
    const C64 = wasm.allocate("float64", M * N) as Float64Array;
    const op = (d: Float64Array, rs: number) => ({
      data: d,
      offsets: Int32Array.of(0),
      rowStride: rs,
      colStride: 1,
    });
    wasm.matmul({
      M,
      N,
      K,
      a: op(A64, K),
      b: op(B64, N),
      c: { data: C64, offsets: Int32Array.of(0), ldc: N },
      alpha: 1,
      accumulate: false,
    });
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
        assert.ok(Math.abs(C64[i * N + j] - s) < 1e-12);
      }
  });
});

// ---------------------------------------------------------------------------
// Allocator
// ---------------------------------------------------------------------------

describe("wasm allocator", () => {
  test("size classes: 64-byte multiples, at most 12.5% slack above 1 KiB, monotone", () => {
    let prev = 0;
    for (let bytes = 0; bytes < 1 << 20; bytes += 1 + (bytes >> 4)) {
      const c = sizeClass(bytes);
      assert.ok(c >= bytes && c % 64 === 0 && c >= prev, `class of ${bytes} is ${c}`);
      if (bytes > 1024) assert.ok(c <= bytes * 1.125, `class of ${bytes} is ${c}`);
      prev = c;
    }
  });

  test("blocks are 64-byte aligned, zero-filled, and reused after release", () => {
    const heap = base.runtime.heap;
    const a = wasm.allocate("float32", 1000) as Float32Array;
    assert.equal(a.byteOffset % 64, 0);
    assert.ok(a.every((v) => v === 0));
    a.fill(7);
    const at = a.byteOffset;
    const used = heap.usedBytes;
    wasm.release(a);
    assert.equal(heap.usedBytes, used - sizeClass(4000));
    const b = wasm.allocate("int32", 1000) as Int32Array; // same size class
    assert.equal(b.byteOffset, at, "the released block is reused");
    assert.ok(
      b.every((v) => v === 0),
      "a reused block is zeroed",
    );
    const c = wasm.allocate("float32", 990, false) as Float32Array; // same class, no zeroing asked
    assert.equal(c.length, 990);
    wasm.release(b);
    wasm.release(c);
  });

  test("growth keeps earlier arrays valid and usable by kernels", () => {
    const heap = base.runtime.heap;
    const x = inWasm(rand(4096, 3));
    const x0 = x.slice();
    const size0 = heap.byteLength;
    const big = wasm.allocate("float32", (size0 / 4) * 1.5) as Float32Array; // forces growth
    assert.ok(heap.byteLength > size0, "memory grew");
    assert.ok(wasm.owns(x) && wasm.owns(big) && x.buffer !== big.buffer);
    assert.deepEqual(x, x0);
    big[big.length - 1] = 2;
    // A GEMM across arrays from before and after the growth.
    const out = wasm.allocate("float32", 1) as Float32Array;
    const a = { data: x, offsets: Int32Array.of(0), rowStride: 4096, colStride: 1 };
    const b = { data: big, offsets: Int32Array.of(big.length - 4096), rowStride: 1, colStride: 1 };
    big.fill(1, big.length - 4096);
    viaWasm("attn_gemm", () =>
      wasm.matmul({
        M: 1,
        N: 1,
        K: 4096,
        a,
        b,
        c: { data: out, offsets: Int32Array.of(0), ldc: 1 },
        alpha: 1,
        accumulate: false,
      }),
    );
    const s = x0.reduce((p, v) => p + v, 0);
    assert.ok(Math.abs(out[0] - s) < 1e-3, `${out[0]} vs ${s}`);
    wasm.release(big);
  });

  test("the single-threaded build on a fixed plain memory falls back to JS-heap arrays when full", () => {
    const st = createWasmBackend({ singleThreaded: true, plainMemoryBytes: 8 * 2 ** 20 });
    assert.equal(st.runtime.threaded, false);
    assert.equal(st.runtime.readyThreads, 1);
    const A = inWasm(rand(64 * 48, 1), st);
    const B = inWasm(rand(48 * 40, 2), st);
    const C = st.allocate("float32", 64 * 40) as Float32Array;
    const C2 = new Float32Array(64 * 40);
    const a = { data: A, offsets: Int32Array.of(0), rowStride: 48, colStride: 1 };
    const b = { data: B, offsets: Int32Array.of(0), rowStride: 40, colStride: 1 };
    const shape = { M: 64, N: 40, K: 48, a, b, alpha: 1, accumulate: false };
    st.matmul({ ...shape, c: { data: C, offsets: Int32Array.of(0), ldc: 40 } });
    ref.matmul({ ...shape, c: { data: C2, offsets: Int32Array.of(0), ldc: 40 } });
    assertClose(C, C2, "single-threaded GEMM");
    const huge = st.allocate("float32", 4 * 2 ** 20); // 16 MiB > 8 MiB memory
    assert.ok(!st.owns(huge) && huge.length === 4 * 2 ** 20 && huge.every((v) => v === 0));
    const y = st.allocate("float32", 4 * 2 ** 20) as Float32Array;
    st.unary(
      "exp",
      { data: huge, offset: 0, shape: [huge.length], strides: [1] },
      {
        data: y,
        offset: 0,
        shape: [y.length],
        strides: [1],
      },
    );
    assert.equal(y[123], 1);
  });
});

// ---------------------------------------------------------------------------
// Non-GEMM kernels against the reference backend
// ---------------------------------------------------------------------------

/**
 * Runs `run(backend, out)` on the wasm backend (1 and 2 threads, which must
 * agree bitwise) and on the reference, and compares the outputs.
 */
function compare(
  name: string,
  outLen: number,
  run: (be: WasmBackend | ReferenceBackend, out: Float32Array) => void,
  what: string,
  rtol = 2e-6,
  atol = 1e-7,
): void {
  const want = new Float32Array(outLen);
  run(ref, want);
  const got = [1, 2].map((t) => {
    const out = wasm.allocate("float32", outLen) as Float32Array;
    withThreads(t, () => viaWasm(name, () => run(wasm, out)));
    return out;
  });
  assertBitwise(got[0], got[1], `${what}: 1 vs 2 threads`);
  assertClose(got[0], want, what, rtol, atol);
}

function geometries(rows: number, cols: number) {
  const shape = [rows, cols];
  return [
    { name: "contiguous", len: rows * cols, make: (d: TypedArray) => view(d, shape) },
    { name: "transposed", len: rows * cols, make: (d: TypedArray) => view(d, shape, [1, rows]) },
    { name: "row-broadcast", len: cols, make: (d: TypedArray) => view(d, shape, [0, 1]) },
    {
      name: "offset+padded",
      len: 3 + rows * (cols + 2),
      make: (d: TypedArray) => view(d, shape, [cols + 2, 1], 3),
    },
  ];
}

/**
 * Inputs for a unary op with special values mixed in. Left out where the
 * result at the special value is not settled: the GELUs at +-inf (inf * 0
 * inside: NaN, inf or -inf depending on how the compiler evaluates the same
 * C; see the wasm README).
 */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  const pos = op === "log" || op === "sqrt" || op === "rsqrt";
  const x = rand(n, seed, pos ? 1e-3 : -8, pos ? 50 : 8);
  const gelu = op === "gelu_tanh" || op === "gelu_erf";
  const specials = SPECIALS.filter((v) => !(gelu && (v === Infinity || v === -Infinity)));
  for (let i = 0; i < Math.min(n, specials.length); i++) x[(i * 7919) % n] = specials[i];
  return x;
}

describe("wasm kernels vs reference", () => {
  test("unary: every op, strided/broadcast views, special values, threaded sizes", () => {
    for (const op of UNARY_OPS)
      for (const [rows, cols] of [
        [1, 1],
        [3, 17],
        [300, 1024],
      ])
        for (const g of geometries(rows, cols)) {
          const x = unaryInput(op, g.len, rows + cols);
          const xw = inWasm(x);
          const shape = [rows, cols];
          compare(
            "attn_w_unary",
            rows * cols,
            (be, out) => be.unary(op, g.make(be === ref ? x : xw), view(out, shape)),
            `unary ${op} ${g.name} ${rows}x${cols}`,
            op === "neg" || op === "abs" || op === "relu" ? 0 : 2e-6,
            op === "neg" || op === "abs" || op === "relu" ? 0 : 1e-7,
          );
        }
  });

  test("unaryGrad: every op", () => {
    for (const op of UNARY_OPS)
      for (const n of [1, 37, 100003]) {
        const x = unaryInput(op, n, n);
        const y = new Float32Array(n);
        ref.unary(op, view(x, [n]), view(y, [n]));
        const dy = rand(n, n + 1);
        const [xw, yw, dyw] = [x, y, dy].map((a) => inWasm(a));
        compare(
          "attn_w_unary_grad",
          n,
          (be, out) =>
            be === ref
              ? be.unaryGrad({ op, x, y, dy, dx: out, size: n })
              : be.unaryGrad({ op, x: xw, y: yw, dy: dyw, dx: out, size: n }),
          `unaryGrad ${op} n=${n}`,
        );
      }
  });

  test("binary: every op with broadcasting; where with float and int32 conditions", () => {
    for (const op of BINARY_OPS)
      for (const [rows, cols] of [
        [2, 3],
        [300, 512],
      ]) {
        const shape = [rows, cols];
        for (const ga of geometries(rows, cols)) {
          const a = rand(ga.len, rows * 3 + 1, op === "pow" ? 0.1 : -4, 4);
          const b = rand(cols, cols, op === "pow" ? -3 : -4, 3);
          if (op === "eq" || op === "ne") b.set(a.subarray(0, Math.min(cols, a.length)));
          const [aw, bw] = [a, b].map((v) => inWasm(v));
          compare(
            "attn_w_binary",
            rows * cols,
            (be, out) =>
              be.binary(
                op,
                ga.make(be === ref ? a : aw),
                view(be === ref ? b : bw, shape, [0, 1]),
                view(out, shape),
              ),
            `binary ${op} ${ga.name} ${rows}x${cols}`,
            op === "pow" ? 2e-6 : 0,
            op === "pow" ? 1e-7 : 0,
          );
        }
      }
    for (const intCond of [false, true])
      for (const [rows, cols] of [
        [3, 5],
        [200, 700],
      ]) {
        const shape = [rows, cols];
        const c = rand(rows * cols, 9).map((v) => (v > 0 ? 1 : 0));
        const cond = intCond ? Int32Array.from(c) : c;
        const a = rand(rows * cols, 10);
        const b = rand(cols, 11);
        const [cw, aw, bw] = [cond, a, b].map((v) => inWasm(v));
        compare(
          "attn_w_where",
          rows * cols,
          (be, out) => {
            const w = be !== ref;
            be.where(
              view(w ? cw : cond, shape),
              view(w ? aw : a, shape),
              view(w ? bw : b, shape, [0, 1]),
              view(out, shape),
            );
          },
          `where ${intCond ? "int32" : "float"} ${rows}x${cols}`,
          0,
          0,
        );
      }
  });

  test("reduce: sum and max over rows, columns, everything; copy and fill", () => {
    for (const op of ["sum", "max"] as const)
      for (const [rows, cols] of [
        [3, 7],
        [600, 700],
      ]) {
        const x = rand(rows * cols, rows, -2, 2);
        const xw = inWasm(x);
        for (const [name, outLen, ost] of [
          ["rows", rows, [1, 0]],
          ["cols", cols, [0, 1]],
          ["all", 1, [0, 0]],
        ] as Array<[string, number, number[]]>) {
          const init = op === "sum" ? 0 : -Infinity;
          compare(
            "attn_w_reduce",
            outLen,
            (be, out) => {
              out.fill(init);
              be.reduce(op, view(be === ref ? x : xw, [rows, cols]), view(out, [rows, cols], ost));
            },
            `reduce ${op} ${name} ${rows}x${cols}`,
            op === "sum" ? 1e-5 : 0,
            op === "sum" ? 1e-4 : 0,
          );
        }
      }
    const shape = [300, 400];
    for (const g of geometries(300, 400)) {
      const x = rand(g.len, 3);
      const xw = inWasm(x);
      compare(
        "attn_w_copy",
        300 * 400,
        (be, out) => be.copy(g.make(be === ref ? x : xw), view(out, shape)),
        `copy ${g.name}`,
        0,
        0,
      );
    }
    const ints = inWasm(Int32Array.from({ length: 50 }, (_, i) => i * 3 - 70));
    const intOut = wasm.allocate("int32", 50) as Int32Array;
    viaWasm("attn_w_copy", () => wasm.copy(view(ints, [5, 10], [1, 5]), view(intOut, [5, 10])));
    const intRef = new Int32Array(50);
    ref.copy(view(ints, [5, 10], [1, 5]), view(intRef, [5, 10]));
    assert.deepEqual(intOut, intRef);
    compare(
      "attn_w_fill",
      300 * 402,
      (be, out) => be.fill(view(out, shape, [402, 1], 2), -1.5),
      "fill",
      0,
      0,
    );
  });

  test("softmax, log-softmax and their gradients, with fully masked rows", () => {
    for (const log of [false, true])
      for (const [rows, cols] of [
        [1, 1],
        [5, 33],
        [512, 200],
      ]) {
        const x = rand(rows * cols, cols, -6, 6);
        for (let c = 0; c < cols; c++) x[c] = -Infinity; // row 0 fully masked
        if (rows > 2) x[cols + 1] = -Infinity;
        const xw = inWasm(x);
        compare(
          "attn_w_softmax",
          rows * cols,
          (be, out) => be.softmax({ x: be === ref ? x : xw, out, rows, cols, log }),
          `softmax log=${log} ${rows}x${cols}`,
        );
        const y = new Float32Array(rows * cols);
        ref.softmax({ x, out: y, rows, cols, log });
        const dy = rand(rows * cols, 5);
        const [yw, dyw] = [y, dy].map((v) => inWasm(v));
        compare(
          "attn_w_softmax_grad",
          rows * cols,
          (be, out) =>
            be === ref
              ? be.softmaxGrad({ y, dy, dx: out, rows, cols, log })
              : be.softmaxGrad({ y: yw, dy: dyw, dx: out, rows, cols, log }),
          `softmaxGrad log=${log} ${rows}x${cols}`,
          1e-5,
          1e-6,
        );
      }
  });

  test("layerNorm forward and backward (dgamma/dbeta accumulate)", () => {
    for (const [rows, cols] of [
      [1, 7],
      [3, 256],
      [2048, 256],
    ]) {
      const x = rand(rows * cols, rows, -3, 3);
      const g = rand(cols, 2, 0.5, 1.5);
      const b = rand(cols, 3);
      const [xw, gw, bw] = [x, g, b].map((v) => inWasm(v));
      // out, mean, rstd packed into one output for compare()
      compare(
        "attn_w_layer_norm",
        rows * cols + 2 * rows,
        (be, all) => {
          const w = be !== ref;
          const out = all.subarray(0, rows * cols);
          const mean = all.subarray(rows * cols, rows * cols + rows);
          const rstd = all.subarray(rows * cols + rows);
          be.layerNorm({
            x: w ? xw : x,
            gamma: w ? gw : g,
            beta: w ? bw : b,
            out,
            mean,
            rstd,
            rows,
            cols,
            eps: 1e-5,
          });
        },
        `layerNorm ${rows}x${cols}`,
        1e-5,
        1e-5,
      );
      const mean = new Float32Array(rows);
      const rstd = new Float32Array(rows);
      ref.layerNorm({
        x,
        gamma: g,
        beta: b,
        out: new Float32Array(rows * cols),
        mean,
        rstd,
        rows,
        cols,
        eps: 1e-5,
      });
      const dy = rand(rows * cols, 4);
      const [mw, rw, dyw] = [mean, rstd, dy].map((v) => inWasm(v));
      compare(
        "attn_w_layer_norm_grad",
        rows * cols + 2 * cols,
        (be, all) => {
          const w = be !== ref;
          const dx = all.subarray(0, rows * cols);
          const dg = all.subarray(rows * cols, rows * cols + cols);
          const db = all.subarray(rows * cols + cols);
          dg.fill(0.25); // accumulated into
          db.fill(-0.5);
          be.layerNormGrad({
            dy: w ? dyw : dy,
            x: w ? xw : x,
            gamma: w ? gw : g,
            mean: w ? mw : mean,
            rstd: w ? rw : rstd,
            dx,
            dgamma: dg,
            dbeta: db,
            rows,
            cols,
          });
        },
        `layerNormGrad ${rows}x${cols}`,
        2e-5,
        2e-4,
      );
    }
  });

  test("gather and scatterAdd (repeated ids add up); bad ids throw", () => {
    const vocab = 50;
    const cols = 96;
    const rows = 700;
    const table = rand(vocab * cols, 1);
    const ids = Int32Array.from({ length: rows + 3 }, (_, i) => (i * 7) % vocab);
    const [tw, iw] = [table, ids].map((v) => inWasm(v as Float32Array | Int32Array));
    compare(
      "attn_w_gather",
      rows * cols,
      (be, out) =>
        be === ref
          ? be.gather({ table, ids, idsOffset: 3, out, rows, cols })
          : be.gather({
              table: tw as Float32Array,
              ids: iw as Int32Array,
              idsOffset: 3,
              out,
              rows,
              cols,
            }),
      "gather",
      0,
      0,
    );
    const dy = rand(rows * cols, 2);
    const dyw = inWasm(dy);
    compare(
      "attn_w_scatter_add",
      vocab * cols,
      (be, out) => {
        out.fill(0.5);
        if (be === ref) be.scatterAdd({ dy, ids, idsOffset: 3, dtable: out, rows, cols });
        else
          be.scatterAdd({ dy: dyw, ids: iw as Int32Array, idsOffset: 3, dtable: out, rows, cols });
      },
      "scatterAdd",
      1e-6,
      1e-6,
    );
    const bad = inWasm(Int32Array.of(1, vocab));
    const out = wasm.allocate("float32", 2 * cols) as Float32Array;
    assert.throws(
      () => wasm.gather({ table: tw as Float32Array, ids: bad, idsOffset: 0, out, rows: 2, cols }),
      /row 1 is out of range/,
    );
  });

  test("crossEntropy with label smoothing and ignored targets; adam", () => {
    for (const [rows, cols] of [
      [3, 5],
      [256, 8000],
    ])
      for (const smoothing of [0, 0.1])
        for (const withGrad of [false, true]) {
          const z = rand(rows * cols + 4, cols, -5, 5);
          const t = Int32Array.from({ length: rows + 1 }, (_, i) =>
            i % 5 === 0 ? 0 : (i * 31) % cols,
          );
          const [zw, tw] = [z, t].map((v) => inWasm(v as Float32Array | Int32Array));
          compare(
            "attn_w_cross_entropy",
            rows + (withGrad ? rows * cols : 0),
            (be, all) => {
              const w = be !== ref;
              const args: CrossEntropyArgs = {
                logits: w ? (zw as Float32Array) : z,
                logitsOffset: 4,
                targets: w ? (tw as Int32Array) : t,
                targetsOffset: 1,
                rows,
                cols,
                ignoreIndex: 0,
                smoothing,
                rowLoss: all.subarray(0, rows),
                dlogits: withGrad ? all.subarray(rows) : null,
              };
              be.crossEntropy(args);
            },
            `crossEntropy ${rows}x${cols} eps=${smoothing} grad=${withGrad}`,
            1e-5,
            1e-6,
          );
        }
    for (const weightDecay of [0, 0.01]) {
      const n = 100001;
      const p = rand(n, 1);
      const g = rand(n, 2);
      const m = rand(n, 3, -0.1, 0.1);
      const v = rand(n, 4, 0, 0.01);
      const [gw, mw, vw] = [g, m, v].map((a) => inWasm(a));
      compare(
        "attn_w_adam",
        3 * n,
        (be, all) => {
          const w = be !== ref;
          const pp = all.subarray(0, n);
          const mm = all.subarray(n, 2 * n);
          const vv = all.subarray(2 * n);
          pp.set(p);
          mm.set(w ? mw : m);
          vv.set(w ? vw : v);
          be.adam({
            param: pp,
            grad: w ? gw : g,
            m: mm,
            v: vv,
            size: n,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-9,
            weightDecay,
            step: 7,
          });
        },
        `adam wd=${weightDecay}`,
        1e-5,
        1e-7,
      );
    }
  });

  test("dropout: the same mask as the reference for any state, offset and p", () => {
    for (const [n, p, state] of [
      [1, 0.5, 0],
      [37, 0.1, -123456789],
      [300001, 0.3, 987654321],
      [1000, 0, 5],
      [1000, 1, 5],
    ]) {
      const x = rand(n + 3, n);
      const xw = inWasm(x);
      const scale = p < 1 ? 1 / (1 - p) : 0;
      compare(
        "attn_w_dropout",
        n,
        (be, out) =>
          be.dropout({ x: be === ref ? x : xw, xOffset: 3, out, size: n, state, p, scale }),
        `dropout n=${n} p=${p}`,
        2.5e-7, // the C kernel scales by a float, the reference by a double: 1 ulp
        0,
      );
    }
  });

  test("kernels with JS-heap operands run the reference instead", () => {
    const x = rand(64, 1);
    const out = new Float32Array(64);
    const before = calls.get("attn_w_softmax") ?? 0;
    wasm.softmax({ x, out, rows: 8, cols: 8, log: false });
    assert.equal(calls.get("attn_w_softmax") ?? 0, before);
    const want = new Float32Array(64);
    ref.softmax({ x, out: want, rows: 8, cols: 8, log: false });
    assertBitwise(out, want, "JS-heap softmax");
    const o2 = wasm.allocate("float32", 64) as Float32Array;
    wasm.binary("add", view(x, [64]), view(inWasm(x), [64]), view(o2, [64])); // mixed: reference
    assertBitwise(
      o2,
      Float32Array.from(x, (v) => v + v),
      "mixed binary",
    );
  });
});

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

describe("wasm threads", () => {
  test("workers neither keep Node alive nor spin when idle", () => {
    const script = `
      import { createWasmBackend } from "./src/backend/wasm/node.ts";
      const be = createWasmBackend({ threads: 2 });
      if (!(await be.whenReady(20000))) throw new Error("workers did not start");
      const a = be.allocate("float32", 256 * 256);
      const op = { data: a, offsets: Int32Array.of(0), rowStride: 256, colStride: 1 };
      const c = { data: be.allocate("float32", 256 * 256), offsets: Int32Array.of(0), ldc: 256 };
      be.matmul({ M: 256, N: 256, K: 256, a: op, b: op, c, alpha: 1, accumulate: false });
      await new Promise((r) => setTimeout(r, 50));
      const u0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 300));
      const u = process.cpuUsage(u0);
      console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000 }));
    `;
    const t0 = Date.now();
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: new URL("../..", import.meta.url).pathname,
        timeout: 60000,
        encoding: "utf8",
      },
    );
    const { cpuMs } = JSON.parse(out.trim().split("\n").pop() as string);
    // Idle for 300 ms: the workers must be asleep, not spinning (which would be ~300 ms each).
    assert.ok(cpuMs < 100, `idle CPU time ${cpuMs} ms`);
    assert.ok(Date.now() - t0 < 60000);
  });

  test("close() stops the workers; kernels keep working on the caller", async () => {
    const be = createWasmBackend({ threads: 2 });
    assert.ok(await be.whenReady(20000));
    const A = inWasm(rand(64 * 64, 1), be);
    const op = { data: A, offsets: Int32Array.of(0), rowStride: 64, colStride: 1 };
    const C1 = be.allocate("float32", 64 * 64) as Float32Array;
    const shape = { M: 64, N: 64, K: 64, a: op, b: op, alpha: 1, accumulate: false };
    be.matmul({ ...shape, c: { data: C1, offsets: Int32Array.of(0), ldc: 64 } });
    be.close();
    assert.equal(be.getNumThreads(), 1);
    be.setNumThreads(2);
    assert.equal(be.getNumThreads(), 1, "no threads after close()");
    const C2 = be.allocate("float32", 64 * 64) as Float32Array;
    be.matmul({ ...shape, c: { data: C2, offsets: Int32Array.of(0), ldc: 64 } });
    assertBitwise(C1, C2, "after close()");
  });

  test("thread count: settable, default from ATTN_NUM_THREADS", () => {
    const prev = process.env.ATTN_NUM_THREADS;
    process.env.ATTN_NUM_THREADS = "1";
    try {
      const be = createWasmBackend();
      assert.equal(be.getNumThreads(), 1);
      be.setNumThreads(3);
      assert.equal(be.getNumThreads(), 3);
      assert.throws(() => be.setNumThreads(0), RangeError);
    } finally {
      if (prev === undefined) delete process.env.ATTN_NUM_THREADS;
      else process.env.ATTN_NUM_THREADS = prev;
    }
  });
});
