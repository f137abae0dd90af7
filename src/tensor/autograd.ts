/**
 * Reverse-mode automatic differentiation over the graph that ops record.
 *
 * Each op that sees an input with requiresGrad (while grad mode is on) gives
 * its output a GradNode: the inputs and a function from dL/dOutput to
 * dL/dInputs. `backward` visits the graph in reverse topological order,
 * summing the gradients that reach each tensor, and accumulates into `.grad`
 * of leaves. Backward functions are written with ops themselves, run in
 * no-grad mode.
 */
import { AttnError } from "../errors.js";
import { getBackend, isGradEnabled, keep, noGrad } from "./engine.js";
import { fmt, sameShape } from "./shape.js";
import { type GradNode, Tensor, registerBackward } from "./tensor.js";

/** Attaches a GradNode to `out` when grad mode is on and an input requires grad. */
export function record(
  out: Tensor,
  op: string,
  inputs: Tensor[],
  backward: GradNode["backward"],
): Tensor {
  if (isRecording(inputs)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

export function isRecording(inputs: Tensor[]): boolean {
  return isGradEnabled() && inputs.some((t) => t.requiresGrad);
}

/** Elementwise a + b into a new contiguous tensor (same shape). */
function addSame(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.uninit(a.shape, a.dtype);
  getBackend().binary("add", a.view(), b.view(), out.view());
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative post-order DFS, so deep graphs cannot overflow the stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

export function backward(root: Tensor, seed?: Tensor, opts?: { retainGraph?: boolean }): void {
  if (!root.requiresGrad) {
    throw new AttnError(
      `backward: tensor ${fmt(root.shape)} does not require grad (no input had requiresGrad)`,
    );
  }
  if (!seed && root.size !== 1) {
    throw new AttnError(
      `backward: output has shape ${fmt(root.shape)}; a non-scalar needs an explicit seed gradient of that shape`,
    );
  }
  if (seed && !sameShape(seed.shape, root.shape)) {
    throw new AttnError(
      `backward: seed shape ${fmt(seed.shape)} does not match output shape ${fmt(root.shape)}`,
    );
  }
  noGrad(() => {
    const order = topoOrder(root);
    const grads = new Map<Tensor, Tensor>();
    // How many pending uses each gradient tensor has; at 0 it is disposed (never the caller's seed).
    const uses = new Map<Tensor, number>();
    const hold = (x: Tensor) => uses.set(x, (uses.get(x) ?? 0) + 1);
    const drop = (x: Tensor) => {
      const n = (uses.get(x) ?? 1) - 1;
      if (n > 0) uses.set(x, n);
      else {
        uses.delete(x);
        if (x !== seed && !x.kept) x.dispose();
      }
    };
    if (seed) grads.set(root, seed);
    else {
      const one = Tensor.uninit(root.shape, root.dtype);
      getBackend().fill(one.view(), 1);
      grads.set(root, one);
    }
    hold(grads.get(root)!);
    for (let n = order.length - 1; n >= 0; n--) {
      const t = order[n];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.node;
      if (!node) {
        accumulateLeaf(t, g);
        drop(g);
        continue;
      }
      const inputGrads = node.backward(g);
      // A gradient is dead once its node has used it (unless passed on as is):
      // freeing it now keeps the peak memory of backward near that of forward.
      for (const gi of inputGrads) if (gi) hold(gi);
      drop(g);
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i];
        const gi = inputGrads[i];
        if (!gi) continue;
        if (!input.requiresGrad) {
          drop(gi);
          continue;
        }
        if (!sameShape(gi.shape, input.shape)) {
          throw new Error(
            `internal: ${node.op} backward gave gradient ${fmt(gi.shape)} for input ${fmt(input.shape)}`,
          );
        }
        const prev = grads.get(input);
        if (prev) {
          const sum = addSame(prev, gi);
          hold(sum);
          grads.set(input, sum);
          drop(prev);
          drop(gi);
        } else grads.set(input, gi);
      }
      if (!opts?.retainGraph) t.node = null;
    }
  });
}

/** leaf.grad += g, into a buffer the leaf owns (kept out of scopes). */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad) {
    const acc = leaf.grad.view();
    getBackend().binary("add", acc, g.view(), acc);
    return;
  }
  const own = Tensor.uninit(leaf.shape, leaf.dtype);
  getBackend().copy(g.view(), own.view());
  leaf.grad = keep(own);
}

registerBackward(backward);
