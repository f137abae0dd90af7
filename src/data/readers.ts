/**
 * Readers for the data files: tab-separated parallel corpora and plain text.
 *
 * All problems a user can fix (a missing file, a wrong column, malformed
 * lines) are thrown as one-line AttnErrors naming the file and line.
 */
import { readFileSync, statSync } from "node:fs";
import { AttnError } from "../errors.js";
import type { Pair } from "./tasks.js";

export type { Pair } from "./tasks.js";

export interface TsvOptions {
  /** 0-based column index, or a column name (from the header or `columns`). */
  srcColumn: number | string;
  tgtColumn: number | string;
  /** Names for the columns when the file has no header, e.g. ["ref", "es", "en"]. */
  columns?: string[];
  /** The first non-empty line holds column names (default false). */
  header?: boolean;
  /** What to do with lines that have the wrong column count or an empty src/tgt field (default "error"). */
  onBadLine?: "skip" | "error";
  /** How many bad line numbers an error message lists (default 3). */
  maxBadLinesReported?: number;
}

export interface TsvResult {
  pairs: Pair[];
  /** 1-based line numbers with the wrong column count or an empty src/tgt field. */
  badLines: number[];
  /** Number of empty (or whitespace-only) lines skipped. */
  skippedEmpty: number;
}

/**
 * Reads a tab-separated parallel corpus. No quoting: a field is whatever lies
 * between tabs, trimmed of surrounding whitespace. A trailing "\r" (CRLF
 * files) and a leading byte-order mark are removed; empty lines are skipped
 * and counted. The expected column count comes from the header, else from
 * `columns`, else from the first non-empty line.
 */
export function readParallelTsv(path: string, opts: TsvOptions): TsvResult {
  const lines = splitLines(readText(path));
  const onBadLine = opts.onBadLine ?? "error";
  if (onBadLine !== "skip" && onBadLine !== "error") {
    throw new AttnError(`--on-bad-line must be "skip" or "error", got "${String(onBadLine)}"`);
  }
  const maxReported = opts.maxBadLinesReported ?? 3;

  let skippedEmpty = 0;
  let i = 0;
  let names: string[] | undefined = opts.columns;
  let headerLine = 0;
  if (opts.header) {
    for (; i < lines.length; i++) {
      if (isBlank(lines[i])) {
        skippedEmpty++;
        continue;
      }
      const headerNames = lines[i].split("\t").map((s) => s.trim());
      headerLine = i + 1;
      i++;
      if (names !== undefined && names.length !== headerNames.length) {
        throw new AttnError(
          `${path}: the header (line ${headerLine}) has ${headerNames.length} columns but ${names.length} column names were given`,
        );
      }
      names ??= headerNames;
      break;
    }
  }
  let expected = names?.length;
  if (expected === undefined) {
    for (let j = i; j < lines.length; j++) {
      if (!isBlank(lines[j])) {
        expected = lines[j].split("\t").length;
        break;
      }
    }
  }
  if (expected === undefined) {
    throw new AttnError(`${path}: no data lines${headerLine ? ` after the header` : ""}`);
  }
  const srcIdx = resolveColumn(path, "source", opts.srcColumn, names, expected);
  const tgtIdx = resolveColumn(path, "target", opts.tgtColumn, names, expected);

  const pairs: Pair[] = [];
  const badLines: number[] = [];
  const wrongCount: number[] = [];
  const wrongCountValues = new Set<number>();
  const emptyField: number[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (isBlank(line)) {
      skippedEmpty++;
      continue;
    }
    const fields = line.split("\t");
    if (fields.length !== expected) {
      badLines.push(i + 1);
      wrongCount.push(i + 1);
      wrongCountValues.add(fields.length);
      continue;
    }
    const src = fields[srcIdx].trim();
    const tgt = fields[tgtIdx].trim();
    if (src === "" || tgt === "") {
      badLines.push(i + 1);
      emptyField.push(i + 1);
      continue;
    }
    pairs.push({ src, tgt });
  }

  if (badLines.length > 0 && onBadLine === "error") {
    const parts: string[] = [];
    if (wrongCount.length > 0) {
      const have =
        wrongCountValues.size === 1
          ? `${plural(wrongCount.length, "line has", "lines have")} ${plural([...wrongCountValues][0], "column", "columns")} instead of ${expected}`
          : `${plural(wrongCount.length, "line has", "lines have")} a column count other than ${expected}`;
      parts.push(`${have} (${listLines(wrongCount, maxReported)})`);
    }
    if (emptyField.length > 0) {
      parts.push(
        `${plural(emptyField.length, "line has", "lines have")} an empty source or target field (${listLines(emptyField, maxReported)})`,
      );
    }
    throw new AttnError(
      `${path}: ${parts.join("; ")}; pass --on-bad-line skip to skip ${badLines.length === 1 ? "it" : "them"}`,
    );
  }
  if (pairs.length === 0) {
    throw new AttnError(`${path}: no usable lines (${badLines.length} bad, ${skippedEmpty} empty)`);
  }
  return { pairs, badLines, skippedEmpty };
}

