/**
 * The edges of the block decisions: the float32 cut values that stand in for the guards (block-bounds.ts Cuts), and
 * tile borders, where a whole tile column is decided at once or falls back to one column group at a time.
 */
import { describe, expect, it } from 'vitest';
import { Cuts, guardHigh, guardLow } from '../src/mask/block-bounds.js';
import { CandidateMasker } from '../src/mask/candidate-mask.js';
import { UpscalePlan } from '../src/mask/upscale.js';
import type { LogitGeometry } from '../src/base/types.js';
import { encodeRowMajor, uncropRle } from '../src/rle/rle.js';
import { plainMask, upscalePlain } from './oracle/plain-postprocess.js';

const f32 = Math.fround;
const bits = new Float32Array(1);
const ints = new Int32Array(bits.buffer);
/** The next float32 above (dir 1) or below (dir −1) a finite float32 x. */
function step(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 2 ** -149;
  bits[0] = x;
  ints[0] += (x > 0 ? 1 : -1) * dir;
  return bits[0];
}

const thresholdSets: [number, number, number][] = [
  [-1, 0, 1],
  [f32(0.25), 0.5, f32(0.75)],
  [0, 0, 0],
  [f32(-3.5), f32(-3.25), 8],
];

describe('threshold cuts', () => {
  for (const [low, t, high] of thresholdSets) {
    it(`(${low}, ${t}, ${high}): each cut is the last float32 whose guard does not exceed its threshold`, () => {
      const cuts = new Cuts(low, t, high);
      const ts = [low, t, high];
      for (let k = 0; k < 3; k++) {
        const lc = cuts.lowCut[k];
        const hc = cuts.highCut[k];
        expect(f32(lc)).toBe(lc);
        expect(f32(hc)).toBe(hc);
        // At the cut the guard is still at or below the threshold, one float32 above it is past it.
        expect([guardLow(lc) > ts[k], guardLow(step(lc, 1)) > ts[k]]).toEqual([false, true]);
        expect([guardHigh(hc) > ts[k], guardHigh(step(hc, 1)) > ts[k]]).toEqual([false, true]);
        // The guard band lies around the threshold: hc < T ≤ lc (T itself is not certainly above T).
        expect(hc < ts[k] && ts[k] <= lc).toBe(true);
      }
      // Ordinary cells: sLo < v ≤ sTop, the guards inside ±1e38.
      expect([guardLow(cuts.sLo) > -1e38, guardLow(step(cuts.sLo, 1)) > -1e38]).toEqual([false, true]);
      expect([guardHigh(cuts.sTop) < 1e38, guardHigh(step(cuts.sTop, 1)) < 1e38]).toEqual([true, false]);
    });
  }
  it(`block codes flip exactly at the cuts: a constant field on a cut, and one float32 above it`, () => {
    const plan = new UpscalePlan(SAM2, 512, 512);
    const masker = new CandidateMasker(plan);
    const logits = new Float32Array(256 * 256);
    for (const [low, t, high] of thresholdSets) {
      const cuts = new Cuts(low, t, high);
      const undecided = (v: number): boolean => {
        logits.fill(v);
        masker.load(logits, 0);
        return masker.undecidedShareAbove(low, t, high, 0.5);
      };
      for (let k = 0; k < 3; k++) {
        // On lowCut the guarded min is not above threshold k, but the guarded max is: undecided; one step up, the
        // whole field is decided above it (and below the next).
        expect([undecided(cuts.lowCut[k]), undecided(step(cuts.lowCut[k], 1))]).toEqual([true, false]);
        // On highCut the guarded max is still not above threshold k: decided below it; one step up, undecided.
        expect([undecided(cuts.highCut[k]), undecided(step(cuts.highCut[k], 1))]).toEqual([false, true]);
      }
    }
  });
  it('known cuts for (−1, 0, 1): a guard band of 2⁻¹⁸ relative width (and 1e-40 absolute) each side', () => {
    const cuts = new Cuts(-1, 0, 1);
    // x − 2⁻¹⁸|x| ≤ 1 up to 1 + 2⁻¹⁸ (32 float32 steps above 1); x + 2⁻¹⁸|x| ≤ 1 up to 1 − 2⁻¹⁸ (64 steps below).
    expect(Array.from(cuts.lowCut)).toEqual([-(1 - 63 * 2 ** -24), 9.99994610111476e-41, 1 + 2 ** -18]);
    expect(Array.from(cuts.highCut)).toEqual([-(1 + 33 * 2 ** -23), -1.0000086230961192e-40, 1 - 2 ** -18]);
  });
});

