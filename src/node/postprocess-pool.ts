/**
 * Node side: candidate post-processing on worker threads, for machines with cores that ONNX Runtime leaves idle.
 * The generator only sees the CandidateEvaluator interface (src/mask/evaluator.ts); this module is the one place
 * that knows about worker_threads.
 *
 * A batch is cut into small chunks that idle workers take in turn, so cheap and expensive candidates even out; the
 * outcomes are put back in request order. The batch's candidates are copied once into shared memory that every
 * chunk reads in place, so no logits are cloned on the way to a worker. A worker that dies has its chunks evaluated
 * inline instead (same function, same outcomes, from the same shared memory) and is not used again.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InlineEvaluator, type CandidateEvaluator, type CandidateOutcome, type EvaluationRequest } from '../mask/evaluator.js';
import type { WorkerReply, WorkerTask } from './postprocess-worker.js';
import { defaultThreads } from './session.js';
import { asError } from '../base/errors.js';

/** Candidates per chunk: small enough to balance, large enough that messaging costs nothing. */
const CHUNK = 8;
/** More workers than this rarely pay: post-processing is a fraction of decoding even for smooth logits. */
const MAX_AUTO_WORKERS = 4;

/** The --postprocess-workers flag: `auto` or a whole number ≥ 0. */
export function parseWorkersFlag(value: string | undefined): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(`--postprocess-workers must be 'auto' or an integer ≥ 0, got ${value}`);
  return n;
}

/**
 * How many post-processing workers to start. `auto`: the cores left over by ONNX Runtime's intra-op threads (times
 * the images decoded at once), at most 4 — none on a machine whose cores ONNX Runtime already uses, where a worker
 * would only take time from the decoder (so none on a 2-core machine with the default --threads).
 */
export function postprocessWorkerCount(
  setting: number | 'auto',
  ortThreads: number | undefined,
  concurrency = 1,
  cores = defaultThreads(),
): number {
  if (setting !== 'auto') return Math.max(0, Math.floor(setting));
  // ONNX Runtime's default is one intra-op thread per core.
  const busy = (ortThreads ?? cores) * Math.max(1, concurrency);
  return Math.max(0, Math.min(MAX_AUTO_WORKERS, cores - busy));
}

/** Inline evaluation for 0 workers, else a pool. */
export function createCandidateEvaluator(workers: number): CandidateEvaluator {
  return workers > 0 ? new WorkerPoolEvaluator(workers) : new InlineEvaluator();
}

interface Chunk {
  request: EvaluationRequest;
  resolve: (outcomes: CandidateOutcome[]) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks sent and not answered, by id. */
  busy: Map<number, Chunk>;
  dead: boolean;
}

/** Candidate evaluation on worker threads (see the module comment). */
export class WorkerPoolEvaluator implements CandidateEvaluator {
  private readonly slots: Slot[] = [];
  private readonly queue: Chunk[] = [];
  readonly inline = false;
  private readonly fallback = new InlineEvaluator();
  private nextId = 0;
  private closed = false;
  /** Why the last worker that died did (its chunks were evaluated inline). */
  lastError: Error | null = null;

  constructor(workers: number) {
    for (let i = 0; i < workers; i++) {
      const worker = startWorker();
      const slot: Slot = { worker, busy: new Map(), dead: false };
      worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
      worker.on('error', (err) => this.onDeath(slot, err));
      worker.on('exit', (code) => {
        if (!this.closed) this.onDeath(slot, new Error(`post-processing worker exited with code ${code}`));
      });
      // Idle workers must not keep the process alive; a worker with work is ref'd while it has some.
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Number of workers still running. */
  get size(): number {
    return this.slots.filter((s) => !s.dead).length;
  }

  evaluate(request: EvaluationRequest): Promise<CandidateOutcome[]> {
    if (this.closed) return Promise.reject(new Error('post-processing pool is closed'));
    const n = request.offsets.length;
    const logits = sharedCopy(request);
    const cells = request.settings.geometry.lowRes ** 2;
    const parts: Promise<CandidateOutcome[]>[] = [];
    for (let s = 0; s < n; s += CHUNK) {
      const k = Math.min(CHUNK, n - s);
      const chunk: EvaluationRequest = {
        settings: request.settings,
        logits,
        offsets: Int32Array.from({ length: k }, (_, i) => (s + i) * cells),
        full: request.full,
      };
      parts.push(new Promise((resolve, reject) => this.queue.push({ request: chunk, resolve, reject })));
    }
    this.dispatch();
    return Promise.all(parts).then((lists) => lists.flat());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.queue.splice(0)) c.reject(new Error('post-processing pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Hands queued chunks to idle workers, or evaluates them inline when no worker is left. */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.dead || slot.busy.size > 0) continue;
      const chunk = this.queue.shift() as Chunk;
      const id = this.nextId++;
      slot.busy.set(id, chunk);
      slot.worker.ref();
      const task: WorkerTask = { id, request: chunk.request };
      slot.worker.postMessage(task);
    }
    if (this.size === 0) {
      for (const c of this.queue.splice(0)) this.runInline(c);
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const chunk = slot.busy.get(reply.id);
    if (!chunk) return;
    slot.busy.delete(reply.id);
    if (slot.busy.size === 0) slot.worker.unref();
    if ('error' in reply) chunk.reject(new Error(reply.error));
    else chunk.resolve(reply.outcomes);
    this.dispatch();
  }

  private onDeath(slot: Slot, err: Error): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.worker.unref();
    this.lastError = err;
    const lost = [...slot.busy.values()];
    slot.busy.clear();
    for (const c of lost) this.runInline(c);
    this.dispatch();
  }

  private runInline(c: Chunk): void {
    try {
      c.resolve(this.fallback.evaluate(c.request));
    } catch (err) {
      c.reject(asError(err));
    }
  }
}

/**
 * The request's candidates, one 256×256 slot each, in memory every worker reads in place (posting a view of a
 * SharedArrayBuffer shares it; an ArrayBuffer would be cloned per chunk, or detached from the chunks that a dead
 * worker leaves to be evaluated here). Taken before evaluate() returns, so the caller may reuse its buffer at once.
 * Deferred candidates hold only the rows their crop reads; the rest of their slot is never read.
 */
function sharedCopy(request: EvaluationRequest): Float32Array {
  const cells = request.settings.geometry.lowRes ** 2;
  const n = request.offsets.length;
  const out = new Float32Array(new SharedArrayBuffer(n * cells * Float32Array.BYTES_PER_ELEMENT));
  for (let k = 0; k < n; k++) {
    const at = request.offsets[k];
    out.set(request.logits.subarray(at, at + cells), k * cells);
  }
  return out;
}

/**
 * The worker script beside this module: compiled JavaScript, or — when running from source (tests, bench) — the
 * TypeScript one behind a small bootstrap that registers tsx first (Node 20 does not apply loader flags to a
 * worker's entry module).
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./postprocess-worker.js', here));
  const tsxDir = path.dirname(createRequire(here).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL('./postprocess-worker.ts', here).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, execArgv: [] });
}
