/**
 * Positional encoding: the table, its waves, similarity against distance,
 * embedding + PE per token, and the shipped learned-vs-sinusoidal reverse
 * models side by side, with and without their positions.
 */
import { stackPath, tapName } from "../../../src/browser.js";
import { useEffect, useState } from "preact/hooks";
import { LineChart } from "../components/chart.js";
import { Heatmap } from "../components/heatmap.js";
import { dot, exact, fmt, type Matrix, mat, rowOf, sharedRange } from "../lib.js";
import type { PositionsSide } from "../protocol.js";
import { type ChapterProps, inputStack, isGpt, tok } from "./types.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

export function Positional(props: ChapterProps) {
  const { a, info } = props;
  const cfg = info.config;
  const d = cfg.dModel;
  // Even dimensions spread over d_model: sinusoid wavelengths 2π·10000^(j/d) from 6.3 up.
  const even = (x: number) => 2 * Math.floor(x / 2);
  const spread = [0, even(d / 8), even(d / 4)].filter((x, i, all) => x < d && all.indexOf(x) === i);
  const candidates = [0, 1, 2, 6, even(d / 8), even(d / 4), even(d / 2), d - 2, d - 1]
    .filter((x, i, all) => x >= 0 && x < d && all.indexOf(x) === i)
    .sort((x, y) => x - y);
  const [dims, setDims] = useState<number[]>(spread);
  const [ref, setRef] = useState(10);
  const table = a.posTable ? mat(a.posTable) : null;
  const src = a.srcIds.map((id) => tok(info, id));
  const gpt = isGpt(info);
  const pre = stackPath(inputStack(info));
  const embed = a.tensors[tapName(pre, "embed")];
  const pos = a.tensors[tapName(pre, "pos")];
  const input = a.tensors[tapName(pre, "input")];
  // Embedding, PE and their sum on one colour scale: the sum is visibly the two added.
  const first = (r: typeof embed) => (r ? mat(r, [0]).values : null);
  const sumRange = sharedRange(first(embed), first(pos), first(input));
  const heat = (title: string, key: string, testId: string) => {
    const r = a.tensors[key];
    return r ? (
      <Heatmap
        testId={testId}
        title={title}
        m={mat(r, [0])}
        rowLabels={src}
        scale="div"
        range={sumRange}
        rangeNote="one scale for all three"
        maxWidth={300}
      />
    ) : null;
  };
  return (
    <div>
      {props.shipped.some((e) => e.compare === "positions") && (
        <p>
          <a href="#pos-cmp-title">
            ↓ Compare the shipped models with sinusoidal and learned positions
          </a>
        </p>
      )}
      {cfg.positional === "rope" && (
        <p class="note">
          This model uses rotary positions (RoPE): there is no table to add. Each query and key is
          rotated by an angle proportional to its position inside attention, so q·k depends on the
          distance between tokens. Switch “Positions” to sinusoidal or learned to see a table.
        </p>
      )}
      {(cfg.positional === "alibi" || cfg.positional === "none") && (
        <p class="note">
          {cfg.positional === "alibi"
            ? "This model uses ALiBi: no table is added; each attention score gets a penalty proportional to the distance between query and key."
            : "This model has no positional encoding at all."}
        </p>
      )}
      {a.interventions.noPositional && (
        <p class="note warn">
          The positional encoding is switched off (interventions): the {gpt ? "model's" : "encoder"}{" "}
          input is the embedding alone.
        </p>
      )}
      {table && (
        <>
          <div class="row">
            <Heatmap
              testId="pe-table"
              title={`${cfg.positional === "learned" ? "Learned position table" : "Sinusoidal PE"}: position (rows) × dimension (columns)`}
              m={table}
              rowLabels={Array.from({ length: table.rows }, (_, i) => String(i))}
              colLabels={Array.from({ length: table.cols }, (_, j) => String(j))}
              scale="div"
              maxWidth={520}
            />
            <div class="col">
              <LineChart
                title="Chosen dimensions as waves over position"
                x={Array.from({ length: table.rows }, (_, i) => i)}
                xLabel="position"
                yLabel="value"
                width={420}
                height={200}
                series={dims.map((j, k) => ({
                  label: `dim ${j}`,
                  color: COLORS[k % COLORS.length],
                  values: Array.from({ length: table.rows }, (_, p) => table.values[p * d + j]),
                }))}
              />
              <fieldset class="inline">
                <legend>Dimensions</legend>
                {candidates.map((j) => (
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={dims.includes(j)}
                      onChange={(e) =>
                        setDims(
                          e.currentTarget.checked
                            ? [...dims, j].sort((x, y) => x - y)
                            : dims.filter((x) => x !== j),
                        )
                      }
                    />
                    {j}
                  </label>
                ))}
              </fieldset>
            </div>
          </div>
          <div class="row">
            <LineChart
              testId="pe-similarity"
              title={`Dot product PE[${ref}] · PE[p]: largest at p = ${ref}, falling with distance`}
              x={Array.from({ length: table.rows }, (_, i) => i)}
              xLabel="position p"
              yLabel="dot product"
              width={520}
              height={200}
              series={[
                {
                  label: `PE[${ref}]·PE[p]`,
                  color: "#2563eb",
                  values: Array.from({ length: table.rows }, (_, p) =>
                    dot(rowOf(table, ref), rowOf(table, p)),
                  ),
                  points: true,
                },
              ]}
            />
            <label class="slider">
              Reference position {ref}
              <input
                type="range"
                min={0}
                max={table.rows - 1}
                value={ref}
                onInput={(e) => setRef(Number(e.currentTarget.value))}
              />
            </label>
          </div>
        </>
      )}
      <h3>Embedding + position = the {gpt ? "model's" : "encoder's"} input, token by token</h3>
      <div class="row">
        {embed &&
          heat(
            cfg.scaleEmbedding ? "token embedding (×√d_model)" : "token embedding",
            tapName(pre, "embed"),
            "pe-embed",
          )}
        {pos && <p class="op-big">+</p>}
        {pos && heat("positional encoding", tapName(pre, "pos"), "pe-pos")}
        {input && <p class="op-big">=</p>}
        {input && heat(gpt ? "input" : "encoder input", tapName(pre, "input"), "pe-input")}
      </div>
      <PositionsCompare {...props} />
    </div>
  );
}

