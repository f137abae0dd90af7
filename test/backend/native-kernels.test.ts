/**
 * The native (C) kernels against the reference TypeScript kernels, for every
 * kernel NativeBackend overrides: random inputs of several shapes (odd sizes,
 * broadcast and strided views, masked rows, ignored targets, repeated ids,
 * sizes large enough for the multi-threaded path), special values, argument
 * validation, thread-count independence, and the float64 fallback. A spy on
 * the addon proves each check really ran the C kernel. Skipped when the addon
 * is not built (`npm run build:native`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Backend, BinaryOp, UnaryOp, View } from "../../src/backend/backend.js";
import {
  BINARY_OPS,
  loadNativeAddon,
  type NativeAddon,
  UNARY_OPS,
} from "../../src/backend/native/addon.js";
import { NativeBackend } from "../../src/backend/native/index.js";
import { ReferenceBackend } from "../../src/backend/reference/index.js";
import { contiguousStrides } from "../../src/tensor/shape.js";
import { fusedKernelTests, randInt } from "../helpers/fused-kernels.js";
import { SPECIALS, assertClose, rand, view } from "../helpers/kernels.js";

const addon = loadNativeAddon();
const skip = addon === null ? "attn_native addon not built (npm run build:native)" : false;

/** Calls of each addon function made through spied() addons. */
const calls = new Map<string, number>();

/** The addon with every function wrapped to count its calls (optionally some replaced). */
function spied(a: NativeAddon, replace: Record<string, unknown> = {}): NativeAddon {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(a as unknown as Record<string, unknown>)) {
    const impl = (replace[k] ?? f) as (...args: unknown[]) => unknown;
    out[k] = (...args: unknown[]) => {
      calls.set(k, (calls.get(k) ?? 0) + 1);
      return impl(...args);
    };
  }
  return out as unknown as NativeAddon;
}

const ref = new ReferenceBackend();
const nat = addon ? new NativeBackend(spied(addon)) : (null as unknown as NativeBackend);

/** Runs fn and asserts it called addon function `name` at least once. */
function viaC<T>(name: string, fn: () => T): T {
  const before = calls.get(name) ?? 0;
  const r = fn();
  assert.ok((calls.get(name) ?? 0) > before, `the C kernel '${name}' was not called`);
  return r;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const UNARY_RTOL: Partial<Record<UnaryOp, number>> = { neg: 0, abs: 0, relu: 0 };

/** Domain-appropriate inputs for a unary op, with special values mixed in. */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  const positive = op === "log" || op === "sqrt" || op === "rsqrt";
  const x = rand(n, seed, positive ? 1e-3 : -8, positive ? 50 : 8);
  for (let i = 0; i < Math.min(n, SPECIALS.length); i++) x[(i * 7919) % n] = SPECIALS[i];
  return x;
}

/** Geometries over one logical shape: contiguous, transposed (strided), broadcast, offset. */
interface Geometry {
  name: string;
  shape: number[];
  make: (data: Float32Array) => View;
  len: number;
}

function geometries(rows: number, cols: number): Geometry[] {
  const shape = [rows, cols];
  return [
    { name: `contiguous ${rows}x${cols}`, shape, len: rows * cols, make: (d) => view(d, shape) },
    {
      name: `transposed ${rows}x${cols}`,
      shape,
      len: rows * cols,
      make: (d) => view(d, shape, [1, rows]),
    },
    {
      name: `row-broadcast ${rows}x${cols}`,
      shape,
      len: cols,
      make: (d) => view(d, shape, [0, 1]),
    },
    {
      name: `offset+padded ${rows}x${cols}`,
      shape,
      len: 3 + rows * (cols + 2),
      make: (d) => view(d, shape, [cols + 2, 1], 3),
    },
  ];
}

