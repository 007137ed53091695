import { describe, expect, it } from 'vitest';
import { maskToPolygons } from '../src/polygon/mask-polygons.js';
import { signedArea } from '../src/polygon/ring-geometry.js';
import type { MaskPolygons } from '../src/polygon/types.js';
import { encodeRowMajor } from '../src/rle/rle.js';
import { blobMask, fillHoles, fromArt, noiseMask, placed, prng, type TestMask } from './polygon/masks.js';
import { polygonProblems } from './polygon/validity.js';

const plain = (mp: MaskPolygons) =>
  mp.polygons.map((p) => ({ outer: Array.from(p.outer), holes: p.holes.map((h) => Array.from(h)), part: p.part, depth: p.depth }));

/** Per pixel: Σ over outer rings containing its centre − Σ over holes containing it (must be the mask). */
function coverage(mp: MaskPolygons): Int32Array {
  const out = new Int32Array(mp.h * mp.w);
  const add = (ring: Int32Array, v: number): void => {
    const xs = ring.filter((_, i) => i % 2 === 0);
    const ys = ring.filter((_, i) => i % 2 === 1);
    for (let y = Math.min(...ys); y < Math.max(...ys); y++) {
      for (let x = Math.min(...xs); x < Math.max(...xs); x++) {
        // Even–odd test of the pixel centre, written out here rather than borrowed from src/polygon.
        let inside = false;
        for (let i = 0, j = ring.length - 2; i < ring.length; j = i, i += 2) {
          const [xi, yi, xj, yj] = [ring[i], ring[i + 1], ring[j], ring[j + 1]];
          if (yi > y + 0.5 !== yj > y + 0.5 && x + 0.5 < ((xj - xi) * (y + 0.5 - yi)) / (yj - yi) + xi) inside = !inside;
        }
        if (inside) out[y * mp.w + x] += v;
      }
    }
  };
  for (const p of mp.polygons) {
    add(p.outer, 1);
    for (const h of p.holes) add(h, -1);
  }
  return out;
}

/** 8-connected parts by breadth-first search (independent of src/mask/components). */
function countParts(m: TestMask): number {
  const seen = new Uint8Array(m.h * m.w);
  let parts = 0;
  for (let s = 0; s < seen.length; s++) {
    if (!m.bits[s] || seen[s]) continue;
    parts++;
    const queue = [s];
    seen[s] = 1;
    while (queue.length > 0) {
      const i = queue.pop() as number;
      const x = i % m.w;
      const y = (i - x) / m.w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= m.w || ny >= m.h) continue;
          const j = ny * m.w + nx;
          if (m.bits[j] && !seen[j]) {
            seen[j] = 1;
            queue.push(j);
          }
        }
      }
    }
  }
  return parts;
}

