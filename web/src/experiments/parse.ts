/**
 * Reading a results.json (written by `attn experiment`, or downloaded from a
 * run in the page): what the view shows must be there with the right types,
 * and anything else is refused with a message naming the file and the field.
 */
import type { ExperimentResult } from "../../../src/browser.js";

export const RESULT_FORMAT = "attention-lab-experiment";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

class Bad extends Error {}

function str(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== "string") throw new Bad(`${at}${k} is not a string`);
}

/** A number; null (how JSON writes NaN) becomes NaN, which the table shows as such. */
function num(o: Obj, k: string, at: string): void {
  if (o[k] === null) o[k] = Number.NaN;
  if (typeof o[k] !== "number") throw new Bad(`${at}${k} is not a number`);
}

function list(o: Obj, k: string, at: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new Bad(`${at}${k} is not a list`);
  return v;
}

/** Every entry of a list is a number (null: NaN). */
function nums(o: Obj, k: string, at: string): void {
  const v = list(o, k, at) as unknown as Obj;
  for (const i of Object.keys(v)) num(v, i, `${at}${k}.`);
}

function obj(v: unknown, at: string): Obj {
  if (!isObj(v)) throw new Bad(`${at} is not an object`);
  return v;
}

/** The result in a file's text, or an Error whose message says what is wrong with `from`. */
export function parseResult(text: string, from: string): ExperimentResult {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${from} is not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (!isObj(j) || j.format !== RESULT_FORMAT) {
    const f = isObj(j) ? JSON.stringify(j.format ?? null) : "missing";
    throw new Error(
      `${from} is not an experiment's results.json: its format is ${f}, not "${RESULT_FORMAT}" (attn experiment NAME writes one)`,
    );
  }
  try {
    check(j);
  } catch (e) {
    if (e instanceof Bad) throw new Error(`${from}: ${e.message}`);
    throw e;
  }
  return j as unknown as ExperimentResult;
}

/** Throws Bad naming the first field the view cannot show. */
function check(j: Obj): void {
  if (j.version !== 1) throw new Bad(`version ${JSON.stringify(j.version)} is not 1`);
  for (const k of ["experiment", "title", "question", "backend", "date"]) str(j, k, "");
  if (j.commit !== null) str(j, "commit", "");
  num(j, "wallMs", "");
  if (typeof j.quick !== "boolean") throw new Bad("quick is not true or false");
  nums(j, "seeds", "");
  obj(j.budget, "budget");
  for (const [i, m] of list(j, "metrics", "").entries())
    for (const k of ["key", "label"]) str(obj(m, `metrics[${i}]`), k, `metrics[${i}].`);
  for (const [i, r] of list(j, "rows", "").entries()) {
    const row = obj(r, `rows[${i}]`);
    str(row, "arm", `rows[${i}].`);
    str(row, "group", `rows[${i}].`);
    for (const [k, c] of Object.entries(obj(row.cells, `rows[${i}].cells`))) {
      const at = `rows[${i}].cells.${k}.`;
      const cell = obj(c, at.slice(0, -1));
      num(cell, "mean", at);
      num(cell, "sd", at);
      nums(cell, "values", at);
    }
  }
  const conclusions = list(j, "conclusions", "") as unknown as Obj;
  for (const i of Object.keys(conclusions)) str(conclusions, i, "conclusions.");
  for (const [i, p] of list(j, "plots", "").entries()) {
    const at = `plots[${i}]`;
    const plot = obj(p, at);
    if (plot.kind !== "bars" && plot.kind !== "lines")
      throw new Bad(`${at}.kind is not "bars" or "lines"`);
    str(plot, "metric", `${at}.`);
    str(plot, "title", `${at}.`);
    if (plot.series === undefined) continue;
    for (const [n, series] of list(plot, "series", `${at}.`).entries())
      list(obj(series, `${at}.series[${n}]`), "points", `${at}.series[${n}].`);
  }
}
