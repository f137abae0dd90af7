/**
 * Seeded random numbers that are bit-identical on every platform.
 *
 * Uniform draws come from mulberry32 (the same generator, seed rule and draw
 * order as ../shared/bench/README.md). Normal draws use Box–Muller, but with
 * our own `ln`, `sin` and `cos` built only from + - * / (which IEEE-754 rounds
 * identically everywhere), so no engine's Math.log/Math.cos can change a weight.
 */

/** mulberry32: a 32-bit state, one unsigned 32-bit number per draw. */
export class Mulberry32 {
  private a: number;
  /** A cached second Box–Muller value, so normals come in deterministic pairs. */
  private spare: number | null = null;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  /** The next unsigned 32-bit draw. */
  nextU32(): number {
    this.a = (this.a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * Skips n draws and returns the state before them. mulberry32 is counter-
   * based (draw i uses state + i·0x6d2b79f5), so a kernel can make those n
   * draws itself, in any order or in parallel (see Backend.dropout).
   */
  skip(n: number): number {
    const start = this.a;
    this.a = (this.a + Math.imul(n >>> 0, 0x6d2b79f5)) | 0;
    return start >>> 0;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in lo..hi inclusive (the bench README's rule: lo + u mod (hi - lo + 1)). */
  intIn(lo: number, hi: number): number {
    return lo + (this.nextU32() % (hi - lo + 1));
  }

  /** Standard normal N(0, 1) by Box–Muller with deterministic ln/sin/cos. */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    // u1 in (0, 1] so that ln(u1) is finite.
    const u1 = (this.nextU32() + 1) / 4294967296;
    const u2 = this.nextU32() / 4294967296;
    const r = Math.sqrt(-2 * detLn(u1)); // sqrt is correctly rounded by IEEE-754
    const [s, c] = detSinCos2Pi(u2);
    this.spare = r * s;
    return r * c;
  }

  /** The full generator state, for exact resume. */
  getState(): { a: number; spare: number | null } {
    return { a: this.a, spare: this.spare };
  }

  setState(state: { a: number; spare: number | null }): void {
    this.a = state.a | 0;
    this.spare = state.spare;
  }
}

const LN2 = Math.LN2;
const SQRT2 = Math.SQRT2;

/** ln(x) for x > 0 from basic arithmetic only: x = m·2^e, ln m = 2·atanh((m-1)/(m+1)). */
export function detLn(x: number): number {
  if (!(x > 0)) throw new Error(`detLn: expected a positive number, got ${x}`);
  let e = 0;
  let m = x;
  while (m > SQRT2) {
    m /= 2;
    e++;
  }
  while (m < SQRT2 / 2) {
    m *= 2;
    e--;
  }
  const s = (m - 1) / (m + 1); // |s| < 0.1716
  const s2 = s * s;
  let term = s;
  let sum = 0;
  for (let k = 1; k < 40; k += 2) {
    sum += term / k;
    term *= s2;
    if (Math.abs(term) < 1e-18) break;
  }
  return 2 * sum + e * LN2;
}

/** [sin(2πv), cos(2πv)] for v in [0, 1), by quadrant reduction and Taylor series. */
export function detSinCos2Pi(v: number): [number, number] {
  const q = Math.floor(v * 4); // quadrant 0..3, exact
  const r = (v - q / 4) * 2 * Math.PI; // in [0, π/2)
  // Taylor series; |r| < 1.571, 12 terms reach below 1e-17.
  const r2 = r * r;
  let sin = 0;
  let cos = 0;
  let ts = r;
  let tc = 1;
  for (let n = 0; n < 14; n++) {
    sin += ts;
    cos += tc;
    ts *= -r2 / ((2 * n + 2) * (2 * n + 3));
    tc *= -r2 / ((2 * n + 1) * (2 * n + 2));
  }
  switch (q) {
    case 0:
      return [sin, cos];
    case 1:
      return [cos, -sin];
    case 2:
      return [-sin, -cos];
    default:
      return [-cos, sin];
  }
}
