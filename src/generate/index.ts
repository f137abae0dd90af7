export * from "./select.js";
export * from "./seq2seq.js";
export * from "./translate.js";
export * from "./lm.js";
