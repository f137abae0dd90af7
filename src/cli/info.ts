/** `attn info`: what a model is (config, parameter count) and which backend runs it. */
import type { Command } from "commander";
import {
  getBackend,
  type ModelConfig,
  packageVersion,
  parameterCount,
  presetConfig,
  presetNames,
  validateConfig,
} from "../index.js";
import { choiceFlag, floatFlag, intFlag } from "./options.js";

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("show a model's configuration and parameter count, and the compute backend in use")
    .option("--preset <name>", `model preset (${presetNames().join(", ")})`, "s2s-small")
    .option("--vocab <n>", "vocabulary size", intFlag("vocab"))
    .option("--d-model <n>", "model width d_model", intFlag("d-model"))
    .option("--heads <n>", "attention heads", intFlag("heads"))
    .option("--d-ff <n>", "feed-forward width", intFlag("d-ff"))
    .option("--layers <n>", "layers (each stack)", intFlag("layers"))
    .option("--max-len <n>", "longest sequence", intFlag("max-len"))
    .option("--norm <placement>", "post or pre", choiceFlag("norm", ["post", "pre"] as const))
    .option(
      "--positional <kind>",
      "sinusoidal, learned, rope, alibi or none",
      choiceFlag("positional", ["sinusoidal", "learned", "rope", "alibi", "none"] as const),
    )
    .option("--dropout <p>", "dropout", floatFlag("dropout", 0, 0.999))
    .option("--json", "print one JSON object")
    .action((opts) => {
      const overrides: Partial<ModelConfig> & Record<string, unknown> = {};
      if (opts.vocab !== undefined) overrides.vocabSize = opts.vocab;
      if (opts.dModel !== undefined) overrides.dModel = opts.dModel;
      if (opts.heads !== undefined) overrides.heads = opts.heads;
      if (opts.dFf !== undefined) overrides.dFF = opts.dFf;
      if (opts.maxLen !== undefined) overrides.maxLen = opts.maxLen;
      if (opts.norm !== undefined) overrides.normPlacement = opts.norm;
      if (opts.positional !== undefined) overrides.positional = opts.positional;
      if (opts.dropout !== undefined) overrides.dropout = opts.dropout;
      const cfg = presetConfig(opts.preset, overrides);
      if (opts.layers !== undefined) {
        if (cfg.kind === "gpt") cfg.layers = opts.layers;
        else cfg.encoderLayers = cfg.decoderLayers = opts.layers;
      }
      // Counted, not built: info on a huge config allocates nothing.
      const checked = validateConfig(cfg);
      const info = {
        version: packageVersion(),
        backend: getBackend().name,
        preset: opts.preset,
        parameters: parameterCount(checked),
        config: checked,
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      const lines = [
        `attention-lab ${info.version} — backend: ${info.backend}`,
        `model: ${opts.preset} (${cfg.kind === "gpt" ? "decoder-only GPT" : "encoder-decoder Transformer"})`,
        `parameters: ${info.parameters.toLocaleString("en-US")}`,
        `d_model ${cfg.dModel}, heads ${cfg.heads}, d_ff ${cfg.dFF}, ${cfg.kind === "gpt" ? `${cfg.layers} layers` : `${cfg.encoderLayers}+${cfg.decoderLayers} layers`}, vocab ${cfg.vocabSize}`,
        `${cfg.normPlacement}-LN, ${cfg.positional} positions, ${cfg.activation}, dropout ${cfg.dropout}, max length ${cfg.maxLen}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
