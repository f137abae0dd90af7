/**
 * The safetensors file format (Hugging Face): read, validate, write.
 *
 * Layout: an 8-byte little-endian unsigned header size N, then N bytes of a
 * UTF-8 JSON object (possibly padded with trailing spaces), then the data
 * buffer. The JSON maps each tensor name to
 * `{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}` (offsets are
 * relative to the start of the data buffer) and may hold a `"__metadata__"`
 * object of string -> string. Tensor data is little-endian and row-major.
 *
 * Parsing treats the input as untrusted: every size and offset is checked
 * against the real length of the input before anything is allocated from it,
 * and every problem is reported as an AttnError naming the file and tensor.
 *
 * This module is pure (no node: imports), so it also runs in browsers and
 * workers; the file helpers live in ./safetensors.ts, which re-exports it.
 *
 * Over 400 lines as one concern: one file format, whose every field is validated before use.
 */

import { AttnError } from "../errors.js";

export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

/** One tensor as stored: `bytes` is little-endian data (a view into the parsed buffer). */
export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  /** Tensors in the order of their data in the file. */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/**
 * A tensor to write. `data` is either raw little-endian bytes (a Uint8Array,
 * for any dtype) or the typed array matching the dtype, in host byte order:
 * F64 Float64Array, F32 Float32Array, F16/BF16 Uint16Array (bit patterns),
 * I64 BigInt64Array, I32 Int32Array, I16 Int16Array, I8 Int8Array, U8/BOOL Uint8Array.
 */
export interface TensorToWrite {
  dtype: SafetensorsDType;
  shape: number[];
  data: ArrayBufferView;
}

export type TensorsToWrite = Record<string, TensorToWrite> | Map<string, TensorToWrite>;

export interface ParseOptions {
  /** Name of the file, used in error messages. */
  source?: string;
  /** Largest accepted JSON header, in bytes (default 100,000,000). */
  maxHeaderBytes?: number;
}

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDType(x: unknown): x is SafetensorsDType {
  return typeof x === "string" && Object.hasOwn(DTYPE_SIZE, x);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** A short, bounded rendering of an untrusted JSON value for error messages. */
function show(x: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(x) ?? String(x);
  } catch {
    s = String(x);
  }
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/**
 * Number of elements of `shape`, or throws. Checks each dim is a non-negative
 * safe integer and the product stays a safe integer.
 */
function elementCount(shape: readonly unknown[], where: () => string): number {
  for (const d of shape) {
    if (!isIndex(d)) {
      throw new AttnError(
        `${where()} has a shape ${show(shape)} with an invalid dimension ${show(d)}`,
      );
    }
  }
  const dims = shape as readonly number[];
  if (dims.includes(0)) return 0;
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (!Number.isSafeInteger(count)) {
      throw new AttnError(`${where()} has a shape ${show(shape)} with too many elements`);
    }
  }
  return count;
}

// ---------------------------------------------------------------------------
// Parsing

/**
 * Parse and validate a safetensors file held in memory. The returned tensors'
 * bytes are views into `buf` (no copy).
 */
/** Deepest nesting a header may have: {name: {shape: [...]}} needs 3; the rest is slack. */
const MAX_HEADER_DEPTH = 16;