/** The plain oracle's result and the fast one's, as comparable values. */
function both(logits: Float32Array, geom: LogitGeometry, w: number, h: number, low: number, t: number, high: number) {
  const plan = new UpscalePlan(geom, w, h);
  const plain = plainMask(upscalePlain(logits, geom, w, h), w, h, t, low, high);
  const rle = plain.box === null ? null : uncropRle(encodeRowMajor(plain.mask, h, w), 0, 0, h, w);
  const out = [];
  for (const runDecisions of [true, false]) {
    const masker = new CandidateMasker(plan, { runDecisions });
    masker.load(logits, 0);
    const box = masker.box(t);
    masker.load(logits, 0);
    const r = masker.evaluate(low, t, high, [0, 0, w, h], w, h);
    out.push({ high: r.counts.high, low: r.counts.low, box, maskBox: r.mask?.box ?? null, rle: r.mask ? Array.from(r.mask.rle.counts) : null });
  }
  const expected = { high: plain.countHigh, low: plain.countLow, box: plain.box, maskBox: plain.box, rle: rle ? Array.from(rle.counts) : null };
  return { out, expected };
}

const SAM2: LogitGeometry = { lowRes: 256, frame: null, validW: 256, validH: 256 };
const SAM1: LogitGeometry = { lowRes: 256, frame: 1024, validW: 1024, validH: 683 };

describe('cells exactly at the cuts', () => {
  for (const [name, geom, w, h] of [
    ['SAM 2 512×384', SAM2, 512, 384],
    ['SAM 1 600×400', SAM1, 600, 400],
  ] as const) {
    it(`${name}: a field of cut values and their float32 neighbours gives the plain result`, () => {
      const [low, t, high] = thresholdSets[1];
      const cuts = new Cuts(low, t, high);
      const values: number[] = [];
      for (const c of [...cuts.lowCut, ...cuts.highCut]) values.push(c, step(c, 1), step(c, -1));
      values.push(low, t, high);
      // Patches of 5×5 cells of one value each (decided blocks, if any, lie just on a cut), in a fixed order.
      const logits = new Float32Array(256 * 256);
      for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) logits[y * 256 + x] = values[(((y / 5) | 0) * 7 + ((x / 5) | 0)) % values.length];
      const { out, expected } = both(logits, geom, w, h, low, t, high);
      expect(expected.low).toBeGreaterThan(0);
      expect(expected.high).toBeGreaterThan(0);
      for (const o of out) expect(o).toEqual(expected);
    });
  }
});

describe('tile borders', () => {
  // SAM 2 at 1024×1024: 4 output pixels per cell; a tile (8×8 blocks) covers about 8 cells per side.
  const w = 1024;
  const h = 1024;
  const [low, t, high] = [-1, 0, 1];
  for (const cell of [7, 8, 9, 15, 16, 63, 64, 127, 128, 255]) {
    it(`one positive cell at (${cell}, ${cell}) and at column ${cell} of row 0 in a decided field: exact counts and runs`, () => {
      const logits = new Float32Array(256 * 256).fill(-5);
      logits[cell * 256 + cell] = 5;
      logits[cell] = 5;
      const { out, expected } = both(logits, SAM2, w, h, low, t, high);
      for (const o of out) expect(o).toEqual(expected);
      // Output pixels read a cell with lerp weights 1/8, 3/8, 5/8, 7/8, 7/8, 5/8, 3/8, 1/8 per axis (1, 1, 7/8, … at
      // the image border), so the value is −5 + 10·wx·wy: inside, 12 pixels above 0 and −1 (7·7, 7·5, 5·7 sixty-
      // fourths) and 4 above 1; 14 and 10 at the top border; 15 and 13 in a corner.
      const [area, above1] = cell === 255 ? [30, 26] : [26, 14];
      expect([expected.low, expected.high, expected.rle && expected.box]).toEqual([area, above1, [4 * cell, 0, 4 * cell + 3, 4 * cell + 3]]);
    });
  }
  it('one positive cell in the bottom row only (the last tile row undecided, every other tile of its column decided)', () => {
    const logits = new Float32Array(256 * 256).fill(-5);
    logits[255 * 256 + 100] = 5;
    const { out, expected } = both(logits, SAM2, w, h, low, t, high);
    for (const o of out) expect(o).toEqual(expected);
    expect([expected.low, expected.high, expected.box]).toEqual([14, 10, [400, 1020, 403, 1023]]);
  });
  it('a field decided above every threshold except one strip of columns: the exact area', () => {
    const logits = new Float32Array(256 * 256).fill(5);
    // Columns 62…65 straddle the border between tile columns 7 and 8 (cells 64 on).
    for (let y = 0; y < 256; y++) for (let x = 62; x <= 65; x++) logits[y * 256 + x] = -5;
    const { out, expected } = both(logits, SAM2, w, h, low, t, high);
    for (const o of out) expect(o).toEqual(expected);
    // Output column X reads cells at (X + 0.5)/4 − 0.5, lerp weights 1/8, 3/8, 5/8, 7/8: between 5 and −5 that is
    // ±3.75 or ±1.25, so columns 248…263 are below −1 and every other one above 1.
    expect([expected.low, expected.high]).toEqual([w * h - 16 * h, w * h - 16 * h]);
  });
});
