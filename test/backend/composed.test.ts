/**
 * The fused kernels composed from primitives (src/backend/composed.ts), the
 * defaults a new backend starts from, meet the same cases as the native
 * kernels. The candidate is built by primitiveOnly(), which hands the
 * compositions nothing but the primitive kernels, and a spy proves the
 * composition ran instead of a fused reference kernel.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import {
  FUSED_KERNELS,
  PRIMITIVE_KERNELS,
  composedKernels,
  primitiveOnly,
  withFusedDefaults,
} from "../../src/backend/composed.js";
import { ReferenceBackend } from "../../src/backend/reference/index.js";
import { fusedKernelTests } from "../helpers/fused-kernels.js";
import { assertClose, rand } from "../helpers/kernels.js";

/** Calls per kernel name made on the reference backend behind the candidate. */
const calls = new Map<string, number>();
const inner = new ReferenceBackend();
const spiedInner = new Proxy(inner, {
  get(target, key, recv) {
    const v = Reflect.get(target, key, recv);
    if (typeof v !== "function") return v;
    return (...args: unknown[]) => {
      calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
      return v.apply(target, args);
    };
  },
});
const composed = primitiveOnly(spiedInner as Backend);

/** Runs fn; the fused reference kernel must not run, primitives must. */
function viaPrimitives<T>(kernel: string, fn: () => T): T {
  const before = new Map(calls);
  const r = fn();
  assert.equal(calls.get(kernel) ?? 0, before.get(kernel) ?? 0, `the fused '${kernel}' ran`);
  const prim = [...calls].some(([k, n]) => n > (before.get(k) ?? 0));
  assert.ok(prim, `'${kernel}' ran no primitive kernel`);
  return r;
}

describe("fused kernels composed from primitives vs reference", () => {
  fusedKernelTests(() => composed, viaPrimitives, 3e-9);

  test("primitiveOnly exposes the primitives and composes every fused kernel", () => {
    for (const k of PRIMITIVE_KERNELS) assert.equal(typeof composed[k], "function", k);
    for (const k of FUSED_KERNELS) assert.equal(typeof composed[k], "function", k);
    assert.equal(composed.name, "primitive");
  });

  test("withFusedDefaults keeps a backend's own fused kernels", () => {
    const own = () => {};
    const b = withFusedDefaults({ ...primitiveOnly(inner), softmax: own });
    assert.equal(b.softmax, own);
    assert.notEqual(b.layerNorm, own);
  });

  test("a wrong primitive fails these checks (the comparisons are not vacuous)", () => {
    const broken = composedKernels({
      ...primitiveOnly(inner),
      unary: (op, x, out) => inner.unary(op === "exp" ? "sigmoid" : op, x, out),
    });
    const x = rand(3 * 7, 1, -3, 3);
    const y1 = new Float32Array(21);
    const y2 = new Float32Array(21);
    broken.softmax({ x, out: y1, rows: 3, cols: 7, log: false });
    inner.softmax({ x, out: y2, rows: 3, cols: 7, log: false });
    assert.throws(() => assertClose(y1, y2, "softmax"));
  });
});
