/** Training progress on the terminal: a cli-progress bar on a TTY, a line every few seconds otherwise. */
import cliProgress from "cli-progress";

export interface ProgressValues {
  loss: number;
  lr: number;
  tokensPerSec: number;
  /** Training time so far (the time budget's clock); default: wall time since the start. */
  elapsedMs?: number;
}

export class TrainProgress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly unit: "steps" | "seconds",
    private readonly enabled: boolean,
  ) {
    if (!enabled) return;
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `{bar} {percentage}% | ${unit === "steps" ? "step {value}/{total}" : "{value}/{total} s"} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { loss: "-", lr: "-", tps: "-" });
    }
  }

  update(step: number, v: ProgressValues): void {
    if (!this.enabled) return;
    const elapsed = (v.elapsedMs ?? performance.now() - this.started) / 1000;
    const value = this.unit === "steps" ? step : Math.min(this.total, Math.round(elapsed));
    const payload = {
      loss: v.loss.toFixed(4),
      lr: v.lr.toExponential(2),
      tps: Math.round(v.tokensPerSec).toLocaleString("en-US"),
    };
    if (this.bar) {
      this.bar.update(value, payload);
      return;
    }
    if (elapsed - this.lastLine >= 5) {
      this.lastLine = elapsed;
      process.stderr.write(
        `step ${step} | loss ${payload.loss} | lr ${payload.lr} | ${payload.tps} tok/s | ${elapsed.toFixed(0)} s\n`,
      );
    }
  }

  log(line: string): void {
    if (!this.enabled) return;
    if (this.bar) {
      // Print above the bar.
      this.bar.stop();
      process.stderr.write(`${line}\n`);
      this.bar.start(this.total, this.bar.getProgress() * this.total);
    } else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** "90s", "3m", "1h", "1h30m" or plain seconds -> milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(v.trim());
  if (!m || v.trim() === "" || (!m[1] && !m[2] && !m[3])) return Number.NaN;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
