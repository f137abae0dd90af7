/**
 * Shipped synthetic seq2seq tasks: copy, reverse, sort and dates.
 *
 * Pure and browser-safe (no node: imports). Every task draws from a seeded
 * Mulberry32, so a split is a function of (task, options, seed, n) only.
 *
 * Each task carries its `alphabet`: every character that can appear in a
 * source or a target, sorted by UTF-16 code unit, so a character tokenizer
 * can be built from the task alone (4 special tokens + alphabet).
 *
 * Over 400 lines as one concern: most of it is the dates task's calendar and its written formats.
 */
import { AttnError } from "../errors.js";
import { Mulberry32 } from "../tensor/random.js";

export interface Pair {
  src: string;
  tgt: string;
}

export interface Task {
  name: string;
  /** Every char that can appear in src or tgt, sorted and without repeats. */
  alphabet: string;
  /** Upper bounds on src.length and tgt.length (in UTF-16 code units = chars here). */
  maxSrcLen: number;
  maxTgtLen: number;
  sample(rng: Mulberry32): Pair;
}

export interface TaskOptions {
  /** copy/reverse/sort: shortest string (default 10 for copy, 1 otherwise). */
  minLen?: number;
  /** copy/reverse/sort: longest string (default 10). */
  maxLen?: number;
  /** copy/reverse/sort: the symbols strings are drawn from (default "abcdefg"). */
  symbols?: string;
  /** dates: first year drawn (default 1900). */
  minYear?: number;
  /** dates: last year drawn (default 2099). */
  maxYear?: number;
  /** dates: restrict to these format names (see DATE_FORMATS; default all). */
  formats?: readonly string[];
}

export const TASK_NAMES: readonly string[] = ["copy", "reverse", "sort", "dates"];

/** The symbols of copy/reverse/sort: 7 symbols + PAD/BOS/EOS/UNK = an 11-entry vocabulary. */
export const DEFAULT_SYMBOLS = "abcdefg";

export function getTask(name: string, opts: TaskOptions = {}): Task {
  switch (name) {
    case "copy":
      return stringTask("copy", opts, 10, (s) => s);
    case "reverse":
      return stringTask("reverse", opts, 1, (s) => [...s].reverse().join(""));
    case "sort":
      return stringTask("sort", opts, 1, (s) => [...s].sort().join(""));
    case "dates":
      return datesTask(opts);
    default:
      throw new AttnError(`unknown task "${name}"; valid tasks are ${TASK_NAMES.join(", ")}`);
  }
}

/**
 * n pairs drawn in order from Mulberry32(seed). Deterministic: the same task
 * options, seed and n give the same list. Use a different seed for a held-out
 * split; pass `exclude` (source strings, e.g. those of the training split) to
 * make the held-out split disjoint from it.
 */