/** The deepest bracket nesting of a JSON text (outside strings), in one pass. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export function parseSafetensors(buf: Uint8Array, opts: ParseOptions = {}): SafetensorsFile {
  const src = opts.source ?? "safetensors data";
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const fail = (msg: string): never => {
    throw new AttnError(`${src}: ${msg}`);
  };

  if (buf.byteLength < 8) {
    fail(`file is too short (${buf.byteLength} bytes) to hold the 8-byte header size`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerSizeBig = view.getBigUint64(0, true);
  const room = buf.byteLength - 8;
  if (headerSizeBig > BigInt(room)) {
    fail(`header size ${headerSizeBig} exceeds the ${room} bytes that follow it`);
  }
  const headerSize = Number(headerSizeBig); // safe: bounded by the buffer length
  if (headerSize > maxHeader) {
    fail(`header size ${headerSize} exceeds the limit of ${maxHeader} bytes`);
  }
  if (headerSize < 2) fail(`header size ${headerSize} is too small for a JSON object`);
  if (buf[8] !== 0x7b) fail(`header does not start with "{"`);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      buf.subarray(8, 8 + headerSize),
    );
  } catch {
    return fail("header is not valid UTF-8");
  }
  const depth = jsonDepth(text);
  if (depth > MAX_HEADER_DEPTH)
    fail(
      `header nests ${depth} levels deep (a safetensors header needs ${MAX_HEADER_DEPTH} at most)`,
    );
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(header)) return fail("header JSON is not an object");

  const dataStart = 8 + headerSize;
  const dataLength = buf.byteLength - dataStart;

  let metadata: Record<string, string> = {};
  interface Entry {
    name: string;
    dtype: SafetensorsDType;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];

  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(info, fail);
      continue;
    }
    const where = () => `${src}: tensor ${show(name)}`;
    if (!isPlainObject(info)) {
      throw new AttnError(`${where()} is described by ${show(info)}, not an object`);
    }
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isDType(dtype)) {
      throw new AttnError(
        `${where()} has an unsupported dtype ${show(dtype)} ` +
          `(supported: ${Object.keys(DTYPE_SIZE).join(", ")})`,
      );
    }
    if (!Array.isArray(shape)) {
      throw new AttnError(`${where()} has a shape ${show(shape)} that is not an array`);
    }
    const count = elementCount(shape, where);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !isIndex(offsets[0]) ||
      !isIndex(offsets[1])
    ) {
      throw new AttnError(
        `${where()} has data_offsets ${show(offsets)}; expected [begin, end] of non-negative integers`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) {
      throw new AttnError(`${where()} has data_offsets [${begin}, ${end}] with end before begin`);
    }
    if (end > dataLength) {
      throw new AttnError(
        `${where()} data_offsets [${begin}, ${end}] exceed the data buffer (${dataLength} bytes)`,
      );
    }
    const expected = count * DTYPE_SIZE[dtype]; // <= 8 * MAX_SAFE_INTEGER: exact enough to compare
    if (end - begin !== expected) {
      throw new AttnError(
        `${where()} has data_offsets [${begin}, ${end}] (${end - begin} bytes) but dtype ${dtype} ` +
          `and shape ${show(shape)} need ${expected} bytes`,
      );
    }
    entries.push({ name, dtype, shape: shape.slice() as number[], begin, end });
  }

  // The data regions must tile the buffer exactly: no overlap, no gap, no trailing bytes.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.begin < pos) {
      const prev = entries[i - 1];
      fail(
        `tensor ${show(e.name)} data_offsets [${e.begin}, ${e.end}] overlap tensor ` +
          `${show(prev.name)} data_offsets [${prev.begin}, ${prev.end}]`,
      );
    }
    if (e.begin > pos) {
      fail(
        `tensor ${show(e.name)} data_offsets [${e.begin}, ${e.end}] leave a gap at ` +
          `bytes [${pos}, ${e.begin}] of the data buffer`,
      );
    }
    pos = e.end;
  }
  if (pos !== dataLength) {
    fail(`data buffer has ${dataLength - pos} unused trailing bytes (tensors end at ${pos})`);
  }

  const tensors = new Map<string, RawTensor>();
  for (const e of entries) {
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      bytes: new Uint8Array(buf.buffer, buf.byteOffset + dataStart + e.begin, e.end - e.begin),
    });
  }
  return { tensors, metadata };
}

function parseMetadata(info: unknown, fail: (msg: string) => never): Record<string, string> {
  if (!isPlainObject(info)) return fail(`"__metadata__" is ${show(info)}, not an object`);
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(info)) {
    if (typeof v !== "string") {
      fail(`"__metadata__" entry ${show(k)} has value ${show(v)}, not a string`);
    }
    pairs.push([k, v as string]);
  }
  // fromEntries defines own properties, so even a "__proto__" key survives.
  return Object.fromEntries(pairs);
}

// ---------------------------------------------------------------------------
// Serializing

/** The typed array each dtype accepts besides raw Uint8Array bytes. */
const TYPED_FOR: Record<SafetensorsDType, string> = {
  F64: "Float64Array",
  F32: "Float32Array",
  F16: "Uint16Array",
  BF16: "Uint16Array",
  I64: "BigInt64Array",
  I32: "Int32Array",
  I16: "Int16Array",
  I8: "Int8Array",
  U8: "Uint8Array",
  BOOL: "Uint8Array",
};

function typeName(x: ArrayBufferView): string {
  return Object.prototype.toString.call(x).slice(8, -1);
}

interface Prepared {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: ArrayBufferView;
  size: number;
}

/**
 * Serialize tensors (and optional string metadata) to safetensors bytes.
 * Tensors are laid out by element size (largest first, so each one is aligned
 * to its element size), then by name; the header is padded with spaces to a
 * multiple of 8 bytes and the data is contiguous.
 */