/** Rows of a comparison model's table shown (the reverse task's strings are short). */
const COMPARE_ROWS = 16;

function firstRows(m: Matrix, n: number): Matrix {
  const rows = Math.min(n, m.rows);
  return { rows, cols: m.cols, values: m.values.subarray(0, rows * m.cols) };
}

function Verdict({ out, tgt }: { out: string; tgt: string }) {
  const ok = out === tgt;
  return (
    <>
      <code>{out || "∅"}</code> <span aria-hidden="true">{ok ? "✓" : "✗"}</span>
      <span class="sr-only">{ok ? "right" : "wrong"}</span>
    </>
  );
}

function Side({ s, act }: { s: PositionsSide; act: ChapterProps["act"] }) {
  const table = s.table ? firstRows(mat(s.table), COMPARE_ROWS) : null;
  const ref = 3;
  return (
    <div class="col compare-side" data-testid={`pos-side-${s.name}`}>
      <h4>
        {s.title}
        {!s.title.includes(s.positional) && <span class="muted"> ({s.positional})</span>}
      </h4>
      {table ? (
        <>
          <Heatmap
            title={`${s.positional === "learned" ? "learned table" : "sinusoidal table"}: positions 0–${table.rows - 1} × ${table.cols} dimensions`}
            m={table}
            rowLabels={Array.from({ length: table.rows }, (_, i) => String(i))}
            scale="div"
            maxWidth={330}
            small
          />
          <LineChart
            title={`PE[${ref}] · PE[p]`}
            x={Array.from({ length: table.rows }, (_, i) => i)}
            xLabel="position p"
            yLabel="dot product"
            width={330}
            height={150}
            series={[
              {
                label: `PE[${ref}]·PE[p]`,
                color: s.positional === "learned" ? "#dc2626" : "#2563eb",
                values: Array.from({ length: table.rows }, (_, p) =>
                  dot(rowOf(table, ref), rowOf(table, p)),
                ),
                points: true,
              },
            ]}
          />
        </>
      ) : (
        <p class="note">No table: positions act inside attention.</p>
      )}
      <table class="data compare-out">
        <tbody>
          <tr>
            <th scope="row">target</th>
            <td class="left">
              <code>{s.tgt}</code>
            </td>
            <td />
          </tr>
          <tr>
            <th scope="row">output</th>
            <td class="left" data-testid="pos-out" data-ok={String(s.output === s.tgt)}>
              <Verdict out={s.output} tgt={s.tgt} />
            </td>
            <td data-value={exact(s.loss)}>loss {fmt(s.loss, 3)}</td>
          </tr>
          <tr>
            <th scope="row">without positions</th>
            <td class="left" data-testid="pos-out-nopos" data-ok={String(s.outputNoPos === s.tgt)}>
              <Verdict out={s.outputNoPos} tgt={s.tgt} />
            </td>
            <td data-value={exact(s.lossNoPos)}>loss {fmt(s.lossNoPos, 3)}</td>
          </tr>
        </tbody>
      </table>
      <button type="button" class="link" onClick={() => act.pick(`shipped:${s.name}`)}>
        Open this model in every chapter →
      </button>
    </div>
  );
}

/** The shipped reverse models with sinusoidal and learned positions, side by side. */
function PositionsCompare({ shipped, act }: ChapterProps) {
  const models = shipped.filter((e) => e.compare === "positions");
  const [src, setSrc] = useState("abcdefg");
  const [sides, setSides] = useState<PositionsSide[] | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const key = models.map((m) => m.name).join(",");
  useEffect(() => {
    if (models.length === 0 || src === "") return;
    let live = true;
    const t = setTimeout(() => {
      act.positions(models, src).then(
        (s) => {
          if (!live) return;
          setSides(s);
          setErr(null);
        },
        (e: unknown) => live && setErr(e instanceof Error ? e.message : String(e)),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [src, key]);
  if (models.length === 0) return null;
  return (
    <section class="compare-positions" data-testid="pos-compare" aria-labelledby="pos-cmp-title">
      <h3 id="pos-cmp-title">
        Compare: the same reverse model with sinusoidal and learned positions
      </h3>
      <p>
        Two shipped models learned to reverse strings of the letters a–g. They differ only in how
        they know where each letter is: a fixed sinusoid, or a table learned in training. To reverse
        a string the model must know positions; remove them and the encoder sees a bag of letters,
        the same for every order, and the reversal fails.
      </p>
      <label class="field">
        String to reverse (letters a–g)
        <input
          class="mono-input"
          data-testid="pos-compare-input"
          value={src}
          maxLength={10}
          spellcheck={false}
          autocomplete="off"
          onInput={(e) => setSrc(e.currentTarget.value.replace(/[^a-g]/g, ""))}
        />
      </label>
      {err && <p class="note warn">{err}</p>}
      {sides ? (
        <div class="row">
          {sides.map((s) => (
            <Side s={s} act={act} />
          ))}
        </div>
      ) : (
        !err && <p class="placeholder">Loading the shipped models…</p>
      )}
    </section>
  );
}
