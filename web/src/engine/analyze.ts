/**
 * One analysis of the model for the learner's input: greedy decoding, beams,
 * a teacher-forced pass with every intermediate recorded (recordIntermediates),
 * the embedding and positional tables, and a padded three-row batch for the
 * masks. For a GPT: the prompt's pass (next-token targets), the greedy
 * continuation, no beams and no padded batch. Interventions apply
 * throughout; with any on, the same is also run without them (the baseline
 * the page compares against).
 */
import {
  attentionTap,
  AttnError,
  crossEntropy,
  fromArray,
  noGrad,
  recordIntermediates,
  sinusoidalPositionalEncoding,
  tidy,
  type AttentionTap,
} from "../../../src/browser.js";
import {
  type Analysis,
  GEN_TOKENS,
  type Interventions,
  type MaskBatch,
  type Outcome,
  type PositionsSide,
  type Rec,
  type Reference,
  type SamplingSettings,
} from "../protocol.js";
import { beamSearch, greedyDecode } from "./decode.js";
import { gptGenerate } from "./generate.js";
import { anyIntervention, withInterventions } from "./interventions.js";
import type { LoadedGpt, LoadedModel, LoadedSeq2Seq } from "./models.js";
import { type Pca2, pca2 } from "./pca.js";
import { taskTarget } from "./truth.js";

/** The analysis shows this label smoothing (the paper's ε). */
export const SHOWN_SMOOTHING = 0.1;
/** Rows of the positional table sent to the page. */
const POS_ROWS = 48;

export interface AnalyzeContext {
  lm: LoadedModel;
  interventions: Interventions;
  step: number;
  /** Last PCA axes, to keep signs stable across training. */
  pcaAxes?: Pca2["axes"];
  /** Two task examples that fill the mask batch. */
  maskExamples: { src: string; tgt: string }[];
}

function rec(shape: readonly number[], values: ArrayLike<number>): Rec {
  return { shape: [...shape], values: Float32Array.from(values) };
}

export function maxDecodeSteps(lm: LoadedSeq2Seq): number {
  return Math.min(lm.task.maxTgtLen + 1, lm.config.maxLen, 40);
}

/** Source ids: the text's tokens (cut to fit the positional table) and EOS, as the batching does. */
export function sourceIds(lm: LoadedSeq2Seq, text: string): number[] {
  return [...lm.tokenizer.encode(text).slice(0, lm.config.maxLen - 1), lm.config.eosId];
}

function targetIds(lm: LoadedModel, text: string): number[] {
  return lm.tokenizer.encode(text).slice(0, lm.config.maxLen - 1);
}

/** Output for display: special tokens kept visible (an untrained model often emits <unk>). */
function shown(lm: LoadedModel, ids: number[]): string {
  return lm.tokenizer.decode(ids, { keepSpecial: true });
}

/** Decodes ids up to (not including) the first EOS. */
function textOf(lm: LoadedModel, ids: ArrayLike<number>): string {
  const out: number[] = [];
  for (let i = 0; i < ids.length && ids[i] !== lm.config.eosId; i++) out.push(ids[i]);
  return lm.tokenizer.decode(out, { keepSpecial: true });
}

/** Teacher-forced pass: recorded tensors, plain cross-entropy and the argmax prediction. */
function teacherForced(
  lm: LoadedSeq2Seq,
  srcIds: number[],
  tgtIn: number[],
  labels: number[],
  record: boolean,
): {
  tensors: Map<string, { shape: number[]; values: ArrayLike<number> }>;
  loss: number;
  prediction: string;
} {
  return noGrad(() =>
    tidy(() => {
      const src = fromArray(srcIds, [1, srcIds.length], "int32");
      const tin = fromArray(tgtIn, [1, tgtIn.length], "int32");
      const tout = fromArray(labels, [1, labels.length], "int32");
      const run = () => lm.model.loss(src, tin, tout, SHOWN_SMOOTHING);
      const { result, tensors } = record
        ? recordIntermediates(run)
        : { result: run(), tensors: new Map() };
      const plain = crossEntropy(result.logits, tout, { ignoreIndex: lm.config.padId }).item();
      const logits = result.logits.readSync();
      const V = lm.config.vocabSize;
      const argmax: number[] = [];
      for (let t = 0; t < labels.length; t++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
        argmax.push(best);
      }
      return { tensors, loss: plain, prediction: textOf(lm, argmax) };
    }),
  );
}