export function serializeSafetensors(
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): Uint8Array {
  const list: Prepared[] = [];
  const pairs = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of pairs) {
    const where = () => `cannot serialize tensor ${show(name)}`;
    if (typeof name !== "string")
      throw new AttnError(`cannot serialize a tensor named ${show(name)}`);
    if (name === METADATA_KEY) throw new AttnError(`${where()}: the name is reserved`);
    if (!isPlainObject(t)) throw new AttnError(`${where()}: expected {dtype, shape, data}`);
    if (!isDType(t.dtype)) throw new AttnError(`${where()}: unsupported dtype ${show(t.dtype)}`);
    if (!Array.isArray(t.shape)) throw new AttnError(`${where()}: shape is not an array`);
    const count = elementCount(t.shape, where);
    const data = t.data;
    if (!ArrayBuffer.isView(data) || data instanceof DataView) {
      throw new AttnError(`${where()}: data must be a typed array`);
    }
    const kind = typeName(data);
    if (kind !== "Uint8Array" && kind !== TYPED_FOR[t.dtype]) {
      throw new AttnError(
        `${where()}: dtype ${t.dtype} needs a ${TYPED_FOR[t.dtype]} (or raw Uint8Array bytes), ` +
          `got a ${kind}`,
      );
    }
    const size = count * DTYPE_SIZE[t.dtype];
    if (data.byteLength !== size) {
      throw new AttnError(
        `${where()}: dtype ${t.dtype} and shape ${show(t.shape)} need ${size} bytes, ` +
          `but the data has ${data.byteLength}`,
      );
    }
    list.push({ name, dtype: t.dtype, shape: t.shape.slice(), data, size });
  }
  list.sort(
    (a, b) =>
      DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  // Build the JSON by hand so key order is ours (JS objects reorder integer-like
  // keys) and names such as "__proto__" are written as ordinary keys.
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new AttnError("cannot serialize metadata: not an object");
    const keys = Object.keys(metadata).sort();
    if (keys.length > 0) {
      const items = keys.map((k) => {
        const v = metadata[k];
        if (typeof v !== "string") {
          throw new AttnError(
            `cannot serialize metadata ${show(k)}: value ${show(v)} is not a string`,
          );
        }
        return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
      });
      parts.push(`${JSON.stringify(METADATA_KEY)}:{${items.join(",")}}`);
    }
  }
  let offset = 0;
  for (const t of list) {
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":${JSON.stringify(t.dtype)},` +
        `"shape":[${t.shape.join(",")}],"data_offsets":[${offset},${offset + t.size}]}`,
    );
    offset += t.size;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerSize = Math.ceil(json.byteLength / 8) * 8;
  const total = 8 + headerSize + offset;
  let out: Uint8Array;
  try {
    out = new Uint8Array(total);
  } catch {
    throw new AttnError(`cannot serialize: ${total} bytes is too large for one buffer`);
  }
  new DataView(out.buffer).setBigUint64(0, BigInt(headerSize), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerSize);
  let pos = 8 + headerSize;
  for (const t of list) {
    writeLittleEndian(out, pos, t.data, DTYPE_SIZE[t.dtype]);
    pos += t.size;
  }
  return out;
}

/** Copy `data` into `out` at `pos`, byte-swapping typed arrays on big-endian hosts. */
function writeLittleEndian(out: Uint8Array, pos: number, data: ArrayBufferView, elem: number) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN_HOST || elem === 1 || data instanceof Uint8Array) {
    out.set(bytes, pos);
    return;
  }
  for (let i = 0; i < bytes.length; i += elem) {
    for (let j = 0; j < elem; j++) out[pos + i + j] = bytes[i + elem - 1 - j];
  }
}

// ---------------------------------------------------------------------------
// Conversions

function checkRaw(t: RawTensor, what: string, name?: string): number {
  const label = name === undefined ? "tensor" : `tensor ${show(name)}`;
  if (!isDType(t.dtype))
    throw new AttnError(`${what}: ${label} has unsupported dtype ${show(t.dtype)}`);
  const count = elementCount(t.shape, () => `${what}: ${label}`);
  if (!(t.bytes instanceof Uint8Array) || t.bytes.byteLength !== count * DTYPE_SIZE[t.dtype]) {
    throw new AttnError(
      `${what}: ${label} has ${t.bytes?.byteLength} bytes but dtype ${t.dtype} and shape ` +
        `${show(t.shape)} need ${count * DTYPE_SIZE[t.dtype]}`,
    );
  }
  return count;
}

let f16Table: Uint32Array | null = null;

