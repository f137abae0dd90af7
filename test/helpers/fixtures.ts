/** Reading the PyTorch golden fixtures written by scripts/make_fixtures.py. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readSafetensorsFile, toFloat32, toInt32 } from "../../src/io/safetensors.js";
import { type Tensor, fromArray } from "../../src/tensor/index.js";

export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/", import.meta.url));

export interface Fixture {
  name: string;
  kind: string;
  config: Record<string, unknown>;
  /** Everything in the safetensors file, by full key ("param.x", "out.y", ...). */
  values: Map<string, { shape: number[]; data: Float32Array | Int32Array }>;
}

export function loadFixture(name: string): Fixture {
  const meta = JSON.parse(readFileSync(`${FIXTURE_DIR}${name}.json`, "utf8"));
  const file = readSafetensorsFile(`${FIXTURE_DIR}${name}.safetensors`);
  const values = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const [k, raw] of file.tensors) {
    values.set(k, { shape: raw.shape, data: raw.dtype === "I32" ? toInt32(raw) : toFloat32(raw) });
  }
  return { name, kind: meta.kind, config: meta.config, values };
}

/** Entries with a prefix, the prefix removed. */
export function withPrefix(
  f: Fixture,
  prefix: string,
): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const [k, v] of f.values) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

export function fixtureTensor(f: Fixture, key: string): Tensor {
  const v = f.values.get(key);
  if (!v) throw new Error(`fixture ${f.name}: no ${key}`);
  return fromArray(v.data, v.shape, v.data instanceof Int32Array ? "int32" : "float32");
}

/** Max violation of |a - b| <= atol or <= rtol·|b| (±inf must match exactly). */
export function compareValues(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-4,
): { ok: boolean; worst: string } {
  if (actual.length !== expected.length)
    return { ok: false, worst: `length ${actual.length} vs ${expected.length}` };
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (a === b) continue;
    const d = Math.abs(a - b);
    if (!(d <= tol || d <= tol * Math.abs(b)))
      return { ok: false, worst: `index ${i}: ${a} vs ${b}` };
  }
  return { ok: true, worst: "" };
}
