/**
 * The guided walkthrough: one chapter per idea, in the order a learner meets
 * them, each with a short text and the code (file and function) that computes
 * what the chapter shows.
 */

/** Every chapter, in the order of the walkthrough: the one list the views and the URL are checked against. */
export const CHAPTER_IDS = [
  "overview",
  "embedding",
  "positional",
  "attention",
  "masks",
  "multihead",
  "residual",
  "ffn",
  "output",
  "training",
  "decoding",
] as const;
export type ChapterId = (typeof CHAPTER_IDS)[number];

export function isChapterId(s: string): s is ChapterId {
  return (CHAPTER_IDS as readonly string[]).includes(s);
}

/** Views outside the walkthrough, in the navigation after the chapters and opened by ?ch= like one. */
export const VIEW_IDS = ["experiments"] as const;
export type ViewId = (typeof VIEW_IDS)[number];
/** What ?ch= may name: a chapter or another view. */
export type PageId = ChapterId | ViewId;

export function isPageId(s: string): s is PageId {
  return isChapterId(s) || (VIEW_IDS as readonly string[]).includes(s);
}

/**
 * The experiments (src/experiments, by name) that measure what a chapter
 * shows; the chapter links to each in the Experiments view.
 * test/api/explorer-registry.test.ts checks every name is in the registry.
 */
export const CHAPTER_EXPERIMENTS: Partial<Record<ChapterId, readonly string[]>> = {
  overview: ["rnn-vs-transformer"],
  embedding: ["embedding"],
  positional: ["positional"],
  attention: ["scaling"],
  masks: ["causal-mask", "padding-mask"],
  multihead: ["heads"],
  residual: ["norm-placement"],
  ffn: ["feed-forward"],
  output: ["label-smoothing"],
  decoding: ["decoding"],
};

export interface CodeRef {
  file: string;
  fn: string;
}

export interface Chapter {
  id: ChapterId;
  title: string;
  /** Short label of the navigation. */
  nav: string;
  intro: string[];
  code: CodeRef[];
  /** What changes for a GPT (decoder-only) model. */
  gpt?: { title?: string; intro?: string[]; code?: CodeRef[] };
}

