/** Tasks only the experiments use, alongside the shipped ones (data/tasks.ts). */
import { getTask, type Task } from "../data/tasks.js";
import type { Mulberry32 } from "../tensor/random.js";

/**
 * "bag": the answer depends on which symbols occur, not on their order: the
 * most frequent symbol of the string (ties go to the earliest in the alphabet).
 */
export function bagTask(minLen: number, maxLen: number, symbols = "abcdefg"): Task {
  const base = getTask("copy", { minLen, maxLen, symbols });
  return {
    ...base,
    name: "bag",
    maxTgtLen: 1,
    sample(rng: Mulberry32) {
      const { src } = base.sample(rng);
      const counts = new Map<string, number>();
      for (const ch of src) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      let best = "";
      for (const ch of [...symbols].sort())
        if ((counts.get(ch) ?? 0) > (counts.get(best) ?? 0)) best = ch;
      return { src, tgt: best };
    },
  };
}

/** A shipped string task (copy, reverse, sort) at lengths minLen..maxLen. */
export function lengthTask(name: string, minLen: number, maxLen: number): Task {
  return getTask(name, { minLen, maxLen });
}
