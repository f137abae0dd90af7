/** Hugging Face interop: GPT-2 and Marian name maps, and their model directories on disk. */
export { gpt2Config, gpt2FromHf, gpt2ToHf } from "./gpt2.js";
export { marianConfig, marianFromHf, marianToHf } from "./marian.js";
export { halvesPermutation, permuteResidual, residualAxis } from "./common.js";
export {
  exportHf,
  HF_FAMILIES,
  type HfFamily,
  type HfImport,
  hfFiles,
  importHf,
  OUR_TOKENIZER_FILE,
} from "./files.js";
export { moduleWeights, type Weight, type Weights } from "./weights.js";
