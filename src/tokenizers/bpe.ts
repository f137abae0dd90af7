/**
 * Byte-level BPE (byte pair encoding, as in GPT-2).
 *
 * - Base vocabulary: the 256 bytes, ids 4..259 (like the byte tokenizer), so any text encodes
 *   without UNK and decode(encode(s)) === s for every well-formed string.
 * - Pre-tokenization: text is split into chunks (see `pretokenize`); merges never cross chunks.
 * - Training: repeatedly merge the most frequent adjacent pair of tokens (ties: the lowest pair
 *   of ids) into a new token with the next id, until vocabSize is reached or no pair occurs at
 *   least minFrequency times. It runs on the unique chunks weighted by their counts, keeps pair
 *   counts up to date incrementally (an index pair -> chunks that contain it) and picks the best
 *   pair with a lazy max-heap, so each merge only touches the chunks that contain its pair.
 * - Encoding: within each chunk, apply the merges in order of rank (lowest first), which gives
 *   the same tokens as training did on the training chunks. Chunk encodings are cached.
 *
 * Over 400 lines as one concern: training and encoding share the merge table and its invariants.
 */
import { AttnError } from "../errors.js";
import { BYTE_VOCAB_SIZE, byteTokenTable, displayIndex } from "./byte.js";
import {
  badJSON,
  type BpeTokenizerJSON,
  checkCommonFields,
  checkId,
  checkIntOption,
  type DecodeOptions,
  decodeByteTokens,
  displayBytes,
  type EncodeOptions,
  isPlainObject,
  iterTexts,
  NUM_SPECIAL,
  requireField,
  requireString,
  SPECIAL_TOKENS,
  type Tokenizer,
  TOKENIZER_FORMAT_VERSION,
  utf8Encoder,
  withSpecials,
} from "./tokenizer.js";

/** Name of the pre-tokenizer below, saved in tokenizer.json. Change it when the rules change. */
export const BPE_PRETOKENIZER = "bytelevel-v1";

/** Largest vocabulary a BPE tokenizer may have (pair keys a * vocabSize + b stay exact). */
export const MAX_BPE_VOCAB = 1 << 24;

/** Chunks longer than this (UTF-16 units) are cut into pieces, which bounds encoding cost. */
export const MAX_CHUNK_LENGTH = 256;

/** The longest token encoding can produce: a whole chunk of 4-byte characters. */
const MAX_TOKEN_BYTES = 4 * MAX_CHUNK_LENGTH;
/** All merged tokens' bytes together (a 1M-merge vocabulary of 64-byte tokens fits). */
const MAX_TOTAL_TOKEN_BYTES = 1 << 26;

/**
 * Chunks: an optional single space followed by letters (with combining marks), or by digits, or
 * by other non-space symbols; or a run of whitespace, except that a space just before a
 * non-space character goes with the chunk that follows (" world"). Every character of the text
 * is in exactly one chunk.
 */
const CHUNK_PATTERN = / ?[\p{L}\p{M}]+| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]+|\s+?(?= \S)|\s+/gu;

/** Splits text into the chunks that BPE merges stay within; their concatenation is `text`. */
export function pretokenize(text: string): string[] {
  const chunks = text.match(CHUNK_PATTERN);
  if (chunks === null) return [];
  let long = false;
  for (const c of chunks) if (c.length > MAX_CHUNK_LENGTH) long = true;
  if (!long) return chunks;
  const out: string[] = [];
  for (const c of chunks) {
    let start = 0;
    while (c.length - start > MAX_CHUNK_LENGTH) {
      let end = start + MAX_CHUNK_LENGTH;
      // Do not cut a surrogate pair in two.
      const lo = c.charCodeAt(end);
      if (lo >= 0xdc00 && lo <= 0xdfff) end--;
      out.push(c.slice(start, end));
      start = end;
    }
    out.push(c.slice(start));
  }
  return out;
}

