/**
 * BoxSegmenter on a scripted adapter whose 256×256 logits map one to one onto a 256×256 image (square geometry: the
 * upscaling is the identity), so every mask, box and stability score is known exactly: the best candidate per box
 * (first on ties), the empty-mask record, batches of any size giving the same masks with at most two batches in
 * flight, the detection records, and the layouts that cannot do what is asked.
 */
import { describe, expect, it } from 'vitest';
import type { BoxXYWH, RgbImage } from '../src/base/types.js';
import type { AdapterTimings, DecodedBatch, DecodeOptions, EncodedCrop, ModelAdapter } from '../src/model/adapter.js';
import { ModelError } from '../src/model/errors.js';
import { BoxSegmenter, type SegmentProgress } from '../src/prompt/box-segmenter.js';
import { toCoco } from '../src/rle/rle.js';

const N = 256;
const IMAGE: RgbImage = { data: new Uint8Array(N * N * 3), width: N, height: N };

/**
 * Candidate k of box i: logits 5 inside the box (cells x0 ≤ c < x1, y0 ≤ r < y1), −0.5 on a one-cell ring around it
 * (above the stability's low threshold −1, not above the mask threshold 0), −5 elsewhere — for the candidate the box's
 * `winner` names; the other candidates are shifted by 3 cells. Box x0 = 200 means "empty": every logit −5.
 */
class ScriptedAdapter implements ModelAdapter {
  readonly family = 'sam2' as const;
  readonly layout = 'scripted';
  readonly supportsMaskInput = false;
  readonly supportsSingleMask = false;
  readonly timings: AdapterTimings = { preprocess: 0, encoder: 0, decoder: 0 };
  encodes = 0;
  calls: { count: number; boxes: number[] }[] = [];
  inFlight = 0;
  maxInFlight = 0;

  /** @param ious predicted IoUs of the three candidates of every box */
  constructor(
    private readonly ious: [number, number, number] = [0.5, 0.9, 0.7],
    private readonly winner = 1,
  ) {}

  async encode(image: RgbImage): Promise<EncodedCrop> {
    this.encodes++;
    return { width: image.width, height: image.height, geometry: { lowRes: N, frame: null, validW: N, validH: N } };
  }

  async decode(): Promise<DecodedBatch> {
    throw new Error('not used');
  }

  async decodeBoxes(_crop: EncodedCrop, boxes: Float64Array, count: number, opts?: DecodeOptions): Promise<DecodedBatch> {
    expect(opts).toBeUndefined();
    this.calls.push({ count, boxes: Array.from(boxes) });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 0));
    this.inFlight--;
    const logits = new Float32Array(count * 3 * N * N).fill(-5);
    const iou = new Float32Array(count * 3);
    for (let i = 0; i < count; i++) {
      const [x0, y0, x1, y1] = boxes.subarray(4 * i, 4 * i + 4);
      for (let k = 0; k < 3; k++) {
        iou[i * 3 + k] = this.ious[k];
        if (x0 === 200) continue;
        const shift = k === this.winner ? 0 : 3;
        const map = logits.subarray((i * 3 + k) * N * N, (i * 3 + k + 1) * N * N);
        for (let r = y0 - 1 + shift; r < y1 + 1 + shift; r++) {
          for (let c = x0 - 1 + shift; c < x1 + 1 + shift; c++) {
            if (r < 0 || c < 0 || r >= N || c >= N) continue;
            const inside = r >= y0 + shift && r < y1 + shift && c >= x0 + shift && c < x1 + shift;
            map[r * N + c] = inside ? 5 : -0.5;
          }
        }
      }
    }
    return { count, masksPerPrompt: 3, iou, logits };
  }

  async release(): Promise<void> {}
}

/** Boxes [x, y, w, h] spread over the image, integer corners, sizes 2…9. */
function boxes(n: number): BoxXYWH[] {
  return Array.from({ length: n }, (_, i) => [(i * 37) % 180, (i * 53) % 180, 2 + (i % 8), 2 + ((i * 3) % 8)]);
}

