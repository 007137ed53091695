/**
 * Where and when candidates are evaluated changes nothing: inline, on worker threads, with masks deferred until
 * after NMS or not, for any points_per_batch, the records are byte-identical. A synthetic decoder supplies the
 * logits that make post-processing expensive (a random-weight decoder's noise, smooth fields) next to cheap ones.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MaskGenerator } from '../src/amg/generator.js';
import type { AmgOptions } from '../src/amg/options.js';
import type { MaskRecord, RgbImage } from '../src/base/types.js';
import {
  InlineEvaluator,
  type CandidateEvaluator,
  type CandidateOutcome,
  type EvaluationRequest,
} from '../src/mask/evaluator.js';
import type { LogitGeometry } from '../src/base/types.js';
import type { AdapterTimings, DecodedBatch, EncodedCrop, ModelAdapter, ModelFamily } from '../src/model/adapter.js';
import { parseWorkersFlag, postprocessWorkerCount, WorkerPoolEvaluator } from '../src/node/postprocess-pool.js';
import { xorshift } from './helpers/image-rng.js';

/**
 * Three candidates per prompt, seeded by the prompt's point: noise around the mask threshold (a random-weight
 * decoder: expensive, often deferred), a blob around the point with a soft edge (cheap), a smooth field crossing
 * all three thresholds.
 */
class SyntheticDecoder implements ModelAdapter {
  readonly layout = 'synthetic';
  readonly supportsMaskInput = false;
  readonly supportsSingleMask = false;
  readonly timings: AdapterTimings = { preprocess: 0, encoder: 0, decoder: 0 };

  constructor(readonly family: ModelFamily) {}

  async encode(image: RgbImage): Promise<EncodedCrop> {
    const long = Math.max(image.width, image.height);
    const geometry: LogitGeometry =
      this.family === 'sam'
        ? { lowRes: 256, frame: 1024, validW: Math.floor((image.width * 1024) / long + 0.5), validH: Math.floor((image.height * 1024) / long + 0.5) }
        : { lowRes: 256, frame: null, validW: 256, validH: 256 };
    return { width: image.width, height: image.height, geometry };
  }

  async decode(crop: EncodedCrop, points: Float64Array, count: number): Promise<DecodedBatch> {
    const n = 256;
    const cells = n * n;
    const logits = new Float32Array(count * 3 * cells);
    const iou = new Float32Array(count * 3);
    for (let p = 0; p < count; p++) {
      const px = (points[2 * p] / crop.width) * n;
      const py = (points[2 * p + 1] / crop.height) * n;
      const rnd = xorshift(Math.floor(px * 1000 + py * 7 + 1));
      const r = 8 + rnd() * 40;
      const [kx, ky, ph] = [rnd() * 0.2, rnd() * 0.2, rnd() * 6];
      for (let k = 0; k < 3; k++) {
        iou[p * 3 + k] = Math.fround(0.5 + rnd() * 0.5);
        const base = (p * 3 + k) * cells;
        for (let y = 0; y < n; y++) {
          for (let x = 0; x < n; x++) {
            let v: number;
            if (k === 0) v = (rnd() - 0.5) * 0.6 + (Math.hypot(x - px, y - py) < r ? 0.15 : -0.05);
            else if (k === 1) v = (r - Math.hypot(x - px, y - py)) * 0.3;
            else v = 2.5 * Math.sin(kx * x + ph) * Math.cos(ky * y) + 0.5;
            logits[base + y * n + x] = v;
          }
        }
      }
    }
    return { count, masksPerPrompt: 3, iou, logits };
  }

  async release(): Promise<void> {}
}

/** The pre-deferral behaviour: every candidate evaluated fully before NMS. */
class NoDeferral implements CandidateEvaluator {
  private readonly inner = new InlineEvaluator();
  evaluate(request: EvaluationRequest): CandidateOutcome[] {
    return this.inner.evaluate({ ...request, full: true });
  }
  async close(): Promise<void> {}
}

