/**
 * The fused kernels (softmax, layer norm, cross-entropy, Adam, dropout) of a
 * candidate backend against the reference kernels: odd shapes, fully masked
 * softmax rows, ignored targets, offsets, stale outputs. Shared by the native
 * kernel tests and the tests of the composed defaults (src/backend/composed.ts),
 * so every implementation of a fused kernel meets the same cases.
 */
import { test } from "node:test";
import type { Backend, CrossEntropyArgs } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference/index.js";
import { assertClose, rand } from "./kernels.js";

const ref = new ReferenceBackend();

export function randInt(n: number, seed: number, hi: number): Int32Array {
  const r = rand(n, seed, 0, hi);
  return Int32Array.from(r, (v) => Math.min(hi - 1, Math.floor(v)));
}

/**
 * Registers one test per fused kernel. `via(kernel, fn)` runs fn, and may
 * check that the candidate's own kernel ran (a spy).
 */
export function fusedKernelTests(
  cand: () => Backend,
  via: <T>(kernel: string, fn: () => T) => T = (_k, fn) => fn(),
  /**
   * Absolute tolerance of Adam's m and v: 1e-9 for a kernel that computes
   * β·m + (1-β)·g in float64 as the reference does; a composition rounds each
   * term to float32 first (about one float32 ulp of 0.01 more).
   */
  adamAtol = 1e-9,
): void {
  /** Scores with masked entries and one fully masked row. */
  function scores(rows: number, cols: number, seed: number): Float32Array {
    const x = rand(rows * cols, seed, -6, 6);
    for (let i = 0; i < x.length; i += 3) if ((i * 7) % 5 === 0) x[i] = -Infinity;
    if (rows > 1) x.fill(-Infinity, cols, 2 * cols);
    return x;
  }

  test("softmax and log-softmax, forward and backward, masked rows", () => {
    for (const log of [false, true]) {
      for (const [rows, cols] of [
        [1, 1],
        [3, 7],
        [5, 33],
        [2, 1000],
        [512, 512],
      ]) {
        const x = scores(rows, cols, rows + cols);
        const y1 = new Float32Array(rows * cols);
        const y2 = new Float32Array(rows * cols);
        via("softmax", () => cand().softmax({ x, out: y1, rows, cols, log }));
        ref.softmax({ x, out: y2, rows, cols, log });
        assertClose(y1, y2, `softmax log=${log} ${rows}x${cols}`, 2e-6, 1e-7);
        const dy = rand(rows * cols, 5);
        const d1 = new Float32Array(rows * cols);
        const d2 = new Float32Array(rows * cols);
        via("softmaxGrad", () => cand().softmaxGrad({ y: y2, dy, dx: d1, rows, cols, log }));
        ref.softmaxGrad({ y: y2, dy, dx: d2, rows, cols, log });
        assertClose(d1, d2, `softmaxGrad log=${log} ${rows}x${cols}`, 1e-5, 1e-6);
      }
    }
  });

  test("layerNorm forward and backward (dgamma/dbeta accumulate)", () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [9, 64],
      [5, 257],
      [1024, 256],
    ]) {
      const x = rand(rows * cols, cols, -3, 5);
      const gamma = rand(cols, 2, 0.5, 1.5);
      const beta = rand(cols, 3);
      const outs = [0, 1].map(() => ({
        out: new Float32Array(rows * cols),
        mean: new Float32Array(rows),
        rstd: new Float32Array(rows),
      }));
      via("layerNorm", () => {
        const o = outs[0];
        cand().layerNorm({ x, gamma, beta, ...o, rows, cols, eps: 1e-5 });
      });
      const r = outs[1];
      ref.layerNorm({ x, gamma, beta, ...r, rows, cols, eps: 1e-5 });
      assertClose(outs[0].out, r.out, `layerNorm out ${rows}x${cols}`, 1e-5, 2e-6);
      assertClose(outs[0].mean, r.mean, "layerNorm mean", 1e-5, 1e-6);
      assertClose(outs[0].rstd, r.rstd, "layerNorm rstd", 1e-5, 1e-6);
      const dy = rand(rows * cols, 11);
      const g = [0, 1].map(() => ({
        dx: new Float32Array(rows * cols),
        dgamma: rand(cols, 12),
        dbeta: rand(cols, 13),
      }));
      via("layerNormGrad", () =>
        cand().layerNormGrad({ dy, x, gamma, mean: r.mean, rstd: r.rstd, ...g[0], rows, cols }),
      );
      ref.layerNormGrad({ dy, x, gamma, mean: r.mean, rstd: r.rstd, ...g[1], rows, cols });
      assertClose(g[0].dx, g[1].dx, `layerNormGrad dx ${rows}x${cols}`, 1e-4, 2e-6);
      assertClose(g[0].dgamma, g[1].dgamma, "dgamma", 1e-5, 1e-6 * rows);
      assertClose(g[0].dbeta, g[1].dbeta, "dbeta", 1e-5, 1e-6 * rows);
    }
  });

  test("crossEntropy: smoothing, ignoreIndex rows, with and without dlogits, offsets", () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [10, 1000],
      [300, 3001],
    ]) {
      for (const smoothing of [0, 0.1]) {
        for (const withGrad of [true, false]) {
          const logits = rand(rows * cols + 5, rows + cols, -8, 8); // offset 5
          const targets = Int32Array.of(9, ...randInt(rows, cols, cols)); // offset 1
          for (let r = 0; r < rows; r += 4) targets[1 + r] = 0; // ignored with ignoreIndex 0
          const args = (loss: Float32Array, dl: Float32Array | null): CrossEntropyArgs => ({
            logits,
            logitsOffset: 5,
            targets,
            targetsOffset: 1,
            rows,
            cols,
            ignoreIndex: cols > 1 ? 0 : -1,
            smoothing,
            rowLoss: loss,
            dlogits: dl,
          });
          const l1 = new Float32Array(rows);
          const l2 = new Float32Array(rows);
          const d1 = withGrad ? rand(rows * cols, 1) : null; // stale values must be overwritten
          const d2 = withGrad ? new Float32Array(rows * cols) : null;
          via("crossEntropy", () => cand().crossEntropy(args(l1, d1)));
          ref.crossEntropy(args(l2, d2));
          const what = `crossEntropy ${rows}x${cols} eps=${smoothing} grad=${withGrad}`;
          assertClose(l1, l2, what, 2e-6, 2e-6);
          if (d1 && d2) assertClose(d1, d2, `${what} dlogits`, 1e-5, 1e-7);
        }
      }
    }
  });

  test("adam and adamw", () => {
    for (const n of [1, 37, 100003]) {
      for (const [weightDecay, step] of [
        [0, 1],
        [0.01, 10],
      ]) {
        const mk = () => ({
          param: rand(n, 1),
          grad: rand(n, 2, -0.1, 0.1),
          m: rand(n, 3, -0.01, 0.01),
          v: rand(n, 4, 0, 1e-3),
        });
        const a = mk();
        const b = mk();
        const hyper = { size: n, lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-9, weightDecay, step };
        via("adam", () => cand().adam({ ...a, ...hyper }));
        ref.adam({ ...b, ...hyper });
        for (const k of ["param", "m", "v"] as const) {
          assertClose(a[k], b[k], `adam ${k} n=${n} wd=${weightDecay}`, 2e-6, adamAtol);
        }
      }
    }
  });

  test("dropout: mask drawn in the kernel matches the reference bit for bit", () => {
    for (const n of [1, 37, 100003]) {
      for (const [p, state] of [
        [0, 7],
        [0.1, -123456789],
        [0.5, 2147483647],
        [1 - 1e-12, 5],
        [1, 9],
      ]) {
        const x = rand(n + 3, n);
        x[3] = Number.NaN;
        const args = (out: Float32Array) => ({
          x,
          xOffset: 3,
          out,
          size: n,
          state,
          p,
          scale: 1.25,
        });
        const o1 = new Float32Array(n);
        const o2 = new Float32Array(n);
        via("dropout", () => cand().dropout(args(o1)));
        ref.dropout(args(o2));
        assertClose(o1, o2, `dropout n=${n} p=${p}`, 0, 0);
      }
    }
  });
}
