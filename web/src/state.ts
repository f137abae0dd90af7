/**
 * What the URL holds, so a view can be shared and reproduced: the model
 * (task, size, positions, seed) or checkpoint, the training settings and the
 * number of steps trained (replayed on open), the chapter, the input and the
 * interventions.
 *
 *   ?task=reverse&size=s&pos=sinusoidal&seed=1&lr=0.003&batch=16&ls=0.1&trained=200
 *    &ch=attention&src=abc&tgt=cba&iv=nomask,noscale,nopos&zero=decoder.layers.0.cross_attn:1
 *   ?ckpt=kjv-gpt&ch=output&src=In%20the%20beginning      (a shipped checkpoint)
 *   ?ch=experiments&exp=positional                         (the Experiments view)
 */
import { isPageId, type PageId } from "./chapters/guide.js";
import {
  POSITIONALS,
  SIZES,
  TASKS,
  type FreshSpec,
  type Interventions,
  NO_INTERVENTIONS,
  type PositionalChoice,
  type SizeName,
  type TaskName,
  type TrainSettings,
} from "./protocol.js";

export interface PageState {
  spec: FreshSpec;
  /**
   * "auto": the checkpoint attn explore serves if there is one, else the
   * shipped default (dates), else a fresh model; "served": the served one;
   * "none": a fresh model; any other value: that shipped checkpoint.
   */
  checkpoint: string;
  settings: TrainSettings;
  trained: number;
  /** A chapter, or the Experiments view. */
  chapter: PageId;
  /** The experiment the Experiments view opens on (exp=; checked against the registry there). */
  experiment: string | null;
  src: string | null;
  tgt: string | null;
  interventions: Interventions;
}

export const DEFAULT_STATE: PageState = {
  spec: { task: "dates", size: "s", seed: 1, positional: "sinusoidal" },
  checkpoint: "auto",
  settings: { lr: 3e-3, batch: 16, labelSmoothing: 0.1 },
  trained: 0,
  chapter: "overview",
  experiment: null,
  src: null,
  tgt: null,
  interventions: NO_INTERVENTIONS,
};

function num(v: string | null, ok: (n: number) => boolean, dflt: number): number {
  if (v === null) return dflt;
  const n = Number(v);
  return Number.isFinite(n) && ok(n) ? n : dflt;
}

function pick<T extends string>(v: string | null, all: readonly T[], dflt: T): T {
  return all.includes(v as T) ? (v as T) : dflt;
}

/** The ckpt parameter: none, served, or a shipped checkpoint's name; anything else is "auto". */
function checkpointParam(v: string | null): string {
  return v !== null && /^[A-Za-z0-9][\w.-]{0,63}$/.test(v) ? v : "auto";
}

export function parseState(search: string): PageState {
  const q = new URLSearchParams(search);
  const d = DEFAULT_STATE;
  const iv = new Set((q.get("iv") ?? "").split(",").filter(Boolean));
  const hasModel = q.has("task") || q.has("size") || q.has("seed") || q.has("pos");
  return {
    spec: {
      task: pick<TaskName>(q.get("task"), TASKS, d.spec.task),
      size: pick<SizeName>(q.get("size"), Object.keys(SIZES) as SizeName[], d.spec.size),
      seed: num(q.get("seed"), (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 31, d.spec.seed),
      positional: pick<PositionalChoice>(q.get("pos"), POSITIONALS, d.spec.positional),
    },
    checkpoint: hasModel ? "none" : checkpointParam(q.get("ckpt")),
    settings: {
      lr: num(q.get("lr"), (n) => n > 0 && n <= 0.1, d.settings.lr),
      batch: num(
        q.get("batch"),
        (n) => Number.isInteger(n) && n >= 1 && n <= 128,
        d.settings.batch,
      ),
      labelSmoothing: num(q.get("ls"), (n) => n >= 0 && n < 1, d.settings.labelSmoothing),
    },
    trained: num(q.get("trained"), (n) => Number.isInteger(n) && n >= 0 && n <= 20000, 0),
    chapter: chapterParam(q.get("ch"), d.chapter),
    experiment: q.get("exp")?.slice(0, 100) || null,
    src: q.get("src"),
    tgt: q.get("tgt"),
    interventions: {
      noPositional: iv.has("nopos"),
      noCausalMask: iv.has("nomask"),
      noScale: iv.has("noscale"),
      zeroHeads: (q.get("zero") ?? "").split(",").filter((s) => /^[\w.]+:\d+$/.test(s)),
    },
  };
}

/** The query string of a page state (a served checkpoint needs no parameter: "auto" opens it). */
export function serializeState(s: PageState): string {
  const q = new URLSearchParams();
  if (s.checkpoint === "none") {
    q.set("task", s.spec.task);
    q.set("size", s.spec.size);
    q.set("pos", s.spec.positional);
    q.set("seed", String(s.spec.seed));
  } else if (s.checkpoint !== "auto" && s.checkpoint !== "served") q.set("ckpt", s.checkpoint);
  const d = DEFAULT_STATE.settings;
  if (s.settings.lr !== d.lr) q.set("lr", String(s.settings.lr));
  if (s.settings.batch !== d.batch) q.set("batch", String(s.settings.batch));
  if (s.settings.labelSmoothing !== d.labelSmoothing)
    q.set("ls", String(s.settings.labelSmoothing));
  if (s.trained > 0) q.set("trained", String(s.trained));
  q.set("ch", s.chapter);
  if (s.chapter === "experiments" && s.experiment) q.set("exp", s.experiment);
  if (s.src !== null) q.set("src", s.src);
  if (s.tgt) q.set("tgt", s.tgt);
  const iv = s.interventions;
  const flags = [
    iv.noPositional && "nopos",
    iv.noCausalMask && "nomask",
    iv.noScale && "noscale",
  ].filter(Boolean);
  if (flags.length) q.set("iv", flags.join(","));
  if (iv.zeroHeads.length) q.set("zero", iv.zeroHeads.join(","));
  return `?${q.toString()}`;
}

/** The chapter (or view) a URL names; an unknown one opens the default, with a warning in the console. */
function chapterParam(ch: string | null, fallback: PageId): PageId {
  if (ch === null) return fallback;
  if (isPageId(ch)) return ch;
  console.warn(`explorer: no chapter "${ch}" (the URL's ch=); opening "${fallback}"`);
  return fallback;
}