/** Greedy output and teacher-forced loss and guess against tgt (the reference), under the current switches. */
function outcome(lm: LoadedSeq2Seq, srcIds: number[], tgt: string): Outcome {
  const greedy = greedyDecode(lm.model, srcIds, maxDecodeSteps(lm));
  const tIds = targetIds(lm, tgt);
  const { bosId, eosId } = lm.config;
  const tf = teacherForced(lm, srcIds, [bosId, ...tIds], [...tIds, eosId], false);
  return { output: shown(lm, greedy.ids), loss: tf.loss, prediction: tf.prediction };
}

function padRows(
  rows: number[][],
  padId: number,
): { ids: number[][]; pad: number[][]; len: number } {
  const len = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...r, ...new Array<number>(len - r.length).fill(padId)]);
  // Padding by length, not by id: a decoder may start from PAD (Marian).
  const pad = rows.map((r) => Array.from({ length: len }, (_, i) => (i < r.length ? 0 : 1)));
  return { ids, pad, len };
}

function maskBatch(
  lm: LoadedSeq2Seq,
  srcIds: number[],
  tgtIn: number[],
  ctx: AnalyzeContext,
): MaskBatch {
  const srcRows = [srcIds, ...ctx.maskExamples.map((e) => sourceIds(lm, e.src))];
  const tgtRows = [
    tgtIn,
    ...ctx.maskExamples.map((e) => [lm.config.bosId, ...targetIds(lm, e.tgt)]),
  ];
  // Answers of one length (dates) would leave the decoder unpadded: cut the examples'
  // targets to 2/3 and 1/3 of that length, so padding and the causal mask meet.
  const tgtCut = tgtRows.length > 1 && tgtRows.every((r) => r.length === tgtRows[0].length);
  if (tgtCut) {
    const L = tgtRows[0].length;
    tgtRows.forEach((r, k) => {
      if (k > 0) tgtRows[k] = r.slice(0, Math.max(1, Math.round((L * (3 - k)) / 3)));
    });
  }
  const s = padRows(srcRows, lm.config.padId);
  const t = padRows(tgtRows, lm.config.padId);
  const B = srcRows.length;
  const names: AttentionTap[] = ["scores", "masked_scores", "weights"];
  const wanted = new Set<string>(
    names.flatMap((n) => [attentionTap("enc", 0, n), attentionTap("dec", 0, n)]),
  );
  const tensors = noGrad(() =>
    tidy(() => {
      const src = fromArray(s.ids.flat(), [B, s.len], "int32");
      const tin = fromArray(t.ids.flat(), [B, t.len], "int32");
      return recordIntermediates(
        () => lm.model.forward(src, tin),
        (n) => wanted.has(n),
      ).tensors;
    }),
  );
  const get = (block: "enc" | "dec") => {
    const g = (n: AttentionTap) => {
      const r = tensors.get(attentionTap(block, 0, n))!;
      return rec(r.shape, r.values);
    };
    return { scores: g("scores"), masked: g("masked_scores"), weights: g("weights") };
  };
  return {
    srcIds: s.ids,
    tgtIn: t.ids,
    srcPad: s.pad,
    tgtPad: t.pad,
    tgtCut,
    enc: get("enc"),
    dec: get("dec"),
  };
}

function positionalTable(lm: LoadedModel): Rec | null {
  const cfg = lm.config;
  const rows = Math.min(POS_ROWS, cfg.maxLen);
  const learned = lm.kind === "gpt" ? lm.model.pos_embed : lm.model.encoder.pos_embed;
  if (cfg.positional === "learned" && learned) {
    const w = learned.weight.readSync();
    return rec([rows, cfg.dModel], w.subarray(0, rows * cfg.dModel));
  }
  if (cfg.positional === "sinusoidal") {
    return tidy(() => {
      const pe = sinusoidalPositionalEncoding(rows, cfg.dModel);
      return rec(pe.shape, pe.readSync());
    });
  }
  return null;
}

