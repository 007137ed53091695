import { describe, expect, it } from 'vitest';
import { generateCropBoxes, isBoxNearCropEdge } from '../src/crop/crop-boxes.js';
import { buildLayerGrids, buildPointGrid } from '../src/amg/point-grid.js';

describe('point grid', () => {
  it('n = 3 gives 1/6, 1/2, 5/6 with y in the outer loop', () => {
    const g = Array.from(buildPointGrid(3));
    const v = [1 / 6, 0.5, 5 / 6];
    const expected: number[] = [];
    for (const y of v) for (const x of v) expected.push(x, y);
    expect(g.length).toBe(18);
    g.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 15));
    expect(g[16]).toBe(5 / 6); // last value is stop exactly
  });
  it('n = 32 starts at 0.015625 and its 33rd point is (0.015625, 0.046875)', () => {
    const g = buildPointGrid(32);
    expect([g[0], g[1], g[2], g[3], g[4], g[5]]).toEqual([0.015625, 0.015625, 0.046875, 0.015625, 0.078125, 0.015625]);
    expect([g[64], g[65]]).toEqual([0.015625, 0.046875]);
    expect(g.length).toBe(32 * 32 * 2);
    expect(g[g.length - 2]).toBe(1 - 0.015625);
  });
  it('n = 1 gives the centre; layers downscale by int(n / f^i)', () => {
    expect(Array.from(buildPointGrid(1))).toEqual([0.5, 0.5]);
    const layers = buildLayerGrids(32, 2, 2);
    expect(layers.map((g) => g.length / 2)).toEqual([1024, 256, 64]);
    expect(buildLayerGrids(7, 1, 2).map((g) => g.length / 2)).toEqual([49, 9]);
  });
  it('matches numpy linspace float64 values for n = 7', () => {
    // np.linspace(1/14, 13/14, 7)
    const g = buildPointGrid(7);
    const xs = Array.from({ length: 7 }, (_, i) => g[2 * i]);
    const step = (13 / 14 - 1 / 14) / 6;
    expect(xs).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * step + 1 / 14).concat([13 / 14]));
  });
});

describe('crop boxes', () => {
  it('1800×1200, 1 layer', () => {
    const p = generateCropBoxes(1800, 1200, 1, 512 / 1500);
    expect(p.boxes).toEqual([
      [0, 0, 1800, 1200],
      [0, 0, 1105, 805],
      [0, 396, 1105, 1200],
      [696, 0, 1800, 805],
      [696, 396, 1800, 1200],
    ]);
    expect(p.layers).toEqual([0, 1, 1, 1, 1]);
  });
  it('1800×1200, 2 layers', () => {
    const p = generateCropBoxes(1800, 1200, 2, 512 / 1500);
    expect(p.boxes.slice(5)).toEqual([
      [0, 0, 603, 453], [0, 249, 603, 702], [0, 498, 603, 951], [0, 747, 603, 1200],
      [399, 0, 1002, 453], [399, 249, 1002, 702], [399, 498, 1002, 951], [399, 747, 1002, 1200],
      [798, 0, 1401, 453], [798, 249, 1401, 702], [798, 498, 1401, 951], [798, 747, 1401, 1200],
      [1197, 0, 1800, 453], [1197, 249, 1800, 702], [1197, 498, 1800, 951], [1197, 747, 1800, 1200],
    ]);
    expect(p.layers).toEqual([0, 1, 1, 1, 1, ...Array(16).fill(2)]);
  });
  it('800×534, 1 layer', () => {
    expect(generateCropBoxes(800, 534, 1, 512 / 1500).boxes).toEqual([
      [0, 0, 800, 534], [0, 0, 491, 358], [0, 176, 491, 534], [309, 0, 800, 358], [309, 176, 800, 534],
    ]);
  });
  it('edge filter: inner crop edges within 20 px (inclusive) drop, image edges never', () => {
    const crop: [number, number, number, number] = [696, 0, 1800, 805];
    // box in crop frame; x0 = 20 → image x 716, 20 px from the crop's left edge (an inner edge)
    expect(isBoxNearCropEdge([20, 100, 200, 300], crop, 1800, 1200)).toBe(true);
    expect(isBoxNearCropEdge([21, 100, 200, 300], crop, 1800, 1200)).toBe(false);
    // touching the top (an image edge) is fine
    expect(isBoxNearCropEdge([100, 0, 200, 300], crop, 1800, 1200)).toBe(false);
    // max y 785 + 0 within 20 of the crop's bottom 805 (inner)
    expect(isBoxNearCropEdge([100, 100, 200, 785], crop, 1800, 1200)).toBe(true);
    expect(isBoxNearCropEdge([100, 100, 200, 784], crop, 1800, 1200)).toBe(false);
    // full-image crop never filters
    expect(isBoxNearCropEdge([0, 0, 1799, 1199], [0, 0, 1800, 1200], 1800, 1200)).toBe(false);
  });
});
