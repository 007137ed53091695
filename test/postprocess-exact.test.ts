/**
 * The fast candidate post-processing must equal the plain full-resolution one exactly.
 */
import { describe, expect, it } from 'vitest';
import { CandidateMasker } from '../src/mask/candidate-mask.js';
import { UpscalePlan } from '../src/mask/upscale.js';
import type { LogitGeometry } from '../src/base/types.js';
import { encodeRowMajor, uncropRle } from '../src/rle/rle.js';
import { plainMask, upscalePlain } from './oracle/plain-postprocess.js';
import { xorshift } from './helpers/image-rng.js';

type Kind =
  | 'noise'
  | 'blob'
  | 'plateau'
  | 'constant-zero'
  | 'near-threshold'
  | 'stripes'
  | 'clipped-texture'
  | 'ulp-edges'
  | 'random-decoder'
  | 'smooth-field'
  | 'dyadic-zeros'
  | 'non-finite';

function makeLogits(kind: Kind, rnd: () => number, n = 256): Float32Array {
  const l = new Float32Array(n * n);
  // smooth-field: a few random plane waves, 20–60 cells long, crossing all three thresholds
  const waves = Array.from({ length: 5 }, () => {
    const a = rnd() * 2 * Math.PI;
    const k = (2 * Math.PI) / (20 + rnd() * 40);
    return [Math.cos(a) * k, Math.sin(a) * k, rnd() * 2 * Math.PI];
  });
  const cx = rnd() * n;
  const cy = rnd() * n;
  const r = 10 + rnd() * 80;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const d = Math.hypot(x - cx, y - cy);
      let v: number;
      switch (kind) {
        case 'noise':
          v = (rnd() - 0.5) * 8;
          break;
        case 'blob':
          v = (r - d) * 0.7 + (rnd() - 0.5) * 0.5;
          break;
        case 'plateau':
          // exact threshold values (0, ±1) on large areas: ties decided by strict '>'
          v = d < r ? 1 : d < r * 1.3 ? 0 : -1;
          break;
        case 'constant-zero':
          v = 0;
          break;
        case 'near-threshold':
          v = (rnd() - 0.5) * 1e-6 + (d < r ? 1 : 0);
          break;
        case 'stripes':
          v = ((x >> 2) + (y >> 3)) % 2 ? 3 : -3;
          break;
        case 'clipped-texture':
          // like sam1-tiny on photos: ±32-clipped maps that flip at fine texture, so nearly every block straddles
          v = Math.max(-32, Math.min(32, (Math.sin(x * 0.9 + rnd()) + Math.cos(y * 1.3) + (rnd() - 0.5)) * 40));
          break;
        case 'ulp-edges': {
          // exact thresholds and their float32 neighbours, mixed with large magnitudes
          const pick = [0, 1, -1, 0.5, 0.25, 0.75, -0.5, 1e-38, -1e-38, 1e20, -1e20];
          const base = pick[Math.floor(rnd() * pick.length)];
          const ulp = Math.fround(base) === 0 ? 1e-45 : Math.abs(Math.fround(base)) * 2 ** -23;
          v = base + (Math.floor(rnd() * 3) - 1) * ulp;
          break;
        }
        case 'random-decoder':
          // like a random-weight decoder: small values, nearly independent from cell to cell, around the mask
          // threshold (0) and far from the stability ones, so almost every window straddles
          v = (rnd() - 0.45) * 0.5 + 0.05 * Math.sin(x * 0.1);
          break;
        case 'smooth-field':
          v = waves.reduce((sum, [kx, ky, p]) => sum + Math.sin(kx * x + ky * y + p), 0) * 1.4;
          break;
        case 'dyadic-zeros':
          // 0.75·(−1) + 0.25·3 = 0 exactly: intermediate values land exactly on the thresholds, at run ends
          v = [-1, 3, -3, 1, 0, 0.5][Math.floor(rnd() * 6)];
          break;
        case 'non-finite': {
          // NaN and ±∞ cells in a blob (the plain arithmetic gives NaN or ∞ around them), and near-overflow values
          const r = rnd();
          v = r < 0.002 ? NaN : r < 0.004 ? Infinity : r < 0.006 ? -Infinity : r < 0.01 ? 3e38 : (r - d / 100) * 4;
          break;
        }
      }
      l[y * n + x] = v;
    }
  }
  return l;
}

/** Where two run-length lists first differ, or null when equal (cheap on lists of 100k runs). */
function firstDifference(a: Uint32Array, b: Uint32Array): string | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `run ${i}: ${a[i]} ≠ ${b[i]}`;
  return a.length === b.length ? null : `${a.length} runs ≠ ${b.length}`;
}

const geometries: { name: string; geom: LogitGeometry; w: number; h: number; kinds?: Kind[] }[] = [
  { name: 'SAM 1 landscape 1800×1200', geom: { lowRes: 256, frame: 1024, validW: 1024, validH: 683 }, w: 1800, h: 1200 },
  { name: 'SAM 1 portrait 300×451', geom: { lowRes: 256, frame: 1024, validW: 681, validH: 1024 }, w: 300, h: 451 },
  { name: 'SAM 1 crop 603×453 (downscale)', geom: { lowRes: 256, frame: 1024, validW: 1024, validH: 769 }, w: 603, h: 453 },
  { name: 'SAM 1 tiny 16×9', geom: { lowRes: 256, frame: 1024, validW: 1024, validH: 576 }, w: 16, h: 9 },
  { name: 'SAM 2 square 1105×805', geom: { lowRes: 256, frame: null, validW: 256, validH: 256 }, w: 1105, h: 805 },
  { name: 'SAM 2 square 100×77 (downscale)', geom: { lowRes: 256, frame: null, validW: 256, validH: 256 }, w: 100, h: 77 },
  {
    // long runs (about 3 output rows per frame row)
    name: 'SAM 1 large crop 3000×2000',
    geom: { lowRes: 256, frame: 1024, validW: 1024, validH: 683 },
    w: 3000,
    h: 2000,
    kinds: ['random-decoder', 'smooth-field', 'dyadic-zeros', 'non-finite'],
  },
];

