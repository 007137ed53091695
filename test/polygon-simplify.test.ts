import { describe, expect, it } from 'vitest';
import { cocoPolygonLists } from '../src/polygon/coco-polygons.js';
import { rleFromPolygons } from '../src/polygon/coco-raster.js';
import { maskToPolygons } from '../src/polygon/mask-polygons.js';
import { simplifyPolygons, type SimplifyReport } from '../src/polygon/simplify.js';
import type { MaskPolygons } from '../src/polygon/types.js';
import { encodeRowMajor } from '../src/rle/rle.js';
import { blobMask, fillHoles, fromArt, noiseMask, prng } from './polygon/masks.js';
import { polygonProblems } from './polygon/validity.js';

const plain = (mp: MaskPolygons) =>
  mp.polygons.map((p) => ({ outer: Array.from(p.outer), holes: p.holes.map((h) => Array.from(h)), part: p.part, depth: p.depth }));

const emptyReport = (tolerance: number): SimplifyReport => ({
  tolerance,
  droppedPolygons: [],
  droppedHoles: [],
  vanishedParts: [],
  lostPixels: 0,
  addedPixels: 0,
  keptExact: false,
});

function dist2ToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len));
  return (ax + t * dx - px) ** 2 + (ay + t * dy - py) ** 2;
}

/** Plain Douglas–Peucker per ring with the same anchors as the module, and no repair: the baseline to beat. */
function plainDouglasPeucker(mp: MaskPolygons, tol: number): MaskPolygons {
  const count = new Map<string, number>();
  const rings = mp.polygons.flatMap((p) => [p.outer, ...p.holes]);
  for (const r of rings) for (let i = 0; i < r.length; i += 2) count.set(`${r[i]},${r[i + 1]}`, (count.get(`${r[i]},${r[i + 1]}`) ?? 0) + 1);
  const simplify = (r: Int32Array): Int32Array => {
    const n = r.length / 2;
    const keep = new Array<boolean>(n).fill(false);
    keep[0] = true;
    for (let i = 1; i < n; i++) if ((count.get(`${r[2 * i]},${r[2 * i + 1]}`) ?? 0) > 1) keep[i] = true;
    if (keep.filter(Boolean).length === 1) {
      let far = 1;
      for (let i = 1; i < n; i++) if ((r[2 * i] - r[0]) ** 2 + (r[2 * i + 1] - r[1]) ** 2 > (r[2 * far] - r[0]) ** 2 + (r[2 * far + 1] - r[1]) ** 2) far = i;
      keep[far] = true;
    }
    const rec = (a: number, b: number): void => {
      let best = -1;
      let bestD = -1;
      for (let i = a + 1; i < b; i++) {
        const d = dist2ToSegment(r[2 * i], r[2 * i + 1], r[2 * a], r[2 * a + 1], r[2 * (b % n)], r[2 * (b % n) + 1]);
        if (d > bestD) [best, bestD] = [i, d];
      }
      if (best >= 0 && bestD > tol * tol) {
        keep[best] = true;
        rec(a, best);
        rec(best, b);
      }
    };
    const anchors = keep.flatMap((k, i) => (k ? [i] : []));
    anchors.forEach((a, k) => rec(a, k + 1 < anchors.length ? anchors[k + 1] : n));
    return Int32Array.from(keep.flatMap((k, i) => (k ? [r[2 * i], r[2 * i + 1]] : [])));
  };
  return { ...mp, polygons: mp.polygons.map((p) => ({ ...p, outer: simplify(p.outer), holes: p.holes.map(simplify) })) };
}