export function analyze(ctx: AnalyzeContext, src: string, tgtRequest: string | null): Analysis {
  const { lm } = ctx;
  if (lm.kind === "gpt") return analyzeGpt(ctx, lm, src);
  const model = lm.model;
  model.eval();
  const iv = ctx.interventions;
  const srcIds = sourceIds(lm, src);
  const changed = anyIntervention(iv);
  // Intact and changed model are scored on one reference; never on the changed model's own output.
  const truth = tgtRequest === null ? taskTarget(lm.task, src) : null;
  const intactOutput = () =>
    lm.tokenizer.decode(greedyDecode(model, srcIds, maxDecodeSteps(lm)).ids);
  const reference: Reference | null =
    tgtRequest !== null
      ? { kind: "typed", text: tgtRequest }
      : truth !== null
        ? { kind: "truth", text: truth }
        : changed
          ? { kind: "intact", text: withInterventions(model, null, intactOutput) }
          : null;
  const main = withInterventions(model, iv, (): Analysis => {
    const greedy = greedyDecode(model, srcIds, maxDecodeSteps(lm));
    const beams = beamSearch(model, srcIds, 3, maxDecodeSteps(lm));
    // No interventions and nothing better known: the model's own output is the intact one.
    const ref: Reference = reference ?? { kind: "intact", text: lm.tokenizer.decode(greedy.ids) };
    const tgt = ref.text;
    const tIds = targetIds(lm, tgt);
    const tgtIn = [lm.config.bosId, ...tIds];
    const labels = [...tIds, lm.config.eosId];
    const tf = teacherForced(lm, srcIds, tgtIn, labels, true);
    const tensors: Record<string, Rec> = {};
    for (const [name, r] of tf.tensors) tensors[name] = rec(r.shape, r.values);
    const table = model.tgtTable;
    const pca = pca2(table.readSync(), table.shape[0], table.shape[1], ctx.pcaAxes);
    ctx.pcaAxes = pca.axes;
    const current: Outcome = {
      output: shown(lm, greedy.ids),
      loss: tf.loss,
      prediction: tf.prediction,
    };
    return {
      kind: "encdec",
      src,
      tgt,
      srcIds,
      tgtIn,
      labels,
      tensors,
      greedy,
      beams,
      embedTable: rec(table.shape, table.readSync()),
      pca: { x: pca.x, y: pca.y, explained: pca.explained },
      posTable: positionalTable(lm),
      maskBatch: maskBatch(lm, srcIds, tgtIn, ctx),
      outcome: current,
      reference: ref,
      baseline: null,
      interventions: iv,
      labelSmoothing: SHOWN_SMOOTHING,
      step: ctx.step,
    };
  });
  // The baseline runs outside: the head-zeroing hook must not be active.
  if (changed) main.baseline = withInterventions(model, null, () => outcome(lm, srcIds, main.tgt));
  return main;
}

/** Every transferable buffer of an analysis (so postMessage moves instead of copying). */
export function transferables(a: Analysis): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (r: Rec | null) => {
    if (r) out.add(r.values.buffer as ArrayBuffer);
  };
  Object.values(a.tensors).forEach(add);
  for (const s of a.greedy.steps) add(s.cross);
  add(a.embedTable);
  add(a.posTable);
  if (a.maskBatch)
    for (const part of [a.maskBatch.enc, a.maskBatch.dec]) Object.values(part).forEach(add);
  out.add(a.pca.x.buffer as ArrayBuffer);
  out.add(a.pca.y.buffer as ArrayBuffer);
  return [...out];
}

/** A GPT's prompt ids: its tail, leaving room in the context for the continuation. */
export function promptIds(lm: LoadedGpt, text: string): number[] {
  const ids = lm.tokenizer.encode(text);
  if (ids.length === 0) throw new AttnError("type a prompt: the model continues a text");
  // A short context (an imported GPT-2 of 32 positions) keeps half of it for the prompt.
  const gen = Math.min(GEN_TOKENS, Math.floor(lm.config.maxLen / 2));
  const room = Math.max(1, lm.config.maxLen - gen);
  return ids.slice(-room);
}

