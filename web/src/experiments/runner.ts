/** The page's side of the experiments worker: the list, one run at a time, and cancel. */
import type { ExperimentResult } from "../../../src/browser.js";
import type { ExperimentInfo, ExperimentRequest, FromExperimentWorker } from "../protocol.js";

export interface Listing {
  experiments: ExperimentInfo[];
  hidden: ExperimentInfo[];
}

interface Pending {
  onLog(line: string): void;
  resolve(v: { result: ExperimentResult; engine: string }): void;
  reject(e: Error): void;
}

export class ExperimentRunner {
  private worker: Worker | null = null;
  private run_: Pending | null = null;
  private listed: ((l: Listing) => void) | null = null;

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: "experiments",
    });
    w.onmessage = (ev: MessageEvent<FromExperimentWorker>) => {
      const msg = ev.data;
      if (msg.type === "list") {
        this.listed?.({ experiments: msg.experiments, hidden: msg.hidden });
        this.listed = null;
      } else if (msg.type === "log") this.run_?.onLog(msg.line);
      else {
        const p = this.run_;
        this.run_ = null;
        if (msg.type === "done") p?.resolve({ result: msg.result, engine: msg.engine });
        else p?.reject(new Error(msg.error));
      }
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      this.stop(new Error(`experiments worker failed: ${ev.message}`));
    };
    this.worker = w;
    return w;
  }

  private send(req: ExperimentRequest): void {
    this.spawn().postMessage(req);
  }

  list(): Promise<Listing> {
    return new Promise((resolve) => {
      this.listed = resolve;
      this.send({ type: "list" });
    });
  }

  get running(): boolean {
    return this.run_ !== null;
  }

  /** The --quick version on the wasm backend; onLog gets each progress line. */
  run(
    name: string,
    seeds: number[],
    onLog: (line: string) => void,
  ): Promise<{ result: ExperimentResult; engine: string }> {
    if (this.run_) return Promise.reject(new Error("an experiment is already running"));
    return new Promise((resolve, reject) => {
      this.run_ = { onLog, resolve, reject };
      this.send({ type: "run", name, seeds });
    });
  }

  /** Ends a run at once (its loop never yields, so the worker goes; the next run starts a new one). */
  cancel(): void {
    this.stop(new Error("cancelled"));
  }

  private stop(err: Error): void {
    this.worker?.terminate();
    this.worker = null;
    const p = this.run_;
    this.run_ = null;
    p?.reject(err);
  }

  dispose(): void {
    this.stop(new Error("closed"));
  }
}