describe('maskToPolygons: exact pixel-edge rings', () => {
  it('traces a single pixel as its unit square, in the mask frame', () => {
    const m = placed(fromArt(['#']), 4, 5, 2, 1);
    expect(plain(maskToPolygons(m.rle))).toEqual([{ outer: [2, 1, 3, 1, 3, 2, 2, 2], holes: [], part: 0, depth: 0 }]);
  });

  it('returns no polygons for an empty mask and the frame for a full one', () => {
    expect(maskToPolygons(encodeRowMajor(new Uint8Array(12), 3, 4))).toEqual({ h: 3, w: 4, polygons: [], parts: 0 });
    const full = maskToPolygons(encodeRowMajor(new Uint8Array(12).fill(1), 3, 4));
    expect(plain(full)).toEqual([{ outer: [0, 0, 4, 0, 4, 3, 0, 3], holes: [], part: 0, depth: 0 }]);
  });

  it('keeps only corners: a line of 7 pixels has 4 vertices and area 7', () => {
    const mp = maskToPolygons(fromArt(['#######']).rle);
    expect(plain(mp)).toEqual([{ outer: [0, 0, 7, 0, 7, 1, 0, 1], holes: [], part: 0, depth: 0 }]);
    expect(signedArea(mp.polygons[0].outer)).toBe(7);
  });

  it('cuts a boundary that touches itself at a pinch point into polygons meeting at that vertex', () => {
    const mp = maskToPolygons(fromArt(['##..', '##..', '..##', '..##']).rle);
    expect(mp.parts).toBe(1);
    expect(plain(mp)).toEqual([
      { outer: [0, 0, 2, 0, 2, 2, 0, 2], holes: [], part: 0, depth: 0 },
      { outer: [2, 2, 4, 2, 4, 4, 2, 4], holes: [], part: 0, depth: 0 },
    ]);
  });

  it('lets a hole touch its outer ring at a pinch point (two rings, no cut)', () => {
    const mp = maskToPolygons(fromArt(['.#.', '#.#', '.#.']).rle);
    expect(plain(mp)).toEqual([
      {
        outer: [1, 0, 2, 0, 2, 1, 3, 1, 3, 2, 2, 2, 2, 3, 1, 3, 1, 2, 0, 2, 0, 1, 1, 1],
        holes: [[1, 1, 1, 2, 2, 2, 2, 1]],
        part: 0,
        depth: 0,
      },
    ]);
    expect(signedArea(mp.polygons[0].holes[0])).toBe(-1);
  });

  it('cuts a hole boundary at a pinch into the hole and pieces of the part inside it (depth 1)', () => {
    const mp = maskToPolygons(fromArt(['#######', '##....#', '#.#...#', '#..#..#', '#.....#', '#######']).rle);
    expect(mp.parts).toBe(1);
    expect(plain(mp)).toEqual([
      { outer: [0, 0, 7, 0, 7, 6, 0, 6], holes: [[2, 1, 2, 2, 1, 2, 1, 5, 6, 5, 6, 1]], part: 0, depth: 0 },
      { outer: [2, 2, 3, 2, 3, 3, 2, 3], holes: [], part: 0, depth: 1 },
      { outer: [3, 3, 4, 3, 4, 4, 3, 4], holes: [], part: 0, depth: 1 },
    ]);
  });

  it('numbers parts in raster order and nests an island in a hole at depth 1', () => {
    const mp = maskToPolygons(fromArt(['#######', '#.....#', '#.###.#', '#.#.#.#', '#.###.#', '#.....#', '#######']).rle);
    expect(mp.parts).toBe(2);
    expect(plain(mp)).toEqual([
      { outer: [0, 0, 7, 0, 7, 7, 0, 7], holes: [[1, 1, 1, 6, 6, 6, 6, 1]], part: 0, depth: 0 },
      { outer: [2, 2, 5, 2, 5, 5, 2, 5], holes: [[3, 3, 3, 4, 4, 4, 4, 3]], part: 1, depth: 1 },
    ]);
  });

  it('works on the bounding box: a 3-pixel mask in a 3000 × 4000 frame keeps frame coordinates', () => {
    const m = placed(fromArt(['#.', '.#', '.#']), 3000, 4000, 3990, 2990);
    const mp = maskToPolygons(m.rle);
    expect(plain(mp)).toEqual([
      { outer: [3990, 2990, 3991, 2990, 3991, 2991, 3990, 2991], holes: [], part: 0, depth: 0 },
      { outer: [3991, 2991, 3992, 2991, 3992, 2993, 3991, 2993], holes: [], part: 0, depth: 0 },
    ]);
  });

  it('on random masks: valid simple rings, axis-aligned corners only, exact coverage and part count', () => {
    const rand = prng(2301);
    for (let it = 0; it < 24; it++) {
      const m = it % 2 ? noiseMask(rand, 6 + Math.floor(rand() * 10), 6 + Math.floor(rand() * 10), 0.3 + rand() * 0.4) : blobMask(rand, 16, 20);
      const mp = maskToPolygons(m.rle);
      expect(polygonProblems(mp), `mask ${it}`).toEqual([]);
      expect(mp.parts).toBe(countParts(m));
      expect(new Set(mp.polygons.map((p) => p.part)).size).toBe(mp.parts);
      expect(Array.from(coverage(mp))).toEqual(Array.from(m.bits));
      const filled = fillHoles(m.bits, m.h, m.w);
      const depth0 = coverage({ ...mp, polygons: mp.polygons.filter((p) => p.depth === 0).map((p) => ({ ...p, holes: [] })) });
      expect(Array.from(depth0)).toEqual(Array.from(filled));
      for (const p of mp.polygons) {
        expect(signedArea(p.outer)).toBeGreaterThan(0);
        for (const ring of [p.outer, ...p.holes]) {
          const n = ring.length / 2;
          for (let i = 0; i < n; i++) {
            const [ax, ay] = [ring[2 * ((i + n - 1) % n)], ring[2 * ((i + n - 1) % n) + 1]];
            const [bx, by] = [ring[2 * i], ring[2 * i + 1]];
            const [cx, cy] = [ring[2 * ((i + 1) % n)], ring[2 * ((i + 1) % n) + 1]];
            // Axis-aligned edges that turn at every vertex.
            expect(ax === bx || ay === by).toBe(true);
            expect((ax === bx && bx === cx) || (ay === by && by === cy)).toBe(false);
          }
        }
        for (const h of p.holes) expect(signedArea(h)).toBeLessThan(0);
      }
    }
  });
});

