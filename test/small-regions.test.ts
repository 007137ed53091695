import { describe, expect, it } from 'vitest';
import { labelComponents } from '../src/mask/components.js';
import { cleanLowResLogits, removeSmallRegions } from '../src/mask/small-regions.js';
import { cleanMask } from '../src/amg/small-region-pass.js';
import { encodeRowMajor, decodeToRowMajor } from '../src/rle/rle.js';
import { MaskGenerator } from '../src/amg/generator.js';
import type { RgbImage } from '../src/base/types.js';
import type { DecodedBatch, EncodedCrop, ModelAdapter } from '../src/model/adapter.js';

/** Parses a picture: '#' set, '.' unset, one string per row. */
function pic(rows: string[]): { bits: Uint8Array; w: number; h: number } {
  const h = rows.length;
  const w = rows[0].length;
  const bits = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (bits[y * w + x] = c === '#' ? 1 : 0)));
  return { bits, w, h };
}
function show(bits: Uint8Array, w: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < bits.length; i += w) rows.push([...bits.subarray(i, i + w)].map((b) => (b ? '#' : '.')).join(''));
  return rows;
}

describe('8-connected components', () => {
  it('joins diagonal-only neighbours and labels in raster order', () => {
    const { bits, w, h } = pic(['#...#', '.#..#', '..#..', '.....', '##..#']);
    const c = labelComponents(bits, w, h, 1);
    expect(c.count).toBe(4);
    expect(Array.from(c.sizes)).toEqual([3, 2, 2, 1]);
    expect(c.labels[0]).toBe(1);
    expect(c.labels[4]).toBe(2);
    expect(c.labels[12]).toBe(1);
    expect(c.labels[20]).toBe(3);
    expect(c.labels[24]).toBe(4);
  });
  it('merges U shapes whose arms meet late (union-find)', () => {
    const { bits, w, h } = pic(['#.#.#', '#.#.#', '#####']);
    const c = labelComponents(bits, w, h, 1);
    expect(c.count).toBe(1);
    expect(c.sizes[0]).toBe(11);
    const bg = labelComponents(bits, w, h, 0);
    expect(bg.count).toBe(2);
    expect(Array.from(bg.sizes)).toEqual([2, 2]);
  });
});

describe('SAM 1 small-region removal', () => {
  it('fills holes smaller than the area (strict <), holes touching the border included', () => {
    const { bits, w, h } = pic(['#######', '#..####', '#..##.#', '#######', '.######']);
    const m = bits.slice();
    expect(removeSmallRegions(m, w, h, 4, 'holes')).toBe(true);
    // the 4-pixel hole is not < 4 and stays; the 1-pixel hole and the border pixel are filled
    expect(show(m, w)).toEqual(['#######', '#..####', '#..####', '#######', '#######']);
    const m2 = bits.slice();
    expect(removeSmallRegions(m2, w, h, 1, 'holes')).toBe(false);
  });
  it('removes small islands, diagonal links keep an island together', () => {
    const { bits, w, h } = pic(['####....', '####....', '####.#..', '......#.', '#.......']);
    const m = bits.slice();
    expect(removeSmallRegions(m, w, h, 3, 'islands')).toBe(true);
    // the diagonal pair (2 px) and the single pixel are < 3: removed
    expect(show(m, w)).toEqual(['####....', '####....', '####....', '........', '........']);
  });
  it('keeps the largest island when every island is small', () => {
    const { bits, w, h } = pic(['##...', '.....', '..###', '.....', '#....']);
    const m = bits.slice();
    expect(removeSmallRegions(m, w, h, 10, 'islands')).toBe(true);
    expect(show(m, w)).toEqual(['.....', '.....', '..###', '.....', '.....']);
  });
  it('the windowed clean-up equals the full-image one (holes reaching the image border, islands)', () => {
    const rows = [
      '..........',
      '.########.',
      '.#..#####.',
      '.########.',
      '.####.###.',
      '.########.',
      '..........',
      '.......##.',
      '..........',
    ];
    for (const minArea of [1, 2, 3, 5, 50]) {
      const { bits, w, h } = pic(rows);
      const full = bits.slice();
      const a = removeSmallRegions(full, w, h, minArea, 'holes');
      const b = removeSmallRegions(full, w, h, minArea, 'islands');
      const res = cleanMask(encodeRowMajor(bits, h, w), minArea);
      expect(res.changed).toBe(a || b);
      expect(show(decodeToRowMajor(res.rle), w)).toEqual(show(full, w));
    }
  });
});