/** float32 bit patterns of all 65536 float16 values (exact, NaN payloads kept). */
function f16ToF32Bits(): Uint32Array {
  if (f16Table !== null) return f16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let man = h & 0x3ff;
    if (exp === 0x1f) {
      table[h] = sign | 0x7f800000 | (man << 13); // inf / nan
    } else if (exp !== 0) {
      table[h] = sign | ((exp + 112) << 23) | (man << 13); // normal: rebias 15 -> 127
    } else if (man === 0) {
      table[h] = sign; // +-0
    } else {
      // Subnormal: value = man * 2^-24. Normalize (at most 10 shifts).
      let e = 113; // 127 - 14: float32 exponent field if bit 10 were already set
      while ((man & 0x400) === 0) {
        man <<= 1;
        e--;
      }
      table[h] = sign | (e << 23) | ((man & 0x3ff) << 13);
    }
  }
  f16Table = table;
  return table;
}

/** Exact float32 value of one float16 bit pattern. */
export function f16BitsToNumber(h: number): number {
  const u = new Uint32Array([f16ToF32Bits()[h & 0xffff]]);
  return new Float32Array(u.buffer)[0];
}

/** Exact float32 value of one bfloat16 bit pattern. */
export function bf16BitsToNumber(h: number): number {
  const u = new Uint32Array([(h & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0];
}

/**
 * The tensor's values as a new Float32Array (always a copy). F16 and BF16 are
 * exact; F64 and 64-bit integers round to nearest float32; BOOL gives 0 or 1.
 */
/**
 * A weight's values as float32. Weights are floating point: an integer dtype (an F32 header
 * relabelled I32 has the same size) is refused, naming the tensor.
 */
export function weightValues(t: RawTensor, name: string, source: string): Float32Array {
  if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16" && t.dtype !== "F64")
    throw new AttnError(
      `${source}: tensor ${show(name)} has dtype ${t.dtype}; weights must be floating point (F32, F16, BF16 or F64)`,
    );
  return toFloat32(t, name);
}

export function toFloat32(t: RawTensor, name?: string): Float32Array {
  const n = checkRaw(t, "toFloat32", name);
  const b = t.bytes;
  const out = new Float32Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (t.dtype) {
    case "F32":
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(b);
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case "F16": {
      const table = f16ToF32Bits();
      const bits = new Uint32Array(out.buffer); // same host order as `out`
      for (let i = 0; i < n; i++) bits[i] = table[b[2 * i] | (b[2 * i + 1] << 8)];
      break;
    }
    case "BF16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = ((b[2 * i] << 16) | (b[2 * i + 1] << 24)) >>> 0;
      break;
    }
    case "F64":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case "I64":
      for (let i = 0; i < n; i++) {
        out[i] = dv.getInt32(8 * i + 4, true) * 4294967296 + dv.getUint32(8 * i, true);
      }
      break;
    default:
      readSmallIntegers(t.dtype, dv, b, n, out);
  }
  return out;
}

/** I32, I16, I8, U8 and BOOL (as 0/1) into `out`, shared by toFloat32 and toInt32; false for other dtypes. */
function readSmallIntegers(
  dtype: SafetensorsDType,
  dv: DataView,
  b: Uint8Array,
  n: number,
  out: Float32Array | Int32Array,
): boolean {
  switch (dtype) {
    case "I32":
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case "I16":
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      break;
    case "I8":
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case "U8":
      for (let i = 0; i < n; i++) out[i] = b[i];
      break;
    case "BOOL":
      for (let i = 0; i < n; i++) out[i] = b[i] !== 0 ? 1 : 0;
      break;
    default:
      return false;
  }
  return true;
}

/**
 * The tensor's values as a new Int32Array. Accepts integer dtypes and BOOL
 * (0 or 1); I64 values outside the int32 range are an error, as are floats.
 */
export function toInt32(t: RawTensor, name?: string): Int32Array {
  const n = checkRaw(t, "toInt32", name);
  const label = name === undefined ? "tensor" : `tensor ${show(name)}`;
  const b = t.bytes;
  const out = new Int32Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (t.dtype) {
    case "I64":
      for (let i = 0; i < n; i++) {
        const lo = dv.getUint32(8 * i, true);
        const hi = dv.getInt32(8 * i + 4, true);
        if (!((hi === 0 && lo < 0x80000000) || (hi === -1 && lo >= 0x80000000))) {
          throw new AttnError(
            `toInt32: ${label} (I64) has value ${dv.getBigInt64(8 * i, true)} at index ${i}, ` +
              "outside the int32 range",
          );
        }
        out[i] = lo | 0;
      }
      break;
    default:
      if (readSmallIntegers(t.dtype, dv, b, n, out)) break;
      throw new AttnError(
        `toInt32: ${label} has floating-point dtype ${t.dtype}, not an integer type`,
      );
  }
  return out;
}