describe('polygon validity checker (test oracle) fails on invalid input', () => {
  const mp = (polygons: { outer: number[]; holes?: number[][] }[]): MaskPolygons => ({
    h: 10,
    w: 10,
    parts: 1,
    polygons: polygons.map((p) => ({ outer: Int32Array.from(p.outer), holes: (p.holes ?? []).map((h) => Int32Array.from(h)), part: 0, depth: 0 })),
  });
  it('accepts two squares touching at a corner and a hole touching its outer ring at a vertex', () => {
    expect(polygonProblems(mp([{ outer: [0, 0, 2, 0, 2, 2, 0, 2] }, { outer: [2, 2, 4, 2, 4, 4, 2, 4] }]))).toEqual([]);
    expect(polygonProblems(mp([{ outer: [0, 0, 4, 0, 4, 4, 0, 4], holes: [[0, 0, 1, 2, 2, 1]] }]))).toEqual([]);
  });
  it('reports crossings, overlaps, a hole outside its polygon, a bow-tie and a crossing at a shared vertex', () => {
    expect(polygonProblems(mp([{ outer: [0, 0, 4, 0, 4, 4, 0, 4] }, { outer: [2, 2, 6, 2, 6, 6, 2, 6] }])).length).toBeGreaterThan(0);
    expect(polygonProblems(mp([{ outer: [0, 0, 4, 0, 4, 4, 0, 4] }, { outer: [1, 1, 2, 1, 2, 2, 1, 2] }]))).toEqual([
      'winding number outside {0, 1} at 4 sample points',
    ]);
    expect(polygonProblems(mp([{ outer: [0, 0, 2, 0, 2, 2, 0, 2], holes: [[5, 5, 5, 6, 6, 6, 6, 5]] }]))).toEqual([
      'winding number outside {0, 1} at 4 sample points',
    ]);
    expect(polygonProblems(mp([{ outer: [0, 0, 2, 2, 2, 0, 0, 2] }])).length).toBeGreaterThan(0);
    // A ring that enters a square through one shared corner and leaves through another: no segment crossing.
    const crossing = polygonProblems(mp([{ outer: [0, 0, 4, 0, 4, 4, 0, 4] }, { outer: [0, 0, 2, 1, 4, 4, 6, 2, 4, -2] }]));
    expect(crossing.filter((p) => p.includes('crosses'))).toEqual([
      'polygon 1 outer crosses polygon 0 outer at 0,0',
      'polygon 0 outer crosses polygon 1 outer at 0,0',
      'polygon 1 outer crosses polygon 0 outer at 4,4',
      'polygon 0 outer crosses polygon 1 outer at 4,4',
    ]);
    expect(crossing.some((p) => p.includes('meets'))).toBe(false);
  });
});
