/**
 * The generator's bookkeeping: one ledger per generate() call feeds both the lifetime stats and the progress
 * reports, so they agree; and the post-processor hands an inline evaluator small slices but any other evaluator one
 * request per batch, with the same records either way. A synthetic SAM 2-shaped adapter keeps it fast.
 */
import { describe, expect, it } from 'vitest';
import { MaskGenerator, type GenerateProgress } from '../src/amg/generator.js';
import type { AmgOptions } from '../src/amg/options.js';
import type { LogitGeometry, MaskRecord, RgbImage } from '../src/base/types.js';
import { InlineEvaluator, type CandidateEvaluator, type CandidateOutcome, type EvaluationRequest } from '../src/mask/evaluator.js';
import type { AdapterTimings, DecodedBatch, EncodedCrop, ModelAdapter } from '../src/model/adapter.js';

/** Three candidates per prompt: discs of three radii around the prompt's point, with soft edges. */
class DiscDecoder implements ModelAdapter {
  readonly family = 'sam2' as const;
  readonly layout = 'discs';
  readonly supportsMaskInput = false;
  readonly supportsSingleMask = false;
  readonly timings: AdapterTimings = { preprocess: 0, encoder: 0, decoder: 0 };

  async encode(image: RgbImage): Promise<EncodedCrop> {
    const geometry: LogitGeometry = { lowRes: 256, frame: null, validW: 256, validH: 256 };
    return { width: image.width, height: image.height, geometry };
  }

  async decode(crop: EncodedCrop, points: Float64Array, count: number): Promise<DecodedBatch> {
    const n = 256;
    const logits = new Float32Array(count * 3 * n * n);
    const iou = new Float32Array(count * 3);
    for (let p = 0; p < count; p++) {
      const px = (points[2 * p] / crop.width) * n;
      const py = (points[2 * p + 1] / crop.height) * n;
      for (let k = 0; k < 3; k++) {
        iou[p * 3 + k] = Math.fround(0.7 + 0.1 * k);
        const r = 20 + 25 * k;
        const base = (p * 3 + k) * n * n;
        for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) logits[base + y * n + x] = (r - Math.hypot(x - px, y - py)) * 0.2;
      }
    }
    return { count, masksPerPrompt: 3, iou, logits };
  }

  async release(): Promise<void> {}
}

/** Records the size of every request it is given, answering from an inline evaluator (sync or async). */
class Recording implements CandidateEvaluator {
  readonly requests: { size: number; full: boolean }[] = [];
  private readonly inner = new InlineEvaluator();
  constructor(readonly inline: boolean) {}
  evaluate(request: EvaluationRequest): CandidateOutcome[] | Promise<CandidateOutcome[]> {
    this.requests.push({ size: request.offsets.length, full: request.full });
    const out = this.inner.evaluate(request);
    return this.inline ? out : Promise.resolve(out);
  }
  async close(): Promise<void> {}
}

const image: RgbImage = { data: new Uint8Array(96 * 64 * 3), width: 96, height: 64 };
// Two layers: the whole image and 4 crops of 2×2 points; batches of 5 prompts (the last one of each crop short).
const options: Partial<AmgOptions> = { pointsPerSide: 4, cropNLayers: 1, cropNPointsDownscaleFactor: 2, pointsPerBatch: 5, predIouThresh: 0, stabilityScoreThresh: 0 };

function serialise(records: MaskRecord[]): string {
  return JSON.stringify(records, (_, v) => (v instanceof Uint32Array ? Array.from(v) : v));
}

describe('generator ledger', () => {
  it('progress reports and lifetime stats count the same crops, prompts and post-processing time', async () => {
    const gen = new MaskGenerator(new DiscDecoder(), options);
    const reports: GenerateProgress[] = [];
    const records = await gen.generate(image, { onProgress: (p) => reports.push(p) });
    const s = gen.stats;
    // 16 prompts on the whole image, 4 in each of the 4 crops: 5 encoder runs, 4 + 4·1 batches, and the end.
    expect(reports.map((p) => [p.cropsDone, p.promptsDone, p.done])).toEqual([
      [1, 0, false],
      [1, 5, false],
      [1, 10, false],
      [1, 15, false],
      [1, 16, false],
      ...[2, 3, 4, 5].flatMap((c) => [
        [c, 16 + 4 * (c - 2), false],
        [c, 16 + 4 * (c - 1), false],
      ]),
      [5, 32, true],
    ]);
    expect(reports.every((p) => p.crops === 5 && p.prompts === 32)).toBe(true);
    expect([s.crops, s.prompts, s.candidates, s.final]).toEqual([5, 32, 96, records.length]);
    const funnel = [s.candidates, s.afterIou, s.afterStability, s.afterEdge, s.afterCropNms, s.afterCrossCropNms, s.final];
    expect(funnel).toEqual([...funnel].sort((a, b) => b - a));
    expect(s.final).toBeGreaterThan(0);
    const last = reports[reports.length - 1];
    expect(last.postprocessMs).toBeCloseTo((s.postprocessS + s.nmsS + s.smallRegionsS) * 1000, 6);
    expect(last.decoderMs).toBeGreaterThanOrEqual(s.decodeWaitS * 1000 - 1e-6);
    // A second call: the stats keep adding up, the progress starts again.
    const again: GenerateProgress[] = [];
    await gen.generate(image, { onProgress: (p) => again.push(p) });
    expect([gen.stats.crops, gen.stats.prompts, gen.stats.final]).toEqual([10, 64, 2 * records.length]);
    expect([again[0].cropsDone, again[0].promptsDone]).toEqual([1, 0]);
    await gen.release();
  });

  it('an inline evaluator gets slices of at most 4 candidates, any other one request per batch; same records', async () => {
    const inline = new Recording(true);
    const batched = new Recording(false);
    const a = await new MaskGenerator(new DiscDecoder(), options, undefined, inline).generate(image);
    const b = await new MaskGenerator(new DiscDecoder(), options, undefined, batched).generate(image);
    expect(serialise(b)).toBe(serialise(a));
    const perBatch = (r: Recording): number[] => r.requests.filter((q) => !q.full).map((q) => q.size);
    // Every batch's candidates (3 per prompt, no IoU filter) in one request: 5, 5, 5, 1 prompts, then 4 per crop.
    expect(perBatch(batched)).toEqual([15, 15, 15, 3, 12, 12, 12, 12]);
    expect(perBatch(inline).every((n) => n <= 4)).toBe(true);
    expect(perBatch(inline).reduce((x, y) => x + y, 0)).toBe(96);
  });
});
