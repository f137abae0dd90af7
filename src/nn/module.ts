/**
 * Module: a named tree of parameters and submodules, with PyTorch-style dotted
 * names ("encoder.layers.0.self_attn.q_proj.weight") so that state dicts mean
 * the same thing here as in PyTorch.
 */
import { AttnError } from "../errors.js";
import { type Tensor, assign, keep } from "../tensor/index.js";
import { fmt } from "../tensor/shape.js";
import { runTapHooks, tapHooksActive } from "./hooks.js";
import type { TapName } from "./taps.js";

/** Marks t as a trainable parameter: requires grad and outlives every scope. */
export function parameter(t: Tensor): Tensor {
  t.requiresGrad = true;
  return keep(t);
}

export abstract class Module {
  training = true;
  /** Dotted name from the root module (set by namedModules on the root). */
  path = "";
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  protected addParameter(name: string, t: Tensor): Tensor {
    this.ownParams.set(name, parameter(t));
    return t;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** (dotted name, parameter) pairs; a tensor shared by two modules (tied) is listed once, under its first name. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, prefix: string) => {
      for (const [n, p] of m.ownParams) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix + n, p]);
      }
      for (const [n, c] of m.children) walk(c, `${prefix}${n}.`);
    };
    walk(this, "");
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedModules(): [string, Module][] {
    const out: [string, Module][] = [];
    const walk = (m: Module, name: string) => {
      m.path = name;
      out.push([name, m]);
      for (const [n, c] of m.children) walk(c, name ? `${name}.${n}` : n);
    };
    walk(this, "");
    return out;
  }

  /** Total number of parameter elements (tied tensors counted once). */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /** Copies values in from `state`; names and shapes must match (all of them when strict). */
  loadStateDict(
    state: Map<string, { shape: readonly number[]; values: ArrayLike<number> }>,
    strict = true,
  ): void {
    const own = this.stateDict();
    if (strict) {
      // Names from a file may be anything: shown cut to 80 characters.
      const cut = (k: string) => (k.length > 80 ? `${k.slice(0, 77)}...` : k);
      const missing = [...own.keys()].filter((k) => !state.has(k));
      const unexpected = [...state.keys()].filter((k) => !own.has(k)).map(cut);
      if (missing.length > 0 || unexpected.length > 0) {
        throw new AttnError(
          `loadStateDict: ${missing.length ? `missing ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""}` : ""}${missing.length && unexpected.length ? "; " : ""}${unexpected.length ? `unexpected ${unexpected.slice(0, 5).join(", ")}${unexpected.length > 5 ? ", ..." : ""}` : ""}`,
        );
      }
    }
    for (const [name, p] of own) {
      const src = state.get(name);
      if (!src) continue;
      if (src.shape.length !== p.rank || src.shape.some((d, i) => d !== p.shape[i])) {
        throw new AttnError(
          `loadStateDict: ${name} has shape ${fmt(src.shape)}, the model expects ${fmt(p.shape)}`,
        );
      }
      const bad = countNonFinite(src.values);
      if (bad > 0)
        throw new AttnError(
          `loadStateDict: ${name} holds ${bad} non-finite value${bad === 1 ? "" : "s"} (NaN or ±Infinity) of ${src.values.length}; the weights are corrupt`,
        );
      assign(p, src.values);
    }
  }

  /** Marks a named intermediate for recording or intervention (see nn/hooks). Free when no hook is active. */
  protected tap(name: TapName, t: Tensor): Tensor {
    if (!tapHooksActive()) return t;
    return runTapHooks(this.path ? `${this.path}.${name}` : name, t);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
}

/** An ordered list of submodules named "0", "1", ... (as PyTorch's nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];

  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => {
      this.addModule(String(i), m);
    });
  }

  get length(): number {
    return this.items.length;
  }
}

function countNonFinite(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) n++;
  return n;
}
