/**
 * Interventions on a live model (encoder-decoder or GPT): the switches the
 * modules already have (Stack.inputInterventions.noPositional,
 * Transformer/GPT.interventions.noCausalMask,
 * MultiHeadAttention.interventions.noScale) plus "zero a head", done with a
 * tap hook that multiplies `<attention>.heads` [B, H, T, d_k] by a 0/1 mask
 * over H before the heads are concatenated.
 */
import {
  fromArray,
  GPT,
  mul,
  MultiHeadAttention,
  withTapHook,
  type Transformer,
} from "../../../src/browser.js";
import type { Interventions } from "../protocol.js";

export function anyIntervention(iv: Interventions): boolean {
  return iv.noPositional || iv.noCausalMask || iv.noScale || iv.zeroHeads.length > 0;
}

export type AnyModel = Transformer | GPT;

function setSwitches(model: AnyModel, iv: Interventions | null): void {
  model.interventions.noCausalMask = iv?.noCausalMask ?? false;
  const noPos = iv?.noPositional ?? false;
  if (model instanceof GPT) model.inputInterventions.noPositional = noPos;
  else {
    model.encoder.inputInterventions.noPositional = noPos;
    model.decoder.inputInterventions.noPositional = noPos;
  }
  for (const [, m] of model.namedModules()) {
    if (m instanceof MultiHeadAttention) m.interventions.noScale = iv?.noScale ?? false;
  }
}

/** Head masks by tap name: "<module>.heads" -> [1, H, 1, 1] with 0 at zeroed heads. */
function headMasks(iv: Interventions, heads: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const key of iv.zeroHeads) {
    const [path, h] = key.split(":");
    const name = `${path}.heads`;
    const m = out.get(name) ?? new Array<number>(heads).fill(1);
    const i = Number(h);
    if (Number.isInteger(i) && i >= 0 && i < heads) m[i] = 0;
    out.set(name, m);
  }
  return out;
}

/** Runs fn with the interventions on (or all off when iv is null), and restores "all off" after. */
export function withInterventions<T>(model: AnyModel, iv: Interventions | null, fn: () => T): T {
  setSwitches(model, iv);
  try {
    const masks = iv ? headMasks(iv, model.config.heads) : new Map<string, number[]>();
    if (masks.size === 0) return fn();
    return withTapHook((name, t) => {
      const m = masks.get(name);
      return m ? mul(t, fromArray(m, [1, m.length, 1, 1])) : undefined;
    }, fn);
  } finally {
    setSwitches(model, null);
  }
}