export const CHAPTERS: Chapter[] = [
  {
    id: "overview",
    nav: "Start",
    title: "A Transformer you can watch",
    intro: [
      "Type a source in the Source box (on the left; on a phone, open it at the top). A small encoder-decoder Transformer (the model of “Attention Is All You Need”) reads it and writes its answer one character at a time; every number on this page comes from that model, running in your browser.",
      "The page opens a model already trained to write dates in ISO form. Choose “Fresh model” in the Model box for random weights that answer nonsense, press Train and watch the loss fall and the attention sharpen; or follow the chapters to see each step of the computation.",
    ],
    code: [
      { file: "src/models/transformer.ts", fn: "Transformer.forward" },
      { file: "web/src/engine/analyze.ts", fn: "analyze" },
    ],
    gpt: {
      title: "A GPT you can watch",
      intro: [
        "Type a prompt in the Prompt box (on the left; on a phone, open it at the top). A small GPT, a decoder-only Transformer that learned its text one character at a time, reads it and continues it one character at a time; every number on this page comes from that model, running in your browser.",
        "A GPT is the paper's decoder without cross-attention: one stack of causally masked self-attention layers (normalised before each sub-layer, as GPT-2) that predicts the next token at every position.",
      ],
      code: [
        { file: "src/models/gpt.ts", fn: "GPT.forward" },
        { file: "web/src/engine/analyze.ts", fn: "analyzeGpt" },
      ],
    },
  },
  {
    id: "embedding",
    nav: "1 Embedding",
    title: "Input embedding: tokens become vectors",
    intro: [
      "The text is split into tokens (here, characters) and each token gets an id. The embedding is a table E with one row of d_model numbers per id.",
      "Multiplying the one-hot vector of an id by E picks out row id: the model does the lookup, which gives exactly the same numbers. The paper then multiplies by √d_model (§3.4).",
    ],
    code: [
      { file: "src/tensor/ops/embedding.ts", fn: "embedding" },
      { file: "src/models/stack.ts", fn: "Stack.embedInputs" },
    ],
    gpt: {
      code: [
        { file: "src/tensor/ops/embedding.ts", fn: "embedding" },
        { file: "src/models/stack.ts", fn: "Stack.embedInputs" },
        { file: "src/models/gpt.ts", fn: "GPT.hidden" },
      ],
    },
  },
  {
    id: "positional",
    nav: "2 Positions",
    title: "Positional encoding: where each token is",
    intro: [
      "Attention alone does not know the order of tokens. The sinusoidal encoding adds to each position p a vector of sines and cosines, PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(…), each pair a wave of its own wavelength (§3.5).",
      "Nearby positions have similar vectors, so their dot product falls with distance. Learned positions are a second trained table; RoPE instead rotates queries and keys inside attention.",
    ],
    code: [
      { file: "src/nn/positional.ts", fn: "sinusoidalPositionalEncoding" },
      { file: "src/models/stack.ts", fn: "Stack.embedInputs" },
      { file: "src/nn/positional.ts", fn: "applyRope" },
    ],
  },
  {
    id: "attention",
    nav: "3 Attention",
    title: "Scaled dot-product attention",
    intro: [
      "Each query vector q is compared with every key k: score = q·k / √d_k. A softmax turns a row of scores into weights that sum to 1, and the output is the weighted sum of the value vectors (§3.2.1).",
      "Hover or use the arrow keys on a cell to see how that weight was computed. Encoder self-attention looks within the source, decoder self-attention within the output so far, cross-attention from the output to the source.",
    ],
    code: [
      { file: "src/nn/attention.ts", fn: "scaledDotProductAttention" },
      { file: "src/tensor/ops/softmax.ts", fn: "softmax" },
    ],
    gpt: {
      intro: [
        "Each query vector q is compared with every key k: score = q·k / √d_k. A softmax turns a row of scores into weights that sum to 1, and the output is the weighted sum of the value vectors (§3.2.1).",
        "A GPT has one kind of attention: causal self-attention, where each position looks at itself and the positions before it, never after. Hover or use the arrow keys on a cell to see how its weight was computed.",
      ],
    },
  },
  {
    id: "masks",
    nav: "4 Masks",
    title: "Masks: padding and the future",
    intro: [
      "Sequences in a batch have different lengths, so the short ones are padded. The padding mask stops every query from attending to padding keys. The decoder also has a causal mask: position i may not look at positions after i, which it has to predict (§3.2.3).",
      "Masked scores are set to −∞ before the softmax, so their weight is exactly 0 and each row still sums to 1.",
    ],
    code: [
      { file: "src/nn/masks.ts", fn: "keyPaddingMask / causalMask / combineMasks" },
      { file: "src/models/transformer.ts", fn: "Transformer.targetMask" },
      { file: "src/tensor/ops/where.ts", fn: "maskedFill" },
    ],
    gpt: {
      title: "Masks: hiding the future",
      intro: [
        "A GPT has one mask, the causal mask: position i may look at positions 0…i only, because it is trained to predict token i + 1, which must stay hidden. Its training text is cut into chunks of equal length, so there is no padding.",
        "Masked scores are set to −∞ before the softmax, so their weight is exactly 0 and each row still sums to 1.",
      ],
      code: [
        { file: "src/nn/masks.ts", fn: "causalMask" },
        { file: "src/models/gpt.ts", fn: "GPT.hidden" },
        { file: "src/tensor/ops/where.ts", fn: "maskedFill" },
      ],
    },
  },
  {
    id: "multihead",
    nav: "5 Multi-head",
    title: "Multi-head attention",
    intro: [
      "Each layer runs h attention heads side by side, each on its own d_k = d_model / h slice of learned projections, so different heads can look for different things. Their outputs are concatenated and mixed by W^O (§3.2.2).",
      "Click a head to study it, draw its lines between tokens, or zero it and see what the model loses.",
    ],
    code: [
      { file: "src/nn/attention.ts", fn: "MultiHeadAttention.splitHeads" },
      { file: "src/nn/attention.ts", fn: "MultiHeadAttention.forward" },
    ],
  },
  {
    id: "residual",
    nav: "6 Residual + norm",
    title: "Residual connections and LayerNorm",
    intro: [
      "Every sub-layer adds its output to its input: x + Sublayer(x), the residual stream. The paper then normalises each position: LayerNorm(x + Sublayer(x)) gives every token vector mean 0 and variance 1, then a learned scale and shift (§3.1).",
      "Below, see what a sub-layer adds to one token's vector, and how large each stage is.",
    ],
    code: [
      { file: "src/models/blocks.ts", fn: "ResidualLayer.sublayer" },
      { file: "src/tensor/ops/layernorm.ts", fn: "layerNorm" },
    ],
    gpt: {
      intro: [
        "Every sub-layer adds its output to its input, the residual stream. A GPT normalises before each sub-layer (pre-LN): x + Sublayer(LayerNorm(x)), so the stream itself is never normalised until the final LayerNorm before the output.",
        "Below, see what a sub-layer adds to one token's vector, and how large each stage is.",
      ],
      code: [
        {
          file: "src/models/blocks.ts",
          fn: "ResidualLayer.sublayer (pre-LN), GPTBlock (a GPT's block), EncoderLayer.forward",
        },
        { file: "src/tensor/ops/layernorm.ts", fn: "layerNorm" },
      ],
    },
  },
  {
    id: "ffn",
    nav: "7 Feed-forward",
    title: "Position-wise feed-forward network",
    intro: [
      "After attention, each position goes through the same two-layer network on its own: FFN(x) = max(0, x W1 + b1) W2 + b2, widening to d_ff and back (§3.3).",
      "The ReLU switches many hidden units off: the white cells below are exact zeros.",
    ],
    code: [{ file: "src/nn/ffn.ts", fn: "FeedForward.forward" }],
    gpt: {
      intro: [
        "After attention, each position goes through the same two-layer network on its own, widening to d_ff and back (§3.3). GPT uses GELU instead of ReLU: FFN(x) = GELU(x W1 + b1) W2 + b2.",
        "GELU is smooth: small negative inputs give small negative outputs instead of exact zeros.",
      ],
    },
  },
  {
    id: "output",
    nav: "8 Output",
    title: "From vectors to the next token",
    intro: [
      "The decoder's last vectors are multiplied by the (shared) embedding matrix, giving one logit per vocabulary entry; softmax makes them probabilities (§3.4).",
      "Temperature, top-k and top-p reshape that distribution before sampling. Training compares it with the target using cross-entropy, −ln p(target token), measured in nats (natural-log units); with label smoothing (ε = 0.1 in the paper, §5.4) the target keeps a little mass on every token.",
    ],
    code: [
      { file: "src/models/transformer.ts", fn: "Transformer.project / Transformer.loss" },
      { file: "src/tensor/ops/crossentropy.ts", fn: "crossEntropy" },
    ],
    gpt: {
      intro: [
        "The last vectors go through a final LayerNorm and the (tied) embedding matrix, giving one logit per vocabulary entry; softmax makes them probabilities. Every position predicts the next character; the last one predicts the character after your prompt, where generation goes on.",
        "Temperature, top-k and top-p reshape that distribution before sampling. Training compares each position's distribution with the character that really follows, using cross-entropy.",
      ],
      code: [
        { file: "src/models/gpt.ts", fn: "GPT.project / GPT.loss" },
        { file: "src/generate/select.ts", fn: "samplingDistribution" },
        { file: "src/tensor/ops/crossentropy.ts", fn: "crossEntropy" },
      ],
    },
  },
  {
    id: "training",
    nav: "9 Training",
    title: "Training, live",
    intro: [
      "Each step draws a batch of task examples, runs the model with teacher forcing (the decoder is fed the true previous tokens, not its own guesses), computes the cross-entropy (the mean of −ln p of each right token), back-propagates and lets Adam update every weight (§5.3). The settings and seed are in the address bar: the link replays the same steps.",
      "Watch the loss fall, the samples become right, and the attention maps and embedding projection change as it learns.",
    ],
    code: [
      { file: "web/src/engine/train.ts", fn: "LiveTrainer.trainStep" },
      { file: "src/tensor/autograd.ts", fn: "backward" },
      { file: "src/train/optim.ts", fn: "Adam.step" },
    ],
    gpt: {
      intro: [
        "Live training draws its batches from a shipped task. This GPT learned from a text that is not part of the page, so it is not trained here: pick the dates translator or a fresh model in the Model box to train one live.",
        "A GPT is trained like the decoder: every position predicts the next token, and the cross-entropy over all positions is back-propagated.",
      ],
      code: [
        { file: "src/train/recipe.ts", fn: "lmTrainable" },
        { file: "src/train/optim.ts", fn: "Adam.step" },
      ],
    },
  },
  {
    id: "decoding",
    nav: "10 Decoding",
    title: "Decoding, one token at a time",
    intro: [
      "At generation time there is no target: the decoder starts from <bos>, predicts a token, appends it and repeats until <eos>. Greedy decoding takes the most likely token each time; keys and values of earlier steps are cached.",
      "Beam search keeps the few best partial outputs instead of one.",
    ],
    code: [
      {
        file: "src/models/transformer.ts",
        fn: "Transformer.startDecoding / Transformer.decodeStep",
      },
      { file: "web/src/engine/decode.ts", fn: "greedyDecode / beamSearch" },
    ],
    gpt: {
      intro: [
        "Generation continues the prompt: the model predicts the next token, one is chosen (greedy: the most likely; sampling: drawn from the distribution after temperature, top-k and top-p), appended, and the model runs again on just that token, reusing the cached keys and values of the earlier ones.",
        "The same seed draws the same text as attn generate.",
      ],
      code: [
        { file: "src/models/gpt.ts", fn: "GPT.startDecoding / GPT.forward" },
        { file: "src/generate/select.ts", fn: "samplingDistribution / sampleToken" },
        { file: "web/src/engine/generate.ts", fn: "gptGenerate" },
      ],
    },
  },
];

/** A chapter's title, texts and code references for a model kind. */
export function chapterText(
  c: Chapter,
  kind: "encdec" | "gpt",
): { title: string; intro: string[]; code: CodeRef[] } {
  const g = kind === "gpt" ? c.gpt : undefined;
  return { title: g?.title ?? c.title, intro: g?.intro ?? c.intro, code: g?.code ?? c.code };
}

export function chapterById(id: ChapterId): Chapter {
  const c = CHAPTERS.find((x) => x.id === id);
  if (!c) throw new Error(`explorer: chapter "${id}" has no text in guide.ts`);
  return c;
}
