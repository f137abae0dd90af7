/** Making tensors: constants, ranges, arrays, and seeded random numbers. */
import type { DType } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { getRng } from "../engine.js";
import type { Mulberry32 } from "../random.js";
import { checkShape, fmt, type Shape, sizeOf } from "../shape.js";
import { Tensor } from "../tensor.js";

export function zeros(shape: Shape, dtype: DType = "float32"): Tensor {
  checkShape(shape, "zeros");
  return Tensor.empty(shape, dtype);
}

export function full(shape: Shape, value: number, dtype: DType = "float32"): Tensor {
  checkShape(shape, "full");
  const t = Tensor.empty(shape, dtype);
  t.data.fill(value);
  return t;
}

export function ones(shape: Shape, dtype: DType = "float32"): Tensor {
  return full(shape, 1, dtype);
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, t.dtype);
}

export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, t.dtype);
}

/** start, start+step, ... below end. */
export function arange(start: number, end?: number, step = 1, dtype: DType = "int32"): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new AttnError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const t = Tensor.empty([n], dtype);
  for (let i = 0; i < n; i++) t.data[i] = start + i * step;
  return t;
}

/** A tensor from flat values (or nested arrays when shape is omitted). */
export function fromArray(
  values: ArrayLike<number> | readonly unknown[],
  shape?: Shape,
  dtype: DType = "float32",
): Tensor {
  let flat: ArrayLike<number>;
  let s: number[];
  if (shape) {
    flat = values as ArrayLike<number>;
    s = shape.slice();
  } else {
    s = [];
    let v: unknown = values;
    while (Array.isArray(v)) {
      s.push(v.length);
      v = v[0];
    }
    flat = (values as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
  }
  checkShape(s, "fromArray");
  if (flat.length !== sizeOf(s)) {
    throw new AttnError(
      `fromArray: ${flat.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} elements)`,
    );
  }
  const t = Tensor.empty(s, dtype);
  t.data.set(flat);
  return t;
}

/** A 0-d tensor. */
export function scalar(v: number, dtype: DType = "float32"): Tensor {
  return fromArray([v], [], dtype);
}

/** Normal(mean, std) samples, reproducible on every platform for a given generator state. */
export function randn(
  shape: Shape,
  opts: { std?: number; mean?: number; rng?: Mulberry32; dtype?: DType } = {},
): Tensor {
  checkShape(shape, "randn");
  const rng = opts.rng ?? getRng();
  const std = opts.std ?? 1;
  const mu = opts.mean ?? 0;
  const t = Tensor.empty(shape, opts.dtype ?? "float32");
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mu + std * rng.normal();
  return t;
}

/** Uniform [low, high) samples. */
export function rand(
  shape: Shape,
  opts: { low?: number; high?: number; rng?: Mulberry32; dtype?: DType } = {},
): Tensor {
  checkShape(shape, "rand");
  const rng = opts.rng ?? getRng();
  const lo = opts.low ?? 0;
  const hi = opts.high ?? 1;
  const t = Tensor.empty(shape, opts.dtype ?? "float32");
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.uniform();
  return t;
}