/** Counts the outcomes an evaluator hands back. */
class Counting implements CandidateEvaluator {
  readonly kinds = { rejected: 0, evaluated: 0, deferred: 0 };
  constructor(private readonly inner: CandidateEvaluator) {}
  async evaluate(request: EvaluationRequest): Promise<CandidateOutcome[]> {
    const out = await this.inner.evaluate(request);
    for (const o of out) this.kinds[o.kind]++;
    return out;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function serialise(records: MaskRecord[]): string {
  return JSON.stringify(records, (_, v) => (v instanceof Uint32Array ? Array.from(v) : v));
}

async function run(family: ModelFamily, image: RgbImage, options: Partial<AmgOptions>, evaluator: CandidateEvaluator): Promise<MaskRecord[]> {
  const gen = new MaskGenerator(new SyntheticDecoder(family), options, undefined, evaluator);
  try {
    return await gen.generate(image);
  } finally {
    await gen.release();
  }
}

const ALL_CANDIDATES = { predIouThresh: 0, stabilityScoreThresh: 0 };

describe('post-processing evaluators give byte-identical records', () => {
  const pools: WorkerPoolEvaluator[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const cases: { family: ModelFamily; w: number; h: number; extra: Partial<AmgOptions> }[] = [
    { family: 'sam', w: 720, h: 480, extra: {} },
    // SAM 2 with min_mask_region_area: the low-res clean-up runs inside the evaluator (and in the workers)
    { family: 'sam2', w: 500, h: 380, extra: { minMaskRegionArea: 30 } },
  ];
  for (const c of cases) {
    const image: RgbImage = { data: new Uint8Array(c.w * c.h * 3), width: c.w, height: c.h };
    for (const [label, thresholds] of [
      ['all candidates (masks deferred past NMS)', ALL_CANDIDATES],
      ['stability filter on', { predIouThresh: 0, stabilityScoreThresh: 0.6, stabilityScoreOffset: 0.5 }],
    ] as const) {
      it(`${c.family} ${c.w}×${c.h}, ${label}: inline, deferred and 2 workers; points_per_batch 64 and 1`, async () => {
        const base = { pointsPerSide: 5, ...c.extra, ...thresholds };
        const reference = await run(c.family, image, { ...base, pointsPerBatch: 64 }, new NoDeferral());
        expect(reference.length).toBeGreaterThan(1);
        const inline = new Counting(new InlineEvaluator());
        expect(serialise(await run(c.family, image, { ...base, pointsPerBatch: 64 }, inline))).toBe(serialise(reference));
        if (thresholds === ALL_CANDIDATES) {
          // the expensive candidates did wait for NMS, the cheap ones did not
          expect(inline.kinds.deferred).toBeGreaterThan(0);
          expect(inline.kinds.evaluated).toBeGreaterThan(0);
        } else {
          expect(inline.kinds.deferred).toBe(0);
          expect(inline.kinds.rejected).toBeGreaterThan(0);
        }
        for (const pointsPerBatch of [64, 1]) {
          const pool = new WorkerPoolEvaluator(2);
          const got = await run(c.family, image, { ...base, pointsPerBatch }, pool);
          expect({ pointsPerBatch, workers: pool.lastError?.message ?? 'ok' }).toEqual({ pointsPerBatch, workers: 'ok' });
          expect(serialise(got)).toBe(serialise(reference));
        }
      });
    }
  }
});

describe('post-processing worker count', () => {
  it('auto: the cores ONNX Runtime leaves idle, at most 4', () => {
    expect(postprocessWorkerCount('auto', undefined, 1, 2)).toBe(0);
    expect(postprocessWorkerCount('auto', 2, 1, 2)).toBe(0);
    expect(postprocessWorkerCount('auto', 1, 1, 2)).toBe(1);
    expect(postprocessWorkerCount('auto', 4, 1, 8)).toBe(4);
    expect(postprocessWorkerCount('auto', 2, 2, 8)).toBe(4);
    expect(postprocessWorkerCount('auto', 2, 1, 32)).toBe(4);
    expect(postprocessWorkerCount('auto', undefined, 1, 32)).toBe(0);
    expect(postprocessWorkerCount(3, undefined, 1, 2)).toBe(3);
  });
  it('the flag takes auto or a whole number', () => {
    expect(parseWorkersFlag(undefined)).toBe('auto');
    expect(parseWorkersFlag('auto')).toBe('auto');
    expect(parseWorkersFlag('0')).toBe(0);
    expect(parseWorkersFlag('6')).toBe(6);
    for (const bad of ['-1', '1.5', 'many', '']) expect(() => parseWorkersFlag(bad)).toThrow(/--postprocess-workers/);
  });
});

describe('--postprocess-workers on the command line (bin/sam-amg.js, built by npm test)', () => {
  const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sam-amg-ppw-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  // The built CLI as a child process (its workers run from dist/), awaited without blocking this worker's event loop.
  const cli = (args: string[]): Promise<{ status: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/sam-amg.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stderr }));
    });
  const scene = path.join(ROOT, 'fixtures/scenes/shapes-640x480.png');
  const common = [scene, '--model', path.join(ROOT, 'fixtures/models/sam1-tiny'), '--points-per-side', '8', '--pred-iou-thresh', '0'];

  it('writes the same bytes with 0 and 2 workers (all candidates post-processed)', async () => {
    const outs: Buffer[] = [];
    for (const w of ['0', '2']) {
      const out = path.join(tmp, `w${w}.json`);
      const r = await cli([...common, '--stability-score-thresh', '0', '--date', 'none', '--quiet', '--postprocess-workers', w, '--out', out]);
      expect({ w, code: r.status, stderr: r.stderr }).toEqual({ w, code: 0, stderr: '' });
      outs.push(readFileSync(out));
    }
    expect(JSON.parse(outs[0].toString('utf8')).annotations.length).toBeGreaterThan(0);
    expect(outs[1].equals(outs[0])).toBe(true);
  });

  it('refuses a bad value before loading anything', async () => {
    const r = await cli([...common, '--postprocess-workers', 'lots', '--out', path.join(tmp, 'x.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--postprocess-workers must be 'auto' or an integer ≥ 0, got lots");
  });
});