describe("native kernels vs reference", { skip }, () => {
  test("unary: every op, strided/broadcast views, special values, threaded sizes", () => {
    for (const op of UNARY_OPS) {
      for (const [rows, cols] of [
        [1, 1],
        [3, 17],
        [33, 65],
        [300, 1024],
      ]) {
        for (const g of geometries(rows, cols)) {
          const x = unaryInput(op, g.len, rows * 31 + cols);
          const o1 = new Float32Array(rows * cols);
          const o2 = new Float32Array(rows * cols);
          viaC("unary", () => nat.unary(op, g.make(x), view(o1, g.shape)));
          ref.unary(op, g.make(x), view(o2, g.shape));
          assertClose(o1, o2, `unary ${op} ${g.name}`, UNARY_RTOL[op] ?? 2e-6, 1e-7);
        }
      }
    }
  });

  test("unaryGrad: every op", () => {
    for (const op of UNARY_OPS) {
      for (const n of [1, 37, 1000, 300001]) {
        const x = unaryInput(op, n, n + 5);
        const y = new Float32Array(n);
        ref.unary(op, view(x, [n]), view(y, [n]));
        const dy = rand(n, n + 7);
        const d1 = new Float32Array(n);
        const d2 = new Float32Array(n);
        viaC("unaryGrad", () => nat.unaryGrad({ op, x, y, dy, dx: d1, size: n }));
        ref.unaryGrad({ op, x, y, dy, dx: d2, size: n });
        assertClose(d1, d2, `unaryGrad ${op} n=${n}`, 2e-6, 1e-7);
      }
    }
  });

  /** a op b on broadcast views of `shape`, both backends. */
  function checkBinary(op: BinaryOp, a: View, b: View, shape: number[], what: string): void {
    const o1 = new Float32Array(size(shape));
    const o2 = new Float32Array(size(shape));
    viaC("binary", () => nat.binary(op, a, b, view(o1, shape)));
    ref.binary(op, a, b, view(o2, shape));
    assertClose(o1, o2, `binary ${op} ${what}`, op === "pow" ? 2e-6 : 0, op === "pow" ? 1e-7 : 0);
  }

  test("binary: every op, contiguous / bias / scalar / general strided, threaded sizes", () => {
    for (const op of BINARY_OPS) {
      const lo = op === "pow" ? 0.01 : -3;
      // Few distinct values so comparisons see ties.
      const q = (v: Float32Array) => (op === "pow" ? v : v.map((t) => Math.round(t * 2) / 2));
      for (const [r, c] of [
        [1, 1],
        [5, 19],
        [64, 33],
        [513, 257],
      ]) {
        const a = q(rand(r * c, r + c, lo, 3));
        const b = q(rand(r * c, r * c + 1, op === "pow" ? -3 : lo, 3));
        checkBinary(op, view(a, [r, c]), view(b, [r, c]), [r, c], `${r}x${c}`);
        // bias: b is [c] broadcast over rows, and the mirror image
        checkBinary(op, view(a, [r, c]), view(b, [r, c], [0, 1]), [r, c], `bias ${r}x${c}`);
        checkBinary(op, view(b, [r, c], [0, 1]), view(a, [r, c]), [r, c], `rev-bias ${r}x${c}`);
        // scalars on either side
        checkBinary(op, view(a, [r, c]), view(b, [r, c], [0, 0], 2 % b.length), [r, c], "scalar b");
        checkBinary(op, view(a, [r, c], [0, 0], 1 % a.length), view(b, [r, c]), [r, c], "scalar a");
        // transposed a, column-broadcast b
        checkBinary(op, view(a, [c, r], [1, c]), view(b, [c, r], [1, 0]), [c, r], "strided");
      }
      // rank 5: [2,3,1,4,5] with a permuted and b broadcast over two dims
      const shape = [2, 3, 1, 4, 5];
      const a = q(rand(120, 3, lo, 3));
      const b = q(rand(15, 4, op === "pow" ? -3 : lo, 3));
      checkBinary(
        op,
        view(a, shape, [1, 2, 0, 30, 6]),
        view(b, shape, [0, 5, 0, 0, 1]),
        shape,
        "rank 5",
      );
    }
    // in place (out is a), as the ops layer scales gradients
    for (const op of ["mul", "add"] as const) {
      const [r, c] = [300, 301];
      const a1 = rand(r * c, 1);
      const a2 = a1.slice();
      const b = rand(c, 2);
      viaC("binary", () =>
        nat.binary(op, view(a1, [r, c]), view(b, [r, c], [0, 1]), view(a1, [r, c])),
      );
      ref.binary(op, view(a2, [r, c]), view(b, [r, c], [0, 1]), view(a2, [r, c]));
      assertClose(a1, a2, `binary ${op} in place`, 0, 0);
    }
    // special values, every pair
    const s = Float32Array.from(SPECIALS.concat([2, -2, 3, -1, 1]));
    const n = s.length;
    for (const op of BINARY_OPS) {
      checkBinary(op, view(s, [n, n], [1, 0]), view(s, [n, n], [0, 1]), [n, n], "specials");
    }
  });

  test("binary on int32: JavaScript's results (wrap, rounding, truncation, x/0 = 0)", () => {
    const edge = [0, 1, -1, 2, -2, 7, -7, 3, 46341, -46341, 2147483647, -2147483648, 123456789];
    const n = edge.length;
    const e = Int32Array.from(edge);
    const r = Int32Array.from(rand(600 * 70, 9, -1e9, 1e9), Math.trunc);
    for (const op of BINARY_OPS) {
      if (op === "pow") continue;
      const o1 = new Int32Array(n * n);
      const o2 = new Int32Array(n * n);
      const a = view(e, [n, n], [1, 0]);
      const b = view(e, [n, n], [0, 1]);
      viaC("binary", () => nat.binary(op, a, b, view(o1, [n, n])));
      ref.binary(op, a, b, view(o2, [n, n]));
      assert.deepEqual(o1, o2, `int32 ${op} edge values`);
      const p1 = new Int32Array(600 * 70);
      const p2 = new Int32Array(600 * 70);
      const ra = view(r, [600, 70]);
      const rb = view(r, [600, 70], [0, 1], 5);
      viaC("binary", () => nat.binary(op, ra, rb, view(p1, [600, 70])));
      ref.binary(op, ra, rb, view(p2, [600, 70]));
      assert.deepEqual(p1, p2, `int32 ${op} random`);
    }
  });

  test("where: float and int32 conditions, maskedFill pattern, broadcast masks", () => {
    for (const [B, T] of [
      [1, 1],
      [3, 17],
      [8, 128],
    ]) {
      const shape = [B, T, T];
      const x = rand(B * T * T, T);
      const condF = rand(T * T, T + 1).map((v) => (v > 0.3 ? 1 : v < -0.9 ? -0 : 0));
      if (condF.length > 2) condF[1] = NaN; // NaN counts as non-zero, like JS
      const condI = Int32Array.from(condF, (v) => (Number.isNaN(v) ? 5 : v));
      const negInf = Float32Array.of(-Infinity);
      for (const cond of [condF, condI]) {
        const cv = view(cond, shape, [0, T, 1]);
        const cases: [View, View][] = [
          [view(negInf, shape, [0, 0, 0]), view(x, shape)],
          [view(x, shape), view(negInf, shape, [0, 0, 0])],
          [view(x, shape), view(rand(B * T * T, 9), shape)],
          [view(x, shape, [T * T, 1, T]), view(x, shape)],
        ];
        for (const [a, b] of cases) {
          const o1 = new Float32Array(B * T * T);
          const o2 = new Float32Array(B * T * T);
          viaC("where", () => nat.where(cv, a, b, view(o1, shape)));
          ref.where(cv, a, b, view(o2, shape));
          assertClose(o1, o2, `where ${B}x${T}x${T} ${cond.constructor.name}`, 0, 0);
        }
        // condition that varies along the inner dim only per row (stride 0 inner)
        const o1 = new Float32Array(B * T * T);
        const o2 = new Float32Array(B * T * T);
        const cRow = view(cond, shape, [0, 1, 0]);
        viaC("where", () =>
          nat.where(cRow, view(x, shape), view(negInf, shape, [0, 0, 0]), view(o1, shape)),
        );
        ref.where(cRow, view(x, shape), view(negInf, shape, [0, 0, 0]), view(o2, shape));
        assertClose(o1, o2, "where row condition", 0, 0);
      }
    }
  });

  test("reduce: sum/max over inner, outer, all and middle axes; accumulation; NaN", () => {
    for (const op of ["sum", "max"] as const) {
      for (const [A, Bd, C] of [
        [1, 1, 1],
        [3, 5, 7],
        [4, 33, 65],
        [2, 1024, 300],
        [1, 3000, 700],
      ]) {
        const shape = [A, Bd, C];
        const x = rand(A * Bd * C, A + Bd + C, -2, 2);
        if (op === "max" && x.length > 40) x[37] = NaN;
        // reduced axes -> out shape with 1s, and the stride-0 out view over x's shape
        for (const axes of [[2], [0, 1], [0, 1, 2], [1], [0, 2], [0]]) {
          const oshape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const ost = contiguousStrides(oshape).map((s, i) => (axes.includes(i) ? 0 : s));
          const init = rand(size(oshape), 99, -1, 1); // running values: kernels accumulate
          const o1 = init.slice();
          const o2 = init.slice();
          viaC("reduce", () => nat.reduce(op, view(x, shape), view(o1, shape, ost)));
          ref.reduce(op, view(x, shape), view(o2, shape, ost));
          const n = axes.reduce((p, a) => p * shape[a], 1);
          // float sums in another order: error grows with the count
          assertClose(
            o1,
            o2,
            `reduce ${op} [${shape}] axes ${axes}`,
            2e-6,
            op === "sum" ? 2e-7 * n : 0,
          );
        }
      }
    }
  });

  test("copy: head split/merge permutes, transposes, int32, broadcast source", () => {
    for (const [B, T, H, D] of [
      [1, 1, 1, 1],
      [2, 7, 3, 5],
      [4, 64, 8, 32],
    ]) {
      const n = B * T * H * D;
      const x = rand(n, n);
      // [B,T,H,D] storage viewed as [B,H,T,D], and the inverse
      const perms: [number[], number[]][] = [
        [
          [B, H, T, D],
          [T * H * D, D, H * D, 1],
        ],
        [
          [B, T, H, D],
          [H * T * D, D, T * D, 1],
        ],
        [
          [B, T, D, H],
          [T * H * D, H * D, 1, D],
        ],
      ];
      for (const [shape, st] of perms) {
        const o1 = new Float32Array(n);
        const o2 = new Float32Array(n);
        viaC("copy", () => nat.copy(view(x, shape, st), view(o1, shape)));
        ref.copy(view(x, shape, st), view(o2, shape));
        assertClose(o1, o2, `copy [${shape}]`, 0, 0);
        // and into a strided destination
        const p1 = new Float32Array(n);
        const p2 = new Float32Array(n);
        viaC("copy", () => nat.copy(view(x, shape), view(p1, shape, st)));
        ref.copy(view(x, shape), view(p2, shape, st));
        assertClose(p1, p2, `copy into [${shape}]`, 0, 0);
      }
      const xi = Int32Array.from(x, (v) => Math.round(v * 1e6));
      const i1 = new Int32Array(n);
      const i2 = new Int32Array(n);
      viaC("copy", () => nat.copy(view(xi, [B, H, T, D], perms[0][1]), view(i1, [B, H, T, D])));
      ref.copy(view(xi, [B, H, T, D], perms[0][1]), view(i2, [B, H, T, D]));
      assert.deepEqual(i1, i2);
      const b1 = new Float32Array(n);
      const b2 = new Float32Array(n);
      viaC("copy", () => nat.copy(view(x, [B * T, H * D], [0, 1]), view(b1, [B * T, H * D])));
      ref.copy(view(x, [B * T, H * D], [0, 1]), view(b2, [B * T, H * D]));
      assertClose(b1, b2, "copy broadcast", 0, 0);
    }
  });

  test("copy and binary with a transposed operand (the tiled walk)", () => {
    // [2, 70, 3, 67] read from storage [2, 3, 67, 70]: contiguous along dim 1, not the last
    const shape = [2, 70, 3, 67];
    const st = [3 * 67 * 70, 1, 67 * 70, 70];
    const n = size(shape);
    const x = rand(n, 3);
    const o1 = new Float32Array(n);
    const o2 = new Float32Array(n);
    viaC("copy", () => nat.copy(view(x, shape, st), view(o1, shape)));
    ref.copy(view(x, shape, st), view(o2, shape));
    assertClose(o1, o2, "tiled copy", 0, 0);
    const b = rand(67, 4);
    viaC("binary", () =>
      nat.binary("sub", view(x, shape, st), view(b, shape, [0, 0, 0, 1]), view(o1, shape)),
    );
    ref.binary("sub", view(x, shape, st), view(b, shape, [0, 0, 0, 1]), view(o2, shape));
    assertClose(o1, o2, "tiled binary", 0, 0);
    // a weight transpose, [1000, 257] from [257, 1000]
    const w = rand(257 * 1000, 5);
    const t1 = new Float32Array(w.length);
    const t2 = new Float32Array(w.length);
    viaC("copy", () => nat.copy(view(w, [1000, 257], [1, 1000]), view(t1, [1000, 257])));
    ref.copy(view(w, [1000, 257], [1, 1000]), view(t2, [1000, 257]));
    assertClose(t1, t2, "transpose copy", 0, 0);
  });

  test("fill: contiguous and strided", () => {
    for (const [r, c] of [
      [1, 1],
      [5, 9],
      [400, 300],
    ]) {
      const o1 = rand(r * c * 2, 1);
      const o2 = o1.slice();
      viaC("fill", () => nat.fill(view(o1, [r, c], [2 * c, 2], 1), -2.5));
      ref.fill(view(o2, [r, c], [2 * c, 2], 1), -2.5);
      assertClose(o1, o2, "fill strided", 0, 0);
      viaC("fill", () => nat.fill(view(o1, [r * c]), 7));
      ref.fill(view(o2, [r * c]), 7);
      assertClose(o1, o2, "fill", 0, 0);
    }
  });

  fusedKernelTests(() => nat, viaC);

  test("gather and scatterAdd with repeated ids and an ids offset", () => {
    for (const [V, rows, cols] of [
      [1, 1, 1],
      [5, 17, 7],
      [50, 4096, 64],
      [3, 2000, 33],
    ]) {
      const table = rand(V * cols, V);
      const ids = Int32Array.of(0, 0, ...randInt(rows, rows, V)); // offset 2
      const g1 = new Float32Array(rows * cols);
      const g2 = new Float32Array(rows * cols);
      viaC("gather", () => nat.gather({ table, ids, idsOffset: 2, out: g1, rows, cols }));
      ref.gather({ table, ids, idsOffset: 2, out: g2, rows, cols });
      assertClose(g1, g2, `gather ${V}/${rows}x${cols}`, 0, 0);
      const dy = rand(rows * cols, 4);
      const t1 = rand(V * cols, 8);
      const t2 = t1.slice();
      viaC("scatterAdd", () => nat.scatterAdd({ dy, ids, idsOffset: 2, dtable: t1, rows, cols }));
      ref.scatterAdd({ dy, ids, idsOffset: 2, dtable: t2, rows, cols });
      assertClose(t1, t2, `scatterAdd ${V}/${rows}x${cols}`, 1e-6, 1e-6);
    }
  });

  test("biasAct: act(x + bias) for every activation and none", () => {
    for (const act of [...UNARY_OPS, "identity" as const]) {
      for (const [rows, cols] of [
        [1, 1],
        [7, 33],
        [256, 512],
      ]) {
        const x = rand(rows * cols, rows, -4, 4).map((v) => (act === "log" ? Math.abs(v) : v));
        const bias = rand(cols, 2, 0, 1);
        const o1 = new Float32Array(rows * cols);
        viaC("biasAct", () => nat.biasAct(act, x, bias, o1, rows, cols));
        const sum = new Float32Array(rows * cols);
        ref.binary(
          "add",
          view(x, [rows, cols]),
          view(bias, [rows, cols], [0, 1]),
          view(sum, [rows, cols]),
        );
        const o2 = sum.slice();
        if (act !== "identity") ref.unary(act, view(sum, [rows, cols]), view(o2, [rows, cols]));
        assertClose(o1, o2, `biasAct ${act} ${rows}x${cols}`, 2e-6, 1e-7);
      }
    }
  });

  test("results do not depend on the thread count", () => {
    const threads = addon!.getNumThreads();
    const run = () => {
      const x = rand(600 * 1000, 1, -5, 5);
      const y = new Float32Array(x.length);
      nat.softmax({ x, out: y, rows: 600, cols: 1000, log: false });
      const s = new Float32Array(1000);
      nat.reduce("sum", view(x, [600, 1000]), view(s, [600, 1000], [0, 1]));
      const t = new Float32Array(1);
      nat.reduce("sum", view(x, [x.length]), view(t, [x.length], [0]));
      const loss = new Float32Array(600);
      const dl = new Float32Array(x.length);
      const targets = randInt(600, 3, 1000);
      nat.crossEntropy({
        logits: x,
        logitsOffset: 0,
        targets,
        targetsOffset: 0,
        rows: 600,
        cols: 1000,
        ignoreIndex: -1,
        smoothing: 0.1,
        rowLoss: loss,
        dlogits: dl,
      });
      const dt = new Float32Array(50 * 1000);
      nat.scatterAdd({
        dy: x,
        ids: randInt(600, 4, 50),
        idsOffset: 0,
        dtable: dt,
        rows: 600,
        cols: 1000,
      });
      return [y, s, t, loss, dl, dt];
    };
    try {
      addon!.setNumThreads(1);
      const one = run();
      addon!.setNumThreads(Math.max(2, threads));
      const many = run();
      for (let i = 0; i < one.length; i++) assert.deepEqual(one[i], many[i], `output ${i}`);
    } finally {
      addon!.setNumThreads(threads);
    }
  });

  test("float64 and int32 pow fall back to the reference kernels", () => {
    const before = [...calls.values()].reduce((a, b) => a + b, 0);
    const x = Float64Array.from(rand(64, 1));
    const y = new Float64Array(64);
    nat.softmax({ x, out: y, rows: 8, cols: 8, log: false });
    const y2 = new Float64Array(64);
    ref.softmax({ x, out: y2, rows: 8, cols: 8, log: false });
    assert.deepEqual(y, y2);
    const i = Int32Array.of(1, 2, 3);
    const o = new Int32Array(3);
    nat.binary("pow", view(i, [3]), view(i, [3]), view(o, [3]));
    assert.deepEqual(o, Int32Array.of(1, 4, 27));
    assert.equal(
      [...calls.values()].reduce((a, b) => a + b, 0),
      before,
      "no C kernel ran",
    );
  });

  test("bad arguments throw instead of touching memory", () => {
    const a = addon!;
    const f = new Float32Array(10);
    const meta = Int32Array.of(1, 10, 1, 0, 1, 1); // [10] x at 0, out at offset 1: one too far
    assert.throws(() => a.unary(0, f, f, meta), /out of range/);
    assert.throws(() => a.unary(0, f, new Float64Array(10) as never, meta), /Float32Array/);
    assert.throws(() => a.unary(99, f, f, Int32Array.of(1, 10, 1, 0, 1, 0)), /op/);
    assert.throws(() => a.binary(0, f, f, f, Int32Array.of(1, 10, 1, 0)), /too short/);
    assert.throws(() => a.copy(f, new Int32Array(10), Int32Array.of(1, 10, 1, 0, 1, 0)), /type/);
    assert.throws(() => a.softmax(f, f, 3, 4, 0), /too short/);
    assert.throws(() => a.gather(f, Int32Array.of(5), 0, f, 1, 2), /outside/);
    assert.throws(() => a.scatterAdd(f, Int32Array.of(-1), 0, f, 1, 2), /outside/);
    assert.throws(
      () => a.crossEntropy(f, 0, Int32Array.of(5), 0, 2, 5, -1, 0, f, null),
      /too short|outside/,
    );
    assert.throws(() => a.crossEntropy(f, 0, Int32Array.of(7), 0, 1, 5, -1, 0, f, null), /outside/);
    assert.throws(() => a.adam(f, f, f, f, 11, 1, 0.9, 0.9, 1e-8, 0, 1), /too short/);
    const one = new Float32Array(1);
    assert.throws(() => a.layerNorm(f, f, f, f, one, f, 2, 5, 1e-5), /'mean' is too short/);
    assert.throws(() => a.softmax(f, f, 1.5, 2, 0), /integer/);
  });

  test("a wrong kernel fails these checks (the comparisons are not vacuous)", () => {
    // softmax that forgets the last column of every row
    const broken = new NativeBackend(
      spied(addon!, {
        softmax: (x: Float32Array, out: Float32Array, rows: number, cols: number, log: number) => {
          addon!.softmax(x, out, rows, cols, log);
          for (let r = 0; r < rows; r++) out[r * cols + cols - 1] = 0;
        },
      }),
    );
    const x = rand(40, 1);
    const y1 = new Float32Array(40);
    const y2 = new Float32Array(40);
    broken.softmax({ x, out: y1, rows: 4, cols: 10, log: false });
    ref.softmax({ x, out: y2, rows: 4, cols: 10, log: false });
    assert.throws(() => assertClose(y1, y2, "broken softmax"), /element 9/);
    // and a result off by one part in 10^4 is caught
    const z = y2.slice();
    z[3] *= 1.0001;
    assert.throws(() => assertClose(z, y2, "perturbed"), /element 3/);
  });
});

