/**
 * Seeded mutation fuzzing of what a user or a file controls: model.safetensors, config.json,
 * tokenizer.json and TSV data. Run by fuzz.test.ts in a child process with a memory cap;
 * prints one JSON line of counts. Each mutant must end in an AttnError of one line (refused)
 * or load as a valid file (accepted, checked by an invariant of its kind); anything else is a
 * crash, a mutant that takes over 2 s a hang, an accepted mutant that breaks the invariant a
 * silent accept.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readParallelTsv } from "../../src/data/readers.js";
import { isUserError } from "../../src/errors.js";
import { parseSafetensors, serializeSafetensors, weightValues } from "../../src/io/safetensors.js";
import {
  buildModel,
  type ModelConfig,
  parameterCount,
  presetConfig,
} from "../../src/models/index.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";
import { tokenizerFromJSON, trainBpeTokenizer } from "../../src/tokenizers/index.js";
import { validateRunConfig } from "../../src/train/recipe.js";

const N = Number(process.argv[2] ?? 500);
let seed = Number(process.argv[3] ?? 1);
const rand = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];

/** Byte-level damage: flips, truncation, insertion, duplication. */
function mutateBytes(b: Uint8Array): Uint8Array {
  const out = Array.from(b);
  const k = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < k; i++) {
    const at = Math.floor(rand() * Math.max(1, out.length));
    switch (Math.floor(rand() * 4)) {
      case 0:
        out[at] = Math.floor(rand() * 256);
        break;
      case 1:
        out.length = at;
        break;
      case 2:
        out.splice(
          at,
          0,
          ...Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256)),
        );
        break;
      default:
        out.splice(at, 0, ...out.slice(at, at + Math.floor(rand() * 64)));
    }
  }
  return Uint8Array.from(out);
}

const ODD_VALUES: unknown[] = [
  null,
  -1,
  0,
  1,
  1e9,
  1e300,
  -1e-300,
  "x",
  "1e-5",
  "",
  true,
  false,
  [],
  {},
  [1, 2],
  "x".repeat(5000),
  2 ** 53,
  0.5,
];

/** A JSON-aware mutation: one value replaced by an odd one, or its key deleted. */
function mutateJson(v: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(v));
  const paths: (string | number)[][] = [];
  const walk = (x: unknown, p: (string | number)[]) => {
    if (p.length) paths.push(p);
    if (Array.isArray(x)) {
      for (const [i, y] of x.slice(0, 20).entries()) walk(y, [...p, i]);
    } else if (x && typeof x === "object")
      for (const [k, y] of Object.entries(x)) walk(y, [...p, k]);
  };
  walk(copy, []);
  const p = pick(paths);
  let parent = copy;
  for (const k of p.slice(0, -1)) parent = parent[k];
  const last = p[p.length - 1];
  if (rand() < 0.2 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = pick(ODD_VALUES);
  return copy;
}

/** A JSON document mutated by value (most often) or by bytes (what still parses, else null). */
function mutateDocument(v: unknown): unknown {
  if (rand() < 0.8) return mutateJson(v);
  try {
    return JSON.parse(
      new TextDecoder().decode(mutateBytes(new TextEncoder().encode(JSON.stringify(v)))),
    );
  } catch {
    return null;
  }
}

type Outcome = "refused" | "accepted" | "crash" | "silent";
interface Counts {
  refused: number;
  accepted: number;
  crash: number;
  silent: number;
  hang: number;
  examples: string[];
}

function run(kind: string, counts: Counts, fn: () => Outcome): void {
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    outcome = fn();
  } catch (e) {
    const oneLine = isUserError(e) && !(e as Error).message.includes("\n");
    outcome = oneLine ? "refused" : "crash";
    if (!oneLine && counts.examples.length < 5)
      counts.examples.push(`${kind}: ${(e as Error)?.stack ?? String(e)}`.slice(0, 400));
  }
  if (performance.now() - t0 > 2000) counts.hang++;
  counts[outcome]++;
}

const fresh = (): Counts => ({
  refused: 0,
  accepted: 0,
  crash: 0,
  silent: 0,
  hang: 0,
  examples: [],
});
const results: Record<string, Counts> = {};

