/**
 * The batched decode loop on a trained tiny model (the reverse task, strings
 * of 1..10 symbols, so a batch mixes lengths): batches give what one sentence
 * at a time gives, beam search follows the peer's rules (checked against a
 * plain reference written here), outputs come back in input order, and
 * finished sentences leave the batch.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { loadRun } from "../../src/cli/load.js";
import { TaskSource } from "../../src/data/sources.js";
import { getTask, makeSplit } from "../../src/data/tasks.js";
import {
  type Hypothesis,
  decodeBatch,
  lengthPenalty,
  translateAll,
  translateIdsAll,
} from "../../src/generate/index.js";
import { type EncoderDecoderConfig, presetConfig } from "../../src/models/config.js";
import { Transformer } from "../../src/models/transformer.js";
import { fromArray, logSoftmax, manualSeed, memory, noGrad, tidy } from "../../src/tensor/index.js";
import { type Tokenizer, trainCharTokenizer } from "../../src/tokenizers/index.js";
import { Adam } from "../../src/train/optim.js";

let model: Transformer;
let tok: Tokenizer;
let sources: number[][];
let texts: string[];

before(() => {
  manualSeed(3);
  const task = getTask("reverse");
  tok = trainCharTokenizer([task.alphabet]);
  model = new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: tok.vocabSize,
      dModel: 32,
      heads: 2,
      dFF: 64,
      encoderLayers: 1,
      decoderLayers: 2,
      dropout: 0,
      maxLen: 24,
      seed: 2,
    }) as EncoderDecoderConfig,
  );
  // Part-trained on purpose: good enough to mean something, unsure enough
  // that beams disagree and some outputs run long.
  const data = new TaskSource(task, (s) => tok.encode(s), 32, 11);
  const opt = new Adam(model.parameters(), { lr: 3e-3 });
  for (let step = 0; step < 150; step++) {
    const b = data.next()[0];
    tidy(() => {
      opt.zeroGrad();
      const { loss } = model.loss(
        fromArray(b.src, [b.size, b.srcLen], "int32"),
        fromArray(b.tgtIn, [b.size, b.tgtLen], "int32"),
        fromArray(b.tgtOut, [b.size, b.tgtLen], "int32"),
      );
      loss.backward();
      opt.step();
    });
  }
  model.eval();
  texts = makeSplit(task, 777, 24).map((p) => p.src);
  sources = texts.map((t) => tok.encode(t));
});

const relClose = (a: number, b: number, tol = 1e-5) =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

describe("batched decoding equals one sentence at a time", () => {
  test("greedy: same ids, in input order, for any batch size", () => {
    const one = sources.map((s) => decodeBatch(model, [s])[0][0].tokens);
    for (const batchSize of [5, 24]) {
      assert.deepEqual(translateIdsAll(model, sources, { batchSize }), one);
    }
    const lens = new Set(one.map((t) => t.length));
    assert.ok(lens.size >= 4, "outputs of mixed lengths");
    const strings = translateAll(model, tok, ["", ...texts.slice(0, 3), "  "]);
    assert.deepEqual(strings, ["", ...one.slice(0, 3).map((t) => tok.decode(t)), ""]);
  });

  test("beam 4: same best hypothesis and score as per-sentence beam search", () => {
    const one = sources.map((s) => decodeBatch(model, [s], { beam: 4 })[0]);
    const all = decodeBatch(model, sources, { beam: 4 });
    let differFromGreedy = 0;
    for (let i = 0; i < sources.length; i++) {
      assert.deepEqual(all[i][0].tokens, one[i][0].tokens, `sentence ${i}`);
      assert.ok(relClose(all[i][0].score, one[i][0].score), `score ${i}`);
      assert.ok(relClose(all[i][0].logProb, one[i][0].logProb), `logProb ${i}`);
      for (let h = 1; h < all[i].length; h++) assert.ok(all[i][h - 1].score >= all[i][h].score);
      const greedy = decodeBatch(model, [sources[i]])[0][0].tokens;
      if (tok.decode(greedy) !== tok.decode(all[i][0].tokens)) differFromGreedy++;
    }
    console.log(`beam 4 differs from greedy on ${differFromGreedy}/${sources.length}`);
  });

  test("beam 1 equals greedy", () => {
    const greedy = decodeBatch(model, sources).map((h) => h[0].tokens);
    const beam1 = decodeBatch(model, sources, { beam: 1, search: "beam" }).map((h) => h[0].tokens);
    assert.deepEqual(beam1, greedy);
  });

  for (const stop of ["k-closed", "no-better"] as const) {
    test(`beam search (stop: ${stop}) follows a plain reference (no cache, no batch)`, () => {
      for (const i of [0, 3, 7, 12]) {
        for (const alpha of [0.6, 0]) {
          const want = referenceBeam(model, sources[i], 3, alpha, sources[i].length + 50, stop);
          const got = decodeBatch(model, [sources[i], ...sources.slice(0, 5)], {
            beam: 3,
            alpha,
            beamStop: stop,
          })[0][0];
          assert.deepEqual(got.tokens, want.tokens, `sentence ${i}, alpha ${alpha}`);
          assert.ok(relClose(got.score, want.score, 1e-4), `${got.score} vs ${want.score}`);
        }
      }
    });
  }

  test("the default stop never returns a worse best hypothesis than the peer's rule", () => {
    // The peer's rule stops at k closed ones; the default keeps going while a live prefix can still win.
    for (const i of [0, 3, 7, 12]) {
      const peer = decodeBatch(model, [sources[i]], { beam: 3, beamStop: "k-closed" })[0][0];
      const ours = decodeBatch(model, [sources[i]], { beam: 3 })[0][0];
      assert.ok(ours.score >= peer.score - 1e-6, `sentence ${i}: ${ours.score} < ${peer.score}`);
    }
  });

  test("beams wider than the vocabulary (dead beams fill the rows) still follow the reference", () => {
    // At step 0 one row gives fewer than k live expansions.
    const k = tok.vocabSize;
    for (const i of [1, 5]) {
      const want = referenceBeam(model, sources[i], k, 0.6, sources[i].length + 50, "no-better");
      const got = decodeBatch(model, [sources[i], sources[2]], { beam: k })[0][0];
      assert.deepEqual(got.tokens, want.tokens, `sentence ${i}`);
      assert.ok(relClose(got.score, want.score, 1e-4), `${got.score} vs ${want.score}`);
    }
  });

  test("maxLen caps the output; only EOS at the limit", () => {
    for (const beam of [1, 4]) {
      const out = decodeBatch(model, sources, { beam, maxLen: 2 });
      for (const h of out) assert.ok(h[0].tokens.length <= 2);
    }
  });
});

describe("the batch shrinks as sentences finish", () => {
  test("greedy: rows at step t = sentences whose output has at least t tokens", () => {
    const rows: number[] = [];
    const out = decodeBatch(model, sources, { onStep: (s) => void rows.push(s.rows) });
    const lens = out.map((h) => h[0].tokens.length);
    rows.forEach((r, t) => {
      assert.equal(r, lens.filter((l) => l >= t).length, `step ${t}`);
    });
    assert.equal(rows.length, Math.max(...lens) + 1);
  });
  test("beam: k rows per sentence still decoding, never more than before", () => {
    const rows: number[] = [];
    decodeBatch(model, sources, {
      beam: 4,
      onStep: (s) => {
        assert.equal(s.rows % 4, 0);
        assert.equal(s.logProbs?.length, s.rows * s.vocab);
        rows.push(s.rows);
      },
    });
    assert.equal(rows[0], sources.length * 4);
    for (let t = 1; t < rows.length; t++) assert.ok(rows[t] <= rows[t - 1]);
    assert.ok(rows[rows.length - 1] < rows[0]);
  });
  test("decoding leaves engine memory where it was", () => {
    decodeBatch(model, sources, { beam: 4 });
    const before = memory();
    decodeBatch(model, sources, { beam: 4 });
    decodeBatch(model, sources);
    assert.equal(memory().storages, before.storages);
    assert.equal(memory().bytes, before.bytes);
  });
});

/** The peer's beam_decode for one sentence, written plainly: full prefixes, no cache. */
function referenceBeam(
  m: Transformer,
  src: number[],
  k: number,
  alpha: number,
  limit: number,
  stop: "k-closed" | "no-better" = "k-closed",
): Hypothesis {
  const { bosId, eosId, padId, vocabSize: V } = m.config;
  return noGrad(() =>
    tidy(() => {
      const { memory: mem, srcMask } = m.encode(
        fromArray([...src, eosId], [1, src.length + 1], "int32"),
      );
      let alive = [{ tokens: [] as number[], logProb: 0 }];
      const finished: Hypothesis[] = [];
      for (let pos = 0; ; pos++) {
        const cands: { tokens: number[]; w: number; logProb: number; order: number }[] = [];
        alive.forEach((h, b) => {
          const lp = tidy(() => {
            const tgt = fromArray([bosId, ...h.tokens], [1, pos + 1], "int32");
            const logits = m.project(m.decode(tgt, mem, srcMask));
            return logSoftmax(logits)
              .readSync()
              .slice(pos * V, (pos + 1) * V);
          });
          for (let w = 0; w < V; w++) {
            if (w === padId || w === bosId || (pos >= limit && w !== eosId)) continue;
            cands.push({ tokens: h.tokens, w, logProb: h.logProb + lp[w], order: b * V + w });
          }
        });
        cands.sort((a, b) => b.logProb - a.logProb || a.order - b.order);
        const next: typeof alive = [];
        cands.slice(0, 2 * k).forEach((c, r) => {
          if (c.w === eosId) {
            if (r < k)
              finished.push({
                tokens: c.tokens,
                logProb: c.logProb,
                score: c.logProb / lengthPenalty(pos + 1, alpha),
              });
          } else if (next.length < k) next.push({ tokens: [...c.tokens, c.w], logProb: c.logProb });
        });
        if (next.length === 0) break;
        if (finished.length >= k) {
          if (stop === "k-closed") break;
          // no-better: stop unless the best live prefix, scored at its length, beats the k-th best closed.
          const kth = finished.map((h) => h.score).sort((a, b) => b - a)[k - 1];
          if (!(next[0].logProb / lengthPenalty(pos + 1, alpha) > kth)) break;
        }
        alive = next;
      }
      return finished.sort((a, b) => b.score - a.score)[0];
    }),
  );
}

describe("beam search on the shipped dates model", () => {
  test("the default stop finds the date; the peer's rule stops at k short hypotheses first", () => {
    const run = loadRun("web/public/checkpoints/dates");
    const m = run.model as Transformer;
    const src = run.tokenizer.encode("05 Mar 2019");
    const best = (stop: "no-better" | "k-closed") =>
      run.tokenizer.decode(decodeBatch(m, [src], { beam: 4, beamStop: stop })[0][0].tokens);
    assert.equal(best("no-better"), "2019-03-05");
    // A confident model ranks EOS below the best continuation at every step: with the
    // peer's rule four early closures end the sentence before "2019-03-05" is complete.
    assert.notEqual(best("k-closed"), "2019-03-05");
  });
});