describe('fast candidate post-processing equals the plain implementation', () => {
  const allKinds: Kind[] = [
    'noise',
    'blob',
    'plateau',
    'constant-zero',
    'near-threshold',
    'stripes',
    'clipped-texture',
    'ulp-edges',
    'random-decoder',
    'smooth-field',
    'dyadic-zeros',
    'non-finite',
  ];
  // place the crop inside a bigger image to check uncropping too; some kinds touch image edges, where runs
  // continue from one column into the next
  const placements: [number, number, number, number][] = [
    [5, 3, 13, 7],
    [0, 0, 0, 0],
    [0, 4, 3, 0],
    [2, 0, 0, 5],
  ];
  for (const g of geometries) {
    const kinds = g.kinds ?? allKinds;
    const plan = new UpscalePlan(g.geom, g.w, g.h);
    // both ways of evaluating the blocks a threshold crosses: run decisions, and every pixel computed
    const maskers = [new CandidateMasker(plan, { runDecisions: true }), new CandidateMasker(plan, { runDecisions: false })];
    let rejections = 0;
    kinds.forEach((kind, ki) => {
      it(`${g.name}: ${kind}`, async () => {
        // Let vitest's messages through between these long synchronous checks.
        await new Promise((resolve) => setImmediate(resolve));
        const rnd = xorshift(g.w * 7919 + g.h * 31 + ki);
        const [left, top, right, bottom] = placements[ki % placements.length];
        const imageW = g.w + left + right;
        const imageH = g.h + top + bottom;
        const cropBox: [number, number, number, number] = [left, top, left + g.w, top + g.h];
        const logits = makeLogits(kind, rnd);
        const up = upscalePlain(logits, g.geom, g.w, g.h);
        for (const [t, off] of [
          [0, 1],
          [0.5, 0.25],
        ]) {
          const low = Math.fround(t - off);
          const high = Math.fround(t + off);
          const tf = Math.fround(t);
          const plain = plainMask(up, g.w, g.h, tf, low, high);
          const expectedRle = plain.box && uncropRle(encodeRowMajor(plain.mask, g.h, g.w), cropBox[0], cropBox[1], imageH, imageW);
          const expectedArea = plain.mask.reduce((a, b) => a + b, 0);
          for (const masker of maskers) {
            masker.load(logits, 0);
            expect({ t, box: masker.box(tf) }).toEqual({ t, box: plain.box });
            masker.load(logits, 0);
            const { counts, mask: fast } = masker.evaluate(low, tf, high, cropBox, imageW, imageH);
            expect({ t, high: counts.high, low: counts.low }).toEqual({ t, high: plain.countHigh, low: plain.countLow });
            if (expectedRle === null) {
              expect(fast).toBeNull();
              continue;
            }
            expect(fast).not.toBeNull();
            expect({ t, box: fast!.box, area: fast!.area }).toEqual({ t, box: plain.box, area: expectedArea });
            expect(firstDifference(fast!.rle.counts, expectedRle.counts)).toBeNull();
            // The early exit drops exactly candidates whose score ends below the threshold, and changes nothing else.
            const score = plain.countLow === 0 ? NaN : Math.fround(plain.countHigh / plain.countLow);
            for (const minStability of [0.5, Math.fround(0.95), 0.999]) {
              masker.load(logits, 0);
              const early = masker.evaluate(low, tf, high, cropBox, imageW, imageH, minStability);
              if (early.rejected) {
                rejections++;
                expect({ t, minStability, below: score < minStability }).toEqual({ t, minStability, below: true });
              } else {
                expect(early.counts).toEqual(counts);
                expect(firstDifference(early.mask!.rle.counts, expectedRle.counts)).toBeNull();
              }
            }
          }
        }
      });
    });
    // the adversarial kinds include unstable candidates, so the early exit is exercised
    if (g.w * g.h > 1000) it(`${g.name}: the early exit rejected some candidates`, () => expect(rejections).toBeGreaterThan(0));
  }
  it('reads a candidate at an offset inside a batch buffer', () => {
    const g = geometries[0];
    const rnd = xorshift(42);
    const a = makeLogits('blob', rnd);
    const b = makeLogits('blob', rnd);
    const batch = new Float32Array(2 * 65536);
    batch.set(a, 0);
    batch.set(b, 65536);
    const plan = new UpscalePlan(g.geom, g.w, g.h);
    const masker = new CandidateMasker(plan);
    masker.load(batch, 65536);
    const box: [number, number, number, number] = [0, 0, g.w, g.h];
    const fromBatch = masker.evaluate(-1, 0, 1, box, g.w, g.h);
    masker.load(b, 0);
    expect(fromBatch).toEqual(masker.evaluate(-1, 0, 1, box, g.w, g.h));
  });
});
