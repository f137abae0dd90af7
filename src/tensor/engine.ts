/**
 * Global engine state: the active backend, grad mode, the scope stack of the
 * tensor lifetime rule, the seeded RNG, and the memory ledger.
 *
 * Lifetime rule: every tensor created inside `tidy(fn)` is disposed when fn
 * returns, except the tensors fn returns (handed to the enclosing scope) and
 * tensors marked with `keep` (parameters, optimizer state, gradients of
 * leaves). A training step wrapped in `tidy` therefore leaves engine memory
 * exactly where it found it. Outside any scope tensors live until disposed,
 * or until garbage collection notices them (a FinalizationRegistry returns
 * their memory to the backend).
 */
import type { Backend, TypedArray } from "../backend/backend.js";
import { ReferenceBackend } from "../backend/reference/index.js";
import { Mulberry32 } from "./random.js";
import type { Tensor } from "./tensor.js";

/** One allocation; shared by every view of it. */
export interface StorageRecord {
  bytes: number;
  released: boolean;
  data: TypedArray;
  backend: Backend;
}

class Ledger {
  bytes = 0;
  storages = 0;
  peakBytes = 0;
}

const ledger = new Ledger();

function releaseRecord(rec: StorageRecord): void {
  if (rec.released) return;
  rec.released = true;
  ledger.bytes -= rec.bytes;
  ledger.storages--;
  rec.backend.release(rec.data);
}

const collector = new FinalizationRegistry<StorageRecord>(releaseRecord);

/** Shared memory of one or more tensors; freed when the last tensor using it is disposed. */
export class Storage {
  refs = 0;
  readonly rec: StorageRecord;

  constructor(backend: Backend, data: TypedArray) {
    this.rec = { bytes: data.byteLength, released: false, data, backend };
    ledger.bytes += data.byteLength;
    ledger.storages++;
    if (ledger.bytes > ledger.peakBytes) ledger.peakBytes = ledger.bytes;
    collector.register(this, this.rec, this);
  }

  get data(): TypedArray {
    return this.rec.data;
  }

  get released(): boolean {
    return this.rec.released;
  }

  unref(): void {
    if (--this.refs === 0) {
      collector.unregister(this);
      releaseRecord(this.rec);
    }
  }
}

let backend: Backend | null = null;
let makeDefault: () => Backend = () => new ReferenceBackend();
let gradEnabled = true;
const scopes: Set<Tensor>[] = [];
let rng = new Mulberry32(0);

/** The active backend; the first call makes the default one (see setDefaultBackend). */
export function getBackend(): Backend {
  if (backend === null) backend = makeDefault();
  return backend;
}

/** Switches the backend for tensors created from now on. */
export function setBackend(b: Backend): void {
  backend = b;
}

/**
 * How the default backend is made when a backend is first needed and none
 * was set: the package entry picks the fastest that loads, lazily, so that
 * importing the package (for a tokenizer, say) loads no native addon and
 * starts no wasm worker. Without it: the reference backend.
 */
export function setDefaultBackend(make: () => Backend): void {
  makeDefault = make;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording the autograd graph (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Called by every new Tensor. */
export function track(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/** Exempts t from scope disposal: it lives until t.dispose(). */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if ((value as { isTensor?: boolean }).isTensor === true) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collectTensors(v, out, depth + 1);
}

/**
 * Runs fn in a scope: tensors created inside are disposed at the end, except
 * those returned (directly, or inside arrays, Maps and plain objects) and kept ones.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Engine-owned memory: live bytes and allocations across all tensors. */
export function memory(): { bytes: number; storages: number; peakBytes: number } {
  return { bytes: ledger.bytes, storages: ledger.storages, peakBytes: ledger.peakBytes };
}

/** The engine's RNG (dropout, random init when no generator is passed). */
export function getRng(): Mulberry32 {
  return rng;
}

export function manualSeed(seed: number): void {
  rng = new Mulberry32(seed);
}
