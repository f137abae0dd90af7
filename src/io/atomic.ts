/**
 * Atomic file writes: the target path either keeps its old content or gets the
 * whole new content, never a half-written file.
 *
 * The data goes to a fresh temporary file in the same directory (so the final
 * rename stays on one file system), is fsync'ed, and is then renamed over the
 * target. On any failure the temporary file is removed and the target is left
 * untouched.
 */

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { AttnError } from "../errors.js";

/** The temporary name used next to `target` while it is being written. */
function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** The message of a caught error, for "cannot ...: <reason>" lines. */
export function errorReason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Creates `file` (which must not exist) with `chunks` written in order and
 * fsync'ed. On failure the descriptor is closed and the error rethrown; the
 * caller removes the partial file.
 */
export function writeNewFileDurable(
  file: string,
  chunks: Uint8Array | readonly Uint8Array[],
): void {
  const parts = chunks instanceof Uint8Array ? [chunks] : chunks;
  // "wx": fail rather than reuse a file that happens to have our name.
  const fd = fs.openSync(file, "wx", 0o666);
  try {
    for (const part of parts) {
      let done = 0;
      // Each iteration writes at least one byte or throws, so this ends.
      while (done < part.byteLength) {
        const n = fs.writeSync(fd, part, done, part.byteLength - done);
        if (!(n > 0)) throw new Error(`write returned ${n}`);
        done += n;
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write `chunks` (one buffer or several, concatenated in order) to `target`
 * atomically. Throws AttnError naming `target` if anything fails.
 */
export function writeFileAtomic(target: string, chunks: Uint8Array | readonly Uint8Array[]): void {
  const tmp = tempPathFor(target);
  try {
    writeNewFileDurable(tmp, chunks);
    fs.renameSync(tmp, target);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // The temporary file may never have been created.
    }
    throw new AttnError(`${target}: cannot write file: ${errorReason(e)}`);
  }
  syncDirectory(path.dirname(target));
}

/** Best effort: make a rename in `dir` durable. Not supported everywhere (e.g. Windows). */
export function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Durability of the directory entry is a bonus, not a requirement.
  } finally {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // Nothing useful to do.
      }
    }
  }
}

/**
 * mkdir -p, one level at a time: an existing non-directory on the way, or a parent that
 * refuses (a /proc path), is an AttnError naming `what`. (Node's recursive mkdir retries
 * forever when the kernel answers ENOENT for a directory that exists, as procfs does.)
 */
export function makeDirectories(dir: string, what: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let at = target;
  for (;;) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(at);
    } catch (e) {
      if (
        (e as NodeJS.ErrnoException).code !== "ENOENT" &&
        (e as NodeJS.ErrnoException).code !== "ENOTDIR"
      )
        throw new AttnError(`${what} ${dir}: cannot use ${at} (${errorReason(e)})`);
    }
    if (st) {
      if (!st.isDirectory())
        throw new AttnError(`${what} ${dir}: ${at} exists and is not a directory`);
      break;
    }
    missing.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST" && fs.statSync(d).isDirectory()) continue;
      throw new AttnError(`${what} ${dir}: cannot create ${d} (${errorReason(e)})`);
    }
  }
}
