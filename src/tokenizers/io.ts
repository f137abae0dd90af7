/**
 * tokenizer.json files (Node only; the tokenizers themselves use no file system).
 */
import fs from "node:fs";
import { AttnError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { tokenizerFromJSON } from "./index.js";
import type { Tokenizer } from "./tokenizer.js";

/** Writes `tokenizer.toJSON()` to `path` as JSON, atomically. */
export function saveTokenizer(path: string, tokenizer: Tokenizer): void {
  const text = `${JSON.stringify(tokenizer.toJSON())}\n`;
  writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Reads a tokenizer.json file. Throws AttnError naming the file on any problem. */
export function loadTokenizer(path: string): Tokenizer {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new AttnError(`cannot read tokenizer file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AttnError(`tokenizer file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return tokenizerFromJSON(json);
  } catch (e) {
    if (e instanceof AttnError) throw new AttnError(`${path}: ${e.message}`);
    throw e;
  }
}