/** Checks a list of merges; merge i makes id 260 + i from two earlier non-special ids. */
function checkMerges(merges: unknown, fail: (message: string) => never): [number, number][] {
  if (!Array.isArray(merges)) fail(`"merges" must be an array of [id, id] pairs`);
  if (BYTE_VOCAB_SIZE + merges.length > MAX_BPE_VOCAB) {
    fail(
      `too many merges (${merges.length}); the vocabulary may have at most ${MAX_BPE_VOCAB} ids`,
    );
  }
  const seen = new Map<string, number>();
  const out: [number, number][] = [];
  // Token lengths in bytes, known before any token is built: a chain of merges that each
  // extend the last would otherwise cost memory quadratic in the file's size.
  const length: number[] = Array.from({ length: BYTE_VOCAB_SIZE }, (_, i) =>
    i < NUM_SPECIAL ? 0 : 1,
  );
  let total = 0;
  merges.forEach((m: unknown, i: number) => {
    if (!Array.isArray(m) || m.length !== 2) {
      fail(`merge #${i} must be a pair [id, id], got ${JSON.stringify(m)}`);
    }
    const newId = BYTE_VOCAB_SIZE + i;
    for (const id of m) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < NUM_SPECIAL || id >= newId) {
        fail(
          `merge #${i} ${JSON.stringify(m)}: ids must be integers in ${NUM_SPECIAL}..${newId - 1} ` +
            `(bytes or earlier merges, not special tokens)`,
        );
      }
    }
    const key = `${m[0]},${m[1]}`;
    const prev = seen.get(key);
    if (prev !== undefined) fail(`merge #${i} [${key}] repeats merge #${prev}`);
    seen.set(key, i);
    const n = length[m[0]] + length[m[1]];
    // A chunk is at most MAX_CHUNK_LENGTH UTF-16 units (4 bytes each in UTF-8): no longer
    // token can ever be produced by encoding.
    if (n > MAX_TOKEN_BYTES)
      fail(
        `merge #${i} [${key}] makes a token of ${n} bytes; tokens have at most ${MAX_TOKEN_BYTES}`,
      );
    total += n;
    if (total > MAX_TOTAL_TOKEN_BYTES)
      fail(`the merges' tokens take more than ${MAX_TOTAL_TOKEN_BYTES} bytes in all`);
    length.push(n);
    out.push([m[0], m[1]]);
  });
  return out;
}

