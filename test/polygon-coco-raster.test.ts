import { describe, expect, it } from 'vitest';
import { cocoPolygonLists } from '../src/polygon/coco-polygons.js';
import { rleFromPolygon, rleFromPolygons } from '../src/polygon/coco-raster.js';
import { joinSegments } from '../src/polygon/join-segments.js';
import { maskToPolygons } from '../src/polygon/mask-polygons.js';
import { rleUnion } from '../src/polygon/rle-union.js';
import { decodeToRowMajor, encodeRowMajor, rleArea, rleIou, type Rle } from '../src/rle/rle.js';
import { oracleRleFromPolygon } from './oracle/coco-polygon-raster.js';
import { blobMask, fillHoles, noiseMask, prng } from './polygon/masks.js';

const rows = (r: Rle): string[] => {
  const d = decodeToRowMajor(r);
  return Array.from({ length: r.h }, (_, y) => Array.from(d.subarray(y * r.w, (y + 1) * r.w), (v) => (v ? '#' : '.')).join(''));
};

describe('rleFromPolygon: the COCO API polygon rule', () => {
  it('matches the plain oracle of maskApi.c on random polygons, in and beyond the frame', () => {
    const rand = prng(23);
    for (let it = 0; it < 400; it++) {
      const h = 1 + Math.floor(rand() * 12);
      const w = 1 + Math.floor(rand() * 12);
      const k = 3 + Math.floor(rand() * 8);
      const poly: number[] = [];
      const integer = it % 4 === 0;
      for (let j = 0; j < k; j++) {
        const x = -2 + rand() * (w + 4);
        const y = -2 + rand() * (h + 4);
        poly.push(integer ? Math.round(x) : x, integer ? Math.round(y) : y);
      }
      // Some repeated vertices: zero-length edges take the reference's NaN path.
      if (it % 7 === 0) poly.push(poly[poly.length - 2], poly[poly.length - 1]);
      expect(Array.from(rleFromPolygon(poly, h, w).counts), JSON.stringify({ poly, h, w })).toEqual(oracleRleFromPolygon(poly, h, w));
    }
  });

  it('sets a pixel when its centre is inside; on this box a centre on the left/top edge is out, right/bottom in', () => {
    expect(rows(rleFromPolygon([1, 1, 4, 1, 4, 3, 1, 3], 4, 6))).toEqual(['......', '.###..', '.###..', '......']);
    expect(rows(rleFromPolygon([0.5, 0.5, 3.5, 0.5, 3.5, 2.5, 0.5, 2.5], 4, 6))).toEqual(['......', '.###..', '.###..', '......']);
    // The same box drawn clockwise or counter-clockwise, or from another vertex, is the same mask.
    expect(rows(rleFromPolygon([1, 3, 4, 3, 4, 1, 1, 1], 4, 6))).toEqual(['......', '.###..', '.###..', '......']);
  });

  it('fills a self-overlapping polygon even–odd and a polygon outside the frame not at all', () => {
    // A square walked twice over its left half: the doubled part toggles back to empty.
    const twice = [0, 0, 4, 0, 4, 2, 0, 2, 0, 0, 2, 0, 2, 2, 0, 2];
    expect(rows(rleFromPolygon(twice, 2, 4))).toEqual(['..##', '..##']);
    expect(rleArea(rleFromPolygon([10, 10, 12, 10, 12, 12], 4, 4))).toBe(0);
  });

  it('unions the polygons of one annotation (annToRLE), and an empty list is an empty mask', () => {
    const r = rleFromPolygons([[0, 0, 3, 0, 3, 2, 0, 2], [2, 1, 5, 1, 5, 3, 2, 3]], 3, 5);
    expect(rows(r)).toEqual(['###..', '#####', '..###']);
    expect(Array.from(rleFromPolygons([], 2, 3).counts)).toEqual([6]);
  });

  it('rejects what pycocotools would misread or crash on', () => {
    expect(() => rleFromPolygon([0, 0, 1, 0], 2, 2)).toThrow('2 points, at least 3 needed');
    expect(() => rleFromPolygon([0, 0, 1, 0, 1], 2, 2)).toThrow('5 numbers, expected x, y pairs');
    expect(() => rleFromPolygon([0, 0, 1, NaN, 1, 1], 2, 2)).toThrow('coordinate 3 is NaN');
  });

  it('round trip at tolerance 0: the traced outer rings give back the hole-filled mask exactly', () => {
    const rand = prng(99);
    for (let it = 0; it < 20; it++) {
      const m = it % 3 ? blobMask(rand, 30, 40) : noiseMask(rand, 20, 20, 0.55);
      const mp = maskToPolygons(m.rle);
      const back = rleFromPolygons(cocoPolygonLists(mp), m.h, m.w);
      const filled = encodeRowMajor(fillHoles(m.bits, m.h, m.w), m.h, m.w);
      expect(Array.from(back.counts)).toEqual(Array.from(filled.counts));
      // One joined path (YOLO's layout) rasterises to the same union: bridges are walked both ways and cancel.
      const joined = joinSegments(cocoPolygonLists(mp));
      if (joined.length >= 6) expect(rleIou(rleFromPolygon(joined, m.h, m.w), filled)).toBe(1);
    }
  });
});

describe('rleUnion', () => {
  it('equals the pixelwise OR on random masks', () => {
    const rand = prng(5);
    for (let it = 0; it < 50; it++) {
      const h = 1 + Math.floor(rand() * 9);
      const w = 1 + Math.floor(rand() * 9);
      const a = noiseMask(rand, h, w, rand());
      const b = noiseMask(rand, h, w, rand());
      const or = a.bits.map((v, i) => v | b.bits[i]);
      expect(Array.from(rleUnion(a.rle, b.rle).counts)).toEqual(Array.from(encodeRowMajor(or, h, w).counts));
    }
    expect(() => rleUnion(noiseMask(rand, 2, 3, 0.5).rle, noiseMask(rand, 3, 2, 0.5).rle)).toThrow('size mismatch 2x3 vs 3x2');
  });
});
