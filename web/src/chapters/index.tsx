/** Which view each chapter shows. */
import type { FunctionComponent } from "preact";
import { Attention } from "./attention.js";
import { Decoding } from "./decoding.js";
import { Embedding } from "./embedding.js";
import { FeedForward, Residual } from "./layers.js";
import { Masks } from "./masks.js";
import { MultiHead } from "./multihead.js";
import { Output } from "./output.js";
import { Overview } from "./overview.js";
import { Positional } from "./positional.js";
import { Training } from "./training.js";
import type { ChapterId } from "./guide.js";
import type { ChapterProps } from "./types.js";

/** One view per chapter id: a chapter without a view (or a view without a chapter) does not compile. */
const VIEWS: Record<ChapterId, FunctionComponent<ChapterProps>> = {
  overview: Overview,
  embedding: Embedding,
  positional: Positional,
  attention: Attention,
  masks: Masks,
  multihead: MultiHead,
  residual: Residual,
  ffn: FeedForward,
  output: Output,
  training: Training,
  decoding: Decoding,
};

export function ChapterView({ id, props }: { id: ChapterId; props: ChapterProps }) {
  const View = VIEWS[id];
  return <View {...props} />;
}
