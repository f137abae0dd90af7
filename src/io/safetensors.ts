/**
 * safetensors files on disk (Node only). The format itself (parse, serialize,
 * conversions) is in ./safetensors-format.ts, which has no node: imports and
 * runs in browsers; everything there is re-exported here so existing imports
 * keep working.
 */

import fs from "node:fs";
import { AttnError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import {
  type ParseOptions,
  parseSafetensors,
  type SafetensorsFile,
  serializeSafetensors,
  type TensorsToWrite,
} from "./safetensors-format.js";

export * from "./safetensors-format.js";

/** Read and parse a safetensors file (synchronously). */
export function readSafetensorsFile(
  path: string,
  opts: Omit<ParseOptions, "source"> = {},
): SafetensorsFile {
  let buf: Uint8Array;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new AttnError(`${path}: cannot read file: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseSafetensors(buf, { ...opts, source: path });
}

/** Serialize and write atomically (temp file in the same directory, fsync, rename). */
export function writeSafetensorsFile(
  path: string,
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): void {
  let bytes: Uint8Array;
  try {
    bytes = serializeSafetensors(tensors, metadata);
  } catch (e) {
    if (e instanceof AttnError) throw new AttnError(`${path}: ${e.message}`);
    throw e;
  }
  writeFileAtomic(path, bytes);
}
