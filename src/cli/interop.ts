/**
 * `attn import` and `attn export`: Hugging Face GPT-2 / Marian directories to and from our
 * checkpoints, and our checkpoint's weights for PyTorch (docs/scaling.md).
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { AttnError } from "../index.js";
import {
  exportHf,
  HF_FAMILIES,
  onnxFiles,
  type HfFamily,
  importHf,
  writeDirectoryAtomic,
} from "../io/index.js";
import { readParallelTsv, readText } from "../data/index.js";
import { type RunConfig, saveCheckpoint } from "../train/index.js";
import { corpusRecipe, textRecipe } from "./recipes.js";
import { loadRun } from "./load.js";
import { column } from "./options.js";

const EXPORTS = [...HF_FAMILIES, "pytorch", "onnx"] as const;
type ExportFormat = (typeof EXPORTS)[number];

/** The run config of an imported model: its architecture, and the default recipe to fine-tune it. */
function importedRun(model: RunConfig["model"], from: string): RunConfig {
  if (model.kind === "gpt") {
    const r = textRecipe();
    return {
      format: "attention-lab-run",
      version: 1,
      model,
      data: { kind: "text", path: from, holdout: 0.05, evalSize: 0 },
      train: { ...r.train, seed: 0 },
    };
  }
  const r = corpusRecipe();
  return {
    format: "attention-lab-run",
    version: 1,
    model,
    data: {
      kind: "tsv",
      path: from,
      src: 0,
      tgt: 1,
      onBadLine: "error",
      maxLen: model.maxLen - 1,
      evalSize: 0,
    },
    train: { ...r.train, seed: 0 },
  };
}

interface ExportFlags {
  to: string;
  out: string;
  data?: string;
  columns?: string;
  src?: string;
  tgt?: string;
}

/** train.jsonl: one example per line as token ids ({src, tgt} pairs, or {ids} text chunks). */
function trainingIds(run: ReturnType<typeof loadRun>, o: ExportFlags): Uint8Array {
  const data = o.data!;
  if (!fs.existsSync(data)) throw new AttnError(`--data: file not found: ${data}`);
  const tok = run.tokenizer;
  const lines: string[] = [];
  if (run.model.config.kind === "encdec") {
    if (o.src === undefined || o.tgt === undefined)
      throw new AttnError("export --data: give --src and --tgt (columns of the TSV)");
    const { pairs } = readParallelTsv(data, {
      srcColumn: column(o.src),
      tgtColumn: column(o.tgt),
      columns: o.columns?.split(",").map((s) => s.trim()),
    });
    const room = run.model.config.maxLen - 1;
    for (const p of pairs) {
      const src = tok.encode(p.src);
      const tgt = tok.encode(p.tgt, { side: "target" });
      if (src.length <= room && tgt.length <= room) lines.push(JSON.stringify({ src, tgt }));
    }
  } else {
    const ids = tok.encode(readText(data));
    const n = run.model.config.maxLen;
    for (let i = 0; i + 2 <= ids.length; i += n)
      lines.push(JSON.stringify({ ids: ids.slice(i, i + n + 1) }));
  }
  return new TextEncoder().encode(`${lines.join("\n")}\n`);
}

/** How to run the exported graphs with ONNX Runtime (printed, and written as README.md). */
function onnxHowTo(kind: "gpt" | "encdec", dir: string): string {
  const files =
    kind === "gpt"
      ? "model.onnx: input_ids [batch, new] (int64), past_key_i / past_value_i [batch, heads, past, d_k] -> logits, present_key_i / present_value_i"
      : "encoder.onnx: input_ids [batch, src] (int64) -> encoder_hidden_states, encoder_attention_mask, cross_key_i / cross_value_i\n" +
        "decoder.onnx: input_ids [batch, new], encoder_attention_mask, past_key_i / past_value_i, cross_key_i / cross_value_i -> logits, present_key_i / present_value_i";
  const first = kind === "gpt" ? "model.onnx" : "encoder.onnx";
  return `ONNX export (opset 17) in ${dir}
${files}
Start with empty caches (past length 0); feed each step's present_* back as past_*.
Token ids: tokenizer.json (attention-lab's tokenizers, e.g. tokenizerFromJSON in "attention-lab").

Node:    const ort = require("onnxruntime-node");
         const s = await ort.InferenceSession.create("${dir}/${first}");
         const out = await s.run({ input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]), ... });
Python:  import onnxruntime as ort; s = ort.InferenceSession("${dir}/${first}")
         out = s.run(None, {"input_ids": np.array([ids], dtype=np.int64), ...})
Browser: import * as ort from "onnxruntime-web"; const s = await ort.InferenceSession.create("${first}");
`;
}

