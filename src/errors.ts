/**
 * Errors a user can cause and fix: bad input files, bad flags, bad configs,
 * shape mismatches in their own code. The CLI prints their message as one
 * line (no stack trace) and exits non-zero. Messages name the op, shapes,
 * file or flag that was wrong.
 */
export class AttnError extends Error {
  override name = "AttnError";
}

/** True for errors whose message is meant for the user as it is. */
export function isUserError(e: unknown): e is AttnError {
  return e instanceof AttnError;
}
