/** Files: safetensors read/write (`attention-lab/io`) and the durable, atomic writers checkpoints use. */
export * from "./safetensors.js";
export {
  errorReason,
  makeDirectories,
  syncDirectory,
  writeFileAtomic,
  writeNewFileDurable,
} from "./atomic.js";
export { locateDirectory, removeDirectoryAtomic, writeDirectoryAtomic } from "./atomic-dir.js";
export * from "./hf/index.js";
export { onnxFiles } from "./onnx/export.js";
