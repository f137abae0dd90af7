/** The page's side of the worker protocol: requests as promises, pushed events as callbacks. */
import type {
  Analysis,
  FromWorker,
  ModelInfo,
  PositionsSide,
  Request,
  SamplingSettings,
  Sample,
  ToWorker,
  TrainPoint,
} from "./protocol.js";

export interface WorkerEvents {
  onAnalysis(a: Analysis): void;
  onProgress(points: TrainPoint[], running: boolean, samples: Sample[] | null): void;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class ModelClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(events: WorkerEvents) {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: "model",
    });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      if (msg.type === "reply") {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) return;
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new Error(msg.error));
      } else if (msg.type === "analysis") events.onAnalysis(msg.value);
      else events.onProgress(msg.points, msg.running, msg.samples);
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      const err = new Error(`model worker failed: ${ev.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  private send<T>(req: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id } as ToWorker);
    });
  }

  load(source: Extract<Request, { type: "load" }>["source"]): Promise<ModelInfo> {
    return this.send({ type: "load", source });
  }

  analyze(src: string, tgt: string | null): Promise<Analysis> {
    return this.send({ type: "analyze", src, tgt });
  }

  setInterventions(
    value: Extract<Request, { type: "interventions" }>["value"],
  ): Promise<Analysis | null> {
    return this.send({ type: "interventions", value });
  }

  generate(src: string, sampling: SamplingSettings): Promise<Analysis["greedy"]> {
    return this.send({ type: "generate", src, sampling });
  }

  positions(models: { name: string; title: string; url: string }[], src: string) {
    return this.send<PositionsSide[]>({ type: "positions", models, src });
  }

  train(req: Omit<Extract<Request, { type: "train" }>, "type">): Promise<number> {
    return this.send({ type: "train", ...req });
  }
}
