import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  DATE_FORMATS,
  type DateCase,
  TASK_NAMES,
  applyCase,
  civilFromDays,
  dateParts,
  daysFromCivil,
  getTask,
  isLeapYear,
  isoDate,
  makeSplit,
  weekdayFromDays,
} from "../../src/data/tasks.js";
import { Mulberry32 } from "../../src/tensor/random.js";

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const ORDINALS: Record<string, number> = {};
[
  "first second third fourth fifth sixth seventh eighth ninth tenth",
  "eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth",
]
  .join(" ")
  .split(" ")
  .forEach((w, i) => {
    ORDINALS[w] = i + 1;
  });
for (const [unit, v] of Object.entries(ORDINALS)) {
  if (v < 10) ORDINALS[`twenty-${unit}`] = 20 + v;
}
ORDINALS.thirtieth = 30;
ORDINALS["thirty-first"] = 31;

/**
 * An independent parser for the task's sources (written from the format
 * rules in tasks.ts's docs, not its code): returns [year, month, day,
 * weekday or -1 when none is written].
 */
function parseDate(src: string): [number, number, number, number] {
  const words = src
    .toLowerCase()
    .replace(/[,.]/g, " ")
    .split(/[\s/]+/)
    .filter((w) => w !== "" && w !== "the" && w !== "of");
  // Numeric formats: Y/M/D (year first) or US M/D/Y (year last); "-" separated y-m-d.
  if (/^\d{4}-\d{1,2}-\d{1,2}$/.test(src)) {
    const [y, m, d] = src.split("-").map(Number);
    return [y, m, d, -1];
  }
  if (words.every((w) => /^\d+$/.test(w)) && words.length === 3) {
    const n = words.map(Number);
    if (words[0].length === 4) return [n[0], n[1], n[2], -1];
    assert.equal(words[2].length, 4, `numeric date without a 4-digit year: ${src}`);
    return [n[2], n[0], n[1], -1]; // US month/day/year
  }
  let year = -1;
  let month = -1;
  let day = -1;
  let weekday = -1;
  for (const w of words.flatMap((x) => (/^\d+-[a-z]+-\d+$/.test(x) ? x.split("-") : [x]))) {
    if (/^\d{4}$/.test(w)) year = Number(w);
    else if (/^\d{1,2}(st|nd|rd|th)?$/.test(w)) day = Number.parseInt(w, 10);
    else if (w in ORDINALS) day = ORDINALS[w];
    else if (MONTHS.includes(w)) month = MONTHS.indexOf(w) + 1;
    else if (MONTHS.some((m) => m.slice(0, 3) === w)) {
      month = MONTHS.findIndex((m) => m.slice(0, 3) === w) + 1;
    } else if (WEEKDAYS.includes(w)) weekday = WEEKDAYS.indexOf(w);
    else if (WEEKDAYS.some((d) => d.slice(0, 3) === w)) {
      weekday = WEEKDAYS.findIndex((d) => d.slice(0, 3) === w);
    } else assert.fail(`unparsed word "${w}" in "${src}"`);
  }
  assert.ok(year > 0 && month > 0 && day > 0, `could not parse "${src}"`);
  return [year, month, day, weekday];
}