describe("native topk", { skip }, () => {
  test("equals the reference on ties, NaN, -inf, k = 1 and wide rows, threaded sizes", () => {
    for (const [rows, cols, k] of [
      [7, 13, 1],
      [7, 13, 4],
      [5, 13, 13],
      [64, 8000, 1],
      [64, 8000, 8],
    ]) {
      const x = rand(rows * cols, rows + cols + k, -3, 3);
      // Ties, NaN and -inf in every row.
      for (let r = 0; r < rows; r++) {
        x[r * cols + 2] = x[r * cols + 5];
        x[r * cols + 3] = Number.NaN;
        x[r * cols + 7] = Number.NEGATIVE_INFINITY;
      }
      const want = { v: new Float32Array(rows * k), i: new Int32Array(rows * k) };
      const got = { v: new Float32Array(rows * k), i: new Int32Array(rows * k) };
      ref.topk({ x, rows, cols, k, values: want.v, indices: want.i });
      viaC("topk", () => nat.topk({ x, rows, cols, k, values: got.v, indices: got.i }));
      assert.deepEqual(got.i, want.i, `${rows}x${cols} k ${k}`);
      assert.deepEqual(got.v, want.v, `${rows}x${cols} k ${k}`);
    }
    const all = new Float32Array(6).fill(Number.NaN);
    const v = new Float32Array(2);
    const i = new Int32Array(2);
    nat.topk({ x: all, rows: 2, cols: 3, k: 1, values: v, indices: i });
    assert.deepEqual(Array.from(i), [-1, -1]);
    assert.throws(() => addon!.topk(all, 2, 3, 4, v, i), /topk: k must be in \[1, cols\]/);
  });
});

describe("native backend object", { skip }, () => {
  test("every kernel of the interface is replaced", () => {
    const kernels: (keyof Backend & keyof NativeBackend)[] = [
      "copy",
      "fill",
      "unary",
      "unaryGrad",
      "binary",
      "where",
      "reduce",
      "matmul",
      "softmax",
      "softmaxGrad",
      "layerNorm",
      "layerNormGrad",
      "gather",
      "scatterAdd",
      "crossEntropy",
      "adam",
      "dropout",
      "topk",
    ];
    for (const k of kernels) assert.notEqual(nat[k], ref[k], `${k} is still the reference kernel`);
  });
});