/** Reads an HF directory and writes it as our checkpoint `out` (what `attn import` does). */
export function importToCheckpoint(family: HfFamily, dir: string, out: string) {
  if (!fs.existsSync(dir)) throw new AttnError(`import: ${dir} does not exist`);
  const imp = importHf(family, dir);
  if (!imp.tokenizer)
    throw new AttnError(`import: ${dir} has no tokenizer files, and a checkpoint needs one`);
  saveCheckpoint(out, {
    config: importedRun(imp.config, path.resolve(dir)),
    model: imp.weights,
    tokenizer: imp.tokenizer.toJSON(),
  });
  return imp;
}

export function registerInterop(program: Command): void {
  program
    .command("import")
    .description(
      "turn a Hugging Face model directory into a checkpoint (eval, translate, generate, explore)",
    )
    .argument(
      "<dir>",
      "the directory save_pretrained wrote (config.json, model.safetensors, tokenizer files)",
    )
    .requiredOption("--from <family>", `what the directory holds: ${HF_FAMILIES.join(" or ")}`)
    .requiredOption("--out <dir>", "the checkpoint directory to write")
    .action((dir: string, o: { from: string; out: string }) => {
      if (!HF_FAMILIES.includes(o.from as HfFamily))
        throw new AttnError(
          `import: --from must be one of ${HF_FAMILIES.join(", ")}, got "${o.from}"`,
        );
      const { config: c, warnings } = importToCheckpoint(o.from as HfFamily, dir, o.out);
      for (const w of warnings) process.stderr.write(`attn: warning: ${w}\n`);
      const size =
        c.kind === "gpt" ? `${c.layers} layers` : `${c.encoderLayers}+${c.decoderLayers} layers`;
      process.stdout.write(
        `imported ${o.from} (${size}, d_model ${c.dModel}, vocabulary ${c.vocabSize}) into ${o.out}\n`,
      );
    });

  program
    .command("export")
    .description("write a checkpoint as a Hugging Face model directory, or its weights for PyTorch")
    .argument("<checkpoint>", "a checkpoint or run directory")
    .requiredOption("--to <format>", `${EXPORTS.join(", ")}`)
    .requiredOption("--out <dir>", "the directory to write")
    .option(
      "--data <file>",
      "pytorch: also write this data as token ids (train.jsonl) for scripts/pytorch",
    )
    .option("--columns <names>", "names of the TSV's columns, comma-separated (no header)")
    .option("--src <column>", "source column (name or 0-based index)")
    .option("--tgt <column>", "target column (name or 0-based index)")
    .action((ckpt: string, o: ExportFlags) => {
      if (!EXPORTS.includes(o.to as ExportFormat))
        throw new AttnError(`export: --to must be one of ${EXPORTS.join(", ")}, got "${o.to}"`);
      const run = loadRun(ckpt);
      if (path.resolve(run.dir) === path.resolve(o.out))
        throw new AttnError(`export: --out ${o.out} is the checkpoint itself`);
      if (o.to === "pytorch") {
        // Our names and config, as scripts/pytorch/model.py reads them.
        const files = new Map<string, Uint8Array>();
        for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
          files.set(f, fs.readFileSync(path.join(run.dir, f)));
        if (o.data) files.set("train.jsonl", trainingIds(run, o));
        writeDirectoryAtomic(o.out, files, {
          replaceable: (d) => fs.existsSync(path.join(d, "model.safetensors")),
          refusal: "it exists and is not a model directory; refusing to replace it",
          what: "export",
        });
      } else if (o.to === "onnx") {
        const files = onnxFiles(run.model.config, run.checkpoint.state);
        files.set("tokenizer.json", fs.readFileSync(path.join(run.dir, "tokenizer.json")));
        files.set("config.json", fs.readFileSync(path.join(run.dir, "config.json")));
        files.set("README.md", new TextEncoder().encode(onnxHowTo(run.model.config.kind, o.out)));
        writeDirectoryAtomic(o.out, files, {
          replaceable: (d) => fs.existsSync(path.join(d, "config.json")),
          refusal: "it exists and is not a model directory; refusing to replace it",
          what: "export",
        });
      } else {
        exportHf(o.to as HfFamily, o.out, run.model.config, run.checkpoint.state, run.tokenizer);
      }
      process.stdout.write(`exported ${run.dir} as ${o.to} to ${o.out}\n`);
      if (o.to === "onnx") process.stdout.write(onnxHowTo(run.model.config.kind, o.out));
      if (o.to === "pytorch")
        process.stdout.write(
          `continue training with: torchrun --nproc_per_node 2 scripts/pytorch/train_ddp.py ${o.out} --out DIR${o.data ? "" : " (add --data FILE to export training data)"}\n`,
        );
      if (o.to === "hf-gpt2")
        process.stdout.write(
          `load it with: GPT2LMHeadModel.from_pretrained("${o.out}") (transformers)\n`,
        );
      if (o.to === "hf-marian")
        process.stdout.write(
          `load it with: MarianMTModel.from_pretrained("${o.out}") (transformers)\n`,
        );
    });
}