/** Latin-1 string with one char per byte: a compact Map key for a byte string. */
function bytesKey(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Number of cached chunk encodings kept before the cache is cleared. */
const CACHE_LIMIT = 100_000;

export class BpeTokenizer implements Tokenizer {
  readonly type = "bpe" as const;
  readonly vocabSize: number;
  /** merges[i] = [left, right] makes token 260 + i. */
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  /** Pair key (left * vocabSize + right) -> rank (index in merges). */
  private readonly ranks = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, number[]>();
  private displays: Map<string, number> | undefined;
  private byBytes: Map<string, number> | undefined;

  constructor(merges: ReadonlyArray<readonly [number, number]>) {
    const checked = checkMerges(merges, (msg) => {
      throw new AttnError(`bpe tokenizer: ${msg}`);
    });
    this.merges = checked.map(([a, b]) => Object.freeze([a, b] as const));
    this.vocabSize = BYTE_VOCAB_SIZE + checked.length;
    this.left = Int32Array.from(checked, (m) => m[0]);
    this.right = Int32Array.from(checked, (m) => m[1]);
    this.tokenBytes = byteTokenTable();
    checked.forEach(([a, b], rank) => {
      this.ranks.set(a * this.vocabSize + b, rank);
      const ba = this.tokenBytes[a];
      const bb = this.tokenBytes[b];
      const joined = new Uint8Array(ba.length + bb.length);
      joined.set(ba, 0);
      joined.set(bb, ba.length);
      this.tokenBytes.push(joined);
    });
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const out: number[] = [];
    for (const chunk of pretokenize(text)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = this.encodeChunk(chunk);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(chunk, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
    return withSpecials(out, opts);
  }

  /** Applies the merges to one chunk: the lowest-ranked pair present first, all occurrences. */
  private encodeChunk(chunk: string): number[] {
    const bytes = utf8Encoder.encode(chunk);
    let n = bytes.length;
    const ids = new Array<number>(n);
    for (let i = 0; i < n; i++) ids[i] = bytes[i] + NUM_SPECIAL;
    const ranks = this.ranks;
    const v = this.vocabSize;
    while (n >= 2) {
      let best = -1;
      for (let i = 0; i < n - 1; i++) {
        const r = ranks.get(ids[i] * v + ids[i + 1]);
        if (r !== undefined && (best < 0 || r < best)) best = r;
      }
      if (best < 0) break;
      const a = this.left[best];
      const b = this.right[best];
      const z = BYTE_VOCAB_SIZE + best;
      let w = 0;
      for (let i = 0; i < n; ) {
        if (i < n - 1 && ids[i] === a && ids[i + 1] === b) {
          ids[w++] = z;
          i += 2;
        } else {
          ids[w++] = ids[i++];
        }
      }
      n = w;
    }
    ids.length = n;
    return ids;
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    return decodeByteTokens(ids, this.tokenBytes, opts, "bpe tokenizer decode");
  }

  /**
   * Accepts a special token's name, a token as idToToken shows it ("␣the", "\n"), or else raw
   * text whose UTF-8 bytes are exactly one token (" the"). The lowest such id is returned.
   */
  tokenToId(token: string): number | undefined {
    const special = SPECIAL_TOKENS.indexOf(token);
    if (special >= 0) return special;
    this.displays ??= displayIndex(this.tokenBytes);
    const id = this.displays.get(token);
    if (id !== undefined) return id;
    if (this.byBytes === undefined) {
      this.byBytes = new Map();
      for (let i = this.tokenBytes.length - 1; i >= NUM_SPECIAL; i--) {
        this.byBytes.set(bytesKey(this.tokenBytes[i]), i);
      }
    }
    return this.byBytes.get(bytesKey(utf8Encoder.encode(token)));
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize, "bpe tokenizer idToToken");
    return id < NUM_SPECIAL ? SPECIAL_TOKENS[id] : displayBytes(this.tokenBytes[id]);
  }

  /** The raw bytes of a token (empty for special tokens). */
  tokenBytesOf(id: number): Uint8Array {
    checkId(id, this.vocabSize, "bpe tokenizer tokenBytesOf");
    return this.tokenBytes[id].slice();
  }

  toJSON(): BpeTokenizerJSON {
    return {
      type: "bpe",
      version: TOKENIZER_FORMAT_VERSION,
      specialTokens: [...SPECIAL_TOKENS],
      vocabSize: this.vocabSize,
      pretokenizer: BPE_PRETOKENIZER,
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }

  /** Builds a tokenizer from a parsed tokenizer.json object with type "bpe". */
  static fromJSON(obj: Record<string, unknown>): BpeTokenizer {
    const checkVocabSize = checkCommonFields(obj);
    const pre = requireString(obj, "pretokenizer");
    if (pre !== BPE_PRETOKENIZER) {
      badJSON(`unknown pretokenizer ${JSON.stringify(pre)} (expected "${BPE_PRETOKENIZER}")`);
    }
    const merges = checkMerges(requireField(obj, "merges"), badJSON);
    checkVocabSize(BYTE_VOCAB_SIZE + merges.length);
    return new BpeTokenizer(merges);
  }
}

/** Max-heap of (count, pair key): larger count first, then smaller key (= lower pair of ids). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  topCount(): number {
    return this.counts[0];
  }

  topKey(): number {
    return this.keys[0];
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    const n = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < n && this.above(l, top)) top = l;
      if (r < n && this.above(r, top)) top = r;
      if (top === i) break;
      this.swap(i, top);
      i = top;
    }
  }
}

export interface BpeTrainOptions {
  /** Target vocabulary size, special tokens and the 256 bytes included (>= 260). */
  vocabSize: number;
  /** Stop when the most frequent pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
}

/**
 * Learns byte-level BPE merges from `texts`. The result has `opts.vocabSize` ids, or fewer when
 * the corpus runs out of pairs occurring at least `minFrequency` times.
 */
export function trainBpeTokenizer(texts: Iterable<string>, opts: BpeTrainOptions): BpeTokenizer {
  const what = "trainBpeTokenizer";
  if (!isPlainObject(opts)) throw new AttnError(`${what}: options { vocabSize } are required`);
  const vocabSize = checkIntOption(
    what,
    "vocabSize",
    opts.vocabSize,
    BYTE_VOCAB_SIZE,
    MAX_BPE_VOCAB,
  );
  const minFrequency = checkIntOption(what, "minFrequency", opts.minFrequency ?? 2, 1);

  // 1. Unique chunks with their counts.
  const chunkCounts = new Map<string, number>();
  for (const text of iterTexts(texts, what)) {
    for (const c of pretokenize(text)) chunkCounts.set(c, (chunkCounts.get(c) ?? 0) + 1);
  }

  // 2. Chunks with at least two bytes, as token ids in one flat buffer ("words").
  const encoded: Uint8Array[] = [];
  const weights: number[] = [];
  let total = 0;
  for (const [chunk, count] of chunkCounts) {
    const bytes = utf8Encoder.encode(chunk);
    if (bytes.length < 2) continue;
    encoded.push(bytes);
    weights.push(count);
    total += bytes.length;
  }
  chunkCounts.clear();
  const nWords = encoded.length;
  const buf = new Int32Array(total);
  const offsets = new Int32Array(nWords);
  const lens = new Int32Array(nWords);
  let pos = 0;
  for (let w = 0; w < nWords; w++) {
    const bytes = encoded[w];
    offsets[w] = pos;
    lens[w] = bytes.length;
    for (let i = 0; i < bytes.length; i++) buf[pos++] = bytes[i] + NUM_SPECIAL;
  }
  encoded.length = 0;

  // 3. Pair counts and the index pair -> words containing it (ascending, possibly stale).
  const M = vocabSize; // pair key = left * M + right
  const pairCounts = new Map<number, number>();
  const where = new Map<number, number[]>();
  const addWord = (key: number, w: number) => {
    const list = where.get(key);
    if (list === undefined) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < nWords; w++) {
    const count = weights[w];
    const end = offsets[w] + lens[w];
    for (let i = offsets[w]; i < end - 1; i++) {
      const key = buf[i] * M + buf[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      addWord(key, w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);

  // 4. Merge loop.
  const merges: [number, number][] = [];
  const touched = new Set<number>();
  let weight = 0;
  let word = 0;
  const dec = (key: number) => {
    pairCounts.set(key, pairCounts.get(key)! - weight);
  };
  const inc = (key: number) => {
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + weight);
    touched.add(key);
    addWord(key, word);
  };
  while (BYTE_VOCAB_SIZE + merges.length < vocabSize) {
    // Pop until an entry is up to date: entries only ever overestimate (see below).
    let best = -1;
    let bestCount = 0;
    while (heap.size > 0) {
      const count = heap.topCount();
      const key = heap.topKey();
      heap.pop();
      const current = pairCounts.get(key) ?? 0;
      if (current === count) {
        best = key;
        bestCount = count;
        break;
      }
      if (current > 0) heap.push(current, key);
    }
    if (best < 0 || bestCount < minFrequency) break;

    const a = Math.floor(best / M);
    const b = best - a * M;
    const z = BYTE_VOCAB_SIZE + merges.length;
    merges.push([a, b]);
    const list = where.get(best)!;
    where.delete(best);
    touched.clear();
    // Merge (a, b) -> z left to right in every word that still contains it. For each merge at
    // x a b y: pairs (x, a), (a, b), (b, y) lose the word's weight, (x, z) and (z, y) gain it.
    // Only pairs with the new id z gain, so counts of existing pairs never grow after they are
    // pushed: heap entries are upper bounds, and an entry equal to the current count is exact.
    for (let li = 0; li < list.length; li++) {
      word = list[li];
      const off = offsets[word];
      const end = off + lens[word];
      let i = off;
      while (i < end - 1 && !(buf[i] === a && buf[i + 1] === b)) i++;
      if (i >= end - 1) continue; // stale index entry
      weight = weights[word];
      let wp = i;
      while (i < end) {
        if (i < end - 1 && buf[i] === a && buf[i + 1] === b) {
          if (wp > off) {
            const x = buf[wp - 1];
            dec(x * M + a);
            inc(x * M + z);
          }
          if (i + 2 < end) {
            const y = buf[i + 2];
            dec(b * M + y);
            inc(z * M + y);
          }
          buf[wp++] = z;
          i += 2;
        } else {
          buf[wp++] = buf[i++];
        }
      }
      lens[word] = wp - off;
    }
    pairCounts.delete(best);
    for (const key of touched) {
      const count = pairCounts.get(key)!;
      if (count > 0) heap.push(count, key);
      else pairCounts.delete(key);
    }
  }
  return new BpeTokenizer(merges);
}
