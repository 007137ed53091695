/**
 * The worker pool reads a request's logits from one shared copy: the caller may reuse its buffer as soon as
 * evaluate() returns, and chunks left by a worker that dies are evaluated inline from the same copy. Outcomes equal
 * inline evaluation's either way.
 */
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogitGeometry } from '../src/base/types.js';
import { InlineEvaluator, type CandidateOutcome, type EvaluationRequest, type EvaluationSettings } from '../src/mask/evaluator.js';
import { WorkerPoolEvaluator } from '../src/node/postprocess-pool.js';
import { xorshift } from './helpers/image-rng.js';

const CELLS = 256 * 256;
const geometry: LogitGeometry = { lowRes: 256, frame: null, validW: 256, validH: 256 };
const settings: EvaluationSettings = {
  geometry,
  cropW: 90,
  cropH: 70,
  cropBox: [3, 2, 93, 72],
  imageW: 100,
  imageH: 80,
  low: -1,
  threshold: 0,
  high: 1,
  minStability: 0,
  lowResCleanup: null,
  allowDeferral: true,
};

/** `count` candidates in a buffer with gaps between them: blobs (cheap) and noise (deferred), alternately. */
function request(count: number, full = false): EvaluationRequest {
  const rnd = xorshift(7);
  const logits = new Float32Array((2 * count + 1) * CELLS);
  const offsets = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const at = (2 * k + 1) * CELLS;
    offsets[k] = at;
    const [cx, cy, r] = [rnd() * 256, rnd() * 256, 20 + rnd() * 60];
    for (let i = 0; i < CELLS; i++) {
      const x = i % 256;
      const y = (i - x) / 256;
      logits[at + i] = k % 2 === 0 ? (r - Math.hypot(x - cx, y - cy)) * 0.3 : (rnd() - 0.45) * 0.5;
    }
  }
  return { settings, logits, offsets, full };
}

function plain(outcomes: CandidateOutcome[]): unknown {
  return outcomes.map((o) =>
    o.kind === 'evaluated'
      ? { ...o, mask: o.mask && { ...o.mask, rle: Array.from(o.mask.rle.counts) } }
      : o.kind === 'deferred'
        ? { ...o, logits: Array.from(o.logits.subarray(0, 8)), length: o.logits.length }
        : o,
  );
}

describe('post-processing pool', () => {
  const pools: WorkerPoolEvaluator[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const expected = (req: EvaluationRequest): unknown => plain(new InlineEvaluator().evaluate(req));

  it('declares itself not inline', () => {
    const pool = new WorkerPoolEvaluator(1);
    pools.push(pool);
    expect([pool.inline, new InlineEvaluator().inline]).toEqual([false, true]);
  });

  it('takes its copy at once: the caller overwrites its buffer right after evaluate(), outcomes unchanged', async () => {
    for (const full of [false, true]) {
      const req = request(20, full);
      const want = expected(req);
      const pool = new WorkerPoolEvaluator(2);
      pools.push(pool);
      const pending = pool.evaluate(req);
      req.logits.fill(Number.NaN);
      const got = await pending;
      expect({ full, worker: pool.lastError?.message ?? 'ok' }).toEqual({ full, worker: 'ok' });
      expect(got.map((o) => o.kind)).toContain(full ? 'evaluated' : 'deferred');
      expect(plain(got)).toEqual(want);
    }
  });

  it('a worker that dies leaves its chunks to inline evaluation, from the same shared logits', async () => {
    const req = request(24);
    const want = expected(req);
    const pool = new WorkerPoolEvaluator(1);
    pools.push(pool);
    const pending = pool.evaluate(req);
    // The pool's only worker, killed with its first chunk (of three) in flight.
    const slots = (pool as unknown as { slots: { worker: Worker }[] }).slots;
    await slots[0].worker.terminate();
    const got = await pending;
    expect(pool.size).toBe(0);
    expect(pool.lastError?.message).toMatch(/exited with code/);
    expect(plain(got)).toEqual(want);
  });
});
