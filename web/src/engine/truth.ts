/**
 * The true answer of a task for a source the learner typed, when the page can
 * compute it: copy, reverse and sort directly; dates by finding the date whose
 * rendering in one of the task's formats is the source (any casing). Null when
 * the source is not a task input (a character outside the task's alphabet, a
 * date in no task format, a weekday that does not match its date): the page
 * then scores against the intact model's own output instead.
 */
import {
  DATE_FORMATS,
  dateParts,
  daysFromCivil,
  daysInMonth,
  isoDate,
  type Task,
  weekdayFromDays,
} from "../../../src/browser.js";

/** The ISO date a source in one of the dates task's formats stands for, or null. */
export function datesTarget(src: string): string | null {
  const s = src.trim().toLowerCase();
  // Every format writes a four-digit year: only those years need trying.
  const years = new Set((s.match(/\d{4}/g) ?? []).map(Number));
  for (const year of years) {
    if (year < 1000) continue;
    for (let month = 1; month <= 12; month++) {
      for (let day = 1; day <= daysInMonth(year, month); day++) {
        const parts = dateParts(year, month, day, weekdayFromDays(daysFromCivil(year, month, day)));
        for (const f of DATE_FORMATS) {
          if (f.render(parts).toLowerCase() === s) return isoDate(year, month, day);
        }
      }
    }
  }
  return null;
}

/** The target of a task for this source, or null when the page cannot know it. */
export function taskTarget(task: Task, src: string): string | null {
  if (task.name === "dates") return datesTarget(src);
  const alphabet = new Set(task.alphabet);
  if (![...src].every((c) => alphabet.has(c))) return null;
  if (task.name === "copy") return src;
  if (task.name === "reverse") return [...src].reverse().join("");
  if (task.name === "sort") return [...src].sort().join("");
  return null;
}
