/**
 * Atomic directory writes: a directory of files that is replaced as a whole,
 * never written into, so a reader or a crash sees the old version or the new
 * one (checkpoints, src/train/checkpoint.ts).
 *
 * A write never goes into an existing directory. For a
 * target `P/name` it
 *   1. writes every file into a fresh sibling `P/.name.tmp-<pid>-<hex>` and fsyncs them and it;
 *   2. if `P/name` exists, renames it to `P/.name.old-<pid>-<hex>`;
 *   3. renames the temp directory to `P/name` and fsyncs P;
 *   4. removes the `.old` directory.
 * Renames are atomic, so after a crash at any moment (SIGKILL included) one of
 * these holds: `P/name` is the previous version (crash in 1-2; a `.tmp`
 * leftover may exist), `P/name` is missing and `.name.old-*` is the previous
 * version (crash between 2 and 3), or `P/name` is the new version (crash
 * in 3-4; an `.old` leftover, maybe half deleted, may exist).
 *
 * RECOVERY RULE. Loading `P/name` reads `P/name` when it exists, else the newest
 * `P/.name.old-*` (never a `.tmp-*`, which may be incomplete). The next save to
 * `P/name` first renames that `.old` back to `P/name`, then deletes every
 * `.name.tmp-*` / `.name.old-*` leftover. One writer per version directory
 * at a time; readers may run concurrently with the writer (a load that sees
 * the directory swapped while reading starts over).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { AttnError } from "../errors.js";
import { errorReason, makeDirectories, syncDirectory, writeNewFileDurable } from "./atomic.js";

export type WriteStage = "files-written" | "moved-aside" | "swapped" | "done";

export interface DirectoryWriteOptions {
  /** Whether an existing non-empty directory may be replaced; else `refusal` is the error. */
  replaceable?: (dir: string) => boolean;
  refusal?: string;
  /** For tests: called at each stage (to simulate crashes there). */
  onStage?: (stage: WriteStage) => void;
  /** What the error messages call the directory (default "directory"). */
  what?: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function leftoverPattern(base: string, kinds: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(base)}\\.(${kinds})-\\d+-[0-9a-f]{8}$`);
}

export function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    // A path through a file (out/last where out is a file) names nothing.
    if ((e as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw e;
  }
}

/**
 * Which directory `p` is, as a string that changes whenever a write swaps it.
 * The inode alone is not enough: a deleted version's inode number is reused
 * by a later one, so a read spanning two writes could pass for one version.
 * Creation and change times (ns) tell such directories apart.
 */
export function directoryIdentity(p: string): string | null {
  const st = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}/${st.birthtimeNs}/${st.ctimeNs}` : null;
}

export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The newest `.name.old-*` sibling of target (a checkpoint moved aside by an interrupted save), or null. */
function newestOld(target: string): string | null {
  const parent = path.dirname(target);
  const re = leftoverPattern(path.basename(target), "old");
  let best: string | null = null;
  let bestTime = -Infinity;
  for (const name of listDir(parent).sort()) {
    if (!re.test(name)) continue;
    const st = statOrNull(path.join(parent, name));
    if (st?.isDirectory() && st.mtimeMs >= bestTime) {
      best = path.join(parent, name);
      bestTime = st.mtimeMs;
    }
  }
  return best;
}

/** Where a load of target reads from: target if it exists, else its newest `.old` sibling. */
export function locateDirectory(target: string): string | null {
  return statOrNull(target) ? target : newestOld(target);
}

/** Puts back a checkpoint an interrupted save moved aside, and deletes leftovers of interrupted saves. */
function recoverLeftovers(target: string): void {
  const parent = path.dirname(target);
  if (!statOrNull(target)) {
    const old = newestOld(target);
    if (old) fs.renameSync(old, target);
  }
  const re = leftoverPattern(path.basename(target), "tmp|old|del");
  for (const name of listDir(parent)) {
    if (re.test(name)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
}

function tag(): string {
  return `${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Writes `files` as the directory `dir`, atomically (see the module comment). */
export function writeDirectoryAtomic(
  dir: string,
  files: ReadonlyMap<string, Uint8Array>,
  o: DirectoryWriteOptions = {},
): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  let tmp: string | null = null;
  let old: string | null = null;
  try {
    makeDirectories(parent, o.what ?? "directory");
    recoverLeftovers(target);
    const st = statOrNull(target);
    if (st && !st.isDirectory()) throw new AttnError("it exists and is not a directory");
    if (st && o.replaceable && listDir(target).length > 0 && !o.replaceable(target)) {
      throw new AttnError(o.refusal ?? "it exists and may not be replaced");
    }
    const t = tag();
    tmp = path.join(parent, `.${base}.tmp-${t}`);
    fs.mkdirSync(tmp);
    for (const [name, bytes] of files) writeNewFileDurable(path.join(tmp, name), bytes);
    syncDirectory(tmp);
    o.onStage?.("files-written");
    if (st) {
      old = path.join(parent, `.${base}.old-${t}`);
      fs.renameSync(target, old);
      o.onStage?.("moved-aside");
    }
    fs.renameSync(tmp, target);
    tmp = null;
    syncDirectory(parent);
    o.onStage?.("swapped");
    if (old) fs.rmSync(old, { recursive: true, force: true });
    old = null;
    o.onStage?.("done");
  } catch (e) {
    try {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      if (old && !statOrNull(target)) fs.renameSync(old, target);
    } catch {
      // The next save or load recovers; the original error is the one to report.
    }
    const msg = errorReason(e);
    throw new AttnError(`${o.what ?? "directory"} ${dir}: cannot save: ${msg}`);
  }
}

/** Deletes a directory so that a crash midway leaves nothing loadable-but-partial behind. */
export function removeDirectoryAtomic(dir: string): void {
  const target = path.resolve(dir);
  if (!statOrNull(target)) return;
  const aside = path.join(path.dirname(target), `.${path.basename(target)}.del-${tag()}`);
  fs.renameSync(target, aside);
  fs.rmSync(aside, { recursive: true, force: true });
}
