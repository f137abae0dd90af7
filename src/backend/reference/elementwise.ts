import type { BinaryOp, UnaryGradArgs, UnaryOp, View } from "../backend.js";
import { geluErf, geluErfGrad, geluTanh, geluTanhGrad } from "./math.js";
import { planRows } from "./strided.js";

export function unaryFn(op: UnaryOp): (x: number) => number {
  switch (op) {
    case "neg":
      return (x) => -x;
    case "exp":
      return Math.exp;
    case "log":
      return Math.log;
    case "sqrt":
      return Math.sqrt;
    case "rsqrt":
      return (x) => 1 / Math.sqrt(x);
    case "tanh":
      return Math.tanh;
    case "relu":
      return (x) => Math.max(x, 0);
    case "gelu_tanh":
      return geluTanh;
    case "gelu_erf":
      return geluErf;
    case "abs":
      return Math.abs;
    case "sigmoid":
      return (x) => 1 / (1 + Math.exp(-x));
  }
}

/** d op(x) / dx, from x and y = op(x). */
function unaryDerivative(op: UnaryOp): (x: number, y: number) => number {
  switch (op) {
    case "neg":
      return () => -1;
    case "exp":
      return (_x, y) => y;
    case "log":
      return (x) => 1 / x;
    case "sqrt":
      return (_x, y) => 0.5 / y;
    case "rsqrt":
      return (_x, y) => -0.5 * y * y * y;
    case "tanh":
      return (_x, y) => 1 - y * y;
    case "relu":
      return (x) => (x > 0 ? 1 : 0);
    case "gelu_tanh":
      return geluTanhGrad;
    case "gelu_erf":
      return geluErfGrad;
    case "abs":
      return (x) => Math.sign(x);
    case "sigmoid":
      return (_x, y) => y * (1 - y);
  }
}

export function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case "add":
      return (a, b) => a + b;
    case "sub":
      return (a, b) => a - b;
    case "mul":
      return (a, b) => a * b;
    case "div":
      return (a, b) => a / b;
    case "pow":
      return Math.pow;
    case "max":
      return (a, b) => (a >= b || Number.isNaN(a) ? a : b);
    case "min":
      return (a, b) => (a <= b || Number.isNaN(a) ? a : b);
    case "eq":
      return (a, b) => (a === b ? 1 : 0);
    case "ne":
      return (a, b) => (a !== b ? 1 : 0);
    case "lt":
      return (a, b) => (a < b ? 1 : 0);
    case "le":
      return (a, b) => (a <= b ? 1 : 0);
    case "gt":
      return (a, b) => (a > b ? 1 : 0);
    case "ge":
      return (a, b) => (a >= b ? 1 : 0);
  }
}

export function copy(src: View, dst: View): void {
  const p = planRows(dst.shape, [src.strides, dst.strides], [src.offset, dst.offset]);
  const s = src.data;
  const d = dst.data;
  const [ss, ds] = p.innerStrides;
  for (let r = 0; r < p.rows; r++) {
    let si = p.rowOffsets[0][r];
    let di = p.rowOffsets[1][r];
    if (ss === 1 && ds === 1) {
      d.set(s.subarray(si, si + p.inner), di);
      continue;
    }
    for (let j = 0; j < p.inner; j++, si += ss, di += ds) d[di] = s[si];
  }
}

export function fill(dst: View, value: number): void {
  const p = planRows(dst.shape, [dst.strides], [dst.offset]);
  const d = dst.data;
  const [ds] = p.innerStrides;
  for (let r = 0; r < p.rows; r++) {
    const di = p.rowOffsets[0][r];
    if (ds === 1) d.fill(value, di, di + p.inner);
    else for (let j = 0, i = di; j < p.inner; j++, i += ds) d[i] = value;
  }
}

export function unary(op: UnaryOp, x: View, out: View): void {
  const p = planRows(out.shape, [x.strides, out.strides], [x.offset, out.offset]);
  const xd = x.data;
  const od = out.data;
  const [xs, os] = p.innerStrides;
  const n = p.inner;
  const f = unaryFn(op);
  for (let r = 0; r < p.rows; r++) {
    let xi = p.rowOffsets[0][r];
    let oi = p.rowOffsets[1][r];
    // The hottest ops get closure-free loops.
    switch (op) {
      case "relu":
        // Math.max compiles to a branch-free max (a data-dependent branch would
        // mispredict half the time); -Infinity gives 0 and NaN stays NaN, as in C.
        for (let j = 0; j < n; j++, xi += xs, oi += os) od[oi] = Math.max(xd[xi], 0);
        break;
      case "exp":
        for (let j = 0; j < n; j++, xi += xs, oi += os) od[oi] = Math.exp(xd[xi]);
        break;
      default:
        for (let j = 0; j < n; j++, xi += xs, oi += os) od[oi] = f(xd[xi]);
    }
  }
}

