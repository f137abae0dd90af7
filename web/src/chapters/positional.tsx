/** Positional encoding: the table, its waves, similarity against distance, and embedding + PE per token. */
import { useState } from "preact/hooks";
import { LineChart } from "../components/chart.js";
import { Heatmap } from "../components/heatmap.js";
import { dot, mat, rowOf } from "../lib.js";
import { type ChapterProps, tok } from "./types.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

export function Positional({ a, info }: ChapterProps) {
  const cfg = info.config;
  const d = cfg.dModel;
  const candidates = [0, 1, 2, 3, 6, 7, Math.floor(d / 4), Math.floor(d / 2), d - 2, d - 1].filter(
    (x, i, all) => x < d && all.indexOf(x) === i,
  );
  const [dims, setDims] = useState<number[]>([0, 2, 6].filter((x) => x < d));
  const [ref, setRef] = useState(10);
  const table = a.posTable ? mat(a.posTable) : null;
  const src = a.srcIds.map((id) => tok(info, id));
  const embed = a.tensors["encoder.embed"];
  const pos = a.tensors["encoder.pos"];
  const input = a.tensors["encoder.input"];
  const heat = (title: string, key: string, testId: string) => {
    const r = a.tensors[key];
    return r ? (
      <Heatmap
        testId={testId}
        title={title}
        m={mat(r, [0])}
        rowLabels={src}
        scale="div"
        maxWidth={300}
      />
    ) : null;
  };
  return (
    <div>
      {cfg.positional === "rope" && (
        <p class="note">
          This model uses rotary positions (RoPE): there is no table to add. Each query and key is
          rotated by an angle proportional to its position inside attention, so q·k depends on the
          distance between tokens. Switch “Positions” to sinusoidal or learned to see a table.
        </p>
      )}
      {a.interventions.noPositional && (
        <p class="note warn">
          The positional encoding is switched off (interventions): the encoder input is the
          embedding alone.
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
      <h3>Embedding + position = the encoder's input, token by token</h3>
      <div class="row">
        {embed && heat("token embedding (×√d_model)", "encoder.embed", "pe-embed")}
        {pos && <p class="op-big">+</p>}
        {pos && heat("positional encoding", "encoder.pos", "pe-pos")}
        {input && <p class="op-big">=</p>}
        {input && heat("encoder input", "encoder.input", "pe-input")}
      </div>
    </div>
  );
}
