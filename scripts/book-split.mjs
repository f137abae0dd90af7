#!/usr/bin/env node
// Holds whole books of a verse-aligned TSV (ref<TAB>src<TAB>tgt, ref = Book.Chapter.Verse)
// out of training, for a test set the model has never seen a verse of (docs/training.md).
//   node scripts/book-split.mjs [--data DIR] [--books Josh,Eccl,1Cor] [--out runs/bible-split]
// Writes OUT/train.tsv and OUT/dev.tsv without those books, and OUT/test.tsv with only them.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/bible-es-en" },
    books: { type: "string", default: "Josh,Eccl,1Cor" },
    out: { type: "string", default: "runs/bible-split" },
  },
});
const books = new Set(values.books.split(","));
const book = (line) => line.slice(0, line.indexOf("."));
const read = (name) => {
  const file = path.join(values.data, name);
  if (!fs.existsSync(file)) {
    console.error(`book-split: ${file} not found (--data DIR holds train.tsv and dev.tsv)`);
    process.exit(1);
  }
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
};
const train = read("train.tsv");
const dev = read("dev.tsv");
const found = new Set(train.map(book));
for (const b of books) {
  if (!found.has(b)) {
    console.error(`book-split: no verse of book "${b}" in train.tsv`);
    process.exit(1);
  }
}
fs.mkdirSync(values.out, { recursive: true });
const write = (name, lines) => {
  fs.writeFileSync(path.join(values.out, name), lines.map((l) => `${l}\n`).join(""));
  console.log(`${path.join(values.out, name)}: ${lines.length} verses`);
};
write(
  "train.tsv",
  train.filter((l) => !books.has(book(l))),
);
write(
  "dev.tsv",
  dev.filter((l) => !books.has(book(l))),
);
write(
  "test.tsv",
  train.filter((l) => books.has(book(l))),
);
