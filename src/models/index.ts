/** Models and their configs. */
import { type ModelConfig, validateConfig } from "./config.js";
import { GPT } from "./gpt.js";
import { Transformer } from "./transformer.js";

export * from "./config.js";
export { GPT, type GPTState, freeGPTCaches } from "./gpt.js";
export {
  Transformer,
  type EncoderDecoderState,
  type PaddingOptions,
  type ModelInterventions,
  freeDecodingCaches,
} from "./transformer.js";
export { EncoderLayer, DecoderLayer, GPTBlock } from "./blocks.js";

export type Model = Transformer | GPT;

/** The model a config describes. */
export function buildModel(cfg: ModelConfig): Model {
  validateConfig(cfg);
  return cfg.kind === "gpt" ? new GPT(cfg) : new Transformer(cfg);
}
