/**
 * Taps: named points in a forward pass where intermediates can be recorded
 * (for the explorer and the parity tests) or changed (interventions such as
 * zeroing a head). Model code marks a point once with `this.tap("scores", s)`;
 * with no hook active that is a single null check, so it costs nothing.
 */
import type { Tensor } from "../tensor/index.js";

/** Sees every tapped tensor by full dotted name; may return a replacement. */
export type TapHook = (name: string, t: Tensor) => Tensor | undefined;

let hooks: TapHook[] | null = null;

export function tapHooksActive(): boolean {
  return hooks !== null;
}

export function runTapHooks(name: string, t: Tensor): Tensor {
  let out = t;
  for (const h of hooks ?? []) out = h(name, out) ?? out;
  return out;
}

/** Runs fn with `hook` seeing every tap. Hooks nest. */
export function withTapHook<T>(hook: TapHook, fn: () => T): T {
  const prev = hooks;
  hooks = [...(prev ?? []), hook];
  try {
    return fn();
  } finally {
    hooks = prev;
  }
}

export interface Recorded {
  shape: number[];
  values: Float32Array | Float64Array | Int32Array;
}

/**
 * Runs fn and records a copy of every tapped tensor whose name passes `filter`.
 * Copies survive any `tidy` inside fn.
 */
export function recordIntermediates<T>(
  fn: () => T,
  filter: (name: string) => boolean = () => true,
): { result: T; tensors: Map<string, Recorded> } {
  const tensors = new Map<string, Recorded>();
  const result = withTapHook((name, t) => {
    if (filter(name)) tensors.set(name, { shape: t.shape.slice(), values: t.readSync() });
    return undefined;
  }, fn);
  return { result, tensors };
}