export function makeSplit(
  task: Task,
  seed: number,
  n: number,
  opts: { exclude?: ReadonlySet<string> } = {},
): Pair[] {
  if (!Number.isInteger(n) || n < 0) {
    throw new AttnError(`makeSplit: n must be a non-negative integer, got ${n}`);
  }
  const rng = new Mulberry32(seed);
  const out: Pair[] = [];
  const exclude = opts.exclude;
  const maxTries = 100 * n + 1000;
  let tries = 0;
  while (out.length < n) {
    if (++tries > maxTries) {
      throw new AttnError(
        `makeSplit: task "${task.name}" gave only ${out.length} of ${n} pairs outside the excluded set after ${maxTries} draws`,
      );
    }
    const p = task.sample(rng);
    if (exclude?.has(p.src)) continue;
    out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------
// copy / reverse / sort

function stringTask(
  name: string,
  opts: TaskOptions,
  defaultMin: number,
  transform: (s: string) => string,
): Task {
  const minLen = opts.minLen ?? defaultMin;
  const maxLen = opts.maxLen ?? Math.max(10, minLen);
  if (!Number.isInteger(minLen) || !Number.isInteger(maxLen) || minLen < 1 || maxLen < minLen) {
    throw new AttnError(
      `task ${name}: need integer lengths 1 <= minLen <= maxLen, got minLen=${minLen} maxLen=${maxLen}`,
    );
  }
  const symbols = [...(opts.symbols ?? DEFAULT_SYMBOLS)];
  const alphabet = sortedUnique(symbols.join(""));
  if (symbols.length === 0 || alphabet.length !== symbols.length) {
    throw new AttnError(`task ${name}: symbols must be non-empty with no repeats`);
  }
  return {
    name,
    alphabet,
    maxSrcLen: maxLen,
    maxTgtLen: maxLen,
    sample(rng: Mulberry32): Pair {
      const len = rng.intIn(minLen, maxLen);
      let src = "";
      for (let i = 0; i < len; i++) src += symbols[rng.intIn(0, symbols.length - 1)];
      return { src, tgt: transform(src) };
    },
  };
}

function sortedUnique(chars: string): string {
  return [...new Set(chars)].sort().join("");
}

// ---------------------------------------------------------------------------
// Calendar arithmetic. days_from_civil / civil_from_days / weekday_from_days
// follow Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms"
// (proleptic Gregorian calendar; day 0 = 1970-01-01, a Thursday).

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400; // [0, 399]
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1; // [0, 365]
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy; // [0, 146096]
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 0 = Sunday .. 6 = Saturday. */
export function weekdayFromDays(z: number): number {
  return (((z + 4) % 7) + 7) % 7;
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2
    ? isLeapYear(y)
      ? 29
      : 28
    : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

// ---------------------------------------------------------------------------
// dates

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ORDINAL_WORDS = [
  "first",
  "second",
  "third",
  "fourth",
  "fifth",
  "sixth",
  "seventh",
  "eighth",
  "ninth",
  "tenth",
  "eleventh",
  "twelfth",
  "thirteenth",
  "fourteenth",
  "fifteenth",
  "sixteenth",
  "seventeenth",
  "eighteenth",
  "nineteenth",
  "twentieth",
  "twenty-first",
  "twenty-second",
  "twenty-third",
  "twenty-fourth",
  "twenty-fifth",
  "twenty-sixth",
  "twenty-seventh",
  "twenty-eighth",
  "twenty-ninth",
  "thirtieth",
  "thirty-first",
];

/** The pieces a date format is assembled from, for one date. */
export interface DateParts {
  YYYY: string; // "2019"
  M: string; // "3"
  MM: string; // "03"
  MMM: string; // "Mar"
  MMMM: string; // "March"
  D: string; // "5"
  DD: string; // "05"
  Do: string; // "5th"
  Dw: string; // "fifth"
  ddd: string; // "Tue"
  dddd: string; // "Tuesday"
}

/** "title": as the format writes it (month and weekday names capitalised); "lower"/"upper": the whole string. */
export type DateCase = "title" | "lower" | "upper";

export interface DateFormat {
  /** A stable name, used by the `formats` option. */
  name: string;
  /** How 2019-03-05 (a Tuesday) looks in its default casing. */
  example: string;
  /** The casing the format is written with most often (60% of draws; 20% each other casing). */
  defaultCase: DateCase;
  render(p: DateParts): string;
}

/**
 * The source formats. Numeric formats are never day-first: a numeric date is
 * either year-first (Y/M/D) or, with the year last, US month/day/year. So
 * "03/05/2019" is always March 5, never 3 May.
 */
export const DATE_FORMATS: readonly DateFormat[] = [
  fmt("month-d-y", "March 5, 2019", "title", (p) => `${p.MMMM} ${p.D}, ${p.YYYY}`),
  fmt("d-month-y", "5 March 2019", "title", (p) => `${p.D} ${p.MMMM} ${p.YYYY}`),
  fmt("mon-d-y", "Mar 5, 2019", "title", (p) => `${p.MMM} ${p.D}, ${p.YYYY}`),
  fmt("mon.-d-y", "Mar. 5, 2019", "title", (p) => `${p.MMM}. ${p.D}, ${p.YYYY}`),
  fmt("weekday-month-d-y", "Tuesday, March 5, 2019", "title", (p) => {
    return `${p.dddd}, ${p.MMMM} ${p.D}, ${p.YYYY}`;
  }),
  fmt("dth-of-month-y", "5th of March, 2019", "title", (p) => `${p.Do} of ${p.MMMM}, ${p.YYYY}`),
  fmt("the-dth-of-month-y", "the 5th of March 2019", "title", (p) => {
    return `the ${p.Do} of ${p.MMMM} ${p.YYYY}`;
  }),
  fmt("the-dword-of-month-y", "the fifth of March, 2019", "title", (p) => {
    return `the ${p.Dw} of ${p.MMMM}, ${p.YYYY}`;
  }),
  fmt("month-dth-y", "March 5th, 2019", "title", (p) => `${p.MMMM} ${p.Do}, ${p.YYYY}`),
  fmt("weekday-dth-month-y", "Tuesday 5th March 2019", "title", (p) => {
    return `${p.dddd} ${p.Do} ${p.MMMM} ${p.YYYY}`;
  }),
  fmt("MON-DD-Y", "MAR 05 2019", "upper", (p) => `${p.MMM} ${p.DD} ${p.YYYY}`),
  fmt("month-d-y-plain", "march 5 2019", "lower", (p) => `${p.MMMM} ${p.D} ${p.YYYY}`),
  fmt("d-mon-y-dashes", "5-Mar-2019", "title", (p) => `${p.D}-${p.MMM}-${p.YYYY}`),
  fmt("wkd-d-mon-y", "Tue 5 Mar 2019", "title", (p) => `${p.ddd} ${p.D} ${p.MMM} ${p.YYYY}`),
  fmt("wkd-mon-d-y", "Tue, Mar 5, 2019", "title", (p) => `${p.ddd}, ${p.MMM} ${p.D}, ${p.YYYY}`),
  fmt("dd-mon-y", "05 Mar 2019", "title", (p) => `${p.DD} ${p.MMM} ${p.YYYY}`),
  fmt("y-month-d", "2019 March 5", "title", (p) => `${p.YYYY} ${p.MMMM} ${p.D}`),
  fmt("y.mm.dd", "2019.03.05", "title", (p) => `${p.YYYY}.${p.MM}.${p.DD}`),
  fmt("y/mm/dd", "2019/03/05", "title", (p) => `${p.YYYY}/${p.MM}/${p.DD}`),
  fmt("y-m-d", "2019-3-5", "title", (p) => `${p.YYYY}-${p.M}-${p.D}`),
  fmt("us-mm/dd/y", "03/05/2019", "title", (p) => `${p.MM}/${p.DD}/${p.YYYY}`),
  fmt("us-m/d/y", "3/5/2019", "title", (p) => `${p.M}/${p.D}/${p.YYYY}`),
];

function fmt(
  name: string,
  example: string,
  defaultCase: DateCase,
  render: (p: DateParts) => string,
): DateFormat {
  return { name, example, defaultCase, render };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function ordinalSuffix(d: number): string {
  if (d >= 11 && d <= 13) return "th";
  switch (d % 10) {
    case 1:
      return "st";
    case 2:
      return "nd";
    case 3:
      return "rd";
    default:
      return "th";
  }
}

/** The parts of a date; `weekday` 0 = Sunday. */
export function dateParts(year: number, month: number, day: number, weekday: number): DateParts {
  const monthName = MONTHS[month - 1];
  const weekdayName = WEEKDAYS[weekday];
  return {
    YYYY: String(year).padStart(4, "0"),
    M: String(month),
    MM: pad2(month),
    MMM: monthName.slice(0, 3),
    MMMM: monthName,
    D: String(day),
    DD: pad2(day),
    Do: `${day}${ordinalSuffix(day)}`,
    Dw: ORDINAL_WORDS[day - 1],
    ddd: weekdayName.slice(0, 3),
    dddd: weekdayName,
  };
}

export function applyCase(s: string, c: DateCase): string {
  return c === "lower" ? s.toLowerCase() : c === "upper" ? s.toUpperCase() : s;
}

/** ISO 8601 calendar date YYYY-MM-DD. */
export function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, "0")}-${pad2(month)}-${pad2(day)}`;
}

/** One draw's casing: 60% the format's default, 20% each of the other two. */
function drawCase(rng: Mulberry32, def: DateCase): DateCase {
  const k = rng.intIn(0, 4);
  if (k < 3) return def;
  const others = (["title", "lower", "upper"] as const).filter((c) => c !== def);
  return others[k - 3];
}

function datesTask(opts: TaskOptions): Task {
  const minYear = opts.minYear ?? 1900;
  const maxYear = opts.maxYear ?? 2099;
  if (
    !Number.isInteger(minYear) ||
    !Number.isInteger(maxYear) ||
    minYear < 1000 ||
    maxYear > 9999 ||
    maxYear < minYear
  ) {
    throw new AttnError(
      `task dates: need 4-digit years 1000 <= minYear <= maxYear <= 9999, got ${minYear}..${maxYear}`,
    );
  }
  let formats = DATE_FORMATS;
  if (opts.formats !== undefined) {
    const byName = new Map(DATE_FORMATS.map((f) => [f.name, f]));
    formats = opts.formats.map((n) => {
      const f = byName.get(n);
      if (!f) {
        throw new AttnError(
          `task dates: unknown format "${n}"; valid formats are ${DATE_FORMATS.map((x) => x.name).join(", ")}`,
        );
      }
      return f;
    });
    if (formats.length === 0) throw new AttnError("task dates: formats must not be empty");
  }
  const firstDay = daysFromCivil(minYear, 1, 1);
  const lastDay = daysFromCivil(maxYear, 12, 31);

  // Alphabet: render every format in every casing with every month, day and
  // weekday name (the synthetic parts need not be real dates), plus the
  // digits and "-" of the ISO target.
  let chars = "0123456789-";
  for (let i = 0; i < 31; i++) {
    const p = dateParts(2000, (i % 12) + 1, i + 1, i % 7);
    for (const f of formats) {
      const s = f.render(p);
      chars += s + s.toLowerCase() + s.toUpperCase();
    }
  }
  // maxSrcLen: render with the longest choice of every part (an upper bound;
  // casing never changes the length of these ASCII strings).
  const longest = (xs: string[]) => xs.reduce((a, b) => (b.length > a.length ? b : a));
  const longParts: DateParts = {
    ...dateParts(maxYear, 12, 28, 3),
    MMMM: longest(MONTHS),
    Dw: longest(ORDINAL_WORDS),
    dddd: longest(WEEKDAYS),
  };
  const maxSrcLen = Math.max(...formats.map((f) => f.render(longParts).length));

  return {
    name: "dates",
    alphabet: sortedUnique(chars),
    maxSrcLen,
    maxTgtLen: 10,
    sample(rng: Mulberry32): Pair {
      const z = rng.intIn(firstDay, lastDay);
      const { year, month, day } = civilFromDays(z);
      const f = formats[rng.intIn(0, formats.length - 1)];
      const c = drawCase(rng, f.defaultCase);
      const src = applyCase(f.render(dateParts(year, month, day, weekdayFromDays(z))), c);
      return { src, tgt: isoDate(year, month, day) };
    },
  };
}