/** The prompt's pass: recorded tensors, next-token cross-entropy and the argmax after each prefix. */
function gptPass(
  lm: LoadedGpt,
  ids: number[],
  record: boolean,
): {
  tensors: Map<string, { shape: number[]; values: ArrayLike<number> }>;
  loss: number;
  prediction: string;
} {
  // Position t predicts token t + 1; the last position's next token is not in the prompt (-1: ignored).
  const labels = [...ids.slice(1), -1];
  return noGrad(() =>
    tidy(() => {
      const x = fromArray(ids, [1, ids.length], "int32");
      const y = fromArray(labels, [1, labels.length], "int32");
      const run = () =>
        ids.length > 1 ? lm.model.loss(x, y, SHOWN_SMOOTHING).logits : lm.model.forward(x);
      const { result, tensors } = record
        ? recordIntermediates(run)
        : { result: run(), tensors: new Map() };
      const loss = ids.length > 1 ? crossEntropy(result, y).item() : Number.NaN;
      const logits = result.readSync();
      const V = lm.config.vocabSize;
      const argmax: number[] = [];
      for (let t = 0; t < ids.length; t++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
        argmax.push(best);
      }
      return { tensors, loss, prediction: lm.tokenizer.decode(argmax, { keepSpecial: true }) };
    }),
  );
}

function gptOutcome(lm: LoadedGpt, ids: number[]): Outcome {
  const gen = gptGenerate(lm.model, ids, null);
  const pass = gptPass(lm, ids, false);
  return {
    output: lm.tokenizer.decode(gen.ids, { keepSpecial: true }),
    loss: pass.loss,
    prediction: pass.prediction,
  };
}

function analyzeGpt(ctx: AnalyzeContext, lm: LoadedGpt, src: string): Analysis {
  const model = lm.model;
  model.eval();
  const iv = ctx.interventions;
  const ids = promptIds(lm, src);
  const main = withInterventions(model, iv, (): Analysis => {
    const greedy = gptGenerate(model, ids, null);
    const pass = gptPass(lm, ids, true);
    const tensors: Record<string, Rec> = {};
    for (const [name, r] of pass.tensors) tensors[name] = rec(r.shape, r.values);
    const table = model.tok_embed.weight;
    const pca = pca2(table.readSync(), table.shape[0], table.shape[1], ctx.pcaAxes);
    ctx.pcaAxes = pca.axes;
    return {
      kind: "gpt",
      src,
      tgt: "",
      srcIds: ids,
      tgtIn: ids,
      labels: [...ids.slice(1), -1],
      tensors,
      greedy,
      beams: [],
      embedTable: rec(table.shape, table.readSync()),
      pca: { x: pca.x, y: pca.y, explained: pca.explained },
      posTable: positionalTable(lm),
      maskBatch: null,
      outcome: {
        output: lm.tokenizer.decode(greedy.ids, { keepSpecial: true }),
        loss: pass.loss,
        prediction: pass.prediction,
      },
      reference: { kind: "prompt", text: src },
      baseline: null,
      interventions: iv,
      labelSmoothing: SHOWN_SMOOTHING,
      step: ctx.step,
    };
  });
  if (anyIntervention(iv))
    main.baseline = withInterventions(model, null, () => gptOutcome(lm, ids));
  return main;
}

/** GPT: the continuation with the given sampling (interventions on). */
export function generateWith(
  ctx: AnalyzeContext,
  src: string,
  sampling: SamplingSettings,
): Analysis["greedy"] {
  const { lm } = ctx;
  if (lm.kind !== "gpt") throw new AttnError("sampling a continuation needs a GPT model");
  lm.model.eval();
  const ids = promptIds(lm, src);
  return withInterventions(lm.model, ctx.interventions, () => gptGenerate(lm.model, ids, sampling));
}

/** One side of the positions comparison: the table, and the output with and without positions. */
export function positionsSide(
  lm: LoadedSeq2Seq,
  name: string,
  title: string,
  src: string,
): PositionsSide {
  lm.model.eval();
  const ids = sourceIds(lm, src);
  // No true answer (a letter outside the task's): both sides are scored on the intact output.
  const tgt =
    taskTarget(lm.task, src) ??
    withInterventions(lm.model, null, () =>
      lm.tokenizer.decode(greedyDecode(lm.model, ids, maxDecodeSteps(lm)).ids),
    );
  const on = withInterventions(lm.model, null, () => outcome(lm, ids, tgt));
  const off = withInterventions(
    lm.model,
    { noPositional: true, noCausalMask: false, noScale: false, zeroHeads: [] },
    () => outcome(lm, ids, tgt),
  );
  return {
    name,
    title,
    positional: lm.config.positional,
    table: positionalTable(lm),
    src,
    tgt,
    output: on.output,
    loss: on.loss,
    outputNoPos: off.output,
    lossNoPos: off.loss,
  };
}
