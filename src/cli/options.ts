/** Parsing and checking flag values, with errors that name the flag. */
import { AttnError } from "../index.js";

export function intFlag(
  name: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new AttnError(
        `--${name} must be an integer${max < Number.MAX_SAFE_INTEGER ? ` in ${min}..${max}` : ` >= ${min}`}, got "${v}"`,
      );
    }
    return n;
  };
}

export function floatFlag(
  name: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new AttnError(
        `--${name} must be a number${Number.isFinite(min) ? ` >= ${min}` : ""}${Number.isFinite(max) ? ` and <= ${max}` : ""}, got "${v}"`,
      );
    }
    return n;
  };
}

export function choiceFlag<T extends string>(
  name: string,
  choices: readonly T[],
): (v: string) => T {
  return (v: string) => {
    if (!choices.includes(v as T))
      throw new AttnError(`--${name} must be one of ${choices.join(", ")}, got "${v}"`);
    return v as T;
  };
}

/** A TSV column flag: a 0-based index when it is all digits, else a column name. */
export const column = (v: string): string | number => (/^\d+$/.test(v) ? Number(v) : v);
