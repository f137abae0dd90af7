/**
 * The model worker: holds the model, answers the page's requests (protocol.ts)
 * and trains in short slices, yielding between them so that pause and other
 * requests are handled while training runs. The page never blocks on it.
 */
import { createBrowserWasmBackend, getBackend, makeSplit, setBackend } from "../../src/browser.js";
import {
  analyze,
  type AnalyzeContext,
  generateWith,
  positionsSide,
  transferables,
} from "./engine/analyze.js";
import { loadCheckpoint } from "./engine/checkpoint.js";
import { freshModel, GPT_PROMPTS, type LoadedModel } from "./engine/models.js";
import { LiveTrainer } from "./engine/train.js";
import {
  type Analysis,
  type FromWorker,
  type Interventions,
  type ModelInfo,
  NO_INTERVENTIONS,
  type PositionsSide,
  type Request,
  type Sample,
  type ToWorker,
  type TrainPoint,
  type TrainSettings,
} from "./protocol.js";

/** The worker's global scope (typed here so the page's DOM types need no WebWorker lib). */
const scope = self as unknown as {
  postMessage(msg: FromWorker, transfer: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
};

/** Training slices last about this long before the worker yields. */
const SLICE_MS = 120;
/** While training, evaluate and re-analyse at most this often. */
const EVAL_EVERY_MS = 2500;
const ANALYZE_EVERY_MS = 1200;

let ctx: AnalyzeContext | null = null;
let trainer: LiveTrainer | null = null;
let lastQuery: { src: string; tgt: string | null } | null = null;
let running = false;
let settings: TrainSettings = { lr: 3e-3, batch: 16, labelSmoothing: 0.1 };
let lastEval = 0;
let lastAnalysis = 0;
/** The models of the positions comparison, by URL (separate from the main model, which may train). */
const compared = new Map<string, Promise<LoadedModel>>();

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(msg, transfer);
}

function need(): AnalyzeContext {
  if (!ctx) throw new Error("no model loaded");
  return ctx;
}

function info(lm: LoadedModel, examples: { src: string; tgt: string }[]): ModelInfo {
  const vocab = Array.from({ length: lm.tokenizer.vocabSize }, (_, i) => lm.tokenizer.idToToken(i));
  return {
    origin: lm.origin,
    kind: lm.kind,
    config: lm.config,
    task: lm.task?.name ?? null,
    trainable: lm.kind === "encdec",
    vocab,
    parameters: lm.model.numParameters(),
    engine: engineName(),
    examples,
    step: trainer?.step ?? 0,
  };
}

function runAnalysis(): Analysis | null {
  if (!ctx || !lastQuery) return null;
  ctx.step = trainer?.step ?? 0;
  return analyze(ctx, lastQuery.src, lastQuery.tgt);
}

function pushAnalysis(): void {
  const a = runAnalysis();
  lastAnalysis = performance.now();
  if (a) post({ type: "analysis", value: a }, transferables(a));
}

function evaluate(points: TrainPoint[]): Sample[] | null {
  if (!trainer || trainer.step === 0) return null;
  const e = trainer.evaluate(need().interventions);
  if (points.length > 0) {
    Object.assign(points[points.length - 1], {
      valLoss: e.valLoss,
      valAcc: e.valAcc,
      valExact: e.valExact,
    });
  }
  lastEval = performance.now();
  return e.samples;
}

const pause = () => new Promise((r) => setTimeout(r, 0));

async function trainLoop(): Promise<void> {
  while (running && trainer && ctx) {
    const t0 = performance.now();
    const points: TrainPoint[] = [];
    while (running && performance.now() - t0 < SLICE_MS)
      points.push(trainer.trainStep(settings, ctx.interventions));
    const samples = performance.now() - lastEval > EVAL_EVERY_MS ? evaluate(points) : null;
    post({ type: "progress", points, running, samples });
    if (performance.now() - lastAnalysis > ANALYZE_EVERY_MS) pushAnalysis();
    await pause();
  }
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case "load": {
      running = false;
      const lm =
        req.source.kind === "fresh"
          ? freshModel(req.source.spec)
          : await loadCheckpoint(req.source.url, req.source.name);
      const seed = req.source.kind === "fresh" ? req.source.spec.seed : 0;
      const examples =
        lm.kind === "gpt"
          ? GPT_PROMPTS.map((src) => ({ src, tgt: "" }))
          : makeSplit(lm.task, seed + 7, 8);
      trainer = lm.kind === "encdec" ? new LiveTrainer(lm, seed) : null;
      ctx = {
        lm,
        interventions: ctx?.interventions ?? NO_INTERVENTIONS,
        step: 0,
        maskExamples: examples.slice(1, 3),
      };
      return info(lm, examples);
    }
    case "analyze": {
      lastQuery = { src: req.src, tgt: req.tgt };
      return runAnalysis();
    }
    case "interventions": {
      need().interventions = req.value as Interventions;
      return runAnalysis();
    }
    case "generate":
      return generateWith(need(), req.src, req.sampling);
    case "positions": {
      const sides: PositionsSide[] = [];
      for (const m of req.models) {
        let p = compared.get(m.url);
        if (!p) {
          p = loadCheckpoint(m.url, m.name);
          compared.set(m.url, p);
          p.catch(() => compared.delete(m.url));
        }
        const lm = await p;
        if (lm.kind !== "encdec")
          throw new Error(`${m.name}: the comparison needs encoder-decoders`);
        sides.push(positionsSide(lm, m.name, m.title, req.src));
      }
      return sides;
    }
    case "train": {
      if (!trainer) {
        throw new Error(
          "live training draws batches from a shipped task; this GPT's training text is not part of the page",
        );
      }
      settings = req.settings;
      if (req.action === "pause") {
        running = false;
        // Ordered after any slice already posted, so the page ends up "paused".
        post({ type: "progress", points: [], running: false, samples: evaluate([]) });
        pushAnalysis();
        return trainer?.step ?? 0;
      }
      if (req.action === "start") {
        if (!running) {
          running = true;
          void trainLoop();
        }
        return trainer?.step ?? 0;
      }
      running = false;
      const points: TrainPoint[] = [];
      const n = req.steps ?? 1;
      for (let i = 0; i < n && trainer && ctx; i++) {
        points.push(trainer.trainStep(settings, ctx.interventions));
        if (i % 5 === 4) await pause();
      }
      const samples = evaluate(points);
      post({ type: "progress", points, running: false, samples });
      pushAnalysis();
      return trainer?.step ?? 0;
    }
  }
}

/**
 * The engine: WebAssembly SIMD kernels (threaded when the page is
 * cross-origin isolated, as `attn explore` serves it), else the reference
 * TypeScript loops. Set before any tensor is made.
 */
const engineReady: Promise<void> = createBrowserWasmBackend()
  .then((b) => setBackend(b))
  .catch((e) =>
    console.warn(`wasm backend unavailable, using js: ${e instanceof Error ? e.message : e}`),
  );

/** "wasm · 2 threads", or "js". */
export function engineName(): string {
  const b = getBackend() as { name: string; getNumThreads?: () => number };
  const n = b.getNumThreads?.();
  return n ? `${b.name} · ${n} thread${n === 1 ? "" : "s"}` : b.name;
}

scope.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const { id, ...req } = ev.data;
  try {
    await engineReady;
    const value = await handle(req as Request);
    const hasAnalysis = value && (req.type === "analyze" || req.type === "interventions");
    post(
      { type: "reply", id, ok: true, value },
      hasAnalysis ? transferables(value as Analysis) : [],
    );
  } catch (e) {
    post({ type: "reply", id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