describe('simplifyPolygons', () => {
  it('returns the traced rings at tolerance 0, and rejects a negative or non-finite tolerance', () => {
    const mp = maskToPolygons(fromArt(['.##.', '####', '##.#', '#.##', '.##.']).rle);
    const s = simplifyPolygons(mp, 0);
    expect(plain(s)).toEqual(plain(mp));
    expect(s.report).toEqual(emptyReport(0));
    expect(() => simplifyPolygons(mp, -0.5)).toThrow('polygon tolerance must be a finite number of pixels ≥ 0, got -0.5');
    expect(() => simplifyPolygons(mp, NaN)).toThrow('got NaN');
    expect(() => simplifyPolygons(mp, Infinity)).toThrow('got Infinity');
  });

  it('straightens a staircase: its corners lie 0.71 px off the diagonal, so 1 px removes them and 0.5 px not all', () => {
    const mp = maskToPolygons(fromArt(['#.....', '##....', '###...', '####..', '#####.', '######']).rle);
    expect(mp.polygons[0].outer.length / 2).toBe(14);
    expect(plain(simplifyPolygons(mp, 1))[0].outer).toEqual([0, 0, 6, 6, 0, 6]);
    // (3, 3) and (4, 3) are 0.45 px from the chord (3, 2)–(4, 4).
    expect(plain(simplifyPolygons(mp, 0.5))[0].outer).toEqual([0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 4, 4, 5, 4, 5, 5, 6, 5, 6, 6, 0, 6]);
  });

  it('repairs what plain Douglas–Peucker breaks (rings crossing, crossing at pinch points)', () => {
    const cases: [string[], number][] = [
      [['...##...', '#..#.#..', '...##...', '#.#.##..', '##......', '..#.#.#.'], 1],
      [['#####', '...#.', '#.###', '####.', '.#.#.', '.##.#', '####.', '##.##'], 1],
      [['####..#.', '...#.##.', '.####..#', '#..##.##'], 1.5],
      [['##.##.##', '#####.##', '###.##.#', '####.###', '########', '#.######', '####...#', '.##.###.'], 1],
      [['.##..#.#', '###.##..', '.#.#.##.', '#...#..#'], 1],
    ];
    for (const [rows, tol] of cases) {
      const mp = maskToPolygons(fromArt(rows).rle);
      expect(polygonProblems(plainDouglasPeucker(mp, tol)).length, rows.join('/')).toBeGreaterThan(0);
      expect(polygonProblems(simplifyPolygons(mp, tol)), rows.join('/')).toEqual([]);
    }
  });

  it('on random masks: valid output, vertices a subset in order, every dropped vertex within tolerance', () => {
    const rand = prng(4242);
    for (let it = 0; it < 12; it++) {
      const m = it % 2 ? noiseMask(rand, 8 + Math.floor(rand() * 8), 8 + Math.floor(rand() * 8), 0.35 + rand() * 0.35) : blobMask(rand, 20, 24);
      const mp = maskToPolygons(m.rle);
      for (const tol of [0.5, 1, 2, 4]) {
        const s = simplifyPolygons(mp, tol);
        expect(polygonProblems(s), `mask ${it} tolerance ${tol}`).toEqual([]);
        // Match simplified rings to traced ones by their first vertex (always kept).
        const traced = new Map(mp.polygons.flatMap((p) => [p.outer, ...p.holes]).map((r) => [`${r[0]},${r[1]}`, r]));
        for (const ring of s.polygons.flatMap((p) => [p.outer, ...p.holes])) {
          const orig = traced.get(`${ring[0]},${ring[1]}`) as Int32Array;
          expect(orig).toBeDefined();
          let j = 0;
          for (let i = 0; i < ring.length; i += 2) {
            while (j < orig.length && (orig[j] !== ring[i] || orig[j + 1] !== ring[i + 1])) j += 2;
            expect(j).toBeLessThan(orig.length);
          }
          for (let i = 0; i < orig.length; i += 2) {
            let best = Infinity;
            for (let k = 0; k < ring.length; k += 2) {
              const l = (k + 2) % ring.length;
              best = Math.min(best, dist2ToSegment(orig[i], orig[i + 1], ring[k], ring[k + 1], ring[l], ring[l + 1]));
            }
            expect(Math.sqrt(best)).toBeLessThanOrEqual(tol + 1e-9);
          }
        }
      }
    }
  });

  it('at 0.5 px (the default) rasterises back to exactly the same filled mask, dropping nothing', () => {
    const rand = prng(505);
    for (let it = 0; it < 40; it++) {
      const m = it % 3 === 0 ? noiseMask(rand, 6 + Math.floor(rand() * 20), 6 + Math.floor(rand() * 20), 0.2 + rand() * 0.7) : blobMask(rand, 24 + Math.floor(rand() * 30), 24 + Math.floor(rand() * 30));
      const s = simplifyPolygons(maskToPolygons(m.rle), 0.5);
      expect(s.report.droppedPolygons.length + s.report.droppedHoles.length).toBe(0);
      const back = rleFromPolygons(cocoPolygonLists(s), m.h, m.w);
      expect(Array.from(back.counts), `mask ${it}`).toEqual(Array.from(encodeRowMajor(fillHoles(m.bits, m.h, m.w), m.h, m.w).counts));
    }
  });

  it('keeps pinch points: polygons that touch at a vertex still share it', () => {
    const top = ['.#####......', '######......', '######......', '######......', '######......', '######......'];
    const bottom = ['......######', '......######', '......######', '......######', '......######', '......#####.'];
    const mp = maskToPolygons(fromArt([...top, ...bottom]).rle);
    expect(mp.polygons.map((p) => p.outer.length / 2)).toEqual([6, 6]);
    const s = simplifyPolygons(mp, 2);
    expect(plain(s)).toEqual([
      { outer: [1, 0, 6, 0, 6, 6, 0, 6], holes: [], part: 0, depth: 0 },
      { outer: [6, 6, 12, 6, 12, 11, 6, 12], holes: [], part: 0, depth: 0 },
    ]);
  });

  it('reports parts that vanish (collapsed rings) and what the remaining polygons cover', () => {
    const s = simplifyPolygons(maskToPolygons(fromArt(['#.#.......', '..........', '....######', '....######', '....######', '....######']).rle), 1);
    expect(plain(s)).toEqual([{ outer: [4, 2, 10, 2, 10, 6, 4, 6], holes: [], part: 2, depth: 0 }]);
    expect(s.report).toEqual({
      ...emptyReport(1),
      droppedPolygons: [
        { part: 0, pixels: 1, reason: 'collapsed' },
        { part: 1, pixels: 1, reason: 'collapsed' },
      ],
      vanishedParts: [0, 1],
      lostPixels: 2,
    });
  });

  it('fills a collapsed hole, and drops what lay in it without losing its pixels', () => {
    const hole = simplifyPolygons(maskToPolygons(fromArt(['######', '######', '##.###', '######']).rle), 1);
    expect(plain(hole)).toEqual([{ outer: [0, 0, 6, 0, 6, 4, 0, 4], holes: [], part: 0, depth: 0 }]);
    expect(hole.report).toEqual({ ...emptyReport(1), droppedHoles: [{ part: 0, pixels: 1 }], addedPixels: 1 });
    const island = simplifyPolygons(maskToPolygons(fromArt(['#######', '#######', '##...##', '##.#.##', '##...##', '#######', '#######']).rle), 2.5);
    expect(plain(island)).toEqual([{ outer: [0, 0, 7, 0, 7, 7, 0, 7], holes: [], part: 0, depth: 0 }]);
    expect(island.report).toEqual({
      ...emptyReport(2.5),
      droppedPolygons: [{ part: 1, pixels: 1, reason: 'inside-filled-hole' }],
      droppedHoles: [{ part: 0, pixels: 9 }],
      vanishedParts: [1],
      addedPixels: 8,
    });
  });

  it('drops what lies inside a collapsed polygon with it', () => {
    const rows = ['#####...##########', '#...#...##########', '#.#.#...##########', '#...#...##########', '#####...##########', '........##########'];
    const s = simplifyPolygons(maskToPolygons(fromArt(rows).rle), 4);
    expect(plain(s)).toEqual([{ outer: [8, 0, 18, 0, 18, 6, 8, 6], holes: [], part: 1, depth: 0 }]);
    expect(s.report).toEqual({
      ...emptyReport(4),
      droppedPolygons: [
        { part: 0, pixels: 16, reason: 'collapsed' },
        { part: 2, pixels: 1, reason: 'inside-collapsed' },
      ],
      vanishedParts: [0, 2],
      lostPixels: 17,
    });
  });

  it('never leaves a non-empty mask without a polygon: the largest is kept exactly when all collapse', () => {
    const one = simplifyPolygons(maskToPolygons(fromArt(['#']).rle), 1);
    expect(plain(one)).toEqual([{ outer: [0, 0, 1, 0, 1, 1, 0, 1], holes: [], part: 0, depth: 0 }]);
    expect(one.report).toEqual({ ...emptyReport(1), keptExact: true });
    const ring = simplifyPolygons(maskToPolygons(fromArt(['#####.', '#...#.', '#.#.#.', '#...#.', '#####.', '.....#']).rle), 4);
    expect(plain(ring)).toEqual([{ outer: [0, 0, 5, 0, 5, 5, 0, 5], holes: [[1, 1, 1, 4, 4, 4, 4, 1]], part: 0, depth: 0 }]);
    expect(ring.report).toEqual({
      ...emptyReport(4),
      // The corner pixel touches the ring diagonally: same part, its own (collapsed) polygon.
      droppedPolygons: [
        { part: 1, pixels: 1, reason: 'inside-collapsed' },
        { part: 0, pixels: 1, reason: 'collapsed' },
      ],
      vanishedParts: [1],
      lostPixels: 2,
      keptExact: true,
    });
  });
});