describe('BoxSegmenter', () => {
  it('takes per box the candidate with the highest predicted IoU: its mask, box and stability score', async () => {
    const adapter = new ScriptedAdapter();
    const seg = new BoxSegmenter(adapter);
    const [m] = await seg.segment(IMAGE, [[10, 20, 4, 3]]);
    expect(adapter.encodes).toBe(1);
    // The model gets [x, y, x + w, y + h].
    expect(adapter.calls).toEqual([{ count: 1, boxes: [10, 20, 14, 23] }]);
    expect(m.area).toBe(12);
    expect(m.bbox).toEqual([10, 20, 3, 2]);
    expect(m.predictedIou).toBe(Math.fround(0.9));
    // high = 12 (logit 5), low = 12 + the 18-cell ring (logit −0.5): a float32 quotient.
    expect(m.stabilityScore).toBe(Math.fround(12 / 30));
    // Column-major RLE: 10 columns of zeros (2560) and 20 rows, then 3 ones per column for 4 columns.
    expect(toCoco(m.segmentation).size).toEqual([N, N]);
    expect(Array.from(m.segmentation.counts.subarray(0, 4))).toEqual([10 * N + 20, 3, N - 3, 3]);
  });

  it('takes the first of equal predicted IoUs', async () => {
    const first = await new BoxSegmenter(new ScriptedAdapter([0.8, 0.8, 0.3], 0)).segment(IMAGE, [[10, 20, 4, 3]]);
    const second = await new BoxSegmenter(new ScriptedAdapter([0.8, 0.8, 0.3], 1)).segment(IMAGE, [[10, 20, 4, 3]]);
    expect(first[0].bbox).toEqual([10, 20, 3, 2]);
    // The winner's mask is candidate 1 here, but the tie goes to candidate 0: shifted by 3 cells.
    expect(second[0].bbox).toEqual([13, 23, 3, 2]);
  });

  it('gives an empty mask area 0, bbox [0, 0, 0, 0] and stability 0, keeping the model\'s predicted IoU', async () => {
    const [m] = await new BoxSegmenter(new ScriptedAdapter()).segment(IMAGE, [[200, 5, 3, 3]]);
    expect(m).toEqual({ segmentation: { h: N, w: N, counts: Uint32Array.of(N * N) }, area: 0, bbox: [0, 0, 0, 0], predictedIou: Math.fround(0.9), stabilityScore: 0 });
  });

  it('gives the same masks for batches of 64 (the default) and of 7, with at most two decoder batches in flight, for 150 boxes', async () => {
    const many = boxes(150);
    const one = new ScriptedAdapter();
    const whole = await new BoxSegmenter(one).segment(IMAGE, many);
    const small = new ScriptedAdapter();
    const progress: SegmentProgress[] = [];
    const batched = await new BoxSegmenter(small, { boxesPerBatch: 7 }).segment(IMAGE, many, { onProgress: (p) => progress.push(p) });
    expect(one.calls.map((c) => c.count)).toEqual([64, 64, 22]);
    expect(small.calls).toHaveLength(22);
    expect(small.calls.every((c, i) => c.count === (i < 21 ? 7 : 3))).toBe(true);
    expect(small.maxInFlight).toBeLessThanOrEqual(2);
    expect(small.encodes).toBe(1);
    expect(batched.map((m) => toCoco(m.segmentation).counts)).toEqual(whole.map((m) => toCoco(m.segmentation).counts));
    expect(batched.map((m) => [m.area, ...m.bbox, m.stabilityScore])).toEqual(whole.map((m) => [m.area, ...m.bbox, m.stabilityScore]));
    expect(batched.map((m) => m.area)).toEqual(many.map((b) => b[2] * b[3]));
    expect(progress.length).toBe(24);
    expect(progress[0]).toMatchObject({ boxes: 150, boxesDone: 0, done: false });
    expect(progress.at(-1)).toMatchObject({ boxes: 150, boxesDone: 150, done: true });
  });

  it('does not encode an image without boxes', async () => {
    const adapter = new ScriptedAdapter();
    expect(await new BoxSegmenter(adapter).segment(IMAGE, [])).toEqual([]);
    expect(adapter.encodes).toBe(0);
  });

  it('refuses a box that is not four finite numbers', async () => {
    await expect(new BoxSegmenter(new ScriptedAdapter()).segment(IMAGE, [[0, 0, 1, 1], [0, Number.NaN, 1, 1]])).rejects.toThrow(
      'box 1: expected four finite numbers [x, y, w, h], got [0, NaN, 1, 1]',
    );
  });

  it('makes one record per detection, in its order, with the detection\'s category, box, id and score', async () => {
    const seg = new BoxSegmenter(new ScriptedAdapter());
    const records = await seg.segmentDetections(IMAGE, {
      id: 4,
      fileName: 'a.png',
      detections: [
        { index: 3, id: 31, imageId: 4, categoryId: 2, bbox: [50, 60, 2, 2], score: 0.25 },
        { index: 5, id: 32, imageId: 4, categoryId: 7, bbox: [200, 60, 2, 2] },
      ],
    });
    expect(records.map(({ segmentation: _s, ...r }) => r)).toEqual([
      { imageId: 4, categoryId: 2, area: 4, bbox: [50, 60, 1, 1], predictedIou: Math.fround(0.9), stabilityScore: Math.fround(4 / 16), promptBox: [50, 60, 2, 2], detectionId: 31, score: 0.25 },
      { imageId: 4, categoryId: 7, area: 0, bbox: [0, 0, 0, 0], predictedIou: Math.fround(0.9), stabilityScore: 0, promptBox: [200, 60, 2, 2], detectionId: 32 },
    ]);
    expect(Object.keys(records[0])).toEqual(['imageId', 'categoryId', 'segmentation', 'area', 'bbox', 'predictedIou', 'stabilityScore', 'promptBox', 'detectionId', 'score']);
  });

  it('says so when the layout cannot take a box or the options do not fit it', () => {
    const noBoxes = new ScriptedAdapter() as ModelAdapter;
    Object.defineProperty(noBoxes, 'decodeBoxes', { value: undefined });
    expect(() => new BoxSegmenter(noBoxes)).toThrow(new ModelError('the scripted layout cannot take box prompts'));
    const singleOnly = Object.assign(new ScriptedAdapter(), { supportsMultimask: false });
    expect(() => new BoxSegmenter(singleOnly)).toThrow('this scripted export has only the single-mask output: set multimask to false');
    expect(() => new BoxSegmenter(new ScriptedAdapter(), { multimask: false })).toThrow('the scripted layout has no single-mask output');
    expect(() => new BoxSegmenter(new ScriptedAdapter(), { boxesPerBatch: 0 })).toThrow('boxesPerBatch must be a positive integer, got 0');
  });
});

describe('BoxSegmenter failures', () => {
  it('passes a failure on, leaving no unhandled rejection from the batch decoded ahead', async () => {
    /** The first batch comes back one mask short (the segmenter refuses it); the batch decoded ahead fails. */
    class Failing extends ScriptedAdapter {
      override async decodeBoxes(crop: EncodedCrop, b: Float64Array, count: number): Promise<DecodedBatch> {
        if (this.calls.length >= 1) {
          this.calls.push({ count, boxes: [] });
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('decoder failed');
        }
        const out = await super.decodeBoxes(crop, b, count);
        return { ...out, count: count - 1 };
      }
    }
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(new BoxSegmenter(new Failing(), { boxesPerBatch: 2 }).segment(IMAGE, boxes(6))).rejects.toThrow(
        'the scripted decoder returned 1 masks for 2 boxes',
      );
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});