export function unaryGrad({ op, x, y, dy, dx, size }: UnaryGradArgs): void {
  switch (op) {
    case "relu":
      for (let i = 0; i < size; i++) dx[i] = dy[i] * +(x[i] > 0);
      return;
    case "exp":
      for (let i = 0; i < size; i++) dx[i] = dy[i] * y[i];
      return;
    case "tanh":
      for (let i = 0; i < size; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
      return;
    case "gelu_tanh":
      for (let i = 0; i < size; i++) dx[i] = dy[i] * geluTanhGrad(x[i]);
      return;
    default: {
      const g = unaryDerivative(op);
      for (let i = 0; i < size; i++) dx[i] = dy[i] * g(x[i], y[i]);
    }
  }
}

export function binary(op: BinaryOp, a: View, b: View, out: View): void {
  const p = planRows(
    out.shape,
    [a.strides, b.strides, out.strides],
    [a.offset, b.offset, out.offset],
  );
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  const [as, bs, os] = p.innerStrides;
  const n = p.inner;
  // The four arithmetic ops get their own loops; the rest go through a function.
  for (let r = 0; r < p.rows; r++) {
    let ai = p.rowOffsets[0][r];
    let bi = p.rowOffsets[1][r];
    let oi = p.rowOffsets[2][r];
    switch (op) {
      case "add":
        for (let j = 0; j < n; j++, ai += as, bi += bs, oi += os) od[oi] = ad[ai] + bd[bi];
        break;
      case "sub":
        for (let j = 0; j < n; j++, ai += as, bi += bs, oi += os) od[oi] = ad[ai] - bd[bi];
        break;
      case "mul":
        for (let j = 0; j < n; j++, ai += as, bi += bs, oi += os) od[oi] = ad[ai] * bd[bi];
        break;
      case "div":
        for (let j = 0; j < n; j++, ai += as, bi += bs, oi += os) od[oi] = ad[ai] / bd[bi];
        break;
      default: {
        const f = binaryFn(op);
        for (let j = 0; j < n; j++, ai += as, bi += bs, oi += os) od[oi] = f(ad[ai], bd[bi]);
      }
    }
  }
}

export function where(cond: View, a: View, b: View, out: View): void {
  const p = planRows(
    out.shape,
    [cond.strides, a.strides, b.strides, out.strides],
    [cond.offset, a.offset, b.offset, out.offset],
  );
  const cd = cond.data;
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  const [cs, as, bs, os] = p.innerStrides;
  for (let r = 0; r < p.rows; r++) {
    let ci = p.rowOffsets[0][r];
    let ai = p.rowOffsets[1][r];
    let bi = p.rowOffsets[2][r];
    let oi = p.rowOffsets[3][r];
    for (let j = 0; j < p.inner; j++, ci += cs, ai += as, bi += bs, oi += os) {
      od[oi] = cd[ci] !== 0 ? ad[ai] : bd[bi];
    }
  }
}

export function reduce(op: "sum" | "max", x: View, out: View): void {
  const p = planRows(x.shape, [x.strides, out.strides], [x.offset, out.offset]);
  const xd = x.data;
  const od = out.data;
  const [xs, os] = p.innerStrides;
  for (let r = 0; r < p.rows; r++) {
    let xi = p.rowOffsets[0][r];
    let oi = p.rowOffsets[1][r];
    if (os === 0) {
      // The inner axis is reduced: fold it into a local first.
      let acc = od[oi];
      if (op === "sum") for (let j = 0; j < p.inner; j++, xi += xs) acc += xd[xi];
      else
        for (let j = 0; j < p.inner; j++, xi += xs) {
          const v = xd[xi];
          if (v > acc || Number.isNaN(v)) acc = v;
        }
      od[oi] = acc;
    } else if (op === "sum") {
      for (let j = 0; j < p.inner; j++, xi += xs, oi += os) od[oi] += xd[xi];
    } else {
      for (let j = 0; j < p.inner; j++, xi += xs, oi += os) {
        const v = xd[xi];
        if (v > od[oi] || Number.isNaN(v)) od[oi] = v;
      }
    }
  }
}
