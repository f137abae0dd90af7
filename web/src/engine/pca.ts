/** The embedding table's 2-D PCA lives in the library (src/experiments/pca.ts), shared with the embedding experiment. */
export { type Pca2, pca2 } from "../../../src/browser.js";
