/**
 * The tie-aware order metric of the conformance limits (src/compare/order.ts).
 */
import { describe, expect, it } from 'vitest';
import { countKeyedInversions, orderAgreement, type OrderedRecord } from '../src/compare/order.js';
import { xorshiftFloats } from './helpers/image-rng.js';

const FULL: [number, number, number, number] = [0, 0, 100, 80];

/** Records listed in expected order; `actual` gives each one's actual position. */
function recs(ious: number[], actual: number[], boxes?: [number, number, number, number][]): OrderedRecord[] {
  return ious.map((iou, i) => ({ expectedIndex: i, actualIndex: actual[i], predictedIou: iou, cropBox: boxes ? boxes[i] : FULL }));
}

/** The definition, pair by pair. */
function bruteForce(items: [number, number, number][], tol: number): { pairs: number; inverted: number } {
  let pairs = 0;
  let inverted = 0;
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      if (!(Math.abs(items[i][2] - items[j][2]) > tol)) continue;
      pairs++;
      if (Math.sign(items[i][0] - items[j][0]) !== Math.sign(items[i][1] - items[j][1])) inverted++;
    }
  }
  return { pairs, inverted };
}

describe('order agreement', () => {
  it('ignores swaps of records whose predicted IoUs are within the tolerance', () => {
    // 0.95 and 0.95005 are a tie (Δ 5e-5 ≤ 1e-4); swapping them costs nothing.
    const r = recs([0.97, 0.95005, 0.95, 0.9], [0, 2, 1, 3]);
    expect(orderAgreement(r)).toEqual({ pairs: 5, inverted: 0, agreement: 1 });
  });

  it('counts a swap of records whose predicted IoUs differ by more than the tolerance', () => {
    // 0.95 and 0.9498 differ by 2e-4: a real inversion, one of 6 counted pairs.
    const r = recs([0.97, 0.95, 0.9498, 0.9], [0, 2, 1, 3]);
    expect(orderAgreement(r)).toEqual({ pairs: 6, inverted: 1, agreement: 1 - 1 / 6 });
    // Moving the last record to the front inverts its three pairs too.
    expect(orderAgreement(recs([0.97, 0.95, 0.9498, 0.9], [1, 3, 2, 0]))).toMatchObject({ pairs: 6, inverted: 4 });
  });

  it('orders records of different crop boxes by crop area, whatever their predicted IoUs', () => {
    const small: [number, number, number, number] = [0, 0, 50, 40];
    const small2: [number, number, number, number] = [50, 0, 50, 40];
    // Expected: two records of the first small crop, one of an equal-area crop, then the full image.
    const boxes = [small, small, small2, FULL];
    const ious = [0.9, 0.8, 0.99, 0.95];
    // Same-crop pairs: (0, 1); different areas: (0, 3), (1, 3), (2, 3); 0/2 and 1/2 are equal-area ties.
    expect(orderAgreement(recs(ious, [0, 1, 2, 3], boxes))).toEqual({ pairs: 4, inverted: 0, agreement: 1 });
    // The equal-area crops' records interleaved differently: still no inversion.
    expect(orderAgreement(recs(ious, [1, 2, 0, 3], boxes)).inverted).toBe(0);
    // The full-image record first: three crop-area inversions although its IoU is higher than two of them.
    expect(orderAgreement(recs(ious, [1, 2, 3, 0], boxes))).toEqual({ pairs: 4, inverted: 3, agreement: 0.25 });
  });

  it('counts nothing for fewer than two records', () => {
    expect(orderAgreement([])).toEqual({ pairs: 0, inverted: 0, agreement: 1 });
    expect(orderAgreement(recs([0.9], [0]))).toEqual({ pairs: 0, inverted: 0, agreement: 1 });
  });

  it('equals the pair-by-pair definition on random orders with many near ties', () => {
    const floats = xorshiftFloats(14, 100_000);
    let next = 0;
    const rnd = (): number => floats[next++];
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(rnd() * 300);
      const tol = trial % 4 === 0 ? 0 : 0.01;
      const actual = Array.from({ length: n }, (_, i) => i);
      // Mostly sorted with local shuffles, like a nearly agreeing output.
      for (let i = 0; i < n; i++) {
        const j = Math.min(n - 1, i + Math.floor(rnd() * 5));
        [actual[i], actual[j]] = [actual[j], actual[i]];
      }
      // Keys on a coarse grid so that exact ties and boundary distances (exactly tol apart) occur.
      const items: [number, number, number][] = actual.map((a, i) => [i, a, Math.floor(rnd() * 40) / 100]);
      expect(countKeyedInversions(items, tol)).toEqual(bruteForce(items, tol));
    }
  });

  it('takes the two positions in any item order', () => {
    const items: [number, number, number][] = [
      [2, 0, 0.5],
      [0, 1, 0.9],
      [1, 2, 0.7],
    ];
    expect(countKeyedInversions(items, 0)).toEqual(bruteForce(items, 0));
    expect(countKeyedInversions(items, 0)).toEqual({ pairs: 3, inverted: 2 });
  });
});