describe('SAM 2 low-resolution clean-up', () => {
  it('fills background components ≤ area, then clears foreground components ≤ area found on the original', () => {
    const n = 6;
    const { bits } = pic(['######', '#..###', '######', '......', '.#....', '......']);
    const logits = new Float32Array(n * n).map((_, i) => (bits[i] ? 2 : -2));
    const out = new Float32Array(n * n);
    cleanLowResLogits(logits, 0, n, 0, 2, out, new Uint8Array(n * n), new Int32Array(n * n));
    // the 2-pixel hole (area ≤ 2) becomes 10; the single-pixel island becomes -10; the big regions stay
    expect(out[7]).toBe(10);
    expect(out[8]).toBe(10);
    expect(out[25]).toBe(-10);
    expect(out[0]).toBe(2);
    expect(out[18]).toBe(-2);
    // a component of exactly the area is affected (≤), one pixel more is not
    const out3 = new Float32Array(n * n);
    cleanLowResLogits(logits, 0, n, 0, 1, out3, new Uint8Array(n * n), new Int32Array(n * n));
    expect(out3[7]).toBe(-2);
    expect(out3[25]).toBe(-10);
  });
  it('counts diagonal links and border components', () => {
    const n = 4;
    const { bits } = pic(['#...', '.#..', '....', '...#']);
    const logits = new Float32Array(n * n).map((_, i) => (bits[i] ? 1 : -1));
    const out = new Float32Array(n * n);
    cleanLowResLogits(logits, 0, n, 0, 1, out, new Uint8Array(n * n), new Int32Array(n * n));
    expect(out[0]).toBe(1); // diagonal pair: area 2 > 1
    expect(out[5]).toBe(1);
    expect(out[15]).toBe(-10); // corner pixel on the border: area 1 ≤ 1
  });
});

/** A SAM 2 model whose decoder returns one fixed n×n logit map (IoU 0.9) for every prompt, on an n×n image. */
class FixedLogitsAdapter implements ModelAdapter {
  readonly family = 'sam2' as const;
  readonly layout = 'fixed-logits';
  readonly supportsMaskInput = false;
  readonly supportsSingleMask = true;
  readonly timings = { preprocess: 0, encoder: 0, decoder: 0 };
  constructor(
    private readonly n: number,
    private readonly map: Float32Array,
  ) {}
  encode(image: RgbImage): Promise<EncodedCrop> {
    const n = this.n;
    return Promise.resolve({ width: image.width, height: image.height, geometry: { lowRes: n, frame: null, validW: n, validH: n } });
  }
  decode(_crop: EncodedCrop, _points: Float64Array, count: number): Promise<DecodedBatch> {
    const logits = new Float32Array(count * this.map.length);
    for (let i = 0; i < count; i++) logits.set(this.map, i * this.map.length);
    return Promise.resolve({ count, masksPerPrompt: 1, iou: new Float32Array(count).fill(0.9), logits });
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
}

describe('SAM 2 clean-up threshold in the generator', () => {
  it("cleans at the image predictor's threshold 0, not at mask_threshold (which binarises and scores)", async () => {
    // 8×8 logits on an 8×8 image (upscaling is the identity): a 5×5 blob of 2 with a 2×2 dip to 0.1 inside, and a
    // one-cell island of 0.3 in the far corner. At the clean-up threshold 0 the dip is foreground (part of the blob) and
    // stays; the island is a small foreground component and drops to −10. Binarised at mask_threshold 0.5 the dip
    // is a hole. Cleaning at 0.5 instead would fill the dip (a 4-cell background component) and keep the island.
    const n = 8;
    const map = new Float32Array(n * n).fill(-5);
    for (let y = 1; y <= 5; y++) for (let x = 1; x <= 5; x++) map[y * n + x] = 2;
    for (let y = 2; y <= 3; y++) for (let x = 2; x <= 3; x++) map[y * n + x] = 0.1;
    map[7 * n + 7] = 0.3;
    const image: RgbImage = { width: n, height: n, data: new Uint8Array(n * n * 3) };
    const opts = { pointGrids: [[[0.5, 0.5]]], predIouThresh: 0, stabilityScoreThresh: 0, maskThreshold: 0.5, minMaskRegionArea: 4 };
    const gen = new MaskGenerator(new FixedLogitsAdapter(n, map), opts);
    const [rec, ...rest] = await gen.generate(image);
    expect(rest).toEqual([]);
    // Mask: the blob without the dip (25 − 4 cells). Stability: > 1.5 → 21 cells; > −0.5 → 25 (island cleared).
    // (Cleaning at 0.5 would give area 25 and stability 25 / 26.)
    expect(rec.area).toBe(21);
    expect(rec.bbox).toEqual([1, 1, 4, 4]); // the reference's xywh of a max-inclusive box
    expect(rec.stabilityScore).toBe(Math.fround(21 / 25));
    const rows = show(decodeToRowMajor(rec.segmentation), n);
    expect(rows).toEqual(['........', '.#####..', '.#..##..', '.#..##..', '.#####..', '.#####..', '........', '........']);
  });
});