/** The lines of a text file, without line terminators ("\n" or "\r\n"). */
export function readTextLines(path: string, opts: { skipEmpty?: boolean } = {}): string[] {
  const lines = splitLines(readText(path));
  return opts.skipEmpty ? lines.filter((l) => !isBlank(l)) : lines;
}

/**
 * A whole UTF-8 text file (a leading byte-order mark removed). Throws an
 * AttnError for a missing, unreadable, empty or non-UTF-8 file, or a directory.
 */
export function readText(path: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new AttnError(`data file is a directory, not a file: ${path}`);
    // A device or a pipe (/dev/zero) could be endless: only regular files are read.
    if (!st.isFile()) throw new AttnError(`data file is not a regular file: ${path}`);
    size = st.size;
  } catch (e) {
    if (e instanceof AttnError) throw e;
    throw fsError(path, e);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw fsError(path, e);
  }
  if (size === 0 || bytes.length === 0) throw new AttnError(`data file is empty: ${path}`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AttnError(`${path}: line ${firstBadUtf8Line(bytes)} is not valid UTF-8`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") throw new AttnError(`data file is empty (only whitespace): ${path}`);
  return text;
}

// ---------------------------------------------------------------------------

/** Splits on "\n", drops one trailing "\r" per line and the empty piece after a final newline. */
function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
  }
  return lines;
}

function isBlank(line: string): boolean {
  return line.trim() === "";
}

function resolveColumn(
  path: string,
  role: string,
  col: number | string,
  names: string[] | undefined,
  count: number,
): number {
  if (typeof col === "number") {
    if (!Number.isInteger(col) || col < 0 || col >= count) {
      throw new AttnError(
        `${path}: ${role} column index ${col} is out of range; lines have ${count} columns (0..${count - 1})`,
      );
    }
    return col;
  }
  if (names === undefined) {
    throw new AttnError(
      `${path}: ${role} column "${col}" is given by name, but the file has no header and no column names were given`,
    );
  }
  const idx = names.indexOf(col);
  if (idx < 0) {
    throw new AttnError(
      `${path}: no ${role} column named "${col}"; the columns are ${names.join(", ")}`,
    );
  }
  return idx;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listLines(lines: number[], maxReported: number): string {
  const k = Math.max(1, maxReported);
  const shown = lines.slice(0, k).join(", ");
  const more = lines.length > k ? ` and ${lines.length - k} more` : "";
  return `${lines.length === 1 ? "line" : "lines"} ${shown}${more}`;
}

function fsError(path: string, e: unknown): AttnError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return new AttnError(`data file not found: ${path}`);
  if (code === "EISDIR") return new AttnError(`data file is a directory, not a file: ${path}`);
  if (code === "EACCES" || code === "EPERM") {
    return new AttnError(`data file is not readable (permission denied): ${path}`);
  }
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return new AttnError(`cannot read data file ${path}: ${msg}`);
}

/** 1-based line of the first invalid UTF-8 sequence (only called after a fatal decode failed). */
function firstBadUtf8Line(bytes: Uint8Array): number {
  const dec = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        dec.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line - 1;
}
