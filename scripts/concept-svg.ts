/**
 * Rendering helpers of the concept figures (scripts/concept-figures.ts):
 * Vega-Lite → SVG headless, and large heatmaps as one embedded bitmap so a
 * 64 × 64 table stays a small file (one SVG rect per cell would be ~400 KB).
 * Everything here is deterministic: the same input gives the same bytes.
 */

export type Spec = Record<string, unknown>;

export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Compiles a Vega-Lite spec and renders it to SVG without a browser. */
export async function renderSvg(spec: Spec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const full = {
    $schema: SCHEMA,
    background: "white",
    config: { legend: { labelLimit: 400 }, axis: { labelLimit: 300 } },
    ...spec,
  };
  // biome-ignore lint/suspicious/noExplicitAny: vega-lite's TopLevelSpec is a wide union of its own types.
  const compiled = vl.compile(full as any).spec;
  // Vega logs errors and renders what it can; a figure must fail instead.
  const errors: string[] = [];
  const logger = vega.logger(vega.Warn);
  logger.error = (...args: unknown[]) => {
    errors.push(args.map(String).join(" "));
    return logger;
  };
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logger });
  try {
    const svg = await view.toSVG();
    if (errors.length) throw new Error(`vega: ${errors.join("; ")}`);
    return `${svg}\n`;
  } finally {
    view.finalize();
  }
}

/** Rounds for the plot data: figures must not change with the last bits of a float. */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * An RGB PNG. The zlib stream uses stored (uncompressed) blocks: no
 * compressor whose output could differ between zlib versions.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const raw = new Uint8Array(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + 3 * width)] = 0; // filter: none
    raw.set(rgb.subarray(y * 3 * width, (y + 1) * 3 * width), y * (1 + 3 * width) + 1);
  }
  const blocks: number[] = [0x78, 0x01];
  for (let off = 0; off < raw.length || off === 0; off += 65535) {
    const len = Math.min(65535, raw.length - off);
    const last = off + len >= raw.length ? 1 : 0;
    blocks.push(last, len & 0xff, len >>> 8, ~len & 0xff, (~len >>> 8) & 0xff);
    for (let i = 0; i < len; i++) blocks.push(raw[off + i]);
    if (last) break;
  }
  const ad = adler32(raw);
  blocks.push(ad >>> 24, (ad >>> 16) & 0xff, (ad >>> 8) & 0xff, ad & 0xff);
  const u32 = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  const chunk = (type: string, data: number[] | Uint8Array) => {
    const body = new Uint8Array([...[...type].map((c) => c.charCodeAt(0)), ...data]);
    return [...u32(data.length), ...body, ...u32(crc32(body))];
  };
  const ihdr = [...u32(width), ...u32(height), 8, 2, 0, 0, 0]; // 8-bit RGB
  return new Uint8Array([
    ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    ...chunk("IHDR", ihdr),
    ...chunk("IDAT", blocks),
    ...chunk("IEND", []),
  ]);
}

/** The diverging colours of every heatmap: blue (negative), near-white (0), red (positive). */
export const DIVERGING = ["#2166ac", "#f7f7f7", "#b2182b"];
/** Sequential colours (weights in [0, 1]). */
export const SEQUENTIAL = ["#f7fbff", "#08306b"];

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

/** Linear RGB interpolation through evenly spaced stops, as Vega's "rgb" interpolation. */
function colour(t: number, stops: string[]): [number, number, number] {
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const a = hex(stops[i]);
  const b = hex(stops[i + 1]);
  const f = u - i;
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as [number, number, number];
}

export interface HeatmapOptions {
  /** Row-major values [rows, cols]. */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  title: string;
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  /** Colour domain: symmetric ±limit with diverging colours. */
  limit: number;
  width?: number;
  height?: number;
}

/**
 * A rows × cols heatmap as one pixel-per-cell PNG drawn unsmoothed, with
 * axes and a colour legend from an invisible layer on the same scales.
 */
export function heatmapSpec(o: HeatmapOptions): Spec {
  const rgb = new Uint8Array(o.rows * o.cols * 3);
  for (let i = 0; i < o.rows * o.cols; i++)
    rgb.set(colour((o.values[i] / o.limit + 1) / 2, DIVERGING), 3 * i);
  const uri = `data:image/png;base64,${Buffer.from(encodePng(o.cols, o.rows, rgb)).toString("base64")}`;
  const width = o.width ?? 4 * o.cols;
  const height = o.height ?? 4 * o.rows;
  const corners = [
    { x: 0, y: 0, v: -o.limit },
    { x: o.cols, y: o.rows, v: o.limit },
  ];
  return {
    title: { text: o.title, ...(o.subtitle ? { subtitle: o.subtitle } : {}) },
    width,
    height,
    layer: [
      {
        data: { values: [{}] },
        mark: {
          type: "image",
          width,
          height,
          aspect: false,
          smooth: false,
          align: "left",
          baseline: "top",
        },
        encoding: { x: { value: 0 }, y: { value: 0 }, url: { value: uri } },
      },
      {
        data: { values: corners },
        mark: { type: "point", opacity: 0 },
        encoding: {
          x: {
            field: "x",
            type: "quantitative",
            title: o.xTitle,
            scale: { domain: [0, o.cols], nice: false, zero: true },
          },
          y: {
            field: "y",
            type: "quantitative",
            title: o.yTitle,
            scale: { domain: [0, o.rows], nice: false, reverse: true },
          },
          color: {
            field: "v",
            type: "quantitative",
            title: null,
            scale: { domain: [-o.limit, 0, o.limit], range: DIVERGING, interpolate: "rgb" },
          },
        },
      },
    ],
  };
}

/** Labels of an ordinal axis whose values are "NN|text" (unique, in order): shows the text. */
export const LABEL_AFTER_BAR = "slice(datum.label, indexof(datum.label, '|') + 1)";

/** "NN|text" keys for tokens that may repeat along an axis. */
export function orderedKeys(labels: readonly string[]): string[] {
  return labels.map((l, i) => `${String(i).padStart(2, "0")}|${l}`);
}

/** A character token as an axis label (space made visible). */
export function showToken(t: string): string {
  return t === " " ? "␣" : t;
}

/** Histogram rows {bin, bin2, series, share} with bins of `step` from lo to hi (values outside are clipped into the end bins). */
export function histogram(
  series: Record<string, ArrayLike<number>>,
  lo: number,
  hi: number,
  step: number,
) {
  const n = Math.round((hi - lo) / step);
  return Object.entries(series).flatMap(([name, xs]) => {
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < xs.length; i++)
      counts[Math.min(n - 1, Math.max(0, Math.floor((xs[i] - lo) / step)))]++;
    return counts.map((c, b) => ({
      bin: r3(lo + b * step),
      bin2: r3(lo + (b + 1) * step),
      series: name,
      share: r3(c / xs.length),
    }));
  });
}

/** Population standard deviation. */
export function sdOf(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i] / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) ** 2 / xs.length;
  return Math.sqrt(v);
}