// --- model.safetensors: parse, then load into the model it belongs to.
{
  const cfg = presetConfig("gpt-tiny", {
    vocabSize: 20,
    dModel: 16,
    heads: 2,
    dFF: 32,
    layers: 1,
    maxLen: 8,
  });
  const model = buildModel(cfg);
  const tensors = new Map(
    model
      .namedParameters()
      .map(([n, t]) => [
        n,
        { dtype: "F32" as const, shape: [...t.shape], data: Float32Array.from(t.readSync()) },
      ]),
  );
  const valid = serializeSafetensors(tensors);
  const c = (results.safetensors = fresh());
  for (let i = 0; i < N; i++) {
    let bytes = mutateBytes(valid);
    if (rand() < 0.5) {
      // Header-aware: edit the JSON header and re-frame it.
      const n = Number(new DataView(valid.buffer, valid.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + n)));
      const h = new TextEncoder().encode(JSON.stringify(mutateJson(header)));
      const framed = new Uint8Array(8 + h.length + valid.length - 8 - n);
      new DataView(framed.buffer).setBigUint64(0, BigInt(h.length), true);
      framed.set(h, 8);
      framed.set(valid.subarray(8 + n), 8 + h.length);
      bytes = framed;
    }
    run("safetensors", c, () => {
      const f = parseSafetensors(bytes, { source: "fuzz" });
      const state = new Map<string, { shape: number[]; values: Float32Array }>();
      for (const [name, t] of f.tensors)
        state.set(name, { shape: t.shape, values: weightValues(t, name, "fuzz") });
      model.loadStateDict(state);
      // Accepted: every tensor must have the original name, dtype and shape (data may differ).
      for (const [name, t] of f.tensors) {
        const o = tensors.get(name);
        if (!o || t.dtype !== "F32" || t.shape.join() !== o.shape.join()) return "silent";
      }
      return "accepted";
    });
  }
}

// --- config.json: validate, then (small enough) build and run the model once.
{
  const valid = JSON.parse(
    JSON.stringify({
      format: "attention-lab-run",
      version: 1,
      model: presetConfig("s2s-tiny", { vocabSize: 30, dModel: 16, heads: 2, dFF: 32 }),
      data: { kind: "task", task: "copy", trainSeed: 1, evalSeed: 2, evalSize: 10 },
      train: {
        batchSize: 4,
        maxTokens: 100,
        steps: 10,
        lr: 1e-3,
        warmup: 2,
        schedule: "cosine",
        labelSmoothing: 0.1,
        clipNorm: 1,
        weightDecay: 0,
        seed: 0,
        evalEvery: 5,
      },
    }),
  );
  const c = (results.config = fresh());
  for (let i = 0; i < N; i++) {
    const mutant = mutateDocument(valid);
    run("config", c, () => {
      const run_ = validateRunConfig(mutant, "fuzz");
      const m = run_.model as ModelConfig;
      // Accepted: every field of model, data and train keeps its type; numbers are finite.
      for (const part of ["model", "data", "train"] as const) {
        for (const [k, v] of Object.entries(valid[part])) {
          const w = (run_[part] as unknown as Record<string, unknown>)[k];
          if (typeof w !== typeof v || (typeof w === "number" && !Number.isFinite(w))) {
            if (c.examples.length < 8)
              c.examples.push(`config: accepted ${part}.${k} = ${JSON.stringify(w)?.slice(0, 30)}`);
            return "silent";
          }
        }
      }
      if (parameterCount(m) <= 2_000_000 && m.maxLen >= 4) {
        const model = buildModel(m);
        model.eval();
        const ids = fromArray(
          [3, 4, 5, 2].map((x) => x % m.vocabSize),
          [1, 4],
          "int32",
        );
        noGrad(() =>
          m.kind === "gpt"
            ? (model as never as { forward(x: unknown): unknown }).forward(ids)
            : (model as never as { forward(a: unknown, b: unknown): unknown }).forward(ids, ids),
        );
      }
      return "accepted";
    });
  }
}

// --- tokenizer.json: load, then encode/decode round trip.
{
  const text = fs
    .readFileSync(path.join(import.meta.dirname, "..", "..", "README.md"), "utf8")
    .slice(0, 4000);
  const valid = trainBpeTokenizer([text], { vocabSize: 300 }).toJSON();
  const sample = "The Transformer — attention is all you need, ¿sí?";
  const c = (results.tokenizer = fresh());
  for (let i = 0; i < N; i++) {
    const mutant = mutateDocument(valid);
    run("tokenizer", c, () => {
      const tok = tokenizerFromJSON(mutant);
      return tok.decode(tok.encode(sample)) === sample ? "accepted" : "silent";
    });
  }
}

// --- TSV data: read, every pair has two non-empty sides.
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attn-fuzz-"));
  const valid = new TextEncoder().encode(
    Array.from({ length: 40 }, (_, i) => `ref${i}\tfrase número ${i}\tsentence number ${i}`).join(
      "\n",
    ),
  );
  const c = (results.tsv = fresh());
  for (let i = 0; i < N; i++) {
    const file = path.join(dir, `m${i}.tsv`);
    fs.writeFileSync(file, mutateBytes(valid));
    run("tsv", c, () => {
      const r = readParallelTsv(file, {
        srcColumn: 1,
        tgtColumn: 2,
        onBadLine: rand() < 0.5 ? "skip" : "error",
      });
      return r.pairs.every((p) => p.src.trim() && p.tgt.trim()) ? "accepted" : "silent";
    });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

process.stdout.write(`${JSON.stringify(results)}\n`);
