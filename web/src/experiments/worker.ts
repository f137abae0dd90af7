/**
 * The experiments worker: lists the registry (src/experiments) and runs an
 * experiment's --quick version on the WebAssembly backend, posting each
 * progress line as it comes. A run blocks this worker for minutes, which is
 * why it is not the model worker; the page cancels a run by terminating it.
 */
import {
  createBrowserWasmBackend,
  EXPERIMENTS,
  type ExperimentDef,
  getBackend,
  runExperiment,
  setBackend,
} from "../../../src/browser.js";
import type { ExperimentInfo, ExperimentRequest, FromExperimentWorker } from "../protocol.js";
import { SMOKE } from "./smoke.js";

const scope = self as unknown as {
  postMessage(msg: FromExperimentWorker): void;
  onmessage: ((ev: MessageEvent<ExperimentRequest>) => void) | null;
};

const post = (msg: FromExperimentWorker) => scope.postMessage(msg);

/** Set before any tensor is made; the reference TypeScript loops if WebAssembly SIMD is missing. */
const engineReady: Promise<void> = createBrowserWasmBackend()
  .then((b) => setBackend(b))
  .catch((e) =>
    console.warn(`wasm backend unavailable, using js: ${e instanceof Error ? e.message : e}`),
  );

function describe(e: ExperimentDef): ExperimentInfo {
  return {
    name: e.name,
    title: e.title,
    question: e.question,
    arms: e.arms,
    chapter: e.chapter,
    paper: e.paper,
  };
}

/** "wasm · 2 threads", or "js". */
function engineName(): string {
  const b = getBackend() as { name: string; getNumThreads?: () => number };
  const n = b.getNumThreads?.();
  return n ? `${b.name} · ${n} thread${n === 1 ? "" : "s"}` : b.name;
}

scope.onmessage = async (ev: MessageEvent<ExperimentRequest>) => {
  const req = ev.data;
  if (req.type === "list") {
    post({ type: "list", experiments: EXPERIMENTS.map(describe), hidden: [describe(SMOKE)] });
    return;
  }
  try {
    // Only names of the registry (and the test's smoke run): never anything the page makes up.
    const def = [...EXPERIMENTS, SMOKE].find((e) => e.name === req.name);
    if (!def) throw new Error(`no experiment "${req.name}"`);
    await engineReady;
    const result = await runExperiment(def, {
      quick: true,
      seeds: req.seeds,
      commit: null,
      log: (line) => post({ type: "log", line }),
    });
    post({ type: "done", result, engine: engineName() });
  } catch (e) {
    post({ type: "failed", error: e instanceof Error ? e.message : String(e) });
  }
};
