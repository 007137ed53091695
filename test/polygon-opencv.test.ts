/**
 * Tracing checked against OpenCV: test/golden/polygon-opencv.json is made by scripts/polygon-goldens.py with
 * Debian's python3-opencv (connected components, findContours RETR_CCOMP, fillPoly), independently of src/polygon.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cocoPolygonLists } from '../src/polygon/coco-polygons.js';
import { rleFromPolygons } from '../src/polygon/coco-raster.js';
import { maskToPolygons } from '../src/polygon/mask-polygons.js';
import { enclosingHoles } from '../src/polygon/nesting.js';
import { signedArea } from '../src/polygon/ring-geometry.js';
import { decodeToRowMajor } from '../src/rle/rle.js';
import { fromArt } from './polygon/masks.js';

interface Golden {
  rows: string[];
  parts: number[];
  holes: [number, number][];
  contours: { outer: number; hole: number };
  filled: string[];
}
const golden = JSON.parse(readFileSync(new URL('./golden/polygon-opencv.json', import.meta.url), 'utf8')) as {
  generator: string;
  masks: Record<string, Golden>;
};

describe('tracing agrees with OpenCV on small synthetic masks', () => {
  it('has the goldens of the committed generator', () => {
    expect(golden.generator).toBe('scripts/polygon-goldens.py');
    expect(Object.keys(golden.masks).length).toBe(27);
  });

  for (const [name, g] of Object.entries(golden.masks)) {
    it(name, () => {
      const m = fromArt(g.rows);
      const mp = maskToPolygons(m.rle);
      // Parts: one per outer border, with OpenCV's 8-connected pixel counts.
      expect(mp.parts).toBe(g.contours.outer);
      const partPixels = new Array<number>(mp.parts).fill(0);
      for (const p of mp.polygons) partPixels[p.part] += signedArea(p.outer) + p.holes.reduce((s, h) => s + signedArea(h), 0);
      expect([...partPixels].sort((a, b) => a - b)).toEqual(g.parts);
      // Holes: one per hole border; background pixels of each and the pixel count of the part around it.
      const holeCount = mp.polygons.reduce((s, p) => s + p.holes.length, 0);
      expect(holeCount).toBe(g.contours.hole);
      const enclosing = enclosingHoles(mp.polygons);
      const holes: [number, number][] = [];
      mp.polygons.forEach((p, k) =>
        p.holes.forEach((h, j) => {
          // Hole pixels: the area inside the hole ring less the polygons lying directly in it.
          let bg = -signedArea(h);
          mp.polygons.forEach((q, i) => {
            const e = enclosing[i];
            if (e !== null && e.polygon === k && e.hole === j) bg -= signedArea(q.outer);
          });
          holes.push([bg, partPixels[p.part]]);
        }),
      );
      expect(holes.sort((a, b) => a[0] - b[0] || a[1] - b[1])).toEqual(g.holes);
      // Filled mask: depth-0 outer rings through the COCO rule give exactly OpenCV's filled outer borders.
      const filled = decodeToRowMajor(rleFromPolygons(cocoPolygonLists(mp), m.h, m.w));
      const rows = g.rows.map((_, y) => Array.from(filled.subarray(y * m.w, (y + 1) * m.w), (v) => (v ? '#' : '.')).join(''));
      expect(rows).toEqual(g.filled);
    });
  }
});
