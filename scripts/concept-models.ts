/**
 * The shipped checkpoints the concept figures read (web/public/checkpoints/),
 * loaded once each the way `attn` loads a run, and the passes the figures
 * share: a teacher-forced pass of the dates model on one date, recording taps.
 */
import path from "node:path";
import { loadRun } from "../src/cli/load.js";
import { decodeBatch } from "../src/generate/decode.js";
import type { GPT } from "../src/models/gpt.js";
import type { Transformer } from "../src/models/transformer.js";
import { type Recorded, recordIntermediates } from "../src/nn/hooks.js";
import { fromArray, noGrad, tidy } from "../src/tensor/index.js";
import type { Tokenizer } from "../src/tokenizers/tokenizer.js";
import { LABEL_AFTER_BAR, SEQUENTIAL, type Spec, r3, showToken } from "./concept-svg.js";

const CHECKPOINTS = "web/public/checkpoints";

/** The date every dates-model figure reads. */
export const DATE = "March 5, 2019";
/** An ambiguous numeric date: beam search weighs both readings. */
export const AMBIGUOUS_DATE = "3/5/2019";
/** The kjv-gpt figures' prompt. */
export const GPT_PROMPT = "In the beginning God created the heaven and the earth.";

export interface Seq2Seq {
  model: Transformer;
  tok: Tokenizer;
}

export interface Lm {
  model: GPT;
  tok: Tokenizer;
}

const loaded = new Map<string, unknown>();

/** A shipped checkpoint by name (dates, reverse-sinusoidal, reverse-learned, kjv-gpt). */
export function checkpoint<T extends Seq2Seq | Lm>(name: string): T {
  if (!loaded.has(name)) {
    const run = loadRun(path.join(CHECKPOINTS, name));
    loaded.set(name, { model: run.model, tok: run.tokenizer });
  }
  return loaded.get(name) as T;
}

export const dates = () => checkpoint<Seq2Seq>("dates");

/** Token labels of ids (specials by name, the space made visible). */
export function tokenLabels(tok: Tokenizer, ids: readonly number[]): string[] {
  return ids.map((id) => showToken(tok.idToToken(id)));
}

/** Runs fn without gradients and records the taps whose names pass `filter`. */
export function record(fn: () => void, filter: (name: string) => boolean): Map<string, Recorded> {
  return noGrad(() => recordIntermediates(() => tidy(fn), filter).tensors);
}

/** A teacher-forced pass of the dates model on one source; the target is its own greedy output. */
export function datePass(src: string, filter: (name: string) => boolean) {
  const { model, tok } = dates();
  const { bosId, eosId } = model.config;
  const ids = tok.encode(src);
  const out = decodeBatch(model, [ids])[0][0].tokens;
  const tensors = record(() => {
    model.forward(
      fromArray([...ids, eosId], [1, ids.length + 1], "int32"),
      fromArray([bosId, ...out], [1, out.length + 1], "int32"),
    );
  }, filter);
  return {
    tensors,
    srcLabels: tokenLabels(tok, [...ids, eosId]),
    /** Row t of the decoder predicts out[t] (the last row EOS). */
    predicted: tokenLabels(tok, [...out, eosId]),
    out,
  };
}

export function tap(t: Map<string, Recorded>, name: string): Recorded {
  const r = t.get(name);
  if (!r) throw new Error(`concept figures: tap ${name} was not recorded`);
  return r;
}

/** Cells {row, col, w} of the matrix [rows, cols] at `offset` in a recorded tensor. */
export function cells(
  values: ArrayLike<number>,
  offset: number,
  rowKeys: string[],
  colKeys: string[],
) {
  return rowKeys.flatMap((row, i) =>
    colKeys.map((col, j) => ({ row, col, w: r3(values[offset + i * colKeys.length + j]) })),
  );
}

/** Attention weights as a heatmap (one cell per query × key, 13 px each), optionally one panel per facet value. */
export function attentionHeatmap(
  colTitle: string,
  rowTitle: string,
  facet?: Spec,
  columns?: number,
): Spec {
  const axis = { labelExpr: LABEL_AFTER_BAR };
  const encoding = {
    x: {
      field: "col",
      type: "ordinal",
      sort: null,
      title: colTitle,
      axis: { ...axis, labelAngle: 0 },
    },
    y: { field: "row", type: "ordinal", sort: null, title: rowTitle, axis },
    color: {
      field: "w",
      type: "quantitative",
      title: "weight",
      scale: { domain: [0, 1], range: SEQUENTIAL },
    },
  };
  const cell = {
    width: { step: 13 },
    height: { step: 13 },
    mark: { type: "rect", aria: false },
    encoding,
  };
  if (!facet) return cell;
  return { spec: cell, facet, ...(columns ? { columns } : {}) };
}