/** Date.UTC is an independent check of the calendar code. */
function jsWeekday(y: number, m: number, d: number): number {
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

describe("tasks", () => {
  test("task names and unknown-name error", () => {
    assert.deepEqual([...TASK_NAMES], ["copy", "reverse", "sort", "dates"]);
    assert.throws(
      () => getTask("nope"),
      (e: unknown) => e instanceof AttnError && /copy, reverse, sort, dates/.test(e.message),
    );
  });

  test("copy: length 10 over abcdefg, 11-entry char vocabulary with 4 specials", () => {
    const t = getTask("copy");
    assert.equal(t.alphabet, "abcdefg");
    assert.equal(t.alphabet.length + 4, 11);
    assert.equal(t.maxSrcLen, 10);
    for (const p of makeSplit(t, 1, 200)) {
      assert.equal(p.src.length, 10);
      assert.equal(p.tgt, p.src);
      assert.match(p.src, /^[a-g]+$/);
    }
    const t2 = getTask("copy", { minLen: 3, maxLen: 5 });
    const lens = new Set(makeSplit(t2, 2, 200).map((p) => p.src.length));
    assert.deepEqual([...lens].sort(), [3, 4, 5]);
    assert.throws(() => getTask("copy", { minLen: 0 }), AttnError);
    assert.throws(() => getTask("copy", { symbols: "aab" }), AttnError);
  });

  test("reverse and sort", () => {
    const r = getTask("reverse");
    const lens = new Set<number>();
    for (const p of makeSplit(r, 3, 500)) {
      lens.add(p.src.length);
      assert.equal(p.tgt, [...p.src].reverse().join(""));
    }
    assert.deepEqual(
      [...lens].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    const s = getTask("sort", { symbols: "xyz" });
    assert.equal(s.alphabet, "xyz");
    for (const p of makeSplit(s, 4, 200)) {
      assert.equal(p.tgt.length, p.src.length);
      assert.equal(p.tgt, [...p.src].sort().join(""));
      assert.match(p.src, /^[xyz]+$/);
    }
  });

  test("makeSplit is deterministic by seed; exclude gives a disjoint held-out split", () => {
    for (const name of TASK_NAMES) {
      const t = getTask(name);
      assert.deepEqual(makeSplit(t, 42, 50), makeSplit(getTask(name), 42, 50));
      assert.notDeepEqual(makeSplit(t, 42, 50), makeSplit(t, 43, 50));
    }
    const t = getTask("reverse", { maxLen: 3 });
    const train = makeSplit(t, 1, 100);
    const seen = new Set(train.map((p) => p.src));
    const dev = makeSplit(t, 2, 50, { exclude: seen });
    assert.equal(dev.length, 50);
    for (const p of dev) assert.ok(!seen.has(p.src));
    // 7 + 49 + 343 strings exist; asking for more than what is left fails cleanly.
    const all = new Set(makeSplit(t, 3, 20000).map((p) => p.src));
    assert.throws(() => makeSplit(t, 4, 10, { exclude: all }), AttnError);
  });

  test("calendar code agrees with Date.UTC on every day 1900..2099", () => {
    const first = daysFromCivil(1900, 1, 1);
    const last = daysFromCivil(2099, 12, 31);
    assert.equal(last - first + 1, 73049);
    for (let z = first; z <= last; z++) {
      const { year, month, day } = civilFromDays(z);
      const js = new Date(z * 86400000);
      if (
        year !== js.getUTCFullYear() ||
        month !== js.getUTCMonth() + 1 ||
        day !== js.getUTCDate() ||
        weekdayFromDays(z) !== js.getUTCDay() ||
        daysFromCivil(year, month, day) !== z
      ) {
        assert.fail(`calendar mismatch at day ${z}: ${year}-${month}-${day}`);
      }
    }
    assert.equal(isLeapYear(1900), false);
    assert.equal(isLeapYear(2000), true);
    assert.equal(isLeapYear(2024), true);
    assert.equal(isLeapYear(2100), false);
    assert.equal(weekdayFromDays(daysFromCivil(2019, 3, 5)), 2); // a Tuesday
  });

  test("date formats: at least 15, examples match their renders for 2019-03-05", () => {
    assert.ok(DATE_FORMATS.length >= 15);
    const p = dateParts(2019, 3, 5, 2);
    for (const f of DATE_FORMATS) {
      assert.equal(applyCase(f.render(p), f.defaultCase), f.example, f.name);
      assert.deepEqual(parseDate(f.example), [2019, 3, 5, /tue/i.test(f.example) ? 2 : -1]);
    }
    assert.equal(new Set(DATE_FORMATS.map((f) => f.name)).size, DATE_FORMATS.length);
  });

  test("dates: tgt is valid ISO equal to the parsed src; weekday correct; chars in alphabet", () => {
    const t = getTask("dates");
    assert.ok(t.maxSrcLen <= 40, `maxSrcLen ${t.maxSrcLen}`);
    assert.equal(t.maxTgtLen, 10);
    const alphabet = new Set(t.alphabet);
    assert.equal(t.alphabet, [...alphabet].sort().join(""));
    const formatsSeen = new Set<string>();
    const casesSeen = new Set<string>();
    let withWeekday = 0;
    for (const { src, tgt } of makeSplit(t, 7, 3000)) {
      assert.match(tgt, /^(19|20)\d\d-\d\d-\d\d$/);
      const [y, m, d] = tgt.split("-").map(Number);
      const dt = new Date(Date.UTC(y, m - 1, d));
      assert.equal(dt.toISOString().slice(0, 10), tgt, `invalid date ${tgt}`);
      const [py, pm, pd, pw] = parseDate(src);
      assert.deepEqual([py, pm, pd], [y, m, d], `${src} -> ${tgt}`);
      if (pw >= 0) {
        withWeekday++;
        assert.equal(pw, jsWeekday(y, m, d), `wrong weekday in "${src}"`);
      }
      assert.ok(src.length <= t.maxSrcLen, src);
      for (const c of src + tgt) assert.ok(alphabet.has(c), `char ${JSON.stringify(c)} of ${src}`);
      formatsSeen.add(src.replace(/[a-z]/gi, "a").replace(/\d/g, "0"));
      casesSeen.add(
        /[a-z]/.test(src) && /[A-Z]/.test(src)
          ? "mixed"
          : /[a-z]/.test(src)
            ? "lower"
            : /[A-Z]/.test(src)
              ? "upper"
              : "digits",
      );
    }
    assert.ok(withWeekday > 100);
    assert.ok(formatsSeen.size >= 15);
    assert.deepEqual([...casesSeen].sort(), ["digits", "lower", "mixed", "upper"]);
  });

  test("dates: every rendering of 2000..2006 fits maxSrcLen and the alphabet, which is exact", () => {
    const t = getTask("dates");
    const seen = new Set<string>("0123456789-");
    let maxLen = 0;
    const cases: DateCase[] = ["title", "lower", "upper"];
    for (let z = daysFromCivil(2000, 1, 1); z <= daysFromCivil(2006, 12, 31); z++) {
      const { year, month, day } = civilFromDays(z);
      const p = dateParts(year, month, day, weekdayFromDays(z));
      for (const f of DATE_FORMATS) {
        const s = f.render(p);
        maxLen = Math.max(maxLen, s.length);
        for (const c of cases) for (const ch of applyCase(s, c)) seen.add(ch);
      }
    }
    assert.ok(maxLen <= t.maxSrcLen);
    assert.equal([...seen].sort().join(""), t.alphabet);
    assert.equal(isoDate(1900, 2, 28), "1900-02-28");
  });

  test("dates options: year range and format subset", () => {
    const t = getTask("dates", { minYear: 2000, maxYear: 2000, formats: ["y/mm/dd", "us-m/d/y"] });
    for (const p of makeSplit(t, 5, 300)) {
      assert.ok(p.tgt.startsWith("2000-"));
      assert.ok(/^2000\/\d\d\/\d\d$/.test(p.src) || /^\d{1,2}\/\d{1,2}\/2000$/.test(p.src), p.src);
    }
    assert.equal(t.alphabet, "-/0123456789");
    assert.throws(() => getTask("dates", { formats: ["dd.mm.yyyy"] }), /unknown format/);
    assert.throws(() => getTask("dates", { minYear: 2000, maxYear: 1999 }), AttnError);
    // Feb 29 only in leap years: over the whole 2000 leap year, all 366 days can be drawn.
    const days = new Set(makeSplit(t, 6, 6000).map((p) => p.tgt));
    assert.ok(days.has("2000-02-29"));
    assert.equal(days.size, 366);
  });

  test("sample consumes only the rng it is given", () => {
    const t = getTask("dates");
    const a = new Mulberry32(9);
    const b = new Mulberry32(9);
    assert.deepEqual(t.sample(a), t.sample(b));
    assert.deepEqual(a.getState(), b.getState());
  });
});
